package dev.longpo.workers;

import dev.longpo.avro.Instruction;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.model.Generator;
import dev.longpo.tasks.SelfInstruct;
import dev.longpo.text.ChatFormat;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code instruction-requests} -> {@code instructions}: pi_S writes an instruction pool for each chunk
 * ({@code poolSize} samples at temperature 0.7, top-p 0.9, the spec's settings) as the self-instruct
 * profile asks ({@link SelfInstruct}: the paper's Figure 5 prompt for real models, the mini model's
 * task for the byte tokenizer), and the profile keeps one question (random choices seeded by the
 * request). A request whose pool yields no question goes to {@code dead-letter} with the profile's reason.
 */
public final class InstructionGenerator extends TransactionalWorker<InstructionRequest> {
    private final ModelSlot slot;
    private final int poolSize;
    private final int maxNewTokens;
    private final SelfInstruct profile;

    public InstructionGenerator(KafkaClients clients, ModelSlot slot, String instanceId, int batch, int poolSize,
                                int maxNewTokens, SelfInstruct profile) {
        super(clients, Topics.INSTRUCTION_REQUESTS, instanceId, "instruct", batch);
        this.slot = slot;
        this.poolSize = poolSize;
        this.maxNewTokens = maxNewTokens;
        this.profile = profile;
    }

    @Override
    protected CharSequence runOf(InstructionRequest request) {
        return request.getRunId();
    }

    @Override
    protected List<ProducerRecord<String, SpecificRecord>> process(List<ConsumerRecord<String, InstructionRequest>> batch) {
        List<ProducerRecord<String, SpecificRecord>> out = new ArrayList<>();
        if (batch.isEmpty()) {
            return out;
        }
        ChatFormat fmt = ChatFormat.of(slot.model().tokenizer());
        List<int[]> prompts = new ArrayList<>();
        for (ConsumerRecord<String, InstructionRequest> r : batch) {
            int[] p = fmt.prompt(profile.context(r.value().getChunkText()), profile.request());
            for (int i = 0; i < poolSize; i++) {
                prompts.add(p);
            }
        }
        long seed = batch.get(0).value().getSeed();
        List<Generator.Output> gen = Generator.generate(slot.model().model(), slot.model().tokenizer().pad(), prompts,
                Generator.Settings.builder().maxNewTokens(maxNewTokens).temperature(0.7).topP(0.9).seed(seed)
                        .stopTokens(slot.model().tokenizer().stopTokens()).build());
        generated(gen.stream().mapToLong(g -> g.tokens().length).sum());
        for (int b = 0; b < batch.size(); b++) {
            InstructionRequest req = batch.get(b).value();
            List<String> outputs = new ArrayList<>();
            for (int i = 0; i < poolSize; i++) {
                outputs.add(fmt.decodeAnswer(gen.get(b * poolSize + i).tokens()));
            }
            SelfInstruct.Pick pick = profile.pick(outputs, req.getChunkText(), new Random(req.getSeed()));
            if (!pick.found()) {
                out.add(reject(batch.get(b), pick.reason()));
                continue;
            }
            out.add(new ProducerRecord<>(Topics.INSTRUCTIONS.name(), req.getDocId(), Instruction.newBuilder()
                    .setRequestId(req.getRequestId()).setRunId(req.getRunId()).setDocId(req.getDocId()).setChunkIndex(req.getChunkIndex())
                    .setInstruction(pick.question()).setPool(pick.pool()).setIteration(req.getIteration()).setModelVersion(slot.version())
                    .setCreatedAt(Instant.now()).build()));
        }
        return out;
    }

    @Override
    protected void betweenBatches() throws Exception {
        slot.refresh();
    }
}
