/* rollback.c - rollback netcode on arena and pool snapshots and a frame ring.

   A small deterministic game: two players move and fire projectiles that
   fly, hit and expire. The projectiles are entities in a Pool; the rest of
   the world (players, score, the list of projectiles) lives in an arena;
   each frame's data (its snapshots of the world and of the pool, its
   event log) lives in that frame's arena of an ArenaRing of ROLLBACK + 1
   frames.

   Player 0's inputs are local; player 1's arrive over a "network" 1 to
   ROLLBACK frames late. Until they arrive the game predicts them (the last
   input seen). When a late input differs from the prediction, the world
   is restored from the snapshot at the start of that frame and the frames
   since are simulated again with the inputs now known.

   The checks: the same game run with every input on time, in the same
   arena and pool, gives the state of each frame; the rollback run's state
   (the world arena's bytes, and every live projectile's address and
   bytes), at the start of every frame whose inputs have all arrived,
   equals it byte for byte (pointers included: a restore puts every object
   back at its address, so the re-simulation allocates exactly where the
   first run did). And the handle of every projectile spawned in a frame
   that was rolled back is dead, and stays dead while its slot is reused. */
#define ARENA_IMPLEMENTATION
#define POOL_IMPLEMENTATION
#include "../pool.h"
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

typedef struct Hit {         /* the match's history, in the world arena */
    struct Hit *prev;
    uint32_t frame;
    int32_t player, hp, shot_x;
} Hit;

typedef struct World {
    uint32_t frame, rng;
    Player p[2];
    Shot *shots;            /* live projectiles (in the pool), newest first */
    Hit *history;           /* every hit so far, newest first */
    uint32_t fired, hits;
} World;

typedef struct Game {
    Arena world_arena;
    Pool shots;
    World *w;
} Game;

/* Every projectile ever spawned in the rollback run, with its handle:
   those of rolled-back frames must stay dead. */
enum { MAX_SPAWNS = 1 << 16 };
static struct {
    PoolHandle h[MAX_SPAWNS];
    uint32_t frame[MAX_SPAWNS];
    uint8_t dead[MAX_SPAWNS];
    size_t n;
    int on;
} spawns;

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
    if (!w) exit(1);
    w->rng = 12345;
    w->p[0].x = 100; w->p[0].y = FIELD_H / 2; w->p[0].hp = 1000;
    w->p[1].x = FIELD_W - 100; w->p[1].y = FIELD_H / 2; w->p[1].hp = 1000;
    return w;
}

static int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* One frame of the game. Events go to the frame's arena (ring data). */
static void simulate(Game *g, Arena *frame, const Input in[2]) {
    World *w = g->w;
    ArenaBuilder events = arena_builder(frame);
    Shot **link;
    int i;
    for (i = 0; i < 2; i++) {
        Player *p = &w->p[i];
        p->x = clamp(p->x + ((in[i] & 2) ? 4 : 0) - ((in[i] & 1) ? 4 : 0), 0, FIELD_W);
        p->y = clamp(p->y + ((in[i] & 8) ? 4 : 0) - ((in[i] & 4) ? 4 : 0), 0, FIELD_H);
        if (p->cooldown) p->cooldown--;
        if ((in[i] & 16) && !p->cooldown) {
            PoolHandle h;
            Shot *s = (Shot *)pool_alloc_with_handle(&g->shots, &h);
            if (!s) continue;
            memset(s, 0, sizeof *s);
            if (spawns.on && spawns.n < MAX_SPAWNS) {
                spawns.h[spawns.n] = h;
                spawns.frame[spawns.n++] = w->frame;
            }
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
        if (abs(s->x - target->x) < 40 && abs(s->y - target->y) < 40) {
            target->hp -= 25;
            w->p[s->owner].score++;
            w->hits++;
            {
                Hit *hit = (Hit *)zalloc(&g->world_arena, sizeof *hit);
                if (hit) {
                    hit->prev = w->history;
                    hit->frame = w->frame;
                    hit->player = 1 - s->owner;
                    hit->hp = target->hp;
                    hit->shot_x = s->x;
                    w->history = hit;
                }
            }
            arena_builder_appendf(&events, "f%u: player %d hit (hp %d); ", w->frame, 1 - s->owner, target->hp);
            s->ttl = 0;
        }
        if (s->ttl <= 0 || s->x < 0 || s->x > FIELD_W) {
            *link = s->next;
            pool_free(&g->shots, s);
        } else {
            link = &s->next;
        }
    }
    arena_builder_finish(&events);
    w->frame++;
}

typedef struct Stats {
    unsigned rollbacks, resimulated, deepest, compared, mispredicted;
} Stats;

/* The state as bytes: the world arena's, then each live projectile's
   address and bytes, in slot order. */
static void dump_shot(void *obj, void *ctx) {
    ArenaBuilder *b = (ArenaBuilder *)ctx;
    arena_builder_append(b, &obj, sizeof obj);
    arena_builder_append(b, obj, sizeof(Shot));
}

static ArenaStr dump(Game *g, Arena *into) {
    ArenaSnapshot s;
    ArenaBuilder b;
    if (!arena_snapshot(&g->world_arena, &s, into)) exit(1);
    b = arena_builder(into);
    arena_builder_append(&b, s.copy, s.bytes);
    pool_each(&g->shots, dump_shot, &b);
    if (!arena_builder_finish(&b)) exit(1);
    return arena_str_n(b.data, b.len);
}

/* A frame's saved state, in the frame's arena: snapshots of the world
   arena and of the pool, and the state's bytes (to compare once final). */
typedef struct Saved {
    ArenaSnapshot world;
    PoolSnapshot shots;
    ArenaStr bytes;
} Saved;

static void save(Game *g, Saved *s, Arena *store) {
    if (!arena_snapshot(&g->world_arena, &s->world, store) || !pool_snapshot(&g->shots, &s->shots, store)) exit(1);
    s->bytes = dump(g, store);
}

static void load(Game *g, const Saved *s) {
    if (!arena_restore(&g->world_arena, &s->world) || !pool_restore(&g->shots, &s->shots)) exit(1);
}

/* The on-time run: the state at the start of each frame, kept in `log`. */
static void run_on_time(Game *g, Arena *log_store, ArenaStr *log) {
    ArenaRing ring;
    uint32_t f;
    arena_ring_init(&ring, ROLLBACK + 1, NULL);
    g->w = world_new(&g->world_arena);
    for (f = 0; f < FRAMES; f++) {
        Input in[2];
        in[0] = true_input(0, f);
        in[1] = true_input(1, f);
        log[f] = dump(g, log_store);
        simulate(g, arena_ring_next(&ring), in);
    }
    arena_ring_release(&ring);
}

/* Rolling back to frame f: what frames f.. spawned is undone. */
static void undo_spawns(uint32_t f) {
    size_t i;
    for (i = 0; i < spawns.n; i++)
        if (spawns.frame[i] >= f) spawns.dead[i] = 1;
}

static size_t dead_handles(void) {
    size_t i, n = 0;
    for (i = 0; i < spawns.n; i++) n += spawns.dead[i];
    return n;
}

static size_t revived_handles(const Pool *p) {
    size_t i, bad = 0;
    for (i = 0; i < spawns.n; i++)
        if (spawns.dead[i] && pool_get(p, spawns.h[i])) bad++;
    return bad;
}

static int run_with_rollback(Game *g, const ArenaStr *log, Stats *st) {
    static Input remote[FRAMES + ROLLBACK + 1], predicted[FRAMES + ROLLBACK + 1];
    static uint8_t known[FRAMES + ROLLBACK + 1];
    Saved snap[ROLLBACK + 1];   /* snap[f % (ROLLBACK + 1)]: the state at the start of f */
    ArenaRing ring;
    Input last_remote = 0;
    uint32_t t, f, newest = 0, confirmed = 0;   /* frames before `confirmed` are checked */
    int bad = 0;
    arena_ring_init(&ring, ROLLBACK + 1, NULL);
    g->w = world_new(&g->world_arena);
    spawns.on = 1;
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
            load(g, &snap[redo % (ROLLBACK + 1)]);
            undo_spawns(redo);
            st->rollbacks++;
            if (t - redo > st->deepest) st->deepest = t - redo;
            for (f = redo; f < t; f++) {
                Arena *fa = arena_ring_frame(&ring, t - f);
                Input in[2];
                in[0] = true_input(0, f);
                in[1] = known[f] ? remote[f] : predicted[f];
                arena_reset(fa);   /* frame f's data is made again */
                save(g, &snap[f % (ROLLBACK + 1)], fa);
                simulate(g, fa, in);
                st->resimulated++;
            }
        }
        {
            Input in[2];
            Arena *fa = arena_ring_frame(&ring, 0);
            in[0] = true_input(0, t);
            in[1] = predicted[t] = known[t] ? remote[t] : last_remote;
            save(g, &snap[t % (ROLLBACK + 1)], fa);
            simulate(g, fa, in);
        }
        /* frames whose earlier inputs have now all arrived: their start
           state is final and must be the on-time run's, byte for byte */
        for (; confirmed <= t && (confirmed == 0 || known[confirmed - 1]); confirmed++, st->compared++)
            if (!arena_str_eq(snap[confirmed % (ROLLBACK + 1)].bytes, log[confirmed])) {
                printf("  frame %u: the state differs from the on-time run\n", confirmed);
                bad = 1;
            }
        if (revived_handles(&g->shots)) {
            printf("  frame %u: a handle of a rolled-back spawn is valid again\n", t);
            bad = 1;
        }
    }
    arena_ring_release(&ring);
    return bad;
}

int main(void) {
    static ArenaStr log[FRAMES];
    ArenaOptions o;
    Arena log_store = {0};
    Game g;
    Stats st;
    size_t grabs, pool_grabs;
    int bad;
    memset(&o, 0, sizeof o);
    memset(&st, 0, sizeof st);
    o.block_size = 1024;   /* the world spans many blocks */
    arena_init(&g.world_arena, &o);
    pool_init(&g.shots, sizeof(Shot), ARENA_ALIGNOF(Shot));
    run_on_time(&g, &log_store, log);
    printf("on time: %u frames, world %zu bytes in %zu blocks, %zu projectiles live at the end\n", FRAMES,
           arena_stats(&g.world_arena).bytes_used, arena_stats(&g.world_arena).block_count,
           pool_stats(&g.shots).live);
    arena_reset(&g.world_arena);   /* the same blocks and slots, in the same order, for the second run */
    pool_reset(&g.shots);
    grabs = arena_stats(&g.world_arena).grab_count;
    pool_grabs = pool_stats(&g.shots).grab_count;
    bad = run_with_rollback(&g, log, &st);
    printf("with late inputs (1-%d frames): %u mispredictions, %u rollbacks (deepest %u frames), "
           "%u frames simulated again\n", ROLLBACK, st.mispredicted, st.rollbacks, st.deepest, st.resimulated);
    printf("state compared byte for byte with the on-time run at %u frames: %s\n", st.compared,
           bad ? "DIFFERENT" : "identical");
    printf("%zu handles of rolled-back spawns (of %zu spawns) checked dead after every frame\n",
           dead_handles(), spawns.n);
    printf("source calls in the rollback run: world arena %zu, pool %zu\n",
           arena_stats(&g.world_arena).grab_count - grabs, pool_stats(&g.shots).grab_count - pool_grabs);
    arena_release(&g.world_arena);
    pool_release(&g.shots);
    arena_release(&log_store);
    if (bad || st.compared < FRAMES - ROLLBACK || st.rollbacks < 10 || st.deepest < ROLLBACK - 1 ||
        dead_handles() < 100) {
        printf("rollback: FAILED\n");
        return 1;
    }
    printf("rollback: all checks passed\n");
    return 0;
}
