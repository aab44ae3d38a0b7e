package dev.longpo.loop;

import java.util.Arrays;
import java.util.Locale;

/**
 * The worker roles of the loop, each one consumer group ({@code longpo worker --role ...}): the controller
 * needs only Kafka; the other four run the model and come from the gpu-consumers module ({@link RoleRunner}).
 */
public enum Role {
    /** Self-evolution controller: checkpoints, evaluations and training metrics in, decisions out. */
    CONTROL("control"),
    /** Evaluator: checkpoints in, eval-results out. */
    EVAL("eval"),
    /** Instruction generator: instruction-requests in, instructions out. */
    INSTRUCT("instruct"),
    /** Response generator: generation-requests in, preference-pairs out. */
    RESPOND("respond"),
    /** LongPO trainer: training-samples in, checkpoints and training-metrics out. */
    TRAIN("train");

    private final String id;

    Role(String id) {
        this.id = id;
    }

    /** The name on the command line and in consumer groups. */
    public String id() {
        return id;
    }

    /** The role named {@code name} (case-insensitive), or a clear error listing the roles. */
    public static Role parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(r -> r.id.equals(n)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown role '" + name + "'; one of "
                        + Arrays.stream(values()).map(Role::id).toList()));
    }

    @Override
    public String toString() {
        return id;
    }
}
