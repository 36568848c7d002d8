/* Unit tests: wk_err, wk_buf, wk_cursor. */
#include "wk_buf.h"
#include "wk_cursor.h"
#include "wk_err.h"
#include "wk_test.h"

#include <errno.h>

static int fails_with_offset(wk_err *err) {
    return wk_err_set(err, WK_E_FORMAT, "tensor %s: bad offset %d", "x", 42);
}

static void test_err_set_prefix(void)
{
    wk_err e;
    wk_err_clear(&e);
    CHECK(e.code == WK_OK && e.msg[0] == 0);
    CHECK(fails_with_offset(&e) == -1);
    CHECK(e.code == WK_E_FORMAT);
    CHECK_EQ_STR(e.msg, "tensor x: bad offset 42");
    wk_err_prefix(&e, "%s", "a.pth");
    CHECK_EQ_STR(e.msg, "a.pth: tensor x: bad offset 42");
    wk_err_errno(&e, ENOENT, "open %s", "b");
    CHECK(e.code == WK_E_IO);
    CHECK_EQ_STR(e.msg, "open b: No such file or directory");
    CHECK(wk_err_exit_status(WK_E_USAGE) == 2);
    CHECK(wk_err_exit_status(WK_E_FORMAT) != 0);
    CHECK(wk_err_set(NULL, WK_E_IO, "dropped") == -1);
}

static void test_buf(void)
{
    wk_buf b;
    wk_buf_init(&b);
    wk_buf_puts(&b, "ab");
    wk_buf_le16(&b, 0x0102);
    wk_buf_le32(&b, 0x03040506);
    wk_buf_le64(&b, 0x0708090a0b0c0d0eULL);
    wk_buf_printf(&b, "%d", 12345);
    for (int i = 0; i < 10000; i++) wk_buf_putc(&b, (uint8_t)i);
    CHECK_EQ_U64(b.len, 2 + 2 + 4 + 8 + 5 + 10000);
    static const uint8_t want[] = {'a', 'b', 2, 1, 6, 5, 4, 3, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 9, 8, 7, '1', '2', '3', '4', '5', 0};
    CHECK(memcmp(b.data, want, sizeof want) == 0);
    CHECK(b.data[b.len - 1] == (uint8_t)9999);
    wk_err e;
    CHECK(wk_buf_check(&b, &e) == 0);
    wk_buf_free(&b);
}

static void test_cursor_bounds(void)
{
    static const uint8_t d[] = {1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9};
    wk_cur c = wk_cur_make(d, sizeof d, 100);
    uint16_t a; uint32_t b; uint64_t q; uint8_t z; const uint8_t *p;
    CHECK(wk_cur_u16(&c, &a) == 0 && a == 1);
    CHECK(wk_cur_u32(&c, &b) == 0 && b == 2);
    CHECK(wk_cur_u64(&c, &q) == 0 && q == 3);
    CHECK(wk_cur_pos(&c) == 114);
    CHECK(wk_cur_u16(&c, &a) == -1);           /* 1 byte left */
    CHECK(wk_cur_pos(&c) == 114);              /* nothing consumed */
    CHECK(wk_cur_bytes(&c, 2, &p) == -1);
    CHECK(wk_cur_bytes(&c, (size_t)-1, &p) == -1);
    CHECK(wk_cur_skip(&c, (size_t)-1) == -1);
    CHECK(wk_cur_u8(&c, &z) == 0 && z == 9);
    CHECK(wk_cur_u8(&c, &z) == -1);
    CHECK(wk_cur_left(&c) == 0);
}

int main(void)
{
    WK_RUN(test_err_set_prefix);
    WK_RUN(test_buf);
    WK_RUN(test_cursor_bounds);
    return wk_test_summary();
}
