package dev.longpo.loop;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * One event a run is made of, read from the four topics that describe it: a controller decision
 * ({@code iterations}), an announced checkpoint ({@code checkpoints}), an evaluation result
 * ({@code eval-results}) or a trainer step ({@code training-metrics}). The controller and the run
 * model take only these, so what they accept is checked by the compiler, not by a cast.
 */
public sealed interface RunEvent permits RunEvent.Decided, RunEvent.Announced, RunEvent.Evaluated, RunEvent.Trained {
    /** The topics a run is read from, in the order a replay should read them. */
    List<Topic<? extends SpecificRecord>> TOPICS = List.of(Topics.ITERATIONS, Topics.CHECKPOINTS, Topics.TRAINING_METRICS,
            Topics.EVAL_RESULTS);

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

    /** The event of a record decoded from one of {@link #TOPICS}. */
    static RunEvent of(SpecificRecord r) {
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
