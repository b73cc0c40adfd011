/* Compiled (not run) by `make test-compile` with -Wall -Wextra -Werror:
   with ARENA_STATIC the implementation is static to this file, and the
   functions it does not call must not warn (-Wunused-function). */
#define ARENA_STATIC
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"

int compile_static(void);
int compile_static(void) {
    Arena a;
    void *p;
    memset(&a, 0, sizeof a);
    p = arena_alloc(&a, 8);
    arena_release(&a);
    return p != NULL;
}
