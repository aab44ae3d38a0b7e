package dev.longpo.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * An in-process registry answering the same Confluent REST routes the client uses, selected by a
 * {@code mock://<scope>} URL (as Confluent's serdes do). For topology tests with TopologyTestDriver
 * and for unit tests; one instance per scope, shared within the JVM. Supports BACKWARD and NONE.
 */
final class InMemoryRegistry {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, InMemoryRegistry> SCOPES = new ConcurrentHashMap<>();

    private final Map<String, Integer> idBySchema = new LinkedHashMap<>();
    private final Map<Integer, String> schemaById = new LinkedHashMap<>();
    private final Map<String, List<Integer>> versions = new LinkedHashMap<>();
    private final Map<String, String> compatibility = new LinkedHashMap<>();

    static InMemoryRegistry scope(String name) {
        return SCOPES.computeIfAbsent(name, n -> new InMemoryRegistry());
    }

    synchronized JsonNode handle(String method, String path, JsonNode body) {
        String[] p = path.substring(1).split("/");
        if (method.equals("POST") && p.length == 3 && p[0].equals("subjects") && p[2].equals("versions")) {
            return register(decode(p[1]), body.get("schema").asText());
        }
        if (method.equals("POST") && p.length == 2 && p[0].equals("subjects")) {
            Integer id = idBySchema.get(canonical(body.get("schema").asText()));
            if (id == null || !versions.getOrDefault(decode(p[1]), List.of()).contains(id)) {
                throw notFound(40403, "Schema not found");
            }
            return JSON.createObjectNode().put("id", id).put("subject", decode(p[1]));
        }
        if (method.equals("GET") && p.length == 3 && p[0].equals("schemas") && p[1].equals("ids")) {
            String s = schemaById.get(Integer.parseInt(p[2]));
            if (s == null) {
                throw notFound(40403, "Schema " + p[2] + " not found");
            }
            return JSON.createObjectNode().put("schema", s);
        }
        if (method.equals("POST") && p.length == 5 && p[0].equals("compatibility")) {
            String subject = decode(p[2]);
            if (!versions.containsKey(subject)) {
                throw notFound(40401, "Subject " + subject + " not found");
            }
            return JSON.createObjectNode().put("is_compatible", compatible(subject, body.get("schema").asText()));
        }
        if (p.length == 2 && p[0].equals("config")) {
            if (method.equals("PUT")) {
                compatibility.put(decode(p[1]), body.get("compatibility").asText());
                return body;
            }
            String level = compatibility.get(decode(p[1]));
            if (level == null) {
                throw notFound(40408, "Subject has no compatibility level");
            }
            return JSON.createObjectNode().put("compatibilityLevel", level);
        }
        if (method.equals("GET") && p.length == 1 && p[0].equals("subjects")) {
            ArrayNode a = JSON.createArrayNode();
            versions.keySet().forEach(a::add);
            return a;
        }
        if (method.equals("GET") && p.length == 3 && p[0].equals("subjects") && p[2].equals("versions")) {
            List<Integer> v = versions.get(decode(p[1]));
            if (v == null) {
                throw notFound(40401, "Subject not found");
            }
            ArrayNode a = JSON.createArrayNode();
            for (int i = 1; i <= v.size(); i++) {
                a.add(i);
            }
            return a;
        }
        throw notFound(404, "no route " + method + " " + path);
    }

    private JsonNode register(String subject, String schema) {
        String c = canonical(schema);
        List<Integer> v = versions.computeIfAbsent(subject, s -> new ArrayList<>());
        Integer existing = idBySchema.get(c);
        if (existing != null && v.contains(existing)) {
            return JSON.createObjectNode().put("id", existing);
        }
        if (!v.isEmpty() && !compatible(subject, schema)) {
            throw new SchemaRegistryException("Schema being registered is incompatible with an earlier schema for subject \""
                    + subject + "\"", 409, 409, null);
        }
        int id = existing != null ? existing : idBySchema.size() + 1;
        idBySchema.put(c, id);
        schemaById.put(id, c);
        v.add(id);
        return JSON.createObjectNode().put("id", id);
    }

    private boolean compatible(String subject, String schema) {
        String level = compatibility.getOrDefault(subject, "BACKWARD");
        if (level.equals("NONE") || versions.getOrDefault(subject, List.of()).isEmpty()) {
            return true;
        }
        List<Integer> v = versions.get(subject);
        Schema writer = new Schema.Parser().parse(schemaById.get(v.get(v.size() - 1)));
        Schema reader = new Schema.Parser().parse(schema);
        return SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getType()
                == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE;
    }

    private static String canonical(String schema) {
        return new Schema.Parser().parse(schema).toString();
    }

    private static String decode(String s) {
        return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static SchemaRegistryException notFound(int code, String message) {
        return new SchemaRegistryException("schema registry: HTTP 404 error " + code + ": " + message, 404, code, null);
    }
}
