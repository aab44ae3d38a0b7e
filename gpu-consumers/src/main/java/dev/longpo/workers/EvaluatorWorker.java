package dev.longpo.workers;

import ai.djl.Device;
import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.common.CheckpointStore;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.model.ModelAnswerer;
import dev.longpo.model.ModelStore;
import dev.longpo.tasks.Evaluator;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code checkpoints} -> {@code eval-results}: loads each announced checkpoint (after checking its
 * SHA-256), runs the configured subset of the task suite at the checkpoint's RoPE base and publishes
 * one EvalResult per task, length (and NIAH depth), in the same transaction as the consumed offset.
 * A checkpoint whose weights do not match goes to {@code dead-letter}; another run's checkpoints are
 * left to that run's evaluator.
 */
public final class EvaluatorWorker extends TransactionalWorker<Checkpoint> {
    private final Evaluator.Settings settings;
    private final Device device;
    private final ai.djl.ndarray.types.DataType dtype;

    public EvaluatorWorker(KafkaClients clients, String instanceId, Evaluator.Settings settings, Device device) {
        this(clients, instanceId, settings, device, ai.djl.ndarray.types.DataType.FLOAT32);
    }

    /** An evaluator whose models are loaded in {@code dtype} ({@code model.dtype}: float32 or float16). */
    public EvaluatorWorker(KafkaClients clients, String instanceId, Evaluator.Settings settings, Device device,
                           ai.djl.ndarray.types.DataType dtype) {
        super(clients, Topics.CHECKPOINTS, instanceId, "eval", 1);
        this.settings = settings;
        this.device = device;
        this.dtype = dtype;
    }

    /** The events of one evaluation report of run {@code run} ("" for a model outside any run). */
    public static List<EvalResult> results(Evaluator.Report r, String run, String version, int iteration, String uri) {
        List<EvalResult> out = new ArrayList<>();
        for (Evaluator.Cell c : r.cells()) {
            out.add(EvalResult.newBuilder().setRunId(run).setModelVersion(version).setIteration(iteration).setTask(c.task())
                    .setLength(c.length()).setDepth(c.depth() < 0 ? null : c.depth()).setScore(c.score()).setN(c.n())
                    .setCheckpointUri(uri).setCreatedAt(Instant.now()).build());
        }
        return out;
    }

    @Override
    protected CharSequence runOf(Checkpoint checkpoint) {
        return checkpoint.getRunId();
    }

    @Override
    protected List<ProducerRecord<String, SpecificRecord>> process(List<ConsumerRecord<String, Checkpoint>> batch)
            throws Exception {
        List<ProducerRecord<String, SpecificRecord>> out = new ArrayList<>();
        for (ConsumerRecord<String, Checkpoint> rec : batch) {
            Checkpoint c = rec.value();
            Path dir;
            try {
                dir = CheckpointStore.fetch(clients().config(), c.getUri(), c.getSha256());
            } catch (CheckpointStore.CheckpointIntegrityException e) {
                out.add(reject(rec, e.getMessage()));
                continue;
            } catch (java.io.IOException | IllegalArgumentException e) {
                out.add(reject(rec, "cannot read checkpoint " + c.getUri() + ": " + e.getMessage()));
                continue;
            }
            try (ModelStore.Loaded m = ModelStore.load(dir, device, dtype)) {
                m.model().setRopeTheta(c.getTheta());
                Evaluator.Report r = Evaluator.run(new ModelAnswerer(m.model(), m.tokenizer()), settings);
                for (EvalResult e : results(r, c.getRunId(), c.getModelVersion(), c.getIteration(), c.getUri())) {
                    out.add(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), c.getModelVersion(), e));
                }
            }
        }
        return out;
    }
}
