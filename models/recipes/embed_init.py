#!/usr/bin/env python3
"""Distributional start for the word embeddings: PPMI-SVD vectors from the pretraining segments.

  /usr/bin/python3 models/recipes/embed_init.py --data /work/scratch/pretrain4 \
      --out /work/scratch/pretrain4/embed_init.npz

Why: with our compute (tens of millions of tokens) MLM pretraining from random embeddings sits
on the "predict frequent words" plateau for thousands of steps; words that occur in similar
contexts get similar vectors only late. Counting co-occurrences once (seconds) and factorising
the positive PMI matrix (Levy & Goldberg 2014; context-distribution smoothing 0.75) gives every
word such a vector before the first step. The MLM bias starts as log unigram probabilities, so
the unigram stage is not learned either.

Reads only the train segments (train_idx.npy) of OUT/segments.u16 from prepare_data.py.
Writes word (V x H float32: SVD rows scaled to the model's init std 0.02 per entry; words never
seen keep seeded N(0, 0.02)) and bias (V float32) for pretrain_mlm.py --embed-init.
"""
import argparse
import json
import os
import time

import numpy as np
import torch

SPECIAL = (0, 100, 101, 102, 103)       # [PAD] [UNK] [CLS] [SEP] [MASK]


def cooccurrence(segs, vocab, window):
    """Symmetric counts within +-window inside a segment, weighted 1/distance -> (keys, weights)."""
    keys, weights = [], []
    for d in range(1, window + 1):
        a, b = segs[:, :-d].reshape(-1).astype(np.int64), segs[:, d:].reshape(-1).astype(np.int64)
        ok = ~(np.isin(a, SPECIAL) | np.isin(b, SPECIAL))
        a, b = a[ok], b[ok]
        for x, y in ((a, b), (b, a)):
            k, c = np.unique(x * vocab + y, return_counts=True)
            keys.append(k)
            weights.append(c.astype(np.float64) / d)
    k = np.concatenate(keys)
    w = np.concatenate(weights)
    uk, inv = np.unique(k, return_inverse=True)
    return uk, np.bincount(inv, weights=w)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--alpha", type=float, default=0.75, help="context-distribution smoothing")
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--std", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=99)
    a = ap.parse_args()
    t0 = time.time()
    meta = json.load(open(os.path.join(a.data, "data_meta.json")))
    segs = np.memmap(os.path.join(a.data, "segments.u16"), dtype=np.uint16, mode="r").reshape(-1, meta["seq"])
    segs = np.asarray(segs[np.sort(np.load(os.path.join(a.data, "train_idx.npy")))])
    V = a.vocab
    keys, w = cooccurrence(segs, V, a.window)
    rows, cols = keys // V, keys % V
    row_sum = np.bincount(rows, weights=w, minlength=V)
    ctx = np.bincount(cols, weights=w, minlength=V) ** a.alpha
    pmi = np.log(w * ctx.sum() / (row_sum[rows] * ctx[cols]))
    keep = pmi > 0
    print(f"pairs {len(keys)}, positive {int(keep.sum())}, {time.time() - t0:.0f} s", flush=True)
    m = torch.sparse_coo_tensor(np.stack([rows[keep], cols[keep]]), pmi[keep].astype(np.float32), (V, V))
    torch.manual_seed(a.seed)
    u, s, _ = torch.svd_lowrank(m.coalesce(), q=a.dim + 16, niter=6)
    vec = (u[:, :a.dim] * s[:a.dim].sqrt()).numpy()
    seen = np.abs(vec).sum(1) > 0
    vec *= a.std / vec[seen].std()
    gen = np.random.default_rng(a.seed)
    word = gen.normal(0.0, a.std, (V, a.dim)).astype(np.float32)
    word[seen] = vec[seen]
    word[0] = 0.0                                   # the padding row, as HF initialises it
    counts = np.bincount(segs.reshape(-1).astype(np.int64), minlength=V).astype(np.float64)
    counts[list(SPECIAL)] = 0
    bias = np.log((counts + 0.5) / (counts + 0.5).sum()).astype(np.float32)
    np.savez(a.out, word=word, bias=bias)
    print(f"{int(seen.sum())} of {V} words have a vector; top singular values "
          f"{s[:4].numpy().round(1).tolist()}; {time.time() - t0:.0f} s -> {a.out}", flush=True)


if __name__ == "__main__":
    main()
