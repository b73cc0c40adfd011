/* stbds.c - stb_ds (STBDS_REALLOC / STBDS_FREE) in a game-style frame
   loop: entities in a dynamic array, an id -> slot hash map, names in a
   string hash map, and per-frame scratch arrays. */
#include <stdio.h>
#include "client.h"

/* stb_ds passes no context of ours: the allocator of the running workload. */
static const ClAlloc *cl_stbds_on;
static void *cl_stbds_realloc(void *p, size_t n) { return cl_stbds_on->realloc(cl_stbds_on->ctx, p, n); }
static void cl_stbds_free(void *p) { cl_stbds_on->free(cl_stbds_on->ctx, p); }
#define STBDS_REALLOC(c, p, s) ((void)(c), cl_stbds_realloc((p), (s)))
#define STBDS_FREE(c, p) ((void)(c), cl_stbds_free(p))
#define STB_DS_IMPLEMENTATION
#include <stb/stb_ds.h>

typedef struct {
    int id, hp;
    int x, y, vx, vy;
} ClEnt;

typedef struct { int key, value; } ClById;
typedef struct { char *key; int value; } ClByName;

uint64_t cl_stbds(const ClAlloc *a, int scale) {
    ClEnt *ents = NULL;
    ClById *byid = NULL;
    ClByName *names = NULL;
    uint64_t h = CL_HASH_SEED;
    int frame, frames = 600 * scale, next_id = 0;
    uint32_t rng = 1;
    cl_stbds_on = a;
    sh_new_strdup(names);
    for (frame = 0; frame < frames; frame++) {
        int *hits = NULL, i, spawn = 5 + frame % 23;
        char name[32];
        for (i = 0; i < spawn; i++) {
            ClEnt e;
            rng = rng * 1103515245u + 12345u;
            e.id = next_id++;
            e.hp = 50 + (int)(rng >> 24) % 50;
            e.x = (int)(rng >> 8) % 1000;
            e.y = (int)(rng >> 12) % 1000;
            e.vx = (int)(rng >> 16) % 7 - 3;
            e.vy = (int)(rng >> 20) % 7 - 3;
            arrput(ents, e);
            hmput(byid, e.id, (int)arrlen(ents) - 1);
            snprintf(name, sizeof name, "ent-%d", e.id);
            shput(names, name, e.id);
        }
        for (i = 0; i < (int)arrlen(ents); i++) {
            ents[i].x += ents[i].vx;
            ents[i].y += ents[i].vy;
            if (ents[i].x < 0 || ents[i].x > 1000 || ents[i].y < 0 || ents[i].y > 1000) ents[i].hp -= 10;
            if ((ents[i].x ^ ents[i].y ^ frame) % 11 == 0) arrput(hits, i);
        }
        for (i = 0; i < (int)arrlen(hits); i++) ents[hits[i]].hp -= 7;
        arrfree(hits);
        for (i = 0; i < (int)arrlen(ents);) {   /* the dead leave: swap in the last */
            if (ents[i].hp > 0) {
                i++;
                continue;
            }
            snprintf(name, sizeof name, "ent-%d", ents[i].id);
            shdel(names, name);
            hmdel(byid, ents[i].id);
            arrdelswap(ents, i);
            if (i < (int)arrlen(ents)) hmput(byid, ents[i].id, i);
        }
        if (frame % 60 == 59) {
            h = cl_hash_u(h, (uint64_t)arrlen(ents));
            h = cl_hash_u(h, (uint64_t)hmlen(byid));
            h = cl_hash_u(h, (uint64_t)shlen(names));
            for (i = 0; i < (int)arrlen(ents); i += 17) {
                h = cl_hash_u(h, (uint64_t)(ents[i].x * 1000 + ents[i].y));
                h = cl_hash_u(h, (uint64_t)hmget(byid, ents[i].id));
            }
        }
    }
    arrfree(ents);
    hmfree(byid);
    shfree(names);
    return h;
}
