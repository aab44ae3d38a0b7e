package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.text.ChatFormat;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Real tokenizers: prompts and conversations are the chat template's rendering, encoded in one pass. */
class TemplateChatFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource({"llama2, </s>, </s>", "llama3, <|eot_id|>, <|end_of_text|>", "qwen3, <|im_end|>, <|im_end|>"})
    void theTurnEndingTokenIsReadOffTheTemplate(String name, String turnEnd, String eosToken) throws Exception {
        HfTokenizer tok = HfTokenizer.load(Tokenizers.dir(name));
        assertArrayEquals(new int[] {tok.eos()}, tok.encode(turnEnd));
        assertTrue(tok.stopTokens().contains(tok.encode(eosToken)[0]), "tokenizer_config's eos_token stops too");
        assertTrue(tok.vocabSize() > 30_000);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3", "qwen3"})
    void aPromptIsTheReferenceRenderingEncodedInOnePass(String name) throws Exception {
        HfTokenizer tok = HfTokenizer.load(Tokenizers.dir(name));
        JsonNode first = null;
        for (JsonNode c : JSON.readTree(Path.of("src/test/resources/chat-reference.json").toFile())) {
            if (c.get("tokenizer").asText().equals(name) && c.get("messages").size() == 1
                    && c.get("add_generation_prompt").asBoolean()) {
                first = c;
            }
        }
        int[] expected = tok.encode(first.get("text").asText());
        String[] parts = first.get("messages").get(0).get("content").asText().split("\n\n", 2);
        int[] prompt = ChatFormat.of(tok).prompt(parts[0], parts[1]);
        assertArrayEquals(expected, prompt, tok.decode(prompt));
        if (name.equals("llama2")) {
            // one pass: a single '▁' before '[INST]', none stray before the context or after '[/INST]'
            assertEquals("<s>", tok.template().render(List.of(new ChatTemplate.Message("user", "x")), true)
                    .substring(0, 3));
            assertEquals(1, Arrays.stream(prompt).filter(id -> id == 29871).count() <= 1 ? 1 : 0,
                    "no separately encoded pieces: " + Arrays.toString(prompt));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3", "qwen3"})
    void answersWithStrayWhitespaceOrNoiseStillLayOut(String name) throws Exception {
        HfTokenizer tok = HfTokenizer.load(Tokenizers.dir(name));
        ChatFormat fmt = ChatFormat.of(tok);
        java.util.Random rnd = new java.util.Random(7);
        for (String a : List.of("\n\nleading newlines", "trailing space and newline \n", "  both  \n\n", "\n",
                "x</think>y", "[/INST] inside")) {
            int[] ids = tok.encode(a);
            if (name.equals("qwen3") && a.contains("</think>")) {
                // Qwen3's template moves text before '</think>' out of the answer: refused, never mislaid
                IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> fmt.conversation("ctx", List.of("q1?", "q2?"), List.of(ids, ids)));
                assertTrue(e.getMessage().contains("verbatim"), e.getMessage());
                continue;
            }
            ChatFormat.Sequence s;
            try {
                s = fmt.conversation("ctx", List.of("q1?", "q2?"), List.of(ids, ids));
            } catch (IllegalArgumentException e) {
                throw new AssertionError(name + " [" + a + "]: " + e.getMessage() + "\n" + tok.template().render(List.of(
                        new ChatTemplate.Message("user", "ctx\n\nq1?"), new ChatTemplate.Message("assistant", tok.decode(ids)),
                        new ChatTemplate.Message("user", "q2?"), new ChatTemplate.Message("assistant", tok.decode(ids))),
                        false), e);
            }
            assertEquals(2 * (ids.length + 1), countAnswers(s), name + ": " + a);
        }
        for (int trial = 0; trial < 20; trial++) { // what a random model emits: any ids, no stop token
            int[] ids = rnd.ints(6, 0, tok.vocabSize()).filter(i -> !tok.stopTokens().contains(i)).toArray();
            ChatFormat.Sequence s = fmt.conversation("ctx", List.of("q?"), List.of(ids));
            assertEquals(ids.length + 1, countAnswers(s), name + ": " + Arrays.toString(ids));
        }
    }

    private static int countAnswers(ChatFormat.Sequence s) {
        int n = 0;
        for (boolean b : s.answer()) {
            n += b ? 1 : 0;
        }
        return n;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3", "qwen3"})
    void aConversationMarksExactlyTheAnswersAndTheirTurnEnds(String name) throws Exception {
        HfTokenizer tok = HfTokenizer.load(Tokenizers.dir(name));
        ChatFormat fmt = ChatFormat.of(tok);
        String context = "Ünïcode ✓ document.\nThe magic number of Oslo is 4411.";
        List<String> questions = List.of("What is the magic number of Oslo?", "And doubled?");
        List<int[]> answers = List.of(tok.encode("It is 4411."), tok.encode("8822"));
        ChatFormat.Sequence s = fmt.conversation(context, questions, answers);
        int[] prompt = fmt.prompt(context, questions.get(0));
        assertArrayEquals(prompt, Arrays.copyOf(s.tokens(), prompt.length), "turn 1 starts with its generation prompt");
        int marked = 0;
        StringBuilder answerText = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            if (s.answer()[i]) {
                marked++;
                if (s.tokens()[i] != tok.eos()) {
                    answerText.append(tok.decode(new int[] {s.tokens()[i]}));
                }
            }
        }
        assertEquals(answers.get(0).length + answers.get(1).length + 2, marked, "answers and one turn end each");
        assertEquals("Itis4411.8822", answerText.toString().replace(" ", ""));
        if (!name.equals("llama2")) {
            // special tokens delimit every turn, so the whole sequence is the rendering encoded in one pass
            String rendered = tok.template().render(List.of(
                    new ChatTemplate.Message("user", context + "\n\n" + questions.get(0)),
                    new ChatTemplate.Message("assistant", "It is 4411."),
                    new ChatTemplate.Message("user", questions.get(1)),
                    new ChatTemplate.Message("assistant", "8822")), false);
            assertArrayEquals(tok.encode(rendered), s.tokens(), name);
        }
    }
}
