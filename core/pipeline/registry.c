#include "pipeline/registry.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/host.h"
#include "util/error.h"

struct nlp_registry {
  GPtrArray *search_path; /* char*, folders or files */
  GPtrArray *plugins;     /* nlp_plugin* */
  GPtrArray *problems;    /* char* */
  GHashTable *by_name;    /* name -> nlp_plugin* (borrowed from plugins) */
  GHashTable *seen_files; /* canonical path -> 1: a file is loaded at most once */
  bool scanned;
};

static void plugin_free(gpointer p) {
  nlp_plugin *plugin = p;
  /* The handle is deliberately not dlclose()d: descriptors and objects created by
   * the plugin may outlive the registry (GStreamer keeps plugins resident too). */
  g_free(plugin->path);
  g_free(plugin);
}

nlp_registry *nlp_registry_new(void) {
  nlp_registry *reg = g_new0(nlp_registry, 1);
  reg->search_path = g_ptr_array_new_with_free_func(g_free);
  reg->plugins = g_ptr_array_new_with_free_func(plugin_free);
  reg->problems = g_ptr_array_new_with_free_func(g_free);
  reg->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  reg->seen_files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  return reg;
}

void nlp_registry_free(nlp_registry *reg) {
  if (!reg) return;
  g_hash_table_destroy(reg->by_name);
  g_hash_table_destroy(reg->seen_files);
  g_ptr_array_free(reg->plugins, TRUE);
  g_ptr_array_free(reg->problems, TRUE);
  g_ptr_array_free(reg->search_path, TRUE);
  g_free(reg);
}

void nlp_registry_add_path(nlp_registry *reg, const char *path_list) {
  if (!path_list) return;
  char **parts = g_strsplit(path_list, G_SEARCHPATH_SEPARATOR_S, -1);
  for (char **p = parts; *p; p++)
    if (**p) g_ptr_array_add(reg->search_path, g_strdup(*p));
  g_strfreev(parts);
  reg->scanned = false;
}

/* Folder of the running executable, so a build tree finds its own plugins
 * (build/nlpipe -> build/plugins) without installing anything. */
static char *exe_dir(void) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return NULL;
  buf[n] = '\0';
  return g_path_get_dirname(buf);
}

void nlp_registry_add_default_paths(nlp_registry *reg) {
  nlp_registry_add_path(reg, g_getenv("NLPIPE_PLUGIN_PATH"));
  char *dir = exe_dir();
  if (dir) {
    g_ptr_array_add(reg->search_path, g_build_filename(dir, "plugins", NULL));
    g_free(dir);
  }
  g_ptr_array_add(reg->search_path, g_strdup(NLPIPE_PLUGIN_INSTALL_DIR));
  reg->scanned = false;
}

static gboolean refuse(GError **error, int code, const char *path, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static gboolean refuse(GError **error, int code, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *why = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, NLP_ERROR, code, "plugin %s: %s", path, why);
  g_free(why);
  return FALSE;
}

/* Checks the fields every descriptor must have; returns the missing one or NULL. */
static const char *missing_field(const nlp_plugin_desc *d) {
  if (!d->name || !*d->name) return "name";
  if (!d->version) return "version";
  if (!d->license) return "license";
  if (!d->create) return "create";
  if (!d->process) return "process";
  if (!d->destroy) return "destroy";
  if (d->n_options && !d->options) return "options";
  return NULL;
}

gboolean nlp_registry_load_file(nlp_registry *reg, const char *path, GError **error) {
  char *canonical = realpath(path, NULL);
  if (!canonical)
    return refuse(error, NLP_ERROR_PLUGIN, path, "cannot open: %s", g_strerror(errno));
  if (g_hash_table_contains(reg->seen_files, canonical)) {
    free(canonical);
    return TRUE; /* the same file reached through two search entries */
  }
  g_hash_table_add(reg->seen_files, g_strdup(canonical));
  free(canonical);

  /* RTLD_LOCAL keeps one plugin's symbols from satisfying another's. */
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return refuse(error, NLP_ERROR_PLUGIN, path, "not a plugin (cannot load it: %s)",
                  dlerror());
  dlerror();
  nlp_plugin_get_descriptor_fn get =
      (nlp_plugin_get_descriptor_fn)dlsym(handle, NLP_PLUGIN_DESCRIPTOR_SYMBOL);
  if (!get)
    return refuse(error, NLP_ERROR_PLUGIN, path,
                  "not an nlpipe plugin: missing symbol %s (write NLP_PLUGIN_DEFINE in it)",
                  NLP_PLUGIN_DESCRIPTOR_SYMBOL);
  const nlp_plugin_desc *desc = get();
  if (!desc)
    return refuse(error, NLP_ERROR_PLUGIN, path, "%s() returned NULL",
                  NLP_PLUGIN_DESCRIPTOR_SYMBOL);
  if (NLP_PLUGIN_ABI_MAJOR_OF(desc->abi_version) != NLP_PLUGIN_ABI_MAJOR)
    return refuse(error, NLP_ERROR_PLUGIN_ABI, path,
                  "plugin ABI mismatch: the plugin was built for ABI %u.%u, this nlpipe "
                  "provides ABI %u.%u (rebuild the plugin against this nlpipe/plugin.h)",
                  NLP_PLUGIN_ABI_MAJOR_OF(desc->abi_version),
                  NLP_PLUGIN_ABI_MINOR_OF(desc->abi_version), NLP_PLUGIN_ABI_MAJOR,
                  NLP_PLUGIN_ABI_MINOR);
  /* A 1.x descriptor is at least as large as 1.0's; anything smaller is corrupt. */
  if (desc->struct_size < offsetof(nlp_plugin_desc, reserved))
    return refuse(error, NLP_ERROR_PLUGIN_ABI, path,
                  "descriptor struct_size %u is smaller than ABI %u.0 requires (%zu)",
                  desc->struct_size, NLP_PLUGIN_ABI_MAJOR,
                  offsetof(nlp_plugin_desc, reserved));
  const char *missing = missing_field(desc);
  if (missing)
    return refuse(error, NLP_ERROR_PLUGIN, path, "descriptor has no '%s'", missing);
  const nlp_plugin *other = g_hash_table_lookup(reg->by_name, desc->name);
  if (other)
    return refuse(error, NLP_ERROR_PLUGIN, path,
                  "duplicate plugin name '%s' (already loaded from %s, which comes first "
                  "in the search path)",
                  desc->name, other->path);
  if (desc->init) {
    char *why = NULL;
    nlp_status st = desc->init(nlp_host_get(), &why);
    if (st != NLP_STATUS_OK) {
      gboolean r = refuse(error, NLP_ERROR_PLUGIN, path, "init of '%s' failed: %s",
                          desc->name, why ? why : "(no reason given)");
      free(why);
      return r;
    }
    free(why);
  }
  nlp_plugin *plugin = g_new0(nlp_plugin, 1);
  plugin->path = g_strdup(path);
  plugin->handle = handle;
  plugin->desc = desc;
  g_ptr_array_add(reg->plugins, plugin);
  g_hash_table_insert(reg->by_name, (gpointer)desc->name, plugin);
  return TRUE;
}

static void keep_problem(nlp_registry *reg, GError *err) {
  g_ptr_array_add(reg->problems, g_strdup(err->message));
  g_error_free(err);
}

static int compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_folder(nlp_registry *reg, const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return; /* an absent default folder is normal */
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(d)))
    if (g_str_has_suffix(name, ".so")) g_ptr_array_add(names, g_strdup(name));
  g_dir_close(d);
  /* Sorted, so "first wins" among duplicates in one folder is reproducible. */
  g_ptr_array_sort(names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    char *file = g_build_filename(dir, names->pdata[i], NULL);
    GError *err = NULL;
    if (!nlp_registry_load_file(reg, file, &err)) keep_problem(reg, err);
    g_free(file);
  }
  g_ptr_array_free(names, TRUE);
}

void nlp_registry_scan(nlp_registry *reg) {
  if (reg->scanned) return;
  reg->scanned = true;
  for (guint i = 0; i < reg->search_path->len; i++) {
    const char *p = reg->search_path->pdata[i];
    if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
      scan_folder(reg, p);
    } else if (g_file_test(p, G_FILE_TEST_EXISTS)) {
      GError *err = NULL;
      if (!nlp_registry_load_file(reg, p, &err)) keep_problem(reg, err);
    }
  }
}

const nlp_plugin *nlp_registry_find(nlp_registry *reg, const char *name) {
  nlp_registry_scan(reg);
  return g_hash_table_lookup(reg->by_name, name);
}

const GPtrArray *nlp_registry_plugins(nlp_registry *reg) {
  nlp_registry_scan(reg);
  return reg->plugins;
}

const GPtrArray *nlp_registry_problems(nlp_registry *reg) { return reg->problems; }

const GPtrArray *nlp_registry_search_path(nlp_registry *reg) { return reg->search_path; }
