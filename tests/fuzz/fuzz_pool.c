/* fuzz_pool.c - libFuzzer harness for pool.h.

   Operations decoded from the input run on a pool P (on malloc, on a
   counting source with an optional cap that can fail, or on a buffer; any
   object size and alignment, bad ones included) and on a second pool Q
   whose objects and handles serve as foreign ones. The model knows every
   live object (address, handle if it has one, contents: a pattern from an
   id) and keeps the pointers and handles of freed objects. After every
   operation:
     - an allocation succeeds (aligned, overlapping nothing live), or fails
       with one OOM only where the buffer is full, the cap is near or the
       source failed; a pool whose init failed refuses with MISUSE;
     - pool_free / pool_free_handle of a live object succeed; double,
       foreign, interior and stray frees, after reset or release, stale,
       null and foreign handles are MISUSE, return false, change nothing;
       pool_free(NULL) is a quiet no-op;
     - pool_get of a live handle gives its object, of anything else NULL
       (quietly) or, for a foreign or made-up handle, at most a live object
       of this pool; pool_owns and pool_handle_of agree with the model;
     - pool_each visits exactly the live objects, once each (also when the
       callback frees the object it is given);
     - every live object holds its pattern; the stats agree with the model
       and the source; after release every block went back once.
     - pool_trim keeps every live object where it is, intact, with its
       handle, and never gives back more than it held; freed handles stay
       dead, also once the slots come back;
     - reset, release and trim called from inside pool_each are MISUSE and
       change nothing.
   Checks cost in proportion to the operations: each operation checks what
   it touched and a few rotating witnesses; everything (every live object's
   contents, every handle) is checked every 32 operations and at the end.
   Inputs run at most 256 operations. Any mismatch abort()s.

   Pools take 4 KiB blocks here, not 64 KiB: writing and scanning a block's
   headers was most of an execution, and small blocks make more growth. */
#define POOL_BLOCK_SIZE ((size_t)4 << 10)
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../../pool.h"
#include "fuzz_common.h"

enum { K_HEAP, K_SOURCE, K_BUFFER, K_COUNT };
enum { MAXL = 256, MAXF = 64, MAXQ = 16, MAXOPS = 256 };

#define BUF_BYTES ((size_t)512 << 10)

typedef struct Obj {
    char *p;
    PoolHandle h;            /* the null handle if it has none */
    uint32_t id;
} Obj;

typedef struct Freed {
    char *p;
    PoolHandle h;
} Freed;

typedef union FuzzBuf {
    long double ld;
    void *ptr;
    unsigned char b[BUF_BYTES + 64];
} FuzzBuf;

static struct {
    Pool p, q;
    int kind, inert;         /* inert: init failed, every allocation is MISUSE */
    size_t size, align, cap, buf_cap;
    FuzzSource src;
    Obj live[MAXL];
    size_t nl;
    Freed fr[MAXF];
    size_t nf;
    Obj ql[MAXQ];            /* Q's live objects */
    size_t nq;
    uint32_t next_id;
    size_t src_failed_before;
    unsigned op;
    size_t each_seen;
    int each_free, each_reenter;
} S;

static FuzzBuf fbuf;
static char stray[512];

static PoolHandle null_handle(void) {
    PoolHandle h;
    memset(&h, 0, sizeof h);
    return h;
}

static size_t block_bytes(void) { return S.p.block_bytes; }

/* The model's own scans are not the code under test: FZ_NOCOV (no
   coverage callbacks; they were most of the time spent per input). */

/* Does [obj, obj + n) overlap a live object of P or Q? */
static FZ_NOCOV int overlaps_live(const char *obj, size_t n) {
    size_t i;
    for (i = 0; i < S.nl; i++)
        if (fz_overlap(obj, n, S.live[i].p, S.p.size)) return 1;
    for (i = 0; i < S.nq; i++)
        if (fz_overlap(obj, n, S.ql[i].p, S.q.size)) return 1;
    return 0;
}

/* A freed pointer at this address is live again: forget it as freed. */
static FZ_NOCOV void forget_freed(const char *obj) {
    size_t i;
    for (i = 0; i < S.nf; i++)
        if (S.fr[i].p == obj) S.fr[i].p = NULL;
}

static FZ_NOCOV size_t live_index(const void *p) {
    size_t i;
    for (i = 0; i < S.nl; i++)
        if (S.live[i].p == p) return i;
    return SIZE_MAX;
}

static void remember_freed(char *p, PoolHandle h) {
    if (S.nf == MAXF) {
        memmove(&S.fr[0], &S.fr[1], (MAXF - 1) * sizeof S.fr[0]);
        S.nf--;
    }
    S.fr[S.nf].p = p;
    S.fr[S.nf].h = h;
    S.nf++;
}

static void all_freed(void) {
    size_t i;
    for (i = 0; i < S.nl; i++) remember_freed(S.live[i].p, S.live[i].h);
    S.nl = 0;
}

static FZ_NOCOV void check_all(int full) {
    size_t i;
    for (i = 0; i < S.nl; i++) FUZZ_REQUIRE(fz_holds(S.live[i].p, S.size, S.size, S.live[i].id, full));
    for (i = 0; i < S.nq; i++) FUZZ_REQUIRE(fz_holds(S.ql[i].p, S.q.size, S.q.size, S.ql[i].id, full));
}

/* Every handle: live ones resolve, freed ones never again. */
static void check_handles(size_t from, size_t step) {
    size_t i;
    for (i = from; i < S.nl; i += step)
        if (S.live[i].h.gen) FUZZ_REQUIRE(pool_get(&S.p, S.live[i].h) == S.live[i].p);
    for (i = from; i < S.nf; i += step)
        if (S.fr[i].h.gen) FUZZ_REQUIRE(pool_get(&S.p, S.fr[i].h) == NULL);
}

static void after_op(void) {
    PoolStats st = pool_stats(&S.p);
    int full = (S.op & 31) == 0;
    fz_expect_none();
    FUZZ_REQUIRE(st.live == S.nl);
    FUZZ_REQUIRE(st.capacity >= st.live);
    FUZZ_REQUIRE(st.peak_live >= st.live);
    if (S.kind == K_BUFFER && !S.inert)          /* (0: released, carved again when used) */
        FUZZ_REQUIRE(st.capacity == S.buf_cap || (st.capacity == 0 && !st.live));
    fz_check_held(st.bytes_held, st.grab_count, S.kind == K_SOURCE ? &S.src : NULL, S.cap);
    /* a rotating eighth of the witnesses, or all of them */
    check_handles(full ? 0 : S.op % 8, full ? 1 : 8);
    fz_expect_none();
    if (full) check_all(S.op % 512 == 0);
    S.src_failed_before = S.src.failed;
}

/* ---- setup -------------------------------------------------------------------- */

static size_t pick_size(FuzzIn *in) {
    static const size_t sizes[] = { 0, 1, 7, 8, 15, 16, 24, 33, 48, 64, 100, 128, 255, 1000,
                                    4096, 5000, 70000, SIZE_MAX, ((size_t)128 << 20) + 1 };
    uint8_t k = in_u8(in);
    if (k < 128) return 1 + k % 96;
    return sizes[k % (sizeof sizes / sizeof sizes[0])];
}

static size_t pick_align(FuzzIn *in) {
    uint8_t k = in_u8(in);
    static const size_t odd[] = { 0, 3, 24, (size_t)1 << 40, (size_t)1 << 27, ((size_t)1 << 27) * 2 };
    if (k < 230) return (size_t)1 << (k % 13);   /* 1 .. 4096 */
    return odd[k % (sizeof odd / sizeof odd[0])];
}

/* What pool_init* must report for these parameters (before any memory). */
static ArenaError param_error(size_t size, size_t align) {
    if (!fz_pow2(align)) return ARENA_ERR_ALIGN;
    if (size > ((size_t)128 << 20) || align > ((size_t)128 << 20)) return ARENA_ERR_OVERFLOW;
    return ARENA_OK;
}

static void init_p(FuzzIn *in) {
    uint8_t k = in_u8(in);
    ArenaError want, e;
    S.kind = k % K_COUNT;
    S.size = pick_size(in);
    S.align = pick_align(in);
    S.cap = S.buf_cap = 0;
    S.inert = 0;
    fz_src_init(&S.src);
    S.src_failed_before = 0;
    want = param_error(S.size, S.align);
    switch (S.kind) {
    case K_HEAP:
        if (want == ARENA_OK && S.size > 8192) S.size = 8192;    /* keep RSS small */
        if (want == ARENA_OK && S.align > 4096) S.align = 4096;
        pool_init(&S.p, S.size, S.align);
        e = fz_take();
        FUZZ_REQUIRE(e == want);
        break;
    case K_SOURCE: {
        ArenaOptions o;
        uint8_t c = in_u8(in);
        memset(&o, 0, sizeof o);
        o.source = fz_src(&S.src);
        o.max_bytes = S.cap = c < 128 ? 0 : (size_t)(c & 127) << 16;   /* up to 8 MiB */
        o.block_size = (size_t)in_u16(in) << 2;
        S.src.fail_every = in_u8(in) % 8 == 0 ? 2u + in_u8(in) % 9 : 0;
        pool_init_opts(&S.p, S.size, S.align, &o);
        e = fz_take();
        FUZZ_REQUIRE(e == want);
        break;
    }
    default: {
        FuzzBufChoice c = fz_buffer(in, fbuf.b, BUF_BYTES, 4, 16, 4);
        bool ok = pool_init_buffer(&S.p, S.size, S.align, c.buf, c.bytes);
        e = fz_take();
        if (want != ARENA_OK) FUZZ_REQUIRE(!ok && e == want);
        else if (!c.buf) FUZZ_REQUIRE(!ok && e == ARENA_ERR_MISUSE);
        else if (c.off % 8) FUZZ_REQUIRE(!ok && e == ARENA_ERR_ALIGN);
        else FUZZ_REQUIRE(ok ? e == ARENA_OK : e == ARENA_ERR_OOM);
        if (ok) {
            S.buf_cap = pool_stats(&S.p).capacity;
            FUZZ_REQUIRE(S.buf_cap >= 1);
            FUZZ_REQUIRE(pool_stats(&S.p).bytes_held == c.bytes);
        }
        if (!ok && want == ARENA_OK && c.buf && !(c.off % 8) &&
            c.bytes >= 8192 + 16 * (S.size + S.align + 64))
            FUZZ_REQUIRE(!"a buffer this large must hold an object");
        S.inert = !ok;
        break;
    }
    }
    if (want != ARENA_OK) S.inert = 1;
    if (!S.inert) S.size = S.p.size;
}

static void release_p(void) {
    pool_release(&S.p);
    all_freed();
    FUZZ_REQUIRE(pool_stats(&S.p).live == 0);
    if (S.kind == K_SOURCE) {
        FUZZ_REQUIRE(S.src.n == 0 && S.src.bytes == 0);
        S.src.grabs = 0;
    }
}

/* ---- operations -------------------------------------------------------------------- */

static void op_alloc1(FuzzIn *in) {
    uint8_t how = in_u8(in) % 4;
    PoolStats before = pool_stats(&S.p);
    PoolHandle h = null_handle();
    char *obj;
    ArenaError e;
    size_t a = S.align < 8 ? 8 : S.align;
    if (S.nl == MAXL) return;
    if (how == 0) {
        h = pool_alloc_handle(&S.p);
        obj = (char *)pool_get(&S.p, h);
        FUZZ_REQUIRE((h.gen != 0) == (obj != NULL));
    } else if (how == 3) {
        obj = (char *)pool_alloc_with_handle(&S.p, &h);
        FUZZ_REQUIRE((h.gen != 0) == (obj != NULL));
        if (obj) FUZZ_REQUIRE(pool_get(&S.p, h) == obj);
    } else {
        obj = (char *)(how == 1 ? pool_alloc(&S.p) : pool_calloc(&S.p));
    }
    e = fz_take();
    if (S.inert) {
        FUZZ_REQUIRE(!obj && e == ARENA_ERR_MISUSE);
        return;
    }
    if (!obj) {
        int src_failed = S.src.failed != S.src_failed_before;
        FUZZ_REQUIRE(e == ARENA_ERR_OOM);
        if (S.kind == K_BUFFER) FUZZ_REQUIRE(before.live == S.buf_cap);
        else if (S.kind == K_HEAP) FUZZ_REQUIRE(!"a heap pool ran out");
        else FUZZ_REQUIRE(src_failed || (S.cap && S.cap - before.bytes_held < 4 * block_bytes() + 65536));
        FUZZ_REQUIRE(pool_stats(&S.p).live == before.live);
        return;
    }
    FUZZ_REQUIRE(e == ARENA_OK);
    FUZZ_REQUIRE(S.src.failed == S.src_failed_before);
    if (S.kind == K_BUFFER) FUZZ_REQUIRE(before.live < S.buf_cap);
    FUZZ_REQUIRE(((uintptr_t)obj & (a - 1)) == 0);
    FUZZ_REQUIRE(pool_owns(&S.p, obj));
    FUZZ_REQUIRE(!pool_owns(&S.q, obj));
    if (how == 2) FUZZ_REQUIRE(fz_is_zero(obj, S.p.size));
    FUZZ_REQUIRE(!overlaps_live(obj, S.p.size));
    if (S.kind == K_BUFFER)
        FUZZ_REQUIRE((unsigned char *)obj >= fbuf.b && (unsigned char *)obj + S.p.size <= fbuf.b + sizeof fbuf.b);
    {
        PoolHandle h2 = pool_handle_of(&S.p, obj);
        fz_expect_none();
        FUZZ_REQUIRE(h2.gen & 1);
        FUZZ_REQUIRE(pool_get(&S.p, h2) == obj);
        if (h.gen) FUZZ_REQUIRE(h2.index == h.index && h2.gen == h.gen);
    }
    forget_freed(obj);
    S.live[S.nl].p = obj;
    S.live[S.nl].h = h;
    S.live[S.nl].id = ++S.next_id;
    fz_fill(obj, S.p.size, S.next_id);
    S.nl++;
}

static void op_alloc(FuzzIn *in) {
    op_alloc1(in);
    S.src_failed_before = S.src.failed;
}

static void op_free(FuzzIn *in) {
    uint8_t k = in_u8(in);
    size_t i;
    Obj o;
    bool ok;
    if (!S.nl) return;
    i = in_u8(in) % S.nl;
    o = S.live[i];
    FUZZ_REQUIRE(fz_holds(o.p, S.size, S.size, o.id, 1));
    if (k & 1 && o.h.gen) {
        ok = pool_free_handle(&S.p, o.h);
    } else if (k & 2) {
        PoolHandle h = pool_handle_of(&S.p, o.p);
        FUZZ_REQUIRE(h.gen);
        ok = pool_free_handle(&S.p, h);
    } else {
        ok = pool_free(&S.p, o.p);
    }
    FUZZ_REQUIRE(ok);
    fz_expect_none();
    S.live[i] = S.live[--S.nl];
    remember_freed(o.p, o.h);
    FUZZ_REQUIRE(!pool_owns(&S.p, o.p));
    if (o.h.gen) FUZZ_REQUIRE(pool_get(&S.p, o.h) == NULL);
}

/* A free the pool must refuse (MISUSE, false, nothing changed). */
static void refused_free(void *p) {
    size_t live = pool_stats(&S.p).live;
    bool ok = pool_free(&S.p, p);
    FUZZ_REQUIRE(!ok);
    fz_expect(ARENA_ERR_MISUSE);
    FUZZ_REQUIRE(pool_stats(&S.p).live == live);
    FUZZ_REQUIRE(!pool_owns(&S.p, p));
    fz_expect_none();
}

static void refused_free_handle(PoolHandle h) {
    size_t live = pool_stats(&S.p).live;
    bool ok = pool_free_handle(&S.p, h);
    FUZZ_REQUIRE(!ok);
    fz_expect(ARENA_ERR_MISUSE);
    FUZZ_REQUIRE(pool_stats(&S.p).live == live);
}

static void op_bad_free(FuzzIn *in) {
    uint8_t k = in_u8(in);
    size_t i;
    switch (k % 7) {
    case 0:                                          /* double free / stale pointer */
        for (i = S.nf; i-- > 0;)
            if (S.fr[i].p && live_index(S.fr[i].p) == SIZE_MAX) {
                refused_free(S.fr[i].p);
                break;
            }
        break;
    case 1:                                          /* interior */
        if (S.nl) {
            size_t off = 1 + in_u16(in) % (S.p.stride - 1);
            char *x = S.live[in_u8(in) % S.nl].p + off;
            if (live_index(x) == SIZE_MAX) refused_free(x);
        }
        break;
    case 2:                                          /* another pool's */
        if (S.nq) refused_free(S.ql[in_u8(in) % S.nq].p);
        break;
    case 3:                                          /* stray: not pool memory */
        refused_free(stray + in_u8(in) % 256);
        break;
    case 4:                                          /* stray: a low address */
        refused_free((void *)(uintptr_t)(1 + in_u16(in) % 4096));
        break;
    case 5: {                                        /* NULL: a quiet no-op */
        bool ok = pool_free(&S.p, NULL);
        FUZZ_REQUIRE(ok);
        fz_expect_none();
        break;
    }
    default:                                         /* a slot's header, not a slot */
        if (S.nl) {
            char *x = S.live[in_u8(in) % S.nl].p - 1 - in_u8(in) % sizeof(pool__Header);
            if (live_index(x) == SIZE_MAX) refused_free(x);
        }
        break;
    }
}

static void op_handles(FuzzIn *in) {
    uint8_t k = in_u8(in);
    size_t i;
    switch (k % 6) {
    case 0:                                          /* stale */
        for (i = S.nf; i-- > 0;)
            if (S.fr[i].h.gen) {
                FUZZ_REQUIRE(pool_get(&S.p, S.fr[i].h) == NULL);
                refused_free_handle(S.fr[i].h);
                break;
            }
        break;
    case 1:                                          /* null */
        FUZZ_REQUIRE(pool_get(&S.p, null_handle()) == NULL);
        refused_free_handle(null_handle());
        break;
    case 2:                                          /* another pool's, or made up */
    case 3: {
        PoolHandle h;
        void *obj;
        if (k % 6 == 2 && S.nq && S.ql[0].h.gen) {
            h = S.ql[in_u8(in) % S.nq].h;
            if (!h.gen) h = S.ql[0].h;
        } else {
            h.index = in_u32(in);
            h.gen = in_u32(in);
        }
        obj = pool_get(&S.p, h);
        fz_expect_none();
        if (obj) FUZZ_REQUIRE(live_index(obj) != SIZE_MAX);   /* at most a live object */
        else refused_free_handle(h);
        break;
    }
    case 4:                                          /* handle_of a stray pointer */
        {
            PoolHandle h = pool_handle_of(&S.p, stray + 8);
            FUZZ_REQUIRE(h.index == 0 && h.gen == 0);
            fz_expect(ARENA_ERR_MISUSE);
        }
        {
            PoolHandle h = pool_handle_of(&S.p, NULL);
            FUZZ_REQUIRE(h.index == 0 && h.gen == 0);
            fz_expect(ARENA_ERR_MISUSE);
        }
        break;
    default:                                         /* handle_of a live object */
        if (S.nl) {
            Obj *o = &S.live[in_u8(in) % S.nl];
            PoolHandle h = pool_handle_of(&S.p, o->p);
            fz_expect_none();
            FUZZ_REQUIRE(pool_get(&S.p, h) == o->p);
            if (o->h.gen) FUZZ_REQUIRE(h.index == o->h.index && h.gen == o->h.gen);
            else o->h = h;
        }
        break;
    }
}

static unsigned char visited[MAXL];

/* reset, release or trim from inside the walk: refused, nothing changes */
static void each_reenter(void) {
    PoolStats before = pool_stats(&S.p);
    switch (S.each_reenter) {
    case 1: pool_reset(&S.p); break;
    case 2: pool_release(&S.p); break;
    default: pool_trim(&S.p); break;
    }
    fz_expect(ARENA_ERR_MISUSE);
    FUZZ_REQUIRE(pool_stats(&S.p).live == before.live && pool_stats(&S.p).bytes_held == before.bytes_held);
}

static void each_fn(void *obj, void *ctx) {
    size_t i = live_index(obj);
    (void)ctx;
    FUZZ_REQUIRE(i != SIZE_MAX);
    S.each_seen++;
    if (S.each_reenter) each_reenter();
    if (S.each_free) {
        Obj o = S.live[i];
        FUZZ_REQUIRE(pool_free(&S.p, obj));
        S.live[i] = S.live[--S.nl];
        remember_freed(o.p, o.h);
    } else {
        FUZZ_REQUIRE(!visited[i]);                   /* once each */
        visited[i] = 1;
    }
}

static void op_each(FuzzIn *in) {
    size_t n = S.nl, i;
    S.each_seen = 0;
    S.each_free = in_u8(in) % 4 == 0;
    S.each_reenter = in_u8(in) % 8 < 3 ? 1 + in_u8(in) % 3 : 0;
    memset(visited, 0, sizeof visited);
    pool_each(&S.p, each_fn, NULL);
    fz_expect_none();
    FUZZ_REQUIRE(S.each_seen == n);
    S.each_reenter = 0;
    if (S.each_free) FUZZ_REQUIRE(S.nl == 0);
    else for (i = 0; i < S.nl; i++) FUZZ_REQUIRE(visited[i]);
    if (in_u8(in) % 8 == 0) {
        pool_each(&S.p, NULL, NULL);
        fz_expect(ARENA_ERR_MISUSE);
    }
}

static void op_owns(FuzzIn *in) {
    uint8_t k = in_u8(in);
    if (S.nl) FUZZ_REQUIRE(pool_owns(&S.p, S.live[k % S.nl].p));
    if (S.nf && S.fr[S.nf - 1].p && live_index(S.fr[S.nf - 1].p) == SIZE_MAX)
        FUZZ_REQUIRE(!pool_owns(&S.p, S.fr[S.nf - 1].p));
    FUZZ_REQUIRE(!pool_owns(&S.p, stray + k));
    FUZZ_REQUIRE(!pool_owns(&S.p, NULL));
    if (S.nq) FUZZ_REQUIRE(!pool_owns(&S.p, S.ql[0].p));
    fz_expect_none();
}

static void op_other(FuzzIn *in) {
    uint8_t k = in_u8(in);
    if (k % 4 == 0 && S.nq) {
        size_t i = in_u8(in) % S.nq;
        FUZZ_REQUIRE(pool_free(&S.q, S.ql[i].p));
        S.ql[i] = S.ql[--S.nq];
    } else if (S.nq < MAXQ) {
        PoolHandle h = pool_alloc_handle(&S.q);
        char *obj = (char *)pool_get(&S.q, h);
        FUZZ_REQUIRE(obj != NULL);
        FUZZ_REQUIRE(!overlaps_live(obj, S.q.size));
        S.ql[S.nq].p = obj;
        S.ql[S.nq].h = h;
        S.ql[S.nq].id = ++S.next_id;
        fz_fill(obj, S.q.size, S.next_id);
        S.nq++;
    }
    fz_expect_none();
}

/* Trim: the live objects stay, intact, with their handles; what is held
   never grows. */
static void op_trim(void) {
    PoolStats before = pool_stats(&S.p), after;
    size_t i;
    pool_trim(&S.p);
    fz_expect_none();
    after = pool_stats(&S.p);
    FUZZ_REQUIRE(after.live == before.live && after.bytes_held <= before.bytes_held);
    FUZZ_REQUIRE(after.capacity >= after.live);
    for (i = 0; i < S.nl; i++) {
        FUZZ_REQUIRE(pool_owns(&S.p, S.live[i].p));
        FUZZ_REQUIRE(fz_holds(S.live[i].p, S.size, S.size, S.live[i].id, 0));
    }
    check_handles(0, 1);
}

static void run(FuzzIn *in) {
    fz_unpoison(fbuf.b, sizeof fbuf.b);
    S.nl = S.nf = S.nq = 0;
    S.next_id = 0;
    fz_err_reset();
    pool_init(&S.q, 40, 8);
    init_p(in);
    after_op();
    for (S.op = 1; in->n && S.op < MAXOPS; S.op++) {
        uint8_t op = in_u8(in);
        switch (op % 16) {
        case 0: case 1: case 2: case 3: op_alloc(in); break;
        case 4: case 5: op_free(in); break;
        case 6: case 7: op_bad_free(in); break;
        case 8: op_handles(in); break;
        case 9: op_each(in); break;
        case 10: op_owns(in); break;
        case 11: op_other(in); break;
        case 12:
            if (in_u8(in) % 4 == 0) {
                pool_reset(&S.p);
                all_freed();
            } else {
                op_trim();
            }
            break;
        case 13:
            if (in_u8(in) % 4 == 0) release_p();
            break;
        case 14:
            if (S.kind == K_SOURCE) S.src.fail_next = 1;
            break;
        default:
            if (in_u8(in) % 8 == 0) {
                size_t i;
                release_p();
                /* a new pool on the same struct: the old handles are
                   another pool's now, which need not be detectable */
                for (i = 0; i < S.nf; i++) S.fr[i].h = null_handle();
                init_p(in);
            } else {                                 /* a burst of allocations */
                uint8_t n = in_u8(in) % 64;
                while (n--) op_alloc(in);
            }
            break;
        }
        after_op();
    }
    check_all(1);
    release_p();
    pool_release(&S.q);
    fz_expect_none();
}
