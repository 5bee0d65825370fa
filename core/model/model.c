/* model.c — open an HF model folder: config, safetensors shards, weight binding. */
#include "model/model-internal.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tensor/gemm.h"
#include "tensor/packed-linear.h"
#include "util/error.h"

void nlp_model_free(nlp_model *m) {
  if (!m) return;
  if (m->tensors) g_hash_table_destroy(m->tensors);
  if (m->shards) g_ptr_array_free(m->shards, TRUE);
  if (m->arena) munmap(m->arena, m->arena_floats * sizeof(float));
  g_clear_pointer(&m->converted, g_hash_table_destroy); /* a load that failed before packing */
  if (m->released) g_hash_table_destroy(m->released);
  g_mutex_clear(&m->lazy);
  g_aligned_free(m->packed);
  g_free(m->layers);
  nlp_model_config_free(m->cfg);
  g_free(m->dir);
  g_free(m);
}

const nlp_model_config *nlp_model_get_config(const nlp_model *m) { return m->cfg; }
size_t nlp_model_hidden_size(const nlp_model *m) { return m->cfg->hidden_size; }

size_t nlp_model_n_weight_files(const nlp_model *m) { return m->shards ? m->shards->len : 0; }

const nlp_safetensors *nlp_model_weight_file(const nlp_model *m, size_t i) {
  return m->shards && i < m->shards->len ? m->shards->pdata[i] : NULL;
}

/* f16 / bf16 / misaligned f32 / f64 on disk -> f32 */
static void convert_entry(const nlp_safetensors_entry *e, float *dst) {
  if (e->dtype == NLP_DTYPE_F16) nlp_convert_f16_to_f32(e->data, dst, e->numel);
  else if (e->dtype == NLP_DTYPE_BF16) nlp_convert_bf16_to_f32(e->data, dst, e->numel);
  else if (e->dtype == NLP_DTYPE_F32) memcpy(dst, e->data, e->numel * sizeof(float));
  else
    for (size_t k = 0; k < e->numel; k++) {
      double d;
      memcpy(&d, (const char *)e->data + 8 * k, 8);
      dst[k] = (float)d;
    }
}

const nlp_tensor *nlp_model_find_tensor(const nlp_model *m, const char *name) {
  const nlp_tensor *t = g_hash_table_lookup(m->tensors, name);
  if (t && m->released) {
    nlp_model *mm = (nlp_model *)m; /* the lock and the table are bookkeeping, not the model */
    g_mutex_lock(&mm->lazy);
    const nlp_safetensors_entry *e = g_hash_table_lookup(mm->released, t->data);
    if (e) {
      convert_entry(e, (float *)t->data); /* the arena is the model's own memory */
      g_hash_table_remove(mm->released, t->data);
    }
    g_mutex_unlock(&mm->lazy);
  }
  return t;
}

static bool is_float(nlp_dtype d) {
  return d == NLP_DTYPE_F32 || d == NLP_DTYPE_F16 || d == NLP_DTYPE_BF16 || d == NLP_DTYPE_F64;
}

/* Shard file names from model.safetensors.index.json's weight_map, unique, in order. */
static GPtrArray *read_index(const char *path, GError **error) {
  gchar *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &text, &len, NULL)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot read", path);
    return NULL;
  }
  json_object *root = json_tokener_parse(text);
  g_free(text);
  json_object *wm = NULL;
  if (!root || !json_object_object_get_ex(root, "weight_map", &wm) ||
      !json_object_is_type(wm, json_type_object)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_PARSE, "%s: expected a JSON object with 'weight_map'",
                path);
    if (root) json_object_put(root);
    return NULL;
  }
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  json_object_object_foreach(wm, key, val) {
    const char *f = json_object_get_string(val);
    if (!json_object_is_type(val, json_type_string) || strchr(f, '/') || !strcmp(f, "..")) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                  "%s: weight_map['%s'] must name a shard file in the same folder", path, key);
      g_ptr_array_free(files, TRUE);
      json_object_put(root);
      return NULL;
    }
    bool seen = false;
    for (guint i = 0; i < files->len && !seen; i++) seen = !strcmp(files->pdata[i], f);
    if (!seen) g_ptr_array_add(files, g_strdup(f));
  }
  json_object_put(root);
  return files;
}

/* Maps every shard, builds the name -> f32 view table, converting half types once. */
static bool load_tensors(nlp_model *m, GError **error) {
  char *single = g_build_filename(m->dir, "model.safetensors", NULL);
  char *index = g_build_filename(m->dir, "model.safetensors.index.json", NULL);
  GPtrArray *files = NULL;
  bool ok = false;
  if (g_file_test(single, G_FILE_TEST_EXISTS)) {
    files = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(files, g_strdup("model.safetensors"));
  } else if (g_file_test(index, G_FILE_TEST_EXISTS)) {
    files = read_index(index, error);
    if (!files) goto out;
  } else {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO,
                "%s: no model.safetensors or model.safetensors.index.json (only safetensors "
                "weights are supported)", m->dir);
    goto out;
  }
  m->shards = g_ptr_array_new_with_free_func((GDestroyNotify)nlp_safetensors_free);
  size_t convert = 0;
  for (guint i = 0; i < files->len; i++) {
    char *p = g_build_filename(m->dir, (const char *)files->pdata[i], NULL);
    nlp_safetensors *st = nlp_safetensors_open(p, error);
    g_free(p);
    if (!st) goto out;
    g_ptr_array_add(m->shards, st);
    for (size_t j = 0; j < st->n_entries; j++) {
      const nlp_safetensors_entry *e = &st->entries[j];
      if (!is_float(e->dtype)) continue;
      /* f32 is used in place unless the file misaligns it (a float* must be
       * 4-aligned); HF's writer pads the header so that this never happens. */
      if (e->dtype != NLP_DTYPE_F32 || ((uintptr_t)e->data & 3u)) convert += e->numel;
    }
  }
  /* anonymous pages of its own, so that pack_layers can give parts of it back */
  if (convert) {
    void *a = mmap(NULL, convert * sizeof(float), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot allocate %zu MB for converted weights",
                  m->dir, convert * sizeof(float) >> 20);
      goto out;
    }
    m->arena = a;
    m->arena_floats = convert;
    m->converted = g_hash_table_new(g_direct_hash, g_direct_equal);
  }
  size_t used = 0;
  m->tensors = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
  for (guint i = 0; i < m->shards->len; i++) {
    nlp_safetensors *st = m->shards->pdata[i];
    for (size_t j = 0; j < st->n_entries; j++) {
      const nlp_safetensors_entry *e = &st->entries[j];
      if (!is_float(e->dtype)) continue; /* e.g. the int64 position_ids buffer */
      if (g_hash_table_contains(m->tensors, e->name)) {
        g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s: tensor '%s' appears in two shards",
                    st->path, e->name);
        goto out;
      }
      nlp_tensor *t = g_new0(nlp_tensor, 1);
      t->name = e->name;
      t->ndim = e->ndim;
      memcpy(t->shape, e->shape, sizeof t->shape);
      t->numel = e->numel;
      if (e->dtype == NLP_DTYPE_F32 && !((uintptr_t)e->data & 3u)) {
        t->data = e->data;
      } else {
        float *dst = m->arena + used;
        used += e->numel;
        convert_entry(e, dst);
        g_hash_table_insert(m->converted, dst, (gpointer)e);
        t->data = dst;
      }
      g_hash_table_insert(m->tensors, (gpointer)t->name, t);
    }
  }
  ok = true;
out:
  if (files) g_ptr_array_free(files, TRUE);
  g_free(single);
  g_free(index);
  return ok;
}

/* Finds PREFIX+NAME with exactly the given dims (-1 ends the list). Old checkpoints
 * call LayerNorm parameters gamma/beta; HF renames them on load, so do we. */
static const float *bind(nlp_model *m, const char *prefix, const char *name, bool required,
                         GError **error, int64_t d0, int64_t d1) {
  if (error && *error) return NULL;
  char *full = g_strconcat(prefix, name, NULL);
  const nlp_tensor *t = nlp_model_find_tensor(m, full);
  if (!t && g_str_has_suffix(full, "LayerNorm.weight")) {
    char *alt = g_strconcat(prefix, name, NULL);
    strcpy(alt + strlen(alt) - strlen("weight"), "gamma");
    t = nlp_model_find_tensor(m, alt);
    g_free(alt);
  } else if (!t && g_str_has_suffix(full, "LayerNorm.bias")) {
    char *alt = g_strconcat(prefix, name, NULL);
    alt[strlen(alt) - strlen("bias")] = 0;
    char *alt2 = g_strconcat(alt, "beta", NULL);
    t = nlp_model_find_tensor(m, alt2);
    g_free(alt);
    g_free(alt2);
  }
  if (!t) {
    if (required)
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                  "%s: missing tensor '%s' (needed by %s)", m->dir, full, m->cfg->architecture);
    g_free(full);
    return NULL;
  }
  int nd = d1 >= 0 ? 2 : 1;
  if (t->ndim != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
    char *got = g_strdup("[");
    for (int i = 0; i < t->ndim; i++) {
      char *n = g_strdup_printf("%s%s%" G_GINT64_FORMAT, got, i ? ", " : "", t->shape[i]);
      g_free(got);
      got = n;
    }
    if (nd == 2)
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                  "%s: tensor '%s' has shape %s], expected [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                  "] from config.json", m->dir, full, got, d0, d1);
    else
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                  "%s: tensor '%s' has shape %s], expected [%" G_GINT64_FORMAT "] from config.json",
                  m->dir, full, got, d0);
    g_free(got);
    g_free(full);
    return NULL;
  }
  g_free(full);
  return t->data;
}

static nlp_linear bind_linear(nlp_model *m, const char *prefix, const char *name, size_t out,
                              size_t in, bool required, GError **error) {
  nlp_linear l = {0};
  char *w = g_strconcat(name, ".weight", NULL), *b = g_strconcat(name, ".bias", NULL);
  l.w = bind(m, prefix, w, required, error, (int64_t)out, (int64_t)in);
  if (l.w) l.b = bind(m, prefix, b, true, error, (int64_t)out, -1);
  if (l.w) l.out = out, l.in = in;
  g_free(w);
  g_free(b);
  return l;
}

static nlp_norm bind_norm(nlp_model *m, const char *prefix, const char *name, size_t n,
                          GError **error) {
  nlp_norm nm = {0};
  char *w = g_strconcat(name, ".weight", NULL), *b = g_strconcat(name, ".bias", NULL);
  nm.gamma = bind(m, prefix, w, true, error, (int64_t)n, -1);
  nm.beta = bind(m, prefix, b, true, error, (int64_t)n, -1);
  nm.n = n;
  g_free(w);
  g_free(b);
  return nm;
}

static bool bind_weights(nlp_model *m, GError **error) {
  const nlp_model_config *c = m->cfg;
  const char *family = c->arch == NLP_ARCH_BERT ? "bert." : c->arch == NLP_ARCH_ROBERTA ? "roberta."
                       : c->arch == NLP_ARCH_DISTILBERT ? "distilbert." : "electra.";
  /* A bare *Model checkpoint stores its tensors without the family prefix. */
  char *probe = g_strconcat(family, "embeddings.word_embeddings.weight", NULL);
  const char *p = nlp_model_find_tensor(m, probe) ? family : "";
  g_free(probe);
  size_t H = c->hidden_size, E = c->embedding_size, I = c->intermediate_size;
  bool distil = c->arch == NLP_ARCH_DISTILBERT;
  m->word_emb = bind(m, p, "embeddings.word_embeddings.weight", true, error, (int64_t)c->vocab_size,
                     (int64_t)E);
  m->pos_emb = bind(m, p, "embeddings.position_embeddings.weight", true, error,
                    (int64_t)c->max_positions, (int64_t)E);
  if (!distil)
    m->type_emb = bind(m, p, "embeddings.token_type_embeddings.weight", true, error,
                       (int64_t)c->type_vocab_size, (int64_t)E);
  m->emb_norm = bind_norm(m, p, "embeddings.LayerNorm", E, error);
  if (c->arch == NLP_ARCH_ELECTRA && E != H)
    m->emb_project = bind_linear(m, p, "embeddings_project", H, E, true, error);
  m->layers = g_new0(nlp_encoder_layer, c->num_layers);
  for (size_t l = 0; l < c->num_layers && !*error; l++) {
    nlp_encoder_layer *L = &m->layers[l];
    char *lp = g_strdup_printf(distil ? "%stransformer.layer.%zu." : "%sencoder.layer.%zu.", p, l);
    if (distil) {
      L->q = bind_linear(m, lp, "attention.q_lin", H, H, true, error);
      L->k = bind_linear(m, lp, "attention.k_lin", H, H, true, error);
      L->v = bind_linear(m, lp, "attention.v_lin", H, H, true, error);
      L->attn_out = bind_linear(m, lp, "attention.out_lin", H, H, true, error);
      L->attn_norm = bind_norm(m, lp, "sa_layer_norm", H, error);
      L->ffn_in = bind_linear(m, lp, "ffn.lin1", I, H, true, error);
      L->ffn_out = bind_linear(m, lp, "ffn.lin2", H, I, true, error);
      L->out_norm = bind_norm(m, lp, "output_layer_norm", H, error);
    } else {
      L->q = bind_linear(m, lp, "attention.self.query", H, H, true, error);
      L->k = bind_linear(m, lp, "attention.self.key", H, H, true, error);
      L->v = bind_linear(m, lp, "attention.self.value", H, H, true, error);
      L->attn_out = bind_linear(m, lp, "attention.output.dense", H, H, true, error);
      L->attn_norm = bind_norm(m, lp, "attention.output.LayerNorm", H, error);
      L->ffn_in = bind_linear(m, lp, "intermediate.dense", I, H, true, error);
      L->ffn_out = bind_linear(m, lp, "output.dense", H, I, true, error);
      L->out_norm = bind_norm(m, lp, "output.LayerNorm", H, error);
    }
    g_free(lp);
  }
  if (*error) return false;
  size_t nl = c->num_labels;
  bool seq = c->head == NLP_HEAD_SEQUENCE_CLASSIFICATION;
  /* The pooler is optional for BERT (HF drops it from token/QA models); a BERT
   * sequence classifier needs it. */
  if (c->arch == NLP_ARCH_BERT || c->arch == NLP_ARCH_ROBERTA || c->arch == NLP_ARCH_ELECTRA)
    m->pooler = bind_linear(m, p, "pooler.dense", H, H, seq && c->arch == NLP_ARCH_BERT, error);
  switch (c->head) {
  case NLP_HEAD_NONE: break;
  case NLP_HEAD_SEQUENCE_CLASSIFICATION:
    if (c->arch == NLP_ARCH_BERT) {
      m->head_out = bind_linear(m, "", "classifier", nl, H, true, error);
    } else if (distil) {
      m->head_dense = bind_linear(m, "", "pre_classifier", H, H, true, error);
      m->head_out = bind_linear(m, "", "classifier", nl, H, true, error);
    } else { /* RoBERTa and ELECTRA classification heads */
      m->head_dense = bind_linear(m, "", "classifier.dense", H, H, true, error);
      m->head_out = bind_linear(m, "", "classifier.out_proj", nl, H, true, error);
    }
    break;
  case NLP_HEAD_TOKEN_CLASSIFICATION:
    m->head_out = bind_linear(m, "", "classifier", nl, H, true, error);
    break;
  case NLP_HEAD_QUESTION_ANSWERING:
    m->head_out = bind_linear(m, "", "qa_outputs", 2, H, true, error);
    break;
  }
  return !*error;
}

/* Gives back the whole pages inside [p, p + n floats). Mapped file pages come back from
 * the file when touched again; anonymous (arena) pages come back as zeros, which is why
 * released arena tensors are recorded and converted again on lookup. */
static bool release_pages(const float *p, size_t n) {
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return false;
  uintptr_t lo = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
  uintptr_t hi = ((uintptr_t)(p + n)) & ~((uintptr_t)page - 1);
  return hi > lo && madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0;
}

/* Packs every encoder-layer Linear once (see tensor/packed-linear.h) and then gives
 * back the pages of the f32 weights it was packed from, so that resident memory stays
 * near one copy of the weights whether they were used in place from the mapped file
 * (f32) or converted (f16/bf16). The forward pass reads only the packed copy; the
 * f32 views stay reachable through nlp_model_find_tensor (plugins' tensor service,
 * `nlpipe train --unfreeze-top`), which brings them back. */
static void pack_layers(nlp_model *m) {
  size_t total = 0, L = m->cfg->num_layers;
  for (size_t l = 0; l < L; l++) {
    nlp_linear *all[] = {&m->layers[l].q, &m->layers[l].k, &m->layers[l].v,
                         &m->layers[l].attn_out, &m->layers[l].ffn_in, &m->layers[l].ffn_out};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
      total += nlp_packed_linear_size(all[i]->out, all[i]->in);
  }
  if (!total) return;
  /* 2 MB aligned and on transparent huge pages where the kernel allows it (madvise
   * mode): batch-1 inference streams all of it per sentence, and the hardware
   * prefetchers stop at page boundaries */
  size_t huge = (size_t)2 << 20, bytes = (total * sizeof(float) + huge - 1) / huge * huge;
  m->packed = g_aligned_alloc(bytes / sizeof(float), sizeof(float), huge);
  madvise(m->packed, bytes, MADV_HUGEPAGE);
  float *dst = m->packed;
  for (size_t l = 0; l < L; l++) {
    nlp_linear *all[] = {&m->layers[l].q, &m->layers[l].k, &m->layers[l].v,
                         &m->layers[l].attn_out, &m->layers[l].ffn_in, &m->layers[l].ffn_out};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
      nlp_linear *lin = all[i];
      nlp_packed_linear_pack(lin->w, lin->out, lin->in, dst);
      lin->packed = dst;
      dst += nlp_packed_linear_size(lin->out, lin->in);
      const nlp_safetensors_entry *e = m->converted ? g_hash_table_lookup(m->converted, lin->w) : NULL;
      if (release_pages(lin->w, lin->out * lin->in) && e) {
        if (!m->released) m->released = g_hash_table_new(g_direct_hash, g_direct_equal);
        g_hash_table_insert(m->released, (gpointer)lin->w, (gpointer)e);
      }
      lin->w = NULL; /* only the packed copy is read from here on */
    }
  }
  g_clear_pointer(&m->converted, g_hash_table_destroy); /* only packing needed it */
}

nlp_model *nlp_model_open(const char *dir, GError **error) {
  nlp_compute_init(0);
  nlp_model *m = g_new0(nlp_model, 1);
  g_mutex_init(&m->lazy);
  m->dir = g_strdup(dir);
  char *cfg_path = g_build_filename(dir, "config.json", NULL);
  m->cfg = nlp_model_config_load(cfg_path, error);
  g_free(cfg_path);
  GError *err = NULL;
  if (!m->cfg || !load_tensors(m, error) || !bind_weights(m, &err)) {
    if (err) g_propagate_error(error, err);
    nlp_model_free(m);
    return NULL;
  }
  pack_layers(m);
  return m;
}
