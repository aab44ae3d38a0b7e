package dev.longpo.loop;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.Instruction;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.PreferencePair;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.avro.TrainingSample;
import dev.longpo.events.Topic;
import dev.longpo.events.RunScope;
import dev.longpo.events.Topics;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * One event a run is made of, read from the four topics that describe it: a controller decision
 * ({@code iterations}), an announced checkpoint ({@code checkpoints}), an evaluation result
 * ({@code eval-results}) or a trainer step ({@code training-metrics}); and, for the controller's stall
 * rule, the stages before training moving ({@link Moved}: a record of one of {@link #PIPELINE_TOPICS}) and
 * dead letters. The controller and the run model take only these, so what they accept is checked by the
 * compiler, not by a cast.
 */
public sealed interface RunEvent permits RunEvent.Decided, RunEvent.Announced, RunEvent.Evaluated, RunEvent.Trained,
        RunEvent.Moved, RunEvent.DeadLettered {
    /** The topics a run is read from, in the order a replay should read them. */
    List<Topic<? extends SpecificRecord>> TOPICS = List.of(Topics.ITERATIONS, Topics.CHECKPOINTS, Topics.TRAINING_METRICS,
            Topics.EVAL_RESULTS);

    /**
     * The topics of the stages before the trainer, in pipeline order, and the dead-letter topic: what the
     * controller follows besides {@link #TOPICS} to tell a slow iteration from a stopped one.
     */
    List<Topic<? extends SpecificRecord>> PIPELINE_TOPICS = List.of(Topics.INSTRUCTION_REQUESTS, Topics.INSTRUCTIONS,
            Topics.GENERATION_REQUESTS, Topics.PREFERENCE_PAIRS, Topics.TRAINING_SAMPLES, Topics.DEAD_LETTER);

    /** A controller decision. */
    record Decided(IterationEvent event) implements RunEvent {
    }

    /** A checkpoint announced by the trainer (or the base model, by the controller). */
    record Announced(Checkpoint checkpoint) implements RunEvent {
    }

    /** One evaluation cell of one model version. */
    record Evaluated(EvalResult result) implements RunEvent {
    }

    /** One optimizer step of the trainer. */
    record Trained(TrainingMetrics metrics) implements RunEvent {
    }

    /**
     * A record of iteration {@code iteration} of run {@code run} ("" = unscoped, see {@link RunScope})
     * arrived on the topic of a stage before the trainer ({@code stage} is the topic's name).
     */
    record Moved(String stage, int iteration, String run) implements RunEvent {
    }

    /** A record some stage could not process, with that stage and the reason. */
    record DeadLettered(DeadLetter letter) implements RunEvent {
    }

    /** The event of a record decoded from one of {@link #TOPICS} or {@link #PIPELINE_TOPICS}. */
    static RunEvent of(SpecificRecord r) {
        if (r instanceof InstructionRequest q) {
            return new Moved(Topics.INSTRUCTION_REQUESTS.name(), q.getIteration(), q.getRunId());
        }
        if (r instanceof Instruction i) {
            return new Moved(Topics.INSTRUCTIONS.name(), i.getIteration(), i.getRunId());
        }
        if (r instanceof GenerationRequest g) {
            return new Moved(Topics.GENERATION_REQUESTS.name(), g.getIteration(), g.getRunId());
        }
        if (r instanceof PreferencePair p) {
            return new Moved(Topics.PREFERENCE_PAIRS.name(), p.getIteration(), p.getRunId());
        }
        if (r instanceof TrainingSample t) {
            return new Moved(Topics.TRAINING_SAMPLES.name(), t.getIteration(), t.getRunId());
        }
        if (r instanceof DeadLetter d) {
            return new DeadLettered(d);
        }
        if (r instanceof IterationEvent e) {
            return new Decided(e);
        }
        if (r instanceof Checkpoint c) {
            return new Announced(c);
        }
        if (r instanceof EvalResult e) {
            return new Evaluated(e);
        }
        if (r instanceof TrainingMetrics m) {
            return new Trained(m);
        }
        throw new IllegalArgumentException("not an event of a run: " + r.getClass().getSimpleName());
    }
}
