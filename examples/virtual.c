/* virtual.c - a virtual-memory arena: arena_init_virtual reserves a large
   range of address space once and commits pages only as they are needed.
   The arena is one contiguous range, so its newest allocation always grows
   in place: here a growable array of 100 million ints is pushed one by one
   and its items pointer never changes - no copy, no reallocation, and
   pointers into the array stay valid the whole time. */
#define ARENA_IMPLEMENTATION
#include "../arena.h"
#include <stdio.h>
#include <time.h>

enum { COUNT = 100 * 1000 * 1000 };

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double mib(size_t n) { return (double)n / 1048576.0; }

int main(void) {
    Arena a;
    ArenaArray(int) arr = {0};
    const int *first = NULL, *probe;
    size_t grows = 0, moves = 0, i, last_cap = 0;
    long long sum = 0;
    double t;
    int failures = 0;

    if (!arena_init_virtual(&a, (size_t)16 << 30)) {   /* 16 GiB of address space */
        printf("no virtual memory here: skipped\n");
        return 0;
    }
    printf("reserved 16 GiB of address space; committed now: %.2f MiB\n",
           mib(arena_stats(&a).bytes_held));

    t = now_ms();
    for (i = 0; i < COUNT; i++) {
        if (!arena_array_push(&a, &arr, (int)i)) {
            printf("push %zu failed\n", i);
            return 1;
        }
        if (arr.cap != last_cap) {   /* it grew: did it move? */
            if (!first) first = arr.items;
            else if (arr.items != first) moves++;
            last_cap = arr.cap;
            grows++;
        }
    }
    t = now_ms() - t;
    probe = &arr.items[12345];   /* a pointer taken now ... */

    for (i = 0; i < arr.count; i++) sum += arr.items[i];
    if (sum != (long long)COUNT * (COUNT - 1) / 2 || *probe != 12345) failures++;
    if (moves || arr.items != first) failures++;

    printf("pushed %zu ints (%.0f MiB) in %.0f ms: the array grew %zu times and moved %zu times\n",
           arr.count, mib(arr.count * sizeof *arr.items), t, grows, moves);
    printf("items pointer: %p at the first push, %p now: %s\n", (const void *)first,
           (const void *)arr.items, arr.items == first ? "never changed" : "MOVED");
    printf("committed: %.0f MiB for %.0f MiB used (capacity %zu ints)\n",
           mib(arena_stats(&a).bytes_held), mib(arena_stats(&a).bytes_used), arr.cap);

    arena_reset(&a);   /* keeps at most keep_bytes (64 MiB) committed */
    printf("after arena_reset: committed %.0f MiB\n", mib(arena_stats(&a).bytes_held));
    arena_release(&a);  /* gives the whole reservation back */

    if (failures) {
        printf("FAILED: the array moved or lost its contents\n");
        return 1;
    }
    return 0;
}
