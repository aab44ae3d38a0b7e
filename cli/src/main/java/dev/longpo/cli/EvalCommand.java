package dev.longpo.cli;

import dev.longpo.avro.EvalResult;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.events.Topics;
import dev.longpo.model.ModelAnswerer;
import dev.longpo.model.ModelStore;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.ReportWriter;
import dev.longpo.workers.EvaluatorWorker;
import dev.longpo.workers.ModelRoles;
import java.nio.file.Path;
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
@Command(name = "eval", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Evaluate a model on the long-context task suite and the short task.")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true)
    Path modelDir;

    @Option(names = "--window", description = "short window L_s (default: loop.short.window); lengths default to L_s/2 .. 16 L_s")
    Integer window;

    @Option(names = "--tasks", split = ",", description = "tasks (default: every long and short task)")
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
        int shortWindow = window != null ? window : config.getInt("loop.short.window");
        Evaluator.Settings.Builder b = Evaluator.Settings.builder(shortWindow).optSamples(samples).optThreshold(threshold);
        if (tasks != null) {
            b.optTasks(tasks);
        }
        if (lengths != null) {
            b.optLengths(lengths);
        }
        if (depths != null) {
            b.optDepths(depths);
        }
        Evaluator.Settings s = b.build();
        String v = version != null ? version : modelDir.toAbsolutePath().getFileName().toString();
        try (ModelStore.Loaded loaded = ModelStore.load(modelDir, ModelRoles.device(config))) {
            if (theta != null) {
                loaded.model().setRopeTheta(theta);
            }
            Evaluator.Report r = Evaluator.run(new ModelAnswerer(loaded.model(), loaded.tokenizer()), s);
            System.out.print(r.tableText());
            System.out.print(r.heatmapText());
            Path dir = out != null ? out : modelDir;
            ReportWriter.write(r, v, samples, dir);
            System.out.println("wrote " + dir.resolve("eval.json") + ", heatmap.png, heatmap.txt");
            if (emit) {
                try (KafkaProducer<String, SpecificRecord> p = new KafkaClients(config).producer("longpo-eval", null)) {
                    for (EvalResult e : EvaluatorWorker.results(r, "", v, 0, modelDir.toUri().toString())) {
                        p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), v, e));
                    }
                }
                System.out.println("emitted " + r.cells().size() + " results to " + Topics.EVAL_RESULTS.name());
            }
        }
        return 0;
    }
}
