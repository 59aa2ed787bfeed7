/* Helpers of the layer builders in core/ops/ (see layer_build.h). */
#include "layer_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static dlx_loc loc_of(const dlx_spec_node *n) { return n ? n->loc : DLX_NOLOC; }

/* <prefix><param_name>.<suffix>, or NETWORK.LAYER.<suffix> for share: NETWORK:LAYER */
static void full_name(const dlx_layer_call *c, const char *suffix, char *full, size_t n)
{
    const char *colon = strchr(c->param_name, ':');
    if (colon) /* another network's parameters */
        snprintf(full, n, "%.*s.%s.%s", (int)(colon - c->param_name), c->param_name, colon + 1, suffix);
    else
        snprintf(full, n, "%s%s.%s", c->prefix, c->param_name, suffix);
}

/* An error of the store, placed at the layer's entry. */
static int at_entry(const dlx_layer_call *c, int rc, dlx_err *err)
{
    dlx_loc l = loc_of(c->entry);
    err->line = l.line;
    err->col = l.col;
    snprintf(err->file, sizeof err->file, "%s", l.file ? l.file : "");
    dlx_err_prefix(err, "%s", c->entry->path);
    return rc;
}

int dlx_layer_param(dlx_layer_call *c, const char *suffix, dlx_shape shape, dlx_init init, bool decay,
                    dlx_node **node, dlx_err *err)
{
    char full[DLX_NAME_MAX * 2];
    full_name(c, suffix, full, sizeof full);
    int before = c->params->n;
    int idx = dlx_params_declare(c->params, full, shape, init, decay, err);
    if (idx < 0)
        return at_entry(c, idx, err);
    if (c->params->n > before)
        c->n_params += dlx_shape_numel(&shape);
    *node = dlx_graph_param(c->g, idx, err);
    return *node ? 0 : DLX_ENOMEM;
}

int dlx_layer_param_own(dlx_layer_call *c, const char *suffix, dlx_shape shape, dlx_init init, bool decay,
                        dlx_node **node, dlx_err *err)
{
    char saved[DLX_NAME_MAX];
    snprintf(saved, sizeof saved, "%s", c->param_name);
    snprintf(c->param_name, sizeof c->param_name, "%s", c->name);
    int before = c->params->n;
    int rc = dlx_layer_param(c, suffix, shape, init, decay, node, err);
    c->n_own += c->params->n > before;
    snprintf(c->param_name, sizeof c->param_name, "%s", saved);
    return rc;
}

int dlx_layer_buffer(dlx_layer_call *c, const char *suffix, dlx_shape shape, float init, dlx_node **node,
                     dlx_err *err)
{
    char full[DLX_NAME_MAX * 2];
    full_name(c, suffix, full, sizeof full);
    int idx = dlx_params_declare_buffer(c->params, full, shape, init, err);
    if (idx < 0)
        return at_entry(c, idx, err);
    *node = dlx_graph_buffer(c->g, idx, err);
    return *node ? 0 : DLX_ENOMEM;
}

bool dlx_layer_has_buffer(const dlx_layer_call *c, const char *suffix)
{
    char full[DLX_NAME_MAX * 2];
    full_name(c, suffix, full, sizeof full);
    for (int i = 0; i < c->params->n_buffers; i++)
        if (!strcmp(c->params->buffers[i].name, full))
            return true;
    return false;
}

int dlx_layer_buffer_data(dlx_layer_call *c, const char *suffix, dlx_shape shape, const float *data,
                          bool must_match, dlx_node **node, dlx_err *err)
{
    char full[DLX_NAME_MAX * 2];
    full_name(c, suffix, full, sizeof full);
    int idx = data ? dlx_params_declare_buffer_data(c->params, full, shape, data, must_match, err)
                   : dlx_params_declare_buffer(c->params, full, shape, 0.0f, err);
    if (idx < 0)
        return at_entry(c, idx, err);
    *node = dlx_graph_buffer(c->g, idx, err);
    return *node ? 0 : DLX_ENOMEM;
}

int dlx_layer_op(dlx_layer_call *c, const dlx_op_vtbl *op, dlx_node **in, int n_in, const void *attr,
                 dlx_node **out, dlx_err *err)
{
    *out = dlx_graph_op(c->g, op, c->name, in, n_in, attr, c->entry->loc, err);
    return *out ? 0 : err->code;
}

const char *const dlx_layer_init_names[] = {"xavier", "kaiming", "lecun", "torch", "normal", "uniform",
                                            "orthogonal", "identity", NULL};
static const dlx_init_kind k_init_kinds[] = {DLX_INIT_XAVIER, DLX_INIT_KAIMING, DLX_INIT_LECUN,     DLX_INIT_TORCH,
                                             DLX_INIT_NORMAL, DLX_INIT_UNIFORM, DLX_INIT_ORTHOGONAL, DLX_INIT_IDENTITY};

int dlx_layer_read_init(const dlx_layer_call *c, int def, int64_t fan_in, int64_t fan_out, dlx_init *init,
                        dlx_err *err)
{
    int k;
    double scale;
    int rc = dlx_spec_enum(c->entry, "init", false, dlx_layer_init_names, def, &k, err);
    if (rc)
        return rc;
    /* init_scale: the std or bound of normal and uniform, the gain of orthogonal and identity */
    bool gain = k_init_kinds[k] == DLX_INIT_ORTHOGONAL || k_init_kinds[k] == DLX_INIT_IDENTITY;
    rc = dlx_spec_float(c->entry, "init_scale", false, gain ? 1.0 : 0.01, 0.0, 100.0, &scale, err);
    if (rc)
        return rc;
    *init = (dlx_init){.kind = k_init_kinds[k], .a = (float)scale, .fan_in = fan_in, .fan_out = fan_out};
    return 0;
}

dlx_init dlx_layer_bias_init(const dlx_init *weight)
{
    return weight->kind == DLX_INIT_TORCH ? *weight : (dlx_init){.kind = DLX_INIT_ZERO};
}

int dlx_layer_read_pair(const dlx_layer_call *c, const char *key, bool required, int64_t def, int64_t min, int *h,
                        int *w, dlx_err *err)
{
    int64_t v[2];
    int n;
    int rc = dlx_spec_int_list(c->entry, key, required, min, 4096, v, 2, &n, err);
    if (rc)
        return rc;
    if (n == 0) {
        int64_t d;
        rc = dlx_spec_int(c->entry, key, false, def, min, 4096, &d, err); /* inserts the default */
        v[0] = v[1] = d;
    } else if (n == 1) {
        v[1] = v[0];
    }
    *h = (int)v[0];
    *w = (int)v[1];
    return rc;
}

int dlx_layer_need_inputs(const dlx_layer_call *c, int min, dlx_err *err)
{
    if (c->n_in >= min)
        return 0;
    const char *type = "this layer";
    dlx_spec_node *t = dlx_spec_get(c->entry, "type");
    if (t && t->kind == DLX_SPEC_SCALAR)
        type = t->scalar;
    return dlx_layer_fail(c, err, "%s needs at least %d inputs: give them with inputs: [a, b]", type, min);
}

int dlx_layer_fail(const dlx_layer_call *c, dlx_err *err, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dlx_err_setf(err, DLX_EINVAL, loc_of(c->entry), "%s: %s", c->entry->path, msg);
}

int64_t dlx_layer_features(const dlx_node *x)
{
    return x->out.shape.ndim > 1 ? x->out.numel / x->out.shape.d[0] : 1;
}
