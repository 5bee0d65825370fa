/* regex-matcher.c — GRegex-based matching with code-point offsets (see regex-matcher.h). */
#include "regex-matcher.h"

#include "errors.h"
#include "spans.h"

typedef struct compiled {
  GRegex *regex;
  uint32_t pattern;
} compiled;

struct er_regex_matcher {
  GArray *items; /* compiled */
};

static void compiled_clear(gpointer p) { g_regex_unref(((compiled *)p)->regex); }

er_regex_matcher *er_regex_matcher_new(void) {
  er_regex_matcher *m = g_new0(er_regex_matcher, 1);
  m->items = g_array_new(FALSE, FALSE, sizeof(compiled));
  g_array_set_clear_func(m->items, compiled_clear);
  return m;
}

bool er_regex_matcher_add(er_regex_matcher *m, const char *regex, uint32_t index,
                          char **error) {
  GError *gerr = NULL;
  GRegex *re = g_regex_new(regex, G_REGEX_OPTIMIZE, 0, &gerr);
  if (!re) {
    *error = er_error_printf("bad regex: %s", gerr->message);
    g_error_free(gerr);
    return false;
  }
  compiled c = {.regex = re, .pattern = index};
  g_array_append_val(m->items, c);
  return true;
}

bool er_regex_matcher_find(const er_regex_matcher *m, const er_text *text, GArray *spans,
                           uint32_t *failed_pattern, char **error) {
  for (guint i = 0; i < m->items->len; i++) {
    const compiled *c = &g_array_index(m->items, compiled, i);
    GMatchInfo *info = NULL;
    GError *gerr = NULL;
    g_regex_match_full(c->regex, text->utf8, (gssize)text->len_bytes, 0, 0, &info, &gerr);
    while (!gerr && g_match_info_matches(info)) {
      gint bs, be;
      if (g_match_info_fetch_pos(info, 0, &bs, &be) && be > bs) {
        /* GRegex reports byte offsets at character boundaries; output wants code points. */
        er_span s = {.start = er_text_cp_at_byte(text, (size_t)bs),
                     .end = er_text_cp_at_byte(text, (size_t)be),
                     .pattern = c->pattern};
        g_array_append_val(spans, s);
      }
      g_match_info_next(info, &gerr);
    }
    g_match_info_free(info);
    if (gerr) {
      *failed_pattern = c->pattern;
      *error = er_error_printf("%s", gerr->message);
      g_error_free(gerr);
      return false;
    }
  }
  return true;
}

void er_regex_matcher_free(er_regex_matcher *m) {
  if (!m)
    return;
  g_array_free(m->items, TRUE);
  g_free(m);
}
