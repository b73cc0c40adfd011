/* main.c - runs every suite (or the tests whose name contains one of the
   arguments) and prints "N passed, N failed"; exits non-zero on any failure. */
#include <stdlib.h>
#include "test.h"

#define SUITES(X) X(arena) X(stack) X(sprintf) X(scratch) X(pool) X(pool_heap) X(bad_input) X(faults) X(cpp) \
                  X(ring) X(deque) X(snapshot) X(builder) X(shared) X(pool_cache)
#define DECLARE(s) void suite_##s(void);
SUITES(DECLARE)

TestErrLog test_err;
int test__check_failures;
static int passed, failed;
static char **filters;   /* NULL-terminated; none: every test */

static void capture(ArenaError err, const char *msg, void *ctx) {
    (void)ctx;
    test_err.calls++;
    test_err.last = err;
    snprintf(test_err.msg, sizeof test_err.msg, "%s", msg ? msg : "");
}

void test_err_clear(void) {
    memset(&test_err, 0, sizeof test_err);
    arena_set_error_handler(capture, NULL);
}

void test__fail(const char *file, int line, const char *what) {
    test__check_failures++;
    fprintf(stderr, "  %s:%d: CHECK failed: %s\n", file, line, what);
}

void test__run(const char *name, void (*fn)(void)) {
    if (filters && *filters) {
        char **f = filters;
        while (*f && !strstr(name, *f)) f++;
        if (!*f) return;
    }
    test_err_clear();
    test__check_failures = 0;
    fn();
    if (test__check_failures) {
        failed++;
        fprintf(stderr, "FAIL %s\n", name);
    } else {
        passed++;
    }
}

static void *source_grab(void *ctx, size_t size) {
    TestSource *s = (TestSource *)ctx;
    s->grabs++;
    if (s->fail_at && s->grabs == s->fail_at) { s->failed++; return NULL; }
    if (s->live == sizeof s->blocks / sizeof s->blocks[0]) return NULL;
    void *p = malloc(size);
    if (!p) return NULL;
    s->blocks[s->live].p = p;
    s->blocks[s->live].size = size;
    s->live++;
    s->bytes_out += size;
    return p;
}

static void source_drop(void *ctx, void *block, size_t size) {
    TestSource *s = (TestSource *)ctx;
    s->drops++;
    for (size_t i = 0; i < s->live; i++) {
        if (s->blocks[i].p != block) continue;
        if (s->blocks[i].size != size) s->bad_drops++;
        s->bytes_out -= s->blocks[i].size;
        s->blocks[i] = s->blocks[--s->live];
        free(block);
        return;
    }
    s->bad_drops++;
}

void test_source_init(TestSource *s) { memset(s, 0, sizeof *s); }

ArenaOptions test_source_opts(TestSource *s, size_t block_size) {
    ArenaOptions o;
    memset(&o, 0, sizeof o);
    test_source_init(s);
    o.source = test_source(s);
    o.block_size = block_size;
    return o;
}

char *test_vsprintf(Arena *a, const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return s;
}

ArenaSource test_source(TestSource *s) {
    ArenaSource src;
    src.grab = source_grab;
    src.drop = source_drop;
    src.ctx = s;
    return src;
}

int main(int argc, char **argv) {
    (void)argc;
    filters = argv + 1;
#define CALL(s) suite_##s();
    SUITES(CALL)
    arena_scratch_release();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
