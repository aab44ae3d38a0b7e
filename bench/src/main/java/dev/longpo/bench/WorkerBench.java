package dev.longpo.bench;

import ai.djl.Device;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.model.AdamW;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Objective;
import dev.longpo.model.PreferenceSample;
import dev.longpo.model.TorchRuntime;
import dev.longpo.model.TrainStep;
import dev.longpo.tasks.CorpusGenerator;
import dev.longpo.tasks.Tasks;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import dev.longpo.workers.PairMaker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Worker throughput for the mini configuration at 8 x L_s (2048-token long contexts): preference pairs
 * per second of the response generator's model work (two generations and two reference scorings per
 * pair, batch of 8) and two-turn samples per second of the LongPO trainer, with the share of time a
 * sample costs in generation vs training. Batches come in two shapes: eight documents with one question
 * each, and two documents with four questions each, as the pipeline delivers them (generation requests
 * are keyed by document, and the generator prefills a document shared by its questions once). Kafka is left out: this is the GPU-side cost. Run:
 * {@code java -cp 'bench/target/longpo-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*' dev.longpo.bench.WorkerBench [modelDir]}.
 */
public final class WorkerBench {
    private WorkerBench() {
    }

    public static void main(String[] args) throws Exception {
        TorchRuntime.start(2);
        Path dir;
        if (args.length > 0) {
            dir = Path.of(args[0]);
        } else {
            dir = Files.createTempDirectory("bench-model");
            try (LlamaModel m = LlamaModel.random(ModelConfig.miniDefault(), Device.cpu(), 1)) {
                ModelStore.save(m, dir, Map.of());
            }
        }
        int ls = 256;
        int target = 8 * ls;
        List<GenerationRequest> distinct = requests(target, 8, 1);
        List<GenerationRequest> reqs = requests(target, 2, 4);
        try (ModelStore.Loaded m = ModelStore.load(dir, Device.cpu())) {
            PairMaker maker = new PairMaker(m, 48, false, GenerationRequest::getLongContext);
            maker.make(reqs.subList(0, 2));
            double distinctSecs = medianSeconds(maker, distinct);
            double genSecs = medianSeconds(maker, reqs);
            List<PairMaker.Made> made = maker.make(reqs);
            double pairsPerSec = reqs.size() / genSecs;

            ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);
            LlamaModel policy = m.model();
            policy.setRopeTheta(4e4);
            policy.setTrainable(true);
            List<PreferenceSample> samples = samples(reqs, made, 2);
            try (AdamW opt = new AdamW(policy, AdamW.Settings.builder().setLearningRate(1e-4).setTotalSteps(100).optWarmupSteps(1).build())) {
                trainStep(policy, opt, fmt, samples.get(0));
                long t1 = System.nanoTime();
                for (PreferenceSample s : samples) {
                    trainStep(policy, opt, fmt, s);
                }
                double trainSecs = (System.nanoTime() - t1) / 1e9;
                double samplesPerSec = samples.size() / trainSecs;
                double genPerSample = 2 / pairsPerSec;
                double trainPerSample = 1 / samplesPerSec;
                System.out.printf(Locale.ROOT, "model: %s; long context %d tokens (8 x L_s), short ~240, up to 48 new tokens,"
                        + " batch 8, 2 threads%n", args.length > 0 ? args[0] : "random mini", target);
                System.out.printf(Locale.ROOT, "response generator, 8 documents x 1 question: %.2f pairs/s (%.1f s for 8)%n",
                        distinct.size() / distinctSecs, distinctSecs);
                System.out.printf(Locale.ROOT, "response generator, 2 documents x 4 questions (the demo's loop.max.turns):"
                        + " %.2f pairs/s (%.1f s for 8)%n", pairsPerSec, genSecs);
                System.out.printf(Locale.ROOT, "trainer (LongPO, 2-turn samples): %.2f samples/s (%.2f s/step)%n",
                        samplesPerSec, 1 / samplesPerSec);
                System.out.printf(Locale.ROOT, "per sample: %.1f s generating (2 pairs) vs %.1f s training = %.0f%% / %.0f%%%n",
                        genPerSample, trainPerSample, 100 * genPerSample / (genPerSample + trainPerSample),
                        100 * trainPerSample / (genPerSample + trainPerSample));
            }
        }
    }

    /** {@code docs} documents of {@code target - 60} tokens with {@code questions} requests each, in document order. */
    static List<GenerationRequest> requests(int target, int docs, int questions) {
        Random rnd = new Random(3);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int d = 0; d < docs; d++) {
            String doc = CorpusGenerator.document(target - 60, 240, rnd);
            String[] chunks = doc.split("\n\n");
            for (int q = 0; q < questions; q++) {
                String chunk = chunks[q % chunks.length];
                String key = chunk.replaceAll("(?s).*The magic number for ([a-z]+) is.*", "$1");
                int i = reqs.size();
                reqs.add(GenerationRequest.newBuilder().setRequestId("b" + i).setDocId("d" + d).setChunkIndex(q)
                        .setInstruction(Tasks.question(key)).setShortContext(chunk).setLongContext(doc)
                        .setDocSha256("s").setIteration(1).setTargetLength(target).setTheta0(1e4).setTheta1(4e4)
                        .setCreatedAt(Instant.EPOCH).build());
            }
        }
        return reqs;
    }

    /** The median wall time of three {@link PairMaker#make} calls (one run on this machine varies by up to 2x). */
    private static double medianSeconds(PairMaker maker, List<GenerationRequest> reqs) {
        double[] secs = new double[3];
        for (int i = 0; i < secs.length; i++) {
            long t0 = System.nanoTime();
            maker.make(reqs);
            secs[i] = (System.nanoTime() - t0) / 1e9;
        }
        java.util.Arrays.sort(secs);
        return secs[1];
    }

    /**
     * Requests {@code turns * i .. turns * i + turns - 1} (one document) with their pairs as one
     * multi-turn sample, as PairGrouping makes them.
     */
    static List<PreferenceSample> samples(List<GenerationRequest> reqs, List<PairMaker.Made> made, int turns) {
        List<PreferenceSample> samples = new ArrayList<>();
        for (int i = 0; i + turns <= reqs.size(); i += turns) {
            List<String> questions = new ArrayList<>();
            List<int[]> chosen = new ArrayList<>();
            List<int[]> rejected = new ArrayList<>();
            double refChosen = 0;
            double refRejected = 0;
            for (int j = i; j < i + turns; j++) {
                questions.add(reqs.get(j).getInstruction());
                chosen.add(made.get(j).chosen());
                rejected.add(made.get(j).rejected());
                refChosen += made.get(j).refChosen();
                refRejected += made.get(j).refRejected();
            }
            samples.add(new PreferenceSample("s" + i, reqs.get(i).getLongContext(), questions, chosen, rejected,
                    refChosen, refRejected, Double.NaN, Double.NaN));
        }
        return samples;
    }

    private static void trainStep(LlamaModel policy, AdamW opt, ChatFormat fmt, PreferenceSample s) {
        new TrainStep<Objective.Metrics>(policy, opt).run(List.of(s.forward(Objective.LONGPO, new Objective.Hyper(0.1, 0.1), policy, fmt)));
    }
}
