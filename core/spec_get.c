/* Typed getters on spec nodes: presence, type, range, suggestions (see spec.h). */
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

/* ---------------------------------------------------------------- getters */

/* node must be of kind `want` (or null: an empty value stands for an empty one) */
static int expect_kind(const dlx_spec_node *node, dlx_spec_kind want, const char *what, const char *noun,
                       dlx_err *err)
{
    char b[96];
    if (!node)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s is missing", what);
    if (node->kind == want || node->kind == DLX_SPEC_NULL)
        return 0;
    return dlx_err_setf(err, DLX_EINVAL, node->loc, "%s%s%s must be %s, got %s", PFX(node), what, noun,
                        spec_describe(node, b, sizeof b));
}

int dlx_spec_expect_map(const dlx_spec_node *node, const char *what, dlx_err *err)
{
    return expect_kind(node, DLX_SPEC_MAP, what, "a mapping", err);
}

int dlx_spec_expect_seq(const dlx_spec_node *node, const char *what, dlx_err *err)
{
    return expect_kind(node, DLX_SPEC_SEQ, what, "a sequence", err);
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
                                spec_brief(k, kb, sizeof kb), what, near);
        return dlx_err_setf(err, DLX_EINVAL, map->key_locs[i],
                            "%s%s'%s' is not a key of %s (allowed: %s)", PFX(map),
                            spec_brief(k, kb, sizeof kb), what,
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
                            PFX(map), spec_describe(map, b, sizeof b));
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
    spec_null_to_map(map);
    char *k = strdup(key);
    char *cp = k ? spec_child_path_key(map->path, key) : NULL;
    dlx_spec_node *v = cp ? spec_node_new(DLX_SPEC_SCALAR, map->loc, cp) : NULL;
    free(cp);
    if (v)
        v->scalar = strdup(text);
    if (!v || !v->scalar || spec_map_append(map, k, map->loc, v)) {
        free(k);
        spec_node_free(v);
        return spec_oom(err);
    }
    v->quoted = quoted;
    v->defaulted = true;
    return 0;
}

/* lookup, and when the key is absent insert `def_text` as its value (so that
 * the resolved spec shows every default); *val stays NULL then */
static int lookup_or_default(dlx_spec_node *map, const char *key, bool required, const char *def_text,
                             dlx_spec_node **val, dlx_err *err)
{
    int rc = lookup(map, key, required, val, err);
    if (rc || *val)
        return rc;
    return insert_default(map, key, def_text, false, err);
}

/* Integers: optional sign and decimal digits, nothing else. */
static int scalar_int(const dlx_spec_node *v, int64_t *out, dlx_err *err)
{
    char b[96];
    if (v->kind != DLX_SPEC_SCALAR || v->quoted)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected an integer, got %s", PFX(v),
                            spec_describe(v, b, sizeof b));
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
                            PFX(v), spec_describe(v, b, sizeof b));
    *out = x;
    return 0;
out_not_int:
    return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected an integer, got %s", PFX(v),
                        spec_describe(v, b, sizeof b));
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
    return spec_is_null_text(s) || word_in(s, k_true) || word_in(s, k_false) || looks_int(s) ||
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
                            PFX(node), spec_describe(node, b, sizeof b));
    *out = node->scalar;
    return 0;
}

int dlx_spec_int(dlx_spec_node *map, const char *key, bool required, int64_t def, int64_t min,
                 int64_t max, int64_t *out, dlx_err *err)
{
    dlx_spec_node *v;
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)def);
    int rc = lookup_or_default(map, key, required, t, &v, err);
    if (rc || !v) {
        *out = def;
        return rc;
    }
    return dlx_spec_node_int(v, min, max, out, err);
}

int dlx_spec_float(dlx_spec_node *map, const char *key, bool required, double def, double min,
                   double max, double *out, dlx_err *err)
{
    dlx_spec_node *v;
    char b[96], t[40];
    snprintf(t, sizeof t, "%.9g", def);
    int rc = lookup_or_default(map, key, required, t, &v, err);
    if (rc || !v) {
        *out = def;
        return rc;
    }
    double x;
    if (v->kind != DLX_SPEC_SCALAR || v->quoted || !parse_float(v->scalar, &x))
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sexpected a number, got %s", PFX(v),
                            spec_describe(v, b, sizeof b));
    if (!(x >= min && x <= max)) {
        if (max >= DBL_MAX)
            return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be at least %g, got %s",
                                PFX(v), min, spec_brief(v->scalar, b, sizeof b));
        if (min <= -DBL_MAX)
            return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be at most %g, got %s",
                                PFX(v), max, spec_brief(v->scalar, b, sizeof b));
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%smust be between %g and %g, got %s",
                            PFX(v), min, max, spec_brief(v->scalar, b, sizeof b));
    }
    *out = x;
    return 0;
}

int dlx_spec_bool(dlx_spec_node *map, const char *key, bool required, bool def, bool *out,
                  dlx_err *err)
{
    dlx_spec_node *v;
    char b[96];
    int rc = lookup_or_default(map, key, required, def ? "true" : "false", &v, err);
    if (rc || !v) {
        *out = def;
        return rc;
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
                        spec_describe(v, b, sizeof b));
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

int dlx_spec_file_path(dlx_spec_node *map, const char *key, char *out, size_t n, dlx_err *err)
{
    const char *v;
    int rc = dlx_spec_str(map, key, true, NULL, &v, err);
    if (rc)
        return rc;
    dlx_spec_node *node = dlx_spec_get(map, key);
    const char *file = node->loc.file;
    const char *slash = file && strcmp(file, SPEC_SET_FILE) != 0 ? strrchr(file, '/') : NULL;
    int len = v[0] == '/' || !slash ? snprintf(out, n, "%s", v)
                                    : snprintf(out, n, "%.*s/%s", (int)(slash - file), file, v);
    if (len < 0 || (size_t)len >= n)
        return dlx_err_setf(err, DLX_EINVAL, node->loc, "%s: the path '%s' resolves to over %zu characters",
                            node->path, v, n - 1);
    return 0;
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
                            join(choices, lb, sizeof lb), spec_describe(v, b, sizeof b));
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
                            spec_brief(v->scalar, b, sizeof b), near, join(choices, lb, sizeof lb));
    return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s%sunknown value '%s' (one of: %s)", PFX(v),
                        spec_brief(v->scalar, b, sizeof b), join(choices, lb, sizeof lb));
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
                            PFX(v), spec_describe(v, b, sizeof b));
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
