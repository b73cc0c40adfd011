/* ini.c - a config-file parser that builds its strings with ArenaBuilder
   and handles its tokens as ArenaStr slices.

   Names and plain values are slices into the text (no copy at all); a
   quoted value with escapes is decoded into the arena with a builder that
   grows in place; each key's full name ("section.key") is built from two
   slices; the report at the end is formatted with arena_builder_appendf.
   Everything lives in one arena, freed at once. The parse is checked
   against what the text says, and a malformed line is reported with its
   line number, built with the same builder. */
#define ARENA_IMPLEMENTATION
#include "../arena.h"
#include <stdio.h>
#include <stdlib.h>

typedef struct Entry {
    ArenaStr name;          /* "section.key", NUL-terminated in the arena */
    ArenaStr value;         /* a slice of the text, or decoded in the arena */
} Entry;

typedef struct Config {
    ArenaArray(Entry) entries;
    ArenaArray(const char *) errors;
} Config;

typedef struct Parser {
    Arena *arena;
    const char *p, *end;
    int line;
    ArenaStr section;
    Config *cfg;
} Parser;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static ArenaStr trim(ArenaStr s) {
    while (s.len && is_space(s.ptr[0])) { s.ptr++; s.len--; }
    while (s.len && is_space(s.ptr[s.len - 1])) s.len--;
    return s;
}

/* The next line, as a slice without its newline. */
static ArenaStr next_line(Parser *ps) {
    const char *start = ps->p;
    while (ps->p < ps->end && *ps->p != '\n') ps->p++;
    ArenaStr line = arena_str_n(start, (size_t)(ps->p - start));
    if (ps->p < ps->end) ps->p++;
    ps->line++;
    return line;
}

static void error(Parser *ps, const char *what, ArenaStr near) {
    ArenaBuilder b = arena_builder(ps->arena);
    arena_builder_appendf(&b, "line %d: %s near \"", ps->line, what);
    arena_builder_append(&b, near.ptr, near.len);
    arena_builder_append_cstr(&b, "\"");
    arena_array_push(ps->arena, &ps->cfg->errors, arena_builder_finish(&b));
}

/* A quoted value: \n, \t, \\, \" and \xHH decoded; the builder's string
   grows in place (nothing else is allocated while it is built). */
static int decode(Parser *ps, ArenaStr raw, ArenaStr *out) {
    ArenaBuilder b = arena_builder(ps->arena);
    size_t i = 1;
    if (raw.len < 2 || raw.ptr[raw.len - 1] != '"') return 0;
    while (i < raw.len - 1) {
        size_t run = i;
        while (run < raw.len - 1 && raw.ptr[run] != '\\') run++;
        arena_builder_append(&b, raw.ptr + i, run - i);   /* plain text in one piece */
        if (run == raw.len - 1) break;
        if (run + 1 >= raw.len - 1) return 0;
        char c = raw.ptr[run + 1], ch;
        i = run + 2;
        switch (c) {
        case 'n': ch = '\n'; break;
        case 't': ch = '\t'; break;
        case '\\': case '"': ch = c; break;
        case 'x': {
            unsigned v = 0;
            if (i + 2 > raw.len - 1 || sscanf(raw.ptr + i, "%2x", &v) != 1) return 0;
            ch = (char)v;
            i += 2;
            break;
        }
        default: return 0;
        }
        arena_builder_append(&b, &ch, 1);
    }
    if (!arena_builder_finish(&b)) return 0;
    *out = arena_str_n(b.data, b.len);
    return 1;
}

static void parse_line(Parser *ps, ArenaStr line) {
    line = trim(line);
    if (!line.len || line.ptr[0] == ';' || line.ptr[0] == '#') return;
    if (line.ptr[0] == '[') {
        if (line.ptr[line.len - 1] != ']') { error(ps, "unclosed section", line); return; }
        ps->section = trim(arena_str_n(line.ptr + 1, line.len - 2));
        return;
    }
    const char *eq = (const char *)memchr(line.ptr, '=', line.len);
    if (!eq) { error(ps, "expected key = value", line); return; }
    ArenaStr key = trim(arena_str_n(line.ptr, (size_t)(eq - line.ptr)));
    ArenaStr value = trim(arena_str_n(eq + 1, line.len - (size_t)(eq + 1 - line.ptr)));
    if (!key.len) { error(ps, "empty key", line); return; }
    if (value.len && value.ptr[0] == '"' && !decode(ps, value, &value)) {
        error(ps, "bad quoted value", value);
        return;
    }
    ArenaBuilder name = arena_builder(ps->arena);   /* "section.key" */
    if (ps->section.len) {
        arena_builder_append(&name, ps->section.ptr, ps->section.len);
        arena_builder_append(&name, ".", 1);
    }
    arena_builder_append(&name, key.ptr, key.len);
    Entry e;
    e.value = value;
    e.name = arena_str_n(arena_builder_finish(&name), name.len);
    if (!e.name.ptr || !arena_array_push(ps->arena, &ps->cfg->entries, e)) error(ps, "out of memory", key);
}

static Config *parse(Arena *a, const char *text) {
    Parser ps;
    ps.arena = a;
    ps.p = text;
    ps.end = text + strlen(text);
    ps.line = 0;
    ps.section = arena_str(NULL);
    ps.cfg = arena_new(a, Config);
    while (ps.p < ps.end) parse_line(&ps, next_line(&ps));
    return ps.cfg;
}

static ArenaStr get(const Config *cfg, const char *name) {
    ArenaStr want = arena_str(name);
    for (size_t i = cfg->entries.count; i-- > 0;)   /* the last one wins */
        if (arena_str_eq(cfg->entries.items[i].name, want)) return cfg->entries.items[i].value;
    return arena_str_n(NULL, 0);
}

static const char text[] =
    "; game settings\n"
    "title = Rollback Arena\n"
    "[video]\n"
    "  width = 1920\n"
    "  height= 1080\n"
    "  caption = \"Frame\\t#\\x41\\n\\\"quoted\\\"\"\n"
    "[ net ]\n"
    "port = 7000\n"
    "delay frames = 3\n"
    "broken line\n"
    "motd = \"bad \\q escape\"\n"
    "[unclosed\n"
    "port = 7001\n";

int main(void) {
    Arena a = {0};
    int failures = 0;
    Config *cfg = parse(&a, text);
    ArenaStats st;

#define EXPECT(cond) do { if (!(cond)) { printf("  FAILED: %s\n", #cond); failures++; } } while (0)
    EXPECT(cfg->entries.count == 7);
    EXPECT(arena_str_eq(get(cfg, "title"), arena_str("Rollback Arena")));
    EXPECT(arena_str_eq(get(cfg, "video.width"), arena_str("1920")));
    EXPECT(arena_str_eq(get(cfg, "video.height"), arena_str("1080")));
    EXPECT(arena_str_eq(get(cfg, "video.caption"), arena_str("Frame\t#A\n\"quoted\"")));
    EXPECT(arena_str_eq(get(cfg, "net.port"), arena_str("7001")));   /* the later one */
    EXPECT(arena_str_eq(get(cfg, "net.delay frames"), arena_str("3")));
    EXPECT(get(cfg, "net.motd").ptr == NULL);
    EXPECT(cfg->errors.count == 3);
    EXPECT(cfg->errors.count == 3 && strcmp(cfg->errors.items[0], "line 10: expected key = value near \"broken line\"") == 0);

    /* the report: one builder, formatted appends, one string */
    ArenaBuilder rep = arena_builder(&a);
    for (size_t i = 0; i < cfg->entries.count; i++) {
        const Entry *e = &cfg->entries.items[i];
        arena_builder_appendf(&rep, "%-18s = ", e->name.ptr);
        for (size_t k = 0; k < e->value.len; k++) {   /* escaped again for printing */
            char c = e->value.ptr[k];
            if (c == '\n') arena_builder_append_cstr(&rep, "\\n");
            else if (c == '\t') arena_builder_append_cstr(&rep, "\\t");
            else arena_builder_append(&rep, &c, 1);
        }
        arena_builder_append_cstr(&rep, "\n");
    }
    for (size_t i = 0; i < cfg->errors.count; i++) arena_builder_appendf(&rep, "error: %s\n", cfg->errors.items[i]);
    char *report = arena_builder_finish(&rep);
    EXPECT(report != NULL && strstr(report, "video.caption      = Frame\\t#A\\n\"quoted\"\n") != NULL);
    printf("%s", report ? report : "(no report)\n");

    st = arena_stats(&a);
    printf("one arena: %zu bytes in use, %zu block(s); freed at once\n", st.bytes_used, st.block_count);
    arena_release(&a);
    if (failures) {
        printf("ini: %d check(s) FAILED\n", failures);
        return 1;
    }
    printf("ini: all checks passed\n");
    return 0;
}
