/* test_shared.c - ARENA_SHARED: one arena used by many threads at once.
   Single-thread behaviour of a shared arena (every edge as for a plain
   one), then stress runs of 2-16 threads (oversubscribed on purpose)
   whose every allocation is recorded in a per-thread shadow and checked:
   content intact, aligned, no two allocations of any threads overlapping,
   frame-boundary resets, rewinds and releases between rounds; the cap
   and source failures under contention (one report per failed call);
   a reset while a thread allocates is refused (ARENA_ERR_MISUSE). */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdlib.h>
#include "threads.h"
#include "../pool.h"

void suite_shared(void);

static ArenaOptions shared_opts(size_t block_size) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    o.block_size = block_size;
    o.flags = ARENA_SHARED;
    return o;
}

/* ---- one thread --------------------------------------------------------------- */

TEST(shared_flags_checked) {
    Arena a;
    ArenaStack s;
    ArenaOptions o = shared_opts(0);
    o.flags |= 0x80u;
    arena_init(&a, &o);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(a.opt.flags == ARENA_SHARED);
    CHECK(arena_alloc(&a, 10) != NULL);
    arena_release(&a);
    o.flags = ARENA_SHARED;
    arena_stack_init(&s, &o);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(arena_stack_push(&s, 10) != NULL);
    CHECK(arena_stack_pop(&s, s.top));
    arena_stack_release(&s);
    CHECK_NO_ERR();
}

/* The inline fast paths of a shared arena never bump: its cur/end stay
   empty, so every allocation takes the atomic path. */
TEST(shared_inline_range_stays_empty) {
    Arena a;
    ArenaOptions o = shared_opts(1024);
    int i;
    arena_init(&a, &o);
    for (i = 0; i < 100; i++) {
        char *p = (char *)arena_alloc(&a, (size_t)i * 7);
        CHECK(p != NULL && test_is_aligned(p, ARENA_MIN_ALIGN));
        CHECK(a.cur == a.end);
    }
    CHECK(arena_stats(&a).bytes_used >= 99u * 98u / 2u * 7u);
    arena_reset(&a);
    CHECK(a.cur == a.end);
    CHECK_EQ(arena_stats(&a).bytes_used, 0u);
    arena_release(&a);
    CHECK(a.cur == a.end);
    CHECK_NO_ERR();
}

TEST(shared_edges) {
    Arena a;
    ArenaOptions o = shared_opts(512);
    size_t align, used;
    char *p, *q;
    arena_init(&a, &o);
    p = (char *)arena_alloc(&a, 0);
    CHECK(p != NULL);
    CHECK(arena_alloc(&a, 100) != NULL);
    used = arena_stats(&a).bytes_used;
    CHECK(arena_alloc(&a, 0) != NULL);   /* in a block: takes nothing */
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    CHECK(arena_alloc(&a, SIZE_MAX) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(arena_alloc_aligned(&a, 8, 24) == NULL);
    CHECK_ERR(ARENA_ERR_ALIGN);
    CHECK(arena_calloc(&a, SIZE_MAX / 2, 3) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    for (align = 1; align <= 8192; align *= 2) {
        p = (char *)arena_alloc_aligned(&a, 33, align);
        CHECK(p && test_is_aligned(p, align));
        if (p) test_fill(p, 33, (unsigned)align);
        CHECK(p && test_holds(p, 33, (unsigned)align));
    }
    p = (char *)arena_calloc(&a, 100, 3);
    CHECK(p && p[0] == 0 && p[299] == 0);
    CHECK(arena_strdup(&a, "abc") && !strcmp(arena_strdup(&a, "abc"), "abc"));
    CHECK(!strcmp(arena_sprintf(&a, "%d-%s", 42, "x"), "42-x"));
    CHECK(!strcmp(arena_sprintf(&a, "%.2f", 1.5), "1.50"));
    /* realloc: the newest allocation grows in place, others are copied
       (after a reset, so that p starts a kept block: where the aligned
       allocations above left the top depends on the blocks' addresses) */
    arena_reset(&a);
    p = (char *)arena_alloc(&a, 40);
    test_fill(p, 40, 9);
    q = (char *)arena_realloc(&a, p, 40, 100);
    CHECK(q == p && test_holds(q, 40, 9));
    CHECK(arena_alloc(&a, 10) != NULL);   /* p is no longer the newest */
    q = (char *)arena_realloc(&a, p, 100, 400);
    CHECK(q && q != p && test_holds(q, 40, 9));
    {
        char stray[64];
        CHECK(arena_realloc(&a, stray, 64, 128) == NULL);
        CHECK_ERR(ARENA_ERR_MISUSE);
    }
    {
        ArenaArray(int) arr;
        int i, ok = 1;
        memset(&arr, 0, sizeof arr);
        for (i = 0; i < 1000; i++) ok &= arena_array_push(&a, &arr, i);
        CHECK(ok && arr.count == 1000 && arr.items[999] == 999 && arr.items[0] == 0);
    }
    arena_release(&a);
    CHECK_NO_ERR();
}

static void count_defer(void *ctx) { (*(int *)ctx)++; }

TEST(shared_marks_defers_and_reuse) {
    TestSource src;
    Arena a;
    ArenaOptions o = shared_opts(1024);
    ArenaMark m;
    int ran = 0, cycle, i;
    size_t grabs = 0;
    test_source_init(&src);
    o.source = test_source(&src);
    arena_init(&a, &o);
    CHECK(arena_alloc(&a, 100) != NULL);
    m = arena_mark(&a);
    CHECK(arena_defer(&a, count_defer, &ran));
    for (i = 0; i < 50; i++) CHECK(arena_alloc(&a, 100) != NULL);
    arena_rewind(&a, m);
    CHECK_EQ(ran, 1);
    CHECK_EQ(arena_stats(&a).bytes_used, m.pos);
    arena_rewind(&a, m);   /* the same mark again is fine: the top is there */
    CHECK_NO_ERR();
    /* a frame loop to the same peak makes no source call once warm */
    for (cycle = 0; cycle < 5; cycle++) {
        CHECK(arena_defer(&a, count_defer, &ran));
        for (i = 0; i < 200; i++) CHECK(arena_alloc(&a, 64 + (size_t)i) != NULL);
        if (cycle == 1) grabs = src.grabs;
        arena_reset(&a);
    }
    CHECK_EQ(src.grabs, grabs);
    CHECK_EQ(ran, 6);
    arena_rewind(&a, m);   /* taken before a reset */
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_release(&a);
    CHECK_EQ(src.live, 0u);
    CHECK_EQ(src.bad_drops, 0u);
    CHECK_EQ(src.grabs, src.drops);
    /* usable again after release, still shared */
    CHECK(arena_alloc(&a, 10) != NULL && a.cur == a.end);
    arena_release(&a);
    CHECK_NO_ERR();
}

/* Marks of a shared arena are as exact as an unshared one's (the inline
   mark and rewind leave a shared arena to the locked path), and a shared
   arena has no snapshots. */
TEST(shared_marks_exact_and_no_snapshots) {
    Arena a, store = test_empty_arena();
    ArenaOptions o = shared_opts(1024);
    ArenaSnapshot snap;
    ArenaMark outer, inner;
    size_t used;
    arena_init(&a, &o);
    CHECK(arena_alloc(&a, 48) != NULL);
    outer = arena_mark(&a);
    CHECK_EQ(outer.pos, arena_stats(&a).bytes_used);
    CHECK(arena_alloc(&a, 64) != NULL);
    inner = arena_mark(&a);
    CHECK(arena_alloc(&a, 64) != NULL);
    arena_rewind(&a, outer);
    CHECK_NO_ERR();
    used = arena_stats(&a).bytes_used;
    CHECK_EQ(used, outer.pos);
    CHECK(arena_alloc(&a, 500) != NULL);   /* grown back past `inner` */
    arena_rewind(&a, inner);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!arena_snapshot(&a, &snap, &store));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(a.cur, a.end);   /* still shared: the inline range stays empty */
    arena_release(&a);
    arena_release(&store);
}

TEST(shared_source_failure_and_cap) {
    TestSource src;
    Arena a;
    ArenaOptions o = shared_opts(1024);
    char *keep;
    int i, fails = 0;
    test_source_init(&src);
    src.fail_at = 2;
    o.source = test_source(&src);
    o.max_bytes = 8192;
    arena_init(&a, &o);
    keep = (char *)arena_alloc(&a, 500);
    CHECK(keep != NULL);
    if (keep) test_fill(keep, 500, 3);
    CHECK(arena_alloc(&a, 900) == NULL);   /* the second grab fails */
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(keep && test_holds(keep, 500, 3));
    for (i = 0; i < 100; i++) {
        if (!arena_alloc(&a, 700)) {
            fails++;
            CHECK_ERR(ARENA_ERR_OOM);
        }
    }
    CHECK(fails > 0);
    CHECK(arena_stats(&a).bytes_held <= o.max_bytes);
    CHECK(keep && test_holds(keep, 500, 3));
    arena_release(&a);
    CHECK_EQ(src.live, 0u);
    CHECK_EQ(src.bad_drops, 0u);
    CHECK_NO_ERR();
}

/* A shared pool, one thread: every check as for a plain one. */
/* The window between a lock-free add and its second sequence check:
   tests/impl.c runs test_bump_hook there. A frame-boundary call in that
   window (as another thread could make it) makes the add fail, and the
   allocation is made in the new frame; counted in the old one, its
   bytes would be handed out a second time. */
extern void (*test_bump_hook)(struct Arena *a);
void (*test_bump_hook)(struct Arena *a) = NULL;
static ArenaMark raced_mark;
static void raced_reset(struct Arena *a) {
    test_bump_hook = NULL;   /* once */
    arena_reset(a);
}
static void raced_rewind(struct Arena *a) {
    test_bump_hook = NULL;
    arena_rewind(a, raced_mark);
}

/* An allocation raced by `boundary`: it must start where the frame now
   starts (`at`), and the next one after it. */
static void raced_alloc(Arena *a, void (*boundary)(struct Arena *), const char *at) {
    char *p, *q;
    size_t used;
    test_bump_hook = boundary;
    p = (char *)arena_alloc(a, 48);
    CHECK(test_bump_hook == NULL);   /* the hook ran */
    CHECK(p == at);
    used = arena_stats(a).bytes_used;
    q = (char *)arena_alloc(a, 16);
    CHECK(q >= p + 48);
    CHECK(arena_stats(a).bytes_used > used);
    test_bump_hook = NULL;
}

TEST(shared_add_raced_by_a_frame_boundary) {
    Arena a;
    ArenaOptions o = shared_opts(4096);
    char *first, *second;
    int i;
    arena_init(&a, &o);
    first = (char *)arena_alloc(&a, 48);
    for (i = 0; i < 10; i++) CHECK(arena_alloc(&a, 100) != NULL);
    raced_alloc(&a, raced_reset, first);
    raced_mark = arena_mark(&a);
    second = (char *)arena_alloc(&a, 48);
    for (i = 0; i < 10; i++) CHECK(arena_alloc(&a, 100) != NULL);
    raced_alloc(&a, raced_rewind, second);
    CHECK_NO_ERR();
    arena_release(&a);
}

TEST(shared_pool_one_thread) {
    Pool p;
    ArenaOptions o = shared_opts(0);
    void *x, *y;
    PoolHandle h;
    char stray[64];
    o.flags |= 0x40u;
    pool_init_opts(&p, 48, 16, &o);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(p.opt.flags == ARENA_SHARED);
    x = pool_alloc(&p);
    y = pool_calloc(&p);
    CHECK(x && y && x != y && p.free == NULL && p.run_bytes == 0);
    CHECK(y && ((char *)y)[0] == 0 && ((char *)y)[47] == 0);
    CHECK(pool_owns(&p, x) && !pool_owns(&p, stray));
    CHECK(pool_free(&p, x));
    CHECK(!pool_free(&p, x));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!pool_free(&p, stray));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!pool_free(&p, (char *)y + 1));
    CHECK_ERR(ARENA_ERR_MISUSE);
    h = pool_alloc_handle(&p);
    CHECK(pool_get(&p, h) != NULL);
    CHECK(pool_handle_of(&p, pool_get(&p, h)).gen == h.gen);
    CHECK(pool_free_handle(&p, h));
    CHECK(pool_get(&p, h) == NULL);
    CHECK(pool_alloc(&p) != NULL);     /* may take h's slot: h stays dead */
    CHECK(pool_get(&p, h) == NULL);
    CHECK(!pool_free_handle(&p, h));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(pool_stats(&p).live, 2u);
    pool_reset(&p);
    CHECK_EQ(pool_stats(&p).live, 0u);
    CHECK(pool_alloc(&p) != NULL && p.free == NULL);
    pool_trim(&p);
    pool_release(&p);
    CHECK_EQ(pool_stats(&p).live, 0u);
    CHECK_NO_ERR();
}

/* A shared PoolHeap in one thread behaves as an unshared one: every
   call, the checked frees, the cap; it stays shared after a release. */
TEST(shared_pool_heap_one_thread) {
    PoolHeap h;
    ArenaOptions o = shared_opts(0);
    char *p, *q, *big;
    pool_heap_init(&h, &o);
    CHECK_NO_ERR();
    CHECK(h.opt.flags == ARENA_SHARED);
    p = (char *)pool_heap_alloc(&h, 10);
    CHECK(p != NULL && test_is_aligned(p, ARENA_MIN_ALIGN) && pool_heap_size(&h, p) >= 10);
    test_fill(p, 10, 3);
    q = (char *)pool_heap_realloc(&h, p, 3000);
    CHECK(q && test_holds(q, 10, 3) && pool_heap_size(&h, q) >= 3000);
    CHECK(pool_heap_size(&h, p) == 0);   /* moved: the old one is free */
    big = (char *)pool_heap_calloc(&h, 100000, 1);
    CHECK(big && big[0] == 0 && big[99999] == 0 && pool_heap_size(&h, big) >= 100000);
    CHECK_EQ(pool_heap_stats(&h).live_count, 2u);
    CHECK(pool_heap_free(&h, q));
    CHECK(!pool_heap_free(&h, q));   /* double free */
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!pool_heap_free(&h, big + 16));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(pool_heap_alloc(&h, SIZE_MAX) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(pool_heap_free(&h, NULL));
    pool_heap_reset(&h);
    CHECK_EQ(pool_heap_stats(&h).live_count, 0u);
    CHECK_EQ(pool_heap_size(&h, big), 0u);
    pool_heap_release(&h);
    CHECK(h.opt.flags == ARENA_SHARED);
    CHECK(pool_heap_alloc(&h, 100) != NULL);
    pool_heap_release(&h);
    /* the cap: one report per failed call, never above it */
    o.max_bytes = 256u << 10;
    pool_heap_init(&h, &o);
    while ((p = (char *)pool_heap_alloc(&h, 4000)) != NULL) test_fill(p, 4000, 1);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(pool_heap_stats(&h).bytes_held <= o.max_bytes);
    CHECK(pool_heap_stats(&h).live_count > 0u);
    pool_heap_release(&h);
    CHECK_EQ(pool_heap_stats(&h).bytes_held, 0u);
    CHECK_NO_ERR();
}

#if TEST_THREADS

/* ---- many threads ------------------------------------------------------------- */

#define MAX_THREADS 16
#define MAX_RECS 512

typedef struct Rec { unsigned char *p; size_t n; unsigned seed; } Rec;

typedef struct Stress Stress;
typedef struct Worker {
    Stress *st;
    unsigned id;
    uint64_t rng;
    Rec recs[MAX_RECS];
    size_t nrec;
    int failures;        /* counted here: CHECK is not thread-safe */
    int defers;          /* cleanups registered in this frame */
    TThread th;
} Worker;

struct Stress {
    Arena a;
    TBarrier bar;
    int nthreads, frames, per_frame;
    TFlag defers_run;
    ArenaMark mark;      /* taken at a frame boundary after `head` */
    unsigned char *head;
    Worker w[MAX_THREADS];
};

static unsigned rnd(Worker *w, unsigned n) {
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (unsigned)(w->rng >> 11) % n;
}

static void defer_ran(void *ctx) { tf_add((TFlag *)ctx, 1); }

static void record(Worker *w, void *p, size_t n, size_t align) {
    unsigned seed = w->id * 100003u + (unsigned)w->nrec;
    if (!p || !test_is_aligned(p, align) || w->nrec == MAX_RECS) {
        w->failures++;
        return;
    }
    test_fill(p, n, seed);
    w->recs[w->nrec].p = (unsigned char *)p;
    w->recs[w->nrec].n = n;
    w->recs[w->nrec].seed = seed;
    w->nrec++;
}

/* One allocation of a random kind, recorded. */
static void stress_op(Worker *w) {
    Arena *a = &w->st->a;
    size_t n = 1 + rnd(w, 300);
    switch (rnd(w, 10)) {
    case 0: {
        size_t align = (size_t)1 << rnd(w, 13);
        record(w, arena_alloc_aligned(a, n, align), n, align);
        break;
    }
    case 1: {
        unsigned char *p = (unsigned char *)arena_calloc(a, n, 1);
        size_t i;
        for (i = 0; p && i < n; i++) if (p[i]) { w->failures++; break; }
        record(w, p, n, ARENA_MIN_ALIGN);
        break;
    }
    case 2: {
        char *s = arena_sprintf(a, "t%u:%zu", w->id, n);
        char want[64];
        snprintf(want, sizeof want, "t%u:%zu", w->id, n);
        if (!s || strcmp(s, want)) w->failures++;
        else record(w, s, strlen(s) + 1, 1);
        break;
    }
    case 3: {
        char *s = arena_sprintf(a, "%.1f/%u", (double)n / 2, w->id);   /* stb_sprintf: the locked path */
        char want[64];
        snprintf(want, sizeof want, "%.1f/%u", (double)n / 2, w->id);
        if (!s || strcmp(s, want)) w->failures++;
        else record(w, s, strlen(s) + 1, 1);
        break;
    }
    case 4:
        if (w->nrec) {   /* grow the newest record: contents kept */
            Rec *r = &w->recs[w->nrec - 1];
            unsigned char *q = (unsigned char *)arena_realloc(a, r->p, r->n, r->n + n);
            if (!q || !test_holds(q, r->n, r->seed)) { w->failures++; break; }
            r->p = q;
            r->n += n;
            test_fill(q, r->n, r->seed);
            break;
        }
        /* fall through */
    case 5:
        if (arena_defer(a, defer_ran, &w->st->defers_run)) w->defers++;
        else w->failures++;
        break;
    case 6:   /* larger than most blocks: a block of its own */
        n = 1000 + rnd(w, 5000);
        record(w, arena_alloc(a, n), n, ARENA_MIN_ALIGN);
        break;
    default:
        record(w, arena_alloc(a, n), n, ARENA_MIN_ALIGN);
    }
}

static int rec_cmp(const void *x, const void *y) {
    const Rec *a = (const Rec *)x, *b = (const Rec *)y;
    return a->p < b->p ? -1 : a->p > b->p;
}

/* At a frame boundary: no two live allocations of any threads overlap. */
static int overlaps(const Worker *w, int nthreads) {
    size_t total = 0, i, k = 0;
    int t, bad = 0;
    Rec *all;
    for (t = 0; t < nthreads; t++) total += w[t].nrec;
    all = (Rec *)malloc(total * sizeof *all + 1);
    if (!all) return 1;
    for (t = 0; t < nthreads; t++)
        for (i = 0; i < w[t].nrec; i++) all[k++] = w[t].recs[i];
    qsort(all, total, sizeof *all, rec_cmp);
    for (i = 1; i < total; i++)
        if (all[i - 1].p + all[i - 1].n > all[i].p) bad++;
    free(all);
    return bad;
}

static void stress_worker(void *arg) {
    Worker *w = (Worker *)arg;
    Stress *st = w->st;
    int f, i;
    size_t r;
    for (f = 0; f < st->frames; f++) {
        tb_wait(&st->bar);   /* thread 0 is done with the last frame's records */
        w->nrec = 0;
        w->defers = 0;
        for (i = 0; i < st->per_frame; i++) stress_op(w);
        for (r = 0; r < w->nrec; r++)
            if (!test_intact(w->recs[r].p, w->recs[r].n, w->recs[r].seed)) w->failures++;
        tb_wait(&st->bar);
        if (w->id == 0) {   /* the frame boundary: nobody else is inside */
            int defers = 0, t;
            size_t bytes = 0;
            for (t = 0; t < st->nthreads; t++) {
                defers += st->w[t].defers;
                for (r = 0; r < st->w[t].nrec; r++) bytes += st->w[t].recs[r].n;
            }
            w->failures += overlaps(st->w, st->nthreads);
            if (arena_stats(&st->a).bytes_used < bytes) w->failures++;
            tf_set(&st->defers_run, 0);
            if (f % 4 == 2) {   /* back to the mark: the head survives */
                arena_rewind(&st->a, st->mark);
                if (arena_stats(&st->a).bytes_used != st->mark.pos || !test_intact(st->head, 100, 5))
                    w->failures++;
            } else {
                if (f % 4 == 3) arena_release(&st->a);
                else arena_reset(&st->a);
                if (arena_stats(&st->a).bytes_used != 0) w->failures++;
                st->head = (unsigned char *)arena_alloc(&st->a, 100);
                if (st->head) test_fill(st->head, 100, 5);
                else w->failures++;
                st->mark = arena_mark(&st->a);
            }
            if (tf_get(&st->defers_run) != defers) w->failures++;
        }
    }
}

/* n threads, frames x per_frame operations each, on one shared arena. */
static void stress_run(int nthreads, int frames, int per_frame, size_t block_size) {
    Stress *st = (Stress *)calloc(1, sizeof *st);
    ArenaOptions o = shared_opts(block_size);
    TErrLog log;
    int t, started = 0;
    if (!st) { CHECK(st != NULL); return; }
    terr_install(&log);
    arena_init(&st->a, &o);
    tb_init(&st->bar, nthreads);
    tf_init(&st->defers_run);
    st->nthreads = nthreads;
    st->frames = frames;
    st->per_frame = per_frame;
    for (t = 0; t < nthreads; t++) {
        st->w[t].st = st;
        st->w[t].id = (unsigned)t;
        st->w[t].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(t + 1);
    }
    for (t = 0; t < nthreads; t++) started += t_start(&st->w[t].th, stress_worker, &st->w[t]);
    CHECK_EQ(started, nthreads);
    if (started == nthreads)
        for (t = 0; t < nthreads; t++) t_join(&st->w[t].th);
    for (t = 0; t < nthreads; t++) CHECK_EQ(st->w[t].failures, 0);
    CHECK_EQ(terr_total(&log), 0);
    arena_release(&st->a);
    CHECK_EQ(arena_stats(&st->a).bytes_held, 0u);
    terr_remove(&log);
    tb_destroy(&st->bar);
    tf_destroy(&st->defers_run);
    free(st);
}

TEST(shared_stress_2_threads) { stress_run(2, 12, 300, 1024); }
TEST(shared_stress_4_threads) { stress_run(4, 10, 200, 4096); }
TEST(shared_stress_8_threads) { stress_run(8, 8, 150, 2048); }
TEST(shared_stress_16_threads) { stress_run(16, 6, 100, 0); }

/* ---- the cap and failing sources under contention ------------------------------ */

typedef struct CapRun {
    Arena a;
    TBarrier bar;
    Worker w[MAX_THREADS];
    int nulls[MAX_THREADS];
} CapRun;

static void cap_worker(void *arg) {
    Worker *w = (Worker *)arg;
    CapRun *cr = (CapRun *)(void *)w->st;
    int i;
    tb_wait(&cr->bar);
    for (i = 0; i < 400; i++) {
        size_t n = 16 + rnd(w, 200);
        void *p = arena_alloc(&cr->a, n);
        if (!p) cr->nulls[w->id]++;
        else if (w->nrec < MAX_RECS) record(w, p, n, ARENA_MIN_ALIGN);
    }
}

/* Every failed call is reported exactly once, the cap holds, nothing
   allocated is lost, every block goes back once. */
static void cap_run(int nthreads, size_t max_bytes, size_t fail_at) {
    CapRun *cr = (CapRun *)calloc(1, sizeof *cr);
    TestSource *src = (TestSource *)calloc(1, sizeof *src);
    ArenaOptions o = shared_opts(1024);
    TErrLog log;
    int t, nulls = 0;
    size_t r;
    if (!cr || !src) { CHECK(0); free(cr); free(src); return; }
    test_source_init(src);
    src->fail_at = fail_at;
    o.source = test_source(src);   /* called under the arena's lock only */
    o.max_bytes = max_bytes;
    terr_install(&log);
    arena_init(&cr->a, &o);
    tb_init(&cr->bar, nthreads);
    for (t = 0; t < nthreads; t++) {
        cr->w[t].st = (Stress *)(void *)cr;
        cr->w[t].id = (unsigned)t;
        cr->w[t].rng = 12345u + (uint64_t)t;
        CHECK(t_start(&cr->w[t].th, cap_worker, &cr->w[t]));
    }
    for (t = 0; t < nthreads; t++) t_join(&cr->w[t].th);
    for (t = 0; t < nthreads; t++) {
        nulls += cr->nulls[t];
        CHECK_EQ(cr->w[t].failures, 0);
        for (r = 0; r < cr->w[t].nrec; r++)
            CHECK(test_intact(cr->w[t].recs[r].p, cr->w[t].recs[r].n, cr->w[t].recs[r].seed));
    }
    CHECK_EQ(log.calls[ARENA_ERR_OOM], nulls);
    CHECK_EQ(terr_total(&log), nulls);
    if (max_bytes) CHECK(nulls > 0 && arena_stats(&cr->a).bytes_held <= max_bytes);
    if (fail_at) CHECK(src->failed == 1 && nulls >= 1);
    CHECK(src->bytes_out == arena_stats(&cr->a).bytes_held);
    CHECK_EQ(overlaps(cr->w, nthreads), 0);
    arena_release(&cr->a);
    CHECK_EQ(src->live, 0u);
    CHECK_EQ(src->bad_drops, 0u);
    CHECK_EQ(src->grabs - src->failed, src->drops);
    terr_remove(&log);
    tb_destroy(&cr->bar);
    free(src);
    free(cr);
}

TEST(shared_cap_under_contention) { cap_run(8, 64u << 10, 0); }
TEST(shared_source_fails_under_contention) { cap_run(6, 0, 5); }

/* ---- a frame-boundary call while a thread allocates: refused ------------------- */

typedef struct SlowSource { TFlag in_grab, go; } SlowSource;

static void *slow_grab(void *ctx, size_t size) {
    SlowSource *s = (SlowSource *)ctx;
    tf_set(&s->in_grab, 1);
    tf_wait(&s->go, 1);
    return malloc(size);
}
static void slow_drop(void *ctx, void *block, size_t size) {
    (void)ctx;
    (void)size;
    free(block);
}

typedef struct SlowAlloc { Arena *a; char *p; int how; } SlowAlloc;
static void slow_alloc(void *arg) {
    SlowAlloc *s = (SlowAlloc *)arg;
    if (s->how == 0) s->p = (char *)arena_alloc(s->a, 300);             /* lock-free, then the lock */
    else if (s->how == 1) s->p = (char *)arena_realloc(s->a, NULL, 0, 300);   /* under the lock */
    else s->p = arena_sprintf(s->a, "%300.1f", 1.0);                    /* the general formatter */
    if (s->p) test_fill(s->p, 300, 77);
}

/* A thread inside an allocating call (held in the source's grab): a
   reset, release or rewind is refused without waiting, changes nothing. */
static void reset_while_allocating(int how) {
    Arena a;
    ArenaOptions o = shared_opts(4096);
    SlowSource src;
    SlowAlloc job;
    TThread th;
    ArenaMark m;
    tf_init(&src.in_grab);
    tf_init(&src.go);
    o.source.grab = slow_grab;
    o.source.drop = slow_drop;
    o.source.ctx = &src;
    arena_init(&a, &o);
    m = arena_mark(&a);
    job.a = &a;
    job.p = NULL;
    job.how = how;
    CHECK(t_start(&th, slow_alloc, &job));
    tf_wait(&src.in_grab, 1);   /* the thread is inside arena_alloc */
    arena_reset(&a);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_release(&a);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_rewind(&a, m);
    CHECK_ERR(ARENA_ERR_MISUSE);
    tf_set(&src.go, 1);
    t_join(&th);
    CHECK(job.p && test_holds(job.p, 300, 77));   /* nothing was changed */
    CHECK(arena_stats(&a).bytes_used >= 300);
    arena_reset(&a);
    CHECK_EQ(arena_stats(&a).bytes_used, 0u);
    arena_release(&a);
    CHECK_NO_ERR();
    tf_destroy(&src.in_grab);
    tf_destroy(&src.go);
}

TEST(shared_reset_while_allocating_is_misuse) {
    reset_while_allocating(0);
    reset_while_allocating(1);
    reset_while_allocating(2);
}

/* Memory filled by one thread and handed to another through the user's
   own synchronisation (here a mutex-guarded slot) is seen complete. */
typedef struct Handoff { Arena *a; TFlag ready; char *p; } Handoff;
static void handoff_producer(void *arg) {
    Handoff *h = (Handoff *)arg;
    int i;
    for (i = 0; i < 200; i++) {
        char *p = (char *)arena_alloc(h->a, 256);
        if (p) test_fill(p, 256, (unsigned)i);
        h->p = p;   /* published by the flag's mutex */
        tf_set(&h->ready, i + 1);
        tf_wait(&h->ready, 0);
    }
}

TEST(shared_handoff_between_threads) {
    Arena a;
    ArenaOptions o = shared_opts(1024);
    Handoff h;
    TThread th;
    int i, bad = 0;
    arena_init(&a, &o);
    h.a = &a;
    h.p = NULL;
    tf_init(&h.ready);
    CHECK(t_start(&th, handoff_producer, &h));
    for (i = 0; i < 200; i++) {
        tf_wait(&h.ready, i + 1);
        if (!h.p || !test_holds(h.p, 256, (unsigned)i)) bad++;
        if (!arena_alloc(&a, 100)) bad++;   /* and allocating meanwhile */
        tf_set(&h.ready, 0);
    }
    t_join(&th);
    CHECK_EQ(bad, 0);
    arena_release(&a);
    tf_destroy(&h.ready);
    CHECK_NO_ERR();
}
/* ---- a shared pool or heap churned by many threads, frame after frame ---------
   Each frame: every thread churns the object (its own records, checked),
   then every thread frees every object of a race array at once (one free
   of each wins, the others are refused), then thread 0, at the frame
   boundary, checks the wins, overlaps and the live count, frees or
   resets everything and allocates the race array again. The ops say
   how for a pool and for a heap. */

typedef struct ChurnRun ChurnRun;
typedef struct ChurnOps {
    void (*churn)(ChurnRun *cr, Worker *w);   /* one thread's frame */
    bool (*free_one)(ChurnRun *cr, void *p);
    void *(*alloc_race)(ChurnRun *cr, size_t k);
    size_t (*live)(ChurnRun *cr);
    int (*boundary)(ChurnRun *cr, int frame);   /* frees or resets all: failures */
} ChurnOps;

struct ChurnRun {
    const ChurnOps *ops;
    TBarrier bar;
    int nthreads, frames;
    void *race[256];    /* freed by every thread at once */
    int race_ok[MAX_THREADS];
    Worker w[MAX_THREADS];
};

static void churn_worker(void *arg) {
    Worker *w = (Worker *)arg;
    ChurnRun *cr = (ChurnRun *)(void *)w->st;
    int f;
    size_t k;
    for (f = 0; f < cr->frames; f++) {
        tb_wait(&cr->bar);
        w->nrec = 0;
        cr->ops->churn(cr, w);
        tb_wait(&cr->bar);   /* no slot is reused during the race */
        cr->race_ok[w->id] = 0;
        for (k = 0; k < 256; k++) cr->race_ok[w->id] += cr->ops->free_one(cr, cr->race[k]);
        tb_wait(&cr->bar);
        if (w->id == 0) {   /* frame boundary */
            int t, wins = 0;
            size_t live = 0;
            for (t = 0; t < cr->nthreads; t++) {
                wins += cr->race_ok[t];
                live += cr->w[t].nrec;
            }
            if (wins != 256 || overlaps(cr->w, cr->nthreads) || cr->ops->live(cr) != live) w->failures++;
            w->failures += cr->ops->boundary(cr, f);
            if (cr->ops->live(cr) != 0) w->failures++;
            for (k = 0; k < 256; k++)
                if (!(cr->race[k] = cr->ops->alloc_race(cr, k))) w->failures++;
        }
    }
}

/* nthreads churn the object of cr (made, ops set) for frames frames. */
static void churn_run(ChurnRun *cr, int nthreads, int frames, uint64_t seed) {
    int t, started = 0;
    size_t k;
    tb_init(&cr->bar, nthreads);
    cr->nthreads = nthreads;
    cr->frames = frames;
    for (k = 0; k < 256; k++) cr->race[k] = cr->ops->alloc_race(cr, k);
    for (t = 0; t < nthreads; t++) {
        cr->w[t].st = (Stress *)(void *)cr;
        cr->w[t].id = (unsigned)t;
        cr->w[t].rng = seed + (uint64_t)t * 0x9E3779B97F4A7C15ull;
        started += t_start(&cr->w[t].th, churn_worker, &cr->w[t]);
    }
    CHECK_EQ(started, nthreads);
    if (started == nthreads)
        for (t = 0; t < nthreads; t++) t_join(&cr->w[t].th);
    for (t = 0; t < nthreads; t++) CHECK_EQ(cr->w[t].failures, 0);
    tb_destroy(&cr->bar);
}

/* ---- a shared pool: alloc, free, handles, double frees racing ----------------- */

typedef struct PoolRun {
    ChurnRun c;
    Pool p;
    PoolHandle dead[MAX_THREADS][64];   /* handles of freed objects */
    int ndead[MAX_THREADS];
} PoolRun;

#define POOL_OBJ 40
#define POOL_OPS 3000   /* per thread and frame: long enough for threads to overlap */

/* Each thread: objects allocated (recorded, filled), checked and freed
   at random, by pointer or by handle; handles of freed objects stay dead
   (freeing by one again is refused) even when their slots are reused. */
static void pool_churn(ChurnRun *cr, Worker *w) {
    PoolRun *pr = (PoolRun *)(void *)cr;
    Pool *p = &pr->p;
    PoolHandle hs[MAX_RECS];
    int i;
    pr->ndead[w->id] = 0;
    for (i = 0; i < POOL_OPS; i++) {
        unsigned op = rnd(w, 10);
        if (op < 5 || !w->nrec) {   /* alloc, half of them with a handle */
            PoolHandle h;
            void *obj;
            memset(&h, 0, sizeof h);
            obj = op & 1 ? pool_alloc_with_handle(p, &h) : pool_alloc(p);
            if (w->nrec == MAX_RECS) { pool_free(p, obj); continue; }
            hs[w->nrec] = h;
            record(w, obj, POOL_OBJ, 16);
        } else {
            size_t k = rnd(w, (unsigned)w->nrec);
            Rec r = w->recs[k];
            PoolHandle h = hs[k];
            bool ok;
            if (!test_intact(r.p, r.n, r.seed)) w->failures++;
            if (h.gen && pool_get(p, h) != r.p) w->failures++;
            ok = h.gen && op == 9 ? pool_free_handle(p, h) : pool_free(p, r.p);
            if (!ok) w->failures++;
            if (h.gen && pr->ndead[w->id] < 64) pr->dead[w->id][pr->ndead[w->id]++] = h;
            w->recs[k] = w->recs[w->nrec - 1];
            hs[k] = hs[w->nrec - 1];
            w->nrec--;
            if (op == 8 && h.gen && pool_free_handle(p, h)) w->failures++;   /* the slot may be reused: the handle stays dead */
        }
    }
    for (i = 0; i < pr->ndead[w->id]; i++)
        if (pool_get(p, pr->dead[w->id][i]) != NULL) w->failures++;   /* never revived */
}

static bool pool_free_one(ChurnRun *cr, void *p) { return pool_free(&((PoolRun *)(void *)cr)->p, p); }
static void *pool_alloc_race(ChurnRun *cr, size_t k) {
    (void)k;
    return pool_alloc(&((PoolRun *)(void *)cr)->p);
}
static size_t pool_live(ChurnRun *cr) { return pool_stats(&((PoolRun *)(void *)cr)->p).live; }
/* Every other frame a reset, else every record freed and a trim. */
static int pool_boundary(ChurnRun *cr, int frame) {
    PoolRun *pr = (PoolRun *)(void *)cr;
    int t;
    size_t k;
    if (frame % 2) pool_reset(&pr->p);
    else {
        for (t = 0; t < cr->nthreads; t++)
            for (k = 0; k < cr->w[t].nrec; k++) pool_free(&pr->p, cr->w[t].recs[k].p);
        pool_trim(&pr->p);
    }
    return 0;
}
static const ChurnOps pool_ops = {pool_churn, pool_free_one, pool_alloc_race, pool_live, pool_boundary};

static void pool_run(int nthreads, int frames, ArenaOptions o) {
    PoolRun *pr = (PoolRun *)calloc(1, sizeof *pr);
    TErrLog log;
    if (!pr) { CHECK(0); return; }
    terr_install(&log);
    pool_init_opts(&pr->p, POOL_OBJ, 16, &o);
    pr->c.ops = &pool_ops;
    churn_run(&pr->c, nthreads, frames, 777u);
    /* misuse reports only: the own double frees and the lost races */
    CHECK_EQ(terr_total(&log), log.calls[ARENA_ERR_MISUSE]);
    CHECK(log.calls[ARENA_ERR_MISUSE] >= frames * 256 * (nthreads - 1));
    pool_release(&pr->p);
    terr_remove(&log);
    free(pr);
}

TEST(shared_pool_2_threads) { pool_run(2, 6, shared_opts(0)); }
TEST(shared_pool_4_threads) { pool_run(4, 4, shared_opts(0)); }
TEST(shared_pool_16_threads) { pool_run(16, 3, shared_opts(0)); }
/* run(nthreads, frames, o) on memory from a TestSource: all given back. */
static void on_test_source(void (*run)(int, int, ArenaOptions), int nthreads, int frames, ArenaOptions o) {
    TestSource *src = (TestSource *)calloc(1, sizeof *src);
    if (!src) return;
    test_source_init(src);
    o.source = test_source(src);
    run(nthreads, frames, o);
    CHECK_EQ(src->live, 0u);
    CHECK_EQ(src->bad_drops, 0u);
    free(src);
}

TEST(shared_pool_blocks_8_threads) { on_test_source(pool_run, 8, 4, shared_opts(4096)); }   /* a pool of blocks */

/* ---- a shared PoolHeap: malloc, realloc and free from every thread ----------- */

typedef struct HeapRun {
    ChurnRun c;
    PoolHeap h;
    size_t max_bytes;
    int nulls[MAX_THREADS];
} HeapRun;

/* Sizes from 1 byte to past the largest class (large blocks too). */
static size_t heap_size(Worker *w) {
    unsigned k = rnd(w, 16);
    return k < 12 ? 1 + rnd(w, 200) : k < 15 ? 1 + rnd(w, 9000) : 9000 + rnd(w, 60000);
}

static void heap_churn(ChurnRun *cr, Worker *w) {
    HeapRun *hr = (HeapRun *)(void *)cr;
    PoolHeap *h = &hr->h;
    int i;
    for (i = 0; i < POOL_OPS; i++) {
        unsigned op = rnd(w, 10);
        if (op < 4 || !w->nrec) {   /* malloc */
            size_t n = heap_size(w);
            void *p = pool_heap_alloc(h, n);
            if (!p) { hr->nulls[w->id]++; continue; }
            if (w->nrec == MAX_RECS || pool_heap_size(h, p) < n) { pool_heap_free(h, p); continue; }
            record(w, p, n, ARENA_MIN_ALIGN);
        } else {
            size_t k = rnd(w, (unsigned)w->nrec);
            Rec *r = &w->recs[k];
            if (!test_intact(r->p, r->n, r->seed)) w->failures++;
            if (op < 7) {   /* realloc: the content up to the smaller size moves along */
                size_t n = heap_size(w), keep = n < r->n ? n : r->n;
                unsigned char *q = (unsigned char *)pool_heap_realloc(h, r->p, n);
                if (!q) { hr->nulls[w->id]++; continue; }   /* the old one stays */
                if (!test_intact(q, keep, r->seed)) w->failures++;
                r->p = q;
                r->n = n;
                test_fill(q, n, r->seed);
            } else {
                if (!pool_heap_free(h, r->p)) w->failures++;
                *r = w->recs[--w->nrec];
            }
        }
    }
}

static bool heap_free_one(ChurnRun *cr, void *p) { return pool_heap_free(&((HeapRun *)(void *)cr)->h, p); }
static void *heap_alloc_race(ChurnRun *cr, size_t k) {
    return pool_heap_alloc(&((HeapRun *)(void *)cr)->h, 1 + k * 37 % 500);
}
static size_t heap_live(ChurnRun *cr) { return pool_heap_stats(&((HeapRun *)(void *)cr)->h).live_count; }
/* The cap held; every other frame a reset, else every record freed and
   a trim (what threads' caches hold serves other classes after it). */
static int heap_boundary(ChurnRun *cr, int frame) {
    HeapRun *hr = (HeapRun *)(void *)cr;
    int t, failures = 0;
    size_t k;
    if (hr->max_bytes && pool_heap_stats(&hr->h).bytes_held > hr->max_bytes) failures++;
    if (frame % 2) pool_heap_reset(&hr->h);
    else {
        for (t = 0; t < cr->nthreads; t++)
            for (k = 0; k < cr->w[t].nrec; k++)
                if (!pool_heap_free(&hr->h, cr->w[t].recs[k].p)) failures++;
        pool_heap_trim(&hr->h);
    }
    return failures;
}
static const ChurnOps heap_ops = {heap_churn, heap_free_one, heap_alloc_race, heap_live, heap_boundary};

static void heap_run(int nthreads, int frames, ArenaOptions o) {
    HeapRun *hr = (HeapRun *)calloc(1, sizeof *hr);
    TErrLog log;
    int t, nulls = 0;
    if (!hr) { CHECK(0); return; }
    terr_install(&log);
    pool_heap_init(&hr->h, &o);
    hr->max_bytes = o.max_bytes;
    hr->c.ops = &heap_ops;
    churn_run(&hr->c, nthreads, frames, 999u);
    for (t = 0; t < nthreads; t++) nulls += hr->nulls[t];
    /* the lost races are refused as misuse; a failed malloc or realloc
       (the cap) is one report of running out each */
    CHECK_EQ(log.calls[ARENA_ERR_MISUSE], frames * 256 * (nthreads - 1));
    CHECK_EQ(log.calls[ARENA_ERR_OOM], nulls);
    CHECK_EQ(terr_total(&log), log.calls[ARENA_ERR_MISUSE] + log.calls[ARENA_ERR_OOM]);
    if (o.max_bytes) CHECK(nulls > 0);
    else CHECK_EQ(nulls, 0);
    pool_heap_release(&hr->h);
    CHECK_EQ(pool_heap_stats(&hr->h).bytes_held, 0u);
    terr_remove(&log);
    free(hr);
}

TEST(shared_pool_heap_4_threads) { heap_run(4, 4, shared_opts(0)); }
TEST(shared_pool_heap_16_threads_capped) {
    ArenaOptions o = shared_opts(0);
    o.max_bytes = 2u << 20;
    heap_run(16, 3, o);
}
TEST(shared_pool_heap_blocks_4_threads) { on_test_source(heap_run, 4, 3, shared_opts(0)); }   /* classes of blocks */

#endif /* TEST_THREADS */

void suite_shared(void) {
    RUN(shared_flags_checked);
    RUN(shared_inline_range_stays_empty);
    RUN(shared_edges);
    RUN(shared_marks_defers_and_reuse);
    RUN(shared_marks_exact_and_no_snapshots);
    RUN(shared_source_failure_and_cap);
    RUN(shared_add_raced_by_a_frame_boundary);
    RUN(shared_pool_one_thread);
    RUN(shared_pool_heap_one_thread);
#if TEST_THREADS
    RUN(shared_stress_2_threads);
    RUN(shared_stress_4_threads);
    RUN(shared_stress_8_threads);
    RUN(shared_stress_16_threads);
    RUN(shared_cap_under_contention);
    RUN(shared_source_fails_under_contention);
    RUN(shared_reset_while_allocating_is_misuse);
    RUN(shared_handoff_between_threads);
    RUN(shared_pool_2_threads);
    RUN(shared_pool_4_threads);
    RUN(shared_pool_16_threads);
    RUN(shared_pool_blocks_8_threads);
    RUN(shared_pool_heap_4_threads);
    RUN(shared_pool_heap_16_threads_capped);
    RUN(shared_pool_heap_blocks_4_threads);
#endif
}
