/* cmd-tokenize.c — `nlpipe tokenize PATH`: tokenizes text lines (or JSONL records with
 * "text" and optional "text_pair") from stdin with a model's tokenizer and writes one
 * JSON line per input. A bad record (invalid UTF-8, impossible truncation) gives an
 * {"error": ...} line and the run goes on; the exit status is then 1. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: nlpipe tokenize PATH [--jsonl] [--no-special] [--max-length N [--stride N]]\n"
          "                       [--truncation longest_first|only_first|only_second] [--pad-to N] [--quiet]\n\n"
          "PATH is a model folder or a tokenizer file (tokenizer.json, vocab.txt, vocab.json, *.model).\n"
          "Reads text lines on stdin (or with --jsonl records {\"text\": ..., \"text_pair\": ...}) and writes\n"
          "one JSON line per input: {\"ids\",\"tokens\",\"offsets\",\"type_ids\",\"word_ids\"}, offsets in code\n"
          "points; a list of such objects when --max-length makes the input overflow into windows.\n"
          "  --no-special      do not add the template's special tokens ([CLS], [SEP], ...)\n"
          "  --max-length N    windows of at most N tokens (special tokens included)\n"
          "  --stride N        consecutive windows overlap by N tokens\n"
          "  --quiet           no per-line output; a summary JSON line (bytes, tokens, MB/s) on stderr\n");
}

static bool parse_size(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-') return false;
  *out = (size_t)v;
  return true;
}

static void json_str(GString *o, const char *s) {
  json_object *j = json_object_new_string(s);
  g_string_append(o, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(j);
}

/* same text as printf("%d") */
static void put_int(GString *o, int32_t v) {
  char b[12], *p = b + sizeof b;
  uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
  do *--p = (char)('0' + u % 10); while (u /= 10);
  if (v < 0) *--p = '-';
  g_string_append_len(o, p, (gssize)(b + sizeof b - p));
}

/* a token needing no escape is copied as is; anything else goes through json-c */
static void json_tok(GString *o, const char *s) {
  size_t n = 0;
  for (; s[n]; n++) {
    uint8_t c = (uint8_t)s[n];
    if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f) {
      json_str(o, s);
      return;
    }
  }
  g_string_append_c(o, '"');
  g_string_append_len(o, s, (gssize)n);
  g_string_append_c(o, '"');
}

static void write_encoding(GString *o, const nlp_encoding *e) {
  g_string_append(o, "{\"ids\":[");
  for (size_t i = 0; i < e->n; i++) {
    if (i) g_string_append_c(o, ',');
    put_int(o, e->ids[i]);
  }
  g_string_append(o, "],\"tokens\":[");
  for (size_t i = 0; i < e->n; i++) {
    if (i) g_string_append_c(o, ',');
    json_tok(o, e->tokens[i]);
  }
  g_string_append(o, "],\"offsets\":[");
  for (size_t i = 0; i < e->n; i++) {
    g_string_append(o, i ? ",[" : "[");
    put_int(o, e->offsets[2 * i]);
    g_string_append_c(o, ',');
    put_int(o, e->offsets[2 * i + 1]);
    g_string_append_c(o, ']');
  }
  g_string_append(o, "],\"type_ids\":[");
  for (size_t i = 0; i < e->n; i++) {
    if (i) g_string_append_c(o, ',');
    put_int(o, e->type_ids[i]);
  }
  g_string_append(o, "],\"word_ids\":[");
  for (size_t i = 0; i < e->n; i++) {
    if (i) g_string_append_c(o, ',');
    if (e->word_ids[i] < 0) g_string_append(o, "null");
    else put_int(o, e->word_ids[i]);
  }
  g_string_append(o, "]}");
}

int nlp_cli_tokenize(int argc, char **argv) {
  const char *path = NULL;
  bool jsonl = false, quiet = false;
  nlp_encode_params p = nlp_encode_default_params();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--jsonl")) jsonl = true;
    else if (!strcmp(a, "--no-special")) p.add_special_tokens = false;
    else if (!strcmp(a, "--quiet")) quiet = true;
    else if (!strcmp(a, "--max-length") || !strcmp(a, "--stride") || !strcmp(a, "--pad-to")) {
      size_t v;
      if (i + 1 >= argc || !parse_size(argv[i + 1], &v)) {
        fprintf(stderr, "nlpipe tokenize: %s needs a non-negative integer\n", a);
        return 2;
      }
      i++;
      if (a[2] == 'm') p.max_length = v;
      else if (a[2] == 's') p.stride = v;
      else p.pad_to = v;
    } else if (!strcmp(a, "--truncation")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "nlpipe tokenize: --truncation needs longest_first, only_first or only_second\n");
        return 2;
      }
      const char *s = argv[++i];
      if (!strcmp(s, "longest_first")) p.truncation = NLP_TRUNCATE_LONGEST_FIRST;
      else if (!strcmp(s, "only_first")) p.truncation = NLP_TRUNCATE_ONLY_FIRST;
      else if (!strcmp(s, "only_second")) p.truncation = NLP_TRUNCATE_ONLY_SECOND;
      else {
        fprintf(stderr, "nlpipe tokenize: --truncation '%s': expected longest_first, only_first or only_second\n", s);
        return 2;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "nlpipe tokenize: unknown option '%s'\n\n", a);
      usage(stderr);
      return 2;
    } else if (!path) path = a;
    else {
      fprintf(stderr, "nlpipe tokenize: one PATH only ('%s' is extra)\n", a);
      return 2;
    }
  }
  if (!path) {
    usage(stderr);
    return 2;
  }
  if (p.stride && !p.max_length) {
    fprintf(stderr, "nlpipe tokenize: --stride needs --max-length\n");
    return 2;
  }
  GError *err = NULL;
  nlp_tokenizer *tok = nlp_tokenizer_load(path, &err);
  if (!tok) {
    fprintf(stderr, "nlpipe tokenize: %s\n", err->message);
    g_error_free(err);
    return 2;
  }
  int status = 0;
  char *line = NULL;
  size_t cap = 0, lineno = 0, bytes = 0, ntok = 0;
  ssize_t n;
  GString *o = g_string_sized_new(1 << 16);
  struct timespec t0, t1, c0, c1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    lineno++;
    size_t len = (size_t)n;
    if (len && line[len - 1] == '\n') len--;
    if (!jsonl && len && line[len - 1] == '\r') len--;
    bytes += len;
    const char *text = line, *pair = NULL;
    size_t tlen = len, plen = 0;
    json_object *rec = NULL;
    nlp_encoding_list *l = NULL;
    if (jsonl) {
      if (!len) { lineno--; continue; }
      json_tokener *tk = json_tokener_new();
      rec = json_tokener_parse_ex(tk, line, (int)len);
      bool okj = rec && json_tokener_get_error(tk) == json_tokener_success;
      json_tokener_free(tk);
      json_object *jt = NULL, *jp = NULL;
      if (!okj || !json_object_object_get_ex(rec, "text", &jt) || !json_object_is_type(jt, json_type_string)) {
        g_set_error(&err, NLP_ERROR, NLP_ERROR_INPUT, "stdin line %zu: expected a JSON object with a string \"text\"", lineno);
        goto emit;
      }
      text = json_object_get_string(jt);
      tlen = (size_t)json_object_get_string_len(jt);
      if (json_object_object_get_ex(rec, "text_pair", &jp) && !json_object_is_type(jp, json_type_null)) {
        if (!json_object_is_type(jp, json_type_string)) {
          g_set_error(&err, NLP_ERROR, NLP_ERROR_INPUT, "stdin line %zu: \"text_pair\" must be a string", lineno);
          goto emit;
        }
        pair = json_object_get_string(jp);
        plen = (size_t)json_object_get_string_len(jp);
      }
    }
    l = nlp_tokenizer_encode(tok, text, tlen, pair, plen, &p, &err);
  emit:
    if (!l) {
      status = 1;
      if (!quiet) {
        g_string_append(o, "{\"error\":");
        json_str(o, err ? err->message : "tokenize failed");
        g_string_append(o, "}\n");
      }
      g_clear_error(&err);
    } else {
      for (size_t w = 0; w < l->n; w++) ntok += l->items[w].n;
      if (!quiet) {
        if (l->n > 1) g_string_append_c(o, '[');
        for (size_t w = 0; w < l->n; w++) {
          if (w) g_string_append_c(o, ',');
          write_encoding(o, &l->items[w]);
        }
        if (l->n > 1) g_string_append_c(o, ']');
        g_string_append_c(o, '\n');
      }
      nlp_encoding_list_free(l);
    }
    if (rec) json_object_put(rec);
    if (o->len > (1 << 16)) {
      fwrite(o->str, 1, o->len, stdout);
      g_string_truncate(o, 0);
    }
  }
  fwrite(o->str, 1, o->len, stdout);
  fflush(stdout);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  double cpu = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
  /* CPU time too: on a shared machine wall time measures the neighbours as well */
  if (quiet)
    fprintf(stderr,
            "{\"lines\":%zu,\"bytes\":%zu,\"tokens\":%zu,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"mb_per_s\":%.3f,"
            "\"mb_per_cpu_s\":%.3f,\"tokens_per_s\":%.1f}\n",
            lineno, bytes, ntok, secs, cpu, secs > 0 ? (double)bytes / 1e6 / secs : 0.0, cpu > 0 ? (double)bytes / 1e6 / cpu : 0.0,
            secs > 0 ? (double)ntok / secs : 0.0);
  g_string_free(o, TRUE);
  free(line);
  nlp_tokenizer_free(tok);
  return status;
}
