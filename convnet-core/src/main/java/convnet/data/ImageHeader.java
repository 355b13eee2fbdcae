package convnet.data;

/**
 * Reads width and height from PNG, JPEG, GIF and BMP headers without decoding, so that a file that
 * claims an absurd size is refused before memory is allocated for it.
 */
final class ImageHeader {
    private ImageHeader() {}

    /** {width, height}, or null if the format is not recognised or the header is cut short. */
    static long[] size(byte[] b) {
        try {
            if (b.length >= 24 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
                return new long[] {be32(b, 16), be32(b, 20)};
            }
            if (b.length >= 10 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F') {
                return new long[] {le16(b, 6), le16(b, 8)};
            }
            if (b.length >= 26 && b[0] == 'B' && b[1] == 'M') {
                return new long[] {Math.abs((long) le32(b, 18)), Math.abs((long) le32(b, 22))};
            }
            if (b.length >= 4 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8) {
                int i = 2;
                while (i + 9 < b.length) {
                    if ((b[i] & 0xff) != 0xFF) return null;
                    int marker = b[i + 1] & 0xff;
                    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
                        i += 2;
                        continue;
                    }
                    int len = be16(b, i + 2);
                    boolean sof =
                            marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
                    if (sof) return new long[] {be16(b, i + 7), be16(b, i + 5)};
                    i += 2 + len;
                }
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            return null;
        }
        return null;
    }

    private static int be16(byte[] b, int i) {
        return ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
    }

    private static long be32(byte[] b, int i) {
        return ((long) (b[i] & 0xff) << 24) | ((b[i + 1] & 0xff) << 16) | ((b[i + 2] & 0xff) << 8) | (b[i + 3] & 0xff);
    }

    private static int le16(byte[] b, int i) {
        return (b[i] & 0xff) | ((b[i + 1] & 0xff) << 8);
    }

    private static int le32(byte[] b, int i) {
        return (b[i] & 0xff) | ((b[i + 1] & 0xff) << 8) | ((b[i + 2] & 0xff) << 16) | ((b[i + 3] & 0xff) << 24);
    }
}
