#!/usr/bin/python3
"""Generates the SentencePiece BPE fixtures under tests/fixtures/tokenizer/.

nlpipe reads SentencePiece .model files of type BPE (model_type 2) by hand; this
trains two tiny BPE models with the real sentencepiece library on a corpus built
here (no outside text) and records what sentencepiece itself makes of our test
strings, so tests/test-tokenizer.c can compare ids, pieces and offsets exactly:

  spm-bpe-bytefallback.model  vocab 400, byte_fallback on, user-defined <sep>
  spm-bpe-unk.model           vocab 300, byte_fallback off (unknowns -> <unk>)
  cases-spm-bpe.jsonl         {"model", "text", "ids", "pieces", "offsets"} per case;
                              offsets are the immutable proto's begin/end in code
                              points (the surface each piece covers in the text).

Needs Debian's python3-sentencepiece, hence /usr/bin/python3 (the build and the tests
never need Python). Usage, from the repository root:

  /usr/bin/python3 tests/gen/tokenizer/gen_spm_bpe.py
"""
import io, json, os, random

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
FIX = os.path.join(ROOT, 'tests', 'fixtures', 'tokenizer')

# ---------------------------------------------------------------- training corpus
# Sentences assembled from our own word lists with a fixed seed: enough repetition
# for BPE merges, a few accented / CJK / Cyrillic words so those characters get
# pieces too, and some characters deliberately absent (emoji, most CJK) so the
# byte-fallback and <unk> paths are exercised at encode time.
SUBJ = ["the cat", "a dog", "my neighbour", "the old teacher", "our team", "the engineer",
        "a café owner", "the naïve student", "Zoë", "the committee", "Renée", "the tokenizer"]
VERB = ["reads", "writes", "builds", "tests", "compares", "merges", "encodes", "loves",
        "ignores", "measures", "translates", "remembers"]
OBJ = ["the long report", "three small models", "every piece", "a crème brûlée",
       "the résumé", "ten thousand words", "its own vocabulary", "the 2024 results",
       "東京 and 日本", "Привет мир", "the straße signs", "numbers like 42 and 1999"]
ADV = ["quickly", "slowly", "again", "every morning", "without errors", "at night",
       "in Paris", "twice", "carefully", "for fun"]


def corpus():
    rnd = random.Random(20240611)
    lines = []
    for _ in range(3000):
        s = f"{rnd.choice(SUBJ)} {rnd.choice(VERB)} {rnd.choice(OBJ)}"
        if rnd.random() < 0.6:
            s += " " + rnd.choice(ADV)
        s = s[0].upper() + s[1:] + rnd.choice([".", ".", "!", "?", ";"])
        if rnd.random() < 0.1:
            s += f" ({rnd.randint(0, 9999)})"
        lines.append(s)
    return lines


# ---------------------------------------------------------------- test strings
TEXTS = [
    "", " ", "  ", "\t", "\n", "x", "A", "!", ".", "▁", "▁▁x", "Hello world", "Hello world!",
    "hello   world", "  leading and trailing  ", "The cat reads the long report quickly.",
    "A dog builds three small models at night!", "Our team tests every piece again?",
    "the the the the the", "The The THE tHe", "Hello, how are you? I'm fine, thanks.",
    "Don't stop believin'", "It's 3:45pm on 2024-01-15.", "naïve café résumé",
    "Crème brûlée à la française", "ÀÉÎÕÜ àéîõü ñ Ñ ç Ç", "Ångström Øresund Łódź",
    "e\u0301 vs \u00e9", "a\u0308\u0301x", "Zoë's coöperation", "İstanbul ıi", "straße STRASSE",
    "ﬁ ﬂ ﬀ ligatures", "東京は日本の首都です。", "我爱北京天安门", "한국어 텍스트 처리",
    "日本語とEnglishの混在", "中文，标点！", "東京 and 日本", "Привет мир", "Привет, мир!",
    "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "Tiếng Việt có dấu", "😀 😃 😄", "emoji 👍🏽 skin", "family 👨‍👩‍👧‍👦 zwj", "flags 🇫🇷🇩🇪",
    "I ❤️ NY", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math", "😀", "😀😀😀", "a😀b", " 😀 ", "tab\tseparated\tvalues",
    "new\nline", "cr\r\nlf", "no\u00a0break space", "ideographic\u3000space", "line\u2028separator",
    "next\u0085line", "thin\u2009space", "zero\u200bwidth", "joiner\u200djoined", "bom\ufeffinside",
    "soft\u00adhyphen", "ctrl\u0001char\u0007bell", "nul\u0000byte", "del\u007fchar",
    "esc\u001b[0m", "replacement \ufffd char", "private \ue000 use", "\u0001", "\u0000",
    "https://www.example.com/path?q=1&x=y#frag", "mail me at john.doe@example.org",
    "C:\\Users\\name\\file.txt", "<html><body>Hi</body></html>", "def f(x): return x**2 + 1",
    "$100.00 €50 £20 ¥1000", "50% off!!!", "1234567890", "0", "42", "1999 2024 10000",
    "3.14159 2.71828", "½ ¼ ²³ ⅓", "①②③ Ⅻ", "１２３ ＡＢＣ ｶﾀｶﾅ", "supercalifragilisticexpialidocious",
    "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 120, "ab" * 60 + " end", "the" * 40, "x" * 300, "😀" * 20, "東" * 30,
    "...", "?!?!", "(parenthesis) [brackets] {braces}",
    "\"quotes\" 'single' «guillemets» “curly”", "em—dash en–dash", "hash#tag @mention",
    "snake_case camelCase kebab-case", "UPPER lower MiXeD",
    "The quick brown fox jumps over the lazy dog.", "I saw a girl with a telescope.",
    "<s> tags </s> <unk> <pad>", "<sep>", "a<sep>b", "one <sep> two", "<sep><sep>",
    "x<sep>", "<se p>", "   ", "\n\n", "..., ;; ::", " \t \n x \r\n y \u3000 ",
    "Renée translates the résumé carefully.", "The engineer measures ten thousand words in Paris.",
]


def sentences():
    """TEXTS plus deterministic mixes of corpus words, unseen words and odd characters."""
    rnd = random.Random(7)
    pool = (" ".join(SUBJ + VERB + OBJ + ADV)).split() + [
        "unseen", "qwzx", "Δέλτα", "北京", "🙂", "🤖", "ß", "Œuvre", "ﬁnal", "①", "\t", "\u00a0",
        "x\u0301", "ǅ", "İ", "\u200b", "—", "…", "₂", "™"]
    out = list(TEXTS)
    while len(out) < 300:
        k = rnd.randint(1, 12)
        sep = rnd.choice([" ", " ", " ", "  ", "", "\t", " \n"])
        out.append(sep.join(rnd.choice(pool) for _ in range(k)))
    return out


# ---------------------------------------------------------------- models
MODELS = [
    ("spm-bpe-bytefallback", dict(vocab_size=400, byte_fallback=True, user_defined_symbols=["<sep>"])),
    ("spm-bpe-unk", dict(vocab_size=300, byte_fallback=False)),
]


def train(extra):
    buf = io.BytesIO()
    # One thread, no shuffling or sampling: the same corpus gives the same model bytes.
    # sentence_iterator + model_writer keep file paths out of the stored trainer_spec.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=buf, model_type="bpe",
        character_coverage=0.9995, num_threads=1, shuffle_input_sentence=False,
        input_sentence_size=0, minloglevel=2, **extra)
    return buf.getvalue()


def main():
    cases = []
    for name, extra in MODELS:
        data = train(extra)
        with open(os.path.join(FIX, name + ".model"), "wb") as f:
            f.write(data)
        sp = spm.SentencePieceProcessor(model_proto=data)
        for text in sentences():
            ids = sp.encode(text, out_type=int)
            pieces = sp.encode(text, out_type=str)
            proto = sp.encode(text, out_type="immutable_proto")
            assert [p.id for p in proto.pieces] == ids
            # The C library's begin/end are UTF-8 byte offsets; the Python wrapper (0.1.97)
            # already turns them into code points. Checking every surface against the
            # text proves which one we got, whatever the installed version does.
            offs = [[p.begin, p.end] for p in proto.pieces]
            if any(text[a:b] != p.surface for (a, b), p in zip(offs, proto.pieces)):
                b = text.encode("utf-8")
                offs = [[len(b[:p.begin].decode()), len(b[:p.end].decode())] for p in proto.pieces]
            assert all(text[a:b] == p.surface for (a, b), p in zip(offs, proto.pieces)), text
            cases.append({"model": name, "text": text, "ids": ids, "pieces": pieces, "offsets": offs})
    with open(os.path.join(FIX, "cases-spm-bpe.jsonl"), "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases, {len(MODELS)} models")


if __name__ == "__main__":
    main()
