package convnet;

/** convnet's version, as the pom has it (a test keeps the two equal). */
public final class Version {
    private Version() {}

    public static final String VERSION = "0.1.0";
}
