package dev.longpo.tasks;

import java.util.List;

/**
 * One generated evaluation or training example: a context, a question about it and the strings a
 * correct answer contains. {@code answer} is the canonical answer text used as a training target.
 *
 * @param task task name (e.g. {@code niah_single})
 * @param context the long (or short) text
 * @param question the instruction
 * @param expected strings the answer must contain
 * @param answer the canonical answer text
 * @param scoring how an output is scored against {@code expected}
 * @param depth needle depth in [0, 1], or -1 when the task has none
 */
public record TaskInstance(String task, String context, String question, List<String> expected, String answer,
                           Scoring scoring, double depth) {

    /** How an output is compared with the expected strings, after RULER. */
    public enum Scoring {
        /** Fraction of expected strings present in the output (RULER's string_match_all). */
        ALL,
        /** Fraction of the expected answer's words present (partial credit, for QA). */
        PARTIAL,
        /** The output, trimmed, must start with the expected string (multiple choice). */
        EXACT,
        /** The output, trimmed, must equal the expected string (copy and transform tasks). */
        MATCH,
        /** The output must be a question in the instruction format that the context answers. */
        QUESTION
    }

    /** Score of one model output in [0, 1]. */
    public double score(String output) {
        String out = output.trim();
        return switch (scoring) {
            case ALL -> expected.stream().filter(out::contains).count() / (double) expected.size();
            case EXACT -> out.startsWith(expected.get(0)) ? 1.0 : 0.0;
            case MATCH -> out.equals(expected.get(0)) ? 1.0 : 0.0;
            case QUESTION -> Tasks.parseQuestion(out, context) != null ? 1.0 : 0.0;
            case PARTIAL -> {
                String[] words = expected.get(0).toLowerCase(java.util.Locale.ROOT).split("\\s+");
                String lower = out.toLowerCase(java.util.Locale.ROOT);
                long hit = java.util.Arrays.stream(words).filter(lower::contains).count();
                yield hit / (double) words.length;
            }
        };
    }
}
