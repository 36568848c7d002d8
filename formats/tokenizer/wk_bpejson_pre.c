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
#include "internal/wk_tok_impl.h"

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
/* LLAMA_VOCAB_PRE_TYPE_TEKKEN: "original regex from tokenizer.json". */
#define RE_TEKKEN "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* LLAMA_VOCAB_PRE_TYPE_GPT4O: "original regex from tokenizer.json". */
#define RE_GPT4O "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_CODER: its list, the last entry from Digits(individual). */
#define RE_DSC_CJK "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+"

/* LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM: its list (the last entry from Digits without
 * individual_digits); UTF-8 written as octal escapes. */
#define RE_DSL_LATIN "\\s?[A-Za-z\302\265\303\200-\303\226\303\230-\303\266\303\270-\306\272\306\274-\306\277\307\204-\312\223\312\225-\312\257\315\260-\315\263\315\266\315\267\315\273-\315\275\315\277\316\206\316\210-\316\212\316\214\316\216-\316\241\316\243-\317\265\317\267-\322\201\322\212-\324\257\324\261-\325\226\341\202\240-\341\203\205\341\216\240-\341\217\265\341\217\270-\341\217\275\341\262\220-\341\262\272\341\262\275-\341\262\277\341\264\200-\341\264\253\341\265\253-\341\265\267\341\265\271-\341\266\232\341\270\200-\341\274\225\341\274\230-\341\274\235\341\274\240-\341\275\205\341\275\210-\341\275\215\341\275\220-\341\275\227\341\275\231\341\275\233\341\275\235\341\275\237-\341\275\275\341\276\200-\341\276\264\341\276\266-\341\276\274\341\276\276\341\277\202-\341\277\204\341\277\206-\341\277\214\341\277\220-\341\277\223\341\277\226-\341\277\233\341\277\240-\341\277\254\341\277\262-\341\277\264\341\277\266-\341\277\274\342\204\202\342\204\207\342\204\212-\342\204\223\342\204\225\342\204\231-\342\204\235\342\204\244\342\204\246\342\204\250\342\204\252-\342\204\255\342\204\257-\342\204\264\342\204\271\342\204\274-\342\204\277\342\205\205-\342\205\211\342\205\216\342\206\203\342\206\204\342\260\200-\342\261\273\342\261\276-\342\263\244\342\263\253-\342\263\256\342\263\262\342\263\263\352\231\200-\352\231\255\352\232\200-\352\232\233\352\234\242-\352\235\257\352\235\261-\352\236\207\352\236\213-\352\236\216\352\255\260-\352\256\277\357\254\200-\357\254\206\357\254\223-\357\254\227\357\274\241-\357\274\272\357\275\201-\357\275\232\360\220\220\200-\360\220\221\217\360\220\222\260-\360\220\223\223\360\220\223\230-\360\220\223\273\360\220\262\200-\360\220\262\262\360\220\263\200-\360\220\263\262\360\221\242\240-\360\221\243\237\360\236\244\200-\360\236\245\203]+"
#define RE_DSL_PUNCT "\\s?[!-/:-~\357\274\201-\357\274\217\357\274\232-\357\275\236\342\200\230-\342\200\237\343\200\200-\343\200\202]+"

/* The DeepSeek classes, for the encoder's llama.cpp regex lists (wk_tok_bpe.c). */
const char wk_bpej_re_dsl_latin[] = RE_DSL_LATIN;
const char wk_bpej_re_dsl_punct[] = RE_DSL_PUNCT;
const char wk_bpej_re_dsc_cjk[] = RE_DSC_CJK;

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
    {.name = "tekken", .ignore_merges = 1, .n = 1, .step = {RE_TEKKEN}},
    {.name = "gpt-4o", .ignore_merges = 0, .n = 1, .step = {RE_GPT4O}},
    {.name = "gpt-2", .ignore_merges = 0, .n = 1, .step = {wk_bpej_gpt2_regex}},
    {.name = "starcoder", .ignore_merges = 0, .n = 2, .step = {"\\p{N}", wk_bpej_gpt2_regex}},
    {.name = "deepseek-llm", .ignore_merges = 0, .n = 6,
     .step = {"[\r\n]", RE_DSL_LATIN, RE_DSL_PUNCT, "\\s+$", RE_DSC_CJK, "\\p{N}+"}},
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
