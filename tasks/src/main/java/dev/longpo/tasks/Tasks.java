package dev.longpo.tasks;

import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The task suite, after RULER: needle-in-a-haystack variants, variable tracking, common-word
 * aggregation, QA over a golden paragraph among distractors, two short-only tasks (knowledge recall in
 * the MMLU multiple-choice format, and a copy-and-transform task), and the self-instruct task (write a question about a text). Answers to
 * retrieval tasks restate the fact they found ("The magic number for apple is 4821."), which turns the
 * copy into an induction pattern a small model learns quickly; scoring only needs the value. Every generator
 * is deterministic for a seed and builds a prompt of an exact length in tokens of the chat format
 * (byte tokenizer: ASCII text, one token per byte).
 */
public final class Tasks {
    /** Needle sentence and question of the NIAH tasks. */
    static final String NEEDLE = "The magic number for %s is %s.";
    static final Pattern QUESTION = Pattern.compile("What is the magic number for ([a-z]+)\\?");

    /** The NIAH question about {@code key}, which is also the instruction format {@link #parseQuestion} accepts. */
    public static String question(String key) {
        return "What is the magic number for " + key + "?";
    }
    /** The self-instruct prompt (the mini model's version of the paper's instruction-writing prompt). */
    public static final String WRITE_QUESTION = "Write a question about the text.";

    static final List<String> KEYS = List.of("apple", "river", "candle", "falcon", "garden", "harbor", "island",
            "jacket", "kettle", "lemon", "marble", "needle", "orange", "pepper", "quartz", "rocket", "saddle", "tiger",
            "violet", "walnut", "yellow", "zebra", "anchor", "basket", "copper", "dragon", "ember", "forest", "glider",
            "hammer", "igloo", "jungle", "lantern", "meadow", "nickel", "oyster", "pillow", "raven", "silver", "tunnel");
    static final List<String> NAMES = List.of("Idris", "Mara", "Tobiah", "Elin", "Rowan", "Saskia", "Bram", "Odile",
            "Keir", "Linnea", "Piet", "Vera", "Anouk", "Caspar", "Dagny", "Emrys");
    static final List<String> ROLES = List.of("keeper", "clerk", "pilot", "baker", "mayor", "smith", "judge", "doctor");
    static final List<String> PLACES = List.of("Wrenfield", "Cape Arden", "Silt River", "Oakhollow", "Marsh End",
            "Stonebridge", "Highmoor", "Larkspur");

    /**
     * The knowledge behind {@code short_mc}: which category each word belongs to. A model learns these
     * facts in pretraining and recalls them in a multiple-choice format, the way MMLU tests what a model
     * knows rather than what its prompt says.
     */
    static final Map<String, List<String>> CATEGORIES = categories();

    private static Map<String, List<String>> categories() {
        Map<String, List<String>> c = new LinkedHashMap<>();
        c.put("an animal", List.of("tiger", "zebra", "falcon", "raven", "oyster", "badger", "heron", "otter"));
        c.put("a fruit", List.of("apple", "lemon", "orange", "cherry", "mango", "plum", "peach", "grape"));
        c.put("a metal", List.of("copper", "silver", "nickel", "iron", "zinc", "tin", "gold", "cobalt"));
        c.put("a colour", List.of("violet", "yellow", "crimson", "indigo", "amber", "teal", "scarlet", "maroon"));
        c.put("a tool", List.of("hammer", "needle", "chisel", "shovel", "wrench", "anvil", "drill", "ladle"));
        c.put("a landform", List.of("island", "meadow", "forest", "jungle", "valley", "canyon", "desert", "glacier"));
        return Collections.unmodifiableMap(c);
    }

    /** Words of the copy-and-transform task {@code short_caps}. */
    static final List<String> CAPS_WORDS = List.of("apple", "river", "candle", "falcon", "garden", "harbor", "island",
            "jacket", "kettle", "lemon", "marble", "needle", "orange", "pepper", "quartz", "rocket", "saddle", "tiger",
            "violet", "walnut", "yellow", "zebra", "anchor", "basket", "copper", "dragon", "ember", "forest", "glider",
            "hammer", "igloo", "jungle", "lantern", "meadow", "nickel", "oyster", "pillow", "raven", "silver", "tunnel",
            "bridge", "castle", "dinner", "engine", "flower", "ginger", "hollow", "insect", "jigsaw", "kitten");

    /** A named generator: target prompt length in tokens, needle depth, random source. */
    public record Task(String name, Generator generator) {
        public TaskInstance generate(int tokens, double depth, Random rnd) {
            return generator.generate(tokens, depth, rnd);
        }
    }

    /** Builds one instance. */
    @FunctionalInterface
    public interface Generator {
        TaskInstance generate(int tokens, double depth, Random rnd);
    }

    private static final Map<String, Task> ALL = new LinkedHashMap<>();

    static {
        add("niah_single", (n, d, r) -> niah("niah_single", n, d, r, 1, 0, Tasks::number));
        add("niah_single_word", (n, d, r) -> niah("niah_single_word", n, d, r, 1, 0, Tasks::word));
        add("niah_single_uuid", (n, d, r) -> niah("niah_single_uuid", n, d, r, 1, 0, Tasks::uuid));
        add("niah_multikey", (n, d, r) -> niah("niah_multikey", n, d, r, 1, 3, Tasks::number));
        add("niah_multivalue", Tasks::multiValue);
        add("niah_multiquery", Tasks::multiQuery);
        add("vt", Tasks::variableTracking);
        add("cwe", Tasks::commonWords);
        add("qa", Tasks::qa);
        add("short_mc", Tasks::shortChoice);
        add("short_caps", Tasks::shortCaps);
        add("write_question", Tasks::writeQuestion);
    }

    private Tasks() {
    }

    private static void add(String name, Generator g) {
        ALL.put(name, new Task(name, g));
    }

    /** Every task by name. */
    public static Map<String, Task> all() {
        return Collections.unmodifiableMap(ALL);
    }

    public static Task get(String name) {
        Task t = ALL.get(name);
        if (t == null) {
            throw new IllegalArgumentException("unknown task '" + name + "'; one of " + ALL.keySet());
        }
        return t;
    }

    /** Long-context tasks reported per length (everything but the short and self-instruct tasks). */
    public static List<String> longTasks() {
        return List.of("niah_single", "niah_single_word", "niah_single_uuid", "niah_multikey", "niah_multivalue",
                "niah_multiquery", "vt", "cwe", "qa");
    }

    /**
     * Short-only tasks (their prompt length ignores the evaluated length): what a long-context method must
     * not lose. {@code short_mc} recalls knowledge in a multiple-choice format (the MMLU stand-in),
     * {@code short_caps} copies and transforms.
     */
    public static List<String> shortTasks() {
        return List.of("short_mc", "short_caps");
    }

    /** True for a short-only task ({@link #shortTasks()}): scored once, at the first evaluation length. */
    public static boolean isShort(String task) {
        return shortTasks().contains(task);
    }

    /** Context bytes that make the chat prompt exactly {@code tokens} long. */
    static int contextBudget(int tokens, String question) {
        ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);
        int overhead = fmt.prompt("x", question).length - 1;
        return Math.max(0, tokens - overhead);
    }

    static String number(Random r) {
        return String.valueOf(1000 + r.nextInt(9000));
    }

    static String word(Random r) {
        return NAMES.get(r.nextInt(NAMES.size())).toLowerCase(Locale.ROOT);
    }

    static String uuid(Random r) {
        return String.format("%04x-%04x", r.nextInt(0x10000), r.nextInt(0x10000));
    }

    private static List<String> distinctKeys(Random r, int n) {
        List<String> keys = new ArrayList<>(KEYS);
        Collections.shuffle(keys, r);
        return keys.subList(0, n);
    }

    private static double[] spread(double depth, int n, Random r) {
        double[] d = new double[n];
        d[0] = depth;
        for (int i = 1; i < n; i++) {
            d[i] = r.nextDouble();
        }
        return d;
    }

    private static TaskInstance niah(String name, int tokens, double depth, Random r, int targets, int distractors,
                                     Function<Random, String> value) {
        List<String> keys = distinctKeys(r, targets + distractors);
        String v = value.apply(r);
        String q = question(keys.get(0));
        List<String> needles = new ArrayList<>();
        needles.add(String.format(NEEDLE, keys.get(0), v));
        for (int i = 1; i < keys.size(); i++) {
            needles.add(String.format(NEEDLE, keys.get(i), value.apply(r)));
        }
        String ctx = Haystack.withInserts(contextBudget(tokens, q), needles, spread(depth, needles.size(), r),
                Haystack.NOISE, false, r);
        return new TaskInstance(name, ctx, q, List.of(v), needles.get(0), TaskInstance.Scoring.ALL, depth);
    }

    private static TaskInstance multiValue(int tokens, double depth, Random r) {
        String key = distinctKeys(r, 1).get(0);
        List<String> values = new ArrayList<>();
        while (values.size() < 3) {
            String v = number(r);
            if (!values.contains(v)) {
                values.add(v);
            }
        }
        String q = "What are all magic numbers for " + key + "?";
        List<String> needles = values.stream().map(v -> String.format(NEEDLE, key, v)).toList();
        String ctx = Haystack.withInserts(contextBudget(tokens, q), needles, spread(depth, 3, r), Haystack.NOISE, false, r);
        return new TaskInstance("niah_multivalue", ctx, q, values, String.join(" ", needles), TaskInstance.Scoring.ALL,
                depth);
    }

    private static TaskInstance multiQuery(int tokens, double depth, Random r) {
        List<String> keys = distinctKeys(r, 2);
        List<String> values = List.of(number(r), number(r));
        String q = "What are the magic numbers for " + keys.get(0) + " and " + keys.get(1) + "?";
        List<String> needles = List.of(String.format(NEEDLE, keys.get(0), values.get(0)),
                String.format(NEEDLE, keys.get(1), values.get(1)));
        String ctx = Haystack.withInserts(contextBudget(tokens, q), needles, spread(depth, 2, r), Haystack.NOISE, false, r);
        return new TaskInstance("niah_multiquery", ctx, q, values, String.join(" ", needles),
                TaskInstance.Scoring.ALL, depth);
    }

    private static TaskInstance variableTracking(int tokens, double depth, Random r) {
        String value = number(r);
        List<String> names = new ArrayList<>();
        while (names.size() < 3) {
            String v = String.valueOf((char) ('A' + r.nextInt(26))) + (char) ('A' + r.nextInt(26));
            if (!names.contains(v)) {
                names.add(v);
            }
        }
        List<String> chain = new ArrayList<>();
        chain.add("VAR " + names.get(0) + " = " + value + ".");
        for (int i = 1; i < names.size(); i++) {
            chain.add("VAR " + names.get(i) + " = " + names.get(i - 1) + ".");
        }
        double[] depths = new double[chain.size()];
        for (int i = 0; i < depths.length; i++) {
            depths[i] = depth + (1 - depth) * i / (2.0 * depths.length);
        }
        String q = "Which variables equal " + value + "?";
        String ctx = Haystack.withInserts(contextBudget(tokens, q), chain, depths, Haystack.NOISE, false, r);
        return new TaskInstance("vt", ctx, q, names, String.join(", ", names), TaskInstance.Scoring.ALL, depth);
    }

    private static TaskInstance commonWords(int tokens, double depth, Random r) {
        List<String> vocab = distinctKeys(r, 12);
        String q = "Which 3 words are the most common?";
        int budget = contextBudget(tokens, q);
        List<String> common = vocab.subList(0, 3);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < budget) {
            // common words three times as often as the others
            String w = r.nextInt(4) == 0 ? vocab.get(3 + r.nextInt(9)) : common.get(r.nextInt(3));
            sb.append(sb.length() == 0 ? "" : " ").append(w);
        }
        String ctx = sb.length() > budget ? sb.substring(0, budget) : sb.toString();
        return new TaskInstance("cwe", ctx, q, common, String.join(", ", common), TaskInstance.Scoring.ALL, -1);
    }

    private static TaskInstance qa(int tokens, double depth, Random r) {
        String role = ROLES.get(r.nextInt(ROLES.size()));
        String place = PLACES.get(r.nextInt(PLACES.size()));
        String name = NAMES.get(r.nextInt(NAMES.size()));
        String golden = "The " + role + " of " + place + " was " + name + ".";
        List<String> inserts = new ArrayList<>(List.of(golden));
        for (int i = 0; i < 3; i++) {
            String otherRole = ROLES.get(r.nextInt(ROLES.size()));
            String otherPlace = PLACES.get(r.nextInt(PLACES.size()));
            if (otherRole.equals(role) && otherPlace.equals(place)) {
                continue;
            }
            inserts.add("The " + otherRole + " of " + otherPlace + " was " + NAMES.get(r.nextInt(NAMES.size())) + ".");
        }
        String q = "Who was the " + role + " of " + place + "?";
        String ctx = Haystack.withInserts(contextBudget(tokens, q), inserts, spread(depth, inserts.size(), r),
                Haystack.PROSE, true, r);
        return new TaskInstance("qa", ctx, q, List.of(name), golden, TaskInstance.Scoring.PARTIAL, depth);
    }

    /**
     * Short knowledge recall in the MMLU format: which of four options belongs to a category
     * ("Which word is a metal? tiger (A) copper (B) ..."). The answer is the right option's word
     * ("copper"), matched exactly, so a model that names another option or lists several scores 0 (chance:
     * 0.25). Answers that also carry the letter failed in pilots for a byte-level model: letter first, it
     * picks a letter before it has recalled anything; word then letter ("copper (B)"), the word was right
     * in 29 of 30 instances and the letter, three bytes from the word in the question, mostly "A" (7 of
     * 30 right). Its length ignores {@code tokens}.
     */
    private static TaskInstance shortChoice(int tokens, double depth, Random r) {
        List<String> cats = new ArrayList<>(CATEGORIES.keySet());
        String cat = cats.get(r.nextInt(cats.size()));
        List<String> in = CATEGORIES.get(cat);
        List<String> options = new ArrayList<>(List.of(in.get(r.nextInt(in.size()))));
        while (options.size() < 4) {
            String other = cats.get(r.nextInt(cats.size()));
            if (other.equals(cat)) {
                continue;
            }
            String w = CATEGORIES.get(other).get(r.nextInt(CATEGORIES.get(other).size()));
            if (!options.contains(w)) {
                options.add(w);
            }
        }
        String right = options.get(0);
        Collections.shuffle(options, r);
        String letters = "ABCD";
        StringBuilder q = new StringBuilder("Which word is " + cat + "?");
        for (int i = 0; i < 4; i++) {
            q.append(' ').append(options.get(i)).append(" (").append(letters.charAt(i)).append(')');
        }
        return new TaskInstance("short_mc", "", q.toString(), List.of(right), right, TaskInstance.Scoring.MATCH, -1);
    }

    /**
     * Short copy-and-transform: write one or two words in capitals. The answer is exact; its length ignores
     * {@code tokens}.
     */
    private static TaskInstance shortCaps(int tokens, double depth, Random r) {
        int n = 1 + r.nextInt(2);
        List<String> words = new ArrayList<>();
        while (words.size() < n) {
            String w = CAPS_WORDS.get(r.nextInt(CAPS_WORDS.size()));
            if (!words.contains(w)) {
                words.add(w);
            }
        }
        String text = String.join(" ", words);
        String answer = text.toUpperCase(Locale.ROOT);
        return new TaskInstance("short_caps", "", "Write in capitals: " + text, List.of(answer), answer,
                TaskInstance.Scoring.MATCH, -1);
    }

    /** The self-instruct task: a text with facts; the answer is a question one of its facts answers. */
    private static TaskInstance writeQuestion(int tokens, double depth, Random r) {
        List<String> keys = distinctKeys(r, 1 + r.nextInt(2));
        List<String> needles = keys.stream().map(k -> String.format(NEEDLE, k, number(r))).toList();
        String ctx = Haystack.withInserts(contextBudget(tokens, WRITE_QUESTION), needles,
                spread(depth, needles.size(), r), Haystack.PROSE, true, r);
        String key = keys.get(r.nextInt(keys.size()));
        return new TaskInstance("write_question", ctx, WRITE_QUESTION, List.of(key),
                question(key), TaskInstance.Scoring.QUESTION, depth);
    }

    /**
     * Parses a question written by the model for the self-instruct step: returns the key it asks about
     * when it has the instruction format and the key occurs in {@code context}, else null.
     */
    public static String parseQuestion(String output, String context) {
        Matcher m = QUESTION.matcher(output.trim());
        if (!m.lookingAt()) {
            return null;
        }
        String key = m.group(1);
        return context.contains("magic number for " + key + " is") ? key : null;
    }
}
