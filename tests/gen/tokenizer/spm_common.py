"""What the SentencePiece .model fixture generators share (gen_spm_bpe.py,
gen_spm_unigram.py): the training corpus and test strings (all made here, no outside
text), training with the real sentencepiece library, the library's output for each
string as a fixture case, and the one ModelProto edit the trainer cannot make.

A case is {"model", "text", "ids", "pieces", "offsets"}; offsets are the immutable
proto's begin/end in code points (the surface each piece covers in the text), as
tests/test-tokenizer.c reads them.
"""
import io, json, os, random

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
FIX = os.path.join(ROOT, 'tests', 'fixtures', 'tokenizer')
CASES = 300  # strings per model

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


def sentences(texts=(), words=()):
    """TEXTS and a model's own TEXTS, then deterministic mixes of corpus words, unseen
    words, odd characters and the model's own WORDS, up to CASES strings."""
    rnd = random.Random(7)
    pool = (" ".join(SUBJ + VERB + OBJ + ADV)).split() + [
        "unseen", "qwzx", "Δέλτα", "北京", "🙂", "🤖", "ß", "Œuvre", "ﬁnal", "①", "\t", "\u00a0",
        "x\u0301", "ǅ", "İ", "\u200b", "—", "…", "₂", "™"] + list(words)
    out = list(TEXTS) + list(texts)
    assert len(out) < CASES
    while len(out) < CASES:
        k = rnd.randint(1, 12)
        sep = rnd.choice([" ", " ", " ", "  ", "", "\t", " \n"])
        out.append(sep.join(rnd.choice(pool) for _ in range(k)))
    return out


# ---------------------------------------------------------------- the library's output
def train(model_type, extra):
    """A model's serialized ModelProto, trained on corpus()."""
    buf = io.BytesIO()
    # One thread, no shuffling or sampling: the same corpus gives the same model bytes.
    # sentence_iterator + model_writer keep file paths out of the stored trainer_spec.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=buf, model_type=model_type,
        character_coverage=0.9995, num_threads=1, shuffle_input_sentence=False,
        input_sentence_size=0, minloglevel=2, **extra)
    return buf.getvalue()


def save(name, data):
    with open(os.path.join(FIX, name + ".model"), "wb") as f:
        f.write(data)


def cases(name, data, texts):
    """What SentencePieceProcessor.encode makes of each text with model DATA."""
    sp = spm.SentencePieceProcessor(model_proto=data)
    out = []
    for text in texts:
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
        out.append({"model": name, "text": text, "ids": ids, "pieces": pieces, "offsets": offs})
    return out


def write_cases(file, all_cases):
    with open(os.path.join(FIX, file), "w", encoding="utf-8") as f:
        for c in all_cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- ModelProto edit
# Just enough of the protobuf wire format to retype pieces: Debian's
# python3-sentencepiece ships sentencepiece_model_pb2 but not the protobuf runtime it
# imports, and the trainer has no option for UNUSED pieces.
def _varint(b, i):
    v = s = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7f) << s
        s += 7
        if not x & 0x80:
            return v, i


def _put_varint(v):
    out = bytearray()
    while True:
        x, v = v & 0x7f, v >> 7
        out.append(x | 0x80 if v else x)
        if not v:
            return bytes(out)


def _fields(b):
    """(field number, payload of a length-delimited field or None, raw bytes) of B."""
    i = 0
    while i < len(b):
        start = i
        key, i = _varint(b, i)
        wt, payload = key & 7, None
        if wt == 0:
            _, i = _varint(b, i)
        elif wt in (1, 5):
            i += 8 if wt == 1 else 4
        elif wt == 2:
            n, i = _varint(b, i)
            payload, i = b[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wt}")
        yield key >> 3, payload, b[start:i]


def retype(data, pieces, new_type):
    """DATA with the NORMAL pieces named in PIECES given type NEW_TYPE (ModelProto
    .pieces = field 1; SentencePiece .piece = 1, .type = 3, absent when NORMAL)."""
    out, seen = bytearray(), set()
    for num, payload, raw in _fields(data):
        if num == 1:
            sub = list(_fields(payload))
            piece = next(p for n, p, _ in sub if n == 1).decode()
            if piece in pieces:
                assert all(n != 3 for n, _, _ in sub), f"{piece} is not a NORMAL piece"
                body = b"".join(r for _, _, r in sub) + _put_varint(3 << 3) + _put_varint(new_type)
                raw = _put_varint(1 << 3 | 2) + _put_varint(len(body)) + body
                seen.add(piece)
        out += raw
    assert seen == set(pieces), f"not in the model: {set(pieces) - seen}"
    return bytes(out)
