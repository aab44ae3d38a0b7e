package dev.longpo.workers;

import dev.longpo.avro.Instruction;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.model.Generator;
import dev.longpo.tasks.Tasks;
import dev.longpo.text.ChatFormat;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code instruction-requests} -> {@code instructions}: pi_S writes an instruction pool for each chunk
 * ({@code poolSize} samples at temperature 0.7, top-p 0.9, the spec's settings), the pool is parsed,
 * and one question is kept at random (seeded by the request). A request whose pool has no question in
 * the instruction format that its chunk answers goes to {@code dead-letter} with the reason.
 */
public final class InstructionGenerator extends TransactionalWorker<InstructionRequest> {
    private final ModelSlot slot;
    private final int poolSize;
    private final int maxNewTokens;

    public InstructionGenerator(KafkaClients clients, ModelSlot slot, String instanceId, int batch, int poolSize,
                                int maxNewTokens) {
        super(clients, Topics.INSTRUCTION_REQUESTS, instanceId, "instruct", batch);
        this.slot = slot;
        this.poolSize = poolSize;
        this.maxNewTokens = maxNewTokens;
    }

    /** Questions parsed from the pool, distinct, in pool order. */
    static List<String> parsePool(List<String> outputs, String chunk) {
        Set<String> keep = new LinkedHashSet<>();
        for (String o : outputs) {
            String key = Tasks.parseQuestion(o, chunk);
            if (key != null) {
                keep.add(Tasks.question(key));
            }
        }
        return new ArrayList<>(keep);
    }

    @Override
    protected List<ProducerRecord<String, SpecificRecord>> process(List<ConsumerRecord<String, InstructionRequest>> batch) {
        List<ProducerRecord<String, SpecificRecord>> out = new ArrayList<>();
        if (batch.isEmpty()) {
            return out;
        }
        ChatFormat fmt = new ChatFormat(slot.model().tokenizer());
        List<int[]> prompts = new ArrayList<>();
        for (ConsumerRecord<String, InstructionRequest> r : batch) {
            int[] p = fmt.prompt(r.value().getChunkText(), Tasks.WRITE_QUESTION);
            for (int i = 0; i < poolSize; i++) {
                prompts.add(p);
            }
        }
        long seed = batch.get(0).value().getSeed();
        List<Generator.Output> gen = Generator.generate(slot.model().model(), slot.model().tokenizer().pad(), prompts,
                Generator.Settings.builder().maxNewTokens(maxNewTokens).temperature(0.7).topP(0.9).seed(seed)
                        .stopTokens(Set.of(slot.model().tokenizer().eos())).build());
        for (int b = 0; b < batch.size(); b++) {
            InstructionRequest req = batch.get(b).value();
            List<String> outputs = new ArrayList<>();
            for (int i = 0; i < poolSize; i++) {
                outputs.add(fmt.decodeAnswer(gen.get(b * poolSize + i).tokens()));
            }
            List<String> pool = parsePool(outputs, req.getChunkText());
            if (pool.isEmpty()) {
                out.add(reject(batch.get(b), "no question in the pool parses and is answerable from the chunk: "
                        + outputs.get(0)));
                continue;
            }
            String pick = pool.get(new Random(req.getSeed()).nextInt(pool.size()));
            out.add(new ProducerRecord<>(Topics.INSTRUCTIONS.name(), req.getDocId(), Instruction.newBuilder()
                    .setRequestId(req.getRequestId()).setDocId(req.getDocId()).setChunkIndex(req.getChunkIndex())
                    .setInstruction(pick).setPool(pool).setIteration(req.getIteration()).setModelVersion(slot.version())
                    .setCreatedAt(Instant.now()).build()));
        }
        return out;
    }

    @Override
    protected void betweenBatches() throws Exception {
        slot.refresh();
    }
}
