package dev.longpo.tasks;

import dev.longpo.model.ChatFormat;
import dev.longpo.model.Generator;
import dev.longpo.model.LlamaModel;
import dev.longpo.text.Tokenizer;
import dev.longpo.common.LongpoConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * Runs the task suite on a model with greedy decoding: every task at every length, needles spread
 * over the configured depths (single-needle NIAH gets {@code samples} per depth, for the heatmap).
 * The same seed gives the same instances for every model, so scores are comparable.
 */
public final class Evaluator {
    /**
     * What to evaluate: tasks, prompt lengths, needle depths, instances per long task and length
     * ({@code samples}; single-needle NIAH gets that many per depth), instances of each short task
     * ({@code shortSamples}: short prompts are cheap and a promotion gate needs a steady estimate), the
     * instance seed, the decoding batch and the effective-length threshold.
     */
    public record Settings(List<String> tasks, List<Integer> lengths, List<Double> depths, int samples,
                           int shortSamples, long seed, int batchSize, double threshold) {
        /** Lengths L_s/2 .. 16 L_s, depths 0..100% in quarters. */
        public static Settings standard(int shortWindow, int samples) {
            List<String> tasks = new ArrayList<>(Tasks.longTasks());
            tasks.addAll(Tasks.shortTasks());
            return new Settings(tasks, List.of(shortWindow / 2, shortWindow, 2 * shortWindow, 4 * shortWindow,
                    8 * shortWindow, 16 * shortWindow), List.of(0.0, 0.25, 0.5, 0.75, 1.0), samples, samples, 1234, 8, 0.8);
        }

        /**
         * The evaluator worker's settings: {@code eval.tasks}, {@code eval.lengths} (empty: the standard
         * L_s/2 .. 16 L_s for {@code loop.short.window}), {@code eval.samples}, {@code eval.short.samples}, {@code eval.threshold}.
         */
        public static Settings from(LongpoConfig c) {
            Settings std = standard(c.getInt("loop.short.window"), c.getInt("eval.samples"));
            String lengths = c.get("eval.lengths", "").trim();
            return new Settings(List.of(c.get("eval.tasks").split(",")), lengths.isEmpty() ? std.lengths()
                    : Arrays.stream(lengths.split(",")).map(String::trim).map(Integer::valueOf).toList(), std.depths(),
                    std.samples(), c.getInt("eval.short.samples"), std.seed(), std.batchSize(), c.getDouble("eval.threshold"));
        }

        /** The same settings for other tasks. */
        public Settings withTasks(List<String> other) {
            return new Settings(other, lengths, depths, samples, shortSamples, seed, batchSize, threshold);
        }

        /** The same settings at other lengths. */
        public Settings withLengths(List<Integer> other) {
            return new Settings(tasks, other, depths, samples, shortSamples, seed, batchSize, threshold);
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

    /** Tasks whose prompt length does not follow the evaluated length. */
    static final Set<String> SHORT_TASKS = Set.copyOf(Tasks.shortTasks());

    private Evaluator() {
    }

    public static Report run(LlamaModel model, Tokenizer tok, Settings s) {
        ChatFormat fmt = new ChatFormat(tok);
        List<Cell> cells = new ArrayList<>();
        Map<String, Map<Integer, Double>> table = new LinkedHashMap<>();
        Map<Double, Map<Integer, Double>> heat = new TreeMap<>();
        for (String task : s.tasks()) {
            boolean perDepth = task.equals("niah_single");
            for (int length : s.lengths()) {
                if (SHORT_TASKS.contains(task) && length != s.lengths().get(0)) {
                    continue; // short tasks have one length of their own
                }
                Random rnd = new Random(s.seed() * 31 + task.hashCode() * 17L + length);
                List<TaskInstance> instances = new ArrayList<>();
                int total = SHORT_TASKS.contains(task) ? s.shortSamples() : perDepth ? s.samples() * s.depths().size() : s.samples();
                for (int i = 0; i < total; i++) {
                    double depth = s.depths().get(perDepth ? i / s.samples() : i % s.depths().size());
                    instances.add(Tasks.get(task).generate(length, depth, rnd));
                }
                double[] scores = score(model, fmt, instances, s.batchSize());
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
        int effective = 0;
        for (int length : s.lengths()) {
            if (longAvg.get(length) >= s.threshold()) {
                effective = length;
            } else {
                break;
            }
        }
        double shortScore = table.entrySet().stream().filter(e -> SHORT_TASKS.contains(e.getKey()))
                .flatMap(e -> e.getValue().values().stream()).mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        return new Report(cells, table, longAvg, heat, effective, shortScore, s.threshold());
    }

    /** Greedy answers of a batch of instances, scored. */
    public static double[] score(LlamaModel model, ChatFormat fmt, List<TaskInstance> instances, int batchSize) {
        double[] out = new double[instances.size()];
        for (int start = 0; start < instances.size(); start += batchSize) {
            int end = Math.min(instances.size(), start + batchSize);
            List<int[]> prompts = new ArrayList<>();
            for (int i = start; i < end; i++) {
                prompts.add(fmt.prompt(instances.get(i).context(), instances.get(i).question()));
            }
            int maxNew = instances.subList(start, end).stream().mapToInt(t -> t.answer().length()).max().orElse(8) + 8;
            List<Generator.Output> gen = Generator.generate(model, fmt.tokenizer().pad(), prompts,
                    Generator.Settings.builder().maxNewTokens(maxNew).stopTokens(Set.of(fmt.tokenizer().eos())).build());
            for (int i = start; i < end; i++) {
                out[i] = instances.get(i).score(fmt.decodeAnswer(gen.get(i - start).tokens()));
            }
        }
        return out;
    }
}
