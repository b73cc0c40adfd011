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
       fixed buffer can back a pool). A pointer finds its block by masking; a
       small hash set of the pool's blocks, which also records how far each
       block has been handed out, tells whether it is really ours before
       anything is read from it. Freed slots go on an intrusive free list and
       carry a tag (a per-pool secret mixed with their address) in their
       second word: pool_free checks block, slot start and tag inline,
       touching only the hash set and the object's own cache line; a tagged
       slot is looked up on the free list out of line, so a double free is
       refused exactly. Generations (32 bits per slot, odd = live) are kept from the
       first handle on: pools that never use handles never pay for them.

   CONFIGURATION (besides arena.h's)
       POOL_UNCHECKED        pool_free trusts its argument (release builds:
                             no block lookup, no double-free check; a free
                             is a push, an alloc a pop). Any mix of files
                             with and without it is fine
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
    uint32_t *gens;          /* per slot, once the pool has handles; odd = live */
    uint64_t *marks;         /* per slot, a bit: free, while pool_each walks */
    uint32_t count, number;
} PoolBlock;

typedef struct pool__Slot {  /* internal: a free slot */
    struct pool__Slot *next;
    uintptr_t tag;           /* secret ^ address: "probably free" */
} pool__Slot;

typedef struct Pool {
    pool__Slot *free;            /* the free list the inline paths use */
    size_t live;
    int quick;                   /* pool_free may run inline (see pool__set_quick) */
    unsigned block_shift;
    uintptr_t block_mask;        /* ~(block bytes - 1) */
    uintptr_t secret;            /* free slots hold secret ^ their address */
    uintptr_t *table;            /* hash set of our blocks: address + carved bytes */
    size_t table_mask;
    size_t slots_offset;         /* from a block to its first slot */
    uint64_t div_magic;          /* ceil(2^64 / stride): division by multiply */
    size_t size, stride, peak_live;
    pool__Slot *held;            /* the free list while handles are tracked */
    bool tracked;                /* handles exist: generations kept per slot */
    unsigned walking;            /* pool_each calls under way */
    unsigned index_shift;
    PoolBlock **blocks;          /* by number, for handles */
    uint32_t block_count, block_cap, slots_per_block;
    uint32_t fresh_block;        /* never-used slots start in this block */
    uint32_t gen_floor;          /* generation of a new slot (even) */
    uint32_t block_base;         /* number of the first block, in handles */
    size_t align, capacity, retired;
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

/* ---- the fast paths ------------------------------------------------------
   They touch the Pool, one word of its small block hash set and the
   object's own first 16 bytes, nothing else: no per-slot side table, so a
   free costs no extra cache miss. Anything
   unusual (a bad or already-free pointer, handles, a pool_each under way)
   goes out of line, where every case is checked exactly. */

POOL_DEF void *pool__alloc_slow(Pool *p);
POOL_DEF bool pool__free_slow(Pool *p, void *obj);

/* The block hash set, open addressing with Fibonacci hashing. An entry is
   a block's address plus the bytes of its slots handed out since the last
   reset (always less than the block size, below which the address has
   only zero bits), so one load answers "ours?" and "handed out?" without
   reading the block (block headers, all aligned alike, would fight over
   the same few cache sets). An empty entry is all ones. */
#define POOL__EMPTY (~(uintptr_t)0)
static inline size_t pool__hash(const Pool *p, uintptr_t block) {
    return (size_t)(((uint64_t)(block >> p->block_shift) * 0x9E3779B97F4A7C15u) >> 32) & p->table_mask;
}

/* The block's entry in the hash set, or NULL if it is not one of ours.
   (An empty entry lies in the topmost block's range too: a stray pointer
   up there must not take it for its block.) */
static inline uintptr_t *pool__entry(const Pool *p, uintptr_t block) {
    size_t h = pool__hash(p, block);
    uintptr_t *t = p->table;
    for (;; h = (h + 1) & p->table_mask) {
        if (t[h] - block <= ~p->block_mask && t[h] != POOL__EMPTY) return &t[h];
        if (t[h] == POOL__EMPTY) return NULL;
    }
}

/* What a free slot holds in its second word. */
static inline uintptr_t pool__tag(const Pool *p, const void *slot) {
    return p->secret ^ (uintptr_t)slot;
}

static inline void *pool_alloc(Pool *p) {
#if ARENA__CHECKED
    return pool__alloc_slow(p);
#else
    pool__Slot *s = p->free;
    if (ARENA__LIKELY(s != NULL)) {
        p->free = s->next;
        s->tag = 0;
        p->live++;
        return s;
    }
    return pool__alloc_slow(p);
#endif
}

/* Inline: the block is one of ours (the hash set, nearly always at the
   first probe: it is kept at most a quarter full), the slot was handed out
   since the last reset, obj is at a slot's start (Lemire's test: n is a
   multiple of d iff n * ceil(2^64/d) mod 2^64 is below ceil(2^64/d)), and
   the slot does not carry the free tag. */
static inline bool pool_free(Pool *p, void *obj) {
#if ARENA__CHECKED
    return pool__free_slow(p, obj);
#else
    pool__Slot *s = (pool__Slot *)obj;
    uintptr_t tag = pool__tag(p, obj);
#ifdef POOL_UNCHECKED
    if (!ARENA__LIKELY(p->quick && obj)) return pool__free_slow(p, obj);
#else
    uintptr_t b = (uintptr_t)obj & p->block_mask, off = (uintptr_t)obj - b - p->slots_offset;
    uintptr_t *entry;
    if (!ARENA__LIKELY(p->quick && (entry = pool__entry(p, b)) != NULL &&
                       off < *entry - b && (uint64_t)off * p->div_magic < p->div_magic &&
                       s->tag != tag))
        return pool__free_slow(p, obj);
#endif
    s->next = p->free;
    s->tag = tag;
    p->free = s;
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
#define POOL__LOAD 4u   /* hash set entries per block, at least */

/* A pool with no blocks points at a one-entry empty set. */
static uintptr_t pool__no_blocks[1] = {POOL__EMPTY};

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

/* The free list: `held` once the pool tracks handles (see pool__track). */
static pool__Slot **pool__list(Pool *p) { return p->tracked ? &p->held : &p->free; }
static pool__Slot *pool__first(const Pool *p) { return p->tracked ? p->held : p->free; }

/* pool_free runs inline only on a set-up pool without handles and outside
   pool_each (a zeroed Pool has quick == 0 too). */
static void pool__set_quick(Pool *p) { p->quick = p->stride && !p->tracked && !p->walking; }

static void pool__push(Pool *p, pool__Slot *s) {
    pool__Slot **list = pool__list(p);
    pool__link_open(s);
    s->next = *list;
    s->tag = pool__tag(p, s);
    *list = s;
    pool__link_close(p, s);
}

static pool__Slot *pool__next(const Pool *p, pool__Slot *s) {
    pool__Slot *next;
    pool__link_open(s);
    next = s->next;
    pool__link_close(p, s);
    return next;
}

static pool__Slot *pool__pop(Pool *p) {
    pool__Slot **list = pool__list(p), *s = *list;
    if (!s) return NULL;
    pool__link_open(s);
    *list = s->next;
    s->tag = 0;
    pool__link_close(p, s);
    return s;
}

/* Does the slot carry the free tag? Free slots are poisoned under ASan (so
   the poison itself tells), no-access under memcheck (read quietly). */
static bool pool__tagged_free(const Pool *p, const pool__Slot *s) {
#if ARENA__ASAN
    (void)p;
    return __asan_address_is_poisoned(s) != 0;
#else
    bool tagged;
#ifdef ARENA_VALGRIND
    VALGRIND_DISABLE_ERROR_REPORTING;
#endif
    tagged = s->tag == pool__tag(p, s);
#ifdef ARENA_VALGRIND
    VALGRIND_ENABLE_ERROR_REPORTING;
#endif
    return tagged;
#endif
}

/* The tag is a hint (a live object may hold the same bytes); the free list
   is the truth. Only a tagged slot is looked up, so a double free costs
   O(free slots) and an ordinary free nothing. */
static bool pool__on_list(const Pool *p, const pool__Slot *s) {
    pool__Slot *f = pool__first(p);
    while (f && f != s) f = pool__next(p, f);
    return f != NULL;
}

static unsigned pool__log2(size_t n) {   /* floor */
    unsigned k = 0;
    while (n >>= 1) k++;
    return k;
}

/* n / stride for n < 2^32, as the high half of n * ceil(2^64 / stride). */
static uint32_t pool__div(uint64_t magic, uint32_t n) {
    uint64_t lo = (magic & 0xFFFFFFFFu) * n, hi = (magic >> 32) * n;
    return (uint32_t)((hi + (lo >> 32)) >> 32);
}

static size_t pool__mark_words(uint32_t count) { return ((size_t)count + 63) / 64; }
static void pool__mark(PoolBlock *b, uint32_t i) { b->marks[i / 64] |= (uint64_t)1 << (i % 64); }
static bool pool__marked(const PoolBlock *b, uint32_t i) { return (b->marks[i / 64] >> (i % 64)) & 1; }

/* Where a block of c slots keeps its slots: after the header, the marks
   and the generations. */
static size_t pool__slots_at(const Pool *p, size_t c) {
    size_t gens = sizeof(PoolBlock) + pool__mark_words((uint32_t)c) * sizeof(uint64_t);
    return arena__align_up(gens + c * sizeof(uint32_t), p->align);
}

/* Slots that fit a block of `bytes` (its header included). */
static uint32_t pool__slots_in(const Pool *p, size_t bytes, size_t *slots_offset) {
    size_t usable = bytes - ARENA__REDZONE, c;
    if (usable < sizeof(PoolBlock)) return 0;
    c = (usable - sizeof(PoolBlock)) / (p->stride + sizeof(uint32_t));
    for (; c; c--) {
        size_t off = pool__slots_at(p, c);
        if (off <= usable && c * p->stride <= usable - off) break;
    }
    *slots_offset = c ? pool__slots_at(p, c) : 0;
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

/* Size, stride, the first generation and the secret; a pool that fails
   here stays inert (stride 0) and refuses every allocation. */
static bool pool__setup(Pool *p, size_t size, size_t align) {
    static ARENA_THREAD_LOCAL uint32_t inits;
    size_t bytes = POOL_BLOCK_SIZE;
    uint64_t seed = ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15u + ++inits * 0xBF58476D1CE4E5B9u;
    ARENA_MEMSET(p, 0, sizeof *p);
    p->table = pool__no_blocks;
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
       of another pool is very unlikely to match. The secret's low bit is
       set: a tag is never 0, the tag of an allocated slot. */
    seed ^= seed >> 31;
    p->gen_floor = (uint32_t)(seed & 0x7FFFFFu) << 8;
    p->secret = (uintptr_t)(seed * 0x94D049BB133111EBu >> 7) | 1u;
    pool__set_quick(p);
    POOL__VG_CREATE(p);
    return true;
}

static size_t pool__block_bytes(const Pool *p) { return ~(size_t)p->block_mask + 1; }

/* Bytes of b's slots handed out since the last reset. */
static size_t pool__carved(const Pool *p, const PoolBlock *b) {
    return *pool__entry(p, (uintptr_t)b) - (uintptr_t)b;
}

static void pool__table_insert(Pool *p, uintptr_t entry) {
    size_t h = pool__hash(p, entry & p->block_mask);
    while (p->table[h] != POOL__EMPTY) h = (h + 1) & p->table_mask;
    p->table[h] = entry;
}

/* Room in the directory and the hash set (a quarter full at most, so that
   nearly every free finds its block at the first probe) for n blocks;
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
    if (POOL__LOAD * n > p->table_mask + 1) {
        size_t size = 16, i, old_size = p->table_mask + 1;
        uintptr_t *t, *old = p->table;
        while (size < POOL__LOAD * n) size *= 2;
        t = (uintptr_t *)(quiet ? arena__try_alloc(&p->arena, size * sizeof *t, ARENA_MIN_ALIGN)
                                : arena_alloc(&p->arena, size * sizeof *t));
        if (!t) return false;
        for (i = 0; i < size; i++) t[i] = POOL__EMPTY;
        p->table = t;
        p->table_mask = size - 1;
        for (i = 0; i < old_size; i++)
            if (old[i] != POOL__EMPTY) pool__table_insert(p, old[i]);
    }
    return true;
}

static void pool__add_block(Pool *p, void *mem) {
    PoolBlock *b = (PoolBlock *)mem;
    uint32_t i;
    b->marks = (uint64_t *)(b + 1);
    b->gens = (uint32_t *)(b->marks + pool__mark_words(p->slots_per_block));
    b->slots = (char *)mem + p->slots_offset;
    b->count = p->slots_per_block;
    b->number = p->block_count;
    for (i = 0; i < b->count; i++) b->gens[i] = p->gen_floor;
    ARENA__POISON(b->slots, (size_t)b->count * p->stride);
    p->blocks[p->block_count++] = b;
    pool__table_insert(p, (uintptr_t)b);
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

/* The next never-used (or, after a reset, no longer used) slot. Slots are
   handed out in order, block by block, so "handed out since the reset" is
   one byte count per block. Retired slots are passed over. */
static pool__Slot *pool__fresh(Pool *p) {
    for (;;) {
        while (p->fresh_block < p->block_count) {
            PoolBlock *b = p->blocks[p->fresh_block];
            uintptr_t *entry = pool__entry(p, (uintptr_t)b);
            while (*entry - (uintptr_t)b < (size_t)b->count * p->stride) {
                uint32_t i = (uint32_t)((*entry - (uintptr_t)b) / p->stride);
                *entry += p->stride;
                if (b->gens[i] != POOL_GEN_LIMIT) return (pool__Slot *)(b->slots + (size_t)i * p->stride);
            }
            p->fresh_block++;
        }
        if (!pool__grow(p)) return NULL;
    }
}

static PoolBlock *pool__block_of(const Pool *p, const void *obj) {
    return (PoolBlock *)((uintptr_t)obj & p->block_mask);
}

static uint32_t pool__index(const Pool *p, const PoolBlock *b, const void *obj) {
    return pool__div(p->div_magic, (uint32_t)((const char *)obj - b->slots));
}

POOL_DEF void *pool__alloc_slow(Pool *p) {
    pool__Slot *s;
    if (!p->stride)
        return arena__report(ARENA_ERR_MISUSE, "pool_alloc: the pool is not initialised (pool_init failed or was not called)"), (void *)NULL;
    s = pool__pop(p);
    if (!s) {
        s = pool__fresh(p);
        if (!s) return NULL;
    }
    if (p->tracked) {
        PoolBlock *b = pool__block_of(p, s);
        b->gens[pool__index(p, b, s)]++;
    }
    /* A new peak can only come from a fresh slot (the free list was empty,
       so every other slot was live): the inline path never needs to look. */
    if (++p->live > p->peak_live) p->peak_live = p->live;
    POOL__VG_ALLOC(p, s);
    arena__hand_out(s, p->size);
    return s;
}

POOL_DEF void *pool_calloc(Pool *p) {
    void *obj = pool_alloc(p);
    if (obj) ARENA_MEMSET(obj, 0, p->size);
    return obj;
}

static bool pool__is_live(const Pool *p, const PoolBlock *b, uint32_t i) {
    const pool__Slot *s = (const pool__Slot *)(b->slots + (size_t)i * p->stride);
    if ((size_t)i * p->stride >= pool__carved(p, b)) return false;
    if (p->tracked) return (b->gens[i] & 1) != 0;
    return !pool__tagged_free(p, s) || !pool__on_list(p, s);
}

/* Finds the live object at obj: its block and slot, or why it is not one. */
static const char *pool__locate(const Pool *p, const void *obj, PoolBlock **bp, uint32_t *ip) {
    PoolBlock *b = pool__block_of(p, obj);
    uintptr_t u = (uintptr_t)obj, lo;
    uint32_t i;
    if (!p->stride || !pool__entry(p, (uintptr_t)b)) return "pool: the pointer is not an object of this pool";
    lo = (uintptr_t)b->slots;
    if (u < lo || u - lo >= (uintptr_t)b->count * p->stride)
        return "pool: the pointer is inside a pool block's header, not an object";
    i = pool__index(p, b, obj);
    if ((uintptr_t)i * p->stride != u - lo)
        return "pool: interior pointer, not the start of an object";
    if (!pool__is_live(p, b, i)) return "pool: the object is already free (double free or stale pointer)";
    *bp = b;
    *ip = i;
    return NULL;
}

/* A live object's generation ends (tracked pools): the slot is retired for
   good when it runs out. */
static bool pool__end_life(Pool *p, PoolBlock *b, uint32_t i) {
    if (++b->gens[i] != POOL_GEN_LIMIT) return true;
    p->retired++;
    p->capacity--;
    return false;
}

/* Frees live slot i of b: fill and poison it, mark it for a pool_each
   under way, end its generation, and link it on the free list. */
static void pool__free_slot(Pool *p, PoolBlock *b, uint32_t i) {
    pool__Slot *s = (pool__Slot *)(b->slots + (size_t)i * p->stride);
    arena__take_back(s, p->size);
    POOL__VG_FREE(p, s);
    p->live--;
    if (p->walking) pool__mark(b, i);
    if (p->tracked && !pool__end_life(p, b, i)) return;
    pool__push(p, s);
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
    if (o.flags & ARENA_SHARED) {   /* the shared pool comes with the new pool storage */
        o.flags &= ~ARENA_SHARED;
        arena__report(ARENA_ERR_MISUSE, "pool_init_opts: ARENA_SHARED pools are not supported yet (ignored)");
    }
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

static void pool__make_inert(Pool *p) {
    p->stride = 0;
    pool__set_quick(p);
}

POOL_DEF bool pool_init_buffer(Pool *p, size_t size, size_t align, void *buf, size_t bytes) {
    size_t block;
    if (!pool__setup(p, size, align)) return false;
    p->fixed = true;
    if (!arena_init_buffer(&p->arena, buf, bytes)) {
        pool__make_inert(p);
        return false;
    }
    /* Blocks of about a sixteenth of the buffer keep what alignment costs
       small, as long as a block still holds an object. */
    block = pool__block_bytes(p);
    while (block / 2 >= bytes / 16 && pool__slots_in(p, block / 2, &p->slots_offset) >= 1) block /= 2;
    pool__set_block_bytes(p, block);
    if (!pool__carve_buffer(p)) {
        pool__make_inert(p);
        return false;
    }
    return true;
}

POOL_DEF void pool_reset(Pool *p) {
    uint32_t n, i;
    for (n = 0; n < p->block_count; n++) {
        PoolBlock *b = p->blocks[n];
        uintptr_t *entry = pool__entry(p, (uintptr_t)b);
        size_t carved = *entry - (uintptr_t)b;
        if (p->tracked)
            for (i = 0; (size_t)i * p->stride < carved; i++)
                if (b->gens[i] & 1) pool__end_life(p, b, i);
        arena__take_back(b->slots, carved);
        *entry = (uintptr_t)b;
    }
    POOL__VG_DESTROY(p);   /* every object of the pool at once */
    POOL__VG_CREATE(p);
    *pool__list(p) = NULL;
    p->fresh_block = 0;
    p->live = 0;
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
    fresh.free = fresh.held = NULL;
    fresh.tracked = false;
    fresh.live = fresh.peak_live = fresh.capacity = fresh.retired = 0;
    fresh.table = pool__no_blocks;
    fresh.table_mask = 0;
    fresh.blocks = NULL;
    fresh.block_count = fresh.block_cap = fresh.fresh_block = 0;
    /* When the generations have run out, new blocks take numbers the old
       handles never had instead, and generations start over. */
    if (top >= POOL_GEN_LIMIT - 2) {
        fresh.block_base = p->block_base + p->block_count;
        fresh.gen_floor = 0;
    } else {
        fresh.gen_floor = (top + 2) & ~1u;
    }
    *p = fresh;
    pool__set_quick(p);
    POOL__VG_CREATE(p);
}

/* Sets the marks of exactly the slots on the free list. */
static void pool__mark_free(Pool *p) {
    pool__Slot *f;
    uint32_t n;
    for (n = 0; n < p->block_count; n++)
        ARENA_MEMSET(p->blocks[n]->marks, 0, pool__mark_words(p->blocks[n]->count) * sizeof(uint64_t));
    for (f = *pool__list(p); f; f = pool__next(p, f)) {
        PoolBlock *b = pool__block_of(p, f);
        pool__mark(b, pool__index(p, b, f));
    }
}

/* Live = handed out since the reset and not marked free. fn may free the
   object it is given or any other (pool_free marks it while walking); an
   object allocated meanwhile may or may not be visited. */
POOL_DEF void pool_each(Pool *p, void (*fn)(void *obj, void *ctx), void *ctx) {
    uint32_t n, i, blocks = p->block_count;
    if (!fn) {
        arena__report(ARENA_ERR_MISUSE, "pool_each: the function is NULL");
        return;
    }
    pool__mark_free(p);
    p->walking++;
    pool__set_quick(p);
    for (n = 0; n < blocks; n++) {
        PoolBlock *b = p->blocks[n];
        size_t carved = pool__carved(p, b);
        for (i = 0; (size_t)i * p->stride < carved; i++)
            if (!pool__marked(b, i) && b->gens[i] != POOL_GEN_LIMIT) fn(b->slots + (size_t)i * p->stride, ctx);
    }
    p->walking--;
    pool__set_quick(p);
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

/* The first handle switches the pool to tracked: every live slot's
   generation is made odd, every other one even, and from then on every
   alloc and free keeps them so, out of line (the free list moves to
   `held`, so the inline pool_alloc finds it empty). Pools without handles
   never pay for generations. */
static void pool__track(Pool *p) {
    uint32_t n, i;
    if (p->tracked || !p->stride) return;
    pool__mark_free(p);
    for (n = 0; n < p->block_count; n++) {
        PoolBlock *b = p->blocks[n];
        size_t carved = pool__carved(p, b);
        for (i = 0; (size_t)i * p->stride < carved; i++)
            if (!pool__marked(b, i) && !(b->gens[i] & 1)) b->gens[i]++;
    }
    p->held = p->free;
    p->free = NULL;
    p->tracked = true;
    pool__set_quick(p);
}

static PoolHandle pool__handle(const Pool *p, const PoolBlock *b, uint32_t i) {
    PoolHandle h;
    h.index = ((p->block_base + b->number) << p->index_shift) | i;
    h.gen = b->gens[i];
    return h;
}

/* const: a handle changes how the pool keeps its books (it may turn
   generations on), not what it holds. */
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
    pool__track((Pool *)(uintptr_t)p);
    return pool__handle(p, b, i);
}

POOL_DEF PoolHandle pool_alloc_handle(Pool *p) {
    PoolHandle h;
    void *obj;
    pool__track(p);
    obj = pool_alloc(p);
    ARENA_MEMSET(&h, 0, sizeof h);
    if (obj) {
        PoolBlock *b = pool__block_of(p, obj);
        h = pool__handle(p, b, pool__index(p, b, obj));
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
