/* evaluate.c — dev-set scoring with the task's metric (accuracy / macro F1,
 * seqeval entities, SQuAD EM/F1 over windows, ROUGE of the chosen sentences), the
 * same decoding the plugins do at run time. */
#include <math.h>
#include <string.h>

#include "train/internal.h"
#include "eval/metrics.h"

static char *span_text(const char *text, int32_t a, int32_t b) {
  const char *p = g_utf8_offset_to_pointer(text, a), *q = g_utf8_offset_to_pointer(text, b);
  return g_strndup(p, (gsize)(q - p));
}

typedef struct { double p; size_t a, c; } cand;

static gint cmp_cand(gconstpointer x, gconstpointer y) {
  const cand *a = x, *b = y;
  if (a->p != b->p) return a->p > b->p ? -1 : 1;
  if (a->a != b->a) return a->a < b->a ? -1 : 1;
  return a->c < b->c ? -1 : a->c > b->c;
}

json_object *nlp_tr_evaluate(trainer *t, featset *fs, double *loss_out) {
  size_t n = fs->seqs->len, C = t->head.n_out, chunk = (size_t)t->batch * 4;
  size_t total_f = 0;
  for (size_t i = 0; i < n; i++) total_f += g_array_index(fs->seqs, seq_info, i).n_feat;
  float *logits = g_new(float, total_f * C + 1);
  size_t *idx = g_new(size_t, chunk);
  batch_buf b = {0};
  double loss = 0;
  size_t fo = 0;
  for (size_t s0 = 0; s0 < n; s0 += chunk) {
    size_t m = MIN(chunk, n - s0);
    for (size_t i = 0; i < m; i++) idx[i] = s0 + i;
    nlp_tr_batch_forward(t, fs, idx, m, NULL, &b);
    nlp_head_targets tg = {.labels = b.labels, .soft = b.soft, .n_windows = b.n_seq,
                           .row0 = b.row0, .rows = b.rows, .start = b.start, .end = b.end};
    loss += nlp_train_head_loss(&t->head, b.logits, b.nF, &tg, NULL) * (double)m;
    memcpy(logits + fo * C, b.logits, b.nF * C * sizeof(float));
    fo += b.nF;
  }
  nlp_tr_buf_free(&b);
  g_free(idx);
  if (loss_out) *loss_out = n ? loss / (double)n : 0;
  json_object *res = json_object_new_object();
  GPtrArray *ex = fs->data->examples;
  json_object_object_add(res, "examples", json_object_new_int64((int64_t)ex->len));
  if (t->task == NLP_TASK_CLASSIFICATION) {
    size_t m = n;
    if (t->head.multi_label) {
      nlp_prf_counts c = {0};
      size_t exact = 0;
      for (size_t i = 0; i < m; i++) {
        const nlp_train_example *e = ex->pdata[g_array_index(fs->seqs, seq_info, i).ex];
        bool all = true;
        for (size_t k = 0; k < C; k++) {
          bool p = logits[i * C + k] > 0, g = e->multi[k] > 0.5f;
          c.pred += p;
          c.gold += g;
          c.correct += p && g;
          all = all && p == g;
        }
        exact += all;
      }
      nlp_prf r = nlp_prf_from_counts(c);
      json_object_object_add(res, "micro_f1", json_object_new_double(r.f1));
      json_object_object_add(res, "subset_accuracy", json_object_new_double(m ? (double)exact / m : 0));
      json_object_object_add(res, "accuracy", json_object_new_double(m ? (double)exact / m : 0));
    } else {
      int32_t *gold = g_new(int32_t, m + 1), *pred = g_new(int32_t, m + 1);
      for (size_t i = 0; i < m; i++) {
        const nlp_train_example *e = ex->pdata[g_array_index(fs->seqs, seq_info, i).ex];
        gold[i] = e->label;
        int32_t best = 0;
        for (size_t k = 1; k < C; k++)
          if (logits[i * C + k] > logits[i * C + (size_t)best]) best = (int32_t)k;
        pred[i] = best;
      }
      json_object_object_add(res, "accuracy", json_object_new_double(nlp_metric_accuracy(gold, pred, m)));
      json_object_object_add(res, "macro_f1", json_object_new_double(nlp_metric_macro_f1(gold, pred, m, C)));
      g_free(gold);
      g_free(pred);
    }
  } else if (t->task == NLP_TASK_TOKEN_CLASSIFICATION) {
    /* word tag = prediction on its first sub-token, first window that has it */
    GPtrArray *pred_tags = g_ptr_array_new();
    for (guint x = 0; x < ex->len; x++) {
      nlp_train_example *e = ex->pdata[x];
      g_ptr_array_add(pred_tags, g_new0(int32_t, e->n_words + 1));
      int32_t *p = pred_tags->pdata[x];
      for (size_t w = 0; w < e->n_words; w++) p[w] = -1;
    }
    size_t f = 0, tok_ok = 0, tok_n = 0;
    GArray *path = g_array_new(FALSE, FALSE, sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
      const seq_info *s = &g_array_index(fs->seqs, seq_info, i);
      int32_t *p = pred_tags->pdata[s->ex];
      if (t->head.crf) {
        g_array_set_size(path, s->n_tok);
        nlp_train_head_viterbi(&t->head, logits + f * C, s->n_tok,
                               &g_array_index(fs->tok_label, int32_t, s->tok0), (int32_t *)(void *)path->data);
      }
      for (size_t k = 0; k < s->n_tok; k++, f++) {
        int32_t w = g_array_index(fs->word_first, int32_t, s->tok0 + k);
        if (w < 0 || p[w] >= 0) continue;
        int32_t best = 0;
        for (size_t c = 1; c < C; c++)
          if (logits[f * C + c] > logits[f * C + (size_t)best]) best = (int32_t)c;
        if (t->head.crf && g_array_index(path, int32_t, k) >= 0) best = g_array_index(path, int32_t, k);
        p[w] = best;
      }
    }
    g_array_free(path, TRUE);
    nlp_prf_counts counts = {0};
    for (guint x = 0; x < ex->len; x++) {
      nlp_train_example *e = ex->pdata[x];
      int32_t *p = pred_tags->pdata[x];
      const char **pt = g_new(const char *, e->n_words + 1);
      int32_t o = nlp_tr_label_index(t->labels, "O");
      for (size_t w = 0; w < e->n_words; w++) {
        int32_t k = p[w] >= 0 ? p[w] : o;
        pt[w] = k >= 0 ? t->labels->pdata[k] : "O";
        tok_ok += !strcmp(pt[w], e->tag_strs[w]);
        tok_n++;
      }
      nlp_entity *ge = g_new(nlp_entity, e->n_words + 1), *pe = g_new(nlp_entity, e->n_words + 1);
      size_t ng = nlp_metric_tags_to_entities((const char *const *)e->tag_strs, e->n_words, ge);
      size_t np = nlp_metric_tags_to_entities(pt, e->n_words, pe);
      nlp_metric_entities_add(&counts, ge, ng, pe, np);
      g_free(ge);
      g_free(pe);
      g_free(pt);
      g_free(p);
    }
    g_ptr_array_free(pred_tags, TRUE);
    nlp_prf r = nlp_prf_from_counts(counts);
    json_object_object_add(res, "precision", json_object_new_double(r.precision));
    json_object_object_add(res, "recall", json_object_new_double(r.recall));
    json_object_object_add(res, "f1", json_object_new_double(r.f1));
    json_object_object_add(res, "token_accuracy", json_object_new_double(tok_n ? (double)tok_ok / tok_n : 0));
  } else if (t->task == NLP_TASK_QUESTION_ANSWERING) {
    /* Answers as HF's question-answering pipeline (and the qa plugin) pick them:
     * per window, p_start and p_end are softmaxes over the context tokens and
     * [CLS]; spans s <= e < s + 15 score p_start[s] * p_end[e]; the window's 12
     * best (top_k * 2 + 10) are widened to whole words of the window; answers with
     * the same lower-cased text add their scores across spans and windows; the best
     * answer is scored with the SQuAD script against every gold answer. */
    GPtrArray *cands = g_ptr_array_new_with_free_func(g_free); /* per example: GHashTable */
    for (guint x = 0; x < ex->len; x++) g_ptr_array_add(cands, NULL);
    GHashTable **tabs = g_new0(GHashTable *, ex->len + 1);
    size_t f = 0;
    GArray *cs = g_array_new(FALSE, FALSE, sizeof(cand));
    for (size_t i = 0; i < n; i++) {
      const seq_info *s = &g_array_index(fs->seqs, seq_info, i);
      nlp_train_example *e = ex->pdata[s->ex];
      const int32_t *sid = &g_array_index(fs->seq_id, int32_t, s->tok0);
      const int32_t *wid = &g_array_index(fs->word_id, int32_t, s->tok0);
      const int32_t *off = &g_array_index(fs->offs, int32_t, 2 * s->tok0);
      const float *z = logits + f * 2;
      double ms = -INFINITY, me = -INFINITY, ss = 0, se = 0;
      for (size_t a = 0; a < s->n_tok; a++)
        if (sid[a] == 1 || a == 0) ms = fmax(ms, z[a * 2]), me = fmax(me, z[a * 2 + 1]);
      for (size_t a = 0; a < s->n_tok; a++)
        if (sid[a] == 1 || a == 0) ss += exp(z[a * 2] - ms), se += exp(z[a * 2 + 1] - me);
      g_array_set_size(cs, 0);
      for (size_t a = 0; a < s->n_tok; a++) {
        if (sid[a] != 1) continue;
        double ps = exp(z[a * 2] - ms) / ss;
        for (size_t c = a; c < s->n_tok && c < a + 15; c++) {
          if (sid[c] != 1) continue;
          cand k = {ps * exp(z[c * 2 + 1] - me) / se, a, c};
          g_array_append_val(cs, k);
        }
      }
      /* the 12 best, ties in (start, end) order (the order they were made in) */
      g_array_sort(cs, cmp_cand);
      size_t keep = MIN((size_t)12, cs->len);
      if (!tabs[s->ex]) tabs[s->ex] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
      for (size_t k = 0; k < keep; k++) {
        cand c = g_array_index(cs, cand, k);
        int32_t a0 = off[2 * c.a], c1 = off[2 * c.c + 1];
        for (size_t q = 0; q < s->n_tok; q++) { /* widen to the words within the window */
          if (sid[q] != 1) continue;
          if (wid[q] == wid[c.a] && off[2 * q] < a0) a0 = off[2 * q];
          if (wid[q] == wid[c.c] && off[2 * q + 1] > c1) c1 = off[2 * q + 1];
        }
        char *text = span_text(e->text, a0, c1), *fold = g_utf8_strdown(text, -1);
        double *sc = g_hash_table_lookup(tabs[s->ex], fold);
        if (sc) {
          sc[0] += c.p;
          g_free(fold);
        } else {
          sc = g_new(double, 3);
          sc[0] = c.p;
          sc[1] = a0;
          sc[2] = c1;
          g_hash_table_insert(tabs[s->ex], fold, sc);
        }
        g_free(text);
      }
      f += s->n_tok;
    }
    g_array_free(cs, TRUE);
    g_ptr_array_free(cands, TRUE);
    double em = 0, f1 = 0;
    for (guint x = 0; x < ex->len; x++) {
      nlp_train_example *e = ex->pdata[x];
      double best = -1, bs = 0, be = 0;
      if (tabs[x]) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, tabs[x]);
        while (g_hash_table_iter_next(&it, &k, &v)) {
          double *sc = v;
          /* equal scores: the earlier span in the text, so the pick is deterministic */
          if (sc[0] > best || (sc[0] == best && sc[1] < bs)) best = sc[0], bs = sc[1], be = sc[2];
        }
        g_hash_table_destroy(tabs[x]);
      }
      char *pred = best >= 0 ? span_text(e->text, (int32_t)bs, (int32_t)be) : g_strdup("");
      double bem = 0, bf = 0;
      if (!e->n_answers) bem = bf = !*pred;
      for (size_t k = 0; k < e->n_answers; k++) {
        bem = fmax(bem, nlp_squad_exact(pred, e->ans_text[k]));
        bf = fmax(bf, nlp_squad_f1(pred, e->ans_text[k]));
      }
      em += bem;
      f1 += bf;
      g_free(pred);
    }
    g_free(tabs);
    json_object_object_add(res, "exact_match", json_object_new_double(ex->len ? em / ex->len : 0));
    json_object_object_add(res, "f1", json_object_new_double(ex->len ? f1 / ex->len : 0));
  } else {
    double r1 = 0, r2 = 0, rl = 0, top1 = 0;
    size_t docs = 0, f = 0;
    for (size_t i = 0; i < n; i++) {
      const seq_info *s = &g_array_index(fs->seqs, seq_info, i);
      nlp_train_example *e = ex->pdata[s->ex];
      size_t bk = 0;
      for (size_t k = 1; k < s->n_feat; k++)
        if (logits[f + k] > logits[f + bk]) bk = k;
      int32_t sent = g_array_index(fs->feat_sent, int32_t, s->feat0 + bk);
      char *pick = span_text(e->text, e->sent_start[sent], e->sent_end[sent]);
      r1 += nlp_rouge_n(pick, e->reference, 1).f1;
      r2 += nlp_rouge_n(pick, e->reference, 2).f1;
      rl += nlp_rouge_l(pick, e->reference).f1;
      top1 += e->sent_label[sent] > 0.5f;
      docs++;
      g_free(pick);
      f += s->n_feat;
    }
    json_object_object_add(res, "rouge1", json_object_new_double(docs ? r1 / docs : 0));
    json_object_object_add(res, "rouge2", json_object_new_double(docs ? r2 / docs : 0));
    json_object_object_add(res, "rougeL", json_object_new_double(docs ? rl / docs : 0));
    json_object_object_add(res, "top1_accuracy", json_object_new_double(docs ? top1 / docs : 0));
  }
  g_free(logits);
  return res;
}

double nlp_tr_metric_of(json_object *m, const char *name) {
  json_object *v = nlp_tr_jobj(m, name);
  return v ? json_object_get_double(v) : -INFINITY;
}
