/* One byte past the end of an allocation that is not the newest: into the
   next one (argv[1]: its size, default 32; a multiple of the alignment
   ends where the next allocation would start without a redzone). */
#include "caught.h"

int main(int argc, char **argv) {
    Arena a;
    char *p, *next;
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 32;
    memset(&a, 0, sizeof a);
    p = (char *)arena_alloc(&a, n);
    next = (char *)arena_alloc(&a, 16);
    memset(p, 4, n);
    memset(next, 5, 16);
    touch(p, n);                     /* BAD: past the end, towards next */
    arena_release(&a);
    return not_caught("one byte past an allocation, into the next");
}
