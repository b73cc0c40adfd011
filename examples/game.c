/* game.c - a frame loop the way a game uses arena.h and pool.h:
   - a frame arena reset every frame (per-frame scratch, zero heap calls
     once warm);
   - entities in a pool, addressed by handles that go stale on despawn;
   - particles in a pool, spawned and killed every frame;
   - a status line built with arena_sprintf every 100 frames. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"
#include <stdio.h>

typedef struct Entity { float x, y, vx, vy; int hp; PoolHandle target; } Entity;
typedef struct Particle { float x, y, life; } Particle;

enum { FRAMES = 600, ENTITIES = 64 };

typedef struct Dying { Arena *frame; ArenaArray(Particle *) list; } Dying;

static void age_particle(void *obj, void *ctx) {
    Particle *p = (Particle *)obj;
    Dying *d = (Dying *)ctx;
    p->life -= 1.0f;
    if (p->life <= 0.0f) arena_array_push(d->frame, &d->list, p);
}

static unsigned rng_state = 12345u;
static unsigned rng(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

int main(void) {
    Arena frame = {0};
    Pool entities, particles;
    PoolHandle ids[ENTITIES];
    PoolHandle despawned;
    size_t grabs_after_warmup = 0, killed = 0;
    int f, i;

    POOL_INIT(&entities, Entity);
    POOL_INIT(&particles, Particle);
    for (i = 0; i < ENTITIES; i++) {
        ids[i] = pool_alloc_handle(&entities);
        Entity *e = (Entity *)pool_get(&entities, ids[i]);
        e->hp = 100;
        e->x = (float)i;
        e->target = ids[(i + 1) % ENTITIES];   /* may not exist yet: fine */
    }

    /* Despawn one entity: its handle goes stale, and stays stale even
       when the slot is reused by a new entity. */
    despawned = ids[7];
    pool_free_handle(&entities, despawned);
    ids[7] = pool_alloc_handle(&entities);
    printf("despawned entity 7: lookup gives %s; its slot now holds a new entity: %s\n",
           pool_get(&entities, despawned) ? "an entity (BUG)" : "NULL",
           pool_get(&entities, ids[7]) ? "yes" : "no");

    for (f = 0; f < FRAMES; f++) {
        /* Per-frame scratch: visible-entity list and a frame's worth of
           temporary allocations, all gone at arena_reset. */
        Entity **visible = arena_new_array(&frame, Entity *, ENTITIES);
        size_t nvisible = 0;
        for (i = 0; i < ENTITIES; i++) {
            Entity *e = (Entity *)pool_get(&entities, ids[i]);
            if (!e) continue;
            e->x += 0.1f;
            if (((unsigned)e->x + (unsigned)f) % 3) visible[nvisible++] = e;
            arena_alloc(&frame, 16 + rng() % 240);   /* say, render commands */
        }
        for (i = 0; i < 20; i++) {
            Particle *p = (Particle *)pool_alloc(&particles);
            p->life = (float)(1 + rng() % 30);
        }
        /* Age the particles; the dead ones are collected in a frame-arena
           array (growing in place) and freed after the walk. */
        {
            Dying dying;
            size_t k;
            dying.frame = &frame;
            dying.list.items = NULL;
            dying.list.count = dying.list.cap = 0;
            pool_each(&particles, age_particle, &dying);
            for (k = 0; k < dying.list.count; k++) pool_free(&particles, dying.list.items[k]);
            killed += dying.list.count;
        }
        if (f % 100 == 99) {
            char *status = arena_sprintf(&frame, "frame %d: %zu visible, %zu particles, frame arena %zu bytes",
                                         f + 1, nvisible, pool_stats(&particles).live,
                                         arena_stats(&frame).bytes_used);
            puts(status);
        }
        if (f == 10) grabs_after_warmup = arena_stats(&frame).grab_count;
        arena_reset(&frame);
    }
    printf("particles: %zu spawned, %zu killed, %zu alive\n", (size_t)FRAMES * 20, killed,
           pool_stats(&particles).live);
    printf("frame arena: %zu source calls in all, %zu after frame 10 (warm-up)\n",
           arena_stats(&frame).grab_count, arena_stats(&frame).grab_count - grabs_after_warmup);
    pool_release(&particles);
    pool_release(&entities);
    arena_release(&frame);
    return 0;
}
