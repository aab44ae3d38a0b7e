package dev.longpo.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.model.Generator;
import dev.longpo.model.ModelAnswerer;
import dev.longpo.model.ModelStore;
import dev.longpo.model.TorchRuntime;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.TaskInstance;
import dev.longpo.tasks.Tasks;
import dev.longpo.text.ChatFormat;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
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

    /**
     * Re-runs the model card's own instances (same seed and settings, greedy decoding) for one task at
     * one length: the score must come back within 0.05 (a flip or two of float rounding).
     */
    private static void reproduces(String task, int length) throws Exception {
        double expected = card.path("table").path(task).path(String.valueOf(length)).asDouble(Double.NaN);
        assertTrue(Double.isFinite(expected), "model card has no " + task + " at " + length);
        Evaluator.Settings one = Evaluator.Settings.builder(256).optSamples(card.path("samples").asInt(10))
                .optTasks(List.of(task)).optLengths(List.of(length)).build();
        try (ModelStore.Loaded m = ModelStore.load(DIR, Device.cpu())) {
            double got = Evaluator.run(new ModelAnswerer(m.model(), m.tokenizer()), one).table().get(task).get(length);
            assertEquals(expected, got, 0.05, task + " at " + length + ": card " + expected + ", now " + got);
        }
    }

    @Test
    void singleNeedleAtTheShortWindowMatchesTheModelCard() throws Exception {
        reproduces("niah_single", 256);
    }

    @Test
    void collapseBeyondTheWindowMatchesTheModelCard() throws Exception {
        reproduces("niah_single", 1024);
    }

    @Test
    void shortTaskMatchesTheModelCard() throws Exception {
        reproduces("short_math", 128);
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
