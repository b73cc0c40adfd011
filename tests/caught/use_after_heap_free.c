/* A PoolHeap allocation used after pool_heap_free, from a small size
   class; then a large block used after its free (gone to the source). */
#include "caught.h"

int main(int argc, char **argv) {
    PoolHeap h;
    char *a, *b;
    (void)argv;
    pool_heap_init(&h, NULL);
    a = (char *)pool_heap_alloc(&h, 40);
    b = (char *)pool_heap_alloc(&h, argc > 1 ? 20000 : 40);
    b[3] = 1;
    if (!pool_heap_free(&h, b)) return 2;
    a[3] = 1;                        /* fine: still live */
    touch(b, 3);                     /* BAD: b was freed */
    pool_heap_release(&h);
    return not_caught("use after pool_heap_free");
}
