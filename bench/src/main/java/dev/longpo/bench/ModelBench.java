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
 * JVM, so peak RSS is that length's), each step against its FLOP floor ({@link #stepFlops} at the GFLOP/s the
 * engine reaches on a large matmul here) and, with {@code --compare}, against the same step in PyTorch eager
 * (Debian's {@code python3-torch}; {@code bench/src/main/python/model_bench.py}). Run from the repository root:
 * {@code java -cp 'bench/target/longpo-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*' dev.longpo.bench.ModelBench [threads]
 * [--compare] [--max-length=N] [--lengths=256,1024,...] [--vocab=N] [--nll=answers|sequence] [--timed-steps=N]
 * [--training-only]}: {@code --vocab} gives the mini model a real tokenizer's vocabulary (the LM head's share),
 * {@code --nll} the tokens the NLL reads (the trainer's default: answers, so the head runs at the answers only).
 */
public final class ModelBench {
    private static final ChatFormat FMT = new ChatFormat(ByteTokenizer.INSTANCE);

    private ModelBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("train-one")) {
            trainOne(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Boolean.parseBoolean(args[3]),
                    Integer.parseInt(args[4]), Objective.NllTokens.valueOf(args[5]), Integer.parseInt(args[6]));
            return;
        }
        boolean compare = List.of(args).contains("--compare");
        int maxLength = Integer.parseInt(option(args, "max-length", "16384"));
        int vocab = Integer.parseInt(option(args, "vocab", String.valueOf(ByteTokenizer.VOCAB_SIZE)));
        Objective.NllTokens nll = Objective.NllTokens.valueOf(option(args, "nll", "answers").toUpperCase(Locale.ROOT));
        int timedSteps = Integer.parseInt(option(args, "timed-steps", "3"));
        boolean trainingOnly = List.of(args).contains("--training-only");
        List<Integer> lengths = java.util.Arrays.stream(option(args, "lengths", "256,1024,2048,4096,8192,16384").split(","))
                .map(String::trim).map(Integer::parseInt).toList();
        List<String> positional = java.util.Arrays.stream(args).filter(a -> !a.startsWith("--")).toList();
        int threads = positional.isEmpty() ? 2 : Integer.parseInt(positional.get(0));
        ModelConfig c = config(vocab);
        System.out.printf(Locale.ROOT, "mini model: %d layers, d=%d, %d heads (%d kv), SwiGLU %d, vocab %d, %,d parameters; "
                + "fp32, %d intra-op threads, attention blocks of at most %s queries and %s scores (-Dbench.block,"
                + " -Dbench.cells; default: the model's); NLL over the %s (trainer.nll.tokens)%n",
                c.numHiddenLayers(), c.hiddenSize(), c.numAttentionHeads(), c.numKeyValueHeads(), c.intermediateSize(),
                c.vocabSize(), c.parameterCount(), threads, System.getProperty("bench.block", "default"),
                System.getProperty("bench.cells", "default"), nll.name().toLowerCase(Locale.ROOT));
        System.out.println();
        if (!trainingOnly) {
            generation(c, threads);
        }
        training(c, threads, compare, maxLength, lengths, nll, timedSteps);
    }

    /** {@code --name=value} from the arguments, or the default. */
    private static String option(String[] args, String name, String otherwise) {
        String prefix = "--" + name + "=";
        return java.util.Arrays.stream(args).filter(a -> a.startsWith(prefix)).findFirst()
                .map(a -> a.substring(prefix.length())).orElse(otherwise);
    }

    /** The mini model with another vocabulary size (a real tokenizer's: the LM head's share of memory and FLOPs). */
    private static ModelConfig config(int vocab) {
        ModelConfig c = ModelConfig.miniDefault();
        return new ModelConfig(vocab, c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                c.numKeyValueHeads(), c.ropeTheta(), 32768, c.rmsNormEps(), true, null, "llama", "byte", null, null, null,
                null, null, null, null, null, null, null);
    }

    private static void generation(ModelConfig c, int threads) {
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
    }

    private static void training(ModelConfig c, int threads, boolean compare, int maxLength, List<Integer> lengths,
                                 Objective.NllTokens nll, int timedSteps) throws Exception {
        double peak = peakGflops();
        System.out.println();
        System.out.printf(Locale.ROOT, "training step: batch = one chosen + one rejected row; FLOP floor = matmul and causal-attention"
                + " FLOPs of forward + backward (3x forward) at the %.0f GFLOP/s this machine's engine reaches on a 1024^3 sgemm"
                + "%s%n%n", peak, compare ? "; torch = the same step in PyTorch eager (bench/src/main/python/model_bench.py)" : "");
        System.out.println("| sequence length (each of chosen, rejected) | backward | LongPO step (s) | FLOP floor (s) | x floor"
                + " | tokens/s | peak RSS (MB) |" + (compare ? " torch eager (s) | torch RSS (MB) | x torch |" : ""));
        System.out.println("|---|---|---|---|---|---|---|" + (compare ? "---|---|---|" : ""));
        for (int len : lengths) {
            for (boolean recompute : new boolean[] {false, true}) {
                if (len > maxLength || !recompute && len > 4096) {
                    continue; // stored attention at 8K+ needs more memory and time than this machine has
                }
                List<String> jvm = new java.util.ArrayList<>(List.of("-Xmx2g", "-cp", System.getProperty("java.class.path")));
                for (String p : List.of("bench.block", "bench.cells")) {
                    if (System.getProperty(p) != null) {
                        jvm.add("-D" + p + "=" + System.getProperty(p));
                    }
                }
                String out = ChildJvm.run(jvm,
                        List.of(ModelBench.class.getName(), "train-one", String.valueOf(len), String.valueOf(threads),
                                String.valueOf(recompute), String.valueOf(c.vocabSize()), nll.name(),
                                String.valueOf(timedSteps)), Duration.ofMinutes(60));
                var result = out.lines().filter(l -> l.startsWith("RESULT ")).findFirst();
                if (result.isEmpty()) {
                    System.out.printf("| %d | %s | failed |%n", len, recompute ? "recomputed" : "stored");
                    continue;
                }
                String[] f = result.get().split(" ");
                int rowLength = Integer.parseInt(f[1]);
                double secs = Double.parseDouble(f[2]);
                double floor = stepFlops(c, 2, rowLength, Integer.parseInt(f[4])) / (peak * 1e9);
                StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %d | %s | %.3f | %.3f | %.1f | %.0f | %s |",
                        rowLength, recompute ? "recomputed" : "stored", secs, floor, secs / floor, 2 * rowLength / secs, f[3]));
                if (compare && !recompute) {
                    String[] t = torchStep(rowLength, threads, c);
                    row.append(t == null ? " failed | | |" : String.format(Locale.ROOT, " %s | %s | %.2f |", t[0], t[1],
                            secs / Double.parseDouble(t[0])));
                } else if (compare) {
                    row.append(" | | |");
                }
                System.out.println(row);
            }
        }
    }

    /**
     * Matmul and causal-attention FLOPs of one training step (forward + backward = 3x forward) over
     * {@code rows} rows of {@code t} tokens: the linear layers, and the LM head at the {@code headPositions}
     * the loss reads (all of them, or the answers'), 2 FLOPs per multiply-add; attention scores and their
     * weighted sum over the causal half. Norms, RoPE, softmax and the optimizer are left out: a floor, not a prediction.
     */
    static double stepFlops(ModelConfig c, int rows, int t, int headPositions) {
        long d = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        long layers = c.numHiddenLayers() * (d * q + 2 * d * kv + q * d + 3 * d * c.intermediateSize());
        double forward = 2.0 * rows * t * layers + 2.0 * headPositions * d * c.vocabSize()
                + (double) c.numHiddenLayers() * rows * 2.0 * q * t * t;
        return 3 * forward;
    }

    /** GFLOP/s of a 1024 x 1024 x 1024 float32 matmul on the engine with its current threads. */
    private static double peakGflops() {
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager(Device.cpu())) {
            var a = m.randomUniform(-1, 1, new ai.djl.ndarray.types.Shape(1024, 1024));
            var b = m.randomUniform(-1, 1, new ai.djl.ndarray.types.Shape(1024, 1024));
            for (int i = 0; i < 3; i++) {
                a.matMul(b).close();
            }
            int n = 20;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                a.matMul(b).close();
            }
            return 2.0 * 1024 * 1024 * 1024 * n / ((System.nanoTime() - t0) / 1e9) / 1e9;
        }
    }

    /**
     * The same step in PyTorch eager (Debian's python3-torch), in its own process with OpenBLAS's core-type
     * variables unset: seconds per step and peak RSS in MB, or null if it could not run.
     */
    private static String[] torchStep(int length, int threads, ModelConfig c) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", "bench/src/main/python/model_bench.py",
                String.valueOf(length), String.valueOf(threads), String.valueOf(c.numHiddenLayers()),
                String.valueOf(c.hiddenSize()), String.valueOf(c.numAttentionHeads()), String.valueOf(c.numKeyValueHeads()),
                String.valueOf(c.intermediateSize()), String.valueOf(c.vocabSize())).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("OPENBLAS_") || k.equals("GOTO_NUM_THREADS"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0) {
            System.err.println("torch step at " + length + " failed: " + out);
            return null;
        }
        String[] lines = out.split("\n");
        return lines[lines.length - 1].split(" ");
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
     * One JVM, one length: a warm-up step then {@code timedSteps} timed LongPO steps (batch = one chosen + one rejected
     * row), with the layers' activations stored for backward or recomputed ({@code recompute}).
     */
    private static void trainOne(int len, int threads, boolean recompute, int vocab, Objective.NllTokens nll, int timedSteps)
            throws Exception {
        TorchRuntime.start(threads);
        try (LlamaModel model = LlamaModel.random(config(vocab), Device.cpu(), 1)) {
            model.setRopeTheta(40_000);
            model.setTrainable(true);
            model.setRecompute(recompute);
            model.setAttentionBlock(Integer.getInteger("bench.block", model.attentionBlock()));
            model.setAttentionCells(Long.getLong("bench.cells", model.attentionCells()));
            String context = ByteTokenizer.INSTANCE.decode(text(len - 40, new Random(len)));
            PreferenceSample s = new PreferenceSample("b", context, List.of("What is the key?"),
                    List.of(ByteTokenizer.INSTANCE.encode("1234")), List.of(ByteTokenizer.INSTANCE.encode("unknown")),
                    -10, -20, -10, -20);
            try (AdamW opt = new AdamW(model, AdamW.Settings.builder().setLearningRate(1e-4).setTotalSteps(100).optWarmupSteps(1).build())) {
                Objective.Hyper hyper = new Objective.Hyper(0.1, 0.1, 0, nll);
                double secs = 0;
                for (int step = 0; step <= timedSteps; step++) {
                    long t0 = System.nanoTime();
                    new TrainStep<Objective.Metrics>(model, opt).run(List.of(s.forward(Objective.LONGPO, hyper, model, FMT)));
                    if (step > 0) {
                        secs += (System.nanoTime() - t0) / 1e9;
                    }
                }
                secs /= timedSteps;
                int head = 0;
                for (ChatFormat.Sequence q : s.sequences(FMT)) {
                    for (int t = 1; t < q.length(); t++) {
                        head += nll == Objective.NllTokens.ANSWERS && !q.answer()[t] ? 0 : 1;
                    }
                }
                System.out.printf(Locale.ROOT, "RESULT %d %.4f %d %d%n", s.tokenCount(FMT) / 2, secs, peakRssMb(), head);
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
