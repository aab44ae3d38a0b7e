package dev.longpo.experiments;

import ai.djl.Device;
import dev.longpo.avro.TrainingSample;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.TopicScanner;
import dev.longpo.events.Topics;
import dev.longpo.loop.LoopRunner;
import dev.longpo.loop.LoopSettings;
import dev.longpo.loop.Role;
import dev.longpo.model.AdamW;
import dev.longpo.model.Generator;
import dev.longpo.model.ModelAnswerer;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Objective;
import dev.longpo.model.PreferenceSample;
import dev.longpo.model.SelfDistillation;
import dev.longpo.model.TrainStep;
import dev.longpo.producers.Ingestor;
import dev.longpo.tasks.CorpusGenerator;
import dev.longpo.tasks.Evaluator;
import dev.longpo.text.ChatFormat;
import dev.longpo.workers.ModelRoles;
import dev.longpo.workers.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The paper's Figure 4 protocol in miniature. One set of preference pairs is generated through the real
 * pipeline (embedded broker and registry, the stream processors, the controller's iteration 1, the
 * instruction and response generators, with DPO's long-context reference), and then every arm (an
 * objective, optionally with short-context replay) is trained from the same pi_S on the same samples,
 * in topic order, for the same number of steps, through the trainer's own step
 * ({@link PreferenceSample#forward}, {@link TrainStep}, the trainer's optimizer settings), and
 * evaluated every {@code evalEvery} steps with the evaluator worker's suite.
 *
 * <p>It is resumable: the samples ({@code samples.avro}), pi_S's evaluation and each finished arm
 * ({@code arms/<arm>.json}) are written as they are done, and a rerun with the same output folder
 * skips what is there.
 */
public final class Reproduction {
    private static final Logger LOG = LoggerFactory.getLogger(Reproduction.class);

    /**
     * One arm of the comparison: an objective, and the weights of short-context replay and of the
     * short-context anchor to pi_S on top (0 = none); or, with no objective, on-policy self-distillation
     * ({@link SelfDistillation}, the arm {@code opsd}).
     */
    public record Arm(String name, Objective objective, double replay, double anchor) {
        /** The on-policy self-distillation arm's name. */
        public static final String OPSD = "opsd";

        /**
         * {@code longpo}, {@code sft_chosen}, ... (an {@link Objective}), optionally followed by {@code +replay}
         * and/or {@code +anchor}; or {@code opsd}.
         */
        public static Arm parse(String spec, double replayWeight, double anchorWeight) {
            String s = spec.trim().toLowerCase(Locale.ROOT);
            String[] parts = s.split("\\+");
            double replay = 0;
            double anchor = 0;
            for (int i = 1; i < parts.length; i++) {
                switch (parts[i]) {
                    case "replay" -> replay = replayWeight;
                    case "anchor" -> anchor = anchorWeight;
                    default -> throw new IllegalArgumentException("unknown arm option '+" + parts[i] + "' in '" + spec
                            + "': +replay or +anchor");
                }
            }
            if (parts[0].equals(OPSD)) {
                if (anchor > 0) {
                    throw new IllegalArgumentException("the opsd arm takes no +anchor: its teacher is pi_S already");
                }
                return new Arm(s, null, replay, 0);
            }
            return new Arm(s, Objective.parse(parts[0]), replay, anchor);
        }

        /** True for the self-distillation arm, which trains on its own rollouts, not on the pairs' answers. */
        public boolean selfDistillation() {
            return objective == null;
        }

        /** The objective's name, or {@code OPSD}. */
        public String method() {
            return selfDistillation() ? "OPSD" : objective.name();
        }
    }

    /**
     * What to run: the configuration (the {@code reproduce} profile over the defaults), pi_S, the output
     * folder, the samples to train on, how many passes over them each arm makes (the same order every
     * pass), how often to evaluate, the arms, and how long the pipeline may go without producing anything
     * before the run proceeds with what it has.
     */
    public record Spec(LongpoConfig config, Path baseModel, Path out, int samples, int epochs, int evalEvery,
                       List<Arm> arms, Duration pipelineStall) {
        public Spec {
            if (samples < 1 || epochs < 1 || evalEvery < 1 || arms.isEmpty()) {
                throw new IllegalArgumentException("a reproduction needs samples, at least one epoch, an evaluation"
                        + " interval and arms");
            }
        }
    }

    /** One optimizer step of an arm: the objective's metrics. */
    public record Step(int step, double loss, double nll, double prefLoss, double rewardChosen, double rewardRejected,
                       double accuracy, double margin) {
        static Step of(int step, Objective.Metrics m) {
            return new Step(step, m.loss(), m.nll(), m.prefLoss(), m.rewardChosen(), m.rewardRejected(), m.accuracy(),
                    m.margin());
        }
    }

    /** One evaluation of an arm after {@code step} steps. */
    public record Eval(int step, Map<String, Map<Integer, Double>> table, Map<Integer, Double> longAverage,
                       double shortScore, int effectiveLength, double seconds) {
        static Eval of(int step, Evaluator.Report r, double seconds) {
            return new Eval(step, r.table(), r.longAverage(), r.shortScore(), r.effectiveLength(), seconds);
        }
    }

    /** An arm's whole record. */
    public record ArmResult(String arm, String objective, double replay, List<Step> steps, List<Eval> evals,
                            double trainSeconds) {
        public Eval last() {
            return evals.get(evals.size() - 1);
        }
    }

    /** What the pipeline made: documents in, pairs and samples out, and how many turns were degenerate. */
    public record Pipeline(long documents, int samples, int turns, int degenerateTurns, long deadLetters, double theta0,
                           double theta1, int shortWindow, int targetLength, double seconds) {
    }

    /** The whole reproduction: the pipeline's output, pi_S's evaluation and every arm. */
    public record Result(Pipeline pipeline, Eval base, List<ArmResult> arms) {
    }

    private final Spec spec;
    private final Device device;

    public Reproduction(Spec spec) {
        this.spec = spec;
        this.device = ModelRoles.device(spec.config());
    }

    /** Runs (or resumes) every stage; {@code stop} ends it early between stages and steps. */
    public Result run(AtomicBoolean stop) throws Exception {
        Files.createDirectories(spec.out().resolve("arms"));
        ResultStore store = new ResultStore(spec.out());
        Pipeline pipeline = store.pipeline().orElse(null);
        List<TrainingSample> samples;
        if (pipeline == null || !store.hasSamples()) {
            long t0 = System.nanoTime();
            Generated g = generate(stop);
            samples = g.samples();
            pipeline = summarize(g, (System.nanoTime() - t0) / 1e9);
            store.saveSamples(samples, pipeline);
        } else {
            samples = store.samples();
            LOG.info("resuming with the {} samples of {}", samples.size(), spec.out().resolve("samples.avro"));
        }
        List<PreferenceSample> train = samples.stream().map(Trainer::toSample).toList();
        Evaluator.Settings eval = ModelRoles.evaluation(spec.config());
        Eval base = store.base().orElse(null);
        if (base == null) {
            base = evaluateBase(eval, pipeline.theta1());
            store.saveBase(base);
        }
        List<ArmResult> arms = new ArrayList<>();
        for (Arm arm : spec.arms()) {
            if (stop.get()) {
                break;
            }
            ArmResult done = store.arm(arm.name()).orElse(null);
            if (done == null) {
                done = train(arm, train, pipeline, base, eval, stop);
                if (done == null) {
                    break;
                }
                store.saveArm(done);
            } else {
                LOG.info("arm {} was done before: {}", arm.name(), spec.out().resolve("arms/" + arm.name() + ".json"));
            }
            arms.add(done);
        }
        return new Result(pipeline, base, arms);
    }

    /** What the pipeline stage made. */
    private record Generated(List<TrainingSample> samples, long documents, long deadLetters) {
    }

    /** Generates the preference pairs through the real pipeline: iteration 1's training samples. */
    private Generated generate(AtomicBoolean stop) throws Exception {
        LongpoConfig config = spec.config();
        try (FreshStack stack = FreshStack.start(config)) {
            LongpoConfig cc = stack.clientConfig().with(Map.of("loop.max.iterations", "1", "loop.stall.ms", "0",
                    "loop.sample.budget", String.valueOf(Integer.MAX_VALUE / 2), "respond.long.reference", "true"));
            KafkaClients clients = new KafkaClients(cc);
            LoopSettings ls = LoopSettings.from(cc, spec.baseModel());
            int docs = (int) Math.ceil(spec.samples() * cc.getDouble("demo.docs.per.sample"));
            Path corpus = spec.out().resolve("corpus.jsonl");
            CorpusGenerator.write(corpus, "repro", docs, ls.minLength(1) + 64, ls.targetLength(1) - 64,
                    cc.getInt("demo.fact.every"), cc.getLong("demo.seed"));
            long documents;
            try (Ingestor ingestor = new Ingestor(clients)) {
                Ingestor.Report r = ingestor.ingest(List.of(corpus));
                documents = r.documents();
                LOG.info("ingested {} documents ({} chunks) at {}..{} tokens for a target of {}", r.documents(), r.chunks(),
                        ls.minLength(1) + 64, ls.targetLength(1) - 64, ls.targetLength(1));
            }
            try (LoopRunner runner = new LoopRunner(cc, spec.baseModel(), List.of(Role.CONTROL, Role.INSTRUCT, Role.RESPOND))) {
                runner.start();
                awaitSamples(clients, runner, stop);
            }
            List<TrainingSample> out = new ArrayList<>();
            var serde = clients.serde(Topics.TRAINING_SAMPLES);
            TopicScanner.scan(clients, Topics.TRAINING_SAMPLES.name(), Duration.ofMinutes(2), r -> {
                TrainingSample s = serde.deserialize(r.topic(), r.value());
                if (s != null && s.getIteration() == 1 && out.size() < spec.samples()) {
                    out.add(s);
                }
            });
            long dead = count(clients, Topics.DEAD_LETTER.name());
            if (out.isEmpty()) {
                throw new IllegalStateException("the pipeline produced no training sample (" + dead + " dead letters);"
                        + " see the log");
            }
            return new Generated(out, documents, dead);
        }
    }

    /**
     * Waits until the pipeline has made the samples asked for, a worker failed, or nothing moved (pairs or
     * samples) for {@code pipelineStall}: progress, not a fixed deadline, so a slow machine finishes later.
     */
    private void awaitSamples(KafkaClients clients, LoopRunner runner, AtomicBoolean stop) throws InterruptedException {
        long lastProgress = System.nanoTime();
        long seen = -1;
        while (!stop.get() && runner.failure().isEmpty()) {
            long samples = count(clients, Topics.TRAINING_SAMPLES.name());
            long pairs = count(clients, Topics.PREFERENCE_PAIRS.name());
            if (samples >= spec.samples()) {
                return;
            }
            if (samples + pairs != seen) {
                seen = samples + pairs;
                lastProgress = System.nanoTime();
                LOG.info("pipeline: {} preference pairs, {} of {} training samples", pairs, samples, spec.samples());
            } else if (System.nanoTime() - lastProgress > spec.pipelineStall().toNanos()) {
                LOG.warn("pipeline: nothing new for {} s; going on with {} samples", spec.pipelineStall().toSeconds(), samples);
                return;
            }
            Thread.sleep(5000);
        }
        if (runner.failure().isPresent()) {
            throw new IllegalStateException("the pipeline stopped: " + runner.failure().get());
        }
    }

    private static long count(KafkaClients clients, String topic) {
        return TopicScanner.scan(clients, topic, Duration.ofMinutes(1), r -> { });
    }

    private Pipeline summarize(Generated g, double seconds) throws IOException {
        int turns = 0;
        int degenerate = 0;
        for (TrainingSample s : g.samples()) {
            for (var t : s.getTurns()) {
                turns++;
                if (t.getChosenTokenIds().equals(t.getRejectedTokenIds())) {
                    degenerate++;
                }
            }
        }
        LoopSettings ls = LoopSettings.from(spec.config(), spec.baseModel());
        TrainingSample first = g.samples().get(0);
        return new Pipeline(g.documents(), g.samples().size(), turns, degenerate, g.deadLetters(), first.getTheta0(),
                first.getTheta1(), ls.shortWindow(), ls.targetLength(1), seconds);
    }

    private Eval evaluateBase(Evaluator.Settings eval, double theta1) throws IOException {
        try (ModelStore.Loaded m = ModelStore.load(spec.baseModel(), device)) {
            m.model().setRopeTheta(theta1);
            long t0 = System.nanoTime();
            Evaluator.Report r = Evaluator.run(new ModelAnswerer(m.model(), m.tokenizer()), eval);
            LOG.info("pi_S at theta1 {}:\n{}", theta1, r.tableText());
            return Eval.of(0, r, (System.nanoTime() - t0) / 1e9);
        }
    }

    /** Trains one arm from pi_S over the samples; null when stopped before it finished. */
    private ArmResult train(Arm arm, List<PreferenceSample> samples, Pipeline pipeline, Eval base, Evaluator.Settings eval,
                            AtomicBoolean stop) throws IOException {
        double theta1 = pipeline.theta1();
        int total = samples.size() * spec.epochs();
        Trainer.Settings ts = Trainer.Settings.from(spec.config().with("trainer.total.steps", total));
        Objective.Hyper hyper = ts.hyper().withReplay(arm.replay()).withAnchor(arm.anchor());
        List<Step> steps = new ArrayList<>();
        List<Eval> evals = new ArrayList<>(List.of(base));
        double trainSecs = 0;
        try (ModelStore.Loaded m = ModelStore.load(spec.baseModel(), device);
             ModelStore.Loaded teacher = arm.selfDistillation() || arm.anchor() > 0
                     ? ModelStore.load(spec.baseModel(), device) : null;
             AdamW opt = new AdamW(m.model(), ts.optimizer())) {
            m.model().setRopeTheta(theta1);
            m.model().setRecompute(ts.recompute());
            if (teacher != null) {
                teacher.model().setRopeTheta(pipeline.theta0());
            }
            ChatFormat fmt = ChatFormat.of(m.tokenizer());
            TrainStep<Objective.Metrics> step = new TrainStep<>(m.model(), opt);
            for (int i = 0; i < total; i++) {
                if (stop.get()) {
                    return null;
                }
                long t0 = System.nanoTime();
                PreferenceSample sample = samples.get(i % samples.size());
                TrainStep.Forward<Objective.Metrics> forward = arm.selfDistillation()
                        ? SelfDistillation.forward(SelfDistillation.rollout(sample, m.model(), teacher.model(),
                        pipeline.theta0(), fmt, onPolicy(i)), m.model(), fmt)
                        : sample.forward(arm.objective(), hyper, m.model(), fmt, teacher == null ? null : teacher.model());
                Objective.Metrics metrics = step.backward(forward, 1.0);
                step.step();
                trainSecs += (System.nanoTime() - t0) / 1e9;
                steps.add(Step.of(i + 1, metrics));
                if ((i + 1) % spec.evalEvery() == 0 || i + 1 == total) {
                    long e0 = System.nanoTime();
                    Evaluator.Report r = Evaluator.run(new ModelAnswerer(m.model(), m.tokenizer()), eval);
                    evals.add(Eval.of(i + 1, r, (System.nanoTime() - e0) / 1e9));
                    LOG.info(String.format(Locale.ROOT, "%s after %d of %d steps (%.0f s training): long %s, short %.2f",
                            arm.name(), i + 1, total, trainSecs, Arrays.toString(r.longAverage().values().stream()
                                    .mapToDouble(Double::doubleValue).map(v -> Math.round(v * 100) / 100.0).toArray()),
                            r.shortScore()));
                }
            }
        }
        return new ArmResult(arm.name(), arm.method(), arm.replay(), steps, evals, trainSecs);
    }

    /** The self-distillation arm's sampling: the policy's own distribution (temperature 1), seeded by the step. */
    private Generator.Settings onPolicy(int step) {
        return Generator.Settings.builder().maxNewTokens(spec.config().getInt("respond.max.new.tokens")).temperature(1.0)
                .seed(step).build();
    }
}
