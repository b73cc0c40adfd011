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

   PoolHeap: malloc, realloc and free over size classes of pools, for code
   with allocator hooks (Lua, expat, SQLite, stb_ds) that should still die
   at once and stay under one cap:
       PoolHeap heap = {0};                     // or pool_heap_init(&heap, &opt)
       void *p = pool_heap_alloc(&heap, n);     // _calloc, _realloc(heap, p, n)
       pool_heap_free(&heap, p);                // false + error on misuse
       size_t room = pool_heap_size(&heap, p);  // usable size; 0 if not live
       pool_heap_release(&heap);                // everything, at once
   (see "PoolHeap: size classes on pools" below).

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

/* ======================================================================== */
/*                    PoolHeap: size classes on pools                       */
/* ======================================================================== */
/* malloc, calloc, realloc and free for code that needs them (allocator
   hooks of third-party libraries, data that grows and shrinks), with
   checked frees and one lifetime: pool_heap_reset / pool_heap_release free
   everything at once, whatever the code forgot.

   Sizes up to POOL_HEAP_MAX_CLASS (8 KiB) go to one Pool per size class:
   multiples of 16 up to 128 bytes, then four classes per power of two
   (160, 192, 224, 256, 320, ...), so a request of more than 128 bytes
   wastes less than a fifth of its class. Larger sizes come straight from
   the source, one grab each, and go back to it on free. Every block the
   heap holds is entered, by 8 KiB chunk, in the heap's own hash index, so
   a pointer finds its size class (or its large block) in O(1) without
   reading memory it does not own; the class's pool_free then checks it
   exactly. One max_bytes caps the whole heap; a class whose objects are
   all freed gives its blocks back when another class or a large request
   needs room under the cap.

   A PoolHeap must stay where it is once used (its pools point back at it). */

#define POOL_HEAP_MAX_CLASS ((size_t)8192)
#define POOL__HEAP_CLASSES 32u
#define POOL__HEAP_CHUNK_SHIFT 13u   /* index chunks of 8 KiB: every block is larger */

typedef struct PoolHeapStats {
    size_t live_count;   /* allocations not yet freed */
    size_t live_bytes;   /* their usable bytes (pool_heap_size) */
    size_t peak_bytes;   /* the most live_bytes has been */
    size_t bytes_held;   /* held from the source: pool blocks, large
                            allocations and the heap's index */
    size_t grab_count;   /* calls made to the source, ever */
} PoolHeapStats;

struct PoolHeap;
typedef struct pool__HeapClass {   /* internal: one size class */
    Pool pool;
    struct PoolHeap *heap;
    size_t size;                   /* the class's usable size */
    unsigned index;
} pool__HeapClass;

typedef struct pool__HeapChunk {   /* internal: an entry of the index */
    uintptr_t key;                 /* chunk number + 1; 0: empty */
    uintptr_t boundary;            /* lo owns the chunk below it, hi from it on */
    void *lo, *hi;                 /* a pool__HeapClass, or a large block | 1 */
} pool__HeapChunk;

typedef struct pool__HeapLarge pool__HeapLarge;   /* internal */

typedef struct PoolHeap {
    pool__HeapClass *cls[POOL__HEAP_CLASSES];   /* created on first use */
    pool__HeapChunk *map;                       /* the index, NULL until used */
    size_t map_mask, map_used;
    pool__HeapLarge *large;                     /* large allocations, newest first */
    size_t large_count;                         /* (small ones: their pools count) */
    size_t live_bytes, peak_bytes, bytes_held, grab_count;
    ArenaOptions opt;
} PoolHeap;

POOL_DEF void pool_heap_init(PoolHeap *h, const ArenaOptions *opt);
static inline void *pool_heap_alloc(PoolHeap *h, size_t size);
POOL_DEF void *pool_heap_calloc(PoolHeap *h, size_t count, size_t size);
POOL_DEF void *pool_heap_realloc(PoolHeap *h, void *p, size_t size);
static inline bool pool_heap_free(PoolHeap *h, void *p);
POOL_DEF size_t pool_heap_size(const PoolHeap *h, const void *p);
POOL_DEF void pool_heap_reset(PoolHeap *h);
POOL_DEF void pool_heap_release(PoolHeap *h);
POOL_DEF PoolHeapStats pool_heap_stats(const PoolHeap *h);

/* ---- the heap's fast paths: a size class's pool, found in O(1) ---------- */

POOL_DEF void *pool__heap_alloc_slow(PoolHeap *h, size_t size);
POOL_DEF bool pool__heap_free_slow(PoolHeap *h, void *p, void *owner);

static inline unsigned pool__heap_log2(size_t n) {   /* floor, n > 0 */
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)(sizeof(unsigned long long) * 8 - 1) - (unsigned)__builtin_clzll((unsigned long long)n);
#else
    unsigned k = 0;
    while (n >>= 1) k++;
    return k;
#endif
}

/* The class of a size up to POOL_HEAP_MAX_CLASS: 0..7 are 16..128 bytes,
   then four per power of two. */
static inline unsigned pool__heap_class(size_t size) {
    size_t n = size ? size - 1 : 0;
    unsigned b;
    if (n < 128) return (unsigned)(n >> 4);
    b = pool__heap_log2(n);
    return 8u + (b - 7u) * 4u + (unsigned)((n >> (b - 2u)) & 3u);
}

static inline size_t pool__heap_hash(uintptr_t key, size_t mask) {
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15u) >> 32) & mask;
}

/* Who owns the memory at p: a size class, a large block (bit 0 set), or
   nobody (NULL). Only the heap's index is read. */
static inline void *pool__heap_owner(const PoolHeap *h, const void *p) {
    uintptr_t key = ((uintptr_t)p >> POOL__HEAP_CHUNK_SHIFT) + 1;
    const pool__HeapChunk *m = h->map;
    size_t i;
    if (!m) return NULL;
    for (i = pool__heap_hash(key, h->map_mask);; i = (i + 1) & h->map_mask) {
        if (m[i].key == key) return (uintptr_t)p < m[i].boundary ? m[i].lo : m[i].hi;
        if (!m[i].key) return NULL;
    }
}

static inline void pool__heap_count(PoolHeap *h, size_t bytes) {
    h->live_bytes += bytes;
    if (h->live_bytes > h->peak_bytes) h->peak_bytes = h->live_bytes;
}

static inline void *pool_heap_alloc(PoolHeap *h, size_t size) {
    pool__HeapClass *c;
    void *p;
    if (!ARENA__LIKELY(size <= POOL_HEAP_MAX_CLASS && (c = h->cls[pool__heap_class(size)]) != NULL))
        return pool__heap_alloc_slow(h, size);
    p = pool_alloc(&c->pool);
    if (ARENA__LIKELY(p != NULL)) pool__heap_count(h, c->size);
    return p;
}

/* A small allocation is freed by its class's pool_free, which checks it
   (or, under POOL_UNCHECKED, trusts it) exactly as for any pool. */
static inline bool pool_heap_free(PoolHeap *h, void *p) {
    void *owner = pool__heap_owner(h, p);
    pool__HeapClass *c = (pool__HeapClass *)owner;
    if (!ARENA__LIKELY(owner && !((uintptr_t)owner & 1)))
        return pool__heap_free_slow(h, p, owner);
    if (!pool_free(&c->pool, p)) return false;
    h->live_bytes -= c->size;
    return true;
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

/* ======================================================================== */
/*                       PoolHeap implementation                            */
/* ======================================================================== */

#define POOL__HEAP_CHUNK ((uintptr_t)1 << POOL__HEAP_CHUNK_SHIFT)
#define POOL__HEAP_BLOCK ((size_t)2 << POOL__HEAP_CHUNK_SHIFT)   /* a class's first arena block, at least */
#define POOL__HEAP_MAX_BLOCK ((size_t)256 << 10)                /* where its growth stops doubling */

/* A large allocation: this header, then the caller's bytes. */
struct pool__HeapLarge {
    pool__HeapLarge *prev, *next;
    size_t grabbed;   /* the size grabbed from the source */
    size_t usable;    /* the caller's bytes */
};
#define POOL__HEAP_LARGE_HEAD arena__align_up(sizeof(pool__HeapLarge), ARENA_MIN_ALIGN)

static size_t pool__heap_class_size(unsigned k) {
    unsigned b = 7u + (k - 8u) / 4u;
    if (k < 8) return (size_t)(k + 1) * 16;
    return (size_t)(5u + (k - 8u) % 4u) << (b - 2u);
}

static char *pool__heap_large_data(pool__HeapLarge *l) { return (char *)l + POOL__HEAP_LARGE_HEAD; }

/* ---- the source, under the heap's one cap ---------------------------------- */

static void *pool__heap_source_grab(PoolHeap *h, size_t size) {
    h->grab_count++;
    if (h->opt.source.grab) return h->opt.source.grab(h->opt.source.ctx, size);
#ifdef ARENA_NO_MALLOC
    return NULL;
#else
    return ARENA_MALLOC(size);
#endif
}

static void pool__heap_drop(PoolHeap *h, void *block, size_t size) {
    h->bytes_held -= size;
    if (h->opt.source.grab) {
        if (h->opt.source.drop) h->opt.source.drop(h->opt.source.ctx, block, size);
    } else {
#ifndef ARENA_NO_MALLOC
        ARENA_FREE(block);
#endif
    }
}

/* Room under the cap for `size` more bytes: classes whose objects are all
   freed (other than `except`, which is growing) give their blocks back. */
static bool pool__heap_room(PoolHeap *h, size_t size, const pool__HeapClass *except) {
    unsigned k;
    size_t max = h->opt.max_bytes;
    if (!max || (h->bytes_held <= max && size <= max - h->bytes_held)) return true;
    for (k = 0; k < POOL__HEAP_CLASSES; k++) {
        pool__HeapClass *c = h->cls[k];
        PoolStats st;
        if (!c || c == except) continue;
        st = pool_stats(&c->pool);
        if (!st.live && st.bytes_held) pool_release(&c->pool);
    }
    return h->bytes_held <= max && size <= max - h->bytes_held;
}

/* `size` bytes from the source, counted against the cap; NULL (quietly)
   when neither the cap nor the source allows. */
static void *pool__heap_grab(PoolHeap *h, size_t size, const pool__HeapClass *except) {
    void *mem;
    if (!pool__heap_room(h, size, except)) return NULL;
    mem = pool__heap_source_grab(h, size);
    if (mem) h->bytes_held += size;
    return mem;
}

/* ---- the index: chunk -> owner ---------------------------------------------- */

static pool__HeapChunk *pool__heap_slot(PoolHeap *h, uintptr_t key) {
    size_t i = pool__heap_hash(key, h->map_mask);
    while (h->map[i].key && h->map[i].key != key) i = (i + 1) & h->map_mask;
    return &h->map[i];
}

/* Room in the index for `more` entries, at most half full. */
static bool pool__heap_map_reserve(PoolHeap *h, size_t more, const pool__HeapClass *except) {
    size_t cap = h->map ? h->map_mask + 1 : 0, size = cap ? cap : 64, i;
    pool__HeapChunk *old = h->map, *m;
    if (2 * (h->map_used + more) <= cap) return true;
    while (size < 2 * (h->map_used + more)) size *= 2;
    m = (pool__HeapChunk *)pool__heap_grab(h, size * sizeof *m, except);
    if (!m) return false;
    ARENA_MEMSET(m, 0, size * sizeof *m);
    h->map = m;
    h->map_mask = size - 1;
    for (i = 0; i < cap; i++)
        if (old[i].key) *pool__heap_slot(h, old[i].key) = old[i];
    if (old) pool__heap_drop(h, old, cap * sizeof *old);
    return true;
}

/* Chunks of [lo, hi): the entries a block needs. */
static size_t pool__heap_chunks(uintptr_t lo, uintptr_t hi) {
    return (size_t)(((hi - 1) >> POOL__HEAP_CHUNK_SHIFT) - (lo >> POOL__HEAP_CHUNK_SHIFT)) + 1;
}

/* The sides of chunk c that block [lo, hi) takes: 1, the part below the
   boundary (the block ends in c); 2, the part from it on (the block starts
   in c); 3, all of c. Blocks are larger than a chunk, so a chunk holds the
   end of at most one block and the start of at most one other. */
static unsigned pool__heap_sides(uintptr_t lo, uintptr_t hi, uintptr_t c) {
    if (lo > c) return 2;
    return hi - c >= POOL__HEAP_CHUNK ? 3 : 1;
}

/* Enters [lo, hi) as owner's. */
static void pool__heap_map_add(PoolHeap *h, uintptr_t lo, uintptr_t hi, void *owner) {
    uintptr_t c = lo & ~(POOL__HEAP_CHUNK - 1);
    size_t n = pool__heap_chunks(lo, hi);
    for (; n--; c += POOL__HEAP_CHUNK) {
        uintptr_t key = (c >> POOL__HEAP_CHUNK_SHIFT) + 1;
        pool__HeapChunk *e = pool__heap_slot(h, key);
        unsigned sides = pool__heap_sides(lo, hi, c);
        if (!e->key) {
            e->key = key;
            e->lo = e->hi = NULL;
            h->map_used++;
        }
        if (sides & 1) e->lo = owner;
        if (sides & 2) e->hi = owner;
        if (sides == 2) e->boundary = lo;
        else if (sides == 1 && !e->hi) e->boundary = hi;
    }
}

/* Removes entry e, moving later entries of its probe run back (no tombstones). */
static void pool__heap_map_delete(PoolHeap *h, pool__HeapChunk *e) {
    size_t i = (size_t)(e - h->map), j = i;
    h->map_used--;
    for (;;) {
        size_t k;
        j = (j + 1) & h->map_mask;
        if (!h->map[j].key) break;
        k = pool__heap_hash(h->map[j].key, h->map_mask);
        if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
            h->map[i] = h->map[j];
            i = j;
        }
    }
    h->map[i].key = 0;
}

/* Takes [lo, hi) out: only the sides it took, since a neighbour may have
   the same owner (two blocks of one class). */
static void pool__heap_map_remove(PoolHeap *h, uintptr_t lo, uintptr_t hi) {
    uintptr_t c = lo & ~(POOL__HEAP_CHUNK - 1);
    size_t n = pool__heap_chunks(lo, hi);
    for (; n--; c += POOL__HEAP_CHUNK) {
        pool__HeapChunk *e = pool__heap_slot(h, (c >> POOL__HEAP_CHUNK_SHIFT) + 1);
        unsigned sides = pool__heap_sides(lo, hi, c);
        if (!e->key) continue;
        if (sides & 1) e->lo = NULL;
        if (sides & 2) e->hi = NULL;
        if (!e->lo && !e->hi) pool__heap_map_delete(h, e);
    }
}

/* A block of `size` bytes, with room for it in the index. */
static void *pool__heap_block(PoolHeap *h, size_t size, const pool__HeapClass *except) {
    if (!pool__heap_map_reserve(h, (size >> POOL__HEAP_CHUNK_SHIFT) + 2, except)) return NULL;
    return pool__heap_grab(h, size, except);
}

/* The source of every class's pool: memory under the heap's cap. Blocks
   larger than a chunk (where objects live) are entered in the index as the
   class's; smaller grabs (a pool's own tables) are not: a pointer into
   them reaches a neighbour's owner at most, whose own check refuses it. */
static void *pool__heap_pool_grab(void *ctx, size_t size) {
    pool__HeapClass *c = (pool__HeapClass *)ctx;
    void *mem = pool__heap_block(c->heap, size, c);
    if (mem && size > POOL__HEAP_CHUNK) pool__heap_map_add(c->heap, (uintptr_t)mem, (uintptr_t)mem + size, c);
    return mem;
}

static void pool__heap_pool_drop(void *ctx, void *block, size_t size) {
    pool__HeapClass *c = (pool__HeapClass *)ctx;
    if (size > POOL__HEAP_CHUNK) pool__heap_map_remove(c->heap, (uintptr_t)block, (uintptr_t)block + size);
    pool__heap_drop(c->heap, block, size);
}

/* ---- size classes ------------------------------------------------------------ */

/* Where a class's arena blocks stop doubling: small, so that a capped heap
   is not held in half-empty blocks, yet four pool blocks at least (a pool
   block holds eight objects; see pool_init_opts), or every pool block
   would take an arena block of its own. */
static size_t pool__heap_max_block(size_t size) {
    size_t b = POOL_BLOCK_SIZE;
    while (b < 9 * (size + ARENA__REDZONE) + 256) b *= 2;
    return 4 * b > POOL__HEAP_MAX_BLOCK ? 4 * b : POOL__HEAP_MAX_BLOCK;
}

static pool__HeapClass *pool__heap_new_class(PoolHeap *h, unsigned k) {
    ArenaOptions o;
    pool__HeapClass *c = (pool__HeapClass *)pool__heap_grab(h, sizeof *c, NULL);
    if (!c) {
        arena__report(ARENA_ERR_OOM, "pool_heap_alloc: out of memory (the source, or the heap's max_bytes)");
        return NULL;
    }
    ARENA_MEMSET(&o, 0, sizeof o);
    o.block_size = h->opt.block_size > POOL__HEAP_BLOCK ? h->opt.block_size : POOL__HEAP_BLOCK;
    o.max_block_size = h->opt.max_block_size ? h->opt.max_block_size : pool__heap_max_block(pool__heap_class_size(k));
    o.source.grab = pool__heap_pool_grab;
    o.source.drop = pool__heap_pool_drop;
    o.source.ctx = c;
    c->heap = h;
    c->index = k;
    c->size = pool__heap_class_size(k);
    pool_init_opts(&c->pool, c->size, ARENA_MIN_ALIGN, &o);
    h->cls[k] = c;
    return c;
}

static void pool__heap_drop_class(PoolHeap *h, unsigned k) {
    pool_release(&h->cls[k]->pool);
    pool__heap_drop(h, h->cls[k], sizeof *h->cls[k]);
    h->cls[k] = NULL;
}

/* ---- large allocations ------------------------------------------------------- */

static void *pool__heap_large_alloc(PoolHeap *h, size_t size, bool quiet) {
    size_t usable = ARENA__ROUND(size), grabbed = POOL__HEAP_LARGE_HEAD + usable;
    pool__HeapLarge *l = (pool__HeapLarge *)pool__heap_block(h, grabbed, NULL);
    if (!l) {
        if (!quiet) arena__report(ARENA_ERR_OOM, "pool_heap_alloc: out of memory (the source, or the heap's max_bytes)");
        return NULL;
    }
    pool__heap_map_add(h, (uintptr_t)l, (uintptr_t)l + grabbed, (void *)((uintptr_t)l | 1));
    l->prev = NULL;
    l->next = h->large;
    if (h->large) h->large->prev = l;
    h->large = l;
    h->large_count++;
    l->grabbed = grabbed;
    l->usable = usable;
    arena__hand_out(pool__heap_large_data(l), usable);
    pool__heap_count(h, usable);
    return pool__heap_large_data(l);
}

static pool__HeapLarge *pool__heap_large_of(void *owner) {
    return (pool__HeapLarge *)((uintptr_t)owner & ~(uintptr_t)1);
}

static void pool__heap_large_free(PoolHeap *h, pool__HeapLarge *l) {
    size_t grabbed = l->grabbed;   /* read before unpoisoning: memcheck's "undefined" */
    if (l->prev) l->prev->next = l->next;
    else h->large = l->next;
    if (l->next) l->next->prev = l->prev;
    h->large_count--;
    h->live_bytes -= l->usable;
    pool__heap_map_remove(h, (uintptr_t)l, (uintptr_t)l + grabbed);
    arena__take_back(pool__heap_large_data(l), l->usable);
    ARENA__UNPOISON(l, grabbed);
    pool__heap_drop(h, l, grabbed);
}

/* ---- the API ------------------------------------------------------------------ */

POOL_DEF void pool_heap_init(PoolHeap *h, const ArenaOptions *opt) {
    ARENA_MEMSET(h, 0, sizeof *h);
    if (opt) h->opt = *opt;
}

POOL_DEF void *pool__heap_alloc_slow(PoolHeap *h, size_t size) {
    unsigned k;
    void *p;
    if (size > POOL_HEAP_MAX_CLASS) {
        if (size > ARENA__MAX_REQUEST - POOL__HEAP_LARGE_HEAD)
            return arena__fail(ARENA_ERR_OVERFLOW, "pool_heap_alloc: the size is too large");
        return pool__heap_large_alloc(h, size, false);
    }
    k = pool__heap_class(size);
    if (!h->cls[k] && !pool__heap_new_class(h, k)) return NULL;
    p = pool_alloc(&h->cls[k]->pool);
    if (p) pool__heap_count(h, h->cls[k]->size);
    return p;
}

POOL_DEF void *pool_heap_calloc(PoolHeap *h, size_t count, size_t size) {
    void *p;
    if (size && count > SIZE_MAX / size)
        return arena__fail(ARENA_ERR_OVERFLOW, "pool_heap_calloc: count * size overflows");
    p = pool_heap_alloc(h, count * size);
    if (p) ARENA_MEMSET(p, 0, count * size);
    return p;
}

/* Everything the inline free does not settle: NULL, large blocks, and
   pointers the heap does not own. */
POOL_DEF bool pool__heap_free_slow(PoolHeap *h, void *p, void *owner) {
    if (!p) return true;
    if (owner && pool__heap_large_data(pool__heap_large_of(owner)) == (char *)p) {
        pool__heap_large_free(h, pool__heap_large_of(owner));
        return true;
    }
    arena__report(ARENA_ERR_MISUSE, owner ? "pool_heap_free: a pointer inside a large allocation, not its start"
                                          : "pool_heap_free: the pointer is not an allocation of this heap");
    return false;
}

POOL_DEF size_t pool_heap_size(const PoolHeap *h, const void *p) {
    void *owner = p ? pool__heap_owner(h, p) : NULL;
    pool__HeapLarge *l = pool__heap_large_of(owner);
    if (!owner) return 0;
    if (!((uintptr_t)owner & 1)) {
        const pool__HeapClass *c = (const pool__HeapClass *)owner;
        return pool_owns(&c->pool, p) ? c->size : 0;
    }
    return pool__heap_large_data(l) == (const char *)p ? l->usable : 0;
}

/* Would an allocation of `size` succeed without calling the source? (A
   shrinking realloc never fails: it moves only when it surely can.) */
static bool pool__heap_has_room(const PoolHeap *h, size_t size) {
    const pool__HeapClass *c = size <= POOL_HEAP_MAX_CLASS ? h->cls[pool__heap_class(size)] : NULL;
    PoolStats st;
    if (!c) return false;
    st = pool_stats(&c->pool);
    return st.live < st.capacity;
}

static void *pool__heap_move(PoolHeap *h, void *p, size_t old, size_t size) {
    void *q = pool_heap_alloc(h, size);
    if (!q) return NULL;
    ARENA_MEMCPY(q, p, old < size ? old : size);
    pool_heap_free(h, p);
    return q;
}

/* Stays in place while the new size fits and uses more than half of the
   room; shrinks further move when they can without calling the source,
   or (large blocks) when the source gives a smaller block. */
POOL_DEF void *pool_heap_realloc(PoolHeap *h, void *p, size_t size) {
    size_t old;
    void *q;
    if (!p) return pool_heap_alloc(h, size);
    old = pool_heap_size(h, p);
    if (!old) {
        arena__report(ARENA_ERR_MISUSE, "pool_heap_realloc: the pointer is not a live allocation of this heap");
        return NULL;
    }
    if (size > old) return pool__heap_move(h, p, old, size);
    if (size > old / 2) return p;
    if (old > POOL_HEAP_MAX_CLASS && size > POOL_HEAP_MAX_CLASS) {
        q = pool__heap_large_alloc(h, size, true);
        if (!q) return p;
        ARENA_MEMCPY(q, p, size);
        pool_heap_free(h, p);
        return q;
    }
    return pool__heap_has_room(h, size) ? pool__heap_move(h, p, old, size) : p;
}

POOL_DEF void pool_heap_reset(PoolHeap *h) {
    unsigned k;
    for (k = 0; k < POOL__HEAP_CLASSES; k++)
        if (h->cls[k]) pool_reset(&h->cls[k]->pool);
    while (h->large) pool__heap_large_free(h, h->large);
    h->live_bytes = 0;
}

POOL_DEF void pool_heap_release(PoolHeap *h) {
    unsigned k;
    ArenaOptions opt = h->opt;
    for (k = 0; k < POOL__HEAP_CLASSES; k++)
        if (h->cls[k]) pool__heap_drop_class(h, k);
    while (h->large) pool__heap_large_free(h, h->large);
    if (h->map) pool__heap_drop(h, h->map, (h->map_mask + 1) * sizeof *h->map);
    pool_heap_init(h, &opt);
}

POOL_DEF PoolHeapStats pool_heap_stats(const PoolHeap *h) {
    PoolHeapStats s;
    unsigned k;
    s.live_count = h->large_count;
    for (k = 0; k < POOL__HEAP_CLASSES; k++)
        if (h->cls[k]) s.live_count += pool_stats(&h->cls[k]->pool).live;
    s.live_bytes = h->live_bytes;
    s.peak_bytes = h->peak_bytes;
    s.bytes_held = h->bytes_held;
    s.grab_count = h->grab_count;
    return s;
}

#endif /* POOL_IMPLEMENTATION */
