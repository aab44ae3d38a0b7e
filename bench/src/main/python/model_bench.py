#!/usr/bin/python3
"""The ModelBench training step in PyTorch eager, for ModelBench --compare: the same mini architecture
(Llama: RMSNorm, RoPE, grouped heads, SwiGLU; random weights), the same batch (one chosen and one rejected
row of LENGTH tokens each), forward + backward + AdamW, written here from the architecture, not from the
project's Java. Prints one line: "<seconds per step> <peak RSS MB>" (mean of three steps after a warm-up).

    /usr/bin/python3 bench/src/main/python/model_bench.py LENGTH THREADS [LAYERS D HEADS KV FFN VOCAB]
"""
import resource
import sys
import time

import torch
import torch.nn.functional as F

length, threads = int(sys.argv[1]), int(sys.argv[2])
layers, d, heads, kv, ffn, vocab = (int(a) for a in (sys.argv[3:9] or [4, 128, 4, 4, 352, 259]))
torch.set_num_threads(threads)
torch.manual_seed(1)
hd = d // heads


def param(*shape):
    return torch.nn.Parameter(torch.randn(*shape) * 0.02)


params = {"embed": param(vocab, d), "norm": torch.nn.Parameter(torch.ones(d)), "head": param(vocab, d)}
for i in range(layers):
    for name, shape in (("q", (heads * hd, d)), ("k", (kv * hd, d)), ("v", (kv * hd, d)), ("o", (d, heads * hd)),
                        ("gate", (ffn, d)), ("up", (ffn, d)), ("down", (d, ffn))):
        params[f"{i}.{name}"] = param(*shape)
    params[f"{i}.n1"] = torch.nn.Parameter(torch.ones(d))
    params[f"{i}.n2"] = torch.nn.Parameter(torch.ones(d))

inv = 1.0 / (40000.0 ** (torch.arange(0, hd, 2).float() / hd))
ang = torch.outer(torch.arange(length).float(), inv)
cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
mask = torch.full((length, length), float("-inf")).triu(1)


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w


def rope(x):
    a, b = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-b, a], -1) * sin


def forward(ids):
    b = ids.shape[0]
    x = params["embed"][ids]
    for i in range(layers):
        h = rms(x, params[f"{i}.n1"])
        q = (h @ params[f"{i}.q"].T).view(b, length, heads, hd).transpose(1, 2)
        k = (h @ params[f"{i}.k"].T).view(b, length, kv, hd).transpose(1, 2)
        v = (h @ params[f"{i}.v"].T).view(b, length, kv, hd).transpose(1, 2)
        q, k = rope(q), rope(k)
        if kv != heads:
            k, v = k.repeat_interleave(heads // kv, 1), v.repeat_interleave(heads // kv, 1)
        att = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5 + mask, -1) @ v
        x = x + att.transpose(1, 2).reshape(b, length, heads * hd) @ params[f"{i}.o"].T
        h = rms(x, params[f"{i}.n2"])
        x = x + (F.silu(h @ params[f"{i}.gate"].T) * (h @ params[f"{i}.up"].T)) @ params[f"{i}.down"].T
    return rms(x, params["norm"]) @ params["head"].T


ids = torch.randint(0, 256, (2, length))
answer = slice(length - 8, length - 1)
opt = torch.optim.AdamW(params.values(), lr=1e-4)
times = []
for step in range(4):
    t0 = time.perf_counter()
    logp = torch.log_softmax(forward(ids)[:, :-1].float(), -1).gather(-1, ids[:, 1:, None])[..., 0]
    answer_logp = logp[:, answer].sum(-1)
    margin = 0.1 * (answer_logp[0] - answer_logp[1])
    loss = -F.logsigmoid(margin) - 0.1 * logp[0, answer].mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step > 0:
        times.append(time.perf_counter() - t0)
print(f"{sum(times) / len(times):.4f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")
