/* The library, compiled once for all the "must be caught" programs. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../../pool.h"
