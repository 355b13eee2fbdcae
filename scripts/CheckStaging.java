import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * Checks a Maven repository laid out by {@code mvn -Prelease deploy -DaltDeploymentRepository=local::file:DIR}
 * against what Maven Central asks of a deployment: for every artifact a POM with name, description, url,
 * licenses, developers and scm; for a jar, the jar, its -sources.jar and -javadoc.jar; for every file, correct
 * .md5 and .sha1 checksums (and .sha256/.sha512 where written); when signed, an .asc signature beside each file
 * (checked with gpg where gpg is installed); no SNAPSHOT versions.
 *
 * <p>{@code java scripts/CheckStaging.java [--signed|--unsigned] DIR}: without either flag, signatures are required
 * once any .asc file is there. Exit code 0 when every artifact passes, 1 otherwise, 2 on a usage error.
 */
public final class CheckStaging {
    private static final List<String> CHECKSUMS = List.of("md5", "sha1", "sha256", "sha512");
    private static final List<String> REQUIRED_CHECKSUMS = List.of("md5", "sha1");

    private final List<String> problems = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        Boolean signed = null;
        Path dir = null;
        for (String a : args) {
            if (a.equals("--signed")) signed = true;
            else if (a.equals("--unsigned")) signed = false;
            else if (dir == null && !a.startsWith("-")) dir = Path.of(a);
            else {
                System.err.println("usage: java scripts/CheckStaging.java [--signed|--unsigned] DIR");
                System.exit(2);
            }
        }
        if (dir == null || !Files.isDirectory(dir)) {
            System.err.println("check-staging: " + (dir == null ? "no directory given" : dir + " is not a directory"));
            System.exit(2);
        }
        System.exit(new CheckStaging().run(dir, signed));
    }

    int run(Path dir, Boolean signedFlag) throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        boolean signed = signedFlag != null
                ? signedFlag
                : files.stream().anyMatch(f -> f.getFileName().toString().endsWith(".asc"));
        boolean gpg = signed && onPath("gpg");
        // artifacts by their version directory: G/A/V/A-V[-classifier].ext
        Map<Path, List<Path>> byVersion = new TreeMap<>();
        for (Path f : files) {
            String n = f.getFileName().toString();
            if (n.startsWith("maven-metadata") || n.endsWith(".asc") || isChecksum(n)) continue;
            if (n.endsWith(".pom")) byVersion.computeIfAbsent(f.getParent(), k -> new ArrayList<>());
        }
        for (Path f : files) {
            String n = f.getFileName().toString();
            if (n.startsWith("maven-metadata") || n.endsWith(".asc") || isChecksum(n)) continue;
            List<Path> group = byVersion.get(f.getParent());
            if (group == null) problems.add(dir.relativize(f) + ": a file with no POM beside it");
            else group.add(f);
        }
        if (byVersion.isEmpty()) problems.add(dir + ": no POM found: nothing was deployed there");
        for (String p : problems) System.out.println("FAILED  " + p);
        int failedArtifacts = 0;
        for (Map.Entry<Path, List<Path>> e : byVersion.entrySet()) {
            int before = problems.size();
            String summary = checkArtifact(dir, e.getKey(), e.getValue(), signed, gpg);
            boolean ok = problems.size() == before;
            if (!ok) failedArtifacts++;
            System.out.println((ok ? "ok      " : "FAILED  ") + summary);
            for (String p : problems.subList(before, problems.size())) System.out.println("          " + p);
        }
        System.out.printf(
                "staging check of %s: %d artifact%s, %d with problems, %d problem%s in all; signatures %s%n",
                dir,
                byVersion.size(),
                byVersion.size() == 1 ? "" : "s",
                failedArtifacts,
                problems.size(),
                problems.size() == 1 ? "" : "s",
                signed ? (gpg ? "required and verified with gpg" : "required (gpg not installed: not verified)")
                        : "not required (unsigned)");
        return problems.isEmpty() ? 0 : 1;
    }

    private String checkArtifact(Path root, Path versionDir, List<Path> files, boolean signed, boolean gpg)
            throws Exception {
        Path rel = root.relativize(versionDir);
        int n = rel.getNameCount();
        if (n < 3) {
            problems.add(rel + ": not a groupId/artifactId/version directory");
            return rel.toString();
        }
        String version = rel.getName(n - 1).toString(), artifactId = rel.getName(n - 2).toString();
        String groupId = rel.subpath(0, n - 2).toString().replace('/', '.');
        String coords = groupId + ":" + artifactId + ":" + version;
        String base = artifactId + "-" + version;
        if (version.endsWith("-SNAPSHOT")) problems.add("a SNAPSHOT version: Maven Central takes releases only");
        Path pom = versionDir.resolve(base + ".pom");
        String packaging = "jar";
        if (!Files.isRegularFile(pom)) {
            problems.add("missing " + base + ".pom");
        } else {
            packaging = checkPom(pom, groupId, artifactId, version);
        }
        if (!packaging.equals("pom")) {
            for (String suffix : List.of(".jar", "-sources.jar", "-javadoc.jar")) {
                Path f = versionDir.resolve(base + suffix);
                if (!Files.isRegularFile(f)) problems.add("missing " + base + suffix);
                else checkJar(f, suffix);
            }
        }
        List<String> seenSums = new ArrayList<>();
        for (Path f : files) {
            String name = f.getFileName().toString();
            if (!name.startsWith(base)) problems.add(name + ": not named " + base + "[-classifier].ext");
            for (String algo : CHECKSUMS) {
                Path sum = f.resolveSibling(name + "." + algo);
                if (!Files.isRegularFile(sum)) {
                    if (REQUIRED_CHECKSUMS.contains(algo)) problems.add("missing " + sum.getFileName());
                    continue;
                }
                if (!seenSums.contains(algo)) seenSums.add(algo);
                String want = Files.readString(sum, StandardCharsets.US_ASCII).trim().split("\\s+")[0];
                String got = digest(f, algo);
                if (!want.equalsIgnoreCase(got))
                    problems.add(sum.getFileName() + " says " + want + ", the file's " + algo + " is " + got);
            }
            if (signed) {
                Path asc = f.resolveSibling(name + ".asc");
                if (!Files.isRegularFile(asc)) problems.add("missing " + asc.getFileName() + " (signing is on)");
                else if (gpg) verifySignature(f, asc);
            }
        }
        return String.format(
                "%s (%s; %d file%s; checksums %s%s)",
                coords,
                packaging,
                files.size(),
                files.size() == 1 ? "" : "s",
                String.join(" ", seenSums),
                signed ? "; signed" : "");
    }

    /** Checks the POM's coordinates and the metadata Central requires; returns its packaging. */
    private String checkPom(Path pom, String groupId, String artifactId, String version) throws Exception {
        var factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Element project;
        try {
            project = factory.newDocumentBuilder().parse(pom.toFile()).getDocumentElement();
        } catch (Exception e) {
            problems.add(pom.getFileName() + ": not well-formed XML: " + e.getMessage());
            return "jar";
        }
        Element parent = child(project, "parent");
        String g = text(project, "groupId");
        if (g.isEmpty() && parent != null) g = text(parent, "groupId");
        String v = text(project, "version");
        if (v.isEmpty() && parent != null) v = text(parent, "version");
        if (!g.equals(groupId)) problems.add(pom.getFileName() + ": groupId " + g + ", but it lies under " + groupId);
        if (!text(project, "artifactId").equals(artifactId))
            problems.add(pom.getFileName() + ": artifactId " + text(project, "artifactId") + ", not " + artifactId);
        if (!v.equals(version)) problems.add(pom.getFileName() + ": version " + v + ", not " + version);
        for (String field : List.of("name", "description", "url")) {
            String t = text(project, field);
            if (t.isEmpty()) problems.add(pom.getFileName() + ": no <" + field + ">");
            else if (t.contains("${")) problems.add(pom.getFileName() + ": <" + field + "> is unresolved: " + t);
        }
        Element licenses = child(project, "licenses");
        boolean license = false;
        if (licenses != null)
            for (Element l : children(licenses, "license"))
                license |= !text(l, "name").isEmpty() && !text(l, "url").isEmpty();
        if (!license) problems.add(pom.getFileName() + ": no <licenses> with a license's name and url");
        Element developers = child(project, "developers");
        boolean developer = false;
        if (developers != null)
            for (Element d : children(developers, "developer"))
                developer |= !text(d, "name").isEmpty() || !text(d, "id").isEmpty();
        if (!developer) problems.add(pom.getFileName() + ": no <developers> with a developer's name");
        Element scm = child(project, "scm");
        if (scm == null || text(scm, "url").isEmpty() || text(scm, "connection").isEmpty())
            problems.add(pom.getFileName() + ": no <scm> with connection and url");
        String packaging = text(project, "packaging");
        return packaging.isEmpty() ? "jar" : packaging;
    }

    private void checkJar(Path jar, String suffix) {
        try (ZipFile z = new ZipFile(jar.toFile())) {
            boolean wanted = z.stream().anyMatch(e -> switch (suffix) {
                case "-sources.jar" -> e.getName().endsWith(".java");
                case "-javadoc.jar" -> e.getName().equals("index.html");
                default -> e.getName().endsWith(".class");
            });
            if (!wanted)
                problems.add(jar.getFileName() + ": holds no "
                        + (suffix.equals("-sources.jar") ? ".java file" : suffix.equals(".jar") ? "class" : "index.html"));
        } catch (IOException e) {
            problems.add(jar.getFileName() + ": not a readable jar: " + e.getMessage());
        }
    }

    private void verifySignature(Path file, Path asc) throws Exception {
        Process p = new ProcessBuilder("gpg", "--batch", "--verify", asc.toString(), file.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0)
            problems.add(asc.getFileName() + ": gpg cannot verify it: "
                    + out.lines().filter(l -> !l.isBlank()).reduce((a, b) -> b).orElse("(no output)"));
    }

    private static String digest(Path f, String algo) throws Exception {
        String name = switch (algo) {
            case "md5" -> "MD5";
            case "sha1" -> "SHA-1";
            case "sha256" -> "SHA-256";
            default -> "SHA-512";
        };
        MessageDigest md = MessageDigest.getInstance(name);
        try (var in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) md.update(buf, 0, r);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static boolean isChecksum(String name) {
        for (String a : CHECKSUMS) if (name.endsWith("." + a)) return true;
        return false;
    }

    private static boolean onPath(String command) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":"))
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, command))) return true;
        return false;
    }

    private static Element child(Element e, String name) {
        for (Node c = e.getFirstChild(); c != null; c = c.getNextSibling())
            if (c instanceof Element el && localName(el).equals(name)) return el;
        return null;
    }

    private static List<Element> children(Element e, String name) {
        List<Element> out = new ArrayList<>();
        for (Node c = e.getFirstChild(); c != null; c = c.getNextSibling())
            if (c instanceof Element el && localName(el).equals(name)) out.add(el);
        return out;
    }

    private static String text(Element e, String name) {
        Element c = child(e, name);
        return c == null ? "" : c.getTextContent().trim();
    }

    private static String localName(Element e) {
        return e.getLocalName() != null ? e.getLocalName() : e.getTagName();
    }
}
