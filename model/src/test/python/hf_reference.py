#!/usr/bin/python3
"""Independent reference for the Hugging Face decoder families the project loads.

Writes, per case, a tiny random checkpoint in Hugging Face layout (config.json, model.safetensors)
and expected.json: token ids and the per-token log-probability of each next token, computed here in
float64 with plain PyTorch ops, written from transformers' modeling code (LlamaModel, MistralModel,
Qwen2Model, modeling_rope_utils), not from the project's Java. Run with Debian's torch:

    /usr/bin/python3 model/src/test/python/hf_reference.py model/src/test/resources/hf-reference

The outputs are committed; HfReferenceTest loads each checkpoint and compares.
"""
import json
import math
import os
import struct
import sys

import torch

torch.manual_seed(1234)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        if dtype == "BF16":
            raw = t.to(torch.bfloat16).contiguous().view(torch.int16).numpy().tobytes()
        else:
            raw = t.to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def stored(t, dtype):
    """The value the checkpoint holds (bf16 rounding applied), as float64."""
    return (t.to(torch.bfloat16) if dtype == "BF16" else t.to(torch.float32)).to(torch.float64)


def inv_freq(cfg, seq_len):
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = cfg.get("rope_theta", 10000.0)
    sc = cfg.get("rope_scaling") or {}
    kind = sc.get("rope_type", sc.get("type", "default"))
    idx = torch.arange(0, dim, 2, dtype=torch.float64) / dim
    attention = 1.0
    if kind == "dynamic":
        original = sc.get("original_max_position_embeddings") or cfg["max_position_embeddings"]
        factor = sc["factor"]
        if seq_len > original:
            base = base * ((factor * seq_len / original) - (factor - 1)) ** (dim / (dim - 2))
    inv = 1.0 / (base ** idx)
    if kind == "linear":
        inv = inv / sc["factor"]
    elif kind == "yarn":
        factor = sc["factor"]
        original = sc.get("original_max_position_embeddings") or cfg["max_position_embeddings"]
        attention = sc.get("attention_factor") or (0.1 * math.log(factor) + 1.0)
        fast, slow = sc.get("beta_fast") or 32, sc.get("beta_slow") or 1

        def corr(rot):
            return (dim * math.log(original / (rot * 2 * math.pi))) / (2 * math.log(base))

        low, high = max(math.floor(corr(fast)), 0), min(math.ceil(corr(slow)), dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low), 0, 1)
        extra = 1 - ramp
        inv = (inv / factor) * (1 - extra) + inv * extra
    elif kind == "llama3":
        factor, lo, hi = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"]
        old = sc["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
        inv = torch.where(medium, smoothed, scaled)
    return inv, attention


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rms(x, w, eps):
    return w * (x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def forward(cfg, w, ids):
    t = len(ids)
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads)
    hd = cfg.get("head_dim") or d // heads
    eps = cfg.get("rms_norm_eps", 1e-6)
    inv, att = inv_freq(cfg, t)
    pos = torch.arange(t, dtype=torch.float64)
    emb = torch.cat([torch.outer(pos, inv)] * 2, dim=-1)
    cos, sin = emb.cos() * att, emb.sin() * att
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]

    def lin(h, name):
        y = h @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, w[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj").view(t, heads, hd).transpose(0, 1)
        k = lin(h, p + "self_attn.k_proj").view(t, kv, hd).transpose(0, 1)
        v = lin(h, p + "self_attn.v_proj").view(t, kv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv, dim=0)
        v = v.repeat_interleave(heads // kv, dim=0)
        scores = q @ k.transpose(1, 2) / math.sqrt(hd)
        qi = torch.arange(t).view(-1, 1)
        ki = torch.arange(t).view(1, -1)
        allowed = ki <= qi
        window = layer_window(cfg, i)
        if window:
            allowed = allowed & (ki > qi - window)
        scores = scores.masked_fill(~allowed, float("-inf"))
        o = (scores.softmax(-1) @ v).transpose(0, 1).reshape(t, heads * hd)
        x = x + lin(o, p + "self_attn.o_proj")
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        g = lin(h, p + "mlp.gate_proj")
        x = x + lin(torch.nn.functional.silu(g) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ head.T


def layer_window(cfg, i):
    if cfg["model_type"] == "mistral":
        return cfg.get("sliding_window", 4096)
    if cfg["model_type"] == "qwen2" and cfg.get("use_sliding_window", False):
        return cfg.get("sliding_window", 4096) if i >= cfg.get("max_window_layers", 28) else None
    return None


def weights(cfg):
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads)
    hd = cfg.get("head_dim") or d // heads
    inter, vocab = cfg["intermediate_size"], cfg["vocab_size"]
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    o_bias = cfg["model_type"] == "llama" and cfg.get("attention_bias", False)
    mlp_bias = cfg["model_type"] == "llama" and cfg.get("mlp_bias", False)

    def r(*shape):
        return torch.randn(*shape) * 0.2

    w = {"model.embed_tokens.weight": torch.randn(vocab, d)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
        w[p + "self_attn.q_proj.weight"] = r(heads * hd, d)
        w[p + "self_attn.k_proj.weight"] = r(kv * hd, d)
        w[p + "self_attn.v_proj.weight"] = r(kv * hd, d)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = r(heads * hd)
            w[p + "self_attn.k_proj.bias"] = r(kv * hd)
            w[p + "self_attn.v_proj.bias"] = r(kv * hd)
        w[p + "self_attn.o_proj.weight"] = r(d, heads * hd)
        if o_bias:
            w[p + "self_attn.o_proj.bias"] = r(d)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
        w[p + "mlp.gate_proj.weight"] = r(inter, d)
        w[p + "mlp.up_proj.weight"] = r(inter, d)
        w[p + "mlp.down_proj.weight"] = r(d, inter)
        if mlp_bias:
            w[p + "mlp.gate_proj.bias"] = r(inter)
            w[p + "mlp.up_proj.bias"] = r(inter)
            w[p + "mlp.down_proj.bias"] = r(d)
    w["model.norm.weight"] = 1 + 0.1 * torch.randn(d)
    if not cfg.get("tie_word_embeddings", False):
        w["lm_head.weight"] = r(vocab, d)
    return w


BASE = {"vocab_size": 96, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64}

CASES = {
    # a Llama-2 style config without rope_theta or rms_norm_eps (transformers' defaults 1e4 and 1e-6), bf16
    "llama-defaults": ({**BASE, "model_type": "llama", "architectures": ["LlamaForCausalLM"]}, "BF16", 40),
    "llama-biases": ({**BASE, "model_type": "llama", "rope_theta": 5e5, "rms_norm_eps": 1e-5,
                      "attention_bias": True, "mlp_bias": True}, "F32", 40),
    "llama3-rope-scaling": ({**BASE, "model_type": "llama", "rope_theta": 5e5, "head_dim": 16,
                             "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 256,
                             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                              "high_freq_factor": 4.0, "original_max_position_embeddings": 256}},
                            "BF16", 96),
    "llama-linear": ({**BASE, "model_type": "llama", "rope_scaling": {"type": "linear", "factor": 4.0}}, "F32", 48),
    "llama-dynamic": ({**BASE, "model_type": "llama", "max_position_embeddings": 32,
                       "rope_scaling": {"rope_type": "dynamic", "factor": 2.0}}, "F32", 56),
    "llama-yarn": ({**BASE, "model_type": "llama", "rope_theta": 1e4,
                    "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}},
                   "F32", 60),
    "mistral-sliding-window": ({**BASE, "model_type": "mistral", "rope_theta": 1e6, "sliding_window": 8,
                                "head_dim": 8}, "BF16", 40),
    "qwen2": ({**BASE, "model_type": "qwen2", "rope_theta": 1e6, "tie_word_embeddings": True,
               "use_sliding_window": False, "sliding_window": 4, "max_window_layers": 1}, "BF16", 40),
    "qwen2-sliding-layers": ({**BASE, "model_type": "qwen2", "rope_theta": 1e6, "use_sliding_window": True,
                              "sliding_window": 6, "max_window_layers": 1}, "F32", 40),
}


def main(out):
    for name, (cfg, dtype, length) in CASES.items():
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        w = weights(cfg)
        write_safetensors(os.path.join(folder, "model.safetensors"), w, dtype)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        ids = torch.randint(0, cfg["vocab_size"], (length,)).tolist()
        logits = forward(cfg, {k: stored(v, dtype) for k, v in w.items()}, ids)
        logp = torch.log_softmax(logits, -1)
        per_token = [logp[i, ids[i + 1]].item() for i in range(length - 1)]
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump({"tokens": ids, "next_token_logprobs": per_token}, f)
        print(name, dtype, length, "mean logprob %.4f" % (sum(per_token) / len(per_token)))


if __name__ == "__main__":
    main(sys.argv[1])
