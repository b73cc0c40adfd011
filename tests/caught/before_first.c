/* A write just before the first allocation of a block, where the block's
   header lies: the gap after the header is never handed out. */
#include "caught.h"

int main(void) {
    Arena a;
    char *p;
    memset(&a, 0, sizeof a);
    p = (char *)arena_alloc(&a, 64);
    memset(p, 4, 64);
    touch(p - 8, 0);                 /* BAD: 8 bytes before the block's first allocation */
    arena_release(&a);
    return not_caught("a write before a block's first allocation");
}
