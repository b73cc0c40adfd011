/* consumer.c - a program built against an installed (or added) arena.h and
   pool.h: `make test-install` builds it via pkg-config, find_package,
   add_subdirectory and FetchContent, and runs it. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include <pool.h>   /* includes arena.h */
#include <stdio.h>
#include <string.h>

#ifndef CONSUMER_VIA
#define CONSUMER_VIA "?"
#endif

typedef struct Point { int x, y; } Point;

int main(void) {
    Arena a = {0};
    Pool points;
    PoolHandle h;
    Point *p;
    ArenaTemp t;
    char *s;
    int ok = 1;

    POOL_INIT(&points, Point);
    h = pool_alloc_handle(&points);
    p = (Point *)pool_get(&points, h);
    ok &= p != NULL;
    if (p) { p->x = 3; p->y = 4; }
    s = p ? arena_sprintf(&a, "(%d, %d)", p->x, p->y) : NULL;   /* stb_sprintf */
    ok &= s && strcmp(s, "(3, 4)") == 0;
    pool_free_handle(&points, h);
    ok &= pool_get(&points, h) == NULL;   /* a stale handle */

    t = arena_scratch_begin(&a);          /* per-thread scratch */
    ok &= arena_alloc(t.arena, 1000) != NULL;
    arena_temp_end(t);

    pool_release(&points);
    arena_release(&a);
    arena_scratch_release();
    printf("consumer via %s: %s\n", CONSUMER_VIA, ok ? "ok" : "FAILED");
    return !ok;
}
