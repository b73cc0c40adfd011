/* fs_test.c - arena.h and pool.h with no heap at all (config.h:
   ARENA_NO_MALLOC, ARENA_NO_VIRTUAL, ARENA_NO_THREADS, ARENA_NO_SPRINTF,
   ARENA_LOG and ARENA_ASSERT on the caller's hooks), as on a console or in
   a kernel: arenas, stacks and pools live in caller buffers or on a caller
   ArenaSource carved from one static region; the default (heap) source and
   virtual memory fail cleanly.

   The implementation is fs_impl.o, built freestanding; this program is
   hosted only to print its result ("N passed, N failed") and never gives
   the library a libc function. */
#include <string.h>
#include "config.h"
#include "../../../pool.h"
#include <stdio.h>

/* ---- the hooks of config.h ---------------------------------------------- */

static int log_calls, assert_fails;
static char log_last[200];

void fs_log(const char *msg) {
    size_t i;
    log_calls++;
    for (i = 0; msg[i] && i + 1 < sizeof log_last; i++) log_last[i] = msg[i];
    log_last[i] = '\0';
}

void fs_assert_fail(const char *expr, const char *file, int line) {
    assert_fails++;
    fprintf(stderr, "  ARENA_ASSERT failed: %s (%s:%d)\n", expr, file, line);
}

/* ---- a tiny runner ------------------------------------------------------ */

static int passed, failed, check_failures, err_calls;
static ArenaError err_last;

#define CHECK(c) do { if (!(c)) { check_failures++; \
    fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECK_ERR(e) do { CHECK(err_calls == 1); CHECK(err_last == (e)); err_calls = 0; } while (0)

static void on_error(ArenaError err, const char *msg, void *ctx) {
    (void)msg; (void)ctx;
    err_calls++;
    err_last = err;
}

static void run(const char *name, void (*fn)(void)) {
    check_failures = 0;
    err_calls = 0;
    arena_set_error_handler(on_error, NULL);
    fn();
    arena_set_error_handler(NULL, NULL);
    if (check_failures || err_calls) {
        if (err_calls) fprintf(stderr, "  %d unexpected error reports\n", err_calls);
        failed++;
        fprintf(stderr, "FAIL %s\n", name);
    } else {
        passed++;
    }
}
#define RUN(t) run(#t, t)

static int aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* ---- the caller's memory: static buffers and a page source ------------------ */

#define STATIC_BUF(name, n) static union { long double ld_; long long ll_; void *p_; unsigned char b[n]; } name

/* A source over one static region cut into 64 KiB pages, as a kernel page
   allocator would be: a block is a run of whole pages; drops are checked. */
#define PAGE ((size_t)64 << 10)
#define NPAGES 64
STATIC_BUF(page_mem, NPAGES * ((size_t)64 << 10));
static unsigned char page_used[NPAGES];   /* pages in a run: its length at the start */
typedef struct PageSource { size_t grabs, drops, live, bad_drops, refused; } PageSource;

static void *page_grab(void *ctx, size_t size) {
    PageSource *s = (PageSource *)ctx;
    size_t n = (size + PAGE - 1) / PAGE, i, j;
    s->grabs++;
    for (i = 0; n && i + n <= NPAGES; i++) {
        for (j = 0; j < n && !page_used[i + j]; j++) {}
        if (j == n) {
            for (j = 0; j < n; j++) page_used[i + j] = 1;
            page_used[i] = (unsigned char)n;
            s->live++;
            return page_mem.b + i * PAGE;
        }
    }
    s->refused++;
    return NULL;
}

static void page_drop(void *ctx, void *block, size_t size) {
    PageSource *s = (PageSource *)ctx;
    size_t i = (size_t)((unsigned char *)block - page_mem.b) / PAGE, n = (size + PAGE - 1) / PAGE, j;
    s->drops++;
    if ((unsigned char *)block < page_mem.b || i >= NPAGES || page_mem.b + i * PAGE != block ||
        page_used[i] != n) {
        s->bad_drops++;
        return;
    }
    for (j = 0; j < n; j++) page_used[i + j] = 0;
    s->live--;
}

static ArenaOptions page_options(PageSource *s) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    memset(s, 0, sizeof *s);
    o.source.grab = page_grab;
    o.source.drop = page_drop;
    o.source.ctx = s;
    return o;
}

/* ---- no heap, no virtual memory ------------------------------------------- */

static void no_default_source(void) {
    Arena a;
    ArenaStack s;
    Pool p;
    memset(&a, 0, sizeof a);                  /* the "malloc" arena */
    CHECK(arena_alloc(&a, 16) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(arena_calloc(&a, 4, 4) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(arena_alloc(&a, 0) != NULL);        /* size 0 never needs memory */
    CHECK(arena_stats(&a).bytes_held == 0 && arena_stats(&a).grab_count >= 2);
    arena_reset(&a);
    arena_release(&a);
    arena_init(&a, NULL);
    CHECK(arena_alloc(&a, 1) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    memset(&s, 0, sizeof s);
    CHECK(arena_stack_push(&s, 8) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    POOL_INIT(&p, double);
    CHECK(pool_alloc(&p) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    pool_release(&p);
}

static void no_virtual_memory(void) {
    Arena a;
    CHECK(!arena_init_virtual(&a, (size_t)1 << 20));
    CHECK_ERR(ARENA_ERR_MISUSE);
    /* using it anyway fails, and (like every failure) reports once */
    CHECK(arena_alloc(&a, 8) == NULL);
    CHECK(err_calls == 1);
    err_calls = 0;
    arena_release(&a);
}

/* Scratch arenas have no source without a heap: they fail like the rest. */
static void scratch_without_heap(void) {
    ArenaTemp t = arena_scratch_begin(NULL);
    ArenaTemp u = arena_scratch_begin(t.arena);
    CHECK(t.arena != NULL && u.arena != NULL && t.arena != u.arena);
    CHECK(arena_alloc(t.arena, 32) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    arena_temp_end(u);
    arena_temp_end(t);
    arena_scratch_release();
}

/* ---- arenas in a caller buffer ------------------------------------------------- */

static int defer_runs;
static void count_defer(void *ctx) { defer_runs += *(int *)ctx; }

static void buffer_arena(void) {
    STATIC_BUF(buf, 8192);
    Arena a;
    char *p, *q, *r;
    int one = 1;
    size_t i, n = 0;
    ArenaMark m;
    CHECK(arena_init_buffer(&a, buf.b, sizeof buf.b));
    p = (char *)arena_alloc(&a, 100);
    CHECK(p != NULL && aligned(p, ARENA_MIN_ALIGN));
    CHECK(p >= (char *)buf.b && p + 100 <= (char *)buf.b + sizeof buf.b);
    memset(p, 1, 100);
    q = (char *)arena_alloc_aligned(&a, 64, 256);
    CHECK(q != NULL && aligned(q, 256));
    CHECK(arena_alloc_aligned(&a, 8, 3) == NULL);
    CHECK_ERR(ARENA_ERR_ALIGN);
    m = arena_mark(&a);
    CHECK(arena_defer(&a, count_defer, &one));
    r = arena_strdup(&a, "freestanding");
    CHECK(r != NULL && strcmp(r, "freestanding") == 0);
    r = arena_strndup(&a, "kernel-mode", 6);
    CHECK(r != NULL && strcmp(r, "kernel") == 0);
    r = (char *)arena_memdup(&a, p, 100);
    CHECK(r != NULL && r[99] == 1);
    r = (char *)arena_realloc(&a, r, 100, 300);     /* the newest: in place */
    CHECK(r != NULL && r[99] == 1);
    arena_rewind(&a, m);
    CHECK(defer_runs == 1);
    /* fill it: a full buffer is ARENA_ERR_OOM, never a heap call */
    while (arena_alloc(&a, 100)) n++;
    CHECK(n > 40 && n < 8192 / 100);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(arena_calloc(&a, SIZE_MAX / 2, 4) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    CHECK(arena_alloc(&a, SIZE_MAX) == NULL);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    arena_reset(&a);
    CHECK(arena_stats(&a).bytes_used == 0 && arena_stats(&a).bytes_held == sizeof buf.b);
    for (i = 0; i < n; i++) CHECK(arena_alloc(&a, 100) != NULL);
    arena_release(&a);
    CHECK(arena_alloc(&a, 100) != NULL);            /* the buffer stays usable */
    arena_release(&a);
    /* a buffer too small for the header, a misaligned one */
    CHECK(!arena_init_buffer(&a, buf.b, 8));
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(!arena_init_buffer(&a, buf.b + 1, 100));
    CHECK_ERR(ARENA_ERR_ALIGN);
}

static void buffer_array(void) {
    STATIC_BUF(buf, 4096);
    Arena a;
    ArenaArray(int) arr;
    int i, ok = 1;
    memset(&arr, 0, sizeof arr);
    CHECK(arena_init_buffer(&a, buf.b, sizeof buf.b));
    for (i = 0; i < 500; i++) CHECK(arena_array_push(&a, &arr, i));
    for (i = 0; i < 500; i++) ok &= arr.items[i] == i;
    CHECK(ok && arr.count == 500);
    while (arena_array_push(&a, &arr, 7)) {}        /* until doubling does not fit */
    CHECK(arr.count >= 512 && arr.count < 1024);
    CHECK_ERR(ARENA_ERR_OOM);
    arena_release(&a);
}

static void buffer_stack(void) {
    STATIC_BUF(buf, 4096);
    ArenaStack s;
    void *p[10];
    int i;
    CHECK(arena_stack_init_buffer(&s, buf.b, sizeof buf.b));
    for (i = 0; i < 10; i++) CHECK((p[i] = arena_stack_push(&s, 50)) != NULL);
    CHECK(!arena_stack_pop(&s, p[3]));               /* not LIFO: refused */
    CHECK_ERR(ARENA_ERR_MISUSE);
    for (i = 9; i >= 0; i--) CHECK(arena_stack_pop(&s, p[i]));
    CHECK(s.depth == 0 && arena_stats(&s.arena).bytes_used == 0);
    arena_stack_release(&s);
}

/* ---- arenas on the caller's source ------------------------------------------------ */

static void source_arena(void) {
    PageSource src;
    ArenaOptions o = page_options(&src);
    Arena a;
    size_t i;
    o.max_block_size = 4 * PAGE;
    arena_init(&a, &o);
    for (i = 0; i < 40; i++) {
        char *p = (char *)arena_alloc(&a, 20000);
        CHECK(p != NULL);
        if (p) memset(p, (int)i, 20000);
    }
    CHECK(src.live == arena_stats(&a).block_count && src.live >= 3);
    arena_reset(&a);   /* keeps the blocks this cycle used: no grab to refill */
    CHECK(src.live == arena_stats(&a).block_count);
    {
        size_t grabs = src.grabs;
        for (i = 0; i < 40; i++) CHECK(arena_alloc(&a, 20000) != NULL);
        CHECK(src.grabs == grabs);
    }
    arena_release(&a);
    CHECK(src.live == 0 && src.bad_drops == 0 && src.grabs == src.drops + src.refused);
    /* the region runs out: ARENA_ERR_OOM, and everything still goes back */
    o = page_options(&src);
    arena_init(&a, &o);
    while (arena_alloc(&a, 100000)) {}
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(src.refused == 1);
    arena_release(&a);
    CHECK(src.live == 0 && src.bad_drops == 0);
    /* a cap below the region */
    o = page_options(&src);
    o.max_bytes = 3 * PAGE;
    arena_init(&a, &o);
    while (arena_alloc(&a, 1000)) {}
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(arena_stats(&a).bytes_held <= 3 * PAGE && src.refused == 0);
    arena_release(&a);
    CHECK(src.live == 0);
}

/* ---- pools --------------------------------------------------------------------- */

typedef struct Obj { double x; int id; } Obj;
static int each_count;
static void count_each(void *obj, void *ctx) { (void)obj; (void)ctx; each_count++; }

static void buffer_pool(void) {
    STATIC_BUF(buf, 32768);
    Pool p;
    Obj *o[2000];
    PoolHandle h, h2;
    size_t n = 0, i;
    CHECK(pool_init_buffer(&p, sizeof(Obj), ARENA_ALIGNOF(Obj), buf.b, sizeof buf.b));
    while (n < 2000 && (o[n] = (Obj *)pool_alloc(&p)) != NULL) {
        CHECK(aligned(o[n], ARENA_ALIGNOF(Obj)));
        CHECK((unsigned char *)o[n] >= buf.b && (unsigned char *)(o[n] + 1) <= buf.b + sizeof buf.b);
        o[n]->id = (int)n;
        n++;
    }
    CHECK(n > 32768 / sizeof(Obj) / 2 && n < 2000);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(pool_stats(&p).live == n && pool_stats(&p).capacity == n);
    for (i = 0; i < n; i += 2) CHECK(pool_free(&p, o[i]));
    CHECK(!pool_free(&p, o[0]));                     /* double */
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!pool_free(&p, (char *)o[1] + 1));          /* interior */
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(!pool_free(&p, buf.b));                     /* stray */
    CHECK_ERR(ARENA_ERR_MISUSE);
    each_count = 0;
    pool_each(&p, count_each, NULL);
    CHECK((size_t)each_count == n / 2);
    for (i = 1; i < n; i += 2) CHECK(o[i]->id == (int)i);
    h = pool_alloc_handle(&p);
    CHECK(pool_get(&p, h) != NULL);
    CHECK(pool_free_handle(&p, h));
    CHECK(pool_get(&p, h) == NULL);                   /* stale */
    h2 = pool_alloc_handle(&p);                       /* probably the same slot */
    CHECK(pool_get(&p, h) == NULL && pool_get(&p, h2) != NULL);
    pool_reset(&p);
    CHECK(pool_get(&p, h2) == NULL && pool_stats(&p).live == 0);
    for (i = 0; i < n; i++) CHECK(pool_alloc(&p) != NULL);
    pool_release(&p);
    CHECK(pool_alloc(&p) != NULL);                    /* the buffer stays usable */
    pool_release(&p);
}

static void source_pool(void) {
    PageSource src;
    ArenaOptions o = page_options(&src);
    Pool p;
    void *objs[3000];
    size_t i;
    pool_init_opts(&p, 40, 8, &o);
    for (i = 0; i < 3000; i++) {
        objs[i] = pool_calloc(&p);
        CHECK(objs[i] != NULL && aligned(objs[i], 8));
    }
    CHECK(src.live >= 1 && pool_stats(&p).block_count >= 2);
    for (i = 0; i < 3000; i++) CHECK(pool_owns(&p, objs[i]));
    for (i = 0; i < 3000; i += 3) CHECK(pool_free(&p, objs[i]));
    CHECK(pool_stats(&p).live == 2000);
    pool_release(&p);
    CHECK(src.live == 0 && src.bad_drops == 0);
}

/* ---- ARENA_LOG and ARENA_ASSERT ----------------------------------------------- */

static void log_hook(void) {
    STATIC_BUF(buf, 1024);
    Arena a;
    arena_set_error_handler(NULL, NULL);           /* the default: ARENA_LOG */
    log_calls = 0;
    CHECK(arena_init_buffer(&a, buf.b, sizeof buf.b));
    CHECK(arena_alloc(&a, 4096) == NULL);          /* OOM: quiet */
    CHECK(log_calls == 0);
    {
        ArenaTemp none;
        memset(&none, 0, sizeof none);
        arena_temp_end(none);                      /* misuse: logged */
    }
    CHECK(log_calls == 1 && log_last[0] != '\0');
    arena_set_error_handler(on_error, NULL);
}

/* The second stage without a heap: a two-ended stack in a buffer, a
   snapshot of a buffer arena into a buffer store, a builder. */
static void buffer_lifetimes(void) {
    STATIC_BUF(dbuf, 4096);
    STATIC_BUF(abuf, 4096);
    STATIC_BUF(sbuf, 8192);
    ArenaDeque d;
    Arena a, store;
    ArenaSnapshot s;
    ArenaBuilder b;
    char *lo, *hi, *p;
    CHECK(arena_deque_init_buffer(&d, dbuf.b, sizeof dbuf.b));
    lo = (char *)arena_deque_alloc(&d, ARENA_LOW, 1000);
    hi = (char *)arena_deque_alloc(&d, ARENA_HIGH, 1000);
    CHECK(lo != NULL && hi != NULL && lo + 1000 <= hi);
    CHECK(arena_deque_alloc(&d, ARENA_HIGH, 3000) == NULL);
    CHECK_ERR(ARENA_ERR_OOM);
    CHECK(!arena_deque_init_virtual(&d, 1 << 20));
    CHECK_ERR(ARENA_ERR_MISUSE);
    CHECK(arena_init_buffer(&a, abuf.b, sizeof abuf.b));
    CHECK(arena_init_buffer(&store, sbuf.b, sizeof sbuf.b));
    p = (char *)arena_alloc(&a, 64);
    CHECK(p != NULL);
    if (p) memset(p, 7, 64);
    CHECK(arena_snapshot(&a, &s, &store));
    if (p) memset(p, 0, 64);
    CHECK(arena_alloc(&a, 500) != NULL);
    CHECK(arena_restore(&a, &s));
    CHECK(p && p[0] == 7 && p[63] == 7 && arena_stats(&a).bytes_used == 64);
    b = arena_builder(&a);
    CHECK(arena_builder_append_cstr(&b, "free") && arena_builder_append(&b, "standing!", 8));
    p = arena_builder_finish(&b);
    CHECK(p != NULL && strcmp(p, "freestanding") == 0);
    CHECK(arena_str_eq(arena_str(p), arena_str_n("freestanding!", 12)));
}

int main(void) {
    RUN(no_default_source);
    RUN(no_virtual_memory);
    RUN(scratch_without_heap);
    RUN(buffer_arena);
    RUN(buffer_array);
    RUN(buffer_stack);
    RUN(source_arena);
    RUN(buffer_pool);
    RUN(source_pool);
    RUN(log_hook);
    RUN(buffer_lifetimes);
    if (assert_fails) {
        fprintf(stderr, "FAIL %d ARENA_ASSERT failures\n", assert_fails);
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
