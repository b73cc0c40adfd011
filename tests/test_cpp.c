/* test_cpp.c - the C++ helpers of arena.h: arena_make, arena_make_array and
   ArenaAllocator. Compiled as C this suite has nothing to run; the C++
   build of `make test` (and the C++ ports) runs it. */
#include "test.h"

#ifdef __cplusplus
#include <string>
#include <vector>
#include <stdexcept>

static int dtor_log[64], dtor_n;

struct Tracked {
    int id;
    std::string text;   /* owns heap memory: a skipped destructor leaks */
    Tracked(int i, const char *t) : id(i), text(t) {}
    ~Tracked() { if (dtor_n < 64) dtor_log[dtor_n++] = id; }
};

static int ctor_count, throw_at;
struct Fragile {
    int id;
    Fragile() : id(++ctor_count) {
        if (ctor_count == throw_at) throw std::runtime_error("third");
    }
    ~Fragile() { if (dtor_n < 64) dtor_log[dtor_n++] = id; }
};

static Arena cpp_arena() { Arena a = {}; return a; }

TEST(cpp_make_destructors_newest_first) {
    Arena a = cpp_arena();
    dtor_n = 0;
    Tracked *t1 = arena_make<Tracked>(&a, 1, "a string long enough to live on the heap, 1");
    Tracked *t2 = arena_make<Tracked>(&a, 2, "a string long enough to live on the heap, 2");
    ArenaMark m = arena_mark(&a);
    Tracked *t3 = arena_make<Tracked>(&a, 3, "three");
    Tracked *t4 = arena_make<Tracked>(&a, 4, "four");
    CHECK(t1 && t2 && t3 && t4);
    CHECK(t1->id == 1 && t4->text == "four");
    CHECK(test_is_aligned(t3, alignof(Tracked)));
    arena_rewind(&a, m);                   /* 4, 3: only those after the mark */
    CHECK_EQ(dtor_n, 2);
    CHECK(dtor_log[0] == 4 && dtor_log[1] == 3);
    CHECK(t1->text.size() > 20);           /* the older ones are untouched */
    arena_reset(&a);                       /* then 2, 1 */
    CHECK_EQ(dtor_n, 4);
    CHECK(dtor_log[2] == 2 && dtor_log[3] == 1);
    arena_reset(&a);                       /* exactly once: nothing more */
    arena_release(&a);
    CHECK_EQ(dtor_n, 4);
    CHECK_NO_ERR();
}

TEST(cpp_make_on_release_and_trivial_types) {
    Arena a = cpp_arena();
    dtor_n = 0;
    CHECK(arena_make<Tracked>(&a, 7, "seven") != NULL);
    size_t used = arena_stats(&a).bytes_used;
    int *i = arena_make<int>(&a, 42);      /* trivially destructible: no cleanup */
    CHECK(i && *i == 42);
    CHECK(arena_stats(&a).bytes_used - used < 2 * ARENA_MIN_ALIGN + 2 * ARENA__REDZONE);
    arena_release(&a);
    CHECK_EQ(dtor_n, 1);
    CHECK_EQ(dtor_log[0], 7);
}

TEST(cpp_make_array_and_exceptions) {
    Arena a = cpp_arena();
    dtor_n = 0;
    ctor_count = 0;
    throw_at = 0;
    Fragile *f = arena_make_array<Fragile>(&a, 5);
    CHECK(f != NULL && f[4].id == 5);
    arena_reset(&a);                       /* reverse order: 5 4 3 2 1 */
    CHECK_EQ(dtor_n, 5);
    CHECK(dtor_log[0] == 5 && dtor_log[4] == 1);
    dtor_n = 0;
    ctor_count = 0;
    throw_at = 3;
    bool thrown = false;
    try {
        arena_make_array<Fragile>(&a, 5);
    } catch (const std::runtime_error &) {
        thrown = true;
    }
    CHECK(thrown);
    CHECK_EQ(dtor_n, 2);                   /* the two built are destroyed */
    CHECK(dtor_log[0] == 2 && dtor_log[1] == 1);
    arena_release(&a);
    CHECK_EQ(dtor_n, 2);                   /* and nothing runs twice */
}

TEST(cpp_make_out_of_memory) {
    union { max_align_t align; char b[256]; } buf;
    Arena a;
    CHECK(arena_init_buffer(&a, buf.b, sizeof buf.b));
    dtor_n = 0;
    int made = 0;
    while (arena_make<Tracked>(&a, made, "x")) made++;
    CHECK(made > 0);
    CHECK_ERR(ARENA_ERR_OOM);
    /* the failed call may have built its object and destroyed it again
       (its cleanup could not be registered): then its id is `made` */
    int before = dtor_n;
    CHECK(before == 0 || (before == 1 && dtor_log[0] == made));
    arena_release(&a);
    CHECK_EQ(dtor_n - before, made);       /* every object made is destroyed once */
    for (int k = before; k < dtor_n; k++) CHECK_EQ(dtor_log[k], made - 1 - (k - before));
}

TEST(cpp_allocator_vector_and_string) {
    Arena a = cpp_arena();
    {
        std::vector<int, ArenaAllocator<int> > v{ArenaAllocator<int>(&a)};
        for (int i = 0; i < 10000; i++) v.push_back(i);
        long long sum = 0;
        for (int x : v) sum += x;
        CHECK_EQ(sum, 49995000LL);
        typedef std::basic_string<char, std::char_traits<char>, ArenaAllocator<char> > AString;
        AString s{ArenaAllocator<char>(&a)};
        for (int i = 0; i < 100; i++) s += "arena ";
        CHECK_EQ(s.size(), (size_t)600);
        CHECK(ArenaAllocator<int>(&a) == ArenaAllocator<char>(&a));
        CHECK(arena_stats(&a).bytes_used >= 10000 * sizeof(int));
    }
    union { max_align_t align; char b[512]; } buf;
    Arena small;
    CHECK(arena_init_buffer(&small, buf.b, sizeof buf.b));
    bool thrown = false;
    try {
        std::vector<int, ArenaAllocator<int> > v{ArenaAllocator<int>(&small)};
        v.resize(100000);
    } catch (const std::bad_alloc &) {
        thrown = true;
    }
    CHECK(thrown);
    CHECK_ERR(ARENA_ERR_OOM);
    /* n * sizeof(T) overflows: the handler hears of it, then bad_alloc */
    thrown = false;
    try {
        ArenaAllocator<uint64_t>(&a).allocate(SIZE_MAX / 4);
    } catch (const std::bad_alloc &) {
        thrown = true;
    }
    CHECK(thrown);
    CHECK_ERR(ARENA_ERR_OVERFLOW);
    arena_release(&a);
    CHECK_NO_ERR();
}
#endif

void suite_cpp(void) {
#ifdef __cplusplus
    RUN(cpp_make_destructors_newest_first);
    RUN(cpp_make_on_release_and_trivial_types);
    RUN(cpp_make_array_and_exceptions);
    RUN(cpp_make_out_of_memory);
    RUN(cpp_allocator_vector_and_string);
#endif
}
