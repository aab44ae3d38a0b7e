package dev.longpo.it;

import dev.longpo.avro.TrainingSample;
import dev.longpo.avro.Turn;
import java.time.Instant;
import java.util.List;

/** Training samples for tests that exercise the trainer, not the pipeline that would make them. */
final class TestSamples {
    private TestSamples() {
    }

    /** A one-turn sample whose answer is the key {@code i} found in {@code longContext}. */
    static TrainingSample oneTurn(String id, int iteration, int i, String longContext, double theta1) {
        Turn t = Turn.newBuilder().setPairId(id + "/p").setChunkIndex(0).setInstruction("What is the key?")
                .setShortContext("The key is " + i + ".").setChosen(String.valueOf(i)).setRejected("none")
                .setChosenTokenIds(List.of(48 + i % 10)).setRejectedTokenIds(List.of(110, 111))
                .setRefChosenLogp(-2).setRefRejectedLogp(-6).build();
        return TrainingSample.newBuilder().setSampleId(id).setDocId(id).setLongContext(longContext).setTurns(List.of(t))
                .setComplete(true).setIteration(iteration).setTargetLength(512).setTheta0(1e4).setTheta1(theta1)
                .setModelVersion("m0").setCreatedAt(Instant.now()).build();
    }
}
