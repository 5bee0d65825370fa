/* main.c — `nlpipe COMMAND ...`: dispatches to one subcommand per file. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "nlpipe/plugin.h"

#define NLPIPE_VERSION "0.1.0"

typedef struct {
  const char *name;
  nlp_cli_fn fn;
  const char *summary;
} nlp_cli_command;

static const nlp_cli_command commands[] = {
    {"run", nlp_cli_run, "run a pipeline over a corpus, writing JSONL"},
    {"validate", nlp_cli_validate, "check a pipeline file without loading weights"},
    {"plugins", nlp_cli_plugins, "list the task plugins found on the plugin path"},
    {"inspect", nlp_cli_inspect, "describe one plugin and every option it takes"},
    {"tokenize", nlp_cli_tokenize, "tokenize text lines or JSONL with a model's tokenizer"},
    {"forward", nlp_cli_forward, "run an encoder on text lines, print hidden/pooled/logits"},
    {"train", nlp_cli_train, "train a task head (optionally the top layers) from a task definition"},
    {"eval", nlp_cli_eval, "score a head folder or a pipeline on labelled JSONL"},
    {"average", nlp_cli_average, "average head folders fine-tuned from the same start into one"},
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: nlpipe COMMAND [OPTIONS] ...\n\n"
          "nlpipe runs declarative NLP pipelines (JSON) on Hugging Face transformer\n"
          "checkpoints, with task plugins loaded at run time.\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n`nlpipe COMMAND --help` explains each command's options.\n");
}

int main(int argc, char **argv) {
  /* Every number nlpipe computes is a float32: 9 significant digits print it
   * exactly (round-trip) without json-c's default 17 digits of double noise. */
  json_c_set_serialization_double_format("%.9g", JSON_C_OPTION_GLOBAL);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("nlpipe %s (plugin ABI %u.%u)\n", NLPIPE_VERSION, NLP_PLUGIN_ABI_MAJOR,
           NLP_PLUGIN_ABI_MINOR);
    return 0;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "nlpipe: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
