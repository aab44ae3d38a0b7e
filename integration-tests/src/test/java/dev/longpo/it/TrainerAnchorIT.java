package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import dev.longpo.avro.TrainingSample;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.events.Topics;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Objective;
import dev.longpo.model.PreferenceSample;
import dev.longpo.model.Tensors;
import dev.longpo.text.ChatFormat;
import dev.longpo.workers.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's short-context anchor ({@code trainer.anchor}) on a real broker and registry: the same samples
 * trained with and without it, the anchored weights stay closer to the reference on the short sequences. A
 * stack of its own, since the trainer reads every sample of {@code training-samples}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class TrainerAnchorIT {
    @TempDir
    static Path dir;
    static RealStack stack;

    @BeforeAll
    static void start() throws Exception {
        stack = RealStack.isolated();
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    /** Trains every sample on the topic under run {@code run}; returns its newest checkpoint. */
    private static Path train(String run, Path base, double anchor) throws Exception {
        LongpoConfig config = stack.clients().config().with(Map.of("run.id", run, "worker.model.version", "pi_S",
                "trainer.checkpoint.dir", dir.resolve("ckpt").toString(), "trainer.idle.checkpoint.ms", "1500",
                "trainer.lr", "1e-2", "trainer.warmup.steps", "0", "trainer.anchor", String.valueOf(anchor)));
        try (Trainer t = new Trainer(new KafkaClients(config), Trainer.Settings.from(config), base, Device.cpu())) {
            t.run(new AtomicBoolean(), true);
            assertEquals(8, t.ledger().size(), "every sample trained once");
        }
        return Trainer.newest(dir.resolve("ckpt"), run).orElseThrow();
    }

    /** Mean KL(reference || trained) over the samples' short sequences. */
    private static double kl(Path trained, Path reference, List<PreferenceSample> samples) throws Exception {
        try (ModelStore.Loaded policy = ModelStore.load(trained, Device.cpu());
             ModelStore.Loaded ref = ModelStore.load(reference, Device.cpu())) {
            ChatFormat fmt = ChatFormat.of(policy.tokenizer());
            JniUtils.setGradMode(false);
            double sum = 0;
            for (PreferenceSample s : samples) {
                try (NDScope scope = new NDScope(); NDManager m = policy.model().manager().newSubManager()) {
                    sum += Tensors.value(s.terms(policy.model(), fmt, m, false, Objective.NllTokens.ANSWERS,
                            ref.model()).klShort());
                }
            }
            return sum / samples.size();
        } finally {
            JniUtils.setGradMode(true);
        }
    }

    @Test
    void anchoredTrainingStaysCloserToTheReferenceOnTheShortSequences() throws Exception {
        Path base = dir.resolve("pi_S");
        TinyModel.save(base, 7);
        List<PreferenceSample> samples = new ArrayList<>();
        try (KafkaProducer<String, SpecificRecord> p = stack.clients().producer("it-anchor", null)) {
            for (int i = 0; i < 8; i++) {
                TrainingSample t = TestSamples.oneTurn("anchor-s" + i, 1, i, "Filler. ".repeat(20) + "The key is " + i
                        + ". " + "More. ".repeat(10), 1e4);
                samples.add(Trainer.toSample(t));
                p.send(new ProducerRecord<>(Topics.TRAINING_SAMPLES.name(), t.getSampleId(), t));
            }
        }
        double free = kl(train("free", base, 0), base, samples);
        double anchored = kl(train("anchored", base, 10), base, samples);
        assertTrue(free > 1e-3, "training moved the model on the short sequences: KL " + free);
        assertTrue(anchored < 0.5 * free, "anchored KL " + anchored + " vs unanchored " + free);
    }
}
