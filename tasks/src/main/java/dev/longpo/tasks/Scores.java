package dev.longpo.tasks;

import java.util.Map;
import java.util.TreeMap;

/**
 * Summaries of evaluation scores shared by the evaluator's report and the run model of the loop, so
 * "effective length" means the same thing in a model card, in the monitor and to the controller.
 */
public final class Scores {
    private Scores() {
    }

    /**
     * The longest length up to which the long-task mean stays at or above {@code threshold}, walking the
     * lengths upwards and stopping at the first that falls below (NaN counts as below); 0 if the
     * shortest already does.
     */
    public static int effectiveLength(Map<Integer, Double> meanByLength, double threshold) {
        int effective = 0;
        for (Map.Entry<Integer, Double> e : new TreeMap<>(meanByLength).entrySet()) {
            if (!(e.getValue() >= threshold)) {
                break;
            }
            effective = e.getKey();
        }
        return effective;
    }
}
