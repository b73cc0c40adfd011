/* test_pool_cache.c - the per-thread caches of shared pools: a thread's
   free slots come back to the pool when it exits, when another pool needs
   its cache, and at frame boundaries; a release detaches the caches of
   threads that are still alive; stats count what the caches hold; frees
   from another thread than the allocating one go through the shared
   stack and are reused. Every object is checked to be one the pool owns,
   never handed out twice while live. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdlib.h>
#include <time.h>
#include "threads.h"
#include "../pool.h"

void suite_pool_cache(void);

#define PC_N 40   /* fewer than a cache holds: nothing spills */
#define PC_MANY 1000

static void pc_init(Pool *p) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    o.flags = ARENA_SHARED;
    pool_init_opts(p, 32, 8, &o);
}

static bool pc_in(void *const *set, size_t n, const void *x) {
    size_t i;
    for (i = 0; i < n; i++)
        if (set[i] == x) return true;
    return false;
}

static bool pc_distinct(void *const *set, size_t n) {
    size_t i;
    for (i = 1; i < n; i++)
        if (pc_in(set, i, set[i])) return false;
    return true;
}

/* One pass of every pool: PC_N/4 objects each, then their frees. */
TEST(pool_cache_pools_taking_turns_lose_nothing) {
    enum { POOLS = 19, EACH = PC_N / 4 };
    static Pool p[POOLS];
    void *obj[POOLS][EACH];
    int round, i, k;
    for (i = 0; i < POOLS; i++) pc_init(&p[i]);
    for (round = 0; round < 4; round++) {
        for (i = 0; i < POOLS; i++)
            for (k = 0; k < EACH; k++) {
                obj[i][k] = pool_alloc(&p[i]);
                CHECK(obj[i][k] != NULL && pool_owns(&p[i], obj[i][k]));
            }
        for (i = 0; i < POOLS; i++) {
            CHECK(pc_distinct(obj[i], EACH));
            for (k = 0; k < EACH; k++) CHECK(pool_free(&p[i], obj[i][k]));
            CHECK(!pool_free(&p[i], obj[i][0]));   /* still checked */
            CHECK_ERR(ARENA_ERR_MISUSE);
        }
    }
    for (i = 0; i < POOLS; i++) {
        PoolStats s = pool_stats(&p[i]);
        CHECK_EQ(s.live, 0u);
        CHECK_EQ(s.peak_live, (size_t)EACH);   /* every round reused the first round's slots */
        pool_release(&p[i]);
    }
    CHECK_NO_ERR();
}

/* Stats count the objects the caches took and gave back. */
TEST(pool_cache_stats_count_every_thread) {
    Pool p;
    void *obj[10];
    int i;
    pc_init(&p);
    for (i = 0; i < 10; i++) obj[i] = pool_alloc(&p);
    for (i = 0; i < 3; i++) CHECK(pool_free(&p, obj[i]));
    CHECK_EQ(pool_stats(&p).live, 7u);
    pool_reset(&p);
    CHECK_EQ(pool_stats(&p).live, 0u);
    CHECK(!pool_free(&p, obj[5]));   /* the reset ended it */
    CHECK_ERR(ARENA_ERR_MISUSE);
    obj[0] = pool_alloc(&p);
    CHECK(obj[0] != NULL && pool_stats(&p).live == 1u);
    pool_release(&p);
    CHECK_EQ(pool_stats(&p).live, 0u);
    CHECK_NO_ERR();
}

#if TEST_THREADS

typedef struct PcJob {
    Pool *p;
    void **obj;
    size_t n;
    int allocs, frees;   /* 1: do it */
    bool ok;
    TFlag *step;         /* pc_idle: the steps of the main thread */
} PcJob;

static PcJob pc_job_of(Pool *p, void **obj, size_t n, int allocs, int frees) {
    PcJob j;
    memset(&j, 0, sizeof j);
    j.p = p;
    j.obj = obj;
    j.n = n;
    j.allocs = allocs;
    j.frees = frees;
    return j;
}

static void pc_job(void *arg) {
    PcJob *j = (PcJob *)arg;
    size_t i;
    j->ok = true;
    for (i = 0; j->allocs && i < j->n; i++) {
        j->obj[i] = pool_alloc(j->p);
        if (!j->obj[i] || !pool_owns(j->p, j->obj[i])) j->ok = false;
        else ARENA_MEMSET(j->obj[i], (int)(i & 0x7F), 32);
    }
    for (i = 0; j->frees && i < j->n; i++)
        if (!pool_free(j->p, j->obj[i])) j->ok = false;
}

static bool pc_run(PcJob *j) {
    TThread t;
    if (!t_start(&t, pc_job, j)) return false;
    t_join(&t);
    return j->ok;
}

/* A thread that exits gives its cached slots back: the next thread
   reuses every one of them. */
TEST(pool_cache_thread_exit_gives_slots_back) {
    Pool p;
    void *first[PC_N], *again[PC_N];
    PcJob j;
    pc_init(&p);
    j = pc_job_of(&p, first, PC_N, 1, 1);
    CHECK(pc_run(&j));
    j.obj = again;
    j.frees = 0;
    CHECK(pc_run(&j));
    {
        size_t i, reused = 0;
        for (i = 0; i < PC_N; i++) reused += pc_in(first, PC_N, again[i]);
        CHECK_EQ(reused, (size_t)PC_N);
    }
    CHECK(pc_distinct(again, PC_N));
    CHECK_EQ(pool_stats(&p).live, (size_t)PC_N);
    CHECK_EQ(pool_stats(&p).peak_live, (size_t)PC_N);
    pool_release(&p);
    CHECK_NO_ERR();
}

/* Objects allocated by one thread and freed by another: the freeing
   thread's cache spills them to the shared stack, and a third thread
   allocates them again (no fresh slot carved). */
TEST(pool_cache_frees_from_another_thread_are_reused) {
    static void *obj[PC_MANY], *again[PC_MANY];
    Pool p;
    PcJob j;
    size_t i, reused = 0;
    pc_init(&p);
    j = pc_job_of(&p, obj, PC_MANY, 1, 0);
    CHECK(pc_run(&j));
    CHECK(pc_distinct(obj, PC_MANY));
    CHECK_EQ(pool_stats(&p).live, (size_t)PC_MANY);
    j.allocs = 0;
    j.frees = 1;
    CHECK(pc_run(&j));
    CHECK_EQ(pool_stats(&p).live, 0u);
    j.obj = again;
    j.allocs = 1;
    j.frees = 0;
    CHECK(pc_run(&j));
    for (i = 0; i < PC_MANY; i++) reused += pc_in(obj, PC_MANY, again[i]);
    CHECK_EQ(reused, (size_t)PC_MANY);
    CHECK_EQ(pool_stats(&p).peak_live, (size_t)PC_MANY);
    pool_release(&p);
    CHECK_NO_ERR();
}

/* A trim turns a free slot's pages into a hole; when another thread's
   allocation brings the hole back, only its slot goes on the free list,
   not a slot this thread's cache holds (it did: that slot was then
   handed out twice). Objects of three pages, so that one free slot
   makes a hole where the OS can take pages back. */
TEST(pool_cache_hole_refill_leaves_cached_slots) {
    Pool p;
    ArenaOptions o;
    void *a[3], *b[2], *c;
    PcJob j;
    int i;
    memset(&o, 0, sizeof o);
    o.flags = ARENA_SHARED;
    pool_init_opts(&p, 3 * 4096, 16, &o);
    for (i = 0; i < 3; i++) CHECK((a[i] = pool_alloc(&p)) != NULL);
    CHECK(pool_free(&p, a[1]));
    pool_trim(&p);                  /* slot 1: a hole */
    CHECK(pool_free(&p, a[2]));     /* slot 2: into this thread's cache */
    j = pc_job_of(&p, b, 2, 1, 0);  /* the other thread's cache is empty: the pool hands out */
    CHECK(pc_run(&j));
    c = pool_alloc(&p);             /* from this thread's cache */
    CHECK(c != NULL && c != b[0] && c != b[1] && b[0] != b[1] && c != a[0] && b[0] != a[0] && b[1] != a[0]);
    CHECK(pool_free(&p, c));
    CHECK(pool_free(&p, b[0]));
    CHECK(pool_free(&p, b[1]));
    CHECK(pool_free(&p, a[0]));
    CHECK_EQ(pool_stats(&p).live, 0u);
    pool_release(&p);
    CHECK_NO_ERR();
}

/* A thread stays alive, its cache attached, while the main thread
   releases the pool and uses it again: the thread's next calls get a
   fresh cache, never the old one's slots. */
static void pc_idle(void *arg) {
    PcJob *j = (PcJob *)arg;
    pc_job(j);                /* alloc and free: the cache holds them */
    tf_set(j->step, 1);
    tf_wait(j->step, 2);      /* the main thread released the pool */
    j->frees = 0;
    {
        bool ok = j->ok;
        pc_job(j);
        j->ok = j->ok && ok && pc_distinct(j->obj, j->n);
    }
}

TEST(pool_cache_release_detaches_live_threads) {
    Pool p;
    void *obj[PC_N], *mine;
    PcJob j;
    TFlag step;
    TThread t;
    size_t i;
    tf_init(&step);
    pc_init(&p);
    j = pc_job_of(&p, obj, PC_N, 1, 1);
    j.step = &step;
    CHECK(t_start(&t, pc_idle, &j));
    tf_wait(&step, 1);
    pool_release(&p);
    mine = pool_alloc(&p);      /* a new state, maybe where the old one was */
    CHECK(mine != NULL);
    tf_set(&step, 2);
    t_join(&t);
    CHECK(j.ok);
    for (i = 0; i < PC_N; i++) CHECK(obj[i] != mine);
    CHECK_EQ(pool_stats(&p).live, (size_t)PC_N + 1);
    for (i = 0; i < PC_N; i++) CHECK(pool_free(&p, obj[i]));
    CHECK(pool_free(&p, mine));
    CHECK_EQ(pool_stats(&p).live, 0u);
    pool_release(&p);
    tf_destroy(&step);
    CHECK_NO_ERR();
}

/* pool_each's callback uses another shared pool while a thread that
   cached slots of the walked pool exits: the exit waits for the walk's
   lock without holding every cache list's lock (which the callback's
   first allocation from the other pool needs). */
typedef struct PcWalk { Pool *other; TFlag *step; int visited; bool ok; } PcWalk;

static void pc_exit_later(void *arg) {
    PcJob *j = (PcJob *)arg;
    pc_job(j);
    tf_set(j->step, 1);
    tf_wait(j->step, 2);   /* then the exit, during the walk */
}

static void pc_walk(void *obj, void *ctx) {
    PcWalk *w = (PcWalk *)ctx;
    void *x;
    int i;
    (void)obj;
    if (w->visited++) return;
    tf_set(w->step, 2);
    for (i = 0; i < 2000; i++) t_yield();   /* the thread is in its exit by now */
    x = pool_alloc(w->other);
    w->ok = x != NULL && pool_free(w->other, x);
}

TEST(pool_cache_walk_uses_another_pool_while_a_thread_exits) {
    Pool p, other;
    void *obj[PC_N], *mine;
    PcJob j;
    PcWalk w;
    TFlag step;
    TThread t;
    tf_init(&step);
    pc_init(&p);
    pc_init(&other);
    mine = pool_alloc(&p);
    j = pc_job_of(&p, obj, PC_N, 1, 1);
    j.step = &step;
    memset(&w, 0, sizeof w);
    CHECK(t_start(&t, pc_exit_later, &j));
    tf_wait(&step, 1);
    w.other = &other;
    w.step = &step;
    pool_each(&p, pc_walk, &w);
    t_join(&t);
    CHECK(j.ok && w.ok && w.visited == 1);
    CHECK(pool_free(&p, mine));
    CHECK_EQ(pool_stats(&p).live, 0u);
    CHECK_EQ(pool_stats(&other).live, 0u);
    pool_release(&p);
    pool_release(&other);
    tf_destroy(&step);
    CHECK_NO_ERR();
}

/* Threads come and go while others allocate and free: each lives for a
   few thousand calls, frees objects other threads allocated (a mailbox)
   and leaves its own there when it exits. A set of live objects (under
   a mutex) proves no object is handed out twice while live, and at the
   end every object is freed and the pool counts none. */
#define PC_MAIL 4096
typedef struct PcMix {
    Pool p;
    TMutex mu;
    void *mail[PC_MAIL];
    size_t nmail;
    void *live[1 << 14];   /* open addressing; NULL: empty, PC_GONE: removed */
    int failures;
} PcMix;
static char pc_gone_;
#define PC_GONE ((void *)&pc_gone_)

static size_t pc_slot(const void *x) { return (size_t)(((uintptr_t)x >> 4) * 0x9E3779B97F4A7C15ull >> 50); }

/* Adds x to the live set (in: it must not be there) or removes it (it must). */
static void pc_mark(PcMix *m, void *x, bool in) {
    size_t i = pc_slot(x), free_at = (size_t)-1;
    tm_lock(&m->mu);
    for (;; i = (i + 1) & ((1u << 14) - 1)) {
        if (m->live[i] == x) break;
        if (m->live[i] == PC_GONE && free_at == (size_t)-1) free_at = i;
        if (!m->live[i]) {
            if (free_at == (size_t)-1) free_at = i;
            i = (size_t)-1;
            break;
        }
    }
    if (in && i == (size_t)-1) m->live[free_at] = x;
    else if (!in && i != (size_t)-1) m->live[i] = PC_GONE;
    else m->failures++;
    tm_unlock(&m->mu);
}

static void pc_free_checked(PcMix *m, void *x) {
    pc_mark(m, x, false);
    if (!pool_free(&m->p, x)) {
        tm_lock(&m->mu);
        m->failures++;
        tm_unlock(&m->mu);
    }
}

static void pc_mix_thread(void *arg) {
    PcMix *m = (PcMix *)arg;
    void *mine[64];
    size_t n = 0, i;
    uint64_t r = (uint64_t)(uintptr_t)&n * 0x9E3779B97F4A7C15ull;
    for (i = 0; i < 20000; i++) {
        void *x = NULL;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        if ((r >> 60) < 7 && n < 64) {
            if ((x = pool_alloc(&m->p)) == NULL) continue;
            pc_mark(m, x, true);
            mine[n++] = x;
        } else if ((r >> 60) < 11 && n) {
            pc_free_checked(m, mine[--n]);
        } else {
            tm_lock(&m->mu);
            if (m->nmail) x = m->mail[--m->nmail];
            else if (n) m->mail[m->nmail++] = mine[--n];
            tm_unlock(&m->mu);
            if (x) pc_free_checked(m, x);
        }
    }
    tm_lock(&m->mu);   /* what is left goes to the others */
    while (n && m->nmail < PC_MAIL) m->mail[m->nmail++] = mine[--n];
    tm_unlock(&m->mu);
    while (n) pc_free_checked(m, mine[--n]);
}

TEST(pool_cache_threads_come_and_go) {
    enum { AT_ONCE = 4, WAVES = 12 };
    static PcMix m;
    TThread t[AT_ONCE];
    int wave, i, started = 0;
    memset(&m, 0, sizeof m);
    tm_init(&m.mu);
    pc_init(&m.p);
    for (wave = 0; wave < WAVES; wave++) {
        for (i = 0; i < AT_ONCE; i++) started += t_start(&t[i], pc_mix_thread, &m);
        for (i = 0; i < AT_ONCE; i++) t_join(&t[i]);
    }
    CHECK_EQ(started, AT_ONCE * WAVES);
    CHECK_EQ(pool_stats(&m.p).live, m.nmail);
    while (m.nmail) pc_free_checked(&m, m.mail[--m.nmail]);
    CHECK_EQ(m.failures, 0);
    CHECK_EQ(pool_stats(&m.p).live, 0u);
    pool_release(&m.p);
    tm_destroy(&m.mu);
    CHECK_NO_ERR();
}

/* ---- a shared PoolHeap: its classes are shared pools ------------------------ */

static void pc_heap_init(PoolHeap *h, size_t max_bytes) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    o.flags = ARENA_SHARED;
    o.max_bytes = max_bytes;
    pool_heap_init(h, &o);
}

/* The sizes PcHeapJob uses: a class each, the smallest to the largest. */
static const size_t pc_sizes[] = {1, 16, 17, 100, 128, 129, 200, 500, 1000, 2000, 4096, 5000, 8192};
#define PC_SIZES (sizeof pc_sizes / sizeof pc_sizes[0])

typedef struct PcHeapJob {
    PoolHeap *h;
    void *obj[PC_SIZES][8];
    int frees;           /* 1: free them again; 2: and refuse a second free (a report) */
    bool ok;
    TFlag go, done;      /* go: pc_hold_lock starts it (frees 1) */
    int hold;            /* pc_hold_lock waits for it */
} PcHeapJob;

static void pc_heap_job(void *arg) {
    PcHeapJob *j = (PcHeapJob *)arg;
    size_t c, i;
    j->ok = true;
    if (j->frees == 1) tf_wait(&j->go, 1);
    for (c = 0; c < PC_SIZES; c++)
        for (i = 0; i < 8; i++) {
            void *p = pool_heap_alloc(j->h, pc_sizes[c]);
            j->obj[c][i] = p;
            if (!p || pool_heap_size(j->h, p) < pc_sizes[c]) j->ok = false;
            else ARENA_MEMSET(p, (int)c, pc_sizes[c]);
        }
    for (c = 0; j->frees && c < PC_SIZES; c++) {
        for (i = 0; i < 8; i++)
            if (!pool_heap_free(j->h, j->obj[c][i])) j->ok = false;
        if (j->frees == 2 && pool_heap_free(j->h, j->obj[c][0])) j->ok = false;   /* refused (a report) */
    }
    tf_set(&j->done, 1);
}

static PcHeapJob *pc_heap_job_new(PoolHeap *h, int frees) {
    PcHeapJob *j = (PcHeapJob *)calloc(1, sizeof *j);
    if (!j) return NULL;
    j->h = h;
    j->frees = frees;
    tf_init(&j->go);
    tf_init(&j->done);
    return j;
}

/* The handler of a report a shared heap's core makes under its lock:
   the worker (j) goes, and is waited for (20 s at most) inside it. */
static void pc_hold_lock(ArenaError err, const char *msg, void *ctx) {
    PcHeapJob *j = (PcHeapJob *)ctx;
    time_t t0 = time(NULL);
    (void)err;
    (void)msg;
    tf_set(&j->go, 1);
    while (j->hold && !tf_get(&j->done) && time(NULL) - t0 < 20) t_yield();
}

/* Small sizes never take the heap's lock once their class is made: a
   thread allocates and frees in every class while this one is inside a
   heap call that holds it (a free of a pointer outside the classes,
   refused under the lock: its report waits for the thread). A heap
   without a reservation (32-bit, no virtual memory) runs every call under
   the lock: there the thread runs after. */
TEST(pool_cache_heap_small_sizes_take_no_lock) {
    static char stranger[64];
    PoolHeap h;
    PcHeapJob *j;
    TThread t;
    size_t c;
    int done_inside;
    pc_heap_init(&h, 0);
    for (c = 0; c < PC_SIZES; c++) CHECK(pool_heap_free(&h, pool_heap_alloc(&h, pc_sizes[c])));   /* the classes made */
    j = pc_heap_job_new(&h, 1);
    if (!j || !h.core) { CHECK(0); free(j); return; }
    j->hold = ((PoolHeap *)h.core)->vm_span != 0;   /* (white-box) */
    CHECK(t_start(&t, pc_heap_job, j));
    arena_set_error_handler(pc_hold_lock, j);
    CHECK(!pool_heap_free(&h, stranger));
    done_inside = tf_get(&j->done);
    test_err_clear();
    t_join(&t);
    CHECK(j->ok);
    CHECK_EQ(done_inside, j->hold);
    CHECK_EQ(pool_heap_stats(&h).live_count, 0u);
    tf_destroy(&j->go);
    tf_destroy(&j->done);
    free(j);
    pool_heap_release(&h);
    CHECK_NO_ERR();
}

/* A thread that exits gives the heap's cached objects back, and its
   live ones stay counted: stats are exact across threads. */
TEST(pool_cache_heap_thread_exit_and_exact_stats) {
    PoolHeap h;
    PcHeapJob *first = NULL, *kept = NULL;
    PoolHeapStats s;
    size_t c, i, bytes = 0, reused = 0;
    TThread t;
    pc_heap_init(&h, 0);
    first = pc_heap_job_new(&h, 2);
    kept = pc_heap_job_new(&h, 0);
    if (!first || !kept) { CHECK(0); free(first); free(kept); return; }
    CHECK(t_start(&t, pc_heap_job, first));
    t_join(&t);
    CHECK(first->ok);
    CHECK_EQ(test_err.calls, (int)PC_SIZES);   /* its double frees */
    test_err_clear();
    s = pool_heap_stats(&h);
    CHECK_EQ(s.live_count, 0u);
    CHECK_EQ(s.live_bytes, 0u);
    CHECK(t_start(&t, pc_heap_job, kept));   /* a new thread: reuses what the first one's exit gave back */
    t_join(&t);
    CHECK(kept->ok);
    for (c = 0; c < PC_SIZES; c++)
        for (i = 0; i < 8; i++) {
            bytes += pool_heap_size(&h, kept->obj[c][i]);
            reused += pc_in(first->obj[0], PC_SIZES * 8, kept->obj[c][i]);   /* (sizes may share a class) */
        }
    CHECK_EQ(reused, PC_SIZES * 8);
    s = pool_heap_stats(&h);
    CHECK_EQ(s.live_count, PC_SIZES * 8);
    CHECK_EQ(s.live_bytes, bytes);
    CHECK(s.peak_bytes >= bytes);
    for (c = 0; c < PC_SIZES; c++) CHECK(pool_heap_free(&h, kept->obj[c][0]));   /* from this thread */
    s = pool_heap_stats(&h);
    CHECK_EQ(s.live_count, PC_SIZES * 7);
    CHECK(s.live_bytes < bytes);
    pool_heap_reset(&h);
    s = pool_heap_stats(&h);
    CHECK_EQ(s.live_count, 0u);
    CHECK_EQ(s.live_bytes, 0u);
    tf_destroy(&first->go);
    tf_destroy(&first->done);
    tf_destroy(&kept->go);
    tf_destroy(&kept->done);
    free(first);
    free(kept);
    pool_heap_release(&h);
    CHECK_NO_ERR();
}

/* Objects of `size` until the cap says no (one report); how many. */
static size_t pc_fill(PoolHeap *h, size_t size, void **obj, size_t most) {
    size_t n = 0;
    while (n < most && (obj[n] = pool_heap_alloc(h, size)) != NULL) ARENA_MEMSET(obj[n++], 7, size);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(pool_heap_stats(h).bytes_held <= h->opt.max_bytes);
    return n;
}

/* Under the cap, a shared heap's classes hand memory to each other where
   no thread's cache can hold it: pages no object used since the last
   reset (taken on demand), everything after pool_heap_trim. */
TEST(pool_cache_heap_cap_moves_memory_between_classes) {
    enum { MOST = 40000, CAP = 1 << 20 };
    void **obj = (void **)malloc(MOST * sizeof *obj);
    PoolHeap h;
    size_t n, i;
    if (!obj) { CHECK(0); return; }
    pc_heap_init(&h, CAP);
    n = pc_fill(&h, 64, obj, MOST);
    CHECK(n * 64 > CAP / 2);
    pool_heap_reset(&h);
    n = pc_fill(&h, 4000, obj, MOST);   /* the 64-byte class's pages, given back on demand */
    CHECK(n * 4000 > CAP / 2);
    for (i = 0; i < n; i++) CHECK(pool_heap_free(&h, obj[i]));
    pool_heap_trim(&h);
    n = pc_fill(&h, 100, obj, MOST);
    CHECK(n * 100 > CAP / 2);
    pool_heap_release(&h);
    CHECK_EQ(pool_heap_stats(&h).bytes_held, 0u);
    free(obj);
}

/* Two threads realloc the same allocations at once: for each, one gets
   the moved block (the old bytes in it) and the other NULL and one
   MISUSE report (the size it asked was 0, or the free it needed lost),
   and nothing leaks. The loser reads an allocation the winner may have
   freed: sanitizer and Valgrind builds would (rightly) stop there. */
#if !ARENA__CHECKED
typedef struct PcRace {
    PoolHeap *h;
    unsigned char **p, **got;
    size_t n;
    TFlag *met;   /* both threads meet before each realloc: they overlap */
} PcRace;

static void pc_realloc_all(void *arg) {
    PcRace *r = (PcRace *)arg;
    size_t i;
    int spins = 0;
    for (i = 0; i < r->n; i++) {
        tf_add(r->met, 1);
        while (tf_get(r->met) < 2 * (int)(i + 1))
            if (++spins % 64 == 0) t_yield();
        r->got[i] = (unsigned char *)pool_heap_realloc(r->h, r->p[i], 200);
    }
}
#endif

TEST(pool_cache_heap_racing_reallocs) {
#if !ARENA__CHECKED
    enum { N = 3000 };
    static unsigned char *p[N], *got[2][N];
    PoolHeap h;
    PcRace r[2];
    TThread t[2];
    TFlag met;
    TErrLog log;
    size_t i, won = 0, intact = 0;
    int k;
    pc_heap_init(&h, 0);
    for (i = 0; i < N; i++) {
        p[i] = (unsigned char *)pool_heap_alloc(&h, 24);
        if (p[i]) ARENA_MEMSET(p[i], (int)(i & 0xFF), 24);
    }
    tf_init(&met);
    terr_install(&log);
    for (k = 0; k < 2; k++) {
        r[k].h = &h;
        r[k].p = p;
        r[k].got = got[k];
        r[k].n = N;
        r[k].met = &met;
        CHECK(t_start(&t[k], pc_realloc_all, &r[k]));
    }
    for (k = 0; k < 2; k++) t_join(&t[k]);
    for (i = 0; i < N; i++) {
        unsigned char *q = got[0][i] ? got[0][i] : got[1][i];
        won += (got[0][i] != NULL) + (got[1][i] != NULL);
        intact += q && q[0] == (unsigned char)(i & 0xFF) && q[23] == (unsigned char)(i & 0xFF);
        if (q) CHECK(pool_heap_free(&h, q));
    }
    CHECK_EQ(won, (size_t)N);
    CHECK_EQ(intact, (size_t)N);
    CHECK_EQ(log.calls[ARENA_ERR_MISUSE], N);
    CHECK_EQ(terr_total(&log), N);
    CHECK_EQ(pool_heap_stats(&h).live_count, 0u);
    terr_remove(&log);
    tf_destroy(&met);
    pool_heap_release(&h);
#endif
}

#endif

void suite_pool_cache(void) {
    RUN(pool_cache_pools_taking_turns_lose_nothing);
    RUN(pool_cache_stats_count_every_thread);
#if TEST_THREADS
    RUN(pool_cache_thread_exit_gives_slots_back);
    RUN(pool_cache_frees_from_another_thread_are_reused);
    RUN(pool_cache_hole_refill_leaves_cached_slots);
    RUN(pool_cache_release_detaches_live_threads);
    RUN(pool_cache_walk_uses_another_pool_while_a_thread_exits);
    RUN(pool_cache_threads_come_and_go);
    RUN(pool_cache_heap_small_sizes_take_no_lock);
    RUN(pool_cache_heap_thread_exit_and_exact_stats);
    RUN(pool_cache_heap_cap_moves_memory_between_classes);
    RUN(pool_cache_heap_racing_reallocs);
#endif
}
