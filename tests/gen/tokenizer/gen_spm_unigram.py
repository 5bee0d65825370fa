#!/usr/bin/python3
"""Generates the SentencePiece Unigram fixtures under tests/fixtures/tokenizer/.

nlpipe reads SentencePiece .model files of type Unigram (model_type 1) by hand; this
trains a tiny Unigram model with user-defined pieces with the real sentencepiece
library on a corpus built here (no outside text) and records what sentencepiece
itself makes of our test strings, so tests/test-tokenizer.c can compare ids, pieces
and offsets exactly:

  spm-unigram-user.model      vocab 600, byte_fallback on, user-defined <sep> <mask>
                              ing ™ ﬁ: the library's normalizer passes them through
                              unnormalized (™ and ﬁ would become TM and fi) and its
                              Viterbi finds them inside the normalized text, dummy
                              prefix and whitespace as for any other text. Then "an"
                              and "em" retyped USER_DEFINED, as when pieces are added
                              to a trained model: normal pieces contain them, so the
                              Viterbi weighs them against those with the library's
                              score for them (max score x length - 0.1), and does not
                              always take them
  cases-spm-unigram.jsonl     its 300 cases

A case is {"model", "text", "ids", "pieces", "offsets"} (spm_common.py). Needs
Debian's python3-sentencepiece, hence /usr/bin/python3 (the build and the tests never
need Python). Usage, from the repository root:

  /usr/bin/python3 tests/gen/tokenizer/gen_spm_unigram.py
"""
import spm_common as C

USER = ["<sep>", "<mask>", "ing", "™", "ﬁ"]
MODEL = dict(vocab_size=600, hard_vocab_limit=False, byte_fallback=True, user_defined_symbols=USER)
ADDED = ["an", "em"]  # NORMAL pieces made USER_DEFINED after training
# Inside words, at word starts and ends, alone, adjacent to each other and to
# whitespace, repeated, in their normalized look-alikes (TM, fi, ｉｎｇ), cut (<se p>).
TEXTS = [
    "ing", " ing ", "ingot", "sing", "singing", "ringing bells", "Meaning anything",
    "reading writing building", "king-size thing", "INGOT Ing iNg", "ｉｎｇ", "in g", "inng",
    "™", "™™", "Brand™", "Brand™ name", "™ leading", "TM", "T M", "the 2024™ results™.",
    "ﬁ", "ﬁﬁ", "ﬁnal", "ﬁnal ﬁre", "fi ﬁ", "ofﬁce", "ﬁ™", "ﬁing",
    "<mask>", "<mask><mask>", "a<mask>b", "the <mask> reads", "<mask>ing", "<sep><mask>",
    "<mask> <sep>", "<sep>\t<sep>", "a  <sep>  b", " <sep> ", "<sep>x", "x<sep>y", "<SEP>",
    "<sep>ing™ﬁ<mask>", "singing<sep>ringing", "The cat<sep>reads<mask>the report™.",
    "<<sep>>", "<sep", "sep>", "<mask<sep>", "ing<sep>ing", "\u3000<sep>\u3000",
    # where a score of 0 instead of the library's would choose the added piece
    "cang", "cani", "reme", "vem", "cang cani reme vem", "an", "em", "and them", "many meanings",
]
WORDS = USER + ADDED + ["singing", "morning", "ﬁnal", "Brand™", "x<sep>y", "cang", "reme"]


def main():
    data = C.retype(C.train("unigram", MODEL), ADDED, 4)
    C.save("spm-unigram-user", data)
    cases = C.cases("spm-unigram-user", data, C.sentences(TEXTS, WORDS))
    C.write_cases("cases-spm-unigram.jsonl", cases)
    print(f"{len(cases)} cases, 1 model")


if __name__ == "__main__":
    main()
