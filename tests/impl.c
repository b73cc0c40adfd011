/* The one translation unit that compiles the implementations. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"
