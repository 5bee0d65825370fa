#!/usr/bin/python3
"""A tiny BERT (and a RoBERTa and a DistilBERT), tokenizers and small labelled data sets for the
nlpipe train / eval tests (tests/test-train.c). Everything is made up here: the
vocabulary and sentences come from the word lists below, no shared data is copied.

    /usr/bin/python3 tests/gen/train/gen_fixture.py      (from the repository root)

Writes tests/fixtures/train/:
  tiny-bert/{config.json, model.safetensors (F32), tokenizer.json}   H=32, 2 layers, 4 heads
  tiny-roberta/, tiny-distilbert/   the same sizes in those architectures' layouts (a bare
                          RobertaModel with a byte-level BPE tokenizer; a DistilBertForMaskedLM
                          with tiny-bert's tokenizer), for --unfreeze-top on them
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
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from safetensors_f32 import write_f32  # noqa: E402
from wordpiece_json import bert_wordpiece_tokenizer  # noqa: E402

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
os.makedirs(os.path.join(OUT, "tiny-bert"), exist_ok=True)


tokenizer = bert_wordpiece_tokenizer(vocab, SPECIAL)
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

BERT_LINEARS = [("attention.self.query", H, H), ("attention.self.key", H, H),
                ("attention.self.value", H, H), ("attention.output.dense", H, H),
                ("intermediate.dense", I, H), ("output.dense", H, I)]
BERT_NORMS = ["attention.output.LayerNorm", "output.LayerNorm"]


def rand(gen, *shape, s=0.2):
    return (gen.standard_normal(shape) * s).astype(np.float32)


def encoder_weights(gen, prefix, layers, linears, norms, n_vocab, n_pos, n_types, ln_jitter=0.0):
    """Random encoder tensors under HF names: word, position (and token-type) tables and
    their LayerNorm, then per layer each Linear (weight, bias) and LayerNorm. LayerNorms
    are the identity unless LN_JITTER > 0 (then gamma 1 + j N(0,1), beta j N(0,1))."""
    T = {}

    def norm(name):
        if ln_jitter:
            T[name + ".weight"] = 1 + rand(gen, H, s=ln_jitter)
            T[name + ".bias"] = rand(gen, H, s=ln_jitter)
        else:
            T[name + ".weight"] = np.ones(H, np.float32)
            T[name + ".bias"] = np.zeros(H, np.float32)

    T[prefix + "embeddings.word_embeddings.weight"] = rand(gen, n_vocab, H, s=0.5)
    T[prefix + "embeddings.position_embeddings.weight"] = rand(gen, n_pos, H, s=0.1)
    if n_types:
        T[prefix + "embeddings.token_type_embeddings.weight"] = rand(gen, n_types, H, s=0.1)
    norm(prefix + "embeddings.LayerNorm")
    for l in range(L):
        p = f"{prefix}{layers}{l}."
        for n, o, i in linears:
            T[p + n + ".weight"] = rand(gen, o, i)
            T[p + n + ".bias"] = rand(gen, o, s=0.02)
        for n in norms:
            norm(p + n)
    return T


T = encoder_weights(rng, "bert.", "encoder.layer.", BERT_LINEARS, BERT_NORMS, len(vocab), P, 2)
T["bert.pooler.dense.weight"] = rand(rng, H, H)
T["bert.pooler.dense.bias"] = rand(rng, H, s=0.02)


def save_st(path, tensors):
    write_f32(path, tensors, {"format": "pt"})


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

# ---- tiny RoBERTa and DistilBERT backbones (same sizes), each with its own generator so
# that the files above do not depend on them. Their LayerNorms are not the identity, so
# that a LayerNorm read from the wrong tensor shows in the tests.
def bytes_to_unicode():
    """GPT-2's byte -> printable character map of byte-level BPE."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def write_model(name, config, tensors, tokenizer):
    os.makedirs(os.path.join(OUT, name), exist_ok=True)
    with open(os.path.join(OUT, name, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, name, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, indent=1)
    save_st(os.path.join(OUT, name, "model.safetensors"), tensors)


# RoBERTa: a bare RobertaModel checkpoint (no "roberta." prefix, with its pooler), pad id 1
# so that positions start at row 2, one token type; byte-level BPE as roberta-base's
# tokenizer.json (no prefix space: a text's first word splits into bytes). Every data word
# after a space is one token: the merges build "Ġ" + word left to right.
b2u = bytes_to_unicode()
r_specials = ["<s>", "<pad>", "</s>", "<unk>"]
r_vocab = r_specials + [b2u[b] for b in range(256)]
r_merges = []
for word in words:
    piece = b2u[32] + word
    for k in range(2, len(piece) + 1):
        if piece[:k] not in r_vocab:
            r_merges.append(piece[:k - 1] + " " + piece[k - 1])
            r_vocab.append(piece[:k])
r_vocab.append("<mask>")
r_ids = {t: i for i, t in enumerate(r_vocab)}
r_tokenizer = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": r_ids[t], "content": t, "single_word": False, "lstrip": t == "<mask>",
                      "rstrip": False, "normalized": False, "special": True}
                     for t in r_specials + ["<mask>"]],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                       "trim_offsets": True, "add_prefix_space": False},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
              "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
              "vocab": r_ids, "merges": r_merges},
}
r_config = {"architectures": ["RobertaModel"], "model_type": "roberta", "vocab_size": len(r_vocab),
            "hidden_size": H, "num_hidden_layers": L, "num_attention_heads": NH,
            "intermediate_size": I, "hidden_act": "gelu", "max_position_embeddings": P + 2,
            "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1, "bos_token_id": 0,
            "eos_token_id": 2, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
gen = np.random.default_rng(8)
RT = encoder_weights(gen, "", "encoder.layer.", BERT_LINEARS, BERT_NORMS, len(r_vocab), P + 2, 1,
                     ln_jitter=0.1)
RT["pooler.dense.weight"] = rand(gen, H, H)
RT["pooler.dense.bias"] = rand(gen, H, s=0.02)
write_model("tiny-roberta", r_config, RT, r_tokenizer)

# DistilBERT: a DistilBertForMaskedLM checkpoint ("distilbert." prefix, no token types,
# its MLM head's tensors, which training must carry over untouched; vocab_projector.weight
# is tied to the word embeddings and not stored), the WordPiece tokenizer of tiny-bert.
d_config = {"architectures": ["DistilBertForMaskedLM"], "model_type": "distilbert",
            "vocab_size": len(vocab), "dim": H, "n_layers": L, "n_heads": NH, "hidden_dim": I,
            "activation": "gelu", "max_position_embeddings": P, "pad_token_id": 0,
            "sinusoidal_pos_embds": False, "dropout": 0.1, "attention_dropout": 0.1}
gen = np.random.default_rng(9)
DT = encoder_weights(gen, "distilbert.", "transformer.layer.",
                     [("attention.q_lin", H, H), ("attention.k_lin", H, H), ("attention.v_lin", H, H),
                      ("attention.out_lin", H, H), ("ffn.lin1", I, H), ("ffn.lin2", H, I)],
                     ["sa_layer_norm", "output_layer_norm"], len(vocab), P, 0, ln_jitter=0.1)
DT["vocab_transform.weight"] = rand(gen, H, H)
DT["vocab_transform.bias"] = rand(gen, H, s=0.02)
DT["vocab_layer_norm.weight"] = 1 + rand(gen, H, s=0.1)
DT["vocab_layer_norm.bias"] = rand(gen, H, s=0.1)
DT["vocab_projector.bias"] = rand(gen, len(vocab), s=0.02)
write_model("tiny-distilbert", d_config, DT, tokenizer)

total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
print(OUT, total, "bytes")
