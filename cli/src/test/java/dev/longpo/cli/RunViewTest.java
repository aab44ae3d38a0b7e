package dev.longpo.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.loop.RecordedRun;
import dev.longpo.loop.RunState;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monitor's and the demo's rendering of a recorded run. */
class RunViewTest {
    @TempDir
    Path dir;

    @Test
    void theTableHasARowPerModelAndABlockPerTask() {
        RunState s = RecordedRun.state();
        String t = new RunView(s).table(s.promoted());
        assertTrue(t.contains("pi_S (base): pi_S"), t);
        assertTrue(t.contains("iteration 1: step-8"), t);
        String piRow = t.lines().filter(l -> l.startsWith("  pi_S (base)")).findFirst().orElseThrow();
        assertTrue(piRow.matches(".*0\\.60\\s+0\\.40\\s+0\\.10\\s+0\\.10\\s+0\\.40\\s+256"), piRow);
        assertTrue(t.contains("niah_single") && t.contains("\nvt "), t);
        assertTrue(t.contains("short tasks") && t.contains("short_mc"), t);
    }

    @Test
    void theLiveViewShowsDecisionsTrainingAndEvaluations() {
        String v = new RunView(RecordedRun.state()).view();
        assertTrue(v.startsWith("run new\n"), v);
        assertTrue(v.contains("PROMOTE") && v.contains("STOP"), v);
        assertTrue(v.contains("training (mean per block of steps)"), v);
        assertTrue(v.contains("evaluated 2 of 2 checkpoints"), v);
    }

    @Test
    void plotsAreWrittenAsPngs() throws Exception {
        List<Path> files = Plots.write(RecordedRun.state(), dir);
        assertEquals(List.of("rewards.png", "accuracy.png", "losses.png", "heatmap-new-step-8.png"),
                files.stream().map(p -> p.getFileName().toString()).toList());
        for (Path f : files) {
            BufferedImage img = ImageIO.read(f.toFile());
            assertTrue(img.getWidth() > 200 && img.getHeight() > 100 && Files.size(f) > 1000, f.toString());
        }
    }
}
