/* A shared object that exports something, but not nlp_plugin_get_descriptor. */
__attribute__((visibility("default"))) int not_a_descriptor(void);
__attribute__((visibility("default"))) int not_a_descriptor(void) { return 42; }
