package dev.longpo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.loop.RunState;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The live dashboard of {@code longpo monitor --http PORT}: a page (Chart.js, vendored into the jar at
 * build time from the npm registry) that polls {@code /api/run} every two seconds for a JSON snapshot
 * of the run model: loss, NLL and preference-loss curves, chosen and rejected rewards and reward
 * accuracy per step, the long-context score per length of every evaluated checkpoint, each
 * checkpoint's depth x length heatmap, and the iteration timeline with its reasons. The snapshot is
 * built by the thread that owns the {@link RunState} ({@link #update}); the server only hands out the
 * latest one, so the run model needs no locking.
 */
final class Dashboard implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> ASSETS = Map.of("/", "dashboard/index.html",
            "/chart.umd.min.js", "dashboard/chart.umd.min.js");
    private final HttpServer server;
    private final AtomicReference<byte[]> snapshot = new AtomicReference<>("{}".getBytes(StandardCharsets.UTF_8));

    Dashboard(String host, int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.createContext("/api/run", ex -> send(ex, 200, "application/json", snapshot.get()));
        server.createContext("/", this::asset);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "longpo-dashboard");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** Publishes the run model's current state to the page. */
    void update(RunState state) {
        snapshot.set(snapshot(state).toString().getBytes(StandardCharsets.UTF_8));
    }

    /** What the page draws, as JSON. */
    static ObjectNode snapshot(RunState state) {
        ObjectNode root = JSON.createObjectNode();
        root.put("run", state.run());
        root.put("stopped", state.stopped());
        ArrayNode steps = root.putArray("steps");
        for (TrainingMetrics m : state.metrics()) {
            steps.addObject().put("step", m.getStep()).put("iteration", m.getIteration()).put("loss", m.getLoss())
                    .put("nll", m.getNll()).put("prefLoss", m.getPrefLoss()).put("rewardChosen", m.getRewardChosen())
                    .put("rewardRejected", m.getRewardRejected()).put("rewardAccuracy", m.getRewardAccuracy());
        }
        ArrayNode timeline = root.putArray("timeline");
        for (IterationEvent e : state.decisions()) {
            timeline.addObject().put("type", e.getType().name()).put("iteration", e.getIteration())
                    .put("version", e.getModelVersion()).put("targetLength", e.getTargetLength())
                    .put("reason", e.getReason() == null ? "" : e.getReason());
        }
        TreeSet<Integer> lengths = new TreeSet<>();
        ArrayNode models = root.putArray("checkpoints");
        for (Checkpoint c : state.checkpoints()) {
            String v = c.getModelVersion();
            if (!state.evaluated(v)) {
                continue;
            }
            ObjectNode m = models.addObject().put("version", v).put("iteration", c.getIteration()).put("step", c.getStep());
            ObjectNode scores = m.putObject("longByLength");
            for (int l : state.lengths(v)) {
                lengths.add(l);
                scores.put(String.valueOf(l), state.longMean(v, l));
            }
            double shortScore = state.shortScore(v);
            if (!Double.isNaN(shortScore)) {
                m.put("short", shortScore);
            }
            ObjectNode heat = m.putObject("heatmap");
            state.heatmap(v).forEach((depth, row) -> {
                ObjectNode r = heat.putObject(String.valueOf(depth));
                row.forEach((l, s) -> r.put(String.valueOf(l), s));
            });
        }
        ArrayNode ls = root.putArray("lengths");
        lengths.forEach(ls::add);
        return root;
    }

    private void asset(HttpExchange ex) throws IOException {
        String resource = ASSETS.get(ex.getRequestURI().getPath());
        if (resource == null) {
            send(ex, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
            return;
        }
        try (InputStream in = Dashboard.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                send(ex, 500, "text/plain", ("missing from the build: " + resource).getBytes(StandardCharsets.UTF_8));
                return;
            }
            send(ex, 200, resource.endsWith(".js") ? "text/javascript" : "text/html; charset=utf-8", in.readAllBytes());
        }
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
