/* test_tiktoken.c — the tiktoken reader, the special-token names, the merges recovered
 * from the ranks and the byte-level tokenizer.json (formats/tokenizer/wk_tiktoken.h). */
#include <stdlib.h>
#include <string.h>

#include "wk_buf.h"
#include "wk_tiktoken.h"
#include "wk_test.h"

/* Parse text; 0 or -1 (err filled). */
static int parse(wk_tiktoken *t, const char *text, wk_err *err)
{
    return wk_tiktoken_parse(t, text, strlen(text), "t.model", err);
}

static void expect_bad(const char *text, const char *what)
{
    wk_err err;
    wk_tiktoken t;
    CHECK_MSG(parse(&t, text, &err) == -1, "accepted: %s", text);
    CHECK_MSG(strstr(err.msg, what) != NULL, "\"%s\" lacks \"%s\"", err.msg, what);
    CHECK(strncmp(err.msg, "t.model: ", 9) == 0);
    CHECK(t.n == 0 && t.str == NULL);
}

static void test_parse(void)
{
    wk_err err;
    wk_tiktoken t;
    /* "a" "b" "ab" " " "\n" and a byte that needs the unicode spelling (0xff is printable) */
    CHECK_OK(parse(&t, "YQ== 0\nYg== 1\nYWI= 2\nIA== 3\nCg== 4\nAA== 5\n/w== 6", &err), &err);
    CHECK_EQ_U64(t.n, 7);
    CHECK_EQ_STR(t.str + t.soff[2], "ab");
    CHECK_EQ_STR(t.str + t.soff[3], "\xC4\xA0");  /* U+0120 Ġ */
    CHECK_EQ_STR(t.str + t.soff[4], "\xC4\x8A");  /* U+010A Ċ */
    CHECK_EQ_STR(t.str + t.soff[5], "\xC4\x80");  /* U+0100 Ā: byte 0 */
    CHECK_EQ_STR(t.str + t.soff[6], "\xC3\xBF");  /* ÿ stands for itself */
    wk_tiktoken_merge *mg;
    size_t n;
    CHECK_OK(wk_tiktoken_merges(&t, &mg, &n, &err), &err);
    CHECK(n == 1 && mg[0].left == 0 && mg[0].right == 1);
    free(mg);
    wk_tiktoken_free(&t);
    CHECK(t.n == 0 && t.str == NULL);
    wk_tiktoken_free(&t); /* twice is fine */
}

static void test_merge_order(void)
{
    wk_err err;
    wk_tiktoken t;
    /* a b c ab bc abc: "abc" splits into a+bc (0,4) and ab+c (3,2); by (left, right) rank:
     * a+bc first; then grouped by the merged token's rank: ab(3), bc(4), abc(5) */
    CHECK_OK(parse(&t, "YQ== 0\nYg== 1\nYw== 2\nYWI= 3\nYmM= 4\nYWJj 5\n", &err), &err);
    wk_tiktoken_merge *mg;
    size_t n;
    CHECK_OK(wk_tiktoken_merges(&t, &mg, &n, &err), &err);
    static const uint32_t want[][2] = {{0, 1}, {1, 2}, {0, 4}, {3, 2}};
    CHECK_EQ_U64(n, 4);
    for (size_t i = 0; i < n && i < 4; i++)
        CHECK_MSG(mg[i].left == want[i][0] && mg[i].right == want[i][1], "merge %zu", i);
    free(mg);
    wk_tiktoken_free(&t);
}

static void test_bad(void)
{
    expect_bad("", "no tokens");
    expect_bad("YQ==\n", "line 1: not \"<base64 token> <rank>\"");
    expect_bad("YQ== x\n", "line 1: the rank is not a decimal number");
    expect_bad("YQ== \n", "line 1: no rank");
    expect_bad("YQ== 1\n", "line 1: rank 1 where 0 was expected");
    expect_bad("YQ== 0\nYQ== 1\n", "ranks 0 and 1 are the same token");
    expect_bad("YQ= 0\n", "not valid base64");
    expect_bad("Y*== 0\n", "not valid base64");
    expect_bad("YR== 0\n", "not valid base64");      /* non-zero padding bits */
    expect_bad("YQ=a 0\n", "not valid base64");      /* data after '=' */
    expect_bad("YQ== 0\r\n", "not a decimal number"); /* CR is not stripped */
    expect_bad(" 0\n", "not valid base64");          /* empty token text */
    expect_bad("YQ== 0\n\n", "line 2: not");          /* an empty line */
}

static void test_specials(void)
{
    char b[48];
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_3, 0, b, sizeof b), "<|begin_of_text|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_3, 4, b, sizeof b), "<|reserved_special_token_2|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_3, 8, b, sizeof b), "<|reserved_special_token_4|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_3, 9, b, sizeof b), "<|eot_id|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_3, 10, b, sizeof b), "<|reserved_special_token_5|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_3, 255, b, sizeof b), "<|reserved_special_token_250|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_31, 4, b, sizeof b), "<|finetune_right_pad_id|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_31, 5, b, sizeof b), "<|reserved_special_token_2|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_31, 8, b, sizeof b), "<|eom_id|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_31, 10, b, sizeof b), "<|python_tag|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_31, 11, b, sizeof b), "<|reserved_special_token_3|>");
    CHECK_EQ_STR(wk_tiktoken_special_name(WK_TIKTOKEN_SPECIALS_31, 255, b, sizeof b), "<|reserved_special_token_247|>");
}

static void test_json(void)
{
    wk_err err;
    wk_tiktoken t;
    CHECK_OK(parse(&t, "Ig== 0\nXA== 1\nIlw= 2\n", &err), &err); /* " \ "\ */
    wk_buf b;
    wk_buf_init(&b);
    CHECK_OK(wk_tiktoken_write_json(&t, WK_TIKTOKEN_SPECIALS_3, WK_TIKTOKEN_POST_BOS,
                                    wk_sink_buf(&b), &err), &err);
    wk_buf_putc(&b, 0);
    const char *j = (const char *)b.data;
    CHECK(strstr(j, "\"\\\"\": 0,\n      \"\\\\\": 1,\n      \"\\\"\\\\\": 2\n") != NULL);
    CHECK(strstr(j, "\"merges\": [\n      \"\\\" \\\\\"\n    ]\n  }\n}") != NULL);
    CHECK(strstr(j, "\"id\": 3,\n      \"content\": \"<|begin_of_text|>\"") != NULL);
    CHECK(strstr(j, "\"ids\": [\n              3\n            ]") != NULL);
    CHECK(j[b.len - 2] == '}'); /* no final newline */
    wk_buf_free(&b);
    wk_tiktoken_free(&t);
    /* a token spelled like a special token: refused, nothing written */
    CHECK_OK(parse(&t, "PHxlb3RfaWR8Pg== 0\n", &err), &err);
    wk_buf_init(&b);
    CHECK(wk_tiktoken_write_json(&t, WK_TIKTOKEN_SPECIALS_3, WK_TIKTOKEN_POST_BOS,
                                 wk_sink_buf(&b), &err) == -1 && b.len == 0 &&
          strstr(err.msg, "<|eot_id|>") != NULL);
    wk_buf_free(&b);
    wk_tiktoken_free(&t);
}

int main(void)
{
    WK_RUN(test_parse);
    WK_RUN(test_merge_order);
    WK_RUN(test_bad);
    WK_RUN(test_specials);
    WK_RUN(test_json);
    return wk_test_summary();
}
