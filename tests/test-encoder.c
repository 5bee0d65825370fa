/* test-encoder.c — parity of the encoder with PyTorch on the fixtures made by
 * tests/gen/encoder/gen_fixtures.py (HF modules re-implemented in torch, random
 * weights, one padded batch per case), batch invariance, and config refusals. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/harness.h"
#include "model/model.h"
#include "tensor/safetensors.h"
#include "tensor/tensor.h"
#include "util/error.h"

#define FIX "tests/fixtures/encoder/"

typedef struct {
  nlp_forward_input in;
  size_t *lengths;
  int32_t *ids, *type_ids;
  size_t tokens;
  float *expected;
  json_object *outputs;
  json_object *root;
} fixture;

static bool fixture_load(const char *name, fixture *f) {
  memset(f, 0, sizeof *f);
  char *p = g_strdup_printf(FIX "%s/expected.json", name);
  f->root = json_object_from_file(p);
  g_free(p);
  if (!f->root) return false;
  json_object *l, *ids, *tt;
  json_object_object_get_ex(f->root, "lengths", &l);
  json_object_object_get_ex(f->root, "ids", &ids);
  json_object_object_get_ex(f->root, "type_ids", &tt);
  json_object_object_get_ex(f->root, "outputs", &f->outputs);
  size_t n = json_object_array_length(l);
  f->lengths = g_new(size_t, n);
  for (size_t i = 0; i < n; i++) {
    f->lengths[i] = (size_t)json_object_get_int(json_object_array_get_idx(l, i));
    f->tokens += f->lengths[i];
  }
  f->ids = g_new(int32_t, f->tokens);
  f->type_ids = g_new(int32_t, f->tokens);
  for (size_t i = 0; i < f->tokens; i++) {
    f->ids[i] = json_object_get_int(json_object_array_get_idx(ids, i));
    f->type_ids[i] = json_object_get_int(json_object_array_get_idx(tt, i));
  }
  f->in = (nlp_forward_input){n, f->lengths, f->ids, f->type_ids};
  p = g_strdup_printf(FIX "%s/expected.bin", name);
  size_t len;
  f->expected = (float *)nlp_test_read_file(p, &len);
  g_free(p);
  return true;
}

static void fixture_free(fixture *f) {
  g_free(f->lengths); g_free(f->ids); g_free(f->type_ids); g_free(f->expected);
  json_object_put(f->root);
}

/* max |got - expected[key]|, or -1 when the fixture has no such output */
static double compare(const fixture *f, const char *key, const float *got, size_t count) {
  json_object *o, *v;
  if (!json_object_object_get_ex(f->outputs, key, &o)) return -1;
  json_object_object_get_ex(o, "offset", &v);
  size_t off = (size_t)json_object_get_int64(v);
  json_object_object_get_ex(o, "count", &v);
  CU_ASSERT_EQUAL_FATAL((size_t)json_object_get_int64(v), count);
  double mx = 0;
  for (size_t i = 0; i < count; i++) {
    double d = fabs((double)got[i] - f->expected[off + i]);
    if (!(d <= mx)) mx = d; /* NaN propagates */
  }
  return mx;
}

static void check_case(const char *name) {
  fixture f;
  CU_ASSERT_FATAL(fixture_load(name, &f));
  char *dir = g_strdup_printf(FIX "%s", name);
  GError *err = NULL;
  nlp_model *m = nlp_model_open(dir, &err);
  if (!m) fprintf(stderr, "\n%s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  const nlp_model_config *c = nlp_model_get_config(m);
  size_t H = c->hidden_size, T = f.tokens, n = f.in.n_seqs, nl = c->num_labels;
  nlp_forward_ctx *ctx = nlp_forward_ctx_new(m, 1);
  float *hidden = g_new(float, T * H), *pooled = g_new(float, n * H);
  float *lg = g_new(float, MAX(T, n) * nl), *end = g_new(float, T);
  CU_ASSERT_FATAL(nlp_model_forward(m, ctx, &f.in, hidden, &err));
  double dh = compare(&f, "hidden", hidden, T * H);
  CU_ASSERT_FATAL(nlp_model_pooled(m, ctx, &f.in, hidden, pooled, &err));
  double dp = compare(&f, "pooled", pooled, n * H), dl = -1, de = -1;
  if (c->head == NLP_HEAD_SEQUENCE_CLASSIFICATION) {
    CU_ASSERT_FATAL(nlp_model_sequence_logits(m, ctx, &f.in, hidden, lg, &err));
    dl = compare(&f, "logits", lg, n * nl);
  } else if (c->head == NLP_HEAD_TOKEN_CLASSIFICATION) {
    CU_ASSERT_FATAL(nlp_model_token_logits(m, ctx, &f.in, hidden, lg, &err));
    dl = compare(&f, "token_logits", lg, T * nl);
  } else if (c->head == NLP_HEAD_QUESTION_ANSWERING) {
    CU_ASSERT_FATAL(nlp_model_qa_logits(m, ctx, &f.in, hidden, lg, end, &err));
    dl = compare(&f, "start_logits", lg, T);
    de = compare(&f, "end_logits", end, T);
  } else {
    CU_ASSERT_FALSE(nlp_model_sequence_logits(m, ctx, &f.in, hidden, lg, &err));
    CU_ASSERT_EQUAL(err->code, NLP_ERROR_UNSUPPORTED);
    g_clear_error(&err);
  }
  fprintf(stderr, "\n    %-22s %zu seqs %zu tokens: max|diff| hidden %.2e pooled %.2e logits %.2e%s",
          name, n, T, dh, dp, dl, de >= 0 ? "" : "");
  if (de >= 0) fprintf(stderr, " end %.2e", de);
  CU_ASSERT(dh >= 0 && dh <= 1e-4);
  CU_ASSERT(dp >= 0 && dp <= 1e-4);
  CU_ASSERT(dl <= 1e-4);
  CU_ASSERT(de <= 1e-4);
  g_free(hidden); g_free(pooled); g_free(lg); g_free(end);
  nlp_forward_ctx_free(ctx);
  nlp_model_free(m);
  g_free(dir);
  fixture_free(&f);
}

static void test_bert_seqcls(void) { check_case("bert-seqcls-f32"); }
static void test_bert_bare_bf16(void) { check_case("bert-bare-bf16"); }
static void test_bert_tokcls_f16(void) { check_case("bert-tokcls-f16"); }
static void test_bert_qa(void) { check_case("bert-qa-f32"); }
static void test_roberta_seqcls(void) { check_case("roberta-seqcls-f32"); }
static void test_xlmr_sharded(void) { check_case("xlmr-tokcls-sharded"); }
static void test_distilbert_seqcls(void) { check_case("distilbert-seqcls-f32"); }
static void test_distilbert_qa_bf16(void) { check_case("distilbert-qa-bf16"); }
static void test_electra_seqcls(void) { check_case("electra-seqcls-f32"); }

/* A sequence's outputs must not depend on its batch: 32 sequences of mixed
 * lengths in one call vs each alone, through the model's classification head. */
static void batch_invariance(const char *name, int threads) {
  char *dir = g_strdup_printf(FIX "%s", name);
  GError *err = NULL;
  nlp_model *m = nlp_model_open(dir, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  const nlp_model_config *c = nlp_model_get_config(m);
  size_t H = c->hidden_size, nl = c->num_labels, n = 32, T = 0;
  size_t lengths[32];
  GRand *r = g_rand_new_with_seed(42);
  for (size_t i = 0; i < n; i++) T += lengths[i] = (size_t)g_rand_int_range(r, 1, 60);
  int32_t *ids = g_new(int32_t, T), *tt = g_new(int32_t, T);
  for (size_t i = 0; i < T; i++) {
    ids[i] = g_rand_int_range(r, 0, (gint32)c->vocab_size);
    tt[i] = g_rand_int_range(r, 0, (gint32)c->type_vocab_size);
  }
  g_rand_free(r);
  nlp_forward_ctx *ctx = nlp_forward_ctx_new(m, threads);
  float *hb = g_new(float, T * H), *lb = g_new(float, n * nl);
  nlp_forward_input in = {n, lengths, ids, tt};
  CU_ASSERT_FATAL(nlp_model_forward(m, ctx, &in, hb, &err));
  CU_ASSERT_FATAL(nlp_model_sequence_logits(m, ctx, &in, hb, lb, &err));
  float *h1 = g_new(float, 70 * H), l1[16];
  double mh = 0, ml = 0;
  size_t off = 0;
  for (size_t s = 0; s < n; s++) {
    nlp_forward_input one = {1, &lengths[s], ids + off, tt + off};
    CU_ASSERT_FATAL(nlp_model_forward(m, ctx, &one, h1, &err));
    CU_ASSERT_FATAL(nlp_model_sequence_logits(m, ctx, &one, h1, l1, &err));
    for (size_t i = 0; i < lengths[s] * H; i++) mh = fmax(mh, fabs(h1[i] - hb[off * H + i]));
    for (size_t i = 0; i < nl; i++) ml = fmax(ml, fabs(l1[i] - lb[s * nl + i]));
    off += lengths[s];
  }
  fprintf(stderr, "\n    %s threads %d: batch 32 (%zu tokens) vs batch 1: hidden %.2e logits %.2e",
          name, threads, T, mh, ml);
  CU_ASSERT(mh <= 1e-6);
  CU_ASSERT(ml <= 1e-6);
  g_free(h1); g_free(hb); g_free(lb); g_free(ids); g_free(tt);
  nlp_forward_ctx_free(ctx);
  nlp_model_free(m);
  g_free(dir);
}

/* Threads inside the forward pass (products, attention heads, row-wise ops) must
 * not change a single bit: a mixed batch with 1 and with 2 threads. */
static void thread_invariance(const char *name) {
  char *dir = g_strdup_printf(FIX "%s", name);
  GError *err = NULL;
  nlp_model *m = nlp_model_open(dir, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  const nlp_model_config *c = nlp_model_get_config(m);
  size_t H = c->hidden_size, n = 24, T = 0, lengths[24];
  GRand *r = g_rand_new_with_seed(7);
  for (size_t i = 0; i < n; i++) T += lengths[i] = (size_t)g_rand_int_range(r, 1, 90);
  int32_t *ids = g_new(int32_t, T);
  for (size_t i = 0; i < T; i++) ids[i] = g_rand_int_range(r, 0, (gint32)c->vocab_size);
  g_rand_free(r);
  float *out[2];
  for (int th = 1; th <= 2; th++) {
    nlp_forward_ctx *ctx = nlp_forward_ctx_new(m, th);
    nlp_forward_input in = {n, lengths, ids, NULL};
    out[th - 1] = g_new(float, T * H);
    CU_ASSERT_FATAL(nlp_model_forward(m, ctx, &in, out[th - 1], &err));
    nlp_forward_ctx_free(ctx);
  }
  CU_ASSERT(memcmp(out[0], out[1], T * H * sizeof(float)) == 0);
  g_free(out[0]); g_free(out[1]); g_free(ids);
  nlp_model_free(m);
  g_free(dir);
}

static void test_thread_invariance(void) {
  thread_invariance("bert-seqcls-f32");
  thread_invariance("roberta-seqcls-f32");
}

static void test_batch_invariance(void) {
  batch_invariance("bert-seqcls-f32", 1);
  batch_invariance("roberta-seqcls-f32", 2);
  batch_invariance("distilbert-seqcls-f32", 1);
}

/* A temporary model folder with CONFIG and the weights of SOURCE fixture. */
static char *temp_model(const char *config, const char *source) {
  char *dir = g_dir_make_tmp("nlp-encoder-XXXXXX", NULL);
  char *p = g_build_filename(dir, "config.json", NULL);
  g_file_set_contents(p, config, -1, NULL);
  g_free(p);
  if (source) {
    char *src = g_strdup_printf(FIX "%s/model.safetensors", source), *data;
    size_t len;
    data = nlp_test_read_file(src, &len);
    p = g_build_filename(dir, "model.safetensors", NULL);
    g_file_set_contents(p, data, (gssize)len, NULL);
    g_free(p); g_free(data); g_free(src);
  }
  return dir;
}

static void rm_model(char *dir) {
  const char *names[] = {"config.json", "model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char *p = g_build_filename(dir, names[i], NULL);
    remove(p);
    g_free(p);
  }
  remove(dir);
  g_free(dir);
}

static void expect_refusal(const char *config, const char *source, int code, const char *needle) {
  char *dir = temp_model(config, source);
  GError *err = NULL;
  nlp_model *m = nlp_model_open(dir, &err);
  CU_ASSERT_PTR_NULL(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(err);
  fprintf(stderr, "\n    refused: %s", err->message);
  CU_ASSERT_EQUAL(err->code, code);
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, needle));
  g_error_free(err);
  nlp_model_free(m);
  rm_model(dir);
}

#define BERT_CFG(extra)                                                                   \
  "{\"model_type\": \"bert\", \"architectures\": [\"BertForSequenceClassification\"], " \
  "\"vocab_size\": 97, \"hidden_size\": 36, \"num_hidden_layers\": 2, "                 \
  "\"num_attention_heads\": 4, \"intermediate_size\": 52, \"max_position_embeddings\": 520, " \
  "\"id2label\": {\"0\": \"NEG\", \"1\": \"NEU\", \"2\": \"POS\"}" extra "}"

static void test_refusals(void) {
  expect_refusal("{\"model_type\": \"gpt2\", \"n_embd\": 8}", NULL, NLP_ERROR_UNSUPPORTED, "gpt2");
  expect_refusal(BERT_CFG(", \"position_embedding_type\": \"relative_key\""), "bert-seqcls-f32",
                 NLP_ERROR_UNSUPPORTED, "relative_key");
  expect_refusal(BERT_CFG(", \"hidden_act\": \"swish\""), "bert-seqcls-f32", NLP_ERROR_UNSUPPORTED,
                 "swish");
  expect_refusal(BERT_CFG(", \"is_decoder\": true"), "bert-seqcls-f32", NLP_ERROR_UNSUPPORTED,
                 "is_decoder");
  /* weights that do not match config.json: error names the tensor and both shapes */
  expect_refusal("{\"model_type\": \"bert\", \"architectures\": [\"BertModel\"], \"vocab_size\": 97, "
                 "\"hidden_size\": 36, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                 "\"intermediate_size\": 64, \"max_position_embeddings\": 520}",
                 "bert-seqcls-f32", NLP_ERROR_MODEL, "bert.encoder.layer.0.intermediate.dense.weight");
  /* a layer the file does not have */
  expect_refusal("{\"model_type\": \"bert\", \"vocab_size\": 97, \"hidden_size\": 36, "
                 "\"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"intermediate_size\": 52, "
                 "\"max_position_embeddings\": 520}",
                 "bert-seqcls-f32", NLP_ERROR_MODEL, "bert.encoder.layer.2.attention.self.query.weight");
  expect_refusal(BERT_CFG(""), NULL, NLP_ERROR_IO, "model.safetensors");
}

static void test_bad_input(void) {
  GError *err = NULL;
  nlp_model *m = nlp_model_open(FIX "bert-seqcls-f32", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  nlp_forward_ctx *ctx = nlp_forward_ctx_new(m, 1);
  float out[36 * 3];
  size_t len = 3, zero = 0;
  int32_t ids[3] = {5, 97, 6}, tt[3] = {0, 0, 2};
  nlp_forward_input in = {1, &len, ids, NULL};
  CU_ASSERT_FALSE(nlp_model_forward(m, ctx, &in, out, &err));
  CU_ASSERT(err && err->code == NLP_ERROR_INPUT && strstr(err->message, "97"));
  g_clear_error(&err);
  ids[1] = 7;
  in.type_ids = tt;
  CU_ASSERT_FALSE(nlp_model_forward(m, ctx, &in, out, &err));
  CU_ASSERT(err && err->code == NLP_ERROR_INPUT);
  g_clear_error(&err);
  in.lengths = &zero;
  CU_ASSERT_FALSE(nlp_model_forward(m, ctx, &in, out, &err));
  g_clear_error(&err);
  /* a head this model does not have */
  in.lengths = &len;
  in.type_ids = NULL;
  CU_ASSERT_FATAL(nlp_model_forward(m, ctx, &in, out, &err));
  float lg[3];
  CU_ASSERT_FALSE(nlp_model_token_logits(m, ctx, &in, out, lg, &err));
  CU_ASSERT(err && err->code == NLP_ERROR_UNSUPPORTED);
  g_clear_error(&err);
  CU_ASSERT_PTR_NOT_NULL(nlp_model_find_tensor(m, "classifier.weight"));
  CU_ASSERT_PTR_NULL(nlp_model_find_tensor(m, "nope"));
  nlp_forward_ctx_free(ctx);
  nlp_model_free(m);
}

/* `nlpipe forward` end to end (tokenizer from the fixture's vocab.txt, batching over
 * 2 workers, input order kept, JSONL pairs) against the API on the same ids. */
static void test_cli_forward(void) {
  char *exe = nlp_test_build_path("nlpipe");
  if (!g_file_test(exe, G_FILE_TEST_IS_EXECUTABLE)) {
    g_free(exe);
    NLP_TEST_SKIP("nlpipe not built");
  }
  /* tok<i> is id 5 + i; [CLS] 2, [SEP] 3 */
  const char *lines = "{\"text\": \"tok1 tok7 tok30\"}\n{\"text\": \"tok3\", \"text_pair\": \"tok4 tok5\"}\n"
                      "{\"text\": \"TOK9\"}\n";
  static const int32_t ids[] = {2, 6, 12, 35, 3, 2, 8, 3, 9, 10, 3, 2, 14, 3};
  static const int32_t types[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0};
  size_t lengths[] = {5, 6, 3};
  char *in_path = g_strdup_printf("%s/nlp-cli-%d.jsonl", g_get_tmp_dir(), (int)getpid());
  g_file_set_contents(in_path, lines, -1, NULL);
  char *cmd = g_strdup_printf("%s forward " FIX "bert-seqcls-f32 --jsonl --batch-size 2 --threads 2 < %s",
                              exe, in_path);
  FILE *p = popen(cmd, "r");
  CU_ASSERT_PTR_NOT_NULL_FATAL(p);
  char buf[4096];
  float got[3][3];
  int n = 0;
  while (n < 3 && fgets(buf, sizeof buf, p)) {
    json_object *o = json_tokener_parse(buf), *lg = NULL;
    CU_ASSERT_FATAL(o && json_object_object_get_ex(o, "logits", &lg));
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(lg), 3);
    for (int j = 0; j < 3; j++) got[n][j] = (float)json_object_get_double(json_object_array_get_idx(lg, (size_t)j));
    json_object_put(o);
    n++;
  }
  CU_ASSERT_EQUAL(pclose(p), 0);
  CU_ASSERT_EQUAL_FATAL(n, 3);
  GError *err = NULL;
  nlp_model *m = nlp_model_open(FIX "bert-seqcls-f32", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  nlp_forward_ctx *ctx = nlp_forward_ctx_new(m, 1);
  nlp_forward_input in = {3, lengths, ids, types};
  float hidden[14 * 36], lg[9];
  CU_ASSERT_FATAL(nlp_model_forward(m, ctx, &in, hidden, &err));
  CU_ASSERT_FATAL(nlp_model_sequence_logits(m, ctx, &in, hidden, lg, &err));
  double mx = 0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) mx = fmax(mx, fabs(got[i][j] - lg[i * 3 + j]));
  fprintf(stderr, "\n    CLI vs API max|diff| %.2e", mx);
  CU_ASSERT(mx <= 1e-5);
  nlp_forward_ctx_free(ctx);
  nlp_model_free(m);
  remove(in_path);
  g_free(in_path); g_free(cmd); g_free(exe);
}

/* After load the encoder reads only its packed copy and the f32 views of the layer
 * weights are given back (file pages, or converted f16/bf16 arena pages); a lookup by
 * name must still return exactly the stored values, converted again if need be. The
 * forward pass after the lookups must be unchanged too. */
static void released_weights_come_back(const char *name, const char *tensor) {
  char *dir = g_strconcat(FIX, name, NULL), *file = g_build_filename(dir, "model.safetensors", NULL);
  GError *err = NULL;
  nlp_model *m = nlp_model_open(dir, &err);
  nlp_safetensors *st = nlp_safetensors_open(file, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(st);
  const nlp_safetensors_entry *e = nlp_safetensors_find(st, tensor);
  const nlp_tensor *t = nlp_model_find_tensor(m, tensor);
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  CU_ASSERT_EQUAL_FATAL(t->numel, e->numel);
  float *want = g_new(float, e->numel);
  if (e->dtype == NLP_DTYPE_F16) nlp_convert_f16_to_f32(e->data, want, e->numel);
  else if (e->dtype == NLP_DTYPE_BF16) nlp_convert_bf16_to_f32(e->data, want, e->numel);
  else memcpy(want, e->data, e->numel * sizeof(float));
  CU_ASSERT(memcmp(want, t->data, e->numel * sizeof(float)) == 0);
  CU_ASSERT(nlp_model_find_tensor(m, tensor) == t); /* same view, converted once */
  g_free(want);
  nlp_safetensors_free(st);
  nlp_model_free(m);
  g_free(file);
  g_free(dir);
  check_case(name);
}

static void test_released_weights(void) {
  released_weights_come_back("bert-tokcls-f16", "bert.encoder.layer.0.intermediate.dense.weight");
  released_weights_come_back("bert-bare-bf16", "encoder.layer.0.intermediate.dense.weight");
  released_weights_come_back("bert-seqcls-f32", "bert.encoder.layer.0.output.dense.weight");
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("encoder parity with PyTorch", NULL, NULL);
  CU_add_test(s, "BERT seq-cls f32, lengths 1..512", test_bert_seqcls);
  CU_add_test(s, "BERT bare (no prefix) bf16 gelu_new", test_bert_bare_bf16);
  CU_add_test(s, "BERT token-cls f16 relu 16 heads", test_bert_tokcls_f16);
  CU_add_test(s, "BERT QA f32", test_bert_qa);
  CU_add_test(s, "RoBERTa seq-cls, positions from padding_idx, 514 tokens", test_roberta_seqcls);
  CU_add_test(s, "XLM-R token-cls, sharded", test_xlmr_sharded);
  CU_add_test(s, "DistilBERT seq-cls", test_distilbert_seqcls);
  CU_add_test(s, "DistilBERT QA bf16 relu", test_distilbert_qa_bf16);
  CU_add_test(s, "ELECTRA seq-cls, embeddings_project", test_electra_seqcls);
  s = CU_add_suite("encoder behaviour", NULL, NULL);
  CU_add_test(s, "batch of 32 vs batch of 1", test_batch_invariance);
  CU_add_test(s, "1 vs 2 threads: identical bits", test_thread_invariance);
  CU_add_test(s, "unsupported configs and mismatched weights", test_refusals);
  CU_add_test(s, "bad input ids", test_bad_input);
  CU_add_test(s, "nlpipe forward CLI", test_cli_forward);
  CU_add_test(s, "layer weights given back after packing come back by name", test_released_weights);
}

int main(void) { return nlp_test_main(register_suites); }
