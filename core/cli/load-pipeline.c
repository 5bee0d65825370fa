#include "cli/load-pipeline.h"

#include <stdio.h>

nlp_registry *nlp_cli_registry_new(const char *plugin_path) {
  nlp_registry *reg = nlp_registry_new();
  nlp_registry_add_path(reg, plugin_path);
  nlp_registry_add_default_paths(reg);
  return reg;
}

nlp_pipeline_spec *nlp_cli_load_pipeline(const char *file, const nlp_spec_overrides *ov,
                                         nlp_registry *reg) {
  GError *err = NULL;
  nlp_pipeline_spec *spec = nlp_spec_load(file, &err);
  if (spec) {
    nlp_spec_apply_overrides(spec, ov);
    if (!nlp_spec_validate(spec, reg, &err)) {
      nlp_spec_free(spec);
      spec = NULL;
    }
  }
  if (!spec) {
    fprintf(stderr, "nlpipe: %s\n", err->message);
    /* A plugin that was asked for but refused explains an "unknown plugin". */
    const GPtrArray *problems = nlp_registry_problems(reg);
    for (guint i = 0; i < problems->len; i++)
      fprintf(stderr, "nlpipe: note: refused %s\n", (const char *)problems->pdata[i]);
    g_error_free(err);
  }
  return spec;
}
