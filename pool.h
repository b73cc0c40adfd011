/* pool.h v0.1.0 - fixed-size object pools with checked frees and handles that
   cannot dangle, for C and C++. Built on arena.h.

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
       POOL_INIT(&bullets, Bullet);             // grows on demand
       Bullet *b = pool_alloc(&bullets);        // pool_calloc: zeroed
       pool_free(&bullets, b);                  // false + error on misuse
       PoolHandle h;
       Bullet *c = pool_alloc_with_handle(&bullets, &h);
       Bullet *p = pool_get(&bullets, h);       // NULL once freed
       pool_free_handle(&bullets, h);
       pool_trim(&bullets);                     // give back what is unused
       pool_release(&bullets);

   PoolHeap: malloc, realloc and free over size classes of pools, for code
   with allocator hooks (Lua, expat, SQLite, stb_ds) that should still die
   at once and stay under one cap:
       PoolHeap heap = {0};                     // or pool_heap_init(&heap, &opt)
       void *p = pool_heap_alloc(&heap, n);     // _calloc, _realloc(heap, p, n)
       pool_heap_free(&heap, p);                // false + error on misuse
       size_t room = pool_heap_size(&heap, p);  // usable size; 0 if not live
       pool_heap_trim(&heap);                   // give back what is unused
       pool_heap_release(&heap);                // everything, at once
   (see "PoolHeap: size classes on pools" below).

   HOW IT WORKS
       Slots are numbered. Every slot has an 8-byte header just before its
       object: its number and a 32-bit generation, odd while the object is
       live. The header is the pool's alone (poisoned under ASan), so a
       free reads no memory the pool does not own and liveness is exact.
       Where the platform allows, a pool's slots form one contiguous run:
       on 64-bit systems a pool reserves address space once and commits it
       as it grows; a buffer pool is its buffer. Then slot n is at
       run + n * stride, a free is a subtract, a compare, a multiply (the
       header's number times the stride must give the offset back: this
       proves the pointer is a slot's start) and the generation; a handle
       resolves with one load. Pools on an ArenaSource, with
       ARENA_NO_VIRTUAL and on 32-bit systems grow by blocks taken one by
       one from the source; a pointer finds its block through a small hash
       table of address granules, out of line, with the same guarantees.
       Free slots form an intrusive list through their objects' first word.

   THREADS
       pool_init_opts with ArenaOptions.flags = ARENA_SHARED: alloc, free
       and the handle calls from many threads at once (lock-free on a
       virtual run, through a per-thread cache of free slots that a
       thread's exit gives back; under a lock on block pools); reset,
       release, trim and pool_each at a frame boundary. pool_heap_init
       with the flag: every call from many threads at once (small sizes
       lock-free: each class is a shared pool; large blocks under the
       heap's lock); reset, trim and release at a frame boundary. See
       README "Threads".

   SNAPSHOTS
       pool_snapshot / pool_restore (with an Arena as the store) put a pool
       back as it was: for rollback and undo; see "snapshots" below.

   SECTIONS OF THIS FILE (search for "---- name")
       declarations   configuration, the API, the fast paths, snapshots;
                      PoolHeap: its API and the heap's fast paths
       IMPLEMENTATION the pool's private words (headers, free-list links),
                      memory from the source, runs of slots, virtual
                      pools, block pools, generations held in reserve,
                      carving fresh slots, alloc and free, init, reset /
                      release / trim / each / stats, handles, sharing
                      across threads (per-thread caches), snapshots; then PoolHeap: the
                      source under the heap's one cap, the index (chunk
                      -> owner), the classes' reservation, size classes,
                      large allocations, the API

   CONFIGURATION (besides arena.h's; define before the first include; the
   defaults are in one block right below this comment)
     Read by every file that includes pool.h.
       POOL_UNCHECKED        pool_free trusts its argument (release builds:
                             no range or double-free check; a free is a
                             push, an alloc a pop, each with a generation
                             step). Any mix of files with and without it is
                             fine
       POOL_GEN_LIMIT        a slot whose generation reaches this (even)
                             value is retired for good (default 0xFFFFFFFE),
                             so an old handle can never come back to life;
                             keep it the same in every file
     Read only by the file that defines POOL_IMPLEMENTATION.
       POOL_BLOCK_SIZE       block size of block pools (default 64 KiB;
                             virtual pools commit a page, then double)
       POOL_VIRTUAL_RESERVE  address space a virtual pool reserves (default
                             64 GiB; less if max_bytes is smaller)
       POOL_HEAP_VIRTUAL_RESERVE  address space a PoolHeap reserves for its
                             classes, cut into 32 parts (default 8 x
                             POOL_VIRTUAL_RESERVE: 512 GiB; a capped heap
                             takes less)
       POOL_THREAD_CACHES    per-thread caches of free slots, one per
                             ARENA_SHARED pool in use, a shared PoolHeap's
                             size classes included (default 64, 256 bytes
                             each); pools beyond that share them, and
                             a thread that alternates between two pools of
                             one cache hands it back and forth (slow)

   FOR PoolHeap / THREADS (internal hooks, not API)
       - Slot numbers: every slot's header (POOL__HDR(obj)) holds its
         number and generation; a handle's index is p->index_base + that
         number. Run pools: slot n is p->run + n * p->stride. Block pools:
         block n >> p->index_shift (pool__block), slot n & the low bits
         (pool__slot). So a free list can link slot numbers (32 bits) and
         keep a tag beside the head in one 64-bit word, ABA-safe.
       - Liveness is the header's generation (odd = live), changed only by
         an alloc (+1) and a free (+1): one word per slot to CAS.
       - Budget: p->budget (a PoolBudget: held, max; NULL = the pool's
         own) is charged for every byte a pool takes from its source or
         commits, and credited when it gives bytes back; point several
         pools at one PoolBudget to cap them together (pool__take
         refuses what would pass max: ARENA_ERR_OOM). The count is
         atomic, checked and added in one step (pool__budget_take): a
         shared PoolHeap's classes grow under locks of their own.
       - pool_trim gives back whole empty blocks (block pools) and the
         committed pages above the highest live slot (virtual pools), so
         memory freed by one pool can serve another under one budget. A
         virtual pool also gives back the whole pages inside its
         run with no kept slot (holes, p->hole_bytes): their slots' headers
         are all zero, they are on no free list, and pool__fill_holes
         brings them all back (alloc slow path, carve, snapshot, restore).
       - Blocks come one by one from the source (pool__grab / pool__drop),
         never from an arena: any block can go back on its own.
       - A lent range: a virtual pool given p->vm, p->vm_reserved and
         p->vm_lent before its first allocation runs its slots there (a
         PoolHeap's class in its part of the heap's reservation); it
         commits by an eighth of what it holds, and release decommits
         the range but never releases it.

   LICENSE: MIT (see the end of arena.h).
*/
#ifndef POOL_H
#define POOL_H

/* ==== CONFIGURATION: the default of every option (see above) ==== */
/* POOL_UNCHECKED: off unless defined */
#ifndef POOL_BLOCK_SIZE
#define POOL_BLOCK_SIZE ((size_t)64 << 10)
#endif
#ifndef POOL_VIRTUAL_RESERVE
#define POOL_VIRTUAL_RESERVE ((size_t)((uint64_t)1 << 36 & SIZE_MAX))   /* 64-bit only */
#endif
#ifndef POOL_HEAP_VIRTUAL_RESERVE
#define POOL_HEAP_VIRTUAL_RESERVE (POOL_VIRTUAL_RESERVE * 8)   /* 64-bit only */
#endif
#ifndef POOL_THREAD_CACHES
#define POOL_THREAD_CACHES 64
#endif
#ifndef POOL_GEN_LIMIT
#define POOL_GEN_LIMIT 0xFFFFFFFEu
#endif
#if (POOL_GEN_LIMIT) & 1
#error "pool.h: POOL_GEN_LIMIT must be even"
#endif

#include "arena.h"

#ifdef ARENA_STATIC
#define POOL_DEF ARENA_DEF   /* static, and no warning for what is not called */
#elif defined(__cplusplus)
#define POOL_DEF extern "C"
#else
#define POOL_DEF extern
#endif

/* An object by index and generation; all zero is the null handle. */
typedef struct PoolHandle {
    uint32_t index, gen;
} PoolHandle;

typedef struct pool__Header {   /* internal: the 8 bytes before every object */
    uint32_t gen;               /* odd while live; POOL_GEN_LIMIT: retired */
    uint32_t index;             /* the slot's number */
} pool__Header;

typedef struct pool__Block {      /* internal: a run of slots */
    char *slots;                /* slot 0's object */
    size_t bytes;               /* block pools: bytes taken from the source */
    uint32_t count;             /* slots it holds (a virtual run: committed) */
    uint32_t carved;            /* slots handed out since the last reset */
    uint32_t first;             /* number of slot 0 */
} pool__Block;

struct Pool;
typedef struct PoolBudget {     /* internal: bytes held, and a cap (0: none) */
    size_t held, max;
    /* asked to make n bytes of room under max for the pool `growing`
       (NULL: nobody can); a PoolHeap's classes give back empty memory */
    void (*room)(struct PoolBudget *b, size_t n, const struct Pool *growing);
} PoolBudget;

typedef struct pool__Granule {  /* internal: block pools' address table */
    uintptr_t granule;
    uint32_t block;             /* block number + 1; 0: empty */
} pool__Granule;

typedef struct Pool {
    /* the inline paths */
    void *free;                 /* free slots, linked through their objects */
    char *run;                  /* run pools: slot 0's object */
    size_t run_bytes;           /* run pools: bytes of the slots carved */
    size_t stride;              /* bytes from one object to the next */
    size_t live;
    size_t carve_end;           /* run pools: the committed slots' bytes */
    uint32_t gen_floor;         /* generation of a new slot (even) */
    uint32_t index_base;        /* handle index of slot 0 */
    /* the rest */
    size_t size, align, peak_live, capacity, retired;
    size_t skipped;             /* run pools: retired slots passed over since the reset */
    uint64_t div_magic;         /* ceil(2^64 / stride): slow-path division */
    unsigned index_shift;       /* block pools: slot number = block << shift | slot */
    unsigned walking;           /* pool_each calls under way */
    int kind;
    pool__Block run_block;        /* run pools: the run */
    pool__Block **blocks;         /* block pools: by number; NULL once trimmed */
    uint32_t block_count, block_cap, fresh_block;
    size_t block_bytes, blocks_held;
    pool__Granule *table;       /* block pools: granule -> block, open addressing */
    size_t table_mask, table_used;
    unsigned granule_shift;
    char *vm;                   /* virtual pools: the reservation */
    size_t vm_reserved, vm_committed;
    size_t hole_bytes;          /* virtual pools: pages inside the run pool_trim gave back */
    bool vm_lent;               /* vm is a PoolHeap's: decommitted, never released */
    char *buf;                  /* buffer pools: the buffer */
    size_t buf_bytes;
    ArenaOptions opt;           /* source, max_bytes, block_size */
    size_t bytes_held, grab_count;
    PoolBudget own_budget, *budget;
    size_t shared;              /* ARENA_SHARED: its state (pool__Shared *), atomic */
} Pool;

typedef struct PoolStats {
    size_t live, capacity, peak_live;
    size_t block_count;   /* blocks held (a virtual or buffer pool: its run, 1) */
    size_t grab_count;    /* calls made to the source, ever (virtual: commits) */
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
POOL_DEF void pool_trim(Pool *p);
POOL_DEF void pool_each(Pool *p, void (*fn)(void *obj, void *ctx), void *ctx);
POOL_DEF PoolStats pool_stats(const Pool *p);

POOL_DEF PoolHandle pool_alloc_handle(Pool *p);
static inline void *pool_alloc_with_handle(Pool *p, PoolHandle *h);
static inline void *pool_get(const Pool *p, PoolHandle h);
static inline bool pool_free_handle(Pool *p, PoolHandle h);
POOL_DEF PoolHandle pool_handle_of(const Pool *p, const void *obj);

/* ---- the fast paths ------------------------------------------------------
   They touch the Pool and the object's own header and first word, nothing
   else. Anything unusual (a block pool's free, a bad pointer, a slot whose
   generation runs out, no free slot) goes out of line, where every case
   is checked exactly. Sanitizer, Valgrind and debug-fill builds take the
   out-of-line paths for everything (headers are poisoned there). */

POOL_DEF void *pool__alloc_slow(Pool *p);
POOL_DEF bool pool__free_slow(Pool *p, void *obj);
POOL_DEF void *pool__get_slow(const Pool *p, uint32_t index, uint32_t gen);
POOL_DEF void *pool__alloc_with_handle_slow(Pool *p, PoolHandle *h);
POOL_DEF bool pool__free_handle_slow(Pool *p, uint32_t index, uint32_t gen);

#if defined(__GNUC__) || defined(__clang__)
#define POOL__NONNULL(s) do { if (!(s)) __builtin_unreachable(); } while (0)
#else
#define POOL__NONNULL(s) ((void)0)
#endif
#define POOL__HDR(obj) ((pool__Header *)((uintptr_t)(obj) - sizeof(pool__Header)))

/* A generation rotated right by one: an odd (live) one has its top bit
   set and g >> 1 below it, an even one not. */
static inline uint32_t pool__rot(uint32_t g) { return (g >> 1) | (g << 31); }

/* r = pool__rot(g): g is live (odd) and its life may end (g + 1 is below
   the limit: the slot is not retiring). One signed compare: the odd g
   are the negative r, in order. Then g + 1 is r * 2 + 2. */
static inline bool pool__may_end(uint32_t r) {
    return (int32_t)r < (int32_t)((POOL_GEN_LIMIT - 1u) >> 1) - INT32_MAX - 1;
}

/* The slot number in the header before obj, which may be misaligned (obj
   might be an interior pointer): read as bytes. */
static inline uint32_t pool__number_at(const void *obj) {
    const char *w = (const char *)((uintptr_t)obj - sizeof(pool__Header) + offsetof(pool__Header, index));
    uint32_t v;
#if defined(__GNUC__) || defined(__clang__)
    __builtin_memcpy(&v, w, sizeof v);
#else
    ARENA_MEMCPY(&v, w, sizeof v);
#endif
    return v;
}

/* A checked free's end: the new generation, onto the free list. */
static inline void pool__push_fast(Pool *p, void *s, pool__Header *h, uint32_t g) {
    h->gen = g;
    *(void **)s = p->free;
    p->free = s;
    p->live--;
}

static inline void *pool_alloc(Pool *p) {
#if ARENA__CHECKED
    return pool__alloc_slow(p);
#else
    void *s = p->free;
    size_t off;
    if (ARENA__LIKELY(s != NULL)) {
        p->free = *(void **)s;
        POOL__HDR(s)->gen++;
        p->live++;
        return s;
    }
    /* the next slot of the run not handed out since the reset: free, or
       live at the reset (its life ends here), never used, or retired (the
       slow path passes it over) */
    off = p->run_bytes;
    if (ARENA__LIKELY(off < p->carve_end)) {
        uint32_t g;
        s = p->run + off;
        g = (POOL__HDR(s)->gen + 1) | 1;
        /* (a header holding a generation in reserve for pool_restore, not
           its number, goes out of line: its life ends at that floor) */
        if (ARENA__LIKELY(g < POOL_GEN_LIMIT && POOL__HDR(s)->index == p->run_block.carved)) {
            POOL__HDR(s)->gen = g;
            p->run_block.carved++;
            p->run_bytes = off + p->stride;
            p->live++;
            return s;
        }
    }
    return pool__alloc_slow(p);
#endif
}

/* Inline on a run pool: obj lies in the carved part of the run, the number
   in the header before it times the stride is its offset (so obj is a
   slot's start and the header is real: no division, no table), and the
   generation says live. */
static inline bool pool_free(Pool *p, void *obj) {
#if ARENA__CHECKED
    return pool__free_slow(p, obj);
#else
    pool__Header *h = POOL__HDR(obj);
    uint32_t g;
#ifdef POOL_UNCHECKED
    if (!ARENA__LIKELY(obj != NULL &&                            /* free(NULL): a no-op */
                       (g = h->gen + 1) != POOL_GEN_LIMIT))       /* the slot retires */
        return pool__free_slow(p, obj);
#else
    uintptr_t off = (uintptr_t)obj - (uintptr_t)p->run;
    if (!ARENA__LIKELY(off < p->run_bytes &&                     /* inside the run */
                       (uint64_t)pool__number_at(obj) * p->stride == off &&   /* a slot's start */
                       pool__may_end(g = pool__rot(h->gen))))    /* live, not retiring */
        return pool__free_slow(p, obj);
    g = g * 2 + 2;
#endif
    pool__push_fast(p, obj, h, g);
    return true;
#endif
}

/* One load after the index: the slot's header. */
static inline void *pool_get(const Pool *p, PoolHandle h) {
#if ARENA__CHECKED
    return pool__get_slow(p, h.index, h.gen);
#else
    uint32_t n = h.index - p->index_base;
    if (ARENA__LIKELY(n < p->run_block.carved)) {
        char *s = p->run + (size_t)n * p->stride;
        if (POOL__HDR(s)->gen != h.gen || !(h.gen & 1)) return NULL;
        POOL__NONNULL(s);   /* a carved slot of the run: the caller's NULL test folds away */
        return s;
    }
    return pool__get_slow(p, h.index, h.gen);
#endif
}

/* The handle names a live slot of the run (pool_get's test) whose header
   holds its own number (not a generation held in reserve by pool_restore):
   its free needs no other check. */
static inline bool pool_free_handle(Pool *p, PoolHandle h) {
#if !ARENA__CHECKED
    uint32_t n = h.index - p->index_base;
    if (ARENA__LIKELY(n < p->run_block.carved)) {
        char *s = p->run + (size_t)n * p->stride;
        pool__Header *hd = POOL__HDR(s);
        if (ARENA__LIKELY(hd->gen == h.gen && hd->index == n && pool__may_end(pool__rot(h.gen)))) {
            pool__push_fast(p, s, hd, h.gen + 1);
            return true;
        }
    }
#endif
    return pool__free_handle_slow(p, h.index, h.gen);
}

static inline void *pool_alloc_with_handle(Pool *p, PoolHandle *h) {
#if ARENA__CHECKED
    return pool__alloc_with_handle_slow(p, h);
#else
    void *obj;
    if (!ARENA__LIKELY(h != NULL)) return pool__alloc_with_handle_slow(p, h);
    obj = pool_alloc(p);
    h->index = obj ? p->index_base + POOL__HDR(obj)->index : 0;
    h->gen = obj ? POOL__HDR(obj)->gen : 0;
    return obj;
#endif
}

/* ---- snapshots ---------------------------------------------------------------

       PoolSnapshot s;
       pool_snapshot(&entities, &s, &store);   // the slots in use, copied
       ... spawn, despawn, take handles ...
       pool_restore(&entities, &s);            // back, byte for byte

   pool_restore puts the pool back as it was at the snapshot: every object
   live then is live again at its address with its bytes, and the handles
   taken before the snapshot are valid again; everything allocated since
   is free. A handle taken after the snapshot never becomes valid again:
   slots whose generations moved on since keep their newer generations in
   reserve (a restored object's slot skips them when it is next freed).
   The copy (the slots carved, headers included, plus a few words per
   block) lives in `store`; when it cannot give the room, the snapshot
   fails (its ARENA_ERR_OOM) and nothing changes. A restore after growth,
   frees or a reset works; after a release, or a trim that gave back a
   block of the snapshot, it is ARENA_ERR_MISUSE and changes nothing (a
   virtual pool commits pages a trim gave back again). */
typedef struct PoolSnapshot {
    const Pool *pool;       /* whose state this is; NULL: none taken */
    Pool state;             /* its fields at the snapshot */
    void *copy;             /* in the store: the block records, then the slots */
    size_t bytes, blocks;
} PoolSnapshot;

POOL_DEF bool pool_snapshot(Pool *p, PoolSnapshot *s, Arena *store);
POOL_DEF bool pool_restore(Pool *p, const PoolSnapshot *s);

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
   the source, one grab each, and go back to it on free.

   Where pools can be virtual (64-bit, memory from the OS, no
   ARENA_NO_VIRTUAL), the heap reserves one range of address space, cut
   into 32 equal parts, and each class's pool is a run in its part. A
   pointer's class is then (p - base) >> shift: a subtract, a compare and
   a shift, no memory read but the heap's; the class's inline pool_free
   checks the rest exactly (a run pool's free: no table either). A class
   holds at most its part (POOL_HEAP_VIRTUAL_RESERVE / 32: 16 GiB by
   default), as a pool holds at most its reservation. Elsewhere (a caller's source, 32-bit, ARENA_NO_VIRTUAL) the
   classes are block pools on the heap's source, and every block the heap
   holds is entered, by 8 KiB chunk, in the heap's own hash index, so a
   pointer finds its class (or its large block) in O(1) without reading
   memory it does not own: the same checks, out of line. Large blocks are
   in that index too. One max_bytes caps the whole heap (every pool's
   commits and blocks, the large blocks, the heap's own records); when a
   class or a large request needs room under the cap, the other classes
   give back their empty memory (pool_trim), so memory freed in one class
   serves another.

   A PoolHeap must stay where it is once used (its pools point back at it). */

#define POOL_HEAP_MAX_CLASS ((size_t)8192)
#define POOL__HEAP_CLASSES 32u
#define POOL__HEAP_CHUNK_SHIFT 13u   /* index chunks of 8 KiB: every block is larger */

typedef struct PoolHeapStats {
    size_t live_count;   /* allocations not yet freed */
    size_t live_bytes;   /* their usable bytes (pool_heap_size) */
    size_t peak_bytes;   /* the most live_bytes has been (a shared heap:
                            the sum of its classes' peaks, at least that) */
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
    /* the inline paths */
    uintptr_t vm_base;                          /* the classes' reservation */
    size_t vm_span;                             /* its bytes (0: none) */
    unsigned vm_shift;                          /* log2 of a class's part */
    pool__HeapClass *cls[POOL__HEAP_CLASSES];   /* created on first use */
    size_t live_bytes, peak_bytes;
    /* the rest */
    pool__HeapChunk *map;                       /* the index, NULL until used */
    size_t map_mask, map_used;
    pool__HeapLarge *large;                     /* large allocations, newest first */
    size_t large_count;                         /* (small ones: their pools count) */
    size_t grab_count;
    PoolBudget budget;                          /* every byte held; max: opt.max_bytes */
    bool vm_tried;                              /* the reservation was tried */
    bool lock_free;                             /* a shared heap's core: see there */
    ArenaOptions opt;
    /* ARENA_SHARED: this heap is a shell (its inline paths all go out of
       line) for the heap `core` (a PoolHeap *, made by the first
       allocation; atomic), used under core's `lock` but for its classes' pools */
    size_t core, lock;
} PoolHeap;

POOL_DEF void pool_heap_init(PoolHeap *h, const ArenaOptions *opt);
static inline void *pool_heap_alloc(PoolHeap *h, size_t size);
POOL_DEF void *pool_heap_calloc(PoolHeap *h, size_t count, size_t size);
POOL_DEF void *pool_heap_realloc(PoolHeap *h, void *p, size_t size);
static inline bool pool_heap_free(PoolHeap *h, void *p);
POOL_DEF size_t pool_heap_size(const PoolHeap *h, const void *p);
POOL_DEF void pool_heap_reset(PoolHeap *h);
POOL_DEF void pool_heap_trim(PoolHeap *h);      /* empty memory back: a frame boundary */
POOL_DEF void pool_heap_release(PoolHeap *h);
POOL_DEF PoolHeapStats pool_heap_stats(const PoolHeap *h);

/* ---- the heap's fast paths: a size class's pool, found in O(1) ---------- */

POOL_DEF void *pool__heap_alloc_slow(PoolHeap *h, size_t size);
POOL_DEF bool pool__heap_free_slow(PoolHeap *h, void *p);

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

/* The class whose part of the reservation holds p, or NULL (p is not in
   the reservation, or its class has no pool yet). */
static inline pool__HeapClass *pool__heap_class_at(const PoolHeap *h, const void *p) {
    uintptr_t off = (uintptr_t)p - h->vm_base;
    return ARENA__LIKELY(off < h->vm_span) ? h->cls[off >> h->vm_shift] : NULL;
}

static inline void pool__heap_count(PoolHeap *h, size_t bytes) {
    h->live_bytes += bytes;
    if (h->live_bytes > h->peak_bytes) h->peak_bytes = h->live_bytes;
}

/* Inline while the class has a free slot or a committed one to carve:
   growing goes out of line, where the cap can make room first. */
static inline void *pool_heap_alloc(PoolHeap *h, size_t size) {
    pool__HeapClass *c;
    void *p;
    if (!ARENA__LIKELY(size <= POOL_HEAP_MAX_CLASS && (c = h->cls[pool__heap_class(size)]) != NULL &&
                       (c->pool.free || c->pool.run_bytes < c->pool.carve_end)))
        return pool__heap_alloc_slow(h, size);
    p = pool_alloc(&c->pool);
    if (ARENA__LIKELY(p != NULL)) pool__heap_count(h, c->size);
    return p;
}

/* p, in class c, freed by the class's pool_free, which checks it (or,
   under POOL_UNCHECKED, trusts it) exactly as for any pool. */
static inline bool pool__heap_free_in(PoolHeap *h, pool__HeapClass *c, void *p) {
    if (!pool_free(&c->pool, p)) return false;
    h->live_bytes -= c->size;
    return true;
}

/* A pointer in the reservation goes to its class; anything else (NULL,
   large blocks, block classes, strangers) out of line. */
static inline bool pool_heap_free(PoolHeap *h, void *p) {
    pool__HeapClass *c = pool__heap_class_at(h, p);
    if (!ARENA__LIKELY(c != NULL)) return pool__heap_free_slow(h, p);
    return pool__heap_free_in(h, c, p);
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

#define POOL__MAX_SIZE ((size_t)1 << 27)
#define POOL__MIN_SLOTS 8u
#define POOL__LOAD 4u   /* table entries per granule entry, at least */

enum { POOL__BLOCKS = 0, POOL__VIRTUAL, POOL__BUFFER };

/* ---- the pool's private words: headers and free-list links ----------------
   Poisoned for everyone else; opened for the pool's own access (memcheck
   keeps them defined, so reading them back is clean). */

static void pool__open(void *w, size_t n) {
#if ARENA__ASAN
    ASAN_UNPOISON_MEMORY_REGION(w, n);
#elif defined(ARENA_VALGRIND)
    VALGRIND_MAKE_MEM_DEFINED(w, n);
#endif
    (void)w; (void)n;
}

static void pool__close(void *w, size_t n) {
    ARENA__POISON(w, n);
    (void)w; (void)n;
}

static pool__Header pool__header(const void *slot) {
    pool__Header *hp = POOL__HDR(slot), h;
    pool__open(hp, sizeof *hp);
    ARENA_MEMCPY(&h, hp, sizeof h);   /* an interior pointer's "header": any alignment */
    pool__close(hp, sizeof *hp);
    return h;
}

static void pool__set_header(void *slot, uint32_t gen, uint32_t index) {
    pool__Header *hp = POOL__HDR(slot);
    pool__open(hp, sizeof *hp);
    hp->gen = gen;
    hp->index = index;
    pool__close(hp, sizeof *hp);
}

static void pool__set_gen(void *slot, uint32_t gen) {
    pool__set_header(slot, gen, pool__header(slot).index);
}

static void pool__push(Pool *p, void *s) {
    pool__open(s, sizeof(void *));
    *(void **)s = p->free;
    pool__close(s, p->stride - sizeof(pool__Header));
    p->free = s;
}

static void *pool__pop(Pool *p) {
    void *s = p->free;
    if (!s) return NULL;
    pool__open(s, sizeof(void *));
    p->free = *(void **)s;
    pool__close(s, sizeof(void *));
    return s;
}

/* ---- memory from the source, under the caps ------------------------------------ */

static PoolBudget *pool__budget(Pool *p) { return p->budget ? p->budget : &p->own_budget; }

/* A budget's bytes, taken only while they fit under its max, in one
   atomic step: the classes of a shared PoolHeap take from one budget
   under locks of their own. */
static bool pool__budget_take(PoolBudget *b, size_t n) {
    size_t held = arena__atomic_load(&b->held);
    do {
        if (b->max && (n > b->max || held > b->max - n)) return false;
    } while (!arena__atomic_cas(&b->held, &held, held + n));
    return true;
}

static void pool__budget_give(PoolBudget *b, size_t n) { arena__atomic_add(&b->held, (size_t)0 - n); }

/* The bytes a budget has left (none over its max, all without one). */
static size_t pool__budget_left(PoolBudget *b) {
    size_t held = arena__atomic_load(&b->held);
    return !b->max ? SIZE_MAX : held < b->max ? b->max - held : 0;
}

/* n more bytes counted as the pool's, if its max_bytes and its budget
   allow. */
static bool pool__take(Pool *p, size_t n) {
    if (p->opt.max_bytes && (n > p->opt.max_bytes || p->bytes_held > p->opt.max_bytes - n)) return false;
    if (!pool__budget_take(pool__budget(p), n)) return false;
    p->bytes_held += n;
    return true;
}

static void pool__untake(Pool *p, size_t n) {
    p->bytes_held -= n;
    pool__budget_give(pool__budget(p), n);
}

static void *pool__grab(Pool *p, size_t n) {
    void *mem;
    if (!pool__take(p, n))
        return arena__report(ARENA_ERR_OOM, "pool: the pool's max_bytes (or its heap's) is reached"), (void *)NULL;
    p->grab_count++;
    mem = arena__grab(&p->opt.source, n);
    if (!mem) {
        pool__untake(p, n);
        return arena__report(ARENA_ERR_OOM, "pool: the source is out of memory"), (void *)NULL;
    }
    return mem;
}

static void pool__drop(Pool *p, void *mem, size_t n) {
    if (!mem) return;
    ARENA__UNPOISON(mem, n);
    pool__untake(p, n);
    arena__give_back(&p->opt.source, mem, n);
}

/* ---- runs of slots ---------------------------------------------------------------- */

/* The slots of a run whose slot 0 is at `slots` that end by `end`: slot n
   takes [slots + n * stride - header, slots + (n + 1) * stride - header). */
static uint32_t pool__fit(const Pool *p, const char *slots, const char *end) {
    size_t n;
    if (end < slots || (size_t)(end - slots) + sizeof(pool__Header) < p->stride) return 0;
    n = ((size_t)(end - slots) + sizeof(pool__Header)) / p->stride;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static char *pool__slot(const Pool *p, const pool__Block *b, uint32_t i) {
    return b->slots + (size_t)i * p->stride;
}

static char *pool__slots_after(const Pool *p, char *lo) {
    return arena__align_ptr(lo + sizeof(pool__Header), p->align);
}

static void pool__set_run(Pool *p, char *slots, uint32_t count) {
    ARENA_MEMSET(&p->run_block, 0, sizeof p->run_block);
    p->run_block.slots = p->run = slots;
    p->run_block.count = count;
    p->capacity = count;
    p->run_bytes = 0;
    p->carve_end = 0;
}

/* Every slot has its header from the moment its memory is there: free,
   at the floor generation. */
static void pool__write_headers(Pool *p, pool__Block *b, uint32_t from, uint32_t to) {
    for (; from < to; from++) pool__set_header(pool__slot(p, b, from), p->gen_floor, b->first + from);
}

/* The slots the run holds now (after a commit, a trim, the buffer again). */
static void pool__run_count(Pool *p, uint32_t count) {
    pool__Block *r = &p->run_block;
    if (count > r->count) pool__write_headers(p, r, r->count, count);
    p->capacity = p->capacity + count - r->count;
    r->count = count;
    p->carve_end = (size_t)count * p->stride;
}

/* Run pools: while the free list is empty live == carved - skipped, so
   the peak is read off the carving (the inline path keeps no peak). */
static size_t pool__peak(const Pool *p) {
    size_t peak = p->peak_live > p->live ? p->peak_live : p->live;
    size_t carved = (size_t)p->run_block.carved - p->skipped;
    return peak > carved ? peak : carved;
}

static bool pool__is_run(const Pool *p) { return p->kind != POOL__BLOCKS; }

/* The block by number (the run is block 0 of a run pool), NULL if none. */
static pool__Block *pool__block(const Pool *p, uint32_t n) {
    if (pool__is_run(p)) return n == 0 && p->run ? (pool__Block *)(uintptr_t)&p->run_block : NULL;
    return n < p->block_count ? p->blocks[n] : NULL;
}

static uint32_t pool__blocks(const Pool *p) { return pool__is_run(p) ? 1u : p->block_count; }

/* The walk over the live objects, block by block, slot by slot: start
   with *n = *i = 0; the next one, or NULL. The pool is read afresh at
   each step, so the walk sees what its caller changed on the way (the
   callbacks of pool_each free and allocate). */
static char *pool__next_live(const Pool *p, uint32_t *n, uint32_t *i) {
    for (; *n < pool__blocks(p); ++*n, *i = 0) {
        const pool__Block *b = pool__block(p, *n);
        while (b && *i < b->carved) {
            char *s = pool__slot(p, b, (*i)++);
            if (pool__header(s).gen & 1) return s;
        }
    }
    return NULL;
}

/* ---- virtual pools ---------------------------------------------------------------- */

#ifndef ARENA_NO_VIRTUAL
static bool pool__reserve(Pool *p) {
    size_t page = arena__page_size(), size = POOL_VIRTUAL_RESERVE;
    size_t most = p->stride * (size_t)UINT32_MAX;   /* no more slots than numbers */
    if (p->vm_lent) {   /* a range of a PoolHeap's reservation: there already */
        pool__set_run(p, pool__slots_after(p, p->vm), 0);
        return true;
    }
    if (size > most) size = most;
    if (p->opt.max_bytes && size > p->opt.max_bytes) size = p->opt.max_bytes;
    /* Where address space is scarce (ulimit -v, Valgrind), less will do. */
    for (;; size /= 2) {
        size = arena__align_up(size + p->align, page);
        p->vm = (char *)arena__os_reserve(size);
        if (p->vm) break;
        if (size < ((size_t)64 << 20) + p->align) return false;
    }
    p->vm_reserved = size;
    p->vm_committed = 0;
    pool__set_run(p, pool__slots_after(p, p->vm), 0);
    return true;
}

/* Commits so that at least one more slot fits, doubling what is
   committed (steps of at most ARENA_MAX_BLOCK_SIZE). */
static bool pool__commit(Pool *p) {
    PoolBudget *b = pool__budget(p);
    size_t page = arena__page_size(), have = p->vm_committed, step;
    size_t need = (size_t)(pool__slot(p, &p->run_block, p->run_block.count + 1) - sizeof(pool__Header) - p->vm);
    /* a page first (slot headers are written as memory arrives: a small
       pool touches little), then doubling */
    step = have ? (have < ARENA_MAX_BLOCK_SIZE ? have : ARENA_MAX_BLOCK_SIZE) : p->opt.block_size;
    /* a lent range (a PoolHeap's class) grows by an eighth: a heap has
       many classes, and writing the headers makes committed pages resident */
    if (p->vm_lent) step = step / 8 > p->opt.block_size ? step / 8 : p->opt.block_size;
    if (step < need - have) step = need - have;
    step = arena__align_up(step, page);
    if (step > p->vm_reserved - have) step = p->vm_reserved - have;
    if (have + step < need) {
        arena__report(ARENA_ERR_OOM, "pool_alloc: the pool's reservation is used up");
        return false;
    }
    if (b->room && pool__budget_left(b) < step) b->room(b, arena__align_up(need - have, page), p);   /* a slot's room, at least */
    if (!pool__take(p, step)) {   /* what is left under the caps, if a slot fits */
        size_t left = p->opt.max_bytes ? p->opt.max_bytes - p->bytes_held : SIZE_MAX;
        if (pool__budget_left(b) < left) left = pool__budget_left(b);
        step = left / page * page;
        if (have + step < need || !pool__take(p, step)) {
            arena__report(ARENA_ERR_OOM, "pool_alloc: the pool's max_bytes (or its heap's) is reached");
            return false;
        }
    }
    p->grab_count++;
    if (!arena__os_commit(p->vm + have, step)) {
        pool__untake(p, step);
        arena__report(ARENA_ERR_OOM, "pool_alloc: the OS refused to commit memory");
        return false;
    }
    ARENA__POISON(p->vm + have, step);
    p->vm_committed += step;
    pool__run_count(p, pool__fit(p, p->run, p->vm + p->vm_committed));
    return true;
}

static void pool__unreserve(Pool *p) {
    if (!p->vm) return;
    ARENA__UNPOISON(p->vm, p->vm_committed);
    pool__untake(p, p->vm_committed - p->hole_bytes);
    if (p->vm_lent) {   /* the range stays the pool's, empty */
        arena__os_decommit(p->vm, p->vm_committed);
        p->vm_committed = p->hole_bytes = 0;
        return;
    }
    arena__os_release(p->vm, p->vm_reserved);
    p->vm = NULL;
    p->vm_reserved = p->vm_committed = p->hole_bytes = 0;
}
#else
static bool pool__reserve(Pool *p) { (void)p; return false; }
static bool pool__commit(Pool *p) { (void)p; return false; }
static void pool__unreserve(Pool *p) { (void)p; }
#endif

/* ---- block pools ---------------------------------------------------------------- */

static size_t pool__granule_hash(const Pool *p, uintptr_t g) {
    return (size_t)(((uint64_t)g * 0x9E3779B97F4A7C15u) >> 32) & p->table_mask;
}

static void pool__table_put(Pool *p, uintptr_t g, uint32_t block) {
    size_t h = pool__granule_hash(p, g);
    while (p->table[h].block) h = (h + 1) & p->table_mask;
    p->table[h].granule = g;
    p->table[h].block = block + 1;
    p->table_used++;
}

/* Every granule a block touches (at most two: a block is at least a
   granule long) names it. */
static void pool__table_add(Pool *p, const pool__Block *b, uint32_t n) {
    uintptr_t lo = (uintptr_t)b >> p->granule_shift, hi = ((uintptr_t)b + b->bytes - 1) >> p->granule_shift;
    pool__table_put(p, lo, n);
    if (hi != lo) pool__table_put(p, hi, n);
}

static void pool__table_fill(Pool *p) {
    uint32_t n;
    ARENA_MEMSET(p->table, 0, (p->table_mask + 1) * sizeof *p->table);
    p->table_used = 0;
    for (n = 0; n < p->block_count; n++)
        if (p->blocks[n]) pool__table_add(p, p->blocks[n], n);
}

/* The block pool's block holding obj, without reading anything but the
   table and the directory; NULL if none. */
static pool__Block *pool__block_find(const Pool *p, const void *obj) {
    uintptr_t u = (uintptr_t)obj, g = u >> p->granule_shift;
    size_t h;
    if (!p->table) return NULL;
    for (h = pool__granule_hash(p, g); p->table[h].block; h = (h + 1) & p->table_mask) {
        pool__Block *b;
        if (p->table[h].granule != g) continue;
        b = p->blocks[p->table[h].block - 1];
        if (u - (uintptr_t)b < b->bytes) return b;
    }
    return NULL;
}

/* Room in the directory and the table for block number n. */
static bool pool__room_for_block(Pool *p, uint32_t n) {
    if (n >= p->block_cap) {
        uint32_t cap = p->block_cap ? p->block_cap * 2 : 8;
        pool__Block **dir = (pool__Block **)pool__grab(p, cap * sizeof *dir);
        if (!dir) return false;
        if (p->block_count) ARENA_MEMCPY(dir, p->blocks, p->block_count * sizeof *dir);
        pool__drop(p, p->blocks, p->block_cap * sizeof *dir);
        p->blocks = dir;
        p->block_cap = cap;
    }
    if (POOL__LOAD * 2 * ((size_t)n + 1) > p->table_mask + 1 || !p->table) {
        size_t size = 16;
        pool__Granule *t;
        while (size < POOL__LOAD * 2 * ((size_t)n + 1)) size *= 2;
        t = (pool__Granule *)pool__grab(p, size * sizeof *t);
        if (!t) return false;
        if (p->table) pool__drop(p, p->table, (p->table_mask + 1) * sizeof *p->table);
        p->table = t;
        p->table_mask = size - 1;
        pool__table_fill(p);
    }
    return true;
}

/* A new block, from the source; it takes the first free number. */
static bool pool__add_block(Pool *p) {
    uint32_t n = 0, count;
    pool__Block *b;
    while (n < p->block_count && p->blocks[n]) n++;
    if (((uint64_t)n + 1) << p->index_shift > (uint64_t)UINT32_MAX + 1 - p->index_base) {
        arena__report(ARENA_ERR_OOM, "pool_alloc: the pool has as many blocks as 32-bit handles can name");
        return false;
    }
    if (!pool__room_for_block(p, n)) return false;
    b = (pool__Block *)pool__grab(p, p->block_bytes);
    if (!b) return false;
    ARENA_MEMSET(b, 0, sizeof *b);
    b->bytes = p->block_bytes;
    b->slots = pool__slots_after(p, (char *)(b + 1));
    count = pool__fit(p, b->slots, (char *)b + b->bytes);
    b->count = count < (1u << p->index_shift) ? count : (1u << p->index_shift);
    b->first = n << p->index_shift;
    ARENA__POISON(b + 1, b->bytes - sizeof *b);
    pool__write_headers(p, b, 0, b->count);
    p->blocks[n] = b;
    if (n == p->block_count) p->block_count++;
    p->blocks_held++;
    pool__table_add(p, b, n);
    p->capacity += b->count;
    return true;
}

static void pool__drop_block(Pool *p, uint32_t n) {
    pool__Block *b = p->blocks[n];
    p->capacity -= b->count;
    p->blocks[n] = NULL;
    p->blocks_held--;
    pool__drop(p, b, b->bytes);
}

/* ---- generations held in reserve (pool_restore) --------------------------------------
   A slot whose object pool_restore brought back, after later generations
   of the slot were handed out, keeps the object's generation (its old
   handles work) and holds in its header, instead of its number, the even
   generation its next free must jump to (POOL__RESERVED set, the
   generation halved): no handle taken after the snapshot can match
   again. The marked number sends the inline free out of line (where the
   number is worked out from the address). */
#define POOL__RESERVED 0x80000000u

static uint32_t pool__floor(pool__Header h) { return (h.index & ~POOL__RESERVED) << 1; }

/* The highest generation a handle of the slot may carry. */
static uint32_t pool__high_gen(pool__Header h) {
    uint32_t f = h.index & POOL__RESERVED ? pool__floor(h) - 1 : 0;
    return h.gen > f ? h.gen : f;
}

static uint32_t pool__number(const Pool *p, const void *s);

/* A live object's life ends: the slot retires for good when its
   generation runs out. False if it retired. */
static bool pool__end_life(Pool *p, void *s) {
    pool__Header h = pool__header(s);
    uint32_t g = h.gen + 1;
    if (h.index & POOL__RESERVED) {   /* never below gen + 1 (POOL_UNCHECKED frees skip the reserve) */
        if (pool__floor(h) > g) g = pool__floor(h);
        pool__set_header(s, g, pool__number(p, s));
    }
    else pool__set_gen(s, g);
    if (g != POOL_GEN_LIMIT) return true;
    p->retired++;
    p->capacity--;
    return false;
}


/* ---- carving fresh slots --------------------------------------------------------- */

/* More room: a commit, a new block, or (a released buffer pool) the
   buffer again. */
static bool pool__grow(Pool *p) {
    switch (p->kind) {
    case POOL__BUFFER:
        if (!p->run) {
            pool__set_run(p, pool__slots_after(p, p->buf), 0);
            ARENA__POISON(p->buf, p->buf_bytes);
            pool__run_count(p, pool__fit(p, p->run, p->buf + p->buf_bytes));
            return true;
        }
        arena__report(ARENA_ERR_OOM, "pool_alloc: the buffer pool is full");
        return false;
    case POOL__VIRTUAL:
        if (!p->run && !pool__reserve(p)) {
            /* no address space to reserve: this pool grows by blocks */
            p->kind = POOL__BLOCKS;
            return pool__add_block(p);
        }
        return pool__commit(p);
    default:
        return pool__add_block(p);
    }
}

/* The next slot never handed out since the reset, in order, block by
   block (retired slots are passed over); its header says free. */
static bool pool__in_hole(const Pool *p, const pool__Block *b, uint32_t i);
static bool pool__fill_holes(Pool *p, bool loud);

static void *pool__carve(Pool *p) {
    for (;;) {
        pool__Block *b;
        while ((b = pool__block(p, p->fresh_block)) != NULL || p->fresh_block < pool__blocks(p)) {
            if (b) {
                while (b->carved < b->count) {
                    uint32_t i = b->carved, g;
                    char *s = pool__slot(p, b, i);
                    if (pool__in_hole(p, b, i) && !pool__fill_holes(p, true)) return NULL;   /* after a reset */
                    b->carved++;
                    g = pool__header(s).gen;
                    if (b == &p->run_block) p->run_bytes += p->stride;
                    /* a life that pool_reset ended ends here, in its header */
                    if (g & 1 ? pool__end_life(p, s) : g != POOL_GEN_LIMIT) return s;
                    if (b == &p->run_block) p->skipped++;
                }
            }
            if (p->fresh_block + 1 >= pool__blocks(p)) break;
            p->fresh_block++;
        }
        if (!pool__grow(p)) return NULL;
        if (!pool__is_run(p)) p->fresh_block = 0;   /* a new block may fill a hole */
    }
}

/* ---- alloc and free ---------------------------------------------------------------- */

typedef struct pool__Shared pool__Shared;   /* ARENA_SHARED pools: see there */
static pool__Shared *pool__sh(const Pool *p, bool make);
static inline void *pool__shared_alloc(Pool *p);
static inline bool pool__shared_free(Pool *p, void *obj);
static void *pool__shared_get(const Pool *p, uint32_t index, uint32_t gen);
static bool pool__shared_free_handle(Pool *p, uint32_t index, uint32_t gen);
static const char *pool__shared_handle(pool__Shared *sh, const void *obj, PoolHandle *h);
static Pool *pool__core_enter(pool__Shared *sh, bool fold);
static void pool__core_leave(pool__Shared *sh, bool fold);
static void pool__shared_drop(Pool *p, pool__Shared *sh);
static bool pool__lock_free(const pool__Shared *sh);
static bool pool__shared(const Pool *p) { return (p->opt.flags & ARENA_SHARED) != 0; }

/* `call` on core, under the lock (fold: a frame-boundary call). */
#define POOL__ON_CORE(sh, fold, call)                  \
    do {                                               \
        Pool *core_ = pool__core_enter((sh), (fold));  \
        call;                                          \
        pool__core_leave((sh), (fold));                \
    } while (0)


static ARENA__NOINLINE void *pool__alloc_local(Pool *p);
static ARENA__NOINLINE bool pool__free_local(Pool *p, void *obj);

/* A shared pool's lean path, or a tail call: no register saved for it. */
POOL_DEF void *pool__alloc_slow(Pool *p) {
    return pool__shared(p) ? pool__shared_alloc(p) : pool__alloc_local(p);
}

POOL_DEF bool pool__free_slow(Pool *p, void *obj) {
    return pool__shared(p) ? pool__shared_free(p, obj) : pool__free_local(p, obj);
}

static void *pool__alloc_local(Pool *p) {
    void *s;
    if (!p->stride)
        return arena__report(ARENA_ERR_MISUSE, "pool_alloc: the pool is not initialised (pool_init failed or was not called)"), (void *)NULL;
    s = pool__pop(p);
    /* holes before growth; under a cap that refuses them, growth may still fit */
    if (!s && p->hole_bytes && pool__fill_holes(p, false)) s = pool__pop(p);
    if (!s) {
        s = pool__carve(p);
        if (!s) return NULL;
    }
    pool__set_gen(s, pool__header(s).gen + 1);
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

/* off / stride: a multiply by ceil(2^64 / stride) below 2^32 (Lemire). */
static uint32_t pool__div(const Pool *p, uintptr_t off) {
    uint64_t lo, hi;
    if ((uint64_t)off >> 32) return (uint32_t)(off / p->stride);
    lo = (p->div_magic & 0xFFFFFFFFu) * (uint64_t)off;
    hi = (p->div_magic >> 32) * (uint64_t)off;
    return (uint32_t)((hi + (lo >> 32)) >> 32);
}

/* The block holding obj: the run by a range check, a block by the table. */
static pool__Block *pool__block_of(const Pool *p, const void *obj) {
    if (!p->stride) return NULL;
    if (pool__is_run(p)) {
        const pool__Block *r = &p->run_block;
        if (!p->run || (uintptr_t)obj - (uintptr_t)r->slots >= (uintptr_t)r->count * p->stride) return NULL;
        return (pool__Block *)(uintptr_t)r;
    }
    return pool__block_find(p, obj);
}

/* A live slot's number, from its address. */
static uint32_t pool__number(const Pool *p, const void *s) {
    const pool__Block *b = pool__block_of(p, s);
    return b->first + pool__div(p, (uintptr_t)s - (uintptr_t)b->slots);
}

/* Finds the live object at obj: its block and slot, or why it is not one. */
static const char *pool__locate(const Pool *p, const void *obj, pool__Block **bp, uint32_t *ip) {
    pool__Block *b = obj ? pool__block_of(p, obj) : NULL;
    uintptr_t off;
    pool__Header h;
    uint32_t i;
    if (!b) return "pool: the pointer is not an object of this pool";
    off = (uintptr_t)obj - (uintptr_t)b->slots;
    if (off >= (uintptr_t)b->count * p->stride)
        return "pool: the pointer is inside a pool block's header, not an object";
    if (off >= (uintptr_t)b->carved * p->stride)
        return "pool: the slot was not handed out since the last reset";
    i = pool__div(p, off);   /* out of line: opening a "header" inside an object would unpoison it */
    if ((uintptr_t)i * p->stride != off) return "pool: interior pointer, not the start of an object";
    h = pool__header(obj);
    if (!(h.gen & 1)) return "pool: the object is already free (double free or stale pointer)";
    *bp = b;
    *ip = i;
    return NULL;
}

static void pool__free_slot(Pool *p, void *s) {
    arena__take_back(s, p->size);
    POOL__VG_FREE(p, s);
    p->live--;
    if (pool__end_life(p, s)) pool__push(p, s);
}

static bool pool__free_local(Pool *p, void *obj) {
    pool__Block *b;
    uint32_t i;
    const char *why;
    if (!obj) return true;
    why = pool__locate(p, obj, &b, &i);
    if (why) {
        arena__report(ARENA_ERR_MISUSE, why);
        return false;
    }
    pool__free_slot(p, obj);
    return true;
}

POOL_DEF bool pool_owns(const Pool *p, const void *obj) {
    pool__Block *b;
    uint32_t i;
    if (pool__shared(p)) {
        pool__Shared *sh = pool__sh(p, false);
        PoolHandle h;
        bool ok = false;
        if (sh && !pool__lock_free(sh)) POOL__ON_CORE(sh, false, ok = pool_owns(core_, obj));
        else if (sh) ok = obj && !pool__shared_handle(sh, obj, &h);
        return ok;
    }
    return obj && !pool__locate(p, obj, &b, &i);
}

/* ---- init ---------------------------------------------------------------------------- */

/* Size, stride and the first generation; a pool that fails here stays
   inert (stride 0) and refuses every allocation. */
static bool pool__setup(Pool *p, size_t size, size_t align) {
    uint64_t seed = ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15u + arena__unique() * 0xBF58476D1CE4E5B9u;
    ARENA_MEMSET(p, 0, sizeof *p);
    if (!align || (align & (align - 1))) {
        arena__report(ARENA_ERR_ALIGN, "pool_init: the alignment is not a power of two");
        return false;
    }
    if (size > POOL__MAX_SIZE || align > POOL__MAX_SIZE) {
        arena__report(ARENA_ERR_OVERFLOW, "pool_init: objects larger than 128 MiB do not go in a pool");
        return false;
    }
    /* the header and the free-list link need theirs (and ASan whole granules) */
    if (align < ARENA_ALIGNOF(void *)) align = ARENA_ALIGNOF(void *);
    if (align < ARENA_ALIGNOF(pool__Header)) align = ARENA_ALIGNOF(pool__Header);
    if (ARENA__ASAN && align < 8) align = 8;
    p->size = size ? size : 1;
    p->align = align;
    p->stride = arena__align_up(sizeof(pool__Header) + (p->size > sizeof(void *) ? p->size : sizeof(void *)) +
                                ARENA__REDZONE, align);
    p->div_magic = UINT64_MAX / p->stride + 1;
    /* Pools start their generations at different points, so that a handle
       of another pool is very unlikely to match. */
    seed ^= seed >> 31;
    p->gen_floor = (uint32_t)(seed & 0x7FFFFFu) << 8;
    POOL__VG_CREATE(p);
    return true;
}

/* Block pools: blocks of at least POOL_BLOCK_SIZE (or opt.block_size)
   holding POOL__MIN_SLOTS slots (one, for objects of a MiB and more),
   whatever the source's alignment (at least 8). */
static bool pool__setup_blocks(Pool *p) {
    size_t head = sizeof(pool__Block) + sizeof(pool__Header) + (p->align > 8 ? p->align - 8 : 0);
    size_t bytes = POOL_BLOCK_SIZE, most;
    size_t want = p->opt.block_size > bytes ? p->opt.block_size : bytes;
    unsigned slots = p->stride >= ((size_t)1 << 20) ? 1u : POOL__MIN_SLOTS;
    if (p->stride * slots > ARENA__MAX_REQUEST / 4 - head) {
        arena__report(ARENA_ERR_OVERFLOW, "pool_init: a block of these objects does not fit in the address space");
        return false;
    }
    while (bytes < want || bytes < head + slots * p->stride) bytes *= 2;
    p->kind = POOL__BLOCKS;
    p->block_bytes = bytes;
    p->granule_shift = 0;
    while (((size_t)2 << p->granule_shift) <= bytes) p->granule_shift++;
    most = (bytes - sizeof(pool__Block)) / p->stride + 1;
    p->index_shift = 0;
    while (((size_t)1 << p->index_shift) < most) p->index_shift++;
    return true;
}

/* A range of a PoolHeap's reservation, for a class's pool (see "A lent
   range" at the top). */
typedef struct pool__Lent {
    char *vm;
    size_t bytes;
    PoolBudget *budget;
} pool__Lent;

static void pool__init(Pool *p, size_t size, size_t align, const ArenaOptions *opt, const pool__Lent *lent) {
    if (!pool__setup(p, size, align)) return;
    if (opt) p->opt = *opt;
    if (lent) {
        p->vm = lent->vm;
        p->vm_reserved = lent->bytes;
        p->vm_lent = true;
        p->budget = lent->budget;
    }
    if (p->opt.flags & ~ARENA_SHARED) {
        p->opt.flags &= ARENA_SHARED;
        arena__report(ARENA_ERR_MISUSE, "pool_init: unknown bits in flags (ignored)");
    }
    if (pool__shared(p)) {   /* a shell whose inline paths all go out of line */
        POOL__VG_DESTROY(p);
        pool__sh(p, true);
        return;
    }
    if (!pool__setup_blocks(p)) {
        p->stride = 0;
        return;
    }
#ifndef ARENA_NO_VIRTUAL
    /* 64-bit, memory from the OS: one reserved run (blocks stay the plan B
       if no address space can be reserved) */
    if (sizeof(void *) >= 8 && !p->opt.source.grab) p->kind = POOL__VIRTUAL;
#endif
}

POOL_DEF void pool_init_opts(Pool *p, size_t size, size_t align, const ArenaOptions *opt) {
    pool__init(p, size, align, opt, NULL);
}

POOL_DEF void pool_init(Pool *p, size_t size, size_t align) {
    pool_init_opts(p, size, align, NULL);
}

POOL_DEF bool pool_init_buffer(Pool *p, size_t size, size_t align, void *buf, size_t bytes) {
    char *slots;
    uint32_t count;
    if (!pool__setup(p, size, align)) return false;
    p->kind = POOL__BUFFER;
    if (!buf) {
        p->stride = 0;
        arena__report(ARENA_ERR_MISUSE, "pool_init_buffer: the buffer is NULL");
        return false;
    }
    if ((uintptr_t)buf & (sizeof(void *) - 1)) {
        p->stride = 0;
        arena__report(ARENA_ERR_ALIGN, "pool_init_buffer: the buffer is not aligned for a pointer");
        return false;
    }
    slots = pool__slots_after(p, (char *)buf);
    count = bytes > (size_t)(slots - (char *)buf) ? pool__fit(p, slots, (char *)buf + bytes) : 0;
    if (!count) {
        p->stride = 0;
        arena__report(ARENA_ERR_OOM, "pool_init_buffer: the buffer is too small for one object");
        return false;
    }
    p->buf = (char *)buf;
    p->buf_bytes = bytes;
    ARENA__UNPOISON(buf, bytes);   /* an earlier user may have left it poisoned */
    return pool__grow(p);
}

/* ---- reset, release, trim, each, stats ------------------------------------------------ */

static bool pool__refuse_in_walk(const Pool *p, const char *msg) {
    if (!p->walking) return false;
    arena__report(ARENA_ERR_MISUSE, msg);
    return true;
}

/* O(blocks): the lives of the objects end in their headers when their
   slots are carved again (until then no pointer or handle reaches them:
   nothing is carved). Checked builds poison and fill them here. */
POOL_DEF void pool_reset(Pool *p) {
    uint32_t n;
    if (pool__shared(p)) {
        pool__Shared *sh = pool__sh(p, false);
        if (sh) POOL__ON_CORE(sh, true, pool_reset(core_));
        return;
    }
    if (pool__refuse_in_walk(p, "pool_reset: called from inside pool_each on the same pool")) return;
    p->peak_live = pool__peak(p);
#if ARENA__CHECKED
    {
        uint32_t i = 0;
        char *s;
        n = 0;
        while ((s = pool__next_live(p, &n, &i)) != NULL) arena__take_back(s, p->size);
    }
#endif
    for (n = 0; n < pool__blocks(p); n++) {
        pool__Block *b = pool__block(p, n);
        if (b) b->carved = 0;
    }
    POOL__VG_DESTROY(p);   /* every object of the pool at once */
    POOL__VG_CREATE(p);
    p->run_bytes = 0;
    p->skipped = 0;
    p->free = NULL;
    p->fresh_block = 0;
    p->live = 0;
}

/* The highest generation of slots [from, b->count) of b. */
static uint32_t pool__top_gen_of(const Pool *p, const pool__Block *b, uint32_t from) {
    uint32_t i, top = p->gen_floor;
    for (i = from; i < b->count; i++) {
        uint32_t g = pool__high_gen(pool__header(pool__slot(p, b, i)));
        if (g > top) top = g;
    }
    return top;
}

/* The highest generation any slot has had. */
static uint32_t pool__top_gen(const Pool *p) {
    uint32_t n, top = p->gen_floor;
    for (n = 0; n < pool__blocks(p); n++) {
        const pool__Block *b = pool__block(p, n);
        uint32_t g = b ? pool__top_gen_of(p, b, 0) : 0;
        if (g > top) top = g;
    }
    return top;
}

/* Slots about to lose their headers (given back): new slots start above
   every generation they had, so no handle of them can match again. When
   the generations have run out, new slots take numbers the old handles
   never had instead, and generations start over. */
static void pool__raise_floor(Pool *p, uint32_t top, uint32_t numbers_used) {
    if (top >= POOL_GEN_LIMIT - 2) {
        p->index_base += numbers_used;
        p->gen_floor = 0;
    } else {
        p->gen_floor = (top + 2) & ~1u;
    }
}

POOL_DEF void pool_release(Pool *p) {
    uint32_t n, used;
    if (pool__shared(p)) {   /* (a pool never used has no state to give back) */
        pool__Shared *sh = pool__sh(p, false);
        if (!sh) return;
        POOL__ON_CORE(sh, true, pool_release(core_));
        pool__shared_drop(p, sh);
        return;
    }
    if (pool__refuse_in_walk(p, "pool_release: called from inside pool_each on the same pool")) return;
    used = pool__is_run(p) ? p->run_block.count : p->block_count << p->index_shift;
    pool__raise_floor(p, pool__top_gen(p), used);
    POOL__VG_DESTROY(p);
    if (p->kind == POOL__BUFFER) {
        ARENA__UNPOISON(p->buf, p->buf_bytes);   /* back to the caller */
    } else if (p->kind == POOL__VIRTUAL) {
        pool__unreserve(p);
    } else {
        for (n = 0; n < p->block_count; n++)
            if (p->blocks[n]) pool__drop_block(p, n);
        pool__drop(p, p->blocks, p->block_cap * sizeof *p->blocks);
        if (p->table) pool__drop(p, p->table, (p->table_mask + 1) * sizeof *p->table);
        p->blocks = NULL;
        p->table = NULL;
        p->block_count = p->block_cap = 0;
        p->table_mask = p->table_used = 0;
    }
    ARENA_MEMSET(&p->run_block, 0, sizeof p->run_block);
    p->run = NULL;
    p->run_bytes = p->carve_end = p->skipped = 0;
    p->free = NULL;
    p->fresh_block = 0;
    p->live = p->peak_live = p->capacity = p->retired = 0;
    p->grab_count = 0;   /* as a fresh pool: the count starts over */
    POOL__VG_CREATE(p);
}

/* Keeps slot i of b through a trim: live, or so near the end of its
   generations that new ones could not start above it. */
static bool pool__keeps(const Pool *p, const pool__Block *b, uint32_t i) {
    pool__Header h = pool__header(pool__slot(p, b, i));
    return ((h.gen & 1) && i < b->carved) || pool__high_gen(h) >= POOL_GEN_LIMIT - 2;
}

/* A slot of a page pool_trim gave back from inside the run: its header
   is all zero (written so before the page went, and what the OS gives
   back), which no other slot's is but slot 0's before its first use (its
   pages always stay). Such a slot is neither live nor on the free list
   until pool__fill_holes. */
static bool pool__in_hole(const Pool *p, const pool__Block *b, uint32_t i) {
    pool__Header h;
    if (!p->hole_bytes || b != &p->run_block || i == 0) return false;
    h = pool__header(pool__slot(p, b, i));
    return h.gen == 0 && h.index == 0;
}

/* The free list again, from the headers (after a trim took slots away). */
static void pool__relink(Pool *p) {
    uint32_t n, i;
    p->free = NULL;
    for (n = pool__blocks(p); n-- > 0;) {
        pool__Block *b = pool__block(p, n);
        for (i = b ? b->carved : 0; i-- > 0;) {
            char *s = pool__slot(p, b, i);
            uint32_t g = pool__header(s).gen;
            if (!(g & 1) && g != POOL_GEN_LIMIT && !pool__in_hole(p, b, i)) pool__push(p, s);
        }
    }
    p->fresh_block = 0;
}

/* The slots of the holes come back (their pages arrive as they are
   written): new headers at the raised floor, and those carved before
   onto the free list, lowest first. Only they: the other free slots are
   on it already, or (a shared pool's core) in threads' caches. */
static bool pool__fill_holes(Pool *p, bool loud) {
    pool__Block *r = &p->run_block;
    uint32_t i;
    if (!p->hole_bytes) return true;
    if (!pool__take(p, p->hole_bytes)) {
        if (loud) arena__report(ARENA_ERR_OOM, "pool: the pool's max_bytes (or its heap's) is reached");
        return false;
    }
    for (i = r->count; i-- > 1;) {
        char *s = pool__slot(p, r, i);
        if (!pool__in_hole(p, r, i)) continue;
        pool__set_header(s, p->gen_floor, i);
        if (i < r->carved) pool__push(p, s);
    }
    p->hole_bytes = 0;
    return true;
}

#ifdef ARENA__OS_DISCARD
/* Gives back the pages [lo, hi) inside the run, whose slots hold no kept
   object: their headers are zeroed first (a hole, whether the OS keeps
   the bytes or not) and the floor rises past their generations (below
   the limit: pool__keeps kept any slot whose generations near it). */
static void pool__hole(Pool *p, char *lo, char *hi) {
    pool__Block *r = &p->run_block;
    char *h0 = pool__slot(p, r, 0) - sizeof(pool__Header);
    uint32_t first = (uint32_t)((size_t)(lo - h0) / p->stride), last = (uint32_t)((size_t)(hi - 1 - h0) / p->stride), i, top = 0;
    for (i = first; i <= last; i++) {
        uint32_t g = pool__high_gen(pool__header(pool__slot(p, r, i)));
        if (g > top) top = g;
    }
    if (top >= p->gen_floor) pool__raise_floor(p, top, 0);
    for (i = first; i <= last; i++)
        if (!pool__in_hole(p, r, i)) pool__set_header(pool__slot(p, r, i), 0, 0);
    ARENA__OS_DISCARD(lo, (size_t)(hi - lo));
}

/* The holes of slots [0, keep): every run of slots holding no kept object
   gives back the whole pages inside it (never a page of slot 0, whose
   header is all zero before its first use). Returns the bytes of all
   holes, old and new. */
static size_t pool__trim_holes(Pool *p, uint32_t keep) {
    pool__Block *r = &p->run_block;
    size_t page = arena__page_size(), bytes = 0;
    uintptr_t floor = arena__align_up((uintptr_t)pool__slot(p, r, 1) - sizeof(pool__Header), page);
    uint32_t i = 0, a;
    while (i < keep) {
        uintptr_t lo, hi;
        for (a = i; i < keep && !pool__keeps(p, r, i); i++) {}
        lo = arena__align_up((uintptr_t)pool__slot(p, r, a) - sizeof(pool__Header), page);
        hi = ((uintptr_t)pool__slot(p, r, i) - sizeof(pool__Header)) / page * page;
        if (lo < floor) lo = floor;
        if (lo < hi) {
            pool__hole(p, (char *)lo, (char *)hi);
            bytes += (size_t)(hi - lo);
        }
        i++;
    }
    return bytes;
}
#elif !defined(ARENA_NO_VIRTUAL)
static size_t pool__trim_holes(Pool *p, uint32_t keep) { (void)p; (void)keep; return 0; }
#endif

#ifndef ARENA_NO_VIRTUAL
/* The committed pages above slot `keep` go back (unless the slots there
   near the end of their generations); uncounted. */
static void pool__trim_top(Pool *p, uint32_t keep) {
    pool__Block *r = &p->run_block;
    size_t end = arena__align_up((size_t)(pool__slot(p, r, keep) - sizeof(pool__Header) - p->vm), arena__page_size());
    uint32_t top = pool__top_gen_of(p, r, keep);
    if (end >= p->vm_committed || top >= POOL_GEN_LIMIT - 2) return;
    pool__raise_floor(p, top, 0);
    ARENA__UNPOISON(p->vm + end, p->vm_committed - end);   /* no stale shadow */
    arena__os_decommit(p->vm + end, p->vm_committed - end);
    p->vm_committed = end;
    if (r->carved > keep) r->carved = keep;
    pool__run_count(p, pool__fit(p, p->run, p->vm + end));
    p->run_bytes = (size_t)r->carved * p->stride;
}

/* A virtual pool decommits the pages above its highest kept slot, and
   gives back the pages inside the run that hold no kept slot (holes). */
static void pool__trim_run(Pool *p) {
    pool__Block *r = &p->run_block;
    uint32_t keep = r->count;
    size_t held = p->vm_committed - p->hole_bytes, holes = p->hole_bytes;
    while (keep && !pool__keeps(p, r, keep - 1)) keep--;
    pool__trim_top(p, keep);
    p->hole_bytes = pool__trim_holes(p, keep);
    if (held == p->vm_committed - p->hole_bytes && holes == p->hole_bytes) return;
    pool__untake(p, held - (p->vm_committed - p->hole_bytes));
    pool__relink(p);
}
#else
static void pool__trim_top(Pool *p, uint32_t keep) { (void)p; (void)keep; }
static void pool__trim_run(Pool *p) { (void)p; }
#endif

/* A block pool gives back every block with no kept slot. */
static void pool__trim_blocks(Pool *p) {
    uint32_t n, i;
    for (n = 0; n < p->block_count; n++) {
        pool__Block *b = p->blocks[n];
        uint32_t top;
        for (i = 0; b && i < b->count && !pool__keeps(p, b, i); i++) {}
        if (!b || i < b->count || (top = pool__top_gen_of(p, b, 0)) >= POOL_GEN_LIMIT - 2) continue;
        pool__raise_floor(p, top, 0);
        pool__drop_block(p, n);
    }
    while (p->block_count && !p->blocks[p->block_count - 1]) p->block_count--;
    pool__table_fill(p);
    pool__relink(p);
}

POOL_DEF void pool_trim(Pool *p) {
    if (pool__shared(p)) {
        pool__Shared *sh = pool__sh(p, false);
        if (sh) POOL__ON_CORE(sh, true, pool_trim(core_));
        return;
    }
    if (pool__refuse_in_walk(p, "pool_trim: called from inside pool_each on the same pool")) return;
    p->peak_live = pool__peak(p);
    if (p->kind == POOL__VIRTUAL && p->vm) pool__trim_run(p);
    else if (p->kind == POOL__BLOCKS && p->table) pool__trim_blocks(p);
}

/* Live = generation odd. fn may free the object it is given or any other
   (a freed one is never visited) and allocate (a new object may or may not
   be visited); reset, release and trim of this pool are refused inside. */
POOL_DEF void pool_each(Pool *p, void (*fn)(void *obj, void *ctx), void *ctx) {
    uint32_t n = 0, i = 0;
    char *s;
    if (!fn) {
        arena__report(ARENA_ERR_MISUSE, "pool_each: the function is NULL");
        return;
    }
    if (pool__shared(p)) {   /* under the lock: fn must not call the pool */
        pool__Shared *sh = pool__sh(p, false);
        if (sh) POOL__ON_CORE(sh, true, pool_each(core_, fn, ctx));
        return;
    }
    p->walking++;
    while ((s = pool__next_live(p, &n, &i)) != NULL) fn(s, ctx);
    p->walking--;
}

POOL_DEF PoolStats pool_stats(const Pool *p) {
    PoolStats s;
    if (pool__shared(p)) {
        pool__Shared *sh = pool__sh(p, false);
        ARENA_MEMSET(&s, 0, sizeof s);
        if (sh) POOL__ON_CORE(sh, false, s = pool_stats(core_));
        return s;
    }
    s.live = p->live;
    s.capacity = p->capacity;
    s.peak_live = pool__peak(p);
    s.block_count = pool__is_run(p) ? (p->run != NULL) : p->blocks_held;
    s.grab_count = p->grab_count;
    s.bytes_held = p->kind == POOL__BUFFER ? p->buf_bytes : p->bytes_held;
    s.retired = p->retired;
    return s;
}

/* ---- handles ---------------------------------------------------------------- */

static PoolHandle pool__handle(const Pool *p, const void *obj) {
    PoolHandle h;
    pool__Header hd = pool__header(obj);
    h.index = p->index_base + (hd.index & POOL__RESERVED ? pool__number(p, obj) : hd.index);
    h.gen = hd.gen;
    return h;
}

/* (The handle's two halves come apart: passed whole, compilers split
   the 8 bytes through a vector register on the inline path.) */
POOL_DEF void *pool__get_slow(const Pool *p, uint32_t index, uint32_t gen) {
    if (pool__shared(p)) return pool__shared_get(p, index, gen);
    uint32_t n = index - p->index_base, k = pool__is_run(p) ? 0 : n >> p->index_shift;
    pool__Block *b = p->stride && (gen & 1) ? pool__block(p, k) : NULL;
    char *s;
    if (!b || n - b->first >= b->carved) return NULL;
    s = pool__slot(p, b, n - b->first);
    return pool__header(s).gen == gen ? s : NULL;
}

POOL_DEF void *pool__alloc_with_handle_slow(Pool *p, PoolHandle *h) {
    void *obj;
    if (!h) return arena__report(ARENA_ERR_MISUSE, "pool_alloc_with_handle: the handle pointer is NULL"), (void *)NULL;
    obj = pool_alloc(p);
    /* (a shared pool's headers are read atomically, never closed again) */
    if (obj) *h = pool__shared(p) ? pool_handle_of(p, obj) : pool__handle(p, obj);
    else ARENA_MEMSET(h, 0, sizeof *h);
    return obj;
}

POOL_DEF PoolHandle pool_alloc_handle(Pool *p) {
    PoolHandle h;
    pool_alloc_with_handle(p, &h);
    return h;
}

POOL_DEF PoolHandle pool_handle_of(const Pool *p, const void *obj) {
    PoolHandle h;
    pool__Block *b;
    uint32_t i;
    const char *why;
    if (pool__shared(p)) {
        pool__Shared *sh = pool__sh(p, false);
        ARENA_MEMSET(&h, 0, sizeof h);
        why = "pool: the pointer is not an object of this pool";
        if (sh && !pool__lock_free(sh)) POOL__ON_CORE(sh, false, h = pool_handle_of(core_, obj));
        else if (!sh || (why = pool__shared_handle(sh, obj, &h)) != NULL)
            arena__report(ARENA_ERR_MISUSE, obj ? why : "pool_handle_of: the pointer is NULL");
        return h;
    }
    why = pool__locate(p, obj, &b, &i);
    ARENA_MEMSET(&h, 0, sizeof h);
    if (why) {
        arena__report(ARENA_ERR_MISUSE, obj ? why : "pool_handle_of: the pointer is NULL");
        return h;
    }
    return pool__handle(p, obj);
}

POOL_DEF bool pool__free_handle_slow(Pool *p, uint32_t index, uint32_t gen) {
    if (pool__shared(p)) return pool__shared_free_handle(p, index, gen);
    void *obj = pool__get_slow(p, index, gen);
    if (!obj) {
        arena__report(ARENA_ERR_MISUSE, gen ? "pool_free_handle: the handle is stale or of another pool"
                                              : "pool_free_handle: the null handle");
        return false;
    }
    return pool_free(p, obj);
}

/* ---- sharing across threads (ARENA_SHARED) ----------------------------------------
   A shared Pool is a shell: its inline fields stay empty (no free list, no
   carved run), so every inline path goes out of line to here. The pool
   itself, `core`, is an unshared Pool in a pool__Shared of its own,
   changed only under the lock, except for what the lock-free paths do:
   - on a virtual run (64-bit systems, memory from the OS), slot n is at
     run + n * stride for good, so alloc and free are lock-free, and
     nearly always touch nothing another thread touches: each thread
     keeps a cache of free slot numbers per pool (see pool__Cache); a
     free ends a life by a compare-and-swap of the header's generation
     from odd to even, so of two racing frees of one object exactly one
     wins; handles read the generation. Behind the caches, the shared
     free list is a stack of slot numbers whose head is one 64-bit word
     {number + 1, a tag bumped by every change} (compare-and-swap: no
     ABA), linked through the free slots' headers (their number field,
     given back when the slot is taken); a cache takes or gives half its
     size at once, with one compare-and-swap;
   - other pools (a source, 32-bit systems) run every call under the lock.
   Carving fresh slots and growing the run take the lock; so do the
   frame-boundary calls, which fold the stack and the caches into core's
   own free list, run the unshared code, and put the list back on the
   stack. `carved` (published under the lock) bounds what the lock-free
   paths may touch. */
typedef struct pool__Cache pool__Cache;

struct pool__Shared {
    uint64_t head;      /* first: 8-byte aligned (malloc, a source) */
    size_t live;        /* objects live, but for the caches' counts (core.live: synced under the lock) */
    size_t carved;      /* slots [0, carved) of the run were handed out */
    size_t run;         /* the run (char *), 0: every call under the lock */
    size_t lock, live_in;
    pool__Cache *caches;   /* the threads' caches of this pool (under pool__caches_lock) */
    unsigned cache_no;     /* which of a thread's caches serves this pool */
    Pool core;
};

/* A thread's cache for one shared pool: free slots (their generations
   even, their headers holding their own numbers), taken and given back
   without an atomic read-modify-write. A thread has POOL_THREAD_CACHES of
   them; a pool uses the one its cache_no names (given in turn: the first
   POOL_THREAD_CACHES pools made have a cache each), so two pools that
   share a number take turns (the cache goes back to the old pool when the other
   needs it). Every cache of a pool is in the pool's list: frame-boundary
   calls fold them back, stats count their objects, pool_release detaches
   them, and a thread's exit gives their slots back. Allocations minus
   frees through a cache are `taken` - `count`, so that neither needs a
   live count of its own. `owner`, `count` and `taken` are relaxed atomics: other threads change them, under
   pool__caches_lock, at a frame boundary. */
#define POOL__CACHE_SLOTS 56   /* a cache takes 256 bytes on 64-bit systems */
struct pool__Cache {
    size_t owner;     /* the pool__Shared it serves (0: none) */
    size_t count;     /* free slots in `slot` */
    size_t taken;     /* slots put in but by frees, minus those out but by allocations (it wraps) */
    pool__Cache *next;
    uint32_t slot[POOL__CACHE_SLOTS];
};

static ARENA_THREAD_LOCAL pool__Cache pool__cache[POOL_THREAD_CACHES];
static size_t pool__caches_lock;   /* every pool's cache list; taken after a pool's lock */

#define POOL__ID_MASK ((uint64_t)0xFFFFFFFFu)

static void *pool__shared_mem(const ArenaOptions *o, void *mem, size_t n) {
    if (mem) {
        if (o->source.grab) { if (o->source.drop) o->source.drop(o->source.ctx, mem, n); }
#ifndef ARENA_NO_MALLOC
        else ARENA_FREE(mem);
#endif
        return NULL;
    }
    if (o->source.grab) return o->source.grab(o->source.ctx, n);
#ifndef ARENA_NO_MALLOC
    return ARENA_MALLOC(n);
#else
    return NULL;
#endif
}

/* The pool__Shared of p, made (make) by the first allocation (again after
   a release) under a process-wide lock: threads may race to it. NULL if
   none (after one report if there is no memory for it). */
static ARENA__NOINLINE pool__Shared *pool__sh_make(Pool *w) {
    static size_t making, next_cache;
    pool__Shared *sh;
    ArenaOptions o = w->opt;
    pool__Lent lent;   /* a shared heap's class: its range goes on */
    arena__lock(&making);
    sh = (pool__Shared *)(uintptr_t)arena__atomic_load(&w->shared);
    if (!sh && (sh = (pool__Shared *)pool__shared_mem(&o, NULL, sizeof *sh)) != NULL) {
        ARENA_MEMSET(sh, 0, sizeof *sh);
        o.flags &= ~ARENA_SHARED;
        lent.vm = w->vm;
        lent.bytes = w->vm_reserved;
        lent.budget = w->budget;
        pool__init(&sh->core, w->size, w->align, &o, w->vm_lent ? &lent : NULL);
        sh->core.gen_floor = w->gen_floor;     /* on from the last release: */
        sh->core.index_base = w->index_base;   /* old handles stay dead */
        sh->cache_no = (unsigned)(next_cache++ % POOL_THREAD_CACHES);   /* (under `making`) */
        if (sh->core.kind == POOL__VIRTUAL && pool__reserve(&sh->core))
            sh->run = (size_t)(uintptr_t)sh->core.run;
        arena__atomic_store(&w->shared, (size_t)(uintptr_t)sh);
    } else if (!sh) {
        arena__report(ARENA_ERR_OOM, "pool: no memory for the shared pool's state");
    }
    arena__unlock(&making);
    return sh;
}

static pool__Shared *pool__sh(const Pool *p, bool make) {
    Pool *w = (Pool *)(uintptr_t)p;
    pool__Shared *sh = (pool__Shared *)(uintptr_t)arena__atomic_load(&w->shared);
    return sh || !make ? sh : pool__sh_make(w);
}

static bool pool__lock_free(const pool__Shared *sh) { return sh->run != 0; }

static char *pool__shared_slot(const pool__Shared *sh, uint32_t n) {
    return (char *)(uintptr_t)sh->run + (size_t)n * sh->core.stride;
}

/* The header as the lock-free paths use it (open for good under ASan:
   only the lock's holder ever closes it). */
static pool__Header *pool__shared_hdr(void *s) {
    pool__open(POOL__HDR(s), sizeof(pool__Header));
    return POOL__HDR(s);
}

/* Slots n[0..k) onto the stack, in that order, with one compare-and-swap. */
static void pool__shared_push(pool__Shared *sh, const uint32_t *n, size_t k) {
    pool__Header *last = pool__shared_hdr(pool__shared_slot(sh, n[k - 1]));
    uint64_t h = arena__atomic_load64(&sh->head), next;
    size_t i;
    for (i = 0; i + 1 < k; i++) arena__atomic_store32(&pool__shared_hdr(pool__shared_slot(sh, n[i]))->index, n[i + 1] + 1);
    do {
        arena__atomic_store32(&last->index, (uint32_t)h);
        next = ((h >> 32) + 1) << 32 | (uint64_t)(n[0] + 1);
    } while (!arena__atomic_cas64(&sh->head, &h, next));
}

/* Up to `want` slots off the stack into n, with one compare-and-swap;
   how many. The links read before it are the stack's own if it holds:
   the tag says nothing was pushed or popped since they were read (a
   link that is no slot number was read in a race: read again). */
static size_t pool__shared_pop(pool__Shared *sh, uint32_t *n, size_t want) {
    uint64_t h = arena__atomic_load64(&sh->head);
    for (;;) {
        uint32_t id = (uint32_t)(h & POOL__ID_MASK);
        size_t k = 0, carved = arena__atomic_load(&sh->carved);
        for (; id && id - 1 < carved && k < want; k++) {
            n[k] = id - 1;
            id = arena__atomic_load32(&pool__shared_hdr(pool__shared_slot(sh, id - 1))->index);
        }
        if (!k) return 0;
        if (id - 1 >= carved && id && k < want) {
            h = arena__atomic_load64(&sh->head);
            continue;
        }
        if (arena__atomic_cas64(&sh->head, &h, (((h >> 32) + 1) << 32) | id)) {
            size_t i;
            for (i = 0; i < k; i++) arena__atomic_store32(&pool__shared_hdr(pool__shared_slot(sh, n[i]))->index, n[i]);
            return k;
        }
    }
}

static size_t pool__cache_count(const pool__Cache *c) { return ARENA__LOAD(&c->count); }
static void pool__cache_set_count(pool__Cache *c, size_t k) { ARENA__STORE(&c->count, k); }
static void pool__cache_add_taken(pool__Cache *c, size_t d) { ARENA__STORE(&c->taken, ARENA__LOAD(&c->taken) + d); }
static size_t pool__cache_live(const pool__Cache *c) { return ARENA__LOAD(&c->taken) - pool__cache_count(c); }

/* Off its pool: the slots and the count of live objects go back, under
   the pool's lock (so never inside the pool's frame-boundary call). The
   caller holds pool__caches_lock, which keeps the pool's state alive; it
   is let go while the pool's lock is busy, because a pool's lock comes
   first (pool__core_enter): pool_each's callback, run under one pool's
   lock, may attach a cache to another pool. */
static void pool__cache_detach(pool__Cache *c) {
    pool__Shared *sh;
    pool__Cache **at;
    while ((sh = (pool__Shared *)(uintptr_t)ARENA__LOAD(&c->owner)) != NULL && !arena__try_lock(&sh->lock)) {
        arena__unlock(&pool__caches_lock);
        arena__yield();
        arena__lock(&pool__caches_lock);
    }
    if (!sh) return;
    if (pool__cache_count(c)) pool__shared_push(sh, c->slot, pool__cache_count(c));
    arena__atomic_add(&sh->live, pool__cache_live(c));
    arena__unlock(&sh->lock);
    for (at = &sh->caches; *at != c; at = &(*at)->next) {}
    *at = c->next;
    pool__cache_set_count(c, 0);
    ARENA__STORE(&c->taken, 0);
    ARENA__STORE(&c->owner, 0);
}

#ifdef ARENA__THREAD_EXIT
static void pool__caches_exit(void) {
    int i;
    arena__lock(&pool__caches_lock);
    for (i = 0; i < POOL_THREAD_CACHES; i++) pool__cache_detach(&pool__cache[i]);
    arena__unlock(&pool__caches_lock);
}
#endif

static ARENA__NOINLINE void pool__cache_attach(pool__Shared *sh, pool__Cache *c) {
    arena__lock(&pool__caches_lock);
    pool__cache_detach(c);
    c->next = sh->caches;
    sh->caches = c;
    ARENA__STORE(&c->owner, (size_t)(uintptr_t)sh);
#ifdef ARENA__THREAD_EXIT
    if (arena__exit_also != pool__caches_exit)   /* one write, before any exit that reads it */
        arena__exit_also = pool__caches_exit;
#endif
    arena__unlock(&pool__caches_lock);
    arena__hook_thread_exit();
}

/* The calling thread's cache for sh, if it has one. */
static inline pool__Cache *pool__cache_mine(const pool__Shared *sh) {
    pool__Cache *c = &pool__cache[sh->cache_no];
    return ARENA__LOAD(&c->owner) == (size_t)(uintptr_t)sh ? c : NULL;
}

/* The calling thread's cache for sh, attached if need be. */
static pool__Cache *pool__cache_of(pool__Shared *sh) {
    pool__Cache *c = &pool__cache[sh->cache_no];
    if (c != pool__cache_mine(sh)) pool__cache_attach(sh, c);
    return c;
}

/* The objects live in the caches' counts (under pool__caches_lock), and
   (fold, a frame boundary) their slots into core's free list. */
static size_t pool__caches_fold(pool__Shared *sh, bool fold) {
    size_t live = 0, i;
    pool__Cache *c;
    for (c = sh->caches; c; c = c->next) {
        live += pool__cache_live(c);
        if (!fold) continue;
        for (i = 0; i < pool__cache_count(c); i++) pool__push(&sh->core, pool__shared_slot(sh, c->slot[i]));
        pool__cache_set_count(c, 0);
        ARENA__STORE(&c->taken, 0);
    }
    return live;
}

/* The lock, with core's live count synced; fold: the stack and the caches
   go into core's free list (a frame-boundary call). */
static Pool *pool__core_enter(pool__Shared *sh, bool fold) {
    Pool *c = &sh->core;
    size_t cached;
    arena__lock(&sh->lock);
    arena__lock(&pool__caches_lock);
    cached = pool__caches_fold(sh, fold);
    arena__unlock(&pool__caches_lock);
    if (fold) arena__atomic_add(&sh->live, cached);
    c->live = sh->live_in = arena__atomic_load(&sh->live) + (fold ? 0 : cached);
    if (fold && sh->run) {
        uint64_t h = arena__atomic_load64(&sh->head);
        uint32_t id = (uint32_t)(h & POOL__ID_MASK);
        arena__atomic_store64(&sh->head, h & ~POOL__ID_MASK);
        while (id) {
            char *s = pool__shared_slot(sh, id - 1);
            pool__Header *hd = pool__shared_hdr(s);
            uint32_t next = arena__atomic_load32(&hd->index);
            arena__atomic_store32(&hd->index, id - 1);
            pool__push(c, s);
            id = next;
        }
    }
    return c;
}

/* Publishes core (and after a fold puts its free list back on the stack)
   and unlocks. */
static void pool__core_leave(pool__Shared *sh, bool fold) {
    Pool *c = &sh->core;
    void *s;
    if (fold && sh->run)
        while ((s = pool__pop(c)) != NULL) {
            uint32_t n = pool__header(s).index;
            pool__shared_push(sh, &n, 1);
        }
    arena__atomic_add(&sh->live, c->live - sh->live_in);
    arena__atomic_store(&sh->carved, c->run_block.carved);
    arena__unlock(&sh->lock);
}

/* An empty cache takes half its size off the stack. */
static ARENA__NOINLINE size_t pool__cache_fill(pool__Shared *sh, pool__Cache *c) {
    size_t k = pool__shared_pop(sh, c->slot, POOL__CACHE_SLOTS / 2);
    pool__cache_set_count(c, k);
    pool__cache_add_taken(c, k);
    return k;
}

/* The top of the cache (holding k > 0 slots), live now. */
static inline void *pool__cache_take(const Pool *p, pool__Shared *sh, pool__Cache *c, size_t k) {
    char *s = pool__shared_slot(sh, c->slot[k - 1]);
    pool__Header *hd = pool__shared_hdr(s);
    pool__cache_set_count(c, k - 1);
    arena__atomic_store32(&hd->gen, arena__atomic_load32(&hd->gen) + 1);
    POOL__VG_ALLOC(&sh->core, s);
    arena__hand_out(s, p->size);
    return s;
}

/* Whatever the cache cannot do: the state made, the cache attached or
   filled, a fresh slot carved, or a pool that runs under its lock. */
static ARENA__NOINLINE void *pool__shared_alloc_more(Pool *p, pool__Shared *sh) {
    void *s = NULL;
    if (!sh && (sh = pool__sh(p, true)) == NULL) return NULL;
    if (sh->run) {
        pool__Cache *c = pool__cache_of(sh);
        size_t k = pool__cache_count(c);
        if (k || (k = pool__cache_fill(sh, c)) != 0) return pool__cache_take(p, sh, c, k);
    }
    POOL__ON_CORE(sh, false, s = pool_alloc(core_));
    if (s && sh->run) pool__shared_hdr(s);
    return s;
}

/* No call but in tail position (pool__alloc_slow saves no register for
   it): the thread's cache has a slot. */
static inline void *pool__shared_alloc(Pool *p) {
    pool__Shared *sh = pool__sh(p, false);
    pool__Cache *c;
    size_t k;
    if (ARENA__LIKELY(sh && sh->run) && (c = pool__cache_mine(sh)) != NULL && (k = pool__cache_count(c)) != 0)
        return pool__cache_take(p, sh, c, k);
    return pool__shared_alloc_more(p, sh);
}

/* Where obj lies in the run: NULL and its number, or why it is no object.
   A slot's start is aligned, and its header's number times the stride
   gives its offset back (a free slot's header holds a link instead:
   whatever it proves, the generation then says free). */
static inline const char *pool__shared_find(const pool__Shared *sh, const void *obj, uint32_t *np) {
    uintptr_t off = (uintptr_t)obj - (uintptr_t)sh->run;
    if (!obj || off >= (uintptr_t)arena__atomic_load((size_t *)(uintptr_t)&sh->carved) * sh->core.stride)
        return "pool: the pointer is not an object of this pool handed out since the last reset";
    if (off & (sh->core.align - 1) ||
        (uint64_t)(*np = arena__atomic_load32(&pool__shared_hdr((void *)(uintptr_t)obj)->index)) * sh->core.stride != off)
        return "pool: interior pointer, not the start of an object";
    return NULL;
}

/* A full cache gives half its size (the slots freed longest ago) to the stack. */
static ARENA__NOINLINE void pool__cache_spill(pool__Shared *sh, pool__Cache *c) {
    size_t half = POOL__CACHE_SLOTS / 2;
    pool__shared_push(sh, c->slot, half);
    ARENA_MEMMOVE(c->slot, c->slot + half, (POOL__CACHE_SLOTS - half) * sizeof c->slot[0]);
    pool__cache_set_count(c, POOL__CACHE_SLOTS - half);
    pool__cache_add_taken(c, (size_t)0 - half);
}

/* Slot n (just freed) into the cache, which holds k < POOL__CACHE_SLOTS. */
static inline void pool__cache_put(pool__Cache *c, size_t k, uint32_t n) {
    c->slot[k] = n;
    pool__cache_set_count(c, k + 1);
}

static inline void pool__shared_take_back(const Pool *p, pool__Shared *sh, void *s) {
    arena__take_back(s, p->size);
    POOL__VG_FREE(&sh->core, s);
}

/* A life the caller has just ended (generation g, now even) goes back,
   whatever the thread's cache (attached, spilled); a slot whose
   generations ran out retires for good. */
static ARENA__NOINLINE bool pool__shared_end(const Pool *p, pool__Shared *sh, void *s, uint32_t n, uint32_t g) {
    pool__Cache *c = pool__cache_of(sh);
    pool__shared_take_back(p, sh, s);
    if (g == POOL_GEN_LIMIT) {
        pool__cache_add_taken(c, (size_t)-1);   /* one free, no slot in */
        POOL__ON_CORE(sh, false, (core_->retired++, core_->capacity--));
        return true;
    }
    if (pool__cache_count(c) == POOL__CACHE_SLOTS) pool__cache_spill(sh, c);
    pool__cache_put(c, pool__cache_count(c), n);
    return true;
}

/* Ends the life in the header whose generation is g (any odd one if g is
   0): the new generation, 0 if the slot is not live (or not g). */
static inline uint32_t pool__shared_kill(pool__Header *hd, uint32_t g) {
    uint32_t now = arena__atomic_load32(&hd->gen);   /* (a stale handle only reads) */
    do {
        if (!(now & 1) || (g && now != g)) return 0;
    } while (!arena__atomic_cas32(&hd->gen, &now, now + 1));
    return now + 1;
}

static bool pool__shared_end_life(const Pool *p, pool__Shared *sh, void *s, uint32_t n, uint32_t g) {
    uint32_t now = pool__shared_kill(pool__shared_hdr(s), g);
    return now && pool__shared_end(p, sh, s, n, now);
}

static ARENA__NOINLINE bool pool__shared_refuse(const char *why) {
    arena__report(ARENA_ERR_MISUSE, why);
    return false;
}

/* Whatever the lock-free free does not do: a pool with no state yet or
   under its lock, and NULL. */
static ARENA__NOINLINE bool pool__shared_free_more(pool__Shared *sh, void *obj) {
    bool ok = !obj;
    if (!sh) {   /* nothing allocated since the release */
        if (obj) arena__report(ARENA_ERR_MISUSE, "pool: the pointer is not an object of this pool");
    } else if (obj) {
        POOL__ON_CORE(sh, false, ok = pool_free(core_, obj));
    }
    return ok;
}

/* No call but in tail position (pool__free_slow saves no register for
   it): anything but a free into the thread's cache goes on. */
static inline bool pool__shared_free(Pool *p, void *obj) {
    pool__Shared *sh = pool__sh(p, false);
    pool__Cache *c;
    const char *why;
    uint32_t n, g;
    size_t k;
    if (!ARENA__LIKELY(sh && sh->run && obj)) return pool__shared_free_more(sh, obj);
    if ((why = pool__shared_find(sh, obj, &n)) != NULL) return pool__shared_refuse(why);
    if ((g = pool__shared_kill(pool__shared_hdr(obj), 0)) == 0)
        return pool__shared_refuse("pool: the object is already free (double free or stale pointer)");
    if (!ARENA__LIKELY((c = pool__cache_mine(sh)) != NULL && (k = pool__cache_count(c)) < POOL__CACHE_SLOTS &&
                       g != POOL_GEN_LIMIT))
        return pool__shared_end(p, sh, obj, n, g);
    pool__shared_take_back(p, sh, obj);
    pool__cache_put(c, k, n);
    return true;
}

static void *pool__shared_get(const Pool *p, uint32_t index, uint32_t gen) {
    pool__Shared *sh = pool__sh(p, false);
    uint32_t n;
    void *s = NULL;
    if (!sh) return NULL;
    if (!sh->run) {
        POOL__ON_CORE(sh, false, s = pool__get_slow(core_, index, gen));
        return s;
    }
    n = index - sh->core.index_base;
    if (!(gen & 1) || n >= arena__atomic_load(&sh->carved)) return NULL;
    s = pool__shared_slot(sh, n);
    return arena__atomic_load32(&pool__shared_hdr(s)->gen) == gen ? s : NULL;
}

static bool pool__shared_free_handle(Pool *p, uint32_t index, uint32_t gen) {
    pool__Shared *sh = pool__sh(p, false);
    uint32_t n;
    bool ok = false;
    if (sh && !sh->run) {
        POOL__ON_CORE(sh, false, ok = pool__free_handle_slow(core_, index, gen));
        return ok;
    }
    n = sh ? index - sh->core.index_base : 0;
    if (sh && (gen & 1) && n < arena__atomic_load(&sh->carved))
        ok = pool__shared_end_life(p, sh, pool__shared_slot(sh, n), n, gen);
    if (!ok) arena__report(ARENA_ERR_MISUSE, gen ? "pool_free_handle: the handle is stale or of another pool"
                                                 : "pool_free_handle: the null handle");
    return ok;
}

/* A live object's handle on a lock-free pool (zero: obj is none, and why). */
static const char *pool__shared_handle(pool__Shared *sh, const void *obj, PoolHandle *h) {
    const char *why;
    uint32_t n;
    ARENA_MEMSET(h, 0, sizeof *h);
    if (!(why = pool__shared_find(sh, obj, &n))) {
        h->gen = arena__atomic_load32(&pool__shared_hdr((void *)(uintptr_t)obj)->gen);
        h->index = sh->core.index_base + n;
        if (!(h->gen & 1)) {
            h->gen = 0;
            why = "pool: the object is already free (double free or stale pointer)";
        }
    }
    return why;
}

/* Frees the shared state (pool_release): made again on the next use,
   with generations on from where these ended. */
static void pool__shared_drop(Pool *p, pool__Shared *sh) {
    ArenaOptions o = p->opt;
    arena__lock(&pool__caches_lock);   /* (the fold before emptied the caches) */
    while (sh->caches) pool__cache_detach(sh->caches);
    arena__unlock(&pool__caches_lock);
    p->gen_floor = sh->core.gen_floor;
    p->index_base = sh->core.index_base;
    arena__atomic_store(&p->shared, 0);
    pool__shared_mem(&o, sh, sizeof *sh);
}

/* While other threads may use the pool (a shared PoolHeap's class, when
   another class needs room under the cap): the committed pages above
   every slot handed out since the last reset or trim go back; no other
   free slot is known without a frame boundary (the threads' caches hold
   them). Skipped while the pool's lock is busy (the growing class's is
   its caller's own). */
static void pool__shared_trim_fresh(Pool *p) {
    pool__Shared *sh = pool__sh(p, false);
    Pool *c;
    size_t held;
    if (!sh || !sh->run || !arena__try_lock(&sh->lock)) return;
    c = &sh->core;
    held = c->vm_committed;
    if (!c->hole_bytes) pool__trim_top(c, c->run_block.carved);   /* (holes: counted apart) */
    pool__untake(c, held - c->vm_committed);
    arena__unlock(&sh->lock);
}

/* ---- snapshots ------------------------------------------------------------------------
   The copy: one record per block (the run of a run pool is block 0), then
   each block's carved slots, headers included, as they lie in memory. */

typedef struct pool__SnapBlock {
    pool__Block *block;       /* NULL: no block by this number */
    pool__Block info;         /* its fields at the snapshot */
    size_t at;              /* where its slots are in the copy */
} pool__SnapBlock;

static char *pool__carved_start(const Pool *p, const pool__Block *b) {
    (void)p;
    return b->slots - sizeof(pool__Header);
}

/* The shadow of slots [from, to) of b as their headers say: headers and
   free slots closed, live objects open. */
static void pool__reshadow(const Pool *p, const pool__Block *b, uint32_t from, uint32_t to) {
    uint32_t i;
    if (from >= to) return;
    pool__close(pool__slot(p, b, from) - sizeof(pool__Header), (size_t)(to - from) * p->stride);
    for (i = from; i < to; i++) {
        char *s = pool__slot(p, b, i);
        if (pool__header(s).gen & 1) pool__open(s, p->size);
    }
}

POOL_DEF bool pool_snapshot(Pool *p, PoolSnapshot *s, Arena *store) {
    if (pool__shared(p)) {
        arena__report(ARENA_ERR_MISUSE, "pool_snapshot: a shared pool cannot be snapshotted");
        return false;
    }
    uint32_t n, blocks;
    size_t bytes = 0, at;
    pool__SnapBlock *rec;
    char *copy;
    if (!p || !s || !store || !p->stride) {
        arena__report(ARENA_ERR_MISUSE, "pool_snapshot: needs an initialised pool, a snapshot and a store");
        return false;
    }
    if (!pool__fill_holes(p, true)) return false;   /* a snapshot holds no hole: pages come back */
    blocks = pool__blocks(p);
    for (n = 0; n < blocks; n++) {
        pool__Block *b = pool__block(p, n);
        if (b) bytes += (size_t)b->carved * p->stride;
    }
    at = arena__align_up(blocks * sizeof *rec, ARENA_MIN_ALIGN);
    copy = (char *)arena_alloc(store, at + bytes);
    if (!copy) return false;
    rec = (pool__SnapBlock *)copy;
    for (n = 0; n < blocks; n++) {
        pool__Block *b = pool__block(p, n);
        size_t len = b ? (size_t)b->carved * p->stride : 0;
        rec[n].block = b;
        rec[n].at = at;
        if (b) rec[n].info = *b;
        if (len) {
            pool__open(pool__carved_start(p, b), len);
            ARENA_MEMCPY(copy + at, pool__carved_start(p, b), len);
            pool__reshadow(p, b, 0, b->carved);
        }
        at += len;
    }
    s->pool = p;
    s->state = *p;
    s->copy = copy;
    s->bytes = bytes;
    s->blocks = blocks;
    return true;
}

/* Is every block of the snapshot still the pool's, with room for its
   carved slots (a virtual pool commits what a trim gave back)? */
static bool pool__snap_held(Pool *p, const PoolSnapshot *s) {
    const pool__SnapBlock *rec = (const pool__SnapBlock *)s->copy;
    size_t n;
    if (s->blocks > pool__blocks(p)) return false;
    for (n = 0; n < s->blocks; n++) {
        pool__Block *b = pool__block(p, (uint32_t)n);
        if (!rec[n].block) continue;
        if (!b || b->slots != rec[n].info.slots) return false;
        while (b->count < rec[n].info.carved)
            if (p->kind != POOL__VIRTUAL || !pool__commit(p)) return false;
    }
    return true;
}

/* Slot i of b back to its snapshot header h and bytes; the generation
   goes past any handed out since (kept in reserve while the object is
   live). False if the slot was free at the snapshot and has retired. */
static bool pool__restore_slot(Pool *p, pool__Block *b, uint32_t i, const char *saved) {
    char *s = pool__slot(p, b, i);
    pool__Header h, now;
    uint32_t high, number = b->first + i;
    bool was_live, live_now = i < b->carved && (pool__header(s).gen & 1);
    ARENA_MEMCPY(&h, saved, sizeof h);
    now = pool__header(s);   /* written when its memory arrived */
    high = pool__high_gen(now) > pool__high_gen(h) ? pool__high_gen(now) : pool__high_gen(h);
    was_live = (h.gen & 1) != 0;
    if (was_live && !live_now) POOL__VG_ALLOC(p, s);
    if (!was_live && live_now) POOL__VG_FREE(p, s);
    pool__open(s - sizeof h, p->stride);
    ARENA_MEMCPY(s - sizeof h, saved, p->stride);
    if (h.gen == POOL_GEN_LIMIT || high >= POOL_GEN_LIMIT - (was_live ? 1u : 0u)) {
        if (!was_live) h.gen = POOL_GEN_LIMIT;
        h.index = was_live ? POOL__RESERVED | (POOL_GEN_LIMIT >> 1) : number;
    } else if (was_live) {
        h.index = high == h.gen ? number : POOL__RESERVED | (((high + 1) & ~1u) >> 1);
    } else {
        h.gen = (high + 1) & ~1u;
        h.index = number;
    }
    ARENA_MEMCPY(s - sizeof h, &h, sizeof h);
    return was_live || h.gen != POOL_GEN_LIMIT;
}

POOL_DEF bool pool_restore(Pool *p, const PoolSnapshot *s) {
    if (pool__shared(p)) {
        arena__report(ARENA_ERR_MISUSE, "pool_restore: a shared pool cannot be restored");
        return false;
    }
    const pool__SnapBlock *rec;
    uint32_t n, i;
    bool relink = false;
    if (!p || !s || s->pool != p || p->stride != s->state.stride || p->kind != s->state.kind) {
        arena__report(ARENA_ERR_MISUSE, "pool_restore: the snapshot is not one of this pool");
        return false;
    }
    if (pool__refuse_in_walk(p, "pool_restore: called from inside pool_each on the same pool")) return false;
    if (p->capacity >> 31 || !pool__snap_held(p, s)) {
        arena__report(ARENA_ERR_MISUSE, "pool_restore: the pool gave back memory of the snapshot (release, trim)");
        return false;
    }
    if (!pool__fill_holes(p, true)) return false;
    p->peak_live = pool__peak(p);   /* read off the carving, which goes back */
    rec = (const pool__SnapBlock *)s->copy;
    for (n = 0; n < pool__blocks(p); n++) {
        pool__Block *b = pool__block(p, n);
        uint32_t carved = n < s->blocks && rec[n].block ? rec[n].info.carved : 0;
        if (!b) continue;
        for (i = carved; i < b->carved; i++) {   /* carved since: free again */
            char *slot = pool__slot(p, b, i);
            if (pool__header(slot).gen & 1) {
                POOL__VG_FREE(p, slot);
                if (!pool__end_life(p, slot)) relink = true;
            }
        }
        for (i = 0; i < carved; i++)
            if (!pool__restore_slot(p, b, i, (const char *)s->copy + rec[n].at + (size_t)i * p->stride))
                relink = true;
        pool__reshadow(p, b, 0, b->carved > carved ? b->carved : carved);
        b->carved = carved;
    }
    p->free = s->state.free;
    p->live = s->state.live;
    p->run_bytes = pool__is_run(p) ? (size_t)p->run_block.carved * p->stride : 0;
    p->skipped = s->state.skipped;
    p->fresh_block = s->state.fresh_block;
    if (relink) pool__relink(p);   /* a slot free at the snapshot has retired since */
    return true;
}

/* ======================================================================== */
/*                       PoolHeap implementation                            */
/* ======================================================================== */

#define POOL__HEAP_CHUNK ((uintptr_t)1 << POOL__HEAP_CHUNK_SHIFT)
#define POOL__HEAP_BLOCK ((size_t)2 << POOL__HEAP_CHUNK_SHIFT)   /* a class's blocks, at least: larger than a chunk */

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
    return arena__grab(&h->opt.source, size);
}

static void pool__heap_drop(PoolHeap *h, void *block, size_t size) {
    pool__budget_give(&h->budget, size);
    arena__give_back(&h->opt.source, block, size);
}

/* A class's pool gives back everything (its grab count stays the heap's). */
static void pool__heap_empty_class(PoolHeap *h, pool__HeapClass *c) {
    h->grab_count += c->pool.vm_lent ? pool_stats(&c->pool).grab_count : 0;
    pool_release(&c->pool);
}

/* A class gives back what its live objects do not need, everything if
   there are none. */
static void pool__heap_give_back(PoolHeap *h, pool__HeapClass *c) {
    if (pool_stats(&c->pool).live) pool_trim(&c->pool);
    else pool__heap_empty_class(h, c);
}

/* Room under the cap for `size` more bytes: the other classes (not
   `except`'s, which is growing) give back their empty blocks (pool_trim),
   and those whose objects are all freed everything; a shared heap's
   lock-free classes, which other threads use meanwhile, give back what
   they can (pool__shared_trim_fresh). */
static bool pool__heap_room(PoolHeap *h, size_t size, const Pool *except) {
    unsigned k;
    for (k = 0; k < POOL__HEAP_CLASSES && pool__budget_left(&h->budget) < size; k++) {
        pool__HeapClass *c = h->cls[k];
        if (!c || &c->pool == except) continue;
        if (pool__shared(&c->pool)) pool__shared_trim_fresh(&c->pool);
        else pool__heap_give_back(h, c);
    }
    return pool__budget_left(&h->budget) >= size;
}

/* The budget's room hook: a class in the reservation is about to commit
   past what the cap leaves (under its pool's lock, in a shared heap: the
   heap's comes after it, and the other classes' are only tried). */
static void pool__heap_budget_room(PoolBudget *b, size_t n, const Pool *growing) {
    PoolHeap *h = (PoolHeap *)(void *)((char *)b - offsetof(PoolHeap, budget));
    if (h->lock_free) arena__lock(&h->lock);
    pool__heap_room(h, n, growing);
    if (h->lock_free) arena__unlock(&h->lock);
}

/* `size` bytes from the source, counted against the cap; NULL (quietly)
   when neither the cap nor the source allows. */
static void *pool__heap_grab(PoolHeap *h, size_t size, const Pool *except) {
    void *mem;
    if (!pool__heap_room(h, size, except) || !pool__budget_take(&h->budget, size)) return NULL;
    mem = pool__heap_source_grab(h, size);
    if (!mem) pool__budget_give(&h->budget, size);
    return mem;
}

/* ---- the index: chunk -> owner ---------------------------------------------- */

/* Who owns the memory at p (outside the reservation): a block class, a
   large block (bit 0 set), or nobody (NULL). Only the index is read. */
static void *pool__heap_owner(const PoolHeap *h, const void *p) {
    uintptr_t key = ((uintptr_t)p >> POOL__HEAP_CHUNK_SHIFT) + 1;
    const pool__HeapChunk *m = h->map;
    size_t i;
    if (!m) return NULL;
    for (i = pool__heap_hash(key, h->map_mask);; i = (i + 1) & h->map_mask) {
        if (m[i].key == key) return (uintptr_t)p < m[i].boundary ? m[i].lo : m[i].hi;
        if (!m[i].key) return NULL;
    }
}

static pool__HeapChunk *pool__heap_slot(PoolHeap *h, uintptr_t key) {
    size_t i = pool__heap_hash(key, h->map_mask);
    while (h->map[i].key && h->map[i].key != key) i = (i + 1) & h->map_mask;
    return &h->map[i];
}

/* Room in the index for `more` entries, at most half full. */
static bool pool__heap_map_reserve(PoolHeap *h, size_t more, const Pool *except) {
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
static void *pool__heap_block(PoolHeap *h, size_t size, const Pool *except) {
    if (!pool__heap_map_reserve(h, (size >> POOL__HEAP_CHUNK_SHIFT) + 2, except)) return NULL;
    return pool__heap_grab(h, size, except);
}

/* The source of every class's pool: memory under the heap's cap. Blocks
   larger than a chunk (where objects live) are entered in the index as the
   class's; smaller grabs (a pool's own tables) are not: a pointer into
   them reaches a neighbour's owner at most, whose own check refuses it. */
static void *pool__heap_pool_grab(void *ctx, size_t size) {
    pool__HeapClass *c = (pool__HeapClass *)ctx;
    void *mem = pool__heap_block(c->heap, size, &c->pool);
    if (mem && size > POOL__HEAP_CHUNK) pool__heap_map_add(c->heap, (uintptr_t)mem, (uintptr_t)mem + size, c);
    return mem;
}

static void pool__heap_pool_drop(void *ctx, void *block, size_t size) {
    pool__HeapClass *c = (pool__HeapClass *)ctx;
    if (size > POOL__HEAP_CHUNK) pool__heap_map_remove(c->heap, (uintptr_t)block, (uintptr_t)block + size);
    pool__heap_drop(c->heap, block, size);
}

/* ---- the classes' reservation ------------------------------------------------ */

#define POOL__HEAP_MIN_PART ((size_t)1 << 20)

#ifndef ARENA_NO_VIRTUAL
/* One reservation for every class, tried once per heap life: parts of
   POOL_HEAP_VIRTUAL_RESERVE / 32 (or a power of two just above the cap,
   all a class can use), halved while the address space says no (ulimit
   -v, Valgrind). */
static void pool__heap_reserve(PoolHeap *h) {
    unsigned shift = 0;
    size_t want = (size_t)(POOL_HEAP_VIRTUAL_RESERVE) / POOL__HEAP_CLASSES;
    h->vm_tried = true;
    if (sizeof(void *) < 8 || h->opt.source.grab) return;
    if (h->opt.max_bytes && h->opt.max_bytes < want / 2) want = h->opt.max_bytes + arena__page_size();
    if (want < POOL__HEAP_MIN_PART) want = POOL__HEAP_MIN_PART;
    while (((size_t)1 << shift) < want) shift++;
    for (; ((size_t)1 << shift) >= POOL__HEAP_MIN_PART; shift--) {
        void *vm = arena__os_reserve((size_t)POOL__HEAP_CLASSES << shift);
        if (vm) {
            h->vm_base = (uintptr_t)vm;
            h->vm_shift = shift;
            arena__atomic_store(&h->vm_span, (size_t)POOL__HEAP_CLASSES << shift);   /* last: see pool__heap_lock_free_at */
            return;
        }
    }
}

static void pool__heap_unreserve(PoolHeap *h) {
    if (h->vm_span) arena__os_release((void *)h->vm_base, h->vm_span);
    h->vm_base = 0;
    h->vm_span = 0;
    h->vm_shift = 0;
}
#else
static void pool__heap_reserve(PoolHeap *h) { h->vm_tried = true; }
static void pool__heap_unreserve(PoolHeap *h) { (void)h; }
#endif

/* ---- size classes ------------------------------------------------------------ */

/* Class k's pool: a run in part k of the reservation, charged to the
   heap's budget (a shared pool in a shared heap's core); without one,
   block pools on the heap's source. */
static void pool__heap_class_pool(PoolHeap *h, pool__HeapClass *c) {
    ArenaOptions o;
    pool__Lent lent;
    ARENA_MEMSET(&o, 0, sizeof o);
    if (!h->vm_span) {
        o.block_size = h->opt.block_size > POOL__HEAP_BLOCK ? h->opt.block_size : POOL__HEAP_BLOCK;
        o.source.grab = pool__heap_pool_grab;
        o.source.drop = pool__heap_pool_drop;
        o.source.ctx = c;
        pool_init_opts(&c->pool, c->size, ARENA_MIN_ALIGN, &o);
        return;
    }
    if (h->lock_free) o.flags = ARENA_SHARED;
    lent.vm = (char *)(h->vm_base + ((uintptr_t)c->index << h->vm_shift));
    lent.bytes = (size_t)1 << h->vm_shift;
    lent.budget = &h->budget;
    pool__init(&c->pool, c->size, ARENA_MIN_ALIGN, &o, &lent);
}

static pool__HeapClass *pool__heap_new_class(PoolHeap *h, unsigned k) {
    pool__HeapClass *c;
    if (!h->vm_tried) pool__heap_reserve(h);
    c = (pool__HeapClass *)pool__heap_grab(h, sizeof *c, NULL);
    if (!c) {
        arena__report(ARENA_ERR_OOM, "pool_heap_alloc: out of memory (the source, or the heap's max_bytes)");
        return NULL;
    }
    c->heap = h;
    c->index = k;
    c->size = pool__heap_class_size(k);
    pool__heap_class_pool(h, c);
    arena__atomic_store((size_t *)(uintptr_t)&h->cls[k], (size_t)(uintptr_t)c);   /* see pool__heap_class_load */
    return c;
}

static void pool__heap_drop_class(PoolHeap *h, unsigned k) {
    pool__heap_empty_class(h, h->cls[k]);
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
    h->budget.max = h->opt.max_bytes;
    h->budget.room = pool__heap_budget_room;
    if (h->opt.flags & ~ARENA_SHARED) {
        h->opt.flags &= ARENA_SHARED;
        arena__report(ARENA_ERR_MISUSE, "pool_heap_init: unknown bits in flags (ignored)");
    }
}

/* ---- sharing across threads (ARENA_SHARED) ----------------------------------------
   A shared heap is a shell whose classes and reservation stay empty, so
   its inline paths go out of line to here; the heap itself is a PoolHeap
   of its own, `core` (the shell's options without the flag). Where core
   has a reservation (64-bit systems, memory from the OS), each class's
   pool is a shared Pool in its part of it: a small allocation or free
   finds its class with atomic loads and runs the shared pool's lock-free
   path (the thread's cache), so of two racing frees of one allocation
   one wins and one is refused, as for any shared pool. Everything else
   (large blocks, making a class, the index, reset, trim, release, stats,
   and every call of a heap without a reservation) runs on core under
   core's lock; the classes grow under their own locks, taking from
   core's budget in one atomic step (pool__budget_take), so the cap holds
   as for one thread. Lock order: the heap's, a class's, the caches'. A
   report of the core's is made under the lock: the error handler must
   not call the same heap. */

static bool pool__heap_shared(const PoolHeap *h) { return (h->opt.flags & ARENA_SHARED) != 0; }

/* The core of a shared heap, made (make) by the first allocation (again
   after a release) under a process-wide lock: threads may race to it. */
static ARENA__NOINLINE PoolHeap *pool__heap_core_make(PoolHeap *w) {
    static size_t making;
    PoolHeap *c;
    ArenaOptions o = w->opt;
    arena__lock(&making);
    c = (PoolHeap *)(uintptr_t)arena__atomic_load(&w->core);
    if (!c && (c = (PoolHeap *)pool__shared_mem(&o, NULL, sizeof *c)) != NULL) {
        o.flags &= ~ARENA_SHARED;
        pool_heap_init(c, &o);
        c->lock_free = true;
        arena__atomic_store(&w->core, (size_t)(uintptr_t)c);
    } else if (!c) {
        arena__report(ARENA_ERR_OOM, "pool_heap: no memory for the shared heap's state");
    }
    arena__unlock(&making);
    return c;
}

static inline PoolHeap *pool__heap_core(const PoolHeap *h, bool make) {
    PoolHeap *w = (PoolHeap *)(uintptr_t)h, *c = (PoolHeap *)(uintptr_t)arena__atomic_load(&w->core);
    return c || !make ? c : pool__heap_core_make(w);
}

/* `call` on core_, the core of the shared heap h, under its lock; not
   made when there is no core (make false, or no memory for one). */
#define POOL__HEAP_ON_CORE(h, make, call)                        \
    do {                                                         \
        PoolHeap *core_ = pool__heap_core((h), (make));          \
        if (core_) {                                             \
            arena__lock(&core_->lock);                           \
            call;                                                \
            arena__unlock(&core_->lock);                         \
        }                                                        \
    } while (0)

/* Class k of h as the lock-free paths read it: made under the lock and
   published by an atomic store (pool__heap_new_class). */
static pool__HeapClass *pool__heap_class_load(const PoolHeap *h, unsigned k) {
    return (pool__HeapClass *)(uintptr_t)arena__atomic_load((const size_t *)(uintptr_t)&h->cls[k]);
}

/* The lock-free class (a shared pool) of the shared heap h that p would
   be an object of, or NULL: read with atomic loads, the span first
   (pool__heap_reserve stores it after the base and the shift). */
static inline pool__HeapClass *pool__heap_lock_free_at(const PoolHeap *h, const void *p) {
    const PoolHeap *core = pool__heap_core(h, false);
    size_t span = core ? arena__atomic_load(&core->vm_span) : 0;
    uintptr_t off = span ? (uintptr_t)p - core->vm_base : 0;
    return off < span ? pool__heap_class_load(core, (unsigned)(off >> core->vm_shift)) : NULL;
}

static pool__HeapClass *pool__heap_class_made(PoolHeap *h, unsigned k) {
    return h->cls[k] ? h->cls[k] : pool__heap_new_class(h, k);
}

/* Whatever the lock-free classes do not: the core made, a class made
   (under the lock, the first time), and large sizes or every size of a
   core without a reservation, run on the core under the lock. */
static ARENA__NOINLINE void *pool__heap_shared_alloc_more(PoolHeap *h, size_t size) {
    PoolHeap *core = pool__heap_core(h, true);
    bool small = size <= POOL_HEAP_MAX_CLASS;
    pool__HeapClass *c = NULL;
    void *p = NULL;
    if (!core) return NULL;
    arena__lock(&core->lock);
    if (!core->vm_tried) pool__heap_reserve(core);
    if (small && core->vm_span) c = pool__heap_class_made(core, pool__heap_class(size));
    else p = pool_heap_alloc(core, size);
    arena__unlock(&core->lock);
    return c ? pool_alloc(&c->pool) : p;
}

/* No call but in tail position (pool__heap_alloc_slow saves no register
   for it): a small size whose class is a shared pool goes to that pool's
   own lean path. */
static inline void *pool__heap_shared_alloc(PoolHeap *h, size_t size) {
    PoolHeap *core = pool__heap_core(h, false);
    pool__HeapClass *c;
    if (ARENA__LIKELY(core && size <= POOL_HEAP_MAX_CLASS) &&
        (c = pool__heap_class_load(core, pool__heap_class(size))) != NULL && pool__shared(&c->pool))
        return pool__shared_alloc(&c->pool);
    return pool__heap_shared_alloc_more(h, size);
}

static ARENA__NOINLINE void *pool__heap_alloc_local(PoolHeap *h, size_t size);

POOL_DEF void *pool__heap_alloc_slow(PoolHeap *h, size_t size) {
    return pool__heap_shared(h) ? pool__heap_shared_alloc(h, size) : pool__heap_alloc_local(h, size);
}

static void *pool__heap_alloc_local(PoolHeap *h, size_t size) {
    pool__HeapClass *c;
    void *p = NULL;
    if (size > POOL_HEAP_MAX_CLASS) {
        if (size > ARENA__MAX_REQUEST - POOL__HEAP_LARGE_HEAD)
            return arena__report(ARENA_ERR_OVERFLOW, "pool_heap_alloc: the size is too large"), (void *)NULL;
        return pool__heap_large_alloc(h, size, false);
    }
    c = pool__heap_class_made(h, pool__heap_class(size));
    if (!c) return NULL;
    p = pool_alloc(&c->pool);
    if (p) pool__heap_count(h, c->size);
    return p;
}

POOL_DEF void *pool_heap_calloc(PoolHeap *h, size_t count, size_t size) {
    void *p;
    if (size && count > SIZE_MAX / size)
        return arena__report(ARENA_ERR_OVERFLOW, "pool_heap_calloc: count * size overflows"), (void *)NULL;
    p = pool_heap_alloc(h, count * size);
    if (p) ARENA_MEMSET(p, 0, count * size);
    return p;
}

static bool pool__heap_in_reservation(const PoolHeap *h, const void *p) {
    return (uintptr_t)p - h->vm_base < h->vm_span;
}

/* NULL, and whatever is outside the lock-free classes, under the lock. */
static ARENA__NOINLINE bool pool__heap_shared_free_more(PoolHeap *h, void *p) {
    bool ok = false;
    if (!p) return true;
    POOL__HEAP_ON_CORE(h, false, ok = pool_heap_free(core_, p));
    if (!pool__heap_core(h, false)) arena__report(ARENA_ERR_MISUSE, "pool_heap_free: the pointer is not an allocation of this heap");
    return ok;
}

/* No call but in tail position: a pointer in a lock-free class (every
   class in a shared heap's reservation is a shared pool) goes to that
   pool's own lean path. */
static inline bool pool__heap_shared_free(PoolHeap *h, void *p) {
    pool__HeapClass *c = pool__heap_lock_free_at(h, p);
    if (ARENA__LIKELY(c != NULL)) return pool__shared_free(&c->pool, p);
    return pool__heap_shared_free_more(h, p);
}

static ARENA__NOINLINE bool pool__heap_free_local(PoolHeap *h, void *p);

POOL_DEF bool pool__heap_free_slow(PoolHeap *h, void *p) {
    return pool__heap_shared(h) ? pool__heap_shared_free(h, p) : pool__heap_free_local(h, p);
}

/* Everything the inline free does not settle: NULL, block classes, large
   blocks, and pointers the heap does not own. */
static bool pool__heap_free_local(PoolHeap *h, void *p) {
    void *owner = NULL;
    if (!p) return true;
    owner = pool__heap_in_reservation(h, p) ? NULL : pool__heap_owner(h, p);
    if (owner && !((uintptr_t)owner & 1)) return pool__heap_free_in(h, (pool__HeapClass *)owner, p);
    if (owner && pool__heap_large_data(pool__heap_large_of(owner)) == (char *)p) {
        pool__heap_large_free(h, pool__heap_large_of(owner));
        return true;
    }
    arena__report(ARENA_ERR_MISUSE, owner ? "pool_heap_free: a pointer inside a large allocation, not its start"
                                          : "pool_heap_free: the pointer is not an allocation of this heap");
    return false;
}

/* Is p a live object of c? In the reservation, pool_free's own inline
   test, reading only the header (sanitizer builds, where headers are
   poisoned, block classes and shared ones ask pool_owns). */
static inline bool pool__heap_live(const pool__HeapClass *c, const void *p) {
#if !ARENA__CHECKED
    uintptr_t off = (uintptr_t)p - (uintptr_t)c->pool.run;
    if (c->pool.vm_lent && !pool__shared(&c->pool))
        return off < c->pool.run_bytes && (uint64_t)pool__number_at(p) * c->pool.stride == off &&
               (POOL__HDR(p)->gen & 1);
#endif
    return pool_owns(&c->pool, p);
}

POOL_DEF size_t pool_heap_size(const PoolHeap *h, const void *p) {
    const pool__HeapClass *c = pool__heap_shared(h) ? pool__heap_lock_free_at(h, p) : pool__heap_class_at(h, p);
    size_t n = 0;
    if (!c && pool__heap_shared(h)) {
        POOL__HEAP_ON_CORE(h, false, n = pool_heap_size(core_, p));
        return n;
    }
    if (!ARENA__LIKELY(c != NULL)) {
        void *owner = !p || pool__heap_in_reservation(h, p) ? NULL : pool__heap_owner(h, p);
        pool__HeapLarge *l = pool__heap_large_of(owner);
        if (!owner) return 0;
        if ((uintptr_t)owner & 1) return pool__heap_large_data(l) == (const char *)p ? l->usable : 0;
        c = (const pool__HeapClass *)owner;
    }
    return pool__heap_live(c, p) ? c->size : 0;
}

/* Would an allocation of `size` succeed without calling the source? (A
   shrinking realloc never fails: it moves only when it surely can; in a
   shared heap, only to a lock-free class.) */
static bool pool__heap_has_room(const PoolHeap *h, size_t size) {
    const PoolHeap *w = pool__heap_shared(h) ? pool__heap_core(h, false) : h;
    const pool__HeapClass *c = w && size <= POOL_HEAP_MAX_CLASS ? pool__heap_class_load(w, pool__heap_class(size)) : NULL;
    PoolStats st;
    if (!c || (w != h && !pool__shared(&c->pool))) return false;
    st = pool_stats(&c->pool);
    return st.live < st.capacity;
}

/* q, just allocated, takes the first n bytes of p, which is freed; NULL
   (q freed too) if another thread's call freed p first (reported). */
static void *pool__heap_moved(PoolHeap *h, void *p, void *q, size_t n) {
    ARENA_MEMCPY(q, p, n);
    if (pool_heap_free(h, p)) return q;
    pool_heap_free(h, q);
    return NULL;
}

static void *pool__heap_move(PoolHeap *h, void *p, size_t old, size_t size) {
    void *q = pool_heap_alloc(h, size);
    return q ? pool__heap_moved(h, p, q, old < size ? old : size) : NULL;
}

/* A large block of `size` bytes, quietly NULL if none. */
static void *pool__heap_large_quiet(PoolHeap *h, size_t size) {
    void *q = NULL;
    if (!pool__heap_shared(h)) return pool__heap_large_alloc(h, size, true);
    POOL__HEAP_ON_CORE(h, false, q = pool__heap_large_alloc(core_, size, true));
    return q;
}

/* Stays in place while the new size fits and uses more than half of the
   room; shrinks further move when they can without calling the source,
   or (large blocks) when the source gives a smaller block. A shared
   heap's realloc is its calls (size, alloc, free), each atomic. */
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
        q = pool__heap_large_quiet(h, size);
        return q ? pool__heap_moved(h, p, q, size) : p;
    }
    return pool__heap_has_room(h, size) ? pool__heap_move(h, p, old, size) : p;
}

POOL_DEF void pool_heap_reset(PoolHeap *h) {
    unsigned k;
    if (pool__heap_shared(h)) {
        POOL__HEAP_ON_CORE(h, false, pool_heap_reset(core_));
        return;
    }
    for (k = 0; k < POOL__HEAP_CLASSES; k++)
        if (h->cls[k]) pool_reset(&h->cls[k]->pool);
    while (h->large) pool__heap_large_free(h, h->large);
    h->live_bytes = 0;
}

POOL_DEF void pool_heap_release(PoolHeap *h) {
    unsigned k;
    ArenaOptions opt = h->opt;
    PoolHeap *core = pool__heap_shared(h) ? pool__heap_core(h, false) : NULL;
    if (core) {   /* (a frame boundary: nobody else is inside) */
        pool_heap_release(core);
        pool__shared_mem(&opt, core, sizeof *core);
        pool_heap_init(h, &opt);
        return;
    }
    for (k = 0; k < POOL__HEAP_CLASSES; k++)
        if (h->cls[k]) pool__heap_drop_class(h, k);
    while (h->large) pool__heap_large_free(h, h->large);
    if (h->map) pool__heap_drop(h, h->map, (h->map_mask + 1) * sizeof *h->map);
    pool__heap_unreserve(h);
    pool_heap_init(h, &opt);
}

/* Adds the stats of h's classes, those that are lock-free (shared) or
   the others. A lock-free class keeps no byte counts of the heap's (its
   pool counts its objects): its live bytes are its live objects', its
   peak its pool's peak (so a shared heap's peak_bytes is the sum of its
   classes' and its large blocks' peaks: at least the true one). */
static void pool__heap_class_stats(const PoolHeap *h, PoolHeapStats *s, bool shared) {
    unsigned k;
    for (k = 0; k < POOL__HEAP_CLASSES; k++) {
        const pool__HeapClass *c = pool__heap_class_load(h, k);
        PoolStats st;
        if (!c || pool__shared(&c->pool) != shared) continue;
        st = pool_stats(&c->pool);
        s->live_count += st.live;
        if (c->pool.vm_lent) s->grab_count += st.grab_count;   /* its commits */
        if (!shared) continue;
        s->live_bytes += st.live * c->size;
        s->peak_bytes += st.peak_live * c->size;
    }
}

/* A shared heap's lock-free classes are read after its lock is let go:
   a class's lock comes before the heap's (pool__heap_budget_room). */
POOL_DEF PoolHeapStats pool_heap_stats(const PoolHeap *h) {
    PoolHeap *w = (PoolHeap *)(uintptr_t)h, *core = pool__heap_shared(h) ? pool__heap_core(h, false) : w;
    PoolHeapStats s;
    ARENA_MEMSET(&s, 0, sizeof s);
    if (!core) return s;
    if (core != w) arena__lock(&core->lock);
    s.live_count = core->large_count;
    s.grab_count = core->grab_count;
    s.live_bytes = core->live_bytes;
    s.peak_bytes = core->peak_bytes;
    pool__heap_class_stats(core, &s, false);
    s.bytes_held = arena__atomic_load(&core->budget.held);
    if (core != w) arena__unlock(&core->lock);
    pool__heap_class_stats(core, &s, true);
    return s;
}

POOL_DEF void pool_heap_trim(PoolHeap *h) {
    unsigned k;
    if (pool__heap_shared(h)) {
        POOL__HEAP_ON_CORE(h, false, pool_heap_trim(core_));
        return;
    }
    for (k = 0; k < POOL__HEAP_CLASSES; k++)
        if (h->cls[k]) pool__heap_give_back(h, h->cls[k]);
}

#endif /* POOL_IMPLEMENTATION */
