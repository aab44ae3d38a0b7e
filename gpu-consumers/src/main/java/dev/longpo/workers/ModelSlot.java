package dev.longpo.workers;

import ai.djl.Device;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.common.CheckpointStore;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.TopicFollower;
import dev.longpo.events.Topics;
import dev.longpo.model.ModelStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * The model a generator serves, and the version it is. It follows the controller: a START event of
 * its run that names another model version and a checkpoint is fetched from its store (its SHA-256 checked)
 * and swapped in between batches, so no batch mixes two models. The promoted checkpoint records the
 * enlarged base it was trained at; the slot sets the iteration's theta0 instead, since generators
 * read short chunks (within the original window, as the spec keeps them) at the base of pi_S.
 */
public final class ModelSlot implements AutoCloseable {
    private final KafkaClients clients;
    private final String runId;
    private final Device device;
    private final ai.djl.ndarray.types.DataType dtype;
    private final TopicFollower iterations;
    private ModelStore.Loaded current;
    private String version;

    public ModelSlot(KafkaClients clients, String runId, Path initial, String initialVersion, Device device)
            throws IOException {
        this(clients, runId, initial, initialVersion, device, ai.djl.ndarray.types.DataType.FLOAT32);
    }

    /** A slot whose models are loaded in {@code dtype} ({@code model.dtype}: float32 or float16). */
    public ModelSlot(KafkaClients clients, String runId, Path initial, String initialVersion, Device device,
                     ai.djl.ndarray.types.DataType dtype) throws IOException {
        this.clients = clients;
        this.runId = runId;
        this.device = device;
        this.dtype = dtype;
        this.current = ModelStore.load(initial, device, dtype);
        this.version = initialVersion;
        this.iterations = new TopicFollower(clients, List.of(Topics.ITERATIONS));
    }

    public ModelStore.Loaded model() {
        return current;
    }

    public String version() {
        return version;
    }

    /** Reads new controller events; loads and verifies a newly started iteration's model. Returns true if switched. */
    public boolean refresh() throws IOException {
        IterationEvent latest = null;
        for (SpecificRecord r : iterations.poll(Duration.ZERO)) {
            if (r instanceof IterationEvent e && e.getRunId().equals(runId) && e.getType() == IterationEventType.START
                    && e.getCheckpointUri() != null) {
                latest = e;
            }
        }
        if (latest == null || latest.getModelVersion().equals(version)) {
            return false;
        }
        Path dir = CheckpointStore.fetch(clients.config(), latest.getCheckpointUri(), latest.getCheckpointSha256());
        ModelStore.Loaded next = ModelStore.load(dir, device, dtype);
        next.model().setRopeTheta(latest.getTheta0());
        current.close();
        current = next;
        version = latest.getModelVersion();
        return true;
    }

    @Override
    public void close() {
        iterations.close();
        current.close();
    }
}
