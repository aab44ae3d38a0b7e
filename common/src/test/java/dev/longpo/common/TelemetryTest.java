package dev.longpo.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The process's metrics endpoint: what a worker registers is scraped as Prometheus text, and gone once it closes. */
class TelemetryTest {
    private static String get(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        return r.body();
    }

    /** The value of the sample whose line starts with {@code series} (name and labels as Prometheus prints them). */
    private static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
        assertTrue(m.find(), () -> series + " not in\n" + text);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void aScopesMetersAreScrapedOverHttpAndRemovedWhenItCloses() throws Exception {
        LongpoConfig c = LongpoConfig.load(null, Map.of("metrics.port", "0", "metrics.host", "127.0.0.1"));
        int port = Telemetry.serve(c).orElseThrow();
        assertEquals(port, Telemetry.serve(c).orElseThrow(), "one endpoint per process");
        AtomicLong total = new AtomicLong();
        String tags = "instance=\"t0\",stage=\"probe\"";
        try (Telemetry.Scope scope = Telemetry.scope("stage", "probe", "instance", "t0");
             KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of("bootstrap.servers", "127.0.0.1:9",
                     "client.id", "telemetry-test"), new StringSerializer(), new StringSerializer())) {
            Counter counter = scope.counter("longpo.test.tokens", "tokens");
            Timer timer = scope.timer("longpo.test.batch", "batch");
            scope.counter("longpo.test.records", "records", total, AtomicLong::get, "outcome", "processed");
            scope.gauge("longpo.test.loss", "loss", total, t -> t.get() / 4.0);
            scope.bind(producer);
            counter.increment(40);
            total.set(6);
            timer.record(Duration.ofMillis(250));
            timer.record(Duration.ofMillis(750));

            String text = get(port);
            assertEquals(40.0, value(text, "longpo_test_tokens_total{" + tags + "}"));
            assertEquals(6.0, value(text, "longpo_test_records_total{instance=\"t0\",outcome=\"processed\",stage=\"probe\"}"));
            assertEquals(1.5, value(text, "longpo_test_loss{" + tags + "}"));
            assertEquals(2.0, value(text, "longpo_test_batch_seconds_count{" + tags + "}"));
            assertEquals(1.0, value(text, "longpo_test_batch_seconds_sum{" + tags + "}"), 1e-9);
            assertEquals(0.75, value(text, "longpo_test_batch_seconds_max{" + tags + "}"), 1e-9);
            assertTrue(Pattern.compile("(?m)^kafka_producer_\\w+\\{[^}]*client=\"producer\",client_id=\"telemetry-test\"")
                    .matcher(text).find(), "the producer's client metrics, tagged with the client and its id");
            assertTrue(text.contains("jvm_memory_used_bytes"), "the JVM's own metrics");

            total.set(8);
            assertEquals(2.0, value(get(port), "longpo_test_loss{" + tags + "}"), "gauges are read on each scrape");
        }
        String after = get(port);
        assertFalse(after.contains("longpo_test_"), "a closed scope's meters are gone");
        assertFalse(after.contains("client_id=\"telemetry-test\""), "and so are its clients'");
    }
}
