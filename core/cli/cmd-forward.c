/* Placeholder until the forward command lands with its module. */
#include <stdio.h>
#include "cli/cli.h"
int nlp_cli_forward(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "nlpipe forward: not available in this build\n");
  return 2;
}
