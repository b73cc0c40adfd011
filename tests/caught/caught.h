/* caught.h - shared by the "must be caught" programs.

   Each program makes exactly one access to memory the library has taken
   back (or never handed out), through touch(). Built with ASan, the
   access must stop the program with an AddressSanitizer report whose top
   frame is in the program; built with -DARENA_VALGRIND and run under
   memcheck, it must be reported (the make target uses --error-exitcode).
   If nothing catches it, the program says so and exits 0, which the make
   target counts as a failure. */
#ifndef CAUGHT_H
#define CAUGHT_H

#include "../../pool.h"     /* the implementation is in impl.c */
#include <stdio.h>
#include <stdlib.h>

/* The one bad access: a read of p[i] and a write back (not optimised away). */
static void touch(void *p, size_t i) {
    volatile char *v = (volatile char *)p;
    char c = v[i];
    v[i] = (char)(c + 1);
}

static int not_caught(const char *what) {
    printf("NOT CAUGHT: %s\n", what);
    return 0;
}

#endif
