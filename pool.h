/* pool.h - fixed-size object pools with checked frees and handles that
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

   THREADS
       pool_init_opts with ArenaOptions.flags = ARENA_SHARED: many threads
       allocate, free and use handles at once (each call takes the pool's
       lock; every check still holds); reset, release, trim, pool_each and
       pool_stats at a frame boundary. See README "Threads".

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

   CONFIGURATION (besides arena.h's)
       POOL_UNCHECKED        pool_free trusts its argument (release builds:
                             no range or double-free check; a free is a
                             push, an alloc a pop, each with a generation
                             step). Any mix of files with and without it is
                             fine
       POOL_BLOCK_SIZE       block size of block pools, and the first commit
                             of virtual pools (default 64 KiB)
       POOL_VIRTUAL_RESERVE  address space a virtual pool reserves (default
                             64 GiB; less if max_bytes is smaller)
       POOL_GEN_LIMIT        a slot whose generation reaches this (even)
                             value is retired for good (default 0xFFFFFFFE),
                             so an old handle can never come back to life

   FOR PoolHeap / THREADS (internal hooks, not API)
       - Slot numbers: every slot's header holds its number (pool__Header
         .index); a handle's index is p->index_base + that number. Run
         pools: slot n is p->run + n * p->stride. Block pools: block
         number >> p->index_shift, slot within it the low bits.
         pool__slot_at(p, n) and pool__number_of(obj) convert both ways.
       - Liveness is the header's generation (odd = live), changed only by
         alloc (+1) and free (+1); a lock-free free list can link slot
         numbers (32 bits) and keep a tag beside the head for ABA safety.
       - p->budget (PoolBudget: held, max) is charged for every byte a pool
         takes from its source or commits, and credited when given back:
         point several pools at one PoolBudget to cap them together.
       - pool_trim gives back whole empty blocks (block pools) and the
         committed pages above the highest live slot (virtual pools).

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
#define POOL_BLOCK_SIZE ((size_t)64 << 10)
#endif
#ifndef POOL_VIRTUAL_RESERVE
#define POOL_VIRTUAL_RESERVE ((size_t)((uint64_t)1 << 36 & SIZE_MAX))   /* 64-bit only */
#endif
#ifndef POOL_GEN_LIMIT
#define POOL_GEN_LIMIT 0xFFFFFFFEu
#endif
#if (POOL_GEN_LIMIT) & 1
#error "pool.h: POOL_GEN_LIMIT must be even"
#endif

/* An object by index and generation; all zero is the null handle. */
typedef struct PoolHandle {
    uint32_t index, gen;
} PoolHandle;

typedef struct pool__Header {   /* internal: the 8 bytes before every object */
    uint32_t gen;               /* odd while live; POOL_GEN_LIMIT: retired */
    uint32_t index;             /* the slot's number */
} pool__Header;

typedef struct PoolBlock {      /* internal: a run of slots */
    char *slots;                /* slot 0's object */
    size_t bytes;               /* block pools: bytes taken from the source */
    uint32_t count;             /* slots it holds (a virtual run: committed) */
    uint32_t carved;            /* slots handed out since the last reset */
    uint32_t inited;            /* slots whose header was ever written */
    uint32_t first;             /* number of slot 0 */
} PoolBlock;

typedef struct PoolBudget {     /* internal: bytes held, and a cap (0: none) */
    size_t held, max;
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
    uint32_t run_slots;         /* run pools: slots carved since the reset */
    uint32_t index_base;        /* handle index of slot 0 */
    /* the rest */
    size_t size, align, peak_live, capacity, retired;
    uint64_t div_magic;         /* ceil(2^64 / stride): slow-path division */
    uint32_t gen_floor;         /* generation of a new slot (even) */
    unsigned index_shift;       /* block pools: slot number = block << shift | slot */
    unsigned walking;           /* pool_each calls under way */
    int kind;
    PoolBlock run_block;        /* run pools: the run */
    PoolBlock **blocks;         /* block pools: by number; NULL once trimmed */
    uint32_t block_count, block_cap, fresh_block;
    size_t block_bytes, blocks_held;
    pool__Granule *table;       /* block pools: granule -> block, open addressing */
    size_t table_mask, table_used;
    unsigned granule_shift;
    char *vm;                   /* virtual pools: the reservation */
    size_t vm_reserved, vm_committed;
    char *buf;                  /* buffer pools: the buffer */
    size_t buf_bytes;
    ArenaOptions opt;           /* source, max_bytes, block_size */
    size_t bytes_held, grab_count;
    PoolBudget own_budget, *budget;
    /* internal, ARENA_SHARED only: the free list (p->free stays empty, so
       that every inline call of a shared pool goes out of line) and the
       lock that every call takes. */
    struct { void *free; size_t lock; } shared;
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
POOL_DEF bool pool_free_handle(Pool *p, PoolHandle h);
POOL_DEF PoolHandle pool_handle_of(const Pool *p, const void *obj);

/* ---- the fast paths ------------------------------------------------------
   They touch the Pool and the object's own header and first word, nothing
   else. Anything unusual (a block pool's free, a bad pointer, a slot whose
   generation runs out, no free slot) goes out of line, where every case
   is checked exactly. Sanitizer, Valgrind and debug-fill builds take the
   out-of-line paths for everything (headers are poisoned there). */

POOL_DEF void *pool__alloc_slow(Pool *p);
POOL_DEF bool pool__free_slow(Pool *p, void *obj);
POOL_DEF void *pool__get_slow(const Pool *p, PoolHandle h);
POOL_DEF void *pool__alloc_with_handle_slow(Pool *p, PoolHandle *h);

#define POOL__HDR(obj) ((pool__Header *)((uintptr_t)(obj) - sizeof(pool__Header)))

/* g is a generation just stepped by a free: even (the object was live)
   and below the limit (the slot is not retiring). One compare: rotated
   right by one, an odd g lands above every even one. */
static inline bool pool__may_end(uint32_t g) {
    return ((g >> 1) | (g << 31)) < (uint32_t)(POOL_GEN_LIMIT >> 1);
}

/* A header word that may be misaligned (obj might be an interior pointer). */
static inline uint32_t pool__load32(const uint32_t *w) {
    uint32_t v;
#if defined(__GNUC__) || defined(__clang__)
    __builtin_memcpy(&v, w, sizeof v);
#else
    v = *w;
#endif
    return v;
}

static inline void *pool_alloc(Pool *p) {
#if ARENA__CHECKED
    return pool__alloc_slow(p);
#else
    void *s = p->free;
    if (ARENA__LIKELY(s != NULL)) {
        p->free = *(void **)s;
        POOL__HDR(s)->gen++;
        p->live++;
        return s;
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
    if (!ARENA__LIKELY(obj != NULL && (g = h->gen + 1) != POOL_GEN_LIMIT)) return pool__free_slow(p, obj);
#else
    uintptr_t off = (uintptr_t)obj - (uintptr_t)p->run;
    if (!ARENA__LIKELY(off < p->run_bytes && (uint64_t)pool__load32(&h->index) * p->stride == off &&
                       pool__may_end(g = h->gen + 1)))
        return pool__free_slow(p, obj);
#endif
    h->gen = g;
    *(void **)obj = p->free;
    p->free = obj;
    p->live--;
    return true;
#endif
}

/* One load after the index: the slot's header. */
static inline void *pool_get(const Pool *p, PoolHandle h) {
#if ARENA__CHECKED
    return pool__get_slow(p, h);
#else
    uint32_t n = h.index - p->index_base;
    if (ARENA__LIKELY(n < p->run_slots)) {
        char *s = p->run + (size_t)n * p->stride;
        return POOL__HDR(s)->gen == h.gen && (h.gen & 1) ? s : NULL;
    }
    return pool__get_slow(p, h);
#endif
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

static bool pool__shared(const Pool *p) { return (p->opt.flags & ARENA_SHARED) != 0; }

/* The free list's head: a shared pool keeps p->free empty for the inline
   paths (see "sharing across threads"). */
static void **pool__head(Pool *p) { return pool__shared(p) ? &p->shared.free : &p->free; }

/* Tells the inline paths how many slots of the run are carved; a shared
   pool's inline paths must find none. */
static void pool__set_carved(Pool *p, uint32_t slots) {
    if (pool__shared(p)) return;
    p->run_slots = slots;
    p->run_bytes = (size_t)slots * p->stride;
}

static void pool__push(Pool *p, void *s) {
    void **head = pool__head(p);
    pool__open(s, sizeof(void *));
    *(void **)s = *head;
    pool__close(s, p->stride - sizeof(pool__Header));
    *head = s;
}

static void *pool__pop(Pool *p) {
    void **head = pool__head(p), *s = *head;
    if (!s) return NULL;
    pool__open(s, sizeof(void *));
    *head = *(void **)s;
    pool__close(s, sizeof(void *));
    return s;
}

/* ---- memory from the source, under the caps ------------------------------------ */

static PoolBudget *pool__budget(Pool *p) { return p->budget ? p->budget : &p->own_budget; }

/* May the pool take n more bytes (max_bytes, and a shared budget)? */
static bool pool__may_take(Pool *p, size_t n) {
    PoolBudget *b = pool__budget(p);
    if (p->opt.max_bytes && (n > p->opt.max_bytes || p->bytes_held > p->opt.max_bytes - n)) return false;
    return !b->max || (n <= b->max && b->held <= b->max - n);
}

static void pool__count(Pool *p, size_t n, bool taken) {
    PoolBudget *b = pool__budget(p);
    if (taken) { p->bytes_held += n; b->held += n; }
    else { p->bytes_held -= n; b->held -= n; }
}

static void *pool__grab(Pool *p, size_t n) {
    void *mem;
    if (!pool__may_take(p, n))
        return arena__report(ARENA_ERR_OOM, "pool: the pool's max_bytes (or its heap's) is reached"), (void *)NULL;
    p->grab_count++;
    if (p->opt.source.grab) mem = p->opt.source.grab(p->opt.source.ctx, n);
    else {
#ifdef ARENA_NO_MALLOC
        mem = NULL;
#else
        mem = ARENA_MALLOC(n);
#endif
    }
    if (!mem) return arena__report(ARENA_ERR_OOM, "pool: the source is out of memory"), (void *)NULL;
    pool__count(p, n, true);
    return mem;
}

static void pool__drop(Pool *p, void *mem, size_t n) {
    if (!mem) return;
    ARENA__UNPOISON(mem, n);
    pool__count(p, n, false);
    if (p->opt.source.grab) {
        if (p->opt.source.drop) p->opt.source.drop(p->opt.source.ctx, mem, n);
    } else {
#ifndef ARENA_NO_MALLOC
        ARENA_FREE(mem);
#endif
    }
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

static char *pool__slots_after(const Pool *p, char *lo) {
    return arena__align_ptr(lo + sizeof(pool__Header), p->align);
}

static void pool__set_run(Pool *p, char *slots, uint32_t count) {
    ARENA_MEMSET(&p->run_block, 0, sizeof p->run_block);
    p->run_block.slots = p->run = slots;
    p->run_block.count = count;
    p->capacity = count;
    pool__set_carved(p, 0);
}

static bool pool__is_run(const Pool *p) { return p->kind != POOL__BLOCKS; }

/* The block by number (the run is block 0 of a run pool), NULL if none. */
static PoolBlock *pool__block(const Pool *p, uint32_t n) {
    if (pool__is_run(p)) return n == 0 && p->run ? (PoolBlock *)(uintptr_t)&p->run_block : NULL;
    return n < p->block_count ? p->blocks[n] : NULL;
}

static uint32_t pool__blocks(const Pool *p) { return pool__is_run(p) ? 1u : p->block_count; }

static char *pool__slot(const Pool *p, const PoolBlock *b, uint32_t i) {
    return b->slots + (size_t)i * p->stride;
}

/* ---- virtual pools ---------------------------------------------------------------- */

#ifndef ARENA_NO_VIRTUAL
static bool pool__reserve(Pool *p) {
    size_t page = arena__page_size(), size = POOL_VIRTUAL_RESERVE;
    size_t most = p->stride * (size_t)UINT32_MAX;   /* no more slots than numbers */
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
    size_t page = arena__page_size(), have = p->vm_committed, step;
    size_t need = (size_t)(pool__slot(p, &p->run_block, p->run_block.count + 1) - sizeof(pool__Header) - p->vm);
    step = have ? (have < ARENA_MAX_BLOCK_SIZE ? have : ARENA_MAX_BLOCK_SIZE)
                : arena__align_up(p->opt.block_size ? p->opt.block_size : POOL_BLOCK_SIZE, page);
    if (step < need - have) step = need - have;
    step = arena__align_up(step, page);
    if (step > p->vm_reserved - have) step = p->vm_reserved - have;
    if (have + step < need) {
        arena__report(ARENA_ERR_OOM, "pool_alloc: the pool's reservation is used up");
        return false;
    }
    if (!pool__may_take(p, step)) {   /* what is left under the caps, if a slot fits */
        PoolBudget *b = pool__budget(p);
        size_t left = p->opt.max_bytes ? p->opt.max_bytes - p->bytes_held : SIZE_MAX;
        if (b->max && b->max - b->held < left) left = b->max - b->held;
        step = left / page * page;
        if (have + step < need || !pool__may_take(p, step)) {
            arena__report(ARENA_ERR_OOM, "pool_alloc: the pool's max_bytes (or its heap's) is reached");
            return false;
        }
    }
    p->grab_count++;
    if (!arena__os_commit(p->vm + have, step)) {
        arena__report(ARENA_ERR_OOM, "pool_alloc: the OS refused to commit memory");
        return false;
    }
    ARENA__POISON(p->vm + have, step);
    p->vm_committed += step;
    pool__count(p, step, true);
    {
        uint32_t count = pool__fit(p, p->run, p->vm + p->vm_committed);
        p->capacity += count - p->run_block.count;
        p->run_block.count = count;
    }
    return true;
}

static void pool__unreserve(Pool *p) {
    if (!p->vm) return;
    ARENA__UNPOISON(p->vm, p->vm_committed);
    arena__os_release(p->vm, p->vm_reserved);
    pool__count(p, p->vm_committed, false);
    p->vm = NULL;
    p->vm_reserved = p->vm_committed = 0;
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
static void pool__table_add(Pool *p, const PoolBlock *b, uint32_t n) {
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
static PoolBlock *pool__block_find(const Pool *p, const void *obj) {
    uintptr_t u = (uintptr_t)obj, g = u >> p->granule_shift;
    size_t h;
    if (!p->table) return NULL;
    for (h = pool__granule_hash(p, g); p->table[h].block; h = (h + 1) & p->table_mask) {
        PoolBlock *b;
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
        PoolBlock **dir = (PoolBlock **)pool__grab(p, cap * sizeof *dir);
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
    PoolBlock *b;
    while (n < p->block_count && p->blocks[n]) n++;
    if (((uint64_t)n + 1) << p->index_shift > (uint64_t)UINT32_MAX + 1 - p->index_base) {
        arena__report(ARENA_ERR_OOM, "pool_alloc: the pool has as many blocks as 32-bit handles can name");
        return false;
    }
    if (!pool__room_for_block(p, n)) return false;
    b = (PoolBlock *)pool__grab(p, p->block_bytes);
    if (!b) return false;
    ARENA_MEMSET(b, 0, sizeof *b);
    b->bytes = p->block_bytes;
    b->slots = pool__slots_after(p, (char *)(b + 1));
    count = pool__fit(p, b->slots, (char *)b + b->bytes);
    b->count = count < (1u << p->index_shift) ? count : (1u << p->index_shift);
    b->first = n << p->index_shift;
    ARENA__POISON(b + 1, b->bytes - sizeof *b);
    p->blocks[n] = b;
    if (n == p->block_count) p->block_count++;
    p->blocks_held++;
    pool__table_add(p, b, n);
    p->capacity += b->count;
    return true;
}

static void pool__drop_block(Pool *p, uint32_t n) {
    PoolBlock *b = p->blocks[n];
    p->capacity -= b->count;
    p->blocks[n] = NULL;
    p->blocks_held--;
    pool__drop(p, b, b->bytes);
}

/* ---- carving fresh slots --------------------------------------------------------- */

/* More room: a commit, a new block, or (a released buffer pool) the
   buffer again. */
static bool pool__grow(Pool *p) {
    switch (p->kind) {
    case POOL__BUFFER:
        if (!p->run) {
            pool__set_run(p, pool__slots_after(p, p->buf), pool__fit(p, pool__slots_after(p, p->buf), p->buf + p->buf_bytes));
            ARENA__POISON(p->buf, p->buf_bytes);
            return true;
        }
        arena__report(ARENA_ERR_OOM, "pool_alloc: the buffer pool is full");
        return false;
    case POOL__VIRTUAL:
        if (!p->vm && !pool__reserve(p)) {
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
static void *pool__carve(Pool *p) {
    for (;;) {
        PoolBlock *b;
        while ((b = pool__block(p, p->fresh_block)) != NULL || p->fresh_block < pool__blocks(p)) {
            if (b) {
                while (b->carved < b->count) {
                    uint32_t i = b->carved++;
                    char *s = pool__slot(p, b, i);
                    if (b == &p->run_block) pool__set_carved(p, b->carved);
                    if (i >= b->inited) {
                        pool__set_header(s, p->gen_floor, b->first + i);
                        b->inited = i + 1;
                        return s;
                    }
                    if (pool__header(s).gen != POOL_GEN_LIMIT) return s;
                }
            }
            if (p->fresh_block + 1 >= pool__blocks(p)) break;
            p->fresh_block++;
        }
        if (!pool__grow(p)) return NULL;
        if (!pool__is_run(p)) p->fresh_block = 0;   /* a new block may fill a hole */
    }
}

/* ---- sharing across threads (ARENA_SHARED) -----------------------------------------
   Every call of a shared pool runs under its lock (the thread holding it
   is noted, so that a call made inside one runs straight through). Its
   free list is kept in p->shared and its run is never marked carved for
   the inline paths, so they find nothing to do and always come out of
   line: every check of a one-thread pool holds under contention (of two
   threads freeing the same object, one is refused). */

static ARENA_THREAD_LOCAL const Pool *pool__held;   /* the shared pool this thread has locked */

/* Shared, and not yet locked by this thread. */
static bool pool__locks(const Pool *p) { return pool__shared(p) && pool__held != p; }

/* Locks p, or (a frame-boundary call, misuse given) reports once and
   returns false when the lock is held: a thread is inside. */
static bool pool__enter(Pool *p, const char *misuse) {
    if (misuse && arena__load(&p->shared.lock)) {
        arena__report(ARENA_ERR_MISUSE, misuse);
        return false;
    }
    arena__lock(&p->shared.lock);
    return true;
}

/* r = expr under the lock of the shared pool p; `fail` if refused. */
#define POOL__CALL(p, misuse, r, fail, expr) \
    do { Pool *q = (Pool *)(uintptr_t)(p); \
         const Pool *held_ = pool__held; \
         if (!pool__enter(q, (misuse))) r = (fail); \
         else { pool__held = q; r = (expr); pool__held = held_; arena__unlock(&q->shared.lock); } \
    } while (0)

/* ---- alloc and free ---------------------------------------------------------------- */

POOL_DEF void *pool__alloc_slow(Pool *p) {
    void *s;
    if (pool__locks(p)) {
        POOL__CALL(p, NULL, s, NULL, pool__alloc_slow(q));
        return s;
    }
    if (!p->stride)
        return arena__report(ARENA_ERR_MISUSE, "pool_alloc: the pool is not initialised (pool_init failed or was not called)"), (void *)NULL;
    s = pool__pop(p);
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
static PoolBlock *pool__block_of(const Pool *p, const void *obj) {
    if (!p->stride) return NULL;
    if (pool__is_run(p)) {
        const PoolBlock *r = &p->run_block;
        if (!p->run || (uintptr_t)obj - (uintptr_t)r->slots >= (uintptr_t)r->count * p->stride) return NULL;
        return (PoolBlock *)(uintptr_t)r;
    }
    return pool__block_find(p, obj);
}

/* Finds the live object at obj: its block and slot, or why it is not one. */
static const char *pool__locate(const Pool *p, const void *obj, PoolBlock **bp, uint32_t *ip) {
    PoolBlock *b = obj ? pool__block_of(p, obj) : NULL;
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

/* A live object's life ends: the slot retires for good when its
   generation runs out. False if it retired. */
static bool pool__end_life(Pool *p, void *s) {
    uint32_t g = pool__header(s).gen + 1;
    pool__set_gen(s, g);
    if (g != POOL_GEN_LIMIT) return true;
    p->retired++;
    p->capacity--;
    return false;
}

static void pool__free_slot(Pool *p, void *s) {
    arena__take_back(s, p->size);
    POOL__VG_FREE(p, s);
    p->live--;
    if (pool__end_life(p, s)) pool__push(p, s);
}

POOL_DEF bool pool__free_slow(Pool *p, void *obj) {
    PoolBlock *b;
    uint32_t i;
    const char *why;
    bool r;
    if (!obj) return true;
    if (pool__locks(p)) {
        POOL__CALL(p, NULL, r, false, pool__free_slow(q, obj));
        return r;
    }
    why = pool__locate(p, obj, &b, &i);
    if (why) {
        arena__report(ARENA_ERR_MISUSE, why);
        return false;
    }
    pool__free_slot(p, obj);
    return true;
}

POOL_DEF bool pool_owns(const Pool *p, const void *obj) {
    PoolBlock *b;
    uint32_t i;
    bool r;
    if (pool__locks(p)) {
        POOL__CALL(p, NULL, r, false, pool_owns(q, obj));
        return r;
    }
    return obj && !pool__locate(p, obj, &b, &i);
}

/* ---- init, reset, release, trim ---------------------------------------------------- */

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
    size_t head = sizeof(PoolBlock) + sizeof(pool__Header) + (p->align > 8 ? p->align - 8 : 0);
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
    most = (bytes - sizeof(PoolBlock)) / p->stride + 1;
    p->index_shift = 0;
    while (((size_t)1 << p->index_shift) < most) p->index_shift++;
    return true;
}

POOL_DEF void pool_init_opts(Pool *p, size_t size, size_t align, const ArenaOptions *opt) {
    if (!pool__setup(p, size, align)) return;
    if (opt) p->opt = *opt;
    if (p->opt.flags & ~ARENA_SHARED) {
        p->opt.flags &= ARENA_SHARED;
        arena__report(ARENA_ERR_MISUSE, "pool_init_opts: unknown bits in flags (ignored)");
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

static bool pool__refuse_in_walk(const Pool *p, const char *msg) {
    if (!p->walking) return false;
    arena__report(ARENA_ERR_MISUSE, msg);
    return true;
}

POOL_DEF void pool_reset(Pool *p) {
    uint32_t n, i;
    if (pool__locks(p)) {
        POOL__CALL(p, "pool_reset: a thread is inside the shared pool", n, 0, (pool_reset(q), 0u));
        return;
    }
    if (pool__refuse_in_walk(p, "pool_reset: called from inside pool_each on the same pool")) return;
    for (n = 0; n < pool__blocks(p); n++) {
        PoolBlock *b = pool__block(p, n);
        if (!b) continue;
        for (i = 0; i < b->carved; i++) {
            char *s = pool__slot(p, b, i);
            if (pool__header(s).gen & 1) {
                arena__take_back(s, p->size);
                pool__end_life(p, s);
            }
        }
        b->carved = 0;
    }
    POOL__VG_DESTROY(p);   /* every object of the pool at once */
    POOL__VG_CREATE(p);
    pool__set_carved(p, 0);
    *pool__head(p) = NULL;
    p->fresh_block = 0;
    p->live = 0;
}

/* The highest generation any slot has had. */
static uint32_t pool__top_gen(const Pool *p) {
    uint32_t n, i, top = p->gen_floor;
    for (n = 0; n < pool__blocks(p); n++) {
        PoolBlock *b = pool__block(p, n);
        for (i = 0; b && i < b->inited; i++) {
            uint32_t g = pool__header(pool__slot(p, b, i)).gen;
            if (g > top) top = g;
        }
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
    if (pool__locks(p)) {
        POOL__CALL(p, "pool_release: a thread is inside the shared pool", n, 0, (pool_release(q), 0u));
        return;
    }
    if (pool__refuse_in_walk(p, "pool_release: called from inside pool_each on the same pool")) return;
    used = pool__is_run(p) ? p->run_block.inited : p->block_count << p->index_shift;
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
    pool__set_carved(p, 0);
    *pool__head(p) = NULL;
    p->fresh_block = 0;
    p->live = p->peak_live = p->capacity = p->retired = 0;
    p->grab_count = 0;   /* as a fresh pool: the count starts over */
    POOL__VG_CREATE(p);
}

/* Keeps a slot through a trim: live, or so near the end of its
   generations that new ones could not start above it. */
static bool pool__keeps(const void *s) {
    uint32_t g = pool__header(s).gen;
    return (g & 1) || g >= POOL_GEN_LIMIT - 2;
}

/* The free list again, from the headers (after a trim took slots away). */
static void pool__relink(Pool *p) {
    uint32_t n, i;
    *pool__head(p) = NULL;
    for (n = pool__blocks(p); n-- > 0;) {
        PoolBlock *b = pool__block(p, n);
        for (i = b ? b->carved : 0; i-- > 0;) {
            char *s = pool__slot(p, b, i);
            uint32_t g = pool__header(s).gen;
            if (!(g & 1) && g != POOL_GEN_LIMIT) pool__push(p, s);
        }
    }
    p->fresh_block = 0;
}

/* The highest generation of slots [from, b->inited) of b. */
static uint32_t pool__top_gen_of(const Pool *p, const PoolBlock *b, uint32_t from) {
    uint32_t i, top = p->gen_floor;
    for (i = from; i < b->inited; i++) {
        uint32_t g = pool__header(pool__slot(p, b, i)).gen;
        if (g > top) top = g;
    }
    return top;
}

#ifndef ARENA_NO_VIRTUAL
/* A virtual pool decommits the pages above its highest kept slot. */
static void pool__trim_run(Pool *p) {
    PoolBlock *r = &p->run_block;
    uint32_t keep = r->inited, top;
    size_t page = arena__page_size(), end;
    while (keep && !pool__keeps(pool__slot(p, r, keep - 1))) keep--;
    end = arena__align_up((size_t)(pool__slot(p, r, keep) - sizeof(pool__Header) - p->vm), page);
    top = pool__top_gen_of(p, r, keep);
    if (end >= p->vm_committed || top >= POOL_GEN_LIMIT - 2) return;
    pool__raise_floor(p, top, 0);
    ARENA__UNPOISON(p->vm + end, p->vm_committed - end);   /* no stale shadow */
    arena__os_decommit(p->vm + end, p->vm_committed - end);
    pool__count(p, p->vm_committed - end, false);
    p->vm_committed = end;
    r->inited = keep;
    if (r->carved > keep) r->carved = keep;
    p->capacity -= r->count - pool__fit(p, p->run, p->vm + end);
    r->count = pool__fit(p, p->run, p->vm + end);
    pool__set_carved(p, r->carved);
    pool__relink(p);
}
#else
static void pool__trim_run(Pool *p) { (void)p; }
#endif

/* A block pool gives back every block with no kept slot. */
static void pool__trim_blocks(Pool *p) {
    uint32_t n, i;
    for (n = 0; n < p->block_count; n++) {
        PoolBlock *b = p->blocks[n];
        uint32_t top;
        for (i = 0; b && i < b->inited && !pool__keeps(pool__slot(p, b, i)); i++) {}
        if (!b || i < b->inited || (top = pool__top_gen_of(p, b, 0)) >= POOL_GEN_LIMIT - 2) continue;
        pool__raise_floor(p, top, 0);
        pool__drop_block(p, n);
    }
    while (p->block_count && !p->blocks[p->block_count - 1]) p->block_count--;
    pool__table_fill(p);
    pool__relink(p);
}

POOL_DEF void pool_trim(Pool *p) {
    if (pool__locks(p)) {
        int r;
        POOL__CALL(p, "pool_trim: a thread is inside the shared pool", r, 0, (pool_trim(q), 0));
        (void)r;
        return;
    }
    if (pool__refuse_in_walk(p, "pool_trim: called from inside pool_each on the same pool")) return;
    if (p->kind == POOL__VIRTUAL && p->vm) pool__trim_run(p);
    else if (p->kind == POOL__BLOCKS && p->table) pool__trim_blocks(p);
}

/* Live = generation odd. fn may free the object it is given or any other
   (a freed one is never visited) and allocate (a new object may or may not
   be visited); reset, release and trim of this pool are refused inside. */
POOL_DEF void pool_each(Pool *p, void (*fn)(void *obj, void *ctx), void *ctx) {
    uint32_t n, i;
    if (!fn) {
        arena__report(ARENA_ERR_MISUSE, "pool_each: the function is NULL");
        return;
    }
    if (pool__shared(p) && arena__load(&p->shared.lock)) {   /* fn may use the pool: no lock held */
        arena__report(ARENA_ERR_MISUSE, "pool_each: a thread is inside the shared pool");
        return;
    }
    p->walking++;
    for (n = 0; n < pool__blocks(p); n++) {
        PoolBlock *b = pool__block(p, n);
        for (i = 0; b && i < b->carved; i++) {
            char *s = pool__slot(p, b, i);
            if (pool__header(s).gen & 1) fn(s, ctx);
        }
    }
    p->walking--;
}

POOL_DEF PoolStats pool_stats(const Pool *p) {
    PoolStats s;
    s.live = p->live;
    s.capacity = p->capacity;
    s.peak_live = p->peak_live > p->live ? p->peak_live : p->live;
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
    h.index = p->index_base + hd.index;
    h.gen = hd.gen;
    return h;
}

POOL_DEF void *pool__get_slow(const Pool *p, PoolHandle h) {
    uint32_t n, k;
    PoolBlock *b;
    char *s;
    if (pool__locks(p)) {
        POOL__CALL(p, NULL, s, NULL, (char *)pool__get_slow(q, h));
        return s;
    }
    n = h.index - p->index_base;
    k = pool__is_run(p) ? 0 : n >> p->index_shift;
    b = p->stride && (h.gen & 1) ? pool__block(p, k) : NULL;
    if (!b || n - b->first >= b->carved) return NULL;
    s = pool__slot(p, b, n - b->first);
    return pool__header(s).gen == h.gen ? s : NULL;
}

POOL_DEF void *pool__alloc_with_handle_slow(Pool *p, PoolHandle *h) {
    void *obj;
    if (pool__locks(p)) {
        POOL__CALL(p, NULL, obj, NULL, pool__alloc_with_handle_slow(q, h));
        return obj;
    }
    if (!h) return arena__report(ARENA_ERR_MISUSE, "pool_alloc_with_handle: the handle pointer is NULL"), (void *)NULL;
    obj = pool_alloc(p);
    if (obj) *h = pool__handle(p, obj);
    else ARENA_MEMSET(h, 0, sizeof *h);
    return obj;
}

POOL_DEF PoolHandle pool_alloc_handle(Pool *p) {
    PoolHandle h;
    pool_alloc_with_handle(p, &h);
    return h;
}

POOL_DEF PoolHandle pool_handle_of(const Pool *p, const void *obj) {
    PoolHandle h, none;
    PoolBlock *b;
    uint32_t i;
    const char *why;
    ARENA_MEMSET(&none, 0, sizeof none);
    if (pool__locks(p)) {
        POOL__CALL(p, NULL, h, none, pool_handle_of(q, obj));
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

POOL_DEF bool pool_free_handle(Pool *p, PoolHandle h) {
    void *obj;
    bool r;
    if (pool__locks(p)) {   /* the look-up and the free in one locked call */
        POOL__CALL(p, NULL, r, false, pool_free_handle(q, h));
        return r;
    }
    obj = pool_get(p, h);
    if (!obj) {
        arena__report(ARENA_ERR_MISUSE, h.gen ? "pool_free_handle: the handle is stale or of another pool"
                                              : "pool_free_handle: the null handle");
        return false;
    }
    return pool_free(p, obj);
}

#endif /* POOL_IMPLEMENTATION */
