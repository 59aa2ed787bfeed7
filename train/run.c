#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "../models/family.h"

void dlx_results_set(dlx_results *r, const char *name, double value)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0) {
            r->value[i] = value;
            return;
        }
    if (r->n == DLX_RESULTS_MAX)
        return;
    snprintf(r->name[r->n], sizeof r->name[r->n], "%s", name);
    r->value[r->n++] = value;
}

bool dlx_results_get(const dlx_results *r, const char *name, double *value)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0) {
            *value = r->value[i];
            return true;
        }
    return false;
}

void dlx_run_info(const dlx_model *m, const char *fmt, ...)
{
    if (!m->hooks.progress)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dlx_progress p = {.phase = "info", .message = line};
    m->hooks.progress(m->hooks.user, &p);
}

/* The arrays of a checkpoint over the live buffers: parameters, buffers,
 * then (with_optim) every optimizer's slots of its parameters, at their
 * version-2 paths, or version 1's /optim/<param>/<slot> (one optimizer). */
static int collect_arrays(dlx_model *m, bool with_optim, int version, dlx_h5_array **out, int *n_out, dlx_err *err)
{
    const dlx_plan *pl = &m->plan;
    int slots = 0;
    for (int o = 0; with_optim && o < pl->n_optims; o++)
        slots += pl->optims[o].o ? dlx_optim_n_slots(pl->optims[o].o) : 0;
    int n = m->params.n * (1 + slots) + m->params.n_buffers;
    dlx_h5_array *a = calloc((size_t)(n ? n : 1), sizeof *a);
    if (!a)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    int k = 0;
    for (int i = 0; i < m->params.n; i++) {
        dlx_param *p = &m->params.items[i];
        snprintf(a[k].path, sizeof a[k].path, "/params/%s", p->name);
        a[k].shape = p->t.shape;
        a[k++].data = p->t.data;
    }
    for (int i = 0; i < m->params.n_buffers; i++) {
        dlx_buffer *b = &m->params.buffers[i];
        snprintf(a[k].path, sizeof a[k].path, "/buffers/%s", b->name);
        a[k].shape = b->t.shape;
        a[k++].data = b->t.data;
    }
    for (int o = 0; with_optim && o < pl->n_optims; o++) {
        dlx_optim *opt = pl->optims[o].o;
        for (int i = 0; opt && i < m->params.n; i++) {
            dlx_param *p = &m->params.items[i];
            for (int s = 0; s < dlx_optim_n_slots(opt) && dlx_optim_has(opt, i); s++) {
                if (version == 1)
                    snprintf(a[k].path, sizeof a[k].path, "/optim/%s/%s", p->name, dlx_optim_slot_name(opt, s));
                else
                    snprintf(a[k].path, sizeof a[k].path, "/optim/%s/%s/%s", pl->optims[o].name, p->name,
                             dlx_optim_slot_name(opt, s));
                a[k].shape = p->t.shape;
                a[k++].data = dlx_optim_slot(opt, s, i);
            }
        }
    }
    *out = a;
    *n_out = k;
    return 0;
}

int dlx_run_save_checkpoint(dlx_model *m, dlx_err *err)
{
    char path[DLX_RUNDIR_MAX + 32];
    int rc = dlx_mkdirs(m->run_dir, err);
    if (!rc) rc = dlx_path_join(path, sizeof path, m->run_dir, "checkpoint.h5", err);
    if (rc)
        return rc;
    char *spec_text = dlx_spec_dump(m->spec);
    if (!spec_text)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory writing the spec");
    dlx_h5_array *arrays = NULL;
    int n = 0;
    rc = collect_arrays(m, true, 2, &arrays, &n, err);
    if (rc)
        goto out_free_spec;
    dlx_ckpt_meta meta = {
        .spec_text = spec_text,
        .family = m->family->name,
        .step = m->step,
        .epoch = m->epoch,
        .rng = {m->seed, (uint64_t)m->epoch, (uint64_t)m->step},
        .n_state = m->n_state,
    };
    for (int o = 0; o < m->plan.n_optims; o++)
        if (m->plan.optims[o].o) {
            snprintf(meta.optim_name[meta.n_optims], DLX_CKPT_NAME_MAX, "%s", m->plan.optims[o].name);
            meta.optim_t[meta.n_optims++] = dlx_optim_t(m->plan.optims[o].o);
        }
    memcpy(meta.state, m->state, sizeof meta.state);
    memcpy(meta.state_name, m->state_name, sizeof meta.state_name);
    rc = dlx_ckpt_write(path, &meta, arrays, n, err);
    free(arrays);
    if (!rc)
        m->checkpoint_step = m->step;
out_free_spec:
    free(spec_text);
    return rc;
}

/* Each optimizer's update count from the checkpoint: by name (version 2),
 * or the only optimizer's (version 1). */
static int load_optim_t(dlx_model *m, const dlx_ckpt_meta *meta, const char *path, dlx_err *err)
{
    const dlx_plan *pl = &m->plan;
    int have = 0;
    for (int o = 0; o < pl->n_optims; o++)
        have += pl->optims[o].o != NULL;
    if (have == 0)
        return 0;
    if (meta->version == 1 && have != 1)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                            "a version-1 checkpoint holds one optimizer, but the model has %d", have);
    for (int o = 0; o < pl->n_optims; o++) {
        int j = meta->version == 1 ? 0 : -1;
        for (int i = 0; i < meta->n_optims && j < 0; i++)
            if (!strcmp(meta->optim_name[i], pl->optims[o].name))
                j = i;
        if (j < 0)
            return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                                "the checkpoint has no optimizer '%s' (/optim/%s/t)", pl->optims[o].name,
                                pl->optims[o].name);
        dlx_optim_set_t(pl->optims[o].o, meta->optim_t[j]);
    }
    return 0;
}

int dlx_run_load_checkpoint(dlx_model *m, const char *path, bool with_optim, dlx_err *err)
{
    dlx_ckpt_meta meta;
    char family[64];
    int rc = dlx_ckpt_read_meta(path, &meta, family, sizeof family, err);
    if (rc)
        return rc;
    free((char *)meta.spec_text);
    if (strcmp(family, m->family->name) != 0)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                            "checkpoint is of model kind '%s', but the spec is '%s'", family, m->family->name);
    if (with_optim && (rc = load_optim_t(m, &meta, path, err)))
        return rc;
    dlx_h5_array *arrays = NULL;
    int n = 0;
    rc = collect_arrays(m, with_optim, meta.version, &arrays, &n, err);
    if (rc)
        return rc;
    rc = dlx_ckpt_read_arrays(path, arrays, n, false, err);
    free(arrays);
    if (rc)
        return rc;
    if (with_optim) {
        m->step = meta.step;
        m->epoch = meta.epoch;
        m->checkpoint_step = meta.step;
        memcpy(m->state, meta.state, sizeof m->state);
        memcpy(m->state_name, meta.state_name, sizeof m->state_name);
        m->n_state = meta.n_state;
        m->resumed = true;
    }
    return 0;
}

static const char *const k_top_keys[] = {"version", "name", "description", "seed", "model", "data", "train", NULL};

int dlx_model_create(dlx_spec *spec, const char *run_dir, const dlx_hooks *hooks, dlx_model **out,
                     dlx_err *err)
{
    return dlx_model_create_opts(spec, run_dir, hooks, 0, 0, out, err);
}

int dlx_run_prepare_dir(const dlx_model *m, dlx_err *err) { return dlx_mkdirs(m->run_dir, err); }

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
    if (!rc) rc = dlx_spec_check_keys(root, "a spec", k_top_keys, err);
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
