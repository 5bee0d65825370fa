/* plugin.c — the qa descriptor, options and vtable: extractive question answering.
 *
 * For every document, a question (from a field of the input record, or one fixed
 * question from the options) is paired with the document's text as the context, and
 * the answer is the best span of the context, as Hugging Face's question-answering
 * pipeline returns it (transformers 4.54 .. 5.2, the last versions that have it):
 *
 *     {"score": 0.41, "start": 34, "end": 45, "answer": "Tobias Merrow"}
 *
 * or, with top_k > 1, an array of such objects, best first (HF's shape rules: a single
 * answer is still an object, no answer is []). Offsets are Unicode code points into
 * the context.
 *
 * Windows: the host's encode_pairs tokenizes "[CLS] question [SEP] context [SEP]" in
 * windows of max_seq_len tokens, the context windows overlapping by doc_stride tokens
 * (truncation only_second, as HF), and runs the encoder once over all windows of the
 * batch. This pass is the step's own: its input differs from the batch's shared pass
 * over the texts alone, which this step never asks for. The answer is the best span
 * over all windows of a context (spans.h, answers.h say how it is picked).
 *
 * Options follow HF's names and defaults; max_question_len is accepted but unused,
 * as in HF with fast tokenizers (only slow tokenizers truncated the question): a
 * long question leaves less room for the context, and a question that leaves no
 * room for doc_stride + 1 context tokens fails that document with a message.
 *
 * Head: "qa_outputs.weight" [2, hidden] and "qa_outputs.bias" [2] (row 0 start,
 * row 1 end), from the step's head folder when it has one, else from the model
 * (BertForQuestionAnswering, DistilBertForQuestionAnswering,
 * RobertaForQuestionAnswering, ElectraForQuestionAnswering all name it so). A head
 * folder trained by `nlpipe train` holds head.safetensors with those two tensors and
 * head.json {"task": "question-answering", "labels": ["start", "end"]} ("labels" is
 * optional here; a head.json naming another task is refused).
 *
 * The state is immutable once created, so process() may run on several batches at
 * once from different threads. */
#include <nlpipe/plugin.h>

#include "answers.h"
#include "spans.h"

#include <glib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_NAME "qa"
/* A pair window holds at least [CLS] q [SEP] c [SEP]: three special tokens (BERT's
 * template; RoBERTa's has four) and one question token. */
#define QA_MIN_OVERHEAD 4

typedef struct qa_step {
  const nlp_host *host;
  char *model_name;
  char *head_dir;          /* NULL without a head folder */
  char *question;          /* fixed question, or NULL */
  char *question_field;
  size_t max_seq_len, doc_stride, top_k, max_answer_len;
  bool handle_impossible, align_to_words;
} qa_step;

/* ---- options ---------------------------------------------------------------------- */

static const nlp_option_spec qa_options[] = {
    {.name = "question_field",
     .type = NLP_OPTION_STRING,
     .default_json = "\"question\"",
     .description = "field of the input record holding each document's question"},
    {.name = "question",
     .type = NLP_OPTION_STRING,
     .flags = NLP_OPTION_NULLABLE,
     .default_json = "null",
     .description = "one question asked of every document (overrides question_field)"},
    {.name = "top_k",
     .type = NLP_OPTION_INT,
     .flags = NLP_OPTION_HAS_MIN | NLP_OPTION_HAS_MAX,
     .default_json = "1",
     .description = "number of answers; more than one gives an array, best first",
     .min = 1,
     .max = 1000},
    {.name = "doc_stride",
     .type = NLP_OPTION_INT,
     .flags = NLP_OPTION_HAS_MIN | NLP_OPTION_NULLABLE,
     .default_json = "null",
     .description = "context tokens shared by consecutive windows of a long context "
                    "(default min(max_seq_len / 2, 128))",
     .min = 0},
    {.name = "max_answer_len",
     .type = NLP_OPTION_INT,
     .flags = NLP_OPTION_HAS_MIN,
     .default_json = "15",
     .description = "longest answer, in tokens",
     .min = 1},
    {.name = "max_seq_len",
     .type = NLP_OPTION_INT,
     .flags = NLP_OPTION_HAS_MIN | NLP_OPTION_NULLABLE,
     .default_json = "null",
     .description = "tokens per window, question and special tokens included (default "
                    "min(the model's max positions, 384))",
     .min = QA_MIN_OVERHEAD + 1},
    {.name = "max_question_len",
     .type = NLP_OPTION_INT,
     .flags = NLP_OPTION_HAS_MIN,
     .default_json = "64",
     .description = "accepted for HF compatibility and unused, as in HF with fast "
                    "tokenizers: the question is never truncated",
     .min = 1},
    {.name = "handle_impossible_answer",
     .type = NLP_OPTION_BOOL,
     .default_json = "false",
     .description = "also offer the empty answer \"\", scored by the smallest [CLS] "
                    "score over the windows"},
    {.name = "align_to_words",
     .type = NLP_OPTION_BOOL,
     .default_json = "true",
     .description = "widen answers to whole words (false: the tokens' own characters)"},
};

static const char *const qa_requires[] = {"text", "encoder", NULL};
static const char *const qa_produces[] = {"answers", NULL};

static struct json_object *option(struct json_object *options, const char *key) {
  struct json_object *v = NULL;
  if (!options || !json_object_object_get_ex(options, key, &v)) return NULL;
  return v && !json_object_is_type(v, json_type_null) ? v : NULL;
}

/* An integer option, or `fallback` when absent or null. */
static int64_t option_int(struct json_object *options, const char *key, int64_t fallback) {
  struct json_object *v = option(options, key);
  return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : fallback;
}

static bool option_bool(struct json_object *options, const char *key, bool fallback) {
  struct json_object *v = option(options, key);
  return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : fallback;
}

static const char *option_string(struct json_object *options, const char *key) {
  struct json_object *v = option(options, key);
  return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static char *error_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *error_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *g = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *out = strdup(g); /* the host free()s what a plugin returns */
  g_free(g);
  return out;
}

/* HF's default: min(max_seq_len / 2, 128). */
static size_t default_stride(size_t max_seq_len) {
  return max_seq_len / 2 < 128 ? max_seq_len / 2 : 128;
}

/* The window/stride check both validate() and create() make. NULL when fine. */
static char *check_stride(size_t max_seq_len, size_t stride, const char *max_from) {
  if (stride + QA_MIN_OVERHEAD < max_seq_len) return NULL;
  return error_printf("expected an integer < %zu (max_seq_len %zu%s minus %d: a window holds "
                      "[CLS] question [SEP] context [SEP] and keeps at least one context "
                      "token beyond the overlap), got %zu",
                      max_seq_len - QA_MIN_OVERHEAD, max_seq_len, max_from, QA_MIN_OVERHEAD,
                      stride);
}

/* ---- vtable ----------------------------------------------------------------------- */

static nlp_status qa_validate(struct json_object *options, char **path, char **error) {
  /* Without max_seq_len the window is the model's, known only in create(). */
  int64_t max_seq_len = option_int(options, "max_seq_len", -1);
  int64_t stride = option_int(options, "doc_stride", -1);
  if (max_seq_len > 0) {
    size_t s = stride >= 0 ? (size_t)stride : default_stride((size_t)max_seq_len);
    if ((*error = check_stride((size_t)max_seq_len, s, ""))) {
      *path = strdup("doc_stride");
      return NLP_STATUS_FAILED;
    }
  }
  const char *field = option_string(options, "question_field");
  if (field && !field[0] && !option_string(options, "question")) {
    *path = strdup("question_field");
    *error = error_printf("expected the name of the input field holding the question, got \"\"");
    return NLP_STATUS_FAILED;
  }
  return NLP_STATUS_OK;
}

static void qa_destroy(void *state) {
  qa_step *q = state;
  if (!q) return;
  g_free(q->model_name);
  g_free(q->head_dir);
  g_free(q->question);
  g_free(q->question_field);
  g_free(q);
}

/* A head folder's head.json, when present, must be for this task. */
static char *check_head_json(const char *head_dir) {
  char *file = g_build_filename(head_dir, "head.json", NULL);
  char *err = NULL;
  if (g_file_test(file, G_FILE_TEST_EXISTS)) {
    struct json_object *j = json_object_from_file(file);
    struct json_object *task = NULL;
    if (!j || !json_object_is_type(j, json_type_object))
      err = error_printf("%s: expected a JSON object", file);
    else if (json_object_object_get_ex(j, "task", &task) &&
             (!json_object_is_type(task, json_type_string) ||
              (strcmp(json_object_get_string(task), "question-answering") &&
               strcmp(json_object_get_string(task), "qa"))))
      err = error_printf("%s: \"task\": expected \"question-answering\", got %s", file,
                         json_object_to_json_string(task));
    json_object_put(j);
  }
  g_free(file);
  return err;
}

static nlp_status qa_create(const nlp_host *host, const nlp_step_info *step, void **state,
                            char **error) {
  const nlp_model_info *info = step->model ? host->model_info(step->model) : NULL;
  if (!info) {
    *error = error_printf("the qa step needs a \"model\" with a question-answering head");
    return NLP_STATUS_FAILED;
  }
  if (step->head_dir && (*error = check_head_json(step->head_dir))) return NLP_STATUS_FAILED;
  qa_step *q = g_new0(qa_step, 1);
  q->host = host;
  q->model_name = g_strdup(info->name);
  q->head_dir = g_strdup(step->head_dir);
  q->question = g_strdup(option_string(step->options, "question"));
  const char *field = option_string(step->options, "question_field");
  q->question_field = g_strdup(field ? field : "question");
  q->top_k = (size_t)option_int(step->options, "top_k", 1);
  q->max_answer_len = (size_t)option_int(step->options, "max_answer_len", 15);
  q->handle_impossible = option_bool(step->options, "handle_impossible_answer", false);
  q->align_to_words = option_bool(step->options, "align_to_words", true);

  int64_t max_seq_len = option_int(step->options, "max_seq_len", -1);
  if (max_seq_len > 0 && (size_t)max_seq_len > info->max_positions) {
    *error = error_printf("option \"max_seq_len\": expected at most %zu (the window of models.%s), "
                          "got %lld", info->max_positions, info->name, (long long)max_seq_len);
    qa_destroy(q);
    return NLP_STATUS_FAILED;
  }
  bool from_model = max_seq_len <= 0;
  q->max_seq_len = from_model ? (info->max_positions < 384 ? info->max_positions : 384)
                              : (size_t)max_seq_len;
  int64_t stride = option_int(step->options, "doc_stride", -1);
  q->doc_stride = stride >= 0 ? (size_t)stride : default_stride(q->max_seq_len);
  char *why = check_stride(q->max_seq_len, q->doc_stride,
                           from_model ? ", the default for this model" : "");
  if (why) {
    *error = error_printf("option \"doc_stride\": %s", why);
    free(why);
    qa_destroy(q);
    return NLP_STATUS_FAILED;
  }
  host->log(NLP_LOG_DEBUG, PLUGIN_NAME, "windows of %zu tokens, doc_stride %zu, top_k %zu",
            q->max_seq_len, q->doc_stride, q->top_k);
  *state = q;
  return NLP_STATUS_OK;
}

/* The question of document i, or NULL after marking the document failed. */
static const char *doc_question(const qa_step *q, nlp_batch *batch, size_t i) {
  if (q->question) return q->question;
  struct json_object *rec = q->host->doc_record(batch, i), *v = NULL;
  if (!rec || !json_object_object_get_ex(rec, q->question_field, &v) ||
      !json_object_is_type(v, json_type_string) || !json_object_get_string_len(v)) {
    char *msg = g_strdup_printf("expected a non-empty string question in field \"%s\"%s",
                                q->question_field,
                                v ? "" : " (or the step option \"question\")");
    q->host->set_error(batch, i, msg);
    g_free(msg);
    return NULL;
  }
  return json_object_get_string(v);
}

/* The head's two tensors, checked against the encoder's width. */
static char *find_head(const qa_step *q, nlp_batch *batch, size_t hidden,
                       const nlp_tensor_view **w, const nlp_tensor_view **b) {
  *w = q->host->tensor(batch, "qa_outputs.weight");
  *b = q->host->tensor(batch, "qa_outputs.bias");
  if (!*w || !*b)
    return g_strdup_printf("no question-answering head: expected tensors qa_outputs.weight and "
                           "qa_outputs.bias in %s%s%s", q->head_dir ? q->head_dir : "",
                           q->head_dir ? " or in " : "", q->model_name);
  if ((*w)->ndim != 2 || (*w)->shape[0] != 2 || (*w)->shape[1] != hidden || (*b)->ndim != 1 ||
      (*b)->shape[0] != 2)
    return g_strdup_printf("qa_outputs.weight: expected shape [2, %zu] and qa_outputs.bias [2]",
                           hidden);
  return NULL;
}

/* Decodes every window of pair `p` (windows[first .. first + n)) into its answers. */
static bool answer_pair(const qa_step *q, const nlp_window *windows, size_t n, const char *context,
                        size_t context_len, const nlp_tensor_view *w, const nlp_tensor_view *b,
                        struct json_object **result) {
  size_t n_best = q->align_to_words ? q->top_k * 2 + 10 : q->top_k;
  size_t longest = 0;
  for (size_t i = 0; i < n; i++)
    if (windows[i].n_tokens > longest) longest = windows[i].n_tokens;
  float *logits = malloc((4 * longest + 1) * sizeof(float));
  bool *allowed = malloc(longest + 1);
  qa_span *spans = malloc(n_best * sizeof(qa_span));
  qa_answers answers;
  bool ok = logits && allowed && spans && qa_answers_init(&answers, context, context_len);
  for (size_t i = 0; ok && i < n; i++) {
    const nlp_window *win = &windows[i];
    size_t len = win->n_tokens;
    float *pairs = logits, *start = logits + 2 * len, *end = start + len;
    q->host->linear(win->hidden, len, win->hidden_size, w->data, b->data, 2, pairs);
    for (size_t t = 0; t < len; t++) {
      start[t] = pairs[2 * t];
      end[t] = pairs[2 * t + 1];
      /* HF's p_mask: context tokens, and [CLS] (the special token opening the window). */
      allowed[t] = win->seq_ids[t] == 1 || (t == 0 && win->seq_ids[t] < 0);
    }
    float null_score;
    size_t found = qa_spans_decode(start, end, allowed, len, q->max_answer_len, n_best, spans,
                                   &null_score);
    ok = found != (size_t)-1 &&
         qa_answers_add_window(&answers, win, spans, found, null_score, q->align_to_words);
  }
  if (ok) ok = (*result = qa_answers_to_json(&answers, q->top_k, q->handle_impossible)) != NULL;
  if (logits && allowed && spans) qa_answers_clear(&answers);
  free(logits);
  free(allowed);
  free(spans);
  return ok;
}

/* Runs the pair pass for pairs[0..n) (document indices docs[]) and stores answers.
 * Returns false when the pass itself failed (*error set). */
static bool answer_pairs(const qa_step *q, nlp_batch *batch, const size_t *docs,
                         const char *const *questions, const char *const *contexts, size_t n,
                         char **error) {
  nlp_pair_params params = {.max_length = q->max_seq_len, .stride = q->doc_stride};
  const nlp_window *windows = NULL;
  size_t n_windows = q->host->encode_pairs(batch, questions, contexts, n, &params, &windows, error);
  if (n_windows == (size_t)-1) return false;
  const nlp_tensor_view *w = NULL, *b = NULL;
  char *why = n_windows ? find_head(q, batch, windows[0].hidden_size, &w, &b) : NULL;
  size_t first = 0;
  for (size_t p = 0; p < n; p++) {
    size_t last = first;
    while (last < n_windows && windows[last].doc == p) last++;
    struct json_object *result = NULL;
    if (why) {
      q->host->set_error(batch, docs[p], why);
    } else if (last == first) {
      q->host->set_error(batch, docs[p], "the tokenizer gave no window for this pair");
    } else {
      size_t len = 0;
      const char *context = q->host->doc_text(batch, docs[p], &len);
      if (answer_pair(q, windows + first, last - first, context, len, w, b, &result))
        q->host->set_result(batch, docs[p], result);
      else
        q->host->set_error(batch, docs[p], "out of memory decoding the answer");
    }
    first = last;
  }
  g_free(why);
  return true;
}

static nlp_status qa_process(void *state, nlp_batch *batch) {
  const qa_step *q = state;
  size_t n = q->host->batch_size(batch);
  size_t *docs = g_new(size_t, n + 1);
  const char **questions = g_new(const char *, n + 1);
  const char **contexts = g_new(const char *, n + 1);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    const char *context = q->host->doc_text(batch, i, &len);
    const char *question = doc_question(q, batch, i);
    if (!question) continue;
    if (!context || !len) {
      q->host->set_error(batch, i, "expected a non-empty context text");
      continue;
    }
    docs[m] = i, questions[m] = question, contexts[m] = context;
    m++;
  }
  char *error = NULL;
  if (m && !answer_pairs(q, batch, docs, questions, contexts, m, &error)) {
    /* One pair the tokenizer refuses (a question leaving no room for the context
     * and its overlap) fails the whole pass: redo the pairs one by one so that only
     * that document fails. */
    free(error);
    for (size_t p = 0; p < m; p++) {
      error = NULL;
      if (!answer_pairs(q, batch, docs + p, questions + p, contexts + p, 1, &error)) {
        char *msg = g_strdup_printf("question + context (max_seq_len %zu, doc_stride %zu): %s",
                                    q->max_seq_len, q->doc_stride, error ? error : "failed");
        q->host->set_error(batch, docs[p], msg);
        g_free(msg);
      }
      free(error);
    }
  }
  g_free(docs);
  g_free(questions);
  g_free(contexts);
  return NLP_STATUS_OK;
}

static const nlp_plugin_desc qa_desc = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .license = "MIT",
    .task = "question-answering",
    .description =
        "Extractive question answering, as Hugging Face's question-answering pipeline: "
        "each document's text is the context, the question comes from an input field "
        "(question_field) or the options (question). Long contexts are split into "
        "windows of max_seq_len tokens overlapping by doc_stride; the best span over all "
        "windows wins. Output {\"score\", \"start\", \"end\", \"answer\"} (code-point "
        "offsets into the context), or an array of them when top_k > 1. Needs a model "
        "with qa_outputs.* (a *ForQuestionAnswering checkpoint or a head folder).",
    .options = qa_options,
    .n_options = sizeof(qa_options) / sizeof(qa_options[0]),
    .requires = qa_requires,
    .produces = qa_produces,
    .validate = qa_validate,
    .create = qa_create,
    .process = qa_process,
    .destroy = qa_destroy,
};

NLP_PLUGIN_DEFINE(qa_desc)
