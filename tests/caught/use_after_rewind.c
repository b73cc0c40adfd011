/* A pointer used after arena_rewind (a temp scope) past it. */
#include "caught.h"

int main(void) {
    Arena a;
    ArenaMark m;
    char *keep, *tmp;
    memset(&a, 0, sizeof a);
    keep = (char *)arena_alloc(&a, 32);
    m = arena_mark(&a);
    tmp = (char *)arena_alloc(&a, 200);
    memset(tmp, 2, 200);
    arena_rewind(&a, m);
    keep[0] = 1;                     /* fine: allocated before the mark */
    touch(tmp, 0);                   /* BAD: tmp was rewound */
    arena_release(&a);
    return not_caught("use after arena_rewind");
}
