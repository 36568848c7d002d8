/* test_spm.c — the SentencePiece ModelProto parser on hand-encoded protobuf
 * (defaults, negative int32 varints, unknown fields of every wire type,
 * repeated scalars) and on malformed input, plus the committed fixture
 * tokenizer.model when it is present (compared with values sentencepiece
 * itself reports for it). */
#include "wk_test.h"

#include <stdlib.h>

#include "wk_buf.h"
#include "wk_spm.h"

/* ---- protobuf encoder --------------------------------------------------------- */

static void varint(wk_buf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7F;
        v >>= 7;
        wk_buf_putc(b, (uint8_t)(c | (v ? 0x80 : 0)));
    } while (v);
}

static void key(wk_buf *b, uint32_t field, int wt) { varint(b, (uint64_t)field << 3 | (unsigned)wt); }

static void f_varint(wk_buf *b, uint32_t field, uint64_t v)
{
    key(b, field, 0);
    varint(b, v);
}

static void f_bytes(wk_buf *b, uint32_t field, const void *p, size_t n)
{
    key(b, field, 2);
    varint(b, n);
    wk_buf_put(b, p, n);
}

static void f_float(wk_buf *b, uint32_t field, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    key(b, field, 5);
    wk_buf_le32(b, u);
}

static void piece(wk_buf *m, const char *text, float score, int type)
{
    wk_buf p = {0};
    f_bytes(&p, 1, text, strlen(text));
    f_float(&p, 2, score);
    if (type) f_varint(&p, 3, (uint64_t)type);
    f_bytes(m, 1, p.data, p.len);
    wk_buf_free(&p);
}

static void expect_bad(const wk_buf *b, const char *want, const char *what)
{
    wk_spm m;
    wk_err err;
    wk_err_clear(&err);
    int rc = wk_spm_parse(&m, b->data, b->len, "bad.model", &err);
    CHECK_MSG(rc != 0, "%s: accepted", what);
    if (rc) {
        CHECK_MSG(strstr(err.msg, "bad.model") != NULL, "%s: no file name: %s", what, err.msg);
        CHECK_MSG(strstr(err.msg, want) != NULL, "%s: \"%s\" lacks \"%s\"", what, err.msg, want);
    } else {
        wk_spm_free(&m);
    }
}

/* ---- tests ------------------------------------------------------------------ */

static void test_basic(void)
{
    wk_buf b = {0}, t = {0}, n = {0};
    piece(&b, "<unk>", 0.0f, 2);
    piece(&b, "<s>", 0.0f, 3);
    piece(&b, "\xe2\x96\x81the", -1.5f, 0);     /* no type: NORMAL */
    piece(&b, "<0x0A>", 0.0f, 6);
    /* an unknown top-level field of each wire type, and an extension (field 200) */
    f_varint(&b, 7, 12345);
    key(&b, 8, 1);
    wk_buf_le64(&b, 0x1122334455667788ull);
    key(&b, 9, 5);
    wk_buf_le32(&b, 7);
    f_bytes(&b, 200, "ext", 3);
    f_varint(&t, 3, 2);                    /* BPE */
    f_varint(&t, 4, 4);
    f_varint(&t, 35, 1);                   /* byte_fallback */
    f_varint(&t, 43, (uint64_t)-1);        /* pad_id -1: a 10-byte varint */
    f_varint(&t, 41, 5);
    f_varint(&t, 41, 1);                   /* repeated scalar: last wins */
    f_bytes(&t, 30, "<ctl>", 5);
    f_bytes(&t, 46, "<bos>", 5);
    f_varint(&t, 25, 1);
    f_bytes(&b, 2, t.data, t.len);
    f_bytes(&n, 1, "identity", 8);
    f_varint(&n, 4, 0);                    /* remove_extra_whitespaces false */
    f_bytes(&n, 2, "\x00\x01\x02", 3);
    f_bytes(&b, 3, n.data, n.len);
    wk_spm m;
    wk_err err;
    CHECK_OK(wk_spm_parse(&m, b.data, b.len, "t.model", &err), &err);
    CHECK_EQ_U64(m.n_pieces, 4);
    if (m.n_pieces == 4) {
        CHECK_EQ_STR(m.pieces[0].text, "<unk>");
        CHECK(m.pieces[0].type == WK_SPM_UNKNOWN && m.pieces[1].type == WK_SPM_CONTROL);
        CHECK(m.pieces[2].type == WK_SPM_NORMAL && m.pieces[2].score == -1.5f && m.pieces[2].len == 6);
        CHECK(m.pieces[3].type == WK_SPM_BYTE);
    }
    CHECK(m.has_trainer && m.model_type == WK_SPM_BPE && m.vocab_size == 4 && m.byte_fallback);
    CHECK(m.pad_id == -1 && m.bos_id == 1 && m.unk_id == 0 && m.eos_id == 2);
    CHECK(m.split_digits && !m.treat_whitespace_as_suffix);
    CHECK(m.n_control_symbols == 1);
    CHECK_EQ_STR(m.bos_piece, "<bos>");
    CHECK_EQ_STR(m.eos_piece, "</s>");      /* default */
    CHECK(m.has_normalizer && m.norm_name && !strcmp(m.norm_name, "identity"));
    CHECK(m.add_dummy_prefix == 1 && m.remove_extra_whitespaces == 0 && m.escape_whitespaces == 1);
    CHECK(m.charsmap_len == 3 && m.precompiled_charsmap[2] == 2);
    CHECK_EQ_STR(wk_spm_type_name(m.pieces[3].type), "byte");
    CHECK_EQ_STR(wk_spm_model_type_name(m.model_type), "bpe");
    wk_spm_free(&m);
    wk_buf_free(&b);
    wk_buf_free(&t);
    wk_buf_free(&n);
}

static void test_defaults(void)
{
    wk_buf b = {0};
    piece(&b, "a", 0, 0);
    wk_spm m;
    wk_err err;
    CHECK_OK(wk_spm_parse(&m, b.data, b.len, "d.model", &err), &err);
    CHECK(!m.has_trainer && m.model_type == WK_SPM_UNIGRAM && m.vocab_size == 8000);
    CHECK(m.bos_id == 1 && m.eos_id == 2 && m.pad_id == -1 && !m.byte_fallback);
    CHECK(!m.has_normalizer && m.add_dummy_prefix && m.remove_extra_whitespaces);
    CHECK_EQ_STR(m.unk_piece, "<unk>");
    wk_spm_free(&m);
    wk_buf_free(&b);
}

static void test_malformed(void)
{
    wk_buf b = {0};
    expect_bad(&b, "no pieces", "empty input");

    wk_buf_putc(&b, 0x0A);
    wk_buf_putc(&b, 0x80);                 /* truncated varint length */
    expect_bad(&b, "truncated varint", "truncated varint");
    wk_buf_free(&b);

    key(&b, 1, 2);
    for (int i = 0; i < 11; i++) wk_buf_putc(&b, 0xFF);
    expect_bad(&b, "varint", "11-byte varint");
    wk_buf_free(&b);

    key(&b, 1, 2);
    varint(&b, 100);
    wk_buf_puts(&b, "short");
    expect_bad(&b, "runs past", "length past the end");
    wk_buf_free(&b);

    key(&b, 1, 2);
    varint(&b, (uint64_t)1 << 62);
    expect_bad(&b, "runs past", "huge length");
    wk_buf_free(&b);

    key(&b, 5, 3);                         /* start group */
    expect_bad(&b, "wire type", "group");
    wk_buf_free(&b);

    key(&b, 5, 6);                         /* reserved wire type */
    expect_bad(&b, "wire type", "wire type 6");
    wk_buf_free(&b);

    f_varint(&b, 1, 5);                    /* pieces as a varint */
    expect_bad(&b, "wire type", "pieces varint");
    wk_buf_free(&b);

    wk_buf p = {0};
    f_varint(&p, 2, 7);                    /* score as a varint */
    f_bytes(&b, 1, p.data, p.len);
    expect_bad(&b, "score", "score varint");
    wk_buf_free(&b);
    wk_buf_free(&p);

    piece(&b, "a", 0, 0);
    wk_buf t = {0};
    f_varint(&t, 4, 1);
    wk_buf_putc(&t, 0x20);                 /* field 4 key, then nothing */
    f_bytes(&b, 2, t.data, t.len);
    expect_bad(&b, "truncated varint", "truncated inside trainer_spec");
    wk_buf_free(&b);
    wk_buf_free(&t);

    wk_buf_putc(&b, 0x00);                 /* field number 0 */
    wk_buf_putc(&b, 0x00);
    expect_bad(&b, "field number", "field 0");
    wk_buf_free(&b);

    /* piece texts must be UTF-8; the message starts with the file, then the
     * offset of the bad byte, then the piece */
    piece(&b, "ok", 0, 0);                 /* bytes 0..9 */
    piece(&b, "a\xC0\xAF", 0, 0);          /* overlong "/": 0xC0 at byte 16 */
    expect_bad(&b, "bad.model: byte 16: piece 1: text is not valid UTF-8 (byte 0xc0)",
               "overlong UTF-8 in a piece");
    wk_buf_free(&b);
    piece(&b, "\xED\xA0\x80", 0, 0);        /* a UTF-16 surrogate */
    expect_bad(&b, "piece 0: text is not valid UTF-8", "surrogate in a piece");
    wk_buf_free(&b);
    piece(&b, "x", 0, 0);
    key(&b, 1, 2);                         /* piece 1 whose text runs past it */
    varint(&b, 3);
    key(&b, 1, 2);
    varint(&b, 9);
    wk_buf_putc(&b, 'y');
    expect_bad(&b, "bad.model: byte 14: piece 1: length-delimited field runs past its message",
               "context after the file name");
    wk_buf_free(&b);
}

/* The committed fixture: values as sentencepiece reports them
 * (tests/fixtures/gen/make_tokenizer.py trains it: BPE, 512, byte_fallback). */
static void test_fixture(void)
{
    const char *path = wk_test_src("tests/fixtures/models/tokenizer.model");
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("# skipped: %s not present\n", path);
        return;
    }
    fclose(f);
    wk_spm m;
    wk_err err;
    CHECK_OK(wk_spm_load(&m, path, &err), &err);
    CHECK_EQ_U64(m.n_pieces, 512);
    CHECK(m.model_type == WK_SPM_BPE && m.byte_fallback && m.split_digits && m.allow_whitespace_only_pieces);
    CHECK(m.unk_id == 0 && m.bos_id == 1 && m.eos_id == 2 && m.pad_id == -1);
    CHECK(m.add_dummy_prefix && !m.remove_extra_whitespaces);
    if (m.n_pieces == 512) {
        CHECK_EQ_STR(m.pieces[0].text, "<unk>");
        CHECK(m.pieces[0].type == WK_SPM_UNKNOWN && m.pieces[1].type == WK_SPM_CONTROL);
        CHECK_EQ_STR(m.pieces[3].text, "<0x00>");
        CHECK(m.pieces[3].type == WK_SPM_BYTE && m.pieces[258].type == WK_SPM_BYTE);
        CHECK(m.pieces[259].type == WK_SPM_NORMAL);
    }
    wk_spm_free(&m);
}

/* Files that are clearly something else are named (issue #24 item 18). */
static void test_not_spm(void)
{
    wk_buf b = {0};
    wk_buf_puts(&b, "IQ== 0\nIg== 1\nIw== 2\nJA== 3\nJQ== 4\n");  /* Llama 3 tokenizer.model */
    expect_bad(&b, "a tiktoken BPE vocabulary (Llama 3 style), not a SentencePiece model: "
               "not supported yet", "tiktoken");
    wk_err err;
    CHECK(wk_spm_sniff(b.data, b.len, "t.model", &err) == -1 && err.code == WK_E_UNSUPPORTED);
    b.len = 9;  /* a cut last line: the complete ones decide */
    expect_bad(&b, "tiktoken", "tiktoken, cut");
    wk_buf_free(&b);
    wk_buf_puts(&b, "  {\"version\": \"1.0\", \"model\": {}}");
    expect_bad(&b, "a JSON file", "tokenizer.json");
    wk_buf_free(&b);
    wk_buf_puts(&b, " \n\t\n");
    expect_bad(&b, "white space", "white space");
    wk_buf_free(&b);
    /* not tiktoken: a line with no rank, a rank that is not a number */
    wk_buf_puts(&b, "IQ== 0\nhello world\n");
    CHECK(wk_spm_sniff(b.data, b.len, "x", &err) == 0);
    wk_buf_free(&b);
    wk_buf_puts(&b, "IQ==\n");
    CHECK(wk_spm_sniff(b.data, b.len, "x", &err) == 0);
    wk_buf_free(&b);
}

int main(void)
{
    WK_RUN(test_basic);
    WK_RUN(test_defaults);
    WK_RUN(test_malformed);
    WK_RUN(test_fixture);
    WK_RUN(test_not_spm);
    return wk_test_summary();
}
