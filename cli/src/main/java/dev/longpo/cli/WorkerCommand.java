package dev.longpo.cli;

import ai.djl.Device;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo worker --role instruct|respond|train|eval|control}: one worker process. Device, threads, batch
 * and objective come from configuration; SIGTERM (Ctrl-C) finishes or aborts the batch in flight and
 * exits; a status line goes to stderr every {@code worker.status.ms}.
 */
@Command(name = "worker", description = "Run one worker: instruction generator, response generator, trainer, evaluator or controller.")
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
        KafkaClients clients = new KafkaClients(c);
        Device device = ModelOptions.start(c);
        try (GracefulStop stop = new GracefulStop(GracefulStop.UNTIL_DONE)) {
            WorkerRoles.run(role, c, clients, model, instance, device, stop.flag(), exitWhenIdle, System.err);
        }
        return 0;
    }
}
