package dev.longpo.workers;

import ai.djl.Device;
import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.TopicPartitionOffset;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.avro.TrainingSample;
import dev.longpo.avro.Turn;
import dev.longpo.common.CheckpointStore;
import dev.longpo.common.DeadLetters;
import dev.longpo.common.Decoder;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.Telemetry;
import dev.longpo.common.TopicFollower;
import dev.longpo.events.RunScope;
import dev.longpo.events.Topics;
import dev.longpo.files.AtomicFiles;
import dev.longpo.model.AdamW;
import dev.longpo.model.Checkpoints;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Objective;
import dev.longpo.model.PreferenceSample;
import dev.longpo.model.TrainStep;
import dev.longpo.text.ChatFormat;
import dev.longpo.text.Tokenizer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToDoubleFunction;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The online LongPO trainer. It reads {@code training-samples} with its own offset bookkeeping: a
 * checkpoint holds the weights, the optimizer state, the step, the next offset of every partition and
 * the ledger of sample ids applied so far, and is written atomically. On start it restores the newest
 * checkpoint and seeks to its offsets, so the weights it goes on from have seen every sample before
 * those offsets exactly once and none after: whatever crashes, each sample updates the weights exactly
 * once. Checkpoints are published through the {@link CheckpointStore} of {@code checkpoint.store.uri}
 * (by default announced in place, as {@code file:} URIs). After each checkpoint its offsets are also committed to the group {@code longpo-trainer-<run>},
 * for lag tools only; a checkpoint written but not announced before a crash is announced on restart, and a
 * fresh run's initial model is announced as step 0 (the trainer alone writes {@code checkpoints}). Every optimizer step (accumulating {@code accumulate} samples) emits
 * {@code training-metrics}; every {@code checkpointEvery} steps, and when the input goes idle, a
 * checkpoint is written and announced on {@code checkpoints}. Samples generated in an iteration more
 * than {@code maxStaleness} iterations behind the newest one seen (in a sample or in the controller's
 * START on {@code iterations}) are skipped and counted: the pipeline makes more samples than an
 * iteration's budget, and without the START the leftovers of iteration k were trained, and counted, as
 * the first samples of iteration k+1.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /**
     * What a checkpoint records for the trainer besides weights and optimizer: the run and version of
     * the weights, the newest iteration seen, the next offset of every partition of
     * {@code training-samples}, and the ledger of sample ids applied so far (in order).
     */
    public record TrainerState(String runId, String modelVersion, int newestIteration, Map<Integer, Long> offsets,
                               List<String> ledger) {
    }
    /** Trainer settings. */
    public record Settings(String runId, Path checkpointRoot, Objective objective, Objective.Hyper hyper,
                           AdamW.Settings optimizer, int accumulate, int checkpointEvery, Duration idleCheckpoint,
                           int maxStaleness, boolean recompute, String baseVersion) {
        public Settings {
            if (runId == null || runId.isBlank() || checkpointRoot == null || objective == null || hyper == null
                    || optimizer == null || baseVersion == null || baseVersion.isBlank()) {
                throw new IllegalArgumentException("the trainer needs a run id, a checkpoint folder, an objective,"
                        + " its hyper-parameters, optimizer settings and the initial model's version");
            }
            if (accumulate < 1 || checkpointEvery < 1 || idleCheckpoint.isNegative() || maxStaleness < 0) {
                throw new IllegalArgumentException("trainer.accumulate and trainer.checkpoint.every must be >= 1, and"
                        + " the idle checkpoint time and trainer.max.staleness must not be negative");
            }
        }

        /** The {@code trainer.*} settings of run {@code run.id}. */
        public static Settings from(LongpoConfig c) {
            return new Settings(c.get("run.id"), c.getPath("trainer.checkpoint.dir"), Objective.parse(c.get("trainer.objective")),
                    new Objective.Hyper(c.getDouble("trainer.beta"), c.getDouble("trainer.lambda"),
                            c.getDouble("trainer.replay"), Objective.NllTokens.parse(c.get("trainer.nll.tokens")),
                            c.getDouble("trainer.anchor")),
                    AdamW.Settings.builder().setLearningRate(c.getDouble("trainer.lr"))
                            .setTotalSteps(c.getLong("trainer.total.steps")).optMaxGradNorm(c.getDouble("trainer.clip"))
                            .optWarmupSteps(c.getLong("trainer.warmup.steps")).optFrozen(c.get("trainer.frozen")).build(),
                    c.getInt("trainer.accumulate"), c.getInt("trainer.checkpoint.every"),
                    c.getDuration("trainer.idle.checkpoint.ms"), c.getInt("trainer.max.staleness"),
                    c.getBoolean("trainer.recompute"), c.get("worker.model.version"));
        }
    }

    private final KafkaClients clients;
    private final Settings s;
    private final Device device;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<String, SpecificRecord> producer;
    private final Decoder<TrainingSample> decoder;
    private final TopicFollower iterations;
    private final CheckpointStore store;
    /** The short-context anchor (the current iteration's reference model), with {@code trainer.anchor} > 0 only. */
    private final ModelSlot anchor;
    private LlamaModel model;
    private AdamW optimizer;
    private TrainStep<Objective.Metrics> trainStep;
    private Tokenizer tokenizer;
    private final Map<TopicPartition, Long> next = new HashMap<>();
    private final List<String> ledger = new ArrayList<>();
    private final List<String> pendingIds = new ArrayList<>();
    private long checkpointedStep = -1;
    private long skippedStale;
    private long skippedOtherRun;
    private int newestIteration;
    private String parentVersion;
    /** The checkpoint this trainer restored at start, if any. */
    private Optional<Path> restoredFrom = Optional.empty();
    /** The directory whose tokenizer files every checkpoint carries (the initial model's or the restored checkpoint's). */
    private Path tokenizerDir;
    private final Telemetry.Scope metrics;
    private Timer stepTimer;
    private Counter trainedTokens;
    /** The newest optimizer step's metrics, as published on {@code training-metrics} (null before the first step). */
    private volatile TrainingMetrics last;

    public Trainer(KafkaClients clients, Settings settings, Path initialModel, Device device) throws IOException {
        this.clients = clients;
        this.s = settings;
        this.device = device;
        this.consumer = clients.rawConsumer("longpo-trainer-" + settings.runId(), "trainer-" + settings.runId());
        this.producer = clients.producer("trainer-" + settings.runId(), null);
        this.decoder = new Decoder<>(clients, Topics.TRAINING_SAMPLES, "trainer");
        this.iterations = new TopicFollower(clients, List.of(Topics.ITERATIONS));
        this.store = CheckpointStore.forPublishing(clients.config());
        this.anchor = settings.hyper().anchor() > 0
                ? new ModelSlot(clients, settings.runId(), initialModel, settings.baseVersion(), device) : null;
        writableCheckpointFolder();
        restore(initialModel);
        followIterations(iterations.readToEnd(Duration.ofSeconds(60)));
        announceIfUnannounced(initialModel);
        this.metrics = Telemetry.scope("stage", "train", "instance", settings.runId());
        registerMetrics();
    }

    /** The trainer's meters: its clients, step latency, trained tokens and the newest step's objective terms. */
    private void registerMetrics() {
        metrics.bind(consumer);
        metrics.bind(producer);
        stepTimer = metrics.timer("longpo.trainer.step", "compute of one optimizer step: forward and backward of its samples, then AdamW");
        trainedTokens = metrics.counter("longpo.trainer.tokens", "tokens trained on (rate = tokens/s)");
        metrics.gauge("longpo.trainer.optimizer.step", "optimizer steps of the current weights", this, t -> t.step());
        metrics.gauge("longpo.trainer.iteration", "the newest iteration the trainer has seen", this, t -> t.newestIteration);
        metrics.counter("longpo.trainer.samples", "samples applied to the current weights", this, t -> t.ledger.size());
        metrics.counter("longpo.trainer.stale.skipped", "samples of older iterations skipped", this, t -> t.skippedStale);
        metrics.counter("longpo.trainer.other.run.skipped", "samples of other runs skipped", this,
                t -> t.skippedOtherRun);
        Map<String, ToDoubleFunction<TrainingMetrics>> terms = new java.util.LinkedHashMap<>();
        terms.put("loss", TrainingMetrics::getLoss);
        terms.put("nll", TrainingMetrics::getNll);
        terms.put("preference.loss", TrainingMetrics::getPrefLoss);
        terms.put("reward.chosen", TrainingMetrics::getRewardChosen);
        terms.put("reward.rejected", TrainingMetrics::getRewardRejected);
        terms.put("reward.accuracy", TrainingMetrics::getRewardAccuracy);
        terms.put("reward.margin", TrainingMetrics::getMargin);
        terms.put("grad.norm", TrainingMetrics::getGradNorm);
        terms.put("learning.rate", TrainingMetrics::getLearningRate);
        terms.put("tokens.per.second", TrainingMetrics::getTokensPerSecond);
        terms.forEach((name, f) -> metrics.gauge("longpo.trainer." + name, "the newest optimizer step's " + name
                + " (NaN before the first step)", this, t -> t.last == null ? Double.NaN : f.applyAsDouble(t.last)));
    }

    /** Fails before anything is trained when checkpoints cannot be written (every trained step would be lost). */
    private void writableCheckpointFolder() {
        Path folder = s.checkpointRoot().resolve(s.runId());
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the checkpoint folder " + folder + " (trainer.checkpoint.dir): "
                    + e, e);
        }
        if (!Files.isWritable(folder)) {
            throw new IllegalStateException("the checkpoint folder " + folder + " is not writable (trainer.checkpoint.dir)");
        }
    }

    /**
     * What this trainer announces that {@code checkpoints} does not have yet. A fresh run's initial model
     * (pi_S, version {@code worker.model.version}) is announced as step 0 of iteration 0, so the evaluator
     * scores it with the same suite as every checkpoint and the controller's gate has pi_S's scores: the
     * trainer alone writes {@code checkpoints}. A trainer killed after writing a checkpoint and before
     * announcing it left a checkpoint nobody evaluates: the restored checkpoint is announced now.
     */
    private void announceIfUnannounced(Path initialModel) throws IOException {
        String version = restoredFrom.isPresent() ? version(optimizer.stepCount()) : s.baseVersion();
        boolean announced;
        try (TopicFollower published = new TopicFollower(clients, List.of(Topics.CHECKPOINTS))) {
            announced = published.readToEnd(Duration.ofSeconds(60)).stream().anyMatch(r -> r instanceof Checkpoint c
                    && c.getRunId().equals(s.runId()) && c.getModelVersion().equals(version));
        }
        if (announced) {
            return;
        }
        if (restoredFrom.isEmpty()) {
            Path weights = initialModel.resolve(CheckpointStore.WEIGHTS);
            publishAndAnnounce(initialModel, s.baseVersion(), version, AtomicFiles.sha256(weights), null, 0);
            LOG.info("announced the initial model {} of run {} for evaluation", version, s.runId());
            return;
        }
        LOG.info("checkpoint {} was written but never announced; announcing it now", restoredFrom.get());
        announce(restoredFrom.get(), AtomicFiles.sha256(restoredFrom.get().resolve(CheckpointStore.WEIGHTS)), null);
    }

    /** Takes the newest iteration the controller started for this run as the newest seen. */
    private void followIterations(List<SpecificRecord> events) {
        for (SpecificRecord e : events) {
            if (e instanceof IterationEvent it && it.getRunId().equals(s.runId()) && it.getType() == IterationEventType.START
                    && it.getIteration() > newestIteration) {
                newestIteration = it.getIteration();
                LOG.info("iteration {} started: samples of iteration {} and older are skipped from now on",
                        newestIteration, newestIteration - s.maxStaleness() - 1);
            }
        }
    }

    /** The newest complete checkpoint directory of this run, if any. */
    public static Optional<Path> newest(Path root, String runId) throws IOException {
        return Checkpoints.newest(root.resolve(runId), "step-");
    }

    private void restore(Path initialModel) throws IOException {
        Optional<Path> latest = newest(s.checkpointRoot(), s.runId());
        restoredFrom = latest;
        List<TopicPartition> parts = consumer.partitionsFor(Topics.TRAINING_SAMPLES.name()).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(parts);
        if (latest.isPresent()) {
            Checkpoints.Restored<TrainerState> r = Checkpoints.load(latest.get(), device, s.optimizer(),
                    TrainerState.class);
            model = r.model();
            optimizer = r.optimizer();
            tokenizer = ModelStore.tokenizer(latest.get());
            tokenizerDir = latest.get();
            TrainerState st = r.state();
            st.offsets().forEach((p, off) -> next.put(new TopicPartition(Topics.TRAINING_SAMPLES.name(), p), off));
            ledger.addAll(st.ledger());
            checkpointedStep = optimizer.stepCount();
            newestIteration = st.newestIteration();
            parentVersion = st.modelVersion();
            LOG.info("restored {} (step {}, {} samples applied)", latest.get(), checkpointedStep, ledger.size());
        } else {
            ModelStore.Loaded loaded = ModelStore.load(initialModel, device);
            model = loaded.model();
            tokenizer = loaded.tokenizer();
            tokenizerDir = initialModel;
            optimizer = new AdamW(model, s.optimizer());
        }
        for (TopicPartition tp : parts) {
            Long off = next.get(tp);
            if (off == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, off);
            }
        }
        model.setTrainable(true);
        model.setRecompute(s.recompute());
        trainStep = new TrainStep<>(model, optimizer);
    }

    public long step() {
        return optimizer.stepCount();
    }

    /** Sample ids applied to the current weights, in order (the exactly-once ledger). */
    public List<String> ledger() {
        return List.copyOf(ledger);
    }

    public long skippedStale() {
        return skippedStale;
    }

    /** Samples of other runs read and skipped (see {@link RunScope}). */
    public long skippedOtherRun() {
        return skippedOtherRun;
    }

    /**
     * Trains until {@code stop} is set or, with {@code stopWhenIdle}, the input stays empty for the idle time.
     * The stop is checked before every sample, so stopping waits for one sample's step at most.
     */
    public void run(AtomicBoolean stop, boolean stopWhenIdle) throws IOException {
        ChatFormat fmt = ChatFormat.of(tokenizer);
        List<Objective.Metrics> stepMetrics = new ArrayList<>();
        long stepTokens = 0;
        long stepStart = System.nanoTime();
        long computeNanos = 0;
        long lastData = System.nanoTime();
        while (!stop.get()) {
            var polled = consumer.poll(Duration.ofMillis(200));
            followIterations(iterations.poll(Duration.ZERO));
            if (polled.isEmpty()) {
                boolean idle = System.nanoTime() - lastData > s.idleCheckpoint().toNanos();
                if (idle && optimizer.stepCount() > checkpointedStep && pendingIds.isEmpty()) {
                    checkpoint();
                }
                if (idle && stopWhenIdle && pendingIds.isEmpty()) {
                    return;
                }
                continue;
            }
            lastData = System.nanoTime();
            for (ConsumerRecord<byte[], byte[]> r : polled) {
                if (stop.get()) {
                    // the rest of the poll is not trained: a restart resumes from the last checkpoint's offsets
                    LOG.info("stopping at step {}; samples after checkpoint step {} are trained again on restart",
                            optimizer.stepCount(), checkpointedStep);
                    return;
                }
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                Decoder.Result<TrainingSample> d = decoder.decode(r);
                if (!d.ok()) {
                    DeadLetters.send(producer, d.deadLetter());
                } else if (!RunScope.takes(s.runId(), d.value().getRunId())) {
                    skippedOtherRun++; // another run's sample: its own trainer trains it
                } else if (isStale(d.value())) {
                    skippedStale++;
                } else {
                    PreferenceSample ps;
                    long tokens;
                    try {
                        ps = toSample(d.value());
                        tokens = ps.tokenCount(fmt); // lays out the conversations: a sample that cannot be is refused here
                    } catch (IllegalArgumentException e) {
                        DeadLetters.send(producer, DeadLetters.of("train", "sample " + d.value().getSampleId()
                                + " cannot be laid out for training: " + e.getMessage(), e).fromRecord(r.topic(),
                                r.partition(), r.offset(), r.key(), r.value()).build());
                        next.put(tp, r.offset() + 1);
                        continue;
                    }
                    model.setRopeTheta(d.value().getTheta1());
                    long t0 = System.nanoTime();
                    stepMetrics.add(trainStep.backward(ps.forward(s.objective(), s.hyper(), model, fmt,
                            anchorFor(d.value())), 1.0 / s.accumulate()));
                    computeNanos += System.nanoTime() - t0;
                    stepTokens += tokens;
                    pendingIds.add(d.value().getSampleId());
                }
                next.put(tp, r.offset() + 1);
                if (pendingIds.size() >= s.accumulate()) {
                    long t0 = System.nanoTime();
                    AdamW.StepInfo info = trainStep.step();
                    stepTimer.record(Duration.ofNanos(computeNanos + System.nanoTime() - t0));
                    computeNanos = 0;
                    double secs = (System.nanoTime() - stepStart) / 1e9;
                    trainedTokens.increment(stepTokens);
                    emitMetrics(info, stepMetrics, stepTokens / secs);
                    ledger.addAll(pendingIds);
                    pendingIds.clear();
                    stepMetrics.clear();
                    stepTokens = 0;
                    stepStart = System.nanoTime();
                    if (optimizer.stepCount() % s.checkpointEvery() == 0) {
                        checkpoint();
                    }
                }
            }
        }
    }

    /**
     * The short-context anchor for {@code t} (null without one): the reference model of the newest iteration
     * started, at the sample's theta0, the base its short contexts were scored at.
     */
    private LlamaModel anchorFor(TrainingSample t) throws IOException {
        if (anchor == null) {
            return null;
        }
        anchor.refresh();
        LlamaModel m = anchor.model().model();
        m.setRopeTheta(t.getTheta0());
        return m;
    }

    /** A sample from an iteration more than maxStaleness behind the newest one seen is stale. */
    private boolean isStale(TrainingSample t) {
        newestIteration = Math.max(newestIteration, t.getIteration());
        return newestIteration - t.getIteration() > s.maxStaleness();
    }

    /** A training sample as the trainer trains on it (short contexts kept for replay). */
    public static PreferenceSample toSample(TrainingSample t) {
        List<String> qs = new ArrayList<>();
        List<int[]> chosen = new ArrayList<>();
        List<int[]> rejected = new ArrayList<>();
        List<String> shortContexts = new ArrayList<>();
        double rc = 0;
        double rr = 0;
        double rcl = 0;
        double rrl = 0;
        boolean hasLong = true;
        for (Turn turn : t.getTurns()) {
            qs.add(turn.getInstruction());
            shortContexts.add(turn.getShortContext());
            chosen.add(turn.getChosenTokenIds().stream().mapToInt(Integer::intValue).toArray());
            rejected.add(turn.getRejectedTokenIds().stream().mapToInt(Integer::intValue).toArray());
            rc += turn.getRefChosenLogp();
            rr += turn.getRefRejectedLogp();
            hasLong &= turn.getRefChosenLogpLong() != null && turn.getRefRejectedLogpLong() != null;
            rcl += turn.getRefChosenLogpLong() == null ? 0 : turn.getRefChosenLogpLong();
            rrl += turn.getRefRejectedLogpLong() == null ? 0 : turn.getRefRejectedLogpLong();
        }
        if (t.getLongContext() == null) {
            throw new IllegalArgumentException("sample " + t.getSampleId() + " has no inline long context");
        }
        return new PreferenceSample(t.getSampleId(), t.getLongContext(), qs, chosen, rejected, rc, rr,
                hasLong ? rcl : Double.NaN, hasLong ? rrl : Double.NaN, shortContexts);
    }

    private void emitMetrics(AdamW.StepInfo info, List<Objective.Metrics> ms, double tokensPerSecond) {
        double n = Math.max(1, ms.size());
        TrainingMetrics tm = TrainingMetrics.newBuilder().setRunId(s.runId()).setStep(info.step()).setIteration(newestIteration)
                .setModelVersion(version(info.step())).setObjective(s.objective().name())
                .setLoss(ms.stream().mapToDouble(Objective.Metrics::loss).sum() / n)
                .setNll(ms.stream().mapToDouble(Objective.Metrics::nll).sum() / n)
                .setPrefLoss(ms.stream().mapToDouble(Objective.Metrics::prefLoss).sum() / n)
                .setRewardChosen(ms.stream().mapToDouble(Objective.Metrics::rewardChosen).sum() / n)
                .setRewardRejected(ms.stream().mapToDouble(Objective.Metrics::rewardRejected).sum() / n)
                .setRewardAccuracy(ms.stream().mapToDouble(Objective.Metrics::accuracy).sum() / n)
                .setMargin(ms.stream().mapToDouble(Objective.Metrics::margin).sum() / n)
                .setLearningRate(info.learningRate()).setGradNorm(info.gradNorm()).setTokensPerSecond(tokensPerSecond)
                .setSampleIds(List.copyOf(pendingIds)).setCreatedAt(Instant.now()).build();
        last = tm;
        producer.send(new ProducerRecord<>(Topics.TRAINING_METRICS.name(), s.runId(), tm));
    }

    private String version(long step) {
        return s.runId() + "-step-" + step;
    }

    /**
     * Writes the checkpoint of the current step (atomically: a failed write leaves no checkpoint to load),
     * announces it, and commits the consumer offsets it covers to the trainer's group, so standard lag
     * tools see the trainer's progress (a restart still follows the checkpoint, not the group).
     */
    private void checkpoint() throws IOException {
        long step = optimizer.stepCount();
        Path dir = s.checkpointRoot().resolve(s.runId()).resolve(String.format("step-%08d", step));
        Map<Integer, Long> offsets = new TreeMap<>();
        next.forEach((tp, off) -> offsets.put(tp.partition(), off));
        String sha;
        try {
            sha = Checkpoints.save(dir, model, optimizer,
                    new TrainerState(s.runId(), version(step), newestIteration, offsets, List.copyOf(ledger)), tokenizerDir);
        } catch (IOException e) {
            throw new IOException("cannot write the checkpoint of step " + step + " to " + dir
                    + " (trainer.checkpoint.dir); the steps since the last checkpoint will be trained again: " + e, e);
        }
        announce(dir, sha, parentVersion);
        checkpointedStep = step;
        commitOffsets();
        LOG.info("checkpoint step {} ({} samples applied) -> {}", step, ledger.size(), dir);
    }

    /**
     * Publishes the checkpoint in {@code dir} (the current step's) to the checkpoint store and announces it on
     * {@code checkpoints}; {@code parent} may be null.
     */
    private void announce(Path dir, String sha, String parent) throws IOException {
        publishAndAnnounce(dir, dir.getFileName().toString(), version(optimizer.stepCount()), sha, parent,
                newestIteration);
    }

    private void publishAndAnnounce(Path dir, String name, String version, String sha, String parent, int iteration)
            throws IOException {
        long step = optimizer.stepCount();
        java.net.URI uri;
        try {
            uri = store.publish(dir, s.runId(), name);
        } catch (IOException e) {
            throw new IOException("checkpoint " + dir + " is written but could not be published (checkpoint.store.uri);"
                    + " a restart publishes and announces it: " + e.getMessage(), e);
        }
        List<TopicPartitionOffset> tpo = new ArrayList<>();
        next.forEach((tp, off) -> tpo.add(new TopicPartitionOffset(tp.topic(), tp.partition(), off)));
        producer.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), s.runId(), Checkpoint.newBuilder()
                .setRunId(s.runId()).setModelVersion(version).setParentVersion(parent)
                .setUri(uri.toString()).setSha256(sha).setSizeBytes(Files.size(dir.resolve(CheckpointStore.WEIGHTS)))
                .setStep(step).setIteration(iteration).setTheta(model.ropeTheta())
                .setMaxLength(model.config().maxPositionEmbeddings()).setOffsets(tpo).setCreatedAt(Instant.now()).build()));
        producer.flush();
    }

    /** The checkpoint's offsets as the group's committed offsets; advisory, so a failure is only logged. */
    private void commitOffsets() {
        Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
        next.forEach((tp, off) -> commit.put(tp, new OffsetAndMetadata(off, version(optimizer.stepCount()))));
        try {
            consumer.commitSync(commit, Duration.ofSeconds(30));
        } catch (KafkaException e) {
            LOG.warn("could not commit the checkpoint's offsets to the trainer's group (lag tools will lag): {}",
                    e.toString());
        }
    }

    @Override
    public void close() {
        metrics.close();
        producer.close(Duration.ofSeconds(10));
        consumer.close(Duration.ofSeconds(10));
        iterations.close();
        optimizer.close();
        model.close();
        if (anchor != null) {
            anchor.close();
        }
    }
}
