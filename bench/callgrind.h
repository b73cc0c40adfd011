/* bench/callgrind.h - callgrind's client requests when valgrind's headers
   are there (collect only the timed part: --collect-atstart=no), else
   nothing. */
#ifndef BENCH_CALLGRIND_H
#define BENCH_CALLGRIND_H
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif
#endif
