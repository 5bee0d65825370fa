#!/usr/bin/python3
"""Independent check of `nlpipe eval HEAD DATA` for text-classification heads.

    /usr/bin/python3 tests/gen/train/repro_eval.py HEAD_DIR DATA.jsonl [--cache FEATURES.bin]

Nothing of nlpipe's C code is used: the WordPiece tokenizer (BERT uncased: clean,
lower-case, strip accents, split on white space and punctuation, greedy longest match)
and the BERT encoder are re-implemented here with torch (float32, padded batches
with an attention mask), the head is read from HEAD_DIR/head.safetensors and applied
per head.json (pooling cls / pooler / mean, linear or MLP), and accuracy / macro-F1
are computed against the records' labels. With --cache (the feature file nlpipe train
wrote for the same data: 64-byte header, then rows x hidden f32/f16) it also reports
how far the C features are from these.
"""
import argparse
import json
import os
import struct
import sys
import unicodedata

import numpy as np
import torch

torch.set_num_threads(1)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16, "BF16": None}[e["dtype"]]
        arr = np.frombuffer(data[a:b], dtype=dt).reshape(e["shape"]).astype(np.float32)
        out[name] = torch.from_numpy(arr.copy())
    return out


class WordPiece:
    def __init__(self, vocab_file):
        self.vocab = {}
        with open(vocab_file, encoding="utf-8") as f:
            for i, line in enumerate(f):
                self.vocab[line.rstrip("\n")] = i
        self.unk, self.cls, self.sep = self.vocab["[UNK]"], self.vocab["[CLS]"], self.vocab["[SEP]"]

    @staticmethod
    def _is_punct(ch):
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    def _words(self, text):
        text = "".join(" " if ch.isspace() else ch for ch in text
                       if not (ord(ch) == 0 or ord(ch) == 0xFFFD or unicodedata.category(ch) in ("Cc", "Cf")) or ch.isspace())
        out = []
        for ch in text:  # CJK characters become words of their own
            cp = ord(ch)
            if (0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0xF900 <= cp <= 0xFAFF):
                out.append(" " + ch + " ")
            else:
                out.append(ch)
        text = "".join(out).lower()
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        words = []
        for w in text.split():
            cur = ""
            for ch in w:
                if self._is_punct(ch):
                    if cur:
                        words.append(cur)
                    words.append(ch)
                    cur = ""
                else:
                    cur += ch
            if cur:
                words.append(cur)
        return words

    def encode(self, text, max_length):
        ids = []
        for w in self._words(text):
            if len(w) > 100:
                ids.append(self.unk)
                continue
            start, pieces = 0, []
            while start < len(w):
                end, found = len(w), None
                while start < end:
                    sub = ("##" if start else "") + w[start:end]
                    if sub in self.vocab:
                        found = self.vocab[sub]
                        break
                    end -= 1
                if found is None:
                    pieces = [self.unk]
                    break
                pieces.append(found)
                start = end
            ids.extend(pieces)
        return [self.cls] + ids[:max_length - 2] + [self.sep]


def bert_forward(W, cfg, ids_batch, prefix):
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps = H // nh, cfg.get("layer_norm_eps", 1e-12)
    L = max(len(x) for x in ids_batch)
    ids = torch.zeros(len(ids_batch), L, dtype=torch.long)
    mask = torch.zeros(len(ids_batch), L)
    for i, x in enumerate(ids_batch):
        ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    p = lambda n: W[prefix + n]
    x = p("embeddings.word_embeddings.weight")[ids] + p("embeddings.position_embeddings.weight")[:L][None] + \
        p("embeddings.token_type_embeddings.weight")[0][None, None]
    x = torch.nn.functional.layer_norm(x, (H,), p("embeddings.LayerNorm.weight"), p("embeddings.LayerNorm.bias"), eps)
    bias = (1.0 - mask)[:, None, None, :] * -1e9
    lin = lambda t, n: t @ p(n + ".weight").T + p(n + ".bias")
    for l in range(cfg["num_hidden_layers"]):
        q = f"encoder.layer.{l}."
        split = lambda t: t.view(t.shape[0], L, nh, d).transpose(1, 2)
        Q, K, V = split(lin(x, q + "attention.self.query")), split(lin(x, q + "attention.self.key")), \
            split(lin(x, q + "attention.self.value"))
        a = torch.softmax(Q @ K.transpose(-1, -2) / d ** 0.5 + bias, dim=-1) @ V
        a = a.transpose(1, 2).reshape(x.shape[0], L, H)
        x = torch.nn.functional.layer_norm(x + lin(a, q + "attention.output.dense"), (H,),
                                           p(q + "attention.output.LayerNorm.weight"), p(q + "attention.output.LayerNorm.bias"), eps)
        f = lin(torch.nn.functional.gelu(lin(x, q + "intermediate.dense")), q + "output.dense")
        x = torch.nn.functional.layer_norm(x + f, (H,), p(q + "output.LayerNorm.weight"), p(q + "output.LayerNorm.bias"), eps)
    return x, mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("head")
    ap.add_argument("data")
    ap.add_argument("--cache", help="nlpipe's feature file for DATA, to compare features")
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    head = json.load(open(os.path.join(a.head, "head.json")))
    assert head["task"] in ("text-classification", "sentiment"), head["task"]
    bb = os.path.normpath(os.path.join(a.head, head["backbone"]["path"]))
    cfg = json.load(open(os.path.join(bb, "config.json")))
    W = read_safetensors(os.path.join(bb, "model.safetensors"))
    HW = read_safetensors(os.path.join(a.head, "head.safetensors"))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in W else ""
    tok = WordPiece(os.path.join(bb, "vocab.txt"))
    labels = head["labels"]
    max_length = head["training"].get("max_length", 128)
    field_t = head["data"]["fields"]["text"]
    field_l = head["data"]["fields"]["label"]
    rows = [json.loads(l) for l in open(a.data) if l.strip()]
    feats, gold = [], []
    with torch.no_grad():
        for s in range(0, len(rows), a.batch):
            chunk = rows[s:s + a.batch]
            ids = [tok.encode(r[field_t], max_length) for r in chunk]
            h, mask = bert_forward(W, cfg, ids, prefix)
            if head["pooling"] == "mean":
                m = mask.clone()
                m[:, 0] = 0
                for i, x in enumerate(ids):
                    m[i, len(x) - 1] = 0
                    if len(x) == 2:
                        m[i, 0] = 1
                v = (h * m[..., None]).sum(1) / m.sum(1, keepdim=True)
            else:
                v = h[:, 0]
            feats.append(v)
            gold += [labels.index(r[field_l]) for r in chunk]
    X = torch.cat(feats)
    if a.cache:
        raw = open(a.cache, "rb").read()
        dt, hid, n = struct.unpack("<IIQ", raw[8:24])
        C = np.frombuffer(raw[64:], dtype=np.float16 if dt else np.float32).reshape(n, hid).astype(np.float32)
        diff = np.abs(C - X.numpy()).max() if C.shape == tuple(X.shape) else float("nan")
        print(json.dumps({"features_max_abs_diff_vs_nlpipe_cache": float(diff), "rows": int(n)}))
    x = X
    if head["pooling"] == "pooler":
        name = head.get("pooler", "bert.pooler.dense")
        pw = HW.get(name + ".weight", W.get(name + ".weight"))
        pb = HW.get(name + ".bias", W.get(name + ".bias"))
        x = torch.tanh(x @ pw.T + pb)
    if "pre_classifier.weight" in HW:
        x = torch.relu(x @ HW["pre_classifier.weight"].T + HW["pre_classifier.bias"])
    logits = x @ HW["classifier.weight"].T + HW["classifier.bias"]
    pred = logits.argmax(1).numpy()
    g = np.array(gold)
    acc = float((pred == g).mean())
    f1s = []
    for c in range(len(labels)):
        tp, gp, pp = int(((pred == c) & (g == c)).sum()), int((g == c).sum()), int((pred == c).sum())
        if gp or pp:
            f1s.append(2 * tp / (gp + pp))
    print(json.dumps({"examples": len(rows), "accuracy": acc, "macro_f1": float(np.mean(f1s)),
                      "nlpipe_dev_metrics": head.get("dev_metrics")}))


if __name__ == "__main__":
    sys.exit(main())
