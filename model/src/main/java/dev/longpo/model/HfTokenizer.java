package dev.longpo.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.text.ChatFormat;
import dev.longpo.text.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Hugging Face tokenizer directory through DJL's bindings: {@code tokenizer.json} for the
 * vocabulary, {@code tokenizer_config.json} for the special tokens and the {@code chat_template},
 * {@code generation_config.json} (or {@code config.json}) for further end-of-sequence ids. Truncation
 * is off (DJL would silently cut at 512 tokens). Conversations are rendered with the model's chat
 * template and encoded in one pass ({@link TemplateChatFormat}); a tokenizer without a template gets
 * the Mistral-Instruct {@code [INST]} template. The token that ends an assistant turn ({@link #eos()})
 * is read off the template's own rendering.
 */
public final class HfTokenizer implements Tokenizer {
    private static final Logger log = LoggerFactory.getLogger(HfTokenizer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Files that make up a tokenizer, copied along with a checkpoint. */
    public static final List<String> FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "generation_config.json", "special_tokens_map.json", "tokenizer.model", "chat_template.jinja",
            "chat_template.json");

    private final HuggingFaceTokenizer hf;
    private final String id;
    private final int vocab;
    private final ChatTemplate template;
    private final int turnEnd;
    private final int pad;
    private final Set<Integer> stops;

    private HfTokenizer(HuggingFaceTokenizer hf, String id, int vocab, ChatTemplate template, Set<Integer> extraStops,
                        String padToken) {
        this.hf = hf;
        this.id = id;
        this.vocab = vocab;
        this.template = template;
        this.turnEnd = probeTurnEnd();
        Set<Integer> s = new LinkedHashSet<>();
        s.add(turnEnd);
        s.addAll(extraStops);
        this.stops = Set.copyOf(s);
        Integer p = padToken == null ? null : single(hf, padToken);
        this.pad = p != null ? p : turnEnd;
    }

    /** Loads a tokenizer directory (or the directory of a {@code tokenizer.json} path). */
    public static HfTokenizer load(Path path) throws IOException {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        Path file = dir.resolve("tokenizer.json");
        if (!Files.exists(file)) {
            throw new IOException("no tokenizer.json in " + dir);
        }
        HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false",
                "truncation", "false", "padding", "false"));
        JsonNode cfg = readJson(dir.resolve("tokenizer_config.json"));
        String bos = special(cfg.get("bos_token"));
        String eos = special(cfg.get("eos_token"));
        String source = chatTemplate(dir, cfg);
        if (source == null) {
            log.info("{} has no chat_template: using the Mistral-Instruct [INST] template", dir);
            try (InputStream in = HfTokenizer.class.getResourceAsStream("mistral-instruct.jinja")) {
                source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        if (cfg.isMissingNode() && bos == null && eos == null) {
            bos = "<s>";
            eos = "</s>";
        }
        Map<String, String> specials = new LinkedHashMap<>();
        specials.put("bos_token", bos == null ? "" : bos);
        specials.put("eos_token", eos == null ? "" : eos);
        ChatTemplate template = new ChatTemplate(source, specials);
        Set<Integer> extra = new LinkedHashSet<>();
        if (eos != null) {
            Integer e = single(hf, eos);
            if (e == null) {
                throw new IOException(dir + ": eos_token " + eos + " is not a single token of tokenizer.json");
            }
            extra.add(e);
        }
        for (String name : List.of("generation_config.json", "config.json")) {
            JsonNode ids = readJson(dir.resolve(name)).path("eos_token_id");
            if (ids.isInt()) {
                extra.add(ids.asInt());
            } else {
                ids.forEach(i -> extra.add(i.asInt()));
            }
        }
        return new HfTokenizer(hf, "hf:" + dir.toAbsolutePath(), vocabSize(file), template, extra,
                special(cfg.get("pad_token")));
    }

    private static String chatTemplate(Path dir, JsonNode cfg) throws IOException {
        if (Files.exists(dir.resolve("chat_template.jinja"))) {
            return Files.readString(dir.resolve("chat_template.jinja"));
        }
        JsonNode t = cfg.get("chat_template");
        if (t == null || t.isNull()) {
            JsonNode separate = readJson(dir.resolve("chat_template.json")).get("chat_template");
            return separate == null ? null : separate.asText();
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return named.path("template").asText();
                }
            }
            throw new IOException(dir + ": tokenizer_config.json lists chat templates but none named 'default'");
        }
        return t.asText();
    }

    private static JsonNode readJson(Path f) throws IOException {
        return Files.exists(f) ? JSON.readTree(f.toFile()) : JSON.missingNode();
    }

    /** A special token as tokenizer_config.json writes it: a string or an AddedToken object. */
    private static String special(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return null;
        }
        return n.isObject() ? n.path("content").asText(null) : n.asText();
    }

    private static Integer single(HuggingFaceTokenizer hf, String token) {
        long[] ids = hf.encode(token, false, false).getIds();
        return ids.length == 1 ? (int) ids[0] : null;
    }

    /**
     * The id that follows an assistant message in the template's rendering: where generation must stop
     * and what training scores as the end of an answer.
     */
    private int probeTurnEnd() {
        String content = "Zq";
        String text = template.render(List.of(new ChatTemplate.Message("user", "hi"),
                new ChatTemplate.Message("assistant", content)), false);
        int at = text.lastIndexOf(content);
        Encoded e = encodeWithOffsets(text);
        for (int i = 0; i < e.ids().length; i++) {
            if (e.starts()[i] >= at + content.length()) {
                return e.ids()[i];
            }
        }
        throw new IllegalArgumentException(id + ": the chat template writes nothing after an assistant message,"
                + " so no token ends a turn");
    }

    /** Token ids with the Java string index where each token's text starts and ends. */
    public record Encoded(int[] ids, int[] starts, int[] ends) {
    }

    /** Encodes {@code text} in one pass (special tokens in the text are recognised) with character offsets. */
    public Encoded encodeWithOffsets(String text) {
        Encoding enc = hf.encode(text, false, false);
        long[] ids = enc.getIds();
        CharSpan[] spans = enc.getCharTokenSpans();
        int[] cpToIndex = codePointIndex(text);
        int[] out = new int[ids.length];
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
            CharSpan s = spans[i];
            starts[i] = s == null ? (i > 0 ? ends[i - 1] : 0) : cpToIndex[Math.min(s.getStart(), cpToIndex.length - 1)];
            ends[i] = s == null ? starts[i] : cpToIndex[Math.min(s.getEnd(), cpToIndex.length - 1)];
        }
        return new Encoded(out, starts, ends);
    }

    /** Java string index of each code point position (offsets from the Rust tokenizer count code points). */
    private static int[] codePointIndex(String text) {
        int n = text.codePointCount(0, text.length());
        int[] idx = new int[n + 1];
        int j = 0;
        for (int cp = 0; cp < n; cp++) {
            idx[cp] = j;
            j = text.offsetByCodePoints(j, 1);
        }
        idx[n] = text.length();
        return idx;
    }

    /** One more than the largest id in the vocabulary or the added tokens. */
    private static int vocabSize(Path file) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        int max = -1;
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            for (JsonNode id : vocab) {
                max = Math.max(max, id.asInt());
            }
        } else if (vocab.isArray()) {
            max = vocab.size() - 1;
        }
        for (JsonNode t : root.path("added_tokens")) {
            max = Math.max(max, t.path("id").asInt());
        }
        return max + 1;
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /** The chat template conversations are rendered with. */
    public ChatTemplate template() {
        return template;
    }

    @Override
    public ChatFormat chatFormat() {
        return new TemplateChatFormat(this);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int[] encode(String text) {
        return toInts(hf.encode(text, false, false).getIds());
    }

    @Override
    public String decode(int[] ids) {
        return hf.decode(toLongs(ids), true);
    }

    private static long[] toLongs(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return l;
    }

    @Override
    public String decodeWithSpecials(int[] ids) {
        return hf.decode(toLongs(ids), false);
    }

    /** Empty: the chat template writes the begin-of-sequence token itself. */
    @Override
    public int[] bos() {
        return new int[0];
    }

    /** Unused: the chat template lays out turns (see {@link TemplateChatFormat}). */
    @Override
    public int[] userPrefix() {
        return new int[0];
    }

    /** Unused: the chat template lays out turns (see {@link TemplateChatFormat}). */
    @Override
    public int[] assistantPrefix() {
        return new int[0];
    }

    @Override
    public int eos() {
        return turnEnd;
    }

    @Override
    public Set<Integer> stopTokens() {
        return stops;
    }

    @Override
    public int pad() {
        return pad;
    }
}
