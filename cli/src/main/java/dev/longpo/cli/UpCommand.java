package dev.longpo.cli;

import dev.longpo.common.LongpoConfig;
import dev.longpo.deploy.EmbeddedStack;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code longpo up}: start the embedded Kafka broker and schema registry and create the topics. */
@Command(name = "up", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Start the embedded stack (Kafka KRaft broker + Apicurio registry) and create topics.")
final class UpCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--brokers", description = "Kafka brokers (KRaft, each broker and controller); 3 or more replicate"
            + " every topic 3 times with min.insync.replicas=2 (default: stack.kafka.brokers, 1)",
            defaultValue = "0")
    int brokers;

    @Option(names = "--secure", description = "SASL/SCRAM-SHA-512 and ACLs on the brokers (stack.kafka.secure); then"
            + " 'longpo setup --secure' makes a user and ACLs per role")
    boolean secure;

    @Override
    public Integer call() throws Exception {
        LongpoConfig c = options.load();
        if (brokers > 0) {
            c = c.with("stack.kafka.brokers", brokers);
        }
        if (secure) {
            c = c.with("stack.kafka.secure", true);
        }
        EmbeddedStack stack = new EmbeddedStack(c);
        long t0 = System.nanoTime();
        EmbeddedStack.State s = stack.up();
        System.out.printf("stack up in %.1f s: kafka %s (pid %s), registry http://127.0.0.1:%d (pid %d); topics with"
                        + " replication factor %d; data in %s%n", (System.nanoTime() - t0) / 1e9, s.bootstrapServers(),
                s.kafkaPids().stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",")),
                s.registryPort(), s.registryPid(), stack.replicationFactor(), stack.dir());
        if (secure) {
            System.out.println("SASL/SCRAM and ACLs on: admin client settings in " + stack.adminSettings() + "; next: longpo"
                    + " setup --secure --config " + stack.adminSettings());
        }
        return 0;
    }
}
