/* boundaries.h — where a phrase match may start and end when word_boundaries is on.
 *
 * spaCy matches phrases on tokens, so "York" never matches inside "Yorkshire". With
 * no tokenizer here, a boundary is any gap between two code points that do not
 * continue one word: a letter/digit (or combining mark) followed by a letter/digit
 * (or combining mark) continues the word, everything else is a boundary. Scripts
 * written without spaces (Han, kana, Thai, ...) have a boundary between any two
 * characters, otherwise "東京" could never match in "東京に行く". */
#ifndef ER_BOUNDARIES_H
#define ER_BOUNDARIES_H

#include <glib.h>
#include <stdbool.h>

/* True when a token boundary lies between `before` and `after`. */
bool er_is_boundary(gunichar before, gunichar after);

#endif
