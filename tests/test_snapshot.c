/* test_snapshot.c - arena_snapshot / arena_restore: objects back at the
   same address with the same bytes, later allocations gone, cleanups
   registered since run, restores after reset, rewind and growth, refusals
   when a block was given back, a store that runs out, empty arenas, and
   the ASan shadow restored exactly. */
#include <stdlib.h>
#include "test.h"
#include "../pool.h"

void suite_snapshot(void);

#define SN_OBJS 40

typedef struct SnObjs {
    char *p[SN_OBJS];
    size_t n[SN_OBJS];
} SnObjs;

/* Objects of odd sizes and alignments, filled: several blocks at 256. */
static void sn_fill(Arena *a, SnObjs *o, unsigned seed) {
    size_t i;
    for (i = 0; i < SN_OBJS; i++) {
        o->n[i] = 1 + (i * 37 + seed) % 300;
        o->p[i] = (char *)arena_alloc_aligned(a, o->n[i], (size_t)1 << (i % 7));
        CHECK(o->p[i] != NULL);
        if (o->p[i]) test_fill(o->p[i], o->n[i], seed + (unsigned)i);
    }
}

static int sn_intact(const SnObjs *o, unsigned seed) {
    size_t i;
    for (i = 0; i < SN_OBJS; i++)
        if (!o->p[i] || !test_intact(o->p[i], o->n[i], seed + (unsigned)i)) return 0;
    return 1;
}

/* Snapshot, then overwrite, allocate across new blocks and restore: every
   object is back, bytes_used is as it was, and the arena continues exactly
   as it did after the snapshot (the same addresses again). */
TEST(snapshot_roundtrip) {
    TestSource src;
    ArenaOptions o;
    Arena a, store = test_empty_arena();
    ArenaSnapshot s;
    SnObjs objs;
    ArenaStats before;
    char *after1, *after2;
    size_t i;
    o = test_source_opts(&src, 256);
    arena_init(&a, &o);
    sn_fill(&a, &objs, 1);
    CHECK(a.block_count > 3);
    before = arena_stats(&a);
    CHECK(arena_snapshot(&a, &s, &store));
    CHECK_NO_ERR();
    CHECK_EQ(s.bytes, before.bytes_used);
    after1 = (char *)arena_alloc(&a, 5000);
    CHECK(after1 != NULL);
    for (i = 0; i < SN_OBJS; i++) memset(objs.p[i], 0xEE, objs.n[i]);
    for (i = 0; i < 50; i++) CHECK(arena_alloc(&a, 200) != NULL);
    CHECK(arena_restore(&a, &s));
    CHECK_NO_ERR();
    CHECK(sn_intact(&objs, 1));
    CHECK_EQ(arena_stats(&a).bytes_used, before.bytes_used);
    after2 = (char *)arena_alloc(&a, 5000);
    CHECK(after2 == after1);    /* the blocks grown into since are reused, in order */
    /* restore again, and again: a snapshot stays valid */
    for (i = 0; i < 3; i++) {
        memset(objs.p[i], 0, objs.n[i]);
        CHECK(arena_restore(&a, &s));
        CHECK(sn_intact(&objs, 1));
    }
    CHECK_EQ(src.grabs, (size_t)arena_stats(&a).grab_count);
    arena_release(&a);
    arena_release(&store);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
    CHECK_NO_ERR();
}

/* After a reset (the blocks are kept), after a rewind below the snapshot
   and growth past it, and from a fresh arena that grew blocks of other
   sizes, the restore works. */
TEST(snapshot_restore_after_reset_and_rewind) {
    TestSource src;
    ArenaOptions o;
    Arena a, store = test_empty_arena();
    ArenaSnapshot s;
    SnObjs objs;
    ArenaMark m0;
    size_t used, i;
    o = test_source_opts(&src, 512);
    arena_init(&a, &o);
    m0 = arena_mark(&a);
    sn_fill(&a, &objs, 7);
    used = arena_stats(&a).bytes_used;
    CHECK(arena_snapshot(&a, &s, &store));
    arena_reset(&a);
    for (i = 0; i < 30; i++) CHECK(arena_alloc(&a, 97) != NULL);
    CHECK(arena_restore(&a, &s));
    CHECK_NO_ERR();
    CHECK(sn_intact(&objs, 7));
    CHECK_EQ(arena_stats(&a).bytes_used, used);
    /* a mark from before the snapshot is valid again: the reset is undone */
    arena_rewind(&a, m0);
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, (size_t)0);
    for (i = 0; i < 10; i++) CHECK(arena_alloc(&a, 3000) != NULL);
    CHECK(arena_restore(&a, &s));
    CHECK(sn_intact(&objs, 7));
    /* a mark taken after the snapshot, above its top, is refused */
    {
        ArenaMark late;
        CHECK(arena_alloc(&a, 100) != NULL);
        late = arena_mark(&a);
        CHECK(arena_alloc(&a, 100) != NULL);
        CHECK(arena_restore(&a, &s));
        arena_rewind(&a, late);
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(sn_intact(&objs, 7));
    }
    arena_release(&a);
    arena_release(&store);
    CHECK_EQ(src.live, (size_t)0);
}

/* Blocks of the snapshot given back (release; keep_bytes on a rewind):
   the restore is refused and the arena is unchanged. */
TEST(snapshot_refused_when_blocks_are_gone) {
    TestSource src;
    ArenaOptions o;
    Arena a, store = test_empty_arena();
    ArenaSnapshot s;
    SnObjs objs;
    char *p;
    ArenaStats st;
    o = test_source_opts(&src, 256);
    o.keep_bytes = 256;
    arena_init(&a, &o);
    CHECK(arena_alloc(&a, 10) != NULL);
    {
        ArenaMark m = arena_mark(&a);
        sn_fill(&a, &objs, 3);
        CHECK(arena_snapshot(&a, &s, &store));
        arena_rewind(&a, m);   /* passes blocks: all but 256 bytes are dropped */
    }
    p = (char *)arena_alloc(&a, 64);
    CHECK(p != NULL);
    if (!p) return;
    test_fill(p, 64, 5);
    st = arena_stats(&a);
    CHECK(!arena_restore(&a, &s));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(test_intact(p, 64, 5));
    CHECK_EQ(arena_stats(&a).bytes_used, st.bytes_used);
    CHECK_EQ(arena_stats(&a).block_count, st.block_count);
    /* release: every block is gone */
    arena_release(&a);
    arena_init(&a, NULL);
    sn_fill(&a, &objs, 4);
    CHECK(arena_snapshot(&a, &s, &store));
    arena_release(&a);
    CHECK(!arena_restore(&a, &s));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, (size_t)0);
    /* a snapshot of another arena, none at all, a NULL arena */
    {
        Arena b = test_empty_arena();
        ArenaSnapshot none;
        memset(&none, 0, sizeof none);
        CHECK(arena_alloc(&b, 10) != NULL);
        CHECK(!arena_restore(&b, &s));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(!arena_restore(&b, &none));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(!arena_restore(NULL, &s));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(!arena_snapshot(&b, &none, &b));
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK(!arena_snapshot(&b, NULL, &store));
        CHECK_ERR(ARENA_ERR_MISUSE);
        arena_release(&b);
    }
    arena_release(&store);
    CHECK_EQ(src.live, (size_t)0);
}

/* The store runs out (a small buffer; a source that fails): the snapshot
   fails with the store's one OOM, and neither arena changes. */
TEST(snapshot_store_out_of_memory) {
    static union { char b[1024]; double al; void *alp; } buf;
    TestSource src;
    ArenaOptions o;
    Arena a = test_empty_arena(), store, capped;
    ArenaSnapshot s;
    SnObjs objs;
    ArenaStats st, st_store;
    memset(&s, 0, sizeof s);
    sn_fill(&a, &objs, 11);
    st = arena_stats(&a);
    CHECK(arena_init_buffer(&store, buf.b, sizeof buf.b));
    CHECK(arena_alloc(&store, 100) != NULL);
    st_store = arena_stats(&store);
    CHECK(!arena_snapshot(&a, &s, &store));
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(s.arena == NULL);
    CHECK(sn_intact(&objs, 11));
    CHECK_EQ(arena_stats(&a).bytes_used, st.bytes_used);
    CHECK_EQ(arena_stats(&a).grab_count, st.grab_count);
    CHECK_EQ(arena_stats(&store).bytes_used, st_store.bytes_used);
    o = test_source_opts(&src, 256);
    src.fail_at = 1;
    arena_init(&capped, &o);
    CHECK(!arena_snapshot(&a, &s, &capped));
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(sn_intact(&objs, 11));
    /* with room it works, and the store holds about the bytes in use */
    CHECK(arena_snapshot(&a, &s, &capped));
    CHECK(arena_stats(&capped).bytes_used >= st.bytes_used);
    CHECK(arena_stats(&capped).bytes_used < st.bytes_used + st.bytes_used / 4 + 1024);
    arena_release(&capped);
    arena_release(&a);
    CHECK_EQ(src.live, (size_t)0);
}

/* Empty arenas: a zeroed one, a buffer one, a virtual one. Restoring
   the empty snapshot gives everything since back and keeps the memory. */
TEST(snapshot_of_empty_arenas) {
    static union { char b[4096]; double al; void *alp; } buf;
    Arena a = test_empty_arena(), b, v, store = test_empty_arena();
    ArenaSnapshot sa, sb, sv;
    size_t held;
    char *p;
    CHECK(arena_snapshot(&a, &sa, &store));
    CHECK_EQ(sa.bytes, (size_t)0);
    CHECK(arena_alloc(&a, 100000) != NULL);
    held = arena_stats(&a).bytes_held;
    CHECK(arena_restore(&a, &sa));
    CHECK_EQ(arena_stats(&a).bytes_used, (size_t)0);
    CHECK_EQ(arena_stats(&a).bytes_held, held);     /* kept for reuse */
    CHECK(arena_alloc(&a, 100000) != NULL);
    CHECK_EQ(arena_stats(&a).bytes_held, held);
    CHECK(arena_init_buffer(&b, buf.b, sizeof buf.b));
    CHECK(arena_snapshot(&b, &sb, &store));
    p = (char *)arena_alloc(&b, 1000);
    CHECK(arena_restore(&b, &sb));
    CHECK_EQ(arena_stats(&b).bytes_used, (size_t)0);
    CHECK(arena_alloc(&b, 1000) == p);
    CHECK(arena_init_virtual(&v, (size_t)1 << 24));
    CHECK(arena_snapshot(&v, &sv, &store));
    p = (char *)arena_alloc(&v, 1 << 20);
    CHECK(arena_restore(&v, &sv));
    CHECK_EQ(arena_stats(&v).bytes_used, (size_t)0);
    CHECK(arena_alloc(&v, 1 << 20) == p);
    CHECK_NO_ERR();
    arena_release(&a);
    arena_release(&b);
    arena_release(&v);
    arena_release(&store);
}

/* A virtual arena: reset decommits what the recent cycles did not use; the
   restore commits it again. A buffer arena after release: refused. */
TEST(snapshot_virtual_and_buffer) {
    static union { char b[8192]; double al; void *alp; } buf;
    Arena v, b, store = test_empty_arena();
    ArenaSnapshot s;
    char *big;
    size_t n = (size_t)3 << 20;
    CHECK(arena_init_virtual(&v, (size_t)1 << 26));
    big = (char *)arena_alloc(&v, n);
    CHECK(big != NULL);
    if (!big) return;
    test_fill(big, n, 21);
    CHECK(arena_snapshot(&v, &s, &store));
    {   /* the last ARENA_KEEP_CYCLES cycles used nothing: pages decommitted */
        int k;
        for (k = 0; k <= ARENA_KEEP_CYCLES; k++) arena_reset(&v);
    }
    CHECK(arena_stats(&v).bytes_held < n);
    CHECK(arena_restore(&v, &s));
    CHECK_NO_ERR();
    CHECK(test_intact(big, n, 21));
    CHECK(arena_stats(&v).bytes_held >= n);
    arena_release(&v);
    arena_reset(&store);
    CHECK(arena_init_buffer(&b, buf.b, sizeof buf.b));
    big = (char *)arena_alloc(&b, 3000);
    test_fill(big, 3000, 22);
    CHECK(arena_snapshot(&b, &s, &store));
    memset(big, 0, 3000);
    CHECK(arena_restore(&b, &s));
    CHECK(test_intact(big, 3000, 22));
    arena_release(&b);
    CHECK(!arena_restore(&b, &s));
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_release(&store);
}

static int sn_log[16], sn_nlog;
static void sn_cleanup(void *ctx) { sn_log[sn_nlog++] = (int)(intptr_t)ctx; }

/* A cleanup that tries to restore its own arena: refused (busy). */
static Arena *sn_busy_arena;
static const ArenaSnapshot *sn_busy_snap;
static int sn_busy_refused;
static void sn_restore_inside(void *ctx) {
    (void)ctx;
    sn_busy_refused += !arena_restore(sn_busy_arena, sn_busy_snap) && test_err.last == ARENA_ERR_MISUSE;
}

/* Cleanups: those registered before the snapshot do not run on restore;
   those registered since run once, newest first; one rewound past (run)
   since the snapshot is registered again with its object. */
TEST(snapshot_cleanups) {
    Arena a = test_empty_arena(), store = test_empty_arena();
    ArenaSnapshot s;
    ArenaMark m;
    sn_nlog = 0;
    CHECK(arena_defer(&a, sn_cleanup, (void *)1));
    m = arena_mark(&a);
    CHECK(arena_defer(&a, sn_cleanup, (void *)2));
    CHECK(arena_snapshot(&a, &s, &store));
    CHECK(arena_defer(&a, sn_cleanup, (void *)3));
    CHECK(arena_defer(&a, sn_cleanup, (void *)4));
    CHECK(arena_restore(&a, &s));
    CHECK_EQ(sn_nlog, 2);
    CHECK(sn_log[0] == 4 && sn_log[1] == 3);
    /* rewind past 2 (runs it), register 5 below where 2 was, restore */
    arena_rewind(&a, m);
    CHECK_EQ(sn_nlog, 3);
    CHECK_EQ(sn_log[2], 2);
    CHECK(arena_defer(&a, sn_cleanup, (void *)5));
    CHECK(arena_restore(&a, &s));
    CHECK_EQ(sn_nlog, 4);
    CHECK_EQ(sn_log[3], 5);
    /* after a reset (1 and 2 ran), the restore registers them again */
    arena_reset(&a);
    CHECK_EQ(sn_nlog, 6);
    CHECK(arena_restore(&a, &s));
    CHECK_EQ(sn_nlog, 6);
    arena_release(&a);
    CHECK_EQ(sn_nlog, 8);
    CHECK(sn_log[6] == 2 && sn_log[7] == 1);
    /* a cleanup run by the restore may not restore (or touch) that arena */
    CHECK(arena_snapshot(&a, &s, &store));
    sn_busy_arena = &a;
    sn_busy_snap = &s;
    sn_busy_refused = 0;
    CHECK(arena_defer(&a, sn_restore_inside, NULL));
    CHECK(arena_restore(&a, &s));
    CHECK_EQ(sn_busy_refused, 1);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_release(&a);
    arena_release(&store);
    CHECK_NO_ERR();
}

/* Under ASan the shadow of the used range is restored byte for byte: the
   objects' bytes addressable, redzones and padding poisoned, as before;
   what was allocated since is poisoned. */
TEST(snapshot_asan_shadow) {
#if ARENA__ASAN
    Arena a = test_empty_arena(), store = test_empty_arena();
    ArenaSnapshot s;
    SnObjs objs;
    char *data, *after;
    size_t used, i, diff = 0;
    static char shadow[1 << 16];
    sn_fill(&a, &objs, 31);
    CHECK_EQ(a.block_count, (size_t)1);   /* so its data starts at position 0 */
    data = a.cur - arena_stats(&a).bytes_used;
    used = (size_t)(a.cur - data);
    CHECK(used <= sizeof shadow);
    if (used > sizeof shadow) return;
    for (i = 0; i < used; i++) shadow[i] = (char)__asan_address_is_poisoned(data + i);
    CHECK(arena_snapshot(&a, &s, &store));
    after = (char *)arena_alloc(&a, 700);
    for (i = 0; i < SN_OBJS; i++) CHECK(arena_realloc(&a, objs.p[i], objs.n[i], objs.n[i]) != NULL);
    CHECK(arena_restore(&a, &s));
    for (i = 0; i < used; i++) diff += shadow[i] != (char)__asan_address_is_poisoned(data + i);
    CHECK_EQ(diff, (size_t)0);
    CHECK(__asan_address_is_poisoned(after));
    CHECK(sn_intact(&objs, 31));
    arena_release(&a);
    arena_release(&store);
#endif
}

/* ---- pools ---------------------------------------------------------------------- */

typedef struct SnEnt {
    uint32_t id, hp;
    char name[40];
} SnEnt;

enum { SN_ENTS = 300 };

typedef struct SnPoolRun {
    SnEnt *obj[SN_ENTS];
    PoolHandle h[SN_ENTS];
    size_t n;
} SnPoolRun;

static void sn_spawn(Pool *p, SnPoolRun *r, size_t count, uint32_t seed) {
    size_t i;
    for (i = 0; i < count && r->n < SN_ENTS; i++) {
        SnEnt *e = (SnEnt *)pool_alloc_with_handle(p, &r->h[r->n]);
        CHECK(e != NULL);
        if (!e) return;
        e->id = seed + (uint32_t)i;
        e->hp = 100 + e->id;
        memset(e->name, (int)(e->id & 0x7F), sizeof e->name);
        r->obj[r->n++] = e;
    }
}

static int sn_ent_ok(const SnEnt *e, uint32_t id) {
    return e->id == id && e->hp == 100 + id && e->name[0] == (char)(id & 0x7F) && e->name[39] == (char)(id & 0x7F);
}

/* The pool kinds: the default (virtual on 64-bit), blocks on a source, a buffer. */
static void sn_pool_init(Pool *p, int kind, TestSource *src, void *buf, size_t bytes) {
    ArenaOptions o;
    if (kind == 0) pool_init(p, sizeof(SnEnt), ARENA_ALIGNOF(SnEnt));
    else if (kind == 1) {
        o = test_source_opts(src, 1024);
        pool_init_opts(p, sizeof(SnEnt), ARENA_ALIGNOF(SnEnt), &o);
    } else {
        CHECK(pool_init_buffer(p, sizeof(SnEnt), ARENA_ALIGNOF(SnEnt), buf, bytes));
    }
}

/* Under ASan the restore sets each slot's shadow back: the objects live
   at the snapshot addressable, the slots free then poisoned, and so the
   objects made since, unless their slot holds a restored one. */
static void sn_check_shadow(const SnPoolRun *before, const SnPoolRun *after) {
#if ARENA__ASAN
    size_t i, j;
    for (i = 0; i < before->n; i++) {
        if (i % 3) CHECK(__asan_region_is_poisoned(before->obj[i], sizeof(SnEnt)) == NULL);
        else CHECK(__asan_address_is_poisoned(before->obj[i]));
    }
    for (i = 0; i < after->n; i++) {
        int restored = 0;
        for (j = 0; j < before->n; j++) restored |= j % 3 && before->obj[j] == after->obj[i];
        if (!restored) CHECK(__asan_address_is_poisoned(after->obj[i]));
    }
#else
    (void)before;
    (void)after;
#endif
}

/* Objects and handles from before the snapshot come back (with their ASan
   shadow); handles taken after it are dead and stay dead through any
   amount of reuse. */
TEST(pool_snapshot_roundtrip_and_handles) {
    static union { char b[64 << 10]; double d; void *q; } buf;
    int kind;
    for (kind = 0; kind < 3; kind++) {
        TestSource src;
        Pool p;
        Arena store = test_empty_arena();
        PoolSnapshot s;
        SnPoolRun before, after;
        size_t i, k, live;
        memset(&before, 0, sizeof before);
        memset(&after, 0, sizeof after);
        sn_pool_init(&p, kind, &src, buf.b, sizeof buf.b);
        sn_spawn(&p, &before, 100, 1000);
        for (i = 0; i < 100; i += 3) CHECK(pool_free(&p, before.obj[i]));   /* holes */
        live = pool_stats(&p).live;
        CHECK(pool_snapshot(&p, &s, &store));
        CHECK_NO_ERR();
        /* after the snapshot: free everything alive, spawn into the same slots */
        for (i = 1; i < 100; i++)
            if (i % 3) CHECK(pool_free(&p, before.obj[i]));
        sn_spawn(&p, &after, 150, 5000);
        for (i = 0; i < after.n; i += 2) CHECK(pool_free_handle(&p, after.h[i]));
        sn_spawn(&p, &after, 50, 9000);
        CHECK(pool_restore(&p, &s));
        CHECK_NO_ERR();
        CHECK_EQ(pool_stats(&p).live, live);
        for (i = 0; i < 100; i++) {
            if (i % 3 == 0) {
                CHECK(pool_get(&p, before.h[i]) == NULL);
                continue;
            }
            CHECK(pool_get(&p, before.h[i]) == before.obj[i]);
            CHECK(sn_ent_ok(before.obj[i], 1000 + (uint32_t)i));
            CHECK(pool_owns(&p, before.obj[i]));
        }
        for (i = 0; i < after.n; i++) CHECK(pool_get(&p, after.h[i]) == NULL);
        sn_check_shadow(&before, &after);
        /* churn: free and reuse every slot many times; no later handle revives */
        for (k = 0; k < 6; k++) {
            SnPoolRun more;
            memset(&more, 0, sizeof more);
            for (i = 1; i < 100 && k == 0; i++)
                if (i % 3) {
                    PoolHandle h = pool_handle_of(&p, before.obj[i]);
                    CHECK(h.index == before.h[i].index && h.gen == before.h[i].gen);
                    CHECK(pool_free(&p, before.obj[i]));
                    CHECK(!pool_free(&p, before.obj[i]));   /* a double free is still refused */
                    CHECK_ERR(ARENA_ERR_MISUSE);
                }
            sn_spawn(&p, &more, 250, 20000 + (uint32_t)k * 1000);
            for (i = 0; i < after.n; i++) CHECK(pool_get(&p, after.h[i]) == NULL);
            for (i = 0; i < more.n; i++) CHECK(pool_free_handle(&p, more.h[i]));
        }
        CHECK(pool_stats(&p).live == 0);
        pool_release(&p);
        arena_release(&store);
        if (kind == 1) CHECK_EQ(src.live, (size_t)0);
        CHECK_NO_ERR();
    }
}

/* An empty pool's snapshot; a restore after a reset; refused after a
   release; the store out of memory. */
TEST(pool_snapshot_edges) {
    static union { char b[512]; double d; void *q; } small;
    Pool p;
    Arena store = test_empty_arena(), tiny;
    PoolSnapshot s, e;
    SnPoolRun r;
    PoolStats st;
    size_t i;
    memset(&r, 0, sizeof r);
    pool_init(&p, sizeof(SnEnt), ARENA_ALIGNOF(SnEnt));
    CHECK(pool_snapshot(&p, &e, &store));           /* empty */
    sn_spawn(&p, &r, 40, 1);
    CHECK(pool_snapshot(&p, &s, &store));
    pool_reset(&p);
    CHECK(pool_get(&p, r.h[0]) == NULL);
    CHECK(pool_restore(&p, &s));                      /* after a reset */
    for (i = 0; i < 40; i++) CHECK(pool_get(&p, r.h[i]) == r.obj[i] && sn_ent_ok(r.obj[i], 1 + (uint32_t)i));
    CHECK(pool_restore(&p, &e));                      /* back to empty */
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    for (i = 0; i < 40; i++) CHECK(pool_get(&p, r.h[i]) == NULL);
    CHECK(pool_alloc(&p) == r.obj[0]);                /* carving starts over, in order */
    CHECK(pool_get(&p, r.h[0]) == NULL);
    /* the store cannot hold it: one OOM, nothing changes */
    CHECK(arena_init_buffer(&tiny, small.b, sizeof small.b));
    sn_spawn(&p, &r, 40, 100);
    st = pool_stats(&p);
    CHECK(!pool_snapshot(&p, &s, &tiny));
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK_EQ(pool_stats(&p).live, st.live);
    CHECK(sn_ent_ok(r.obj[79], 139));
    /* released: refused, nothing changes */
    CHECK(pool_snapshot(&p, &s, &store));
    pool_release(&p);
    CHECK(!pool_restore(&p, &s));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    CHECK(!pool_restore(&p, NULL));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!pool_snapshot(&p, NULL, &store));
    CHECK_ERR(ARENA_ERR_MISUSE);
    pool_release(&p);
    arena_release(&store);
}

/* A block pool that trimmed a block of the snapshot: refused. */
TEST(pool_snapshot_after_trim) {
    TestSource src;
    Pool p;
    Arena store = test_empty_arena();
    PoolSnapshot s;
    SnPoolRun r;
    size_t i;
    memset(&r, 0, sizeof r);
    sn_pool_init(&p, 1, &src, NULL, 0);
    sn_spawn(&p, &r, 200, 1);
    CHECK(pool_stats(&p).block_count >= 1);
    CHECK(pool_snapshot(&p, &s, &store));
    for (i = 0; i < r.n; i++) CHECK(pool_free(&p, r.obj[i]));
    pool_trim(&p);
    CHECK_EQ(pool_stats(&p).block_count, (size_t)0);
    CHECK(!pool_restore(&p, &s));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(pool_stats(&p).live, (size_t)0);
    pool_release(&p);
    arena_release(&store);
    CHECK_EQ(src.live, (size_t)0);
}

/* A restored object whose slot had later generations holds them in
   reserve: its next end of life (a free by handle, or the carve after a
   reset) must jump past them on the inline paths too, or a handle taken
   after the snapshot comes back to life. */
TEST(pool_restore_reserve_on_inline_paths) {
    Pool p;
    Arena store;
    PoolSnapshot s;
    PoolHandle h0, h1, h2, h3;
    void *a, *b, *c, *d;
    memset(&store, 0, sizeof store);
    pool_init(&p, 40, 8);
    a = pool_alloc_with_handle(&p, &h0);
    CHECK(a != NULL && pool_snapshot(&p, &s, &store));
    CHECK(pool_free_handle(&p, h0));
    b = pool_alloc_with_handle(&p, &h1);              /* the same slot, a later generation */
    CHECK(b == a && h1.gen != h0.gen);
    CHECK(pool_restore(&p, &s));
    CHECK(pool_get(&p, h0) == a && pool_get(&p, h1) == NULL);
    CHECK(pool_free_handle(&p, h0));                  /* ends past h1's generation */
    c = pool_alloc_with_handle(&p, &h2);
    CHECK(c == a && pool_get(&p, h2) == c);
    CHECK(pool_get(&p, h1) == NULL && pool_get(&p, h0) == NULL);
    CHECK(pool_restore(&p, &s));                      /* h0 live again, h1 and h2 in reserve */
    pool_reset(&p);                                   /* the life ends at the next carve */
    d = pool_alloc_with_handle(&p, &h3);
    CHECK(d == a && pool_get(&p, h3) == d);
    CHECK(pool_get(&p, h0) == NULL && pool_get(&p, h1) == NULL && pool_get(&p, h2) == NULL);
    CHECK_NO_ERR();
    pool_release(&p);
    arena_release(&store);
}

/* Marks taken after a snapshot belong to the history a restore undoes:
   after the restore each is refused (at the snapshot's top, below it after
   a rewind, above it after the arena grows back past it), and changes
   nothing; marks from before the snapshot and after the restore work. */
TEST(snapshot_refuses_marks_taken_since) {
    Arena a, store = test_empty_arena();
    ArenaSnapshot s;
    ArenaMark before, at_top, below, above, fresh;
    char *x, *y;
    size_t top;
    arena_init(&a, NULL);
    x = (char *)arena_alloc(&a, 100);
    before = arena_mark(&a);
    y = (char *)arena_alloc(&a, 100);
    CHECK(x && y);
    if (!x || !y) return;
    test_fill(y, 100, 42);
    top = arena_stats(&a).bytes_used;
    CHECK(arena_snapshot(&a, &s, &store));
    at_top = arena_mark(&a);
    CHECK(arena_alloc(&a, 300) != NULL);
    above = arena_mark(&a);
    arena_rewind(&a, before);
    below = arena_mark(&a);
    CHECK(below.pos < top);
    CHECK_NO_ERR();
    CHECK(arena_restore(&a, &s));
    CHECK_NO_ERR();
    arena_rewind(&a, at_top);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_rewind(&a, below);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&a).bytes_used, top);
    CHECK(test_intact(y, 100, 42));
    CHECK(arena_alloc(&a, 1000) != NULL);   /* grown back past `above` */
    arena_rewind(&a, above);
    CHECK_ERR(ARENA_ERR_MISUSE);
    fresh = arena_mark(&a);
    CHECK(arena_alloc(&a, 50) != NULL);
    arena_rewind(&a, fresh);
    CHECK_NO_ERR();
    arena_rewind(&a, before);   /* from before the snapshot: valid */
    CHECK_NO_ERR();
    CHECK_EQ(arena_stats(&a).bytes_used, before.pos);
    /* a second restore of the same snapshot refuses them again */
    CHECK(arena_restore(&a, &s));
    arena_rewind(&a, below);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_rewind(&a, fresh);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(test_intact(y, 100, 42));
    arena_release(&a);
    /* across a release (a buffer arena takes its buffer up again) */
    {
        static union { char b[4096]; double d; } buf;
        CHECK(arena_init_buffer(&a, buf.b, sizeof buf.b));
        CHECK(arena_alloc(&a, 100) != NULL);
        before = arena_mark(&a);
        CHECK(arena_snapshot(&a, &s, &store));
        at_top = arena_mark(&a);
        arena_release(&a);
        CHECK(arena_alloc(&a, 10) != NULL);
        CHECK(arena_restore(&a, &s));
        CHECK_NO_ERR();
        arena_rewind(&a, at_top);
        CHECK_ERR(ARENA_ERR_MISUSE);
        arena_rewind(&a, before);
        CHECK_NO_ERR();
        arena_release(&a);
    }
    arena_release(&store);
}

/* The undone-history setup: y (100 bytes, filled from seed) above
   `before`, a snapshot, a rewind to before and a mark taken there
   (`inside`: inside y once restored), then the restore. */
typedef struct UndoneFix {
    Arena a, store;
    ArenaSnapshot s;
    ArenaMark before, inside;
    char *y;
    size_t top;   /* bytes_used at the snapshot */
} UndoneFix;

static bool undone_setup(UndoneFix *f, unsigned seed) {
    f->store = test_empty_arena();
    arena_init(&f->a, NULL);
    CHECK(arena_alloc(&f->a, 100) != NULL);
    f->before = arena_mark(&f->a);
    f->y = (char *)arena_alloc(&f->a, 100);
    CHECK(f->y != NULL);
    if (!f->y) return false;
    test_fill(f->y, 100, seed);
    f->top = arena_stats(&f->a).bytes_used;
    CHECK(arena_snapshot(&f->a, &f->s, &f->store));
    arena_rewind(&f->a, f->before);
    CHECK(arena_alloc(&f->a, 40) != NULL);
    f->inside = arena_mark(&f->a);
    CHECK(arena_restore(&f->a, &f->s));
    return true;
}

/* A mark of the undone history stays refused after the restored arena cuts
   again at its top (a record newer than the mark, linking to one older:
   the shape the out-of-line rewind finishes without walking). */
TEST(snapshot_refuses_undone_marks_past_a_new_cut) {
    UndoneFix f;
    ArenaMark at, above;
    if (!undone_setup(&f, 7)) return;
    at = arena_mark(&f.a);
    CHECK(arena_alloc(&f.a, 64) != NULL);
    above = arena_mark(&f.a);
    CHECK(arena_alloc(&f.a, 64) != NULL);
    (void)above;
    arena_rewind(&f.a, at);   /* a record at the top, newer than `inside` */
    CHECK_NO_ERR();
    arena_rewind(&f.a, f.inside);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_stats(&f.a).bytes_used, f.top);
    CHECK(test_intact(f.y, 100, 7));
    arena_release(&f.a);
    arena_release(&f.store);
}

/* A mark of a history one restore undid stays refused after a later
   snapshot is taken and restored (the arena keeps every undone history,
   not only its latest restore's). */
TEST(snapshot_refuses_marks_of_an_earlier_undone_history) {
    UndoneFix f;
    ArenaSnapshot s2;
    ArenaMark fresh;
    if (!undone_setup(&f, 9)) return;
    CHECK(arena_snapshot(&f.a, &s2, &f.store));
    CHECK(arena_alloc(&f.a, 10) != NULL);
    CHECK(arena_restore(&f.a, &s2));
    CHECK_NO_ERR();
    arena_rewind(&f.a, f.inside);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(test_intact(f.y, 100, 9));
    fresh = arena_mark(&f.a);   /* marks after the restore and before it work */
    CHECK(arena_alloc(&f.a, 30) != NULL);
    arena_rewind(&f.a, fresh);
    arena_rewind(&f.a, f.before);
    CHECK_NO_ERR();
    arena_reset(&f.a);   /* a reset ends every older mark: the range goes */
    CHECK_EQ(f.a.undone_hi, 0u);
    arena_release(&f.a);
    arena_release(&f.store);
}

void suite_snapshot(void) {
    RUN(snapshot_roundtrip);
    RUN(snapshot_restore_after_reset_and_rewind);
    RUN(snapshot_refuses_marks_taken_since);
    RUN(snapshot_refuses_undone_marks_past_a_new_cut);
    RUN(snapshot_refuses_marks_of_an_earlier_undone_history);
    RUN(snapshot_refused_when_blocks_are_gone);
    RUN(snapshot_store_out_of_memory);
    RUN(snapshot_of_empty_arenas);
    RUN(snapshot_virtual_and_buffer);
    RUN(snapshot_cleanups);
    RUN(snapshot_asan_shadow);
    RUN(pool_snapshot_roundtrip_and_handles);
    RUN(pool_snapshot_edges);
    RUN(pool_snapshot_after_trim);
    RUN(pool_restore_reserve_on_inline_paths);
}
