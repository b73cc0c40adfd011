/* test_arena.c - tests of the Arena part of arena.h (the contract in
   DESIGN.md): init, alloc, aligned alloc, calloc, realloc, strings, marks,
   temps, defers, reset, release, stats, sources, buffers, virtual memory
   and growable arrays.

   Written in the common subset of C99 and C++11: every void * is cast, no
   designated initializers, no compound literals, no VLAs, and no `= {0}`
   (C++ warns about missing initializers): structs are zeroed with memset. */
#include <stdlib.h>
#include "test.h"

/* ---- helpers ------------------------------------------------------------- */

static Arena zero_arena(void) {
    Arena a;
    memset(&a, 0, sizeof a);
    return a;
}

static ArenaOptions zero_opts(void) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    return o;
}

/* The bytes one allocation of n takes in this build (ASan adds a redzone). */
/* n bytes from a, filled with the pattern of seed (a failed CHECK if none). */
static void *alloc_filled(Arena *a, size_t n, unsigned seed) {
    void *p = arena_alloc(a, n);
    CHECK(p != NULL);
    if (p) test_fill(p, n, seed);
    return p;
}

static size_t span_of(size_t n) {
    return (n + ARENA__REDZONE + (ARENA_MIN_ALIGN - 1)) & ~(size_t)(ARENA_MIN_ALIGN - 1);
}

static unsigned rnd(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static int in_range(const void *p, size_t n, const void *lo, size_t len) {
    uintptr_t u = (uintptr_t)p, l = (uintptr_t)lo;
    return u >= l && n <= len && u - l <= len - n;
}

static int all_bytes(const void *p, size_t n, unsigned char v) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != v) return 0;
    return 1;
}

/* Is [p, p+n) inside one of the blocks the TestSource has out? */
static int in_source_block(const TestSource *s, const void *p, size_t n) {
    for (size_t i = 0; i < s->live; i++)
        if (in_range(p, n, s->blocks[i].p, s->blocks[i].size)) return 1;
    return 0;
}

/* The size of the newest block the TestSource handed out (no drops since). */
static size_t newest_grab(const TestSource *s) {
    return s->live ? s->blocks[s->live - 1].size : 0;
}

/* CHECK_ERR, plus: the message is one line. */
#define CHECK_ERR1(e) \
    do { CHECK(strchr(test_err.msg, '\n') == NULL); CHECK_ERR(e); } while (0)

/* The source has everything back, each block dropped once with its size. */
#define CHECK_SOURCE_CLEAN(s) \
    do { CHECK_EQ((s).live, (size_t)0); CHECK_EQ((s).bytes_out, (size_t)0); \
         CHECK_EQ((s).bad_drops, (size_t)0); \
         CHECK_EQ((s).drops, (s).grabs - (s).failed); } while (0)

/* Released: every block back at the file's TestSource src, no report. */
#define CHECK_RELEASED(a) \
    do { arena_release(&(a)); CHECK_SOURCE_CLEAN(src); CHECK_NO_ERR(); } while (0)

/* The arena's stats agree with what the TestSource saw. */
#define CHECK_STATS_MATCH(a, s) \
    do { ArenaStats st_ = arena_stats(&(a)); \
         CHECK_EQ(st_.bytes_held, (s).bytes_out); \
         CHECK_EQ(st_.block_count, (s).live); \
         CHECK_EQ(st_.grab_count, (s).grabs); \
         CHECK(st_.peak_used >= st_.bytes_used); \
         CHECK(st_.bytes_held >= st_.bytes_used); } while (0)

typedef struct Rec {
    void *p;
    size_t n;
    unsigned seed;
} Rec;

#define MAX_RECS 8192
static Rec recs[MAX_RECS];
static size_t nrecs;

static void *rec_fill(void *p, size_t n, unsigned seed) {
    if (p && nrecs < MAX_RECS) {
        test_fill(p, n, seed);
        recs[nrecs].p = p;
        recs[nrecs].n = n;
        recs[nrecs].seed = seed;
        nrecs++;
    }
    return p;
}

static int recs_hold(void) {
    for (size_t i = 0; i < nrecs; i++)
        if (!test_holds(recs[i].p, recs[i].n, recs[i].seed)) return 0;
    return 1;
}

static int cmp_rec(const void *x, const void *y) {
    uintptr_t a = (uintptr_t)((const Rec *)x)->p, b = (uintptr_t)((const Rec *)y)->p;
    return a < b ? -1 : a > b;
}

/* No two recorded allocations overlap (sorts the records). */
static int recs_disjoint(void) {
    qsort(recs, nrecs, sizeof recs[0], cmp_rec);
    for (size_t i = 1; i < nrecs; i++)
        if ((uintptr_t)recs[i - 1].p + recs[i - 1].n > (uintptr_t)recs[i].p) return 0;
    return 1;
}

/* Allocates n-byte pieces until one fails (a bounded number of tries, so
   that an arena that wrongly never fills cannot hang the suite). */
static void fill_up(Arena *a, size_t n) {
    int tries = 0;
    while (tries < 100000 && arena_alloc(a, n)) tries++;
    CHECK(tries < 100000);
}

static TestSource src;

/* An arena on the file's TestSource src, with this first block size. */
static void src_arena(Arena *a, size_t block_size) {
    ArenaOptions o = test_source_opts(&src, block_size);
    arena_init(a, &o);
}

/* A buffer aligned for anything. */
typedef union AlignedBuf {
    long double ld;
    void *p;
    long long ll;
    double d;
    unsigned char bytes[1 << 15];
} AlignedBuf;
static AlignedBuf gbuf;

/* A source that refuses blocks above a limit and delegates the rest to a
   TestSource: huge requests fail deterministically (and without tripping
   the sanitizer's allocation-size check). */
typedef struct CapSource {
    TestSource *ts;
    size_t limit, refused;
} CapSource;

static void *cap_grab(void *ctx, size_t size) {
    CapSource *c = (CapSource *)ctx;
    ArenaSource s = test_source(c->ts);
    if (size > c->limit) {
        c->refused++;
        return NULL;
    }
    return s.grab(s.ctx, size);
}

static void cap_drop(void *ctx, void *block, size_t size) {
    CapSource *c = (CapSource *)ctx;
    ArenaSource s = test_source(c->ts);
    s.drop(s.ctx, block, size);
}

/* ---- init ------------------------------------------------------------------ */

TEST(test_arena_zero_init) {
    Arena a = zero_arena();
    ArenaStats st = arena_stats(&a);
    CHECK_EQ(st.bytes_used, (size_t)0);
    CHECK_EQ(st.bytes_held, (size_t)0);
    CHECK_EQ(st.block_count, (size_t)0);
    CHECK_EQ(st.grab_count, (size_t)0);
    char *p = (char *)arena_alloc(&a, 100);
    CHECK(p != NULL);
    CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
    test_fill(p, 100, 1);
    st = arena_stats(&a);
    CHECK(st.bytes_used >= 100);
    CHECK(st.bytes_held >= st.bytes_used);
    CHECK_EQ(st.block_count, (size_t)1);
    CHECK_EQ(st.grab_count, (size_t)1);
    CHECK(test_holds(p, 100, 1));
    arena_release(&a);
    st = arena_stats(&a);
    CHECK_EQ(st.bytes_used, (size_t)0);
    CHECK_EQ(st.bytes_held, (size_t)0);
    CHECK_EQ(st.block_count, (size_t)0);
    /* a zeroed arena can be reset and released without ever allocating */
    Arena b = zero_arena();
    arena_reset(&b);
    arena_release(&b);
    arena_release(&b);
    CHECK(arena_alloc(&b, 1) != NULL);
    arena_release(&b);
    CHECK_NO_ERR();
}

TEST(test_arena_init_null_opts) {
    Arena a;
    memset(&a, 0xAB, sizeof a);   /* init must not care what was there */
    arena_init(&a, NULL);
    ArenaStats st = arena_stats(&a);
    CHECK_EQ(st.bytes_used, (size_t)0);
    CHECK_EQ(st.bytes_held, (size_t)0);
    CHECK_EQ(st.block_count, (size_t)0);
    char *p = (char *)alloc_filled(&a, 1000, 2);
    char *q = (char *)alloc_filled(&a, 1000, 3);
    CHECK(test_holds(p, 1000, 2) && test_holds(q, 1000, 3));
    arena_release(&a);

    /* all-zero options are the defaults */
    ArenaOptions o = zero_opts();
    arena_init(&a, &o);
    CHECK(arena_alloc(&a, 10) != NULL);
    CHECK_EQ(arena_stats(&a).block_count, (size_t)1);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_init_block_size) {
    Arena a;
    src_arena(&a, 4096);
    CHECK_EQ(src.grabs, (size_t)0);   /* nothing grabbed before the first alloc */
    CHECK(arena_alloc(&a, 16) != NULL);
    CHECK_EQ(src.grabs, (size_t)1);
    CHECK_EQ(newest_grab(&src), (size_t)4096);
    CHECK_STATS_MATCH(a, src);
    /* default growth doubles */
    size_t expect = 4096;
    for (int i = 0; i < 4000 && src.grabs < 5; i++) {
        size_t before = src.grabs;
        void *p = arena_alloc(&a, 1000);
        CHECK(p != NULL);
        CHECK(in_source_block(&src, p, 1000));
        if (src.grabs != before) {
            expect *= 2;
            CHECK_EQ(newest_grab(&src), expect);
        }
    }
    CHECK_EQ(src.grabs, (size_t)5);
    CHECK_STATS_MATCH(a, src);
    CHECK_RELEASED(a);
}

TEST(test_arena_init_max_block_size) {
    Arena a;
    ArenaOptions o = test_source_opts(&src, 4096);
    o.max_block_size = 16384;
    arena_init(&a, &o);
    size_t expect[6] = {4096, 8192, 16384, 16384, 16384, 16384};
    size_t seen = 0;
    for (int i = 0; i < 100000 && seen < 6; i++) {
        size_t before = src.grabs;
        CHECK(arena_alloc(&a, 1000) != NULL);
        if (src.grabs != before) {
            CHECK_EQ(newest_grab(&src), expect[seen]);
            seen++;
        }
    }
    CHECK_EQ(seen, (size_t)6);
    CHECK_STATS_MATCH(a, src);
    CHECK_RELEASED(a);
}

TEST(test_arena_init_tiny_options) {
    /* a tiny block_size still works (it may be rounded up) */
    Arena a;
    ArenaOptions o = test_source_opts(&src, 1);
    arena_init(&a, &o);
    CHECK_NO_ERR();
    nrecs = 0;
    for (unsigned i = 0; i < 50; i++) CHECK(rec_fill(arena_alloc(&a, 40), 40, i) != NULL);
    CHECK(rec_fill(arena_alloc(&a, 5000), 5000, 99) != NULL);
    CHECK(recs_hold());
    CHECK_STATS_MATCH(a, src);
    arena_release(&a);
    CHECK_SOURCE_CLEAN(src);
    /* max_block_size below block_size: blocks never shrink below the first */
    o = test_source_opts(&src, 8192);
    o.max_block_size = 1000;
    arena_init(&a, &o);
    for (int i = 0; i < 50; i++) CHECK(arena_alloc(&a, 1000) != NULL);
    CHECK(src.grabs > 1);
    for (size_t i = 0; i < src.live; i++) CHECK(src.blocks[i].size >= 8192);
    arena_release(&a);
    CHECK_SOURCE_CLEAN(src);
    /* a cap too small for any block: every allocation is OOM, no grab */
    o = test_source_opts(&src, 0);
    o.max_bytes = 16;
    arena_init(&a, &o);
    CHECK(arena_alloc(&a, 1) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(src.grabs, (size_t)0);
    CHECK_RELEASED(a);
}

TEST(test_arena_init_source_used) {
    Arena a;
    src_arena(&a, 8192);
    nrecs = 0;
    unsigned seed = 7;
    for (unsigned i = 0; i < 500; i++) {
        size_t n = 1 + rnd(&seed) % 3000;
        void *p = rec_fill(arena_alloc(&a, n), n, i);
        CHECK(p != NULL);
        CHECK(in_source_block(&src, p, n));
    }
    CHECK(recs_hold());
    CHECK(src.grabs > 1);
    CHECK_STATS_MATCH(a, src);
    CHECK_RELEASED(a);
}

/* ---- arena_alloc -------------------------------------------------------- */

TEST(test_arena_alloc_alignment) {
    Arena a = zero_arena();
    for (size_t n = 1; n <= 600; n++) {
        void *p = arena_alloc(&a, n);
        CHECK(p != NULL);
        CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
        CHECK(test_is_aligned(p, sizeof(long double) >= 16 ? 16 : sizeof(long double)));
        CHECK(test_is_aligned(p, sizeof(void *)));
        CHECK(test_is_aligned(p, sizeof(double)));
        CHECK(test_is_aligned(p, sizeof(long long)));
    }
    CHECK(ARENA_MIN_ALIGN >= ARENA_ALIGNOF(long double));
    CHECK(ARENA_MIN_ALIGN >= ARENA_ALIGNOF(long long));
    CHECK(ARENA_MIN_ALIGN >= ARENA_ALIGNOF(void *));
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_alloc_zero_size) {
    Arena a = zero_arena();
    void *p = arena_alloc(&a, 0);      /* on an empty arena */
    CHECK(p != NULL);
    CHECK_NO_ERR();
    char *x = (char *)alloc_filled(&a, 10, 4);
    CHECK(arena_alloc(&a, 0) != NULL);
    CHECK(arena_alloc_aligned(&a, 0, 1) != NULL);
    void *z = arena_alloc_aligned(&a, 0, 4096);
    CHECK(z != NULL && test_is_aligned(z, 4096));
    CHECK(arena_calloc(&a, 0, 8) != NULL);
    CHECK(arena_calloc(&a, 8, 0) != NULL);
    CHECK(arena_new_array(&a, int, 0) != NULL);
    CHECK(arena_memdup(&a, x, 0) != NULL);
    CHECK(test_holds(x, 10, 4));
    CHECK_NO_ERR();
    arena_release(&a);

    /* on a full buffer arena too: NULL only ever means failure */
    Arena b;
    CHECK(arena_init_buffer(&b, gbuf.bytes, 512));
    fill_up(&b, 16);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(arena_alloc(&b, 0) != NULL);
    CHECK_NO_ERR();
    arena_release(&b);
}

TEST(test_arena_alloc_no_overlap) {
    Arena a = zero_arena();
    nrecs = 0;
    unsigned seed = 12345;
    for (unsigned i = 0; i < 3000; i++) {
        size_t n = (i % 97 == 0) ? 70000 + rnd(&seed) % 5000   /* larger than a block */
                                 : 1 + rnd(&seed) % 700;
        void *p = rec_fill(arena_alloc(&a, n), n, i);
        CHECK(p != NULL);
        CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
    }
    CHECK_EQ(nrecs, (size_t)3000);
    CHECK(recs_hold());
    CHECK(recs_disjoint());
    CHECK(arena_stats(&a).block_count > 1);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_alloc_exact_fit) {
    Arena a;
    src_arena(&a, 4096);
    char *p = (char *)arena_alloc(&a, 16);
    CHECK(p != NULL);
    /* take exactly what is left in the block: no new block */
    size_t left = (size_t)(a.end - a.cur);
    CHECK(left > ARENA__REDZONE);
    char *q = (char *)arena_alloc(&a, left - ARENA__REDZONE);
    CHECK(q != NULL);
    CHECK_EQ(src.grabs, (size_t)1);
    CHECK(in_source_block(&src, q, left - ARENA__REDZONE));
    test_fill(q, left - ARENA__REDZONE, 5);
    /* one more byte needs a new block */
    char *r = (char *)arena_alloc(&a, 1);
    CHECK(r != NULL);
    CHECK_EQ(src.grabs, (size_t)2);
    *r = 'x';
    CHECK(test_holds(q, left - ARENA__REDZONE, 5));
    CHECK_RELEASED(a);
}

TEST(test_arena_alloc_overflow) {
    size_t sizes[7];
    sizes[0] = SIZE_MAX;
    sizes[1] = SIZE_MAX - 1;
    sizes[2] = SIZE_MAX - 15;
    sizes[3] = SIZE_MAX - 16;
    sizes[4] = SIZE_MAX - (ARENA_MIN_ALIGN + ARENA__REDZONE);
    sizes[5] = (size_t)PTRDIFF_MAX + 1;
    sizes[6] = (size_t)PTRDIFF_MAX + 4096;
    Arena a;
    src_arena(&a, 4096);
    for (int i = 0; i < 7; i++) {   /* an empty arena first */
        CHECK(arena_alloc(&a, sizes[i]) == NULL);
        CHECK_ERR1(ARENA_ERR_OVERFLOW);
    }
    char *p = (char *)alloc_filled(&a, 100, 9);
    size_t grabs = src.grabs, used = arena_stats(&a).bytes_used;
    for (int i = 0; i < 7; i++) {
        CHECK(arena_alloc(&a, sizes[i]) == NULL);
        CHECK_ERR1(ARENA_ERR_OVERFLOW);
        CHECK(arena_alloc_aligned(&a, sizes[i], 64) == NULL);
        CHECK_ERR1(ARENA_ERR_OVERFLOW);
        CHECK(arena_alloc_aligned(&a, sizes[i], 1) == NULL);
        CHECK_ERR1(ARENA_ERR_OVERFLOW);
    }
    CHECK_EQ(src.grabs, grabs);   /* the source was never asked */
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK(test_holds(p, 100, 9));
    CHECK(arena_alloc(&a, 100) != NULL);   /* still works */
    CHECK_RELEASED(a);
}

TEST(test_arena_alloc_large_own_block) {
    Arena a;
    src_arena(&a, 4096);
    char *p = (char *)alloc_filled(&a, 100, 1);
    CHECK_EQ(src.grabs, (size_t)1);
    CHECK_EQ(newest_grab(&src), (size_t)4096);
    char *big = (char *)arena_alloc(&a, 100000);
    CHECK(big != NULL);
    CHECK_EQ(src.grabs, (size_t)2);
    CHECK(newest_grab(&src) >= 100000);
    CHECK(newest_grab(&src) < 100000 + 4096);   /* its own block, sized to fit */
    CHECK(in_source_block(&src, big, 100000));
    test_fill(big, 100000, 2);
    /* the next ordinary block is the next in the doubling, not inflated */
    size_t grabs = src.grabs;
    for (int i = 0; i < 100 && src.grabs == grabs; i++) CHECK(arena_alloc(&a, 1000) != NULL);
    CHECK_EQ(src.grabs, (size_t)3);
    CHECK_EQ(newest_grab(&src), (size_t)8192);
    CHECK(arena_stats(&a).bytes_used >= 100100);
    CHECK(test_holds(p, 100, 1) && test_holds(big, 100000, 2));
    CHECK_STATS_MATCH(a, src);
    CHECK_RELEASED(a);
}

/* ---- arena_alloc_aligned ------------------------------------------------- */

TEST(test_arena_alloc_aligned_powers) {
    Arena a;
    src_arena(&a, 0);
    nrecs = 0;
    for (unsigned k = 0; k <= 20; k++) {
        size_t align = (size_t)1 << k;
        size_t sizes[3] = {1, 24, 4096};
        for (int j = 0; j < 3; j++) {
            void *p = rec_fill(arena_alloc_aligned(&a, sizes[j], align), sizes[j], k * 3 + (unsigned)j);
            CHECK(p != NULL);
            CHECK(test_is_aligned(p, align));
            CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
            CHECK(in_source_block(&src, p, sizes[j]));
        }
        /* and interleaved with odd-sized plain allocations */
        CHECK(rec_fill(arena_alloc(&a, 1 + k * 13), 1 + k * 13, 1000 + k) != NULL);
    }
    CHECK(recs_hold());
    CHECK(recs_disjoint());
    CHECK_STATS_MATCH(a, src);
    CHECK_RELEASED(a);
}

TEST(test_arena_alloc_aligned_bad) {
    Arena a = zero_arena();
    char *p = (char *)alloc_filled(&a, 64, 3);
    size_t used = arena_stats(&a).bytes_used;
    size_t bad[8];
    bad[0] = 0;
    bad[1] = 3;
    bad[2] = 24;
    bad[3] = 5;
    bad[4] = 6;
    bad[5] = 4097;
    bad[6] = SIZE_MAX;
    bad[7] = ((size_t)1 << (sizeof(size_t) * 8 - 1)) | 1;
    for (int i = 0; i < 8; i++) {
        CHECK(arena_alloc_aligned(&a, 16, bad[i]) == NULL);
        CHECK_ERR1(ARENA_ERR_ALIGN);
        CHECK(arena_alloc_aligned(&a, 0, bad[i]) == NULL);   /* even for size 0 */
        CHECK_ERR1(ARENA_ERR_ALIGN);
    }
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK(test_holds(p, 64, 3));
    arena_release(&a);
    CHECK_NO_ERR();
}

/* Fails cleanly: NULL with one OOM or OVERFLOW, or (if the system could
   give it) a correctly aligned pointer with no error. */
static void check_huge_align(Arena *a, size_t align, int must_fail) {
    void *q = arena_alloc_aligned(a, 64, align);
    if (q) {
        CHECK(!must_fail);
        CHECK(test_is_aligned(q, align));
        CHECK_NO_ERR();
    } else {
        CHECK_EQ(test_err.calls, 1);
        CHECK(test_err.last == ARENA_ERR_OOM || test_err.last == ARENA_ERR_OVERFLOW);
        CHECK(test_err.msg[0] != '\0');
        test_err_clear();
    }
}

TEST(test_arena_alloc_aligned_huge) {
    /* a source that refuses anything above 64 MiB: deterministic failure */
    CapSource cap;
    cap.ts = &src;
    cap.limit = (size_t)64 << 20;
    cap.refused = 0;
    ArenaOptions o = test_source_opts(&src, 4096);
    o.source.grab = cap_grab;
    o.source.drop = cap_drop;
    o.source.ctx = &cap;
    Arena a;
    arena_init(&a, &o);
    char *p = (char *)alloc_filled(&a, 500, 8);
    size_t used = arena_stats(&a).bytes_used;
    check_huge_align(&a, (size_t)1 << 30, 1);
    if (sizeof(size_t) >= 8) {
        check_huge_align(&a, (size_t)1 << (sizeof(size_t) * 4 + 8), 1);   /* 1 << 40 */
        check_huge_align(&a, (size_t)1 << (sizeof(size_t) * 8 - 2), 1);   /* 1 << 62 */
    }
    check_huge_align(&a, (size_t)1 << (sizeof(size_t) * 8 - 1), 1);       /* top bit */
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK(test_holds(p, 500, 8));
    char *r = (char *)arena_alloc(&a, 100);   /* still works */
    CHECK(r != NULL);
    test_fill(r, 100, 9);
    CHECK(test_holds(p, 500, 8) && test_holds(r, 100, 9));
    arena_release(&a);
    CHECK_SOURCE_CLEAN(src);
    CHECK_NO_ERR();

#if !ARENA__ASAN
    /* the default (malloc) source: ASan would abort on the huge malloc
       itself (allocator_may_return_null=0), so only without it */
    if (sizeof(size_t) >= 8) {
        Arena b = zero_arena();
        char *x = (char *)alloc_filled(&b, 200, 10);
        check_huge_align(&b, (size_t)1 << (sizeof(size_t) * 4 + 8), 0);
        check_huge_align(&b, (size_t)1 << (sizeof(size_t) * 8 - 1), 1);
        CHECK(test_holds(x, 200, 10));
        CHECK(arena_alloc(&b, 10) != NULL);
        arena_release(&b);
        CHECK_NO_ERR();
    }
#endif
}

/* ---- calloc, new ------------------------------------------------------------ */

TEST(test_arena_calloc_zeroed) {
    Arena a = zero_arena();
    ArenaMark m = arena_mark(&a);
    unsigned char *d = (unsigned char *)arena_alloc(&a, 4000);
    CHECK(d != NULL);
    memset(d, 0xFF, 4000);
    arena_rewind(&a, m);   /* the same memory, dirty, comes back */
    unsigned char *z = (unsigned char *)arena_calloc(&a, 1000, 4);
    CHECK(z != NULL);
    CHECK(test_is_aligned(z, ARENA_MIN_ALIGN));
    CHECK(all_bytes(z, 4000, 0));
    unsigned char *z2 = (unsigned char *)arena_calloc(&a, 7, 13);
    CHECK(z2 != NULL);
    CHECK(all_bytes(z2, 91, 0));
    CHECK_NO_ERR();
    arena_release(&a);
}

TEST(test_arena_calloc_overflow) {
    Arena a = zero_arena();
    char *p = (char *)alloc_filled(&a, 32, 11);
    CHECK(arena_calloc(&a, SIZE_MAX / 2 + 1, 2) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_calloc(&a, 2, SIZE_MAX / 2 + 1) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_calloc(&a, SIZE_MAX, SIZE_MAX) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_calloc(&a, SIZE_MAX / 8 + 1, 8) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    /* products that wrap around to something small */
    CHECK(arena_calloc(&a, SIZE_MAX / 2 + 2, 2) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_calloc(&a, SIZE_MAX / 4 + 2, 4) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_calloc(&a, 4, SIZE_MAX / 4 + 2) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    /* the product fits in size_t but not in PTRDIFF_MAX: still an overflow */
    CHECK(arena_calloc(&a, 1, SIZE_MAX) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(test_holds(p, 32, 11));
    CHECK(arena_calloc(&a, 3, 3) != NULL);
    arena_release(&a);
    CHECK_NO_ERR();
}

typedef struct TestObj {
    char c;
    double d;
    long long ll;
    void *ptr;
    int arr[3];
} TestObj;

typedef struct TestWide {
    char c;
    long double ld;
} TestWide;

TEST(test_arena_new) {
    Arena a = zero_arena();
    ArenaMark m = arena_mark(&a);
    void *dirty = arena_alloc(&a, 8192);
    CHECK(dirty != NULL);
    memset(dirty, 0x5A, 8192);
    arena_rewind(&a, m);
    CHECK(arena_alloc(&a, 1) != NULL);   /* knock the next one off alignment */
    TestObj *o = arena_new(&a, TestObj);
    CHECK(o != NULL);
    CHECK(test_is_aligned(o, ARENA_ALIGNOF(TestObj)));
    CHECK(test_is_aligned(o, ARENA_MIN_ALIGN));
    CHECK(all_bytes(o, sizeof *o, 0));
    CHECK(o->c == 0 && o->ll == 0 && o->arr[2] == 0);
    o->d = 1.5;
    o->ll = -7;
    TestWide *w = arena_new(&a, TestWide);
    CHECK(w != NULL);
    CHECK(test_is_aligned(w, ARENA_ALIGNOF(TestWide)));
    CHECK(all_bytes(w, sizeof *w, 0));
    w->ld = 2.5L;
    TestObj *arr = arena_new_array(&a, TestObj, 50);
    CHECK(arr != NULL);
    CHECK(test_is_aligned(arr, ARENA_ALIGNOF(TestObj)));
    CHECK(all_bytes(arr, 50 * sizeof *arr, 0));
    for (int i = 0; i < 50; i++) arr[i].ll = i;
    TestWide *warr = arena_new_array(&a, TestWide, 9);
    CHECK(warr != NULL);
    CHECK(test_is_aligned(warr, ARENA_ALIGNOF(TestWide)));
    CHECK(all_bytes(warr, 9 * sizeof *warr, 0));
    CHECK(o->d == 1.5 && o->ll == -7 && w->ld == 2.5L && arr[49].ll == 49);
    CHECK_NO_ERR();
    arena_release(&a);
}

TEST(test_arena_new_array_overflow) {
    Arena a = zero_arena();
    TestObj *o = arena_new(&a, TestObj);
    CHECK(o != NULL);
    o->ll = 42;
    CHECK(arena_new_array(&a, TestObj, SIZE_MAX / sizeof(TestObj) + 1) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_new_array(&a, TestObj, SIZE_MAX) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_new_array(&a, double, SIZE_MAX / 4) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_new_array(&a, TestObj, (size_t)PTRDIFF_MAX / sizeof(TestObj) + 1) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK_EQ(o->ll, 42);
    CHECK(arena_new_array(&a, TestObj, 3) != NULL);
    arena_release(&a);
    CHECK_NO_ERR();
}

/* ---- realloc ------------------------------------------------------------------ */

TEST(test_arena_realloc_null) {
    Arena a = zero_arena();
    char *p = (char *)arena_realloc(&a, NULL, 0, 100);
    CHECK(p != NULL);
    CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
    test_fill(p, 100, 1);
    char *q = (char *)arena_realloc(&a, NULL, 0, 50);
    CHECK(q != NULL);
    test_fill(q, 50, 2);
    CHECK(test_holds(p, 100, 1) && test_holds(q, 50, 2));
    CHECK(arena_realloc(&a, NULL, 0, 0) != NULL);
    /* p == NULL with an old_size: still just allocates */
    char *r = (char *)arena_realloc(&a, NULL, 64, 32);
    CHECK(r != NULL);
    test_fill(r, 32, 3);
    CHECK(test_holds(p, 100, 1) && test_holds(q, 50, 2) && test_holds(r, 32, 3));
    CHECK_NO_ERR();
    arena_release(&a);
}

TEST(test_arena_realloc_last_in_place) {
    Arena a = zero_arena();
    char *first = (char *)alloc_filled(&a, 40, 5);
    char *p = (char *)alloc_filled(&a, 100, 6);
    size_t u0 = arena_stats(&a).bytes_used;
    char *q = (char *)arena_realloc(&a, p, 100, 1000);
    CHECK(q == p);                                   /* grew in place */
    CHECK(test_holds(q, 100, 6));
    CHECK_EQ(arena_stats(&a).bytes_used, u0 - span_of(100) + span_of(1000));
    test_fill(q, 1000, 7);
    char *r = (char *)arena_realloc(&a, q, 1000, 30);
    CHECK(r == p);                                   /* shrank in place */
    CHECK(test_holds(r, 30, 7));
    CHECK_EQ(arena_stats(&a).bytes_used, u0 - span_of(100) + span_of(30));
    char *next = (char *)arena_alloc(&a, 8);         /* the freed tail is reused */
    CHECK(next == p + span_of(30));
    CHECK(test_holds(first, 40, 5) && test_holds(r, 30, 7));
    /* growth to the same size and to 0 */
    char *s = (char *)arena_realloc(&a, next, 8, 8);
    CHECK(s == next);
    CHECK(arena_realloc(&a, s, 8, 0) != NULL);
    CHECK_NO_ERR();
    arena_release(&a);
}

TEST(test_arena_realloc_not_last_copies) {
    Arena a = zero_arena();
    char *p = (char *)alloc_filled(&a, 100, 1);
    char *other = (char *)alloc_filled(&a, 10, 2);
    char *q = (char *)arena_realloc(&a, p, 100, 300);
    CHECK(q != NULL);
    CHECK(q != p);
    CHECK(test_is_aligned(q, ARENA_MIN_ALIGN));
    CHECK(test_holds(q, 100, 1));
    CHECK(!in_range(q, 300, p, 100) && !in_range(q, 300, other, 10));
    CHECK((uintptr_t)q >= (uintptr_t)other + 10 || (uintptr_t)q + 300 <= (uintptr_t)other);
    test_fill(q + 100, 200, 3);
    /* shrinking a non-last allocation keeps the first new_size bytes */
    char *s = (char *)arena_realloc(&a, p, 100, 40);
    CHECK(s != NULL);
    CHECK(test_holds(s, 40, 1));
    CHECK(test_holds(other, 10, 2));
    CHECK(test_holds(q, 100, 1) && test_holds(q + 100, 200, 3));
    CHECK_NO_ERR();
    arena_release(&a);
}

TEST(test_arena_realloc_foreign) {
    Arena a = zero_arena(), b = zero_arena();
    char *p = (char *)alloc_filled(&a, 64, 1);
    char *pb = (char *)arena_alloc(&b, 64);
    CHECK(pb != NULL);
    size_t used = arena_stats(&a).bytes_used;
    char local[64];
    memset(local, 1, sizeof local);
    CHECK(arena_realloc(&a, local, sizeof local, 128) == NULL);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK(arena_realloc(&a, pb, 64, 128) == NULL);   /* another arena's */
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK(arena_realloc(&a, pb, 64, 16) == NULL);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    /* an old_size larger than what was handed out (would read past it) */
    char *x = (char *)arena_alloc(&a, 16);
    CHECK(x != NULL);
    CHECK(arena_alloc(&a, 16) != NULL);
    CHECK(arena_realloc(&a, x, 1 << 20, 2 << 20) == NULL);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK(test_holds(p, 64, 1));
    arena_release(&a);
    arena_release(&b);
    CHECK_NO_ERR();
}

TEST(test_arena_realloc_beyond_block) {
    Arena a;
    src_arena(&a, 4096);
    char *p = (char *)alloc_filled(&a, 1000, 1);
    char *q = (char *)arena_realloc(&a, p, 1000, 100000);   /* the newest, but no room */
    CHECK(q != NULL);
    CHECK(q != p);
    CHECK(test_holds(q, 1000, 1));
    CHECK(in_source_block(&src, q, 100000));
    test_fill(q, 100000, 2);
    char *r = (char *)arena_realloc(&a, q, 100000, 300000);
    CHECK(r != NULL);
    CHECK(test_holds(r, 100000, 2));
    CHECK(in_source_block(&src, r, 300000));
    char *s = (char *)arena_realloc(&a, r, 300000, 1000);   /* shrink: in place */
    CHECK(s == r);
    CHECK(test_holds(s, 1000, 2));
    CHECK_STATS_MATCH(a, src);
    CHECK_RELEASED(a);
}

TEST(test_arena_realloc_overflow) {
    Arena a = zero_arena();
    char *p = (char *)alloc_filled(&a, 100, 1);
    CHECK(arena_realloc(&a, p, 100, SIZE_MAX) == NULL);   /* the newest */
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arena_realloc(&a, p, 100, (size_t)PTRDIFF_MAX + 1) == NULL);
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    char *q = (char *)arena_alloc(&a, 10);
    CHECK(q != NULL);
    CHECK(arena_realloc(&a, p, 100, SIZE_MAX - 8) == NULL); /* not the newest */
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(test_holds(p, 100, 1));
    arena_release(&a);
    CHECK_NO_ERR();
}

/* ---- strings ---------------------------------------------------------------- */

TEST(test_arena_strdup) {
    Arena a = zero_arena();
    const char *hello = "hello, arena";
    char *s = arena_strdup(&a, hello);
    CHECK(s != NULL && s != hello);
    CHECK(strcmp(s, hello) == 0);
    char *e = arena_strdup(&a, "");
    CHECK(e != NULL && e[0] == '\0');
    CHECK(arena_strdup(&a, NULL) == NULL);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    /* a long one, across blocks */
    char big[70001];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *b = arena_strdup(&a, big);
    CHECK(b != NULL && strlen(b) == sizeof big - 1 && b[0] == 'q');
    CHECK(strcmp(s, hello) == 0);
    CHECK_NO_ERR();
    arena_release(&a);
}

TEST(test_arena_strndup) {
    Arena a = zero_arena();
    char *s = arena_strndup(&a, "hello", 3);
    CHECK(s != NULL && strcmp(s, "hel") == 0);
    char *t = arena_strndup(&a, "hello", 100);   /* n longer than the string */
    CHECK(t != NULL && strcmp(t, "hello") == 0);
    char *u = arena_strndup(&a, "hello", 5);
    CHECK(u != NULL && strcmp(u, "hello") == 0);
    char *v = arena_strndup(&a, "hello", 0);
    CHECK(v != NULL && v[0] == '\0');
    char *w = arena_strndup(&a, "hello", SIZE_MAX);
    CHECK(w != NULL && strcmp(w, "hello") == 0);
    char raw[4];                                   /* no terminator: read n only */
    raw[0] = 'a'; raw[1] = 'b'; raw[2] = 'c'; raw[3] = 'd';
    char *x = arena_strndup(&a, raw, 4);
    CHECK(x != NULL && strcmp(x, "abcd") == 0);
    char *y = arena_strndup(&a, raw, 2);
    CHECK(y != NULL && strcmp(y, "ab") == 0);
    CHECK(arena_strndup(&a, NULL, 3) == NULL);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK(arena_strndup(&a, NULL, 0) == NULL);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK(strcmp(s, "hel") == 0 && strcmp(t, "hello") == 0);
    CHECK_NO_ERR();
    arena_release(&a);
}

TEST(test_arena_memdup) {
    Arena a = zero_arena();
    unsigned char data[37];
    test_fill(data, sizeof data, 4);
    void *p = arena_memdup(&a, data, sizeof data);
    CHECK(p != NULL && p != (void *)data);
    CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
    CHECK(test_holds(p, sizeof data, 4));
    void *z = arena_memdup(&a, data, 0);           /* zero bytes: non-NULL */
    CHECK(z != NULL);
    CHECK_NO_ERR();
    CHECK(arena_memdup(&a, NULL, 5) == NULL);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    void *big = arena_alloc(&a, 100000);
    CHECK(big != NULL);
    test_fill(big, 100000, 5);
    void *bd = arena_memdup(&a, big, 100000);
    CHECK(bd != NULL && bd != big);
    CHECK(test_holds(bd, 100000, 5));
    CHECK(test_holds(p, sizeof data, 4));
    CHECK_NO_ERR();
    arena_release(&a);
}

/* ---- marks and temps ------------------------------------------------------------ */

TEST(test_arena_mark_rewind) {
    Arena a = zero_arena();
    char *keep = (char *)alloc_filled(&a, 100, 1);
    ArenaMark m = arena_mark(&a);
    CHECK(m.arena == &a);
    size_t u0 = arena_stats(&a).bytes_used;
    char *p1 = (char *)arena_alloc(&a, 200);
    char *p2 = (char *)arena_alloc(&a, 300);
    CHECK(p1 != NULL && p2 != NULL);
    memset(p1, 1, 200);
    memset(p2, 2, 300);
    CHECK(arena_stats(&a).bytes_used > u0);
    arena_rewind(&a, m);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, u0);
    char *q1 = (char *)arena_alloc(&a, 200);
    char *q2 = (char *)arena_alloc(&a, 300);
    CHECK(q1 == p1);                               /* the same memory again */
    CHECK(q2 == p2);
    CHECK(test_holds(keep, 100, 1));
    /* the mark stays valid: rewinding to it again works */
    arena_rewind(&a, m);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, u0);
    /* rewinding to where we are is a no-op */
    ArenaMark here = arena_mark(&a);
    arena_rewind(&a, here);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, u0);
    /* a mark of an empty arena rewinds to empty */
    Arena b = zero_arena();
    ArenaMark mb = arena_mark(&b);
    CHECK(arena_alloc(&b, 1000) != NULL);
    arena_rewind(&b, mb);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&b).bytes_used, (size_t)0);
    CHECK(test_holds(keep, 100, 1));
    arena_release(&a);
    arena_release(&b);
}

TEST(test_arena_rewind_across_blocks) {
    Arena a;
    src_arena(&a, 4096);
    char *keep = (char *)alloc_filled(&a, 100, 1);
    ArenaMark m = arena_mark(&a);
    size_t u0 = arena_stats(&a).bytes_used;
    nrecs = 0;
    for (unsigned i = 0; i < 60; i++) CHECK(rec_fill(arena_alloc(&a, 1000), 1000, i) != NULL);
    ArenaMark m2 = arena_mark(&a);
    size_t u2 = arena_stats(&a).bytes_used;
    for (unsigned i = 0; i < 60; i++) CHECK(arena_alloc(&a, 1000) != NULL);
    CHECK(arena_stats(&a).block_count >= 5);
    arena_rewind(&a, m2);   /* an inner mark, in a later block */
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, u2);
    CHECK(recs_hold());
    CHECK_STATS_MATCH(a, src);
    arena_rewind(&a, m);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, u0);
    CHECK(test_holds(keep, 100, 1));
    CHECK_STATS_MATCH(a, src);
    /* and it all works again, on the blocks the rewind kept */
    size_t grabs = arena_stats(&a).grab_count;
    nrecs = 0;
    for (unsigned i = 0; i < 60; i++) CHECK(rec_fill(arena_alloc(&a, 1000), 1000, 100 + i) != NULL);
    CHECK(recs_hold());
    CHECK_EQ(arena_stats(&a).grab_count, grabs);
    CHECK(test_holds(keep, 100, 1));
    CHECK_STATS_MATCH(a, src);
    CHECK_RELEASED(a);
}

/* A temp scope that crosses a block boundary each time round settles down:
   arena.h keeps a spare block for it (documented in arena__retire). */
TEST(test_arena_rewind_loop_settles) {
    Arena a;
    src_arena(&a, 4096);
    CHECK(arena_alloc(&a, 3000) != NULL);
    size_t grabs_after_first = 0;
    for (int i = 0; i < 10; i++) {
        ArenaTemp t = arena_temp_begin(&a);
        CHECK(arena_alloc(&a, 500) != NULL);    /* still in the first block */
        CHECK(arena_alloc(&a, 2000) != NULL);   /* a new one */
        CHECK(arena_alloc(&a, 2000) != NULL);
        CHECK(arena_stats(&a).block_count == 2);
        arena_temp_end(t);
        if (i == 0) grabs_after_first = src.grabs;
    }
    CHECK_EQ(src.grabs, grabs_after_first);
    CHECK_STATS_MATCH(a, src);
    CHECK_RELEASED(a);
}

static int defer_log[64];
static int defer_n;
static void defer_record(void *ctx) {
    if (defer_n < 64) defer_log[defer_n++] = *(int *)ctx;
}
static int defer_ids[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

TEST(test_arena_rewind_other_arena) {
    Arena a = zero_arena(), b = zero_arena();
    defer_n = 0;
    char *p = (char *)alloc_filled(&a, 100, 1);
    ArenaMark mb = arena_mark(&b);
    CHECK(arena_defer(&a, defer_record, &defer_ids[1]));
    char *q = (char *)alloc_filled(&a, 100, 2);
    size_t used = arena_stats(&a).bytes_used;
    arena_rewind(&a, mb);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK_EQ(defer_n, 0);
    CHECK(test_holds(p, 100, 1) && test_holds(q, 100, 2));
    /* a zeroed mark belongs to no arena */
    ArenaMark z;
    memset(&z, 0, sizeof z);
    arena_rewind(&a, z);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK_EQ(defer_n, 0);
    arena_release(&a);
    CHECK_EQ(defer_n, 1);
    arena_release(&b);
    CHECK_NO_ERR();
}

TEST(test_arena_rewind_stale_mark) {
    Arena a = zero_arena();
    defer_n = 0;
    CHECK(arena_alloc(&a, 50) != NULL);
    ArenaMark m1 = arena_mark(&a);
    size_t u1 = arena_stats(&a).bytes_used;
    char *p = (char *)arena_alloc(&a, 100);
    CHECK(p != NULL);
    ArenaMark m2 = arena_mark(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_rewind(&a, m1);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, u1);
    arena_rewind(&a, m2);   /* already rewound past */
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, u1);
    /* with more allocated, but less than m2's position */
    char *q = (char *)alloc_filled(&a, 20, 3);
    size_t uq = arena_stats(&a).bytes_used;
    arena_rewind(&a, m2);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, uq);
    CHECK(test_holds(q, 20, 3));
    arena_release(&a);
    CHECK_NO_ERR();
}

/* The contract: a mark "already rewound past" is MISUSE and changes
   nothing, also once the arena has grown past the mark's position again:
   the memory now there belongs to newer allocations. */
TEST(test_arena_rewind_stale_mark_regrown) {
    Arena a = zero_arena();
    defer_n = 0;
    ArenaMark m0 = arena_mark(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    ArenaMark m1 = arena_mark(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_rewind(&a, m0);   /* m1 is now rewound past */
    CHECK_NO_ERR();
    char *c = (char *)arena_alloc(&a, 1000);   /* covers m1's old position */
    CHECK(c != NULL);
    test_fill(c, 1000, 4);
    CHECK(arena_defer(&a, defer_record, &defer_ids[2]));
    size_t used = arena_stats(&a).bytes_used;
    arena_rewind(&a, m1);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK_EQ(defer_n, 0);
    /* (c is only readable if the rewind was refused: otherwise its tail is
       poisoned, and reading it would stop a sanitizer build right here) */
    if (arena_stats(&a).bytes_used == used) CHECK(test_holds(c, 1000, 4));
    arena_release(&a);
    CHECK_NO_ERR();
}

/* The top going below a mark through a realloc that shrinks the newest
   allocation makes the mark stale too. */
TEST(test_arena_rewind_stale_mark_after_shrink) {
    Arena a = zero_arena();
    char *p = (char *)arena_alloc(&a, 1000);
    CHECK(p != NULL);
    ArenaMark m = arena_mark(&a);
    CHECK(arena_realloc(&a, p, 1000, 10) == p);   /* the top goes below m */
    char *c = (char *)arena_alloc(&a, 3000);      /* and back above it */
    CHECK(c != NULL);
    test_fill(c, 3000, 1);
    size_t used = arena_stats(&a).bytes_used;
    arena_rewind(&a, m);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    if (arena_stats(&a).bytes_used == used) CHECK(test_holds(c, 3000, 1));
    arena_release(&a);
    CHECK_NO_ERR();
}

/* A mark made stale stays stale however many rewinds follow. */
TEST(test_arena_rewind_stale_mark_after_many_rewinds) {
    Arena a = zero_arena();
    CHECK(arena_alloc(&a, 16) != NULL);
    ArenaMark ma = arena_mark(&a);
    CHECK(arena_alloc(&a, 10) != NULL);
    arena_rewind(&a, ma);                 /* the oldest rewind, far below */
    CHECK(arena_alloc(&a, 500) != NULL);
    ArenaMark mc = arena_mark(&a);
    CHECK(arena_alloc(&a, 500) != NULL);
    ArenaMark m = arena_mark(&a);         /* the mark that goes stale */
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_rewind(&a, mc);                 /* below m: m is stale now */
    CHECK_NO_ERR();
    /* rewinds at rising positions above m, as many as it takes to push
       out any bounded history (detection is exact) */
    for (int k = 0; k < 40; k++) {
        CHECK(arena_alloc(&a, 1000) != NULL);
        ArenaMark mk = arena_mark(&a);
        CHECK(arena_alloc(&a, 10) != NULL);
        arena_rewind(&a, mk);
        CHECK_NO_ERR();
    }
    char *c = (char *)alloc_filled(&a, 100, 2);
    CHECK(arena_defer(&a, defer_record, &defer_ids[3]));
    defer_n = 0;
    size_t used = arena_stats(&a).bytes_used;
    arena_rewind(&a, m);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK_EQ(defer_n, 0);
    if (arena_stats(&a).bytes_used == used) CHECK(test_holds(c, 100, 2));
    arena_release(&a);
    CHECK_NO_ERR();
}

/* A random walk of allocations, marks, rewinds and in-place shrinks
   against a model: a mark is valid while the top has not gone below it
   since it was taken. Valid marks must always be accepted (and rewind to
   exactly their position), and all live data must survive. Stale marks,
   whatever happened since they went stale, must be refused with nothing
   changed. */
typedef struct ModelMark {
    ArenaMark m;
    size_t pos, low;   /* its position; the lowest the top has been since */
} ModelMark;
typedef struct ModelRec {
    char *p;
    size_t n, start;   /* start: the arena position before it */
    unsigned seed;
} ModelRec;

static ModelMark model_marks[64];
static ModelRec model_recs[4096];
static void model_top_went_to(size_t nmarks, size_t top) {
    for (size_t i = 0; i < nmarks; i++)
        if (top < model_marks[i].low) model_marks[i].low = top;
}

static void model_walk(Arena *a, unsigned seed, int with_stale) {
    size_t nm = 0, nr = 0;
    int ok = 1;
    for (int step = 0; step < 2500 && ok; step++) {
        unsigned op = rnd(&seed) % 10;
        size_t top = arena_stats(a).bytes_used;
        if (op < 4 && nr < 4096) {                          /* allocate */
            size_t n = 1 + rnd(&seed) % 3000;
            char *p = (char *)arena_alloc(a, n);
            CHECK(p != NULL);
            if (!p) break;
            test_fill(p, n, (unsigned)step);
            model_recs[nr].p = p;
            model_recs[nr].n = n;
            model_recs[nr].start = top;
            model_recs[nr].seed = (unsigned)step;
            nr++;
        } else if (op < 6) {                                /* mark */
            if (nm == 64) nm = 0;
            model_marks[nm].m = arena_mark(a);
            model_marks[nm].pos = model_marks[nm].low = top;
            nm++;
        } else if (op < 8 && nm) {                          /* rewind */
            size_t i = rnd(&seed) % nm;
            int valid = model_marks[i].low >= model_marks[i].pos;
            if (!valid && !with_stale) continue;
            arena_rewind(a, model_marks[i].m);
            if (valid) {
                CHECK_NO_ERR();
                ok &= arena_stats(a).bytes_used == model_marks[i].pos;
                while (nr && model_recs[nr - 1].start >= model_marks[i].pos) nr--;
                model_top_went_to(nm, model_marks[i].pos);
            } else {
                ok &= test_err.calls == 1 && test_err.last == ARENA_ERR_MISUSE;
                test_err_clear();
                if (arena_stats(a).bytes_used != top) {
                    /* it rewound: the model is lost, and reading the
                       records now would trip a sanitizer */
                    CHECK(arena_stats(a).bytes_used == top);
                    return;
                }
            }
        } else if (op == 8 && nr && top == model_recs[nr - 1].start + span_of(model_recs[nr - 1].n)) {
            ModelRec *r = &model_recs[nr - 1];                /* shrink the newest */
            size_t n = r->n / 2;
            char *q = (char *)arena_realloc(a, r->p, r->n, n);
            CHECK(q != NULL);
            if (!q) break;
            ok &= test_holds(q, n, r->seed);
            if (q == r->p) {                                  /* in place */
                r->n = n;
                model_top_went_to(nm, arena_stats(a).bytes_used);
            } else {   /* a copy ("when it can": e.g. the top is at the start
                          of a newer, empty block): a new allocation */
                r->p = q;
                r->n = n;
                r->start = top;
            }
        } else if (op == 9 && step % 50 == 0) {              /* check everything */
            for (size_t i = 0; i < nr; i++)
                ok &= test_holds(model_recs[i].p, model_recs[i].n, model_recs[i].seed);
        }
    }
    CHECK(ok);
    for (size_t i = 0; i < nr; i++)
        CHECK(test_holds(model_recs[i].p, model_recs[i].n, model_recs[i].seed));
    CHECK_NO_ERR();
}

TEST(test_arena_marks_model_valid) {
    for (unsigned seed = 1; seed <= 3; seed++) {
        Arena a;
        ArenaOptions o = test_source_opts(&src, 4096);
        arena_init(&a, &o);
        model_walk(&a, seed, 0);
        CHECK_STATS_MATCH(a, src);
        arena_release(&a);
        CHECK_SOURCE_CLEAN(src);
    }
}

TEST(test_arena_marks_model_stale) {
    for (unsigned seed = 11; seed <= 13; seed++) {
        Arena a;
        ArenaOptions o = test_source_opts(&src, 4096);
        arena_init(&a, &o);
        model_walk(&a, seed, 1);
        arena_release(&a);
        CHECK_SOURCE_CLEAN(src);
    }
}

/* The inline rewind's edges (each checked against the exact rule): a
   record written where the top lands, a mark standing on that record, the
   record renewed, and the out-of-line pop of the one record made since an
   older mark, also when the record below it is at the mark. */
TEST(test_arena_marks_lifo_records) {
    Arena a = zero_arena();
    CHECK(arena_alloc(&a, 40) != NULL);
    ArenaMark x = arena_mark(&a);
    size_t ux = arena_stats(&a).bytes_used;
    CHECK(arena_alloc(&a, 100) != NULL);
    ArenaMark y = arena_mark(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_rewind(&a, y);                    /* nothing above y: no record */
    arena_rewind(&a, x);                    /* y lives above x: a record at x */
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, ux);
    arena_rewind(&a, y);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    for (int k = 0; k < 3; k++) {           /* marks standing on the record */
        ArenaMark c = arena_mark(&a);
        CHECK_EQ(c.pos, ux);
        char *p = (char *)alloc_filled(&a, 64, 9);
        ArenaMark d = arena_mark(&a);
        CHECK(arena_alloc(&a, 32) != NULL);
        arena_rewind(&a, d);
        arena_rewind(&a, c);                /* d lives above c: renewed */
        CHECK_NO_ERR();
        CHECK_EQ(arena_stats(&a).bytes_used, ux);
        arena_rewind(&a, d);
        CHECK_ERR1(ARENA_ERR_MISUSE);
        (void)p;
    }
    arena_rewind(&a, x);                    /* older than the record at x */
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, ux);
    /* one record since x, above it, linking to the record at x */
    ArenaMark c = arena_mark(&a);
    char *keep = (char *)alloc_filled(&a, 48, 4);
    ArenaMark e = arena_mark(&a);
    size_t ue = arena_stats(&a).bytes_used;
    CHECK(arena_alloc(&a, 80) != NULL);
    ArenaMark f = arena_mark(&a);
    CHECK(arena_alloc(&a, 80) != NULL);
    arena_rewind(&a, f);
    arena_rewind(&a, e);                    /* f lives: a record at e */
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, ue);
    CHECK(test_holds(keep, 48, 4));
    arena_rewind(&a, c);                    /* pops it; x's record stays */
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, ux);
    arena_rewind(&a, e);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    arena_rewind(&a, f);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    arena_rewind(&a, x);
    arena_rewind(&a, c);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, ux);
    /* the peak counts tops left by inline rewinds, also across a reset */
    CHECK(arena_alloc(&a, 5000) != NULL);
    size_t high = arena_stats(&a).bytes_used;
    arena_rewind(&a, x);
    CHECK(arena_stats(&a).peak_used >= high);
    arena_reset(&a);
    CHECK(arena_stats(&a).peak_used >= high);
    arena_rewind(&a, x);                    /* from before the reset */
    CHECK_ERR1(ARENA_ERR_MISUSE);
    arena_release(&a);
    CHECK_NO_ERR();
}

/* LIFO walks of marks (push: mark + allocation, pop: rewind) mixed with
   rewinds of popped marks that went stale, against the model of
   model_walk (a mark is valid while the top has not gone below it). */
TEST(test_arena_marks_lifo_walk) {
    for (unsigned seed = 1; seed <= 4; seed++) {
        Arena a = zero_arena();
        ModelMark st[64], dead[16];
        char *objs[64];
        size_t depth = 0, ndead = 0;
        for (int step = 0; step < 4000; step++) {
            unsigned r = rnd(&seed);
            size_t top = arena_stats(&a).bytes_used;
            if (depth == 0 || (depth < 64 && (r & 3) < 2)) {
                st[depth].m = arena_mark(&a);
                st[depth].pos = top;
                objs[depth] = (char *)alloc_filled(&a, 16 + (r >> 4) % 300, (unsigned)depth);
                depth++;
            } else if ((r & 3) == 2 || !ndead) {
                depth--;
                CHECK(test_holds(objs[depth], 16, (unsigned)depth));
                arena_rewind(&a, st[depth].m);
                CHECK_NO_ERR();
                CHECK_EQ(arena_stats(&a).bytes_used, st[depth].pos);
                for (size_t i = 0; i < ndead; i++)
                    if (st[depth].pos < dead[i].low) dead[i].low = st[depth].pos;
                if (ndead < 16 && (r >> 8) % 3 == 0) {
                    dead[ndead] = st[depth];
                    dead[ndead++].low = st[depth].pos;
                }
            } else if (ndead--, dead[ndead].low < dead[ndead].pos) {
                arena_rewind(&a, dead[ndead].m);
                CHECK_ERR1(ARENA_ERR_MISUSE);
                CHECK_EQ(arena_stats(&a).bytes_used, top);
            }
        }
        for (size_t i = 0; i < depth; i++) CHECK(test_holds(objs[i], 16, (unsigned)i));
        arena_release(&a);
        CHECK_NO_ERR();
    }
}

TEST(test_arena_rewind_after_reset) {
    Arena a = zero_arena();
    CHECK(arena_alloc(&a, 100) != NULL);
    ArenaMark m = arena_mark(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_reset(&a);
    char *p = (char *)arena_alloc(&a, 500);   /* past the mark's position again */
    CHECK(p != NULL);
    test_fill(p, 500, 1);
    size_t used = arena_stats(&a).bytes_used;
    arena_rewind(&a, m);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK(test_holds(p, 500, 1));
    /* a mark from before a release, too */
    ArenaMark m2 = arena_mark(&a);
    arena_release(&a);
    CHECK(arena_alloc(&a, 1000) != NULL);
    used = arena_stats(&a).bytes_used;
    arena_rewind(&a, m2);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    /* a mark taken after the reset works */
    ArenaMark m3 = arena_mark(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_rewind(&a, m3);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_temp) {
    Arena a = zero_arena();
    char *keep = (char *)alloc_filled(&a, 64, 1);
    size_t u0 = arena_stats(&a).bytes_used;
    ArenaTemp t = arena_temp_begin(&a);
    CHECK(t.arena == &a);
    char *x = (char *)arena_alloc(&a, 300);
    CHECK(x != NULL);
    ArenaTemp inner = arena_temp_begin(&a);
    size_t u1 = arena_stats(&a).bytes_used;
    for (int i = 0; i < 100; i++) CHECK(arena_alloc(&a, 1000) != NULL);
    arena_temp_end(inner);
    CHECK_EQ(arena_stats(&a).bytes_used, u1);
    arena_temp_end(t);
    CHECK_EQ(arena_stats(&a).bytes_used, u0);
    /* the memory is reused; the inner mark, still live until the outer
       end, left a 16-byte cut record at u0 (see arena__cut) */
    char *y = (char *)arena_alloc(&a, 300);
    CHECK(y == x || y == x + 16);
    CHECK(test_holds(keep, 64, 1));
    CHECK_NO_ERR();
    ArenaTemp z;
    memset(&z, 0, sizeof z);
    arena_temp_end(z);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    /* ending the outer temp first makes the inner one stale */
    ArenaTemp t1 = arena_temp_begin(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    ArenaTemp t2 = arena_temp_begin(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_temp_end(t1);
    size_t u2 = arena_stats(&a).bytes_used;
    arena_temp_end(t2);
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, u2);
    CHECK(test_holds(keep, 64, 1));
    arena_release(&a);
    CHECK_NO_ERR();
}

/* ---- defer -------------------------------------------------------------------- */

TEST(test_arena_defer_reset) {
    Arena a = zero_arena();
    defer_n = 0;
    for (int i = 1; i <= 3; i++) {
        CHECK(arena_defer(&a, defer_record, &defer_ids[i]));
        CHECK(arena_alloc(&a, 100) != NULL);
    }
    CHECK_EQ(defer_n, 0);
    arena_reset(&a);
    CHECK_EQ(defer_n, 3);
    CHECK(defer_log[0] == 3 && defer_log[1] == 2 && defer_log[2] == 1);
    arena_reset(&a);                       /* each runs once */
    CHECK_EQ(defer_n, 3);
    CHECK(arena_defer(&a, defer_record, &defer_ids[4]));
    arena_release(&a);
    CHECK_EQ(defer_n, 4);
    CHECK_EQ(defer_log[3], 4);
    arena_release(&a);
    CHECK_EQ(defer_n, 4);
    CHECK_NO_ERR();
}

TEST(test_arena_defer_release) {
    Arena a;
    src_arena(&a, 4096);
    defer_n = 0;
    for (int i = 1; i <= 10; i++) {
        CHECK(arena_defer(&a, defer_record, &defer_ids[i]));
        CHECK(arena_alloc(&a, 1500) != NULL);   /* spread across blocks */
    }
    arena_release(&a);
    CHECK_EQ(defer_n, 10);
    for (int i = 0; i < 10 && i < defer_n; i++) CHECK_EQ(defer_log[i], 10 - i);
    CHECK_SOURCE_CLEAN(src);
    CHECK_NO_ERR();
}

TEST(test_arena_defer_rewind) {
    Arena a;
    ArenaOptions o = test_source_opts(&src, 4096);
    arena_init(&a, &o);
    defer_n = 0;
    CHECK(arena_defer(&a, defer_record, &defer_ids[1]));
    CHECK(arena_alloc(&a, 100) != NULL);
    ArenaMark m = arena_mark(&a);
    CHECK(arena_defer(&a, defer_record, &defer_ids[2]));   /* right at the mark */
    CHECK(arena_alloc(&a, 3000) != NULL);
    CHECK(arena_defer(&a, defer_record, &defer_ids[3]));
    CHECK(arena_alloc(&a, 3000) != NULL);                  /* a later block */
    CHECK(arena_defer(&a, defer_record, &defer_ids[4]));
    arena_rewind(&a, m);
    CHECK_NO_ERR();
    CHECK_EQ(defer_n, 3);
    CHECK(defer_log[0] == 4 && defer_log[1] == 3 && defer_log[2] == 2);
    /* a temp scope runs its own */
    ArenaTemp t = arena_temp_begin(&a);
    CHECK(arena_defer(&a, defer_record, &defer_ids[5]));
    arena_temp_end(t);
    CHECK_EQ(defer_n, 4);
    CHECK_EQ(defer_log[3], 5);
    arena_release(&a);
    CHECK_EQ(defer_n, 5);
    CHECK_EQ(defer_log[4], 1);
    CHECK_SOURCE_CLEAN(src);
    CHECK_NO_ERR();
}

typedef struct DeferObj {
    int value;
    int *out;
} DeferObj;
static void defer_read_obj(void *ctx) {
    DeferObj *o = (DeferObj *)ctx;
    *o->out = o->value;
}

TEST(test_arena_defer_ctx_in_arena) {
    /* a cleanup for an object in the arena runs before its memory goes */
    Arena a = zero_arena();
    int seen = 0;
    DeferObj *o = arena_new(&a, DeferObj);
    CHECK(o != NULL);
    o->value = 1234;
    o->out = &seen;
    CHECK(arena_defer(&a, defer_read_obj, o));
    for (int i = 0; i < 100; i++) CHECK(arena_alloc(&a, 1000) != NULL);
    arena_reset(&a);
    CHECK_EQ(seen, 1234);
    /* on rewind too */
    ArenaMark m = arena_mark(&a);
    DeferObj *o2 = arena_new(&a, DeferObj);
    CHECK(o2 != NULL);
    o2->value = 99;
    o2->out = &seen;
    CHECK(arena_defer(&a, defer_read_obj, o2));
    CHECK(arena_alloc(&a, 100000) != NULL);
    arena_rewind(&a, m);
    CHECK_EQ(seen, 99);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_defer_null_fn) {
    Arena a = zero_arena();
    defer_n = 0;
    CHECK(arena_defer(&a, defer_record, &defer_ids[1]));
    size_t used = arena_stats(&a).bytes_used;
    CHECK(!arena_defer(&a, NULL, &defer_ids[2]));
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK(!arena_defer(&a, NULL, NULL));
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    arena_release(&a);                    /* only the real one runs */
    CHECK_EQ(defer_n, 1);
    CHECK_EQ(defer_log[0], 1);
    CHECK_NO_ERR();
}

/* ---- reset, release ------------------------------------------------------------ */

/* One cycle: 1000 allocations of 16..256 bytes (same seed every cycle,
   several blocks' worth), one larger than a block, all checked. */
static void reset_cycle(Arena *a) {
    unsigned seed = 2024;
    nrecs = 0;
    for (unsigned i = 0; i < 1000; i++) {
        size_t n = 16 + rnd(&seed) % 241;
        if (i == 500) n = 200000;
        void *p = rec_fill(arena_alloc(a, n), n, i);
        CHECK(p != NULL);
    }
    CHECK(recs_hold());
}

TEST(test_arena_reset_keeps_memory) {
    Arena a;
    src_arena(&a, 0);
    size_t grabs = 0, drops = 0, held = 0;
    for (int cycle = 0; cycle < 8; cycle++) {
        reset_cycle(&a);
        if (cycle == 0) CHECK(arena_stats(&a).block_count > 1);
        CHECK_STATS_MATCH(a, src);
        arena_reset(&a);
        CHECK_EQ(arena_stats(&a).bytes_used, (size_t)0);
        CHECK_STATS_MATCH(a, src);
        if (cycle == 1) {
            grabs = src.grabs;
            drops = src.drops;
            held = arena_stats(&a).bytes_held;
            CHECK(held > 0);
        } else if (cycle > 1) {
            CHECK_EQ(src.grabs, grabs);
            CHECK_EQ(src.drops, drops);
            CHECK_EQ(arena_stats(&a).grab_count, grabs);
            CHECK_EQ(arena_stats(&a).bytes_held, held);
        }
    }
    CHECK_RELEASED(a);
}

TEST(test_arena_reset_keeps_memory_malloc) {
    Arena a = zero_arena();
    size_t grabs = 0;
    for (int cycle = 0; cycle < 6; cycle++) {
        reset_cycle(&a);
        arena_reset(&a);
        if (cycle == 1) grabs = arena_stats(&a).grab_count;
        else if (cycle > 1) CHECK_EQ(arena_stats(&a).grab_count, grabs);
    }
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_reset_keep_bytes) {
    size_t keeps[3] = {(size_t)32 << 10, (size_t)100 << 10, (size_t)1 << 20};
    for (int k = 0; k < 3; k++) {
        Arena a;
        ArenaOptions o = test_source_opts(&src, 8192);
        o.keep_bytes = keeps[k];
        arena_init(&a, &o);
        for (int cycle = 0; cycle < 4; cycle++) {
            reset_cycle(&a);
            arena_reset(&a);
            CHECK(arena_stats(&a).bytes_held <= keeps[k]);
            CHECK(src.bytes_out <= keeps[k]);
            CHECK_STATS_MATCH(a, src);
        }
        /* a rewind keeps no more than keep_bytes in spare either */
        ArenaMark m = arena_mark(&a);
        reset_cycle(&a);
        arena_rewind(&a, m);
        CHECK(arena_stats(&a).bytes_held <= keeps[k] + keeps[k]);
        arena_release(&a);
        CHECK_SOURCE_CLEAN(src);
    }
    CHECK_NO_ERR();
}

/* A frame of `kib` KiB in 1000-byte allocations, each written. */
static void frame_of(Arena *a, size_t kib) {
    for (size_t i = 0; i < kib * 1024 / 1000; i++) {
        char *p = (char *)arena_alloc(a, 1000);
        CHECK(p != NULL);
        if (!p) return;
        p[0] = p[999] = (char)i;
    }
}

/* Frames alternating 200 KB and 600 KB make no source call once warm:
   reset keeps what the big frame needs across the small one (the old
   policy kept only what the last cycle used: 50 grabs per 100 frames). */
TEST(test_arena_reset_alternating_frames_warm) {
    Arena a;
    ArenaOptions o = test_source_opts(&src, 0);
    o.keep_bytes = (size_t)1 << 30;
    arena_init(&a, &o);
    for (int f = 0; f < 4; f++) {
        frame_of(&a, f % 2 ? 600 : 200);
        arena_reset(&a);
    }
    size_t grabs = src.grabs;
    for (int f = 0; f < 100; f++) {
        frame_of(&a, f % 2 ? 600 : 200);
        arena_reset(&a);
        CHECK_STATS_MATCH(a, src);
    }
    CHECK_EQ(src.grabs, grabs);
    CHECK_EQ(src.drops, (size_t)0);
    CHECK_RELEASED(a);
}

/* What no cycle has needed for ARENA_KEEP_CYCLES resets goes back. */
TEST(test_arena_reset_gives_back_after_cycles) {
    Arena a;
    src_arena(&a, 0);
    frame_of(&a, 600);
    arena_reset(&a);
    size_t big = arena_stats(&a).bytes_held;
    for (int c = 1; c <= ARENA_KEEP_CYCLES; c++) {
        frame_of(&a, 100);
        arena_reset(&a);
        CHECK_STATS_MATCH(a, src);
        if (c < ARENA_KEEP_CYCLES) CHECK_EQ(arena_stats(&a).bytes_held, big);
    }
    CHECK(arena_stats(&a).bytes_held < big);
    CHECK(arena_stats(&a).bytes_held <= (size_t)400 << 10);   /* 64 + 128 + 256 KiB blocks */
    CHECK_EQ(src.grabs, src.live + src.drops);
    CHECK_RELEASED(a);
}

/* One 100 MB request, then small cycles: the dedicated block never serves
   ordinary requests and goes back at the first reset of a cycle that did
   not use it; the right-sized blocks stay, so the small cycles make no
   source call (the old policy spilled the next cycle into the big block,
   kept it, and held 104.9 MB). */
TEST(test_arena_reset_one_off_huge_given_back) {
    const size_t huge = (size_t)100 << 20;
    for (int first = 0; first < 2; first++) {   /* the arena's first request, or a later one */
        Arena a;
        ArenaOptions o = test_source_opts(&src, 0);
        arena_init(&a, &o);
        if (!first) frame_of(&a, 224);
        char *big = (char *)arena_alloc(&a, huge);
        CHECK(big != NULL);
        if (big) big[0] = big[huge - 1] = 1;
        frame_of(&a, 224);
        arena_reset(&a);
        CHECK(arena_stats(&a).bytes_held > huge);       /* used by the cycle that ended */
        frame_of(&a, 224);
        arena_reset(&a);
        size_t grabs = src.grabs;
        for (int c = 0; c < 4; c++) {
            for (size_t i = 0; i < 224; i++) {
                char *p = (char *)arena_alloc(&a, 1000);
                CHECK(p != NULL);
                CHECK(!(p >= big && p < big + huge));   /* never inside the big block */
            }
            arena_reset(&a);
            CHECK(arena_stats(&a).bytes_held < (size_t)1 << 20);
            CHECK_STATS_MATCH(a, src);
        }
        CHECK_EQ(src.grabs, grabs);
        arena_release(&a);
        CHECK_SOURCE_CLEAN(src);
    }
    CHECK_NO_ERR();
}

/* An oversized request every cycle stays warm: its block is kept while a
   cycle uses it, and serves the next oversized request. */
TEST(test_arena_reset_oversized_every_cycle_warm) {
    const size_t big = (size_t)3 << 20;
    Arena a;
    ArenaOptions o = test_source_opts(&src, 4096);
    o.max_block_size = (size_t)1 << 20;
    arena_init(&a, &o);
    size_t grabs = 0;
    for (int c = 0; c < 10; c++) {
        frame_of(&a, 50);
        char *p = (char *)arena_alloc(&a, big - (size_t)c * 1000);
        CHECK(p != NULL);
        if (p) p[0] = 1;
        frame_of(&a, 50);
        arena_reset(&a);
        CHECK_STATS_MATCH(a, src);
        if (c == 1) grabs = src.grabs;
    }
    CHECK_EQ(src.grabs, grabs);
    CHECK_RELEASED(a);
}

/* A virtual arena follows the same rule: it keeps committed the most one
   of the last ARENA_KEEP_CYCLES cycles used. */
TEST(test_arena_virtual_keeps_recent_peak) {
    Arena a;
    CHECK(arena_init_virtual(&a, (size_t)256 << 20));
    for (int f = 0; f < 4; f++) {
        frame_of(&a, f % 2 ? 600 : 200);
        arena_reset(&a);
    }
    size_t grabs = arena_stats(&a).grab_count, held = arena_stats(&a).bytes_held;
    CHECK(held >= (size_t)600 << 10);
    for (int f = 0; f < 20; f++) {
        frame_of(&a, f % 2 ? 600 : 200);
        arena_reset(&a);
    }
    CHECK_EQ(arena_stats(&a).grab_count, grabs);     /* no commit once warm */
    for (int c = 0; c < ARENA_KEEP_CYCLES; c++) {
        CHECK(arena_stats(&a).bytes_held >= (size_t)600 << 10);
        frame_of(&a, 100);
        arena_reset(&a);
    }
    CHECK(arena_stats(&a).bytes_held < (size_t)300 << 10);   /* back to what 100 KB needs */
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_release_returns_all) {
    Arena a;
    src_arena(&a, 4096);
    defer_n = 0;
    unsigned seed = 99;
    for (int i = 0; i < 300; i++) {
        CHECK(arena_alloc(&a, 1 + rnd(&seed) % 2000) != NULL);
        if (i % 50 == 0) CHECK(arena_alloc(&a, 50000) != NULL);
        if (i % 70 == 0) CHECK(arena_alloc_aligned(&a, 10, 8192) != NULL);
        if (i % 90 == 0) CHECK(arena_defer(&a, defer_record, &defer_ids[0]));
    }
    ArenaMark m = arena_mark(&a);
    for (int i = 0; i < 30; i++) CHECK(arena_alloc(&a, 1500) != NULL);
    arena_rewind(&a, m);   /* leaves a spare block behind */
    CHECK(src.live > 1);
    arena_release(&a);
    CHECK_EQ(defer_n, 4);
    CHECK_SOURCE_CLEAN(src);
    ArenaStats st = arena_stats(&a);
    CHECK_EQ(st.bytes_used, (size_t)0);
    CHECK_EQ(st.bytes_held, (size_t)0);
    CHECK_EQ(st.block_count, (size_t)0);
    /* works again, on the same source */
    size_t grabs = src.grabs;
    char *p = (char *)alloc_filled(&a, 100, 1);
    CHECK(src.grabs == grabs + 1);
    CHECK(in_source_block(&src, p, 100));
    CHECK(test_holds(p, 100, 1));
    arena_release(&a);
    arena_release(&a);                      /* twice is fine */
    CHECK_SOURCE_CLEAN(src);
    CHECK_NO_ERR();
}

/* ---- stats ------------------------------------------------------------------- */

TEST(test_arena_stats) {
    Arena a;
    src_arena(&a, 4096);
    size_t prev_used = 0, peak = 0;
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)(i * 37 % 900) + 1;
        CHECK(arena_alloc(&a, n) != NULL);
        ArenaStats st = arena_stats(&a);
        CHECK(st.bytes_used >= prev_used + n);
        CHECK(st.bytes_used <= prev_used + span_of(n));
        CHECK(st.peak_used >= st.bytes_used);
        prev_used = st.bytes_used;
        peak = st.peak_used;
        CHECK_STATS_MATCH(a, src);
    }
    arena_reset(&a);
    ArenaStats st = arena_stats(&a);
    CHECK_EQ(st.bytes_used, (size_t)0);
    CHECK(st.peak_used >= peak);               /* survives a reset */
    CHECK(st.peak_used >= prev_used);
    CHECK_STATS_MATCH(a, src);
    CHECK(arena_alloc(&a, 10) != NULL);
    CHECK(arena_stats(&a).peak_used >= peak);
    /* and a rewind */
    ArenaMark m2 = arena_mark(&a);
    CHECK(arena_alloc(&a, 50000) != NULL);
    size_t high = arena_stats(&a).bytes_used;
    arena_rewind(&a, m2);
    CHECK(arena_stats(&a).peak_used >= high);
    CHECK_RELEASED(a);
}

TEST(test_arena_stats_peak_after_shrink) {
    /* peak_used is the most bytes_used has been: a realloc that shrinks
       the newest allocation in place lowers bytes_used, not the peak */
    Arena a = zero_arena();
    char *p = (char *)arena_alloc(&a, 10000);
    CHECK(p != NULL);
    size_t high = arena_stats(&a).bytes_used;
    CHECK(high >= 10000);
    CHECK(arena_realloc(&a, p, 10000, 16) == p);
    ArenaStats st = arena_stats(&a);
    CHECK(st.bytes_used < high);
    CHECK(st.peak_used >= high);
    arena_release(&a);
    CHECK_NO_ERR();
}

/* ---- sources, failures, caps ----------------------------------------------------- */

static int wl_defers;
static void wl_defer(void *ctx) { (void)ctx; wl_defers++; }

/* A mixed workload on an arena over a TestSource; stops at the first
   failure, which must be exactly one OOM, with everything before intact.
   Returns 1 if a call failed. */
static int failing_workload(Arena *a, int *defers_ok) {
    nrecs = 0;
    *defers_ok = 0;
    for (unsigned i = 0; i < 120; i++) {
        void *p = NULL;
        size_t n = 16 + (i * 37) % 500;
        int failed = 0;
        switch (i % 8) {
        case 0:
            p = rec_fill(arena_alloc(a, n), n, i);
            failed = !p;
            break;
        case 1:
            p = rec_fill(arena_alloc_aligned(a, 64, (size_t)256 << (i % 5)), 64, i);
            failed = !p;
            break;
        case 2:
            p = arena_calloc(a, 10, 33);
            if (p) {
                CHECK(all_bytes(p, 330, 0));
                rec_fill(p, 330, i);
            }
            failed = !p;
            break;
        case 3:
            n = 5000 + i * 100;   /* larger than a block */
            p = rec_fill(arena_alloc(a, n), n, i);
            failed = !p;
            break;
        case 4: {
            char *q = (char *)arena_alloc(a, 100);
            if (!q) { failed = 1; break; }
            test_fill(q, 100, i);
            p = arena_realloc(a, q, 100, 3000);   /* grows past the block */
            if (p) {
                CHECK(test_holds(p, 100, i));
                rec_fill(p, 3000, i);
            } else {
                CHECK(test_holds(q, 100, i));
                rec_fill(q, 100, i);
                failed = 1;
            }
            break;
        }
        case 5: {
            ArenaMark m = arena_mark(a);
            void *t1 = arena_alloc(a, 3000);
            void *t2 = t1 ? arena_alloc(a, 3000) : NULL;
            failed = !t2;
            if (!failed) arena_rewind(a, m);
            break;
        }
        case 6:
            if (arena_defer(a, wl_defer, NULL)) (*defers_ok)++;
            else failed = 1;
            break;
        default: {
            char *s = arena_strdup(a, "a string that the arena duplicates");
            if (s) CHECK(strcmp(s, "a string that the arena duplicates") == 0);
            failed = !s;
            break;
        }
        }
        if (failed) {
            CHECK_ERR1(ARENA_ERR_OOM);
            CHECK(recs_hold());
            return 1;
        }
        CHECK_NO_ERR();
    }
    CHECK(recs_hold());
    return 0;
}

TEST(test_arena_source_fail_kth) {
    Arena a;
    int defers_ok = 0;
    ArenaOptions o = test_source_opts(&src, 4096);
    o.max_block_size = 8192;   /* many small blocks: many grabs to fail */
    arena_init(&a, &o);
    wl_defers = 0;
    CHECK(!failing_workload(&a, &defers_ok));
    size_t total = src.grabs;
    CHECK(total > 30);
    arena_release(&a);
    CHECK_EQ(wl_defers, defers_ok);
    CHECK_SOURCE_CLEAN(src);
    for (size_t k = 1; k <= total + 1; k++) {
        o = test_source_opts(&src, 4096);
        o.max_block_size = 8192;
        src.fail_at = k;
        arena_init(&a, &o);
        wl_defers = 0;
        int failed = failing_workload(&a, &defers_ok);
        CHECK_EQ(failed, k <= total);
        CHECK_EQ(src.failed, (size_t)(k <= total));
        CHECK_STATS_MATCH(a, src);
        /* the arena still works after a failure */
        char *p = (char *)alloc_filled(&a, 100, 77);
        CHECK(recs_hold() && test_holds(p, 100, 77));
        arena_release(&a);
        CHECK_EQ(wl_defers, defers_ok);
        CHECK_SOURCE_CLEAN(src);
        CHECK_NO_ERR();
    }
}

TEST(test_arena_source_fail_first) {
    /* the very first grab fails: NULL + OOM, nothing held, then works */
    Arena a;
    ArenaOptions o = test_source_opts(&src, 4096);
    src.fail_at = 1;
    arena_init(&a, &o);
    CHECK(arena_alloc(&a, 10) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    ArenaStats st = arena_stats(&a);
    CHECK_EQ(st.bytes_held, (size_t)0);
    CHECK_EQ(st.block_count, (size_t)0);
    CHECK_EQ(st.bytes_used, (size_t)0);
    CHECK(arena_alloc(&a, 10) != NULL);
    CHECK_RELEASED(a);
}

TEST(test_arena_max_bytes) {
    Arena a;
    ArenaOptions o = test_source_opts(&src, 8192);
    o.max_bytes = (size_t)64 << 10;
    arena_init(&a, &o);
    nrecs = 0;
    void *p;
    unsigned i = 0;
    while ((p = arena_alloc(&a, 1000)) != NULL) {
        rec_fill(p, 1000, i++);
        CHECK(i < 1000);
        if (i >= 1000) break;
    }
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(i >= 40);                                    /* most of the cap used */
    CHECK(arena_stats(&a).bytes_held <= o.max_bytes);
    CHECK(src.bytes_out <= o.max_bytes);
    CHECK(recs_hold());
    size_t grabs = src.grabs;
    CHECK(arena_alloc(&a, 100000) == NULL);            /* more than the cap at all */
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(arena_alloc(&a, 1000) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(src.grabs, grabs);                        /* the cap refuses, not the source */
    CHECK(recs_hold());
    CHECK_STATS_MATCH(a, src);
    /* reset makes room again under the same cap */
    arena_reset(&a);
    for (int k = 0; k < 40; k++) CHECK(arena_alloc(&a, 1000) != NULL);
    CHECK(arena_stats(&a).bytes_held <= o.max_bytes);
    arena_release(&a);
    CHECK_SOURCE_CLEAN(src);

    /* a single request larger than the cap fails on a fresh arena */
    o = test_source_opts(&src, 8192);
    o.max_bytes = 10000;
    arena_init(&a, &o);
    CHECK(arena_alloc(&a, 20000) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(src.grabs, (size_t)0);
    char *s = (char *)arena_alloc(&a, 5000);             /* below the cap: fine */
    CHECK(s != NULL);
    CHECK(arena_stats(&a).bytes_held <= 10000);
    CHECK_RELEASED(a);
}

/* ---- buffer arenas ----------------------------------------------------------- */

TEST(test_arena_buffer_basic) {
    Arena a;
    size_t size = 8192;
    CHECK(arena_init_buffer(&a, gbuf.bytes, size));
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_held, size);
    nrecs = 0;
    void *first = NULL, *p;
    unsigned i = 0;
    while ((p = arena_alloc(&a, 100)) != NULL) {
        if (!first) first = p;
        CHECK(in_range(p, 100, gbuf.bytes, size));
        CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
        rec_fill(p, 100, i++);
        if (i > 1000) break;
    }
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(i >= 8192 / span_of(100) - 2);
    CHECK(recs_hold());
    CHECK(recs_disjoint());
    /* full: bigger requests fail too, and aligned ones */
    CHECK(arena_alloc(&a, 100000) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(arena_alloc_aligned(&a, 100, 4096) == NULL);   /* (8 bytes may fit at a page start) */
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(recs_hold());
    CHECK_EQ(arena_stats(&a).bytes_held, size);
    /* reset: the same memory again */
    arena_reset(&a);
    CHECK_EQ(arena_stats(&a).bytes_used, (size_t)0);
    void *again = arena_alloc(&a, 100);
    CHECK(again == first);
    for (unsigned k = 1; k < i; k++) {
        p = arena_alloc(&a, 100);
        CHECK(p != NULL && in_range(p, 100, gbuf.bytes, size));
    }
    CHECK(arena_alloc(&a, 100) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_buffer_mixed_calls) {
    /* everything any call returns lies inside the buffer */
    Arena a;
    size_t size = sizeof gbuf.bytes;
    CHECK(arena_init_buffer(&a, gbuf.bytes, size));
    char *p = (char *)arena_alloc_aligned(&a, 100, 4096);
    CHECK(p != NULL && in_range(p, 100, gbuf.bytes, size) && test_is_aligned(p, 4096));
    char *s = arena_strdup(&a, "inside");
    CHECK(s != NULL && in_range(s, 7, gbuf.bytes, size));
    int *c = (int *)arena_calloc(&a, 10, sizeof(int));
    CHECK(c != NULL && in_range(c, 10 * sizeof(int), gbuf.bytes, size));
    TestObj *o = arena_new(&a, TestObj);
    CHECK(o != NULL && in_range(o, sizeof *o, gbuf.bytes, size));
    char *r = (char *)arena_realloc(&a, NULL, 0, 64);
    CHECK(r != NULL && in_range(r, 64, gbuf.bytes, size));
    test_fill(r, 64, 3);
    char *r2 = (char *)arena_realloc(&a, r, 64, 2000);
    CHECK(r2 == r && in_range(r2, 2000, gbuf.bytes, size));
    CHECK(test_holds(r2, 64, 3));
    /* growing the newest past the end: OOM, data intact */
    CHECK(arena_realloc(&a, r2, 2000, size) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(test_holds(r2, 64, 3));
    CHECK(strcmp(s, "inside") == 0);
    defer_n = 0;
    CHECK(arena_defer(&a, defer_record, &defer_ids[6]));
    fill_up(&a, 16);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(!arena_defer(&a, defer_record, &defer_ids[7]));   /* no room for it */
    CHECK_ERR1(ARENA_ERR_OOM);
    arena_release(&a);
    CHECK_EQ(defer_n, 1);
    CHECK_EQ(defer_log[0], 6);
    CHECK_NO_ERR();
}

TEST(test_arena_buffer_null) {
    Arena a;
    CHECK(!arena_init_buffer(&a, NULL, 4096));
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK(arena_alloc(&a, 10) == NULL);   /* no silent fallback to malloc */
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(arena_stats(&a).grab_count, (size_t)0);
    arena_release(&a);
    CHECK(arena_alloc(&a, 10) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_buffer_misaligned) {
    Arena a;
    CHECK(!arena_init_buffer(&a, gbuf.bytes + 1, 4096));
    CHECK_ERR1(ARENA_ERR_ALIGN);
    CHECK(arena_alloc(&a, 10) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(arena_alloc_aligned(&a, 10, 64) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(arena_stats(&a).grab_count, (size_t)0);
    CHECK_EQ(arena_stats(&a).bytes_held, (size_t)0);
    arena_release(&a);
    CHECK_NO_ERR();
    /* aligned for a pointer but not for ARENA_MIN_ALIGN: either refused as
       misaligned, or every allocation is still aligned and inside */
    unsigned char *b8 = gbuf.bytes + 8;
    if (arena_init_buffer(&a, b8, 4096)) {
        CHECK_NO_ERR();
        void *p;
        int n = 0;
        while ((p = arena_alloc(&a, 24)) != NULL && n < 1000) {
            CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
            CHECK(in_range(p, 24, b8, 4096));
            n++;
        }
        CHECK_ERR1(ARENA_ERR_OOM);
        arena_release(&a);
    } else {
        CHECK_ERR1(ARENA_ERR_ALIGN);
    }
    CHECK_NO_ERR();
}

TEST(test_arena_buffer_too_small) {
    Arena a;
    CHECK(!arena_init_buffer(&a, gbuf.bytes, 8));
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(arena_alloc(&a, 1) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(!arena_init_buffer(&a, gbuf.bytes, 0));
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(arena_alloc(&a, 1) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(arena_stats(&a).grab_count, (size_t)0);
    arena_release(&a);
    CHECK_NO_ERR();
    /* the smallest size that works gives at least one allocation */
    size_t n = 8;
    while (n < 1024 && !arena_init_buffer(&a, gbuf.bytes, n)) {
        CHECK_ERR1(ARENA_ERR_OOM);
        n++;
    }
    CHECK(n < 1024);
    CHECK_NO_ERR();
    void *p = arena_alloc(&a, 1);
    CHECK(p != NULL && in_range(p, 1, gbuf.bytes, n));
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_buffer_release_reuse) {
    Arena a;
    size_t size = 4096;
    CHECK(arena_init_buffer(&a, gbuf.bytes, size));
    char *p = (char *)arena_alloc(&a, 1000);
    CHECK(p != NULL);
    ArenaMark m = arena_mark(&a);
    arena_release(&a);
    CHECK_EQ(arena_stats(&a).bytes_used, (size_t)0);
    char *q = (char *)arena_alloc(&a, 1000);   /* the same buffer again */
    CHECK(q == p);
    CHECK(in_range(q, 1000, gbuf.bytes, size));
    test_fill(q, 1000, 5);
    int n = 0;
    while ((p = (char *)arena_alloc(&a, 500)) != NULL && n < 100) {
        CHECK(in_range(p, 500, gbuf.bytes, size));
        n++;
    }
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(test_holds(q, 1000, 5));
    arena_rewind(&a, m);                        /* from before the release */
    CHECK_ERR1(ARENA_ERR_MISUSE);
    CHECK(test_holds(q, 1000, 5));
    arena_release(&a);
    arena_release(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_release(&a);
    CHECK_NO_ERR();
}

/* ---- virtual memory ------------------------------------------------------------ */

#define VIRT_RESERVE ((size_t)256 << 20)

TEST(test_arena_virtual_contiguous) {
    Arena a;
    CHECK(arena_init_virtual(&a, VIRT_RESERVE));
    CHECK_NO_ERR();
    char *prev = (char *)arena_alloc(&a, 100);
    CHECK(prev != NULL);
    CHECK(test_is_aligned(prev, ARENA_MIN_ALIGN));
    char *first = prev;
    test_fill(prev, 100, 0);
    for (unsigned i = 1; i < 20000; i++) {   /* ~2 MiB: many commits */
        char *p = (char *)arena_alloc(&a, 100);
        CHECK(p == prev + span_of(100));
        if (p != prev + span_of(100)) break;
        test_fill(p, 100, i);
        prev = p;
    }
    for (unsigned i = 0; i < 20000; i += 997) CHECK(test_holds(first + i * span_of(100), 100, i));
    ArenaStats st = arena_stats(&a);
    CHECK_EQ(st.block_count, (size_t)1);
    CHECK(st.bytes_held >= st.bytes_used);
    CHECK(st.bytes_used >= 20000 * span_of(100));
    CHECK(st.bytes_held < VIRT_RESERVE);       /* committed on demand */
    /* aligned ones come from the same range */
    char *al = (char *)arena_alloc_aligned(&a, 10, 65536);
    CHECK(al != NULL && test_is_aligned(al, 65536) && al > prev);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_virtual_realloc_grows_in_place) {
    Arena a;
    CHECK(arena_init_virtual(&a, VIRT_RESERVE));
    char *keep = (char *)alloc_filled(&a, 64, 1);
    char *p = (char *)alloc_filled(&a, 16, 2);
    size_t n = 16;
    int step = 0;
    while (n < ((size_t)64 << 20)) {
        size_t m = n * 2;
        char *q = (char *)arena_realloc(&a, p, n, m);
        CHECK(q == p);
        if (q != p) break;
        p[m - 1] = (char)++step;      /* touch each new end */
        n = m;
    }
    CHECK_EQ(n, (size_t)64 << 20);
    CHECK(test_holds(p, 16, 2));
    step = 0;
    for (size_t k = 32; k <= n; k *= 2) CHECK(p[k - 1] == (char)++step);
    CHECK(test_holds(keep, 64, 1));
    CHECK(arena_stats(&a).bytes_held >= n);
    /* shrink in place too */
    CHECK(arena_realloc(&a, p, n, 100) == p);
    CHECK(test_holds(p, 16, 2));
    CHECK(arena_stats(&a).bytes_used < 4096);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_virtual_exhausted) {
    Arena a;
    size_t reserve = (size_t)1 << 20;
    CHECK(arena_init_virtual(&a, reserve));
    char *p = (char *)alloc_filled(&a, 512 << 10, 3);
    size_t used = arena_stats(&a).bytes_used;
    CHECK(arena_alloc(&a, reserve) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(arena_realloc(&a, p, 512 << 10, 2 * reserve) == NULL);   /* the newest */
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK(test_holds(p, 512 << 10, 3));
    /* what is left still serves: grow the newest up to the end */
    char *q = (char *)arena_realloc(&a, p, 512 << 10, (900 << 10));
    CHECK(q == p);
    CHECK(test_holds(q, 512 << 10, 3));
    CHECK(arena_stats(&a).bytes_held <= reserve);
    void *r;
    int n = 0;
    while ((r = arena_alloc(&a, 1000)) != NULL && n < 1000) n++;
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(n > 0);
    CHECK(test_holds(q, 512 << 10, 3));
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_virtual_reset_release) {
    Arena a;
    CHECK(arena_init_virtual(&a, VIRT_RESERVE));
    defer_n = 0;
    char *first = (char *)arena_alloc(&a, 100);
    CHECK(first != NULL);
    CHECK(arena_defer(&a, defer_record, &defer_ids[7]));
    for (int i = 0; i < 500; i++) CHECK(arena_alloc(&a, 4000) != NULL);
    size_t held = arena_stats(&a).bytes_held;
    arena_reset(&a);
    CHECK_EQ(defer_n, 1);
    CHECK_EQ(arena_stats(&a).bytes_used, (size_t)0);
    CHECK(arena_stats(&a).bytes_held <= held);
    char *again = (char *)arena_alloc(&a, 100);
    CHECK(again == first);                      /* the same range again */
    test_fill(again, 100, 4);
    /* reset is warm: a cycle within what was committed commits nothing */
    for (int i = 0; i < 500; i++) CHECK(arena_alloc(&a, 4000) != NULL);
    arena_reset(&a);
    size_t grabs = arena_stats(&a).grab_count;
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < 500; i++) CHECK(arena_alloc(&a, 4000) != NULL);
        arena_reset(&a);
    }
    CHECK_EQ(arena_stats(&a).grab_count, grabs);
    /* marks and rewind */
    ArenaMark m = arena_mark(&a);
    char *x = (char *)arena_alloc(&a, 5000);
    CHECK(x != NULL);
    arena_rewind(&a, m);
    CHECK(arena_alloc(&a, 5000) == x);
    CHECK(arena_defer(&a, defer_record, &defer_ids[8]));
    arena_release(&a);
    CHECK_EQ(defer_n, 2);
    ArenaStats st = arena_stats(&a);
    CHECK_EQ(st.bytes_used, (size_t)0);
    CHECK_EQ(st.bytes_held, (size_t)0);
    CHECK_EQ(st.block_count, (size_t)0);
    /* works again after the release */
    char *p = (char *)alloc_filled(&a, 1000, 5);
    char *p2 = (char *)arena_alloc(&a, 1000);
    CHECK(p2 == p + span_of(1000));
    CHECK(test_holds(p, 1000, 5));
    arena_release(&a);
    CHECK_NO_ERR();
}

/* ---- growable arrays ---------------------------------------------------------- */

typedef ArenaArray(int) IntArray;

typedef struct Wide {
    double d;
    long long ll;
} Wide;
typedef ArenaArray(Wide) WideArray;

static IntArray int_array(void) {
    IntArray arr;
    memset(&arr, 0, sizeof arr);
    return arr;
}

/* Pushes the next index (arr->items[i] == i). */
static bool push_next(Arena *a, IntArray *arr) {
    int v = (int)arr->count;
    return arena_array_push(a, arr, v);
}

TEST(test_arena_array_push_many) {
    Arena a = zero_arena();
    IntArray arr = int_array();
    for (int i = 0; i < 100000; i++) {
        if (!arena_array_push(&a, &arr, i)) {
            CHECK(0);
            break;
        }
    }
    CHECK_EQ(arr.count, (size_t)100000);
    CHECK(arr.cap >= arr.count);
    CHECK(test_is_aligned(arr.items, ARENA_MIN_ALIGN));
    int ok = 1;
    for (int i = 0; i < 100000; i++) ok &= arr.items[i] == i;
    CHECK(ok);
    CHECK(arena_array_pop(&arr));
    CHECK_EQ(arr.count, (size_t)99999);
    CHECK_EQ(arr.items[arr.count], 99999);
    /* a wider element type stays aligned */
    WideArray w;
    memset(&w, 0, sizeof w);
    for (int i = 0; i < 1000; i++) {
        Wide v;
        v.d = i * 0.5;
        v.ll = i;
        CHECK(arena_array_push(&a, &w, v));
    }
    CHECK(test_is_aligned(w.items, ARENA_ALIGNOF(Wide)));
    CHECK(w.items[999].ll == 999 && w.items[10].d == 5.0);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_array_in_place_virtual) {
    Arena a;
    CHECK(arena_init_virtual(&a, VIRT_RESERVE));
    CHECK(arena_alloc(&a, 100) != NULL);
    IntArray arr = int_array();
    CHECK(arena_array_push(&a, &arr, 0));
    int *items = arr.items;
    int moved = 0;
    for (int i = 1; i < 100000; i++) {
        CHECK(arena_array_push(&a, &arr, i));
        moved |= arr.items != items;
    }
    CHECK(!moved);                              /* the newest: never moves */
    CHECK(arr.items == items);
    int ok = 1;
    for (int i = 0; i < 100000; i++) ok &= arr.items[i] == i;
    CHECK(ok);
    /* in place means no copies: the array's footprint is its capacity */
    CHECK(arena_stats(&a).bytes_used <= span_of(100) + span_of(arr.cap * sizeof(int)));
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_array_in_place_heap) {
    /* on blocks from the source, too, while a growth fits in the block */
    Arena a;
    ArenaOptions o = zero_opts();
    o.block_size = (size_t)1 << 20;
    arena_init(&a, &o);
    IntArray arr = int_array();
    CHECK(arena_array_push(&a, &arr, 0));
    int *items = arr.items;
    int moved = 0;
    for (int i = 1; i < 100000; i++) {   /* 400 KB: fits a 1 MiB block */
        CHECK(arena_array_push(&a, &arr, i));
        moved |= arr.items != items;
    }
    CHECK(!moved);
    CHECK_EQ(arena_stats(&a).grab_count, (size_t)1);
    int ok = 1;
    for (int i = 0; i < 100000; i++) ok &= arr.items[i] == i;
    CHECK(ok);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_array_interleaved) {
    Arena a = zero_arena();
    IntArray arr = int_array();
    for (int i = 0; i < 100; i++) CHECK(arena_array_push(&a, &arr, i));
    while (arr.count < arr.cap) CHECK(push_next(&a, &arr));
    int *before = arr.items;
    char *other = (char *)arena_alloc(&a, 16);   /* now the array is not the newest */
    CHECK(other != NULL);
    test_fill(other, 16, 6);
    CHECK(push_next(&a, &arr));   /* must grow: copies */
    CHECK(arr.items != before);
    CHECK(!in_range(other, 16, arr.items, arr.cap * sizeof(int)));
    int ok = 1;
    for (size_t i = 0; i < arr.count; i++) ok &= arr.items[i] == (int)i;
    CHECK(ok);
    CHECK(test_holds(other, 16, 6));
    /* the copy is the newest now: it grows in place again */
    while (arr.count < arr.cap) CHECK(push_next(&a, &arr));
    int *copy = arr.items;
    CHECK(push_next(&a, &arr));
    CHECK(arr.items == copy);
    /* interleave many times */
    for (int round = 0; round < 50; round++) {
        char *x = (char *)arena_alloc(&a, 8);
        CHECK(x != NULL);
        for (int i = 0; i < 300; i++) CHECK(push_next(&a, &arr));
    }
    ok = 1;
    for (size_t i = 0; i < arr.count; i++) ok &= arr.items[i] == (int)i;
    CHECK(ok);
    CHECK(test_holds(other, 16, 6));
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_array_reserve) {
    Arena a = zero_arena();
    IntArray arr = int_array();
    CHECK(arena_array_reserve(&a, &arr, 1000));
    CHECK(arr.cap - arr.count >= 1000);
    CHECK(arr.items != NULL);
    CHECK_EQ(arr.count, (size_t)0);
    int *items = arr.items;
    for (int i = 0; i < 1000; i++) {   /* within the reservation: never moves */
        CHECK(arena_alloc(&a, 24) != NULL);
        CHECK(arena_array_push(&a, &arr, i));
    }
    CHECK(arr.items == items);
    size_t none = 0;
    CHECK(arena_array_reserve(&a, &arr, none));   /* a no-op */
    CHECK(arr.items == items);
    CHECK(arena_array_reserve(&a, &arr, 5000));
    CHECK(arr.cap - arr.count >= 5000);
    int ok = 1;
    for (int i = 0; i < 1000; i++) ok &= arr.items[i] == i;
    CHECK(ok);
    CHECK_NO_ERR();
    /* overflowing reservations fail and leave the array alone */
    size_t count = arr.count, cap = arr.cap;
    int *cur = arr.items;
    CHECK(!arena_array_reserve(&a, &arr, SIZE_MAX));
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(!arena_array_reserve(&a, &arr, SIZE_MAX / sizeof(int)));
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(!arena_array_reserve(&a, &arr, SIZE_MAX - arr.count + 1));
    CHECK_ERR1(ARENA_ERR_OVERFLOW);
    CHECK(arr.items == cur && arr.count == count && arr.cap == cap);
    ok = 1;
    for (int i = 0; i < 1000; i++) ok &= arr.items[i] == i;
    CHECK(ok);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_array_fail_buffer) {
    Arena a;
    CHECK(arena_init_buffer(&a, gbuf.bytes, 4096));
    IntArray arr = int_array();
    int i = 0;
    while (i < 100000 && arena_array_push(&a, &arr, i)) i++;
    CHECK(i < 100000);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(arr.count, (size_t)i);
    CHECK(arr.cap >= arr.count);
    CHECK(in_range(arr.items, arr.cap * sizeof(int), gbuf.bytes, 4096));
    int ok = 1;
    for (int k = 0; k < i; k++) ok &= arr.items[k] == k;
    CHECK(ok);
    /* failing again changes nothing either */
    CHECK(!arena_array_push(&a, &arr, -1));
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(arr.count, (size_t)i);
    CHECK(!arena_array_reserve(&a, &arr, 100000));
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK_EQ(arr.count, (size_t)i);
    ok = 1;
    for (int k = 0; k < i; k++) ok &= arr.items[k] == k;
    CHECK(ok);
    arena_release(&a);

    /* a copy that fails: the array is not the newest and there is no room */
    CHECK(arena_init_buffer(&a, gbuf.bytes, 4096));
    IntArray b = int_array();
    for (int k = 0; k < 200; k++) CHECK(arena_array_push(&a, &b, k));
    while (b.count < b.cap) CHECK(push_next(&a, &b));
    size_t cnt = b.count;
    int *items = b.items;
    fill_up(&a, 64);
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(!arena_array_push(&a, &b, 7));
    CHECK_ERR1(ARENA_ERR_OOM);
    CHECK(b.items == items && b.count == cnt);
    ok = 1;
    for (size_t k = 0; k < cnt; k++) ok &= b.items[k] == (int)k;
    CHECK(ok);
    arena_release(&a);
    CHECK_NO_ERR();
}

/* ---- debug fill patterns ----------------------------------------------------- */

#if ARENA__FILL_FRESH
TEST(test_arena_debug_fill) {
    /* fresh memory carries one non-zero pattern */
    Arena a = zero_arena();
    unsigned char *p = (unsigned char *)arena_alloc(&a, 64);
    CHECK(p != NULL);
    unsigned char fresh = p[0];
    CHECK(fresh != 0);
    CHECK(all_bytes(p, 64, fresh));
    unsigned char *q = (unsigned char *)arena_realloc(&a, p, 64, 128);   /* in place */
    CHECK(q == p);
    CHECK(all_bytes(q + 64, 64, fresh));
#if !ARENA__ASAN && !defined(ARENA_VALGRIND)
    /* freed memory (still the arena's, so readable without a sanitizer)
       carries a different one */
    ArenaMark m = arena_mark(&a);
    unsigned char *r = (unsigned char *)arena_alloc(&a, 64);
    CHECK(r != NULL);
    memset(r, 0, 64);
    arena_rewind(&a, m);
    CHECK(r[0] != fresh && r[0] != 0);
    CHECK(all_bytes(r, 64, r[0]));
#endif
    arena_release(&a);
    CHECK_NO_ERR();
}
#endif

/* An optimised build is a release build, NDEBUG or not (DESIGN.md): no
   fill, and (without a sanitizer) the inline fast paths. Memory handed out
   again after a rewind still holds what was written there. */
TEST(test_arena_optimised_is_release) {
#if defined(__OPTIMIZE__)
    CHECK_EQ(ARENA_DEBUG_FILL, 0);
#if !ARENA__ASAN && !defined(ARENA_VALGRIND)
    CHECK_EQ(ARENA__CHECKED, 0);
    Arena a = zero_arena();
    ArenaMark m = arena_mark(&a);
    unsigned char *p = (unsigned char *)arena_alloc(&a, 64);
    CHECK(p != NULL);
    memset(p, 0x11, 64);
    arena_rewind(&a, m);
    unsigned char *q = (unsigned char *)arena_alloc(&a, 64);
    CHECK(q == p);
    CHECK(all_bytes(q, 64, 0x11));
    arena_release(&a);
#endif
#endif
    CHECK_NO_ERR();
}

/* ---- the error handler ------------------------------------------------------ */

typedef struct HandlerLog {
    int calls;
    ArenaError last;
} HandlerLog;
static void my_handler(ArenaError err, const char *msg, void *ctx) {
    HandlerLog *log = (HandlerLog *)ctx;
    (void)msg;
    log->calls++;
    log->last = err;
}

TEST(test_arena_error_handler) {
    HandlerLog log;
    memset(&log, 0, sizeof log);
    ArenaErrorFn prev = arena_set_error_handler(my_handler, &log);
    CHECK(prev != NULL);                       /* the runner's capturing one */
    Arena a = zero_arena();
    CHECK(arena_alloc(&a, SIZE_MAX) == NULL);
    CHECK_EQ(log.calls, 1);
    CHECK(log.last == ARENA_ERR_OVERFLOW);
    CHECK(arena_alloc_aligned(&a, 8, 3) == NULL);
    CHECK_EQ(log.calls, 2);
    CHECK(log.last == ARENA_ERR_ALIGN);
    CHECK_EQ(test_err.calls, 0);               /* the old handler saw nothing */
    CHECK(arena_set_error_handler(NULL, NULL) == my_handler);
    /* no handler: allocation failures just return NULL */
    Arena b;
    CHECK(arena_init_buffer(&b, gbuf.bytes, 256));
    int tries = 0;
    while (tries < 1000 && arena_alloc(&b, 16)) tries++;
    CHECK(tries < 1000);
    CHECK(arena_alloc(&b, 100000) == NULL);
    CHECK(arena_alloc(&a, SIZE_MAX) == NULL);
    arena_release(&b);
    CHECK_EQ(log.calls, 2);
    CHECK(arena_set_error_handler(prev, NULL) == NULL);
    arena_release(&a);
    CHECK_NO_ERR();
}

TEST(test_arena_virtual_default_and_huge) {
    Arena a;
    /* the default reservation (large; a tool like Valgrind may refuse it) */
    if (arena_init_virtual(&a, 0)) {
        CHECK_NO_ERR();
        char *p = (char *)alloc_filled(&a, 1000, 1);
        CHECK(arena_realloc(&a, p, 1000, (size_t)8 << 20) == p);
        CHECK(test_holds(p, 1000, 1));
        arena_release(&a);
    } else {
        CHECK_ERR1(ARENA_ERR_OOM);
        CHECK(arena_alloc(&a, 10) == NULL);
        CHECK_EQ(test_err.calls, 1);
        test_err_clear();
        arena_release(&a);
    }
    CHECK_NO_ERR();
    /* an impossible reservation fails cleanly, and so do allocations */
    CHECK(!arena_init_virtual(&a, SIZE_MAX));
    CHECK_EQ(test_err.calls, 1);
    CHECK(test_err.last == ARENA_ERR_OOM || test_err.last == ARENA_ERR_OVERFLOW);
    test_err_clear();
    CHECK(arena_alloc(&a, 10) == NULL);
    CHECK_ERR1(ARENA_ERR_OOM);
    arena_release(&a);
    CHECK_NO_ERR();
}

/* ---- the suite ---------------------------------------------------------------- */

void suite_arena(void);
void suite_arena(void) {
    RUN(test_arena_zero_init);
    RUN(test_arena_init_null_opts);
    RUN(test_arena_init_block_size);
    RUN(test_arena_init_max_block_size);
    RUN(test_arena_init_tiny_options);
    RUN(test_arena_init_source_used);
    RUN(test_arena_alloc_alignment);
    RUN(test_arena_alloc_zero_size);
    RUN(test_arena_alloc_no_overlap);
    RUN(test_arena_alloc_exact_fit);
    RUN(test_arena_alloc_overflow);
    RUN(test_arena_alloc_large_own_block);
    RUN(test_arena_alloc_aligned_powers);
    RUN(test_arena_alloc_aligned_bad);
    RUN(test_arena_alloc_aligned_huge);
    RUN(test_arena_calloc_zeroed);
    RUN(test_arena_calloc_overflow);
    RUN(test_arena_new);
    RUN(test_arena_new_array_overflow);
    RUN(test_arena_realloc_null);
    RUN(test_arena_realloc_last_in_place);
    RUN(test_arena_realloc_not_last_copies);
    RUN(test_arena_realloc_foreign);
    RUN(test_arena_realloc_beyond_block);
    RUN(test_arena_realloc_overflow);
    RUN(test_arena_strdup);
    RUN(test_arena_strndup);
    RUN(test_arena_memdup);
    RUN(test_arena_mark_rewind);
    RUN(test_arena_rewind_across_blocks);
    RUN(test_arena_rewind_loop_settles);
    RUN(test_arena_rewind_other_arena);
    RUN(test_arena_rewind_stale_mark);
    RUN(test_arena_rewind_stale_mark_regrown);
    RUN(test_arena_rewind_stale_mark_after_shrink);
    RUN(test_arena_rewind_stale_mark_after_many_rewinds);
    RUN(test_arena_marks_model_valid);
    RUN(test_arena_marks_model_stale);
    RUN(test_arena_marks_lifo_records);
    RUN(test_arena_marks_lifo_walk);
    RUN(test_arena_rewind_after_reset);
    RUN(test_arena_temp);
    RUN(test_arena_defer_reset);
    RUN(test_arena_defer_release);
    RUN(test_arena_defer_rewind);
    RUN(test_arena_defer_ctx_in_arena);
    RUN(test_arena_defer_null_fn);
    RUN(test_arena_reset_keeps_memory);
    RUN(test_arena_reset_keeps_memory_malloc);
    RUN(test_arena_reset_keep_bytes);
    RUN(test_arena_reset_alternating_frames_warm);
    RUN(test_arena_reset_gives_back_after_cycles);
    RUN(test_arena_reset_one_off_huge_given_back);
    RUN(test_arena_reset_oversized_every_cycle_warm);
    RUN(test_arena_virtual_keeps_recent_peak);
    RUN(test_arena_release_returns_all);
    RUN(test_arena_stats);
    RUN(test_arena_stats_peak_after_shrink);
    RUN(test_arena_source_fail_kth);
    RUN(test_arena_source_fail_first);
    RUN(test_arena_max_bytes);
    RUN(test_arena_buffer_basic);
    RUN(test_arena_buffer_mixed_calls);
    RUN(test_arena_buffer_null);
    RUN(test_arena_buffer_misaligned);
    RUN(test_arena_buffer_too_small);
    RUN(test_arena_buffer_release_reuse);
    RUN(test_arena_virtual_contiguous);
    RUN(test_arena_virtual_realloc_grows_in_place);
    RUN(test_arena_virtual_exhausted);
    RUN(test_arena_virtual_reset_release);
    RUN(test_arena_virtual_default_and_huge);
    RUN(test_arena_array_push_many);
    RUN(test_arena_array_in_place_virtual);
    RUN(test_arena_array_in_place_heap);
    RUN(test_arena_array_interleaved);
    RUN(test_arena_array_reserve);
    RUN(test_arena_array_fail_buffer);
#if ARENA__FILL_FRESH
    RUN(test_arena_debug_fill);
#endif
    RUN(test_arena_optimised_is_release);
    RUN(test_arena_error_handler);
}
