package dev.longpo.cli;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.loop.RunState;
import dev.longpo.tasks.Charts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * PNG plots of a run from its events: reward curves (chosen and rejected rewards, margin), reward
 * accuracy, and losses (total, NLL, preference loss) against the trainer step, smoothed over 5 steps,
 * with the first step of each new iteration marked; and the single-needle depth x length heatmap of
 * every evaluated checkpoint.
 */
final class Plots {
    private Plots() {
    }

    /** Writes rewards.png, accuracy.png, losses.png and heatmap-&lt;version&gt;.png into {@code dir}; returns the files. */
    static List<Path> write(RunState state, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> out = new ArrayList<>();
        List<TrainingMetrics> ms = state.metrics();
        if (!ms.isEmpty()) {
            List<Charts.Marker> iterations = new ArrayList<>();
            for (int i = 1; i < ms.size(); i++) {
                if (ms.get(i).getIteration() != ms.get(i - 1).getIteration()) {
                    iterations.add(new Charts.Marker(ms.get(i).getStep(), "iteration " + ms.get(i).getIteration()));
                }
            }
            Map<String, ToDoubleFunction<TrainingMetrics>> rewards = new LinkedHashMap<>();
            rewards.put("reward chosen", TrainingMetrics::getRewardChosen);
            rewards.put("reward rejected", TrainingMetrics::getRewardRejected);
            rewards.put("margin", TrainingMetrics::getMargin);
            out.add(curves("rewards, run " + state.run(), "beta x log-ratio", ms, rewards, iterations, dir.resolve("rewards.png")));
            out.add(curves("reward accuracy, run " + state.run(), "fraction of samples", ms,
                    Map.of("reward accuracy", TrainingMetrics::getRewardAccuracy), iterations, dir.resolve("accuracy.png")));
            Map<String, ToDoubleFunction<TrainingMetrics>> losses = new LinkedHashMap<>();
            losses.put("loss", TrainingMetrics::getLoss);
            losses.put("nll", TrainingMetrics::getNll);
            losses.put("preference loss", TrainingMetrics::getPrefLoss);
            out.add(curves("losses, run " + state.run(), "loss", ms, losses, iterations, dir.resolve("losses.png")));
        }
        for (Checkpoint c : state.checkpoints()) {
            Map<Double, Map<Integer, Double>> heat = state.heatmap(c.getModelVersion());
            if (!heat.isEmpty()) {
                List<Integer> lengths = new ArrayList<>(new TreeSet<>(heat.values().stream()
                        .flatMap(m -> m.keySet().stream()).toList()));
                String name = "heatmap-" + c.getModelVersion().replaceAll("[^A-Za-z0-9_.-]", "_") + ".png";
                out.add(Charts.heatmap(heat, lengths, "niah_single: " + c.getModelVersion(), dir.resolve(name)));
            }
        }
        return out;
    }

    /** Per-step series, smoothed over 5 steps. */
    private static Path curves(String title, String yTitle, List<TrainingMetrics> ms,
                               Map<String, ToDoubleFunction<TrainingMetrics>> series, List<Charts.Marker> markers, Path png)
            throws IOException {
        double[] xs = ms.stream().mapToDouble(TrainingMetrics::getStep).toArray();
        Map<String, Charts.Series> lines = Charts.series();
        series.forEach((name, f) -> lines.put(name, new Charts.Series(xs, Charts.smooth(ms.stream().mapToDouble(f).toArray(), 5))));
        return Charts.lines(title, "trainer step (smoothed over 5 steps)", yTitle, lines, markers, png);
    }
}
