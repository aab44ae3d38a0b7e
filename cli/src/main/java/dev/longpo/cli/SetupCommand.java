package dev.longpo.cli;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.TopicAdmin;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo setup [--dry-run]}: creates every topic of the topic registry and registers every value
 * schema on the configured cluster and registry (a real one, or the embedded stack), printing one line
 * per topic and subject. Idempotent; existing settings that differ are reported, never changed. Exit 0
 * when everything is as configured (or was created), 2 when something drifted or a schema was refused.
 */
@Command(name = "setup", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Create the topics and register the schemas on the configured cluster and"
        + " registry; report, never change, what exists with other settings.")
final class SetupCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--dry-run", description = "print the plan and change nothing")
    boolean dryRun;

    @Option(names = "--secure", description = "also make a SCRAM user and its ACLs per role (from the roles' reads and"
            + " writes) and write each role's client settings under --credentials")
    boolean secure;

    @Option(names = "--credentials", defaultValue = "credentials", description = "where --secure writes <role>.properties"
            + " (default: ${DEFAULT-VALUE})")
    java.nio.file.Path credentials;

    @Override
    public Integer call() {
        KafkaClients clients = new KafkaClients(options.load());
        TopicAdmin.Plan plan = dryRun ? TopicAdmin.plan(clients) : TopicAdmin.apply(clients);
        plan.steps().forEach(System.out::println);
        System.out.printf("%s: %d %s, %d as configured, %d drifted (left as they are), %d refused%n",
                dryRun ? "plan" : "setup", plan.of(TopicAdmin.Kind.CREATE).size(), dryRun ? "to create" : "created",
                plan.of(TopicAdmin.Kind.OK).size(),
                plan.of(TopicAdmin.Kind.DRIFT).size(), plan.of(TopicAdmin.Kind.REFUSED).size());
        if (secure && !dryRun) {
            try {
                dev.longpo.deploy.Access.apply(clients, credentials).forEach(System.out::println);
            } catch (java.io.IOException e) {
                throw new IllegalStateException("cannot write the credentials under " + credentials + ": " + e.getMessage(), e);
            }
        }
        return plan.clean() ? 0 : 2;
    }
}
