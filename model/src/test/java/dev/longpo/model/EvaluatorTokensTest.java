package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.TaskInstance;
import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** With a real tokenizer the evaluation lengths count that tokenizer's tokens, as RULER's do. */
class EvaluatorTokensTest {
    @Test
    void promptsAreAsLongAsAskedInTheModelsTokens() throws Exception {
        HfTokenizer tok = HfTokenizer.load(Tokenizers.dir("llama3"));
        ChatFormat fmt = ChatFormat.of(tok);
        Map<Integer, List<Integer>> seen = new TreeMap<>();
        Evaluator.Answerer counting = new Evaluator.Answerer() {
            @Override
            public List<String> answer(List<TaskInstance> instances, int maxNewTokens) {
                List<String> out = new ArrayList<>();
                for (TaskInstance t : instances) {
                    int n = fmt.prompt(t.context(), t.question()).length;
                    seen.computeIfAbsent(n, k -> new ArrayList<>()).add(n);
                    out.add("");
                }
                return out;
            }

            @Override
            public boolean countsOwnTokens() {
                return true;
            }

            @Override
            public OptionalInt promptTokens(TaskInstance t) {
                return OptionalInt.of(fmt.prompt(t.context(), t.question()).length);
            }
        };
        for (int length : List.of(256, 1024, 4096)) {
            seen.clear();
            Evaluator.run(counting, Evaluator.Settings.builder(128).optTasks(List.of("niah_single", "niah_multikey",
                    "vt", "qa")).optLengths(List.of(length)).optDepths(List.of(0.1, 0.9)).optSamples(2).optSeed(3)
                    .build());
            int total = seen.values().stream().mapToInt(List::size).sum();
            assertTrue(total >= 8, "instances scored: " + total);
            for (int n : seen.keySet()) {
                assertTrue(n <= length && n >= length - Math.max(4, length / 50),
                        "a prompt asked at " + length + " tokens has " + n + ": " + seen.keySet());
            }
        }
    }
}
