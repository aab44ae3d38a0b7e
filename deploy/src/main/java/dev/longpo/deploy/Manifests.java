package dev.longpo.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.longpo.common.LongpoConfig;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Deployment manifests generated from one source of truth, the topic registry ({@link Topics}) and the
 * roles ({@link RoleAccess}), so they cannot drift from the code: Strimzi {@code KafkaTopic}s (partitions,
 * replicas, configs) and {@code KafkaUser}s (SCRAM-SHA-512, ACLs from what each role reads and writes);
 * Kubernetes workloads per role (StatefulSets, so a worker keeps its instance id and transactional id
 * across restarts; a GPU per replica for the model roles; the Prometheus endpoint on 9404), the
 * {@code longpo.properties} ConfigMap, a ReadWriteMany volume for checkpoints and the {@code longpo setup}
 * Job; and a single-host compose file with Apache Kafka's image and Apicurio Registry. The container
 * image is a parameter; the {@code image} module builds one whose entrypoint is the {@code longpo} command
 * line, so every container here passes only its arguments.
 */
public final class Manifests {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).enable(YAMLGenerator.Feature.MINIMIZE_QUOTES))
            .enable(SerializationFeature.INDENT_OUTPUT);
    /** The Strimzi cluster the topics and users belong to. */
    public static final String CLUSTER = "longpo";
    private static final int METRICS_PORT = 9404;

    private final LongpoConfig config;
    private final String image;
    private final String app;
    private final String run;
    private final int replicas;

    public Manifests(LongpoConfig config, String image) {
        this.config = config;
        this.image = image;
        this.app = config.get("pipeline.app.prefix");
        this.run = config.get("run.id");
        this.replicas = Math.max(1, config.getInt("topics.replication.factor"));
    }

    /** Every file, by relative path, as YAML text. */
    public Map<String, String> render() {
        Map<String, String> files = new TreeMap<>();
        files.put("strimzi/topics.yaml", documents(Topics.all().stream().map(this::kafkaTopic).toList()));
        List<Map<String, Object>> users = new ArrayList<>(RoleAccess.all(app, run).stream().map(this::kafkaUser).toList());
        users.add(adminUser());
        files.put("strimzi/users.yaml", documents(users));
        files.put("kubernetes/config.yaml", documents(List.of(configMap(), checkpointVolume())));
        files.put("kubernetes/setup-job.yaml", documents(List.of(setupJob())));
        for (RoleAccess r : RoleAccess.all(app, run)) {
            if (r.workload()) {
                files.put("kubernetes/" + r.name() + ".yaml", documents(List.of(workload(r))));
            }
        }
        files.put("compose.yaml", write(compose()));
        return files;
    }

    /** Writes {@link #render()} under {@code dir}; returns the files written. */
    public List<Path> write(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Map.Entry<String, String> f : render().entrySet()) {
            Path p = dir.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.writeString(p, f.getValue());
            out.add(p);
        }
        return out;
    }

    private Map<String, Object> kafkaTopic(Topic<?> t) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("partitions", config.getInt("topics.partitions." + t.name(), t.partitions()));
        spec.put("replicas", replicas);
        Map<String, String> configs = new TreeMap<>(t.configs());
        if (replicas >= 3) {
            configs.put("min.insync.replicas", "2");
        }
        spec.put("config", configs);
        return resource("kafka.strimzi.io/v1beta2", "KafkaTopic", t.name(), Map.of("strimzi.io/cluster", CLUSTER), spec);
    }

    private Map<String, Object> kafkaUser(RoleAccess r) {
        List<Map<String, Object>> acls = r.grants(app).stream().map(g -> acl(g.type(), g.name(), g.pattern(), g.operations()))
                .toList();
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("authentication", Map.of("type", "scram-sha-512"));
        spec.put("authorization", Map.of("type", "simple", "acls", acls));
        return resource("kafka.strimzi.io/v1beta2", "KafkaUser", r.user(), Map.of("strimzi.io/cluster", CLUSTER), spec);
    }

    /** The user of the {@code longpo setup} Job: describes every topic, registers nothing on Kafka itself. */
    private Map<String, Object> adminUser() {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("authentication", Map.of("type", "scram-sha-512"));
        spec.put("authorization", Map.of("type", "simple", "acls", List.of(
                acl("topic", "*", "literal", List.of("Describe", "DescribeConfigs", "Create")),
                acl("cluster", "kafka-cluster", "literal", List.of("Describe", "DescribeConfigs")))));
        return resource("kafka.strimzi.io/v1beta2", "KafkaUser", "longpo-admin", Map.of("strimzi.io/cluster", CLUSTER), spec);
    }

    private static Map<String, Object> acl(String type, String name, String pattern, List<String> operations) {
        Map<String, Object> resource = new LinkedHashMap<>();
        resource.put("type", type);
        if (!type.equals("cluster")) {
            resource.put("name", name);
            resource.put("patternType", pattern);
        }
        return Map.of("resource", resource, "operations", operations);
    }

    /** The properties every container reads ({@code LONGPO_CONFIG}); the SCRAM password comes from its user's secret. */
    private Map<String, Object> configMap() {
        String props = String.join("\n",
                "kafka.bootstrap.servers=" + CLUSTER + "-kafka-bootstrap:9093",
                "kafka.security.protocol=SASL_SSL",
                "kafka.sasl.mechanism=SCRAM-SHA-512",
                "kafka.ssl.truststore.type=PEM",
                "kafka.ssl.truststore.location=/etc/kafka-ca/ca.crt",
                "registry.url=http://schema-registry:8080/apis/ccompat/v7",
                "registry.auto.register=false",
                "topics.replication.factor=" + replicas,
                "run.id=" + run,
                "pipeline.app.prefix=" + app,
                "model.device=gpu",
                "trainer.checkpoint.dir=/checkpoints",
                "metrics.port=" + METRICS_PORT,
                "metrics.host=0.0.0.0", "");
        return resource("v1", "ConfigMap", "longpo-config", Map.of(), null, Map.of("data", Map.of("longpo.properties", props)));
    }

    private Map<String, Object> checkpointVolume() {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("accessModes", List.of("ReadWriteMany"));
        spec.put("resources", Map.of("requests", Map.of("storage", "200Gi")));
        return resource("v1", "PersistentVolumeClaim", "longpo-checkpoints", Map.of(), spec);
    }

    private Map<String, Object> setupJob() {
        Map<String, Object> pod = podSpec("setup", List.of("setup"), false, "Never");
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("backoffLimit", 3);
        spec.put("template", Map.of("metadata", Map.of("labels", Map.of("app.kubernetes.io/name", "longpo-setup")), "spec", pod));
        return resource("batch/v1", "Job", "longpo-setup", Map.of(), spec);
    }

    private Map<String, Object> workload(RoleAccess r) {
        Map<String, String> labels = Map.of("app.kubernetes.io/name", "longpo-" + r.name(), "app.kubernetes.io/part-of", "longpo");
        Map<String, Object> template = new LinkedHashMap<>();
        template.put("metadata", Map.of("labels", labels, "annotations", Map.of("prometheus.io/scrape", "true",
                "prometheus.io/port", String.valueOf(METRICS_PORT), "prometheus.io/path", "/metrics")));
        List<String> args = new ArrayList<>(r.args());
        if (args.contains("worker")) {
            args.addAll(List.of("--instance", "$(POD_NAME)"));
        }
        template.put("spec", podSpec(r.name(), args, r.gpu(), "Always"));
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("serviceName", "longpo-" + r.name());
        spec.put("replicas", 1);
        spec.put("podManagementPolicy", r.scalable() ? "Parallel" : "OrderedReady");
        spec.put("selector", Map.of("matchLabels", labels));
        spec.put("template", template);
        return resource("apps/v1", "StatefulSet", "longpo-" + r.name(), Map.of("app.kubernetes.io/part-of", "longpo"), spec);
    }

    private Map<String, Object> podSpec(String role, List<String> args, boolean gpu, String restart) {
        Map<String, Object> container = new LinkedHashMap<>();
        container.put("name", role);
        container.put("image", image);
        container.put("args", args);
        container.put("env", List.of(
                Map.of("name", "LONGPO_CONFIG", "value", "/etc/longpo/longpo.properties"),
                Map.of("name", "POD_NAME", "valueFrom", Map.of("fieldRef", Map.of("fieldPath", "metadata.name"))),
                Map.of("name", "LONGPO_KAFKA_SASL_JAAS_CONFIG", "valueFrom", Map.of("secretKeyRef",
                        Map.of("name", role.equals("setup") ? "longpo-admin" : "longpo-" + role, "key", "sasl.jaas.config")))));
        container.put("ports", List.of(Map.of("name", "metrics", "containerPort", METRICS_PORT)));
        Map<String, Object> resources = new LinkedHashMap<>();
        resources.put("requests", gpu ? Map.of("cpu", "4", "memory", "32Gi", "nvidia.com/gpu", 1) : Map.of("cpu", "1", "memory", "2Gi"));
        if (gpu) {
            resources.put("limits", Map.of("nvidia.com/gpu", 1));
        }
        container.put("resources", resources);
        List<Map<String, Object>> mounts = new ArrayList<>(List.of(Map.of("name", "config", "mountPath", "/etc/longpo"),
                Map.of("name", "kafka-ca", "mountPath", "/etc/kafka-ca")));
        List<Map<String, Object>> volumes = new ArrayList<>(List.of(
                Map.of("name", "config", "configMap", Map.of("name", "longpo-config")),
                Map.of("name", "kafka-ca", "secret", Map.of("secretName", CLUSTER + "-cluster-ca-cert"))));
        if (gpu) {
            mounts.add(Map.of("name", "checkpoints", "mountPath", "/checkpoints"));
            volumes.add(Map.of("name", "checkpoints", "persistentVolumeClaim", Map.of("claimName", "longpo-checkpoints")));
        }
        container.put("volumeMounts", mounts);
        Map<String, Object> pod = new LinkedHashMap<>();
        pod.put("restartPolicy", restart);
        pod.put("terminationGracePeriodSeconds", 60);
        pod.put("containers", List.of(container));
        pod.put("volumes", volumes);
        return pod;
    }

    /** One host: Apache Kafka (KRaft, one node), Apicurio Registry, setup, the stream processors and one worker per role. */
    private Map<String, Object> compose() {
        Map<String, Object> services = new LinkedHashMap<>();
        Map<String, Object> kafka = new LinkedHashMap<>();
        kafka.put("image", "apache/kafka:" + config.get("deploy.kafka.image.tag", "4.1.0"));
        Map<String, String> env = new LinkedHashMap<>();
        env.put("KAFKA_NODE_ID", "1");
        env.put("KAFKA_PROCESS_ROLES", "broker,controller");
        env.put("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093");
        env.put("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://kafka:9092");
        env.put("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER");
        env.put("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@kafka:9093");
        env.put("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1");
        env.put("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1");
        env.put("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1");
        env.put("KAFKA_MESSAGE_MAX_BYTES", String.valueOf(Topics.MAX_REQUEST_BYTES));
        kafka.put("environment", env);
        services.put("kafka", kafka);
        services.put("schema-registry", Map.of("image", "apicurio/apicurio-registry-mem:2.6.13.Final",
                "ports", List.of("8080:8080")));
        Map<String, String> longpoEnv = new LinkedHashMap<>();
        longpoEnv.put("LONGPO_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092");
        longpoEnv.put("LONGPO_REGISTRY_URL", "http://schema-registry:8080/apis/ccompat/v7");
        longpoEnv.put("LONGPO_RUN_ID", run);
        longpoEnv.put("LONGPO_TRAINER_CHECKPOINT_DIR", "/checkpoints");
        longpoEnv.put("LONGPO_METRICS_PORT", String.valueOf(METRICS_PORT));
        Map<String, Object> setup = service(List.of("setup"), longpoEnv, List.of("kafka", "schema-registry"));
        setup.put("restart", "on-failure");
        services.put("setup", setup);
        for (RoleAccess r : RoleAccess.all(app, run)) {
            if (r.workload()) {
                List<String> args = new ArrayList<>(r.args());
                if (args.contains("worker")) {
                    args.addAll(List.of("--instance", r.name() + "-0"));
                }
                Map<String, Object> s = service(args, longpoEnv, List.of("setup"));
                s.put("restart", "unless-stopped");
                if (r.gpu()) {
                    s.put("deploy", Map.of("resources", Map.of("reservations", Map.of("devices",
                            List.of(Map.of("driver", "nvidia", "count", 1, "capabilities", List.of("gpu")))))));
                }
                services.put(r.name(), s);
            }
        }
        Map<String, Object> compose = new LinkedHashMap<>();
        compose.put("services", services);
        compose.put("volumes", Map.of("checkpoints", Map.of(), "models", Map.of()));
        return compose;
    }

    /** A compose service of the image; {@code args} go to its entrypoint (compose's {@code command}). */
    private Map<String, Object> service(List<String> args, Map<String, String> env, List<String> dependsOn) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("image", image);
        s.put("command", args);
        s.put("environment", env);
        s.put("depends_on", dependsOn);
        s.put("volumes", List.of("checkpoints:/checkpoints", "models:/models"));
        return s;
    }

    private static Map<String, Object> resource(String apiVersion, String kind, String name, Map<String, String> labels,
                                                Map<String, Object> spec) {
        return resource(apiVersion, kind, name, labels, spec, Map.of());
    }

    private static Map<String, Object> resource(String apiVersion, String kind, String name, Map<String, String> labels,
                                                Map<String, Object> spec, Map<String, Object> extra) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("apiVersion", apiVersion);
        r.put("kind", kind);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("name", name);
        if (!labels.isEmpty()) {
            meta.put("labels", labels);
        }
        r.put("metadata", meta);
        if (spec != null) {
            r.put("spec", spec);
        }
        r.putAll(extra);
        return r;
    }

    private static String documents(List<Map<String, Object>> docs) {
        StringBuilder sb = new StringBuilder("# generated by longpo manifests from the topic registry and the roles; do not edit\n");
        for (int i = 0; i < docs.size(); i++) {
            sb.append(i == 0 ? "" : "---\n").append(write(docs.get(i)));
        }
        return sb.toString();
    }

    private static String write(Object o) {
        try {
            return YAML.writeValueAsString(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
