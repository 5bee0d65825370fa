#!/usr/bin/env python3
"""Tokenize the pretraining corpora once into a uint16 segment cache (outside the repo).

  /usr/bin/python3 models/recipes/prepare_data.py --out /work/scratch/pretrain

Each corpus file is read in order; the WordPiece ids of all its lines are
concatenated (lines are consecutive paragraphs / verses / definitions) and cut into
segments of SEQ-2 ids, each stored as [CLS] ids [SEP] (SEQ = 128 ids). A file's
last incomplete segment is dropped; segments never cross files.
A seeded permutation holds out DEV_FRAC of the segments as the dev set.

Writes OUT/segments.u16 (N x SEQ uint16, raw), OUT/train_idx.npy, OUT/dev_idx.npy,
OUT/data_meta.json (files, sha256, token counts, UNK rate).
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bert_wordpiece import WordPieceTokenizer  # noqa: E402

DATA = "/work/shared/data"
# gcide.txt (GPL-2+) is deliberately NOT used, see MODEL_CARD.md.
FILES = ["state_union.txt", "inaugural.txt", "tinyshakespeare.txt", "botchan.txt",
         "wordnet.txt", "web.txt"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/scratch/pretrain")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dev-frac", type=float, default=0.005)
    ap.add_argument("--seed", type=int, default=20240607)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tok = WordPieceTokenizer(os.path.join(a.data, "tokenizers/bert-base-uncased/vocab.txt"))
    assert len(tok.itos) == 30522 and len(tok.itos) < 65536
    body = a.seq - 2
    segs, meta_files = [], []
    t0 = time.time()
    for name in FILES:
        path = os.path.join(a.data, "corpora", name)
        ids, lines = [], 0
        with open(path, encoding="utf-8") as f:
            for ln in f:
                ln = ln.rstrip("\n")
                if ln:
                    ids.extend(tok.encode(ln))
                    lines += 1
        arr = np.asarray(ids, dtype=np.uint16)
        n = len(arr) // body
        block = np.empty((n, a.seq), dtype=np.uint16)
        block[:, 0] = tok.cls_id
        block[:, 1:-1] = arr[: n * body].reshape(n, body)
        block[:, -1] = tok.sep_id
        segs.append(block)
        unk = int((arr == tok.unk_id).sum())
        meta_files.append({"file": f"corpora/{name}", "bytes": os.path.getsize(path),
                           "sha256": sha256(path), "lines": lines, "tokens": len(arr),
                           "segments": n, "unk": unk})
        print(f"{name}: {lines} lines, {len(arr)} tokens, {n} segments, UNK {unk} "
              f"({time.time() - t0:.0f}s)", flush=True)
    allseg = np.concatenate(segs)
    allseg.tofile(os.path.join(a.out, "segments.u16"))
    rng = np.random.default_rng(a.seed)
    perm = rng.permutation(len(allseg))
    n_dev = max(1, int(round(len(allseg) * a.dev_frac)))
    dev_idx = np.sort(perm[:n_dev])
    train_idx = np.sort(perm[n_dev:])
    np.save(os.path.join(a.out, "dev_idx.npy"), dev_idx)
    np.save(os.path.join(a.out, "train_idx.npy"), train_idx)
    meta = {"seq": a.seq, "segments": int(len(allseg)), "train_segments": int(len(train_idx)),
            "dev_segments": int(n_dev), "dev_frac": a.dev_frac, "seed": a.seed,
            "tokens_in_segments": int(len(allseg) * body),
            "vocab_sha256": sha256(os.path.join(a.data, "tokenizers/bert-base-uncased/vocab.txt")),
            "files": meta_files, "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(a.out, "data_meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps({k: v for k, v in meta.items() if k != "files"}), flush=True)


if __name__ == "__main__":
    main()
