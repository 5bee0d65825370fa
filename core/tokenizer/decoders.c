/* decoders.c — HF decoders (decode_chain over the token strings): WordPiece, ByteLevel,
 * Metaspace, ByteFallback, Fuse, Strip, Replace, BPEDecoder, Sequence. */
#include <stdio.h>
#include <string.h>

#include "tokenizer/internal.h"

void nlp_tk_decoder_free(nlp_tk_decoder *d) {
  if (!d) return;
  for (size_t i = 0; i < d->n_children; i++) nlp_tk_decoder_free(d->children[i]);
  g_free(d->children);
  g_free(d->prefix);
  g_free(d->replacement);
  g_free(d->pattern);
  g_free(d->content);
  g_free(d);
}

static char *replace_all(const char *s, const char *pat, const char *with) {
  if (!*pat) return g_strdup(s);
  GString *r = g_string_new(NULL);
  size_t pl = strlen(pat);
  for (const char *p = s; *p;) {
    if (!strncmp(p, pat, pl)) {
      g_string_append(r, with);
      p += pl;
    } else {
      g_string_append_c(r, *p++);
    }
  }
  return g_string_free(r, FALSE);
}

static void set_tok(GPtrArray *t, size_t i, char *s) {
  g_free(t->pdata[i]);
  t->pdata[i] = s;
}

/* WordPiece decoder cleanup (HF decoders/wordpiece.rs cleanup) */
static char *cleanup(const char *s) {
  static const char *const pairs[][2] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
                                         {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
                                         {" 've", "'ve"}, {" 're", "'re"}};
  char *cur = g_strdup(s);
  for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
    char *n = replace_all(cur, pairs[i][0], pairs[i][1]);
    g_free(cur);
    cur = n;
  }
  return cur;
}

static void bytefallback(GPtrArray *t) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  GByteArray *pend = g_byte_array_new();
  size_t pend_n = 0;
#define FLUSH()                                                                        \
  do {                                                                                 \
    if (pend->len) {                                                                   \
      if (g_utf8_validate_len((const char *)pend->data, pend->len, NULL)) {            \
        g_ptr_array_add(out, g_strndup((const char *)pend->data, pend->len));          \
      } else {                                                                         \
        for (size_t k_ = 0; k_ < pend_n; k_++) g_ptr_array_add(out, g_strdup("\xef\xbf\xbd")); \
      }                                                                                \
      g_byte_array_set_size(pend, 0);                                                  \
      pend_n = 0;                                                                      \
    }                                                                                  \
  } while (0)
  for (size_t i = 0; i < t->len; i++) {
    const char *s = t->pdata[i];
    unsigned v;
    if (strlen(s) == 6 && !strncmp(s, "<0x", 3) && s[5] == '>' && g_ascii_isxdigit(s[3]) && g_ascii_isxdigit(s[4]) &&
        sscanf(s + 3, "%2x", &v) == 1) {
      uint8_t b = (uint8_t)v;
      g_byte_array_append(pend, &b, 1);
      pend_n++;
      continue;
    }
    FLUSH();
    g_ptr_array_add(out, g_strdup(s));
  }
  FLUSH();
#undef FLUSH
  g_byte_array_free(pend, TRUE);
  g_ptr_array_set_size(t, 0);
  for (size_t i = 0; i < out->len; i++) g_ptr_array_add(t, out->pdata[i]);
  g_ptr_array_set_free_func(out, NULL);
  g_ptr_array_free(out, TRUE);
}

static void decode_one(const nlp_tk_decoder *d, GPtrArray *t) {
  switch (d->type) {
    case NLP_DEC_WORDPIECE:
      for (size_t i = 0; i < t->len; i++) {
        const char *s = t->pdata[i];
        char *n;
        size_t pl = strlen(d->prefix);
        if (i == 0) n = g_strdup(s);
        else if (pl && !strncmp(s, d->prefix, pl)) n = g_strdup(s + pl);
        else n = g_strconcat(" ", s, NULL);
        if (d->cleanup) {
          char *c = cleanup(n);
          g_free(n);
          n = c;
        }
        set_tok(t, i, n);
      }
      break;
    case NLP_DEC_BYTELEVEL: {
      GByteArray *bytes = g_byte_array_new();
      for (size_t i = 0; i < t->len; i++)
        for (const char *c = t->pdata[i]; *c; c = g_utf8_next_char(c)) {
          int b = nlp_tk_char_to_byte(g_utf8_get_char(c));
          if (b >= 0) {
            uint8_t x = (uint8_t)b;
            g_byte_array_append(bytes, &x, 1);
          } else {
            g_byte_array_append(bytes, (const guint8 *)c, (guint)(g_utf8_next_char(c) - c));
          }
        }
      /* An empty array has no data pointer at all: decode to "" (e.g. ids that are
       * all skipped specials), not NULL. */
      char *s = bytes->len ? g_utf8_make_valid((const char *)bytes->data, bytes->len)
                           : g_strdup("");
      g_byte_array_free(bytes, TRUE);
      g_ptr_array_set_size(t, 0);
      g_ptr_array_add(t, s);
      break;
    }
    case NLP_DEC_METASPACE:
      for (size_t i = 0; i < t->len; i++) {
        char *n = replace_all(t->pdata[i], d->replacement, " ");
        if (i == 0 && d->prepend != NLP_PREPEND_NEVER && n[0] == ' ') memmove(n, n + 1, strlen(n));
        set_tok(t, i, n);
      }
      break;
    case NLP_DEC_BYTEFALLBACK: bytefallback(t); break;
    case NLP_DEC_FUSE: {
      GString *s = g_string_new(NULL);
      for (size_t i = 0; i < t->len; i++) g_string_append(s, t->pdata[i]);
      g_ptr_array_set_size(t, 0);
      g_ptr_array_add(t, g_string_free(s, FALSE));
      break;
    }
    case NLP_DEC_STRIP:
      for (size_t i = 0; i < t->len; i++) {
        const char *s = t->pdata[i];
        glong n = g_utf8_strlen(s, -1);
        glong a = 0, b = n;
        for (size_t k = 0; k < d->start && a < n && g_utf8_get_char(g_utf8_offset_to_pointer(s, a)) == (gunichar)d->content[0]; k++) a++;
        for (size_t k = 0; k < d->stop && b > a && g_utf8_get_char(g_utf8_offset_to_pointer(s, b - 1)) == (gunichar)d->content[0]; k++) b--;
        const char *pa = g_utf8_offset_to_pointer(s, a), *pb = g_utf8_offset_to_pointer(s, b);
        set_tok(t, i, g_strndup(pa, (gsize)(pb - pa)));
      }
      break;
    case NLP_DEC_REPLACE:
      for (size_t i = 0; i < t->len; i++) set_tok(t, i, replace_all(t->pdata[i], d->pattern, d->content));
      break;
    case NLP_DEC_BPE:
      for (size_t i = 0; i < t->len; i++) {
        char *n = replace_all(t->pdata[i], d->prefix, i + 1 == t->len ? "" : " ");
        set_tok(t, i, n);
      }
      break;
    case NLP_DEC_SEQUENCE:
      for (size_t i = 0; i < d->n_children; i++) decode_one(d->children[i], t);
      break;
  }
}

void nlp_tk_decode_chain(const nlp_tk_decoder *d, GPtrArray *tokens) {
  if (d) decode_one(d, tokens);
}
