package dev.longpo.cli;

import ai.djl.Device;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.loop.Controller;
import dev.longpo.tasks.Evaluator;
import dev.longpo.workers.ControllerWorker;
import dev.longpo.workers.EvaluatorWorker;
import dev.longpo.workers.InstructionGenerator;
import dev.longpo.workers.ModelSlot;
import dev.longpo.workers.ResponseGenerator;
import dev.longpo.workers.Trainer;
import dev.longpo.workers.TransactionalWorker;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The worker roles of the loop and how each is built from configuration: one place for
 * {@code longpo worker --role ...} (one role per process, as in production) and for the demo's
 * {@link LoopRunner} (every role as a thread of one process).
 */
final class WorkerRoles {
    /** Every role, in the order the loop runner starts them. */
    static final List<String> ALL = List.of("control", "eval", "instruct", "respond", "train");

    private WorkerRoles() {
    }

    /** Runs one role until {@code stop} is set (the trainer also returns when idle, if asked). */
    static void run(String role, LongpoConfig c, KafkaClients clients, Path model, String instance, Device device,
                    AtomicBoolean stop, boolean exitWhenIdle, PrintStream log) throws Exception {
        String run = c.get("run.id");
        switch (role) {
            case "train" -> {
                Trainer.Settings ts = Trainer.Settings.from(c);
                try (Trainer t = new Trainer(clients, ts, model, device)) {
                    log.printf("trainer %s ready at step %d (%d samples applied)%n", run, t.step(),
                            t.ledger().size());
                    t.run(stop, exitWhenIdle, log);
                    log.printf("trainer %s stopped at step %d (%d samples applied, %d stale skipped)%n", run,
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
                            log.printf("%s-%s: %s, model %s, processed %d, dead-lettered %d%n", role, instance,
                                    w.ready() ? "ready" : "starting", slot.version(), w.processed(), w.deadLettered());
                        }
                    }, "status");
                    status.setDaemon(true);
                    status.start();
                    w.run(stop, log);
                }
            }
            case "eval" -> {
                Evaluator.Settings es = Evaluator.Settings.from(c);
                try (EvaluatorWorker w = new EvaluatorWorker(clients, instance, es, device)) {
                    w.run(stop, log);
                }
            }
            case "control" -> {
                Controller.Settings cs = Controller.Settings.from(c, model);
                try (ControllerWorker w = new ControllerWorker(clients, cs)) {
                    w.run(stop, log);
                }
            }
            default -> throw new IllegalArgumentException("unknown role '" + role
                    + "' (instruct, respond, train, eval or control)");
        }
    }
}
