/* config.c — config.json to nlp_model_config, refusing what we cannot run. */
#include "model/config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

const char *nlp_arch_name(nlp_arch arch) {
  switch (arch) {
  case NLP_ARCH_BERT: return "bert";
  case NLP_ARCH_ROBERTA: return "roberta";
  case NLP_ARCH_DISTILBERT: return "distilbert";
  case NLP_ARCH_ELECTRA: return "electra";
  }
  return "?";
}

void nlp_model_config_free(nlp_model_config *cfg) {
  if (!cfg) return;
  g_free(cfg->model_type);
  g_free(cfg->architecture);
  if (cfg->labels) g_strfreev(cfg->labels);
  g_free(cfg->id2label_json);
  g_free(cfg->problem_type);
  g_free(cfg);
}

static json_object *get(json_object *o, const char *key) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* Reads a positive integer KEY (or one of its aliases) into *OUT; absent keeps DEF. */
static bool get_size(json_object *root, const char *path, const char *key, const char *alias,
                     size_t def, bool required, size_t *out, GError **error) {
  json_object *v = get(root, key);
  if (!v && alias && (v = get(root, alias)) != NULL) key = alias;
  if (!v || json_object_is_type(v, json_type_null)) {
    if (required) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: missing required key '%s'", path, key);
      return false;
    }
    *out = def;
    return true;
  }
  if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0 ||
      json_object_get_int64(v) > (1 << 30)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: '%s' must be a positive integer", path,
                key);
    return false;
  }
  *out = (size_t)json_object_get_int64(v);
  return true;
}

static bool parse_activation(const char *path, const char *key, const char *s,
                             nlp_activation *out, GError **error) {
  if (!strcmp(s, "gelu")) *out = NLP_ACT_GELU;
  else if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast"))
    *out = NLP_ACT_GELU_TANH;
  else if (!strcmp(s, "relu")) *out = NLP_ACT_RELU;
  else {
    g_set_error(error, NLP_ERROR, NLP_ERROR_UNSUPPORTED,
                "%s: %s '%s' is not supported (expected gelu, gelu_new, gelu_pytorch_tanh or relu)",
                path, key, s);
    return false;
  }
  return true;
}

nlp_model_config *nlp_model_config_load(const char *path, GError **error) {
  gchar *text = NULL;
  gsize len = 0;
  GError *ioerr = NULL;
  if (!g_file_get_contents(path, &text, &len, &ioerr)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: %s", path, ioerr->message);
    g_error_free(ioerr);
    return NULL;
  }
  json_tokener *tok = json_tokener_new();
  json_object *root = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  g_free(text);
  nlp_model_config *c = g_new0(nlp_model_config, 1);
  if (!root || jerr != json_tokener_success || !json_object_is_type(root, json_type_object)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_PARSE, "%s: not a JSON object (%s)", path,
                jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "wrong type");
    goto fail;
  }
  json_object *mt = get(root, "model_type");
  if (!mt || !json_object_is_type(mt, json_type_string)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: missing string key 'model_type'", path);
    goto fail;
  }
  c->model_type = g_strdup(json_object_get_string(mt));
  const char *family;
  if (!strcmp(c->model_type, "bert")) c->arch = NLP_ARCH_BERT, family = "Bert";
  else if (!strcmp(c->model_type, "roberta")) c->arch = NLP_ARCH_ROBERTA, family = "Roberta";
  else if (!strcmp(c->model_type, "xlm-roberta")) c->arch = NLP_ARCH_ROBERTA, family = "XLMRoberta";
  else if (!strcmp(c->model_type, "camembert")) c->arch = NLP_ARCH_ROBERTA, family = "Camembert";
  else if (!strcmp(c->model_type, "distilbert")) c->arch = NLP_ARCH_DISTILBERT, family = "DistilBert";
  else if (!strcmp(c->model_type, "electra")) c->arch = NLP_ARCH_ELECTRA, family = "Electra";
  else {
    g_set_error(error, NLP_ERROR, NLP_ERROR_UNSUPPORTED,
                "%s: model_type '%s' is not supported (expected bert, roberta, xlm-roberta, "
                "camembert, distilbert or electra)", path, c->model_type);
    goto fail;
  }
  json_object *archs = get(root, "architectures");
  if (archs && json_object_is_type(archs, json_type_array) && json_object_array_length(archs) > 0)
    c->architecture = g_strdup(json_object_get_string(json_object_array_get_idx(archs, 0)));
  else
    c->architecture = g_strdup_printf("%sModel", family);
  if (g_str_has_suffix(c->architecture, "ForSequenceClassification"))
    c->head = NLP_HEAD_SEQUENCE_CLASSIFICATION;
  else if (g_str_has_suffix(c->architecture, "ForTokenClassification"))
    c->head = NLP_HEAD_TOKEN_CLASSIFICATION;
  else if (g_str_has_suffix(c->architecture, "ForQuestionAnswering"))
    c->head = NLP_HEAD_QUESTION_ANSWERING;
  else
    c->head = NLP_HEAD_NONE;
  if (c->head != NLP_HEAD_NONE && !g_str_has_prefix(c->architecture, family)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_UNSUPPORTED,
                "%s: architectures[0] '%s' does not belong to model_type '%s'", path,
                c->architecture, c->model_type);
    goto fail;
  }

  bool distil = c->arch == NLP_ARCH_DISTILBERT;
  /* DistilBERT names its sizes dim / n_layers / n_heads / hidden_dim */
  if (!get_size(root, path, distil ? "dim" : "hidden_size", NULL, 0, true, &c->hidden_size, error) ||
      !get_size(root, path, distil ? "n_layers" : "num_hidden_layers", NULL, 0, true,
                &c->num_layers, error) ||
      !get_size(root, path, distil ? "n_heads" : "num_attention_heads", NULL, 0, true,
                &c->num_heads, error) ||
      !get_size(root, path, distil ? "hidden_dim" : "intermediate_size", NULL, 0, true,
                &c->intermediate_size, error) ||
      !get_size(root, path, "vocab_size", NULL, 0, true, &c->vocab_size, error) ||
      !get_size(root, path, "max_position_embeddings", NULL, 512, false, &c->max_positions, error) ||
      !get_size(root, path, "type_vocab_size", NULL, distil ? 1 : 2, false, &c->type_vocab_size,
                error) ||
      !get_size(root, path, "embedding_size", NULL, c->hidden_size, false, &c->embedding_size,
                error))
    goto fail;
  if (c->hidden_size % c->num_heads) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                "%s: hidden size %zu is not a multiple of the %zu attention heads", path,
                c->hidden_size, c->num_heads);
    goto fail;
  }
  if (c->arch != NLP_ARCH_ELECTRA) c->embedding_size = c->hidden_size;

  json_object *pad = get(root, "pad_token_id");
  c->pad_token_id = pad && json_object_is_type(pad, json_type_int) ? json_object_get_int(pad)
                    : (c->arch == NLP_ARCH_ROBERTA ? 1 : 0);
  c->position_offset = c->arch == NLP_ARCH_ROBERTA ? c->pad_token_id + 1 : 0;

  json_object *eps = get(root, "layer_norm_eps");
  c->layer_norm_eps = eps ? (float)json_object_get_double(eps) : 1e-12f;
  if (distil) c->layer_norm_eps = 1e-12f; /* hard-coded in HF's DistilBERT */

  const char *act_key = distil ? "activation" : "hidden_act";
  json_object *act = get(root, act_key);
  c->hidden_act = NLP_ACT_GELU;
  if (act && !json_object_is_type(act, json_type_string)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: '%s' must be a string", path, act_key);
    goto fail;
  }
  if (act && !parse_activation(path, act_key, json_object_get_string(act), &c->hidden_act, error))
    goto fail;

  json_object *pe = get(root, "position_embedding_type");
  if (pe && json_object_is_type(pe, json_type_string) &&
      strcmp(json_object_get_string(pe), "absolute")) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_UNSUPPORTED,
                "%s: position_embedding_type '%s' is not supported (only 'absolute')", path,
                json_object_get_string(pe));
    goto fail;
  }
  json_object *dec = get(root, "is_decoder");
  json_object *cross = get(root, "add_cross_attention");
  if ((dec && json_object_get_boolean(dec)) || (cross && json_object_get_boolean(cross))) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_UNSUPPORTED,
                "%s: is_decoder / add_cross_attention is not supported (encoders only)", path);
    goto fail;
  }

  json_object *pt = get(root, "problem_type");
  if (pt && json_object_is_type(pt, json_type_string))
    c->problem_type = g_strdup(json_object_get_string(pt));
  json_object *id2label = get(root, "id2label");
  size_t nl = 0;
  if (id2label && json_object_is_type(id2label, json_type_object)) {
    c->id2label_json = g_strdup(json_object_to_json_string_ext(id2label, JSON_C_TO_STRING_PLAIN));
    nl = (size_t)json_object_object_length(id2label);
  }
  size_t given = 0;
  if (!get_size(root, path, "num_labels", NULL, 0, false, &given, error)) goto fail;
  c->num_labels = nl ? nl : (given ? given : 2);
  c->labels = g_new0(char *, c->num_labels + 1);
  for (size_t i = 0; i < c->num_labels; i++) {
    char key[32];
    snprintf(key, sizeof key, "%zu", i);
    json_object *l = id2label ? get(id2label, key) : NULL;
    c->labels[i] = l && json_object_is_type(l, json_type_string)
                       ? g_strdup(json_object_get_string(l)) : g_strdup_printf("LABEL_%zu", i);
  }
  json_object_put(root);
  return c;
fail:
  if (root) json_object_put(root);
  nlp_model_config_free(c);
  return NULL;
}
