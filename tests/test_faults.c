/* test_faults.c - fault injection: a source that fails its k-th grab.

   Each workload (arena, stack, pool) runs once with a source that never
   fails, which counts its grabs G; then once for every k in 1..G with a
   source that fails exactly its k-th grab. In every run:
     - the call during which the grab failed returns its failure value and
       reports exactly once, ARENA_ERR_OOM; every other call succeeds and
       reports nothing (one failed grab is one failed call, never silent);
     - what was allocated before is intact (witnesses filled with a pattern,
       all checked after the failed call and at every phase boundary);
     - the structure keeps working: the rest of the workload runs and its
       calls succeed;
     - the stats agree with the source after every call, and after release
       every grabbed block was dropped exactly once with its own size.

   Common subset of C99 and C++11: void * cast, no designated initializers,
   no compound literals, no VLAs, structs zeroed with memset. */
#include <stdlib.h>
#include <stdio.h>
#include "test.h"
#include "../pool.h"

void suite_faults(void);


/* ---- shared state ------------------------------------------------------------ */

enum { FAULT_MAX_W = 1024, FAULT_MAX_DEFERS = 64 };

typedef struct FaultWitness {
    void *p;
    size_t n;
    unsigned seed;
    PoolHandle h;           /* pools: its handle, or the null handle */
} FaultWitness;

typedef struct FaultRun {
    TestSource src;
    size_t failed_seen;     /* src.failed as of the last check */
    size_t failed_calls;    /* calls that failed (must end up 1, or 0 for k = 0) */
    FaultWitness w[FAULT_MAX_W];
    size_t nw;
    unsigned seed;
    size_t rot;             /* rotating spot check */
    int defer_runs[FAULT_MAX_DEFERS];
    int defer_registered[FAULT_MAX_DEFERS];
    size_t ndefers;
} FaultRun;

static FaultRun fr;

static void fault_begin(FaultRun *f, size_t fail_at) {
    memset(f, 0, sizeof *f);
    test_source_init(&f->src);
    f->src.fail_at = fail_at;
    test_err_clear();
}

static ArenaOptions fault_opts(FaultRun *f, size_t block_size, size_t max_block_size) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    o.source = test_source(&f->src);
    o.block_size = block_size;
    o.max_block_size = max_block_size;
    return o;
}

static void fault_add(FaultRun *f, void *p, size_t n, PoolHandle h) {
    CHECK(f->nw < FAULT_MAX_W);
    if (f->nw == FAULT_MAX_W) return;
    f->w[f->nw].p = p;
    f->w[f->nw].n = n;
    f->w[f->nw].seed = ++f->seed;
    f->w[f->nw].h = h;
    test_fill(p, n, f->seed);
    f->nw++;
}

static PoolHandle fault_null_handle(void) {
    PoolHandle h;
    memset(&h, 0, sizeof h);
    return h;
}

static void fault_check_all(FaultRun *f) {
    size_t i;
    for (i = 0; i < f->nw; i++)
        CHECK(test_intact(f->w[i].p, f->w[i].n, f->w[i].seed));
}

/* After every call: a failed grab during the call <=> the call failed with
   exactly one OOM report; a spot check of the witnesses, all of them after
   a failure. Returns ok. */
static int fault_after(FaultRun *f, int ok) {
    if (f->src.failed != f->failed_seen) {
        f->failed_seen = f->src.failed;
        f->failed_calls++;
        CHECK(!ok);
        CHECK_ERR(ARENA_ERR_OOM);
        fault_check_all(f);
    } else {
        CHECK(ok);
        CHECK_NO_ERR();
        test_err_clear();
    }
    if (f->nw) {
        FaultWitness *w = &f->w[f->nw - 1];
        CHECK(test_intact(w->p, w->n, w->seed));
        w = &f->w[f->rot++ % f->nw];
        CHECK(test_intact(w->p, w->n, w->seed));
    }
    return ok;
}

/* Every block back, once, with its size; and the k-th grab did fail (if
   the run got that far: block addresses decide alignment padding, so a run
   may make a grab more or less than the clean one). */
static void fault_end(FaultRun *f, size_t fail_at) {
    CHECK_EQ(f->src.live, (size_t)0);
    CHECK_EQ(f->src.bytes_out, (size_t)0);
    CHECK_EQ(f->src.bad_drops, (size_t)0);
    CHECK_EQ(f->src.drops, f->src.grabs - f->src.failed);
    CHECK_EQ(f->src.failed, (size_t)(fail_at && f->src.grabs >= fail_at ? 1 : 0));
    CHECK_EQ(f->failed_calls, f->src.failed);
    CHECK_NO_ERR();
}

#define FAULT_STATS_MATCH(f, st) \
    do { CHECK_EQ((st).bytes_held, (f)->src.bytes_out); \
         CHECK_EQ((st).grab_count, (f)->src.grabs); } while (0)

/* ---- the arena workload --------------------------------------------------------- */

static void fault_defer_fn(void *ctx) { (*(int *)ctx)++; }

static const size_t fault_sizes[] = { 1, 24, 100, 7, 300, 16, 900, 33, 2000, 5, 64, 1500 };
static const size_t fault_aligns[] = { 1, 16, 64, 8, 256, 4096, 32, 2 };
#define FAULT_NELEM(a) (sizeof (a) / sizeof (a)[0])

static void fault_arena_alloc(FaultRun *f, Arena *a, size_t i) {
    size_t n = fault_sizes[i % FAULT_NELEM(fault_sizes)];
    size_t al = fault_aligns[i % FAULT_NELEM(fault_aligns)];
    void *p = arena_alloc_aligned(a, n, al);
    if (fault_after(f, p != NULL)) {
        CHECK(test_is_aligned(p, al));
        CHECK(test_is_aligned(p, ARENA_MIN_ALIGN));
        fault_add(f, p, n, fault_null_handle());
    }
}

static void fault_arena_step(FaultRun *f, Arena *a, size_t i, size_t protect) {
    switch (i % 9) {
    case 0:
    case 1:
        fault_arena_alloc(f, a, i);
        break;
    case 2: {                                   /* calloc: zeroed */
        size_t n = 3 + i % 5, sz = fault_sizes[(i / 3) % FAULT_NELEM(fault_sizes)];
        unsigned char *p = (unsigned char *)arena_calloc(a, n, sz);
        if (fault_after(f, p != NULL)) {
            size_t j, zero = 1;
            for (j = 0; j < n * sz; j++) zero &= p[j] == 0;
            CHECK(zero);
            fault_add(f, p, n * sz, fault_null_handle());
        }
        break;
    }
    case 3: {                                   /* realloc the newest witness: grow */
        FaultWitness *w;
        void *q;
        size_t nn;
        if (f->nw <= protect) { fault_arena_alloc(f, a, i); break; }
        w = &f->w[f->nw - 1];
        nn = w->n * 3 + 40;
        q = arena_realloc(a, w->p, w->n, nn);
        if (fault_after(f, q != NULL)) {
            CHECK(test_intact(q, w->n, w->seed));
            CHECK(test_is_aligned(q, ARENA_MIN_ALIGN));
            w->p = q;
            w->n = nn;
            test_fill(q, nn, w->seed);
        } else {
            CHECK(test_intact(w->p, w->n, w->seed));
        }
        break;
    }
    case 4: {                                   /* realloc an older one: a copy */
        FaultWitness *w;
        void *q;
        size_t nn;
        if (!f->nw) break;
        w = &f->w[(i * 7) % f->nw];
        nn = w->n + 100;
        q = arena_realloc(a, w->p, w->n, nn);
        if (fault_after(f, q != NULL)) {
            CHECK(test_intact(q, w->n, w->seed));
            if (q == w->p) {                    /* it was the newest: grown in place */
                w->n = nn;
                test_fill(q, nn, w->seed);
            } else {
                CHECK(test_intact(w->p, w->n, w->seed));   /* the old copy is untouched */
                fault_add(f, q, nn, fault_null_handle());
            }
        }
        break;
    }
    case 5: {                                   /* sprintf, long enough to grow */
        char want[2100];
        int width = (int)(50 + (i * 97) % 1900);
        char *s = arena_sprintf(a, "<%0*d|%s>", width, (int)i, "tail");
        snprintf(want, sizeof want, "<%0*d|%s>", width, (int)i, "tail");
        if (fault_after(f, s != NULL)) {
            CHECK(strcmp(s, want) == 0);
            fault_add(f, s, strlen(s) + 1, fault_null_handle());
        }
        break;
    }
    case 6: {                                   /* a cleanup */
        size_t d = f->ndefers;
        bool ok;
        if (d == FAULT_MAX_DEFERS) break;
        f->ndefers++;
        ok = arena_defer(a, fault_defer_fn, &f->defer_runs[d]);
        if (fault_after(f, ok)) f->defer_registered[d] = 1;
        break;
    }
    case 7: {                                   /* strdup */
        char *s = arena_strdup(a, "a string kept in the arena");
        if (fault_after(f, s != NULL)) {
            CHECK(strcmp(s, "a string kept in the arena") == 0);
            fault_add(f, s, 27, fault_null_handle());
        }
        break;
    }
    default: {                                  /* a temp scope */
        ArenaTemp t = arena_temp_begin(a);
        void *p = arena_alloc(a, 700 + i * 13);
        if (fault_after(f, p != NULL)) memset(p, 0x5A, 700 + i * 13);
        arena_temp_end(t);
        fault_after(f, 1);
        break;
    }
    }
    {
        ArenaStats st = arena_stats(a);
        FAULT_STATS_MATCH(f, st);
        CHECK_EQ(st.block_count, f->src.live);
    }
}

/* Every registered cleanup with index >= from has run exactly once; the
   others have not run. */
static void fault_check_defers(FaultRun *f, size_t from) {
    size_t d;
    for (d = 0; d < f->ndefers; d++) {
        int want = d >= from && f->defer_registered[d] ? 1 : 0;
        CHECK_EQ(f->defer_runs[d], want);
    }
}

static size_t fault_arena_workload(size_t fail_at) {
    FaultRun *f = &fr;
    Arena a;
    ArenaOptions o;
    ArenaMark m;
    size_t i, keep_w, keep_d;
    fault_begin(f, fail_at);
    o = fault_opts(f, 256, 1024);
    arena_init(&a, &o);

    /* phase 1: mixed work, then a part of it under a mark, rewound */
    for (i = 0; i < 40; i++) fault_arena_step(f, &a, i, 0);
    fault_check_all(f);
    m = arena_mark(&a);
    keep_w = f->nw;
    keep_d = f->ndefers;
    for (i = 40; i < 80; i++) fault_arena_step(f, &a, i, keep_w);
    fault_check_all(f);
    arena_rewind(&a, m);
    f->nw = keep_w;
    fault_after(f, 1);
    fault_check_all(f);
    fault_check_defers(f, keep_d);
    {
        size_t d;
        for (d = keep_d; d < f->ndefers; d++)   /* done (a failed one never runs) */
            if (f->defer_registered[d]) f->defer_registered[d] = 2;
    }

    /* phase 2: more work; then reset runs the rest of the cleanups */
    for (i = 80; i < 120; i++) fault_arena_step(f, &a, i, 0);
    fault_check_all(f);
    arena_reset(&a);
    f->nw = 0;
    fault_after(f, 1);
    fault_check_defers(f, 0);

    /* phase 3: the arena works after reset; release gives everything back */
    for (i = 120; i < 160; i++) fault_arena_step(f, &a, i, 0);
    fault_check_all(f);
    arena_release(&a);
    f->nw = 0;
    fault_after(f, 1);
    fault_check_defers(f, 0);
    fault_end(f, fail_at);
    return f->src.grabs;
}

/* ---- the stack workload ------------------------------------------------------------ */

static void fault_stack_push(FaultRun *f, ArenaStack *s, size_t i) {
    size_t n = fault_sizes[i % FAULT_NELEM(fault_sizes)];
    size_t al = fault_aligns[(i / 2) % FAULT_NELEM(fault_aligns)];
    size_t depth = s->depth;
    void *p = arena_stack_push_aligned(s, n, al);
    if (fault_after(f, p != NULL)) {
        CHECK(test_is_aligned(p, al));
        CHECK(s->top == p);
        CHECK_EQ(s->depth, depth + 1);
        fault_add(f, p, n, fault_null_handle());
    } else {
        CHECK_EQ(s->depth, depth);
    }
}

static void fault_stack_pop(FaultRun *f, ArenaStack *s) {
    if (!f->nw) return;
    CHECK(s->top == f->w[f->nw - 1].p);
    CHECK(test_intact(f->w[f->nw - 1].p, f->w[f->nw - 1].n, f->w[f->nw - 1].seed));
    {
        bool ok = arena_stack_pop(s, f->w[f->nw - 1].p);
        f->nw--;
        fault_after(f, ok);
    }
    CHECK_EQ(s->depth, f->nw);
}

static size_t fault_stack_workload(size_t fail_at) {
    FaultRun *f = &fr;
    ArenaStack s;
    ArenaOptions o;
    size_t i, j;
    fault_begin(f, fail_at);
    o = fault_opts(f, 256, 2048);
    arena_stack_init(&s, &o);
    /* grow, shrink, grow: pops cross block boundaries both ways */
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 30; j++) fault_stack_push(f, &s, i * 30 + j);
        for (j = 0; j < 18; j++) fault_stack_pop(f, &s);
        fault_check_all(f);
        {
            ArenaStats st = arena_stats(&s.arena);
            FAULT_STATS_MATCH(f, st);
        }
    }
    while (f->nw) fault_stack_pop(f, &s);
    CHECK_EQ(s.depth, (size_t)0);
    for (j = 0; j < 20; j++) fault_stack_push(f, &s, 100 + j);
    arena_stack_reset(&s);
    f->nw = 0;
    fault_after(f, 1);
    CHECK_EQ(s.depth, (size_t)0);
    for (j = 0; j < 20; j++) fault_stack_push(f, &s, 200 + j);
    fault_check_all(f);
    arena_stack_release(&s);
    f->nw = 0;
    fault_after(f, 1);
    fault_end(f, fail_at);
    return f->src.grabs;
}

/* ---- the pool workload -------------------------------------------------------------- */

static void fault_pool_alloc(FaultRun *f, Pool *p, size_t i) {
    size_t live = pool_stats(p).live;
    int ok;
    if (i % 3 == 0) {
        PoolHandle h = pool_alloc_handle(p);
        ok = fault_after(f, h.gen != 0);
        if (ok) {
            void *obj = pool_get(p, h);
            CHECK(obj != NULL);
            if (!obj) return;
            CHECK(test_is_aligned(obj, 16));
            fault_add(f, obj, p->size, h);
        } else {
            CHECK(h.index == 0 && h.gen == 0);
        }
    } else {
        void *obj = i % 3 == 1 ? pool_alloc(p) : pool_calloc(p);
        ok = fault_after(f, obj != NULL);
        if (ok) {
            CHECK(test_is_aligned(obj, 16));
            CHECK(pool_owns(p, obj));
            fault_add(f, obj, p->size, fault_null_handle());
        }
    }
    CHECK_EQ(pool_stats(p).live, live + (ok ? 1 : 0));
}

static void fault_pool_free(FaultRun *f, Pool *p, size_t k) {
    FaultWitness w = f->w[k];
    bool ok;
    CHECK(test_intact(w.p, w.n, w.seed));
    f->w[k] = f->w[--f->nw];
    if (w.h.gen) {
        CHECK(pool_get(p, w.h) == w.p);
        ok = pool_free_handle(p, w.h);
        CHECK(pool_get(p, w.h) == NULL);
    } else {
        ok = pool_free(p, w.p);
    }
    fault_after(f, ok);
    CHECK(!pool_owns(p, w.p));
}

static size_t fault_pool_workload(size_t fail_at) {
    FaultRun *f = &fr;
    Pool p;
    ArenaOptions o;
    size_t i;
    fault_begin(f, fail_at);
    o = fault_opts(f, 0, 1);   /* the pool picks the block size; no doubling */
    pool_init_opts(&p, 3000, 16, &o);
    CHECK_NO_ERR();
    for (i = 0; i < 300; i++) {
        fault_pool_alloc(f, &p, i);
        if (i % 4 == 3 && f->nw > 2) fault_pool_free(f, &p, (i * 5) % f->nw);
    }
    fault_check_all(f);
    {
        PoolStats st = pool_stats(&p);
        CHECK_EQ(st.live, f->nw);
        CHECK_EQ(st.bytes_held, f->src.bytes_out);
        CHECK_EQ(st.grab_count, f->src.grabs);
    }
    /* every live handle still resolves; pool_each sees exactly the live set */
    for (i = 0; i < f->nw; i++)
        if (f->w[i].h.gen) CHECK(pool_get(&p, f->w[i].h) == f->w[i].p);
    pool_reset(&p);
    for (i = 0; i < f->nw; i++) {
        if (f->w[i].h.gen) CHECK(pool_get(&p, f->w[i].h) == NULL);
        CHECK(!pool_owns(&p, f->w[i].p));
    }
    f->nw = 0;
    fault_after(f, 1);
    for (i = 0; i < 400; i++) fault_pool_alloc(f, &p, i);   /* reuse, then grow */
    fault_check_all(f);
    CHECK_EQ(pool_stats(&p).live, f->nw);
    pool_release(&p);
    f->nw = 0;
    fault_after(f, 1);
    fault_end(f, fail_at);
    return f->src.grabs;
}

/* ---- the driver ------------------------------------------------------------------------ */

static void fault_every_k(const char *name, size_t (*workload)(size_t), size_t min_grabs) {
    size_t grabs = workload(0), k;
    int before = test__check_failures;
    CHECK(grabs >= min_grabs);
    for (k = 1; k <= grabs; k++) {
        int b = test__check_failures;
        workload(k);
        if (test__check_failures != b)
            fprintf(stderr, "  %s: failing grab %u of %u\n", name, (unsigned)k, (unsigned)grabs);
    }
    if (test__check_failures != before)
        fprintf(stderr, "  %s: %u grabs in the clean run\n", name, (unsigned)grabs);
}

TEST(faults_arena) { fault_every_k("arena", fault_arena_workload, 20); }
TEST(faults_stack) { fault_every_k("stack", fault_stack_workload, 10); }
TEST(faults_pool) { fault_every_k("pool", fault_pool_workload, 12); }

void suite_faults(void) {
    RUN(faults_arena);
    RUN(faults_stack);
    RUN(faults_pool);
}
