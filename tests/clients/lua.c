/* lua.c - Lua 5.4 through lua_newstate's allocator function: tables,
   strings, closures, string building and GC cycles. */
#include <stdio.h>
#include <lua5.4/lua.h>
#include <lua5.4/lauxlib.h>
#include <lua5.4/lualib.h>
#include "client.h"

/* Lua's one hook: free when nsize is 0, else realloc (never fails when
   shrinking: PoolHeap's realloc does not). */
static void *cl_lua_alloc(void *ud, void *p, size_t osize, size_t nsize) {
    const ClAlloc *a = (const ClAlloc *)ud;
    (void)osize;
    if (nsize == 0) {
        a->free(a->ctx, p);
        return NULL;
    }
    return a->realloc(a->ctx, p, nsize);
}

lua_State *cl_lua_open(const ClAlloc *a) {
    lua_State *L = lua_newstate(cl_lua_alloc, (void *)(uintptr_t)a);
    if (L) luaL_openlibs(L);
    return L;
}

/* Runs the script with the scale as its `...`; the digest of the string
   it returns. */
uint64_t cl_lua_run(lua_State *L, const char *script, char *err, size_t err_size) {
    size_t n;
    const char *s;
    uint64_t h;
    if (luaL_loadstring(L, script) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        snprintf(err, err_size, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "(no message)");
        lua_pop(L, 1);
        return 0;
    }
    s = lua_tolstring(L, -1, &n);
    h = s ? cl_hash(CL_HASH_SEED, s, n) : 0;
    lua_pop(L, 1);
    return h;
}

/* Objects of every size: records with closures, strings built and cut,
   arrays grown and dropped, a full collection every few rounds. No pairs()
   over string keys: their order depends on Lua's hash seed. */
const char *const cl_lua_script =
    "local rounds = SCALE\n"
    "local acc, out = 0, {}\n"
    "local function make(n, r)\n"
    "  local t = {}\n"
    "  for i = 1, n do\n"
    "    local k = i * r\n"
    "    t[i] = {id = i, name = 'item' .. k, tags = {k % 7, k % 11, k % 13},\n"
    "            f = function(x) return x + k end}\n"
    "  end\n"
    "  return t\n"
    "end\n"
    "for r = 1, rounds do\n"
    "  local t = make(400 + r % 50, r)\n"
    "  for i = 1, #t do acc = (acc + t[i].f(i) + #t[i].name + t[i].tags[2]) % 1000000007 end\n"
    "  local parts = {}\n"
    "  for i = 1, 300 do parts[#parts + 1] = string.format('%d:%s', i * r, string.rep('x', i % 40)) end\n"
    "  local s = table.concat(parts, ',')\n"
    "  acc = (acc + #s + #s:gsub('x+', 'y')) % 1000000007\n"
    "  local big = {}\n"
    "  for i = 1, 2000 + 100 * (r % 9) do big[i] = i * 0.5 end\n"
    "  acc = (acc + #big) % 1000000007\n"
    "  if r % 5 == 0 then collectgarbage() end\n"
    "  if r % 10 == 0 then out[#out + 1] = tostring(acc) end\n"
    "end\n"
    "return table.concat(out, ' ') .. ' ' .. tostring(acc)\n";

uint64_t cl_lua(const ClAlloc *a, int scale) {
    char script[4096], err[256];
    lua_State *L = cl_lua_open(a);
    uint64_t h;
    if (!L) return 0;
    snprintf(script, sizeof script, "local SCALE = %d\n%s", 20 * scale, cl_lua_script);
    h = cl_lua_run(L, script, err, sizeof err);
    if (!h) fprintf(stderr, "lua: %s\n", err);
    lua_close(L);
    return h;
}
