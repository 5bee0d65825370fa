/* features.c — data sets as the trainer sees them: records read and validated,
 * tokenized into windows with their targets (labels, word tags, answer spans, summary
 * sentences), and the frozen part of the backbone encoded once into a memory-mapped
 * feature cache that later runs with the same inputs reuse. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train/arch.h"
#include "train/internal.h"
#include "eval/metrics.h"
#include "tensor/safetensors.h"
#include "util/error.h"

void nlp_tr_featset_free(featset *fs) {
  if (!fs) return;
  nlp_train_data_free(fs->data);
  GArray *as[] = {fs->seqs, fs->ids, fs->types, fs->tok_label, fs->word_first, fs->offs,
                  fs->seq_id, fs->word_id, fs->feat_a, fs->feat_n, fs->feat_sent, fs->feat_soft};
  for (size_t i = 0; i < G_N_ELEMENTS(as); i++)
    if (as[i]) g_array_free(as[i], TRUE);
  if (fs->map) munmap(fs->map, fs->map_len);
  g_free(fs);
}

/* Features pooled over token ranges (feat_a / feat_n): summary sentences, and
 * classification with mean pooling (the window's non-special tokens). */
bool nlp_tr_ranged(const trainer *t) {
  return t->task == NLP_TASK_SUMMARY || (t->task == NLP_TASK_CLASSIFICATION && t->pool_mean);
}

static featset *featset_new(nlp_train_data *d) {
  featset *fs = g_new0(featset, 1);
  fs->data = d;
  fs->seqs = g_array_new(FALSE, FALSE, sizeof(seq_info));
  fs->ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->types = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->tok_label = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->word_first = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->offs = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->seq_id = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->word_id = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->feat_a = g_array_new(FALSE, FALSE, sizeof(size_t));
  fs->feat_n = g_array_new(FALSE, FALSE, sizeof(size_t));
  fs->feat_sent = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->feat_soft = g_array_new(FALSE, FALSE, sizeof(float));
  return fs;
}

int32_t nlp_tr_label_index(GPtrArray *labels, const char *s) {
  for (guint i = 0; i < labels->len; i++)
    if (!strcmp(labels->pdata[i], s)) return (int32_t)i;
  return -1;
}

/* the I- tag continuing tag K (B-X -> I-X), or K itself */
static int32_t continuation(GPtrArray *labels, int32_t k) {
  const char *s = labels->pdata[k];
  if (s[0] != 'B' || s[1] != '-') return k;
  char *i = g_strdup(s);
  i[0] = 'I';
  int32_t r = nlp_tr_label_index(labels, i);
  g_free(i);
  return r >= 0 ? r : k;
}

/* With layers unfrozen the trainer's own embedding code indexes the tables, without the
 * runtime's input checks: every token id and token type of LIST must have its row (a
 * tokenizer that does not match the backbone, such as BERT's pair types on a RoBERTa with
 * one type, is refused here instead of read out of bounds). */
static bool tokens_fit(const trainer *t, const nlp_encoding_list *list, const char *path,
                       size_t line, GError **error) {
  const nlp_model_config *c = nlp_model_get_config(t->model);
  bool types = nlp_train_arch_get(t->model)->emb[NLP_TRAIN_EMB_TYPE] != NULL;
  for (size_t w = 0; w < list->n; w++)
    for (size_t i = 0; i < list->items[w].n; i++) {
      int32_t id = list->items[w].ids[i], ty = list->items[w].type_ids[i];
      bool bad_type = types && (ty < 0 || (size_t)ty >= c->type_vocab_size);
      if (id < 0 || (size_t)id >= c->vocab_size || bad_type) {
        g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT,
                    "%s:%zu: token id %d / type %d outside the backbone's vocabulary (%zu ids, %zu "
                    "types): the tokenizer does not match the backbone", path, line, id, ty,
                    c->vocab_size, c->type_vocab_size);
        return false;
      }
    }
  return true;
}

bool nlp_tr_featurize(trainer *t, featset *fs, GError **error) {
  nlp_encode_params ep = nlp_encode_default_params();
  ep.max_length = t->max_length;
  bool qa = t->task == NLP_TASK_QUESTION_ANSWERING, tokc = t->task == NLP_TASK_TOKEN_CLASSIFICATION;
  if (qa) {
    ep.truncation = NLP_TRUNCATE_ONLY_SECOND;
    ep.stride = t->stride;
  } else if (tokc) {
    ep.stride = t->stride;
  }
  size_t rows = 0;
  for (guint x = 0; x < fs->data->examples->len; x++) {
    nlp_train_example *e = fs->data->examples->pdata[x];
    GError *err = NULL;
    nlp_encoding_list *list =
        qa ? nlp_tokenizer_encode(t->tok, e->question, strlen(e->question), e->text,
                                  strlen(e->text), &ep, &err)
           : nlp_tokenizer_encode(t->tok, e->text, strlen(e->text), NULL, 0, &ep, &err);
    if (!list) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "%s:%zu: cannot tokenize: %s",
                  fs->data->path, e->line, err->message);
      g_error_free(err);
      return false;
    }
    if (t->unfreeze && !tokens_fit(t, list, fs->data->path, e->line, error)) {
      nlp_encoding_list_free(list);
      return false;
    }
    size_t n_win = (qa || tokc) ? list->n : 1;
    for (size_t w = 0; w < n_win; w++) {
      nlp_encoding *en = &list->items[w];
      seq_info s = {.ex = x, .tok0 = fs->ids->len, .n_tok = en->n, .feat0 = 0};
      g_array_append_vals(fs->ids, en->ids, en->n);
      g_array_append_vals(fs->types, en->type_ids, en->n);
      g_array_append_vals(fs->offs, en->offsets, 2 * en->n);
      g_array_append_vals(fs->seq_id, en->seq_ids, en->n);
      g_array_append_vals(fs->word_id, en->word_ids, en->n);
      if (tokc) {
        for (size_t i = 0; i < en->n; i++) {
          int32_t lab = -100, first = -1;
          if (en->seq_ids[i] == 0 && en->offsets[2 * i + 1] > en->offsets[2 * i]) {
            int32_t a = en->offsets[2 * i];
            size_t lo = 0, hi = e->n_words; /* last word starting at or before a */
            while (hi - lo > 1) {
              size_t mid = (lo + hi) / 2;
              if (e->word_start[mid] <= a) lo = mid;
              else hi = mid;
            }
            if (a >= e->word_start[lo] && a < e->word_end[lo]) {
              bool is_first = a == e->word_start[lo];
              if (is_first) first = (int32_t)lo;
              lab = is_first ? e->word_tag[lo]
                    /* BIOES: an E-/S- word's later pieces have no consistent tag */
                    : t->label_all && !t->bioes ? continuation(t->labels, e->word_tag[lo]) : -100;
            }
          }
          g_array_append_val(fs->tok_label, lab);
          g_array_append_val(fs->word_first, first);
        }
      }
      if (qa) {
        s.start = s.end = 0;
        int32_t as = e->n_answers ? e->ans_start[0] : -1, ae = e->n_answers ? e->ans_end[0] : -1;
        int32_t ts = -1, te = -1;
        if (as >= 0)
          for (size_t i = 0; i < en->n; i++) {
            if (en->seq_ids[i] != 1) continue;
            if (ts < 0 && en->offsets[2 * i + 1] > as && en->offsets[2 * i] <= as) ts = (int32_t)i;
            if (en->offsets[2 * i] < ae && en->offsets[2 * i + 1] >= ae) te = (int32_t)i;
          }
        if (ts >= 0 && te >= ts) {
          s.start = ts;
          s.end = te;
        }
      }
      s.feat0 = fs->feat_a->len;
      if (t->task == NLP_TASK_SUMMARY) {
        for (size_t k = 0; k < e->n_sents; k++) {
          size_t a = SIZE_MAX, n = 0;
          for (size_t i = 0; i < en->n; i++) {
            if (en->seq_ids[i] != 0) continue;
            /* a token belongs to the sentence holding its first code point, as the
             * summarization plugin counts it */
            if (en->offsets[2 * i] >= e->sent_start[k] && en->offsets[2 * i] < e->sent_end[k] &&
                en->offsets[2 * i + 1] > en->offsets[2 * i]) {
              if (a == SIZE_MAX) a = i;
              n = i - a + 1;
            }
          }
          if (a == SIZE_MAX) continue; /* the sentence is past the window */
          int32_t ks = (int32_t)k;
          g_array_append_val(fs->feat_a, a);
          g_array_append_val(fs->feat_n, n);
          g_array_append_val(fs->feat_sent, ks);
          g_array_append_val(fs->feat_soft, e->sent_label[k]);
        }
        s.n_feat = fs->feat_a->len - s.feat0;
      } else if (t->pool_mean && t->task == NLP_TASK_CLASSIFICATION) {
        /* the mean of the non-special tokens, as the classification plugin's "mean" */
        size_t a = SIZE_MAX, m = 0;
        for (size_t i = 0; i < en->n; i++)
          if (en->seq_ids[i] >= 0) {
            if (a == SIZE_MAX) a = i;
            m = i - a + 1;
          }
        if (a == SIZE_MAX) a = 0, m = 1; /* empty text: the [CLS] state */
        int32_t zero = 0;
        float fz = 0;
        g_array_append_val(fs->feat_a, a);
        g_array_append_val(fs->feat_n, m);
        g_array_append_val(fs->feat_sent, zero);
        g_array_append_val(fs->feat_soft, fz);
        s.n_feat = 1;
      } else {
        s.n_feat = t->task == NLP_TASK_CLASSIFICATION ? 1 : en->n;
      }
      s.row0 = rows;
      s.n_rows = t->unfreeze ? en->n : t->task == NLP_TASK_CLASSIFICATION ? 1 : s.n_feat;
      if (s.n_feat == 0) { /* a summary document whose sentences all fall outside */
        g_array_set_size(fs->feat_a, s.feat0);
        continue;
      }
      rows += s.n_rows;
      g_array_append_val(fs->seqs, s);
    }
    nlp_encoding_list_free(list);
  }
  fs->n_rows = rows;
  return true;
}

static char *cache_key(trainer *t, const char *data_path, size_t max_records) {
  GString *k = g_string_new("nlpipe-features-v1\n");
  struct stat st;
  char *cf = g_build_filename(t->backbone, "config.json", NULL);
  char *sha = nlp_tr_file_sha256(cf);
  char *abs_bb = realpath(t->backbone, NULL), *abs_data = realpath(data_path, NULL);
  g_string_append_printf(k, "%s\n%s\n", abs_bb ? abs_bb : t->backbone, sha);
  /* the weights by size and time, every file of a sharded checkpoint too */
  for (size_t f = 0; f < nlp_model_n_weight_files(t->model); f++) {
    const nlp_safetensors *w = nlp_model_weight_file(t->model, f);
    if (stat(w->path, &st) == 0) g_string_append_printf(k, "%lld %lld\n", (long long)st.st_size, (long long)st.st_mtime);
  }
  if (stat(data_path, &st) == 0) g_string_append_printf(k, "%s %lld %lld\n", abs_data ? abs_data : data_path, (long long)st.st_size, (long long)st.st_mtime);
  g_string_append_printf(k, "%s %d %zu %zu %zu %d %d %s %s %s\n", nlp_train_task_name(t->task), nlp_tr_ranged(t), t->max_length,
                         t->stride, max_records, t->unfreeze, t->cache_f16,
                         t->fields.source ? t->fields.source : "-",
                         t->tokenizer_path ? t->tokenizer_path : "-", t->fields.text);
  char *r = g_compute_checksum_for_string(G_CHECKSUM_SHA256, k->str, -1);
  g_string_free(k, TRUE);
  g_free(cf); g_free(sha);
  free(abs_bb); free(abs_data);
  return r;
}

#define CACHE_HEADER 64

static uint16_t to_half(float f) {
  /* round to nearest even through the writer's converter */
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
  int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00u);
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) return (uint16_t)sign; /* tiny values flush to 0: features are O(1) */
  uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

void nlp_tr_row_get(const featset *fs, size_t row, size_t H, float *out) {
  if (fs->f16) nlp_convert_f16_to_f32(fs->rows + row * H * 2, out, H);
  else memcpy(out, fs->rows + row * H * 4, H * sizeof(float));
}

/* Encodes the frozen part over FS and writes its rows to PATH (rows x H). */
static bool write_cache(trainer *t, featset *fs, const char *path, GError **error) {
  char *tmp = g_strconcat(path, ".tmp", NULL);
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot write: %s", tmp, g_strerror(errno));
    g_free(tmp);
    return false;
  }
  size_t H = t->H;
  unsigned char hdr[CACHE_HEADER] = "NLPFEAT1";
  uint32_t dt = t->cache_f16, h32 = (uint32_t)H;
  uint64_t nr = fs->n_rows;
  memcpy(hdr + 8, &dt, 4);
  memcpy(hdr + 12, &h32, 4);
  memcpy(hdr + 16, &nr, 8);
  bool ok = fwrite(hdr, 1, CACHE_HEADER, f) == CACHE_HEADER;
  /* frozen lower layers for unfreeze mode */
  nlp_param_set *lower = NULL;
  nlp_train_layer *low = NULL;
  size_t n_low = t->L - (size_t)t->unfreeze;
  nlp_layer_tape *tape = NULL;
  if (t->unfreeze) {
    lower = nlp_param_set_new();
    low = g_new0(nlp_train_layer, n_low ? n_low : 1);
    for (size_t l = 0; l < n_low && ok; l++)
      ok = nlp_train_layer_from_model(&low[l], lower, t->model, l, error);
    tape = nlp_layer_tape_new();
  }
  nlp_forward_ctx *ctx = nlp_forward_ctx_new(t->model, t->threads);
  GArray *lens = g_array_new(FALSE, FALSE, sizeof(size_t));
  float *hid = NULL, *tmpb = NULL, *row = g_new(float, H);
  uint16_t *half = g_new(uint16_t, H);
  size_t cap = 0, n_seq = fs->seqs->len, done_tokens = 0, total_tokens = fs->ids->len;
  gint64 t0 = g_get_monotonic_time();
  for (size_t s0 = 0; s0 < n_seq && ok;) {
    size_t s1 = s0, T = 0;
    g_array_set_size(lens, 0);
    while (s1 < n_seq && (T == 0 || T + g_array_index(fs->seqs, seq_info, s1).n_tok <= 4096)) {
      size_t n = g_array_index(fs->seqs, seq_info, s1).n_tok;
      g_array_append_val(lens, n);
      T += n;
      s1++;
    }
    if (T > cap) {
      g_free(hid);
      g_free(tmpb);
      hid = g_new(float, T * H);
      tmpb = g_new(float, T * H);
      cap = T;
    }
    const seq_info *first = &g_array_index(fs->seqs, seq_info, s0);
    nlp_forward_input in = {s1 - s0, (size_t *)(void *)lens->data,
                            &g_array_index(fs->ids, int32_t, first->tok0),
                            &g_array_index(fs->types, int32_t, first->tok0)};
    if (!t->unfreeze) {
      ok = nlp_model_forward(t->model, ctx, &in, hid, error);
    } else {
      ok = nlp_train_embed(t->model, &in, hid, error);
      nlp_layer_batch b = {s1 - s0, in.lengths, T};
      for (size_t l = 0; l < n_low && ok; l++) {
        nlp_train_layer_forward(&low[l], tape, &b, hid, tmpb, 0, 0, NULL, t->threads);
        float *sw = hid; hid = tmpb; tmpb = sw;
      }
    }
    size_t off = 0;
    for (size_t s = s0; s < s1 && ok; s++) {
      const seq_info *si = &g_array_index(fs->seqs, seq_info, s);
      const float *base = hid + off * H;
      for (size_t r = 0; r < si->n_rows && ok; r++) {
        const float *src = base + r * H;
        if (!t->unfreeze && nlp_tr_ranged(t)) {
          size_t a = g_array_index(fs->feat_a, size_t, si->feat0 + r);
          size_t n = g_array_index(fs->feat_n, size_t, si->feat0 + r);
          memset(row, 0, H * sizeof(float));
          for (size_t i = a; i < a + n; i++)
            for (size_t j = 0; j < H; j++) row[j] += base[i * H + j];
          for (size_t j = 0; j < H; j++) row[j] /= (float)n;
          src = row;
        }
        if (t->cache_f16) {
          for (size_t j = 0; j < H; j++) half[j] = to_half(src[j]);
          ok = fwrite(half, 2, H, f) == H;
        } else {
          ok = fwrite(src, sizeof(float), H, f) == H;
        }
      }
      off += si->n_tok;
    }
    done_tokens += T;
    if (!t->quiet && isatty(2)) {
      double sec = (double)(g_get_monotonic_time() - t0) / 1e6;
      fprintf(stderr, "\rencoding %s: %zu/%zu tokens, %.0f tokens/s   ", fs->data->path,
              done_tokens, total_tokens, done_tokens / (sec > 0 ? sec : 1e-9));
    }
    s0 = s1;
  }
  if (!t->quiet && isatty(2)) fputc('\n', stderr);
  if (fclose(f) != 0) ok = false;
  if (ok && rename(tmp, path) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot write: %s", path, g_strerror(errno));
    ok = false;
  }
  if (!ok) remove(tmp);
  g_free(tmp);
  g_free(hid); g_free(tmpb); g_free(row); g_free(half);
  g_array_free(lens, TRUE);
  nlp_forward_ctx_free(ctx);
  nlp_layer_tape_free(tape);
  g_free(low);
  nlp_param_set_free(lower);
  return ok;
}

static bool map_cache(trainer *t, featset *fs, const char *path, GError **error) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0) close(fd);
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot open: %s", path, g_strerror(errno));
    return false;
  }
  size_t esz = t->cache_f16 ? 2 : 4, want = CACHE_HEADER + fs->n_rows * t->H * esz;
  if ((size_t)st.st_size != want) {
    close(fd);
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: %lld bytes, expected %zu", path,
                (long long)st.st_size, want);
    return false;
  }
  void *m = mmap(NULL, want, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: mmap: %s", path, g_strerror(errno));
    return false;
  }
  fs->map = m;
  fs->map_len = want;
  fs->rows = (const unsigned char *)m + CACHE_HEADER;
  fs->f16 = t->cache_f16;
  return true;
}

bool nlp_tr_ensure_cache(trainer *t, featset *fs, const char *data_path, size_t max_records,
                         GError **error) {
  if (g_mkdir_with_parents(t->cache_dir, 0755) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot create: %s", t->cache_dir, g_strerror(errno));
    return false;
  }
  /* Training the embedding tables, every batch embeds its token ids with the current
   * tables (batch_forward): frozen features would never be read. The folder still
   * holds the epoch checkpoints. */
  if (t->train_emb) return true;
  char *key = cache_key(t, data_path, max_records);
  char *name = g_strdup_printf("features-%.16s.bin", key);
  char *path = g_build_filename(t->cache_dir, name, NULL);
  bool ok = true;
  struct stat st;
  size_t esz = t->cache_f16 ? 2 : 4;
  if (stat(path, &st) != 0 || (size_t)st.st_size != CACHE_HEADER + fs->n_rows * t->H * esz) {
    if (!t->quiet) fprintf(stderr, "nlpipe train: encoding %s once (%zu windows, %zu tokens) -> %s\n",
                           data_path, (size_t)fs->seqs->len, (size_t)fs->ids->len, path);
    ok = write_cache(t, fs, path, error);
  }
  if (ok) ok = map_cache(t, fs, path, error);
  g_free(key);
  g_free(name);
  g_free(path);
  return ok;
}

/* BIO(ES) tags of one sentence rewritten as BIOES: one-token entities S-X, the
 * last token of longer ones E-X (entities as seqeval reads them). */
static void to_bioes(nlp_train_example *e) {
  nlp_entity *ents = g_new(nlp_entity, e->n_words + 1);
  size_t k = nlp_metric_tags_to_entities((const char *const *)e->tag_strs, e->n_words, ents);
  for (size_t w = 0; w < e->n_words; w++) {
    g_free(e->tag_strs[w]);
    e->tag_strs[w] = g_strdup("O");
  }
  for (size_t i = 0; i < k; i++)
    for (int32_t w = ents[i].start; w < ents[i].end; w++) {
      char p = ents[i].end - ents[i].start == 1 ? 'S' : w == ents[i].start ? 'B' : w == ents[i].end - 1 ? 'E' : 'I';
      g_free(e->tag_strs[w]);
      e->tag_strs[w] = g_strdup_printf("%c-%s", p, ents[i].type);
    }
  g_free(ents);
}

featset *nlp_tr_load_set(trainer *t, const char *path, size_t max, bool grow, GError **error) {
  nlp_data_fields f = t->fields;
  f.max_records = max;
  nlp_train_data *d = nlp_train_data_load(path, t->task, &f, error);
  if (!d) return NULL;
  if (t->task == NLP_TASK_TOKEN_CLASSIFICATION && t->bioes)
    for (guint i = 0; i < d->examples->len; i++) to_bioes(d->examples->pdata[i]);
  if (t->task == NLP_TASK_CLASSIFICATION || t->task == NLP_TASK_TOKEN_CLASSIFICATION) {
    if (!t->labels && grow) t->labels = nlp_train_labels_collect(d);
    if (!nlp_train_data_resolve(d, t->labels, t->multi, error)) {
      nlp_train_data_free(d);
      return NULL;
    }
  }
  return featset_new(d);
}
