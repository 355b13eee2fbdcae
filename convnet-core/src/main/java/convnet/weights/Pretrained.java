package convnet.weights;

import convnet.UserException;
import convnet.io.Hashes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * torchvision's published ImageNet weights by name ({@code vgg11} … {@code vgg19_bn}, {@code resnet18},
 * {@code resnet34}, {@code resnet50}, {@code resnet50_v1}): downloaded once into
 * a cache ({@code $CONVNET_HOME/weights}, default {@code ~/.cache/convnet/weights}), checked against the
 * SHA-256 prefix the file name carries (as {@code torch.hub} does), resumed where an interrupted download
 * stopped ({@code .part} file and an HTTP range request). A file that fails the check is deleted: nothing
 * unchecked stays in the cache. The files are read afterwards by the restricted unpickler, which runs nothing.
 */
public final class Pretrained {
    private Pretrained() {}

    /** Where torchvision publishes them; {@code CONVNET_WEIGHTS_URL} or {@code -Dconvnet.weights.url} overrides it. */
    public static final String DEFAULT_BASE_URL = "https://download.pytorch.org/models/";

    /** Name → the published file name, whose last dash-separated part is the SHA-256 prefix. */
    public static final Map<String, String> FILES = files();

    private static Map<String, String> files() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("vgg11", "vgg11-8a719046.pth");
        m.put("vgg13", "vgg13-19584684.pth");
        m.put("vgg16", "vgg16-397923af.pth");
        m.put("vgg19", "vgg19-dcbb9e9d.pth");
        m.put("vgg11_bn", "vgg11_bn-6002323d.pth");
        m.put("vgg13_bn", "vgg13_bn-abd245e5.pth");
        m.put("vgg16_bn", "vgg16_bn-6c64b313.pth");
        m.put("vgg19_bn", "vgg19_bn-c79401a0.pth");
        // torchvision's DEFAULT weights of each (ResNet18_Weights.IMAGENET1K_V1, ResNet34_Weights.IMAGENET1K_V1,
        // ResNet50_Weights.IMAGENET1K_V2: the newer recipe, top-1 80.858 % against V1's 76.130 %); resnet50_v1 is
        // the original file, for the same model
        m.put("resnet18", "resnet18-f37072fd.pth");
        m.put("resnet34", "resnet34-b627a593.pth");
        m.put("resnet50", "resnet50-11ad3fa6.pth");
        m.put("resnet50_v1", "resnet50-0676ba61.pth");
        return Collections.unmodifiableMap(m);
    }

    /** The prefix in config files: {@code model.init.weights: torchvision:vgg19}. */
    public static final String SCHEME = "torchvision:";

    public static String fileOf(String name) {
        String f = FILES.get(name);
        if (f == null)
            throw new UserException(
                    "no published weights named '" + name + "' (known: " + String.join(", ", FILES.keySet()) + ")");
        return f;
    }

    /** {@code $CONVNET_HOME/weights} (or {@code -Dconvnet.home}), else {@code ~/.cache/convnet/weights}. */
    public static Path cacheDir() {
        String home = System.getProperty("convnet.home", System.getenv("CONVNET_HOME"));
        if (home != null && !home.isBlank()) return Path.of(home).resolve("weights");
        return Path.of(System.getProperty("user.home"), ".cache", "convnet", "weights");
    }

    public static URI baseUrl() {
        String u = System.getProperty("convnet.weights.url", System.getenv("CONVNET_WEIGHTS_URL"));
        if (u == null || u.isBlank()) u = DEFAULT_BASE_URL;
        return URI.create(u.endsWith("/") ? u : u + "/");
    }

    /** The cached file of {@code name} (it may not be there yet). */
    public static Path cached(String name) {
        return cacheDir().resolve(fileOf(name));
    }

    /** The cached file of {@code name}, downloaded first if it is not in the cache. */
    public static Path fetch(String name, LongConsumer progress) {
        return fetchFile(fileOf(name), baseUrl(), cacheDir(), progress);
    }

    /**
     * {@code fileName} (ending in {@code -<sha256 prefix>.<ext>}) from {@code base} into {@code cache}: a file
     * already there is used as it is; otherwise it is downloaded into {@code fileName.part} (resumed from
     * where an earlier attempt stopped), checked, and renamed into place. {@code progress} is told the bytes
     * so far.
     */
    public static Path fetchFile(String fileName, URI base, Path cache, LongConsumer progress) {
        Path target = cache.resolve(fileName);
        if (Files.isRegularFile(target)) return target;
        String expected = hashPrefix(fileName);
        URI url = base.resolve(fileName);
        Path part = cache.resolve(fileName + ".part");
        try {
            Files.createDirectories(cache);
        } catch (IOException e) {
            throw new UserException("cannot create the weights cache " + cache + ": " + e.getMessage());
        }
        try {
            download(url, part, progress);
        } catch (IOException | InterruptedException e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw new UserException("cannot download " + url + " (" + describe(e) + "); without network, download it"
                    + " by hand and put it at " + target
                    + (Files.isRegularFile(part)
                            ? " (a partial download in " + part.getFileName() + " is resumed next time)"
                            : ""));
        }
        String actual = sha256(part);
        if (!actual.startsWith(expected)) {
            try {
                Files.deleteIfExists(part);
            } catch (IOException ignored) {
                // reported below either way
            }
            throw new UserException("downloaded " + url + " but its SHA-256 is " + actual + ", not " + expected
                    + "... as its name says; the file was deleted, nothing was kept in " + cache);
        }
        try {
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UserException("cannot move " + part + " to " + target + ": " + e.getMessage());
        }
        return target;
    }

    static String hashPrefix(String fileName) {
        String stem = fileName.contains(".") ? fileName.substring(0, fileName.indexOf('.')) : fileName;
        String h = stem.substring(stem.lastIndexOf('-') + 1);
        if (!h.matches("[0-9a-f]{6,64}"))
            throw new IllegalArgumentException(fileName + ": no SHA-256 prefix after the last '-'");
        return h;
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        if (e instanceof ConnectException) return "cannot connect" + (m != null ? ": " + m : "");
        return e.getClass().getSimpleName() + (m != null ? ": " + m : "");
    }

    private static void download(URI url, Path part, LongConsumer progress) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(20))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        HttpRequest.Builder req =
                HttpRequest.newBuilder(url).timeout(Duration.ofMinutes(30)).GET();
        if (have > 0) req.header("Range", "bytes=" + have + "-");
        HttpResponse<InputStream> r = client.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        int code = r.statusCode();
        boolean append;
        if (code == 206 && have > 0) {
            append = true;
        } else if (code == 200) {
            append = false; // the server ignored the range: start over
            have = 0;
        } else if (code == 416 && have > 0) {
            r.body().close();
            return; // the part file is already whole
        } else {
            r.body().close();
            throw new IOException("HTTP " + code);
        }
        try (InputStream in = r.body();
                OutputStream out = Files.newOutputStream(
                        part,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE,
                        append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            long received = 0;
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                received += n;
                if (progress != null) progress.accept(have + received);
            }
            long length = r.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (length >= 0 && received < length)
                throw new IOException("the connection closed after " + received + " of " + length + " bytes");
        }
    }

    public static String sha256(Path file) {
        try {
            return Hashes.sha256(file);
        } catch (IOException e) {
            throw new UserException("cannot read " + file + ": " + e.getMessage());
        }
    }
}
