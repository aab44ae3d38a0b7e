package dev.longpo.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.avro.Schema;

/**
 * A small, caching client of the Confluent Schema Registry REST API (v1 content type). It talks to
 * Confluent Schema Registry and to Apicurio Registry's compatible endpoint ({@code /apis/ccompat/v7}).
 * Thread-safe; schema ids and schemas are cached forever (ids are immutable in both registries).
 * A {@code mock://<scope>} URL answers the same routes from an in-process registry, for tests.
 */
public final class SchemaRegistryClient {
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final RegistrySettings settings;
    private final HttpClient http;
    private final String authHeader;
    private final Map<String, Integer> idBySubjectAndSchema = new ConcurrentHashMap<>();
    private final Map<Integer, Schema> schemaById = new ConcurrentHashMap<>();

    public SchemaRegistryClient(RegistrySettings settings) {
        this.settings = settings;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(settings.timeout());
        if (settings.truststore() != null) {
            builder.sslContext(sslContext(settings));
        }
        this.http = builder.build();
        this.authHeader = settings.basicAuthUserInfo() == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(
                        settings.basicAuthUserInfo().getBytes(StandardCharsets.UTF_8));
    }

    public RegistrySettings settings() {
        return settings;
    }

    /** Registers {@code schema} under {@code subject} (idempotent: the same schema gets the same id). */
    public int register(String subject, Schema schema) {
        String cacheKey = subject + '\u0000' + schema.toString();
        Integer cached = idBySubjectAndSchema.get(cacheKey);
        if (cached != null) {
            return cached;
        }
        JsonNode body = call("POST", "/subjects/" + enc(subject) + "/versions", schemaBody(schema));
        int id = body.path("id").asInt(-1);
        if (id < 0) {
            throw new SchemaRegistryException("registry returned no id for " + subject + ": " + body, 200, -1, null);
        }
        idBySubjectAndSchema.put(cacheKey, id);
        schemaById.putIfAbsent(id, schema);
        return id;
    }

    /** Looks up the id of an already registered schema without registering it; 404 if absent. */
    public int lookup(String subject, Schema schema) {
        String cacheKey = subject + '\u0000' + schema.toString();
        Integer cached = idBySubjectAndSchema.get(cacheKey);
        if (cached != null) {
            return cached;
        }
        JsonNode body = call("POST", "/subjects/" + enc(subject), schemaBody(schema));
        int id = body.path("id").asInt(-1);
        idBySubjectAndSchema.put(cacheKey, id);
        return id;
    }

    /** The schema with this global id. */
    public Schema schemaById(int id) {
        return schemaById.computeIfAbsent(id, i -> {
            JsonNode body = call("GET", "/schemas/ids/" + i, null);
            return new Schema.Parser().parse(body.path("schema").asText());
        });
    }

    /** Whether {@code schema} may be registered as the next version of {@code subject} under its compatibility rule. */
    public boolean isCompatible(String subject, Schema schema) {
        try {
            JsonNode body = call("POST", "/compatibility/subjects/" + enc(subject) + "/versions/latest",
                    schemaBody(schema));
            return body.path("is_compatible").asBoolean(false);
        } catch (SchemaRegistryException e) {
            if (e.isNotFound()) {
                return true; // nothing registered yet: anything is compatible
            }
            throw e;
        }
    }

    /** Sets the compatibility level (BACKWARD, FORWARD, FULL, NONE, ..._TRANSITIVE) of one subject. */
    public void setCompatibility(String subject, String level) {
        ObjectNode body = JSON.createObjectNode().put("compatibility", level);
        call("PUT", "/config/" + enc(subject), body);
    }

    /** The compatibility level of one subject, or null when it has none of its own. */
    public String getCompatibility(String subject) {
        try {
            JsonNode body = call("GET", "/config/" + enc(subject), null);
            JsonNode level = body.has("compatibilityLevel") ? body.get("compatibilityLevel") : body.get("compatibility");
            return level == null ? null : level.asText();
        } catch (SchemaRegistryException e) {
            if (e.isNotFound()) {
                return null;
            }
            throw e;
        }
    }

    /** All subjects. */
    public List<String> subjects() {
        JsonNode body = call("GET", "/subjects", null);
        List<String> out = new ArrayList<>();
        body.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** Version numbers registered under a subject. */
    public List<Integer> versions(String subject) {
        JsonNode body = call("GET", "/subjects/" + enc(subject) + "/versions", null);
        List<Integer> out = new ArrayList<>();
        body.forEach(n -> out.add(n.asInt()));
        return out;
    }

    private static ObjectNode schemaBody(Schema schema) {
        return JSON.createObjectNode().put("schema", schema.toString());
    }

    private JsonNode call(String method, String path, JsonNode body) {
        if (settings.url().getScheme().equals("mock")) {
            return InMemoryRegistry.scope(settings.url().getSchemeSpecificPart()).handle(method, path, body);
        }
        URI uri = URI.create(stripSlash(settings.url().toString()) + path);
        HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(settings.timeout())
                .header("Accept", CONTENT_TYPE + ", application/json");
        if (authHeader != null) {
            req.header("Authorization", authHeader);
        }
        HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body.toString());
        if (body != null) {
            req.header("Content-Type", CONTENT_TYPE);
        }
        req.method(method, publisher);
        HttpResponse<InputStream> resp;
        try {
            resp = http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new SchemaRegistryException("schema registry unreachable at " + settings.url() + " ("
                    + method + " " + path + "): " + e, -1, -1, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException("interrupted calling schema registry", -1, -1, e);
        }
        JsonNode json;
        try (InputStream in = resp.body()) {
            byte[] bytes = in.readAllBytes();
            json = bytes.length == 0 ? JSON.createObjectNode() : JSON.readTree(bytes);
        } catch (IOException e) {
            throw new SchemaRegistryException("unreadable registry response to " + method + " " + path
                    + " (HTTP " + resp.statusCode() + ")", resp.statusCode(), -1, e);
        }
        int status = resp.statusCode();
        if (status >= 200 && status < 300) {
            return json;
        }
        int code = json.path("error_code").asInt(-1);
        String message = json.path("message").asText(json.toString());
        throw new SchemaRegistryException("schema registry " + method + " " + path + " failed: HTTP " + status
                + (code >= 0 ? " error " + code : "") + ": " + message, status, code, null);
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static SSLContext sslContext(RegistrySettings s) {
        try (InputStream in = Files.newInputStream(s.truststore())) {
            KeyStore ks = KeyStore.getInstance(s.truststore().toString().endsWith(".jks") ? "JKS" : "PKCS12");
            ks.load(in, s.truststorePassword() == null ? null : s.truststorePassword().toCharArray());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot load registry truststore " + s.truststore() + ": " + e, e);
        }
    }
}
