package dev.longpo.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.longpo.common.LongpoConfig;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Scorer;
import dev.longpo.text.ChatFormat;
import dev.longpo.text.Tokenizer;
import dev.longpo.workers.ModelRoles;
import java.io.BufferedReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo score}: per-token log-probabilities of a response given a prompt, in the chat format
 * the pipeline uses (the model's chat template for a Hugging Face model; the response is followed by
 * the turn-ending token, which is scored too). Prints one JSON object per input, with the rendered
 * prompt's token ids ({@code prompt_ids}) and text ({@code prompt_text}), so any independent
 * implementation can be checked against it.
 */
@Command(name = "score", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Print per-token log-probs of responses under a model, as JSON.")
final class ScoreCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true, description = "model directory (config.json + safetensors)")
    Path modelDir;

    @Option(names = "--rope-theta", description = "score at this RoPE base instead of the model's")
    Double theta;

    @Option(names = "--batch-size", defaultValue = "8")
    int batchSize;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @ArgGroup(exclusive = false)
        Single single;

        @Option(names = "--jsonl", description = "file of {\"prompt\": ..., \"response\": ...} lines (optional \"context\")")
        Path jsonl;
    }

    static final class Single {
        @Option(names = "--prompt", required = true)
        String prompt;

        @Option(names = "--response", required = true)
        String response;

        @Option(names = "--context", description = "text placed before the prompt, as in the pipeline's turns")
        String context;
    }

    @Override
    public Integer call() throws Exception {
        LongpoConfig config = options.load();
        List<String[]> rows = new ArrayList<>();
        if (input.jsonl != null) {
            try (BufferedReader r = Files.newBufferedReader(input.jsonl)) {
                int n = 0;
                for (String line; (line = r.readLine()) != null; ) {
                    n++;
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode j = JSON.readTree(line);
                    if (!j.path("prompt").isTextual() || !j.path("response").isTextual()) {
                        throw new IllegalArgumentException(input.jsonl + ":" + n + " needs string fields prompt and response");
                    }
                    rows.add(new String[] {j.path("context").asText(""), j.get("prompt").asText(), j.get("response").asText()});
                }
            }
        } else {
            rows.add(new String[] {input.single.context == null ? "" : input.single.context, input.single.prompt,
                input.single.response});
        }
        try (ModelStore.Loaded loaded = ModelStore.load(modelDir, ModelRoles.device(config))) {
            if (theta != null) {
                loaded.model().setRopeTheta(theta);
            }
            Tokenizer tok = loaded.tokenizer();
            ChatFormat fmt = ChatFormat.of(tok);
            List<int[]> prompts = new ArrayList<>();
            List<int[]> responses = new ArrayList<>();
            for (String[] r : rows) {
                prompts.add(fmt.prompt(r[0], r[1]));
                responses.add(fmt.answer(tok.encode(r[2])));
            }
            List<float[]> lps = Scorer.responseLogProbs(loaded.model(), tok.pad(), prompts, responses, batchSize);
            for (int i = 0; i < rows.size(); i++) {
                ObjectNode out = JSON.createObjectNode();
                out.put("prompt_tokens", prompts.get(i).length);
                ArrayNode ids = out.putArray("prompt_ids");
                for (int id : prompts.get(i)) {
                    ids.add(id);
                }
                out.put("prompt_text", tok.decodeWithSpecials(prompts.get(i)));
                ArrayNode tokens = out.putArray("tokens");
                double sum = 0;
                for (int k = 0; k < responses.get(i).length; k++) {
                    int id = responses.get(i)[k];
                    tokens.addObject().put("id", id).put("text", id == tok.eos() ? "<eos>" : tok.decode(new int[] {id}))
                            .put("logprob", lps.get(i)[k]);
                    sum += lps.get(i)[k];
                }
                out.put("sum_logprob", sum);
                out.put("mean_logprob", sum / responses.get(i).length);
                System.out.println(out);
            }
        }
        return 0;
    }
}
