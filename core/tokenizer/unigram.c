/* unigram.c — Unigram language model segmentation (HF Unigram / sentencepiece):
 * Viterbi over every vocabulary piece that starts at each character (a .model's
 * user-defined pieces among them, its UNUSED ones never), an unknown character costs
 * min_score - 10, ties keep the earliest-inserted path (HF lattice order), consecutive
 * unknowns fuse, and byte fallback spells them as <0xXX>. */
#include <float.h>
#include <string.h>

#include "tokenizer/internal.h"

static bool usable(const nlp_tk_model *m, int32_t id) {
  if (id < 0) return false;
  if (!m->sp_type) return true;
  return m->sp_type[id] == 1 || m->sp_type[id] == 4; /* NORMAL, USER_DEFINED */
}

void nlp_tk_unigram_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out) {
  if (!len) return;
  double *best = g_new(double, len + 1);
  int32_t *from = g_new(int32_t, len + 1);
  int32_t *bid = g_new(int32_t, len + 1);
  uint8_t *reached = g_new0(uint8_t, len + 1);
  reached[0] = 1;
  best[0] = 0;
  double unk_score = m->min_score - 10.0;
  size_t maxl = m->vocab.max_len;
  for (size_t st = 0; st < len;) {
    size_t cl = (size_t)(g_utf8_next_char(s + st) - (s + st));
    if (st + cl > len) cl = len - st;
    if (reached[st]) {
      bool single = false;
      size_t lim = len - st > maxl ? st + maxl : len;
      for (size_t end = st + cl; end <= lim;) {
        int32_t id = nlp_tk_vocab_find(&m->vocab, s + st, end - st);
        if (usable(m, id)) {
          double sc = m->scores[id];
          /* user defined: sentencepiece's score, about -0.1 where normal pieces score log
           * probabilities of a few units, so one wins unless normal pieces over it do within
           * 0.1 ("▁ca" "ng" over "an"). As its optimized Viterbi computes it: length in
           * bytes, a float product, then - 0.1 in double. */
          if (m->sp_type && m->sp_type[id] == 4)
            sc = (float)(end - st) * (float)m->max_score - 0.1;
          double v = best[st] + sc;
          if (end == st + cl) single = true;
          if (!reached[end] || v > best[end]) {
            reached[end] = 1, best[end] = v, from[end] = (int32_t)st, bid[end] = id;
          }
        }
        if (end >= len) break;
        end += (size_t)(g_utf8_next_char(s + end) - (s + end));
      }
      if (!single) {
        double v = best[st] + unk_score;
        size_t end = st + cl;
        if (!reached[end] || v > best[end]) reached[end] = 1, best[end] = v, from[end] = (int32_t)st, bid[end] = -1;
      }
    }
    st += cl;
  }
  /* backtrack */
  size_t cnt = 0;
  for (size_t p = len; p > 0; p = (size_t)from[p]) cnt++;
  nlp_tk_tok *path = g_new(nlp_tk_tok, cnt);
  size_t k = cnt;
  for (size_t p = len; p > 0; p = (size_t)from[p]) {
    nlp_tk_tok t = {bid[p], (uint32_t)from[p], (uint32_t)p};
    path[--k] = t;
  }
  bool prev_unk = false;
  for (size_t i = 0; i < cnt; i++) {
    nlp_tk_tok t = path[i];
    if (t.id < 0) {
      if (m->byte_fallback && m->has_bytes) {
        for (uint32_t b = t.a; b < t.b; b++) {
          nlp_tk_tok u = {m->byte_ids[(uint8_t)s[b]], b, b + 1};
          g_array_append_val(out, u);
        }
        prev_unk = false;
        continue;
      }
      if (prev_unk) {
        g_array_index(out, nlp_tk_tok, out->len - 1).b = t.b;
        continue;
      }
      t.id = m->unk_id;
      prev_unk = true;
      if (t.id >= 0) g_array_append_val(out, t);
      else prev_unk = false;
      continue;
    }
    prev_unk = false;
    g_array_append_val(out, t);
  }
  g_free(path);
  g_free(best);
  g_free(from);
  g_free(bid);
  g_free(reached);
}
