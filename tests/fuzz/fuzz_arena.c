/* fuzz_arena.c - libFuzzer harness for the Arena of arena.h.

   The input is a sequence of operations on an arena A (on malloc with a
   cap, on malloc uncapped, on a counting source that can fail, on a
   buffer, or on virtual memory) and on a second arena O whose pointers and
   marks serve as foreign ones. A shadow model tracks every live allocation
   (address, size, alignment, position, contents filled with a pattern
   derived from an id), the marks and their validity, and the cleanups
   registered with arena_defer. After every operation:
     - each call's result and error-handler calls match the model: bad
       alignment is ALIGN, a request that cannot fit below PTRDIFF_MAX is
       OVERFLOW, OOM only where the source, cap, buffer or reservation
       can really be short, misuse (foreign, stale or pre-reset marks,
       foreign or stray realloc pointers, NULL arguments) is MISUSE and
       changes nothing; everything else succeeds with no handler call;
     - new allocations are aligned and overlap nothing live;
     - every live allocation still holds its pattern;
     - cleanups ran exactly when the model says, newest first;
     - the stats agree with the source; after release every grabbed block
       was dropped once, with its size.
   A mark is stale exactly when the top went below it since it was taken,
   or the arena was reset, released, re-initialised or zeroed since: every
   stale mark must be refused (long runs of temp scopes included). Per
   input, cleanups and the error handler may call back into A (reset,
   rewind, allocate, release): each such call must be refused once.
   Each operation checks what it touched and one other live allocation;
   everything is checked at the end, so the cost is proportional to the
   operations run (at most MAXOPS per input).
   Any mismatch abort()s.

   -DFUZZ_KNOWN_BUGS tolerates bugs already reported (see fuzz_common.h)
   so that long runs can look for new ones. */
#define ARENA_IMPLEMENTATION
#include "../../arena.h"
#include "fuzz_common.h"

enum { K_HEAP_CAPPED, K_HEAP, K_SOURCE, K_BUFFER, K_VIRTUAL, K_COUNT };
enum { MAXE = 192, MAXM = 24, MAXD = 48, MAXLOG = 256, MAXOPS = 400 };

#define CAP ((size_t)16 << 20)
#define RZ ARENA__REDZONE
#define BUF_BYTES ((size_t)1 << 20)

typedef struct Ent {
    char *p;
    size_t size, align, pos;  /* pos: arena position of p (A only) */
    size_t fill_n;            /* the size it was filled at (it may have been cut since) */
    uint32_t id;
    int other;                /* 1: lives in arena O */
} Ent;

typedef struct Mk {
    ArenaMark m;
    size_t pos;               /* arena position when taken */
    size_t low;               /* lowest the top has been since */
    int dead;                 /* since: 1 reset or release, 2 arena_init* again,
                                 3 zeroed again (Arena a = {0}) */
} Mk;

typedef struct Df {
    size_t pos;               /* position when registered */
    int id;
} Df;

typedef union FuzzBuf {
    long double ld;
    void *ptr;
    unsigned char b[BUF_BYTES + 64];
} FuzzBuf;

static struct {
    Arena a, o;
    int kind, bounded;        /* bounded: keep requests small (uncapped malloc) */
    size_t cap;               /* K_HEAP_CAPPED / K_SOURCE: max_bytes (0: none) */
    size_t room;              /* K_BUFFER: buffer bytes, K_VIRTUAL: reservation (0: init failed) */
    FuzzSource src;
    Ent e[MAXE];
    size_t ne;
    Mk mk[MAXM];
    size_t nm;
    Df df[MAXD];
    size_t nd;
    int log[MAXLOG];          /* cleanups in the order they ran */
    size_t nlog, nlog_checked;
    uint32_t next_id;
    size_t src_failed_before;
    unsigned op;
    int callbacks;            /* 1: the handler calls back, 2: cleanups do */
    int cb_calls;             /* calls made back into A (each refused once) */
} S;

static FuzzBuf fbuf;
static char stray[256];

static size_t span(size_t n) { return (n + RZ + 15) & ~(size_t)15; }
static size_t pos_a(void) { return arena_stats(&S.a).bytes_used; }
/* The top with a cut record just below it counted (bytes_used does not):
   what decides whether an allocation is the newest. */
static size_t phys_a(void) { return arena__pos(&S.a); }

/* ---- what may fail, and how ---------------------------------------------------- */

/* Must this request be OVERFLOW (it cannot fit below PTRDIFF_MAX)? */
static int must_overflow(size_t size, size_t align) {
    size_t a = align < 16 ? 16 : align;
    return size > (size_t)PTRDIFF_MAX || a > (size_t)PTRDIFF_MAX ||
           size > (size_t)PTRDIFF_MAX - (a - 1);
}

/* May it be OVERFLOW (within headroom of PTRDIFF_MAX)? */
static int may_overflow(size_t size, size_t align) {
    size_t a = align < 16 ? 16 : align, slack = (size_t)1 << 21;
    return must_overflow(size, align) || size > (size_t)PTRDIFF_MAX - slack ||
           a > (size_t)PTRDIFF_MAX - slack - size;
}

/* May A be short of `need` more bytes? (A source failure is checked apart.) */
static int may_oom(size_t need) {
    ArenaStats st = arena_stats(&S.a);
    size_t slack = 4096;
    if (need > (size_t)PTRDIFF_MAX / 2) return 1;
    switch (S.kind) {
    case K_HEAP:
        return 0;
    case K_HEAP_CAPPED:
    case K_SOURCE:
        if (S.kind == K_SOURCE && need + slack > FZ_SRC_LIMIT) return 1;
        if (!S.cap) return 0;
        return st.bytes_held + need + slack > S.cap;
    case K_BUFFER:
    case K_VIRTUAL:
        return S.room < 64 + st.bytes_used + need + slack / 64;
    }
    return 1;
}

/* The outcome of one allocating call: ok, or exactly the right error.
   `need` is the most bytes the call could take from A. */
static void judge_alloc(const void *p, size_t size, size_t align, size_t need, int explicit_align) {
    ArenaError e = fz_take();
    int src_failed = S.src.failed != S.src_failed_before;
    if (explicit_align && !fz_pow2(align)) {
        FUZZ_REQUIRE(!p && e == ARENA_ERR_ALIGN);
        return;
    }
    if (size == 0) {                        /* non-NULL: NULL always means failure */
        FUZZ_REQUIRE(p && e == ARENA_OK);
        return;
    }
    if (must_overflow(size, align)) {
        FUZZ_REQUIRE(!p && e == ARENA_ERR_OVERFLOW);
        return;
    }
    if (p) {
        FUZZ_REQUIRE(e == ARENA_OK);
        FUZZ_REQUIRE(!src_failed);          /* a failed grab is never silent */
        return;
    }
    FUZZ_REQUIRE(e == ARENA_ERR_OOM || e == ARENA_ERR_OVERFLOW);
    if (e == ARENA_ERR_OVERFLOW) FUZZ_REQUIRE(may_overflow(size, align));
    else FUZZ_REQUIRE(src_failed || may_oom(need));
}

/* ---- the model -------------------------------------------------------------------- */

static void check_ent(const Ent *x, int full) {
    FUZZ_REQUIRE(fz_holds(x->p, x->fill_n, x->size, x->id, full));
}

static void check_all(int full) {
    size_t i;
    for (i = 0; i < S.ne; i++) check_ent(&S.e[i], full);
}

/* Records a fresh allocation of A (or O): aligned, overlapping nothing
   live, at the top of A; fills it. */
FZ_NOCOV static Ent *add_ent(void *p, size_t size, size_t align, int other, size_t pos_before) {
    Ent *x;
    size_t i, a = align < 16 ? 16 : align;
    FUZZ_REQUIRE(p != NULL);
    FUZZ_REQUIRE(((uintptr_t)p & (a - 1)) == 0);
    for (i = 0; i < S.ne; i++) FUZZ_REQUIRE(!fz_overlap(p, size, S.e[i].p, S.e[i].size));
    if (!other) {
        FUZZ_REQUIRE((uintptr_t)p < (uintptr_t)stray || (uintptr_t)p >= (uintptr_t)(stray + sizeof stray));
        if (S.kind == K_BUFFER)
            FUZZ_REQUIRE((unsigned char *)p >= fbuf.b && (unsigned char *)p + size <= fbuf.b + sizeof fbuf.b);
    }
    if (S.ne == MAXE) return NULL;          /* not tracked */
    x = &S.e[S.ne++];
    x->p = (char *)p;
    x->size = size;
    x->align = a;
    x->other = other;
    x->id = ++S.next_id;
    x->pos = 0;
    x->fill_n = size;
    if (!other) {
        size_t now = pos_a();
        FUZZ_REQUIRE(now >= span(size) && now - span(size) >= pos_before);
        x->pos = now - span(size);          /* the newest allocation */
    }
    fz_fill(p, size, x->id);
    return x;
}

static void drop_ent(size_t i) { S.e[i] = S.e[--S.ne]; }

/* Is A's entry x its newest allocation (ending at the top)? */
static int is_newest(const Ent *x) {
    return !x->other && x->pos + span(x->size) == phys_a();
}

/* The top went to pos (a rewind): entries above are gone, one across it
   is cut; cleanups registered at or above pos must have run. */
FZ_NOCOV static void model_rewind(size_t pos) {
    size_t i;
    for (i = S.ne; i-- > 0;) {
        Ent *x = &S.e[i];
        if (x->other) continue;
        if (x->pos >= pos) drop_ent(i);
        else if (x->pos + x->size > pos) x->size = pos - x->pos;
    }
    while (S.nd && S.df[S.nd - 1].pos >= pos) {
        S.nd--;
        FUZZ_REQUIRE(S.nlog_checked < S.nlog);
        FUZZ_REQUIRE(S.log[S.nlog_checked] == S.df[S.nd].id);   /* newest first */
        S.nlog_checked++;
    }
}

static void model_drop_all_a(void) {
    size_t i;
    for (i = S.ne; i-- > 0;)
        if (!S.e[i].other) drop_ent(i);
    while (S.nd) {
        S.nd--;
        FUZZ_REQUIRE(S.nlog_checked < S.nlog);
        FUZZ_REQUIRE(S.log[S.nlog_checked] == S.df[S.nd].id);
        S.nlog_checked++;
    }
    for (i = 0; i < S.nm; i++)
        if (!S.mk[i].dead) S.mk[i].dead = 1;   /* (2 stays: from before a re-init) */
}

/* One call back into A, which must be refused (A is busy). */
static void call_back(void *arg) {
    ArenaMark m;
    switch ((uintptr_t)arg % 5) {
    case 0: arena_reset(&S.a); break;
    case 1: arena_release(&S.a); break;
    case 2: FUZZ_REQUIRE(arena_alloc(&S.a, 1 + (uintptr_t)arg % 64) == NULL); break;
    case 3: FUZZ_REQUIRE(!arena_defer(&S.a, call_back, arg)); break;
    default:
        m = arena_mark(&S.a);     /* allowed; the rewind is not */
        arena_rewind(&S.a, S.nm ? S.mk[0].m : m);
        break;
    }
}

static void defer_fn(void *ctx) {
    int id = (int)(intptr_t)ctx;
    FUZZ_REQUIRE(S.nlog < MAXLOG);
    S.log[S.nlog++] = id;
    if (S.callbacks & 2) {
        S.cb_calls++;
        fz_expect_refused_inside(call_back, ctx);
    }
}

static void handler_calls_back(ArenaError err) {
    S.cb_calls++;
    call_back((void *)(uintptr_t)(S.cb_calls + (int)err));
}

/* After every operation. */
static void after_op(void) {
    size_t i, now = pos_a();
    ArenaStats st = arena_stats(&S.a);
    fz_expect_none();
    FUZZ_REQUIRE(S.nlog == S.nlog_checked);         /* no cleanup ran unexpectedly */
    for (i = 0; i < S.nm; i++)
        if (now < S.mk[i].low) S.mk[i].low = now;
    FUZZ_REQUIRE(st.peak_used >= st.bytes_used);
    fz_check_held(st.bytes_held, st.grab_count, S.kind == K_SOURCE ? &S.src : NULL, S.cap);
    if (S.kind == K_SOURCE) FUZZ_REQUIRE(st.block_count == S.src.n);
    if (S.ne) check_ent(&S.e[S.op % S.ne], 0);   /* one more each time; all at the end */
    FUZZ_REQUIRE(fz_cb_reports == S.cb_calls);   /* each call back was refused */
    S.src_failed_before = S.src.failed;
}

/* ---- requests ------------------------------------------------------------------------ */

static size_t rq_size(FuzzIn *in) {
    uint8_t k = in_u8(in);
    static const size_t huge[] = {
        SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,
        (size_t)PTRDIFF_MAX - 65536, (size_t)PTRDIFF_MAX - 65535 - 4096, (size_t)1 << 40,
        (size_t)1 << 32, ((size_t)1 << 31) + 5, (size_t)96 << 20, (size_t)CAP + 1, SIZE_MAX / 2,
        (size_t)PTRDIFF_MAX / 2 + 1 };
    if (k < 8) return 0;
    if (k < 140) return 1 + in_u8(in);
    if (k < 200) return in_u16(in) % 8192;
    if (k < 236 || S.bounded) return ((size_t)in_u16(in) << 3) % (S.bounded ? (size_t)1 << 16 : (size_t)1 << 18);
    return huge[k % (sizeof huge / sizeof huge[0])];
}

static size_t rq_align(FuzzIn *in) {
    size_t a = fz_align(in);
    if (S.bounded && a > ((size_t)1 << 16) && fz_pow2(a)) a = 64;
    return a;
}

/* need: what a request of size at align may take from A */
static size_t need_of(size_t size, size_t align) {
    size_t a = align < 16 ? 16 : align;
    if (size > (size_t)PTRDIFF_MAX || a > (size_t)PTRDIFF_MAX) return SIZE_MAX;
    if (size + a > (size_t)PTRDIFF_MAX) return SIZE_MAX;
    return span(size) + a;
}

/* ---- setup --------------------------------------------------------------------------- */

static void init_a(FuzzIn *in) {
    uint8_t k = in_u8(in);
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    S.kind = k % K_COUNT;
    S.bounded = 0;
    S.cap = 0;
    S.room = 0;
    fz_src_init(&S.src);
    S.src_failed_before = 0;
    switch (S.kind) {
    case K_HEAP_CAPPED:
    case K_SOURCE:
        o.block_size = (size_t)in_u16(in) << (in_u8(in) % 6);
        o.max_block_size = (size_t)in_u16(in) << (in_u8(in) % 10);
        o.keep_bytes = (size_t)in_u16(in) << (in_u8(in) % 10);
        if (S.kind == K_HEAP_CAPPED) {
            o.max_bytes = S.cap = CAP;
            if (in_u8(in) % 4 == 0) {            /* a source with no grab: misuse, malloc */
                o.source.ctx = &S;
                arena_init(&S.a, &o);
                fz_expect(ARENA_ERR_MISUSE);
                break;
            }
        } else {
            uint8_t c = in_u8(in);
            o.max_bytes = S.cap = c < 128 ? 0 : (size_t)(c & 127) << 14;   /* up to 2 MiB */
            o.source = fz_src(&S.src);
            S.src.fail_every = in_u8(in) % 8 == 0 ? 2u + in_u8(in) % 9 : 0;
        }
        arena_init(&S.a, &o);
        fz_expect_none();
        break;
    case K_HEAP:
        memset(&S.a, 0, sizeof S.a);        /* Arena a = {0}; */
        S.bounded = 1;
        break;
    case K_BUFFER: {
        FuzzBufChoice c = fz_buffer(in, fbuf.b, BUF_BYTES, 5, 8, 1);
        bool ok = arena_init_buffer(&S.a, c.buf, c.bytes);
        fz_check_buffer_init(c, ok, fz_take());
        if (ok) {
            FUZZ_REQUIRE(arena_stats(&S.a).bytes_held == c.bytes);
            S.room = c.bytes;
        }
        break;
    }
    case K_VIRTUAL: {
        static const size_t res[] = { 4096, (size_t)64 << 10, (size_t)1 << 20, (size_t)16 << 20,
                                      SIZE_MAX, (size_t)PTRDIFF_MAX };
        size_t r = res[in_u8(in) % 6];
        bool ok = arena_init_virtual(&S.a, r);
        ArenaError e = fz_take();
        if (r > (size_t)PTRDIFF_MAX - 65536) {
            FUZZ_REQUIRE(!ok && e == ARENA_ERR_OVERFLOW);
        } else {
            FUZZ_REQUIRE(ok && e == ARENA_OK);
            S.room = r;
        }
        break;
    }
    }
}

/* Virtual reservations given back: their ASan shadow is reset at the start
   of the next input, so that each input runs as in a fresh process. */
static struct { void *p; size_t n; } released[64];
static size_t nreleased;

static void forget_released(void) {
    while (nreleased) {
        nreleased--;
        fz_unpoison(released[nreleased].p, released[nreleased].n);
    }
}

/* Release A; with a source, every block is back. */
static void release_a(void) {
    if (S.kind == K_VIRTUAL && S.a.block && nreleased < 64) {
        released[nreleased].p = S.a.block;
        released[nreleased].n = S.a.block->size;
        nreleased++;
    }
    arena_release(&S.a);
    model_drop_all_a();
    if (S.kind == K_SOURCE) {
        FUZZ_REQUIRE(S.src.n == 0 && S.src.bytes == 0);
        FUZZ_REQUIRE(arena_stats(&S.a).bytes_held == 0);
        S.src.grabs = 0;                    /* a released arena starts counting again */
    }
    if (S.kind == K_BUFFER && S.room) FUZZ_REQUIRE(arena_stats(&S.a).bytes_held == S.room);
}

/* ---- operations ------------------------------------------------------------------------ */

static void op_alloc(FuzzIn *in, int aligned) {
    size_t size = rq_size(in), align = aligned ? rq_align(in) : 16, before = pos_a();
    void *p = aligned ? arena_alloc_aligned(&S.a, size, align) : arena_alloc(&S.a, size);
    judge_alloc(p, size, align, need_of(size, align), aligned);
    if (p && size) add_ent(p, size, align, 0, before);
    if (!p) FUZZ_REQUIRE(pos_a() == before);
}

static void op_calloc(FuzzIn *in) {
    size_t n, size, before = pos_a(), align;
    int aligned = in_u8(in) & 1;
    uint8_t k = in_u8(in);
    void *p;
    if (k < 16) { n = SIZE_MAX / 3 + (size_t)k; size = 4 + k; }          /* n * size overflows */
    else if (k < 24) { n = (size_t)1 << 33; size = (size_t)1 << 31; }
    else if (k < 28) { n = 0; size = SIZE_MAX; }
    else { n = 1 + in_u8(in) % 64; size = 1 + in_u8(in) * (S.bounded ? 4u : 16u); }
    align = aligned ? rq_align(in) : 16;
    p = aligned ? arena_calloc_aligned(&S.a, n, size, align) : arena_calloc(&S.a, n, size);
    if (size && n > SIZE_MAX / size) {
        ArenaError e = fz_take();
        FUZZ_REQUIRE(!p && (e == ARENA_ERR_OVERFLOW || (aligned && !fz_pow2(align) && e == ARENA_ERR_ALIGN)));
    } else {
        judge_alloc(p, n * size, align, need_of(n * size, align), aligned);
        if (p && n * size) {
            FUZZ_REQUIRE(fz_is_zero(p, n * size));
            add_ent(p, n * size, align, 0, before);
        }
    }
    if (!p) FUZZ_REQUIRE(pos_a() == before);
}

/* realloc of a live entry of A (newest or older), to a new size. */
static void op_realloc(FuzzIn *in) {
    size_t i, before = pos_a(), nsize, keep;
    Ent *x;
    int newest;
    char *q;
    uint8_t k = in_u8(in);
    if (!S.ne) return;
    i = in_u8(in) % S.ne;
    if (k & 1) {                              /* prefer the newest */
        size_t j;
        for (j = 0; j < S.ne; j++) if (is_newest(&S.e[j])) i = j;
    }
    x = &S.e[i];
    if (x->other) return;
    newest = is_newest(x);
    nsize = (k & 6) == 0 ? x->size / 2 : (k & 6) == 2 ? rq_size(in) : x->size + 1 + in_u16(in) % 3000;
    if (S.bounded && nsize > ((size_t)1 << 20)) nsize = x->size + 1;
    keep = x->size < nsize ? x->size : nsize;
    q = (char *)arena_realloc(&S.a, x->p, x->size, nsize);
    judge_alloc(q, nsize, 16, need_of(nsize, 16), 0);
    if (!q) {
        FUZZ_REQUIRE(pos_a() == before);
        return;
    }
    if (!nsize) {                             /* a size-0 pointer, or shrunk to nothing */
        if (q == x->p) x->size = 0;           /* (at the top: maybe right past a cut
                                                 record, which the top does not count) */
        return;
    }
    FUZZ_REQUIRE(fz_holds_range(q, x->fill_n, 0, keep, x->id));
    FUZZ_REQUIRE(((uintptr_t)q & 15) == 0);
    if (q == x->p) {                          /* in place: only the newest may */
        FUZZ_REQUIRE(newest);
        FUZZ_REQUIRE(phys_a() == x->pos + span(nsize) ||   /* + a cut record when it shrank */
                     (nsize < x->size && phys_a() == x->pos + span(nsize) + 16));
        x->size = x->fill_n = nsize;
        fz_fill(q, nsize, x->id);
    } else {
        /* a copy: the old one is left as it was (and stays allocated);
           even the newest one is copied when a cut record lies just
           above it (a rewind past a live inner mark since) */
        check_ent(x, 1);
        add_ent(q, nsize, 16, 0, before);
    }
}

/* realloc of a pointer A never gave: refused, nothing changes. */
static void op_realloc_foreign(FuzzIn *in) {
    size_t before = pos_a(), i;
    void *p = stray + 16 * (in_u8(in) % 8), *q;
    size_t old = 1 + in_u8(in) % 64;
    for (i = 0; i < S.ne; i++)
        if (S.e[i].other && S.e[i].size) { p = S.e[i].p; old = S.e[i].size; break; }
    q = arena_realloc(&S.a, p, old, old + 10);
    FUZZ_REQUIRE(!q);
    fz_expect(ARENA_ERR_MISUSE);
    FUZZ_REQUIRE(pos_a() == before);
}

static void op_realloc_null(FuzzIn *in) {
    size_t size = rq_size(in), before = pos_a();
    void *p = arena_realloc(&S.a, NULL, 0, size);
    judge_alloc(p, size, 16, need_of(size, 16), 0);
    if (p && size) add_ent(p, size, 16, 0, before);
}

static void op_strings(FuzzIn *in) {
    static const char text[] = "the quick brown fox jumps over the lazy dog 0123456789";
    uint8_t k = in_u8(in);
    size_t n = in_u8(in) % sizeof text, before = pos_a();
    char *s;
    size_t len;
    switch (k % 5) {
    case 0: s = arena_strdup(&S.a, text + n); len = strlen(text + n); break;
    case 1: s = arena_strndup(&S.a, text, n); len = n < strlen(text) ? n : strlen(text); break;
    case 2: s = (char *)arena_memdup(&S.a, text, n); len = n; break;
    case 3:                                          /* NULL source: misuse */
        s = k & 8 ? arena_strdup(&S.a, NULL) : (char *)arena_memdup(&S.a, NULL, 1 + n);
        FUZZ_REQUIRE(!s);
        fz_expect(ARENA_ERR_MISUSE);
        FUZZ_REQUIRE(pos_a() == before);
        return;
    default:
        s = arena_strndup(&S.a, NULL, n);
        FUZZ_REQUIRE(!s);
        fz_expect(ARENA_ERR_MISUSE);
        return;
    }
    judge_alloc(s, k % 5 == 2 ? len : len + 1, 16, need_of(len + 1, 16), 0);
    if (!s) { FUZZ_REQUIRE(pos_a() == before); return; }
    if (k % 5 == 2) {
        FUZZ_REQUIRE(memcmp(s, text, len) == 0);
        if (len) add_ent(s, len, 16, 0, before);
    } else {
        FUZZ_REQUIRE(strlen(s) == len && memcmp(s, k % 5 ? text : text + n, len) == 0);
        add_ent(s, len + 1, 16, 0, before);
    }
}

static char *vsp(Arena *a, const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return s;
}

static void op_sprintf(FuzzIn *in) {
    static char want[20000];
    static const char words[] = "abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    uint8_t k = in_u8(in);
    int width = (int)(in_u16(in) % (k & 1 ? 9000u : 600u));
    int prec = (int)(in_u8(in) % sizeof words);
    int num = (int)in_u32(in);
    size_t before = pos_a(), len;
    char *s;
    if (k % 16 == 15) {                               /* NULL format: misuse */
        s = vsp(&S.a, NULL);
        FUZZ_REQUIRE(!s);
        fz_expect(ARENA_ERR_MISUSE);
        FUZZ_REQUIRE(pos_a() == before);
        return;
    }
    switch (k % 3) {
    case 0:
        s = arena_sprintf(&S.a, "%*d|%.*s|%x", width, num, prec, words, (unsigned)num);
        len = (size_t)snprintf(want, sizeof want, "%*d|%.*s|%x", width, num, prec, words, (unsigned)num);
        break;
    case 1:
        s = arena_sprintf(&S.a, "%s", "");
        len = (size_t)snprintf(want, sizeof want, "%s", "");
        break;
    default:
        s = arena_sprintf(&S.a, "<%-*s>%d%c", width, words + prec, num, 'z');
        len = (size_t)snprintf(want, sizeof want, "<%-*s>%d%c", width, words + prec, num, 'z');
        break;
    }
    /* a string that outgrows its block moves, 1.5 times as large, and the
       copies it leaves stay held: up to ~3 x 1.5 x its size in all */
    judge_alloc(s, len + 1, 16, 5 * (len + 1 + STB_SPRINTF_MIN) + 4096, 0);
    if (!s) {
        FUZZ_REQUIRE(pos_a() == before);   /* nothing of it is left in the arena */
        return;
    }
    FUZZ_REQUIRE(strlen(s) == len && memcmp(s, want, len) == 0);
    add_ent(s, len + 1, 16, 0, before);
}

/* The top went down to pos: marks above it are stale from now on. */
static void model_lows(size_t pos) {
    size_t i;
    for (i = 0; i < S.nm; i++)
        if (pos < S.mk[i].low) S.mk[i].low = pos;
}

static void op_mark(void) {
    Mk *m;
    if (S.nm == MAXM) return;
    m = &S.mk[S.nm++];
    if (S.nm & 1) m->m = arena_mark(&S.a);
    else m->m = arena_temp_begin(&S.a).mark;
    m->pos = m->low = pos_a();
    m->dead = 0;
}

/* Rewind to one of our marks, or end a temp; valid ones must work,
   invalid ones must be refused and change nothing. */
static void op_rewind(FuzzIn *in) {
    size_t i, before = pos_a();
    Mk m;
    ArenaError e;
    int valid;
    uint8_t k = in_u8(in);
    if (!S.nm) return;
    i = k & 1 ? S.nm - 1 : in_u8(in) % S.nm;
    m = S.mk[i];
    if (k & 2) {
        ArenaTemp t;
        t.arena = &S.a;
        t.mark = m.m;
        arena_temp_end(t);
    } else {
        arena_rewind(&S.a, m.m);
    }
    e = fz_take();
    /* valid: no reset/release/re-init/zeroing since, the top never went
       below it; anything else is stale and must be refused, exactly */
    valid = !m.dead && m.low >= m.pos && before >= m.pos;
    if (!valid) {
        FUZZ_REQUIRE(e == ARENA_ERR_MISUSE);
        FUZZ_REQUIRE(pos_a() == before);
        return;
    }
    FUZZ_REQUIRE(e == ARENA_OK);
    FUZZ_REQUIRE(pos_a() == m.pos);
    model_rewind(m.pos);
    model_lows(m.pos);
    if (k & 4) S.nm = i + 1;                  /* usually forget the newer marks */
}

/* Many temp scopes in a row at rising positions, some nested, each
   leaving an allocation below the next: stale marks must stay refused
   however many scopes follow. */
static void op_scopes(FuzzIn *in) {
    int n = 1 + in_u8(in) % 40, i;
    uint8_t k = in_u8(in);
    for (i = 0; i < n; i++) {
        size_t before = pos_a(), size = 1 + (size_t)((k + i * 7) % 96);
        void *p = arena_alloc(&S.a, size);
        ArenaTemp t, u;
        judge_alloc(p, size, 16, need_of(size, 16), 0);
        if (!p) return;
        add_ent(p, size, 16, 0, before);
        t = arena_temp_begin(&S.a);
        if (arena_alloc(&S.a, 32) == NULL) { fz_take(); return; }
        if (k & 1) {                          /* a nested scope too */
            u = arena_temp_begin(&S.a);
            if (arena_alloc(&S.a, 16) == NULL) { fz_take(); return; }
            arena_temp_end(u);
            fz_expect_none();
        }
        before = pos_a();
        arena_temp_end(t);
        fz_expect_none();
        FUZZ_REQUIRE(pos_a() == t.mark.pos);
        model_rewind(t.mark.pos);
        model_lows(t.mark.pos);
    }
}

/* Marks of another arena, a zeroed mark, a temp with no arena. */
static void op_rewind_foreign(FuzzIn *in) {
    size_t before = pos_a();
    uint8_t k = in_u8(in);
    ArenaMark m = arena_mark(&S.o);
    if (k % 3 == 1) memset(&m, 0, sizeof m);
    if (k % 3 == 2) {
        ArenaTemp t;
        memset(&t, 0, sizeof t);
        arena_temp_end(t);
    } else {
        arena_rewind(&S.a, m);
    }
    fz_expect(ARENA_ERR_MISUSE);
    FUZZ_REQUIRE(pos_a() == before);
}

static void op_defer(FuzzIn *in) {
    size_t before = pos_a();
    bool ok;
    uint8_t k = in_u8(in);
    if (k % 8 == 7) {
        ok = arena_defer(&S.a, NULL, NULL);
        FUZZ_REQUIRE(!ok);
        fz_expect(ARENA_ERR_MISUSE);
        return;
    }
    if (S.nd == MAXD) return;
    ok = arena_defer(&S.a, defer_fn, (void *)(intptr_t)(S.next_id + 1));
    judge_alloc(ok ? &S : NULL, 32, 16, need_of(32, 16), 0);
    if (ok) {
        S.df[S.nd].pos = before;
        S.df[S.nd].id = (int)++S.next_id;
        S.nd++;
        FUZZ_REQUIRE(pos_a() > before);
    } else {
        FUZZ_REQUIRE(pos_a() == before);
    }
}

static void op_reset(void) {
    arena_reset(&S.a);
    FUZZ_REQUIRE(pos_a() == 0);
    model_drop_all_a();
}

static void op_other(FuzzIn *in) {
    uint8_t k = in_u8(in);
    if (k % 8 == 0) {                       /* its entries die */
        size_t i;
        arena_reset(&S.o);
        for (i = S.ne; i-- > 0;)
            if (S.e[i].other) drop_ent(i);
    } else {
        size_t n = 1 + in_u8(in);
        void *p = arena_alloc(&S.o, n);
        FUZZ_REQUIRE(p != NULL);
        add_ent(p, n, 16, 1, 0);
    }
    fz_expect_none();
}

static void op_zero(FuzzIn *in) {
    size_t before = pos_a(), align = (size_t)1 << (in_u8(in) % 13);
    void *p = in_u8(in) & 1 ? arena_alloc(&S.a, 0) : arena_alloc_aligned(&S.a, 0, align);
    FUZZ_REQUIRE(p != NULL);
    fz_expect_none();
    FUZZ_REQUIRE(pos_a() == before);
}

static void run(FuzzIn *in) {
    fz_unpoison(fbuf.b, sizeof fbuf.b);    /* a new input: the buffer is ours again */
    forget_released();
    memset(&S.o, 0, sizeof S.o);
    S.ne = S.nm = S.nd = S.nlog = S.nlog_checked = 0;
    S.next_id = 0;
    S.cb_calls = 0;
    fz_err_reset();
    init_a(in);
    S.callbacks = in_u8(in) % 4;
    fz_callback = S.callbacks & 1 ? handler_calls_back : NULL;
    after_op();
    for (S.op = 1; in->n && S.op < MAXOPS; S.op++) {
        uint8_t op = in_u8(in);
        switch (op % 25) {
        case 0: case 1: case 2: op_alloc(in, 0); break;
        case 3: case 4: op_alloc(in, 1); break;
        case 5: op_calloc(in); break;
        case 6: case 7: op_realloc(in); break;
        case 8: op_realloc_foreign(in); break;
        case 9: op_realloc_null(in); break;
        case 10: op_strings(in); break;
        case 11: case 12: op_sprintf(in); break;
        case 13: case 14: op_mark(); break;
        case 15: case 16: op_rewind(in); break;
        case 17: op_rewind_foreign(in); break;
        case 18: op_defer(in); break;
        case 19: if (in_u8(in) % 4 == 0) op_reset(); break;
        case 20:
            if (in_u8(in) % 4 == 0) release_a();
            break;
        case 21: op_other(in); break;
        case 22: op_zero(in); break;
        case 23: op_scopes(in); break;
        default: {
            uint8_t k = in_u8(in);
            if (k % 8 == 0) {                 /* start over as another kind */
                size_t i;
                release_a();
                fz_callback = NULL;           /* init failures: no arena to call back into */
                init_a(in);
                fz_callback = S.callbacks & 1 ? handler_calls_back : NULL;
                /* the marks taken before stay in the model: as from
                   before a release, arena_init* must refuse them; a
                   struct zeroed by the caller cannot know them (3) */
                for (i = 0; i < S.nm; i++) S.mk[i].dead = S.kind == K_HEAP ? 3 : 2;
            } else if (S.kind == K_SOURCE) {
                S.src.fail_next = 1;
            }
            break;
        }
        }
        after_op();
    }
    check_all(1);
    release_a();
    arena_release(&S.o);
    fz_expect_none();
    FUZZ_REQUIRE(S.src.n == 0);
}
