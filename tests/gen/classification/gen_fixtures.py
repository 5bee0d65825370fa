#!/usr/bin/python3
"""Fixtures for the classification, sentiment and summarization plugins
(tests/test-classification.c, test-sentiment.c, test-summarization.c, test-shared-pass.c).

Run from the repository root with Debian's python (python3-torch 1.13 + numpy) and a
writable copy of the HF pipelines oracle (../shared/oracle, `npm ci` done):

    ORACLE_DIR=/path/to/oracle-copy ORACLE_SHARED=/path/to/shared \
        /usr/bin/python3 tests/gen/classification/gen_fixtures.py

What it writes under tests/fixtures/classification/ (nothing here comes from the shared
data: the vocabulary is built from the text in this file):
  tokenizer/        a WordPiece tokenizer.json (BertNormalizer, BertPreTokenizer,
                    WordPiece, TemplateProcessing) + vocab.txt over our own words
  bert-*/           random HF-layout BertForSequenceClassification models made by the
                    oracle's make_task_model.py (hidden 32, 2 layers; calibrated heads):
                    softmax over 3 labels, multi-label sigmoid, regression (1 label),
                    and a 2-label head with no label names (LABEL_0/LABEL_1)
  distilbert-3/, roberta-3/, electra-2/
                    the other heads (pre_classifier; classifier.dense/out_proj with
                    tanh / gelu), made with tests/gen/encoder's torch re-implementation
  expected.jsonl    one case per line: {"id","model","input","options","output"} with
                    `output` what HF's text-classification pipeline returns for that one
                    input inside a batch (hf_pipelines.py), and "logits" (PyTorch, per
                    window) for the heads-vs-PyTorch check. Window cases use
                    {"max_length","stride"} (the pipeline's models.<m> keys) and an
                    "aggregation": their expectation is computed here from the PyTorch
                    logits of each HF overflow window (mean / max / first) and the
                    oracle's post-processing (tc_postprocess).
"""
import json, os, shutil, subprocess, sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures", "classification")
ORACLE = os.environ.get("ORACLE_DIR") or sys.exit("set ORACLE_DIR to a writable oracle copy")
sys.path.insert(0, ORACLE)
sys.path.insert(0, os.path.join(ROOT, "tests", "gen", "encoder"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from wordpiece_json import bert_wordpiece_tokenizer  # noqa: E402

# ------------------------------------------------------------------ our own text
CORPUS = """
The film was wonderful and the actors were brilliant. I loved every minute of it.
The service was terrible, the food was cold and the waiter was rude. We will not return.
It was an ordinary day. Nothing good or bad happened at the office.
Dr. Smith arrived at 3.5 p.m. and said the results were excellent!
Mr. Jones bought a new car. It broke down after two days... What a disaster?
The committee approved the budget for the new library, and construction starts in spring.
Rain is expected tomorrow across the northern region, with strong winds near the coast.
This product is great value: fast delivery, solid build and a friendly support team.
The update made the phone slow and the battery drains quickly. Very disappointing.
Scientists found a small planet orbiting a distant star; the discovery surprised everyone.
The river flooded the valley, and farmers lost most of their crops this year.
Our team won the final match after a long season of hard training.
She said, "The museum opens at nine." Then she left the room quietly.
Prices rose sharply in March, but analysts expect them to fall again soon.
The children played in the park while their parents talked about school, work and holidays.
Is this the best book of the year? Many readers think so, and the critics agree.
The hotel room was dirty and noisy, although the view of the sea was beautiful.
A quiet village, a green hill, an old church and a bridge over a slow river.
I am not sure whether the plan will work, but we should try it anyway.
Happy, sad, angry, calm, excited, bored, awful, amazing, horrible, pleasant, fine, okay.
The question is whether the answer follows from the premise or contradicts it.
Does the second sentence entail the first one? Yes, no, maybe, neutral, positive, negative.
One two three four five six seven eight nine ten hundred thousand first second third last.
Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February April May June July.
"""
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SUFFIXES = ["s", "ed", "ing", "ly", "er", "est", "ion", "al", "ness", "ful", "less", "able"]


def build_vocab():
    import re
    words = sorted(set(re.findall(r"[a-z]+", CORPUS.lower())))
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789") | set(".,;:!?'\"()-…/&%$"))
    vocab = list(SPECIALS) + chars + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab += ["##" + s for s in SUFFIXES]
    vocab += [w for w in words if w not in vocab]
    return vocab


def write_tokenizer(out):
    os.makedirs(out, exist_ok=True)
    vocab = build_vocab()
    tj = bert_wordpiece_tokenizer(vocab, SPECIALS)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizerFast"}, f,
                  indent=2)
    return len(vocab)


# ------------------------------------------------------------------ models
def make_bert(name, seed, labels, problem_type):
    out = os.path.join(FIX, name)
    shutil.rmtree(out, ignore_errors=True)
    code = ("import sys, make_task_model as m; m.models.mm.SIZES['fixture'] = (2, 32, 2, 64); "
            "sys.argv = ['make_task_model.py'] + sys.argv[1:]; m.main()")
    cmd = [sys.executable, "-c", code, "--task", "text-classification", "--out", out, "--seed", str(seed),
           "--size", "fixture", "--tokenizer", os.path.join(FIX, "tokenizer"), "--labels", labels,
           "--problem-type", problem_type, "--max-position", "128"]
    subprocess.run(cmd, check=True, cwd=ORACLE, stdout=subprocess.DEVNULL)
    os.remove(os.path.join(out, "model_info.json"))
    # HF writes no id2label names for an unnamed head: keep LABEL_i (what config gives)
    return out


def make_other(name, seed, model_type, num_labels, vocab_size):
    import gen_fixtures as enc  # tests/gen/encoder
    if model_type == "distilbert":
        cfg = {"model_type": "distilbert", "vocab_size": vocab_size, "dim": 32, "n_layers": 2, "n_heads": 4,
               "hidden_dim": 48, "activation": "gelu", "max_position_embeddings": 128, "pad_token_id": 0,
               "sinusoidal_pos_embds": False, "dropout": 0.1, "attention_dropout": 0.1,
               "seq_classif_dropout": 0.2, "initializer_range": 0.02}
        arch = "DistilBertForSequenceClassification"
    else:
        extra = {"roberta": dict(model_type="roberta", type_vocab_size=1, layer_norm_eps=1e-5,
                                 max_position_embeddings=130, pad_token_id=0),
                 "electra": dict(model_type="electra", embedding_size=24)}[model_type]
        cfg = enc.bert_cfg(vocab_size=vocab_size, hidden_size=32, num_attention_heads=4, num_hidden_layers=2,
                           intermediate_size=48, max_position_embeddings=128)
        cfg.update(extra)
        arch = {"roberta": "RobertaForSequenceClassification", "electra": "ElectraForSequenceClassification"}[
            model_type]
    labels = ["neg", "neu", "pos"][:num_labels] if num_labels == 3 else ["LABEL_0", "LABEL_1"]
    cfg["num_labels"] = num_labels
    cfg["id2label"] = {str(i): l for i, l in enumerate(labels)}
    cfg["label2id"] = {l: i for i, l in enumerate(labels)}
    cfg["architectures"] = [arch]
    g = torch.Generator().manual_seed(seed)
    model = enc.Wrapped(cfg, arch).eval()
    enc.rich_init(model, g)
    with torch.no_grad():  # tame the random head so scores are not all 0/1
        head = model.classifier.out_proj if model_type in ("roberta", "electra") else model.classifier
        head.weight.mul_(0.3)
    out = os.path.join(FIX, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    enc.write_safetensors(os.path.join(out, "model.safetensors"), model.hf_state_dict())
    for fn in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(FIX, "tokenizer", fn), os.path.join(out, fn))
    return out, model


class TorchRunner:
    """The tests/gen/encoder model as a runner of one window (logits, float32)."""

    def __init__(self, model):
        self.model = model

    def __call__(self, win):
        t = lambda k: torch.tensor([win[k]], dtype=torch.long)  # noqa: E731
        with torch.no_grad():
            return self.model(t("ids"), t("type_ids"), t("attention_mask"))["logits"].float().numpy()


# ------------------------------------------------------------------ cases
TEXTS = [
    "The film was wonderful and the actors were brilliant.",
    "The service was terrible and the food was cold.",
    "It was an ordinary day at the office.",
    "Is this the best book of the year?",
    "Rain is expected tomorrow, with strong winds near the coast!",
    "Zebras éclair unknownword 42",
]
PAIRS = [
    {"text": "The question is whether the answer follows.", "text_pair": "Yes, the answer follows from the premise."},
    {"text": "The hotel room was dirty.", "text_pair": "The view of the sea was beautiful."},
]
LONG = ("The children played in the park while their parents talked about school, work and holidays. "
        "The river flooded the valley, and farmers lost most of their crops this year. "
        "Our team won the final match after a long season of hard training. "
        "Prices rose sharply in March, but analysts expect them to fall again soon.")
TOPK_VARIANTS = [{}, {"top_k": 1}, {"top_k": 2}, {"top_k": None}]
FUNC_VARIANTS = [{"function_to_apply": "softmax"}, {"function_to_apply": "sigmoid"},
                 {"function_to_apply": "none"}, {"function_to_apply": "sigmoid", "top_k": None}]


def main():
    import hf_pipelines as hp
    os.makedirs(FIX, exist_ok=True)
    vsize = write_tokenizer(os.path.join(FIX, "tokenizer"))
    models = {
        "bert-softmax3": make_bert("bert-softmax3", 11, "NEGATIVE,NEUTRAL,POSITIVE", "single_label_classification"),
        "bert-multilabel": make_bert("bert-multilabel", 12, "toxic,insult,threat", "multi_label_classification"),
        "bert-regression": make_bert("bert-regression", 13, "score", "regression"),
        "bert-unnamed2": make_bert("bert-unnamed2", 14, "LABEL_0,LABEL_1", "none"),
    }
    runners = {}
    for name, mt, nl, seed in (("distilbert-3", "distilbert", 3, 21), ("roberta-3", "roberta", 3, 22),
                               ("electra-2", "electra", 2, 23)):
        models[name], m = make_other(name, seed, mt, nl, vsize)
        runners[name] = TorchRunner(m)

    def runner(name):
        return runners.get(name) or hp.get_model(models[name])

    def cfg_of(name):
        with open(os.path.join(models[name], "config.json")) as f:
            return json.load(f)

    def post(name, row, opts):
        cfg = cfg_of(name)
        id2label = {int(k): v for k, v in cfg["id2label"].items()}
        pp = hp.tc_sanitize_parameters(None, opts.get("function_to_apply"), opts.get("top_k", hp._TOPK_UNSET), cfg)
        pp.setdefault("top_k", 1)
        pp.setdefault("_legacy", True)
        return hp.tc_postprocess(row, id2label, cfg.get("problem_type"), pp.get("function_to_apply"), pp["top_k"],
                                 pp["_legacy"], cfg)

    cases = []

    def add(name, inp, opts, extra=None):
        tok = hp.get_tokenizer(models[name])
        text, pair = (inp["text"], inp.get("text_pair")) if isinstance(inp, dict) else (inp, None)
        win = tok.encode(text, pair, return_overflowing=False)[0]
        logits = np.asarray(runner(name)(win), dtype=np.float32).reshape(-1)
        if name in runners:
            out = post(name, logits, opts)
        else:  # the full oracle pipeline, one input inside a batch of one
            kw = {k: v for k, v in opts.items()}
            if "top_k" not in kw:
                kw["top_k"] = hp._TOPK_UNSET
            out = hp.text_classification(models[name], [inp], **kw)[0]
            # and the same post-processing from our logits path
            assert json.dumps(out) == json.dumps(post(name, logits, opts)), (name, inp, opts)
        c = {"id": f"c{len(cases):03d}", "model": name, "input": inp, "options": opts, "output": out,
             "logits": [logits.tolist()]}
        if extra:
            c.update(extra)
        cases.append(c)

    for name in models:
        for t in TEXTS:
            add(name, t, {})
    for t in TEXTS[:3]:
        for o in TOPK_VARIANTS[1:] + FUNC_VARIANTS:
            add("bert-softmax3", t, o)
    for t in TEXTS[:3]:
        for o in ({"top_k": None}, {"top_k": 2}, {"function_to_apply": "softmax"}):
            add("bert-multilabel", t, o)
        add("bert-regression", t, {"top_k": None})
        add("bert-regression", t, {"function_to_apply": "sigmoid"})
        add("bert-unnamed2", t, {"top_k": None})
    for p in PAIRS:
        for name in ("bert-softmax3", "distilbert-3", "electra-2"):  # roberta: type_vocab_size 1
            add(name, p, {})
        add("bert-softmax3", p, {"top_k": None})

    # windows: HF overflow windows (longest_first, max_length, stride), logits per window
    for name in ("bert-softmax3", "distilbert-3"):
        tok = hp.get_tokenizer(models[name])
        for max_length, stride in ((16, 4), (24, 8)):
            wins = tok.encode(LONG, None, truncation={"max_length": max_length, "strategy": "longest_first",
                                                      "stride": stride, "direction": "right"},
                              return_overflowing=True)
            rows = np.stack([np.asarray(runner(name)(w), dtype=np.float32).reshape(-1) for w in wins])
            for agg in ("mean", "max", "first"):
                row = {"mean": rows.mean(0), "max": rows.max(0), "first": rows[0]}[agg].astype(np.float32)
                for opts in ({}, {"top_k": None}):
                    cases.append({"id": f"c{len(cases):03d}", "model": name, "input": LONG,
                                  "options": dict(opts, aggregation=agg), "output": post(name, row, opts),
                                  "logits": rows.tolist(), "max_length": max_length, "stride": stride,
                                  "windows": len(wins)})
    with open(os.path.join(FIX, "expected.jsonl"), "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases, vocab {vsize}")


if __name__ == "__main__":
    main()
