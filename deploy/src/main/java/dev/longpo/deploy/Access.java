package dev.longpo.deploy;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * {@code longpo setup --secure}: a SCRAM-SHA-512 user per role ({@code longpo-<role>}) and the ACLs of
 * {@link RoleAccess#grants}, created with the admin client's rights; each role's client settings are
 * written to {@code <credentials>/<role>.properties} (mode 600), to be passed to that role's processes
 * with {@code --config} (with the registry's basic-auth credentials of the admin's settings, when it has
 * them). Idempotent: an existing credentials file keeps its password, an existing ACL is
 * left as it is.
 */
public final class Access {
    private static final String MECHANISM = "SCRAM-SHA-512";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Access() {
    }

    /** What was set up for one role. */
    public record Result(String role, String user, int acls, Path credentials) {
        @Override
        public String toString() {
            return String.format("ACL     %-32s %d grants; client settings in %s", user, acls, credentials);
        }
    }

    /** Creates every role's user and ACLs; returns one result per role. */
    public static List<Result> apply(KafkaClients admin, Path credentials) throws IOException {
        LongpoConfig c = admin.config();
        Files.createDirectories(credentials);
        List<Result> out = new ArrayList<>();
        try (Admin a = admin.admin()) {
            for (RoleAccess r : RoleAccess.all(c.get("pipeline.app.prefix"), c.get("run.id"))) {
                Path file = credentials.resolve(r.name() + ".properties");
                String password = existingPassword(file);
                if (password == null) {
                    byte[] b = new byte[24];
                    RANDOM.nextBytes(b);
                    password = HexFormat.of().formatHex(b);
                }
                List<AclBinding> bindings = bindings(r, c.get("pipeline.app.prefix"));
                a.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(r.user(),
                        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password))).all().get(60, TimeUnit.SECONDS);
                a.createAcls(bindings).all().get(60, TimeUnit.SECONDS);
                String registry = c.get("registry.basic.auth.user.info", "");
                String settings = clientSettings(r.user(), password) + (registry.isEmpty() ? ""
                        : "# the registry's credentials, shared by every role\nregistry.basic.auth.user.info=" + registry + "\n");
                AtomicFiles.write(file, settings.getBytes(StandardCharsets.UTF_8));
                AtomicFiles.setMode(file, "rw-------");
                out.add(new Result(r.name(), r.user(), bindings.size(), file));
            }
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot create the users and ACLs (does this client have admin rights, and"
                    + " does the cluster have an authorizer?): " + (e.getCause() == null ? e : e.getCause()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating users and ACLs", e);
        }
        return out;
    }

    /** The client settings of {@code user} for a SASL_PLAINTEXT listener (add SSL settings for SASL_SSL). */
    static String clientSettings(String user, String password) {
        return "# written by longpo setup --secure: the Kafka identity of " + user + "\n"
                + "kafka.security.protocol=SASL_PLAINTEXT\n"
                + "kafka.sasl.mechanism=" + MECHANISM + "\n"
                + "kafka.sasl.jaas.config=" + jaas(user, password) + "\n";
    }

    static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\""
                + password + "\";";
    }

    private static String existingPassword(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("password=\"([^\"]+)\"")
                .matcher(p.getProperty("kafka.sasl.jaas.config", ""));
        return m.find() ? m.group(1) : null;
    }

    /** The role's grants as Kafka ACL bindings (allow, any host). */
    static List<AclBinding> bindings(RoleAccess r, String app) {
        List<AclBinding> out = new ArrayList<>();
        for (RoleAccess.Grant g : r.grants(app)) {
            ResourceType type = switch (g.type()) {
                case "topic" -> ResourceType.TOPIC;
                case "group" -> ResourceType.GROUP;
                case "transactionalId" -> ResourceType.TRANSACTIONAL_ID;
                case "cluster" -> ResourceType.CLUSTER;
                default -> throw new IllegalArgumentException("resource type " + g.type());
            };
            PatternType pattern = g.pattern().equals("prefix") ? PatternType.PREFIXED : PatternType.LITERAL;
            for (String op : g.operations()) {
                AclOperation operation = AclOperation.fromString(op.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT));
                if (operation == AclOperation.UNKNOWN) {
                    throw new IllegalArgumentException("operation " + op);
                }
                out.add(new AclBinding(new ResourcePattern(type, g.name(), pattern),
                        new AccessControlEntry("User:" + r.user(), "*", operation, AclPermissionType.ALLOW)));
            }
        }
        return out;
    }
}
