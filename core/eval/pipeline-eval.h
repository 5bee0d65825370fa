/* pipeline-eval.h — scores the output records of a pipeline run against the gold
 * fields of the same records (the runner copies each input record into its output).
 *
 * Each step's result is recognised by its shape, as the task plugins write them:
 *   {"label": ...} (or a list, best first)        -> accuracy, macro_f1 vs record "label"
 *   [{"start","end","entity_group"|"label"|"entity"}] -> entity precision/recall/f1 (exact
 *                                                    code-point span and type) vs "entities"
 *   {"answer": ...} (or a list, best first)       -> SQuAD exact_match / f1 vs "answers"[].text
 *   {"summary_text": ...}                          -> ROUGE-1/2/L F vs "references" (best) or
 *                                                    REFERENCE_FIELD / "summary"
 *   {"translation_text": ...}                      -> BLEU and chrF vs REFERENCE_FIELD
 * Records that failed (an "error" field) count as wrong / empty predictions. */
#ifndef NLP_EVAL_PIPELINE_EVAL_H
#define NLP_EVAL_PIPELINE_EVAL_H

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>

/* Reads the JSONL output OUT_PATH; returns {"<step>": {"metric": value, ...},
 * "records": n} (new reference) or NULL with ERROR. STEPS: the step names. */
json_object *nlp_eval_pipeline_output(const char *out_path, const char *const *steps,
                                      size_t n_steps, const char *reference_field,
                                      GError **error);

#endif
