// cpp_objects.cpp - C++ objects with destructors in an arena: no new, no
// delete, and every destructor runs exactly once, newest first, when the
// arena rewinds past the object or is reset.
//
//   arena_make<T>(&a, args...)     constructs a T; its destructor is
//                                  registered with arena_defer
//   arena_make_array<T>(&a, n)     n Ts, destroyed in reverse order
//   ArenaAllocator<T>              std::vector / std::basic_string storage
//                                  in the arena (deallocate gives nothing
//                                  back; the arena does, all at once)
//
// The destructor order is recorded and checked: exit status 1 if wrong.
#define ARENA_IMPLEMENTATION
#include "../arena.h"
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

// Counts the program's calls to operator new: the arena code makes none.
static int heap_news;
void *operator new(std::size_t n) {
    heap_news++;
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void *p) noexcept { std::free(p); }
#ifdef __cpp_sized_deallocation
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
#endif

static int destroyed[64];     // ids in destruction order
static int destroyed_count;
static int next_id = 100;     // ids for default-constructed Tracers

struct Tracer {
    int id;
    Tracer() : id(next_id++) {}
    explicit Tracer(int i) : id(i) {}
    Tracer(const Tracer &o) : id(o.id) {}   // never used here: the vector is reserved
    ~Tracer() {
        if (destroyed_count < 64) destroyed[destroyed_count++] = id;
    }
};

typedef std::vector<Tracer, ArenaAllocator<Tracer>> TracerVec;
typedef std::basic_string<char, std::char_traits<char>, ArenaAllocator<char>> ArenaString;

static int failures;

// Prints what was destroyed since `from` and checks it against `want`; the
// first `any_order` ids may come in any order (a container's elements:
// libstdc++ destroys them first to last, libc++ last to first).
static void check(const char *what, int from, const int *want, int n, int any_order = 0) {
    std::printf("%-34s destroyed:", what);
    for (int i = from; i < destroyed_count; i++) std::printf(" %d", destroyed[i]);
    bool ok = destroyed_count - from == n;
    for (int i = 0; ok && i < n; i++) {
        ok = destroyed[from + i] == want[i];
        for (int j = 0; !ok && i < any_order && j < any_order; j++) ok = destroyed[from + i] == want[j];
    }
    std::printf("%s\n", ok ? "" : "   <- WRONG");
    if (!ok) failures++;
}

int main() {
    Arena a = {};

    // Three objects, then a mark, then two more and an array of three.
    Tracer *t1 = arena_make<Tracer>(&a, 1);
    Tracer *t2 = arena_make<Tracer>(&a, 2);
    Tracer *t3 = arena_make<Tracer>(&a, 3);
    ArenaMark mark = arena_mark(&a);
    arena_make<Tracer>(&a, 4);
    arena_make<Tracer>(&a, 5);
    Tracer *arr = arena_make_array<Tracer>(&a, 3);   // ids 100, 101, 102
    std::printf("made 1 2 3 | mark | 4 5 [%d %d %d]\n", arr[0].id, arr[1].id, arr[2].id);

    int from = destroyed_count;
    arena_rewind(&a, mark);
    const int after_rewind[] = {102, 101, 100, 5, 4};
    check("rewind to the mark:", from, after_rewind, 5);

    // A vector and a string whose storage is in the arena, themselves made
    // in the arena so that their destructors run at the reset too.
    size_t before = arena_stats(&a).bytes_used;
    int news_before = heap_news;
    TracerVec *v = arena_make<TracerVec>(&a, ArenaAllocator<Tracer>(&a));
    v->reserve(3);
    v->emplace_back(10);
    v->emplace_back(11);
    v->emplace_back(12);
    ArenaString *s = arena_make<ArenaString>(&a, "a string too long for the small-string buffer",
                                             ArenaAllocator<char>(&a));
    s->append(", appended in the arena");
    int news = heap_news - news_before;
    std::printf("vector {%d %d %d} and a %zu-char string: %zu arena bytes, %d operator new calls%s\n",
                (*v)[0].id, (*v)[1].id, (*v)[2].id, s->size(),
                arena_stats(&a).bytes_used - before, news, news ? "   <- WRONG" : "");
    if (news) failures++;
    std::printf("objects still alive: %d %d %d\n", t1->id, t2->id, t3->id);

    // Reset: newest first. The string goes first (nothing to print), then
    // the vector, which destroys its elements (in its own order), then 3 2 1.
    from = destroyed_count;
    arena_reset(&a);
    const int after_reset[] = {10, 11, 12, 3, 2, 1};
    check("reset:", from, after_reset, 6, 3);

    // Nothing runs twice: a second reset and the release find nothing.
    from = destroyed_count;
    arena_reset(&a);
    arena_release(&a);
    check("second reset, then release:", from, nullptr, 0);

    // Each id exactly once over the whole run.
    int ids[] = {1, 2, 3, 4, 5, 10, 11, 12, 100, 101, 102};
    for (int id : ids) {
        int times = 0;
        for (int i = 0; i < destroyed_count; i++) times += destroyed[i] == id;
        if (times != 1) {
            std::printf("Tracer %d destroyed %d times   <- WRONG\n", id, times);
            failures++;
        }
    }
    if (failures) {
        std::printf("FAILED: %d check(s)\n", failures);
        return 1;
    }
    std::printf("every destructor ran exactly once, newest first\n");
    return 0;
}
