package dev.longpo.tasks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes an evaluation report as JSON, text and a depth x length heatmap PNG. */
public final class ReportWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportWriter() {
    }

    /** Writes {@code eval.json}, {@code eval.txt}, {@code heatmap.txt} and {@code heatmap.png} into {@code dir}. */
    public static void write(Evaluator.Report r, String modelVersion, int samples, Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model_version", modelVersion);
        json.put("samples", samples);
        json.put("effective_length", r.effectiveLength());
        json.put("threshold", r.threshold());
        json.put("short_score", r.shortScore());
        json.put("long_average", r.longAverage());
        json.put("table", r.table());
        json.put("cells", r.cells());
        JSON.writeValue(dir.resolve("eval.json").toFile(), json);
        Files.writeString(dir.resolve("eval.txt"), r.tableText());
        Files.writeString(dir.resolve("heatmap.txt"), r.heatmapText());
        Charts.heatmap(r.heatmap(), new ArrayList<>(r.longAverage().keySet()), "niah_single: " + modelVersion,
                dir.resolve("heatmap.png"));
    }
}
