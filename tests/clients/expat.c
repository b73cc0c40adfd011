/* expat.c - expat through XML_Memory_Handling_Suite, on a large generated
   XML document (elements, attributes, entities, CDATA, deep nesting). */
#include <stdio.h>
#include <stdlib.h>
#include <expat.h>
#include "client.h"

/* expat's hooks take no context: the allocator of the running workload. */
static const ClAlloc *cl_expat_on;
static void *cl_expat_malloc(size_t n) { return cl_expat_on->alloc(cl_expat_on->ctx, n); }
static void *cl_expat_realloc(void *p, size_t n) { return cl_expat_on->realloc(cl_expat_on->ctx, p, n); }
static void cl_expat_free(void *p) { cl_expat_on->free(cl_expat_on->ctx, p); }

typedef struct {
    char *buf;
    size_t len, cap;
} ClText;

static void cl_text_add(ClText *t, const char *s) {
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = (char *)realloc(t->buf, t->cap);
        if (!t->buf) abort();
    }
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
}

/* About 600 KiB per scale unit; the same bytes every time. The document
   is the test's input, so it lives on the C library's malloc. */
static ClText cl_expat_document(int scale) {
    ClText t = {NULL, 0, 0};
    char line[512];
    int i, j, items = 1500 * scale;
    cl_text_add(&t, "<?xml version=\"1.0\"?>\n<catalog version=\"2\">\n");
    for (i = 0; i < items; i++) {
        snprintf(line, sizeof line,
                 "<item id=\"%d\" kind=\"k%d\" price=\"%d.%02d\" lang=\"%s\">"
                 "<name>Item %d &amp; co &lt;%d&gt;</name><desc><![CDATA[raw <%d> text %s]]></desc><tags>",
                 i, i % 5, i % 1000, i % 100, i % 3 ? "en" : "fr", i, i * 7, i, i % 2 ? "odd" : "even");
        cl_text_add(&t, line);
        for (j = 0; j < i % 6; j++) {
            snprintf(line, sizeof line, "<tag weight=\"%d\">t%d</tag>", j, (i + j) % 17);
            cl_text_add(&t, line);
        }
        cl_text_add(&t, "</tags>");
        for (j = 0; j < i % 4; j++) cl_text_add(&t, "<nest><nest><nest>deep</nest></nest></nest>");
        cl_text_add(&t, "</item>\n");
    }
    cl_text_add(&t, "</catalog>\n");
    return t;
}

static void XMLCALL cl_expat_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
    uint64_t *h = (uint64_t *)ud;
    *h = cl_hash(*h, name, strlen(name));
    for (; attrs[0]; attrs += 2) {
        *h = cl_hash(*h, attrs[0], strlen(attrs[0]));
        *h = cl_hash(*h, attrs[1], strlen(attrs[1]));
    }
}

static void XMLCALL cl_expat_end(void *ud, const XML_Char *name) {
    uint64_t *h = (uint64_t *)ud;
    *h = cl_hash(cl_hash_u(*h, 1), name, strlen(name));
}

static void XMLCALL cl_expat_text(void *ud, const XML_Char *s, int len) {
    uint64_t *h = (uint64_t *)ud;
    *h = cl_hash(*h, s, (size_t)len);
}

uint64_t cl_expat(const ClAlloc *a, int scale) {
    XML_Memory_Handling_Suite ms;
    ClText doc = cl_expat_document(scale);
    uint64_t h = CL_HASH_SEED;
    size_t at, chunk = 65536;
    XML_Parser parser;
    cl_expat_on = a;
    ms.malloc_fcn = cl_expat_malloc;
    ms.realloc_fcn = cl_expat_realloc;
    ms.free_fcn = cl_expat_free;
    parser = XML_ParserCreate_MM(NULL, &ms, NULL);
    if (!parser) {
        free(doc.buf);
        return 0;
    }
    XML_SetUserData(parser, &h);
    XML_SetElementHandler(parser, cl_expat_start, cl_expat_end);
    XML_SetCharacterDataHandler(parser, cl_expat_text);
    for (at = 0; at < doc.len; at += chunk) {
        size_t n = doc.len - at < chunk ? doc.len - at : chunk;
        if (XML_Parse(parser, doc.buf + at, (int)n, at + n == doc.len) != XML_STATUS_OK) {
            fprintf(stderr, "expat: %s at line %lu\n", XML_ErrorString(XML_GetErrorCode(parser)),
                    (unsigned long)XML_GetCurrentLineNumber(parser));
            h = 0;
            break;
        }
    }
    XML_ParserFree(parser);
    free(doc.buf);
    return h;
}
