package dev.longpo.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Process-wide PyTorch settings: offline mode, the default engine, intra-op threads, and per-thread
 * grad mode. Grad mode is thread-local in PyTorch: every inference thread must switch it off, or
 * each forward pass builds an autograd graph (twice slower, more memory).
 */
public final class TorchRuntime {
    private static volatile boolean started;

    private TorchRuntime() {
    }

    /** Loads the engine once, offline, with {@code threads} intra-op threads (0 = PyTorch's default). */
    public static synchronized void start(int threads) {
        if (!started) {
            System.setProperty("ai.djl.offline", "true");
            System.setProperty("ai.djl.default_engine", "PyTorch");
            Engine.getEngine("PyTorch");
            started = true;
        }
        if (threads > 0 && JniUtils.getNumThreads() != threads) {
            JniUtils.setNumThreads(threads);
        }
    }

    /** Parses {@code cpu}, {@code gpu}, {@code gpu1} into a device. */
    public static Device device(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        if (n.equals("cpu")) {
            return Device.cpu();
        }
        if (n.startsWith("gpu") || n.startsWith("cuda")) {
            String idx = n.replaceAll("[^0-9]", "");
            return Device.gpu(idx.isEmpty() ? 0 : Integer.parseInt(idx));
        }
        throw new IllegalArgumentException("unknown device '" + name + "' (use cpu, gpu or gpuN)");
    }

    /** Switches autograd recording off for the calling thread (inference). */
    public static void inferenceThread() {
        start(0);
        JniUtils.setGradMode(false);
    }
}
