/* plugin.c — the entity-ruler descriptor, options and vtable.
 *
 * Tags entities from a patterns file of phrases and regular expressions, like spaCy's
 * EntityRuler, with no model: it lets a pipeline run end to end on its own and gives
 * later NER steps rule-based entities to merge with. Output per document is an array
 * of Hugging Face "aggregated" token-classification entities,
 *
 *     {"entity_group": "ORG", "word": "Acme Corp", "start": 10, "end": 19,
 *      "score": 1.0, "source": "entity-ruler", "id": "acme"}   ("id" only if given)
 *
 * sorted by start, offsets in Unicode code points of the original text, the same
 * shape the transformer NER step emits.
 *
 * The state is immutable once created, so process() may run on several batches at
 * once from different threads. */
#include <nlpipe/plugin.h>

#include "errors.h"
#include "patterns.h"
#include "phrase-matcher.h"
#include "regex-matcher.h"
#include "spans.h"
#include "text-index.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_NAME "entity-ruler"

typedef struct ruler {
  const nlp_host *host;
  char *patterns_path; /* resolved, for messages */
  er_pattern_list *patterns;
  er_phrase_matcher *phrases;
  er_regex_matcher *regexes;
  bool keep_overlaps; /* overlap = "all" */
} ruler;

/* ---- options ---------------------------------------------------------------------- */

static const char *const attr_choices[] = {"ORTH", "LOWER", NULL};
static const char *const overlap_choices[] = {"longest", "all", NULL};

static const nlp_option_spec ruler_options[] = {
    {.name = "patterns",
     .type = NLP_OPTION_PATH,
     .flags = NLP_OPTION_REQUIRED,
     .description = "JSONL patterns file, one {\"label\", \"pattern\"|\"regex\", \"id\"?} "
                    "per line; relative to the pipeline file"},
    {.name = "phrase_matcher_attr",
     .type = NLP_OPTION_ENUM,
     .default_json = "\"ORTH\"",
     .description = "how phrases compare with the text: ORTH exactly, LOWER ignoring case "
                    "(regexes are unaffected; use (?i))",
     .choices = attr_choices},
    {.name = "overlap",
     .type = NLP_OPTION_ENUM,
     .default_json = "\"longest\"",
     .description = "overlapping matches: longest keeps the longest then earliest (spaCy "
                    "filter_spans), all keeps every match",
     .choices = overlap_choices},
    {.name = "word_boundaries",
     .type = NLP_OPTION_BOOL,
     .default_json = "true",
     .description = "phrase matches must start and end at word boundaries (no letter or "
                    "digit continuing on either side)"},
};

static const char *const ruler_requires[] = {"text", NULL};
static const char *const ruler_produces[] = {"entities", NULL};

/* The host validates types and choices before create(); these readers also fall back
 * to the defaults so a minimal host that passes fewer options still works. */
static const char *option_string(struct json_object *options, const char *key,
                                 const char *fallback) {
  struct json_object *v;
  if (options && json_object_object_get_ex(options, key, &v) &&
      json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return fallback;
}

static bool option_bool(struct json_object *options, const char *key, bool fallback) {
  struct json_object *v;
  if (options && json_object_object_get_ex(options, key, &v) &&
      json_object_is_type(v, json_type_boolean))
    return json_object_get_boolean(v);
  return fallback;
}

/* ---- vtable ----------------------------------------------------------------------- */

static nlp_status ruler_validate(struct json_object *options, char **path, char **error) {
  /* Only what the schema cannot say; the file itself is read by create(). */
  const char *patterns = option_string(options, "patterns", NULL);
  if (patterns && patterns[0] == '\0') {
    *path = strdup("patterns");
    *error = er_error_printf("expected a path to a JSONL patterns file, got \"\"");
    return NLP_STATUS_FAILED;
  }
  return NLP_STATUS_OK;
}

static void ruler_destroy(void *state) {
  ruler *r = state;
  if (!r)
    return;
  er_phrase_matcher_free(r->phrases);
  er_regex_matcher_free(r->regexes);
  er_patterns_free(r->patterns);
  g_free(r->patterns_path);
  g_free(r);
}

static void host_log(const nlp_host *host, nlp_log_level level, const char *msg) {
  if (host && host->log)
    host->log(level, PLUGIN_NAME, "%s", msg);
}

/* Builds both matchers from the loaded patterns; returns an error message or NULL. */
static char *build_matchers(ruler *r, bool lowercase, bool word_boundaries) {
  r->phrases = er_phrase_matcher_new(lowercase, word_boundaries);
  r->regexes = er_regex_matcher_new();
  for (size_t i = 0; i < r->patterns->n; i++) {
    const er_pattern *p = &r->patterns->items[i];
    if (p->regex) {
      char *err = NULL;
      if (!er_regex_matcher_add(r->regexes, p->regex, (uint32_t)i, &err)) {
        er_error_prefix(&err, "%s:%zu", r->patterns_path, p->line);
        return err;
      }
      continue;
    }
    int64_t earlier = er_phrase_matcher_add(r->phrases, p->phrase, (uint32_t)i);
    if (earlier >= 0) {
      /* spaCy would tag the span twice and let filter_spans pick one; say which wins. */
      const er_pattern *first = &r->patterns->items[earlier];
      char *msg = g_strdup_printf("%s:%zu: phrase \"%s\" repeats line %zu; the first "
                                  "(label %s) is used",
                                  r->patterns_path, p->line, p->phrase, first->line,
                                  first->label);
      host_log(r->host, NLP_LOG_WARNING, msg);
      g_free(msg);
    }
  }
  return NULL;
}

static nlp_status ruler_create(const nlp_host *host, const nlp_step_info *step,
                               void **state, char **error) {
  const char *path = option_string(step->options, "patterns", NULL);
  if (!path || !path[0]) {
    *error = er_error_printf("option \"patterns\": expected a path to a JSONL patterns file");
    return NLP_STATUS_FAILED;
  }
  ruler *r = g_new0(ruler, 1);
  r->host = host;
  r->patterns_path = (g_path_is_absolute(path) || !step->pipeline_dir)
                         ? g_strdup(path)
                         : g_build_filename(step->pipeline_dir, path, NULL);
  const char *attr = option_string(step->options, "phrase_matcher_attr", "ORTH");
  bool lowercase = strcmp(attr, "LOWER") == 0;
  r->keep_overlaps = strcmp(option_string(step->options, "overlap", "longest"), "all") == 0;
  bool word_boundaries = option_bool(step->options, "word_boundaries", true);

  r->patterns = er_patterns_load(r->patterns_path, error);
  if (!r->patterns) {
    ruler_destroy(r);
    return NLP_STATUS_FAILED;
  }
  if ((*error = build_matchers(r, lowercase, word_boundaries))) {
    ruler_destroy(r);
    return NLP_STATUS_FAILED;
  }
  char *msg = g_strdup_printf("%s: %zu phrases (%zu trie nodes), %zu regexes%s",
                              r->patterns_path, r->patterns->n_phrases,
                              er_phrase_matcher_size(r->phrases), r->patterns->n_regexes,
                              r->patterns->n ? "" : " -- every document gets []");
  host_log(host, r->patterns->n ? NLP_LOG_INFO : NLP_LOG_WARNING, msg);
  g_free(msg);
  *state = r;
  return NLP_STATUS_OK;
}

static struct json_object *span_to_json(const ruler *r, const er_text *text, const er_span *s) {
  const er_pattern *p = &r->patterns->items[s->pattern];
  size_t b0 = text->byte_at[s->start], b1 = text->byte_at[s->end];
  struct json_object *e = json_object_new_object();
  json_object_object_add(e, "entity_group", json_object_new_string(p->label));
  json_object_object_add(e, "word", json_object_new_string_len(text->utf8 + b0, (int)(b1 - b0)));
  json_object_object_add(e, "start", json_object_new_int64((int64_t)s->start));
  json_object_object_add(e, "end", json_object_new_int64((int64_t)s->end));
  json_object_object_add(e, "score", json_object_new_double(1.0));
  json_object_object_add(e, "source", json_object_new_string(PLUGIN_NAME));
  if (p->id)
    json_object_object_add(e, "id", json_object_new_string(p->id));
  return e;
}

/* Tags one document; returns its result, or NULL with *error (malloc()ed). */
static struct json_object *tag_document(const ruler *r, const char *utf8, size_t len,
                                        GArray *spans, char **error) {
  er_text text;
  size_t bad = 0;
  if (!er_text_init(&text, utf8, len, &bad)) {
    er_text_clear(&text);
    *error = er_error_printf("text is not valid UTF-8 at byte %zu", bad);
    return NULL;
  }
  g_array_set_size(spans, 0);
  er_phrase_matcher_find(r->phrases, &text, spans);
  uint32_t failed = 0;
  if (!er_regex_matcher_find(r->regexes, &text, spans, &failed, error)) {
    er_error_prefix(error, "regex at %s:%zu", r->patterns_path,
                    r->patterns->items[failed].line);
    er_text_clear(&text);
    return NULL;
  }
  if (r->keep_overlaps)
    er_spans_sort(spans);
  else
    er_spans_keep_longest(spans, text.n);
  struct json_object *out = json_object_new_array_ext((int)spans->len);
  for (guint i = 0; i < spans->len; i++)
    json_object_array_add(out, span_to_json(r, &text, &g_array_index(spans, er_span, i)));
  er_text_clear(&text);
  return out;
}

static nlp_status ruler_process(void *state, nlp_batch *batch) {
  const ruler *r = state;
  const nlp_host *h = r->host;
  GArray *spans = g_array_new(FALSE, FALSE, sizeof(er_span));
  size_t n = h->batch_size(batch);
  for (size_t doc = 0; doc < n; doc++) {
    size_t len = 0;
    const char *text = h->doc_text(batch, doc, &len);
    if (!text) {
      h->set_error(batch, doc, PLUGIN_NAME ": document has no text");
      continue;
    }
    char *error = NULL;
    struct json_object *result = tag_document(r, text, len, spans, &error);
    if (result) {
      h->set_result(batch, doc, result);
    } else {
      char *msg = er_error_printf(PLUGIN_NAME ": %s", error ? error : "failed");
      h->set_error(batch, doc, msg ? msg : PLUGIN_NAME ": failed");
      free(msg);
      free(error);
    }
  }
  g_array_free(spans, TRUE);
  return NLP_STATUS_OK;
}

static nlp_status ruler_init(const nlp_host *host, char **error) {
  /* Every host service used here is part of ABI 1.0; refuse a table too short to
   * hold them rather than read past it. */
  size_t needed = offsetof(nlp_host, set_error) + sizeof host->set_error;
  if (!host || host->struct_size < needed) {
    *error = er_error_printf("host table too small: %u bytes, need %zu",
                             host ? host->struct_size : 0u, needed);
    return NLP_STATUS_FAILED;
  }
  return NLP_STATUS_OK;
}

static const nlp_plugin_desc ruler_desc = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .license = "MIT",
    .task = "ner",
    .description =
        "Rule-based named entities, like spaCy's EntityRuler: tags phrases (a code-point "
        "trie, fast for thousands of phrases) and regular expressions (GRegex/PCRE) listed "
        "in a JSONL patterns file. Needs no model. Emits Hugging Face aggregated entities "
        "{entity_group, word, start, end, score: 1.0, source, id?} with start/end in "
        "Unicode code points, sorted by start, so later NER steps can merge with them.",
    .options = ruler_options,
    .n_options = sizeof ruler_options / sizeof ruler_options[0],
    .requires = ruler_requires,
    .produces = ruler_produces,
    .init = ruler_init,
    .validate = ruler_validate,
    .create = ruler_create,
    .process = ruler_process,
    .destroy = ruler_destroy,
};

NLP_PLUGIN_DEFINE(ruler_desc)
