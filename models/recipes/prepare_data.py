#!/usr/bin/env python3
"""Tokenize the pretraining corpora once into a uint16 segment cache (outside the repo).

  /usr/bin/python3 models/recipes/prepare_data.py --out /work/scratch/pretrain
  /usr/bin/python3 models/recipes/prepare_data.py --stage 2 --out /work/scratch/pretrain2
  /usr/bin/python3 models/recipes/prepare_data.py --stage 5 --dev-frac 0.02 --out /work/scratch/pretrain5
  /usr/bin/python3 models/recipes/prepare_data.py --stage 6 --dev-frac 0.02 --out /work/scratch/pretrain6

Stage 2 (continued pretraining, "task-adaptive" in the sense of Gururangan et al. 2020)
adds the *unlabelled text of the train splits* the heads are trained on: movie reviews,
sentence_polarity and subjectivity sentences (no SST-2 dev sentence is in them, see
../shared/data/README.md), wikigold train sentences and the SQuAD train paragraphs (each
once). Dev and test text is never read. Labels are never read.

Stage 5 (task-adaptive pretraining for the sentiment heads, from the shipped backbone) reads
only the Rotten Tomatoes / movie-review text of stage 2: movie reviews, sentence_polarity and
subjectivity train sentences, so the MLM sees the sentiment heads' domain far more densely.
Stage 6 (its second round) adds the SST-2 train phrases.

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


def jsonl_texts(path, field, unique=False):
    """The `field` strings of a JSONL file (gzip if it ends in .gz), in file order."""
    import gzip
    seen = set()
    with (gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz")
          else open(path, encoding="utf-8")) as f:
        for ln in f:
            t = json.loads(ln)[field]
            if unique:
                if t in seen:
                    continue
                seen.add(t)
            yield from t.split("\n")


# stage 2: (name in data_meta.json, path under --data, text field, one copy per distinct text)
TASK_TEXTS = [("sentiment/movie_reviews/docs_train.jsonl", "text", False),
              ("sentiment/sentence_polarity/train.jsonl", "text", False),
              ("classification/subjectivity/train.jsonl", "text", False),
              ("ner/wikigold/train.jsonl", "text", False),
              ("qa/train.jsonl.gz", "context", True)]


# stage 5: the sentiment domain only (the first three of TASK_TEXTS); stage 6 adds the SST-2
# train phrases (each distinct phrase once; sentence fragments of the same reviews)
SENTIMENT_TEXTS = TASK_TEXTS[:3]
SST2_TEXTS = [("sentiment/sst2/train.jsonl", "text", True)]


def sources(data, stage):
    """(name, path, iterator over text lines) for every file of the stage."""
    if stage >= 5:
        for rel, field, unique in SENTIMENT_TEXTS + (SST2_TEXTS if stage == 6 else []):
            path = os.path.join(data, rel)
            yield rel, path, jsonl_texts(path, field, unique)
        return
    for name in FILES:
        path = os.path.join(data, "corpora", name)
        yield f"corpora/{name}", path, (ln.rstrip("\n") for ln in open(path, encoding="utf-8"))
    if stage >= 2:
        for rel, field, unique in TASK_TEXTS:
            path = os.path.join(data, rel)
            yield rel, path, jsonl_texts(path, field, unique)


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
    ap.add_argument("--stage", type=int, default=1, choices=(1, 2, 5, 6))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tok = WordPieceTokenizer(os.path.join(a.data, "tokenizers/bert-base-uncased/vocab.txt"))
    assert len(tok.itos) == 30522 and len(tok.itos) < 65536
    body = a.seq - 2
    segs, meta_files = [], []
    t0 = time.time()
    for name, path, texts in sources(a.data, a.stage):
        ids, lines = [], 0
        for ln in texts:
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
        meta_files.append({"file": name, "bytes": os.path.getsize(path),
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
    meta = {"stage": a.stage, "seq": a.seq, "segments": int(len(allseg)), "train_segments": int(len(train_idx)),
            "dev_segments": int(n_dev), "dev_frac": a.dev_frac, "seed": a.seed,
            "tokens_in_segments": int(len(allseg) * body),
            "vocab_sha256": sha256(os.path.join(a.data, "tokenizers/bert-base-uncased/vocab.txt")),
            "files": meta_files, "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(a.out, "data_meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps({k: v for k, v in meta.items() if k != "files"}), flush=True)


if __name__ == "__main__":
    main()
