#!/usr/bin/python3
"""Reference renderings of real chat templates, as transformers' apply_chat_template renders them.

transformers compiles a chat_template with jinja2's ImmutableSandboxedEnvironment(trim_blocks=True,
lstrip_blocks=True) plus raise_exception and a tojson filter. Debian's python3-jinja2 is the same
engine. Inputs: the tokenizer_config.json files the model module's build downloads from npm
(target/tokenizers/*) and the built-in Mistral-Instruct template used when a tokenizer has none.

    /usr/bin/python3 model/src/test/python/chat_reference.py model/target/tokenizers \\
        model/src/main/resources/dev/longpo/model/mistral-instruct.jinja \\
        model/src/test/resources/chat-reference.json
"""
import json
import sys

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

CONVERSATIONS = [
    [{"role": "user", "content": "Doc: the key is 7421.\n\nWhat is the key?"}],
    [{"role": "user", "content": "Ünïcode ✓ text\n\n  with  spaces  \n\nQuestion one?"},
     {"role": "assistant", "content": "First answer."},
     {"role": "user", "content": "Question two?"}],
    [{"role": "user", "content": "Context\n\nQ1?"}, {"role": "assistant", "content": " A1 with a leading space"},
     {"role": "user", "content": "Q2?"}, {"role": "assistant", "content": "A2."}],
]


def raise_exception(message):
    raise TemplateError(message)


def main(tokenizers, mistral_template, out):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    cases = []
    for name in ["llama2", "llama3", "qwen3"]:
        cfg = json.load(open(f"{tokenizers}/{name}/package/models/tokenizer_config.json"))
        source = cfg.get("chat_template") or open(mistral_template).read()
        template = env.from_string(source)
        for messages in CONVERSATIONS:
            for gen in ([True, False] if messages[-1]["role"] == "user" else [False]):
                text = template.render(messages=messages, add_generation_prompt=gen,
                                       bos_token=cfg.get("bos_token") or "", eos_token=cfg.get("eos_token") or "")
                cases.append({"tokenizer": name, "messages": messages, "add_generation_prompt": gen, "text": text})
    with open(out, "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
    print(len(cases), "renderings")


if __name__ == "__main__":
    main(*sys.argv[1:])
