/* Requires "entities", which only an NER step produces: tests the requires chain. */
#include "nlpipe/plugin.h"

static const char *const requires_[] = {"text", "entities", NULL};

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
    .name = "test-needs-entities",
    .version = "0.1",
    .license = "MIT",
    .task = "test",
    .requires = requires_,
    .create = create,
    .process = process,
    .destroy = destroy,
};

NLP_PLUGIN_DEFINE(desc)
