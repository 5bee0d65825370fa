/* errors.h — error strings that cross the plugin ABI.
 *
 * The ABI says strings returned through `char **error` are malloc()ed by the plugin
 * and free()d by the host, so every error message in this plugin is made here with
 * plain malloc (not g_malloc), whoever ends up owning it. */
#ifndef ER_ERRORS_H
#define ER_ERRORS_H

/* A malloc()ed, printf-formatted message; caller frees with free(). Never NULL
 * unless memory is exhausted. */
char *er_error_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Replaces *error (malloc()ed, may be NULL) with "<prefix>: <*error>". */
void er_error_prefix(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
