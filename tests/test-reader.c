/* Reader and writer on awkward input: empty lines, CRLF, no trailing newline,
 * invalid UTF-8, a 1 MB line, malformed JSONL records, TSV columns. Every input
 * line becomes exactly one document, failed ones carrying their line number. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/reader.h"
#include "pipeline/writer.h"
#include "support/harness.h"

typedef struct {
  size_t n;
  nlp_doc docs[16];
} read_result;

static void read_all(const char *data, size_t len, nlp_input_spec *spec, read_result *out) {
  FILE *f = fmemopen((void *)data, len, "rb");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  nlp_reader *r = nlp_reader_new_from_stream(spec, f, "mem");
  out->n = 0;
  GError *err = NULL;
  while (out->n < 16 && nlp_reader_next(r, &out->docs[out->n], &err) == 1) out->n++;
  CU_ASSERT_PTR_NULL(err);
  CU_ASSERT_EQUAL(nlp_reader_offset(r), len);
  nlp_reader_free(r);
  fclose(f);
}

static void clear_all(read_result *res) {
  for (size_t i = 0; i < res->n; i++) nlp_doc_clear(&res->docs[i]);
}

static nlp_input_spec text_spec(void) {
  nlp_input_spec s = {.format = NLP_INPUT_TEXT, .path = "-", .text_field = "text"};
  return s;
}

static void test_text_lines(void) {
  const char data[] = "first\r\n\nthird line\r\nlast without newline";
  nlp_input_spec spec = text_spec();
  read_result res;
  read_all(data, sizeof data - 1, &spec, &res);
  CU_ASSERT_EQUAL_FATAL(res.n, 4);
  CU_ASSERT_STRING_EQUAL(res.docs[0].text, "first"); /* CR removed */
  CU_ASSERT_EQUAL(res.docs[0].text_len, 5);
  CU_ASSERT_PTR_NULL(res.docs[0].error);
  CU_ASSERT_PTR_NOT_NULL(res.docs[1].error); /* the empty line is a failed record */
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[1].error, "line 2"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[1].error, "empty"));
  CU_ASSERT_STRING_EQUAL(res.docs[2].text, "third line");
  CU_ASSERT_STRING_EQUAL(res.docs[3].text, "last without newline");
  for (size_t i = 0; i < res.n; i++) {
    CU_ASSERT_EQUAL(res.docs[i].index, i);
    CU_ASSERT_EQUAL(res.docs[i].line, i + 1);
  }
  clear_all(&res);
}

static void test_empty_input(void) {
  nlp_input_spec spec = text_spec();
  read_result res;
  read_all("", 0, &spec, &res);
  CU_ASSERT_EQUAL(res.n, 0);
}

static void test_invalid_utf8(void) {
  const char data[] = "ok \xc3\xa9\nbad \xff\xfe here\ntruncated \xe2\x82\nfine\n";
  nlp_input_spec spec = text_spec();
  read_result res;
  read_all(data, sizeof data - 1, &spec, &res);
  CU_ASSERT_EQUAL_FATAL(res.n, 4);
  CU_ASSERT_STRING_EQUAL(res.docs[0].text, "ok \xc3\xa9");
  CU_ASSERT_PTR_NOT_NULL_FATAL(res.docs[1].error);
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[1].error, "line 2: invalid UTF-8 at byte 4"));
  /* The record still shows the text, with U+FFFD for the bad bytes. */
  const char *shown = json_object_get_string(json_object_object_get(res.docs[1].record, "text"));
  CU_ASSERT_TRUE(g_utf8_validate(shown, -1, NULL));
  CU_ASSERT_PTR_NOT_NULL(strstr(shown, "\xef\xbf\xbd"));
  CU_ASSERT_PTR_NOT_NULL(res.docs[2].error);
  CU_ASSERT_PTR_NULL(res.docs[3].error);
  clear_all(&res);
}

static void test_one_megabyte_line(void) {
  size_t big = 1 << 20;
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < big; i++) g_string_append_c(s, (char)('a' + i % 26));
  g_string_append(s, "\nshort\n");
  nlp_input_spec spec = text_spec();
  read_result res;
  read_all(s->str, s->len, &spec, &res);
  CU_ASSERT_EQUAL_FATAL(res.n, 2);
  CU_ASSERT_EQUAL(res.docs[0].text_len, big);
  CU_ASSERT_EQUAL(res.docs[0].text[big - 1], (char)('a' + (big - 1) % 26));
  CU_ASSERT_STRING_EQUAL(res.docs[1].text, "short");
  clear_all(&res);
  g_string_free(s, TRUE);
}

static void test_jsonl_records(void) {
  const char data[] =
      "{\"id\": 1, \"body\": \"caf\\u00e9\"}\n"
      "{\"id\": 2}\n"
      "{\"id\": 3, \"body\": 7}\n"
      "{\"id\": 4, \"body\": \"x\",}\n"
      "[1, 2]\n"
      "\n"
      "{\"id\": 7, \"body\": \"\"}\n"
      "{\"id\": 8, \"body\": \"ok\"} trailing\n"
      "{\"id\": 9, \"body\": \"bad \xff\"}\n"
      "{\"id\": 10, \"body\": \"last\"}";
  nlp_input_spec spec = {.format = NLP_INPUT_JSONL, .path = "-", .text_field = "body"};
  read_result res;
  read_all(data, sizeof data - 1, &spec, &res);
  CU_ASSERT_EQUAL_FATAL(res.n, 10);
  CU_ASSERT_STRING_EQUAL(res.docs[0].text, "caf\xc3\xa9");
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[1].error, "line 2: missing field \"body\""));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[2].error, "expected a string, got int"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[3].error, "line 4, column"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[3].error, "malformed JSON"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[4].error, "expected a JSON object, got array"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[5].error, "line 6"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[6].error, "is empty"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[7].error, "line 8, column 25: malformed JSON"));
  CU_ASSERT_PTR_NOT_NULL(res.docs[8].error);
  CU_ASSERT_STRING_EQUAL(res.docs[9].text, "last");
  /* The other fields of a good record are kept for the output. */
  CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(res.docs[0].record, "id")), 1);
  clear_all(&res);
}

static void test_tsv(void) {
  const char data[] = "id\ttext\r\n1\thello there\r\n2\n3\tbye\n";
  nlp_input_spec spec = {.format = NLP_INPUT_TSV, .path = "-", .text_field = "text",
                         .header = TRUE};
  read_result res;
  read_all(data, sizeof data - 1, &spec, &res);
  CU_ASSERT_EQUAL_FATAL(res.n, 3);
  CU_ASSERT_STRING_EQUAL(res.docs[0].text, "hello there");
  CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(res.docs[0].record, "id")),
                         "1");
  CU_ASSERT_EQUAL(res.docs[0].line, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(res.docs[1].error, "expected 2 tab-separated columns, got 1"));
  CU_ASSERT_STRING_EQUAL(res.docs[2].text, "bye");
  clear_all(&res);

  char *cols[] = {"label", "text", NULL};
  nlp_input_spec named = {.format = NLP_INPUT_TSV, .path = "-", .text_field = "text",
                          .columns = cols};
  read_all("pos\tgood\n", 9, &named, &res);
  CU_ASSERT_EQUAL_FATAL(res.n, 1);
  CU_ASSERT_STRING_EQUAL(res.docs[0].text, "good");
  clear_all(&res);
}

static void test_writer_output(void) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  nlp_writer *w = nlp_writer_new_from_stream(f, "mem");
  json_object *o = json_object_new_object();
  json_object_object_add(o, "text", json_object_new_string("S\xc3\xa3o Paulo / \"q\"\n\xf0\x9f\x98\x80"));
  json_object_object_add(o, "n", json_object_new_int(3));
  CU_ASSERT_TRUE(nlp_writer_write(w, o, NULL));
  CU_ASSERT_TRUE(nlp_writer_write(w, o, NULL));
  CU_ASSERT_TRUE(nlp_writer_close(w, NULL));
  fclose(f);
  const char *line = "{\"text\":\"S\xc3\xa3o Paulo / \\\"q\\\"\\n\xf0\x9f\x98\x80\",\"n\":3}\n";
  char *expected = g_strconcat(line, line, NULL);
  CU_ASSERT_STRING_EQUAL(buf, expected);
  g_free(expected);
  json_object_put(o);
  free(buf);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("reader and writer", NULL, NULL);
  CU_add_test(s, "text lines: CRLF, empty, no final newline", test_text_lines);
  CU_add_test(s, "empty input", test_empty_input);
  CU_add_test(s, "invalid UTF-8", test_invalid_utf8);
  CU_add_test(s, "1 MB line", test_one_megabyte_line);
  CU_add_test(s, "JSONL records and their errors", test_jsonl_records);
  CU_add_test(s, "TSV header and columns", test_tsv);
  CU_add_test(s, "writer: compact UTF-8 JSONL", test_writer_output);
}

int main(void) { return nlp_test_main(register_suites); }
