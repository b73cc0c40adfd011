/* Compiled (not run) by `make test` with every compiler and standard, with
   -Wconversion and friends: the headers must stay warning-free in users'
   strictest builds, declarations and implementation alike. */
#define ARENA_IMPLEMENTATION
#include "../arena.h"

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
    arena_release(&a);
    return ok;
}
