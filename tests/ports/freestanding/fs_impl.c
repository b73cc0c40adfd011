/* fs_impl.c - the implementation TU of the freestanding build: compiled
   with -ffreestanding -nostdinc (only the compiler's own headers), then `nm -u` must list nothing but the string
   functions, the two hooks of config.h and compiler runtime helpers. */
#include "config.h"
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../../../pool.h"
