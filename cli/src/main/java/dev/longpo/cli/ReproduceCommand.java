package dev.longpo.cli;

import dev.longpo.common.LongpoConfig;
import dev.longpo.env.Machine;
import dev.longpo.experiments.Reproduction;
import dev.longpo.experiments.ReproductionReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo reproduce}: the paper's Figure 4 in miniature ({@link Reproduction}): pairs through the
 * real pipeline on a fresh embedded stack, then every objective from the same pi_S on the same samples,
 * evaluated as it trains, and a report with tables and curves. Settings come from the {@code reproduce}
 * profile ({@code reproduce-quick} with {@code --quick}: 40 samples, three arms) under anything the user
 * sets; a rerun with the same {@code --out} resumes.
 */
@Command(name = "reproduce", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Compare LongPO with its baselines on the same self-generated pairs and write a report.")
final class ReproduceCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Mixin
    RunOptions run;

    @Override
    public Integer call() throws Exception {
        RunOptions.Run resolved = run.resolve(options, "reproduce");
        LongpoConfig config = resolved.config();
        Path pis = resolved.baseModel();
        Path dir = resolved.dir();
        Logging.toFile(dir.resolve("reproduce.log"));
        double replay = config.getDouble("reproduce.replay.weight");
        double anchor = config.getDouble("reproduce.anchor.weight");
        List<Reproduction.Arm> arms = Arrays.stream(config.get("reproduce.arms").split(","))
                .map(a -> Reproduction.Arm.parse(a, replay, anchor)).toList();
        Reproduction.Spec spec = new Reproduction.Spec(config, pis, dir, config.getInt("reproduce.samples"),
                config.getInt("reproduce.epochs"), config.getInt("reproduce.eval.every"), arms, config.getDuration("reproduce.pipeline.stall.ms"));
        System.out.printf("reproduction %s: pi_S = %s, %d samples, arms %s; output and log in %s%n", resolved.id(), pis,
                spec.samples(), config.get("reproduce.arms"), dir);
        long t0 = System.nanoTime();
        try (GracefulStop stop = new GracefulStop(Duration.ofMinutes(2))) {
            Reproduction.Result r = new Reproduction(spec).run(stop.flag());
            String setup = setup(config, pis, spec, (System.nanoTime() - t0) / 1e9);
            Path report = ReproductionReport.write(r, setup, dir);
            System.out.println(Files.readString(report).lines().takeWhile(l -> !l.startsWith("## Curves"))
                    .reduce("", (a, b) -> a + b + "\n"));
            System.out.println("report: " + report);
            if (stop.requested() || r.arms().size() < arms.size()) {
                System.out.println("stopped before every arm finished; run it again with --out " + dir + " to resume");
                return 130;
            }
        }
        return 0;
    }

    private static String setup(LongpoConfig c, Path pis, Reproduction.Spec spec, double seconds) {
        return String.format(Locale.ROOT, """
                Run `%s` of `longpo reproduce` on %s, pi_S `%s`, %.0f s in this session.

                - Arms: %s, each trained from pi_S on the same %d samples in the same order, %d pass(es), one
                  sample per optimizer step (lr %s, warmup %s steps then cosine, clip %s), beta %s, lambda %s, NLL
                  tokens: %s (`trainer.nll.tokens`); `+replay`
                  adds %s x the NLL of pi_S's chosen answers on their own chunks (no evaluation task is replayed);
                  `+anchor` adds %s x the mean KL(pi_S || policy) over every token of those short sequences.
                - Samples: the pipeline's iteration 1 (documents of 2 L_s .. the target), up to %s turns each
                  (multi-turn, the paper's Eq. 13), theta rule `%s`; DPO's reference is pi_S on the long context.
                - Evaluation: tasks %s at lengths %s, %s instances per cell (single-needle NIAH: per depth), %s
                  per short task; greedy; every %d steps and at the end.""",
                c.get("run.id"), Machine.describe(), pis, seconds, c.get("reproduce.arms"), spec.samples(),
                spec.epochs(), c.get("trainer.lr"), c.get("trainer.warmup.steps"), c.get("trainer.clip"), c.get("trainer.beta"),
                c.get("trainer.lambda"), c.get("trainer.nll.tokens"), c.get("reproduce.replay.weight"),
                c.get("reproduce.anchor.weight"), c.get("loop.max.turns"), c.get("loop.theta.rule"),
                c.get("eval.tasks"), c.get("eval.lengths"), c.get("eval.samples"), c.get("eval.short.samples"),
                spec.evalEvery());
    }
}
