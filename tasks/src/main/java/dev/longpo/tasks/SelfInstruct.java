package dev.longpo.tasks;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How pi_S is asked to write instructions about a chunk, and how its sampled outputs become the one
 * question kept for the chunk. Two profiles, chosen by {@code instruct.style}:
 * <ul>
 *   <li>{@link #PAPER}, LongPO's self-instruct (Figure 5 of the paper, the official code's prompt and
 *   rules): the user turn is {@code "Context:\n" + chunk + "\n\n" + prompt}; an output counts only if it
 *   lists exactly four questions numbered {@code 1} to {@code 4}; one of them is picked at random and
 *   prefixed with one of the official framing phrases. The default for real models.</li>
 *   <li>{@link #MINI}, the mini model's task: "Write a question about the text." answered with one
 *   question of the NIAH form about a key the chunk states; the distinct valid questions of the pool
 *   are the candidates.</li>
 * </ul>
 */
public interface SelfInstruct {
    /** What the chunk is given as, before {@code "\n\n"} and {@link #request()}. */
    String context(String chunk);

    /** The instruction-writing request of the user turn. */
    String request();

    /** The question kept for a chunk and the candidates it came from, or the reason there is none. */
    record Pick(String question, List<String> pool, String reason) {
        static Pick none(String reason) {
            return new Pick(null, List.of(), reason);
        }

        public boolean found() {
            return question != null;
        }
    }

    /** Picks the chunk's question from the sampled outputs, with {@code rnd} for every random choice. */
    Pick pick(List<String> outputs, String chunk, Random rnd);

    /** The profile named by {@code instruct.style}: {@code paper}, {@code mini}, or {@code auto} (mini for the byte tokenizer). */
    static SelfInstruct forStyle(String style, boolean byteTokenizer) {
        return switch (style) {
            case "paper" -> PAPER;
            case "mini" -> MINI;
            case "auto" -> byteTokenizer ? MINI : PAPER;
            default -> throw new IllegalArgumentException("instruct.style must be paper, mini or auto, got '" + style + "'");
        };
    }

    /** The mini model's profile. */
    SelfInstruct MINI = new SelfInstruct() {
        @Override
        public String context(String chunk) {
            return chunk;
        }

        @Override
        public String request() {
            return Tasks.WRITE_QUESTION;
        }

        @Override
        public Pick pick(List<String> outputs, String chunk, Random rnd) {
            Set<String> keep = new LinkedHashSet<>();
            for (String o : outputs) {
                String key = Tasks.parseQuestion(o, chunk);
                if (key != null) {
                    keep.add(Tasks.question(key));
                }
            }
            if (keep.isEmpty()) {
                return Pick.none("no question in the pool parses and is answerable from the chunk: "
                        + (outputs.isEmpty() ? "(no output)" : outputs.get(0)));
            }
            List<String> pool = new ArrayList<>(keep);
            return new Pick(pool.get(rnd.nextInt(pool.size())), pool, null);
        }
    };

    /** LongPO's profile. */
    SelfInstruct PAPER = new Paper();

    /** LongPO's self-instruct, as the paper's Figure 5 and the official code do it. */
    final class Paper implements SelfInstruct {
        /** Questions asked for per chunk. */
        public static final int QUESTIONS = 4;

        /** The paper's Figure 5 prompt, verbatim from the official code (it begins with a newline). */
        public static final String PROMPT = "\nBased on the content presented above, generate 4 comprehensive English"
                + " questions that test a reader's comprehension, analytical skills, and ability to extract and"
                + " interconnect key themes and ideas across the entire document.\n\n"
                + "Each question should:\n"
                + "1. Encourage the reader to draw connections between different sections or concepts within the text.\n"
                + "2. Challenge the reader to not only recall information but also to synthesize and summarize the"
                + " material in a coherent manner.\n"
                + "3. Be unique in its focus, avoiding repetition and ensuring a broad coverage of the document's content.\n"
                + "4. Stimulate critical thinking by requiring the application or evaluation of the text's information"
                + " in broader contexts or hypothetical scenarios, if relevant.\n"
                + "5. Ensure the question is clear and unambiguous.\n\n"
                + "Please directly give the questions without verbose illustration, and format the 4 questions"
                + " numerically from \u201c1:\u201d to \u201c4:\u201d.";

        /** The official framing phrases; one, at random, opens the chosen question. */
        public static final List<String> PHRASES = List.of("As described in the preceding text,",
                "As detailed in the foregoing document,", "As mentioned earlier in the text,",
                "As specified in the above material,", "As indicated in the preceding pages,",
                "In accordance with the above content,", "As set forth in the document mentioned,",
                "Following the details provided above,", "As elaborated in the prior document,",
                "Pursuant to the information above,", "In line with the preceding information,",
                "Reflecting on the content above,", "Based on the preceding descriptions,",
                "With reference to the document above,", "Drawing from the details above,",
                "Considering the information outlined above,", "As articulated in the previous sections,",
                "Conforming to the descriptions above,", "As captured in the above explanations,",
                "As chronicled in the earlier document,");

        private Paper() {
        }

        @Override
        public String context(String chunk) {
            return "Context:\n" + chunk;
        }

        @Override
        public String request() {
            return PROMPT;
        }

        /**
         * The items of a numbered list: item k starts at the number k (not inside a word or a longer
         * number) followed by one of {@code : . ! ? -} and runs to the start of item k + 1; each is
         * stripped of surrounding {@code * # . !} and whitespace. Numbering that skips stops the list.
         */
        public static List<String> parseList(String text) {
            List<int[]> starts = new ArrayList<>();
            int from = 0;
            for (int k = 1; ; k++) {
                Matcher m = Pattern.compile("(?<![\\w.])" + k + "\\s*[:.!?\\-]").matcher(text);
                if (!m.find(from)) {
                    break;
                }
                starts.add(new int[] {m.start(), m.end()});
                from = m.end();
            }
            List<String> items = new ArrayList<>();
            for (int i = 0; i < starts.size(); i++) {
                int end = i + 1 < starts.size() ? starts.get(i + 1)[0] : text.length();
                String item = strip(text.substring(starts.get(i)[1], end));
                if (!item.isEmpty()) {
                    items.add(item);
                }
            }
            return items;
        }

        private static String strip(String s) {
            int a = 0;
            int b = s.length();
            while (a < b && (Character.isWhitespace(s.charAt(a)) || "*#.!".indexOf(s.charAt(a)) >= 0)) {
                a++;
            }
            while (b > a && (Character.isWhitespace(s.charAt(b - 1)) || "*#.!".indexOf(s.charAt(b - 1)) >= 0)) {
                b--;
            }
            return s.substring(a, b);
        }

        @Override
        public Pick pick(List<String> outputs, String chunk, Random rnd) {
            List<Integer> counts = new ArrayList<>();
            for (String o : outputs) {
                List<String> questions = parseList(o);
                if (questions.size() == QUESTIONS) {
                    String q = questions.get(rnd.nextInt(QUESTIONS));
                    return new Pick(PHRASES.get(rnd.nextInt(PHRASES.size())) + " " + q, questions, null);
                }
                counts.add(questions.size());
            }
            return Pick.none("no output lists exactly " + QUESTIONS + " numbered questions (counts " + counts + "): "
                    + (outputs.isEmpty() ? "(no output)" : outputs.get(0)));
        }
    }
}
