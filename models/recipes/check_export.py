#!/usr/bin/env python3
"""Verify an exported nlpipe-bert-mini folder: re-read model.safetensors with our own
reader (layout, names, dtypes, shapes against config.json), rebuild the torch model from
it and report the dev MLM loss / accuracy on the held-out segments of the pretraining
cache (same fixed masking as the training log). Optionally compare with the fp32
checkpoint (--ckpt) and print a fill-mask example.

  /usr/bin/python3 models/recipes/check_export.py [--model models/nlpipe-bert-mini]
      [--data /work/scratch/pretrain] [--ckpt /work/scratch/pretrain/ckpt.pt]
"""
import argparse
import json
import os
import struct
import sys

for _v in ("OMP_NUM_THREADS", "BLIS_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bert_mini import BertForMaskedLM  # noqa: E402
from bert_wordpiece import WordPieceTokenizer  # noqa: E402
from export_bert_mini import EXPECTED  # noqa: E402
from mlm_common import CLS, MASK, SEP, evaluate  # noqa: E402
from safetensors_io import load_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(REPO, "models", "nlpipe-bert-mini"))
    ap.add_argument("--data", default="/work/scratch/pretrain")
    ap.add_argument("--ckpt", default="", help="also evaluate this fp32 checkpoint and compare logits")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    assert cfg["model_type"] == "bert" and cfg["architectures"] == ["BertForMaskedLM"]
    path = os.path.join(a.model, "model.safetensors")
    with open(path, "rb") as f:
        (hn,) = struct.unpack("<Q", f.read(8))
    assert (8 + hn) % 8 == 0, "data block not 8-byte aligned"
    tensors, meta = load_file(path)
    assert meta.get("format") == "pt", meta
    assert sorted(tensors) == sorted(EXPECTED), set(tensors) ^ set(EXPECTED)
    assert all(t.dtype == np.float16 for t in tensors.values())
    model = BertForMaskedLM({k: cfg[k] for k in (
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
        "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
        "type_vocab_size", "initializer_range", "layer_norm_eps", "pad_token_id")})
    sd = model.state_dict()
    for k, t in tensors.items():
        assert tuple(sd[k].shape) == t.shape, (k, sd[k].shape, t.shape)
    model.load_state_dict({k: torch.from_numpy(t.astype(np.float32)) for k, t in tensors.items()}, strict=True)
    model.eval()
    n_params = sum(int(np.prod(t.shape)) for t in tensors.values())
    print(f"{path}: {len(tensors)} tensors, {n_params:,} parameters, F16, layout OK")

    seq = json.load(open(os.path.join(a.data, "data_meta.json")))["seq"]
    segs = np.memmap(os.path.join(a.data, "segments.u16"), dtype=np.uint16, mode="r").reshape(-1, seq)
    dev_idx = np.load(os.path.join(a.data, "dev_idx.npy"))
    dev = evaluate(model, segs, dev_idx)
    print("export (F16 weights) dev MLM:", json.dumps(dev))

    if a.ckpt:
        ck = torch.load(a.ckpt, map_location="cpu")
        ref = BertForMaskedLM(ck["config"])
        ref.load_state_dict(ck["model"])
        ref.eval()
        print(f"checkpoint step {ck['step']} (fp32) dev MLM:", json.dumps(evaluate(ref, segs, dev_idx)))
        ids = torch.from_numpy(segs[dev_idx[:8]].astype(np.int64))
        with torch.no_grad():
            d = (model(ids) - ref(ids)).abs().max().item()
        print(f"max |logit(F16 export) - logit(fp32 ckpt)| on 8 dev rows: {d:.4f}")

    tok = WordPieceTokenizer(os.path.join(a.model, "vocab.txt"))
    for left, right in (("the capital of france is", "."), ("the president gave a", "to congress."),
                        ("he went to the", "to buy bread.")):
        ids = [CLS] + tok.encode(left) + [MASK] + tok.encode(right) + [SEP]
        x = torch.tensor([ids])
        with torch.no_grad():
            logits = model(x, attention_mask=torch.ones_like(x), positions=(x == MASK))
        top = logits[0].topk(5).indices.tolist()
        print(f"{left} [MASK] {right} -> {[tok.itos[i] for i in top]}")


if __name__ == "__main__":
    main()
