package dev.longpo.tasks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Runs the task suite on a model with greedy decoding: every task at every length, needles spread
 * over the configured depths (single-needle NIAH gets {@code samples} per depth, for the heatmap).
 * The same seed gives the same instances for every model, so scores are comparable. The model is
 * anything that answers prompts ({@link Answerer}); the DJL implementation lives in the model module.
 */
public final class Evaluator {
    /** What the evaluator needs of a model: its greedy answer to each instance's context and question. */
    @FunctionalInterface
    public interface Answerer {
        /** One answer per instance (decoded text up to the end-of-sequence token), at most {@code maxNewTokens} long. */
        List<String> answer(List<TaskInstance> instances, int maxNewTokens);

        /**
         * The prompt length of an instance in the model's own tokens, or empty when the model's tokens are
         * the bytes the task generators count (the byte tokenizer): then an instance is exactly as long as
         * asked, and is generated as it always was.
         */
        default java.util.OptionalInt promptTokens(TaskInstance instance) {
            return java.util.OptionalInt.empty();
        }

        /** Whether {@link #promptTokens} counts tokens other than bytes. */
        default boolean countsOwnTokens() {
            return false;
        }
    }

    /**
     * An instance whose prompt is {@code length} tokens of the model's tokenizer: the generators count
     * bytes, so for another tokenizer the byte budget is searched (same seed each try) for the longest
     * prompt of at most {@code length} tokens. The byte tokenizer takes the generator's instance as is.
     */
    static TaskInstance sized(Answerer model, Tasks.Task task, int length, double depth, Random rnd) {
        if (!model.countsOwnTokens()) {
            return task.generate(length, depth, rnd);
        }
        long seed = rnd.nextLong();
        TaskInstance first = task.generate(length, depth, new Random(seed));
        int tolerance = Math.max(1, length / 100);
        int lo = -1;
        int hi = -1;
        TaskInstance best = null;
        TaskInstance smallest = first;
        int smallestBudget = length;
        int budget = length;
        TaskInstance t = first;
        for (int attempt = 0; attempt < 16; attempt++) {
            int tokens = model.promptTokens(t).getAsInt();
            if (tokens <= length) {
                if (budget > lo) {
                    lo = budget;
                    best = t;
                }
                if (length - tokens <= tolerance) {
                    break;
                }
            } else {
                hi = hi < 0 ? budget : Math.min(hi, budget);
            }
            if (budget < smallestBudget) {
                smallest = t;
                smallestBudget = budget;
            }
            int next = (int) Math.max(1, (long) budget * length / Math.max(1, tokens));
            if (hi >= 0 && next >= hi) {
                next = (Math.max(lo, 0) + hi) / 2;
            }
            if (next <= lo) {
                next = hi < 0 ? lo * 2 : (lo + hi) / 2;
            }
            if ((hi >= 0 && hi - lo <= 1) || next == budget) {
                break;
            }
            budget = next;
            t = task.generate(budget, depth, new Random(seed));
        }
        return best != null ? best : smallest;
    }

    /**
     * What to evaluate: tasks, prompt lengths, needle depths, instances per long task and length
     * ({@code samples}; single-needle NIAH gets that many per depth), instances of each short task
     * ({@code shortSamples}: short prompts are cheap and a promotion gate needs a steady estimate), the
     * instance seed, the decoding batch and the effective-length threshold. Build with {@link #builder(int)}.
     */
    public record Settings(List<String> tasks, List<Integer> lengths, List<Double> depths, int samples,
                           int shortSamples, long seed, int batchSize, double threshold) {
        /**
         * The standard protocol for short window {@code shortWindow}: every long and short task, lengths
         * L_s/2 .. 16 L_s, depths 0..100% in quarters, 10 instances per cell, seed 1234, batch 8, threshold 0.8.
         */
        public static Builder builder(int shortWindow) {
            List<String> tasks = new ArrayList<>(Tasks.longTasks());
            tasks.addAll(Tasks.shortTasks());
            return new Builder(tasks, List.of(shortWindow / 2, shortWindow, 2 * shortWindow, 4 * shortWindow,
                    8 * shortWindow, 16 * shortWindow));
        }

        /** A builder starting from these settings. */
        public Builder toBuilder() {
            Builder b = new Builder(tasks, lengths);
            b.depths = depths;
            b.samples = samples;
            b.shortSamples = shortSamples;
            b.seed = seed;
            b.batchSize = batchSize;
            b.threshold = threshold;
            return b;
        }

        /** Builder of {@link Settings}; {@link #build()} checks every value. */
        public static final class Builder {
            private List<String> tasks;
            private List<Integer> lengths;
            private List<Double> depths = List.of(0.0, 0.25, 0.5, 0.75, 1.0);
            private int samples = 10;
            private int shortSamples = -1;
            private long seed = 1234;
            private int batchSize = 8;
            private double threshold = 0.8;

            private Builder(List<String> tasks, List<Integer> lengths) {
                this.tasks = tasks;
                this.lengths = lengths;
            }

            public Builder optTasks(List<String> v) {
                tasks = List.copyOf(v);
                return this;
            }

            /** Prompt lengths in tokens (the first also serves the short tasks). */
            public Builder optLengths(List<Integer> v) {
                lengths = List.copyOf(v);
                return this;
            }

            public Builder optDepths(List<Double> v) {
                depths = List.copyOf(v);
                return this;
            }

            /** Instances per long task and length (single-needle NIAH: per depth). */
            public Builder optSamples(int v) {
                samples = v;
                return this;
            }

            /** Instances of each short task (default: as many as {@code samples}). */
            public Builder optShortSamples(int v) {
                shortSamples = v;
                return this;
            }

            public Builder optSeed(long v) {
                seed = v;
                return this;
            }

            public Builder optBatchSize(int v) {
                batchSize = v;
                return this;
            }

            /** The long-task mean that counts as effective. */
            public Builder optThreshold(double v) {
                threshold = v;
                return this;
            }

            public Settings build() {
                if (tasks.isEmpty() || lengths.isEmpty() || depths.isEmpty()) {
                    throw new IllegalArgumentException("an evaluation needs tasks, lengths and depths");
                }
                tasks.forEach(Tasks::get);
                if (samples < 1 || batchSize < 1 || shortSamples == 0 || lengths.stream().anyMatch(l -> l < 16)
                        || depths.stream().anyMatch(d -> d < 0 || d > 1)) {
                    throw new IllegalArgumentException("an evaluation needs samples >= 1, batch >= 1, lengths >= 16"
                            + " tokens and depths in [0, 1]");
                }
                return new Settings(List.copyOf(tasks), List.copyOf(lengths), List.copyOf(depths), samples,
                        shortSamples < 0 ? samples : shortSamples, seed, batchSize, threshold);
            }
        }
    }

    /** Mean score of one task at one length (and depth, or -1 for all depths). */
    public record Cell(String task, int length, double depth, double score, int n) {
    }

    /** All cells plus the summaries. */
    public record Report(List<Cell> cells, Map<String, Map<Integer, Double>> table, Map<Integer, Double> longAverage,
                         Map<Double, Map<Integer, Double>> heatmap, int effectiveLength, double shortScore,
                         double threshold) {

        /** The task x length table as aligned text. */
        public String tableText() {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-18s", "task \\ length"));
            List<Integer> lengths = new ArrayList<>(longAverage.keySet());
            lengths.forEach(l -> sb.append(String.format(Locale.ROOT, "%8d", l)));
            sb.append('\n');
            table.forEach((task, row) -> {
                sb.append(String.format(Locale.ROOT, "%-18s", task));
                for (int l : lengths) {
                    Double v = row.get(l);
                    sb.append(v == null ? "       -" : String.format(Locale.ROOT, "%8.2f", v));
                }
                sb.append('\n');
            });
            sb.append(String.format(Locale.ROOT, "%-18s", "long-task mean"));
            lengths.forEach(l -> sb.append(String.format(Locale.ROOT, "%8.2f", longAverage.get(l))));
            sb.append('\n');
            sb.append(String.format(Locale.ROOT, "effective length (long-task mean >= %.2f): %d; short task: %.2f%n",
                    threshold, effectiveLength, shortScore));
            return sb.toString();
        }

        /** The single-needle depth x length heatmap as text. */
        public String heatmapText() {
            StringBuilder sb = new StringBuilder("niah_single accuracy, depth (rows) x length (columns)\n");
            sb.append(String.format(Locale.ROOT, "%6s", ""));
            List<Integer> lengths = new ArrayList<>(longAverage.keySet());
            lengths.forEach(l -> sb.append(String.format(Locale.ROOT, "%7d", l)));
            sb.append('\n');
            heatmap.forEach((d, row) -> {
                sb.append(String.format(Locale.ROOT, "%5.0f%%", d * 100));
                lengths.forEach(l -> sb.append(String.format(Locale.ROOT, "%7.2f", row.getOrDefault(l, Double.NaN))));
                sb.append('\n');
            });
            return sb.toString();
        }
    }

    private Evaluator() {
    }

    /** Every cell of the settings, scored on {@code model}. */
    public static Report run(Answerer model, Settings s) {
        List<Cell> cells = new ArrayList<>();
        Map<String, Map<Integer, Double>> table = new LinkedHashMap<>();
        Map<Double, Map<Integer, Double>> heat = new TreeMap<>();
        for (String task : s.tasks()) {
            boolean perDepth = task.equals("niah_single");
            for (int length : s.lengths()) {
                if (Tasks.isShort(task) && length != s.lengths().get(0)) {
                    continue; // short tasks have one length of their own
                }
                Random rnd = new Random(s.seed() * 31 + task.hashCode() * 17L + length);
                List<TaskInstance> instances = new ArrayList<>();
                int total = Tasks.isShort(task) ? s.shortSamples() : perDepth ? s.samples() * s.depths().size() : s.samples();
                for (int i = 0; i < total; i++) {
                    double depth = s.depths().get(perDepth ? i / s.samples() : i % s.depths().size());
                    instances.add(sized(model, Tasks.get(task), length, depth, rnd));
                }
                double[] scores = score(model, instances, s.batchSize());
                double sum = 0;
                Map<Double, double[]> byDepth = new TreeMap<>();
                for (int i = 0; i < instances.size(); i++) {
                    sum += scores[i];
                    double[] acc = byDepth.computeIfAbsent(instances.get(i).depth(), d -> new double[2]);
                    acc[0] += scores[i];
                    acc[1]++;
                }
                double mean = sum / instances.size();
                cells.add(new Cell(task, length, -1, mean, instances.size()));
                table.computeIfAbsent(task, t -> new LinkedHashMap<>()).put(length, mean);
                if (perDepth) {
                    byDepth.forEach((d, acc) -> {
                        cells.add(new Cell(task, length, d, acc[0] / acc[1], (int) acc[1]));
                        heat.computeIfAbsent(d, x -> new LinkedHashMap<>()).put(length, acc[0] / acc[1]);
                    });
                }
            }
        }
        Map<Integer, Double> longAvg = new LinkedHashMap<>();
        for (int length : s.lengths()) {
            double sum = 0;
            int n = 0;
            for (String task : s.tasks()) {
                Double v = table.getOrDefault(task, Map.of()).get(length);
                if (v != null && Tasks.longTasks().contains(task)) {
                    sum += v;
                    n++;
                }
            }
            longAvg.put(length, n == 0 ? Double.NaN : sum / n);
        }
        int effective = Scores.effectiveLength(longAvg, s.threshold());
        double shortScore = table.entrySet().stream().filter(e -> Tasks.isShort(e.getKey()))
                .flatMap(e -> e.getValue().values().stream()).mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        return new Report(cells, table, longAvg, heat, effective, shortScore, s.threshold());
    }

    /** Greedy answers of the instances, {@code batchSize} at a time, scored. */
    public static double[] score(Answerer model, List<TaskInstance> instances, int batchSize) {
        double[] out = new double[instances.size()];
        for (int start = 0; start < instances.size(); start += batchSize) {
            List<TaskInstance> batch = instances.subList(start, Math.min(instances.size(), start + batchSize));
            int maxNew = batch.stream().mapToInt(t -> t.answer().length()).max().orElse(8) + 8;
            List<String> answers = model.answer(batch, maxNew);
            for (int i = 0; i < batch.size(); i++) {
                out[start + i] = batch.get(i).score(answers.get(i));
            }
        }
        return out;
    }
}
