/* stack.c - an ArenaStack as the LIFO scratch memory of a recursive
   algorithm: a recursive-descent expression evaluator in which every level
   pushes its work buffer (the operands and operators it collects) on entry
   and pops it on the way out, error paths included. Then a deliberately
   misordered pop, which the stack refuses with a clear message and without
   freeing anything. */
#define ARENA_IMPLEMENTATION
#include "../arena.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- the error handler: print every message, count them ---------------- */

static int errors_seen;

static void on_error(ArenaError err, const char *msg, void *ctx) {
    (void)ctx;
    errors_seen++;
    printf("  error handler: %s: %s\n", arena_error_name(err), msg);
}

/* ---- the evaluator --------------------------------------------------------
   expr    := term (('+' | '-') term)*
   term    := unary (('*' | '/') unary)*
   unary   := '-' unary | power
   power   := primary ('^' unary)?              right-associative
   primary := number | '(' expr ')' | name '(' expr (',' expr)* ')'
   name    := min | max | sum | avg */

typedef struct Eval {
    const char *src, *p;
    ArenaStack *stack;
    const char *error;      /* first syntax error */
    size_t depth, max_depth;
} Eval;

enum { MAX_ITEMS = 32 };

typedef struct Item { double value; char op; } Item;   /* one operand and the op before it */

static double expr(Eval *e);

static void skip(Eval *e) { while (*e->p == ' ') e->p++; }

static double syntax(Eval *e, const char *msg) {
    if (!e->error) e->error = msg;
    return 0;
}

/* A level's work buffer: pushed on entry, popped (LIFO) on every exit. */
static Item *enter(Eval *e) {
    Item *items = (Item *)arena_stack_push(e->stack, MAX_ITEMS * sizeof(Item));
    if (!items) return NULL;
    if (++e->depth > e->max_depth) e->max_depth = e->depth;
    return items;
}

static void leave(Eval *e, Item *items) {
    e->depth--;
    if (!arena_stack_pop(e->stack, items)) abort();   /* cannot happen: we are LIFO */
}

/* Consumes c, or records the syntax error (never moving past the end). */
static bool expect(Eval *e, char c, const char *msg) {
    skip(e);
    if (e->error) return false;
    if (*e->p != c) { syntax(e, msg); return false; }
    e->p++;
    return true;
}

enum Fn { FN_MIN, FN_MAX, FN_SUM, FN_AVG, FN_COUNT };
static const char *const fn_names[FN_COUNT] = {"min", "max", "sum", "avg"};

static double primary(Eval *e) {
    double v = 0;
    skip(e);
    if (*e->p == '(') {
        e->p++;
        v = expr(e);
        expect(e, ')', "expected ')'");
        return v;
    }
    if (*e->p >= 'a' && *e->p <= 'z') {   /* a function over its arguments */
        const char *name = e->p;
        int fn = 0;
        Item *args;
        size_t n = 0, i;
        while (*e->p >= 'a' && *e->p <= 'z') e->p++;
        while (fn < FN_COUNT && !(e->p - name == 3 && !memcmp(name, fn_names[fn], 3))) fn++;
        if (fn == FN_COUNT) return syntax(e, "unknown function");
        if (!expect(e, '(', "expected '(' after a function name")) return 0;
        if (!(args = enter(e))) return syntax(e, "out of memory");
        do {
            double x = expr(e);
            if (n == MAX_ITEMS) { syntax(e, "too many arguments"); break; }
            args[n++].value = x;
            skip(e);
        } while (!e->error && *e->p == ',' && e->p++);
        expect(e, ')', "expected ')' after the arguments");
        v = args[0].value;
        for (i = 1; i < n; i++) {
            double x = args[i].value;
            if (fn == FN_MIN) v = x < v ? x : v;
            else if (fn == FN_MAX) v = x > v ? x : v;
            else v += x;
        }
        if (fn == FN_AVG) v /= (double)n;
        leave(e, args);
        return v;
    }
    if ((*e->p >= '0' && *e->p <= '9') || *e->p == '.') {
        char *end;
        v = strtod(e->p, &end);
        e->p = end;
        return v;
    }
    return syntax(e, "expected a number, '(' or a function");
}

static double unary(Eval *e);

static double power(Eval *e) {
    double base = primary(e);
    skip(e);
    if (*e->p != '^') return base;
    e->p++;
    return pow(base, unary(e));
}

static double unary(Eval *e) {
    skip(e);
    if (*e->p == '-') {
        e->p++;
        return -unary(e);
    }
    return power(e);
}

/* One level of binary operators: collects its operands in the pushed work
   buffer, then folds them left to right. */
static double binary(Eval *e, const char *ops, double (*next)(Eval *)) {
    Item *items = enter(e);
    size_t n = 0, i;
    double v = 0;
    char op = 0;
    if (!items) return syntax(e, "out of memory");
    for (;;) {
        double x = next(e);
        if (e->error) break;
        if (n == MAX_ITEMS) { syntax(e, "too many operands"); break; }
        items[n].value = x;
        items[n++].op = op;
        skip(e);
        if (!*e->p || !strchr(ops, *e->p)) break;
        op = *e->p++;
    }
    for (i = 0; i < n; i++) {
        switch (items[i].op) {
        case 0: v = items[i].value; break;
        case '+': v += items[i].value; break;
        case '-': v -= items[i].value; break;
        case '*': v *= items[i].value; break;
        case '/': v /= items[i].value; break;
        }
    }
    leave(e, items);
    return v;
}

static double term(Eval *e) { return binary(e, "*/", unary); }
static double expr(Eval *e) { return binary(e, "+-", term); }

static bool evaluate(ArenaStack *s, const char *src, double *out, Eval *e) {
    memset(e, 0, sizeof *e);
    e->src = e->p = src;
    e->stack = s;
    *out = expr(e);
    skip(e);
    if (!e->error && *e->p) syntax(e, "unexpected text after the expression");
    return !e->error;
}

int main(void) {
    static const struct { const char *src; double want; bool ok; } cases[] = {
        {"1 + 2 * 3", 7, true},
        {"(1 + 2) * 3", 9, true},
        {"2 ^ 3 ^ 2", 512, true},
        {"2 ^ 10 - max(3, 7, 5) * 2", 1010, true},
        {"sum(1, 2, 3, avg(4, 6, 8)) / -2", -6, true},
        {"((((((((((1 + 1)))))))))) * min(4, 2 + 1)", 6, true},
        {"1 + (2 * ", 0, false},
    };
    ArenaStack s = {0};
    size_t i;
    int failures = 0;
    void *a, *b;
    bool ok;

    arena_set_error_handler(on_error, NULL);

    printf("expressions (every recursion level pushes a %zu-byte work buffer):\n",
           MAX_ITEMS * sizeof(Item));
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        Eval e;
        double v;
        ok = evaluate(&s, cases[i].src, &v, &e);
        if (ok) printf("  %-44s = %-6g (depth %zu)\n", cases[i].src, v, e.max_depth);
        else printf("  %-44s : %s at column %d (depth %zu)\n", cases[i].src, e.error,
                    (int)(e.p - e.src) + 1, e.max_depth);
        if (ok != cases[i].ok || (ok && v != cases[i].want) || s.depth != 0) {
            printf("  FAILED: expected %s %g, stack depth %zu after\n",
                   cases[i].ok ? "value" : "a syntax error", cases[i].want, s.depth);
            failures++;
        }
    }
    printf("stack after all of them: depth %zu, %zu bytes in use (peak %zu)\n", s.depth,
           arena_stats(&s.arena).bytes_used, arena_stats(&s.arena).peak_used);

    /* A misordered pop: b is the newest push, so popping a is refused. */
    printf("misordered pop:\n");
    a = arena_stack_push(&s, 100);
    b = arena_stack_push(&s, 200);
    errors_seen = 0;
    ok = arena_stack_pop(&s, a);
    printf("  pop(a) while b is live: %s, depth still %zu\n", ok ? "ACCEPTED" : "refused", s.depth);
    if (ok || errors_seen != 1 || s.depth != 2) failures++;
    ok = arena_stack_pop(&s, b) && arena_stack_pop(&s, a);
    printf("  pop(b), pop(a): %s, depth %zu\n", ok ? "fine" : "REFUSED", s.depth);
    if (!ok || s.depth != 0) failures++;
    ok = arena_stack_pop(&s, a);
    printf("  pop(a) again: %s\n", ok ? "ACCEPTED" : "refused");
    if (ok || errors_seen != 2) failures++;

    arena_stack_release(&s);
    arena_set_error_handler(NULL, NULL);
    if (failures) {
        printf("FAILED: %d check(s)\n", failures);
        return 1;
    }
    return 0;
}
