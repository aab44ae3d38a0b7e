package dev.longpo.cli;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.tasks.ReportWriter;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/**
 * PNG plots of a run from its events: reward curves (chosen and rejected rewards, reward accuracy),
 * loss curves (total, NLL and preference loss) against the trainer step, with the iteration
 * boundaries marked, and the single-needle depth x length heatmap of every evaluated checkpoint.
 * Plain Java2D, so it needs no plotting library and runs headless.
 */
final class Plots {
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0xff7f0e), new Color(0x9467bd)};

    private Plots() {
    }

    /** Writes rewards.png, losses.png and heatmap-&lt;version&gt;.png into {@code dir}; returns the files. */
    static List<Path> write(LoopState state, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> out = new ArrayList<>();
        List<TrainingMetrics> ms = state.metrics();
        if (!ms.isEmpty()) {
            Map<String, ToDoubleFunction<TrainingMetrics>> rewards = new LinkedHashMap<>();
            rewards.put("reward chosen", TrainingMetrics::getRewardChosen);
            rewards.put("reward rejected", TrainingMetrics::getRewardRejected);
            rewards.put("margin", TrainingMetrics::getMargin);
            out.add(save(chart("rewards, run " + state.run(), ms, rewards), dir.resolve("rewards.png")));
            Map<String, ToDoubleFunction<TrainingMetrics>> acc = new LinkedHashMap<>();
            acc.put("reward accuracy", TrainingMetrics::getRewardAccuracy);
            out.add(save(chart("reward accuracy, run " + state.run(), ms, acc), dir.resolve("accuracy.png")));
            Map<String, ToDoubleFunction<TrainingMetrics>> losses = new LinkedHashMap<>();
            losses.put("loss", TrainingMetrics::getLoss);
            losses.put("nll", TrainingMetrics::getNll);
            losses.put("preference loss", TrainingMetrics::getPrefLoss);
            out.add(save(chart("losses, run " + state.run(), ms, losses), dir.resolve("losses.png")));
        }
        for (Checkpoint c : state.checkpoints()) {
            Map<Double, Map<Integer, Double>> heat = state.heatmap(c.getModelVersion());
            if (!heat.isEmpty()) {
                List<Integer> lengths = new ArrayList<>(new java.util.TreeSet<>(heat.values().stream()
                        .flatMap(m -> m.keySet().stream()).toList()));
                String name = "heatmap-" + c.getModelVersion().replaceAll("[^A-Za-z0-9_.-]", "_") + ".png";
                out.add(save(ReportWriter.heatmap(heat, lengths, "niah_single: " + c.getModelVersion()), dir.resolve(name)));
            }
        }
        return out;
    }

    private static Path save(BufferedImage img, Path file) throws IOException {
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    /** A line chart of per-step series (smoothed over a window of 5 steps) with iteration boundaries. */
    static BufferedImage chart(String title, List<TrainingMetrics> ms, Map<String, ToDoubleFunction<TrainingMetrics>> series) {
        int w = 760;
        int h = 420;
        int left = 70;
        int right = 20;
        int top = 40;
        int bottom = 60;
        double[] xs = ms.stream().mapToDouble(TrainingMetrics::getStep).toArray();
        Map<String, double[]> ys = new LinkedHashMap<>();
        series.forEach((name, f) -> ys.put(name, smooth(ms.stream().mapToDouble(f).toArray(), 5)));
        double xMin = xs[0];
        double xMax = Math.max(xs[xs.length - 1], xMin + 1);
        double yMin = ys.values().stream().flatMapToDouble(java.util.Arrays::stream).filter(Double::isFinite).min().orElse(0);
        double yMax = ys.values().stream().flatMapToDouble(java.util.Arrays::stream).filter(Double::isFinite).max().orElse(1);
        if (yMax - yMin < 1e-9) {
            yMax = yMin + 1;
        }
        double pad = (yMax - yMin) * 0.05;
        yMin -= pad;
        yMax += pad;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        int pw = w - left - right;
        int ph = h - top - bottom;
        g.drawRect(left, top, pw, ph);
        for (int i = 0; i <= 4; i++) {
            double y = yMin + (yMax - yMin) * i / 4;
            int py = top + ph - (int) Math.round(ph * i / 4.0);
            g.setColor(new Color(0xdddddd));
            g.drawLine(left + 1, py, left + pw - 1, py);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.3g", y), 8, py + 4);
            double x = xMin + (xMax - xMin) * i / 4;
            int px = left + (int) Math.round(pw * i / 4.0);
            g.drawString(String.format(Locale.ROOT, "%.0f", x), px - 8, top + ph + 16);
        }
        g.drawString("trainer step (curves smoothed over 5 steps; dashed: a new iteration's first step)", left, h - 28);
        g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {4f, 4f}, 0f));
        g.setColor(Color.GRAY);
        for (int i = 1; i < ms.size(); i++) {
            if (ms.get(i).getIteration() != ms.get(i - 1).getIteration()) {
                int px = left + (int) Math.round(pw * (xs[i] - xMin) / (xMax - xMin));
                g.drawLine(px, top, px, top + ph);
                g.drawString("iteration " + ms.get(i).getIteration(), px + 3, top + 12);
            }
        }
        g.setStroke(new BasicStroke(1.8f));
        int k = 0;
        for (Map.Entry<String, double[]> e : ys.entrySet()) {
            g.setColor(COLORS[k % COLORS.length]);
            double[] y = e.getValue();
            for (int i = 1; i < y.length; i++) {
                if (Double.isFinite(y[i - 1]) && Double.isFinite(y[i])) {
                    g.drawLine(left + (int) Math.round(pw * (xs[i - 1] - xMin) / (xMax - xMin)),
                            top + ph - (int) Math.round(ph * (y[i - 1] - yMin) / (yMax - yMin)),
                            left + (int) Math.round(pw * (xs[i] - xMin) / (xMax - xMin)),
                            top + ph - (int) Math.round(ph * (y[i] - yMin) / (yMax - yMin)));
                }
            }
            g.fillRect(left + 10 + k * 160, h - 16, 14, 4);
            g.setColor(Color.BLACK);
            g.drawString(e.getKey(), left + 28 + k * 160, h - 10);
            k++;
        }
        g.dispose();
        return img;
    }

    /** Trailing moving average (the first points average what there is). */
    static double[] smooth(double[] v, int window) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double sum = 0;
            int n = 0;
            for (int j = Math.max(0, i - window + 1); j <= i; j++) {
                if (Double.isFinite(v[j])) {
                    sum += v[j];
                    n++;
                }
            }
            out[i] = n == 0 ? Double.NaN : sum / n;
        }
        return out;
    }
}
