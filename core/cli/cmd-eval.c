/* `nlpipe eval PIPELINE_OR_HEAD DATA.jsonl`: the task's metrics on labelled data. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/load-pipeline.h"
#include "eval/pipeline-eval.h"
#include "pipeline/runner.h"
#include "train/trainer.h"

static const char *const summary =
    "Scores a head folder (written by `nlpipe train`: head.json + head.safetensors) or a\n"
    "pipeline on labelled JSONL in the task's record format:\n"
    "  classification: accuracy, macro_f1      NER: entity precision/recall/f1 (seqeval)\n"
    "  QA: exact_match, f1 (SQuAD script)      summary: rouge1/2/L F (rouge-score)\n"
    "  translation (pipelines): bleu, chrf (sacrebleu formulas)\n"
    "A head folder is scored with its own head code on its backbone, exactly as during\n"
    "training; a pipeline is run over DATA (read as JSONL whatever the pipeline's input\n"
    "format) and each step's results are compared with the gold fields of the same data\n"
    "record (label, entities, answers, references/summary, or --reference FIELD), even\n"
    "when a step's name is one of them. Values are fractions in [0, 1].\n\n"
    "Exit status: 0 scored, 1 failed, 2 bad command line or files.";

static void print_metrics(const char *prefix, json_object *m) {
  json_object_object_foreach(m, k, v) {
    if (json_object_is_type(v, json_type_object)) {
      char *p = g_strdup_printf("%s%s.", prefix, k);
      print_metrics(p, v);
      g_free(p);
    } else if (json_object_is_type(v, json_type_double)) {
      printf("%s%-16s %.4f\n", prefix, k, json_object_get_double(v));
    } else if (json_object_is_type(v, json_type_string)) {
      printf("%s%-16s %s\n", prefix, k, json_object_get_string(v));
    } else {
      printf("%s%-16s %s\n", prefix, k, json_object_to_json_string(v));
    }
  }
}

int nlp_cli_eval(int argc, char **argv) {
  gboolean as_json = FALSE;
  gint threads = 1;
  char *reference = NULL, *plugin_path = NULL;
  GOptionEntry entries[] = {
      {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print one JSON object instead of lines", NULL},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default 1)", "N"},
      {"reference", 'r', 0, G_OPTION_ARG_STRING, &reference,
       "Record field holding the reference text (summaries, translations)", "FIELD"},
      {"plugin-path", 0, 0, G_OPTION_ARG_STRING, &plugin_path, "Extra plugin folders", "DIRS"},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  GOptionContext *ctx = g_option_context_new("PIPELINE_OR_HEAD DATA.jsonl");
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int status = 2;
  json_object *metrics = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "nlpipe eval: %s (see nlpipe eval --help)\n", err->message);
    goto out;
  }
  if (argc != 3 || threads < 1) {
    fprintf(stderr, "nlpipe eval: expected a head folder or pipeline file and a data file "
            "(see nlpipe eval --help)\n");
    goto out;
  }
  if (!g_file_test(argv[2], G_FILE_TEST_IS_REGULAR)) {
    fprintf(stderr, "nlpipe eval: %s: no such file\n", argv[2]);
    goto out;
  }
  if (g_file_test(argv[1], G_FILE_TEST_IS_DIR)) {
    if (!nlp_train_evaluate_head(argv[1], argv[2], threads, &metrics, &err)) {
      fprintf(stderr, "nlpipe eval: %s\n", err->message);
      status = err->code == 0 ? 1 : 2;
      goto out;
    }
    json_object_object_add(metrics, "head", json_object_new_string(argv[1]));
    json_object_object_add(metrics, "data", json_object_new_string(argv[2]));
  } else {
    char *dir = g_dir_make_tmp("nlpipe-eval-XXXXXX", &err);
    if (!dir) {
      fprintf(stderr, "nlpipe eval: %s\n", err->message);
      goto out;
    }
    char *outp = g_build_filename(dir, "out.jsonl", NULL);
    nlp_spec_overrides ov = {argv[2], outp, -1, threads};
    nlp_registry *reg = nlp_cli_registry_new(plugin_path);
    nlp_pipeline_spec *spec = nlp_cli_load_pipeline(argv[1], &ov, reg);
    if (spec) {
      /* labelled data is JSONL, whatever the pipeline reads in production */
      spec->input.format = NLP_INPUT_JSONL;
      nlp_run_params params = nlp_run_default_params();
      nlp_run_stats stats;
      if (nlp_pipeline_run(spec, &params, &stats, &err)) {
        const char **names = g_new0(const char *, spec->steps->len + 1);
        for (guint i = 0; i < spec->steps->len; i++) names[i] = ((nlp_step_spec *)spec->steps->pdata[i])->name;
        metrics = nlp_eval_pipeline_output(outp, argv[2], names, spec->steps->len, reference, &err);
        g_free(names);
        if (metrics) {
          json_object_object_add(metrics, "pipeline", json_object_new_string(argv[1]));
          json_object_object_add(metrics, "data", json_object_new_string(argv[2]));
          json_object_object_add(metrics, "failed_records", json_object_new_int64((int64_t)stats.failed));
        }
      }
      if (err) {
        fprintf(stderr, "nlpipe eval: %s\n", err->message);
        status = 1;
      }
    }
    g_unlink(outp);
    char *ck = g_strconcat(outp, ".ckpt", NULL);
    g_unlink(ck);
    g_free(ck);
    g_rmdir(dir);
    g_free(outp);
    g_free(dir);
    nlp_spec_free(spec);
    nlp_registry_free(reg);
    if (!metrics) goto out;
  }
  if (as_json) {
    printf("%s\n", json_object_to_json_string_ext(metrics, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  } else {
    print_metrics("", metrics);
  }
  status = 0;
out:
  json_object_put(metrics);
  g_clear_error(&err);
  g_free(reference);
  g_free(plugin_path);
  g_option_context_free(ctx);
  return status;
}
