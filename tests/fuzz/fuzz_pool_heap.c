/* fuzz_pool_heap.c - libFuzzer harness for pool.h's PoolHeap.

   Operations decoded from the input run on a heap H (zero-initialised on
   malloc, capped on malloc, or on a counting source that can fail, with or
   without a cap: the classes in the heap's reservation or block pools)
   and on a second heap Q whose allocations serve as foreign pointers. The
   model knows every live allocation (address, requested size, contents: a
   pattern from an id) and keeps the addresses of freed ones. After every
   operation:
     - an allocation (alloc, calloc, realloc) succeeds, aligned to
       ARENA_MIN_ALIGN, with at least the size asked for (pool_heap_size),
       overlapping nothing live, calloc's zeroed; or fails with one OOM only
       where the source may fail or the cap is near; sizes past any
       representable request are OVERFLOW;
     - realloc keeps the contents up to the smaller size; on failure the
       old allocation is untouched and still live;
     - pool_heap_free of a live allocation succeeds; double, foreign,
       interior and stray frees are MISUSE, return false and change
       nothing; pool_heap_free(NULL) is a quiet no-op; pool_heap_size is 0
       for anything not live;
     - every live allocation holds its pattern; the stats agree with the
       model and the source, and stay under the cap; after release every
       block went back once.
   Any mismatch abort()s.

   Block classes take 16 KiB blocks here, not 64 KiB: writing and scanning
   a block's headers was most of an execution, and small blocks make
   more block edges. */
#define POOL_BLOCK_SIZE ((size_t)16 << 10)
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../../pool.h"
#include "fuzz_common.h"

enum { MAXL = 256, MAXF = 256, MAXQ = 16 };

typedef struct Obj {
    char *p;
    size_t size, usable;     /* asked for; pool_heap_size when allocated */
    uint32_t id;
} Obj;

static struct {
    PoolHeap h, q;
    int on_source;
    size_t cap;
    FuzzSource src;
    size_t grabs_before;     /* the source's grabs before the last release */
    Obj live[MAXL];
    size_t nl;
    char *fr[MAXF];          /* freed addresses, newest overwriting oldest */
    size_t nf;
    char *ql[MAXQ];          /* Q's live allocations */
    size_t nq;
    uint32_t next_id;
} S;

static char stray[512];

/* Mostly small sizes around the classes' edges, sometimes large ones, now
   and then one that cannot be represented. */
static size_t pick_size(FuzzIn *in) {
    uint8_t k = in_u8(in);
    if (k < 200) return in_u8(in) + (size_t)(k % 4) * 120;
    if (k < 235) return (size_t)in_u16(in) % (POOL_HEAP_MAX_CLASS + 64);
    if (k < 245) return POOL_HEAP_MAX_CLASS + in_u32(in) % ((size_t)1 << 18);
    if (k < 250) return SIZE_MAX - in_u8(in);
    return (size_t)PTRDIFF_MAX + in_u8(in);
}

/* Could this request fail for want of memory? */
static int may_oom(size_t size) {
    (void)size;
    return S.on_source || S.cap;
}

static int too_large(size_t size) { return size > (size_t)PTRDIFF_MAX - 65536 - 64; }

static void forget_freed(const char *p) {
    size_t i;
    for (i = 0; i < S.nf && i < MAXF; i++)
        if (S.fr[i] == p) S.fr[i] = NULL;
}

static void note_freed(char *p) { S.fr[S.nf++ % MAXF] = p; }

/* A new allocation p of `size` (not yet in the model, or replacing
   `self`): aligned, large enough, overlapping nothing else; its usable size. */
static size_t check_new(const char *p, size_t size, const Obj *self) {
    size_t i, usable = pool_heap_size(&S.h, p);
    FUZZ_REQUIRE(((uintptr_t)p & (ARENA_MIN_ALIGN - 1)) == 0);
    FUZZ_REQUIRE(usable >= size && usable > 0);
    for (i = 0; i < S.nl; i++)
        if (&S.live[i] != self) FUZZ_REQUIRE(!fz_overlap(p, usable, S.live[i].p, S.live[i].usable));
    forget_freed(p);
    return usable;
}

/* A failed allocation: OVERFLOW for sizes past any request, else an OOM
   where one may happen. */
static void check_failed(size_t size) {
    ArenaError e = fz_take();
    if (too_large(size)) FUZZ_REQUIRE(e == ARENA_ERR_OVERFLOW);
    else FUZZ_REQUIRE(e == ARENA_ERR_OOM && may_oom(size));
}

static void op_alloc(FuzzIn *in) {
    size_t size = pick_size(in), i;
    int zeroed = in_u8(in) & 1;
    char *p;
    if (S.nl == MAXL) return;
    p = (char *)(zeroed ? pool_heap_calloc(&S.h, 1, size) : pool_heap_alloc(&S.h, size));
    if (!p) {
        check_failed(size);
        return;
    }
    fz_expect_none();
    S.live[S.nl].usable = check_new(p, size, NULL);
    if (zeroed)
        for (i = 0; i < size; i = fz_next(size, i + 1)) FUZZ_REQUIRE(p[i] == 0);
    S.live[S.nl].p = p;
    S.live[S.nl].size = size;
    S.live[S.nl].id = S.next_id++;
    fz_fill(p, size, S.live[S.nl].id);
    S.nl++;
}

static void op_realloc(FuzzIn *in) {
    size_t k, size = pick_size(in);
    Obj *o;
    char *p;
    if (!S.nl) return;
    k = in_u16(in) % S.nl;
    o = &S.live[k];
    p = (char *)pool_heap_realloc(&S.h, o->p, size);
    if (!p) {
        check_failed(size);
        FUZZ_REQUIRE(pool_heap_size(&S.h, o->p) >= o->size);   /* still owned, untouched */
        return;
    }
    fz_expect_none();
    FUZZ_REQUIRE(fz_holds(p, o->size, size < o->size ? size : o->size, o->id, 0));
    if (p != o->p) note_freed(o->p);
    o->usable = check_new(p, size, o);
    o->p = p;
    o->size = size;
    o->id = S.next_id++;
    fz_fill(p, size, o->id);
}

static void op_free(FuzzIn *in) {
    size_t k;
    if (!S.nl) {
        FUZZ_REQUIRE(pool_heap_free(&S.h, NULL));
        fz_expect_none();
        return;
    }
    k = in_u16(in) % S.nl;
    FUZZ_REQUIRE(pool_heap_free(&S.h, S.live[k].p));
    fz_expect_none();
    note_freed(S.live[k].p);
    S.live[k] = S.live[--S.nl];
}

static int is_live(const char *p) {
    size_t i;
    for (i = 0; i < S.nl; i++)
        if (S.live[i].p == p) return 1;
    return 0;
}

/* A pointer that is no live allocation of H. */
static char *bad_pointer(FuzzIn *in) {
    uint8_t k = in_u8(in);
    switch (k % 7) {
    case 0: return S.nf ? S.fr[in_u8(in) % (S.nf < MAXF ? S.nf : MAXF)] : NULL;
    case 1: if (S.nl) {
                Obj *o = &S.live[in_u16(in) % S.nl];
                size_t usable = pool_heap_size(&S.h, o->p), off = 1 + in_u16(in) % (usable + 64);
                return o->p + off;
            }
            return NULL;
    case 2: return S.nq ? S.ql[in_u8(in) % S.nq] : NULL;
    case 3: return stray + in_u8(in) % 256;
    case 4: return (char *)(uintptr_t)((uintptr_t)in_u64(in) & ~(uintptr_t)15);
    case 5: /* anywhere in the classes' reservation (none: NULL) */
        return S.h.vm_span ? (char *)S.h.vm_base + ((size_t)in_u32(in) << 4) % S.h.vm_span : NULL;
    default: return S.nl ? S.live[in_u16(in) % S.nl].p - 16 * (1 + in_u8(in) % 4) : NULL;
    }
}

static void op_bad_free(FuzzIn *in) {
    char *p = bad_pointer(in);
    PoolHeapStats before = pool_heap_stats(&S.h);
    if (!p || is_live(p)) return;
    FUZZ_REQUIRE(pool_heap_size(&S.h, p) == 0);
    FUZZ_REQUIRE(!pool_heap_free(&S.h, p));
    fz_expect(ARENA_ERR_MISUSE);
    FUZZ_REQUIRE(pool_heap_stats(&S.h).live_count == before.live_count);
    FUZZ_REQUIRE(pool_heap_stats(&S.h).live_bytes == before.live_bytes);
    if (in_u8(in) & 1) {
        FUZZ_REQUIRE(pool_heap_realloc(&S.h, p, 10) == NULL);
        fz_expect(ARENA_ERR_MISUSE);
    }
}

static void op_foreign(FuzzIn *in) {
    uint8_t k = in_u8(in);
    if (S.nq < MAXQ && (k & 1)) {
        char *p = (char *)pool_heap_alloc(&S.q, (k & 2) ? 20000 : 48);
        FUZZ_REQUIRE(p != NULL);
        S.ql[S.nq++] = p;
    } else if (S.nq) {
        size_t i = k % S.nq;
        FUZZ_REQUIRE(pool_heap_free(&S.q, S.ql[i]));
        S.ql[i] = S.ql[--S.nq];
    }
    fz_expect_none();
}

static void forget_all(void) {
    size_t i;
    for (i = 0; i < S.nl; i++) note_freed(S.live[i].p);
    S.nl = 0;
}

/* The stats every 8 operations (they add up: a wrong count stays wrong),
   every live allocation's size and contents every 32 and at the end
   (`full`): pool_heap_stats reads every class, the checks cost about what
   the operations do. */
static void check_all(unsigned steps, int last) {
    PoolHeapStats st;
    size_t i, bytes = 0;
    int full = steps % 32 == 0 || last;
    if (steps % 8 && !last) return;
    st = pool_heap_stats(&S.h);
    for (i = 0; i < S.nl; i++) bytes += S.live[i].usable;
    for (i = 0; full && i < S.nl; i++) {
        FUZZ_REQUIRE(pool_heap_size(&S.h, S.live[i].p) == S.live[i].usable);
        FUZZ_REQUIRE(fz_holds(S.live[i].p, S.live[i].size, S.live[i].size, S.live[i].id, 0));
    }
    FUZZ_REQUIRE(st.live_count == S.nl);
    FUZZ_REQUIRE(st.live_bytes == bytes);
    FUZZ_REQUIRE(st.peak_bytes >= st.live_bytes);
    fz_check_held(st.bytes_held, st.grab_count + S.grabs_before, S.on_source ? &S.src : NULL, S.cap);
    fz_expect_none();
}

static void init(FuzzIn *in) {
    uint8_t k = in_u8(in);
    ArenaOptions o;
    memset(&S, 0, sizeof S);
    S.on_source = k & 1;
    if (!S.on_source && !(k & 8)) return;   /* H stays as `PoolHeap h = {0}` */
    memset(&o, 0, sizeof o);
    if (S.on_source) {
        fz_src_init(&S.src);
        S.src.fail_every = (k >> 1) & 3 ? 0 : 3 + in_u8(in) % 16;
        o.source = fz_src(&S.src);
    }
    if (k & 8) S.cap = o.max_bytes = ((size_t)1 + in_u8(in) % 32) << 18;
    pool_heap_init(&S.h, &o);
}

static void run(FuzzIn *in) {
    unsigned steps = 0;
    init(in);
    while (in->n && steps++ < 256) {
        uint8_t op = in_u8(in);
        switch (op % 16) {
        case 0: case 1: case 2: case 3: case 4: op_alloc(in); break;
        case 5: case 6: case 7: op_realloc(in); break;
        case 8: case 9: case 10: op_free(in); break;
        case 11: case 12: op_bad_free(in); break;
        case 13: op_foreign(in); break;
        case 14:
            if (op & 16) {
                pool_heap_reset(&S.h);
                forget_all();
            }
            break;
        default:
            if (op & 16) {
                pool_heap_release(&S.h);   /* a new life: grab_count starts over */
                forget_all();
                S.grabs_before = S.src.grabs;
                FUZZ_REQUIRE(pool_heap_stats(&S.h).bytes_held == 0);
                if (S.on_source) FUZZ_REQUIRE(S.src.n == 0);
            }
            break;
        }
        check_all(steps, !in->n);
    }
    pool_heap_release(&S.h);
    pool_heap_release(&S.q);
    if (S.on_source) FUZZ_REQUIRE(S.src.n == 0);
}
