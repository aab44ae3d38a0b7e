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

/**
 * The committed pi_S (models/pi-s) against its model card: the card's scores meet the bars a pi_S for LongPO
 * needs (retrieval, QA, question writing and both short tasks inside its window; a collapse beyond it for
 * LongPO to repair), the weights re-produce the card's scores, and pi_S writes a usable question.
 */
class CommittedPiSTest {
    static final Path DIR = Path.of("..", "models", "pi-s");
    /** pi_S's short window L_s (loop.short.window). */
    static final int WINDOW = 128;
    static JsonNode card;

    @BeforeAll
    static void load() throws Exception {
        TorchRuntime.start(2);
        card = new ObjectMapper().readTree(DIR.resolve("eval.json").toFile());
    }

    private static double cardScore(String task, int length) {
        double v = card.path("table").path(task).path(String.valueOf(length)).asDouble(Double.NaN);
        assertTrue(Double.isFinite(v), "model card has no " + task + " at " + length);
        return v;
    }

    /** The one length a short task is scored at (the evaluation's first; its prompt ignores the length). */
    private static int shortLength(String task) {
        List<String> at = new java.util.ArrayList<>();
        card.path("table").path(task).fieldNames().forEachRemaining(at::add);
        assertEquals(1, at.size(), task + " is scored at one length: " + at);
        return Integer.parseInt(at.get(0));
    }

    @Test
    void theCardMeetsTheBarsInsideTheWindowAndShowsACollapseBeyondIt() {
        assertTrue(cardScore("niah_single", WINDOW) >= 0.95, "single-needle NIAH in the window");
        for (String task : List.of("niah_multikey", "qa")) {
            assertTrue(cardScore(task, WINDOW) >= 0.8, task + " in the window");
        }
        assertTrue(cardScore("write_question", WINDOW) >= 0.9, "question writing in the window");
        for (String task : Tasks.shortTasks()) {
            assertTrue(cardScore(task, shortLength(task)) >= 0.9, task);
        }
        assertTrue(Math.min(cardScore("niah_single", 8 * WINDOW), cardScore("niah_single", 16 * WINDOW)) <= 0.5,
                "LongPO needs something to repair at 8 or 16 x L_s");
    }

    @Test
    void theRopeBaseIsNativeAndLarge() throws Exception {
        JsonNode config = new ObjectMapper().readTree(DIR.resolve("config.json").toFile());
        assertEquals(1_000_000.0, config.path("rope_theta").asDouble(), 1e-6);
        assertTrue(config.path("original_rope_theta").isMissingNode() || config.path("original_rope_theta").isNull(),
                "pi_S's base is its own, not a stretched one: " + config);
    }

    /**
     * Re-runs the model card's own instances (same seed and settings, greedy decoding) for one task at
     * one length: the score must come back within 0.05 (a flip or two of float rounding).
     */
    private static void reproduces(String task, int length) throws Exception {
        double expected = cardScore(task, length);
        Evaluator.Settings one = Evaluator.Settings.builder(WINDOW).optSamples(card.path("samples").asInt(10))
                .optTasks(List.of(task)).optLengths(List.of(length)).build();
        try (ModelStore.Loaded m = ModelStore.load(DIR, Device.cpu())) {
            double got = Evaluator.run(new ModelAnswerer(m.model(), m.tokenizer()), one).table().get(task).get(length);
            assertEquals(expected, got, 0.05, task + " at " + length + ": card " + expected + ", now " + got);
        }
    }

    @Test
    void retrievalAtTheShortWindowMatchesTheModelCard() throws Exception {
        reproduces("niah_single", WINDOW);
        reproduces("niah_multikey", WINDOW);
    }

    @Test
    void collapseBeyondTheWindowMatchesTheModelCard() throws Exception {
        reproduces("niah_single", 8 * WINDOW);
    }

    @Test
    void shortTasksMatchTheModelCard() throws Exception {
        for (String task : Tasks.shortTasks()) {
            reproduces(task, shortLength(task));
        }
    }

    @Test
    void aQuestionWrittenByPiSIsParseableAndAnswerableFromTheText() throws Exception {
        try (ModelStore.Loaded m = ModelStore.load(DIR, Device.cpu())) {
            ChatFormat fmt = new ChatFormat(m.tokenizer());
            TaskInstance t = Tasks.get("write_question").generate(WINDOW, 0.4, new Random(5));
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
