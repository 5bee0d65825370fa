/* text-index.c — code-point view of a document (see text-index.h). */
#include "text-index.h"

#include <string.h>

bool er_text_init(er_text *t, const char *utf8, size_t len, size_t *bad_byte) {
  memset(t, 0, sizeof *t);
  t->utf8 = utf8;
  t->len_bytes = len;
  /* A text has at most one code point per byte: size once, no reallocation. */
  t->cps = g_new(gunichar, len + 1);
  t->byte_at = g_new(size_t, len + 1);
  size_t pos = 0, n = 0;
  while (pos < len) {
    gunichar c;
    size_t step;
    if (utf8[pos] == '\0') {
      /* g_utf8_get_char_validated treats NUL as the end of the string. */
      c = 0;
      step = 1;
    } else {
      c = g_utf8_get_char_validated(utf8 + pos, (gssize)(len - pos));
      if (c == (gunichar)-1 || c == (gunichar)-2) {
        *bad_byte = pos;
        return false;
      }
      step = (size_t)g_unichar_to_utf8(c, NULL);
    }
    t->cps[n] = c;
    t->byte_at[n] = pos;
    n++;
    pos += step;
  }
  t->byte_at[n] = len;
  t->n = n;
  return true;
}

size_t er_text_cp_at_byte(const er_text *t, size_t byte) {
  size_t lo = 0, hi = t->n; /* byte_at[0..n] is strictly increasing */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->byte_at[mid] < byte)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void er_text_clear(er_text *t) {
  g_free(t->cps);
  g_free(t->byte_at);
  memset(t, 0, sizeof *t);
}
