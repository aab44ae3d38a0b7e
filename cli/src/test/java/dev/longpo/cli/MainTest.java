package dev.longpo.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line as a user meets it: help and version everywhere, one-line errors, what score scored. */
class MainTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            int code = Main.execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "ingest", "score", "setup", "worker", "reproduce", "up", "monitor"})
    void everyCommandAnswersHelpAndVersion(String command) {
        Run help = run(command, "--help");
        assertEquals(0, help.code(), help.err());
        assertTrue(help.out().startsWith("Usage: longpo " + command), help.out());
        Run version = run(command, "--version");
        assertEquals(0, version.code());
        assertTrue(version.out().startsWith("LongPO Stream "), version.out());
    }

    @Test
    void anExpectedFailureIsOneLineUnlessVerbose() {
        Run r = run("score", "--model", dir.toString(), "--prompt", "p", "--response", "r");
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("is not a model directory"), r.err());
        Run v = run("score", "--verbose", "--model", dir.toString(), "--prompt", "p", "--response", "r");
        assertEquals(1, v.code());
        assertTrue(v.err().contains("\tat dev.longpo.model.ModelConfig.read"), "verbose shows the stack: " + v.err());
    }

    @Test
    void anUnsupportedArchitectureIsRefusedInOneLineNamingTheKey() throws Exception {
        java.nio.file.Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gemma\", \"vocab_size\": 16,"
                + " \"hidden_size\": 8, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2}");
        Run r = run("score", "--model", dir.toString(), "--prompt", "p", "--response", "r");
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("model_type 'gemma' is not supported"), r.err());
    }

    @Test
    void scorePrintsTheRenderedPromptItScored() throws Exception {
        Path model = Path.of("..", "models", "pi-s");
        Run r = run("score", "--model", model.toString(), "--context", "The magic number for apple is 1234.",
                "--prompt", "What is the magic number for apple?", "--response", "The magic number for apple is 1234.");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out().lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow());
        int[] expected = new ChatFormat(ByteTokenizer.INSTANCE).prompt("The magic number for apple is 1234.",
                "What is the magic number for apple?");
        assertEquals(expected.length, j.get("prompt_ids").size());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], j.get("prompt_ids").get(i).asInt());
        }
        assertTrue(j.get("prompt_text").asText().contains("The magic number for apple is 1234.\n\nWhat is"),
                j.get("prompt_text").asText());
        assertTrue(j.get("mean_logprob").asDouble() > -1.0, "pi_S copies the fact: " + j.get("mean_logprob"));
    }
}
