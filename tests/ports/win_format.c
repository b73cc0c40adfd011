/* win_format.c - compiled (not run) for MinGW by `make test-ports`
   (port-compile) with -Wall -Werror: arena_sprintf formats with
   stb_sprintf, which takes the C99 conversions (%zu, %lld, %hhd) on every
   platform, so a MinGW build must accept them. GCC's format(printf, ...)
   means MSVCRT's printf on MinGW targets (ms_printf: no %zu); the
   attribute has to say gnu_printf there. */
#define ARENA_IMPLEMENTATION
#include "../../arena.h"

char *win_format(Arena *a, size_t z, long long ll);
char *win_format(Arena *a, size_t z, long long ll) {
    return arena_sprintf(a, "%zu %zx %lld %hhd", z, z, ll, (signed char)-1);
}
