/* A pool object used after pool_free: its first bytes (where the pool
   keeps its free-list link) are the ones read. */
#include "caught.h"

typedef struct Bullet { double x, y, dx, dy; int alive; } Bullet;

int main(void) {
    Pool p;
    Bullet *a, *b;
    POOL_INIT(&p, Bullet);
    a = (Bullet *)pool_alloc(&p);
    b = (Bullet *)pool_alloc(&p);
    b->x = 1.0;
    if (!pool_free(&p, b)) return 2;
    a->alive = 1;                    /* fine: still live */
    touch(b, 0);                     /* BAD: b was freed */
    pool_release(&p);
    return not_caught("use after pool_free");
}
