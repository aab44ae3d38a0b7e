package dev.longpo.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.longpo.common.LongpoConfig;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The generated manifests agree with the topic registry, the roles and the configuration keys. */
class ManifestsTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final LongpoConfig CONFIG = LongpoConfig.load(null, Map.of("topics.replication.factor", "3",
            "topics.partitions.generation-requests", "12"));
    private static final Map<String, String> FILES = new Manifests(CONFIG, "registry.example.com/longpo:0.1.0").render();

    private static List<JsonNode> docs(String file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(FILES.get(file))) {
            it.forEachRemaining(out::add);
        }
        return out;
    }

    private static List<JsonNode> kubernetes() throws Exception {
        List<JsonNode> all = new ArrayList<>();
        for (String f : FILES.keySet()) {
            if (!f.equals("compose.yaml")) {
                all.addAll(docs(f));
            }
        }
        return all;
    }

    @Test
    void everyResourceIsWellFormed() throws Exception {
        Set<String> seen = new HashSet<>();
        for (JsonNode d : kubernetes()) {
            assertTrue(d.path("apiVersion").isTextual() && d.path("kind").isTextual(), d.toString());
            String name = d.path("metadata").path("name").asText();
            assertTrue(name.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"), "a DNS-1123 name: " + name);
            assertTrue(seen.add(d.path("kind").asText() + "/" + name), "unique: " + name);
        }
    }

    @Test
    void oneKafkaTopicPerRegisteredTopicWithItsPartitionsReplicasAndConfigs() throws Exception {
        Map<String, JsonNode> topics = docs("strimzi/topics.yaml").stream()
                .collect(Collectors.toMap(d -> d.path("metadata").path("name").asText(), d -> d));
        assertEquals(Topics.all().stream().map(Topic::name).collect(Collectors.toSet()), topics.keySet());
        for (Topic<?> t : Topics.all()) {
            JsonNode d = topics.get(t.name());
            assertEquals("KafkaTopic", d.path("kind").asText());
            assertEquals(Manifests.CLUSTER, d.path("metadata").path("labels").path("strimzi.io/cluster").asText());
            int partitions = t.name().equals("generation-requests") ? 12 : t.partitions();
            assertEquals(partitions, d.path("spec").path("partitions").asInt(), t.name());
            assertEquals(3, d.path("spec").path("replicas").asInt(), t.name());
            t.configs().forEach((k, v) -> assertEquals(v, d.path("spec").path("config").path(k).asText(), t.name() + " " + k));
            assertEquals("2", d.path("spec").path("config").path("min.insync.replicas").asText());
        }
    }

    @Test
    void eachRoleMayReadAndWriteExactlyItsTopics() throws Exception {
        Map<String, JsonNode> users = docs("strimzi/users.yaml").stream()
                .collect(Collectors.toMap(d -> d.path("metadata").path("name").asText(), d -> d));
        for (RoleAccess r : RoleAccess.all("longpo", "longpo")) {
            JsonNode u = users.get("longpo-" + r.name());
            assertEquals("scram-sha-512", u.path("spec").path("authentication").path("type").asText());
            Set<String> granted = new HashSet<>();
            for (JsonNode acl : u.path("spec").path("authorization").path("acls")) {
                JsonNode res = acl.path("resource");
                acl.path("operations").forEach(op -> granted.add(res.path("type").asText() + ":" + res.path("name").asText()
                        + ":" + res.path("patternType").asText() + ":" + op.asText()));
            }
            r.reads().forEach(t -> assertTrue(granted.contains("topic:" + t.name() + ":literal:Read"), r.name() + " reads " + t.name()));
            r.writes().forEach(t -> assertTrue(granted.contains("topic:" + t.name() + ":literal:Write"), r.name() + " writes " + t.name()));
            r.groups().forEach(g -> assertTrue(granted.contains("group:" + g + ":prefix:Read"), r.name() + " group " + g));
            Set<String> topicGrants = granted.stream().filter(g -> g.startsWith("topic:") && g.contains(":literal:")
                    && (g.endsWith(":Read") || g.endsWith(":Write"))).collect(Collectors.toSet());
            assertEquals(r.reads().size() + r.writes().size(), topicGrants.size(), r.name() + ": nothing more: " + topicGrants);
        }
    }

    @Test
    void theWorkloadsRunEveryRoleWithItsCommandGpuAndConfiguration() throws Exception {
        for (RoleAccess r : RoleAccess.all("longpo", "longpo")) {
            if (!r.workload()) {
                continue;
            }
            JsonNode s = docs("kubernetes/" + r.name() + ".yaml").get(0);
            assertEquals("StatefulSet", s.path("kind").asText());
            JsonNode c = s.path("spec").path("template").path("spec").path("containers").get(0);
            assertEquals("registry.example.com/longpo:0.1.0", c.path("image").asText());
            List<String> args = new ArrayList<>();
            c.path("args").forEach(a -> args.add(a.asText()));
            assertEquals(r.args(), args.subList(0, r.args().size()), "arguments to the image's longpo entrypoint");
            assertTrue(c.path("command").isMissingNode(), "the image's entrypoint is kept");
            assertEquals(r.gpu(), c.path("resources").path("limits").path("nvidia.com/gpu").asInt() == 1, r.name());
            assertEquals(9404, c.path("ports").get(0).path("containerPort").asInt());
        }
        JsonNode config = docs("kubernetes/config.yaml").get(0);
        Properties p = new Properties();
        p.load(new StringReader(config.path("data").path("longpo.properties").asText()));
        Set<String> known = LongpoConfig.load(null, Map.of()).asMap().keySet();
        for (String key : p.stringPropertyNames()) {
            assertTrue(known.contains(key) || key.startsWith("kafka."), "a configuration key the code reads: " + key);
        }
        assertEquals(CONFIG.get("run.id"), p.getProperty("run.id"));
    }

    @Test
    void theComposeFileRunsTheStackAndEveryRoleWithKnownSettings() throws Exception {
        JsonNode services = YAML.readTree(FILES.get("compose.yaml")).path("services");
        Set<String> names = new HashSet<>();
        services.fieldNames().forEachRemaining(names::add);
        assertTrue(names.containsAll(List.of("kafka", "schema-registry", "setup")), names.toString());
        Set<String> known = LongpoConfig.load(null, Map.of()).asMap().keySet();
        for (RoleAccess r : RoleAccess.all("longpo", "longpo")) {
            if (r.workload()) {
                JsonNode s = services.path(r.name());
                assertEquals("registry.example.com/longpo:0.1.0", s.path("image").asText(), r.name());
                s.path("environment").fieldNames().forEachRemaining(env -> assertTrue(known.contains(
                        env.substring("LONGPO_".length()).toLowerCase(Locale.ROOT).replace('_', '.')), env));
                assertEquals(r.gpu(), s.has("deploy"), r.name() + " reserves a GPU");
            }
        }
    }
}
