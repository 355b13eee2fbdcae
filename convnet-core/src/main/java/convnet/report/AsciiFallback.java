package convnet.report;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * US-ASCII with the glyphs convnet prints spelled in ASCII ({@code →} as {@code ->}, {@code ×} as {@code x},
 * the progress bar's blocks as {@code #} and {@code .}), for consoles whose charset cannot show them
 * (e.g. {@code LANG=C}): what would have been {@code ?} stays readable.
 */
public final class AsciiFallback extends Charset {
    static final Map<Character, String> SPELLED = Map.ofEntries(
            Map.entry('→', "->"),
            Map.entry('←', "<-"),
            Map.entry('×', "x"),
            Map.entry('█', "#"),
            Map.entry('·', "."),
            Map.entry('–', "-"),
            Map.entry('—', "-"),
            Map.entry('…', "..."),
            Map.entry('≤', "<="),
            Map.entry('≥', ">="),
            Map.entry('±', "+-"),
            Map.entry('°', " deg"),
            Map.entry('µ', "u"),
            Map.entry('‘', "'"),
            Map.entry('’', "'"),
            Map.entry('“', "\""),
            Map.entry('”', "\""),
            Map.entry('✓', "ok"));

    public static final AsciiFallback INSTANCE = new AsciiFallback();

    private AsciiFallback() {
        super("x-convnet-ascii-fallback", new String[0]);
    }

    /** Whether {@code charset} can show the glyphs convnet prints; if not, print through {@link #INSTANCE}. */
    public static boolean canShowGlyphs(Charset charset) {
        return charset.canEncode() && charset.newEncoder().canEncode("→×█·…");
    }

    @Override
    public boolean contains(Charset cs) {
        return cs.equals(StandardCharsets.US_ASCII) || cs == this;
    }

    @Override
    public CharsetDecoder newDecoder() {
        return StandardCharsets.US_ASCII.newDecoder();
    }

    @Override
    public CharsetEncoder newEncoder() {
        return new CharsetEncoder(this, 1, 3, new byte[] {'?'}) {
            @Override
            protected CoderResult encodeLoop(CharBuffer in, ByteBuffer out) {
                while (in.hasRemaining()) {
                    char c = in.get();
                    String s = c < 128 ? null : SPELLED.getOrDefault(c, Character.isSurrogate(c) ? "" : "?");
                    int need = s == null ? 1 : s.length();
                    if (out.remaining() < need) {
                        in.position(in.position() - 1);
                        return CoderResult.OVERFLOW;
                    }
                    if (s == null) out.put((byte) c);
                    else for (int i = 0; i < s.length(); i++) out.put((byte) s.charAt(i));
                }
                return CoderResult.UNDERFLOW;
            }
        };
    }
}
