/* pipeline-eval.h — scores the output records of a pipeline run against the gold
 * fields of the data records it read. Gold comes from the data file itself (line i of
 * the output is the runner's record for line i of the data), not from the output's
 * copy of the record, where a step named like a gold field ("entities", "summary",
 * "label") has replaced it with its own result.
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

/* Reads the JSONL output OUT_PATH of a run over DATA_PATH; returns {"<step>":
 * {"metric": value, ...}, "records": n} (new reference) or NULL with ERROR. STEPS: the
 * step names. */
json_object *nlp_eval_pipeline_output(const char *out_path, const char *data_path,
                                      const char *const *steps, size_t n_steps,
                                      const char *reference_field, GError **error);

#endif
