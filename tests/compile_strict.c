/* Built and run by `make test-compile` with -std=c11 (strict: no
   _DEFAULT_SOURCE): a system header before arena.h hides MAP_ANONYMOUS,
   as in a file that includes <stdlib.h> for its ARENA_MALLOC hook.
   Virtual arenas and pools must still build and work (/dev/zero). */
#include <stdlib.h>
#define ARENA_MALLOC(n) malloc(n)
#define ARENA_FREE(p) free(p)
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"

int main(void) {
    Arena a;
    Pool p;
    char *s;
    int *x;
    bool ok;
    memset(&a, 0, sizeof a);
    ok = arena_init_virtual(&a, (size_t)1 << 30);
    s = ok ? (char *)arena_alloc(&a, (size_t)4 << 20) : NULL;   /* commits pages */
    if (s) memset(s, 1, (size_t)4 << 20);
    ok = ok && s && s[(4 << 20) - 1] == 1;
    arena_reset(&a);
    arena_release(&a);
    pool_init(&p, sizeof(int), sizeof(int));
    x = (int *)pool_alloc(&p);
    if (x) *x = 7;
    ok = ok && x && *x == 7 && pool_free(&p, x);
    pool_release(&p);
    return ok ? 0 : 1;
}
