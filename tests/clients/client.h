/* client.h - real third-party libraries on an allocator: Lua, expat,
   SQLite and stb_ds, each through its own allocator hooks. The same
   workload runs on malloc and on a PoolHeap (tests/clients/test_clients.c
   checks that their results are identical) and on the allocators that
   `make bench-clients` compares (bench/clients.c).

   A workload returns a 64-bit digest of everything it computed: the
   output of the client, never an address. */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* malloc, realloc, free and the usable size of an allocator. */
typedef struct ClAlloc {
    void *(*alloc)(void *ctx, size_t n);
    void *(*realloc)(void *ctx, void *p, size_t n);
    void (*free)(void *ctx, void *p);
    size_t (*size)(void *ctx, const void *p);
    void *ctx;
} ClAlloc;

/* FNV-1a over bytes, and over a number. */
static inline uint64_t cl_hash(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3u;
    return h;
}
static inline uint64_t cl_hash_u(uint64_t h, uint64_t v) { return cl_hash(h, &v, sizeof v); }
#define CL_HASH_SEED 0xCBF29CE484222325u

/* Each workload, at a scale (1: a test's size). Returns the digest, 0 on
   failure. The allocator must be the only one the client uses while the
   workload runs. */
uint64_t cl_lua(const ClAlloc *a, int scale);
uint64_t cl_expat(const ClAlloc *a, int scale);
uint64_t cl_sqlite(const ClAlloc *a, int scale);
uint64_t cl_stbds(const ClAlloc *a, int scale);

/* Lua on `a`: a state with the standard libraries, and a script run in it
   (protected): the digest of the string it returned, or 0 and the error
   message in err. */
typedef struct lua_State lua_State;
lua_State *cl_lua_open(const ClAlloc *a);
uint64_t cl_lua_run(lua_State *L, const char *script, char *err, size_t err_size);
extern const char *const cl_lua_script;

#endif
