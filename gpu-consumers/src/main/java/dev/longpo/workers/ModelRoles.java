package dev.longpo.workers;

import ai.djl.Device;
import dev.longpo.common.LongpoConfig;
import dev.longpo.loop.Role;
import dev.longpo.loop.RoleRunner;
import dev.longpo.model.TorchRuntime;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.SelfInstruct;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model roles of the loop and how each worker is built from configuration; registered as the
 * {@link RoleRunner} of this module, so {@code longpo worker --role ...} and the in-process loop start
 * them the same way. A status line is logged every {@code worker.status.ms}.
 */
public final class ModelRoles implements RoleRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ModelRoles.class);

    @Override
    public Set<Role> roles() {
        return EnumSet.of(Role.EVAL, Role.INSTRUCT, Role.RESPOND, Role.TRAIN);
    }

    /** Starts the engine with {@code model.threads} intra-op threads and returns {@code model.device}. */
    /**
     * {@code model.dtype} of the inference roles (generators, evaluator): float32, or float16 for half
     * the memory. The trainer always keeps float32 weights: AdamW's updates are smaller than half
     * precision can represent next to a weight.
     */
    public static ai.djl.ndarray.types.DataType dtype(LongpoConfig c) {
        return switch (c.get("model.dtype")) {
            case "float32" -> ai.djl.ndarray.types.DataType.FLOAT32;
            case "float16" -> ai.djl.ndarray.types.DataType.FLOAT16;
            default -> throw new IllegalArgumentException("model.dtype must be float32 or float16, got '"
                    + c.get("model.dtype") + "' (bfloat16: DJL 0.36 aborts the JVM on a cast to it)");
        };
    }

    public static Device device(LongpoConfig c) {
        TorchRuntime.start(c.getInt("model.threads"));
        return TorchRuntime.device(c.get("model.device"));
    }

    /** The evaluator worker's settings: {@code eval.*} over the standard protocol for {@code loop.short.window}. */
    public static Evaluator.Settings evaluation(LongpoConfig c) {
        Evaluator.Settings.Builder b = Evaluator.Settings.builder(c.getInt("loop.short.window"))
                .optTasks(List.of(c.get("eval.tasks").split(","))).optSamples(c.getInt("eval.samples"))
                .optShortSamples(c.getInt("eval.short.samples")).optThreshold(c.getDouble("eval.threshold"));
        String lengths = c.get("eval.lengths", "").trim();
        if (!lengths.isEmpty()) {
            b.optLengths(java.util.Arrays.stream(lengths.split(",")).map(String::trim).map(Integer::valueOf).toList());
        }
        return b.build();
    }

    @Override
    public void run(Role role, Context ctx) throws Exception {
        LongpoConfig c = ctx.config();
        Device device = device(c);
        String run = c.get("run.id");
        switch (role) {
            case TRAIN -> {
                try (Trainer t = new Trainer(ctx.clients(), Trainer.Settings.from(c), ctx.model(), device)) {
                    LOG.info("trainer {} ready at step {} ({} samples applied)", run, t.step(), t.ledger().size());
                    t.run(ctx.stop(), ctx.exitWhenIdle());
                    LOG.info("trainer {} stopped at step {} ({} samples applied, {} stale skipped)", run, t.step(),
                            t.ledger().size(), t.skippedStale());
                }
            }
            case INSTRUCT, RESPOND -> {
                try (ModelSlot slot = new ModelSlot(ctx.clients(), run, ctx.model(), c.get("worker.model.version"), device,
                        dtype(c));
                     TransactionalWorker<?> w = role == Role.INSTRUCT
                             ? new InstructionGenerator(ctx.clients(), slot, ctx.instance(), c.getInt("worker.batch"),
                             c.getInt("instruct.pool"), c.getInt("instruct.max.new.tokens"),
                             SelfInstruct.forStyle(c.get("instruct.style"),
                                     slot.model().tokenizer() instanceof dev.longpo.text.ByteTokenizer))
                             : new ResponseGenerator(ctx.clients(), slot, ctx.instance(), c.getInt("worker.batch"),
                             c.getInt("respond.max.new.tokens"), c.getBoolean("respond.long.reference"))) {
                    runWithStatus(w, ctx, c.getLong("worker.status.ms"), () -> "model " + slot.version());
                }
            }
            case EVAL -> {
                try (EvaluatorWorker w = new EvaluatorWorker(ctx.clients(), ctx.instance(), evaluation(c), device, dtype(c))) {
                    runWithStatus(w, ctx, c.getLong("worker.status.ms"), () -> "");
                }
            }
            default -> throw new IllegalArgumentException("role " + role + " is not a model role");
        }
    }

    /** Runs a transactional worker with a status line every {@code everyMs}. */
    private static void runWithStatus(TransactionalWorker<?> w, Context ctx, long everyMs,
                                      java.util.function.Supplier<String> extra) throws Exception {
        Thread status = new Thread(() -> {
            while (!ctx.stop().get()) {
                try {
                    Thread.sleep(everyMs);
                } catch (InterruptedException e) {
                    return;
                }
                LOG.info("{}-{}: {}, {} processed, {} dead-lettered, {} aborted {}", w.stage(), ctx.instance(),
                        w.ready() ? "ready" : "starting", w.processed(), w.deadLettered(), w.aborted(), extra.get());
            }
        }, "status-" + w.stage());
        status.setDaemon(true);
        status.start();
        w.run(ctx.stop());
    }
}
