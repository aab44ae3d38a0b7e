package dev.longpo.bench;

import ai.djl.Device;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.loop.Controller;
import dev.longpo.model.AdamW;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelAnswerer;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Objective;
import dev.longpo.model.PreferenceSample;
import dev.longpo.model.TorchRuntime;
import dev.longpo.model.TrainStep;
import dev.longpo.tasks.CorpusGenerator;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.Tasks;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
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
        Evaluator.Settings es = Evaluator.Settings.builder(256).optTasks(List.of("niah_single", "short_mc", "short_caps"))
                .optLengths(List.of(target / 4, target / 2, target)).optSamples(4).optShortSamples(20).build();
        ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);
        List<PreferenceSample> samples = new ArrayList<>();
        try (ModelStore.Loaded m = ModelStore.load(dir, Device.cpu())) {
            m.model().setRopeTheta(theta1);
            System.out.printf(Locale.ROOT, "pi_S at theta1 = %.0f:%n%s", theta1,
                    Evaluator.run(new ModelAnswerer(m.model(), m.tokenizer()), es).tableText());
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
                TrainStep<Objective.Metrics> train = new TrainStep<>(policy, opt);
                long t1 = System.nanoTime();
                for (int step = 1; step <= samples.size(); step++) {
                    train.run(List.of(samples.get(step - 1).forward(Objective.LONGPO, hyper, policy, fmt)));
                    if (step % evalEvery == 0 || step == samples.size()) {
                        policy.setTrainable(false);
                        System.out.printf(Locale.ROOT, "lr %s lambda %s beta %s, after %d samples (%.0f s training):%n%s", p[0],
                                p[1], p[2], step, (System.nanoTime() - t1) / 1e9,
                                Evaluator.run(new ModelAnswerer(policy, m.tokenizer()), es).tableText());
                    }
                }
            }
        }
    }
}
