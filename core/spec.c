/* Experiment specs: libyaml events -> located tree, typed getters, --set, dump.
 * See spec.h for the message formats; they are part of the contract. */
#include "spec.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define SET_FILE "<--set>"

struct dlx_spec {
    char *file;
    dlx_spec_node *root;
};

/* "path: " before a message, or nothing for the root. */
#define PFX(node) (node)->path, ((node)->path[0] ? ": " : "")

/* ------------------------------------------------------------------ nodes */

static void node_free(dlx_spec_node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        node_free(n->items[i]);
    }
    free(n->keys);
    free(n->key_locs);
    free(n->items);
    free(n->scalar);
    free(n->path);
    free(n);
}

static dlx_spec_node *node_new(dlx_spec_kind kind, dlx_loc loc, const char *path)
{
    dlx_spec_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->kind = kind;
    n->loc = loc;
    n->path = strdup(path);
    if (!n->path) {
        free(n);
        return NULL;
    }
    return n;
}

/* Capacity is implied by n (4, 8, 16, ...), so the struct needs no cap field. */
static int grow(dlx_spec_node *n)
{
    if (n->n != 0 && (n->n < 4 || (n->n & (n->n - 1))))
        return 0;
    size_t cap = n->n == 0 ? 4 : (size_t)n->n * 2;
    if (cap > INT_MAX / 2)
        return -1;
    dlx_spec_node **items = realloc(n->items, cap * sizeof(*items));
    if (!items)
        return -1;
    n->items = items;
    if (n->kind == DLX_SPEC_MAP) {
        char **keys = realloc(n->keys, cap * sizeof(*keys));
        if (!keys)
            return -1;
        n->keys = keys;
        dlx_loc *kl = realloc(n->key_locs, cap * sizeof(*kl));
        if (!kl)
            return -1;
        n->key_locs = kl;
    }
    return 0;
}

/* Takes ownership of `key` and `val` only on success. */
static int map_append(dlx_spec_node *m, char *key, dlx_loc key_loc, dlx_spec_node *val)
{
    if (grow(m))
        return -1;
    m->keys[m->n] = key;
    m->key_locs[m->n] = key_loc;
    m->items[m->n] = val;
    m->n++;
    return 0;
}

static int seq_append(dlx_spec_node *s, dlx_spec_node *val)
{
    if (grow(s))
        return -1;
    s->items[s->n++] = val;
    return 0;
}

static char *child_path_key(const char *parent, const char *key)
{
    size_t lp = strlen(parent), lk = strlen(key);
    char *p = malloc(lp + lk + 2);
    if (!p)
        return NULL;
    if (lp) {
        memcpy(p, parent, lp);
        p[lp] = '.';
        memcpy(p + lp + 1, key, lk + 1);
    } else {
        memcpy(p, key, lk + 1);
    }
    return p;
}

static char *child_path_index(const char *parent, int i)
{
    size_t len = strlen(parent) + 16;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s[%d]", parent, i);
    return p;
}

/* Re-derive paths below `n` (after --set moved a subtree into place). */
static int repath(dlx_spec_node *n, const char *path)
{
    char *np = strdup(path);
    if (!np)
        return -1;
    free(n->path);
    n->path = np;
    for (int i = 0; i < n->n; i++) {
        char *cp = n->kind == DLX_SPEC_MAP ? child_path_key(path, n->keys[i])
                                           : child_path_index(path, i);
        if (!cp)
            return -1;
        int rc = repath(n->items[i], cp);
        free(cp);
        if (rc)
            return rc;
    }
    return 0;
}

static void relocate(dlx_spec_node *n, dlx_loc loc)
{
    n->loc = loc;
    for (int i = 0; i < n->n; i++) {
        if (n->kind == DLX_SPEC_MAP)
            n->key_locs[i] = loc;
        relocate(n->items[i], loc);
    }
}

/* A null value (`key:` with nothing after it) becomes an empty map when
 * something is put into it. */
static void null_to_map(dlx_spec_node *n)
{
    if (n->kind == DLX_SPEC_NULL) {
        free(n->scalar);
        n->scalar = NULL;
        n->quoted = false;
        n->kind = DLX_SPEC_MAP;
    }
}

/* --------------------------------------------------------------- messages */

/* Long values are shortened in messages; never cut inside a UTF-8 sequence. */
static const char *brief(const char *s, char *buf, size_t n)
{
    size_t len = strlen(s);
    if (len + 1 <= n)
        return s;
    size_t keep = n - 4;
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
        keep--;
    memcpy(buf, s, keep);
    memcpy(buf + keep, "...", 4);
    return buf;
}

static const char *describe(const dlx_spec_node *v, char *buf, size_t n)
{
    char b[72];
    switch (v->kind) {
    case DLX_SPEC_NULL: return "null";
    case DLX_SPEC_MAP: return "a mapping";
    case DLX_SPEC_SEQ: return "a sequence";
    case DLX_SPEC_SCALAR: break;
    }
    snprintf(buf, n, v->quoted ? "the string '%s'" : "'%s'", brief(v->scalar, b, sizeof b));
    return buf;
}

static int oom(dlx_err *err)
{
    return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory while handling the spec");
}

/* ---------------------------------------------------------------- parsing */

struct parser {
    yaml_parser_t yp;
    const unsigned char *text;
    size_t len;
    const char *file; /* locations point at this (the spec's own copy) */
    const char *errname; /* for messages */
    dlx_err *err;
};

static dlx_loc mark_loc(const struct parser *p, yaml_mark_t m)
{
    return (dlx_loc){p->file, (int)m.line + 1, (int)m.column + 1};
}

static int yaml_error(struct parser *p)
{
    yaml_parser_t *y = &p->yp;
    dlx_loc loc = {p->errname, 0, 0};
    if (y->error == YAML_MEMORY_ERROR)
        return oom(p->err);
    if (y->error == YAML_READER_ERROR) {
        /* The reader gives a byte offset, not a mark: find line and column. */
        size_t off = y->problem_offset < p->len ? y->problem_offset : p->len;
        int line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (p->text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        loc.line = line;
        loc.col = col;
        return dlx_err_setf(p->err, DLX_EINVAL, loc, "invalid YAML: %s",
                            y->problem ? y->problem : "unreadable input");
    }
    loc.line = (int)y->problem_mark.line + 1;
    loc.col = (int)y->problem_mark.column + 1;
    if (y->context)
        return dlx_err_setf(p->err, DLX_EINVAL, loc, "invalid YAML: %s (%s at line %d)",
                            y->problem ? y->problem : "syntax error", y->context,
                            (int)y->context_mark.line + 1);
    return dlx_err_setf(p->err, DLX_EINVAL, loc, "invalid YAML: %s",
                        y->problem ? y->problem : "syntax error");
}

static int next_event(struct parser *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&p->yp, ev))
        return yaml_error(p);
    return 0;
}

static int is_null_text(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* Anchors, aliases and tags would make the tree differ from the text the
 * user reads; we refuse them rather than half-support them. */
static int check_props(struct parser *p, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    dlx_loc loc = mark_loc(p, ev->start_mark);
    loc.file = p->errname;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return dlx_err_setf(p->err, DLX_EINVAL, loc, "YAML aliases are not supported");
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default: break;
    }
    if (anchor)
        return dlx_err_setf(p->err, DLX_EINVAL, loc,
                            "YAML anchors and aliases are not supported");
    if (tag) {
        char b[72];
        return dlx_err_setf(p->err, DLX_EINVAL, loc, "YAML tags are not supported ('%s')",
                            brief((const char *)tag, b, sizeof b));
    }
    return 0;
}

static int parse_node(struct parser *p, yaml_event_t *ev, const char *path, int depth,
                      dlx_spec_node **out);

static int parse_scalar(struct parser *p, yaml_event_t *ev, const char *path,
                        dlx_spec_node **out)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    dlx_loc loc = mark_loc(p, ev->start_mark);
    if (memchr(v, '\0', len)) {
        loc.file = p->errname;
        return dlx_err_setf(p->err, DLX_EINVAL, loc, "%s%sNUL characters are not allowed",
                            path, *path ? ": " : "");
    }
    bool quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    dlx_spec_kind kind = !quoted && is_null_text(v) ? DLX_SPEC_NULL : DLX_SPEC_SCALAR;
    dlx_spec_node *n = node_new(kind, loc, path);
    if (!n)
        return oom(p->err);
    if (kind == DLX_SPEC_SCALAR) {
        n->scalar = malloc(len + 1);
        if (!n->scalar) {
            node_free(n);
            return oom(p->err);
        }
        memcpy(n->scalar, v, len + 1);
        n->quoted = quoted;
    }
    *out = n;
    return 0;
}

static int parse_seq(struct parser *p, dlx_spec_node *n, int depth)
{
    for (;;) {
        yaml_event_t ev;
        int rc = next_event(p, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        char *cp = child_path_index(n->path, n->n);
        if (!cp) {
            yaml_event_delete(&ev);
            return oom(p->err);
        }
        dlx_spec_node *item = NULL;
        rc = parse_node(p, &ev, cp, depth + 1, &item);
        free(cp);
        if (rc)
            return rc;
        if (seq_append(n, item)) {
            node_free(item);
            return oom(p->err);
        }
    }
}

static int parse_map(struct parser *p, dlx_spec_node *n, int depth)
{
    for (;;) {
        yaml_event_t ev;
        int rc = next_event(p, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        rc = check_props(p, &ev);
        dlx_loc kloc = mark_loc(p, ev.start_mark);
        dlx_loc eloc = kloc;
        eloc.file = p->errname;
        if (!rc && ev.type != YAML_SCALAR_EVENT)
            rc = dlx_err_setf(p->err, DLX_EINVAL, eloc,
                              "%s%smapping keys must be plain strings, got a %s", PFX(n),
                              ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
        if (!rc && memchr(ev.data.scalar.value, '\0', ev.data.scalar.length))
            rc = dlx_err_setf(p->err, DLX_EINVAL, eloc,
                              "%s%sNUL characters are not allowed in keys", PFX(n));
        if (rc) {
            yaml_event_delete(&ev);
            return rc;
        }
        const char *key = (const char *)ev.data.scalar.value;
        for (int i = 0; i < n->n; i++) {
            if (!strcmp(n->keys[i], key)) {
                char b[72];
                rc = dlx_err_setf(p->err, DLX_EINVAL, eloc,
                                  "%s%sduplicate key '%s' (first at line %d)", PFX(n),
                                  brief(key, b, sizeof b), n->key_locs[i].line);
                yaml_event_delete(&ev);
                return rc;
            }
        }
        char *k = strdup(key);
        char *cp = k ? child_path_key(n->path, k) : NULL;
        yaml_event_delete(&ev);
        if (!cp) {
            free(k);
            return oom(p->err);
        }
        dlx_spec_node *val = NULL;
        rc = next_event(p, &ev);
        if (!rc)
            rc = parse_node(p, &ev, cp, depth + 1, &val);
        free(cp);
        if (rc) {
            free(k);
            return rc;
        }
        if (map_append(n, k, kloc, val)) {
            free(k);
            node_free(val);
            return oom(p->err);
        }
    }
}

/* Consumes *ev. */
static int parse_node(struct parser *p, yaml_event_t *ev, const char *path, int depth,
                      dlx_spec_node **out)
{
    int rc = check_props(p, ev);
    dlx_loc loc = mark_loc(p, ev->start_mark);
    dlx_loc eloc = loc;
    eloc.file = p->errname;
    if (!rc && depth > MAX_DEPTH && (ev->type == YAML_MAPPING_START_EVENT ||
                                     ev->type == YAML_SEQUENCE_START_EVENT))
        rc = dlx_err_setf(p->err, DLX_EINVAL, eloc, "nesting is deeper than %d levels",
                          MAX_DEPTH);
    if (rc) {
        yaml_event_delete(ev);
        return rc;
    }
    if (ev->type == YAML_SCALAR_EVENT) {
        rc = parse_scalar(p, ev, path, out);
        yaml_event_delete(ev);
        return rc;
    }
    dlx_spec_kind kind = ev->type == YAML_MAPPING_START_EVENT ? DLX_SPEC_MAP : DLX_SPEC_SEQ;
    DLX_ASSERT(ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT);
    yaml_event_delete(ev);
    dlx_spec_node *n = node_new(kind, loc, path);
    if (!n)
        return oom(p->err);
    rc = kind == DLX_SPEC_MAP ? parse_map(p, n, depth) : parse_seq(p, n, depth);
    if (rc) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* One document -> *out (NULL for an empty stream). */
static int parse_text(const unsigned char *text, size_t len, const char *file,
                      const char *errname, dlx_spec_node **out, dlx_err *err)
{
    struct parser p = {.text = text, .len = len, .file = file, .errname = errname, .err = err};
    dlx_spec_node *root = NULL;
    yaml_event_t ev;
    int rc;
    *out = NULL;
    if (!yaml_parser_initialize(&p.yp))
        return oom(err);
    yaml_parser_set_input_string(&p.yp, text, len);
    yaml_parser_set_encoding(&p.yp, YAML_UTF8_ENCODING);
    for (;;) {
        rc = next_event(&p, &ev);
        if (rc)
            goto out_free_root;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && root) {
            dlx_loc loc = mark_loc(&p, ev.start_mark);
            loc.file = errname;
            rc = dlx_err_setf(err, DLX_EINVAL, loc,
                              "a spec is one YAML document; found a second one here");
            yaml_event_delete(&ev);
            goto out_free_root;
        }
        if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
            rc = parse_node(&p, &ev, "", 0, &root);
            if (rc)
                goto out_free_root;
            continue;
        }
        yaml_event_delete(&ev);
    }
    *out = root;
    yaml_parser_delete(&p.yp);
    return 0;
out_free_root:
    node_free(root);
    yaml_parser_delete(&p.yp);
    return rc;
}

static int load_buf(const unsigned char *text, size_t len, const char *name, dlx_spec **out,
                    dlx_err *err)
{
    *out = NULL;
    dlx_spec *s = calloc(1, sizeof(*s));
    if (!s)
        return oom(err);
    s->file = strdup(name);
    if (!s->file) {
        free(s);
        return oom(err);
    }
    int rc = parse_text(text, len, s->file, name, &s->root, err);
    if (rc)
        goto out_destroy;
    if (!s->root || s->root->kind == DLX_SPEC_NULL) {
        rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(name),
                          "spec is empty: expected a mapping with model:, data: and train:");
        goto out_destroy;
    }
    if (s->root->kind != DLX_SPEC_MAP) {
        char b[96];
        dlx_loc loc = s->root->loc;
        loc.file = name;
        rc = dlx_err_setf(err, DLX_EINVAL, loc,
                          "the top level must be a mapping with model:, data: and train:, got %s",
                          describe(s->root, b, sizeof b));
        goto out_destroy;
    }
    *out = s;
    return 0;
out_destroy:
    dlx_spec_destroy(s);
    return rc;
}

int dlx_spec_load_string(const char *text, const char *name, dlx_spec **out, dlx_err *err)
{
    return load_buf((const unsigned char *)text, strlen(text), name ? name : "<string>", out,
                    err);
}

int dlx_spec_load_file(const char *path, dlx_spec **out, dlx_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot open spec: %s",
                            strerror(errno));
    int rc = 0;
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        rc = oom(err);
        goto out_close;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                rc = oom(err);
                goto out_free_buf;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot read spec: %s",
                                  strerror(errno));
                goto out_free_buf;
            }
            break;
        }
    }
    rc = load_buf(buf, len, path, out, err);
out_free_buf:
    free(buf);
out_close:
    fclose(f);
    return rc;
}

void dlx_spec_destroy(dlx_spec *s)
{
    if (!s)
        return;
    node_free(s->root);
    free(s->file);
    free(s);
}

dlx_spec_node *dlx_spec_root(const dlx_spec *s)
{
    return s->root;
}

const char *dlx_spec_file(const dlx_spec *s)
{
    return s->file;
}

/* ----------------------------------------------------------------- lookup */

dlx_spec_node *dlx_spec_get(const dlx_spec_node *map, const char *key)
{
    if (!map || map->kind != DLX_SPEC_MAP)
        return NULL;
    for (int i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i], key))
            return map->items[i];
    return NULL;
}

/* A sequence index: decimal digits only, < INT_MAX; -1 otherwise. */
static int parse_index(const char *s, size_t len)
{
    if (len == 0 || len > 9)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

dlx_spec_node *dlx_spec_path(const dlx_spec *s, const char *dotted)
{
    dlx_spec_node *n = s->root;
    const char *c = dotted;
    if (!*c)
        return n;
    while (n) {
        const char *dot = strchr(c, '.');
        size_t len = dot ? (size_t)(dot - c) : strlen(c);
        if (n->kind == DLX_SPEC_MAP) {
            dlx_spec_node *next = NULL;
            for (int i = 0; i < n->n; i++) {
                if (strlen(n->keys[i]) == len && !memcmp(n->keys[i], c, len)) {
                    next = n->items[i];
                    break;
                }
            }
            n = next;
        } else if (n->kind == DLX_SPEC_SEQ) {
            int idx = parse_index(c, len);
            n = idx >= 0 && idx < n->n ? n->items[idx] : NULL;
        } else {
            n = NULL;
        }
        if (!dot)
            return n;
        c = dot + 1;
    }
    return NULL;
}

/* ------------------------------------------------------------------- --set */

/* Walks the dotted key. With dry_run it only checks that the walk can be
 * done, so that a failing --set leaves the tree untouched. */
static int set_walk(dlx_spec *s, const char *assign, const char *key, dlx_spec_node *val,
                    bool dry_run, dlx_err *err)
{
    const dlx_loc set_loc = {SET_FILE, 0, 0};
    dlx_spec_node *n = s->root;
    const char *c = key;
    char bb[96];
    const char *b = brief(assign, bb, sizeof bb);
    for (;;) {
        const char *dot = strchr(c, '.');
        size_t len = dot ? (size_t)(dot - c) : strlen(c);
        bool last = !dot;
        int slot = -1;
        if (n->kind == DLX_SPEC_SCALAR)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                                "--set '%s': %s is a scalar, it has no key '%.*s'", b,
                                n->path, (int)len, c);
        if (n->kind == DLX_SPEC_SEQ) {
            slot = parse_index(c, len);
            if (slot < 0)
                return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                                    "--set '%s': %s is a sequence; address its items by "
                                    "index, not '%.*s'",
                                    b, n->path, (int)len, c);
            if (slot >= n->n)
                return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                                    "--set '%s': index %d is out of range (%s has %d item%s)",
                                    b, slot, n->path, n->n, n->n == 1 ? "" : "s");
        } else if (n->kind == DLX_SPEC_MAP) {
            for (int i = 0; i < n->n; i++) {
                if (strlen(n->keys[i]) == len && !memcmp(n->keys[i], c, len)) {
                    slot = i;
                    break;
                }
            }
        }
        /* From here on only map keys are missing: nothing can fail but memory. */
        if (dry_run && (slot < 0 || last))
            return 0;
        if (slot < 0) {
            null_to_map(n);
            char *k = strndup(c, len);
            char *cp = k ? child_path_key(n->path, k) : NULL;
            dlx_spec_node *child =
                cp ? node_new(last ? val->kind : DLX_SPEC_MAP, set_loc, cp) : NULL;
            free(cp);
            if (!child || map_append(n, k, set_loc, child)) {
                free(k);
                node_free(child);
                return oom(err);
            }
            slot = n->n - 1;
        }
        if (last) {
            dlx_spec_node *old = n->items[slot];
            if (repath(val, old->path)) {
                return oom(err);
            }
            n->items[slot] = val;
            node_free(old);
            return 0;
        }
        n = n->items[slot];
        c = dot + 1;
    }
}

/* A --set key must be text YAML can hold: valid UTF-8 without control
 * characters (else the dumped spec, e.g. in a checkpoint, would not re-parse). */
static bool key_text_ok(const unsigned char *k, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = k[i];
        int w = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!w || i + (size_t)w > len)
            return false;
        uint32_t v = w == 1 ? c : w == 2 ? (c & 0x1F) : w == 3 ? (c & 0x0F) : (c & 0x07);
        for (int j = 1; j < w; j++) {
            if ((k[i + j] & 0xC0) != 0x80)
                return false;
            v = v << 6 | (k[i + j] & 0x3F);
        }
        static const uint32_t min_v[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (v < min_v[w] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || v < 0x20 ||
            v == 0x7F || (v >= 0x80 && v < 0xA0 && v != 0x85) || v == 0xFFFE || v == 0xFFFF)
            return false;
        i += (size_t)w;
    }
    return true;
}

int dlx_spec_set(dlx_spec *s, const char *assignment, dlx_err *err)
{
    char bb[96];
    const char *b = brief(assignment, bb, sizeof bb);
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--set '%s': expected key=value, e.g. train.lr=0.01", b);
    size_t klen = (size_t)(eq - assignment);
    if (klen == 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--set '%s': the key is empty", b);
    if (!key_text_ok((const unsigned char *)assignment, klen))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--set '%s': the key must be UTF-8 text without control characters",
                            b);
    int ncomp = 1;
    for (size_t i = 0; i < klen; i++) {
        if (assignment[i] == '.') {
            ncomp++;
            if (i == 0 || i + 1 == klen || assignment[i + 1] == '.')
                return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                                    "--set '%s': the key has an empty part", b);
        }
    }
    if (ncomp > MAX_DEPTH)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--set '%s': the key is deeper than %d levels", b, MAX_DEPTH);
    char *key = strndup(assignment, klen);
    if (!key)
        return oom(err);
    const char *text = eq + 1;
    dlx_spec_node *val = NULL;
    int rc = parse_text((const unsigned char *)text, strlen(text), SET_FILE, SET_FILE, &val,
                        err);
    if (rc) {
        if (rc == DLX_EINVAL) {
            char msg[sizeof err->msg];
            memcpy(msg, err->msg, sizeof msg);
            rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--set '%s': %s", b, msg);
        }
        goto out_free_key;
    }
    if (!val) {
        val = node_new(DLX_SPEC_NULL, DLX_NOLOC, "");
        if (!val) {
            rc = oom(err);
            goto out_free_key;
        }
    }
    relocate(val, (dlx_loc){SET_FILE, 0, 0});
    rc = set_walk(s, assignment, key, val, true, err);
    if (!rc)
        rc = set_walk(s, assignment, key, val, false, err);
    if (!rc)
        val = NULL; /* now owned by the tree */
    node_free(val);
out_free_key:
    free(key);
    return rc;
}

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
    const dlx_spec_node *r = s->root;
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

/* ---------------------------------------------------------------- getters */

int dlx_spec_expect_map(const dlx_spec_node *node, const char *what, dlx_err *err)
{
    char b[96];
    if (!node)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s is missing", what);
    if (node->kind == DLX_SPEC_MAP || node->kind == DLX_SPEC_NULL)
        return 0;
    return dlx_err_setf(err, DLX_EINVAL, node->loc, "%s%s%s must be a mapping, got %s",
                        PFX(node), what, describe(node, b, sizeof b));
}

int dlx_spec_expect_seq(const dlx_spec_node *node, const char *what, dlx_err *err)
{
    char b[96];
    if (!node)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s is missing", what);
    if (node->kind == DLX_SPEC_SEQ || node->kind == DLX_SPEC_NULL)
        return 0;
    return dlx_err_setf(err, DLX_EINVAL, node->loc, "%s%s%s must be a sequence, got %s",
                        PFX(node), what, describe(node, b, sizeof b));
}

/* "a, b, c" into buf, shortened with ", ..." if it does not fit. */
static const char *join(const char *const *words, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; words[i]; i++) {
        size_t w = strlen(words[i]);
        if (len + w + 2 + 5 >= n) {
            snprintf(buf + len, n - len, "%s...", i ? ", " : "");
            break;
        }
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", words[i]);
    }
    return buf;
}

int dlx_spec_check_keys(const dlx_spec_node *map, const char *what, const char *const *allowed,
                        dlx_err *err)
{
    int rc = dlx_spec_expect_map(map, what, err);
    if (rc)
        return rc;
    for (int i = 0; i < map->n; i++) {
        const char *k = map->keys[i];
        bool ok = false;
        for (int j = 0; allowed[j] && !ok; j++)
            ok = !strcmp(k, allowed[j]);
        if (ok)
            continue;
        char kb[72], lb[400];
        const char *near = dlx_closest(k, allowed);
        if (near)
            return dlx_err_setf(err, DLX_EINVAL, map->key_locs[i],
                                "%s%s'%s' is not a key of %s; did you mean '%s'?", PFX(map),
                                brief(k, kb, sizeof kb), what, near);
        return dlx_err_setf(err, DLX_EINVAL, map->key_locs[i],
                            "%s%s'%s' is not a key of %s (allowed: %s)", PFX(map),
                            brief(k, kb, sizeof kb), what,
                            allowed[0] ? join(allowed, lb, sizeof lb) : "none");
    }
    return 0;
}

/* Finds `key`; *val = NULL when absent and not required. */
static int lookup(dlx_spec_node *map, const char *key, bool required, dlx_spec_node **val,
                  dlx_err *err)
{
    char b[96];
    *val = NULL;
    if (!map) {
        if (required)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "missing required key '%s'", key);
        return 0;
    }
    if (map->kind != DLX_SPEC_MAP && map->kind != DLX_SPEC_NULL)
        return dlx_err_setf(err, DLX_EINVAL, map->loc, "%s%sexpected a mapping, got %s",
                            PFX(map), describe(map, b, sizeof b));
    *val = dlx_spec_get(map, key);
    if (!*val && required)
        return dlx_err_setf(err, DLX_EINVAL, map->loc, "%s%smissing required key '%s'", PFX(map),
                            key);
    return 0;
}

static int insert_default(dlx_spec_node *map, const char *key, const char *text, bool quoted,
                          dlx_err *err)
{
    if (!map)
        return 0;
    null_to_map(map);
    char *k = strdup(key);
    char *cp = k ? child_path_key(map->path, key) : NULL;
    dlx_spec_node *v = cp ? node_new(DLX_SPEC_SCALAR, map->loc, cp) : NULL;
    free(cp);
    if (v)
        v->scalar = strdup(text);
    if (!v || !v->scalar || map_append(map, k, map->loc, v)) {
        free(k);
        node_free(v);
        return oom(err);
    }
    v->quoted = quoted;
    return 0;
}

/* Integers: optional sign and decimal digits, nothing else. */
static int scalar_int(const dlx_spec_node *v, int64_t *out, dlx_err *err)
{
    char b[96];
    if (v->kind != DLX_SPEC_SCALAR || v->quoted)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected an integer, got %s", PFX(v),
                            describe(v, b, sizeof b));
    const char *s = v->scalar;
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    char *end;
    if (*d < '0' || *d > '9')
        goto out_not_int;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (*end)
        goto out_not_int;
    if (errno == ERANGE)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%s%s is too large for an integer",
                            PFX(v), describe(v, b, sizeof b));
    *out = x;
    return 0;
out_not_int:
    return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected an integer, got %s", PFX(v),
                        describe(v, b, sizeof b));
}

static bool parse_float(const char *s, double *out)
{
    bool digit = false;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digit = true;
        else if (!strchr("+-.eE", *p))
            return false; /* no inf, nan, hex or underscores */
    }
    if (!digit)
        return false;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || !isfinite(x))
        return false;
    *out = x;
    return true;
}

static bool looks_int(const char *s)
{
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (!*d)
        return false;
    for (; *d; d++)
        if (*d < '0' || *d > '9')
            return false;
    return true;
}

static const char *const k_true[] = {"true", "yes", "on", NULL};
static const char *const k_false[] = {"false", "no", "off", NULL};

static int word_in(const char *s, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (!strcasecmp(s, words[i]))
            return 1;
    return 0;
}

/* Would this text, written plain, be read as something other than a string? */
static bool looks_special(const char *s)
{
    double d;
    return is_null_text(s) || word_in(s, k_true) || word_in(s, k_false) || looks_int(s) ||
           parse_float(s, &d);
}

static int check_int_range(const dlx_spec_node *v, int64_t x, int64_t min, int64_t max,
                           dlx_err *err)
{
    if (x >= min && x <= max)
        return 0;
    if (max == INT64_MAX)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be at least %lld, got %lld",
                            PFX(v), (long long)min, (long long)x);
    if (min == INT64_MIN)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be at most %lld, got %lld",
                            PFX(v), (long long)max, (long long)x);
    return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be between %lld and %lld, got %lld",
                        PFX(v), (long long)min, (long long)max, (long long)x);
}

int dlx_spec_node_int(const dlx_spec_node *node, int64_t min, int64_t max, int64_t *out,
                      dlx_err *err)
{
    if (!node)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "expected an integer, got nothing");
    int64_t x = 0;
    int rc = scalar_int(node, &x, err);
    if (!rc)
        rc = check_int_range(node, x, min, max, err);
    if (!rc)
        *out = x;
    return rc;
}

int dlx_spec_node_str(const dlx_spec_node *node, const char **out, dlx_err *err)
{
    char b[96];
    if (!node)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "expected a string, got nothing");
    if (node->kind != DLX_SPEC_SCALAR)
        return dlx_err_setf(err, DLX_EINVAL, node->loc, "%s%sexpected a string, got %s",
                            PFX(node), describe(node, b, sizeof b));
    *out = node->scalar;
    return 0;
}

int dlx_spec_int(dlx_spec_node *map, const char *key, bool required, int64_t def, int64_t min,
                 int64_t max, int64_t *out, dlx_err *err)
{
    dlx_spec_node *v;
    int rc = lookup(map, key, required, &v, err);
    if (rc)
        return rc;
    if (!v) {
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)def);
        *out = def;
        return insert_default(map, key, t, false, err);
    }
    return dlx_spec_node_int(v, min, max, out, err);
}

int dlx_spec_float(dlx_spec_node *map, const char *key, bool required, double def, double min,
                   double max, double *out, dlx_err *err)
{
    dlx_spec_node *v;
    char b[96];
    int rc = lookup(map, key, required, &v, err);
    if (rc)
        return rc;
    if (!v) {
        char t[40];
        snprintf(t, sizeof t, "%.9g", def);
        *out = def;
        return insert_default(map, key, t, false, err);
    }
    double x;
    if (v->kind != DLX_SPEC_SCALAR || v->quoted || !parse_float(v->scalar, &x))
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected a number, got %s", PFX(v),
                            describe(v, b, sizeof b));
    if (!(x >= min && x <= max)) {
        if (max >= DBL_MAX)
            return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be at least %g, got %s",
                                PFX(v), min, brief(v->scalar, b, sizeof b));
        if (min <= -DBL_MAX)
            return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be at most %g, got %s",
                                PFX(v), max, brief(v->scalar, b, sizeof b));
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be between %g and %g, got %s",
                            PFX(v), min, max, brief(v->scalar, b, sizeof b));
    }
    *out = x;
    return 0;
}

int dlx_spec_bool(dlx_spec_node *map, const char *key, bool required, bool def, bool *out,
                  dlx_err *err)
{
    dlx_spec_node *v;
    char b[96];
    int rc = lookup(map, key, required, &v, err);
    if (rc)
        return rc;
    if (!v) {
        *out = def;
        return insert_default(map, key, def ? "true" : "false", false, err);
    }
    if (v->kind == DLX_SPEC_SCALAR && !v->quoted) {
        if (word_in(v->scalar, k_true)) {
            *out = true;
            return 0;
        }
        if (word_in(v->scalar, k_false)) {
            *out = false;
            return 0;
        }
    }
    return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected true or false, got %s", PFX(v),
                        describe(v, b, sizeof b));
}

int dlx_spec_str(dlx_spec_node *map, const char *key, bool required, const char *def,
                 const char **out, dlx_err *err)
{
    dlx_spec_node *v;
    int rc = lookup(map, key, required, &v, err);
    if (rc)
        return rc;
    if (v)
        return dlx_spec_node_str(v, out, err);
    *out = def;
    if (!def || !map)
        return 0;
    rc = insert_default(map, key, def, looks_special(def), err);
    if (!rc)
        *out = map->items[map->n - 1]->scalar;
    return rc;
}

int dlx_spec_enum(dlx_spec_node *map, const char *key, bool required, const char *const *choices,
                  int def, int *out, dlx_err *err)
{
    dlx_spec_node *v;
    char b[96], lb[400];
    int rc = lookup(map, key, required, &v, err);
    if (rc)
        return rc;
    if (!v) {
        *out = def;
        if (def < 0)
            return 0;
        return insert_default(map, key, choices[def], looks_special(choices[def]), err);
    }
    if (v->kind != DLX_SPEC_SCALAR)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected one of: %s, got %s", PFX(v),
                            join(choices, lb, sizeof lb), describe(v, b, sizeof b));
    for (int i = 0; choices[i]; i++) {
        if (!strcmp(v->scalar, choices[i])) {
            *out = i;
            return 0;
        }
    }
    const char *near = dlx_closest(v->scalar, choices);
    if (near)
        return dlx_err_setf(err, DLX_EINVAL, v->loc,
                            "%s%sunknown value '%s'; did you mean '%s'? (one of: %s)", PFX(v),
                            brief(v->scalar, b, sizeof b), near, join(choices, lb, sizeof lb));
    return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sunknown value '%s' (one of: %s)", PFX(v),
                        brief(v->scalar, b, sizeof b), join(choices, lb, sizeof lb));
}

int dlx_spec_int_list(dlx_spec_node *map, const char *key, bool required, int64_t min, int64_t max,
                      int64_t *out, int max_n, int *n_out, dlx_err *err)
{
    dlx_spec_node *v;
    char b[96];
    int rc = lookup(map, key, required, &v, err);
    *n_out = 0;
    if (rc || !v)
        return rc;
    if (v->kind == DLX_SPEC_SCALAR) {
        if (max_n < 1)
            return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sat most %d values, got 1",
                                PFX(v), max_n);
        rc = dlx_spec_node_int(v, min, max, &out[0], err);
        if (!rc)
            *n_out = 1;
        return rc;
    }
    if (v->kind != DLX_SPEC_SEQ)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected a list of integers, got %s",
                            PFX(v), describe(v, b, sizeof b));
    if (v->n > max_n)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sat most %d values, got %d", PFX(v),
                            max_n, v->n);
    for (int i = 0; i < v->n; i++) {
        rc = dlx_spec_node_int(v->items[i], min, max, &out[i], err);
        if (rc)
            return rc;
    }
    *n_out = v->n;
    return 0;
}

/* ------------------------------------------------------------ suggestions */

/* Optimal string alignment distance: insertions, deletions, substitutions and
 * swaps of two adjacent letters each cost 1, so 'trian' is 1 away from 'train'. */
int dlx_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la == 0 || lb == 0)
        return (int)(la > lb ? (la > INT_MAX ? INT_MAX : la) : (lb > INT_MAX ? INT_MAX : lb));
    /* three rows: i-2, i-1, i */
    int *rows = malloc(3 * (lb + 1) * sizeof(*rows));
    if (!rows)
        return INT_MAX;
    int *pp = rows, *prev = rows + (lb + 1), *cur = rows + 2 * (lb + 1);
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            cur[j] = best;
        }
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    int d = prev[lb];
    free(rows);
    return d;
}

const char *dlx_closest(const char *word, const char *const *candidates)
{
    if (!candidates)
        return NULL;
    size_t lw = strlen(word);
    int limit = lw / 3 > 1 ? (int)(lw / 3) : 1;
    const char *best = NULL;
    int best_d = INT_MAX;
    for (int i = 0; candidates[i]; i++) {
        const char *c = candidates[i];
        size_t lc = strlen(c);
        int d;
        if (!strcasecmp(word, c))
            d = 0;
        else if ((lw > lc ? lw - lc : lc - lw) > (size_t)limit)
            continue; /* too far apart in length: skip the O(n*m) work */
        else
            d = dlx_edit_distance(word, c);
        if (d <= limit && d < best_d) {
            best = c;
            best_d = d;
        }
    }
    return best;
}
