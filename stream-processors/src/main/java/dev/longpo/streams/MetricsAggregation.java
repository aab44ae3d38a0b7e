package dev.longpo.streams;

import dev.longpo.avro.EvalResult;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.avro.TrainingSummary;
import dev.longpo.events.Topics;
import java.time.Duration;
import java.time.Instant;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;

/**
 * Aggregates that a monitor reads without replaying everything: {@code eval-results} -> latest score
 * per (run, model version, task, length, depth) on the compacted {@code eval-latest} (two runs may both
 * call their base model {@code pi_S}); and
 * {@code training-metrics} -> per run and time window (step count, means of loss, NLL, preference
 * loss, reward accuracy, margin, tokens/s, last learning rate) on the compacted {@code training-summary}.
 */
public final class MetricsAggregation {
    public static final String EVAL_STORE = "metrics-eval-latest";
    public static final String TRAINING_STORE = "metrics-training-windows";

    private MetricsAggregation() {
    }

    public static Topology buildTopology(StreamsSupport support, Duration window) {
        StreamsBuilder builder = new StreamsBuilder();
        support.decoded(builder, Topics.EVAL_RESULTS, "metrics", (k, v) -> v.getTask().isBlank() ? "empty task" : null)
                .selectKey((k, e) -> evalKey(e), Named.as("metrics-eval-key"))
                .toTable(Named.as("metrics-eval-table"), Materialized.<String, EvalResult, org.apache.kafka.streams.state
                        .KeyValueStore<org.apache.kafka.common.utils.Bytes, byte[]>>as(EVAL_STORE)
                        .withKeySerde(Serdes.String()).withValueSerde(support.serde(Topics.EVAL_RESULTS)))
                .toStream(Named.as("metrics-eval-changes"))
                .to(Topics.EVAL_LATEST.name(), Produced.with(Serdes.String(), support.serde(Topics.EVAL_LATEST))
                        .withName("metrics-eval-sink"));

        support.decoded(builder, Topics.TRAINING_METRICS, "metrics", (k, v) -> v.getRunId().isBlank() ? "empty run_id" : null)
                .groupBy((k, m) -> m.getRunId(), Grouped.with("metrics-by-run", Serdes.String(),
                        support.serde(Topics.TRAINING_METRICS)))
                .windowedBy(TimeWindows.ofSizeWithNoGrace(window))
                .aggregate(() -> null, (runId, m, agg) -> add(agg, m), Named.as("metrics-training-aggregate"),
                        Materialized.<String, TrainingSummary, org.apache.kafka.streams.state.WindowStore<
                                org.apache.kafka.common.utils.Bytes, byte[]>>as(TRAINING_STORE)
                                .withKeySerde(Serdes.String()).withValueSerde(support.storeSerde(TrainingSummary.class)))
                .toStream(Named.as("metrics-training-changes"))
                .map((w, s) -> KeyValue.pair(w.key() + "@" + w.window().start(), withWindow(s, w.window().start(),
                        w.window().end())), Named.as("metrics-training-key"))
                .to(Topics.TRAINING_SUMMARY.name(), Produced.with(Serdes.String(), support.serde(Topics.TRAINING_SUMMARY))
                        .withName("metrics-training-sink"));
        return builder.build();
    }

    static String evalKey(EvalResult e) {
        return e.getRunId() + "|" + e.getModelVersion() + "|" + e.getTask() + "|" + e.getLength() + "|"
                + (e.getDepth() == null ? "all" : e.getDepth());
    }

    /** Running means: new mean = old + (x - old) / n. */
    static TrainingSummary add(TrainingSummary agg, TrainingMetrics m) {
        if (agg == null) {
            return TrainingSummary.newBuilder().setRunId(m.getRunId()).setWindowStart(Instant.EPOCH)
                    .setWindowEnd(Instant.EPOCH).setSteps(1).setFirstStep(m.getStep()).setLastStep(m.getStep())
                    .setIteration(m.getIteration()).setMeanLoss(m.getLoss()).setMeanNll(m.getNll())
                    .setMeanPrefLoss(m.getPrefLoss()).setMeanRewardAccuracy(m.getRewardAccuracy())
                    .setMeanMargin(m.getMargin()).setMeanTokensPerSecond(m.getTokensPerSecond())
                    .setLastLearningRate(m.getLearningRate()).build();
        }
        long n = agg.getSteps() + 1;
        return TrainingSummary.newBuilder(agg).setSteps(n).setFirstStep(Math.min(agg.getFirstStep(), m.getStep()))
                .setLastStep(Math.max(agg.getLastStep(), m.getStep())).setIteration(Math.max(agg.getIteration(), m.getIteration()))
                .setMeanLoss(mean(agg.getMeanLoss(), m.getLoss(), n)).setMeanNll(mean(agg.getMeanNll(), m.getNll(), n))
                .setMeanPrefLoss(mean(agg.getMeanPrefLoss(), m.getPrefLoss(), n))
                .setMeanRewardAccuracy(mean(agg.getMeanRewardAccuracy(), m.getRewardAccuracy(), n))
                .setMeanMargin(mean(agg.getMeanMargin(), m.getMargin(), n))
                .setMeanTokensPerSecond(mean(agg.getMeanTokensPerSecond(), m.getTokensPerSecond(), n))
                .setLastLearningRate(m.getStep() >= agg.getLastStep() ? m.getLearningRate() : agg.getLastLearningRate())
                .build();
    }

    private static double mean(double old, double x, long n) {
        return old + (x - old) / n;
    }

    private static TrainingSummary withWindow(TrainingSummary s, long start, long end) {
        return TrainingSummary.newBuilder(s).setWindowStart(Instant.ofEpochMilli(start))
                .setWindowEnd(Instant.ofEpochMilli(end)).build();
    }
}
