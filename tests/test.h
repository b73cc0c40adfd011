/* test.h - the tiny in-repo test runner.

   A test is a `TEST(name) { ... }` function using CHECK macros; a suite file
   exposes `void suite_xxx(void)` that calls RUN(name) for each of its tests;
   tests/main.c runs every suite and prints "N passed, N failed".
   Every test starts with the capturing error handler installed and its log
   cleared, so a test can assert exactly which errors a call reported.
   Tests are written in the common subset of C99 and C++11 (cast void *). */
#ifndef TEST_H
#define TEST_H

#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include "../arena.h"

typedef struct TestErrLog {
    int calls;            /* handler calls since the last test_err_clear() */
    ArenaError last;      /* error of the newest call */
    char msg[256];        /* message of the newest call */
} TestErrLog;

extern TestErrLog test_err;
extern int test__check_failures;

void test__run(const char *name, void (*fn)(void));
void test__fail(const char *file, int line, const char *what);
void test_err_clear(void);

#define TEST(name) static void name(void)
#define RUN(name) test__run(#name, name)

#define CHECK(cond) \
    do { if (!(cond)) test__fail(__FILE__, __LINE__, #cond); } while (0)
#define CHECK_EQ(a, b) CHECK((a) == (b))
/* One handler call, with this error and a non-empty message; clears the log. */
#define CHECK_ERR(e) \
    do { CHECK(test_err.calls == 1); CHECK(test_err.last == (e)); \
         CHECK(test_err.msg[0] != '\0'); test_err_clear(); } while (0)
#define CHECK_NO_ERR() CHECK(test_err.calls == 0)

/* Fills n bytes with a pattern derived from seed; checks it back. */
static inline void test_fill(void *p, size_t n, unsigned seed) {
    unsigned char *b = (unsigned char *)p;
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(seed * 31u + i * 7u);
}
static inline int test_holds(const void *p, size_t n, unsigned seed) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed * 31u + i * 7u)) return 0;
    return 1;
}
/* test_holds that fails (rather than aborts) under ASan when any byte of
   the range was poisoned, i.e. the library took the memory back. */
#if ARENA__ASAN
#include <sanitizer/asan_interface.h>
#endif
static inline int test_intact(const void *p, size_t n, unsigned seed) {
#if ARENA__ASAN
    if (__asan_region_is_poisoned((void *)(uintptr_t)p, n)) return 0;
#endif
    return test_holds(p, n, seed);
}
/* An empty arena ({0}, which C++ warns about). */
/* xorshift32: a fixed-seed generator, so that every run is the same run. */
static inline uint32_t test_rng(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static inline Arena test_empty_arena(void) {
    Arena a;
    memset(&a, 0, sizeof a);
    return a;
}
static inline int test_is_aligned(const void *p, size_t align) {
    return ((uintptr_t)p & (align - 1)) == 0;
}

/* A source over malloc that counts, checks every drop against its grab, and
   can be told to fail its k-th grab (1-based; 0 = never). */
typedef struct TestSource {
    size_t grabs, drops, fail_at, failed;
    size_t bytes_out;       /* grabbed minus dropped */
    size_t live;            /* blocks grabbed and not dropped */
    size_t bad_drops;       /* drops of unknown blocks or with a wrong size */
    struct { void *p; size_t size; } blocks[4096];
} TestSource;

void test_source_init(TestSource *s);
ArenaSource test_source(TestSource *s);
/* Options on a fresh TestSource s, with this first block size. */
ArenaOptions test_source_opts(TestSource *s, size_t block_size);

/* arena_vsprintf with a runtime format, out of the compiler's format
   check (bad formats, NULL). */
char *test_vsprintf(Arena *a, const char *fmt, ...);

#endif
