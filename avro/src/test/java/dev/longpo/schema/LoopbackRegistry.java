package dev.longpo.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal in-memory HTTP registry on loopback for unit tests of the client's protocol handling:
 * register/get-by-id, plus scripted error answers. The integration tests use a real Apicurio.
 */
final class LoopbackRegistry implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    final HttpServer server;
    final Map<String, Integer> ids = new ConcurrentHashMap<>();
    final Map<Integer, String> schemas = new ConcurrentHashMap<>();
    final List<String> authHeaders = new CopyOnWriteArrayList<>();
    final AtomicInteger nextId = new AtomicInteger(1);
    volatile int forcedStatus = 0;
    volatile String forcedBody = "";

    LoopbackRegistry() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth != null) {
            authHeaders.add(auth);
        }
        String path = ex.getRequestURI().getPath();
        byte[] body = ex.getRequestBody().readAllBytes();
        if (forcedStatus != 0) {
            reply(ex, forcedStatus, forcedBody);
            return;
        }
        if (ex.getRequestMethod().equals("POST") && path.matches("/subjects/[^/]+/versions")) {
            JsonNode req = JSON.readTree(body);
            String schema = req.get("schema").asText();
            int id = ids.computeIfAbsent(schema, s -> nextId.getAndIncrement());
            schemas.put(id, schema);
            reply(ex, 200, "{\"id\":" + id + "}");
        } else if (ex.getRequestMethod().equals("GET") && path.startsWith("/schemas/ids/")) {
            String schema = schemas.get(Integer.parseInt(path.substring("/schemas/ids/".length())));
            if (schema == null) {
                reply(ex, 404, "{\"error_code\":40403,\"message\":\"Schema not found\"}");
            } else {
                reply(ex, 200, JSON.createObjectNode().put("schema", schema).toString());
            }
        } else {
            reply(ex, 404, "{\"error_code\":404,\"message\":\"HTTP 404 Not Found\"}");
        }
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/vnd.schemaregistry.v1+json");
        ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            ex.getResponseBody().write(b);
        }
        ex.close();
    }

    List<Integer> registeredIds() {
        return new ArrayList<>(schemas.keySet());
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
