/* bench/impl.c - the one translation unit that compiles our implementations,
   as in a user's program: the inline fast paths inline into bench.c, the
   slow paths (and every ARENA_DEF function) are calls into this file. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"
