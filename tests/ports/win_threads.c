/* win_threads.c - the Windows-only paths of arena.h, run under Wine by
   `make test-ports` (cross-built with MinGW-w64):

   - arena_init_virtual on VirtualAlloc: one reservation (MEM_RESERVE),
     committed on demand (MEM_COMMIT), decommitted by reset beyond
     keep_bytes, freed (MEM_FREE) by release, and never a heap call;
   - per-thread scratch arenas with threads from CreateThread and
     _beginthreadex: distinct per thread, and every scratch block given back
     when the thread exits (FlsAlloc callback), also when the thread exits
     with a temp still open, through ExitThread, or after releasing its
     scratch itself; a thread that never used scratch costs nothing; and
     a thread whose first scratch use was on a fiber it has since deleted
     (FLS data is per fiber, the scratch arenas are per thread);
   - pools on the heap, double free refused.

   This file is its own implementation TU: ARENA_MALLOC / ARENA_FREE count
   every block, so "given back at thread exit" is checked exactly.
   Prints "N passed, N failed" like tests/main.c. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile LONG heap_live;     /* ARENA_MALLOC minus ARENA_FREE */
static volatile LONG heap_mallocs;  /* ARENA_MALLOC calls, ever */
static volatile LONG heap_frees;    /* ARENA_FREE calls, ever */

static void *count_malloc(size_t n) {
    void *p = malloc(n);
    if (p) {
        InterlockedIncrement(&heap_live);
        InterlockedIncrement(&heap_mallocs);
    }
    return p;
}

static void count_free(void *p) {
    if (!p) return;
    InterlockedDecrement(&heap_live);
    InterlockedIncrement(&heap_frees);
    free(p);
}

#define ARENA_MALLOC(n) count_malloc(n)
#define ARENA_FREE(p) count_free(p)
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../../pool.h"

/* ---- a tiny runner --------------------------------------------------------- */

static int passed, failed, check_failures;
static volatile LONG thread_failures;   /* CHECKs failed on other threads */
static int err_calls;
static ArenaError err_last;

#define CHECK(c) do { if (!(c)) { check_failures++; \
    fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)
/* From worker threads (no data race on check_failures). */
#define TCHECK(c) do { if (!(c)) { InterlockedIncrement(&thread_failures); \
    fprintf(stderr, "  %s:%d: CHECK failed (thread %lu): %s\n", __FILE__, __LINE__, \
            (unsigned long)GetCurrentThreadId(), #c); } } while (0)

static void on_error(ArenaError err, const char *msg, void *ctx) {
    (void)msg; (void)ctx;
    err_calls++;
    err_last = err;
}

static void run(const char *name, void (*fn)(void)) {
    check_failures = 0;
    thread_failures = 0;
    err_calls = 0;
    fn();
    if (check_failures || thread_failures) {
        failed++;
        fprintf(stderr, "FAIL %s\n", name);
    } else {
        passed++;
    }
}
#define RUN(t) run(#t, t)

static MEMORY_BASIC_INFORMATION query(const void *p) {
    MEMORY_BASIC_INFORMATION mi;
    memset(&mi, 0, sizeof mi);
    VirtualQuery(p, &mi, sizeof mi);
    return mi;
}

/* ---- virtual arenas on VirtualAlloc ---------------------------------------- */

#define MiB ((size_t)1 << 20)

static void virtual_commit_on_demand(void) {
    Arena a;
    char *base, *prev = NULL;
    LONG mallocs = heap_mallocs;
    size_t reserve = 256 * MiB, i;
    MEMORY_BASIC_INFORMATION mi;
    CHECK(arena_init_virtual(&a, reserve));
    base = (char *)a.block;
    CHECK(base != NULL);
    if (!base) return;
    mi = query(base);
    CHECK(mi.AllocationBase == base);
    CHECK(mi.State == MEM_COMMIT);
    CHECK(mi.Protect == PAGE_READWRITE);
    CHECK(mi.RegionSize < reserve);              /* only the start committed */
    mi = query(base + reserve - 1);
    CHECK(mi.AllocationBase == base);
    CHECK(mi.State == MEM_RESERVE);              /* the rest only reserved */
    /* 40 MiB in 1 MiB pieces: one contiguous range, committed as it goes */
    for (i = 0; i < 40; i++) {
        char *p = (char *)arena_alloc(&a, MiB);
        CHECK(p != NULL);
        if (!p) break;
        if (prev) CHECK(p == prev + MiB);
        memset(p, (int)i, MiB);
        prev = p;
    }
    CHECK(query(prev + MiB - 1).State == MEM_COMMIT);
    CHECK(arena_stats(&a).bytes_held >= 40 * MiB);
    CHECK(arena_stats(&a).bytes_held < 128 * MiB);
    CHECK(arena_stats(&a).block_count == 1);
    CHECK(arena_stats(&a).grab_count > 1);       /* several commits */
    CHECK(prev[MiB - 1] == 39 && base[sizeof(arena__Block) + 64] == 0);
    /* the newest allocation grows in place across the committed end */
    {
        char *r = (char *)arena_realloc(&a, prev, MiB, 30 * MiB);
        CHECK(r == prev);
        if (r) { r[30 * MiB - 1] = 1; CHECK(query(r + 30 * MiB - 1).State == MEM_COMMIT); }
    }
    CHECK(heap_mallocs == mallocs);              /* no heap call, ever */
    arena_release(&a);
    CHECK(query(base).State == MEM_FREE);
    CHECK(err_calls == 0);
}

static void virtual_reset_decommits(void) {
    Arena a;
    char *base, *p;
    CHECK(arena_init_virtual(&a, 128 * MiB));
    base = (char *)a.block;
    if (!base) return;
    a.opt.keep_bytes = 4 * MiB;                  /* what reset may keep */
    p = (char *)arena_alloc(&a, 40 * MiB);
    CHECK(p != NULL);
    if (p) memset(p, 0x5A, 40 * MiB);
    CHECK(query(base + 39 * MiB).State == MEM_COMMIT);
    arena_reset(&a);
    CHECK(arena_stats(&a).bytes_used == 0);
    CHECK(arena_stats(&a).bytes_held <= 4 * MiB + 65536);
    CHECK(query(base + 2 * MiB).State == MEM_COMMIT);    /* kept */
    CHECK(query(base + 8 * MiB).State == MEM_RESERVE);   /* given back */
    CHECK(query(base + 39 * MiB).State == MEM_RESERVE);
    /* and committed again on demand, same addresses */
    p = (char *)arena_alloc(&a, 20 * MiB);
    CHECK(p != NULL && p < base + MiB);
    if (p) { memset(p, 1, 20 * MiB); CHECK(query(p + 20 * MiB - 1).State == MEM_COMMIT); }
    arena_release(&a);
    CHECK(query(base).State == MEM_FREE);
    CHECK(err_calls == 0);
}

static void virtual_exhausted_and_default(void) {
    Arena a;
    size_t i;
    void *p;
    arena_set_error_handler(on_error, NULL);
    CHECK(arena_init_virtual(&a, MiB));
    for (i = 0; i < 2 * MiB / 4096; i++)
        if (!arena_alloc(&a, 4096)) break;
    CHECK(i < MiB / 4096);                        /* stopped inside the reservation */
    CHECK(err_calls == 1 && err_last == ARENA_ERR_OOM);
    arena_release(&a);
    err_calls = 0;
    /* the default reservation: 64 GiB of address space on x64 */
    CHECK(arena_init_virtual(&a, 0));
    CHECK(a.block != NULL);
    if (a.block) {
        MEMORY_BASIC_INFORMATION mi = query((char *)a.block + ((size_t)1 << 36) - 1);
        CHECK(mi.AllocationBase == (void *)a.block && mi.State == MEM_RESERVE);
    }
    p = arena_alloc(&a, 3 * MiB);
    CHECK(p != NULL);
    if (p) memset(p, 7, 3 * MiB);
    arena_release(&a);
    CHECK(err_calls == 0);
    arena_set_error_handler(NULL, NULL);
}

/* ---- scratch arenas and thread exit ----------------------------------------- */

#define NTHREADS 8

typedef struct Worker {
    int index;
    int mode;                  /* how the thread ends, see worker_body */
    Arena *arena0, *arena1;    /* the scratch arenas it got */
    char *lo, *hi;             /* the range of its first allocation */
    HANDLE ready, go;
} Worker;

enum { END_CLEAN, END_TEMP_OPEN, END_EXIT_THREAD, END_RELEASED, END_NO_SCRATCH };

static void worker_body(Worker *w) {
    ArenaTemp t0, t1;
    size_t i;
    char *p;
    if (w->mode == END_NO_SCRATCH) {
        SetEvent(w->ready);
        WaitForSingleObject(w->go, INFINITE);
        return;
    }
    t0 = arena_scratch_begin(NULL);
    t1 = arena_scratch_begin(t0.arena);
    w->arena0 = t0.arena;
    w->arena1 = t1.arena;
    TCHECK(t0.arena != NULL && t1.arena != NULL && t0.arena != t1.arena);
    p = (char *)arena_alloc(t0.arena, 1000);
    TCHECK(p != NULL);
    if (p) memset(p, w->index, 1000);
    w->lo = p;
    w->hi = p ? p + 1000 : NULL;
    /* several blocks in both scratch arenas (64 KiB first, then doubling) */
    for (i = 0; i < 40; i++) {
        char *q = (char *)arena_alloc(t0.arena, 16 << 10);
        char *r = (char *)arena_alloc(t1.arena, 8 << 10);
        TCHECK(q != NULL && r != NULL);
        if (q) memset(q, 0xAB, 16 << 10);
        if (r) memset(r, 0xCD, 8 << 10);
    }
    TCHECK(arena_stats(t0.arena).block_count >= 3);
    /* all threads are alive here: main checks the arenas are distinct */
    SetEvent(w->ready);
    WaitForSingleObject(w->go, INFINITE);
    if (p) {
        for (i = 0; i < 1000; i++) if (p[i] != (char)w->index) break;
        TCHECK(i == 1000);                     /* no other thread wrote here */
    }
    switch (w->mode) {
    case END_TEMP_OPEN:
        return;                                 /* temps never ended */
    case END_EXIT_THREAD:
        ExitThread(0);
    case END_RELEASED:
        arena_temp_end(t1);
        arena_temp_end(t0);
        arena_scratch_release();
        /* and once more after the release: given back at exit again */
        TCHECK(arena_alloc(arena_scratch_begin(NULL).arena, 100) != NULL);
        return;
    default:
        arena_temp_end(t1);
        arena_temp_end(t0);
        return;
    }
}

static DWORD WINAPI win_thread(LPVOID arg) { worker_body((Worker *)arg); return 0; }
static unsigned __stdcall crt_thread(void *arg) { worker_body((Worker *)arg); return 0; }

/* Runs NTHREADS workers at once (half CreateThread, half _beginthreadex),
   checks their scratch arenas are distinct from each other and from this
   thread's, and that no block is live once they have all exited. */
static void run_workers(const int *modes) {
    Worker w[NTHREADS];
    HANDLE th[NTHREADS];
    ArenaTemp mine = arena_scratch_begin(NULL);
    LONG live0;
    int i, j, n = 0;
    arena_temp_end(mine);
    arena_scratch_release();
    live0 = heap_live;
    memset(w, 0, sizeof w);
    for (i = 0; i < NTHREADS; i++) {
        w[i].index = i + 1;
        w[i].mode = modes[i];
        w[i].ready = CreateEventA(NULL, TRUE, FALSE, NULL);
        w[i].go = CreateEventA(NULL, TRUE, FALSE, NULL);
        th[i] = i % 2 ? CreateThread(NULL, 0, win_thread, &w[i], 0, NULL)
                      : (HANDLE)_beginthreadex(NULL, 0, crt_thread, &w[i], 0, NULL);
        CHECK(th[i] != NULL);
        if (!th[i]) break;
        n++;
    }
    for (i = 0; i < n; i++) WaitForSingleObject(w[i].ready, INFINITE);
    for (i = 0; i < n; i++) {
        if (w[i].mode == END_NO_SCRATCH) continue;
        CHECK(w[i].arena0 != mine.arena);
        for (j = 0; j < n; j++) {
            if (j == i || w[j].mode == END_NO_SCRATCH) continue;
            CHECK(w[i].arena0 != w[j].arena0 && w[i].arena0 != w[j].arena1);
            CHECK(w[i].lo >= w[j].hi || w[i].hi <= w[j].lo);
        }
    }
    CHECK(heap_live > live0);
    for (i = 0; i < n; i++) SetEvent(w[i].go);
    for (i = 0; i < n; i++) {
        DWORD code = 1;
        CHECK(WaitForSingleObject(th[i], 10000) == WAIT_OBJECT_0);
        CHECK(GetExitCodeThread(th[i], &code) && code == 0);
        CloseHandle(th[i]);
    }
    for (i = 0; i < NTHREADS; i++) { CloseHandle(w[i].ready); CloseHandle(w[i].go); }
    if (heap_live != live0)
        fprintf(stderr, "  %ld scratch blocks still live after the threads exited\n",
                (long)(heap_live - live0));
    CHECK(heap_live == live0);
}

static void scratch_threads_clean_exit(void) {
    static const int modes[NTHREADS] = {END_CLEAN, END_CLEAN, END_CLEAN, END_CLEAN,
                                        END_CLEAN, END_CLEAN, END_CLEAN, END_CLEAN};
    run_workers(modes);
}

static void scratch_threads_every_exit(void) {
    static const int modes[NTHREADS] = {END_CLEAN, END_TEMP_OPEN, END_EXIT_THREAD, END_RELEASED,
                                        END_NO_SCRATCH, END_TEMP_OPEN, END_EXIT_THREAD, END_RELEASED};
    run_workers(modes);
}

/* Many short threads one after the other: one FLS index for all of them. */
static DWORD WINAPI short_thread(LPVOID arg) {
    ArenaTemp t = arena_scratch_begin(NULL);
    (void)arg;
    TCHECK(arena_alloc(t.arena, 100 << 10) != NULL);
    return 0;
}

static void scratch_many_threads(void) {
    LONG live0, frees0;
    int i;
    arena_scratch_release();
    live0 = heap_live;
    frees0 = heap_frees;
    for (i = 0; i < 200; i++) {
        HANDLE h = CreateThread(NULL, 0, short_thread, NULL, 0, NULL);
        CHECK(h != NULL);
        if (!h) break;
        WaitForSingleObject(h, INFINITE);
        CloseHandle(h);
        if (heap_live != live0) break;
    }
    CHECK(heap_live == live0);
    CHECK(heap_frees - frees0 >= 200);
}


/* A thread whose first scratch use is on a fiber it then deletes: the
   thread keeps using scratch afterwards, and must still get every block
   back when it exits. */
static LPVOID fiber_main_fiber;

static VOID CALLBACK fiber_body(LPVOID arg) {
    ArenaTemp t = arena_scratch_begin(NULL);
    (void)arg;
    TCHECK(arena_alloc(t.arena, 100 << 10) != NULL);
    arena_temp_end(t);
    SwitchToFiber(fiber_main_fiber);
}

static DWORD WINAPI fiber_thread(LPVOID arg) {
    LPVOID f;
    ArenaTemp t;
    (void)arg;
    fiber_main_fiber = ConvertThreadToFiber(NULL);
    TCHECK(fiber_main_fiber != NULL);
    f = CreateFiber(0, fiber_body, NULL);
    TCHECK(f != NULL);
    if (!fiber_main_fiber || !f) return 1;
    SwitchToFiber(f);
    DeleteFiber(f);
    t = arena_scratch_begin(NULL);          /* the thread's scratch, again */
    TCHECK(arena_alloc(t.arena, 200 << 10) != NULL);
    ConvertFiberToThread();
    return 0;
}

static void scratch_fiber_then_thread_exit(void) {
    LONG live0;
    HANDLE h;
    arena_scratch_release();
    live0 = heap_live;
    h = CreateThread(NULL, 0, fiber_thread, NULL, 0, NULL);
    CHECK(h != NULL);
    if (!h) return;
    WaitForSingleObject(h, INFINITE);
    CloseHandle(h);
    if (heap_live != live0)
        fprintf(stderr, "  %ld scratch blocks still live after the thread exited\n",
                (long)(heap_live - live0));
    CHECK(heap_live == live0);
}

/* The main thread: its scratch goes back with arena_scratch_release. */
static void scratch_main_thread(void) {
    ArenaTemp t = arena_scratch_begin(NULL);
    CHECK(arena_alloc(t.arena, 300 << 10) != NULL);
    CHECK(heap_live > 0);
    arena_temp_end(t);
    arena_scratch_release();
    CHECK(heap_live == 0);
}

/* ---- pools on the Windows heap and on a virtual arena's memory ------------- */

static void pool_on_windows(void) {
    Pool p;
    void *objs[1000];
    int i;
    LONG live0 = heap_live;
    pool_init(&p, 48, 16);
    for (i = 0; i < 1000; i++) {
        objs[i] = pool_alloc(&p);
        CHECK(objs[i] != NULL && ((uintptr_t)objs[i] & 15) == 0);
    }
    for (i = 0; i < 1000; i += 2) CHECK(pool_free(&p, objs[i]));
    arena_set_error_handler(on_error, NULL);
    CHECK(!pool_free(&p, objs[0]));               /* double free refused */
    CHECK(err_calls == 1 && err_last == ARENA_ERR_MISUSE);
    arena_set_error_handler(NULL, NULL);
    CHECK(pool_stats(&p).live == 500);
    pool_release(&p);
    CHECK(heap_live == live0);
}

int main(void) {
    RUN(virtual_commit_on_demand);
    RUN(virtual_reset_decommits);
    RUN(virtual_exhausted_and_default);
    RUN(scratch_main_thread);
    RUN(scratch_threads_clean_exit);
    RUN(scratch_threads_every_exit);
    RUN(scratch_many_threads);
    RUN(scratch_fiber_then_thread_exit);
    RUN(pool_on_windows);
    arena_scratch_release();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
