/* `nlpipe train CONFIG.json`: fine-tune a task head (optionally the top encoder
 * layers) and write a head folder the task plugins load. See core/train/trainer.h
 * for the config format. */
#include <stdio.h>

#include "cli/cli.h"
#include "train/trainer.h"
#include "util/error.h"

static const char *const summary =
    "Trains a task head on a backbone per a task definition (tasks/<task>/train.json):\n"
    "sequence classification (linear or MLP, softmax or multi-label sigmoid, class\n"
    "weights), token classification (BIO/BIOES, optional CRF), extractive QA\n"
    "(start/end), or the extractive-summary sentence scorer. With a frozen backbone\n"
    "the training set is encoded once into a memory-mapped feature cache;\n"
    "--unfreeze-top N also trains the top N encoder layers (--train-embeddings, with\n"
    "every layer, the embedding tables too) of a BERT, RoBERTa (XLM-RoBERTa, CamemBERT),\n"
    "DistilBERT or ELECTRA backbone (with its embeddings_project).\n"
    "AdamW, linear warm-up and decay, dropout, gradient clipping, early stopping on the\n"
    "dev metric; a checkpoint after every epoch. --data-seed N changes only the order of\n"
    "the examples (runs from one start, for `nlpipe average`).\n"
    "Writes OUTPUT/head.safetensors + head.json (and OUTPUT/backbone/ when layers\n"
    "were unfrozen). The data files are validated first: any bad record is reported\n"
    "as FILE:LINE and nothing trains.\n\n"
    "Exit status: 0 trained, 1 failed while training, 2 bad command line, config or data\n"
    "(or an unsupported combination, refused before training).";

int nlp_cli_train(int argc, char **argv) {
  gint64 data_seed = -1;
  gint unfreeze = -1, epochs = -1, threads = 1, stop_after = 0, log_every = 60;
  gboolean resume = FALSE, quiet = FALSE, train_emb = FALSE;
  char *output = NULL, *backbone = NULL;
  GOptionEntry entries[] = {
      {"unfreeze-top", 'u', 0, G_OPTION_ARG_INT, &unfreeze,
       "Also train the top N encoder layers (default: training.unfreeze_top, 0)", "N"},
      {"train-embeddings", 0, 0, G_OPTION_ARG_NONE, &train_emb,
       "Also train the embedding tables (needs every layer unfrozen)", NULL},
      {"epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Override training.epochs", "N"},
      {"data-seed", 0, 0, G_OPTION_ARG_INT64, &data_seed,
       "Override training.data_seed: the shuffle order only; weights start from training.seed", "N"},
      {"output", 'o', 0, G_OPTION_ARG_STRING, &output, "Override the output head folder", "DIR"},
      {"backbone", 'b', 0, G_OPTION_ARG_STRING, &backbone, "Override the backbone folder", "DIR"},
      {"resume", 0, 0, G_OPTION_ARG_NONE, &resume,
       "Continue from the last epoch checkpoint (OUTPUT.cache/checkpoint.safetensors)", NULL},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLIS threads (default 1)", "N"},
      {"stop-after", 0, 0, G_OPTION_ARG_INT, &stop_after,
       "Stop after N epochs of this run, as an interruption would (for --resume)", "N"},
      {"log-every", 0, 0, G_OPTION_ARG_INT, &log_every,
       "Seconds between progress lines when stderr is not a terminal (default 60; 0: every step)", "S"},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress or epoch lines", NULL},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  GOptionContext *ctx = g_option_context_new("CONFIG.json");
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int status = 2;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "nlpipe train: %s (see nlpipe train --help)\n", err->message);
    goto out;
  }
  if (argc != 2) {
    fprintf(stderr, "nlpipe train: expected one config file (see nlpipe train --help)\n");
    goto out;
  }
  if (threads < 1 || unfreeze < -1 || stop_after < 0 || log_every < 0 || data_seed < -1) {
    fprintf(stderr, "nlpipe train: --threads must be >= 1, --unfreeze-top, --stop-after, --log-every and --data-seed >= 0\n");
    goto out;
  }
  nlp_train_options o = {.unfreeze_top = unfreeze, .train_embeddings = train_emb, .epochs = epochs, .data_seed = data_seed, .stop_after = stop_after,
                         .resume = resume, .threads = threads, .quiet = quiet, .log_every = log_every, .output = output,
                         .backbone = backbone};
  if (nlp_train_run(argv[1], &o, &err)) {
    status = 0;
  } else {
    fprintf(stderr, "nlpipe train: %s\n", err->message);
    status = err->domain == NLP_ERROR && (err->code == NLP_ERROR_CONFIG || err->code == NLP_ERROR_INPUT ||
                                          err->code == NLP_ERROR_PARSE || err->code == NLP_ERROR_IO ||
                                          err->code == NLP_ERROR_UNSUPPORTED)
                 ? 2 : 1;
  }
out:
  g_clear_error(&err);
  g_free(output);
  g_free(backbone);
  g_option_context_free(ctx);
  return status;
}
