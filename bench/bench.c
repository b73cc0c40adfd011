/* bench/bench.c - the workloads of `make bench`, written once against the
   adapter interface in adapters.h and compiled once per competitor (one
   binary each: jemalloc, tcmalloc and mimalloc replace malloc process-wide).

   usage: bench_<name> --list                  workloads this row runs
          bench_<name> WORKLOAD SCALE [--json-dir DIR] [--perf]
   SCALE is smoke (tiny), cg (for callgrind) or full (the sizes).

   Each run does the workload twice in this fresh process: a cold pass
   (first touch of every page) and a warm pass (after the allocator's own
   free-all, with whatever memory it chose to keep). It prints one line:
     RESULT name=.. work=.. scale=.. ops=.. cold_ns=.. warm_ns=..
            checksum=.. rss_kb=.. grabs_warm=.. grabs_after=.. insn=..
            malloc=<library malloc resolved to>
   The checksum depends only on the workload and its size, never on the
   allocator: every competitor must print the same one, and it is built
   from values read back out of the allocated memory, so a broken or
   optimised-away allocation changes it. Under callgrind the warm pass is
   the only part collected (run with --collect-atstart=no). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "adapters.h"

#include <time.h>
#include <errno.h>
#include <dlfcn.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <linux/perf_event.h>

#include "callgrind.h"

/* ------------------------------------------------------------ helpers */

typedef struct { uint64_t s; } Rng;
static inline uint64_t rng_next(Rng *r) {   /* xorshift64* */
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
/* uniform in [lo, lo + span) */
static inline uint32_t rng_range(Rng *r, uint32_t lo, uint32_t span) {
    return lo + (uint32_t)(((rng_next(r) >> 32) * span) >> 32);
}

static inline void put64(void *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint64_t get64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void *xmalloc(size_t n) {   /* harness memory, never timed */
    void *p = malloc(n ? n : 1);
    if (!p) ad_die("harness malloc");
    return p;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* mix a value into the checksum (order-sensitive) */
static inline uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001B3ULL + (v >> 7); }

typedef struct {
    int smoke, cg;
    double scale;            /* fraction of the size */
    const char *json_dir;
    uint64_t ops;            /* operations per pass */
    size_t grabs_warm, grabs_after;
    int pass;                /* 0 cold, 1 warm */
    int perf_fd;             /* instruction counter, or -1 */
    long long insn;          /* instructions in the measured window */
} Run;

/* The measured window of the warm pass, for instruction counts: callgrind
   collects only inside it (run with --collect-atstart=no), and the hardware
   counter (what `perf stat -e instructions` reads) counts only inside it. */
static void measure(Run *run, int on) {
    if (run->pass != 1) return;
    if (run->perf_fd >= 0) {
        if (on) {
            ioctl(run->perf_fd, PERF_EVENT_IOC_RESET, 0);
            ioctl(run->perf_fd, PERF_EVENT_IOC_ENABLE, 0);
        } else {
            long long v;
            ioctl(run->perf_fd, PERF_EVENT_IOC_DISABLE, 0);
            if (read(run->perf_fd, &v, sizeof v) == (ssize_t)sizeof v && v > 0) run->insn = v;
        }
    }
    if (on) {
        CALLGRIND_START_INSTRUMENTATION;
        CALLGRIND_TOGGLE_COLLECT;
    } else {
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_STOP_INSTRUMENTATION;
    }
}

static size_t scaled(const Run *r, double full, double min) {
    double v = full * r->scale;
    return (size_t)(v < min ? min : v);
}

/* ---------------------------------------------------- 1. frame-scratch */
#if defined(AD_VAR) && (defined(AD_BULK) || defined(AD_FREE))
#define HAS_FRAME 1
/* Frames of allocations of 16..256 bytes, each written, read back, and all
   freed at the end of the frame; even frames make `even` allocations, odd
   ones `odd`. For ours, the source calls after frame 2 are counted. */
static uint64_t frames(AdCtx *c, Run *run, Rng *rng, size_t nframes, size_t even, size_t odd) {
    size_t most = even > odd ? even : odd, f, i, ops = 0;
    void **ptr = (void **)xmalloc(most * sizeof *ptr);
    uint16_t *len = (uint16_t *)xmalloc(most * sizeof *len);
    uint64_t h = 0;
    for (f = 0; f < nframes; f++) {
        size_t per = f % 2 ? odd : even;
        for (i = 0; i < per; i++) {
            uint32_t n = rng_range(rng, 16, 241);   /* 16..256 bytes */
            char *p = (char *)ad_alloc(c, n);
            put64(p, f * per + i);
            p[n - 1] = (char)n;
            ptr[i] = p;
            len[i] = (uint16_t)n;
        }
        for (i = 0; i < per; i++) {
            const char *p = (const char *)ptr[i];
            h += get64(p) + (unsigned char)p[len[i] - 1];
        }
#ifdef AD_BULK
        ad_reset(c);
#else
        for (i = 0; i < per; i++) ad_free(c, ptr[i], len[i]);
#endif
        ops += per;
#ifdef AD_OURS
        if (run->pass == 0 && f == 1) run->grabs_warm = ad_grabs(c);
#endif
    }
#ifdef AD_OURS
    run->grabs_after = ad_grabs(c) - run->grabs_warm;
#endif
    free(ptr);
    free(len);
    run->ops = ops;
    return h;
}

static uint64_t w_frame(AdCtx *c, Run *run, Rng *rng) {
    return frames(c, run, rng, scaled(run, 10000, 10), 1000, 1000);
}

/* Frames alternating about 200 KB and 600 KB (1,500 and 4,500 allocations
   of 136 B on average): what reset keeps must serve both. */
static uint64_t w_frame_alt(AdCtx *c, Run *run, Rng *rng) {
    return frames(c, run, rng, scaled(run, 4000, 10), 1500, 4500);
}
#endif

/* --------------------------------------------------------- 1b. arena-new */
#if defined(AD_VAR) && (defined(AD_BULK) || defined(AD_FREE)) && !defined(AD_ONLY)
#define HAS_NEW 1
typedef struct NewNode { struct NewNode *next; uint64_t key; uint32_t a, b; double w; } NewNode;   /* 32 B */
#ifndef AD_NEW
/* the quick-start idiom elsewhere: allocate, then clear */
#define ad_new(c, T) ((T *)memset(ad_alloc((c), sizeof(T)), 0, sizeof(T)))
#endif
/* Zeroed nodes (arena_new for ours), 1,000 per frame, linked, walked. */
static uint64_t w_new(AdCtx *c, Run *run, Rng *rng) {
    size_t nframes = scaled(run, 10000, 10), per = 1000, f, i;
    uint64_t h = 0;
    for (f = 0; f < nframes; f++) {
        NewNode *head = NULL, *n;
        for (i = 0; i < per; i++) {
            n = ad_new(c, NewNode);
            h += n->key + n->a;   /* zero: read back, so the clear is not dropped */
            n->key = rng_next(rng);
            n->next = head;
            head = n;
        }
        for (n = head; n; n = n->next) h = mix(h, n->key);
#ifdef AD_BULK
        ad_reset(c);
#else
        while (head) {
            n = head->next;
            ad_free(c, head, sizeof *head);
            head = n;
        }
#endif
    }
    run->ops = nframes * per;
    return h;
}
#endif

/* ------------------------------------------------------- 2. pool-churn */
#if defined(AD_FREE)
#define HAS_CHURN 1
#define CHURN_SIZE 64
/* Frees a random live object and allocates one in its place. With
   `barrier`, a compiler barrier stands for the other code a program runs
   between the two: the compiler cannot fuse the pair (what it does with
   an inline free list, which pops what it just pushed). */
static AD_INLINE uint64_t churn(AdCtx *c, Run *run, Rng *rng, int barrier) {   /* barrier: a constant */
    size_t live = run->smoke ? 1000 : 100000, pairs = scaled(run, 20e6, 20000), i;
    void **slot = (void **)xmalloc(live * sizeof *slot);
    uint64_t h = 0;
    for (i = 0; i < live; i++) {
        char *p = (char *)ad_alloc(c, CHURN_SIZE);
        put64(p + 8, i);
        put64(p + 56, ~(uint64_t)i);
        slot[i] = p;
    }
    measure(run, 1);   /* the pairs only: not the fill, not the final frees */
    for (i = 0; i < pairs; i++) {
        uint32_t k = rng_range(rng, 0, (uint32_t)live);
        char *p = (char *)slot[k];
        h += get64(p + 8) ^ get64(p + 56);
        ad_free(c, p, CHURN_SIZE);
        if (barrier) __asm__ __volatile__("" ::: "memory");
        p = (char *)ad_alloc(c, CHURN_SIZE);
        put64(p + 8, live + i);
        put64(p + 56, ~(uint64_t)(live + i));
        slot[k] = p;
    }
    measure(run, 0);
    for (i = 0; i < live; i++) {
        char *p = (char *)slot[i];
        h = mix(h, get64(p + 8) ^ get64(p + 56));
        ad_free(c, p, CHURN_SIZE);
    }
    free(slot);
    run->ops = pairs;
    return h;
}
static uint64_t w_churn(AdCtx *c, Run *run, Rng *rng) { return churn(c, run, rng, 0); }
static uint64_t w_churn_barrier(AdCtx *c, Run *run, Rng *rng) { return churn(c, run, rng, 1); }
#endif

/* ---------------------------------------------------- 2b. entity (handles) */
#if defined(AD_HANDLES)
#define HAS_ENTITY 1
typedef struct Ent { uint64_t id; float x, y, vx, vy; uint64_t pad[5]; } Ent;   /* 64 bytes */
/* An entity system: every step looks an entity up by its handle and
   moves it; one step in four despawns it and spawns another in its place. */
static uint64_t w_entity(AdCtx *c, Run *run, Rng *rng) {
    size_t live = run->smoke ? 1000 : 10000, steps = scaled(run, 20e6, 20000), i;
    AdHandle *hs = (AdHandle *)xmalloc(live * sizeof *hs);
    uint64_t h = 0;
    for (i = 0; i < live; i++) {
        Ent *e = (Ent *)ad_spawn(c, &hs[i]);
        e->id = i;
        e->x = e->y = 0;
        e->vx = e->vy = 1;
    }
    for (i = 0; i < steps; i++) {
        uint32_t k = rng_range(rng, 0, (uint32_t)live);
        Ent *e = (Ent *)ad_get(c, hs[k]);
        if (!e) ad_die("entity: a live handle did not resolve");
        h += e->id;
        if (i % 4 == 3) {
            ad_despawn(c, hs[k]);
            e = (Ent *)ad_spawn(c, &hs[k]);
            e->id = live + i;
            e->x = e->y = 0;
            e->vx = e->vy = 1;
        } else {
            e->x += e->vx;
            e->y += e->vy;
        }
    }
    for (i = 0; i < live; i++) {
        Ent *e = (Ent *)ad_get(c, hs[i]);
        h = mix(h, e->id + (uint64_t)e->x);
        ad_despawn(c, hs[i]);
    }
    free(hs);
    run->ops = steps;
    return h;
}
#endif

/* ------------------------------------- 2c. a double free, deep or not */
#if defined(BENCH_POOL)
#define HAS_DFREE 1
static size_t df_calls;
static void df_count(ArenaError err, const char *msg, void *ctx) { (void)err; (void)msg; (void)ctx; df_calls++; }
/* 10^6 objects freed in order; then the same few pointers freed again,
   from the bottom of the free list (the first freed) or from its top. */
static AD_INLINE uint64_t dfree(AdCtx *c, Run *run, int bottom) {
    size_t n = run->smoke ? 1000 : 1000000, calls = scaled(run, 2e6, 2000), i;
    void **objs = (void **)xmalloc(n * sizeof *objs);
    ArenaErrorFn old;
    for (i = 0; i < n; i++) objs[i] = ad_alloc(c, 64);
    for (i = 0; i < n; i++) ad_free(c, objs[i], 64);
    old = arena_set_error_handler(df_count, NULL);
    df_calls = 0;
    measure(run, 1);
    for (i = 0; i < calls; i++)
        if (pool_free(&c->p, objs[bottom ? i % 16 : n - 1 - i % 16])) ad_die("a double free was accepted");
    measure(run, 0);
    arena_set_error_handler(old, NULL);
    if (df_calls != calls) ad_die("a double free was not reported once");
    free(objs);
    run->ops = calls;
    return calls;
}
static uint64_t w_dfree_top(AdCtx *c, Run *run, Rng *rng) { (void)rng; return dfree(c, run, 0); }
static uint64_t w_dfree_bottom(AdCtx *c, Run *run, Rng *rng) { (void)rng; return dfree(c, run, 1); }
#endif

/* ------------------------------------------------------ 3. parser-like */
#if (defined(AD_BULK) || defined(AD_FREE)) && !defined(AD_ONLY)
#define HAS_PARSER 1
typedef struct PNode { struct PNode *l, *r; char *s; uint64_t key; } PNode;   /* 32 bytes */
static char ptext[4096];

static PNode *p_build(AdCtx *c, Rng *rng, size_t n) {
    PNode *node;
    uint32_t len, off;
    size_t left;
    if (!n) return NULL;
    node = (PNode *)ad_alloc(c, sizeof(PNode));
    len = rng_range(rng, 3, 22);                 /* 3..24 chars + NUL <= 32 */
    off = rng_range(rng, 0, (uint32_t)(sizeof ptext - 32));
    node->s = (char *)ad_alloc(c, len + 1);
    memcpy(node->s, ptext + off, len);
    node->s[len] = '\0';
    node->key = (rng_next(rng) << 5) | len;
    left = (n - 1) / 2;
    node->l = p_build(c, rng, left);
    node->r = p_build(c, rng, n - 1 - left);
    return node;
}

static uint64_t p_walk(const PNode *n) {
    uint64_t h = 0;
    while (n) {   /* in-order along the right spine */
        size_t len = n->key & 31;
        h += p_walk(n->l);
        h = mix(h, n->key + (unsigned char)n->s[0] + ((uint64_t)(unsigned char)n->s[len - 1] << 8));
        n = n->r;
    }
    return h;
}

#if !defined(AD_BULK)
static void p_free(AdCtx *c, PNode *n) {
    while (n) {
        PNode *r = n->r;
        p_free(c, n->l);
        ad_free(c, n->s, (n->key & 31) + 1);
        ad_free(c, n, sizeof *n);
        n = r;
    }
}
#endif

static uint64_t w_parser(AdCtx *c, Run *run, Rng *rng) {
    size_t nodes = scaled(run, 2e6, 2000);
    PNode *root = p_build(c, rng, nodes);
    uint64_t h = p_walk(root);
#ifdef AD_BULK
    ad_reset(c);
#else
    p_free(c, root);
#endif
    run->ops = 2 * nodes;   /* allocations */
    return h;
}
#endif

/* ----------------------------------------------------- 4. realloc-grow */
#if defined(AD_VAR) && (defined(AD_REALLOC) || defined(AD_GROW)) && !defined(AD_ONLY)
#define HAS_REALLOC 1
#define GROW_TO 256
static uint64_t w_realloc(AdCtx *c, Run *run, Rng *rng) {
    size_t arrays = scaled(run, 100000, 100), k;
    int **arr = (int **)xmalloc(arrays * sizeof *arr);
    uint64_t h = 0;
    (void)rng;
    for (k = 0; k < arrays; k++) {
#ifdef AD_GROW
        /* obstack's own way: grow the current object, finish it */
        int i;
        for (i = 0; i < GROW_TO; i++) ad_grow_int(c, i ^ (int)k);
        arr[k] = ad_grow_finish(c);
#else
        int *p = NULL;
        size_t cap = 0, i;
        for (i = 0; i < GROW_TO; i++) {
            if (i == cap) {
                size_t ncap = cap ? cap * 2 : 1;
                p = (int *)ad_realloc(c, p, cap * sizeof *p, ncap * sizeof *p);
                if (!p) ad_die("realloc");
                cap = ncap;
            }
            p[i] = (int)i ^ (int)k;
        }
        arr[k] = p;
#endif
    }
    for (k = 0; k < arrays; k++) {
        const int *p = arr[k];
        h = mix(h, (uint64_t)(unsigned)p[0] + (uint64_t)(unsigned)p[GROW_TO / 2] * 3 +
                   (uint64_t)(unsigned)p[GROW_TO - 1] * 7);
    }
#ifdef AD_BULK
    ad_reset(c);
#else
    for (k = 0; k < arrays; k++) ad_free(c, arr[k], GROW_TO * sizeof(int));
#endif
    free(arr);
    run->ops = arrays * 9;   /* growth steps: 1, 2, 4 ... 256 ints */
    return h;
}
#endif

/* ------------------------------------------------------- 5. small-bump */
#if defined(AD_VAR) && (defined(AD_BULK) || defined(AD_FREE)) && \
    (!defined(AD_ONLY) || defined(BENCH_STACK))
#define HAS_SMALL 1
static uint64_t w_small(AdCtx *c, Run *run, Rng *rng) {
    size_t n = scaled(run, 10e6, 10000), i;
#ifndef AD_BULK
    void **ptr = (void **)xmalloc(n * sizeof *ptr);
#endif
    unsigned char *prev = NULL;
    uint32_t prev_len = 0;
    uint64_t h = 0;
    for (i = 0; i < n; i++) {
        uint32_t len = rng_range(rng, 8, 57);   /* 8..64 bytes */
        unsigned char *p = (unsigned char *)ad_alloc(c, len);
        p[0] = (unsigned char)i;
        p[len - 1] = (unsigned char)(i >> 8);
        if (prev) h += prev[0] + ((uint64_t)prev[prev_len - 1] << 8);   /* still intact? */
        prev = p;
        prev_len = len;
#ifndef AD_BULK
        ptr[i] = p;
#endif
    }
    h += prev[0] + ((uint64_t)prev[prev_len - 1] << 8);
#ifdef AD_BULK
    ad_reset(c);
#else
    for (i = 0; i < n; i++) ad_free(c, ptr[i], 0);
    free(ptr);
#endif
    run->ops = n;
    return h;
}
#endif

/* ---------------------------------------------------------- 6. sprintf */
#define SPRINTF_FMT "%s#%d pos=(%d,%d) hp=%u id=%08x"

#if defined(AD_SPRINTF) || defined(AD_MALLOC)
#define HAS_SPRINTF 1
static const char *const names[16] = {
    "orc", "goblin", "dragon", "knight", "archer", "wizard", "slime", "bat",
    "skeleton", "zombie", "troll", "golem", "spider", "wolf", "bandit", "lich"};
#if !defined(AD_SPRINTF)
/* the process malloc: vasprintf, as a user's xasprintf wrapper calls it */
static char *ad_sprintf(AdCtx *c, const char *fmt, ...) {
    va_list ap;
    char *s;
    int n;
    (void)c;
    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}
#endif
static uint64_t w_sprintf(AdCtx *c, Run *run, Rng *rng) {
    size_t n = scaled(run, 1e6, 1000), i;
#if !defined(AD_BULK)
    char **ptr = (char **)xmalloc(n * sizeof *ptr);
#endif
    uint64_t h = 0;
    for (i = 0; i < n; i++) {
        uint64_t r = rng_next(rng);
        char *s = ad_sprintf(c, SPRINTF_FMT, names[r & 15], (int)i, (int)(r >> 8 & 0xfff) - 2048,
                             (int)(r >> 20 & 0xfff) - 2048, (unsigned)(r >> 32 & 0xffff),
                             (unsigned)(r >> 40));
        size_t len;
        if (!s) ad_die("sprintf");
        len = strlen(s);
        h = mix(h, len + ((uint64_t)(unsigned char)s[len / 2] << 8) +
                   ((uint64_t)(unsigned char)s[len - 1] << 16));
#if !defined(AD_BULK)
        ptr[i] = s;
#endif
    }
#if defined(AD_BULK)
    ad_reset(c);
#else
    for (i = 0; i < n; i++) ad_free(c, ptr[i], 0);
    free(ptr);
#endif
    run->ops = n;
    return h;
}
#endif

/* snprintf into a malloc'd buffer: measure, malloc, format (two passes) */
#if defined(AD_MALLOC)
#define HAS_SNPRINTF 1
static char *snprintf_malloc(const char *fmt, ...) {
    va_list ap, aq;
    int n;
    char *s;
    va_start(ap, fmt);
    va_copy(aq, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    s = (char *)malloc((size_t)n + 1);
    if (s) vsnprintf(s, (size_t)n + 1, fmt, aq);
    va_end(aq);
    va_end(ap);
    return s;
}
static uint64_t w_snprintf(AdCtx *c, Run *run, Rng *rng) {
    size_t n = scaled(run, 1e6, 1000), i;
    char **ptr = (char **)xmalloc(n * sizeof *ptr);
    uint64_t h = 0;
    for (i = 0; i < n; i++) {
        uint64_t r = rng_next(rng);
        char *s = snprintf_malloc(SPRINTF_FMT, names[r & 15], (int)i, (int)(r >> 8 & 0xfff) - 2048,
                                  (int)(r >> 20 & 0xfff) - 2048, (unsigned)(r >> 32 & 0xffff),
                                  (unsigned)(r >> 40));
        size_t len;
        if (!s) ad_die("snprintf");
        len = strlen(s);
        h = mix(h, len + ((uint64_t)(unsigned char)s[len / 2] << 8) +
                   ((uint64_t)(unsigned char)s[len - 1] << 16));
        ptr[i] = s;
    }
    for (i = 0; i < n; i++) ad_free(c, ptr[i], 0);
    free(ptr);
    run->ops = n;
    return h;
}
#endif

/* ------------------------------------------------------------- 7. json */
#if defined(AD_VAR) && (defined(AD_BULK) || defined(AD_FREE)) && !defined(AD_ONLY)
#define HAS_JSON 1
enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct JNode {
    uint32_t type, count;
    char *key;                 /* member name in an object, else NULL */
    union { double num; char *str; struct JNode *child; } u;
    struct JNode *next;        /* next sibling */
} JNode;                       /* 32 bytes */

typedef struct { const char *p, *end; AdCtx *c; size_t allocs; int err; } JP;

static void j_ws(JP *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static unsigned j_hex(const char *s) {
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        char ch = s[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9') v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') v |= (unsigned)(ch - 'A' + 10);
    }
    return v;
}

/* at the opening quote; the decoded copy is never longer than the source */
static char *j_string(JP *j) {
    const char *s = ++j->p, *q = s;
    char *out, *o;
    while (q < j->end && *q != '"') q += (*q == '\\') ? 2 : 1;
    if (q >= j->end) { j->err = 1; return NULL; }
    out = o = (char *)ad_alloc(j->c, (size_t)(q - s) + 1);
    j->allocs++;
    while (s < q) {
        if (*s != '\\') { *o++ = *s++; continue; }
        s++;
        switch (*s) {
        case 'n': *o++ = '\n'; s++; break;
        case 't': *o++ = '\t'; s++; break;
        case 'r': *o++ = '\r'; s++; break;
        case 'b': *o++ = '\b'; s++; break;
        case 'f': *o++ = '\f'; s++; break;
        case 'u': {
            unsigned cp = j_hex(s + 1);
            s += 5;
            if (cp < 0x80) *o++ = (char)cp;
            else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 63)); }
            else { *o++ = (char)(0xE0 | cp >> 12); *o++ = (char)(0x80 | (cp >> 6 & 63)); *o++ = (char)(0x80 | (cp & 63)); }
            break;
        }
        default: *o++ = *s++; break;
        }
    }
    *o = '\0';
    j->p = q + 1;
    return out;
}

static const double pow10_tab[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                   1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
                                   1e21, 1e22};
static double j_number(JP *j) {
    const char *s = j->p;
    int neg = 0, e = 0, esign = 1, ex = 0;
    uint64_t m = 0;
    double v;
    if (*s == '-') { neg = 1; s++; }
    while (s < j->end && *s >= '0' && *s <= '9') {
        if (m < 100000000000000000ULL) m = m * 10 + (uint64_t)(*s - '0'); else e++;
        s++;
    }
    if (s < j->end && *s == '.') {
        s++;
        while (s < j->end && *s >= '0' && *s <= '9') {
            if (m < 100000000000000000ULL) { m = m * 10 + (uint64_t)(*s - '0'); e--; }
            s++;
        }
    }
    if (s < j->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (*s == '-') { esign = -1; s++; } else if (*s == '+') s++;
        while (s < j->end && *s >= '0' && *s <= '9') { ex = ex * 10 + (*s - '0'); s++; }
    }
    e += esign * ex;
    v = (double)m;
    while (e > 22) { v *= 1e22; e -= 22; }
    while (e < -22) { v /= 1e22; e += 22; }
    v = e >= 0 ? v * pow10_tab[e] : v / pow10_tab[-e];
    j->p = s;
    return neg ? -v : v;
}

static JNode *j_value(JP *j);

static JNode *j_new(JP *j, uint32_t type) {
    JNode *n = (JNode *)ad_alloc(j->c, sizeof(JNode));
    j->allocs++;
    n->type = type;
    n->count = 0;
    n->key = NULL;
    n->u.child = NULL;
    n->next = NULL;
    return n;
}

static JNode *j_value(JP *j) {
    JNode *n, **tail;
    j_ws(j);
    if (j->p >= j->end) { j->err = 1; return NULL; }
    switch (*j->p) {
    case '{':
    case '[': {
        int obj = *j->p == '{';
        char close = obj ? '}' : ']';
        n = j_new(j, obj ? J_OBJ : J_ARR);
        tail = &n->u.child;
        j->p++;
        j_ws(j);
        if (j->p < j->end && *j->p == close) { j->p++; return n; }
        for (;;) {
            char *key = NULL;
            JNode *v;
            if (obj) {
                j_ws(j);
                if (j->p >= j->end || *j->p != '"') { j->err = 1; return n; }
                key = j_string(j);
                j_ws(j);
                if (j->p >= j->end || *j->p != ':') { j->err = 1; return n; }
                j->p++;
            }
            v = j_value(j);
            if (!v) { j->err = 1; return n; }
            v->key = key;
            *tail = v;
            tail = &v->next;
            n->count++;
            j_ws(j);
            if (j->p < j->end && *j->p == ',') { j->p++; continue; }
            if (j->p < j->end && *j->p == close) { j->p++; return n; }
            j->err = 1;
            return n;
        }
    }
    case '"':
        n = j_new(j, J_STR);
        n->u.str = j_string(j);
        return n;
    case 't': j->p += 4; return j_new(j, J_TRUE);
    case 'f': j->p += 5; return j_new(j, J_FALSE);
    case 'n': j->p += 4; return j_new(j, J_NULL);
    default:
        n = j_new(j, J_NUM);
        n->u.num = j_number(j);
        return n;
    }
}

static uint64_t j_strsum(const char *s) {
    size_t len = strlen(s);
    return len + (len ? (unsigned char)s[0] + ((uint64_t)(unsigned char)s[len - 1] << 8) : 0);
}

static uint64_t j_walk(const JNode *n) {
    uint64_t h = 0;
    for (; n; n = n->next) {
        h = mix(h, n->type * 131u + n->count);
        if (n->key) h = mix(h, j_strsum(n->key));
        if (n->type == J_STR) h = mix(h, j_strsum(n->u.str));
        else if (n->type == J_NUM) {
            int64_t iv = (int64_t)(n->u.num * 1024.0);
            h = mix(h, (uint64_t)iv);
        } else if (n->type == J_ARR || n->type == J_OBJ) h = mix(h, j_walk(n->u.child));
    }
    return h;
}

#if !defined(AD_BULK)
static void j_free(AdCtx *c, JNode *n) {
    while (n) {
        JNode *next = n->next;
        if (n->key) ad_free(c, n->key, 0);
        if (n->type == J_STR) ad_free(c, n->u.str, 0);
        else if (n->type == J_ARR || n->type == J_OBJ) j_free(c, n->u.child);
        ad_free(c, n, sizeof *n);
        n = next;
    }
}
#endif

typedef struct { char *data; size_t len; } Doc;
static Doc docs[3];
static const char *const doc_names[3] = {"canada.json", "citm_catalog.json", "twitter.json"};

static int load_docs(const char *dir) {
    int i;
    for (i = 0; i < 3; i++) {
        char path[4096];
        FILE *f;
        long len;
        if (docs[i].data) continue;
        snprintf(path, sizeof path, "%s/%s", dir, doc_names[i]);
        f = fopen(path, "rb");
        if (!f) return -1;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        docs[i].data = (char *)xmalloc((size_t)len + 1);
        if (fread(docs[i].data, 1, (size_t)len, f) != (size_t)len) { fclose(f); return -1; }
        docs[i].data[len] = '\0';
        docs[i].len = (size_t)len;
        fclose(f);
    }
    return 0;
}

static uint64_t w_json(AdCtx *c, Run *run, Rng *rng) {
    size_t reps = scaled(run, 6, 1), r;
    int d;
    uint64_t h = 0;
    JP j;
    (void)rng;
    if (load_docs(run->json_dir) != 0) {
        fprintf(stderr, "bench: cannot read the JSON documents in %s\n", run->json_dir);
        exit(4);
    }
    memset(&j, 0, sizeof j);
    j.c = c;
    for (r = 0; r < reps; r++) {
        for (d = 0; d < 3; d++) {
            JNode *root;
            if (run->smoke && d != 2) continue;   /* smoke: twitter.json only */
            j.p = docs[d].data;
            j.end = docs[d].data + docs[d].len;
            root = j_value(&j);
            if (j.err || !root) ad_die("json parse");
            h = mix(h, j_walk(root));
#ifdef AD_BULK
            ad_reset(c);
#else
            j_free(c, root);
#endif
        }
    }
    run->ops = j.allocs;
    return h;
}
#endif

/* ---------------------------------------------------------- 8. scaling */
#if defined(BENCH_ARENA) || defined(BENCH_BUMP) || defined(BENCH_GLIBC) || defined(BENCH_MIMALLOC)
#define HAS_SCALING 1

/* N allocations of 16 bytes, each written, then all freed; repeated until
   the pass has done max(N, 10^7) allocations (10^5 under callgrind).
   10^8 (1.6 GB) runs for ours and the bump only. */
static uint64_t w_scaling(AdCtx *c, Run *run, Rng *rng, size_t n) {
    size_t total = scaled(run, 1e7, 1e4), reps, r, i;
#ifndef AD_BULK
    void **ptr = (void **)xmalloc(n * sizeof *ptr);
#endif
    uint64_t h = 0;
    (void)rng;
    if (total < n) total = n;
    reps = total / n;
    for (r = 0; r < reps; r++) {
        for (i = 0; i < n; i++) {
            char *p = (char *)ad_alloc(c, 16);
            put64(p, i + r);
            h += (unsigned char)p[0];
#ifndef AD_BULK
            ptr[i] = p;
#endif
        }
#ifdef AD_BULK
        ad_reset(c);
#else
        for (i = 0; i < n; i++) ad_free(c, ptr[i], 16);
#endif
    }
#ifndef AD_BULK
    free(ptr);
#endif
    run->ops = reps * n;
    return h;
}
#endif

/* ------------------------------------------------------------ 9. stack */
#if defined(AD_LIFO) && defined(AD_VAR) && (!defined(AD_ONLY) || defined(BENCH_STACK) || \
                                            defined(BENCH_ARENA_MARKS))
#define HAS_STACK 1
#define STACK_MAX 64
/* A random walk of LIFO pushes (16..512 bytes) and pops, depth <= 64. */
static uint64_t w_stack(AdCtx *c, Run *run, Rng *rng) {
    size_t ops = scaled(run, 20e6, 20000), i;
    unsigned char *ptr[STACK_MAX];
    uint32_t len[STACK_MAX];
    int depth = 0;
    uint64_t h = 0;
    for (i = 0; i < ops; i++) {
        uint64_t r = rng_next(rng);
        if (depth == 0 || (depth < STACK_MAX && (r >> 63))) {
            uint32_t n = 16 + (uint32_t)(((r & 0xffffffffu) * 497) >> 32);
            unsigned char *p = (unsigned char *)ad_push(c, n);
            put64(p, i);
            p[n - 1] = (unsigned char)n;
            ptr[depth] = p;
            len[depth] = n;
            depth++;
        } else {
            unsigned char *p;
            depth--;
            p = ptr[depth];
            h = mix(h, get64(p) + p[len[depth] - 1]);
            ad_pop(c, p, len[depth]);
        }
    }
    while (depth > 0) {
        depth--;
        h = mix(h, get64(ptr[depth]) + ptr[depth][len[depth] - 1]);
        ad_pop(c, ptr[depth], len[depth]);
    }
    run->ops = ops;
    return h;
}
#endif

/* ------------------------------------------------ 10. marks and temps */
#ifdef AD_MARKS
#define HAS_MARKS 1
/* Writes a fresh allocation of 16..128 bytes and mixes it into h. */
static inline uint64_t mark_touch(AdCtx *c, Rng *rng, uint64_t h, size_t i) {
    uint32_t n = rng_range(rng, 16, 113);
    unsigned char *p = (unsigned char *)ad_alloc(c, n);
    put64(p, i);
    p[n - 1] = (unsigned char)n;
    return mix(h, get64(p) + p[n - 1]);
}

/* `ops` steps of one shape (inlined into each workload). */
static inline uint64_t mark_loop(AdCtx *c, Run *run, Rng *rng, size_t ops,
                                 uint64_t (*step)(AdCtx *, Rng *, uint64_t, size_t)) {
    uint64_t h = 0;
    size_t i;
    for (i = 0; i < ops; i++) h = step(c, rng, h, i);
    run->ops = ops;
    return h;
}

/* A mark, one allocation, a rewind: the pair's cost over a bump. */
static inline uint64_t mark_rewind_step(AdCtx *c, Rng *rng, uint64_t h, size_t i) {
    AdMark m = ad_mark(c);
    h = mark_touch(c, rng, h, i);
    ad_rewind(c, m);
    return h;
}

/* A temp scope with two allocations. */
static inline uint64_t temp_scope_step(AdCtx *c, Rng *rng, uint64_t h, size_t i) {
    AdTemp t = ad_temp_begin(c);
    h = mark_touch(c, rng, h, i);
    h = mark_touch(c, rng, h, i);
    ad_temp_end(t);
    return h;
}

/* A temp scope with an allocation, a nested scope with one, one more. */
static inline uint64_t temp_nested_step(AdCtx *c, Rng *rng, uint64_t h, size_t i) {
    AdTemp outer = ad_temp_begin(c), inner;
    h = mark_touch(c, rng, h, i);
    inner = ad_temp_begin(c);
    h = mark_touch(c, rng, h, i);
    ad_temp_end(inner);
    h = mark_touch(c, rng, h, i);
    ad_temp_end(outer);
    return h;
}

static uint64_t w_mark_rewind(AdCtx *c, Run *run, Rng *rng) {
    return mark_loop(c, run, rng, scaled(run, 20e6, 20000), mark_rewind_step);
}
static uint64_t w_temp_scope(AdCtx *c, Run *run, Rng *rng) {
    return mark_loop(c, run, rng, scaled(run, 10e6, 10000), temp_scope_step);
}
static uint64_t w_temp_nested(AdCtx *c, Run *run, Rng *rng) {
    return mark_loop(c, run, rng, scaled(run, 10e6, 10000), temp_nested_step);
}
#endif

/* ------------------------------------------------------------- driver */

/* The workloads this binary can run, in the order of the report. */
typedef struct Workload {
    const char *name;
    uint64_t (*fn)(AdCtx *, Run *, Rng *);   /* NULL: scaling, to n */
    size_t n;
} Workload;

static const Workload workloads[] = {
#ifdef HAS_FRAME
    {"frame-scratch", w_frame, 0},
    {"frames-alt", w_frame_alt, 0},
#endif
#ifdef HAS_NEW
    {"arena-new", w_new, 0},
#endif
#ifdef HAS_CHURN
    {"pool-churn", w_churn, 0},
    {"pool-churn-barrier", w_churn_barrier, 0},
#endif
#ifdef HAS_ENTITY
    {"entity", w_entity, 0},
#endif
#ifdef HAS_DFREE
    {"double-free-top", w_dfree_top, 0},
    {"double-free-bottom", w_dfree_bottom, 0},
#endif
#ifdef HAS_PARSER
    {"parser-like", w_parser, 0},
#endif
#ifdef HAS_REALLOC
    {"realloc-grow", w_realloc, 0},
#endif
#ifdef HAS_SMALL
    {"small-bump", w_small, 0},
#endif
#ifdef HAS_SPRINTF
    {"sprintf", w_sprintf, 0},
#endif
#ifdef HAS_SNPRINTF
    {"snprintf", w_snprintf, 0},
#endif
#ifdef HAS_JSON
    {"json", w_json, 0},
#endif
#ifdef HAS_SCALING
    {"scaling-1e3", NULL, 1000}, {"scaling-1e4", NULL, 10000}, {"scaling-1e5", NULL, 100000},
    {"scaling-1e6", NULL, 1000000}, {"scaling-1e7", NULL, 10000000},
#if defined(BENCH_ARENA) || defined(BENCH_BUMP)
    {"scaling-1e8", NULL, 100000000},
#endif
#endif
#ifdef HAS_STACK
    {"stack", w_stack, 0},
#endif
#ifdef HAS_MARKS
    {"mark-rewind", w_mark_rewind, 0},
    {"temp-scope", w_temp_scope, 0},
    {"temp-nested", w_temp_nested, 0},
#endif
};

/* The workload named w, if this binary runs it (and AD_ONLY lets it). */
static const Workload *find_workload(const char *w) {
    size_t i;
#ifdef AD_ONLY
    char pat[64];
    snprintf(pat, sizeof pat, "|%s|", w);
    if (!strstr(AD_ONLY, pat)) return NULL;
#endif
    for (i = 0; i < sizeof workloads / sizeof *workloads; i++)
        if (!strcmp(w, workloads[i].name)) return &workloads[i];
    return NULL;
}

static size_t fixed_size(const char *w) {
    if (!strncmp(w, "pool-churn", 10) || !strcmp(w, "entity") || !strncmp(w, "double-free", 11)) return 64;
    if (!strcmp(w, "parser-like")) return 32;
    return 0;
}

static uint64_t run_pass(AdCtx *c, Run *run, const Workload *wk) {
    Rng rng;
    rng.s = 0x9E3779B97F4A7C15ULL;   /* the same stream in every binary */
#ifdef HAS_SCALING
    if (!wk->fn) return w_scaling(c, run, &rng, wk->n);
#endif
    return wk->fn(c, run, &rng);
}

/* Instructions of the warm pass from the hardware counter (what `perf stat
   -e instructions` reads), when the kernel and the machine give one. */
static int insn_open(void) {
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.type = PERF_TYPE_HARDWARE;
    pe.size = sizeof pe;
    pe.config = PERF_COUNT_HW_INSTRUCTIONS;
    pe.disabled = 1;
    pe.exclude_kernel = 1;
    pe.exclude_hv = 1;
    return (int)syscall(__NR_perf_event_open, &pe, 0, -1, -1, 0);
}

static const char *malloc_origin(void) {
    Dl_info di;
    void *(*fn)(size_t) = malloc;
    void *addr;
    const char *slash;
    memcpy(&addr, &fn, sizeof addr);
    if (!dladdr(addr, &di) || !di.dli_fname) return "unknown";
    slash = strrchr(di.dli_fname, '/');
    return slash ? slash + 1 : di.dli_fname;
}

int main(int argc, char **argv) {
    Run run;
    AdCtx ctx;
    const char *w, *scale;
    const Workload *wk;
    double t0, t1, t2, cold, cold_scale, full_scale;
    uint64_t h0, h1, cold_ops;
    size_t grabs0 = 0, grabs1 = 0;
    int i, perf = 0, own_window;
    struct rusage ru;
    size_t k;

    memset(&run, 0, sizeof run);
    run.json_dir = "../shared/data/json";
    if (argc >= 2 && !strcmp(argv[1], "--list")) {
        for (k = 0; k < sizeof workloads / sizeof *workloads; k++)
            if (find_workload(workloads[k].name)) printf("%s\n", workloads[k].name);
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s --list | WORKLOAD smoke|cg|full [--json-dir DIR] [--perf]\n", argv[0]);
        return 2;
    }
    w = argv[1];
    scale = argv[2];
    for (i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--json-dir") && i + 1 < argc) run.json_dir = argv[++i];
        else if (!strcmp(argv[i], "--perf")) perf = 1;
    }
    if (!(wk = find_workload(w))) {
        printf("RESULT name=%s work=%s n/a\n", AD_NAME, w);
        return 0;
    }
    if (!strcmp(scale, "smoke")) { run.smoke = 1; run.scale = 0.001; }
    else if (!strcmp(scale, "cg")) { run.cg = 1; run.scale = 0.01; }
    else if (!strcmp(scale, "full")) run.scale = 1.0;
    else { fprintf(stderr, "bench: unknown scale %s\n", scale); return 2; }
#ifdef HAS_PARSER
    {   /* text the parser-like strings are copied from */
        Rng r;
        r.s = 12345;
        for (k = 0; k < sizeof ptext; k++) ptext[k] = (char)('a' + rng_range(&r, 0, 26));
    }
#endif

    /* Workloads whose memory is small next to their operation count reach
       their steady state within a fraction of a pass: their first (cold)
       pass is a warm-up at a tenth of the size. The others (parser-like,
       realloc-grow, small-bump, scaling) run the whole workload cold. */
    cold_scale = run.scale;
    if (!run.smoke && !run.cg &&
        (!strncmp(w, "pool-churn", 10) || !strcmp(w, "entity") || !strcmp(w, "frame-scratch") ||
         !strcmp(w, "frames-alt") || !strcmp(w, "arena-new") || !strcmp(w, "stack") ||
         !strcmp(w, "mark-rewind") || !strncmp(w, "temp-", 5) ||
         !strcmp(w, "sprintf") || !strcmp(w, "snprintf") || !strcmp(w, "json")))
        cold_scale = run.scale / 10;
    run.perf_fd = perf ? insn_open() : -1;
    run.insn = -1;

    ad_init(&ctx, fixed_size(w));
    full_scale = run.scale;
    run.scale = cold_scale;
    run.pass = 0;
    t0 = now_ns();
    h0 = run_pass(&ctx, &run, wk);
    t1 = now_ns();
    cold = t1 - t0;
    cold_ops = run.ops;
    run.scale = full_scale;
    run.pass = 1;
#ifdef AD_OURS
    grabs0 = ad_grabs(&ctx);
#endif
    own_window = !strncmp(w, "pool-churn", 10) || !strncmp(w, "double-free", 11);
    if (!own_window) measure(&run, 1);
    t1 = now_ns();
    h1 = run_pass(&ctx, &run, wk);
    t2 = now_ns();
    if (!own_window) measure(&run, 0);
#ifdef AD_OURS
    grabs1 = ad_grabs(&ctx);
#endif
    if (run.perf_fd >= 0) close(run.perf_fd);
    ad_fini(&ctx);
    if (cold_scale == full_scale && h0 != h1) {
        fprintf(stderr, "bench: %s %s: the two passes disagree (%llx, %llx)\n", AD_NAME, w,
                (unsigned long long)h0, (unsigned long long)h1);
        return 1;
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("RESULT name=%s work=%s scale=%s ops=%llu cold_ops=%llu cold_ns=%.0f warm_ns=%.0f "
           "checksum=%016llx rss_kb=%ld grabs_warm=%llu grabs_after=%llu warm_grabs=%llu insn=%lld "
           "malloc=%s\n",
           AD_NAME, w, scale, (unsigned long long)run.ops, (unsigned long long)cold_ops, cold, t2 - t1,
           (unsigned long long)h1, ru.ru_maxrss, (unsigned long long)run.grabs_warm,
           (unsigned long long)run.grabs_after, (unsigned long long)(grabs1 - grabs0), run.insn,
           malloc_origin());
    return 0;
}
