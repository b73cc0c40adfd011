/* A read of arena memory that was handed out but never written, in a
   debug build (fills on) under memcheck: handed-out memory must stay
   undefined for memcheck (no 0xCD fill hiding the read), in a fresh block,
   in memory given back by a rewind, and in a realloc grown in place.
   argv[1]: 0 fresh, 1 after rewind, 2 realloc growth, 3 stack push. */
#include "caught.h"

static int branch_on(const unsigned char *p) {
    return p[5] == 0x42 ? 1 : 0;     /* BAD: p[5] was never written */
}

int main(int argc, char **argv) {
    Arena a;
    ArenaStack s;
    unsigned char *p;
    int how = argc > 1 ? atoi(argv[1]) : 0, r = 0;
    (void)touch;                     /* for invalid accesses; not used here */
    memset(&a, 0, sizeof a);
    memset(&s, 0, sizeof s);
    if (how == 1) {
        ArenaMark m = arena_mark(&a);
        memset(arena_alloc(&a, 64), 7, 64);
        arena_rewind(&a, m);
    }
    p = (unsigned char *)arena_alloc(&a, 64);
    if (how == 2) {
        memset(p, 1, 64);
        p = (unsigned char *)arena_realloc(&a, p, 64, 128) + 64;
    }
    if (how == 3) p = (unsigned char *)arena_stack_push(&s, 64);
    r = branch_on(p);
    printf("read %d\n", r);
    arena_stack_release(&s);
    arena_release(&a);
    return not_caught("read of memory never written");
}
