/* registry.h — finds, loads and checks task plugins.
 *
 * Search order (first match of a name wins, later files with the same name are
 * refused as duplicates): the paths given with nlp_registry_add_path (the CLI's
 * --plugin-path), then NLPIPE_PLUGIN_PATH, then the built-in defaults
 * (<folder of the nlpipe executable>/plugins, then NLPIPE_PLUGIN_INSTALL_DIR).
 * Each path is a folder (every *.so in it is a candidate) or a single .so file.
 *
 * A refused file never stops the scan: its reason, naming the file, is kept in
 * nlp_registry_problems() so `nlpipe plugins` can show it and `run` can report it
 * when the missing plugin is asked for. Loaded plugins stay resident for the life
 * of the process (no dlclose while descriptors or objects may be alive). */
#ifndef NLP_PIPELINE_REGISTRY_H
#define NLP_PIPELINE_REGISTRY_H

#include <glib.h>
#include <stdbool.h>

#include "nlpipe/plugin.h"

#ifndef NLPIPE_PLUGIN_INSTALL_DIR
#define NLPIPE_PLUGIN_INSTALL_DIR "/usr/local/lib/nlpipe/plugins"
#endif

typedef struct nlp_plugin {
  char *path;                 /* file it was loaded from */
  void *handle;               /* dlopen handle, never closed */
  const nlp_plugin_desc *desc; /* the plugin's static descriptor (borrowed) */
} nlp_plugin;

typedef struct nlp_registry nlp_registry;

/* A registry with no search paths yet. */
nlp_registry *nlp_registry_new(void);
void nlp_registry_free(nlp_registry *reg);

/* Appends a ':'-separated list of folders or files to the search path. */
void nlp_registry_add_path(nlp_registry *reg, const char *path_list);
/* Appends NLPIPE_PLUGIN_PATH (if set) and the built-in defaults. */
void nlp_registry_add_default_paths(nlp_registry *reg);

/* Loads every candidate on the search path once (idempotent). Problems are kept,
 * not returned: see nlp_registry_problems. */
void nlp_registry_scan(nlp_registry *reg);

/* Loads and checks one file. On refusal returns FALSE with an NLP_ERROR_PLUGIN or
 * NLP_ERROR_PLUGIN_ABI error that names the file. */
gboolean nlp_registry_load_file(nlp_registry *reg, const char *path, GError **error);

/* The plugin called `name`, or NULL (transfer none). Scans first if needed. */
const nlp_plugin *nlp_registry_find(nlp_registry *reg, const char *name);

/* All loaded plugins in search order (transfer none). */
const GPtrArray *nlp_registry_plugins(nlp_registry *reg);
/* Messages for refused files, one string each (transfer none). */
const GPtrArray *nlp_registry_problems(nlp_registry *reg);
/* The search path as folders/files, in order (transfer none). */
const GPtrArray *nlp_registry_search_path(nlp_registry *reg);

#endif
