package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.cli.Main;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.TopicAdmin;
import dev.longpo.events.Topics;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code longpo setup} on a real broker and registry nobody set up: the dry run changes nothing, the setup
 * creates every topic and subject of the topic registry, a second setup is a no-op, and a topic or
 * subject that exists with other settings is reported and left as it is.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SetupIT {
    private static int setup(RealStack stack, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("setup", "--set",
                "kafka.bootstrap.servers=" + stack.cluster.bootstrapServers(), "--set",
                "registry.url=http://127.0.0.1:" + stack.registryPort + "/apis/ccompat/v7"));
        args.addAll(List.of(extra));
        return Main.execute(args.toArray(String[]::new));
    }

    @Test
    void setupCreatesEverythingOnceAndReportsDriftWithoutChangingIt() throws Exception {
        try (RealStack stack = RealStack.bare()) {
            KafkaClients clients = stack.clients();
            TopicAdmin.Plan dry = TopicAdmin.plan(clients);
            assertEquals(2 * Topics.all().size(), dry.of(TopicAdmin.Kind.CREATE).size(), dry.steps().toString());
            assertEquals(0, setup(stack, "--dry-run"));
            try (var admin = clients.admin()) {
                assertTrue(admin.listTopics().names().get().stream().noneMatch(n -> n.equals(Topics.DOCUMENTS.name())),
                        "a dry run creates nothing");
            }

            assertEquals(0, setup(stack), "an empty cluster is set up");
            TopicAdmin.Plan again = TopicAdmin.plan(clients);
            assertTrue(again.clean());
            assertEquals(2 * Topics.all().size(), again.of(TopicAdmin.Kind.OK).size(), "a second setup has nothing to do: "
                    + again.steps());
            assertEquals(0, setup(stack));

            try (var admin = clients.admin()) {
                admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, Topics.DOCUMENTS.name()),
                        List.of(new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.SET))))
                        .all().get();
                admin.createPartitions(Map.of(Topics.CHUNKS.name(), NewPartitions.increaseTo(
                        Topics.CHUNKS.partitions() + 1))).all().get();
            }
            // someone else registered a narrower DeadLetter as the latest version: ours cannot read its records
            Schema narrower = SchemaBuilder.record("DeadLetter").namespace("dev.longpo.avro").fields()
                    .requiredString("reason").endRecord();
            clients.registry().register(Topics.DEAD_LETTER.valueSubject(), narrower);
            TopicAdmin.Plan drifted = TopicAdmin.plan(clients);
            assertFalse(drifted.clean());
            List<String> drift = drifted.of(TopicAdmin.Kind.DRIFT).stream().map(TopicAdmin.Step::toString).toList();
            assertEquals(2, drift.size(), drift.toString());
            List<TopicAdmin.Step> refused = drifted.of(TopicAdmin.Kind.REFUSED);
            assertEquals(List.of("subject " + Topics.DEAD_LETTER.valueSubject()),
                    refused.stream().map(TopicAdmin.Step::what).toList());
            assertTrue(refused.get(0).detail().contains("not BACKWARD-compatible with DeadLetter (registered as an older"
                    + " version)"), refused.get(0).detail());
            assertTrue(drift.get(0).contains("cleanup.policy=delete (configured compact)"), drift.toString());
            assertTrue(drift.get(1).contains((Topics.CHUNKS.partitions() + 1) + " partitions (configured "
                    + Topics.CHUNKS.partitions() + ")"), drift.toString());
            assertEquals(2, setup(stack), "drift is reported with exit code 2");
            try (var admin = clients.admin()) {
                String policy = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC,
                        Topics.DOCUMENTS.name()))).all().get().values().iterator().next().get("cleanup.policy").value();
                assertEquals("delete", policy, "never changed");
            }
        }
    }
}
