package dev.longpo.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TasksTest {
    private static final ChatFormat FMT = new ChatFormat(ByteTokenizer.INSTANCE);

    @Test
    void everyTaskIsDeterministicForASeedAndHitsTheLengthWithinAToken() {
        for (String name : Tasks.all().keySet()) {
            for (int length : new int[] {128, 256, 1024, 4096}) {
                TaskInstance a = Tasks.get(name).generate(length, 0.5, new Random(7));
                TaskInstance b = Tasks.get(name).generate(length, 0.5, new Random(7));
                assertEquals(a, b, name + " is not deterministic");
                assertNotEquals(a, Tasks.get(name).generate(length, 0.5, new Random(8)), name + " ignores its seed");
                if (!Tasks.isShort(name)) {
                    int tokens = FMT.prompt(a.context(), a.question()).length;
                    assertTrue(Math.abs(tokens - length) <= 1, name + " at " + length + " has " + tokens + " tokens");
                }
                assertEquals(1.0, a.score(a.answer()), name + "'s own answer must score 1");
            }
        }
    }

    @Test
    void theNeedleSitsAtTheRequestedDepth() {
        for (double depth : new double[] {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0}) {
            TaskInstance t = Tasks.get("niah_single").generate(2048, depth, new Random(3));
            int at = t.context().indexOf("The magic number for");
            double actual = at / (double) t.context().length();
            // snapped to the start of the sentence containing the requested offset: within one filler sentence
            assertTrue(Math.abs(actual - depth) <= 25.0 / t.context().length() + 0.02,
                    "depth " + depth + " placed at " + actual);
            assertEquals(1, t.context().split("The magic number for", -1).length - 1);
        }
    }

    @Test
    void multiKeyHasDistractorsAndMultiValueAllValues() {
        TaskInstance mk = Tasks.get("niah_multikey").generate(1024, 0.3, new Random(1));
        assertEquals(4, mk.context().split("The magic number for", -1).length - 1);
        TaskInstance mv = Tasks.get("niah_multivalue").generate(1024, 0.3, new Random(1));
        assertEquals(3, mv.expected().size());
        mv.expected().forEach(v -> assertTrue(mv.context().contains(v)));
        TaskInstance vt = Tasks.get("vt").generate(1024, 0.2, new Random(1));
        assertTrue(vt.context().contains("VAR " + vt.expected().get(2) + " = " + vt.expected().get(1) + "."));
    }

    @Test
    void scoringExactMissingAndPartial() {
        TaskInstance all = new TaskInstance("t", "", "q", List.of("1234", "5678"), "", TaskInstance.Scoring.ALL, 0);
        assertEquals(1.0, all.score("numbers 5678 and 1234"));
        assertEquals(0.5, all.score("only 1234"));
        assertEquals(0.0, all.score("nothing"));
        TaskInstance mc = new TaskInstance("t", "", "q", List.of("B"), "B", TaskInstance.Scoring.EXACT, -1);
        assertEquals(1.0, mc.score(" B) 7"));
        assertEquals(0.0, mc.score("The answer is B"));
        TaskInstance qa = new TaskInstance("t", "", "q", List.of("Idris Calloway"), "", TaskInstance.Scoring.PARTIAL, 0);
        assertEquals(1.0, qa.score("It was idris calloway."));
        assertEquals(0.5, qa.score("Idris"));
        assertEquals(0.0, qa.score("Mara"));
    }

    @Test
    void writtenQuestionsMustParseAndBeAnswerableFromTheText() {
        String ctx = "Fog rolled in. The magic number for apple is 1234. The end.";
        assertEquals("apple", Tasks.parseQuestion("What is the magic number for apple?", ctx));
        assertNull(Tasks.parseQuestion("What is the magic number for pear?", ctx), "not in the text");
        assertNull(Tasks.parseQuestion("Tell me about apple", ctx), "not the instruction format");
        TaskInstance w = Tasks.get("write_question").generate(200, 0.5, new Random(4));
        assertEquals(1.0, w.score(w.answer()));
        assertEquals(0.0, w.score("What is the magic number for unicorn?"));
    }

    @Test
    void theShortTasksAskForKnowledgeAndATransformAndScoreExactly() {
        for (int seed = 0; seed < 20; seed++) {
            TaskInstance mc = Tasks.get("short_mc").generate(256, 0, new Random(seed));
            String word = mc.answer();
            assertTrue(mc.question().matches(".*\\? (\\w+ \\([A-D]\\) ){3}\\w+ \\(D\\)"), mc.question());
            assertTrue(mc.question().contains(" " + word + " ("), "the answer is an option: " + mc.question() + " -> " + word);
            String category = mc.question().substring("Which word is ".length(), mc.question().indexOf('?'));
            assertTrue(Tasks.CATEGORIES.get(category).contains(word), word + " is " + category);
            assertEquals(1, Tasks.CATEGORIES.get(category).stream()
                    .filter(w -> mc.question().contains(" " + w + " (")).count(),
                    "exactly one option of the category: " + mc.question());
            assertEquals(1.0, mc.score(word));
            assertEquals(0.0, mc.score(mc.question().substring(mc.question().indexOf("? ") + 2)), "listing every option");
            TaskInstance caps = Tasks.get("short_caps").generate(256, 0, new Random(seed));
            assertEquals(caps.question().substring("Write in capitals: ".length()).toUpperCase(java.util.Locale.ROOT),
                    caps.answer());
            assertEquals(0.0, caps.score(caps.answer().toLowerCase(java.util.Locale.ROOT)));
        }
    }
}
