#!/usr/bin/python3
"""A tiny BERT, its WordPiece tokenizer and small labelled data sets for the
nlpipe train / eval tests (tests/test-train.c). Everything is made up here: the
vocabulary and sentences come from the word lists below, no shared data is copied.

    /usr/bin/python3 tests/gen/train/gen_fixture.py      (from the repository root)

Writes tests/fixtures/train/:
  tiny-bert/{config.json, model.safetensors (F32), tokenizer.json}   H=32, 2 layers, 4 heads
  cls-{train,dev}.jsonl   {"text","label"}, positive/negative by cue words
  ner-{train,dev}.jsonl   {"tokens","tags"} BIO over PER/LOC
  qa-{train,dev}.jsonl    {"question","context","answers":[{"text","start"}]}
  sum-{train,dev}.jsonl   {"document","summary"}
  bad-*.jsonl             one broken record each (missing / unknown label, span outside, empty)
  *.json                  training configs pointing at the above
"""
import json
import os
import random
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "train")
random.seed(7)
rng = np.random.default_rng(7)

POS = ["good", "great", "fine", "lovely", "superb", "happy", "bright"]
NEG = ["bad", "awful", "poor", "dull", "sad", "boring", "grim"]
FILL = ["the", "film", "was", "a", "story", "and", "it", "felt", "very", "quite", "plot", "actors",
        "music", "scenes", "ending", "really", "so", "this", "movie", "book", "is", "with", "of"]
NAMES = ["anna", "boris", "carla", "dmitri", "elena", "farid", "greta"]
PLACES = ["paris", "lima", "oslo", "cairo", "quito", "dakar", "kyoto"]
VERBS = ["visited", "left", "loved", "saw", "reached", "missed"]
EXTRA = ["who", "where", "did", "go", "what", "came", "from", "to", "in", "on", "then", "later",
         "morning", "evening", "train", "plane", "city", "town", "friend", "home", "?", ".", ",",
         "summary", "report", "meeting", "today", "news", "weather", "rain", "sun"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
words = sorted(set(POS + NEG + FILL + NAMES + PLACES + VERBS + EXTRA))
# a few pieces so that some words split into sub-tokens
pieces = ["##s", "##ed", "##ing", "##a", "##o", "##er", "ka", "ri", "##to", "##ri"]
vocab = SPECIAL + words + pieces + [c for c in "abcdefghijklmnopqrstuvwxyz"] + \
    ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
vocab_ids = {t: i for i, t in enumerate(vocab)}
os.makedirs(os.path.join(OUT, "tiny-bert"), exist_ok=True)


def special(tok):
    return {"id": vocab_ids[tok], "content": tok, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}


tokenizer = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [special(t) for t in SPECIAL],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                   "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {t: {"id": t, "ids": [vocab_ids[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]},
    },
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100, "vocab": vocab_ids},
}
with open(os.path.join(OUT, "tiny-bert", "tokenizer.json"), "w") as f:
    json.dump(tokenizer, f, indent=1)

H, L, NH, I, P = 32, 2, 4, 64, 128
config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(vocab),
          "hidden_size": H, "num_hidden_layers": L, "num_attention_heads": NH,
          "intermediate_size": I, "hidden_act": "gelu", "max_position_embeddings": P,
          "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
          "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
with open(os.path.join(OUT, "tiny-bert", "config.json"), "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")

T = {}


def w(name, *shape, s=0.2):
    T[name] = (rng.standard_normal(shape) * s).astype(np.float32)


w("bert.embeddings.word_embeddings.weight", len(vocab), H, s=0.5)
w("bert.embeddings.position_embeddings.weight", P, H, s=0.1)
w("bert.embeddings.token_type_embeddings.weight", 2, H, s=0.1)
T["bert.embeddings.LayerNorm.weight"] = np.ones(H, np.float32)
T["bert.embeddings.LayerNorm.bias"] = np.zeros(H, np.float32)
for l in range(L):
    p = f"bert.encoder.layer.{l}."
    for n, o, i in [("attention.self.query", H, H), ("attention.self.key", H, H),
                    ("attention.self.value", H, H), ("attention.output.dense", H, H),
                    ("intermediate.dense", I, H), ("output.dense", H, I)]:
        w(p + n + ".weight", o, i)
        w(p + n + ".bias", o, s=0.02)
    for n in ["attention.output.LayerNorm", "output.LayerNorm"]:
        T[p + n + ".weight"] = np.ones(H, np.float32)
        T[p + n + ".bias"] = np.zeros(H, np.float32)
w("bert.pooler.dense.weight", H, H)
w("bert.pooler.dense.bias", H, s=0.02)


def save_st(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        b = tensors[name].tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))


save_st(os.path.join(OUT, "tiny-bert", "model.safetensors"), T)


def jsonl(name, rows):
    with open(os.path.join(OUT, name), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def cls_rows(n):
    rows = []
    for _ in range(n):
        lab = random.choice(["positive", "negative"])
        cue = random.choice(POS if lab == "positive" else NEG)
        ws = random.sample(FILL, 5)
        ws.insert(random.randrange(6), cue)
        rows.append({"text": " ".join(ws), "label": lab})
    return rows


jsonl("cls-train.jsonl", cls_rows(80))
jsonl("cls-dev.jsonl", cls_rows(24))


def ner_rows(n):
    rows = []
    for _ in range(n):
        toks, tags = [], []
        for part in range(random.randint(1, 2)):
            name = random.choice(NAMES)
            if random.random() < 0.3:
                toks += [name, random.choice(NAMES)]
                tags += ["B-PER", "I-PER"]
            else:
                toks.append(name)
                tags.append("B-PER")
            toks.append(random.choice(VERBS)); tags.append("O")
            toks.append(random.choice(PLACES)); tags.append("B-LOC")
            if random.random() < 0.5:
                toks += [random.choice(["then", "later", "in"]), random.choice(["morning", "evening"])]
                tags += ["O", "O"]
        toks.append("."); tags.append("O")
        rows.append({"tokens": toks, "tags": tags, "text": " ".join(toks)})
    return rows


jsonl("ner-train.jsonl", ner_rows(60))
jsonl("ner-dev.jsonl", ner_rows(20))


def qa_rows(n):
    rows = []
    for _ in range(n):
        name, place = random.choice(NAMES), random.choice(PLACES)
        verb = random.choice(VERBS)
        other = random.choice([p for p in PLACES if p != place])
        ctx = f"{name} came from {other} . in the morning {name} {verb} {place} by train ."
        q = f"where did {name} go ?"
        start = ctx.index(f" {place} by") + 1
        rows.append({"question": q, "context": ctx, "answers": [{"text": place, "start": start}]})
    return rows


jsonl("qa-train.jsonl", qa_rows(40))
jsonl("qa-dev.jsonl", qa_rows(12))


def sum_rows(n):
    rows = []
    for _ in range(n):
        name, place = random.choice(NAMES), random.choice(PLACES)
        key = f"{name} visited {place} today ."
        fillers = [" ".join(random.sample(FILL, 6)) + " ." for _ in range(3)]
        sents = fillers[:]
        sents.insert(random.randrange(4), key)
        rows.append({"document": "\n".join(sents), "summary": f"{name} visited {place}"})
    return rows


jsonl("sum-train.jsonl", sum_rows(40))
jsonl("sum-dev.jsonl", sum_rows(12))

# broken sets: line numbers matter for the tests
good = cls_rows(4)
jsonl("bad-missing-label.jsonl", good[:2] + [{"text": "no label here"}] + good[2:])
jsonl("bad-unknown-label.jsonl", good[:3] + [{"text": "the film was fine", "label": "neutral"}])
open(os.path.join(OUT, "bad-empty.jsonl"), "w").close()
jsonl("bad-span.jsonl", [
    {"question": "where ?", "context": "anna left oslo .", "answers": [{"text": "oslo", "start": 10}]},
    {"question": "where ?", "context": "anna left oslo .", "answers": [{"text": "oslo", "start": 40}]}])

base = {"backbone": "tiny-bert", "output": "out/head", "training": {
    "epochs": 3, "batch_size": 8, "lr": 5e-3, "lr_backbone": 1e-3, "warmup_ratio": 0.1,
    "dropout": 0.1, "seed": 11, "patience": 5, "max_length": 32}}


def config(name, task, train, dev, head=None, **training):
    c = json.loads(json.dumps(base))
    c["task"] = task
    c["data"] = {"train": train, "dev": dev}
    if head:
        c["head"] = head
    c["training"].update(training)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")


config("cls.json", "text-classification", "cls-train.jsonl", "cls-dev.jsonl",
       {"type": "linear", "pooling": "pooler"})
config("cls-mlp.json", "text-classification", "cls-train.jsonl", "cls-dev.jsonl",
       {"type": "mlp", "pooling": "cls", "class_weights": "balanced"})
config("ner.json", "token-classification", "ner-train.jsonl", "ner-dev.jsonl")
config("ner-crf.json", "token-classification", "ner-train.jsonl", "ner-dev.jsonl", {"crf": True})
config("qa.json", "question-answering", "qa-train.jsonl", "qa-dev.jsonl", max_length=48, stride=16)
config("sum.json", "extractive-summary", "sum-train.jsonl", "sum-dev.jsonl", max_length=96)
config("bad-missing.json", "text-classification", "bad-missing-label.jsonl", "cls-dev.jsonl")
config("bad-unknown.json", "text-classification", "cls-train.jsonl", "bad-unknown-label.jsonl")
config("bad-empty.json", "text-classification", "bad-empty.jsonl", "cls-dev.jsonl")
config("bad-span.json", "question-answering", "bad-span.jsonl", "qa-dev.jsonl")
total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
print(OUT, total, "bytes")
