/* bench/snapshot.c - what arena_snapshot + arena_restore cost against the
   floor: a plain memcpy of the bytes in use out and back.

   usage: bench_snapshot [MiB...]         (default: 1 16 64)
          bench_snapshot --cg WHICH MiB   two passes of `snap` (snapshot +
                                          restore) or `memcpy`; `snap0` and
                                          `memcpy0` set up the same and do
                                          none (callgrind subtracts them)

   The state is a world arena filled with objects of 16 B to 4 KiB over its
   growing blocks (64 KiB, 128 KiB ...), as a game's state would be; the
   snapshot goes to a store arena that is reset before each one (warm: no
   source calls after the first). Between snapshot and restore the world
   changes a little (a few objects rewritten, some allocated), as a rolled
   back frame does. The floor copies the same number of bytes out of one
   buffer and back. The two alternate, each going first every other pass
   (neither finds the caches warm from itself); each is reported as the
   median and the best of its passes, with the page faults per pass and
   the store's source calls during them (both 0 once warm: the store's
   block is reused). Wall time is noisy on a shared machine; use --cg
   with callgrind for a stable figure. The program checks that the
   restored state is the snapshot's. */
#define _POSIX_C_SOURCE 199309L
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../arena.h"

enum { MAX_SEGS = 64 };

typedef struct World {
    Arena arena, store;
    unsigned char **objs;
    size_t count, used;
    unsigned char *seg[MAX_SEGS];   /* the runs of adjacent objects (a block each) */
    size_t seg_len[MAX_SEGS], nseg;
} World;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long minor_faults(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

static int by_value(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Sorts t[0..n) and returns the median. */
static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, by_value);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static void world_fill(World *w, size_t bytes) {
    size_t cap = bytes / 16 + 16;
    unsigned seed = 12345;
    memset(w, 0, sizeof *w);
    w->objs = (unsigned char **)malloc(cap * sizeof *w->objs);
    while (arena_stats(&w->arena).bytes_used < bytes && w->count < cap) {
        size_t n;
        seed = seed * 1103515245u + 12345u;
        n = 16 + (seed >> 8) % 4080;
        w->objs[w->count] = (unsigned char *)arena_alloc(&w->arena, n);
        if (!w->nseg || w->objs[w->count] != w->seg[w->nseg - 1] + w->seg_len[w->nseg - 1]) {
            if (w->nseg == MAX_SEGS) exit(1);
            w->seg[w->nseg++] = w->objs[w->count];
            w->seg_len[w->nseg - 1] = 0;
        }
        w->seg_len[w->nseg - 1] += (n + 15) & ~(size_t)15;   /* as the arena rounds */
        memset(w->objs[w->count], (int)(w->count & 255), n);
        w->count++;
    }
    w->used = arena_stats(&w->arena).bytes_used;
}

/* One rolled-back frame: snapshot, a little simulation, restore. */
static void snap_pass(World *w) {
    ArenaSnapshot s;
    size_t i;
    arena_reset(&w->store);
    if (!arena_snapshot(&w->arena, &s, &w->store)) exit(1);
    for (i = 0; i < 64; i++) w->objs[(i * 7919) % w->count][0] ^= 0xFF;
    for (i = 0; i < 64; i++) arena_alloc(&w->arena, 100);
    if (!arena_restore(&w->arena, &s)) exit(1);
}

static void memcpy_pass(unsigned char *state, unsigned char *copy, size_t n) {
    memcpy(copy, state, n);
    state[n / 2] ^= 0xFF;
    memcpy(state, copy, n);
}

/* The floor the arena's layout allows: the same bytes copied block by
   block (glibc picks its copy loop by size, so one big copy and several
   smaller ones are not the same count of instructions). */
static void blocks_pass(World *w, unsigned char *copy) {
    size_t i, off;
    for (i = 0, off = 0; i < w->nseg; off += w->seg_len[i], i++) memcpy(copy + off, w->seg[i], w->seg_len[i]);
    w->objs[0][0] ^= 0xFF;
    for (i = 0, off = 0; i < w->nseg; off += w->seg_len[i], i++) memcpy(w->seg[i], copy + off, w->seg_len[i]);
}

static int world_ok(const World *w) {
    size_t i;
    for (i = 0; i < w->count; i += 97)
        if (w->objs[i][0] != (unsigned char)(i & 255)) return 0;
    return arena_stats(&w->arena).bytes_used == w->used;
}

static void world_free(World *w) {
    arena_release(&w->arena);
    arena_release(&w->store);
    free(w->objs);
}

enum { MAX_PASSES = 201 };

/* One timed pass of the snapshot (which = 0) or of the floor (1). */
static double timed(int which, World *w, unsigned char *state, unsigned char *copy, long *faults) {
    long f0 = minor_faults();
    double t0 = now(), t;
    if (which == 0) snap_pass(w);
    else memcpy_pass(state, copy, w->used);
    t = now() - t0;
    *faults += minor_faults() - f0;
    return t;
}

static int measure(size_t mib) {
    World w;
    unsigned char *state, *copy;
    static double t[2][MAX_PASSES];
    long faults[2] = { 0, 0 };
    size_t grabs;
    double med[2], best[2];
    int pass, k, passes = mib >= 64 ? 11 : mib >= 16 ? 31 : MAX_PASSES;
    world_fill(&w, mib << 20);
    state = (unsigned char *)malloc(w.used);
    copy = (unsigned char *)malloc(w.used);
    memset(state, 1, w.used);
    memset(copy, 2, w.used);
    snap_pass(&w);   /* warm: the store's block, the pages */
    memcpy_pass(state, copy, w.used);
    grabs = arena_stats(&w.store).grab_count;
    for (pass = 0; pass < passes; pass++)
        for (k = 0; k < 2; k++) {
            int which = k ^ (pass & 1);
            t[which][pass] = timed(which, &w, state, copy, &faults[which]);
        }
    for (k = 0; k < 2; k++) {
        med[k] = median(t[k], passes);
        best[k] = t[k][0];
    }
    printf("%3zu MiB state (%zu objects, %zu blocks, %zu bytes in use), %d passes:\n"
           "    snapshot+restore median %.3f ms (best %.3f), memcpy out+back median %.3f ms "
           "(best %.3f): %.2fx by medians, %.2fx by bests\n"
           "    page faults per pass: %.1f and %.1f; store source calls during the passes: %zu\n",
           mib, w.count, arena_stats(&w.arena).block_count, w.used, passes, med[0] * 1e3,
           best[0] * 1e3, med[1] * 1e3, best[1] * 1e3, med[0] / med[1], best[0] / best[1],
           (double)faults[0] / passes, (double)faults[1] / passes,
           arena_stats(&w.store).grab_count - grabs);
    if (!world_ok(&w)) {
        printf("restored state differs\n");
        return 1;
    }
    free(state);
    free(copy);
    world_free(&w);
    return 0;
}

int main(int argc, char **argv) {
    int i, rc = 0;
    if (argc == 4 && !strcmp(argv[1], "--cg")) {   /* snap, memcpy, blocks; with 0: no pass */
        World w;
        size_t mib = (size_t)atoi(argv[3]);
        int passes = argv[2][strlen(argv[2]) - 1] == '0' ? 0 : 2;
        world_fill(&w, mib << 20);
        if (!strncmp(argv[2], "snap", 4)) {
            while (passes--) snap_pass(&w);
        } else if (!strncmp(argv[2], "blocks", 6)) {
            unsigned char *copy = (unsigned char *)malloc(w.used);
            memset(copy, 2, w.used);
            while (passes--) blocks_pass(&w, copy);
            free(copy);
        } else {
            unsigned char *state = (unsigned char *)malloc(w.used), *copy = (unsigned char *)malloc(w.used);
            memset(state, 1, w.used);
            memset(copy, 2, w.used);
            while (passes--) memcpy_pass(state, copy, w.used);
            free(state);
            free(copy);
        }
        rc = world_ok(&w) ? 0 : 1;
        world_free(&w);
        return rc;
    }
    if (argc == 1) {
        static const size_t sizes[] = { 1, 16, 64 };
        for (i = 0; i < 3; i++) rc |= measure(sizes[i]);
    }
    for (i = 1; i < argc; i++) rc |= measure((size_t)atoi(argv[i]));
    return rc;
}
