/* nlpipe/plugin.h — the plugin ABI: the only header a task plugin includes.
 *
 * A plugin is a shared object that exports one function,
 *
 *     const nlp_plugin_desc *nlp_plugin_get_descriptor(void);
 *
 * (write NLP_PLUGIN_DEFINE(my_desc) at the end of the file). The descriptor says who
 * the plugin is, which options it takes, what it requires and produces, and holds its
 * vtable. The plugin never links host internals: everything it needs from the host
 * (documents, results, tokenized windows, encoder states, head weights, logging)
 * comes through the nlp_host table passed to init() and create(), in the manner of
 * SQLite's sqlite3_api_routines.
 *
 * Stability rules (append-only, like GstPluginDesc and sqlite3_api_routines):
 *  - abi_version = (major << 16) | minor. The host refuses a plugin whose major
 *    differs from its own and prints both versions. Minor bumps only append fields.
 *  - struct_size lets either side see which trailing fields the other knows. New
 *    fields go at the end of nlp_plugin_desc and nlp_host, never in the middle.
 *  - Optional slots may be NULL.
 *
 * Memory: strings a plugin returns through `char **error` are malloc()ed by the
 * plugin and free()d by the host. json_object values handed to the host through
 * set_result are owned by the host afterwards (transfer full). Everything the host
 * hands out is borrowed and valid until process() returns, unless said otherwise.
 * Results use json-c (json-c/json.h) because output records are JSON. */
#ifndef NLPIPE_PLUGIN_H
#define NLPIPE_PLUGIN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NLP_PLUGIN_ABI_MAJOR 1u
#define NLP_PLUGIN_ABI_MINOR 3u
#define NLP_PLUGIN_ABI_VERSION ((NLP_PLUGIN_ABI_MAJOR << 16) | NLP_PLUGIN_ABI_MINOR)
#define NLP_PLUGIN_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define NLP_PLUGIN_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)

/* The one symbol the host looks up in a plugin. */
#define NLP_PLUGIN_DESCRIPTOR_SYMBOL "nlp_plugin_get_descriptor"

/* Status codes of the per-batch calls (GError-free hot path). */
typedef enum nlp_status {
  NLP_STATUS_OK = 0,
  NLP_STATUS_ABORTED = 1,
  NLP_STATUS_FAILED = -1,
  NLP_STATUS_OOM = -2,
} nlp_status;

/* ---- options ------------------------------------------------------------------ */

typedef enum nlp_option_type {
  NLP_OPTION_BOOL,
  NLP_OPTION_INT,
  NLP_OPTION_FLOAT,
  NLP_OPTION_STRING,
  NLP_OPTION_ENUM,        /* a string from `choices` */
  NLP_OPTION_PATH,        /* a string naming a file or folder; relative to the pipeline file */
  NLP_OPTION_STRING_LIST, /* an array of strings */
} nlp_option_type;

enum nlp_option_flags {
  NLP_OPTION_HAS_MIN = 1u << 0,  /* INT/FLOAT: value >= min */
  NLP_OPTION_HAS_MAX = 1u << 1,  /* INT/FLOAT: value <= max */
  NLP_OPTION_REQUIRED = 1u << 2, /* no default: the pipeline must give it */
  NLP_OPTION_NULLABLE = 1u << 3, /* JSON null is accepted (means "unset") */
};

typedef struct nlp_option_spec {
  const char *name;
  nlp_option_type type;
  uint32_t flags;             /* nlp_option_flags */
  const char *default_json;   /* default as JSON text, e.g. "1", "\"simple\"", "null" */
  const char *description;    /* one line, for `nlpipe inspect` */
  double min, max;            /* bounds, when flagged */
  const char *const *choices; /* ENUM: NULL-terminated list */
} nlp_option_spec;

/* ---- what the host hands to a plugin --------------------------------------------- */

typedef struct nlp_batch nlp_batch; /* opaque: the documents of one batch */
typedef struct nlp_model nlp_model; /* opaque: a backbone opened by the host */

typedef enum nlp_log_level {
  NLP_LOG_ERROR,
  NLP_LOG_WARNING,
  NLP_LOG_INFO,
  NLP_LOG_DEBUG,
} nlp_log_level;

/* One tokenized window of a document (or of a question+context pair) together with
 * the encoder's last hidden state for it. Offsets are Unicode code points into the
 * original text of the sequence the token came from; special tokens have
 * word_id = -1, seq_id = -1 and offsets [0, 0]. */
typedef struct nlp_window {
  size_t doc;          /* index of the document in the batch */
  size_t index;        /* 0 for the first window of that document, then 1, 2, ... */
  size_t n_tokens;
  const int32_t *ids;
  const int32_t *type_ids;
  const int32_t *word_ids; /* word index within its sequence, -1 for special tokens */
  const int32_t *seq_ids;  /* 0 first text, 1 second text (pair), -1 special */
  const int32_t *offsets;  /* 2 * n_tokens: [start, end) code points */
  const float *hidden;     /* n_tokens x hidden_size, row-major; NULL if not computed */
  size_t hidden_size;
} nlp_window;

/* Facts about the backbone a step runs on. */
typedef struct nlp_model_info {
  const char *name;          /* the pipeline's name for it */
  const char *path;          /* its folder */
  const char *architecture;  /* "bert", "distilbert", "roberta", ... */
  size_t hidden_size;
  size_t max_positions;      /* longest window the encoder takes, special tokens included */
  struct json_object *config; /* config.json as parsed (id2label, problem_type, ...) */
} nlp_model_info;

/* Parameters for an extra encoder pass over text pairs (extractive QA). */
typedef struct nlp_pair_params {
  size_t max_length;  /* tokens per window, special tokens included */
  size_t stride;      /* tokens of overlap between consecutive windows of `second` */
  bool truncate_first_only; /* false: only the second text is windowed (QA) */
} nlp_pair_params;

/* A borrowed view of a tensor stored with the model or a head folder, converted to
 * f32 once and cached by the host. */
typedef struct nlp_tensor_view {
  const float *data;
  size_t ndim;
  size_t shape[4];
} nlp_tensor_view;

/* The host-services table. Append-only; check `struct_size` before using a field
 * added after ABI 1.0. */
typedef struct nlp_host {
  uint32_t abi_version;
  uint32_t struct_size;

  void (*log)(nlp_log_level level, const char *plugin, const char *fmt, ...)
      __attribute__((format(printf, 3, 4)));

  /* Documents of a batch. Texts are valid UTF-8 (the host rejects the rest). */
  size_t (*batch_size)(const nlp_batch *batch);
  const char *(*doc_text)(const nlp_batch *batch, size_t doc, size_t *len_bytes);
  /* The whole input record (an object; "text" holds the text). Borrowed. */
  struct json_object *(*doc_record)(const nlp_batch *batch, size_t doc);
  /* The result an earlier step stored under `step`, or NULL. Borrowed. */
  struct json_object *(*doc_result)(const nlp_batch *batch, size_t doc, const char *step);
  /* Stores this step's result for a document (transfer full; replaces an earlier one). */
  void (*set_result)(nlp_batch *batch, size_t doc, struct json_object *value);
  /* Marks one document as failed with a message (copied); other documents go on. */
  void (*set_error)(nlp_batch *batch, size_t doc, const char *message);

  /* Encoder services, for steps that declare "encoder" in `requires`. */
  const nlp_model_info *(*model_info)(const nlp_model *model);
  /* The windows of every document from the batch's shared forward pass (computed
   * once per batch and backbone, whatever the number of steps on it). */
  size_t (*batch_windows)(nlp_batch *batch, const nlp_window **windows);
  /* An extra forward pass over (first[i], second[i]) pairs, windowed over the second
   * text. Returns the number of windows written to *windows (borrowed until
   * process() returns), or (size_t)-1 with *error set. window.doc = pair index. */
  size_t (*encode_pairs)(nlp_batch *batch, const char *const *first,
                         const char *const *second, size_t n_pairs,
                         const nlp_pair_params *params, const nlp_window **windows,
                         char **error);
  /* A tensor by Hugging Face name ("classifier.weight") from the step's model, or
   * from its `head` folder when the step has one. NULL if absent. */
  const nlp_tensor_view *(*tensor)(nlp_batch *batch, const char *name);
  /* y[n x out] = x[n x in] * W^T + b, with W stored [out x in] as in PyTorch. b may
   * be NULL. Runs on the host's BLAS with the process thread budget. */
  void (*linear)(const float *x, size_t n, size_t in, const float *w, const float *b,
                 size_t out, float *y);
  /* Text of token ids (generation, display); malloc()ed, caller frees. */
  char *(*decode)(nlp_batch *batch, const int32_t *ids, size_t n, bool skip_special);

  /* ---- ABI 1.1 (check struct_size) ---- */
  /* The vocabulary string of a token id (borrowed, for the process' lifetime), or NULL
   * when out of range. HF convert_ids_to_tokens. */
  const char *(*id_to_token)(nlp_batch *batch, int32_t id);
  /* Token strings back to text through the tokenizer's decoder, HF
   * convert_tokens_to_string (the strings need not be in the vocabulary: NER joins
   * words this way). malloc()ed, caller frees. */
  char *(*decode_tokens)(nlp_batch *batch, const char *const *tokens, size_t n);
  /* The unknown token's id, or -1 when the tokenizer has none. */
  int32_t (*unk_id)(nlp_batch *batch);

  /* ---- ABI 1.2 (check struct_size) ---- */
  /* Viterbi decoding of a linear-chain CRF (pytorch-crf's parameters): writes to
   * PATH[0..n) the tags y maximising start[y0] + sum_t emissions[t][yt]
   * + sum_{t>0} transitions[y(t-1)][yt] + end[y(n-1)]. EMISSIONS n x n_tags row-major,
   * TRANSITIONS n_tags x n_tags (row = from, column = to), START and END n_tags. The
   * same code `nlpipe train` / `nlpipe eval` decode CRF heads with (ties: lowest tag). */
  void (*crf_viterbi)(const float *emissions, size_t n, size_t n_tags, const float *transitions,
                      const float *start, const float *end, int32_t *path);

  /* ---- ABI 1.3 (check struct_size) ---- */
  /* Sentences of TEXT[0..n) (Unicode code points): returns how many and writes sentence
   * i's [start, end) code-point range to BOUNDS[2i], BOUNDS[2i + 1], in order (room for
   * 2 x n entries). The rules `nlpipe train` / `nlpipe eval` split documents with: a run
   * of . ! ? … (and closing quotes / brackets) ends a sentence when whitespace and a
   * sentence-like start follow, except after an abbreviation or an initial; a blank
   * line always ends one. */
  size_t (*split_sentences)(const uint32_t *text, size_t n, size_t *bounds);
} nlp_host;

/* What create() learns about its step. */
typedef struct nlp_step_info {
  const char *name;                 /* the step's name: the output key */
  struct json_object *options;      /* validated, defaults filled in; borrowed */
  const nlp_model *model;           /* NULL when the step has no model */
  const char *pipeline_dir;         /* folder of the pipeline file (relative paths) */
  /* The step's "head" folder (absolute), or NULL: a task head trained on a shared
   * backbone (head.safetensors + head.json, written by `nlpipe train`). Its
   * tensors are found through nlp_host.tensor before the model's own. */
  const char *head_dir;
} nlp_step_info;

/* Optional training hooks (nlpipe train). Reserved in ABI 1.0: NULL for now. */
typedef struct nlp_train_iface nlp_train_iface;

typedef struct nlp_plugin_desc {
  uint32_t abi_version; /* NLP_PLUGIN_ABI_VERSION the plugin was built against */
  uint32_t struct_size; /* sizeof(nlp_plugin_desc) as the plugin saw it */

  const char *name;        /* unique, lowercase-dash: "entity-ruler" */
  const char *version;     /* the plugin's own version, "1.0.0" */
  const char *license;     /* SPDX id */
  const char *task;        /* "ner", "text-classification", ... */
  const char *description; /* a paragraph for `nlpipe inspect` */

  const nlp_option_spec *options; /* n_options entries */
  size_t n_options;
  /* NULL-terminated feature names. Host-provided: "text" (every record), "encoder"
   * (the step names a model; the host runs it). Others are produced by steps. */
  const char *const *requires;
  const char *const *produces;

  /* Once per process after loading; optional. Non-OK refuses the plugin. */
  nlp_status (*init)(const nlp_host *host, char **error);
  /* Cross-option checks at validation time, before any weights load (optional).
   * On failure set *path to the offending option name (e.g. "stride") and *error to
   * what was expected; both malloc()ed. */
  nlp_status (*validate)(struct json_object *options, char **path, char **error);
  /* Builds the step's state; may load head weights. */
  nlp_status (*create)(const nlp_host *host, const nlp_step_info *step, void **state,
                       char **error);
  /* Processes one batch: reads documents, stores one result per document or marks
   * it failed. Return non-OK only when the whole batch is lost. */
  nlp_status (*process)(void *state, nlp_batch *batch);
  void (*destroy)(void *state);

  const nlp_train_iface *train; /* optional, NULL */
  void *reserved[8];            /* keeps room for appended slots; must be NULL */
} nlp_plugin_desc;

#if defined(__GNUC__)
#define NLP_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define NLP_PLUGIN_EXPORT
#endif

typedef const nlp_plugin_desc *(*nlp_plugin_get_descriptor_fn)(void);

/* Emits the exported entry point for a plugin's static descriptor. */
#define NLP_PLUGIN_DEFINE(desc)                                                   \
  NLP_PLUGIN_EXPORT const nlp_plugin_desc *nlp_plugin_get_descriptor(void);       \
  NLP_PLUGIN_EXPORT const nlp_plugin_desc *nlp_plugin_get_descriptor(void) {      \
    return &(desc);                                                               \
  }

#ifdef __cplusplus
}
#endif
#endif
