/* internal.h — the tokenizer's private structures, shared by its files only.
 *
 * Text flows as "pieces": UTF-8 bytes plus, for every byte, the [start, end) span in
 * code points of the ORIGINAL text it came from (HF's NormalizedString alignments, kept
 * per byte so that any byte range maps back with al[a].s .. al[b-1].e). Normalizers
 * rewrite a piece, pre-tokenizers cut it into more pieces, models turn each piece into
 * tokens. All per-call memory is tracked in an nlp_tk_scratch and freed at once, and
 * what outlives a call (buffers, the word cache) is the calling thread's (context.h), so
 * the loaded tokenizer is never written during encode (thread safety). */
#ifndef NLP_TOKENIZER_INTERNAL_H
#define NLP_TOKENIZER_INTERNAL_H

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"
#include "util/error.h"

typedef struct { int32_t s, e; } nlp_tk_span;

typedef struct {
  const char *s;
  const nlp_tk_span *al;
  size_t len;
  int32_t added_id; /* >= 0: an added token already matched, left alone downstream */
} nlp_tk_piece;

/* Per-call allocations, freed together. Small requests come from a bump arena that
 * survives nlp_tk_scratch_reset, so a per-thread scratch (context.c) encodes text after
 * text without touching malloc; the work arrays serve the pre-tokenizers the same way. */
typedef struct {
  GPtrArray *blocks;              /* adopted and overflow blocks, freed at reset */
  char *arena;                    /* bump area, kept across resets */
  size_t arena_cap, arena_used, demand;
  GArray *work[4];                /* reusable pre-tokenizer arrays, see nlp_tk_scratch_array */
} nlp_tk_scratch;
void nlp_tk_scratch_init(nlp_tk_scratch *sc);
void nlp_tk_scratch_clear(nlp_tk_scratch *sc); /* frees everything */
void nlp_tk_scratch_reset(nlp_tk_scratch *sc); /* frees the call's blocks, keeps the arena */
void *nlp_tk_scratch_alloc(nlp_tk_scratch *sc, size_t size);
void nlp_tk_scratch_adopt(nlp_tk_scratch *sc, void *block);
/* Work array SLOT (0..3), emptied, for elements of ELT bytes (one size per slot). */
GArray *nlp_tk_scratch_array(nlp_tk_scratch *sc, int slot, size_t elt);

/* Growing text + alignment buffer; nlp_tk_sbuf_finish hands it to a piece. */
typedef struct { char *s; nlp_tk_span *al; size_t len, cap; } nlp_tk_sbuf;
void nlp_tk_sbuf_init(nlp_tk_sbuf *b, size_t cap);
void nlp_tk_sbuf_push(nlp_tk_sbuf *b, gunichar c, nlp_tk_span sp);
void nlp_tk_sbuf_push_bytes(nlp_tk_sbuf *b, const char *s, size_t n, nlp_tk_span sp);
void nlp_tk_sbuf_finish(nlp_tk_sbuf *b, nlp_tk_scratch *sc, nlp_tk_piece *out);

/* ---- vocabulary: token <-> id, open addressing on (bytes, length) */
typedef struct {
  char **tok;      /* id -> token (NULL for holes), owned */
  uint32_t *len;
  size_t n;        /* ids are 0..n-1 */
  int32_t *slots;  /* id or -1 (build only) */
  /* lookup table, same layout as slots: id (or -1), length and the first 8 bytes
   * inline, so a probe is one cache line and tokens of <= 8 bytes need nothing else */
  struct nlp_tk_vent { int32_t id; uint32_t len; uint64_t head; } *ent;
  size_t mask;
  size_t max_len;  /* longest token in bytes */
} nlp_tk_vocab;
void nlp_tk_vocab_init(nlp_tk_vocab *v, size_t n);
/* Sets token of ID (copied); false if the token is already present with another id. */
bool nlp_tk_vocab_set(nlp_tk_vocab *v, int32_t id, const char *tok, size_t len);
void nlp_tk_vocab_build_index(nlp_tk_vocab *v);
int32_t nlp_tk_vocab_find(const nlp_tk_vocab *v, const char *s, size_t len);
void nlp_tk_vocab_clear(nlp_tk_vocab *v);

/* ---- Unicode helpers, HF's definitions (Rust char methods) over GLib */
bool nlp_tk_is_whitespace(gunichar c);
bool nlp_tk_is_control(gunichar c);
bool nlp_tk_is_punctuation(gunichar c);
bool nlp_tk_is_chinese(gunichar c);
const char *nlp_tk_byte_to_char(uint8_t b); /* GPT-2 bytes_to_unicode, UTF-8 */
int nlp_tk_char_to_byte(gunichar c);        /* inverse, -1 if not a byte char */

/* ---- normalizers */
typedef enum {
  NLP_NORM_BERT, NLP_NORM_LOWERCASE, NLP_NORM_NFC, NLP_NORM_NFD, NLP_NORM_NFKC, NLP_NORM_NFKD,
  NLP_NORM_STRIP_ACCENTS, NLP_NORM_REPLACE, NLP_NORM_PREPEND, NLP_NORM_STRIP, NLP_NORM_SEQUENCE,
  NLP_NORM_PRECOMPILED, NLP_NORM_SENTENCEPIECE
} nlp_tk_norm_type;

typedef struct nlp_tk_normalizer nlp_tk_normalizer;
struct nlp_tk_normalizer {
  nlp_tk_norm_type type;
  bool clean_text, handle_chinese, strip_accents, lowercase; /* Bert */
  bool left, right;                                         /* Strip */
  char *pattern, *content;                                  /* Replace (literal), Prepend */
  GRegex *regex;                                            /* Replace (regex) */
  const uint32_t *trie; size_t trie_n; const char *norm; size_t norm_n; /* Precompiled */
  GBytes *charsmap;                                         /* owns trie/norm */
  bool sp_add_dummy_prefix, sp_remove_extra_ws, sp_escape_ws;
  /* SentencePiece: the model whose user-defined pieces are copied unnormalized (the
   * tokenizer's own, borrowed), as the library's normalizer does; NULL if none */
  const struct nlp_tk_model *sp_user;
  nlp_tk_normalizer **children; size_t n_children;          /* Sequence */
};
void nlp_tk_normalizer_free(nlp_tk_normalizer *n);
void nlp_tk_normalize(const nlp_tk_normalizer *n, nlp_tk_piece *p, nlp_tk_scratch *sc);

/* ---- pre-tokenizers */
typedef enum { NLP_SPLIT_REMOVED, NLP_SPLIT_ISOLATED, NLP_SPLIT_MERGED_PREV, NLP_SPLIT_MERGED_NEXT, NLP_SPLIT_CONTIGUOUS } nlp_tk_split_behavior;
typedef enum {
  NLP_PRE_BERT, NLP_PRE_BYTELEVEL, NLP_PRE_WHITESPACE, NLP_PRE_WHITESPACE_SPLIT, NLP_PRE_METASPACE,
  NLP_PRE_PUNCTUATION, NLP_PRE_DIGITS, NLP_PRE_SPLIT, NLP_PRE_SEQUENCE
} nlp_tk_pre_type;
typedef enum { NLP_PREPEND_ALWAYS, NLP_PREPEND_FIRST, NLP_PREPEND_NEVER } nlp_tk_prepend;

typedef struct nlp_tk_pretokenizer nlp_tk_pretokenizer;
struct nlp_tk_pretokenizer {
  nlp_tk_pre_type type;
  bool add_prefix_space, use_regex;  /* ByteLevel */
  char *replacement; nlp_tk_prepend prepend; bool split; /* Metaspace */
  bool individual_digits;            /* Digits */
  nlp_tk_split_behavior behavior; bool invert; GRegex *regex; /* Split, Punctuation */
  nlp_tk_pretokenizer **children; size_t n_children;
};
void nlp_tk_pretokenizer_free(nlp_tk_pretokenizer *p);
/* Replaces the pieces in *ARR (GArray of nlp_tk_piece) by their splits. *ARR may be
 * swapped with one of SC's work arrays (no copy): both stay owned by their holders. */
void nlp_tk_pretokenize(const nlp_tk_pretokenizer *p, GArray **arr, nlp_tk_scratch *sc);
GRegex *nlp_tk_gpt2_regex(void);

/* ---- models */
typedef struct { int32_t id; uint32_t a, b; } nlp_tk_tok; /* bytes [a,b) of its piece */

typedef enum { NLP_MODEL_WORDPIECE, NLP_MODEL_BPE, NLP_MODEL_UNIGRAM, NLP_MODEL_WORDLEVEL, NLP_MODEL_SP_BPE } nlp_tk_model_type;

typedef struct { uint64_t *keys; int32_t *rank, *newid; size_t mask, n; } nlp_tk_merges;

typedef struct nlp_tk_model {
  nlp_tk_model_type type;
  nlp_tk_vocab vocab;
  int32_t unk_id;
  /* WordPiece */
  char *prefix; size_t max_chars;
  /* BPE */
  char *suffix; bool fuse_unk, byte_fallback, ignore_merges;
  nlp_tk_merges merges;
  /* Unigram / SentencePiece BPE */
  double *scores; double min_score; uint8_t *sp_type; /* sentencepiece piece type, NULL = all normal */
  int32_t byte_ids[256]; bool has_bytes;
  /* SentencePiece: the best NORMAL score (Unigram scores user-defined pieces from it),
   * and whether any piece is UNUSED (BPE then splits them back after merging) */
  double max_score; bool sp_unused;
  /* SentencePiece: user-defined pieces, matched longest first in the text (by the
   * normalizer, which leaves them as they are, and by BPE, for which each is one symbol
   * never merged); first bytes (bit set) and longest length, so most positions skip
   * the lookup */
  uint8_t ud_first[32]; size_t ud_max;
  /* WordPiece byte trie (longest match in one walk): edges (node << 8 | byte) -> child */
  uint64_t *tr_keys; int32_t *tr_child; size_t tr_mask; int32_t *tr_term; size_t tr_nodes; int32_t tr_cont;
  /* the same table for the walk: key, child and the child's terminal id in one line */
  struct nlp_tk_tedge { uint64_t key; int32_t child, term; } *tr_edge;
} nlp_tk_model;
void nlp_tk_wordpiece_build_trie(nlp_tk_model *m);
void nlp_tk_model_clear(nlp_tk_model *m);
/* Appends the tokens of one piece to OUT (GArray of nlp_tk_tok). */
void nlp_tk_wordpiece_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out);
void nlp_tk_bpe_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out);
void nlp_tk_unigram_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out);
void nlp_tk_spbpe_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out);
void nlp_tk_merges_init(nlp_tk_merges *mg, size_t n);
void nlp_tk_merges_add(nlp_tk_merges *mg, int32_t a, int32_t b, int32_t rank, int32_t newid);
bool nlp_tk_merges_find(const nlp_tk_merges *mg, int32_t a, int32_t b, int32_t *rank, int32_t *newid);
void nlp_tk_merges_clear(nlp_tk_merges *mg);
void nlp_tk_model_index_bytes(nlp_tk_model *m); /* fills byte_ids from <0xXX> tokens */
/* SentencePiece PrefixMatcher: length of the longest user-defined piece at s[0..len), 0 if none */
size_t nlp_tk_sp_user_match(const nlp_tk_model *m, const char *s, size_t len);

/* ---- post-processing template */
typedef struct { bool is_seq; int seq; int32_t type_id; int32_t *ids; char **toks; size_t n; } nlp_tk_tpl_item;
typedef struct { nlp_tk_tpl_item *items; size_t n; } nlp_tk_template;
typedef struct {
  nlp_tk_template single, pair;
  bool has_template;
  bool trim_offsets, add_prefix_space; /* ByteLevel / Roberta offset trimming */
} nlp_tk_post;
void nlp_tk_post_clear(nlp_tk_post *p);
size_t nlp_tk_template_added(const nlp_tk_template *t);

/* ---- decoders */
typedef enum {
  NLP_DEC_WORDPIECE, NLP_DEC_BYTELEVEL, NLP_DEC_METASPACE, NLP_DEC_BYTEFALLBACK, NLP_DEC_FUSE,
  NLP_DEC_STRIP, NLP_DEC_REPLACE, NLP_DEC_BPE, NLP_DEC_SEQUENCE
} nlp_tk_dec_type;
typedef struct nlp_tk_decoder nlp_tk_decoder;
struct nlp_tk_decoder {
  nlp_tk_dec_type type;
  char *prefix; bool cleanup;                   /* WordPiece; BPEDecoder suffix in prefix */
  char *replacement; nlp_tk_prepend prepend;    /* Metaspace */
  char *pattern, *content; size_t start, stop;  /* Replace, Strip */
  nlp_tk_decoder **children; size_t n_children;
};
void nlp_tk_decoder_free(nlp_tk_decoder *d);
/* Rewrites TOKENS (GPtrArray of g_malloc'd strings) in place, HF decode_chain. */
void nlp_tk_decode_chain(const nlp_tk_decoder *d, GPtrArray *tokens);

/* ---- added tokens */
typedef struct {
  char *content; size_t len; int32_t id;
  bool single_word, lstrip, rstrip, normalized, special;
} nlp_tk_added;

/* ---- the tokenizer */
struct nlp_tokenizer {
  char *path;
  nlp_tk_normalizer *normalizer;
  nlp_tk_pretokenizer *pre;
  nlp_tk_model model;
  nlp_tk_post post;
  nlp_tk_decoder *decoder;
  nlp_tk_added *added; size_t n_added;
  int32_t max_added_id;
  GHashTable *added_by_content; /* content -> index+1 */
  GHashTable *added_by_id;      /* GINT_TO_POINTER(id) -> index+1 */
  uint8_t added_first_byte[256];  /* quick reject for matching non-normalized tokens */
  uint8_t added_first_byte_n[256];
  bool has_raw_added, has_norm_added;
  char **norm_added_content; /* content after the normalizer, for normalized tokens */
  int32_t cls_id, sep_id, pad_id, unk_id, mask_id, bos_id, eos_id;
  char *pad_token;
  const char **id2str; size_t n_id2str; /* id -> token (added tokens win), for speed */
  int added_single_first; /* the one first byte of all non-normalized added tokens, or -1 */
  uint64_t serial;        /* names this tokenizer in the per-thread caches (context.c) */
};

nlp_tokenizer *nlp_tk_new(const char *path);
/* After model/added tokens are set: fills the added-token indexes and special ids. */
void nlp_tk_finish(nlp_tokenizer *tok);
bool nlp_tk_add_token(nlp_tokenizer *tok, const nlp_tk_added *a);

nlp_tokenizer *nlp_tk_load_json(const char *file, GError **error);
nlp_tokenizer *nlp_tk_load_json_string(const char *file, const char *text, size_t len, GError **error);
nlp_tokenizer *nlp_tk_load_vocab_txt(const char *file, const char *config_dir, GError **error);
nlp_tokenizer *nlp_tk_load_vocab_merges(const char *vocab, const char *merges, const char *config_dir, GError **error);
nlp_tokenizer *nlp_tk_load_sentencepiece(const char *file, const char *config_dir, GError **error);

/* Darts double-array prefix search used by Precompiled / SentencePiece normalizers:
 * longest match of S; returns matched length (0 none) and the replacement. */
size_t nlp_tk_charsmap_longest(const nlp_tk_normalizer *n, const char *s, size_t len, const char **rep);
size_t nlp_tk_charsmap_first(const nlp_tk_normalizer *n, const char *s, size_t len, const char **rep);

#endif
