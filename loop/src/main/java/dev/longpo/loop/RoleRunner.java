package dev.longpo.loop;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs workers of some roles; found with {@link java.util.ServiceLoader}, so the loop (which must not
 * depend on DJL) can start the model roles that the gpu-consumers module provides when it is on the
 * classpath. The controller role is the loop's own ({@link Roles}).
 */
public interface RoleRunner {
    /** What a worker needs: configuration, clients, the initial model, its instance id and when to stop. */
    record Context(LongpoConfig config, KafkaClients clients, Path model, String instance, AtomicBoolean stop,
                   boolean exitWhenIdle) {
    }

    /** The roles this runner provides. */
    Set<Role> roles();

    /** Runs one worker of {@code role} until {@code ctx.stop()} is set (or, when asked, until its input stays idle). */
    void run(Role role, Context ctx) throws Exception;
}
