package dev.longpo.text;

/** Resolves the {@code tokenizer} configuration value for modules that only count tokens. */
public final class TokenizerFactory {
    private TokenizerFactory() {
    }

    /**
     * {@code byte} is built in; a path to a Hugging Face {@code tokenizer.json} is loaded by the model
     * module ({@code dev.longpo.model.HfTokenizer}), which registers itself here when present.
     */
    public static Tokenizer forName(String name) {
        if ("byte".equals(name)) {
            return ByteTokenizer.INSTANCE;
        }
        try {
            Class<?> hf = Class.forName("dev.longpo.model.HfTokenizer");
            return (Tokenizer) hf.getMethod("load", java.nio.file.Path.class).invoke(null, java.nio.file.Path.of(name));
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("tokenizer '" + name + "' needs the gpu-consumers module on the classpath");
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("cannot load tokenizer '" + name + "': " + e.getCause(), e);
        }
    }
}
