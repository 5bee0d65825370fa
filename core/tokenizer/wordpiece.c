/* wordpiece.c — WordPiece (greedy longest match first, "##" continuation, [UNK] for a
 * word too long or with an unmatched rest) and WordLevel (whole word or unk). */
#include <string.h>

#include "tokenizer/internal.h"

static void push(GArray *out, int32_t id, size_t a, size_t b) {
  nlp_tk_tok t = {id, (uint32_t)a, (uint32_t)b};
  g_array_append_val(out, t);
}

static size_t count_chars(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += ((uint8_t)s[i] & 0xC0) != 0x80;
  return n;
}

void nlp_tk_wordpiece_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out) {
  if (!len) return;
  if (m->type == NLP_MODEL_WORDLEVEL) {
    int32_t id = nlp_tk_vocab_find(&m->vocab, s, len);
    if (id < 0) id = m->unk_id;
    if (id >= 0) push(out, id, 0, len);
    return;
  }
  if (count_chars(s, len) > m->max_chars) {
    if (m->unk_id >= 0) push(out, m->unk_id, 0, len);
    return;
  }
  size_t plen = m->prefix ? strlen(m->prefix) : 0;
  size_t maxl = m->vocab.max_len;
  char stackbuf[512];
  char *buf = plen + len <= sizeof stackbuf ? stackbuf : g_malloc(plen + len);
  if (plen) memcpy(buf, m->prefix, plen);
  size_t first = out->len;
  size_t start = 0;
  while (start < len) {
    /* no vocabulary entry is longer than maxl bytes: start the search there */
    size_t room = start ? (maxl > plen ? maxl - plen : 0) : maxl;
    size_t end = len - start > room ? start + room : len;
    while (end > start && end < len && ((uint8_t)s[end] & 0xC0) == 0x80) end--;
    int32_t id = -1;
    while (end > start) {
      if (start == 0) {
        id = nlp_tk_vocab_find(&m->vocab, s, end);
      } else {
        memcpy(buf + plen, s + start, end - start);
        id = nlp_tk_vocab_find(&m->vocab, buf, plen + end - start);
      }
      if (id >= 0) break;
      end--;
      while (end > start && ((uint8_t)s[end] & 0xC0) == 0x80) end--;
    }
    if (id < 0) {
      g_array_set_size(out, first);
      if (m->unk_id >= 0) push(out, m->unk_id, 0, len);
      break;
    }
    push(out, id, start, end);
    start = end;
  }
  if (buf != stackbuf) g_free(buf);
}
