package dev.longpo.streams;

import dev.longpo.avro.PreferencePair;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The spec's pair filters: a pair is dropped when either answer is empty, a refusal, or degenerate
 * (word repetition ratio above 0.9 for chosen / 0.95 for rejected, or fewer than {@code minWords}
 * words of three or more characters; the spec's 2, configurable because the mini model's answers are
 * single numbers). The repetition ratio is 1 - distinct words / words.
 */
public record PairFilter(int minWords, double maxRepetitionChosen, double maxRepetitionRejected, List<String> refusals) {
    public static final List<String> DEFAULT_REFUSALS = List.of("i cannot", "i can't", "i'm sorry", "i am sorry",
            "as an ai", "i don't know", "i do not know", "cannot answer", "unable to answer", "not mentioned",
            "no information");

    public static PairFilter spec() {
        return new PairFilter(2, 0.9, 0.95, DEFAULT_REFUSALS);
    }

    /** Why the pair is dropped, or null to keep it. */
    public String reject(PreferencePair p) {
        String c = check(p.getChosen(), maxRepetitionChosen);
        if (c != null) {
            return "chosen " + c;
        }
        String r = check(p.getRejected(), maxRepetitionRejected);
        return r == null ? null : "rejected " + r;
    }

    private String check(String answer, double maxRepetition) {
        String a = answer == null ? "" : answer.trim();
        if (a.isEmpty()) {
            return "empty";
        }
        String lower = a.toLowerCase(Locale.ROOT);
        for (String r : refusals) {
            if (lower.contains(r)) {
                return "refusal";
            }
        }
        String[] words = lower.split("[^\\p{L}\\p{N}]+");
        int total = 0;
        int longWords = 0;
        Set<String> distinct = new HashSet<>();
        for (String w : words) {
            if (!w.isEmpty()) {
                total++;
                distinct.add(w);
                if (w.length() >= 3) {
                    longWords++;
                }
            }
        }
        if (longWords < minWords) {
            return "too few words";
        }
        double repetition = total == 0 ? 0 : 1 - distinct.size() / (double) total;
        return repetition > maxRepetition ? "repetitive" : null;
    }
}
