/* test_builder.c - ArenaBuilder and ArenaStr: appends grow in place while
   the string is the newest allocation and move when it is not, formatted
   appends match snprintf (whole formats and corrected specs), failures leave the
   string as it was, slices compare and copy. */
#include <stdio.h>
#include <stdlib.h>
#include "test.h"

void suite_builder(void);

/* arena_builder_vappendf with a runtime format, out of the format check. */
static bool bld_vappendf(ArenaBuilder *b, const char *fmt, ...) {
    va_list ap;
    bool ok;
    va_start(ap, fmt);
    ok = arena_builder_vappendf(b, fmt, ap);
    va_end(ap);
    return ok;
}

/* Bytes, C strings and formats, in place: one allocation that grows. */
TEST(builder_appends_in_place) {
    Arena a = test_empty_arena();
    ArenaBuilder b = arena_builder(&a);
    char *first, *s;
    size_t i;
    CHECK(arena_builder_append(&b, "ab\0c", 4));
    first = b.data;
    CHECK(arena_builder_append_cstr(&b, "-key="));
    CHECK(arena_builder_appendf(&b, "%d/%s/%5.2f", -42, "x", 3.14159));
    for (i = 0; i < 100; i++) CHECK(arena_builder_append_cstr(&b, "."));
    CHECK(b.data == first);
    s = arena_builder_finish(&b);
    CHECK(s == first);
    CHECK_EQ(b.len, (size_t)4 + 5 + 11 + 100);
    CHECK(memcmp(s, "ab\0c-key=-42/x/ 3.14", 20) == 0);
    CHECK(s[b.len] == '\0' && s[b.len - 1] == '.');
    /* finished and shrunk: the next allocation follows the NUL */
    CHECK_EQ(arena_stats(&a).bytes_used,
             (b.len + 1 + ARENA__REDZONE + ARENA_MIN_ALIGN - 1) / ARENA_MIN_ALIGN * ARENA_MIN_ALIGN);
    CHECK_NO_ERR();
    arena_release(&a);
}

/* Something else allocated between appends: the string moves (with room
   to grow), its bytes intact; the other allocation is untouched. */
TEST(builder_moves_when_not_newest) {
    Arena a = test_empty_arena();
    ArenaBuilder b = arena_builder(&a);
    char want[4000], *other = NULL, *s;
    size_t i, n = 0;
    for (i = 0; i < 200; i++) {
        char piece[16];
        int k = snprintf(piece, sizeof piece, "%u,", (unsigned)(i * 7919));
        CHECK(arena_builder_append(&b, piece, (size_t)k));
        memcpy(want + n, piece, (size_t)k);
        n += (size_t)k;
        if (i % 50 == 0) {
            other = (char *)arena_alloc(&a, 32);
            CHECK(other != NULL);
            if (other) memset(other, 0x77, 32);
        }
    }
    s = arena_builder_finish(&b);
    CHECK(s != NULL && b.len == n && memcmp(s, want, n) == 0 && s[n] == '\0');
    CHECK(other && other[0] == 0x77 && other[31] == 0x77);
    CHECK_NO_ERR();
    arena_release(&a);
}

/* Long formatted text, through stb_sprintf's chunks and written in place,
   equals snprintf's. */
TEST(builder_long_formats_match_snprintf) {
    Arena a = test_empty_arena();
    ArenaBuilder b = arena_builder(&a);
    static char want[20000];
    size_t n = 0;
    int i;
    for (i = 0; i < 60; i++) {
        int k = snprintf(want + n, sizeof want - n, "%300d|%s|%-7x;", i, "abc", (unsigned)i * 77u);
        CHECK(arena_builder_appendf(&b, "%300d|%s|%-7x;", i, "abc", (unsigned)i * 77u));
        n += (size_t)k;
        k = snprintf(want + n, sizeof want - n, "%.3f:%g ", i * 1.5, i / 8.0);
        CHECK(arena_builder_appendf(&b, "%.3f:%g ", i * 1.5, i / 8.0));
        n += (size_t)k;
    }
    CHECK(arena_builder_finish(&b) != NULL);
    CHECK_EQ(b.len, n);
    CHECK(memcmp(b.data, want, n) == 0);
    CHECK_NO_ERR();
    arena_release(&a);
}

/* A full buffer arena: the append that does not fit fails with one OOM,
   and the string so far is intact and can still be finished. */
TEST(builder_out_of_memory_keeps_the_string) {
    static union { char b[1024]; double al; void *alp; } buf;
    Arena a;
    ArenaBuilder b;
    size_t len;
    char *s;
    CHECK(arena_init_buffer(&a, buf.b, sizeof buf.b));
    b = arena_builder(&a);
    while (arena_builder_append_cstr(&b, "0123456789")) {}
    CHECK_ERR(ARENA_ERR_OOM);
    len = b.len;
    CHECK(len > 500 && len % 10 == 0);
    CHECK(!arena_builder_appendf(&b, "%0500d %f", 1, 2.0));
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK_EQ(b.len, len);
    s = arena_builder_finish(&b);
    CHECK(s != NULL && strlen(s) == len && memcmp(s + len - 10, "0123456789", 10) == 0);
    CHECK_NO_ERR();
}

/* Bad input: reported once, nothing changed. */
TEST(builder_bad_input) {
    Arena a = test_empty_arena();
    ArenaBuilder b = arena_builder(&a), none;
    memset(&none, 0, sizeof none);
    CHECK(arena_builder_append(&b, "xy", 2));
    CHECK(!arena_builder_append(&b, NULL, 3));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!arena_builder_append_cstr(&b, NULL));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!bld_vappendf(&b, NULL));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!arena_builder_append(&b, "z", SIZE_MAX));
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(!arena_builder_append(&b, "z", SIZE_MAX / 2));
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(!arena_builder_append(&none, "z", 1));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(arena_builder_finish(&none) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(arena_builder_append(&b, NULL, 0));
    CHECK(strcmp(arena_builder_finish(&b), "xy") == 0);
    /* an empty builder finishes as "" */
    b = arena_builder(&a);
    CHECK(arena_builder_finish(&b) != NULL && b.data[0] == '\0' && b.len == 0);
    CHECK_NO_ERR();
    arena_release(&a);
}

/* Slices: from C strings, ordered bytewise (embedded NULs and prefixes
   included), equal, copied NUL-terminated into the arena. */
TEST(builder_slices) {
    Arena a = test_empty_arena();
    ArenaStr e = arena_str(NULL), abc = arena_str("abc"), ab = arena_str_n("abcdef", 2);
    ArenaStr nul1 = arena_str_n("a\0b", 3), nul2 = arena_str_n("a\0c", 3), hi = arena_str("\xff");
    ArenaStr c;
    CHECK(e.len == 0 && abc.len == 3 && ab.len == 2);
    CHECK(arena_str_cmp(e, arena_str("")) == 0 && arena_str_eq(e, arena_str("")));
    CHECK(arena_str_cmp(ab, abc) < 0 && arena_str_cmp(abc, ab) > 0);
    CHECK(arena_str_cmp(nul1, nul2) < 0 && !arena_str_eq(nul1, nul2));
    CHECK(arena_str_cmp(abc, hi) < 0);   /* bytes compare unsigned */
    CHECK(arena_str_eq(ab, arena_str("ab")) && !arena_str_eq(ab, abc));
    c = arena_str_copy(&a, nul2);
    CHECK(c.ptr != NULL && c.ptr != nul2.ptr && c.len == 3 && arena_str_eq(c, nul2) && c.ptr[3] == '\0');
    c = arena_str_copy(&a, e);
    CHECK(c.ptr != NULL && c.len == 0 && c.ptr[0] == '\0');
    c = arena_str_copy(&a, arena_str_n(NULL, 5));
    CHECK(c.ptr != NULL && c.len == 0);
    CHECK_NO_ERR();
    arena_release(&a);
}

void suite_builder(void) {
    RUN(builder_appends_in_place);
    RUN(builder_moves_when_not_newest);
    RUN(builder_long_formats_match_snprintf);
    RUN(builder_out_of_memory_keeps_the_string);
    RUN(builder_bad_input);
    RUN(builder_slices);
}
