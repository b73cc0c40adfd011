/* test_bad_input.c - every bad input is refused, in one table.

   Each case is a small function that sets up an arena, a stack or a pool,
   keeps a few allocations alive as witnesses (filled with a pattern), makes
   one bad call and returns what that call returned (a pointer, a bool, a
   handle folded to an integer, or for a void call whether it changed the
   arena). The driver then asserts, for every case:
     - the failure value (0: NULL, false, the null handle, "nothing changed");
     - exactly one error-handler call, with the expected ArenaError and a
       non-empty message (ARENA_OK rows: no handler call at all, and a
       non-zero value: NULL always means failure);
     - every witness still holds its bytes;
     - after cleanup, a TestSource got every block back once, with its size.

   Error kinds follow the README's rule: OVERFLOW = a size computation does
   not fit (a request above PTRDIFF_MAX, count * size, size + alignment
   padding); OOM = a representable request the source, buffer or cap cannot
   give; ALIGN = not a power of two or a misaligned buffer; MISUSE = a call
   the API forbids.

   Common subset of C99 and C++11: void * cast, no designated initializers,
   no compound literals, no VLAs, structs zeroed with memset. */
#include <stdlib.h>
#include "test.h"
#include "../pool.h"

void suite_bad_input(void);


/* ---- the state a case works on ------------------------------------------- */

typedef struct BadWitness {
    const void *p;
    size_t n;
    unsigned seed;
} BadWitness;

enum { BAD_BUF = 1 << 16, BAD_WITNESSES = 64 };

typedef union BadBuffer {   /* aligned for anything */
    long double ld;
    void *ptr;
    uint64_t u;
    unsigned char b[BAD_BUF];
} BadBuffer;

typedef struct BadCtx {
    Arena a, b;
    ArenaStack s;
    Pool p, q;
    int a_used, b_used, s_used, p_used, q_used;   /* release at the end */
    int src_used;
    TestSource src;
    BadWitness w[BAD_WITNESSES];
    int nw;
    unsigned seed;
} BadCtx;

static BadCtx bad_ctx;
static BadBuffer bad_buf, bad_buf2, bad_buf3;

/* Keeps [p, p+n) as a witness: filled now, checked after the bad call. */
static void *bad_keep(BadCtx *c, void *p, size_t n) {
    CHECK(p != NULL);
    if (!p || c->nw == BAD_WITNESSES) return p;
    c->w[c->nw].p = p;
    c->w[c->nw].n = n;
    c->w[c->nw].seed = ++c->seed;
    test_fill(p, n, c->seed);
    c->nw++;
    return p;
}

static ArenaOptions bad_opts(void) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    return o;
}

/* Arena a over the ctx's TestSource (small blocks, so growth is exercised). */
static void bad_source_arena(BadCtx *c, size_t block_size, size_t max_bytes, size_t fail_at) {
    ArenaOptions o = bad_opts();
    test_source_init(&c->src);
    c->src.fail_at = fail_at;
    c->src_used = 1;
    o.source = test_source(&c->src);
    o.block_size = block_size;
    o.max_bytes = max_bytes;
    arena_init(&c->a, &o);
    c->a_used = 1;
}

static void bad_source_pool(BadCtx *c, size_t size, size_t max_bytes, size_t fail_at) {
    ArenaOptions o = bad_opts();
    test_source_init(&c->src);
    c->src.fail_at = fail_at;
    c->src_used = 1;
    o.source = test_source(&c->src);
    o.max_bytes = max_bytes;
    pool_init_opts(&c->p, size, 8, &o);
    c->p_used = 1;
}

/* A few witnesses in arena a: mixed sizes and alignments. */
static void bad_fill_arena(BadCtx *c, Arena *a) {
    bad_keep(c, arena_alloc(a, 24), 24);
    bad_keep(c, arena_alloc_aligned(a, 100, 64), 100);
    bad_keep(c, arena_strdup(a, "witness"), 8);
    bad_keep(c, arena_alloc(a, 7), 7);
}

static void bad_fill_pool(BadCtx *c, Pool *p, int n) {
    int i;
    for (i = 0; i < n; i++) bad_keep(c, pool_alloc(p), p->size);
}

/* The bad call comes next: setup made no error. */
#define BAD_CALL() CHECK_NO_ERR()

static uintptr_t bad_ptr(const void *p) { return (uintptr_t)p; }
static uintptr_t bad_handle(PoolHandle h) { return (uintptr_t)(h.index | h.gen); }
static size_t bad_used(const Arena *a) { return arena_stats(a).bytes_used; }

/* The bad call of the mark rows: a rewind of c->a to m, which must change
   nothing (true if it did). */
static uintptr_t bad_rewind_to(BadCtx *c, ArenaMark m) {
    size_t used = bad_used(&c->a);
    BAD_CALL();
    arena_rewind(&c->a, m);
    return bad_used(&c->a) != used;
}

/* ==== arena: sizes ========================================================= */

static uintptr_t calloc_count_overflow(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_calloc(&c->a, SIZE_MAX / 2 + 2, 2));
}

static uintptr_t new_array_overflow(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_new_array(&c->a, uint64_t, SIZE_MAX / 4));
}

static uintptr_t alloc_size_max(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, SIZE_MAX));
}

/* Rounding SIZE_MAX - 5 up to the alignment would wrap to a tiny size. */
static uintptr_t alloc_near_size_max(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, SIZE_MAX - 5));
}

static uintptr_t alloc_above_ptrdiff_max(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, (size_t)PTRDIFF_MAX + 1));
}

/* PTRDIFF_MAX itself plus a block header does not fit either. */
static uintptr_t alloc_ptrdiff_max(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, (size_t)PTRDIFF_MAX));
}

/* Each alone is below PTRDIFF_MAX; size plus padding for the alignment is not. */
static uintptr_t size_plus_padding_wraps(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_alloc_aligned(&c->a, ((SIZE_MAX >> 2) + 1), ((SIZE_MAX >> 2) + 1)));
}

/* A power of two whose padding alone exceeds PTRDIFF_MAX. */
static uintptr_t align_2_pow_63(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_alloc_aligned(&c->a, 1, ((SIZE_MAX >> 1) + 1)));
}

/* Just below the largest size the arena accepts, but the padding for 2^40
   takes it past PTRDIFF_MAX: OVERFLOW, before any grab (a capped source
   here: on plain malloc the bad grab would be a malloc of 2^63 bytes,
   which ASan's allocator turns into an abort). */
static uintptr_t size_near_limit_plus_padding(BadCtx *c) {
    void *p;
    size_t grabs;
    bad_source_arena(c, 1024, (size_t)1 << 20, 0);
    bad_fill_arena(c, &c->a);
    grabs = c->src.grabs;
    BAD_CALL();
    p = arena_alloc_aligned(&c->a, (size_t)PTRDIFF_MAX - 65536, ((size_t)1 << (sizeof(size_t) >= 8 ? 40 : 30)));
    CHECK_EQ(c->src.grabs, grabs);
    return bad_ptr(p);
}

static uintptr_t calloc_aligned_padding_wraps(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_calloc_aligned(&c->a, 1, SIZE_MAX - 100, 4096));
}

/* A representable request larger than the cap: OOM, not OVERFLOW. */
static uintptr_t huge_request_over_cap(BadCtx *c) {
    bad_source_arena(c, 1024, (size_t)1 << 20, 0);
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_calloc(&c->a, (size_t)1 << 12, (size_t)1 << 16));   /* 256 MiB: fits 32-bit */
}

/* ==== arena: alignment ===================================================== */

static uintptr_t align_0(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_alloc_aligned(&c->a, 16, 0));
}

static uintptr_t align_3(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_alloc_aligned(&c->a, 16, 3));
}

static uintptr_t align_24(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    return bad_ptr(arena_calloc_aligned(&c->a, 2, 16, 24));
}

/* 2^40 is a valid alignment; a capped source cannot give the padding. */
static uintptr_t align_2_pow_40_capped(BadCtx *c) {
    bad_source_arena(c, 1024, (size_t)8 << 20, 0);
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_alloc_aligned(&c->a, 64, ((size_t)1 << (sizeof(size_t) >= 8 ? 40 : 30))));
}

static uintptr_t align_2_pow_40_buffer(BadCtx *c) {
    CHECK(arena_init_buffer(&c->a, bad_buf.b, sizeof bad_buf.b)); c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_alloc_aligned(&c->a, 64, ((size_t)1 << (sizeof(size_t) >= 8 ? 40 : 30))));
}

/* ==== arena: zero sizes (not failures: NULL always means failure) ======== */

/* Even on a full buffer arena. */
static uintptr_t zero_size_on_full_buffer(BadCtx *c) {
    CHECK(arena_init_buffer(&c->a, bad_buf.b, 256)); c->a_used = 1;
    bad_keep(c, arena_alloc(&c->a, 32), 32);
    while (arena_alloc(&c->a, 16)) {}
    CHECK_ERR(ARENA_ERR_OOM);
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, 0));
}

static uintptr_t zero_size_calloc_aligned(BadCtx *c) {
    bad_fill_arena(c, &c->a); c->a_used = 1;
    BAD_CALL();
    {
        void *p = arena_calloc_aligned(&c->a, 0, SIZE_MAX, 4096);
        void *q = arena_alloc_aligned(&c->a, 0, 64);
        CHECK(q != NULL);
        return bad_ptr(p);
    }
}

/* Size 0 takes nothing, at any alignment and in every build: the newest
   real allocation stays the newest and still grows in place. */
static uintptr_t zero_size_aligned_takes_nothing(BadCtx *c) {
    char *x, *y;
    void *z;
    size_t used;
    c->a_used = 1;
    x = (char *)arena_alloc(&c->a, 20);
    bad_keep(c, x, 20);
    used = bad_used(&c->a);
    BAD_CALL();
    z = arena_alloc_aligned(&c->a, 0, 256);
    CHECK_EQ(bad_used(&c->a), used);
    y = (char *)arena_realloc(&c->a, x, 20, 40);
    CHECK(y == x);
    if (y == x) c->w[0].n = 20;
    return bad_ptr(z);
}

/* ==== arena: buffers, sources, caps ======================================== */

static uintptr_t buffer_null(BadCtx *c) {
    c->a_used = 1;
    BAD_CALL();
    return (uintptr_t)arena_init_buffer(&c->a, NULL, 4096);
}

/* An arena whose buffer init failed refuses allocations (OOM), no crash. */
static uintptr_t alloc_on_failed_buffer(BadCtx *c) {
    c->a_used = 1;
    CHECK(!arena_init_buffer(&c->a, NULL, 4096));
    CHECK_ERR(ARENA_ERR_MISUSE);
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, 8));
}

static uintptr_t buffer_too_small(BadCtx *c) {
    c->a_used = 1;
    BAD_CALL();
    return (uintptr_t)arena_init_buffer(&c->a, bad_buf.b, 16);
}

static uintptr_t buffer_misaligned(BadCtx *c) {
    c->a_used = 1;
    BAD_CALL();
    return (uintptr_t)arena_init_buffer(&c->a, bad_buf.b + 1, 4096);
}

static uintptr_t buffer_full(BadCtx *c) {
    CHECK(arena_init_buffer(&c->a, bad_buf.b, 1024)); c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, 2048));
}

static uintptr_t source_null_at_first_grab(BadCtx *c) {
    bad_source_arena(c, 1024, 0, 1);
    bad_keep(c, arena_alloc(&c->b, 40), 40); c->b_used = 1;   /* another arena */
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, 100));
}

static uintptr_t source_null_mid_growth(BadCtx *c) {
    bad_source_arena(c, 1024, 0, 3);
    bad_fill_arena(c, &c->a);
    bad_keep(c, arena_alloc(&c->a, 2000), 2000);   /* second grab */
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, 3000));     /* third grab fails */
}

static uintptr_t cap_reached(BadCtx *c) {
    bad_source_arena(c, 1024, 4096, 0);
    bad_fill_arena(c, &c->a);
    bad_keep(c, arena_alloc(&c->a, 1500), 1500);
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, 3000));
}

static uintptr_t virtual_reserve_too_large(BadCtx *c) {
    c->a_used = 1;
    BAD_CALL();
    return (uintptr_t)arena_init_virtual(&c->a, SIZE_MAX);
}

static uintptr_t virtual_reservation_used_up(BadCtx *c) {
    CHECK(arena_init_virtual(&c->a, (size_t)1 << 16)); c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_alloc(&c->a, (size_t)1 << 17));
}

/* ==== arena: marks ========================================================== */

static uintptr_t rewind_foreign_mark(BadCtx *c) {
    ArenaMark m;
    c->a_used = c->b_used = 1;
    bad_fill_arena(c, &c->b);
    m = arena_mark(&c->b);
    bad_keep(c, arena_alloc(&c->b, 50), 50);
    bad_fill_arena(c, &c->a);
    return bad_rewind_to(c, m) || bad_used(&c->b) == 0;
}

/* Marks m1 and m2 above allocations, then a rewind to m1: m2, rewound
   past (stale from here on). */
static ArenaMark bad_rewound_past(BadCtx *c) {
    ArenaMark m1, m2;
    c->a_used = 1;
    bad_keep(c, arena_alloc(&c->a, 64), 64);
    m1 = arena_mark(&c->a);
    arena_alloc(&c->a, 64);
    m2 = arena_mark(&c->a);
    arena_alloc(&c->a, 64);
    arena_rewind(&c->a, m1);
    return m2;
}

/* Rewound past: the arena is below the mark now. */
static uintptr_t rewind_stale_mark(BadCtx *c) {
    return bad_rewind_to(c, bad_rewound_past(c));
}

/* Rewound past, and the arena has grown past the mark again: the mark is
   still stale and the allocation made since must survive. */
static uintptr_t rewind_stale_mark_after_regrowth(BadCtx *c) {
    ArenaMark m2 = bad_rewound_past(c);
    bad_keep(c, arena_alloc(&c->a, 300), 300);   /* straddles m2's position */
    return bad_rewind_to(c, m2);
}

static uintptr_t rewind_mark_before_reset(BadCtx *c) {
    ArenaMark m;
    c->a_used = 1;
    arena_alloc(&c->a, 100);
    m = arena_mark(&c->a);
    arena_alloc(&c->a, 100);
    arena_reset(&c->a);
    bad_fill_arena(c, &c->a);
    bad_keep(c, arena_alloc(&c->a, 200), 200);     /* past the mark again */
    return bad_rewind_to(c, m);
}

static uintptr_t rewind_mark_before_release(BadCtx *c) {
    ArenaMark m;
    c->a_used = 1;
    arena_alloc(&c->a, 100);
    m = arena_mark(&c->a);
    arena_release(&c->a);
    bad_fill_arena(c, &c->a);
    bad_keep(c, arena_alloc(&c->a, 200), 200);
    return bad_rewind_to(c, m);
}

/* Released, then initialised again (say with other options): a mark of
   the arena's earlier life is still one from before a release. */
static uintptr_t rewind_mark_before_release_and_init(BadCtx *c) {
    ArenaMark m;
    c->a_used = 1;
    arena_init(&c->a, NULL);
    arena_alloc(&c->a, 64);
    m = arena_mark(&c->a);
    arena_release(&c->a);
    arena_init(&c->a, NULL);
    bad_keep(c, arena_alloc(&c->a, 256), 256);     /* straddles m's position */
    return bad_rewind_to(c, m);
}

/* A mark made stale after an earlier temp scope, with the arena grown
   past it again. */
static ArenaMark bad_stale_mark(BadCtx *c) {
    ArenaMark m0, m2;
    c->a_used = 1;
    m0 = arena_mark(&c->a);
    arena_alloc(&c->a, 64);
    arena_rewind(&c->a, m0);                        /* an earlier temp scope */
    m2 = bad_rewound_past(c);
    bad_keep(c, arena_alloc(&c->a, 300), 300);     /* straddles m2's position */
    return m2;
}

/* Rewound past, then ordinary work (a few arena_sprintf calls) before the
   stale mark comes back: still stale. */
static uintptr_t rewind_stale_mark_after_sprintfs(BadCtx *c) {
    ArenaMark m2 = bad_stale_mark(c);
    int i;
    for (i = 0; i < 12; i++) bad_keep(c, arena_sprintf(&c->a, "line %d", i + 10), 8);
    return bad_rewind_to(c, m2);
}

static uintptr_t temp_end_without_arena(BadCtx *c) {
    ArenaTemp t;
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    memset(&t, 0, sizeof t);
    BAD_CALL();
    arena_temp_end(t);
    return 0;
}

/* ==== arena: realloc ========================================================= */

/* Not the newest: a copy (no error), the original left as it was. */
static uintptr_t realloc_not_newest_copies(BadCtx *c) {
    char *p, *q;
    c->a_used = 1;
    p = (char *)arena_alloc(&c->a, 40);
    test_fill(p, 40, 999);
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    q = (char *)arena_realloc(&c->a, p, 40, 80);
    CHECK(q != NULL && q != p);
    CHECK(q && test_holds(q, 40, 999));
    CHECK(test_holds(p, 40, 999));
    CHECK(test_is_aligned(q, ARENA_MIN_ALIGN));
    return bad_ptr(q);
}

static uintptr_t realloc_foreign_pointer(BadCtx *c) {
    void *other;
    c->a_used = c->b_used = 1;
    other = bad_keep(c, arena_alloc(&c->b, 64), 64);
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_realloc(&c->a, other, 64, 128));
}

static uintptr_t realloc_stray_pointer(BadCtx *c) {
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_realloc(&c->a, bad_buf2.b + 64, 32, 64));
}

static uintptr_t realloc_newest_to_size_max(BadCtx *c) {
    void *p;
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    p = bad_keep(c, arena_alloc(&c->a, 48), 48);
    BAD_CALL();
    return bad_ptr(arena_realloc(&c->a, p, 48, SIZE_MAX));
}

/* ==== arena: strings, defer ================================================== */

/* Does not fit a buffer arena: NULL, and the arena top is where it was. */
static uintptr_t sprintf_short_overflows_buffer(BadCtx *c) {
    size_t used;
    char *s;
    CHECK(arena_init_buffer(&c->a, bad_buf.b, 512)); c->a_used = 1;
    bad_fill_arena(c, &c->a);
    while (arena_alloc(&c->a, 16)) {}
    CHECK_ERR(ARENA_ERR_OOM);
    used = bad_used(&c->a);
    BAD_CALL();
    s = arena_sprintf(&c->a, "%s-%d", "twelve chars", 12345);
    CHECK_EQ(bad_used(&c->a), used);
    return bad_ptr(s);
}

/* Part of it fits: what was written is given back too. */
static uintptr_t sprintf_long_overflows_buffer(BadCtx *c) {
    size_t used;
    char *s;
    CHECK(arena_init_buffer(&c->a, bad_buf.b, 4096)); c->a_used = 1;
    bad_fill_arena(c, &c->a);
    used = bad_used(&c->a);
    BAD_CALL();
    s = arena_sprintf(&c->a, "%5000d|%s", 7, "end");
    CHECK_EQ(bad_used(&c->a), used);
    /* ...and the arena still works for what fits */
    if (!s) bad_keep(c, arena_sprintf(&c->a, "%d", 42), 3);
    return bad_ptr(s);
}

static uintptr_t sprintf_null_format(BadCtx *c) {
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(test_vsprintf(&c->a, NULL));
}

static uintptr_t strdup_null(BadCtx *c) {
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_strdup(&c->a, NULL));
}

static uintptr_t memdup_null(BadCtx *c) {
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_memdup(&c->a, NULL, 8));
}

static void bad_cleanup_fn(void *ctx) { (void)ctx; }

static uintptr_t defer_null_fn(BadCtx *c) {
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return (uintptr_t)arena_defer(&c->a, NULL, c);
}

static uintptr_t defer_on_full_buffer(BadCtx *c) {
    CHECK(arena_init_buffer(&c->a, bad_buf.b, 256)); c->a_used = 1;
    bad_keep(c, arena_alloc(&c->a, 16), 16);
    while (arena_alloc(&c->a, 16)) {}
    CHECK_ERR(ARENA_ERR_OOM);
    BAD_CALL();
    return (uintptr_t)arena_defer(&c->a, bad_cleanup_fn, c);
}

/* ==== arena: exact stale marks, re-entry, headers (issue 11) ================= */

/* Rewound past, then many temp scopes at rising positions (more than any
   bounded history keeps), then a cleanup registered: the stale mark is
   still refused, and the cleanup's record is not cut in two. */
static uintptr_t rewind_stale_mark_after_many_temp_scopes(BadCtx *c) {
    ArenaMark m2 = bad_stale_mark(c);
    int i;
    for (i = 0; i < 20; i++) {
        ArenaTemp t;
        bad_keep(c, arena_alloc(&c->a, 32), 32);
        t = arena_temp_begin(&c->a);
        arena_alloc(&c->a, 48);
        arena_temp_end(t);
    }
    CHECK(arena_defer(&c->a, bad_cleanup_fn, c));
    return bad_rewind_to(c, m2);
}

/* An arena zeroed again after its release (not re-initialised): a mark of
   its earlier life is refused. */
static uintptr_t rewind_mark_before_release_and_zeroing(BadCtx *c) {
    ArenaMark m;
    c->a_used = 1;
    arena_reset(&c->a);                            /* a few cycles */
    arena_alloc(&c->a, 64);
    m = arena_mark(&c->a);
    arena_release(&c->a);
    memset(&c->a, 0, sizeof c->a);
    arena_alloc(&c->a, 256);                       /* straddles m's position */
    arena_reset(&c->a);
    bad_keep(c, arena_alloc(&c->a, 256), 256);
    return bad_rewind_to(c, m);
}

/* A cleanup that resets (or rewinds, or releases) its own arena while the
   arena runs it: refused, and the outer call completes. */
typedef struct BadReentry {
    Arena *a;
    ArenaMark m;
    int what;   /* 0 reset, 1 rewind, 2 release, 3 allocate */
} BadReentry;

static BadReentry bad_reentry;

static void bad_reentrant_cleanup(void *ctx) {
    BadReentry *r = (BadReentry *)ctx;
    if (r->what == 0) arena_reset(r->a);
    else if (r->what == 1) arena_rewind(r->a, r->m);
    else if (r->what == 2) arena_release(r->a);
    else CHECK(arena_alloc(r->a, 16) == NULL);
}

/* A cleanup above a mark beyond the first block does `what` to its arena
   during the rewind to that mark. */
static uintptr_t bad_cleanup_calls_back(BadCtx *c, int what) {
    ArenaMark m;
    size_t at;
    bad_source_arena(c, 512, 0, 0);
    bad_fill_arena(c, &c->a);
    bad_keep(c, arena_alloc(&c->a, 2000), 2000);   /* beyond the first block */
    m = arena_mark(&c->a);
    at = bad_used(&c->a);
    bad_reentry.a = &c->a;
    bad_reentry.m = arena_mark(&c->a);
    bad_reentry.what = what;
    arena_alloc(&c->a, 100);
    CHECK(arena_defer(&c->a, bad_reentrant_cleanup, &bad_reentry));
    arena_alloc(&c->a, 3000);
    BAD_CALL();
    arena_rewind(&c->a, m);
    if (bad_used(&c->a) != at) return 1;
    bad_keep(c, arena_alloc(&c->a, 5000), 5000);   /* the arena still works */
    return 0;
}

static uintptr_t cleanup_resets_own_arena(BadCtx *c) { return bad_cleanup_calls_back(c, 0); }
static uintptr_t cleanup_rewinds_own_arena(BadCtx *c) { return bad_cleanup_calls_back(c, 1); }
static uintptr_t cleanup_allocates_from_own_arena(BadCtx *c) { return bad_cleanup_calls_back(c, 3); }

/* arena_release runs a cleanup that releases the arena again. */
static uintptr_t cleanup_releases_own_arena(BadCtx *c) {
    bad_source_arena(c, 512, 0, 0);
    arena_alloc(&c->a, 3000);
    bad_reentry.a = &c->a;
    bad_reentry.what = 2;
    CHECK(arena_defer(&c->a, bad_reentrant_cleanup, &bad_reentry));
    arena_alloc(&c->a, 3000);
    BAD_CALL();
    arena_release(&c->a);
    return c->src.live != 0;
}

/* An error handler that "drops the frame" (resets the arena) when a call
   on it fails: the reset is refused (the one handler call the table sees;
   the failure that caused it is passed to the arena's own log), the failing
   call returns its failure value and the arena is as it was. */
static int bad_handler_failures;

static void bad_resetting_handler(ArenaError err, const char *msg, void *ctx) {
    if (err != ARENA_ERR_MISUSE) {
        bad_handler_failures++;
        arena_reset((Arena *)ctx);
        return;
    }
    test_err.calls++;
    test_err.last = err;
    snprintf(test_err.msg, sizeof test_err.msg, "%s", msg);
}

static void bad_full_buffer(BadCtx *c, size_t size) {
    CHECK(arena_init_buffer(&c->a, bad_buf.b, size)); c->a_used = 1;
    bad_fill_arena(c, &c->a);
    bad_keep(c, arena_alloc(&c->a, 400), 400);
    bad_handler_failures = 0;
}

static uintptr_t handler_resets_during_sprintf(BadCtx *c) {
    size_t used;
    char *s;
    bad_full_buffer(c, 2048);
    used = bad_used(&c->a);
    BAD_CALL();
    arena_set_error_handler(bad_resetting_handler, &c->a);
    s = test_vsprintf(&c->a, "%0*d|%f", 3000, 7, 1.5);   /* stb_sprintf's path, too long */
    CHECK_EQ(bad_handler_failures, 1);
    CHECK_EQ(bad_used(&c->a), used);
    return bad_ptr(s);
}

static uintptr_t handler_resets_during_failing_alloc(BadCtx *c) {
    size_t used;
    void *p;
    bad_full_buffer(c, 2048);
    used = bad_used(&c->a);
    BAD_CALL();
    arena_set_error_handler(bad_resetting_handler, &c->a);
    p = arena_alloc(&c->a, 4096);
    CHECK_EQ(bad_handler_failures, 1);
    CHECK_EQ(bad_used(&c->a), used);
    return bad_ptr(p);
}

static uintptr_t handler_resets_during_stack_push(BadCtx *c) {
    void *p;
    CHECK(arena_stack_init_buffer(&c->s, bad_buf.b, 2048)); c->s_used = 1;
    bad_keep(c, arena_stack_push(&c->s, 1500), 1500);
    bad_handler_failures = 0;
    BAD_CALL();
    arena_set_error_handler(bad_resetting_handler, &c->s.arena);
    p = arena_stack_push(&c->s, 1000);
    CHECK_EQ(bad_handler_failures, 1);
    CHECK_EQ(c->s.depth, (size_t)1);
    return bad_ptr(p);
}

#if !ARENA__ASAN && !defined(ARENA_VALGRIND)
/* 16 bytes written just before a block's first allocation (the header):
   the arena notices at its next use of the block and never hands out
   from it (under sanitizers the write itself is reported: tests/caught). */
static uintptr_t block_header_underflow(BadCtx *c) {
    unsigned char *p, *q;
    int overlap;
    bad_source_arena(c, 4096, 0, 0);
    p = (unsigned char *)arena_alloc(&c->a, 64);
    memset(p - 16, 0x41, 16);   /* the checked part of the header */
    arena_alloc(&c->a, 3000);
    arena_alloc(&c->a, 3000);                     /* a second block */
    BAD_CALL();
    arena_reset(&c->a);
    q = (unsigned char *)arena_alloc(&c->a, 100000);
    overlap = q && q < p + 4096 && q + 100000 > p - 64;
    /* The arena let go of the block whose header it found broken (its
       size cannot be trusted): a leak by design, which the test gives back
       itself once the arena has dropped the others. */
    arena_release(&c->a);
    {
        ArenaSource src = test_source(&c->src);
        while (c->src.live) src.drop(src.ctx, c->src.blocks[0].p, c->src.blocks[0].size);
    }
    return (uintptr_t)overlap;
}
#endif

/* ==== arena: arrays ========================================================== */

static uintptr_t array_pop_empty(BadCtx *c) {
    ArenaArray(int) arr;
    memset(&arr, 0, sizeof arr);
    c->a_used = 1;
    CHECK(arena_array_push(&c->a, &arr, 5));
    CHECK(arena_array_pop(&arr));
    BAD_CALL();
    if (arena_array_pop(&arr)) return 1;
    CHECK_EQ(arr.count, (size_t)0);
    return 0;
}

#if ARENA__CHECKED
/* An array made before a temp scope and grown inside it: arena_temp_end
   frees its new storage, and checked builds refuse the next push. */
static uintptr_t array_grown_in_an_ended_temp_scope(BadCtx *c) {
    ArenaArray(int) arr;
    ArenaTemp t;
    int i;
    memset(&arr, 0, sizeof arr);
    c->a_used = 1;
    CHECK(arena_array_push(&c->a, &arr, 1));
    t = arena_temp_begin(&c->a);
    CHECK(arena_alloc(&c->a, 32) != NULL);   /* the array is not the newest: it moves */
    for (i = 0; i < 100; i++) CHECK(arena_array_push(&c->a, &arr, i));
    arena_temp_end(t);
    BAD_CALL();
    return arena_array_push(&c->a, &arr, 7) ? 1 : 0;
}
#endif

/* Elements of size 0 (a GNU C empty struct; called directly here, as the
   macros would): no division by zero, a non-NULL array. */
static uintptr_t array_zero_size_element(BadCtx *c) {
    void *items = NULL;
    size_t cap = 0;
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    CHECK(arena__array_grow(&c->a, &items, &cap, 0, 3, 0, 1));
    CHECK(cap >= 3);
    return bad_ptr(items);
}

/* ==== arena: realloc of what was never an allocation ========================== */

static uintptr_t realloc_misaligned_interior_pointer(BadCtx *c) {
    char *p;
    c->a_used = 1;
    p = (char *)bad_keep(c, arena_alloc(&c->a, 64), 64);
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_realloc(&c->a, p + 3, 16, 100));
}

static uintptr_t realloc_foreign_pointer_size_0(BadCtx *c) {
    void *other;
    c->a_used = c->b_used = 1;
    other = bad_keep(c, arena_alloc(&c->b, 64), 64);
    bad_fill_arena(c, &c->a);
    BAD_CALL();
    return bad_ptr(arena_realloc(&c->a, other, 0, 128));
}

#if ARENA__CHECKED
/* An old_size that reaches over the next allocation: in place, that would
   overwrite it (checked builds see it; README: release builds cannot). */
static uintptr_t realloc_wrong_old_size(BadCtx *c) {
    char *p, *q;
    c->a_used = 1;
    bad_fill_arena(c, &c->a);
    p = (char *)bad_keep(c, arena_alloc(&c->a, 16), 16);
    q = (char *)bad_keep(c, arena_alloc(&c->a, 16), 16);
    BAD_CALL();
    return bad_ptr(arena_realloc(&c->a, p, (size_t)(q - p) + 16, 200));
}
#endif


/* ==== arena: used after release (not a failure: works as a fresh arena) === */

static uintptr_t use_after_release(BadCtx *c) {
    ArenaStats st;
    char *s;
    bad_source_arena(c, 512, 0, 0);
    arena_alloc(&c->a, 300);
    arena_alloc(&c->a, 3000);
    arena_release(&c->a);
    CHECK_EQ(c->src.live, (size_t)0);
    BAD_CALL();
    bad_fill_arena(c, &c->a);
    s = arena_sprintf(&c->a, "again %d", 2);
    CHECK(s && strcmp(s, "again 2") == 0);
    st = arena_stats(&c->a);
    CHECK(st.block_count >= 1);
    CHECK_EQ(st.bytes_held, c->src.bytes_out);
    return bad_ptr(s);
}

static uintptr_t buffer_use_after_release(BadCtx *c) {
    void *p;
    CHECK(arena_init_buffer(&c->a, bad_buf.b, 2048)); c->a_used = 1;
    arena_alloc(&c->a, 1000);
    arena_release(&c->a);
    BAD_CALL();
    p = arena_alloc(&c->a, 1500);   /* the whole buffer is there again */
    bad_keep(c, p, 1500);
    CHECK(p == NULL || ((unsigned char *)p >= bad_buf.b && (unsigned char *)p + 1500 <= bad_buf.b + 2048));
    return bad_ptr(p);
}

/* A buffer that an earlier buffer arena used (and released) is the
   caller's again: another arena may start anywhere in it. */
static uintptr_t buffer_reused_at_another_offset(BadCtx *c) {
    Arena first;
    bool ok;
    c->a_used = 1;
    CHECK(arena_init_buffer(&first, bad_buf3.b, 8192));
    arena_alloc(&first, 1000);
    arena_release(&first);
    BAD_CALL();
    ok = arena_init_buffer(&c->a, bad_buf3.b + 64, 4096);
    if (ok) bad_keep(c, arena_alloc(&c->a, 100), 100);
    return (uintptr_t)ok;
}

/* Same for a buffer pool: after pool_release all memory is given back, so
   the caller may use its buffer for something else. */
static uintptr_t pool_buffer_reused_after_release(BadCtx *c) {
    Pool first;
    int free_again = 1;
    CHECK(pool_init_buffer(&first, 32, 8, bad_buf3.b, 8192));
    CHECK(pool_alloc(&first) != NULL);
    pool_release(&first);
    BAD_CALL();
#if ARENA__ASAN
    free_again = !__asan_region_is_poisoned(bad_buf3.b, 8192);
#endif
    if (free_again) bad_keep(c, bad_buf3.b, 8192);   /* fills it: memcheck would object */
    return (uintptr_t)free_again;
}

/* A virtual arena gives its reservation back whole: no poison may be left
   on that address range for whoever maps it next (an ASan check on the
   shadow only; nothing is accessed). Reset trims pages the last cycle did
   not use, so two cycles of different peaks come first. */
static uintptr_t virtual_release_leaves_no_poison(BadCtx *c) {
    void *base;
    size_t n = (size_t)1 << 20;
    int clean = 1;
    c->a_used = 1;
    CHECK(arena_init_virtual(&c->a, n));
    CHECK(arena_alloc(&c->a, 600 << 10) != NULL);
    CHECK(arena_alloc(&c->a, 300 << 10) != NULL);
    arena_reset(&c->a);
    CHECK(arena_alloc(&c->a, 100) != NULL);
    arena_reset(&c->a);
    base = c->a.block;
    BAD_CALL();
    arena_release(&c->a);
#if ARENA__ASAN
    clean = base && !__asan_region_is_poisoned(base, n);
#endif
    (void)base;
    return (uintptr_t)clean;
}

/* ==== stack ================================================================== */

static uintptr_t stack_pop_out_of_order(BadCtx *c) {
    void *x, *y;
    c->s_used = 1;
    x = bad_keep(c, arena_stack_push(&c->s, 32), 32);
    y = bad_keep(c, arena_stack_push(&c->s, 32), 32);
    (void)y;
    BAD_CALL();
    {
        bool r = arena_stack_pop(&c->s, x);
        CHECK_EQ(c->s.depth, (size_t)2);
        return (uintptr_t)r;
    }
}

static uintptr_t stack_pop_empty(BadCtx *c) {
    void *x;
    c->s_used = 1;
    x = arena_stack_push(&c->s, 32);
    CHECK(arena_stack_pop(&c->s, x));
    bad_keep(c, arena_alloc(&c->a, 16), 16); c->a_used = 1;
    BAD_CALL();
    return (uintptr_t)arena_stack_pop(&c->s, x);
}

static uintptr_t stack_pop_twice(BadCtx *c) {
    void *x, *y;
    c->s_used = 1;
    x = bad_keep(c, arena_stack_push(&c->s, 40), 40);
    y = arena_stack_push(&c->s, 40);
    CHECK(arena_stack_pop(&c->s, y));
    BAD_CALL();
    {
        bool r = arena_stack_pop(&c->s, y);
        CHECK_EQ(c->s.depth, (size_t)1);
        CHECK(c->s.top == x);
        return (uintptr_t)r;
    }
}

static uintptr_t stack_pop_stray(BadCtx *c) {
    c->s_used = 1;
    bad_keep(c, arena_stack_push(&c->s, 40), 40);
    BAD_CALL();
    return (uintptr_t)arena_stack_pop(&c->s, bad_buf2.b);
}

static uintptr_t stack_push_size_max(BadCtx *c) {
    size_t used;
    c->s_used = 1;
    bad_keep(c, arena_stack_push(&c->s, 40), 40);
    used = bad_used(&c->s.arena);
    BAD_CALL();
    {
        void *p = arena_stack_push(&c->s, SIZE_MAX);
        CHECK_EQ(c->s.depth, (size_t)1);
        CHECK_EQ(bad_used(&c->s.arena), used);
        return bad_ptr(p);
    }
}

static uintptr_t stack_push_align_3(BadCtx *c) {
    size_t used;
    c->s_used = 1;
    bad_keep(c, arena_stack_push(&c->s, 40), 40);
    used = bad_used(&c->s.arena);
    BAD_CALL();
    {
        void *p = arena_stack_push_aligned(&c->s, 8, 3);
        CHECK_EQ(c->s.depth, (size_t)1);
        CHECK_EQ(bad_used(&c->s.arena), used);
        return bad_ptr(p);
    }
}

static uintptr_t stack_buffer_full(BadCtx *c) {
    c->s_used = 1;
    CHECK(arena_stack_init_buffer(&c->s, bad_buf.b, 1024));
    bad_keep(c, arena_stack_push(&c->s, 200), 200);
    BAD_CALL();
    {
        void *p = arena_stack_push(&c->s, 2000);
        CHECK_EQ(c->s.depth, (size_t)1);
        return bad_ptr(p);
    }
}

static uintptr_t stack_buffer_null(BadCtx *c) {
    c->s_used = 1;
    BAD_CALL();
    return (uintptr_t)arena_stack_init_buffer(&c->s, NULL, 1024);
}

/* The alignment is checked before anything is allocated: a stack with no
   room left still reports ALIGN (not OOM), and an empty one grabs nothing. */
static uintptr_t stack_bad_align_on_full_buffer(BadCtx *c) {
    c->s_used = 1;
    CHECK(arena_stack_init_buffer(&c->s, bad_buf.b, 512));
    bad_keep(c, arena_stack_push(&c->s, 64), 64);
    while (arena_stack_push(&c->s, 0)) {}
    CHECK_ERR(ARENA_ERR_OOM);
    BAD_CALL();
    return bad_ptr(arena_stack_push_aligned(&c->s, 8, 24));
}

static uintptr_t stack_bad_align_grabs_nothing(BadCtx *c) {
    ArenaOptions o = bad_opts();
    void *p;
    test_source_init(&c->src);
    c->src_used = c->s_used = 1;
    o.source = test_source(&c->src);
    arena_stack_init(&c->s, &o);
    BAD_CALL();
    p = arena_stack_push_aligned(&c->s, 8, 3);
    CHECK_EQ(c->src.grabs, (size_t)0);
    return bad_ptr(p);
}

static uintptr_t stack_size_max_grabs_nothing(BadCtx *c) {
    ArenaOptions o = bad_opts();
    void *p;
    test_source_init(&c->src);
    c->src_used = c->s_used = 1;
    o.source = test_source(&c->src);
    arena_stack_init(&c->s, &o);
    BAD_CALL();
    p = arena_stack_push(&c->s, SIZE_MAX);
    CHECK_EQ(c->src.grabs, (size_t)0);
    return bad_ptr(p);
}

/* A stack whose buffer init failed has no room at all: still OVERFLOW. */
static uintptr_t stack_size_max_without_room(BadCtx *c) {
    c->s_used = 1;
    CHECK(!arena_stack_init_buffer(&c->s, NULL, 1024));
    CHECK_ERR(ARENA_ERR_MISUSE);
    BAD_CALL();
    return bad_ptr(arena_stack_push(&c->s, SIZE_MAX));
}

/* Size 0: a distinct non-NULL pointer that pops like any other. */
static uintptr_t stack_push_zero(BadCtx *c) {
    void *x, *y;
    c->s_used = 1;
    x = bad_keep(c, arena_stack_push(&c->s, 16), 16);
    BAD_CALL();
    y = arena_stack_push(&c->s, 0);
    CHECK(y != NULL && y != x);
    CHECK(arena_stack_pop(&c->s, y));
    return bad_ptr(y);
}

/* ==== pool: frees ============================================================ */

static void bad_pool(BadCtx *c, Pool *p, size_t size) {
    pool_init(p, size, 8);
    if (p == &c->p) c->p_used = 1;
    else c->q_used = 1;
}

static uintptr_t pool_double_free(BadCtx *c) {
    void *x;
    bad_pool(c, &c->p, 48);
    bad_fill_pool(c, &c->p, 3);
    x = pool_alloc(&c->p);
    bad_fill_pool(c, &c->p, 2);
    CHECK(pool_free(&c->p, x));
    BAD_CALL();
    {
        bool r = pool_free(&c->p, x);
        CHECK_EQ(pool_stats(&c->p).live, (size_t)5);
        return (uintptr_t)r;
    }
}

static uintptr_t pool_foreign_free(BadCtx *c) {
    void *y;
    bad_pool(c, &c->p, 48);
    bad_pool(c, &c->q, 48);
    bad_fill_pool(c, &c->p, 3);
    y = bad_keep(c, pool_alloc(&c->q), 48);
    BAD_CALL();
    {
        bool r = pool_free(&c->p, y);
        CHECK(pool_owns(&c->q, y));
        return (uintptr_t)r;
    }
}

static uintptr_t pool_interior_free(BadCtx *c) {
    char *x;
    bad_pool(c, &c->p, 48);
    bad_fill_pool(c, &c->p, 2);
    x = (char *)bad_keep(c, pool_alloc(&c->p), 48);
    BAD_CALL();
    {
        bool r = pool_free(&c->p, x + 8);
        CHECK(pool_owns(&c->p, x));
        return (uintptr_t)r;
    }
}

static uintptr_t pool_stray_free(BadCtx *c) {
    bad_pool(c, &c->p, 48);
    bad_fill_pool(c, &c->p, 3);
    BAD_CALL();
    return (uintptr_t)pool_free(&c->p, bad_buf2.b + 128);
}

/* A stray pointer near address zero (a small integer cast to a pointer, a
   field of a NULL struct): refused like any other, not dereferenced. */
static volatile uintptr_t bad_low_address = 64;   /* opaque to the optimiser */

static uintptr_t pool_stray_free_low_address(BadCtx *c) {
    bad_pool(c, &c->p, 48);
    bad_fill_pool(c, &c->p, 3);
    BAD_CALL();
    return (uintptr_t)pool_free(&c->p, (void *)bad_low_address);
}

/* NULL is a no-op (not a failure): true, no error, in every build. */
static uintptr_t pool_free_null(BadCtx *c) {
    bad_pool(c, &c->p, 48);
    bad_fill_pool(c, &c->p, 3);
    BAD_CALL();
    return (uintptr_t)pool_free(&c->p, NULL);
}

static uintptr_t pool_free_after_reset(BadCtx *c) {
    void *x, *y;
    bad_pool(c, &c->p, 48);
    x = pool_alloc(&c->p);
    y = pool_alloc(&c->p);
    pool_reset(&c->p);
    CHECK(bad_keep(c, pool_alloc(&c->p), 48) == x);   /* slot 0 again */
    BAD_CALL();
    return (uintptr_t)pool_free(&c->p, y);
}

static uintptr_t pool_free_after_release(BadCtx *c) {
    void *x;
    bad_pool(c, &c->p, 48);
    x = pool_alloc(&c->p);
    pool_release(&c->p);
    BAD_CALL();
    return (uintptr_t)pool_free(&c->p, x);
}

/* ==== pool: handles ========================================================== */

/* The bad call of the handle rows: h resolves to nothing in p, and
   freeing it is refused. */
static uintptr_t bad_free_dead_handle(Pool *p, PoolHandle h) {
    CHECK(pool_get(p, h) == NULL);
    BAD_CALL();
    return (uintptr_t)pool_free_handle(p, h);
}

static uintptr_t handle_stale(BadCtx *c) {
    PoolHandle h;
    bad_pool(c, &c->p, 32);
    bad_fill_pool(c, &c->p, 2);
    h = pool_alloc_handle(&c->p);
    CHECK(pool_free_handle(&c->p, h));
    return bad_free_dead_handle(&c->p, h);
}

/* The slot is live again under a new handle: the old one stays dead. */
static uintptr_t handle_stale_slot_reused(BadCtx *c) {
    PoolHandle h, h2;
    void *x, *y;
    bad_pool(c, &c->p, 32);
    h = pool_alloc_handle(&c->p);
    x = pool_get(&c->p, h);
    CHECK(pool_free(&c->p, x));
    h2 = pool_alloc_handle(&c->p);
    y = bad_keep(c, pool_get(&c->p, h2), 32);
    CHECK(y == x);               /* LIFO free list: the same slot */
    CHECK(pool_get(&c->p, h) == NULL);
    BAD_CALL();
    {
        bool r = pool_free_handle(&c->p, h);
        CHECK(pool_get(&c->p, h2) == y);
        return (uintptr_t)r;
    }
}

static uintptr_t handle_null(BadCtx *c) {
    PoolHandle h;
    bad_pool(c, &c->p, 32);
    bad_fill_pool(c, &c->p, 2);
    memset(&h, 0, sizeof h);
    return bad_free_dead_handle(&c->p, h);
}

static uintptr_t handle_foreign(BadCtx *c) {
    PoolHandle h;
    bad_pool(c, &c->p, 32);
    bad_pool(c, &c->q, 32);
    bad_fill_pool(c, &c->p, 2);
    h = pool_alloc_handle(&c->q);
    bad_keep(c, pool_get(&c->q, h), 32);
    return bad_free_dead_handle(&c->p, h);
}

static uintptr_t handle_after_reset(BadCtx *c) {
    PoolHandle h;
    bad_pool(c, &c->p, 32);
    h = pool_alloc_handle(&c->p);
    pool_reset(&c->p);
    bad_fill_pool(c, &c->p, 2);   /* slot 0 is live again */
    return bad_free_dead_handle(&c->p, h);
}

static uintptr_t handle_of_stray(BadCtx *c) {
    bad_pool(c, &c->p, 32);
    bad_fill_pool(c, &c->p, 2);
    BAD_CALL();
    return bad_handle(pool_handle_of(&c->p, bad_buf2.b + 32));
}

/* ==== pool: init, buffers, sources ========================================== */

static uintptr_t pool_align_0(BadCtx *c) {
    c->p_used = 1;
    BAD_CALL();
    pool_init(&c->p, 32, 0);
    return pool_stats(&c->p).capacity;
}

static uintptr_t pool_align_3(BadCtx *c) {
    c->p_used = 1;
    BAD_CALL();
    pool_init(&c->p, 32, 3);
    return pool_stats(&c->p).capacity;
}

static uintptr_t pool_align_24(BadCtx *c) {
    c->p_used = 1;
    BAD_CALL();
    pool_init(&c->p, 48, 24);
    return pool_stats(&c->p).capacity;
}

/* Slot offsets are 32-bit: objects (or alignments) above 128 MiB cannot be
   represented in a pool. */
static uintptr_t pool_align_2_pow_40(BadCtx *c) {
    c->p_used = 1;
    BAD_CALL();
    pool_init(&c->p, 32, ((size_t)1 << (sizeof(size_t) >= 8 ? 40 : 30)));
    return pool_stats(&c->p).capacity;
}

static uintptr_t pool_size_max(BadCtx *c) {
    c->p_used = 1;
    BAD_CALL();
    pool_init(&c->p, SIZE_MAX, 8);
    return pool_stats(&c->p).capacity;
}

/* A pool whose init failed refuses every allocation (MISUSE), no crash. */
static uintptr_t pool_alloc_after_failed_init(BadCtx *c) {
    c->p_used = 1;
    pool_init(&c->p, 32, 3);
    CHECK_ERR(ARENA_ERR_ALIGN);
    BAD_CALL();
    return bad_ptr(pool_alloc(&c->p));
}

/* Size 0 is a 1-byte object: non-NULL, distinct. */
static uintptr_t pool_size_zero(BadCtx *c) {
    void *x, *y;
    c->p_used = 1;
    pool_init(&c->p, 0, 1);
    BAD_CALL();
    x = pool_alloc(&c->p);
    y = bad_keep(c, pool_alloc(&c->p), 1);
    CHECK(x != NULL && x != y);
    return bad_ptr(x);
}

static uintptr_t pool_buffer_null(BadCtx *c) {
    c->p_used = 1;
    BAD_CALL();
    return (uintptr_t)pool_init_buffer(&c->p, 32, 8, NULL, 4096);
}

static uintptr_t pool_buffer_too_small(BadCtx *c) {
    c->p_used = 1;
    BAD_CALL();
    return (uintptr_t)pool_init_buffer(&c->p, 32, 8, bad_buf.b, 39);   /* 40: a header and one object */
}

static uintptr_t pool_buffer_misaligned(BadCtx *c) {
    c->p_used = 1;
    BAD_CALL();
    return (uintptr_t)pool_init_buffer(&c->p, 32, 8, bad_buf.b + 3, 8192);
}

static uintptr_t pool_buffer_full(BadCtx *c) {
    size_t i, cap;
    c->p_used = 1;
    CHECK(pool_init_buffer(&c->p, 64, 16, bad_buf.b, 4096));
    cap = pool_stats(&c->p).capacity;
    CHECK(cap >= 1);
    for (i = 0; i < cap; i++) bad_keep(c, pool_alloc(&c->p), 64);
    BAD_CALL();
    return bad_ptr(pool_alloc(&c->p));
}

static uintptr_t pool_source_null_at_first_grab(BadCtx *c) {
    bad_source_pool(c, 64, 0, 1);
    bad_keep(c, arena_alloc(&c->a, 40), 40); c->a_used = 1;
    BAD_CALL();
    return bad_handle(pool_alloc_handle(&c->p));
}

/* Fills the pool until it must grow again; the second grab fails. */
static uintptr_t pool_source_null_mid_growth(BadCtx *c) {
    void *x;
    bad_source_pool(c, 4096, 0, 4);   /* directory, table, block; then a block */
    BAD_CALL();
    while ((x = pool_alloc(&c->p)) != NULL) bad_keep(c, x, 4096);
    CHECK_EQ(c->src.grabs, (size_t)4);
    CHECK_EQ(c->src.failed, (size_t)1);
    CHECK(pool_stats(&c->p).live > 8);
    return bad_ptr(x);
}

/* Fills the pool until the cap stops it. */
static uintptr_t pool_cap_reached(BadCtx *c) {
    void *x;
    bad_source_pool(c, 1000, (size_t)256 << 10, 0);
    BAD_CALL();
    while ((x = pool_alloc(&c->p)) != NULL) bad_keep(c, x, 1000);
    CHECK(pool_stats(&c->p).live > 100);
    CHECK(pool_stats(&c->p).bytes_held <= (size_t)256 << 10);
    CHECK_EQ(c->src.failed, (size_t)0);
    return bad_ptr(x);
}

static void bad_each_fn(void *obj, void *ctx) { (void)obj; (void)ctx; }

static uintptr_t pool_each_null_fn(BadCtx *c) {
    bad_pool(c, &c->p, 32);
    bad_fill_pool(c, &c->p, 2);
    BAD_CALL();
    pool_each(&c->p, NULL, NULL);
    pool_each(&c->p, bad_each_fn, NULL);   /* the real one still works */
    return 0;
}

/* ==== the table ============================================================== */

typedef struct BadCase {
    const char *name;
    uintptr_t (*fn)(BadCtx *c);
    ArenaError err;     /* ARENA_OK: not a failure (no handler call, value != 0) */
} BadCase;

static const BadCase bad_cases[] = {
    /* arena: sizes */
    { "calloc count*size overflow", calloc_count_overflow, ARENA_ERR_OVERFLOW },
    { "arena_new_array overflow", new_array_overflow, ARENA_ERR_OVERFLOW },
    { "alloc SIZE_MAX", alloc_size_max, ARENA_ERR_OVERFLOW },
    { "alloc SIZE_MAX-5 (rounding wraps)", alloc_near_size_max, ARENA_ERR_OVERFLOW },
    { "alloc PTRDIFF_MAX+1", alloc_above_ptrdiff_max, ARENA_ERR_OVERFLOW },
    { "alloc PTRDIFF_MAX", alloc_ptrdiff_max, ARENA_ERR_OVERFLOW },
    { "size + alignment padding > PTRDIFF_MAX", size_plus_padding_wraps, ARENA_ERR_OVERFLOW },
    { "alignment 2^63", align_2_pow_63, ARENA_ERR_OVERFLOW },
    { "calloc_aligned padding wraps", calloc_aligned_padding_wraps, ARENA_ERR_OVERFLOW },
    { "size near the limit + padding 2^40", size_near_limit_plus_padding, ARENA_ERR_OVERFLOW },
    { "representable request above the cap", huge_request_over_cap, ARENA_ERR_OOM },
    /* arena: alignment */
    { "alignment 0", align_0, ARENA_ERR_ALIGN },
    { "alignment 3", align_3, ARENA_ERR_ALIGN },
    { "alignment 24", align_24, ARENA_ERR_ALIGN },
    { "alignment 2^40, capped source", align_2_pow_40_capped, ARENA_ERR_OOM },
    { "alignment 2^40, buffer", align_2_pow_40_buffer, ARENA_ERR_OOM },
    /* arena: zero sizes */
    { "size 0 on a full buffer is non-NULL", zero_size_on_full_buffer, ARENA_OK },
    { "calloc_aligned 0 x SIZE_MAX is non-NULL", zero_size_calloc_aligned, ARENA_OK },
    { "alloc_aligned size 0 takes nothing", zero_size_aligned_takes_nothing, ARENA_OK },
    /* arena: buffers, sources, caps */
    { "arena_init_buffer NULL", buffer_null, ARENA_ERR_MISUSE },
    { "alloc after a failed arena_init_buffer", alloc_on_failed_buffer, ARENA_ERR_OOM },
    { "arena_init_buffer too small", buffer_too_small, ARENA_ERR_OOM },
    { "arena_init_buffer misaligned", buffer_misaligned, ARENA_ERR_ALIGN },
    { "buffer arena full", buffer_full, ARENA_ERR_OOM },
    { "source NULL at the first grab", source_null_at_first_grab, ARENA_ERR_OOM },
    { "source NULL mid-growth", source_null_mid_growth, ARENA_ERR_OOM },
    { "max_bytes cap reached", cap_reached, ARENA_ERR_OOM },
    { "virtual reserve SIZE_MAX", virtual_reserve_too_large, ARENA_ERR_OVERFLOW },
    { "virtual reservation used up", virtual_reservation_used_up, ARENA_ERR_OOM },
    /* arena: marks */
    { "rewind to another arena's mark", rewind_foreign_mark, ARENA_ERR_MISUSE },
    { "rewind to a stale mark", rewind_stale_mark, ARENA_ERR_MISUSE },
    { "rewind to a stale mark after regrowth", rewind_stale_mark_after_regrowth, ARENA_ERR_MISUSE },
    { "rewind to a mark from before reset", rewind_mark_before_reset, ARENA_ERR_MISUSE },
    { "rewind to a mark from before release", rewind_mark_before_release, ARENA_ERR_MISUSE },
    { "rewind to a mark from before release + init", rewind_mark_before_release_and_init, ARENA_ERR_MISUSE },
    { "rewind to a stale mark after some sprintfs", rewind_stale_mark_after_sprintfs, ARENA_ERR_MISUSE },
    { "temp_end of a temp with no arena", temp_end_without_arena, ARENA_ERR_MISUSE },
    { "rewind to a stale mark after many temp scopes", rewind_stale_mark_after_many_temp_scopes, ARENA_ERR_MISUSE },
    { "rewind to a mark from before release + zeroing", rewind_mark_before_release_and_zeroing, ARENA_ERR_MISUSE },
    /* arena: calls back from cleanups and error handlers */
    { "cleanup resets its own arena", cleanup_resets_own_arena, ARENA_ERR_MISUSE },
    { "cleanup rewinds its own arena", cleanup_rewinds_own_arena, ARENA_ERR_MISUSE },
    { "cleanup allocates from its own arena", cleanup_allocates_from_own_arena, ARENA_ERR_MISUSE },
    { "cleanup releases its own arena", cleanup_releases_own_arena, ARENA_ERR_MISUSE },
    { "handler resets the arena during sprintf", handler_resets_during_sprintf, ARENA_ERR_MISUSE },
    { "handler resets the arena during a failing alloc", handler_resets_during_failing_alloc, ARENA_ERR_MISUSE },
    { "handler resets the stack during a push", handler_resets_during_stack_push, ARENA_ERR_MISUSE },
#if !ARENA__ASAN && !defined(ARENA_VALGRIND)
    { "write before a block's first allocation", block_header_underflow, ARENA_ERR_MISUSE },
#endif
    /* arena: arrays */
    { "array pop on an empty array", array_pop_empty, ARENA_ERR_MISUSE },
    { "array of zero-size elements", array_zero_size_element, ARENA_OK },
#if ARENA__CHECKED
    { "array grown in a temp scope, pushed after it", array_grown_in_an_ended_temp_scope, ARENA_ERR_MISUSE },
#endif
    /* arena: realloc */
    { "realloc of an older pointer copies", realloc_not_newest_copies, ARENA_OK },
    { "realloc of another arena's pointer", realloc_foreign_pointer, ARENA_ERR_MISUSE },
    { "realloc of a stray pointer", realloc_stray_pointer, ARENA_ERR_MISUSE },
    { "realloc of the newest to SIZE_MAX", realloc_newest_to_size_max, ARENA_ERR_OVERFLOW },
    { "realloc of a misaligned interior pointer", realloc_misaligned_interior_pointer, ARENA_ERR_MISUSE },
    { "realloc of another arena's pointer, old size 0", realloc_foreign_pointer_size_0, ARENA_ERR_MISUSE },
#if ARENA__CHECKED
    { "realloc with an old size over the next allocation", realloc_wrong_old_size, ARENA_ERR_MISUSE },
#endif
    /* arena: strings, defer, release */
    { "sprintf does not fit a full buffer", sprintf_short_overflows_buffer, ARENA_ERR_OOM },
    { "sprintf partly fits a buffer", sprintf_long_overflows_buffer, ARENA_ERR_OOM },
    { "sprintf NULL format", sprintf_null_format, ARENA_ERR_MISUSE },
    { "strdup NULL", strdup_null, ARENA_ERR_MISUSE },
    { "memdup NULL", memdup_null, ARENA_ERR_MISUSE },
    { "defer NULL function", defer_null_fn, ARENA_ERR_MISUSE },
    { "defer on a full buffer", defer_on_full_buffer, ARENA_ERR_OOM },
    { "arena used after release works", use_after_release, ARENA_OK },
    { "buffer arena used after release works", buffer_use_after_release, ARENA_OK },
    /* stack */
    { "stack pop out of order", stack_pop_out_of_order, ARENA_ERR_MISUSE },
    { "stack pop on empty", stack_pop_empty, ARENA_ERR_MISUSE },
    { "stack pop twice", stack_pop_twice, ARENA_ERR_MISUSE },
    { "stack pop of a stray pointer", stack_pop_stray, ARENA_ERR_MISUSE },
    { "stack push SIZE_MAX", stack_push_size_max, ARENA_ERR_OVERFLOW },
    { "stack push alignment 3", stack_push_align_3, ARENA_ERR_ALIGN },
    { "stack buffer full", stack_buffer_full, ARENA_ERR_OOM },
    { "stack init_buffer NULL", stack_buffer_null, ARENA_ERR_MISUSE },
    { "stack push alignment 24 on a full buffer", stack_bad_align_on_full_buffer, ARENA_ERR_ALIGN },
    { "stack push alignment 3 grabs nothing", stack_bad_align_grabs_nothing, ARENA_ERR_ALIGN },
    { "stack push SIZE_MAX grabs nothing", stack_size_max_grabs_nothing, ARENA_ERR_OVERFLOW },
    { "stack push SIZE_MAX with no room at all", stack_size_max_without_room, ARENA_ERR_OVERFLOW },
    { "stack push 0 is non-NULL and distinct", stack_push_zero, ARENA_OK },
    /* pool: frees */
    { "pool double free", pool_double_free, ARENA_ERR_MISUSE },
    { "pool free of another pool's object", pool_foreign_free, ARENA_ERR_MISUSE },
    { "pool free of an interior pointer", pool_interior_free, ARENA_ERR_MISUSE },
    { "pool free of a stray pointer", pool_stray_free, ARENA_ERR_MISUSE },
    { "pool free of a low stray address", pool_stray_free_low_address, ARENA_ERR_MISUSE },
    { "pool free NULL is a no-op", pool_free_null, ARENA_OK },
    { "pool free after reset", pool_free_after_reset, ARENA_ERR_MISUSE },
    { "pool free after release", pool_free_after_release, ARENA_ERR_MISUSE },
    /* pool: handles */
    { "stale handle", handle_stale, ARENA_ERR_MISUSE },
    { "stale handle, slot reused", handle_stale_slot_reused, ARENA_ERR_MISUSE },
    { "null handle", handle_null, ARENA_ERR_MISUSE },
    { "another pool's handle", handle_foreign, ARENA_ERR_MISUSE },
    { "handle from before reset", handle_after_reset, ARENA_ERR_MISUSE },
    { "handle_of a stray pointer", handle_of_stray, ARENA_ERR_MISUSE },
    /* pool: init, buffers, sources */
    { "pool alignment 0", pool_align_0, ARENA_ERR_ALIGN },
    { "pool alignment 3", pool_align_3, ARENA_ERR_ALIGN },
    { "pool alignment 24", pool_align_24, ARENA_ERR_ALIGN },
    { "pool alignment 2^40", pool_align_2_pow_40, ARENA_ERR_OVERFLOW },
    { "pool object size SIZE_MAX", pool_size_max, ARENA_ERR_OVERFLOW },
    { "pool alloc after a failed init", pool_alloc_after_failed_init, ARENA_ERR_MISUSE },
    { "pool size 0 is non-NULL", pool_size_zero, ARENA_OK },
    { "pool_init_buffer NULL", pool_buffer_null, ARENA_ERR_MISUSE },
    { "pool_init_buffer too small", pool_buffer_too_small, ARENA_ERR_OOM },
    { "pool_init_buffer misaligned", pool_buffer_misaligned, ARENA_ERR_ALIGN },
    { "buffer pool full", pool_buffer_full, ARENA_ERR_OOM },
    { "pool source NULL at the first grab", pool_source_null_at_first_grab, ARENA_ERR_OOM },
    { "pool source NULL mid-growth", pool_source_null_mid_growth, ARENA_ERR_OOM },
    { "pool max_bytes cap reached", pool_cap_reached, ARENA_ERR_OOM },
    { "pool_each NULL function", pool_each_null_fn, ARENA_ERR_MISUSE },
    { "a used buffer reused at another offset works", buffer_reused_at_another_offset, ARENA_OK },
    { "a buffer pool's buffer is the caller's after release", pool_buffer_reused_after_release, ARENA_OK },
    { "a released virtual arena leaves no poison behind", virtual_release_leaves_no_poison, ARENA_OK },
};

static void bad_cleanup(BadCtx *c) {
    if (c->a_used) arena_release(&c->a);
    if (c->b_used) arena_release(&c->b);
    if (c->s_used) arena_stack_release(&c->s);
    if (c->p_used) pool_release(&c->p);
    if (c->q_used) pool_release(&c->q);
    if (c->src_used) {
        CHECK_EQ(c->src.live, (size_t)0);
        CHECK_EQ(c->src.bytes_out, (size_t)0);
        CHECK_EQ(c->src.bad_drops, (size_t)0);
        CHECK_EQ(c->src.drops, c->src.grabs - c->src.failed);
    }
}

TEST(bad_input_table) {
    size_t i, n = sizeof bad_cases / sizeof bad_cases[0];
    CHECK(n >= 30);
    for (i = 0; i < n; i++) {
        const BadCase *k = &bad_cases[i];
        BadCtx *c = &bad_ctx;
        int before = test__check_failures, j;
        uintptr_t v;
        memset(c, 0, sizeof *c);
        test_err_clear();
        v = k->fn(c);
        if (k->err == ARENA_OK) {
            CHECK(v != 0);
            CHECK_NO_ERR();
        } else {
            CHECK(v == 0);
            CHECK_ERR(k->err);
        }
        for (j = 0; j < c->nw; j++)
            CHECK(test_intact(c->w[j].p, c->w[j].n, c->w[j].seed));
        test_err_clear();
        bad_cleanup(c);
        CHECK_NO_ERR();
        if (test__check_failures != before)
            fprintf(stderr, "  in bad-input case %u: %s\n", (unsigned)i, k->name);
    }
}

void suite_bad_input(void) {
    RUN(bad_input_table);
}
