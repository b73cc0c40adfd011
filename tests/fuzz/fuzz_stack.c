/* fuzz_stack.c - libFuzzer harness for ArenaStack (arena.h).

   Operations decoded from the input run on a stack S (on malloc, on malloc
   with a cap, on a counting source that can fail, or on a buffer) and on a
   second stack T whose pushes serve as foreign pointers. The model is the
   list of live pushes, newest last, with their sizes, alignments, contents
   (a pattern from an id) and the arena position before each push. After
   every operation:
     - a push succeeds (aligned, distinct, overlapping nothing, the new
       top), or fails with exactly one error of the right kind (ALIGN for a
       bad alignment, OVERFLOW beyond PTRDIFF_MAX, OOM only where the cap,
       the buffer or the source can be short) and changes nothing;
     - popping the top succeeds and gives back exactly what that push took;
       a pop of anything else (an older push, a popped one, a stray or
       foreign pointer, NULL, on an empty stack) is MISUSE, returns false
       and changes nothing;
     - every live push holds its pattern; depth and top match the model;
     - with a source, the stats agree with it, and after release every
       block went back once with its size;
     - S's arena used directly (an allocation, a cleanup) between pushes:
       the pop of the push below frees the allocation and runs the
       cleanup; a rewind to a mark of S's arena is refused once S has
       pushed.
   Per input, the error handler may call back into S (push, pop, reset,
   release): each such call must be refused once. Marks taken on S's arena
   (never rewound) make out-of-line pops leave cut records. Each operation
   checks the pushes it touched and one other; all are checked at the end
   (cost proportional to the operations, at most MAXOPS per input).
   Any mismatch abort()s. */
#define ARENA_IMPLEMENTATION
#include "../../arena.h"
#include "fuzz_common.h"

enum { K_HEAP, K_HEAP_CAPPED, K_SOURCE, K_BUFFER, K_COUNT };
enum { MAXP = 256, MAXOPS = 400 };

#define CAP ((size_t)8 << 20)
#define RZ ARENA__REDZONE
#define BUF_BYTES ((size_t)256 << 10)

typedef struct Push {
    char *p;
    size_t size, align, pos_before, fill_n;
    uint32_t id;
} Push;

typedef union FuzzBuf {
    long double ld;
    void *ptr;
    unsigned char b[BUF_BYTES + 64];
} FuzzBuf;

static struct {
    ArenaStack s, t;
    int kind;
    size_t cap, room;
    FuzzSource src;
    Push e[MAXP];
    size_t ne;
    Push te[64];             /* T's live pushes */
    size_t nte;
    uint32_t next_id;
    size_t src_failed_before;
    unsigned op;
    int cb_calls;            /* calls the handler made back into S */
    int pushed;              /* S pushed since its init or release */
    size_t defer_depth[64];  /* cleanups on S's arena: S.ne when registered */
    size_t ndefer, defer_runs, defer_due;
} S;

static FuzzBuf fbuf;
static char stray[128];

static size_t span(size_t n) { return (n + RZ + 15) & ~(size_t)15; }
static size_t pos_s(void) { return arena_stats(&S.s.arena).bytes_used; }

static int may_oom(size_t need) {
    ArenaStats st = arena_stats(&S.s.arena);
    if (need > (size_t)PTRDIFF_MAX / 2) return 1;
    switch (S.kind) {
    case K_HEAP: return 0;
    case K_HEAP_CAPPED:
    case K_SOURCE:
        if (S.kind == K_SOURCE && need + 4096 > FZ_SRC_LIMIT) return 1;
        if (!S.cap) return 0;
        return st.bytes_held + need + 4096 > S.cap;
    default:
        return S.room < 128 + st.bytes_used + need;
    }
}

static void check_all(int full) {
    size_t i;
    for (i = 0; i < S.ne; i++)
        FUZZ_REQUIRE(fz_holds(S.e[i].p, S.e[i].fill_n, S.e[i].size, S.e[i].id, full));
    for (i = 0; i < S.nte; i++)
        FUZZ_REQUIRE(fz_holds(S.te[i].p, S.te[i].fill_n, S.te[i].size, S.te[i].id, full));
}

/* Cleanups registered above the current depth have run (a pop, reset or
   release went below them), and only those. */
static void defers_due(size_t depth) {
    while (S.ndefer && S.defer_depth[S.ndefer - 1] > depth) {
        S.ndefer--;
        S.defer_due++;
    }
}

static void defers_all(void) {
    S.defer_due += S.ndefer;
    S.ndefer = 0;
}

static void after_op(void) {
    ArenaStats st = arena_stats(&S.s.arena);
    fz_expect_none();
    FUZZ_REQUIRE(S.defer_runs == S.defer_due);
    FUZZ_REQUIRE(S.s.depth == S.ne);
    FUZZ_REQUIRE(S.s.top == (S.ne ? (void *)S.e[S.ne - 1].p : NULL));
    FUZZ_REQUIRE(S.t.depth == S.nte);
    fz_check_held(st.bytes_held, st.grab_count, S.kind == K_SOURCE ? &S.src : NULL, S.cap);
    if (S.kind == K_SOURCE) FUZZ_REQUIRE(st.block_count == S.src.n);
    if (S.ne) {                                      /* the top and one more */
        FUZZ_REQUIRE(fz_holds(S.e[S.ne - 1].p, S.e[S.ne - 1].fill_n, S.e[S.ne - 1].size, S.e[S.ne - 1].id, 0));
        FUZZ_REQUIRE(fz_holds(S.e[S.op % S.ne].p, S.e[S.op % S.ne].fill_n, S.e[S.op % S.ne].size,
                              S.e[S.op % S.ne].id, 0));
    }
    FUZZ_REQUIRE(fz_cb_reports == S.cb_calls);   /* each call back was refused */
    S.src_failed_before = S.src.failed;
}

/* The handler, on a failed push, calls back into S: refused (S is busy). */
static void handler_calls_back(ArenaError err) {
    switch ((unsigned)S.cb_calls++ % 4) {
    case 0: FUZZ_REQUIRE(arena_stack_push(&S.s, 8 + (size_t)err) == NULL); break;
    case 1: FUZZ_REQUIRE(!arena_stack_pop(&S.s, S.s.top)); break;   /* (an empty stack: refused too) */
    case 2: arena_stack_reset(&S.s); break;
    default: arena_stack_release(&S.s); break;
    }
}

static size_t rq_size(FuzzIn *in) {
    uint8_t k = in_u8(in);
    static const size_t huge[] = { SIZE_MAX, SIZE_MAX - 16, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,
                                   (size_t)PTRDIFF_MAX - 70000, (size_t)1 << 40, CAP + 1, (size_t)1 << 31 };
    if (k < 10) return 0;
    if (k < 150) return 1 + in_u8(in);
    if (k < 210) return in_u16(in) % 8192;
    if (k < 240 || S.kind == K_HEAP) return ((size_t)in_u16(in) << 2) % ((size_t)1 << 18);
    return huge[k % (sizeof huge / sizeof huge[0])];
}

static void init_s(FuzzIn *in) {
    uint8_t k = in_u8(in);
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    S.kind = k % K_COUNT;
    S.cap = S.room = 0;
    fz_src_init(&S.src);
    S.src_failed_before = 0;
    switch (S.kind) {
    case K_HEAP:
        memset(&S.s, 0, sizeof S.s);        /* ArenaStack s = {0}; */
        break;
    case K_HEAP_CAPPED:
    case K_SOURCE:
        o.block_size = (size_t)in_u16(in) << (in_u8(in) % 4);
        o.max_block_size = (size_t)in_u16(in) << (in_u8(in) % 8);
        if (S.kind == K_HEAP_CAPPED) {
            o.max_bytes = S.cap = CAP;
        } else {
            uint8_t c = in_u8(in);
            o.max_bytes = S.cap = c < 128 ? 0 : (size_t)(c & 127) << 13;
            o.source = fz_src(&S.src);
            S.src.fail_every = in_u8(in) % 8 == 0 ? 2u + in_u8(in) % 9 : 0;
        }
        arena_stack_init(&S.s, &o);
        fz_expect_none();
        break;
    default: {
        FuzzBufChoice c = fz_buffer(in, fbuf.b, BUF_BYTES, 4, 16, 4);
        bool ok = arena_stack_init_buffer(&S.s, c.buf, c.bytes);
        fz_check_buffer_init(c, ok, fz_take());
        if (ok) S.room = c.bytes;
        break;
    }
    }
}

static void release_s(void) {
    arena_stack_release(&S.s);
    S.ne = 0;
    S.pushed = 0;
    defers_all();
    FUZZ_REQUIRE(S.s.depth == 0 && S.s.top == NULL);
    if (S.kind == K_SOURCE) {
        FUZZ_REQUIRE(S.src.n == 0 && S.src.bytes == 0);
        S.src.grabs = 0;
    }
}

static void op_push(FuzzIn *in, int aligned) {
    size_t size = rq_size(in), align = aligned ? fz_align(in) : 16, before = pos_s(), i;
    size_t a16 = align < 16 ? 16 : align, need;
    char *p;
    ArenaError e;
    if (S.kind == K_HEAP && fz_pow2(align) && align > ((size_t)1 << 16)) align = a16 = 64;
    p = (char *)(aligned ? arena_stack_push_aligned(&S.s, size, align) : arena_stack_push(&S.s, size));
    e = fz_take();
    need = size > (size_t)PTRDIFF_MAX / 2 || a16 > (size_t)PTRDIFF_MAX / 2 ? SIZE_MAX : span(size ? size : 1) + a16 + 64;
    if (aligned && !fz_pow2(align)) {
        FUZZ_REQUIRE(!p && e == ARENA_ERR_ALIGN);
    } else if (size > (size_t)PTRDIFF_MAX || a16 > (size_t)PTRDIFF_MAX || size > (size_t)PTRDIFF_MAX - (a16 - 1)) {
        FUZZ_REQUIRE(!p && e == ARENA_ERR_OVERFLOW);
    } else if (!p) {
        int src_failed = S.src.failed != S.src_failed_before;
        FUZZ_REQUIRE(e == ARENA_ERR_OOM || e == ARENA_ERR_OVERFLOW);
        if (e == ARENA_ERR_OVERFLOW)
            FUZZ_REQUIRE(size > (size_t)PTRDIFF_MAX - ((size_t)1 << 21) - a16);
        else
            FUZZ_REQUIRE(src_failed || may_oom(need));
    } else {
        FUZZ_REQUIRE(e == ARENA_OK);
        FUZZ_REQUIRE(S.src.failed == S.src_failed_before);
    }
    if (!p) {
        FUZZ_REQUIRE(pos_s() == before);
        return;
    }
    S.pushed = 1;
    FUZZ_REQUIRE(((uintptr_t)p & (a16 - 1)) == 0);
    for (i = 0; i < S.ne; i++) {
        FUZZ_REQUIRE(p != S.e[i].p);                    /* distinct, even for size 0 */
        FUZZ_REQUIRE(!fz_overlap(p, size, S.e[i].p, S.e[i].size));
        FUZZ_REQUIRE((uintptr_t)p > (uintptr_t)S.e[i].p || S.kind != K_BUFFER);
    }
    if (S.kind == K_BUFFER)
        FUZZ_REQUIRE((unsigned char *)p >= fbuf.b && (unsigned char *)p + size <= fbuf.b + sizeof fbuf.b);
    if (S.ne == MAXP) {                 /* not tracked: give it back at once */
        FUZZ_REQUIRE(arena_stack_pop(&S.s, p));
        fz_expect_none();
        return;
    }
    S.e[S.ne].p = p;
    S.e[S.ne].size = S.e[S.ne].fill_n = size;
    S.e[S.ne].align = a16;
    S.e[S.ne].pos_before = before;
    S.e[S.ne].id = ++S.next_id;
    fz_fill(p, size, S.next_id);
    S.ne++;
}

static void op_pop_top(void) {
    Push x;
    bool ok;
    if (!S.ne) return;
    x = S.e[S.ne - 1];
    ok = arena_stack_pop(&S.s, x.p);
    FUZZ_REQUIRE(ok);
    fz_expect_none();
    S.ne--;
    FUZZ_REQUIRE(pos_s() == x.pos_before);          /* exactly what the push took */
    defers_due(S.ne);
}

/* A pop the stack must refuse, changing nothing. */
static void refused_pop(void *p) {
    size_t before = pos_s(), depth = S.s.depth;
    void *top = S.s.top;
    bool ok = arena_stack_pop(&S.s, p);
    FUZZ_REQUIRE(!ok);
    fz_expect(ARENA_ERR_MISUSE);
    FUZZ_REQUIRE(pos_s() == before && S.s.depth == depth && S.s.top == top);
}

static void op_pop_bad(FuzzIn *in) {
    uint8_t k = in_u8(in);
    switch (k % 6) {
    case 0:                                          /* an older live push */
        if (S.ne >= 2) refused_pop(S.e[in_u8(in) % (S.ne - 1)].p);
        break;
    case 1:                                          /* pop twice */
        if (S.ne) {
            void *p = S.e[S.ne - 1].p;
            op_pop_top();
            refused_pop(p);
        }
        break;
    case 2:                                          /* stray */
        refused_pop(stray + (k >> 3) % 64);
        break;
    case 3:                                          /* NULL */
        refused_pop(NULL);
        break;
    case 4:                                          /* the other stack's */
        if (S.nte) refused_pop(S.te[S.nte - 1].p);
        break;
    default:                                         /* inside the top, or empty */
        if (S.ne && S.e[S.ne - 1].size > 1) refused_pop(S.e[S.ne - 1].p + 1);
        else if (!S.ne) refused_pop(stray);
        break;
    }
}

static void op_other(FuzzIn *in) {
    uint8_t k = in_u8(in);
    if (k % 4 == 0 && S.nte) {
        FUZZ_REQUIRE(arena_stack_pop(&S.t, S.te[S.nte - 1].p));
        S.nte--;
    } else if (S.nte < 64) {
        size_t n = 1 + in_u8(in);
        char *p = (char *)arena_stack_push(&S.t, n);
        size_t i;
        FUZZ_REQUIRE(p != NULL);
        for (i = 0; i < S.ne; i++) FUZZ_REQUIRE(!fz_overlap(p, n, S.e[i].p, S.e[i].size));
        S.te[S.nte].p = p;
        S.te[S.nte].size = S.te[S.nte].fill_n = n;
        S.te[S.nte].id = ++S.next_id;
        fz_fill(p, n, S.next_id);
        S.nte++;
    }
    fz_expect_none();
}

static void count_defer(void *ctx) { (void)ctx; S.defer_runs++; }

/* S's arena used directly between pushes. */
static void op_direct(FuzzIn *in) {
    uint8_t k = in_u8(in);
    if (k % 3 == 0) {
        size_t n = 1 + in_u8(in), i;
        char *p = (char *)arena_alloc(&S.s.arena, n);
        if (!p) {
            FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM && S.kind != K_HEAP);
            return;
        }
        for (i = 0; i < S.ne; i++) FUZZ_REQUIRE(!fz_overlap(p, n, S.e[i].p, S.e[i].size));
        memset(p, 0x5A, n);
    } else if (k % 3 == 1) {
        if (S.ndefer == 64) return;
        if (arena_defer(&S.s.arena, count_defer, NULL)) S.defer_depth[S.ndefer++] = S.ne;
        else FUZZ_REQUIRE(fz_take() == ARENA_ERR_OOM && S.kind != K_HEAP);
    } else {
        ArenaMark m = arena_mark(&S.s.arena);
        size_t before = pos_s();
        arena_rewind(&S.s.arena, m);
        if (S.pushed) fz_expect(ARENA_ERR_MISUSE);
        FUZZ_REQUIRE(pos_s() == before);
    }
}

static void run(FuzzIn *in) {
    fz_unpoison(fbuf.b, sizeof fbuf.b);
    memset(&S.t, 0, sizeof S.t);
    S.ne = S.nte = 0;
    S.next_id = 0;
    S.cb_calls = 0;
    S.pushed = 0;
    S.ndefer = S.defer_runs = S.defer_due = 0;
    fz_err_reset();
    init_s(in);
    fz_callback = in_u8(in) & 1 ? handler_calls_back : NULL;
    after_op();
    for (S.op = 1; in->n && S.op < MAXOPS; S.op++) {
        uint8_t op = in_u8(in);
        switch (op % 17) {
        case 0: case 1: case 2: op_push(in, 0); break;
        case 3: case 4: op_push(in, 1); break;
        case 5: case 6: case 7: op_pop_top(); break;
        case 8: case 9: op_pop_bad(in); break;
        case 10: op_other(in); break;
        case 11:
            if (in_u8(in) % 4 == 0) {
                arena_stack_reset(&S.s);
                S.ne = 0;
                defers_all();
                FUZZ_REQUIRE(pos_s() == 0);
            } else {
                op_direct(in);
            }
            break;
        case 12:
            if (in_u8(in) % 4 == 0) release_s();
            break;
        case 13:
            if (S.kind == K_SOURCE) S.src.fail_next = 1;
            break;
        case 14:
            if (in_u8(in) % 8 == 0) {
                void (*cb)(ArenaError) = fz_callback;
                release_s();
                fz_callback = NULL;                  /* init failures: no stack to call back into */
                init_s(in);
                fz_callback = cb;
            }
            break;
        case 15:                                     /* a mark above: pops leave cut records */
            arena_mark(&S.s.arena);
            break;
        default: {                                   /* pop several */
            uint8_t n = in_u8(in) % 8;
            while (n-- && S.ne) op_pop_top();
            break;
        }
        }
        after_op();
    }
    check_all(1);
    release_s();
    arena_stack_release(&S.t);
    fz_expect_none();
}
