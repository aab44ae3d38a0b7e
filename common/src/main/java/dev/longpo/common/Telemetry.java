package dev.longpo.common;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.ToDoubleFunction;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's metrics for the ops tools teams already run: one Micrometer registry, rendered as
 * Prometheus text on {@code http://<metrics.host>:<metrics.port>/metrics} by the JDK's HTTP server
 * ({@code metrics.port} -1 = no endpoint, 0 = any free port). One registry per process, as Prometheus
 * scrapes a process: in-process runs ({@code longpo demo}) expose every role on one endpoint, told
 * apart by the {@code stage} and {@code instance} tags. Workers register their meters and Kafka
 * clients through a {@link Scope}, which removes them again when the worker closes, so a restarted
 * worker never reports through a closed one's meters. Kafka client metrics carry a {@code client} tag
 * (consumer, producer, streams) besides Kafka's own {@code client.id}, since a worker's consumer and
 * producer share its instance id.
 */
public final class Telemetry {
    private static final Logger LOG = LoggerFactory.getLogger(Telemetry.class);
    /** How often the Kafka binders pick up client metrics that appeared since (per-partition lag after an assignment). */
    private static final Duration KAFKA_REFRESH = Duration.ofSeconds(10);
    private static final PrometheusMeterRegistry REGISTRY = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private static final ScheduledExecutorService KAFKA_BINDERS = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "longpo-metrics-kafka");
        t.setDaemon(true);
        return t;
    });
    private static HttpServer server;

    static {
        new JvmMemoryMetrics().bindTo(REGISTRY);
        new JvmThreadMetrics().bindTo(REGISTRY);
        new ProcessorMetrics().bindTo(REGISTRY);
        new JvmGcMetrics().bindTo(REGISTRY);
    }

    private Telemetry() {
    }

    /** The process's registry. */
    public static MeterRegistry registry() {
        return REGISTRY;
    }

    /** Everything the registry holds, in the Prometheus text format (what {@code /metrics} answers). */
    public static String scrape() {
        return REGISTRY.scrape();
    }

    /**
     * Starts the endpoint of {@code metrics.port} on {@code metrics.host} unless the port is negative or
     * an endpoint already runs in this process (then that one's port is returned). A port that cannot be
     * bound is logged and the process goes on without an endpoint: metrics never stop training.
     */
    public static synchronized OptionalInt serve(LongpoConfig c) {
        int port = c.getInt("metrics.port");
        if (server != null) {
            return OptionalInt.of(server.getAddress().getPort());
        }
        if (port < 0) {
            return OptionalInt.empty();
        }
        String host = c.get("metrics.host");
        try {
            HttpServer s = HttpServer.create(new InetSocketAddress(host, port), 0);
            s.createContext("/metrics", exchange -> {
                byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            s.setExecutor(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "longpo-metrics-http");
                t.setDaemon(true);
                return t;
            }));
            s.start();
            server = s;
            LOG.info("Prometheus metrics on http://{}:{}/metrics", host, s.getAddress().getPort());
            return OptionalInt.of(s.getAddress().getPort());
        } catch (IOException e) {
            LOG.warn("no metrics endpoint: cannot listen on {}:{} ({}); set metrics.port to a free port, 0 for any,"
                    + " or -1 for none", host, port, e.toString());
            return OptionalInt.empty();
        }
    }

    /** The port of this process's endpoint, if one runs. */
    public static synchronized OptionalInt port() {
        return server == null ? OptionalInt.empty() : OptionalInt.of(server.getAddress().getPort());
    }

    /** A scope whose meters all carry {@code tags} (key, value, key, value, ...). */
    public static Scope scope(String... tags) {
        return new Scope(Tags.of(tags));
    }

    /**
     * The meters and Kafka client bindings of one worker, removed from the registry by {@link #close()}.
     * Names follow Micrometer's dotted convention ({@code longpo.worker.batch} is scraped as
     * {@code longpo_worker_batch_seconds}).
     */
    public static final class Scope implements AutoCloseable {
        private final Tags tags;
        private final List<Meter> meters = new ArrayList<>();
        private final List<AutoCloseable> clients = new ArrayList<>();

        private Scope(Tags tags) {
            this.tags = tags;
        }

        /** A timer (count, sum and max; seconds in Prometheus). */
        public synchronized Timer timer(String name, String description) {
            return add(Timer.builder(name).description(description).tags(tags).register(REGISTRY));
        }

        /** A counter incremented by the caller. */
        public synchronized Counter counter(String name, String description, String... extraTags) {
            return add(Counter.builder(name).description(description).tags(tags).tags(extraTags).register(REGISTRY));
        }

        /** A counter read from {@code obj} on each scrape (a total the worker already keeps). */
        public synchronized <T> void counter(String name, String description, T obj, ToDoubleFunction<T> total,
                                             String... extraTags) {
            add(FunctionCounter.builder(name, obj, total).description(description).tags(tags).tags(extraTags)
                    .register(REGISTRY));
        }

        /** A gauge read from {@code obj} on each scrape; the scope keeps {@code obj} alive. */
        public synchronized <T> void gauge(String name, String description, T obj, ToDoubleFunction<T> value) {
            add(Gauge.builder(name, obj, value).description(description).tags(tags).strongReference(true)
                    .register(REGISTRY));
        }

        /** Exposes a producer's client metrics (request latency, record rates, errors). */
        public synchronized void bind(Producer<?, ?> producer) {
            bindClient(new KafkaClientMetrics(producer, tags.and("client", "producer"), KAFKA_BINDERS, KAFKA_REFRESH));
        }

        /** Exposes a consumer's client metrics, among them its lag per partition and the largest one. */
        public synchronized void bind(Consumer<?, ?> consumer) {
            bindClient(new KafkaClientMetrics(consumer, tags.and("client", "consumer"), KAFKA_BINDERS, KAFKA_REFRESH));
        }

        /** Exposes a Kafka Streams application's metrics (its threads, tasks and clients). */
        public synchronized void bind(KafkaStreams streams) {
            bindClient(new KafkaStreamsMetrics(streams, tags.and("client", "streams"), KAFKA_BINDERS, KAFKA_REFRESH));
        }

        private <B extends MeterBinder & AutoCloseable> void bindClient(B binder) {
            binder.bindTo(REGISTRY);
            clients.add(binder);
        }

        private <M extends Meter> M add(M meter) {
            meters.add(meter);
            return meter;
        }

        @Override
        public synchronized void close() {
            for (AutoCloseable c : clients) {
                try {
                    c.close(); // removes the client's meters
                } catch (Exception e) {
                    LOG.debug("closing a Kafka metrics binder: {}", e.toString());
                }
            }
            clients.clear();
            meters.forEach(REGISTRY::remove);
            meters.clear();
        }
    }
}
