/* test_stack.c - ArenaStack: LIFO push/pop, refused misordered pops,
   alignment, buffers, blocks, reset/release, failing sources. */
#include <stdlib.h>
#include "test.h"

void suite_stack(void);

static size_t used_of(const ArenaStack *s) { return arena_stats(&s->arena).bytes_used; }

/* A little deterministic generator so the stress tests repeat exactly. */
static unsigned stack_rng(unsigned *state) {
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fffu;
}

/* Every size below, at every power-of-two alignment up to 4096, pushed and
   filled; checked, then popped newest first while the rest stay intact. */
TEST(stack_lifo_sizes_and_alignments) {
    static const size_t sizes[] = { 0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100,
                                    255, 257, 1000, 4095, 4097, 20000, 70000 };
    enum { NS = sizeof sizes / sizeof sizes[0], NA = 13, N = NS * NA };
    void *ptr[N];
    size_t len[N];
    ArenaStack s;
    size_t i, k = 0;
    memset(&s, 0, sizeof s);
    for (i = 0; i < NS; i++) {
        size_t j;
        for (j = 0; j < NA; j++) {
            size_t align = (size_t)1 << j;                 /* 1 .. 4096 */
            size_t before = s.depth;
            void *p = arena_stack_push_aligned(&s, sizes[i], align);
            CHECK(p != NULL);
            if (!p) return;
            CHECK(test_is_aligned(p, align));
            CHECK(test_is_aligned(p, sizeof(void *)));
            CHECK_EQ(s.depth, before + 1);
            CHECK(s.top == p);
            test_fill(p, sizes[i], (unsigned)k);
            ptr[k] = p;
            len[k] = sizes[i];
            k++;
        }
    }
    /* plain push: aligned for any type */
    {
        void *p = arena_stack_push(&s, 24);
        CHECK(p != NULL && test_is_aligned(p, 16));
        CHECK(arena_stack_pop(&s, p));
    }
    CHECK_EQ(s.depth, (size_t)N);
    for (i = 0; i < N; i++) CHECK(test_holds(ptr[i], len[i], (unsigned)i));
    CHECK(arena_stats(&s.arena).bytes_used > 70000u * 2);
    for (i = N; i-- > 0;) {
        CHECK(s.top == ptr[i]);
        CHECK(arena_stack_pop(&s, ptr[i]));
        CHECK_EQ(s.depth, i);
        if (i % 17 == 0 || i < 20) {
            size_t j;
            for (j = 0; j < i; j++) CHECK(test_holds(ptr[j], len[j], (unsigned)j));
        }
    }
    CHECK_NO_ERR();
    CHECK_EQ(s.depth, (size_t)0);
    CHECK_EQ(used_of(&s), (size_t)0);
    CHECK(s.top == NULL);
    arena_stack_release(&s);
    CHECK_EQ(arena_stats(&s.arena).bytes_held, (size_t)0);
    CHECK_NO_ERR();
}

/* Older pushes keep their bytes while pushes come and go above them. */
TEST(stack_older_contents_survive) {
    ArenaStack s;
    void *a, *b, *c;
    int round;
    memset(&s, 0, sizeof s);
    a = arena_stack_push(&s, 300);
    b = arena_stack_push_aligned(&s, 1000, 256);
    CHECK(a && b);
    if (!a || !b) return;
    test_fill(a, 300, 1);
    test_fill(b, 1000, 2);
    for (round = 0; round < 50; round++) {
        size_t n = (size_t)(round * 977 % 9000) + 1;
        size_t al = (size_t)1 << (round % 13);
        c = arena_stack_push_aligned(&s, n, al);
        CHECK(c != NULL);
        if (!c) break;
        memset(c, 0xAB, n);               /* scribble the whole new push */
        CHECK(test_holds(a, 300, 1));
        CHECK(test_holds(b, 1000, 2));
        CHECK(arena_stack_pop(&s, c));
        CHECK(test_holds(a, 300, 1));
        CHECK(test_holds(b, 1000, 2));
    }
    CHECK(arena_stack_pop(&s, b));
    CHECK(test_holds(a, 300, 1));
    /* the next push lands where b was; a still intact after filling it */
    c = arena_stack_push(&s, 5000);
    CHECK(c != NULL);
    if (c) { memset(c, 0x55, 5000); CHECK(arena_stack_pop(&s, c)); }
    CHECK(test_holds(a, 300, 1));
    CHECK(arena_stack_pop(&s, a));
    CHECK_EQ(used_of(&s), (size_t)0);
    CHECK_NO_ERR();
    arena_stack_release(&s);
}

/* Asserts that a refused pop changed nothing. */
#define CHECK_REFUSED(s, p, top_, depth_, used_) do { \
        CHECK(!arena_stack_pop((s), (p))); \
        CHECK_ERR(ARENA_ERR_MISUSE); \
        CHECK_EQ((s)->depth, (depth_)); \
        CHECK((s)->top == (top_)); \
        CHECK_EQ(used_of(s), (used_)); \
    } while (0)

TEST(stack_pop_misuse_changes_nothing) {
    ArenaStack s;
    void *a, *b, *c, *heap;
    int local = 0;
    size_t used;
    memset(&s, 0, sizeof s);

    /* pop on a never-used stack */
    CHECK_REFUSED(&s, NULL, (void *)NULL, (size_t)0, (size_t)0);
    CHECK_REFUSED(&s, &local, (void *)NULL, (size_t)0, (size_t)0);

    a = arena_stack_push(&s, 40);
    b = arena_stack_push(&s, 4000);
    c = arena_stack_push_aligned(&s, 64, 64);
    CHECK(a && b && c);
    if (!a || !b || !c) return;
    test_fill(a, 40, 11);
    test_fill(b, 4000, 12);
    test_fill(c, 64, 13);
    used = used_of(&s);
    heap = malloc(64);

    CHECK_REFUSED(&s, a, c, (size_t)3, used);              /* an older push */
    CHECK_REFUSED(&s, b, c, (size_t)3, used);              /* the one below */
    CHECK_REFUSED(&s, &local, c, (size_t)3, used);         /* stack pointer */
    CHECK_REFUSED(&s, heap, c, (size_t)3, used);           /* heap pointer */
    CHECK_REFUSED(&s, NULL, c, (size_t)3, used);           /* NULL */
    CHECK_REFUSED(&s, (char *)c + 1, c, (size_t)3, used);  /* interior */
    CHECK_REFUSED(&s, (char *)c + 16, c, (size_t)3, used);
    CHECK_REFUSED(&s, (char *)c - 16, c, (size_t)3, used); /* c's header side */
    CHECK_REFUSED(&s, (char *)b + 4000, c, (size_t)3, used);
    CHECK(test_holds(a, 40, 11));
    CHECK(test_holds(b, 4000, 12));
    CHECK(test_holds(c, 64, 13));

    /* the newest push is still poppable after all that */
    CHECK(arena_stack_pop(&s, c));
    CHECK_NO_ERR();
    CHECK_EQ(s.depth, (size_t)2);
    used = used_of(&s);
    /* double pop of c (its memory was popped already) */
    CHECK_REFUSED(&s, c, b, (size_t)2, used);
    CHECK_REFUSED(&s, a, b, (size_t)2, used);
    CHECK(test_holds(a, 40, 11));
    CHECK(test_holds(b, 4000, 12));
    CHECK(arena_stack_pop(&s, b));
    CHECK(arena_stack_pop(&s, a));
    CHECK_NO_ERR();
    CHECK_EQ(used_of(&s), (size_t)0);

    /* pop on an emptied stack: the last pointer again, NULL, a stray one */
    CHECK_REFUSED(&s, a, (void *)NULL, (size_t)0, (size_t)0);
    CHECK_REFUSED(&s, NULL, (void *)NULL, (size_t)0, (size_t)0);
    CHECK_REFUSED(&s, heap, (void *)NULL, (size_t)0, (size_t)0);

    /* still usable afterwards */
    a = arena_stack_push(&s, 10);
    CHECK(a != NULL);
    CHECK(arena_stack_pop(&s, a));
    CHECK_NO_ERR();
    free(heap);
    arena_stack_release(&s);
}

/* A pointer popped already, while an older push is on top. */
TEST(stack_double_pop) {
    ArenaStack s;
    void *a, *b;
    size_t used;
    memset(&s, 0, sizeof s);
    a = arena_stack_push(&s, 100);
    CHECK(a != NULL);
    used = used_of(&s);
    b = arena_stack_push(&s, 100);
    CHECK(b != NULL && b != a);
    CHECK(arena_stack_pop(&s, b));
    CHECK_EQ(used_of(&s), used);
    CHECK_REFUSED(&s, b, a, (size_t)1, used);
    CHECK_REFUSED(&s, b, a, (size_t)1, used);
    CHECK(arena_stack_pop(&s, a));
    CHECK_REFUSED(&s, a, (void *)NULL, (size_t)0, (size_t)0);
    CHECK_NO_ERR();
    arena_stack_release(&s);
}

TEST(stack_size_zero) {
    ArenaStack s;
    void *p[16];
    int i, j;
    memset(&s, 0, sizeof s);
    for (i = 0; i < 16; i++) {
        p[i] = i % 2 ? arena_stack_push(&s, 0)
                     : arena_stack_push_aligned(&s, 0, (size_t)1 << i);
        CHECK(p[i] != NULL);
        for (j = 0; j < i; j++) CHECK(p[i] != p[j]);
    }
    CHECK_NO_ERR();
    CHECK_EQ(s.depth, (size_t)16);
    for (i = 16; i-- > 0;) CHECK(arena_stack_pop(&s, p[i]));
    CHECK_NO_ERR();
    CHECK_EQ(s.depth, (size_t)0);
    CHECK_EQ(used_of(&s), (size_t)0);
    arena_stack_release(&s);
}

/* A buffer stack refuses a push that does not fit and stays intact. */
TEST(stack_buffer_full) {
    enum { BUF = 4096 };
    void *buf = malloc(BUF);
    ArenaStack s;
    void *p[64];
    int n = 0, i;
    size_t used;
    CHECK(buf != NULL);
    if (!buf) return;
    CHECK(arena_stack_init_buffer(&s, buf, BUF));
    CHECK_NO_ERR();
    for (;;) {
        void *q;
        used = used_of(&s);
        q = arena_stack_push(&s, 100);
        if (!q) break;
        CHECK(n < 64);
        if (n >= 64) break;
        test_fill(q, 100, (unsigned)n);
        p[n++] = q;
    }
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(n >= 10);
    CHECK_EQ((int)s.depth, n);
    CHECK(s.top == p[n - 1]);
    CHECK_EQ(used_of(&s), used);
    /* too large, at a large alignment, zero-size at a huge alignment */
    CHECK(arena_stack_push(&s, BUF) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(arena_stack_push_aligned(&s, 8, 4096) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK_EQ((int)s.depth, n);
    CHECK(s.top == p[n - 1]);
    CHECK_EQ(used_of(&s), used);
    for (i = 0; i < n; i++) CHECK(test_holds(p[i], 100, (unsigned)i));
    /* pop two and the room is back */
    CHECK(arena_stack_pop(&s, p[n - 1]));
    CHECK(arena_stack_pop(&s, p[n - 2]));
    n -= 2;
    {
        void *q = arena_stack_push(&s, 150);
        CHECK(q != NULL);
        if (q) {
            test_fill(q, 150, 99);
            CHECK(arena_stack_pop(&s, q));
        }
    }
    for (i = n; i-- > 0;) {
        CHECK(test_holds(p[i], 100, (unsigned)i));
        CHECK(arena_stack_pop(&s, p[i]));
    }
    CHECK_NO_ERR();
    CHECK_EQ(used_of(&s), (size_t)0);
    /* a single push as large as fits: the whole buffer is usable again */
    {
        void *q = arena_stack_push(&s, BUF / 2);
        CHECK(q != NULL);
        if (q) CHECK(arena_stack_pop(&s, q));
    }
    CHECK_NO_ERR();
    arena_stack_release(&s);
    CHECK_NO_ERR();
    free(buf);
}

TEST(stack_bad_alignment) {
    static const size_t bad[] = { 0, 3, 5, 6, 24, 48, 100, 4097, 12288 };
    ArenaStack s;
    void *a, *q;
    size_t i, used;
    memset(&s, 0, sizeof s);
    /* on a stack without any block yet */
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q = arena_stack_push_aligned(&s, 16, bad[i]);
        CHECK(q == NULL);
        CHECK_ERR(ARENA_ERR_ALIGN);
        CHECK_EQ(s.depth, (size_t)0);
        CHECK(s.top == NULL);
        CHECK_EQ(used_of(&s), (size_t)0);
    }
    a = arena_stack_push(&s, 32);
    CHECK(a != NULL);
    if (!a) return;
    test_fill(a, 32, 5);
    used = used_of(&s);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q = arena_stack_push_aligned(&s, i * 10, bad[i]);
        CHECK(q == NULL);
        CHECK_ERR(ARENA_ERR_ALIGN);
        CHECK_EQ(s.depth, (size_t)1);
        CHECK(s.top == a);
        CHECK_EQ(used_of(&s), used);
    }
    /* a size that cannot be represented */
    q = arena_stack_push(&s, SIZE_MAX);
    CHECK(q == NULL);
    CHECK(test_err.calls == 1);
    CHECK(test_err.last == ARENA_ERR_OVERFLOW || test_err.last == ARENA_ERR_OOM);
    test_err_clear();
    q = arena_stack_push(&s, SIZE_MAX / 2);
    CHECK(q == NULL);
    CHECK(test_err.calls == 1);
    CHECK(test_err.last == ARENA_ERR_OVERFLOW || test_err.last == ARENA_ERR_OOM);
    test_err_clear();
    CHECK_EQ(s.depth, (size_t)1);
    CHECK(s.top == a);
    CHECK_EQ(used_of(&s), used);
    CHECK(test_holds(a, 32, 5));
    CHECK(arena_stack_pop(&s, a));
    CHECK_NO_ERR();
    CHECK_EQ(used_of(&s), (size_t)0);
    arena_stack_release(&s);
}

/* Thousands of pushes over many small blocks, then all popped: every
   block's memory is reused and nothing is lost (a counting source). */
TEST(stack_deep_across_blocks) {
    enum { N = 3000 };
    static void *ptr[N];
    static size_t len[N];
    TestSource src;
    ArenaOptions opt;
    ArenaStack s;
    size_t i, held_after_first = 0;
    int cycle;
    opt = test_source_opts(&src, 4096);
    arena_stack_init(&s, &opt);
    for (cycle = 0; cycle < 4; cycle++) {
        size_t peak_blocks;
        for (i = 0; i < N; i++) {
            size_t n = (i * 37 + (size_t)cycle) % 700;
            size_t al = (size_t)1 << (i % 8);
            ptr[i] = arena_stack_push_aligned(&s, n, al);
            CHECK(ptr[i] != NULL);
            if (!ptr[i]) return;
            CHECK(test_is_aligned(ptr[i], al));
            len[i] = n;
            test_fill(ptr[i], n, (unsigned)(i + (size_t)cycle));
        }
        peak_blocks = arena_stats(&s.arena).block_count;
        if (cycle == 0) CHECK(peak_blocks >= 4);
        CHECK_EQ(s.depth, (size_t)N);
        for (i = 0; i < N; i++) CHECK(test_holds(ptr[i], len[i], (unsigned)(i + (size_t)cycle)));
        for (i = N; i-- > 0;) {
            CHECK(arena_stack_pop(&s, ptr[i]));
            if (i && i % 97 == 0)
                CHECK(test_holds(ptr[i - 1], len[i - 1], (unsigned)(i - 1 + (size_t)cycle)));
        }
        CHECK_NO_ERR();
        CHECK_EQ(s.depth, (size_t)0);
        CHECK_EQ(used_of(&s), (size_t)0);
        CHECK(arena_stats(&s.arena).block_count <= peak_blocks);
        CHECK_EQ(src.bytes_out, arena_stats(&s.arena).bytes_held);
        if (cycle == 0) held_after_first = arena_stats(&s.arena).bytes_held;
    }
    /* popping everything gives memory back or keeps it for reuse; repeated
       cycles of the same depth must not keep piling up memory */
    CHECK(arena_stats(&s.arena).bytes_held <= 4 * held_after_first + 65536);
    CHECK_EQ(src.bad_drops, (size_t)0);
    arena_stack_release(&s);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bytes_out, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
    CHECK_EQ(src.drops, src.grabs);
    CHECK_NO_ERR();
}

/* Random push/pop against a model of what must be live. */
TEST(stack_random_model) {
    enum { MAXD = 400 };
    static void *ptr[MAXD];
    static size_t len[MAXD];
    static unsigned seed[MAXD];
    TestSource src;
    ArenaOptions opt;
    ArenaStack s;
    unsigned rng = 12345u;
    size_t d = 0;
    int step;
    opt = test_source_opts(&src, 1024);
    opt.max_block_size = 16384;
    arena_stack_init(&s, &opt);
    for (step = 0; step < 6000; step++) {
        unsigned r = stack_rng(&rng);
        if (d < MAXD && (d == 0 || r % 100 < 55)) {
            size_t n = stack_rng(&rng) % 3000;
            size_t al = (size_t)1 << (stack_rng(&rng) % 13);
            void *p = arena_stack_push_aligned(&s, n, al);
            CHECK(p != NULL);
            if (!p) break;
            CHECK(test_is_aligned(p, al));
            test_fill(p, n, (unsigned)step);
            ptr[d] = p; len[d] = n; seed[d] = (unsigned)step;
            d++;
        } else {
            if (d >= 2 && r % 7 == 0) {   /* a wrong pop now and then */
                size_t used = used_of(&s);
                CHECK(!arena_stack_pop(&s, ptr[d - 2]));
                CHECK_ERR(ARENA_ERR_MISUSE);
                CHECK_EQ(used_of(&s), used);
            }
            CHECK(test_holds(ptr[d - 1], len[d - 1], seed[d - 1]));
            CHECK(arena_stack_pop(&s, ptr[d - 1]));
            d--;
            if (d) CHECK(test_holds(ptr[d - 1], len[d - 1], seed[d - 1]));
        }
        CHECK_EQ(s.depth, d);
        if (step % 500 == 0) {
            size_t i;
            for (i = 0; i < d; i++) CHECK(test_holds(ptr[i], len[i], seed[i]));
        }
    }
    while (d) {
        CHECK(arena_stack_pop(&s, ptr[d - 1]));
        d--;
    }
    CHECK_EQ(used_of(&s), (size_t)0);
    CHECK_NO_ERR();
    arena_stack_release(&s);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
}

TEST(stack_reset_release_reuse) {
    TestSource src;
    ArenaOptions opt;
    ArenaStack s;
    void *p[20], *q;
    int i;
    size_t grabs;
    opt = test_source_opts(&src, 2048);
    arena_stack_init(&s, &opt);
    for (i = 0; i < 20; i++) {
        p[i] = arena_stack_push(&s, 500);
        CHECK(p[i] != NULL);
    }
    CHECK(src.grabs >= 2);

    /* reset: everything freed, memory kept */
    arena_stack_reset(&s);
    CHECK_EQ(s.depth, (size_t)0);
    CHECK(s.top == NULL);
    CHECK_EQ(used_of(&s), (size_t)0);
    CHECK_EQ(src.bytes_out, arena_stats(&s.arena).bytes_held);
    CHECK(!arena_stack_pop(&s, p[19]));
    CHECK_ERR(ARENA_ERR_MISUSE);
    for (i = 0; i < 20; i++) {
        p[i] = arena_stack_push(&s, 500);
        CHECK(p[i] != NULL);
        if (p[i]) test_fill(p[i], 500, (unsigned)i);
    }
    for (i = 20; i-- > 0;) {
        CHECK(test_holds(p[i], 500, (unsigned)i));
        CHECK(arena_stack_pop(&s, p[i]));
    }
    CHECK_NO_ERR();

    /* reset with a few pushes, again and again: no more source calls */
    grabs = 0;
    for (i = 0; i < 10; i++) {
        int j;
        for (j = 0; j < 20; j++) CHECK(arena_stack_push(&s, 500) != NULL);
        arena_stack_reset(&s);
        if (i == 2) grabs = src.grabs;
    }
    CHECK_EQ(src.grabs, grabs);

    /* release: everything back to the source */
    q = arena_stack_push(&s, 100);
    CHECK(q != NULL);
    arena_stack_release(&s);
    CHECK_EQ(s.depth, (size_t)0);
    CHECK(s.top == NULL);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bytes_out, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
    CHECK_EQ(arena_stats(&s.arena).bytes_held, (size_t)0);
    CHECK_EQ(arena_stats(&s.arena).block_count, (size_t)0);
    CHECK(!arena_stack_pop(&s, q));
    CHECK_ERR(ARENA_ERR_MISUSE);

    /* reuse after release: still on the same source */
    grabs = src.grabs;
    for (i = 0; i < 20; i++) {
        p[i] = arena_stack_push(&s, 300);
        CHECK(p[i] != NULL);
        if (p[i]) test_fill(p[i], 300, (unsigned)(i + 50));
    }
    CHECK(src.grabs > grabs);
    for (i = 20; i-- > 0;) {
        CHECK(test_holds(p[i], 300, (unsigned)(i + 50)));
        CHECK(arena_stack_pop(&s, p[i]));
    }
    arena_stack_release(&s);
    arena_stack_release(&s);     /* twice is harmless */
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
    CHECK_EQ(src.drops, src.grabs);
    CHECK_NO_ERR();

    /* reset and release on a zeroed stack */
    memset(&s, 0, sizeof s);
    arena_stack_reset(&s);
    arena_stack_release(&s);
    CHECK_NO_ERR();
    CHECK(arena_stack_push(&s, 8) != NULL);
    arena_stack_release(&s);
}

TEST(stack_failing_source) {
    TestSource src;
    ArenaOptions opt;
    ArenaStack s;
    void *p, *q;
    test_source_init(&src);
    src.fail_at = 1;
    memset(&opt, 0, sizeof opt);
    opt.source = test_source(&src);
    opt.block_size = 4096;
    arena_stack_init(&s, &opt);
    p = arena_stack_push(&s, 64);
    CHECK(p == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK_EQ(s.depth, (size_t)0);
    CHECK(s.top == NULL);
    CHECK_EQ(src.live, (size_t)0);
    /* the next grab works */
    p = arena_stack_push(&s, 64);
    CHECK(p != NULL);
    CHECK_NO_ERR();
    if (!p) return;
    test_fill(p, 64, 3);
    /* a push needing a second block, whose grab fails */
    src.fail_at = src.grabs + 1;
    {
        size_t used = used_of(&s);
        q = arena_stack_push(&s, 10000);
        CHECK(q == NULL);
        CHECK_ERR(ARENA_ERR_OOM);
        CHECK_EQ(s.depth, (size_t)1);
        CHECK(s.top == p);
        CHECK_EQ(used_of(&s), used);
        CHECK(test_holds(p, 64, 3));
    }
    q = arena_stack_push(&s, 10000);
    CHECK(q != NULL);
    CHECK_NO_ERR();
    if (q) CHECK(arena_stack_pop(&s, q));
    CHECK(arena_stack_pop(&s, p));
    arena_stack_release(&s);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
    CHECK_NO_ERR();

    /* a capped heap stack behaves the same */
    memset(&opt, 0, sizeof opt);
    opt.block_size = 4096;
    opt.max_bytes = 4096;
    arena_stack_init(&s, &opt);
    p = arena_stack_push(&s, 100);
    CHECK(p != NULL);
    q = arena_stack_push(&s, 8000);
    CHECK(q == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK_EQ(s.depth, (size_t)1);
    CHECK(arena_stack_pop(&s, p));
    CHECK_NO_ERR();
    arena_stack_release(&s);
}

/* Marks of a stack's arena are refused: a rewind under the stack would
   free its pushes while they stay its top (the old code let it happen). */
TEST(stack_arena_marks_refused) {
    ArenaStack s;
    char *x, *y;
    ArenaMark m;
    memset(&s, 0, sizeof s);
    x = (char *)arena_stack_push(&s, 100);
    m = arena_mark(&s.arena);
    y = (char *)arena_stack_push(&s, 200);
    CHECK(x && y);
    if (!x || !y) return;
    test_fill(y, 200, 7);
    arena_rewind(&s.arena, m);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(s.depth, (size_t)2);
    CHECK(s.top == y);
    CHECK(test_holds(y, 200, 7));
    CHECK(arena_stack_pop(&s, y));
    CHECK(arena_stack_pop(&s, x));
    CHECK_NO_ERR();
    arena_stack_release(&s);
}

static int stack_defer_runs;
static void stack_defer(void *ctx) { (void)ctx; stack_defer_runs++; }

/* The arena used directly between pushes and pops: a pop still gives back
   everything since its push and runs the cleanups registered since. */
TEST(stack_arena_used_directly) {
    ArenaStack s;
    char *x, *y, *z;
    size_t before_x, before_y;
    memset(&s, 0, sizeof s);
    stack_defer_runs = 0;
    x = (char *)arena_stack_push(&s, 64);
    before_y = used_of(&s);
    y = (char *)arena_stack_push(&s, 64);
    CHECK(x && y);
    if (!x || !y) return;
    CHECK(arena_alloc(&s.arena, 500) != NULL);
    CHECK(arena_defer(&s.arena, stack_defer, NULL));
    CHECK(arena_stack_pop(&s, y));
    CHECK_EQ(stack_defer_runs, 1);
    CHECK_EQ(used_of(&s), before_y);
    /* again below the bottom push's neighbour: direct use, then a push */
    CHECK(arena_defer(&s.arena, stack_defer, NULL));
    z = (char *)arena_stack_push(&s, 32);
    CHECK(z != NULL);
    CHECK(arena_stack_pop(&s, z));
    CHECK_EQ(stack_defer_runs, 1);
    before_x = 0;
    CHECK(arena_stack_pop(&s, x));
    CHECK_EQ(stack_defer_runs, 2);
    CHECK_EQ(used_of(&s), before_x);
    CHECK_NO_ERR();
    arena_stack_release(&s);
}

/* peak_used counts the highest top, also when pops are inline. */
TEST(stack_peak_counted) {
    ArenaStack s;
    void *p[8];
    size_t top = 0;
    int i, round;
    memset(&s, 0, sizeof s);
    for (round = 0; round < 3; round++) {
        for (i = 0; i < 8; i++) {
            p[i] = arena_stack_push(&s, (size_t)(round + 1) * 500);
            CHECK(p[i] != NULL);
        }
        if (used_of(&s) > top) top = used_of(&s);
        for (i = 8; i-- > 0;) CHECK(arena_stack_pop(&s, p[i]));
        CHECK_EQ(arena_stats(&s.arena).peak_used, top);
    }
    CHECK_NO_ERR();
    arena_stack_release(&s);
}

/* Found by fuzz_stack (release build): an inline push made just past a
   cut record, popped out of line after a later push had started a new
   block, left the record's 16 bytes counted (the merge onto the record
   looked at the newest block, not the one the pop goes back into). */
TEST(stack_pop_onto_record_across_blocks) {
    ArenaStack s;
    char *a, *b, *c;
    memset(&s, 0, sizeof s);
    a = (char *)arena_stack_push_aligned(&s, 16, 64);   /* out of line */
    CHECK(a != NULL);
    (void)arena_mark(&s.arena);                         /* pops leave cut records */
    CHECK(arena_stack_pop(&s, a));                      /* a record at 0 */
    CHECK_EQ(used_of(&s), (size_t)0);
    b = (char *)arena_stack_push(&s, 47);               /* inline, just past it */
    c = (char *)arena_stack_push(&s, (size_t)200 << 10);   /* a new block */
    CHECK(b && c);
    if (!b || !c) return;
    (void)arena_mark(&s.arena);
    CHECK(arena_stack_pop(&s, c));
    CHECK(arena_stack_pop(&s, b));                      /* out of line: the arena moved on */
    CHECK_EQ(used_of(&s), (size_t)0);
    b = (char *)arena_stack_push(&s, 47);
    CHECK(b != NULL);
    CHECK(arena_stack_pop(&s, b));
    CHECK_EQ(used_of(&s), (size_t)0);
    CHECK_NO_ERR();
    arena_stack_release(&s);
}

void suite_stack(void) {
    RUN(stack_lifo_sizes_and_alignments);
    RUN(stack_older_contents_survive);
    RUN(stack_pop_misuse_changes_nothing);
    RUN(stack_double_pop);
    RUN(stack_size_zero);
    RUN(stack_buffer_full);
    RUN(stack_bad_alignment);
    RUN(stack_deep_across_blocks);
    RUN(stack_random_model);
    RUN(stack_reset_release_reuse);
    RUN(stack_failing_source);
    RUN(stack_arena_marks_refused);
    RUN(stack_arena_used_directly);
    RUN(stack_peak_counted);
    RUN(stack_pop_onto_record_across_blocks);
}
