/* test_pool_heap.c - pool.h's PoolHeap: every size from 0 past the largest
   class, alignment and the waste bound, checked frees (double, foreign,
   interior, stray: one ARENA_ERR_MISUSE each, nothing changed), realloc's
   edges (NULL, 0, in place, across classes and to large blocks, SIZE_MAX,
   failure leaving p intact), calloc, the one cap and its recovery across
   size classes, failing sources, blocks that share an index chunk, reset,
   release, the statistics, and a random run against a shadow copy.

   Written in the common subset of C99 and C++11 (no `= {0}`: C++ warns
   about missing initializers, so a zeroed heap comes from memset). */
#include <stdlib.h>
#include "test.h"
#include "../pool.h"

void suite_pool_heap(void);

/* POOL_UNCHECKED release builds trust the small classes' frees. */
#if defined(POOL_UNCHECKED) && !ARENA__CHECKED
#define PH_FREE_CHECKED 0
#else
#define PH_FREE_CHECKED 1
#endif

/* What `PoolHeap h = {0};` gives. */
static PoolHeap ph_zero(void) {
    PoolHeap h;
    memset(&h, 0, sizeof h);
    return h;
}

/* A heap on s (NULL: malloc), capped at cap (0: no cap). */
static void ph_init(PoolHeap *h, TestSource *s, size_t cap) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    if (s) o.source = test_source(s);
    o.max_bytes = cap;
    pool_heap_init(h, &o);
}

/* Sizes that cross every class boundary and the large threshold. */
static const size_t ph_sizes[] = {0, 1, 15, 16, 17, 31, 48, 100, 127, 128, 129, 160, 161,
                                  255, 256, 257, 1000, 1024, 1025, 4096, 5000, 8191, 8192,
                                  8193, 9000, 16384, 100000, 1 << 20};
#define PH_NSIZES (sizeof ph_sizes / sizeof ph_sizes[0])

/* Allocates every size of ph_sizes, each filled with its own pattern. */
static void ph_alloc_sizes(PoolHeap *h, void **p) {
    size_t i;
    for (i = 0; i < PH_NSIZES; i++) {
        p[i] = pool_heap_alloc(h, ph_sizes[i]);
        CHECK(p[i] != NULL);
        if (p[i]) test_fill(p[i], ph_sizes[i], (unsigned)i);
    }
}

static int ph_all_intact(void **p) {
    size_t i;
    for (i = 0; i < PH_NSIZES; i++)
        if (!test_intact(p[i], ph_sizes[i], (unsigned)i)) return 0;
    return 1;
}

/* ---- sizes, alignment, waste ---------------------------------------------- */

TEST(heap_zero_initialised_every_size) {
    PoolHeap h = ph_zero();
    void *p[PH_NSIZES];
    size_t i, live = 0;
    ph_alloc_sizes(&h, p);
    CHECK_NO_ERR();
    for (i = 0; i < PH_NSIZES; i++) {
        CHECK(test_is_aligned(p[i], ARENA_MIN_ALIGN));
        CHECK(pool_heap_size(&h, p[i]) >= ph_sizes[i]);
        CHECK(pool_heap_size(&h, p[i]) > 0);
        live += pool_heap_size(&h, p[i]);
    }
    CHECK(ph_all_intact(p));
    CHECK_EQ(pool_heap_stats(&h).live_count, PH_NSIZES);
    CHECK_EQ(pool_heap_stats(&h).live_bytes, live);
    for (i = 0; i < PH_NSIZES; i++) CHECK(pool_heap_free(&h, p[i]));
    CHECK_NO_ERR();
    CHECK_EQ(pool_heap_stats(&h).live_count, 0);
    CHECK_EQ(pool_heap_stats(&h).live_bytes, 0);
    CHECK_EQ(pool_heap_stats(&h).peak_bytes, live);
    pool_heap_release(&h);
    CHECK_EQ(pool_heap_stats(&h).bytes_held, 0);
}

/* Above 128 bytes a class is less than 1.25x the request (waste under a
   fifth of the class); up to 128, less than 16 bytes more. */
TEST(heap_waste_bound) {
    PoolHeap h = ph_zero();
    size_t size, worst_num = 0, worst_den = 1;
    for (size = 1; size <= POOL_HEAP_MAX_CLASS; size++) {
        void *p = pool_heap_alloc(&h, size);
        size_t got = pool_heap_size(&h, p);
        CHECK(got >= size);
        if (size <= 128) CHECK(got - size < 16);
        else CHECK(4 * got < 5 * size);
        if (size > 128 && (got - size) * worst_den > worst_num * got) worst_num = got - size, worst_den = got;
        CHECK(pool_heap_free(&h, p));
    }
    CHECK(worst_num * 5 < worst_den);
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

TEST(heap_alignment_every_class) {
    PoolHeap h = ph_zero();
    size_t size;
    for (size = 1; size <= 3 * POOL_HEAP_MAX_CLASS; size += 7) {
        void *p = pool_heap_alloc(&h, size);
        CHECK(p != NULL && test_is_aligned(p, ARENA_MIN_ALIGN));
    }
    CHECK_NO_ERR();
    pool_heap_release(&h);
    CHECK_EQ(pool_heap_stats(&h).live_count, 0);
}

TEST(heap_huge_sizes) {
    PoolHeap h = ph_zero();
    CHECK(pool_heap_alloc(&h, SIZE_MAX) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(pool_heap_alloc(&h, SIZE_MAX - 64) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(pool_heap_calloc(&h, SIZE_MAX / 2, 3) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(pool_heap_calloc(&h, 3, SIZE_MAX / 2) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK_EQ(pool_heap_stats(&h).live_count, 0);
    pool_heap_release(&h);
}

TEST(heap_calloc_zeroes_reused_memory) {
    PoolHeap h = ph_zero();
    size_t i;
    for (i = 0; i < PH_NSIZES; i++) {
        unsigned char *p = (unsigned char *)pool_heap_alloc(&h, ph_sizes[i]), *q;
        size_t j;
        if (ph_sizes[i]) memset(p, 0xAB, ph_sizes[i]);
        pool_heap_free(&h, p);
        q = (unsigned char *)pool_heap_calloc(&h, 1, ph_sizes[i]);
        CHECK(q != NULL);
        for (j = 0; j < ph_sizes[i]; j++) CHECK(q[j] == 0);
        pool_heap_free(&h, q);
    }
    CHECK(pool_heap_calloc(&h, 0, 5) != NULL);
    CHECK(pool_heap_calloc(&h, 5, 0) != NULL);
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

/* ---- checked frees -------------------------------------------------------- */

/* A refused free: one MISUSE, false, nothing changed. */
static void ph_refused(PoolHeap *h, void *bad, void **live) {
    PoolHeapStats before = pool_heap_stats(h);
    CHECK(!pool_heap_free(h, bad));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(pool_heap_stats(h).live_count, before.live_count);
    CHECK_EQ(pool_heap_stats(h).live_bytes, before.live_bytes);
    CHECK(ph_all_intact(live));
}

TEST(heap_free_null) {
    PoolHeap h = ph_zero();
    CHECK(pool_heap_free(&h, NULL));
    CHECK(pool_heap_alloc(&h, 10) != NULL);
    CHECK(pool_heap_free(&h, NULL));
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

TEST(heap_double_free) {
    PoolHeap h = ph_zero();
    void *p[PH_NSIZES];
    size_t i;
    if (!PH_FREE_CHECKED) return;
    for (i = 0; i < PH_NSIZES; i++) {
        void *x = pool_heap_alloc(&h, ph_sizes[i]);
        ph_alloc_sizes(&h, p);
        CHECK(pool_heap_free(&h, x));
        ph_refused(&h, x, p);
        CHECK_EQ(pool_heap_size(&h, x), 0);
        pool_heap_reset(&h);
    }
    pool_heap_release(&h);
}

TEST(heap_foreign_and_stray_pointers) {
    PoolHeap h = ph_zero(), other = ph_zero();
    void *p[PH_NSIZES];
    int local = 0;
    void *m = malloc(64), *o_small = pool_heap_alloc(&other, 32), *o_large = pool_heap_alloc(&other, 20000);
    ph_alloc_sizes(&h, p);
    ph_refused(&h, &local, p);
    ph_refused(&h, m, p);
    ph_refused(&h, o_small, p);
    ph_refused(&h, o_large, p);
    ph_refused(&h, (void *)(uintptr_t)16, p);
    ph_refused(&h, (void *)(uintptr_t)4096, p);
    ph_refused(&h, (void *)(~(uintptr_t)0 - 15), p);
    ph_refused(&h, (void *)(~(uintptr_t)0 & ~(uintptr_t)8191), p);
    CHECK_EQ(pool_heap_size(&h, &local), 0);
    CHECK_EQ(pool_heap_size(&h, o_small), 0);
    CHECK(pool_heap_free(&other, o_small) && pool_heap_free(&other, o_large));
    free(m);
    pool_heap_release(&h);
    pool_heap_release(&other);
}

TEST(heap_interior_pointers) {
    PoolHeap h = ph_zero();
    void *p[PH_NSIZES];
    size_t i;
    ph_alloc_sizes(&h, p);
    for (i = 0; i < PH_NSIZES; i++) {
        size_t got = pool_heap_size(&h, p[i]), offs[3], k;
        offs[0] = 1;
        offs[1] = got > ARENA_MIN_ALIGN ? ARENA_MIN_ALIGN : 1;   /* past the end: the next object */
        offs[2] = got > 1 ? got - 1 : 1;
        for (k = 0; k < 3; k++) {
            char *bad = (char *)p[i] + offs[k];
            CHECK_EQ(pool_heap_size(&h, bad), 0);
            if (PH_FREE_CHECKED || ph_sizes[i] > POOL_HEAP_MAX_CLASS) ph_refused(&h, bad, p);
        }
        /* just before: a header or another object's tail, never this one */
        if (PH_FREE_CHECKED || ph_sizes[i] > POOL_HEAP_MAX_CLASS) {
            ph_refused(&h, (char *)p[i] - 8, p);
        }
    }
    for (i = 0; i < PH_NSIZES; i++) CHECK(pool_heap_free(&h, p[i]));
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

/* Pointers anywhere in the classes' reservation (64-bit, on the OS): in
   the part of a class that has no pool, past what a class carved or
   committed, at the reservation's ends. None is read; each is refused
   once (POOL_UNCHECKED: only where no class has a pool). After a release the reservation is gone and comes back on use. */
TEST(heap_reservation_pointers) {
    PoolHeap h = ph_zero();
    void *p[PH_NSIZES];
    char *base, *part2, *x = (char *)pool_heap_alloc(&h, 40);   /* class 2 */
    size_t part, k;
    char *bad[6];
    ph_alloc_sizes(&h, p);
    if (!h.vm_span) {   /* 32-bit, ARENA_NO_VIRTUAL, or no address space: block classes */
        CHECK(pool_heap_free(&h, x));
        pool_heap_release(&h);
        return;
    }
    base = (char *)h.vm_base;
    part = (size_t)1 << h.vm_shift;
    part2 = base + 2 * part;
    CHECK(x >= part2 && x < part2 + part);
    bad[0] = base + 4 * part + 64;          /* a class no size here uses (80 B) */
    bad[1] = base + h.vm_span - 16;         /* the reservation's last bytes */
    bad[2] = base;                          /* its first */
    bad[3] = part2 + part - 64;             /* class 2's part, never committed */
    bad[4] = x + 48 * 64;                   /* class 2's, committed, not carved */
    bad[5] = base + 2 * part - 16;          /* the end of class 1's part */
    for (k = 0; k < 6; k++) {
        if (!PH_FREE_CHECKED && k > 0) continue;   /* in a class with a pool: trusted */
        CHECK_EQ(pool_heap_size(&h, bad[k]), 0);
        ph_refused(&h, bad[k], p);
        CHECK(pool_heap_realloc(&h, bad[k], 8) == NULL);
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    CHECK_EQ(pool_heap_size(&h, x), 48);
    CHECK(pool_heap_free(&h, x));
    CHECK_EQ(pool_heap_size(&h, x), 0);
    pool_heap_release(&h);
    CHECK_EQ(h.vm_span, 0);
    CHECK_EQ(pool_heap_stats(&h).bytes_held, 0);
    ph_alloc_sizes(&h, p);
    CHECK(h.vm_span != 0);
    CHECK(ph_all_intact(p));
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

/* ---- realloc -------------------------------------------------------------- */

TEST(heap_realloc_null_and_zero) {
    PoolHeap h = ph_zero();
    void *p = pool_heap_realloc(&h, NULL, 40), *q;
    CHECK(p != NULL && pool_heap_size(&h, p) >= 40);
    test_fill(p, 10, 3);
    q = pool_heap_realloc(&h, p, 0);
    CHECK(q != NULL);
    CHECK(pool_heap_size(&h, q) > 0);
    CHECK(test_holds(q, 0, 3));
    CHECK(pool_heap_realloc(&h, NULL, 0) != NULL);
    CHECK_EQ(pool_heap_stats(&h).live_count, 2);
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

TEST(heap_realloc_in_place_within_class) {
    PoolHeap h = ph_zero();
    void *p = pool_heap_alloc(&h, 130), *big = pool_heap_alloc(&h, 10000);
    size_t room = pool_heap_size(&h, p), broom = pool_heap_size(&h, big);
    test_fill(p, 130, 1);
    CHECK(pool_heap_realloc(&h, p, room) == p);          /* grows in its class */
    CHECK(pool_heap_realloc(&h, p, room / 2 + 1) == p);  /* shrinks a little */
    CHECK(test_holds(p, room / 2 + 1, 1));
    CHECK(pool_heap_realloc(&h, big, broom) == big);
    CHECK(pool_heap_realloc(&h, big, broom - 100) == big);
    CHECK_EQ(pool_heap_stats(&h).live_count, 2);
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

/* Grows and shrinks through every size, small to large and back: the
   contents up to the smaller size always survive. */
TEST(heap_realloc_across_classes) {
    PoolHeap h = ph_zero();
    size_t i, j;
    for (i = 0; i < PH_NSIZES; i++) {
        for (j = 0; j < PH_NSIZES; j++) {
            size_t a = ph_sizes[i], b = ph_sizes[j];
            void *p = pool_heap_alloc(&h, a), *q;
            test_fill(p, a, (unsigned)(i * 31 + j));
            q = pool_heap_realloc(&h, p, b);
            CHECK(q != NULL);
            CHECK(pool_heap_size(&h, q) >= b);
            CHECK(test_intact(q, a < b ? a : b, (unsigned)(i * 31 + j)));
            CHECK(pool_heap_free(&h, q));
            CHECK_EQ(pool_heap_stats(&h).live_count, 0);
        }
    }
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

/* A big shrink moves to a smaller class (waste stays bounded) when it can
   without calling the source. */
TEST(heap_realloc_shrink_moves) {
    PoolHeap h = ph_zero();
    void *warm = pool_heap_alloc(&h, 20), *p = pool_heap_alloc(&h, 4000), *q;
    test_fill(p, 20, 9);
    q = pool_heap_realloc(&h, p, 20);
    CHECK(q != p);
    CHECK(pool_heap_size(&h, q) < 64);
    CHECK(test_holds(q, 20, 9));
    p = pool_heap_alloc(&h, 1 << 20);
    test_fill(p, 100, 4);
    q = pool_heap_realloc(&h, p, 9000);
    CHECK(pool_heap_size(&h, q) < (1 << 19));
    CHECK(test_holds(q, 100, 4));
    CHECK(pool_heap_free(&h, warm));
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

TEST(heap_realloc_failure_leaves_p) {
    PoolHeap h = ph_zero();
    size_t i;
    void *p;
    CHECK(pool_heap_realloc(&h, NULL, SIZE_MAX) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    for (i = 0; i < PH_NSIZES; i++) {
        p = pool_heap_alloc(&h, ph_sizes[i]);
        test_fill(p, ph_sizes[i], 5);
        CHECK(pool_heap_realloc(&h, p, SIZE_MAX) == NULL);
        CHECK_ERR(ARENA_ERR_OVERFLOW);
        CHECK(pool_heap_size(&h, p) >= ph_sizes[i]);
        CHECK(test_intact(p, ph_sizes[i], 5));
        CHECK(pool_heap_free(&h, p));
    }
    pool_heap_release(&h);
    /* at the cap */
    ph_init(&h, NULL, 256 << 10);
    p = pool_heap_alloc(&h, 100);
    test_fill(p, 100, 6);
    CHECK(pool_heap_realloc(&h, p, 1 << 20) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(test_intact(p, 100, 6));
    CHECK_EQ(pool_heap_size(&h, p), (size_t)112);
    CHECK_EQ(pool_heap_stats(&h).live_count, 1);
    CHECK(pool_heap_free(&h, p));
    pool_heap_release(&h);
}

TEST(heap_realloc_misuse) {
    PoolHeap h = ph_zero();
    void *p = pool_heap_alloc(&h, 50), *big = pool_heap_alloc(&h, 50000);
    int local;
    CHECK(pool_heap_realloc(&h, &local, 10) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(pool_heap_realloc(&h, (char *)big + 16, 10) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(pool_heap_free(&h, p));
    if (PH_FREE_CHECKED) {
        CHECK(pool_heap_realloc(&h, p, 10) == NULL);
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    CHECK_EQ(pool_heap_stats(&h).live_count, 1);
    pool_heap_release(&h);
}

/* ---- the cap, sources ------------------------------------------------------- */

/* Fills the heap with objects of `size` until the cap refuses; returns how
   many. */
static size_t ph_fill(PoolHeap *h, size_t size, void **objs, size_t max) {
    size_t n = 0, grabs = pool_heap_stats(h).grab_count;
    while (n < max && (objs[n] = pool_heap_alloc(h, size)) != NULL) {
        /* a class that gives its memory back keeps its grabs in the count */
        CHECK(pool_heap_stats(h).grab_count >= grabs);
        grabs = pool_heap_stats(h).grab_count;
        n++;
    }
    CHECK(n < max);
    CHECK_ERR(ARENA_ERR_OOM);
    return n;
}

TEST(heap_cap_is_shared_and_recovers) {
    enum { CAP = 2 << 20, MAX = 100000 };
    PoolHeap h;
    void **objs = (void **)malloc(MAX * sizeof *objs);
    size_t n, i, size;
    ph_init(&h, NULL, CAP);
    /* one class takes (nearly) the whole cap ... */
    n = ph_fill(&h, 100, objs, MAX);
    CHECK(n * 112 > CAP / 2);
    CHECK(pool_heap_stats(&h).bytes_held <= CAP);
    /* ... then, freed, serves other classes and large blocks */
    for (i = 0; i < n; i++) CHECK(pool_heap_free(&h, objs[i]));
    for (size = 24; size <= 40000; size *= 3) {
        n = ph_fill(&h, size, objs, MAX);
        CHECK(n * pool_heap_size(&h, objs[0]) > CAP / 4);   /* much of the cap (ASan: redzones and headers) */
        CHECK(pool_heap_stats(&h).bytes_held <= CAP);
        for (i = 0; i < n; i++) CHECK(pool_heap_free(&h, objs[i]));
    }
    CHECK_NO_ERR();
    CHECK_EQ(pool_heap_stats(&h).live_count, 0);
    pool_heap_release(&h);
    free(objs);
}

TEST(heap_source_accounting) {
    TestSource s;
    PoolHeap h;
    void *p[PH_NSIZES];
    size_t i;
    test_source_init(&s);
    ph_init(&h, &s, 0);
    ph_alloc_sizes(&h, p);
    CHECK_EQ(pool_heap_stats(&h).bytes_held, s.bytes_out);
    CHECK_EQ(pool_heap_stats(&h).grab_count, s.grabs);
    /* a large block goes back on free */
    i = s.drops;
    CHECK(pool_heap_free(&h, p[PH_NSIZES - 1]));
    CHECK_EQ(s.drops, i + 1);
    CHECK_EQ(pool_heap_stats(&h).bytes_held, s.bytes_out);
    pool_heap_release(&h);
    CHECK_EQ(s.live, 0);
    CHECK_EQ(s.bytes_out, 0);
    CHECK_EQ(s.bad_drops, 0);
    CHECK_EQ(pool_heap_stats(&h).bytes_held, 0);
    /* usable again, on the same source */
    ph_alloc_sizes(&h, p);
    CHECK(ph_all_intact(p));
    pool_heap_release(&h);
    CHECK_EQ(s.live, 0);
    CHECK_NO_ERR();
}

/* Every grab failing in turn: each call succeeds or fails with one OOM,
   and nothing already allocated is lost. */
TEST(heap_source_failures) {
    size_t k;
    for (k = 1; k < 40; k++) {
        TestSource s;
        PoolHeap h;
        void *p[PH_NSIZES];
        size_t i;
        test_source_init(&s);
        s.fail_at = k;
        ph_init(&h, &s, 0);
        for (i = 0; i < PH_NSIZES; i++) {
            p[i] = pool_heap_alloc(&h, ph_sizes[i]);
            if (p[i]) {
                test_fill(p[i], ph_sizes[i], (unsigned)i);
                CHECK_NO_ERR();
            } else {
                CHECK_ERR(ARENA_ERR_OOM);
            }
        }
        for (i = 0; i < PH_NSIZES; i++) {
            if (!p[i]) continue;
            CHECK(test_intact(p[i], ph_sizes[i], (unsigned)i));
            CHECK(pool_heap_free(&h, p[i]));
        }
        CHECK_NO_ERR();
        pool_heap_release(&h);
        CHECK_EQ(s.live, 0);
        CHECK_EQ(s.bad_drops, 0);
    }
}

/* A source that packs blocks back to back (16-byte aligned, not chunk
   aligned): the end of one block and the start of the next share an index
   chunk, and pointers on either side must reach the right owner. */
typedef struct PhPacked {
    char *buf;
    size_t used, size;
} PhPacked;

static void *ph_packed_grab(void *ctx, size_t size) {
    PhPacked *s = (PhPacked *)ctx;
    size_t at = (s->used + 15) & ~(size_t)15;
    if (at == 0) at = 48;   /* not chunk aligned */
    if (at > s->size || size > s->size - at) return NULL;
    s->used = at + size;
    return s->buf + at;
}

static void ph_packed_drop(void *ctx, void *block, size_t size) {
    (void)ctx; (void)block; (void)size;
}

/* A heap on a packed source of `size` bytes, capped at cap (0: none). */
static void ph_init_packed(PoolHeap *h, PhPacked *s, size_t size, size_t cap) {
    ArenaOptions o;
    s->size = size;
    s->buf = (char *)malloc(size);
    s->used = 0;
    memset(&o, 0, sizeof o);
    o.source.grab = ph_packed_grab;
    o.source.drop = ph_packed_drop;
    o.source.ctx = s;
    o.max_bytes = cap;
    pool_heap_init(h, &o);
}

TEST(heap_blocks_sharing_a_chunk) {
    PhPacked s;
    PoolHeap h;
    void *big[6], *small[400];
    size_t i;
    ph_init_packed(&h, &s, 8 << 20, 0);
    for (i = 0; i < 400; i++) {
        small[i] = pool_heap_alloc(&h, 16 + (i % 7) * 300);
        test_fill(small[i], 16, (unsigned)i);
        if (i % 70 == 0) big[i / 70] = pool_heap_alloc(&h, 9000 + i);
    }
    for (i = 0; i < 6; i++) {
        CHECK(big[i] != NULL);
        test_fill(big[i], 9000, (unsigned)i + 1000);
        CHECK_EQ(pool_heap_size(&h, (char *)big[i] - 16), 0);
        CHECK(!pool_heap_free(&h, (char *)big[i] - 16));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(!pool_heap_free(&h, (char *)big[i] + 9008));
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    for (i = 0; i < 400; i++) {
        CHECK(test_intact(small[i], 16, (unsigned)i));
        CHECK(pool_heap_free(&h, small[i]));
    }
    for (i = 0; i < 6; i++) {
        CHECK(test_intact(big[i], 9000, (unsigned)i + 1000));
        CHECK(pool_heap_free(&h, big[i]));
    }
    CHECK_NO_ERR();
    pool_heap_release(&h);
    free(s.buf);
}

/* A capped heap on packed blocks: class A spans several blocks, and keeps
   only the objects of its newest block; class B then needs the room, so A
   gives its empty blocks back. A's blocks are neighbours sharing index
   chunks: dropping one must not lose the entries of the next. */
TEST(heap_room_keeps_neighbour_blocks) {
    enum { N = 3000 };
    PhPacked s;
    PoolHeap h;
    void **a = (void **)malloc(N * sizeof *a), *b;
    size_t i, n = 0, first = 1;
    ph_init_packed(&h, &s, 4 << 20, 1 << 20);
    for (i = 0; i < N; i++) {
        a[i] = pool_heap_alloc(&h, 200);
        CHECK(a[i] != NULL);
        test_fill(a[i], 16, (unsigned)i);
    }
    /* the newest block starts where the stride between objects breaks */
    for (i = 2; i < N; i++)
        if ((char *)a[i] - (char *)a[i - 1] != (char *)a[1] - (char *)a[0]) first = i;
    CHECK(first > 1);
    for (i = 0; i < first; i++) CHECK(pool_heap_free(&h, a[i]));
    while ((b = pool_heap_alloc(&h, 3000)) != NULL) n++;
    test_err_clear();
    CHECK(n > 0);
    for (i = first; i < N; i++) {
        CHECK(test_intact(a[i], 16, (unsigned)i));
        CHECK_EQ(pool_heap_size(&h, a[i]), (size_t)224);
        CHECK(pool_heap_free(&h, a[i]));
    }
    CHECK_NO_ERR();
    pool_heap_release(&h);
    free(s.buf);
    free(a);
}

/* ---- reset, release ------------------------------------------------------- */

TEST(heap_reset_keeps_memory) {
    PoolHeap h = ph_zero();
    size_t round, grabs = 0, i;
    void *p[500];
    for (round = 0; round < 4; round++) {
        for (i = 0; i < 500; i++) p[i] = pool_heap_alloc(&h, 8 + i * 13);
        CHECK_EQ(pool_heap_stats(&h).live_count, 500);
        pool_heap_reset(&h);
        CHECK_EQ(pool_heap_stats(&h).live_count, 0);
        CHECK_EQ(pool_heap_stats(&h).live_bytes, 0);
        if (round == 1) grabs = pool_heap_stats(&h).grab_count;
        if (round > 1) CHECK_EQ(pool_heap_stats(&h).grab_count, grabs);
    }
    if (PH_FREE_CHECKED) {   /* (sizes 8 to 6495: all in classes, trusted under POOL_UNCHECKED) */
        CHECK(!pool_heap_free(&h, p[0]));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(!pool_heap_free(&h, p[499]));
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    pool_heap_release(&h);
}

/* pool_heap_trim: the classes give back what their live objects do not
   need, those with none everything; the live ones stay intact and the
   heap goes on. On the OS's memory, on a source, shared. */
static void ph_trim_run(PoolHeap *h) {
    enum { N = 4000 };
    void **p = (void **)malloc(N * sizeof *p);
    size_t i, held;
    if (!p) { CHECK(0); return; }
    pool_heap_trim(h);   /* nothing yet */
    CHECK_EQ(pool_heap_stats(h).bytes_held, 0u);
    for (i = 0; i < N; i++) {
        p[i] = pool_heap_alloc(h, i % 2 ? 64 : 1000);
        CHECK(p[i] != NULL);
        if (p[i]) test_fill(p[i], 64, (unsigned)i);
    }
    held = pool_heap_stats(h).bytes_held;
    for (i = 10; i < N; i++) CHECK(pool_heap_free(h, p[i]));
    for (i = 0; i < 10; i += 2) CHECK(pool_heap_free(h, p[i]));   /* five 64-byte objects stay, the first */
    CHECK_EQ(pool_heap_stats(h).bytes_held, held);
    pool_heap_trim(h);
    CHECK(pool_heap_stats(h).bytes_held < held / 4);
    CHECK_EQ(pool_heap_stats(h).live_count, 5u);
    for (i = 1; i < 10; i += 2) {
        CHECK(test_intact(p[i], 64, (unsigned)i));
        CHECK(pool_heap_free(h, p[i]));
    }
    for (i = 0; i < N; i++) CHECK(pool_heap_free(h, pool_heap_alloc(h, 1000)));
    CHECK_NO_ERR();
    pool_heap_release(h);
    free(p);
}

TEST(heap_trim_gives_back_empty_memory) {
    PoolHeap h;
    TestSource s;
    ArenaOptions o;
    ph_init(&h, NULL, 0);
    ph_trim_run(&h);
    test_source_init(&s);
    ph_init(&h, &s, 0);
    ph_trim_run(&h);
    CHECK_EQ(s.live, 0u);
    memset(&o, 0, sizeof o);
    o.flags = ARENA_SHARED;
    pool_heap_init(&h, &o);
    ph_trim_run(&h);
}

TEST(heap_release_twice_and_reuse) {
    PoolHeap h = ph_zero();
    void *p[PH_NSIZES];
    pool_heap_release(&h);
    ph_alloc_sizes(&h, p);
    pool_heap_release(&h);
    pool_heap_release(&h);
    CHECK_EQ(pool_heap_stats(&h).bytes_held, 0);
    CHECK_EQ(pool_heap_stats(&h).live_count, 0);
    ph_alloc_sizes(&h, p);
    CHECK(ph_all_intact(p));
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

/* ---- a random run against a shadow copy ------------------------------------ */

TEST(heap_random_against_shadow) {
    enum { SLOTS = 300, STEPS = 30000 };
    PoolHeap h = ph_zero();
    void *p[SLOTS];
    size_t size[SLOTS], i, live = 0;
    unsigned seed[SLOTS];
    uint32_t r = 12345;
    memset(p, 0, sizeof p);
    for (i = 0; i < STEPS; i++) {
        size_t k = test_rng(&r) % SLOTS, n;
        uint32_t pick = test_rng(&r);
        n = pick % 8 == 0 ? test_rng(&r) % 40000 : test_rng(&r) % 600;
        if (p[k] && !test_intact(p[k], size[k] < 64 ? size[k] : 64, seed[k])) CHECK(0);
        if (!p[k]) {
            p[k] = pick & 16 ? pool_heap_calloc(&h, 1, n) : pool_heap_alloc(&h, n);
            live++;
        } else if (pick & 32) {
            void *q = pool_heap_realloc(&h, p[k], n);
            CHECK(q != NULL);
            CHECK(test_intact(q, (size[k] < n ? size[k] : n) < 64 ? (size[k] < n ? size[k] : n) : 64, seed[k]));
            p[k] = q;
        } else {
            CHECK(pool_heap_free(&h, p[k]));
            p[k] = NULL;
            live--;
            continue;
        }
        size[k] = n;
        seed[k] = (unsigned)i;
        test_fill(p[k], n < 64 ? n : 64, seed[k]);
        CHECK(pool_heap_size(&h, p[k]) >= n);
        CHECK_EQ(pool_heap_stats(&h).live_count, live);
    }
    CHECK_NO_ERR();
    pool_heap_release(&h);
}

void suite_pool_heap(void) {
    RUN(heap_zero_initialised_every_size);
    RUN(heap_waste_bound);
    RUN(heap_alignment_every_class);
    RUN(heap_huge_sizes);
    RUN(heap_calloc_zeroes_reused_memory);
    RUN(heap_free_null);
    RUN(heap_double_free);
    RUN(heap_foreign_and_stray_pointers);
    RUN(heap_interior_pointers);
    RUN(heap_reservation_pointers);
    RUN(heap_realloc_null_and_zero);
    RUN(heap_realloc_in_place_within_class);
    RUN(heap_realloc_across_classes);
    RUN(heap_realloc_shrink_moves);
    RUN(heap_realloc_failure_leaves_p);
    RUN(heap_realloc_misuse);
    RUN(heap_cap_is_shared_and_recovers);
    RUN(heap_source_accounting);
    RUN(heap_source_failures);
    RUN(heap_blocks_sharing_a_chunk);
    RUN(heap_room_keeps_neighbour_blocks);
    RUN(heap_reset_keeps_memory);
    RUN(heap_trim_gives_back_empty_memory);
    RUN(heap_release_twice_and_reuse);
    RUN(heap_random_against_shadow);
}
