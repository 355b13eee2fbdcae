package convnet.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/** A response ready to send. */
record Answer(int status, String contentType, byte[] body) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_TYPE = "application/json; charset=utf-8";

    static Answer json(int status, Object doc) {
        try {
            return new Answer(status, JSON_TYPE, JSON.writeValueAsBytes(doc));
        } catch (IOException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }
}
