/* tokenizer.h — Hugging Face compatible tokenizers (WordPiece, BPE, Unigram, WordLevel)
 * loaded from tokenizer.json or from legacy files (vocab.txt, vocab.json + merges.txt,
 * SentencePiece .model), giving the same ids, tokens, offsets, type ids and word ids
 * as Hugging Face `tokenizers` (Rust).
 *
 * Ownership: nlp_tokenizer_load returns a tokenizer the caller frees with
 * nlp_tokenizer_free. A loaded tokenizer is immutable: encode/decode may run
 * concurrently from any number of threads on one tokenizer (scratch buffers and a cache
 * of tokenized words belong to the calling thread, freed when it exits; a thread keeps
 * about 256 KB of cache for each of the last 4 tokenizers it used). nlp_tokenizer_encode returns a list the caller frees with
 * nlp_encoding_list_free; the `tokens` strings inside it are owned by the list or
 * borrowed from the tokenizer's vocabulary: never free them, and use them only while
 * both the list and the tokenizer live.
 * Every _free accepts NULL.
 *
 * Offsets are [start, end) in Unicode code points of the text passed in (each text of a
 * pair has its own origin), as Python `tokenizers` returns them. */
#ifndef NLP_TOKENIZER_TOKENIZER_H
#define NLP_TOKENIZER_TOKENIZER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nlp_tokenizer nlp_tokenizer;

/* PATH is a model folder (tokenizer.json preferred, else vocab.txt, vocab.json +
 * merges.txt, or a SentencePiece *.model) or one of those files. Errors (domain
 * NLP_ERROR): NLP_ERROR_IO (missing/unreadable), NLP_ERROR_PARSE (bad JSON/protobuf),
 * NLP_ERROR_MODEL (a well-formed file with wrong content), NLP_ERROR_UNSUPPORTED (an
 * unknown component type, named in the message with the file). */
nlp_tokenizer *nlp_tokenizer_load(const char *path, GError **error);
void nlp_tokenizer_free(nlp_tokenizer *tok);

typedef enum {
  NLP_TRUNCATE_NONE,
  NLP_TRUNCATE_LONGEST_FIRST,
  NLP_TRUNCATE_ONLY_FIRST,
  NLP_TRUNCATE_ONLY_SECOND
} nlp_truncation;

typedef struct nlp_encode_params {
  size_t max_length;       /* 0 = no truncation; counts the special tokens too */
  size_t stride;           /* overlap of consecutive overflow windows (< window length) */
  nlp_truncation truncation;
  bool add_special_tokens; /* apply the post-processor's template ([CLS] ... [SEP]) */
  size_t pad_to;           /* 0 = no padding; else every window padded (right) to this */
} nlp_encode_params;

/* max_length 0, stride 0, longest_first, add_special_tokens true, pad_to 0. */
nlp_encode_params nlp_encode_default_params(void);

typedef struct nlp_encoding {
  size_t n;
  int32_t *ids, *type_ids;
  int32_t *word_ids;       /* -1 for special and padding tokens */
  int32_t *seq_ids;        /* -1 special/padding, 0 first text, 1 second text */
  int32_t *offsets;        /* 2*n: start, end in code points of its own text */
  int32_t *attention_mask;
  uint8_t *special_mask;   /* 1 for special and padding tokens */
  char **tokens;           /* borrowed from the tokenizer (see above) */
} nlp_encoding;

typedef struct nlp_encoding_list {
  size_t n;
  nlp_encoding *items; /* items[0] first window, then overflow windows in HF order */
  void *strings;       /* internal: owns token strings that are not in the vocabulary
                          (a Unigram unknown piece is shown as its text, as HF does) */
} nlp_encoding_list;

/* Tokenizes TEXT (LEN bytes of UTF-8, need not be NUL-terminated) and optionally PAIR.
 * Invalid UTF-8 is refused with NLP_ERROR_INPUT (never a crash); so are an impossible
 * truncation (only_second without a pair, a sequence too short for only_first/second,
 * max_length below the number of special tokens) and stride >= window length.
 * Empty text gives just the special tokens. PARAMS NULL = defaults. */
nlp_encoding_list *nlp_tokenizer_encode(const nlp_tokenizer *tok, const char *text, size_t len,
                                        const char *pair, size_t pair_len,
                                        const nlp_encode_params *params, GError **error);
void nlp_encoding_list_free(nlp_encoding_list *list);

/* Ids back to text through the tokenizer's decoder (tokens joined by spaces when it has
 * none); ids out of range are skipped. Newly allocated, g_free it. Never NULL. */
char *nlp_tokenizer_decode(const nlp_tokenizer *tok, const int32_t *ids, size_t n, bool skip_special);

int32_t nlp_tokenizer_token_to_id(const nlp_tokenizer *tok, const char *token); /* -1 if absent */
const char *nlp_tokenizer_id_to_token(const nlp_tokenizer *tok, int32_t id);   /* borrowed, NULL if absent */
/* Model vocabulary plus added tokens (HF get_vocab_size(with_added_tokens=true)). */
size_t nlp_tokenizer_vocab_size(const nlp_tokenizer *tok);

/* Special token ids, -1 when the tokenizer has none. cls falls back to bos (<s>),
 * sep to eos (</s>). */
int32_t nlp_tokenizer_cls_id(const nlp_tokenizer *tok);
int32_t nlp_tokenizer_sep_id(const nlp_tokenizer *tok);
int32_t nlp_tokenizer_pad_id(const nlp_tokenizer *tok);
int32_t nlp_tokenizer_unk_id(const nlp_tokenizer *tok);
int32_t nlp_tokenizer_mask_id(const nlp_tokenizer *tok);
int32_t nlp_tokenizer_bos_id(const nlp_tokenizer *tok);
int32_t nlp_tokenizer_eos_id(const nlp_tokenizer *tok);
/* Number of tokens the post-processor adds around one text / a pair (2 and 3 for BERT):
 * a window of max_length holds max_length - this many text tokens. */
size_t nlp_tokenizer_num_special_tokens(const nlp_tokenizer *tok, bool pair);

#endif
