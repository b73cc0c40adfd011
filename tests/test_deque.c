/* test_deque.c - ArenaDeque: two ends on one buffer or reservation, each
   with its own marks and reset; the ends meeting is ARENA_ERR_OOM with
   nothing lost; a mark rewound past (the other end may have grown into
   its range since) is refused. */
#include <stdlib.h>
#include "test.h"

void suite_deque(void);

#if ARENA__ASAN
static int dq_poisoned(const void *p) { return __asan_address_is_poisoned(p); }
#else
static int dq_poisoned(const void *p) { (void)p; return 1; }
#endif

static union { char bytes[8192]; double al; void *alp; } dq_buf;

/* Both ends filled until they meet: the exact fit succeeds, one more byte
   fails with one OOM, and everything already handed out is intact. */
TEST(deque_ends_meet) {
    ArenaDeque d;
    char *low[64], *high[64];
    size_t nl = 0, nh = 0, i, room;
    CHECK(arena_deque_init_buffer(&d, dq_buf.bytes, sizeof dq_buf.bytes));
    CHECK_EQ(arena_deque_room(&d), sizeof dq_buf.bytes);
    for (;;) {
        char *p = (char *)arena_deque_alloc(&d, ARENA_LOW, 100);
        if (!p) break;
        test_fill(p, 100, (unsigned)nl);
        low[nl++] = p;
        p = (char *)arena_deque_alloc(&d, ARENA_HIGH, 200);
        if (!p) break;
        test_fill(p, 200, 1000u + (unsigned)nh);
        high[nh++] = p;
    }
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(nl > 10 && nh > 10);
    room = arena_deque_room(&d);
    CHECK(room < 200 + 16 + ARENA__REDZONE);
    CHECK_EQ(arena_deque_used(&d, ARENA_LOW) + arena_deque_used(&d, ARENA_HIGH) + room,
             sizeof dq_buf.bytes);
    if (room > ARENA__REDZONE) {   /* the exact fit, from the high end */
        size_t n = room - ARENA__REDZONE;
        char *p = (char *)arena_deque_alloc(&d, ARENA_HIGH, n);
        CHECK(p != NULL && p == d.lo);
        CHECK_EQ(arena_deque_room(&d), (size_t)0);
        if (p) memset(p, 0x5A, n);
    }
    CHECK(arena_deque_alloc(&d, ARENA_LOW, 1) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(arena_deque_alloc(&d, ARENA_HIGH, 1) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    for (i = 0; i < nl; i++) CHECK(test_intact(low[i], 100, (unsigned)i));
    for (i = 0; i < nh; i++) CHECK(test_intact(high[i], 200, 1000u + (unsigned)i));
    CHECK_EQ(d.peak_used, sizeof dq_buf.bytes - arena_deque_room(&d));
    arena_deque_release(&d);
    CHECK_NO_ERR();
}

/* Each end's marks and reset leave the other end alone. */
TEST(deque_ends_are_independent) {
    ArenaDeque d;
    ArenaDequeMark ml, mh;
    char *keep_lo, *keep_hi, *tmp_lo, *tmp_hi;
    CHECK(arena_deque_init_buffer(&d, dq_buf.bytes, sizeof dq_buf.bytes));
    keep_lo = (char *)arena_deque_alloc(&d, ARENA_LOW, 300);
    keep_hi = (char *)arena_deque_alloc(&d, ARENA_HIGH, 300);
    CHECK(keep_lo && keep_hi);
    if (!keep_lo || !keep_hi) return;
    CHECK(keep_lo == d.base && keep_hi + 300 + ARENA__REDZONE <= d.top);
    test_fill(keep_lo, 300, 1);
    test_fill(keep_hi, 300, 2);
    ml = arena_deque_mark(&d, ARENA_LOW);
    mh = arena_deque_mark(&d, ARENA_HIGH);
    tmp_lo = (char *)arena_deque_alloc(&d, ARENA_LOW, 500);
    tmp_hi = (char *)arena_deque_alloc(&d, ARENA_HIGH, 500);
    CHECK(tmp_lo && tmp_hi && tmp_lo > keep_lo && tmp_hi < keep_hi);
    arena_deque_rewind(&d, mh);
    CHECK_NO_ERR();
    CHECK(dq_poisoned(tmp_hi));
    CHECK(!ARENA__ASAN || !dq_poisoned(tmp_lo));
    CHECK_EQ(arena_deque_used(&d, ARENA_HIGH), mh.used);
    CHECK(arena_deque_used(&d, ARENA_LOW) > ml.used);
    /* the same range comes back from the high end */
    CHECK(arena_deque_alloc(&d, ARENA_HIGH, 500) == tmp_hi);
    arena_deque_reset(&d, ARENA_LOW);
    CHECK_EQ(arena_deque_used(&d, ARENA_LOW), (size_t)0);
    CHECK(test_intact(keep_hi, 300, 2));
    CHECK(dq_poisoned(keep_lo));
    /* a low mark from before the low reset is stale; the high one is not */
    arena_deque_rewind(&d, ml);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_deque_rewind(&d, mh);
    CHECK_NO_ERR();
    CHECK(test_intact(keep_hi, 300, 2));
    arena_deque_reset(&d, ARENA_HIGH);
    CHECK_EQ(arena_deque_room(&d), sizeof dq_buf.bytes);
    arena_deque_release(&d);
}

/* A low mark taken high up, the low end rewound below it and the high end
   grown down over that range: rewinding to the mark would hand the high
   end's memory to the low end; it is refused and changes nothing. */
TEST(deque_rewind_past_the_other_end) {
    ArenaDeque d, other;
    ArenaDequeMark m, m0;
    char *hi;
    size_t used_hi;
    CHECK(arena_deque_init_buffer(&d, dq_buf.bytes, sizeof dq_buf.bytes));
    m0 = arena_deque_mark(&d, ARENA_LOW);
    CHECK(arena_deque_alloc(&d, ARENA_LOW, 6000) != NULL);
    m = arena_deque_mark(&d, ARENA_LOW);
    arena_deque_rewind(&d, m0);
    hi = (char *)arena_deque_alloc(&d, ARENA_HIGH, 6000);
    CHECK(hi != NULL && hi < d.base + m.used);
    if (!hi) return;
    test_fill(hi, 6000, 9);
    used_hi = arena_deque_used(&d, ARENA_HIGH);
    arena_deque_rewind(&d, m);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK_EQ(arena_deque_used(&d, ARENA_LOW), (size_t)0);
    CHECK_EQ(arena_deque_used(&d, ARENA_HIGH), used_hi);
    CHECK(test_intact(hi, 6000, 9));
    /* a mark of another deque, and one with no such end */
    CHECK(arena_deque_init_buffer(&other, dq_buf.bytes, 64));
    arena_deque_rewind(&d, arena_deque_mark(&other, ARENA_LOW));
    CHECK_ERR(ARENA_ERR_MISUSE);
    m = arena_deque_mark(&d, ARENA_HIGH);
    m.end = (ArenaEnd)7;
    arena_deque_rewind(&d, m);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(arena_deque_alloc(&d, (ArenaEnd)2, 8) == NULL);
    CHECK_ERR(ARENA_ERR_MISUSE);
    arena_deque_reset(&d, (ArenaEnd)2);
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(test_intact(hi, 6000, 9));
    arena_deque_release(&d);
}

/* Every power-of-two alignment from both ends, size 0, bad alignments,
   sizes that overflow, a deque with no memory, bad buffers. */
TEST(deque_sizes_and_alignments) {
    ArenaDeque d;
    size_t j;
    CHECK(arena_deque_init_buffer(&d, dq_buf.bytes, sizeof dq_buf.bytes));
    for (j = 0; j <= 10; j++) {
        size_t align = (size_t)1 << j;
        char *lo = (char *)arena_deque_alloc_aligned(&d, ARENA_LOW, 3, align);
        char *hi = (char *)arena_deque_alloc_aligned(&d, ARENA_HIGH, 3, align);
        CHECK(lo && hi && test_is_aligned(lo, align) && test_is_aligned(hi, align));
        CHECK(test_is_aligned(lo, 16) && test_is_aligned(hi, 16));
        if (lo && hi) { memset(lo, 1, 3); memset(hi, 2, 3); CHECK(lo + 3 <= hi); }
    }
    CHECK_NO_ERR();
    CHECK(arena_deque_alloc(&d, ARENA_LOW, 0) != NULL);
    CHECK(arena_deque_alloc(&d, ARENA_HIGH, 0) != NULL);
    CHECK_NO_ERR();
    CHECK(arena_deque_alloc_aligned(&d, ARENA_LOW, 8, 3) == NULL);
    CHECK_ERR(ARENA_ERR_ALIGN);
    CHECK(arena_deque_alloc_aligned(&d, ARENA_HIGH, 8, 0) == NULL);
    CHECK_ERR(ARENA_ERR_ALIGN);
    CHECK(arena_deque_alloc(&d, ARENA_LOW, SIZE_MAX) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(arena_deque_alloc(&d, ARENA_HIGH, SIZE_MAX / 2) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(arena_deque_alloc_aligned(&d, ARENA_HIGH, 8, (size_t)1 << 20) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    arena_deque_release(&d);
    memset(&d, 0, sizeof d);   /* a zeroed deque has no memory */
    CHECK(arena_deque_alloc(&d, ARENA_LOW, 1) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(arena_deque_alloc(&d, ARENA_HIGH, 0) != NULL);
    CHECK_NO_ERR();
    CHECK(!arena_deque_init_buffer(&d, NULL, 100));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!arena_deque_init_buffer(&d, dq_buf.bytes, 8));
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(!arena_deque_init_buffer(&d, dq_buf.bytes, SIZE_MAX));
    CHECK_ERR(ARENA_ERR_OOM);
    /* a misaligned buffer: the ends start aligned inside it */
    CHECK(arena_deque_init_buffer(&d, dq_buf.bytes + 3, 200));
    CHECK(test_is_aligned(arena_deque_alloc(&d, ARENA_LOW, 1), 16));
    CHECK(test_is_aligned(arena_deque_alloc(&d, ARENA_HIGH, 1), 16));
    arena_deque_release(&d);
    CHECK_NO_ERR();
}

/* One reservation: both ends commit as they grow, far beyond the first
   commit, and meet only at the reservation's size. */
TEST(deque_virtual) {
    ArenaDeque d;
    size_t reserve = (size_t)4 << 20, i, n = 0;
    char *lo[64], *hi[64];
    if (!arena_deque_init_virtual(&d, reserve)) {
        CHECK(0);
        return;
    }
    for (i = 0; i < 64; i++) {
        lo[i] = (char *)arena_deque_alloc(&d, ARENA_LOW, 40000);
        hi[i] = (char *)arena_deque_alloc(&d, ARENA_HIGH, 20000);
        if (!lo[i] || !hi[i]) break;
        test_fill(lo[i], 40000, (unsigned)i);
        test_fill(hi[i], 20000, 100u + (unsigned)i);
        n++;
    }
    CHECK_EQ(n, (size_t)64);
    CHECK_NO_ERR();
    while (arena_deque_alloc(&d, ARENA_HIGH, 50000)) {}
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(arena_deque_room(&d) < 50000 + 16 + ARENA__REDZONE);
    CHECK_EQ(arena_deque_used(&d, ARENA_LOW) + arena_deque_used(&d, ARENA_HIGH) +
             arena_deque_room(&d), reserve);
    for (i = 0; i < n; i++) {
        CHECK(test_intact(lo[i], 40000, (unsigned)i));
        CHECK(test_intact(hi[i], 20000, 100u + (unsigned)i));
    }
    arena_deque_reset(&d, ARENA_HIGH);
    CHECK(arena_deque_alloc(&d, ARENA_HIGH, 1000000) != NULL);
    arena_deque_release(&d);
    CHECK(!arena_deque_init_virtual(&d, SIZE_MAX));
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK_NO_ERR();
}

/* Marks are exact per end, like the arena's: a mark rewound past stays
   refused after its end grows back over it (in either order of two
   marks), a mark of an earlier life of the same struct is refused, and a
   loop of nested temp scopes leaves at most one hidden record per end. */
TEST(deque_marks_are_exact) {
    ArenaDeque d;
    int e;
    for (e = 0; e < 2; e++) {
        ArenaEnd end = e ? ARENA_HIGH : ARENA_LOW;
        ArenaDequeMark m0, m1, m2, inner;
        char *keep;
        size_t used, i;
        CHECK(arena_deque_init_buffer(&d, dq_buf.bytes, sizeof dq_buf.bytes));
        m0 = arena_deque_mark(&d, end);
        keep = (char *)arena_deque_alloc(&d, end, 100);
        CHECK(keep != NULL);
        if (!keep) return;
        test_fill(keep, 100, 5);
        m1 = arena_deque_mark(&d, end);
        CHECK(arena_deque_alloc(&d, end, 100) != NULL);
        m2 = arena_deque_mark(&d, end);
        CHECK(arena_deque_alloc(&d, end, 100) != NULL);
        arena_deque_rewind(&d, m1);          /* m2 is rewound past */
        CHECK_NO_ERR();
        CHECK(arena_deque_alloc(&d, end, 1000) != NULL);   /* grown back over it */
        used = arena_deque_used(&d, end);
        CHECK(used > m2.used);
        arena_deque_rewind(&d, m2);
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK_EQ(arena_deque_used(&d, end), used);
        arena_deque_rewind(&d, m1);          /* older marks still work */
        CHECK_NO_ERR();
        CHECK_EQ(arena_deque_used(&d, end), m1.used);
        CHECK(test_intact(keep, 100, 5));
        /* misordered: the outer mark first, then the inner one */
        m1 = arena_deque_mark(&d, end);
        CHECK(arena_deque_alloc(&d, end, 64) != NULL);
        inner = arena_deque_mark(&d, end);
        CHECK(arena_deque_alloc(&d, end, 64) != NULL);
        arena_deque_rewind(&d, m1);
        CHECK(arena_deque_alloc(&d, end, 500) != NULL);
        used = arena_deque_used(&d, end);
        arena_deque_rewind(&d, inner);
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK_EQ(arena_deque_used(&d, end), used);
        /* ordinary nesting in a loop: no record piles up */
        arena_deque_rewind(&d, m1);
        for (i = 0; i < 1000; i++) {
            ArenaDequeMark outer = arena_deque_mark(&d, end), in2;
            CHECK(arena_deque_alloc(&d, end, 32) != NULL);
            in2 = arena_deque_mark(&d, end);
            CHECK(arena_deque_alloc(&d, end, 32) != NULL);
            arena_deque_rewind(&d, in2);
            arena_deque_rewind(&d, outer);
        }
        CHECK_NO_ERR();
        CHECK_EQ(arena_deque_used(&d, end), m1.used);
        CHECK(arena_deque_room(&d) + 16 >= sizeof dq_buf.bytes - m1.used);
        CHECK(test_intact(keep, 100, 5));
        /* a mark of an earlier life of the same struct */
        arena_deque_release(&d);
        CHECK(arena_deque_init_buffer(&d, dq_buf.bytes, sizeof dq_buf.bytes));
        CHECK(arena_deque_alloc(&d, end, 100) != NULL);
        used = arena_deque_used(&d, end);
        arena_deque_rewind(&d, m0);
        CHECK_ERR(ARENA_ERR_MISUSE);
        CHECK_EQ(arena_deque_used(&d, end), used);
        arena_deque_release(&d);
    }
}

void suite_deque(void) {
    RUN(deque_ends_meet);
    RUN(deque_ends_are_independent);
    RUN(deque_rewind_past_the_other_end);
    RUN(deque_marks_are_exact);
    RUN(deque_sizes_and_alignments);
    RUN(deque_virtual);
}
