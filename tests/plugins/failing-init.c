/* Its init() fails with a reason: the host must refuse it and show the reason. */
#include <string.h>

#include "nlpipe/plugin.h"

static nlp_status init(const nlp_host *h, char **error) {
  (void)h;
  *error = strdup("needs a GPU it cannot find");
  return NLP_STATUS_FAILED;
}
static nlp_status create(const nlp_host *h, const nlp_step_info *s, void **out, char **e) {
  (void)h; (void)s; (void)e;
  *out = NULL;
  return NLP_STATUS_OK;
}
static nlp_status process(void *st, nlp_batch *b) { (void)st; (void)b; return NLP_STATUS_OK; }
static void destroy(void *st) { (void)st; }

static const nlp_plugin_desc desc = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = "test-failing-init",
    .version = "0.1",
    .license = "MIT",
    .init = init,
    .create = create,
    .process = process,
    .destroy = destroy,
};

NLP_PLUGIN_DEFINE(desc)
