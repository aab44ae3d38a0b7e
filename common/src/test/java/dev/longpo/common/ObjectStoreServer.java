package dev.longpo.common;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real HTTP object store for tests (shared with the integration tests through this module's test jar):
 * PUT keeps an object under its path, GET serves it or answers 404, and every request must carry
 * {@code Authorization: <token>} (else 401) — what a WebDAV share or a raw repository does.
 */
public final class ObjectStoreServer implements AutoCloseable {
    private final HttpServer server;
    private final Map<String, byte[]> objects = new ConcurrentHashMap<>();
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());

    public ObjectStoreServer(String token) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String path = ex.getRequestURI().getRawPath();
            requests.add(ex.getRequestMethod() + " " + path);
            if (!token.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.sendResponseHeaders(401, -1);
            } else if (ex.getRequestMethod().equals("PUT")) {
                objects.put(path, ex.getRequestBody().readAllBytes());
                ex.sendResponseHeaders(201, -1);
            } else if (objects.containsKey(path)) {
                byte[] body = objects.get(path);
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            } else {
                ex.sendResponseHeaders(404, -1);
            }
            ex.close();
        });
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        server.start();
    }

    /** The base URL of bucket {@code bucket}. */
    public URI base(String bucket) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/" + bucket);
    }

    /** The objects by path (mutable: tests damage or remove them). */
    public Map<String, byte[]> objects() {
        return objects;
    }

    /** Every request so far as "METHOD /path" (mutable: tests clear it). */
    public List<String> requests() {
        return requests;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
