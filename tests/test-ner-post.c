/* The ner plugin's post-processing on hand-made scores, with hand-derived expectations:
 * word aggregation (first / average / max), BIO grouping as HF vs BIOES grouping,
 * ignore_labels, an entity cut by a window boundary (HF keeps the longer part; stitch
 * "join" gives it once and whole, with and without overlap), the merge policies, and a
 * CRF head's decoding (a hand-computed Viterbi path over the words' first pieces that
 * per-token argmax would not give; the first window that has a word tags it).
 * The plugin's host-free files are compiled into this suite, with the core's Viterbi. */
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"

#include "tensor/crf.h"

#include "../plugins/ner/aggregate.c"
#include "../plugins/ner/crf.c"
#include "../plugins/ner/labels.c"
#include "../plugins/ner/merge.c"
#include "../plugins/ner/stitch.c"

/* WordPiece's decoder: pieces joined by spaces, "##" glued to the piece before. */
static char *fake_decode(void *ctx, const char *const *pieces, size_t n) {
  (void)ctx;
  GString *g = g_string_new(NULL);
  for (size_t i = 0; i < n; i++) {
    if (i && !strncmp(pieces[i], "##", 2)) g_string_append(g, pieces[i] + 2);
    else {
      if (i) g_string_append_c(g, ' ');
      g_string_append(g, pieces[i]);
    }
  }
  char *s = strdup(g->str);
  g_string_free(g, TRUE);
  return s;
}

static const char *const bio_names[] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
static const char *const bioes_names[] = {"O", "B-PER", "I-PER", "E-PER", "S-PER"};
static char *ignore_o[] = {"O", NULL};
static char *ignore_none[] = {NULL};

/* A token whose scores put P on label K and the rest evenly on the others. */
typedef struct {
  const char *piece;
  int32_t start, end;
  bool sub;
  int label;
  float p;
} tok_spec;

static ner_token *make_tokens(const tok_spec *spec, size_t n, size_t n_labels, float **rows) {
  ner_token *t = g_new0(ner_token, n);
  *rows = g_new0(float, n * n_labels);
  for (size_t i = 0; i < n; i++) {
    float *r = *rows + i * n_labels;
    for (size_t j = 0; j < n_labels; j++) r[j] = (1.0f - spec[i].p) / (float)(n_labels - 1);
    r[spec[i].label] = spec[i].p;
    t[i] = (ner_token){spec[i].piece, spec[i].start, spec[i].end, i + 1, spec[i].sub, r};
  }
  return t;
}

static ner_entity *at(GPtrArray *a, guint i) { return g_ptr_array_index(a, i); }

/* "Ana Mariana lives in New York": mari ##ana with disagreeing labels. */
static void test_word_strategies(void) {
  ner_labels *l = ner_labels_new(bio_names, 5, NER_SCHEME_AUTO);
  const tok_spec spec[] = {
      {"ana", 0, 3, false, 1, 0.9f},     {"mari", 4, 8, false, 2, 0.6f},
      {"##ana", 8, 11, true, 0, 0.8f},   {"lives", 12, 17, false, 0, 0.99f},
      {"in", 18, 20, false, 0, 0.99f},   {"new", 21, 24, false, 3, 0.7f},
      {"york", 25, 29, false, 4, 0.5f},
  };
  float *rows;
  ner_token *t = make_tokens(spec, 7, 5, &rows);
  ner_context cx = {l, NER_AGG_FIRST, fake_decode, NULL, ignore_o};
  /* first: "mariana" takes mari's I-PER (0.6): PER "ana mariana" (0.9+0.6)/2. */
  GPtrArray *e = ner_window_aggregate(&cx, t, 7, 0);
  CU_ASSERT_EQUAL_FATAL(e->len, 2);
  CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "ana mariana");
  CU_ASSERT_STRING_EQUAL(l->groups[at(e, 0)->label], "PER");
  CU_ASSERT_DOUBLE_EQUAL(at(e, 0)->score, 0.75, 1e-6);
  CU_ASSERT_EQUAL(at(e, 0)->start, 0);
  CU_ASSERT_EQUAL(at(e, 0)->end, 11);
  CU_ASSERT_STRING_EQUAL(at(e, 1)->word, "new york");
  CU_ASSERT_DOUBLE_EQUAL(at(e, 1)->score, 0.6, 1e-6);
  g_ptr_array_unref(e);
  /* max: ##ana's O (0.8) beats mari's 0.6: "mariana" is O, PER "ana" alone. */
  cx.strategy = NER_AGG_MAX;
  e = ner_window_aggregate(&cx, t, 7, 0);
  CU_ASSERT_EQUAL_FATAL(e->len, 2);
  CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "ana");
  CU_ASSERT_DOUBLE_EQUAL(at(e, 0)->score, 0.9, 1e-6);
  g_ptr_array_unref(e);
  /* average: I-PER (0.6 + 0.05)/2 = 0.325 vs O (0.1 + 0.8)/2 = 0.45: O. */
  cx.strategy = NER_AGG_AVERAGE;
  e = ner_window_aggregate(&cx, t, 7, 0);
  CU_ASSERT_EQUAL_FATAL(e->len, 2);
  CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "ana");
  g_ptr_array_unref(e);
  /* simple: tokens; "##ana" is O and splits nothing from the PER run "ana mari". */
  cx.strategy = NER_AGG_SIMPLE;
  e = ner_window_aggregate(&cx, t, 7, 0);
  CU_ASSERT_EQUAL_FATAL(e->len, 2);
  CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "ana mari");
  CU_ASSERT_EQUAL(at(e, 0)->end, 8);
  g_ptr_array_unref(e);
  /* none: one item per token, O left out; index = position in the window. */
  cx.strategy = NER_AGG_NONE;
  e = ner_window_aggregate(&cx, t, 7, 0);
  CU_ASSERT_EQUAL_FATAL(e->len, 4);
  CU_ASSERT_STRING_EQUAL(at(e, 1)->word, "mari");
  CU_ASSERT_EQUAL(at(e, 1)->index, 2);
  CU_ASSERT_STRING_EQUAL(l->names[at(e, 1)->label], "I-PER");
  g_ptr_array_unref(e);
  g_free(t);
  g_free(rows);
  ner_labels_free(l);
}

/* B I E I S S B E: BIOES gives [B I E] [I] [S] [S] [B E]; HF's BIO reading groups
 * same-label runs of E-/S- and I- after B-. */
static void test_bioes_grouping(void) {
  const int labels[] = {1, 2, 3, 2, 4, 4, 1, 3};
  tok_spec spec[8];
  const char *words[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
  for (int i = 0; i < 8; i++) spec[i] = (tok_spec){words[i], 2 * i, 2 * i + 1, false, labels[i], 0.8f};
  float *rows;
  ner_token *t = make_tokens(spec, 8, 5, &rows);
  ner_labels *bioes = ner_labels_new(bioes_names, 5, NER_SCHEME_AUTO);
  CU_ASSERT_EQUAL(bioes->scheme, NER_SCHEME_BIOES);
  ner_context cx = {bioes, NER_AGG_SIMPLE, fake_decode, NULL, ignore_o};
  GPtrArray *e = ner_window_aggregate(&cx, t, 8, 0);
  const char *want[] = {"a b c", "d", "e", "f", "g h"};
  CU_ASSERT_EQUAL_FATAL(e->len, 5);
  for (guint i = 0; i < 5; i++) {
    CU_ASSERT_STRING_EQUAL(at(e, i)->word, want[i]);
    CU_ASSERT_STRING_EQUAL(bioes->groups[at(e, i)->label], "PER");
  }
  g_ptr_array_unref(e);
  ner_labels *bio = ner_labels_new(bioes_names, 5, NER_SCHEME_BIO);
  cx.labels = bio;
  e = ner_window_aggregate(&cx, t, 8, 0);
  /* HF get_tag: B-PER/I-PER are tag PER, E-PER and S-PER their own tags. */
  const char *want_hf[] = {"a b", "c", "d", "e f", "g", "h"};
  CU_ASSERT_EQUAL_FATAL(e->len, 6);
  for (guint i = 0; i < 6; i++) CU_ASSERT_STRING_EQUAL(at(e, i)->word, want_hf[i]);
  g_ptr_array_unref(e);
  g_free(t);
  g_free(rows);
  ner_labels_free(bio);
  ner_labels_free(bioes);
}

/* ignore_labels runs after grouping: an ignored label still ends a group. */
static void test_ignore_labels(void) {
  ner_labels *l = ner_labels_new(bio_names, 5, NER_SCHEME_AUTO);
  const tok_spec spec[] = {{"x", 0, 1, false, 1, 0.9f}, {"y", 2, 3, false, 0, 0.9f},
                           {"z", 4, 5, false, 0, 0.7f}, {"w", 6, 7, false, 4, 0.9f}};
  float *rows;
  ner_token *t = make_tokens(spec, 4, 5, &rows);
  ner_context cx = {l, NER_AGG_SIMPLE, fake_decode, NULL, ignore_none};
  GPtrArray *e = ner_window_aggregate(&cx, t, 4, 0);
  CU_ASSERT_EQUAL_FATAL(e->len, 3); /* PER x, O "y z", LOC w */
  CU_ASSERT_STRING_EQUAL(l->groups[at(e, 1)->label], "O");
  CU_ASSERT_STRING_EQUAL(at(e, 1)->word, "y z");
  CU_ASSERT_DOUBLE_EQUAL(at(e, 1)->score, 0.8, 1e-6);
  g_ptr_array_unref(e);
  char *ignore_per[] = {"O", "PER", NULL};
  cx.ignore = ignore_per;
  e = ner_window_aggregate(&cx, t, 4, 0);
  CU_ASSERT_EQUAL_FATAL(e->len, 1);
  CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "w");
  g_ptr_array_unref(e);
  /* none: the filter looks at full labels. */
  char *ignore_bper[] = {"O", "B-PER", NULL};
  cx.ignore = ignore_bper;
  cx.strategy = NER_AGG_NONE;
  e = ner_window_aggregate(&cx, t, 4, 0);
  CU_ASSERT_EQUAL_FATAL(e->len, 1);
  CU_ASSERT_STRING_EQUAL(l->names[at(e, 0)->label], "I-LOC");
  g_ptr_array_unref(e);
  g_free(t);
  g_free(rows);
  ner_labels_free(l);
}

/* "maria new york city today", cut into two windows. */
static GPtrArray *two_windows(const ner_context *cx, const tok_spec *w0, size_t n0, const tok_spec *w1,
                              size_t n1, float **r0, float **r1, ner_token **t0, ner_token **t1) {
  *t0 = make_tokens(w0, n0, 5, r0);
  *t1 = make_tokens(w1, n1, 5, r1);
  GPtrArray *per = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
  g_ptr_array_add(per, ner_window_aggregate(cx, *t0, n0, 0));
  g_ptr_array_add(per, ner_window_aggregate(cx, *t1, n1, 1));
  return per;
}

static void test_split_entity_overlap(void) {
  ner_labels *l = ner_labels_new(bio_names, 5, NER_SCHEME_AUTO);
  ner_context cx = {l, NER_AGG_SIMPLE, fake_decode, NULL, ignore_o};
  /* Window 0 ends inside the entity; window 1 (stride 2: "new york") starts inside it,
   * and there the model sees "new" as O. */
  const tok_spec w0[] = {{"maria", 0, 5, false, 0, 0.9f}, {"new", 6, 9, false, 3, 0.8f},
                         {"york", 10, 14, false, 4, 0.6f}};
  const tok_spec w1[] = {{"new", 6, 9, false, 0, 0.5f}, {"york", 10, 14, false, 4, 0.7f},
                         {"city", 15, 19, false, 4, 0.9f}, {"today", 20, 25, false, 0, 0.9f}};
  for (int join_parts = 0; join_parts < 2; join_parts++) {
    float *r0, *r1;
    ner_token *t0, *t1;
    GPtrArray *per = two_windows(&cx, w0, 3, w1, 4, &r0, &r1, &t0, &t1);
    GPtrArray *e = ner_stitch(&cx, per, join_parts);
    CU_ASSERT_EQUAL_FATAL(e->len, 1);
    if (!join_parts) { /* HF: "new york" [6,14) vs "york city" [10,19): the longer, cut */
      CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "york city");
      CU_ASSERT_EQUAL(at(e, 0)->start, 10);
      CU_ASSERT_DOUBLE_EQUAL(at(e, 0)->score, 0.8, 1e-6);
    } else { /* once and whole: new, york (window 0), city (window 1) */
      CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "new york city");
      CU_ASSERT_EQUAL(at(e, 0)->start, 6);
      CU_ASSERT_EQUAL(at(e, 0)->end, 19);
      CU_ASSERT_DOUBLE_EQUAL(at(e, 0)->score, (0.8 + 0.6 + 0.9) / 3, 1e-6);
    }
    g_ptr_array_unref(e);
    g_ptr_array_unref(per);
    g_free(t0);
    g_free(t1);
    g_free(r0);
    g_free(r1);
  }
  ner_labels_free(l);
}

/* No overlap (stride 0): window 1 starts with I-LOC continuing window 0's last token. */
static void test_split_entity_boundary(void) {
  ner_labels *l = ner_labels_new(bio_names, 5, NER_SCHEME_AUTO);
  ner_context cx = {l, NER_AGG_FIRST, fake_decode, NULL, ignore_o};
  const tok_spec w0[] = {{"maria", 0, 5, false, 1, 0.9f}, {"new", 6, 9, false, 3, 0.8f}};
  const tok_spec w1[] = {{"york", 10, 14, false, 4, 0.6f}, {"today", 15, 20, false, 0, 0.9f}};
  const tok_spec w1b[] = {{"york", 10, 14, false, 3, 0.6f}, {"today", 15, 20, false, 0, 0.9f}};
  for (int k = 0; k < 3; k++) {
    float *r0, *r1;
    ner_token *t0, *t1;
    GPtrArray *per = two_windows(&cx, w0, 2, k == 2 ? w1b : w1, 2, &r0, &r1, &t0, &t1);
    GPtrArray *e = ner_stitch(&cx, per, k != 0);
    if (k == 1) { /* join: PER maria, LOC "new york" */
      CU_ASSERT_EQUAL_FATAL(e->len, 2);
      CU_ASSERT_STRING_EQUAL(at(e, 1)->word, "new york");
      CU_ASSERT_DOUBLE_EQUAL(at(e, 1)->score, 0.7, 1e-6);
    } else { /* HF; or a B- tag opening window 1: two entities */
      CU_ASSERT_EQUAL_FATAL(e->len, 3);
      CU_ASSERT_STRING_EQUAL(at(e, 1)->word, "new");
      CU_ASSERT_STRING_EQUAL(at(e, 2)->word, "york");
    }
    g_ptr_array_unref(e);
    g_ptr_array_unref(per);
    g_free(t0);
    g_free(t1);
    g_free(r0);
    g_free(r1);
  }
  ner_labels_free(l);
}

/* The same entity seen whole by both windows comes out once (HF: higher score). */
static void test_duplicate_across_windows(void) {
  ner_labels *l = ner_labels_new(bio_names, 5, NER_SCHEME_AUTO);
  ner_context cx = {l, NER_AGG_SIMPLE, fake_decode, NULL, ignore_o};
  const tok_spec w0[] = {{"in", 0, 2, false, 0, 0.9f}, {"paris", 3, 8, false, 3, 0.6f}};
  const tok_spec w1[] = {{"paris", 3, 8, false, 3, 0.7f}, {"now", 9, 12, false, 0, 0.9f}};
  float *r0, *r1;
  ner_token *t0, *t1;
  GPtrArray *per = two_windows(&cx, w0, 2, w1, 2, &r0, &r1, &t0, &t1);
  GPtrArray *e = ner_stitch(&cx, per, true);
  CU_ASSERT_EQUAL_FATAL(e->len, 1);
  CU_ASSERT_DOUBLE_EQUAL(at(e, 0)->score, 0.7, 1e-6);
  g_ptr_array_unref(e);
  g_ptr_array_unref(per);
  g_free(t0);
  g_free(t1);
  g_free(r0);
  g_free(r1);
  ner_labels_free(l);
}

static void test_merge(void) {
  /* model: [0,5) 0.9, [10,20) 0.5, [30,34) 0.8; rules: [0,11) , [12,15), [22,26), [30,34) */
  const ner_span model[] = {{0, 5, 0.9, false, 0, NULL}, {10, 20, 0.5, false, 1, NULL},
                            {30, 34, 0.8, false, 2, NULL}};
  const ner_span rules[] = {{0, 11, 1.0, true, 0, NULL}, {12, 15, 1.0, true, 1, NULL},
                            {22, 26, 1.0, true, 2, NULL}, {30, 34, 1.0, true, 3, NULL}};
  GArray *m = ner_merge(model, 3, rules, 4, NER_MERGE_NER_FIRST);
  int32_t want_ner[][2] = {{0, 5}, {10, 20}, {22, 26}, {30, 34}};
  CU_ASSERT_EQUAL_FATAL(m->len, 4);
  for (guint i = 0; i < 4; i++) {
    CU_ASSERT_EQUAL(g_array_index(m, ner_span, i).start, want_ner[i][0]);
    CU_ASSERT_EQUAL(g_array_index(m, ner_span, i).end, want_ner[i][1]);
  }
  CU_ASSERT_TRUE(g_array_index(m, ner_span, 2).from_rules);
  CU_ASSERT_FALSE(g_array_index(m, ner_span, 3).from_rules);
  g_array_free(m, TRUE);
  m = ner_merge(model, 3, rules, 4, NER_MERGE_RULER_FIRST);
  CU_ASSERT_EQUAL_FATAL(m->len, 4); /* every rule; [10,20) overlaps [0,11) and [12,15) */
  for (guint i = 0; i < 4; i++) CU_ASSERT_TRUE(g_array_index(m, ner_span, i).from_rules);
  g_array_free(m, TRUE);
  /* longest: [0,11) (rules, 11) first; [10,20) (10) overlaps it (10 < 11) and [0,5)
   * too: dropped, so [12,15) stays; [30,34) equal length: the rule's higher score. */
  m = ner_merge(model, 3, rules, 4, NER_MERGE_LONGEST);
  int32_t want_long[][3] = {{0, 11, 1}, {12, 15, 1}, {22, 26, 1}, {30, 34, 1}};
  CU_ASSERT_EQUAL_FATAL(m->len, 4);
  for (guint i = 0; i < 4; i++) {
    CU_ASSERT_EQUAL(g_array_index(m, ner_span, i).start, want_long[i][0]);
    CU_ASSERT_EQUAL(g_array_index(m, ner_span, i).end, want_long[i][1]);
    CU_ASSERT_EQUAL(g_array_index(m, ner_span, i).from_rules, want_long[i][2]);
  }
  g_array_free(m, TRUE);
  /* longest with a longer model span: the model wins over the overlapping rule. */
  const ner_span model2[] = {{0, 12, 0.3, false, 0, NULL}};
  m = ner_merge(model2, 1, rules, 1, NER_MERGE_LONGEST);
  CU_ASSERT_EQUAL_FATAL(m->len, 1);
  CU_ASSERT_FALSE(g_array_index(m, ner_span, 0).from_rules);
  g_array_free(m, TRUE);
}

static void test_labels_read(void) {
  json_object *cfg = json_tokener_parse("{\"id2label\":{\"1\":\"B-X\",\"0\":\"O\"}}");
  size_t n;
  char *err = NULL;
  char **names = ner_labels_read(NULL, cfg, &n, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(names);
  CU_ASSERT_EQUAL(n, 2);
  CU_ASSERT_STRING_EQUAL(names[0], "O");
  CU_ASSERT_STRING_EQUAL(names[1], "B-X");
  g_strfreev(names);
  json_object_put(cfg);
  cfg = json_tokener_parse("{\"id2label\":{\"0\":\"O\",\"2\":\"B-X\"}}");
  CU_ASSERT_PTR_NULL(ner_labels_read(NULL, cfg, &n, &err));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "id2label"));
  g_free(err);
  json_object_put(cfg);
  CU_ASSERT_PTR_NULL(ner_labels_read("/nonexistent-head", NULL, &n, &err));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "head.json"));
  g_free(err);
}

/* ---- CRF heads -------------------------------------------------------------------- */

static const char *const crf_names[] = {"O", "B-PER", "I-PER"};
/* O -> I and start -> I cost 10, everything else 0 */
static const float crf_trans[9] = {0, 0, -10, 0, 0, 0, 0, 0, 0};
static const float crf_start[3] = {0, 0, -10}, crf_end[3] = {0, 0, 0};

/* Softmax of each logits row into PROBS; tokens get their rows by index. */
static void crf_probs(const float *logits, size_t rows, float *probs) {
  for (size_t r = 0; r < rows; r++) {
    double s = 0;
    for (size_t j = 0; j < 3; j++) s += exp(logits[r * 3 + j]);
    for (size_t j = 0; j < 3; j++) probs[r * 3 + j] = (float)(exp(logits[r * 3 + j]) / s);
  }
}

/* Emissions of "ana", "mari", "lopez" over (O, B-PER, I-PER):
 *   ana [0 2 0], mari [1 0 0.8], lopez [0 0 3]
 * Per-token argmax reads B O I. Viterbi (start and O -> I cost 10):
 *   d0 = (0, 2, -10)
 *   d1 = (2 + 1, 2 + 0, 2 + 0.8) = (3, 2, 2.8), all from B
 *   d2 = (3 + 0, 3 + 0, max(3 - 10, 2, 2.8) + 3 = 5.8 from I)
 * best end I (5.8) <- I <- B: B-PER I-PER I-PER, one entity "ana maria lopez". */
static void test_crf_viterbi_hand(void) {
  const float em[9] = {0, 2, 0, 1, 0, 0.8f, 0, 0, 3};
  int32_t path[3] = {-1, -1, -1};
  nlp_crf_viterbi(em, 3, 3, crf_trans, crf_start, crf_end, path);
  CU_ASSERT_EQUAL(path[0], 1);
  CU_ASSERT_EQUAL(path[1], 2);
  CU_ASSERT_EQUAL(path[2], 2);
  /* without the transitions' say, the argmax path */
  const float zero[9] = {0};
  nlp_crf_viterbi(em, 3, 3, zero, zero, zero, path);
  CU_ASSERT_EQUAL(path[0], 1);
  CU_ASSERT_EQUAL(path[1], 0);
  CU_ASSERT_EQUAL(path[2], 2);
  /* the first two alone: d1 = (3, 2, 2.8), O wins at the end */
  nlp_crf_viterbi(em, 2, 3, crf_trans, crf_start, crf_end, path);
  CU_ASSERT_EQUAL(path[0], 1);
  CU_ASSERT_EQUAL(path[1], 0);
}

/* "ana maria lopez" in one window: [CLS] ana mari ##a lopez; ##a is not a first piece
 * (its strong O is never read), the words take the Viterbi tags above. */
static void test_crf_decode_window(void) {
  const char *text = "ana maria lopez";
  ner_labels *l = ner_labels_new(crf_names, 3, NER_SCHEME_AUTO);
  const float logits[15] = {9, 0, 0, /* [CLS] */ 0, 2, 0, 1, 0, 0.8f, 5, 0, 0, 0, 0, 3};
  float probs[15];
  crf_probs(logits, 5, probs);
  const ner_token t[4] = {{"ana", 0, 3, 1, false, probs + 3},
                          {"mari", 4, 8, 2, false, probs + 6},
                          {"##a", 8, 9, 3, true, probs + 9},
                          {"lopez", 10, 15, 4, false, probs + 12}};
  ner_crf crf = {crf_trans, crf_start, crf_end, nlp_crf_viterbi};
  ner_crf_window w = {t, 4, logits, 0};
  ner_context cx = {l, NER_AGG_SIMPLE, fake_decode, NULL, ignore_o};
  GPtrArray *e = ner_crf_decode(&cx, &crf, text, strlen(text), &w, 1);
  CU_ASSERT_EQUAL_FATAL(e->len, 1);
  CU_ASSERT_STRING_EQUAL(l->groups[at(e, 0)->label], "PER");
  CU_ASSERT_EQUAL(at(e, 0)->start, 0);
  CU_ASSERT_EQUAL(at(e, 0)->end, 15);
  CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "ana maria lopez");
  /* score: the mean of p(B-PER | ana), p(I-PER | mari), p(I-PER | lopez) */
  CU_ASSERT_DOUBLE_EQUAL(at(e, 0)->score, (probs[4] + probs[8] + probs[14]) / 3.0, 1e-6);
  g_ptr_array_unref(e);
  /* none: the tagged words' first pieces, by label */
  cx.strategy = NER_AGG_NONE;
  e = ner_crf_decode(&cx, &crf, text, strlen(text), &w, 1);
  CU_ASSERT_EQUAL_FATAL(e->len, 3);
  CU_ASSERT_STRING_EQUAL(l->names[at(e, 1)->label], "I-PER");
  CU_ASSERT_STRING_EQUAL(at(e, 1)->word, "mari");
  CU_ASSERT_EQUAL(at(e, 1)->index, 2);
  CU_ASSERT_EQUAL(at(e, 2)->index, 4);
  CU_ASSERT_DOUBLE_EQUAL(at(e, 2)->score, probs[14], 1e-6);
  g_ptr_array_unref(e);
  ner_labels_free(l);
}

/* The CRF's words: edge punctuation cut off, one character a word, so an entity on raw
 * text ends at "Paul", not "Paul,"; abbreviations, clitics and all-punctuation words
 * stay whole, as the pre-tokenized training data has them. */
static void test_crf_text_words(void) {
  const char *text = "(Paul), U.S. J. Jr. 's -- 6:30 Zürich.";
  const char *want[] = {"(", "Paul", ")", ",", "U.S.", "J.", "Jr", ".", "'s", "--", "6:30", "Zürich", "."};
  int32_t *word_of = NULL;
  size_t n_cp = 0;
  GArray *words = crf_text_words(text, strlen(text), &word_of, &n_cp);
  CU_ASSERT_EQUAL(n_cp, (size_t)g_utf8_strlen(text, -1));
  CU_ASSERT_EQUAL_FATAL(words->len, G_N_ELEMENTS(want));
  for (guint i = 0; i < words->len; i++) {
    const crf_word *w = &g_array_index(words, crf_word, i);
    char *got = g_utf8_substring(text, w->start, w->end);
    CU_ASSERT_STRING_EQUAL(got, want[i]);
    CU_ASSERT_EQUAL(word_of[w->start], (int32_t)i);
    g_free(got);
    g_ptr_array_free(w->pieces, TRUE);
  }
  CU_ASSERT_EQUAL(word_of[7], -1);                 /* the space after "(Paul)," */
  g_array_free(words, TRUE);
  g_free(word_of);
}

/* Two windows sharing mari ##a: the first (ana mari ##a) tags maria O (the two-word
 * chain above), the second (mari ##a lopez, emissions mari [0 0 1], lopez [0 0 3])
 * would tag it B-PER. The first window's tag stands, as in the trainer's evaluation:
 * PER "ana", O, PER "lopez" (an I- after O starts an entity). */
static void test_crf_decode_windows(void) {
  const char *text = "ana maria lopez";
  ner_labels *l = ner_labels_new(crf_names, 3, NER_SCHEME_AUTO);
  const float la[12] = {9, 0, 0, 0, 2, 0, 1, 0, 0.8f, 5, 0, 0};
  const float lb[12] = {9, 0, 0, 0, 0, 1, 5, 0, 0, 0, 0, 3};
  float pa[12], pb[12];
  crf_probs(la, 4, pa);
  crf_probs(lb, 4, pb);
  const ner_token ta[3] = {{"ana", 0, 3, 1, false, pa + 3},
                           {"mari", 4, 8, 2, false, pa + 6},
                           {"##a", 8, 9, 3, true, pa + 9}};
  const ner_token tb[3] = {{"mari", 4, 8, 1, false, pb + 3},
                           {"##a", 8, 9, 2, true, pb + 6},
                           {"lopez", 10, 15, 3, false, pb + 9}};
  ner_crf crf = {crf_trans, crf_start, crf_end, nlp_crf_viterbi};
  ner_crf_window w[2] = {{ta, 3, la, 0}, {tb, 3, lb, 2}};
  ner_context cx = {l, NER_AGG_FIRST, fake_decode, NULL, ignore_o};
  GPtrArray *e = ner_crf_decode(&cx, &crf, text, strlen(text), w, 2);
  CU_ASSERT_EQUAL_FATAL(e->len, 2);
  CU_ASSERT_STRING_EQUAL(at(e, 0)->word, "ana");
  CU_ASSERT_STRING_EQUAL(at(e, 1)->word, "lopez");
  CU_ASSERT_EQUAL(at(e, 1)->start, 10);
  CU_ASSERT_STRING_EQUAL(l->names[g_array_index(at(e, 1)->units, ner_unit, 0).label], "I-PER");
  CU_ASSERT_DOUBLE_EQUAL(at(e, 1)->score, pb[11], 1e-6);
  g_ptr_array_unref(e);
  /* none: document positions across the windows (lopez is the 4th token) */
  cx.strategy = NER_AGG_NONE;
  e = ner_crf_decode(&cx, &crf, text, strlen(text), w, 2);
  CU_ASSERT_EQUAL_FATAL(e->len, 2);
  CU_ASSERT_EQUAL(at(e, 1)->index, 4);
  g_ptr_array_unref(e);
  ner_labels_free(l);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("ner post-processing", NULL, NULL);
  CU_add_test(s, "first / average / max / simple / none", test_word_strategies);
  CU_add_test(s, "BIOES grouping vs HF's BIO reading", test_bioes_grouping);
  CU_add_test(s, "ignore_labels after grouping", test_ignore_labels);
  CU_add_test(s, "entity cut by a window boundary (overlap)", test_split_entity_overlap);
  CU_add_test(s, "entity cut by a window boundary (stride 0)", test_split_entity_boundary);
  CU_add_test(s, "entity seen by two windows comes once", test_duplicate_across_windows);
  CU_add_test(s, "merge policies", test_merge);
  CU_add_test(s, "labels from id2label / head.json", test_labels_read);
  CU_add_test(s, "CRF: Viterbi by hand", test_crf_viterbi_hand);
  CU_add_test(s, "CRF: one window, first pieces only", test_crf_decode_window);
  CU_add_test(s, "CRF: the first window tags a word", test_crf_decode_windows);
  CU_add_test(s, "CRF: words, edge punctuation cut off", test_crf_text_words);
}

int main(void) { return nlp_test_main(register_suites); }
