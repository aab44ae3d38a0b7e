package dev.longpo.cli;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.TopicFollower;
import dev.longpo.loop.RunEvent;
import dev.longpo.loop.RunState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo monitor}: a plain consumer of {@code iterations}, {@code checkpoints},
 * {@code training-metrics} and {@code eval-results} (from the beginning, no consumer group, so it
 * never disturbs the pipeline) that shows a run live: its decisions, the training trend and the
 * latest evaluation per length, and writes the plots as PNG; with {@code --http} it also serves the live
 * {@link Dashboard}.
 */
@Command(name = "monitor", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Follow a self-evolution run live from its topics; optionally write PNG plots or serve a live dashboard.")
final class MonitorCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--run", description = "run id to show (default: the newest run on the iterations topic)")
    String run;

    @Option(names = "--plots", description = "write rewards.png, accuracy.png, losses.png and a heatmap per evaluated checkpoint here")
    Path plots;

    @Option(names = "--every", defaultValue = "5", description = "seconds between refreshes (default: ${DEFAULT-VALUE})")
    int every;

    @Option(names = "--once", description = "read the topics to their current end, print the view, write the plots and exit")
    boolean once;

    @Option(names = "--until-stopped", description = "exit when the run's controller publishes STOP")
    boolean untilStopped;

    @Option(names = "--http", paramLabel = "PORT", description = "also serve the live dashboard on this port (0: any free one)")
    Integer http;

    @Option(names = "--http-host", defaultValue = "127.0.0.1", description = "the dashboard's address (default: ${DEFAULT-VALUE})")
    String httpHost;

    @Override
    public Integer call() throws Exception {
        LongpoConfig config = options.load();
        KafkaClients clients = new KafkaClients(config);
        RunState state = RunState.of(config, run);
        RunView view = new RunView(state);
        boolean tty = System.console() != null;
        try (GracefulStop stop = new GracefulStop(Duration.ofSeconds(10));
             TopicFollower events = new TopicFollower(clients, RunEvent.TOPICS);
             Dashboard dashboard = http == null ? null : new Dashboard(httpHost, http)) {
            if (dashboard != null) {
                System.err.println("dashboard on http://" + httpHost + ":" + dashboard.port() + "/");
            }
            events.readToEnd(Duration.ofMinutes(2)).forEach(e -> state.accept(RunEvent.of(e)));
            while (true) {
                if (dashboard != null) {
                    dashboard.update(state);
                }
                System.out.print(tty && !once ? "\033[H\033[2J" + view.view() : view.view() + "\n");
                if (plots != null) {
                    Plots.write(state, plots);
                }
                if (once || stop.requested() || (untilStopped && state.stopped())) {
                    break;
                }
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(every);
                while (System.nanoTime() < until && !stop.requested()) {
                    List<SpecificRecord> polled = events.poll(Duration.ofMillis(500));
                    polled.forEach(e -> state.accept(RunEvent.of(e)));
                    if (dashboard != null && !polled.isEmpty()) {
                        dashboard.update(state);
                    }
                }
            }
        }
        if (plots != null) {
            System.out.println("plots written to " + plots);
        }
        return 0;
    }
}
