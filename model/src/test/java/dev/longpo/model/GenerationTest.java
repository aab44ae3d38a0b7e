package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.longpo.env.Cancellation;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** KV-cache decoding against full recomputation, padding, blocking, sampling and stop tokens. */
class GenerationTest {
    static final int PAD = ByteTokenizer.PAD;

    @BeforeAll
    static void engine() {
        TorchRuntime.inferenceThread();
    }

    @Test
    void cachedLogitsEqualFullRecomputation() {
        try (LlamaModel model = TinyModels.random(11); NDManager m = model.manager().newSubManager()) {
            int[] seq = TinyModels.tokens(40, 5);
            float[] full = model.forward(Tensors.ints(m, seq, new Shape(1, 40)), null, null).toFloatArray();
            int vocab = full.length / 40;
            try (KvCache cache = new KvCache(m, model.config().numHiddenLayers())) {
                int[] first = java.util.Arrays.copyOf(seq, 25);
                float[] a = model.forward(Tensors.ints(m, first, new Shape(1, 25)), null, cache).toFloatArray();
                double maxDiff = 0;
                for (int i = 0; i < a.length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(a[i] - full[i]));
                }
                for (int t = 25; t < 40; t++) {
                    float[] step = model.forward(Tensors.ints(m, new int[] {seq[t]}, new Shape(1, 1)), null, cache)
                            .toFloatArray();
                    for (int v = 0; v < vocab; v++) {
                        maxDiff = Math.max(maxDiff, Math.abs(step[v] - full[t * vocab + v]));
                    }
                }
                assertEquals(40, cache.length());
                assertTrue(maxDiff < 1e-4, "max |logit difference| " + maxDiff);
            }
        }
    }

    @Test
    void aStopRequestedOnTheThreadEndsGenerationWithACancellation() {
        try (LlamaModel model = TinyModels.random(14)) {
            Generator.Settings s = Generator.Settings.builder().maxNewTokens(8).build();
            List<int[]> prompts = List.of(TinyModels.tokens(12, 3));
            java.util.concurrent.atomic.AtomicInteger polls = new java.util.concurrent.atomic.AtomicInteger();
            Cancellation.bind(() -> polls.incrementAndGet() > 3);
            try {
                CancellationException e = assertThrows(CancellationException.class,
                        () -> Generator.generate(model, PAD, prompts, s));
                assertTrue(e.getMessage().contains("after 3 tokens"), e.getMessage());
            } finally {
                Cancellation.unbind();
            }
            assertEquals(1, Generator.generate(model, PAD, prompts, s).size(), "an unbound thread generates");
        }
    }

    @Test
    void blockedAttentionEqualsOneBlock() {
        try (LlamaModel model = TinyModels.random(12); NDManager m = model.manager().newSubManager()) {
            NDArray tokens = Tensors.ints(m, TinyModels.tokens(70, 6), new Shape(1, 70));
            float[] whole = model.forward(tokens, null, null).toFloatArray();
            model.setAttentionBlock(16);
            float[] blocked = model.forward(tokens, null, null).toFloatArray();
            model.setAttentionCells(2400); // blocks shrink as their keys grow: 16 queries early, 8 at the end
            float[] budgeted = model.forward(tokens, null, null).toFloatArray();
            for (int i = 0; i < whole.length; i++) {
                assertEquals(whole[i], blocked[i], 1e-4);
                assertEquals(whole[i], budgeted[i], 1e-4);
            }
        }
    }

    @Test
    void attentionBlocksCoverThePassWithinTheirQueryAndScoreBudgets() {
        try (LlamaModel model = TinyModels.random(12)) {
            model.setAttentionBlock(16);
            model.setAttentionCells(2400);
            for (int past : new int[] {0, 5, 700}) {
                int[] b = model.blockBounds(1, past, 70);
                assertEquals(0, b[0]);
                assertEquals(70, b[b.length - 1]);
                for (int j = 0; j + 1 < b.length; j++) {
                    int rows = b[j + 1] - b[j];
                    assertTrue(rows >= 1 && rows <= 16, "block " + j + " of " + java.util.Arrays.toString(b));
                    assertTrue(rows == 1 || 4L * rows * (past + b[j + 1]) <= 2400, java.util.Arrays.toString(b));
                }
            }
            int[] fresh = model.blockBounds(1, 0, 70);
            assertEquals(16, fresh[1] - fresh[0], "the first block is limited by its query count");
            assertTrue(fresh[fresh.length - 1] - fresh[fresh.length - 2] < 16, "late blocks by their keys");
            assertEquals(71, model.blockBounds(1, 700, 70).length, "one query per block when one row of scores fills it");
            assertTrue(model.blockBounds(8, 0, 70).length > fresh.length, "the budget counts every row: more rows, shorter blocks");
            model.setAttentionCells(1L << 22);
            assertArrayEquals(new int[] {0, 16, 32, 48, 64, 70}, model.blockBounds(1, 0, 70));
        }
    }

    @Test
    void leftPaddedRowsEqualUnpaddedRows() {
        try (LlamaModel model = TinyModels.random(13); NDManager m = model.manager().newSubManager()) {
            int[] shortRow = TinyModels.tokens(9, 7);
            float[] alone = model.forward(Tensors.ints(m, shortRow, new Shape(1, 9)), null, null)
                    .get(new NDIndex(":, -1, :")).toFloatArray();
            int[] padded = new int[30];
            java.util.Arrays.fill(padded, PAD);
            System.arraycopy(shortRow, 0, padded, 21, 9);
            int[] batch = new int[60];
            System.arraycopy(TinyModels.tokens(30, 8), 0, batch, 0, 30);
            System.arraycopy(padded, 0, batch, 30, 30);
            float[] inBatch = model.forward(Tensors.ints(m, batch, new Shape(2, 30)), new int[] {0, 21}, null)
                    .get(new NDIndex("1, -1, :")).toFloatArray();
            for (int v = 0; v < alone.length; v++) {
                assertEquals(alone[v], inBatch[v], 1e-4);
            }
        }
    }

    @Test
    void generationWithCacheEqualsWithoutAndIgnoresBatchComposition() {
        try (LlamaModel model = TinyModels.random(14)) {
            List<int[]> prompts = List.of(TinyModels.tokens(12, 1), TinyModels.tokens(5, 2), TinyModels.tokens(20, 3));
            Generator.Settings greedy = Generator.Settings.builder().maxNewTokens(16).build();
            List<Generator.Output> cached = Generator.generate(model, PAD, prompts, greedy);
            List<Generator.Output> recomputed = Generator.generate(model, PAD, prompts,
                    Generator.Settings.builder().maxNewTokens(16).useCache(false).build());
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(recomputed.get(i).tokens(), cached.get(i).tokens());
                assertEquals(16, cached.get(i).tokens().length);
            }
            List<Generator.Output> single = Generator.generate(model, PAD, List.of(prompts.get(1)), greedy);
            assertArrayEquals(single.get(0).tokens(), cached.get(1).tokens(), "padding must not change the output");
        }
    }

    @Test
    void rowsThatShareADocumentHaveItPrefilledOnceAndGenerateAsWithout() {
        try (LlamaModel model = TinyModels.random(17)) {
            int[] docA = TinyModels.tokens(90, 21);
            int[] docB = TinyModels.tokens(70, 22);
            List<int[]> prompts = List.of(ChatFormat.concat(docA, TinyModels.tokens(6, 31)),
                    ChatFormat.concat(docB, TinyModels.tokens(9, 32)), ChatFormat.concat(docA, TinyModels.tokens(11, 33)),
                    TinyModels.tokens(40, 34), ChatFormat.concat(docB, TinyModels.tokens(3, 35)),
                    ChatFormat.concat(docA, TinyModels.tokens(4, 36)));
            int width = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
            int[] pad = prompts.stream().mapToInt(p -> width - p.length).toArray();
            SharedPrefix plan = SharedPrefix.plan(prompts, pad, width);
            assertEquals(3, plan.groups(), "document A, document B, the unrelated prompt");
            assertEquals(width - 11, plan.cached(), "the longest question of A is the window after the cached part");
            assertEquals(null, SharedPrefix.plan(prompts.subList(1, 4), new int[] {2, 0, 61}, 101), "nothing shared");

            model.setAttentionBlock(16);
            Generator.Settings.Builder greedy = Generator.Settings.builder().maxNewTokens(12);
            List<Generator.Output> shared = Generator.generate(model, PAD, prompts, greedy.build());
            List<Generator.Output> unshared = Generator.generate(model, PAD, prompts, greedy.sharePrefix(false).build());
            List<Generator.Output> recomputed = Generator.generate(model, PAD, prompts, greedy.useCache(false).build());
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(unshared.get(i).tokens(), shared.get(i).tokens(), "row " + i);
                assertArrayEquals(recomputed.get(i).tokens(), shared.get(i).tokens(), "row " + i);
            }
        }
    }

    @Test
    void samplingIsDeterministicForASeedAndStopsAtStopTokens() {
        try (LlamaModel model = TinyModels.random(15)) {
            List<int[]> prompts = List.of(TinyModels.tokens(6, 4), TinyModels.tokens(9, 5));
            Generator.Settings s = Generator.Settings.builder().maxNewTokens(24).temperature(1.5).topP(0.95).seed(42)
                    .build();
            List<Generator.Output> a = Generator.generate(model, PAD, prompts, s);
            List<Generator.Output> b = Generator.generate(model, PAD, prompts, s);
            assertArrayEquals(a.get(0).tokens(), b.get(0).tokens());
            assertArrayEquals(a.get(1).tokens(), b.get(1).tokens());
            List<Generator.Output> c = Generator.generate(model, PAD, prompts,
                    Generator.Settings.builder().maxNewTokens(24).temperature(1.5).topP(0.95).seed(43).build());
            assertTrue(!java.util.Arrays.equals(a.get(0).tokens(), c.get(0).tokens())
                    || !java.util.Arrays.equals(a.get(1).tokens(), c.get(1).tokens()), "another seed, another sample");

            int stop = a.get(0).tokens()[3];
            List<Generator.Output> stopped = Generator.generate(model, PAD, prompts.subList(0, 1),
                    Generator.Settings.builder().maxNewTokens(24).temperature(1.5).topP(0.95).seed(42)
                            .stopTokens(Set.of(stop)).build());
            int firstStop = 0;
            while (a.get(0).tokens()[firstStop] != stop) {
                firstStop++;
            }
            assertTrue(stopped.get(0).stopped());
            assertArrayEquals(java.util.Arrays.copyOf(a.get(0).tokens(), firstStop + 1), stopped.get(0).tokens());
        }
    }

    @Test
    void topPOfATinyNucleusIsGreedy() {
        float[] logits = {0.1f, 3.0f, 0.2f, 2.9f};
        Generator.Settings s = Generator.Settings.builder().temperature(1.0).topP(1e-6).build();
        for (int i = 0; i < 20; i++) {
            assertEquals(1, Generator.sample(logits, 0, 4, s, new java.util.Random(i)));
        }
    }

    @Test
    void responseLogProbsMatchTheForwardPass() {
        try (LlamaModel model = TinyModels.random(16); NDManager m = model.manager().newSubManager()) {
            int[] prompt = TinyModels.tokens(7, 9);
            int[] response = TinyModels.tokens(4, 10);
            List<float[]> lp = Scorer.responseLogProbs(model, PAD, List.of(prompt, TinyModels.tokens(30, 1)),
                    List.of(response, TinyModels.tokens(3, 2)), 2);
            int[] row = ChatFormat.concat(prompt, response);
            NDArray logits = model.forward(Tensors.ints(m, row, new Shape(1, row.length)), null, null).logSoftmax(2);
            float[] all = logits.toFloatArray();
            int vocab = all.length / row.length;
            for (int k = 0; k < response.length; k++) {
                int t = prompt.length - 1 + k;
                assertEquals(all[t * vocab + response[k]], lp.get(0)[k], 1e-4);
            }
        }
    }
}
