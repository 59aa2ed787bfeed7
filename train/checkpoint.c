/* Checkpoints of a model: save and load (format in core/h5io.h). */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rundir.h"
#include "dist.h"

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

static int save_to(dlx_model *m, const char *file, dlx_err *err)
{
    char path[DLX_RUNDIR_MAX + 32];
    int rc = dlx_mkdirs(m->run_dir, err);
    if (!rc) rc = dlx_path_join(path, sizeof path, m->run_dir, file, err);
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
        .family = m->family_name,
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
out_free_spec:
    free(spec_text);
    return rc;
}

int dlx_run_save_checkpoint(dlx_model *m, dlx_err *err)
{
    /* over MPI ranks rank 0 writes; the others hold the same values */
    int rc = dlx_dist_writes(m->hooks.dist) ? save_to(m, "checkpoint.h5", err) : 0;
    if (!rc)
        m->checkpoint_step = m->step;
    return rc;
}

int dlx_run_save_checkpoint_as(dlx_model *m, const char *file, dlx_err *err)
{
    return dlx_dist_writes(m->hooks.dist) ? save_to(m, file, err) : 0;
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
    if (strcmp(family, m->family_name) != 0)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                            "checkpoint is of model kind '%s', but the spec is '%s'", family, m->family_name);
    if (with_optim && (rc = load_optim_t(m, &meta, path, err)))
        return rc;
    dlx_h5_array *arrays = NULL;
    int n = 0;
    rc = collect_arrays(m, with_optim, meta.version, &arrays, &n, err);
    if (rc)
        return rc;
    rc = dlx_ckpt_read_arrays(path, arrays, n, false, err);
    free(arrays);
    if (!rc) rc = dlx_params_check_buffers(&m->params, path, err);
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
