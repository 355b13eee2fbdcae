package convnet.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import convnet.Cli;
import convnet.NeedsSharedData;
import convnet.TestData;
import convnet.UserException;
import convnet.run.RunConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code weights fetch} against a loopback HTTP server started here (no test reaches the internet): the
 * fixture file served under a torchvision-style name, a checksum mismatch, a download cut off and resumed,
 * a server that is down, and {@code torchvision:NAME} in a config.
 */
@NeedsSharedData
class FetchTest {
    @TempDir
    Path tmp;

    HttpServer server;
    byte[] payload;
    String goodName, badName;
    /** When positive, the next plain GET sends the full length header but only this many bytes, then closes. */
    final AtomicLong cutAfter = new AtomicLong(-1);

    final AtomicInteger rangeRequests = new AtomicInteger();

    @BeforeEach
    void serve() throws Exception {
        payload = Files.readAllBytes(TestData.SHARED.resolve("fixtures/weights/vgg11_bn-head64.pth"));
        String sha = Pretrained.sha256(TestData.SHARED.resolve("fixtures/weights/vgg11_bn-head64.pth"));
        goodName = "vgg11_bn-" + sha.substring(0, 8) + ".pth";
        badName = "vgg11_bn-00000000.pth";
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath().substring(1);
            if (!path.equals(goodName) && !path.equals(badName)) {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            String range = ex.getRequestHeaders().getFirst("Range");
            int from = 0;
            if (range != null && range.startsWith("bytes=")) {
                rangeRequests.incrementAndGet();
                from = Integer.parseInt(range.substring(6, range.indexOf('-')));
                ex.getResponseHeaders()
                        .add("Content-Range", "bytes " + from + "-" + (payload.length - 1) + "/" + payload.length);
                ex.sendResponseHeaders(206, payload.length - from);
            } else {
                ex.sendResponseHeaders(200, payload.length);
            }
            long cut = cutAfter.getAndSet(-1);
            try (OutputStream out = ex.getResponseBody()) {
                if (cut > 0 && from == 0) {
                    out.write(payload, 0, (int) cut);
                    out.flush();
                    ex.getHttpContext().getServer(); // the exchange is dropped without the rest
                    throw new IOException("cut on purpose");
                }
                out.write(payload, from, payload.length - from);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    URI base() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    }

    @Test
    void aGoodFileIsDownloadedCheckedAndCached() throws Exception {
        Path cache = tmp.resolve("cache");
        Path p = Pretrained.fetchFile(goodName, base(), cache, null);
        assertEquals(cache.resolve(goodName), p);
        assertArrayEquals(payload, Files.readAllBytes(p));
        assertFalse(Files.exists(cache.resolve(goodName + ".part")));
        server.stop(0); // cached: no network needed the second time
        assertEquals(p, Pretrained.fetchFile(goodName, base(), cache, null));
        assertTrue(Weights.read(p).containsKey("features.0.weight"), "the unpickler reads what was fetched");
    }

    @Test
    void aChecksumMismatchLeavesNothingInTheCache() {
        Path cache = tmp.resolve("cache");
        UserException e = assertThrows(UserException.class, () -> Pretrained.fetchFile(badName, base(), cache, null));
        assertTrue(e.getMessage().contains("SHA-256") && e.getMessage().contains("00000000"), e.getMessage());
        assertEquals(List.of(), list(cache), "nothing kept");
    }

    @Test
    void anInterruptedDownloadIsResumed() throws Exception {
        Path cache = tmp.resolve("cache");
        cutAfter.set(payload.length / 3);
        UserException first =
                assertThrows(UserException.class, () -> Pretrained.fetchFile(goodName, base(), cache, null));
        assertTrue(first.getMessage().contains("resumed next time"), first.getMessage());
        Path part = cache.resolve(goodName + ".part");
        assertTrue(Files.size(part) > 0 && Files.size(part) < payload.length, "a partial file: " + Files.size(part));
        Path p = Pretrained.fetchFile(goodName, base(), cache, null);
        assertEquals(1, rangeRequests.get(), "the second attempt asked for the rest only");
        assertArrayEquals(payload, Files.readAllBytes(p));
        assertFalse(Files.exists(part));
    }

    @Test
    void aServerThatIsDownGivesOneLineWithTheUrlAndWhereToPutTheFile() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        Path cache = tmp.resolve("cache");
        UserException e = assertThrows(
                UserException.class,
                () -> Pretrained.fetchFile(goodName, URI.create("http://127.0.0.1:" + port + "/"), cache, null));
        assertTrue(e.getMessage().contains("http://127.0.0.1:" + port + "/" + goodName), e.getMessage());
        assertTrue(e.getMessage().contains("put it at " + cache.resolve(goodName)), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void theCommandAndTheConfigFormUseTheCache() throws Exception {
        Path home = tmp.resolve("home");
        String old = System.getProperty("convnet.home"), oldUrl = System.getProperty("convnet.weights.url");
        System.setProperty("convnet.home", home.toString());
        System.setProperty("convnet.weights.url", base().toString());
        try {
            // torchvision's real name for vgg11_bn: the served bytes are the fixture, so the check refuses them
            Cli.Out bad = Cli.run("weights", "fetch", "vgg11_bn");
            assertEquals(2, bad.code(), bad.stderr());
            assertTrue(bad.stderr().contains("6002323d"), bad.stderr());
            Cli.Out unknown = Cli.run("weights", "fetch", "resnet9000");
            assertEquals(2, unknown.code());
            assertTrue(unknown.stderr().contains("vgg19_bn"), unknown.stderr());
            // a file already in the cache is used as it is, by the command and by a config
            Path cached = home.resolve("weights/vgg11_bn-6002323d.pth");
            Files.createDirectories(cached.getParent());
            Files.write(cached, payload);
            Cli.Out ok = Cli.run("weights", "fetch", "vgg11_bn");
            assertEquals(0, ok.code(), ok.stderr());
            assertEquals(cached.toString(), ok.stdout().trim());
            RunConfig rc = RunConfig.parse(
                    "model: {name: vgg11_bn, init: {weights: 'torchvision:vgg11_bn', drop_head: true}}\n"
                            + "data: {train: x}\n",
                    tmp);
            assertEquals(cached, rc.model().weights());
            assertEquals(
                    "torchvision:vgg11_bn",
                    ((Map<?, ?>) ((Map<?, ?>) ((Map<?, ?>) rc.toMap().get("model")).get("init"))).get("weights"),
                    "the resolved config keeps the portable name");
            UserException typo = assertThrows(
                    UserException.class,
                    () -> RunConfig.parse(
                            "model: {name: vgg11_bn, init: {weights: 'torchvision:vgg12'}}\ndata: {train: x}\n", tmp));
            assertTrue(typo.getMessage().contains("vgg12") && typo.getMessage().contains("line 1"), typo.getMessage());
        } finally {
            restore("convnet.home", old);
            restore("convnet.weights.url", oldUrl);
        }
    }

    static void restore(String key, String value) {
        if (value == null) System.clearProperty(key);
        else System.setProperty(key, value);
    }

    static List<String> list(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
