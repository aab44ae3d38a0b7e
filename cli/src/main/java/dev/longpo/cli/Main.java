package dev.longpo.cli;

import dev.longpo.deploy.StackException;
import dev.longpo.schema.SchemaRegistryException;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** Entry point of {@code longpo}: one command line for the stack, ingestion, workers and tools. */
@Command(name = "longpo", mixinStandardHelpOptions = true, version = "LongPO Stream 0.1.0",
        description = "Short-to-long preference optimization as a streaming pipeline on Apache Kafka.",
        subcommands = {UpCommand.class, DownCommand.class, StatusCommand.class, SetupCommand.class, IngestCommand.class,
                ConfigCommand.class, DemoCommand.class, MonitorCommand.class, StreamsCommand.class, InitModelCommand.class, ScoreCommand.class, PretrainCommand.class, EvalCommand.class, ReproduceCommand.class, MakeCorpusCommand.class, WorkerCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns its exit code; user-facing errors print one line, not a stack trace. */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof StackException || e instanceof SchemaRegistryException
                    || e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
                cmd.getErr().println("longpo: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cl.execute(args);
    }
}
