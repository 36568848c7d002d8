/* Unit tests: wk_manifest (sha256sum / rhash manifests). */
#include "wk_manifest.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* SHA-256("abc") and SHA-256(""), FIPS 180-2 / well known. */
#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int parse_str(wk_manifest *m, const char *text, wk_err *err)
{
    wk_manifest_init(m);
    return wk_manifest_parse(m, text, strlen(text), "t.sha256", err);
}

static const char *hex_of(const uint8_t *d)
{
    static char hex[65];
    wk_hex(d, 32, hex);
    return hex;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static void test_parse_forms(void)
{
    wk_manifest m;
    wk_err err;
    const char *text =
        "# comment line\n"
        ABC_HEX "  text mode.bin\n"
        "\n"
        EMPTY_HEX " *binary.bin\r\n"
        "SHA256 (bsd (1).json) = " ABC_HEX "\n"
        "SHA-256 (rhash.json) = " EMPTY_HEX "\n"
        "; rhash comment\n"
        "\\" ABC_HEX "  back\\\\slash\\nnew\\rcr\n"
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  upper.hex";
    CHECK_OK(parse_str(&m, text, &err), &err);
    CHECK_EQ_U64(m.n, 6);
    if (m.n == 6) {
        CHECK_EQ_STR(m.entries[0].name, "text mode.bin");
        CHECK(m.entries[0].style == WK_MANIFEST_GNU_TEXT);
        CHECK_EQ_U64(m.entries[0].line, 2);
        CHECK_EQ_STR(hex_of(m.entries[0].digest), ABC_HEX);
        CHECK_EQ_STR(m.entries[1].name, "binary.bin");
        CHECK(m.entries[1].style == WK_MANIFEST_GNU_BINARY);
        CHECK_EQ_STR(hex_of(m.entries[1].digest), EMPTY_HEX);
        CHECK_EQ_STR(m.entries[2].name, "bsd (1).json");
        CHECK(m.entries[2].style == WK_MANIFEST_BSD);
        CHECK_EQ_STR(m.entries[3].name, "rhash.json");
        CHECK_EQ_STR(m.entries[4].name, "back\\slash\nnew\rcr");
        CHECK_EQ_U64(m.entries[4].line, 8);
        CHECK_EQ_STR(hex_of(m.entries[5].digest), ABC_HEX);
        CHECK(wk_manifest_find(&m, "upper.hex") == &m.entries[5]);
        CHECK(wk_manifest_find(&m, "nope") == NULL);
    }
    wk_manifest_free(&m);
}

/* Each malformed line fails with its line number and a telling message. */
static void test_parse_errors(void)
{
    static const struct {
        const char *text;
        wk_code code;
        const char *want; /* substring of the message */
    } cases[] = {
        {"\n" EMPTY_HEX "  a\n" ABC_HEX "  a\n", WK_E_FORMAT,
         "t.sha256:3: duplicate file name \"a\" (first on line 2)"},
        {"da39a3ee5e6b4b0d3255bfef95601890afd80709  sha1.txt\n", WK_E_UNSUPPORTED,
         "t.sha256:1: digest has 40 hex digits (SHA-1?)"},
        {ABC_HEX " a\n", WK_E_FORMAT, "t.sha256:1: expected two spaces"},
        {ABC_HEX "\n", WK_E_FORMAT, "t.sha256:1:"},
        {ABC_HEX "  \n", WK_E_FORMAT, "t.sha256:1: empty file name"},
        {"\\" ABC_HEX "  bad\\tescape\n", WK_E_FORMAT, "t.sha256:1: invalid escape"},
        {"MD5 (x) = d41d8cd98f00b204e9800998ecf8427e\n", WK_E_UNSUPPORTED, "another algorithm"},
        {"SHA256 (x) = abc\n", WK_E_UNSUPPORTED, "3 hex digits"},
        {"SHA256 (x) " ABC_HEX "\n", WK_E_FORMAT, "must end with ') = <digest>'"},
        {"not a manifest\n", WK_E_FORMAT, "t.sha256:1: expected 64 hex digits"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wk_manifest m;
        wk_err err;
        wk_err_clear(&err);
        int rc = parse_str(&m, cases[i].text, &err);
        CHECK_MSG(rc == -1, "case %zu: parse should fail", i);
        CHECK_MSG(err.code == cases[i].code, "case %zu: code %d", i, (int)err.code);
        CHECK_MSG(strstr(err.msg, cases[i].want) != NULL, "case %zu: message \"%s\" lacks \"%s\"",
                  i, err.msg, cases[i].want);
        wk_manifest_free(&m);
    }
    /* a NUL byte inside a name */
    char text[80 + 1];
    snprintf(text, sizeof text, "%s  a", ABC_HEX);
    text[strlen(ABC_HEX) + 3] = '\0';
    wk_manifest m;
    wk_err err;
    wk_manifest_init(&m);
    CHECK(wk_manifest_parse(&m, text, strlen(ABC_HEX) + 4, "n", &err) == -1);
    CHECK(strstr(err.msg, "NUL byte") != NULL);
    wk_manifest_free(&m);
}

static void test_limits(void)
{
    size_t n = WK_MANIFEST_MAX_LINE + 100;
    char *line = malloc(n + 1);
    memset(line, 'a', n);
    memcpy(line, ABC_HEX "  ", 66);
    line[n] = '\0';
    wk_manifest m;
    wk_err err;
    CHECK(parse_str(&m, line, &err) == -1);
    CHECK(err.code == WK_E_LIMIT && strstr(err.msg, "t.sha256:1:") != NULL);
    wk_manifest_free(&m);
    free(line);
    wk_manifest_init(&m);
    CHECK(wk_manifest_parse(&m, "", (size_t)WK_MANIFEST_MAX_BYTES + 1, "big", &err) == -1);
    CHECK(err.code == WK_E_LIMIT);
    wk_manifest_free(&m);
}

/* format_line must match what GNU sha256sum prints (coreutils 9 escaping). */
static void test_format_line(void)
{
    uint8_t d[32];
    wk_err err;
    CHECK_OK(wk_hash_oneshot(WK_HASH_SHA256, "abc", 3, d, &err), &err);
    wk_buf b;
    wk_buf_init(&b);
    wk_manifest_format_line(&b, d, "plain name.bin");
    wk_manifest_format_line(&b, d, "back\\slash\nnl");
    wk_buf_putc(&b, 0);
    CHECK_EQ_STR((const char *)b.data, ABC_HEX "  plain name.bin\n"
                 "\\" ABC_HEX "  back\\\\slash\\nnl\n");
    /* and it parses back to the same names */
    wk_manifest m;
    CHECK_OK(parse_str(&m, (const char *)b.data, &err), &err);
    CHECK(m.n == 2 && strcmp(m.entries[1].name, "back\\slash\nnl") == 0);
    wk_manifest_free(&m);
    wk_buf_free(&b);
}

/* Status lines ("<name>: OK"): escaped only for a newline, as sha256sum -c
 * starts them; a name can never end the line (issue #24 item 17). */
static void test_format_status_name(void)
{
    static const struct { const char *name, *want; int esc; } cases[] = {
        {"config.json", "config.json", 0},
        {"back\\slash", "back\\slash", 0},  /* as sha256sum -c: no newline, as is */
        {"x.json\nmodel.bin: OK", "\\x.json\\nmodel.bin: OK", 1},
        {"a\\b\nc\rd", "\\a\\\\b\\nc\\rd", 1},
        {"cr\rx", "cr\rx", 0},  /* as sha256sum -c: a CR ends no line */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wk_buf b;
        wk_buf_init(&b);
        int esc = wk_manifest_format_status_name(&b, cases[i].name);
        wk_buf_putc(&b, 0);
        CHECK_EQ_STR((const char *)b.data, cases[i].want);
        CHECK(esc == cases[i].esc);
        CHECK(!strchr((const char *)b.data, '\n'));
        wk_buf_free(&b);
    }
}

static void test_write_load_roundtrip(void)
{
    wk_manifest m, back;
    wk_err err;
    uint8_t d[32];
    wk_manifest_init(&m);
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "file-%d.bin", i);
        memset(d, i * 17, sizeof d);
        CHECK_OK(wk_manifest_add(&m, name, d, &err), &err);
    }
    CHECK(wk_manifest_add(&m, "file-0.bin", d, &err) == -1 && err.code == WK_E_FORMAT);
    CHECK(wk_manifest_add(&m, "", d, &err) == -1);
    char *path = wk_path_join(wk_test_tmpdir(), "rt.sha256");
    CHECK_OK(wk_manifest_write(&m, path, &err), &err);
    wk_manifest_init(&back);
    CHECK_OK(wk_manifest_load(&back, path, &err), &err);
    CHECK_EQ_U64(back.n, 5);
    for (size_t i = 0; i < back.n && i < m.n; i++) {
        CHECK_EQ_STR(back.entries[i].name, m.entries[i].name);
        CHECK(memcmp(back.entries[i].digest, m.entries[i].digest, 32) == 0);
    }
    CHECK_EQ_STR(back.label, path);
    wk_manifest_free(&back);
    wk_manifest_free(&m);
    wk_manifest_init(&back);
    CHECK(wk_manifest_load(&back, "/nonexistent/x.sha256", &err) == -1 && err.code == WK_E_IO);
    CHECK(strstr(err.msg, "/nonexistent/x.sha256") != NULL);
    wk_manifest_free(&back);
    free(path);
}

static void test_name_safe(void)
{
    CHECK(wk_manifest_name_safe("a.bin"));
    CHECK(wk_manifest_name_safe("sub/dir/a.bin"));
    CHECK(wk_manifest_name_safe("..hidden"));
    CHECK(!wk_manifest_name_safe(""));
    CHECK(!wk_manifest_name_safe("/etc/passwd"));
    CHECK(!wk_manifest_name_safe("../x"));
    CHECK(!wk_manifest_name_safe("a/../x"));
    CHECK(!wk_manifest_name_safe("a//x"));
    CHECK(!wk_manifest_name_safe("a/."));
    CHECK(!wk_manifest_name_safe("a/"));
}

static void test_hash_and_check_dir(void)
{
    const char *dir = wk_test_tmpdir();
    char *sub = wk_path_join(dir, "chk");
    mkdir(sub, 0755);
    char *a = wk_path_join(sub, "a.txt"), *e = wk_path_join(sub, "empty");
    char *big = wk_path_join(sub, "big.bin");
    write_file(a, "abc", 3);
    write_file(e, "", 0);
    size_t nbig = (9u << 20) + 123;  /* several read chunks */
    uint8_t *buf = malloc(nbig);
    for (size_t i = 0; i < nbig; i++) buf[i] = (uint8_t)(i * 2654435761u >> 13);
    write_file(big, buf, nbig);
    uint8_t d[32], want[32];
    wk_err err;
    CHECK_OK(wk_manifest_hash_file(a, d, NULL, NULL, &err), &err);
    CHECK_EQ_STR(hex_of(d), ABC_HEX);
    CHECK_OK(wk_manifest_hash_file(big, d, NULL, NULL, &err), &err);
    CHECK_OK(wk_hash_oneshot(WK_HASH_SHA256, buf, nbig, want, &err), &err);
    CHECK(memcmp(d, want, 32) == 0);
    CHECK(wk_manifest_hash_file(sub, d, NULL, NULL, &err) == -1);  /* a directory */

    char text[1024];
    snprintf(text, sizeof text, "%s  a.txt\n%s  empty\n%s  missing\n%s  big.bin\n%s  ../a.txt\n",
             ABC_HEX, ABC_HEX, ABC_HEX, hex_of(want), ABC_HEX);
    wk_manifest m;
    CHECK_OK(parse_str(&m, text, &err), &err);
    wk_check_result res[5];
    for (int jobs = 1; jobs <= 2; jobs++) {
        CHECK(wk_manifest_check_dir(&m, sub, jobs, NULL, NULL, res, &err) == -1);
        CHECK(err.code == WK_E_IO && strstr(err.msg, "3 of 5 files") != NULL);
        CHECK(res[0].status == WK_CHECK_OK);
        CHECK(res[1].status == WK_CHECK_FAILED);
        CHECK_EQ_STR(hex_of(res[1].got), EMPTY_HEX);
        CHECK(res[2].status == WK_CHECK_MISSING);
        CHECK(res[3].status == WK_CHECK_OK);
        CHECK(res[4].status == WK_CHECK_ERROR && res[4].err.code == WK_E_UNSAFE);
    }
    wk_manifest_free(&m);
    free(buf);
    free(a);
    free(e);
    free(big);
    free(sub);
}

/* The shipped manifest parses: nine SHA-256 lines. */
static void test_shipped_manifest(void)
{
    wk_manifest m;
    wk_err err;
    wk_manifest_init(&m);
    CHECK_OK(wk_manifest_load(&m, wk_test_src("checksums/metharme-13b.sha256"), &err), &err);
    CHECK_EQ_U64(m.n, 9);
    const wk_manifest_entry *e = wk_manifest_find(&m, "tokenizer.model");
    CHECK(e != NULL);
    if (e) CHECK_EQ_STR(hex_of(e->digest),
                        "9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347");
    wk_manifest_free(&m);
}

int main(void)
{
    WK_RUN(test_parse_forms);
    WK_RUN(test_parse_errors);
    WK_RUN(test_limits);
    WK_RUN(test_format_line);
    WK_RUN(test_format_status_name);
    WK_RUN(test_write_load_roundtrip);
    WK_RUN(test_name_safe);
    WK_RUN(test_hash_and_check_dir);
    WK_RUN(test_shipped_manifest);
    return wk_test_summary();
}
