package dev.longpo.streams;

import dev.longpo.avro.Chunk;
import dev.longpo.avro.Document;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.Instruction;
import dev.longpo.avro.IterationEvent;
import dev.longpo.events.RunScope;
import dev.longpo.events.Topics;
import dev.longpo.text.Tokenizer;
import dev.longpo.text.Truncation;
import dev.longpo.text.Utf8;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
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
 * {@code instructions} joined with their chunk (the short context) and their document (the long
 * context: its first target_length tokens, which contain every chunk the fan-out picked) ->
 * {@code generation-requests}. Arrival order does not matter: an instruction whose chunk, document or
 * iteration is not known yet waits in a store and is released when the missing piece arrives (or by
 * a periodic retry). Instructions of another run are skipped (see {@link RunScope}). A long context over {@code inlineMaxBytes} is passed by reference
 * ({@code kafka://documents/<doc_id>?sha256=..&tokens=..}) instead of copied.
 */
public final class Pairing {
    public static final String DOCS = "pairing-documents";
    public static final String CHUNKS = "pairing-chunks";
    public static final String PENDING = "pairing-pending";
    public static final String ITERATIONS = "pairing-iterations";

    private Pairing() {
    }

    public static Topology buildTopology(StreamsSupport support, String runId, Tokenizer tokenizer, int inlineMaxBytes,
                                         Duration retryEvery) {
        StreamsBuilder builder = new StreamsBuilder();
        IterationStore.add(builder, support, ITERATIONS);
        support.addStore(builder, DOCS, support.storeSerde(Document.class));
        support.addStore(builder, CHUNKS, support.storeSerde(Chunk.class));
        support.addStore(builder, PENDING, support.storeSerde(Instruction.class));
        var instructions = support.decoded(builder, Topics.INSTRUCTIONS, "pairing", Validation::instruction)
                .mapValues(i -> (SpecificRecord) i, Named.as("pairing-instructions-as-records"));
        support.documentsAndChunks(builder, "pairing").merge(instructions, Named.as("pairing-merge"))
                .process(() -> new PairingProcessor(runId, tokenizer, inlineMaxBytes, retryEvery), Named.as("pairing"),
                        DOCS, CHUNKS, PENDING)
                .to(Topics.GENERATION_REQUESTS.name(), Produced.with(Serdes.String(),
                        support.serde(Topics.GENERATION_REQUESTS)).withName("pairing-sink"));
        return builder.build();
    }

    /** The reference a consumer resolves against the compacted documents topic. */
    public static String reference(Document d, int tokens) {
        return "kafka://" + Topics.DOCUMENTS.name() + "/" + d.getDocId() + "?sha256=" + d.getSha256() + "&tokens=" + tokens;
    }

    static final class PairingProcessor implements Processor<String, SpecificRecord, String, GenerationRequest> {
        private final String runId;
        private final Tokenizer tokenizer;
        private final int inlineMaxBytes;
        private final Duration retryEvery;
        private ProcessorContext<String, GenerationRequest> context;
        private KeyValueStore<String, Document> docs;
        private KeyValueStore<String, Chunk> chunks;
        private KeyValueStore<String, Instruction> pending;
        private KeyValueStore<String, IterationEvent> iterations;

        PairingProcessor(String runId, Tokenizer tokenizer, int inlineMaxBytes, Duration retryEvery) {
            this.runId = runId;
            this.tokenizer = tokenizer;
            this.inlineMaxBytes = inlineMaxBytes;
            this.retryEvery = retryEvery;
        }

        @Override
        public void init(ProcessorContext<String, GenerationRequest> context) {
            this.context = context;
            docs = context.getStateStore(DOCS);
            chunks = context.getStateStore(CHUNKS);
            pending = context.getStateStore(PENDING);
            iterations = context.getStateStore(ITERATIONS);
            context.schedule(retryEvery, PunctuationType.WALL_CLOCK_TIME, t -> retryAll());
        }

        @Override
        public void process(Record<String, SpecificRecord> rec) {
            if (rec.value() instanceof Document d) {
                docs.put(d.getDocId(), d);
                retry(d.getDocId());
            } else if (rec.value() instanceof Chunk c) {
                chunks.put(InstructionFanout.chunkKey(c.getDocId(), c.getChunkIndex()), c);
                retry(c.getDocId());
            } else if (rec.value() instanceof Instruction i && RunScope.takes(runId, i.getRunId())) {
                if (!tryPair(i)) {
                    pending.put(i.getDocId() + "#" + i.getRequestId(), i);
                }
            }
        }

        private void retry(String docId) {
            try (KeyValueIterator<String, Instruction> it = pending.prefixScan(docId + "#", Serdes.String().serializer())) {
                release(it);
            }
        }

        private void retryAll() {
            try (KeyValueIterator<String, Instruction> it = pending.all()) {
                release(it);
            }
        }

        /** Pairs every waiting instruction it can and removes those from the pending store. */
        private void release(KeyValueIterator<String, Instruction> waiting) {
            List<String> released = new ArrayList<>();
            waiting.forEachRemaining(kv -> {
                if (tryPair(kv.value)) {
                    released.add(kv.key);
                }
            });
            released.forEach(pending::delete);
        }

        /** Emits the request when document, chunk and iteration are all known. */
        private boolean tryPair(Instruction i) {
            Document d = docs.get(i.getDocId());
            Chunk c = chunks.get(InstructionFanout.chunkKey(i.getDocId(), i.getChunkIndex()));
            IterationEvent it = IterationStore.iteration(iterations, runId, i.getIteration());
            if (d == null || c == null || it == null || d.getText() == null) {
                return false;
            }
            String longContext = Truncation.prefix(d.getText(), tokenizer, it.getTargetLength());
            boolean inline = Utf8.length(longContext) <= inlineMaxBytes;
            GenerationRequest req = GenerationRequest.newBuilder().setRequestId(i.getRequestId()).setRunId(runId).setDocId(i.getDocId())
                    .setChunkIndex(i.getChunkIndex()).setInstruction(i.getInstruction()).setShortContext(c.getText())
                    .setLongContext(inline ? longContext : null)
                    .setLongContextRef(inline ? null : reference(d, it.getTargetLength()))
                    .setDocSha256(d.getSha256()).setIteration(i.getIteration()).setTargetLength(it.getTargetLength())
                    .setTheta0(it.getTheta0()).setTheta1(it.getTheta1()).setModelVersion(i.getModelVersion())
                    .setCreatedAt(Instant.ofEpochMilli(context.currentSystemTimeMs())).build();
            context.forward(new Record<>(i.getDocId(), req, context.currentSystemTimeMs()));
            return true;
        }
    }
}
