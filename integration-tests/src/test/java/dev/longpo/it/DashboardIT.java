package dev.longpo.it;

import static dev.longpo.loop.RecordedRun.ckpt;
import static dev.longpo.loop.RecordedRun.decision;
import static dev.longpo.loop.RecordedRun.eval;
import static dev.longpo.loop.RecordedRun.metrics;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.IterationEventType;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * {@code longpo monitor --http} in a real headless Chromium (Debian's chromium and chromium-driver, driven by
 * Selenium): events put on the topics show up in the page's charts with their values, a new training step
 * arrives live, and the screenshot is not blank.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DashboardIT {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    @TempDir
    Path dir;

    @Test
    void thePageShowsWhatIsOnTheTopicsAndFollowsTheRunLive() throws Exception {
        assertTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "the browser test needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
                        + " (.ci/run installs them)");
        RealStack stack = RealStack.get();
        KafkaClients clients = stack.clients();
        String run = "dash-" + UUID.randomUUID().toString().substring(0, 8);
        String base = run + "-pi_S"; // a version of its own: other tests evaluate their own "pi_S" on this stack
        String trained = run + "-step-8";
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-dashboard", null)) {
            p.send(new ProducerRecord<>(Topics.ITERATIONS.name(), run, decision(run, IterationEventType.START, 1, base, 9e4)));
            p.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), run, ckpt(run, base, 0, 0)));
            p.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), run, ckpt(run, trained, 1, 8)));
            for (int l : new int[] {256, 512, 1024}) {
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), base, eval(base, "niah_single", l, null, l == 256 ? 1.0 : 0.2)));
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), base, eval(base, "vt", l, null, 0.4)));
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), trained, eval(trained, "niah_single", l, null, 0.9)));
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), trained, eval(trained, "vt", l, null, 0.5)));
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), trained, eval(trained, "niah_single", l, 0.25, 0.75)));
            }
            for (int step = 1; step <= 8; step++) {
                p.send(new ProducerRecord<>(Topics.TRAINING_METRICS.name(), run, metrics(run, step, 1, 2.0 - 0.1 * step,
                        step < 4 ? 0.0 : 1.0)));
            }
            p.send(new ProducerRecord<>(Topics.ITERATIONS.name(), run, decision(run, IterationEventType.PROMOTE, 1, trained, 9e4)));
        }
        int port = RealStack.freePort();
        Path log = dir.resolve("monitor.log");
        Process monitor = WorkerProcess.command(stack, log, List.of(), List.of("monitor", "--run", run, "--every", "1",
                "--http", String.valueOf(port)));
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless=new",
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1100", "--user-data-dir=" + dir.resolve("chromium-profile"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        ChromeDriver browser = null;
        try {
            TestUtils.waitForCondition(() -> WorkerProcess.read(log).contains("dashboard on http://") || !monitor.isAlive(),
                    120_000, "the dashboard to start");
            assertTrue(monitor.isAlive(), WorkerProcess.read(log));
            browser = new ChromeDriver(service, options);
            browser.get("http://127.0.0.1:" + port + "/");
            JavascriptExecutor js = browser;
            new WebDriverWait(browser, Duration.ofSeconds(60)).until(b -> Boolean.TRUE.equals(js.executeScript(
                    "return !!(window.longpo && window.longpo.data && window.longpo.data.steps.length === 8"
                            + " && window.longpo.data.timeline.length === 2)")));

            assertEquals(run, browser.findElement(By.id("run")).getText());
            @SuppressWarnings("unchecked")
            List<Number> loss = (List<Number>) js.executeScript(
                    "return longpo.charts.losses.data.datasets[0].data.map(p => p.y)");
            for (int step = 1; step <= 8; step++) {
                assertEquals(2.0 - 0.1 * step, loss.get(step - 1).doubleValue(), 1e-9, "loss at step " + step);
            }
            assertEquals(List.of(0L, 0L, 0L, 1L, 1L, 1L, 1L, 1L), js.executeScript(
                    "return longpo.charts.rewards.data.datasets[2].data.map(p => p.y)"), "reward accuracy");
            assertEquals(0.8, ((Number) js.executeScript(
                    "return longpo.charts.rewards.data.datasets[0].data[7].y")).doubleValue(), 1e-9, "chosen reward");
            assertEquals(List.of(base, trained), js.executeScript(
                    "return longpo.charts.long.data.datasets.map(d => d.label)"));
            @SuppressWarnings("unchecked")
            List<Map<String, Number>> piS = (List<Map<String, Number>>) js.executeScript(
                    "return longpo.charts.long.data.datasets[0].data");
            assertEquals(List.of(256, 512, 1024), piS.stream().map(m -> m.get("x").intValue()).toList());
            assertEquals(List.of(0.7, 0.3, 0.3), piS.stream().map(m -> Math.round(m.get("y").doubleValue() * 1e9) / 1e9)
                    .toList(), "long-context mean of niah_single and vt per length");
            String heat = browser.findElement(By.id("heatmap")).getText();
            assertTrue(heat.contains("0.25") && heat.contains("0.75"), heat);
            String timeline = browser.findElement(By.id("timeline")).getText();
            assertTrue(timeline.contains("START") && timeline.contains("PROMOTE") && timeline.contains(trained), timeline);

            try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-dashboard", null)) {
                p.send(new ProducerRecord<>(Topics.TRAINING_METRICS.name(), run, metrics(run, 9, 1, 1.05, 1.0)));
            }
            new WebDriverWait(browser, Duration.ofSeconds(60)).until(b -> Long.valueOf(9).equals(js.executeScript(
                    "return longpo.charts.losses.data.datasets[0].data.length")));
            assertEquals(1.05, ((Number) js.executeScript("return longpo.charts.losses.data.datasets[0].data[8].y"))
                    .doubleValue(), 1e-9, "the new step arrived without a reload");

            byte[] png = browser.getScreenshotAs(OutputType.BYTES);
            Files.write(Path.of("target", "dashboard.png"), png);
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
            Set<Integer> colours = new HashSet<>();
            for (int y = 0; y < image.getHeight(); y += 4) {
                for (int x = 0; x < image.getWidth(); x += 4) {
                    colours.add(image.getRGB(x, y));
                }
            }
            assertTrue(colours.size() > 50, "a blank screenshot: " + colours.size() + " colours");
        } finally {
            if (browser != null) {
                browser.quit();
            }
            WorkerProcess.stop(monitor);
        }
    }
}
