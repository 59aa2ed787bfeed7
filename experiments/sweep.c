/* Sweep specs: parse and check the sweep, build each run's spec, and train
 * one run through the family registry (dlx_sweep_run_one). Running many is
 * experiments/sweep_exec.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "../core/rundir.h"
#include "../models/family.h"
#include "../models/landscape.h"
#include "model.h"
#include "registry.h"
#include "sweep.h"

#define MAX_VALUES 100000

/* The reference of a sweep spec's maps and the keys each may hold. */
static const dlx_key_doc k_top_keys[] = {
    {"version", "integer", "-", "any (not read)", "the spec format's version, as in a model spec"},
    {"name", "string", "sweep", "one directory name", "picks runs/<name>/sweep.h5"},
    {"description", "string", "-", "any (not read)", "what the sweep is for"},
    {"sweep", "map", "required", "dlx spec sweep", "the sweep"},
    {NULL},
};
static const dlx_key_doc k_sweep_keys[] = {
    {"base", "string", "required", "a model spec (relative to this file)", "the spec every run starts from"},
    {"axes", "list of maps", "required", "1 to 8 axes (dlx spec sweep.axes[]), at most 1e8 runs",
     "the keys swept; the runs are the Cartesian product"},
    {"measures", "list of strings", "required", "the base family's measures, steps, seconds, diverged",
     "the columns each run gives (hessian: four)"},
    {"out", "string", "runs/<name>/sweep.h5", "a path (relative to the working directory)", "the table"},
    {"hessian", "map", "-", "dlx spec sweep.hessian", "settings of the hessian measure"},
    {"figures", "list of maps", "-", "up to 8 (dlx spec sweep.figures[])", "pictures of the table (dlx landscape)"},
    {NULL},
};
static const dlx_key_doc k_axis_keys[] = {
    {"name", "string", "the key", "unique, not a measure's column", "the column's name"},
    {"key", "string or list of strings", "required", "keys of the base spec (1 to 4), or seed",
     "where each value is set (several: the same value into each)"},
    {"values", "list of scalars", "- (exactly one of values and range)", "not empty; text values allowed",
     "the axis's values"},
    {"range", "[first, last]", "- (exactly one of values and range)", "integers, at most 100000 values",
     "the integers first..last"},
    {NULL},
};
static const dlx_key_doc k_hess_keys[] = {
    {"samples", "integer", "1000", "1 to 100000", "the first training samples the Hessian is taken over"},
    {"method", "string", "rop", "rop, fd",
     "rop: exact Hessian-vector products (the R-operator of every op, in double); fd: central differences of "
     "double-precision gradients with step eps, a check of rop"},
    {"eps", "number", "1e-05", "1e-8 to 1", "the central differences' step (method: fd)"},
    {"exact_max", "integer", "3000", "0 to 20000", "exact eigenvalues up to this many parameters, else Lanczos"},
    {"lanczos_steps", "integer", "40", "2 to 1000", "Lanczos iterations"},
    {"neg_tol", "number", "0.001", "0 to 1000", "the index counts eigenvalues below -neg_tol"},
    {NULL},
};
static const dlx_key_doc k_fig_keys[] = {
    {"type", "string", "required", "histogram, scatter, surface, line", "the picture"},
    {"out", "string", "required", "a file name", "the PNG, in the figure directory"},
    {"x", "string", "required (surface: \"\")", "a column", "histogram: the column; scatter: x"},
    {"y", "string", "\"\" (scatter: required)", "a column", "scatter: y"},
    {"by", "string", "\"\" (none)", "a column", "one group per value"},
    {"band", "[low, high]", "- (none)", "two numbers", "histogram: a shaded reference band"},
    {"bins", "integer", "40", "2 to 10000", "histogram bins"},
    {"range", "number", "2", "1e-06 to 1e6", "surface: half-width of the (w1, w2) square"},
    {"points", "integer", "201", "3 to 4001", "surface: grid points per side"},
    {NULL},
};

const dlx_spec_section dlx_sweep_spec_sections[] = {
    {"sweep_spec", "the top level of a sweep spec (dlx landscape SWEEP.yaml, model.sweep of kind sweep)", k_top_keys,
     NULL},
    {"sweep", "sweep: of a sweep spec: many trainings of one base spec", k_sweep_keys, NULL},
    {"sweep.axes[]", "an entry of sweep.axes", k_axis_keys, NULL},
    {"sweep.hessian", "sweep.hessian: the hessian measure (exact, or Lanczos with Hessian-vector products)",
     k_hess_keys, NULL},
    {"sweep.figures[]", "an entry of sweep.figures", k_fig_keys, NULL},
    {NULL},
};
static const char *const k_fig_types[] = {"histogram", "scatter", "surface", "line", NULL};

/* Measures of every family's runs (after the family's own, models/family.h):
 * steps done, wall seconds, and diverged (1 when training stopped on a
 * non-finite loss or the family's divergence test; the run is then kept,
 * evaluated as it stands, instead of failing the sweep). "hessian" adds 4
 * columns. */
static const char *const k_run_measures[] = {"steps", "seconds", "diverged", NULL};
static const char *const k_hess_cols[] = {"params", "hessian_index", "eig_min", "eig_max"};

/* The family's measures then the run's, NULL-terminated, into list (n slots). */
static int known_measures(const dlx_family *f, const char **list, int n)
{
    int k = 0;
    for (int i = 0; f->sweep_measures && f->sweep_measures[i] && k < n - 1; i++)
        list[k++] = f->sweep_measures[i];
    for (int i = 0; k_run_measures[i] && k < n - 1; i++)
        list[k++] = k_run_measures[i];
    list[k] = NULL;
    return k;
}

static void free_axis(dlx_sweep_axis *a)
{
    for (int i = 0; i < a->n && a->text; i++)
        free(a->text[i]);
    free(a->text);
    free(a->num);
    memset(a, 0, sizeof *a);
}

void dlx_sweep_destroy(dlx_sweep *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_axes; i++)
        free_axis(&s->axes[i]);
    free(s->base_text);
    free(s->spec_text);
    free(s);
}

static int add_value(dlx_sweep_axis *a, const char *text, dlx_loc loc, dlx_err *err)
{
    if (a->n >= MAX_VALUES)
        return dlx_err_setf(err, DLX_EINVAL, loc, "axis '%s': more than %d values", a->name, MAX_VALUES);
    char **t = realloc(a->text, (size_t)(a->n + 1) * sizeof *t);
    if (t)
        a->text = t;
    double *v = t ? realloc(a->num, (size_t)(a->n + 1) * sizeof *v) : NULL;
    if (v)
        a->num = v;
    char *copy = v ? strdup(text) : NULL;
    if (!copy)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    char *end;
    double x = strtod(text, &end);
    a->text[a->n] = copy;
    a->num[a->n++] = end != text && *end == '\0' ? x : NAN;
    return 0;
}

static int read_axis(dlx_sweep *s, dlx_spec_node *e, int k, const dlx_spec *base, dlx_err *err)
{
    dlx_sweep_axis *a = &s->axes[k];
    const char *name, *key = NULL;
    int rc = dlx_spec_expect_map(e, "sweep.axes item", err);
    if (!rc) rc = dlx_spec_check_doc(e, "an axis", k_axis_keys, err);
    dlx_spec_node *kn = rc ? NULL : dlx_spec_get(e, "key");
    if (!rc && kn && kn->kind == DLX_SPEC_SEQ) { /* key: [a, b]: one value set into several keys */
        if (kn->n < 1 || kn->n > DLX_SWEEP_AXIS_KEYS)
            return dlx_err_setf(err, DLX_EINVAL, kn->loc, "%s: give 1 to %d keys, got %d", kn->path,
                                DLX_SWEEP_AXIS_KEYS, kn->n);
        for (int i = 0; !rc && i < kn->n; i++) {
            rc = dlx_spec_node_str(kn->items[i], &key, err);
            if (!rc)
                snprintf(a->keys[a->n_keys++], sizeof a->keys[0], "%s", key);
        }
        key = a->keys[0];
    } else if (!rc) {
        rc = dlx_spec_str(e, "key", true, NULL, &key, err);
        if (!rc)
            snprintf(a->keys[a->n_keys++], sizeof a->keys[0], "%s", key);
    }
    if (!rc) rc = dlx_spec_str(e, "name", false, key, &name, err);
    if (rc)
        return rc;
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->key, sizeof a->key, "%s", key);
    for (int j = 0; j < k; j++)
        if (strcmp(s->axes[j].name, a->name) == 0)
            return dlx_err_setf(err, DLX_EINVAL, e->loc, "%s: axis name '%s' is used twice", e->path, a->name);
    for (int i = 0; i < a->n_keys; i++)
        if (strcmp(a->keys[i], "seed") != 0 && !dlx_spec_path(base, a->keys[i]))
            return dlx_err_setf(err, DLX_EINVAL, (kn->kind == DLX_SPEC_SEQ ? kn->items[i] : kn)->loc,
                                "%s.key: '%s' is not a key of the base spec %s", e->path, a->keys[i], s->base_path);
    dlx_spec_node *values = dlx_spec_get(e, "values"), *range = dlx_spec_get(e, "range");
    if (!values == !range)
        return dlx_err_setf(err, DLX_EINVAL, e->loc, "%s (%s): give exactly one of 'values: [...]' or 'range: [first, last]'",
                            e->path, a->name);
    if (values) {
        rc = dlx_spec_expect_seq(values, "values", err);
        for (int i = 0; !rc && i < values->n; i++) {
            dlx_spec_node *v = values->items[i];
            if (v->kind != DLX_SPEC_SCALAR)
                rc = dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: axis values must be scalars", v->path);
            else
                rc = add_value(a, v->scalar, v->loc, err);
        }
    } else {
        int64_t r[2];
        int nr = 0;
        rc = dlx_spec_int_list(e, "range", true, INT64_MIN / 4, INT64_MAX / 4, r, 2, &nr, err);
        if (!rc && nr != 2)
            rc = dlx_err_setf(err, DLX_EINVAL, range->loc, "%s: expected [first, last], got %d number(s)", range->path, nr);
        if (!rc && r[1] - r[0] >= MAX_VALUES)
            rc = dlx_err_setf(err, DLX_EINVAL, range->loc, "%s: more than %d values", range->path, MAX_VALUES);
        for (int64_t v = r[0]; !rc && nr == 2 && v <= r[1]; v++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%lld", (long long)v);
            rc = add_value(a, buf, range->loc, err);
        }
    }
    if (!rc && a->n == 0)
        rc = dlx_err_setf(err, DLX_EINVAL, (values ? values : range)->loc,
                          "%s (%s): the axis is empty; give at least one value", e->path, a->name);
    for (int i = 0; !rc && i < a->n; i++) {
        a->is_text |= isnan(a->num[i]);
        if (strchr(a->text[i], '\n'))
            rc = dlx_err_setf(err, DLX_EINVAL, (values ? values : range)->loc, "%s (%s): a value holds a line break", e->path, a->name);
    }
    return rc;
}

static int check_axis_values(const dlx_sweep *s, const dlx_spec_node *axes, dlx_err *err)
{
    /* every value must go into the base spec (a bad index fails here, not after hours) */
    for (int k = 0; k < s->n_axes; k++)
        for (int i = 0; i < s->axes[k].n; i++) {
            dlx_spec *b;
            int rc = dlx_spec_load_string(s->base_text, s->base_path, &b, err);
            for (int j = 0; !rc && j < s->axes[k].n_keys; j++) {
                char set[512];
                snprintf(set, sizeof set, "%s=%s", s->axes[k].keys[j], s->axes[k].text[i]);
                rc = dlx_spec_set(b, set, err);
            }
            dlx_spec_destroy(b);
            if (rc) {
                dlx_err_prefix(err, "%s: axis '%s' value '%s'", axes->items[k]->path, s->axes[k].name,
                               s->axes[k].text[i]);
                err->code = DLX_EINVAL;
                return DLX_EINVAL;
            }
        }
    return 0;
}

static int read_figures(dlx_sweep *s, dlx_spec_node *figs, dlx_err *err)
{
    int rc = dlx_spec_expect_seq(figs, "sweep.figures", err);
    if (!rc && figs->n > DLX_SWEEP_MAX_FIGS)
        rc = dlx_err_setf(err, DLX_EINVAL, figs->loc, "sweep.figures: at most %d figures", DLX_SWEEP_MAX_FIGS);
    for (int i = 0; !rc && i < figs->n; i++) {
        dlx_spec_node *e = figs->items[i];
        dlx_sweep_figure *f = &s->figs[s->n_figs++];
        int type;
        const char *out, *x, *y, *by;
        int64_t bins, points;
        rc = dlx_spec_expect_map(e, "sweep.figures item", err);
        if (!rc) rc = dlx_spec_check_doc(e, "a figure", k_fig_keys, err);
        if (!rc) rc = dlx_spec_enum(e, "type", true, k_fig_types, 0, &type, err);
        if (!rc) rc = dlx_spec_str(e, "out", true, NULL, &out, err);
        if (!rc) rc = dlx_spec_str(e, "x", type != 2, "", &x, err);
        if (!rc) rc = dlx_spec_str(e, "y", type == 1 || type == 3, "", &y, err);
        if (!rc) rc = dlx_spec_str(e, "by", false, "", &by, err);
        if (!rc) rc = dlx_spec_int(e, "bins", false, 40, 2, 10000, &bins, err);
        if (!rc) rc = dlx_spec_float(e, "range", false, 2.0, 1e-6, 1e6, &f->range, err);
        if (!rc) rc = dlx_spec_int(e, "points", false, 201, 3, 4001, &points, err);
        dlx_spec_node *band = dlx_spec_get(e, "band");
        if (!rc && band) {
            if (band->kind != DLX_SPEC_SEQ || band->n != 2)
                rc = dlx_err_setf(err, DLX_EINVAL, band->loc, "%s: expected [low, high]", band->path);
            for (int j = 0; !rc && j < 2; j++) {
                char *end;
                const char *t = band->items[j]->scalar ? band->items[j]->scalar : "";
                f->band[j] = strtod(t, &end);
                if (end == t || *end)
                    rc = dlx_err_setf(err, DLX_EINVAL, band->items[j]->loc, "%s: expected a number, got '%s'",
                                      band->items[j]->path, t);
            }
        }
        if (rc)
            break;
        snprintf(f->type, sizeof f->type, "%s", k_fig_types[type]);
        snprintf(f->out, sizeof f->out, "%s", out);
        snprintf(f->x, sizeof f->x, "%s", x);
        snprintf(f->y, sizeof f->y, "%s", y);
        snprintf(f->by, sizeof f->by, "%s", by);
        f->bins = (int)bins;
        f->points = (int)points;
        const char *need[3] = {f->x, f->y, f->by};
        for (int j = 0; j < 3 && !rc; j++) {
            if (!need[j][0])
                continue;
            bool found = false;
            for (int c = 0; c < s->n_cols && !found; c++)
                found = strcmp(s->cols[c], need[j]) == 0;
            if (!found)
                rc = dlx_err_setf(err, DLX_EINVAL, e->loc, "%s: '%s' is not a column of this sweep", e->path, need[j]);
        }
    }
    return rc;
}

typedef struct base_sets {
    const char *const *v;
    int n;
} base_sets;

/* sweep.base loaded, the caller's settings applied: *b (the caller destroys
 * it), the family in s->family and *fam, its text in s->base_text. */
static int read_base(dlx_sweep *s, dlx_spec_node *sw, base_sets sets, dlx_spec **b, const dlx_family **fam,
                     dlx_err *err)
{
    dlx_err berr;
    int rc = dlx_spec_load_file(s->base_path, b, &berr);
    if (rc == DLX_EIO)
        return dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(sw, "base")->loc,
                            "sweep.base: the base spec '%s' cannot be read: %s", s->base_path, berr.msg);
    if (rc) {
        *err = berr;
        err->code = DLX_EINVAL;
        return DLX_EINVAL;
    }
    for (int i = 0; i < sets.n; i++) /* the caller's settings, before the axes, in every run */
        if ((rc = dlx_spec_set(*b, sets.v[i], err))) {
            dlx_err_prefix(err, "setting '%s' in the base spec %s", sets.v[i], s->base_path);
            err->code = DLX_EINVAL;
            return DLX_EINVAL;
        }
    dlx_spec_node *model = dlx_spec_get(dlx_spec_root(*b), "model");
    dlx_spec_node *kind = model ? dlx_spec_get(model, "kind") : NULL;
    snprintf(s->family, sizeof s->family, "%s", kind && kind->scalar ? kind->scalar : "classifier");
    *fam = dlx_family_find(s->family);
    if (!*fam || !(*fam)->sweep_measures) {
        char can[256] = "";
        for (int i = 0; dlx_family_at(i); i++)
            if (dlx_family_at(i)->sweep_measures)
                snprintf(can + strlen(can), sizeof can - strlen(can), "%s%s", can[0] ? ", " : "",
                         dlx_family_at(i)->name);
        return dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(sw, "base")->loc,
                            "sweep.base: model kind '%s' cannot be swept (sweeps know %s)", s->family, can);
    }
    s->base_text = dlx_spec_dump(*b);
    return s->base_text ? 0 : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
}

/* sweep.axes against the base spec b: s->axes, n_runs, the first columns */
static int read_axes(dlx_sweep *s, dlx_spec_node *sw, dlx_spec *b, dlx_err *err)
{
    dlx_spec_node *axes = dlx_spec_get(sw, "axes");
    int rc = 0;
    if (!axes)
        return dlx_err_setf(err, DLX_EINVAL, sw->loc, "sweep: missing required key 'axes'");
    if ((rc = dlx_spec_expect_seq(axes, "sweep.axes", err)))
        return rc;
    if (axes->n < 1 || axes->n > DLX_SWEEP_MAX_AXES)
        return dlx_err_setf(err, DLX_EINVAL, axes->loc, "sweep.axes: give 1 to %d axes, got %d", DLX_SWEEP_MAX_AXES,
                            axes->n);
    s->n_runs = 1;
    for (int k = 0; !rc && k < axes->n; k++) {
        s->n_axes = k + 1;
        rc = read_axis(s, axes->items[k], k, b, err);
        if (!rc) {
            s->n_runs *= s->axes[k].n;
            if (s->n_runs > 100000000)
                rc = dlx_err_setf(err, DLX_EINVAL, axes->loc, "sweep.axes: more than 1e8 runs");
        }
    }
    if (!rc) rc = check_axis_values(s, axes, err);
    if (rc)
        return rc;
    for (int k = 0; k < s->n_axes; k++) /* both 48 bytes, NUL-terminated */
        memcpy(s->cols[s->n_cols++], s->axes[k].name, sizeof s->cols[0]);
    return 0;
}

/* sweep.measures, each one the family knows (known: NULL-terminated), once;
 * their columns after the axes' (hessian gives four) */
static int read_measures(dlx_sweep *s, dlx_spec_node *sw, const char *const *known, dlx_err *err)
{
    dlx_spec_node *meas = dlx_spec_get(sw, "measures");
    if (!meas)
        return dlx_err_setf(err, DLX_EINVAL, sw->loc, "sweep: missing required key 'measures' (e.g. [test_loss])");
    int rc = dlx_spec_expect_seq(meas, "sweep.measures", err);
    if (!rc && meas->n == 0)
        rc = dlx_err_setf(err, DLX_EINVAL, meas->loc, "sweep.measures: empty; name at least one measure");
    for (int i = 0; !rc && i < meas->n; i++) {
        const char *m;
        if ((rc = dlx_spec_node_str(meas->items[i], &m, err)))
            break;
        int j = 0;
        while (known[j] && strcmp(known[j], m) != 0)
            j++;
        if (!known[j]) {
            char list[512] = "";
            for (int q = 0; known[q]; q++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", q ? ", " : "", known[q]);
            const char *near = dlx_closest(m, known);
            return dlx_err_setf(err, DLX_EINVAL, meas->items[i]->loc,
                                "%s: unknown measure '%s' for model kind %s%s%s%s (one of: %s)", meas->items[i]->path,
                                m, s->family, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "", list);
        }
        for (int q = 0; q < s->n_measures; q++)
            if (strcmp(s->measures[q], m) == 0)
                return dlx_err_setf(err, DLX_EINVAL, meas->items[i]->loc, "%s: measure '%s' is listed twice",
                                    meas->items[i]->path, m);
        int add = strcmp(m, "hessian") == 0 ? 4 : 1;
        if (s->n_cols + add > DLX_SWEEP_MAX_COLS)
            return dlx_err_setf(err, DLX_EINVAL, meas->loc, "sweep: more than %d columns", DLX_SWEEP_MAX_COLS);
        snprintf(s->measures[s->n_measures++], sizeof s->measures[0], "%s", m);
        for (int q = 0; q < add; q++)
            snprintf(s->cols[s->n_cols++], sizeof s->cols[0], "%s", add == 4 ? k_hess_cols[q] : m);
    }
    dlx_spec_node *axes = dlx_spec_get(sw, "axes");
    for (int c = 0; !rc && c < s->n_axes; c++)
        for (int d = s->n_axes; d < s->n_cols; d++)
            if (strcmp(s->cols[c], s->cols[d]) == 0)
                return dlx_err_setf(err, DLX_EINVAL, axes->items[c]->loc,
                                    "axis name '%s' clashes with a measure column; rename the axis", s->cols[c]);
    return rc;
}

/* sweep.hessian's settings (defaults without it) */
static int read_hessian(dlx_sweep *s, dlx_spec_node *sw, dlx_err *err)
{
    dlx_spec_node *h = dlx_spec_get(sw, "hessian");
    int64_t hs = 1000, hx = 3000, hl = 40;
    static const char *const k_methods[] = {"rop", "fd", NULL};
    s->hess_eps = 1e-5;
    s->hess_neg_tol = 1e-3;
    s->hess_method = DLX_HESSIAN_ROP;
    int rc = 0;
    if (h) {
        rc = dlx_spec_expect_map(h, "sweep.hessian", err);
        if (!rc) rc = dlx_spec_check_doc(h, "sweep.hessian", k_hess_keys, err);
        if (!rc) rc = dlx_spec_int(h, "samples", false, 1000, 1, 100000, &hs, err);
        if (!rc) rc = dlx_spec_int(h, "exact_max", false, 3000, 0, 20000, &hx, err);
        if (!rc) rc = dlx_spec_int(h, "lanczos_steps", false, 40, 2, 1000, &hl, err);
        if (!rc) rc = dlx_spec_float(h, "eps", false, 1e-5, 1e-8, 1.0, &s->hess_eps, err);
        if (!rc) rc = dlx_spec_float(h, "neg_tol", false, 1e-3, 0.0, 1e3, &s->hess_neg_tol, err);
        if (!rc) rc = dlx_spec_enum(h, "method", false, k_methods, DLX_HESSIAN_ROP, &s->hess_method, err);
    }
    s->hess_samples = (int)hs;
    s->hess_exact_max = (int)hx;
    s->hess_lanczos = (int)hl;
    return rc;
}

static int read_sweep(dlx_sweep *s, dlx_spec *spec, const char *out_override, base_sets sets, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(spec);
    dlx_spec_node *sw = dlx_spec_get(root, "sweep");
    const char *name;
    int rc = dlx_spec_check_doc(root, "a sweep spec", k_top_keys, err);
    if (!rc && !sw)
        rc = dlx_err_setf(err, DLX_EINVAL, root->loc,
                          "missing required key 'sweep' (a sweep spec has sweep: {base, axes, measures})");
    if (!rc) rc = dlx_spec_expect_map(sw, "sweep", err);
    if (!rc) rc = dlx_spec_check_doc(sw, "sweep", k_sweep_keys, err);
    if (!rc) rc = dlx_spec_str(root, "name", false, "sweep", &name, err);
    dlx_spec_node *name_v = dlx_spec_get(root, "name");
    if (!rc && name_v) /* picks runs/<name>/sweep.h5 */
        rc = dlx_name_check(name_v, "sweep name", DLX_PATH_COMPONENT_MAX, "it picks runs/<name>/sweep.h5", err);
    if (!rc) rc = dlx_spec_file_path(sw, "base", s->base_path, sizeof s->base_path, err);
    if (rc)
        return rc;
    dlx_spec *b = NULL;
    const dlx_family *fam = NULL;
    rc = read_base(s, sw, sets, &b, &fam, err);
    if (!rc) rc = read_axes(s, sw, b, err);
    dlx_spec_destroy(b);
    const char *known[64];
    if (!rc) {
        known_measures(fam, known, 64);
        rc = read_measures(s, sw, known, err);
    }
    if (!rc) rc = read_hessian(s, sw, err);
    const char *out;
    char def_out[600];
    snprintf(def_out, sizeof def_out, "runs/%s/sweep.h5", name);
    if (!rc) rc = dlx_spec_str(sw, "out", false, def_out, &out, err);
    if (!rc)
        snprintf(s->out, sizeof s->out, "%s", out_override ? out_override : out);
    dlx_spec_node *figs = dlx_spec_get(sw, "figures");
    if (!rc && figs) rc = read_figures(s, figs, err);
    return rc;
}

static int load_sweep(const char *path, const char *out_override, const char *const *sweep_sets, int n_sweep_sets,
                      const char *const *run_sets, int n_run_sets, dlx_sweep **out, dlx_err *err);

int dlx_sweep_load(const char *path, const char *out_override, dlx_sweep **out, dlx_err *err)
{
    return load_sweep(path, out_override, NULL, 0, NULL, 0, out, err);
}

int dlx_sweep_load_set(const char *path, const char *out_override, const char *const *sets, int n_sets,
                       dlx_sweep **out, dlx_err *err)
{
    return load_sweep(path, out_override, sets, n_sets, NULL, 0, out, err);
}

int dlx_sweep_load_with(const char *path, const char *out_override, const char *const *sets, int n_sets,
                        dlx_sweep **out, dlx_err *err)
{
    return load_sweep(path, out_override, NULL, 0, sets, n_sets, out, err);
}

/* sweep_sets: --set on the sweep spec, before it is read (as dlx train's);
 * run_sets: settings applied to every run's base spec (model.set). */
static int load_sweep(const char *path, const char *out_override, const char *const *sweep_sets, int n_sweep_sets,
                      const char *const *run_sets, int n_run_sets, dlx_sweep **out, dlx_err *err)
{
    *out = NULL;
    dlx_sweep *s = calloc(1, sizeof(*s));
    if (!s)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    snprintf(s->path, sizeof s->path, "%s", path);
    dlx_spec *spec;
    int rc = dlx_spec_load_file(path, &spec, err);
    if (rc) {
        dlx_sweep_destroy(s);
        return rc;
    }
    for (int i = 0; i < n_sweep_sets && !rc; i++)
        rc = dlx_spec_set(spec, sweep_sets[i], err);
    if (!rc) rc = read_sweep(s, spec, out_override, (base_sets){run_sets, n_run_sets}, err);
    if (!rc) {
        /* stored in the table: the sweep (minus out, which may differ per
         * shard) plus the base spec text, so merges and resumes compare both */
        dlx_spec_set(spec, "sweep.out=~", err);
        char *t = dlx_spec_dump(spec);
        size_t n = t ? strlen(t) + strlen(s->base_text) + 64 : 0;
        s->spec_text = t ? malloc(n) : NULL;
        if (s->spec_text)
            snprintf(s->spec_text, n, "%s---\n# base\n%s", t, s->base_text);
        else
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        free(t);
    }
    dlx_spec_destroy(spec);
    if (rc) {
        dlx_sweep_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dlx_sweep_point(const dlx_sweep *s, int64_t run, int *idx)
{
    for (int k = s->n_axes - 1; k >= 0; k--) {
        idx[k] = (int)(run % s->axes[k].n);
        run /= s->axes[k].n;
    }
}

int dlx_sweep_run_spec(const dlx_sweep *s, int64_t run, dlx_spec **out, dlx_err *err)
{
    int idx[DLX_SWEEP_MAX_AXES];
    dlx_sweep_point(s, run, idx);
    dlx_spec *b;
    int rc = dlx_spec_load_string(s->base_text, s->base_path, &b, err);
    for (int k = 0; !rc && k < s->n_axes; k++)
        for (int j = 0; !rc && j < s->axes[k].n_keys; j++) {
            char set[512];
            snprintf(set, sizeof set, "%s=%s", s->axes[k].keys[j], s->axes[k].text[idx[k]]);
            rc = dlx_spec_set(b, set, err);
        }
    if (rc) {
        if (b)
            dlx_spec_destroy(b);
        return rc;
    }
    *out = b;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool has_measure(const dlx_sweep *s, const char *name)
{
    for (int q = 0; q < s->n_measures; q++)
        if (strcmp(s->measures[q], name) == 0)
            return true;
    return false;
}

/* Training stopped on a non-finite loss or the family's divergence test
 * (DLX_ENUM): with the diverged measure, the run is kept and its model, the
 * last finite parameters, evaluated as it stands into *after (NaN where the
 * evaluation fails too). */
static int train_run(const dlx_sweep *s, dlx_model *m, bool *diverged, dlx_results *after, dlx_err *err)
{
    *diverged = false;
    int rc = m->family->train(m, err);
    if (rc != DLX_ENUM || !has_measure(s, "diverged"))
        return rc;
    *diverged = true;
    dlx_err ignored;
    if (m->family->evaluate(m, NULL, after, &ignored))
        memset(after, 0, sizeof *after);
    return 0;
}

int dlx_sweep_run_one(const dlx_sweep *s, int64_t run, const char *run_dir, double *row, dlx_err *err)
{
    double t0 = now_s();
    int idx[DLX_SWEEP_MAX_AXES];
    dlx_sweep_point(s, run, idx);
    for (int k = 0; k < s->n_axes; k++) /* a text axis: the value's index (its labels are in the table) */
        row[k] = s->axes[k].is_text ? (double)idx[k] : s->axes[k].num[idx[k]];
    for (int c = s->n_axes; c < s->n_cols; c++)
        row[c] = NAN;
    dlx_spec *spec;
    int rc = dlx_sweep_run_spec(s, run, &spec, err);
    if (rc)
        return rc;
    openblas_set_num_threads(1);
    dlx_model *m;
    rc = dlx_model_create_opts(spec, run_dir, NULL, 1, 0, &m, err);
    if (rc)
        return rc;
    bool diverged = false;
    dlx_results train_res, after;
    memset(&train_res, 0, sizeof train_res);
    memset(&after, 0, sizeof after);
    rc = dlx_run_prepare_dir(m, err);
    for (int q = 0; !rc && q < s->n_measures; q++) /* refuse an unsupported graph before training it */
        if (strcmp(s->measures[q], "hessian") == 0)
            rc = dlx_hessian_check(m, err);
    if (!rc) rc = train_run(s, m, &diverged, &after, err);
    const bool split = m->family->sweep_train_split;
    for (int q = 0; !rc && !diverged && split && q < s->n_measures; q++)
        if (!strncmp(s->measures[q], "train_", 6)) { /* the loss at the end point, over the training set */
            char data[96];
            dlx_spec_node *ds = dlx_spec_path(m->spec, "data.dataset");
            snprintf(data, sizeof data, "%s:train", ds && ds->scalar ? ds->scalar : "mnist");
            rc = m->family->evaluate(m, data, &train_res, err);
            break;
        }
    dlx_hessian_info hi = {.params = 0, .index = 0, .eig_min = NAN, .eig_max = NAN};
    for (int q = 0; !rc && !diverged && q < s->n_measures; q++)
        if (strcmp(s->measures[q], "hessian") == 0)
            rc = dlx_hessian_analyse(m,
                                     &(dlx_hessian_opts){s->hess_samples, (dlx_hessian_method)s->hess_method,
                                                         s->hess_eps, s->hess_exact_max, s->hess_lanczos,
                                                         s->hess_neg_tol},
                                     &hi, err);
    if (rc)
        goto out_destroy_model;
    int c = s->n_axes;
    for (int q = 0; q < s->n_measures; q++) {
        const char *name = s->measures[q];
        double v = NAN;
        if (strcmp(name, "hessian") == 0) {
            row[c++] = diverged ? NAN : (double)hi.params;
            row[c++] = diverged ? NAN : (double)hi.index;
            row[c++] = hi.eig_min;
            row[c++] = hi.eig_max;
            continue;
        }
        if (strcmp(name, "steps") == 0)
            v = (double)m->step;
        else if (strcmp(name, "diverged") == 0)
            v = diverged ? 1.0 : 0.0;
        else if (split && !strncmp(name, "train_", 6))
            dlx_results_get(&train_res, name + 6, &v);
        else if (diverged) /* the evaluation after the stop, never an earlier epoch's */
            dlx_results_get(&after, name, &v);
        else if (strcmp(name, "seconds") != 0)
            dlx_results_get(&m->results, name, &v);
        row[c++] = v;
    }
    int sc = -1;
    for (int k = s->n_axes; k < s->n_cols; k++)
        if (strcmp(s->cols[k], "seconds") == 0)
            sc = k;
    if (sc >= 0)
        row[sc] = now_s() - t0;
out_destroy_model:
    dlx_model_destroy(m);
    return rc;
}
