/* Placeholder until the tokenize command lands with its module. */
#include <stdio.h>
#include "cli/cli.h"
int nlp_cli_tokenize(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "nlpipe tokenize: not available in this build\n");
  return 2;
}
