package dev.longpo.cli;

import dev.longpo.deploy.StackException;
import dev.longpo.schema.SchemaRegistryException;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of {@code longpo}: one command line for the stack, ingestion, workers and tools. */
@Command(name = "longpo", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Short-to-long preference optimization as a streaming pipeline on Apache Kafka.",
        subcommands = {UpCommand.class, DownCommand.class, StatusCommand.class, SetupCommand.class, ManifestsCommand.class, IngestCommand.class,
                ConfigCommand.class, DemoCommand.class, MonitorCommand.class, StreamsCommand.class, InitModelCommand.class, ScoreCommand.class, PretrainCommand.class, EvalCommand.class, ReproduceCommand.class, MakeCorpusCommand.class, WorkerCommand.class, CommandLine.HelpCommand.class,
                AutoComplete.GenerateCompletion.class})
public final class Main implements Runnable {
    /** {@code --version} of every command. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"LongPO Stream " + (v == null ? "0.1.0-SNAPSHOT" : v)};
        }
    }

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "print the stack trace of an error instead of one line")
    boolean verbose;

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
            boolean expected = e instanceof StackException || e instanceof SchemaRegistryException
                    || e instanceof IllegalArgumentException || e instanceof IllegalStateException
                    || e instanceof java.io.IOException;
            if (e instanceof org.apache.kafka.common.errors.AuthorizationException
                    || e instanceof org.apache.kafka.common.errors.AuthenticationException) {
                if (verboseIn(parsed)) {
                    e.printStackTrace(cmd.getErr());
                } else {
                    cmd.getErr().println("longpo: " + (e instanceof org.apache.kafka.common.errors.AuthenticationException
                            ? "the cluster refused these credentials" : "the cluster's ACLs do not allow this") + ": "
                            + e.getMessage() + " (pass the role's settings with --config, as written by 'longpo setup --secure')");
                }
                return 1;
            }
            if (expected && verboseIn(parsed)) {
                e.printStackTrace(cmd.getErr());
                return 1;
            }
            if (expected) {
                cmd.getErr().println("longpo: " + (e instanceof java.nio.file.NoSuchFileException
                        ? "no such file: " + e.getMessage() : e.getMessage()) + " (--verbose shows where)");
                return 1;
            }
            throw e;
        });
        return cl.execute(args);
    }

    private static boolean verboseIn(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.matchedOption("--verbose") != null) {
                return true;
            }
        }
        return false;
    }
}
