/* plugin.c — the `summarization` plugin, extractive mode: the text's sentences (the
 * host's split_sentences, ABI 1.3, so the ones `nlpipe train` and `nlpipe eval` cut)
 * scored from the encoder states of the shared forward pass, the best ones returned in
 * their original order. No second model and no extra pass.
 *
 * Sentence vector: the mean of the last hidden states of the sentence's tokens (a
 * token belongs to the sentence holding its first code point; a token seen in two
 * overlapping windows counts once, from the earlier window). Score:
 *  - "centroid" (default): cosine similarity between the sentence vector and the
 *    document centroid (mean of all its token states);
 *  - "head": sigmoid(scorer.weight . v + scorer.bias), with scorer.weight [1 x H] and
 *    scorer.bias [1] from the step's head folder (head.safetensors; head.json
 *    {"task": "summarization"}), used by default ("auto") when present.
 * Result: {"summary_text": the chosen sentences joined by one space,
 *          "sentences": [{"start","end","score"}, ...]} (code points, original order).
 * Options: num_sentences (how many to keep), ratio (keep ceil(ratio x sentences)
 * instead), scorer, mode ("extractive"; "abstractive" comes with the generation work
 * and is refused at validation for now). */
#include <glib.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nlpipe/plugin.h"

static const char *const modes[] = {"extractive", "abstractive", NULL};
static const char *const scorers[] = {"auto", "centroid", "head", NULL};

static const nlp_option_spec options[] = {
    {"mode", NLP_OPTION_ENUM, 0, "\"extractive\"",
     "extractive: pick sentences of the text (abstractive is not available yet)", 0, 0, modes},
    {"num_sentences", NLP_OPTION_INT, NLP_OPTION_HAS_MIN, "3", "how many sentences to keep", 1, 0,
     NULL},
    {"ratio", NLP_OPTION_FLOAT, NLP_OPTION_HAS_MIN | NLP_OPTION_HAS_MAX | NLP_OPTION_NULLABLE, "null",
     "keep ceil(ratio x the number of sentences) instead of num_sentences (0 < ratio <= 1)", 0, 1,
     NULL},
    {"scorer", NLP_OPTION_ENUM, 0, "\"auto\"",
     "centroid similarity, the head folder's scorer.weight/bias, or auto (head when present)", 0, 0,
     scorers},
};
static const char *const requires_[] = {"text", "encoder", NULL};
static const char *const produces[] = {"summary", NULL};

typedef struct {
  const nlp_host *host;
  char *step;
  long num_sentences;
  double ratio; /* 0: unset */
  int scorer;   /* 0 auto, 1 centroid, 2 head */
} state;

static nlp_status validate(struct json_object *opts, char **path, char **error) {
  struct json_object *v = NULL;
  if (json_object_object_get_ex(opts, "mode", &v) && !strcmp(json_object_get_string(v), "abstractive")) {
    *path = strdup("mode");
    *error = strdup("\"abstractive\" needs an encoder-decoder model and generation, not available "
                    "yet; expected \"extractive\"");
    return NLP_STATUS_FAILED;
  }
  if (json_object_object_get_ex(opts, "ratio", &v) && v && json_object_get_double(v) <= 0) {
    *path = strdup("ratio");
    *error = strdup("expected a number in (0, 1] or null");
    return NLP_STATUS_FAILED;
  }
  return NLP_STATUS_OK;
}

static nlp_status create(const nlp_host *host, const nlp_step_info *step, void **out, char **error) {
  if (!step->model) {
    *error = strdup("summarization needs a model (\"model\": a name from \"models\")");
    return NLP_STATUS_FAILED;
  }
  if (host->struct_size < offsetof(nlp_host, split_sentences) + sizeof(host->split_sentences) ||
      !host->split_sentences) {
    char msg[128];
    snprintf(msg, sizeof msg, "summarization needs the host's split_sentences (plugin ABI %u.3); this host is ABI %u.%u",
             NLP_PLUGIN_ABI_MAJOR, NLP_PLUGIN_ABI_MAJOR_OF(host->abi_version), NLP_PLUGIN_ABI_MINOR_OF(host->abi_version));
    *error = strdup(msg);
    return NLP_STATUS_FAILED;
  }
  state *st = calloc(1, sizeof *st);
  st->host = host;
  st->step = strdup(step->name);
  struct json_object *v = NULL;
  st->num_sentences = json_object_object_get_ex(step->options, "num_sentences", &v) ? (long)json_object_get_int64(v) : 3;
  if (json_object_object_get_ex(step->options, "ratio", &v) && v) st->ratio = json_object_get_double(v);
  if (json_object_object_get_ex(step->options, "scorer", &v)) {
    const char *s = json_object_get_string(v);
    st->scorer = !strcmp(s, "centroid") ? 1 : !strcmp(s, "head") ? 2 : 0;
  }
  *out = st;
  return NLP_STATUS_OK;
}

/* The scorer head, or NULL (w, b set) */
static bool scorer_head(state *st, nlp_batch *batch, size_t H, const float **w, float *b) {
  const nlp_tensor_view *tw = st->host->tensor(batch, "scorer.weight");
  const nlp_tensor_view *tb = st->host->tensor(batch, "scorer.bias");
  if (!tw || !(tw->ndim == 2 ? tw->shape[0] == 1 && tw->shape[1] == H : tw->ndim == 1 && tw->shape[0] == H))
    return false;
  *w = tw->data;
  *b = tb && tb->ndim >= 1 && tb->shape[0] == 1 ? tb->data[0] : 0.0f;
  return true;
}

static double cosine(const double *a, const double *b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; i++) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

static void summarize(state *st, nlp_batch *batch, size_t d, const nlp_window *const *wins, size_t nw,
                      const float *head_w, float head_b) {
  size_t len = 0;
  const char *text = st->host->doc_text(batch, d, &len);
  glong n_cp = 0;
  gunichar *cp = g_utf8_to_ucs4_fast(text, (glong)len, &n_cp);
  size_t *sents = malloc((2 * (size_t)n_cp + 2) * sizeof(size_t));
  size_t ns = st->host->split_sentences(cp, (size_t)n_cp, sents);
  size_t H = nw ? wins[0]->hidden_size : 0;
  double *vec = calloc(ns * H + 1, sizeof(double)), *centroid = calloc(H + 1, sizeof(double));
  size_t *count = calloc(ns + 1, sizeof(size_t)), total = 0;
  /* Tokens in order; overlap of consecutive windows counted once. */
  size_t covered = 0;
  for (size_t w = 0; w < nw; w++) {
    const nlp_window *win = wins[w];
    size_t s = 0, reach = covered;
    for (size_t t = 0; t < win->n_tokens; t++) {
      if (win->seq_ids[t] < 0) continue;
      size_t start = (size_t)win->offsets[2 * t], end = (size_t)win->offsets[2 * t + 1];
      if (start < covered || end <= start) continue;
      if (end > reach) reach = end;
      while (s < ns && sents[2 * s + 1] <= start) s++;
      const float *h = win->hidden + t * H;
      for (size_t k = 0; k < H; k++) centroid[k] += h[k];
      total++;
      if (s < ns && sents[2 * s] <= start) {
        for (size_t k = 0; k < H; k++) vec[s * H + k] += h[k];
        count[s]++;
      }
    }
    covered = reach;
  }
  double *score = calloc(ns + 1, sizeof(double));
  for (size_t s = 0; s < ns; s++) {
    if (!count[s]) continue;
    for (size_t k = 0; k < H; k++) vec[s * H + k] /= (double)count[s];
    if (head_w) {
      double z = head_b;
      for (size_t k = 0; k < H; k++) z += head_w[k] * vec[s * H + k];
      score[s] = 1.0 / (1.0 + exp(-z));
    } else {
      score[s] = cosine(vec + s * H, centroid, H); /* the centroid's scale does not matter */
    }
  }
  (void)total;
  size_t keep = st->ratio > 0 ? (size_t)ceil(st->ratio * (double)ns) : (size_t)st->num_sentences;
  /* rank sentences that have tokens: score descending, earlier first on ties */
  size_t *order = malloc((ns + 1) * sizeof(size_t)), nr = 0;
  for (size_t s = 0; s < ns; s++) {
    if (!count[s]) continue;
    size_t j = nr++;
    while (j > 0 && score[order[j - 1]] < score[s]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = s;
  }
  if (keep > nr) keep = nr;
  bool *chosen = calloc(ns + 1, sizeof(bool));
  for (size_t i = 0; i < keep; i++) chosen[order[i]] = true;
  GString *summary = g_string_new(NULL);
  struct json_object *list = json_object_new_array();
  for (size_t s = 0; s < ns; s++) {
    if (!chosen[s]) continue;
    size_t a = sents[2 * s], e = sents[2 * s + 1];
    char *piece = g_ucs4_to_utf8(cp + a, (glong)(e - a), NULL, NULL, NULL);
    g_string_append_printf(summary, "%s%s", summary->len ? " " : "", piece ? piece : "");
    g_free(piece);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "start", json_object_new_int64((int64_t)a));
    json_object_object_add(o, "end", json_object_new_int64((int64_t)e));
    json_object_object_add(o, "score", json_object_new_double(score[s]));
    json_object_array_add(list, o);
  }
  struct json_object *res = json_object_new_object();
  json_object_object_add(res, "summary_text", json_object_new_string(summary->str));
  json_object_object_add(res, "sentences", list);
  st->host->set_result(batch, d, res);
  g_string_free(summary, TRUE);
  free(chosen);
  free(order);
  free(score);
  free(count);
  free(centroid);
  free(vec);
  free(sents);
  g_free(cp);
}

static nlp_status process(void *p, nlp_batch *batch) {
  state *st = p;
  const nlp_host *host = st->host;
  size_t n = host->batch_size(batch);
  const nlp_window *w = NULL;
  size_t nw = host->batch_windows(batch, &w);
  const float *head_w = NULL;
  float head_b = 0;
  if (nw && st->scorer != 1 && !scorer_head(st, batch, w[0].hidden_size, &head_w, &head_b) &&
      st->scorer == 2) {
    for (size_t d = 0; d < n; d++)
      host->set_error(batch, d, "scorer \"head\": no scorer.weight [1 x hidden] in the head folder");
    return NLP_STATUS_OK;
  }
  const nlp_window **mine = malloc((nw + 1) * sizeof *mine);
  size_t i = 0;
  for (size_t d = 0; d < n; d++) {
    size_t k = 0;
    while (i < nw && w[i].doc < d) i++;
    while (i < nw && w[i].doc == d) {
      if (w[i].hidden) mine[k++] = &w[i];
      i++;
    }
    if (!k) continue; /* failed upstream (tokenizer or encoder): already marked */
    summarize(st, batch, d, mine, k, head_w, head_b);
  }
  free(mine);
  return NLP_STATUS_OK;
}

static void destroy(void *p) {
  state *st = p;
  if (!st) return;
  free(st->step);
  free(st);
}

static const nlp_plugin_desc desc = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = "summarization",
    .version = "1.0.0",
    .license = "MIT",
    .task = "summarization",
    .description =
        "Extractive summarization on the shared encoder pass: sentences scored by similarity "
        "to the document centroid (or a trained scorer head), the best returned in order as "
        "{\"summary_text\", \"sentences\": [{\"start\",\"end\",\"score\"}]}.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .requires = requires_,
    .produces = produces,
    .validate = validate,
    .create = create,
    .process = process,
    .destroy = destroy,
};
NLP_PLUGIN_DEFINE(desc)
