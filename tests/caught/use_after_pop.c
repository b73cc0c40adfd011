/* A stack push used after it was popped. */
#include "caught.h"

int main(void) {
    ArenaStack s;
    char *x, *y;
    memset(&s, 0, sizeof s);
    x = (char *)arena_stack_push(&s, 48);
    y = (char *)arena_stack_push(&s, 96);
    memset(y, 3, 96);
    if (!arena_stack_pop(&s, y)) return 2;
    x[47] = 1;                       /* fine: still pushed */
    touch(y, 10);                    /* BAD: y was popped */
    arena_stack_release(&s);
    return not_caught("use after arena_stack_pop");
}
