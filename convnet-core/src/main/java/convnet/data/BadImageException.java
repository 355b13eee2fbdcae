package convnet.data;

import convnet.UserException;
import java.nio.file.Path;

/** An image file that cannot be used, with the reason. */
public class BadImageException extends UserException {
    public final Path file;
    public final String reason;

    public BadImageException(Path file, String reason) {
        super(file + ": " + reason);
        this.file = file;
        this.reason = reason;
    }
}
