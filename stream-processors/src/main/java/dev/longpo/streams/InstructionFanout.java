package dev.longpo.streams;

import dev.longpo.avro.Chunk;
import dev.longpo.avro.Document;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.avro.IterationEvent;
import dev.longpo.events.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
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

/**
 * {@code documents} + {@code chunks} -> {@code instruction-requests}. For the current iteration of a
 * run (from {@code iterations}), every document whose token count lies in the iteration's range
 * [min_length, target_length] gets instruction requests for up to {@code max_turns} of its chunks:
 * chunks that fit the short window and lie inside the document's first target_length tokens (the long
 * context every turn of the sample will share), picked by a shuffle seeded from run, iteration and
 * doc id. A document is handled once all its chunks have arrived, in any order, and once per
 * iteration; a punctuator re-scans stored documents when a new iteration starts.
 */
public final class InstructionFanout {
    public static final String DOCS = "fanout-documents";
    public static final String CHUNKS = "fanout-chunks";
    public static final String DONE = "fanout-done";
    public static final String ITERATIONS = "fanout-iterations";

    private InstructionFanout() {
    }

    /** The topology; {@code scanEvery} is the wall-clock period of the new-iteration check. */
    public static Topology buildTopology(StreamsSupport support, String runId, Duration scanEvery) {
        StreamsBuilder builder = new StreamsBuilder();
        IterationStore.add(builder, support, ITERATIONS);
        support.addStore(builder, DOCS, support.storeSerde(Document.class));
        support.addStore(builder, CHUNKS, support.storeSerde(Chunk.class));
        support.addStore(builder, DONE, Serdes.Integer());
        support.documentsAndChunks(builder, "fanout")
                .process(() -> new FanoutProcessor(runId, scanEvery), Named.as("fanout"), DOCS, CHUNKS, DONE)
                .to(Topics.INSTRUCTION_REQUESTS.name(), Produced.with(Serdes.String(),
                        support.serde(Topics.INSTRUCTION_REQUESTS)).withName("fanout-sink"));
        return builder.build();
    }

    /** Chunk index keys sort in index order. */
    static String chunkKey(String docId, int index) {
        return docId + "#" + String.format("%06d", index);
    }

    static final class FanoutProcessor implements Processor<String, SpecificRecord, String, InstructionRequest> {
        private final String runId;
        private final Duration scanEvery;
        private ProcessorContext<String, InstructionRequest> context;
        private KeyValueStore<String, Document> docs;
        private KeyValueStore<String, Chunk> chunks;
        private KeyValueStore<String, Integer> done;
        private KeyValueStore<String, IterationEvent> iterations;

        FanoutProcessor(String runId, Duration scanEvery) {
            this.runId = runId;
            this.scanEvery = scanEvery;
        }

        @Override
        public void init(ProcessorContext<String, InstructionRequest> context) {
            this.context = context;
            docs = context.getStateStore(DOCS);
            chunks = context.getStateStore(CHUNKS);
            done = context.getStateStore(DONE);
            iterations = context.getStateStore(ITERATIONS);
            context.schedule(scanEvery, PunctuationType.WALL_CLOCK_TIME, t -> scanOnNewIteration());
        }

        @Override
        public void process(Record<String, SpecificRecord> rec) {
            if (rec.value() instanceof Document d) {
                // the text is not needed here: keep the store small
                docs.put(d.getDocId(), Document.newBuilder(d).setText(null).build());
                tryEmit(d.getDocId());
            } else if (rec.value() instanceof Chunk c) {
                chunks.put(chunkKey(c.getDocId(), c.getChunkIndex()), c);
                tryEmit(c.getDocId());
            }
        }

        private void scanOnNewIteration() {
            IterationEvent it = IterationStore.current(iterations, runId);
            if (it == null) {
                return;
            }
            Integer seen = done.get("__iteration");
            if (seen != null && seen >= it.getIteration()) {
                return;
            }
            List<String> ids = new ArrayList<>();
            try (KeyValueIterator<String, Document> all = docs.all()) {
                all.forEachRemaining(kv -> ids.add(kv.key));
            }
            ids.forEach(this::tryEmit);
            done.put("__iteration", it.getIteration());
        }

        private void tryEmit(String docId) {
            IterationEvent it = IterationStore.current(iterations, runId);
            Document doc = docs.get(docId);
            if (it == null || doc == null) {
                return;
            }
            String doneKey = docId + "/" + it.getIteration();
            if (done.get(doneKey) != null) {
                return;
            }
            if (doc.getNumTokens() < it.getMinLength() || doc.getNumTokens() > it.getTargetLength()) {
                return;
            }
            List<Chunk> all = new ArrayList<>();
            try (KeyValueIterator<String, Chunk> range = chunks.prefixScan(docId + "#", Serdes.String().serializer())) {
                range.forEachRemaining((KeyValue<String, Chunk> kv) -> {
                    if (kv.value.getDocSha256().equals(doc.getSha256())) {
                        all.add(kv.value);
                    }
                });
            }
            if (all.size() < doc.getNumChunks()) {
                return; // wait for the rest of the chunks
            }
            List<Chunk> eligible = new ArrayList<>();
            long tokens = 0;
            for (Chunk c : all) {
                tokens += c.getNumTokens();
                if (tokens > it.getTargetLength()) {
                    break;
                }
                if (c.getNumTokens() <= it.getShortWindow()) {
                    eligible.add(c);
                }
            }
            long seed = (runId + "/" + it.getIteration() + "/" + docId).hashCode() * 0x9E3779B97F4A7C15L;
            Collections.shuffle(eligible, new Random(seed));
            List<Chunk> picked = eligible.subList(0, Math.min(it.getMaxTurns(), eligible.size()));
            picked.sort((a, b) -> Integer.compare(a.getChunkIndex(), b.getChunkIndex()));
            for (Chunk c : picked) {
                InstructionRequest req = InstructionRequest.newBuilder()
                        .setRequestId(docId + "/" + it.getIteration() + "/" + c.getChunkIndex()).setRunId(runId).setDocId(docId)
                        .setChunkIndex(c.getChunkIndex()).setChunkText(c.getText()).setIteration(it.getIteration())
                        .setModelVersion(it.getModelVersion()).setSeed(seed ^ c.getChunkIndex())
                        .setCreatedAt(Instant.ofEpochMilli(context.currentSystemTimeMs())).build();
                context.forward(new Record<>(docId, req, context.currentSystemTimeMs()));
            }
            done.put(doneKey, picked.size());
        }
    }
}
