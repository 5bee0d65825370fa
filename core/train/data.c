/* data.c — JSONL readers for the training tasks, with file:line validation. */
#include "train/data.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "eval/metrics.h"
#include "text/sentences.h"
#include "util/error.h"

#define MAX_PROBLEMS 20

static const char *const task_names[] = {"text-classification", "token-classification",
                                         "question-answering", "extractive-summary"};

bool nlp_train_task_from_name(const char *name, nlp_train_task *task) {
  /* head.json names the summary head "summarization", as the plugin of that name reads it */
  if (name && !strcmp(name, "summarization")) {
    *task = NLP_TASK_SUMMARY;
    return true;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(task_names); i++)
    if (name && !strcmp(name, task_names[i])) {
      *task = (nlp_train_task)i;
      return true;
    }
  return false;
}

const char *nlp_train_task_name(nlp_train_task t) { return task_names[t]; }

nlp_data_fields nlp_data_fields_default(void) {
  return (nlp_data_fields){.text = "text", .label = "label", .tokens = "tokens", .tags = "tags",
                           .question = "question", .context = "context", .answers = "answers",
                           .document = "document", .summary = "summary"};
}

static void example_free(nlp_train_example *e) {
  g_free(e->text); g_free(e->question); g_free(e->label_str); g_strfreev(e->label_strs);
  g_free(e->multi); g_free(e->word_start); g_free(e->word_end); g_free(e->word_tag);
  g_strfreev(e->tag_strs); g_free(e->ans_start); g_free(e->ans_end); g_strfreev(e->ans_text);
  g_free(e->sent_start); g_free(e->sent_end); g_free(e->sent_label); g_free(e->reference);
  g_free(e);
}

void nlp_train_data_free(nlp_train_data *d) {
  if (!d) return;
  g_free(d->path);
  g_ptr_array_free(d->examples, TRUE);
  g_free(d);
}

typedef struct {
  GString *msg;
  size_t count;
  const char *path;
} problems;

static void problem(problems *p, size_t line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void problem(problems *p, size_t line, const char *fmt, ...) {
  p->count++;
  if (p->count > MAX_PROBLEMS) return;
  va_list ap;
  va_start(ap, fmt);
  char *m = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (line) g_string_append_printf(p->msg, "\n  %s:%zu: %s", p->path, line, m);
  else g_string_append_printf(p->msg, "\n  %s: %s", p->path, m);
  g_free(m);
}

static const char *get_string(json_object *o, const char *key) {
  json_object *v;
  if (!key || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static json_object *get_array(json_object *o, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array)) return NULL;
  return v;
}

static bool valid_tag(const char *t) {
  if (!strcmp(t, "O")) return true;
  return strchr("BIES", t[0]) && t[1] == '-' && t[2];
}

/* Sentences of a document by the pipeline's rules (text/sentences.h), as code-point ranges. */
static void split_sentences(const char *text, GArray *starts, GArray *ends) {
  glong n = 0;
  gunichar *u = g_utf8_to_ucs4_fast(text, -1, &n);
  size_t *bounds = g_new(size_t, 2 * (size_t)n + 2);
  size_t ns = nlp_sentences_split(u, (size_t)n, bounds);
  for (size_t i = 0; i < ns; i++) {
    int32_t a = (int32_t)bounds[2 * i], b = (int32_t)bounds[2 * i + 1];
    g_array_append_val(starts, a);
    g_array_append_val(ends, b);
  }
  g_free(bounds);
  g_free(u);
}

static char *substring_cp(const char *text, int32_t a, int32_t b) {
  const char *p = g_utf8_offset_to_pointer(text, a), *q = g_utf8_offset_to_pointer(text, b);
  return g_strndup(p, (gsize)(q - p));
}

static nlp_train_example *parse_record(json_object *o, size_t line, nlp_train_task task,
                                       const nlp_data_fields *f, problems *pb) {
  nlp_train_example *e = g_new0(nlp_train_example, 1);
  e->line = line;
  e->label = -1;
  size_t before = pb->count;
  switch (task) {
  case NLP_TASK_CLASSIFICATION: {
    const char *t = get_string(o, f->text);
    if (!t) problem(pb, line, "missing \"%s\" (a string)", f->text);
    else e->text = g_strdup(t);
    json_object *l;
    if (!json_object_object_get_ex(o, f->label, &l) || json_object_is_type(l, json_type_null)) {
      problem(pb, line, "missing label \"%s\"", f->label);
    } else if (json_object_is_type(l, json_type_array)) {
      size_t n = json_object_array_length(l);
      e->label_strs = g_new0(char *, n + 1);
      for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(l, i);
        if (!json_object_is_type(x, json_type_string)) {
          problem(pb, line, "\"%s\"[%zu]: expected a string", f->label, i);
          break;
        }
        e->label_strs[i] = g_strdup(json_object_get_string(x));
      }
    } else if (json_object_is_type(l, json_type_string) || json_object_is_type(l, json_type_int)) {
      e->label_str = g_strdup(json_object_get_string(l));
    } else {
      problem(pb, line, "\"%s\": expected a string, an integer or an array of strings", f->label);
    }
    break;
  }
  case NLP_TASK_TOKEN_CLASSIFICATION: {
    json_object *tok = get_array(o, f->tokens), *tags = get_array(o, f->tags);
    if (!tok || !tags) {
      problem(pb, line, "missing \"%s\" or \"%s\" (arrays)", f->tokens, f->tags);
      break;
    }
    size_t n = json_object_array_length(tok);
    if (json_object_array_length(tags) != n) {
      problem(pb, line, "%zu tokens but %zu tags", n, json_object_array_length(tags));
      break;
    }
    if (!n) {
      problem(pb, line, "no tokens");
      break;
    }
    GString *text = g_string_new(NULL);
    e->n_words = n;
    e->word_start = g_new(int32_t, n);
    e->word_end = g_new(int32_t, n);
    e->word_tag = g_new(int32_t, n);
    e->tag_strs = g_new0(char *, n + 1);
    int32_t cp = 0;
    for (size_t i = 0; i < n; i++) {
      const char *w = json_object_get_string(json_object_array_get_idx(tok, i));
      const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
      if (!w || !*w || !t) {
        problem(pb, line, "token %zu: empty token or missing tag", i);
        break;
      }
      if (!valid_tag(t)) {
        problem(pb, line, "token %zu: tag \"%s\" is not O, B-X, I-X, E-X or S-X", i, t);
        break;
      }
      if (i) {
        g_string_append_c(text, ' ');
        cp++;
      }
      e->word_start[i] = cp;
      g_string_append(text, w);
      cp += (int32_t)g_utf8_strlen(w, -1);
      e->word_end[i] = cp;
      e->tag_strs[i] = g_strdup(t);
    }
    e->text = g_string_free(text, FALSE);
    break;
  }
  case NLP_TASK_QUESTION_ANSWERING: {
    const char *q = get_string(o, f->question), *c = get_string(o, f->context);
    json_object *ans = get_array(o, f->answers);
    if (!q || !c) {
      problem(pb, line, "missing \"%s\" or \"%s\" (strings)", f->question, f->context);
      break;
    }
    e->question = g_strdup(q);
    e->text = g_strdup(c);
    size_t n = ans ? json_object_array_length(ans) : 0;
    if (!ans) problem(pb, line, "missing \"%s\" (an array, [] for unanswerable)", f->answers);
    glong clen = g_utf8_strlen(c, -1);
    e->n_answers = n;
    e->ans_start = g_new(int32_t, n + 1);
    e->ans_end = g_new(int32_t, n + 1);
    e->ans_text = g_new0(char *, n + 1);
    for (size_t i = 0; i < n; i++) {
      json_object *a = json_object_array_get_idx(ans, i), *st;
      const char *t = get_string(a, "text");
      if (!t || (!json_object_object_get_ex(a, "start", &st) &&
                   !json_object_object_get_ex(a, "answer_start", &st))) {
        problem(pb, line, "answers[%zu]: expected {\"text\", \"start\"}", i);
        break;
      }
      int64_t s = json_object_get_int64(st), len = g_utf8_strlen(t, -1);
      if (s < 0 || s + len > clen) {
        problem(pb, line, "answers[%zu]: span [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                ") outside the context (%ld code points)", i, s, s + len, clen);
        break;
      }
      char *sub = substring_cp(c, (int32_t)s, (int32_t)(s + len));
      if (strcmp(sub, t))
        problem(pb, line, "answers[%zu]: context[%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT
                "] is \"%s\", not the answer text \"%s\"", i, s, s + len, sub, t);
      g_free(sub);
      e->ans_start[i] = (int32_t)s;
      e->ans_end[i] = (int32_t)(s + len);
      e->ans_text[i] = g_strdup(t);
    }
    break;
  }
  case NLP_TASK_SUMMARY: {
    const char *d = get_string(o, f->document), *s = get_string(o, f->summary);
    json_object *sents = get_array(o, "sentences"), *labels = get_array(o, "sentence_labels");
    if (!d || !s) {
      problem(pb, line, "missing \"%s\" or \"%s\" (strings)", f->document, f->summary);
      break;
    }
    e->reference = g_strdup(s);
    GArray *st = g_array_new(FALSE, FALSE, sizeof(int32_t)), *en = g_array_new(FALSE, FALSE, sizeof(int32_t));
    if (sents && labels) {
      size_t n = json_object_array_length(sents);
      if (json_object_array_length(labels) != n) {
        problem(pb, line, "%zu sentences but %zu sentence_labels", n,
                json_object_array_length(labels));
        g_array_free(st, TRUE);
        g_array_free(en, TRUE);
        break;
      }
      GString *text = g_string_new(NULL);
      int32_t cp = 0;
      e->sent_label = g_new(float, n);
      for (size_t i = 0; i < n; i++) {
        const char *x = json_object_get_string(json_object_array_get_idx(sents, i));
        if (i) g_string_append_c(text, ' '), cp++;
        g_array_append_val(st, cp);
        g_string_append(text, x ? x : "");
        cp += (int32_t)g_utf8_strlen(x ? x : "", -1);
        g_array_append_val(en, cp);
        e->sent_label[i] = (float)json_object_get_int(json_object_array_get_idx(labels, i));
      }
      e->text = g_string_free(text, FALSE);
    } else {
      e->text = g_strdup(d);
      split_sentences(d, st, en);
      e->sent_label = g_new0(float, st->len + 1);
      double best = -1;
      size_t bi = 0;
      for (guint i = 0; i < st->len; i++) {
        char *x = substring_cp(d, g_array_index(st, int32_t, i), g_array_index(en, int32_t, i));
        double r = nlp_rouge_n(x, s, 1).f1;
        if (r > best) best = r, bi = i;
        g_free(x);
      }
      if (st->len) e->sent_label[bi] = 1.0f;
    }
    e->n_sents = st->len;
    if (!e->n_sents) problem(pb, line, "the document has no sentences");
    e->sent_start = (int32_t *)(void *)g_array_free(st, FALSE);
    e->sent_end = (int32_t *)(void *)g_array_free(en, FALSE);
    break;
  }
  }
  if (pb->count != before) {
    example_free(e);
    return NULL;
  }
  return e;
}

nlp_train_data *nlp_train_data_load(const char *path, nlp_train_task task,
                                    const nlp_data_fields *f, GError **error) {
  FILE *in;
  bool gz = g_str_has_suffix(path, ".gz");
  if (gz) {
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) in = NULL, errno = ENOENT;
    else {
      char *q = g_shell_quote(path), *cmd = g_strdup_printf("gzip -dc -- %s", q);
      in = popen(cmd, "r");
      g_free(q);
      g_free(cmd);
    }
  } else {
    in = fopen(path, "r");
  }
  if (!in) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot open: %s", path, g_strerror(errno));
    return NULL;
  }
  nlp_train_data *d = g_new0(nlp_train_data, 1);
  d->path = g_strdup(path);
  d->task = task;
  d->examples = g_ptr_array_new_with_free_func((GDestroyNotify)example_free);
  problems pb = {g_string_new(NULL), 0, path};
  char *buf = NULL;
  size_t cap = 0, line = 0;
  ssize_t len;
  json_tokener *tk = json_tokener_new();
  while ((len = getline(&buf, &cap, in)) >= 0) {
    line++;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
    if (!len) continue;
    json_tokener_reset(tk);
    json_object *o = json_tokener_parse_ex(tk, buf, (int)len);
    if (!o || !json_object_is_type(o, json_type_object)) {
      problem(&pb, line, "not a JSON object");
      json_object_put(o);
      continue;
    }
    if (f->source) {
      const char *s = get_string(o, "source");
      if (!s || strcmp(s, f->source)) {
        json_object_put(o);
        continue;
      }
    }
    nlp_train_example *e = parse_record(o, line, task, f, &pb);
    json_object_put(o);
    if (e) g_ptr_array_add(d->examples, e);
    if (f->max_records && d->examples->len >= f->max_records) break;
  }
  json_tokener_free(tk);
  free(buf);
  if (gz) pclose(in);
  else fclose(in);
  if (!pb.count && !d->examples->len) problem(&pb, 0, "no records (empty file%s)",
                                               f->source ? " or no record of that source" : "");
  if (pb.count) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "%s: %zu bad record%s%s%s", path, pb.count,
                pb.count == 1 ? "" : "s", pb.msg->str,
                pb.count > MAX_PROBLEMS ? "\n  ..." : "");
    g_string_free(pb.msg, TRUE);
    nlp_train_data_free(d);
    return NULL;
  }
  g_string_free(pb.msg, TRUE);
  return d;
}

static gint cmp_label(gconstpointer a, gconstpointer b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  if (!strcmp(x, "O")) return strcmp(y, "O") ? -1 : 0;
  if (!strcmp(y, "O")) return 1;
  return strcmp(x, y);
}

GPtrArray *nlp_train_labels_collect(const nlp_train_data *d) {
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < d->examples->len; i++) {
    nlp_train_example *e = d->examples->pdata[i];
    char *one[2] = {e->label_str, NULL};
    char **list = e->label_strs ? e->label_strs : e->tag_strs ? e->tag_strs : one;
    for (char **l = list; *l; l++)
      if (!g_hash_table_contains(seen, *l)) {
        g_hash_table_add(seen, *l);
        g_ptr_array_add(out, g_strdup(*l));
      }
  }
  g_hash_table_destroy(seen);
  g_ptr_array_sort(out, cmp_label);
  return out;
}

static int32_t find_label(GPtrArray *labels, const char *s) {
  for (guint i = 0; i < labels->len; i++)
    if (!strcmp(labels->pdata[i], s)) return (int32_t)i;
  return -1;
}

bool nlp_train_data_resolve(nlp_train_data *d, GPtrArray *labels, bool multi, GError **error) {
  problems pb = {g_string_new(NULL), 0, d->path};
  GString *known = g_string_new(NULL);
  for (guint i = 0; i < labels->len; i++)
    g_string_append_printf(known, "%s\"%s\"", i ? ", " : "", (char *)labels->pdata[i]);
  for (guint i = 0; i < d->examples->len; i++) {
    nlp_train_example *e = d->examples->pdata[i];
    if (d->task == NLP_TASK_CLASSIFICATION) {
      if (multi) {
        char *one[2] = {e->label_str, NULL};
        char **list = e->label_strs ? e->label_strs : one;
        e->multi = g_new0(float, labels->len);
        for (char **l = list; *l; l++) {
          int32_t k = find_label(labels, *l);
          if (k < 0) problem(&pb, e->line, "unknown label \"%s\" (known: %s)", *l, known->str);
          else e->multi[k] = 1.0f;
        }
      } else {
        if (e->label_strs) {
          problem(&pb, e->line, "a list of labels, but the head is single-label "
                  "(set head.problem_type to multi_label_classification)");
          continue;
        }
        e->label = find_label(labels, e->label_str);
        if (e->label < 0)
          problem(&pb, e->line, "unknown label \"%s\" (known: %s)", e->label_str, known->str);
      }
    } else if (d->task == NLP_TASK_TOKEN_CLASSIFICATION) {
      for (size_t w = 0; w < e->n_words; w++) {
        e->word_tag[w] = find_label(labels, e->tag_strs[w]);
        if (e->word_tag[w] < 0) {
          problem(&pb, e->line, "token %zu: unknown tag \"%s\" (known: %s)", w, e->tag_strs[w],
                  known->str);
          break;
        }
      }
    }
  }
  g_string_free(known, TRUE);
  if (pb.count) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "%s: %zu bad record%s%s%s", d->path, pb.count,
                pb.count == 1 ? "" : "s", pb.msg->str, pb.count > MAX_PROBLEMS ? "\n  ..." : "");
    g_string_free(pb.msg, TRUE);
    return false;
  }
  g_string_free(pb.msg, TRUE);
  return true;
}
