/* Built "for" ABI 99.3: the host must refuse it and print both versions. */
#include "nlpipe/plugin.h"

static nlp_status create(const nlp_host *h, const nlp_step_info *s, void **out, char **e) {
  (void)h; (void)s; (void)e;
  *out = NULL;
  return NLP_STATUS_OK;
}
static nlp_status process(void *st, nlp_batch *b) { (void)st; (void)b; return NLP_STATUS_OK; }
static void destroy(void *st) { (void)st; }

static const nlp_plugin_desc desc = {
    .abi_version = (99u << 16) | 3u,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = "test-wrong-abi",
    .version = "0.1",
    .license = "MIT",
    .create = create,
    .process = process,
    .destroy = destroy,
};

NLP_PLUGIN_DEFINE(desc)
