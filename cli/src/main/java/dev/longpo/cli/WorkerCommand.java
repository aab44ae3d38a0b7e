package dev.longpo.cli;

import ai.djl.Device;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.model.AdamW;
import dev.longpo.model.Objective;
import dev.longpo.loop.Controller;
import dev.longpo.model.ModelConfig;
import dev.longpo.tasks.Evaluator;
import dev.longpo.workers.ControllerWorker;
import dev.longpo.workers.EvaluatorWorker;
import dev.longpo.workers.InstructionGenerator;
import dev.longpo.workers.ModelSlot;
import dev.longpo.workers.ResponseGenerator;
import dev.longpo.workers.Trainer;
import dev.longpo.workers.TransactionalWorker;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
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
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.set(true);
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        String run = c.get("run.id");
        try {
            switch (role) {
                case "train" -> {
                    Trainer.Settings ts = new Trainer.Settings(run, c.getPath("trainer.checkpoint.dir"),
                            Objective.parse(c.get("trainer.objective")),
                            new Objective.Hyper(c.getDouble("trainer.beta"), c.getDouble("trainer.lambda")),
                            new AdamW.Settings(c.getDouble("trainer.lr"), 0.9, 0.95, 1e-8, 0.0,
                                    c.getDouble("trainer.clip"), c.getLong("trainer.warmup.steps"),
                                    c.getLong("trainer.total.steps"), 0.1),
                            c.getInt("trainer.accumulate"), c.getInt("trainer.checkpoint.every"),
                            c.getDuration("trainer.idle.checkpoint.ms"), c.getInt("trainer.max.staleness"));
                    try (Trainer t = new Trainer(clients, ts, model, device)) {
                        System.err.printf("trainer %s ready at step %d (%d samples applied)%n", run, t.step(),
                                t.ledger().size());
                        t.run(stop, exitWhenIdle, System.err);
                        System.err.printf("trainer %s stopped at step %d (%d samples applied, %d stale skipped)%n", run,
                                t.step(), t.ledger().size(), t.skippedStale());
                    }
                }
                case "instruct", "respond" -> {
                    try (ModelSlot slot = new ModelSlot(clients, run, model, c.get("worker.model.version"), device);
                         TransactionalWorker<?> w = role.equals("instruct")
                                 ? new InstructionGenerator(clients, slot, instance, c.getInt("worker.batch"),
                                 c.getInt("instruct.pool"), c.getInt("instruct.max.new.tokens"))
                                 : new ResponseGenerator(clients, slot, instance, c.getInt("worker.batch"),
                                 c.getInt("respond.max.new.tokens"), c.getBoolean("respond.long.reference"))) {
                        Thread status = new Thread(() -> {
                            while (!stop.get()) {
                                try {
                                    Thread.sleep(c.getLong("worker.status.ms"));
                                } catch (InterruptedException e) {
                                    return;
                                }
                                System.err.printf("%s-%s: %s, model %s, processed %d, dead-lettered %d%n", role, instance,
                                        w.ready() ? "ready" : "starting", slot.version(), w.processed(), w.deadLettered());
                            }
                        }, "status");
                        status.setDaemon(true);
                        status.start();
                        w.run(stop, System.err);
                    }
                }
                case "eval" -> {
                    Evaluator.Settings es = Evaluator.Settings.standard(c.getInt("loop.short.window"),
                            c.getInt("eval.samples")).withTasks(List.of(c.get("eval.tasks").split(",")));
                    try (EvaluatorWorker w = new EvaluatorWorker(clients, instance, es, device)) {
                        w.run(stop, System.err);
                    }
                }
                case "control" -> {
                    ModelConfig mc = ModelConfig.read(model.resolve("config.json"));
                    Controller.Settings cs = new Controller.Settings(run, c.getInt("loop.short.window"),
                            c.getInt("loop.max.iterations"), c.getInt("loop.sample.budget"), c.getInt("trainer.accumulate"),
                            c.getInt("loop.max.turns"), mc.ropeTheta(), mc.headDim(), c.getDouble("loop.short.margin"),
                            c.getBoolean("loop.promote.best"), "short_math", c.get("worker.model.version"),
                            model.toUri().toString());
                    try (ControllerWorker w = new ControllerWorker(clients, cs)) {
                        w.run(stop, System.err);
                    }
                }
                default -> throw new IllegalArgumentException("unknown role '" + role
                        + "' (instruct, respond, train, eval or control)");
            }
        } finally {
            done.countDown();
        }
        return 0;
    }
}
