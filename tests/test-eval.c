/* test-eval.c — the metrics of core/eval on hand-computed cases, with the semantics
 * of the reference scripts (seqeval chunking, the SQuAD v1.1 script's normalisation,
 * rouge-score's tokenisation, sacrebleu's BLEU smoothing and chrF averaging). */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "support/harness.h"
#include "eval/metrics.h"

#define NEAR(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-9)

static void test_accuracy_macro_f1(void) {
  int32_t gold[] = {0, 1, 1, 0}, pred[] = {0, 1, 0, 0};
  NEAR(nlp_metric_accuracy(gold, pred, 4), 0.75);
  /* class 0: tp 2, gold 2, pred 3 -> 0.8; class 1: tp 1, gold 2, pred 1 -> 2/3 */
  NEAR(nlp_metric_macro_f1(gold, pred, 4, 2), (0.8 + 2.0 / 3.0) / 2);
  /* a label absent from both gold and predictions does not count (sklearn) */
  NEAR(nlp_metric_macro_f1(gold, pred, 4, 5), (0.8 + 2.0 / 3.0) / 2);
}

static void test_seqeval_chunks(void) {
  nlp_entity e[8];
  const char *bio[] = {"B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC"};
  CU_ASSERT_EQUAL(nlp_metric_tags_to_entities(bio, 6, e), 2);
  CU_ASSERT_TRUE(e[0].start == 0 && e[0].end == 2 && !strcmp(e[0].type, "PER"));
  CU_ASSERT_TRUE(e[1].start == 3 && e[1].end == 6 && !strcmp(e[1].type, "LOC"));
  /* seqeval default mode: I- after O starts an entity; a type change splits */
  const char *loose[] = {"O", "I-PER", "I-PER", "B-LOC", "I-ORG"};
  CU_ASSERT_EQUAL(nlp_metric_tags_to_entities(loose, 5, e), 3);
  CU_ASSERT_TRUE(e[0].start == 1 && e[0].end == 3 && !strcmp(e[0].type, "PER"));
  CU_ASSERT_TRUE(e[1].start == 3 && e[1].end == 4 && !strcmp(e[1].type, "LOC"));
  CU_ASSERT_TRUE(e[2].start == 4 && e[2].end == 5 && !strcmp(e[2].type, "ORG"));
  const char *bioes[] = {"S-PER", "B-LOC", "E-LOC", "O", "S-MISC"};
  CU_ASSERT_EQUAL(nlp_metric_tags_to_entities(bioes, 5, e), 3);
  CU_ASSERT_TRUE(e[0].start == 0 && e[0].end == 1 && !strcmp(e[0].type, "PER"));
  CU_ASSERT_TRUE(e[1].start == 1 && e[1].end == 3 && !strcmp(e[1].type, "LOC"));
  CU_ASSERT_TRUE(e[2].start == 4 && e[2].end == 5 && !strcmp(e[2].type, "MISC"));
}

static void test_entity_prf(void) {
  nlp_entity g[2], p[2];
  const char *gold[] = {"B-PER", "I-PER", "O", "B-LOC", "I-LOC"};
  const char *pred[] = {"B-PER", "I-PER", "O", "B-LOC", "O"}; /* LOC span too short */
  size_t ng = nlp_metric_tags_to_entities(gold, 5, g), np = nlp_metric_tags_to_entities(pred, 5, p);
  nlp_prf_counts c = {0};
  nlp_metric_entities_add(&c, g, ng, p, np);
  nlp_prf r = nlp_prf_from_counts(c);
  NEAR(r.precision, 0.5);
  NEAR(r.recall, 0.5);
  NEAR(r.f1, 0.5);
  /* the type must match too */
  const char *wrong[] = {"B-ORG", "I-ORG", "O", "B-LOC", "I-LOC"};
  np = nlp_metric_tags_to_entities(wrong, 5, p);
  nlp_prf_counts c2 = {0};
  nlp_metric_entities_add(&c2, g, ng, p, np);
  NEAR(nlp_prf_from_counts(c2).f1, 0.5);
}

static void test_squad(void) {
  char *n = nlp_squad_normalize("The  Quick, brown fox!");
  CU_ASSERT_STRING_EQUAL(n, "quick brown fox");
  g_free(n);
  n = nlp_squad_normalize("an apple a day");
  CU_ASSERT_STRING_EQUAL(n, "apple day");
  g_free(n);
  NEAR(nlp_squad_exact("the Eiffel Tower", "Eiffel tower."), 1.0);
  NEAR(nlp_squad_exact("Eiffel", "Eiffel tower"), 0.0);
  /* [big red dog] vs [red dog barked]: 2 common, P = R = 2/3 */
  NEAR(nlp_squad_f1("a big red dog", "the red dog barked"), 2.0 / 3.0);
  NEAR(nlp_squad_f1("", ""), 1.0);
  NEAR(nlp_squad_f1("the", "dog"), 0.0); /* "the" normalises to nothing */
  /* repeated tokens count with multiplicity (Counter intersection) */
  NEAR(nlp_squad_f1("dog dog dog", "dog cat"), 2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5));
}

static void test_rouge(void) {
  const char *p = "The cat sat on the mat.", *r = "the cat is on the mat";
  NEAR(nlp_rouge_n(p, r, 1).f1, 5.0 / 6.0);
  NEAR(nlp_rouge_n(p, r, 2).f1, 3.0 / 5.0);
  NEAR(nlp_rouge_l(p, r).f1, 5.0 / 6.0);
  nlp_prf x = nlp_rouge_n("a b", "a b c d", 1);
  NEAR(x.precision, 1.0);
  NEAR(x.recall, 0.5);
  NEAR(nlp_rouge_n("", "a", 1).f1, 0.0);
}

static void test_bleu_chrf(void) {
  const char *h[] = {"the cat sat on the mat"}, *r[] = {"the cat is on the mat"};
  /* p1 5/6, p2 3/5, p3 1/4, p4 0 -> exp smoothing 1/(2*3); BP 1 */
  NEAR(nlp_bleu_corpus(h, r, 1), pow(5.0 / 6 * 3.0 / 5 * 1.0 / 4 * 1.0 / 6, 0.25));
  const char *same[] = {"a quick brown fox jumps over it"};
  NEAR(nlp_bleu_corpus(same, same, 1), 1.0);
  /* brevity penalty: hyp 4 tokens, ref 6 */
  const char *hs[] = {"the cat is on"}, *rs[] = {"the cat is on the mat"};
  NEAR(nlp_bleu_corpus(hs, rs, 1), exp(1.0 - 6.0 / 4.0));
  NEAR(nlp_chrf_corpus(same, same, 1), 1.0);
  /* "ab" vs "ac": 1-grams P = R = 1/2, 2-grams 0; higher orders absent -> avg 1/4 */
  const char *a[] = {"ab"}, *b[] = {"a c"};
  NEAR(nlp_chrf_corpus(a, b, 1), 0.25);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("eval: metrics", NULL, NULL);
  CU_add_test(s, "accuracy and macro-F1", test_accuracy_macro_f1);
  CU_add_test(s, "seqeval chunking (BIO, loose I-, BIOES)", test_seqeval_chunks);
  CU_add_test(s, "entity precision / recall / F1", test_entity_prf);
  CU_add_test(s, "SQuAD normalisation, EM, F1", test_squad);
  CU_add_test(s, "ROUGE-1/2/L", test_rouge);
  CU_add_test(s, "BLEU and chrF", test_bleu_chrf);
}

int main(void) { return nlp_test_main(register_suites); }
