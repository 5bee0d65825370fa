/* test-safetensors.c — the safetensors reader: dtypes, and every corruption it must
 * refuse with an error naming the tensor. Files are written at run time. */
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "support/harness.h"
#include "tensor/safetensors.h"
#include "util/error.h"

/* Writes an 8-byte length + HEADER (space-padded to 8) + DATA of DLEN bytes;
 * HLEN_OVERRIDE != 0 replaces the stored header length. Returns the path. */
static char *write_file(const char *header, const void *data, size_t dlen, uint64_t hlen_override) {
  static int seq;
  char *path = g_strdup_printf("%s/nlp-st-%d-%d.safetensors", g_get_tmp_dir(), (int)getpid(), seq++);
  size_t hl = strlen(header), padded = (hl + 7) / 8 * 8;
  uint64_t stored = hlen_override ? hlen_override : padded;
  FILE *f = fopen(path, "wb");
  for (int i = 0; i < 8; i++) fputc((int)((stored >> (8 * i)) & 0xff), f);
  fputs(header, f);
  for (size_t i = hl; i < padded; i++) fputc(' ', f);
  if (dlen) fwrite(data, 1, dlen, f);
  fclose(f);
  return path;
}

static void expect_error(const char *header, size_t dlen, uint64_t hlen, const char *needle) {
  unsigned char data[64] = {0};
  char *p = write_file(header, data, dlen, hlen);
  GError *err = NULL;
  nlp_safetensors *st = nlp_safetensors_open(p, &err);
  CU_ASSERT_PTR_NULL(st);
  CU_ASSERT_PTR_NOT_NULL_FATAL(err);
  fprintf(stderr, "\n    refused: %s", err->message);
  CU_ASSERT_EQUAL(err->code, NLP_ERROR_MODEL);
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, needle));
  g_error_free(err);
  nlp_safetensors_free(st);
  remove(p);
  g_free(p);
}

static void test_valid(void) {
  /* f32 [2], f16 [2] (1.0, -2.5), bf16 [1] (0.5), i64 [1] */
  unsigned char data[8 + 4 + 2 + 8] = {0};
  float f[2] = {1.5f, -3.0f};
  memcpy(data, f, 8);
  data[8] = 0x00; data[9] = 0x3c;   /* f16 1.0 */
  data[10] = 0x00; data[11] = 0xc1; /* f16 -2.5 */
  data[12] = 0x00; data[13] = 0x3f; /* bf16 0.5 */
  data[14] = 7;
  const char *h = "{\"__metadata__\":{\"format\":\"pt\"},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[8,12]},"
                  "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[12,14]},"
                  "\"d\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[14,22]},"
                  "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[22,22]}}";
  char *p = write_file(h, data, sizeof data, 0);
  GError *err = NULL;
  nlp_safetensors *st = nlp_safetensors_open(p, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(st);
  CU_ASSERT_EQUAL(st->n_entries, 5);
  const nlp_safetensors_entry *a = nlp_safetensors_find(st, "a"), *b = nlp_safetensors_find(st, "b");
  const nlp_safetensors_entry *c = nlp_safetensors_find(st, "c");
  CU_ASSERT_FATAL(a && b && c);
  CU_ASSERT_EQUAL(a->dtype, NLP_DTYPE_F32);
  /* no copy: the data lies inside the mapping */
  CU_ASSERT((const char *)a->data >= (const char *)st->map &&
            (const char *)a->data < (const char *)st->map + st->map_size);
  float got[2];
  memcpy(got, a->data, 8);
  CU_ASSERT_EQUAL(got[1], -3.0f);
  CU_ASSERT_EQUAL(b->ndim, 2);
  nlp_convert_f16_to_f32(b->data, got, 2);
  CU_ASSERT_EQUAL(got[0], 1.0f);
  CU_ASSERT_EQUAL(got[1], -2.5f);
  CU_ASSERT_EQUAL(c->ndim, 0);
  CU_ASSERT_EQUAL(c->numel, 1);
  nlp_convert_bf16_to_f32(c->data, got, 1);
  CU_ASSERT_EQUAL(got[0], 0.5f);
  CU_ASSERT_PTR_NULL(nlp_safetensors_find(st, "__metadata__"));
  nlp_safetensors_free(st);
  nlp_safetensors_free(NULL);
  remove(p);
  g_free(p);
}

static void test_half_conversion(void) {
  /* f16 subnormal, max, inf; bf16 negative */
  unsigned char h[8] = {0x01, 0x00, 0xff, 0x7b, 0x00, 0x7c, 0x00, 0x80};
  float out[4];
  nlp_convert_f16_to_f32(h, out, 4);
  CU_ASSERT_EQUAL(out[0], 5.9604644775390625e-8f);
  CU_ASSERT_EQUAL(out[1], 65504.0f);
  CU_ASSERT(out[2] > 1e38f);
  CU_ASSERT(out[3] == 0.0f);
  unsigned char bf[2] = {0x80, 0xbf};
  nlp_convert_bf16_to_f32(bf, out, 1);
  CU_ASSERT_EQUAL(out[0], -1.0f);
}

static void test_corrupt(void) {
  /* header length past EOF */
  expect_error("{}", 0, 1u << 20, "header length");
  /* not JSON */
  expect_error("{\"a\": [", 0, 0, "not a JSON object");
  /* offsets past the data block (as in a truncated file) */
  expect_error("{\"w.weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, 0,
               "'w.weight'");
  /* overlap */
  expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, 0, "overlaps");
  /* bad dtype */
  expect_error("{\"q\":{\"dtype\":\"F8_E9\",\"shape\":[2],\"data_offsets\":[0,2]}}", 8, 0, "'q': bad dtype");
  /* shape / byte size mismatch */
  expect_error("{\"s\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0,
               "'s': shape holds 3");
  /* begin > end, negative dims */
  expect_error("{\"r\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, 0, "'r'");
  expect_error("{\"n\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 8, 0, "'n'");
}

static void test_too_short_and_missing(void) {
  char *p = g_strdup_printf("%s/nlp-st-short-%d", g_get_tmp_dir(), (int)getpid());
  g_file_set_contents(p, "abc", 3, NULL);
  GError *err = NULL;
  CU_ASSERT_PTR_NULL(nlp_safetensors_open(p, &err));
  CU_ASSERT(err && err->code == NLP_ERROR_MODEL);
  g_clear_error(&err);
  remove(p);
  CU_ASSERT_PTR_NULL(nlp_safetensors_open(p, &err));
  CU_ASSERT(err && err->code == NLP_ERROR_IO);
  g_clear_error(&err);
  g_free(p);
}

/* A fixture cut short: the error names the first tensor whose bytes are gone. */
static void test_truncated_fixture(void) {
  size_t len;
  char *data = nlp_test_read_file("tests/fixtures/encoder/bert-qa-f32/model.safetensors", &len);
  char *p = g_strdup_printf("%s/nlp-st-trunc-%d.safetensors", g_get_tmp_dir(), (int)getpid());
  g_file_set_contents(p, data, (gssize)(len - 100), NULL);
  GError *err = NULL;
  CU_ASSERT_PTR_NULL(nlp_safetensors_open(p, &err));
  CU_ASSERT_PTR_NOT_NULL_FATAL(err);
  fprintf(stderr, "\n    refused: %s", err->message);
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "truncated"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "tensor '"));
  g_error_free(err);
  remove(p);
  g_free(p);
  g_free(data);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("safetensors", NULL, NULL);
  CU_add_test(s, "valid file, dtypes, mapped not copied", test_valid);
  CU_add_test(s, "f16/bf16 conversion edge values", test_half_conversion);
  CU_add_test(s, "corrupt headers refused naming the tensor", test_corrupt);
  CU_add_test(s, "short and missing files", test_too_short_and_missing);
  CU_add_test(s, "truncated real file", test_truncated_fixture);
}

int main(void) { return nlp_test_main(register_suites); }
