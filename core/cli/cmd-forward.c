/* cmd-forward.c — `nlpipe forward MODEL_DIR`: text lines (or JSONL records) in,
 * one JSONL line of encoder outputs per input out, in input order.
 *
 * Threads: --threads N is one budget. With --split gemm (the default) one worker runs
 * each batch with N threads inside it: the prepacked Linears split their column
 * panels, attention its (sequence, head) pairs, the row-wise ops their rows. With
 * --split batches N workers each run whole batches on one thread. On an idle 2-core
 * Zen 4 gemm won at batch 1 (20.2 vs 18.4 sentences/s) and at batch 32 (22.7 vs 18.7),
 * see bench/encoder/README.md; batches degrades more gracefully when another process
 * takes a core, since no worker waits for another. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"
#include "tensor/gemm.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

typedef enum { OUT_HIDDEN, OUT_POOLED, OUT_LOGITS } out_kind;

typedef struct {
  char *text, *pair;
  GString *result; /* the JSONL line, filled by a worker */
  bool failed;
} record;

typedef struct {
  const nlp_model *model;
  const nlp_tokenizer *tok;
  nlp_forward_ctx *ctx;
  out_kind out;
  record *recs;
  size_t n;
  /* reused buffers */
  GArray *ids, *types;
  size_t *lengths;
  size_t cap_lengths;
  float *hidden, *aux;
  size_t cap_hidden, cap_aux;
} worker;

static void put_floats(GString *s, const float *x, size_t n) {
  g_string_append_c(s, '[');
  for (size_t i = 0; i < n; i++) g_string_append_printf(s, i ? ",%.7g" : "%.7g", (double)x[i]);
  g_string_append_c(s, ']');
}

static void put_rows(GString *s, const float *x, size_t rows, size_t cols) {
  g_string_append_c(s, '[');
  for (size_t r = 0; r < rows; r++) {
    if (r) g_string_append_c(s, ',');
    put_floats(s, x + r * cols, cols);
  }
  g_string_append_c(s, ']');
}

static void fail_record(record *r, const char *msg) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "error", json_object_new_string(msg));
  g_string_assign(r->result, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  r->failed = true;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return p;
  *cap = MAX(need, *cap * 2);
  g_free(p);
  return g_malloc(*cap * elem);
}

/* Tokenizes, runs one forward over the records that tokenized, formats results. */
static gpointer run_batch(gpointer data) {
  worker *w = data;
  const nlp_model_config *c = nlp_model_get_config(w->model);
  size_t H = c->hidden_size, nl = c->num_labels;
  size_t limit = c->max_positions - (size_t)c->position_offset;
  nlp_encode_params params = nlp_encode_default_params();
  params.max_length = limit;
  g_array_set_size(w->ids, 0);
  g_array_set_size(w->types, 0);
  w->lengths = grow(w->lengths, &w->cap_lengths, w->n, sizeof(size_t));
  size_t *slot = g_newa(size_t, w->n + 1), n = 0;
  for (size_t i = 0; i < w->n; i++) {
    record *r = &w->recs[i];
    if (r->failed) continue; /* bad JSON: its error line is already written */
    GError *err = NULL;
    nlp_encoding_list *el = nlp_tokenizer_encode(w->tok, r->text, strlen(r->text), r->pair,
                                                 r->pair ? strlen(r->pair) : 0, &params, &err);
    if (!el || el->n == 0) {
      fail_record(r, err ? err->message : "tokenizer produced nothing");
      g_clear_error(&err);
      nlp_encoding_list_free(el);
      continue;
    }
    const nlp_encoding *e = &el->items[0];
    g_array_append_vals(w->ids, e->ids, (guint)e->n);
    g_array_append_vals(w->types, e->type_ids, (guint)e->n);
    w->lengths[n] = e->n;
    slot[n++] = i;
    nlp_encoding_list_free(el);
  }
  if (!n) return NULL;
  nlp_forward_input in = {n, w->lengths, (const int32_t *)w->ids->data,
                          (const int32_t *)w->types->data};
  size_t T = w->ids->len;
  w->hidden = grow(w->hidden, &w->cap_hidden, T * H, sizeof(float));
  w->aux = grow(w->aux, &w->cap_aux, MAX(T, n) * MAX(nl, H) + T, sizeof(float));
  GError *err = NULL;
  bool ok = nlp_model_forward(w->model, w->ctx, &in, w->hidden, &err);
  nlp_head_kind head = c->head;
  if (ok && w->out == OUT_POOLED) ok = nlp_model_pooled(w->model, w->ctx, &in, w->hidden, w->aux, &err);
  if (ok && w->out == OUT_LOGITS) {
    if (head == NLP_HEAD_SEQUENCE_CLASSIFICATION)
      ok = nlp_model_sequence_logits(w->model, w->ctx, &in, w->hidden, w->aux, &err);
    else if (head == NLP_HEAD_TOKEN_CLASSIFICATION)
      ok = nlp_model_token_logits(w->model, w->ctx, &in, w->hidden, w->aux, &err);
    else
      ok = nlp_model_qa_logits(w->model, w->ctx, &in, w->hidden, w->aux, w->aux + T, &err);
  }
  size_t off = 0;
  for (size_t s = 0; s < n; s++) {
    record *r = &w->recs[slot[s]];
    size_t L = w->lengths[s];
    if (!ok) {
      fail_record(r, err->message);
      continue;
    }
    GString *o = r->result;
    g_string_truncate(o, 0);
    if (w->out == OUT_HIDDEN) {
      g_string_append(o, "{\"hidden\":");
      put_rows(o, w->hidden + off * H, L, H);
    } else if (w->out == OUT_POOLED) {
      g_string_append(o, "{\"pooled\":");
      put_floats(o, w->aux + s * H, H);
    } else if (head == NLP_HEAD_SEQUENCE_CLASSIFICATION) {
      g_string_append(o, "{\"logits\":");
      put_floats(o, w->aux + s * nl, nl);
    } else if (head == NLP_HEAD_TOKEN_CLASSIFICATION) {
      g_string_append(o, "{\"logits\":");
      put_rows(o, w->aux + off * nl, L, nl);
    } else {
      g_string_append(o, "{\"start_logits\":");
      put_floats(o, w->aux + off, L);
      g_string_append(o, ",\"end_logits\":");
      put_floats(o, w->aux + T + off, L);
    }
    g_string_append_c(o, '}');
    off += L;
  }
  g_clear_error(&err);
  return NULL;
}

static bool read_record(FILE *in, bool jsonl, record *r, size_t lineno, char **line, size_t *cap) {
  ssize_t got = getline(line, cap, in);
  if (got < 0) return false;
  while (got > 0 && ((*line)[got - 1] == '\n' || (*line)[got - 1] == '\r')) (*line)[--got] = 0;
  r->result = g_string_new(NULL);
  r->failed = false;
  r->text = r->pair = NULL;
  if (!jsonl) {
    r->text = g_strdup(*line);
    return true;
  }
  json_object *o = json_tokener_parse(*line), *t = NULL, *p = NULL;
  if (!o || !json_object_object_get_ex(o, "text", &t) || !json_object_is_type(t, json_type_string)) {
    char *msg = g_strdup_printf("stdin:%zu: expected a JSON object with a string 'text'", lineno);
    fail_record(r, msg);
    g_free(msg);
  } else {
    r->text = g_strdup(json_object_get_string(t));
    if (json_object_object_get_ex(o, "text_pair", &p) && json_object_is_type(p, json_type_string))
      r->pair = g_strdup(json_object_get_string(p));
  }
  if (o) json_object_put(o);
  return true;
}

static int usage(FILE *f, int code) {
  fprintf(f, "usage: nlpipe forward MODEL_DIR [--output hidden|pooled|logits] [--jsonl]\n"
             "                      [--batch-size N] [--threads N] [--split gemm|batches]\n\n"
             "Reads text lines (or with --jsonl records {\"text\", \"text_pair\"}) on stdin and\n"
             "writes one JSON line per input, in input order: {\"logits\":[...]},\n"
             "{\"pooled\":[...]} or {\"hidden\":[[...],...]}. Default: logits if the model has\n"
             "a head, else pooled; batch size 32; threads 1; split gemm (threads inside each\n"
             "batch; batches: one worker per thread, each on whole batches).\n");
  return code;
}

int nlp_cli_forward(int argc, char **argv) {
  const char *dir = NULL, *output = NULL, *split = NULL;
  bool jsonl = false;
  long batch = 32, threads = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
    if (!strcmp(a, "--jsonl")) jsonl = true;
    else if (!strcmp(a, "--output") && i + 1 < argc) output = argv[++i];
    else if (!strcmp(a, "--split") && i + 1 < argc) split = argv[++i];
    else if (!strcmp(a, "--batch-size") && i + 1 < argc) batch = strtol(argv[++i], NULL, 10);
    else if (!strcmp(a, "--threads") && i + 1 < argc) threads = strtol(argv[++i], NULL, 10);
    else if (a[0] != '-' && !dir) dir = a;
    else {
      fprintf(stderr, "nlpipe forward: unknown or incomplete option '%s'\n", a);
      return usage(stderr, 2);
    }
  }
  if (!dir || batch < 1 || batch > 65536 || threads < 1 || threads > 256)
    return usage(stderr, 2);
  out_kind out = OUT_LOGITS;
  if (output && !strcmp(output, "hidden")) out = OUT_HIDDEN;
  else if (output && !strcmp(output, "pooled")) out = OUT_POOLED;
  else if (output && strcmp(output, "logits")) {
    fprintf(stderr, "nlpipe forward: --output must be hidden, pooled or logits\n");
    return 2;
  }
  if (split && strcmp(split, "gemm") && strcmp(split, "batches")) {
    fprintf(stderr, "nlpipe forward: --split must be gemm or batches, not '%s'\n", split);
    return 2;
  }
  bool split_batches = split && !strcmp(split, "batches");
  int workers = split_batches ? (int)threads : 1;
  nlp_compute_init(split_batches ? 1 : (int)threads);
  GError *err = NULL;
  nlp_model *model = nlp_model_open(dir, &err);
  nlp_tokenizer *tok = model ? nlp_tokenizer_load(dir, &err) : NULL;
  if (!tok) {
    fprintf(stderr, "nlpipe forward: %s\n", err->message);
    g_error_free(err);
    nlp_model_free(model);
    return 2;
  }
  if (!output && nlp_model_get_config(model)->head == NLP_HEAD_NONE) out = OUT_POOLED;
  if (out == OUT_LOGITS && nlp_model_get_config(model)->head == NLP_HEAD_NONE) {
    fprintf(stderr, "nlpipe forward: %s has no task head (architectures[0] %s); use --output "
                    "pooled or hidden\n", dir, nlp_model_get_config(model)->architecture);
    nlp_tokenizer_free(tok);
    nlp_model_free(model);
    return 2;
  }
  worker *ws = g_new0(worker, workers);
  for (int i = 0; i < workers; i++) {
    ws[i] = (worker){.model = model, .tok = tok, .out = out,
                     .ctx = nlp_forward_ctx_new(model, split_batches ? 1 : (int)threads),
                     .ids = g_array_new(FALSE, FALSE, sizeof(int32_t)),
                     .types = g_array_new(FALSE, FALSE, sizeof(int32_t))};
  }
  size_t group = (size_t)batch * (size_t)workers, lineno = 0;
  record *recs = g_new0(record, group);
  char *line = NULL;
  size_t cap = 0;
  int status = 0;
  bool eof = false;
  GThread **th = g_new0(GThread *, workers);
  while (!eof) {
    size_t n = 0;
    while (n < group && read_record(stdin, jsonl, &recs[n], ++lineno, &line, &cap)) n++;
    if (n < group) eof = true;
    if (!n) break;
    /* the records that failed to parse already carry their error line */
    int used = 0;
    for (int i = 0; i < workers && (size_t)i * (size_t)batch < n; i++, used++) {
      ws[i].recs = recs + (size_t)i * (size_t)batch;
      ws[i].n = MIN((size_t)batch, n - (size_t)i * (size_t)batch);
    }
    for (int i = 1; i < used; i++) th[i] = g_thread_new("forward", run_batch, &ws[i]);
    run_batch(&ws[0]);
    for (int i = 1; i < used; i++) g_thread_join(th[i]);
    for (size_t k = 0; k < n; k++) {
      fputs(recs[k].result->str, stdout);
      fputc('\n', stdout);
      if (recs[k].failed) status = 1;
      g_string_free(recs[k].result, TRUE);
      g_free(recs[k].text);
      g_free(recs[k].pair);
    }
    fflush(stdout);
  }
  free(line);
  g_free(th);
  g_free(recs);
  for (int i = 0; i < workers; i++) {
    nlp_forward_ctx_free(ws[i].ctx);
    g_array_free(ws[i].ids, TRUE);
    g_array_free(ws[i].types, TRUE);
    g_free(ws[i].lengths); g_free(ws[i].hidden); g_free(ws[i].aux);
  }
  g_free(ws);
  nlp_tokenizer_free(tok);
  nlp_model_free(model);
  return status;
}
