package dev.longpo.common;

import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import dev.longpo.schema.SchemaRegistryClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * Creates the pipeline's topics from {@link Topics} and prepares their registry subjects (compatibility
 * level, current schema). Idempotent: existing topics and schemas are left as they are.
 */
public final class TopicAdmin {
    private TopicAdmin() {
    }

    /** Ensures every topic exists and every value subject is registered with the configured compatibility. */
    public static List<String> ensureAll(KafkaClients clients) {
        List<String> created = new ArrayList<>();
        int rf = clients.config().getInt("topics.replication.factor");
        try (Admin admin = clients.admin()) {
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> toCreate = new ArrayList<>();
            for (Topic<? extends SpecificRecord> t : Topics.all()) {
                if (!existing.contains(t.name())) {
                    int partitions = clients.config().getInt("topics.partitions." + t.name(), t.partitions());
                    toCreate.add(new NewTopic(t.name(), partitions, (short) rf).configs(t.configs()));
                    created.add(t.name());
                }
            }
            if (!toCreate.isEmpty()) {
                admin.createTopics(toCreate).all().get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot create topics: " + e.getCause().getMessage(), e.getCause());
        }
        SchemaRegistryClient registry = clients.registry();
        String level = clients.config().get("registry.compatibility");
        for (Topic<? extends SpecificRecord> t : Topics.all()) {
            registry.setCompatibility(t.valueSubject(), level);
            registry.register(t.valueSubject(), SpecificData.get().getSchema(t.valueType()));
        }
        return created;
    }
}
