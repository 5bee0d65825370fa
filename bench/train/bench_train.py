#!/usr/bin/python3
"""Training throughput (samples/s) of `nlpipe train`, head-only and --unfreeze-top 2,
against PyTorch doing the same step on the same model in the same run.

    /usr/bin/python3 bench/train/bench_train.py [--backbone DIR] [--nlpipe build/nlpipe]

The step, both sides: batch 32 of SST-2 sentences (the first 3000 of train), features =
mean of the non-special token states, MLP head (pre_classifier + ReLU + classifier),
dropout 0.1, cross-entropy, backward, global-norm clipping, AdamW. Head-only reads the
frozen encoder's outputs from nlpipe's feature cache (both sides read the same file);
--unfreeze-top 2 reads the cached input of layer L-2 and runs the top two BERT layers
forward and backward (torch: padded batch + attention mask, as HF; nlpipe: packed
sequences). One thread each (torch.set_num_threads(1), nlpipe --threads 1), run one
after the other. nlpipe's number is its per-epoch samples/s (the training loop only,
dev evaluation excluded); the median over its epochs. PyTorch: median over the same
number of epochs. One JSON line per measurement.
"""
import argparse
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "gen", "train"))
from repro_eval import WordPiece, read_safetensors  # noqa: E402

torch.set_num_threads(1)


def run_nlpipe(exe, config, out, unfreeze, backbone):
    cmd = [exe, "train", config, "--output", out, "--threads", "1", "--unfreeze-top", str(unfreeze)]
    if backbone:
        cmd += ["--backbone", backbone]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(p.stderr)
    rates = [float(m) for m in re.findall(r"([0-9.]+) samples/s", p.stderr)]
    return rates, p.stderr


def load_cache(path):
    raw = open(path, "rb").read()
    dt, hid, n = struct.unpack("<IIQ", raw[8:24])
    return np.frombuffer(raw[64:], dtype=np.float16 if dt else np.float32).reshape(n, hid).astype(np.float32)


def cache_files(d):
    return [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.startswith("features-") and f.endswith(".bin")]


class Layer(torch.nn.Module):
    def __init__(self, W, p, H, nh, I, eps):
        super().__init__()
        self.nh, self.eps = nh, eps
        mk = lambda n: torch.nn.Parameter(W[p + n].clone())
        self.q_w, self.q_b = mk("attention.self.query.weight"), mk("attention.self.query.bias")
        self.k_w, self.k_b = mk("attention.self.key.weight"), mk("attention.self.key.bias")
        self.v_w, self.v_b = mk("attention.self.value.weight"), mk("attention.self.value.bias")
        self.o_w, self.o_b = mk("attention.output.dense.weight"), mk("attention.output.dense.bias")
        self.l1_w, self.l1_b = mk("attention.output.LayerNorm.weight"), mk("attention.output.LayerNorm.bias")
        self.i_w, self.i_b = mk("intermediate.dense.weight"), mk("intermediate.dense.bias")
        self.f_w, self.f_b = mk("output.dense.weight"), mk("output.dense.bias")
        self.l2_w, self.l2_b = mk("output.LayerNorm.weight"), mk("output.LayerNorm.bias")

    def forward(self, x, bias):
        B, L, H = x.shape
        d = H // self.nh
        sp = lambda t: t.view(B, L, self.nh, d).transpose(1, 2)
        F = torch.nn.functional
        q, k, v = sp(F.linear(x, self.q_w, self.q_b)), sp(F.linear(x, self.k_w, self.k_b)), sp(F.linear(x, self.v_w, self.v_b))
        a = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5 + bias, -1), 0.1, True) @ v
        a = F.dropout(F.linear(a.transpose(1, 2).reshape(B, L, H), self.o_w, self.o_b), 0.1, True)
        x = F.layer_norm(x + a, (H,), self.l1_w, self.l1_b, self.eps)
        f = F.dropout(F.linear(F.gelu(F.linear(x, self.i_w, self.i_b)), self.f_w, self.f_b), 0.1, True)
        return F.layer_norm(x + f, (H,), self.l2_w, self.l2_b, self.eps)


def torch_epochs(X, lengths, labels, H, layers, epochs, batch=32):
    """X: rows (head-only: one per text; unfreeze: every token)."""
    torch.manual_seed(0)
    pre = torch.nn.Linear(H, H)
    cls = torch.nn.Linear(H, 2)
    params = list(pre.parameters()) + list(cls.parameters())
    for l in layers:
        params += list(l.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    n = len(labels)
    offs = np.concatenate([[0], np.cumsum(lengths)]) if layers else None
    Xt = torch.from_numpy(X)
    y_all = torch.tensor(labels)
    rates = []
    for ep in range(epochs):
        order = np.random.default_rng(ep).permutation(n)
        t0 = time.perf_counter()
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            y = y_all[idx]
            if layers:
                L = int(max(lengths[i] for i in idx))
                x = torch.zeros(len(idx), L, H)
                mask = torch.zeros(len(idx), L)
                for j, i in enumerate(idx):
                    x[j, :lengths[i]] = Xt[offs[i]:offs[i] + lengths[i]]
                    mask[j, :lengths[i]] = 1
                bias = (1 - mask)[:, None, None, :] * -1e9
                for l in layers:
                    x = l(x, bias)
                m = mask.clone()
                m[:, 0] = 0
                for j, i in enumerate(idx):
                    m[j, lengths[i] - 1] = 0
                f = (x * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1)
            else:
                f = Xt[idx]
            F = torch.nn.functional
            logits = cls(F.dropout(torch.relu(pre(F.dropout(f, 0.1, True))), 0.1, True))
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        rates.append(n / (time.perf_counter() - t0))
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backbone", default=os.path.join(REPO, "models", "nlpipe-bert-mini"))
    ap.add_argument("--nlpipe", default=os.path.join(REPO, "build", "nlpipe"))
    ap.add_argument("--out", default="/tmp/nlpipe-bench-train")
    a = ap.parse_args()
    config = os.path.join(HERE, "sentiment-bench.json")
    cfg = json.load(open(config))
    bbcfg = json.load(open(os.path.join(a.backbone, "config.json")))
    H, nl = bbcfg["hidden_size"], bbcfg["num_hidden_layers"]
    tok = WordPiece(os.path.join(a.backbone, "vocab.txt"))
    train_path = os.path.normpath(os.path.join(HERE, cfg["data"]["train"]))
    rows = [json.loads(l) for _, l in zip(range(cfg["data"]["max_train"]), open(train_path))]
    labels = [cfg["labels"].index(r["label"]) for r in rows]
    lengths = [len(tok.encode(r["text"], 128)) for r in rows]
    W = read_safetensors(os.path.join(a.backbone, "model.safetensors"))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in W else ""
    epochs = cfg["training"]["epochs"]
    for unfreeze in (0, 2):
        out = os.path.join(a.out, f"u{unfreeze}")
        rates, log = run_nlpipe(a.nlpipe, config, out, unfreeze, a.backbone)
        want = sum(lengths) if unfreeze else len(rows)
        X = next(x for x in (load_cache(c) for c in cache_files(out + ".cache")) if x.shape[0] == want)
        mode = "head-only" if unfreeze == 0 else f"unfreeze-top-{unfreeze}"
        print(json.dumps({"bench": "train", "mode": mode, "impl": "nlpipe", "samples_per_s": round(statistics.median(rates), 1),
                          "epochs": len(rates), "samples": len(rows), "threads": 1}), flush=True)
        if unfreeze:
            assert X.shape[0] == sum(lengths), (X.shape, sum(lengths))
            layers = [Layer(W, f"{prefix}encoder.layer.{l}.", H, bbcfg["num_attention_heads"], bbcfg["intermediate_size"],
                            bbcfg.get("layer_norm_eps", 1e-12)) for l in range(nl - unfreeze, nl)]
        else:
            layers = []
        trates = torch_epochs(X, lengths, labels, H, layers, epochs)
        print(json.dumps({"bench": "train", "mode": mode, "impl": "pytorch-" + torch.__version__,
                          "samples_per_s": round(statistics.median(trates), 1), "epochs": len(trates),
                          "samples": len(rows), "threads": 1}), flush=True)


if __name__ == "__main__":
    main()
