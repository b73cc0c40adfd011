/* fuzz_common.h - shared pieces of the libFuzzer harnesses.

   Each harness decodes a sequence of operations from its input, runs them
   against the library and against a small shadow model, and abort()s on
   any disagreement (FUZZ_REQUIRE), so that libFuzzer records the input.

   Build: clang -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_X.c
   Replay one input: ./fuzz_X crash-file   (prints the failed requirement) */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if ARENA__ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* A bug that is reported but not yet fixed can be tolerated in long runs
   (so that they look for new ones) under a FUZZ_KNOWN_BUG_<name> macro,
   all of them at once with FUZZ_KNOWN_BUGS; the default build tolerates
   none, and the committed corpus keeps an input that reproduces each bug
   (tests/corpus/<harness>/bug-*, regress-* once fixed). None is open now. */

/* Gives memory the library poisoned back to the harness (a buffer it owns). */
static inline void fz_unpoison(void *p, size_t n) {
#if ARENA__ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
    (void)p; (void)n;
}

/* ---- failing loudly ---------------------------------------------------------- */

static inline void fuzz_fail(const char *file, int line, const char *what) {
    fprintf(stderr, "\nFUZZ MODEL MISMATCH at %s:%d: %s\n", file, line, what);
    fflush(stderr);
    abort();
}
#define FUZZ_REQUIRE(c) do { if (!(c)) fuzz_fail(__FILE__, __LINE__, #c); } while (0)

/* ---- reading the input ---------------------------------------------------------- */

typedef struct FuzzIn {
    const uint8_t *p;
    size_t n;
} FuzzIn;

static inline uint8_t in_u8(FuzzIn *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}
static inline uint16_t in_u16(FuzzIn *in) {
    uint16_t lo = in_u8(in);
    return (uint16_t)(lo | (uint16_t)in_u8(in) << 8);
}
static inline uint32_t in_u32(FuzzIn *in) {
    uint32_t lo = in_u16(in);
    return lo | (uint32_t)in_u16(in) << 16;
}
static inline uint64_t in_u64(FuzzIn *in) {
    uint64_t lo = in_u32(in);
    return lo | (uint64_t)in_u32(in) << 32;
}

/* ---- the error handler: counts, and keeps the newest ---------------------------- */

static int fz_err_calls;
static ArenaError fz_err_last;
static int fz_err_empty_msg;

/* A harness may have the handler call back into the library (fz_callback,
   for failures other than MISUSE): what the callback's calls report (at
   depth 2) is counted in fz_cb_reports, not as the outer call's error. */
static void (*fz_callback)(ArenaError err);
static int fz_cb_depth, fz_cb_reports;
static ArenaError fz_cb_last;

static inline void fz_handler(ArenaError err, const char *msg, void *ctx) {
    (void)ctx;
    if (fz_cb_depth) {
        fz_cb_reports++;
        fz_cb_last = err;
        return;
    }
    fz_err_calls++;
    fz_err_last = err;
    if (!msg || !msg[0]) fz_err_empty_msg = 1;
    if (fz_callback && err != ARENA_ERR_MISUSE) {
        fz_cb_depth++;
        fz_callback(err);
        fz_cb_depth--;
    }
}

/* Runs f(arg) as a call from inside library code (a cleanup): it must
   report exactly one MISUSE, which is not counted as the outer call's. */
static inline void fz_expect_refused_inside(void (*f)(void *), void *arg) {
    int before = fz_cb_reports;
    fz_cb_depth++;
    f(arg);
    fz_cb_depth--;
    FUZZ_REQUIRE(fz_cb_reports == before + 1 && fz_cb_last == ARENA_ERR_MISUSE);
}

static inline void fz_err_reset(void) {
    fz_err_calls = 0;
    fz_err_last = ARENA_OK;
    fz_err_empty_msg = 0;
}

/* No handler call since the last check. */
static inline void fz_expect_none(void) {
    FUZZ_REQUIRE(fz_err_calls == 0);
}

/* Exactly one handler call, with error e and a message. */
static inline void fz_expect(ArenaError e) {
    FUZZ_REQUIRE(fz_err_calls == 1);
    FUZZ_REQUIRE(fz_err_last == e);
    FUZZ_REQUIRE(!fz_err_empty_msg);
    fz_err_reset();
}

/* At most one handler call; returns its error (ARENA_OK: none). */
static inline ArenaError fz_take(void) {
    ArenaError e = fz_err_calls ? fz_err_last : ARENA_OK;
    FUZZ_REQUIRE(fz_err_calls <= 1);
    FUZZ_REQUIRE(!fz_err_empty_msg);
    fz_err_reset();
    return e;
}

/* ---- a caller's buffer ---------------------------------------------------------- */

/* A buffer for an init, decoded from the input: NULL one time in 32, else
   buf + off, where off is a multiple of step (below steps * step) plus
   skew (misaligned) one time in 16; *bytes up to max. */
typedef struct FuzzBufChoice {
    void *buf;
    size_t off, bytes;
} FuzzBufChoice;

static inline FuzzBufChoice fz_buffer(FuzzIn *in, unsigned char *buf, size_t max,
                                      unsigned steps, size_t step, size_t skew) {
    FuzzBufChoice c;
    uint8_t how = in_u8(in);
    c.off = (size_t)(in_u8(in) % steps) * step + (how % 16 == 0 ? skew : 0);
    c.bytes = (size_t)in_u32(in) % (max + 1);
    c.buf = how % 32 == 1 ? NULL : (void *)(buf + c.off);
    return c;
}

/* What an arena (or stack) init on buffer c must have done: refused NULL
   (misuse) and a misaligned buffer, taken one of 256 bytes or more,
   refused one below 32 (no room for a header), either in between. */
static inline void fz_check_buffer_init(FuzzBufChoice c, bool ok, ArenaError e) {
    if (!c.buf) FUZZ_REQUIRE(!ok && e == ARENA_ERR_MISUSE);
    else if (c.off % 8) FUZZ_REQUIRE(!ok && e == ARENA_ERR_ALIGN);
    else if (c.bytes >= 256) FUZZ_REQUIRE(ok && e == ARENA_OK);
    else if (c.bytes < 32) FUZZ_REQUIRE(!ok && e == ARENA_ERR_OOM);
    else FUZZ_REQUIRE(ok == (e == ARENA_OK) && (ok || e == ARENA_ERR_OOM));
}

/* ---- a counting source that checks every drop against its grab ------------------- */

enum { FZ_SRC_BLOCKS = 4096 };
#define FZ_SRC_LIMIT ((size_t)24 << 20)    /* larger grabs fail (keeps RSS sane) */
#define FZ_SRC_BUDGET ((size_t)96 << 20)   /* so does going over this in all */

typedef struct FuzzSource {
    struct { void *p; size_t size; } b[FZ_SRC_BLOCKS];
    size_t n, bytes, grabs, failed;
    int fail_next;          /* fail the next grab (one shot) */
    unsigned fail_every;    /* fail every k-th grab (0: never) */
} FuzzSource;

static inline void *fz_src_grab(void *ctx, size_t size) {
    FuzzSource *s = (FuzzSource *)ctx;
    void *p;
    s->grabs++;
    if (s->fail_next || (s->fail_every && s->grabs % s->fail_every == 0) ||
        size > FZ_SRC_LIMIT || size > FZ_SRC_BUDGET - s->bytes || s->n == FZ_SRC_BLOCKS) {
        s->fail_next = 0;
        s->failed++;
        return NULL;
    }
    p = malloc(size);
    if (!p) { s->failed++; return NULL; }
    FUZZ_REQUIRE(((uintptr_t)p & 15) == 0);
    s->b[s->n].p = p;
    s->b[s->n].size = size;
    s->n++;
    s->bytes += size;
    return p;
}

static inline void fz_src_drop(void *ctx, void *block, size_t size) {
    FuzzSource *s = (FuzzSource *)ctx;
    size_t i;
    for (i = 0; i < s->n; i++) {
        if (s->b[i].p != block) continue;
        FUZZ_REQUIRE(s->b[i].size == size);      /* dropped with its own size */
        s->bytes -= size;
        s->b[i] = s->b[--s->n];
        free(block);
        return;
    }
    FUZZ_REQUIRE(!"drop of a block this source never gave (or gave back already)");
}

/* (Not a memset of the table: 64 KiB per input was a tenth of a run.) */
static inline void fz_src_init(FuzzSource *s) {
    FUZZ_REQUIRE(s->n == 0);
    s->bytes = s->grabs = s->failed = 0;
    s->fail_next = 0;
    s->fail_every = 0;
}

static inline ArenaSource fz_src(FuzzSource *s) {
    ArenaSource src;
    src.grab = fz_src_grab;
    src.drop = fz_src_drop;
    src.ctx = s;
    return src;
}

/* What the library holds agrees with what the source gave (src: the
   harness's own source, else NULL) and stays under the cap (0: none). */
static inline void fz_check_held(size_t held, size_t grabs, const FuzzSource *src, size_t cap) {
    if (src) {
        FUZZ_REQUIRE(held == src->bytes);
        FUZZ_REQUIRE(grabs == src->grabs);
    }
    if (cap) FUZZ_REQUIRE(held <= cap);
}

/* ---- contents: a pattern derived from an id ---------------------------------------
   Blocks up to 64 bytes are filled and checked whole; larger ones at their
   first and last 16 bytes and at a stride between (64 bytes, growing with
   the size so that a block has at most about 128 such bytes), so that a
   check costs about as much as the operation whatever the size (sizes
   reach megabytes). Allocations that overlap, a rewind or reset that
   frees live data, a header written over data: each changes the head or
   tail bytes of some block, or is checked directly (overlap). The pattern
   loops are not instrumented for coverage (FZ_NOCOV): they are the
   harness's, and per-byte comparison hooks made them most of the time. */

#if defined(__clang__)
#define FZ_NOCOV __attribute__((no_sanitize("coverage"), noinline))
#else
#define FZ_NOCOV
#endif

static inline uint8_t fz_pat(uint32_t id, size_t i) {
    return (uint8_t)(id * 131u + 17u + (uint32_t)(i >> 4) * 29u + (uint32_t)i);
}

/* The stride between the head and the tail: a power of two, 64 or more. */
static inline size_t fz_stride(size_t n) {
    size_t s = 64;
    while (s < n / 128) s *= 2;
    return s;
}

/* The next byte at or after i that a block filled at size n has set. */
static inline size_t fz_next(size_t n, size_t i) {
    size_t s;
    if (n <= 64 || i < 16 || i >= n - 16) return i;
    s = fz_stride(n);
    if (i % s == 0) return i;
    i = (i | (s - 1)) + 1;
    return i < n - 16 ? i : n - 16;
}

/* Fills a block of n bytes. */
FZ_NOCOV static inline void fz_fill(void *p, size_t n, uint32_t id) {
    uint8_t *b = (uint8_t *)p;
    size_t i;
    for (i = fz_next(n, 0); i < n; i = fz_next(n, i + 1)) b[i] = fz_pat(id, i);
}

/* Checks [from, to) of a block filled at size n. */
FZ_NOCOV static inline int fz_holds_range(const void *p, size_t n, size_t from, size_t to, uint32_t id) {
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = fz_next(n, from); i < to; i = fz_next(n, i + 1))
        if (b[i] != fz_pat(id, i)) return 0;
    return 1;
}

/* The first `size` bytes of a block filled at fill_n: all those set when
   `full` or small, else head and tail. */
static inline int fz_holds(const void *p, size_t fill_n, size_t size, uint32_t id, int full) {
    if (full || size <= 64) return fz_holds_range(p, fill_n, 0, size, id);
    return fz_holds_range(p, fill_n, 0, 16, id) && fz_holds_range(p, fill_n, size - 16, size, id);
}

/* Are the n bytes at p all zero? */
FZ_NOCOV static inline int fz_is_zero(const void *p, size_t n) {
    static const unsigned char zero[4096];
    const unsigned char *b = (const unsigned char *)p;
    for (; n; ) {
        size_t k = n < sizeof zero ? n : sizeof zero;
        if (memcmp(b, zero, k) != 0) return 0;
        b += k;
        n -= k;
    }
    return 1;
}

static inline int fz_overlap(const void *a, size_t an, const void *b, size_t bn) {
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    if (!an || !bn) return 0;
    return x < y + bn && y < x + an;
}

static inline int fz_pow2(size_t x) { return x && !(x & (x - 1)); }

/* An alignment: mostly powers of two up to 64 KiB, sometimes bad or huge. */
static inline size_t fz_align(FuzzIn *in) {
    uint8_t k = in_u8(in);
    static const size_t odd[] = { 0, 3, 24, 48, 100, 4097, (size_t)1 << 40, (size_t)1 << 62,
                                  (size_t)1 << 63, SIZE_MAX, ((size_t)1 << 20) + 1 };
    if (k < 200) return (size_t)1 << (k % 17);
    return odd[k % (sizeof odd / sizeof odd[0])];
}

/* ---- the entry point: each harness defines run() ------------------------------- */

static void run(FuzzIn *in);

/* glibc hands blocks of 128 KiB and more out of fresh mmaps and gives the
   top of its heap back when it shrinks: every input then paid page faults
   and munmaps for its large blocks, half of a long run's time. Kept
   memory is reused instead (the library's behaviour is the same). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, INT32_MAX);
#endif
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzIn in;
    in.p = data;
    in.n = size;
    arena_set_error_handler(fz_handler, NULL);
    fz_callback = NULL;
    fz_cb_depth = fz_cb_reports = 0;
    run(&in);
    return 0;
}

#endif
