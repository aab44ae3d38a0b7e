package dev.longpo.bench;

import ai.djl.Device;
import dev.longpo.deploy.ChildJvm;
import dev.longpo.model.AdamW;
import dev.longpo.model.Generator;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.Objective;
import dev.longpo.model.PreferenceSample;
import dev.longpo.model.TorchRuntime;
import dev.longpo.model.TrainStep;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Mini-model speed and memory: generation tokens/s with and without the KV cache at several context
 * lengths, and LongPO training-step time and peak RSS at several lengths (each length in its own
 * JVM, so peak RSS is that length's). Run:
 * {@code java -cp 'bench/target/longpo-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*' dev.longpo.bench.ModelBench [threads]}.
 */
public final class ModelBench {
    private static final ChatFormat FMT = new ChatFormat(ByteTokenizer.INSTANCE);

    private ModelBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("train-one")) {
            trainOne(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Boolean.parseBoolean(args[3]));
            return;
        }
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        ModelConfig c = ModelConfig.miniDefault();
        System.out.printf(Locale.ROOT, "mini model: %d layers, d=%d, %d heads (%d kv), SwiGLU %d, vocab %d, %,d parameters; "
                + "fp32, %d intra-op threads, attention block 512%n", c.numHiddenLayers(), c.hiddenSize(),
                c.numAttentionHeads(), c.numKeyValueHeads(), c.intermediateSize(), c.vocabSize(), c.parameterCount(), threads);
        System.out.println();
        System.out.println("| context | new tokens | KV cache tok/s | full recompute tok/s | speed-up |");
        System.out.println("|---|---|---|---|---|");
        TorchRuntime.start(threads);
        try (LlamaModel model = LlamaModel.random(c, Device.cpu(), 1)) {
            for (int ctx : new int[] {256, 1024, 2048}) {
                int[] prompt = text(ctx, new Random(ctx));
                int n = 32;
                Generator.generate(model, ByteTokenizer.PAD, List.of(prompt), settings(8, true)); // warm-up
                double cached = tokensPerSecond(model, prompt, settings(n, true), n);
                double full = tokensPerSecond(model, prompt, settings(n, false), n);
                System.out.printf(Locale.ROOT, "| %d | %d | %.0f | %.1f | %.1fx |%n", ctx, n, cached, full, cached / full);
            }
        }
        System.out.println();
        System.out.println("| sequence length (each of chosen, rejected) | backward | LongPO step (s) | tokens/s | peak RSS (MB) |");
        System.out.println("|---|---|---|---|---|");
        for (int len : new int[] {256, 1024, 2048, 4096, 8192, 16384}) {
            for (boolean recompute : new boolean[] {false, true}) {
                if (!recompute && len > 4096) {
                    continue; // stored attention at 8K+ needs more memory and time than this machine has
                }
                String out = ChildJvm.run(List.of("-Xmx2g", "-cp", System.getProperty("java.class.path")),
                        List.of(ModelBench.class.getName(), "train-one", String.valueOf(len), String.valueOf(threads),
                                String.valueOf(recompute)), Duration.ofMinutes(30));
                System.out.println(out.lines().filter(l -> l.startsWith("|")).findFirst()
                        .orElse("| " + len + " | " + (recompute ? "recomputed" : "stored") + " | failed |"));
            }
        }
    }

    private static Generator.Settings settings(int n, boolean cache) {
        return Generator.Settings.builder().maxNewTokens(n).useCache(cache).build();
    }

    private static double tokensPerSecond(LlamaModel model, int[] prompt, Generator.Settings s, int n) {
        long t0 = System.nanoTime();
        Generator.generate(model, ByteTokenizer.PAD, List.of(prompt), s);
        return n / ((System.nanoTime() - t0) / 1e9);
    }

    private static int[] text(int n, Random r) {
        String words = "the harbor ledger ship captain cargo berth tide fog lamp pier clerk orchard ";
        StringBuilder sb = new StringBuilder();
        while (sb.length() < n) {
            sb.append(words, r.nextInt(10), words.length());
        }
        return ByteTokenizer.INSTANCE.encode(sb.substring(0, n));
    }

    /**
     * One JVM, one length: a warm-up step then three timed LongPO steps (batch = one chosen + one rejected
     * row), with the layers' activations stored for backward or recomputed ({@code recompute}).
     */
    private static void trainOne(int len, int threads, boolean recompute) throws Exception {
        TorchRuntime.start(threads);
        try (LlamaModel model = LlamaModel.random(ModelConfig.miniDefault(), Device.cpu(), 1)) {
            model.setRopeTheta(40_000);
            model.setTrainable(true);
            model.setRecompute(recompute);
            String context = ByteTokenizer.INSTANCE.decode(text(len - 40, new Random(len)));
            PreferenceSample s = new PreferenceSample("b", context, List.of("What is the key?"),
                    List.of(ByteTokenizer.INSTANCE.encode("1234")), List.of(ByteTokenizer.INSTANCE.encode("unknown")),
                    -10, -20, -10, -20);
            try (AdamW opt = new AdamW(model, AdamW.Settings.builder().setLearningRate(1e-4).setTotalSteps(100).optWarmupSteps(1).build())) {
                double secs = 0;
                for (int step = 0; step < 4; step++) {
                    long t0 = System.nanoTime();
                    new TrainStep<Objective.Metrics>(model, opt).run(List.of(s.forward(Objective.LONGPO, new Objective.Hyper(0.1, 0.1),
                            model, FMT)));
                    if (step > 0) {
                        secs += (System.nanoTime() - t0) / 1e9;
                    }
                }
                secs /= 3;
                System.out.printf(Locale.ROOT, "| %d | %s | %.3f | %.0f | %d |%n", s.tokenCount(FMT) / 2,
                        recompute ? "recomputed" : "stored", secs, s.tokenCount(FMT) / secs, peakRssMb());
            }
        }
    }

    private static long peakRssMb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        return -1;
    }
}
