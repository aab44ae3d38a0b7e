package dev.longpo.tasks;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The project's PNG charts, drawn with XChart so they have axes, legends and titles: line charts of
 * named series (training curves, scores against steps) with optional vertical markers, and the
 * single-needle depth x length heatmap.
 */
public final class Charts {
    private Charts() {
    }

    /** One series of a line chart: x and y values of the same length. */
    public record Series(double[] x, double[] y) {
        public Series {
            if (x.length != y.length || x.length == 0) {
                throw new IllegalArgumentException("a series needs as many x as y values, and at least one");
            }
        }
    }

    /** A vertical marker at {@code x} with a label (e.g. where a new iteration begins). */
    public record Marker(double x, String label) {
    }

    /** A line chart of the named series, with markers, saved as a PNG. */
    public static Path lines(String title, String xTitle, String yTitle, Map<String, Series> series, List<Marker> markers,
                             Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(series.size() > 3 ? 1040 : 860).height(480).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        chart.getStyler().setLegendPosition(series.size() > 3 ? Styler.LegendPosition.OutsideE : Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(series.size() > 3 ? Styler.LegendLayout.Vertical : Styler.LegendLayout.Horizontal);
        chart.getStyler().setMarkerSize(4);
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
        chart.getStyler().setYAxisDecimalPattern("#.###");
        series.forEach((name, s) -> {
            XYSeries xy = chart.addSeries(name, s.x(), s.y());
            xy.setMarker(s.x().length > 40 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
        });
        double top = series.values().stream().flatMapToDouble(s -> java.util.Arrays.stream(s.y()))
                .filter(Double::isFinite).max().orElse(1);
        for (Marker m : markers) {
            chart.addAnnotation(new AnnotationLine(m.x(), true, false));
            chart.addAnnotation(new AnnotationText(m.label(), m.x(), top, false));
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return png;
    }

    /** Trailing moving average over {@code window} points (the first points average what there is). */
    public static double[] smooth(double[] v, int window) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double sum = 0;
            int n = 0;
            for (int j = Math.max(0, i - window + 1); j <= i; j++) {
                if (Double.isFinite(v[j])) {
                    sum += v[j];
                    n++;
                }
            }
            out[i] = n == 0 ? Double.NaN : sum / n;
        }
        return out;
    }

    /**
     * The single-needle heatmap (depth -> length -> score, from a report or from {@code eval-results}
     * events) as a PNG: lengths across, depths down, red (0) to green (1), each cell labelled.
     */
    public static Path heatmap(Map<Double, Map<Integer, Double>> heat, List<Integer> lengths, String title, Path png)
            throws IOException {
        List<Double> depths = new ArrayList<>(heat.keySet());
        List<String> xs = lengths.stream().map(String::valueOf).toList();
        List<String> ys = depths.stream().map(d -> String.format(Locale.ROOT, "%.0f%%", d * 100)).toList();
        List<Number[]> cells = new ArrayList<>();
        for (int i = 0; i < lengths.size(); i++) {
            for (int j = 0; j < depths.size(); j++) {
                Double v = heat.get(depths.get(j)).get(lengths.get(i));
                cells.add(new Number[] {i, j, v == null || v.isNaN() ? 0.0 : v});
            }
        }
        HeatMapChart chart = new HeatMapChartBuilder().width(Math.max(480, 90 * lengths.size() + 200))
                .height(Math.max(320, 50 * depths.size() + 160)).title(title).xAxisTitle("context length (tokens)")
                .yAxisTitle("needle depth").build();
        chart.getStyler().setRangeColors(new Color[] {new Color(0xd73027), new Color(0xfee08b), new Color(0x1a9850)});
        chart.getStyler().setMin(0).setMax(1);
        chart.getStyler().setShowValue(true);
        chart.getStyler().setHeatMapValueDecimalPattern("0.00");
        chart.addSeries("niah_single", xs, ys, cells);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return png;
    }

    /** An ordered map of series, for building charts in one expression. */
    public static Map<String, Series> series() {
        return new LinkedHashMap<>();
    }
}
