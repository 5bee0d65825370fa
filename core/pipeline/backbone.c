#include "pipeline/backbone.h"

#include <string.h>

#include "model/model.h"
#include "tensor/gemm.h"
#include "tensor/safetensors.h"
#include "tokenizer/tokenizer.h"
/* decode_tokens needs the decoder chain on strings, which tokenizer.h only offers on
 * ids; move to an nlp_tokenizer_decode_tokens when the tokenizer owner adds one. */
#include "tokenizer/internal.h"
#include "util/error.h"

/* Everything one encoder pass produced: the windows handed to plugins point into
 * these arrays, so they stay valid until the next pass of the same kind. */
typedef struct {
  GPtrArray *encodings; /* nlp_encoding_list* per input (NULL for a failed one) */
  GArray *windows;      /* nlp_window */
  GArray *lengths;      /* size_t per window */
  GArray *ids, *type_ids; /* packed int32 */
  float *hidden;
  size_t hidden_cap;    /* floats */
} pass;

typedef struct {
  nlp_tensor_view view;
  float *owned; /* converted or realigned copy, NULL when mapped in place */
} tensor_entry;

struct nlp_backbone {
  char *name, *path;
  nlp_model *model;
  nlp_tokenizer *tok;
  /* One workspace per worker. The thread budget goes to workers that each run
   * whole windows with single-threaded GEMMs, not to threads inside one GEMM:
   * measured faster on these small shapes (bench/encoder/README.md), and a
   * worker never waits on a barrier for a descheduled sibling. */
  nlp_forward_ctx **ctxs;
  int n_workers;
  nlp_model_info info;
  size_t window;  /* tokens per window, special tokens included */
  size_t stride;  /* overlap between windows of a long text */
  pass docs;      /* the shared per-batch pass */
  GPtrArray *owners; /* nlp_doc* behind docs' window.doc indices */
  gboolean docs_valid;
  pass pairs;     /* the latest encode_pairs pass */
  guint64 forwards;
  GHashTable *tensors;  /* "head_dir|name" -> tensor_entry* */
  GHashTable *head_files; /* head_dir -> nlp_safetensors* */
};

static void pass_init(pass *p) {
  p->encodings = g_ptr_array_new_with_free_func((GDestroyNotify)nlp_encoding_list_free);
  p->windows = g_array_new(FALSE, FALSE, sizeof(nlp_window));
  p->lengths = g_array_new(FALSE, FALSE, sizeof(size_t));
  p->ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  p->type_ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
}

static void pass_reset(pass *p) {
  g_ptr_array_set_size(p->encodings, 0);
  g_array_set_size(p->windows, 0);
  g_array_set_size(p->lengths, 0);
  g_array_set_size(p->ids, 0);
  g_array_set_size(p->type_ids, 0);
}

static void pass_clear(pass *p) {
  if (!p->encodings) return;
  g_ptr_array_free(p->encodings, TRUE);
  g_array_free(p->windows, TRUE);
  g_array_free(p->lengths, TRUE);
  g_array_free(p->ids, TRUE);
  g_array_free(p->type_ids, TRUE);
  g_free(p->hidden);
}

static void tensor_entry_free(gpointer p) {
  tensor_entry *e = p;
  g_free(e->owned);
  g_free(e);
}

nlp_backbone *nlp_backbone_open(const char *name, const char *path, gint64 max_length,
                                gint64 stride, int threads, GError **error) {
  nlp_compute_init(threads);
  nlp_model *model = nlp_model_open(path, error);
  if (!model) {
    g_prefix_error(error, "models.%s: ", name);
    return NULL;
  }
  nlp_tokenizer *tok = nlp_tokenizer_load(path, error);
  if (!tok) {
    g_prefix_error(error, "models.%s: ", name);
    nlp_model_free(model);
    return NULL;
  }
  const nlp_model_config *cfg = nlp_model_get_config(model);
  size_t usable = cfg->max_positions - (size_t)cfg->position_offset;
  size_t window = max_length > 0 ? (size_t)max_length : usable;
  size_t specials = nlp_tokenizer_num_special_tokens(tok, false);
  if (window > usable || window <= specials) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                "models.%s.max_length: expected an integer in [%zu, %zu] for %s, got %zu", name,
                specials + 1, usable, path, window);
    nlp_tokenizer_free(tok);
    nlp_model_free(model);
    return NULL;
  }
  /* Default overlap: a quarter of the text part of a window (HF's NER stride is
   * user-chosen; QA's doc_stride is 128 of 384, about a third). */
  size_t text_len = window - specials;
  size_t s = stride >= 0 ? (size_t)stride : text_len / 4;
  if (s >= text_len) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                "models.%s.stride: expected an integer < %zu (the text tokens of a window), "
                "got %zu", name, text_len, s);
    nlp_tokenizer_free(tok);
    nlp_model_free(model);
    return NULL;
  }
  nlp_backbone *bb = g_new0(nlp_backbone, 1);
  bb->name = g_strdup(name);
  bb->path = g_strdup(path);
  bb->model = model;
  bb->tok = tok;
  bb->n_workers = threads > 0 ? threads : 1;
  bb->ctxs = g_new0(nlp_forward_ctx *, bb->n_workers);
  for (int i = 0; i < bb->n_workers; i++) bb->ctxs[i] = nlp_forward_ctx_new(model, 1);
  bb->window = window;
  bb->stride = s;
  bb->info.name = bb->name;
  bb->info.path = bb->path;
  bb->info.architecture = nlp_arch_name(cfg->arch);
  bb->info.hidden_size = cfg->hidden_size;
  bb->info.max_positions = window;
  char *config_file = g_build_filename(path, "config.json", NULL);
  bb->info.config = json_object_from_file(config_file);
  g_free(config_file);
  pass_init(&bb->docs);
  pass_init(&bb->pairs);
  bb->owners = g_ptr_array_new();
  bb->tensors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tensor_entry_free);
  bb->head_files =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)nlp_safetensors_free);
  return bb;
}

void nlp_backbone_free(nlp_backbone *bb) {
  if (!bb) return;
  pass_clear(&bb->docs);
  pass_clear(&bb->pairs);
  g_ptr_array_free(bb->owners, TRUE);
  g_hash_table_destroy(bb->tensors);
  g_hash_table_destroy(bb->head_files);
  json_object_put(bb->info.config);
  for (int i = 0; i < bb->n_workers; i++) nlp_forward_ctx_free(bb->ctxs[i]);
  g_free(bb->ctxs);
  nlp_tokenizer_free(bb->tok);
  nlp_model_free(bb->model);
  g_free(bb->name);
  g_free(bb->path);
  g_free(bb);
}

const nlp_model_info *nlp_backbone_info(const nlp_backbone *bb) { return &bb->info; }

void nlp_backbone_begin_batch(nlp_backbone *bb) { bb->docs_valid = FALSE; }

guint64 nlp_backbone_forward_count(const nlp_backbone *bb) { return bb ? bb->forwards : 0; }

/* Adds the windows of one tokenized input to the pass. */
static void add_windows(pass *p, nlp_encoding_list *list, size_t input, size_t hidden_size) {
  for (size_t w = 0; w < list->n; w++) {
    const nlp_encoding *e = &list->items[w];
    nlp_window win = {
        .doc = input,
        .index = w,
        .n_tokens = e->n,
        .ids = e->ids,
        .type_ids = e->type_ids,
        .word_ids = e->word_ids,
        .seq_ids = e->seq_ids,
        .offsets = e->offsets,
        .hidden = NULL,
        .hidden_size = hidden_size,
    };
    g_array_append_val(p->windows, win);
    g_array_append_val(p->lengths, e->n);
    g_array_append_vals(p->ids, e->ids, e->n);
    g_array_append_vals(p->type_ids, e->type_ids, e->n);
  }
}

/* A contiguous run of windows one worker encodes. */
typedef struct {
  const nlp_model *model;
  nlp_forward_ctx *ctx;
  nlp_forward_input in;
  float *hidden;
  GError *error;
} slice_job;

static gpointer run_slice(gpointer data) {
  slice_job *job = data;
  nlp_model_forward(job->model, job->ctx, &job->in, job->hidden, &job->error);
  return NULL;
}

/* Runs the encoder over every window of the pass, split into one slice of about
 * equal token count per worker (a window's result does not depend on the others
 * in its batch, so the split changes nothing but the time), and points each
 * window at its rows of the hidden state. */
static gboolean run_pass(nlp_backbone *bb, pass *p, GError **error) {
  size_t n_windows = p->windows->len;
  if (!n_windows) return TRUE;
  size_t total = p->ids->len, h = bb->info.hidden_size;
  if (total * h > p->hidden_cap) {
    g_free(p->hidden);
    p->hidden_cap = total * h;
    p->hidden = g_new(float, p->hidden_cap);
  }
  const size_t *lengths = (const size_t *)(void *)p->lengths->data;
  const int32_t *ids = (const int32_t *)(void *)p->ids->data;
  const int32_t *type_ids = (const int32_t *)(void *)p->type_ids->data;
  size_t workers = (size_t)bb->n_workers < n_windows ? (size_t)bb->n_workers : n_windows;
  slice_job jobs[workers];
  GThread *threads[workers];
  size_t w = 0, row = 0;
  for (size_t j = 0; j < workers; j++) {
    size_t first = w, first_row = row;
    size_t goal = total * (j + 1) / workers;
    while (w < n_windows && (row < goal || w == first) && n_windows - w > workers - j - 1) {
      row += lengths[w];
      w++;
    }
    if (j == workers - 1)
      for (; w < n_windows; w++) row += lengths[w];
    jobs[j] = (slice_job){
        .model = bb->model,
        .ctx = bb->ctxs[j],
        .in = {.n_seqs = w - first,
               .lengths = lengths + first,
               .ids = ids + first_row,
               .type_ids = type_ids + first_row},
        .hidden = p->hidden + first_row * h,
        .error = NULL,
    };
  }
  for (size_t j = 1; j < workers; j++) threads[j] = g_thread_new("nlpipe-encoder", run_slice, &jobs[j]);
  run_slice(&jobs[0]);
  for (size_t j = 1; j < workers; j++) g_thread_join(threads[j]);
  gboolean ok = TRUE;
  for (size_t j = 0; j < workers; j++) {
    if (jobs[j].error && ok) {
      g_propagate_error(error, jobs[j].error);
      ok = FALSE;
    } else {
      g_clear_error(&jobs[j].error);
    }
  }
  if (!ok) return FALSE;
  bb->forwards++;
  row = 0;
  for (size_t i = 0; i < n_windows; i++) {
    nlp_window *win = &g_array_index(p->windows, nlp_window, i);
    win->hidden = p->hidden + row * h;
    row += win->n_tokens;
  }
  return TRUE;
}

size_t nlp_backbone_batch_windows(nlp_backbone *bb, nlp_doc **docs, size_t n_docs,
                                  const nlp_window **windows, nlp_doc *const **owners) {
  pass *p = &bb->docs;
  if (!bb->docs_valid) {
    bb->docs_valid = TRUE;
    pass_reset(p);
    g_ptr_array_set_size(bb->owners, 0);
    for (size_t i = 0; i < n_docs; i++) g_ptr_array_add(bb->owners, docs[i]);
    nlp_encode_params params = nlp_encode_default_params();
    params.max_length = bb->window;
    params.stride = bb->stride;
    params.truncation = NLP_TRUNCATE_LONGEST_FIRST;
    for (size_t i = 0; i < n_docs; i++) {
      GError *err = NULL;
      nlp_encoding_list *list =
          nlp_tokenizer_encode(bb->tok, docs[i]->text, docs[i]->text_len, NULL, 0, &params, &err);
      if (!list) {
        nlp_doc_fail(docs[i], "tokenizer of models.%s: %s", bb->name, err->message);
        g_error_free(err);
      } else {
        add_windows(p, list, i, bb->info.hidden_size);
      }
      g_ptr_array_add(p->encodings, list);
    }
    GError *err = NULL;
    if (!run_pass(bb, p, &err)) {
      /* An encoder failure here is a bug or an input the tokenizer let through
       * (e.g. an id beyond the embedding table): the batch's documents fail. */
      for (size_t i = 0; i < n_docs; i++)
        nlp_doc_fail(docs[i], "encoder of models.%s: %s", bb->name, err->message);
      g_error_free(err);
      g_array_set_size(p->windows, 0);
    }
  }
  *windows = (const nlp_window *)(void *)p->windows->data;
  *owners = (nlp_doc *const *)bb->owners->pdata;
  return p->windows->len;
}

size_t nlp_backbone_encode_pairs(nlp_backbone *bb, const char *const *first,
                                 const char *const *second, size_t n_pairs,
                                 const nlp_pair_params *params, const nlp_window **windows,
                                 char **error) {
  pass *p = &bb->pairs;
  pass_reset(p);
  *windows = NULL;
  nlp_encode_params ep = nlp_encode_default_params();
  ep.max_length = params->max_length ? params->max_length : bb->window;
  if (ep.max_length > bb->window) ep.max_length = bb->window;
  ep.stride = params->stride;
  ep.truncation = params->truncate_first_only ? NLP_TRUNCATE_ONLY_FIRST : NLP_TRUNCATE_ONLY_SECOND;
  for (size_t i = 0; i < n_pairs; i++) {
    GError *err = NULL;
    nlp_encoding_list *list = nlp_tokenizer_encode(bb->tok, first[i], strlen(first[i]), second[i],
                                                   strlen(second[i]), &ep, &err);
    if (!list) {
      if (error) *error = g_strdup_printf("pair %zu: %s", i, err->message);
      g_error_free(err);
      return (size_t)-1;
    }
    add_windows(p, list, i, bb->info.hidden_size);
    g_ptr_array_add(p->encodings, list);
  }
  GError *err = NULL;
  if (!run_pass(bb, p, &err)) {
    if (error) *error = g_strdup(err->message);
    g_error_free(err);
    return (size_t)-1;
  }
  *windows = (const nlp_window *)(void *)p->windows->data;
  return p->windows->len;
}

/* A head folder's weights: the first of these files that exists. */
static const nlp_safetensors *head_file(nlp_backbone *bb, const char *head_dir) {
  if (g_hash_table_contains(bb->head_files, head_dir))
    return g_hash_table_lookup(bb->head_files, head_dir);
  nlp_safetensors *st = NULL;
  static const char *const names[] = {"head.safetensors", "model.safetensors"};
  for (size_t i = 0; i < G_N_ELEMENTS(names) && !st; i++) {
    char *f = g_build_filename(head_dir, names[i], NULL);
    if (g_file_test(f, G_FILE_TEST_EXISTS)) {
      GError *err = NULL;
      st = nlp_safetensors_open(f, &err);
      if (!st) {
        g_warning("%s", err->message);
        g_error_free(err);
      }
    }
    g_free(f);
  }
  g_hash_table_insert(bb->head_files, g_strdup(head_dir), st);
  return st;
}

static tensor_entry *entry_from_safetensors(const nlp_safetensors_entry *e) {
  if (e->ndim > 4) return NULL;
  tensor_entry *t = g_new0(tensor_entry, 1);
  t->view.ndim = (size_t)e->ndim;
  for (int d = 0; d < e->ndim; d++) t->view.shape[d] = (size_t)e->shape[d];
  if (e->dtype == NLP_DTYPE_F32 && ((uintptr_t)e->data % sizeof(float)) == 0) {
    t->view.data = e->data; /* in place, from the mapping */
  } else {
    t->owned = g_new(float, e->numel ? e->numel : 1);
    if (e->dtype == NLP_DTYPE_F32) memcpy(t->owned, e->data, e->nbytes);
    else if (e->dtype == NLP_DTYPE_F16) nlp_convert_f16_to_f32(e->data, t->owned, e->numel);
    else if (e->dtype == NLP_DTYPE_BF16) nlp_convert_bf16_to_f32(e->data, t->owned, e->numel);
    else {
      g_free(t->owned);
      g_free(t);
      return NULL;
    }
    t->view.data = t->owned;
  }
  return t;
}

const nlp_tensor_view *nlp_backbone_tensor(nlp_backbone *bb, const char *head_dir,
                                           const char *name) {
  char *key = g_strdup_printf("%s|%s", head_dir ? head_dir : "", name);
  tensor_entry *t = g_hash_table_lookup(bb->tensors, key);
  if (t) {
    g_free(key);
    return &t->view;
  }
  if (head_dir) {
    const nlp_safetensors *st = head_file(bb, head_dir);
    const nlp_safetensors_entry *e = st ? nlp_safetensors_find(st, name) : NULL;
    if (e) t = entry_from_safetensors(e);
  }
  if (!t) {
    const nlp_tensor *mt = nlp_model_find_tensor(bb->model, name);
    if (mt && mt->ndim <= 4) {
      t = g_new0(tensor_entry, 1);
      t->view.data = mt->data;
      t->view.ndim = (size_t)mt->ndim;
      for (int d = 0; d < mt->ndim; d++) t->view.shape[d] = (size_t)mt->shape[d];
    }
  }
  if (!t) {
    g_free(key);
    return NULL;
  }
  g_hash_table_insert(bb->tensors, key, t);
  return &t->view;
}

char *nlp_backbone_decode(nlp_backbone *bb, const int32_t *ids, size_t n, bool skip_special) {
  char *g = nlp_tokenizer_decode(bb->tok, ids, n, skip_special);
  char *out = strdup(g); /* plugins free() what the host hands them */
  g_free(g);
  return out;
}

char *nlp_backbone_decode_tokens(nlp_backbone *bb, const char *const *tokens, size_t n) {
  GPtrArray *toks = g_ptr_array_new_with_free_func(g_free);
  for (size_t i = 0; i < n; i++) g_ptr_array_add(toks, g_strdup(tokens[i] ? tokens[i] : ""));
  GString *r = g_string_new(NULL);
  if (bb->tok->decoder) {
    nlp_tk_decode_chain(bb->tok->decoder, toks);
    for (size_t i = 0; i < toks->len; i++) g_string_append(r, toks->pdata[i]);
  } else {
    for (size_t i = 0; i < toks->len; i++) {
      if (i) g_string_append_c(r, ' ');
      g_string_append(r, toks->pdata[i]);
    }
  }
  g_ptr_array_free(toks, TRUE);
  char *out = strdup(r->str); /* plugins free() what the host hands them */
  g_string_free(r, TRUE);
  return out;
}

const char *nlp_backbone_id_to_token(nlp_backbone *bb, int32_t id) {
  return nlp_tokenizer_id_to_token(bb->tok, id);
}

int32_t nlp_backbone_unk_id(nlp_backbone *bb) { return nlp_tokenizer_unk_id(bb->tok); }
