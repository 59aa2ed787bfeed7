/* `--set key.path=value`: overriding any key of a loaded spec (see spec.h). */
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

/* ------------------------------------------------------------------- --set */

/* Walks the dotted key. With dry_run it only checks that the walk can be
 * done, so that a failing --set leaves the tree untouched. */
static int set_walk(dlx_spec *s, const char *assign, const char *key, dlx_spec_node *val,
                    bool dry_run, dlx_err *err)
{
    const dlx_loc set_loc = {SPEC_SET_FILE, 0, 0};
    dlx_spec_node *n = s->root;
    const char *c = key;
    char bb[96];
    const char *b = spec_brief(assign, bb, sizeof bb);
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
            slot = spec_parse_index(c, len);
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
            spec_null_to_map(n);
            char *k = strndup(c, len);
            char *cp = k ? spec_child_path_key(n->path, k) : NULL;
            dlx_spec_node *child =
                cp ? spec_node_new(last ? val->kind : DLX_SPEC_MAP, set_loc, cp) : NULL;
            free(cp);
            if (!child || spec_map_append(n, k, set_loc, child)) {
                free(k);
                spec_node_free(child);
                return spec_oom(err);
            }
            slot = n->n - 1;
        }
        if (last) {
            dlx_spec_node *old = n->items[slot];
            if (spec_repath(val, old->path)) {
                return spec_oom(err);
            }
            n->items[slot] = val;
            spec_node_free(old);
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
    const char *b = spec_brief(assignment, bb, sizeof bb);
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
    if (ncomp > SPEC_MAX_DEPTH)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--set '%s': the key is deeper than %d levels", b, SPEC_MAX_DEPTH);
    char *key = strndup(assignment, klen);
    if (!key)
        return spec_oom(err);
    const char *text = eq + 1;
    dlx_spec_node *val = NULL;
    int rc = spec_parse_text((const unsigned char *)text, strlen(text), SPEC_SET_FILE, SPEC_SET_FILE, &val,
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
        val = spec_node_new(DLX_SPEC_NULL, DLX_NOLOC, "");
        if (!val) {
            rc = spec_oom(err);
            goto out_free_key;
        }
    }
    spec_relocate(val, (dlx_loc){SPEC_SET_FILE, 0, 0});
    rc = set_walk(s, assignment, key, val, true, err);
    if (!rc)
        rc = set_walk(s, assignment, key, val, false, err);
    if (!rc)
        val = NULL; /* now owned by the tree */
    spec_node_free(val);
out_free_key:
    free(key);
    return rc;
}

