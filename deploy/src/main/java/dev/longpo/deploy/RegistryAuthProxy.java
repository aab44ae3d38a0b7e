package dev.longpo.deploy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Executors;

/**
 * HTTP basic authentication in front of the embedded Apicurio Registry of a secure stack
 * ({@code longpo up --secure}), as a Confluent Schema Registry with basic auth would have it: every request
 * but {@code /health/*} needs {@code Authorization: Basic} with the credentials in a file
 * ({@code user:password}); anything else is answered 401 in the Confluent error format. Accepted requests
 * go unchanged to the registry on a loopback port. Apicurio 2.x itself authenticates only through an OIDC
 * server, which the embedded stack does not have. A child JVM of the stack, like the registry.
 */
public final class RegistryAuthProxy {
    private static final List<String> PASSED_HEADERS = List.of("Content-Type", "Accept");
    private final HttpServer server;
    private final HttpClient upstream = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI target;
    private final byte[] expected;

    /** Listens on 127.0.0.1:{@code port}, forwarding to 127.0.0.1:{@code upstreamPort}. */
    public RegistryAuthProxy(int port, int upstreamPort, String userInfo) throws IOException {
        this.target = URI.create("http://127.0.0.1:" + upstreamPort);
        this.expected = ("Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8)))
                .getBytes(StandardCharsets.UTF_8);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
    }

    /** {@code RegistryAuthProxy PORT UPSTREAM_PORT CREDENTIALS_FILE}. */
    public static void main(String[] args) throws IOException {
        new RegistryAuthProxy(Integer.parseInt(args[0]), Integer.parseInt(args[1]),
                Files.readString(Path.of(args[2])).trim());
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            boolean allowed = path.startsWith("/health/") || auth != null
                    && MessageDigest.isEqual(expected, auth.getBytes(StandardCharsets.UTF_8));
            if (!allowed) {
                byte[] body = "{\"error_code\":401,\"message\":\"Unauthorized: basic authentication required\"}"
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"longpo registry\"");
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(401, body.length);
                ex.getResponseBody().write(body);
                return;
            }
            String query = ex.getRequestURI().getRawQuery();
            HttpRequest.Builder req = HttpRequest.newBuilder(target.resolve(path + (query == null ? "" : "?" + query)))
                    .timeout(Duration.ofSeconds(30))
                    .method(ex.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(ex.getRequestBody().readAllBytes()));
            for (String h : PASSED_HEADERS) {
                String v = ex.getRequestHeaders().getFirst(h);
                if (v != null) {
                    req.header(h, v);
                }
            }
            HttpResponse<byte[]> r;
            try {
                r = upstream.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ex.sendResponseHeaders(503, -1);
                return;
            } catch (IOException e) {
                ex.sendResponseHeaders(502, -1);
                return;
            }
            r.headers().firstValue("Content-Type").ifPresent(v -> ex.getResponseHeaders().set("Content-Type", v));
            byte[] body = r.body();
            ex.sendResponseHeaders(r.statusCode(), body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }
        }
    }

    /** Stops listening (tests). */
    public void close() {
        server.stop(0);
    }
}
