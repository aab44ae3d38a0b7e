package dev.longpo.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;

/**
 * The one training step of the project, in the spirit of DJL's {@code EasyTrain.trainBatch}: every
 * micro-batch runs its forward pass and loss in its own {@link NDScope} and sub-manager under a
 * {@link GradientCollector}, is back-propagated with its weight (1/n for a mean over n micro-batches),
 * and its intermediates are freed at once; {@link #step()} then clips and applies the accumulated
 * gradients (AdamW). With the model's recomputation on ({@link LlamaModel#setRecompute}), the layers
 * are back-propagated after the loss, one at a time. Trainer, pretraining and benchmarks all train through this class, so memory
 * handling and the CPU use-after-free workaround (weights as torch-owned scalars) live in one place.
 *
 * @param <M> what a micro-batch reports besides its loss (metrics)
 */
public final class TrainStep<M> {
    /** The loss of one micro-batch: arrays in {@code m} (closed after backward), plus its metrics. */
    @FunctionalInterface
    public interface Forward<M> {
        Loss<M> compute(NDManager m);
    }

    /** A differentiable scalar loss and what the caller wants to keep of it. */
    public record Loss<M>(NDArray loss, M metrics) {
    }

    /** What a whole step did: the optimizer's report and every micro-batch's metrics. */
    public record Result<M>(AdamW.StepInfo info, List<M> metrics) {
    }

    private final LlamaModel model;
    private final AdamW optimizer;

    public TrainStep(LlamaModel model, AdamW optimizer) {
        this.model = model;
        this.optimizer = optimizer;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /**
     * Forward and backward of one micro-batch: the gradient of {@code weight * loss} is added to the
     * accumulated gradients; nothing else of it stays alive.
     */
    public M backward(Forward<M> forward, double weight) {
        model.setTrainable(true);
        try (NDScope scope = new NDScope(); NDManager m = model.manager().newSubManager();
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            Loss<M> l = forward.compute(m);
            NDArray w = Tensors.scalar(m, weight);
            gc.backward(l.loss().mul(w));
            model.backwardRecomputed(gc);
            return l.metrics();
        }
    }

    /** Clips and applies the accumulated gradients, then zeroes them. */
    public AdamW.StepInfo step() {
        return optimizer.step();
    }

    /** One whole step over {@code microBatches}: each contributes 1/n of the mean loss's gradient. */
    public Result<M> run(List<Forward<M>> microBatches) {
        if (microBatches.isEmpty()) {
            throw new IllegalArgumentException("a training step needs at least one micro-batch");
        }
        List<M> metrics = new ArrayList<>();
        for (Forward<M> f : microBatches) {
            metrics.add(backward(f, 1.0 / microBatches.size()));
        }
        return new Result<>(step(), metrics);
    }
}
