/* rollback.c - rollback netcode on arena snapshots and a frame ring.

   A small deterministic game: two players move and fire projectiles that
   fly, hit and expire. The world (players, projectiles, score) lives in
   one arena; each frame's data (its snapshot of the world, its event log)
   lives in that frame's arena of an ArenaRing of ROLLBACK + 1 frames.

   Player 0's inputs are local; player 1's arrive over a "network" 1 to
   ROLLBACK frames late. Until they arrive the game predicts them (the last
   input seen). When a late input differs from the prediction, the world
   is restored from the snapshot at the start of that frame and the frames
   since are simulated again with the inputs now known.

   The check: the same game run with every input on time, in the same
   arena, gives the state of each frame; the rollback run's world, at the
   start of every frame whose inputs have all arrived, equals it byte for
   byte (pointers included: a restore puts every object back at its
   address, so the re-simulation allocates exactly where the first run
   did). */
#define ARENA_IMPLEMENTATION
#include "../arena.h"
#include <stdio.h>
#include <stdlib.h>

enum { FRAMES = 600, ROLLBACK = 8, FIELD_W = 640, FIELD_H = 360 };

typedef struct Shot {
    struct Shot *next;
    int32_t x, y, vx, vy, ttl, owner;
} Shot;

typedef struct Player {
    int32_t x, y, hp, score, cooldown, pad;
} Player;

typedef struct World {
    uint32_t frame, rng;
    Player p[2];
    Shot *shots;            /* live projectiles, newest first */
    uint32_t fired, hits;
} World;

typedef uint8_t Input;      /* bits: left right up down fire */

/* Every world object is allocated zeroed to its whole arena span, so that
   no byte of the world depends on what the memory held before. */
static void *zalloc(Arena *a, size_t size) {
    return arena_calloc(a, 1, (size + ARENA_MIN_ALIGN - 1) & ~(size_t)(ARENA_MIN_ALIGN - 1));
}

static uint32_t next_rand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* The input a player really gives at frame f (changes every few frames). */
static Input true_input(int player, uint32_t f) {
    uint32_t h = (f / (3 + (uint32_t)player * 2)) * 2654435761u + (uint32_t)player * 40503u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    return (Input)((h >> 7) & 31);
}

/* Frame f's input of player 1 reaches player 0 this many frames late. */
static uint32_t delay_of(uint32_t f) {
    uint32_t h = f * 2246822519u + 7u;
    h ^= h >> 15;
    return 1 + (h >> 3) % ROLLBACK;
}

static World *world_new(Arena *a) {
    World *w = (World *)zalloc(a, sizeof *w);
    w->rng = 12345;
    w->p[0].x = 100; w->p[0].y = FIELD_H / 2; w->p[0].hp = 1000;
    w->p[1].x = FIELD_W - 100; w->p[1].y = FIELD_H / 2; w->p[1].hp = 1000;
    return w;
}

static int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* One frame of the game. Events go to the frame's arena (ring data). */
static void simulate(World *w, Arena *world_arena, Arena *frame, const Input in[2]) {
    ArenaBuilder events = arena_builder(frame);
    Shot **link;
    int i;
    for (i = 0; i < 2; i++) {
        Player *p = &w->p[i];
        p->x = clamp(p->x + ((in[i] & 2) ? 4 : 0) - ((in[i] & 1) ? 4 : 0), 0, FIELD_W);
        p->y = clamp(p->y + ((in[i] & 8) ? 4 : 0) - ((in[i] & 4) ? 4 : 0), 0, FIELD_H);
        if (p->cooldown) p->cooldown--;
        if ((in[i] & 16) && !p->cooldown) {
            Shot *s = (Shot *)zalloc(world_arena, sizeof *s);
            if (!s) continue;
            s->x = p->x;
            s->y = p->y;
            s->vx = i == 0 ? 9 : -9;
            s->vy = (int32_t)(next_rand(&w->rng) % 7) - 3;
            s->ttl = 70;
            s->owner = i;
            s->next = w->shots;
            w->shots = s;
            p->cooldown = 2;
            w->fired++;
        }
    }
    for (link = &w->shots; *link;) {
        Shot *s = *link;
        Player *target = &w->p[1 - s->owner];
        s->x += s->vx;
        s->y += s->vy;
        s->ttl--;
        if (abs(s->x - target->x) < 12 && abs(s->y - target->y) < 12) {
            target->hp -= 25;
            w->p[s->owner].score++;
            w->hits++;
            arena_builder_appendf(&events, "f%u: player %d hit (hp %d); ", w->frame, 1 - s->owner, target->hp);
            s->ttl = 0;
        }
        if (s->ttl <= 0 || s->x < 0 || s->x > FIELD_W) *link = s->next;   /* gone (its bytes stay) */
        else link = &s->next;
    }
    arena_builder_finish(&events);
    w->frame++;
}

typedef struct Stats {
    unsigned rollbacks, resimulated, deepest, compared, mispredicted;
} Stats;

/* The on-time run: the world at the start of each frame, kept in `log`. */
static void run_on_time(Arena *world_arena, Arena *log_store, ArenaSnapshot *log) {
    ArenaRing ring;
    World *w = world_new(world_arena);
    uint32_t f;
    arena_ring_init(&ring, ROLLBACK + 1, NULL);
    for (f = 0; f < FRAMES; f++) {
        Input in[2];
        in[0] = true_input(0, f);
        in[1] = true_input(1, f);
        if (!arena_snapshot(world_arena, &log[f], log_store)) exit(1);
        simulate(w, world_arena, arena_ring_next(&ring), in);
    }
    arena_ring_release(&ring);
}

static int same_state(const ArenaSnapshot *x, const ArenaSnapshot *y) {
    return x->bytes == y->bytes && memcmp(x->copy, y->copy, x->bytes) == 0;
}

static int run_with_rollback(Arena *world_arena, const ArenaSnapshot *log, Stats *st) {
    static Input remote[FRAMES + ROLLBACK + 1], predicted[FRAMES + ROLLBACK + 1];
    static uint8_t known[FRAMES + ROLLBACK + 1];
    ArenaSnapshot snap[ROLLBACK + 1];   /* snap[f % (ROLLBACK + 1)]: the world at the start of f */
    ArenaRing ring;
    World *w = world_new(world_arena);
    Input last_remote = 0;
    uint32_t t, f, newest = 0, confirmed = 0;   /* frames before `confirmed` are checked */
    int bad = 0;
    arena_ring_init(&ring, ROLLBACK + 1, NULL);
    for (t = 0; t < FRAMES; t++) {
        uint32_t redo = t;
        arena_ring_next(&ring);
        /* deliveries: every frame f whose input arrives now */
        for (f = t >= ROLLBACK ? t - ROLLBACK : 0; f <= t; f++) {
            if (f + delay_of(f) != t) continue;
            remote[f] = true_input(1, f);
            known[f] = 1;
            if (f + 1 >= newest) {   /* the newest input seen is the prediction */
                newest = f + 1;
                last_remote = remote[f];
            }
            if (remote[f] != predicted[f] && f < t) {
                st->mispredicted++;
                if (f < redo) redo = f;
            }
        }
        if (redo < t) {   /* roll back to the start of frame redo, simulate again */
            if (!arena_restore(world_arena, &snap[redo % (ROLLBACK + 1)])) return 1;
            st->rollbacks++;
            if (t - redo > st->deepest) st->deepest = t - redo;
            for (f = redo; f < t; f++) {
                Arena *fa = arena_ring_frame(&ring, t - f);
                Input in[2];
                in[0] = true_input(0, f);
                in[1] = known[f] ? remote[f] : predicted[f];
                arena_reset(fa);   /* frame f's data is made again */
                if (!arena_snapshot(world_arena, &snap[f % (ROLLBACK + 1)], fa)) return 1;
                simulate(w, world_arena, fa, in);
                st->resimulated++;
            }
        }
        {
            Input in[2];
            Arena *fa = arena_ring_frame(&ring, 0);
            in[0] = true_input(0, t);
            in[1] = predicted[t] = known[t] ? remote[t] : last_remote;
            if (!arena_snapshot(world_arena, &snap[t % (ROLLBACK + 1)], fa)) return 1;
            simulate(w, world_arena, fa, in);
        }
        /* frames whose earlier inputs have now all arrived: their start
           state is final and must be the on-time run's, byte for byte */
        for (; confirmed <= t && (confirmed == 0 || known[confirmed - 1]); confirmed++, st->compared++)
            if (!same_state(&snap[confirmed % (ROLLBACK + 1)], &log[confirmed])) {
                printf("  frame %u: the world differs from the on-time run\n", confirmed);
                bad = 1;
            }
    }
    arena_ring_release(&ring);
    return bad;
}

int main(void) {
    static ArenaSnapshot log[FRAMES];
    ArenaOptions o;
    Arena world, log_store = {0};
    Stats st;
    size_t grabs;
    int bad;
    memset(&o, 0, sizeof o);
    memset(&st, 0, sizeof st);
    o.block_size = 1024;   /* the world spans many blocks */
    arena_init(&world, &o);
    run_on_time(&world, &log_store, log);
    printf("on time: %u frames, world %zu bytes in %zu blocks at the end\n", FRAMES,
           arena_stats(&world).bytes_used, arena_stats(&world).block_count);
    arena_reset(&world);   /* the same blocks, in the same order, for the second run */
    grabs = arena_stats(&world).grab_count;
    bad = run_with_rollback(&world, log, &st);
    printf("with late inputs (1-%d frames): %u mispredictions, %u rollbacks (deepest %u frames), "
           "%u frames simulated again\n", ROLLBACK, st.mispredicted, st.rollbacks, st.deepest, st.resimulated);
    printf("world compared byte for byte with the on-time run at %u frames: %s\n", st.compared,
           bad ? "DIFFERENT" : "identical");
    printf("world arena: %zu source calls in the rollback run\n", arena_stats(&world).grab_count - grabs);
    arena_release(&world);
    arena_release(&log_store);
    if (bad || st.compared < FRAMES - ROLLBACK || st.rollbacks < 10 || st.deepest < ROLLBACK - 1) {
        printf("rollback: FAILED\n");
        return 1;
    }
    printf("rollback: all checks passed\n");
    return 0;
}
