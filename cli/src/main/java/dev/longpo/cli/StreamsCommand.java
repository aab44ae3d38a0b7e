package dev.longpo.cli;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.Telemetry;
import dev.longpo.streams.StreamsApp;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code longpo streams}: the four stream processors (fan-out, pairing, filter and grouping, metric
 * aggregation) as one process, until SIGTERM (Ctrl-C) closes them after committing what they
 * processed. More instances with the same configuration share the work by partition.
 */
@Command(name = "streams", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Run the four Kafka Streams applications of the pipeline until stopped.")
final class StreamsCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        KafkaClients clients = new KafkaClients(options.load());
        Telemetry.serve(clients.config());
        try (GracefulStop stop = new GracefulStop(GracefulStop.UNTIL_DONE); StreamsApp app = new StreamsApp(clients)) {
            app.start();
            app.awaitRunning(Duration.ofMinutes(2));
            System.out.println("stream processors running (Ctrl-C stops them)");
            stop.awaitRequest();
        }
        return 0;
    }
}
