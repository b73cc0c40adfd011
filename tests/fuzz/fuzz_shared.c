/* fuzz_shared.c - libFuzzer harness for ARENA_SHARED arenas, pools and heaps.

   One thread drives the shared API in any interleaving the input decodes
   (what several threads might do, one call at a time; pool and heap
   calls whose operation byte has bit 5 run on a second thread, in turn
   with the first, so that objects cross between the threads' caches, and
   that thread may exit and a new one start): a shared Arena A
   and a shared Pool P, each on malloc or on a counting source with an
   optional cap that can fail (a pool on a source runs every call under
   its lock; on malloc, 64-bit, alloc/free/handles are lock-free), and a
   shared PoolHeap H on malloc with an optional cap (its small sizes
   lock-free, through the threads' caches of its classes' pools). The
   model knows every live arena allocation (address, size, pattern, the
   mark depth it was made at) and every live pool object (address, handle,
   pattern), and the handles of freed objects. After every operation:
     - an allocation succeeds (aligned, its pattern written), or fails with
       one OOM only on a source (cap or failed grab); bad alignments and
       sizes report once (ALIGN, OVERFLOW) and change nothing;
     - arena_realloc of the newest allocation keeps its bytes;
     - a rewind to a live mark drops exactly what was made after it, a
       reset or release everything; a rewind to a mark of an earlier
       cycle is MISUSE; cleanups run once each, at the rewind or reset
       that passes them;
     - pool_free / pool_free_handle of a live object succeed; double,
       interior, stray frees and stale handles are MISUSE and change
       nothing; pool_get of a dead handle is NULL, also once its slot is
       reused; pool_owns, pool_handle_of and pool_stats agree, also
       after the thread's cache went back (what a thread's exit does);
     - H: malloc, realloc (the bytes up to the smaller size kept) and
       free of live allocations succeed, or under the cap fail with one
       OOM (a failed realloc keeps the old bytes), a double free is
       MISUSE, the usable size covers the request, bytes held stay under
       the cap, a trim keeps the live ones, reset and release drop all,
       the live count agrees;
     - every live allocation keeps its pattern (checked every 16
       operations and at the end); after release every block went back.
   Inputs run at most 128 operations. Any mismatch abort()s. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../../pool.h"
#include "fuzz_common.h"
#include <pthread.h>

enum { MAXA = 128, MAXL = 128, MAXD = 64, MAXM = 8, MAXOPS = 128 };

typedef struct ARec { unsigned char *p; size_t n; uint8_t pat; unsigned depth; } ARec;
typedef struct LRec { unsigned char *p; PoolHandle h; uint8_t pat; } LRec;
typedef struct HRec { unsigned char *p; size_t n; uint8_t pat; } HRec;

typedef struct Model {
    Arena a;
    Pool p;
    size_t osize;
    ARec ar[MAXA];
    size_t na;
    ArenaMark marks[MAXM];
    size_t nmarks;        /* live marks: depth = index + 1 */
    int defers_pending, defers_ran;
    LRec lv[MAXL];
    size_t nl;
    PoolHandle dead[MAXD];
    size_t nd;
    PoolHeap h;
    HRec hv[MAXL];
    size_t nh;
    size_t heap_cap;   /* the heap's max_bytes (0: none) */
    int on_source;
    uint8_t pat;
} Model;

static FuzzSource fz_a_src, fz_p_src;

/* The second thread: runs one call at a time while the first waits. */
typedef struct Worker {
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void (*job)(void *);
    void *arg;
    int busy, quit, live;
} Worker;

static Worker fz_w = {0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0};

static void *worker_main(void *arg) {
    Worker *w = (Worker *)arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->busy && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
        if (w->busy) {
            w->job(w->arg);
            w->busy = 0;
            pthread_cond_broadcast(&w->cv);
        }
        if (w->quit) break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;   /* the thread's exit gives its pool cache back */
}

/* job(arg) on the second thread (started if need be); quit: it exits after. */
static void on_worker(void (*job)(void *), void *arg, int quit) {
    Worker *w = &fz_w;
    if (!w->live) {
        w->quit = 0;
        FUZZ_REQUIRE(pthread_create(&w->t, NULL, worker_main, w) == 0);
        w->live = 1;
    }
    pthread_mutex_lock(&w->mu);
    w->job = job;
    w->arg = arg;
    w->busy = 1;
    w->quit = quit;
    pthread_cond_broadcast(&w->cv);
    while (w->busy) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    if (quit) {
        pthread_join(w->t, NULL);
        w->live = 0;
    }
}

/* Every byte gets the pattern; the check reads the ends and a few in
   between (byte loops under the fuzzer's instrumentation cost more than
   everything else). */
static void fill(unsigned char *p, size_t n, uint8_t pat) { memset(p, pat, n); }
static int holds(const unsigned char *p, size_t n, uint8_t pat) {
    size_t i, step = n / 7 + 1;
    for (i = 0; i < n; i += step) if (p[i] != pat) return 0;
    return !n || p[n - 1] == pat;
}

static void defer_fn(void *ctx) { ((Model *)ctx)->defers_ran++; }

/* An allocation came back (or not): checked, recorded. */
static void arena_got(Model *m, void *q, size_t n, size_t align) {
    ArenaError e = fz_take();
    if (!q) {
        FUZZ_REQUIRE(e == ARENA_ERR_OOM && m->on_source);
        return;
    }
    FUZZ_REQUIRE(e == ARENA_OK && ((uintptr_t)q & (align - 1)) == 0);
    if (m->na == MAXA) return;
    m->ar[m->na].p = (unsigned char *)q;
    m->ar[m->na].n = n;
    m->ar[m->na].pat = ++m->pat;
    m->ar[m->na].depth = (unsigned)m->nmarks;
    fill((unsigned char *)q, n, m->pat);
    m->na++;
}

static void arena_drop_above(Model *m, unsigned depth) {
    size_t i, k = 0;
    for (i = 0; i < m->na; i++)
        if (m->ar[i].depth < depth) m->ar[k++] = m->ar[i];
    m->na = k;
}

static void arena_op(Model *m, FuzzIn *in, unsigned op) {
    size_t n = in_u8(in) * (size_t)(in_u8(in) & 3 ? 1 : 97);
    switch (op % 9) {
    case 0: case 1:
        arena_got(m, arena_alloc(&m->a, n), n, ARENA_MIN_ALIGN);
        break;
    case 2: {
        uint8_t k = in_u8(in);   /* powers of two to 64 KiB, or not a power of two */
        size_t al = k < 240 ? (size_t)1 << (k % 17) : (size_t)(k % 3 ? 24 : 3);
        void *q = arena_alloc_aligned(&m->a, n, al);
        if (!fz_pow2(al)) {
            FUZZ_REQUIRE(!q);
            fz_expect(ARENA_ERR_ALIGN);
        } else {
            arena_got(m, q, n, al);
        }
        break;
    }
    case 3:
        FUZZ_REQUIRE(!arena_alloc(&m->a, SIZE_MAX - n));
        fz_expect(ARENA_ERR_OVERFLOW);
        break;
    case 4:
        if (m->na && m->ar[m->na - 1].depth == m->nmarks) {   /* grow or shrink the newest */
            ARec *r = &m->ar[m->na - 1];
            unsigned char *q;
            n += !n;
            q = (unsigned char *)arena_realloc(&m->a, r->p, r->n, n);
            ArenaError e = fz_take();
            if (!q) {
                FUZZ_REQUIRE(e == ARENA_ERR_OOM && m->on_source && holds(r->p, r->n, r->pat));
                break;
            }
            FUZZ_REQUIRE(e == ARENA_OK && holds(q, r->n < n ? r->n : n, r->pat));
            r->p = q;
            r->n = n;
            fill(q, n, r->pat);
        }
        break;
    case 5:
        if (arena_defer(&m->a, defer_fn, m)) m->defers_pending++;
        else FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM && m->on_source);
        fz_expect_none();
        break;
    case 6:
        if (m->nmarks < MAXM) m->marks[m->nmarks++] = arena_mark(&m->a);
        fz_expect_none();
        break;
    case 7:
        if (m->nmarks) {   /* back to the newest mark: what came after it goes */
            int before = m->defers_ran;
            arena_rewind(&m->a, m->marks[--m->nmarks]);
            fz_expect_none();
            arena_drop_above(m, (unsigned)m->nmarks + 1);
            m->defers_pending -= m->defers_ran - before;
            FUZZ_REQUIRE(m->defers_pending >= 0);
        }
        break;
    default: {
        ArenaMark old = m->nmarks ? m->marks[0] : arena_mark(&m->a);
        int before = m->defers_ran;
        if (op & 16) arena_release(&m->a);
        else arena_reset(&m->a);
        fz_expect_none();
        FUZZ_REQUIRE(m->defers_ran - before == m->defers_pending);
        m->defers_pending = 0;
        m->na = m->nmarks = 0;
        FUZZ_REQUIRE(arena_stats(&m->a).bytes_used == 0);
        arena_rewind(&m->a, old);   /* a mark of the last cycle */
        fz_expect(ARENA_ERR_MISUSE);
    }
    }
}

static void pool_dead(Model *m, PoolHandle h) {
    if (h.gen && m->nd < MAXD) m->dead[m->nd++] = h;
}

static void pool_op(Model *m, FuzzIn *in, unsigned op) {
    size_t k = m->nl ? in_u8(in) % m->nl : 0;
    switch (op % 8) {
    case 0: case 1: {
        PoolHandle h;
        unsigned char *q;
        ArenaError e;
        memset(&h, 0, sizeof h);
        q = (unsigned char *)(op & 8 ? pool_alloc_with_handle(&m->p, &h) : pool_alloc(&m->p));
        e = fz_take();
        if (!q) {
            FUZZ_REQUIRE(e == ARENA_ERR_OOM && m->on_source);
            break;
        }
        FUZZ_REQUIRE(e == ARENA_OK && ((uintptr_t)q & 15) == 0 && pool_owns(&m->p, q));
        if (m->nl == MAXL) {
            FUZZ_REQUIRE(pool_free(&m->p, q));
            break;
        }
        m->lv[m->nl].p = q;
        m->lv[m->nl].h = h;
        m->lv[m->nl].pat = ++m->pat;
        fill(q, m->osize, m->pat);
        m->nl++;
        break;
    }
    case 2: case 3:
        if (m->nl) {   /* a free, by pointer or by handle; then the same again: refused */
            LRec r = m->lv[k];
            PoolHandle h = r.h.gen ? r.h : pool_handle_of(&m->p, r.p);
            FUZZ_REQUIRE(holds(r.p, m->osize, r.pat) && pool_get(&m->p, h) == r.p);
            FUZZ_REQUIRE(op & 8 ? pool_free_handle(&m->p, h) : pool_free(&m->p, r.p));
            fz_expect_none();
            m->lv[k] = m->lv[--m->nl];
            pool_dead(m, h);
            if (op & 16) {
                FUZZ_REQUIRE(!pool_free(&m->p, r.p));
                fz_expect(ARENA_ERR_MISUSE);
            }
            FUZZ_REQUIRE(!pool_free_handle(&m->p, h) && pool_get(&m->p, h) == NULL);
            fz_expect(ARENA_ERR_MISUSE);
        }
        break;
    case 4:
        if (m->nl) {   /* interior and stray pointers */
            char stray[32];
            FUZZ_REQUIRE(!pool_free(&m->p, m->lv[k].p + 1 + in_u8(in) % 15));
            fz_expect(ARENA_ERR_MISUSE);
            FUZZ_REQUIRE(!pool_free(&m->p, stray) && !pool_owns(&m->p, stray));
            fz_expect(ARENA_ERR_MISUSE);
        }
        break;
    case 5: {   /* dead handles never come back */
        size_t i;
        for (i = 0; i < m->nd; i++) FUZZ_REQUIRE(pool_get(&m->p, m->dead[i]) == NULL);
        FUZZ_REQUIRE(pool_stats(&m->p).live == m->nl);
        fz_expect_none();
        break;
    }
    case 6:
        if (op & 16) {   /* the first thread's caches go back as at its exit (the second exits: see pool_call) */
            if (!(op & 32)) pool__caches_exit();
            FUZZ_REQUIRE(pool_stats(&m->p).live == m->nl);
            break;
        }
        pool_trim(&m->p);
        fz_expect_none();
        break;
    default: {
        size_t i;
        for (i = 0; i < m->nl; i++) pool_dead(m, pool_handle_of(&m->p, m->lv[i].p));
        fz_expect_none();
        if (op & 16) pool_release(&m->p);
        else pool_reset(&m->p);
        fz_expect_none();
        m->nl = 0;
        FUZZ_REQUIRE(pool_stats(&m->p).live == 0);
    }
    }
}

typedef struct PoolCall { Model *m; FuzzIn *in; unsigned op; } PoolCall;

static void pool_call_job(void *arg) {
    PoolCall *c = (PoolCall *)arg;
    pool_op(c->m, c->in, c->op);
}

/* A pool call on the first thread, or (bit 5) on the second, which exits
   after a call 6 | 16 (its cache goes back). */
static void pool_call(Model *m, FuzzIn *in, unsigned op) {
    PoolCall c;
    c.m = m;
    c.in = in;
    c.op = op;
    if (op & 32) on_worker(pool_call_job, &c, op % 8 == 6 && (op & 16));
    else pool_op(m, in, op);
}

static void heap_op(Model *m, FuzzIn *in, unsigned op) {
    size_t k = m->nh ? in_u8(in) % m->nh : 0, n = in_u8(in) * (size_t)(op & 8 ? 97 : 1);
    HRec *r = &m->hv[k];
    unsigned char *q;
    switch (op % 4) {
    case 0: case 1:
        if (m->nh && op & 1) {   /* realloc of a live one (under the cap, it may stay) */
            q = (unsigned char *)pool_heap_realloc(&m->h, r->p, n);
            if (!q) {
                FUZZ_REQUIRE(m->heap_cap && holds(r->p, r->n, r->pat));
                fz_expect(ARENA_ERR_OOM);
                break;
            }
            FUZZ_REQUIRE(holds(q, r->n < n ? r->n : n, r->pat));
            r->p = q;
            r->n = n;
        } else {
            q = (unsigned char *)pool_heap_alloc(&m->h, n);
            if (!q) {
                FUZZ_REQUIRE(m->heap_cap);
                fz_expect(ARENA_ERR_OOM);
                break;
            }
            FUZZ_REQUIRE(((uintptr_t)q & 15) == 0);
            if (m->nh == MAXL) {
                FUZZ_REQUIRE(pool_heap_free(&m->h, q));
                break;
            }
            r = &m->hv[m->nh++];
            r->p = q;
            r->n = n;
            r->pat = ++m->pat;
        }
        FUZZ_REQUIRE(pool_heap_size(&m->h, r->p) >= r->n);
        fill(r->p, r->n, r->pat);
        fz_expect_none();
        break;
    case 2:
        if (m->nh) {   /* a free, then the same again: refused */
            HRec d = *r;
            FUZZ_REQUIRE(holds(d.p, d.n, d.pat) && pool_heap_free(&m->h, d.p));
            *r = m->hv[--m->nh];
            fz_expect_none();
            FUZZ_REQUIRE(!pool_heap_free(&m->h, d.p) && pool_heap_size(&m->h, d.p) == 0);
            fz_expect(ARENA_ERR_MISUSE);
        }
        break;
    default:
        if (op & 8) {   /* a trim: the live ones stay */
            pool_heap_trim(&m->h);
            fz_expect_none();
            break;
        }
        if (op & 16) pool_heap_release(&m->h);
        else pool_heap_reset(&m->h);
        fz_expect_none();
        m->nh = 0;
        FUZZ_REQUIRE(pool_heap_stats(&m->h).live_count == 0);
    }
    FUZZ_REQUIRE(!m->heap_cap || pool_heap_stats(&m->h).bytes_held <= m->heap_cap);
}

static void heap_call_job(void *arg) {
    PoolCall *c = (PoolCall *)arg;
    heap_op(c->m, c->in, c->op);
}

/* A heap call on the first thread, or (bit 5) on the second, which exits
   after a reset or release (its caches go back). */
static void heap_call(Model *m, FuzzIn *in, unsigned op) {
    PoolCall c;
    c.m = m;
    c.in = in;
    c.op = op;
    if (op & 32) on_worker(heap_call_job, &c, op % 4 == 3 && !(op & 8));
    else heap_op(m, in, op);
}

static void check_all(Model *m) {
    size_t i;
    for (i = 0; i < m->na; i++) FUZZ_REQUIRE(holds(m->ar[i].p, m->ar[i].n, m->ar[i].pat));
    for (i = 0; i < m->nl; i++) {
        FUZZ_REQUIRE(holds(m->lv[i].p, m->osize, m->lv[i].pat));
        if (m->lv[i].h.gen) FUZZ_REQUIRE(pool_get(&m->p, m->lv[i].h) == m->lv[i].p);
    }
    FUZZ_REQUIRE(pool_stats(&m->p).live == m->nl);
    for (i = 0; i < m->nh; i++) FUZZ_REQUIRE(holds(m->hv[i].p, m->hv[i].n, m->hv[i].pat));
    FUZZ_REQUIRE(pool_heap_stats(&m->h).live_count == m->nh);
    fz_expect_none();
}

static void run(FuzzIn *in) {
    static Model m;
    ArenaOptions o;
    uint8_t how = in_u8(in);
    int i;
    memset(&m, 0, sizeof m);
    memset(&o, 0, sizeof o);
    o.flags = ARENA_SHARED;
    o.block_size = (size_t)(how & 3) * 700;
    m.on_source = (how & 4) != 0;
    m.osize = 1 + in_u8(in) % 200;
    if (m.on_source) {
        fz_src_init(&fz_a_src);
        fz_src_init(&fz_p_src);
        fz_a_src.fail_every = (how >> 4) & 7;
        o.source = fz_src(&fz_a_src);
        o.max_bytes = how & 8 ? (size_t)in_u16(in) << 4 : 0;
    }
    arena_init(&m.a, &o);
    if (m.on_source) {
        o.source = fz_src(&fz_p_src);
        fz_p_src.fail_every = fz_a_src.fail_every;
    }
    pool_init_opts(&m.p, m.osize, 16, &o);
    fz_take();   /* the pool's state may fail to come from a failing source */
    memset(&o, 0, sizeof o);
    o.flags = ARENA_SHARED;
    o.max_bytes = m.heap_cap = how & 128 ? (size_t)in_u16(in) << 6 : 0;
    pool_heap_init(&m.h, &o);
    for (i = 0; i < MAXOPS && in->n; i++) {
        unsigned op = in_u8(in);
        if ((op & 192) == 192) heap_call(&m, in, op);
        else if (op & 128) pool_call(&m, in, op);
        else arena_op(&m, in, op);
        if (i % 16 == 15) check_all(&m);
    }
    check_all(&m);   /* (the second thread lives on: the releases detach its caches) */
    arena_release(&m.a);
    pool_release(&m.p);
    pool_heap_release(&m.h);
    fz_expect_none();
    if (m.on_source) {
        FUZZ_REQUIRE(fz_a_src.n == 0 && fz_p_src.n == 0);
    }
}
