#include "plan.h"

#include "../core/ops/ops.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* train.optimizers.<name>: an optimizer's keys (core/optim.c) and these. */
static const dlx_key_doc k_optim_extra[] = {
    {"schedule", "map", "constant", "a schedule (dlx spec schedule)", "this optimizer's learning-rate schedule"},
    {"params", "string or list of strings", "every network", "the model's network names (gen, disc)",
     "the networks this optimizer updates"},
    {NULL},
};
static const dlx_key_doc k_update_keys[] = {
    {"loss", "string", "required", "the model's losses and train.losses' names", "the loss this update descends"},
    {"optimizer", "string", "the only optimizer (required with several)", "a name of train.optimizers",
     "the optimizer that applies it"},
    {"repeat", "integer", "1", "1 to 100", "times the update runs per step"},
    {NULL},
};

const dlx_spec_section dlx_plan_spec_sections[] = {
    {"train.optimizers.NAME", "an entry of train.optimizers (name: letters, digits, '_', '-'): an optimizer's keys "
                              "(dlx spec optimizer) and these",
     k_optim_extra, NULL},
    {"train.updates[]", "an entry of train.updates, the update order of a step (needs train.optimizers)",
     k_update_keys, NULL},
    {NULL},
};

/* Optimizer and network names become HDF5 paths (/optim/<name>/...) and
 * metric names: letters, digits, '_' and '-'. */
static int check_name(const char *name, dlx_loc loc, const char *what, dlx_err *err)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n < DLX_PLAN_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-';
    if (!ok)
        return dlx_err_setf(err, DLX_EINVAL, loc,
                            "%s '%s': use 1 to %d letters, digits, '_' or '-' (it names /optim/<name> in "
                            "checkpoint.h5)", what, name, DLX_PLAN_NAME_MAX - 1);
    return 0;
}

/* params: one network name or a list of them. */
static int read_groups(dlx_spec_node *v, dlx_plan_optim *o, dlx_err *err)
{
    o->loc = v->loc;
    if (v->kind == DLX_SPEC_SCALAR) {
        int rc = check_name(v->scalar, v->loc, "network", err);
        if (!rc)
            snprintf(o->groups[o->n_groups++], DLX_GROUP_NAME_MAX, "%s", v->scalar);
        return rc;
    }
    int rc = dlx_spec_expect_seq(v, "params", err);
    if (!rc && (v->n < 1 || v->n > DLX_GROUPS_MAX - 1))
        rc = dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: name 1 to %d networks", v->path, DLX_GROUPS_MAX - 1);
    for (int i = 0; i < v->n && !rc; i++) {
        const char *name;
        rc = dlx_spec_node_str(v->items[i], &name, err);
        if (!rc) rc = check_name(name, v->items[i]->loc, "network", err);
        if (!rc) snprintf(o->groups[o->n_groups++], DLX_GROUP_NAME_MAX, "%s", name);
    }
    return rc;
}

static int read_optimizers(dlx_spec_node *train, dlx_spec_node *opts, dlx_plan *p, dlx_err *err)
{
    const char *old = dlx_spec_get(train, "optimizer") ? "optimizer" : dlx_spec_get(train, "schedule") ? "schedule" : NULL;
    if (old)
        return dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(train, old)->loc,
                            "train.%s and train.optimizers cannot both be given: put the %s in each "
                            "optimizer of train.optimizers", old, old);
    int rc = dlx_spec_expect_map(opts, "train.optimizers", err);
    if (!rc && (opts->n < 1 || opts->n > DLX_OPTIMS_MAX))
        rc = dlx_err_setf(err, DLX_EINVAL, opts->loc, "train.optimizers: name 1 to %d optimizers", DLX_OPTIMS_MAX);
    for (int i = 0; i < opts->n && !rc; i++) {
        dlx_plan_optim *o = &p->optims[i];
        dlx_spec_node *v = opts->items[i];
        rc = check_name(opts->keys[i], opts->key_locs[i], "optimizer", err);
        if (!rc) rc = dlx_spec_expect_map(v, v->path, err);
        if (!rc) rc = dlx_optim_cfg_from_map(v, k_optim_extra, &o->cfg, err);
        dlx_spec_node *params = rc ? NULL : dlx_spec_get(v, "params");
        if (params)
            rc = read_groups(params, o, err);
        if (!rc)
            snprintf(o->name, sizeof o->name, "%s", opts->keys[i]);
        p->n_optims = i + 1;
    }
    return rc;
}

/* The index of name in names, or DLX_EINVAL at v's line with a suggestion. */
static int lookup(const dlx_spec_node *v, const char *name, const char *const *names, const char *what, int *out,
                  dlx_err *err)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], name)) {
            *out = i;
            return 0;
        }
    char list[256] = "";
    for (int i = 0; names[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    const char *near = dlx_closest(name, names);
    return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: unknown %s '%s'%s%s%s (this model has: %s)", v->path, what, name,
                        near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "", list);
}

/* train.losses: each a map of the family's terms to their weights. */
static int read_losses(dlx_spec_node *map, dlx_plan *p, dlx_err *err)
{
    const char *terms[DLX_TERMS_MAX + 1] = {NULL};
    for (int i = 0; i < p->n_terms; i++)
        terms[i] = p->loss_names[i];
    int rc = dlx_spec_expect_map(map, "train.losses", err);
    if (!rc && (map->n < 1 || map->n > DLX_COMPOSITES_MAX))
        rc = dlx_err_setf(err, DLX_EINVAL, map->loc, "train.losses: name 1 to %d losses", DLX_COMPOSITES_MAX);
    for (int i = 0; i < map->n && !rc; i++) {
        dlx_plan_loss *l = &p->composites[i];
        dlx_spec_node *v = map->items[i];
        rc = check_name(map->keys[i], map->key_locs[i], "loss", err);
        for (int j = 0; j < p->n_terms + i && !rc; j++)
            if (!strcmp(p->loss_names[j], map->keys[i]))
                rc = dlx_err_setf(err, DLX_EINVAL, map->key_locs[i], "train.losses: '%s' is already a loss of the model",
                                  map->keys[i]);
        if (!rc) rc = dlx_spec_expect_map(v, v->path, err);
        if (!rc && (v->n < 1 || v->n > DLX_WEIGH_MAX))
            rc = dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: weigh 1 to %d terms", v->path, DLX_WEIGH_MAX);
        for (int t = 0; t < v->n && !rc; t++) {
            double w;
            rc = lookup(v, v->keys[t], terms, "loss term", &l->term[t], err);
            if (!rc) rc = dlx_spec_float(v, v->keys[t], true, 0, -1e6, 1e6, &w, err);
            l->weight[t] = (float)w;
        }
        if (!rc) {
            l->n_terms = v->n;
            snprintf(l->name, sizeof l->name, "%s", map->keys[i]);
            p->loss_names[p->n_terms + i] = l->name;
            p->n_composites = i + 1;
        }
    }
    return rc;
}

int dlx_plan_compose(const dlx_plan *p, dlx_graph *g, dlx_node *const *terms, dlx_node **out, dlx_err *err)
{
    for (int i = 0; i < p->n_composites; i++) {
        const dlx_plan_loss *l = &p->composites[i];
        dlx_node *in[DLX_WEIGH_MAX];
        dlx_weighted_sum_attr a;
        memset(&a, 0, sizeof a);
        for (int t = 0; t < l->n_terms; t++) {
            in[t] = terms[l->term[t]];
            a.w[t] = l->weight[t];
        }
        out[i] = dlx_graph_op(g, &dlx_op_weighted_sum, l->name, in, l->n_terms, &a, DLX_NOLOC, err);
        if (!out[i])
            return err->code;
    }
    return 0;
}

static int read_update(dlx_spec_node *e, const char *const *losses, const char *const *optims, dlx_plan_update *u,
                       dlx_err *err)
{
    const char *loss, *optim;
    int64_t repeat;
    int rc = dlx_spec_expect_map(e, e->path, err);
    if (!rc) rc = dlx_spec_check_doc(e, "an update", k_update_keys, err);
    if (!rc) rc = dlx_spec_str(e, "loss", true, NULL, &loss, err);
    if (!rc) rc = lookup(dlx_spec_get(e, "loss"), loss, losses, "loss", &u->loss, err);
    if (!rc) rc = dlx_spec_str(e, "optimizer", optims[1] != NULL, optims[0], &optim, err);
    if (!rc) rc = dlx_spec_get(e, "optimizer") ? lookup(dlx_spec_get(e, "optimizer"), optim, optims, "optimizer", &u->optim, err) : 0;
    if (!rc) rc = dlx_spec_int(e, "repeat", false, 1, 1, DLX_REPEAT_MAX, &repeat, err);
    u->repeat = (int)repeat;
    return rc;
}

static int read_updates(dlx_spec_node *ups, const char *const *losses, dlx_plan *p, dlx_err *err)
{
    const char *optims[DLX_OPTIMS_MAX + 1] = {NULL};
    for (int i = 0; i < p->n_optims; i++)
        optims[i] = p->optims[i].name;
    int rc = dlx_spec_expect_seq(ups, "train.updates", err);
    if (!rc && (ups->n < 1 || ups->n > DLX_UPDATES_MAX))
        rc = dlx_err_setf(err, DLX_EINVAL, ups->loc, "train.updates: give 1 to %d updates", DLX_UPDATES_MAX);
    for (int i = 0; i < ups->n && !rc; i++) {
        dlx_plan_update *u = &p->updates[i];
        memset(u, 0, sizeof *u);
        rc = read_update(ups->items[i], losses, optims, u, err);
        for (int j = 0; j < i && !rc; j++)
            if (p->updates[j].loss == u->loss)
                rc = dlx_err_setf(err, DLX_EINVAL, ups->items[i]->loc,
                                  "%s: loss '%s' is already updated by %s; use repeat: to update it again",
                                  ups->items[i]->path, losses[u->loss], ups->items[j]->path);
        p->n_updates = i + 1;
    }
    return rc;
}

int dlx_plan_read(dlx_spec_node *train, const char *const *losses, bool composes, dlx_plan *p, dlx_err *err)
{
    DLX_ASSERT(losses && losses[0]);
    memset(p, 0, sizeof *p);
    while (losses[p->n_terms]) {
        DLX_ASSERT(p->n_terms < DLX_TERMS_MAX);
        p->loss_names[p->n_terms] = losses[p->n_terms];
        p->n_terms++;
    }
    dlx_spec_node *composite = train ? dlx_spec_get(train, "losses") : NULL;
    if (composite && !composes)
        return dlx_err_setf(err, DLX_EINVAL, composite->loc,
                            "train.losses: this model kind has one loss ('%s'); weighted sums do not apply", losses[0]);
    if (composite) {
        int rc = read_losses(composite, p, err);
        if (rc)
            return rc;
    }
    losses = p->loss_names;
    p->n_updates = 1;
    p->updates[0] = (dlx_plan_update){.loss = 0, .optim = 0, .repeat = 1};
    dlx_spec_node *opts = train ? dlx_spec_get(train, "optimizers") : NULL;
    dlx_spec_node *ups = train ? dlx_spec_get(train, "updates") : NULL;
    if (!opts) {
        p->n_optims = 1;
        snprintf(p->optims[0].name, sizeof p->optims[0].name, "optimizer");
        int rc = dlx_optim_cfg_from_spec(train, &p->optims[0].cfg, err);
        if (!rc && ups)
            rc = dlx_err_setf(err, DLX_EINVAL, ups->loc,
                              "train.updates needs train.optimizers: name the optimizers the updates use");
        return rc;
    }
    int rc = read_optimizers(train, opts, p, err);
    if (!rc && ups)
        rc = read_updates(ups, losses, p, err);
    return rc;
}

int dlx_plan_slots(const dlx_plan *p)
{
    int n = 0;
    for (int i = 0; i < p->n_optims; i++)
        n += dlx_optim_cfg_slots(&p->optims[i].cfg);
    return n;
}

int dlx_plan_find(const dlx_plan *p, const char *name)
{
    for (int i = 0; i < p->n_optims; i++)
        if (!strcmp(p->optims[i].name, name))
            return i;
    return -1;
}

/* member[i]: parameter i belongs to one of o's groups. */
static int members(const dlx_plan_optim *o, const dlx_params *params, bool *member, dlx_err *err)
{
    for (int g = 0; g < o->n_groups; g++) {
        int k = dlx_params_group_find(params, o->groups[g]);
        if (k <= 0) {
            char list[256] = "";
            for (int j = 1; j < params->n_groups; j++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j > 1 ? ", " : "",
                         params->group_name[j]);
            return dlx_err_setf(err, DLX_EINVAL, o->loc, "optimizer '%s': the model has no network '%s' (it has: %s)",
                                o->name, o->groups[g], list[0] ? list : "none; leave params: out");
        }
        for (int i = 0; i < params->n; i++)
            member[i] = member[i] || params->items[i].group == k;
    }
    return 0;
}

int dlx_plan_create(dlx_plan *p, dlx_params *params, int threads, dlx_err *err)
{
    int rc = 0;
    for (int i = 0; i < p->n_optims && !rc; i++) {
        dlx_plan_optim *o = &p->optims[i];
        bool *member = NULL;
        if (o->n_groups) {
            member = calloc((size_t)params->n + 1, sizeof *member);
            rc = member ? members(o, params, member, err)
                        : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory creating the optimizers");
        }
        if (!rc) rc = dlx_optim_create_over(&o->cfg, params, member, &o->o, err);
        if (!rc) dlx_optim_set_threads(o->o, threads);
        free(member);
    }
    return rc;
}

void dlx_plan_free(dlx_plan *p)
{
    for (int i = 0; i < p->n_optims; i++) {
        dlx_optim_destroy(p->optims[i].o);
        p->optims[i].o = NULL;
    }
}
