/* `nlpipe run FILE`: validate, then stream the input through the pipeline. */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/load-pipeline.h"
#include "pipeline/runner.h"

static const char *const summary =
    "Runs a pipeline over its input and writes one JSONL line per input record, in\n"
    "input order: the record plus one key per step name. Everything is validated\n"
    "before any weights load. A record that cannot be processed is written per the\n"
    "pipeline's on_error (skip: an \"error\" field; quarantine: to output.reject_path;\n"
    "fail: the run stops there). When input and output are files, a checkpoint\n"
    "(OUTPUT.ckpt) is kept after every batch, and --resume continues an interrupted\n"
    "run without losing or repeating a record.\n\n"
    "Exit status: 0 all records processed, 1 some records failed or the run stopped,\n"
    "2 invalid command line or pipeline.";

int nlp_cli_run(int argc, char **argv) {
  char *input = NULL, *output = NULL, *plugin_path = NULL;
  gint threads = -1, batch_size = -1;
  gboolean progress = FALSE, quiet = FALSE, resume = FALSE;
  char *checkpoint = NULL;
  GOptionEntry entries[] = {
      {"input", 'i', 0, G_OPTION_ARG_STRING, &input,
       "Read records from PATH instead of the pipeline's input.path ('-' = stdin)", "PATH"},
      {"output", 'o', 0, G_OPTION_ARG_STRING, &output,
       "Write JSONL to PATH instead of the pipeline's output.path ('-' = stdout)", "PATH"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads,
       "Thread budget for the whole process (0 = all cores)", "N"},
      {"batch-size", 'b', 0, G_OPTION_ARG_INT, &batch_size, "Records per batch", "N"},
      {"plugin-path", 0, 0, G_OPTION_ARG_STRING, &plugin_path,
       "Search these ':'-separated folders or .so files for plugins first", "DIRS"},
      {"resume", 0, 0, G_OPTION_ARG_NONE, &resume,
       "Continue an interrupted run from its checkpoint (file input and output only)", NULL},
      {"checkpoint", 0, 0, G_OPTION_ARG_STRING, &checkpoint,
       "Checkpoint file (default OUTPUT.ckpt when input and output are files)", "PATH"},
      {"progress", 0, 0, G_OPTION_ARG_NONE, &progress,
       "Show a progress line on stderr (default when stderr is a terminal)", NULL},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No summary line on stderr", NULL},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  GOptionContext *ctx = g_option_context_new("PIPELINE.json");
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int status = 2;
  nlp_registry *reg = NULL;
  nlp_pipeline_spec *spec = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "nlpipe run: %s (see nlpipe run --help)\n", err->message);
    goto out;
  }
  if (argc != 2) {
    fprintf(stderr, "nlpipe run: expected one pipeline file (see nlpipe run --help)\n");
    goto out;
  }
  if (threads < -1 || batch_size == 0 || batch_size < -1) {
    fprintf(stderr, "nlpipe run: --threads must be >= 0 and --batch-size >= 1\n");
    goto out;
  }
  nlp_spec_overrides ov = {input, output, batch_size, threads};
  reg = nlp_cli_registry_new(plugin_path);
  spec = nlp_cli_load_pipeline(argv[1], &ov, reg);
  if (!spec) goto out;

  nlp_run_params params = nlp_run_default_params();
  params.progress = progress || (!quiet && isatty(STDERR_FILENO));
  params.resume = resume;
  params.checkpoint = checkpoint;
  nlp_run_stats stats;
  gboolean ok = nlp_pipeline_run(spec, &params, &stats, &err);
  if (!ok) {
    fprintf(stderr, "nlpipe run: %s\n", err->message);
    status = stats.aborted || stats.records ? 1 : 2;
  } else {
    status = stats.failed ? 1 : 0;
  }
  if (!quiet && stats.resumed_at)
    fprintf(stderr, "nlpipe run: resumed after record %" G_GUINT64_FORMAT "\n", stats.resumed_at);
  if (!quiet)
    fprintf(stderr,
            "nlpipe run: %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT " ok, %"
            G_GUINT64_FORMAT " failed%s, %" G_GUINT64_FORMAT " encoder passes, %.2f s\n",
            stats.records, stats.ok, stats.failed, stats.aborted ? " (stopped: on_error=fail)" : "",
            stats.forward_passes, stats.seconds);
out:
  g_clear_error(&err);
  nlp_spec_free(spec);
  nlp_registry_free(reg);
  g_option_context_free(ctx);
  g_free(input);
  g_free(output);
  g_free(plugin_path);
  g_free(checkpoint);
  return status;
}
