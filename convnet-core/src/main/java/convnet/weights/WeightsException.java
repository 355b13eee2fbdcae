package convnet.weights;

import convnet.UserException;

/** A weights file that cannot or must not be loaded. */
public class WeightsException extends UserException {
    public WeightsException(String message) {
        super(message);
    }
}
