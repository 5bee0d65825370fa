/* problems.h — collects validation problems as "<json path>: <message>" lines, so
 * a validator reports everything wrong with a file in one pass. */
#ifndef NLP_PIPELINE_PROBLEMS_H
#define NLP_PIPELINE_PROBLEMS_H

#include <glib.h>
#include <json-c/json.h>

/* Appends "<path>: <message>" to problems (a GPtrArray of char*, g_free). */
void nlp_problem_add(GPtrArray *problems, const char *path, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* "expected <what>, got <compact JSON of value>" for type and range errors. */
void nlp_problem_expected(GPtrArray *problems, const char *path, const char *what,
                          json_object *value);

/* Sets an NLP_ERROR_CONFIG error holding every problem, one per line, and returns
 * FALSE; returns TRUE when there are none. */
gboolean nlp_problems_to_error(GPtrArray *problems, GError **error);

#endif
