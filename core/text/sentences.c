/* sentences.c — the rules of sentences.h. */
#include "sentences.h"

#include <glib.h>
#include <string.h>

static const char *const abbreviations[] = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "cf", "inc", "ltd",
    "co", "corp", "no", "fig", "approx", "dept", "gen", "gov", "lt", "col", "sgt", "capt", "mt",
    "ave", "rd", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "u.s", "u.k", "a.m", "p.m", "etc.al", "et al", "al", "ph.d", "rev", "hon", "esp",
    NULL};

static gboolean is_terminator(gunichar c) { return c == '.' || c == '!' || c == '?' || c == 0x2026; }
static gboolean is_hard_terminator(gunichar c) { return c == 0x3002 || c == 0xFF01 || c == 0xFF1F; }
static gboolean is_closer(gunichar c) {
  return c == '"' || c == '\'' || c == ')' || c == ']' || c == 0x201D || c == 0x2019 || c == 0xBB;
}
static gboolean is_opener(gunichar c) {
  return c == '"' || c == '\'' || c == '(' || c == '[' || c == 0x201C || c == 0x2018 || c == 0xAB;
}
static gboolean starts_sentence(gunichar c) {
  if (is_opener(c) || g_unichar_isupper(c) || g_unichar_istitle(c)) return TRUE;
  /* letters without case (CJK, Arabic, ...) cannot show a capital */
  return g_unichar_isalpha(c) && !g_unichar_islower(c);
}

/* Is the word ending just before text[dot] an abbreviation or an initial? */
static gboolean before_is_abbreviation(const gunichar *text, size_t dot) {
  size_t b = dot;
  while (b > 0 && (g_unichar_isalpha(text[b - 1]) || text[b - 1] == '.')) b--;
  size_t len = dot - b;
  if (len == 0) return FALSE;
  if (len == 1 && g_unichar_isalpha(text[b])) return TRUE; /* an initial: "J. Smith" */
  char word[16];
  if (len >= sizeof word) return FALSE;
  for (size_t i = 0; i < len; i++) {
    gunichar c = g_unichar_tolower(text[b + i]);
    if (c > 127) return FALSE;
    word[i] = (char)c;
  }
  word[len] = 0;
  for (const char *const *a = abbreviations; *a; a++)
    if (!strcmp(word, *a)) return TRUE;
  return FALSE;
}

static void push(const gunichar *text, size_t start, size_t end, size_t *out, size_t *count) {
  while (start < end && g_unichar_isspace(text[start])) start++;
  while (end > start && g_unichar_isspace(text[end - 1])) end--;
  if (end <= start) return;
  out[2 * *count] = start;
  out[2 * *count + 1] = end;
  (*count)++;
}

size_t nlp_sentences_split(const uint32_t *text, size_t n, size_t *out) {
  size_t count = 0, start = 0;
  for (size_t i = 0; i < n; i++) {
    gunichar c = text[i];
    if (c == '\n') { /* a blank line ends a sentence (paragraphs, headings) */
      size_t j = i + 1;
      while (j < n && text[j] != '\n' && g_unichar_isspace(text[j])) j++;
      if (j < n && text[j] == '\n') {
        push(text, start, i, out, &count);
        start = j;
        i = j;
      }
      continue;
    }
    if (is_hard_terminator(c)) {
      size_t k = i + 1;
      while (k < n && is_closer(text[k])) k++;
      push(text, start, k, out, &count);
      start = k;
      i = k - 1;
      continue;
    }
    if (!is_terminator(c)) continue;
    size_t j = i;
    while (j < n && is_terminator(text[j])) j++;
    size_t k = j;
    while (k < n && is_closer(text[k])) k++;
    if (k == n) break;
    if (!g_unichar_isspace(text[k])) { /* 3.5, U.S.A, "e.g.x" */
      i = j - 1;
      continue;
    }
    size_t m = k;
    while (m < n && g_unichar_isspace(text[m])) m++;
    if (m == n) break;
    if (!starts_sentence(text[m]) || (c == '.' && j == i + 1 && before_is_abbreviation(text, i))) {
      i = j - 1;
      continue;
    }
    push(text, start, k, out, &count);
    start = m;
    i = m - 1;
  }
  push(text, start, n, out, &count);
  return count;
}
