#!/usr/bin/env python3
"""Generates the tokenizer test fixtures under tests/fixtures/tokenizer/.

1. Writes small tokenizer.json files of our own (tiny-*.json) covering components the
   shared bert/gpt2 files do not use (Unigram + Metaspace, byte-fallback BPE with
   Prepend/Replace normalizers, Split regex + ByteLevel without regex, Roberta
   processing, WordPiece after NFD/StripAccents/Strip with Whitespace/Punctuation/
   Digits pre-tokenizers, WordLevel after NFKC).
2. Runs our own test strings through Hugging Face `tokenizers` (Rust, npm bindings)
   via the oracle helper tok.mjs (windows cut by the Rust 0.22 rules, see its README)
   and writes cases-*.jsonl: request + expected encodings.

Only OUR strings are written; the shared tokenizer files are read from the shared data
at generation time and referenced as "shared:<folder>" (the tests load them from
$NLPIPE_SHARED_DATA). Usage (from the repository root):

  ORACLE_DIR=/path/to/writable/copy/of/shared/oracle   # with `npm ci` done
  python3 tests/gen/tokenizer/gen_fixtures.py [--shared ../shared/data]
"""
import argparse, json, os, subprocess, sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
FIX = os.path.join(ROOT, 'tests', 'fixtures', 'tokenizer')

# ---------------------------------------------------------------- our test strings
TEXTS = [
    "", " ", "Hello world", "Hello world!", "hello   world", "  leading and trailing  ",
    "Hello, how are you? I'm fine, thanks.", "Don't stop believin'", "It's 3:45pm on 2024-01-15.",
    "naïve café résumé", "Crème brûlée à la française", "ÀÉÎÕÜ àéîõü ñ Ñ ç Ç", "Ångström Øresund Łódź",
    "e\u0301 vs \u00e9", "a\u0308\u0301x", "Zoë's coöperation", "İstanbul ıi", "straße STRASSE", "ﬁ ﬂ ﬀ ligatures",
    "東京は日本の首都です。", "我爱北京天安门", "한국어 텍스트 처리", "日本語とEnglishの混在", "中文，标点！",
    "😀 😃 😄", "emoji 👍🏽 skin", "family 👨‍👩‍👧‍👦 zwj", "flags 🇫🇷🇩🇪", "I ❤️ NY", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math",
    "tab\tseparated\tvalues", "new\nline", "cr\r\nlf", "no\u00a0break space", "ideographic\u3000space",
    "line\u2028separator", "next\u0085line", "thin\u2009space", "zero\u200bwidth", "joiner\u200djoined",
    "bom\ufeffinside", "soft\u00adhyphen", "ctrl\u0001char\u0007bell", "nul\u0000byte", "replacement \ufffd char",
    "private \ue000 use", "https://www.example.com/path?q=1&x=y#frag", "mail me at john.doe@example.org",
    "C:\\Users\\name\\file.txt", "<html><body>Hi</body></html>", "def f(x): return x**2 + 1",
    "$100.00 €50 £20 ¥1000", "50% off!!!", "1234567890", "3.14159 2.71828", "½ ¼ ²³ ⅓",
    "supercalifragilisticexpialidocious", "antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis", "a" * 120, "ab" * 60 + " end",
    "Привет, мир!", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "Tiếng Việt có dấu", "...", "?!?!", "(parenthesis) [brackets] {braces}", "\"quotes\" 'single' «guillemets» “curly”",
    "em—dash en–dash", "hash#tag @mention", "snake_case camelCase kebab-case", "UPPER lower MiXeD",
    "The quick brown fox jumps over the lazy dog.", "I saw a girl with a telescope.",
    "[CLS] inside [SEP] text [MASK]", "<s> tags </s> <pad> <unk>", "<|endoftext|> marker",
    "   ", "\n\n", "x", "A", "!", "..., ;; ::",
    "Hugging Face, Inc. is a French company based in New York City. Its headquarters are in DUMBO.",
    "Angela Merkel was the chancellor of Germany and she lived in Berlin for many years.",
]

PAIRS = [
    ("Who?", "Angela Merkel was the chancellor of Germany and she lived in Berlin for many years."),
    ("What is 😀?", "Héllo 😀 wörld, Enzo's naïve café — 東京 is big; don't stop!! x"),
    ("Where is the headquarters of Hugging Face located exactly?", "Hugging Face, Inc. is a French company based in New York City. Its headquarters are in DUMBO."),
    ("short", "tiny"),
    ("", "empty first"),
    ("a b c d e f g h i j k l m n o p q r s t u v w x y z", "z y x w v u t s r q p o n m l k j i h g f e d c b a"),
]

LONG = ("The quick brown fox jumps over the lazy dog while naïve cafés serve crème brûlée; "
        "東京 and 北京 are cities 😀. ") * 3


# ---------------------------------------------------------------- tiny tokenizers
def bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train_bpe(words, n_merges, initial):
    """Plain BPE training over word counts (our own corpus) -> (vocab list, merges)."""
    counts = Counter(tuple(w) for w in words)
    vocab = list(initial)
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in counts.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        if a + b not in vocab:
            vocab.append(a + b)
        new = Counter()
        for w, c in counts.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b); i += 2
                else:
                    out.append(w[i]); i += 1
            new[tuple(out)] += c
        counts = new
    return vocab, merges


CORPUS = " ".join(TEXTS[2:40] + [p for pr in PAIRS for p in pr] + [LONG]).split()


def tiny_tokenizers():
    toks = {}
    # 1. byte-level BPE (GPT-2 style bytes), Split regex pre-tokenizer + ByteLevel(use_regex false),
    #    ByteLevel(trim_offsets) + TemplateProcessing post-processor (a Llama-3-like layout)
    b2u = bytes_to_unicode()
    words = ["".join(b2u[b] for b in (" " + w).encode()) for w in CORPUS]
    base = [b2u[b] for b in range(256)]
    vocab, merges = train_bpe(words, 300, base)
    specials = ["<|begin|>", "<|end|>"]
    v = {t: i for i, t in enumerate(vocab)}
    for s in specials:
        v[s] = len(v)
    toks['tiny-bytelevel-split.json'] = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": v[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for s in specials],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<|begin|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|begin|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|begin|>": {"id": "<|begin|>", "ids": [v["<|begin|>"]], "tokens": ["<|begin|>"]}}}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": v, "merges": [[a, b] for a, b in merges]}}
    # 2. RoBERTa-like: ByteLevel(add_prefix_space) + RobertaProcessing(trim_offsets)
    rv = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for t in vocab:
        if t not in rv:
            rv[t] = len(rv)
    rv["<mask>"] = len(rv)
    toks['tiny-roberta.json'] = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": rv[s], "content": s, "single_word": False, "lstrip": s == "<mask>", "rstrip": False,
                          "normalized": False, "special": True} for s in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True,
                           "add_prefix_space": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": rv, "merges": [a + " " + b for a, b in merges]}}
    # 3. Llama-2-like BPE with byte fallback: Prepend + Replace normalizers, no pre-tokenizer
    chars = sorted(set("".join(CORPUS)) - set(" "))
    chars = [c for c in chars if ord(c) < 0x2000]  # leave CJK/emoji to byte fallback
    words = ["▁" + w for w in CORPUS]
    lv_init = ["▁"] + chars
    lvocab, lmerges = train_bpe([[c for c in w if c in lv_init] for w in words], 250, lv_init)
    lv = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        lv["<0x%02X>" % b] = len(lv)
    for t in lvocab:
        if t not in lv:
            lv[t] = len(lv)
    toks['tiny-bpe-bytefallback.json'] = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": lv[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for s in ["<unk>", "<s>", "</s>"]],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                                      {"type": "ByteFallback"}, {"type": "Fuse"},
                                                      {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": lv, "merges": [a + " " + b for a, b in lmerges]}}
    # 4. Unigram + Metaspace (T5-like), NFKC + Replace(regex) normalizers
    sub = Counter()
    for w in ("▁" + x.lower() for x in CORPUS):
        for i in range(len(w)):
            for j in range(i + 1, min(len(w), i + 6) + 1):
                sub[w[i:j]] += 1
    pieces = [p for p, c in sub.most_common(600) if c >= 2]
    singles = sorted({c for w in CORPUS for c in w.lower() if ord(c) < 0x3000})
    allp = list(dict.fromkeys(pieces + singles))
    uv = [["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    import math
    total = sum(sub[p] for p in allp) or 1
    for p in allp:
        uv.append([p, round(math.log(max(sub[p], 1) / total) - 0.1 * len(p), 6)])
    toks['tiny-unigram.json'] = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, s in enumerate(["<pad>", "</s>", "<unk>"])],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
                                                            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
                                                            {"type": "Strip", "strip_left": False, "strip_right": True}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "</s>", "type_id": 1}}],
                           "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
        "model": {"type": "Unigram", "unk_id": 2, "vocab": uv, "byte_fallback": False}}
    # 5. WordPiece after NFD + StripAccents + Lowercase + Strip; WhitespaceSplit, Punctuation, Digits
    wp = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = sorted({c for w in CORPUS for c in w.lower() if c.isalnum() and ord(c) < 0x370})
    wp += letters + ["##" + c for c in letters]
    common = Counter(w.lower().strip(".,!?;:'\"()") for w in CORPUS)
    for w, _ in common.most_common(150):
        if w and w.isalpha() and w.isascii():
            wp.append(w)
            if len(w) > 4:
                wp.append(w[:3]); wp.append("##" + w[3:])
    wp += list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    wp = list(dict.fromkeys(wp))
    wv = {t: i for i, t in enumerate(wp)}
    toks['tiny-wordpiece.json'] = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": wv[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for s in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
                                                            {"type": "Strip", "strip_left": True, "strip_right": True}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
                                                                 {"type": "Punctuation", "behavior": "Isolated"},
                                                                 {"type": "Digits", "individual_digits": True}]},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", wv["[SEP]"]], "cls": ["[CLS]", wv["[CLS]"]]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 20, "vocab": wv}}
    # 6. WordLevel after NFKC with the Whitespace pre-tokenizer and contiguous digits
    wl = ["[UNK]", "[PAD]"] + [w for w, _ in Counter(x.lower() for x in " ".join(CORPUS).replace(",", " ").split()).most_common(200)]
    wl = list(dict.fromkeys(wl + list("0123456789.,!?'\"-")))
    toks['tiny-wordlevel.json'] = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 0, "content": "[UNK]", "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True},
                         {"id": len(wl), "content": "new token", "single_word": True, "lstrip": False, "rstrip": False,
                          "normalized": True, "special": False}],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {"type": "Digits", "individual_digits": False}]},
        "post_processor": None, "decoder": None,
        "model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": {t: i for i, t in enumerate(wl)}}}
    return toks


# ---------------------------------------------------------------- cases
def cases_for(tok_ref, pair_ok=True):
    out = []
    for t in TEXTS:
        out.append({"text": t, "add_special_tokens": True})
    for t in TEXTS[::3]:
        out.append({"text": t, "add_special_tokens": False})
    if pair_ok:
        for a, b in PAIRS:
            out.append({"text": a, "text_pair": b, "add_special_tokens": True})
            for ml, st, strat in [(16, 3, "only_second"), (20, 5, "longest_first"), (14, 0, "longest_first"),
                                  (24, 4, "only_second"), (30, 2, "only_first")]:
                out.append({"text": a, "text_pair": b, "add_special_tokens": True,
                            "truncation": {"max_length": ml, "stride": st, "strategy": strat}})
        out.append({"text": PAIRS[0][0], "text_pair": PAIRS[0][1], "add_special_tokens": True,
                    "truncation": {"max_length": 20, "stride": 4, "strategy": "only_second"},
                    "padding": {"max_length": 20}})
    for ml, st in [(8, 2), (10, 3), (12, 0), (7, 5), (512, 0), (16, 4), (32, 8)]:
        out.append({"text": LONG, "add_special_tokens": True, "truncation": {"max_length": ml, "stride": st, "strategy": "longest_first"}})
    out.append({"text": LONG, "add_special_tokens": False, "truncation": {"max_length": 9, "stride": 2, "strategy": "longest_first"}})
    out.append({"text": "Hello world", "add_special_tokens": True, "padding": {"max_length": 12}})
    for c in out:
        c["tokenizer"] = tok_ref
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--shared', default=os.environ.get('NLPIPE_SHARED_DATA', os.path.join(ROOT, '..', 'shared', 'data')))
    ap.add_argument('--oracle', default=os.environ.get('ORACLE_DIR', '/work/scratch/oracle'))
    args = ap.parse_args()
    os.makedirs(FIX, exist_ok=True)
    for name, js in tiny_tokenizers().items():
        with open(os.path.join(FIX, name), 'w', encoding='utf-8') as f:
            json.dump(js, f, ensure_ascii=False, indent=1)
            f.write('\n')
    shared_tok = os.path.join(args.shared, 'tokenizers')
    groups = {
        'bert': 'shared:bert-base-uncased', 'gpt2': 'shared:gpt2',
        'tiny-bytelevel-split': 'fixture:tiny-bytelevel-split.json', 'tiny-roberta': 'fixture:tiny-roberta.json',
        'tiny-bpe-bytefallback': 'fixture:tiny-bpe-bytefallback.json', 'tiny-unigram': 'fixture:tiny-unigram.json',
        'tiny-wordpiece': 'fixture:tiny-wordpiece.json', 'tiny-wordlevel': 'fixture:tiny-wordlevel.json',
    }

    def resolve(ref):
        kind, name = ref.split(':', 1)
        return os.path.join(shared_tok, name) if kind == 'shared' else os.path.join(FIX, name)

    def pad_of(path):
        # the pad token nlpipe picks: [PAD] or <pad> when the tokenizer has one, else id 0
        if os.path.isdir(path):
            path = os.path.join(path, 'tokenizer.json')
        js = json.load(open(path, encoding='utf-8'))
        voc = js['model']['vocab']
        ids = {t: i for i, (t, _) in enumerate(voc)} if isinstance(voc, list) else dict(voc)
        for a in js.get('added_tokens') or []:
            ids[a['content']] = a['id']
        inv = {i: t for t, i in ids.items()}
        for t in ('[PAD]', '<pad>'):
            if t in ids:
                return {'pad_id': ids[t], 'pad_token': t}
        return {'pad_id': 0, 'pad_token': inv.get(0, '[PAD]')}

    total = 0
    for g, ref in groups.items():
        cases = cases_for(ref, pair_ok=g != 'tiny-wordlevel')
        reqs = []
        for i, c in enumerate(cases):
            r = dict(c)
            r['id'] = i
            r['tokenizer'] = resolve(ref)
            if 'padding' in r:
                r['padding'] = dict(r['padding'], **pad_of(resolve(ref)))
                c['padding'] = r['padding']
            reqs.append(json.dumps(r, ensure_ascii=False))
        # decode requests: the tokens of each single text back through the decoder
        p = subprocess.run(['node', os.path.join(args.oracle, 'tok.mjs')], input='\n'.join(reqs) + '\n',
                           capture_output=True, text=True, encoding='utf-8')
        if p.returncode != 0:
            sys.exit(f"tok.mjs failed: {p.stderr}")
        resp = [json.loads(l) for l in p.stdout.split('\n')[:-1]]
        assert len(resp) == len(cases)
        dreqs = []
        for i, (c, r) in enumerate(zip(cases, resp)):
            if r.get('ok'):
                c['encodings'] = [{k: e[k] for k in ('ids', 'tokens', 'offsets', 'word_ids', 'type_ids', 'sequence_ids',
                                                     'special_tokens_mask', 'attention_mask')} for e in r['encodings']]
                if 'truncation' not in c and 'text_pair' not in c:
                    dreqs.append((i, {"id": i, "op": "decode", "tokenizer": resolve(ref), "tokens": r['encodings'][0]['tokens']}))
            else:
                c['error'] = r.get('error', 'error')
        if dreqs:
            p = subprocess.run(['node', os.path.join(args.oracle, 'tok.mjs')],
                               input='\n'.join(json.dumps(d, ensure_ascii=False) for _, d in dreqs) + '\n',
                               capture_output=True, text=True, encoding='utf-8')
            for (i, _), l in zip(dreqs, p.stdout.split('\n')[:-1]):
                d = json.loads(l)
                if d.get('ok'):
                    cases[i]['decoded'] = d['text']
        with open(os.path.join(FIX, f'cases-{g}.jsonl'), 'w', encoding='utf-8') as f:
            for c in cases:
                f.write(json.dumps(c, ensure_ascii=False) + '\n')
        total += len(cases)
        print(f'{g}: {len(cases)} cases', file=sys.stderr)
    print(f'total: {total} cases', file=sys.stderr)


if __name__ == '__main__':
    main()
