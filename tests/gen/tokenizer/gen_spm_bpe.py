#!/usr/bin/python3
"""Generates the SentencePiece BPE fixtures under tests/fixtures/tokenizer/.

nlpipe reads SentencePiece .model files of type BPE (model_type 2) by hand; this
trains tiny BPE models with the real sentencepiece library on a corpus built here
(no outside text) and records what sentencepiece itself makes of our test strings,
so tests/test-tokenizer.c can compare ids, pieces and offsets exactly:

  spm-bpe-bytefallback.model  vocab 400, byte_fallback on, user-defined <sep>
  spm-bpe-unk.model           vocab 300, byte_fallback off (unknowns -> <unk>)
  cases-spm-bpe.jsonl         the two above, 300 cases each
  spm-bpe-unused.model        vocab 400, byte_fallback on, user-defined <sep> ™ ﬁ, then
                              some pieces retyped UNUSED (type 5, as the library's
                              SetVocabulary / spm_encode --vocabulary marks pieces
                              outside a vocabulary; the trainer has no option for it):
                              merges go through them, the library then splits them back
  cases-spm-bpe-unused.jsonl  its 300 cases

A case is {"model", "text", "ids", "pieces", "offsets"} (spm_common.py). Needs
Debian's python3-sentencepiece, hence /usr/bin/python3 (the build and the tests never
need Python). Usage, from the repository root:

  /usr/bin/python3 tests/gen/tokenizer/gen_spm_bpe.py
"""
import spm_common as C

MODELS = [
    ("spm-bpe-bytefallback", dict(vocab_size=400, byte_fallback=True, user_defined_symbols=["<sep>"])),
    ("spm-bpe-unk", dict(vocab_size=300, byte_fallback=False)),
]

UNUSED_BASE = dict(vocab_size=400, byte_fallback=True, user_defined_symbols=["<sep>", "™", "ﬁ"])
# Pieces the library would otherwise choose: final pieces of frequent words ("▁the",
# "or"), intermediate ones that longer pieces are merged through ("he" in "▁the",
# "ers" in "mbers", "ev" in "▁every"; "▁the" from "▁th" is split twice), and single
# characters ("k", "é": SetVocabulary keeps those NORMAL, but a model that has them
# UNUSED still gets them, there being nothing to split them into).
UNUSED = ["▁the", "▁th", "he", "or", "ers", "ev", "k", "é"]
UNUSED_TEXTS = [
    "the", "The", "the other teacher", "there these those", "them then thee", "th", "he", "she",
    "heh", "or", "for work or world", "orders", "members remembers", "ers", "every evening",
    "ev eve evev", "k", "kk kkk", "look back", "é", "café résumé", "éé", "<sep>the<sep>",
    "the™", "™ the ﬁ", "ﬁrst ﬁers", "teachers' reports", "Hello world",
]
UNUSED_WORDS = ["the", "other", "worker", "members", "every", "thorn", "kéy", "ﬁ", "™", "<sep>"]


def main():
    cases = []
    for name, extra in MODELS:
        data = C.train("bpe", extra)
        C.save(name, data)
        cases += C.cases(name, data, C.sentences())
    C.write_cases("cases-spm-bpe.jsonl", cases)
    data = C.retype(C.train("bpe", UNUSED_BASE), UNUSED, 5)
    C.save("spm-bpe-unused", data)
    unused = C.cases("spm-bpe-unused", data, C.sentences(UNUSED_TEXTS, UNUSED_WORDS))
    C.write_cases("cases-spm-bpe-unused.jsonl", unused)
    print(f"{len(cases) + len(unused)} cases, {len(MODELS) + 1} models")


if __name__ == "__main__":
    main()
