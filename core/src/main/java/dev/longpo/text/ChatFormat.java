package dev.longpo.text;

import dev.longpo.text.Tokenizer;
import java.util.List;

/**
 * The one prompt layout shared by generation, scoring and training. This class is the marker layout
 * of the byte tokenizer:
 * {@code BOS USER <context>\n\n<question> ASSISTANT <answer> EOS USER <question 2> ASSISTANT ...};
 * a Hugging Face tokenizer supplies a subclass that renders the model's chat template instead
 * ({@link Tokenizer#chatFormat()}, obtained with {@link #of}). Either way answers are stored as
 * token ids without EOS; the format appends it, and EOS is scored as part of the answer (it is how
 * the model learns to stop). The first user message is {@code <context>\n\n<question>}.
 */
public class ChatFormat {
    private final Tokenizer tok;

    /** The marker layout over {@code tok}; use {@link #of} to get the layout the tokenizer's model uses. */
    public ChatFormat(Tokenizer tok) {
        this.tok = tok;
    }

    /** The layout of {@code tok}'s model. */
    public static ChatFormat of(Tokenizer tok) {
        return tok.chatFormat();
    }

    /** The text of the first user message of a conversation over {@code context}. */
    public static String firstMessage(String context, String question) {
        return context == null || context.isEmpty() ? question : context + "\n\n" + question;
    }

    public Tokenizer tokenizer() {
        return tok;
    }

    /** A token sequence and, per token, whether it belongs to an answer (EOS included). */
    public record Sequence(int[] tokens, boolean[] answer) {
        public int length() {
            return tokens.length;
        }
    }

    /** The prompt of a single turn: context and question, ending where the answer starts. */
    public int[] prompt(String context, String question) {
        return concat(tok.bos(), tok.userPrefix(), tok.encode(firstMessage(context, question)), tok.assistantPrefix());
    }

    /** Answer ids followed by EOS. */
    public int[] answer(int[] answerIds) {
        return concat(answerIds, new int[] {tok.eos()});
    }

    /** A whole conversation over one context: every answer (plus its EOS) is marked. */
    public Sequence conversation(String context, List<String> questions, List<int[]> answers) {
        if (questions.size() != answers.size() || questions.isEmpty()) {
            throw new IllegalArgumentException("need as many answers as questions, and at least one");
        }
        int[][] parts = new int[questions.size() * 2][];
        for (int i = 0; i < questions.size(); i++) {
            parts[2 * i] = i == 0 ? prompt(context, questions.get(0))
                    : concat(tok.userPrefix(), tok.encode(questions.get(i)), tok.assistantPrefix());
            parts[2 * i + 1] = answer(answers.get(i));
        }
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] tokens = new int[n];
        boolean[] mask = new boolean[n];
        int pos = 0;
        for (int i = 0; i < parts.length; i++) {
            System.arraycopy(parts[i], 0, tokens, pos, parts[i].length);
            if (i % 2 == 1) {
                java.util.Arrays.fill(mask, pos, pos + parts[i].length, true);
            }
            pos += parts[i].length;
        }
        return new Sequence(tokens, mask);
    }

    /** Text of generated ids, stopping at the first stop token. */
    public String decodeAnswer(int[] ids) {
        java.util.Set<Integer> stops = tok.stopTokens();
        int end = 0;
        while (end < ids.length && !stops.contains(ids[end])) {
            end++;
        }
        return tok.decode(java.util.Arrays.copyOf(ids, end));
    }

    /** The arrays one after another. */
    public static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int pos = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }
}
