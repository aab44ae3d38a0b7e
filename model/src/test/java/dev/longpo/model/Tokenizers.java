package dev.longpo.model;

import java.nio.file.Files;
import java.nio.file.Path;

/** The real tokenizer files the build downloads from npm (see the model module's pom). */
final class Tokenizers {
    private Tokenizers() {
    }

    /** {@code llama2} (Mistral-7B's vocabulary, no chat template), {@code llama3} or {@code qwen3}. */
    static Path dir(String name) {
        Path dir = Path.of("target/tokenizers", name, "package/models");
        if (!Files.exists(dir.resolve("tokenizer.json"))) {
            throw new IllegalStateException(dir + " is missing: run the build's generate-test-resources phase");
        }
        return dir;
    }
}
