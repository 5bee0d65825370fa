#!/usr/bin/env python3
"""Generates the ner plugin's test fixtures (tests/fixtures/ner/) from text written for
them (corpus.txt, inputs.jsonl beside this script), with the HF pipelines oracle.

  ORACLE=/path/to/writable/oracle-copy [ORACLE_SHARED=../shared] /usr/bin/python3 tests/gen/ner/gen_fixtures.py

(ORACLE: a copy of ../shared/oracle with `npm ci` done; /usr/bin/python3 = Debian's, with
torch.) Run from the repository root. Writes:

  tests/fixtures/ner/tokenizer/      a WordPiece tokenizer.json + vocab.txt whose vocabulary
                                     is built from corpus.txt (a few hundred tokens; some words
                                     deliberately left out so that they split into ##pieces,
                                     CJK characters left out so that they become [UNK])
  tests/fixtures/ner/bert-ner-bio/   BertForTokenClassification, hidden 32, 1 layer, BIO labels
  tests/fixtures/ner/bert-ner-bioes/ the same shape with BIOES labels (S-/E- tags)
  tests/fixtures/ner/expected.jsonl  one line per (input, model, strategy, window settings):
                                     {"id","model","text","aggregation_strategy","ignore_labels",
                                      "max_length","stride","output"} with the oracle's output.

The models are tiny random BERTs (make_task_model.py, "rich" init, calibrated so that every
label wins for some tokens); only their post-processing matters here, not their accuracy.
"""
import json
import os
import re
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from wordpiece_json import bert_wordpiece_tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "ner")
ORACLE = os.environ.get("ORACLE") or sys.exit("set ORACLE to a writable copy of ../shared/oracle")
PY = "/usr/bin/python3"
# the oracle finds shared/bench/peers (its BERT body and writer) through ORACLE_SHARED
ENV = dict(os.environ, ORACLE_SHARED=os.environ.get("ORACLE_SHARED", os.path.join(ROOT, "..", "shared")))

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Words kept out of the vocabulary so that they split into pieces (subword cases).
SPLIT_WORDS = {"kristiansand", "trondheim", "stavanger", "svensson", "mensah", "okafor", "kingsbridge",
               "walking", "talking", "singing", "builders", "building", "buildings", "players",
               "played", "greenland", "northwind", "bluefield", "meridian", "odessa", "karimi"}
PIECES = ["##ing", "##er", "##ers", "##s", "##ed", "##land", "##sand", "##heim", "##son", "##ah",
          "##or", "##bridge", "##wind", "##field", "##ian", "##ssa", "##imi", "##ng", "##ger",
          "##ki", "##ka", "##ri", "##an", "##en", "##el", "##a", "##e", "##o", "##i"]


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def words_of(text):
    text = strip_accents(text.lower())
    return re.findall(r"\w+|[^\w\s]", text)


def make_tokenizer(folder):
    with open(os.path.join(HERE, "corpus.txt"), encoding="utf-8") as f:
        corpus = f.read()
    with open(os.path.join(HERE, "inputs.jsonl"), encoding="utf-8") as f:
        inputs = [json.loads(line)["text"] for line in f if line.strip()]
    words = set()
    for line in [corpus] + inputs:
        for w in words_of(line):
            if not w.isascii():
                continue  # CJK and other scripts: [UNK]
            words.add(w)
    chars = sorted({c for w in words for c in w})
    vocab = list(SPECIALS)
    vocab += chars
    vocab += ["##" + c for c in chars if c.isalnum()]
    vocab += PIECES
    vocab += sorted(w for w in words if w not in SPLIT_WORDS and len(w) > 1)
    seen, uniq = set(), []
    for t in vocab:
        if t not in seen:
            seen.add(t)
            uniq.append(t)
    vocab = uniq
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    tj = bert_wordpiece_tokenizer(vocab, SPECIALS)
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=1)
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": True, "model_max_length": 128, "tokenizer_class": "BertTokenizer"}, f)
    return len(vocab)


def make_model(out, labels, seed):
    """make_task_model.py with a smaller shape than its smallest ("tiny" = hidden 128)."""
    code = f"""
import sys
sys.path.insert(0, {ORACLE!r})
import models
models.mm.SIZES["nano"] = (1, 32, 2, 64)
import make_task_model
sys.argv = ["make_task_model.py", "--task", "token-classification", "--out", {out!r}, "--size", "nano",
            "--seed", "{seed}", "--labels", {labels!r}, "--tokenizer", {os.path.join(OUT, "tokenizer")!r},
            "--corpus", {os.path.join(HERE, "corpus.txt")!r}, "--max-position", "128",
            "--calib-sentences", "45"]
make_task_model.main()
"""
    subprocess.run([PY, "-c", code], check=True, cwd=ORACLE, env=ENV)
    # model_info.json records the oracle's absolute paths; keep only what is portable.
    os.remove(os.path.join(out, "model_info.json"))


def oracle(model, text, strategy, ignore_labels, max_length, stride):
    args = [PY, "hf_pipelines.py", "token-classification", model, "--text", text]
    if strategy is not None:
        args += ["--aggregation-strategy", strategy]
    if ignore_labels is not None:
        args += ["--ignore-labels", ",".join(ignore_labels)]
    if stride is not None:
        args += ["--stride", str(stride)]
    if max_length is not None:
        args += ["--model-max-length", str(max_length)]
    r = subprocess.run(args, check=True, cwd=ORACLE, env=ENV, capture_output=True, text=True)
    return json.loads(r.stdout)


def main():
    n = make_tokenizer(os.path.join(OUT, "tokenizer"))
    print(f"vocabulary: {n} tokens", file=sys.stderr)
    bio = "O,B-PER,I-PER,B-LOC,I-LOC,B-ORG,I-ORG,B-MISC,I-MISC"
    bioes = "O,B-PER,I-PER,E-PER,S-PER,B-LOC,I-LOC,E-LOC,S-LOC,B-ORG,I-ORG,E-ORG,S-ORG"
    models = {"bert-ner-bio": (bio, 11), "bert-ner-bioes": (bioes, 12)}
    for name, (labels, seed) in models.items():
        make_model(os.path.join(OUT, name), labels, seed)
    with open(os.path.join(HERE, "inputs.jsonl"), encoding="utf-8") as f:
        inputs = [json.loads(line) for line in f if line.strip()]
    lines = []
    for case in inputs:
        for strategy in case.get("strategies", ["none", "simple", "first", "average", "max"]):
            for model in case.get("models", ["bert-ner-bio"]):
                ml, st = case.get("max_length"), case.get("stride")
                if strategy == "none" and st is not None:
                    continue  # HF refuses stride with aggregation "none"
                out = oracle(os.path.join(OUT, model), case["text"], strategy, case.get("ignore_labels"), ml, st)
                lines.append({"id": f"{case['id']}/{model}/{strategy}", "model": model, "text": case["text"],
                              "aggregation_strategy": strategy, "ignore_labels": case.get("ignore_labels"),
                              "max_length": ml, "stride": st, "output": out})
    with open(os.path.join(OUT, "expected.jsonl"), "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} expectations", file=sys.stderr)


if __name__ == "__main__":
    main()
