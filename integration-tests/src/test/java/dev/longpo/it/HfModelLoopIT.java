package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.PreferencePair;
import dev.longpo.avro.TrainingSample;
import dev.longpo.avro.Turn;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.model.AdamW;
import dev.longpo.model.HfTokenizer;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Objective;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.SelfInstruct;
import dev.longpo.workers.EvaluatorWorker;
import dev.longpo.workers.InstructionGenerator;
import dev.longpo.workers.ModelSlot;
import dev.longpo.workers.ResponseGenerator;
import dev.longpo.workers.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tiny random Llama-3, Mistral and Qwen2 checkpoints in Hugging Face layout, with the real tokenizers
 * (the model module's build downloads them), through every model stage of the loop on a real broker
 * and registry, unchanged from the mini model's: the paper's self-instruct prompt (a random model
 * cannot write four numbered questions, so the request is dead-lettered with the profile's reason),
 * a preference pair with pi_S's reference scores, a LongPO step, a checkpoint that carries the
 * tokenizer, its evaluation, and the promoted-model swap.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class HfModelLoopIT {
    @TempDir
    Path dir;

    private static final String DOC = "Harbor notes. The ferry leaves at dawn. The magic number for harbor is 7310. "
            + "Gulls circle the pier while the fishermen mend their nets. ";

    private static Path tokenizerDir(String name) {
        Path d = Path.of("..", "model", "target", "tokenizers", name, "package", "models");
        assertTrue(Files.exists(d.resolve("tokenizer.json")), d + " missing: build the model module first");
        return d;
    }

    private static String config(String family, int vocab) {
        String common = "\"vocab_size\": " + vocab + ", \"hidden_size\": 16, \"intermediate_size\": 32, "
                + "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"num_key_value_heads\": 1, "
                + "\"max_position_embeddings\": 4096";
        return switch (family) {
            case "llama" -> "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], " + common
                    + ", \"rope_theta\": 500000.0, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0,"
                    + " \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 512}}";
            case "mistral" -> "{\"model_type\": \"mistral\", \"architectures\": [\"MistralForCausalLM\"], " + common
                    + ", \"rope_theta\": 1000000.0, \"sliding_window\": 256}";
            case "qwen2" -> "{\"model_type\": \"qwen2\", \"architectures\": [\"Qwen2ForCausalLM\"], " + common
                    + ", \"rope_theta\": 1000000.0, \"tie_word_embeddings\": true}";
            default -> throw new IllegalArgumentException(family);
        };
    }

    @ParameterizedTest
    @CsvSource({"llama, llama3", "mistral, llama2", "qwen2, qwen3"})
    void aRealFamilyGoesThroughEveryModelStage(String family, String tokenizer) throws Exception {
        Path model = dir.resolve(family);
        Files.createDirectories(model);
        int vocab = HfTokenizer.load(tokenizerDir(tokenizer)).vocabSize();
        Files.writeString(model.resolve("config.json"), config(family, vocab));
        try (LlamaModel m = LlamaModel.random(ModelConfig.read(model.resolve("config.json")), Device.cpu(), 11)) {
            ModelStore.save(m, model, Map.of(), tokenizerDir(tokenizer));
        }
        String run = "hf-" + family;
        try (RealStack stack = RealStack.isolated()) {
            KafkaClients clients = stack.clients(run);
            AtomicBoolean stop = new AtomicBoolean();
            try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-hf", null)) {
                p.send(new ProducerRecord<>(Topics.INSTRUCTION_REQUESTS.name(), run, InstructionRequest.newBuilder()
                        .setRequestId(run + "/1/0").setDocId(run).setChunkIndex(0).setChunkText(DOC).setIteration(1)
                        .setSeed(1).setCreatedAt(Instant.now()).build()));
                p.send(new ProducerRecord<>(Topics.GENERATION_REQUESTS.name(), run, GenerationRequest.newBuilder()
                        .setRequestId(run + "/1/0").setDocId(run).setChunkIndex(0)
                        .setInstruction("As described in the preceding text, what is the magic number for harbor?")
                        .setShortContext(DOC).setLongContext(DOC.repeat(6)).setDocSha256("s").setIteration(1)
                        .setTargetLength(512).setTheta0(1e6).setTheta1(4e6).setCreatedAt(Instant.now()).build()));
            }

            // self-instruct with the paper's prompt, then the response generator: pairs and reference scores
            PreferencePair pair;
            try (ModelSlot slot = new ModelSlot(clients, run, model, "pi_S", Device.cpu());
                 InstructionGenerator instruct = new InstructionGenerator(clients, slot, run + "-i", 1, 1, 12,
                         SelfInstruct.PAPER);
                 ResponseGenerator respond = new ResponseGenerator(clients, slot, run + "-r", 1, 8, false)) {
                assertInstanceOf(HfTokenizer.class, slot.model().tokenizer());
                Thread ti = Background.start(stop, instruct::run);
                TestUtils.waitForCondition(() -> !deadLetters(clients, "instruct").isEmpty()
                        || !TopicReader.readAll(clients, Topics.INSTRUCTIONS).isEmpty(), 120_000, "the instruction outcome");
                Thread tr = Background.start(stop, respond::run);
                TestUtils.waitForCondition(() -> !TopicReader.readAll(clients, Topics.PREFERENCE_PAIRS).isEmpty(),
                        120_000, "the preference pair");
                stop.set(true);
                ti.join(30_000);
                tr.join(30_000);
            }
            List<DeadLetter> instructDead = deadLetters(clients, "instruct");
            if (!instructDead.isEmpty()) {
                assertTrue(instructDead.get(0).getReason().contains("exactly 4 numbered questions"),
                        instructDead.get(0).getReason());
            }
            pair = TopicReader.readAll(clients, Topics.PREFERENCE_PAIRS).get(0).value();
            assertTrue(Double.isFinite(pair.getRefChosenLogp()) && pair.getRefChosenLogp() < 0, pair.toString());
            assertTrue(Double.isFinite(pair.getRefRejectedLogp()) && pair.getRefRejectedLogp() < 0, pair.toString());
            assertTrue(!pair.getChosenTokenIds().isEmpty() && pair.getChosenTokenIds().stream().allMatch(i -> i < vocab));

            // one LongPO step on a sample built from the pair; the checkpoint is a Hugging Face directory
            Turn turn = Turn.newBuilder().setPairId(pair.getPairId()).setChunkIndex(0).setInstruction(pair.getInstruction())
                    .setShortContext(DOC).setChosen(pair.getChosen()).setRejected(pair.getRejected())
                    .setChosenTokenIds(pair.getChosenTokenIds()).setRejectedTokenIds(pair.getRejectedTokenIds())
                    .setRefChosenLogp(pair.getRefChosenLogp()).setRefRejectedLogp(pair.getRefRejectedLogp()).build();
            try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-hf-s", null)) {
                p.send(new ProducerRecord<>(Topics.TRAINING_SAMPLES.name(), run, TrainingSample.newBuilder()
                        .setSampleId(run + "-s0").setDocId(run).setLongContext(DOC.repeat(6)).setTurns(List.of(turn))
                        .setComplete(true).setIteration(1).setTargetLength(512).setTheta0(1e6).setTheta1(4e6)
                        .setModelVersion("pi_S").setCreatedAt(Instant.now()).build())).get();
            }
            Trainer.Settings ts = new Trainer.Settings(run, dir.resolve("ckpt"), Objective.LONGPO,
                    new Objective.Hyper(0.01, 0.01, 0, Objective.NllTokens.ANSWERS),
                    AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(10).build(), 1, 1,
                    Duration.ofMillis(1500), 1, true, "pi_S");
            try (Trainer t = new Trainer(clients, ts, model, Device.cpu())) {
                t.run(new AtomicBoolean(), true);
                assertEquals(1, t.ledger().size(), () -> "the sample was trained once; dead letters: "
                        + deadLetters(clients, "train").stream().map(DeadLetter::getReason).toList());
            }
            Path ckpt = Trainer.newest(dir.resolve("ckpt"), run).orElseThrow();
            assertTrue(Files.exists(ckpt.resolve("tokenizer.json")) && Files.exists(ckpt.resolve("tokenizer_config.json")));
            assertEquals(family, ModelConfig.read(ckpt.resolve("config.json")).modelType());
            Checkpoint announced = TopicReader.readAll(clients, Topics.CHECKPOINTS).stream().map(ConsumerRecord::value)
                    .filter(c -> c.getRunId().equals(run)).reduce((a, b) -> b).orElseThrow();

            // the evaluator loads the checkpoint with its tokenizer and scores it
            Evaluator.Settings es = Evaluator.Settings.builder(128).optTasks(List.of("niah_single", "short_mc"))
                    .optLengths(List.of(128, 256)).optDepths(List.of(0.5)).optSamples(1).optShortSamples(2).optSeed(1)
                    .optBatchSize(2).build();
            AtomicBoolean stopEval = new AtomicBoolean();
            try (EvaluatorWorker w = new EvaluatorWorker(clients, run + "-e", es, Device.cpu())) {
                Thread te = Background.start(stopEval, w::run);
                TestUtils.waitForCondition(() -> results(clients, announced.getModelVersion()).size() >= 3, 180_000,
                        () -> "evaluation of the checkpoint; dead letters: " + deadLetters(clients, "eval"));
                stopEval.set(true);
                te.join(30_000);
            }
            assertTrue(results(clients, announced.getModelVersion()).stream()
                    .allMatch(e -> e.getScore() >= 0 && e.getScore() <= 1));

            // the controller's START of the next iteration swaps the generators to the checkpoint
            try (ModelSlot slot = new ModelSlot(clients, run, model, "pi_S", Device.cpu())) {
                try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-hf-it", null)) {
                    p.send(new ProducerRecord<>(Topics.ITERATIONS.name(), run, IterationEvent.newBuilder().setRunId(run)
                            .setIteration(2).setType(IterationEventType.START).setModelVersion(announced.getModelVersion())
                            .setCheckpointUri(announced.getUri()).setCheckpointSha256(announced.getSha256())
                            .setShortWindow(128).setMinLength(256).setTargetLength(1024).setTheta0(4e6).setTheta1(1.6e7)
                            .setMaxTurns(1).setSampleBudget(1).setReason("test").setCreatedAt(Instant.now()).build())).get();
                }
                TestUtils.waitForCondition(slot::refresh, 30_000, "the swap to the promoted checkpoint");
                assertEquals(announced.getModelVersion(), slot.version());
                assertInstanceOf(HfTokenizer.class, slot.model().tokenizer());
            }
        }
    }

    private static List<DeadLetter> deadLetters(KafkaClients clients, String stage) {
        return TopicReader.readAll(clients, Topics.DEAD_LETTER).stream().map(ConsumerRecord::value)
                .filter(d -> stage.equals(d.getStage())).toList();
    }

    private static List<EvalResult> results(KafkaClients clients, String version) {
        return TopicReader.readAll(clients, Topics.EVAL_RESULTS).stream().map(ConsumerRecord::value)
                .filter(e -> e.getModelVersion().equals(version)).toList();
    }
}
