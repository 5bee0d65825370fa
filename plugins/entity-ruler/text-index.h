/* text-index.h — one document's text decoded to code points, with the byte offset of
 * each code point, so matchers work in code points (the unit of every output offset)
 * and can still slice the original UTF-8 and convert GRegex's byte offsets. */
#ifndef ER_TEXT_INDEX_H
#define ER_TEXT_INDEX_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct er_text {
  const char *utf8;  /* borrowed: the document text */
  size_t len_bytes;
  gunichar *cps;     /* n code points */
  size_t *byte_at;   /* n + 1 entries: byte offset of code point i; byte_at[n] = len_bytes */
  size_t n;
} er_text;

/* Decodes `utf8` (len bytes; NUL bytes are ordinary U+0000). Returns false and sets
 * *bad_byte to the offset of the first invalid sequence when the text is not UTF-8.
 * Clear with er_text_clear even on failure. */
bool er_text_init(er_text *t, const char *utf8, size_t len, size_t *bad_byte);

/* The index of the code point starting at `byte` (or n for len_bytes). `byte` must be
 * a character boundary, which GRegex guarantees for match positions in UTF-8 mode. */
size_t er_text_cp_at_byte(const er_text *t, size_t byte);

void er_text_clear(er_text *t);

#endif
