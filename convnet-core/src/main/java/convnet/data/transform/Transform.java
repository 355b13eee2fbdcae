package convnet.data.transform;

import java.util.Map;
import java.util.Random;
import org.bytedeco.opencv.opencv_core.Mat;

/** One step of an augmentation pipeline over an 8-bit BGR image. Runs inside the caller's PointerScope. */
public interface Transform {
    Mat apply(Mat img, Random rng);

    /** The op and its parameters, as the config writes them. */
    Map<String, Object> toMap();

    /** The side length this step produces, if it fixes the output size (crops, exact resizes); else 0. */
    default int outputSize() {
        return 0;
    }
}
