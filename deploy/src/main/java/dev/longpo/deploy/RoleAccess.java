package dev.longpo.deploy;

import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import java.util.List;

/**
 * What each process of the pipeline reads and writes on Kafka, per role: the source of the Kafka users and
 * ACLs that {@link Manifests} declares (Strimzi {@code KafkaUser}s). Consumer groups and transactional ids
 * are prefixes: {@code <pipeline.app.prefix>-<stage>} for the transactional workers and the stream
 * processors, {@code longpo-trainer-} for the trainer, {@code follow-} and {@code scan-} for the followers
 * that read topics without committing (a random group each).
 *
 * @param name         the role (Kubernetes workload and Kafka user name suffix)
 * @param reads        topics it consumes
 * @param writes       topics it produces to
 * @param groups       consumer group prefixes it uses
 * @param transactions transactional id prefixes it uses (empty: idempotent producer only)
 * @param gpu          whether it runs the model (a GPU per replica)
 * @param scalable     whether more replicas split its work (a consumer group over several partitions)
 */
public record RoleAccess(String name, List<Topic<?>> reads, List<Topic<?>> writes, List<String> groups,
                         List<String> transactions, boolean gpu, boolean scalable) {
    private static final String FOLLOW = "follow-";

    /** Every long-running role of a deployment, with the prefix {@code app} ({@code pipeline.app.prefix}). */
    public static List<RoleAccess> all(String app, String run) {
        List<Topic<?>> runEvents = List.of(Topics.ITERATIONS, Topics.CHECKPOINTS, Topics.TRAINING_METRICS, Topics.EVAL_RESULTS);
        return List.of(
                new RoleAccess("streams", List.of(Topics.DOCUMENTS, Topics.CHUNKS, Topics.ITERATIONS, Topics.INSTRUCTIONS,
                        Topics.PREFERENCE_PAIRS, Topics.EVAL_RESULTS, Topics.TRAINING_METRICS),
                        List.of(Topics.INSTRUCTION_REQUESTS, Topics.GENERATION_REQUESTS, Topics.TRAINING_SAMPLES,
                                Topics.EVAL_LATEST, Topics.TRAINING_SUMMARY, Topics.DEAD_LETTER),
                        List.of(app + "-"), List.of(app + "-"), false, true),
                new RoleAccess("instruct", List.of(Topics.INSTRUCTION_REQUESTS, Topics.ITERATIONS),
                        List.of(Topics.INSTRUCTIONS, Topics.DEAD_LETTER), List.of(app + "-instruct", FOLLOW),
                        List.of(app + "-instruct-"), true, true),
                new RoleAccess("respond", List.of(Topics.GENERATION_REQUESTS, Topics.ITERATIONS, Topics.DOCUMENTS),
                        List.of(Topics.PREFERENCE_PAIRS, Topics.DEAD_LETTER), List.of(app + "-respond", FOLLOW),
                        List.of(app + "-respond-"), true, true),
                new RoleAccess("train", List.of(Topics.TRAINING_SAMPLES, Topics.ITERATIONS, Topics.CHECKPOINTS),
                        List.of(Topics.CHECKPOINTS, Topics.TRAINING_METRICS, Topics.DEAD_LETTER),
                        List.of("longpo-trainer-" + run, FOLLOW), List.of(), true, false),
                new RoleAccess("eval", List.of(Topics.CHECKPOINTS), List.of(Topics.EVAL_RESULTS, Topics.DEAD_LETTER),
                        List.of(app + "-eval"), List.of(app + "-eval-"), true, false),
                new RoleAccess("control", concat(runEvents, List.of(Topics.INSTRUCTION_REQUESTS, Topics.INSTRUCTIONS,
                        Topics.GENERATION_REQUESTS, Topics.PREFERENCE_PAIRS, Topics.TRAINING_SAMPLES, Topics.DEAD_LETTER)),
                        List.of(Topics.ITERATIONS), List.of(FOLLOW), List.of(), false, false),
                new RoleAccess("ingest", List.of(), List.of(Topics.DOCUMENTS, Topics.CHUNKS, Topics.DEAD_LETTER),
                        List.of(), List.of("longpo-ingest-"), false, true),
                new RoleAccess("monitor", runEvents, List.of(), List.of(FOLLOW), List.of(), false, true));
    }

    /**
     * One ACL grant of a role, in Strimzi's terms (resource type {@code topic}, {@code group},
     * {@code transactionalId} or {@code cluster}; pattern {@code literal} or {@code prefix}; operations such
     * as {@code Read}), the single derivation behind the Strimzi users and {@code longpo setup --secure}.
     */
    public record Grant(String type, String name, String pattern, List<String> operations) {
    }

    /** The Kafka user of this role. */
    public String user() {
        return "longpo-" + name;
    }

    /** Every grant the role needs: its topics, its groups and transactional ids, and the internal topics of streams. */
    public List<Grant> grants(String app) {
        List<Grant> out = new java.util.ArrayList<>();
        reads.forEach(t -> out.add(new Grant("topic", t.name(), "literal", List.of("Read", "Describe"))));
        writes.forEach(t -> out.add(new Grant("topic", t.name(), "literal", List.of("Write", "Describe"))));
        groups.forEach(g -> out.add(new Grant("group", g, "prefix", List.of("Read", "Describe"))));
        transactions.forEach(t -> out.add(new Grant("transactionalId", t, "prefix", List.of("Write", "Describe"))));
        if (name.equals("streams")) { // its changelog and repartition topics
            out.add(new Grant("topic", app + "-", "prefix", List.of("All")));
        }
        out.add(new Grant("cluster", "kafka-cluster", "literal", List.of("IdempotentWrite")));
        return out;
    }

    private static List<Topic<?>> concat(List<Topic<?>> a, List<Topic<?>> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).distinct().toList();
    }

    /** Whether this role runs as a long-lived workload (ingest and monitor are run by hand or as jobs). */
    public boolean workload() {
        return !name.equals("ingest") && !name.equals("monitor");
    }

    /**
     * The {@code longpo} arguments of the role's container: the image's entrypoint is the {@code longpo}
     * command line, so a pod's {@code args} (a compose service's {@code command}) are these.
     */
    public List<String> args() {
        return switch (name) {
            case "streams" -> List.of("streams");
            case "ingest" -> List.of("ingest", "/data/corpus");
            case "monitor" -> List.of("monitor", "--http", "8080", "--http-host", "0.0.0.0");
            default -> List.of("worker", "--role", name, "--model", "/models/pi-s");
        };
    }
}
