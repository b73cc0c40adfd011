/* lua_heap.c - a Lua sandbox on a PoolHeap, as a game embeds scripts:
   - one heap per lua_State, capped: a script cannot take more than its
     budget, and a runaway one gets Lua's "not enough memory" error;
   - the state keeps working once the runaway's objects are collected
     (memory freed in one size class serves the others);
   - pool_heap_release frees whatever the state still held, at once.

   Build: cc lua_heap.c $(pkg-config --cflags --libs lua5.4) */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"
#include <stdio.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* Lua's allocator hook: free when nsize is 0, otherwise realloc. PoolHeap
   needs no old size, and a shrinking realloc never fails, as Lua wants. */
static void *heap_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    PoolHeap *heap = (PoolHeap *)ud;
    (void)osize;
    if (nsize == 0) {
        pool_heap_free(heap, ptr);
        return NULL;
    }
    return pool_heap_realloc(heap, ptr, nsize);
}

static void run(lua_State *L, const PoolHeap *heap, const char *what, const char *script) {
    PoolHeapStats s;
    int ok = luaL_dostring(L, script) == LUA_OK;
    s = pool_heap_stats(heap);
    printf("%-10s %-6s %s\n", what, ok ? "ok" : "error", ok ? "" : lua_tostring(L, -1));
    printf("           live %zu allocations, %zu KiB; held %zu KiB; peak %zu KiB\n",
           s.live_count, s.live_bytes >> 10, s.bytes_held >> 10, s.peak_bytes >> 10);
    lua_settop(L, 0);
}

int main(void) {
    PoolHeap heap;
    ArenaOptions opt = {0};
    lua_State *L;

    opt.max_bytes = (size_t)16 << 20;   /* the sandbox's budget: 16 MiB */
    pool_heap_init(&heap, &opt);
    L = lua_newstate(heap_lua_alloc, &heap);
    if (!L) return 1;
    luaL_openlibs(L);

    run(L, &heap, "normal",
        "local t = {} for i = 1, 10000 do t[i] = {id = i, name = 'npc' .. i} end\n"
        "print('  ' .. #t .. ' npcs, last ' .. t[#t].name)");
    run(L, &heap, "runaway",
        "local t, i = {}, 0 while true do i = i + 1 t[i] = string.rep('x', 64 + i % 200) .. i end");
    lua_gc(L, LUA_GCCOLLECT);
    run(L, &heap, "after GC",
        "local s = {} for i = 1, 50000 do s[i] = tostring(i) end\n"
        "print('  still working: ' .. #table.concat(s))");

    lua_close(L);
    pool_heap_release(&heap);   /* anything left: gone at once */
    printf("released: %zu bytes held\n", pool_heap_stats(&heap).bytes_held);
    return 0;
}
