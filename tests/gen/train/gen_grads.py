#!/usr/bin/python3
"""Gradient fixtures for tests/test-train-grads.c, from torch autograd (float64).

Run with Debian's python3 (torch 1.13 + numpy):
    /usr/bin/python3 tests/gen/train/gen_grads.py   (from the repository root)
Writes tests/fixtures/train/grads.safetensors: for each case the inputs, the
parameters and the reference gradients of a scalar loss, all stored as F32.

Cases (sizes fixed here and in the C test):
  layer.*   a whole BERT encoder layer (H=16, 2 heads, I=24, eps 1e-12, erf GELU) on two
            packed sequences of 5 and 3 tokens; loss = sum(y * r)
  ln.*      layer norm alone (6 x 16)           gelu.*  GELU alone (40 values)
  attn.*    one attention head (L=5, d=8)      ffn.*   linear -> GELU -> linear (6 x 16 -> 24 -> 16)
  seq.*     sequence classification: pooler tanh + MLP(relu) + classifier, CE with class weights
  seqlin.*  linear classifier on [CLS], plain CE
  multi.*   multi-label: linear + sigmoid BCE
  tok.*     token classification with ignored (-100) rows
  qa.*      QA start/end over two windows (rows 0-4, 5-7)
  score.*   sentence scorer, BCE
  crf.*     token classification with a linear-chain CRF (two windows)
  adamw.*   three torch.optim.AdamW updates (lr 1e-2, weight decay 0.1)
  rob.*     a whole RoBERTa encoder (embeddings + 2 layers, H=16, 2 heads, I=24), whose
            weights go to tests/fixtures/train/grads-roberta/ (HF layout, "roberta." names);
            ids, lens, r, the output y and the gradient of every tensor by its HF name
  distil.*  the same for a bare DistilBERT (tests/fixtures/train/grads-distilbert/)
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from safetensors_f32 import write_f32  # noqa: E402

torch.manual_seed(1234)
D = torch.float64
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "train", "grads.safetensors")
tensors = {}


def put(name, t):
    tensors[name] = np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


def rnd(*shape, s=0.5):
    return (torch.randn(*shape, dtype=D) * s).requires_grad_(True)


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def linear(x, w, b):
    return x @ w.T + b


def ln(x, g, b, eps=1e-12):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), g, b, eps)


# ---- whole layer
H, NH, I, LENS = 16, 2, 24, [5, 3]
T = sum(LENS)
x = rnd(T, H, s=1.0)
P = {}
for n, shp in [("qw", (H, H)), ("qb", (H,)), ("kw", (H, H)), ("kb", (H,)), ("vw", (H, H)),
               ("vb", (H,)), ("ow", (H, H)), ("ob", (H,)), ("iw", (I, H)), ("ib", (I,)),
               ("fw", (H, I)), ("fb", (H,))]:
    P[n] = rnd(*shp, s=0.3)
P["ln1g"] = (1.0 + 0.2 * torch.randn(H, dtype=D)).requires_grad_(True)
P["ln1b"] = rnd(H, s=0.1)
P["ln2g"] = (1.0 + 0.2 * torch.randn(H, dtype=D)).requires_grad_(True)
P["ln2b"] = rnd(H, s=0.1)


def attention(q, k, v, lens, nh, scaled=False):
    """Per sequence and head softmax(q k^T / sqrt(d)) v; SCALED: q is already divided by
    sqrt(d) (DistilBERT's order of operations)."""
    d = q.shape[1] // nh
    outs, off = [], 0
    for L in lens:
        heads = []
        for h in range(nh):
            qs, ks, vs = (t[off:off + L, h * d:(h + 1) * d] for t in (q, k, v))
            p = torch.softmax(qs @ ks.T if scaled else qs @ ks.T / math.sqrt(d), dim=-1)
            heads.append(p @ vs)
        outs.append(torch.cat(heads, dim=1))
        off += L
    return torch.cat(outs, dim=0)


def bert_layer(x, p, lens, nh, eps=1e-12):
    """BertLayer (RobertaLayer is the same), eval mode; P maps qw, qb, ... ln2b to tensors."""
    q, k, v = linear(x, p["qw"], p["qb"]), linear(x, p["kw"], p["kb"]), linear(x, p["vw"], p["vb"])
    a = linear(attention(q, k, v, lens, nh), p["ow"], p["ob"])
    y1 = ln(x + a, p["ln1g"], p["ln1b"], eps)
    f = linear(gelu(linear(y1, p["iw"], p["ib"])), p["fw"], p["fb"])
    return ln(y1 + f, p["ln2g"], p["ln2b"], eps)


def layer(x):
    return bert_layer(x, P, LENS, NH)


r = torch.randn(T, H, dtype=D)
y = layer(x)
(y * r).sum().backward()
put("layer.x", x); put("layer.r", r); put("layer.y", y)
put("layer.grad.x", x.grad)
for n, t in P.items():
    put("layer." + n, t)
    put("layer.grad." + n, t.grad)

# ---- layer norm alone
x = rnd(6, 16, s=2.0); g = rnd(16); b = rnd(16); r = torch.randn(6, 16, dtype=D)
(ln(x, g, b) * r).sum().backward()
for n, t in [("x", x), ("g", g), ("b", b)]:
    put("ln." + n, t); put("ln.grad." + n, t.grad)
put("ln.r", r)

# ---- GELU alone
x = rnd(40, s=2.0); r = torch.randn(40, dtype=D)
(gelu(x) * r).sum().backward()
put("gelu.x", x); put("gelu.r", r); put("gelu.grad.x", x.grad)

# ---- one attention head
q, k, v = rnd(5, 8, s=1.0), rnd(5, 8, s=1.0), rnd(5, 8, s=1.0); r = torch.randn(5, 8, dtype=D)
(attention(q, k, v, [5], 1) * r).sum().backward()
for n, t in [("q", q), ("k", k), ("v", v)]:
    put("attn." + n, t); put("attn.grad." + n, t.grad)
put("attn.r", r)

# ---- feed-forward
x = rnd(6, 16, s=1.0); w1 = rnd(24, 16, s=0.3); b1 = rnd(24, s=0.1); w2 = rnd(16, 24, s=0.3)
b2 = rnd(16, s=0.1); r = torch.randn(6, 16, dtype=D)
(linear(gelu(linear(x, w1, b1)), w2, b2) * r).sum().backward()
for n, t in [("x", x), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)]:
    put("ffn." + n, t); put("ffn.grad." + n, t.grad)
put("ffn.r", r)

# ---- heads (H = 16)
N, C = 6, 3
X = rnd(N, H, s=1.0)
pw, pb, qw, qb, cw, cb = rnd(H, H, s=0.3), rnd(H, s=0.1), rnd(H, H, s=0.3), rnd(H, s=0.1), rnd(C, H, s=0.3), rnd(C, s=0.1)
labels = torch.tensor([0, 2, 1, 1, 0, 2])
weights = torch.tensor([1.0, 2.0, 0.5], dtype=D)
p = torch.tanh(linear(X, pw, pb))
h = torch.relu(linear(p, qw, qb))
logits = linear(h, cw, cb)
loss = torch.nn.functional.cross_entropy(logits, labels, weight=weights)
loss.backward()
for n, t in [("x", X), ("pw", pw), ("pb", pb), ("qw", qw), ("qb", qb), ("cw", cw), ("cb", cb)]:
    put("seq." + n, t); put("seq.grad." + n, t.grad)
put("seq.labels", labels.double()); put("seq.weights", weights); put("seq.loss", loss.reshape(1))

X = rnd(N, H, s=1.0); cw = rnd(C, H, s=0.3); cb = rnd(C, s=0.1)
loss = torch.nn.functional.cross_entropy(linear(X, cw, cb), labels)
loss.backward()
for n, t in [("x", X), ("cw", cw), ("cb", cb)]:
    put("seqlin." + n, t); put("seqlin.grad." + n, t.grad)
put("seqlin.labels", labels.double()); put("seqlin.loss", loss.reshape(1))

X = rnd(N, H, s=1.0); cw = rnd(C, H, s=0.3); cb = rnd(C, s=0.1)
tgt = (torch.rand(N, C) > 0.5).double()
loss = torch.nn.functional.binary_cross_entropy_with_logits(linear(X, cw, cb), tgt)
loss.backward()
for n, t in [("x", X), ("cw", cw), ("cb", cb)]:
    put("multi." + n, t); put("multi.grad." + n, t.grad)
put("multi.targets", tgt); put("multi.loss", loss.reshape(1))

X = rnd(8, H, s=1.0); cw = rnd(5, H, s=0.3); cb = rnd(5, s=0.1)
tl = torch.tensor([0, 1, -100, 2, 4, -100, 3, 0])
loss = torch.nn.functional.cross_entropy(linear(X, cw, cb), tl, ignore_index=-100)
loss.backward()
for n, t in [("x", X), ("cw", cw), ("cb", cb)]:
    put("tok." + n, t); put("tok.grad." + n, t.grad)
put("tok.labels", tl.double()); put("tok.loss", loss.reshape(1))

X = rnd(8, H, s=1.0); cw = rnd(2, H, s=0.3); cb = rnd(2, s=0.1)
z = linear(X, cw, cb)
starts, ends, wins = [2, 0], [3, 1], [(0, 5), (5, 3)]
loss = 0
for (r0, n), s, e in zip(wins, starts, ends):
    zs, ze = z[r0:r0 + n, 0], z[r0:r0 + n, 1]
    loss = loss + (torch.nn.functional.cross_entropy(zs[None], torch.tensor([s])) +
                   torch.nn.functional.cross_entropy(ze[None], torch.tensor([e]))) / 2
loss = loss / len(wins)
loss.backward()
for n, t in [("x", X), ("cw", cw), ("cb", cb)]:
    put("qa." + n, t); put("qa.grad." + n, t.grad)
put("qa.loss", loss.reshape(1))

X = rnd(7, H, s=1.0); cw = rnd(1, H, s=0.3); cb = rnd(1, s=0.1)
tgt = torch.tensor([1, 0, 0, 1, 0, 0, 0], dtype=D)
loss = torch.nn.functional.binary_cross_entropy_with_logits(linear(X, cw, cb)[:, 0], tgt)
loss.backward()
for n, t in [("x", X), ("cw", cw), ("cb", cb)]:
    put("score." + n, t); put("score.grad." + n, t.grad)
put("score.targets", tgt); put("score.loss", loss.reshape(1))

# ---- token classification with a linear-chain CRF (pytorch-crf semantics) over the
# labelled rows of two windows (rows 0-4 and 5-8; -100 rows are skipped)
X = rnd(9, H, s=1.0); cw = rnd(4, H, s=0.3); cb = rnd(4, s=0.1)
trans, cstart, cend = rnd(4, 4, s=0.3), rnd(4, s=0.3), rnd(4, s=0.3)
clab = [0, 2, -100, 1, 1, 3, -100, 0, 2]
em = linear(X, cw, cb)


def crf_nll(e, y):
    a = cstart + e[0]
    for t in range(1, len(y)):
        a = torch.logsumexp(a[:, None] + trans + e[t][None, :], dim=0)
    logz = torch.logsumexp(a + cend, dim=0)
    gold = cstart[y[0]] + cend[y[-1]] + sum(e[t, y[t]] for t in range(len(y))) + \
        sum(trans[y[t - 1], y[t]] for t in range(1, len(y)))
    return logz - gold


loss = 0
for r0, n in [(0, 5), (5, 4)]:
    keep = [i for i in range(r0, r0 + n) if clab[i] >= 0]
    loss = loss + crf_nll(em[keep], [clab[i] for i in keep])
loss = loss / 2
loss.backward()
for n, t in [("x", X), ("cw", cw), ("cb", cb), ("trans", trans), ("start", cstart), ("end", cend)]:
    put("crf." + n, t); put("crf.grad." + n, t.grad)
put("crf.labels", torch.tensor(clab).double()); put("crf.loss", loss.reshape(1))

# ---- AdamW: three steps of torch.optim.AdamW (lr 1e-2, wd 0.1, default betas/eps)
w0 = torch.randn(10, dtype=torch.float32)
w = w0.clone().requires_grad_(True)
opt = torch.optim.AdamW([w], lr=1e-2, weight_decay=0.1)
gs = torch.randn(3, 10, dtype=torch.float32)
for k in range(3):
    w.grad = gs[k].clone()
    opt.step()
put("adamw.w0", w0); put("adamw.grads", gs); put("adamw.w3", w)


# ---- whole RoBERTa and DistilBERT encoders (embeddings + 2 layers, eval mode), written as
# HF model folders for the C side to open; the reference follows transformers'
# modeling_roberta / modeling_distilbert: RoBERTa positions from
# create_position_ids_from_input_ids (pad_token_id + 1 + the count of non-padding tokens
# before, per sequence), one token type, LayerNorm eps from the config; DistilBERT with no
# token types, q scaled before q k^T, LayerNorm eps 1e-12. No input token is a padding
# token (whose table rows nn.Embedding(padding_idx) would keep from learning); the ids
# repeat so that gradient rows accumulate. loss = sum(y * r) over the top layer's output.
MH, MNH, MI, ML, MV, MP = 16, 2, 24, 2, 40, 24
MIDS = [[4, 17, 9, 17, 25, 3], [4, 9, 33, 3]]
BERT_MODULES = [("q", "attention.self.query"), ("k", "attention.self.key"),
                ("v", "attention.self.value"), ("o", "attention.output.dense"),
                ("ln1", "attention.output.LayerNorm"), ("i", "intermediate.dense"),
                ("f", "output.dense"), ("ln2", "output.LayerNorm")]
DISTIL_MODULES = [("q", "attention.q_lin"), ("k", "attention.k_lin"), ("v", "attention.v_lin"),
                  ("o", "attention.out_lin"), ("ln1", "sa_layer_norm"), ("i", "ffn.lin1"),
                  ("f", "ffn.lin2"), ("ln2", "output_layer_norm")]
gen = torch.Generator().manual_seed(99)


def model_weights(prefix, layers, modules, n_pos, n_types):
    """Random F32 weights under HF names, and float64 leaves of the same values."""
    W = {}

    def t(name, *shape, s=0.3, base=0.0):
        W[name] = (base + s * torch.randn(*shape, generator=gen, dtype=D)).float()

    t(prefix + "embeddings.word_embeddings.weight", MV, MH, s=0.5)
    t(prefix + "embeddings.position_embeddings.weight", n_pos, MH, s=0.2)
    if n_types:
        t(prefix + "embeddings.token_type_embeddings.weight", n_types, MH, s=0.2)
    t(prefix + "embeddings.LayerNorm.weight", MH, s=0.2, base=1.0)
    t(prefix + "embeddings.LayerNorm.bias", MH, s=0.1)
    dims = {"q": (MH, MH), "k": (MH, MH), "v": (MH, MH), "o": (MH, MH), "i": (MI, MH), "f": (MH, MI)}
    for l in range(ML):
        for key, mod in modules:
            n = f"{prefix}{layers}{l}.{mod}"
            if key.startswith("ln"):
                t(n + ".weight", MH, s=0.2, base=1.0)
                t(n + ".bias", MH, s=0.1)
            else:
                t(n + ".weight", *dims[key])
                t(n + ".bias", dims[key][0], s=0.1)
    return W, {n: w.double().requires_grad_(True) for n, w in W.items()}


def layer_params(X, prefix, layers, modules, l):
    out = {}
    for key, mod in modules:
        n = f"{prefix}{layers}{l}.{mod}"
        w, b = ("g", "b") if key.startswith("ln") else ("w", "b")
        out[key + w], out[key + b] = X[n + ".weight"], X[n + ".bias"]
    return out


def embed(X, prefix, eps, pad=None, types=False):
    rows = []
    for ids in MIDS:
        ids = torch.tensor(ids)
        if pad is None:
            pos = torch.arange(len(ids))
        else:  # create_position_ids_from_input_ids
            mask = ids.ne(pad).int()
            pos = (torch.cumsum(mask, dim=0).type_as(mask) * mask).long() + pad
        e = X[prefix + "embeddings.word_embeddings.weight"][ids] + \
            X[prefix + "embeddings.position_embeddings.weight"][pos]
        if types:
            e = e + X[prefix + "embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
        rows.append(e)
    return ln(torch.cat(rows), X[prefix + "embeddings.LayerNorm.weight"],
              X[prefix + "embeddings.LayerNorm.bias"], eps)


def distil_layer(x, p, lens, nh):
    """TransformerBlock: no dropout on the attention output in training either."""
    d = x.shape[1] // nh
    q = linear(x, p["qw"], p["qb"]) / math.sqrt(d)
    a = linear(attention(q, linear(x, p["kw"], p["kb"]), linear(x, p["vw"], p["vb"]), lens, nh, scaled=True),
               p["ow"], p["ob"])
    sa = ln(a + x, p["ln1g"], p["ln1b"])
    f = linear(gelu(linear(sa, p["iw"], p["ib"])), p["fw"], p["fb"])
    return ln(f + sa, p["ln2g"], p["ln2b"])


def model_case(case, folder, config, W, X, y):
    """Writes the model folder and the case: ids, lens, r, y and every tensor's gradient."""
    r = torch.randn(*y.shape, generator=gen, dtype=D)
    (y * r).sum().backward()
    d = os.path.join(os.path.dirname(OUT), folder)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    write_f32(os.path.join(d, "model.safetensors"), {n: w.numpy() for n, w in W.items()}, {"format": "pt"})
    put(case + ".ids", torch.tensor(sum(MIDS, []), dtype=D))
    put(case + ".lens", torch.tensor([len(s) for s in MIDS], dtype=D))
    put(case + ".r", r)
    put(case + ".y", y)
    for n, t in X.items():
        put(case + ".grad." + n, t.grad)


# RoBERTa under "roberta." (a RobertaForMaskedLM checkpoint's encoder), pad id 1: rows 2.. used
W, X = model_weights("roberta.", "encoder.layer.", BERT_MODULES, MP + 2, 1)
x = embed(X, "roberta.", 1e-5, pad=1, types=True)
for l in range(ML):
    x = bert_layer(x, layer_params(X, "roberta.", "encoder.layer.", BERT_MODULES, l), [len(s) for s in MIDS], MNH,
                   eps=1e-5)
model_case("rob", "grads-roberta", {
    "architectures": ["RobertaForMaskedLM"], "model_type": "roberta", "vocab_size": MV, "hidden_size": MH,
    "num_hidden_layers": ML, "num_attention_heads": MNH, "intermediate_size": MI, "hidden_act": "gelu",
    "max_position_embeddings": MP + 2, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1,
    "bos_token_id": 0, "eos_token_id": 2}, W, X, x)

# DistilBERT, a bare DistilBertModel checkpoint (no prefix)
W, X = model_weights("", "transformer.layer.", DISTIL_MODULES, MP, 0)
x = embed(X, "", 1e-12)
for l in range(ML):
    x = distil_layer(x, layer_params(X, "", "transformer.layer.", DISTIL_MODULES, l), [len(s) for s in MIDS], MNH)
model_case("distil", "grads-distilbert", {
    "architectures": ["DistilBertModel"], "model_type": "distilbert", "vocab_size": MV, "dim": MH,
    "n_layers": ML, "n_heads": MNH, "hidden_dim": MI, "activation": "gelu", "max_position_embeddings": MP,
    "pad_token_id": 0, "sinusoidal_pos_embds": False}, W, X, x)

write_f32(OUT, tensors)
print(OUT, os.path.getsize(OUT), "bytes,", len(tensors), "tensors")
