/* config.h - the freestanding configuration of arena.h / pool.h, included
   first by every file of this build (the settings must be the same in all
   of them): no heap, no virtual memory, no threads, no printf, and the log
   and the assertion go to the caller's hooks instead of stdio/assert.h. */
#ifndef FS_CONFIG_H
#define FS_CONFIG_H

#define ARENA_NO_MALLOC
#define ARENA_NO_VIRTUAL
#define ARENA_NO_THREADS
#define ARENA_NO_SPRINTF

/* Provided by the caller (here: fs_test.c), as a kernel or a console
   runtime would. */
void fs_log(const char *msg);
void fs_assert_fail(const char *expr, const char *file, int line);

/* No <string.h>: the compiler's builtins (which may still call the
   memcpy/memset/memchr/strlen the platform provides). */
#define ARENA_MEMCPY __builtin_memcpy
#define ARENA_MEMMOVE __builtin_memmove
#define ARENA_MEMSET __builtin_memset
#define ARENA_MEMCHR __builtin_memchr
#define ARENA_STRLEN __builtin_strlen

#define ARENA_LOG(msg) fs_log(msg)
#define ARENA_ASSERT(x) ((x) ? (void)0 : fs_assert_fail(#x, __FILE__, __LINE__))

#endif
