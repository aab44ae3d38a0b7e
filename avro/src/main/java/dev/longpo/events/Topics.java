package dev.longpo.events;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.Chunk;
import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.Document;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.Instruction;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.PreferencePair;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.avro.TrainingSample;
import dev.longpo.avro.TrainingSummary;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * The one typed registry of the pipeline's topics (DESIGN.md's table, plus the two compacted summary
 * topics the metric aggregation writes for monitors). Every producer,
 * topology and worker names topics and gets serdes through these constants, never by string.
 */
public final class Topics {
    /** Largest record a topic accepts: a long document or a multi-turn sample at 16x the short window. */
    public static final int MAX_RECORD_BYTES = 8 * 1024 * 1024;
    /** Request, fetch and broker message limit: one largest record plus batch overhead. */
    public static final int MAX_REQUEST_BYTES = MAX_RECORD_BYTES + 64 * 1024;
    private static final Map<String, String> DEFAULT = Map.of("max.message.bytes", String.valueOf(MAX_RECORD_BYTES));
    private static final Map<String, String> COMPACTED = Map.of("cleanup.policy", "compact",
            "max.message.bytes", String.valueOf(MAX_RECORD_BYTES));

    public static final Topic<Document> DOCUMENTS =
            new Topic<>("documents", Document.class, 3, COMPACTED, "doc_id");
    public static final Topic<Chunk> CHUNKS =
            new Topic<>("chunks", Chunk.class, 3, DEFAULT, "doc_id");
    public static final Topic<InstructionRequest> INSTRUCTION_REQUESTS =
            new Topic<>("instruction-requests", InstructionRequest.class, 3, DEFAULT, "doc_id");
    public static final Topic<Instruction> INSTRUCTIONS =
            new Topic<>("instructions", Instruction.class, 3, DEFAULT, "doc_id");
    public static final Topic<GenerationRequest> GENERATION_REQUESTS =
            new Topic<>("generation-requests", GenerationRequest.class, 3, DEFAULT, "doc_id");
    public static final Topic<PreferencePair> PREFERENCE_PAIRS =
            new Topic<>("preference-pairs", PreferencePair.class, 3, DEFAULT, "doc_id");
    public static final Topic<TrainingSample> TRAINING_SAMPLES =
            new Topic<>("training-samples", TrainingSample.class, 1, DEFAULT, "doc_id");
    public static final Topic<Checkpoint> CHECKPOINTS =
            new Topic<>("checkpoints", Checkpoint.class, 1, DEFAULT, "run_id");
    public static final Topic<TrainingMetrics> TRAINING_METRICS =
            new Topic<>("training-metrics", TrainingMetrics.class, 1, DEFAULT, "run_id");
    public static final Topic<EvalResult> EVAL_RESULTS =
            new Topic<>("eval-results", EvalResult.class, 1, DEFAULT, "model_version");
    public static final Topic<IterationEvent> ITERATIONS =
            new Topic<>("iterations", IterationEvent.class, 1, DEFAULT, "run_id");
    /** Latest score per (model version, task, length, depth); key = model|task|length|depth. */
    public static final Topic<EvalResult> EVAL_LATEST =
            new Topic<>("eval-latest", EvalResult.class, 1, COMPACTED, "run_id|model_version|task|length|depth");
    /** Training metrics per run and time window; key = run_id@window_start. */
    public static final Topic<TrainingSummary> TRAINING_SUMMARY =
            new Topic<>("training-summary", TrainingSummary.class, 1, COMPACTED, "run_id@window_start");
    public static final Topic<DeadLetter> DEAD_LETTER =
            new Topic<>("dead-letter", DeadLetter.class, 1, DEFAULT, "source id");

    private static final List<Topic<? extends SpecificRecord>> ALL = List.of(DOCUMENTS, CHUNKS,
            INSTRUCTION_REQUESTS, INSTRUCTIONS, GENERATION_REQUESTS, PREFERENCE_PAIRS, TRAINING_SAMPLES,
            CHECKPOINTS, TRAINING_METRICS, EVAL_RESULTS, ITERATIONS, EVAL_LATEST, TRAINING_SUMMARY, DEAD_LETTER);

    private Topics() {
    }

    /** Every topic, in data-flow order. */
    public static List<Topic<? extends SpecificRecord>> all() {
        return ALL;
    }

    /** The topic with this name. */
    public static Topic<? extends SpecificRecord> byName(String name) {
        return ALL.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown topic: " + name));
    }
}
