#include "spec_doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dlx_key_doc_count(const dlx_key_doc *keys)
{
    int n = 0;
    while (keys && keys[n].key)
        n++;
    return n;
}

const dlx_key_doc *dlx_key_doc_find(const dlx_key_doc *keys, const char *key)
{
    for (int i = 0; keys && keys[i].key; i++)
        if (!strcmp(keys[i].key, key))
            return &keys[i];
    return NULL;
}

int dlx_spec_check_docs(const dlx_spec_node *map, const char *what, const dlx_key_doc *const *tables,
                        dlx_err *err)
{
    const char *allowed[DLX_SPEC_DOC_KEYS_MAX + 1];
    int n = 0;
    for (int t = 0; tables[t]; t++)
        for (int i = 0; tables[t][i].key; i++) {
            DLX_ASSERT(n < DLX_SPEC_DOC_KEYS_MAX);
            allowed[n++] = tables[t][i].key;
        }
    allowed[n] = NULL;
    return dlx_spec_check_keys(map, what, allowed, err);
}

int dlx_spec_check_doc(const dlx_spec_node *map, const char *what, const dlx_key_doc *keys, dlx_err *err)
{
    const dlx_key_doc *const tables[] = {keys, NULL};
    return dlx_spec_check_docs(map, what, tables, err);
}

const char *dlx_spec_section_name(const dlx_spec_section *s, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", s->prefix ? s->prefix : "", s->name);
    return buf;
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct buf {
    char *s;
    size_t len, cap;
    bool failed;
} buf;

static void add(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + (size_t)n + 1 > cap)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static char *done(buf *b)
{
    if (b->failed || !b->s) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

char *dlx_spec_doc_text(const dlx_spec_section *s)
{
    buf b = {0};
    char name[96];
    add(&b, "%s: %s\n", dlx_spec_section_name(s, name, sizeof name), s->where);
    int w = 0;
    for (int i = 0; s->keys[i].key; i++)
        if ((int)strlen(s->keys[i].key) > w)
            w = (int)strlen(s->keys[i].key);
    if (!s->keys[0].key)
        add(&b, "  (no keys of its own)\n");
    for (int i = 0; s->keys[i].key; i++) {
        const dlx_key_doc *k = &s->keys[i];
        add(&b, "  %-*s  %s", w, k->key, k->type);
        if (!strcmp(k->def, "required"))
            add(&b, "; required");
        else if (strcmp(k->def, "-"))
            add(&b, "; default %s", k->def);
        if (k->range[0])
            add(&b, "; %s", k->range);
        add(&b, "\n  %*s  %s\n", w, "", k->meaning);
    }
    return done(&b);
}

/* Text as Markdown shows it literally: '|' keeps a table's columns, '<' and
 * '>' are no HTML tag, '*' no emphasis ("<name>_k", "Z*"). */
static void md_text(buf *b, const char *text)
{
    for (const char *p = text; *p; p++)
        switch (*p) {
        case '|': add(b, "\\|"); break;
        case '*': add(b, "\\*"); break;
        case '<': add(b, "&lt;"); break;
        case '>': add(b, "&gt;"); break;
        default: add(b, "%c", *p);
        }
}

/* A table cell; code: the key, in backticks (no key holds a backtick). */
static void cell(buf *b, const char *text, bool code)
{
    add(b, " ");
    if (code)
        add(b, "`%s`", text);
    else
        md_text(b, text);
    add(b, " |");
}

char *dlx_spec_doc_markdown(const dlx_spec_section *s)
{
    buf b = {0};
    char name[96];
    add(&b, "## %s\n\n", dlx_spec_section_name(s, name, sizeof name));
    md_text(&b, s->where);
    add(&b, "\n\n");
    if (!s->keys[0].key) {
        add(&b, "No keys of its own.\n\n");
        return done(&b);
    }
    add(&b, "| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
    for (int i = 0; s->keys[i].key; i++) {
        const dlx_key_doc *k = &s->keys[i];
        add(&b, "|");
        cell(&b, k->key, true);
        cell(&b, k->type, false);
        cell(&b, k->def, false);
        cell(&b, k->range, false);
        cell(&b, k->meaning, false);
        add(&b, "\n");
    }
    add(&b, "\n");
    return done(&b);
}

char *dlx_spec_doc_markdown_item(const dlx_spec_section *s)
{
    buf b = {0};
    char name[96];
    add(&b, "- `%s`: ", dlx_spec_section_name(s, name, sizeof name));
    md_text(&b, s->where);
    add(&b, "\n");
    return done(&b);
}
