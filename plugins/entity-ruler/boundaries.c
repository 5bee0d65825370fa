/* boundaries.c — token-boundary test for phrase matches (see boundaries.h). */
#include "boundaries.h"

static bool is_word_char(gunichar c) {
  return g_unichar_isalnum(c) || g_unichar_ismark(c);
}

/* Scripts whose words are not separated by spaces: every character may start or end
 * a phrase, as a dictionary-based segmenter would allow. */
static bool is_unspaced_script(gunichar c) {
  switch (g_unichar_get_script(c)) {
  case G_UNICODE_SCRIPT_HAN:
  case G_UNICODE_SCRIPT_HIRAGANA:
  case G_UNICODE_SCRIPT_KATAKANA:
  case G_UNICODE_SCRIPT_BOPOMOFO:
  case G_UNICODE_SCRIPT_THAI:
  case G_UNICODE_SCRIPT_LAO:
  case G_UNICODE_SCRIPT_KHMER:
  case G_UNICODE_SCRIPT_MYANMAR:
  case G_UNICODE_SCRIPT_TIBETAN:
    return true;
  default:
    return false;
  }
}

bool er_is_boundary(gunichar before, gunichar after) {
  if (!is_word_char(before) || !is_word_char(after))
    return true;
  /* A combining mark belongs to the character before it, whatever its script:
   * "Zoe" must not match "Zoë" written as e + U+0308. */
  if (g_unichar_ismark(after))
    return false;
  return is_unspaced_script(before) || is_unspaced_script(after);
}
