package dev.longpo.workers;

import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.PreferencePair;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.text.ChatFormat;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code generation-requests} -> {@code preference-pairs}. For each request pi_S answers twice:
 * chosen from the chunk at theta0, rejected from the long context at theta1; then pi_S at theta0 scores
 * both answers (EOS included) on the chunk: the short-to-long reference. With {@code longReference}
 * it also scores them on the long context at theta1 (the DPO baseline's reference).
 */
public final class ResponseGenerator extends TransactionalWorker<GenerationRequest> {
    private final ModelSlot slot;
    private final int maxNewTokens;
    private final boolean longReference;
    private final DocumentResolver documents;

    public ResponseGenerator(KafkaClients clients, ModelSlot slot, String instanceId, int batch, int maxNewTokens,
                             boolean longReference) {
        super(clients, Topics.GENERATION_REQUESTS, instanceId, "respond", batch);
        this.slot = slot;
        this.maxNewTokens = maxNewTokens;
        this.longReference = longReference;
        this.documents = new DocumentResolver(clients);
    }

    private String longContext(GenerationRequest r) {
        return r.getLongContext() != null ? r.getLongContext() : documents.resolve(r.getLongContextRef());
    }

    @Override
    protected CharSequence runOf(GenerationRequest request) {
        return request.getRunId();
    }

    @Override
    protected List<ProducerRecord<String, SpecificRecord>> process(List<ConsumerRecord<String, GenerationRequest>> batch) {
        List<ProducerRecord<String, SpecificRecord>> out = new ArrayList<>();
        // one generation call per (theta0, theta1) group, so a batch never mixes RoPE bases
        java.util.Map<String, List<ConsumerRecord<String, GenerationRequest>>> groups = new java.util.LinkedHashMap<>();
        batch.forEach(r -> groups.computeIfAbsent(r.value().getTheta0() + "/" + r.value().getTheta1(),
                k -> new ArrayList<>()).add(r));
        for (List<ConsumerRecord<String, GenerationRequest>> group : groups.values()) {
            List<PairMaker.Made> gen = new PairMaker(slot.model(), maxNewTokens, longReference, this::longContext)
                    .make(group.stream().map(ConsumerRecord::value).toList());
            generated(gen.stream().mapToLong(g -> g.chosen().length + g.rejected().length).sum());
            ChatFormat fmt = ChatFormat.of(slot.model().tokenizer());
            for (int i = 0; i < group.size(); i++) {
                GenerationRequest r = group.get(i).value();
                PairMaker.Made g = gen.get(i);
                out.add(new ProducerRecord<>(Topics.PREFERENCE_PAIRS.name(), r.getDocId(), PreferencePair.newBuilder()
                        .setPairId(r.getRequestId()).setRequestId(r.getRequestId()).setRunId(r.getRunId()).setDocId(r.getDocId())
                        .setChunkIndex(r.getChunkIndex()).setInstruction(r.getInstruction())
                        .setShortContext(r.getShortContext()).setLongContext(r.getLongContext())
                        .setLongContextRef(r.getLongContextRef()).setChosen(fmt.decodeAnswer(g.chosen()))
                        .setRejected(fmt.decodeAnswer(g.rejected())).setChosenTokenIds(ints(g.chosen()))
                        .setRejectedTokenIds(ints(g.rejected())).setRefChosenLogp(g.refChosen())
                        .setRefRejectedLogp(g.refRejected()).setRefChosenLogpLong(g.refChosenLong())
                        .setRefRejectedLogpLong(g.refRejectedLong()).setIteration(r.getIteration())
                        .setTargetLength(r.getTargetLength()).setTheta0(r.getTheta0()).setTheta1(r.getTheta1())
                        .setModelVersion(slot.version()).setCreatedAt(Instant.now()).build()));
            }
        }
        return out;
    }

    static List<Integer> ints(int[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    @Override
    protected void betweenBatches() throws Exception {
        slot.refresh();
    }
}
