/* json_files.h - shared by the JSON examples (not part of the library): the
   documents to run on, loaded into an arena, and a millisecond clock.
   Include it after arena.h. */
#ifndef JSON_FILES_H
#define JSON_FILES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JSON_FILES_MAX 64

typedef struct JsonFile {
    const char *name;
    char *text;          /* NUL-terminated */
    size_t size;
} JsonFile;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The best (smallest) time of the runs so far. */
static double best_of(double old, double t, int run) { return run == 0 || t < old ? t : old; }

/* The whole file, NUL-terminated, in `a`. */
static char *json_read_file(Arena *a, const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = (char *)arena_alloc(a, (size_t)n + 1)) != NULL) {
        *size = fread(buf, 1, (size_t)n, f);
        buf[*size] = '\0';
    }
    fclose(f);
    return buf;
}

static int json_cmp_names(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The *.json files of dir, sorted by name; how many were read. */
static size_t json_read_dir(Arena *a, const char *dir, JsonFile *out) {
    char *names[JSON_FILES_MAX], path[1024];
    size_t n = 0, k = 0, i;
    DIR *dh = opendir(dir);
    struct dirent *e;
    if (!dh) return 0;
    while ((e = readdir(dh)) != NULL && n < JSON_FILES_MAX) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            names[n++] = arena_strdup(a, e->d_name);
    }
    closedir(dh);
    qsort(names, n, sizeof *names, json_cmp_names);
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        out[k].name = names[i];
        if ((out[k].text = json_read_file(a, path, &out[k].size)) != NULL) k++;
        else printf("%s: cannot read, skipped\n", path);
    }
    return k;
}

/* The documents of the folder given on the command line, else of
   ../shared/data/json seen from examples/ or from the repository, else
   the embedded sample; how many (at least 1). */
static size_t json_find_documents(Arena *a, int argc, char **argv, const char *sample,
                                  JsonFile *out) {
    static const char *const dirs[] = {"../../shared/data/json", "../shared/data/json"};
    size_t n = 0, i;
    if (argc > 1 && (n = json_read_dir(a, argv[1], out)) != 0) printf("documents: %s\n", argv[1]);
    for (i = 0; argc == 1 && !n && i < sizeof dirs / sizeof *dirs; i++)
        if ((n = json_read_dir(a, dirs[i], out)) != 0) printf("documents: %s\n", dirs[i]);
    if (!n) {
        printf("documents: none found (tried %s), using the embedded sample\n",
               argc > 1 ? argv[1] : dirs[0]);
        out[0].name = "sample";
        out[0].text = arena_strdup(a, sample);
        out[0].size = strlen(sample);
        n = 1;
    }
    return n;
}

#endif
