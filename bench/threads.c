/* bench/threads.c - `make bench-threads` (part of `make bench`): N threads
   at once, each doing
     frame-scratch  frames of FRAME_ALLOCS allocations of 16..256 bytes
                    (each written), all freed at the frame's end; every
                    thread meets the others at a barrier per frame (the
                    frame boundary, where a shared arena is reset);
     pool-churn     a live set of CHURN_LIVE 64-byte objects per thread,
                    one random one freed and one allocated per operation.
   Compiled once per row (one binary each; jemalloc, mimalloc and tcmalloc
   replace malloc process-wide when linked):
     shared   one ARENA_SHARED arena (frame-scratch) / one shared Pool
              (pool-churn) that every thread uses
     local    one arena / one Pool per thread (no sharing)
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

/* ---- rows: the allocator behind fa (frame alloc), pa/pf (pool) ------------- */

typedef struct Thr Thr;
static int pool_is_shared(void);

#if defined(T_SHARED)
#define ROW "shared"
static Arena g_arena;
static Pool g_pool;
static void g_init(void) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    o.flags = ARENA_SHARED;
    arena_init(&g_arena, &o);
    pool_init_opts(&g_pool, CHURN_SIZE, 16, &o);
}
static void g_frame_end(void) { arena_reset(&g_arena); }   /* thread 0, between barriers */
static void g_fini(void) { arena_release(&g_arena); pool_release(&g_pool); }
typedef struct Local { int unused; } Local;
static void l_init(Local *l) { (void)l; }
static void l_fini(Local *l) { (void)l; }
static inline void *fa(Local *l, size_t n) { (void)l; return arena_alloc(&g_arena, n); }
static inline void l_frame_end(Local *l) { (void)l; }
static inline void *pa(Local *l) { (void)l; return pool_alloc(&g_pool); }
static inline void pf(Local *l, void *p) { (void)l; pool_free(&g_pool, p); }
static int pool_is_shared(void) { return (g_pool.opt.flags & ARENA_SHARED) != 0; }

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
#endif

/* ---- the run ------------------------------------------------------------------ */

static pthread_barrier_t g_bar;
static int g_work;   /* 0 frame-scratch, 1 pool-churn */
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

static void *thread_main(void *arg) {
    Thr *t = (Thr *)arg;
    Rng r;
    double t0;
    r.s = 0x9E3779B97F4A7C15ULL * (uint64_t)(t->id + 1);
    l_init(&t->local);
    pthread_barrier_wait(&g_bar);
    if (t->id == 0) CALLGRIND_TOGGLE_COLLECT;
    t0 = now_ns();
    t->sum = g_work ? pool_churn(t, &r) : frame_scratch(t, &r);
    t->ns = now_ns() - t0;
    pthread_barrier_wait(&g_bar);
    if (t->id == 0) CALLGRIND_TOGGLE_COLLECT;
    l_fini(&t->local);
    return NULL;
}

int main(int argc, char **argv) {
    static Thr thr[MAX_THREADS];
    int n, i;
    double worst = 0, rate = 0;
    uint64_t sum = 0;
    if (argc < 4) {
        fprintf(stderr, "usage: %s frame-scratch|pool-churn NTHREADS OPS_PER_THREAD\n", argv[0]);
        return 2;
    }
    g_work = !strcmp(argv[1], "pool-churn");
    n = atoi(argv[2]);
    g_ops = (size_t)strtoull(argv[3], NULL, 10);
    if (n < 1 || n > MAX_THREADS) return 2;
    g_init();
    if (g_work && !pool_is_shared()) {
        printf("RESULT row=%s work=%s threads=%d n/a\n", ROW, argv[1], n);
        g_fini();
        return 0;
    }
    pthread_barrier_init(&g_bar, NULL, (unsigned)n);
    for (i = 0; i < n; i++) {
        thr[i].id = i;
        if (pthread_create(&thr[i].th, NULL, thread_main, &thr[i])) return 3;
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
