package dev.longpo.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.PreferencePair;
import dev.longpo.avro.TrainingSample;
import dev.longpo.events.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;

class PairGroupingTest {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private static Harness harness() throws Exception {
        Harness h = new Harness();
        return h.start(PairGrouping.buildTopology(h.support, "run", PairFilter.spec(), 3, TIMEOUT, Duration.ofSeconds(1)));
    }

    static PreferencePair pair(String doc, int chunk, String chosen, String rejected) {
        return PreferencePair.newBuilder().setPairId(doc + "/1/" + chunk).setRequestId(doc + "/1/" + chunk).setDocId(doc)
                .setChunkIndex(chunk).setInstruction("Question " + chunk + "?").setShortContext("short " + chunk)
                .setLongContext("the long context").setChosen(chosen).setRejected(rejected)
                .setChosenTokenIds(List.of(1, 2)).setRejectedTokenIds(List.of(3)).setRefChosenLogp(-1.0 - chunk)
                .setRefRejectedLogp(-9.0 - chunk).setIteration(1).setTargetLength(2048).setTheta0(1e4).setTheta1(4e4)
                .setModelVersion("m0").setCreatedAt(Instant.EPOCH).build();
    }

    private static Map<String, Long> dropped(Harness h) {
        KeyValueStore<String, Long> store = h.driver.getKeyValueStore(PairGrouping.DROPPED);
        Map<String, Long> out = new TreeMap<>();
        store.all().forEachRemaining(kv -> out.put(kv.key, kv.value));
        return out;
    }

    @Test
    void groupsUpToTheIterationsTurnsInChunkOrder() throws Exception {
        try (Harness h = harness()) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 0, 2048, 2));
            var out = h.out(Topics.TRAINING_SAMPLES);
            h.send(Topics.PREFERENCE_PAIRS, "d1", pair("d1", 5, "The key is seven", "The value is unknown here"));
            assertTrue(out.isEmpty());
            h.send(Topics.PREFERENCE_PAIRS, "d1", pair("d1", 2, "Apples and pears", "Something else entirely"));
            TrainingSample s = out.readValue();
            assertTrue(s.getComplete());
            assertEquals("d1/1", s.getSampleId());
            assertEquals(List.of(2, 5), s.getTurns().stream().map(t -> t.getChunkIndex()).toList());
            assertEquals(-3.0, s.getTurns().get(0).getRefChosenLogp());
            assertEquals(-14.0, s.getTurns().get(1).getRefRejectedLogp());
            assertEquals("the long context", s.getLongContext());
            assertEquals(4e4, s.getTheta1());
            assertEquals("run", s.getRunId());
            h.send(Topics.PREFERENCE_PAIRS, "d1", pair("d1", 7, "Late pair arrives", "After the sample closed"));
            assertTrue(out.isEmpty());
            assertEquals(Map.of("duplicate", 1L), dropped(h));
        }
    }

    @Test
    void anotherRunsPairsAreLeftToThatRunsGrouping() throws Exception {
        try (Harness h = harness()) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 0, 2048, 2));
            var out = h.out(Topics.TRAINING_SAMPLES);
            for (int c = 0; c < 2; c++) {
                h.send(Topics.PREFERENCE_PAIRS, "o", PreferencePair.newBuilder(pair("o", c, "Apples and pears",
                        "Something else entirely")).setRunId("other").build());
            }
            h.send(Topics.PREFERENCE_PAIRS, "m", PreferencePair.newBuilder(pair("m", 0, "Apples and pears",
                    "Something else entirely")).setRunId("run").build());
            h.send(Topics.PREFERENCE_PAIRS, "m", pair("m", 1, "Apples and pears", "Something else entirely"));
            List<TrainingSample> got = out.readValuesToList();
            assertEquals(List.of("m/1"), got.stream().map(TrainingSample::getSampleId).toList(),
                    "one sample, of this run's pairs (an unscoped pair counts as ours)");
            assertEquals(Map.of(), dropped(h), "another run's pair is not a drop of this run");
        }
    }

    @Test
    void eachFilterRuleDropsAndCountsItsPairs() throws Exception {
        try (Harness h = harness()) {
            var out = h.out(Topics.TRAINING_SAMPLES);
            h.send(Topics.PREFERENCE_PAIRS, "a", pair("a", 0, "  ", "fine answer words"));
            h.send(Topics.PREFERENCE_PAIRS, "a", pair("a", 1, "I'm sorry, I cannot help", "fine answer words"));
            h.send(Topics.PREFERENCE_PAIRS, "a", pair("a", 2, "the the the the the the the the the the the the", "fine answer"));
            h.send(Topics.PREFERENCE_PAIRS, "a", pair("a", 3, "fine answer words", "ok"));
            h.send(Topics.PREFERENCE_PAIRS, "a", pair("a", 4, "fine answer words", "not mentioned in the text"));
            h.send(Topics.PREFERENCE_PAIRS, "a", pair("a", 5, "good good chosen", "fine answer words"));
            h.send(Topics.PREFERENCE_PAIRS, "a", pair("a", 5, "good good chosen", "fine answer words"));
            assertEquals(Map.of("chosen empty", 1L, "chosen refusal", 1L, "chosen repetitive", 1L,
                    "rejected too few words", 1L, "rejected refusal", 1L, "duplicate", 1L), dropped(h));
            assertTrue(out.isEmpty());
        }
        PairFilter f = PairFilter.spec();
        assertEquals(null, f.reject(pair("x", 0, "one two three four", "five six seven")));
        assertEquals(null, new PairFilter(1, 0.9, 0.95, PairFilter.DEFAULT_REFUSALS).reject(pair("x", 0, "4821", "9173")),
                "the mini configuration accepts single-number answers");
    }

    @Test
    void aDocumentThatNeverReachesNTurnsIsClosedByTheTimeout() throws Exception {
        try (Harness h = harness()) {
            var out = h.out(Topics.TRAINING_SAMPLES);
            h.send(Topics.PREFERENCE_PAIRS, "d9", pair("d9", 1, "Only one good answer", "And its rejected twin"));
            h.advance(TIMEOUT.toMillis() - 2000);
            assertTrue(out.isEmpty());
            h.advance(3000);
            TrainingSample s = out.readValue();
            assertFalse(s.getComplete());
            assertEquals(1, s.getTurns().size());
            h.advance(TIMEOUT.toMillis() * 2);
            assertTrue(out.isEmpty(), "closed once");
        }
    }

    @Test
    void defaultTurnsApplyWithoutAnIterationAndNanReferencesAreDeadLettered() throws Exception {
        try (Harness h = harness()) {
            var out = h.out(Topics.TRAINING_SAMPLES);
            PreferencePair bad = PreferencePair.newBuilder(pair("n", 0, "abc def ghi", "jkl mno pqr"))
                    .setRefChosenLogp(Double.NaN).build();
            h.send(Topics.PREFERENCE_PAIRS, "n", bad);
            assertEquals("reference log-prob is NaN", h.deadLetters().get(0).getReason());
            for (int i = 0; i < 3; i++) {
                h.send(Topics.PREFERENCE_PAIRS, "n", pair("n", i, "abc def ghi", "jkl mno pqr"));
            }
            assertEquals(3, out.readValue().getTurns().size());
        }
    }
}
