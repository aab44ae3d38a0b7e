package dev.longpo.deploy;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.TopicAdmin;
import dev.longpo.events.Topics;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * The local stack behind {@code longpo up/down/status}: a real Apache Kafka broker in KRaft combined
 * mode and Apicurio Registry, each a child JVM on loopback. The broker's storage is formatted on first
 * start and kept in {@code stack.dir}; the PIDs are recorded in {@code stack.dir/stack.properties} and
 * {@link #down} stops exactly those processes.
 */
public final class EmbeddedStack {
    /** Recorded state of a running stack. */
    public record State(long kafkaPid, long registryPid, int kafkaPort, int registryPort) {
    }

    /** What {@link #status} found. */
    public record Status(State recorded, boolean kafkaAlive, boolean registryAlive, boolean registryReady) {
        public boolean running() {
            return kafkaAlive && registryAlive;
        }
    }

    private final LongpoConfig config;
    private final Path dir;

    public EmbeddedStack(LongpoConfig config) {
        this.config = config;
        this.dir = config.getPath("stack.dir");
    }

    public Path dir() {
        return dir;
    }

    /** Configuration that points clients at this stack. */
    public LongpoConfig clientConfig() {
        return config.with(Map.of("kafka.bootstrap.servers", "127.0.0.1:" + config.getInt("stack.kafka.port"),
                "registry.url", RegistryServer.ccompatUrl(config.getInt("stack.registry.port"))));
    }

    /** Starts broker and registry, waits until both answer, creates the topics. */
    public State up() throws IOException {
        Status st = status();
        if (st.recorded() != null && (st.kafkaAlive() || st.registryAlive())) {
            throw new StackException("the stack is already running (kafka pid " + st.recorded().kafkaPid()
                    + ", registry pid " + st.recorded().registryPid() + "); run 'longpo down' first");
        }
        int kafkaPort = config.getInt("stack.kafka.port");
        int controllerPort = config.getInt("stack.kafka.controller.port");
        int registryPort = config.getInt("stack.registry.port");
        requireFree(kafkaPort, "stack.kafka.port");
        requireFree(controllerPort, "stack.kafka.controller.port");
        requireFree(registryPort, "stack.registry.port");
        Path registryHome = config.getPath("stack.registry.home");
        RegistryServer.runnerJar(registryHome);
        Files.createDirectories(dir);
        Duration timeout = config.getDuration("stack.start.timeout.ms");

        Path props = writeServerProperties(kafkaPort, controllerPort);
        formatIfNeeded(props);
        List<String> kafkaJvm = List.of("-Xmx" + config.get("stack.kafka.heap"), "-XX:+UseG1GC",
                "-cp", System.getProperty("java.class.path"));
        long kafkaPid = ChildJvm.start(dir, dir.resolve("kafka.log"), kafkaJvm, List.of("kafka.Kafka", props.toString()));
        long registryPid;
        try {
            registryPid = RegistryServer.start(dir, registryHome, registryPort, config.get("stack.registry.heap"));
        } catch (IOException | RuntimeException e) {
            ChildJvm.stop(kafkaPid, dir, Duration.ofSeconds(10));
            throw e;
        }
        State state = new State(kafkaPid, registryPid, kafkaPort, registryPort);
        save(state);
        try {
            ChildJvm.await("kafka broker", kafkaPid, dir.resolve("kafka.log"), timeout, () -> brokerReady(kafkaPort));
            ChildJvm.await("schema registry", registryPid, dir.resolve("registry.log"), timeout,
                    () -> RegistryServer.isReady(registryPort));
            TopicAdmin.ensureAll(new KafkaClients(clientConfig()));
        } catch (RuntimeException e) {
            down();
            throw e;
        }
        return state;
    }

    /** Stops the recorded processes (SIGTERM, then SIGKILL after 20 s). Returns the names of those stopped. */
    public List<String> down() {
        State s = load();
        List<String> stopped = new ArrayList<>();
        if (s == null) {
            return stopped;
        }
        if (ChildJvm.stop(s.registryPid(), dir, Duration.ofSeconds(20))) {
            stopped.add("registry (pid " + s.registryPid() + ")");
        }
        if (ChildJvm.stop(s.kafkaPid(), dir, Duration.ofSeconds(20))) {
            stopped.add("kafka (pid " + s.kafkaPid() + ")");
        }
        try {
            Files.deleteIfExists(stateFile());
        } catch (IOException e) {
            throw new StackException("cannot remove " + stateFile() + ": " + e.getMessage());
        }
        return stopped;
    }

    public Status status() {
        State s = load();
        if (s == null) {
            return new Status(null, false, false, false);
        }
        boolean k = ChildJvm.find(s.kafkaPid(), dir).isPresent();
        boolean r = ChildJvm.find(s.registryPid(), dir).isPresent();
        return new Status(s, k, r, r && RegistryServer.isReady(s.registryPort()));
    }

    private Path writeServerProperties(int port, int controllerPort) throws IOException {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
        p.put("log.dirs", dir.resolve("kafka-data").toString());
        p.put("num.partitions", "3");
        p.put("offsets.topic.replication.factor", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("message.max.bytes", String.valueOf(Topics.MAX_REQUEST_BYTES));
        p.putAll(config.withPrefix("stack.kafka.server."));
        Path f = dir.resolve("server.properties");
        try (Writer w = Files.newBufferedWriter(f)) {
            p.store(w, "written by longpo up");
        }
        return f;
    }

    private void formatIfNeeded(Path props) throws IOException {
        if (Files.exists(dir.resolve("kafka-data").resolve("meta.properties"))) {
            return;
        }
        try {
            ChildJvm.run(List.of("-cp", System.getProperty("java.class.path")),
                    List.of("kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(), "-c",
                            props.toString()), Duration.ofSeconds(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StackException("interrupted while formatting Kafka storage");
        }
    }

    private static boolean brokerReady(int port) {
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
        } catch (IOException e) {
            return false;
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + port,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000))) {
            return !admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty();
        } catch (Exception e) {
            return false;
        }
    }

    private static void requireFree(int port, String key) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
        } catch (IOException e) {
            throw new StackException("port " + port + " on 127.0.0.1 is already in use; choose another with --set "
                    + key + "=<port>");
        }
    }

    private Path stateFile() {
        return dir.resolve("stack.properties");
    }

    private void save(State s) throws IOException {
        Properties p = new Properties();
        p.put("kafka.pid", String.valueOf(s.kafkaPid()));
        p.put("registry.pid", String.valueOf(s.registryPid()));
        p.put("kafka.port", String.valueOf(s.kafkaPort()));
        p.put("registry.port", String.valueOf(s.registryPort()));
        try (Writer w = Files.newBufferedWriter(stateFile())) {
            p.store(w, "processes started by longpo up");
        }
    }

    private State load() {
        if (!Files.exists(stateFile())) {
            return null;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(stateFile())) {
            p.load(r);
            return new State(Long.parseLong(p.getProperty("kafka.pid")), Long.parseLong(p.getProperty("registry.pid")),
                    Integer.parseInt(p.getProperty("kafka.port")), Integer.parseInt(p.getProperty("registry.port")));
        } catch (IOException | RuntimeException e) {
            throw new StackException("unreadable stack state " + stateFile() + " (" + e.getMessage()
                    + "); stop the processes by hand and delete it");
        }
    }
}
