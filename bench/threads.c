/* bench/threads.c - `make bench-threads` (part of `make bench`): N threads
   at once, each doing
     frame-scratch  frames of FRAME_ALLOCS allocations of 16..256 bytes
                    (each written), all freed at the frame's end; every
                    thread meets the others at a barrier per frame (the
                    frame boundary, where a shared arena is reset);
     pool-churn     a live set of CHURN_LIVE 64-byte objects per thread,
                    one random one freed and one allocated per operation;
     heap-churn     the same with a malloc-like heap: CHURN_LIVE objects of
                    HEAP_MIN..HEAP_MAX bytes per thread, each operation
                    frees a random one and allocates one of a random size
                    (its first 8 bytes written).
   Compiled once per row (one binary each; jemalloc, mimalloc and tcmalloc
   replace malloc process-wide when linked):
     shared   one ARENA_SHARED arena (frame-scratch) / one shared Pool
              (pool-churn) / one shared PoolHeap (heap-churn) that every
              thread uses
     local    one arena / one Pool / one PoolHeap per thread (no sharing)
     glibc, jemalloc, mimalloc, tcmalloc   malloc/free in every thread
   usage: bench_threads_<row> WORKLOAD NTHREADS OPS_PER_THREAD
   prints: RESULT row=.. work=.. threads=.. ops=.. ns=.. mops_per_thread=..
   where ns is the slowest thread's time and mops_per_thread the mean of
   each thread's own operations per microsecond. Under callgrind only the
   timed part is collected (--collect-atstart=no). */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "callgrind.h"

#define FRAME_ALLOCS 1000
#define CHURN_LIVE 256
#define CHURN_SIZE 64
#define HEAP_MIN 16
#define HEAP_MAX 512
#define MAX_THREADS 64

#if defined(T_SHARED) || defined(T_LOCAL)
#include "../pool.h"
#endif

typedef struct Rng { uint64_t s; } Rng;
static inline uint64_t rng_next(Rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

/* ---- rows: the allocator behind fa (frame alloc), pa/pf (pool), ha/hf (heap) - */

typedef struct Thr Thr;
static int pool_is_shared(void);

#if defined(T_SHARED)
#define ROW "shared"
static Arena g_arena;
static Pool g_pool;
static PoolHeap g_heap;
static void g_init(void) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    o.flags = ARENA_SHARED;
    arena_init(&g_arena, &o);
    pool_init_opts(&g_pool, CHURN_SIZE, 16, &o);
    pool_heap_init(&g_heap, &o);
}
static void g_frame_end(void) { arena_reset(&g_arena); }   /* thread 0, between barriers */
static void g_fini(void) { arena_release(&g_arena); pool_release(&g_pool); pool_heap_release(&g_heap); }
typedef struct Local { int unused; } Local;
static void l_init(Local *l) { (void)l; }
static void l_fini(Local *l) { (void)l; }
static inline void *fa(Local *l, size_t n) { (void)l; return arena_alloc(&g_arena, n); }
static inline void l_frame_end(Local *l) { (void)l; }
static inline void *pa(Local *l) { (void)l; return pool_alloc(&g_pool); }
static inline void pf(Local *l, void *p) { (void)l; pool_free(&g_pool, p); }
static int pool_is_shared(void) { return (g_pool.opt.flags & ARENA_SHARED) != 0; }
typedef struct Heap { int unused; } Heap;
static void h_init(Heap *h) { (void)h; }
static void h_fini(Heap *h) { (void)h; }
static inline void *ha(Heap *h, size_t n) { (void)h; return pool_heap_alloc(&g_heap, n); }
static inline void hf(Heap *h, void *p) { (void)h; pool_heap_free(&g_heap, p); }

#elif defined(T_LOCAL)
#define ROW "local"
static void g_init(void) {}
static void g_frame_end(void) {}
static void g_fini(void) {}
typedef struct Local { Arena a; Pool p; } Local;
static void l_init(Local *l) { arena_init(&l->a, NULL); pool_init(&l->p, CHURN_SIZE, 16); }
static void l_fini(Local *l) { arena_release(&l->a); pool_release(&l->p); }
static inline void *fa(Local *l, size_t n) { return arena_alloc(&l->a, n); }
static inline void l_frame_end(Local *l) { arena_reset(&l->a); }
static inline void *pa(Local *l) { return pool_alloc(&l->p); }
static inline void pf(Local *l, void *p) { pool_free(&l->p, p); }
static int pool_is_shared(void) { return 1; }
typedef struct Heap { PoolHeap h; } Heap;
static void h_init(Heap *h) { pool_heap_init(&h->h, NULL); }
static void h_fini(Heap *h) { pool_heap_release(&h->h); }
static inline void *ha(Heap *h, size_t n) { return pool_heap_alloc(&h->h, n); }
static inline void hf(Heap *h, void *p) { pool_heap_free(&h->h, p); }

#else
#ifndef ROW
#define ROW "glibc"
#endif
static void g_init(void) {}
static void g_frame_end(void) {}
static void g_fini(void) {}
typedef struct Local { void *live[FRAME_ALLOCS]; size_t n; } Local;
static void l_init(Local *l) { l->n = 0; }
static void l_fini(Local *l) { (void)l; }
static inline void *fa(Local *l, size_t n) { return l->live[l->n++] = malloc(n); }
static inline void l_frame_end(Local *l) {
    while (l->n) free(l->live[--l->n]);
}
static inline void *pa(Local *l) { (void)l; return malloc(CHURN_SIZE); }
static inline void pf(Local *l, void *p) { (void)l; free(p); }
static int pool_is_shared(void) { return 1; }
typedef struct Heap { int unused; } Heap;
static void h_init(Heap *h) { (void)h; }
static void h_fini(Heap *h) { (void)h; }
static inline void *ha(Heap *h, size_t n) { (void)h; return malloc(n); }
static inline void hf(Heap *h, void *p) { (void)h; free(p); }
#endif

/* ---- the run ------------------------------------------------------------------ */

static pthread_barrier_t g_bar;
static int g_work;   /* 0 frame-scratch, 1 pool-churn, 2 heap-churn */
static size_t g_ops;

struct Thr {
    pthread_t th;
    int id;
    double ns;
    uint64_t sum;
    Local local;
};

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t frame_scratch(Thr *t, Rng *r) {
    size_t done = 0, i;
    uint64_t sum = 0;
    while (done < g_ops) {
        for (i = 0; i < FRAME_ALLOCS; i++) {
            size_t n = 16 + (size_t)(rng_next(r) % 241);
            uint64_t *p = (uint64_t *)fa(&t->local, n);
            if (!p) { fprintf(stderr, "bench_threads: out of memory\n"); exit(3); }
            *p = n;
            sum += *p;
        }
        done += FRAME_ALLOCS;
        l_frame_end(&t->local);
        pthread_barrier_wait(&g_bar);   /* everybody is out of the frame */
        if (t->id == 0) g_frame_end();
        pthread_barrier_wait(&g_bar);
    }
    return sum;
}

static uint64_t pool_churn(Thr *t, Rng *r) {
    void *live[CHURN_LIVE];
    size_t i;
    uint64_t sum = 0;
    for (i = 0; i < CHURN_LIVE; i++) {
        live[i] = pa(&t->local);
        if (!live[i]) exit(3);
        memset(live[i], (int)i, CHURN_SIZE);
    }
    for (i = 0; i < g_ops; i++) {
        size_t k = (size_t)(rng_next(r) % CHURN_LIVE);
        sum += *(unsigned char *)live[k];
        pf(&t->local, live[k]);
        live[k] = pa(&t->local);
        if (!live[k]) exit(3);
        *(unsigned char *)live[k] = (unsigned char)k;
    }
    for (i = 0; i < CHURN_LIVE; i++) pf(&t->local, live[i]);
    return sum;
}

/* An object of a random size for heap-churn, its first bytes written. */
static uint64_t *heap_new(Heap *h, uint64_t x) {
    size_t n = HEAP_MIN + (size_t)(x % (HEAP_MAX - HEAP_MIN + 1));
    uint64_t *p = (uint64_t *)ha(h, n);
    if (!p) { fprintf(stderr, "bench_threads: out of memory\n"); exit(3); }
    *p = n;
    return p;
}

/* Out of line (noinline) and run by its own thread entry, so that adding
   it left the code of thread_main, into which the other workloads' loops
   are inlined, as it was: their instruction counts stay comparable
   across versions of this file. */
static __attribute__((noinline)) uint64_t heap_churn(Rng *r) {
    Heap h;
    uint64_t *live[CHURN_LIVE];
    size_t i;
    uint64_t sum = 0;
    h_init(&h);
    for (i = 0; i < CHURN_LIVE; i++) live[i] = heap_new(&h, rng_next(r));
    for (i = 0; i < g_ops; i++) {
        uint64_t x = rng_next(r);
        size_t k = (size_t)(x % CHURN_LIVE);
        sum += *live[k];
        hf(&h, live[k]);
        live[k] = heap_new(&h, x / CHURN_LIVE);
    }
    for (i = 0; i < CHURN_LIVE; i++) hf(&h, live[i]);
    h_fini(&h);
    return sum;
}

/* A thread's run around its timed workload: its seed and Local, the
   barriers that start and end the timed part together. */
static inline double thread_enter(Thr *t, Rng *r) {
    r->s = 0x9E3779B97F4A7C15ULL * (uint64_t)(t->id + 1);
    l_init(&t->local);
    pthread_barrier_wait(&g_bar);
    if (t->id == 0) CALLGRIND_TOGGLE_COLLECT;
    return now_ns();
}

static inline void thread_leave(Thr *t, double t0) {
    t->ns = now_ns() - t0;
    pthread_barrier_wait(&g_bar);
    if (t->id == 0) CALLGRIND_TOGGLE_COLLECT;
    l_fini(&t->local);
}

static void *thread_main(void *arg) {
    Thr *t = (Thr *)arg;
    Rng r;
    double t0 = thread_enter(t, &r);
    t->sum = g_work ? pool_churn(t, &r) : frame_scratch(t, &r);
    thread_leave(t, t0);
    return NULL;
}

/* heap-churn's own entry (see heap_churn). */
static void *heap_thread_main(void *arg) {
    Thr *t = (Thr *)arg;
    Rng r;
    double t0 = thread_enter(t, &r);
    t->sum = heap_churn(&r);
    thread_leave(t, t0);
    return NULL;
}

int main(int argc, char **argv) {
    static Thr thr[MAX_THREADS];
    int n, i;
    double worst = 0, rate = 0;
    uint64_t sum = 0;
    if (argc < 4) {
        fprintf(stderr, "usage: %s frame-scratch|pool-churn|heap-churn NTHREADS OPS_PER_THREAD\n", argv[0]);
        return 2;
    }
    g_work = !strcmp(argv[1], "heap-churn") ? 2 : !strcmp(argv[1], "pool-churn");
    n = atoi(argv[2]);
    g_ops = (size_t)strtoull(argv[3], NULL, 10);
    if (n < 1 || n > MAX_THREADS) return 2;
    g_init();
    if (g_work == 1 && !pool_is_shared()) {
        printf("RESULT row=%s work=%s threads=%d n/a\n", ROW, argv[1], n);
        g_fini();
        return 0;
    }
    pthread_barrier_init(&g_bar, NULL, (unsigned)n);
    for (i = 0; i < n; i++) {
        thr[i].id = i;
        if (pthread_create(&thr[i].th, NULL, g_work == 2 ? heap_thread_main : thread_main, &thr[i])) return 3;
    }
    for (i = 0; i < n; i++) {
        pthread_join(thr[i].th, NULL);
        if (thr[i].ns > worst) worst = thr[i].ns;
        rate += (double)g_ops / (thr[i].ns / 1e3);
        sum += thr[i].sum;
    }
    g_fini();
    printf("RESULT row=%s work=%s threads=%d ops=%zu ns=%.0f mops_per_thread=%.2f checksum=%llu\n", ROW,
           argv[1], n, g_ops, worst, rate / n, (unsigned long long)sum);
    return 0;
}
