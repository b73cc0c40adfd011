/* fuzz_lifetimes.c - libFuzzer harness for the lifetimes of arena.h's
   second stage: snapshots (arena_snapshot / arena_restore), the two-ended
   stack (ArenaDeque), the frame ring (ArenaRing) and the string builder.

   Operations decoded from the input run on the library and on a shadow
   model, and any disagreement abort()s:
     - arena A (on a counting source with small blocks and sometimes a
       keep_bytes cap, on a buffer, or virtual) holds a stack of entries,
       objects (pointer, size, pattern id) and cleanups (an id); temp
       scopes rewind, reset and release run the cleanups above, newest
       first, which the model checks against the log;
     - up to four snapshots live in a store arena with a cap; a snapshot
       that the store cannot hold fails with one OOM and changes nothing;
       a restore succeeds exactly when every block A had at the snapshot
       is still held (white box: the source's live list), and then the
       model is the snapshot's: every object back at its address with its
       pattern (objects rewritten since included), the cleanups registered
       since run newest first, and, under ASan, every byte outside the
       restored objects and cleanup nodes poisoned; a refused restore is
       one MISUSE and changes nothing;
     - the deque D: per end a stack of objects; allocations never overlap
       and fail (one OOM) only when the request cannot fit between the
       ends; marks rewind their end only; a mark rewound past is MISUSE;
     - the ring R: each frame's object is intact for `frames` frames;
       arena_ring_frame beyond the ring is MISUSE and NULL;
     - a builder on arena B, interleaved with other allocations there,
       equals the model's bytes when finished;
     - pool P (virtual or blocks on a source) with objects and their
       handles, snapshots in the store and restores: after a restore the
       live set is the snapshot's (addresses, handles, contents); a dead
       handle (freed, or taken after a snapshot rolled back) resolves only
       when a restore brought its object back; a new object's handle was
       never handed out before, whatever was restored. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../../pool.h"
#include "fuzz_common.h"

#if ARENA__ASAN
#define FZ_POISONED(p) __asan_address_is_poisoned(p)
#else
#define FZ_POISONED(p) 1
#endif

enum { K_SOURCE, K_BUFFER, K_VIRTUAL, K_COUNT };
enum { MAXE = 128, NSNAP = 4, MAXD = 64, MAX_OPS = 128 };
#define VRES ((size_t)1 << 20)   /* A's reservation: more than MAX_OPS allocations use */
#define BUF_BYTES ((size_t)64 << 10)
#define RZ ARENA__REDZONE

typedef struct Entry {
    char *p;            /* NULL: a cleanup */
    size_t size;
    uint32_t id;
} Entry;

typedef struct Model {
    Entry e[MAXE];
    size_t n, pos;
} Model;

typedef struct Snap {
    int live;
    ArenaSnapshot s;
    ArenaMark after;    /* taken just after the snapshot: refused after its restore */
    Model m;
    struct { void *p; size_t size; } blocks[MAXE + 8];   /* a block per live entry at most */
    size_t nblocks;
} Snap;

typedef struct PoolObj {
    char *p;
    PoolHandle h;
    uint32_t id;
} PoolObj;

typedef struct PoolModel {
    PoolObj o[MAXD];
    size_t n;
} PoolModel;

static struct {
    Arena a, store, b;
    int kind;
    FuzzSource src;
    Model m;
    Snap snap[NSNAP];
    uint32_t next_id, ran[MAXE];
    size_t nran;
    ArenaDeque d;
    Entry de[2][MAXD];
    size_t nde[2];
    ArenaRing r;
    uint32_t ring_id[ARENA_RING_MAX];
    char *ring_obj[ARENA_RING_MAX];
    size_t ring_frames, ring_seen;
    ArenaBuilder bld;
    char want[4096];
    Pool pool;
    FuzzSource psrc;
    PoolModel pm, psnap_m[2];
    PoolSnapshot psnap[2];
    int psnap_live[2];
    PoolHandle dead[256];
    size_t ndead;
    PoolHandle issued[512];    /* every handle a new object got: never twice */
    size_t nissued;
    unsigned op;
} S;

static union { long double ld; unsigned char b[BUF_BYTES]; } abuf, dbuf;   /* aligned for anything */

/* Model checks are not instrumented for coverage (FZ_NOCOV): they are
   the model's loops, not the library's paths, and would slow every op. */
FZ_NOCOV static int overlaps_any(const char *p, size_t size, const Entry *e, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (e[i].p && fz_overlap(p, size, e[i].p, e[i].size)) return 1;
    return 0;
}

static void cleanup(void *ctx) {
    FUZZ_REQUIRE(S.nran < MAXE);
    S.ran[S.nran++] = (uint32_t)(uintptr_t)ctx;
}

static size_t pos_a(void) { return arena_stats(&S.a).bytes_used; }

/* The model's cleanups above entry `keep` ran, newest first, and nothing else. */
static void expect_ran_above(const Model *m, size_t keep) {
    size_t i, k = 0;
    for (i = m->n; i-- > keep;)
        if (!m->e[i].p) {
            FUZZ_REQUIRE(k < S.nran && S.ran[k] == m->e[i].id);
            k++;
        }
    FUZZ_REQUIRE(k == S.nran);
    S.nran = 0;
}

/* The stats; the contents too when asked (after restores, and now and then). */
static void check_a(int contents) {
    size_t i;
    ArenaStats st = arena_stats(&S.a);
    FUZZ_REQUIRE(st.bytes_used == S.m.pos);
    for (i = 0; contents && i < S.m.n; i++)
        if (S.m.e[i].p) FUZZ_REQUIRE(fz_holds(S.m.e[i].p, S.m.e[i].size, S.m.e[i].size, S.m.e[i].id, 1));
    if (S.kind == K_SOURCE) {
        fz_check_held(st.bytes_held, st.grab_count, &S.src, 0);
        FUZZ_REQUIRE(st.block_count == S.src.n);
    }
}

/* ---- arena A and its snapshots ------------------------------------------------------ */

static void init_a(FuzzIn *in) {
    uint8_t k = in_u8(in);
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    S.kind = k % K_COUNT;
    fz_src_init(&S.src);
    S.m.n = S.m.pos = 0;
    switch (S.kind) {
    case K_SOURCE:
        o.block_size = 256 + (size_t)in_u16(in) % 8192;
        o.max_block_size = o.block_size << (in_u8(in) % 4);
        o.keep_bytes = in_u8(in) % 4 == 0 ? (size_t)in_u16(in) : 0;
        o.source = fz_src(&S.src);
        arena_init(&S.a, &o);
        break;
    case K_BUFFER:
        FUZZ_REQUIRE(arena_init_buffer(&S.a, abuf.b, BUF_BYTES));
        break;
    default:
        FUZZ_REQUIRE(arena_init_virtual(&S.a, VRES));
        break;
    }
    fz_expect_none();
}

static void drop_snaps(void) {
    size_t i;
    for (i = 0; i < NSNAP; i++) S.snap[i].live = 0;
}

static void release_a(void) {
    arena_release(&S.a);
    expect_ran_above(&S.m, 0);
    S.m.n = S.m.pos = 0;
    if (S.kind == K_SOURCE) FUZZ_REQUIRE(S.src.n == 0);
    fz_src_init(&S.src);   /* a released arena counts its grabs from 0 */
}

static size_t rq_size(FuzzIn *in) {
    uint8_t k = in_u8(in);
    if (k < 8) return 0;
    if (k < 200) return 1 + in_u8(in);
    if (k < 250) return in_u16(in) % 4000;
    return k == 255 ? SIZE_MAX : (size_t)PTRDIFF_MAX;
}

static int may_oom(size_t size, size_t src_failed_before) {
    if (size > (size_t)PTRDIFF_MAX / 2) return 1;
    if (S.kind == K_BUFFER) return 1;
    if (S.kind == K_SOURCE) return S.src.failed > src_failed_before;
    return size > VRES - S.m.pos - 8192;
}

static void op_alloc(FuzzIn *in) {
    size_t size = rq_size(in), align = (size_t)1 << (in_u8(in) % 8);
    char *p;
    size_t before = pos_a(), failed = S.src.failed;
    if (S.m.n == MAXE) return;
    p = (char *)arena_alloc_aligned(&S.a, size, align);
    if (!p) {
        ArenaError e = fz_take();
        FUZZ_REQUIRE(e == ARENA_ERR_OVERFLOW || (e == ARENA_ERR_OOM && may_oom(size, failed)));
        FUZZ_REQUIRE(pos_a() == before);
        return;
    }
    fz_expect_none();
    FUZZ_REQUIRE(((uintptr_t)p & (align - 1)) == 0);
    if (!size) return;
    FUZZ_REQUIRE(!overlaps_any(p, size, S.m.e, S.m.n));
    S.m.e[S.m.n].p = p;
    S.m.e[S.m.n].size = size;
    S.m.e[S.m.n].id = ++S.next_id;
    fz_fill(p, size, S.next_id);
    S.m.n++;
    S.m.pos = pos_a();
}

static void op_defer(void) {
    if (S.m.n == MAXE) return;
    if (!arena_defer(&S.a, cleanup, (void *)(uintptr_t)(S.next_id + 1))) {
        FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM);
        return;
    }
    fz_expect_none();
    S.m.e[S.m.n].p = NULL;
    S.m.e[S.m.n].size = 0;
    S.m.e[S.m.n].id = ++S.next_id;
    S.m.n++;
    S.m.pos = pos_a();
}

/* An object rewritten with a new pattern (the snapshot keeps the old one). */
static void op_rewrite(FuzzIn *in) {
    size_t i;
    if (!S.m.n) return;
    i = in_u8(in) % S.m.n;
    if (!S.m.e[i].p) return;
    S.m.e[i].id = ++S.next_id;
    fz_fill(S.m.e[i].p, S.m.e[i].size, S.next_id);
}

/* A temp scope: mark, a few allocations and cleanups, rewind. */
static void op_temp(FuzzIn *in) {
    ArenaMark mk = arena_mark(&S.a);
    size_t keep = S.m.n, pos = S.m.pos, k = in_u8(in) % 6;
    while (k--) {
        if (in_u8(in) & 1) op_alloc(in);
        else op_defer();
    }
    arena_rewind(&S.a, mk);
    fz_expect_none();
    expect_ran_above(&S.m, keep);
    S.m.n = keep;
    S.m.pos = pos;
}

static void op_snapshot(FuzzIn *in) {
    Snap *sn = &S.snap[in_u8(in) % NSNAP];
    ArenaStats st = arena_stats(&S.store);
    arena__Block *b;
    if (!arena_snapshot(&S.a, &sn->s, &S.store)) {
        FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM);
        FUZZ_REQUIRE(arena_stats(&S.store).bytes_used == st.bytes_used);
        return;
    }
    fz_expect_none();
    sn->live = 1;
    sn->after = arena_mark(&S.a);
    sn->m = S.m;
    sn->nblocks = 0;
    for (b = S.a.block; b; b = b->prev) {
        FUZZ_REQUIRE(sn->nblocks < MAXE + 8);
        sn->blocks[sn->nblocks].p = b;
        sn->blocks[sn->nblocks].size = b->size;
        sn->nblocks++;
    }
}

/* Would the restore find every block of the snapshot held? */
static int snap_held(const Snap *sn) {
    size_t i, j;
    if (S.kind != K_SOURCE)   /* the one block (a buffer taken up again after release counts) */
        return !sn->nblocks || ((void *)S.a.block == sn->blocks[0].p && S.a.block->size == sn->blocks[0].size);
    for (i = 0; i < sn->nblocks; i++) {
        for (j = 0; j < S.src.n; j++)
            if (S.src.b[j].p == sn->blocks[i].p && S.src.b[j].size == sn->blocks[i].size) break;
        if (j == S.src.n) return 0;
    }
    return 1;
}

/* Ids of the model's cleanups that the snapshot does not have, newest first, ran. */
static void expect_ran_since(const Model *now, const Model *then) {
    size_t i, j, k = 0;
    for (i = now->n; i-- > 0;) {
        if (now->e[i].p) continue;
        for (j = 0; j < then->n; j++)
            if (!then->e[j].p && then->e[j].id == now->e[i].id) break;
        if (j < then->n) continue;
        FUZZ_REQUIRE(k < S.nran && S.ran[k] == now->e[i].id);
        k++;
    }
    FUZZ_REQUIRE(k == S.nran);
    S.nran = 0;
}

/* Under ASan: an object of the old model not in the restored one is
   poisoned unless a restored object or cleanup node covers it. */
static void check_poisoned_since(const Model *old) {
    size_t i, j;
    for (i = 0; i < old->n; i++) {
        const char *p = old->e[i].p;
        int covered = 0;
        arena__Defer *d;
        if (!p) continue;
        for (j = 0; j < S.m.n && !covered; j++)
            covered = S.m.e[j].p && fz_overlap(p, 1, S.m.e[j].p, S.m.e[j].size);
        for (d = S.a.defers; d && !covered; d = d->prev)
            covered = fz_overlap(p, 1, d, sizeof *d);
        if (!covered) FUZZ_REQUIRE(FZ_POISONED(p));
    }
}

static void op_restore(FuzzIn *in) {
    Snap *sn = &S.snap[in_u8(in) % NSNAP];
    int held;
    if (!sn->live) return;
    held = snap_held(sn);
    if (!arena_restore(&S.a, &sn->s)) {
        FUZZ_REQUIRE(fz_take() == ARENA_ERR_MISUSE);
        FUZZ_REQUIRE(!held);
        FUZZ_REQUIRE(S.nran == 0);
        check_a(1);
        return;
    }
    fz_expect_none();
    FUZZ_REQUIRE(held);
    {
        Model old = S.m;
        expect_ran_since(&S.m, &sn->m);
        S.m = sn->m;
        check_a(1);
        check_poisoned_since(&old);
        arena_rewind(&S.a, sn->after);
        fz_expect(ARENA_ERR_MISUSE);
        check_a(0);
    }
}

/* ---- the deque ------------------------------------------------------------------ */

/* The first and last bytes of every object. */
FZ_NOCOV static void check_deque(void) {
    size_t i, j;
    for (j = 0; j < 2; j++)
        for (i = 0; i < S.nde[j]; i++) {
            const Entry *x = &S.de[j][i];
            FUZZ_REQUIRE(fz_holds_range(x->p, x->size, 0, x->size < 8 ? x->size : 8, x->id));
            FUZZ_REQUIRE(fz_holds_range(x->p, x->size, x->size - 1, x->size, x->id));
        }
}

static void op_deque(FuzzIn *in) {
    uint8_t k = in_u8(in);
    ArenaEnd end = (k & 1) ? ARENA_HIGH : ARENA_LOW;
    Entry *e = S.de[end];
    size_t *n = &S.nde[end];
    if (k % 8 < 5 && *n < MAXD) {
        size_t size = 1 + (size_t)in_u16(in) % 3000, align = (size_t)1 << (in_u8(in) % 10);
        size_t room = arena_deque_room(&S.d), span = (size + RZ + 15) & ~(size_t)15;
        char *p = (char *)arena_deque_alloc_aligned(&S.d, end, size, align);
        if (!p) {
            FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM);
            FUZZ_REQUIRE(span + align > room);
            FUZZ_REQUIRE(arena_deque_room(&S.d) == room);
            return;
        }
        fz_expect_none();
        FUZZ_REQUIRE(((uintptr_t)p & (align - 1)) == 0 && span <= room);
        FUZZ_REQUIRE(!overlaps_any(p, size, S.de[0], S.nde[0]) && !overlaps_any(p, size, S.de[1], S.nde[1]));
        e[*n].p = p;
        e[*n].size = size;
        e[*n].id = ++S.next_id;
        fz_fill(p, size, S.next_id);
        (*n)++;
    } else if (k % 8 == 5) {   /* mark, allocate, rewind; then a mark rewound past */
        ArenaDequeMark m = arena_deque_mark(&S.d, end), late;
        void *p = arena_deque_alloc(&S.d, end, 1 + in_u8(in));
        if (!p) FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM);
        late = arena_deque_mark(&S.d, end);
        arena_deque_rewind(&S.d, m);
        fz_expect_none();
        FUZZ_REQUIRE(arena_deque_used(&S.d, end) == m.used);
        if (late.used > m.used) {
            size_t used;
            arena_deque_rewind(&S.d, late);
            fz_expect(ARENA_ERR_MISUSE);
            /* still refused once the end has grown back over it */
            if (in_u8(in) & 1) {
                if (arena_deque_alloc(&S.d, end, late.used - m.used + 16)) {
                    used = arena_deque_used(&S.d, end);
                    arena_deque_rewind(&S.d, late);
                    fz_expect(ARENA_ERR_MISUSE);
                    FUZZ_REQUIRE(arena_deque_used(&S.d, end) == used);
                    arena_deque_rewind(&S.d, m);
                    fz_expect_none();
                } else {
                    FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM);
                }
            }
        }
    } else if (k % 8 == 6 && *n) {   /* pop entries: rewind to a mark taken by hand */
        size_t keep = in_u8(in) % *n;
        ArenaDequeMark m = arena_deque_mark(&S.d, end);
        /* low: to where entry `keep` starts (it goes); high: to its start (it stays) */
        m.used = end == ARENA_LOW ? (size_t)(e[keep].p - S.d.base) : (size_t)(S.d.top - e[keep].p);
        arena_deque_rewind(&S.d, m);
        fz_expect_none();
        *n = end == ARENA_LOW ? keep : keep + 1;
    } else if (k % 8 == 7 && in_u8(in) % 4 == 0) {
        arena_deque_reset(&S.d, end);
        *n = 0;
    }
    check_deque();
    /* each end may hold one hidden record (16 bytes) above what it reports */
    FUZZ_REQUIRE((size_t)(S.d.lo - S.d.base) - arena_deque_used(&S.d, ARENA_LOW) <= 16);
    FUZZ_REQUIRE((size_t)(S.d.top - S.d.hi) - arena_deque_used(&S.d, ARENA_HIGH) <= 16);
    FUZZ_REQUIRE(S.d.lo <= S.d.hi);
}

/* ---- the ring ------------------------------------------------------------------------- */

static void op_ring(FuzzIn *in) {
    uint8_t k = in_u8(in);
    size_t age, i;
    if (k % 4 != 0) {
        Arena *f = arena_ring_next(&S.r);
        char *p;
        FUZZ_REQUIRE(f != NULL && arena_stats(f).bytes_used == 0);
        S.ring_seen++;
        for (i = ARENA_RING_MAX - 1; i > 0; i--) {
            S.ring_id[i] = S.ring_id[i - 1];
            S.ring_obj[i] = S.ring_obj[i - 1];
        }
        p = (char *)arena_alloc(f, 16 + in_u8(in));
        FUZZ_REQUIRE(p != NULL);
        S.ring_obj[0] = p;
        S.ring_id[0] = ++S.next_id;
        fz_fill(p, 16, S.next_id);
    }
    age = in_u8(in) % (S.ring_frames + 2);
    if (age >= S.ring_frames) {
        FUZZ_REQUIRE(arena_ring_frame(&S.r, age) == NULL);
        fz_expect(ARENA_ERR_MISUSE);
    } else {
        FUZZ_REQUIRE(arena_ring_frame(&S.r, age) != NULL);
    }
    for (i = 0; i < S.ring_frames && i < S.ring_seen; i++)
        FUZZ_REQUIRE(fz_holds(S.ring_obj[i], 16, 16, S.ring_id[i], 1));
}

/* ---- the builder ---------------------------------------------------------------------- */

static void op_builder(FuzzIn *in) {
    uint8_t k = in_u8(in);
    char piece[64];
    size_t n;
    if (k % 4 == 0) {
        n = in_u8(in) % sizeof piece;
        memset(piece, 'a' + k % 26, n);
        if (S.bld.len + n >= sizeof S.want) return;
        FUZZ_REQUIRE(arena_builder_append(&S.bld, piece, n));
    } else if (k % 4 == 1) {
        int v = (int)in_u32(in);
        n = (size_t)snprintf(piece, sizeof piece, "%d|%x", v, (unsigned)v);
        if (S.bld.len + n >= sizeof S.want) return;
        FUZZ_REQUIRE(arena_builder_appendf(&S.bld, "%d|%x", v, (unsigned)v));
    } else if (k % 4 == 2) {
        FUZZ_REQUIRE(arena_alloc(&S.b, in_u8(in)) != NULL);   /* the builder is not newest now */
        return;
    } else {
        char *s = arena_builder_finish(&S.bld);
        FUZZ_REQUIRE(s && S.bld.len == strlen(S.want) && memcmp(s, S.want, S.bld.len) == 0);
        if (in_u8(in) & 1) {
            S.bld = arena_builder(&S.b);
            S.want[0] = '\0';
        }
        return;
    }
    fz_expect_none();
    memcpy(S.want + strlen(S.want), piece, n);
    S.want[S.bld.len] = '\0';
    FUZZ_REQUIRE(memcmp(S.bld.data, S.want, S.bld.len) == 0);
}

/* ---- the pool ------------------------------------------------------------------------- */

enum { POBJ = 40 };

static void pool_dies(PoolHandle h) {
    if (S.ndead < sizeof S.dead / sizeof S.dead[0]) S.dead[S.ndead++] = h;
}

FZ_NOCOV static void check_pool(void) {
    size_t i;
    FUZZ_REQUIRE(pool_stats(&S.pool).live == S.pm.n);
    for (i = 0; i < S.pm.n; i++) {
        FUZZ_REQUIRE(pool_get(&S.pool, S.pm.o[i].h) == S.pm.o[i].p);
        FUZZ_REQUIRE(fz_holds_range(S.pm.o[i].p, POBJ, 0, POBJ, S.pm.o[i].id));
    }
    for (i = 0; i < S.ndead; i++) {   /* a dead handle resolves only if a restore brought it back */
        void *q = pool_get(&S.pool, S.dead[i]);
        size_t j;
        int back = 0;
        for (j = 0; q && j < S.pm.n; j++) back |= S.pm.o[j].p == q && S.pm.o[j].h.gen == S.dead[i].gen;
        FUZZ_REQUIRE(!q || back);
        if (back) S.dead[i--] = S.dead[--S.ndead];
    }
}

/* Handles of the model that the snapshot's model lacks die with a restore. */
static void pool_bury_since(const PoolModel *then) {
    size_t i, j;
    for (i = 0; i < S.pm.n; i++) {
        for (j = 0; j < then->n; j++)
            if (then->o[j].h.index == S.pm.o[i].h.index && then->o[j].h.gen == S.pm.o[i].h.gen) break;
        if (j == then->n) pool_dies(S.pm.o[i].h);
    }
}

FZ_NOCOV static int was_issued(PoolHandle h) {
    size_t i;
    for (i = 0; i < S.nissued; i++)
        if (S.issued[i].index == h.index && S.issued[i].gen == h.gen) return 1;
    return 0;
}

static void op_pool(FuzzIn *in) {
    uint8_t k = in_u8(in);
    size_t i;
    if (k % 8 < 3 && S.pm.n < MAXD) {
        PoolObj *o = &S.pm.o[S.pm.n];
        o->p = (char *)pool_alloc_with_handle(&S.pool, &o->h);
        if (!o->p) {
            FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM);
            return;
        }
        o->id = ++S.next_id;
        fz_fill(o->p, POBJ, o->id);
        S.pm.n++;
        FUZZ_REQUIRE(!was_issued(o->h));
        if (S.nissued < sizeof S.issued / sizeof S.issued[0]) S.issued[S.nissued++] = o->h;
    } else if (k % 8 < 5 && S.pm.n) {
        i = in_u8(in) % S.pm.n;
        FUZZ_REQUIRE(in_u8(in) & 1 ? pool_free(&S.pool, S.pm.o[i].p) : pool_free_handle(&S.pool, S.pm.o[i].h));
        pool_dies(S.pm.o[i].h);
        S.pm.o[i] = S.pm.o[--S.pm.n];
    } else if (k % 8 == 5) {
        size_t n = in_u8(in) & 1;
        if (!pool_snapshot(&S.pool, &S.psnap[n], &S.store)) {
            FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM);
            return;
        }
        S.psnap_live[n] = 1;
        S.psnap_m[n] = S.pm;
    } else if (k % 8 == 6) {
        size_t n = in_u8(in) & 1;
        if (!S.psnap_live[n]) return;
        if (!pool_restore(&S.pool, &S.psnap[n])) {   /* only after a trim gave back a block */
            FUZZ_REQUIRE(fz_take() == ARENA_ERR_MISUSE);
            return;
        }
        pool_bury_since(&S.psnap_m[n]);
        S.pm = S.psnap_m[n];
    } else if (k % 8 == 7) {
        if (in_u8(in) & 1) pool_trim(&S.pool);
        else {
            for (i = 0; i < S.pm.n; i++) pool_dies(S.pm.o[i].h);
            pool_reset(&S.pool);
            S.pm.n = 0;
        }
    }
    fz_expect_none();
    check_pool();
}

/* ---- the run ------------------------------------------------------------------------------ */

static void run(FuzzIn *in) {
    ArenaOptions so;
    memset(&so, 0, sizeof so);
    fz_unpoison(abuf.b, sizeof abuf.b);
    fz_unpoison(dbuf.b, sizeof dbuf.b);
    fz_err_reset();
    S.nran = 0;
    S.next_id = 0;
    drop_snaps();
    init_a(in);
    so.max_bytes = (size_t)(1 + in_u8(in) % 64) << 14;
    arena_init(&S.store, &so);
    if (in_u8(in) & 1) FUZZ_REQUIRE(arena_deque_init_buffer(&S.d, dbuf.b, 4096 + (size_t)in_u16(in) % (BUF_BYTES - 4096)));
    else FUZZ_REQUIRE(arena_deque_init_virtual(&S.d, (size_t)1 << 18));
    S.nde[0] = S.nde[1] = 0;
    S.ring_frames = 1 + in_u8(in) % ARENA_RING_MAX;
    so.max_bytes = 0;
    so.block_size = 1024;   /* small blocks: no big allocation per input */
    arena_ring_init(&S.r, S.ring_frames, &so);
    S.ring_seen = 0;
    arena_init(&S.b, &so);
    S.bld = arena_builder(&S.b);
    fz_src_init(&S.psrc);
    if (in_u8(in) & 1) pool_init(&S.pool, POBJ, 8);
    else {
        ArenaOptions po;
        memset(&po, 0, sizeof po);
        po.source = fz_src(&S.psrc);
        pool_init_opts(&S.pool, POBJ, 8, &po);
    }
    S.pm.n = S.ndead = S.nissued = 0;
    S.psnap_live[0] = S.psnap_live[1] = 0;
    S.want[0] = '\0';
    fz_expect_none();
    for (S.op = 1; in->n && S.op < MAX_OPS; S.op++) {
        uint8_t op = in_u8(in);
        switch (op % 16) {
        case 0: case 1: case 2: op_alloc(in); break;
        case 3:
            if (in_u8(in) & 1) op_defer();
            else op_rewrite(in);
            break;
        case 4: op_pool(in); break;
        case 5: op_temp(in); break;
        case 6: case 7: op_snapshot(in); break;
        case 8: case 9: op_restore(in); break;
        case 10:
            if (in_u8(in) % 4 == 0) {
                arena_reset(&S.a);
                expect_ran_above(&S.m, 0);
                S.m.n = S.m.pos = 0;
            }
            break;
        case 11:
            if (in_u8(in) % 8 == 0) release_a();
            else if (S.kind == K_SOURCE) S.src.fail_next = in_u8(in) % 4 == 0;
            break;
        case 12:
            if (in_u8(in) % 8 == 0) {
                arena_reset(&S.store);
                drop_snaps();
                S.psnap_live[0] = S.psnap_live[1] = 0;
            }
            break;
        case 13: op_deque(in); break;
        case 14:
            if (in_u8(in) & 1) op_builder(in);
            else op_ring(in);
            break;
        default: op_pool(in); break;
        }
        fz_expect_none();
        check_a((S.op & 63) == 0);
    }
    release_a();
    arena_release(&S.store);
    arena_deque_release(&S.d);
    arena_ring_release(&S.r);
    arena_release(&S.b);
    pool_release(&S.pool);
    FUZZ_REQUIRE(S.psrc.n == 0);
    fz_expect_none();
}
