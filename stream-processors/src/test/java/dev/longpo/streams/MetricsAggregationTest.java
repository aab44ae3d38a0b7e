package dev.longpo.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longpo.avro.EvalResult;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.avro.TrainingSummary;
import dev.longpo.events.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetricsAggregationTest {
    private static Harness harness() throws Exception {
        Harness h = new Harness();
        return h.start(MetricsAggregation.buildTopology(h.support, Duration.ofMinutes(1)));
    }

    static EvalResult eval(String model, String task, int length, double score) {
        return EvalResult.newBuilder().setModelVersion(model).setIteration(1).setTask(task).setLength(length)
                .setScore(score).setN(10).setCreatedAt(Instant.EPOCH).build();
    }

    static TrainingMetrics metrics(long step, double loss, double acc) {
        return TrainingMetrics.newBuilder().setRunId("r").setStep(step).setIteration(1).setModelVersion("m")
                .setObjective("LONGPO").setLoss(loss).setNll(loss / 2).setPrefLoss(0.7).setRewardChosen(0)
                .setRewardRejected(0).setRewardAccuracy(acc).setMargin(step).setLearningRate(1e-4 * step)
                .setGradNorm(1).setTokensPerSecond(100).setCreatedAt(Instant.EPOCH).build();
    }

    @Test
    void latestEvalPerRunModelTaskLengthAndDepth() throws Exception {
        try (Harness h = harness()) {
            h.send(Topics.EVAL_RESULTS, "m1", eval("m1", "niah_single", 256, 0.5));
            h.send(Topics.EVAL_RESULTS, "m1", eval("m1", "niah_single", 256, 0.9));
            h.send(Topics.EVAL_RESULTS, "m1", eval("m1", "vt", 256, 0.1));
            h.send(Topics.EVAL_RESULTS, "pi_S", EvalResult.newBuilder(eval("pi_S", "vt", 256, 0.7)).setRunId("a").build());
            h.send(Topics.EVAL_RESULTS, "pi_S", EvalResult.newBuilder(eval("pi_S", "vt", 256, 0.2)).setRunId("b").build());
            Map<String, EvalResult> latest = h.out(Topics.EVAL_LATEST).readKeyValuesToMap();
            assertEquals(4, latest.size());
            assertEquals(0.9, latest.get("|m1|niah_single|256|all").getScore(), "an unscoped result: empty run");
            assertEquals(0.1, latest.get("|m1|vt|256|all").getScore());
            assertEquals(0.7, latest.get("a|pi_S|vt|256|all").getScore(), "two runs' pi_S kept apart");
            assertEquals(0.2, latest.get("b|pi_S|vt|256|all").getScore());
        }
    }

    @Test
    void trainingMetricsAreAveragedPerRunAndWindow() throws Exception {
        try (Harness h = harness()) {
            var in = h.raw(Topics.TRAINING_METRICS.name());
            var serde = h.support.serde(Topics.TRAINING_METRICS);
            Instant t0 = Instant.ofEpochSecond(600);
            in.pipeInput("r", serde.serialize("training-metrics", metrics(1, 4.0, 0.0)), t0);
            in.pipeInput("r", serde.serialize("training-metrics", metrics(2, 2.0, 1.0)), t0.plusSeconds(10));
            in.pipeInput("r", serde.serialize("training-metrics", metrics(3, 3.0, 1.0)), t0.plusSeconds(20));
            in.pipeInput("r", serde.serialize("training-metrics", metrics(4, 1.0, 1.0)), t0.plusSeconds(70));
            List<org.apache.kafka.streams.KeyValue<String, TrainingSummary>> all =
                    h.out(Topics.TRAINING_SUMMARY).readKeyValuesToList();
            TrainingSummary first = all.get(2).value;
            assertEquals("r@600000", all.get(2).key);
            assertEquals(3, first.getSteps());
            assertEquals(3.0, first.getMeanLoss(), 1e-12);
            assertEquals(2.0 / 3, first.getMeanRewardAccuracy(), 1e-12);
            assertEquals(3, first.getLastStep());
            assertEquals(3e-4, first.getLastLearningRate(), 1e-15);
            assertEquals("r@660000", all.get(3).key);
            assertEquals(1, all.get(3).value.getSteps());
        }
    }
}
