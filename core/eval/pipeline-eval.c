/* pipeline-eval.c — metrics over `nlpipe run` output records (see the header). */
#include "eval/pipeline-eval.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval/metrics.h"
#include "util/error.h"

typedef enum { K_NONE, K_LABEL, K_ENTITIES, K_ANSWER, K_SUMMARY, K_TRANSLATION } kind;

typedef struct {
  kind k;
  size_t n;
  /* classification */
  GPtrArray *gold, *pred;
  /* entities */
  nlp_prf_counts ents;
  /* qa */
  double em, f1;
  /* generation */
  double r1, r2, rl;
  GPtrArray *hyps, *refs;
} acc;

static json_object *get(json_object *o, const char *k) {
  json_object *v;
  return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *k) {
  json_object *v = get(o, k);
  return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static json_object *first(json_object *r) {
  if (r && json_object_is_type(r, json_type_array))
    return json_object_array_length(r) ? json_object_array_get_idx(r, 0) : NULL;
  return r;
}

static kind shape(json_object *r) {
  if (!r) return K_NONE;
  if (json_object_is_type(r, json_type_array)) {
    json_object *f = first(r);
    if (!f) return K_NONE;
    if (get(f, "start") && get(f, "end") && !get(f, "answer")) return K_ENTITIES;
  }
  json_object *f = first(r);
  if (str(f, "answer")) return K_ANSWER;
  if (str(f, "summary_text")) return K_SUMMARY;
  if (str(f, "translation_text")) return K_TRANSLATION;
  if (str(f, "label")) return K_LABEL;
  return K_NONE;
}

static void entities_of(json_object *arr, GArray *out, bool gold) {
  for (size_t i = 0; arr && json_object_is_type(arr, json_type_array) && i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    const char *t = gold ? str(e, "label") : str(e, "entity_group");
    if (!t) t = str(e, "label");
    if (!t) t = str(e, "entity");
    if (!t || !get(e, "start") || !get(e, "end")) continue;
    nlp_entity x = {(int32_t)json_object_get_int(get(e, "start")), (int32_t)json_object_get_int(get(e, "end")), ""};
    /* token-level output ("B-PER") compares by its type */
    if ((t[0] == 'B' || t[0] == 'I' || t[0] == 'E' || t[0] == 'S') && t[1] == '-') t += 2;
    g_strlcpy(x.type, t, sizeof x.type);
    g_array_append_val(out, x);
  }
}

/* Gold entities of a {"tokens","tags"} record, as code-point spans of the tokens
 * joined by single spaces (the data's "text"). */
static void gold_from_tags(json_object *rec, GArray *out) {
  json_object *tok = get(rec, "tokens"), *tags = get(rec, "tags");
  if (!tok || !tags || !json_object_is_type(tok, json_type_array) || !json_object_is_type(tags, json_type_array))
    return;
  size_t n = json_object_array_length(tok);
  if (json_object_array_length(tags) != n) return;
  const char **t = g_new(const char *, n + 1);
  int32_t *start = g_new(int32_t, n + 1), *end = g_new(int32_t, n + 1), cp = 0;
  for (size_t i = 0; i < n; i++) {
    const char *w = json_object_get_string(json_object_array_get_idx(tok, i));
    t[i] = json_object_get_string(json_object_array_get_idx(tags, i));
    start[i] = cp;
    cp += (int32_t)g_utf8_strlen(w ? w : "", -1);
    end[i] = cp;
    cp++;
  }
  nlp_entity *e = g_new(nlp_entity, n + 1);
  size_t k = nlp_metric_tags_to_entities(t, n, e);
  for (size_t i = 0; i < k; i++) {
    nlp_entity x = e[i];
    x.start = start[e[i].start];
    x.end = end[e[i].end - 1];
    g_array_append_val(out, x);
  }
  g_free(e); g_free(t); g_free(start); g_free(end);
}

static void add_record(acc *a, json_object *rec, json_object *res, const char *ref_field) {
  a->n++;
  json_object *f = first(res);
  switch (a->k) {
  case K_LABEL: {
    const char *g = str(rec, "label"), *p = str(f, "label");
    g_ptr_array_add(a->gold, g_strdup(g ? g : ""));
    g_ptr_array_add(a->pred, g_strdup(p ? p : ""));
    break;
  }
  case K_ENTITIES: {
    GArray *g = g_array_new(FALSE, FALSE, sizeof(nlp_entity)), *p = g_array_new(FALSE, FALSE, sizeof(nlp_entity));
    if (get(rec, "entities")) entities_of(get(rec, "entities"), g, true);
    else gold_from_tags(rec, g);
    entities_of(res, p, false);
    nlp_metric_entities_add(&a->ents, (nlp_entity *)(void *)g->data, g->len, (nlp_entity *)(void *)p->data, p->len);
    g_array_free(g, TRUE);
    g_array_free(p, TRUE);
    break;
  }
  case K_ANSWER: {
    const char *p = str(f, "answer");
    json_object *ans = get(rec, "answers");
    double em = 0, f1 = 0;
    size_t n = ans && json_object_is_type(ans, json_type_array) ? json_object_array_length(ans) : 0;
    if (!n) em = f1 = !p || !*p;
    for (size_t i = 0; i < n; i++) {
      const char *g = str(json_object_array_get_idx(ans, i), "text");
      if (!g) continue;
      em = fmax(em, nlp_squad_exact(p ? p : "", g));
      f1 = fmax(f1, nlp_squad_f1(p ? p : "", g));
    }
    a->em += em;
    a->f1 += f1;
    break;
  }
  case K_SUMMARY: {
    const char *p = str(f, "summary_text");
    json_object *refs = get(rec, "references");
    const char *one = str(rec, ref_field ? ref_field : "summary");
    double r1 = 0, r2 = 0, rl = 0;
    size_t n = refs && !ref_field && json_object_is_type(refs, json_type_array) ? json_object_array_length(refs) : 0;
    for (size_t i = 0; i < n || (!n && i == 0); i++) {
      const char *g = n ? json_object_get_string(json_object_array_get_idx(refs, i)) : one;
      if (!g) continue;
      r1 = fmax(r1, nlp_rouge_n(p ? p : "", g, 1).f1);
      r2 = fmax(r2, nlp_rouge_n(p ? p : "", g, 2).f1);
      rl = fmax(rl, nlp_rouge_l(p ? p : "", g).f1);
    }
    a->r1 += r1;
    a->r2 += r2;
    a->rl += rl;
    break;
  }
  case K_TRANSLATION: {
    const char *p = str(f, "translation_text"), *g = str(rec, ref_field ? ref_field : "target");
    g_ptr_array_add(a->hyps, g_strdup(p ? p : ""));
    g_ptr_array_add(a->refs, g_strdup(g ? g : ""));
    break;
  }
  case K_NONE: break;
  }
}

static json_object *finish(acc *a) {
  json_object *m = json_object_new_object();
  json_object_object_add(m, "records", json_object_new_int64((int64_t)a->n));
  double n = a->n ? (double)a->n : 1.0;
  switch (a->k) {
  case K_LABEL: {
    GHashTable *ids = g_hash_table_new(g_str_hash, g_str_equal);
    int32_t *g = g_new(int32_t, a->n + 1), *p = g_new(int32_t, a->n + 1);
    for (guint i = 0; i < a->gold->len; i++) {
      const char *s[2] = {a->gold->pdata[i], a->pred->pdata[i]};
      int32_t *dst[2] = {g, p};
      for (int k = 0; k < 2; k++) {
        gpointer v;
        if (!g_hash_table_lookup_extended(ids, s[k], NULL, &v)) {
          v = GINT_TO_POINTER(g_hash_table_size(ids));
          g_hash_table_insert(ids, (gpointer)s[k], v);
        }
        dst[k][i] = GPOINTER_TO_INT(v);
      }
    }
    json_object_object_add(m, "accuracy", json_object_new_double(nlp_metric_accuracy(g, p, a->n)));
    json_object_object_add(m, "macro_f1", json_object_new_double(nlp_metric_macro_f1(g, p, a->n, g_hash_table_size(ids))));
    g_free(g);
    g_free(p);
    g_hash_table_destroy(ids);
    break;
  }
  case K_ENTITIES: {
    nlp_prf r = nlp_prf_from_counts(a->ents);
    json_object_object_add(m, "precision", json_object_new_double(r.precision));
    json_object_object_add(m, "recall", json_object_new_double(r.recall));
    json_object_object_add(m, "f1", json_object_new_double(r.f1));
    break;
  }
  case K_ANSWER:
    json_object_object_add(m, "exact_match", json_object_new_double(a->em / n));
    json_object_object_add(m, "f1", json_object_new_double(a->f1 / n));
    break;
  case K_SUMMARY:
    json_object_object_add(m, "rouge1", json_object_new_double(a->r1 / n));
    json_object_object_add(m, "rouge2", json_object_new_double(a->r2 / n));
    json_object_object_add(m, "rougeL", json_object_new_double(a->rl / n));
    break;
  case K_TRANSLATION:
    json_object_object_add(m, "bleu", json_object_new_double(nlp_bleu_corpus((const char *const *)a->hyps->pdata, (const char *const *)a->refs->pdata, a->hyps->len)));
    json_object_object_add(m, "chrf", json_object_new_double(nlp_chrf_corpus((const char *const *)a->hyps->pdata, (const char *const *)a->refs->pdata, a->hyps->len)));
    break;
  case K_NONE: break;
  }
  return m;
}

static void put_json(gpointer p) { json_object_put(p); }

json_object *nlp_eval_pipeline_output(const char *out_path, const char *data_path, const char *const *steps,
                                      size_t n_steps, const char *ref_field, GError **error) {
  FILE *f = fopen(out_path, "r"), *d = fopen(data_path, "r");
  if (!f || !d) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot open", f ? data_path : out_path);
    if (f) fclose(f);
    if (d) fclose(d);
    return NULL;
  }
  acc *a = g_new0(acc, n_steps ? n_steps : 1);
  for (size_t s = 0; s < n_steps; s++) {
    a[s].gold = g_ptr_array_new_with_free_func(g_free);
    a[s].pred = g_ptr_array_new_with_free_func(g_free);
    a[s].hyps = g_ptr_array_new_with_free_func(g_free);
    a[s].refs = g_ptr_array_new_with_free_func(g_free);
  }
  bool *empty_list = g_new0(bool, n_steps + 1);
  char *line = NULL, *gold_line = NULL;
  size_t cap = 0, gold_cap = 0, records = 0;
  ssize_t len;
  /* output line i, then data line i (the runner writes one record per input line, in
   * order, even for lines it cannot read) */
  GPtrArray *pending = g_ptr_array_new_with_free_func(put_json);
  while ((len = getline(&line, &cap, f)) > 0) {
    json_object *rec = json_tokener_parse(line);
    json_object *gold = getline(&gold_line, &gold_cap, d) > 0 ? json_tokener_parse(gold_line) : NULL;
    if (!rec) {
      json_object_put(gold);
      continue;
    }
    records++;
    for (size_t s = 0; s < n_steps; s++) {
      json_object *r = get(rec, steps[s]);
      kind k = shape(r);
      if (a[s].k == K_NONE || (a[s].k == K_ENTITIES && empty_list[s] && k != K_NONE)) {
        if (k != K_NONE) {
          a[s].k = k;
          empty_list[s] = false;
        } else if (r && json_object_is_type(r, json_type_array)) {
          /* only empty lists so far: entities unless a later record says otherwise */
          a[s].k = K_ENTITIES;
          empty_list[s] = true;
        }
      }
    }
    g_ptr_array_add(pending, rec);
    g_ptr_array_add(pending, gold ? gold : json_object_new_object());
  }
  free(line);
  free(gold_line);
  fclose(f);
  fclose(d);
  for (guint i = 0; i < pending->len; i += 2)
    for (size_t s = 0; s < n_steps; s++)
      if (a[s].k != K_NONE) add_record(&a[s], pending->pdata[i + 1], get(pending->pdata[i], steps[s]), ref_field);
  g_ptr_array_free(pending, TRUE);
  g_free(empty_list);
  json_object *out = json_object_new_object();
  json_object_object_add(out, "records", json_object_new_int64((int64_t)records));
  for (size_t s = 0; s < n_steps; s++) {
    if (a[s].k != K_NONE) json_object_object_add(out, steps[s], finish(&a[s]));
    g_ptr_array_free(a[s].gold, TRUE);
    g_ptr_array_free(a[s].pred, TRUE);
    g_ptr_array_free(a[s].hyps, TRUE);
    g_ptr_array_free(a[s].refs, TRUE);
  }
  g_free(a);
  return out;
}
