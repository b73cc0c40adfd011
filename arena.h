/* arena.h v0.1.0 - arena (region), stack and scratch allocators for C and C++.

   Objects allocated from an Arena share one lifetime: allocate many with a
   pointer bump, free them all at once with arena_reset or arena_release.
   No per-object free means no leak from a forgotten free, no double free,
   and cleanups registered with arena_defer run when the memory goes.

   Do this in exactly one C or C++ file:
       #define ARENA_IMPLEMENTATION
       #include "arena.h"
   and just include "arena.h" everywhere else.

   QUICK START
       Arena a = {0};                          // C++: Arena a = {};
       Node *n = arena_new(&a, Node);          // zeroed, aligned
       char *s = arena_sprintf(&a, "%s#%d", name, id);
       ArenaMark m = arena_mark(&a);
       ... temporary allocations ...
       arena_rewind(&a, m);                    // frees everything since m
       arena_reset(&a);                        // frees all, keeps the memory
       arena_release(&a);                      // gives the memory back

   WHAT IS IN HERE
       Arena        bump allocator over blocks from a source: malloc (default),
                    reserved virtual memory (arena_init_virtual), a caller's
                    buffer (arena_init_buffer) or caller callbacks (ArenaSource)
       marks        arena_mark / arena_rewind, arena_temp_begin / _end
       scratch      arena_scratch_begin: per-thread temporary arenas
       cleanups     arena_defer: destructors run on rewind, reset, release
       arrays       ArenaArray(T) + arena_array_push: grow in place
       ArenaStack   LIFO allocator that refuses a misordered pop
       ArenaRing    frame rings: data that lives a fixed number of frames
       ArenaDeque   two-ended stack: one buffer, low and high ends
       snapshots    arena_snapshot / arena_restore: rollback and undo
       strings      ArenaBuilder (append, appendf, finish), ArenaStr slices
       threads      ArenaOptions.flags = ARENA_SHARED: many threads allocate
                    from one arena at once (a lock-free bump of one atomic
                    add, a lock to add a block); reset, release, rewind at
                    a frame boundary, refused (ARENA_ERR_MISUSE) while a
                    thread is inside a locked allocating call.
                    See README "Threads".
       errors       every failure calls the handler set with
                    arena_set_error_handler once, then returns NULL/false

   HOW IT WORKS
       Blocks. An arena bumps a pointer through its newest block (cur to
       end; inline, one compare). A request that does not fit takes a new
       block: a kept one, else one from the source, each twice the last up
       to ARENA_MAX_BLOCK_SIZE; older blocks chain behind it. A virtual
       arena is one block: a reservation committed as the top rises.
       Positions. Every byte handed out has a position: the bytes the arena
       had handed out below it (a block's header holds the position of its
       first byte, so positions rise across blocks). bytes_used is the
       position of the top; a mark is a position plus the identity below.
       Cuts. Every move of the top downwards (rewind, temp_end, a shrinking
       realloc, a failed call undone) is a cut. A mark is stale exactly when
       a cut newer than the mark lies below its position. The cuts that
       still matter form a stack of 16-byte records kept in the arena's own
       memory, at the cut positions ("marks" in the implementation).
       Epochs and lives. arena_reset bumps the arena's epoch: the marks of
       earlier cycles die. arena_release (or a new init) starts a new life,
       numbered from a process-wide counter at its first mark: the marks of
       an earlier life, or of another arena in the same memory, die too.
       Keep cycles. A cycle runs from one reset to the next. A reset keeps
       the blocks that one of the last ARENA_KEEP_CYCLES cycles used (up to
       keep_bytes) and gives the others back, so a loop that fills and
       resets to the same peak calls its source only while warming up; a
       block grabbed for one oversized request goes back at the first reset
       of a cycle that did not use it.

   SECTIONS OF THIS FILE (search for "---- name")
       declarations   configuration, errors, the arena, growable arrays,
                      the stack allocator, internals shared with pool.h,
                      the fast paths, the marks' fast paths, frame rings,
                      two-ended stacks, snapshots, strings, the stack's
                      fast paths, C++
       IMPLEMENTATION internal types, errors, re-entry, platform (one
                      block per OS: virtual memory, thread exit; then the
                      atomics, the lock and the process-wide counter, by
                      compiler), poisoning, size arithmetic, blocks,
                      virtual memory, buffer arenas, growth (the slow
                      path of every allocation), sharing across threads,
                      init, rewinding, marks, reset / release / stats /
                      cleanups, calloc / realloc / strings, builder,
                      sprintf (and where stb_sprintf departs from C),
                      stack allocator, per-thread scratch, frame rings,
                      two-ended stacks, the deque's marks, snapshots,
                      strings

   CONFIGURATION (define before the first include of arena.h; the defaults
   are in one block right below this comment)
     Read by every file that includes arena.h (structs, declarations, the
     inline paths): keep them the same in every file.
       ARENA_MIN_ALIGN           alignment of every allocation (default 16,
                                 at least alignof(max_align_t))
       ARENA_KEEP_CYCLES         arena_reset keeps what one of the last this
                                 many cycles used (default 4)
       ARENA_RING_MAX            most frames in an ArenaRing (default 16)
       ARENA_DEBUG_FILL 0/1      fill handed-out memory with 0xCD and freed
                                 memory with 0xDD (default: on only in
                                 unoptimised builds without NDEBUG, i.e. no
                                 NDEBUG and no __OPTIMIZE__; -O2 is a release
                                 build). Under ARENA_VALGRIND handed-out
                                 memory is left undefined instead, so that
                                 memcheck reports reads of it
       ARENA_VALGRIND            tell memcheck what is handed out (client
                                 requests; needs <valgrind/memcheck.h>)
       ARENA_MEMCPY, ARENA_MEMMOVE, ARENA_MEMSET, ARENA_MEMCHR, ARENA_STRLEN
                                 the libc functions used (define all five
                                 and <string.h> is not included)
       ARENA_NO_SPRINTF          no arena_sprintf, no stb_sprintf dependency
       ARENA_STATIC              make the implementation static to its file
     Read only by the file that defines ARENA_IMPLEMENTATION.
       ARENA_ASSERT(x)           internal sanity checks (default: assert)
       ARENA_MALLOC(size)        default source: both or neither
       ARENA_FREE(ptr)             (default: malloc and free)
       ARENA_NO_MALLOC           no default source at all (freestanding):
                                 only buffers, virtual memory and callbacks
       ARENA_BLOCK_SIZE          first block, in bytes (default 64 KiB)
       ARENA_MAX_BLOCK_SIZE      growth stops doubling here (default 64 MiB)
       ARENA_KEEP_BYTES          most memory arena_reset keeps (default: no
                                 cap beyond the ARENA_KEEP_CYCLES rule)
       ARENA_VIRTUAL_RESERVE     default reservation (64 GiB; 1 GiB on 32-bit)
       ARENA_NO_VIRTUAL          no mmap / VirtualAlloc: arena_init_virtual
                                 fails, pools grow by blocks
       ARENA_NO_THREADS          scratch arenas are global, not per thread
       ARENA_THREAD_LOCAL        the thread-local storage keyword to use
       ARENA_STB_SPRINTF_EXTERN  you link stb_sprintf yourself (-lstb, or your
                                 own STB_SPRINTF_IMPLEMENTATION); otherwise the
                                 implementation compiles a private static copy
       ARENA_STB_SPRINTF_HEADER  the stb_sprintf header (<stb/stb_sprintf.h>)
       ARENA_LOG(msg)            where misuse is printed without a handler
                                 (default: fputs to stderr)
   Under AddressSanitizer (and with ARENA_VALGRIND) every byte not handed
   out is poisoned and each allocation is followed by a 16-byte redzone.

   RULES THE LIBRARY CHECKS (each refusal: one handler call, nothing changed)
       A stale mark (rewound past, from an earlier cycle or life) is refused,
       exactly, whatever happened since. While an arena runs its cleanups or
       the error handler for a failing call on it, that code may use other
       arenas and arena_mark / arena_stats on it, but not allocate from,
       rewind, reset or release it (ARENA_ERR_MISUSE).

   LICENSE: MIT (see the end of this file).
*/

/* ==== CONFIGURATION: the default of every option (see above) =============== */

#ifndef ARENA_H   /* read by every file */
#ifndef ARENA_MIN_ALIGN
#define ARENA_MIN_ALIGN 16
#endif
#ifndef ARENA_KEEP_CYCLES
#define ARENA_KEEP_CYCLES 4
#endif
#ifndef ARENA_RING_MAX
#define ARENA_RING_MAX 16
#endif
/* Release builds are the default: the fills (and the out-of-line path they
   need) are on in unoptimised builds without NDEBUG, or when asked for.
   -O2 without -DNDEBUG takes the inline fast paths. */
#ifndef ARENA_DEBUG_FILL
#if defined(NDEBUG) || defined(__OPTIMIZE__)
#define ARENA_DEBUG_FILL 0
#else
#define ARENA_DEBUG_FILL 1
#endif
#endif
#if !defined(ARENA_MEMCPY) || !defined(ARENA_MEMMOVE) || !defined(ARENA_MEMSET) || \
    !defined(ARENA_MEMCHR) || !defined(ARENA_STRLEN)
#define ARENA__LIBC_STRING 1   /* <string.h> is included */
#endif
#ifndef ARENA_MEMCPY
#define ARENA_MEMCPY memcpy
#endif
#ifndef ARENA_MEMMOVE
#define ARENA_MEMMOVE memmove
#endif
#ifndef ARENA_MEMSET
#define ARENA_MEMSET memset
#endif
#ifndef ARENA_MEMCHR
#define ARENA_MEMCHR memchr
#endif
#ifndef ARENA_STRLEN
#define ARENA_STRLEN strlen
#endif
/* ARENA_VALGRIND, ARENA_NO_SPRINTF, ARENA_STATIC: off unless defined */
#endif /* !ARENA_H */

#if defined(ARENA_IMPLEMENTATION) && !defined(ARENA__IMPLEMENTED)   /* read by the implementation */
#ifndef ARENA_ASSERT
#define ARENA_ASSERT(x) assert(x)
#define ARENA__LIBC_ASSERT 1   /* <assert.h> is included */
#endif
#if defined(ARENA_MALLOC) != defined(ARENA_FREE)
#error "arena.h: define both ARENA_MALLOC and ARENA_FREE, or neither"
#endif
#if !defined(ARENA_MALLOC) && !defined(ARENA_NO_MALLOC)
#define ARENA_MALLOC(size) malloc(size)
#define ARENA_FREE(p) free(p)
#define ARENA__LIBC_MALLOC 1   /* <stdlib.h> is included */
#endif
#ifndef ARENA_LOG
#define ARENA_LOG(msg) (void)(fputs(msg, stderr), fputc('\n', stderr))
#define ARENA__LIBC_LOG 1      /* <stdio.h> is included */
#endif
#ifndef ARENA_BLOCK_SIZE
#define ARENA_BLOCK_SIZE ((size_t)64 << 10)
#endif
#ifndef ARENA_MAX_BLOCK_SIZE
#define ARENA_MAX_BLOCK_SIZE ((size_t)64 << 20)
#endif
#ifndef ARENA_KEEP_BYTES
#define ARENA_KEEP_BYTES SIZE_MAX
#endif
#ifndef ARENA_VIRTUAL_RESERVE
#define ARENA_VIRTUAL_RESERVE (sizeof(void *) >= 8 ? (size_t)1 << 36 : (size_t)1 << 30)
#endif
#ifndef ARENA_THREAD_LOCAL
#if defined(ARENA_NO_THREADS)
#define ARENA_THREAD_LOCAL
#elif defined(__cplusplus) && __cplusplus >= 201103L
#define ARENA_THREAD_LOCAL thread_local
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && \
    !defined(__STDC_NO_THREADS__)
#define ARENA_THREAD_LOCAL _Thread_local
#elif defined(_MSC_VER)
#define ARENA_THREAD_LOCAL __declspec(thread)
#else
#define ARENA_THREAD_LOCAL __thread
#endif
#endif
#ifndef ARENA_STB_SPRINTF_HEADER
#define ARENA_STB_SPRINTF_HEADER <stb/stb_sprintf.h>
#endif
/* ARENA_NO_MALLOC, ARENA_NO_VIRTUAL, ARENA_NO_THREADS,
   ARENA_STB_SPRINTF_EXTERN: off unless defined */
#endif /* ARENA_IMPLEMENTATION */

#ifndef ARENA_H
#define ARENA_H

#define ARENA_VERSION_MAJOR 0
#define ARENA_VERSION_MINOR 1
#define ARENA_VERSION_PATCH 0
#define ARENA_VERSION_STRING "0.1.0"

/* The platform layer's feature-test macro (see "---- platform"), here
   because it must come before the first system header: the implementation
   maps anonymous memory, which strict -std=c99 hides. It only helps when
   arena.h comes before any system header in the file that defines
   ARENA_IMPLEMENTATION; otherwise (a <stdlib.h> first, as the ARENA_MALLOC
   hook needs) virtual memory maps /dev/zero instead. */
#if defined(ARENA_IMPLEMENTATION) && !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#ifdef ARENA__LIBC_STRING
#include <string.h>
#endif
#ifndef __cplusplus
#include <stdbool.h>
#endif

#if defined(ARENA_STATIC) && (defined(__GNUC__) || defined(__clang__))
#define ARENA_DEF static __attribute__((unused))   /* a user calls only some */
#elif defined(ARENA_STATIC)
#define ARENA_DEF static
#elif defined(__cplusplus)
#define ARENA_DEF extern "C"
#else
#define ARENA_DEF extern
#endif


#if defined(__GNUC__) || defined(__clang__)
#define ARENA__LIKELY(x) __builtin_expect(!!(x), 1)
#if defined(__MINGW32__) && !defined(__clang__)
#define ARENA_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))   /* %zu */
#else
#define ARENA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif
#else
#define ARENA__LIKELY(x) (x)
#define ARENA_PRINTF(f, a)
#endif

#if defined(__cplusplus)
#define ARENA_ALIGNOF(T) alignof(T)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define ARENA_ALIGNOF(T) _Alignof(T)
#elif defined(__GNUC__) || defined(__clang__)
#define ARENA_ALIGNOF(T) __alignof__(T)
#else
#define ARENA_ALIGNOF(T) offsetof(struct { char c_; T t_; }, t_)
#endif

/* Sanitizer builds take the out-of-line path for every allocation so that
   each one gets its redzone, its poisoning and its fill pattern. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA__ASAN 1
#endif
#endif
#ifndef ARENA__ASAN
#define ARENA__ASAN 0
#endif
/* Handed-out memory is filled unless memcheck tracks it as undefined. */
#if ARENA_DEBUG_FILL && !defined(ARENA_VALGRIND)
#define ARENA__FILL_FRESH 1
#else
#define ARENA__FILL_FRESH 0
#endif
#if ARENA__ASAN || defined(ARENA_VALGRIND) || ARENA_DEBUG_FILL
#define ARENA__CHECKED 1
#else
#define ARENA__CHECKED 0
#endif
#if ARENA__ASAN || defined(ARENA_VALGRIND)
#define ARENA__REDZONE ((size_t)16)
#else
#define ARENA__REDZONE ((size_t)0)
#endif

/* ---- errors ---------------------------------------------------------- */

typedef enum ArenaError {
    ARENA_OK = 0,
    ARENA_ERR_OOM,       /* the source (or the buffer, or the cap) is out */
    ARENA_ERR_OVERFLOW,  /* a size computation does not fit in size_t */
    ARENA_ERR_ALIGN,     /* alignment not a power of two, misaligned buffer */
    ARENA_ERR_MISUSE     /* a call the API forbids; nothing was changed */
} ArenaError;

typedef void (*ArenaErrorFn)(ArenaError err, const char *msg, void *ctx);

/* Sets the process-wide handler (NULL: the default) and returns the old one.
   Without a handler allocation failures are quiet and misuse is printed. */
ARENA_DEF ArenaErrorFn arena_set_error_handler(ArenaErrorFn fn, void *ctx);
ARENA_DEF const char *arena_error_name(ArenaError err);

/* ---- the arena -------------------------------------------------------- */

/* Where blocks come from. grab returns size bytes aligned for any type, or
   NULL; drop gets every grabbed block back once, with its size. */
typedef struct ArenaSource {
    void *(*grab)(void *ctx, size_t size);
    void (*drop)(void *ctx, void *block, size_t size);
    void *ctx;
} ArenaSource;

typedef struct ArenaOptions {
    size_t block_size;      /* size of the first block (ARENA_BLOCK_SIZE) */
    size_t max_block_size;  /* growth stops doubling here */
    size_t max_bytes;       /* cap on bytes held from the source; 0 = none */
    size_t keep_bytes;      /* most that arena_reset keeps (0: no cap) */
    ArenaSource source;     /* all zero: malloc */
    unsigned flags;         /* ARENA_SHARED */
} ArenaOptions;

/* Many threads may allocate (and, in pool.h, free) at once; reset,
   release, rewind, trim and pool_each only at a frame boundary (see
   README "Threads"). */
#define ARENA_SHARED 1u

/* Internal: defined here for the inline paths of marks. */
typedef struct arena__Block arena__Block;
typedef struct arena__Defer arena__Defer;

/* Every block starts with this header; its data follows, aligned. `base` is
   the arena position of the first data byte: positions grow across blocks,
   so a mark is one number and "rewound past" is a comparison. */
struct arena__Block {
    size_t size;   /* bytes grabbed (virtual: reserved) */
    arena__Block *prev;
    size_t base;
    size_t cycle;  /* the arena's reset count when it last became the top block */
    size_t dedicated;   /* grabbed for one request larger than a block */
    size_t check;  /* arena__block_check: a write before the data shows */
};

struct arena__Defer {
    arena__Defer *prev;
    void (*fn)(void *ctx);
    void *ctx;
    size_t pos;    /* arena position when registered */
};

typedef struct Arena {
    char *cur, *end;        /* the bump range of the newest block */
    arena__Block *block;      /* newest block; older ones chain behind */
    arena__Block *spare;      /* blocks kept for reuse, in the order to reuse */
    arena__Defer *defers;     /* cleanups, newest first */
    size_t next_size;       /* bytes of the next block to grab */
    size_t bytes_held, peak_used, grab_count, block_count;
    size_t cycle_peak;      /* the most bytes_used since the last reset */
    size_t cycles;          /* resets so far: what reset keeps (see there) */
    size_t recent_peaks[ARENA_KEEP_CYCLES];  /* cycle_peak of the last cycles */
    size_t epoch;           /* bumped by reset: old marks die */
    uint64_t life;          /* unique in the process, taken by the first
                               mark of each life (0: none yet) */
    uint64_t cut_serial;    /* cut records made so far (see arena__cut) */
    uint64_t cut_top;       /* serial of the newest live cut record, 0: none */
    size_t cut_pos;         /* its position */
    size_t mark_hi;         /* no live mark above this lacks a cut record */
    uint64_t undone_lo, undone_hi;   /* marks with a serial strictly between
                               were taken after a snapshot that
                               arena_restore went back to: refused */
    char *last;             /* the newest out-of-line allocation, or NULL */
    ArenaOptions opt;       /* as given; zero fields mean defaults */
    int kind;               /* internal: where blocks come from */
    int busy;               /* running its cleanups or the error handler */
    bool stack_owned;       /* internal: an ArenaStack's: its marks are refused */
    /* internal, ARENA_SHARED only (atomic words): the bump range
       [base, end) threads take from with one atomic add on top, valid
       while seq (odd while the lock's holder has the range) stays what
       it was; the lock that guards everything else, and how many
       threads are inside a locked allocating call. cur and end stay
       NULL, so every inline path of a shared arena goes out of line. */
    struct { size_t top, base, end, seq, lock, inside; } shared;
} Arena;

typedef struct ArenaMark {
    const Arena *arena;
    size_t pos, epoch;
    uint64_t life, serial;
} ArenaMark;

typedef struct ArenaTemp {
    Arena *arena;
    ArenaMark mark;
} ArenaTemp;

typedef struct ArenaStats {
    size_t bytes_used;   /* handed out, with alignment padding */
    size_t bytes_held;   /* held from the source (buffer: its size;
                            virtual: committed) */
    size_t peak_used;    /* the most bytes_used has been */
    size_t block_count;  /* blocks held now */
    size_t grab_count;   /* calls made to the source, ever (virtual: commits) */
} ArenaStats;

ARENA_DEF void arena_init(Arena *a, const ArenaOptions *opt);
ARENA_DEF bool arena_init_buffer(Arena *a, void *buf, size_t size);
ARENA_DEF bool arena_init_virtual(Arena *a, size_t reserve);

static inline void *arena_alloc(Arena *a, size_t size);
static inline void *arena_alloc_aligned(Arena *a, size_t size, size_t align);
static inline void *arena_calloc(Arena *a, size_t count, size_t size);
static inline void *arena_calloc_aligned(Arena *a, size_t count, size_t size,
                                         size_t align);
static inline void *arena_realloc(Arena *a, void *p, size_t old_size,
                                  size_t new_size);
ARENA_DEF char *arena_strdup(Arena *a, const char *s);
ARENA_DEF char *arena_strndup(Arena *a, const char *s, size_t n);
ARENA_DEF void *arena_memdup(Arena *a, const void *p, size_t n);
#ifndef ARENA_NO_SPRINTF
ARENA_DEF char *arena_sprintf(Arena *a, const char *fmt, ...) ARENA_PRINTF(2, 3);
ARENA_DEF char *arena_vsprintf(Arena *a, const char *fmt, va_list ap);
#endif

#define arena_new(a, T) \
    ((T *)arena_calloc_aligned((a), 1, sizeof(T), ARENA_ALIGNOF(T)))
#define arena_new_array(a, T, n) \
    ((T *)arena_calloc_aligned((a), (n), sizeof(T), ARENA_ALIGNOF(T)))

static inline ArenaMark arena_mark(Arena *a);
static inline void arena_rewind(Arena *a, ArenaMark m);
static inline ArenaTemp arena_temp_begin(Arena *a);
static inline void arena_temp_end(ArenaTemp t);

/* A scratch arena of this thread that is not `conflict` (pass the arena
   your caller allocates its results in). End it with arena_temp_end. */
ARENA_DEF ArenaTemp arena_scratch_begin(const Arena *conflict);
/* Gives back this thread's scratch memory now (thread exit does it too). */
ARENA_DEF void arena_scratch_release(void);

ARENA_DEF bool arena_defer(Arena *a, void (*fn)(void *ctx), void *ctx);
ARENA_DEF void arena_reset(Arena *a);
ARENA_DEF void arena_release(Arena *a);
ARENA_DEF ArenaStats arena_stats(const Arena *a);

/* ---- growable arrays ---------------------------------------------------

       ArenaArray(Token) toks = {0};
       if (!arena_array_push(&a, &toks, tok)) ...;   // toks.items[toks.count-1]
       if (arena_array_pop(&toks)) ...;              // was toks.items[toks.count]

   The array grows in place while it is the arena's newest allocation, and
   is copied (old copy left in the arena) otherwise. arena_array_pop returns
   false (ARENA_ERR_MISUSE) on an empty array; the popped element stays
   readable at items[count] until the next push.
   Rule: an array belongs to the scope it was made in. Growing it inside a
   later temp scope (or after a mark) puts its new storage above the mark,
   and arena_temp_end / arena_rewind frees it: grow it before the scope, or
   make it in the scope's arena. Checked builds (debug, ASan, Valgrind)
   refuse the next push or reserve on such an array (ARENA_ERR_MISUSE)
   while its storage is in the arena's newest block; ASan also reports
   any other later use. */
#define ArenaArray(T) struct { T *items; size_t count, cap; }
#define arena_array_reserve(a, arr, n) \
    (ARENA__ARRAY_LIVE((a), (arr)) && \
     ((size_t)(n) <= (arr)->cap - (arr)->count || \
      arena__array_grow((a), &(arr)->items, &(arr)->cap, (arr)->count, (n), \
                        sizeof *(arr)->items, ARENA__ALIGNOF_EXPR(*(arr)->items))))
#define arena_array_push(a, arr, v) \
    (arena_array_reserve((a), (arr), 1) \
         ? ((arr)->items[(arr)->count++] = (v), true) : false)
#define arena_array_pop(arr) \
    ((arr)->count ? ((arr)->count--, true) : arena__array_empty())
#if ARENA__CHECKED
#define ARENA__ARRAY_LIVE(a, arr) \
    arena__array_live((a), (arr)->items, (arr)->cap * sizeof *(arr)->items)
#else
#define ARENA__ARRAY_LIVE(a, arr) true
#endif

#if defined(__cplusplus)
#define ARENA__ALIGNOF_EXPR(e) alignof(decltype(e))
#elif defined(__GNUC__) || defined(__clang__)
#define ARENA__ALIGNOF_EXPR(e) __alignof__(e)
#else
#define ARENA__ALIGNOF_EXPR(e) ARENA_MIN_ALIGN
#endif

ARENA_DEF bool arena__array_grow(Arena *a, void *items_field, size_t *cap,
                                 size_t count, size_t extra, size_t elem,
                                 size_t align);
ARENA_DEF bool arena__array_empty(void);
ARENA_DEF bool arena__array_live(Arena *a, const void *items, size_t bytes);

/* ---- the stack allocator ------------------------------------------------ */

typedef struct ArenaStack {
    Arena arena;
    void *top;          /* the newest live push */
    size_t depth;       /* live pushes */
    char *high;         /* internal: in the current block, the highest top
                           whose position the arena's peak counts */
} ArenaStack;

ARENA_DEF void arena_stack_init(ArenaStack *s, const ArenaOptions *opt);
ARENA_DEF bool arena_stack_init_buffer(ArenaStack *s, void *buf, size_t size);
static inline void *arena_stack_push(ArenaStack *s, size_t size);
static inline void *arena_stack_push_aligned(ArenaStack *s, size_t size,
                                             size_t align);
static inline bool arena_stack_pop(ArenaStack *s, void *p);
ARENA_DEF void arena_stack_reset(ArenaStack *s);
ARENA_DEF void arena_stack_release(ArenaStack *s);

/* ---- internals shared with pool.h (not API) ----------------------------- */

ARENA_DEF void arena__report(ArenaError err, const char *msg);
ARENA_DEF void arena__hand_out(void *p, size_t n);   /* unpoison (+ fill) */
ARENA_DEF void arena__take_back(void *p, size_t n);  /* (fill +) poison */
/* Allocates only if it fits the current block; never grows, never reports. */
ARENA_DEF void *arena__try_alloc(Arena *a, size_t size, size_t align);
/* The top goes down to pos (see the implementation). */
ARENA_DEF void arena__cut(Arena *a, size_t pos);
/* A number no other call in the process returns (an atomic counter). */
ARENA_DEF uint64_t arena__unique(void);

/* ---- the fast paths ------------------------------------------------------
   Every block's data starts and ends on ARENA_MIN_ALIGN, so rounding a size
   below the room left up to ARENA_MIN_ALIGN never passes the end. An empty
   arena has no room: its first allocation, an exact fit and every failure
   go out of line. (Size 0 inline returns the top, non-NULL, unmoved.) */

ARENA_DEF void *arena__alloc_slow(Arena *a, size_t size, size_t align);
/* arena_alloc's: arena__alloc_slow at ARENA_MIN_ALIGN, and the lock-free
   bump of a shared arena, reached with no register to save. */
ARENA_DEF void *arena__alloc_slow_min(Arena *a, size_t size);
ARENA_DEF void *arena__realloc_slow(Arena *a, void *p, size_t old_size, size_t new_size);

#define ARENA__ROUND(n) (((n) + (ARENA_MIN_ALIGN - 1)) & ~(size_t)(ARENA_MIN_ALIGN - 1))

static inline void *arena_alloc(Arena *a, size_t size) {
#if ARENA__CHECKED
    return arena__alloc_slow_min(a, size);
#else
    char *p = a->cur;
    size_t avail = (size_t)((uintptr_t)a->end - (uintptr_t)p);
    if (ARENA__LIKELY(size < avail)) {
        a->cur = p + ARENA__ROUND(size);
        return p;
    }
    return arena__alloc_slow_min(a, size);
#endif
}

static inline void *arena_alloc_aligned(Arena *a, size_t size, size_t align) {
#if ARENA__CHECKED
    return arena__alloc_slow(a, size, align);
#else
    uintptr_t p = (uintptr_t)a->cur;
    if (align - 1 < ARENA_MIN_ALIGN && !(align & (align - 1)))   /* folded for constants */
        return arena_alloc(a, size);
    size_t pad = (size_t)(0 - p) & (align - 1);
    size_t avail = (size_t)((uintptr_t)a->end - p);
    if (ARENA__LIKELY(align && !(align & (align - 1)) &&   /* a power of two */
                      pad < avail &&                      /* the padding fits */
                      size - 1 < avail - pad)) {          /* the size fits; size 0 goes
                                                             out of line (no padding) */
        char *r = a->cur + pad;
        a->cur = r + ARENA__ROUND(size);
        return r;
    }
    return arena__alloc_slow(a, size, align);
#endif
}

/* Inline: the newest allocation growing in place within its block. */
static inline void *arena_realloc(Arena *a, void *p, size_t old_size, size_t new_size) {
#if !ARENA__CHECKED
    uintptr_t q = (uintptr_t)p, cur = (uintptr_t)a->cur;
    size_t used = (size_t)(cur - q), room = (size_t)((uintptr_t)a->end - q);
    if (ARENA__LIKELY(q && q <= cur &&                      /* at or below the top */
                      old_size <= used &&                   /* (a huge one cannot round to it) */
                      ARENA__ROUND(old_size) == used &&     /* the newest allocation */
                      new_size >= old_size &&               /* growing (shrinking: a cut) */
                      new_size < room)) {                   /* room in its block */
        a->cur += ARENA__ROUND(new_size) - used;
        return p;
    }
#endif
    return arena__realloc_slow(a, p, old_size, new_size);
}

/* ---- the marks' fast paths ---------------------------------------------
   (The records are described at "marks" in the implementation.) A mark
   whose serial is still the arena's has seen no cut record made since: it
   is live, and at or below the top (every move of the top below a live
   mark makes a record; reset and restore move the serial on too). Its
   rewind is inline when it is in the current block with no cleanup at or
   above it: the top goes back and, if a mark above it may live
   (mark_hi), a record is kept or written where the top lands. */

typedef struct arena__CutRec {
    uint64_t serial;   /* the record below: 0 if none */
    size_t pos;
} arena__CutRec;
#define ARENA__CUT_SIZE ARENA__ROUND(sizeof(arena__CutRec))

static inline char *arena__data(const arena__Block *b) {
    uintptr_t u = (uintptr_t)(b + 1);
    return (char *)(u + ((0 - u) & (ARENA_MIN_ALIGN - 1)) + ARENA__REDZONE);
}

static inline size_t arena__pos(const Arena *a) {
    return a->block ? a->block->base + (size_t)(a->cur - arena__data(a->block)) : 0;
}

/* The position the user sees: the newest record just below the top is
   not counted. */
static inline size_t arena__top(const Arena *a) {
    size_t pos = arena__pos(a);
    return a->cut_top && pos == a->cut_pos + ARENA__CUT_SIZE ? a->cut_pos : pos;
}

/* The first mark of a life gives the arena its unique life: a mark from
   an earlier life of the same struct (release, init or zeroing, on any
   thread) never matches. */
ARENA_DEF ArenaMark arena__mark_slow(Arena *a);

static inline ArenaMark arena_mark(Arena *a) {
    ArenaMark m;
    if (!a->cur || !a->life) return arena__mark_slow(a);   /* rare: no block, first mark, shared */
    m.arena = a;
    m.pos = a->block->base + (size_t)(a->cur - arena__data(a->block));
    if (a->cut_top && m.pos == a->cut_pos + ARENA__CUT_SIZE) m.pos = a->cut_pos;
    m.epoch = a->epoch;
    m.life = a->life;
    m.serial = a->cut_serial;
    if (m.pos > a->mark_hi) a->mark_hi = m.pos;
    return m;
}

/* Can m's rewind be finished in the current block by arena__rewind_here?
   (The mark's serial says whether cut records were made since.) */
static inline bool arena__rewind_plain(const Arena *a, ArenaMark m) {
    const arena__Block *b = a->block;
    return m.arena == a && m.life == a->life && !a->busy && !a->stack_owned && a->cur &&
           m.pos >= b->base && (!a->defers || a->defers->pos < m.pos);
}

/* The top goes back to pos in the current block. If marks above it may
   live, they die: a record at pos linking to r, unless one is there
   (`at`; room: the top was above pos in this block). */
static inline void arena__rewind_here(Arena *a, size_t pos, arena__CutRec r, bool record, bool at) {
    const arena__Block *b = a->block;
    char *data = arena__data(b), *to = data + (pos - b->base);
    size_t top = b->base + (size_t)(a->cur - data);
    if (top > a->cycle_peak) a->cycle_peak = top;
    if (record) {
        if (!at) ARENA_MEMCPY(to, &r, sizeof r);
        a->cut_pos = pos;
        a->cut_top = ++a->cut_serial;
    }
    if (record || at) to += ARENA__CUT_SIZE;
    a->mark_hi = pos;   /* no live mark is above pos now (nor was one above mark_hi) */
    a->cur = to;
    if ((uintptr_t)a->last >= (uintptr_t)to) a->last = NULL;
}

ARENA_DEF void arena__rewind_slow(Arena *a, ArenaMark m);

/* Inline: a mark with no cut record made since (ordinary nesting). */
static inline void arena_rewind(Arena *a, ArenaMark m) {
#if !ARENA__CHECKED
    if (ARENA__LIKELY(m.serial == a->cut_serial && arena__rewind_plain(a, m))) {
        arena__CutRec r;
        r.serial = a->cut_top;
        r.pos = a->cut_pos;
        arena__rewind_here(a, m.pos, r, a->mark_hi > m.pos, a->cut_top && a->cut_pos == m.pos);
        return;
    }
#endif
    arena__rewind_slow(a, m);
}

static inline ArenaTemp arena_temp_begin(Arena *a) {
    ArenaTemp t;
    t.arena = a;
    t.mark = arena_mark(a);
    return t;
}

static inline void arena_temp_end(ArenaTemp t) {
    if (ARENA__LIKELY(t.arena != NULL)) arena_rewind(t.arena, t.mark);
    else arena__report(ARENA_ERR_MISUSE, "arena_temp_end: the temp has no arena");
}

/* ---- frame rings ----------------------------------------------------------

       ArenaRing ring;
       arena_ring_init(&ring, 2, NULL);         // data lives 2 frames
       for (;;) {
           Arena *frame = arena_ring_next(&ring);   // resets the oldest
           Arena *prev = arena_ring_frame(&ring, 1); // last frame's, intact
           ...
       }
       arena_ring_release(&ring);

   `frames` arenas used in turn: what a frame allocates lives until
   arena_ring_next has been called `frames` times more. Each is a full
   Arena (marks, defer, sprintf, arrays) and, like arena_reset, makes no
   source call once warm. */

typedef struct ArenaRing {
    Arena arenas[ARENA_RING_MAX];
    size_t frames;          /* arenas in use; 0: not initialised */
    size_t current;         /* index of the current frame's arena */
    size_t frame_count;     /* arena_ring_next calls so far */
} ArenaRing;

/* frames from 1 to ARENA_RING_MAX; others are ARENA_ERR_MISUSE and leave
   the ring unusable (arena_ring_next returns NULL). */
ARENA_DEF void arena_ring_init(ArenaRing *r, size_t frames, const ArenaOptions *opt);
ARENA_DEF Arena *arena_ring_next(ArenaRing *r);
/* 0: the current frame's arena, 1: the one before ...; an age of
   `frames` or more is ARENA_ERR_MISUSE and NULL. */
ARENA_DEF Arena *arena_ring_frame(ArenaRing *r, size_t age);
ARENA_DEF void arena_ring_release(ArenaRing *r);

/* ---- two-ended stacks ------------------------------------------------------

       ArenaDeque d;
       arena_deque_init_buffer(&d, buf, sizeof buf);    // or _init_virtual
       Level *lv = arena_deque_alloc(&d, ARENA_LOW, sizeof *lv);    // long-lived
       ArenaDequeMark m = arena_deque_mark(&d, ARENA_HIGH);
       float *tmp = arena_deque_alloc(&d, ARENA_HIGH, 4096);       // temporary
       arena_deque_rewind(&d, m);                       // tmp gone, lv lives

   One buffer or one virtual reservation handing out from both ends: the
   low end grows up from the start, the high end down from the end; each
   has its own marks and reset, and a request that would make them meet is
   ARENA_ERR_OOM. Nothing is ever moved or grabbed again. */
typedef enum ArenaEnd { ARENA_LOW = 0, ARENA_HIGH = 1 } ArenaEnd;

typedef struct ArenaDeque {
    char *base, *top;       /* the range: [base, lo) low, [hi, top) high */
    char *lo, *hi;
    char *lo_commit, *hi_commit;   /* virtual: committed [base, lo_commit)
                                      and [hi_commit, top) */
    size_t reserved;        /* virtual: bytes reserved at base; 0: a buffer */
    size_t epoch[2];        /* per end, bumped by its reset: old marks die */
    size_t peak_used;       /* the most both ends have held together */
    uint64_t life;          /* unique per init: marks of an earlier life die */
    uint64_t cut_serial;    /* cut records made so far, both ends */
    uint64_t cut_top[2];    /* per end: serial of its newest cut record, 0: none */
    size_t cut_pos[2];      /* its position */
    size_t mark_hi[2];      /* no live mark above this lacks a cut record */
} ArenaDeque;

typedef struct ArenaDequeMark {
    const ArenaDeque *deque;
    ArenaEnd end;
    size_t used, epoch;
    uint64_t life, serial;
} ArenaDequeMark;

ARENA_DEF bool arena_deque_init_buffer(ArenaDeque *d, void *buf, size_t size);
ARENA_DEF bool arena_deque_init_virtual(ArenaDeque *d, size_t reserve);
ARENA_DEF void *arena_deque_alloc(ArenaDeque *d, ArenaEnd end, size_t size);
ARENA_DEF void *arena_deque_alloc_aligned(ArenaDeque *d, ArenaEnd end, size_t size,
                                          size_t align);
ARENA_DEF ArenaDequeMark arena_deque_mark(ArenaDeque *d, ArenaEnd end);
/* Frees what its end allocated since the mark. Marks are exact, like the
   arena's: a mark of another deque or of an earlier life of this one,
   from before its end's reset, or rewound past (even if its end has grown
   back over it since) is ARENA_ERR_MISUSE and changes nothing. */
ARENA_DEF void arena_deque_rewind(ArenaDeque *d, ArenaDequeMark m);
ARENA_DEF void arena_deque_reset(ArenaDeque *d, ArenaEnd end);
ARENA_DEF void arena_deque_release(ArenaDeque *d);
/* Bytes in use at one end (with alignment padding; a mark taken now sees
   this); bytes left between the ends (a rewind may hold 16 of the bytes
   in neither: the record that keeps its end's marks exact). */
ARENA_DEF size_t arena_deque_used(const ArenaDeque *d, ArenaEnd end);
ARENA_DEF size_t arena_deque_room(const ArenaDeque *d);

/* ---- snapshots ---------------------------------------------------------------

       ArenaSnapshot s;
       if (arena_snapshot(&world, &s, &store)) {   // a copy of what is in use
           ... simulate, allocate, rewind, reset ...
           arena_restore(&world, &s);               // back, byte for byte
       }

   arena_restore puts the arena back as it was: every object that existed
   at the snapshot is at the same address with the same bytes, everything
   allocated since is gone, and the cleanups registered since have run.
   It needs the blocks the arena held at the snapshot: after a reset (they
   are kept), growth or rewinds it works; when one of them was given back
   (release, keep_bytes) it is ARENA_ERR_MISUSE and changes nothing. A
   snapshot can be restored any number of times while its store holds it.
   The copy lives in `store` (another arena): one allocation of the bytes in
   use plus a few words per block and per cleanup; if the store cannot give
   it, arena_snapshot fails (ARENA_ERR_OOM from the store) and nothing
   changes. Snapshots are for plain data: a cleanup that ran after the
   snapshot is registered again by the restore, with its object.
   Marks taken before the snapshot are valid again after a restore; a mark
   taken after it belongs to the history the restore undid and is refused
   (ARENA_ERR_MISUSE), and so is a mark from a history an earlier restore
   undid. The arena remembers undone history as one range of marks, from
   the first undone since its last reset: after restoring a snapshot taken
   after an earlier restore, marks taken between that restore and the
   snapshot are refused too (never a stale one accepted). */
typedef struct ArenaSnapshot {
    const Arena *arena;     /* whose state this is; NULL: none taken */
    Arena state;            /* its fields at the snapshot */
    void *copy;             /* in the store: the bytes, then the records */
    size_t bytes, blocks, defers;
} ArenaSnapshot;

ARENA_DEF bool arena_snapshot(Arena *a, ArenaSnapshot *s, Arena *store);
ARENA_DEF bool arena_restore(Arena *a, const ArenaSnapshot *s);

/* ---- strings: slices and a builder --------------------------------------------

       ArenaBuilder b = arena_builder(&a);
       arena_builder_append_cstr(&b, "key=");
       arena_builder_appendf(&b, "%d", 42);       // the arena_sprintf formatter
       char *s = arena_builder_finish(&b);        // "key=42", NUL-terminated

   A builder's string grows in place while it is its arena's newest
   allocation (otherwise it moves, with room to grow). A failed append
   reports once, returns false and leaves the string as it was. An
   ArenaStr is a slice: a pointer and a length, no NUL needed. */
typedef struct ArenaStr {
    const char *ptr;
    size_t len;
} ArenaStr;

typedef struct ArenaBuilder {
    Arena *arena;
    char *data;             /* the string so far (not NUL-terminated) */
    size_t len, cap;
} ArenaBuilder;

ARENA_DEF ArenaStr arena_str(const char *cstr);     /* NULL: the empty slice */
ARENA_DEF ArenaStr arena_str_n(const char *p, size_t len);
ARENA_DEF int arena_str_cmp(ArenaStr x, ArenaStr y); /* bytewise, like memcmp */
ARENA_DEF bool arena_str_eq(ArenaStr x, ArenaStr y);
/* A NUL-terminated copy in the arena; {NULL, 0} on failure. */
ARENA_DEF ArenaStr arena_str_copy(Arena *a, ArenaStr s);

ARENA_DEF ArenaBuilder arena_builder(Arena *a);
ARENA_DEF bool arena_builder_append(ArenaBuilder *b, const void *bytes, size_t n);
ARENA_DEF bool arena_builder_append_cstr(ArenaBuilder *b, const char *s);
#ifndef ARENA_NO_SPRINTF
ARENA_DEF bool arena_builder_appendf(ArenaBuilder *b, const char *fmt, ...) ARENA_PRINTF(2, 3);
ARENA_DEF bool arena_builder_vappendf(ArenaBuilder *b, const char *fmt, va_list ap);
#endif
/* The string, NUL-terminated, shrunk to fit when it is still the newest
   allocation; b->len is its length. NULL if the NUL does not fit. */
ARENA_DEF char *arena_builder_finish(ArenaBuilder *b);

/* Zeroed allocations (arena_new, arena_new_array): the bump inline, then
   a clear the compiler sees the size of. */
#if defined(__GNUC__) || defined(__clang__)
#define ARENA__MUL_OVERFLOW(x, y, r) __builtin_mul_overflow((x), (y), (r))
#define ARENA__ADD_OVERFLOW(x, y, r) __builtin_add_overflow((x), (y), (r))
#else
#define ARENA__MUL_OVERFLOW(x, y, r) \
    ((y) && (x) > SIZE_MAX / (y) ? true : (*(r) = (x) * (y), false))
#define ARENA__ADD_OVERFLOW(x, y, r) \
    ((x) > SIZE_MAX - (y) ? true : (*(r) = (x) + (y), false))
#endif

/* Reports count * size overflowing, with the arena busy (see "re-entry"). */
ARENA_DEF void *arena__calloc_overflow(Arena *a);

static inline void *arena_calloc_aligned(Arena *a, size_t count, size_t size, size_t align) {
    size_t n;
    void *p;
    if (ARENA__MUL_OVERFLOW(count, size, &n)) return arena__calloc_overflow(a);
    p = arena_alloc_aligned(a, n, align);
    if (p && n <= (size_t)PTRDIFF_MAX) ARENA_MEMSET(p, 0, n);   /* always: tells the compiler */
    return p;
}

static inline void *arena_calloc(Arena *a, size_t count, size_t size) {
    return arena_calloc_aligned(a, count, size, ARENA_MIN_ALIGN);
}

/* ---- the stack's fast paths ----------------------------------------------
   A push is one allocation: a header, then the object. A push made inline
   (alignment up to ARENA_MIN_ALIGN, room in the current block) puts the
   header where arena.cur was and records in it the end of the push, so
   that its pop, also inline, is two compares (the LIFO check, and that
   nothing was allocated since) and a few stores: arena.cur goes back to
   the header. Pushes made out of line (a new block, a larger alignment, a
   sanitizer or fill build) record end NULL and keep their arena position
   in a record before the header; their pops, and pops after the arena was
   used directly, take the general rewind. An inline pop records no cut
   for stale marks (arena__cut): a stack's arena refuses every mark
   (arena_rewind reports ARENA_ERR_MISUSE), so none can be stale; it notes
   the arena's peak only when the top is above any noted in this block
   (s->high). */
typedef struct arena__StackHead {
    void *prev_top;     /* the push below */
    char *end;          /* arena.cur right after this push; NULL: out of line */
} arena__StackHead;
#define ARENA__STACK_HEAD ARENA__ROUND(sizeof(arena__StackHead))

ARENA_DEF void *arena__stack_push_slow(ArenaStack *s, size_t size, size_t align);
ARENA_DEF bool arena__stack_pop_slow(ArenaStack *s, void *p);
ARENA_DEF void arena__stack_note(ArenaStack *s);

static inline void *arena_stack_push_aligned(ArenaStack *s, size_t size, size_t align) {
#if !ARENA__CHECKED
    char *c = s->arena.cur;
    size_t avail = (size_t)((uintptr_t)s->arena.end - (uintptr_t)c), need;
    /* avail and ARENA__STACK_HEAD are multiples of ARENA_MIN_ALIGN, so
       need <= avail leaves room for the rounded size too */
    if (ARENA__LIKELY(align - 1 < ARENA_MIN_ALIGN && !(align & (align - 1)) &&
                      !ARENA__ADD_OVERFLOW(size, ARENA__STACK_HEAD, &need) && need <= avail)) {
        arena__StackHead *h = (arena__StackHead *)(void *)c;
        char *p = c + ARENA__STACK_HEAD;
        h->prev_top = s->top;
        h->end = s->arena.cur = (char *)((uintptr_t)p + ARENA__ROUND(size));
        s->arena.stack_owned = true;
        s->top = p;
        s->depth++;
        return p;
    }
#endif
    return arena__stack_push_slow(s, size, align);
}

static inline void *arena_stack_push(ArenaStack *s, size_t size) {
    return arena_stack_push_aligned(s, size, ARENA_MIN_ALIGN);
}

static inline bool arena_stack_pop(ArenaStack *s, void *p) {
#if !ARENA__CHECKED
    if (ARENA__LIKELY(p == s->top && p)) {
        arena__StackHead *h = (arena__StackHead *)((uintptr_t)p - ARENA__STACK_HEAD);
        char *cur = s->arena.cur;
        /* cur == end: the arena may be busy (see "re-entry": its end is
           its top), or the block is full; the slow path tells */
        if (ARENA__LIKELY(h->end == cur && cur != s->arena.end)) {
            if ((uintptr_t)cur > (uintptr_t)s->high) arena__stack_note(s);
            s->top = h->prev_top;
            s->arena.cur = (char *)h;
            s->depth--;
            return true;
        }
    }
#endif
    return arena__stack_pop_slow(s, p);
}

/* ---- C++: objects with destructors, and an STL allocator ----------------

       Widget *w = arena_make<Widget>(&a, args...);   // ~Widget runs on reset
       std::vector<int, ArenaAllocator<int>> v{ArenaAllocator<int>(&a)};

   arena_make constructs a T in the arena with forwarded arguments; when T is
   not trivially destructible its destructor is registered with arena_defer,
   so it runs exactly once, newest first, on reset, release, or a rewind past
   it. Destructors must not throw. */
#ifdef __cplusplus
#include <new>
#include <utility>
#include <type_traits>

template <class T>
static void arena__destroy(void *p) { static_cast<T *>(p)->~T(); }

template <class T>
struct arena__ArrayDtor { T *items; size_t count; };

template <class T>
static void arena__destroy_array(void *p) {
    arena__ArrayDtor<T> *d = static_cast<arena__ArrayDtor<T> *>(p);
    for (size_t i = d->count; i > 0; i--) d->items[i - 1].~T();
}

/* NULL (after one error-handler call) when the arena is out of memory. */
template <class T, class... Args>
T *arena_make(Arena *a, Args &&...args) {
    void *mem = arena_alloc_aligned(a, sizeof(T), alignof(T));
    if (!mem) return nullptr;
    T *obj = ::new (mem) T(std::forward<Args>(args)...);
    if (!std::is_trivially_destructible<T>::value && !arena_defer(a, arena__destroy<T>, obj)) {
        obj->~T();
        return nullptr;
    }
    return obj;
}

/* n value-initialised Ts, destroyed in reverse order with one cleanup. */
template <class T>
T *arena_make_array(Arena *a, size_t n) {
    T *items = static_cast<T *>(arena_calloc_aligned(a, n, sizeof(T), alignof(T)));
    size_t built = 0;
    if (!items) return nullptr;
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
    try {
        for (; built < n; built++) ::new (items + built) T();
    } catch (...) {   /* destroy what was built, newest first */
        while (built > 0) items[--built].~T();
        throw;
    }
#else
    for (; built < n; built++) ::new (items + built) T();
#endif
    if (!std::is_trivially_destructible<T>::value) {
        arena__ArrayDtor<T> *d = arena_new(a, arena__ArrayDtor<T>);
        if (d) { d->items = items; d->count = n; }
        if (!d || !arena_defer(a, arena__destroy_array<T>, d)) {
            for (size_t i = n; i > 0; i--) items[i - 1].~T();
            return nullptr;
        }
    }
    return items;
}

/* A standard allocator on an arena: deallocate gives nothing back (the
   arena does, all at once); allocation failure throws std::bad_alloc. */
template <class T>
struct ArenaAllocator {
    typedef T value_type;
    Arena *arena;
    explicit ArenaAllocator(Arena *a) noexcept : arena(a) {}
    template <class U>
    ArenaAllocator(const ArenaAllocator<U> &o) noexcept : arena(o.arena) {}
    T *allocate(size_t n) {
        void *p = n <= SIZE_MAX / sizeof(T)
                      ? arena_alloc_aligned(arena, n * sizeof(T), alignof(T))
                      : (arena__report(ARENA_ERR_OVERFLOW, "ArenaAllocator: n * sizeof(T) overflows"), nullptr);
        if (!p) throw std::bad_alloc();
        return static_cast<T *>(p);
    }
    void deallocate(T *, size_t) noexcept {}
};
template <class T, class U>
bool operator==(const ArenaAllocator<T> &x, const ArenaAllocator<U> &y) noexcept { return x.arena == y.arena; }
template <class T, class U>
bool operator!=(const ArenaAllocator<T> &x, const ArenaAllocator<U> &y) noexcept { return x.arena != y.arena; }
#endif /* __cplusplus */

#endif /* ARENA_H */

/* ======================================================================== */
/*                             IMPLEMENTATION                               */
/* ======================================================================== */
#if defined(ARENA_IMPLEMENTATION) && !defined(ARENA__IMPLEMENTED)
#define ARENA__IMPLEMENTED

#ifdef ARENA__LIBC_ASSERT
#include <assert.h>
#endif
#ifdef ARENA__LIBC_MALLOC
#include <stdlib.h>
#endif
#ifdef ARENA__LIBC_LOG
#include <stdio.h>
#endif
#if ARENA_KEEP_CYCLES < 1
#error "arena.h: ARENA_KEEP_CYCLES must be at least 1"
#endif

#if ARENA__ASAN
#include <sanitizer/asan_interface.h>
#elif defined(ARENA_VALGRIND)
#include <valgrind/memcheck.h>
#endif

/* ---- internal types ------------------------------------------------------ */

enum { ARENA__HEAP = 0, ARENA__SOURCE, ARENA__BUFFER, ARENA__VIRTUAL };

#define ARENA__MAX_REQUEST ((size_t)PTRDIFF_MAX - 65536)
#define ARENA__MIN_BLOCK ((size_t)256)
#define ARENA__FRESH 0xCD
#define ARENA__FREED 0xDD

/* ---- errors -------------------------------------------------------------- */

static ArenaErrorFn arena__handler;
static void *arena__handler_ctx;
static ARENA_THREAD_LOCAL int arena__handler_depth;

ARENA_DEF ArenaErrorFn arena_set_error_handler(ArenaErrorFn fn, void *ctx) {
    ArenaErrorFn old = arena__handler;
    arena__handler = fn;
    arena__handler_ctx = ctx;
    return old;
}

ARENA_DEF const char *arena_error_name(ArenaError err) {
    switch (err) {
    case ARENA_OK: return "ARENA_OK";
    case ARENA_ERR_OOM: return "ARENA_ERR_OOM";
    case ARENA_ERR_OVERFLOW: return "ARENA_ERR_OVERFLOW";
    case ARENA_ERR_ALIGN: return "ARENA_ERR_ALIGN";
    case ARENA_ERR_MISUSE: return "ARENA_ERR_MISUSE";
    }
    return "ARENA_ERR_UNKNOWN";
}

/* A failure inside the handler (a call it makes that is refused) reaches
   the handler once more, no deeper: a handler that always calls back
   cannot recurse without end. */
ARENA_DEF void arena__report(ArenaError err, const char *msg) {
    if (arena__handler && arena__handler_depth < 2) {
        arena__handler_depth++;
        arena__handler(err, msg, arena__handler_ctx);
        arena__handler_depth--;
    } else if (err == ARENA_ERR_MISUSE) {
        ARENA_LOG(msg);
    }
}

/* ---- re-entry ------------------------------------------------------------
   User code that an arena runs in the middle of one of its calls (its
   cleanups, the error handler) may call any function on other arenas, and
   arena_mark / arena_stats on this one; a call that would allocate from,
   rewind, reset or release this arena is refused with ARENA_ERR_MISUSE.
   While busy the arena's end is its top, so the inline paths go out of
   line, where the flag is checked: the fast paths pay nothing. */

static char *arena__enter(Arena *a) {
    char *end = a->end;
    a->busy++;
    a->end = a->cur;
    return end;
}

static void arena__leave(Arena *a, char *end) {
    a->end = end;
    a->busy--;
}

static bool arena__refused(Arena *a) {
    if (!a->busy) return false;
    arena__report(ARENA_ERR_MISUSE, "arena: called from a cleanup or error handler of the same "
                                    "arena (allocating, rewinding, resetting or releasing it)");
    return true;
}

/* A failure of a call on `a`: the handler runs with `a` busy. */
static void arena__report_in(Arena *a, ArenaError err, const char *msg) {
    char *end = arena__enter(a);
    arena__report(err, msg);
    arena__leave(a, end);
}

static void *arena__fail_in(Arena *a, ArenaError err, const char *msg) {
    arena__report_in(a, err, msg);
    return NULL;
}

/* ---- platform: one block per OS -----------------------------------------------
   Everything C itself does not give lives here and in the atomics below:
     feature-test macro  _DEFAULT_SOURCE, at the top of the file (it must come
                         before the first system header): it shows mmap's
                         MAP_ANONYMOUS under strict -std=c99/c11; when a
                         system header came first it is hidden, and virtual
                         memory maps private pages of /dev/zero (the same)
     virtual memory      arena__os_page_size, arena__os_reserve (inaccessible
                         address space), _commit (read-write), _decommit
                         (back to the OS, still reserved), _release; where
                         the OS has it, ARENA__OS_DISCARD (the memory back
                         to the OS, the pages still usable: they read as
                         they were or as zeros, the OS chooses; a caller
                         zeroes what it will read first; a macro, so that
                         files without pool.h do not carry it unused)
     thread exit         arena__os_at_thread_exit(data): the calling thread's
                         exit runs arena__thread_exit(data) (Windows: also
                         the deletion of one of its fibers)
     atomics, the lock   by compiler, in the section after this one
   ARENA_NO_VIRTUAL (or an OS that is neither): no address space is ever
   reserved; ARENA_NO_THREADS: no thread-exit hook. */

#if defined(_WIN32)
#if !defined(ARENA_NO_VIRTUAL) || !defined(ARENA_NO_THREADS)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>   /* (also SwitchToThread: the lock of ARENA_SHARED objects) */
#endif
#ifndef ARENA_NO_VIRTUAL
static size_t arena__os_page_size(void) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
}
static void *arena__os_reserve(size_t n) { return VirtualAlloc(NULL, n, MEM_RESERVE, PAGE_NOACCESS); }
static bool arena__os_commit(void *p, size_t n) { return VirtualAlloc(p, n, MEM_COMMIT, PAGE_READWRITE) != NULL; }
static void arena__os_decommit(void *p, size_t n) { VirtualFree(p, n, MEM_DECOMMIT); }
#define ARENA__OS_DISCARD(p, n) ((void)VirtualAlloc((p), (n), MEM_RESET, PAGE_READWRITE))
static void arena__os_release(void *p, size_t n) {
    (void)n;
    VirtualFree(p, 0, MEM_RELEASE);
}
#endif
#ifndef ARENA_NO_THREADS
#define ARENA__THREAD_EXIT 1
static void arena__thread_exit(void *data);
static DWORD arena__exit_fls = FLS_OUT_OF_INDEXES;
static INIT_ONCE arena__exit_once = INIT_ONCE_STATIC_INIT;
static void WINAPI arena__fls_exit(void *data) { arena__thread_exit(data); }
static BOOL CALLBACK arena__fls_init(PINIT_ONCE once, void *param, void **ctx) {
    (void)once; (void)param; (void)ctx;
    arena__exit_fls = FlsAlloc(arena__fls_exit);
    return TRUE;
}
static void arena__os_at_thread_exit(void *data) {
    InitOnceExecuteOnce(&arena__exit_once, arena__fls_init, NULL, NULL);
    if (arena__exit_fls != FLS_OUT_OF_INDEXES) FlsSetValue(arena__exit_fls, data);
}
#endif

#elif defined(__unix__) || defined(__APPLE__)
#ifndef ARENA_NO_VIRTUAL
#include <sys/mman.h>
#include <unistd.h>
#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif
#ifndef MAP_ANONYMOUS   /* hidden (see _DEFAULT_SOURCE above): map /dev/zero */
#define ARENA__MAP_ZERO 1
#include <fcntl.h>
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif
static size_t arena__os_page_size(void) {
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}
/* Fresh inaccessible pages, at `at` with MAP_FIXED: anonymous memory, or
   where MAP_ANONYMOUS is hidden, private pages of /dev/zero (the same). */
static void *arena__os_map(void *at, size_t n, int flags) {
#ifdef ARENA__MAP_ZERO
    int fd = open("/dev/zero", O_RDWR);
    void *p = fd < 0 ? MAP_FAILED : mmap(at, n, PROT_NONE, flags | MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (fd >= 0) close(fd);
    return p;
#else
    return mmap(at, n, PROT_NONE, flags | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
#endif
}
static void *arena__os_reserve(size_t n) {
    void *p = arena__os_map(NULL, n, 0);
    return p == MAP_FAILED ? NULL : p;
}
static bool arena__os_commit(void *p, size_t n) { return mprotect(p, n, PROT_READ | PROT_WRITE) == 0; }
#ifdef MADV_DONTNEED
#define ARENA__OS_DISCARD(p, n) ((void)madvise((p), (n), MADV_DONTNEED))
#endif
/* Mapping fresh pages over the range returns the old ones to the OS. */
static void arena__os_decommit(void *p, size_t n) { arena__os_map(p, n, MAP_FIXED); }
static void arena__os_release(void *p, size_t n) { munmap(p, n); }
#endif
#ifndef ARENA_NO_THREADS
#define ARENA__THREAD_EXIT 1
#include <pthread.h>
static void arena__thread_exit(void *data);
static pthread_key_t arena__exit_key;
static pthread_once_t arena__exit_once = PTHREAD_ONCE_INIT;
static void arena__exit_key_init(void) { pthread_key_create(&arena__exit_key, arena__thread_exit); }
static void arena__os_at_thread_exit(void *data) {
    pthread_once(&arena__exit_once, arena__exit_key_init);
    pthread_setspecific(arena__exit_key, data);
}
#endif

#elif !defined(ARENA_NO_VIRTUAL)
#define ARENA_NO_VIRTUAL 1
#endif

#ifdef ARENA_NO_VIRTUAL   /* nothing is ever reserved, so nothing committed */
static size_t arena__os_page_size(void) { return 4096; }
static void *arena__os_reserve(size_t n) { (void)n; return NULL; }
static bool arena__os_commit(void *p, size_t n) { (void)p; (void)n; return false; }
static void arena__os_decommit(void *p, size_t n) { (void)p; (void)n; }
static void arena__os_release(void *p, size_t n) { (void)p; (void)n; }
#endif
#ifndef ARENA__THREAD_EXIT
static void arena__os_at_thread_exit(void *data) { (void)data; }
#endif

/* ---- platform: atomics and the lock, by compiler -----------------------------
   Every atomic operation of arena.h and pool.h, and the lock of ARENA_SHARED
   objects: the compiler's __atomic builtins (gcc, clang, MinGW), the
   Interlocked intrinsics on MSVC, plain code with ARENA_NO_THREADS.
   Read-modify-writes and loads are sequentially consistent, stores are
   releases: whatever a thread wrote before it hands a range or a slot
   back is visible to the thread that takes it next. ARENA__LOAD and
   ARENA__STORE are relaxed (the process-wide counter and caches). The
   8-byte operations need their word 8-byte aligned (i686: cmpxchg8b). */

#if defined(ARENA_NO_THREADS)
#define ARENA__LOAD(p) (*(p))
#define ARENA__STORE(p, v) (*(p) = (v))
static inline size_t arena__atomic_load(const size_t *p) { return *p; }
static inline void arena__atomic_store(size_t *p, size_t v) { *p = v; }
static inline size_t arena__atomic_add(size_t *p, size_t d) { return *p += d; }
static inline size_t arena__atomic_fetch_add(size_t *p, size_t d) { return (*p += d) - d; }
static inline bool arena__atomic_cas(size_t *p, size_t *expected, size_t desired) {
    if (*p != *expected) { *expected = *p; return false; }
    *p = desired;
    return true;
}
static inline uint64_t arena__atomic_load64(const uint64_t *p) { return *p; }
static inline void arena__atomic_store64(uint64_t *p, uint64_t v) { *p = v; }
static inline bool arena__atomic_cas64(uint64_t *p, uint64_t *expected, uint64_t desired) {
    if (*p != *expected) { *expected = *p; return false; }
    *p = desired;
    return true;
}
static inline uint64_t arena__atomic_add64(uint64_t *p, uint64_t d) { return *p += d; }
static inline uint32_t arena__atomic_load32(const uint32_t *p) { return *p; }
static inline void arena__atomic_store32(uint32_t *p, uint32_t v) { *p = v; }
static inline bool arena__atomic_cas32(uint32_t *p, uint32_t *expected, uint32_t desired) {
    if (*p != *expected) { *expected = *p; return false; }
    *p = desired;
    return true;
}
#define arena__yield() ((void)0)
#elif defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define ARENA__LOAD(p) (*(volatile size_t *)(p))
#define ARENA__STORE(p, v) (*(volatile size_t *)(p) = (v))
#ifdef _WIN64
#define ARENA__IL(f) f##64
typedef __int64 arena__Word;
#else
#define ARENA__IL(f) f
typedef long arena__Word;
#endif
#define ARENA__W(p) ((volatile arena__Word *)(uintptr_t)(p))
#define ARENA__W64(p) ((volatile __int64 *)(uintptr_t)(p))
static inline size_t arena__atomic_load(const size_t *p) { return (size_t)ARENA__IL(_InterlockedOr)(ARENA__W(p), 0); }
static inline void arena__atomic_store(size_t *p, size_t v) { ARENA__IL(_InterlockedExchange)(ARENA__W(p), (arena__Word)v); }
static inline size_t arena__atomic_fetch_add(size_t *p, size_t d) {
    return (size_t)ARENA__IL(_InterlockedExchangeAdd)(ARENA__W(p), (arena__Word)d);
}
static inline size_t arena__atomic_add(size_t *p, size_t d) { return arena__atomic_fetch_add(p, d) + d; }
static inline bool arena__atomic_cas(size_t *p, size_t *expected, size_t desired) {
    size_t old = (size_t)ARENA__IL(_InterlockedCompareExchange)(ARENA__W(p), (arena__Word)desired,
                                                                 (arena__Word)*expected);
    if (old == *expected) return true;
    *expected = old;
    return false;
}
static inline bool arena__atomic_cas64(uint64_t *p, uint64_t *expected, uint64_t desired) {
    uint64_t old = (uint64_t)_InterlockedCompareExchange64(ARENA__W64(p), (__int64)desired, (__int64)*expected);
    if (old == *expected) return true;
    *expected = old;
    return false;
}
static inline uint64_t arena__atomic_load64(const uint64_t *p) {
    return (uint64_t)_InterlockedCompareExchange64(ARENA__W64(p), 0, 0);
}
static inline void arena__atomic_store64(uint64_t *p, uint64_t v) {
    uint64_t old = arena__atomic_load64(p);
    while (!arena__atomic_cas64(p, &old, v)) {}
}
static inline uint64_t arena__atomic_add64(uint64_t *p, uint64_t d) {
    uint64_t old = arena__atomic_load64(p);
    while (!arena__atomic_cas64(p, &old, old + d)) {}
    return old + d;
}
#define ARENA__W32(p) ((volatile long *)(uintptr_t)(p))
static inline uint32_t arena__atomic_load32(const uint32_t *p) { return (uint32_t)_InterlockedOr(ARENA__W32(p), 0); }
static inline void arena__atomic_store32(uint32_t *p, uint32_t v) { _InterlockedExchange(ARENA__W32(p), (long)v); }
static inline bool arena__atomic_cas32(uint32_t *p, uint32_t *expected, uint32_t desired) {
    uint32_t old = (uint32_t)_InterlockedCompareExchange(ARENA__W32(p), (long)desired, (long)*expected);
    if (old == *expected) return true;
    *expected = old;
    return false;
}
#define arena__yield() ((void)SwitchToThread())
#else
#define ARENA__LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ARENA__STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ARENA__CAS(p, e, d) __atomic_compare_exchange_n((p), (e), (d), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
static inline size_t arena__atomic_load(const size_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void arena__atomic_store(size_t *p, size_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline size_t arena__atomic_add(size_t *p, size_t d) { return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }
static inline size_t arena__atomic_fetch_add(size_t *p, size_t d) { return __atomic_fetch_add(p, d, __ATOMIC_SEQ_CST); }
static inline bool arena__atomic_cas(size_t *p, size_t *expected, size_t desired) { return ARENA__CAS(p, expected, desired); }
static inline uint64_t arena__atomic_load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void arena__atomic_store64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline bool arena__atomic_cas64(uint64_t *p, uint64_t *expected, uint64_t desired) {
    return ARENA__CAS(p, expected, desired);
}
static inline uint64_t arena__atomic_add64(uint64_t *p, uint64_t d) { return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }
static inline uint32_t arena__atomic_load32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void arena__atomic_store32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline bool arena__atomic_cas32(uint32_t *p, uint32_t *expected, uint32_t desired) {
    return ARENA__CAS(p, expected, desired);
}
#if defined(_WIN32)
#define arena__yield() ((void)SwitchToThread())
#elif defined(__unix__) || defined(__APPLE__)
#include <sched.h>
#define arena__yield() ((void)sched_yield())
#else
#define arena__yield() ((void)0)
#endif
#endif

/* A spinlock on one word (0: free; no init, no destroy) that gives up its
   time slice while it waits: it guards rare, short work (a new block, a
   frame boundary), and threads may outnumber cores. */
static bool arena__try_lock(size_t *lock) {
    size_t free_ = 0;
    return arena__atomic_cas(lock, &free_, 1);
}

static void arena__lock(size_t *lock) {
    while (!arena__try_lock(lock))
        while (arena__atomic_load(lock)) arena__yield();
}

static void arena__unlock(size_t *lock) { arena__atomic_store(lock, 0); }

ARENA_DEF uint64_t arena__unique(void) {   /* lives of arenas, pool seeds */
    static uint64_t counter;
    return arena__atomic_add64(&counter, 1);
}

/* ---- poisoning and fill patterns ----------------------------------------- */

#if ARENA__ASAN
#define ARENA__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#elif defined(ARENA_VALGRIND)
#define ARENA__POISON(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define ARENA__UNPOISON(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#else
#define ARENA__POISON(p, n) ((void)(p), (void)(n))
#define ARENA__UNPOISON(p, n) ((void)(p), (void)(n))
#endif
/* The library reading its own bookkeeping kept in poisoned memory. */
#if defined(ARENA_VALGRIND) && !ARENA__ASAN
#define ARENA__REVEAL(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define ARENA__REVEAL(p, n) ARENA__UNPOISON((p), (n))
#endif

ARENA_DEF void arena__hand_out(void *p, size_t n) {
    ARENA__UNPOISON(p, n);
#if ARENA__FILL_FRESH
    ARENA_MEMSET(p, ARENA__FRESH, n);
#endif
}

ARENA_DEF void arena__take_back(void *p, size_t n) {
#if ARENA_DEBUG_FILL
    ARENA__UNPOISON(p, n);
    ARENA_MEMSET(p, ARENA__FREED, n);
#endif
    ARENA__POISON(p, n);
}

/* Resizing the allocation at p in place, from old_n to new_n bytes, keeping
   its content: ASan's shadow is set from the aligned start p (its granules
   cannot start mid-way), memcheck's byte by byte so definedness survives. */
static void arena__resize_poison(char *p, size_t old_n, size_t new_n,
                                 char *hi) {
#if ARENA_DEBUG_FILL
    ARENA__UNPOISON(p + old_n, (size_t)(hi - (p + old_n)));
    if (new_n < old_n) ARENA_MEMSET(p + new_n, ARENA__FREED, old_n - new_n);
#if ARENA__FILL_FRESH
    else ARENA_MEMSET(p + old_n, ARENA__FRESH, new_n - old_n);
#endif
#endif
#if ARENA__ASAN
    ARENA__POISON(p, (size_t)(hi - p));
    ARENA__UNPOISON(p, new_n);
#elif defined(ARENA_VALGRIND)
    if (new_n < old_n) VALGRIND_MAKE_MEM_NOACCESS(p + new_n, (size_t)(hi - (p + new_n)));
    else VALGRIND_MAKE_MEM_UNDEFINED(p + old_n, new_n - old_n);
#endif
    (void)p; (void)old_n; (void)new_n; (void)hi;
}

/* ---- size arithmetic ------------------------------------------------------ */

static size_t arena__align_up(size_t n, size_t align) {
    return (n + (align - 1)) & ~(align - 1);
}

static char *arena__align_ptr(void *p, size_t align) {
    return (char *)p + ((size_t)(0 - (uintptr_t)p) & (align - 1));
}

/* The bytes one allocation of `size` takes (span) and the room a fresh
   block needs for it at alignment `align` (need); false if too large. */
static bool arena__span(size_t size, size_t align, size_t *span, size_t *need) {
    if (size > ARENA__MAX_REQUEST || align > ARENA__MAX_REQUEST) return false;
    *span = arena__align_up(size + ARENA__REDZONE, ARENA_MIN_ALIGN);
    if (*span > ARENA__MAX_REQUEST || align - ARENA_MIN_ALIGN > ARENA__MAX_REQUEST - *span)
        return false;
    *need = *span + (align - ARENA_MIN_ALIGN);
    return true;
}

/* Every init starts here: all zero, where blocks come from, and a fresh
   epoch, unique in the process (marks also carry the arena's life, see
   arena_mark). */
static void arena__init_as(Arena *a, int kind) {
    ARENA_MEMSET(a, 0, sizeof *a);
    a->epoch = (size_t)arena__unique() * (size_t)0x9E3779B9u;
    a->kind = kind;
}

/* ---- blocks ---------------------------------------------------------------
   A block's header is followed (in sanitizer builds) by a poisoned gap of
   ARENA__REDZONE bytes, so that a write just before its first allocation
   is reported; in every build the header carries a check of its size and
   address, verified before the size is trusted (a block whose header was
   overwritten is never handed out from again, nor given back: its size is
   unknown). */

static size_t arena__block_check(const arena__Block *b) {
    return b->size ^ (size_t)(uintptr_t)b ^ (size_t)0x5BD1E9955BD1E995u;
}

static void arena__set_size(arena__Block *b, size_t size) {
    b->size = size;
    b->check = arena__block_check(b);
}

/* Does the header still check, and is it not a known broken one? Quiet. */
static bool arena__block_intact(const arena__Block *b) {
    return b->check == arena__block_check(b) && b->size != 0;
}

/* A broken header is reported once: the block is then marked as one of
   size 0 (with a matching check), which no call hands out from or gives
   back. */
static bool arena__block_ok(arena__Block *b) {
    if (b->check == arena__block_check(b)) return b->size != 0;
    arena__report(ARENA_ERR_MISUSE, "arena: a block header was overwritten (a write before an allocation)");
    arena__set_size(b, 0);
    return false;
}

/* Where the block's data ends; a block with a broken header has no room. */
static char *arena__limit(arena__Block *b) {
    uintptr_t end = (uintptr_t)b + b->size;
    if (!arena__block_ok(b)) return arena__data(b);
    return (char *)b + (size_t)((end & ~(uintptr_t)(ARENA_MIN_ALIGN - 1)) - (uintptr_t)b);
}

static void arena__note_peak(Arena *a) {
    size_t pos = arena__pos(a);
    if (pos > a->cycle_peak) a->cycle_peak = pos;
    if (pos > a->peak_used) a->peak_used = pos;
}

static size_t arena__opt(size_t value, size_t fallback) {
    return value ? value : fallback;
}

/* What a block spends besides its data: the header, the poisoned gap
   after it, and alignment at both ends of the data. */
static size_t arena__block_overhead(void) {
    return sizeof(arena__Block) + ARENA__REDZONE + 2 * ARENA_MIN_ALIGN;
}

/* The header's gap and the block's data are not handed out. */
static void arena__poison_block(Arena *a) {
    ARENA__POISON(a->cur - ARENA__REDZONE, (size_t)(a->end - a->cur) + ARENA__REDZONE);
}

/* Memory from a source, or from the default heap (ARENA_MALLOC) when it
   has no grab function (none under ARENA_NO_MALLOC), and back: every
   block of arena.h and pool.h comes and goes through these two. */
static void *arena__grab(const ArenaSource *s, size_t n) {
    if (s->grab) return s->grab(s->ctx, n);
#ifdef ARENA_NO_MALLOC
    return NULL;
#else
    return ARENA_MALLOC(n);
#endif
}

static void arena__give_back(const ArenaSource *s, void *p, size_t n) {
    if (s->grab) {
        if (s->drop) s->drop(s->ctx, p, n);
    } else {
#ifndef ARENA_NO_MALLOC
        ARENA_FREE(p);
#endif
    }
}

static void arena__drop(Arena *a, arena__Block *b) {
    size_t size = b->size;
    if (!arena__block_ok(b)) return;   /* leaked: its size is unknown */
    ARENA__UNPOISON(b, size);
    a->bytes_held -= size;
    a->block_count--;
    arena__give_back(&a->opt.source, b, size);
}

static void arena__drop_list(Arena *a, arena__Block *b) {
    while (b) {
        arena__Block *prev = b->prev;
        arena__drop(a, b);
        b = prev;
    }
}

static void arena__drop_chain(Arena *a) {
    arena__drop_list(a, a->block);
    arena__drop_list(a, a->spare);
    a->block = a->spare = NULL;
    a->cur = a->end = NULL;
}

static size_t arena__next_block_size(const Arena *a) {
    return a->next_size ? a->next_size : arena__opt(a->opt.block_size, ARENA_BLOCK_SIZE);
}

static void arena__push_block(Arena *a, arena__Block *b) {
    arena__note_peak(a);
    b->cycle = a->cycles;
    b->base = arena__pos(a);
    b->prev = a->block;
    a->block = b;
    a->cur = arena__data(b);
    a->end = arena__limit(b);
}

/* Blocks a rewind passes are kept (up to keep_bytes of them), at the front
   of the list so that the next growth takes them again in the same order:
   a temp scope looping across a block boundary never calls the source. */
static void arena__retire(Arena *a, arena__Block *b, char *top) {
    size_t keep = arena__opt(a->opt.keep_bytes, ARENA_KEEP_BYTES), kept = 0;
    arena__Block *s;
    for (s = a->spare; s; s = s->prev) kept += s->size;
    if (b->size > keep - (kept < keep ? kept : keep)) {
        arena__drop(a, b);
        return;
    }
    arena__take_back(arena__data(b), (size_t)(top - arena__data(b)));
    b->prev = a->spare;
    a->spare = b;
}

/* ---- virtual memory -------------------------------------------------------- */

static size_t arena__page_size(void) {
    static size_t cached;   /* threads may race to fill it: atomically */
    size_t page = ARENA__LOAD(&cached);
    if (!page) {
        page = arena__os_page_size();
        ARENA__STORE(&cached, page);
    }
    return page;
}

/* Commits so that `need` bytes are free at the top, growing the committed
   range geometrically (one OS call per doubling, up to a block's size). */
static bool arena__commit(Arena *a, size_t need) {
    arena__Block *b = a->block;
    char *reserved_end = (char *)b + b->size;
    size_t room = (size_t)(a->end - a->cur), step, committed = (size_t)(a->end - (char *)b);
    if (need > (size_t)(reserved_end - a->cur)) {
        arena__report_in(a, ARENA_ERR_OOM, "arena: the virtual reservation is used up");
        return false;
    }
    step = committed < arena__opt(a->opt.max_block_size, ARENA_MAX_BLOCK_SIZE)
               ? committed : arena__opt(a->opt.max_block_size, ARENA_MAX_BLOCK_SIZE);
    if (step < need - room) step = need - room;
    step = arena__align_up(step, arena__page_size());
    if (step > (size_t)(reserved_end - a->end)) step = (size_t)(reserved_end - a->end);
    a->grab_count++;
    if (!arena__os_commit(a->end, step)) {
        arena__report_in(a, ARENA_ERR_OOM, "arena: the OS refused to commit memory");
        return false;
    }
    ARENA__POISON(a->end, step);
    a->end += step;
    a->bytes_held += step;
    return true;
}

static bool arena__reserve(Arena *a) {
    size_t size = a->opt.max_bytes, first;
    arena__Block *b = (arena__Block *)arena__os_reserve(size);
    if (!b) {
#ifdef ARENA_NO_VIRTUAL
        arena__report_in(a, ARENA_ERR_MISUSE, "arena: no virtual memory on this platform (ARENA_NO_VIRTUAL)");
#else
        arena__report_in(a, ARENA_ERR_OOM, "arena_init_virtual: could not reserve the address space");
#endif
        return false;
    }
    first = arena__align_up(arena__opt(a->opt.block_size, ARENA_BLOCK_SIZE), arena__page_size());
    if (first > size) first = size;
    a->grab_count++;
    if (!arena__os_commit(b, first)) {
        arena__os_release(b, size);
        arena__report_in(a, ARENA_ERR_OOM, "arena_init_virtual: the OS refused to commit memory");
        return false;
    }
    arena__set_size(b, size);
    b->prev = NULL;
    b->base = 0;
    a->block = b;
    a->cur = arena__data(b);
    a->end = (char *)b + first;
    a->bytes_held = first;
    a->block_count = 1;
    arena__poison_block(a);
    return true;
}

/* The most bytes_used of the last ARENA_KEEP_CYCLES cycles. */
static size_t arena__recent_peak(const Arena *a) {
    size_t i, most = 0;
    for (i = 0; i < ARENA_KEEP_CYCLES; i++)
        if (a->recent_peaks[i] > most) most = a->recent_peaks[i];
    return most;
}

/* Reset keeps committed the most that one of the last ARENA_KEEP_CYCLES
   cycles used (at most keep_bytes). */
static void arena__virtual_trim(Arena *a) {
    size_t keep = arena__opt(a->opt.keep_bytes, ARENA_KEEP_BYTES), used = arena__recent_peak(a);
    char *keep_end = (char *)a->block + arena__align_up(
        (used < keep ? used : keep) + (size_t)(arena__data(a->block) - (char *)a->block),
        arena__page_size());
    if (keep_end < a->cur) keep_end = (char *)a->block + arena__align_up(
        (size_t)(a->cur - (char *)a->block), arena__page_size());
    if (a->end <= keep_end) return;
    ARENA__UNPOISON(keep_end, (size_t)(a->end - keep_end));   /* no stale shadow */
    arena__os_decommit(keep_end, (size_t)(a->end - keep_end));
    a->bytes_held -= (size_t)(a->end - keep_end);
    a->end = keep_end;
}

static void arena__virtual_release(Arena *a) {
    arena__Block *b = a->block;
    size_t size = b->size;
    ARENA__UNPOISON(b, (size_t)(a->end - (char *)b));
    arena__os_release(b, size);
}

ARENA_DEF bool arena_init_virtual(Arena *a, size_t reserve) {
    arena__init_as(a, ARENA__VIRTUAL);
    if (!reserve) reserve = ARENA_VIRTUAL_RESERVE;
    if (reserve > ARENA__MAX_REQUEST) {
        arena__report(ARENA_ERR_OVERFLOW, "arena_init_virtual: reserve exceeds PTRDIFF_MAX");
        return false;
    }
    a->opt.max_bytes = arena__align_up(reserve, arena__page_size());
    return arena__reserve(a);
}

/* ---- buffer arenas ------------------------------------------------------------ */

/* The caller's buffer becomes the arena's one block. */
static void arena__take_buffer(Arena *a, arena__Block *b, size_t size) {
    ARENA__UNPOISON(b, size);   /* an earlier arena may have left it poisoned */
    b->prev = NULL;
    arena__set_size(b, size);
    b->base = 0;
    a->block = b;
    a->cur = arena__data(b);
    a->end = arena__limit(b);
    a->bytes_held = size;
    a->block_count = 1;
    arena__poison_block(a);
}

/* A released buffer arena takes its buffer up again at its next use. */
static bool arena__resume_buffer(Arena *a) {
    arena__Block *b = a->spare;
    if (a->kind != ARENA__BUFFER || a->block || !b) return false;
    a->spare = NULL;
    arena__take_buffer(a, b, a->bytes_held);
    return true;
}

/* ---- growth ------------------------------------------------------------------
   The slow path of every allocation, bottom up: arena__alloc_slow (after
   the sharing section) checks the request and calls arena__place, which
   fits it at the top or, when the block is full, gets more room by the
   arena's kind (a new block, more committed pages, the buffer taken up
   again) and fits it there. */

/* A new block with room for `need` data bytes: a kept one if one fits,
   else one from the source. Requests larger than a block get a block of
   their own, which leaves the growth of normal blocks alone. */
static bool arena__new_block(Arena *a, size_t need) {
    size_t min = need + arena__block_overhead(), size = arena__next_block_size(a);
    bool dedicated = size < min;
    arena__Block **link, *b;
    /* Kept blocks are in the order they were used, so a cycle that
       allocates as the last one did takes them one after the other. A
       block dedicated to one oversized request serves only oversized
       requests: ordinary ones never spill into it (which would keep it
       alive). A block whose header was overwritten is passed over. */
    for (link = &a->spare; (b = *link) != NULL; link = &b->prev) {
        if (arena__block_intact(b) && (dedicated || !b->dedicated) &&
            (size_t)(arena__limit(b) - arena__data(b)) >= need) {
            *link = b->prev;
            arena__push_block(a, b);
            return true;
        }
    }
    if (dedicated) size = min;
    if (a->opt.max_bytes) {
        size_t left = a->bytes_held < a->opt.max_bytes ? a->opt.max_bytes - a->bytes_held : 0;
        if (left < min) {
            arena__report_in(a, ARENA_ERR_OOM, "arena: the max_bytes cap is reached");
            return false;
        }
        if (size > left) size = left;
    }
    a->grab_count++;
    b = (arena__Block *)arena__grab(&a->opt.source, size);
    if (!b) {
        arena__report_in(a, ARENA_ERR_OOM, "arena: the source is out of memory");
        return false;
    }
    arena__set_size(b, size);
    b->dedicated = dedicated;
    a->bytes_held += size;
    a->block_count++;
    if (!dedicated) {
        size_t max = arena__opt(a->opt.max_block_size, ARENA_MAX_BLOCK_SIZE);
        a->next_size = size < max / 2 ? size * 2 : max;
    }
    arena__push_block(a, b);
    arena__poison_block(a);
    return true;
}

/* Room at the top for `lead` bytes, then `span` bytes at `align`: the
   aligned start of the span, or NULL. */
static char *arena__fit(Arena *a, size_t lead, size_t span, size_t align) {
    size_t pad, avail;
    if (!a->cur) return NULL;
    avail = (size_t)(a->end - a->cur);
    if (lead > avail) return NULL;
    pad = (size_t)(0 - (uintptr_t)(a->cur + lead)) & (align - 1);
    if (pad > avail - lead || span > avail - lead - pad) return NULL;
    a->cur += lead + pad + span;
    return a->cur - span;
}

/* `lead` bytes, then `size` bytes at `align` (a power of two, at least
   ARENA_MIN_ALIGN), at the top or in a new block, handed out together;
   the aligned start, or NULL after one report. Refused while the arena
   is busy; the start becomes a->last. */
static char *arena__place(Arena *a, size_t lead, size_t size, size_t align) {
    size_t span, need;
    char *p;
    if (arena__refused(a)) return NULL;
    if (!arena__span(size, align, &span, &need) || need > ARENA__MAX_REQUEST - lead)
        return (char *)arena__fail_in(a, ARENA_ERR_OVERFLOW, "arena_alloc: size plus alignment exceeds PTRDIFF_MAX");
    p = arena__fit(a, lead, span, align);
    if (!p) {   /* the block is full: get a new one (or more room in this one) */
        need += lead;
        switch (a->kind) {
        case ARENA__BUFFER:
            if (!arena__resume_buffer(a) || (size_t)(a->end - a->cur) < need) {
                arena__report_in(a, ARENA_ERR_OOM, a->block ? "arena: the buffer is full"
                                                      : "arena: the buffer arena has no buffer");
                return NULL;
            }
            break;
        case ARENA__VIRTUAL:
            if ((!a->block && !arena__reserve(a)) || !arena__commit(a, need)) return NULL;
            break;
        default:
            if (!arena__new_block(a, need)) return NULL;
        }
        p = arena__fit(a, lead, span, align);
    }
    ARENA_ASSERT(p);
    arena__hand_out(p - lead, lead + size);
    a->last = p;   /* every out-of-line allocation (see arena__check_realloc) */
    return p;
}

/* ---- sharing across threads (ARENA_SHARED) -----------------------------------
   Threads allocate from the range [shared.base, shared.end) lock-free
   with ONE atomic add each on shared.top, a seqlock around it: read seq
   (even) and the range's end, add, read seq again. The add holds if seq
   did not move and it ended below the end (it started at or above the
   base: the top only grows while seq stays). Everything else (a new block,
   realloc, arena_defer, sprintf, reset ...) holds the lock, makes seq
   odd, takes the top with a swap (adds from then on see seq moved: they
   take the lock, their bytes are never handed out), runs the unshared
   code on a private copy of the arena, then publishes the copy: the
   range, the top, and seq even again. So an add that seq says held
   landed in the range published at the seq it read: no address brought
   back (by a reset, a new block where an old one was) can fool it. */

static bool arena__shared(const Arena *a) { return (a->opt.flags & ARENA_SHARED) != 0; }

/* Publishes the copy t taken by arena__share_enter (the fields from block
   up to opt; cur and end, which inline paths read, are never written),
   unlocks, and leaves (an allocating call). */
static void arena__share_leave(Arena *a, const Arena *t, bool allocating) {
    size_t from = offsetof(Arena, block);
    ARENA_MEMCPY((char *)a + from, (const char *)t + from, offsetof(Arena, opt) - from);
    arena__atomic_store(&a->shared.base, (size_t)(uintptr_t)t->cur);
    arena__atomic_store(&a->shared.end, (size_t)(uintptr_t)t->end);
    arena__atomic_store(&a->shared.top, (size_t)(uintptr_t)t->cur);
    arena__atomic_add(&a->shared.seq, 1);   /* even: the range is open */
    arena__unlock(&a->shared.lock);
    if (allocating) arena__atomic_add(&a->shared.inside, (size_t)-1);
}

/* Takes the lock and the range into t, an unshared copy of a. An
   allocating call (misuse NULL) counts itself inside until
   arena__share_leave; a frame-boundary call gets false, after one report
   of misuse, while a thread is inside. */
static bool arena__share_enter(Arena *a, Arena *t, const char *misuse) {
    size_t top, base, end;
    if (!misuse) arena__atomic_add(&a->shared.inside, 1);
    else if (arena__atomic_load(&a->shared.inside)) goto refuse;
    arena__lock(&a->shared.lock);
    arena__atomic_add(&a->shared.seq, 1);   /* odd: adds from now on fail */
    top = arena__atomic_load(&a->shared.top);
    while (!arena__atomic_cas(&a->shared.top, &top, 0)) {}   /* where the last add that held ends */
    base = arena__atomic_load(&a->shared.base);
    end = arena__atomic_load(&a->shared.end);
    ARENA_MEMCPY(t, a, offsetof(Arena, shared));
    ARENA_MEMSET(&t->shared, 0, sizeof t->shared);
    t->opt.flags &= ~ARENA_SHARED;
    t->cur = end ? (char *)(uintptr_t)(top - base <= end - base ? top : end) : NULL;   /* (past it: failed adds) */
    t->end = (char *)(uintptr_t)end;
    if (!misuse || !arena__atomic_load(&a->shared.inside)) return true;
    arena__share_leave(a, t, false);   /* (a thread came in meanwhile) */
refuse:
    arena__report(ARENA_ERR_MISUSE, misuse);
    return false;
}

/* Requests up to this span take the lock-free add: adds past the end
   (each thread's last before it takes the lock) cannot bring the top
   round to the range again unless some 2^15 threads add at once. */
#define ARENA__SHARED_SPAN ((size_t)1 << 16)

/* Test builds run a call here, in the window between a lock-free add and
   its second sequence check (tests/impl.c); empty otherwise. */
#ifndef ARENA__TEST_HOOK
#define ARENA__TEST_HOOK(a) ((void)0)
#endif

/* One atomic add of span (<= ARENA__SHARED_SPAN) on the shared range; true
   with *p, the bytes taken, if it held (an exact fit takes the lock).
   The second reading of seq keeps an add that raced with a locked call
   from counting: after a reset, rewind or release its bytes belong to
   the new frame (tests/test_shared.c makes that race happen). */
static inline bool arena__shared_bump(Arena *a, size_t span, char **p) {
    size_t seq = arena__atomic_load(&a->shared.seq) & ~(size_t)1;   /* odd: never matches again */
    size_t end = arena__atomic_load(&a->shared.end);
    size_t top = arena__atomic_fetch_add(&a->shared.top, span);
    ARENA__TEST_HOOK(a);
    *p = (char *)(uintptr_t)top;
    return top + span < end && arena__atomic_load(&a->shared.seq) == seq;
}

ARENA_DEF void *arena__alloc_slow(Arena *a, size_t size, size_t align);

/* call on t_, the private copy of the shared arena a, under the lock:
   an allocating call (counted inside meanwhile). */
#define ARENA__LOCKED_CALL(a, call)                 \
    do {                                            \
        Arena t_;                                   \
        arena__share_enter((a), &t_, NULL);         \
        call;                                       \
        arena__share_leave((a), &t_, true);         \
    } while (0)

/* r = f(copy, ...) for a shared arena a: an allocating call under the lock. */
#define ARENA__LOCKED(a, r, f, ...) ARENA__LOCKED_CALL(a, (r) = f(&t_, __VA_ARGS__))

/* Its counterpart at a frame boundary: call on the copy t_, for the API
   call `name`, refused (one report of misuse) while a thread is inside. */
#define ARENA__AT_BOUNDARY(a, name, call)                                                                \
    do {                                                                                                 \
        Arena t_;                                                                                        \
        if (arena__share_enter((a), &t_, name ": a thread is inside an allocating call of the shared arena")) { \
            call;                                                                                        \
            arena__share_leave((a), &t_, false);                                                         \
        }                                                                                                \
    } while (0)

#if defined(__GNUC__) || defined(__clang__)
#define ARENA__NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define ARENA__NOINLINE __declspec(noinline)
#else
#define ARENA__NOINLINE
#endif

/* Anything but a lock-free bump (a new block, a large or aligned request,
   errors) runs under the lock; out of line, so that the bump's caller
   stays small. */
static ARENA__NOINLINE void *arena__shared_alloc(Arena *a, size_t size, size_t align) {
    void *p;
    ARENA__LOCKED(a, p, arena__alloc_slow, size, align);
    return p;
}

/* A small request at the minimum alignment (arena_alloc's) bumps
   lock-free; a frame-boundary call meanwhile makes its add fail, and
   it takes the lock. A leaf with a tail call: no register to save.
   Size 0 takes the top unmoved, as the inline path does (with red
   zones, checked builds, it goes on as an unshared arena's does). */
static inline void *arena__shared_fast(Arena *a, size_t size) {
    char *p;
    if (size - (ARENA__REDZONE != 0) < ARENA__SHARED_SPAN - ARENA__REDZONE - ARENA_MIN_ALIGN &&
        arena__shared_bump(a, ARENA__ROUND(size + ARENA__REDZONE), &p)) {
        arena__hand_out(p, size);
        return p;
    }
    return arena__shared_alloc(a, size, ARENA_MIN_ALIGN);
}

ARENA_DEF void *arena__try_alloc(Arena *a, size_t size, size_t align) {
    size_t span, need;
    char *p;
    if (align < ARENA_MIN_ALIGN) align = ARENA_MIN_ALIGN;
    if (!size || !arena__span(size, align, &span, &need)) return NULL;
    arena__resume_buffer(a);
    p = arena__fit(a, 0, span, align);
    if (p) arena__hand_out(p, size);
    return p;
}

/* An unshared arena's allocation out of line; inlined twice, the check
   of align folds away for arena_alloc's constant. */
static inline void *arena__alloc_own(Arena *a, size_t size, size_t align) {
    if (arena__refused(a)) return NULL;
    if (!align || (align & (align - 1)))
        return arena__fail_in(a, ARENA_ERR_ALIGN, "arena_alloc_aligned: the alignment is not a power of two");
    if (align < ARENA_MIN_ALIGN) align = ARENA_MIN_ALIGN;
    if (!size) return (void *)(uintptr_t)align;   /* non-NULL, never dereferenced */
    return arena__place(a, 0, size, align);
}

ARENA_DEF void *arena__alloc_slow(Arena *a, size_t size, size_t align) {
    if (arena__shared(a))
        return align == ARENA_MIN_ALIGN ? arena__shared_fast(a, size) : arena__shared_alloc(a, size, align);
    return arena__alloc_own(a, size, align);
}

ARENA_DEF void *arena__alloc_slow_min(Arena *a, size_t size) {
    if (arena__shared(a)) return arena__shared_fast(a, size);
    return arena__alloc_own(a, size, ARENA_MIN_ALIGN);
}

/* ---- init ----------------------------------------------------------------- */

ARENA_DEF void arena_init(Arena *a, const ArenaOptions *opt) {
    arena__init_as(a, ARENA__HEAP);
    if (!opt) return;
    a->opt = *opt;
    if (a->opt.flags & ~ARENA_SHARED) {
        a->opt.flags &= ARENA_SHARED;
        arena__report(ARENA_ERR_MISUSE, "arena_init: unknown bits in flags (ignored)");
    }
    if (a->opt.block_size && a->opt.block_size < ARENA__MIN_BLOCK) a->opt.block_size = ARENA__MIN_BLOCK;
    if (a->opt.block_size > ARENA__MAX_REQUEST) a->opt.block_size = ARENA__MAX_REQUEST;
    if (a->opt.max_block_size && a->opt.max_block_size < arena__next_block_size(a))
        a->opt.max_block_size = arena__next_block_size(a);
    if (a->opt.source.grab) {
        a->kind = ARENA__SOURCE;
    } else if (a->opt.source.drop || a->opt.source.ctx) {
        ARENA_MEMSET(&a->opt.source, 0, sizeof a->opt.source);
        arena__report(ARENA_ERR_MISUSE, "arena_init: ArenaSource has no grab function; using malloc");
    }
}

ARENA_DEF bool arena_init_buffer(Arena *a, void *buf, size_t size) {
    arena__init_as(a, ARENA__BUFFER);
    if (!buf) {
        arena__report(ARENA_ERR_MISUSE, "arena_init_buffer: the buffer is NULL");
        return false;
    }
    if ((uintptr_t)buf % ARENA_ALIGNOF(arena__Block)) {
        arena__report(ARENA_ERR_ALIGN, "arena_init_buffer: the buffer is not aligned for a pointer");
        return false;
    }
    if (size < arena__block_overhead() + ARENA_MIN_ALIGN || size > ARENA__MAX_REQUEST) {
        arena__report(ARENA_ERR_OOM, "arena_init_buffer: the buffer is too small for the arena's header");
        return false;
    }
    arena__take_buffer(a, (arena__Block *)buf, size);
    return true;
}

/* ---- rewinding: the cleanups, then the blocks above a position --------------- */

/* Cleanups run with the arena busy (see "re-entry"). */
static void arena__run_defers(Arena *a, size_t pos) {
    while (a->defers && a->defers->pos >= pos) {
        arena__Defer *d = a->defers;
        char *end;
        a->defers = d->prev;
        end = arena__enter(a);
        d->fn(d->ctx);
        arena__leave(a, end);
    }
}

/* Frees everything above pos (cleanups first). Only arena__cut and reset
   call it: every downward move of the top is a cut. */
static void arena__rewind_to(Arena *a, size_t pos) {
    char *top;
    arena__run_defers(a, pos);
    arena__note_peak(a);
    top = a->cur;
    while (a->block && a->block->base > pos) {
        arena__Block *b = a->block;
        size_t base = b->base;   /* b may be dropped by retire */
        a->block = b->prev;
        arena__retire(a, b, top);
        if (a->block) {
            top = arena__data(a->block) + (base - a->block->base);
            a->end = arena__limit(a->block);
        }
    }
    if (!a->block) {
        a->cur = a->end = NULL;
        return;
    }
    a->cur = arena__data(a->block) + (pos - a->block->base);
    if (top > a->cur) arena__take_back(a->cur, (size_t)(top - a->cur));
}

/* ---- marks ------------------------------------------------------------------
   A mark is stale once the top has gone below it, even if the arena has
   grown past it again; the answer is exact for any sequence of calls.

   Every downward move of the top is a cut (arena__cut). A cut at pos kills
   the marks above pos taken before it; a later cut at or below pos makes
   it redundant. So the cuts that still matter form a stack with rising
   positions and rising serials, and a mark (pos, serial) is stale exactly
   when some cut on it is newer than the mark and lower than its pos.

   That stack lives in the arena's own memory: the record of a cut at pos
   is 16 bytes placed at pos itself (poisoned under sanitizers), holding
   the position and serial of the record below it; the Arena holds the
   newest. A later cut at or below pos frees the record's bytes and pops
   it in the same move, so the stack never holds a dead entry and costs no
   memory beyond what the arena already had: a record is only written when
   a mark above pos may exist (mark_hi > pos: then the top was at least
   16 bytes above pos, in the same block) or when records were popped.
   Buffer arenas stay within their buffer; nothing comes from the source.

   The record is not counted as used: when the top is just past the newest
   record, the top is that record's position (arena_mark and bytes_used
   say so, and a rewind to it replaces the record). A loop of temp scopes
   therefore keeps one record, not one per iteration. Checking a mark walks
   the records newer than it: none when the mark was taken since the last
   cut (ordinary nesting), otherwise one per cut still standing above it. */

typedef char arena__cut_fits[ARENA__CUT_SIZE <= ARENA_MIN_ALIGN ? 1 : -1];

/* The newest block that starts at or below position pos: where it is. */
static const arena__Block *arena__block_at(const Arena *a, size_t pos) {
    const arena__Block *b = a->block;
    while (b->base > pos) b = b->prev;
    return b;
}

static char *arena__at(const Arena *a, size_t pos) {
    const arena__Block *b = arena__block_at(a, pos);
    return arena__data(b) + (pos - b->base);
}

/* Steps from the record (*serial, *pos) to the one below it. Records
   fall in serial and position; one that does not was overwritten (a
   write past an allocation in a build without sanitizers): false. */
static bool arena__rec_next(char *at, uint64_t *serial, size_t *pos) {
    arena__CutRec r;
    ARENA__REVEAL(at, sizeof r);
    ARENA_MEMCPY(&r, at, sizeof r);
    ARENA__POISON(at, sizeof r);
    if (r.serial >= *serial || (r.serial && r.pos >= *pos)) return false;
    *serial = r.serial;
    *pos = r.pos;
    return true;
}

static bool arena__cut_next(const Arena *a, uint64_t *serial, size_t *pos) {
    return arena__rec_next(arena__at(a, *pos), serial, pos);
}

/* Writes a record (poisoned) that points at the one below it. */
static void arena__rec_write(char *at, uint64_t serial, size_t pos) {
    arena__CutRec r;
    r.serial = serial;
    r.pos = pos;
    ARENA__UNPOISON(at, sizeof r);
    ARENA_MEMCPY(at, &r, sizeof r);
    ARENA__POISON(at, ARENA__CUT_SIZE);
}

static void arena__cut_pop(Arena *a) {
    if (arena__cut_next(a, &a->cut_top, &a->cut_pos)) return;
    arena__report_in(a, ARENA_ERR_MISUSE, "arena: a cut record was overwritten (a write past an allocation)");
    a->cut_top = 0;
}

/* Writes the newest record: of a cut at pos, placed at `at`. */
static void arena__cut_push_at(Arena *a, char *at, size_t pos) {
    arena__rec_write(at, a->cut_top, a->cut_pos);
    a->cut_top = ++a->cut_serial;
    a->cut_pos = pos;
}

/* The newest record becomes a cut at its own position, now: a new serial
   where it lies, no memory spent. */
static void arena__cut_renew(Arena *a) {
    size_t at = a->cut_pos;
    arena__cut_pop(a);
    arena__cut_push_at(a, arena__at(a, at), at);
}

/* Writes the record of a cut at pos, which the top has just reached. */
static void arena__cut_push(Arena *a, size_t pos) {
    ARENA_ASSERT(a->cur && (size_t)(a->end - a->cur) >= ARENA__CUT_SIZE);
    a->cur += ARENA__CUT_SIZE;
    arena__cut_push_at(a, a->cur - ARENA__CUT_SIZE, pos);
}

/* The top goes down to pos: cleanups registered at or above it run, the
   memory above it is taken back (nothing to do if the caller has already
   moved the top there), and marks above it die. The one entry point for
   every downward move (rewind, stack pop, a shrinking realloc, a failed
   call undoing its own allocations). */
ARENA_DEF void arena__cut(Arena *a, size_t pos) {
    bool record, at_pos = false, renew = false;
    arena__run_defers(a, pos);
    record = a->mark_hi > pos;   /* after the cleanups: they may take marks */
    while (a->cut_top && a->cut_pos >= pos) {
        at_pos |= a->cut_pos == pos;
        arena__cut_pop(a);
        record = true;
    }
    /* Just past the newest record is that record's position (the top a
       mark there would have seen; no live mark can be at pos itself unless
       a record was at pos): cutting there keeps records from piling up.
       Within a block the cut moves down onto the record; across blocks
       the top stays at pos (the block there may hold a size-0 allocation
       the caller still has) and the record is renewed where it is. (The
       block pos is in, not the newest: the rewind may go back across
       blocks.) */
    if (!at_pos && a->cut_top && a->cut_pos + ARENA__CUT_SIZE == pos && a->block) {
        if (arena__block_at(a, pos)->base <= a->cut_pos) {
            pos = a->cut_pos;
            arena__cut_pop(a);
            record = true;
        } else {
            renew = record;
            record = false;
        }
    }
    if (arena__pos(a) > pos) arena__rewind_to(a, pos);
    if (renew) arena__cut_renew(a);
    if (record) arena__cut_push(a, pos);
    if (a->mark_hi > pos) a->mark_hi = pos;
    if (a->last >= a->cur) a->last = NULL;
}

/* Was m taken in the history an arena_restore went back past? */
static bool arena__undone(const Arena *a, ArenaMark m) {
    return m.serial > a->undone_lo && m.serial < a->undone_hi;
}

/* Is there a cut newer than m and below it? Records are walked newest
   first; past a broken one, every older mark is refused. */
static bool arena__cut_below(const Arena *a, ArenaMark m) {
    uint64_t serial = a->cut_top;
    size_t pos = a->cut_pos;
    if (arena__undone(a, m)) return true;
    while (serial > m.serial)
        if (pos < m.pos || !arena__cut_next(a, &serial, &pos)) return true;
    return false;
}

/* A mark of an arena with no current block, of a life's first mark, or of
   a shared arena (taken on a private copy, under the lock). */
ARENA_DEF ArenaMark arena__mark_slow(Arena *a) {
    ArenaMark m;
    if (arena__shared(a)) {
        ARENA_MEMSET(&m, 0, sizeof m);   /* refused: a mark of no arena, which rewind refuses */
        ARENA__AT_BOUNDARY(a, "arena_mark", (m = arena_mark(&t_), m.arena = a));
        return m;
    }
    if (!a->life) a->life = arena__unique();
    m.arena = a;
    m.pos = arena__top(a);
    m.epoch = a->epoch;
    m.life = a->life;
    m.serial = a->cut_serial;
    if (m.pos > a->mark_hi) a->mark_hi = m.pos;
    return m;
}

/* Every case the inline rewind leaves: a mark of another arena, life or
   cycle, one with cuts since, out of the current block, under a cleanup,
   on a busy or a stack's arena. */
ARENA_DEF void arena__rewind_slow(Arena *a, ArenaMark m) {
    if (arena__shared(a) && m.arena == a) {
        ARENA__AT_BOUNDARY(a, "arena_rewind", (m.arena = &t_, arena_rewind(&t_, m)));
        return;
    }
#if !ARENA__CHECKED
    /* One record made since m, at or above it (a LIFO rewind after a
       deeper one): it is popped, and a record at m takes its place. */
    if (arena__rewind_plain(a, m) && m.epoch == a->epoch && a->cut_top > m.serial &&
        a->cut_pos >= m.pos && !arena__undone(a, m)) {
        arena__CutRec r;
        ARENA_MEMCPY(&r, arena__at(a, a->cut_pos), sizeof r);
        if (r.serial <= m.serial) {
            arena__rewind_here(a, m.pos, r, true, a->cut_pos == m.pos || (r.serial && r.pos == m.pos));
            return;
        }
    }
#endif
    if (m.arena != a)
        arena__report_in(a, ARENA_ERR_MISUSE, "arena_rewind: the mark belongs to another arena");
    else if (m.life != a->life || m.epoch != a->epoch)
        arena__report_in(a, ARENA_ERR_MISUSE, "arena_rewind: the mark was taken before a reset or release");
    else if (a->stack_owned)
        arena__report_in(a, ARENA_ERR_MISUSE, "arena_rewind: the arena is an ArenaStack's (pop its pushes instead)");
    else if (m.pos > arena__top(a) || arena__cut_below(a, m))
        arena__report_in(a, ARENA_ERR_MISUSE, "arena_rewind: the mark was already rewound past");
    else if (!arena__refused(a) && m.pos < arena__top(a))
        arena__cut(a, m.pos);
}

/* ---- reset, release, stats, cleanups ----------------------------------------- */

/* Reset keeps the blocks that one of the last ARENA_KEEP_CYCLES cycles
   used (the one that just ended included), in the order they were used,
   so that frames of different sizes run warm: a loop whose frames vary
   below the same peak makes no source call after its first large frame.
   A block dedicated to one oversized request is kept only if the cycle
   that just ended used it. Everything else, and whatever passes
   keep_bytes, goes back to the source. The bottom blocks are kept like
   the others: the next cycle takes them back first (used first). */
static void arena__keep_recent(Arena *a) {
    size_t keep = arena__opt(a->opt.keep_bytes, ARENA_KEEP_BYTES), kept = 0;
    arena__Block **link;
    while (a->block) {   /* position 0 may span empty blocks below the top */
        arena__Block *b = a->block;
        a->block = b->prev;
        b->prev = a->spare;
        a->spare = b;
    }
    a->cur = a->end = NULL;
    for (link = &a->spare; *link;) {
        arena__Block *b = *link;
        size_t age = a->cycles - b->cycle;
        if (!arena__block_intact(b)) {   /* reported when found; never used
                                            again, nor given back (arena__drop) */
            link = &b->prev;
        } else if (age < (b->dedicated ? 1 : ARENA_KEEP_CYCLES) && b->size <= keep - kept) {
            kept += b->size;
            link = &b->prev;
        } else {
            *link = b->prev;
            arena__drop(a, b);
        }
    }
}

ARENA_DEF void arena_reset(Arena *a) {
    if (arena__shared(a)) {
        ARENA__AT_BOUNDARY(a, "arena_reset", arena_reset(&t_));
        return;
    }
    if (arena__refused(a)) return;
    arena__rewind_to(a, 0);
    a->recent_peaks[a->cycles % ARENA_KEEP_CYCLES] = a->cycle_peak;
    if (a->kind == ARENA__VIRTUAL) {
        if (a->block) arena__virtual_trim(a);
    } else if (a->kind != ARENA__BUFFER) {
        arena__keep_recent(a);
    }
    a->cycles++;
    a->epoch++;
    a->cut_serial++;   /* the inline rewind's test: see "the marks' fast paths" */
    if (a->cycle_peak > a->peak_used) a->peak_used = a->cycle_peak;   /* it counts only cycle_peak */
    a->cut_top = 0;
    a->cut_pos = a->mark_hi = 0;
    a->undone_lo = a->undone_hi = 0;   /* the epoch refuses every older mark */
    a->last = NULL;
    a->cycle_peak = 0;
}

ARENA_DEF void arena_release(Arena *a) {
    Arena fresh;
    if (arena__shared(a)) {
        ARENA__AT_BOUNDARY(a, "arena_release", arena_release(&t_));
        return;
    }
    if (arena__refused(a)) return;
    arena__run_defers(a, 0);
    ARENA_MEMSET(&fresh, 0, sizeof fresh);
    if (a->kind == ARENA__BUFFER) {
        /* The buffer goes back to the caller, unpoisoned; the arena keeps a
           note of it and takes it up again at its next allocation. */
        arena__Block *b = a->block ? a->block : a->spare;
        if (a->block) arena__take_back(arena__data(b), (size_t)(a->cur - arena__data(b)));
        if (b) {
            fresh.spare = b;
            fresh.bytes_held = a->bytes_held;   /* the buffer's size */
            fresh.block_count = 1;
            ARENA__UNPOISON(b, a->bytes_held);
        }
    } else if (a->kind == ARENA__VIRTUAL) {
        if (a->block) arena__virtual_release(a);
    } else {
        arena__drop_chain(a);
    }
    fresh.opt = a->opt;
    fresh.kind = a->kind;
    fresh.epoch = a->epoch + 1;   /* and life 0: the next mark takes a new one */
    fresh.cut_serial = a->cut_serial;   /* rising across lives (arena_restore) */
    *a = fresh;
}

ARENA_DEF ArenaStats arena_stats(const Arena *a) {
    ArenaStats s;
    if (arena__shared(a)) {   /* a consistent view, under the lock */
        ARENA__LOCKED_CALL((Arena *)(uintptr_t)a, s = arena_stats(&t_));
        return s;
    }
    s.bytes_used = arena__top(a);
    s.bytes_held = a->bytes_held;
    s.peak_used = a->peak_used > a->cycle_peak ? a->peak_used : a->cycle_peak;
    if (s.bytes_used > s.peak_used) s.peak_used = s.bytes_used;
    s.block_count = a->block_count;
    s.grab_count = a->grab_count;
    return s;
}

ARENA_DEF bool arena_defer(Arena *a, void (*fn)(void *ctx), void *ctx) {
    size_t pos;
    arena__Defer *d;
    bool ok;
    if (arena__shared(a)) {
        ARENA__LOCKED(a, ok, arena_defer, fn, ctx);
        return ok;
    }
    pos = arena__pos(a);
    if (!fn) {
        arena__report_in(a, ARENA_ERR_MISUSE, "arena_defer: the cleanup function is NULL");
        return false;
    }
    if (arena__refused(a)) return false;
    d = (arena__Defer *)arena_alloc_aligned(a, sizeof *d, ARENA_ALIGNOF(arena__Defer));
    if (!d) return false;
    d->prev = a->defers;
    d->fn = fn;
    d->ctx = ctx;
    d->pos = pos;
    a->defers = d;
    return true;
}

/* ---- calloc, realloc, strings ---------------------------------------------- */

ARENA_DEF void *arena__calloc_overflow(Arena *a) {
    return arena__fail_in(a, ARENA_ERR_OVERFLOW, "arena_calloc: count * size overflows");
}

/* Is p, of old_size bytes, the newest allocation of the newest block?
   (Not when a cut record is: growing p would overwrite it.) */
static bool arena__is_last(const Arena *a, const void *p, size_t old_size) {
    uintptr_t u = (uintptr_t)p, cur = (uintptr_t)a->cur;
    size_t d;
    if (!a->block || u < (uintptr_t)arena__data(a->block) || u > cur) return false;
    if (a->cut_top && arena__top(a) != arena__pos(a)) return false;
    d = (size_t)(cur - u);
    return old_size <= d && arena__align_up(old_size + ARENA__REDZONE, ARENA_MIN_ALIGN) == d;
}

/* The arena position of p when [p, p + n) lies in what this arena has
   handed out; SIZE_MAX otherwise. (n == 0: p in one of its blocks at all:
   a size-0 allocation may lie above the top since the top went down, so
   the position may be above arena__pos.) */
static size_t arena__pos_of(const Arena *a, const void *p, size_t n) {
    uintptr_t u = (uintptr_t)p;
    arena__Block *b;
    uintptr_t top = (uintptr_t)a->cur;
    for (b = a->block; b; b = b->prev) {
        uintptr_t lo = (uintptr_t)arena__data(b);
        if (u >= lo && u <= top && n <= top - u) return b->base + (size_t)(u - lo);
        if (!n && u >= lo && u <= (uintptr_t)b + b->size) return b->base + (size_t)(u - lo);
        if (b->prev) top = (uintptr_t)arena__data(b->prev) + (b->base - b->prev->base);
    }
    return SIZE_MAX;
}

/* Is p an allocation of this arena that realloc may take? Every start is
   aligned: a misaligned p is an interior pointer (an aligned one cannot be
   told from a start: a rewind into a grown allocation puts the next start
   right after its live bytes). An allocation of size 0 may be the
   placeholder the slow path returns (its alignment). old_size is trusted
   where nothing tells it is wrong: release builds cannot check it
   (README); a->last, the newest out-of-line allocation, shows when p is an
   older one whose claimed size reaches the top. */
static bool arena__check_realloc(Arena *a, const char *p, size_t old_size) {
    uintptr_t u = (uintptr_t)p, last = (uintptr_t)a->last;
    if (!old_size && u >= ARENA_MIN_ALIGN && !(u & (u - 1)) && u <= ARENA__MAX_REQUEST) return true;
    if (u % ARENA_MIN_ALIGN || arena__pos_of(a, p, old_size) == SIZE_MAX) {
        arena__report_in(a, ARENA_ERR_MISUSE, "arena_realloc: the pointer is not an allocation of this arena");
        return false;
    }
    if (last && u < last && last < (uintptr_t)a->cur && arena__is_last(a, p, old_size)) {
        arena__report_in(a, ARENA_ERR_MISUSE, "arena_realloc: old_size is wrong (p is not the newest allocation)");
        return false;
    }
    return true;
}

/* p (the newest allocation) takes span bytes, in place: the top moves,
   and a shrink is a cut (marks above the new top die). */
static void *arena__resize_in_place(Arena *a, char *p, size_t old_size, size_t new_size,
                                    size_t span) {
    char *hi = p + span > a->cur ? p + span : a->cur;
    bool shrink = p + span < a->cur;
    arena__resize_poison(p, old_size, new_size, hi);
    a->cur = p + span;
    if (shrink) arena__cut(a, arena__pos(a));
    a->last = new_size ? p : NULL;   /* a size-0 one may be grown over */
    return p;
}

/* Resizes p in place when it is the newest allocation and the room is
   there; otherwise copies its first `keep` bytes to a new allocation. */
static void *arena__resize(Arena *a, void *p, size_t old_size, size_t new_size,
                           size_t keep, size_t align) {
    char *q;
    if (!p) return arena_alloc_aligned(a, new_size, align);
    if (arena__refused(a) || !arena__check_realloc(a, (const char *)p, old_size)) return NULL;
    if (arena__is_last(a, p, old_size)) {
        size_t span, need;
        arena__note_peak(a);
        if (!arena__span(new_size, ARENA_MIN_ALIGN, &span, &need))
            return arena__fail_in(a, ARENA_ERR_OVERFLOW, "arena_realloc: the new size exceeds PTRDIFF_MAX");
        q = (char *)p;
        if (span > (size_t)(a->end - q) && a->kind == ARENA__VIRTUAL &&
            !arena__commit(a, span - (size_t)(a->cur - q)))
            return NULL;
        if (span <= (size_t)(a->end - q)) return arena__resize_in_place(a, q, old_size, new_size, span);
    }
    q = (char *)arena_alloc_aligned(a, new_size, align);
    if (q && keep) ARENA_MEMCPY(q, p, keep);
    return q;
}

ARENA_DEF void *arena__realloc_slow(Arena *a, void *p, size_t old_size, size_t new_size) {
    if (arena__shared(a)) {
        void *q;
        ARENA__LOCKED(a, q, arena__realloc_slow, p, old_size, new_size);
        return q;
    }
    return arena__resize(a, p, old_size, new_size,
                         old_size < new_size ? old_size : new_size, ARENA_MIN_ALIGN);
}

ARENA_DEF bool arena__array_grow(Arena *a, void *items_field, size_t *cap, size_t count,
                                 size_t extra, size_t elem, size_t align) {
    void *items, *p;
    size_t want, new_cap;
    bool ok;
    if (arena__shared(a)) {
        ARENA__LOCKED(a, ok, arena__array_grow, items_field, cap, count, extra, elem, align);
        return ok;
    }
    ARENA_MEMCPY(&items, items_field, sizeof items);
    if (!elem) {   /* elements of no size (a GNU C empty struct): room for all */
        if (!(p = arena_alloc(a, 0))) return false;
        if (!items) ARENA_MEMCPY(items_field, &p, sizeof p);
        *cap = SIZE_MAX;
        return true;
    }
    if (extra > SIZE_MAX - count || count + extra > SIZE_MAX / elem) {
        arena__report_in(a, ARENA_ERR_OVERFLOW, "arena_array_reserve: the array size overflows");
        return false;
    }
    want = count + extra;
    new_cap = *cap <= SIZE_MAX / 2 / elem ? *cap * 2 : want;
    if (new_cap < want) new_cap = want;
    if (new_cap < 8 && 8 <= SIZE_MAX / elem) new_cap = 8;
    p = arena__resize(a, items, *cap * elem, new_cap * elem, count * elem,
                      align < ARENA_MIN_ALIGN ? ARENA_MIN_ALIGN : align);
    if (!p) return false;
    ARENA_MEMCPY(items_field, &p, sizeof p);
    *cap = new_cap;
    return true;
}

/* Checked builds: storage in the newest block that reaches above the top
   was freed by a rewind (the array grew inside a temp scope that ended).
   Storage anywhere else is not judged. */
ARENA_DEF bool arena__array_live(Arena *a, const void *items, size_t bytes) {
    const char *p = (const char *)items;
    if (!p || !a->block || arena__shared(a) || p < arena__data(a->block) || p >= a->end)
        return true;
    if (p <= a->cur && (size_t)(a->cur - p) >= bytes) return true;
    arena__report_in(a, ARENA_ERR_MISUSE,
                     "arena_array_push: the array's storage was freed (grown inside a temp scope that ended?)");
    return false;
}

ARENA_DEF bool arena__array_empty(void) {
    arena__report(ARENA_ERR_MISUSE, "arena_array_pop: the array is empty");
    return false;
}

ARENA_DEF void *arena_memdup(Arena *a, const void *p, size_t n) {
    void *q;
    if (!p && n) return arena__fail_in(a, ARENA_ERR_MISUSE, "arena_memdup: the source is NULL");
    q = arena_alloc(a, n);
    if (q && n) ARENA_MEMCPY(q, p, n);
    return q;
}

ARENA_DEF char *arena_strndup(Arena *a, const char *s, size_t n) {
    const char *nul;
    char *q;
    if (!s) return (char *)arena__fail_in(a, ARENA_ERR_MISUSE, "arena_strndup: the string is NULL");
    nul = (const char *)ARENA_MEMCHR(s, 0, n);
    if (nul) n = (size_t)(nul - s);
    if (n == SIZE_MAX) return (char *)arena__fail_in(a, ARENA_ERR_OVERFLOW, "arena_strndup: the length overflows");
    q = (char *)arena_alloc(a, n + 1);
    if (!q) return NULL;
    ARENA_MEMCPY(q, s, n);
    q[n] = '\0';
    return q;
}

ARENA_DEF char *arena_strdup(Arena *a, const char *s) {
    if (!s) return (char *)arena__fail_in(a, ARENA_ERR_MISUSE, "arena_strdup: the string is NULL");
    return arena_strndup(a, s, ARENA_STRLEN(s));
}

/* ---- strings built piece by piece (ArenaBuilder, arena_sprintf) ------------ */

/* Can the string grow by `extra` bytes where it is, without a new block? */
static bool arena__builder_fits(const ArenaBuilder *b, size_t extra) {
    const Arena *a = b->arena;
    char *at = b->data ? b->data : a->cur;
    char *limit = a->kind == ARENA__VIRTUAL && a->block ? (char *)a->block + a->block->size : a->end;
    return at && b->len + extra + ARENA__REDZONE <= (size_t)(limit - at);
}

/* Room for `extra` more bytes: in place, exactly; when the string has to
   move to a new block (a copy), with half as much again to grow into, so
   that moves stay rare and what they leave behind stays small. */
static bool arena__builder_reserve(ArenaBuilder *b, size_t extra) {
    size_t cap;
    char *p;
    if (extra <= b->cap - b->len) return true;
    if (extra > ARENA__MAX_REQUEST - b->len) {
        arena__report(ARENA_ERR_OVERFLOW, "arena_builder: the string would exceed PTRDIFF_MAX");
        return false;
    }
    cap = b->len + extra;
    if (b->arena->kind <= ARENA__SOURCE && !arena__builder_fits(b, extra) && cap < ARENA__MAX_REQUEST / 2)
        cap += cap / 2;
    p = (char *)arena__resize(b->arena, b->data, b->cap, cap, b->len, ARENA_MIN_ALIGN);
    if (!p) return false;
    b->data = p;
    b->cap = cap;
    return true;
}

ARENA_DEF ArenaBuilder arena_builder(Arena *a) {
    ArenaBuilder b;
    b.arena = a;
    b.data = NULL;
    b.len = b.cap = 0;
    return b;
}

/* ---- sprintf ------------------------------------------------------------------ */

#ifndef ARENA_NO_SPRINTF
#ifdef ARENA_STB_SPRINTF_EXTERN
#include ARENA_STB_SPRINTF_HEADER
#else
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wpedantic"
#ifndef __cplusplus
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#endif
#endif
/* stb_sprintf negates INT_MIN for "%d": compile it with wrapping
   arithmetic (gcc), and keep UBSan off that one known spot (clang). */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("signed-integer-overflow"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("wrapv")
#endif
#define STB_SPRINTF_STATIC
#define STB_SPRINTF_NOUNALIGNED
#define STB_SPRINTF_IMPLEMENTATION
#include ARENA_STB_SPRINTF_HEADER
#undef STB_SPRINTF_IMPLEMENTATION
#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

/* stb_sprintf writes STB_SPRINTF_MIN characters between callbacks. It
   starts in `chunk`, so that a short text (most are) is copied once into
   one exact allocation. Past the first chunk, while the arena can give
   that much room at the top, it writes straight into the string (the
   arena's newest allocation), grown in place; when it cannot (a nearly
   full buffer), into the chunk again, appended exactly. */
typedef struct arena__Print {
    ArenaBuilder out;   /* the string so far */
    bool failed;
    char chunk[STB_SPRINTF_MIN];
} arena__Print;

/* Where stb_sprintf writes next: into the string when it has (or can get
   in place) STB_SPRINTF_MIN bytes of room, else into the chunk. */
static char *arena__print_next(arena__Print *pr) {
    size_t room = STB_SPRINTF_MIN + 1;
    if (pr->out.cap - pr->out.len < room) {
        if (!arena__builder_fits(&pr->out, room)) return pr->chunk;
        if (!arena__builder_reserve(&pr->out, room)) return NULL;
    }
    return pr->out.data + pr->out.len;
}

/* Text copied into the string exactly (a chunk, a format's literal runs). */
static bool arena__print_text(arena__Print *pr, const char *s, size_t n) {
    if (!arena__builder_reserve(&pr->out, n + 1)) return false;
    ARENA_MEMCPY(pr->out.data + pr->out.len, s, n);
    pr->out.len += n;
    return true;
}

/* A short chunk is most likely the end of the text: the next (if any)
   goes to the chunk too, so that the string is not grown past it. */
static char *arena__print_cb(const char *buf, void *user, int len) {
    arena__Print *pr = (arena__Print *)user;
    char *next;
    if (buf != pr->chunk) {   /* written in place */
        pr->out.len += (size_t)len;
        next = arena__print_next(pr);
    } else if (!arena__print_text(pr, buf, (size_t)len)) {
        next = NULL;
    } else {
        next = len > STB_SPRINTF_MIN / 2 ? arena__print_next(pr) : pr->chunk;
    }
    if (!next) pr->failed = true;
    return next;
}

/* stb_sprintf's text for fmt and its arguments, appended. */
static bool arena__print_stb(arena__Print *pr, const char *fmt, va_list ap) {
    stbsp_vsprintfcb(arena__print_cb, pr, pr->chunk, fmt, ap);
    return !pr->failed;
}

static bool arena__print_one(arena__Print *pr, const char *spec, ...) {
    va_list ap;
    bool ok;
    va_start(ap, spec);
    ok = arena__print_stb(pr, spec, ap);
    va_end(ap);
    return ok;
}

/* ---- where stb_sprintf departs from C ------------------------------------------
   stb_sprintf ignores a negative '*' width (C: left-justified), prints hh
   and h values untruncated, reads j as size_t (32 bits on i686), prints
   signs ('+', ' ') on unsigned conversions, prints the zero of "%.0d",
   pads with zeros for '0' with a precision (C ignores the '0' there) and
   stops reading flags at a '0' ("%0-5d"). A pre-pass reads the conversions of the format: when none of
   them can meet one of these, stb_sprintf formats the whole text in one
   pass. Otherwise each conversion goes to stb_sprintf on its own, with a
   corrected spec (stars resolved, the flags C ignores dropped, '0' last,
   integers widened to 64 bits after truncation) and the literal text
   between them copied. A format with a conversion the pre-pass does not
   know (%n, %F, stb's extensions, wide characters, long double) goes to
   stb_sprintf as it is. */

#define ARENA__STAR (-2)   /* a width or precision from the arguments */

/* Flags, one bit each in the order a corrected spec writes them ('0' last). */
static const char arena__flag_chars[] = "-+ #'0";
#define ARENA__LEFT 1u
#define ARENA__PLUS 2u
#define ARENA__SPACE 4u
#define ARENA__ALT 8u
#define ARENA__ZERO 32u
#define ARENA__FLAGS 63u
#define ARENA__MISORDERED 64u   /* a flag after '0' */

typedef struct arena__Conv {
    unsigned flags;
    int width, prec; /* width 0, prec -1: none */
    char size, conv; /* size: 0 h l j z t, or H (hh), L (ll) */
    char kind;       /* 'i' signed, 'u' unsigned, 'f' floating, else conv */
} arena__Conv;

static unsigned arena__flag(char ch) {
    switch (ch) {
    case '-': return 1;
    case '+': return 2;
    case ' ': return 4;
    case '#': return 8;
    case '\'': return 16;
    case '0': return 32;
    default: return 0;
    }
}

static inline char arena__conv_kind(char conv) {
    switch (conv) {
    case 'd': case 'i': return 'i';
    case 'o': case 'u': case 'x': case 'X': return 'u';
    case 'e': case 'E': case 'f': case 'g': case 'G': case 'a': case 'A': return 'f';
    case 'c': case 's': case 'p': case '%': return conv;
    default: return 0;
    }
}

/* Digits (saturating far beyond any sane width) or '*'. */
static const char *arena__conv_number(const char *f, int *n) {
    if (*f == '*') {
        *n = ARENA__STAR;
        return f + 1;
    }
    for (*n = 0; *f >= '0' && *f <= '9'; f++)
        if (*n < 100000000) *n = *n * 10 + (*f - '0');
    return f;
}

/* The conversion at f (just past its '%') into c; the format after it, or
   NULL for one the pre-pass does not know. */
static const char *arena__conv_parse(const char *f, arena__Conv *c) {
    unsigned bit;
    for (c->flags = 0; (bit = arena__flag(*f)) != 0; f++)
        c->flags |= bit | ((c->flags & ARENA__ZERO) && bit != ARENA__ZERO ? ARENA__MISORDERED : 0u);
    f = arena__conv_number(f, &c->width);
    c->prec = -1;
    if (*f == '.') f = arena__conv_number(f + 1, &c->prec);
    c->size = 0;
    if (*f == 'h' || *f == 'l' || *f == 'j' || *f == 'z' || *f == 't') c->size = *f++;
    if ((c->size == 'h' || c->size == 'l') && *f == c->size) c->size = (char)(*f++ == 'h' ? 'H' : 'L');
    c->conv = *f;
    c->kind = arena__conv_kind(*f);
    if (!c->kind || (c->size && (c->kind == 'c' || c->kind == 's' || c->kind == 'p'))) return NULL;
    return f + 1;
}

/* May stb_sprintf print this conversion other than C does (see above)? */
static bool arena__conv_deviates(const arena__Conv *c) {
    unsigned signs = c->flags & (ARENA__PLUS | ARENA__SPACE);
    if (c->width == ARENA__STAR || (c->flags & ARENA__MISORDERED) || signs == (ARENA__PLUS | ARENA__SPACE))
        return true;
    if (c->kind != 'i' && c->kind != 'u') return false;
    return c->size == 'h' || c->size == 'H' || (c->size == 'j' && sizeof(intmax_t) != sizeof(size_t)) ||
           c->prec == ARENA__STAR || c->prec == 0 ||
           (c->prec > 0 && (c->flags & ARENA__ZERO)) || (c->kind == 'u' && signs);
}

/* Does the format hold a conversion stb_sprintf may print other than C
   does, and only conversions the pre-pass knows? */
static bool arena__format_deviates(const char *f) {
    arena__Conv c;
    bool deviates = false;
    for (; *f; f++)
        if (*f == '%') {
            if (!(f = arena__conv_parse(f + 1, &c))) return false;
            deviates |= arena__conv_deviates(&c);
            f--;
        }
    return deviates;
}

/* A character that may continue a spec stb_sprintf prints as C does:
   '-', digits (with the flag '0'), the sizes it reads as C does. */
static inline bool arena__plain_modifier(char ch) {
    switch (ch) {
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
    case '8': case '9': case 'l': case 'z': case 't': return true;
    case 'j': return sizeof(intmax_t) == sizeof(size_t);   /* what stb_sprintf reads */
    default: return false;
    }
}

/* The pre-pass at a glance: most specs are '-', digits (with '0'), a size
   and a letter, which stb_sprintf prints as C does. Any other character
   in a spec (or '-' after '0') sends the whole format through the exact
   check. */
static bool arena__format_plain(const char *fmt) {
    const char *f = fmt;
    for (;;) {
        for (; *f != '%'; f++)
            if (!*f) return true;
        while (arena__plain_modifier(*++f))
            if (*f == '-' && f[-1] == '0') return !arena__format_deviates(fmt);
        if (!arena__conv_kind(*f)) return !arena__format_deviates(fmt);
        f++;
    }
}

static intmax_t arena__conv_signed(const arena__Conv *c, va_list *ap) {
    switch (c->size) {
    case 0: return va_arg(*ap, int);
    case 'H': return (signed char)va_arg(*ap, int);
    case 'h': return (short)va_arg(*ap, int);
    case 'l': return va_arg(*ap, long);
    case 'L': return va_arg(*ap, long long);
    case 'j': return va_arg(*ap, intmax_t);
    default: return va_arg(*ap, ptrdiff_t);   /* 't', and 'z' (its signed twin) */
    }
}

static uintmax_t arena__conv_unsigned(const arena__Conv *c, va_list *ap) {
    switch (c->size) {
    case 0: return va_arg(*ap, unsigned);
    case 'H': return (unsigned char)va_arg(*ap, unsigned);
    case 'h': return (unsigned short)va_arg(*ap, unsigned);
    case 'l': return va_arg(*ap, unsigned long);
    case 'L': return va_arg(*ap, unsigned long long);
    case 'j': return va_arg(*ap, uintmax_t);
    default: return va_arg(*ap, size_t);   /* 'z', and 't' (its unsigned twin) */
    }
}

/* The flags of c that C honours, in stb_sprintf's order, into s. */
static char *arena__conv_flags(char *s, const arena__Conv *c, int prec) {
    unsigned flags = c->flags & ARENA__FLAGS, i;
    if (c->kind == 'u') flags &= ~(ARENA__PLUS | ARENA__SPACE);   /* signs: signed only */
    if (flags & ARENA__PLUS) flags &= ~ARENA__SPACE;              /* '+' wins over ' ' */
    if ((c->kind == 'i' || c->kind == 'u') && prec >= 0) flags &= ~ARENA__ZERO;
    for (i = 0; arena__flag_chars[i]; i++)
        if (flags & (1u << i)) *s++ = arena__flag_chars[i];
    return s;
}

/* One conversion, its arguments read from *ap, through stb_sprintf with a
   spec it prints as C does: "%" flags "*.*" [ll] conversion. */
static bool arena__print_conv(arena__Print *pr, const arena__Conv *c, va_list *ap) {
    char spec[16] = "%", *s = spec + 1;   /* zeroed: stb_sprintf reads 4 bytes at a time */
    int width = c->width == ARENA__STAR ? va_arg(*ap, int) : c->width;
    int prec = c->prec == ARENA__STAR ? va_arg(*ap, int) : c->prec;
    bool integer = c->kind == 'i' || c->kind == 'u';
    intmax_t v = c->kind == 'i' ? arena__conv_signed(c, ap) : 0;
    uintmax_t u = c->kind == 'u' ? arena__conv_unsigned(c, ap) : 0;
    if (c->kind == '%') return arena__print_text(pr, "%", 1);
    if (width < 0) {   /* a negative '*' width: left-justified */
        *s++ = '-';
        width = width < -100000000 ? 100000000 : -width;
    }
    if (prec < 0) prec = -1;
    if (integer && prec == 0 && !v && !u) {   /* "%.0d" of zero: no digits */
        const char *text = c->kind == 'u' ? (c->conv == 'o' && (c->flags & ARENA__ALT) ? "0" : "")
                         : c->flags & ARENA__PLUS ? "+" : c->flags & ARENA__SPACE ? " " : "";
        if (c->flags & ARENA__LEFT) *s++ = '-';
        ARENA_MEMCPY(s, "*s", 3);
        return arena__print_one(pr, spec, width, text);
    }
    s = arena__conv_flags(s, c, prec);
    ARENA_MEMCPY(s, integer ? "*.*ll" : "*.*", integer ? 5 : 3);
    s += integer ? 5 : 3;
    *s++ = c->conv;
    *s = '\0';
    switch (c->kind) {
    case 'i': return arena__print_one(pr, spec, width, prec, (long long)v);
    case 'u': return arena__print_one(pr, spec, width, prec, (unsigned long long)u);
    case 'f': return arena__print_one(pr, spec, width, prec, va_arg(*ap, double));
    case 'c': return arena__print_one(pr, spec, width, prec, va_arg(*ap, int));
    case 's': return arena__print_one(pr, spec, width, prec, va_arg(*ap, const char *));
    default: return arena__print_one(pr, spec, width, prec, va_arg(*ap, void *));
    }
}

/* The format one conversion at a time (see above). */
static bool arena__print_each(arena__Print *pr, const char *f, va_list ap) {
    arena__Conv c;
    const char *pct;
    bool ok = true;
    va_list aq;
    va_copy(aq, ap);
    while (ok && *f) {
        for (pct = f; *pct && *pct != '%'; pct++) {}
        ok = arena__print_text(pr, f, (size_t)(pct - f));
        if (!ok || !*pct) break;
        f = arena__conv_parse(pct + 1, &c);   /* known: the pre-pass read it */
        ok = arena__print_conv(pr, &c, &aq);
    }
    va_end(aq);
    return ok;
}

/* The formatted text appended to b, written in place. On failure *b is as
   it was (what was written past it stays in the arena). */
static bool arena__vappend(ArenaBuilder *b, const char *fmt, va_list ap) {
    arena__Print pr;
    pr.out = *b;
    pr.failed = false;
    if (!(arena__format_plain(fmt) ? arena__print_stb(&pr, fmt, ap) : arena__print_each(&pr, fmt, ap)))
        return false;
    *b = pr.out;
    return true;
}

ARENA_DEF char *arena_vsprintf(Arena *a, const char *fmt, va_list ap) {
    ArenaBuilder b = arena_builder(a);
    size_t pos;
    if (arena__shared(a)) {
        char *text;
        ARENA__LOCKED(a, text, arena_vsprintf, fmt, ap);
        return text;
    }
    if (!fmt) return (char *)arena__fail_in(a, ARENA_ERR_MISUSE, "arena_sprintf: the format is NULL");
    pos = arena__pos(a);
    if (!arena__vappend(&b, fmt, ap) || !arena__builder_reserve(&b, 1)) {
        arena__cut(a, pos);
        return NULL;
    }
    b.data[b.len] = '\0';
    if (b.cap == b.len + 1) return b.data;   /* exact already (a short text) */
    return (char *)arena__resize(a, b.data, b.cap, b.len + 1, b.len + 1, ARENA_MIN_ALIGN);
}

ARENA_DEF char *arena_sprintf(Arena *a, const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return s;
}
#endif /* ARENA_NO_SPRINTF */

/* ---- stack allocator -------------------------------------------------------- */

ARENA_DEF void arena_stack_init(ArenaStack *s, const ArenaOptions *opt) {
    ARENA_MEMSET(s, 0, sizeof *s);
    arena_init(&s->arena, opt);
    if (arena__shared(&s->arena)) {   /* one LIFO order: one thread */
        s->arena.opt.flags &= ~ARENA_SHARED;
        arena__report(ARENA_ERR_MISUSE, "arena_stack_init: a stack cannot be ARENA_SHARED (ignored)");
    }
}

ARENA_DEF bool arena_stack_init_buffer(ArenaStack *s, void *buf, size_t size) {
    ARENA_MEMSET(s, 0, sizeof *s);
    return arena_init_buffer(&s->arena, buf, size);
}

/* Out of line: a new block, a larger alignment, alignment or size errors,
   checked builds. Before the header, a record of the arena position to
   go back to (the allocation may have started a new block). */
typedef struct arena__StackRec {
    size_t pos;
} arena__StackRec;
#define ARENA__STACK_REC ARENA__ROUND(sizeof(arena__StackRec))

ARENA_DEF void *arena__stack_push_slow(ArenaStack *s, size_t size, size_t align) {
    Arena *a = &s->arena;
    size_t pos = arena__top(a);   /* as a mark sees it: a cut record just below goes too */
    arena__StackHead *h;
    char *p;
    if (arena__refused(a)) return NULL;
    if (!align || (align & (align - 1)))
        return arena__fail_in(a, ARENA_ERR_ALIGN, "arena_stack_push_aligned: the alignment is not a power of two");
    p = arena__place(a, ARENA__STACK_REC + ARENA__STACK_HEAD, size,
                     align < ARENA_MIN_ALIGN ? ARENA_MIN_ALIGN : align);
    if (!p) return NULL;
    h = (arena__StackHead *)(void *)(p - ARENA__STACK_HEAD);
    ((arena__StackRec *)(void *)((char *)h - ARENA__STACK_REC))->pos = pos;
    h->prev_top = s->top;
    h->end = NULL;
    a->stack_owned = true;
    s->high = NULL;   /* perhaps a new block */
    s->top = p;
    s->depth++;
    return p;
}

/* An inline pop from a top above any noted in this block. */
ARENA_DEF void arena__stack_note(ArenaStack *s) {
    arena__note_peak(&s->arena);
    s->high = s->arena.cur;
}

ARENA_DEF bool arena__stack_pop_slow(ArenaStack *s, void *p) {
    arena__StackHead h;
    size_t pos;
    if (!s->top) {
        arena__report_in(&s->arena, ARENA_ERR_MISUSE, "arena_stack_pop: the stack is empty");
        return false;
    }
    if (p != s->top) {
        arena__report_in(&s->arena, ARENA_ERR_MISUSE, "arena_stack_pop: not the newest live push (pops must be LIFO)");
        return false;
    }
    if (arena__refused(&s->arena)) return false;
    ARENA_MEMCPY(&h, (char *)p - ARENA__STACK_HEAD, sizeof h);
    if (!h.end) {
        arena__StackRec rec;
        ARENA_MEMCPY(&rec, (char *)p - ARENA__STACK_HEAD - ARENA__STACK_REC, sizeof rec);
        pos = rec.pos;
    } else {   /* pushed inline; the arena was used directly since */
        pos = arena__pos_of(&s->arena, (char *)p - ARENA__STACK_HEAD, ARENA__STACK_HEAD);
        if (pos == SIZE_MAX) {
            arena__report_in(&s->arena, ARENA_ERR_MISUSE, "arena_stack_pop: the stack's arena was reset under it");
            return false;
        }
    }
    s->top = h.prev_top;
    s->high = NULL;   /* perhaps another block */
    s->depth--;
    arena__cut(&s->arena, pos);   /* cleanups, a->last; no marks can be rewound */
    return true;
}

ARENA_DEF void arena_stack_reset(ArenaStack *s) {
    if (arena__refused(&s->arena)) return;
    arena_reset(&s->arena);
    s->top = NULL;
    s->high = NULL;
    s->depth = 0;
}

ARENA_DEF void arena_stack_release(ArenaStack *s) {
    if (arena__refused(&s->arena)) return;
    arena_release(&s->arena);
    s->top = NULL;
    s->high = NULL;
    s->depth = 0;
}

/* ---- per-thread scratch arenas --------------------------------------------------- */

/* Two per thread: arena_scratch_begin avoids one conflict, so one of two
   is always free. */
static ARENA_THREAD_LOCAL Arena arena__scratch[2];
static ARENA_THREAD_LOCAL bool arena__exit_hooked;

static void arena__scratch_free(Arena *s) {
    int i;
    for (i = 0; i < 2; i++) arena_release(&s[i]);
}

#ifdef ARENA__THREAD_EXIT
/* pool.h's part of a thread's exit (its per-thread caches go back), when
   it is in this file. */
static void (*arena__exit_also)(void);

/* A thread's exit (see arena__os_at_thread_exit). Thread-exit code that
   runs after this (another key's destructor) and uses scratch or a shared
   pool hooks the thread again, so its memory is given back too; on
   Windows the deletion of one of the thread's fibers also lands here, and
   the next use hooks the thread again. */
static void arena__thread_exit(void *s) {
    if (!s) return;
    arena__scratch_free((Arena *)s);
    if (arena__exit_also) arena__exit_also();
    if (s == (void *)arena__scratch) arena__exit_hooked = false;
}
#endif

/* The calling thread's exit will run arena__thread_exit. */
static void arena__hook_thread_exit(void) {
    if (arena__exit_hooked) return;
    arena__os_at_thread_exit(arena__scratch);
    arena__exit_hooked = true;
}

ARENA_DEF ArenaTemp arena_scratch_begin(const Arena *conflict) {
    int i = 0;
    arena__hook_thread_exit();
    if (&arena__scratch[0] == conflict) i = 1;
    return arena_temp_begin(&arena__scratch[i]);
}

ARENA_DEF void arena_scratch_release(void) {
    arena__scratch_free(arena__scratch);
}

/* ---- frame rings ------------------------------------------------------------------ */

/* A refused call of a structure that is not an arena: reported, NULL. */
static void *arena__reject(ArenaError err, const char *msg) {
    arena__report(err, msg);
    return NULL;
}

ARENA_DEF void arena_ring_init(ArenaRing *r, size_t frames, const ArenaOptions *opt) {
    size_t i;
    ARENA_MEMSET(r, 0, sizeof *r);
    if (!frames || frames > ARENA_RING_MAX) {
        arena__report(ARENA_ERR_MISUSE, "arena_ring_init: frames must be from 1 to ARENA_RING_MAX");
        return;
    }
    r->frames = frames;
    for (i = 0; i < frames; i++) arena_init(&r->arenas[i], opt);
}

static bool arena__ring_ready(const ArenaRing *r, const char *msg) {
    if (r->frames) return true;
    arena__report(ARENA_ERR_MISUSE, msg);
    return false;
}

ARENA_DEF Arena *arena_ring_next(ArenaRing *r) {
    Arena *a;
    if (!arena__ring_ready(r, "arena_ring_next: the ring is not initialised")) return NULL;
    r->current = (r->current + 1) % r->frames;
    r->frame_count++;
    a = &r->arenas[r->current];
    arena_reset(a);
    return a;
}

ARENA_DEF Arena *arena_ring_frame(ArenaRing *r, size_t age) {
    if (!arena__ring_ready(r, "arena_ring_frame: the ring is not initialised")) return NULL;
    if (age >= r->frames)
        return (Arena *)arena__reject(ARENA_ERR_MISUSE, "arena_ring_frame: age beyond the ring (its frames are already reset)");
    return &r->arenas[(r->current + r->frames - age) % r->frames];
}

ARENA_DEF void arena_ring_release(ArenaRing *r) {
    size_t i;
    for (i = 0; i < r->frames; i++) arena_release(&r->arenas[i]);
    r->current = r->frame_count = 0;
}

/* ---- two-ended stacks ---------------------------------------------------------------- */

static void arena__deque_take(ArenaDeque *d, char *mem, size_t size) {
    d->life = arena__unique();
    d->base = d->lo = arena__align_ptr(mem, ARENA_MIN_ALIGN);
    d->top = d->hi = (char *)((uintptr_t)(mem + size) & ~(uintptr_t)(ARENA_MIN_ALIGN - 1));
}

ARENA_DEF bool arena_deque_init_buffer(ArenaDeque *d, void *buf, size_t size) {
    ARENA_MEMSET(d, 0, sizeof *d);
    if (!buf) {
        arena__report(ARENA_ERR_MISUSE, "arena_deque_init_buffer: the buffer is NULL");
        return false;
    }
    if (size < 2 * ARENA_MIN_ALIGN || size > ARENA__MAX_REQUEST) {
        arena__report(ARENA_ERR_OOM, "arena_deque_init_buffer: the buffer is too small (or above PTRDIFF_MAX)");
        return false;
    }
    ARENA__UNPOISON(buf, size);   /* an earlier user may have left it poisoned */
    arena__deque_take(d, (char *)buf, size);
    d->lo_commit = d->top;
    d->hi_commit = d->base;
    ARENA__POISON(d->base, (size_t)(d->top - d->base));
    return true;
}

ARENA_DEF bool arena_deque_init_virtual(ArenaDeque *d, size_t reserve) {
    char *mem;
    ARENA_MEMSET(d, 0, sizeof *d);
    if (!reserve) reserve = ARENA_VIRTUAL_RESERVE;
    if (reserve > ARENA__MAX_REQUEST) {
        arena__report(ARENA_ERR_OVERFLOW, "arena_deque_init_virtual: reserve exceeds PTRDIFF_MAX");
        return false;
    }
    reserve = arena__align_up(reserve, arena__page_size());
    mem = (char *)arena__os_reserve(reserve);
    if (!mem) {
#ifdef ARENA_NO_VIRTUAL
        arena__report(ARENA_ERR_MISUSE, "arena_deque_init_virtual: no virtual memory on this platform");
#else
        arena__report(ARENA_ERR_OOM, "arena_deque_init_virtual: could not reserve the address space");
#endif
        return false;
    }
    d->reserved = reserve;
    arena__deque_take(d, mem, reserve);
    d->lo_commit = d->base;
    d->hi_commit = d->top;
    return true;
}

/* Commits pages so that the end can reach `need` (a block at a time, so
   that commits stay few), never over the other end's committed pages. */
static bool arena__deque_commit(ArenaDeque *d, ArenaEnd end, char *need) {
    size_t page = arena__page_size(), step;
    char *from, *to;
    if (end == ARENA_LOW) {
        if (need <= d->lo_commit) return true;
        step = arena__align_up((size_t)(need - d->lo_commit) + ARENA_BLOCK_SIZE, page);
        from = d->lo_commit;
        to = step < (size_t)(d->top - from) ? from + step : d->top;
        d->lo_commit = to;
        if (to > d->hi_commit) to = d->hi_commit > from ? d->hi_commit : from;
    } else {
        if (need >= d->hi_commit) return true;
        step = arena__align_up((size_t)(d->hi_commit - need) + ARENA_BLOCK_SIZE, page);
        to = d->hi_commit;
        from = step < (size_t)(to - d->base) ? to - step : d->base;
        d->hi_commit = from;
        if (from < d->lo_commit) from = d->lo_commit < to ? d->lo_commit : to;
    }
    if (from < to && !arena__os_commit(from, (size_t)(to - from))) {
        if (end == ARENA_LOW) d->lo_commit = from;
        else d->hi_commit = to;
        arena__report(ARENA_ERR_OOM, "arena_deque: the OS refused to commit memory");
        return false;
    }
    ARENA__POISON(from, (size_t)(to - from));
    return true;
}

static void arena__deque_unmap(ArenaDeque *d) {
    char *lo_end = d->lo_commit < d->hi_commit ? d->lo_commit : d->hi_commit;
    ARENA__UNPOISON(d->base, (size_t)(lo_end - d->base));   /* no stale shadow */
    ARENA__UNPOISON(d->hi_commit, (size_t)(d->top - d->hi_commit));
    arena__os_release(d->base, d->reserved);
}

static bool arena__deque_end_ok(ArenaEnd end, const char *msg) {
    if (end == ARENA_LOW || end == ARENA_HIGH) return true;
    arena__report(ARENA_ERR_MISUSE, msg);
    return false;
}

/* ---- the deque's marks ---------------------------------------------------------------
   Exact, like the arena's (see "marks"): every downward move of an end's
   top is a cut, and the cuts that still matter are a stack of 16-byte
   records kept in that end's own memory at the cut's position. A
   position counts bytes from the end's origin (base for the low end, top
   for the high end, growing down); e indexes the per-end fields. */

static size_t arena__deque_raw(const ArenaDeque *d, int e) {
    return e ? (size_t)(d->top - d->hi) : (size_t)(d->lo - d->base);
}

/* The position the user sees: the newest record just below the top is
   not counted (as arena__top). */
static size_t arena__deque_top(const ArenaDeque *d, int e) {
    size_t raw = arena__deque_raw(d, e);
    return d->cut_top[e] && raw == d->cut_pos[e] + ARENA__CUT_SIZE ? d->cut_pos[e] : raw;
}

/* The 16 bytes above position pos, where its record goes. */
static char *arena__deque_rec_at(const ArenaDeque *d, int e, size_t pos) {
    return e ? d->top - pos - ARENA__CUT_SIZE : d->base + pos;
}

static bool arena__deque_rec_next(const ArenaDeque *d, int e, uint64_t *serial, size_t *pos) {
    return arena__rec_next(arena__deque_rec_at(d, e, *pos), serial, pos);
}

static void arena__deque_pop(ArenaDeque *d, int e) {
    if (arena__deque_rec_next(d, e, &d->cut_top[e], &d->cut_pos[e])) return;
    arena__report(ARENA_ERR_MISUSE, "arena_deque: a cut record was overwritten (a write past an allocation)");
    d->cut_top[e] = 0;
}

/* The end's top goes to raw position pos; what it held above is taken back. */
static void arena__deque_move(ArenaDeque *d, int e, size_t pos) {
    if (e) {
        char *hi = d->top - pos;
        arena__take_back(d->hi, (size_t)(hi - d->hi));
        d->hi = hi;
    } else {
        char *lo = d->base + pos;
        arena__take_back(lo, (size_t)(d->lo - lo));
        d->lo = lo;
    }
}

/* The end's top goes down to pos and the marks above it die (arena__cut's
   rules; a record is written where the top was at least 16 bytes above). */
static void arena__deque_cut(ArenaDeque *d, int e, size_t pos) {
    bool record = d->mark_hi[e] > pos, at_pos = false;
    while (d->cut_top[e] && d->cut_pos[e] >= pos) {
        at_pos |= d->cut_pos[e] == pos;
        arena__deque_pop(d, e);
        record = true;
    }
    if (!at_pos && d->cut_top[e] && d->cut_pos[e] + ARENA__CUT_SIZE == pos) {
        pos = d->cut_pos[e];
        arena__deque_pop(d, e);
        record = true;
    }
    arena__deque_move(d, e, pos);
    if (record) {
        arena__rec_write(arena__deque_rec_at(d, e, pos), d->cut_top[e], d->cut_pos[e]);
        if (e) d->hi -= ARENA__CUT_SIZE;
        else d->lo += ARENA__CUT_SIZE;
        d->cut_top[e] = ++d->cut_serial;
        d->cut_pos[e] = pos;
    }
    if (d->mark_hi[e] > pos) d->mark_hi[e] = pos;
}

/* Is there a cut newer than m and below it? */
static bool arena__deque_cut_below(const ArenaDeque *d, int e, ArenaDequeMark m) {
    uint64_t serial = d->cut_top[e];
    size_t pos = d->cut_pos[e];
    while (serial > m.serial)
        if (pos < m.used || !arena__deque_rec_next(d, e, &serial, &pos)) return true;
    return false;
}

ARENA_DEF size_t arena_deque_used(const ArenaDeque *d, ArenaEnd end) {
    return arena__deque_top(d, end != ARENA_LOW);
}

ARENA_DEF size_t arena_deque_room(const ArenaDeque *d) {
    return (size_t)(d->hi - d->lo);
}

ARENA_DEF void *arena_deque_alloc_aligned(ArenaDeque *d, ArenaEnd end, size_t size, size_t align) {
    size_t span, need, room = arena_deque_room(d), used;
    char *p;
    if (!arena__deque_end_ok(end, "arena_deque_alloc: no such end (ARENA_LOW or ARENA_HIGH)")) return NULL;
    if (!align || (align & (align - 1)))
        return arena__reject(ARENA_ERR_ALIGN, "arena_deque_alloc_aligned: the alignment is not a power of two");
    if (align < ARENA_MIN_ALIGN) align = ARENA_MIN_ALIGN;
    if (!size) return (void *)(uintptr_t)align;   /* non-NULL, never dereferenced */
    if (!arena__span(size, align, &span, &need))
        return arena__reject(ARENA_ERR_OVERFLOW, "arena_deque_alloc: size plus alignment exceeds PTRDIFF_MAX");
    if (end == ARENA_LOW) {
        size_t pad = (size_t)(0 - (uintptr_t)d->lo) & (align - 1);
        if (pad > room || span > room - pad) p = NULL;
        else p = d->lo + pad;
        if (p && !arena__deque_commit(d, end, p + span)) return NULL;
        if (p) d->lo = p + span;
    } else {
        p = span > room ? NULL
                        : d->hi - span - ((uintptr_t)(d->hi - span) & (align - 1));
        if (p && p < d->lo) p = NULL;
        if (p && !arena__deque_commit(d, end, p)) return NULL;
        if (p) d->hi = p;
    }
    if (!p) return arena__reject(ARENA_ERR_OOM, "arena_deque_alloc: out of room (the two ends would meet)");
    used = arena__deque_raw(d, 0) + arena__deque_raw(d, 1);
    if (used > d->peak_used) d->peak_used = used;
    arena__hand_out(p, size);
    return p;
}

ARENA_DEF void *arena_deque_alloc(ArenaDeque *d, ArenaEnd end, size_t size) {
    return arena_deque_alloc_aligned(d, end, size, ARENA_MIN_ALIGN);
}

ARENA_DEF ArenaDequeMark arena_deque_mark(ArenaDeque *d, ArenaEnd end) {
    ArenaDequeMark m;
    int e = end != ARENA_LOW;
    m.deque = d;
    m.end = end;
    m.used = arena__deque_top(d, e);
    m.epoch = d->epoch[e];
    m.life = d->life;
    m.serial = d->cut_serial;
    if (m.used > d->mark_hi[e]) d->mark_hi[e] = m.used;
    return m;
}

ARENA_DEF void arena_deque_rewind(ArenaDeque *d, ArenaDequeMark m) {
    int e = m.end != ARENA_LOW;
    if (m.deque != d)
        arena__report(ARENA_ERR_MISUSE, "arena_deque_rewind: the mark belongs to another deque");
    else if (!arena__deque_end_ok(m.end, "arena_deque_rewind: the mark has no such end"))
        return;
    else if (m.life != d->life || m.epoch != d->epoch[e])
        arena__report(ARENA_ERR_MISUSE, "arena_deque_rewind: the mark was taken before a reset of its end, or a release");
    else if (m.used > arena__deque_top(d, e) || arena__deque_cut_below(d, e, m))
        arena__report(ARENA_ERR_MISUSE, "arena_deque_rewind: the mark was already rewound past");
    else if (m.used < arena__deque_top(d, e))
        arena__deque_cut(d, e, m.used);
}

ARENA_DEF void arena_deque_reset(ArenaDeque *d, ArenaEnd end) {
    int e = end != ARENA_LOW;
    if (!arena__deque_end_ok(end, "arena_deque_reset: no such end (ARENA_LOW or ARENA_HIGH)")) return;
    arena__deque_move(d, e, 0);
    d->epoch[e]++;
    d->cut_top[e] = 0;
    d->cut_pos[e] = d->mark_hi[e] = 0;
}

ARENA_DEF void arena_deque_release(ArenaDeque *d) {
    if (d->reserved) arena__deque_unmap(d);
    else if (d->base) ARENA__UNPOISON(d->base, (size_t)(d->top - d->base));   /* back to its owner */
    ARENA_MEMSET(d, 0, sizeof *d);
}

/* ---- snapshots ----------------------------------------------------------------------
   The copy in the store is one allocation: the bytes in use, laid out by
   arena position (a block's bytes at its base), then one record per block
   (newest first) and a copy of each cleanup (newest first). Sanitizer
   builds add a map: how many leading bytes of each ARENA_MIN_ALIGN unit
   were handed out (an allocation starts on a unit, its redzone and padding
   follow it), so that only those are read and they are unpoisoned again
   exactly as they were. */

typedef struct arena__SnapBlock {
    arena__Block *block;
    size_t size, base, cycle, used;
} arena__SnapBlock;

#if ARENA__ASAN || defined(ARENA_VALGRIND)
#define ARENA__SHADOW 1
#if ARENA_MIN_ALIGN > 0xFFFF
#error "arena.h: ARENA_MIN_ALIGN above 65535 in a sanitizer build"
#endif
#else
#define ARENA__SHADOW 0
#endif
typedef unsigned short arena__Unit;

static size_t arena__snap_map_size(size_t bytes) {
    return ARENA__SHADOW ? bytes / ARENA_MIN_ALIGN * sizeof(arena__Unit) : 0;
}

static arena__SnapBlock *arena__snap_blocks(const ArenaSnapshot *s) {
    size_t at = s->bytes + arena__snap_map_size(s->bytes);
    return (arena__SnapBlock *)((char *)s->copy + arena__align_up(at, ARENA_ALIGNOF(arena__SnapBlock)));
}

static arena__Defer *arena__snap_defers(const ArenaSnapshot *s) {
    return (arena__Defer *)(arena__snap_blocks(s) + s->blocks);
}

#if ARENA__SHADOW
/* Handed-out bytes at the start of the unit at p. */
static size_t arena__handed(const char *p) {
#if ARENA__ASAN
    const char *bad = (const char *)__asan_region_is_poisoned((void *)(uintptr_t)p, ARENA_MIN_ALIGN);
    return bad ? (size_t)(bad - p) : ARENA_MIN_ALIGN;
#elif defined(ARENA_VALGRIND)
    unsigned char vbits[ARENA_MIN_ALIGN];
    size_t lo = 0, hi = ARENA_MIN_ALIGN;
    if (VALGRIND_GET_VBITS(p, vbits, ARENA_MIN_ALIGN) != 3) return ARENA_MIN_ALIGN;
    while (lo < hi) {   /* the longest addressable prefix */
        size_t mid = (lo + hi + 1) / 2;
        if (VALGRIND_GET_VBITS(p, vbits, mid) == 1) lo = mid;
        else hi = mid - 1;
    }
    return lo;
#endif
}
#endif

static void arena__snap_save(const char *data, size_t used, char *copy, arena__Unit *map) {
#if ARENA__SHADOW
    size_t off;
    for (off = 0; off < used; off += ARENA_MIN_ALIGN) {
        size_t n = arena__handed(data + off);
        *map++ = (arena__Unit)n;
        if (n) ARENA_MEMCPY(copy + off, data + off, n);
    }
#else
    (void)map;
    if (used) ARENA_MEMCPY(copy, data, used);
#endif
}

/* Puts a block's bytes back; the range must be taken back (poisoned). */
static void arena__snap_load(char *data, size_t used, const char *copy, const arena__Unit *map) {
#if ARENA__SHADOW
    size_t off;
    for (off = 0; off < used; off += ARENA_MIN_ALIGN) {
        size_t n = *map++;
        if (!n) continue;
        ARENA__UNPOISON(data + off, n);
        ARENA_MEMCPY(data + off, copy + off, n);
    }
#else
    (void)map;
    if (used) ARENA_MEMCPY(data, copy, used);
#endif
}

ARENA_DEF bool arena_snapshot(Arena *a, ArenaSnapshot *s, Arena *store) {
    size_t bytes, blocks = 0, defers = 0, total, top, i;
    arena__SnapBlock *rec;
    arena__Defer *dc;
    arena__Block *b;
    arena__Defer *d;
    char *copy;
    if (!a || !s || !store || store == a) {
        arena__report(ARENA_ERR_MISUSE, "arena_snapshot: needs an arena, a snapshot, and another arena as the store");
        return false;
    }
    if (arena__shared(a) || arena__shared(store)) {
        arena__report(ARENA_ERR_MISUSE, "arena_snapshot: a shared arena (ARENA_SHARED) has no snapshots");
        return false;
    }
    bytes = arena__pos(a);
    for (b = a->block; b; b = b->prev) blocks++;
    for (d = a->defers; d; d = d->prev) defers++;
    total = arena__align_up(bytes + arena__snap_map_size(bytes), ARENA_ALIGNOF(arena__SnapBlock)) +
            blocks * sizeof *rec + defers * sizeof *dc;
    copy = (char *)arena_alloc(store, total);
    if (!copy) return false;
    s->arena = a;
    s->state = *a;
    a->cut_serial++;   /* marks taken from now on are told apart (arena_restore) */
    s->copy = copy;
    s->bytes = bytes;
    s->blocks = blocks;
    s->defers = defers;
    rec = arena__snap_blocks(s);
    for (b = a->block, top = bytes, i = 0; b; b = b->prev, i++) {
        rec[i].block = b;
        rec[i].size = b->size;
        rec[i].base = b->base;
        rec[i].cycle = b->cycle;
        rec[i].used = top - b->base;
        arena__snap_save(arena__data(b), rec[i].used, copy + b->base,
                         (arena__Unit *)(copy + bytes) + b->base / ARENA_MIN_ALIGN);
        top = b->base;
    }
    for (d = a->defers, dc = arena__snap_defers(s); d; d = d->prev) *dc++ = *d;
    return true;
}

/* Is b, of this size, still held (in use or kept)? A released buffer is
   its owner's again: not held. */
static bool arena__holds(const Arena *a, const arena__Block *b, size_t size) {
    const arena__Block *x;
    for (x = a->block; x; x = x->prev)
        if (x == b) return x->size == size;
    if (a->kind != ARENA__BUFFER)
        for (x = a->spare; x; x = x->prev)
            if (x == b) return x->size == size;
    return false;
}

/* Runs the cleanups registered since the snapshot: those before it are the
   common tail of the two lists (same node, same cleanup). */
static void arena__run_new_defers(Arena *a, const ArenaSnapshot *s) {
    const arena__Defer *old = arena__snap_defers(s);
    size_t n = 0, i, fresh = 0;
    arena__Defer *d;
    for (d = a->defers; d; d = d->prev) n++;
    for (d = a->defers, i = 0; d; d = d->prev, i++) {
        size_t j = i + s->defers - n;   /* its place in the snapshot's list */
        bool same = i + s->defers >= n &&
                    d == (j ? old[j - 1].prev : s->state.defers) &&
                    d->fn == old[j].fn && d->ctx == old[j].ctx && d->pos == old[j].pos;
        if (!same) fresh = i + 1;
    }
    for (i = 0; i < fresh; i++) {   /* with the arena busy, as every cleanup runs */
        char *end;
        d = a->defers;
        a->defers = d->prev;
        end = arena__enter(a);
        d->fn(d->ctx);
        arena__leave(a, end);
    }
}

/* Takes back what is in use and lists every held block as kept: those in
   use first, oldest first (the order the arena grew through them). */
static arena__Block *arena__detach_all(Arena *a) {
    arena__Block *kept = a->kind == ARENA__BUFFER ? NULL : a->spare, *b = a->block;
    char *top = a->cur;
    while (b) {
        arena__Block *prev = b->prev;
        arena__take_back(arena__data(b), (size_t)(top - arena__data(b)));
        if (prev) top = arena__data(prev) + (b->base - prev->base);
        b->prev = kept;
        kept = b;
        b = prev;
    }
    return kept;
}

static void arena__unlink(arena__Block **list, arena__Block *b) {
    while (*list != b) list = &(*list)->prev;
    *list = b->prev;
}

/* The snapshot's blocks, with their bytes, become the chain again; every
   other held block is kept for reuse; the fields come from the snapshot,
   except those that count what the source gave (memory is never dropped
   or grabbed here). */
static void arena__snap_rebuild(Arena *a, const ArenaSnapshot *s) {
    const arena__SnapBlock *rec = arena__snap_blocks(s);
    const arena__Unit *map = (const arena__Unit *)((const char *)s->copy + s->bytes);
    arena__Block *kept = arena__detach_all(a), *chain = NULL;
    Arena now = *a;
    size_t i;
    for (i = s->blocks; i-- > 0;) {
        arena__Block *b = rec[i].block;
        arena__unlink(&kept, b);
        b->prev = chain;
        b->base = rec[i].base;
        b->cycle = now.cycles;   /* in use in this cycle (see arena__keep_recent) */
        chain = b;
        arena__snap_load(arena__data(b), rec[i].used, (const char *)s->copy + b->base,
                         map + b->base / ARENA_MIN_ALIGN);
    }
    if (!chain && kept && now.kind >= ARENA__BUFFER) {   /* the one block stays, empty */
        chain = kept;
        kept = NULL;
        chain->prev = NULL;
        chain->base = 0;
    }
    *a = s->state;
    a->opt = now.opt;
    a->kind = now.kind;
    a->block = chain;
    a->spare = now.kind == ARENA__BUFFER ? NULL : kept;
    a->cur = chain ? arena__data(chain) + (s->blocks ? rec[0].used : 0) : NULL;
    a->end = !chain ? NULL : now.kind == ARENA__VIRTUAL ? now.end : arena__limit(chain);
    a->next_size = now.next_size;
    a->bytes_held = now.bytes_held;
    a->block_count = now.block_count;
    a->grab_count = now.grab_count;
    a->peak_used = now.peak_used;
    a->cycle_peak = now.cycle_peak > a->cycle_peak ? now.cycle_peak : a->cycle_peak;
    /* Serials only rise: later cut records stay told apart. The marks
       taken since the snapshot (serials after its own, before this one)
       belong to the history undone here: refused from now on, with the
       history the snapshot's arena had already undone (one range: the
       marks between that restore and the snapshot go with it, refused
       rather than ever accepted from an undone history). */
    a->cut_serial = now.cut_serial + 1;
    if (s->state.undone_hi <= s->state.undone_lo + 1) a->undone_lo = s->state.cut_serial;
    a->undone_hi = a->cut_serial;
    a->busy = now.busy;
    a->cycles = now.cycles;   /* reset history: the live arena's */
    ARENA_MEMCPY(a->recent_peaks, now.recent_peaks, sizeof a->recent_peaks);
    a->stack_owned = now.stack_owned;   /* configuration */
}

ARENA_DEF bool arena_restore(Arena *a, const ArenaSnapshot *s) {
    const arena__SnapBlock *rec;
    size_t i;
    if (!a || !s || s->arena != a || a->kind != s->state.kind || arena__shared(a)) {
        arena__report(ARENA_ERR_MISUSE, "arena_restore: the snapshot is not one of this arena");
        return false;
    }
    if (arena__refused(a)) return false;
    rec = arena__snap_blocks(s);
    for (i = 0; i < s->blocks; i++)
        if (!arena__holds(a, rec[i].block, rec[i].size)) {
            arena__report(ARENA_ERR_MISUSE, "arena_restore: the arena gave back a block of the snapshot (release, keep_bytes)");
            return false;
        }
    if (s->blocks && a->kind == ARENA__VIRTUAL) {   /* reset may have decommitted pages */
        char *need = arena__data(a->block) + rec[0].used;
        if (need > a->end && !arena__commit(a, (size_t)(need - a->cur))) return false;
    }
    arena__run_new_defers(a, s);
    arena__note_peak(a);
    arena__snap_rebuild(a, s);
    return true;
}

/* ---- strings: slices and the builder ------------------------------------------------- */

ARENA_DEF ArenaStr arena_str_n(const char *p, size_t len) {
    ArenaStr s;
    s.ptr = p;
    s.len = p ? len : 0;
    return s;
}

ARENA_DEF ArenaStr arena_str(const char *cstr) {
    return arena_str_n(cstr, cstr ? ARENA_STRLEN(cstr) : 0);
}

ARENA_DEF int arena_str_cmp(ArenaStr x, ArenaStr y) {
    size_t n = x.len < y.len ? x.len : y.len, i;
    for (i = 0; i < n; i++) {
        unsigned char cx = (unsigned char)x.ptr[i], cy = (unsigned char)y.ptr[i];
        if (cx != cy) return cx < cy ? -1 : 1;
    }
    return x.len < y.len ? -1 : x.len > y.len;
}

ARENA_DEF bool arena_str_eq(ArenaStr x, ArenaStr y) {
    return x.len == y.len && arena_str_cmp(x, y) == 0;
}

ARENA_DEF ArenaStr arena_str_copy(Arena *a, ArenaStr s) {
    ArenaBuilder b = arena_builder(a);
    if (!arena_builder_append(&b, s.ptr, s.len) || !arena_builder_finish(&b))
        return arena_str_n(NULL, 0);
    return arena_str_n(b.data, b.len);
}

static bool arena__builder_ok(const ArenaBuilder *b, const char *msg) {
    if (b && b->arena) return true;
    arena__report(ARENA_ERR_MISUSE, msg);
    return false;
}

ARENA_DEF bool arena_builder_append(ArenaBuilder *b, const void *bytes, size_t n) {
    if (!arena__builder_ok(b, "arena_builder_append: the builder has no arena")) return false;
    if (!bytes && n) {
        arena__report(ARENA_ERR_MISUSE, "arena_builder_append: the bytes are NULL");
        return false;
    }
    if (n == SIZE_MAX || !arena__builder_reserve(b, n + 1)) {   /* + 1: room for the NUL */
        if (n == SIZE_MAX) arena__report(ARENA_ERR_OVERFLOW, "arena_builder: the string would exceed PTRDIFF_MAX");
        return false;
    }
    if (n) ARENA_MEMCPY(b->data + b->len, bytes, n);
    b->len += n;
    return true;
}

ARENA_DEF bool arena_builder_append_cstr(ArenaBuilder *b, const char *s) {
    if (!s) {
        arena__report(ARENA_ERR_MISUSE, "arena_builder_append_cstr: the string is NULL");
        return false;
    }
    return arena_builder_append(b, s, ARENA_STRLEN(s));
}

#ifndef ARENA_NO_SPRINTF
ARENA_DEF bool arena_builder_vappendf(ArenaBuilder *b, const char *fmt, va_list ap) {
    if (!arena__builder_ok(b, "arena_builder_appendf: the builder has no arena")) return false;
    if (!fmt) {
        arena__report(ARENA_ERR_MISUSE, "arena_builder_appendf: the format is NULL");
        return false;
    }
    return arena__vappend(b, fmt, ap);
}

ARENA_DEF bool arena_builder_appendf(ArenaBuilder *b, const char *fmt, ...) {
    va_list ap;
    bool ok;
    va_start(ap, fmt);
    ok = arena_builder_vappendf(b, fmt, ap);
    va_end(ap);
    return ok;
}
#endif

ARENA_DEF char *arena_builder_finish(ArenaBuilder *b) {
    if (!arena__builder_ok(b, "arena_builder_finish: the builder has no arena")) return NULL;
    if (!arena__builder_reserve(b, 1)) return NULL;
    b->data[b->len] = '\0';
    if (b->cap > b->len + 1 && arena__is_last(b->arena, b->data, b->cap)) {   /* shrink in place */
        arena__resize(b->arena, b->data, b->cap, b->len + 1, b->len + 1, ARENA_MIN_ALIGN);
        b->cap = b->len + 1;
    }
    return b->data;
}

#endif /* ARENA_IMPLEMENTATION */

/*
   ------------------------------------------------------------------------------
   MIT License

   Copyright (c) 2026 the arena.h authors

   Permission is hereby granted, free of charge, to any person obtaining a copy
   of this software and associated documentation files (the "Software"), to
   deal in the Software without restriction, including without limitation the
   rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
   sell copies of the Software, and to permit persons to whom the Software is
   furnished to do so, subject to the following conditions:

   The above copyright notice and this permission notice shall be included in
   all copies or substantial portions of the Software.

   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
   FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
   AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
   LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
   FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
   IN THE SOFTWARE.
   ------------------------------------------------------------------------------
*/
