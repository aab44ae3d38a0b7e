package dev.longpo.model;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face {@code chat_template} rendered as transformers renders it (Jinja with
 * {@code trim_blocks} and {@code lstrip_blocks}, {@code raise_exception}, {@code bos_token} /
 * {@code eos_token}, {@code add_generation_prompt}), on Jinjava. Jinjava evaluates Java, not Python:
 * before compiling, the template's Python idioms are rewritten into Jinjava forms with the same
 * meaning — string methods ({@code x.strip('\n')}, {@code startswith}, {@code split}, ...) become
 * filters, {@code x[::-1]} becomes {@code x|reverse}, and {@code namespace(k=v)} values are
 * parenthesised (Jinjava would bind {@code k=a|length - 1} as {@code (k=a|length) - 1}). A template
 * that still fails to render is refused with Jinjava's message.
 */
public final class ChatTemplate {
    /** One chat message. */
    public record Message(String role, String content) {
        public Map<String, Object> asMap() {
            return Map.of("role", role, "content", content);
        }
    }

    /** Python string methods templates call, as filters named {@code py_<method>}. */
    private static final Map<String, BiFunction<String, String[], Object>> METHODS = Map.of(
            "strip", (s, a) -> strip(s, a.length > 0 ? a[0] : null, true, true),
            "lstrip", (s, a) -> strip(s, a.length > 0 ? a[0] : null, true, false),
            "rstrip", (s, a) -> strip(s, a.length > 0 ? a[0] : null, false, true),
            "startswith", (s, a) -> s.startsWith(a[0]),
            "endswith", (s, a) -> s.endsWith(a[0]),
            "split", (s, a) -> a.length == 0 ? List.of(s.trim().split("\\s+")) : List.of(s.split(Pattern.quote(a[0]), -1)),
            "upper", (s, a) -> s.toUpperCase(java.util.Locale.ROOT),
            "lower", (s, a) -> s.toLowerCase(java.util.Locale.ROOT),
            "replace", (s, a) -> s.replace(a[0], a[1]));

    private static final Pattern TAG = Pattern.compile("(\\{\\{|\\{%)(.*?)(}}|%})", Pattern.DOTALL);

    private final String source;
    private final String compiled;
    private final Jinjava jinjava;
    private final Map<String, Object> globals;

    /**
     * @param source the {@code chat_template} text
     * @param specials {@code bos_token}, {@code eos_token} and the like, visible to the template
     */
    public ChatTemplate(String source, Map<String, String> specials) {
        this.source = source;
        this.compiled = rewrite(source);
        JinjavaConfig config = JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withLegacyOverrides(LegacyOverrides.newBuilder().withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true).withKeepNullableLoopValues(true).build())
                .build();
        this.jinjava = new Jinjava(config);
        METHODS.forEach((name, fn) -> jinjava.getGlobalContext().registerFilter(new Filter() {
            @Override
            public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
                return var == null ? null : fn.apply(var.toString(), args);
            }

            @Override
            public String getName() {
                return "py_" + name;
            }
        }));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        this.globals = new HashMap<>(specials);
    }

    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    /** Called by templates that reject a conversation ({@code raise_exception('...')}). */
    public static String raiseException(String message) {
        RAISED.set(message);
        throw new IllegalArgumentException(message);
    }

    /** The template text as given. */
    public String source() {
        return source;
    }

    /** The conversation as text, ending with the assistant's opening when {@code addGenerationPrompt}. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> ctx = new HashMap<>(globals);
        List<Map<String, Object>> list = new ArrayList<>();
        messages.forEach(m -> list.add(m.asMap()));
        ctx.put("messages", list);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        RAISED.remove();
        RenderResult r = jinjava.renderForResult(compiled, ctx);
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) {
            throw new IllegalArgumentException("the chat template refused the conversation: " + raised);
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template failed at line " + e.getLineno() + ": "
                        + e.getMessage());
            }
        }
        return r.getOutput();
    }

    /** The Jinjava form of a template's Python idioms (applied inside tags only; string literals untouched). */
    static String rewrite(String template) {
        Matcher m = TAG.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String body = m.group(2);
            String rewritten = rewriteExpression(body);
            m.appendReplacement(out, Matcher.quoteReplacement(m.group(1) + rewritten + m.group(3)));
        }
        m.appendTail(out);
        return out.toString();
    }

    static String rewriteExpression(String e) {
        String prev;
        do {
            prev = e;
            e = rewriteOnce(e);
        } while (!e.equals(prev));
        return e;
    }

    /** One rewrite: the leftmost Python method call, reverse slice or namespace call outside string literals. */
    private static String rewriteOnce(String e) {
        boolean[] literal = literalMask(e);
        for (int i = 0; i < e.length(); i++) {
            if (literal[i]) {
                continue;
            }
            if (e.startsWith("[::-1]", i)) {
                int start = receiverStart(e, literal, i);
                return e.substring(0, start) + "(" + e.substring(start, i) + "|reverse)" + e.substring(i + 6);
            }
            if (e.startsWith("namespace(", i) && (i == 0 || !Character.isJavaIdentifierPart(e.charAt(i - 1)))) {
                int open = i + "namespace".length();
                int close = matching(e, literal, open);
                String args = e.substring(open + 1, close);
                if (!args.contains("=(")) {
                    return e.substring(0, open + 1) + parenthesiseValues(args) + e.substring(close);
                }
            }
            if (e.charAt(i) == '.') {
                for (String name : METHODS.keySet()) {
                    if (e.startsWith(name + "(", i + 1)) {
                        int open = i + 1 + name.length();
                        int close = matching(e, literal, open);
                        int start = receiverStart(e, literal, i);
                        return e.substring(0, start) + "(" + e.substring(start, i) + "|py_" + name
                                + e.substring(open, close + 1) + ")" + e.substring(close + 1);
                    }
                }
            }
        }
        return e;
    }

    private static String parenthesiseValues(String args) {
        boolean[] literal = literalMask(args);
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int from = 0;
        for (int i = 0; i < args.length(); i++) {
            char c = args.charAt(i);
            if (literal[i]) {
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(args.substring(from, i));
                from = i + 1;
            }
        }
        parts.add(args.substring(from));
        List<String> out = new ArrayList<>();
        for (String p : parts) {
            int eq = p.indexOf('=');
            out.add(eq < 0 ? p.trim() : p.substring(0, eq).trim() + "=(" + p.substring(eq + 1).trim() + ")");
        }
        return String.join(", ", out);
    }

    /** Per character: inside a quoted string literal (quotes included). */
    private static boolean[] literalMask(String e) {
        boolean[] mask = new boolean[e.length()];
        char quote = 0;
        for (int i = 0; i < e.length(); i++) {
            char c = e.charAt(i);
            if (quote != 0) {
                mask[i] = true;
                if (c == '\\') {
                    if (i + 1 < e.length()) {
                        mask[++i] = true;
                    }
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                mask[i] = true;
            }
        }
        return mask;
    }

    /** Index of the bracket closing the one at {@code open}. */
    private static int matching(String e, boolean[] literal, int open) {
        int depth = 0;
        for (int i = open; i < e.length(); i++) {
            if (literal[i]) {
                continue;
            }
            char c = e.charAt(i);
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (--depth == 0) {
                    return i;
                }
            }
        }
        throw new IllegalArgumentException("unbalanced brackets in chat template expression: " + e);
    }

    /** Start of the postfix expression that ends just before {@code end} (names, dots, calls, subscripts, literals). */
    private static int receiverStart(String e, boolean[] literal, int end) {
        int i = end - 1;
        while (i >= 0) {
            char c = e.charAt(i);
            if (literal[i]) {
                while (i >= 0 && literal[i]) {
                    i--;
                }
            } else if (c == ')' || c == ']') {
                int depth = 0;
                while (i >= 0) {
                    char d = e.charAt(i);
                    if (!literal[i]) {
                        if (d == ')' || d == ']') {
                            depth++;
                        } else if (d == '(' || d == '[') {
                            if (--depth == 0) {
                                break;
                            }
                        }
                    }
                    i--;
                }
                i--;
            } else if (Character.isJavaIdentifierPart(c) || c == '.') {
                i--;
            } else {
                break;
            }
        }
        return i + 1;
    }

    private static String strip(String s, String chars, boolean left, boolean right) {
        String set = chars == null ? " \t\n\r\u000b\f" : chars;
        int a = 0;
        int b = s.length();
        while (left && a < b && set.indexOf(s.charAt(a)) >= 0) {
            a++;
        }
        while (right && b > a && set.indexOf(s.charAt(b - 1)) >= 0) {
            b--;
        }
        return s.substring(a, b);
    }
}
