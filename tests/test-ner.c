/* The ner plugin end to end through the real `nlpipe` binary:
 *  - against Hugging Face's token-classification pipeline (the oracle in
 *    ../shared/oracle, expectations committed in tests/fixtures/ner/expected.jsonl by
 *    tests/gen/ner/gen_fixtures.py) for every aggregation strategy, on two tiny random
 *    BERTs (BIO and BIOES labels) with a WordPiece vocabulary of our own: accents,
 *    punctuation, subwords, [UNK], adjacent entities, ignore_labels, and long texts cut
 *    into several windows (models.<m>.max_length / stride = the oracle's
 *    model_max_length / stride). Labels, words, offsets and indices exactly, scores
 *    within 1e-4;
 *  - stitch "join" (default) on long texts: sorted, no overlaps, identical to HF where
 *    no entity is cut by a window boundary;
 *  - merging with an entity-ruler step under each policy, and a missing merge step;
 *  - option "word": "text";
 *  - bad options refused at validation with their JSON path (exit status 2). */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"
#include "nlpipe/plugin.h"
#include "pipeline/host.h"

#define FIXTURES "tests/fixtures/ner"

/* A pipeline file in a fresh temporary folder; free with pipeline_drop. */
static char *pipeline_write(const char *json) {
  char *dir = g_dir_make_tmp("nlpipe-ner-XXXXXX", NULL);
  char *file = g_build_filename(dir, "p.json", NULL);
  CU_ASSERT_TRUE(g_file_set_contents(file, json, -1, NULL));
  g_free(dir);
  return file;
}

static void pipeline_drop(char *file) {
  char *dir = g_path_get_dirname(file);
  g_unlink(file);
  g_rmdir(dir);
  g_free(dir);
  g_free(file);
}

static char *fixture_path(const char *name) {
  char *cwd = g_get_current_dir();
  char *p = g_build_filename(cwd, FIXTURES, name, NULL);
  g_free(cwd);
  return p;
}

/* Output lines (records) of a run, parsed. */
static GPtrArray *parse_lines(const char *out) {
  GPtrArray *recs = g_ptr_array_new_with_free_func((GDestroyNotify)(void (*)(void))json_object_put);
  char **lines = g_strsplit(out, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    json_object *o = json_tokener_parse(*l);
    CU_ASSERT_PTR_NOT_NULL(o);
    if (o) g_ptr_array_add(recs, o);
  }
  g_strfreev(lines);
  return recs;
}

static json_object *get(json_object *o, const char *key) {
  json_object *v = NULL;
  return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* Compares one entity list with the oracle's: same keys, strings and integers
 * exactly, scores within 1e-4. Prints the first difference. */
static bool same_entities(const char *what, json_object *got, json_object *want) {
  if (!got || !json_object_is_type(got, json_type_array)) {
    fprintf(stderr, "\n%s: no result (%s)\n", what, got ? json_object_to_json_string(got) : "null");
    return false;
  }
  size_t n = json_object_array_length(want);
  if (json_object_array_length(got) != n) {
    fprintf(stderr, "\n%s: %zu entities, expected %zu\n got  %s\n want %s\n", what,
            json_object_array_length(got), n, json_object_to_json_string(got),
            json_object_to_json_string(want));
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *g = json_object_array_get_idx(got, i), *w = json_object_array_get_idx(want, i);
    if (json_object_object_length(g) != json_object_object_length(w)) goto differ;
    json_object_object_foreach(w, key, wv) {
      json_object *gv = get(g, key);
      if (!gv) goto differ;
      if (!strcmp(key, "score")) {
        if (fabs(json_object_get_double(gv) - json_object_get_double(wv)) > 1e-4) goto differ;
      } else if (json_object_is_type(wv, json_type_int)) {
        if (!json_object_is_type(gv, json_type_int) ||
            json_object_get_int64(gv) != json_object_get_int64(wv))
          goto differ;
      } else if (strcmp(json_object_get_string(gv), json_object_get_string(wv))) {
        goto differ;
      }
    }
    continue;
  differ:
    fprintf(stderr, "\n%s: entity %zu\n got  %s\n want %s\n", what, i,
            json_object_to_json_string(g), json_object_to_json_string(w));
    return false;
  }
  return true;
}

/* One pipeline holding a step per expectation (each on a backbone entry with the
 * case's window settings), run once over every distinct text. */
typedef struct {
  GPtrArray *cases; /* json_object* expected lines */
  GPtrArray *texts; /* distinct texts, borrowed from cases */
  char *pipeline;   /* JSON text */
} oracle_run;

static char *json_quote(const char *s) {
  json_object *o = json_object_new_string(s);
  char *q = g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  return q;
}

static oracle_run oracle_run_build(const char *stitch) {
  oracle_run r = {g_ptr_array_new_with_free_func((GDestroyNotify)(void (*)(void))json_object_put),
                  g_ptr_array_new(), NULL};
  char *data = nlp_test_read_file(FIXTURES "/expected.jsonl", NULL);
  char **lines = g_strsplit(data, "\n", -1);
  GString *models = g_string_new(NULL), *steps = g_string_new(NULL);
  GHashTable *model_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    json_object *c = json_tokener_parse(*l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    size_t k = r.cases->len;
    g_ptr_array_add(r.cases, c);
    const char *text = json_object_get_string(get(c, "text"));
    bool seen = false;
    for (guint i = 0; i < r.texts->len; i++)
      seen |= !strcmp(r.texts->pdata[i], text);
    if (!seen) g_ptr_array_add(r.texts, (gpointer)text);
    json_object *ml = get(c, "max_length"), *st = get(c, "stride");
    char *mname =
        g_strdup_printf("%s-%d-%d", json_object_get_string(get(c, "model")),
                        ml ? json_object_get_int(ml) : 0, st ? json_object_get_int(st) : 0);
    if (!g_hash_table_contains(model_names, mname)) {
      char *path = fixture_path(json_object_get_string(get(c, "model")));
      /* Without window settings the oracle truncates at model_max_length (128, like
       * the model's positions): one window for these texts, as here. */
      if (ml)
        g_string_append_printf(models, "%s\"%s\":{\"path\":\"%s\",\"max_length\":%d,\"stride\":%d}",
                               models->len ? "," : "", mname, path, json_object_get_int(ml),
                               json_object_get_int(st));
      else
        g_string_append_printf(models, "%s\"%s\":\"%s\"", models->len ? "," : "", mname, path);
      g_free(path);
      g_hash_table_add(model_names, g_strdup(mname));
    }
    json_object *ignore = get(c, "ignore_labels");
    g_string_append_printf(
        steps,
        "%s{\"name\":\"c%zu\",\"plugin\":\"ner\",\"model\":\"%s\",\"options\":"
        "{\"aggregation_strategy\":\"%s\",\"stitch\":\"%s\",\"scheme\":\"BIO\"%s%s}}",
        steps->len ? "," : "", k, mname, json_object_get_string(get(c, "aggregation_strategy")),
        stitch, ignore ? ",\"ignore_labels\":" : "",
        ignore ? json_object_to_json_string(ignore) : "");
    g_free(mname);
  }
  r.pipeline = g_strdup_printf("{\"models\":{%s},\"input\":{\"format\":\"jsonl\",\"path\":\"-\"},"
                               "\"steps\":[%s]}",
                               models->str, steps->str);
  g_string_free(models, TRUE);
  g_string_free(steps, TRUE);
  g_hash_table_destroy(model_names);
  g_strfreev(lines);
  g_free(data);
  return r;
}

static void oracle_run_clear(oracle_run *r) {
  g_ptr_array_free(r->texts, TRUE);
  g_ptr_array_free(r->cases, TRUE);
  g_free(r->pipeline);
}

static GPtrArray *oracle_run_exec(oracle_run *r) {
  GString *input = g_string_new(NULL);
  for (guint i = 0; i < r->texts->len; i++) {
    char *q = json_quote(r->texts->pdata[i]);
    g_string_append_printf(input, "{\"text\":%s}\n", q);
    g_free(q);
  }
  char *file = pipeline_write(r->pipeline);
  nlp_test_run res =
      nlp_test_run_nlpipe(input->str, (const char *const[]){"run", file, "--quiet", NULL});
  CU_ASSERT_EQUAL(res.status, 0);
  if (res.status) fprintf(stderr, "\n%s\n", res.err);
  GPtrArray *recs = parse_lines(res.out);
  CU_ASSERT_EQUAL(recs->len, r->texts->len);
  nlp_test_run_clear(&res);
  pipeline_drop(file);
  g_string_free(input, TRUE);
  return recs;
}

static json_object *record_of(GPtrArray *recs, const char *text) {
  for (guint i = 0; i < recs->len; i++)
    if (!strcmp(json_object_get_string(get(recs->pdata[i], "text")), text)) return recs->pdata[i];
  return NULL;
}

/* Every expectation of the oracle, stitch "hf" (HF's rule exactly) and scheme "BIO"
 * (HF's get_tag: E-/S- labels of the BIOES model are plain labels, as HF reads them). */
static void test_oracle_hf(void) {
  oracle_run r = oracle_run_build("hf");
  GPtrArray *recs = oracle_run_exec(&r);
  size_t ok = 0, windows = 0;
  for (guint k = 0; k < r.cases->len; k++) {
    json_object *c = r.cases->pdata[k];
    json_object *rec = record_of(recs, json_object_get_string(get(c, "text")));
    char step[16];
    snprintf(step, sizeof step, "c%u", k);
    bool same = rec && same_entities(json_object_get_string(get(c, "id")), get(rec, step),
                                     get(c, "output"));
    CU_ASSERT_TRUE(same);
    ok += same;
    windows += get(c, "stride") != NULL;
  }
  fprintf(stderr, "[%zu/%u oracle cases equal, %zu of them multi-window] ", ok, r.cases->len,
          windows);
  CU_ASSERT_TRUE(r.cases->len >= 50);
  g_ptr_array_free(recs, TRUE);
  oracle_run_clear(&r);
}

/* stitch "join": a sorted list without overlaps that equals HF's wherever HF's has no
 * two entities of one group meeting at a window boundary (none do in these cases
 * unless listed). */
static void test_oracle_join(void) {
  oracle_run r = oracle_run_build("join");
  GPtrArray *recs = oracle_run_exec(&r);
  size_t same_count = 0;
  for (guint k = 0; k < r.cases->len; k++) {
    json_object *c = r.cases->pdata[k];
    json_object *rec = record_of(recs, json_object_get_string(get(c, "text")));
    char step[16];
    snprintf(step, sizeof step, "c%u", k);
    json_object *got = get(rec, step);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    int32_t last_end = -1;
    for (size_t i = 0; i < json_object_array_length(got); i++) {
      json_object *e = json_object_array_get_idx(got, i);
      int32_t s = json_object_get_int(get(e, "start")), en = json_object_get_int(get(e, "end"));
      CU_ASSERT_TRUE(s >= last_end && en > s);
      last_end = en;
    }
    if (!get(c, "stride")) {
      /* One window: join changes nothing. */
      CU_ASSERT_TRUE(same_entities(json_object_get_string(get(c, "id")), got, get(c, "output")));
    } else {
      same_count += json_object_equal(got, get(c, "output")) ||
                    json_object_array_length(got) == json_object_array_length(get(c, "output"));
    }
  }
  fprintf(stderr, "[multi-window cases with as many entities as HF: %zu] ", same_count);
  g_ptr_array_free(recs, TRUE);
  oracle_run_clear(&r);
}

/* ---- merging with entity-ruler ---------------------------------------------------- */

static const char *const merge_text = "Maria Lopez flew from Madrid to Berlin on Monday.";

/* Runs ner (simple, stitch default) and an entity-ruler step with PATTERNS, merged by
 * POLICY; returns the ner step's result (new reference) and the model's own output
 * through *alone. */
static json_object *run_merge(const char *policy, const char *patterns, json_object **alone,
                              json_object **rules) {
  char *dir = g_dir_make_tmp("nlpipe-ner-XXXXXX", NULL);
  char *pat = g_build_filename(dir, "patterns.jsonl", NULL);
  CU_ASSERT_TRUE(g_file_set_contents(pat, patterns, -1, NULL));
  char *model = fixture_path("bert-ner-bio");
  char *json = g_strdup_printf(
      "{\"models\":{\"m\":\"%s\"},\"input\":{\"format\":\"text\",\"path\":\"-\"},\"steps\":["
      "{\"name\":\"rules\",\"plugin\":\"entity-ruler\",\"options\":{\"patterns\":\"%s\"}},"
      "{\"name\":\"alone\",\"plugin\":\"ner\",\"model\":\"m\"},"
      "{\"name\":\"merged\",\"plugin\":\"ner\",\"model\":\"m\",\"options\":"
      "{\"merge_with\":\"rules\",\"merge_policy\":\"%s\"}}]}",
      model, pat, policy);
  char *file = pipeline_write(json);
  char *input = g_strdup_printf("%s\n", merge_text);
  nlp_test_run r = nlp_test_run_nlpipe(input, (const char *const[]){"run", file, "--quiet", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  GPtrArray *recs = parse_lines(r.out);
  CU_ASSERT_EQUAL_FATAL(recs->len, 1);
  json_object *merged = json_object_get(get(recs->pdata[0], "merged"));
  *alone = json_object_get(get(recs->pdata[0], "alone"));
  *rules = json_object_get(get(recs->pdata[0], "rules"));
  g_ptr_array_free(recs, TRUE);
  nlp_test_run_clear(&r);
  pipeline_drop(file);
  g_unlink(pat);
  g_rmdir(dir);
  g_free(pat);
  g_free(dir);
  g_free(input);
  g_free(json);
  g_free(model);
  return merged;
}

static bool spans_overlap(json_object *a, json_object *b) {
  return json_object_get_int(get(a, "start")) < json_object_get_int(get(b, "end")) &&
         json_object_get_int(get(b, "start")) < json_object_get_int(get(a, "end"));
}

static size_t count_source(json_object *list, const char *source) {
  size_t n = 0;
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *s = get(json_object_array_get_idx(list, i), "source");
    n += s && !strcmp(json_object_get_string(s), source);
  }
  return n;
}

/* On this text the model finds LOC "maria" [0,5), LOC "from" [17,21) and MISC
 * "monday" [42,48); the rules give PER "Maria Lopez" [0,11) (overlaps "maria"), LOC
 * "Madrid" [22,28) and GPE "Berlin" [32,38) (overlap nothing) and DAY "Mond" [42,46)
 * (inside "monday"). */
static const char *const merge_patterns = "{\"label\":\"PER\",\"pattern\":\"Maria Lopez\"}\n"
                                          "{\"label\":\"GPE\",\"pattern\":\"Berlin\"}\n"
                                          "{\"label\":\"LOC\",\"pattern\":\"Madrid\"}\n"
                                          "{\"label\":\"DAY\",\"regex\":\"Mond\"}\n";

static void test_merge_policies(void) {
  json_object *alone, *rules;
  json_object *ner_first = run_merge("ner_first", merge_patterns, &alone, &rules);
  size_t n_model = json_object_array_length(alone), n_rules = json_object_array_length(rules);
  CU_ASSERT_EQUAL(n_rules, 4);
  CU_ASSERT_EQUAL(n_model, 3);
  /* ner_first: every model entity, and the rule entities that overlap none of them. */
  size_t free_rules = 0;
  for (size_t i = 0; i < n_rules; i++) {
    bool hit = false;
    for (size_t j = 0; j < n_model; j++)
      hit |=
          spans_overlap(json_object_array_get_idx(rules, i), json_object_array_get_idx(alone, j));
    free_rules += !hit;
  }
  CU_ASSERT_EQUAL(count_source(ner_first, "model"), n_model);
  CU_ASSERT_EQUAL(count_source(ner_first, "entity-ruler"), free_rules);
  CU_ASSERT_EQUAL(json_object_array_length(ner_first), n_model + free_rules);
  CU_ASSERT_TRUE(free_rules >= 1 && free_rules < n_rules); /* the fixture exercises both sides */
  /* ruler_first: every rule entity, and the model entities that overlap none of them. */
  json_object *a2, *r2;
  json_object *ruler_first = run_merge("ruler_first", merge_patterns, &a2, &r2);
  CU_ASSERT_EQUAL(count_source(ruler_first, "entity-ruler"), n_rules);
  CU_ASSERT_EQUAL(count_source(ruler_first, "model"), 1); /* "from" */
  CU_ASSERT_EQUAL(free_rules, 2);                         /* Madrid, Berlin */
  for (size_t i = 0; i < json_object_array_length(ruler_first); i++)
    for (size_t j = i + 1; j < json_object_array_length(ruler_first); j++)
      CU_ASSERT_FALSE(spans_overlap(json_object_array_get_idx(ruler_first, i),
                                    json_object_array_get_idx(ruler_first, j)));
  /* longest: "Maria Lopez" (11) beats "maria" (5), "monday" (6) beats "Mond" (4). */
  json_object *a3, *r3;
  json_object *longest = run_merge("longest", merge_patterns, &a3, &r3);
  CU_ASSERT_EQUAL_FATAL(json_object_array_length(longest), 5);
  const char *want[][2] = {{"Maria Lopez", "entity-ruler"},
                           {"from", "model"},
                           {"Madrid", "entity-ruler"},
                           {"Berlin", "entity-ruler"},
                           {"monday", "model"}};
  for (size_t i = 0; i < 5; i++) {
    json_object *e = json_object_array_get_idx(longest, i);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(get(e, "word")), want[i][0]);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(get(e, "source")), want[i][1]);
  }
  /* Every merged list is sorted by start. */
  json_object *lists[] = {ner_first, ruler_first, longest};
  for (size_t l = 0; l < 3; l++)
    for (size_t i = 1; i < json_object_array_length(lists[l]); i++)
      CU_ASSERT_TRUE(
          json_object_get_int(get(json_object_array_get_idx(lists[l], i - 1), "start")) <=
          json_object_get_int(get(json_object_array_get_idx(lists[l], i), "start")));
  json_object *all[] = {ner_first, alone, rules, ruler_first, a2, r2, longest, a3, r3};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    json_object_put(all[i]);
}

/* merge_with naming a step that left nothing: the document fails with the name. */
static void test_merge_missing_step(void) {
  char *model = fixture_path("bert-ner-bio");
  char *json = g_strdup_printf(
      "{\"models\":{\"m\":\"%s\"},\"input\":{\"format\":\"text\",\"path\":\"-\"},\"steps\":["
      "{\"name\":\"ents\",\"plugin\":\"ner\",\"model\":\"m\",\"options\":{\"merge_with\":\"rules\"}"
      "}]}",
      model);
  char *file = pipeline_write(json);
  nlp_test_run r = nlp_test_run_nlpipe("Maria flew to Madrid.\n",
                                       (const char *const[]){"run", file, "--quiet", NULL});
  CU_ASSERT_EQUAL(r.status, 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "merge_with: step \\\"rules\\\" left no list of entities"));
  nlp_test_run_clear(&r);
  pipeline_drop(file);
  g_free(json);
  g_free(model);
}

/* word "text": the original text between start and end. */
static void test_word_from_text(void) {
  char *model = fixture_path("bert-ner-bio");
  char *json = g_strdup_printf(
      "{\"models\":{\"m\":{\"path\":\"%s\",\"max_length\":16,\"stride\":5}},"
      "\"input\":{\"format\":\"text\",\"path\":\"-\"},\"steps\":["
      "{\"name\":\"e\",\"plugin\":\"ner\",\"model\":\"m\",\"options\":{\"word\":\"text\","
      "\"ignore_labels\":[]}}]}",
      model);
  char *file = pipeline_write(json);
  const char *text =
      "José Müller visited Zürich with Ana García, then Mr. O'Neill flew to 東京 and Kristiansand.";
  char *input = g_strdup_printf("%s\n", text);
  nlp_test_run r = nlp_test_run_nlpipe(input, (const char *const[]){"run", file, "--quiet", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  GPtrArray *recs = parse_lines(r.out);
  CU_ASSERT_EQUAL_FATAL(recs->len, 1);
  json_object *ents = get(recs->pdata[0], "e");
  CU_ASSERT_TRUE_FATAL(ents && json_object_array_length(ents) > 3);
  glong n_cp = g_utf8_strlen(text, -1);
  int32_t covered = 0;
  for (size_t i = 0; i < json_object_array_length(ents); i++) {
    json_object *e = json_object_array_get_idx(ents, i);
    int32_t s = json_object_get_int(get(e, "start")), en = json_object_get_int(get(e, "end"));
    CU_ASSERT_TRUE_FATAL(s >= 0 && en <= n_cp && s < en);
    const char *a = g_utf8_offset_to_pointer(text, s), *b = g_utf8_offset_to_pointer(text, en);
    char *slice = g_strndup(a, (gsize)(b - a));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(get(e, "word")), slice);
    g_free(slice);
    covered = en;
  }
  CU_ASSERT_EQUAL(covered, n_cp); /* ignore_labels [] keeps O: the groups tile the text */
  g_ptr_array_free(recs, TRUE);
  nlp_test_run_clear(&r);
  pipeline_drop(file);
  g_free(input);
  g_free(json);
  g_free(model);
}

/* Strategy none over several windows: every token once, "index" counting the
 * document's tokens, so the same (index, word, start, end) as in one window. */
static void test_none_windows(void) {
  char *model = fixture_path("bert-ner-bio");
  char *json = g_strdup_printf(
      "{\"models\":{\"w\":{\"path\":\"%s\",\"max_length\":12,\"stride\":3},\"one\":\"%s\"},"
      "\"input\":{\"format\":\"text\",\"path\":\"-\"},\"steps\":["
      "{\"name\":\"w\",\"plugin\":\"ner\",\"model\":\"w\",\"options\":{\"aggregation_strategy\":"
      "\"none\",\"ignore_labels\":[]}},"
      "{\"name\":\"one\",\"plugin\":\"ner\",\"model\":\"one\",\"options\":{\"aggregation_"
      "strategy\":"
      "\"none\",\"ignore_labels\":[]}}]}",
      model, model);
  char *file = pipeline_write(json);
  nlp_test_run r =
      nlp_test_run_nlpipe("Samuel Okafor and Lucia Rossi founded Bluefield Robotics in Milan while "
                          "Walking, talking and singing, the children marched to Kingsbridge.\n",
                          (const char *const[]){"run", file, "--quiet", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  GPtrArray *recs = parse_lines(r.out);
  CU_ASSERT_EQUAL_FATAL(recs->len, 1);
  json_object *w = get(recs->pdata[0], "w"), *one = get(recs->pdata[0], "one");
  CU_ASSERT_TRUE_FATAL(json_object_array_length(one) > 30);
  CU_ASSERT_EQUAL_FATAL(json_object_array_length(w), json_object_array_length(one));
  for (size_t i = 0; i < json_object_array_length(one); i++) {
    json_object *a = json_object_array_get_idx(w, i), *b = json_object_array_get_idx(one, i);
    CU_ASSERT_EQUAL(json_object_get_int(get(a, "index")), (int)i + 1);
    CU_ASSERT_EQUAL(json_object_get_int(get(a, "index")), json_object_get_int(get(b, "index")));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(get(a, "word")),
                           json_object_get_string(get(b, "word")));
    CU_ASSERT_EQUAL(json_object_get_int(get(a, "start")), json_object_get_int(get(b, "start")));
    CU_ASSERT_EQUAL(json_object_get_int(get(a, "end")), json_object_get_int(get(b, "end")));
  }
  g_ptr_array_free(recs, TRUE);
  nlp_test_run_clear(&r);
  pipeline_drop(file);
  g_free(json);
  g_free(model);
}

/* ---- validation ------------------------------------------------------------------- */

static void expect_invalid(const char *options, const char *needle) {
  char *model = fixture_path("bert-ner-bio");
  char *json = g_strdup_printf(
      "{\"models\":{\"m\":\"%s\"},\"input\":{\"format\":\"text\",\"path\":\"-\"},\"steps\":["
      "{\"name\":\"rules\",\"plugin\":\"entity-ruler\",\"options\":{\"patterns\":\"%s/../../"
      "../pipelines/samples/entity-ruler/patterns.jsonl\"}},"
      "{\"name\":\"e\",\"plugin\":\"ner\",\"model\":\"m\",\"options\":%s}]}",
      model, model, options);
  char *file = pipeline_write(json);
  nlp_test_run r = nlp_test_run_nlpipe(NULL, (const char *const[]){"validate", file, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, needle));
  if (!strstr(r.err, needle)) fprintf(stderr, "\nexpected \"%s\" in:\n%s\n", needle, r.err);
  nlp_test_run_clear(&r);
  pipeline_drop(file);
  g_free(json);
  g_free(model);
}

static void test_bad_options(void) {
  expect_invalid("{\"aggregation_strategy\":\"longest\"}",
                 "steps[1].options.aggregation_strategy:");
  expect_invalid("{\"aggregation_strategy\":\"SIMPLE\"}", "steps[1].options.aggregation_strategy:");
  expect_invalid("{\"scheme\":\"BILOU\"}", "steps[1].options.scheme:");
  expect_invalid("{\"ignore_labels\":\"O\"}", "steps[1].options.ignore_labels:");
  expect_invalid("{\"ignore_labels\":[\"O\",\"\"]}", "steps[1].options.ignore_labels[1]:");
  expect_invalid("{\"merge_policy\":\"model_first\"}", "steps[1].options.merge_policy:");
  expect_invalid("{\"merge_with\":\"\"}", "steps[1].options.merge_with:");
  expect_invalid("{\"merge_with\":\"rules\",\"aggregation_strategy\":\"none\"}",
                 "steps[1].options.merge_with: merging with step \"rules\" needs entities");
  expect_invalid("{\"stride\":4}", "steps[1].options.stride: unknown option for plugin 'ner'");
  /* A good one validates. */
  char *model = fixture_path("bert-ner-bio");
  char *json = g_strdup_printf(
      "{\"models\":{\"m\":\"%s\"},\"input\":{\"format\":\"text\",\"path\":\"-\"},\"steps\":["
      "{\"name\":\"e\",\"plugin\":\"ner\",\"model\":\"m\",\"options\":{\"aggregation_strategy\":"
      "\"max\",\"scheme\":\"BIOES\",\"ignore_labels\":[\"O\",\"MISC\"]}}]}",
      model);
  char *file = pipeline_write(json);
  nlp_test_run r = nlp_test_run_nlpipe(NULL, (const char *const[]){"validate", file, NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  nlp_test_run_clear(&r);
  pipeline_drop(file);
  g_free(json);
  g_free(model);
}

/* The bundled pipeline runs (skipped while the bundled model has no NER head). */
static void test_bundled_pipeline(void) {
  if (!g_file_test("models/nlpipe-bert-mini/config.json", G_FILE_TEST_EXISTS) ||
      !g_file_test("models/nlpipe-bert-mini/heads/ner-ft/head.json", G_FILE_TEST_EXISTS))
    NLP_TEST_SKIP("models/nlpipe-bert-mini has no heads/ner-ft yet");
  nlp_test_run r = nlp_test_run_nlpipe(
      NULL, (const char *const[]){"run", "pipelines/ner.json", "--quiet", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  GPtrArray *recs = parse_lines(r.out);
  CU_ASSERT_TRUE(recs->len > 0);
  for (guint i = 0; i < recs->len; i++)
    CU_ASSERT_PTR_NOT_NULL(get(recs->pdata[i], "entities"));
  g_ptr_array_free(recs, TRUE);
  nlp_test_run_clear(&r);
}

/* ---- a CRF head on a host older than ABI 1.2 (no crf_viterbi) ----------------------
 * The plugin reads the head's tensors through the host table it was created with; a
 * stub batch serves them here (2 labels, hidden size 4, one document, no windows) and
 * records what the plugin says about the document. */
static char *stub_error;
static const float stub_zeros[16];
static const nlp_tensor_view stub_weight = {stub_zeros, 2, {2, 4}}, stub_vec = {stub_zeros, 1, {2}},
                             stub_trans = {stub_zeros, 2, {2, 2}};
static size_t stub_batch_size(const nlp_batch *b) { (void)b; return 1; }
static size_t stub_batch_windows(nlp_batch *b, const nlp_window **w) {
  (void)b;
  *w = NULL;
  return 0;
}
static const nlp_tensor_view *stub_tensor(nlp_batch *b, const char *name) {
  (void)b;
  if (!strcmp(name, "classifier.weight")) return &stub_weight;
  if (!strcmp(name, "crf.transitions")) return &stub_trans;
  return &stub_vec; /* classifier.bias, crf.start_transitions, crf.end_transitions */
}
static void stub_set_error(nlp_batch *b, size_t doc, const char *message) {
  (void)b;
  CU_ASSERT_EQUAL(doc, 0);
  g_free(stub_error);
  stub_error = g_strdup(message);
}
static void stub_log(nlp_log_level level, const char *plugin, const char *fmt, ...) {
  (void)level, (void)plugin, (void)fmt;
}
static const nlp_model_info *stub_model_info(const nlp_model *m) {
  static const nlp_model_info info = {.name = "m", .architecture = "bert", .hidden_size = 4};
  (void)m;
  return &info;
}

static void test_crf_refuses_older_host(void) {
  const nlp_plugin_desc *desc = nlp_test_plugin("plugins/libnlpipe-ner.so");
  char *dir = g_dir_make_tmp("nlpipe-ner-crf-XXXXXX", NULL), *hj = g_build_filename(dir, "head.json", NULL);
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(hj, "{\"labels\": [\"O\", \"B-PER\"], \"crf\": true}", -1, NULL));
  nlp_host older = *nlp_host_get();
  older.batch_size = stub_batch_size;
  older.batch_windows = stub_batch_windows;
  older.tensor = stub_tensor;
  older.set_error = stub_set_error;
  older.log = stub_log;
  older.model_info = stub_model_info;
  const uint32_t minor[] = {2, 1};
  for (size_t i = 0; i < G_N_ELEMENTS(minor); i++) {
    /* ABI 1.2 (the table up to crf_viterbi) decodes; ABI 1.1 (cut before it) is refused */
    older.abi_version = (NLP_PLUGIN_ABI_MAJOR << 16) | minor[i];
    older.struct_size = minor[i] == 2 ? (uint32_t)(offsetof(nlp_host, crf_viterbi) + sizeof(older.crf_viterbi))
                                      : (uint32_t)offsetof(nlp_host, crf_viterbi);
    json_object *options = json_object_new_object();
    nlp_step_info step = {.name = "entities", .options = options, .model = (const nlp_model *)&older, .head_dir = dir};
    void *state = NULL;
    char *error = NULL;
    CU_ASSERT_EQUAL_FATAL(desc->create(&older, &step, &state, &error), NLP_STATUS_OK);
    g_free(stub_error);
    stub_error = NULL;
    CU_ASSERT_EQUAL(desc->process(state, (nlp_batch *)&older), NLP_STATUS_OK);
    if (minor[i] == 2) {
      CU_ASSERT_PTR_NULL(stub_error);
    } else {
      CU_ASSERT_PTR_NOT_NULL_FATAL(stub_error);
      CU_ASSERT_STRING_EQUAL(stub_error, "a CRF head needs the host's crf_viterbi (plugin ABI 1.2); this host is ABI 1.1");
    }
    desc->destroy(state);
    json_object_put(options);
  }
  g_free(stub_error);
  stub_error = NULL;
  g_unlink(hj);
  g_rmdir(dir);
  g_free(hj);
  g_free(dir);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("ner", NULL, NULL);
  CU_add_test(s, "every strategy against the HF oracle (stitch hf)", test_oracle_hf);
  CU_add_test(s, "stitch join: sorted, no overlaps, HF on one window", test_oracle_join);
  CU_add_test(s, "merge policies with entity-ruler", test_merge_policies);
  CU_add_test(s, "merge_with a step without results", test_merge_missing_step);
  CU_add_test(s, "word = text[start:end]", test_word_from_text);
  CU_add_test(s, "strategy none over several windows", test_none_windows);
  CU_add_test(s, "bad options refused with their JSON path", test_bad_options);
  CU_add_test(s, "pipelines/ner.json", test_bundled_pipeline);
  CU_add_test(s, "a CRF head refuses a host older than ABI 1.2", test_crf_refuses_older_host);
}

int main(void) { return nlp_test_main(register_suites); }
