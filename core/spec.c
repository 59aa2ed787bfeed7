/* Experiment specs: libyaml events -> located tree, typed getters, --set, dump.
 * See spec.h for the message formats; they are part of the contract. */
#include "spec.h"
#include "infile.h"
#include "spec_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>


/* ------------------------------------------------------------------ nodes */

void spec_node_free(dlx_spec_node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        spec_node_free(n->items[i]);
    }
    free(n->keys);
    free(n->key_locs);
    free(n->items);
    free(n->scalar);
    free(n->path);
    free(n);
}

dlx_spec_node *spec_node_new(dlx_spec_kind kind, dlx_loc loc, const char *path)
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
int spec_map_append(dlx_spec_node *m, char *key, dlx_loc key_loc, dlx_spec_node *val)
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

char *spec_child_path_key(const char *parent, const char *key)
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
int spec_repath(dlx_spec_node *n, const char *path)
{
    char *np = strdup(path);
    if (!np)
        return -1;
    free(n->path);
    n->path = np;
    for (int i = 0; i < n->n; i++) {
        char *cp = n->kind == DLX_SPEC_MAP ? spec_child_path_key(path, n->keys[i])
                                           : child_path_index(path, i);
        if (!cp)
            return -1;
        int rc = spec_repath(n->items[i], cp);
        free(cp);
        if (rc)
            return rc;
    }
    return 0;
}

void spec_relocate(dlx_spec_node *n, dlx_loc loc)
{
    n->loc = loc;
    for (int i = 0; i < n->n; i++) {
        if (n->kind == DLX_SPEC_MAP)
            n->key_locs[i] = loc;
        spec_relocate(n->items[i], loc);
    }
}

/* A null value (`key:` with nothing after it) becomes an empty map when
 * something is put into it. */
void spec_null_to_map(dlx_spec_node *n)
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
const char *spec_brief(const char *s, char *buf, size_t n)
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

const char *spec_describe(const dlx_spec_node *v, char *buf, size_t n)
{
    char b[72];
    switch (v->kind) {
    case DLX_SPEC_NULL: return "null";
    case DLX_SPEC_MAP: return "a mapping";
    case DLX_SPEC_SEQ: return "a sequence";
    case DLX_SPEC_SCALAR: break;
    }
    snprintf(buf, n, v->quoted ? "the string '%s'" : "'%s'", spec_brief(v->scalar, b, sizeof b));
    return buf;
}

int spec_oom(dlx_err *err)
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
        return spec_oom(p->err);
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

int spec_is_null_text(const char *s)
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
                            spec_brief((const char *)tag, b, sizeof b));
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
    dlx_spec_kind kind = !quoted && spec_is_null_text(v) ? DLX_SPEC_NULL : DLX_SPEC_SCALAR;
    dlx_spec_node *n = spec_node_new(kind, loc, path);
    if (!n)
        return spec_oom(p->err);
    if (kind == DLX_SPEC_SCALAR) {
        n->scalar = malloc(len + 1);
        if (!n->scalar) {
            spec_node_free(n);
            return spec_oom(p->err);
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
            return spec_oom(p->err);
        }
        dlx_spec_node *item = NULL;
        rc = parse_node(p, &ev, cp, depth + 1, &item);
        free(cp);
        if (rc)
            return rc;
        if (seq_append(n, item)) {
            spec_node_free(item);
            return spec_oom(p->err);
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
                                  spec_brief(key, b, sizeof b), n->key_locs[i].line);
                yaml_event_delete(&ev);
                return rc;
            }
        }
        char *k = strdup(key);
        char *cp = k ? spec_child_path_key(n->path, k) : NULL;
        yaml_event_delete(&ev);
        if (!cp) {
            free(k);
            return spec_oom(p->err);
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
        if (spec_map_append(n, k, kloc, val)) {
            free(k);
            spec_node_free(val);
            return spec_oom(p->err);
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
    if (!rc && depth > SPEC_MAX_DEPTH && (ev->type == YAML_MAPPING_START_EVENT ||
                                     ev->type == YAML_SEQUENCE_START_EVENT))
        rc = dlx_err_setf(p->err, DLX_EINVAL, eloc, "nesting is deeper than %d levels",
                          SPEC_MAX_DEPTH);
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
    dlx_spec_node *n = spec_node_new(kind, loc, path);
    if (!n)
        return spec_oom(p->err);
    rc = kind == DLX_SPEC_MAP ? parse_map(p, n, depth) : parse_seq(p, n, depth);
    if (rc) {
        spec_node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* One document -> *out (NULL for an empty stream). */
int spec_parse_text(const unsigned char *text, size_t len, const char *file,
                      const char *errname, dlx_spec_node **out, dlx_err *err)
{
    struct parser p = {.text = text, .len = len, .file = file, .errname = errname, .err = err};
    dlx_spec_node *root = NULL;
    yaml_event_t ev;
    int rc;
    *out = NULL;
    if (!yaml_parser_initialize(&p.yp))
        return spec_oom(err);
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
    spec_node_free(root);
    yaml_parser_delete(&p.yp);
    return rc;
}

static int load_buf(const unsigned char *text, size_t len, const char *name, dlx_spec **out,
                    dlx_err *err)
{
    *out = NULL;
    dlx_spec *s = calloc(1, sizeof(*s));
    if (!s)
        return spec_oom(err);
    s->file = strdup(name);
    if (!s->file) {
        free(s);
        return spec_oom(err);
    }
    int rc = spec_parse_text(text, len, s->file, name, &s->root, err);
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
                          spec_describe(s->root, b, sizeof b));
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

/* Open a spec for reading, refusing what is not a regular file or is larger
 * than any spec: a FIFO without a writer would block forever, /dev/zero
 * never ends. O_NONBLOCK so that opening a FIFO returns at once. */
static FILE *open_spec(const char *path, dlx_err *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot open spec: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    FILE *f = NULL;
    if (fstat(fd, &st) != 0)
        dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot open spec: %s", strerror(errno));
    else if (dlx_infile_require_regular(path, "spec", &st, err))
        ;
    else if (st.st_size > DLX_SPEC_MAX_BYTES)
        dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(path), "spec is %.1f MiB, over the %d MiB a spec may have",
                     (double)st.st_size / 1048576.0, DLX_SPEC_MAX_BYTES >> 20);
    else if (fcntl(fd, F_SETFL, 0) != 0 || !(f = fdopen(fd, "rb")))
        dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot open spec: %s", strerror(errno));
    if (!f)
        close(fd);
    return f;
}

int dlx_spec_load_file(const char *path, dlx_spec **out, dlx_err *err)
{
    *out = NULL;
    FILE *f = open_spec(path, err);
    if (!f)
        return err ? err->code : DLX_EIO;
    int rc = 0;
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        rc = spec_oom(err);
        goto out_close;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                rc = spec_oom(err);
                goto out_free_buf;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > DLX_SPEC_MAX_BYTES) { /* grew while read (/proc files claim size 0) */
            rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(path), "spec is over the %d MiB a spec may have",
                              DLX_SPEC_MAX_BYTES >> 20);
            goto out_free_buf;
        }
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
    spec_node_free(s->root);
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
int spec_parse_index(const char *s, size_t len)
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
            int idx = spec_parse_index(c, len);
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

