package dev.longpo.cli;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.IterationEvent;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.TopicFollower;
import dev.longpo.experiments.FreshStack;
import dev.longpo.loop.LoopRunner;
import dev.longpo.loop.LoopSettings;
import dev.longpo.loop.RunEvent;
import dev.longpo.loop.RunState;
import dev.longpo.producers.Ingestor;
import dev.longpo.tasks.CorpusGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo demo}: the README's main job. Starts a fresh embedded stack, writes and ingests a
 * generated corpus sized to each iteration's sample budget, runs the whole loop (the stream
 * processors and one worker of every role, see {@link LoopRunner}) from pi_S until the controller
 * stops, showing progress from the event topics, and ends with the before/after table and the plots.
 * Settings come from the {@code demo} profile ({@code demo-quick} with {@code --quick}) under
 * anything the user sets. Ctrl-C stops the workers and the stack cleanly.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Run the self-evolution demo end to end on the embedded stack and print the before/after table.")
final class DemoCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Mixin
    RunOptions run;

    @Option(names = "--keep", description = "leave the stack running afterwards (for longpo monitor, status, down)")
    boolean keep;

    @Option(names = "--secure", description = "SASL/SCRAM and ACLs on the broker, basic auth on the registry, and every"
            + " role (ingestion, stream processors, workers, the view) under its own principal")
    boolean secure;

    @Override
    public Integer call() throws Exception {
        RunOptions.Run r = run.resolve(options, "demo");
        try (GracefulStop stop = new GracefulStop(Duration.ofMinutes(3))) {
            LongpoConfig config = secure ? r.config().with("stack.kafka.secure", true) : r.config();
            return demo(config, r.baseModel(), r.dir(), stop.flag());
        }
    }

    private int demo(LongpoConfig config, Path pis, Path dir, AtomicBoolean interrupted) throws Exception {
        long t0 = System.nanoTime();
        Logging.toFile(dir.resolve("workers.log"));
        System.out.printf("run %s: pi_S = %s; output in %s%n", config.get("run.id"), pis, dir);
        System.out.println("starting a fresh embedded stack (Kafka KRaft broker + Apicurio registry"
                + (config.getBoolean("stack.kafka.secure") ? ", SASL/SCRAM, ACLs and a user per role" : "") + ") ...");
        try (FreshStack stack = FreshStack.start(config)) {
            if (keep) {
                stack.keep();
            }
            try {
                return runLoop(config, stack, pis, dir, interrupted, t0);
            } finally {
                System.out.println(keep ? "stack left running: 'longpo monitor --once' shows this run, 'longpo down' stops it"
                        : "stack stopped (--keep leaves it running)");
            }
        }
    }

    private int runLoop(LongpoConfig config, FreshStack stack, Path pis, Path dir, AtomicBoolean interrupted, long t0)
            throws Exception {
        LongpoConfig cc = stack.clientConfig();
        KafkaClients clients = new KafkaClients(LoopRunner.forRole(cc, "monitor"));
        List<Path> files = writeCorpus(cc, pis, dir.resolve("corpus"));
        Ingestor.Report r;
        try (Ingestor ingestor = new Ingestor(new KafkaClients(LoopRunner.forRole(cc, "ingest")))) {
            r = ingestor.ingest(files);
        }
        System.out.printf("ingested %d documents (%d chunks) for %d iteration(s); %d rejected%n", r.documents(),
                r.chunks(), files.size(), r.rejected().size());
        RunState state = RunState.of(config, config.get("run.id"));
        RunView view = new RunView(state);
        Duration every = config.getDuration("demo.progress.ms");
        long deadline = t0 + TimeUnit.MINUTES.toNanos(config.getLong("demo.timeout.minutes"));
        String outcome;
        try (LoopRunner runner = new LoopRunner(cc, pis);
             TopicFollower events = new TopicFollower(clients, RunEvent.TOPICS)) {
            System.out.println("starting the stream processors and the workers (their log: " + dir.resolve("workers.log") + ")");
            runner.start();
            long nextStatus = System.nanoTime();
            while (true) {
                for (SpecificRecord e : events.poll(Duration.ofMillis(500))) {
                    state.accept(RunEvent.of(e));
                    report(e, config.get("run.id"), t0);
                }
                if (state.stopped()) {
                    outcome = state.anyIterationJudged() ? null
                            : "the run stopped before any iteration was evaluated: " + state.stopReason().orElse("");
                    break;
                }
                if (runner.failure().isPresent() || interrupted.get() || System.nanoTime() > deadline) {
                    outcome = runner.failure().orElse(interrupted.get() ? "interrupted"
                            : "timed out after " + config.getLong("demo.timeout.minutes") + " minutes (demo.timeout.minutes)");
                    break;
                }
                if (System.nanoTime() >= nextStatus) {
                    System.out.printf("[%s] %s%n", elapsed(t0), view.statusLine());
                    nextStatus = System.nanoTime() + every.toNanos();
                }
            }
            System.out.println("stopping the workers ...");
        }
        String table = view.table(state.promoted());
        Files.writeString(dir.resolve("table.txt"), table);
        Files.writeString(dir.resolve("monitor.txt"), view.view());
        System.out.println();
        System.out.println(outcome == null ? "before/after (run " + state.run() + "):" : "partial results (" + outcome + "):");
        System.out.print(table);
        String plots;
        try {
            plots = Plots.write(state, dir.resolve("plots")).size() + " files";
        } catch (RuntimeException e) {
            // stopped by a signal: Java2D may refuse to start while the JVM shuts down; the table is written
            plots = "not written: " + e.getMessage();
        }
        System.out.printf("%nplots: %s (%s); table: %s; elapsed %s%n", dir.resolve("plots"), plots,
                dir.resolve("table.txt"), elapsed(t0));
        return outcome == null ? 0 : interrupted.get() ? 130 : 1;
    }

    /**
     * One JSONL file per iteration: documents spread over the iteration's length range (2 L_s .. its
     * target, then the previous target .. the new one, as the fan-out selects them), demo.docs.per.sample
     * per sample of its budget.
     */
    static List<Path> writeCorpus(LongpoConfig c, Path pis, Path dir) throws IOException {
        LoopSettings s = LoopSettings.from(c, pis);
        List<Path> files = new ArrayList<>();
        for (int k = 1; k <= s.maxIterations(); k++) {
            int docs = (int) Math.ceil(LoopSettings.ofIteration(s.sampleBudgets(), k) * c.getDouble("demo.docs.per.sample"));
            Path f = dir.resolve("iteration-" + k + ".jsonl");
            CorpusGenerator.write(f, "demo-i" + k, docs, s.minLength(k) + 64, s.targetLength(k) - 64,
                    c.getInt("demo.fact.every"), c.getLong("demo.seed") + k);
            files.add(f);
        }
        return files;
    }

    private static void report(SpecificRecord e, String run, long t0) {
        if (e instanceof IterationEvent it && it.getRunId().equals(run)) {
            System.out.printf("[%s] controller: %s iteration %d (target %d tokens, theta %.0f, budget %d samples): %s%n",
                    elapsed(t0), it.getType(), it.getIteration(), it.getTargetLength(), it.getTheta1(), it.getSampleBudget(),
                    it.getReason());
        } else if (e instanceof Checkpoint c && c.getRunId().equals(run)) {
            System.out.printf("[%s] checkpoint %s (iteration %d, step %d) announced; the evaluator picks it up%n",
                    elapsed(t0), c.getModelVersion(), c.getIteration(), c.getStep());
        }
    }

    private static String elapsed(long t0) {
        long s = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        return String.format(Locale.ROOT, "%2d:%02d", s / 60, s % 60);
    }
}
