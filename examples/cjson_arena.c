/* cjson_arena.c - a real third-party parser, cJSON, allocating from an arena
   through cJSON_InitHooks, checked against cJSON on malloc.

   What cJSON needs from its hooks: malloc_fn(size) returning memory aligned
   for any type, and free_fn(ptr) without a size. There is no realloc hook:
   with custom hooks cJSON sets its internal realloc to NULL, so cJSON_Print
   grows its output buffer by malloc + copy + free. On the arena free_fn does
   nothing, the dead buffers stay until the reset, and the whole document -
   tree, strings and printed text - goes at once with arena_reset (the
   memory is kept for the next document, so after the first run there are
   no more calls to malloc at all).

   cJSON's hooks are global: every object must be freed under the hooks it
   was allocated with, so each phase below sets its hooks first.

   usage: cjson_arena [directory]   (default ../../shared/data/json) */
#define ARENA_IMPLEMENTATION
#include "../arena.h"
#include <cjson/cJSON.h>
#include "json_files.h"
#include <stdio.h>
#include <stdlib.h>

static Arena json_arena;   /* cJSON's hooks take no context: a global */

static void *arena_malloc_hook(size_t size) { return arena_alloc(&json_arena, size); }
static void arena_free_hook(void *p) { (void)p; }   /* reclaimed by arena_reset */

static void use_arena(void) {
    cJSON_Hooks hooks;
    hooks.malloc_fn = arena_malloc_hook;
    hooks.free_fn = arena_free_hook;
    cJSON_InitHooks(&hooks);
}

static void use_malloc(void) { cJSON_InitHooks(NULL); }

enum { RUNS = 3 };

typedef struct Doc {
    JsonFile f;
    size_t out_len, arena_used;
    double m_parse, m_print, m_delete, a_parse, a_print, a_reset;   /* best of RUNS */
    bool identical;
} Doc;

static const char sample[] =
    "{\"name\": \"sample\", \"escapes\": \"tab\\there \\\"quoted\\\" \\u00e9\",\n"
    " \"numbers\": [0, -1, 3.25, 6.02e23], \"flags\": [true, false, null],\n"
    " \"people\": [{\"id\": 1, \"tags\": [\"a\", \"b\"]}, {\"id\": 2, \"tags\": []}]}";

int main(int argc, char **argv) {
    Arena files = {0};
    JsonFile found[JSON_FILES_MAX];
    Doc docs[JSON_FILES_MAX];
    size_t ndocs, i, grabs_after_first = 0;
    int run, failures = 0;
    double t;

    memset(docs, 0, sizeof docs);
    ndocs = json_find_documents(&files, argc, argv, sample, found);
    for (i = 0; i < ndocs; i++) docs[i].f = found[i];

    for (run = 0; run < RUNS; run++) {
        for (i = 0; i < ndocs; i++) {
            Doc *d = &docs[i];
            cJSON *root;
            char *m_out, *a_out;

            /* cJSON on malloc: parse, print, delete. */
            use_malloc();
            t = now_ms();
            root = cJSON_Parse(d->f.text);
            d->m_parse = best_of(d->m_parse, now_ms() - t, run);
            t = now_ms();
            m_out = root ? cJSON_PrintUnformatted(root) : NULL;
            d->m_print = best_of(d->m_print, now_ms() - t, run);
            t = now_ms();
            cJSON_Delete(root);
            d->m_delete = best_of(d->m_delete, now_ms() - t, run);

            /* The same on the arena; cJSON_Delete would walk the tree to
               free nothing, so the document just goes with the reset. */
            use_arena();
            t = now_ms();
            root = cJSON_Parse(d->f.text);
            d->a_parse = best_of(d->a_parse, now_ms() - t, run);
            t = now_ms();
            a_out = root ? cJSON_PrintUnformatted(root) : NULL;
            d->a_print = best_of(d->a_print, now_ms() - t, run);

            if (run == 0) {
                d->identical = m_out && a_out && strcmp(m_out, a_out) == 0;
                d->out_len = a_out ? strlen(a_out) : 0;
                d->arena_used = arena_stats(&json_arena).bytes_used;
                if (!d->identical) failures++;
            }
            t = now_ms();
            arena_reset(&json_arena);
            d->a_reset = best_of(d->a_reset, now_ms() - t, run);

            use_malloc();
            cJSON_free(m_out);
        }
        if (run == 0) grabs_after_first = arena_stats(&json_arena).grab_count;
    }

    printf("cJSON %s, best of %d runs   malloc: parse   print  delete   arena: parse   print   reset"
           "  arena used\n", cJSON_Version(), RUNS);
    for (i = 0; i < ndocs; i++) {
        Doc *d = &docs[i];
        printf("%-18s %5.1f MiB %14.2f %7.2f %7.2f %14.2f %7.2f %7.3f %7.1f MiB  %s\n", d->f.name,
               (double)d->f.size / 1048576.0, d->m_parse, d->m_print, d->m_delete, d->a_parse,
               d->a_print, d->a_reset, (double)d->arena_used / 1048576.0,
               d->identical ? "identical" : "DIFFERENT");
    }
    printf("(times in ms; \"identical\": cJSON_PrintUnformatted of both parses compared with strcmp)\n");
    printf("arena: %zu calls to malloc in the first run, %zu in the %d after it (reset keeps the memory)\n",
           grabs_after_first, arena_stats(&json_arena).grab_count - grabs_after_first, RUNS - 1);
    arena_release(&json_arena);
    arena_release(&files);
    if (failures) {
        printf("FAILED: %d document(s) printed differently\n", failures);
        return 1;
    }
    return 0;
}
