#!/usr/bin/python3
"""Parity fixtures for the encoder (tests/test-encoder.c).

Run with Debian's python (python3-torch 1.13 + numpy; no `transformers` here):
    /usr/bin/python3 tests/gen/encoder/gen_fixtures.py [--out tests/fixtures/encoder]

For each case it builds a tiny random model in exact Hugging Face layout
(config.json + model.safetensors, or shards + model.safetensors.index.json),
runs the HF forward pass re-implemented below in torch (BertModel, RobertaModel,
DistilBertModel, ElectraModel and their *ForSequenceClassification /
*ForTokenClassification / *ForQuestionAnswering heads, module and tensor names as
in transformers 4.x, eval mode) on one padded batch of mixed-length sequences
with its attention mask, and writes the unpadded outputs:
    expected.json  inputs (lengths, ids, type_ids) and where each output lives
    expected.bin   float32 little-endian: hidden (sum(len) x H), pooled (n x H),
                   logits (n x labels | sum(len) x labels), start/end logits
Half-precision cases round the weights to f16/bf16 first, so torch computes in f32
on exactly the weights the file holds (as HF does with torch_dtype=float32).
"""
import argparse, json, math, os, struct, shutil
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

torch.set_num_threads(1)

ACT = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
    "relu": F.relu,
}


# ---------------------------------------------------------------- BERT family
class BertEmbeddings(nn.Module):
    def __init__(s, c, emb):
        super().__init__()
        s.word_embeddings = nn.Embedding(c["vocab_size"], emb, padding_idx=c.get("pad_token_id", 0))
        s.position_embeddings = nn.Embedding(c["max_position_embeddings"], emb)
        s.token_type_embeddings = nn.Embedding(c["type_vocab_size"], emb)
        s.LayerNorm = nn.LayerNorm(emb, eps=c["layer_norm_eps"])
        s.roberta = c["model_type"] in ("roberta", "xlm-roberta")
        s.pad = c.get("pad_token_id", 0)

    def forward(s, ids, tt):
        if s.roberta:  # create_position_ids_from_input_ids
            mask = ids.ne(s.pad).int()
            pos = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + s.pad
        else:
            pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
        e = s.word_embeddings(ids) + s.token_type_embeddings(tt) + s.position_embeddings(pos)
        return s.LayerNorm(e)


class BertSelfAttention(nn.Module):
    def __init__(s, c):
        super().__init__()
        H = c["hidden_size"]
        s.nh, s.d = c["num_attention_heads"], H // c["num_attention_heads"]
        s.query, s.key, s.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)

    def split(s, x):
        return x.view(x.shape[0], x.shape[1], s.nh, s.d).permute(0, 2, 1, 3)

    def forward(s, x, ext_mask):
        q, k, v = s.split(s.query(x)), s.split(s.key(x)), s.split(s.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(s.d) + ext_mask
        p = F.softmax(scores, dim=-1)
        ctx = torch.matmul(p, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(x.shape[0], x.shape[1], -1)


class DenseLN(nn.Module):  # BertSelfOutput / BertOutput
    def __init__(s, c, n_in):
        super().__init__()
        s.dense = nn.Linear(n_in, c["hidden_size"])
        s.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(s, h, inp):
        return s.LayerNorm(s.dense(h) + inp)


class BertAttention(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.self = BertSelfAttention(c)
        s.output = DenseLN(c, c["hidden_size"])

    def forward(s, x, m):
        return s.output(s.self(x, m), x)


class BertIntermediate(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        s.act = ACT[c["hidden_act"]]

    def forward(s, x):
        return s.act(s.dense(x))


class BertLayer(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.attention = BertAttention(c)
        s.intermediate = BertIntermediate(c)
        s.output = DenseLN(c, c["intermediate_size"])

    def forward(s, x, m):
        a = s.attention(x, m)
        return s.output(s.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(s, x, m):
        for l in s.layer:
            x = l(x, m)
        return x


class BertPooler(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(s, h):
        return torch.tanh(s.dense(h[:, 0]))


class BertModel(nn.Module):  # also RobertaModel, ElectraModel (pooler=False, emb size)
    def __init__(s, c, pooler=True):
        super().__init__()
        emb = c.get("embedding_size", c["hidden_size"]) if c["model_type"] == "electra" else c["hidden_size"]
        s.embeddings = BertEmbeddings(c, emb)
        if emb != c["hidden_size"]:
            s.embeddings_project = nn.Linear(emb, c["hidden_size"])
        s.encoder = BertEncoder(c)
        if pooler:
            s.pooler = BertPooler(c)

    def forward(s, ids, tt, mask):
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = s.embeddings(ids, tt)
        if hasattr(s, "embeddings_project"):
            x = s.embeddings_project(x)
        h = s.encoder(x, ext)
        return h, (s.pooler(h) if hasattr(s, "pooler") else None)


# ---------------------------------------------------------------- DistilBERT
class DistilEmbeddings(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.word_embeddings = nn.Embedding(c["vocab_size"], c["dim"], padding_idx=c["pad_token_id"])
        s.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["dim"])
        s.LayerNorm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(s, ids):
        pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
        return s.LayerNorm(s.word_embeddings(ids) + s.position_embeddings(pos))


class MultiHeadSelfAttention(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.nh, s.dim = c["n_heads"], c["dim"]
        s.q_lin, s.k_lin = nn.Linear(s.dim, s.dim), nn.Linear(s.dim, s.dim)
        s.v_lin, s.out_lin = nn.Linear(s.dim, s.dim), nn.Linear(s.dim, s.dim)

    def forward(s, x, mask):
        bs, L, _ = x.shape
        d = s.dim // s.nh
        sh = lambda t: t.view(bs, -1, s.nh, d).transpose(1, 2)
        q, k, v = sh(s.q_lin(x)), sh(s.k_lin(x)), sh(s.v_lin(x))
        q = q / math.sqrt(d)
        scores = torch.matmul(q, k.transpose(2, 3))
        m = (mask == 0).view(bs, 1, 1, L).expand_as(scores)
        scores = scores.masked_fill(m, torch.tensor(torch.finfo(scores.dtype).min))
        w = F.softmax(scores, dim=-1)
        ctx = torch.matmul(w, v).transpose(1, 2).contiguous().view(bs, -1, s.nh * d)
        return s.out_lin(ctx)


class FFN(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.lin1, s.lin2 = nn.Linear(c["dim"], c["hidden_dim"]), nn.Linear(c["hidden_dim"], c["dim"])
        s.act = ACT[c["activation"]]

    def forward(s, x):
        return s.lin2(s.act(s.lin1(x)))


class TransformerBlock(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.attention = MultiHeadSelfAttention(c)
        s.sa_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        s.ffn = FFN(c)
        s.output_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(s, x, mask):
        a = s.sa_layer_norm(s.attention(x, mask) + x)
        return s.output_layer_norm(s.ffn(a) + a)


class Transformer(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c["n_layers"])])


class DistilBertModel(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.embeddings = DistilEmbeddings(c)
        s.transformer = Transformer(c)

    def forward(s, ids, tt, mask):
        x = s.embeddings(ids)
        for l in s.transformer.layer:
            x = l(x, mask)
        return x, None


# ---------------------------------------------------------------- heads
class Head(nn.Module):
    pass


class Wrapped(nn.Module):
    """<prefix>.<base model> plus head modules with HF names."""

    def __init__(s, c, arch):
        super().__init__()
        mt, H, nl = c["model_type"], c.get("hidden_size", c.get("dim")), c.get("num_labels", 2)
        s.arch, s.mt = arch, mt
        prefix = {"bert": "bert", "roberta": "roberta", "xlm-roberta": "roberta", "distilbert": "distilbert", "electra": "electra"}[mt]
        s.kind = ("seq" if arch.endswith("ForSequenceClassification") else "tok" if arch.endswith("ForTokenClassification")
                  else "qa" if arch.endswith("ForQuestionAnswering") else "none")
        if mt == "distilbert":
            base = DistilBertModel(c)
        else:
            pooler = mt == "bert" and s.kind in ("seq", "none") or (mt in ("roberta", "xlm-roberta") and s.kind == "none")
            base = BertModel(c, pooler=pooler)
        s.bare = s.kind == "none"
        s.prefix = prefix
        setattr(s, prefix, base)
        if s.kind == "seq":
            if mt == "bert":
                s.classifier = nn.Linear(H, nl)
            elif mt == "distilbert":
                s.pre_classifier, s.classifier = nn.Linear(H, H), nn.Linear(H, nl)
            else:
                s.classifier = Head()
                s.classifier.dense, s.classifier.out_proj = nn.Linear(H, H), nn.Linear(H, nl)
        elif s.kind == "tok":
            s.classifier = nn.Linear(H, nl)
        elif s.kind == "qa":
            s.qa_outputs = nn.Linear(H, 2)

    def forward(s, ids, tt, mask):
        h, pooled = getattr(s, s.prefix)(ids, tt, mask)
        out = {"hidden": h}
        c0 = h[:, 0]
        if s.kind == "seq":
            if s.mt == "bert":
                out["pooled"] = pooled
            elif s.mt == "distilbert":
                out["pooled"] = F.relu(s.pre_classifier(c0))
            elif s.mt == "electra":
                out["pooled"] = F.gelu(s.classifier.dense(c0))
            else:
                out["pooled"] = torch.tanh(s.classifier.dense(c0))
            out["logits"] = (s.classifier.out_proj if s.mt in ("roberta", "xlm-roberta", "electra") else s.classifier)(out["pooled"])
        else:
            out["pooled"] = pooled if pooled is not None else c0
        if s.kind == "tok":
            out["token_logits"] = s.classifier(h)
        if s.kind == "qa":
            lg = s.qa_outputs(h)
            out["start_logits"], out["end_logits"] = lg[..., 0], lg[..., 1]
        return out

    def hf_state_dict(s):
        sd = s.state_dict()
        if s.bare:  # a saved *Model has no prefix
            sd = {k[len(s.prefix) + 1:]: v for k, v in sd.items()}
        return sd


def rich_init(model, g):
    """Weights that make every tensor matter (HF's N(0, 0.02) init gives a nearly
    input-blind model): Linear N(0, 1/sqrt(fan_in)), biases N(0, 0.1), embeddings
    N(0, 0.5), LayerNorm gamma 1 + N(0, 0.1), beta N(0, 0.1)."""
    for name, p in model.named_parameters():
        with torch.no_grad():
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
            elif "embeddings" in name and "project" not in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("weight"):
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


# ---------------------------------------------------------------- safetensors
ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def tensor_bytes(t):
    if t.dtype == torch.bfloat16:  # numpy has no bf16: take the top 16 bits of f32
        u = t.float().contiguous().numpy().view(np.uint32) >> 16
        return u.astype("<u2").tobytes()
    return t.contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- cases
BASE_LENGTHS = [1, 7, 13, 2, 40, 5, 3]


def case_inputs(g, c, lengths, pair):
    V = c["vocab_size"]
    pad = c.get("pad_token_id", 0)
    ids, tts = [], []
    for i, L in enumerate(lengths):
        row = torch.randint(2, V, (L,), generator=g)
        if c["model_type"] in ("roberta", "xlm-roberta") and L > 4 and i % 2 == 0:
            row[2] = pad  # a padding id inside a sequence: HF gives it position padding_idx
        ids.append(row.tolist())
        tt = [0] * L
        if pair and L > 2:
            tt = [0] * (L // 2) + [1] * (L - L // 2)
        tts.append(tt)
    return ids, tts


def run_case(out_dir, name, cfg, arch, seed, dtype=torch.float32, lengths=BASE_LENGTHS, shards=1, pair=False, vocab=False):
    g = torch.Generator().manual_seed(seed)
    cfg = dict(cfg)
    cfg["architectures"] = [arch]
    model = Wrapped(cfg, arch).eval()
    rich_init(model, g)
    with torch.no_grad():
        for p in model.parameters():  # compute on exactly what the file stores
            p.copy_(p.to(dtype).float())
    d = os.path.join(out_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    sd = {k: v.to(dtype) for k, v in model.hf_state_dict().items()}
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), sd)
    else:
        names = sorted(sd)
        wm, total = {}, 0
        for i in range(shards):
            part = names[i::shards]
            fn = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
            write_safetensors(os.path.join(d, fn), {k: sd[k] for k in part})
            for k in part:
                wm[k] = fn
                total += sd[k].numel() * sd[k].element_size()
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2, sort_keys=True)

    ids, tts = case_inputs(g, cfg, lengths, pair)
    n, Lmax = len(lengths), max(lengths)
    pad = cfg.get("pad_token_id", 0)
    I = torch.full((n, Lmax), pad, dtype=torch.long)
    T = torch.zeros((n, Lmax), dtype=torch.long)
    M = torch.zeros((n, Lmax), dtype=torch.long)
    for i, L in enumerate(lengths):
        I[i, :L] = torch.tensor(ids[i])
        T[i, :L] = torch.tensor(tts[i])
        M[i, :L] = 1
    with torch.no_grad():
        out = model(I, T, M)  # one padded batch with its attention mask, as HF runs it
    arrays, meta, off = [], {}, 0

    def put(key, a):
        nonlocal off
        a = a.detach().float().contiguous().numpy().astype("<f4").ravel()
        meta[key] = {"offset": off, "count": int(a.size)}
        arrays.append(a)
        off += a.size

    unpad = lambda t: torch.cat([t[i, :L] for i, L in enumerate(lengths)])
    put("hidden", unpad(out["hidden"]))
    put("pooled", out["pooled"])
    if "logits" in out:
        put("logits", out["logits"])
    if "token_logits" in out:
        put("token_logits", unpad(out["token_logits"]))
    if "start_logits" in out:
        put("start_logits", unpad(out["start_logits"]))
        put("end_logits", unpad(out["end_logits"]))
    np.concatenate(arrays).tofile(os.path.join(d, "expected.bin"))
    exp = {"architecture": arch, "dtype": ST_DTYPE[dtype], "lengths": lengths,
           "ids": sum(ids, []), "type_ids": sum(tts, []), "outputs": meta}
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(exp, f)
    if vocab:  # a WordPiece vocab.txt so that `nlpipe forward` can run on text
        with open(os.path.join(d, "vocab.txt"), "w") as f:
            specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            f.write("\n".join(specials + [f"tok{i}" for i in range(cfg["vocab_size"] - len(specials))]) + "\n")
    print(f"{name}: {arch} {ST_DTYPE[dtype]} lengths={lengths} outputs={list(meta)}")


def bert_cfg(**kw):
    c = {"model_type": "bert", "vocab_size": 97, "hidden_size": 36, "num_hidden_layers": 2,
         "num_attention_heads": 4, "intermediate_size": 52, "hidden_act": "gelu",
         "max_position_embeddings": 520, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
         "pad_token_id": 0, "position_embedding_type": "absolute", "num_labels": 3,
         "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02}
    c.update(kw)
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "encoder"))
    a = ap.parse_args()
    out = os.path.normpath(a.out)
    os.makedirs(out, exist_ok=True)
    lab3 = {"id2label": {"0": "NEG", "1": "NEU", "2": "POS"}, "label2id": {"NEG": 0, "NEU": 1, "POS": 2}}
    # BERT sequence classifier, with one 512-token sequence next to short ones
    run_case(out, "bert-seqcls-f32", bert_cfg(**lab3), "BertForSequenceClassification", 1,
             lengths=[512, 1, 9, 33, 4], pair=True, vocab=True)
    # BERT-shaped (MiniLM-like) bare model, no prefix in tensor names, gelu_new, bf16
    run_case(out, "bert-bare-bf16", bert_cfg(hidden_size=20, num_attention_heads=1, num_hidden_layers=1,
             intermediate_size=44, hidden_act="gelu_new", max_position_embeddings=64), "BertModel", 2,
             dtype=torch.bfloat16)
    # BERT token classification, relu, 16 heads of 3, f16, eps 1e-5
    run_case(out, "bert-tokcls-f16", bert_cfg(hidden_size=48, num_attention_heads=16, num_hidden_layers=3,
             intermediate_size=60, hidden_act="relu", layer_norm_eps=1e-5, num_labels=5,
             max_position_embeddings=64), "BertForTokenClassification", 3, dtype=torch.float16, pair=True)
    run_case(out, "bert-qa-f32", bert_cfg(hidden_size=30, num_attention_heads=3, num_hidden_layers=2,
             intermediate_size=34, max_position_embeddings=64), "BertForQuestionAnswering", 4, pair=True)
    rob = dict(model_type="roberta", pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1,
               layer_norm_eps=1e-5, max_position_embeddings=514 + 2)
    run_case(out, "roberta-seqcls-f32", bert_cfg(**rob, hidden_size=36, num_attention_heads=6,
             num_hidden_layers=3, intermediate_size=40, **lab3), "RobertaForSequenceClassification", 5,
             lengths=[514, 3, 17, 1, 6])
    xlmr = dict(rob, model_type="xlm-roberta", max_position_embeddings=66)
    run_case(out, "xlmr-tokcls-sharded", bert_cfg(**xlmr, hidden_size=28, num_attention_heads=2,
             num_hidden_layers=2, intermediate_size=36, num_labels=4), "XLMRobertaForTokenClassification", 6,
             shards=2)
    distil = {"model_type": "distilbert", "vocab_size": 89, "dim": 36, "n_layers": 2, "n_heads": 4,
              "hidden_dim": 52, "activation": "gelu", "max_position_embeddings": 64, "pad_token_id": 0,
              "sinusoidal_pos_embds": False, "dropout": 0.1, "attention_dropout": 0.1,
              "seq_classif_dropout": 0.2, "qa_dropout": 0.1, "initializer_range": 0.02}
    run_case(out, "distilbert-seqcls-f32", dict(distil, num_labels=2), "DistilBertForSequenceClassification", 7)
    run_case(out, "distilbert-qa-bf16", dict(distil, dim=44, n_heads=11, hidden_dim=30, activation="relu"),
             "DistilBertForQuestionAnswering", 8, dtype=torch.bfloat16)
    run_case(out, "electra-seqcls-f32", bert_cfg(model_type="electra", embedding_size=24, hidden_size=36,
             num_attention_heads=4, num_hidden_layers=2, intermediate_size=48, max_position_embeddings=64,
             num_labels=2), "ElectraForSequenceClassification", 9, pair=True)


if __name__ == "__main__":
    main()
