package dev.longpo.model;

import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * The chat layout of a Hugging Face model: conversations rendered with its chat template and encoded
 * in one pass, as transformers' {@code apply_chat_template(..., tokenize=True)} does. A prompt is the
 * rendering with the generation prompt. In a conversation, the answer spans are found by rendering
 * (each turn's prompt is a prefix of the whole rendering; the answer's text follows it), and the
 * tokens there are the answer's own ids followed by the turn-ending token — the ids the model
 * generated, so the reference scores taken at generation time and the training sequence agree. Where
 * an answer's first characters would merge with the template text before it (no special token in
 * between), that text is encoded on its own, as the generation prompt was.
 */
public final class TemplateChatFormat extends ChatFormat {
    private final HfTokenizer tok;

    public TemplateChatFormat(HfTokenizer tok) {
        super(tok);
        this.tok = tok;
    }

    @Override
    public int[] prompt(String context, String question) {
        String text = tok.template().render(List.of(new ChatTemplate.Message("user",
                ChatFormat.firstMessage(context, question))), true);
        return tok.encodeWithOffsets(text).ids();
    }

    @Override
    public Sequence conversation(String context, List<String> questions, List<int[]> answers) {
        if (questions.size() != answers.size() || questions.isEmpty()) {
            throw new IllegalArgumentException("need as many answers as questions, and at least one");
        }
        List<ChatTemplate.Message> messages = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            messages.add(new ChatTemplate.Message("user", i == 0 ? ChatFormat.firstMessage(context, questions.get(0))
                    : questions.get(i)));
            String text = tok.decode(answers.get(i));
            texts.add(text);
            messages.add(new ChatTemplate.Message("assistant", text));
        }
        String full = tok.template().render(messages, false);
        HfTokenizer.Encoded enc = tok.encodeWithOffsets(full);
        List<Integer> tokens = new ArrayList<>();
        List<Boolean> mask = new ArrayList<>();
        int next = 0;
        for (int k = 0; k < questions.size(); k++) {
            String prompt = tok.template().render(messages.subList(0, 2 * k + 1), true);
            if (!full.startsWith(prompt)) {
                throw new IllegalArgumentException("the chat template renders turn " + (k + 1)
                        + " differently inside a longer conversation: answer spans cannot be found");
            }
            // the answer lies between its prompt and the next turn-ending token
            int turnEnd = next;
            while (turnEnd < enc.ids().length && (enc.starts()[turnEnd] < prompt.length() || enc.ids()[turnEnd] != tok.eos())) {
                turnEnd++;
            }
            if (turnEnd >= enc.ids().length) {
                throw new IllegalArgumentException("the chat template does not end answer " + (k + 1)
                        + " with the turn-ending token " + tok.eos());
            }
            String region = full.substring(prompt.length(), enc.starts()[turnEnd]);
            String text = texts.get(k);
            int at = text.isBlank() ? region.length() : region.indexOf(text);
            if (at < 0) { // a template that trims the content (Llama-3's)
                at = region.indexOf(text.strip());
            }
            if (at < 0) {
                throw new IllegalArgumentException("the chat template does not write answer " + (k + 1) + " verbatim");
            }
            int start = prompt.length() + at;
            int segmentStart = next < enc.ids().length ? enc.starts()[next] : full.length();
            List<Integer> segment = new ArrayList<>();
            boolean clean = true;
            while (next < enc.ids().length && enc.starts()[next] < start) {
                clean &= enc.ends()[next] <= start;
                segment.add(enc.ids()[next]);
                next++;
            }
            if (!clean) {
                // the answer's first characters merge with the template text before it in one pass (no
                // special token in between, as after Mistral's '[/INST]'): the text up to the answer is
                // encoded as the generation prompt was, on its own
                segment.clear();
                for (int id : tok.encode(full.substring(segmentStart, start))) {
                    segment.add(id);
                }
            }
            for (int id : segment) {
                tokens.add(id);
                mask.add(false);
            }
            for (int id : answers.get(k)) {
                tokens.add(id);
                mask.add(true);
            }
            tokens.add(tok.eos());
            mask.add(true);
            next = turnEnd + 1; // tokens between the answer's text and the turn end: whitespace a template adds
        }
        for (; next < enc.ids().length; next++) {
            tokens.add(enc.ids()[next]);
            mask.add(false);
        }
        int[] t = new int[tokens.size()];
        boolean[] a = new boolean[tokens.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = tokens.get(i);
            a[i] = mask.get(i);
        }
        return new Sequence(t, a);
    }
}
