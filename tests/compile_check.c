/* Compiled (not run) by `make test` with every compiler and standard, with
   -Wconversion and friends: the headers must stay warning-free in users'
   strictest builds, declarations and implementation alike. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"

typedef struct Pair { double x; long long y; } Pair;

int compile_check(void);
int compile_check(void) {
    Arena a;
    ArenaStack s;
    ArenaArray(Pair) arr;
    Pair p;
    Pair *q;
    char *str;
    int ok;
    memset(&a, 0, sizeof a);
    memset(&s, 0, sizeof s);
    memset(&arr, 0, sizeof arr);
    memset(&p, 0, sizeof p);
    q = arena_new(&a, Pair);
    str = arena_sprintf(&a, "%d", 1);
    ok = q && str && arena_array_push(&a, &arr, p) && arena_alloc_aligned(&a, 8, 64);
    arena_stack_pop(&s, arena_stack_push(&s, 8));
    {
        Pool pool;
        PoolHandle h;
        POOL_INIT(&pool, Pair);
        h = pool_alloc_handle(&pool);
        ok = ok && pool_get(&pool, h) && pool_free_handle(&pool, h);
        ok = ok && pool_free(&pool, pool_alloc(&pool));
        pool_release(&pool);
    }
    arena_release(&a);
    return ok;
}
