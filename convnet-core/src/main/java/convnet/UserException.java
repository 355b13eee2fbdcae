package convnet;

/**
 * A problem the user can fix: bad config, missing file, unreadable input. The CLI prints its message
 * as one line and exits with code 2; the message says what, where, and what was expected.
 */
public class UserException extends RuntimeException {
    public UserException(String message) {
        super(message);
    }

    public UserException(String message, Throwable cause) {
        super(message, cause);
    }
}
