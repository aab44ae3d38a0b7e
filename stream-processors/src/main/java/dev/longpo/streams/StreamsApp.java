package dev.longpo.streams;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.Telemetry;
import dev.longpo.text.TokenizerFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the pipeline's four topologies as four Kafka Streams applications in one process (each
 * exactly-once, with its own application id {@code <pipeline.app.prefix>-<name>} and state),
 * so each scales and restarts independently. Settings come from {@link LongpoConfig}; each application's
 * metrics go to the process's {@link Telemetry} registry.
 */
public final class StreamsApp implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StreamsApp.class);
    private final Map<String, KafkaStreams> apps = new LinkedHashMap<>();
    private final List<Telemetry.Scope> metrics = new ArrayList<>();

    public StreamsApp(KafkaClients clients) {
        LongpoConfig c = clients.config();
        StreamsSupport support = new StreamsSupport(clients);
        String run = c.get("run.id");
        Duration tick = c.getDuration("pipeline.punctuate.ms");
        Map<String, Topology> topologies = new LinkedHashMap<>();
        topologies.put("fanout", InstructionFanout.buildTopology(support, run, tick));
        topologies.put("pairing", Pairing.buildTopology(support, run, TokenizerFactory.forName(c.get("tokenizer")),
                c.getInt("pairing.inline.max.bytes"), tick));
        topologies.put("grouping", PairGrouping.buildTopology(support, run, new PairFilter(c.getInt("filter.min.words"),
                c.getDouble("filter.max.repetition.chosen"), c.getDouble("filter.max.repetition.rejected"),
                PairFilter.DEFAULT_REFUSALS), c.getInt("grouping.default.turns"), c.getDuration("grouping.timeout.ms"), tick));
        topologies.put("metrics", MetricsAggregation.buildTopology(support, c.getDuration("metrics.window.ms")));
        String prefix = c.get("pipeline.app.prefix");
        topologies.forEach((name, topology) -> {
            Properties p = clients.streams(prefix + "-" + name);
            KafkaStreams app = new KafkaStreams(topology, p);
            apps.put(name, app);
            Telemetry.Scope scope = Telemetry.scope("stage", "streams-" + name, "instance", prefix + "-" + name);
            scope.bind(app);
            metrics.add(scope);
        });
    }

    /** Starts every application. */
    public void start() {
        apps.values().forEach(KafkaStreams::start);
    }

    /** Waits until every application is RUNNING. */
    public void awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (apps.values().stream().anyMatch(a -> a.state() != KafkaStreams.State.RUNNING)) {
            if (System.nanoTime() > deadline) {
                List<String> states = new ArrayList<>();
                apps.forEach((n, a) -> states.add(n + "=" + a.state()));
                throw new IllegalStateException("streams applications not running: " + states);
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }

    public KafkaStreams app(String name) {
        return apps.get(name);
    }

    /**
     * Closes every application, committing what it processed. The shutdown of all of them starts at once
     * and then each is waited for (up to 60 s together): closed one after the other, the later ones went on
     * processing while the earlier ones closed.
     */
    @Override
    public void close() {
        metrics.forEach(Telemetry.Scope::close);
        apps.values().forEach(a -> a.close(Duration.ZERO)); // starts the shutdown, does not wait
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        apps.forEach((name, a) -> {
            if (!a.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                LOG.warn("streams application {} did not shut down within 60 s (state {})", name, a.state());
            }
        });
    }
}
