#include "pipeline/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "pipeline/backbone.h"
#include "pipeline/checkpoint.h"
#include "pipeline/host.h"
#include "pipeline/writer.h"
#include "util/error.h"

typedef struct {
  const nlp_step_spec *spec;
  const nlp_plugin_desc *desc;
  void *state;
  nlp_backbone *backbone;
} step_runtime;

typedef struct {
  const nlp_pipeline_spec *spec;
  GPtrArray *backbones; /* nlp_backbone*, one per model some step uses */
  GPtrArray *backbone_names;
  step_runtime *steps;
  size_t n_steps;
  nlp_writer *out;
  nlp_writer *rejects;
  nlp_run_stats *stats;
} run_ctx;

nlp_run_params nlp_run_default_params(void) {
  nlp_run_params p = {.checkpoint = NULL, .resume = false, .progress = false};
  return p;
}

/* The pipeline's thread budget; 0 means every core. */
static int threads_budget(const nlp_pipeline_spec *spec) {
  return spec->threads > 0 ? (int)spec->threads : (int)g_get_num_processors();
}

static nlp_backbone *backbone_for(run_ctx *c, const char *model, GError **error) {
  for (guint i = 0; i < c->backbone_names->len; i++)
    if (!strcmp(c->backbone_names->pdata[i], model)) return c->backbones->pdata[i];
  const nlp_model_spec *m = nlp_spec_find_model(c->spec, model);
  nlp_backbone *bb = nlp_backbone_open(m->name, m->path, m->max_length, m->stride,
                                       threads_budget(c->spec), error);
  if (!bb) return NULL;
  g_ptr_array_add(c->backbones, bb);
  g_ptr_array_add(c->backbone_names, g_strdup(model));
  return bb;
}

static gboolean create_steps(run_ctx *c, GError **error) {
  c->n_steps = c->spec->steps->len;
  c->steps = g_new0(step_runtime, c->n_steps);
  for (size_t i = 0; i < c->n_steps; i++) {
    const nlp_step_spec *st = c->spec->steps->pdata[i];
    step_runtime *rt = &c->steps[i];
    rt->spec = st;
    rt->desc = st->plugin->desc;
    if (st->model && !(rt->backbone = backbone_for(c, st->model, error))) return FALSE;
    nlp_step_info info = {
        .name = st->name,
        .options = st->options,
        .model = (const nlp_model *)rt->backbone,
        .pipeline_dir = c->spec->dir,
        .head_dir = st->head,
    };
    char *why = NULL;
    if (rt->desc->create(nlp_host_get(), &info, &rt->state, &why) != NLP_STATUS_OK) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_PLUGIN, "steps[%zu] (\"%s\", plugin %s): %s", i,
                  st->name, rt->desc->name, why ? why : "create failed");
      free(why);
      rt->desc = NULL; /* nothing to destroy */
      return FALSE;
    }
    free(why);
  }
  return TRUE;
}

static void run_steps(run_ctx *c, nlp_doc *docs, size_t n) {
  for (guint i = 0; i < c->backbones->len; i++) nlp_backbone_begin_batch(c->backbones->pdata[i]);
  nlp_doc **visible = g_new(nlp_doc *, n ? n : 1);
  GArray *windows = g_array_new(FALSE, FALSE, sizeof(nlp_window));
  for (size_t s = 0; s < c->n_steps; s++) {
    step_runtime *rt = &c->steps[s];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (!docs[i].error) visible[m++] = &docs[i];
    if (!m) break;
    nlp_batch batch = {
        .docs = visible,
        .n = m,
        .step_name = rt->spec->name,
        .backbone = rt->backbone,
        .head_dir = rt->spec->head,
        .plugin_name = rt->desc->name,
        .windows = windows,
    };
    nlp_status st = rt->desc->process(rt->state, &batch);
    if (st != NLP_STATUS_OK)
      for (size_t i = 0; i < m; i++)
        nlp_doc_fail(visible[i], "step \"%s\" (plugin %s) failed on this batch: status %d",
                     rt->spec->name, rt->desc->name, (int)st);
  }
  g_array_free(windows, TRUE);
  g_free(visible);
}

/* The output record: the input record's keys, then one key per step. A step that
 * produced nothing for a document gets null, so every line has the same keys. */
static json_object *output_record(run_ctx *c, nlp_doc *d) {
  json_object *o = json_object_new_object();
  json_object_object_foreach(d->record, key, val) {
    json_object_object_add(o, key, json_object_get(val));
  }
  if (d->error) {
    json_object_object_add(o, "error", json_object_new_string(d->error));
    return o;
  }
  for (size_t s = 0; s < c->n_steps; s++) {
    json_object *v = NULL;
    const char *name = c->steps[s].spec->name;
    if (d->results) json_object_object_get_ex(d->results, name, &v);
    json_object_object_add(o, name, json_object_get(v));
  }
  return o;
}

/* Writes the batch in order. Returns FALSE when writing fails or a record made a
 * fail-mode run stop (then *stop is set and nothing after that record is written). */
static gboolean write_batch(run_ctx *c, nlp_doc *docs, size_t n, gboolean *stop,
                            GError **error) {
  for (size_t i = 0; i < n; i++) {
    nlp_doc *d = &docs[i];
    if (d->error) {
      c->stats->failed++;
      if (c->spec->on_error == NLP_ON_ERROR_FAIL) {
        *stop = TRUE;
        g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "record %" G_GUINT64_FORMAT
                    " (input line %zu): %s", (guint64)d->index + 1, d->line, d->error);
        return FALSE;
      }
    } else {
      c->stats->ok++;
    }
    json_object *rec = output_record(c, d);
    nlp_writer *w = c->out;
    if (d->error && c->spec->on_error == NLP_ON_ERROR_QUARANTINE) {
      json_object_object_add(rec, "line", json_object_new_int64((int64_t)d->line));
      w = c->rejects;
    }
    gboolean ok = nlp_writer_write(w, rec, error);
    json_object_put(rec);
    if (!ok) return FALSE;
  }
  return nlp_writer_flush(c->out, error) && (!c->rejects || nlp_writer_flush(c->rejects, error));
}

static char *checkpoint_path(const nlp_pipeline_spec *spec, const nlp_run_params *params) {
  if (params->checkpoint) return g_strdup(params->checkpoint);
  if (!strcmp(spec->input.path, "-") || !strcmp(spec->output_path, "-")) return NULL;
  return g_strconcat(spec->output_path, ".ckpt", NULL);
}

static gboolean save_checkpoint(run_ctx *c, nlp_reader *reader, const char *path,
                                GError **error) {
  nlp_checkpoint ck = {
      .input = c->spec->input.path,
      .input_offset = nlp_reader_offset(reader),
      .records = c->stats->records,
      .lines = nlp_reader_lines(reader),
      .output_bytes = nlp_writer_tell(c->out),
      .reject_bytes = c->rejects ? nlp_writer_tell(c->rejects) : 0,
      .ok = c->stats->ok,
      .failed = c->stats->failed,
  };
  return nlp_checkpoint_save(path, &ck, error);
}

static void show_progress(const nlp_run_stats *s, double elapsed, gboolean final) {
  fprintf(stderr, "\rnlpipe: %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT
          " failed, %.1f s, %.0f records/s%s", s->records, s->failed, elapsed,
          elapsed > 0 ? (double)s->records / elapsed : 0.0, final ? "\n" : "");
}

static void cleanup(run_ctx *c) {
  for (size_t i = 0; i < c->n_steps; i++)
    if (c->steps[i].desc && c->steps[i].state) c->steps[i].desc->destroy(c->steps[i].state);
  g_free(c->steps);
  for (guint i = 0; i < c->backbones->len; i++) {
    c->stats->forward_passes += nlp_backbone_forward_count(c->backbones->pdata[i]);
    nlp_backbone_free(c->backbones->pdata[i]);
  }
  g_ptr_array_free(c->backbones, TRUE);
  g_ptr_array_free(c->backbone_names, TRUE);
}

gboolean nlp_pipeline_run(const nlp_pipeline_spec *spec, const nlp_run_params *params,
                          nlp_run_stats *stats, GError **error) {
  memset(stats, 0, sizeof *stats);
  run_ctx c = {
      .spec = spec,
      .backbones = g_ptr_array_new(),
      .backbone_names = g_ptr_array_new_with_free_func(g_free),
      .stats = stats,
  };
  GTimer *timer = g_timer_new();
  gboolean ok = create_steps(&c, error);
  nlp_reader *reader = NULL;
  char *ckpt_path = checkpoint_path(spec, params);
  nlp_checkpoint ckpt = {0};
  gboolean resuming = FALSE;
  if (ok && params->resume && ckpt_path && g_file_test(ckpt_path, G_FILE_TEST_EXISTS)) {
    ok = nlp_checkpoint_load(ckpt_path, &ckpt, error);
    if (ok && strcmp(ckpt.input, spec->input.path)) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                  "%s: the checkpoint is for input %s, not %s", ckpt_path, ckpt.input,
                  spec->input.path);
      ok = FALSE;
    }
    resuming = ok;
  }
  if (ok) ok = (reader = nlp_reader_open(&spec->input, error)) != NULL;
  if (ok && resuming)
    ok = nlp_reader_seek(reader, ckpt.input_offset, ckpt.records, ckpt.lines, error);
  if (ok)
    ok = (c.out = nlp_writer_open(spec->output_path, resuming, ckpt.output_bytes, error)) != NULL;
  if (ok && spec->on_error == NLP_ON_ERROR_QUARANTINE)
    ok = (c.rejects = nlp_writer_open(spec->reject_path, resuming, ckpt.reject_bytes, error)) !=
         NULL;
  if (resuming) {
    stats->records = stats->resumed_at = ckpt.records;
    stats->ok = ckpt.ok;
    stats->failed = ckpt.failed;
  }

  size_t cap = (size_t)spec->batch_size;
  nlp_doc *docs = g_new0(nlp_doc, cap);
  double last_progress = 0;
  gboolean eof = FALSE, stop = FALSE;
  while (ok && !eof && !stop) {
    size_t n = 0;
    while (n < cap) {
      int r = nlp_reader_next(reader, &docs[n], error);
      if (r < 0) {
        ok = FALSE;
        break;
      }
      if (r == 0) {
        eof = TRUE;
        break;
      }
      n++;
    }
    stats->records += n;
    if (ok && n) {
      run_steps(&c, docs, n);
      if (!write_batch(&c, docs, n, &stop, error)) {
        ok = FALSE;
        stats->aborted = stop;
      }
    }
    for (size_t i = 0; i < n; i++) nlp_doc_clear(&docs[i]);
    if (ok && n && ckpt_path) ok = save_checkpoint(&c, reader, ckpt_path, error);
    double t = g_timer_elapsed(timer, NULL);
    if (params->progress && t - last_progress >= 1.0) {
      show_progress(stats, t, FALSE);
      last_progress = t;
    }
  }
  g_free(docs);
  nlp_reader_free(reader);
  GError *close_err = NULL;
  if (!nlp_writer_close(c.out, ok ? &close_err : NULL) && ok) {
    g_propagate_error(error, close_err);
    ok = FALSE;
  }
  if (!nlp_writer_close(c.rejects, ok ? &close_err : NULL) && ok) {
    g_propagate_error(error, close_err);
    ok = FALSE;
  }
  /* A finished run needs no checkpoint; a stopped one keeps it for --resume. */
  if (ok && ckpt_path) g_unlink(ckpt_path);
  g_free(ckpt_path);
  nlp_checkpoint_clear(&ckpt);
  cleanup(&c);
  stats->seconds = g_timer_elapsed(timer, NULL);
  if (params->progress && stats->records) show_progress(stats, stats->seconds, TRUE);
  g_timer_destroy(timer);
  return ok;
}
