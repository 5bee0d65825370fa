/* polarity.c — the label rule of polarity.h. */
#include "polarity.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const char *const nlp_polarity_names[3] = {"negative", "neutral", "positive"};

static bool unnamed(const char *l) {
  if (strncasecmp(l, "label_", 6)) return false;
  const char *p = l + 6;
  if (!*p) return false;
  for (; *p; p++)
    if (!isdigit((unsigned char)*p)) return false;
  return true;
}

static polarity by_name(const char *l) {
  if (strcasestr(l, "neg")) return POLARITY_NEGATIVE;
  if (strcasestr(l, "pos")) return POLARITY_POSITIVE;
  if (strcasestr(l, "neu")) return POLARITY_NEUTRAL;
  if (isdigit((unsigned char)l[0]) && strcasestr(l, "star")) {
    int n = atoi(l);
    if (n >= 1 && n <= 2) return POLARITY_NEGATIVE;
    if (n == 3) return POLARITY_NEUTRAL;
    if (n >= 4 && n <= 5) return POLARITY_POSITIVE;
  }
  return POLARITY_UNKNOWN;
}

size_t nlp_polarity_map_labels(char *const *labels, size_t n, polarity *out) {
  bool all_unnamed = true;
  for (size_t i = 0; i < n; i++) all_unnamed = all_unnamed && unnamed(labels[i]);
  if (all_unnamed) {
    static const polarity two[] = {POLARITY_NEGATIVE, POLARITY_POSITIVE};
    static const polarity three[] = {POLARITY_NEGATIVE, POLARITY_NEUTRAL, POLARITY_POSITIVE};
    if (n != 2 && n != 3) return 0;
    /* LABEL_<i> carries its id: map by it, not by position in the list. */
    for (size_t i = 0; i < n; i++) {
      size_t id = (size_t)atoi(labels[i] + 6);
      if (id >= n) return i;
      out[i] = n == 2 ? two[id] : three[id];
    }
    return n;
  }
  for (size_t i = 0; i < n; i++) {
    out[i] = by_name(labels[i]);
    if (out[i] == POLARITY_UNKNOWN) return i;
  }
  return n;
}
