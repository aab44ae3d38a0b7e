package dev.longpo.loop;

import dev.longpo.common.Telemetry;
import dev.longpo.env.Cancellation;
import java.util.EnumMap;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The one way a worker of any role is started, by {@code longpo worker} (one role per process, as in
 * production) and by {@link LoopRunner} (every role as a thread of one process): the controller here,
 * the model roles through the {@link RoleRunner} found on the classpath.
 */
public final class Roles {
    private Roles() {
    }

    /**
     * Runs one worker of {@code role} until it is told to stop. The stop flag is also bound to this thread
     * ({@link Cancellation}), so a generation in flight ends within one decode step once it is set. The
     * process's metrics endpoint ({@code metrics.port}) is started first, once per process.
     */
    public static void run(Role role, RoleRunner.Context ctx) throws Exception {
        Telemetry.serve(ctx.config());
        Cancellation.bind(ctx.stop()::get);
        try {
            runBound(role, ctx);
        } finally {
            Cancellation.unbind();
        }
    }

    private static void runBound(Role role, RoleRunner.Context ctx) throws Exception {
        if (role == Role.CONTROL) {
            try (ControllerWorker w = new ControllerWorker(ctx.clients(), LoopSettings.from(ctx.config(), ctx.model()))) {
                w.run(ctx.stop());
            }
            return;
        }
        RoleRunner runner = runners().get(role);
        if (runner == null) {
            throw new IllegalStateException("role " + role + " needs the gpu-consumers module on the classpath");
        }
        runner.run(role, ctx);
    }

    private static Map<Role, RoleRunner> runners() {
        Map<Role, RoleRunner> out = new EnumMap<>(Role.class);
        for (RoleRunner r : ServiceLoader.load(RoleRunner.class)) {
            r.roles().forEach(role -> out.put(role, r));
        }
        return out;
    }
}
