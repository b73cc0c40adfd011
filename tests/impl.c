/* The one translation unit that compiles the implementations. */
#define ARENA_IMPLEMENTATION
#include "../arena.h"
