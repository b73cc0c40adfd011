/* threads.h - the few thread primitives the tests need, on pthreads or
   Win32 (the suite also runs under Wine): start/join, a mutex, a barrier,
   and a thread-safe error log for handlers called from many threads. */
#ifndef TEST_THREADS_H
#define TEST_THREADS_H
#include "test.h"

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#define TEST_THREADS 1
typedef CRITICAL_SECTION TMutex;
#define tm_init(m) InitializeCriticalSection(m)
#define tm_lock(m) EnterCriticalSection(m)
#define tm_unlock(m) LeaveCriticalSection(m)
#define tm_destroy(m) DeleteCriticalSection(m)
#define t_yield() ((void)SwitchToThread())
#elif !defined(ARENA_NO_THREADS)
#include <pthread.h>
#include <sched.h>
#define TEST_THREADS 1
typedef pthread_mutex_t TMutex;
#define tm_init(m) pthread_mutex_init((m), NULL)
#define tm_lock(m) pthread_mutex_lock(m)
#define tm_unlock(m) pthread_mutex_unlock(m)
#define tm_destroy(m) pthread_mutex_destroy(m)
#define t_yield() ((void)sched_yield())
#else
#define TEST_THREADS 0
#endif

#if TEST_THREADS
typedef struct TThread {
    void (*fn)(void *arg);
    void *arg;
#if defined(_WIN32)
    HANDLE h;
#else
    pthread_t h;
#endif
} TThread;

#if defined(_WIN32)
static DWORD WINAPI t__tramp(LPVOID p) {
    TThread *t = (TThread *)p;
    t->fn(t->arg);
    return 0;
}
static inline int t_start(TThread *t, void (*fn)(void *), void *arg) {
    t->fn = fn;
    t->arg = arg;
    t->h = CreateThread(NULL, 0, t__tramp, t, 0, NULL);
    return t->h != NULL;
}
static inline void t_join(TThread *t) {
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
}
#else
static void *t__tramp(void *p) {
    TThread *t = (TThread *)p;
    t->fn(t->arg);
    return NULL;
}
static inline int t_start(TThread *t, void (*fn)(void *), void *arg) {
    t->fn = fn;
    t->arg = arg;
    return pthread_create(&t->h, NULL, t__tramp, t) == 0;
}
static inline void t_join(TThread *t) { pthread_join(t->h, NULL); }
#endif

/* An int read and written under a mutex (flags between threads). */
typedef struct TFlag { TMutex mu; int v; } TFlag;
static inline void tf_init(TFlag *f) { tm_init(&f->mu); f->v = 0; }
static inline void tf_set(TFlag *f, int v) { tm_lock(&f->mu); f->v = v; tm_unlock(&f->mu); }
static inline int tf_get(TFlag *f) { int v; tm_lock(&f->mu); v = f->v; tm_unlock(&f->mu); return v; }
static inline void tf_add(TFlag *f, int d) { tm_lock(&f->mu); f->v += d; tm_unlock(&f->mu); }
static inline void tf_wait(TFlag *f, int v) { while (tf_get(f) != v) t_yield(); }
static inline void tf_destroy(TFlag *f) { tm_destroy(&f->mu); }

/* A reusable barrier for n threads (mutex and yield: oversubscribed
   threads give their time slice to the ones still on the way). */
typedef struct TBarrier { TMutex mu; int n, waiting, round; } TBarrier;
static inline void tb_init(TBarrier *b, int n) {
    tm_init(&b->mu);
    b->n = n;
    b->waiting = b->round = 0;
}
static inline void tb_wait(TBarrier *b) {
    int round;
    tm_lock(&b->mu);
    round = b->round;
    if (++b->waiting == b->n) {
        b->waiting = 0;
        b->round++;
        tm_unlock(&b->mu);
        return;
    }
    tm_unlock(&b->mu);
    for (;;) {
        int now;
        tm_lock(&b->mu);
        now = b->round;
        tm_unlock(&b->mu);
        if (now != round) return;
        t_yield();
    }
}
static inline void tb_destroy(TBarrier *b) { tm_destroy(&b->mu); }

/* Error handler for many threads: counts calls per error kind. */
typedef struct TErrLog { TMutex mu; int calls[ARENA_ERR_MISUSE + 1]; } TErrLog;
static void t__log_err(ArenaError err, const char *msg, void *ctx) {
    TErrLog *log = (TErrLog *)ctx;
    (void)msg;
    tm_lock(&log->mu);
    log->calls[err]++;
    tm_unlock(&log->mu);
}
static inline void terr_install(TErrLog *log) {
    memset(log, 0, sizeof *log);
    tm_init(&log->mu);
    arena_set_error_handler(t__log_err, log);
}
static inline int terr_total(TErrLog *log) {
    int i, n = 0;
    for (i = 0; i <= ARENA_ERR_MISUSE; i++) n += log->calls[i];
    return n;
}
/* Back to the runner's capturing handler. */
static inline void terr_remove(TErrLog *log) {
    test_err_clear();
    tm_destroy(&log->mu);
}
#endif /* TEST_THREADS */
#endif
