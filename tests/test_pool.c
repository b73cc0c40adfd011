/* test_pool.c - pool.h: sizes and alignments, checked frees that refuse every
   kind of bad pointer and change nothing, pool_owns, pool_each at scale,
   reset/release, caps and failing sources, buffer pools, handles that never
   dangle, generation retirement, and the statistics.

   Written in the common subset of C99 and C++11. A few tests look inside the
   Pool (stride, blocks, gen_floor): the pool's layout is not hard-coded,
   only read, so the ASan build (redzones, wider strides) passes too. */
#include <stdlib.h>
#include "test.h"
#include "../pool.h"

void suite_pool(void);

/* POOL_UNCHECKED release builds trust pool_free's argument: the tests that
   free bad pointers are skipped there (checked builds still check). */
#if defined(POOL_UNCHECKED) && !ARENA__CHECKED
#define PT_FREE_CHECKED 0
#else
#define PT_FREE_CHECKED 1
#endif

/* ---- helpers ----------------------------------------------------------- */

/* Allocates n objects into objs; 0 (after a failed CHECK) if one fails. */
static int pt_alloc_all(Pool *p, void **objs, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        objs[i] = pool_alloc(p);
        CHECK(objs[i] != NULL);
        if (!objs[i]) return 0;
    }
    return 1;
}

static TestSource pt_src;   /* a counting source, for the tests that use one */

/* The pool's runs of slots: its blocks, or its one run (white-box). */
static size_t pt_block_count(const Pool *p) { return p->run ? 1 : p->block_count; }
static pool__Block *pt_block(Pool *p, size_t n) { return p->run ? &p->run_block : p->blocks[n]; }
static size_t pt_block_slots(Pool *p) {
    size_t n, sum = 0;
    for (n = 0; n < pt_block_count(p); n++) sum += pt_block(p, n) ? pt_block(p, n)->count : 0;
    return sum;
}

static int pt_cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* True if the n ranges [objs[i], objs[i] + size) are pairwise disjoint
   (so no pointer appears twice either). */
static int pt_disjoint(void *const *objs, size_t n, size_t size) {
    void **s;
    size_t i;
    int ok = 1;
    if (n < 2) return 1;
    s = (void **)malloc(n * sizeof *s);
    if (!s) return 0;
    memcpy(s, objs, n * sizeof *s);
    qsort(s, n, sizeof *s, pt_cmp_ptr);
    for (i = 1; i < n; i++)
        if ((uintptr_t)s[i - 1] + (size ? size : 1) > (uintptr_t)s[i]) { ok = 0; break; }
    free(s);
    return ok;
}

/* Big objects are filled (and checked) whole only when `full`; otherwise
   their first and last 256 bytes, which keeps the valgrind run short. */
static void pt_fill(void *o, size_t size, unsigned seed, int full) {
    if (full || size <= 512) {
        test_fill(o, size, seed);
    } else {
        test_fill(o, 256, seed);
        test_fill((char *)o + size - 256, 256, seed + 7u);
    }
}

static int pt_holds(const void *o, size_t size, unsigned seed, int full) {
    if (full || size <= 512) return test_holds(o, size, seed);
    return test_holds(o, 256, seed) && test_holds((const char *)o + size - 256, 256, seed + 7u);
}

static int pt_zero_range(const void *o, size_t n) {
    const unsigned char *b = (const unsigned char *)o;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

static int pt_is_zero(const void *o, size_t size, int full) {
    if (full || size <= 512) return pt_zero_range(o, size);
    return pt_zero_range(o, 256) && pt_zero_range((const char *)o + size - 256, 256);
}

static int pt_same_stats(PoolStats a, PoolStats b) {
    return a.live == b.live && a.capacity == b.capacity && a.peak_live == b.peak_live &&
           a.block_count == b.block_count && a.grab_count == b.grab_count &&
           a.bytes_held == b.bytes_held && a.retired == b.retired;
}

static int pt_is_null_handle(PoolHandle h) { return h.index == 0 && h.gen == 0; }

static int pt_same_handle(PoolHandle a, PoolHandle b) {
    return a.index == b.index && a.gen == b.gen;
}

static PoolHandle pt_null_handle(void) {
    PoolHandle h;
    memset(&h, 0, sizeof h);
    return h;
}

/* pool_each callbacks */
typedef struct PtCollect {
    void **items;
    size_t count, cap;
} PtCollect;

static void pt_collect(void *obj, void *ctx) {
    PtCollect *c = (PtCollect *)ctx;
    if (c->count < c->cap) c->items[c->count] = obj;
    c->count++;
}

static void pt_count(void *obj, void *ctx) {
    (void)obj;
    (*(size_t *)ctx)++;
}

/* Sorted copies of the two lists are the same set. */
static int pt_same_set(void **a, size_t na, void **b, size_t nb) {
    void **x, **y;
    int ok;
    if (na != nb) return 0;
    if (!na) return 1;
    x = (void **)malloc(na * sizeof *x);
    y = (void **)malloc(na * sizeof *y);
    if (!x || !y) { free(x); free(y); return 0; }
    memcpy(x, a, na * sizeof *x);
    memcpy(y, b, na * sizeof *y);
    qsort(x, na, sizeof *x, pt_cmp_ptr);
    qsort(y, na, sizeof *y, pt_cmp_ptr);
    ok = memcmp(x, y, na * sizeof *x) == 0;
    free(x);
    free(y);
    return ok;
}

/* Every pool_each visit, collected and compared with a shadow list. */
static int pt_each_is(Pool *p, void **live, size_t n) {
    PtCollect c;
    int ok;
    c.cap = n + 16;
    c.count = 0;
    c.items = (void **)malloc(c.cap * sizeof *c.items);
    if (!c.items) return 0;
    pool_each(p, pt_collect, &c);
    ok = c.count == n && pt_same_set(c.items, n, live, n);
    free(c.items);
    return ok;
}

/* A buffer aligned to `align` with `guard` bytes of a pattern after its end
   (checked by pt_guard_ok: the pool must never write past the buffer). */
typedef struct PtBuf {
    void *raw;
    char *buf;
    size_t bytes, guard;
} PtBuf;

static char *pt_buf_new(PtBuf *b, size_t bytes, size_t align, size_t offset) {
    uintptr_t u;
    b->bytes = bytes;
    b->guard = 256;
    b->raw = malloc(bytes + align + offset + b->guard);
    if (!b->raw) return NULL;
    u = ((uintptr_t)b->raw + align - 1) & ~(uintptr_t)(align - 1);
    b->buf = (char *)u + offset;
    test_fill(b->buf + bytes, b->guard, 99u);
    return b->buf;
}

static int pt_guard_ok(const PtBuf *b) { return test_holds(b->buf + b->bytes, b->guard, 99u); }

static int pt_in_buf(const PtBuf *b, const void *o, size_t size) {
    uintptr_t u = (uintptr_t)o, lo = (uintptr_t)b->buf;
    return u >= lo && u + size <= lo + b->bytes;
}

/* Allocates from the buffer pool p on b until it is full (NULL and
   ARENA_ERR_OOM): each object aligned, inside b, filled from seed plus its
   number, into objs. The count (reaching max fails the test). */
static size_t pt_fill_buffer(Pool *p, const PtBuf *b, size_t align, void **objs, size_t max,
                             unsigned seed) {
    size_t n = 0;
    for (;;) {
        void *o = pool_alloc(p);
        if (!o) {
            CHECK_ERR(ARENA_ERR_OOM);
            return n;
        }
        CHECK(test_is_aligned(o, align));
        CHECK(pt_in_buf(b, o, p->size));
        test_fill(o, p->size, seed + (unsigned)n);
        objs[n++] = o;
        if (n == max) {
            CHECK(0);
            return n;
        }
    }
}

/* ---- init: sizes, alignments, types ----------------------------------------- */

static const size_t pt_sizes[] = { 1, 7, 8, 16, 24, 64, 100, 4096, (size_t)1 << 20 };

/* Every size at every power-of-two alignment 1..4096: objects aligned,
   disjoint, and their bytes survive many allocs and frees around them;
   pool_calloc zeroes (also a slot that held a pattern before). */
TEST(pool_sizes_and_alignments) {
    size_t si, ai;
    for (si = 0; si < sizeof pt_sizes / sizeof pt_sizes[0]; si++) {
        for (ai = 0; ai <= 12; ai++) {
            size_t size = pt_sizes[si], align = (size_t)1 << ai, i, round;
            size_t n = size >= 65536 ? 3 : (size >= 4096 ? 24 : 1000);
            int full = size < 65536 || ai == 0 || ai == 12;
            unsigned *seed = (unsigned *)malloc(n * sizeof *seed);
            void **objs = (void **)malloc(n * sizeof *objs);
            unsigned next = 1;
            PoolStats st;
            Pool p;
            if (!seed || !objs) { free(seed); free(objs); CHECK(0); return; }
            pool_init(&p, size, align);
            CHECK_NO_ERR();
            for (i = 0; i < n; i++) {
                void *o = pool_alloc(&p);
                objs[i] = o;
                seed[i] = next++;
                CHECK(o != NULL);
                if (!o) { n = i; break; }
                CHECK(test_is_aligned(o, align));
                CHECK(pool_owns(&p, o));
                pt_fill(o, size, seed[i], full);
            }
            CHECK(pt_disjoint(objs, n, size));
            /* three rounds: free a stripe, take the slots back with calloc */
            for (round = 0; round < 3; round++) {
                size_t stripe = round + 2;
                for (i = round % stripe; i < n; i += stripe) CHECK(pool_free(&p, objs[i]));
                for (i = 0; i < n; i++) {
                    if (i % stripe == round % stripe) continue;
                    CHECK(pt_holds(objs[i], size, seed[i], full));
                }
                for (i = round % stripe; i < n; i += stripe) {
                    void *o = pool_calloc(&p);
                    CHECK(o != NULL);
                    if (!o) break;
                    CHECK(test_is_aligned(o, align));
                    CHECK(pt_is_zero(o, size, full));
                    seed[i] = next++;
                    pt_fill(o, size, seed[i], full);
                    objs[i] = o;
                }
                for (i = 0; i < n; i++) CHECK(pt_holds(objs[i], size, seed[i], full));
            }
            CHECK(pt_disjoint(objs, n, size));
            CHECK(pt_each_is(&p, objs, n));
            st = pool_stats(&p);
            CHECK_EQ(st.live, n);
            CHECK_EQ(st.peak_live, n);
            CHECK(st.capacity >= n);
            CHECK(st.block_count >= 1);
            CHECK(st.bytes_held >= st.capacity * size);
            CHECK_NO_ERR();
            pool_release(&p);
            CHECK_NO_ERR();
            CHECK_EQ(pool_stats(&p).live, (size_t)0);
            free(seed);
            free(objs);
            if (test__check_failures) {
                fprintf(stderr, "  (size %lu, align %lu)\n", (unsigned long)size, (unsigned long)align);
                return;
            }
        }
    }
}

typedef struct PtVec { double x, y, z; } PtVec;
typedef struct PtOdd { char c[7]; } PtOdd;
typedef struct PtMixed { char c; long long ll; short s; } PtMixed;
typedef struct PtLine { unsigned char bytes[64]; } PtLine;

#define PT_TYPE_ROUND(T, SETUP, CHECKV) do { \
        Pool p_; T *o_[300]; size_t i_; \
        POOL_INIT(&p_, T); \
        CHECK_NO_ERR(); \
        for (i_ = 0; i_ < 300; i_++) { \
            T *v = (T *)pool_alloc(&p_); \
            o_[i_] = v; \
            CHECK(v != NULL); \
            if (!v) break; \
            CHECK(test_is_aligned(v, ARENA_ALIGNOF(T))); \
            SETUP; \
        } \
        if (i_ == 300) { \
            CHECK(pt_disjoint((void *const *)o_, 300, sizeof(T))); \
            for (i_ = 0; i_ < 300; i_++) { T *v = o_[i_]; CHECK(CHECKV); } \
        } \
        pool_release(&p_); \
        CHECK_NO_ERR(); \
    } while (0)

/* POOL_INIT for a few types: typed, aligned for the type, values survive. */
TEST(pool_init_macro_types) {
    PT_TYPE_ROUND(PtVec, (v->x = (double)i_, v->y = -(double)i_, v->z = 0.5),
                  v->x == (double)i_ && v->y == -(double)i_ && v->z == 0.5);
    PT_TYPE_ROUND(PtOdd, memset(v->c, (int)(i_ & 0x7f), sizeof v->c),
                  v->c[0] == (char)(i_ & 0x7f) && v->c[6] == (char)(i_ & 0x7f));
    PT_TYPE_ROUND(PtMixed, (v->c = 'm', v->ll = (long long)i_ * 1000003LL, v->s = (short)i_),
                  v->c == 'm' && v->ll == (long long)i_ * 1000003LL && v->s == (short)i_);
    PT_TYPE_ROUND(long double, *v = (long double)i_ * 0.5L, *v == (long double)i_ * 0.5L);
    PT_TYPE_ROUND(PtLine, memset(v->bytes, (int)(i_ & 0xff), sizeof v->bytes),
                  v->bytes[0] == (unsigned char)i_ && v->bytes[63] == (unsigned char)i_);
    PT_TYPE_ROUND(char, *v = (char)i_, *v == (char)i_);
    PT_TYPE_ROUND(void *, *v = (void *)v, *v == (void *)v);
}

/* 64-byte cache-line alignment: every object starts a line, and no two
   objects share one (small objects included). */
TEST(pool_cache_line_alignment) {
    static const size_t sizes[] = { 8, 24, 64, 65, 200 };
    size_t k;
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        enum { N = 700 };
        void *objs[N];
        size_t i, size = sizes[k], lines = (size + 63) / 64;
        Pool p;
        pool_init(&p, size, 64);
        for (i = 0; i < N; i++) {
            objs[i] = pool_alloc(&p);
            CHECK(objs[i] != NULL);
            if (!objs[i]) return;
            CHECK(test_is_aligned(objs[i], 64));
            test_fill(objs[i], size, (unsigned)i);
        }
        /* objects rounded up to whole lines are still disjoint */
        CHECK(pt_disjoint(objs, N, lines * 64));
        for (i = 0; i < N; i += 2) CHECK(pool_free(&p, objs[i]));
        for (i = 0; i < N; i += 2) {
            objs[i] = pool_alloc(&p);
            CHECK(objs[i] != NULL && test_is_aligned(objs[i], 64));
            if (objs[i]) test_fill(objs[i], size, (unsigned)i);
        }
        CHECK(pt_disjoint(objs, N, lines * 64));
        for (i = 0; i < N; i++) CHECK(test_holds(objs[i], size, (unsigned)i));
        CHECK_NO_ERR();
        pool_release(&p);
    }
}

/* Size 0 behaves like size 1: non-NULL, distinct objects. */
TEST(pool_size_zero) {
    void *objs[100];
    size_t i;
    Pool p;
    pool_init(&p, 0, 1);
    CHECK_NO_ERR();
    for (i = 0; i < 100; i++) {
        objs[i] = pool_alloc(&p);
        CHECK(objs[i] != NULL);
        if (!objs[i]) return;
    }
    CHECK(pt_disjoint(objs, 100, 1));
    for (i = 0; i < 100; i++) CHECK(pool_free(&p, objs[i]));
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    CHECK_NO_ERR();
    pool_release(&p);
}

/* A pool whose init failed (or never ran) refuses everything cleanly. */
static void pt_check_inert(Pool *p) {
    void *local[4] = { NULL, NULL, NULL, NULL };
    size_t visits = 0;
    PoolHandle h;
    PoolStats st;
    void *o;
    o = pool_alloc(p);
    CHECK(o == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    o = pool_calloc(p);
    CHECK(o == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    h = pool_alloc_handle(p);
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_MISUSE);
#if PT_FREE_CHECKED
    CHECK(!pool_free(p, local));
    CHECK_ERR(ARENA_ERR_MISUSE);
#endif
    CHECK(!pool_owns(p, local));
    CHECK(!pool_owns(p, NULL));
    CHECK_NO_ERR();
    h = pool_handle_of(p, local);
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    h.index = 0;
    h.gen = 1;
    CHECK(pool_get(p, h) == NULL);
    CHECK(pool_get(p, pt_null_handle()) == NULL);
    CHECK(!pool_free_handle(p, h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    pool_each(p, pt_count, &visits);
    CHECK_EQ(visits, (size_t)0);
    st = pool_stats(p);
    CHECK_EQ(st.live, (size_t)0);
    CHECK_EQ(st.capacity, (size_t)0);
    CHECK_EQ(st.block_count, (size_t)0);
    CHECK_NO_ERR();
    pool_reset(p);
    CHECK_NO_ERR();
    o = pool_alloc(p);
    CHECK(o == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    pool_release(p);
    CHECK_NO_ERR();
    o = pool_alloc(p);
    CHECK(o == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    (void)local;
}

TEST(pool_init_bad_alignment) {
    static const size_t bad[] = { 0, 3, 5, 6, 12, 24, 48, 100, 4095, 4097 };
    size_t k;
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        Pool p;
        pool_init(&p, 32, bad[k]);
        CHECK_ERR(ARENA_ERR_ALIGN);
        pt_check_inert(&p);
    }
    {   /* the same through POOL_INIT's sibling with options */
        Pool p;
        ArenaOptions o;
        memset(&o, 0, sizeof o);
        pool_init_opts(&p, 16, 24, &o);
        CHECK_ERR(ARENA_ERR_ALIGN);
        pt_check_inert(&p);
    }
}

TEST(pool_init_huge_size) {
    static const size_t huge[] = { SIZE_MAX, SIZE_MAX - 15, SIZE_MAX - 4095,
                                   SIZE_MAX / 2 + 1, SIZE_MAX / 3 };
    size_t k;
    for (k = 0; k < sizeof huge / sizeof huge[0]; k++) {
        Pool p;
        pool_init(&p, huge[k], 8);
        CHECK_ERR(ARENA_ERR_OVERFLOW);
        pt_check_inert(&p);
        pool_init(&p, huge[k], 4096);
        CHECK_ERR(ARENA_ERR_OVERFLOW);
        pt_check_inert(&p);
    }
    {   /* an absurd (power-of-two) alignment is refused too, one error */
        Pool p;
        pool_init(&p, 16, SIZE_MAX / 2 + 1);
        CHECK(test_err.calls == 1);
        CHECK(test_err.last == ARENA_ERR_OVERFLOW || test_err.last == ARENA_ERR_ALIGN);
        test_err_clear();
        pt_check_inert(&p);
    }
}

/* The same Pool initialised again after a release, and after a failed
   init (the Valgrind build registers the pool with memcheck each time). */
TEST(pool_reinit_same_pool) {
    size_t k;
    Pool p;
    for (k = 0; k < 4; k++) {
        void *a, *b;
        pool_init(&p, 16 + k * 8, 8);
        CHECK_NO_ERR();
        a = pool_alloc(&p);
        b = pool_alloc(&p);
        CHECK(a && b && a != b);
        if (a) test_fill(a, 16 + k * 8, 1);
        CHECK(pool_free(&p, b));
        CHECK(a && test_holds(a, 16 + k * 8, 1));
        pool_release(&p);
        CHECK_NO_ERR();
    }
    pool_init(&p, 16, 3);
    CHECK_ERR(ARENA_ERR_ALIGN);
    pool_release(&p);
    CHECK_NO_ERR();
    pool_init(&p, 16, 8);
    CHECK_NO_ERR();
    CHECK(pool_alloc(&p) != NULL);
    pool_release(&p);
    CHECK_NO_ERR();
}

/* A Pool that was zeroed but never initialised refuses allocation. */
TEST(pool_zeroed_is_inert) {
    Pool p;
    memset(&p, 0, sizeof p);
    {
        void *o = pool_alloc(&p);
        CHECK(o == NULL);
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(!pool_owns(&p, &p));
        CHECK(pool_get(&p, pt_null_handle()) == NULL);
        CHECK_NO_ERR();
    }
}

/* ---- checked frees -------------------------------------------------------------- */

#if PT_FREE_CHECKED

/* One refused free: false, exactly one MISUSE, stats identical, and the
   pointer is not owned. */
static void pt_refuse(Pool *p, const void *bad) {
    PoolStats before = pool_stats(p), after;
    CHECK(!pool_free(p, (void *)(uintptr_t)bad));
    CHECK_ERR(ARENA_ERR_MISUSE);
    after = pool_stats(p);
    CHECK(pt_same_stats(before, after));
    CHECK(!pool_owns(p, bad));
    CHECK_NO_ERR();
}

static void *pt_static_var[4];

/* Every kind of bad pointer is refused and changes nothing: the live
   objects keep their bytes and the free list still hands out distinct,
   valid objects afterwards. */
TEST(pool_free_misuse) {
    enum { N = 1200, M = 40, EXTRA = 400 };
    void **objs = (void **)malloc(N * sizeof *objs);
    void **freed = (void **)malloc(N * sizeof *freed);
    void **all = (void **)malloc((N + EXTRA) * sizeof *all);
    void *other[M], *other_freed;
    void *heap = malloc(64);
    void *local[4] = { NULL, NULL, NULL, NULL };
    size_t i, nfreed = 0, nlive, size = 40, stride;
    Pool p, q;
    if (!objs || !freed || !all || !heap) { CHECK(0); goto out; }
    pool_init(&p, size, 8);
    pool_init(&q, size, 8);
    for (i = 0; i < N; i++) {
        objs[i] = pool_alloc(&p);
        CHECK(objs[i] != NULL);
        if (!objs[i]) goto out;
        test_fill(objs[i], size, (unsigned)i);
    }
    for (i = 0; i < M; i++) {
        other[i] = pool_alloc(&q);
        CHECK(other[i] != NULL);
        if (!other[i]) goto out;
        test_fill(other[i], size, 5000u + (unsigned)i);
    }
    CHECK(pool_free(&q, other[M - 1]));
    other_freed = other[M - 1];
    CHECK(pool_stats(&p).capacity >= N);
    stride = p.stride;
    CHECK(stride >= size);
    /* free every fifth: those are the double frees to come */
    for (i = 0; i < N; i += 5) {
        CHECK(pool_free(&p, objs[i]));
        freed[nfreed++] = objs[i];
        objs[i] = NULL;
    }
    CHECK_NO_ERR();

    /* double frees (also of the newest free, the head of the free list) */
    for (i = 0; i < nfreed; i += 7) pt_refuse(&p, freed[i]);
    pt_refuse(&p, freed[nfreed - 1]);
    /* objects of another pool, live and freed */
    for (i = 0; i < M - 1; i += 3) pt_refuse(&p, other[i]);
    pt_refuse(&p, other_freed);
    /* interior pointers */
    for (i = 1; i < N; i += 97) {
        char *o = (char *)objs[i];
        if (!o) continue;
        pt_refuse(&p, o + 1);
        pt_refuse(&p, o + stride / 2);
        pt_refuse(&p, o + size - 1);
        pt_refuse(&p, o + stride - 1);
    }
    /* stray pointers */
    pt_refuse(&p, local);
    pt_refuse(&p, pt_static_var);
    pt_refuse(&p, heap);
    pt_refuse(&p, (char *)heap + 16);
    pt_refuse(&p, &p);
    pt_refuse(&p, (void *)(uintptr_t)(UINTPTR_MAX - 15));
    /* block headers, slot headers, and just past the last object of every
       block (or of the run) */
    for (i = 0; i < pt_block_count(&p); i++) {
        pool__Block *b = pt_block(&p, i);
        if (!b) continue;
        pt_refuse(&p, b);
        pt_refuse(&p, b->slots - sizeof(pool__Header));
        pt_refuse(&p, b->slots + stride - sizeof(pool__Header));
        pt_refuse(&p, b->slots - 1);
        pt_refuse(&p, b->slots + (size_t)b->count * stride);
        pt_refuse(&p, b->slots + (size_t)b->count * stride - 1);
    }
    CHECK_NO_ERR();

    /* the other pool is untouched */
    for (i = 0; i < M - 1; i++) CHECK(test_holds(other[i], size, 5000u + (unsigned)i));
    CHECK_EQ(pool_stats(&q).live, (size_t)(M - 1));
    /* every live object intact */
    nlive = 0;
    for (i = 0; i < N; i++) {
        if (!objs[i]) continue;
        CHECK(test_holds(objs[i], size, (unsigned)i));
        CHECK(pool_owns(&p, objs[i]));
        all[nlive++] = objs[i];
    }
    CHECK_EQ(pool_stats(&p).live, nlive);
    CHECK(pt_each_is(&p, all, nlive));
    /* the free list still works: distinct valid objects, no overlap */
    for (i = 0; i < EXTRA; i++) {
        void *o = pool_alloc(&p);
        CHECK(o != NULL);
        if (!o) goto out;
        CHECK(pool_owns(&p, o));
        test_fill(o, size, 9000u + (unsigned)i);
        all[nlive++] = o;
    }
    CHECK(pt_disjoint(all, nlive, size));
    for (i = 0; i < EXTRA; i++)
        CHECK(test_holds(all[nlive - EXTRA + i], size, 9000u + (unsigned)i));
    for (i = 0; i < N; i++)
        if (objs[i]) CHECK(test_holds(objs[i], size, (unsigned)i));
    /* and everything frees properly */
    for (i = 0; i < nlive; i++) CHECK(pool_free(&p, all[i]));
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    CHECK_NO_ERR();
    pool_release(&p);
    pool_release(&q);
out:
    free(objs);
    free(freed);
    free(all);
    free(heap);
}

/* Double frees through every path: free then free, free_handle then free,
   free then free_handle. */
TEST(pool_double_free_paths) {
    Pool p;
    void *a, *b;
    PoolHandle h;
    pool_init(&p, 48, 16);
    a = pool_alloc(&p);
    h = pool_alloc_handle(&p);
    b = pool_get(&p, h);
    CHECK(a && b);
    if (!a || !b) return;
    CHECK(pool_free(&p, a));
    pt_refuse(&p, a);
    CHECK(pool_free_handle(&p, h));
    pt_refuse(&p, b);
    CHECK(!pool_free_handle(&p, h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    /* the slots come back once each */
    {
        void *x = pool_alloc(&p), *y = pool_alloc(&p);
        CHECK(x && y && x != y);
        CHECK((x == a || x == b) && (y == a || y == b));
        CHECK(pool_free(&p, x));
        CHECK(pool_free(&p, y));
    }
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    CHECK_NO_ERR();
    pool_release(&p);
}

/* White-box: a live object's body may hold anything, also copies of real
   slot headers (a live one, of its own slot or its neighbour's): a pointer
   into it is still refused as interior, every object is still freed once,
   and the slots come back once each. */
TEST(pool_free_header_lookalike) {
    enum { N = 64 };
    void *objs[N];
    size_t i, stride, k;
    Pool p;
    pool_init(&p, 64, 8);
    if (!pt_alloc_all(&p, objs, N)) return;
    stride = p.stride;
    for (i = 0; i < N; i += 2) CHECK(pool_free(&p, objs[i]));
    for (i = 1; i < N; i += 2) {
        pool__Header fake[4];
        PoolHandle h = pool_handle_of(&p, objs[i]);
        for (k = 0; k < 4; k++) {
            fake[k].gen = h.gen | 1u;
            fake[k].index = h.index - p.index_base + (uint32_t)k;
        }
        memcpy(objs[i], fake, sizeof fake);
        for (k = 1; k <= 4; k++) pt_refuse(&p, (char *)objs[i] + 8 * k);
        CHECK(pool_owns(&p, objs[i]));
    }
    for (i = 1; i < N; i += 2) CHECK(pool_free(&p, objs[i]));
    CHECK_NO_ERR();
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    for (i = 0; i < N; i++) pt_refuse(&p, objs[i]);
    {
        void *again[N];
        for (i = 0; i < N; i++) again[i] = pool_alloc(&p);
        CHECK(pt_disjoint(again, N, 64));
        CHECK_EQ(pool_stats(&p).capacity, pt_block_slots(&p));
    }
    (void)stride;
    pool_release(&p);
}

/* Slots of a block that were never handed out (or not since the reset) are
   not objects, though they are at a slot's start inside one of our blocks. */
TEST(pool_free_never_handed_out) {
    Pool p;
    char *a, *b;
    size_t stride;
    pool_init(&p, 40, 8);
    a = (char *)pool_alloc(&p);
    b = (char *)pool_alloc(&p);
    CHECK(a && b);
    if (!a || !b) return;
    stride = (size_t)(b - a);
    CHECK_EQ(stride, p.stride);
    pt_refuse(&p, b + stride);
    pt_refuse(&p, b + 5 * stride);
    CHECK(pool_alloc(&p) == b + stride);
    pool_reset(&p);
    pt_refuse(&p, a);
    CHECK(pool_alloc(&p) == a);
    pt_refuse(&p, b);
    CHECK_NO_ERR();
    pool_release(&p);
}

/* After pool_reset no old pointer is a live object: objects freed before
   the reset and objects live at the reset are both refused. */
TEST(pool_free_after_reset) {
    enum { N = 600 };
    void *objs[N];
    size_t i;
    PoolStats before;
    Pool p;
    pool_init(&p, 24, 8);
    if (!pt_alloc_all(&p, objs, N)) return;
    for (i = 0; i < N; i += 4) CHECK(pool_free(&p, objs[i]));
    before = pool_stats(&p);
    pool_reset(&p);
    CHECK_NO_ERR();
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    CHECK_EQ(pool_stats(&p).capacity, before.capacity);
    for (i = 0; i < N; i++) pt_refuse(&p, objs[i]);
    /* the pool is fine afterwards */
    for (i = 0; i < N; i++) {
        objs[i] = pool_alloc(&p);
        CHECK(objs[i] != NULL);
        if (!objs[i]) return;
        test_fill(objs[i], 24, (unsigned)i);
    }
    CHECK(pt_disjoint(objs, N, 24));
    for (i = 0; i < N; i++) CHECK(test_holds(objs[i], 24, (unsigned)i));
    CHECK_EQ(pool_stats(&p).grab_count, before.grab_count);
    CHECK_NO_ERR();
    pool_release(&p);
}

/* After pool_release old pointers are refused, before and after the pool
   is used again (those that are not live objects of the new pool). */
TEST(pool_free_after_release) {
    enum { N = 800 };
    void *objs[N];
    size_t i;
    Pool p;
    pool_init(&p, 40, 8);
    if (!pt_alloc_all(&p, objs, N)) return;
    pool_release(&p);
    CHECK_NO_ERR();
    for (i = 0; i < N; i += 3) pt_refuse(&p, objs[i]);
    /* reuse: anything old that is not a live object now is still refused */
    for (i = 0; i < N / 2; i++) CHECK(pool_alloc(&p) != NULL);
    for (i = 0; i < N; i += 3)
        if (!pool_owns(&p, objs[i])) pt_refuse(&p, objs[i]);
    CHECK_EQ(pool_stats(&p).live, (size_t)(N / 2));
    CHECK_NO_ERR();
    pool_release(&p);
}

#endif /* PT_FREE_CHECKED */

/* ---- pool_owns --------------------------------------------------------------- */

TEST(pool_owns_cases) {
    enum { N = 500 };
    void *objs[N], *foreign, *heap = malloc(32);
    void *local[4] = { NULL, NULL, NULL, NULL };
    size_t i;
    Pool p, q;
    pool_init(&p, 32, 8);
    pool_init(&q, 32, 8);
    foreign = pool_alloc(&q);
    CHECK(foreign != NULL);
    if (!pt_alloc_all(&p, objs, N)) return;
    for (i = 0; i < N; i++) CHECK(pool_owns(&p, objs[i]));
    for (i = 0; i < N; i += 2) CHECK(pool_free(&p, objs[i]));
    for (i = 0; i < N; i++) CHECK(pool_owns(&p, objs[i]) == (i % 2 == 1));
    for (i = 1; i < N; i += 2) {
        CHECK(!pool_owns(&p, (char *)objs[i] + 1));
        CHECK(!pool_owns(&p, (char *)objs[i] + p.stride / 2));
        CHECK(!pool_owns(&q, objs[i]));
    }
    CHECK(!pool_owns(&p, foreign));
    CHECK(pool_owns(&q, foreign));
    CHECK(!pool_owns(&p, NULL));
    CHECK(!pool_owns(&p, local));
    CHECK(!pool_owns(&p, &p));
    CHECK(!pool_owns(&p, heap));
    CHECK(!pool_owns(&p, pt_block(&p, 0)));
    CHECK(!pool_owns(&p, (void *)(uintptr_t)(UINTPTR_MAX - 15)));
    CHECK_NO_ERR();
    /* after a reset nothing is owned; after reuse only the new objects */
    pool_reset(&p);
    for (i = 0; i < N; i++) CHECK(!pool_owns(&p, objs[i]));
    CHECK_NO_ERR();
    pool_release(&p);
    pool_release(&q);
    free(heap);
}

/* ---- scale: random alloc/free, pool_each ----------------------------------------- */

typedef struct PtObj {
    uint32_t id;
    unsigned char body[28];
} PtObj;

typedef struct PtEachFree {
    Pool *pool;
    size_t visited, freed, bad;
} PtEachFree;

/* Frees every object whose id is a multiple of 3, while pool_each runs. */
static void pt_each_free(void *obj, void *ctx) {
    PtEachFree *c = (PtEachFree *)ctx;
    PtObj *o = (PtObj *)obj;
    c->visited++;
    if (!test_holds(o->body, sizeof o->body, o->id)) c->bad++;
    if (o->id % 3 == 0) {
        if (pool_free(c->pool, obj)) c->freed++;
        else c->bad++;
    }
}

static size_t pt_count_bad(PtObj *const *live, size_t n) {
    size_t i, bad = 0;
    for (i = 0; i < n; i++) bad += !test_holds(live[i]->body, sizeof live[i]->body, live[i]->id);
    return bad;
}

/* 200000 objects live at the peak, a fixed-seed random interleaving of
   allocs and frees; pool_each sees exactly the live set, also when its
   callback frees objects. */
TEST(pool_random_scale_and_each) {
    enum { N = 200000 };
    PtObj **live = (PtObj **)malloc(N * sizeof *live);
    size_t count = 0, peak = 0, ops, i, expect_freed = 0;
    uint32_t rng = 0x9E3779B9u, next_id = 1;
    PtEachFree ef;
    Pool p;
    if (!live) { CHECK(0); return; }
    POOL_INIT(&p, PtObj);
    /* phase 1: mostly allocs up to N live; phase 2: balanced churn */
    for (ops = 0; ops < 420000; ops++) {
        uint32_t r = test_rng(&rng);
        int phase1 = count < N && ops < 360000;
        int do_alloc = count == 0 || (count < N && (r % 100) < (phase1 ? 85u : 50u));
        if (do_alloc) {
            PtObj *o = (PtObj *)pool_alloc(&p);
            CHECK(o != NULL);
            if (!o) break;
            o->id = next_id++;
            test_fill(o->body, sizeof o->body, o->id);
            live[count++] = o;
            if (count > peak) peak = count;
        } else {
            size_t j = (size_t)(test_rng(&rng) % count);
            PtObj *o = live[j];
            CHECK(test_holds(o->body, sizeof o->body, o->id));
            CHECK(pool_free(&p, o));
            live[j] = live[--count];
        }
        if (test__check_failures) break;
    }
    CHECK_EQ(peak, (size_t)N);
    CHECK_EQ(pool_stats(&p).live, count);
    CHECK_EQ(pool_stats(&p).peak_live, peak);
    CHECK(pool_stats(&p).capacity >= peak);
    CHECK(pt_disjoint((void *const *)live, count, sizeof(PtObj)));
    CHECK(pt_each_is(&p, (void **)live, count));
    CHECK_EQ(pt_count_bad(live, count), (size_t)0);
    /* pool_each whose callback frees a third of what it visits; the
       survivors are picked before (freed objects are not read again) */
    {
        size_t k = 0, before = count;
        for (i = 0; i < count; i++) {
            if (live[i]->id % 3 == 0) expect_freed++;
            else live[k++] = live[i];
        }
        count = k;
        ef.pool = &p;
        ef.visited = ef.freed = ef.bad = 0;
        pool_each(&p, pt_each_free, &ef);
        CHECK_EQ(ef.visited, before);
        CHECK_EQ(ef.freed, expect_freed);
        CHECK_EQ(ef.bad, (size_t)0);
    }
    CHECK_EQ(pool_stats(&p).live, count);
    CHECK(pt_each_is(&p, (void **)live, count));
    CHECK_EQ(pt_count_bad(live, count), (size_t)0);
    CHECK_NO_ERR();
    pool_release(&p);
    free(live);
}

/* pool_each's callback frees objects it has not reached yet, and allocates
   new ones: no freed object is ever visited, every survivor is. */
typedef struct PtEachOthers {
    Pool *pool;
    PtObj **by_id;          /* NULL once freed */
    size_t n, visited, bad, allocated;
} PtEachOthers;

static void pt_each_others(void *obj, void *ctx) {
    PtEachOthers *c = (PtEachOthers *)ctx;
    PtObj *o = (PtObj *)obj, *extra;
    uint32_t victim = (uint32_t)((o->id * 7u + 3u) % c->n);
    c->visited++;
    if (o->id >= c->n || c->by_id[o->id] != o) {   /* freed, or never ours */
        c->bad++;
        return;
    }
    if (victim != o->id && c->by_id[victim]) {
        if (!pool_free(c->pool, c->by_id[victim])) c->bad++;
        c->by_id[victim] = NULL;
    }
    if (c->allocated < 100 && (extra = (PtObj *)pool_alloc(c->pool)) != NULL) {
        extra->id = UINT32_MAX;   /* may or may not be visited: skipped */
        c->allocated++;
    }
}

static void pt_each_skip_extra(void *obj, void *ctx) {
    if (((PtObj *)obj)->id != UINT32_MAX) pt_each_others(obj, ctx);
}

TEST(pool_each_frees_others) {
    enum { N = 3000 };
    PtObj **by_id = (PtObj **)malloc(N * sizeof *by_id);
    PtEachOthers c;
    size_t i, survivors = 0;
    Pool p;
    if (!by_id) { CHECK(0); return; }
    POOL_INIT(&p, PtObj);
    for (i = 0; i < N; i++) {
        by_id[i] = (PtObj *)pool_alloc(&p);
        CHECK(by_id[i] != NULL);
        if (!by_id[i]) { free(by_id); pool_release(&p); return; }
        by_id[i]->id = (uint32_t)i;
    }
    for (i = 0; i < N; i += 5) {   /* some free slots before the walk */
        CHECK(pool_free(&p, by_id[i]));
        by_id[i] = NULL;
    }
    memset(&c, 0, sizeof c);
    c.pool = &p;
    c.by_id = by_id;
    c.n = N;
    pool_each(&p, pt_each_skip_extra, &c);
    CHECK_EQ(c.bad, (size_t)0);
    for (i = 0; i < N; i++) survivors += by_id[i] != NULL;
    CHECK(survivors < N - N / 5);                 /* the callback did free */
    CHECK(c.visited >= survivors);
    CHECK_EQ(pool_stats(&p).live, survivors + c.allocated);
    CHECK_NO_ERR();
    pool_release(&p);
    free(by_id);
}

TEST(pool_each_edge_cases) {
    size_t visits = 0;
    Pool p;
    pool_init(&p, 16, 8);
    pool_each(&p, pt_count, &visits);       /* never used: nothing */
    CHECK_EQ(visits, (size_t)0);
    CHECK(pool_alloc(&p) != NULL);
    pool_each(&p, NULL, NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    pool_each(&p, pt_count, &visits);
    CHECK_EQ(visits, (size_t)1);
    pool_reset(&p);
    visits = 0;
    pool_each(&p, pt_count, &visits);       /* after reset: nothing */
    CHECK_EQ(visits, (size_t)0);
    CHECK_NO_ERR();
    pool_release(&p);
}

/* ---- calls made from inside pool_each ------------------------------------------- */

typedef struct PtReenter {
    Pool *pool;
    int mode;            /* 0: reset, 1: release, 2: trim */
    size_t visits, refused;
} PtReenter;

/* Tries to reset or release the pool it is walking: refused every time
   (one MISUSE each), and the walk goes on over live, intact objects. */
static void pt_each_reenter(void *obj, void *ctx) {
    PtReenter *c = (PtReenter *)ctx;
    PtObj *o = (PtObj *)obj;
    c->visits++;
    if (!test_holds(o->body, sizeof o->body, o->id)) return;
    test_err_clear();
    if (c->mode == 0) pool_reset(c->pool);
    else if (c->mode == 1) pool_release(c->pool);
    else pool_trim(c->pool);
    if (test_err.calls == 1 && test_err.last == ARENA_ERR_MISUSE) c->refused++;
    test_err_clear();
}

TEST(pool_each_reset_release_refused) {
    enum { N = 2500 };
    int mode;
    for (mode = 0; mode < 3; mode++) {
        PtReenter c;
        size_t i;
        Pool p;
        POOL_INIT(&p, PtObj);
        for (i = 0; i < N; i++) {
            PtObj *o = (PtObj *)pool_alloc(&p);
            CHECK(o != NULL);
            if (!o) return;
            o->id = (uint32_t)i;
            test_fill(o->body, sizeof o->body, o->id);
        }
        memset(&c, 0, sizeof c);
        c.pool = &p;
        c.mode = mode;
        pool_each(&p, pt_each_reenter, &c);
        CHECK_EQ(c.visits, (size_t)N);
        CHECK_EQ(c.refused, (size_t)N);
        CHECK_EQ(pool_stats(&p).live, (size_t)N);
        /* outside the walk both work again */
        pool_reset(&p);
        CHECK_NO_ERR();
        CHECK_EQ(pool_stats(&p).live, (size_t)0);
        pool_release(&p);
        CHECK_NO_ERR();
    }
}

/* The largest objects a pool takes, 128 MiB at 128 MiB alignment: on
   32-bit systems pool_init either refuses them at once or the pool works;
   it never fails every allocation with a wrong ARENA_ERR_ALIGN. */
TEST(pool_largest_objects) {
    size_t big = (size_t)1 << 27;
    void *o;
    Pool p;
    pool_init(&p, big, big);
    if (test_err.calls) {
        CHECK(test_err.last == ARENA_ERR_OVERFLOW || test_err.last == ARENA_ERR_OOM);
        test_err_clear();
        CHECK(pool_alloc(&p) == NULL);
        CHECK_ERR(ARENA_ERR_MISUSE);
        return;
    }
    o = pool_alloc(&p);
    if (o) {
        CHECK(test_is_aligned(o, big));
        memset(o, 1, 4096);
        CHECK(pool_owns(&p, o));
        CHECK(pool_free(&p, o));
        CHECK_NO_ERR();
    } else {
        CHECK_ERR(ARENA_ERR_OOM);   /* the machine has no room: fine, but no ALIGN */
    }
    pool_release(&p);
    CHECK_NO_ERR();
}

/* ---- pool_alloc_with_handle ------------------------------------------------------ */

/* The object and its handle in one call, on every kind of pool: the handle
   resolves to the object, matches pool_handle_of, dies with the object; a
   NULL handle pointer is misuse and allocates nothing; a full pool gives
   NULL and the null handle with one OOM. */
static void pt_with_handle(Pool *p, size_t size) {
    enum { N = 3000 };
    PoolHandle *hs = (PoolHandle *)malloc(N * sizeof *hs);
    void **objs = (void **)malloc(N * sizeof *objs);
    size_t i, n = 0, live;
    if (!hs || !objs) { free(hs); free(objs); CHECK(0); return; }
    for (i = 0; i < N; i++) {
        objs[n] = pool_alloc_with_handle(p, &hs[n]);
        if (!objs[n]) {
            CHECK_ERR(ARENA_ERR_OOM);
            CHECK(pt_is_null_handle(hs[n]));
            break;
        }
        CHECK(pool_get(p, hs[n]) == objs[n]);
        CHECK(pt_same_handle(pool_handle_of(p, objs[n]), hs[n]));
        test_fill(objs[n], size, (unsigned)n);
        n++;
    }
    CHECK_NO_ERR();
    live = pool_stats(p).live;
    CHECK_EQ(live, n);
    CHECK(pool_alloc_with_handle(p, NULL) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(pool_stats(p).live, live);
    for (i = 0; i < n; i += 2) CHECK(pool_free(p, objs[i]));
    for (i = 0; i < n; i++) {
        CHECK(pool_get(p, hs[i]) == (i % 2 ? objs[i] : NULL));
        if (i % 2) CHECK(test_holds(objs[i], size, (unsigned)i));
    }
    for (i = 0; i < n; i += 2) {   /* reuse: new handles, the old ones stay dead */
        PoolHandle h;
        void *o = pool_alloc_with_handle(p, &h);
        CHECK(o != NULL && pool_get(p, h) == o);
        CHECK(pool_get(p, hs[i]) == NULL);
    }
    CHECK_NO_ERR();
    free(hs);
    free(objs);
}

TEST(pool_alloc_with_handle_kinds) {
    enum { BYTES = 64 << 10 };
    ArenaOptions o;
    PtBuf b;
    Pool p;
    pool_init(&p, 40, 8);                     /* the default: a run where it can */
    pt_with_handle(&p, 40);
    pool_release(&p);
    o = test_source_opts(&pt_src, 0);
    pool_init_opts(&p, 100, 16, &o);          /* blocks from a source */
    pt_with_handle(&p, 100);
    pool_release(&p);
    CHECK_EQ(pt_src.live, (size_t)0);
    if (!pt_buf_new(&b, BYTES, 64, 0)) { CHECK(0); return; }
    CHECK(pool_init_buffer(&p, 24, 8, b.buf, BYTES));   /* a buffer: fills up */
    pt_with_handle(&p, 24);
    pool_release(&p);
    CHECK(pt_guard_ok(&b));
    free(b.raw);
    CHECK_NO_ERR();
}

/* ---- pool_trim ------------------------------------------------------------------- */

/* A block pool on a counting source: after a burst, trim gives back every
   block with no live object (the source sees the drops, with their sizes),
   keeps the live objects where they are and intact, keeps their handles
   valid and the freed ones dead, also once new blocks take the numbers of
   the old; pointers into given-back blocks are refused. */
TEST(pool_trim_gives_blocks_back) {
    enum { N = 20000, KEEP = 97 };
    void **objs = (void **)malloc(N * sizeof *objs);
    PoolHandle *hs = (PoolHandle *)malloc(N * sizeof *hs);
    ArenaOptions o;
    PoolStats before, after;
    size_t i, kept_blocks;
    Pool p;
    if (!objs || !hs) { free(objs); free(hs); CHECK(0); return; }
    o = test_source_opts(&pt_src, 0);
    pool_init_opts(&p, 48, 8, &o);
    for (i = 0; i < N; i++) {
        objs[i] = pool_alloc_with_handle(&p, &hs[i]);
        CHECK(objs[i] != NULL);
        if (!objs[i]) goto out;
        test_fill(objs[i], 48, (unsigned)i);
    }
    for (i = 0; i < N; i++)
        if (i % (N / 4) != KEEP) CHECK(pool_free(&p, objs[i]));   /* four survivors */
    before = pool_stats(&p);
    pool_trim(&p);
    CHECK_NO_ERR();
    after = pool_stats(&p);
    kept_blocks = after.block_count;
    CHECK(kept_blocks <= 4 && kept_blocks >= 1);
    CHECK(after.bytes_held < before.bytes_held / 3);    /* 4 of about 18 blocks */
    CHECK_EQ(after.bytes_held, pt_src.bytes_out);
    CHECK_EQ(pt_src.bad_drops, (size_t)0);
    CHECK_EQ(after.live, (size_t)4);
    CHECK_EQ(after.capacity, pt_block_slots(&p));
    for (i = 0; i < N; i++) {
        if (i % (N / 4) == KEEP) {
            CHECK(pool_get(&p, hs[i]) == objs[i]);
            CHECK(test_holds(objs[i], 48, (unsigned)i));
        } else {
            if (pool_get(&p, hs[i]) != NULL) CHECK(0);
        }
    }
#if PT_FREE_CHECKED
    for (i = 0; i < N; i += 1001)
        if (i % (N / 4) != KEEP) pt_refuse(&p, objs[i]);   /* given back, or free */
#endif
    /* grow again over the holes: no old handle comes back */
    for (i = 0; i < N; i++)
        if (i % (N / 4) != KEEP) {
            objs[i] = pool_alloc(&p);
            CHECK(objs[i] != NULL);
            if (!objs[i]) goto out;
        }
    for (i = 0; i < N; i++)
        if (i % (N / 4) != KEEP && pool_get(&p, hs[i]) != NULL) CHECK(0);
    CHECK(pt_disjoint(objs, N, 48));
    CHECK_EQ(pool_stats(&p).live, (size_t)N);
    /* all free: trim keeps nothing but the pool's small index */
    for (i = 0; i < N; i++) CHECK(pool_free(&p, objs[i]));
    pool_trim(&p);
    CHECK_EQ(pool_stats(&p).block_count, (size_t)0);
    CHECK_EQ(pool_stats(&p).capacity, (size_t)0);
    CHECK(pool_stats(&p).bytes_held < (size_t)8192);
    CHECK(pool_alloc(&p) != NULL);            /* and grows again */
    CHECK_NO_ERR();
out:
    pool_release(&p);
    CHECK_EQ(pt_src.live, (size_t)0);
    CHECK_EQ(pt_src.bad_drops, (size_t)0);
    free(objs);
    free(hs);
}

/* White-box (the hook PoolHeap uses): two pools, one virtual and one on a
   source, draw on one PoolBudget. The cap holds for both together (one
   OOM, nothing lost); what one pool frees and trims serves the other. */
TEST(pool_shared_budget) {
    enum { N = 20000 };
    void **a = (void **)malloc(N * sizeof *a), **b = (void **)malloc(N * sizeof *b);
    PoolBudget budget;
    ArenaOptions o;
    size_t na = 0, nb = 0, i;
    Pool p, q;
    if (!a || !b) { free(a); free(b); CHECK(0); return; }
    memset(&budget, 0, sizeof budget);   /* no room hook */
    budget.max = (size_t)512 << 10;
    o = test_source_opts(&pt_src, 0);
    pool_init(&p, 100, 8);
    pool_init_opts(&q, 100, 8, &o);
    p.budget = q.budget = &budget;
    while (na < N && (a[na] = pool_alloc(&p)) != NULL) test_fill(a[na], 100, (unsigned)na), na++;
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(na > 1000 && na < N);
    CHECK(budget.held <= budget.max);
    CHECK(pool_alloc(&q) == NULL);           /* nothing left for the other */
    CHECK_ERR(ARENA_ERR_OOM);
    for (i = 0; i < na; i++) CHECK(pool_free(&p, a[i]));
    pool_trim(&p);                           /* give it back ... */
    CHECK_NO_ERR();
    CHECK(budget.held < budget.max / 4);
    while (nb < N && (b[nb] = pool_alloc(&q)) != NULL) test_fill(b[nb], 100, (unsigned)nb), nb++;
    CHECK_ERR(ARENA_ERR_OOM);                /* ... and the other can use it */
    CHECK(nb > na / 2);
    CHECK(budget.held <= budget.max);
    CHECK_EQ(budget.held, pool_stats(&p).bytes_held + pool_stats(&q).bytes_held);
    for (i = 0; i < nb; i++) CHECK(test_holds(b[i], 100, (unsigned)i));
    pool_release(&p);
    pool_release(&q);
    CHECK_EQ(budget.held, (size_t)0);
    CHECK_EQ(pt_src.live, (size_t)0);
    CHECK_NO_ERR();
    free(a);
    free(b);
}

/* Resident memory of this process (Linux), 0 where unknown (elsewhere,
   Windows under Wine included: its /proc is the emulator's). */
static size_t pt_rss(void) {
    size_t pages = 0, rss = 0;
    FILE *f;
#ifndef __linux__
    return 0;
#endif
    f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", (unsigned long *)&pages, (unsigned long *)&rss) != 2) rss = 0;
    fclose(f);
    return rss * 4096;
}

/* The default pool (a reserved run on 64-bit systems): after a burst of
   64 MiB, trim decommits what lies above the highest live object; the
   process's resident memory goes down with it. */
TEST(pool_trim_gives_pages_back) {
    enum { SIZE = 1000, N = 64 * 1024 };
    void **objs = (void **)malloc(N * sizeof *objs);
    PoolHandle h0;
    size_t i, rss_full, rss_trim, held_full;
    Pool p;
    if (!objs) { CHECK(0); return; }
    pool_init(&p, SIZE, 8);
    objs[0] = pool_alloc_with_handle(&p, &h0);
    CHECK(objs[0] != NULL);
    if (!objs[0]) { free(objs); return; }
    test_fill(objs[0], SIZE, 1);
    for (i = 1; i < N; i++) {
        objs[i] = pool_alloc(&p);
        CHECK(objs[i] != NULL);
        if (!objs[i]) { free(objs); pool_release(&p); return; }
        memset(objs[i], 7, SIZE);
    }
    rss_full = pt_rss();
    held_full = pool_stats(&p).bytes_held;
    for (i = 1; i < N; i++) CHECK(pool_free(&p, objs[i]));
    pool_trim(&p);
    CHECK_NO_ERR();
    rss_trim = pt_rss();
    CHECK(pool_get(&p, h0) == objs[0]);
    CHECK(test_holds(objs[0], SIZE, 1));
    CHECK_EQ(pool_stats(&p).live, (size_t)1);
    if (p.run) {   /* block pools (32-bit) keep the block of the survivor */
        CHECK(pool_stats(&p).bytes_held < held_full / 16);
        if (rss_full && rss_trim) CHECK(rss_trim + ((size_t)32 << 20) < rss_full);
    }
#if PT_FREE_CHECKED
    pt_refuse(&p, objs[N - 1]);
#endif
    for (i = 1; i < N; i++) {                 /* the same burst again */
        objs[i] = pool_alloc(&p);
        CHECK(objs[i] != NULL);
        if (!objs[i]) break;
        memset(objs[i], 9, SIZE);
    }
    CHECK(test_holds(objs[0], SIZE, 1));
    CHECK_NO_ERR();
    pool_release(&p);
    free(objs);
}

/* Trim gives back the pages inside the run too, not only those above the
   highest live object: a burst between two survivors, freed, goes back to
   the OS (bytes held and resident memory fall; a second trim counts
   nothing twice). A stale pointer into it is refused, a stale handle
   finds nothing, and the pages come back on demand, with later
   generations: no handle comes back to life. */
TEST(pool_trim_gives_middle_pages_back) {
    enum { SIZE = 1000, N = 64 * 1024, MID = N / 2 };
    void **objs = (void **)malloc(N * sizeof *objs);
    PoolHandle h0, hmid, hlast;
    size_t i, rss_full, rss_trim, held_full, held_trim;
    Pool p;
    if (!objs) { CHECK(0); return; }
    memset(&h0, 0, sizeof h0);
    hmid = hlast = h0;
    pool_init(&p, SIZE, 8);
    for (i = 0; i < N; i++) {
        PoolHandle h;
        objs[i] = pool_alloc_with_handle(&p, &h);
        CHECK(objs[i] != NULL);
        if (!objs[i]) { free(objs); pool_release(&p); return; }
        memset(objs[i], 7, SIZE);
        if (i == 0) h0 = h;
        if (i == MID) hmid = h;
        if (i == N - 1) hlast = h;
    }
    test_fill(objs[0], SIZE, 1);
    test_fill(objs[N - 1], SIZE, 2);
    rss_full = pt_rss();
    held_full = pool_stats(&p).bytes_held;
    for (i = 1; i < N - 1; i++) CHECK(pool_free(&p, objs[i]));
    pool_trim(&p);
    CHECK_NO_ERR();
    rss_trim = pt_rss();
    held_trim = pool_stats(&p).bytes_held;
    CHECK(pool_get(&p, h0) == objs[0] && pool_get(&p, hlast) == objs[N - 1]);
    CHECK(pool_get(&p, hmid) == NULL);
    CHECK(test_holds(objs[0], SIZE, 1) && test_holds(objs[N - 1], SIZE, 2));
    CHECK_EQ(pool_stats(&p).live, (size_t)2);
    if (p.vm) CHECK(held_trim < held_full / 16);   /* a reserved run (64-bit): its middle goes back */
    if (p.vm && rss_full && rss_trim) CHECK(rss_trim + ((size_t)32 << 20) < rss_full);   /* (Linux) */
    pool_trim(&p);                            /* nothing more to give back */
    CHECK_EQ(pool_stats(&p).bytes_held, held_trim);
#if PT_FREE_CHECKED
    pt_refuse(&p, objs[MID]);                 /* a stale pointer into the hole */
    pt_refuse(&p, (char *)objs[MID] + 8);
#endif
    CHECK(!pool_free_handle(&p, hmid));
    CHECK_ERR(ARENA_ERR_MISUSE);
    for (i = 1; i < N - 1; i++) {             /* the same burst again */
        objs[i] = pool_alloc(&p);
        CHECK(objs[i] != NULL);
        if (!objs[i]) break;
        memset(objs[i], 9, SIZE);
    }
    CHECK_NO_ERR();
    CHECK(pool_get(&p, hmid) == NULL);
    CHECK(test_holds(objs[0], SIZE, 1) && test_holds(objs[N - 1], SIZE, 2));
    CHECK(pool_stats(&p).bytes_held >= held_full / 2);
    CHECK_EQ(pool_stats(&p).live, (size_t)N);
    pool_release(&p);
    CHECK_NO_ERR();
    free(objs);
}

/* Objects larger than a page: a hole never takes a page of slot 0 (its
   header would read as a hole's, and the slot come back with its first
   generation: fuzz_pool found it). No handle of a trimmed slot resolves
   after they are all in use again, and what is held is counted once. */
TEST(pool_trim_holes_of_large_objects) {
    enum { SIZE = 8000, N = 24 };
    void *objs[N];
    PoolHandle hs[N];
    size_t i, held;
    Pool p;
    pool_init(&p, SIZE, 8);
    for (i = 0; i < N; i++) {
        objs[i] = pool_alloc_with_handle(&p, &hs[i]);
        CHECK(objs[i] != NULL);
        if (!objs[i]) { pool_release(&p); return; }
    }
    for (i = 0; i < N - 1; i++) CHECK(pool_free(&p, objs[i]));
    pool_trim(&p);
    held = pool_stats(&p).bytes_held;
    for (i = 0; i < N - 1; i++) {              /* all back, in later generations */
        void *o = pool_alloc(&p);
        size_t k;
        CHECK(o != NULL);
        if (!o) break;
        for (k = 0; k < N - 1 && objs[k] != o; k++) {}
        if (p.vm) CHECK(k < N - 1);            /* a run: the same slots (block pools take new blocks) */
        if (k < N - 1) CHECK(pool_handle_of(&p, o).gen > hs[k].gen);
        if (i == 0) {
            pool_trim(&p);
            CHECK(pool_stats(&p).bytes_held <= held + 2 * SIZE);
        }
    }
    for (i = 0; i < N - 1; i++) CHECK(pool_get(&p, hs[i]) == NULL);
    CHECK(pool_get(&p, hs[N - 1]) == objs[N - 1]);
    CHECK_EQ(pool_stats(&p).live, (size_t)N);
    CHECK_NO_ERR();
    pool_release(&p);
}

/* White-box (a shared PoolBudget): the pages of a hole are charged again
   when they come back. While another pool holds the room, the alloc that
   needs them fails with one ARENA_ERR_OOM and nothing lost; once the room
   is free again they come back. */
TEST(pool_trim_holes_under_a_cap) {
    enum { N = 2000 };
    void **a = (void **)malloc(N * sizeof *a), **b = (void **)malloc(N * sizeof *b);
    void *extra[16];
    PoolBudget budget;
    size_t na = 0, nb = 0, i, held, k = 0;
    Pool p, q;
    if (!a || !b) { free(a); free(b); CHECK(0); return; }
    memset(&budget, 0, sizeof budget);   /* no room hook */
    budget.max = (size_t)512 << 10;
    pool_init(&p, 1000, 8);
    pool_init(&q, 1000, 8);
    p.budget = q.budget = &budget;
    while (na < N && (a[na] = pool_alloc(&p)) != NULL) test_fill(a[na], 1000, (unsigned)na), na++;
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(na > 100 && na < N);
    for (i = 1; i + 1 < na; i++) CHECK(pool_free(&p, a[i]));
    held = budget.held;
    pool_trim(&p);
    CHECK_NO_ERR();
    if (p.vm && budget.held < held) {         /* holes: their room serves q */
        while (nb < N && (b[nb] = pool_alloc(&q)) != NULL) nb++;
        CHECK_ERR(ARENA_ERR_OOM);
        CHECK(nb > 100);
        while (k < 16 && (extra[k] = pool_alloc(&p)) != NULL) k++;   /* the few slots beside the holes */
        CHECK(k < 16);                        /* then the holes cannot come back */
        CHECK_ERR(ARENA_ERR_OOM);
        CHECK(budget.held <= budget.max);
        while (k > 0) CHECK(pool_free(&p, extra[--k]));
        for (i = 0; i < nb; i++) CHECK(pool_free(&q, b[i]));
        pool_trim(&q);
    }
    for (i = 1; i + 1 < na; i++) {            /* all back */
        a[i] = pool_alloc(&p);
        CHECK(a[i] != NULL);
        if (!a[i]) break;
        test_fill(a[i], 1000, (unsigned)i);
    }
    CHECK_NO_ERR();
    CHECK(budget.held <= budget.max);
    for (i = 0; i < na; i++) CHECK(test_holds(a[i], 1000, (unsigned)i));
    pool_release(&p);
    pool_release(&q);
    CHECK_EQ(budget.held, (size_t)0);
    CHECK_NO_ERR();
    free(a);
    free(b);
}

/* A double free is refused in O(1): at the bottom of a long free list as
   at its top (no walk; bench/ measures it), and nothing changes. */
TEST(pool_double_free_deep_in_list) {
    enum { N = 200000 };
    void **objs = (void **)malloc(N * sizeof *objs);
    size_t i;
    Pool p;
    if (!objs) { CHECK(0); return; }
    pool_init(&p, 16, 8);
    if (!pt_alloc_all(&p, objs, N)) { free(objs); return; }
    for (i = 0; i < N; i++) CHECK(pool_free(&p, objs[i]));
#if PT_FREE_CHECKED
    for (i = 0; i < 1000; i++) {
        pt_refuse(&p, objs[i]);               /* the bottom of the list */
        pt_refuse(&p, objs[N - 1 - i]);       /* the top */
    }
#endif
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    for (i = 0; i < N; i++) objs[i] = pool_alloc(&p);
    CHECK(pt_disjoint(objs, N, 16));
    CHECK_NO_ERR();
    pool_release(&p);
    free(objs);
}

/* ---- reset ------------------------------------------------------------------- */

/* Reset frees every object and keeps the memory: refilling to the same
   count makes no call to the source; old handles and pointers are dead. */
TEST(pool_reset_keeps_memory) {
    enum { N = 5000, H = 200 };
    void **objs = (void **)malloc(N * sizeof *objs);
    PoolHandle hs[H];
    PoolStats s0, s;
    size_t i, round;
    Pool p;
    if (!objs) { CHECK(0); return; }
    pool_init(&p, 48, 8);
    for (i = 0; i < N; i++) {
        if (i < H) {
            hs[i] = pool_alloc_handle(&p);
            objs[i] = pool_get(&p, hs[i]);
        } else {
            objs[i] = pool_alloc(&p);
        }
        CHECK(objs[i] != NULL);
        if (!objs[i]) { free(objs); return; }
    }
    s0 = pool_stats(&p);
    CHECK(s0.grab_count > 1);
    for (round = 0; round < 4; round++) {
        size_t visits = 0;
        pool_reset(&p);
        CHECK_NO_ERR();
        s = pool_stats(&p);
        CHECK_EQ(s.live, (size_t)0);
        CHECK_EQ(s.capacity, s0.capacity);
        CHECK_EQ(s.block_count, s0.block_count);
        CHECK_EQ(s.bytes_held, s0.bytes_held);
        CHECK_EQ(s.grab_count, s0.grab_count);
        CHECK_EQ(s.peak_live, (size_t)N);
        pool_each(&p, pt_count, &visits);
        CHECK_EQ(visits, (size_t)0);
        for (i = 0; i < H; i++) CHECK(pool_get(&p, hs[i]) == NULL);
#if PT_FREE_CHECKED
        for (i = 0; i < N; i += 50) {
            CHECK(!pool_free(&p, objs[i]));
            CHECK_ERR(ARENA_ERR_MISUSE);
        }
#endif
        /* refill to the same count: the same memory, no growth */
        for (i = 0; i < N; i++) {
            objs[i] = pool_alloc(&p);
            CHECK(objs[i] != NULL);
            if (!objs[i]) { free(objs); return; }
            test_fill(objs[i], 48, (unsigned)(i + round));
        }
        for (i = 0; i < H; i++) CHECK(pool_get(&p, hs[i]) == NULL);
        CHECK(pt_disjoint(objs, N, 48));
        for (i = 0; i < N; i++) CHECK(test_holds(objs[i], 48, (unsigned)(i + round)));
        s = pool_stats(&p);
        CHECK_EQ(s.live, (size_t)N);
        CHECK_EQ(s.capacity, s0.capacity);
        CHECK_EQ(s.grab_count, s0.grab_count);
        CHECK_EQ(s.block_count, s0.block_count);
    }
    /* a full reset pool: every slot reachable again without growth */
    pool_reset(&p);
    for (i = 0; i < s0.capacity; i++)
        if (!pool_alloc(&p)) { CHECK(0); break; }
    CHECK_EQ(pool_stats(&p).grab_count, s0.grab_count);
    CHECK_EQ(pool_stats(&p).block_count, s0.block_count);
    CHECK_NO_ERR();
    pool_release(&p);
    free(objs);
}

/* ---- release ----------------------------------------------------------------- */


/* Release gives every block back (balanced), the pool works again, and no
   handle of before the release is ever valid again, even though the same
   slots are handed out again. */
TEST(pool_release_balances_and_kills_handles) {
    enum { N = 3000 };
    PoolHandle *old = (PoolHandle *)malloc(N * sizeof *old);
    PoolHandle *cur = (PoolHandle *)malloc(N * sizeof *cur);
    ArenaOptions o;
    PoolStats s;
    size_t i, round;
    Pool p;
    if (!old || !cur) { free(old); free(cur); CHECK(0); return; }
    o = test_source_opts(&pt_src, 0);
    pool_init_opts(&p, 64, 16, &o);
    CHECK_NO_ERR();
    for (i = 0; i < N; i++) {
        void *obj;
        old[i] = pool_alloc_handle(&p);
        obj = pool_get(&p, old[i]);
        CHECK(obj != NULL);
        if (!obj) goto out;
        test_fill(obj, 64, (unsigned)i);
    }
    s = pool_stats(&p);
    CHECK_EQ(s.grab_count, pt_src.grabs);
    CHECK_EQ(s.bytes_held, pt_src.bytes_out);
    CHECK(pt_src.live > 0);
    for (round = 0; round < 3; round++) {
        pool_release(&p);
        CHECK_NO_ERR();
        CHECK_EQ(pt_src.live, (size_t)0);
        CHECK_EQ(pt_src.bytes_out, (size_t)0);
        CHECK_EQ(pt_src.bad_drops, (size_t)0);
        CHECK_EQ(pt_src.drops, pt_src.grabs);
        s = pool_stats(&p);
        CHECK_EQ(s.live, (size_t)0);
        CHECK_EQ(s.capacity, (size_t)0);
        CHECK_EQ(s.block_count, (size_t)0);
        CHECK_EQ(s.bytes_held, (size_t)0);
        for (i = 0; i < N; i++) CHECK(pool_get(&p, old[i]) == NULL);
        /* usable again; the same slots come back, the old handles stay dead */
        for (i = 0; i < N; i++) {
            void *obj;
            cur[i] = pool_alloc_handle(&p);
            obj = pool_get(&p, cur[i]);
            CHECK(obj != NULL);
            if (!obj) goto out;
            test_fill(obj, 64, 7u * (unsigned)i);
        }
        for (i = 0; i < N; i++) {
            CHECK(pool_get(&p, old[i]) == NULL);
            CHECK(!pool_free_handle(&p, old[i]));
            CHECK_ERR(ARENA_ERR_MISUSE);
        }
        for (i = 0; i < N; i++) {
            void *obj = pool_get(&p, cur[i]);
            CHECK(obj != NULL && test_holds(obj, 64, 7u * (unsigned)i));
        }
        CHECK_EQ(pool_stats(&p).live, (size_t)N);
        /* this round's handles join the dead ones next round */
        for (i = 0; i < N; i++) old[i] = cur[i];
    }
    pool_release(&p);
    CHECK_EQ(pt_src.live, (size_t)0);
    CHECK_EQ(pt_src.bytes_out, (size_t)0);
    CHECK_EQ(pt_src.bad_drops, (size_t)0);
    CHECK_NO_ERR();
out:
    pool_release(&p);
    free(old);
    free(cur);
}

/* ---- caps and failing sources ---------------------------------------------------- */

TEST(pool_max_bytes_cap) {
    enum { LIMIT = 100000 };
    void **objs = (void **)malloc(LIMIT * sizeof *objs);
    size_t cap = (size_t)256 << 10, n = 0, i;
    ArenaOptions o;
    PoolStats s;
    PoolHandle h;
    Pool p;
    if (!objs) { CHECK(0); return; }
    o = test_source_opts(&pt_src, 0);
    o.max_bytes = cap;
    pool_init_opts(&p, 64, 8, &o);
    CHECK_NO_ERR();
    for (;;) {
        void *obj = pool_alloc(&p);
        if (!obj) {
            CHECK_ERR(ARENA_ERR_OOM);
            break;
        }
        CHECK_NO_ERR();
        test_fill(obj, 64, (unsigned)n);
        objs[n++] = obj;
        if (n == LIMIT) { CHECK(0); break; }
    }
    CHECK(n > 1000);   /* most of the cap did go to objects */
    s = pool_stats(&p);
    CHECK(s.bytes_held <= cap);
    CHECK(pt_src.bytes_out <= cap);
    CHECK_EQ(s.live, n);
    for (i = 0; i < n; i++) CHECK(test_holds(objs[i], 64, (unsigned)i));
    /* still full: each further call is one OOM */
    CHECK(pool_alloc(&p) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(pool_calloc(&p) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    h = pool_alloc_handle(&p);
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_OOM);
    /* a free makes room for exactly one */
    CHECK(pool_free(&p, objs[n / 2]));
    {
        void *obj = pool_alloc(&p);
        CHECK(obj == objs[n / 2]);
        CHECK_NO_ERR();
        if (obj) test_fill(obj, 64, (unsigned)(n / 2));
        CHECK(pool_alloc(&p) == NULL);
        CHECK_ERR(ARENA_ERR_OOM);
    }
    for (i = 0; i < n; i++) CHECK(test_holds(objs[i], 64, (unsigned)i));
    CHECK(pt_disjoint(objs, n, 64));
    pool_release(&p);
    CHECK_EQ(pt_src.live, (size_t)0);
    CHECK_EQ(pt_src.bad_drops, (size_t)0);
    CHECK_NO_ERR();
    free(objs);
}

/* A workload that allocates (plain and by handle) and frees; with the k-th
   grab failing, the one failing call returns NULL (or the null handle) with
   exactly one OOM, earlier objects are intact, the pool goes on, and
   release balances. Returns the number of grabs made. */
static size_t pt_grab_workload(size_t fail_at, size_t *nulls_out) {
    enum { N = 6000, SIZE = 100 };
    void **objs = (void **)malloc(N * sizeof *objs);
    unsigned *seeds = (unsigned *)malloc(N * sizeof *seeds);
    size_t n = 0, i, nulls = 0, grabs;
    ArenaOptions o;
    Pool p;
    if (!objs || !seeds) { free(objs); free(seeds); CHECK(0); return 0; }
    test_source_init(&pt_src);
    pt_src.fail_at = fail_at;
    memset(&o, 0, sizeof o);
    o.source = test_source(&pt_src);
    o.max_block_size = 1;   /* raised to the first block's size: many grabs */
    pool_init_opts(&p, SIZE, 8, &o);
    CHECK_NO_ERR();
    for (i = 0; i < N; i++) {
        void *obj;
        if (i % 2) {
            PoolHandle h = pool_alloc_handle(&p);
            obj = pool_get(&p, h);
            CHECK(pt_is_null_handle(h) == (obj == NULL));
        } else {
            obj = pool_alloc(&p);
        }
        if (!obj) {
            size_t k;
            nulls++;
            CHECK_ERR(ARENA_ERR_OOM);
            CHECK_EQ(pt_src.failed, (size_t)1);
            for (k = 0; k < n; k++) CHECK(test_holds(objs[k], SIZE, seeds[k]));
            CHECK_EQ(pool_stats(&p).live, n);
            continue;
        }
        CHECK_NO_ERR();
        seeds[n] = (unsigned)i;
        test_fill(obj, SIZE, seeds[n]);
        objs[n++] = obj;
        if (i % 5 == 4) {   /* free one from the middle now and then */
            size_t k = (i * 7) % n;
            CHECK(pool_free(&p, objs[k]));
            objs[k] = objs[--n];
            seeds[k] = seeds[n];
        }
    }
    for (i = 0; i < n; i++) CHECK(test_holds(objs[i], SIZE, seeds[i]));
    CHECK_EQ(pool_stats(&p).live, n);
    CHECK_EQ(pool_stats(&p).grab_count, pt_src.grabs);
    grabs = pt_src.grabs;
    pool_release(&p);
    CHECK_EQ(pt_src.live, (size_t)0);
    CHECK_EQ(pt_src.bytes_out, (size_t)0);
    CHECK_EQ(pt_src.bad_drops, (size_t)0);
    CHECK_NO_ERR();
    free(objs);
    free(seeds);
    *nulls_out = nulls;
    return grabs;
}

TEST(pool_source_fails_each_grab) {
    size_t nulls = 0, grabs = pt_grab_workload(0, &nulls), k;
    CHECK_EQ(nulls, (size_t)0);
    CHECK(grabs >= 5);
    for (k = 1; k <= grabs; k++) {
        pt_grab_workload(k, &nulls);
        CHECK_EQ(nulls, (size_t)1);
        if (test__check_failures) {
            fprintf(stderr, "  (failing grab %lu of %lu)\n", (unsigned long)k, (unsigned long)grabs);
            return;
        }
    }
}

/* ---- buffer pools ----------------------------------------------------------------- */

/* Objects all inside the buffer; full is NULL + OOM with capacity equal to
   what was handed out; frees make room; reset and release refill it. */
TEST(pool_buffer_basic) {
    enum { BYTES = 65536, SIZE = 32, MAXN = 4096 };
    void **objs = (void **)malloc(MAXN * sizeof *objs);
    PoolHandle hs[16];
    size_t n = 0, i, cap, round;
    PoolStats s;
    PtBuf b;
    Pool p;
    if (!objs || !pt_buf_new(&b, BYTES, 4096, 0)) { free(objs); CHECK(0); return; }
    CHECK(pool_init_buffer(&p, SIZE, 8, b.buf, BYTES));
    CHECK_NO_ERR();
    s = pool_stats(&p);
    cap = s.capacity;
    CHECK(cap > 0);
    CHECK_EQ(s.bytes_held, (size_t)BYTES);
    CHECK_EQ(s.grab_count, (size_t)0);
    CHECK_EQ(s.live, (size_t)0);
    n = pt_fill_buffer(&p, &b, 8, objs, MAXN, 0);
    CHECK_EQ(n, cap);
    CHECK_EQ(pool_stats(&p).capacity, cap);
    /* reasonably dense: about 1500 32-byte objects in 64 KiB (scaled for
       the ASan build's wider stride) */
    CHECK(n * (p.stride + 4) >= (size_t)1500 * 36);
    CHECK(pt_disjoint(objs, n, SIZE));
    CHECK(pool_alloc(&p) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(pt_is_null_handle(pool_alloc_handle(&p)));
    CHECK_ERR(ARENA_ERR_OOM);
    for (i = 0; i < n; i++) CHECK(test_holds(objs[i], SIZE, (unsigned)i));
    CHECK(pt_guard_ok(&b));
    /* frees make room again, for exactly as many */
    for (i = 0; i < 10; i++) CHECK(pool_free(&p, objs[i * 13]));
    for (i = 0; i < 10; i++) {
        size_t k;
        int found = 0;
        void *o = pool_alloc(&p);
        CHECK(o != NULL);
        CHECK_NO_ERR();
        for (k = 0; k < 10; k++) found |= o == objs[k * 13];
        CHECK(found);
        if (o) test_fill(o, SIZE, 0xABCu);
    }
    CHECK(pool_alloc(&p) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    /* reset and release: the whole capacity again, inside the buffer */
    for (round = 0; round < 4; round++) {
        size_t k;
        for (i = 0; i < 16; i++) hs[i] = pool_handle_of(&p, objs[(i * 37 + 1) % n]);
        if (round % 2) pool_release(&p);
        else pool_reset(&p);
        CHECK_NO_ERR();
        s = pool_stats(&p);
        CHECK_EQ(s.live, (size_t)0);
        /* a released buffer pool gives the buffer back and carves it
           again at its next allocation */
        CHECK_EQ(s.capacity, round % 2 ? (size_t)0 : cap);
        CHECK_EQ(s.grab_count, (size_t)0);
        for (i = 0; i < 16; i++) CHECK(pool_get(&p, hs[i]) == NULL);
        k = pt_fill_buffer(&p, &b, 8, objs, MAXN, (unsigned)round);
        CHECK_EQ(k, cap);
        for (i = 0; i < 16; i++) CHECK(pool_get(&p, hs[i]) == NULL);
        for (i = 0; i < k; i++) CHECK(test_holds(objs[i], SIZE, (unsigned)(i + round)));
        CHECK(pt_disjoint(objs, k, SIZE));
        CHECK(pt_guard_ok(&b));
    }
    pool_release(&p);
    CHECK_NO_ERR();
    free(b.raw);
    free(objs);
}

/* Buffer pools at large alignments, and buffers that are only as aligned
   as malloc makes them. */
TEST(pool_buffer_alignments) {
    static const size_t aligns[] = { 1, 8, 16, 64, 256, 4096 };
    static const size_t sizes[] = { 1, 24, 100, 1000 };
    size_t ai, si;
    for (ai = 0; ai < sizeof aligns / sizeof aligns[0]; ai++) {
        for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            enum { BYTES = 256 << 10, MAXN = 40000 };   /* 8-byte slots on 32-bit: ~22k */
            void **objs = (void **)malloc(MAXN * sizeof *objs);
            size_t n = 0, i, size = sizes[si], align = aligns[ai];
            PtBuf b;
            Pool p;
            /* offset 16 from a page: only malloc-grade alignment */
            if (!objs || !pt_buf_new(&b, BYTES, 4096, 16)) { free(objs); CHECK(0); return; }
            CHECK(pool_init_buffer(&p, size, align, b.buf, BYTES));
            CHECK_NO_ERR();
            n = pt_fill_buffer(&p, &b, align, objs, MAXN, 0);
            CHECK_EQ(n, pool_stats(&p).capacity);
            /* at least a third of the buffer holds objects */
            CHECK(n * (size > p.stride ? size : p.stride) >= (size_t)BYTES / 3);
            CHECK(pt_disjoint(objs, n, size));
            for (i = 0; i < n; i++) CHECK(test_holds(objs[i], size, (unsigned)i));
            CHECK(pt_guard_ok(&b));
            pool_release(&p);
            CHECK_NO_ERR();
            free(b.raw);
            free(objs);
            if (test__check_failures) {
                fprintf(stderr, "  (size %lu, align %lu)\n", (unsigned long)size, (unsigned long)align);
                return;
            }
        }
    }
}

/* After a failed pool_init_buffer, pool_alloc fails cleanly: NULL and one
   error, no crash. */
static void pt_alloc_fails_cleanly(Pool *p) {
    void *o = pool_alloc(p);
    CHECK(o == NULL);
    CHECK(test_err.calls == 1);
    CHECK(test_err.last == ARENA_ERR_MISUSE || test_err.last == ARENA_ERR_OOM);
    test_err_clear();
    CHECK(pt_is_null_handle(pool_alloc_handle(p)));
    CHECK(test_err.calls == 1);
    test_err_clear();
    CHECK_EQ(pool_stats(p).live, (size_t)0);
    pool_reset(p);
    pool_release(p);
    CHECK_NO_ERR();
    o = pool_alloc(p);
    CHECK(o == NULL);
    CHECK(test_err.calls == 1);
    test_err_clear();
}

TEST(pool_buffer_bad_arguments) {
    static const size_t small[] = { 0, 1, 16, 39 };   /* 40: a header and one object */
    PtBuf b;
    size_t k;
    Pool p;
    if (!pt_buf_new(&b, 8192, 4096, 0)) { CHECK(0); return; }
    CHECK(!pool_init_buffer(&p, 32, 8, NULL, 4096));
    CHECK_ERR(ARENA_ERR_MISUSE);
    pt_alloc_fails_cleanly(&p);
    CHECK(!pool_init_buffer(&p, 32, 8, b.buf + 1, 4096));
    CHECK_ERR(ARENA_ERR_ALIGN);
    pt_alloc_fails_cleanly(&p);
    CHECK(!pool_init_buffer(&p, 32, 3, b.buf, 4096));
    CHECK_ERR(ARENA_ERR_ALIGN);
    pt_alloc_fails_cleanly(&p);
    CHECK(!pool_init_buffer(&p, SIZE_MAX, 8, b.buf, 4096));
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    pt_alloc_fails_cleanly(&p);
    for (k = 0; k < sizeof small / sizeof small[0]; k++) {
        CHECK(!pool_init_buffer(&p, 32, 8, b.buf, small[k]));
        CHECK_ERR(ARENA_ERR_OOM);
        pt_alloc_fails_cleanly(&p);
    }
    /* room for the headers but not for one object */
    CHECK(!pool_init_buffer(&p, 4096, 4096, b.buf, 8192));
    CHECK_ERR(ARENA_ERR_OOM);
    pt_alloc_fails_cleanly(&p);
    CHECK(!pool_init_buffer(&p, 6000, 8, b.buf, 4096));
    CHECK_ERR(ARENA_ERR_OOM);
    pt_alloc_fails_cleanly(&p);
    CHECK(pt_guard_ok(&b));
    /* the smallest buffer that works holds at least one object */
    for (k = 64; k <= 4096; k += 16) {
        if (pool_init_buffer(&p, 32, 8, b.buf, k)) {
            void *o = pool_alloc(&p);
            CHECK(o != NULL);
            if (o) {
                CHECK(pt_in_buf(&b, o, 32) && (char *)o + 32 <= b.buf + k);
                test_fill(o, 32, 1);
            }
            CHECK_NO_ERR();
            pool_release(&p);
            break;
        }
        CHECK_ERR(ARENA_ERR_OOM);
    }
    CHECK(k <= 4096);
    CHECK(pt_guard_ok(&b));
    free(b.raw);
}

/* ---- handles ----------------------------------------------------------------------- */

TEST(pool_handles_basic) {
    enum { N = 100 };
    PoolHandle hs[N];
    void *objs[N];
    size_t i;
    Pool p;
    pool_init(&p, 40, 8);
    for (i = 0; i < N; i++) {
        PoolHandle h;
        hs[i] = pool_alloc_handle(&p);
        CHECK(!pt_is_null_handle(hs[i]));
        objs[i] = pool_get(&p, hs[i]);
        CHECK(objs[i] != NULL);
        if (!objs[i]) return;
        CHECK(pool_owns(&p, objs[i]));
        CHECK(test_is_aligned(objs[i], 8));
        test_fill(objs[i], 40, (unsigned)i);
        h = pool_handle_of(&p, objs[i]);
        CHECK(pt_same_handle(h, hs[i]));
    }
    CHECK(pt_disjoint(objs, N, 40));
    /* handle_of works for objects from plain pool_alloc too */
    {
        void *o = pool_alloc(&p);
        PoolHandle h = pool_handle_of(&p, o);
        CHECK(!pt_is_null_handle(h));
        CHECK(pool_get(&p, h) == o);
        CHECK(pool_free_handle(&p, h));
        CHECK(pool_get(&p, h) == NULL);
    }
    for (i = 0; i < N; i += 2) {
        CHECK(pool_free_handle(&p, hs[i]));
        CHECK_NO_ERR();
        CHECK(pool_get(&p, hs[i]) == NULL);
        CHECK(!pool_owns(&p, objs[i]));
        CHECK(!pool_free_handle(&p, hs[i]));
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    for (i = 1; i < N; i += 2) {
        CHECK(pool_get(&p, hs[i]) == objs[i]);
        CHECK(test_holds(objs[i], 40, (unsigned)i));
    }
    CHECK_EQ(pool_stats(&p).live, (size_t)(N / 2));
    CHECK_NO_ERR();
    pool_release(&p);
}

/* The first handle comes late: objects allocated and freed before it keep
   their state, and from then on handles, double-free checks and pool_each
   agree. */
TEST(pool_handles_after_plain_use) {
    enum { N = 600 };
    void *objs[N];
    PoolHandle h[N];
    size_t i, live = 0;
    Pool p;
    pool_init(&p, 24, 8);
    if (!pt_alloc_all(&p, objs, N)) return;
    for (i = 0; i < N; i += 3) CHECK(pool_free(&p, objs[i]));
    for (i = 0; i < N; i++) {
        h[i] = pool_handle_of(&p, objs[i]);
        if (i % 3 == 0) {
            CHECK(pt_is_null_handle(h[i]));
            CHECK_ERR(ARENA_ERR_MISUSE);
            objs[i] = NULL;
        } else {
            CHECK(pool_get(&p, h[i]) == objs[i]);
            live++;
        }
    }
    {
        size_t visits = 0;
        pool_each(&p, pt_count, &visits);
        CHECK_EQ(visits, live);
    }
    for (i = 1; i < N; i += 3) {
        CHECK(pool_free(&p, objs[i]));
        CHECK(pool_get(&p, h[i]) == NULL);
#if PT_FREE_CHECKED
        pt_refuse(&p, objs[i]);
#endif
        live--;
    }
    for (i = 0; i < N / 3; i++) {   /* freed slots come back with new generations */
        PoolHandle n = pool_alloc_handle(&p);
        size_t k;
        CHECK(pool_get(&p, n) != NULL);
        for (k = 1; k < N; k += 3) CHECK(pool_get(&p, h[k]) != pool_get(&p, n));
        live++;
    }
    CHECK_EQ(pool_stats(&p).live, live);
    CHECK_NO_ERR();
    pool_release(&p);
}

TEST(pool_null_handle) {
    PoolHandle z = pt_null_handle();
    size_t i;
    Pool p;
    pool_init(&p, 16, 8);
    CHECK(pool_get(&p, z) == NULL);
    CHECK(!pool_free_handle(&p, z));
    CHECK_ERR(ARENA_ERR_MISUSE);
    for (i = 0; i < 3000; i++) CHECK(pool_alloc(&p) != NULL);   /* slot 0 of block 0 is live */
    CHECK(pool_get(&p, z) == NULL);
    CHECK(!pool_free_handle(&p, z));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(pool_stats(&p).live, (size_t)3000);
    pool_reset(&p);
    CHECK(pool_get(&p, z) == NULL);
    pool_release(&p);
    CHECK(pool_get(&p, z) == NULL);
    CHECK_NO_ERR();
}

/* A freed object's handle stays dead when its slot is reused at the very
   same address, however many times. */
TEST(pool_stale_handle_after_reuse) {
    enum { ROUNDS = 1000 };
    PoolHandle *old = (PoolHandle *)malloc(ROUNDS * sizeof *old);
    PoolHandle h;
    void *first, *o, *keep;
    size_t r;
    Pool p;
    if (!old) { CHECK(0); return; }
    pool_init(&p, 32, 8);
    keep = pool_alloc(&p);   /* another live object, must stay intact */
    CHECK(keep != NULL);
    if (!keep) { free(old); return; }
    test_fill(keep, 32, 77u);
    h = pool_alloc_handle(&p);
    first = pool_get(&p, h);
    CHECK(first != NULL);
    for (r = 0; r < ROUNDS && first; r++) {
        PoolHandle now;
        old[r] = h;
        CHECK(pool_free_handle(&p, h));
        CHECK(pool_get(&p, h) == NULL);
        o = pool_alloc(&p);                     /* the slot comes straight back */
        CHECK(o == first);
        if (o != first) break;
        test_fill(o, 32, (unsigned)r);
        CHECK(pool_get(&p, h) == NULL);         /* ...but the old handle is dead */
        CHECK(!pool_free_handle(&p, h));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(pool_owns(&p, o));
        CHECK(test_holds(o, 32, (unsigned)r));
        now = pool_handle_of(&p, o);
        CHECK(!pt_same_handle(now, h));
        CHECK(pool_get(&p, now) == o);
        h = now;
    }
    for (r = 0; r < ROUNDS; r++) CHECK(pool_get(&p, old[r]) == NULL);
    CHECK(pool_get(&p, h) == first);
    CHECK(test_holds(keep, 32, 77u));
    CHECK_EQ(pool_stats(&p).live, (size_t)2);
    CHECK_NO_ERR();
    pool_release(&p);
    free(old);
}

/* Handles of one pool are never valid in another: the pools start their
   generations at different points. */
TEST(pool_handle_of_other_pool) {
    enum { N = 64 };
    PoolHandle ha[N], hb[N];
    size_t i;
    Pool a, b;
    pool_init(&a, 24, 8);
    pool_init(&b, 24, 8);
    for (i = 0; i < N; i++) {
        ha[i] = pool_alloc_handle(&a);
        hb[i] = pool_alloc_handle(&b);
        CHECK(pool_get(&a, ha[i]) && pool_get(&b, hb[i]));
        if (!pool_get(&a, ha[i]) || !pool_get(&b, hb[i])) return;
        test_fill(pool_get(&a, ha[i]), 24, (unsigned)i);
        test_fill(pool_get(&b, hb[i]), 24, 100u + (unsigned)i);
    }
    /* the first object of each pool: the same slot, not the same handle */
    CHECK(!pt_same_handle(ha[0], hb[0]));
    for (i = 0; i < N; i++) {
        CHECK(pool_get(&b, ha[i]) == NULL);
        CHECK(pool_get(&a, hb[i]) == NULL);
        CHECK(!pool_free_handle(&b, ha[i]));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(!pool_free_handle(&a, hb[i]));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(pool_get(&a, pool_handle_of(&b, pool_get(&b, hb[i]))) == NULL);
    }
    for (i = 0; i < N; i++) {
        void *x = pool_get(&a, ha[i]), *y = pool_get(&b, hb[i]);
        CHECK(x != NULL && test_holds(x, 24, (unsigned)i));
        CHECK(y != NULL && test_holds(y, 24, 100u + (unsigned)i));
    }
    CHECK_EQ(pool_stats(&a).live, (size_t)N);
    CHECK_EQ(pool_stats(&b).live, (size_t)N);
    CHECK_NO_ERR();
    pool_release(&a);
    pool_release(&b);
}

/* Handles stay right while the pool grows through many blocks (the block
   directory and the hash set are reallocated along the way). */
TEST(pool_handles_across_growth) {
    enum { N = 12000, MORE = 4000 };
    PoolHandle *hs = (PoolHandle *)malloc((N + MORE) * sizeof *hs);
    void **objs = (void **)malloc(N * sizeof *objs);
    size_t i;
    Pool p;
    if (!hs || !objs) { free(hs); free(objs); CHECK(0); return; }
    pool_init(&p, 200, 8);
    for (i = 0; i < N; i++) {
        hs[i] = pool_alloc_handle(&p);
        objs[i] = pool_get(&p, hs[i]);
        CHECK(objs[i] != NULL);
        if (!objs[i]) goto out;
        test_fill(objs[i], 200, (unsigned)i);
    }
    CHECK(pool_stats(&p).grab_count >= 4);   /* grew several times */
    CHECK(pt_disjoint(objs, N, 200));
    for (i = 0; i < N; i++) {
        if (pool_get(&p, hs[i]) != objs[i]) CHECK(0);
        if (!pt_same_handle(pool_handle_of(&p, objs[i]), hs[i])) CHECK(0);
        if (!test_holds(objs[i], 200, (unsigned)i)) CHECK(0);
    }
    for (i = 0; i < N; i += 3) CHECK(pool_free_handle(&p, hs[i]));
    for (i = N; i < N + MORE; i++) {
        void *o;
        hs[i] = pool_alloc_handle(&p);
        o = pool_get(&p, hs[i]);
        CHECK(o != NULL);
        if (o) test_fill(o, 200, (unsigned)i);
    }
    for (i = 0; i < N; i++) {
        if (i % 3 == 0) {
            if (pool_get(&p, hs[i]) != NULL) CHECK(0);
        } else if (pool_get(&p, hs[i]) != objs[i] || !test_holds(objs[i], 200, (unsigned)i)) {
            CHECK(0);
        }
    }
    for (i = N; i < N + MORE; i++) {
        void *o = pool_get(&p, hs[i]);
        if (!o || !test_holds(o, 200, (unsigned)i)) CHECK(0);
    }
    CHECK_EQ(pool_stats(&p).live, (size_t)(N - (N + 2) / 3 + MORE));
    CHECK_NO_ERR();
out:
    pool_release(&p);
    free(hs);
    free(objs);
}

TEST(pool_handle_of_cases) {
    void *local[4] = { NULL, NULL, NULL, NULL };
    void *a, *b, *foreign;
    PoolHandle h;
    Pool p, q;
    pool_init(&p, 32, 8);
    pool_init(&q, 32, 8);
    a = pool_alloc(&p);
    b = pool_alloc(&p);
    foreign = pool_alloc(&q);
    CHECK(a && b && foreign);
    if (!a || !b || !foreign) return;
    h = pool_handle_of(&p, NULL);            /* NULL: misuse, like any non-object */
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(pool_free(&p, a));
    h = pool_handle_of(&p, a);               /* freed */
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    h = pool_handle_of(&p, foreign);         /* another pool's */
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    h = pool_handle_of(&p, (char *)b + 1);   /* interior */
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    h = pool_handle_of(&p, local);          /* stray */
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    h = pool_handle_of(&p, pt_block(&p, 0));     /* a block header */
    CHECK(pt_is_null_handle(h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    h = pool_handle_of(&p, b);
    CHECK(pool_get(&p, h) == b);
    CHECK_NO_ERR();
    CHECK_EQ(pool_stats(&p).live, (size_t)1);
    pool_release(&p);
    pool_release(&q);
}

/* Made-up handles never crash, and only ever name a live object exactly. */
TEST(pool_garbage_handles) {
    enum { N = 3000 };
    uint32_t rng = 12345u;
    size_t i, hits = 0;
    PoolHandle hs[N];
    Pool p;
    pool_init(&p, 24, 8);
    for (i = 0; i < N; i++) {
        hs[i] = pool_alloc_handle(&p);
        CHECK(!pt_is_null_handle(hs[i]));
    }
    for (i = 0; i < N; i += 2) CHECK(pool_free_handle(&p, hs[i]));
    for (i = 0; i < 200000; i++) {
        PoolHandle g;
        void *o;
        uint32_t r = test_rng(&rng);
        switch (i % 4) {
        case 0: g.index = r; g.gen = test_rng(&rng); break;
        case 1: g.index = hs[r % N].index; g.gen = test_rng(&rng); break;
        case 2: g.index = hs[r % N].index ^ (1u << (r >> 27)); g.gen = hs[r % N].gen; break;
        default: g.index = hs[r % N].index; g.gen = hs[r % N].gen + (r & 7) - 3; break;
        }
        o = pool_get(&p, g);
        if (o) {
            hits++;
            if (!pt_same_handle(pool_handle_of(&p, o), g)) CHECK(0);
        }
    }
    {
        PoolHandle g;
        g.index = 0xFFFFFFFFu;
        g.gen = 1;
        CHECK(pool_get(&p, g) == NULL);
        g.gen = 0xFFFFFFFFu;
        CHECK(pool_get(&p, g) == NULL);
        CHECK(!pool_free_handle(&p, g));
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    (void)hits;
    CHECK_EQ(pool_stats(&p).live, (size_t)(N / 2));
    CHECK_NO_ERR();
    pool_release(&p);
}

/* ---- generations run out ------------------------------------------------------------ */

/* White-box: new slots start 6 below POOL_GEN_LIMIT, so a slot has three
   lives. Its last free retires it: retired == 1, capacity one less, no
   handle of it ever valid again, and the pool goes on with other slots. */
TEST(pool_generation_retires_slot) {
    enum { KEPT = 8, N = 3000 };
    PoolHandle kept[KEPT], h;
    void *first, **objs = (void **)malloc(N * sizeof *objs);
    size_t lives = 0, i, cap0, k;
    PoolStats s;
    Pool p;
    if (!objs) { CHECK(0); return; }
    pool_init(&p, 32, 8);
    p.gen_floor = POOL_GEN_LIMIT - 6;
    h = pool_alloc_handle(&p);
    first = pool_get(&p, h);
    CHECK(first != NULL);
    if (!first) { free(objs); return; }
    cap0 = pool_stats(&p).capacity;
    for (;;) {
        void *o;
        kept[lives++] = h;
        CHECK(pool_free_handle(&p, h));
        CHECK_NO_ERR();
        if (pool_stats(&p).retired) break;
        if (lives == KEPT) { CHECK(0); break; }
        h = pool_alloc_handle(&p);
        o = pool_get(&p, h);
        CHECK(o == first);                 /* the same slot, a new generation */
        for (k = 0; k < lives; k++) CHECK(pool_get(&p, kept[k]) == NULL);
    }
    CHECK_EQ(lives, (size_t)3);
    s = pool_stats(&p);
    CHECK_EQ(s.retired, (size_t)1);
    CHECK_EQ(s.capacity, cap0 - 1);
    CHECK_EQ(s.live, (size_t)0);
    for (k = 0; k < lives; k++) {
        CHECK(pool_get(&p, kept[k]) == NULL);
        CHECK(!pool_free_handle(&p, kept[k]));
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    CHECK(!pool_owns(&p, first));
    CHECK(pt_is_null_handle(pool_handle_of(&p, first)));
    CHECK_ERR(ARENA_ERR_MISUSE);
#if PT_FREE_CHECKED
    CHECK(!pool_free(&p, first));
    CHECK_ERR(ARENA_ERR_MISUSE);
#endif
    /* the pool goes on: the retired slot is never handed out again, and the
       other slots retire in their turn: three rounds of N allocs and frees
       use the same N slots up, the fourth takes new ones */
    for (k = 0; k < 4; k++) {
        for (i = 0; i < N; i++) {
            objs[i] = pool_alloc(&p);
            CHECK(objs[i] != NULL && objs[i] != first);
            if (!objs[i]) { free(objs); pool_release(&p); return; }
            test_fill(objs[i], 32, (unsigned)(i + k));
        }
        CHECK(pt_disjoint(objs, N, 32));
        for (i = 0; i < N; i++) CHECK(test_holds(objs[i], 32, (unsigned)(i + k)));
        for (i = 0; i < lives; i++) CHECK(pool_get(&p, kept[i]) == NULL);
        for (i = 0; i < N; i++) CHECK(pool_free(&p, objs[i]));
        CHECK_NO_ERR();
        s = pool_stats(&p);
        CHECK_EQ(s.live, (size_t)0);
        CHECK_EQ(s.retired, 1 + (k >= 2 ? (size_t)N : 0));
    }
    s = pool_stats(&p);
    CHECK_EQ(s.retired, (size_t)N + 1);
    for (i = 0; i < lives; i++) CHECK(pool_get(&p, kept[i]) == NULL);
    {
        void *o = pool_alloc(&p);
        CHECK(o != NULL && o != first);
        CHECK_NO_ERR();
    }
    pool_release(&p);
    CHECK_NO_ERR();
    free(objs);
}

/* A slot whose last life ends in pool_reset is retired too (pool_reset is
   O(blocks): the slot's header learns it when the slot is reached again,
   at the next allocation). */
TEST(pool_generation_retires_on_reset) {
    PoolHandle kept[3];
    void *first = NULL, *o;
    size_t k, cap0 = 0, i;
    Pool p;
    pool_init(&p, 24, 8);
    p.gen_floor = POOL_GEN_LIMIT - 6;
    for (k = 0; k < 3; k++) {
        kept[k] = pool_alloc_handle(&p);
        o = pool_get(&p, kept[k]);
        CHECK(o != NULL);
        if (!k) { first = o; cap0 = pool_stats(&p).capacity; }
        CHECK(o == first);
        if (k < 2) CHECK(pool_free(&p, o));
    }
    CHECK_EQ(pool_stats(&p).retired, (size_t)0);
    pool_reset(&p);                          /* the third life ends here */
    CHECK_NO_ERR();
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    for (k = 0; k < 3; k++) CHECK(pool_get(&p, kept[k]) == NULL);
    o = pool_alloc(&p);
    CHECK(o != NULL && o != first);
    CHECK_EQ(pool_stats(&p).retired, (size_t)1);
    CHECK_EQ(pool_stats(&p).capacity, cap0 - 1);
    for (k = 0; k < 3; k++) CHECK(pool_get(&p, kept[k]) == NULL);
    for (i = 1; i + 1 < cap0; i++) {         /* the rest of the block, no growth */
        o = pool_alloc(&p);
        CHECK(o != NULL && o != first);
    }
    CHECK_EQ(pool_stats(&p).block_count, (size_t)1);
    for (k = 0; k < 3; k++) CHECK(pool_get(&p, kept[k]) == NULL);
    CHECK_NO_ERR();
    pool_release(&p);
}

/* After a slot retired, pool_release must still leave a usable pool (and
   must not turn every new slot into a retired one). A cap keeps a runaway
   growth short. */
TEST(pool_release_after_retirement) {
    PoolHandle kept[3], h;
    ArenaOptions o;
    size_t k;
    void *obj;
    Pool p;
    memset(&o, 0, sizeof o);
    o.max_bytes = (size_t)2 << 20;
    pool_init_opts(&p, 32, 8, &o);
    p.gen_floor = POOL_GEN_LIMIT - 6;
    for (k = 0; k < 3; k++) {
        kept[k] = h = pool_alloc_handle(&p);
        CHECK(pool_get(&p, h) != NULL);
        CHECK(pool_free_handle(&p, h));
    }
    CHECK_EQ(pool_stats(&p).retired, (size_t)1);
    pool_release(&p);
    CHECK_NO_ERR();
    obj = pool_alloc(&p);
    CHECK(obj != NULL);
    CHECK_NO_ERR();
    test_err_clear();
    CHECK(pool_stats(&p).block_count <= 1);
    CHECK(pool_stats(&p).retired == 0);
    for (k = 0; k < 3; k++) CHECK(pool_get(&p, kept[k]) == NULL);
    pool_release(&p);
}

/* ---- statistics ---------------------------------------------------------------------- */

TEST(pool_stats_consistent) {
    enum { N = 5000 };
    void **objs = (void **)malloc(N * sizeof *objs);
    ArenaOptions o;
    PoolStats s;
    size_t i;
    Pool p;
    if (!objs) { CHECK(0); return; }
    o = test_source_opts(&pt_src, 0);
    pool_init_opts(&p, 72, 8, &o);
    s = pool_stats(&p);
    CHECK_EQ(s.live, (size_t)0);
    CHECK_EQ(s.capacity, (size_t)0);
    CHECK_EQ(s.peak_live, (size_t)0);
    CHECK_EQ(s.block_count, (size_t)0);
    CHECK_EQ(s.bytes_held, (size_t)0);
    CHECK_EQ(s.grab_count, (size_t)0);
    CHECK_EQ(s.retired, (size_t)0);
    for (i = 0; i < 10; i++) objs[i] = pool_alloc(&p);
    s = pool_stats(&p);
    CHECK_EQ(s.live, (size_t)10);
    CHECK_EQ(s.peak_live, (size_t)10);
    CHECK_EQ(s.block_count, (size_t)1);
    CHECK(s.capacity >= 10);
    CHECK_EQ(s.grab_count, pt_src.grabs);   /* the block, its directory and table */
    CHECK_EQ(s.bytes_held, pt_src.bytes_out);
    for (i = 0; i < 4; i++) CHECK(pool_free(&p, objs[i]));
    s = pool_stats(&p);
    CHECK_EQ(s.live, (size_t)6);
    CHECK_EQ(s.peak_live, (size_t)10);
    for (i = 0; i < 2; i++) objs[i] = pool_alloc(&p);
    CHECK_EQ(pool_stats(&p).peak_live, (size_t)10);
    for (i = 2; i < 4; i++) objs[i] = pool_alloc(&p);
    objs[10] = pool_alloc(&p);
    CHECK_EQ(pool_stats(&p).live, (size_t)11);
    CHECK_EQ(pool_stats(&p).peak_live, (size_t)11);
    for (i = 11; i < N; i++) {
        objs[i] = pool_alloc(&p);
        CHECK(objs[i] != NULL);
        if (!objs[i]) { free(objs); pool_release(&p); return; }
        if (i % 500 == 0) {
            s = pool_stats(&p);
            CHECK_EQ(s.live, i + 1);
            CHECK(s.capacity >= s.live);
            CHECK_EQ(s.capacity, pt_block_slots(&p));
            CHECK(s.bytes_held >= s.capacity * 72);
            CHECK_EQ(s.bytes_held, pt_src.bytes_out);
            CHECK_EQ(s.grab_count, pt_src.grabs);
        }
    }
    s = pool_stats(&p);
    CHECK(s.block_count > 1);
    CHECK_EQ(s.peak_live, (size_t)N);
    for (i = 0; i < N; i += 2) CHECK(pool_free(&p, objs[i]));
    s = pool_stats(&p);
    CHECK_EQ(s.live, (size_t)N / 2);
    CHECK_EQ(s.peak_live, (size_t)N);
    pool_reset(&p);
    s = pool_stats(&p);
    CHECK_EQ(s.live, (size_t)0);
    CHECK_EQ(s.peak_live, (size_t)N);
    CHECK_EQ(s.bytes_held, pt_src.bytes_out);
    CHECK_NO_ERR();
    pool_release(&p);
    s = pool_stats(&p);
    CHECK_EQ(s.live, (size_t)0);
    CHECK_EQ(s.capacity, (size_t)0);
    CHECK_EQ(s.block_count, (size_t)0);
    CHECK_EQ(s.bytes_held, (size_t)0);
    CHECK_EQ(pt_src.live, (size_t)0);
    free(objs);
}

/* peak_live after pool_release does not depend on whether an object
   happened to be freed before the release: the same history of live
   counts gives the same statistic. */
TEST(pool_peak_after_release) {
    size_t peak[2], k, i;
    for (k = 0; k < 2; k++) {
        void *objs[10];
        Pool p;
        pool_init(&p, 16, 8);
        for (i = 0; i < 10; i++) objs[i] = pool_alloc(&p);
        if (k == 1) {   /* down to 9 and back up to 10: the same peak */
            CHECK(pool_free(&p, objs[9]));
            objs[9] = pool_alloc(&p);
        }
        CHECK_EQ(pool_stats(&p).peak_live, (size_t)10);
        pool_release(&p);
        peak[k] = pool_stats(&p).peak_live;
        CHECK(peak[k] == 0 || peak[k] == 10);
    }
    CHECK_EQ(peak[0], peak[1]);
    CHECK_NO_ERR();
}

/* ---- low addresses and NULL -----------------------------------------------------------
   Run last: with the bugs these look for, they crash. */

TEST(pool_free_null_is_noop) {
    Pool p;
    PoolStats before;
    pool_init(&p, 32, 8);
    CHECK(pool_free(&p, NULL));        /* a pool with no block yet */
    CHECK_NO_ERR();
    CHECK(pool_alloc(&p) != NULL);
    CHECK(pool_alloc(&p) != NULL);
    before = pool_stats(&p);
    CHECK(pool_free(&p, NULL));        /* a pool with blocks */
    CHECK_NO_ERR();
    CHECK(pt_same_stats(before, pool_stats(&p)));
    pool_release(&p);
    pool_init(&p, 32, 3);              /* a failed pool */
    CHECK_ERR(ARENA_ERR_ALIGN);
    CHECK(pool_free(&p, NULL));
    CHECK_NO_ERR();
}

/* Pointers near address 0 (they mask to a block address of 0), and at the
   top of the address space. */
TEST(pool_low_address_pointers) {
    uintptr_t low[] = { 1, 8, 16, 4096, 4097, 0, 0, 0 };
    size_t k;
    void *o;
    Pool p;
    pool_init(&p, 32, 8);
    o = pool_alloc(&p);
    CHECK(o != NULL);
    /* a slot start at the bottom and at the top of the address space */
    low[5] = p.stride;
    low[6] = UINTPTR_MAX - p.stride + 1;
    low[7] = UINTPTR_MAX - 7;
    for (k = 0; k < sizeof low / sizeof low[0]; k++) {
        void *bad = (void *)low[k];
        CHECK(!pool_owns(&p, bad));
        CHECK_NO_ERR();
        CHECK(pt_is_null_handle(pool_handle_of(&p, bad)));
        CHECK_ERR(ARENA_ERR_MISUSE);
#if PT_FREE_CHECKED
        pt_refuse(&p, bad);
#endif
    }
    CHECK(pool_owns(&p, o));
    CHECK_EQ(pool_stats(&p).live, (size_t)1);
    pool_release(&p);
}

void suite_pool(void) {
    RUN(pool_sizes_and_alignments);
    RUN(pool_init_macro_types);
    RUN(pool_cache_line_alignment);
    RUN(pool_size_zero);
    RUN(pool_init_bad_alignment);
    RUN(pool_init_huge_size);
    RUN(pool_reinit_same_pool);
    RUN(pool_zeroed_is_inert);
#if PT_FREE_CHECKED
    RUN(pool_free_misuse);
    RUN(pool_double_free_paths);
    RUN(pool_free_header_lookalike);
    RUN(pool_free_never_handed_out);
    RUN(pool_free_after_reset);
    RUN(pool_free_after_release);
#endif
    RUN(pool_owns_cases);
    RUN(pool_random_scale_and_each);
    RUN(pool_each_edge_cases);
    RUN(pool_each_frees_others);
    RUN(pool_each_reset_release_refused);
    RUN(pool_largest_objects);
    RUN(pool_alloc_with_handle_kinds);
    RUN(pool_trim_gives_blocks_back);
    RUN(pool_trim_gives_pages_back);
    RUN(pool_trim_gives_middle_pages_back);
    RUN(pool_trim_holes_of_large_objects);
    RUN(pool_trim_holes_under_a_cap);
    RUN(pool_shared_budget);
    RUN(pool_double_free_deep_in_list);
    RUN(pool_reset_keeps_memory);
    RUN(pool_release_balances_and_kills_handles);
    RUN(pool_max_bytes_cap);
    RUN(pool_source_fails_each_grab);
    RUN(pool_buffer_basic);
    RUN(pool_buffer_alignments);
    RUN(pool_buffer_bad_arguments);
    RUN(pool_handles_basic);
    RUN(pool_null_handle);
    RUN(pool_handles_after_plain_use);
    RUN(pool_stale_handle_after_reuse);
    RUN(pool_handle_of_other_pool);
    RUN(pool_handles_across_growth);
    RUN(pool_handle_of_cases);
    RUN(pool_garbage_handles);
    RUN(pool_generation_retires_slot);
    RUN(pool_generation_retires_on_reset);
    RUN(pool_release_after_retirement);
    RUN(pool_stats_consistent);
    RUN(pool_peak_after_release);
    RUN(pool_free_null_is_noop);
    RUN(pool_low_address_pointers);
}
