/* A pointer used after arena_reset: the arena keeps its block, so only
   poisoning can catch it. */
#include "caught.h"

int main(void) {
    Arena a;
    char *p;
    memset(&a, 0, sizeof a);
    p = (char *)arena_alloc(&a, 64);
    memset(p, 1, 64);
    arena_reset(&a);
    (void)arena_alloc(&a, 8);        /* the arena is in use again */
    touch(p, 40);                    /* BAD: p died with the reset */
    arena_release(&a);
    return not_caught("use after arena_reset");
}
