#!/usr/bin/python3
"""Simple dev-set baselines for the nlpipe-bert-mini model card (issue 7).

Run from anywhere with Debian's Python (numpy only):

    /usr/bin/python3 models/recipes/baselines.py

Reads the shared data from ../shared/data (relative to the repository root; override with
NLPIPE_SHARED_DATA), never copies it into the repository. The NER baseline runs the real
nlpipe entity-ruler (build/nlpipe, build it first with `./configure && ninja`); its
gazetteer, pipeline file, input and output go to ../scratch/baselines (override with
NLPIPE_BASELINE_SCRATCH). Writes models/nlpipe-bert-mini/baselines.json (override with --out)
and prints a markdown table. Deterministic (fixed seed, full-batch optimisation).

Baselines
  sst2, subjectivity  majority class (of train) and a unigram+bigram TF-IDF logistic regression
                      (numpy, L2, full-batch Adam), fit on train, scored on dev: accuracy, macro-F1.
                      (The L2 strength is picked on a seeded 10% slice of train; for SST-2 that slice
                      shares sentences with the rest of train, because GLUE train holds sub-phrases.)
  wikigold            entity-ruler alone: gazetteer of every distinct train entity string with its most
                      frequent type, run with `nlpipe run`; seqeval-style entity P/R/F1 on dev.
  squad_v1_dev        sliding-window word overlap (definition in squad_baseline()); official SQuAD v1.1
                      EM / F1 (max over the gold answers).
  scitldr             lead-1 (first abstract sentence); ROUGE-1/2/L F1, max over the references, mean over
                      documents, tokens as in `nlpipe eval` (runs of ASCII letters/digits, lower-cased).
"""
import argparse
import collections
import json
import math
import os
import re
import string
import subprocess
import sys
import time

import numpy as np

SEED = 1234
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("NLPIPE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
SCRATCH = os.environ.get("NLPIPE_BASELINE_SCRATCH", os.path.join(ROOT, "..", "scratch", "baselines"))
NLPIPE = os.path.join(ROOT, "build", "nlpipe")

# NLTK's English stop-word list (179 words), used by the gazetteer filter and the QA baseline.
STOPWORDS = set("""
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves he him
his himself she she's her hers herself it it's its itself they them their theirs themselves what which who
whom this that that'll these those am is are was were be been being have has had having do does did doing a
an the and but if or because as until while of at by for with about against between into through during
before after above below to from up down in out on off over under again further then once here there when
where why how all any both each few more most other some such no nor not only own same so than too very s t
can will just don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't
doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't
shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn wouldn't
""".split())


def path(*parts):
    return os.path.join(DATA, *parts)


def read_jsonl(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def r4(x):
    return round(float(x), 4)


# ---------------------------------------------------------------- classification

def cls_tokens(text):
    """Lower-case; words (letters, digits, ' and -) and single punctuation marks."""
    return re.findall(r"[\w'-]+|[^\w\s]", text.lower())


def ngrams(text):
    t = cls_tokens(text)
    return t + [a + " " + b for a, b in zip(t, t[1:])]


class Csr:
    """Row-compressed sparse matrix, only what logistic regression needs."""

    def __init__(self, indptr, indices, data, ncols):
        self.indptr, self.indices, self.data, self.ncols = indptr, indices, data, ncols
        self.nrows = len(indptr) - 1
        self.row = np.repeat(np.arange(self.nrows), np.diff(indptr))

    def dot(self, w):  # X @ w
        return np.bincount(self.row, weights=self.data * w[self.indices], minlength=self.nrows)

    def tdot(self, g):  # X.T @ g
        return np.bincount(self.indices, weights=self.data * g[self.row], minlength=self.ncols)

    def take(self, rows):
        ptr, ind, dat = [0], [], []
        for r in rows:
            a, b = self.indptr[r], self.indptr[r + 1]
            ind.append(self.indices[a:b])
            dat.append(self.data[a:b])
            ptr.append(ptr[-1] + b - a)
        return Csr(np.array(ptr), np.concatenate(ind), np.concatenate(dat), self.ncols)


class Tfidf:
    """Unigram+bigram TF-IDF: features seen in >= min_df train texts, tf = 1 + log(count),
    idf = log((1 + N) / (1 + df)) + 1, rows L2-normalised."""

    def __init__(self, texts, min_df=2):
        df = collections.Counter()
        for t in texts:
            df.update(set(ngrams(t)))
        feats = sorted(f for f, c in df.items() if c >= min_df)
        self.vocab = {f: i for i, f in enumerate(feats)}
        n = len(texts)
        self.idf = np.array([math.log((1 + n) / (1 + df[f])) + 1 for f in feats])

    def transform(self, texts):
        ptr, ind, dat = [0], [], []
        for t in texts:
            c = collections.Counter(self.vocab[g] for g in ngrams(t) if g in self.vocab)
            cols = np.array(sorted(c), dtype=np.int64)
            vals = np.array([(1 + math.log(c[j])) for j in cols]) * self.idf[cols] if len(cols) else np.zeros(0)
            norm = np.linalg.norm(vals)
            ind.append(cols)
            dat.append(vals / norm if norm > 0 else vals)
            ptr.append(ptr[-1] + len(cols))
        return Csr(np.array(ptr), np.concatenate(ind), np.concatenate(dat), len(self.vocab))


def fit_logreg(X, y, lam, iters=300, lr=0.1):
    """Binary logistic regression: mean log-loss + lam/2 * ||w||^2 (bias not penalised),
    full-batch Adam from zeros (deterministic)."""
    w = np.zeros(X.ncols)
    b = 0.0
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), 0.0, 0.0
    b1, b2, eps = 0.9, 0.999, 1e-8
    n = X.nrows
    for t in range(1, iters + 1):
        z = X.dot(w) + b
        p = 1.0 / (1.0 + np.exp(-z))
        g = (p - y) / n
        gw = X.tdot(g) + lam * w
        gb = g.sum()
        m_w = b1 * m_w + (1 - b1) * gw
        v_w = b2 * v_w + (1 - b2) * gw * gw
        m_b = b1 * m_b + (1 - b1) * gb
        v_b = b2 * v_b + (1 - b2) * gb * gb
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        w -= lr * (m_w / c1) / (np.sqrt(v_w / c2) + eps)
        b -= lr * (m_b / c1) / (math.sqrt(v_b / c2) + eps)
    return w, b


def accuracy(gold, pred):
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def macro_f1(gold, pred):
    labels = sorted(set(gold) | set(pred))
    fs = []
    for c in labels:
        tp = sum(g == c and p == c for g, p in zip(gold, pred))
        ng, np_ = sum(g == c for g in gold), sum(p == c for p in pred)
        fs.append(2 * tp / (ng + np_) if ng + np_ else 0.0)
    return sum(fs) / len(fs)


LAMBDAS = [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4]


def classification_baselines(name, folder):
    train = read_jsonl(path(folder, "train.jsonl"))
    dev = read_jsonl(path(folder, "dev.jsonl"))
    labels = sorted({r["label"] for r in train})
    assert len(labels) == 2, labels
    counts = collections.Counter(r["label"] for r in train)
    majority = max(labels, key=lambda l: (counts[l], l))
    gold = [r["label"] for r in dev]
    maj_pred = [majority] * len(dev)

    # L2 strength chosen on a seeded 10% slice of TRAIN (never on dev), then refit on all of train.
    rng = np.random.RandomState(SEED)
    perm = rng.permutation(len(train))
    n_val = len(train) // 10
    val_idx, fit_idx = perm[:n_val], perm[n_val:]
    vec_sel = Tfidf([train[i]["text"] for i in fit_idx])
    Xall = vec_sel.transform([r["text"] for r in train])
    yall = np.array([float(r["label"] == labels[1]) for r in train])
    Xf, Xv = Xall.take(fit_idx), Xall.take(val_idx)
    sel = {}
    for lam in LAMBDAS:
        w, b = fit_logreg(Xf, yall[fit_idx], lam)
        sel[lam] = float(np.mean(((Xv.dot(w) + b) > 0) == (yall[val_idx] > 0.5)))
    best = max(LAMBDAS, key=lambda l: (sel[l], l))  # ties -> stronger penalty

    vec = Tfidf([r["text"] for r in train])
    X = vec.transform([r["text"] for r in train])
    w, b = fit_logreg(X, yall, best)
    z = vec.transform([r["text"] for r in dev]).dot(w) + b
    lr_pred = [labels[1] if s > 0 else labels[0] for s in z]
    return {
        "dev_file": f"{folder}/dev.jsonl",
        "n": len(dev),
        "n_train": len(train),
        "majority": {
            "description": f"always predict the most frequent train label ('{majority}')",
            "label": majority,
            "accuracy": r4(accuracy(gold, maj_pred)),
            "macro_f1": r4(macro_f1(gold, maj_pred)),
        },
        "bow_logreg": {
            "description": ("logistic regression on lower-cased unigram+bigram TF-IDF (sublinear tf, min_df 2, "
                            "L2-normalised rows), L2 penalty chosen on a seeded 10% slice of train, "
                            "300 full-batch Adam steps (lr 0.1) from zeros, fit on train"),
            "tokenisation": "lower-case; regex [\\w'-]+ | single non-space punctuation mark",
            "features": len(vec.vocab),
            "l2_lambda": best,
            "l2_selection_accuracy": {str(k): r4(v) for k, v in sel.items()},
            "accuracy": r4(accuracy(gold, lr_pred)),
            "macro_f1": r4(macro_f1(gold, lr_pred)),
        },
    }


# ---------------------------------------------------------------- NER (entity-ruler alone)

def bio_entities(tags):
    """seqeval (default, non-strict IOB2) chunks: set of (start, end_exclusive, type)."""
    out, begin, pt, ptype = [], 0, "O", ""
    for i, tag in enumerate(list(tags) + ["O"]):
        t, typ = ("O", "") if tag == "O" else (tag[0], tag[2:])
        end = pt in "ES" or (pt in "BI" and t in "BSO") or (pt not in "O." and ptype != typ)
        if end:
            out.append((begin, i, ptype))
        start = t in "BS" or (pt in "ESO" and t in "EI") or (t not in "O." and ptype != typ)
        if start:
            begin = i
        pt, ptype = t, typ
    return out


def wikigold_baseline():
    train = read_jsonl(path("ner", "wikigold", "train.jsonl"))
    dev = read_jsonl(path("ner", "wikigold", "dev.jsonl"))
    by_text = collections.defaultdict(collections.Counter)
    for r in train:
        for e in r["entities"]:
            by_text[e["text"]][e["label"]] += 1
    patterns, skipped = [], 0
    for text in sorted(by_text):
        words = text.split()
        if len(text) <= 1 or (text == text.lower() and all(w in STOPWORDS for w in words)):
            skipped += 1
            continue
        c = by_text[text]
        label = min(c, key=lambda l: (-c[l], l))  # most frequent type, ties alphabetical
        patterns.append({"label": label, "pattern": text})

    os.makedirs(SCRATCH, exist_ok=True)
    with open(os.path.join(SCRATCH, "patterns.jsonl"), "w", encoding="utf-8") as f:
        for p in patterns:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    with open(os.path.join(SCRATCH, "wikigold_dev_input.jsonl"), "w", encoding="utf-8") as f:
        for r in dev:
            f.write(json.dumps({"id": r["id"], "text": " ".join(r["tokens"])}, ensure_ascii=False) + "\n")
    pipeline = {
        "input": {"format": "jsonl", "path": "wikigold_dev_input.jsonl", "text_field": "text"},
        "output": {"path": "wikigold_dev_entities.jsonl"},
        "steps": [{"name": "entities", "plugin": "entity-ruler",
                   "options": {"patterns": "patterns.jsonl", "phrase_matcher_attr": "ORTH",
                               "overlap": "longest", "word_boundaries": True}}],
        "on_error": "fail",
    }
    pfile = os.path.join(SCRATCH, "entity-ruler-wikigold.json")
    with open(pfile, "w") as f:
        json.dump(pipeline, f, indent=2)
    if not os.access(NLPIPE, os.X_OK):
        sys.exit(f"{NLPIPE} not found: build it first (./configure && ninja)")
    out_file = os.path.join(SCRATCH, "wikigold_dev_entities.jsonl")
    if os.path.exists(out_file):
        os.remove(out_file)
    cmd = [NLPIPE, "run", pfile, "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"nlpipe run failed ({proc.returncode}): {proc.stderr}")
    outs = read_jsonl(out_file)
    assert len(outs) == len(dev), (len(outs), len(dev))

    tp = n_pred = n_gold = 0
    per = collections.defaultdict(lambda: [0, 0, 0])  # tp, pred, gold
    unaligned = 0
    for r, o in zip(dev, outs):
        assert o["id"] == r["id"] and "error" not in o, o
        toks = r["tokens"]
        text = " ".join(toks)
        assert text == r["text"] == o["text"]
        spans, pos = [], 0  # code-point offsets of each token in text
        for t in toks:
            spans.append((pos, pos + len(t)))
            pos += len(t) + 1
        pred = ["O"] * len(toks)
        for e in o["entities"]:
            cover = [i for i, (a, b) in enumerate(spans) if a < e["end"] and e["start"] < b]
            if not cover:
                continue
            if spans[cover[0]][0] != e["start"] or spans[cover[-1]][1] != e["end"]:
                unaligned += 1  # match inside a token (e.g. "Inc" in "Inc."): tag the whole tokens
            if any(pred[i] != "O" for i in cover):
                continue
            pred[cover[0]] = "B-" + e["entity_group"]
            for i in cover[1:]:
                pred[i] = "I-" + e["entity_group"]
        g, p = set(bio_entities(r["tags"])), set(bio_entities(pred))
        tp += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
        for s in g:
            per[s[2]][2] += 1
        for s in p:
            per[s[2]][1] += 1
        for s in g & p:
            per[s[2]][0] += 1

    def prf(t, np_, ng):
        pr, rc = (t / np_ if np_ else 0.0), (t / ng if ng else 0.0)
        return pr, rc, (2 * pr * rc / (pr + rc) if pr + rc else 0.0)

    P, R, F = prf(tp, n_pred, n_gold)
    ceiling = sum(1 for r in dev for e in r["entities"]
                  if any(p["pattern"] == e["text"] and p["label"] == e["label"] for p in patterns))
    return {
        "dev_file": "ner/wikigold/dev.jsonl",
        "n": len(dev),
        "description": ("entity-ruler alone: nlpipe entity-ruler (ORTH, overlap longest, word boundaries) with a "
                        "gazetteer of every distinct train entity string under its most frequent train type "
                        "(1-character and all-lower-case stop-word strings skipped); seqeval entity-level "
                        "exact span+type"),
        "command": "build/nlpipe run <scratch>/entity-ruler-wikigold.json --quiet",
        "patterns": len(patterns),
        "patterns_skipped": skipped,
        "gold_entities": n_gold,
        "pred_entities": n_pred,
        "correct": tp,
        "gold_entities_in_gazetteer_with_same_type": ceiling,
        "matches_not_on_token_boundaries": unaligned,
        "precision": r4(P),
        "recall": r4(R),
        "f1": r4(F),
        "per_type_f1": {k: r4(prf(*per[k])[2]) for k in sorted(per)},
    }


# ---------------------------------------------------------------- SQuAD v1.1

def squad_normalize(s):
    """Official SQuAD v1.1 normalize_answer."""
    s = s.lower()
    exclude = set(string.punctuation)
    s = "".join(ch for ch in s if ch not in exclude)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def squad_f1(pred, gold):
    p, g = squad_normalize(pred).split(), squad_normalize(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    pr, rc = same / len(p), same / len(g)
    return 2 * pr * rc / (pr + rc)


def squad_em(pred, gold):
    return float(squad_normalize(pred) == squad_normalize(gold))


def word_key(w):
    return re.sub(r"[^\w]", "", w.lower())


def squad_baseline(question, context, W):
    """Sliding-window word overlap.
    Context words = white-space separated tokens; a word's key = lower-cased, non-word characters removed.
    Question words = lower-cased \\w+ tokens of the question that are not stop words.
    Score of the window of W consecutive context words starting at i = number of distinct question words
    among its keys; the best window is the highest-scoring one, ties -> earliest.
    Answer = the longest run of consecutive words in that window whose keys are not question words
    (ties -> earliest), as the exact context substring; the whole window if there is no such word."""
    qwords = {w for w in re.findall(r"\w+", question.lower()) if w not in STOPWORDS}
    words = [(m.start(), m.end(), word_key(m.group())) for m in re.finditer(r"\S+", context)]
    if not words:
        return ""
    n = len(words)
    best, best_i = -1, 0
    for i in range(max(1, n - W + 1)):
        s = len({k for _, _, k in words[i:i + W] if k in qwords})
        if s > best:
            best, best_i = s, i
    win = words[best_i:best_i + W]
    run_a = run_len = 0
    a = None
    for j, (_, _, k) in enumerate(win + [(0, 0, None)]):
        if k is not None and k not in qwords:
            if a is None:
                a = j
        else:
            if a is not None and j - a > run_len:
                run_a, run_len = a, j - a
            a = None
    if run_len == 0:
        run_a, run_len = 0, len(win)
    span = win[run_a:run_a + run_len]
    return context[span[0][0]:span[-1][1]]


def squad_eval(recs, W):
    em = f1 = 0.0
    for r in recs:
        pred = squad_baseline(r["question"], r["context"], W)
        golds = [a["text"] for a in r["answers"]]
        em += max(squad_em(pred, g) for g in golds)
        f1 += max(squad_f1(pred, g) for g in golds)
    return em / len(recs), f1 / len(recs)


def squad_baselines():
    recs = read_jsonl(path("qa", "dev.jsonl"))
    assert all(r["answers"] for r in recs)
    W = 10
    em, f1 = squad_eval(recs, W)
    sweep = {}
    for w in (5, 20):
        e, f = squad_eval(recs, w)
        sweep[str(w)] = {"exact_match": r4(e), "f1": r4(f)}
    return {
        "dev_file": "qa/dev.jsonl",
        "n": len(recs),
        "description": ("sliding-window word overlap: the 10-word context window sharing most distinct non-stop-word "
                        "question words (ties earliest); answer = its longest run of words that are not question "
                        "words; official SQuAD v1.1 EM/F1, max over all gold answers"),
        "window_words": W,
        "exact_match": r4(em),
        "f1": r4(f1),
        "other_windows_for_reference": sweep,
    }


# ---------------------------------------------------------------- summarization (scitldr lead-1)

def rouge_tokens(s):
    """As nlpipe eval: maximal runs of ASCII letters/digits, lower-cased; everything else separates."""
    return [t.lower() for t in re.findall(r"[A-Za-z0-9]+", s)]


def rouge_n(p, g, n):
    cp = collections.Counter(tuple(p[i:i + n]) for i in range(len(p) - n + 1))
    cg = collections.Counter(tuple(g[i:i + n]) for i in range(len(g) - n + 1))
    o = sum((cp & cg).values())
    return fmeasure(o, sum(cp.values()), sum(cg.values()))


def rouge_l(p, g):
    prev = [0] * (len(g) + 1)
    for a in p:
        cur = [0]
        for j, b in enumerate(g, 1):
            cur.append(prev[j - 1] + 1 if a == b else max(prev[j], cur[j - 1]))
        prev = cur
    return fmeasure(prev[-1], len(p), len(g))


def fmeasure(common, np_, ng):
    pr, rc = (common / np_ if np_ else 0.0), (common / ng if ng else 0.0)
    return 2 * pr * rc / (pr + rc) if pr + rc else 0.0


def rouge_scores(pred, refs):
    p = rouge_tokens(pred)
    gs = [rouge_tokens(g) for g in refs]
    return (max(rouge_n(p, g, 1) for g in gs), max(rouge_n(p, g, 2) for g in gs), max(rouge_l(p, g) for g in gs))


def scitldr_baseline():
    recs = [r for r in read_jsonl(path("summarization", "dev.jsonl")) if r["source"] == "scitldr"]
    multi = np.zeros(3)
    author = np.zeros(3)
    for r in recs:
        lead = r["sentences"][0]
        multi += rouge_scores(lead, r["references"])
        author += rouge_scores(lead, [r["summary"]])
    multi /= len(recs)
    author /= len(recs)
    return {
        "dev_file": "summarization/dev.jsonl (source scitldr)",
        "n": len(recs),
        "description": ("lead-1: the abstract's first sentence (sentences[0]); ROUGE-1/2/L F1 (L = LCS over the "
                        "whole token sequence), max over the references, mean over documents"),
        "tokenisation": "maximal runs of ASCII letters/digits, lower-cased (no stemming, no stop-word removal), as nlpipe eval",
        "rouge1": r4(multi[0]),
        "rouge2": r4(multi[1]),
        "rougeL": r4(multi[2]),
        "against_author_tldr_only": {"rouge1": r4(author[0]), "rouge2": r4(author[1]), "rougeL": r4(author[2])},
    }


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "nlpipe-bert-mini", "baselines.json"))
    args = ap.parse_args()
    if not os.path.isdir(DATA):
        sys.exit(f"shared data not found at {DATA} (set NLPIPE_SHARED_DATA)")
    t0 = time.time()
    res = {}
    for key, fn in [("sst2", lambda: classification_baselines("sst2", "sentiment/sst2")),
                    ("subjectivity", lambda: classification_baselines("subjectivity", "classification/subjectivity")),
                    ("wikigold", wikigold_baseline),
                    ("squad_v1_dev", squad_baselines),
                    ("scitldr", scitldr_baseline)]:
        t = time.time()
        res[key] = fn()
        print(f"{key}: {time.time() - t:.1f} s", file=sys.stderr)
    res["_meta"] = {
        "script": "models/recipes/baselines.py",
        "command": "/usr/bin/python3 models/recipes/baselines.py",
        "seed": SEED,
        "scores": "fractions in [0, 1], dev sets of ../shared/data (see shared/data/README.md)",
    }
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2, ensure_ascii=False)
        f.write("\n")

    pc = lambda x: f"{100 * x:.1f}"
    rows = [
        ("SST-2", res["sst2"]["n"], "majority class", f"acc {pc(res['sst2']['majority']['accuracy'])}, macro-F1 {pc(res['sst2']['majority']['macro_f1'])}"),
        ("SST-2", res["sst2"]["n"], "BoW logistic regression", f"acc {pc(res['sst2']['bow_logreg']['accuracy'])}, macro-F1 {pc(res['sst2']['bow_logreg']['macro_f1'])}"),
        ("subjectivity", res["subjectivity"]["n"], "majority class", f"acc {pc(res['subjectivity']['majority']['accuracy'])}, macro-F1 {pc(res['subjectivity']['majority']['macro_f1'])}"),
        ("subjectivity", res["subjectivity"]["n"], "BoW logistic regression", f"acc {pc(res['subjectivity']['bow_logreg']['accuracy'])}, macro-F1 {pc(res['subjectivity']['bow_logreg']['macro_f1'])}"),
        ("wikigold NER", res["wikigold"]["n"], "entity-ruler alone (train gazetteer)", f"P {pc(res['wikigold']['precision'])}, R {pc(res['wikigold']['recall'])}, F1 {pc(res['wikigold']['f1'])}"),
        ("SQuAD v1.1 dev", res["squad_v1_dev"]["n"], "sliding window (10 words) word overlap", f"EM {pc(res['squad_v1_dev']['exact_match'])}, F1 {pc(res['squad_v1_dev']['f1'])}"),
        ("SciTLDR dev", res["scitldr"]["n"], "lead-1", f"R-1 {pc(res['scitldr']['rouge1'])}, R-2 {pc(res['scitldr']['rouge2'])}, R-L {pc(res['scitldr']['rougeL'])}"),
    ]
    print("| task (dev) | n | baseline | score |")
    print("|---|---:|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:,} | {r[2]} | {r[3]} |")
    print(f"\nwrote {os.path.relpath(args.out, ROOT)} in {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
