package dev.longpo.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.DeadLetter;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import dev.longpo.text.ByteTokenizer;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.Topology;

/**
 * Every topology's decoders under thousands of generated records on every input topic: valid records,
 * the same truncated, with bytes flipped or extended, random bytes, and records without a key. Nothing
 * escapes the topology (the driver would rethrow it); every record that does not decode is dead-lettered
 * exactly once by the topology's stage, with a reason, its topic and its offset.
 */
class DecoderFuzzTest {
    /** One topology under test: its stage name, how to build it, and the topics it decodes. */
    record Case(String stage, Function<StreamsSupport, Topology> build, List<Topic<? extends SpecificRecord>> inputs) {
    }

    static final List<Case> CASES = List.of(
            new Case("pairing", s -> Pairing.buildTopology(s, "run", ByteTokenizer.INSTANCE, 1 << 20, Duration.ofSeconds(1)),
                    List.of(Topics.DOCUMENTS, Topics.CHUNKS, Topics.INSTRUCTIONS)),
            new Case("fanout", s -> InstructionFanout.buildTopology(s, "run", Duration.ofSeconds(1)),
                    List.of(Topics.DOCUMENTS, Topics.CHUNKS)),
            new Case("grouping", s -> PairGrouping.buildTopology(s, "run", PairFilter.spec(), 3, Duration.ofSeconds(30),
                    Duration.ofSeconds(1)), List.of(Topics.PREFERENCE_PAIRS)),
            new Case("metrics", s -> MetricsAggregation.buildTopology(s, Duration.ofMinutes(1)),
                    List.of(Topics.EVAL_RESULTS, Topics.TRAINING_METRICS)));

    private static SpecificRecord valid(Topic<?> topic) {
        var doc = Harness.document("d1", 3, 40);
        return switch (topic.name()) {
            case "documents" -> doc;
            case "chunks" -> Harness.chunk(doc, 1, 40);
            case "instructions" -> PairingTest.instruction("d1", 1, 1);
            case "preference-pairs" -> PairGroupingTest.pair("d1", 1, "yes", "no");
            case "eval-results" -> MetricsAggregationTest.eval("m", "niah_single", 512, 0.5);
            case "training-metrics" -> MetricsAggregationTest.metrics(1, 2.0, 0.5);
            default -> throw new IllegalArgumentException(topic.name());
        };
    }

    /** How a record's bytes are made. */
    enum Make { VALID, TRUNCATED, FLIPPED, EXTENDED, RANDOM, NO_KEY }

    /** One running topology per case for the whole property (a driver per try would take minutes). */
    private static final Map<String, Harness> RUNNING = new HashMap<>();
    /** Records piped so far per case and topic: the next record's offset. */
    private static final Map<String, Long> PIPED = new HashMap<>();

    @AfterContainer
    static void stop() {
        RUNNING.values().forEach(Harness::close);
        RUNNING.clear();
        PIPED.clear();
    }

    private static Harness running(Case c) throws Exception {
        Harness h = RUNNING.get(c.stage());
        if (h == null) {
            h = new Harness();
            h.start(c.build().apply(h.support));
            RUNNING.put(c.stage(), h);
        }
        return h;
    }

    @Property(tries = 4000)
    void everyUndecodableRecordIsDeadLetteredOnceWithItsReason(@ForAll @IntRange(max = 3) int which, @ForAll Make make,
                                                               @ForAll long seed) throws Exception {
        Case c = CASES.get(which);
        Random rnd = new Random(seed);
        @SuppressWarnings("unchecked")
        Topic<SpecificRecord> topic = (Topic<SpecificRecord>) c.inputs().get(rnd.nextInt(c.inputs().size()));
        Harness h = running(c);
        long offset = PIPED.merge(c.stage() + "/" + topic.name(), 1L, Long::sum) - 1;
        byte[] good = h.support.serde(topic).serialize(topic.name(), valid(topic));
        byte[] bytes = switch (make) {
            case VALID, NO_KEY -> good;
            case TRUNCATED -> Arrays.copyOf(good, rnd.nextInt(good.length));
            case FLIPPED -> {
                byte[] b = good.clone();
                for (int i = 0; i < 1 + rnd.nextInt(3); i++) {
                    int at = rnd.nextInt(b.length);
                    b[at] = (byte) (b[at] ^ (1 + rnd.nextInt(255)));
                }
                yield b;
            }
            case EXTENDED -> {
                byte[] b = Arrays.copyOf(good, good.length + 1 + rnd.nextInt(8));
                for (int i = good.length; i < b.length; i++) {
                    b[i] = (byte) rnd.nextInt(256);
                }
                yield b;
            }
            case RANDOM -> {
                byte[] b = new byte[rnd.nextInt(48)];
                rnd.nextBytes(b);
                yield b;
            }
        };
        boolean decodes;
        try {
            decodes = h.support.serde(topic).deserialize(topic.name(), bytes) != null;
        } catch (SerializationException e) {
            decodes = false;
        }
        h.raw(topic.name()).pipeInput(make == Make.NO_KEY ? null : "d1", bytes);
        List<DeadLetter> dead = h.deadLetters();
        if (!decodes || make == Make.NO_KEY) {
            assertEquals(1, dead.size(), make + " on " + topic.name() + " must be dead-lettered once");
            DeadLetter d = dead.get(0);
            assertEquals(c.stage(), d.getStage());
            assertFalse(d.getReason().isBlank());
            assertEquals(topic.name(), d.getSourceTopic());
            assertEquals(offset, d.getSourceOffset());
            assertTrue(make != Make.NO_KEY || d.getReason().equals("record has no key"), d.getReason());
        } else {
            assertTrue(dead.size() <= 1, "at most one dead letter per record");
            assertTrue(make != Make.VALID || dead.isEmpty(), "a valid record is not dead-lettered: " + dead);
        }
    }
}
