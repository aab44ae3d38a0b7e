package dev.longpo.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.loop.Controller;
import dev.longpo.model.AdamW;
import dev.longpo.model.ChatFormat;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Objective;
import dev.longpo.model.PreferenceSample;
import dev.longpo.model.TorchRuntime;
import dev.longpo.tasks.CorpusGenerator;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.Tasks;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.workers.PairMaker;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * What one LongPO iteration teaches the model, without Kafka: {@code docs} demo documents just under
 * the target length, {@code turns} questions each (default 2; about facts in as many of their
 * paragraphs, as the instruction generator would write them), pairs made by {@link PairMaker} exactly
 * as the response generator makes them, then LongPO steps at theta1 ({@code ntk} or {@code paper}
 * rule, or a number; default ntk) over the multi-turn samples, with single-needle NIAH at
 * target/4, target/2 and target (and the short task) measured every {@code evalEvery} steps. One
 * pair set serves every configuration, so configurations differ only in training. Run:
 * {@code java -cp 'bench/target/longpo-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*' dev.longpo.bench.GainBench
 * models/pi-s 96 1e-4:0.1:0.1,1e-4:1:0.1 48 2048 [turns] [theta1]} (configurations are lr:lambda:beta).
 */
public final class GainBench {
    private GainBench() {
    }

    public static void main(String[] args) throws Exception {
        TorchRuntime.start(2);
        Path dir = Path.of(args[0]);
        int docs = Integer.parseInt(args[1]);
        String[] configs = args[2].split(",");
        int evalEvery = Integer.parseInt(args[3]);
        int target = Integer.parseInt(args[4]);
        int turns = args.length > 5 ? Integer.parseInt(args[5]) : 2;
        int ls = 256;
        double theta0 = 1e4;
        String base = args.length > 6 ? args[6] : "ntk";
        double theta1 = base.matches("[0-9.eE+]+") ? Double.parseDouble(base)
                : Controller.ThetaRule.valueOf(base.toUpperCase(Locale.ROOT)).theta(theta0, ls, target, 32);
        Random rnd = new Random(5);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int d = 0; d < docs; d++) {
            String doc = CorpusGenerator.document(target - 60, 240, rnd);
            String[] paras = doc.split("\n\n");
            for (int j = 0; j < turns; j++) {
                String chunk = paras[(j * paras.length / turns + rnd.nextInt(Math.max(1, paras.length / turns))) % paras.length];
                String key = chunk.replaceAll("(?s).*The magic number for ([a-z]+) is.*", "$1");
                reqs.add(GenerationRequest.newBuilder().setRequestId("b" + d + "/" + j).setDocId("d" + d).setChunkIndex(j)
                        .setInstruction(Tasks.question(key)).setShortContext(chunk).setLongContext(doc)
                        .setDocSha256("s").setIteration(1).setTargetLength(target).setTheta0(theta0).setTheta1(theta1)
                        .setCreatedAt(Instant.EPOCH).build());
            }
        }
        Evaluator.Settings es = new Evaluator.Settings(List.of("niah_single", "short_math"),
                List.of(target / 4, target / 2, target), List.of(0.0, 0.25, 0.5, 0.75, 1.0), 4, 20, 1234, 8, 0.8);
        ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);
        List<PreferenceSample> samples = new ArrayList<>();
        try (ModelStore.Loaded m = ModelStore.load(dir, Device.cpu())) {
            m.model().setRopeTheta(theta1);
            System.out.printf(Locale.ROOT, "pi_S at theta1 = %.0f:%n%s", theta1,
                    Evaluator.run(m.model(), m.tokenizer(), es).tableText());
            PairMaker maker = new PairMaker(m, 48, false, GenerationRequest::getLongContext);
            long t0 = System.nanoTime();
            List<PairMaker.Made> made = new ArrayList<>();
            for (int i = 0; i < reqs.size(); i += 8) {
                made.addAll(maker.make(reqs.subList(i, Math.min(reqs.size(), i + 8))));
            }
            System.out.printf(Locale.ROOT, "%d pairs in %.1f s%n", made.size(), (System.nanoTime() - t0) / 1e9);
            samples.addAll(WorkerBench.samples(reqs, made, turns));
        }
        for (String cfg : configs) {
            String[] p = cfg.split(":");
            double lr = Double.parseDouble(p[0]);
            Objective.Hyper hyper = new Objective.Hyper(Double.parseDouble(p[2]), Double.parseDouble(p[1]));
            try (ModelStore.Loaded m = ModelStore.load(dir, Device.cpu());
                 AdamW opt = new AdamW(m.model(), AdamW.Settings.builder().setLearningRate(lr).setTotalSteps(samples.size()).optWarmupSteps(5).build())) {
                LlamaModel policy = m.model();
                policy.setRopeTheta(theta1);
                policy.setTrainable(true);
                long t1 = System.nanoTime();
                for (int step = 1; step <= samples.size(); step++) {
                    try (NDScope scope = new NDScope(); NDManager nm = policy.manager().newSubManager();
                         GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        gc.backward(Objective.LONGPO.compute(hyper, samples.get(step - 1).terms(policy, fmt, nm)).loss());
                    }
                    opt.step();
                    if (step % evalEvery == 0 || step == samples.size()) {
                        policy.setTrainable(false);
                        System.out.printf(Locale.ROOT, "lr %s lambda %s beta %s, after %d samples (%.0f s training):%n%s", p[0],
                                p[1], p[2], step, (System.nanoTime() - t1) / 1e9,
                                Evaluator.run(policy, m.tokenizer(), es).tableText());
                        policy.setTrainable(true);
                    }
                }
            }
        }
    }
}
