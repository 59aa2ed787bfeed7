/* Creating a model through the family registry (experiments/registry.c):
 * from a spec, or from a checkpoint's stored spec; and destroying it (the
 * family's destroy). */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "../core/rundir.h"
#include "../train/checkpoint.h"
#include "registry.h"

/* The top level of a model spec: the reference and the keys it may hold. */
static const dlx_key_doc k_top_keys[] = {
    {"version", "integer", "1", "1", "the spec format's version"},
    {"name", "string", "the spec file's name without its extension", "one directory name", "picks the run directory runs/<name>"},
    {"description", "string", "-", "any (not read)", "what the spec is for"},
    {"seed", "integer", "1", "at least 0", "every random number of the run (initial values, data order, dropout)"},
    {"model", "map", "required", "dlx spec model.<kind>", "the family (kind, default classifier) and its network"},
    {"data", "map", "- (classifier, gan, sparse_coding need one)", "dlx spec data, data.ring, data.sparse_coding",
     "the data (landscape and recurrent make their own)"},
    {"train", "map", "- (every family but sparse_coding's exact solvers and sweep needs one)",
     "dlx spec train, train.landscape, train.sparse_coding", "how to train"},
    {NULL},
};

const dlx_spec_section dlx_model_spec_sections[] = {
    {"spec", "the top level of a model spec (dlx train SPEC.yaml)", k_top_keys, NULL},
    {NULL},
};

int dlx_model_create(dlx_spec *spec, const char *run_dir, const dlx_hooks *hooks, dlx_model **out,
                     dlx_err *err)
{
    return dlx_model_create_opts(spec, run_dir, hooks, 0, 0, out, err);
}

int dlx_model_create_opts(dlx_spec *spec, const char *run_dir, const dlx_hooks *hooks, int threads,
                          size_t max_memory, dlx_model **out, dlx_err *err)
{
    *out = NULL;
    dlx_model *m = calloc(1, sizeof(*m));
    if (!m) {
        dlx_spec_destroy(spec);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    m->spec = spec;
    m->checkpoint_step = -1;
    m->lock_fd = -1;
    m->threads = threads;
    m->max_memory = max_memory;
    dlx_params_init(&m->params);
    if (hooks)
        m->hooks = *hooks;
    dlx_spec_node *root = dlx_spec_root(spec);
    int64_t version, seed;
    const char *kind;
    int rc = 0;
    /* a path that does not fit is refused, never cut (two runs would share the cut directory) */
    if (run_dir && strlen(run_dir) >= sizeof m->run_dir)
        rc = dlx_rundir_check(run_dir, "run directory", sizeof m->run_dir - 1, err);
    else
        snprintf(m->run_dir, sizeof m->run_dir, "%s", run_dir ? run_dir : "");
    if (!rc) rc = dlx_spec_check_doc(root, "a spec", k_top_keys, err);
    /* name: picks runs/<name>, so it must be one plain directory name */
    dlx_spec_node *name = dlx_spec_get(root, "name");
    if (!rc && name)
        rc = dlx_name_check(name, "spec name", DLX_PATH_COMPONENT_MAX, "it picks the run directory runs/<name>", err);
    if (!rc) rc = dlx_spec_int(root, "version", false, 1, 1, 1, &version, err);
    if (!rc) rc = dlx_spec_int(root, "seed", false, 1, 0, INT64_MAX, &seed, err);
    dlx_spec_node *model = dlx_spec_get(root, "model");
    if (!rc && !model)
        rc = dlx_err_setf(err, DLX_EINVAL, root->loc, "missing required key 'model'");
    if (!rc) rc = dlx_spec_expect_map(model, "model", err);
    if (!rc) rc = dlx_spec_str(model, "kind", false, "classifier", &kind, err);
    if (rc)
        goto fail;
    m->seed = (uint64_t)seed;
    m->family = dlx_family_find(kind);
    if (!m->family) {
        const char *names[16];
        int k = 0;
        for (const dlx_family *f; (f = dlx_family_at(k)) && k < 15; k++)
            names[k] = f->name;
        names[k] = NULL;
        const char *near = dlx_closest(kind, names);
        dlx_spec_node *v = dlx_spec_get(model, "kind");
        rc = dlx_err_setf(err, DLX_EINVAL, v->loc, "model.kind: unknown model kind '%s'%s%s%s (one of: %s)", kind,
                          near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "", dlx_family_names());
        goto fail;
    }
    m->family_name = m->family->name;
    rc = m->family->create(m, err);
    if (rc)
        goto fail;
    /* Parallelism comes from each family's own workers over shards or blocks
     * of rows (deterministic) and BLAS stays single-threaded, so results
     * never depend on the thread count (OpenBLAS's own threads also measured
     * slower here: their sched_yield waits cost FISTA up to half its speed). */
    openblas_set_num_threads(1);
    *out = m;
    return 0;
fail:
    dlx_model_destroy(m);
    return rc;
}

int dlx_model_from_checkpoint(const char *path, const dlx_hooks *hooks, dlx_model **out, dlx_err *err)
{
    return dlx_model_from_checkpoint_set(path, NULL, 0, hooks, out, err);
}

static int apply_sets(dlx_spec *spec, const char *const *sets, int n_sets, dlx_err *err)
{
    for (int i = 0; i < n_sets; i++) {
        if (strncmp(sets[i], "model.eval.", 11) != 0)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                                "--set %s: a checkpoint's model takes settings of its evaluation only (model.eval.KEY)",
                                sets[i]);
        int rc = dlx_spec_set(spec, sets[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

int dlx_model_from_checkpoint_set(const char *path, const char *const *sets, int n_sets, const dlx_hooks *hooks,
                                  dlx_model **out, dlx_err *err)
{
    dlx_ckpt_meta meta;
    char family[64];
    *out = NULL;
    int rc = dlx_ckpt_read_meta(path, &meta, family, sizeof family, err);
    if (rc)
        return rc;
    dlx_spec *spec;
    char name[DLX_RUNDIR_MAX + 96];
    snprintf(name, sizeof name, "%s:/spec", path); /* a location for messages only */
    rc = dlx_spec_load_string(meta.spec_text, name, &spec, err);
    free((char *)meta.spec_text);
    if (rc)
        return rc;
    if ((rc = apply_sets(spec, sets, n_sets, err))) {
        dlx_spec_destroy(spec);
        return rc;
    }
    char *dir = strdup(path);
    if (!dir) {
        dlx_spec_destroy(spec);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    dlx_model *m;
    rc = dlx_model_create(spec, slash ? dir : ".", hooks, &m, err);
    free(dir);
    if (rc)
        return rc;
    rc = dlx_run_load_checkpoint(m, path, false, err);
    if (rc) {
        dlx_model_destroy(m);
        return rc;
    }
    m->step = meta.step;
    m->epoch = meta.epoch;
    *out = m;
    return 0;
}

void dlx_model_destroy(dlx_model *m)
{
    if (!m)
        return;
    if (m->family && m->impl)
        m->family->destroy(m);
    dlx_plan_free(&m->plan);
    dlx_params_free(&m->params);
    dlx_spec_destroy(m->spec);
    dlx_lock_release(&m->lock_fd);
    free(m);
}
