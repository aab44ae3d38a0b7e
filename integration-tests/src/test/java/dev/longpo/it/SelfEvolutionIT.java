package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.ObjectStoreServer;
import dev.longpo.common.Telemetry;
import dev.longpo.common.TopicScanner;
import dev.longpo.events.Topics;
import dev.longpo.loop.LoopRunner;
import dev.longpo.producers.Ingestor;
import dev.longpo.tasks.CorpusGenerator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole loop on a real broker and registry of its own: the committed pi_S, a tiny configuration
 * (L_s = 128, so iteration 1 trains at 1024 tokens and iteration 2 at 2048; budgets of 4 and 2
 * samples), the four stream processors and every worker. The run must promote iteration 1's model,
 * start iteration 2 from it, promote again and stop, with evaluation results for pi_S and for each
 * promoted model, and the trainer must have applied each sample once. Checkpoints travel through an HTTP
 * object store ({@code checkpoint.store.uri}), and the process's Prometheus endpoint is scraped.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class SelfEvolutionIT {
    @TempDir
    Path dir;

    @Test
    void theLoopReachesAPromotedSecondIteration() throws Exception {
        try (RealStack stack = RealStack.isolated(); ObjectStoreServer store = new ObjectStoreServer("Bearer it")) {
            String run = "loop-it";
            Map<String, String> tiny = new HashMap<>();
            tiny.put("run.id", run);
            tiny.put("pipeline.app.prefix", run);
            tiny.put("pipeline.punctuate.ms", "200");
            tiny.put("streams.commit.interval.ms", "100");
            tiny.put("ingest.max.chunk.tokens", "128");
            tiny.put("loop.short.window", "128");
            tiny.put("loop.first.stretch", "8");
            tiny.put("loop.theta.rule", "ntk");
            tiny.put("loop.max.iterations", "2");
            tiny.put("loop.sample.budget", "4,2");
            tiny.put("loop.short.margin", "1.0");
            tiny.put("trainer.checkpoint.dir", dir.resolve("checkpoints").toString());
            tiny.put("trainer.checkpoint.every", "2");
            tiny.put("trainer.idle.checkpoint.ms", "600000");
            tiny.put("grouping.timeout.ms", "3000");
            tiny.put("eval.tasks", "niah_single,short_mc");
            tiny.put("eval.lengths", "128,1024,2048");
            tiny.put("eval.samples", "1");
            tiny.put("eval.short.samples", "4");
            tiny.put("worker.status.ms", "600000");
            tiny.put("checkpoint.store.uri", store.base("models").toString());
            tiny.put("checkpoint.store.authorization", "Bearer it");
            tiny.put("checkpoint.cache.dir", dir.resolve("worker-cache").toString());
            tiny.put("metrics.port", "0");
            tiny.put("metrics.host", "127.0.0.1");
            LongpoConfig config = stack.config().with(tiny);
            KafkaClients clients = new KafkaClients(config);
            Path c1 = dir.resolve("iteration-1.jsonl");
            Path c2 = dir.resolve("iteration-2.jsonl");
            CorpusGenerator.write(c1, "it-i1", 8, 800, 960, 120, 1);
            CorpusGenerator.write(c2, "it-i2", 6, 1700, 1980, 120, 2);
            try (Ingestor ingestor = new Ingestor(clients)) {
                assertFalse(ingestor.ingest(List.of(c1, c2)).anyRejected());
            }
            double[] iterationSeen = {0};
            String metrics;
            try (LoopRunner runner = new LoopRunner(config, Path.of("..", "models", "pi-s"))) {
                runner.start();
                int port = Telemetry.port().orElseThrow();
                TestUtils.waitForCondition(() -> {
                    // the controller's gauge goes with it after the STOP, so it is watched while the run goes on
                    series(scrape(port), "longpo_loop_iteration{instance=\"" + run + "\",stage=\"control\"}")
                            .ifPresent(v -> iterationSeen[0] = Math.max(iterationSeen[0], v));
                    return stopped(clients, run) || runner.failure().isPresent();
                }, TimeUnit.MINUTES.toMillis(12), "the controller's STOP");
                assertEquals(java.util.Optional.empty(), runner.failure());
                metrics = scrape(port);
            }
            java.nio.file.Files.writeString(Path.of("target", "self-evolution-metrics.txt"), metrics);
            assertEquals(2.0, iterationSeen[0], "the endpoint showed the loop's iteration");
            assertWorkerMetrics(metrics, run);
            List<IterationEvent> d = TopicReader.readAll(clients, Topics.ITERATIONS).stream().map(ConsumerRecord::value)
                    .filter(e -> e.getRunId().equals(run)).toList();
            assertEquals(List.of(IterationEventType.START, IterationEventType.PROMOTE, IterationEventType.START,
                    IterationEventType.PROMOTE, IterationEventType.STOP), d.stream().map(IterationEvent::getType).toList(),
                    () -> d + "\n" + diagnostics(clients));
            IterationEvent promoted1 = d.get(1);
            IterationEvent start2 = d.get(2);
            assertEquals(promoted1.getModelVersion(), start2.getModelVersion(), "iteration 2 starts from the promoted model");
            assertEquals(promoted1.getCheckpointUri(), start2.getCheckpointUri());
            assertEquals(1024, promoted1.getTargetLength());
            assertEquals(2048, start2.getTargetLength());
            assertTrue(start2.getTheta1() > promoted1.getTheta1(), "a longer target gets a larger RoPE base");

            Map<String, Set<String>> evaluated = TopicReader.readAll(clients, Topics.EVAL_RESULTS).stream()
                    .map(ConsumerRecord::value).filter(e -> e.getDepth() == null).collect(Collectors.groupingBy(
                            EvalResult::getModelVersion, Collectors.mapping(e -> e.getTask() + "@" + e.getLength(),
                                    Collectors.toSet())));
            Set<String> full = Set.of("niah_single@128", "niah_single@1024", "niah_single@2048", "short_mc@128");
            assertEquals(full, evaluated.get("pi_S"), "pi_S is evaluated by the same suite");
            assertEquals(full, evaluated.get(promoted1.getModelVersion()));
            assertEquals(full, evaluated.get(d.get(3).getModelVersion()));

            List<Checkpoint> checkpoints = TopicReader.readAll(clients, Topics.CHECKPOINTS).stream()
                    .map(ConsumerRecord::value).toList();
            // the workers read every checkpoint through the object store, not the trainer's folder
            assertTrue(checkpoints.stream().allMatch(c -> c.getUri().startsWith(store.base("models") + "/" + run + "/")),
                    checkpoints.toString());
            String promoted = java.net.URI.create(promoted1.getCheckpointUri()).getRawPath();
            assertTrue(store.requests().contains("GET " + promoted + "model.safetensors"),
                    "the generators and the evaluator fetched the promoted checkpoint: " + store.requests());
            assertTrue(checkpoints.stream().anyMatch(c -> c.getIteration() == 2 && c.getStep() >= 6), checkpoints.toString());
            List<String> applied = TopicReader.readAll(clients, Topics.TRAINING_METRICS).stream().map(ConsumerRecord::value)
                    .flatMap(m -> m.getSampleIds().stream()).toList();
            assertEquals(applied.size(), Set.copyOf(applied).size(), "no sample is applied twice");
            assertTrue(TopicReader.readAll(clients, Topics.TRAINING_METRICS).stream().map(ConsumerRecord::value)
                    .mapToDouble(TrainingMetrics::getLoss).allMatch(Double::isFinite));
        }
    }

    /** The Prometheus endpoint of the loop's process (what {@code curl host:port/metrics} shows). */
    private static String scrape(int port) throws java.io.IOException, InterruptedException {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    private static java.util.Optional<Double> series(String text, String series) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(series)
                + " (\\S+)$").matcher(text);
        return m.find() ? java.util.Optional.of(Double.parseDouble(m.group(1))) : java.util.Optional.empty();
    }

    /** Whether some sample of {@code name} carries {@code label} (e.g. {@code stage="train"}). */
    private static boolean has(String text, String name, String label) {
        return java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(name) + "\\{[^}]*"
                + java.util.regex.Pattern.quote(label) + "[^}]*\\} ").matcher(text).find();
    }

    private static double required(String text, String series) {
        return series(text, series).orElseThrow(() -> new AssertionError(series + " is not exposed"));
    }

    /** Every worker's batch latency and counts, generated and trained tokens, the trainer's objective, client lag. */
    private static void assertWorkerMetrics(String text, String run) {
        for (String stage : List.of("instruct", "respond", "eval")) {
            String tags = "instance=\"0\",stage=\"" + stage + "\"";
            assertTrue(required(text, "longpo_worker_batch_seconds_count{" + tags + "}") > 0, stage);
            assertTrue(required(text, "longpo_worker_records_total{instance=\"0\",outcome=\"processed\",stage=\""
                    + stage + "\"}") > 0, stage);
            assertTrue(has(text, "kafka_consumer_fetch_manager_records_lag_max", "stage=\"" + stage + "\""),
                    "consumer lag of " + stage);
        }
        assertTrue(required(text, "longpo_worker_generated_tokens_total{instance=\"0\",stage=\"respond\"}") > 0);
        assertTrue(required(text, "longpo_worker_generated_tokens_total{instance=\"0\",stage=\"instruct\"}") > 0);
        String train = "{instance=\"" + run + "\",stage=\"train\"}";
        assertTrue(required(text, "longpo_trainer_samples_total" + train) >= 6);
        assertTrue(required(text, "longpo_trainer_tokens_total" + train) > 0);
        assertTrue(required(text, "longpo_trainer_step_seconds_count" + train) >= 6);
        assertTrue(Double.isFinite(required(text, "longpo_trainer_loss" + train)));
        double accuracy = required(text, "longpo_trainer_reward_accuracy" + train);
        assertTrue(accuracy >= 0 && accuracy <= 1, "reward accuracy " + accuracy);
        assertEquals(2.0, required(text, "longpo_trainer_iteration" + train));
        assertTrue(has(text, "kafka_consumer_fetch_manager_records_lag", "stage=\"train\""), "the trainer's lag");
        assertTrue(has(text, "kafka_stream_thread_process_total", "stage=\"streams-pairing\""),
                "the stream processors' metrics");
    }

    /** Records per topic and the dead letters' reasons: what to look at when the loop did not finish. */
    private static String diagnostics(KafkaClients clients) {
        StringBuilder sb = new StringBuilder("records per topic:");
        for (var t : Topics.all()) {
            sb.append(' ').append(t.name()).append('=').append(TopicScanner.scan(clients, t.name(), Duration.ofSeconds(30), r -> { }));
        }
        TopicReader.readAll(clients, Topics.DEAD_LETTER).forEach(r -> sb.append("\ndead letter (").append(r.value().getStage())
                .append("): ").append(r.value().getReason()));
        return sb.toString();
    }

    private static boolean stopped(KafkaClients clients, String run) {
        return TopicReader.readAll(clients, Topics.ITERATIONS).stream().map(ConsumerRecord::value)
                .anyMatch(e -> e.getRunId().equals(run) && e.getType() == IterationEventType.STOP);
    }
}
