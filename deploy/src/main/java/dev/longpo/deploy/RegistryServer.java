package dev.longpo.deploy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Apicurio Registry 2.6 (in-memory storage) as a child JVM. Its Confluent-compatible API at
 * {@code /apis/ccompat/v7} is what the project's registry client talks to.
 */
public final class RegistryServer {
    private RegistryServer() {
    }

    /** The Quarkus runner jar inside an unpacked {@code apicurio-registry-app-*-all.zip}. */
    public static Path runnerJar(Path home) {
        try (var s = Files.list(home)) {
            return s.filter(p -> p.getFileName().toString().endsWith("-runner.jar")).findFirst()
                    .orElseThrow(() -> new StackException("no Apicurio runner jar in " + home
                            + "; build first (mvn -pl deploy package) or set stack.registry.home"));
        } catch (IOException e) {
            throw new StackException("Apicurio Registry not found at " + home
                    + "; build first (mvn -pl deploy package) or set stack.registry.home");
        }
    }

    /** Starts the registry on 127.0.0.1:{@code port} and returns its PID (not yet ready). */
    public static long start(Path stackDir, Path home, int port, String heap) throws IOException {
        return ChildJvm.start(stackDir, stackDir.resolve("registry.log"),
                List.of("-Xmx" + heap, "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port,
                        "-Dquarkus.log.level=WARN"),
                List.of("-jar", runnerJar(home).toString()));
    }

    /** Base URL of the Confluent-compatible API. */
    public static String ccompatUrl(int port) {
        return "http://127.0.0.1:" + port + "/apis/ccompat/v7";
    }

    /** Whether {@code /health/ready} answers 200. */
    public static boolean isReady(int port) {
        try {
            HttpResponse<Void> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Starts the registry and waits until it is ready; for tests and the demo. */
    public static long startAndWait(Path stackDir, Path home, int port, String heap, Duration timeout) throws IOException {
        long pid = start(stackDir, home, port, heap);
        ChildJvm.await("schema registry", pid, stackDir.resolve("registry.log"), timeout, () -> isReady(port));
        return pid;
    }

    /** Stops a registry started by {@link #start}. */
    public static void stop(long pid, Path stackDir) {
        ChildJvm.stop(pid, stackDir, Duration.ofSeconds(10));
    }
}
