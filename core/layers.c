/* A layers: list -> op nodes: each entry's type is looked up among the layer
 * types of the op registry and built by the op's own builder. */
#include "layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_build.h"
#include "ops/ops.h"
#include "rundir.h"

#define MAX_LAYERS 256
#define MAX_TYPES 128 /* layer types listed in an unknown type's message */

/* State shared while one layers: list is built. */
typedef struct build_ctx {
    dlx_graph *g;
    dlx_params *params;
    const char *prefix;
    dlx_node *input;            /* the data input, reachable as "input" */
    dlx_node *prev;             /* the previous layer's output */
    dlx_layers_out *out;
    const char *names[MAX_LAYERS];
    dlx_node *nodes[MAX_LAYERS];
    int n;
} build_ctx;

/* Every layer type of the op registry, in registry order. */
static const dlx_layer_def *type_at(int i)
{
    for (int k = 0; dlx_op_at(k); k++) {
        const dlx_op_vtbl *op = dlx_op_at(k);
        if (i < op->n_layers)
            return &op->layers[i];
        i -= op->n_layers;
    }
    return NULL;
}

const dlx_layer_def *dlx_layer_type_at(int i) { return i >= 0 ? type_at(i) : NULL; }

static const dlx_layer_def *find_type(const char *name)
{
    for (int k = 0; dlx_op_at(k); k++)
        for (int j = 0; j < dlx_op_at(k)->n_layers; j++)
            if (strcmp(dlx_op_at(k)->layers[j].type, name) == 0)
                return &dlx_op_at(k)->layers[j];
    return NULL;
}

static dlx_node *find_layer(const build_ctx *b, const char *name)
{
    if (strcmp(name, "input") == 0)
        return b->input;
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->names[i], name) == 0)
            return b->nodes[i];
    return NULL;
}

static const char *const k_common_keys[] = {"type", "name", "inputs", "share"};

static int check_entry_keys(dlx_spec_node *e, const dlx_layer_def *t, dlx_err *err)
{
    const char *allowed[40];
    int k = 0;
    for (size_t i = 0; i < sizeof k_common_keys / sizeof *k_common_keys; i++)
        allowed[k++] = k_common_keys[i];
    for (int i = 0; t->keys[i]; i++)
        allowed[k++] = t->keys[i];
    allowed[k] = NULL;
    return dlx_spec_check_keys(e, t->type, allowed, err);
}

static int resolve_inputs(build_ctx *b, dlx_spec_node *e, const dlx_layer_def *t, dlx_layer_call *c, dlx_err *err)
{
    dlx_spec_node *ins = dlx_spec_get(e, "inputs");
    if (!ins) {
        c->in[0] = b->prev;
        c->n_in = 1;
        return 0;
    }
    if (ins->kind == DLX_SPEC_SCALAR) {
        c->n_in = 1;
        dlx_node *n = find_layer(b, ins->scalar);
        if (!n)
            goto unknown;
        c->in[0] = n;
        return 0;
    }
    int rc = dlx_spec_expect_seq(ins, "inputs", err);
    if (rc)
        return rc;
    if (ins->n < 1 || ins->n > t->n_in_max)
        return dlx_err_setf(err, DLX_EINVAL, ins->loc, "%s: %s takes %s%d input%s, got %d", ins->path,
                            t->type, t->n_in_max > 1 ? "1 to " : "", t->n_in_max,
                            t->n_in_max > 1 ? "s" : "", ins->n);
    for (int i = 0; i < ins->n; i++) {
        const char *name;
        rc = dlx_spec_node_str(ins->items[i], &name, err);
        if (rc)
            return rc;
        c->in[i] = find_layer(b, name);
        if (!c->in[i]) {
            ins = ins->items[i];
            goto unknown;
        }
    }
    c->n_in = ins->n;
    return 0;
unknown: {
    const char *cands[MAX_LAYERS + 2];
    int k = 0;
    cands[k++] = "input";
    for (int i = 0; i < b->n; i++)
        cands[k++] = b->names[i];
    cands[k] = NULL;
    const char *near = dlx_closest(ins->scalar, cands);
    return dlx_err_setf(err, DLX_EINVAL, ins->loc,
                        "%s: no earlier layer is named '%s'%s%s%s (inputs can only name layers above "
                        "this one, or 'input')",
                        ins->path, ins->scalar, near ? "; did you mean '" : "", near ? near : "",
                        near ? "'?" : "");
}
}

static int build_one(build_ctx *b, dlx_spec_node *e, int index, dlx_err *err)
{
    int rc = dlx_spec_expect_map(e, e->path, err);
    if (rc)
        return rc;
    const char *type;
    rc = dlx_spec_str(e, "type", true, NULL, &type, err);
    if (rc)
        return rc;
    const dlx_layer_def *t = find_type(type);
    if (!t) {
        const char *names[MAX_TYPES + 1];
        char list[1024] = "";
        size_t used = 0;
        int nt = 0;
        for (; type_at(nt) && nt < MAX_TYPES; nt++) {
            names[nt] = type_at(nt)->type;
            if (used < sizeof list)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", nt ? ", " : "", names[nt]);
        }
        names[nt] = NULL;
        const char *near = dlx_closest(type, names);
        dlx_spec_node *v = dlx_spec_get(e, "type");
        if (near)
            return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: unknown layer type '%s'; did you mean '%s'?",
                                e->path, type, near);
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: unknown layer type '%s' (one of: %s)", e->path,
                            type, list);
    }
    rc = check_entry_keys(e, t, err);
    if (rc)
        return rc;

    dlx_layer_call c;
    memset(&c, 0, sizeof c);
    c.g = b->g;
    c.params = b->params;
    c.prefix = b->prefix;
    c.entry = e;
    const char *name;
    rc = dlx_spec_str(e, "name", false, NULL, &name, err);
    if (rc)
        return rc;
    /* names become HDF5 paths (/params/<name>.weight): "h" and "/h" would be one */
    static const char why[] = "it names the layer's parameters /params/<name>.* in checkpoint.h5";
    dlx_spec_node *nv = dlx_spec_get(e, "name"), *sv = dlx_spec_get(e, "share");
    if (name) rc = dlx_name_check(nv, "layer name", DLX_LAYER_NAME_MAX, why, err);
    if (!rc && sv) rc = dlx_name_check(sv, "layer name", DLX_LAYER_NAME_MAX, why, err);
    if (rc)
        return rc;
    if (name) {
        if (find_layer(b, name))
            return dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(e, "name")->loc,
                                "%s: a layer named '%s' already exists", e->path, name);
        snprintf(c.name, sizeof c.name, "%s", name);
    } else {
        int k = 1; /* conv1, conv2, ... counted per type */
        for (int i = 0; i < index; i++)
            if (strcmp(b->out->info[i].type, type) == 0)
                k++;
        snprintf(c.name, sizeof c.name, "%s%d", type, k);
        while (find_layer(b, c.name)) /* a user name took it */
            snprintf(c.name, sizeof c.name, "%s%d", type, ++k);
    }
    const char *share;
    rc = dlx_spec_str(e, "share", false, NULL, &share, err);
    if (rc)
        return rc;
    snprintf(c.param_name, sizeof c.param_name, "%s", share ? share : c.name);
    rc = resolve_inputs(b, e, t, &c, err);
    if (rc)
        return rc;

    dlx_node *node = NULL;
    int before = b->params->n;
    rc = t->build(&c, &node, err);
    if (rc)
        return rc;
    if (share && b->params->n > before) {
        /* every parameter of a shared layer must already exist */
        dlx_spec_node *v = dlx_spec_get(e, "share");
        return dlx_err_setf(err, DLX_EINVAL, v->loc,
                            "%s: share: '%s' names no earlier layer with parameters of this shape",
                            e->path, share);
    }
    if (b->n >= MAX_LAYERS)
        return dlx_err_setf(err, DLX_EINVAL, e->loc, "too many layers (at most %d)", MAX_LAYERS);
    b->names[b->n] = node->name;
    b->nodes[b->n++] = node;
    b->prev = node;
    dlx_layer_info *info = &b->out->info[index];
    snprintf(info->name, sizeof info->name, "%s", c.name);
    snprintf(info->type, sizeof info->type, "%s", type);
    info->out = node->out.shape;
    info->n_params = c.n_params;
    b->out->n = index + 1;
    return 0;
}

int dlx_layers_build(dlx_graph *g, dlx_params *params, dlx_spec_node *layers, const char *prefix,
                     dlx_node *input, dlx_layers_out *out, dlx_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = dlx_spec_expect_seq(layers, "model.layers", err);
    if (rc)
        return rc;
    if (layers->n == 0)
        return dlx_err_setf(err, DLX_EINVAL, layers->loc, "%s: the layers list is empty", layers->path);
    if (layers->n > MAX_LAYERS)
        return dlx_err_setf(err, DLX_EINVAL, layers->loc, "%s: too many layers (%d, at most %d)",
                            layers->path, layers->n, MAX_LAYERS);
    out->info = calloc((size_t)layers->n, sizeof *out->info);
    if (!out->info)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    build_ctx *b = calloc(1, sizeof(*b));
    if (!b) {
        free(out->info);
        out->info = NULL;
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    b->g = g;
    b->params = params;
    b->prefix = prefix ? prefix : "";
    b->input = input;
    b->prev = input;
    b->out = out;
    for (int i = 0; i < layers->n && !rc; i++)
        rc = build_one(b, layers->items[i], i, err);
    if (!rc)
        out->output = b->prev;
    else {
        free(out->info);
        out->info = NULL;
        out->n = 0;
    }
    free(b);
    return rc;
}
