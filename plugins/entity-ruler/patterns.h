/* patterns.h — the patterns file: one JSON object per line (JSONL), as spaCy's
 * EntityRuler reads with `ruler.from_disk("patterns.jsonl")`:
 *
 *     {"label": "ORG", "pattern": "Acme Corp"}                    a phrase
 *     {"label": "EMAIL", "regex": "[\\w.+-]+@[\\w-]+\\.[\\w.]+"}  a regular expression
 *     {"label": "GPE", "pattern": "Paris", "id": "paris-fr"}      optional ent_id
 *
 * Blank lines are skipped and a trailing CR is tolerated. Token-pattern lists
 * ("pattern": [{"LOWER": "acme"}]) are not supported and are refused by name, so a
 * spaCy file that uses them fails loudly rather than matching nothing. */
#ifndef ER_PATTERNS_H
#define ER_PATTERNS_H

#include <stddef.h>

typedef struct er_pattern {
  char *label;  /* entity_group in the output */
  char *id;     /* spaCy's ent_id; NULL when the line has none */
  char *phrase; /* exactly one of phrase / regex is non-NULL */
  char *regex;
  size_t line;  /* 1-based line in the file, for messages */
} er_pattern;

typedef struct er_pattern_list {
  er_pattern *items;
  size_t n;
  size_t n_phrases, n_regexes;
} er_pattern_list;

/* Reads and checks `path`. On failure returns NULL and sets *error (malloc()ed) to
 * "<path>:<line>: <what was expected>". Free the result with er_patterns_free. */
er_pattern_list *er_patterns_load(const char *path, char **error);

/* NULL is a no-op. */
void er_patterns_free(er_pattern_list *list);

#endif
