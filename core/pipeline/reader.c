#include "pipeline/reader.h"

#include <errno.h>
#include <sys/stat.h>
#include <string.h>

#include "util/error.h"

struct nlp_reader {
  const nlp_input_spec *spec;
  FILE *stream;
  gboolean owns_stream;
  char *name;         /* for messages */
  char *line;         /* getline buffer, reused: no allocation per record */
  size_t line_cap;
  size_t line_no;     /* lines read so far */
  size_t records;     /* records returned so far */
  guint64 offset;
  char **columns;     /* tsv column names in effect (owned copy) */
  json_tokener *tok;
};

static const char *const format_names[] = {"text", "jsonl", "tsv"};

const char *nlp_input_format_name(nlp_input_format f) { return format_names[f]; }

gboolean nlp_input_format_parse(const char *name, nlp_input_format *out) {
  for (size_t i = 0; i < G_N_ELEMENTS(format_names); i++)
    if (!strcmp(name, format_names[i])) {
      *out = (nlp_input_format)i;
      return TRUE;
    }
  return FALSE;
}

nlp_reader *nlp_reader_new_from_stream(const nlp_input_spec *spec, FILE *stream,
                                       const char *display_name) {
  nlp_reader *r = g_new0(nlp_reader, 1);
  r->spec = spec;
  r->stream = stream;
  r->name = g_strdup(display_name);
  r->tok = json_tokener_new();
  /* json-c does not check UTF-8 inside strings unless asked. */
  json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  if (spec->format == NLP_INPUT_TSV && spec->columns) r->columns = g_strdupv(spec->columns);
  return r;
}

nlp_reader *nlp_reader_open(const nlp_input_spec *spec, GError **error) {
  if (!strcmp(spec->path, "-")) return nlp_reader_new_from_stream(spec, stdin, "<stdin>");
  FILE *f = fopen(spec->path, "rb");
  if (!f) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot open input: %s", spec->path,
                g_strerror(errno));
    return NULL;
  }
  nlp_reader *r = nlp_reader_new_from_stream(spec, f, spec->path);
  r->owns_stream = TRUE;
  return r;
}

void nlp_reader_free(nlp_reader *r) {
  if (!r) return;
  if (r->owns_stream) fclose(r->stream);
  json_tokener_free(r->tok);
  g_strfreev(r->columns);
  free(r->line);
  g_free(r->name);
  g_free(r);
}

guint64 nlp_reader_offset(const nlp_reader *r) { return r->offset; }

guint64 nlp_reader_lines(const nlp_reader *r) { return r->line_no; }

static ssize_t read_line(nlp_reader *r, GError **error);

gboolean nlp_reader_seek(nlp_reader *r, guint64 offset, guint64 records, guint64 lines,
                         GError **error) {
  if (!r->owns_stream) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot resume reading a stream", r->name);
    return FALSE;
  }
  if (r->spec->format == NLP_INPUT_TSV && !r->columns && offset > 0) {
    if (read_line(r, error) < 0) return FALSE;
    r->columns = g_strsplit(r->line, "\t", -1);
  }
  struct stat st;
  if (fstat(fileno(r->stream), &st) != 0 || (guint64)st.st_size < offset ||
      fseeko(r->stream, (off_t)offset, SEEK_SET) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO,
                "%s: cannot resume at byte %" G_GUINT64_FORMAT " (the input changed?)", r->name,
                offset);
    return FALSE;
  }
  r->offset = offset;
  r->records = records;
  r->line_no = lines;
  return TRUE;
}

/* Reads one line without its LF or CRLF. Returns its length, or -1 at EOF/error. */
static ssize_t read_line(nlp_reader *r, GError **error) {
  errno = 0;
  ssize_t n = getline(&r->line, &r->line_cap, r->stream);
  if (n < 0) {
    if (ferror(r->stream))
      g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: read error after line %zu: %s",
                  r->name, r->line_no, g_strerror(errno ? errno : EIO));
    return -1;
  }
  r->offset += (guint64)n;
  r->line_no++;
  if (n > 0 && r->line[n - 1] == '\n') r->line[--n] = '\0';
  if (n > 0 && r->line[n - 1] == '\r') r->line[--n] = '\0';
  return n;
}

/* Where a line's bytes stop being UTF-8 (a byte offset), or -1 if they are valid.
 * NUL bytes count as invalid: no text field can carry them through C strings. */
static gssize invalid_utf8_at(const char *s, size_t len) {
  const char *end = NULL;
  if (g_utf8_validate_len(s, len, &end)) return -1;
  return end - s;
}

/* A record object for a line that could not be parsed, so the output can still
 * show what came in: the text with invalid bytes replaced by U+FFFD. */
static json_object *raw_record(const char *line, size_t len) {
  char *valid = g_utf8_make_valid(line, (gssize)len);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "text", json_object_new_string(valid));
  g_free(valid);
  return o;
}

static void set_text(nlp_doc *doc, const char *field) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(doc->record, field, &v) || !v) {
    nlp_doc_fail(doc, "line %zu: missing field \"%s\"", doc->line, field);
    return;
  }
  if (!json_object_is_type(v, json_type_string)) {
    nlp_doc_fail(doc, "line %zu: field \"%s\": expected a string, got %s", doc->line, field,
                 json_type_to_name(json_object_get_type(v)));
    return;
  }
  doc->text = json_object_get_string(v);
  doc->text_len = (size_t)json_object_get_string_len(v);
  if (doc->text_len == 0) {
    nlp_doc_fail(doc, "line %zu: field \"%s\" is empty", doc->line, field);
    doc->text = NULL;
  } else if (memchr(doc->text, '\0', doc->text_len)) {
    nlp_doc_fail(doc, "line %zu: field \"%s\" contains a NUL character", doc->line, field);
    doc->text = NULL;
  }
}

static void parse_text(nlp_reader *r, nlp_doc *doc, size_t len) {
  gssize bad = invalid_utf8_at(r->line, len);
  if (bad >= 0) {
    doc->record = raw_record(r->line, len);
    nlp_doc_fail(doc, "line %zu: invalid UTF-8 at byte %zd", doc->line, bad);
    return;
  }
  doc->record = json_object_new_object();
  json_object_object_add(doc->record, "text", json_object_new_string_len(r->line, (int)len));
  set_text(doc, "text");
}

static void parse_jsonl(nlp_reader *r, nlp_doc *doc, size_t len) {
  json_tokener_reset(r->tok);
  json_object *obj = json_tokener_parse_ex(r->tok, r->line, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(r->tok);
  if (jerr == json_tokener_continue) jerr = json_tokener_error_parse_eof;
  if (!obj && jerr == json_tokener_success) jerr = json_tokener_error_parse_unexpected;
  if (jerr != json_tokener_success) {
    json_object_put(obj);
    doc->record = raw_record(r->line, len);
    nlp_doc_fail(doc, "line %zu, column %zu: malformed JSON: %s", doc->line,
                 json_tokener_get_parse_end(r->tok) + 1, json_tokener_error_desc(jerr));
    return;
  }
  if (json_tokener_get_parse_end(r->tok) < len) {
    /* Only whitespace may follow the object. */
    for (size_t i = json_tokener_get_parse_end(r->tok); i < len; i++)
      if (!g_ascii_isspace(r->line[i])) {
        json_object_put(obj);
        doc->record = raw_record(r->line, len);
        nlp_doc_fail(doc, "line %zu, column %zu: unexpected text after the JSON value",
                     doc->line, i + 1);
        return;
      }
  }
  if (!json_object_is_type(obj, json_type_object)) {
    doc->record = json_object_new_object();
    json_object_object_add(doc->record, "value", obj);
    nlp_doc_fail(doc, "line %zu: expected a JSON object, got %s", doc->line,
                 json_type_to_name(json_object_get_type(obj)));
    return;
  }
  doc->record = obj;
  set_text(doc, r->spec->text_field ? r->spec->text_field : "text");
}

static void parse_tsv(nlp_reader *r, nlp_doc *doc, size_t len) {
  gssize bad = invalid_utf8_at(r->line, len);
  if (bad >= 0) {
    doc->record = raw_record(r->line, len);
    nlp_doc_fail(doc, "line %zu: invalid UTF-8 at byte %zd", doc->line, bad);
    return;
  }
  char **cells = g_strsplit(r->line, "\t", -1);
  guint n_cells = g_strv_length(cells);
  guint n_cols = g_strv_length(r->columns);
  doc->record = json_object_new_object();
  for (guint i = 0; i < n_cells && i < n_cols; i++)
    json_object_object_add(doc->record, r->columns[i], json_object_new_string(cells[i]));
  g_strfreev(cells);
  if (n_cells != n_cols) {
    nlp_doc_fail(doc, "line %zu: expected %u tab-separated columns, got %u", doc->line,
                 n_cols, n_cells);
    return;
  }
  set_text(doc, r->spec->text_field ? r->spec->text_field : "text");
}

int nlp_reader_next(nlp_reader *r, nlp_doc *doc, GError **error) {
  memset(doc, 0, sizeof *doc);
  ssize_t len = read_line(r, error);
  if (len < 0) return error && *error ? -1 : 0;
  if (r->spec->format == NLP_INPUT_TSV && !r->columns) {
    /* The header line names the columns; it is not a record. */
    r->columns = g_strsplit(r->line, "\t", -1);
    len = read_line(r, error);
    if (len < 0) return error && *error ? -1 : 0;
  }
  doc->index = r->records++;
  doc->line = r->line_no;
  switch (r->spec->format) {
  case NLP_INPUT_TEXT: parse_text(r, doc, (size_t)len); break;
  case NLP_INPUT_JSONL: parse_jsonl(r, doc, (size_t)len); break;
  case NLP_INPUT_TSV: parse_tsv(r, doc, (size_t)len); break;
  }
  return 1;
}
