/* test_scratch.c - per-thread scratch arenas: never the conflicting arena,
   released by arena_temp_end, results in the caller's arena survive,
   distinct per thread, given back at thread exit. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdlib.h>
#include "threads.h"
#include "../pool.h"

#if !defined(_WIN32) && !defined(ARENA_NO_THREADS)
#define SCRATCH_THREADS 1
#include <pthread.h>
#else
#define SCRATCH_THREADS 0   /* threads are only exercised with pthreads */
#endif

void suite_scratch(void);

static size_t used_of(const Arena *a) { return arena_stats(a).bytes_used; }

TEST(scratch_basic) {
    ArenaTemp t = arena_scratch_begin(NULL);
    size_t used0;
    char *p, *q;
    CHECK(t.arena != NULL);
    if (!t.arena) return;
    used0 = used_of(t.arena);
    CHECK_EQ(t.mark.pos, used0);
    p = (char *)arena_alloc(t.arena, 1000);
    q = (char *)arena_alloc_aligned(t.arena, 300, 4096);
    CHECK(p && q && test_is_aligned(q, 4096));
    if (p) test_fill(p, 1000, 1);
    if (q) test_fill(q, 300, 2);
    CHECK(used_of(t.arena) >= used0 + 1300);
    CHECK(p && test_holds(p, 1000, 1));
    arena_temp_end(t);
    CHECK_EQ(used_of(t.arena), used0);
    CHECK_NO_ERR();
    /* the same arena again for this thread (NULL conflicts with nothing) */
    {
        ArenaTemp u = arena_scratch_begin(NULL);
        CHECK(u.arena == t.arena);
        arena_temp_end(u);
    }
    CHECK_NO_ERR();
}

/* Never the conflicting arena, whichever one is passed. */
TEST(scratch_never_the_conflict) {
    Arena mine;
    ArenaTemp a, b, c, d, e;
    size_t ua, ub;
    char *pa, *pb, *pc, *pd;
    memset(&mine, 0, sizeof mine);

    a = arena_scratch_begin(NULL);
    b = arena_scratch_begin(a.arena);
    CHECK(a.arena && b.arena);
    CHECK(b.arena != a.arena);
    c = arena_scratch_begin(b.arena);
    CHECK(c.arena != b.arena);
    d = arena_scratch_begin(c.arena);
    CHECK(d.arena != c.arena);
    e = arena_scratch_begin(&mine);
    CHECK(e.arena != &mine && e.arena != NULL);
    arena_temp_end(e);
    /* every arena handed out, as a conflict, is avoided */
    {
        ArenaTemp x = arena_scratch_begin(a.arena);
        ArenaTemp y = arena_scratch_begin(x.arena);
        CHECK(x.arena != a.arena);
        CHECK(y.arena != x.arena);
        arena_temp_end(y);
        arena_temp_end(x);
    }
    arena_temp_end(d);
    arena_temp_end(c);
    arena_temp_end(b);
    arena_temp_end(a);
    CHECK_NO_ERR();

    /* nested three deep, alternating, with data in each level */
    a = arena_scratch_begin(NULL);
    ua = used_of(a.arena);
    pa = (char *)arena_alloc(a.arena, 5000);
    CHECK(pa != NULL);
    if (pa) test_fill(pa, 5000, 10);
    b = arena_scratch_begin(a.arena);
    CHECK(b.arena != a.arena);
    ub = used_of(b.arena);
    pb = (char *)arena_alloc(b.arena, 7000);
    CHECK(pb != NULL);
    if (pb) test_fill(pb, 7000, 11);
    c = arena_scratch_begin(b.arena);
    CHECK(c.arena != b.arena);
    pc = (char *)arena_alloc(c.arena, 9000);
    CHECK(pc != NULL);
    if (pc) test_fill(pc, 9000, 12);
    d = arena_scratch_begin(c.arena);
    CHECK(d.arena != c.arena);
    pd = (char *)arena_alloc(d.arena, 100000);
    CHECK(pd != NULL);
    if (pd) test_fill(pd, 100000, 13);
    CHECK(pa && test_holds(pa, 5000, 10));
    CHECK(pb && test_holds(pb, 7000, 11));
    CHECK(pc && test_holds(pc, 9000, 12));
    arena_temp_end(d);
    CHECK(pa && test_holds(pa, 5000, 10));
    CHECK(pb && test_holds(pb, 7000, 11));
    CHECK(pc && test_holds(pc, 9000, 12));
    arena_temp_end(c);
    CHECK(pa && test_holds(pa, 5000, 10));
    CHECK(pb && test_holds(pb, 7000, 11));
    arena_temp_end(b);
    CHECK_EQ(used_of(b.arena), ub);
    CHECK(pa && test_holds(pa, 5000, 10));
    arena_temp_end(a);
    CHECK_EQ(used_of(a.arena), ua);
    CHECK_NO_ERR();
    arena_release(&mine);
}

/* A helper in the classic shape: it needs temporary memory and returns
   its result in the caller's arena `out`. */
static char *join_words(Arena *out, int n, unsigned seed) {
    ArenaTemp tmp = arena_scratch_begin(out);
    char **words;
    char *res;
    size_t total = 0, at = 0;
    int i;
    if (tmp.arena == out) return NULL;           /* would be a bug */
    words = (char **)arena_alloc(tmp.arena, (size_t)n * sizeof *words);
    if (!words) { arena_temp_end(tmp); return NULL; }
    for (i = 0; i < n; i++) {
        words[i] = arena_sprintf(tmp.arena, "w%u.%d", seed, i);
        if (!words[i]) { arena_temp_end(tmp); return NULL; }
        total += strlen(words[i]) + 1;
        /* churn the scratch arena in between */
        if (!arena_alloc(tmp.arena, (size_t)(i % 7) * 100 + 1)) { arena_temp_end(tmp); return NULL; }
    }
    res = (char *)arena_alloc(out, total + 1);
    if (res) {
        for (i = 0; i < n; i++) {
            size_t l = strlen(words[i]);
            memcpy(res + at, words[i], l);
            at += l;
            res[at++] = ' ';
        }
        res[at] = '\0';
    }
    arena_temp_end(tmp);
    return res;
}

static int is_joined(const char *s, int n, unsigned seed) {
    char w[64];
    int i;
    if (!s) return 0;
    for (i = 0; i < n; i++) {
        size_t l;
        snprintf(w, sizeof w, "w%u.%d ", seed, i);
        l = strlen(w);
        if (strncmp(s, w, l) != 0) return 0;
        s += l;
    }
    return *s == '\0';
}

/* Results put in the caller's arena outlive the callee's scratch scope, also
   when the caller's arena is itself a scratch arena. */
TEST(scratch_results_survive) {
    Arena out;
    char *r1, *r2, *r3, *r4;
    ArenaTemp outer;
    size_t used_outer;
    memset(&out, 0, sizeof out);
    r1 = join_words(&out, 50, 1);
    r2 = join_words(&out, 200, 2);
    CHECK(is_joined(r1, 50, 1));
    CHECK(is_joined(r2, 200, 2));

    outer = arena_scratch_begin(NULL);
    used_outer = used_of(outer.arena);
    r3 = join_words(outer.arena, 300, 3);     /* callee must avoid outer */
    r4 = join_words(outer.arena, 20, 4);
    CHECK(is_joined(r3, 300, 3));
    CHECK(is_joined(r4, 20, 4));
    /* a deeper chain: the result of one level is the input of the next */
    {
        ArenaTemp mid = arena_scratch_begin(outer.arena);
        char *r5 = join_words(mid.arena, 100, 5);
        char *r6 = join_words(outer.arena, 10, 6);
        CHECK(mid.arena != outer.arena);
        CHECK(is_joined(r5, 100, 5));
        CHECK(is_joined(r6, 10, 6));
        CHECK(is_joined(r3, 300, 3));
        arena_temp_end(mid);
        CHECK(is_joined(r6, 10, 6));
    }
    CHECK(is_joined(r3, 300, 3));
    CHECK(is_joined(r4, 20, 4));
    CHECK(used_of(outer.arena) > used_outer);
    arena_temp_end(outer);
    CHECK_EQ(used_of(outer.arena), used_outer);
    CHECK(is_joined(r1, 50, 1));
    CHECK(is_joined(r2, 200, 2));
    CHECK_NO_ERR();
    arena_release(&out);
}

/* arena_temp_end gives everything back, and a loop reuses the memory. */
TEST(scratch_temp_end_releases) {
    int round;
    size_t held = 0, used0 = 0;
    for (round = 0; round < 20; round++) {
        ArenaTemp t = arena_scratch_begin(NULL);
        size_t i;
        if (round == 0) used0 = used_of(t.arena);
        CHECK_EQ(used_of(t.arena), used0);
        for (i = 0; i < 40; i++) {
            size_t n = 1000 + i * 997;
            char *p = (char *)arena_alloc(t.arena, n);
            CHECK(p != NULL);
            if (!p) break;
            memset(p, (int)i, n);
        }
        CHECK(used_of(t.arena) >= used0 + 40 * 1000);
        arena_temp_end(t);
        CHECK_EQ(used_of(t.arena), used0);
        if (round == 2) held = arena_stats(t.arena).bytes_held;
        if (round > 2) CHECK(arena_stats(t.arena).bytes_held <= held);
    }
    CHECK_NO_ERR();
}

static int g_deferred;
static void count_defer(void *ctx) { (void)ctx; g_deferred++; }

/* Cleanups registered in a scratch scope run when it ends; what is left on
   this thread's scratch arenas goes with arena_scratch_release. */
TEST(scratch_defers_and_release) {
    ArenaTemp t, u;
    g_deferred = 0;
    t = arena_scratch_begin(NULL);
    CHECK(arena_defer(t.arena, count_defer, NULL));
    arena_temp_end(t);
    CHECK_EQ(g_deferred, 1);
    /* left registered on both scratch arenas, then released */
    t = arena_scratch_begin(NULL);
    u = arena_scratch_begin(t.arena);
    CHECK(arena_alloc(t.arena, 100000) != NULL);
    CHECK(arena_alloc(u.arena, 100000) != NULL);
    CHECK(arena_defer(t.arena, count_defer, NULL));
    CHECK(arena_defer(u.arena, count_defer, NULL));
    arena_scratch_release();
    CHECK_EQ(g_deferred, 3);
    CHECK_EQ(arena_stats(t.arena).bytes_held, (size_t)0);
    CHECK_EQ(arena_stats(u.arena).bytes_held, (size_t)0);
    /* and the scratch arenas work again afterwards */
    t = arena_scratch_begin(NULL);
    CHECK(arena_alloc(t.arena, 64) != NULL);
    arena_temp_end(t);
    CHECK_NO_ERR();
}

#if SCRATCH_THREADS

enum { NTHREADS = 6 };

typedef struct Worker {
    unsigned id;
    TBarrier *gate;
    const Arena *scratch[2];    /* this thread's scratch arenas */
    int failures;               /* counted here: CHECK is not thread-safe */
    int iterations;
    int deferred;               /* set by a cleanup that thread exit runs */
} Worker;

static void worker_note_exit(void *ctx) { ((Worker *)ctx)->deferred++; }

static void *scratch_worker(void *arg) {
    Worker *w = (Worker *)arg;
    Arena results;
    char *kept[64];
    int it, nkept = 0, i;
    ArenaTemp t0, t1;
    memset(&results, 0, sizeof results);

    /* record both scratch arenas while every thread is alive */
    t0 = arena_scratch_begin(NULL);
    t1 = arena_scratch_begin(t0.arena);
    w->scratch[0] = t0.arena;
    w->scratch[1] = t1.arena;
    if (!t0.arena || !t1.arena || t0.arena == t1.arena) w->failures++;
    arena_temp_end(t1);
    arena_temp_end(t0);
    tb_wait(w->gate);

    for (it = 0; it < w->iterations; it++) {
        ArenaTemp a = arena_scratch_begin(NULL);
        ArenaTemp b = arena_scratch_begin(a.arena);
        unsigned char *p[8];
        size_t n[8], used_a = used_of(a.arena), used_b = used_of(b.arena);
        unsigned seed = w->id * 100000u + (unsigned)it * 8u;
        if (a.arena != w->scratch[0] && a.arena != w->scratch[1]) w->failures++;
        if (b.arena == a.arena) w->failures++;
        for (i = 0; i < 8; i++) {
            Arena *ar = i % 2 ? b.arena : a.arena;
            n[i] = (size_t)((it * 131 + i * 977) % 6000) + 1;
            if (it % 50 == 0 && i == 0) n[i] = 70000;     /* a new block now and then */
            p[i] = (unsigned char *)arena_alloc(ar, n[i]);
            if (!p[i]) { w->failures++; break; }
            test_fill(p[i], n[i], seed + (unsigned)i);
        }
        if (i == 8) {
            for (i = 0; i < 8; i++)
                if (!test_holds(p[i], n[i], seed + (unsigned)i)) w->failures++;
            /* a result that outlives the scratch scopes */
            if (it % 40 == 0 && nkept < 64) {
                kept[nkept] = arena_sprintf(&results, "thread %u iteration %d", w->id, it);
                if (!kept[nkept]) w->failures++;
                else nkept++;
            }
        }
        arena_temp_end(b);
        arena_temp_end(a);
        if (used_of(a.arena) != used_a || used_of(b.arena) != used_b) w->failures++;
    }
    for (i = 0; i < nkept; i++) {
        char want[64];
        snprintf(want, sizeof want, "thread %u iteration %d", w->id, i * 40);
        if (strcmp(kept[i], want) != 0) w->failures++;
    }
    arena_release(&results);

    /* leave memory and a cleanup on the scratch arenas: thread exit must
       give both back (the cleanup proves it ran; leak checkers the rest) */
    t0 = arena_scratch_begin(NULL);
    t1 = arena_scratch_begin(t0.arena);
    if (!arena_alloc(t0.arena, 200000) || !arena_alloc(t1.arena, 300000)) w->failures++;
    if (!arena_defer(t1.arena, worker_note_exit, w)) w->failures++;
    tb_wait(w->gate);
    return NULL;
}

TEST(scratch_threads) {
    pthread_t th[NTHREADS];
    Worker w[NTHREADS];
    TBarrier gate;
    int i, j, k, started = 0;
    ArenaTemp mine = arena_scratch_begin(NULL);
    ArenaTemp mine2 = arena_scratch_begin(mine.arena);
    tb_init(&gate, NTHREADS);
    memset(w, 0, sizeof w);
    for (i = 0; i < NTHREADS; i++) {
        w[i].id = (unsigned)i + 1;
        w[i].gate = &gate;
        w[i].iterations = 300;
        if (pthread_create(&th[i], NULL, scratch_worker, &w[i]) != 0) break;
        started++;
    }
    CHECK_EQ(started, NTHREADS);
    if (started != NTHREADS) {
        /* cannot reach the gates: nothing sensible to wait for */
        arena_temp_end(mine2);
        arena_temp_end(mine);
        return;
    }
    for (i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    tb_destroy(&gate);
    for (i = 0; i < NTHREADS; i++) {
        CHECK_EQ(w[i].failures, 0);
        CHECK_EQ(w[i].deferred, 1);           /* thread exit released its scratch */
        CHECK(w[i].scratch[0] != NULL && w[i].scratch[1] != NULL);
        CHECK(w[i].scratch[0] != w[i].scratch[1]);
        for (k = 0; k < 2; k++) {
            CHECK(w[i].scratch[k] != mine.arena && w[i].scratch[k] != mine2.arena);
            for (j = 0; j < NTHREADS; j++) {
                if (j == i) continue;
                CHECK(w[i].scratch[k] != w[j].scratch[0]);
                CHECK(w[i].scratch[k] != w[j].scratch[1]);
            }
        }
    }
    arena_temp_end(mine2);
    arena_temp_end(mine);
    CHECK_NO_ERR();
}

/* Thread after thread fills its scratch arenas and exits without any
   cleanup call: each exit must give the memory back (leak checkers see the
   rest; here a cleanup on the scratch arena shows the release happened). */
static void *scratch_exit_worker(void *arg) {
    Worker *w = (Worker *)arg;
    ArenaTemp t = arena_scratch_begin(NULL);
    ArenaTemp u = arena_scratch_begin(t.arena);
    int i;
    for (i = 0; i < 16; i++) {
        unsigned char *p = (unsigned char *)arena_alloc(i % 2 ? u.arena : t.arena, 65536);
        if (!p) { w->failures++; break; }
        p[0] = (unsigned char)i;
        p[65535] = (unsigned char)i;
    }
    if (!arena_defer(t.arena, worker_note_exit, w)) w->failures++;
    /* no arena_temp_end, no arena_scratch_release */
    return NULL;
}

TEST(scratch_thread_exit_gives_back) {
    enum { ROUNDS = 12 };
    Worker w[ROUNDS];
    int i;
    memset(w, 0, sizeof w);
    for (i = 0; i < ROUNDS; i++) {
        pthread_t th;
        w[i].id = (unsigned)i;
        if (pthread_create(&th, NULL, scratch_exit_worker, &w[i]) != 0) {
            CHECK(0);
            break;
        }
        pthread_join(th, NULL);
        CHECK_EQ(w[i].failures, 0);
        CHECK_EQ(w[i].deferred, 1);
    }
    CHECK_NO_ERR();
}

/* Thread-exit code of the program's own (a key destructor that runs after
   the library's) that uses scratch: given back as well. */
static pthread_key_t late_key;

static void late_destructor(void *arg) {
    Worker *w = (Worker *)arg;
    ArenaTemp t = arena_scratch_begin(NULL);
    if (!arena_alloc(t.arena, 1 << 20) || !arena_defer(t.arena, worker_note_exit, w))
        w->failures++;
}

static void *late_exit_worker(void *arg) {
    ArenaTemp t = arena_scratch_begin(NULL);   /* the library's hook is set */
    if (!arena_alloc(t.arena, 100)) ((Worker *)arg)->failures++;
    pthread_setspecific(late_key, arg);
    return NULL;
}

TEST(scratch_late_thread_exit_code) {
    Worker w;
    pthread_t th;
    ArenaTemp t = arena_scratch_begin(NULL);   /* the library's key comes first */
    arena_temp_end(t);
    memset(&w, 0, sizeof w);
    CHECK(pthread_key_create(&late_key, late_destructor) == 0);
    CHECK(pthread_create(&th, NULL, late_exit_worker, &w) == 0);
    pthread_join(th, NULL);
    CHECK_EQ(w.failures, 0);
    CHECK_EQ(w.deferred, 1);
    pthread_key_delete(late_key);
    CHECK_NO_ERR();
}

/* Marks and pool handles of an earlier life of a struct are refused when
   another thread (its own counters) initialises the struct again. */
static Arena life_arena;
static Pool life_pool;
static ArenaMark life_mark;
static PoolHandle life_handle;

static void *life_first(void *arg) {
    (void)arg;
    arena_init(&life_arena, NULL);
    arena_alloc(&life_arena, 64);
    life_mark = arena_mark(&life_arena);
    arena_release(&life_arena);
    pool_init(&life_pool, 32, 8);
    life_handle = pool_alloc_handle(&life_pool);
    pool_release(&life_pool);
    return NULL;
}

static void *life_second(void *arg) {
    (void)arg;
    arena_init(&life_arena, NULL);
    arena_alloc(&life_arena, 256);
    pool_init(&life_pool, 32, 8);
    pool_alloc_handle(&life_pool);
    return NULL;
}

TEST(earlier_lives_across_threads) {
    pthread_t th;
    size_t used;
    CHECK(pthread_create(&th, NULL, life_first, NULL) == 0);
    pthread_join(th, NULL);
    CHECK(pthread_create(&th, NULL, life_second, NULL) == 0);
    pthread_join(th, NULL);
    used = used_of(&life_arena);
    arena_rewind(&life_arena, life_mark);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(used_of(&life_arena), used);
    CHECK(pool_get(&life_pool, life_handle) == NULL);
    arena_release(&life_arena);
    pool_release(&life_pool);
    CHECK_NO_ERR();
}

/* Threads making their first virtual arenas at once (the page size is
   cached once, atomically: test-tsan checks). */
static void *virtual_worker(void *arg) {
    Arena a;
    if (!arena_init_virtual(&a, (size_t)1 << 24) || !arena_alloc(&a, 100)) ((Worker *)arg)->failures++;
    arena_release(&a);
    return NULL;
}

TEST(virtual_arenas_from_many_threads) {
    enum { N = 8 };
    pthread_t th[N];
    Worker w[N];
    int i, made = 0;
    memset(w, 0, sizeof w);
    for (i = 0; i < N; i++) made += pthread_create(&th[i], NULL, virtual_worker, &w[i]) == 0;
    CHECK_EQ(made, N);
    for (i = 0; i < made; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(w[i].failures, 0);
    }
    CHECK_NO_ERR();
}

/* A thread that never touches scratch arenas exits cleanly too. */
static void *idle_worker(void *arg) { (void)arg; return NULL; }

TEST(scratch_thread_without_scratch) {
    pthread_t th;
    CHECK(pthread_create(&th, NULL, idle_worker, NULL) == 0);
    pthread_join(th, NULL);
    CHECK_NO_ERR();
}
#endif /* SCRATCH_THREADS */

void suite_scratch(void) {
    RUN(scratch_basic);
    RUN(scratch_never_the_conflict);
    RUN(scratch_results_survive);
    RUN(scratch_temp_end_releases);
    RUN(scratch_defers_and_release);
#if SCRATCH_THREADS
    RUN(scratch_threads);
    RUN(scratch_thread_exit_gives_back);
    RUN(scratch_thread_without_scratch);
    RUN(scratch_late_thread_exit_code);
    RUN(earlier_lives_across_threads);
    RUN(virtual_arenas_from_many_threads);
#endif
}
