#include "pipeline/writer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

struct nlp_writer {
  FILE *stream;
  gboolean owns_stream;
  char *name;
};

nlp_writer *nlp_writer_new_from_stream(FILE *stream, const char *display_name) {
  nlp_writer *w = g_new0(nlp_writer, 1);
  w->stream = stream;
  w->name = g_strdup(display_name);
  return w;
}

nlp_writer *nlp_writer_open(const char *path, gboolean append, guint64 keep_bytes,
                            GError **error) {
  if (!strcmp(path, "-")) return nlp_writer_new_from_stream(stdout, "<stdout>");
  if (append && truncate(path, (off_t)keep_bytes) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot cut the output back to %"
                G_GUINT64_FORMAT " bytes to resume: %s", path, keep_bytes, g_strerror(errno));
    return NULL;
  }
  FILE *f = fopen(path, append ? "ab" : "wb");
  if (!f) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot open output: %s", path,
                g_strerror(errno));
    return NULL;
  }
  nlp_writer *w = nlp_writer_new_from_stream(f, path);
  w->owns_stream = TRUE;
  return w;
}

static gboolean io_error(nlp_writer *w, GError **error) {
  g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: write failed: %s", w->name,
              g_strerror(errno ? errno : EIO));
  return FALSE;
}

gboolean nlp_writer_write(nlp_writer *w, json_object *record, GError **error) {
  size_t len = 0;
  const char *s = json_object_to_json_string_length(
      record, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  errno = 0;
  if (fwrite(s, 1, len, w->stream) != len || fputc('\n', w->stream) == EOF)
    return io_error(w, error);
  return TRUE;
}

gboolean nlp_writer_flush(nlp_writer *w, GError **error) {
  errno = 0;
  if (fflush(w->stream) != 0) return io_error(w, error);
  return TRUE;
}

guint64 nlp_writer_tell(nlp_writer *w) {
  if (!w->owns_stream) return 0;
  off_t pos = ftello(w->stream);
  return pos < 0 ? 0 : (guint64)pos;
}

gboolean nlp_writer_close(nlp_writer *w, GError **error) {
  if (!w) return TRUE;
  gboolean ok = nlp_writer_flush(w, error);
  if (w->owns_stream && fclose(w->stream) != 0 && ok) ok = io_error(w, error);
  g_free(w->name);
  g_free(w);
  return ok;
}
