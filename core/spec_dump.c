/* Specs as block-style YAML text that re-parses to an equal tree (dlx_spec_dump). */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec.h"
#include "spec_internal.h"

/* ------------------------------------------------------------------- dump */

struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void indent(struct sbuf *b, int n)
{
    for (int i = 0; i < n; i++)
        put(b, " ", 1);
}

/* Decode one UTF-8 sequence; invalid bytes come back as 0xFFFFFFFF, length 1. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
    } else {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFFFFFFu;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
}

/* Characters YAML lets stand as themselves inside a quoted or plain scalar
 * (printable, and not one of the extra line breaks or the BOM). */
static bool plain_char(uint32_t c)
{
    return (c >= 0x20 && c <= 0x7E) ||
           (c >= 0xA0 && c <= 0xD7FF && c != 0x2028 && c != 0x2029) ||
           (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF) ||
           (c >= 0x10000 && c <= 0x10FFFF);
}

/* Does this text need quotes to be read back as the same plain string? */
static bool needs_quotes(const char *s, bool flow)
{
    size_t len = strlen(s);
    if (len == 0)
        return true;
    unsigned char c0 = (unsigned char)s[0];
    if (strchr("?:,[]{}#&*!|>'\"%@`", c0) || c0 == '-') {
        /* "-x", "?x" and ":x" are fine as plain text; "-", "- x", "?", ": " are not. */
        bool follows = len > 1 && s[1] != ' ' && s[1] != '\t';
        /* In flow style '?' and ':' are indicators whatever follows them. */
        if (!((c0 == '-' || c0 == '?' || c0 == ':') && follows) || (c0 != '-' && flow))
            return true;
    }
    if (!strncmp(s, "---", 3) || !strncmp(s, "...", 3))
        return true;
    if (s[len - 1] == ' ' || s[len - 1] == ':' || s[0] == ' ')
        return true;
    if (strstr(s, ": ") || strstr(s, " #"))
        return true;
    if (flow && strpbrk(s, ",[]{}:#"))
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        if (!plain_char(cp))
            return true;
    }
    return false;
}

static void put_quoted(struct sbuf *b, const char *s)
{
    put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        char e[16];
        if (cp == '"' || cp == '\\') {
            e[0] = '\\';
            e[1] = (char)cp;
            put(b, e, 2);
        } else if (cp == '\n') {
            puts_(b, "\\n");
        } else if (cp == '\t') {
            puts_(b, "\\t");
        } else if (cp == '\r') {
            puts_(b, "\\r");
        } else if (cp == 0xFFFFFFFFu) {
            put(b, (const char *)p, 1); /* not UTF-8: nothing better to do */
        } else if (plain_char(cp)) {
            put(b, (const char *)p, n);
        } else {
            if (cp < 0x100)
                snprintf(e, sizeof e, "\\x%02X", (unsigned)cp);
            else if (cp < 0x10000)
                snprintf(e, sizeof e, "\\u%04X", (unsigned)cp);
            else
                snprintf(e, sizeof e, "\\U%08X", (unsigned)cp);
            puts_(b, e);
        }
        p += n;
    }
    put(b, "\"", 1);
}

static void put_scalar(struct sbuf *b, const dlx_spec_node *n, bool flow)
{
    if (n->kind == DLX_SPEC_NULL)
        puts_(b, "null");
    else if (n->quoted || needs_quotes(n->scalar, flow))
        put_quoted(b, n->scalar);
    else
        puts_(b, n->scalar);
}

/* YAML limits implicit keys to 1024 characters; longer ones are written in
 * the explicit form "? key" / ": value". */
static void put_key(struct sbuf *b, const char *k, int ind)
{
    struct sbuf kb = {0};
    if (needs_quotes(k, false))
        put_quoted(&kb, k);
    else
        puts_(&kb, k);
    if (kb.failed) {
        b->failed = true;
    } else if (kb.len < 1000) {
        put(b, kb.p, kb.len);
    } else {
        put(b, "? ", 2);
        put(b, kb.p, kb.len);
        put(b, "\n", 1);
        indent(b, ind);
    }
    free(kb.p);
}

/* Lists of scalars read best as [3, 3]. Not when an item that is fine as
 * plain text in block style would need quotes in flow style: it would come
 * back quoted. (Items that need quotes anyway are quoted either way.) */
static bool flowable(const dlx_spec_node *seq)
{
    for (int i = 0; i < seq->n; i++) {
        const dlx_spec_node *it = seq->items[i];
        if (it->kind == DLX_SPEC_MAP || it->kind == DLX_SPEC_SEQ)
            return false;
        if (it->kind == DLX_SPEC_SCALAR && !it->quoted && needs_quotes(it->scalar, true) &&
            !needs_quotes(it->scalar, false))
            return false;
    }
    return true;
}

static void put_flow_seq(struct sbuf *b, const dlx_spec_node *seq)
{
    put(b, "[", 1);
    for (int i = 0; i < seq->n; i++) {
        if (i)
            put(b, ", ", 2);
        put_scalar(b, seq->items[i], true);
    }
    put(b, "]", 1);
}

static void dump_seq(struct sbuf *b, const dlx_spec_node *seq, int ind);

/* After "key:" or "- ": the value, ending with a newline. */
static void dump_map(struct sbuf *b, const dlx_spec_node *m, int ind, bool first_inline);

static void dump_value(struct sbuf *b, const dlx_spec_node *v, int ind, bool in_seq)
{
    if (v->kind == DLX_SPEC_SCALAR || v->kind == DLX_SPEC_NULL) {
        put(b, " ", 1);
        put_scalar(b, v, false);
        put(b, "\n", 1);
    } else if (v->n == 0) {
        puts_(b, v->kind == DLX_SPEC_MAP ? " {}\n" : " []\n");
    } else if (v->kind == DLX_SPEC_SEQ && flowable(v)) {
        put(b, " ", 1);
        put_flow_seq(b, v);
        put(b, "\n", 1);
    } else if (v->kind == DLX_SPEC_MAP && in_seq) {
        put(b, " ", 1);
        dump_map(b, v, ind + 2, true);
    } else if (v->kind == DLX_SPEC_MAP) {
        put(b, "\n", 1);
        dump_map(b, v, ind + 2, false);
    } else {
        put(b, "\n", 1);
        dump_seq(b, v, ind + 2);
    }
}

static void dump_map(struct sbuf *b, const dlx_spec_node *m, int ind, bool first_inline)
{
    for (int i = 0; i < m->n; i++) {
        if (i > 0 || !first_inline)
            indent(b, ind);
        put_key(b, m->keys[i], ind);
        put(b, ":", 1);
        dump_value(b, m->items[i], ind, false);
    }
}

static void dump_seq(struct sbuf *b, const dlx_spec_node *seq, int ind)
{
    for (int i = 0; i < seq->n; i++) {
        indent(b, ind);
        put(b, "-", 1);
        dump_value(b, seq->items[i], ind, true);
    }
}

char *dlx_spec_dump(const dlx_spec *s)
{
    struct sbuf b = {0};
    const dlx_spec_node *r = dlx_spec_root(s);
    if (r->kind == DLX_SPEC_MAP && r->n > 0)
        dump_map(&b, r, 0, false);
    else if (r->kind == DLX_SPEC_MAP)
        puts_(&b, "{}\n");
    put(&b, "", 0);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

