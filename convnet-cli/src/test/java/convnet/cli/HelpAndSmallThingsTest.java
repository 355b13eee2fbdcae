package convnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.Cli;
import convnet.engine.Engine;
import convnet.model.Layers;
import convnet.model.Models;
import convnet.model.Summary;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The small things a new user noticed: help texts, the summary's columns. */
class HelpAndSmallThingsTest {
    @Test
    void everyBenchOptionIsDescribedAndNoneDefaultsToSharedData() {
        Cli.Out o = Cli.run("bench", "--help");
        assertEquals(0, o.code());
        String help = o.stdout() + o.stderr();
        List<String> lines = help.lines().toList();
        for (String option :
                List.of("--precisions", "--batch", "--warmup", "--steps", "--repeats", "--cifar", "--photos")) {
            int i = 0;
            while (i < lines.size() && !lines.get(i).trim().startsWith(option)) i++;
            assertTrue(i < lines.size(), option + " is not in the help");
            // the description follows the option on its line, or on the next when the option's synopsis is long
            String line = lines.get(i);
            String after = line.substring(line.indexOf(option) + option.length())
                    .replaceFirst("^=\\S*", "")
                    .trim();
            if (after.isEmpty()
                    && i + 1 < lines.size()
                    && !lines.get(i + 1).trim().startsWith("-"))
                after = lines.get(i + 1).trim();
            assertTrue(after.length() > 10, option + " has no description: '" + line + "'");
        }
        assertFalse(help.contains("../shared"), help);
    }

    @Test
    void summaryColumnsLineUpWhateverTheLayerNames() {
        Engine.start(2);
        Summary s = Summary.of(Layers.uninitialised(() -> Models.create("preact_resnet20", 10)), 3, 64, 64);
        List<String> table = s.format()
                .lines()
                .filter(l -> l.matches(".*\\d$") && !l.contains(":"))
                .toList();
        assertTrue(table.size() > 5, s.format());
        int width = table.get(0).length();
        for (String row : table) assertEquals(width, row.length(), "ragged row: " + row);
    }
}
