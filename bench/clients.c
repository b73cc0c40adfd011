/* bench/clients.c - the real clients of tests/clients (Lua, expat, SQLite,
   stb_ds) on one allocator, chosen at build time:
     -DCL_GLIBC     malloc/realloc/free of the C library
     -DCL_MIMALLOC  mi_malloc/mi_realloc/mi_free
     -DCL_MI_HEAP   a mi_heap_t per run, mi_heap_destroy at the end
     -DCL_POOL_HEAP a PoolHeap per run, pool_heap_release at the end
   Usage: clients_<comp> <lua|expat|sqlite|stbds> <scale>
   Prints one line: RESULT comp=... work=... digest=... ns=... rss_kb=...
   (bench/clients.py runs it in fresh processes and under callgrind). */
#define _DEFAULT_SOURCE 1   /* clock_gettime; MAP_ANONYMOUS for arena.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../tests/clients/client.h"

#if defined(CL_GLIBC)
#include <malloc.h>
#define CL_NAME "glibc"
static void *a_alloc(void *c, size_t n) { (void)c; return malloc(n); }
static void *a_realloc(void *c, void *p, size_t n) { (void)c; return realloc(p, n); }
static void a_free(void *c, void *p) { (void)c; free(p); }
static size_t a_size(void *c, const void *p) { (void)c; return malloc_usable_size((void *)(uintptr_t)p); }
static void *a_open(void) { return NULL; }
static void a_close(void *c) { (void)c; }
#elif defined(CL_MIMALLOC) || defined(CL_MI_HEAP)
#include <mimalloc.h>
static void a_free(void *c, void *p) { (void)c; mi_free(p); }
static size_t a_size(void *c, const void *p) { (void)c; return mi_usable_size(p); }
#if defined(CL_MIMALLOC)
#define CL_NAME "mimalloc"
static void *a_alloc(void *c, size_t n) { (void)c; return mi_malloc(n); }
static void *a_realloc(void *c, void *p, size_t n) { (void)c; return mi_realloc(p, n); }
static void *a_open(void) { return NULL; }
static void a_close(void *c) { (void)c; }
#else
#define CL_NAME "mi-heap"
static void *a_alloc(void *c, size_t n) { return mi_heap_malloc((mi_heap_t *)c, n); }
static void *a_realloc(void *c, void *p, size_t n) { return mi_heap_realloc((mi_heap_t *)c, p, n); }
static void *a_open(void) { return mi_heap_new(); }
static void a_close(void *c) { mi_heap_destroy((mi_heap_t *)c); }
#endif
#elif defined(CL_POOL_HEAP)
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"
#define CL_NAME "pool-heap"
static void *a_alloc(void *c, size_t n) { return pool_heap_alloc((PoolHeap *)c, n); }
static void *a_realloc(void *c, void *p, size_t n) { return pool_heap_realloc((PoolHeap *)c, p, n); }
static void a_free(void *c, void *p) { pool_heap_free((PoolHeap *)c, p); }
static size_t a_size(void *c, const void *p) { return pool_heap_size((PoolHeap *)c, p); }
static PoolHeap cl_heap;
static void *a_open(void) { pool_heap_init(&cl_heap, NULL); return &cl_heap; }
static void a_close(void *c) { pool_heap_release((PoolHeap *)c); }
#else
#error "define one of CL_GLIBC, CL_MIMALLOC, CL_MI_HEAP, CL_POOL_HEAP"
#endif

/* Peak RSS of this process image, KiB: VmHWM (getrusage's ru_maxrss keeps
   the peak of the image before exec, e.g. the Python that started us). */
static long peak_rss_kb(void) {
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
    fclose(f);
    return kb;
}

int main(int argc, char **argv) {
    static const struct { const char *name; uint64_t (*fn)(const ClAlloc *, int); } works[] = {
        {"lua", cl_lua}, {"expat", cl_expat}, {"sqlite", cl_sqlite}, {"stbds", cl_stbds}};
    ClAlloc a;
    struct timespec t0, t1;
    uint64_t digest;
    size_t i;
    int scale = argc > 2 ? atoi(argv[2]) : 1;
    for (i = 0; i < sizeof works / sizeof works[0]; i++)
        if (argc > 1 && !strcmp(argv[1], works[i].name)) break;
    if (i == sizeof works / sizeof works[0] || scale < 1) {
        fprintf(stderr, "usage: %s lua|expat|sqlite|stbds scale\n", argv[0]);
        return 2;
    }
    a.alloc = a_alloc;
    a.realloc = a_realloc;
    a.free = a_free;
    a.size = a_size;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    a.ctx = a_open();
    digest = works[i].fn(&a, scale);
    a_close(a.ctx);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("RESULT comp=%s work=%s digest=%016llx ns=%lld rss_kb=%ld\n", CL_NAME, works[i].name,
           (unsigned long long)digest,
           (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec), peak_rss_kb());
    return digest ? 0 : 1;
}
