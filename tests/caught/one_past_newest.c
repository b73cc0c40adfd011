/* One byte past the end of the newest arena allocation (argv[1]: its
   size, default 13; 16 and other multiples of the alignment end exactly
   on a boundary, where only a redzone can catch it). */
#include "caught.h"

int main(int argc, char **argv) {
    Arena a;
    char *old, *p;
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 13;
    memset(&a, 0, sizeof a);
    old = (char *)arena_alloc(&a, 32);
    p = (char *)arena_alloc(&a, n);
    memset(p, 4, n);
    old[31] = 1;                     /* fine */
    touch(p, n);                     /* BAD: one past the end */
    arena_release(&a);
    return not_caught("one byte past the newest allocation");
}
