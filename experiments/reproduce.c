/* Paper tables through the family registry; see reproduce.h. */
#include "reproduce.h"

#include <hdf5.h>
#include <stdbool.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/h5read.h"
#include "../core/h5write.h"
#include "../core/rundir.h"
#include "../train/resume.h"
#include "model.h"
#include "registry.h"

/* The reference of a table spec's maps and the keys each may hold. */
static const dlx_key_doc k_top_keys[] = {
    {"paper", "string", "required", "any", "the paper, as printed above the table"},
    {"family", "string", "-", "a model kind", "the family whose figure callback draws the figure"},
    {"figure", "string", "-", "a file name; needs family", "the figure's file inside the out directory"},
    {"rows", "list of maps", "required", "not empty (dlx spec table.rows[])", "the runs, in order"},
    {NULL},
};
static const dlx_key_doc k_row_keys[] = {
    {"name", "string", "required", "letters, digits, '_', '-', '.' (at most 63); unique", "the run goes to <out>/<name>"},
    {"spec", "string", "required", "a model spec (relative to this file)", "the row's base spec"},
    {"set", "list of strings", "-", "up to 32 KEY=VALUE", "settings as --set; {out} becomes the out directory"},
    {"label", "string", "the name", "any", "the series name in the figure"},
    {"panel", "string", "-", "any", "the figure panel"},
    {"metrics", "map of result: paper value", "- (run, not printed)", "up to 32; a number or text (n/a)",
     "results to record and print beside the paper's"},
    {NULL},
};

const dlx_spec_section dlx_repro_spec_sections[] = {
    {"table", "the top level of a table spec (dlx reproduce TABLE.yaml)", k_top_keys, NULL},
    {"table.rows[]", "an entry of a table spec's rows", k_row_keys, NULL},
    {NULL},
};

void dlx_repro_destroy(dlx_repro *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_rows; i++)
        free(r->rows[i].spec_text);
    free(r->rows);
    dlx_spec_destroy(r->spec);
    free(r);
}

static bool name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.'))
            return false;
    return true;
}

static int read_row(dlx_repro *r, dlx_spec_node *node, dlx_repro_row *row, dlx_err *err)
{
    const char *name;
    int rc = dlx_spec_expect_map(node, node->path, err);
    if (!rc) rc = dlx_spec_check_doc(node, node->path, k_row_keys, err);
    if (!rc) rc = dlx_spec_str(node, "name", true, NULL, &name, err);
    if (!rc && (!name_ok(name) || strlen(name) >= sizeof row->name))
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(node, "name")->loc,
                          "%s.name: expected letters, digits, '_', '-' or '.' (at most 63), got '%s'", node->path, name);
    if (!rc && (!strcmp(name, ".") || !strcmp(name, ".."))) /* the row's run directory is <out>/<name> */
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(node, "name")->loc,
                          "%s.name: a row cannot be named '%s' (its run directory is <out>/<name>)", node->path, name);
    if (!rc && strlen(r->out_dir) + 1 + strlen(name) > DLX_RUNDIR_MAX)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(node, "name")->loc,
                          "%s.name: its run directory %s/%s is %zu characters long; the limit is %d", node->path,
                          r->out_dir, name, strlen(r->out_dir) + 1 + strlen(name), DLX_RUNDIR_MAX);
    if (!rc) rc = dlx_spec_file_path(node, "spec", row->spec_path, sizeof row->spec_path, err);
    if (!rc) rc = dlx_spec_str(node, "label", false, NULL, &row->label, err);
    if (!rc) rc = dlx_spec_str(node, "panel", false, NULL, &row->panel, err);
    if (rc)
        return rc;
    snprintf(row->name, sizeof row->name, "%s", name);
    row->loc = node->loc;
    dlx_spec_node *sets = dlx_spec_get(node, "set");
    if (sets) {
        if ((rc = dlx_spec_expect_seq(sets, sets->path, err)))
            return rc;
        if (sets->n > DLX_REPRO_MAX_SETS)
            return dlx_err_setf(err, DLX_EINVAL, sets->loc, "%s: at most %d settings, got %d", sets->path,
                                DLX_REPRO_MAX_SETS, sets->n);
        for (int i = 0; i < sets->n; i++)
            if ((rc = dlx_spec_node_str(sets->items[i], &row->sets[row->n_sets++], err)))
                return rc;
    }
    dlx_spec_node *mx = dlx_spec_get(node, "metrics");
    if (mx) {
        if ((rc = dlx_spec_expect_map(mx, mx->path, err)))
            return rc;
        if (mx->n > DLX_REPRO_MAX_METRICS)
            return dlx_err_setf(err, DLX_EINVAL, mx->loc, "%s: at most %d metrics, got %d", mx->path,
                                DLX_REPRO_MAX_METRICS, mx->n);
        for (int i = 0; i < mx->n; i++) {
            dlx_repro_metric *m = &row->metrics[row->n_metrics++];
            dlx_spec_node *v = mx->items[i];
            if (strlen(mx->keys[i]) >= sizeof m->name)
                return dlx_err_setf(err, DLX_EINVAL, mx->key_locs[i], "%s: metric name '%s' is too long", mx->path,
                                    mx->keys[i]);
            if (v->kind == DLX_SPEC_MAP || v->kind == DLX_SPEC_SEQ)
                return dlx_err_setf(err, DLX_EINVAL, v->loc,
                                    "%s.%s: expected the paper's value (a number or text such as n/a)", mx->path,
                                    mx->keys[i]);
            snprintf(m->name, sizeof m->name, "%s", mx->keys[i]);
            snprintf(m->paper, sizeof m->paper, "%s", v->kind == DLX_SPEC_SCALAR ? v->scalar : "n/a");
        }
    }
    (void)r;
    return 0;
}

int dlx_repro_load(const char *path, const char *out_dir, dlx_repro **out, dlx_err *err)
{
    return dlx_repro_load_set(path, out_dir, NULL, 0, out, err);
}

int dlx_repro_load_set(const char *path, const char *out_dir, const char *const *sets, int n_sets, dlx_repro **out,
                       dlx_err *err)
{
    *out = NULL;
    dlx_repro *r = calloc(1, sizeof(*r));
    if (!r)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    snprintf(r->out_dir, sizeof r->out_dir, "%s", out_dir);
    int rc = dlx_spec_load_file(path, &r->spec, err);
    for (int i = 0; i < n_sets && !rc; i++) /* --set: before it is read, as dlx train's */
        rc = dlx_spec_set(r->spec, sets[i], err);
    if (rc)
        goto fail;
    dlx_spec_node *root = dlx_spec_root(r->spec), *rows;
    rc = dlx_spec_check_doc(root, "a table spec", k_top_keys, err);
    if (!rc) rc = dlx_spec_str(root, "paper", true, NULL, &r->paper, err);
    if (!rc) rc = dlx_spec_str(root, "family", false, NULL, &r->family, err);
    if (!rc) rc = dlx_spec_str(root, "figure", false, NULL, &r->figure, err);
    if (!rc && r->family && !dlx_family_find(r->family))
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(root, "family")->loc, "family: unknown model kind '%s' (one of: %s)",
                          r->family, dlx_family_names());
    if (!rc && r->figure && !r->family)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(root, "figure")->loc,
                          "figure: name the family that draws it (family: ...)");
    if (rc)
        goto fail;
    rows = dlx_spec_get(root, "rows");
    if (!rows) {
        rc = dlx_err_setf(err, DLX_EINVAL, root->loc, "missing required key 'rows' (a list of {name, spec, set, metrics})");
        goto fail;
    }
    if ((rc = dlx_spec_expect_seq(rows, "rows", err)))
        goto fail;
    if (rows->n == 0) {
        rc = dlx_err_setf(err, DLX_EINVAL, rows->loc, "rows: the table has no rows");
        goto fail;
    }
    r->rows = calloc((size_t)rows->n, sizeof *r->rows);
    if (!r->rows) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto fail;
    }
    for (int i = 0; i < rows->n; i++) {
        if ((rc = read_row(r, rows->items[i], &r->rows[i], err)))
            goto fail;
        r->n_rows++;
        for (int j = 0; j < i; j++)
            if (!strcmp(r->rows[j].name, r->rows[i].name)) {
                rc = dlx_err_setf(err, DLX_EINVAL, r->rows[i].loc, "rows[%d]: the name '%s' is already used by rows[%d]", i,
                                  r->rows[i].name, j);
                goto fail;
            }
    }
    *out = r;
    return 0;
fail:
    dlx_repro_destroy(r);
    return rc;
}

/* s with every "{out}" replaced by out_dir. */
static int substitute(const char *s, const char *out_dir, char *buf, size_t n)
{
    size_t used = 0;
    while (*s) {
        const char *p = strstr(s, "{out}");
        size_t chunk = p ? (size_t)(p - s) : strlen(s);
        if (used + chunk >= n)
            return -1;
        memcpy(buf + used, s, chunk);
        used += chunk;
        if (!p)
            break;
        size_t ol = strlen(out_dir);
        if (used + ol >= n)
            return -1;
        memcpy(buf + used, out_dir, ol);
        used += ol;
        s = p + 5;
    }
    buf[used] = '\0';
    return 0;
}

int dlx_repro_run_row(dlx_repro *r, int i, const dlx_hooks *hooks, int threads, dlx_err *err)
{
    dlx_repro_row *row = &r->rows[i];
    dlx_spec *spec;
    int rc = dlx_spec_load_file(row->spec_path, &spec, err);
    if (rc) {
        dlx_err_prefix(err, "row '%s': ", row->name);
        return rc;
    }
    for (int k = 0; k < row->n_sets; k++) {
        char buf[1024];
        if (substitute(row->sets[k], r->out_dir, buf, sizeof buf)) {
            dlx_spec_destroy(spec);
            return dlx_err_setf(err, DLX_EINVAL, row->loc, "row '%s': setting '%s' is too long", row->name, row->sets[k]);
        }
        if ((rc = dlx_spec_set(spec, buf, err))) {
            dlx_spec_destroy(spec);
            dlx_err_prefix(err, "row '%s': ", row->name);
            return rc;
        }
    }
    char run_dir[DLX_RUNDIR_MAX + 1];
    if ((rc = dlx_path_join(run_dir, sizeof run_dir, r->out_dir, row->name, err))) {
        dlx_spec_destroy(spec);
        return rc;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dlx_model *m;
    rc = dlx_model_create_opts(spec, run_dir, hooks, threads, 0, &m, err);
    if (rc) {
        dlx_err_prefix(err, "row '%s': ", row->name);
        return rc;
    }
    snprintf(m->spec_path, sizeof m->spec_path, "%s", row->spec_path);
    rc = dlx_run_prepare_dir(m, err);
    bool found = false;
    if (!rc && r->resume) rc = dlx_run_resume(m, &found, err);
    if (!rc && found)
        dlx_run_info(m, "resuming row '%s' at step %lld", row->name, (long long)m->step);
    if (!rc) rc = dlx_run_write_spec(m, err);
    if (!rc) rc = m->family->train(m, err);
    if (rc == DLX_ENUM) {
        /* a run that blows up is a result of the table (the paper's runs
         * blow up too), not the end of it: the row records where */
        memset(&row->results, 0, sizeof row->results);
        dlx_results_set(&row->results, "diverged", 1.0);
        dlx_results_set(&row->results, "diverged_at", (double)m->step);
        dlx_run_info(m, "row '%s' diverged: %s", row->name, err->msg);
        dlx_err_clear(err);
        row->diverged = true;
        rc = 0;
    } else if (!rc) {
        row->results = m->results;
        bool missing = false;
        for (int k = 0; k < row->n_metrics; k++) {
            double v;
            if (!dlx_results_get(&row->results, row->metrics[k].name, &v))
                missing = true;
        }
        if (missing) {
            dlx_results ev;
            rc = m->family->evaluate(m, NULL, &ev, err);
            for (int k = 0; !rc && k < ev.n; k++)
                dlx_results_set(&row->results, ev.name[k], ev.value[k]);
        }
    }
    if (!rc) {
        for (int k = 0; k < row->n_metrics; k++) {
            dlx_repro_metric *mt = &row->metrics[k];
            mt->ours_set = dlx_results_get(&row->results, mt->name, &mt->ours);
        }
        free(row->spec_text);
        row->spec_text = dlx_spec_dump(m->spec);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        row->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        row->done = true;
    } else {
        dlx_err_prefix(err, "row '%s': ", row->name);
    }
    dlx_model_destroy(m);
    return rc;
}

/* Row i from an earlier results.h5 r: its results, resolved spec and time. */
static int read_earlier_row(const dlx_h5r *r, dlx_repro_row *row, dlx_err *err)
{
    char obj[80], (*names)[DLX_H5R_NAME_MAX] = malloc(DLX_RESULTS_MAX * sizeof *names);
    int n = 0;
    snprintf(obj, sizeof obj, "/rows/%s", row->name);
    int rc = names ? dlx_h5r_list(r, obj, DLX_RESULTS_MAX, names, &n, err)
                   : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    memset(&row->results, 0, sizeof row->results);
    for (int k = 0; !rc && k < n; k++) {
        char d[80 + DLX_H5R_NAME_MAX];
        double v;
        if (strlen(names[k]) >= sizeof row->results.name[0])
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "%s holds a result name of %zu characters",
                              obj, strlen(names[k]));
        snprintf(d, sizeof d, "%s/%s", obj, names[k]);
        if (!rc) rc = dlx_h5r_read_f64(r, d, &v, err);
        if (!rc)
            dlx_results_set(&row->results, names[k], v);
    }
    free(names);
    char *text = NULL;
    if (!rc) rc = dlx_h5r_attr_string(r, obj, "spec_text", DLX_SPEC_TEXT_MAX, &text, err);
    if (!rc) rc = dlx_h5r_attr_f64(r, obj, "seconds", &row->seconds, err);
    if (rc) {
        free(text);
        return rc;
    }
    free(row->spec_text);
    row->spec_text = text;
    for (int k = 0; k < row->n_metrics; k++) {
        dlx_repro_metric *mt = &row->metrics[k];
        mt->ours_set = dlx_results_get(&row->results, mt->name, &mt->ours);
    }
    double d;
    row->diverged = dlx_results_get(&row->results, "diverged", &d) && d == 1.0;
    row->done = true;
    return 0;
}

int dlx_repro_keep_earlier(dlx_repro *r, const bool *keep, const char *path, dlx_err *err)
{
    dlx_h5r f;
    int rc = dlx_h5r_open(&f, path, err);
    if (rc)
        return rc;
    char *format = NULL;
    rc = dlx_h5r_attr_string(&f, "/", "format", 64, &format, err);
    if (!rc && strcmp(format, "dlx-reproduce") != 0)
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "not a results file of dlx reproduce (format '%s')",
                          format);
    free(format);
    for (int i = 0; !rc && i < r->n_rows; i++) {
        char obj[80];
        snprintf(obj, sizeof obj, "/rows/%s", r->rows[i].name);
        if (keep[i] && dlx_h5r_is_group(&f, obj))
            rc = read_earlier_row(&f, &r->rows[i], err);
    }
    if (!rc && f.broken) /* a row that cannot be read is not one to run again */
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "cannot read the rows of an earlier run (%s): the file "
                          "is corrupt", f.why[0] ? f.why : "truncated or corrupt");
    dlx_h5r_close(&f);
    return rc;
}

/* The size of results.h5: each row's texts, about 2 KiB of headers per group
 * and per result, and 16 KiB for the rest. */
static uint64_t results_bytes(const dlx_repro *r)
{
    uint64_t bytes = 16384;
    for (int i = 0; i < r->n_rows; i++) {
        const dlx_repro_row *row = &r->rows[i];
        const char *texts[] = {row->spec_path, row->spec_text, row->label, row->name, row->panel};
        bytes += 2048 * (uint64_t)(1 + row->results.n);
        for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
            bytes += texts[k] ? strlen(texts[k]) : 0;
        for (int j = 0; j < row->n_metrics; j++)
            bytes += strlen(row->metrics[j].paper);
    }
    return bytes;
}

/* A result named <curve>_<axis><k> (err_T3: curve err_T, axis T, k = 3) is a
 * point of a curve; *k gets k and *stem_len the length of "<curve>_<axis>". */
static bool curve_point(const char *name, size_t *stem_len, long *k)
{
    const char *us = strrchr(name, '_'), *p = us ? us + 1 : NULL;
    if (!p || us == name)
        return false;
    while (*p >= 'A' && *p <= 'Z')
        p++;
    if (p == us + 1 || *p < '0' || *p > '9')
        return false;
    char *end;
    *k = strtol(p, &end, 10);
    *stem_len = (size_t)(p - name);
    return *end == '\0';
}

/* The curves among a row's results, each as /curves/<row>/<curve>_<axis>:
 * float64 [n, 2] rows of (k, value) in increasing k, beside the scalars of
 * /rows/<row> (kept for readers of those). Curves need at least two points. */
static int write_curves(hid_t curves, const dlx_repro_row *row)
{
    const dlx_results *res = &row->results;
    bool used[DLX_RESULTS_MAX] = {false};
    hid_t g = -1;
    int bad = 0;
    for (int a = 0; !bad && a < res->n; a++) {
        size_t stem;
        long k;
        if (used[a] || !curve_point(res->name[a], &stem, &k))
            continue;
        double pts[DLX_RESULTS_MAX][2];
        int n = 0;
        for (int b = a; b < res->n; b++) {
            size_t stem_b;
            long kb;
            if (!used[b] && curve_point(res->name[b], &stem_b, &kb) && stem_b == stem &&
                !strncmp(res->name[a], res->name[b], stem)) {
                used[b] = true;
                int at = n++; /* insertion sort by k */
                while (at > 0 && pts[at - 1][0] > (double)kb) {
                    pts[at][0] = pts[at - 1][0];
                    pts[at][1] = pts[at - 1][1];
                    at--;
                }
                pts[at][0] = (double)kb;
                pts[at][1] = res->value[b];
            }
        }
        if (n < 2)
            continue;
        if (g < 0 && (g = H5Gcreate2(curves, row->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
            return 1;
        char curve[48], axis[48], cols[112], what[320];
        snprintf(curve, sizeof curve, "%.*s", (int)stem, res->name[a]);
        const char *us = strrchr(curve, '_');
        snprintf(axis, sizeof axis, "%s", us + 1);
        snprintf(cols, sizeof cols, "%s, %.*s", axis, (int)(us - curve), curve);
        snprintf(what, sizeof what, "the results %s1, %s2, ... of /rows/%s as one curve over %s", curve, curve,
                 row->name, axis);
        hsize_t dims[2] = {(hsize_t)n, 2};
        hid_t sp = H5Screate_simple(2, dims, NULL);
        hid_t d = sp < 0 ? -1 : H5Dcreate2(g, curve, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        bad = d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, pts) < 0 ||
              dlx_h5w_attr_text(d, "columns", cols) || dlx_h5w_attr_text(d, "description", what);
        if (d >= 0)
            H5Dclose(d);
        if (sp >= 0)
            H5Sclose(sp);
    }
    if (g >= 0)
        H5Gclose(g);
    return bad;
}

/* Every done row into the open file f; nonzero on any HDF5 failure. */
static int write_results(hid_t f, const dlx_repro *r)
{
    int bad = dlx_h5w_attr_text(f, "format", "dlx-reproduce");
    if (!bad) bad = dlx_h5w_attr_text(f, "paper", r->paper);
    if (!bad) bad = dlx_h5w_attr_text(f, "table", dlx_spec_file(r->spec));
    hid_t rows = bad ? -1 : H5Gcreate2(f, "/rows", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (rows < 0)
        bad = 1;
    for (int i = 0; !bad && i < r->n_rows; i++) {
        const dlx_repro_row *row = &r->rows[i];
        if (!row->done)
            continue;
        hid_t g = H5Gcreate2(rows, row->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) {
            bad = 1;
            break;
        }
        int64_t index = i;
        bad = dlx_h5w_attr_text(g, "spec", row->spec_path);
        if (!bad) bad = dlx_h5w_attr_text(g, "spec_text", row->spec_text);
        if (!bad) bad = dlx_h5w_attr_text(g, "label", row->label ? row->label : row->name);
        if (!bad) bad = dlx_h5w_attr_text(g, "panel", row->panel);
        if (!bad) bad = dlx_h5w_attr_f64(g, "seconds", row->seconds);
        if (!bad) bad = dlx_h5w_attr_i64(g, "index", index);
        for (int k = 0; !bad && k < row->results.n; k++) {
            hid_t sp = H5Screate(H5S_SCALAR);
            hid_t d = H5Dcreate2(g, row->results.name[k], H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &row->results.value[k]) < 0)
                bad = 1;
            for (int j = 0; !bad && j < row->n_metrics; j++)
                if (!strcmp(row->metrics[j].name, row->results.name[k]))
                    bad = dlx_h5w_attr_text(d, "paper", row->metrics[j].paper);
            if (d >= 0)
                H5Dclose(d);
            H5Sclose(sp);
        }
        H5Gclose(g);
    }
    if (rows >= 0)
        H5Gclose(rows);
    hid_t curves = bad ? -1 : H5Gcreate2(f, "/curves", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (!bad && curves < 0)
        bad = 1;
    for (int i = 0; !bad && i < r->n_rows; i++)
        if (r->rows[i].done)
            bad = write_curves(curves, &r->rows[i]);
    if (curves >= 0)
        H5Gclose(curves);
    return bad;
}

int dlx_repro_write_h5(const dlx_repro *r, const char *path, dlx_err *err)
{
    dlx_h5w w;
    int rc = dlx_h5w_create(&w, path, results_bytes(r), err);
    if (rc)
        return rc;
    if (write_results(w.f, r)) {
        char why[160];
        dlx_h5r_reason(why);
        dlx_h5w_abort(&w);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write the results file%s%s", why[0] ? ": " : "",
                            why);
    }
    return dlx_h5w_commit(&w, err);
}

/* Append formatted text to a growing buffer. */
static void cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    if (!*buf)
        return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return;
    if (*len + (size_t)need + 1 > *cap) {
        size_t nc = (*cap + (size_t)need + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = nb;
        *cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)need;
}

char *dlx_repro_markdown(const dlx_repro *r)
{
    size_t len = 0, cap = 1024;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    cat(&buf, &len, &cap, "%s\n\n| row | metric | paper | ours |\n| --- | --- | --- | --- |\n", r->paper);
    for (int i = 0; i < r->n_rows; i++) {
        const dlx_repro_row *row = &r->rows[i];
        for (int k = 0; k < row->n_metrics; k++) {
            const dlx_repro_metric *m = &row->metrics[k];
            if (m->ours_set)
                cat(&buf, &len, &cap, "| %s | %s | %s | %.4g |\n", row->name, m->name, m->paper,
                    m->ours);
            else
                cat(&buf, &len, &cap, "| %s | %s | %s | %s |\n", row->name, m->name, m->paper,
                    row->diverged ? "diverged" : row->done ? "missing" : "not run");
        }
    }
    return buf;
}
