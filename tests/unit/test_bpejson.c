/* test_bpejson.c — the byte-level BPE tokenizer.json reader (formats/tokenizer/wk_bpejson.h):
 * a minimal document read back, both merge forms, added tokens, the template ids, the
 * pre-tokenizer table row by row, and refusals with the field they name. */
#include <stdio.h>
#include <string.h>

#include "wk_bpejson.h"
#include "wk_test.h"

/* A tiny byte-level document: vocab "a" "b" "ab" "Ġ" (U+0120), merges MERGES, pre-tokenizer PRE. */
static char *doc(char *buf, size_t cap, const char *pre, const char *merges, const char *added,
                 const char *extra)
{
    snprintf(buf, cap,
             "{\"added_tokens\": [%s], \"normalizer\": null, \"pre_tokenizer\": %s, %s"
             "\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"dropout\": null, "
             "\"ignore_merges\": false, \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, \"\\u0120\": 3}, "
             "\"merges\": %s}}",
             added, pre, extra, merges);
    return buf;
}

#define BL "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}"

static void test_minimal(void)
{
    char b[4096];
    wk_bpej t;
    wk_err e;
    doc(b, sizeof b, BL, "[\"a b\"]", "", "");
    CHECK_OK(wk_bpej_parse(&t, b, strlen(b), "t.json", NULL, &e), &e);
    CHECK_EQ_U64(t.n, 4);
    CHECK_EQ_U64(t.n_model, 4);
    CHECK_EQ_STR(t.tok[3], "\xc4\xa0");
    CHECK_EQ_U64(t.n_merges, 1);
    CHECK_EQ_STR(t.merges[0], "a b");
    CHECK_EQ_STR(t.pre, "gpt-2");
    CHECK(t.tpl_first < 0 && t.tpl_last < 0 && !t.has_template);
    wk_bpej_free(&t);
    doc(b, sizeof b, BL, "[[\"a\", \"b\"]]", "", "");   /* tokenizers >= 0.20 */
    CHECK_OK(wk_bpej_parse(&t, b, strlen(b), "t.json", NULL, &e), &e);
    CHECK_EQ_STR(t.merges[0], "a b");
    wk_bpej_free(&t);
}

static void test_added_and_template(void)
{
    char b[4096];
    wk_bpej t;
    wk_err e;
    doc(b, sizeof b, BL, "[]",
        "{\"id\": 4, \"content\": \"<|s|>\", \"special\": true}, {\"id\": 5, \"content\": \"<u>\", \"special\": false}, "
        "{\"id\": 1, \"content\": \"b\", \"special\": true}",
        "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<|s|>\"}}, "
        "{\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": {\"<|s|>\": {\"id\": \"<|s|>\", \"ids\": [4]}}}, ");
    CHECK_OK(wk_bpej_parse(&t, b, strlen(b), "t.json", NULL, &e), &e);
    CHECK_EQ_U64(t.n, 6);
    CHECK(t.added[4] && t.special[4] && t.added[5] && !t.special[5] && t.added[1] && t.special[1]);
    CHECK(!t.added[0]);
    CHECK_EQ_U64(wk_bpej_added_find(&t, "<u>"), 5);
    CHECK(wk_bpej_added_find(&t, "a") == -1);
    CHECK(t.has_template && t.tpl_first == 4 && t.tpl_last == -1);
    wk_bpej_free(&t);
}

/* The table: each row's own steps find it, with its ignore_merges only. */
static void test_table(void)
{
    static const struct {
        const char *name;
        int im;
        size_t n;
        const char *step[6];
    } rows[] = {
        {"llama-bpe", 1, 1, {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
        {"smaug-bpe", 0, 1, {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
        {"qwen2", 0, 1, {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
        {"gpt-2", 0, 1, {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"}},
        {"starcoder", 0, 2, {"\\p{N}", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        wk_bpej_steps s = {rows[r].n, {0}};
        for (size_t i = 0; i < s.n; i++) s.step[i] = rows[r].step[i];
        const char *got = wk_bpej_pre_lookup(&s, rows[r].im);
        CHECK_MSG(got && !strcmp(got, rows[r].name), "%s: got %s", rows[r].name, got ? got : "NULL");
        CHECK(wk_bpej_pre_known(rows[r].name));
    }
    wk_bpej_steps q = {1, {rows[2].step[0]}};
    CHECK(wk_bpej_pre_lookup(&q, 1) == NULL);   /* qwen2's regex with ignore_merges: no row */
    wk_bpej_steps none = {1, {"\\p{L}+"}};
    CHECK(wk_bpej_pre_lookup(&none, 0) == NULL);
    CHECK(!wk_bpej_pre_known("default") && !wk_bpej_pre_known(""));
    char names[512];
    wk_bpej_pre_names(names, sizeof names);
    CHECK(strstr(names, "llama-bpe, smaug-bpe, qwen2") == names);
    char small[8];
    wk_bpej_pre_names(small, sizeof small);   /* truncated, terminated */
    CHECK(strlen(small) < sizeof small);
}

static void refused(const char *b, const char *want, wk_code code)
{
    wk_bpej t;
    wk_err e;
    wk_err_clear(&e);
    int rc = wk_bpej_parse(&t, b, strlen(b), "x/tokenizer.json", NULL, &e);
    CHECK_MSG(rc != 0 && e.code == code && strstr(e.msg, want) && strstr(e.msg, "x/tokenizer.json"),
              "want \"%s\" (%d), got rc %d: %s (%d)", want, (int)code, rc, e.msg, (int)e.code);
    CHECK(t.n == 0 && t.tok == NULL && t.merges == NULL);
}

static void test_refusals(void)
{
    char b[4096];
    refused(doc(b, sizeof b, BL, "[\"a c\"]", "", ""), "\"model.merges\": entry 0 is not two tokens",
            WK_E_FORMAT);
    refused(doc(b, sizeof b, BL, "[\"b a\"]", "", ""), "the merged token is not in model.vocab", WK_E_FORMAT);
    refused(doc(b, sizeof b, BL, "[]", "{\"id\": 6, \"content\": \"<x>\"}", ""), "ids up to 6 leave a gap after model.vocab's 4 ids",
            WK_E_FORMAT);
    refused(doc(b, sizeof b, BL, "[]", "{\"id\": 1, \"content\": \"b\"}, {\"id\": 4, \"content\": \"<x>\"}, "
                "{\"id\": 6, \"content\": \"<y>\"}", ""), "no token has id 5", WK_E_FORMAT);
    refused(doc(b, sizeof b, BL, "[]", "{\"id\": 4, \"content\": \"ab\"}", ""), "appears twice", WK_E_FORMAT);
    refused(doc(b, sizeof b, "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"x\"}, \"behavior\": \"Isolated\"}",
                "[]", "", ""), "no ByteLevel step", WK_E_UNSUPPORTED);
    refused(doc(b, sizeof b, "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
                "{\"Regex\": \"x\"}, \"behavior\": \"Isolated\"}, " BL "]}", "[]", "", ""),
            "step 1: x", WK_E_UNSUPPORTED);
    doc(b, sizeof b, BL, "[]", "", "");
    char nb[4096], *at = strstr(b, "\"normalizer\": null");
    snprintf(nb, sizeof nb, "%.*s\"normalizer\": {\"type\": \"NFKC\"}%s", (int)(at - b), b, at + 18);
    refused(nb, "\"normalizer\": \"NFKC\" is not implemented", WK_E_UNSUPPORTED);
    refused("{\"model\": {\"type\": \"BPE\"", "does not parse", WK_E_FORMAT);
    refused("{\"model\": {\"type\": \"WordLevel\"}}", "\"model.type\" is \"WordLevel\"", WK_E_UNSUPPORTED);
    wk_bpej t;
    wk_err e;
    doc(b, sizeof b, BL, "[]", "", "");
    CHECK(wk_bpej_parse(&t, b, strlen(b), "x.json", "qwen9", &e) != 0 && e.code == WK_E_USAGE);
    CHECK_OK(wk_bpej_parse(&t, b, strlen(b), "x.json", "qwen2", &e), &e);
    CHECK_EQ_STR(t.pre, "qwen2");
    wk_bpej_free(&t);
}

int main(void)
{
    WK_RUN(test_minimal);
    WK_RUN(test_added_and_template);
    WK_RUN(test_table);
    WK_RUN(test_refusals);
    return wk_test_summary();
}
