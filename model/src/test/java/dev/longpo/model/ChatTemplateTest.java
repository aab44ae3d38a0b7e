package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Real chat templates (Llama-3, Qwen3's ChatML with its namespace and string methods, the built-in
 * Mistral-Instruct one) render exactly as jinja2 renders them for transformers
 * ({@code src/test/python/chat_reference.py}).
 */
class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static ChatTemplate template(String tokenizer) throws Exception {
        return HfTokenizer.load(Tokenizers.dir(tokenizer)).template();
    }

    @Test
    void rendersAsJinja2DoesForEveryReferenceCase() throws Exception {
        JsonNode cases = JSON.readTree(Path.of("src/test/resources/chat-reference.json").toFile());
        int n = 0;
        for (JsonNode c : cases) {
            List<ChatTemplate.Message> messages = new ArrayList<>();
            c.get("messages").forEach(m -> messages.add(new ChatTemplate.Message(m.get("role").asText(),
                    m.get("content").asText())));
            String got = template(c.get("tokenizer").asText()).render(messages,
                    c.get("add_generation_prompt").asBoolean());
            assertEquals(c.get("text").asText(), got, c.get("tokenizer") + " " + messages);
            n++;
        }
        assertEquals(15, n);
    }

    @Test
    void pythonIdiomsAreRewrittenOutsideStringLiterals() {
        assertEquals("{{ (m.content|py_split('</think>'))[-1] }}",
                ChatTemplate.rewrite("{{ m.content.split('</think>')[-1] }}"));
        assertEquals("{{ ((m.content|py_split('a'))[0]|py_rstrip('\\n')) }}",
                ChatTemplate.rewrite("{{ m.content.split('a')[0].rstrip('\\n') }}"));
        assertEquals("{% for x in (messages|reverse) %}", ChatTemplate.rewrite("{% for x in messages[::-1] %}"));
        assertEquals("{% set ns = namespace(a=(true), b=(messages|length - 1)) %}",
                ChatTemplate.rewrite("{% set ns = namespace(a=true, b=messages|length - 1) %}"));
        assertEquals("{{ 'x.strip() [::-1]' }} plain.strip()", ChatTemplate.rewrite("{{ 'x.strip() [::-1]' }} plain.strip()"));
    }

    @Test
    void raiseExceptionRefusesTheConversation() throws Exception {
        ChatTemplate t = template("llama2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(List.of(
                new ChatTemplate.Message("assistant", "hi")), false));
        assertTrue(e.getMessage().contains("alternate"), e.getMessage());
        ChatTemplate broken = new ChatTemplate("{{ messages[0].content.nosuchmethod() }}", Map.of());
        assertThrows(IllegalArgumentException.class, () -> broken.render(List.of(new ChatTemplate.Message("user", "x")),
                true));
    }
}
