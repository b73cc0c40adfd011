#!/bin/sh
# check_syms.sh NM OBJECT - the undefined symbols of the freestanding
# implementation object must be only:
#   - string functions a freestanding runtime provides (the compilers need
#     memcpy/memmove/memset/memcmp anyway; arena.h also uses memchr, strlen),
#   - the hooks of config.h (fs_log, fs_assert_fail),
#   - compiler runtime (libgcc / compiler-rt) helpers and the GOT symbol.
# Anything else fails, and the heap, mmap, threads and stdio are named.
nm_tool=$1 obj=$2
syms=$("$nm_tool" -u "$obj" | awk '{ print $NF }' | sed 's/@.*//') || exit 1
forbidden='^(malloc|free|calloc|realloc|aligned_alloc|posix_memalign|mmap|mmap64|munmap|mprotect|madvise|sysconf|getpagesize|pthread_.*|VirtualAlloc|VirtualFree|Fls.*|Tls.*|fputs|fputc|fprintf|printf|puts|stderr|stdout|abort|exit|__assert_fail|__assert|_assert|__stack_chk_fail)$'
allowed='^(memcpy|memmove|memset|memcmp|memchr|strlen|fs_log|fs_assert_fail|_GLOBAL_OFFSET_TABLE_|__(u?(div|mod)[dt]i3|udivmod[dt]i4|divmod[dt]i4|(ash[lr]|lshr)[dt]i3|mul[dt]i3|(popcount|clz|ctz|ffs)[sdt]i2))$'
bad=0
for s in $syms; do
  if echo "$s" | grep -Eq "$forbidden"; then
    echo "FORBIDDEN: $obj references $s"; bad=1
  elif ! echo "$s" | grep -Eq "$allowed"; then
    echo "UNEXPECTED: $obj references $s"; bad=1
  fi
done
echo "$obj needs: $(echo $syms)"
exit $bad
