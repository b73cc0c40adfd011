/* sqlite.c - SQLite through sqlite3_config(SQLITE_CONFIG_MALLOC): an
   in-memory database filled, indexed, queried, updated and trimmed. */
#include <stdio.h>
#include <sqlite3.h>
#include "client.h"

/* SQLite's hooks take no context either. */
static const ClAlloc *cl_sqlite_on;
static void *cl_sqlite_malloc(int n) { return cl_sqlite_on->alloc(cl_sqlite_on->ctx, (size_t)n); }
static void cl_sqlite_free(void *p) { cl_sqlite_on->free(cl_sqlite_on->ctx, p); }
static void *cl_sqlite_realloc(void *p, int n) { return cl_sqlite_on->realloc(cl_sqlite_on->ctx, p, (size_t)n); }
static int cl_sqlite_size(void *p) { return (int)cl_sqlite_on->size(cl_sqlite_on->ctx, p); }
static int cl_sqlite_roundup(int n) { return (n + 15) & ~15; }
static int cl_sqlite_init(void *ctx) { (void)ctx; return SQLITE_OK; }
static void cl_sqlite_shutdown(void *ctx) { (void)ctx; }

static uint64_t cl_sqlite_query(sqlite3 *db, const char *sql, uint64_t h) {
    sqlite3_stmt *st;
    int rc, i;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        for (i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            h = t ? cl_hash(h, t, (size_t)sqlite3_column_bytes(st, i)) : cl_hash_u(h, 7);
        }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? h : 0;
}

static uint64_t cl_sqlite_work(sqlite3 *db, int scale) {
    uint64_t h = CL_HASH_SEED;
    sqlite3_stmt *ins;
    char sql[256];
    int i, rows = 6000 * scale;
    if (sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL, note TEXT);"
                         "BEGIN;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?, ?, ?, ?, ?)", -1, &ins, NULL) != SQLITE_OK)
        return 0;
    for (i = 0; i < rows; i++) {
        char name[64], note[160];
        snprintf(name, sizeof name, "name-%07d-%d", (i * 7919) % rows, i % 13);
        snprintf(note, sizeof note, "%.*s", 10 + i % 120,
                 "note note note note note note note note note note note note note note note "
                 "note note note note note note note note note note note note note note note ");
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 3, i % 97);
        sqlite3_bind_double(ins, 4, i * 0.25);
        sqlite3_bind_text(ins, 5, note, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) break;
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (i < rows || sqlite3_exec(db, "COMMIT; CREATE INDEX t_grp ON t(grp, name);", NULL, NULL, NULL) != SQLITE_OK)
        return 0;
    h = cl_sqlite_query(db, "SELECT grp, count(*), sum(val), max(name), min(length(note)) FROM t GROUP BY grp ORDER BY grp", h);
    for (i = 0; i < 40 && h; i++) {
        snprintf(sql, sizeof sql, "SELECT name, note FROM t WHERE grp = %d ORDER BY name LIMIT 40", (i * 13) % 97);
        h = cl_sqlite_query(db, sql, h);
    }
    if (!h || sqlite3_exec(db, "UPDATE t SET note = note || '+' || name WHERE id % 3 = 0;"
                               "DELETE FROM t WHERE id % 5 = 0;", NULL, NULL, NULL) != SQLITE_OK)
        return 0;
    h = cl_sqlite_query(db, "SELECT count(*), sum(length(note)), group_concat(substr(name, 6, 3), '') FROM t WHERE grp < 5", h);
    return cl_sqlite_query(db, "SELECT name FROM t ORDER BY note DESC, name LIMIT 200", h);
}

uint64_t cl_sqlite(const ClAlloc *a, int scale) {
    sqlite3_mem_methods m, saved;
    sqlite3 *db;
    uint64_t h = 0;
    cl_sqlite_on = a;
    m.xMalloc = cl_sqlite_malloc;
    m.xFree = cl_sqlite_free;
    m.xRealloc = cl_sqlite_realloc;
    m.xSize = cl_sqlite_size;
    m.xRoundup = cl_sqlite_roundup;
    m.xInit = cl_sqlite_init;
    m.xShutdown = cl_sqlite_shutdown;
    m.pAppData = NULL;
    sqlite3_shutdown();
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &saved) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK || sqlite3_initialize() != SQLITE_OK)
        return 0;
    if (sqlite3_open(":memory:", &db) == SQLITE_OK) h = cl_sqlite_work(db, scale);
    sqlite3_close(db);
    sqlite3_shutdown();
    sqlite3_config(SQLITE_CONFIG_MALLOC, &saved);
    return h;
}
