/* test_ring.c - ArenaRing: frames live exactly `frames` frames, ages
   beyond the ring are refused, no source calls once warm, each frame a
   full Arena (defer, marks, sprintf), release gives everything back. */
#include <stdlib.h>
#include "test.h"

void suite_ring(void);

/* One frame: next hands out the same arena, reset, every time. */
TEST(ring_of_one_frame) {
    ArenaRing r;
    Arena *a, *b;
    char *p;
    arena_ring_init(&r, 1, NULL);
    CHECK_NO_ERR();
    a = arena_ring_next(&r);
    CHECK(a != NULL && arena_ring_frame(&r, 0) == a);
    p = (char *)arena_alloc(a, 100);
    CHECK(p != NULL);
    CHECK_EQ(arena_stats(a).bytes_used, (size_t)112 + ARENA__REDZONE);
    b = arena_ring_next(&r);
    CHECK(b == a);
    CHECK_EQ(arena_stats(b).bytes_used, (size_t)0);
    CHECK(arena_ring_frame(&r, 1) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_ring_release(&r);
}

/* Data of frame k is intact through frame k + frames - 1 and reachable
   at its age; at frame k + frames its arena comes back reset. */
TEST(ring_ages_and_lifetimes) {
    enum { F = 3, FRAMES = 12 };
    ArenaRing r;
    unsigned *mark[FRAMES];
    size_t k, age;
    arena_ring_init(&r, F, NULL);
    for (k = 0; k < FRAMES; k++) {
        Arena *a = arena_ring_next(&r);
        CHECK(a != NULL);
        if (!a) return;
        CHECK_EQ(arena_stats(a).bytes_used, (size_t)0);   /* reset: frame k - F's data is gone */
        CHECK_EQ(r.frame_count, k + 1);
        mark[k] = (unsigned *)arena_alloc(a, sizeof(unsigned) * 64);
        CHECK(mark[k] != NULL);
        if (!mark[k]) return;
        test_fill(mark[k], sizeof(unsigned) * 64, (unsigned)k);
        for (age = 0; age < F && age <= k; age++) {
            Arena *old = arena_ring_frame(&r, age);
            CHECK(old != NULL);
            CHECK(test_intact(mark[k - age], sizeof(unsigned) * 64, (unsigned)(k - age)));
            CHECK_EQ(arena_stats(old).bytes_used, arena_stats(a).bytes_used);
            CHECK((char *)mark[k - age] >= (char *)old->block && (char *)mark[k - age] < old->end);
        }
    }
    CHECK_NO_ERR();
    CHECK(arena_ring_frame(&r, F) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(arena_ring_frame(&r, SIZE_MAX) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_ring_release(&r);
}

/* A frame loop at a steady peak: source calls in the first `frames`
   frames only; release gives every block back. */
TEST(ring_warm_makes_no_source_calls) {
    TestSource src;
    ArenaOptions o;
    ArenaRing r;
    size_t k, warm = 0;
    o = test_source_opts(&src, 1024);
    arena_ring_init(&r, 2, &o);
    for (k = 0; k < 200; k++) {
        Arena *a = arena_ring_next(&r);
        size_t i;
        for (i = 0; i < 40; i++) CHECK(arena_alloc(a, 100 + (k % 3) * 8) != NULL);
        if (k == 3) warm = src.grabs;
    }
    CHECK(warm > 0);
    CHECK_EQ(src.grabs, warm);
    arena_ring_release(&r);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_EQ(src.bad_drops, (size_t)0);
    /* usable again after release */
    CHECK(arena_alloc(arena_ring_next(&r), 10) != NULL);
    arena_ring_release(&r);
    CHECK_EQ(src.live, (size_t)0);
    CHECK_NO_ERR();
}

static void ring_count(void *ctx) { (*(int *)ctx)++; }

/* Each frame is a full arena: its cleanups run when the frame comes round
   again (or at release); marks and sprintf work in it. */
TEST(ring_frames_are_full_arenas) {
    ArenaRing r;
    int ran = 0;
    Arena *a;
    ArenaMark m;
    char *s;
    arena_ring_init(&r, 2, NULL);
    a = arena_ring_next(&r);
    CHECK(arena_defer(a, ring_count, &ran));
    m = arena_mark(a);
    s = arena_sprintf(a, "frame %d of %s", 7, "ring");
    CHECK(s && strcmp(s, "frame 7 of ring") == 0);
    arena_rewind(a, m);
    CHECK_EQ(ran, 0);
    arena_ring_next(&r);
    CHECK_EQ(ran, 0);          /* one frame later: still alive */
    arena_ring_next(&r);
    CHECK_EQ(ran, 1);          /* two frames later: its arena was reset */
    CHECK(arena_defer(arena_ring_frame(&r, 1), ring_count, &ran));
    arena_ring_release(&r);
    CHECK_EQ(ran, 2);
    CHECK_NO_ERR();
}

/* Bad frame counts and an uninitialised ring are refused; nothing crashes. */
TEST(ring_bad_init) {
    ArenaRing r;
    memset(&r, 0, sizeof r);
    CHECK(arena_ring_next(&r) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(arena_ring_frame(&r, 0) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_ring_init(&r, 0, NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(arena_ring_next(&r) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_ring_init(&r, ARENA_RING_MAX + 1, NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_ring_init(&r, SIZE_MAX, NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_ring_release(&r);
    arena_ring_init(&r, ARENA_RING_MAX, NULL);
    CHECK_NO_ERR();
    CHECK(arena_ring_frame(&r, ARENA_RING_MAX - 1) != NULL);
    CHECK_NO_ERR();
    arena_ring_release(&r);
}

void suite_ring(void) {
    RUN(ring_of_one_frame);
    RUN(ring_ages_and_lifetimes);
    RUN(ring_warm_makes_no_source_calls);
    RUN(ring_frames_are_full_arenas);
    RUN(ring_bad_init);
}
