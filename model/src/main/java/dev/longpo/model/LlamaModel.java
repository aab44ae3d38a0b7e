package dev.longpo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A Llama/Mistral/Qwen2 causal decoder written with DJL NDArray ops: token embedding, RMSNorm,
 * rotary position embedding (Hugging Face "rotate half" layout, with the config's {@code rope_scaling}
 * rule) with a base theta that can be changed on a loaded model, grouped-query attention with a causal
 * (and, where configured, sliding-window) mask, optional projection biases, SwiGLU MLP and an LM head
 * (tied or not). Parameters carry Hugging Face names ({@code model.layers.0.self_attn.q_proj.weight}).
 * Above its native base the attention logits get YaRN's temperature for the stretch the base implies.
 *
 * <p>Attention is computed in blocks of queries, each against only the keys it may see, so the scores of
 * all heads for the whole L x L matrix never exist at once: a block has at most {@link #attentionBlock()}
 * queries and at most {@link #attentionCells()} query x key scores over all rows and heads of the batch, so
 * blocks late in a long sequence (many keys) and blocks of large batches have fewer queries.
 */
public final class LlamaModel implements AutoCloseable {
    private static final float MASKED = -1e30f;
    /**
     * Scores per attention block on a CPU: 16 MB of float32, under glibc's largest mmap threshold (32 MB),
     * so no intermediate is a fresh, page-faulted mapping (a 64 MB one made an 8 x 2048 prefill 2x slower).
     */
    static final long CPU_CELLS = 4L << 20;
    /** Scores per attention block on a GPU (1 GB of float32): its caching allocator has no such threshold. */
    static final long GPU_CELLS = 256L << 20;

    private final ModelConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> params;
    private final NDArray eps;
    private NDArray scale;
    private double ropeTheta;
    private int attentionBlock = 128;
    private long attentionCells;
    private final DataType dtype;
    private boolean recompute;

    private LlamaModel(ModelConfig config, NDManager manager, Map<String, NDArray> params) {
        this.config = config;
        this.manager = manager;
        this.params = params;
        NDArray embed = params.get("model.embed_tokens.weight");
        this.dtype = embed == null ? DataType.FLOAT32 : embed.getDataType();
        this.ropeTheta = config.ropeTheta();
        this.eps = Tensors.scalar(manager, config.rmsNormEps());
        this.scale = Tensors.scalar(manager, config.attentionTemperature(ropeTheta) / Math.sqrt(config.headDim()));
        this.attentionCells = manager.getDevice().isGpu() ? GPU_CELLS : CPU_CELLS;
        for (String name : expectedNames(config)) {
            if (!params.containsKey(name)) {
                throw new IllegalArgumentException("missing parameter " + name);
            }
        }
    }

    /** A randomly initialised model (normal(0, 0.02) weights, unit norms), deterministic for a seed. */
    public static LlamaModel random(ModelConfig config, Device device, long seed) {
        TorchRuntime.start(0);
        NDManager m = NDManager.newBaseManager(device);
        Random rnd = new Random(seed);
        Map<String, NDArray> p = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : shapes(config).entrySet()) {
            float[] data = new float[(int) e.getValue().size()];
            if (e.getKey().endsWith("norm.weight")) {
                Arrays.fill(data, 1f);
            } else if (!e.getKey().endsWith(".bias")) {
                for (int i = 0; i < data.length; i++) {
                    data[i] = (float) (rnd.nextGaussian() * 0.02);
                }
            }
            p.put(e.getKey(), Tensors.floats(m, data, e.getValue()));
        }
        return new LlamaModel(config, m, p);
    }

    /** A model from named float32 arrays (e.g. read from safetensors); shapes are checked. */
    public static LlamaModel fromArrays(ModelConfig config, Device device, Map<String, float[]> arrays) {
        TorchRuntime.start(0);
        NDManager m = NDManager.newBaseManager(device);
        Map<String, NDArray> p = new LinkedHashMap<>();
        Map<String, Shape> shapes = shapes(config);
        for (Map.Entry<String, Shape> e : shapes.entrySet()) {
            float[] data = arrays.get(e.getKey());
            if (data == null) {
                m.close();
                throw new IllegalArgumentException("checkpoint has no tensor " + e.getKey());
            }
            if (data.length != e.getValue().size()) {
                m.close();
                throw new IllegalArgumentException("tensor " + e.getKey() + " has " + data.length
                        + " values, the config needs " + e.getValue());
            }
            p.put(e.getKey(), Tensors.floats(m, data, e.getValue()));
        }
        return new LlamaModel(config, m, p);
    }

    /**
     * A model from named arrays already in {@code m} (e.g. created straight from a memory-mapped
     * safetensors file); shapes are checked, and every parameter must have the same data type: float32,
     * or float16 for inference (attention softmax, RMSNorm and the logits are computed in float32, as
     * transformers does; DJL 0.36 aborts the JVM on any cast to bfloat16, so half precision is float16).
     */
    public static LlamaModel fromNDArrays(ModelConfig config, NDManager m, Map<String, NDArray> arrays) {
        TorchRuntime.start(0);
        Map<String, NDArray> p = new LinkedHashMap<>();
        DataType type = null;
        for (Map.Entry<String, Shape> e : shapes(config).entrySet()) {
            NDArray a = arrays.get(e.getKey());
            if (a == null) {
                throw new IllegalArgumentException("checkpoint has no tensor " + e.getKey());
            }
            if (!a.getShape().equals(e.getValue())) {
                throw new IllegalArgumentException("tensor " + e.getKey() + " has shape " + a.getShape()
                        + ", the config needs " + e.getValue());
            }
            if (type != null && a.getDataType() != type) {
                throw new IllegalArgumentException("tensor " + e.getKey() + " is " + a.getDataType() + ", the others "
                        + type);
            }
            type = a.getDataType();
            p.put(e.getKey(), a);
        }
        if (type != DataType.FLOAT32 && type != DataType.FLOAT16) {
            throw new IllegalArgumentException("parameters must be float32 or float16, got " + type);
        }
        return new LlamaModel(config, m, p);
    }

    /** The parameters' data type (float32, or float16 for an inference-only model). */
    public DataType dataType() {
        return dtype;
    }

    /** An independent copy of the weights (e.g. the frozen reference pi_S next to the trained policy). */
    public LlamaModel copy() {
        NDManager m = NDManager.newBaseManager(manager.getDevice());
        Map<String, NDArray> p = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            NDArray c = v.duplicate();
            c.attach(m);
            p.put(k, c);
        });
        LlamaModel copy = new LlamaModel(config, m, p);
        copy.setRopeTheta(ropeTheta);
        copy.attentionBlock = attentionBlock;
        copy.attentionCells = attentionCells;
        return copy;
    }

    /** Parameter names and shapes, in a fixed order. */
    public static Map<String, Shape> shapes(ModelConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        int d = c.hiddenSize();
        int q = c.numAttentionHeads() * c.headDim();
        int kv = c.numKeyValueHeads() * c.headDim();
        s.put("model.embed_tokens.weight", new Shape(c.vocabSize(), d));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = "model.layers." + i + ".";
            s.put(l + "input_layernorm.weight", new Shape(d));
            s.put(l + "self_attn.q_proj.weight", new Shape(q, d));
            s.put(l + "self_attn.k_proj.weight", new Shape(kv, d));
            s.put(l + "self_attn.v_proj.weight", new Shape(kv, d));
            if (c.qkvBias()) {
                s.put(l + "self_attn.q_proj.bias", new Shape(q));
                s.put(l + "self_attn.k_proj.bias", new Shape(kv));
                s.put(l + "self_attn.v_proj.bias", new Shape(kv));
            }
            s.put(l + "self_attn.o_proj.weight", new Shape(d, q));
            if (c.outputBias()) {
                s.put(l + "self_attn.o_proj.bias", new Shape(d));
            }
            s.put(l + "post_attention_layernorm.weight", new Shape(d));
            s.put(l + "mlp.gate_proj.weight", new Shape(c.intermediateSize(), d));
            s.put(l + "mlp.up_proj.weight", new Shape(c.intermediateSize(), d));
            s.put(l + "mlp.down_proj.weight", new Shape(d, c.intermediateSize()));
            if (c.mlpBiases()) {
                s.put(l + "mlp.gate_proj.bias", new Shape(c.intermediateSize()));
                s.put(l + "mlp.up_proj.bias", new Shape(c.intermediateSize()));
                s.put(l + "mlp.down_proj.bias", new Shape(d));
            }
        }
        s.put("model.norm.weight", new Shape(d));
        if (!c.tieWordEmbeddings()) {
            s.put("lm_head.weight", new Shape(c.vocabSize(), d));
        }
        return s;
    }

    private static Iterable<String> expectedNames(ModelConfig c) {
        return shapes(c).keySet();
    }

    public ModelConfig config() {
        return config.withRopeTheta(ropeTheta);
    }

    /** Named parameters (live arrays: training updates them in place). */
    public Map<String, NDArray> parameters() {
        return Collections.unmodifiableMap(params);
    }

    public NDManager manager() {
        return manager;
    }

    public double ropeTheta() {
        return ropeTheta;
    }

    /**
     * Changes the RoPE base for every later forward pass (LongPO runs the policy at an enlarged theta1),
     * and with it the attention temperature ({@link ModelConfig#attentionTemperature(double)}).
     */
    public void setRopeTheta(double theta) {
        if (!(theta > 0)) {
            throw new IllegalArgumentException("rope theta must be positive, got " + theta);
        }
        if (theta != ropeTheta) {
            NDArray old = scale;
            scale = Tensors.scalar(manager, config.attentionTemperature(theta) / Math.sqrt(config.headDim()));
            old.close();
        }
        this.ropeTheta = theta;
    }

    /** The factor on the attention logits at the current base (1 at the native base). */
    public double attentionTemperature() {
        return config.attentionTemperature(ropeTheta);
    }

    public int attentionBlock() {
        return attentionBlock;
    }

    /** Queries per attention block at most; smaller blocks lower peak memory at long lengths. */
    public void setAttentionBlock(int block) {
        if (block < 1) {
            throw new IllegalArgumentException("attention block must be positive");
        }
        this.attentionBlock = block;
    }

    public long attentionCells() {
        return attentionCells;
    }

    /**
     * Query x key scores of one attention block, over all rows and heads of the batch, at most; a block has
     * at least one query whatever the budget. It bounds the largest intermediate of attention by {@code cells}
     * entries (defaults: {@link #CPU_CELLS}, {@link #GPU_CELLS}).
     */
    public void setAttentionCells(long cells) {
        if (cells < 1) {
            throw new IllegalArgumentException("the attention block budget must be positive");
        }
        this.attentionCells = cells;
    }

    /**
     * Where the query blocks of a pass of {@code rows} x {@code t} new tokens after {@code past} cached ones
     * start, and {@code t} last: block {@code [b[j], b[j+1])} has at most {@link #attentionBlock} queries and at
     * most {@link #attentionCells} scores (all rows and heads) against its {@code past + b[j+1]} keys.
     */
    int[] blockBounds(int rows, int past, int t) {
        long perQuery = (long) rows * config.numAttentionHeads();
        List<Integer> starts = new ArrayList<>();
        for (int t0 = 0; t0 < t; ) {
            starts.add(t0);
            int n = Math.min(attentionBlock, t - t0);
            while (n > 1 && perQuery * n * (past + t0 + n) > attentionCells) {
                n--;
            }
            t0 += n;
        }
        int[] bounds = new int[starts.size() + 1];
        for (int j = 0; j < starts.size(); j++) {
            bounds[j] = starts.get(j);
        }
        bounds[starts.size()] = t;
        return bounds;
    }

    /** Marks every parameter as trainable (gradients are collected for it) or frozen. */
    public void setTrainable(boolean trainable) {
        params.values().forEach(p -> p.setRequiresGradient(trainable));
    }

    /**
     * Logits for a batch of token rows.
     *
     * @param tokens [B, T] token ids (int64)
     * @param leftPad per row, the number of padding positions at the start of the row (counted over
     *     the whole sequence including cached tokens); null for none. Padded keys are masked and
     *     positions start at 0 on the first real token.
     * @param cache past keys and values, extended by this call; null to attend only within {@code tokens}
     * @return [B, T, vocab] float32 logits
     */
    public NDArray forward(NDArray tokens, int[] leftPad, KvCache cache) {
        return forward(tokens, leftPad, cache, null);
    }

    /**
     * Logits at some positions only: the LM head (and its [positions, vocab] output) runs on the rows of
     * the flattened [B * T] positions listed in {@code at} (row-major, {@code b * T + t}), so a long
     * context costs no vocabulary-sized logits where nothing is predicted: a generator needs the last
     * position, a scorer the answer tokens. For a real vocabulary (150K entries) the full [T, vocab]
     * logits of a 32K-token context would be 19 GB in float32.
     *
     * @param at flattened positions whose logits are wanted, or null for every position
     * @return [N, vocab] float32 logits in the order of {@code at}, or [B, T, vocab] when {@code at} is null
     */
    public NDArray forward(NDArray tokens, int[] leftPad, KvCache cache, int[] at) {
        if (recompute && cache == null && JniUtils.isGradMode() && params.get("model.embed_tokens.weight").hasGradient()) {
            return head(select(forwardRecomputed(tokens, leftPad), at));
        }
        Pass p = new Pass(tokens, leftPad, cache == null ? 0 : cache.length());
        NDArray x = embed(tokens);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            x = layer(i, x, p, cache);
        }
        if (cache != null) {
            cache.advance(p.t);
        }
        return head(select(x, at));
    }

    /** Rows {@code at} of the flattened [B * T, d] hidden states, or all of {@code x} for null (differentiable gather). */
    private static NDArray select(NDArray x, int[] at) {
        if (at == null) {
            return x;
        }
        long[] s = x.getShape().getShape();
        long rows = s[0] * s[1];
        if (at.length == 0) {
            throw new IllegalArgumentException("no position to compute logits at");
        }
        for (int i : at) {
            if (i < 0 || i >= rows) {
                throw new IllegalArgumentException("position " + i + " outside the " + rows + " positions of the batch");
            }
        }
        NDArray index = Tensors.ints(x.getManager(), at, new Shape(at.length, 1)).broadcast(new Shape(at.length, s[2]));
        return x.reshape(rows, s[2]).gather(index, 0);
    }

    /** The tables one forward pass shares across layers: RoPE cos/sin and the attention masks (by window). */
    private final class Pass {
        final NDManager m;
        final int b;
        final int t;
        final int past;
        final int[] pad;
        final NDArray[] rope;
        /** Query block starts and the pass length ({@link #blockBounds}). */
        final int[] bounds;
        private NDArray full;
        private final Map<Integer, NDArray> windows = new java.util.HashMap<>();

        Pass(NDArray tokens, int[] leftPad, int past) {
            long[] shape = tokens.getShape().getShape();
            this.m = tokens.getManager();
            this.b = (int) shape[0];
            this.t = (int) shape[1];
            this.past = past;
            this.pad = leftPad == null ? new int[b] : leftPad;
            this.bounds = blockBounds(b, past, t);
            NDArray[] r = ropeTables(m, b, t, past, pad);
            this.rope = dtype == DataType.FLOAT32 ? r : new NDArray[] {r[0].toType(dtype, false), r[1].toType(dtype, false)};
        }

        /**
         * The additive mask of layer {@code i} (causal, padding, and its sliding window if any) for query
         * rows {@code t0 .. t1} against the keys they may see. A pass of one block shares one mask per
         * window across layers; with several blocks each block's mask is made on its own, so no L x L
         * mask exists: the caller closes it ({@link #shared()} is false).
         */
        NDArray mask(int i, int t0, int t1) {
            int window = config.window(i);
            int w = window > 0 && window < past + t ? window : 0;
            if (!shared()) {
                return LlamaModel.mask(m, b, t0, t1, past, pad, w);
            }
            if (w > 0) {
                return windows.computeIfAbsent(w, x -> LlamaModel.mask(m, b, 0, t, past, pad, x));
            }
            if (full == null) {
                full = LlamaModel.mask(m, b, 0, t, past, pad, 0);
            }
            return full;
        }

        /** Whether the pass is one attention block, whose masks are kept for every layer. */
        boolean shared() {
            return bounds.length == 2;
        }
    }

    private NDArray embed(NDArray tokens) {
        return tokens.getNDArrayInternal().embedding(tokens, params.get("model.embed_tokens.weight"), SparseFormat.DENSE)
                .get(0);
    }

    /** Queries [B, H, T, hd] and keys and values [B, kvH, T, hd] of layer {@code i}, RoPE applied. */
    private NDArray[] qkv(int i, NDArray x, Pass p) {
        String l = "model.layers." + i + ".";
        int hd = config.headDim();
        NDArray h = rmsNorm(x, params.get(l + "input_layernorm.weight"));
        NDArray q = linear(h, l + "self_attn.q_proj").reshape(p.b, p.t, config.numAttentionHeads(), hd)
                .transpose(0, 2, 1, 3);
        NDArray k = linear(h, l + "self_attn.k_proj").reshape(p.b, p.t, config.numKeyValueHeads(), hd)
                .transpose(0, 2, 1, 3);
        NDArray v = linear(h, l + "self_attn.v_proj").reshape(p.b, p.t, config.numKeyValueHeads(), hd)
                .transpose(0, 2, 1, 3);
        return new NDArray[] {Rope.apply(q, p.rope), Rope.apply(k, p.rope), v};
    }

    /** Keys or values [B, kvH, S, hd] repeated for grouped-query attention to [B, H, S, hd]. */
    private NDArray expand(NDArray kv) {
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        if (kvHeads == heads) {
            return kv;
        }
        long[] s = kv.getShape().getShape();
        return kv.expandDims(2).broadcast(new Shape(s[0], kvHeads, heads / kvHeads, s[2], s[3]))
                .reshape(s[0], heads, s[2], s[3]);
    }

    /** The rest of layer {@code i} for some rows: output projection, residual, MLP; {@code attn} is [B, H, r, hd]. */
    private NDArray afterAttention(int i, NDArray residual, NDArray attn) {
        String l = "model.layers." + i + ".";
        long[] s = attn.getShape().getShape();
        NDArray o = attn.transpose(0, 2, 1, 3).reshape(s[0], s[2], s[1] * s[3]);
        NDArray z = residual.add(linear(o, l + "self_attn.o_proj"));
        NDArray h2 = rmsNorm(z, params.get(l + "post_attention_layernorm.weight"));
        NDArray gate = linear(h2, l + "mlp.gate_proj");
        NDArray up = linear(h2, l + "mlp.up_proj");
        return z.add(linear(Activation.sigmoid(gate).mul(gate).mul(up), l + "mlp.down_proj"));
    }

    private NDArray layer(int i, NDArray x, Pass p, KvCache cache) {
        NDArray[] qkv = qkv(i, x, p);
        NDArray k = qkv[1];
        NDArray v = qkv[2];
        if (cache != null) {
            NDArray[] kv = cache.append(i, k, v);
            k = kv[0];
            v = kv[1];
        }
        return afterAttention(i, x, attention(qkv[0], expand(k), expand(v), p, i));
    }

    private NDArray head(NDArray x) {
        NDArray n = rmsNorm(x, params.get("model.norm.weight"));
        NDArray logits = n.matMul(params.get(config.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight")
                .transpose());
        return dtype == DataType.FLOAT32 ? logits : logits.toType(DataType.FLOAT32, false);
    }

    /** Causal attention of layer {@code i}, one block of queries at a time, each block against the keys it may see. */
    private NDArray attention(NDArray q, NDArray k, NDArray v, Pass p, int i) {
        NDList out = new NDList();
        for (int j = 0; j + 1 < p.bounds.length; j++) {
            int t0 = p.bounds[j];
            int t1 = p.bounds[j + 1];
            NDArray mb = p.mask(i, t0, t1);
            out.add(attendBlock(q, k, v, mb, p.past, p.t, t0, t1));
            if (!p.shared()) {
                mb.close();
            }
        }
        return out.size() == 1 ? out.get(0) : NDArrays.concat(out, 2);
    }

    /**
     * Queries {@code t0 .. t1} against the keys they may see: softmax(q k^T * scale + mb) v, [B, H, t1 - t0, hd];
     * {@code mb} is the block's mask, [B, 1, t1 - t0, past + t1].
     */
    private NDArray attendBlock(NDArray q, NDArray k, NDArray v, NDArray mb, int past, int t, int t0, int t1) {
        int keys = past + t1;
        NDArray qb = t0 == 0 && t1 == t ? q : q.get(new NDIndex(":, :, {}:{}", t0, t1));
        NDArray kb = keys == k.getShape().get(2) ? k : k.get(new NDIndex(":, :, :{}", keys));
        NDArray vb = keys == v.getShape().get(2) ? v : v.get(new NDIndex(":, :, :{}", keys));
        // every B x H x block x keys intermediate is closed as soon as it is consumed: left to the
        // caller's scope, a 4096-token prefill of 8 rows held 17 GB of them (autograd keeps what
        // backward needs on its own); the scale goes on the block's queries (rows x hd) rather than its
        // scores (rows x keys), and the mask is added in place (matmul's backward does not read its output)
        NDArray qs = qb.mul(scale);
        NDArray raw = qs.matMul(kb.transpose(0, 1, 3, 2));
        qs.close();
        NDArray scores = dtype == DataType.FLOAT32 ? raw : raw.toType(DataType.FLOAT32, false);
        if (scores != raw) {
            raw.close();
        }
        scores.addi(mb);
        NDArray p = dtype == DataType.FLOAT32 ? scores.softmax(-1) : scores.softmax(-1).toType(dtype, false);
        scores.close();
        NDArray out = p.matMul(vb);
        p.close();
        return out;
    }

    /**
     * Training forward pass that keeps only each layer's input (no autograd graph for the layers):
     * it returns a leaf standing for the last layer's output (the caller applies the head), and {@link #backwardRecomputed}
     * later recomputes the layers one at a time, and each layer one query block at a time, to
     * back-propagate. Memory grows linearly with the sequence length instead of with its square.
     */
    private NDArray forwardRecomputed(NDArray tokens, int[] leftPad) {
        Pass p = new Pass(tokens, leftPad, 0);
        List<NDArray> inputs = new ArrayList<>();
        NDArray x;
        JniUtils.setGradMode(false);
        try {
            x = embed(tokens);
            for (int i = 0; i < config.numHiddenLayers(); i++) {
                inputs.add(x);
                x = layer(i, x, p, null);
            }
        } finally {
            JniUtils.setGradMode(true);
        }
        NDArray last = x.duplicate();
        last.setRequiresGradient(true);
        pending.push(new Recomputed(tokens, p, inputs, last));
        return last;
    }

    /** A training forward pass whose layers are still to be back-propagated. */
    private record Recomputed(NDArray tokens, Pass pass, List<NDArray> inputs, NDArray last) {
    }

    private final java.util.Deque<Recomputed> pending = new java.util.ArrayDeque<>();
    private long recomputedPasses;

    /** Forward passes back-propagated by recomputation so far (for tests and benchmarks). */
    public long recomputedPasses() {
        return recomputedPasses;
    }

    /**
     * Completes the backward pass of every recomputing forward pass since the last call, after the
     * loss has been back-propagated with {@code gc} (which filled the last layer's output gradient):
     * layer by layer from the top, each recomputed with autograd and back-propagated one query block
     * at a time (the gradients of queries, keys and values gathered on detached copies, then pushed
     * through the projections once), so no layer's full attention matrix is ever alive.
     */
    public void backwardRecomputed(GradientCollector gc) {
        while (!pending.isEmpty()) {
            Recomputed r = pending.pop();
            recomputedPasses++;
            Pass p = r.pass();
            NDArray g = r.last().getGradient().duplicate();
            for (int i = config.numHiddenLayers() - 1; i >= 0; i--) {
                NDArray next;
                try (NDScope layerScope = new NDScope()) {
                    NDArray x = r.inputs().get(i).duplicate();
                    x.setRequiresGradient(true);
                    NDArray[] qkv = qkv(i, x, p);
                    NDArray[] leaf = new NDArray[3];
                    for (int j = 0; j < 3; j++) {
                        leaf[j] = qkv[j].stopGradient().duplicate();
                        leaf[j].setRequiresGradient(true);
                    }
                    NDArray k = expand(leaf[1]);
                    NDArray v = expand(leaf[2]);
                    for (int j = 0; j + 1 < p.bounds.length; j++) {
                        int t0 = p.bounds[j];
                        int t1 = p.bounds[j + 1];
                        try (NDScope blockScope = new NDScope()) {
                            NDArray rows = t0 == 0 && t1 == p.t ? x : x.get(new NDIndex(":, {}:{}", t0, t1));
                            NDArray y = afterAttention(i, rows, attendBlock(leaf[0], k, v, p.mask(i, t0, t1), 0, p.t,
                                    t0, t1));
                            NDArray gRows = t0 == 0 && t1 == p.t ? g : g.get(new NDIndex(":, {}:{}", t0, t1));
                            gc.backward(y.mul(gRows).sum());
                        }
                    }
                    NDArray through = qkv[0].mul(leaf[0].getGradient()).sum()
                            .add(qkv[1].mul(leaf[1].getGradient()).sum()).add(qkv[2].mul(leaf[2].getGradient()).sum());
                    gc.backward(through);
                    next = x.getGradient().duplicate();
                    NDScope.unregister(next);
                }
                r.inputs().get(i).close();
                g.close();
                g = next;
            }
            gc.backward(embed(r.tokens()).mul(g).sum());
            g.close();
        }
    }

    /** Whether training forward passes recompute layers in backward instead of storing them (memory linear in length). */
    public boolean recompute() {
        return recompute;
    }

    /**
     * Turns recomputation on or off for training forward passes (those made while the parameters are
     * trainable); a trainer that turns it on must call {@link #backwardRecomputed} after each backward.
     */
    public void setRecompute(boolean on) {
        this.recompute = on;
    }

    private NDArray linear(NDArray x, String name) {
        NDArray y = x.matMul(params.get(name + ".weight").transpose());
        NDArray bias = params.get(name + ".bias");
        return bias == null ? y : y.add(bias);
    }

    private NDArray rmsNorm(NDArray x, NDArray w) {
        if (dtype != DataType.FLOAT32) {
            NDArray xf = x.toType(DataType.FLOAT32, false);
            NDArray rms = xf.square().mean(new int[] {-1}, true).add(eps).sqrt();
            return xf.div(rms).toType(dtype, false).mul(w);
        }
        NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return x.div(rms).mul(w);
    }

    /**
     * RoPE tables for the rows' positions (cache index minus left padding, never negative) under the
     * config's {@code rope_scaling} rule at the current base; a dynamic rule sees the longest row.
     */
    private NDArray[] ropeTables(NDManager m, int b, int t, int past, int[] pad) {
        int[][] positions = new int[b][t];
        int seqLen = 0;
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                positions[r][j] = Math.max(0, past + j - pad[r]);
                seqLen = Math.max(seqLen, positions[r][j] + 1);
            }
        }
        RopeScaling rule = config.rope();
        return Rope.tables(m, positions, rule.invFreq(config.headDim(), ropeTheta, seqLen,
                config.maxPositionEmbeddings()), rule.cosSinFactor());
    }

    /**
     * Additive mask [B, 1, t1 - t0, past + t1] ([1, 1, ...] when no row is padded) for query rows {@code t0 .. t1}: query j (cache index
     * past + j) sees key i iff pad <= i <= past + j and, with a sliding {@code window} > 0, past + j - i < window.
     */
    private static NDArray mask(NDManager m, int b, int t0, int t1, int past, int[] pad, int window) {
        int s = past + t1;
        int rows = t1 - t0;
        boolean padded = Arrays.stream(pad).anyMatch(x -> x > 0);
        // built by torch from two index vectors (one op per rule), not element by element in Java: a
        // block of 128 queries against 8K keys is 1M entries per row and layer
        try (NDManager tmp = m.newSubManager()) {
            NDArray key = tmp.arange(0, s, 1, DataType.INT64).reshape(1, 1, 1, s);
            NDArray limit = tmp.arange(past + t0, past + t1, 1, DataType.INT64).reshape(1, 1, rows, 1);
            NDArray masked = key.gt(limit);
            if (padded) {
                NDArray start = Tensors.ints(tmp, pad, new Shape(b, 1, 1, 1));
                masked = masked.logicalOr(key.lt(start).logicalAnd(limit.gte(start)));
            }
            if (window > 0) {
                masked = masked.logicalOr(limit.sub(key).gte(tmp.full(new Shape(), window, DataType.INT64)));
            }
            NDArray out = masked.toType(DataType.FLOAT32, false).mul(tmp.full(new Shape(), MASKED, DataType.FLOAT32));
            out.attach(m);
            return out;
        }
    }

    /** Float32 copies of every parameter, for saving. */
    public Map<String, float[]> toArrays() {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, v.toType(DataType.FLOAT32, false).toFloatArray()));
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }
}
