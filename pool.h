/* pool.h - fixed-size object pools with checked frees and handles that
   cannot dangle, for C and C++. Built on arena.h's block core.

   A Pool hands out objects of one size in O(1) and takes them back in O(1).
   Every pool_free is checked, in every build: a double free, a pointer of
   another pool, an interior or a stray pointer is refused with
   ARENA_ERR_MISUSE and changes nothing. PoolHandle is an index plus a
   generation: pool_get returns NULL once the object is freed, even after
   its slot has been reused.

   Do this in exactly one C or C++ file (arena.h comes along):
       #define ARENA_IMPLEMENTATION
       #define POOL_IMPLEMENTATION
       #include "pool.h"

   QUICK START
       Pool bullets;
       POOL_INIT(&bullets, Bullet);             // malloc-backed, grows
       Bullet *b = pool_alloc(&bullets);        // pool_calloc: zeroed
       pool_free(&bullets, b);                  // false + error on misuse
       PoolHandle h = pool_alloc_handle(&bullets);
       Bullet *p = pool_get(&bullets, h);       // NULL once freed
       pool_free_handle(&bullets, h);
       pool_release(&bullets);

   HOW IT WORKS
       Objects live in blocks of a power-of-two size, aligned to that size,
       carved from the pool's own Arena (so any ArenaSource, a byte cap, or a
       fixed buffer can back a pool). A pointer finds its block by masking;
       a small hash set of the pool's blocks tells whether that block is
       really ours before anything is read from it. Each block keeps a 32-bit
       generation per slot: odd = live. A free checks block, offset and
       generation; freed slots go on an intrusive free list.

   CONFIGURATION (besides arena.h's)
       POOL_UNCHECKED        pool_free trusts its argument (release builds:
                             no block lookup, no double-free check)
       POOL_BLOCK_SIZE       smallest block, a power of two (default 16 KiB)
       POOL_GEN_LIMIT        a slot whose generation reaches this is retired
                             for good (default 0xFFFFFFFE), so an old handle
                             can never come back to life

   LICENSE: MIT (see the end of arena.h).
*/
#ifndef POOL_H
#define POOL_H

#include "arena.h"

#ifdef ARENA_STATIC
#define POOL_DEF static
#elif defined(__cplusplus)
#define POOL_DEF extern "C"
#else
#define POOL_DEF extern
#endif

#ifndef POOL_BLOCK_SIZE
#define POOL_BLOCK_SIZE ((size_t)16 << 10)
#endif
#ifndef POOL_GEN_LIMIT
#define POOL_GEN_LIMIT 0xFFFFFFFEu
#endif

/* An object by index and generation; all zero is the null handle. */
typedef struct PoolHandle {
    uint32_t index, gen;
} PoolHandle;

typedef struct PoolBlock {   /* internal: the header of every block */
    char *slots;
    uint32_t *gens;          /* per slot; odd = live */
    uint32_t count, number;
} PoolBlock;

typedef struct pool__Slot {  /* internal: a free slot */
    struct pool__Slot *next;
    uint32_t *gen;
} pool__Slot;

typedef struct Pool {
    pool__Slot *free;
    size_t size, stride, live, peak_live;
    uint64_t div_magic;          /* ceil(2^64 / stride): division by multiply */
    uintptr_t block_mask;        /* ~(block bytes - 1) */
    PoolBlock **table;           /* hash set of our blocks, by address */
    size_t table_mask;
    unsigned block_shift, index_shift;
    PoolBlock **blocks;          /* by number, for handles */
    uint32_t block_count, block_cap, slots_per_block;
    uint32_t fresh_block, fresh_slot;  /* never-used slots start here */
    uint32_t gen_floor;          /* generation of a new slot (even) */
    uint32_t block_base;         /* number of the first block, in handles */
    size_t align, slots_offset, capacity, retired;
    bool fixed;                  /* a buffer pool: never grows */
    Arena arena;
} Pool;

typedef struct PoolStats {
    size_t live, capacity, peak_live;
    size_t block_count;   /* pool blocks */
    size_t grab_count;    /* calls made to the source, ever */
    size_t bytes_held;    /* held from the source (or the buffer's size) */
    size_t retired;       /* slots retired because their generation ran out */
} PoolStats;

POOL_DEF void pool_init(Pool *p, size_t size, size_t align);
POOL_DEF void pool_init_opts(Pool *p, size_t size, size_t align, const ArenaOptions *opt);
POOL_DEF bool pool_init_buffer(Pool *p, size_t size, size_t align, void *buf, size_t bytes);
#define POOL_INIT(p, T) pool_init((p), sizeof(T), ARENA_ALIGNOF(T))

static inline void *pool_alloc(Pool *p);
POOL_DEF void *pool_calloc(Pool *p);
static inline bool pool_free(Pool *p, void *obj);
POOL_DEF bool pool_owns(const Pool *p, const void *obj);   /* a live object of p? */
POOL_DEF void pool_reset(Pool *p);
POOL_DEF void pool_release(Pool *p);
POOL_DEF void pool_each(Pool *p, void (*fn)(void *obj, void *ctx), void *ctx);
POOL_DEF PoolStats pool_stats(const Pool *p);

POOL_DEF PoolHandle pool_alloc_handle(Pool *p);
static inline void *pool_get(const Pool *p, PoolHandle h);
POOL_DEF bool pool_free_handle(Pool *p, PoolHandle h);
POOL_DEF PoolHandle pool_handle_of(const Pool *p, const void *obj);

/* ---- the fast paths ------------------------------------------------------ */

POOL_DEF void *pool__alloc_slow(Pool *p);
POOL_DEF bool pool__free_slow(Pool *p, void *obj);

/* n / stride for n < 2^32, as the high half of n * ceil(2^64 / stride). */
static inline uint32_t pool__div(uint64_t magic, uint32_t n) {
    uint64_t lo = (magic & 0xFFFFFFFFu) * n, hi = (magic >> 32) * n;
    return (uint32_t)((hi + (lo >> 32)) >> 32);
}

static inline bool pool__is_block(const Pool *p, const PoolBlock *b) {
    size_t h = (size_t)((uintptr_t)b >> p->block_shift) & p->table_mask;
    if (!p->table) return false;
    for (;; h = (h + 1) & p->table_mask) {
        if (!p->table[h]) return false;
        if (p->table[h] == b) return true;
    }
}

static inline void *pool_alloc(Pool *p) {
#if ARENA__CHECKED
    return pool__alloc_slow(p);
#else
    pool__Slot *s = p->free;
    if (ARENA__LIKELY(s != NULL)) {
        p->free = s->next;
        ++*s->gen;
        p->live++;
        return s;
    }
    return pool__alloc_slow(p);
#endif
}

/* Anything unusual (a bad pointer, a generation about to run out) goes to
   the slow path, which reports or retires. */
static inline bool pool_free(Pool *p, void *obj) {
#if ARENA__CHECKED
    return pool__free_slow(p, obj);
#else
    PoolBlock *b = (PoolBlock *)((uintptr_t)obj & p->block_mask);
    uint32_t off, i;
    pool__Slot *s = (pool__Slot *)obj;
#ifdef POOL_UNCHECKED
    if (!obj) return true;
#else
    if (!ARENA__LIKELY(pool__is_block(p, b))) return pool__free_slow(p, obj);
#endif
    off = (uint32_t)((uintptr_t)obj - (uintptr_t)b->slots);
    i = pool__div(p->div_magic, off);
#ifndef POOL_UNCHECKED
    if (!ARENA__LIKELY(i < b->count && (size_t)i * p->stride == off && (b->gens[i] & 1)))
        return pool__free_slow(p, obj);
#endif
    if (!ARENA__LIKELY(b->gens[i] + 1 != POOL_GEN_LIMIT)) return pool__free_slow(p, obj);
    b->gens[i]++;
    s->next = p->free;
    s->gen = &b->gens[i];
    p->free = s;
    if (p->live > p->peak_live) p->peak_live = p->live;
    p->live--;
    return true;
#endif
}

static inline void *pool_get(const Pool *p, PoolHandle h) {
    uint32_t n = (h.index >> p->index_shift) - p->block_base;
    uint32_t i = h.index & ((1u << p->index_shift) - 1);
    PoolBlock *b;
    if (n >= p->block_count || !(h.gen & 1)) return NULL;
    b = p->blocks[n];
    if (i >= b->count || b->gens[i] != h.gen) return NULL;
    return b->slots + (size_t)i * p->stride;
}

#endif /* POOL_H */

/* ======================================================================== */
/*                             IMPLEMENTATION                               */
/* ======================================================================== */
#if defined(POOL_IMPLEMENTATION) && !defined(POOL__IMPLEMENTED)
#define POOL__IMPLEMENTED

#if !defined(ARENA__IMPLEMENTED)
#error "pool.h: define ARENA_IMPLEMENTATION too, in the same file, before including pool.h"
#endif

#ifdef ARENA_VALGRIND
#define POOL__VG_CREATE(p) \
    do { if (!VALGRIND_MEMPOOL_EXISTS(p)) VALGRIND_CREATE_MEMPOOL((p), 0, 0); } while (0)
#define POOL__VG_DESTROY(p) \
    do { if (VALGRIND_MEMPOOL_EXISTS(p)) VALGRIND_DESTROY_MEMPOOL(p); } while (0)
#define POOL__VG_ALLOC(p, s) VALGRIND_MEMPOOL_ALLOC((p), (s), (p)->size)
#define POOL__VG_FREE(p, s) VALGRIND_MEMPOOL_FREE((p), (s))
#else
#define POOL__VG_CREATE(p) ((void)(p))
#define POOL__VG_DESTROY(p) ((void)(p))
#define POOL__VG_ALLOC(p, s) ((void)(p), (void)(s))
#define POOL__VG_FREE(p, s) ((void)(p), (void)(s))
#endif

#define POOL__MAX_STRIDE ((size_t)1 << 27)
#define POOL__MIN_SLOTS 8u

/* A free slot's link is written and read by the pool only: it stays
   poisoned for everyone else (memcheck keeps it defined, so reading it
   back is clean). */
static void pool__link_open(pool__Slot *s) {
#if ARENA__ASAN
    ASAN_UNPOISON_MEMORY_REGION(s, sizeof *s);
#elif defined(ARENA_VALGRIND)
    VALGRIND_MAKE_MEM_DEFINED(s, sizeof *s);
#endif
    (void)s;
}

static void pool__link_close(const Pool *p, pool__Slot *s) {
    ARENA__POISON(s, p->stride);
    (void)p; (void)s;
}

static unsigned pool__log2(size_t n) {   /* floor */
    unsigned k = 0;
    while (n >>= 1) k++;
    return k;
}

/* Slots that fit a block of `bytes` (its gens array included). */
static uint32_t pool__slots_in(const Pool *p, size_t bytes, size_t *slots_offset) {
    size_t usable = bytes - ARENA__REDZONE, c, off;
    if (usable < sizeof(PoolBlock)) return 0;
    c = (usable - sizeof(PoolBlock)) / (p->stride + sizeof(uint32_t));
    for (; c; c--) {
        off = arena__align_up(sizeof(PoolBlock) + c * sizeof(uint32_t), p->align);
        if (off <= usable && c * p->stride <= usable - off) break;
    }
    *slots_offset = c ? arena__align_up(sizeof(PoolBlock) + c * sizeof(uint32_t), p->align) : 0;
    return (uint32_t)c;
}

static void pool__set_block_bytes(Pool *p, size_t bytes) {
    uint32_t c = pool__slots_in(p, bytes, &p->slots_offset);
    p->slots_per_block = c;
    p->block_shift = pool__log2(bytes);
    p->block_mask = ~(uintptr_t)(bytes - 1);
    p->index_shift = 0;
    while ((1u << p->index_shift) < c) p->index_shift++;
}

/* Size, stride and the first generation; a pool that fails here stays
   inert (stride 0) and refuses every allocation. */
static bool pool__setup(Pool *p, size_t size, size_t align) {
    static ARENA_THREAD_LOCAL uint32_t inits;
    size_t bytes = POOL_BLOCK_SIZE;
    uint32_t seed = (uint32_t)((uintptr_t)p >> 4) * 2654435761u + ++inits * 40503u;
    ARENA_MEMSET(p, 0, sizeof *p);
    if (!align || (align & (align - 1))) {
        arena__report(ARENA_ERR_ALIGN, "pool_init: the alignment is not a power of two");
        return false;
    }
    if (size > POOL__MAX_STRIDE || align > POOL__MAX_STRIDE) {
        arena__report(ARENA_ERR_OVERFLOW, "pool_init: objects larger than 128 MiB do not go in a pool");
        return false;
    }
    if (align < ARENA_ALIGNOF(pool__Slot)) align = ARENA_ALIGNOF(pool__Slot);
    if (ARENA__ASAN && align < 8) align = 8;
    p->size = size ? size : 1;
    p->align = align;
    p->stride = arena__align_up((p->size > sizeof(pool__Slot) ? p->size : sizeof(pool__Slot)) + ARENA__REDZONE, align);
    p->div_magic = UINT64_MAX / p->stride + 1;
    while (pool__slots_in(p, bytes, &p->slots_offset) < POOL__MIN_SLOTS) bytes *= 2;
    pool__set_block_bytes(p, bytes);
    /* Pools start their generations at different points, so that a handle
       of another pool is very unlikely to match. */
    p->gen_floor = (seed & 0x7FFFFFu) << 8;
    POOL__VG_CREATE(p);
    return true;
}

static size_t pool__block_bytes(const Pool *p) { return ~(size_t)p->block_mask + 1; }

static bool pool__table_insert(Pool *p, PoolBlock *b) {
    size_t h = (size_t)((uintptr_t)b >> p->block_shift) & p->table_mask;
    while (p->table[h]) h = (h + 1) & p->table_mask;
    p->table[h] = b;
    return true;
}

/* Room in the directory and the hash set (half full at most) for n blocks;
   the old copies stay behind in the pool's arena. */
static bool pool__reserve_blocks(Pool *p, size_t n, bool quiet) {
    if (n > p->block_cap) {
        size_t cap = p->block_cap ? (size_t)p->block_cap * 2 : 8;
        PoolBlock **dir;
        if (cap < n) cap = n;
        dir = (PoolBlock **)(quiet ? arena__try_alloc(&p->arena, cap * sizeof *dir, ARENA_MIN_ALIGN)
                                   : arena_alloc(&p->arena, cap * sizeof *dir));
        if (!dir) return false;
        if (p->block_count) ARENA_MEMCPY(dir, p->blocks, p->block_count * sizeof *dir);
        p->blocks = dir;
        p->block_cap = (uint32_t)cap;
    }
    if (2 * n > p->table_mask + (p->table ? 1 : 0)) {
        size_t size = 16, i;
        PoolBlock **t;
        while (size < 2 * n) size *= 2;
        t = (PoolBlock **)(quiet ? arena__try_alloc(&p->arena, size * sizeof *t, ARENA_MIN_ALIGN)
                                 : arena_alloc(&p->arena, size * sizeof *t));
        if (!t) return false;
        ARENA_MEMSET(t, 0, size * sizeof *t);
        p->table = t;
        p->table_mask = size - 1;
        for (i = 0; i < p->block_count; i++) pool__table_insert(p, p->blocks[i]);
    }
    return true;
}

static void pool__add_block(Pool *p, void *mem) {
    PoolBlock *b = (PoolBlock *)mem;
    uint32_t i;
    b->gens = (uint32_t *)(b + 1);
    b->slots = (char *)mem + p->slots_offset;
    b->count = p->slots_per_block;
    b->number = p->block_count;
    for (i = 0; i < b->count; i++) b->gens[i] = p->gen_floor;
    ARENA__POISON(b->slots, (size_t)b->count * p->stride);
    p->blocks[p->block_count++] = b;
    pool__table_insert(p, b);
    p->capacity += b->count;
}

static bool pool__carve_buffer(Pool *p);

static bool pool__grow(Pool *p) {
    size_t bytes = pool__block_bytes(p);
    void *mem;
    if (p->fixed) {   /* a released buffer pool takes its buffer up again */
        if (!p->block_count) return pool__carve_buffer(p);
        arena__report(ARENA_ERR_OOM, "pool_alloc: the buffer pool is full");
        return false;
    }
    if (p->index_shift && ((size_t)p->block_base + p->block_count) >> (32 - p->index_shift)) {
        arena__report(ARENA_ERR_OOM, "pool_alloc: the pool has as many blocks as 32-bit handles can name");
        return false;
    }
    if (!pool__reserve_blocks(p, (size_t)p->block_count + 1, false)) return false;
    mem = arena_alloc_aligned(&p->arena, bytes - ARENA__REDZONE, bytes);
    if (!mem) return false;
    pool__add_block(p, mem);
    return true;
}

/* The next never-used (or, after a reset, no longer used) slot. */
static pool__Slot *pool__fresh(Pool *p, uint32_t **gen) {
    for (;;) {
        while (p->fresh_block < p->block_count) {
            PoolBlock *b = p->blocks[p->fresh_block];
            while (p->fresh_slot < b->count) {
                uint32_t i = p->fresh_slot++;
                if (b->gens[i] == POOL_GEN_LIMIT || (b->gens[i] & 1)) continue;
                *gen = &b->gens[i];
                return (pool__Slot *)(b->slots + (size_t)i * p->stride);
            }
            p->fresh_block++;
            p->fresh_slot = 0;
        }
        if (!pool__grow(p)) return NULL;
    }
}

POOL_DEF void *pool__alloc_slow(Pool *p) {
    pool__Slot *s;
    uint32_t *gen;
    if (!p->stride)
        return arena__report(ARENA_ERR_MISUSE, "pool_alloc: the pool is not initialised (pool_init failed or was not called)"), (void *)NULL;
    if (p->free) {
        s = p->free;
        pool__link_open(s);
        p->free = s->next;
        gen = s->gen;
        pool__link_close(p, s);
    } else {
        s = pool__fresh(p, &gen);
        if (!s) return NULL;
    }
    ++*gen;
    p->live++;
    POOL__VG_ALLOC(p, s);
    arena__hand_out(s, p->size);
    return s;
}

POOL_DEF void *pool_calloc(Pool *p) {
    void *obj = pool_alloc(p);
    if (obj) ARENA_MEMSET(obj, 0, p->size);
    return obj;
}

/* Finds the live object at obj: its block and slot, or why it is not one. */
static const char *pool__locate(const Pool *p, const void *obj, PoolBlock **bp, uint32_t *ip) {
    PoolBlock *b = (PoolBlock *)((uintptr_t)obj & p->block_mask);
    uintptr_t u = (uintptr_t)obj, lo;
    uint32_t i;
    if (!p->stride || !pool__is_block(p, b)) return "pool: the pointer is not an object of this pool";
    lo = (uintptr_t)b->slots;
    if (u < lo || u - lo >= (uintptr_t)b->count * p->stride)
        return "pool: the pointer is inside a pool block's header, not an object";
    i = pool__div(p->div_magic, (uint32_t)(u - lo));
    if ((uintptr_t)i * p->stride != u - lo)
        return "pool: interior pointer, not the start of an object";
    if (!(b->gens[i] & 1)) return "pool: the object is already free (double free or stale pointer)";
    *bp = b;
    *ip = i;
    return NULL;
}

static void pool__note_peak(Pool *p) {
    if (p->live > p->peak_live) p->peak_live = p->live;
}

/* Frees slot i of b: fill and poison it, bump its generation, and either
   link it on the free list or retire it when the generation runs out. */
static void pool__free_slot(Pool *p, PoolBlock *b, uint32_t i) {
    pool__Slot *s = (pool__Slot *)(b->slots + (size_t)i * p->stride);
    arena__take_back(s, p->size);
    POOL__VG_FREE(p, s);
    if (++b->gens[i] == POOL_GEN_LIMIT) {
        p->retired++;
        p->capacity--;
        return;
    }
    pool__link_open(s);
    s->next = p->free;
    s->gen = &b->gens[i];
    p->free = s;
    pool__link_close(p, s);
}

POOL_DEF bool pool__free_slow(Pool *p, void *obj) {
    PoolBlock *b = NULL;
    uint32_t i = 0;
    const char *why;
    if (!obj) return true;
    why = pool__locate(p, obj, &b, &i);
    if (why) {
        arena__report(ARENA_ERR_MISUSE, why);
        return false;
    }
    pool__note_peak(p);
    p->live--;
    pool__free_slot(p, b, i);
    return true;
}

POOL_DEF bool pool_owns(const Pool *p, const void *obj) {
    PoolBlock *b;
    uint32_t i;
    return obj && !pool__locate(p, obj, &b, &i);
}

/* ---- init, reset, release ------------------------------------------------ */

POOL_DEF void pool_init_opts(Pool *p, size_t size, size_t align, const ArenaOptions *opt) {
    ArenaOptions o;
    if (opt) o = *opt;
    else ARENA_MEMSET(&o, 0, sizeof o);
    if (!pool__setup(p, size, align)) return;
    /* Arena blocks several pool blocks large: only the first pool block of
       each arena block loses room to alignment. */
    if (o.block_size < 4 * pool__block_bytes(p)) o.block_size = 4 * pool__block_bytes(p);
    arena_init(&p->arena, &o);
}

POOL_DEF void pool_init(Pool *p, size_t size, size_t align) {
    pool_init_opts(p, size, align, NULL);
}

/* Carves every block a buffer pool will ever have, up front. */
static bool pool__carve_buffer(Pool *p) {
    size_t bytes = pool__block_bytes(p), max_blocks;
    void *mem;
    ArenaStats st = arena_stats(&p->arena);
    max_blocks = st.bytes_held / bytes + 1;
    if (!pool__reserve_blocks(p, max_blocks, true)) {
        arena__report(ARENA_ERR_OOM, "pool_init_buffer: the buffer is too small for the pool's index");
        return false;
    }
    while ((mem = arena__try_alloc(&p->arena, bytes - ARENA__REDZONE, bytes)) != NULL)
        pool__add_block(p, mem);
    if (!p->block_count) {
        arena__report(ARENA_ERR_OOM, "pool_init_buffer: the buffer is too small for one object");
        return false;
    }
    return true;
}

POOL_DEF bool pool_init_buffer(Pool *p, size_t size, size_t align, void *buf, size_t bytes) {
    size_t block;
    if (!pool__setup(p, size, align)) return false;
    p->fixed = true;
    if (!arena_init_buffer(&p->arena, buf, bytes)) {
        p->stride = 0;
        return false;
    }
    /* Blocks of about a sixteenth of the buffer keep what alignment costs
       small, as long as a block still holds an object. */
    block = pool__block_bytes(p);
    while (block / 2 >= bytes / 16 && pool__slots_in(p, block / 2, &p->slots_offset) >= 1) block /= 2;
    pool__set_block_bytes(p, block);
    if (!pool__carve_buffer(p)) {
        p->stride = 0;
        return false;
    }
    return true;
}

POOL_DEF void pool_reset(Pool *p) {
    uint32_t n, i;
    pool__note_peak(p);
    for (n = 0; n < p->block_count; n++) {
        PoolBlock *b = p->blocks[n];
        for (i = 0; i < b->count; i++) {
            if (!(b->gens[i] & 1)) continue;
            p->live--;
            pool__free_slot(p, b, i);
        }
    }
    p->free = NULL;
    p->fresh_block = p->fresh_slot = 0;
}

POOL_DEF void pool_release(Pool *p) {
    uint32_t n, i, top = p->gen_floor;
    Pool fresh;
    /* New slots start above every generation handed out so far: no handle
       of the released memory can match them. */
    for (n = 0; n < p->block_count; n++)
        for (i = 0; i < p->blocks[n]->count; i++)
            if (p->blocks[n]->gens[i] > top) top = p->blocks[n]->gens[i];
    POOL__VG_DESTROY(p);
    arena_release(&p->arena);
    fresh = *p;
    fresh.free = NULL;
    fresh.live = fresh.peak_live = fresh.capacity = fresh.retired = 0;
    fresh.table = NULL;
    fresh.table_mask = 0;
    fresh.blocks = NULL;
    fresh.block_count = fresh.block_cap = fresh.fresh_block = fresh.fresh_slot = 0;
    /* When the generations have run out, new blocks take numbers the old
       handles never had instead, and generations start over. */
    if (top >= POOL_GEN_LIMIT - 2) {
        fresh.block_base = p->block_base + p->block_count;
        fresh.gen_floor = 0;
    } else {
        fresh.gen_floor = (top + 2) & ~1u;
    }
    *p = fresh;
    POOL__VG_CREATE(p);
}

POOL_DEF void pool_each(Pool *p, void (*fn)(void *obj, void *ctx), void *ctx) {
    uint32_t n, i, blocks = p->block_count;
    if (!fn) {
        arena__report(ARENA_ERR_MISUSE, "pool_each: the function is NULL");
        return;
    }
    for (n = 0; n < blocks; n++) {
        PoolBlock *b = p->blocks[n];
        for (i = 0; i < b->count; i++)
            if (b->gens[i] & 1) fn(b->slots + (size_t)i * p->stride, ctx);
    }
}

POOL_DEF PoolStats pool_stats(const Pool *p) {
    PoolStats s;
    ArenaStats a = arena_stats(&p->arena);
    s.live = p->live;
    s.capacity = p->capacity;
    s.peak_live = p->peak_live > p->live ? p->peak_live : p->live;
    s.block_count = p->block_count;
    s.grab_count = a.grab_count;
    s.bytes_held = a.bytes_held;
    s.retired = p->retired;
    return s;
}

/* ---- handles ---------------------------------------------------------------- */

static PoolHandle pool__handle(const Pool *p, const PoolBlock *b, uint32_t i) {
    PoolHandle h;
    h.index = ((p->block_base + b->number) << p->index_shift) | i;
    h.gen = b->gens[i];
    return h;
}

POOL_DEF PoolHandle pool_handle_of(const Pool *p, const void *obj) {
    PoolHandle h;
    PoolBlock *b;
    uint32_t i;
    const char *why;
    ARENA_MEMSET(&h, 0, sizeof h);
    if (!obj) return h;
    why = pool__locate(p, obj, &b, &i);
    if (why) {
        arena__report(ARENA_ERR_MISUSE, why);
        return h;
    }
    return pool__handle(p, b, i);
}

POOL_DEF PoolHandle pool_alloc_handle(Pool *p) {
    PoolHandle h;
    void *obj = pool_alloc(p);
    ARENA_MEMSET(&h, 0, sizeof h);
    if (obj) {
        PoolBlock *b = (PoolBlock *)((uintptr_t)obj & p->block_mask);
        h = pool__handle(p, b, pool__div(p->div_magic, (uint32_t)((char *)obj - b->slots)));
    }
    return h;
}

POOL_DEF bool pool_free_handle(Pool *p, PoolHandle h) {
    void *obj = pool_get(p, h);
    if (!obj) {
        arena__report(ARENA_ERR_MISUSE, h.gen ? "pool_free_handle: the handle is stale or of another pool"
                                              : "pool_free_handle: the null handle");
        return false;
    }
    return pool_free(p, obj);
}

#endif /* POOL_IMPLEMENTATION */
