/* The one translation unit that compiles the implementations. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
/* A test-set call in the window between a shared arena's lock-free add
   and its second sequence check (tests/test_shared.c). */
struct Arena;
extern void (*test_bump_hook)(struct Arena *a);
#define ARENA__TEST_HOOK(a) (test_bump_hook ? test_bump_hook(a) : (void)0)
#include "../pool.h"
