package dev.longpo.deploy;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.TopicAdmin;
import dev.longpo.events.Topics;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * The local stack behind {@code longpo up/down/status}: real Apache Kafka brokers in KRaft combined
 * mode ({@code stack.kafka.brokers} of them, each broker and controller, one quorum) and Apicurio
 * Registry, each a child JVM on loopback. With three or more brokers every topic, internal ones
 * included, is replicated three times with {@code min.insync.replicas=2}, so with {@code acks=all}
 * the loss of one broker loses nothing and stops nothing. Node {@code i} (1-based) listens on
 * {@code stack.kafka.port + 10 (i - 1)} and its controller on {@code stack.kafka.controller.port + 10 (i - 1)}.
 * Storage is formatted on first start and kept in {@code stack.dir}; the PIDs are recorded in
 * {@code stack.dir/stack.properties} and {@link #down} stops exactly those processes.
 * {@link #killBroker} and {@link #startBroker} inject and repair a broker failure (tests, drills). With
 * {@code stack.kafka.secure} clients authenticate with SCRAM-SHA-512 and are authorized by ACLs
 * ({@code StandardAuthorizer}); the admin's password is made on first start ({@code stack.dir/admin.password}),
 * and {@code longpo setup --secure} makes a user with its ACLs per role ({@link Access}); the registry then
 * takes HTTP basic auth only ({@link RegistryAuthProxy} on {@code stack.registry.port}, Apicurio behind it
 * on {@code stack.registry.internal.port}).
 */
public final class EmbeddedStack {
    /** Ports between one node's listeners and the next node's. */
    static final int NODE_PORT_STEP = 10;

    /** Recorded state of a running stack: one PID and port per broker, node 1 first. */
    public record State(List<Long> kafkaPids, long registryPid, List<Integer> kafkaPorts, int registryPort,
                        long registryProxyPid) {
        public State {
            kafkaPids = List.copyOf(kafkaPids);
            kafkaPorts = List.copyOf(kafkaPorts);
        }

        /** The bootstrap servers of every broker. */
        public String bootstrapServers() {
            return kafkaPorts.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
        }
    }

    /** What {@link #status} found: which brokers are alive (node 1 first) and the registry. */
    public record Status(State recorded, List<Boolean> brokersAlive, boolean registryAlive, boolean registryReady) {
        public boolean kafkaAlive() {
            return !brokersAlive.isEmpty() && brokersAlive.stream().allMatch(b -> b);
        }

        public boolean running() {
            return kafkaAlive() && registryAlive;
        }
    }

    private final LongpoConfig config;
    private final Path dir;
    private final int brokers;
    private final boolean secure;

    public EmbeddedStack(LongpoConfig config) {
        this.config = config;
        this.dir = config.getPath("stack.dir");
        this.brokers = config.getInt("stack.kafka.brokers");
        this.secure = config.getBoolean("stack.kafka.secure");
        if (brokers < 1 || brokers > 9) {
            throw new StackException("stack.kafka.brokers must be 1 to 9, got " + brokers);
        }
    }

    public Path dir() {
        return dir;
    }

    /** The replication factor of every topic on this stack: 3, or the broker count when smaller. */
    public int replicationFactor() {
        return Math.min(3, brokers);
    }

    private int minInsyncReplicas() {
        return replicationFactor() >= 3 ? 2 : 1;
    }

    private int kafkaPort(int node) {
        return config.getInt("stack.kafka.port") + NODE_PORT_STEP * (node - 1);
    }

    private int controllerPort(int node) {
        return config.getInt("stack.kafka.controller.port") + NODE_PORT_STEP * (node - 1);
    }

    /** Configuration that points clients at this stack (and creates its topics with its replication factor). */
    public LongpoConfig clientConfig() {
        String bootstrap = IntStream.rangeClosed(1, brokers).mapToObj(n -> "127.0.0.1:" + kafkaPort(n))
                .collect(Collectors.joining(","));
        Map<String, String> c = new java.util.HashMap<>(Map.of("kafka.bootstrap.servers", bootstrap,
                "registry.url", RegistryServer.ccompatUrl(config.getInt("stack.registry.port")),
                "topics.replication.factor", String.valueOf(replicationFactor())));
        if (secure) { // the admin's identity; each role's own comes from longpo setup --secure
            c.put("kafka.security.protocol", "SASL_PLAINTEXT");
            c.put("kafka.sasl.mechanism", "SCRAM-SHA-512");
            c.put("kafka.sasl.jaas.config", Access.jaas(ADMIN, adminPassword()));
            c.put("registry.basic.auth.user.info", ADMIN + ":" + adminPassword());
        }
        return config.with(c);
    }

    /** A secure stack's admin client settings ({@code --config} them for {@code longpo setup --secure}). */
    public Path adminSettings() {
        return dir.resolve("admin.properties");
    }

    /** The super user of a secure stack. */
    public static final String ADMIN = "admin";

    /** The admin's password of a secure stack: made on first start, kept owner-only in {@code stack.dir}. */
    private String adminPassword() {
        Path f = dir.resolve("admin.password");
        try {
            if (!Files.exists(f)) {
                Files.createDirectories(dir);
                byte[] b = new byte[24];
                new java.security.SecureRandom().nextBytes(b);
                AtomicFiles.write(f, java.util.HexFormat.of().formatHex(b).getBytes(StandardCharsets.UTF_8));
                AtomicFiles.setMode(f, "rw-------");
            }
            return Files.readString(f).trim();
        } catch (IOException e) {
            throw new StackException("cannot read or create the admin password " + f + ": " + e.getMessage());
        }
    }

    /** Starts the brokers and the registry, waits until all answer, creates the topics. */
    public State up() throws IOException {
        Status st = status();
        if (st.recorded() != null && (st.brokersAlive().contains(true) || st.registryAlive())) {
            throw new StackException("the stack is already running (kafka pids " + st.recorded().kafkaPids()
                    + ", registry pid " + st.recorded().registryPid() + "); run 'longpo down' first");
        }
        int registryPort = config.getInt("stack.registry.port");
        for (int n = 1; n <= brokers; n++) {
            requireFree(kafkaPort(n), "stack.kafka.port");
            requireFree(controllerPort(n), "stack.kafka.controller.port");
        }
        requireFree(registryPort, "stack.registry.port");
        int registryInternal = config.getInt("stack.registry.internal.port");
        if (secure) {
            requireFree(registryInternal, "stack.registry.internal.port");
        }
        Path registryHome = config.getPath("stack.registry.home");
        RegistryServer.runnerJar(registryHome);
        Files.createDirectories(dir);
        Duration timeout = config.getDuration("stack.start.timeout.ms");

        formatIfNeeded();
        List<Long> pids = new ArrayList<>();
        long registryPid;
        try {
            for (int n = 1; n <= brokers; n++) {
                pids.add(startNode(n));
            }
            registryPid = RegistryServer.start(dir, registryHome, secure ? registryInternal : registryPort,
                    config.get("stack.registry.heap"));
        } catch (IOException | RuntimeException e) {
            pids.forEach(pid -> ChildJvm.stop(pid, dir, Duration.ofSeconds(10)));
            throw e;
        }
        long proxyPid = 0;
        if (secure) { // basic auth in front of the registry, as a Confluent registry with basic auth has it
            Path credentials = dir.resolve("registry.credentials");
            AtomicFiles.write(credentials, (ADMIN + ":" + adminPassword()).getBytes(StandardCharsets.UTF_8));
            AtomicFiles.setMode(credentials, "rw-------");
            proxyPid = ChildJvm.start(dir, dir.resolve("registry-proxy.log"), List.of("-Xmx64m", "-cp",
                    System.getProperty("java.class.path")), List.of(RegistryAuthProxy.class.getName(),
                    String.valueOf(registryPort), String.valueOf(registryInternal), credentials.toString()));
        }
        State state = new State(pids, registryPid, IntStream.rangeClosed(1, brokers).map(this::kafkaPort).boxed().toList(),
                registryPort, proxyPid);
        save(state);
        try {
            for (int n = 1; n <= brokers; n++) {
                int port = kafkaPort(n);
                ChildJvm.await("kafka broker " + n, pids.get(n - 1), log(n), timeout, () -> brokerReady(port, brokers));
            }
            ChildJvm.await("schema registry", registryPid, dir.resolve("registry.log"), timeout,
                    () -> RegistryServer.isReady(registryPort));
            TopicAdmin.ensureAll(new KafkaClients(clientConfig()));
            if (secure) {
                Path admin = adminSettings();
                String settings = Access.clientSettings(ADMIN, adminPassword()) + "registry.basic.auth.user.info=" + ADMIN + ":"
                        + adminPassword() + "\n";
                AtomicFiles.write(admin, settings.getBytes(StandardCharsets.UTF_8));
                AtomicFiles.setMode(admin, "rw-------");
            }
        } catch (RuntimeException e) {
            down();
            throw e;
        }
        return state;
    }

    /** Starts node {@code n}'s JVM from its server properties; returns its PID. */
    private long startNode(int n) throws IOException {
        List<String> kafkaJvm = List.of("-Xmx" + config.get("stack.kafka.heap"), "-XX:+UseG1GC",
                "-cp", System.getProperty("java.class.path"));
        return ChildJvm.start(dir, log(n), kafkaJvm, List.of("kafka.Kafka", properties(n).toString()));
    }

    /**
     * SIGKILLs broker {@code node} (1-based), as a crashed machine would stop: no controlled shutdown, no
     * leadership handed over. Returns false if it was not running.
     */
    public boolean killBroker(int node) {
        State s = requireState();
        Optional<ProcessHandle> h = ChildJvm.find(s.kafkaPids().get(node - 1), dir);
        h.ifPresent(p -> {
            p.destroyForcibly();
            p.onExit().join();
        });
        return h.isPresent();
    }

    /** Starts broker {@code node} again on its own storage and waits until it answers. */
    public void startBroker(int node) throws IOException {
        State s = requireState();
        if (ChildJvm.find(s.kafkaPids().get(node - 1), dir).isPresent()) {
            throw new StackException("broker " + node + " is already running");
        }
        requireFree(kafkaPort(node), "stack.kafka.port");
        long pid = startNode(node);
        List<Long> pids = new ArrayList<>(s.kafkaPids());
        pids.set(node - 1, pid);
        save(new State(pids, s.registryPid(), s.kafkaPorts(), s.registryPort(), s.registryProxyPid()));
        int port = kafkaPort(node);
        ChildJvm.await("kafka broker " + node, pid, log(node), config.getDuration("stack.start.timeout.ms"),
                () -> brokerReady(port, 1));
    }

    private State requireState() {
        State s = load();
        if (s == null) {
            throw new StackException("no stack recorded in " + dir + "; run 'longpo up' first");
        }
        return s;
    }

    /** Stops the recorded processes (SIGTERM, then SIGKILL after 20 s). Returns the names of those stopped. */
    public List<String> down() {
        State s = load();
        List<String> stopped = new ArrayList<>();
        if (s == null) {
            return stopped;
        }
        if (s.registryProxyPid() > 0 && ChildJvm.stop(s.registryProxyPid(), dir, Duration.ofSeconds(10))) {
            stopped.add("registry auth proxy (pid " + s.registryProxyPid() + ")");
        }
        if (ChildJvm.stop(s.registryPid(), dir, Duration.ofSeconds(20))) {
            stopped.add("registry (pid " + s.registryPid() + ")");
        }
        for (int i = s.kafkaPids().size() - 1; i >= 0; i--) {
            long pid = s.kafkaPids().get(i);
            if (ChildJvm.stop(pid, dir, Duration.ofSeconds(20))) {
                stopped.add("kafka" + (s.kafkaPids().size() > 1 ? " " + (i + 1) : "") + " (pid " + pid + ")");
            }
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
            return new Status(null, List.of(), false, false);
        }
        List<Boolean> alive = s.kafkaPids().stream().map(pid -> ChildJvm.find(pid, dir).isPresent()).toList();
        boolean r = ChildJvm.find(s.registryPid(), dir).isPresent()
                && (s.registryProxyPid() == 0 || ChildJvm.find(s.registryProxyPid(), dir).isPresent());
        return new Status(s, alive, r, r && RegistryServer.isReady(s.registryPort()));
    }

    /** Node 1 keeps the single-broker layout's names, so a stack made before there were several still starts. */
    private Path dataDir(int n) {
        return dir.resolve(n == 1 ? "kafka-data" : "kafka-data-" + n);
    }

    private Path log(int n) {
        return dir.resolve(n == 1 ? "kafka.log" : "kafka-" + n + ".log");
    }

    private Path properties(int n) {
        return dir.resolve(n == 1 ? "server.properties" : "server-" + n + ".properties");
    }

    private Path writeServerProperties(int n) throws IOException {
        String voters = IntStream.rangeClosed(1, brokers).mapToObj(i -> i + "@127.0.0.1:" + controllerPort(i))
                .collect(Collectors.joining(","));
        String rf = String.valueOf(replicationFactor());
        String minIsr = String.valueOf(minInsyncReplicas());
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(n));
        p.put("controller.quorum.voters", voters);
        String listener = secure ? "SASL_PLAINTEXT" : "PLAINTEXT";
        p.put("listeners", listener + "://127.0.0.1:" + kafkaPort(n) + ",CONTROLLER://127.0.0.1:" + controllerPort(n));
        p.put("advertised.listeners", listener + "://127.0.0.1:" + kafkaPort(n));
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", listener);
        p.put("listener.security.protocol.map", "CONTROLLER:PLAINTEXT," + listener + ":" + listener);
        if (secure) {
            // clients authenticate with SCRAM-SHA-512 and are authorized by ACLs; the controller listener (loopback,
            // between the nodes) stays plaintext, its principal a super user as the nodes' own
            p.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
            p.put("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512");
            p.put("listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config", Access.jaas(ADMIN, adminPassword()));
            p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            p.put("super.users", "User:" + ADMIN + ";User:ANONYMOUS");
            p.put("allow.everyone.if.no.acl.found", "false");
        }
        p.put("log.dirs", dataDir(n).toString());
        p.put("num.partitions", "3");
        p.put("default.replication.factor", rf);
        p.put("min.insync.replicas", minIsr);
        p.put("offsets.topic.replication.factor", rf);
        p.put("transaction.state.log.replication.factor", rf);
        p.put("transaction.state.log.min.isr", minIsr);
        p.put("share.coordinator.state.topic.replication.factor", rf);
        p.put("share.coordinator.state.topic.min.isr", minIsr);
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("message.max.bytes", String.valueOf(Topics.MAX_REQUEST_BYTES));
        p.put("replica.fetch.max.bytes", String.valueOf(Topics.MAX_REQUEST_BYTES));
        p.putAll(config.withPrefix("stack.kafka.server."));
        Path f = properties(n);
        try (Writer w = Files.newBufferedWriter(f)) {
            p.store(w, "written by longpo up");
        }
        return f;
    }

    /**
     * Writes every node's properties and formats the storage of each node that has none, all with one
     * cluster id (node 1's, when it exists). A stack formatted for another broker count is refused: its
     * quorum is a different one.
     */
    private void formatIfNeeded() throws IOException {
        Path layout = dir.resolve("stack-brokers");
        Path security = dir.resolve("stack-secure");
        if (Files.exists(dataDir(1).resolve("meta.properties"))) {
            String formatted = Files.exists(layout) ? Files.readString(layout).trim() : "1";
            if (!formatted.equals(String.valueOf(brokers))) {
                throw new StackException("the stack in " + dir + " was formatted for " + formatted + " broker(s), not "
                        + brokers + ": use --brokers " + formatted + ", or remove " + dir + " for a new one");
            }
            if (Files.exists(security) != secure) {
                throw new StackException("the stack in " + dir + " was formatted " + (secure ? "without" : "with")
                        + " SASL/ACLs: " + (secure ? "leave out" : "add") + " --secure, or remove " + dir + " for a new one");
            }
        }
        String clusterId = clusterId().orElseGet(() -> Uuid.randomUuid().toString());
        for (int n = 1; n <= brokers; n++) {
            Path props = writeServerProperties(n);
            if (Files.exists(dataDir(n).resolve("meta.properties"))) {
                continue;
            }
            try {
                List<String> format = new ArrayList<>(List.of("kafka.tools.StorageTool", "format", "-t", clusterId, "-c",
                        props.toString()));
                if (secure) { // the admin's credential exists before any broker asks for it
                    format.addAll(List.of("--add-scram", "SCRAM-SHA-512=[name=" + ADMIN + ",password=" + adminPassword() + "]"));
                }
                ChildJvm.run(List.of("-cp", System.getProperty("java.class.path")), format, Duration.ofSeconds(60));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StackException("interrupted while formatting Kafka storage");
            }
        }
        Files.writeString(layout, String.valueOf(brokers));
        if (secure) {
            Files.writeString(security, "SASL_PLAINTEXT, SCRAM-SHA-512, StandardAuthorizer\n");
        }
    }

    private Optional<String> clusterId() throws IOException {
        Path meta = dataDir(1).resolve("meta.properties");
        if (!Files.exists(meta)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(meta)) {
            p.load(r);
        }
        return Optional.ofNullable(p.getProperty("cluster.id"));
    }

    /** The broker on {@code port} answers and sees at least {@code brokers} brokers. */
    private boolean brokerReady(int port, int brokers) {
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
        } catch (IOException e) {
            return false;
        }
        Map<String, Object> props = new java.util.HashMap<>(clientConfig().withPrefix("kafka."));
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + port);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
        try (Admin admin = Admin.create(props)) {
            return admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).size() >= brokers;
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
        p.put("kafka.pid", s.kafkaPids().stream().map(String::valueOf).collect(Collectors.joining(",")));
        p.put("registry.pid", String.valueOf(s.registryPid()));
        p.put("kafka.port", s.kafkaPorts().stream().map(String::valueOf).collect(Collectors.joining(",")));
        p.put("registry.port", String.valueOf(s.registryPort()));
        p.put("registry.proxy.pid", String.valueOf(s.registryProxyPid()));
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
            return new State(Arrays.stream(p.getProperty("kafka.pid").split(",")).map(Long::valueOf).toList(),
                    Long.parseLong(p.getProperty("registry.pid")),
                    Arrays.stream(p.getProperty("kafka.port").split(",")).map(Integer::valueOf).toList(),
                    Integer.parseInt(p.getProperty("registry.port")),
                    Long.parseLong(p.getProperty("registry.proxy.pid", "0")));
        } catch (IOException | RuntimeException e) {
            throw new StackException("unreadable stack state " + stateFile() + " (" + e.getMessage()
                    + "); stop the processes by hand and delete it");
        }
    }
}
