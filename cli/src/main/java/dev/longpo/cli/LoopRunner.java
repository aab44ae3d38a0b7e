package dev.longpo.cli;

import ai.djl.Device;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.streams.StreamsApp;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The whole self-evolution loop in one process: the four Kafka Streams applications and one worker
 * of every role (controller, evaluator, instruction generator, response generator, trainer), each on
 * its own thread and its own Kafka clients, exactly as {@code longpo worker --role ...} would run them
 * as separate processes on separate machines. Used by the demo and the whole-loop integration test.
 * The first worker that fails stops the loop; {@link #failure()} says which and why.
 */
public final class LoopRunner implements AutoCloseable {
    private final LongpoConfig config;
    private final Path baseModel;
    private final PrintStream log;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private final List<Thread> threads = new ArrayList<>();
    private StreamsApp streams;

    public LoopRunner(LongpoConfig config, Path baseModel, PrintStream log) {
        this.config = config;
        this.baseModel = baseModel;
        this.log = log;
    }

    /** Starts the stream processors, waits until they run, then starts every worker. */
    public void start() throws InterruptedException {
        KafkaClients clients = new KafkaClients(config);
        streams = new StreamsApp(clients);
        streams.start();
        streams.awaitRunning(Duration.ofMinutes(2));
        Device device = ModelOptions.start(config);
        for (String role : WorkerRoles.ALL) {
            Thread t = new Thread(() -> {
                try {
                    WorkerRoles.run(role, config, clients, baseModel, "0", device, stop, false, log);
                } catch (Exception | Error e) {
                    if (!stop.get()) {
                        failure.compareAndSet(null, role + " worker failed: " + e);
                        e.printStackTrace(log);
                    }
                }
            }, "longpo-" + role);
            threads.add(t);
            t.start();
        }
    }

    /** Why the loop broke, if a worker failed. */
    public Optional<String> failure() {
        return Optional.ofNullable(failure.get());
    }

    /** Stops every worker (each finishes or aborts the batch in flight) and closes the stream processors. */
    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join(Duration.ofMinutes(2).toMillis());
        }
        if (streams != null) {
            streams.close();
        }
    }
}
