/* plugin.c — the ner plugin: token classification on the shared encoder pass, with
 * Hugging Face's token-classification pipeline post-processing.
 *
 * Output per document (aggregation_strategy simple / first / average / max), as HF:
 *     [{"entity_group": "PER", "score": 0.98, "word": "ana garcia", "start": 32, "end": 42}, ...]
 * and for strategy none one item per token:
 *     [{"entity": "B-PER", "score": 0.98, "index": 7, "word": "ana", "start": 32, "end": 35}, ...]
 * sorted by start; start/end in Unicode code points of the original text.
 *
 * What follows HF exactly (checked against ../shared/oracle, tests/test-ner.c):
 *  - scores: softmax over the labels per token; an entity's score is the mean of its
 *    tokens' (simple) or words' (first/average/max) scores;
 *  - `word`: the tokenizer's decoder applied to the entity's tokens (HF
 *    convert_tokens_to_string, so an uncased model gives "new york" and WordPiece glues
 *    "##" pieces); for strategy none the token itself. Option "word": "text" gives
 *    text[start:end] instead (original casing and spacing);
 *  - grouping (HF group_entities): a B- tag starts an entity, an I- tag of the same type
 *    continues it, a label without B-/I- continues a run of the same label; the
 *    ignore_labels filter (default ["O"]) runs after grouping, on entity_group (on the
 *    full label for none);
 *  - first/average/max decide one label per word first (HF aggregate_words).
 * Where nlpipe differs, on purpose:
 *  - words come from the tokenizer's word ids (a token continues a word when it has the
 *    word id of the token before it), for WordPiece, BPE and Unigram alike. HF instead
 *    compares token and text lengths (WordPiece) or looks for a space before the token
 *    (other tokenizers); for WordPiece both agree except where normalisation changes a
 *    word's length (e.g. text in NFD form). The unknown token is never a subword and
 *    shows the text it covers, as in HF;
 *  - scheme "BIOES" (chosen by "auto" when some label starts with E- or S-): E-X
 *    continues B-X/I-X and closes the entity, S-X is an entity on its own, nothing
 *    continues after E-/S-. HF knows only B-/I-: under "BIO" an E-/S- label is a plain
 *    label (HF get_tag), which is what the oracle shows;
 *  - long texts: the host cuts every document into windows of models.<m>.max_length
 *    tokens overlapping by models.<m>.stride tokens (HF's stride). Each window is
 *    aggregated alone and the lists are stitched as HF's aggregate_overlapping_entities
 *    does (by start; of two overlapping entities the longer, then the higher score,
 *    wins). With stitch "join" (default) an entity cut by a window boundary comes out
 *    once and whole: two parts of the same group from different windows that overlap
 *    without one containing the other, or that meet at the boundary with the second
 *    continuing the first (I-/E- at the start of its window), are joined (score = mean
 *    of the units, word re-decoded). stitch "hf" keeps HF's rule alone. HF refuses
 *    strategy none with a stride; here each token is taken once, from the window where
 *    it is farther from the edge, and "index" counts tokens in the whole document;
 *  - default aggregation_strategy is "simple" (HF's is "none"): a pipeline step is
 *    expected to give entities.
 * Merging with rule-based entities (option merge_with = the name of an earlier
 * entity-ruler step, whose result is a list of {"entity_group","word","start","end",
 * "score","source"}): the model's entities gain "source": "model" and the two lists are
 * merged by merge_policy: "ner_first" drops rule entities that overlap a model entity,
 * "ruler_first" drops model entities that overlap a rule entity, "longest" keeps the
 * longest of overlapping entities (ties: higher score, then the rule entity). Rule
 * entities are copied as they are; the result is sorted by start. Because `requires`
 * is static ({"text", "encoder"}), validation cannot check that the step exists: a
 * document whose result has no list under that name fails with a message naming it.
 * merge_with needs an aggregated strategy (refused at validation with "none").
 *
 * Labels: the model's config.json id2label, or, when the step has a "head" folder,
 * its head.json: {"task": "token-classification", "labels": ["O", "B-PER", ...]}
 * (label i = row i of the classifier). Weights: "classifier.weight" [labels x hidden]
 * and "classifier.bias" [labels] (optional), from head.safetensors in the head folder,
 * else from the model (BertForTokenClassification, DistilBERT, RoBERTa, XLM-R, ELECTRA
 * token classifiers all use these names).
 *
 * CRF heads (`nlpipe train` with "head": {"crf": true}; any head with pytorch-crf's
 * "crf.transitions" [labels x labels, from row to column], "crf.start_transitions" and
 * "crf.end_transitions" [labels]) are decoded as `nlpipe eval HEAD` decodes them, so a
 * pipeline's entities score what eval scores (tests/test-train.c): a word is a
 * whitespace-separated word of the text with its edge punctuation cut off (as in
 * training, where the text is the record's tokens joined by spaces; the exceptions are
 * in crf.c) and its first piece the token that starts where it starts;
 * per window, one Viterbi chain (the host's crf_viterbi, ABI 1.2, the trainer's own
 * code) over the first pieces' logits; a word takes its tag from the first window
 * that has its first piece; runs of tagged words make the entities (same grouping
 * as above), spanning whole words; score = mean over the entity's words of the softmax
 * probability of the word's tag at its first piece. Every aggregated strategy gives
 * this same result (a CRF tags words; "stitch" does not apply); "none" gives one item
 * per tagged word, its first piece. head.json with
 * "crf": true but no crf.* tensors, tensors of the wrong shape, or a host older than
 * ABI 1.2 fail the documents with a message.
 *
 * The state is immutable after create(): process() may run on several batches at once. */
#include <nlpipe/plugin.h>

#include "ner.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_NAME "ner"

typedef struct ner_state {
  const nlp_host *host;
  ner_labels *labels;
  ner_strategy strategy;
  char **ignore; /* NULL-terminated */
  bool word_from_text;
  bool join;
  char *merge_with; /* NULL: no merging */
  ner_merge_policy policy;
  size_t hidden_size;
  bool crf_declared; /* head.json says "crf": true: its crf.* tensors must be there */
} ner_state;

/* ---- options ---------------------------------------------------------------------- */

static const char *const strategy_choices[] = {"none", "simple", "first", "average", "max", NULL};
static const char *const scheme_choices[] = {"auto", "BIO", "BIOES", NULL};
static const char *const word_choices[] = {"decoded", "text", NULL};
static const char *const stitch_choices[] = {"join", "hf", NULL};
static const char *const policy_choices[] = {"ner_first", "ruler_first", "longest", NULL};

static const nlp_option_spec ner_options[] = {
    {.name = "aggregation_strategy",
     .type = NLP_OPTION_ENUM,
     .default_json = "\"simple\"",
     .description = "HF aggregation: none (one item per token), simple (group tokens), first / "
                    "average / max (one label per word from its first / mean / best token)",
     .choices = strategy_choices},
    {.name = "ignore_labels",
     .type = NLP_OPTION_STRING_LIST,
     .default_json = "[\"O\"]",
     .description = "entity groups (labels, for none) left out of the output"},
    {.name = "scheme",
     .type = NLP_OPTION_ENUM,
     .default_json = "\"auto\"",
     .description = "tag scheme for grouping: BIO (HF), BIOES (E- closes, S- stands alone), "
                    "auto = BIOES when a label starts with E- or S-",
     .choices = scheme_choices},
    {.name = "word",
     .type = NLP_OPTION_ENUM,
     .default_json = "\"decoded\"",
     .description = "\"word\" field: decoded from the tokens (HF) or the text[start:end]",
     .choices = word_choices},
    {.name = "stitch",
     .type = NLP_OPTION_ENUM,
     .default_json = "\"join\"",
     .description = "windows of a long text: hf (overlaps resolved, longer wins) or join (the "
                    "same, and parts of one entity cut by a window boundary are joined)",
     .choices = stitch_choices},
    {.name = "merge_with",
     .type = NLP_OPTION_STRING,
     .flags = NLP_OPTION_NULLABLE,
     .default_json = "null",
     .description = "name of an earlier entity-ruler step whose entities are merged in"},
    {.name = "merge_policy",
     .type = NLP_OPTION_ENUM,
     .default_json = "\"ner_first\"",
     .description = "overlaps with merge_with's entities: ner_first drops the rule entity, "
                    "ruler_first the model entity, longest keeps the longer",
     .choices = policy_choices},
};

static const char *const ner_requires[] = {"text", "encoder", NULL};
static const char *const ner_produces[] = {"entities", NULL};

static const char *option_string(struct json_object *options, const char *key) {
  struct json_object *v;
  if (options && json_object_object_get_ex(options, key, &v) &&
      json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return NULL;
}

static int choice_index(const char *const *choices, const char *value, int fallback) {
  for (int i = 0; value && choices[i]; i++)
    if (!strcmp(choices[i], value)) return i;
  return fallback;
}

static char *dup_error(const char *fmt, const char *arg) {
  char *s = g_strdup_printf(fmt, arg);
  char *out = strdup(s); /* the host free()s what plugins return */
  g_free(s);
  return out;
}

static nlp_status ner_validate(struct json_object *options, char **path, char **error) {
  const char *merge = option_string(options, "merge_with");
  const char *strategy = option_string(options, "aggregation_strategy");
  if (merge && !*merge) {
    *path = strdup("merge_with");
    *error = strdup("expected the name of an earlier step (or null), got \"\"");
    return NLP_STATUS_FAILED;
  }
  if (merge && strategy && !strcmp(strategy, "none")) {
    *path = strdup("merge_with");
    *error = dup_error("merging with step \"%s\" needs entities: set aggregation_strategy to "
                       "simple, first, average or max (it is \"none\")",
                       merge);
    return NLP_STATUS_FAILED;
  }
  struct json_object *ignore;
  if (options && json_object_object_get_ex(options, "ignore_labels", &ignore) && ignore)
    for (size_t i = 0; i < json_object_array_length(ignore); i++)
      if (!json_object_get_string_len(json_object_array_get_idx(ignore, i))) {
        char *p = g_strdup_printf("ignore_labels[%zu]", i);
        *path = strdup(p);
        g_free(p);
        *error = strdup("expected a label name, got \"\"");
        return NLP_STATUS_FAILED;
      }
  return NLP_STATUS_OK;
}

/* ---- create / destroy ------------------------------------------------------------- */

static void ner_destroy(void *p) {
  ner_state *st = p;
  if (!st) return;
  ner_labels_free(st->labels);
  g_strfreev(st->ignore);
  g_free(st->merge_with);
  g_free(st);
}

static nlp_status ner_create(const nlp_host *host, const nlp_step_info *step, void **state,
                             char **error) {
  *state = NULL;
  const nlp_model_info *info = step->model ? host->model_info(step->model) : NULL;
  if (!info) {
    *error = strdup("the ner step needs a model (\"model\": a name from \"models\")");
    return NLP_STATUS_FAILED;
  }
  size_t n = 0;
  char *why = NULL;
  char **names = ner_labels_read(step->head_dir, info->config, &n, &why);
  if (!names) {
    *error = strdup(why);
    g_free(why);
    return NLP_STATUS_FAILED;
  }
  struct json_object *o = step->options;
  ner_state *st = g_new0(ner_state, 1);
  st->host = host;
  st->hidden_size = info->hidden_size;
  st->labels = ner_labels_new((const char *const *)names, n,
                              (ner_scheme)choice_index(scheme_choices, option_string(o, "scheme"), 0));
  g_strfreev(names);
  st->strategy = (ner_strategy)choice_index(strategy_choices,
                                            option_string(o, "aggregation_strategy"), 1);
  st->word_from_text = choice_index(word_choices, option_string(o, "word"), 0) == 1;
  st->join = choice_index(stitch_choices, option_string(o, "stitch"), 0) == 0;
  st->policy = (ner_merge_policy)choice_index(policy_choices, option_string(o, "merge_policy"), 0);
  const char *merge = option_string(o, "merge_with");
  st->merge_with = merge ? g_strdup(merge) : NULL;
  st->crf_declared = ner_head_declares_crf(step->head_dir);
  struct json_object *ignore;
  if (o && json_object_object_get_ex(o, "ignore_labels", &ignore) &&
      json_object_is_type(ignore, json_type_array)) {
    size_t k = json_object_array_length(ignore);
    st->ignore = g_new0(char *, k + 1);
    for (size_t i = 0; i < k; i++)
      st->ignore[i] = g_strdup(json_object_get_string(json_object_array_get_idx(ignore, i)));
  } else {
    st->ignore = g_new0(char *, 2);
    st->ignore[0] = g_strdup("O");
  }
  *state = st;
  return NLP_STATUS_OK;
}

/* ---- one document ----------------------------------------------------------------- */

/* The ABI 1.1 tokenizer services, when the host has them. */
static bool host_has_tokens(const nlp_host *h) {
  return h->struct_size >= offsetof(nlp_host, unk_id) + sizeof(h->unk_id) && h->id_to_token &&
         h->decode_tokens && h->unk_id;
}

typedef struct {
  const nlp_host *host;
  nlp_batch *batch;
} decode_ctx;

/* The ABI 1.2 CRF decoder, when the host has it. */
static bool host_has_crf(const nlp_host *h) {
  return h->struct_size >= offsetof(nlp_host, crf_viterbi) + sizeof(h->crf_viterbi) &&
         h->crf_viterbi;
}

static char *decode_with_host(void *p, const char *const *pieces, size_t n) {
  decode_ctx *d = p;
  return host_has_tokens(d->host) ? d->host->decode_tokens(d->batch, pieces, n) : NULL;
}

/* Byte offset of every code point of TEXT (and of its end). */
static size_t *code_point_bytes(const char *text, size_t len, size_t *n_cp) {
  size_t n = (size_t)g_utf8_strlen(text, (gssize)len);
  size_t *at = g_new(size_t, n + 1);
  const char *p = text;
  for (size_t i = 0; i < n; i++, p = g_utf8_next_char(p)) at[i] = (size_t)(p - text);
  at[n] = len;
  *n_cp = n;
  return at;
}

typedef struct {
  const char *text;
  const size_t *cp;
  size_t n_cp;
} doc_text;

static char *text_slice(const doc_text *t, int32_t start, int32_t end) {
  size_t s = start < 0 ? 0 : (size_t)start, e = end < 0 ? 0 : (size_t)end;
  if (s > t->n_cp) s = t->n_cp;
  if (e > t->n_cp) e = t->n_cp;
  if (e < s) e = s;
  return g_strndup(t->text + t->cp[s], t->cp[e] - t->cp[s]);
}

/* Softmax rows in place (HF: exp(x - max) / sum, per token). */
static void softmax_rows(float *x, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; r++) {
    float *v = x + r * cols, m = v[0];
    for (size_t j = 1; j < cols; j++)
      if (v[j] > m) m = v[j];
    double sum = 0;
    for (size_t j = 0; j < cols; j++) sum += exp((double)v[j] - m);
    for (size_t j = 0; j < cols; j++) v[j] = (float)(exp((double)v[j] - m) / sum);
  }
}

typedef struct {
  GArray *tokens;     /* ner_token, text tokens of the window */
  GArray *ids;        /* int32 id per text token, for matching overlaps */
} window_tokens;

/* HF gather_pre_entities for one window. */
static void gather_tokens(const ner_state *st, nlp_batch *batch, const nlp_window *w,
                          const float *probs, const doc_text *t, GPtrArray *owned,
                          window_tokens *out) {
  const nlp_host *h = st->host;
  int32_t unk = host_has_tokens(h) ? h->unk_id(batch) : -1;
  int32_t prev_word = -1;
  bool have_prev = false;
  for (size_t i = 0; i < w->n_tokens; i++) {
    if (w->seq_ids[i] < 0) continue; /* special tokens */
    int32_t s = w->offsets[2 * i], e = w->offsets[2 * i + 1];
    const char *piece = host_has_tokens(h) ? h->id_to_token(batch, w->ids[i]) : NULL;
    bool is_unk = w->ids[i] == unk || !piece;
    if (is_unk) { /* HF: the word is the text it covers, never a subword */
      char *slice = text_slice(t, s, e);
      g_ptr_array_add(owned, slice);
      piece = slice;
    }
    ner_token tok = {
        .piece = piece,
        .start = s,
        .end = e,
        .index = i,
        .is_subword = !is_unk && have_prev && w->word_ids[i] >= 0 && w->word_ids[i] == prev_word,
        .scores = probs + i * st->labels->n,
    };
    g_array_append_val(out->tokens, tok);
    g_array_append_val(out->ids, w->ids[i]);
    prev_word = w->word_ids[i];
    have_prev = true;
  }
}

static bool same_token(const window_tokens *a, size_t i, const window_tokens *b, size_t j) {
  const ner_token *x = &g_array_index(a->tokens, ner_token, i), *y = &g_array_index(b->tokens, ner_token, j);
  return g_array_index(a->ids, int32_t, i) == g_array_index(b->ids, int32_t, j) &&
         x->start == y->start && x->end == y->end;
}

/* Tokens shared by the end of PREV and the start of CUR (the stride), found by
 * matching rather than computed, so any host windowing works. */
static size_t overlap_of(const window_tokens *prev, const window_tokens *cur) {
  size_t np = prev->tokens->len, nc = cur->tokens->len;
  for (size_t o = np < nc ? np : nc; o > 0; o--) {
    size_t j = 0;
    while (j < o && same_token(prev, np - o + j, cur, j)) j++;
    if (j == o) return o;
  }
  return 0;
}

/* Strategy none over several windows: each token once, from the window where it is
 * farther from the edge (ties: the earlier window); index counts document tokens. */
static GArray *dedupe_tokens(window_tokens *wt, size_t n_windows) {
  GArray *all = g_array_new(FALSE, FALSE, sizeof(ner_token));
  size_t lead = wt[0].tokens->len ? g_array_index(wt[0].tokens, ner_token, 0).index : 0;
  size_t base = 0;
  for (size_t k = 0; k < n_windows; k++) {
    size_t skip = 0;
    if (k > 0) {
      size_t o = overlap_of(&wt[k - 1], &wt[k]);
      skip = (o + 1) / 2;
      g_array_set_size(all, all->len - (o - skip));
      base += wt[k - 1].tokens->len - o;
    }
    for (size_t j = skip; j < wt[k].tokens->len; j++) {
      ner_token t = g_array_index(wt[k].tokens, ner_token, j);
      t.index = lead + base + j;
      g_array_append_val(all, t);
    }
  }
  return all;
}

static struct json_object *entity_json(const ner_state *st, const ner_entity *e, const doc_text *t,
                                       bool with_source) {
  struct json_object *o = json_object_new_object();
  char *word = st->word_from_text ? text_slice(t, e->start, e->end) : NULL;
  if (st->strategy == NER_AGG_NONE)
    json_object_object_add(o, "entity", json_object_new_string(st->labels->names[e->label]));
  else
    json_object_object_add(o, "entity_group", json_object_new_string(st->labels->groups[e->label]));
  json_object_object_add(o, "score", json_object_new_double(e->score));
  if (st->strategy == NER_AGG_NONE) json_object_object_add(o, "index", json_object_new_int64((int64_t)e->index));
  json_object_object_add(o, "word", json_object_new_string(word ? word : e->word ? e->word : ""));
  json_object_object_add(o, "start", json_object_new_int(e->start));
  json_object_object_add(o, "end", json_object_new_int(e->end));
  if (with_source) json_object_object_add(o, "source", json_object_new_string("model"));
  g_free(word);
  return o;
}

static bool json_int_field(struct json_object *o, const char *key, int32_t *out) {
  struct json_object *v;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) return false;
  *out = (int32_t)json_object_get_int64(v);
  return true;
}

/* The model's entities merged with step merge_with's; NULL with *why on a bad result. */
static struct json_object *merged_json(const ner_state *st, nlp_batch *batch, size_t doc,
                                       GPtrArray *entities, const doc_text *t, char **why) {
  struct json_object *rules = st->host->doc_result(batch, doc, st->merge_with);
  if (!rules || !json_object_is_type(rules, json_type_array)) {
    *why = g_strdup_printf("merge_with: step \"%s\" left no list of entities for this document "
                           "(it must be an earlier step, e.g. entity-ruler)",
                           st->merge_with);
    return NULL;
  }
  size_t n_rules = json_object_array_length(rules);
  ner_span *model = g_new0(ner_span, entities->len + 1), *rule = g_new0(ner_span, n_rules + 1);
  for (guint i = 0; i < entities->len; i++) {
    ner_entity *e = g_ptr_array_index(entities, i);
    model[i] = (ner_span){e->start, e->end, e->score, false, i, e};
  }
  for (size_t i = 0; i < n_rules; i++) {
    struct json_object *r = json_object_array_get_idx(rules, i), *score;
    ner_span s = {.from_rules = true, .order = i, .data = r, .score = 1.0};
    if (!json_object_is_type(r, json_type_object) || !json_int_field(r, "start", &s.start) ||
        !json_int_field(r, "end", &s.end)) {
      *why = g_strdup_printf("merge_with: step \"%s\" entity %zu: expected an object with integer "
                             "\"start\" and \"end\"",
                             st->merge_with, i);
      g_free(model);
      g_free(rule);
      return NULL;
    }
    if (json_object_object_get_ex(r, "score", &score) &&
        (json_object_is_type(score, json_type_double) || json_object_is_type(score, json_type_int)))
      s.score = json_object_get_double(score);
    rule[i] = s;
  }
  GArray *kept = ner_merge(model, entities->len, rule, n_rules, st->policy);
  struct json_object *out = json_object_new_array();
  for (guint i = 0; i < kept->len; i++) {
    const ner_span *s = &g_array_index(kept, ner_span, i);
    struct json_object *item = NULL;
    if (s->from_rules) json_object_deep_copy(s->data, &item, NULL);
    else item = entity_json(st, s->data, t, true);
    json_object_array_add(out, item);
  }
  g_array_free(kept, TRUE);
  g_free(model);
  g_free(rule);
  return out;
}

/* Entities of one document from its windows (WINS[0..n), in window order); CRF NULL
 * unless the head is a CRF. */
static void process_doc(const ner_state *st, nlp_batch *batch, size_t doc, const nlp_window *const *wins,
                        size_t n, const nlp_tensor_view *weight, const nlp_tensor_view *bias,
                        const ner_crf *crf) {
  const nlp_host *h = st->host;
  size_t len = 0, nl = st->labels->n;
  const char *text = h->doc_text(batch, doc, &len);
  doc_text t = {.text = text};
  size_t *cp = code_point_bytes(text, len, &t.n_cp);
  t.cp = cp;
  GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
  window_tokens *wt = g_new0(window_tokens, n);
  float **probs = g_new0(float *, n), **logits = g_new0(float *, n);
  decode_ctx dc = {h, batch};
  ner_context cx = {st->labels, st->strategy, decode_with_host, &dc, st->ignore};
  for (size_t k = 0; k < n; k++) {
    const nlp_window *w = wins[k];
    size_t rows = (w->n_tokens ? w->n_tokens : 1) * nl;
    probs[k] = g_new(float, rows);
    h->linear(w->hidden, w->n_tokens, st->hidden_size, weight->data, bias ? bias->data : NULL, nl,
              probs[k]);
    if (crf) logits[k] = g_memdup2(probs[k], rows * sizeof(float)); /* the CRF's emissions */
    softmax_rows(probs[k], w->n_tokens, nl);
    wt[k].tokens = g_array_new(FALSE, FALSE, sizeof(ner_token));
    wt[k].ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    gather_tokens(st, batch, w, probs[k], &t, owned, &wt[k]);
  }
  GPtrArray *entities;
  if (crf) {
    ner_crf_window *cw = g_new0(ner_crf_window, n);
    for (size_t k = 0; k < n; k++)
      cw[k] = (ner_crf_window){(const ner_token *)(void *)wt[k].tokens->data, wt[k].tokens->len,
                               logits[k], k ? overlap_of(&wt[k - 1], &wt[k]) : 0};
    entities = ner_crf_decode(&cx, crf, text, len, cw, n);
    g_free(cw);
  } else if (st->strategy == NER_AGG_NONE) {
    GArray *all = n > 1 ? dedupe_tokens(wt, n) : NULL;
    const GArray *use = all ? all : wt[0].tokens;
    entities = ner_window_aggregate(&cx, (const ner_token *)(const void *)use->data, use->len, 0);
    if (all) g_array_free(all, TRUE);
  } else if (n == 1) {
    entities = ner_window_aggregate(&cx, (const ner_token *)(void *)wt[0].tokens->data,
                                    wt[0].tokens->len, 0);
  } else {
    GPtrArray *per = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    for (size_t k = 0; k < n; k++)
      g_ptr_array_add(per, ner_window_aggregate(&cx, (const ner_token *)(void *)wt[k].tokens->data,
                                                wt[k].tokens->len, k));
    entities = ner_stitch(&cx, per, st->join);
    g_ptr_array_unref(per);
  }
  struct json_object *result = NULL;
  if (st->merge_with) {
    char *why = NULL;
    result = merged_json(st, batch, doc, entities, &t, &why);
    if (!result) {
      h->set_error(batch, doc, why);
      g_free(why);
    }
  } else {
    result = json_object_new_array();
    for (guint i = 0; i < entities->len; i++)
      json_object_array_add(result, entity_json(st, g_ptr_array_index(entities, i), &t, false));
  }
  if (result) h->set_result(batch, doc, result);
  g_ptr_array_unref(entities);
  for (size_t k = 0; k < n; k++) {
    g_array_free(wt[k].tokens, TRUE);
    g_array_free(wt[k].ids, TRUE);
    g_free(probs[k]);
    g_free(logits[k]);
  }
  g_free(wt);
  g_free(probs);
  g_free(logits);
  g_ptr_array_unref(owned);
  g_free(cp);
}

/* ---- process ---------------------------------------------------------------------- */

static nlp_status ner_process(void *p, nlp_batch *batch) {
  const ner_state *st = p;
  const nlp_host *h = st->host;
  size_t n_docs = h->batch_size(batch);
  const nlp_window *windows = NULL;
  size_t n_windows = h->batch_windows(batch, &windows);
  const nlp_tensor_view *weight = h->tensor(batch, "classifier.weight");
  const nlp_tensor_view *bias = h->tensor(batch, "classifier.bias");
  char *bad = NULL;
  if (!weight || weight->ndim != 2)
    bad = g_strdup("no token-classification head: \"classifier.weight\" [labels x hidden] is in "
                   "neither the step's head folder nor the model");
  else if (weight->shape[0] != st->labels->n || weight->shape[1] != st->hidden_size)
    bad = g_strdup_printf("classifier.weight is [%zu x %zu], expected [%zu labels x %zu hidden]",
                          weight->shape[0], weight->shape[1], st->labels->n, st->hidden_size);
  else if (bias && (bias->ndim != 1 || bias->shape[0] != st->labels->n))
    bad = g_strdup_printf("classifier.bias has %zu values, expected %zu (one per label)",
                          bias->ndim == 1 ? bias->shape[0] : 0, st->labels->n);
  /* A CRF head (pytorch-crf's names, written by `nlpipe train` with "crf": true). */
  const nlp_tensor_view *trans = bad ? NULL : h->tensor(batch, "crf.transitions");
  const nlp_tensor_view *t_start = trans ? h->tensor(batch, "crf.start_transitions") : NULL;
  const nlp_tensor_view *t_end = trans ? h->tensor(batch, "crf.end_transitions") : NULL;
  size_t nl = st->labels->n;
  if (!bad && !trans && st->crf_declared)
    bad = g_strdup("head.json says \"crf\": true but \"crf.transitions\" is not in the head");
  else if (trans && (trans->ndim != 2 || trans->shape[0] != nl || trans->shape[1] != nl))
    bad = g_strdup_printf("crf.transitions: expected [%zu x %zu] (labels x labels)", nl, nl);
  else if (trans && (!t_start || t_start->ndim != 1 || t_start->shape[0] != nl || !t_end ||
                     t_end->ndim != 1 || t_end->shape[0] != nl))
    bad = g_strdup_printf("a CRF head needs crf.start_transitions and crf.end_transitions of %zu "
                          "values (one per label)", nl);
  else if (trans && !host_has_crf(h))
    bad = g_strdup_printf("a CRF head needs the host's crf_viterbi (plugin ABI %u.2); this host "
                          "is ABI %u.%u", NLP_PLUGIN_ABI_MAJOR, NLP_PLUGIN_ABI_MAJOR_OF(h->abi_version),
                          NLP_PLUGIN_ABI_MINOR_OF(h->abi_version));
  ner_crf crf = {0};
  if (trans && !bad)
    crf = (ner_crf){trans->data, t_start->data, t_end->data, h->crf_viterbi};
  if (bad) {
    h->log(NLP_LOG_ERROR, PLUGIN_NAME, "%s", bad);
    for (size_t d = 0; d < n_docs; d++) h->set_error(batch, d, bad);
    g_free(bad);
    return NLP_STATUS_OK;
  }
  /* Windows come grouped by document, in window order. */
  GPtrArray **by_doc = g_new0(GPtrArray *, n_docs + 1);
  for (size_t i = 0; i < n_windows; i++) {
    size_t d = windows[i].doc;
    if (d >= n_docs || !windows[i].hidden) continue;
    if (!by_doc[d]) by_doc[d] = g_ptr_array_new();
    g_ptr_array_add(by_doc[d], (gpointer)&windows[i]);
  }
  for (size_t d = 0; d < n_docs; d++) {
    if (!by_doc[d]) continue; /* the host failed it while encoding */
    process_doc(st, batch, d, (const nlp_window *const *)by_doc[d]->pdata, by_doc[d]->len, weight,
                bias, crf.viterbi ? &crf : NULL);
    g_ptr_array_free(by_doc[d], TRUE);
  }
  g_free(by_doc);
  return NLP_STATUS_OK;
}

static const nlp_plugin_desc ner_desc = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .license = "MIT",
    .task = "ner",
    .description =
        "Named entities from a token-classification head on the shared encoder pass, with "
        "Hugging Face's aggregation strategies (none, simple, first, average, max), word-aware "
        "through the tokenizer's word ids, BIO and BIOES tags, long texts in overlapping "
        "windows stitched without duplicates, CRF heads decoded by Viterbi over the words' "
        "first pieces (as nlpipe eval), and optional merging with an entity-ruler step. "
        "Output: [{\"entity_group\",\"score\",\"word\",\"start\",\"end\"}], code-point offsets.",
    .options = ner_options,
    .n_options = sizeof ner_options / sizeof ner_options[0],
    .requires = ner_requires,
    .produces = ner_produces,
    .validate = ner_validate,
    .create = ner_create,
    .process = ner_process,
    .destroy = ner_destroy,
};

NLP_PLUGIN_DEFINE(ner_desc)
