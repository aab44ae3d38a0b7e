package dev.longpo.streams;

import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.events.Topics;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * A global store built from the {@code iterations} topic, so every task of a topology knows the
 * self-evolution controller's decisions: key {@code <run_id>} holds the latest START event (the
 * current iteration), key {@code <run_id>/<k>} the START event of iteration k (its theta0, theta1,
 * target length, turns).
 */
public final class IterationStore {
    private IterationStore() {
    }

    /** Adds the global store under {@code name} to {@code builder}. */
    public static void add(StreamsBuilder builder, StreamsSupport support, String name) {
        builder.addGlobalStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(name), Serdes.String(),
                        support.storeSerde(IterationEvent.class)).withLoggingDisabled(),
                Topics.ITERATIONS.name(), Consumed.with(Serdes.String(), Serdes.ByteArray()),
                () -> new Updater(name, support));
    }

    /** The current iteration of {@code runId}, or null before the controller started one. */
    public static IterationEvent current(KeyValueStore<String, IterationEvent> store, String runId) {
        return store.get(runId);
    }

    /** Iteration {@code k} of {@code runId}, or null. */
    public static IterationEvent iteration(KeyValueStore<String, IterationEvent> store, String runId, int k) {
        return store.get(runId + "/" + k);
    }

    private static final class Updater implements Processor<String, byte[], Void, Void> {
        private final String name;
        private final StreamsSupport support;
        private KeyValueStore<String, IterationEvent> store;

        Updater(String name, StreamsSupport support) {
            this.name = name;
            this.support = support;
        }

        @Override
        public void init(ProcessorContext<Void, Void> context) {
            store = context.getStateStore(name);
        }

        @Override
        public void process(Record<String, byte[]> rec) {
            IterationEvent e;
            try {
                e = support.serde(Topics.ITERATIONS).deserialize(Topics.ITERATIONS.name(), rec.value());
            } catch (RuntimeException ex) {
                return; // a global store cannot forward; the controller's own topic is validated at its producer
            }
            if (e == null || e.getType() != IterationEventType.START) {
                return;
            }
            IterationEvent cur = store.get(e.getRunId());
            if (cur == null || cur.getIteration() <= e.getIteration()) {
                store.put(e.getRunId(), e);
            }
            store.put(e.getRunId() + "/" + e.getIteration(), e);
        }
    }
}
