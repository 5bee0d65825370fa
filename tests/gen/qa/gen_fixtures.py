#!/usr/bin/env python3
"""Generates the qa plugin's fixtures (tests/fixtures/qa/) from text written here.

What it writes:
  tokenizer/   a small BERT WordPiece tokenizer (BertNormalizer, BertPreTokenizer, WordPiece,
               TemplateProcessing) whose vocabulary is built from CORPUS below: every word seen
               twice or more, a few suffixes, and every character alone and as "##c", so rare
               words split into pieces.
  bert-qa/     a random BertForQuestionAnswering (2 layers, hidden 32) made by the oracle's
               make_task_model.py on that tokenizer (head calibrated on CORPUS).
  cases.jsonl  the oracle's cases (question + context + HF options), one per line.
  expected.jsonl   what hf_pipelines.py returns for each case ({"id","output"|"error"}).
  decode.jsonl     cases for the plugin's span decoding alone: the oracle's windows (ids,
               offsets, word/sequence ids) with crafted or model logits and HF's answer for them
               (the oracle's --logits mode), replayed through a fake host by tests/test-qa.c.

Run from the repository root with Debian's python3 (torch) and a writable copy of the oracle:
  cp -r ../shared/oracle /tmp/oracle && (cd /tmp/oracle && npm ci)
  ORACLE=/tmp/oracle ORACLE_SHARED=$PWD/../shared /usr/bin/python3 tests/gen/qa/gen_fixtures.py
"""
import collections
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from wordpiece_json import bert_wordpiece_tokenizer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "qa")
ORACLE = os.environ.get("ORACLE", "/tmp/oracle")
PY = sys.executable

# Text written for these fixtures (no shared data): the vocabulary and calibration corpus.
CORPUS = """
The old lighthouse on Gull Point was built in 1872 by a shipwright named Tobias Merrow.
Its lamp burned whale oil for twenty years before the harbour board changed it to kerosene.
Merrow lived in a small stone cottage beside the tower with his daughter Ada and three goats.
Every winter the storms from the north sea broke against the rocks below the cottage.
Ada Merrow kept the logbook, writing down each ship that passed and the weather of the day.
In 1901 the lighthouse keeper was given a brass telescope by the captain of the Silver Heron.
The Silver Heron was a cargo ship that carried wool and salt between Port Amble and Kessington.
The town of Port Amble has a market on Saturday where farmers sell cheese, apples and honey.
The river Wend flows through Kessington and reaches the sea near the old lighthouse.
A stone bridge with seven arches crosses the river in the middle of the town.
The bridge was repaired in 1955 after a flood carried away two of its arches.
The library of Kessington holds the logbooks of the lighthouse and many old maps of the coast.
The librarian, Mr. Pell, says the oldest map was drawn in 1788 by a monk from the abbey.
Children from the school visit the library every spring to read about the lighthouse.
The abbey stands on a hill east of the town and its bell can be heard from the harbour.
Monks at the abbey brew a dark beer and grow herbs in a walled garden.
The garden has thyme, sage, mint and rosemary, and a pear tree planted in 1820.
Visitors walk from the harbour to the abbey along a path that follows the river.
The walk takes about two hours and passes a mill, a farm and a small wood of oak trees.
The mill grinds wheat and barley for the bakers of Kessington and Port Amble.
The baker on Fish Street opens at five in the morning and sells bread until noon.
Her name is Greta Holm and she learned to bake from her grandmother in Norway.
Greta says the secret of good bread is time, salt and a very hot oven.
The harbour of Port Amble has room for forty boats and a crane for heavy cargo.
Fishermen leave before dawn and come back in the afternoon with cod, crab and mackerel.
The fish market opens at three and closes when the last crate is sold.
A ferry crosses from Port Amble to the island of Skellan twice a day in summer.
Skellan has a population of about two hundred people and one shop.
The island is known for its puffins, its cliffs and a ruined castle from the twelfth century.
The castle was held by the Lord of Skellan until a fire destroyed the great hall.
Today the castle belongs to a trust that repairs its walls and guides visitors.
The trust was founded in 1967 by a teacher named Elsa Rowan and her brother Tom.
Elsa Rowan wrote a book about the birds of Skellan and the history of the castle.
Tom Rowan was an engineer who designed the new pier for the ferry in 1974.
The pier is made of concrete and steel and is two hundred metres long.
The weather on the coast changes quickly, and sailors watch the clouds over the hills.
When the wind turns to the east, rain usually follows within a few hours.
The lighthouse was automated in 1989 and no keeper has lived there since.
The cottage is now a small museum with the telescope, the logbooks and a model of the Silver Heron.
The museum is open from April to October, and entry is free for children.
"""

QUESTIONS = """
Who built the lighthouse?
When was the lighthouse built?
What did the lamp burn?
Where does the river Wend flow?
Who is the librarian?
What does the ferry cross to?
Who founded the trust?
What is the pier made of?
When was the bridge repaired?
What do the monks brew?
"""

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SUFFIXES = ["##s", "##ed", "##ing", "##er", "##ly", "##tion", "##es", "##en", "##ow"]


def pre_tokenize(text):
    """BertPreTokenizer on lowercased ASCII text: whitespace split, punctuation isolated."""
    return re.findall(r"\w+|[^\w\s]", text.lower())


def build_vocab():
    counts = collections.Counter(pre_tokenize(CORPUS + QUESTIONS))
    # Frequent words and short ones are whole tokens; long rare ones ("shipwright") split.
    words = sorted(w for w, c in counts.items() if len(w) > 1 and (c >= 2 or len(w) <= 6))
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789") | {c for c in CORPUS.lower() if not c.isspace()})
    vocab = list(SPECIALS)
    vocab += [c for c in chars if c not in vocab]
    vocab += ["##" + c for c in chars if c.isalnum()]
    vocab += [s for s in SUFFIXES if s not in vocab]
    vocab += [w for w in words if w not in vocab]
    return vocab


def write_tokenizer(folder, vocab):
    os.makedirs(folder, exist_ok=True)
    tok = bert_wordpiece_tokenizer(vocab, SPECIALS)
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": True, "model_max_length": 128, "tokenizer_class": "BertTokenizerFast",
                   "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
                   "mask_token": "[MASK]", "padding_side": "right", "truncation_side": "right"}, f, indent=2)


def make_model(out, seed, corpus_file):
    """The oracle's make_task_model.py with an extra, smaller size (2 layers, hidden 32)."""
    code = ("import sys; sys.path.insert(0, %r); import make_task_model as m; "
            "m.models.mm.SIZES['qa-micro'] = (2, 32, 2, 64); sys.argv = sys.argv[1:]; m.main()" % ORACLE)
    subprocess.run([PY, "-c", code, "make_task_model.py", "--task", "question-answering", "--out", out,
                    "--size", "qa-micro", "--seed", str(seed), "--tokenizer", os.path.join(OUT, "tokenizer"),
                    "--max-position", "128", "--model-max-length", "128", "--corpus", corpus_file,
                    "--calib-sentences", "40"], check=True, cwd=ORACLE)
    for junk in ("model_info.json",):
        p = os.path.join(out, junk)
        if os.path.exists(p):
            os.remove(p)


SHORT = ("The old lighthouse on Gull Point was built in 1872 by a shipwright named Tobias Merrow. "
         "Its lamp burned whale oil for twenty years.")
TOWN = ("The town of Port Amble has a market on Saturday where farmers sell cheese, apples and honey. "
        "The river Wend flows through Kessington and reaches the sea near the old lighthouse. "
        "A stone bridge with seven arches crosses the river in the middle of the town. "
        "The bridge was repaired in 1955 after a flood carried away two of its arches. "
        "The library of Kessington holds the logbooks of the lighthouse and many old maps of the coast. "
        "The librarian, Mr. Pell, says the oldest map was drawn in 1788 by a monk from the abbey.")
ISLAND = ("A ferry crosses from Port Amble to the island of Skellan twice a day in summer. "
          "Skellan has a population of about two hundred people and one shop. "
          "The island is known for its puffins, its cliffs and a ruined castle from the twelfth century. "
          "The castle was held by the Lord of Skellan until a fire destroyed the great hall. "
          "Today the castle belongs to a trust that repairs its walls and guides visitors. "
          "The trust was founded in 1967 by a teacher named Elsa Rowan and her brother Tom. "
          "Elsa Rowan wrote a book about the birds of Skellan and the history of the castle. "
          "Tom Rowan was an engineer who designed the new pier for the ferry in 1974. "
          "The pier is made of concrete and steel and is two hundred metres long.")
ACCENTS = ("Greta Holm bakes at the Café Ødegård on Fish Street ☕ from five until noon; "
           "her grandmother taught her in Tromsø, and Zoë Brück sells the bread.")

# (id, question, context, HF options). Windows: max_seq_len tokens, doc_stride overlap.
CASES = [
    ("short-default", "Who built the lighthouse?", SHORT, {}),
    ("short-top3", "When was the lighthouse built?", SHORT, {"top_k": 3}),
    ("short-answer-len1", "Who built the lighthouse?", SHORT, {"max_answer_len": 1, "top_k": 2}),
    ("short-answer-len3", "What did the lamp burn?", SHORT, {"max_answer_len": 3}),
    ("short-no-align", "Who built the lighthouse?", SHORT, {"align_to_words": False, "top_k": 3}),
    ("short-impossible", "Who built the lighthouse?", SHORT, {"handle_impossible_answer": True}),
    ("short-impossible-top4", "What is it?", SHORT, {"handle_impossible_answer": True, "top_k": 4}),
    ("town-default", "Where does the river Wend flow?", TOWN, {}),
    ("town-windows", "Who is the librarian?", TOWN, {"max_seq_len": 32, "doc_stride": 8}),
    ("town-windows-top5", "Who is the librarian?", TOWN, {"max_seq_len": 32, "doc_stride": 8, "top_k": 5}),
    ("town-stride2", "When was the bridge repaired?", TOWN, {"max_seq_len": 24, "doc_stride": 2, "top_k": 2}),
    ("town-stride-big", "When was the bridge repaired?", TOWN, {"max_seq_len": 40, "doc_stride": 20}),
    ("town-windows-impossible", "What do the monks brew?", TOWN,
     {"max_seq_len": 32, "doc_stride": 8, "handle_impossible_answer": True, "top_k": 3}),
    ("island-default", "Who founded the trust?", ISLAND, {}),
    ("island-seq64", "What is the pier made of?", ISLAND, {"max_seq_len": 64, "doc_stride": 16, "top_k": 2}),
    ("island-seq48-len5", "What does the ferry cross to?", ISLAND,
     {"max_seq_len": 48, "doc_stride": 12, "max_answer_len": 5, "top_k": 3}),
    ("island-question-len", "Who founded the trust?", ISLAND, {"max_seq_len": 48, "max_question_len": 4}),
    ("accents", "Where did her grandmother teach her?", ACCENTS, {"top_k": 3}),
    ("accents-windows", "Who sells the bread?", ACCENTS, {"max_seq_len": 20, "doc_stride": 4, "top_k": 2}),
]


def oracle(args, stdin=None):
    r = subprocess.run([PY, os.path.join(ORACLE, "hf_pipelines.py")] + args, input=stdin, check=True,
                       capture_output=True, text=True, cwd=ORACLE)
    return r.stdout


def write_cases(model):
    lines = [json.dumps({"id": i, "task": "question-answering", "model": model,
                         "inputs": {"question": q, "context": c}, "options": o}, ensure_ascii=False)
             for i, q, c, o in CASES]
    out = oracle(["cases", "-", "--dump"], "\n".join(lines) + "\n")
    cases, expected, decode = [], [], []
    for (i, q, c, o), line in zip(CASES, out.splitlines()):
        rec = json.loads(line)
        assert rec["id"] == i and "output" in rec, rec
        cases.append({"id": i, "question": q, "context": c, "options": o})
        expected.append({"id": i, "output": rec["output"]})
        dbg = rec["debug"][0]
        wins = [{"ids": w["ids"], "offsets": w["offsets"],
                 "word_ids": [-1 if x is None else x for x in w["word_ids"]],
                 "sequence_ids": [-1 if x is None else x for x in w["sequence_ids"]]} for w in dbg["windows"]]
        decode.append({"id": i, "question": q, "context": c, "options": o, "windows": wins,
                       "logits": dbg["logits"], "output": rec["output"]})
        print(f"{i}: {len(wins)} windows", file=sys.stderr)
    return cases, expected, decode


def crafted(decode):
    """Hand-set logits on the oracle's own windows, HF's answer from --logits mode:
    "crafted-second-window": a two-word answer only in the second window (window 1 only
    starts logits there); "crafted-merged": the same word best in windows 0 and 1 (its
    scores add up across windows); both with top_k 2."""
    base = next(d for d in decode if d["id"] == "town-windows")
    w0, w1 = base["windows"][0], base["windows"][1]
    ctx0 = {tuple(o) for sq, o in zip(w0["sequence_ids"], w0["offsets"]) if sq == 1}
    only1 = [k for k, (sq, o) in enumerate(zip(w1["sequence_ids"], w1["offsets"]))
             if sq == 1 and tuple(o) not in ctx0]
    shared = [k for k, (sq, o) in enumerate(zip(w1["sequence_ids"], w1["offsets"]))
              if sq == 1 and tuple(o) in ctx0]
    both_offsets = tuple(w1["offsets"][shared[len(shared) // 2]])
    k0 = next(k for k, o in enumerate(w0["offsets"]) if tuple(o) == both_offsets and w0["sequence_ids"][k] == 1)
    k1 = next(k for k, o in enumerate(w1["offsets"]) if tuple(o) == both_offsets and w1["sequence_ids"][k] == 1)
    plans = {"crafted-second-window": [(1, only1[2], only1[3], 5.0)],
             "crafted-merged": [(0, k0, k0, 3.0), (1, k1, k1, 3.0)]}
    out = []
    rng = random.Random(7)  # distinct small base logits: no ties for numpy to order
    for name, plan in plans.items():
        logits = [{"start": [round(rng.uniform(-1, 1), 4) for _ in w["ids"]],
                   "end": [round(rng.uniform(-1, 1), 4) for _ in w["ids"]]} for w in base["windows"]]
        for win, ks, ke, value in plan:
            logits[win]["start"][ks] = value
            logits[win]["end"][ke] = value
        opts = dict(base["options"], top_k=2)
        lf = os.path.join(OUT, "logits.tmp.json")
        with open(lf, "w") as f:
            json.dump(logits, f)
        res = json.loads(oracle(["question-answering", os.path.join(OUT, "bert-qa"), "--question", base["question"],
                                 "--context", base["context"], "--max-seq-len", str(opts["max_seq_len"]),
                                 "--doc-stride", str(opts["doc_stride"]), "--top-k", "2", "--logits", lf]))
        os.remove(lf)
        print(name, res, file=sys.stderr)
        out.append(dict(base, id=name, options=opts, logits=logits, output=res))
    return out


def write_jsonl(name, rows):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    vocab = build_vocab()
    write_tokenizer(os.path.join(OUT, "tokenizer"), vocab)
    corpus_file = os.path.join(OUT, "corpus.txt")
    with open(corpus_file, "w", encoding="utf-8") as f:
        f.write(CORPUS.strip() + "\n")
    make_model(os.path.join(OUT, "bert-qa"), 5, corpus_file)
    os.remove(corpus_file)
    cases, expected, decode = write_cases(os.path.join(OUT, "bert-qa"))
    decode += crafted(decode)
    write_jsonl("cases.jsonl", cases)
    write_jsonl("expected.jsonl", expected)
    write_jsonl("decode.jsonl", decode)
    print(f"vocab {len(vocab)} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()
