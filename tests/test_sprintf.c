/* test_sprintf.c - arena_sprintf / arena_vsprintf: same text as snprintf,
   NUL-terminated inside the arena, across blocks, in nearly full buffers,
   and clean failures that leave the arena's top where it was. */
#include <stdlib.h>
#include <limits.h>
#include <stdarg.h>
#include "test.h"

void suite_sprintf(void);

static size_t used_of(const Arena *a) { return arena_stats(a).bytes_used; }

/* Room left at the top of the arena's current block (buffer arenas). */
static size_t room_of(const Arena *a) { return (size_t)(a->end - a->cur); }

/* Would an allocation of n bytes succeed right now? Tried, then undone;
   only for arenas where a failure calls no source (buffers, caps) or a
   success needs no new block. Leaves the error log cleared. */
static int alloc_would_fit(Arena *a, size_t n) {
    ArenaMark m = arena_mark(a);
    void *p = arena_alloc(a, n);
    if (p) arena_rewind(a, m);
    test_err_clear();
    return p != NULL;
}

static char *via_vsprintf(Arena *a, const char *fmt, va_list ap) {
    return arena_vsprintf(a, fmt, ap);
}

/* Formats with snprintf and with arena_vsprintf; 1 if both agree and the
   result is NUL-terminated right after the text. Prints any difference. */
static int same_as_snprintf(Arena *a, const char *fmt, ...) ARENA_PRINTF(2, 3);
static int same_as_snprintf(Arena *a, const char *fmt, ...) {
    va_list ap, ap2;
    char want[512];
    char *got;
    int n, ok;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(want, sizeof want, fmt, ap);
    got = via_vsprintf(a, fmt, ap2);
    va_end(ap2);
    va_end(ap);
    ok = n >= 0 && (size_t)n < sizeof want && got != NULL &&
         strlen(got) == (size_t)n && memcmp(got, want, (size_t)n + 1) == 0;
    if (!ok)
        fprintf(stderr, "  format \"%s\": snprintf \"%s\", arena_sprintf \"%s\"\n",
                fmt, want, got ? got : "(null)");
    return ok;
}

/* A string of n characters of a repeating pattern. Zero-padded past its
   NUL: stb_sprintf scans formats and strings a 4-byte word at a time, so it
   may read up to 3 bytes past the terminator (harmless, but memcheck flags
   the branch on those bytes when they are uninitialised heap memory). */
static char *make_text(size_t n, unsigned seed) {
    char *s = (char *)calloc(n + 8, 1);
    size_t i;
    if (!s) return NULL;
    for (i = 0; i < n; i++) s[i] = (char)('a' + (i * 7 + seed) % 26);
    s[n] = '\0';
    return s;
}

static int is_text(const char *s, size_t n, unsigned seed) {
    size_t i;
    if (!s) return 0;
    for (i = 0; i < n; i++)
        if (s[i] != (char)('a' + (i * 7 + seed) % 26)) return 0;
    return s[n] == '\0';
}

static void check_formats(Arena *a) {
    size_t z = 123456789u;
    CHECK(same_as_snprintf(a, "%d", 0));
    CHECK(same_as_snprintf(a, "%d", 42));
    CHECK(same_as_snprintf(a, "%d", -1));
    CHECK(same_as_snprintf(a, "%d %d", INT_MAX, INT_MIN + 1));
    CHECK(same_as_snprintf(a, "%i", -77));
    CHECK(same_as_snprintf(a, "%u", 0u));
    CHECK(same_as_snprintf(a, "%u", UINT_MAX));
    CHECK(same_as_snprintf(a, "%x %X", 0xdeadbeefu, 0xcafe12u));
    CHECK(same_as_snprintf(a, "%#x %#o %o", 255u, 8u, 511u));
    CHECK(same_as_snprintf(a, "%08x|%-8x|%8x", 0xabcu, 0xabcu, 0xabcu));
    CHECK(same_as_snprintf(a, "%s", "hello, world"));
    CHECK(same_as_snprintf(a, "[%10s][%-10s][%.3s][%10.2s]", "abc", "abc", "abcdef", "xyz"));
    CHECK(same_as_snprintf(a, "%s%s%s", "", "x", ""));
    CHECK(same_as_snprintf(a, "%c%c%c", 'a', 'Z', '0'));
    CHECK(same_as_snprintf(a, "[%5c][%-5c]", 'q', 'r'));
    CHECK(same_as_snprintf(a, "%5d|%-5d|%05d|%+d|% d|%+d", 42, 42, 42, 42, 42, -42));
    CHECK(same_as_snprintf(a, "%.5d|%8.3d|%-8.3d|", 42, 7, -7));
    CHECK(same_as_snprintf(a, "%*d|%-*d|%.*s", 6, 12, 6, 12, 2, "abcdef"));
    CHECK(same_as_snprintf(a, "%ld %lu %lx", -1234567L, 4000000000UL, 0xfeedUL));
    CHECK(same_as_snprintf(a, "%lld %lld", LLONG_MIN + 1, LLONG_MAX));
    CHECK(same_as_snprintf(a, "%llu %llx", ULLONG_MAX, 0x123456789abcdefULL));
    CHECK(same_as_snprintf(a, "%zu %zx", z, z));
    CHECK(same_as_snprintf(a, "%zu", (size_t)0));
    CHECK(same_as_snprintf(a, "%hd %hu", (short)-300, (unsigned short)65000));
    CHECK(same_as_snprintf(a, "100%%"));
    CHECK(same_as_snprintf(a, "%%d %%s %d%%", 5));
    CHECK(same_as_snprintf(a, "no conversions at all"));
    CHECK(same_as_snprintf(a, "%f", 3.14159));
    CHECK(same_as_snprintf(a, "%f", -2.5));
    CHECK(same_as_snprintf(a, "%f", 0.0));
    CHECK(same_as_snprintf(a, "%f", 0.1));
    CHECK(same_as_snprintf(a, "%f", 1e10));
    /* (no exact ties such as -1.25 at %.1f: stb_sprintf rounds them away
       from zero where glibc rounds to even - a documented stb difference) */
    CHECK(same_as_snprintf(a, "%.2f|%10.3f|%-10.1f|%010.2f", 2.346, 3.14159, -1.26, 9.5));
    CHECK(same_as_snprintf(a, "%.0f %.0f", 2.0, 7.0));
    CHECK(same_as_snprintf(a, "%e", 12345.678));
    CHECK(same_as_snprintf(a, "%e", 0.0));
    CHECK(same_as_snprintf(a, "%.3e %E", 0.000123, 6.02e23));
    CHECK(same_as_snprintf(a, "%g", 0.0001234));
    CHECK(same_as_snprintf(a, "%g", 123456789.0));
    CHECK(same_as_snprintf(a, "%g", 100000.0));
    CHECK(same_as_snprintf(a, "%g", 0.5));
    CHECK(same_as_snprintf(a, "%g %g", 1e-5, 1.5e300));
    CHECK(same_as_snprintf(a, "%G", 2.5e-10));
    CHECK(same_as_snprintf(a, "%d:%s:%c:%u:%x:%f:%%:%zu", -3, "mix", 'm', 9u, 31u, 0.25, z));
    CHECK_NO_ERR();
}

TEST(sprintf_matches_snprintf) {
    Arena a;
    char *buf;
    Arena b;
    memset(&a, 0, sizeof a);
    check_formats(&a);
    arena_release(&a);
    /* the same through a small-block arena and a buffer arena */
    {
        ArenaOptions opt;
        memset(&opt, 0, sizeof opt);
        opt.block_size = 256;
        arena_init(&a, &opt);
        check_formats(&a);
        arena_release(&a);
    }
    buf = (char *)malloc(1 << 16);
    CHECK(buf != NULL);
    if (!buf) return;
    CHECK(arena_init_buffer(&b, buf, 1 << 16));
    check_formats(&b);
    arena_release(&b);
    free(buf);
    CHECK_NO_ERR();
}

/* ---- random formats against snprintf --------------------------------------- */

/* A random conversion spec (flags, width, precision, size) for one argument
   kind, text around it, and edge values: what arena_sprintf prints must be
   what snprintf prints, both where stb_sprintf formats the whole text and
   where the pre-pass corrects a spec stb_sprintf gets wrong (negative '*'
   widths, hh and h, signs on unsigned conversions, "%.0d" of zero, '0'
   with a precision, flags after '0'). Widths and precisions reach past
   stb_sprintf's 512-byte chunk too. */
typedef enum { K_INT, K_LONG, K_LLONG, K_INTMAX, K_PTRDIFF, K_SCHAR, K_SHORT, K_SIZE_D,
               K_UINT, K_ULONG, K_ULLONG, K_UINTMAX, K_SIZE, K_UCHAR, K_USHORT,
               K_CHAR, K_STR, K_COUNT } QKind;

static const char *const q_size[K_COUNT] = {"", "l", "ll", "j", "t", "hh", "h", "z",
                                            "", "l", "ll", "j", "z", "hh", "h", "", ""};

static uint64_t q_edge(uint32_t *rng) {
    static const uint64_t edges[] = {0, 1, 9, 10, 99, 100, 255, 256, 32767, 32768, 65535,
                                     2147483647u, 2147483648u, 4294967295u, 4294967296u,
                                     UINT64_MAX, UINT64_MAX - 1, (uint64_t)1 << 63, 1000000007u};
    uint32_t r = test_rng(rng);
    uint64_t v;
    if (r % 3) return edges[r / 3 % (sizeof edges / sizeof edges[0])] * ((r & 0x10000) ? UINT64_MAX : 1);
    v = ((uint64_t)test_rng(rng) << 32) | test_rng(rng);
    return v >> (test_rng(rng) % 64);
}

static int q_check(Arena *a, const char *fmt, int stars, int s1, int s2, QKind k, uint64_t v,
                   const char *str) {
#define Q_CALL(x) (stars == 0 ? same_as_snprintf(a, fmt, x) \
                   : stars == 1 ? same_as_snprintf(a, fmt, s1, x) : same_as_snprintf(a, fmt, s1, s2, x))
    switch (k) {
    case K_INT: case K_SCHAR: case K_SHORT: return Q_CALL((int)(int64_t)v);
    case K_CHAR: return Q_CALL((int)(' ' + v % 95));   /* printable: no NUL in the text */
    case K_LONG: return Q_CALL((long)(int64_t)v);
    case K_LLONG: return Q_CALL((long long)(int64_t)v);
    case K_INTMAX: return Q_CALL((intmax_t)(int64_t)v);
    case K_PTRDIFF: return Q_CALL((ptrdiff_t)(int64_t)v);
    case K_SIZE_D: return Q_CALL((size_t)(int64_t)(int32_t)v);
    case K_UINT: case K_UCHAR: case K_USHORT: return Q_CALL((unsigned)v);
    case K_ULONG: return Q_CALL((unsigned long)v);
    case K_ULLONG: return Q_CALL((unsigned long long)v);
    case K_UINTMAX: return Q_CALL((uintmax_t)v);
    case K_SIZE: return Q_CALL((size_t)v);
    default: return Q_CALL(str);
    }
#undef Q_CALL
}

/* Appends a random width or precision: none, digits or '*'. */
static void q_number(char **f, uint32_t *rng, int *stars, int *star_val, int is_prec) {
    uint32_t r = test_rng(rng) % 8;
    int big = test_rng(rng) % 16 == 0;
    if (r < 3) return;
    if (is_prec) *(*f)++ = '.';
    if (r == 3 && is_prec) return;                       /* "." alone: 0 */
    if (r < 6) {
        *f += sprintf(*f, "%d", big ? 250 + (int)(test_rng(rng) % 200) : (int)(test_rng(rng) % 25));
    } else {
        *(*f)++ = '*';
        star_val[(*stars)++] = big ? (test_rng(rng) % 2 ? -1 : 1) * (250 + (int)(test_rng(rng) % 200))
                                   : (int)(test_rng(rng) % 30) - 10;
    }
}

TEST(sprintf_random_vs_snprintf) {
    static const char *const strs[] = {"", "a", "hello", "0123456789abcdef", "with spaces and %% signs"};
    char *long_str = make_text(400, 3);
    uint32_t rng = 0xC0FFEEu;
    int i, bad = 0;
    Arena a;
    memset(&a, 0, sizeof a);
    CHECK(long_str != NULL);
    if (!long_str) return;
    for (i = 0; i < 6000 && bad < 5; i++) {
        char fmt[64] = {0}, *f = fmt;   /* zeroed: stb_sprintf reads formats 4 bytes at a time */
        const char *flags = "-0+ ", *convs;
        QKind k = (QKind)(test_rng(&rng) % K_COUNT);
        int stars = 0, star_val[2] = {0, 0}, j;
        uint32_t r = test_rng(&rng);
        const char *str = r % 7 == 0 ? long_str : strs[r % 5];
        if (test_rng(&rng) % 2) f += sprintf(f, "<%s>", test_rng(&rng) % 4 ? "x" : "100%%");
        *f++ = '%';
        for (j = 0; j < 4; j++)
            if (test_rng(&rng) % 4 == 0 && !(flags[j] == '0' && k >= K_CHAR) &&
                !(j >= 2 && k >= K_UINT))   /* signs on unsigned: msvcrt prints a space */
                *f++ = flags[j];
        q_number(&f, &rng, &stars, star_val, 0);
        if (k != K_CHAR) q_number(&f, &rng, &stars, star_val, 1);
        f += sprintf(f, "%s", q_size[k]);
        convs = k <= K_SIZE_D ? "di" : k <= K_USHORT ? "uxX" : k == K_CHAR ? "c" : "s";
        *f++ = convs[test_rng(&rng) % strlen(convs)];
        if (test_rng(&rng) % 2) f += sprintf(f, "|tail");
        *f = '\0';
        if (!q_check(&a, fmt, stars, star_val[0], star_val[1], k, q_edge(&rng), str)) bad++;
        if (i % 500 == 0) arena_reset(&a);
    }
    CHECK_EQ(bad, 0);
    {   /* signs are for signed conversions (C11 7.21.6.1), whatever msvcrt does */
        const char *fmt = "%+u|% x|%+5u|% d";   /* a variable: gcc rightly warns */
        char *s = arena_sprintf(&a, fmt, 5u, 10u, 7u, 3);
        CHECK(s != NULL && strcmp(s, "5|a|    7| 3") == 0);
    }
    CHECK_NO_ERR();
    arena_release(&a);
    free(long_str);
}

TEST(sprintf_empty_format) {
    Arena a;
    char *s, *t;
    size_t used;
    memset(&a, 0, sizeof a);
    s = arena_sprintf(&a, "%s", "");
    CHECK(s != NULL);
    if (s) CHECK_EQ(s[0], '\0');
    used = used_of(&a);
    t = arena_sprintf(&a, "%s", "");
    CHECK(t != NULL && t != s);
    if (t) CHECK_EQ(t[0], '\0');
    CHECK(used_of(&a) > used);                  /* the NUL is in the arena */
    CHECK_NO_ERR();
    arena_release(&a);
}

/* The empty format literal, kept out of gcc's -Wformat-zero-length. */
static char *sprintf_empty(Arena *a) {
    const char *volatile fmt = "";
    return arena_sprintf(a, fmt, 0);
}

TEST(sprintf_empty_literal) {
    Arena a;
    char *s;
    memset(&a, 0, sizeof a);
    s = sprintf_empty(&a);
    CHECK(s != NULL);
    if (s) CHECK_EQ(s[0], '\0');
    CHECK(used_of(&a) >= 1);
    CHECK_NO_ERR();
    arena_release(&a);
}

/* The result is an allocation of its own, with its NUL, between what was
   allocated just before and just after it. */
TEST(sprintf_result_inside_arena) {
    Arena a;
    int round;
    memset(&a, 0, sizeof a);
    for (round = 0; round < 40; round++) {
        size_t used0, used1, n;
        char *x, *s, *y;
        x = (char *)arena_alloc(&a, 24);
        CHECK(x != NULL);
        if (!x) break;
        test_fill(x, 24, (unsigned)round);
        used0 = used_of(&a);
        s = arena_sprintf(&a, "round %d: %s/%u", round, round % 2 ? "odd" : "even",
                          (unsigned)round * 1000u);
        used1 = used_of(&a);
        y = (char *)arena_alloc(&a, 24);
        CHECK(s != NULL && y != NULL);
        if (!s || !y) break;
        n = strlen(s);
        CHECK(n >= 13);
        CHECK_EQ(s[n], '\0');
        CHECK(used1 - used0 >= n + 1);
        CHECK(x + 24 <= s);
        CHECK(s + n + 1 <= y);
        test_fill(y, 24, (unsigned)round + 100u);
        CHECK(test_holds(x, 24, (unsigned)round));
        {
            char want[64];
            snprintf(want, sizeof want, "round %d: %s/%u", round, round % 2 ? "odd" : "even",
                     (unsigned)round * 1000u);
            CHECK(strcmp(s, want) == 0);
        }
    }
    CHECK_NO_ERR();
    arena_release(&a);
}

/* 300000 characters - from a %s, from a field width, and as the literal
   text of the format itself - on an arena whose first block is 4096 bytes:
   the text is right, neighbours intact, and the memory used stays
   proportional to the text. (Many %d in one call: sprintf_many_across_blocks.) */
TEST(sprintf_larger_than_a_block) {
    enum { N = 300000 };
    TestSource src;
    ArenaOptions opt;
    Arena a;
    char *big = make_text(N, 3);
    char *x, *s, *y;
    size_t i, held0;
    CHECK(big != NULL);
    if (!big) return;
    opt = test_source_opts(&src, 4096);
    arena_init(&a, &opt);

    x = (char *)arena_alloc(&a, 1000);
    CHECK(x != NULL);
    if (!x) goto out;
    test_fill(x, 1000, 7);
    held0 = arena_stats(&a).bytes_held;
    s = arena_sprintf(&a, "%s", big);
    CHECK(s != NULL);
    CHECK(is_text(s, N, 3));
    CHECK(test_holds(x, 1000, 7));
    /* one pass, straight into the arena: no quadratic copying, no memory
       blow-up (a few times the text at most) */
    CHECK(arena_stats(&a).bytes_held - held0 <= 4 * (size_t)N);
    CHECK(src.grabs < 64);
    y = (char *)arena_alloc(&a, 100);
    CHECK(y != NULL);
    if (y) test_fill(y, 100, 8);

    /* a width of 300000: padding across many blocks */
    s = arena_sprintf(&a, "%*d|", N, 7);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ(strlen(s), (size_t)N + 1);
        for (i = 0; i + 2 < N; i += 4099) CHECK_EQ(s[i], ' ');
        CHECK_EQ(s[N - 1], '7');
        CHECK_EQ(s[N], '|');
    }
    /* a format that is itself 300000 characters of literal text */
    {
        char *fmt = (char *)calloc(N + 8, 1);
        CHECK(fmt != NULL);
        if (fmt) {
            const char *volatile vf = fmt;
            memcpy(fmt, "%d", 2);
            memcpy(fmt + 2, big, N);
            memcpy(fmt + 2 + N, "%d", 3);
            s = arena_sprintf(&a, vf, 12, 34);
            CHECK(s != NULL);
            if (s) {
                CHECK_EQ(strlen(s), (size_t)N + 4);
                CHECK(memcmp(s, "12", 2) == 0);
                CHECK(memcmp(s + 2, big, N) == 0);
                CHECK(strcmp(s + 2 + N, "34") == 0);
            }
            free(fmt);
        }
    }
    CHECK(test_holds(x, 1000, 7));
    if (y) CHECK(test_holds(y, 100, 8));
    CHECK_NO_ERR();
out:
    arena_release(&a);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
    free(big);
}

/* Many conversions in one call: the result spans several blocks. */
#define MANY_INTS_FMT \
    "%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d," \
    "%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d|%0900d|%-900d|"
#define MANY_INTS_ARGS(b) \
    b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11, \
    b + 12, b + 13, b + 14, b + 15, b + 16, b + 17, b + 18, b + 19, b + 20, b + 21, \
    b + 22, b + 23, b + 24, b + 25, b + 26, b + 27, b + 28, b + 29, b + 30, b + 31, \
    b + 32, b + 33, b + 34, b + 35, b + 36, b + 37, b + 38, b + 39, b, b

static char *many_ints(Arena *a, int base) {
    return arena_sprintf(a, MANY_INTS_FMT, MANY_INTS_ARGS(base));
}

static int many_ints_ok(const char *s, int base) {
    char want[4096];
    int n = snprintf(want, sizeof want, MANY_INTS_FMT, MANY_INTS_ARGS(base));
    return s && n > 0 && strcmp(s, want) == 0;
}

/* Hundreds of results on small blocks, many crossing a block boundary:
   every earlier result survives the later ones. */
TEST(sprintf_many_across_blocks) {
    enum { N = 300 };
    static char *res[N];
    ArenaOptions opt;
    Arena a;
    int i;
    memset(&opt, 0, sizeof opt);
    opt.block_size = 4096;
    opt.max_block_size = 8192;
    arena_init(&a, &opt);
    for (i = 0; i < N; i++) {
        if (i % 3 == 0) {
            res[i] = many_ints(&a, i * 1000);
        } else {
            char *t = make_text((size_t)(i * 37 % 3000), (unsigned)i);
            res[i] = t ? arena_sprintf(&a, "<%s>", t) : NULL;
            free(t);
        }
        CHECK(res[i] != NULL);
        if (i % 5 == 0) CHECK(arena_alloc(&a, (size_t)(i % 200)) != NULL);
    }
    for (i = 0; i < N; i++) {
        if (i % 3 == 0) {
            CHECK(many_ints_ok(res[i], i * 1000));
        } else if (res[i]) {
            size_t n = (size_t)(i * 37 % 3000);
            CHECK_EQ(strlen(res[i]), n + 2);
            CHECK_EQ(res[i][0], '<');
            CHECK_EQ(res[i][n + 1], '>');
            {
                char *t = make_text(n, (unsigned)i);
                CHECK(t && memcmp(res[i] + 1, t, n) == 0);
                free(t);
            }
        }
    }
    CHECK(arena_stats(&a).block_count >= 10);
    CHECK_NO_ERR();
    arena_release(&a);
}

static unsigned char *aligned_buffer(size_t n) {
    return (unsigned char *)malloc(n);
}

/* A buffer arena with only ~100 bytes free still formats short results. */
TEST(sprintf_nearly_full_buffer) {
    enum { BUF = 8192 };
    unsigned char *buf = aligned_buffer(BUF);
    Arena a;
    char *x, *s;
    size_t room, used;
    CHECK(buf != NULL);
    if (!buf) return;
    CHECK(arena_init_buffer(&a, buf, BUF));
    room = room_of(&a);
    x = (char *)arena_alloc(&a, room - 100 - ARENA__REDZONE);
    CHECK(x != NULL);
    if (!x) { free(buf); return; }
    test_fill(x, room - 100 - ARENA__REDZONE, 1);
    CHECK(room_of(&a) >= 64 && room_of(&a) <= 100);
    used = used_of(&a);
    s = arena_sprintf(&a, "%d", 42);
    CHECK(s != NULL && strcmp(s, "42") == 0);
    CHECK_NO_ERR();
    CHECK(used_of(&a) >= used + 3);
    s = arena_sprintf(&a, "%s-%d", "ab", 7);
    CHECK(s != NULL && strcmp(s, "ab-7") == 0);
    CHECK_NO_ERR();
    /* keep going until it is full: each success is right, then one OOM */
    {
        int k, fails = 0;
        for (k = 0; k < 50 && !fails; k++) {
            used = used_of(&a);
            s = arena_sprintf(&a, "%05d", k);
            if (!s) {
                fails++;
                CHECK_ERR(ARENA_ERR_OOM);
                CHECK_EQ(used_of(&a), used);
            } else {
                char want[16];
                snprintf(want, sizeof want, "%05d", k);
                CHECK(strcmp(s, want) == 0);
            }
        }
        CHECK_EQ(fails, 1);
    }
    CHECK(test_holds(x, room - 100 - ARENA__REDZONE, 1));
    CHECK_NO_ERR();
    arena_release(&a);
    free(buf);
}

/* For every length around the room left in a buffer: the result succeeds
   exactly when an allocation of its length + 1 would, and a failure is one
   OOM that leaves the arena as it was. */
TEST(sprintf_buffer_fit_boundary) {
    enum { BUF = 4096 };
    unsigned char *buf = aligned_buffer(BUF);
    char *text = make_text(BUF, 9);
    size_t lead[3];
    int li;
    CHECK(buf != NULL && text != NULL);
    if (!buf || !text) { free(buf); free(text); return; }
    lead[0] = 0;       /* the whole buffer free: lengths near its size */
    lead[1] = 1500;    /* ~2.5 KiB free: starts direct, ends chunked */
    lead[2] = 3700;    /* < 512 free: chunked from the start */
    for (li = 0; li < 3; li++) {
        Arena a;
        size_t room, L;
        CHECK(arena_init_buffer(&a, buf, BUF));
        if (lead[li]) CHECK(arena_alloc(&a, lead[li]) != NULL);
        room = room_of(&a);
        arena_release(&a);
        for (L = room > 48 ? room - 48 : 0; L <= room + 8 && L < BUF; L++) {
            size_t used;
            int fits;
            char *s, *x = NULL;
            CHECK(arena_init_buffer(&a, buf, BUF));
            if (lead[li]) {
                x = (char *)arena_alloc(&a, lead[li]);
                CHECK(x != NULL);
                if (x) test_fill(x, lead[li], (unsigned)L);
            }
            used = used_of(&a);
            fits = alloc_would_fit(&a, L + 1);
            s = arena_sprintf(&a, "%.*s", (int)L, text);
            if (fits) {
                CHECK(s != NULL);
                CHECK_NO_ERR();
                if (s) {
                    CHECK_EQ(strlen(s), L);
                    CHECK(memcmp(s, text, L) == 0);
                    CHECK(used_of(&a) >= used + L + 1);
                }
            } else {
                CHECK(s == NULL);
                CHECK_ERR(ARENA_ERR_OOM);
                CHECK_EQ(used_of(&a), used);
            }
            if (x) CHECK(test_holds(x, lead[li], (unsigned)L));
            test_err_clear();
            arena_release(&a);
        }
    }
    free(text);
    free(buf);
}

/* A result that does not fit: NULL, one OOM, top and earlier data unchanged,
   with short and long texts, direct and chunked. */
TEST(sprintf_buffer_no_fit) {
    enum { BUF = 4096 };
    unsigned char *buf = aligned_buffer(BUF);
    char *text = make_text(20000, 5);
    Arena a;
    char *x, *ok1;
    size_t used, xn;
    static const size_t lens[] = { 100, 511, 512, 513, 1000, 1025, 3000, 5000, 20000 };
    size_t i;
    CHECK(buf != NULL && text != NULL);
    if (!buf || !text) { free(buf); free(text); return; }
    CHECK(arena_init_buffer(&a, buf, BUF));
    ok1 = arena_sprintf(&a, "first %d", 1);
    CHECK(ok1 && strcmp(ok1, "first 1") == 0);
    xn = room_of(&a) - 60 - ARENA__REDZONE;      /* leaves ~64 bytes */
    x = (char *)arena_alloc(&a, xn);
    CHECK(x != NULL);
    if (!x) goto out;
    test_fill(x, xn, 6);
    used = used_of(&a);
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *s = arena_sprintf(&a, "%.*s", (int)lens[i], text);
        CHECK(s == NULL);
        CHECK_ERR(ARENA_ERR_OOM);
        CHECK_EQ(used_of(&a), used);
        CHECK(test_holds(x, xn, 6));
        CHECK(strcmp(ok1, "first 1") == 0);
    }
    /* with more room: starts in place, runs out midway */
    arena_release(&a);
    CHECK(arena_init_buffer(&a, buf, BUF));
    ok1 = arena_sprintf(&a, "first %d", 2);
    CHECK(ok1 != NULL);
    used = used_of(&a);
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        if (lens[i] < BUF) continue;
        {
            char *s = arena_sprintf(&a, "%s|%.*s", "pre", (int)lens[i], text);
            CHECK(s == NULL);
            CHECK_ERR(ARENA_ERR_OOM);
            CHECK_EQ(used_of(&a), used);
            CHECK(ok1 && strcmp(ok1, "first 2") == 0);
        }
    }
    /* a short one after the failures still works */
    {
        char *s = arena_sprintf(&a, "%d", 42);
        CHECK(s && strcmp(s, "42") == 0);
    }
    CHECK_NO_ERR();
out:
    arena_release(&a);
    free(text);
    free(buf);
}

TEST(sprintf_null_format) {
    Arena a;
    const char *volatile nf = NULL;
    char *s, *x;
    size_t used;
    memset(&a, 0, sizeof a);
    x = arena_strdup(&a, "keep");
    used = used_of(&a);
    s = arena_sprintf(&a, nf, 0);
    CHECK(s == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(used_of(&a), used);
    CHECK(x && strcmp(x, "keep") == 0);
    s = arena_sprintf(&a, "%s", "ok");
    CHECK(s && strcmp(s, "ok") == 0);
    CHECK_NO_ERR();
    arena_release(&a);
}

/* Lengths around STB_SPRINTF_MIN (512) and its multiples, from %s, from a
   literal format, and from padding, on heap, small-block and buffer arenas. */
static void around_min(Arena *a, const char *what) {
    static const size_t lens[] = { 0, 1, 2, 500, 509, 510, 511, 512, 513, 514, 515, 516,
                                   1021, 1022, 1023, 1024, 1025, 1026, 1535, 1536, 1537,
                                   2047, 2048, 2049 };
    size_t i;
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        char *t = make_text(n, (unsigned)n);
        char *s, *fmt;
        if (!t) continue;
        s = arena_sprintf(a, "%s", t);
        if (!is_text(s, n, (unsigned)n))
            fprintf(stderr, "  %s: %%s of %u chars differs\n", what, (unsigned)n);
        CHECK(is_text(s, n, (unsigned)n));
        /* the same text as the format itself (no conversions) */
        fmt = t;
        {
            const char *volatile vf = fmt;
            s = arena_sprintf(a, vf, 0);
            CHECK(is_text(s, n, (unsigned)n));
        }
        /* padding: n - 1 spaces then 'x' */
        if (n) {
            s = arena_sprintf(a, "%*c", (int)n, 'x');
            CHECK(s != NULL);
            if (s) {
                size_t k;
                CHECK_EQ(strlen(s), n);
                for (k = 0; k + 1 < n; k++) if (s[k] != ' ') break;
                CHECK_EQ(k, n - 1);
                CHECK_EQ(s[n - 1], 'x');
            }
        }
        /* one character before and after a text of n - 2 */
        if (n >= 2) {
            s = arena_sprintf(a, "[%.*s]", (int)(n - 2), t);
            CHECK(s != NULL);
            if (s) {
                CHECK_EQ(strlen(s), n);
                CHECK_EQ(s[0], '[');
                CHECK(memcmp(s + 1, t, n - 2) == 0);
                CHECK_EQ(s[n - 1], ']');
            }
        }
        free(t);
    }
    CHECK_NO_ERR();
}

TEST(sprintf_around_stb_min) {
    Arena a;
    ArenaOptions opt;
    unsigned char *buf;
    memset(&a, 0, sizeof a);
    around_min(&a, "heap");
    arena_release(&a);
    memset(&opt, 0, sizeof opt);
    opt.block_size = 256;
    opt.max_block_size = 1024;
    arena_init(&a, &opt);
    around_min(&a, "small blocks");
    arena_release(&a);
    buf = aligned_buffer(1 << 17);
    if (buf) {
        CHECK(arena_init_buffer(&a, buf, 1 << 17));
        around_min(&a, "buffer");
        arena_release(&a);
        /* a buffer only just large enough for each, so the chunked path runs */
        {
            static const size_t lens[] = { 510, 511, 512, 513, 514, 515, 1023, 1024, 1025 };
            size_t i;
            for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
                char *t = make_text(lens[i], 1);
                char *s;
                size_t extra;
                int found = 0;
                /* the header overhead differs per build: find the size by
                   growing the buffer until the string fits exactly */
                for (extra = 0; extra < 256 && t; extra += 16) {
                    size_t size = lens[i] + extra;
                    CHECK(arena_init_buffer(&a, buf, size));
                    if (!alloc_would_fit(&a, lens[i] + 1)) { arena_release(&a); continue; }
                    s = arena_sprintf(&a, "%s", t);
                    CHECK(is_text(s, lens[i], 1));
                    CHECK_NO_ERR();
                    arena_release(&a);
                    found = 1;
                    break;
                }
                CHECK(found);
                free(t);
            }
        }
        free(buf);
    }
}

#ifndef ARENA_NO_VIRTUAL
TEST(sprintf_virtual) {
    enum { N = 1000000 };
    Arena v;
    char *big = make_text(N, 11);
    char *x, *s, *y;
    CHECK(big != NULL);
    if (!big) return;
    if (!arena_init_virtual(&v, (size_t)64 << 20)) {
        CHECK(0);
        free(big);
        return;
    }
    x = arena_strdup(&v, "before");
    s = arena_sprintf(&v, "%s", big);
    y = arena_strdup(&v, "after");
    CHECK(is_text(s, N, 11));
    CHECK(x && strcmp(x, "before") == 0);
    CHECK(y && strcmp(y, "after") == 0);
    CHECK(s && x < s && s + N < y);
    /* the virtual arena is contiguous: the string grew in place */
    CHECK(arena_stats(&v).bytes_used < 3 * (size_t)N);
    s = arena_sprintf(&v, "%d-%s-%d", 1, big, 2);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ(strlen(s), (size_t)N + 4);
        CHECK(memcmp(s, "1-", 2) == 0);
        CHECK(memcmp(s + 2, big, N) == 0);
        CHECK(strcmp(s + 2 + N, "-2") == 0);
    }
    CHECK_NO_ERR();
    arena_release(&v);

    /* a small reservation: what does not fit fails cleanly */
    if (arena_init_virtual(&v, (size_t)1 << 20)) {
        size_t used;
        x = arena_strdup(&v, "keep");
        used = used_of(&v);
        s = arena_sprintf(&v, "%s%s", big, big);
        CHECK(s == NULL);
        CHECK_ERR(ARENA_ERR_OOM);
        CHECK_EQ(used_of(&v), used);
        CHECK(x && strcmp(x, "keep") == 0);
        s = arena_sprintf(&v, "%.*s", 500000, big);
        CHECK(s != NULL && strlen(s) == 500000 && memcmp(s, big, 500000) == 0);
        CHECK_NO_ERR();
        arena_release(&v);
    } else {
        CHECK(0);
    }
    free(big);
}
#endif

/* A source that fails the next grab: a sprintf needing a new block fails
   cleanly, a later one succeeds. */
TEST(sprintf_failing_source) {
    TestSource src;
    ArenaOptions opt;
    Arena a;
    char *x, *s, *text = make_text(5000, 2);
    size_t used, xn;
    CHECK(text != NULL);
    if (!text) return;
    opt = test_source_opts(&src, 4096);
    arena_init(&a, &opt);
    s = arena_sprintf(&a, "%s", "warm");
    CHECK(s && strcmp(s, "warm") == 0);
    CHECK_EQ(src.grabs, (size_t)1);

    /* the string starts in the block and needs a second one midway */
    xn = room_of(&a) > 1200 ? room_of(&a) - 1200 : 0;
    x = (char *)arena_alloc(&a, xn ? xn : 1);
    CHECK(x != NULL);
    if (!x) goto out;
    test_fill(x, xn, 3);
    used = used_of(&a);
    src.fail_at = src.grabs + 1;
    s = arena_sprintf(&a, "%.*s", 3000, text);
    CHECK(s == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK_EQ(used_of(&a), used);
    CHECK(test_holds(x, xn, 3));
    CHECK_EQ(src.live, (size_t)1);
    /* the next grab works */
    s = arena_sprintf(&a, "%.*s", 3000, text);
    CHECK(s != NULL && strlen(s) == 3000 && memcmp(s, text, 3000) == 0);
    CHECK(test_holds(x, xn, 3));
    CHECK_NO_ERR();

    /* a string that must open a new block from the start */
    x = (char *)arena_alloc(&a, room_of(&a) - 32 - ARENA__REDZONE);
    used = used_of(&a);
    src.fail_at = src.grabs + 1;
    s = arena_sprintf(&a, "%s", text);
    CHECK(s == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK_EQ(used_of(&a), used);
    s = arena_sprintf(&a, "%s", text);
    CHECK(s != NULL && strcmp(s, text) == 0);
    CHECK_NO_ERR();
    (void)x;
out:
    arena_release(&a);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
    free(text);
}

/* A handler that takes a mark while a failing sprintf has its text in
   later blocks: that mark must die with the text, and the cut that kills
   it must cost no memory, also when the top sits at a block's start just
   past a cut record at the end of the block before. */
typedef struct { Arena *a; bool mark; int calls; ArenaMark marks[4]; } MarkingHandler;
static void marking_handler(ArenaError err, const char *msg, void *ctx) {
    MarkingHandler *h = (MarkingHandler *)ctx;
    (void)err; (void)msg;
    if (h->mark && h->calls < 4) h->marks[h->calls] = arena_mark(h->a);
    h->calls++;
}

TEST(sprintf_failure_with_a_mark_costs_nothing) {
    TestSource src;
    ArenaOptions opt = test_source_opts(&src, 4096);
    MarkingHandler h;
    ArenaErrorFn prev;
    ArenaMark m1, m2;
    Arena a;
    char *s, *text = make_text(40000, 5);
    size_t used;
    int i;
    CHECK(text != NULL);
    if (!text) return;
    opt.max_bytes = (size_t)16 << 10;   /* room for the text's first new block, not its second */
    arena_init(&a, &opt);
    CHECK(arena_alloc(&a, 16) != NULL);
    CHECK(arena_alloc(&a, room_of(&a) - 64 - 2 * ARENA__REDZONE) != NULL);
    used = used_of(&a);
    m1 = arena_mark(&a);
    CHECK(arena_alloc(&a, 16) != NULL);
    m2 = arena_mark(&a);
    arena_rewind(&a, m1);   /* a cut record at m1, near the block's end */
    CHECK_EQ(used_of(&a), used);
    memset(&h, 0, sizeof h);
    h.a = &a;
    prev = arena_set_error_handler(marking_handler, &h);
    s = arena_sprintf(&a, "%s", text);   /* the top ends at the next block's start */
    CHECK(s == NULL);
    CHECK_EQ(used_of(&a), used);
    h.mark = true;
    h.calls = 0;
    for (i = 0; i < 3; i++) {
        s = arena_sprintf(&a, "%s", text);
        CHECK(s == NULL);
        CHECK_EQ(h.calls, i + 1);
        CHECK_EQ(used_of(&a), used);
    }
    arena_set_error_handler(prev, NULL);
    a.opt.max_bytes = 0;
    s = arena_sprintf(&a, "%s", text);   /* the top goes past the marks again */
    CHECK(s != NULL && strcmp(s, text) == 0);
    arena_rewind(&a, m2);
    CHECK_ERR(ARENA_ERR_MISUSE);
    for (i = 0; i < 3; i++) {
        arena_rewind(&a, h.marks[i]);
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    CHECK(s != NULL && strcmp(s, text) == 0);
    arena_release(&a);
    CHECK_EQ(src.live, (size_t)0);
    free(text);
}

/* The short result fits in the current block: the failing (or capped)
   source must not matter, exactly as for arena_alloc of the same size. */
TEST(sprintf_fits_without_new_block) {
    TestSource src;
    ArenaOptions opt;
    Arena a;
    char *x, *s;
    size_t used, grabs, xn;
    opt = test_source_opts(&src, 4096);
    arena_init(&a, &opt);
    x = (char *)arena_alloc(&a, 16);
    CHECK(x != NULL);
    xn = room_of(&a) - 100 - ARENA__REDZONE;
    x = (char *)arena_alloc(&a, xn);
    CHECK(x != NULL);
    if (!x) goto out;
    test_fill(x, xn, 1);
    CHECK(room_of(&a) <= 100 && room_of(&a) >= 64);
    used = used_of(&a);
    grabs = src.grabs;
    src.fail_at = src.grabs + 1;
    CHECK(alloc_would_fit(&a, 3));
    s = arena_sprintf(&a, "%d", 42);
    CHECK(s != NULL && strcmp(s, "42") == 0);
    CHECK_NO_ERR();
    test_err_clear();
    CHECK(used_of(&a) > used);
    /* and with a working source it takes no new block either */
    src.fail_at = 0;
    used = used_of(&a);
    s = arena_sprintf(&a, "%s", "ab");
    CHECK(s != NULL && strcmp(s, "ab") == 0);
    CHECK_EQ(src.grabs - src.failed, grabs);
    CHECK(used_of(&a) - used < 64);
    CHECK(test_holds(x, xn, 1));
    test_err_clear();
out:
    arena_release(&a);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);

    /* the same under a max_bytes cap that allows no second block */
    memset(&opt, 0, sizeof opt);
    opt.block_size = 4096;
    opt.max_bytes = 4096;
    arena_init(&a, &opt);
    x = (char *)arena_alloc(&a, 16);
    CHECK(x != NULL);
    if (x) {
        x = (char *)arena_alloc(&a, room_of(&a) - 100 - ARENA__REDZONE);
        CHECK(x != NULL);
        CHECK(alloc_would_fit(&a, 3));
        s = arena_sprintf(&a, "%d", 42);
        CHECK(s != NULL && strcmp(s, "42") == 0);
        CHECK_NO_ERR();
        test_err_clear();
        /* too long for what is left: one OOM, nothing changed */
        used = used_of(&a);
        s = arena_sprintf(&a, "%0200d", 1);
        CHECK(s == NULL);
        CHECK_ERR(ARENA_ERR_OOM);
        CHECK_EQ(used_of(&a), used);
    }
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(sprintf_vsprintf_and_reuse) {
    Arena a;
    char *s1, *s2;
    int i;
    memset(&a, 0, sizeof a);
    s1 = test_vsprintf(&a, "%s=%d", "x", 5);
    s2 = test_vsprintf(&a, "%c%c", 'o', 'k');
    CHECK(s1 && strcmp(s1, "x=5") == 0);
    CHECK(s2 && strcmp(s2, "ok") == 0);
    /* after reset and release the arena formats again */
    arena_reset(&a);
    s1 = arena_sprintf(&a, "%u", 7u);
    CHECK(s1 && strcmp(s1, "7") == 0);
    arena_release(&a);
    s1 = arena_sprintf(&a, "%u", 8u);
    CHECK(s1 && strcmp(s1, "8") == 0);
    /* inside a temp scope: rewinding frees the strings */
    for (i = 0; i < 100; i++) {
        ArenaTemp t = arena_temp_begin(&a);
        size_t used = used_of(&a);
        s2 = arena_sprintf(t.arena, "%0*d", 100 + i * 10, i);
        CHECK(s2 != NULL && strlen(s2) == (size_t)(100 + i * 10));
        arena_temp_end(t);
        CHECK_EQ(used_of(&a), used);
    }
    CHECK(strcmp(s1, "8") == 0);
    CHECK_NO_ERR();
    arena_release(&a);
}

/* The most negative values: the text must be right and, as for any input,
   no undefined behaviour (UBSan) inside the formatter. */
TEST(sprintf_most_negative_integers) {
    Arena a;
    memset(&a, 0, sizeof a);
    CHECK(same_as_snprintf(&a, "%d", INT_MIN));
    CHECK(same_as_snprintf(&a, "%i|%5d|%-12d|", INT_MIN, INT_MIN, INT_MIN));
    CHECK(same_as_snprintf(&a, "%ld", LONG_MIN));
    CHECK(same_as_snprintf(&a, "%lld", LLONG_MIN));
    CHECK(same_as_snprintf(&a, "%hd %hhd", (short)SHRT_MIN, (signed char)SCHAR_MIN));
    CHECK_NO_ERR();
    arena_release(&a);
}

/* A long result on an arena whose blocks stop growing at 8 KiB (or 64 KiB):
   the text is written once into the arena, so what the arena holds stays
   a small multiple of the text, not one copy per 512 characters. */
TEST(sprintf_long_result_memory_is_linear) {
    enum { N = 300000 };
    static const size_t caps[] = { 8192, 65536 };
    char *big = make_text(N, 4);
    size_t i;
    CHECK(big != NULL);
    if (!big) return;
    for (i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        TestSource src;
        ArenaOptions opt;
        Arena a;
        char *s;
        opt = test_source_opts(&src, 4096);
        opt.max_block_size = caps[i];
        arena_init(&a, &opt);
        s = arena_sprintf(&a, "%s", big);
        CHECK(is_text(s, N, 4));
        if (arena_stats(&a).bytes_held > 4 * (size_t)N || src.grabs > 100)
            fprintf(stderr, "  max_block_size %u: %u chars held %u bytes in %u grabs\n",
                    (unsigned)caps[i], (unsigned)N, (unsigned)arena_stats(&a).bytes_held,
                    (unsigned)src.grabs);
        CHECK(arena_stats(&a).bytes_held <= 4 * (size_t)N);
        CHECK(arena_stats(&a).bytes_used <= 4 * (size_t)N);
        CHECK(src.grabs <= 100);
        CHECK_NO_ERR();
        arena_release(&a);
        CHECK_EQ(src.live, (size_t)0);
        CHECK_EQ(src.bad_drops, (size_t)0);
    }
    free(big);
}

void suite_sprintf(void) {
    RUN(sprintf_matches_snprintf);
    RUN(sprintf_random_vs_snprintf);
    RUN(sprintf_empty_format);
    RUN(sprintf_empty_literal);
    RUN(sprintf_result_inside_arena);
    RUN(sprintf_larger_than_a_block);
    RUN(sprintf_many_across_blocks);
    RUN(sprintf_nearly_full_buffer);
    RUN(sprintf_buffer_fit_boundary);
    RUN(sprintf_buffer_no_fit);
    RUN(sprintf_null_format);
    RUN(sprintf_around_stb_min);
#ifndef ARENA_NO_VIRTUAL
    RUN(sprintf_virtual);
#endif
    RUN(sprintf_failing_source);
    RUN(sprintf_fits_without_new_block);
    RUN(sprintf_failure_with_a_mark_costs_nothing);
    RUN(sprintf_vsprintf_and_reuse);
    RUN(sprintf_long_result_memory_is_linear);
    RUN(sprintf_most_negative_integers);   /* last: UB in stb_sprintf aborts UBSan runs */
}
