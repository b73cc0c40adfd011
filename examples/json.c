/* json.c - a recursive-descent JSON parser whose whole tree lives in one
   arena, run on the real documents in ../shared/data/json/ (or, without
   them, on a small embedded sample), next to the same parser on malloc.

   - every node and every string is one bump allocation in the tree arena;
     strings are unescaped into arena memory and shrunk in place with
     arena_realloc (the newest allocation never moves);
   - the children of an array or object are collected on one growable
     ArenaArray in a scratch arena (always that arena's newest allocation,
     so it grows in place), then copied out at their exact size;
   - all the trees go at once with one arena_release, where the malloc
     variant frees every node and string one by one.

   usage: json [directory]   (default ../../shared/data/json from examples/) */
#define ARENA_IMPLEMENTATION
#include "../arena.h"
#include "json_files.h"
#include <stdio.h>
#include <stdlib.h>

typedef enum { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } JType;

typedef struct JNode JNode;
struct JNode {           /* 32 bytes on 64-bit: two arena alignment units */
    uint32_t type;      /* JType */
    uint32_t key_len;
    const char *key;    /* its name, when it is an object member */
    size_t len;         /* string: bytes; array, object: children */
    union { double num; char *str; JNode **kids; } u;
};

typedef ArenaArray(JNode *) JNodeList;

typedef struct Parser {
    const char *p;
    Arena *tree;        /* where nodes and strings go; NULL: malloc */
    Arena *work;        /* scratch: the pending-children stack */
    JNodeList pending;  /* children of the open arrays/objects, innermost last */
    size_t nodes, strings;
    int depth;
    const char *error;
} Parser;

enum { MAX_DEPTH = 512 };

static void *jalloc(Parser *ps, size_t n) {
    void *q = ps->tree ? arena_alloc(ps->tree, n) : malloc(n);
    if (!q) ps->error = "out of memory";
    return q;
}

static void jfree(JNode *n) {   /* the malloc variant only */
    size_t i;
    if (!n) return;
    if (n->type == J_ARRAY || n->type == J_OBJECT) {
        for (i = 0; i < n->len; i++) jfree(n->u.kids[i]);
        free(n->u.kids);
    } else if (n->type == J_STRING) {
        free(n->u.str);
    }
    free((void *)n->key);
    free(n);
}

static void skip_ws(Parser *ps) {
    while (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t') ps->p++;
}

static JNode *fail(Parser *ps, const char *msg) {
    if (!ps->error) ps->error = msg;
    return NULL;
}

static JNode *new_node(Parser *ps, JType type) {
    JNode *n = (JNode *)jalloc(ps, sizeof *n);
    if (!n) return NULL;
    n->type = (uint32_t)type;
    n->len = 0;
    n->key = NULL;
    n->key_len = 0;
    n->u.kids = NULL;
    ps->nodes++;
    return n;
}

static int hex4(const char *s) {
    int i, v = 0;
    for (i = 0; i < 4; i++) {
        int c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

static char *put_utf8(char *o, unsigned long c) {
    if (c < 0x80) *o++ = (char)c;
    else if (c < 0x800) { *o++ = (char)(0xC0 | c >> 6); *o++ = (char)(0x80 | (c & 0x3F)); }
    else if (c < 0x10000) {
        *o++ = (char)(0xE0 | c >> 12); *o++ = (char)(0x80 | (c >> 6 & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    } else {
        *o++ = (char)(0xF0 | c >> 18); *o++ = (char)(0x80 | (c >> 12 & 0x3F));
        *o++ = (char)(0x80 | (c >> 6 & 0x3F)); *o++ = (char)(0x80 | (c & 0x3F));
    }
    return o;
}

/* Unescapes the raw string body s[0..n) into out (never longer than n);
   returns the end, or NULL on a bad escape. */
static char *unescape(char *out, const char *s, size_t n) {
    const char *end = s + n;
    while (s < end) {
        if (*s != '\\') { *out++ = *s++; continue; }
        s++;
        switch (*s++) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '/': *out++ = '/'; break;
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u': {
            long c = hex4(s), lo;
            if (c < 0) return NULL;
            s += 4;
            if (c >= 0xD800 && c < 0xDC00 && s + 6 <= end && s[0] == '\\' && s[1] == 'u' &&
                (lo = hex4(s + 2)) >= 0xDC00 && lo < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                s += 6;
            } else if (c >= 0xD800 && c < 0xE000) {
                c = 0xFFFD;   /* a lone surrogate */
            }
            out = put_utf8(out, (unsigned long)c);
            break;
        }
        default: return NULL;
        }
    }
    return out;
}

/* A string at ps->p (the opening quote): its unescaped bytes, in the tree
   arena or malloc'd, NUL-terminated. */
static char *parse_string(Parser *ps, size_t *len) {
    const char *s = ++ps->p, *q = s;
    bool escaped = false;
    char *str, *end;
    size_t raw;
    for (;;) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c < 0x20) return (char *)fail(ps, c ? "control character in a string" : "unterminated string");
        if (c == '\\') {
            escaped = true;
            if (!q[1]) return (char *)fail(ps, "unterminated string");
            q++;
        }
        q++;
    }
    raw = (size_t)(q - s);
    ps->p = q + 1;
    ps->strings++;
    if (!escaped) {
        if (ps->tree) str = arena_strndup(ps->tree, s, raw);
        else if ((str = (char *)malloc(raw + 1)) != NULL) { memcpy(str, s, raw); str[raw] = '\0'; }
        if (!str) return (char *)fail(ps, "out of memory");
        *len = raw;
        return str;
    }
    str = (char *)jalloc(ps, raw + 1);
    if (!str) return NULL;
    end = unescape(str, s, raw);
    if (!end) {
        if (!ps->tree) free(str);
        return (char *)fail(ps, "bad escape in a string");
    }
    *end = '\0';
    *len = (size_t)(end - str);
    /* The string is the tree arena's newest allocation: this shrinks it in
       place, giving the bytes the escapes saved back to the arena. */
    if (ps->tree) arena_realloc(ps->tree, str, raw + 1, *len + 1);
    return str;
}

static JNode *parse_value(Parser *ps);

/* The children pushed since `base` become the node's exact-size array. */
static JNode *close_container(Parser *ps, JType type, size_t base) {
    JNode *n = new_node(ps, type);
    size_t count = ps->pending.count - base;
    if (!n) return NULL;
    if (count) {
        n->u.kids = (JNode **)jalloc(ps, count * sizeof(JNode *));
        if (!n->u.kids) {
            if (!ps->tree) free(n);
            return NULL;
        }
        memcpy(n->u.kids, ps->pending.items + base, count * sizeof(JNode *));
    }
    n->len = count;
    ps->pending.count = base;
    return n;
}

static JNode *parse_container(Parser *ps, bool object) {
    size_t base = ps->pending.count;
    char close = object ? '}' : ']';
    if (++ps->depth > MAX_DEPTH) return fail(ps, "nested too deeply");
    ps->p++;
    skip_ws(ps);
    if (*ps->p != close) {
        for (;;) {
            char *key = NULL;
            size_t key_len = 0;
            JNode *v;
            if (object) {
                if (*ps->p != '"') return fail(ps, "expected a member name");
                if (!(key = parse_string(ps, &key_len))) return NULL;
                if (key_len > UINT32_MAX) {
                    if (!ps->tree) free(key);
                    return fail(ps, "member name too long");
                }
                skip_ws(ps);
                if (*ps->p != ':') v = fail(ps, "expected ':'");
                else { ps->p++; v = parse_value(ps); }
                if (!v) {
                    if (!ps->tree) free(key);
                    return NULL;
                }
                v->key = key;
                v->key_len = (uint32_t)key_len;
            } else if (!(v = parse_value(ps))) {
                return NULL;
            }
            if (!arena_array_push(ps->work, &ps->pending, v)) {
                if (!ps->tree) jfree(v);
                return fail(ps, "out of memory");
            }
            skip_ws(ps);
            if (*ps->p == ',') { ps->p++; skip_ws(ps); continue; }
            if (*ps->p == close) break;
            return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    ps->p++;
    ps->depth--;
    return close_container(ps, object ? J_OBJECT : J_ARRAY, base);
}

static JNode *parse_number(Parser *ps) {
    const char *s = ps->p, *q = s;
    JNode *n;
    if (*q == '-') q++;
    if (*q == '0') q++;
    else if (*q >= '1' && *q <= '9') while (*q >= '0' && *q <= '9') q++;
    else return fail(ps, "bad number");
    if (*q == '.') {
        if (!(*++q >= '0' && *q <= '9')) return fail(ps, "bad number");
        while (*q >= '0' && *q <= '9') q++;
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-') q++;
        if (!(*q >= '0' && *q <= '9')) return fail(ps, "bad number");
        while (*q >= '0' && *q <= '9') q++;
    }
    if (!(n = new_node(ps, J_NUMBER))) return NULL;
    n->u.num = strtod(s, NULL);
    ps->p = q;
    return n;
}

static JNode *parse_literal(Parser *ps, const char *word, JType type) {
    size_t n = strlen(word);
    if (strncmp(ps->p, word, n) != 0) return fail(ps, "unexpected character");
    ps->p += n;
    return new_node(ps, type);
}

static JNode *parse_value(Parser *ps) {
    skip_ws(ps);
    switch (*ps->p) {
    case '{': return parse_container(ps, true);
    case '[': return parse_container(ps, false);
    case '"': {
        size_t len;
        char *s = parse_string(ps, &len);
        JNode *n = s ? new_node(ps, J_STRING) : NULL;
        if (!n) {
            if (s && !ps->tree) free(s);
            return NULL;
        }
        n->u.str = s;
        n->len = len;
        return n;
    }
    case 't': return parse_literal(ps, "true", J_TRUE);
    case 'f': return parse_literal(ps, "false", J_FALSE);
    case 'n': return parse_literal(ps, "null", J_NULL);
    case '\0': return fail(ps, "unexpected end of input");
    default: return parse_number(ps);
    }
}

/* Parses NUL-terminated text into `tree` (NULL: malloc). On failure the
   malloc variant frees what it built; the arena variant is rewound. */
static JNode *parse(const char *text, Arena *tree, size_t *nodes, size_t *strings,
                    const char **error) {
    Parser ps;
    ArenaTemp work = arena_scratch_begin(tree);
    ArenaMark mark = arena_mark(tree ? tree : work.arena);   /* tree: rewound on failure */
    JNode *root;
    memset(&ps, 0, sizeof ps);
    ps.p = text;
    ps.tree = tree;
    ps.work = work.arena;
    root = parse_value(&ps);
    if (root) {
        skip_ws(&ps);
        if (*ps.p) {
            if (!tree) jfree(root);
            root = fail(&ps, "text after the value");
        }
    }
    if (!root) {
        if (tree) arena_rewind(tree, mark);
        else {
            size_t i;
            for (i = 0; i < ps.pending.count; i++) jfree(ps.pending.items[i]);
        }
    }
    arena_temp_end(work);
    *nodes = ps.nodes;
    *strings = ps.strings;
    *error = ps.error;
    return root;
}

/* ---- checks, files, timing ------------------------------------------------ */

static bool same(const JNode *a, const JNode *b) {
    size_t i;
    if (a->type != b->type || a->len != b->len || a->key_len != b->key_len) return false;
    if ((a->key || b->key) && (!a->key || !b->key || memcmp(a->key, b->key, a->key_len))) return false;
    switch (a->type) {
    case J_NUMBER: return a->u.num == b->u.num;
    case J_STRING: return memcmp(a->u.str, b->u.str, a->len) == 0;
    case J_ARRAY: case J_OBJECT:
        for (i = 0; i < a->len; i++)
            if (!same(a->u.kids[i], b->u.kids[i])) return false;
        return true;
    default: return true;
    }
}

static const char sample[] =
    "{\"name\": \"sample\", \"escapes\": \"tab\\there \\\"quoted\\\" \\u00e9\\ud83d\\ude00\",\n"
    " \"numbers\": [0, -1, 3.25, 6.02e23, -0.5E-3],\n"
    " \"flags\": [true, false, null], \"empty\": {}, \"nested\": [[1, [2, [3, []]]]],\n"
    " \"people\": [{\"id\": 1, \"tags\": [\"a\", \"b\"]}, {\"id\": 2, \"tags\": []}]}";

enum { RUNS = 5 };

typedef struct Doc {
    JsonFile f;
    size_t nodes, strings, arena_bytes;
    double arena_ms, malloc_ms, free_ms;   /* best of RUNS */
} Doc;

int main(int argc, char **argv) {
    Arena tree = {0}, files = {0};
    JsonFile found[JSON_FILES_MAX];
    Doc docs[JSON_FILES_MAX];
    size_t ndocs, i, total_bytes = 0;
    double malloc_free_ms = 0, t;
    int run, failures = 0;

    memset(docs, 0, sizeof docs);
    ndocs = json_find_documents(&files, argc, argv, sample, found);
    for (i = 0; i < ndocs; i++) docs[i].f = found[i];

    /* Best of RUNS passes over all documents, both variants warm. The arena
       is reset between passes (its memory is kept), so the trees of the
       last pass are all in it at the end. */
    for (run = 0; run < RUNS; run++) {
        arena_reset(&tree);
        for (i = 0; i < ndocs; i++) {
            Doc *d = &docs[i];
            size_t used = arena_stats(&tree).bytes_used, nm, sm;
            const char *err_a, *err_m;
            JNode *ra, *rm;

            t = now_ms();
            ra = parse(d->f.text, &tree, &d->nodes, &d->strings, &err_a);
            d->arena_ms = best_of(d->arena_ms, now_ms() - t, run);
            d->arena_bytes = arena_stats(&tree).bytes_used - used;

            t = now_ms();
            rm = parse(d->f.text, NULL, &nm, &sm, &err_m);
            d->malloc_ms = best_of(d->malloc_ms, now_ms() - t, run);

            if (run == 0 && (!ra || !rm)) {
                printf("%s: parse error: %s\n", d->f.name, err_a ? err_a : err_m);
                failures++;
            } else if (run == 0 && (d->nodes != nm || d->strings != sm || !same(ra, rm))) {
                printf("%s: the arena and malloc trees differ\n", d->f.name);
                failures++;
            }
            t = now_ms();
            jfree(rm);
            d->free_ms = best_of(d->free_ms, now_ms() - t, run);
        }
    }

    printf("best of %d runs %12s %8s %8s %11s %12s %20s\n", RUNS, "size", "nodes", "strings",
           "arena used", "arena parse", "malloc parse + free");
    for (i = 0; i < ndocs; i++) {
        Doc *d = &docs[i];
        printf("%-18s %5.1f MiB %8zu %8zu %7.1f MiB %9.2f ms %9.2f + %.2f ms\n", d->f.name,
               (double)d->f.size / 1048576.0, d->nodes, d->strings,
               (double)d->arena_bytes / 1048576.0, d->arena_ms, d->malloc_ms, d->free_ms);
        total_bytes += d->arena_bytes;
        malloc_free_ms += d->free_ms;
    }

    t = now_ms();
    arena_release(&tree);   /* every node and string of every tree */
    t = now_ms() - t;
    printf("arena: %zu tree%s (%.1f MiB) freed by one arena_release in %.3f ms; "
           "malloc: node by node in %.2f ms\n",
           ndocs, ndocs == 1 ? "" : "s", (double)total_bytes / 1048576.0, t, malloc_free_ms);
    arena_release(&files);
    arena_scratch_release();
    if (failures) {
        printf("FAILED: %d document(s)\n", failures);
        return 1;
    }
    printf("both variants built identical trees\n");
    return 0;
}
