/* test_tokjson.c — formats/tokenizer/wk_tokjson: merges order (score, then the double
 * loop's order for ties), serde_json's escaping and pretty layout, refusals.  The whole-file
 * bytes are checked against published hashes (tests/cli/tokenizer_hashes.sh) and an
 * independent Python transcription (tests/peer/convert.sh); this pins the rules one by one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_buf.h"
#include "wk_test.h"
#include "wk_tokjson.h"

typedef struct { const char *text; float score; } tp;

/* A BPE model of n pieces (texts borrowed: the model is not freed with wk_spm_free). */
static wk_spm model(const tp *p, size_t n, wk_spm_piece *buf)
{
    wk_spm m;
    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < n; i++) {
        buf[i].text = (char *)p[i].text;
        buf[i].len = strlen(p[i].text);
        buf[i].score = p[i].score;
        buf[i].type = i < 3 ? (i ? WK_SPM_CONTROL : WK_SPM_UNKNOWN) : WK_SPM_NORMAL;
    }
    m.pieces = buf;
    m.n_pieces = n;
    m.has_trainer = 1;
    m.model_type = WK_SPM_BPE;
    m.unk_piece = "<unk>";
    return m;
}

/* The output of wk_tokjson_write as a NUL-terminated string (caller frees), or NULL. */
static char *render(const wk_spm *m, wk_tokjson_post post, wk_err *err)
{
    wk_buf b;
    wk_buf_init(&b);
    if (wk_tokjson_write(m, post, "test.model", wk_sink_buf(&b), err)) {
        wk_buf_free(&b);
        return NULL;
    }
    wk_buf_putc(&b, 0);
    return (char *)b.data;
}

static void test_merge_order(void)
{
    /* "ab" and "ba" tie at -1: the loop's order (left id, then right id) decides:
     * (a=3, b=4) before (b=4, a=3); "abb" (-2) = "ab"+"b" only ("a"+"bb": no "bb");
     * "zz" has score 0 and gives no merge although "z"+"z" are pieces. */
    static const tp p[] = {{"<unk>", 0}, {"<s>", 0}, {"</s>", 0}, {"a", -5}, {"b", -6},
                           {"ba", -1}, {"ab", -1}, {"abb", -2}, {"z", -3}, {"zz", 0}};
    wk_spm_piece buf[10];
    wk_spm m = model(p, 10, buf);
    wk_err err;
    wk_tokjson_merge *mg = NULL;
    size_t n = 0;
    CHECK_OK(wk_tokjson_merges(&m, "t", &mg, &n, &err), &err);
    CHECK_EQ_U64(n, 3);
    if (n == 3) {
        CHECK(mg[0].left == 3 && mg[0].right == 4);
        CHECK(mg[1].left == 4 && mg[1].right == 3);
        CHECK(mg[2].left == 6 && mg[2].right == 4);
    }
    free(mg);
    char *s = render(&m, WK_TOKJSON_POST_2023, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (s) {
        CHECK(strstr(s, "    \"merges\": [\n      \"a b\",\n      \"b a\",\n      \"ab b\"\n    ]\n  }\n}") != NULL);
        CHECK(s[strlen(s) - 1] == '}'); /* no final newline */
        free(s);
    }
}

static void test_layout_and_escapes(void)
{
    /* ids 0-2 are renamed whatever the model calls them; escapes as serde_json */
    static const tp p[] = {{"<pad>", 0}, {"<bos>", 0}, {"<eos>", 0}, {"q\"", -1},
                           {"b\\s", -2}, {"\x01\x1f", -3}, {"\t\n\r\b\f", -4},
                           {"\x7f\xc3\xa9", -5}, {"/", -6}};
    wk_spm_piece buf[9];
    wk_spm m = model(p, 9, buf);
    wk_err err;
    char *s = render(&m, WK_TOKJSON_POST_2023, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s) return;
    CHECK(strncmp(s, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
                     "  \"added_tokens\": [\n    {\n      \"id\": 0,\n      \"content\": \"<unk>\",\n"
                     "      \"single_word\": false,\n", 138) == 0);
    CHECK(strstr(s, "      \"<unk>\": 0,\n      \"<s>\": 1,\n      \"</s>\": 2,\n") != NULL);
    CHECK(strstr(s, "      \"q\\\"\": 3,\n") != NULL);
    CHECK(strstr(s, "      \"b\\\\s\": 4,\n") != NULL);
    CHECK(strstr(s, "      \"\\u0001\\u001f\": 5,\n") != NULL);
    CHECK(strstr(s, "      \"\\t\\n\\r\\b\\f\": 6,\n") != NULL);
    CHECK(strstr(s, "      \"\x7f\xc3\xa9\": 7,\n") != NULL);  /* DEL and UTF-8 raw */
    CHECK(strstr(s, "      \"/\": 8\n    },\n    \"merges\": []\n  }\n}") != NULL); /* "/" raw; [] */
    CHECK(strstr(s, "\"pair\": [\n      {\n        \"SpecialToken\": {\n          \"id\": \"<s>\",\n"
                    "          \"type_id\": 0\n        }\n      },\n      {\n        \"Sequence\": {\n"
                    "          \"id\": \"A\",\n          \"type_id\": 0\n        }\n      },\n      {\n"
                    "        \"Sequence\": {\n          \"id\": \"B\",\n          \"type_id\": 0\n") != NULL);
    /* no "<s>" piece: the post-processor's id is the unknown id (convert_tokens_to_ids) */
    CHECK(strstr(s, "\"ids\": [\n          0\n        ]") != NULL);
    free(s);
    s = render(&m, WK_TOKJSON_POST_UPDATE, &err);
    CHECK(s && strstr(s, "          \"id\": \"B\",\n          \"type_id\": 1\n") != NULL);
    free(s);
}

static void test_refusals(void)
{
    static const tp p[] = {{"<unk>", 0}, {"<s>", 0}, {"</s>", 0}, {"a", -1}, {"a", -2}};
    wk_spm_piece buf[5];
    wk_spm m = model(p, 4, buf);
    wk_err err;
    m.model_type = WK_SPM_UNIGRAM;
    CHECK(wk_tokjson_check(&m, "x/tokenizer.model", &err) != 0 && err.code == WK_E_UNSUPPORTED &&
          strstr(err.msg, "x/tokenizer.model") && strstr(err.msg, "unigram"));
    m.model_type = WK_SPM_BPE;
    m.has_trainer = 0; /* e.g. a truncated file: the type defaults to unigram */
    CHECK(wk_tokjson_check(&m, "t", &err) != 0 && strstr(err.msg, "no trainer_spec"));
    m = model(p, 5, buf); /* duplicate text */
    wk_tokjson_merge *mg;
    size_t n;
    CHECK(wk_tokjson_merges(&m, "d", &mg, &n, &err) != 0 && strstr(err.msg, "same text"));
    m = model(p, 2, buf);
    CHECK(wk_tokjson_check(&m, "s", &err) != 0 && err.code == WK_E_FORMAT);
    static const tp q[] = {{"<unk>", 0}, {"<s>", 0}, {"</s>", 0}, {"<s>", -1}};
    m = model(q, 4, buf);
    CHECK(wk_tokjson_check(&m, "r", &err) != 0 && strstr(err.msg, "named <s>"));
    m = model(p, 4, buf);
    buf[3].score = NAN;
    CHECK(wk_tokjson_check(&m, "n", &err) != 0 && strstr(err.msg, "finite"));
    /* nothing is written on a refusal */
    m.model_type = WK_SPM_UNIGRAM;
    wk_buf b;
    wk_buf_init(&b);
    CHECK(wk_tokjson_write(&m, WK_TOKJSON_POST_2023, "u", wk_sink_buf(&b), &err) != 0 && b.len == 0);
    wk_buf_free(&b);
}

static void test_tiktoken_sniff(void)
{
    const char *t = "IQ== 0\n\"Ig== 1\n";
    CHECK(wk_tokjson_is_tiktoken(t, strlen(t)) == 1);
    CHECK(wk_tokjson_is_tiktoken("IQ== 0", 6) == 1);
    CHECK(wk_tokjson_is_tiktoken("\x0a\x05<unk>", 8) == 0);  /* a protobuf */
    CHECK(wk_tokjson_is_tiktoken("IQ==\n", 5) == 0);
    CHECK(wk_tokjson_is_tiktoken("", 0) == 0);
}

/* tokenizer.json written from the tokenizer.model at path, read back: the same pieces,
 * types and special ids as the model; the scores order the merged pieces as the model's
 * scores do (ties aside).  Returns 0 if path is absent (nothing checked). */
static int reader_roundtrip(const char *path)
{
    wk_spm a, b;
    wk_err err;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    CHECK_OK(wk_spm_load(&a, path, &err), &err);
    char out[4096];
    snprintf(out, sizeof out, "%s/rt.tokenizer.json", wk_test_tmpdir());
    char *s = render(&a, WK_TOKJSON_POST_2023, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s) return -1;
    f = fopen(out, "wb");
    CHECK(f && fwrite(s, 1, strlen(s), f) == strlen(s));
    if (f) fclose(f);
    free(s);
    CHECK_OK(wk_tokjson_read_spm(&b, out, &err), &err);
    CHECK_EQ_U64(b.n_pieces, a.n_pieces);
    size_t n = a.n_pieces < b.n_pieces ? a.n_pieces : b.n_pieces, bad_text = 0, bad_type = 0;
    for (size_t i = 0; i < n; i++) {
        const char *want = i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : a.pieces[i].text;
        bad_text += strcmp(b.pieces[i].text, want) != 0;
        int t = a.pieces[i].type == WK_SPM_USER_DEFINED ? WK_SPM_NORMAL : a.pieces[i].type;
        bad_type += b.pieces[i].type != t;
    }
    CHECK_EQ_U64(bad_text, 0);
    CHECK_EQ_U64(bad_type, 0);
    CHECK(b.unk_id == a.unk_id && b.bos_id == a.bos_id && b.eos_id == a.eos_id);
    CHECK(b.add_dummy_prefix == 1 && b.model_type == WK_SPM_BPE);
    /* merged pieces sorted by the derived score: the model's scores never increase */
    wk_tokjson_merge *mg = NULL;
    size_t nm = 0, inversions = 0;
    CHECK_OK(wk_tokjson_merges(&a, path, &mg, &nm, &err), &err);
    float last_real = 0, last_derived = 0;
    for (size_t i = 0; i < nm; i++) {
        /* merges come in the model's score order; the product's derived score must not rise */
        char cat[1024];
        snprintf(cat, sizeof cat, "%s%s", a.pieces[mg[i].left].text, a.pieces[mg[i].right].text);
        for (size_t k = 3; k < n; k++) {
            if (strcmp(a.pieces[k].text, cat) != 0) continue;
            if (i && a.pieces[k].score < last_real && b.pieces[k].score > last_derived) inversions++;
            last_real = a.pieces[k].score;
            last_derived = b.pieces[k].score;
            break;
        }
        if (i > 2000) break; /* the first merges are enough, the lookup is linear */
    }
    CHECK_EQ_U64(inversions, 0);
    free(mg);
    wk_spm_free(&a);
    wk_spm_free(&b);
    return 1;
}

static void test_reader(void)
{
    CHECK(reader_roundtrip(wk_test_src("tests/fixtures/models/tokenizer.model")) == 1);
    char p[4096];
    snprintf(p, sizeof p, "%s", wk_test_src("../shared/data/llama-tokenizer.model"));
    if (reader_roundtrip(p) == 0) {
        snprintf(p, sizeof p, "%s", wk_test_src("../../shared/data/llama-tokenizer.model"));
        if (reader_roundtrip(p) == 0) printf("note: shared LLaMA tokenizer absent, not read back\n");
    }
}

static void test_reader_refusals(void)
{
    static const struct { const char *json, *want; } cases[] = {
        {"{\"model\": ", "does not parse"},
        {"[]", "not a JSON object"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "\"model.type\" is \"Unigram\""},
        {"{\"model\": {\"type\": \"BPE\", \"byte_fallback\": false}}", "model.byte_fallback"},
        {"{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": 0, "
         "\"b\": 1, \"c\": 5}, \"merges\": []}}", "\"model.vocab\""},
        {"{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": 0, "
         "\"b\": 1, \"c\": 2}, \"merges\": [\"a x\"]}}", "\"model.merges\": entry 0"},
        {"{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": 0, "
         "\"b\": 1, \"c\": 2}}}", "\"model.merges\": missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/bad%zu.json", wk_test_tmpdir(), i);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (!f) continue;
        fputs(cases[i].json, f);
        fclose(f);
        wk_spm m;
        wk_err err;
        int rc = wk_tokjson_read_spm(&m, path, &err);
        CHECK_MSG(rc != 0 && strstr(err.msg, path) && strstr(err.msg, cases[i].want),
                  "case %zu: rc %d, \"%s\" (want \"%s\")", i, rc, err.msg, cases[i].want);
        CHECK(m.n_pieces == 0 && m.pieces == NULL);
    }
}

int main(void)
{
    WK_RUN(test_merge_order);
    WK_RUN(test_layout_and_escapes);
    WK_RUN(test_refusals);
    WK_RUN(test_tiktoken_sniff);
    WK_RUN(test_reader);
    WK_RUN(test_reader_refusals);
    return wk_test_summary();
}
