/* `nlpipe plugins` lists what the registry finds; `nlpipe inspect NAME` describes one. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/load-pipeline.h"
#include "pipeline/options.h"

static nlp_registry *parse_common(int *argc, char ***argv, const char *params,
                                  const char *summary, int expected_args) {
  char *plugin_path = NULL;
  GOptionEntry entries[] = {
      {"plugin-path", 0, 0, G_OPTION_ARG_STRING, &plugin_path,
       "Search these ':'-separated folders or .so files for plugins first", "DIRS"},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  GOptionContext *ctx = g_option_context_new(params);
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  nlp_registry *reg = NULL;
  if (!g_option_context_parse(ctx, argc, argv, &err)) {
    fprintf(stderr, "nlpipe %s: %s\n", (*argv)[0], err->message);
    g_error_free(err);
  } else if (*argc != expected_args) {
    fprintf(stderr, "nlpipe %s: wrong number of arguments (see --help)\n", (*argv)[0]);
  } else {
    reg = nlp_cli_registry_new(plugin_path);
  }
  g_option_context_free(ctx);
  g_free(plugin_path);
  return reg;
}

static void print_problems(nlp_registry *reg) {
  const GPtrArray *problems = nlp_registry_problems(reg);
  for (guint i = 0; i < problems->len; i++)
    fprintf(stderr, "nlpipe: refused %s\n", (const char *)problems->pdata[i]);
}

int nlp_cli_plugins(int argc, char **argv) {
  nlp_registry *reg = parse_common(
      &argc, &argv, "",
      "Lists every plugin on the search path (--plugin-path, then NLPIPE_PLUGIN_PATH,\n"
      "then the built-in folders) with its version, task and file. Files that were\n"
      "refused are reported on stderr with the reason.",
      1);
  if (!reg) return 2;
  const GPtrArray *plugins = nlp_registry_plugins(reg);
  printf("%-20s %-10s %-22s %s\n", "NAME", "VERSION", "TASK", "FILE");
  for (guint i = 0; i < plugins->len; i++) {
    const nlp_plugin *p = plugins->pdata[i];
    printf("%-20s %-10s %-22s %s\n", p->desc->name, p->desc->version,
           p->desc->task ? p->desc->task : "-", p->path);
  }
  print_problems(reg);
  if (!plugins->len) {
    fprintf(stderr, "nlpipe plugins: no plugins found; searched:");
    const GPtrArray *sp = nlp_registry_search_path(reg);
    for (guint i = 0; i < sp->len; i++) fprintf(stderr, " %s", (const char *)sp->pdata[i]);
    fputc('\n', stderr);
  }
  nlp_registry_free(reg);
  return 0;
}

static void print_features(const char *label, const char *const *v) {
  printf("%-12s", label);
  if (!v || !*v) printf(" (nothing)");
  for (; v && *v; v++) printf(" %s", *v);
  printf("\n");
}

int nlp_cli_inspect(int argc, char **argv) {
  nlp_registry *reg = parse_common(
      &argc, &argv, "NAME",
      "Prints a plugin's description, what it requires and produces, and every option\n"
      "with its type, default and meaning, as the pipeline's step \"options\" take them.",
      2);
  if (!reg) return 2;
  const nlp_plugin *p = nlp_registry_find(reg, argv[1]);
  if (!p) {
    fprintf(stderr, "nlpipe inspect: no plugin named '%s' (see nlpipe plugins)\n", argv[1]);
    print_problems(reg);
    nlp_registry_free(reg);
    return 2;
  }
  const nlp_plugin_desc *d = p->desc;
  printf("%s %s (%s)\n", d->name, d->version, d->license);
  printf("%-12s %s\n", "task", d->task ? d->task : "-");
  printf("%-12s %s\n", "file", p->path);
  printf("%-12s %u.%u\n", "abi", NLP_PLUGIN_ABI_MAJOR_OF(d->abi_version),
         NLP_PLUGIN_ABI_MINOR_OF(d->abi_version));
  print_features("requires", d->requires);
  print_features("produces", d->produces);
  printf("\n%s\n\noptions:\n", d->description ? d->description : "");
  if (!d->n_options) printf("  (none)\n");
  for (size_t i = 0; i < d->n_options; i++) {
    const nlp_option_spec *o = &d->options[i];
    char *type = nlp_option_describe_type(o);
    const char *dflt = (o->flags & NLP_OPTION_REQUIRED) || !o->default_json ? "(required)"
                                                                            : o->default_json;
    printf("  %s\n      type: %s\n      default: %s\n      %s\n", o->name, type, dflt,
           o->description ? o->description : "");
    g_free(type);
  }
  nlp_registry_free(reg);
  return 0;
}
