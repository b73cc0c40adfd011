/* test_clients.c - Lua, expat, SQLite and stb_ds on a PoolHeap, each
   through its own hooks, give exactly what they give on malloc; a Lua
   state on a capped heap survives its runaway script's memory error and
   keeps working once the script's objects are collected.
   Run by `make test-clients` (plain, ASan+UBSan, Valgrind). */
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <lua5.4/lua.h>
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../../pool.h"
#include "client.h"

static int passed, failed, failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)

static void run(const char *name, void (*fn)(void)) {
    failures = 0;
    fn();
    if (failures) {
        failed++;
        printf("FAIL %s\n", name);
    } else {
        passed++;
    }
}

/* ---- the two allocators --------------------------------------------------- */

static void *m_alloc(void *c, size_t n) { (void)c; return malloc(n); }
static void *m_realloc(void *c, void *p, size_t n) { (void)c; return realloc(p, n); }
static void m_free(void *c, void *p) { (void)c; free(p); }
static size_t m_size(void *c, const void *p) { (void)c; return malloc_usable_size((void *)(uintptr_t)p); }
static const ClAlloc on_malloc = {m_alloc, m_realloc, m_free, m_size, NULL};

static void *h_alloc(void *c, size_t n) { return pool_heap_alloc((PoolHeap *)c, n); }
static void *h_realloc(void *c, void *p, size_t n) { return pool_heap_realloc((PoolHeap *)c, p, n); }
static void h_free(void *c, void *p) { pool_heap_free((PoolHeap *)c, p); }
static size_t h_size(void *c, const void *p) { return pool_heap_size((PoolHeap *)c, p); }

static ClAlloc on_heap(PoolHeap *h) {
    ClAlloc a;
    a.alloc = h_alloc;
    a.realloc = h_realloc;
    a.free = h_free;
    a.size = h_size;
    a.ctx = h;
    return a;
}

/* Misuse would be printed by the default handler; the tests want none. */
static int errors;
static void count_error(ArenaError e, const char *msg, void *ctx) {
    (void)ctx;
    if (e != ARENA_ERR_OOM) {
        errors++;
        fprintf(stderr, "unexpected error: %s\n", msg);
    }
}

/* The workload on malloc and on a fresh PoolHeap: the same digest, every
   allocation freed by the client itself, no misuse reported. */
static void same_on_heap(uint64_t (*work)(const ClAlloc *, int)) {
    PoolHeap h;
    ClAlloc a = on_heap(&h);
    uint64_t want = work(&on_malloc, 1), got;
    pool_heap_init(&h, NULL);
    errors = 0;
    got = work(&a, 1);
    CHECK(want != 0);
    CHECK(got == want);
    CHECK(errors == 0);
    CHECK(pool_heap_stats(&h).live_count == 0);
    CHECK(pool_heap_stats(&h).peak_bytes > 0);
    pool_heap_release(&h);
    CHECK(pool_heap_stats(&h).bytes_held == 0);
}

static void lua_same(void) { same_on_heap(cl_lua); }
static void expat_same(void) { same_on_heap(cl_expat); }
static void sqlite_same(void) { same_on_heap(cl_sqlite); }
static void stbds_same(void) { same_on_heap(cl_stbds); }

/* ---- Lua on a capped heap -------------------------------------------------- */

static const char *const runaway =
    "local t, i = {}, 0\n"
    "while true do i = i + 1; t[i] = string.rep('x', 40 + i % 300) .. i end\n";

static void lua_capped_recovers(void) {
    enum { CAP = 8 << 20 };
    PoolHeap h;
    ArenaOptions o;
    ClAlloc a = on_heap(&h);
    char script[4096], err[256];
    uint64_t want;
    int round;
    lua_State *L, *ref = cl_lua_open(&on_malloc);
    snprintf(script, sizeof script, "local SCALE = 10\n%s", cl_lua_script);
    want = cl_lua_run(ref, script, err, sizeof err);
    lua_close(ref);
    memset(&o, 0, sizeof o);
    o.max_bytes = CAP;
    pool_heap_init(&h, &o);
    L = cl_lua_open(&a);
    CHECK(L != NULL);
    if (!L) return;
    errors = 0;
    for (round = 0; round < 3; round++) {
        err[0] = 0;
        CHECK(cl_lua_run(L, runaway, err, sizeof err) == 0);
        CHECK(strstr(err, "not enough memory") != NULL);
        CHECK(pool_heap_stats(&h).bytes_held <= CAP);
        lua_gc(L, LUA_GCCOLLECT);
        CHECK(cl_lua_run(L, script, err, sizeof err) == want);
    }
    CHECK(errors == 0);
    lua_close(L);
    CHECK(pool_heap_stats(&h).live_count == 0);
    pool_heap_release(&h);
}

int main(void) {
    arena_set_error_handler(count_error, NULL);
    run("lua_same", lua_same);
    run("expat_same", expat_same);
    run("sqlite_same", sqlite_same);
    run("stbds_same", stbds_same);
    run("lua_capped_recovers", lua_capped_recovers);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
