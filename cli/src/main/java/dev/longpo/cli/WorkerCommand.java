package dev.longpo.cli;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.loop.Role;
import dev.longpo.loop.RoleRunner;
import dev.longpo.loop.Roles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo worker --role instruct|respond|train|eval|control}: one worker process. Device, threads, batch
 * and objective come from configuration; SIGTERM (Ctrl-C) finishes or aborts the batch in flight and
 * exits; a status line is logged every {@code worker.status.ms}. The control role never loads the model engine.
 */
@Command(name = "worker", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Run one worker: instruction generator, response generator, trainer, evaluator or controller.")
final class WorkerCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--role", required = true, description = "instruct, respond, train, eval or control")
    String role;

    @Option(names = "--model", required = true, description = "initial model (pi_S) directory")
    Path model;

    @Option(names = "--instance", defaultValue = "0", description = "instance id (stable across restarts)")
    String instance;

    @Option(names = "--exit-when-idle", description = "trainer: exit once the input stays empty (tests, batch jobs)")
    boolean exitWhenIdle;

    @Override
    public Integer call() throws Exception {
        LongpoConfig c = options.load();
        try (GracefulStop stop = new GracefulStop(GracefulStop.UNTIL_DONE)) {
            Roles.run(Role.parse(role), new RoleRunner.Context(c, new KafkaClients(c), model, instance, stop.flag(),
                    exitWhenIdle));
        }
        return 0;
    }
}
