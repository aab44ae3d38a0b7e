package dev.longpo.cli;

import dev.longpo.avro.EvalResult;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.events.Topics;
import dev.longpo.model.ModelStore;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.ReportWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo eval}: the task suite at several lengths and depths. Prints the task x length table
 * and the effective length, writes JSON, text and a depth x length heatmap PNG, and with {@code --emit}
 * publishes every cell as an EvalResult on {@code eval-results}.
 */
@Command(name = "eval", description = "Evaluate a model on the long-context task suite and the short task.")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true)
    Path modelDir;

    @Option(names = "--window", defaultValue = "256", description = "short window L_s; lengths default to L_s/2 .. 16 L_s")
    int window;

    @Option(names = "--tasks", split = ",", description = "tasks (default: all long tasks and short_math)")
    List<String> tasks;

    @Option(names = "--lengths", split = ",", description = "prompt lengths in tokens")
    List<Integer> lengths;

    @Option(names = "--depths", split = ",", description = "needle depths in [0,1]")
    List<Double> depths;

    @Option(names = "--samples", defaultValue = "10", description = "instances per task and length (NIAH: per depth)")
    int samples;

    @Option(names = "--threshold", defaultValue = "0.8", description = "long-task mean that counts as effective")
    double threshold;

    @Option(names = "--rope-theta", description = "evaluate at this RoPE base instead of the model's")
    Double theta;

    @Option(names = "--out", description = "folder for eval.json, eval.txt, heatmap.txt, heatmap.png (default: the model folder)")
    Path out;

    @Option(names = "--version", description = "model version to report (default: the folder name)")
    String version;

    @Option(names = "--emit", description = "publish EvalResult events to eval-results")
    boolean emit;

    @Override
    public Integer call() throws Exception {
        LongpoConfig config = options.load();
        Evaluator.Settings std = Evaluator.Settings.standard(window, samples);
        Evaluator.Settings s = new Evaluator.Settings(tasks == null ? std.tasks() : tasks,
                lengths == null ? std.lengths() : lengths, depths == null ? std.depths() : depths, samples, samples, std.seed(),
                std.batchSize(), threshold);
        String v = version != null ? version : modelDir.toAbsolutePath().getFileName().toString();
        try (ModelStore.Loaded loaded = ModelStore.load(modelDir, ModelOptions.start(config))) {
            if (theta != null) {
                loaded.model().setRopeTheta(theta);
            }
            Evaluator.Report r = Evaluator.run(loaded.model(), loaded.tokenizer(), s);
            System.out.print(r.tableText());
            System.out.print(r.heatmapText());
            Path dir = out != null ? out : modelDir;
            ReportWriter.write(r, v, samples, dir);
            System.out.println("wrote " + dir.resolve("eval.json") + ", heatmap.png, heatmap.txt");
            if (emit) {
                try (KafkaProducer<String, SpecificRecord> p = new KafkaClients(config).producer("longpo-eval", null)) {
                    for (Evaluator.Cell c : r.cells()) {
                        p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), v, EvalResult.newBuilder().setModelVersion(v)
                                .setIteration(0).setTask(c.task()).setLength(c.length())
                                .setDepth(c.depth() < 0 ? null : c.depth()).setScore(c.score()).setN(c.n())
                                .setCheckpointUri(modelDir.toUri().toString()).setCreatedAt(Instant.now()).build()));
                    }
                }
                System.out.println("emitted " + r.cells().size() + " results to " + Topics.EVAL_RESULTS.name());
            }
        }
        return 0;
    }
}
