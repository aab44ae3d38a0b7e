package dev.longpo.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.model.ChatFormat;
import dev.longpo.model.Generator;
import dev.longpo.model.ModelStore;
import dev.longpo.model.TorchRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The committed pi_S (models/pi-s) against its model card, and its self-instruct step. */
class CommittedPiSTest {
    static final Path DIR = Path.of("..", "models", "pi-s");
    static JsonNode card;

    @BeforeAll
    static void load() throws Exception {
        TorchRuntime.start(2);
        card = new ObjectMapper().readTree(DIR.resolve("eval.json").toFile());
    }

    /** Score of a task at L_s on fresh instances (another seed than the card's), compared within noise. */
    private static void reproduces(String task, int n) throws Exception {
        double expected = card.path("table").path(task).path("256").asDouble(Double.NaN);
        assertTrue(Double.isFinite(expected), "model card has no " + task + " at 256");
        try (ModelStore.Loaded m = ModelStore.load(DIR, Device.cpu())) {
            Random r = new Random(2024);
            List<TaskInstance> inst = IntStream.range(0, n).mapToObj(i -> Tasks.get(task).generate(256, i / (n - 1.0), r))
                    .toList();
            double got = java.util.Arrays.stream(Evaluator.score(m.model(), new ChatFormat(m.tokenizer()), inst, 8))
                    .average().orElseThrow();
            // binomial noise of two estimates: 3 sigma of the difference, at least 0.15
            double sigma = Math.sqrt(expected * (1 - expected) * (1.0 / n + 1.0 / 10));
            assertEquals(expected, got, Math.max(0.15, 3 * sigma), task + " at L_s: card " + expected + ", now " + got);
        }
    }

    @Test
    void singleNeedleAtTheShortWindowMatchesTheModelCard() throws Exception {
        reproduces("niah_single", 24);
    }

    @Test
    void shortTaskMatchesTheModelCard() throws Exception {
        reproduces("short_math", 24);
    }

    @Test
    void aQuestionWrittenByPiSIsParseableAndAnswerableFromTheText() throws Exception {
        try (ModelStore.Loaded m = ModelStore.load(DIR, Device.cpu())) {
            ChatFormat fmt = new ChatFormat(m.tokenizer());
            TaskInstance t = Tasks.get("write_question").generate(200, 0.4, new Random(5));
            Generator.Output out = Generator.generate(m.model(), m.tokenizer().pad(),
                    List.of(fmt.prompt(t.context(), t.question())), Generator.Settings.builder().maxNewTokens(60)
                            .stopTokens(Set.of(m.tokenizer().eos())).build()).get(0);
            String question = fmt.decodeAnswer(out.tokens());
            String key = Tasks.parseQuestion(question, t.context());
            assertNotNull(key, "pi_S wrote '" + question + "' about: " + t.context());
            assertTrue(t.context().contains("magic number for " + key + " is"));
        }
    }
}
