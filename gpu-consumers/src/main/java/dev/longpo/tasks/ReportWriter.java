package dev.longpo.tasks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

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
        ImageIO.write(heatmap(r, "niah_single: " + modelVersion), "png", dir.resolve("heatmap.png").toFile());
    }

    /** Depth rows x length columns, red (0) to green (1), with the score in each cell. */
    public static BufferedImage heatmap(Evaluator.Report r, String title) {
        return heatmap(r.heatmap(), new ArrayList<>(r.longAverage().keySet()), title);
    }

    /** The heatmap of depth -> length -> score (from a report, or from {@code eval-results} events). */
    public static BufferedImage heatmap(Map<Double, Map<Integer, Double>> heat, List<Integer> lengths, String title) {
        List<Double> depths = new ArrayList<>(heat.keySet());
        int cw = 70;
        int ch = 34;
        int left = 70;
        int top = 50;
        int w = left + cw * lengths.size() + 20;
        int h = top + ch * depths.size() + 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, 10, 22);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int j = 0; j < depths.size(); j++) {
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.0f%%", depths.get(j) * 100), 20, top + j * ch + 21);
            for (int i = 0; i < lengths.size(); i++) {
                Double v = heat.get(depths.get(j)).get(lengths.get(i));
                float score = v == null || v.isNaN() ? 0f : v.floatValue();
                g.setColor(Color.getHSBColor(score / 3f, 0.65f, 0.95f));
                g.fillRect(left + i * cw, top + j * ch, cw - 2, ch - 2);
                g.setColor(Color.BLACK);
                g.drawString(v == null ? "-" : String.format(Locale.ROOT, "%.2f", v), left + i * cw + 20, top + j * ch + 21);
            }
        }
        for (int i = 0; i < lengths.size(); i++) {
            g.drawString(String.valueOf(lengths.get(i)), left + i * cw + 18, top + depths.size() * ch + 18);
        }
        g.drawString("context length (tokens); rows: needle depth", left, top + depths.size() * ch + 38);
        g.dispose();
        return img;
    }
}
