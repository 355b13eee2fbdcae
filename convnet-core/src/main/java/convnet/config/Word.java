package convnet.config;

/**
 * A constant that a config names by a word ({@code sgd}, {@code bf16-mixed}, {@code val_acc}): the enums of config
 * values implement it, so that {@link Section#choice(String, Enum)} reads a word into its constant, lists the accepted
 * words in an error, and the resolved config writes the word back.
 */
public interface Word {
    String word();
}
