/* `nlpipe validate FILE`: every check `run` makes before loading weights. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/load-pipeline.h"

int nlp_cli_validate(int argc, char **argv) {
  char *input = NULL, *plugin_path = NULL;
  GOptionEntry entries[] = {
      {"input", 'i', 0, G_OPTION_ARG_STRING, &input,
       "Validate as if run with this input (as nlpipe run --input)", "PATH"},
      {"plugin-path", 0, 0, G_OPTION_ARG_STRING, &plugin_path,
       "Search these ':'-separated folders or .so files for plugins first", "DIRS"},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  GOptionContext *ctx = g_option_context_new("PIPELINE.json");
  g_option_context_set_summary(
      ctx, "Checks a pipeline file: JSON syntax, keys and types, model folders, plugins,\n"
           "step options against each plugin's schema, and that every step's requirements\n"
           "are produced by an earlier step. Loads no weights. Exit status 0 if valid, 2\n"
           "otherwise, with one line per problem naming its JSON path.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int status = 2;
  nlp_registry *reg = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "nlpipe validate: %s\n", err->message);
    g_error_free(err);
  } else if (argc != 2) {
    fprintf(stderr, "nlpipe validate: expected one pipeline file\n");
  } else {
    nlp_spec_overrides ov = {input, NULL, -1, -1};
    reg = nlp_cli_registry_new(plugin_path);
    nlp_pipeline_spec *spec = nlp_cli_load_pipeline(argv[1], &ov, reg);
    if (spec) {
      printf("%s: valid (%u steps)\n", argv[1], spec->steps->len);
      status = 0;
    }
    nlp_spec_free(spec);
  }
  nlp_registry_free(reg);
  g_option_context_free(ctx);
  g_free(input);
  g_free(plugin_path);
  return status;
}
