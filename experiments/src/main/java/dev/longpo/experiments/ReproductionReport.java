package dev.longpo.experiments;

import dev.longpo.tasks.Charts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * The reproduction's report: {@code report.md} with the setup, what the pipeline made, the final scores of
 * every arm (long-context mean by length, short-task score and its change from pi_S, effective length),
 * each arm's task x length table and the rankings the numbers give, plus PNG curves: single-needle NIAH
 * at the target and at the longest evaluated length, the short score, the chosen and rejected rewards,
 * and reward accuracy, against the training step.
 */
public final class ReproductionReport {
    /**
     * The tolerance within which an arm "keeps" pi_S's short skills (the 0.03): neither the short
     * tasks' score nor the long tasks' score inside the window (lengths up to L_s) falls by more.
     */
    public static final double SHORT_KEPT = 0.03;

    private ReproductionReport() {
    }

    /** Writes report.md and the curves into {@code dir}; returns report.md. */
    public static Path write(Reproduction.Result r, String setup, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Reproduction.ArmResult> arms = r.arms();
        TreeSet<Integer> lengths = new TreeSet<>(r.base().longAverage().keySet());
        int target = r.pipeline().targetLength();
        int longest = lengths.last();
        List<String> pngs = new ArrayList<>();
        pngs.add(curve(arms, e -> niah(e, target), "single-needle NIAH at the target length " + target,
                "niah_single", dir.resolve("niah-target.png")));
        if (longest != target) {
            pngs.add(curve(arms, e -> niah(e, longest), "single-needle NIAH at " + longest + " tokens",
                    "niah_single", dir.resolve("niah-longest.png")));
        }
        pngs.add(curve(arms, Reproduction.Eval::shortScore, "short-task score (mean of the short-only tasks)", "score",
                dir.resolve("short.png")));
        pngs.add(rewards(arms, dir.resolve("rewards.png")));
        pngs.add(steps(arms, Reproduction.Step::accuracy, "reward accuracy (chosen reward > rejected reward)",
                "fraction (smoothed over 10 steps)", dir.resolve("accuracy.png")));

        StringBuilder md = new StringBuilder("# LongPO in miniature: the paper's Figure 4 protocol\n\n");
        md.append(setup).append("\n\n## What the pipeline made\n\n");
        Reproduction.Pipeline p = r.pipeline();
        md.append(String.format(Locale.ROOT, "- %d documents ingested; %d multi-turn training samples (%d turns) for"
                        + " iteration 1 (target %d tokens = %d x L_s, L_s = %d), RoPE base theta0 %.0f, theta1 %.0f;"
                        + " %d dead letters; %.0f s.%n", p.documents(), p.samples(), p.turns(), p.targetLength(),
                p.targetLength() / p.shortWindow(), p.shortWindow(), p.theta0(), p.theta1(), p.deadLetters(), p.seconds()));
        md.append(String.format(Locale.ROOT, "- Degenerate turns (pi_S's long-context answer equals its short-context"
                + " answer, so chosen = rejected and only the NLL terms learn from them): %d of %d (%.0f%%).%n",
                p.degenerateTurns(), p.turns(), 100.0 * p.degenerateTurns() / Math.max(1, p.turns())));

        md.append("\n## Final scores\n\nLong-context score = mean of the long tasks at each prompt length (tokens);")
                .append(" short = mean of the short-only tasks, which no arm trains on; Δshort and Δwindow (the long tasks at")
                .append(" lengths up to L_s) against pi_S.\n\n");
        md.append("| model |");
        lengths.forEach(l -> md.append(' ').append(l).append(" |"));
        md.append(" short | Δshort | Δwindow | eff. length | beyond-window mean |\n|---|");
        lengths.forEach(l -> md.append("---|"));
        md.append("---|---|---|---|---|\n");
        row(md, "pi_S", r.base(), r.base(), lengths, p.shortWindow());
        for (Reproduction.ArmResult a : arms) {
            row(md, a.arm() + " (" + a.steps().size() + " steps)", a.last(), r.base(), lengths, p.shortWindow());
        }
        md.append("\n").append(rankings(r, p.shortWindow())).append("\n## Curves\n\n");
        for (String png : pngs) {
            md.append("![").append(png).append("](").append(png).append(")\n\n");
        }
        md.append("## Every arm's last evaluation, task x length\n\n");
        md.append("### pi_S\n\n```\n").append(table(r.base(), lengths)).append("```\n\n");
        for (Reproduction.ArmResult a : arms) {
            md.append("### ").append(a.arm()).append(String.format(Locale.ROOT, " (objective %s, replay %.2f, %.0f s of"
                    + " training)%n%n```%n", a.objective(), a.replay(), a.trainSeconds())).append(table(a.last(), lengths))
                    .append("```\n\n");
        }
        Path out = dir.resolve("report.md");
        Files.writeString(out, md);
        return out;
    }

    private static double niah(Reproduction.Eval e, int length) {
        return e.table().getOrDefault("niah_single", Map.of()).getOrDefault(length, Double.NaN);
    }

    /** Mean of the long-context score over the lengths up to the short window. */
    static double inWindow(Reproduction.Eval e, int shortWindow) {
        return e.longAverage().entrySet().stream().filter(x -> x.getKey() <= shortWindow).mapToDouble(Map.Entry::getValue)
                .filter(Double::isFinite).average().orElse(Double.NaN);
    }

    /** Whether {@code e} kept pi_S's short skills: short tasks and in-window long tasks within SHORT_KEPT. */
    static boolean kept(Reproduction.Eval e, Reproduction.Eval base, int shortWindow) {
        double window = inWindow(e, shortWindow) - inWindow(base, shortWindow);
        return e.shortScore() - base.shortScore() >= -SHORT_KEPT - 1e-9 && !(window < -SHORT_KEPT - 1e-9);
    }

    /** Mean of the long-context score over the lengths above the short window. */
    static double beyondWindow(Reproduction.Eval e, int shortWindow) {
        return e.longAverage().entrySet().stream().filter(x -> x.getKey() > shortWindow).mapToDouble(Map.Entry::getValue)
                .filter(Double::isFinite).average().orElse(Double.NaN);
    }

    private static void row(StringBuilder md, String name, Reproduction.Eval e, Reproduction.Eval base,
                            TreeSet<Integer> lengths, int shortWindow) {
        md.append("| ").append(name).append(" |");
        lengths.forEach(l -> md.append(String.format(Locale.ROOT, " %.2f |", e.longAverage().getOrDefault(l, Double.NaN))));
        md.append(String.format(Locale.ROOT, " %.2f | %+.2f | %+.2f | %d | %.3f |%n", e.shortScore(),
                e.shortScore() - base.shortScore(), inWindow(e, shortWindow) - inWindow(base, shortWindow),
                e.effectiveLength(), beyondWindow(e, shortWindow)));
    }

    /** What the numbers rank: the best beyond-window mean among arms that kept the short score, and the worst. */
    private static String rankings(Reproduction.Result r, int shortWindow) {
        List<Reproduction.ArmResult> byLong = r.arms().stream()
                .sorted(Comparator.comparingDouble(a -> -beyondWindow(a.last(), shortWindow))).toList();
        StringBuilder sb = new StringBuilder("Rankings by the beyond-window mean (lengths above L_s):\n\n");
        int rank = 0;
        for (Reproduction.ArmResult a : byLong) {
            double d = a.last().shortScore() - r.base().shortScore();
            double w = inWindow(a.last(), shortWindow) - inWindow(r.base(), shortWindow);
            sb.append(String.format(Locale.ROOT, "%d. %s: %.3f (pi_S %.3f), short %+.2f, window %+.2f%s%n", ++rank, a.arm(),
                    beyondWindow(a.last(), shortWindow), beyondWindow(r.base(), shortWindow), d, w,
                    kept(a.last(), r.base(), shortWindow) ? " (short skills kept)" : " (short skills lost)"));
        }
        r.arms().stream().filter(a -> kept(a.last(), r.base(), shortWindow))
                .max(Comparator.comparingDouble(a -> beyondWindow(a.last(), shortWindow)))
                .ifPresentOrElse(a -> sb.append(String.format(Locale.ROOT, "%nBest long-context mean with short skills"
                        + " kept (short tasks and window within %.2f of pi_S): %s.%n", SHORT_KEPT, a.arm())),
                        () -> sb.append(String.format(Locale.ROOT, "%nNo arm kept the short skills (short tasks and window"
                                + " within %.2f of pi_S).%n", SHORT_KEPT)));
        return sb.toString();
    }

    private static String table(Reproduction.Eval e, TreeSet<Integer> lengths) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-18s", "task \\ length"));
        lengths.forEach(l -> sb.append(String.format(Locale.ROOT, "%8d", l)));
        sb.append('\n');
        e.table().forEach((task, row) -> {
            sb.append(String.format(Locale.ROOT, "%-18s", task));
            for (int l : lengths) {
                Double v = row.get(l);
                sb.append(v == null ? "       -" : String.format(Locale.ROOT, "%8.2f", v));
            }
            sb.append('\n');
        });
        return sb.toString();
    }

    /** An evaluation score against the step, one line per arm (pi_S's score at step 0 starts each). */
    private static String curve(List<Reproduction.ArmResult> arms, ToDoubleFunction<Reproduction.Eval> f, String title,
                                String yTitle, Path png) throws IOException {
        Map<String, Charts.Series> series = Charts.series();
        for (Reproduction.ArmResult a : arms) {
            series.put(a.arm(), new Charts.Series(a.evals().stream().mapToDouble(Reproduction.Eval::step).toArray(),
                    a.evals().stream().mapToDouble(f).toArray()));
        }
        Charts.lines(title, "training step", yTitle, series, List.of(), png);
        return png.getFileName().toString();
    }

    /** A per-step training metric, smoothed over 10 steps, one line per arm. */
    private static String steps(List<Reproduction.ArmResult> arms, ToDoubleFunction<Reproduction.Step> f, String title,
                                String yTitle, Path png) throws IOException {
        Map<String, Charts.Series> series = Charts.series();
        for (Reproduction.ArmResult a : arms) {
            series.put(a.arm(), new Charts.Series(a.steps().stream().mapToDouble(Reproduction.Step::step).toArray(),
                    Charts.smooth(a.steps().stream().mapToDouble(f).toArray(), 10)));
        }
        Charts.lines(title, "training step", yTitle, series, List.of(), png);
        return png.getFileName().toString();
    }

    /**
     * Chosen and rejected rewards (beta x log-ratio against each arm's reference), smoothed, for the arms with
     * a preference term (LongPO with and without NLL, DPO): the paper's sanity check is chosen up, rejected down.
     */
    private static String rewards(List<Reproduction.ArmResult> arms, Path png) throws IOException {
        Map<String, Charts.Series> series = Charts.series();
        for (Reproduction.ArmResult a : arms) {
            if (!a.objective().startsWith("LONGPO") && !a.objective().equals("DPO")) {
                continue;
            }
            double[] x = a.steps().stream().mapToDouble(Reproduction.Step::step).toArray();
            series.put(a.arm() + " chosen", new Charts.Series(x, Charts.smooth(a.steps().stream()
                    .mapToDouble(Reproduction.Step::rewardChosen).toArray(), 10)));
            series.put(a.arm() + " rejected", new Charts.Series(x, Charts.smooth(a.steps().stream()
                    .mapToDouble(Reproduction.Step::rewardRejected).toArray(), 10)));
        }
        Charts.lines("rewards: beta x (policy - reference) log-prob of the chosen and rejected answers", "training step",
                "reward (smoothed over 10 steps)", series, List.of(), png);
        return png.getFileName().toString();
    }
}
