package dev.longpo.common;

import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import dev.longpo.schema.SchemaRegistryClient;
import dev.longpo.schema.SchemaRegistryException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;

/**
 * Sets a cluster and a registry up from the topic registry ({@link Topics}): every topic with its
 * configured partitions, replication factor and configs, and every value subject with its schema and
 * the configured compatibility. {@link #plan} compares what is there with what should be; {@link #apply}
 * creates what is missing and nothing else: a topic or subject that exists with other settings is
 * reported as drift, never changed, and a schema the registry would refuse is reported, not forced.
 */
public final class TopicAdmin {
    private TopicAdmin() {
    }

    /** What one step of the plan finds or does. */
    public enum Kind {
        /** A missing topic or subject setting that {@link #apply} creates. */
        CREATE,
        /** Already as configured. */
        OK,
        /** Exists with other settings: reported, never changed. */
        DRIFT,
        /** The current schema is not compatible with the subject's latest version: not registered. */
        REFUSED
    }

    /** One step: what it is about, what kind, and in words. */
    public record Step(Kind kind, String what, String detail) {
        @Override
        public String toString() {
            return String.format("%-7s %-32s %s", kind, what, detail);
        }
    }

    /** Every step; {@code clean()} when nothing drifted or was refused. */
    public record Plan(List<Step> steps) {
        public boolean clean() {
            return steps.stream().noneMatch(s -> s.kind() == Kind.DRIFT || s.kind() == Kind.REFUSED);
        }

        public List<Step> of(Kind kind) {
            return steps.stream().filter(s -> s.kind() == kind).toList();
        }

        /** True when the plan creates {@code what} (a step's {@link Step#what}). */
        public boolean creates(String what) {
            return steps.stream().anyMatch(s -> s.kind() == Kind.CREATE && s.what().equals(what));
        }
    }

    /** Compares the cluster and the registry with the topic registry; changes nothing. */
    public static Plan plan(KafkaClients clients) {
        List<Step> steps = new ArrayList<>();
        LongpoConfig c = clients.config();
        int rf = c.getInt("topics.replication.factor");
        try (Admin admin = clients.admin()) {
            Set<String> existing = admin.listTopics().names().get();
            List<String> present = Topics.all().stream().map(Topic::name).filter(existing::contains).toList();
            Map<String, TopicDescription> described = admin.describeTopics(present).allTopicNames().get();
            List<ConfigResource> resources = present.stream().map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n))
                    .toList();
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get();
            for (Topic<? extends SpecificRecord> t : Topics.all()) {
                int partitions = partitions(c, t);
                if (!existing.contains(t.name())) {
                    steps.add(new Step(Kind.CREATE, topic(t), partitions + " partitions, replication factor "
                            + rf + (t.configs().isEmpty() ? "" : ", " + t.configs())));
                    continue;
                }
                TopicDescription d = described.get(t.name());
                List<String> drift = new ArrayList<>();
                if (d.partitions().size() != partitions) {
                    drift.add(d.partitions().size() + " partitions (configured " + partitions + ")");
                }
                int actualRf = d.partitions().get(0).replicas().size();
                if (actualRf != rf) {
                    drift.add("replication factor " + actualRf + " (configured " + rf + ")");
                }
                Config cfg = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, t.name()));
                t.configs().forEach((k, want) -> {
                    String have = cfg.get(k) == null ? null : cfg.get(k).value();
                    if (!Objects.equals(have, want)) {
                        drift.add(k + "=" + have + " (configured " + want + ")");
                    }
                });
                steps.add(drift.isEmpty() ? new Step(Kind.OK, topic(t), partitions + " partitions, replication"
                        + " factor " + rf) : new Step(Kind.DRIFT, topic(t), String.join("; ", drift)
                        + "; left as it is"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the cluster's topics", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot read the cluster's topics: " + e.getCause().getMessage(), e.getCause());
        }
        SchemaRegistryClient registry = clients.registry();
        String level = c.get("registry.compatibility");
        Collection<String> subjects = new HashSet<>(registry.subjects());
        for (Topic<? extends SpecificRecord> t : Topics.all()) {
            String subject = t.valueSubject();
            String what = subject(t);
            Schema schema = SpecificData.get().getSchema(t.valueType());
            if (!subjects.contains(subject)) {
                steps.add(new Step(Kind.CREATE, what, "compatibility " + level + ", register "
                        + t.valueType().getSimpleName()));
                continue;
            }
            String have = registry.getCompatibility(subject);
            if (have != null && !have.equals(level)) {
                steps.add(new Step(Kind.DRIFT, what, "compatibility " + have + " (configured " + level
                        + "); left as it is"));
            }
            boolean registered = registered(registry, subject, schema);
            boolean compatible = registry.isCompatible(subject, schema);
            String name = t.valueType().getSimpleName();
            if (registered && compatible) {
                steps.add(new Step(Kind.OK, what, name + " registered"));
            } else if (compatible) {
                steps.add(new Step(Kind.CREATE, what, "register " + name + " as a new version"));
            } else {
                steps.add(new Step(Kind.REFUSED, what, "the latest version is not "
                        + (have == null ? "compatible" : have + "-compatible") + " with " + name + (registered
                        ? " (registered as an older version): its readers may fail on newer records"
                        : "; not registered")));
            }
        }
        return new Plan(steps);
    }

    /** Creates what {@link #plan} found missing; returns the plan it carried out. */
    public static Plan apply(KafkaClients clients) {
        Plan plan = plan(clients);
        LongpoConfig c = clients.config();
        int rf = c.getInt("topics.replication.factor");
        List<NewTopic> toCreate = new ArrayList<>();
        for (Topic<? extends SpecificRecord> t : Topics.all()) {
            if (plan.creates(topic(t))) {
                toCreate.add(new NewTopic(t.name(), partitions(c, t), (short) rf).configs(t.configs()));
            }
        }
        if (!toCreate.isEmpty()) {
            try (Admin admin = clients.admin()) {
                admin.createTopics(toCreate).all().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while creating topics", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("cannot create topics: " + e.getCause().getMessage(), e.getCause());
            }
        }
        SchemaRegistryClient registry = clients.registry();
        String level = c.get("registry.compatibility");
        for (Topic<? extends SpecificRecord> t : Topics.all()) {
            if (!plan.creates(subject(t))) {
                continue;
            }
            if (registry.getCompatibility(t.valueSubject()) == null) {
                registry.setCompatibility(t.valueSubject(), level);
            }
            registry.register(t.valueSubject(), SpecificData.get().getSchema(t.valueType()));
        }
        return plan;
    }

    /** Ensures every topic and subject exists (what {@code longpo up} and the tests use); returns the topics created. */
    public static List<String> ensureAll(KafkaClients clients) {
        Plan plan = apply(clients);
        return Topics.all().stream().filter(t -> plan.creates(topic(t))).map(Topic::name).toList();
    }

    /** What a topic's step is about ({@link Step#what}). */
    private static String topic(Topic<?> t) {
        return "topic " + t.name();
    }

    /** What a value subject's step is about ({@link Step#what}). */
    private static String subject(Topic<?> t) {
        return "subject " + t.valueSubject();
    }

    private static int partitions(LongpoConfig c, Topic<?> t) {
        return c.getInt("topics.partitions." + t.name(), t.partitions());
    }

    private static boolean registered(SchemaRegistryClient registry, String subject, Schema schema) {
        try {
            return registry.lookup(subject, schema) >= 0;
        } catch (SchemaRegistryException e) {
            if (e.isNotFound()) {
                return false;
            }
            throw e;
        }
    }
}
