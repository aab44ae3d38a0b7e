package dev.longpo.loop;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.Telemetry;
import dev.longpo.streams.StreamsApp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole self-evolution loop in one process: the four Kafka Streams applications and one worker
 * of every {@link Role}, each on its own thread and its own Kafka clients, exactly as
 * {@code longpo worker --role ...} would run them as separate processes on separate machines. Used by
 * the demo, {@code longpo reproduce} and the whole-loop integration test. The first worker that fails
 * stops the loop; {@link #failure()} says which and why.
 */
public final class LoopRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LoopRunner.class);
    private final LongpoConfig config;
    private final Path baseModel;
    private final List<Role> roles;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private final List<Thread> threads = new ArrayList<>();
    private StreamsApp streams;

    /** A runner of every role. */
    public LoopRunner(LongpoConfig config, Path baseModel) {
        this(config, baseModel, List.of(Role.values()));
    }

    /** A runner of the stream processors and the given roles only. */
    public LoopRunner(LongpoConfig config, Path baseModel, List<Role> roles) {
        this.config = threadBudget(config, roles, Runtime.getRuntime().availableProcessors());
        this.baseModel = baseModel;
        this.roles = List.copyOf(roles);
    }

    /**
     * The configuration with {@code model.threads} resolved for one process running {@code roles}: an explicit
     * value is kept; 0 (auto) becomes an equal share of {@code cores} per model role, at least one, so the
     * roles do not each start a PyTorch thread per core and oversubscribe the machine.
     */
    public static LongpoConfig threadBudget(LongpoConfig config, List<Role> roles, int cores) {
        if (config.getInt("model.threads") > 0) {
            return config;
        }
        long modelRoles = roles.stream().filter(r -> r != Role.CONTROL).count();
        int share = (int) Math.max(1, cores / Math.max(1, modelRoles));
        LOG.info("{} model roles on {} cores: {} PyTorch thread(s) each (model.threads)", modelRoles, cores, share);
        return config.with("model.threads", share);
    }

    /**
     * The settings of one role ({@code streams} for the stream processors): with {@code loop.role.settings}
     * set, that folder's {@code <role>.properties} over the shared settings, so each role runs under its own
     * principal as separate processes would; otherwise the shared settings.
     */
    public static LongpoConfig forRole(LongpoConfig config, String role) {
        String folder = config.get("loop.role.settings");
        if (folder == null || folder.isBlank()) {
            return config;
        }
        Path file = Path.of(folder.trim()).resolve(role + ".properties");
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new IllegalArgumentException("loop.role.settings is " + folder + " but it has no " + role
                    + ".properties; run longpo setup --secure --credentials " + folder);
        }
        return config.withFile(file);
    }

    /** Starts the stream processors, waits until they run, then starts every worker. */
    public void start() throws InterruptedException {
        Telemetry.serve(config);
        streams = new StreamsApp(new KafkaClients(forRole(config, "streams")));
        streams.start();
        streams.awaitRunning(Duration.ofMinutes(2));
        for (Role role : roles) {
            LongpoConfig own = forRole(config, role.id());
            KafkaClients clients = new KafkaClients(own);
            Thread t = new Thread(() -> {
                try {
                    Roles.run(role, new RoleRunner.Context(own, clients, baseModel, "0", stop, false));
                } catch (Exception | Error e) {
                    if (!stop.get()) {
                        failure.compareAndSet(null, role + " worker failed: " + e);
                        LOG.error("{} worker failed", role, e);
                    }
                }
            }, "longpo-" + role.id());
            threads.add(t);
            t.start();
        }
    }

    /** Why the loop broke, if a worker failed. */
    public Optional<String> failure() {
        return Optional.ofNullable(failure.get());
    }

    /**
     * Stops every worker and closes the stream processors: the stop flag ends each worker's loop and, bound
     * to each worker thread, a generation in flight between two decode steps (its batch was not committed,
     * so it is read again by the next run), so stopping takes seconds, not the rest of a batch.
     */
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
