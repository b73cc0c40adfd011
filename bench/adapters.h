/* bench/adapters.h - one small interface over every allocator the benchmark
   compares. Exactly one BENCH_<NAME> macro selects the competitor of a
   binary; everything here is static inline, so header-only allocators
   (ours, Boost.Pool, the references) inline into the workloads exactly as
   they would in user code, and library calls stay library calls.

   Interface (ad_*), each competitor defines what it supports:
     AD_NAME                  row name in the results
     AD_VAR                   variable-size allocation (else: fixed size only)
     AD_FREE                  individual free, any order: ad_free(c, p, n)
     AD_BULK                  free everything at once, keep memory: ad_reset(c)
     AD_LIFO                  own LIFO pop: ad_push(c, n) / ad_pop(c, p, n)
     AD_MARKS                 marks and temp scopes: AdMark m = ad_mark(c) /
                              ad_rewind(c, m), AdTemp t = ad_temp_begin(c) /
                              ad_temp_end(t)
     AD_REALLOC               ad_realloc(c, p, old, new) natively
     AD_SPRINTF               ad_sprintf(c, fmt, ...) formats into the allocator
     AD_MALLOC                is the process malloc (vasprintf/snprintf apply)
     AD_GROW                  obstack's growing-object API (realloc-grow)
     AD_NEW                   ad_new(c, T): a zeroed T its own way (else
                              ad_alloc + memset)
     AD_OURS                  one of ours: ad_grabs(c) = source calls so far
     AD_ONLY                  if defined, a string "|w1|w2|": the only
                              workloads this row runs (variants of ours)
   ad_init(c, fixed): fixed = object size of a fixed-size workload, or 0.
   ad_fini(c): gives everything back (untimed). */
#ifndef BENCH_ADAPTERS_H
#define BENCH_ADAPTERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdio.h>

#if defined(__GNUC__)
#define AD_LIKELY(x) __builtin_expect(!!(x), 1)
#define AD_NOINLINE __attribute__((noinline))
#define AD_INLINE inline __attribute__((always_inline))
#else
#define AD_LIKELY(x) (x)
#define AD_NOINLINE
#define AD_INLINE inline
#endif
#define AD_R16(n) (((n) + 15) & ~(size_t)15)

static void ad_die(const char *what) {
    fprintf(stderr, "bench: %s failed\n", what);
    exit(3);
}

/* ---------------------------------------------------------------- ours */
#if defined(BENCH_ARENA) || defined(BENCH_ARENA_MARKS) || defined(BENCH_STACK)
#include "../arena.h"
#define AD_OURS 1
#define AD_VAR 1
#define AD_BULK 1
#endif

#if defined(BENCH_ARENA)
#define AD_NAME "arena"
#define AD_REALLOC 1
#define AD_SPRINTF 1
typedef struct { Arena a; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) { (void)fixed; arena_init(&c->a, NULL); }
static inline void *ad_alloc(AdCtx *c, size_t n) { return arena_alloc(&c->a, n); }
static inline void ad_reset(AdCtx *c) { arena_reset(&c->a); }
static inline void ad_fini(AdCtx *c) { arena_release(&c->a); }
static inline void *ad_realloc(AdCtx *c, void *p, size_t o, size_t n) { return arena_realloc(&c->a, p, o, n); }
static char *ad_sprintf(AdCtx *c, const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = arena_vsprintf(&c->a, fmt, ap);
    va_end(ap);
    return s;
}
static inline size_t ad_grabs(AdCtx *c) { return arena_stats(&c->a).grab_count; }
#define AD_NEW 1
#define ad_new(c, T) arena_new(&(c)->a, T)

#elif defined(BENCH_ARENA_MARKS)
/* The arena freed by marks: a mark per frame / per LIFO push, rewound. */
#define AD_NAME "arena-marks"
#define AD_LIFO 1
#define AD_MARKS 1
#define AD_ONLY "|frame-scratch|frames-alt|stack|mark-rewind|temp-scope|temp-nested|"
#define AD_MAX_DEPTH 256
typedef struct { Arena a; ArenaMark base; ArenaMark marks[AD_MAX_DEPTH]; int depth; } AdCtx;
typedef ArenaMark AdMark;
typedef ArenaTemp AdTemp;
static inline AdMark ad_mark(AdCtx *c) { return arena_mark(&c->a); }
static inline void ad_rewind(AdCtx *c, AdMark m) { arena_rewind(&c->a, m); }
static inline AdTemp ad_temp_begin(AdCtx *c) { return arena_temp_begin(&c->a); }
static inline void ad_temp_end(AdTemp t) { arena_temp_end(t); }
static inline void ad_init(AdCtx *c, size_t fixed) {
    (void)fixed;
    arena_init(&c->a, NULL);
    c->base = arena_mark(&c->a);
    c->depth = 0;
}
static inline void *ad_alloc(AdCtx *c, size_t n) { return arena_alloc(&c->a, n); }
static inline void ad_reset(AdCtx *c) { arena_rewind(&c->a, c->base); }
static inline void ad_fini(AdCtx *c) { arena_release(&c->a); }
static inline void *ad_push(AdCtx *c, size_t n) {
    c->marks[c->depth++] = arena_mark(&c->a);
    return arena_alloc(&c->a, n);
}
static inline void ad_pop(AdCtx *c, void *p, size_t n) {
    (void)p; (void)n;
    arena_rewind(&c->a, c->marks[--c->depth]);
}
static inline size_t ad_grabs(AdCtx *c) { return arena_stats(&c->a).grab_count; }

#elif defined(BENCH_STACK)
#define AD_NAME "stack"
#define AD_LIFO 1
#define AD_ONLY "|frame-scratch|frames-alt|small-bump|stack|"
typedef struct { ArenaStack s; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) { (void)fixed; arena_stack_init(&c->s, NULL); }
static inline void *ad_alloc(AdCtx *c, size_t n) { return arena_stack_push(&c->s, n); }
static inline void ad_reset(AdCtx *c) { arena_stack_reset(&c->s); }
static inline void ad_fini(AdCtx *c) { arena_stack_release(&c->s); }
static inline void *ad_push(AdCtx *c, size_t n) { return arena_stack_push(&c->s, n); }
static inline void ad_pop(AdCtx *c, void *p, size_t n) {
    (void)n;
    if (!arena_stack_pop(&c->s, p)) ad_die("arena_stack_pop");
}
static inline size_t ad_grabs(AdCtx *c) { return arena_stats(&c->s.arena).grab_count; }

#elif defined(BENCH_POOL) || defined(BENCH_POOL_UNCHECKED)
#ifdef BENCH_POOL_UNCHECKED
#ifndef POOL_UNCHECKED
#error "build the pool-unchecked binary with -DPOOL_UNCHECKED"
#endif
#define AD_NAME "pool-unchecked"
#else
#define AD_NAME "pool"
#endif
#include "../pool.h"
#define AD_OURS 1
#define AD_FREE 1
#define AD_BULK 1
typedef struct { Pool p; size_t size; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) { c->size = fixed; pool_init(&c->p, fixed, 8); }
static inline void *ad_alloc(AdCtx *c, size_t n) { (void)n; return pool_alloc(&c->p); }
static inline void ad_free(AdCtx *c, void *p, size_t n) {
    (void)n;
#ifdef BENCH_POOL_UNCHECKED
    pool_free(&c->p, p);
#else
    if (!pool_free(&c->p, p)) ad_die("pool_free");
#endif
}
static inline void ad_reset(AdCtx *c) { pool_reset(&c->p); }
static inline void ad_fini(AdCtx *c) { pool_release(&c->p); }
static inline size_t ad_grabs(AdCtx *c) { return pool_stats(&c->p).grab_count; }
#define AD_HANDLES 1
typedef PoolHandle AdHandle;
static inline void *ad_spawn(AdCtx *c, AdHandle *h) { return pool_alloc_with_handle(&c->p, h); }
static inline void *ad_get(AdCtx *c, AdHandle h) { return pool_get(&c->p, h); }
static inline void ad_despawn(AdCtx *c, AdHandle h) {
#ifdef BENCH_POOL_UNCHECKED
    pool_free_handle(&c->p, h);
#else
    if (!pool_free_handle(&c->p, h)) ad_die("pool_free_handle");
#endif
}

#elif defined(BENCH_POOL_HEAP)
/* PoolHeap: malloc/realloc/free over size-class pools, checked frees. */
#define AD_NAME "pool-heap"
#include "../pool.h"
#define AD_OURS 1
#define AD_VAR 1
#define AD_FREE 1
#define AD_BULK 1
#define AD_REALLOC 1
typedef struct { PoolHeap h; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) { (void)fixed; pool_heap_init(&c->h, NULL); }
static inline void *ad_alloc(AdCtx *c, size_t n) { return pool_heap_alloc(&c->h, n); }
static inline void ad_free(AdCtx *c, void *p, size_t n) {
    (void)n;
    if (!pool_heap_free(&c->h, p)) ad_die("pool_heap_free");
}
static inline void *ad_realloc(AdCtx *c, void *p, size_t o, size_t n) { (void)o; return pool_heap_realloc(&c->h, p, n); }
static inline void ad_reset(AdCtx *c) { pool_heap_reset(&c->h); }
static inline void ad_fini(AdCtx *c) { pool_heap_release(&c->h); }
static inline size_t ad_grabs(AdCtx *c) { return pool_heap_stats(&c->h).grab_count; }

/* ------------------------------------------------ the process malloc */
#elif defined(BENCH_GLIBC) || defined(BENCH_JEMALLOC) || defined(BENCH_MIMALLOC) || \
      defined(BENCH_TCMALLOC)
/* jemalloc, mimalloc and tcmalloc are linked in and replace malloc
   process-wide (the binary prints which library malloc resolved to). */
#if defined(BENCH_GLIBC)
#define AD_NAME "glibc"
#elif defined(BENCH_JEMALLOC)
#define AD_NAME "jemalloc"
#elif defined(BENCH_MIMALLOC)
#define AD_NAME "mimalloc"
#else
#define AD_NAME "tcmalloc"
#endif
#define AD_VAR 1
#define AD_FREE 1
#define AD_REALLOC 1
#define AD_MALLOC 1
typedef struct { int unused; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) { (void)c; (void)fixed; }
static inline void *ad_alloc(AdCtx *c, size_t n) {
    void *p = malloc(n);
    (void)c;
    if (!p) ad_die("malloc");
    return p;
}
static inline void ad_free(AdCtx *c, void *p, size_t n) { (void)c; (void)n; free(p); }
static inline void ad_fini(AdCtx *c) { (void)c; }
static inline void *ad_realloc(AdCtx *c, void *p, size_t o, size_t n) {
    void *q = realloc(p, n);
    (void)c; (void)o;
    if (!q) ad_die("realloc");
    return q;
}

#elif defined(BENCH_MI_HEAP)
#include <mimalloc.h>
#define AD_NAME "mi-heap"
#define AD_VAR 1
#define AD_FREE 1
#define AD_BULK 1
#define AD_REALLOC 1
typedef struct { mi_heap_t *h; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) { (void)fixed; c->h = mi_heap_new(); }
static inline void *ad_alloc(AdCtx *c, size_t n) {
    void *p = mi_heap_malloc(c->h, n);
    if (!p) ad_die("mi_heap_malloc");
    return p;
}
static inline void ad_free(AdCtx *c, void *p, size_t n) { (void)c; (void)n; mi_free(p); }
static inline void ad_reset(AdCtx *c) { mi_heap_destroy(c->h); c->h = mi_heap_new(); }
static inline void ad_fini(AdCtx *c) { mi_heap_destroy(c->h); }
static inline void *ad_realloc(AdCtx *c, void *p, size_t o, size_t n) {
    (void)o;
    return mi_heap_realloc(c->h, p, n);
}

/* ---------------------------------------------------------- GNU obstack */
#elif defined(BENCH_OBSTACK)
#include <obstack.h>
#define obstack_chunk_alloc malloc
#define obstack_chunk_free free
#define AD_NAME "obstack"
#define AD_VAR 1
#define AD_BULK 1
#define AD_LIFO 1
#define AD_SPRINTF 1
#define AD_GROW 1
/* 64 KiB chunks, as our first block (the default is 4 KiB). */
#define AD_OBSTACK_CHUNK 65536
typedef struct { struct obstack ob; void *base; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) {
    (void)fixed;
    if (!obstack_begin(&c->ob, AD_OBSTACK_CHUNK)) ad_die("obstack_begin");
    c->base = obstack_alloc(&c->ob, 0);
}
static inline void *ad_alloc(AdCtx *c, size_t n) { return obstack_alloc(&c->ob, n); }
static inline void ad_reset(AdCtx *c) {
    obstack_free(&c->ob, c->base);
    c->base = obstack_alloc(&c->ob, 0);
}
static inline void ad_fini(AdCtx *c) { obstack_free(&c->ob, NULL); }
static inline void *ad_push(AdCtx *c, size_t n) { return obstack_alloc(&c->ob, n); }
static inline void ad_pop(AdCtx *c, void *p, size_t n) { (void)n; obstack_free(&c->ob, p); }
static char *ad_sprintf(AdCtx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    obstack_vprintf(&c->ob, fmt, ap);
    va_end(ap);
    obstack_1grow(&c->ob, '\0');
    return (char *)obstack_finish(&c->ob);
}
static inline void ad_grow_int(AdCtx *c, int v) { obstack_int_grow(&c->ob, v); }
static inline int *ad_grow_finish(AdCtx *c) { return (int *)obstack_finish(&c->ob); }

/* --------------------------------------------------------------- talloc */
#elif defined(BENCH_TALLOC)
#include <talloc.h>
#define AD_NAME "talloc"
#define AD_VAR 1
#define AD_FREE 1
#define AD_BULK 1
#define AD_REALLOC 1
#define AD_SPRINTF 1
typedef struct { void *ctx; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) { (void)fixed; c->ctx = talloc_new(NULL); }
static inline void *ad_alloc(AdCtx *c, size_t n) {
    void *p = talloc_size(c->ctx, n);
    if (!p) ad_die("talloc_size");
    return p;
}
static inline void ad_free(AdCtx *c, void *p, size_t n) { (void)c; (void)n; talloc_free(p); }
static inline void ad_reset(AdCtx *c) { talloc_free_children(c->ctx); }
static inline void ad_fini(AdCtx *c) { talloc_free(c->ctx); }
static inline void *ad_realloc(AdCtx *c, void *p, size_t o, size_t n) {
    (void)o;
    return talloc_realloc_size(c->ctx, p, n);
}
static char *ad_sprintf(AdCtx *c, const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = talloc_vasprintf(c->ctx, fmt, ap);
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------ APR pools */
#elif defined(BENCH_APR)
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#define AD_NAME "apr"
#define AD_VAR 1
#define AD_BULK 1
#define AD_SPRINTF 1
typedef struct { apr_pool_t *p; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) {
    static int once;
    (void)fixed;
    if (!once && apr_initialize() != APR_SUCCESS) ad_die("apr_initialize");
    once = 1;
    if (apr_pool_create(&c->p, NULL) != APR_SUCCESS) ad_die("apr_pool_create");
}
static inline void *ad_alloc(AdCtx *c, size_t n) { return apr_palloc(c->p, n); }
static inline void ad_reset(AdCtx *c) { apr_pool_clear(c->p); }
static inline void ad_fini(AdCtx *c) { apr_pool_destroy(c->p); }
/* APR has no realloc: a user allocates anew and copies. */
static inline void *ad_realloc(AdCtx *c, void *p, size_t o, size_t n) {
    void *q = apr_palloc(c->p, n);
    if (p) memcpy(q, p, o < n ? o : n);
    return q;
}
#define AD_REALLOC 1
static char *ad_sprintf(AdCtx *c, const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = apr_pvsprintf(c->p, fmt, ap);
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------ Boost.Pool */
#elif defined(BENCH_BOOST)
#ifndef __cplusplus
#error "the Boost.Pool adapter is a C++ translation unit"
#endif
#include <boost/pool/pool.hpp>
#define AD_NAME "boost-pool"
#define AD_FREE 1
#define AD_BULK 1
/* boost::pool<> (unordered malloc/free). boost::object_pool is left out:
   its free/destroy keep the free list ordered, O(live) per call. */
typedef struct { boost::pool<> *p; } AdCtx;
static inline void ad_init(AdCtx *c, size_t fixed) { c->p = new boost::pool<>(fixed); }
static inline void *ad_alloc(AdCtx *c, size_t n) {
    void *p = c->p->malloc();
    (void)n;
    if (!p) ad_die("boost::pool::malloc");
    return p;
}
static inline void ad_free(AdCtx *c, void *p, size_t n) { (void)n; c->p->free(p); }
static inline void ad_reset(AdCtx *c) { c->p->purge_memory(); }
static inline void ad_fini(AdCtx *c) { delete c->p; }

/* ------------------------------------------- the limit: inline bump */
#elif defined(BENCH_BUMP)
/* A bump pointer with a block-end compare: blocks of 64 KiB doubling to
   64 MiB from malloc, all kept by reset (so a warm pass touches no new
   page). */
#define AD_NAME "bump"
#define AD_VAR 1
#define AD_BULK 1
#define AD_LIFO 1
#define AD_REALLOC 1
#define AD_SPRINTF 1
#define STB_SPRINTF_STATIC
#define STB_SPRINTF_NOUNALIGNED
#define STB_SPRINTF_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_sprintf.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
typedef struct RefBlk { struct RefBlk *next; size_t size; } RefBlk;   /* 16 bytes */
typedef struct { char *cur, *end; RefBlk *first, *blk; size_t next_size; } AdCtx;
#define REF_DATA(b) ((char *)(b) + sizeof(RefBlk))
static inline void ad_init(AdCtx *c, size_t fixed) { (void)fixed; memset(c, 0, sizeof *c); c->next_size = 65536; }
static AD_NOINLINE void *ref_grow(AdCtx *c, size_t sz) {
    RefBlk *n = c->blk ? c->blk->next : c->first, *last;
    while (n && n->size - sizeof(RefBlk) < sz) n = n->next;
    if (!n) {
        size_t size = c->next_size;
        if (size < sz + sizeof(RefBlk)) size = sz + sizeof(RefBlk);
        else if (c->next_size < ((size_t)64 << 20)) c->next_size *= 2;
        n = (RefBlk *)malloc(size);
        if (!n) ad_die("malloc (bump)");
        n->size = size;
        n->next = NULL;
        if (!c->first) c->first = n;
        else {
            for (last = c->blk ? c->blk : c->first; last->next; last = last->next) {}
            last->next = n;
        }
    }
    c->blk = n;
    c->cur = REF_DATA(n) + sz;
    c->end = (char *)n + n->size;
    return REF_DATA(n);
}
static inline void *ad_alloc(AdCtx *c, size_t n) {
    size_t sz = AD_R16(n);
    char *p = c->cur;
    if (AD_LIKELY(sz <= (size_t)(c->end - p))) {
        c->cur = p + sz;
        return p;
    }
    return ref_grow(c, sz);
}
static inline void ad_reset(AdCtx *c) {
    c->blk = c->first;
    c->cur = c->first ? REF_DATA(c->first) : NULL;
    c->end = c->first ? (char *)c->first + c->first->size : NULL;
}
static inline void ad_fini(AdCtx *c) {
    RefBlk *b = c->first, *n;
    for (; b; b = n) { n = b->next; free(b); }
    memset(c, 0, sizeof *c);
}
static inline void *ad_push(AdCtx *c, size_t n) { return ad_alloc(c, n); }
/* a mark is the bump state, a rewind puts it back */
#define AD_MARKS 1
typedef struct { AdCtx *c; char *cur, *end; RefBlk *blk; } AdMark;
typedef AdMark AdTemp;
static inline AdMark ad_mark(AdCtx *c) { AdMark m; m.c = c; m.cur = c->cur; m.end = c->end; m.blk = c->blk; return m; }
static inline void ad_rewind(AdCtx *c, AdMark m) { c->cur = m.cur; c->end = m.end; c->blk = m.blk; }
static inline AdTemp ad_temp_begin(AdCtx *c) { return ad_mark(c); }
static inline void ad_temp_end(AdTemp t) { ad_rewind(t.c, t); }
static AD_NOINLINE void ref_pop_slow(AdCtx *c, char *p) {
    RefBlk *b;
    for (b = c->first; b; b = b->next)
        if (p >= REF_DATA(b) && p < (char *)b + b->size) break;
    if (!b) ad_die("bump pop");
    c->blk = b;
    c->cur = p;
    c->end = (char *)b + b->size;
}
static inline void ad_pop(AdCtx *c, void *p, size_t n) {
    (void)n;
    if (AD_LIKELY((char *)p >= REF_DATA(c->blk) && (char *)p < c->cur)) c->cur = (char *)p;
    else ref_pop_slow(c, (char *)p);
}
static inline void *ad_realloc(AdCtx *c, void *p, size_t o, size_t n) {
    size_t os = AD_R16(o), ns = AD_R16(n);
    void *q;
    if (p && (char *)p + os == c->cur && ns <= (size_t)(c->end - (char *)p)) {
        c->cur = (char *)p + ns;
        return p;
    }
    q = ad_alloc(c, n);
    if (p) memcpy(q, p, o < n ? o : n);
    return q;
}
static char *ad_sprintf(AdCtx *c, const char *fmt, ...) {
    va_list ap;
    size_t room = (size_t)(c->end - c->cur);
    int n;
    char *s;
    va_start(ap, fmt);
    n = stbsp_vsnprintf(c->cur, room > 0x7fffffff ? 0x7fffffff : (int)room, fmt, ap);
    va_end(ap);
    if (AD_LIKELY((size_t)n < room)) {
        s = c->cur;
        c->cur += AD_R16((size_t)n + 1);
        return s;
    }
    s = (char *)ad_alloc(c, (size_t)n + 1);
    va_start(ap, fmt);
    stbsp_vsnprintf(s, n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ------------------------------------ the limit: hand-written slot map */
#elif defined(BENCH_SLOTMAP)
/* What a game writes by hand: objects in one growing array, a parallel
   array of generations (odd = live) and free-list links by index; a handle
   is an index and a generation. Entities only. */
#define AD_NAME "slotmap"
#define AD_ONLY "|entity|"
#define AD_HANDLES 1
typedef struct { uint32_t index, gen; } AdHandle;
typedef struct { uint32_t gen, next; } SmMeta;
typedef struct { SmMeta *meta; char *data; size_t size; uint32_t cap, count, free_head; } AdCtx;
#define SM_NONE 0xFFFFFFFFu
static inline void ad_init(AdCtx *c, size_t fixed) {
    memset(c, 0, sizeof *c);
    c->size = fixed;
    c->free_head = SM_NONE;
}
static AD_NOINLINE void sm_grow(AdCtx *c) {
    uint32_t cap = c->cap ? c->cap * 2 : 1024;
    SmMeta *m = (SmMeta *)realloc(c->meta, cap * sizeof *m);
    char *d = m ? (char *)realloc(c->data, cap * c->size) : NULL;
    if (!m || !d) ad_die("realloc (slotmap)");
    c->meta = m;
    c->data = d;
    c->cap = cap;
}
static inline void *ad_spawn(AdCtx *c, AdHandle *h) {
    uint32_t i = c->free_head;
    if (i != SM_NONE) {
        c->free_head = c->meta[i].next;
    } else {
        if (c->count == c->cap) sm_grow(c);
        i = c->count++;
        c->meta[i].gen = 0;
    }
    h->index = i;
    h->gen = ++c->meta[i].gen;
    return c->data + (size_t)i * c->size;
}
static inline void *ad_get(AdCtx *c, AdHandle h) {
    return h.index < c->count && c->meta[h.index].gen == h.gen ? c->data + (size_t)h.index * c->size : NULL;
}
static inline void ad_despawn(AdCtx *c, AdHandle h) {
    if (!ad_get(c, h)) ad_die("slotmap: stale handle");
    c->meta[h.index].gen++;
    c->meta[h.index].next = c->free_head;
    c->free_head = h.index;
}
static inline void ad_fini(AdCtx *c) {
    free(c->meta);
    free(c->data);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------- the limit: inline free list */
#elif defined(BENCH_FREELIST)
/* A singly linked free list of fixed-size slots, carved from 64 KiB
   blocks by a bump; reset forgets the list and rewinds the carving. */
#define AD_NAME "freelist"
#define AD_FREE 1
#define AD_BULK 1
typedef struct RefBlk { struct RefBlk *next; size_t size; } RefBlk;
typedef struct { void *head; char *cur, *end; size_t size; RefBlk *first, *blk; } AdCtx;
#define REF_DATA(b) ((char *)(b) + sizeof(RefBlk))
#define REF_BLOCK ((size_t)65536)
static inline void ad_init(AdCtx *c, size_t fixed) {
    memset(c, 0, sizeof *c);
    c->size = fixed < sizeof(void *) ? sizeof(void *) : (fixed + 7) & ~(size_t)7;
}
static AD_NOINLINE void *ref_carve_block(AdCtx *c) {
    RefBlk *n = c->blk ? c->blk->next : c->first;
    if (!n) {
        n = (RefBlk *)malloc(REF_BLOCK);
        if (!n) ad_die("malloc (freelist)");
        n->size = REF_BLOCK;
        n->next = NULL;
        if (c->blk) c->blk->next = n;
        else c->first = n;
    }
    c->blk = n;
    c->cur = REF_DATA(n) + c->size;
    c->end = (char *)n + n->size;
    return REF_DATA(n);
}
static inline void *ad_alloc(AdCtx *c, size_t n) {
    void *p = c->head;
    (void)n;
    if (AD_LIKELY(p != NULL)) {
        c->head = *(void **)p;
        return p;
    }
    if (AD_LIKELY((size_t)(c->end - c->cur) >= c->size)) {
        p = c->cur;
        c->cur += c->size;
        return p;
    }
    return ref_carve_block(c);
}
static inline void ad_free(AdCtx *c, void *p, size_t n) {
    (void)n;
    *(void **)p = c->head;
    c->head = p;
}
static inline void ad_reset(AdCtx *c) {
    c->head = NULL;
    c->blk = NULL;
    c->cur = c->end = NULL;
}
static inline void ad_fini(AdCtx *c) {
    RefBlk *b = c->first, *n;
    for (; b; b = n) { n = b->next; free(b); }
    memset(c, 0, sizeof *c);
}

#else
#error "define one BENCH_<competitor> macro (see bench/bench.mk)"
#endif

/* Individual free stands in for a LIFO pop where there is no own one. */
#if !defined(AD_LIFO) && defined(AD_FREE) && defined(AD_VAR)
#define AD_LIFO 1
static inline void *ad_push(AdCtx *c, size_t n) { return ad_alloc(c, n); }
static inline void ad_pop(AdCtx *c, void *p, size_t n) { ad_free(c, p, n); }
#endif

#endif /* BENCH_ADAPTERS_H */
