package dev.longpo.text;

/**
 * Resolves the {@code tokenizer} configuration value for modules that only count tokens (ingestion,
 * pairing). {@code byte} is built in. Anything else is the path of a Hugging Face {@code tokenizer.json}:
 * that needs the model module's {@code dev.longpo.model.HfTokenizer} (DJL's tokenizer bindings), looked
 * up by reflection so that modules without the model (ingestion, stream processors) do not depend on it.
 */
public final class TokenizerFactory {
    private TokenizerFactory() {
    }

    /** The tokenizer named {@code name}: {@code byte}, or a model directory (or its {@code tokenizer.json}). */
    public static Tokenizer forName(String name) {
        if ("byte".equals(name)) {
            return ByteTokenizer.INSTANCE;
        }
        try {
            Class<?> hf = Class.forName("dev.longpo.model.HfTokenizer");
            return (Tokenizer) hf.getMethod("load", java.nio.file.Path.class).invoke(null, java.nio.file.Path.of(name));
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("tokenizer '" + name + "' needs the model module on the classpath");
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("cannot load tokenizer '" + name + "': " + e.getCause(), e);
        }
    }
}
