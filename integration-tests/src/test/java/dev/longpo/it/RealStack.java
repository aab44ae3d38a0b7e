package dev.longpo.it;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.TopicAdmin;
import dev.longpo.deploy.EmbeddedStack;
import dev.longpo.deploy.RegistryServer;
import dev.longpo.events.Topics;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * One real Kafka broker (in-process KRaft, {@code KafkaClusterTestKit}) and one real Apicurio Registry
 * (child JVM) shared by every integration test of this JVM, started on first use and stopped at exit;
 * a test that needs topics no other test writes (a whole run of the loop) takes an {@link #isolated()} one.
 */
final class RealStack implements AutoCloseable {
    private static RealStack instance;

    final KafkaClusterTestKit cluster;
    final int registryPort;
    final long registryPid;
    final Path dir;
    private boolean closed;

    private RealStack() throws Exception {
        this(true);
    }

    private RealStack(boolean withTopics) throws Exception {
        dir = Files.createTempDirectory("longpo-it-");
        cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                .setNumBrokerNodes(1).setNumControllerNodes(1).build())
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("message.max.bytes", String.valueOf(Topics.MAX_REQUEST_BYTES))
                .build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
        registryPort = freePort();
        Path home = Path.of(System.getProperty("longpo.registry.home", "target/apicurio"));
        registryPid = RegistryServer.startAndWait(dir, home, registryPort, "384m", Duration.ofSeconds(120));
        Runtime.getRuntime().addShutdownHook(new Thread(this::close));
        if (withTopics) {
            TopicAdmin.ensureAll(new KafkaClients(config()));
        }
    }

    static synchronized RealStack get() throws Exception {
        if (instance == null) {
            instance = new RealStack();
        }
        return instance;
    }

    /** Configuration pointing every client at this stack. */
    LongpoConfig config() {
        return LongpoConfig.load(null, Map.of("kafka.bootstrap.servers", cluster.bootstrapServers(),
                "registry.url", RegistryServer.ccompatUrl(registryPort), "stack.dir", dir.toString()));
    }

    KafkaClients clients() {
        return new KafkaClients(config());
    }

    /** Clients of run {@code run}: its workers take only that run's (and unscoped) events. */
    KafkaClients clients(String run) {
        return new KafkaClients(config().with(Map.of("run.id", run)));
    }

    String registryV2Url() {
        return "http://127.0.0.1:" + registryPort + "/apis/registry/v2";
    }

    /** A stack of its own, for a test that needs empty topics; close it when done. */
    static RealStack isolated() throws Exception {
        return new RealStack();
    }

    /**
     * An embedded stack as {@code longpo up} starts it (brokers and registry as child JVMs), of a test's own:
     * data in {@code dir}, free ports, the unpacked registry, small heaps, and {@code settings} over these.
     * Start it with {@code up()}, stop it with {@code down()}.
     */
    static EmbeddedStack childStack(Path dir, Map<String, String> settings) throws IOException {
        Map<String, String> s = new java.util.HashMap<>(Map.of("stack.dir", dir.toString(),
                "stack.kafka.port", String.valueOf(freePort()), "stack.kafka.controller.port", String.valueOf(freePort()),
                "stack.registry.port", String.valueOf(freePort()),
                "stack.registry.home", System.getProperty("longpo.registry.home"), "stack.kafka.heap", "384m"));
        s.putAll(settings);
        return new EmbeddedStack(LongpoConfig.load(null, s));
    }

    /** A stack of its own without any topic or subject (a cluster nobody set up); close it when done. */
    static RealStack bare() throws Exception {
        return new RealStack(false);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        RegistryServer.stop(registryPid, dir);
        try {
            cluster.close();
        } catch (Exception e) {
            System.err.println("closing test cluster: " + e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
