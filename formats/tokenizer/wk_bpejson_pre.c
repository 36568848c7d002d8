/* wk_bpejson_pre.c — tokenizer.json pre-tokenizers -> llama.cpp's tokenizer.ggml.pre names.
 *
 * One row per llama.cpp pre-tokenizer type we can state exactly: the Isolated splits the
 * tokenizer.json pre_tokenizer applies (its Split regexes as written in tokenizer.json,
 * ByteLevel's built-in GPT-2 regex when use_regex, Digits as \p{N} / \p{N}+), and
 * model.ignore_merges as llama.cpp sets it for that name.  Where each row comes from in
 * llama.cpp's source (src/llama-vocab.cpp: the name -> type list in llama_vocab::load
 * and the regex list of llm_tokenizer_bpe per type) is written down, row by row, in
 * docs/formats/tokenizer-json-bpe.md; tests/peer/pack_bpe.sh checks every row against
 * the real llama.cpp and the real `tokenizers`. */
#include "wk_bpejson.h"

#include <stdio.h>
#include <string.h>

/* tokenizers' ByteLevel pre-tokenizer regex (llama.cpp's LLAMA_VOCAB_PRE_TYPE_GPT2 list
 * has it without the final "|\s+", which is the same split: unmatched text is a piece). */
const char wk_bpej_gpt2_regex[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_LLAMA3: "original regex from tokenizer.json". */
#define RE_LLAMA3 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* LLAMA_VOCAB_PRE_TYPE_QWEN2: "original regex from tokenizer.json". */
#define RE_QWEN2 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* LLAMA_VOCAB_PRE_TYPE_QWEN35: "original regex from tokenizer.json". */
#define RE_QWEN35 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_CODER: its list, the last entry from Digits(individual). */
#define RE_DSC_CJK "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+"

typedef struct {
    const char *name;
    int ignore_merges;
    size_t n;
    const char *step[WK_BPEJ_MAX_STEPS];
} pre_row;

static const pre_row k_rows[] = {
    {.name = "llama-bpe", .ignore_merges = 1, .n = 1, .step = {RE_LLAMA3}},
    {.name = "smaug-bpe", .ignore_merges = 0, .n = 1, .step = {RE_LLAMA3}},
    {.name = "qwen2", .ignore_merges = 0, .n = 1, .step = {RE_QWEN2}},
    {.name = "qwen35", .ignore_merges = 0, .n = 1, .step = {RE_QWEN35}},
    {.name = "gpt-2", .ignore_merges = 0, .n = 1, .step = {wk_bpej_gpt2_regex}},
    {.name = "starcoder", .ignore_merges = 0, .n = 2, .step = {"\\p{N}", wk_bpej_gpt2_regex}},
    {.name = "deepseek-coder", .ignore_merges = 0, .n = 5,
     .step = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_DSC_CJK, "\\p{N}"}},
};
#define N_ROWS (sizeof k_rows / sizeof *k_rows)

const char *wk_bpej_pre_lookup(const wk_bpej_steps *s, int ignore_merges)
{
    for (size_t r = 0; r < N_ROWS; r++) {
        const pre_row *row = &k_rows[r];
        if (row->n != s->n || row->ignore_merges != !!ignore_merges) continue;
        size_t i = 0;
        while (i < s->n && strcmp(row->step[i], s->step[i]) == 0) i++;
        if (i == s->n) return row->name;
    }
    return NULL;
}

int wk_bpej_pre_known(const char *name)
{
    for (size_t r = 0; r < N_ROWS; r++)
        if (strcmp(k_rows[r].name, name) == 0) return 1;
    return 0;
}

void wk_bpej_pre_names(char *buf, size_t cap)
{
    size_t at = 0;
    if (cap) buf[0] = 0;
    for (size_t r = 0; r < N_ROWS && at < cap; r++) {
        int k = snprintf(buf + at, cap - at, "%s%s", r ? ", " : "", k_rows[r].name);
        if (k < 0) break;
        at += (size_t)k;
    }
}
