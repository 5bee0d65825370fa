"""Minimal BERT (uncased) WordPiece tokenizer, written for the nlpipe recipes.

Behaviour follows the original BERT BasicTokenizer + WordpieceTokenizer with
do_lower_case=True (the bert-base-uncased settings in tokenizer.json):

  clean text   drop NUL, U+FFFD and control characters (Unicode category C*,
               except tab/newline/CR); every whitespace char (incl. Zs) -> ' '
  CJK          put spaces around CJK ideographs
  words        split on whitespace
  per word     lower-case; NFD, then drop non-spacing marks (Mn)  (strip accents);
               split off every punctuation char (ASCII 33-47, 58-64, 91-96,
               123-126 and Unicode category P*) as its own word
  WordPiece    greedy longest-match-first, continuation pieces prefixed '##';
               a word longer than 100 chars, or one that cannot be covered,
               becomes a single [UNK]

Only what the pretraining recipe needs: text -> ids (no special tokens added).
"""
import unicodedata

_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _cjk(cp):
    for lo, hi in _CJK_RANGES:
        if lo <= cp <= hi:
            return True
    return False


def _punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch)[0] == "P"


def _normalise_chars(text):
    """clean_text + CJK spacing in one pass."""
    out = []
    for ch in text:
        if ch in " \t\n\r":
            out.append(" ")
            continue
        cp = ord(ch)
        if cp < 128:
            if cp < 32 or cp == 127:      # ASCII control characters
                continue
            out.append(ch)
            continue
        if cp == 0xFFFD:
            continue
        cat = unicodedata.category(ch)
        if cat == "Zs":
            out.append(" ")
        elif cat[0] == "C":
            continue
        elif _cjk(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    return "".join(out)


def _split_word(word):
    """lower-case, strip accents, split punctuation."""
    word = word.lower()
    if not word.isascii():
        word = "".join(c for c in unicodedata.normalize("NFD", word)
                       if unicodedata.category(c) != "Mn")
    pieces, cur = [], []
    for ch in word:
        if _punct(ch):
            if cur:
                pieces.append("".join(cur))
                cur = []
            pieces.append(ch)
        else:
            cur.append(ch)
    if cur:
        pieces.append("".join(cur))
    return pieces


class WordPieceTokenizer:
    def __init__(self, vocab_path, max_chars=100):
        with open(vocab_path, encoding="utf-8") as f:
            self.itos = [ln.rstrip("\n") for ln in f]
        self.vocab = {t: i for i, t in enumerate(self.itos)}
        self.unk_id = self.vocab["[UNK]"]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.pad_id = self.vocab["[PAD]"]
        self.mask_id = self.vocab["[MASK]"]
        self.max_chars = max_chars
        self._word_cache = {}      # whitespace-separated word -> list of ids

    def _wordpiece(self, w):
        if len(w) > self.max_chars:
            return [self.unk_id]
        ids, start, n = [], 0, len(w)
        while start < n:
            end, found = n, None
            while end > start:
                sub = w[start:end] if start == 0 else "##" + w[start:end]
                i = self.vocab.get(sub)
                if i is not None:
                    found = i
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids

    def _word_ids(self, word):
        r = self._word_cache.get(word)
        if r is None:
            r = []
            for p in _split_word(word):
                r.extend(self._wordpiece(p))
            if len(self._word_cache) < 2_000_000:
                self._word_cache[word] = r
        return r

    def encode(self, text):
        """ids without [CLS]/[SEP]."""
        out = []
        for word in _normalise_chars(text).split(" "):
            if word:
                out.extend(self._word_ids(word))
        return out

    def decode(self, ids):
        toks = [self.itos[i] for i in ids]
        s = " ".join(toks)
        return s.replace(" ##", "")
