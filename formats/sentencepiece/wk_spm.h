/* wk_spm.h — SentencePiece `tokenizer.model` (a protobuf ModelProto) parsed
 * without libprotobuf.
 *
 * Reads what llama.cpp's converter uses: the pieces (text, score, type) and
 * the TrainerSpec / NormalizerSpec fields listed below; every other field,
 * including extensions, is skipped by wire type.  Scalars repeated in the
 * input keep the last value (protobuf semantics); absent fields have the
 * proto2 defaults.  Bounded: at most WK_SPM_MAX_BYTES of input, every length
 * checked against the bytes left, varints at most 10 bytes, groups (wire
 * types 3/4) and unknown wire types refused, no allocation from an unchecked
 * length.  Errors (WK_E_FORMAT / WK_E_LIMIT) name the file and byte offset.
 * Format notes: docs/formats/sentencepiece.md. */
#ifndef WK_SPM_H
#define WK_SPM_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

#define WK_SPM_MAX_BYTES (256u << 20)

/* SentencePiece.Type (same numbers as llama.cpp's token types). */
enum {
    WK_SPM_NORMAL = 1,
    WK_SPM_UNKNOWN = 2,
    WK_SPM_CONTROL = 3,
    WK_SPM_USER_DEFINED = 4,
    WK_SPM_UNUSED = 5,
    WK_SPM_BYTE = 6
};

/* TrainerSpec.ModelType */
enum { WK_SPM_UNIGRAM = 1, WK_SPM_BPE = 2, WK_SPM_WORD = 3, WK_SPM_CHAR = 4 };

typedef struct {
    char *text;       /* UTF-8 as stored, NUL-terminated (len bytes); in wk_spm.text_arena */
    size_t len;
    float score;      /* default 0 */
    int type;         /* default WK_SPM_NORMAL */
} wk_spm_piece;

typedef struct {
    wk_spm_piece *pieces;   /* index = token id */
    size_t n_pieces;
    char *text_arena;       /* owns every pieces[i].text */

    /* TrainerSpec (field 2) */
    int has_trainer;
    int model_type;                 /* 3, default UNIGRAM */
    int32_t vocab_size;             /* 4, default 8000 */
    int treat_whitespace_as_suffix; /* 24 */
    int split_digits;               /* 25 */
    int allow_whitespace_only_pieces; /* 26 */
    int byte_fallback;              /* 35 */
    int32_t unk_id, bos_id, eos_id, pad_id;  /* 40..43: 0, 1, 2, -1 */
    char *unk_surface;              /* 44, default " \xE2\x81\x87 " */
    char *unk_piece, *bos_piece, *eos_piece, *pad_piece;  /* 45..48 */
    size_t n_control_symbols;       /* 30 (count only) */
    size_t n_user_defined_symbols;  /* 31 (count only) */

    /* NormalizerSpec (field 3) */
    int has_normalizer;
    char *norm_name;                /* 1, NULL if absent */
    uint8_t *precompiled_charsmap;  /* 2, may be NULL */
    size_t charsmap_len;
    int add_dummy_prefix;           /* 3, default 1 */
    int remove_extra_whitespaces;   /* 4, default 1 */
    int escape_whitespaces;         /* 5, default 1 */
} wk_spm;

/* Parse len bytes of a serialized ModelProto into *m (everything copied;
 * data may be freed afterwards).  label names the source in messages, which
 * read "<label>: byte N: [piece M: ]<problem>".  WK_E_FORMAT for a malformed
 * message or a piece text that is not valid UTF-8; WK_E_LIMIT over
 * WK_SPM_MAX_BYTES; WK_E_NOMEM.
 * On failure *m is left empty (nothing to free, but wk_spm_free is safe). */
int wk_spm_parse(wk_spm *m, const void *data, size_t len, const char *label, wk_err *err);
/* Refuse, by name, what is clearly not a SentencePiece model: WK_E_UNSUPPORTED
 * "<label>: a tiktoken BPE vocabulary (Llama 3 style), not a SentencePiece
 * model: not supported yet"; WK_E_FORMAT for an empty or white-space-only
 * file and JSON ("<label>: a JSON file (tokenizer.json style), not a ..."),
 * judged from the first bytes (every complete line of the first 4 KiB
 * "<base64> <rank>": tiktoken).  0 when the bytes may be one (wk_spm_parse
 * decides).  wk_spm_parse calls this first. */
int wk_spm_sniff(const void *data, size_t len, const char *label, wk_err *err);
/* wk_spm_sniff on the first 4 KiB of the file at path (WK_E_IO if unreadable):
 * for tools that copy a tokenizer.model without parsing it. */
int wk_spm_check_file(const char *path, wk_err *err);

/* Map the file at path and parse it. */
int wk_spm_load(wk_spm *m, const char *path, wk_err *err);
/* As wk_spm_parse / wk_spm_load, refusing (WK_E_FORMAT, "<file>: N pieces, but
 * the embedding has only M rows") a model of more than max_pieces pieces (0 =
 * no limit) after counting them, before any allocation.  Memory: the pieces
 * array is allocated once, sizeof(wk_spm_piece) (32 bytes) per piece, the
 * texts in one block of len + n_pieces bytes; so at most
 * 32 * min(pieces, max_pieces) + len + pieces bytes (a piece costs >= 2 input
 * bytes), besides the input. */
int wk_spm_parse_max(wk_spm *m, const void *data, size_t len, const char *label, size_t max_pieces,
                     wk_err *err);
int wk_spm_load_max(wk_spm *m, const char *path, size_t max_pieces, wk_err *err);
void wk_spm_free(wk_spm *m);

/* Name of a piece type ("normal", "unknown", ...; "?" for others) and of a
 * model type ("unigram", "bpe", ...). */
const char *wk_spm_type_name(int type);
const char *wk_spm_model_type_name(int model_type);

#endif
