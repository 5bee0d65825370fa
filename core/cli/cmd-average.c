/* `nlpipe average -o OUT HEAD HEAD...`: one head folder from the element-wise mean of
 * several fine-tuned from the same start (see core/train/average.c). */
#include <stdio.h>

#include "cli/cli.h"
#include "train/trainer.h"
#include "util/error.h"

static const char *const summary =
    "Writes OUT, a head folder whose weights (head.safetensors, and backbone/ for heads\n"
    "that fine-tuned encoder layers) are the element-wise mean of the given head\n"
    "folders: a \"model soup\" of runs that differ only in training.data_seed (or other\n"
    "training numbers), or checkpoint averaging. The heads must share task, labels,\n"
    "head shape, backbone config and training.seed (one start); anything else is\n"
    "refused, naming the field. OUT/head.json lists the ingredients under\n"
    "\"averaged_from\" and carries dev_metrics measured on the mean (on --dev, else the\n"
    "ingredients' data.dev), as `nlpipe eval` would report them.\n\n"
    "Exit status: 0 written, 1 failed, 2 bad command line or head folders.";

int nlp_cli_average(int argc, char **argv) {
  gint threads = 1;
  gboolean no_eval = FALSE;
  char *output = NULL, *dev = NULL;
  GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_STRING, &output, "The new head folder (required)", "DIR"},
      {"dev", 0, 0, G_OPTION_ARG_STRING, &dev, "Score the mean on this labelled JSONL (default: data.dev)", "FILE"},
      {"no-eval", 0, 0, G_OPTION_ARG_NONE, &no_eval, "Do not score it (head.json gets no dev_metrics)", NULL},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads for scoring (default 1)", "N"},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  GOptionContext *ctx = g_option_context_new("HEAD HEAD [HEAD...]");
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int status = 2;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "nlpipe average: %s (see nlpipe average --help)\n", err->message);
    goto out;
  }
  if (!output || argc < 3 || threads < 1) {
    fprintf(stderr, "nlpipe average: expected --output DIR and at least two head folders, --threads >= 1 "
                    "(see nlpipe average --help)\n");
    goto out;
  }
  nlp_average_options o = {.output = output, .dev = dev, .no_eval = no_eval, .threads = threads};
  if (nlp_train_average((const char *const *)argv + 1, (size_t)argc - 1, &o, &err)) {
    status = 0;
  } else {
    fprintf(stderr, "nlpipe average: %s\n", err->message);
    status = err->domain == NLP_ERROR && (err->code == NLP_ERROR_CONFIG || err->code == NLP_ERROR_IO ||
                                          err->code == NLP_ERROR_MODEL) ? 2 : 1;
  }
out:
  g_clear_error(&err);
  g_free(output);
  g_free(dev);
  g_option_context_free(ctx);
  return status;
}
