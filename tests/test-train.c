/* test-train.c — `nlpipe train` and `nlpipe eval` end to end through the real binary on
 * the tiny fixtures of tests/gen/train/gen_fixture.py: every task trains and its head
 * folder scores the same under `nlpipe eval` as head.json's dev metrics; a fixed seed
 * gives bit-identical weights twice; an interrupted run resumed from its checkpoint
 * ends bit-identical to an uninterrupted one; --unfreeze-top writes a loadable
 * backbone (BERT, RoBERTa, DistilBERT: the checkpoint's own names and config); broken data is refused with file:line before anything trains; and the
 * task plugins (when built) load the heads and agree with `nlpipe eval`. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"
#include "model/model.h"
#include "tensor/safetensors.h"
#include "tokenizer/tokenizer.h"
#include "train/st-write.h"

#define FIX "tests/fixtures/train/"

static char *tmpdir;

static int suite_init(void) {
  tmpdir = g_dir_make_tmp("nlpipe-train-XXXXXX", NULL);
  return tmpdir ? 0 : 1;
}

static void rm_rf(const char *p) {
  if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
    GDir *d = g_dir_open(p, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
      char *c = g_build_filename(p, n, NULL);
      rm_rf(c);
      g_free(c);
    }
    if (d) g_dir_close(d);
    g_rmdir(p);
  } else {
    g_unlink(p);
  }
}

static int suite_clean(void) {
  rm_rf(tmpdir);
  g_free(tmpdir);
  return 0;
}

static char *out_dir(const char *name) { return g_build_filename(tmpdir, name, NULL); }

/* Trains the config file CFG into tmp/NAME with extra args; asserts success. */
static char *train_file(const char *cfg, const char *name, const char *const *extra) {
  char *out = out_dir(name);
  const char *args[16] = {"train", cfg, "--output", out, "--quiet"};
  size_t n = 5;
  for (const char *const *e = extra; e && *e; e++)
    args[n++] = *e;
  args[n] = NULL;
  nlp_test_run r = nlp_test_run_nlpipe(NULL, args);
  CU_ASSERT_EQUAL(r.status, 0);
  if (r.status) fprintf(stderr, "\n%s: %s\n", cfg, r.err);
  nlp_test_run_clear(&r);
  return out;
}

/* Trains the fixture config CONFIG (tests/fixtures/train/) into tmp/NAME. */
static char *train(const char *config, const char *name, const char *const *extra) {
  char *cfg = g_strconcat(FIX, config, NULL), *out = train_file(cfg, name, extra);
  g_free(cfg);
  return out;
}

static char *file_bytes(const char *dir, const char *name, size_t *len) {
  char *p = g_build_filename(dir, name, NULL), *buf = NULL;
  gsize l = 0;
  CU_ASSERT_TRUE(g_file_get_contents(p, &buf, &l, NULL));
  g_free(p);
  *len = l;
  return buf;
}

static bool same_file(const char *a, const char *b, const char *name) {
  size_t la, lb;
  char *x = file_bytes(a, name, &la), *y = file_bytes(b, name, &lb);
  bool same = x && y && la == lb && !memcmp(x, y, la);
  g_free(x);
  g_free(y);
  return same;
}

static json_object *head_json(const char *dir) {
  char *p = g_build_filename(dir, "head.json", NULL);
  json_object *j = json_object_from_file(p);
  g_free(p);
  CU_ASSERT_PTR_NOT_NULL_FATAL(j);
  return j;
}

static double dev_metric(json_object *head, const char *name) {
  json_object *dm, *v;
  CU_ASSERT_TRUE(json_object_object_get_ex(head, "dev_metrics", &dm));
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(dm, name, &v));
  return json_object_get_double(v);
}

static json_object *eval_json(const char *target, const char *data) {
  nlp_test_run r =
      nlp_test_run_nlpipe(NULL, (const char *const[]){"eval", target, data, "--json", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  if (r.status) fprintf(stderr, "\neval: %s\n", r.err);
  json_object *j = json_tokener_parse(r.out ? r.out : "");
  nlp_test_run_clear(&r);
  CU_ASSERT_PTR_NOT_NULL_FATAL(j);
  return j;
}

static double get_metric(json_object *o, const char *step, const char *name) {
  json_object *v;
  if (step) CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, step, &o));
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, name, &v));
  return json_object_get_double(v);
}

/* Each task: train, then `nlpipe eval HEAD dev` reproduces head.json's dev metrics. */
static void check_task(const char *config, const char *name, const char *data, const char *metric,
                       const char *const *extra) {
  char *out = train(config, name, extra);
  json_object *h = head_json(out), *e = eval_json(out, data);
  CU_ASSERT_DOUBLE_EQUAL(get_metric(e, NULL, metric), dev_metric(h, metric), 1e-9);
  char *w = g_build_filename(out, "head.safetensors", NULL);
  CU_ASSERT_TRUE(g_file_test(w, G_FILE_TEST_IS_REGULAR));
  g_free(w);
  json_object_put(h);
  json_object_put(e);
  g_free(out);
}

static void test_classification(void) {
  check_task("cls.json", "cls", FIX "cls-dev.jsonl", "accuracy", NULL);
  check_task("cls-mlp.json", "cls-mlp", FIX "cls-dev.jsonl", "macro_f1", NULL);
}
static void test_ner(void) {
  check_task("ner.json", "ner", FIX "ner-dev.jsonl", "f1", NULL);
  check_task("ner-crf.json", "ner-crf", FIX "ner-dev.jsonl", "f1", NULL);
  check_task("ner-crf.json", "ner-crf-u1", FIX "ner-dev.jsonl", "f1",
             (const char *const[]){"--unfreeze-top", "1", "--epochs", "2", NULL});
}
static void test_qa(void) { check_task("qa.json", "qa", FIX "qa-dev.jsonl", "f1", NULL); }
static void test_summary(void) {
  check_task("sum.json", "sum", FIX "sum-dev.jsonl", "rouge1", NULL);
}

static void test_head_json_contract(void) {
  char *out = out_dir("cls");
  json_object *h = head_json(out), *v;
  const char *keys[] = {"task",     "labels",   "problem_type", "pooling",    "head_type",
                        "backbone", "training", "data",         "dev_metrics"};
  for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
    CU_ASSERT_TRUE(json_object_object_get_ex(h, keys[i], &v));
  json_object_object_get_ex(h, "labels", &v);
  CU_ASSERT_EQUAL(json_object_array_length(v), 2);
  CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(v, 0)), "negative");
  json_object_object_get_ex(h, "task", &v);
  CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "text-classification");
  json_object_put(h);
  g_free(out);
}

static void test_same_seed_same_weights(void) {
  char *a = train("cls.json", "seed-a", NULL), *b = train("cls.json", "seed-b", NULL);
  CU_ASSERT_TRUE(same_file(a, b, "head.safetensors"));
  json_object *ha = head_json(a), *hb = head_json(b), *da, *db;
  json_object_object_get_ex(ha, "dev_metrics", &da);
  json_object_object_get_ex(hb, "dev_metrics", &db);
  CU_ASSERT_STRING_EQUAL(json_object_to_json_string(da), json_object_to_json_string(db));
  json_object_put(ha);
  json_object_put(hb);
  /* another seed gives other weights */
  char *c = train("cls.json", "seed-c", (const char *const[]){"--epochs", "2", NULL});
  char *d = train("cls.json", "seed-d",
                  (const char *const[]){"--epochs", "2", "--unfreeze-top", "0", NULL});
  CU_ASSERT_TRUE(same_file(c, d, "head.safetensors"));
  g_free(a);
  g_free(b);
  g_free(c);
  g_free(d);
}

/* The fixture config CONFIG with its backbone and data paths made absolute, so that a
 * changed copy can be written anywhere (write_config). */
static json_object *fixture_config(const char *config) {
  char *p = g_strconcat(FIX, config, NULL), *abs = g_canonicalize_filename(FIX, NULL);
  json_object *cfg = json_object_from_file(p), *data, *v;
  g_free(p);
  CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
  p = g_build_filename(abs, json_object_get_string(json_object_object_get(cfg, "backbone")), NULL);
  json_object_object_add(cfg, "backbone", json_object_new_string(p));
  g_free(p);
  json_object_object_get_ex(cfg, "data", &data);
  const char *split[] = {"train", "dev"};
  for (size_t i = 0; i < 2; i++) {
    json_object_object_get_ex(data, split[i], &v);
    p = g_build_filename(abs, json_object_get_string(v), NULL);
    json_object_object_add(data, split[i], json_object_new_string(p));
    g_free(p);
  }
  g_free(abs);
  return cfg;
}

/* CFG written as tmp/NAME; returns the path. */
static char *write_config(json_object *cfg, const char *name) {
  char *p = g_build_filename(tmpdir, name, NULL);
  CU_ASSERT_EQUAL_FATAL(json_object_to_file(p, cfg), 0);
  return p;
}

static const char *training_str(json_object *head, const char *key) {
  json_object *tr, *v;
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(head, "training", &tr));
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(tr, key, &v));
  return json_object_get_string(v);
}

/* training.data_seed (--data-seed) moves the shuffle order and nothing else: the
 * weights start from training.seed, so runs that differ only in data_seed start from
 * the same point (what averaging fine-tuned weights needs). */
static void test_data_seed_moves_order_only(void) {
  char *base = train("cls.json", "ds-base", NULL);
  char *same = train("cls.json", "ds-11", (const char *const[]){"--data-seed", "11", NULL});
  char *other = train("cls.json", "ds-12", (const char *const[]){"--data-seed", "12", NULL});
  CU_ASSERT_TRUE(same_file(base, same, "head.safetensors")); /* cls.json's seed is 11 */
  CU_ASSERT_FALSE(same_file(base, other, "head.safetensors"));
  json_object *h = head_json(other), *hb = head_json(base);
  CU_ASSERT_STRING_EQUAL(training_str(h, "data_seed"), "12");
  CU_ASSERT_STRING_EQUAL(training_str(hb, "data_seed"), "11");
  CU_ASSERT_STRING_EQUAL(training_str(h, "seed"), "11");
  json_object_put(h);
  json_object_put(hb);
  /* With learning rates 0 the head keeps its initial weights: the same for any
   * data_seed, different for another seed. */
  json_object *cfg = fixture_config("cls.json"), *tr;
  json_object_object_get_ex(cfg, "training", &tr);
  json_object_object_add(tr, "lr", json_object_new_double(0));
  json_object_object_add(tr, "lr_backbone", json_object_new_double(0));
  json_object_object_add(tr, "epochs", json_object_new_int(1));
  char *lr0 = write_config(cfg, "cls-lr0.json");
  char *i11 = train_file(lr0, "lr0-11", NULL);
  char *i12 = train_file(lr0, "lr0-ds12", (const char *const[]){"--data-seed", "12", NULL});
  json_object_object_add(tr, "seed", json_object_new_int(12));
  g_free(write_config(cfg, "cls-lr0.json"));
  char *s12 = train_file(lr0, "lr0-s12", NULL);
  CU_ASSERT_TRUE(same_file(i11, i12, "head.safetensors"));
  CU_ASSERT_FALSE(same_file(i11, s12, "head.safetensors"));
  json_object_put(cfg);
  g_free(lr0);
  g_free(i11);
  g_free(i12);
  g_free(s12);
  g_free(base);
  g_free(same);
  g_free(other);
}

/* Every tensor of DIR/NAME is the mean of the same tensor in the N folders INS/NAME
 * (all F32 here: the trainer writes F32). */
static void check_mean(const char *dir, char *const *ins, size_t n, const char *name) {
  char *p = g_build_filename(dir, name, NULL);
  nlp_safetensors *avg = nlp_safetensors_open(p, NULL), *st[4] = {0};
  g_free(p);
  CU_ASSERT_PTR_NOT_NULL_FATAL(avg);
  for (size_t i = 0; i < n; i++) {
    p = g_build_filename(ins[i], name, NULL);
    st[i] = nlp_safetensors_open(p, NULL);
    g_free(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st[i]);
    CU_ASSERT_EQUAL(st[i]->n_entries, avg->n_entries);
  }
  size_t checked = 0, moved = 0;
  for (size_t k = 0; k < avg->n_entries; k++) {
    const nlp_safetensors_entry *e = &avg->entries[k];
    CU_ASSERT_EQUAL(e->dtype, NLP_DTYPE_F32);
    for (size_t j = 0; j < e->numel; j++) {
      double sum = 0, first = 0;
      float x, y;
      for (size_t i = 0; i < n; i++) {
        const nlp_safetensors_entry *f = nlp_safetensors_find(st[i], e->name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        memcpy(&x, (const char *)f->data + j * 4, 4);
        sum += x;
        if (!i) first = x;
      }
      memcpy(&y, (const char *)e->data + j * 4, 4);
      if (fabs(y - sum / (double)n) > 1e-7 * (1 + fabs(y))) CU_FAIL("not the mean");
      moved += y != (float)first;
      checked++;
    }
  }
  CU_ASSERT_TRUE(checked > 1000);
  CU_ASSERT_TRUE(moved > checked / 10); /* the ingredients differ, so the mean is none of them */
  for (size_t i = 0; i < n; i++) nlp_safetensors_free(st[i]);
  nlp_safetensors_free(avg);
}

/* `nlpipe average`: three runs that differ in data_seed average tensor by tensor (head
 * and unfrozen backbone); head.json lists them and carries the mean's own dev
 * metrics, which `nlpipe eval` reproduces; heads from another start are refused. */
static void test_average_heads(void) {
  char *in[3];
  const char *seeds[] = {"21", "22", "23"};
  for (size_t i = 0; i < 3; i++) {
    char *name = g_strconcat("soup-", seeds[i], NULL);
    in[i] = train("cls.json", name, (const char *const[]){"--unfreeze-top", "1", "--data-seed", seeds[i], NULL});
    g_free(name);
  }
  char *out = out_dir("soup");
  nlp_test_run r = nlp_test_run_nlpipe(
      NULL, (const char *const[]){"average", "--output", out, in[0], in[1], in[2], NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  if (r.status) fprintf(stderr, "\naverage: %s\n", r.err);
  nlp_test_run_clear(&r);
  check_mean(out, in, 3, "head.safetensors");
  check_mean(out, in, 3, "backbone/model.safetensors");
  CU_ASSERT_TRUE(same_file(in[0], out, "backbone/config.json"));
  CU_ASSERT_TRUE(same_file(in[0], out, "backbone/tokenizer.json"));
  json_object *h = head_json(out), *from, *tr, *v;
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(h, "averaged_from", &from));
  CU_ASSERT_EQUAL_FATAL(json_object_array_length(from), 3);
  for (size_t i = 0; i < 3; i++) {
    json_object *rec = json_object_array_get_idx(from, i);
    CU_ASSERT_TRUE(json_object_object_get_ex(rec, "data_seed", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v), seeds[i]);
    CU_ASSERT_TRUE(json_object_object_get_ex(rec, "dev_metrics", &v));
  }
  json_object_object_get_ex(h, "training", &tr);
  CU_ASSERT_FALSE(json_object_object_get_ex(tr, "data_seed", &v));
  json_object *e = eval_json(out, FIX "cls-dev.jsonl");
  CU_ASSERT_DOUBLE_EQUAL(get_metric(e, NULL, "accuracy"), dev_metric(h, "accuracy"), 1e-9);
  json_object_put(e);
  json_object_put(h);

  /* another training.seed is another start: refused, naming the field */
  json_object *cfg = fixture_config("cls.json"), *t;
  json_object_object_get_ex(cfg, "training", &t);
  json_object_object_add(t, "seed", json_object_new_int(99));
  char *c99 = write_config(cfg, "cls-seed99.json");
  char *s99 = train_file(c99, "soup-seed99", (const char *const[]){"--unfreeze-top", "1", NULL});
  char *bad = out_dir("soup-bad");
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"average", "-o", bad, in[0], s99, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "training.seed"));
  nlp_test_run_clear(&r);
  /* a frozen-backbone head and a fine-tuned one are not the same model either */
  char *frozen = train("cls.json", "soup-frozen", NULL);
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"average", "-o", bad, in[0], frozen, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "unfrozen_layers"));
  nlp_test_run_clear(&r);
  CU_ASSERT_FALSE(g_file_test(bad, G_FILE_TEST_EXISTS));
  json_object_put(cfg);
  for (size_t i = 0; i < 3; i++) g_free(in[i]);
  g_free(out);
  g_free(c99);
  g_free(s99);
  g_free(bad);
  g_free(frozen);
}

/* The fixture backbone cut into two shards + model.safetensors.index.json, tensors in
 * the same order; returns the folder. */
static char *sharded_fixture(void) {
  char *dir = g_build_filename(tmpdir, "tiny-bert-sharded", NULL);
  g_mkdir_with_parents(dir, 0755);
  const char *copy[] = {"config.json", "tokenizer.json"};
  for (size_t i = 0; i < G_N_ELEMENTS(copy); i++) {
    char *from = g_build_filename(FIX "tiny-bert", copy[i], NULL), *to = g_build_filename(dir, copy[i], NULL);
    size_t len;
    char *buf = nlp_test_read_file(from, &len);
    CU_ASSERT_TRUE(g_file_set_contents(to, buf, (gssize)len, NULL));
    g_free(buf);
    g_free(from);
    g_free(to);
  }
  nlp_safetensors *st = nlp_safetensors_open(FIX "tiny-bert/model.safetensors", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(st);
  size_t half = st->n_entries / 2;
  GString *index = g_string_new("{\"metadata\": {}, \"weight_map\": {");
  const char *shard[] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
  for (size_t s = 0; s < 2; s++) {
    size_t from = s ? half : 0, to = s ? st->n_entries : half;
    nlp_st_item *items = g_new0(nlp_st_item, to - from);
    float **copies = g_new0(float *, to - from);
    for (size_t i = from; i < to; i++) {
      const nlp_safetensors_entry *e = &st->entries[i];
      CU_ASSERT_EQUAL_FATAL(e->dtype, NLP_DTYPE_F32);
      copies[i - from] = g_memdup2(e->data, e->nbytes);
      items[i - from] = (nlp_st_item){e->name, copies[i - from], e->ndim, {0}};
      for (int d = 0; d < e->ndim; d++) items[i - from].shape[d] = (size_t)e->shape[d];
      g_string_append_printf(index, "%s\"%s\": \"%s\"", i ? ", " : "", e->name, shard[s]);
    }
    char *path = g_build_filename(dir, shard[s], NULL);
    CU_ASSERT_TRUE(nlp_safetensors_write(path, items, to - from, NLP_DTYPE_F32, NULL, NULL));
    for (size_t i = 0; i < to - from; i++) g_free(copies[i]);
    g_free(copies);
    g_free(items);
    g_free(path);
  }
  g_string_append(index, "}}");
  char *ip = g_build_filename(dir, "model.safetensors.index.json", NULL);
  CU_ASSERT_TRUE(g_file_set_contents(ip, index->str, -1, NULL));
  g_free(ip);
  g_string_free(index, TRUE);
  nlp_safetensors_free(st);
  return dir;
}

/* A sharded checkpoint trains with unfrozen layers exactly as the single file does, and
 * its fine-tuned backbone is written whole (one model.safetensors). */
static void test_unfreeze_sharded(void) {
  char *sharded = sharded_fixture();
  char *one = train("cls.json", "unsharded-u1", (const char *const[]){"--unfreeze-top", "1", NULL});
  char *two = train("cls.json", "sharded-u1",
                    (const char *const[]){"--unfreeze-top", "1", "--backbone", sharded, NULL});
  CU_ASSERT_TRUE(same_file(one, two, "head.safetensors"));
  CU_ASSERT_TRUE(same_file(one, two, "backbone/model.safetensors"));
  json_object *e = eval_json(two, FIX "cls-dev.jsonl"), *h = head_json(two);
  CU_ASSERT_DOUBLE_EQUAL(get_metric(e, NULL, "accuracy"), dev_metric(h, "accuracy"), 1e-9);
  json_object_put(e);
  json_object_put(h);
  g_free(sharded);
  g_free(one);
  g_free(two);
}

static void test_resume_equals_uninterrupted(void) {
  const char *const unfreeze[] = {"--unfreeze-top", "1", "--epochs", "3", NULL};
  char *full = train("cls.json", "full", unfreeze);
  char *part = train(
      "cls.json", "part",
      (const char *const[]){"--unfreeze-top", "1", "--epochs", "3", "--stop-after", "1", NULL});
  char *cp_full = g_strconcat(full, ".cache", NULL), *cp_part = g_strconcat(part, ".cache", NULL);
  CU_ASSERT_FALSE(same_file(cp_full, cp_part, "checkpoint.safetensors"));
  char *again =
      train("cls.json", "part",
            (const char *const[]){"--unfreeze-top", "1", "--epochs", "3", "--resume", NULL});
  CU_ASSERT_TRUE(same_file(cp_full, cp_part, "checkpoint.safetensors"));
  CU_ASSERT_TRUE(same_file(full, part, "head.safetensors"));
  CU_ASSERT_TRUE(same_file(full, part, "backbone/model.safetensors"));
  /* resuming another configuration is refused */
  char *cfg = g_strconcat(FIX, "cls.json", NULL);
  nlp_test_run r =
      nlp_test_run_nlpipe(NULL, (const char *const[]){"train", cfg, "--output", part, "--quiet",
                                                      "--resume", "--epochs", "5", NULL});
  CU_ASSERT_NOT_EQUAL(r.status, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "different training configuration"));
  nlp_test_run_clear(&r);
  g_free(cfg);
  g_free(full);
  g_free(part);
  g_free(again);
  g_free(cp_full);
  g_free(cp_part);
}

/* OUT/backbone holds BASE's checkpoint as it was read: config.json and tokenizer.json
 * byte for byte, the tensors under the same names and shapes, in the same order. */
static void check_same_layout(const char *out, const char *base) {
  char *bb = g_build_filename(out, "backbone", NULL);
  CU_ASSERT_TRUE(same_file(bb, base, "config.json"));
  CU_ASSERT_TRUE(same_file(bb, base, "tokenizer.json"));
  char *pa = g_build_filename(bb, "model.safetensors", NULL);
  char *pb = g_build_filename(base, "model.safetensors", NULL);
  nlp_safetensors *a = nlp_safetensors_open(pa, NULL), *b = nlp_safetensors_open(pb, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(a);
  CU_ASSERT_PTR_NOT_NULL_FATAL(b);
  CU_ASSERT_EQUAL(a->n_entries, b->n_entries);
  for (size_t i = 0; i < MIN(a->n_entries, b->n_entries); i++) {
    const nlp_safetensors_entry *x = &a->entries[i], *y = &b->entries[i];
    CU_ASSERT_STRING_EQUAL(x->name, y->name);
    CU_ASSERT(x->ndim == y->ndim && !memcmp(x->shape, y->shape, sizeof x->shape));
  }
  nlp_safetensors_free(a);
  nlp_safetensors_free(b);
  g_free(pa);
  g_free(pb);
  g_free(bb);
}

/* OUT/backbone loads and keeps BASE's layout; each CHANGED tensor differs from BASE's and
 * each KEPT one is bit-identical; `nlpipe eval` of OUT on DATA reproduces every dev
 * metric of head.json. */
static void check_unfrozen_from(const char *out, const char *base, const char *data,
                                const char *const *changed, const char *const *kept) {
  char *bb = g_build_filename(out, "backbone", NULL);
  GError *err = NULL;
  nlp_model *m = nlp_model_open(bb, &err), *orig = nlp_model_open(base, NULL);
  if (!m) fprintf(stderr, "\n%s\n", err->message);
  g_clear_error(&err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(orig);
  for (int pass = 0; pass < 2; pass++)
    for (const char *const *n = pass ? kept : changed; *n; n++) {
      const nlp_tensor *a = nlp_model_find_tensor(m, *n), *b = nlp_model_find_tensor(orig, *n);
      if (!a || !b) fprintf(stderr, "\n%s: missing\n", *n);
      CU_ASSERT_FATAL(a && b);
      bool same = memcmp(a->data, b->data, a->numel * sizeof(float)) == 0;
      CU_ASSERT(same == (pass == 1));
      if (same != (pass == 1)) fprintf(stderr, "\n%s: %s\n", *n, same ? "unchanged" : "changed");
    }
  nlp_model_free(m);
  nlp_model_free(orig);
  check_same_layout(out, base);
  json_object *h = head_json(out), *e = eval_json(out, data), *dm;
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(h, "dev_metrics", &dm));
  json_object_object_foreach(dm, key, val) {
    if (!strcmp(key, "loss")) continue; /* eval reports the metrics only */
    double got = get_metric(e, NULL, key), want = json_object_get_double(val);
    CU_ASSERT_DOUBLE_EQUAL(got, want, 1e-9);
    if (fabs(got - want) > 1e-9) fprintf(stderr, "\n%s %s: eval %.9f, head.json %.9f\n", out, key, got, want);
  }
  json_object_put(h);
  json_object_put(e);
  g_free(bb);
}

/* the BERT cases: tiny-bert, scored on cls-dev */
static void check_unfrozen(const char *out, const char *const *changed, const char *const *kept) {
  check_unfrozen_from(out, FIX "tiny-bert", FIX "cls-dev.jsonl", changed, kept);
}

static void test_unfreeze_backbone(void) {
  char *out = train("cls.json", "unfrozen",
                    (const char *const[]){"--unfreeze-top", "2", "--epochs", "2", NULL});
  /* the top layer changed, the embeddings did not */
  check_unfrozen(out, (const char *const[]){"bert.encoder.layer.1.output.dense.weight", NULL},
                 (const char *const[]){"bert.embeddings.word_embeddings.weight", NULL});
  g_free(out);
}

/* --train-embeddings: the word vectors of tokens in the training set move, the
 * backbone written loads and `nlpipe eval` reproduces the dev score; without every
 * layer unfrozen the option is refused. */
static void test_train_embeddings(void) {
  char *out = train("cls.json", "emb",
                    (const char *const[]){"--unfreeze-top", "2", "--train-embeddings", "--epochs",
                                          "2", NULL});
  check_unfrozen(out,
                 (const char *const[]){"bert.embeddings.word_embeddings.weight",
                                       "bert.embeddings.LayerNorm.weight",
                                       "bert.encoder.layer.0.output.dense.weight", NULL},
                 (const char *const[]){NULL});
  /* every batch embeds its ids: no frozen-feature cache is written, only checkpoints */
  char *cache = g_strconcat(out, ".cache", NULL);
  GDir *dir = g_dir_open(cache, 0, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
  for (const char *name; (name = g_dir_read_name(dir));)
    CU_ASSERT_FALSE(g_str_has_prefix(name, "features-"));
  g_dir_close(dir);
  g_free(cache);
  g_free(out);
  char *cfg = g_strconcat(FIX, "cls.json", NULL), *o2 = out_dir("emb-refused");
  nlp_test_run r = nlp_test_run_nlpipe(
      NULL, (const char *const[]){"train", cfg, "--output", o2, "--unfreeze-top", "1",
                                  "--train-embeddings", NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "train_embeddings needs every layer trainable: unfreeze_top 2"));
  nlp_test_run_clear(&r);
  g_free(cfg);
  g_free(o2);
}

/* RoBERTa and DistilBERT backbones train through their own layer and embedding names
 * (core/train/arch.h): with --unfreeze-top 1 the top layer moves and the rest stays, with
 * every layer and --train-embeddings the tables move too; what training does not touch (a
 * bare RobertaModel's pooler, which the "pooler" head reads under its own name; a
 * DistilBertForMaskedLM's MLM head) is written back as it was, under the checkpoint's
 * names; and the head scores under `nlpipe eval` exactly as in training. */
static void test_unfreeze_roberta(void) {
  char *out = train("cls.json", "roberta-top",
                    (const char *const[]){"--backbone", FIX "tiny-roberta", "--unfreeze-top", "1",
                                          "--epochs", "2", NULL});
  check_unfrozen_from(out, FIX "tiny-roberta", FIX "cls-dev.jsonl",
                      (const char *const[]){"encoder.layer.1.attention.self.query.weight",
                                            "encoder.layer.1.output.LayerNorm.weight", NULL},
                      (const char *const[]){"encoder.layer.0.output.dense.weight",
                                            "embeddings.word_embeddings.weight",
                                            "pooler.dense.weight", NULL});
  json_object *h = head_json(out), *v;
  CU_ASSERT_TRUE(json_object_object_get_ex(h, "pooler", &v) &&
                 !strcmp(json_object_get_string(v), "pooler.dense"));
  json_object_put(h);
  g_free(out);
  out = train("ner.json", "roberta-all",
              (const char *const[]){"--backbone", FIX "tiny-roberta", "--unfreeze-top", "2",
                                    "--train-embeddings", "--epochs", "2", NULL});
  check_unfrozen_from(out, FIX "tiny-roberta", FIX "ner-dev.jsonl",
                      (const char *const[]){"embeddings.word_embeddings.weight",
                                            "embeddings.position_embeddings.weight",
                                            "embeddings.token_type_embeddings.weight",
                                            "embeddings.LayerNorm.bias",
                                            "encoder.layer.0.attention.self.key.weight", NULL},
                      (const char *const[]){"pooler.dense.weight", NULL});
  g_free(out);
}

static void test_unfreeze_distilbert(void) {
  const char *const mlm[] = {"vocab_transform.weight", "vocab_layer_norm.weight",
                             "vocab_projector.bias"};
  char *out = train("ner.json", "distil-top",
                    (const char *const[]){"--backbone", FIX "tiny-distilbert", "--unfreeze-top", "1",
                                          "--epochs", "2", NULL});
  check_unfrozen_from(out, FIX "tiny-distilbert", FIX "ner-dev.jsonl",
                      (const char *const[]){"distilbert.transformer.layer.1.attention.out_lin.weight",
                                            "distilbert.transformer.layer.1.sa_layer_norm.weight",
                                            "distilbert.transformer.layer.1.ffn.lin2.bias", NULL},
                      (const char *const[]){"distilbert.transformer.layer.0.ffn.lin1.weight",
                                            "distilbert.embeddings.word_embeddings.weight",
                                            mlm[0], mlm[1], mlm[2], NULL});
  g_free(out);
  out = train("cls-mlp.json", "distil-all",
              (const char *const[]){"--backbone", FIX "tiny-distilbert", "--unfreeze-top", "2",
                                    "--train-embeddings", "--epochs", "2", NULL});
  check_unfrozen_from(out, FIX "tiny-distilbert", FIX "cls-dev.jsonl",
                      (const char *const[]){"distilbert.embeddings.word_embeddings.weight",
                                            "distilbert.embeddings.position_embeddings.weight",
                                            "distilbert.embeddings.LayerNorm.weight",
                                            "distilbert.transformer.layer.0.attention.q_lin.weight",
                                            NULL},
                      (const char *const[]){mlm[0], mlm[1], mlm[2], NULL});
  g_free(out);
}

/* ELECTRA trains through its layers like BERT: with every layer unfrozen the features
 * start from the trainer's own embeddings, LayerNorm at the embedding width and
 * embeddings_project up to the layers' (this fixture: 24 -> 36), the layers move, the
 * tables and the projection stay; with --train-embeddings the tables and the
 * projection move too; and `nlpipe eval` on the written backbone scores as training
 * did. */
static void test_unfreeze_electra(void) {
  char *bb = out_dir("electra");
  g_mkdir_with_parents(bb, 0755);
  const char *from[] = {"tests/fixtures/encoder/electra-seqcls-f32/config.json",
                        "tests/fixtures/encoder/electra-seqcls-f32/model.safetensors"};
  for (size_t i = 0; i < G_N_ELEMENTS(from); i++) {
    char *buf = NULL, *base = g_path_get_basename(from[i]), *to = g_build_filename(bb, base, NULL);
    gsize len = 0;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(from[i], &buf, &len, NULL));
    CU_ASSERT_TRUE(g_file_set_contents(to, buf, (gssize)len, NULL));
    g_free(buf);
    g_free(base);
    g_free(to);
  }
  /* tiny-bert's WordPiece vocabulary cut to the 97 ids this ELECTRA embeds (the words
   * past them become [UNK]) */
  json_object *tok = json_object_from_file(FIX "tiny-bert/tokenizer.json"), *model, *vocab;
  CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
  json_object_object_get_ex(tok, "model", &model);
  json_object_object_get_ex(model, "vocab", &vocab);
  json_object *cut = json_object_new_object();
  json_object_object_foreach(vocab, piece, id)
    if (json_object_get_int(id) < 97) json_object_object_add(cut, piece, json_object_get(id));
  json_object_object_add(model, "vocab", cut);
  char *tp = g_build_filename(bb, "tokenizer.json", NULL);
  CU_ASSERT_EQUAL_FATAL(json_object_to_file(tp, tok), 0);
  g_free(tp);
  json_object_put(tok);
  char *out = train("cls-mlp.json", "electra-all",
                    (const char *const[]){"--backbone", bb, "--unfreeze-top", "2", "--epochs", "2", NULL});
  check_unfrozen_from(out, bb, FIX "cls-dev.jsonl",
                      (const char *const[]){"electra.encoder.layer.0.attention.self.query.weight",
                                            "electra.encoder.layer.1.output.dense.weight", NULL},
                      (const char *const[]){"electra.embeddings.word_embeddings.weight",
                                            "electra.embeddings.LayerNorm.weight",
                                            "electra.embeddings_project.weight", NULL});
  char *emb = train("cls-mlp.json", "electra-emb",
                    (const char *const[]){"--backbone", bb, "--unfreeze-top", "2", "--train-embeddings",
                                          "--epochs", "2", NULL});
  check_unfrozen_from(emb, bb, FIX "cls-dev.jsonl",
                      (const char *const[]){"electra.embeddings.word_embeddings.weight",
                                            "electra.embeddings.LayerNorm.weight",
                                            "electra.embeddings_project.weight",
                                            "electra.embeddings_project.bias",
                                            "electra.encoder.layer.1.output.dense.weight", NULL},
                      (const char *const[]){"classifier.dense.weight", NULL});
  g_free(emb);
  g_free(out);
  g_free(bb);
}

/* With layers unfrozen, tokens the backbone has no embedding row for are refused with
 * file:line (BERT's pair token types on a RoBERTa, which has one type) instead of read out
 * of bounds. */
static void test_unfreeze_token_types(void) {
  char *root = g_get_current_dir(), *cfg = g_build_filename(tmpdir, "qa-mismatch.json", NULL);
  char *text = g_strdup_printf(
      "{\"task\": \"question-answering\", \"backbone\": \"%s/" FIX "tiny-roberta\", \"tokenizer\": \"%s/"
      FIX "tiny-bert\", \"output\": \"%s/qa-mismatch\", \"data\": {\"train\": \"%s/" FIX
      "qa-train.jsonl\", \"dev\": \"%s/" FIX "qa-dev.jsonl\"}, \"training\": {\"max_length\": 48, "
      "\"stride\": 16}}", root, root, tmpdir, root, root);
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(cfg, text, -1, NULL));
  nlp_test_run r = nlp_test_run_nlpipe(
      NULL, (const char *const[]){"train", cfg, "--unfreeze-top", "1", "--quiet", NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "qa-train.jsonl:1: token id"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "type 1 outside the backbone's vocabulary"));
  if (r.status != 2) fprintf(stderr, "\n%s\n", r.err);
  nlp_test_run_clear(&r);
  g_free(root);
  g_free(cfg);
  g_free(text);
}

static void check_refused(const char *config, const char *expect) {
  char *out = out_dir("refused"), *cfg = g_strconcat(FIX, config, NULL);
  nlp_test_run r =
      nlp_test_run_nlpipe(NULL, (const char *const[]){"train", cfg, "--output", out, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, expect));
  if (!strstr(r.err, expect)) fprintf(stderr, "\nexpected '%s' in:\n%s\n", expect, r.err);
  CU_ASSERT_FALSE(g_file_test(out, G_FILE_TEST_EXISTS)); /* nothing trained, nothing written */
  char *cache = g_strconcat(out, ".cache", NULL);
  CU_ASSERT_FALSE(g_file_test(cache, G_FILE_TEST_EXISTS));
  g_free(cache);
  nlp_test_run_clear(&r);
  g_free(out);
  g_free(cfg);
}

static void test_bad_data(void) {
  check_refused("bad-missing.json", "bad-missing-label.jsonl:3: missing label \"label\"");
  check_refused("bad-unknown.json", "bad-unknown-label.jsonl:4: unknown label \"neutral\"");
  check_refused("bad-empty.json", "bad-empty.jsonl: no records");
  check_refused("bad-span.json", "bad-span.jsonl:2: answers[0]: span [40, 44) outside the context");
}

/* The task plugins read the heads: a pipeline with the head folder scores like
 * `nlpipe eval HEAD` (same logits, same labels). */
static void check_plugin(const char *plugin, const char *head, const char *data, const char *metric,
                         const char *options, const char *text_field) {
  char *so = g_strdup_printf("plugins/libnlpipe-%s.so", plugin), *so_path = nlp_test_build_path(so);
  if (!g_file_test(so_path, G_FILE_TEST_EXISTS)) {
    g_free(so);
    g_free(so_path);
    NLP_TEST_SKIP("plugin not built");
  }
  char *model = g_canonicalize_filename(FIX "tiny-bert", NULL), *hd = out_dir(head);
  char *pipe =
      g_strdup_printf("{\"models\": {\"m\": \"%s\"}, \"input\": {\"format\": \"jsonl\","
                      " \"text_field\": \"%s\"}, \"steps\": [{\"name\": \"s\", \"plugin\": \"%s\","
                      " \"model\": \"m\", \"head\": \"%s\", \"options\": %s}]}",
                      model, text_field, plugin, hd, options);
  char *pf = g_build_filename(tmpdir, "pipe.json", NULL);
  CU_ASSERT_TRUE(g_file_set_contents(pf, pipe, -1, NULL));
  json_object *p = eval_json(pf, data), *e = eval_json(hd, data);
  CU_ASSERT_DOUBLE_EQUAL(get_metric(p, "s", metric), get_metric(e, NULL, metric), 1e-9);
  json_object_put(p);
  json_object_put(e);
  g_free(so);
  g_free(so_path);
  g_free(model);
  g_free(hd);
  g_free(pipe);
  g_free(pf);
}

static void test_plugins_load_heads(void) {
  check_plugin("classification", "cls", FIX "cls-dev.jsonl", "accuracy", "{}", "text");
  check_plugin("classification", "cls-mlp", FIX "cls-dev.jsonl", "macro_f1", "{}", "text");
  check_plugin("ner", "ner", FIX "ner-dev.jsonl", "f1", "{\"aggregation_strategy\": \"simple\"}",
               "text");
  check_plugin("qa", "qa", FIX "qa-dev.jsonl", "f1", "{\"max_seq_len\": 48, \"doc_stride\": 16}",
               "context");
  check_plugin("qa", "qa", FIX "qa-dev.jsonl", "exact_match",
               "{\"max_seq_len\": 48, \"doc_stride\": 16}", "context");
}

static int64_t training_int(json_object *head, const char *name) {
  json_object *tr, *v;
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(head, "training", &tr));
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(tr, name, &v));
  return json_object_get_int64(v);
}

/* ner-dev.jsonl's records ten at a time as one record: texts of several windows. */
static char *long_ner_data(void) {
  char *path = g_build_filename(tmpdir, "ner-dev-long.jsonl", NULL), *buf = NULL;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(FIX "ner-dev.jsonl", &buf, NULL, NULL));
  char **lines = g_strsplit(buf, "\n", -1);
  GString *out = g_string_new(NULL);
  json_object *rec = NULL;
  size_t k = 0;
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    json_object *r = json_tokener_parse(*l), *tok, *tag;
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    json_object_object_get_ex(r, "tokens", &tok);
    json_object_object_get_ex(r, "tags", &tag);
    if (!rec) {
      rec = json_object_new_object();
      json_object_object_add(rec, "tokens", json_object_new_array());
      json_object_object_add(rec, "tags", json_object_new_array());
    }
    json_object *rt, *rg;
    json_object_object_get_ex(rec, "tokens", &rt);
    json_object_object_get_ex(rec, "tags", &rg);
    for (size_t i = 0; i < json_object_array_length(tok); i++) {
      json_object_array_add(rt, json_object_get(json_object_array_get_idx(tok, i)));
      json_object_array_add(rg, json_object_get(json_object_array_get_idx(tag, i)));
    }
    json_object_put(r);
    if (++k % 10 == 0 || !l[1] || !*l[1]) {
      GString *text = g_string_new(NULL);
      for (size_t i = 0; i < json_object_array_length(rt); i++)
        g_string_append_printf(text, "%s%s", i ? " " : "",
                               json_object_get_string(json_object_array_get_idx(rt, i)));
      json_object_object_add(rec, "text", json_object_new_string(text->str));
      g_string_free(text, TRUE);
      g_string_append_printf(out, "%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN));
      json_object_put(rec);
      rec = NULL;
    }
  }
  CU_ASSERT_TRUE(g_file_set_contents(path, out->str, -1, NULL));
  g_string_free(out, TRUE);
  g_strfreev(lines);
  g_free(buf);
  return path;
}

/* A CRF head in a pipeline (the ner plugin decodes it by Viterbi over the words'
 * first pieces, per window) scores exactly like `nlpipe eval HEAD`: precision, recall
 * and F1, on the dev texts (one window each) and on texts of several windows (the
 * pipeline's windows set to the head's max_length and stride). The head is trained
 * long enough that a per-token softmax would score differently. */
static void test_ner_crf_plugin(void) {
  char *so_path = nlp_test_build_path("plugins/libnlpipe-ner.so");
  bool built = g_file_test(so_path, G_FILE_TEST_EXISTS);
  g_free(so_path);
  if (!built) NLP_TEST_SKIP("plugin not built");
  char *hd = train("ner-crf.json", "ner-crf-10", (const char *const[]){"--epochs", "10", NULL});
  json_object *h = head_json(hd);
  int64_t max_length = training_int(h, "max_length"), stride = training_int(h, "stride");
  json_object_put(h);
  char *model = g_canonicalize_filename(FIX "tiny-bert", NULL), *longer = long_ner_data();
  /* the long records really are cut into windows */
  nlp_tokenizer *tok = nlp_tokenizer_load(model, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
  nlp_encode_params ep = nlp_encode_default_params();
  ep.max_length = (size_t)max_length;
  ep.stride = (size_t)stride;
  char *buf = NULL;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(longer, &buf, NULL, NULL));
  char **lines = g_strsplit(buf, "\n", -1);
  size_t n_long = 0;
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    json_object *r = json_tokener_parse(*l), *t;
    json_object_object_get_ex(r, "text", &t);
    nlp_encoding_list *list = nlp_tokenizer_encode(tok, json_object_get_string(t),
                                                   strlen(json_object_get_string(t)), NULL, 0, &ep, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    CU_ASSERT(list->n >= 3);
    n_long++;
    nlp_encoding_list_free(list);
    json_object_put(r);
  }
  CU_ASSERT_EQUAL(n_long, 2);
  g_strfreev(lines);
  g_free(buf);
  nlp_tokenizer_free(tok);
  /* the second pipeline names its step like the gold field ("entities") and reads text in
   * production: eval still reads the data as JSONL and scores against the data's gold */
  const char *step[] = {"s", "entities"}, *format[] = {"jsonl", "text"};
  for (size_t v = 0; v < G_N_ELEMENTS(step); v++) {
    char *pipe = g_strdup_printf(
        "{\"models\": {\"m\": {\"path\": \"%s\", \"max_length\": %" G_GINT64_FORMAT
        ", \"stride\": %" G_GINT64_FORMAT "}}, \"input\": {\"format\": \"%s\"}, \"steps\": "
        "[{\"name\": \"%s\", \"plugin\": \"ner\", \"model\": \"m\", \"head\": \"%s\"}]}",
        model, max_length, stride, format[v], step[v], hd);
    char *pf = g_build_filename(tmpdir, "pipe-crf.json", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(pf, pipe, -1, NULL));
    const char *data[] = {FIX "ner-dev.jsonl", longer};
    const char *metrics[] = {"precision", "recall", "f1"};
    for (size_t d = 0; d < G_N_ELEMENTS(data); d++) {
      json_object *p = eval_json(pf, data[d]), *e = eval_json(hd, data[d]);
      for (size_t m = 0; m < G_N_ELEMENTS(metrics); m++) {
        double pv = get_metric(p, step[v], metrics[m]), ev = get_metric(e, NULL, metrics[m]);
        CU_ASSERT_DOUBLE_EQUAL(pv, ev, 1e-9);
        if (fabs(pv - ev) > 1e-9)
          fprintf(stderr, "\n%s %s %s: pipeline %.9f, eval HEAD %.9f\n", step[v], data[d], metrics[m], pv, ev);
      }
      CU_ASSERT(get_metric(e, NULL, "f1") > 0.3); /* a head that finds entities */
      json_object_put(p);
      json_object_put(e);
    }
    g_free(pipe);
    g_free(pf);
  }
  g_free(model);
  g_free(longer);
  g_free(hd);
}

/* A log file (stderr not a terminal) gets progress lines: with --log-every 0 one per
 * step, numbered 1..S within each epoch, the last at 100% with nothing left. */
static void test_progress_lines(void) {
  char *out = out_dir("progress"), *cfg = g_strconcat(FIX, "cls.json", NULL);
  nlp_test_run r = nlp_test_run_nlpipe(
      NULL, (const char *const[]){"train", cfg, "--output", out, "--epochs", "2", "--log-every", "0", NULL});
  CU_ASSERT_EQUAL_FATAL(r.status, 0);
  int epochs = 0;
  unsigned steps = 0;
  const char *head = strstr(r.err, " epochs x ");
  CU_ASSERT_PTR_NOT_NULL_FATAL(head);
  while (head > r.err && head[-1] != ' ') head--;
  CU_ASSERT_EQUAL_FATAL(sscanf(head, "%d epochs x %u steps", &epochs, &steps), 2);
  CU_ASSERT_EQUAL(epochs, 2);
  char **lines = g_strsplit(r.err, "\n", -1);
  unsigned seen = 0;
  for (char **l = lines; *l; l++) {
    int e = 0, pct = 0;
    unsigned k = 0, of = 0;
    if (sscanf(*l, "epoch %d/%*d step %u/%u (%d%%)", &e, &k, &of, &pct) != 4) continue;
    CU_ASSERT_EQUAL(of, steps);
    CU_ASSERT_EQUAL(e, (int)(seen / steps) + 1);
    CU_ASSERT_EQUAL(k, seen % steps + 1); /* every step, in order */
    if (k == steps) {
      CU_ASSERT_EQUAL(pct, 100);
      CU_ASSERT_PTR_NOT_NULL(strstr(*l, ", 0 s left in the epoch"));
    }
    seen++;
  }
  CU_ASSERT_EQUAL(seen, 2 * steps);
  g_strfreev(lines);
  nlp_test_run_clear(&r);
  g_free(cfg);
  g_free(out);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("nlpipe train / eval", suite_init, suite_clean);
  CU_add_test(s, "classification heads: eval == head.json", test_classification);
  CU_add_test(s, "head.json keys", test_head_json_contract);
  CU_add_test(s, "token classification (softmax, CRF)", test_ner);
  CU_add_test(s, "question answering", test_qa);
  CU_add_test(s, "summary scorer", test_summary);
  CU_add_test(s, "same seed, same weights", test_same_seed_same_weights);
  CU_add_test(s, "data_seed moves the order only", test_data_seed_moves_order_only);
  CU_add_test(s, "average heads from one start (nlpipe average)", test_average_heads);
  CU_add_test(s, "unfreeze a sharded checkpoint", test_unfreeze_sharded);
  CU_add_test(s, "resume == uninterrupted (unfreeze-top 1)", test_resume_equals_uninterrupted);
  CU_add_test(s, "unfreeze-top writes a backbone", test_unfreeze_backbone);
  CU_add_test(s, "--train-embeddings trains the tables too", test_train_embeddings);
  CU_add_test(s, "unfreeze a RoBERTa backbone (top layer; all + embeddings)", test_unfreeze_roberta);
  CU_add_test(s, "unfreeze a DistilBERT backbone (top layer; all + embeddings)", test_unfreeze_distilbert);
  CU_add_test(s, "unfreeze an ELECTRA backbone (embeddings_project)", test_unfreeze_electra);
  CU_add_test(s, "unfreeze refuses token types the backbone lacks", test_unfreeze_token_types);
  CU_add_test(s, "bad data refused with file:line", test_bad_data);
  CU_add_test(s, "progress lines in a log file (--log-every)", test_progress_lines);
  CU_add_test(s, "task plugins load the heads", test_plugins_load_heads);
  CU_add_test(s, "ner plugin decodes a CRF head as eval does", test_ner_crf_plugin);
}

int main(void) { return nlp_test_main(register_suites); }
