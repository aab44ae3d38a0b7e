package dev.longpo.streams;

import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.PreferencePair;
import dev.longpo.avro.TrainingSample;
import dev.longpo.avro.Turn;
import dev.longpo.events.RunScope;
import dev.longpo.events.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * {@code preference-pairs} -> filter (see {@link PairFilter}) -> one multi-turn
 * {@code training-samples} record per document and iteration: up to max_turns pairs (the iteration's,
 * or {@code defaultTurns}), turns in chunk order, emitted when the n-th pair arrives or, incomplete,
 * when {@code timeout} passes after the first. A pair seen twice, or arriving after its document's
 * sample was emitted, is dropped as a duplicate. Every drop is counted by reason in the queryable
 * store {@value #DROPPED}.
 */
public final class PairGrouping {
    public static final String PENDING = "grouping-pending";
    public static final String GROUPS = "grouping-groups";
    public static final String DROPPED = "grouping-dropped";
    public static final String ITERATIONS = "grouping-iterations";
    /** Marks a group whose sample was emitted. */
    static final long SEALED = -1;

    private PairGrouping() {
    }

    public static Topology buildTopology(StreamsSupport support, String runId, PairFilter filter, int defaultTurns,
                                         Duration timeout, Duration checkEvery) {
        StreamsBuilder builder = new StreamsBuilder();
        IterationStore.add(builder, support, ITERATIONS);
        support.addStore(builder, PENDING, support.storeSerde(PreferencePair.class));
        support.addStore(builder, GROUPS, Serdes.Long());
        support.addStore(builder, DROPPED, Serdes.Long());
        support.decoded(builder, Topics.PREFERENCE_PAIRS, "grouping", Validation::pair)
                .process(() -> new GroupingProcessor(runId, filter, defaultTurns, timeout, checkEvery),
                        Named.as("grouping"), PENDING, GROUPS, DROPPED)
                .to(Topics.TRAINING_SAMPLES.name(), Produced.with(Serdes.String(),
                        support.serde(Topics.TRAINING_SAMPLES)).withName("grouping-sink"));
        return builder.build();
    }

    /** Dropped pairs by reason, read from a running application. */
    public static Map<String, Long> droppedCounts(KafkaStreams streams) {
        ReadOnlyKeyValueStore<String, Long> store = streams.store(
                StoreQueryParameters.fromNameAndType(DROPPED, QueryableStoreTypes.keyValueStore()));
        Map<String, Long> out = new TreeMap<>();
        try (KeyValueIterator<String, Long> it = store.all()) {
            it.forEachRemaining(kv -> out.put(kv.key, kv.value));
        }
        return out;
    }

    static final class GroupingProcessor implements Processor<String, PreferencePair, String, TrainingSample> {
        private final String runId;
        private final PairFilter filter;
        private final int defaultTurns;
        private final Duration timeout;
        private final Duration checkEvery;
        private ProcessorContext<String, TrainingSample> context;
        private KeyValueStore<String, PreferencePair> pending;
        private KeyValueStore<String, Long> groups;
        private KeyValueStore<String, Long> dropped;
        private KeyValueStore<String, IterationEvent> iterations;

        GroupingProcessor(String runId, PairFilter filter, int defaultTurns, Duration timeout, Duration checkEvery) {
            this.runId = runId;
            this.filter = filter;
            this.defaultTurns = defaultTurns;
            this.timeout = timeout;
            this.checkEvery = checkEvery;
        }

        @Override
        public void init(ProcessorContext<String, TrainingSample> context) {
            this.context = context;
            pending = context.getStateStore(PENDING);
            groups = context.getStateStore(GROUPS);
            dropped = context.getStateStore(DROPPED);
            iterations = context.getStateStore(ITERATIONS);
            context.schedule(checkEvery, PunctuationType.WALL_CLOCK_TIME, this::closeExpired);
        }

        @Override
        public void process(Record<String, PreferencePair> rec) {
            PreferencePair p = rec.value();
            if (!RunScope.takes(runId, p.getRunId())) {
                return; // another run's pair: its own grouping assembles it
            }
            String reason = filter.reject(p);
            String group = p.getDocId() + "/" + p.getIteration();
            Long state = groups.get(group);
            String key = group + "#" + p.getPairId();
            if (reason == null && (state != null && state == SEALED || pending.get(key) != null)) {
                reason = "duplicate";
            }
            if (reason != null) {
                Long n = dropped.get(reason);
                dropped.put(reason, n == null ? 1 : n + 1);
                return;
            }
            pending.put(key, p);
            if (state == null) {
                groups.put(group, context.currentSystemTimeMs());
            }
            List<PreferencePair> pairs = pairsOf(group);
            if (pairs.size() >= turns(p.getIteration())) {
                emit(group, pairs, true);
            }
        }

        private int turns(int iteration) {
            IterationEvent it = IterationStore.iteration(iterations, runId, iteration);
            return it == null ? defaultTurns : it.getMaxTurns();
        }

        private List<PreferencePair> pairsOf(String group) {
            List<PreferencePair> pairs = new ArrayList<>();
            try (KeyValueIterator<String, PreferencePair> it = pending.prefixScan(group + "#", Serdes.String().serializer())) {
                it.forEachRemaining(kv -> pairs.add(kv.value));
            }
            return pairs;
        }

        private void closeExpired(long now) {
            List<String> expired = new ArrayList<>();
            try (KeyValueIterator<String, Long> it = groups.all()) {
                it.forEachRemaining(kv -> {
                    if (kv.value != SEALED && now - kv.value >= timeout.toMillis()) {
                        expired.add(kv.key);
                    }
                });
            }
            for (String g : expired) {
                List<PreferencePair> pairs = pairsOf(g);
                if (!pairs.isEmpty()) {
                    emit(g, pairs, false);
                }
            }
        }

        private void emit(String group, List<PreferencePair> pairs, boolean complete) {
            pairs.sort(Comparator.comparingInt(PreferencePair::getChunkIndex).thenComparing(PreferencePair::getPairId));
            List<PreferencePair> used = pairs.subList(0, Math.min(pairs.size(), turns(pairs.get(0).getIteration())));
            PreferencePair first = used.get(0);
            List<Turn> turns = new ArrayList<>();
            for (PreferencePair p : used) {
                turns.add(Turn.newBuilder().setPairId(p.getPairId()).setChunkIndex(p.getChunkIndex())
                        .setInstruction(p.getInstruction()).setShortContext(p.getShortContext()).setChosen(p.getChosen())
                        .setRejected(p.getRejected()).setChosenTokenIds(p.getChosenTokenIds())
                        .setRejectedTokenIds(p.getRejectedTokenIds()).setRefChosenLogp(p.getRefChosenLogp())
                        .setRefRejectedLogp(p.getRefRejectedLogp()).setRefChosenLogpLong(p.getRefChosenLogpLong())
                        .setRefRejectedLogpLong(p.getRefRejectedLogpLong()).build());
            }
            TrainingSample s = TrainingSample.newBuilder().setSampleId(group).setRunId(runId).setDocId(first.getDocId())
                    .setLongContext(first.getLongContext()).setLongContextRef(first.getLongContextRef()).setTurns(turns)
                    .setComplete(complete).setIteration(first.getIteration()).setTargetLength(first.getTargetLength())
                    .setTheta0(first.getTheta0()).setTheta1(first.getTheta1()).setModelVersion(first.getModelVersion())
                    .setCreatedAt(Instant.ofEpochMilli(context.currentSystemTimeMs())).build();
            context.forward(new Record<>(first.getDocId(), s, context.currentSystemTimeMs()));
            for (PreferencePair p : pairs) {
                pending.delete(group + "#" + p.getPairId());
            }
            if (pairs.size() > used.size()) {
                Long n = dropped.get("over max turns");
                dropped.put("over max turns", (n == null ? 0 : n) + pairs.size() - used.size());
            }
            groups.put(group, SEALED);
        }
    }
}
