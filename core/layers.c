/* Layer builders: one function per layer type, looked up in k_types. */
#include "layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "rundir.h"

#define MAX_LAYERS 256

/* State shared by the builders while one layers: list is built. */
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

/* What a builder gets: the entry, its resolved inputs, its name and the name
 * its parameters go by (its own, or the shared layer's). */
typedef struct layer_call {
    dlx_spec_node *entry;
    dlx_node *in[DLX_MAX_INPUTS];
    int n_in;
    char name[DLX_NAME_MAX];
    char param_name[DLX_NAME_MAX];
    int64_t n_params;
} layer_call;

typedef int (*build_fn)(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err);

typedef struct type_row {
    dlx_layer_type info;
    build_fn build;
    int n_in_max;
} type_row;

static dlx_loc loc_of(const dlx_spec_node *n) { return n ? n->loc : DLX_NOLOC; }

static int declare(build_ctx *b, layer_call *c, const char *suffix, dlx_shape shape, dlx_init init,
                   bool decay, dlx_node **node, dlx_err *err)
{
    char full[DLX_NAME_MAX * 2];
    const char *colon = strchr(c->param_name, ':');
    if (colon) /* share: NETWORK:LAYER, another network's parameters */
        snprintf(full, sizeof full, "%.*s.%s.%s", (int)(colon - c->param_name), c->param_name, colon + 1, suffix);
    else
        snprintf(full, sizeof full, "%s%s.%s", b->prefix, c->param_name, suffix);
    int before = b->params->n;
    int idx = dlx_params_declare(b->params, full, shape, init, decay, err);
    if (idx < 0) {
        err->line = loc_of(c->entry).line;
        err->col = loc_of(c->entry).col;
        snprintf(err->file, sizeof err->file, "%s", loc_of(c->entry).file ? loc_of(c->entry).file : "");
        dlx_err_prefix(err, "%s", c->entry->path);
        return idx;
    }
    if (b->params->n > before)
        c->n_params += dlx_shape_numel(&shape);
    *node = dlx_graph_param(b->g, idx, err);
    return *node ? 0 : DLX_ENOMEM;
}

/* init: key of the layer, default given by the builder. */
static const char *const k_inits[] = {"xavier", "kaiming", "lecun", "torch", "normal", "uniform", "orthogonal", "identity", NULL};
static const dlx_init_kind k_init_kinds[] = {DLX_INIT_XAVIER, DLX_INIT_KAIMING, DLX_INIT_LECUN,     DLX_INIT_TORCH,
                                             DLX_INIT_NORMAL, DLX_INIT_UNIFORM, DLX_INIT_ORTHOGONAL, DLX_INIT_IDENTITY};

static int read_init(dlx_spec_node *e, int def, int64_t fan_in, int64_t fan_out, dlx_init *init,
                     dlx_err *err)
{
    int k;
    double scale;
    int rc = dlx_spec_enum(e, "init", false, k_inits, def, &k, err);
    if (rc)
        return rc;
    /* init_scale: the std or bound of normal and uniform, the gain of orthogonal and identity */
    bool gain = k_init_kinds[k] == DLX_INIT_ORTHOGONAL || k_init_kinds[k] == DLX_INIT_IDENTITY;
    rc = dlx_spec_float(e, "init_scale", false, gain ? 1.0 : 0.01, 0.0, 100.0, &scale, err);
    if (rc)
        return rc;
    *init = (dlx_init){.kind = k_init_kinds[k], .a = (float)scale, .fan_in = fan_in, .fan_out = fan_out};
    return 0;
}

static int read_act(dlx_spec_node *e, dlx_act *act, float *alpha, dlx_err *err)
{
    const char *name;
    int rc = dlx_spec_str(e, "activation", false, "none", &name, err);
    if (rc)
        return rc;
    int a = dlx_act_from_name(name);
    if (a < 0) {
        dlx_spec_node *v = dlx_spec_get(e, "activation");
        return dlx_err_setf(err, DLX_EINVAL, loc_of(v), "%s.activation: unknown activation '%s' (one of: %s)",
                            e->path, name, dlx_act_names());
    }
    double al;
    rc = dlx_spec_float(e, "alpha", false, 0.01, 0.0, 1.0, &al, err);
    *act = (dlx_act)a;
    *alpha = (float)al;
    return rc;
}

static int64_t feature_count(const dlx_node *x)
{
    return x->out.shape.ndim > 1 ? x->out.numel / x->out.shape.d[0] : 1;
}

static int build_linear(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t units;
    bool bias;
    dlx_linear_attr a = {0};
    dlx_init init;
    int rc = dlx_spec_int(c->entry, "units", true, 0, 1, 1 << 24, &units, err);
    if (!rc) rc = dlx_spec_bool(c->entry, "bias", false, true, &bias, err);
    if (!rc) rc = read_act(c->entry, &a.act, &a.alpha, err);
    int64_t k = feature_count(c->in[0]);
    int def = a.act == DLX_ACT_RELU || a.act == DLX_ACT_LEAKY_RELU ? 1 : 0;
    if (!rc) rc = read_init(c->entry, def, k, units, &init, err);
    if (rc)
        return rc;
    dlx_node *in[3] = {c->in[0]};
    rc = declare(b, c, "weight", dlx_shape_2d(units, k), init, true, &in[1], err);
    if (!rc && bias) {
        dlx_init zero = {.kind = DLX_INIT_ZERO};
        if (init.kind == DLX_INIT_TORCH)
            zero = init; /* Torch7 resets biases like weights */
        rc = declare(b, c, "bias", dlx_shape_1d(units), zero, false, &in[2], err);
    }
    if (rc)
        return rc;
    *out = dlx_graph_op(b->g, &dlx_op_linear, c->name, in, bias ? 3 : 2, &a, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static int read_pair(dlx_spec_node *e, const char *key, bool required, int64_t def, int64_t min,
                     int *h, int *w, dlx_err *err)
{
    int64_t v[2];
    int n;
    int rc = dlx_spec_int_list(e, key, required, min, 4096, v, 2, &n, err);
    if (rc)
        return rc;
    if (n == 0) {
        int64_t d;
        rc = dlx_spec_int(e, key, false, def, min, 4096, &d, err); /* inserts the default */
        v[0] = v[1] = d;
    } else if (n == 1) {
        v[1] = v[0];
    }
    *h = (int)v[0];
    *w = (int)v[1];
    return rc;
}

static int build_conv(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t filters;
    int kh, kw;
    bool bias;
    dlx_conv2d_attr a = {0};
    dlx_init init;
    const dlx_node *x = c->in[0];
    if (x->out.shape.ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, c->entry->loc,
                            "%s: conv needs an image input (N, C, H, W); the input has %d dimensions "
                            "(a conv after a flatten or linear layer?)",
                            c->entry->path, x->out.shape.ndim);
    int rc = dlx_spec_int(c->entry, "filters", true, 0, 1, 1 << 16, &filters, err);
    if (!rc) rc = read_pair(c->entry, "kernel", true, 3, 1, &kh, &kw, err);
    if (!rc) rc = read_pair(c->entry, "stride", false, 1, 1, &a.stride_h, &a.stride_w, err);
    if (!rc) rc = read_pair(c->entry, "pad", false, 0, 0, &a.pad_h, &a.pad_w, err);
    if (!rc) rc = dlx_spec_bool(c->entry, "bias", false, true, &bias, err);
    if (!rc) rc = read_act(c->entry, &a.act, &a.alpha, err);
    int64_t ch = x->out.shape.d[1];
    int def = a.act == DLX_ACT_RELU || a.act == DLX_ACT_LEAKY_RELU ? 1 : 0;
    if (!rc) rc = read_init(c->entry, def, ch * kh * kw, filters * kh * kw, &init, err);
    if (rc)
        return rc;
    dlx_node *in[3] = {c->in[0]};
    rc = declare(b, c, "weight", dlx_shape_4d(filters, ch, kh, kw), init, true, &in[1], err);
    if (!rc && bias) {
        dlx_init zero = {.kind = DLX_INIT_ZERO};
        if (init.kind == DLX_INIT_TORCH)
            zero = init;
        rc = declare(b, c, "bias", dlx_shape_1d(filters), zero, false, &in[2], err);
    }
    if (rc)
        return rc;
    *out = dlx_graph_op(b->g, &dlx_op_conv2d, c->name, in, bias ? 3 : 2, &a, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static int build_pool(build_ctx *b, layer_call *c, const dlx_op_vtbl *op, dlx_node **out, dlx_err *err)
{
    dlx_pool2d_attr a = {0};
    int rc = read_pair(c->entry, "size", false, 2, 1, &a.size_h, &a.size_w, err);
    if (!rc) rc = read_pair(c->entry, "stride", false, a.size_h, 1, &a.stride_h, &a.stride_w, err);
    if (!rc) rc = read_pair(c->entry, "pad", false, 0, 0, &a.pad_h, &a.pad_w, err);
    if (rc)
        return rc;
    *out = dlx_graph_op(b->g, op, c->name, c->in, 1, &a, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static int build_maxpool(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    return build_pool(b, c, &dlx_op_maxpool2d, out, err);
}

static int build_avgpool(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    return build_pool(b, c, &dlx_op_avgpool2d, out, err);
}

static int build_act_named(build_ctx *b, layer_call *c, dlx_act act, dlx_node **out, dlx_err *err)
{
    dlx_act_attr a = {.act = act, .alpha = 0.01f};
    if (act == DLX_ACT_LEAKY_RELU) {
        double al;
        int rc = dlx_spec_float(c->entry, "alpha", false, 0.01, 0.0, 1.0, &al, err);
        if (rc)
            return rc;
        a.alpha = (float)al;
    }
    *out = dlx_graph_op(b->g, &dlx_op_act, c->name, c->in, 1, &a, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static int build_relu(build_ctx *b, layer_call *c, dlx_node **o, dlx_err *e) { return build_act_named(b, c, DLX_ACT_RELU, o, e); }
static int build_tanh(build_ctx *b, layer_call *c, dlx_node **o, dlx_err *e) { return build_act_named(b, c, DLX_ACT_TANH, o, e); }
static int build_sigmoid(build_ctx *b, layer_call *c, dlx_node **o, dlx_err *e) { return build_act_named(b, c, DLX_ACT_SIGMOID, o, e); }
static int build_leaky(build_ctx *b, layer_call *c, dlx_node **o, dlx_err *e) { return build_act_named(b, c, DLX_ACT_LEAKY_RELU, o, e); }
static int build_lecun_tanh(build_ctx *b, layer_call *c, dlx_node **o, dlx_err *e) { return build_act_named(b, c, DLX_ACT_LECUN_TANH, o, e); }

static int build_dropout(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    double rate;
    int rc = dlx_spec_float(c->entry, "rate", false, 0.5, 0.0, 0.99, &rate, err);
    if (rc)
        return rc;
    dlx_dropout_attr a = {.rate = (float)rate};
    *out = dlx_graph_op(b->g, &dlx_op_dropout, c->name, c->in, 1, &a, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static int build_flatten(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    dlx_reshape_attr a = {.ndim = 2, .d = {0, -1}};
    *out = dlx_graph_op(b->g, &dlx_op_reshape, c->name, c->in, 1, &a, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static int build_reshape(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t d[3];
    int n;
    int rc = dlx_spec_int_list(c->entry, "shape", true, -1, 1 << 24, d, 3, &n, err);
    if (rc)
        return rc;
    dlx_reshape_attr a = {.ndim = n + 1};
    a.d[0] = 0;
    for (int i = 0; i < n; i++)
        a.d[i + 1] = d[i];
    *out = dlx_graph_op(b->g, &dlx_op_reshape, c->name, c->in, 1, &a, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static int build_add(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    if (c->n_in < 2)
        return dlx_err_setf(err, DLX_EINVAL, c->entry->loc,
                            "%s: add needs at least two inputs: give them with inputs: [a, b]",
                            c->entry->path);
    *out = dlx_graph_op(b->g, &dlx_op_add, c->name, c->in, c->n_in, NULL, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static int build_concat(build_ctx *b, layer_call *c, dlx_node **out, dlx_err *err)
{
    if (c->n_in < 2)
        return dlx_err_setf(err, DLX_EINVAL, c->entry->loc,
                            "%s: concat needs at least two inputs: give them with inputs: [a, b]",
                            c->entry->path);
    int64_t axis;
    int rc = dlx_spec_int(c->entry, "axis", false, 1, 1, 3, &axis, err);
    if (rc)
        return rc;
    dlx_concat_attr a = {.axis = (int)axis};
    *out = dlx_graph_op(b->g, &dlx_op_concat, c->name, c->in, c->n_in, &a, c->entry->loc, err);
    return *out ? 0 : err->code;
}

static const char *const k_linear_keys[] = {"units", "activation", "alpha", "bias", "init", "init_scale", NULL};
static const char *const k_conv_keys[] = {"filters", "kernel", "stride", "pad", "activation", "alpha", "bias", "init", "init_scale", NULL};
static const char *const k_pool_keys[] = {"size", "stride", "pad", NULL};
static const char *const k_no_keys[] = {NULL};
static const char *const k_leaky_keys[] = {"alpha", NULL};
static const char *const k_dropout_keys[] = {"rate", NULL};
static const char *const k_reshape_keys[] = {"shape", NULL};
static const char *const k_concat_keys[] = {"axis", NULL};

static const type_row k_types[] = {
    {{"linear", k_linear_keys, "fully connected: units, activation, bias, init"}, build_linear, 1},
    {{"conv", k_conv_keys, "2-d convolution: filters, kernel, stride, pad, activation"}, build_conv, 1},
    {{"maxpool", k_pool_keys, "max pooling: size, stride, pad"}, build_maxpool, 1},
    {{"avgpool", k_pool_keys, "average pooling: size, stride, pad"}, build_avgpool, 1},
    {{"relu", k_no_keys, "max(x, 0)"}, build_relu, 1},
    {{"tanh", k_no_keys, "tanh(x)"}, build_tanh, 1},
    {{"sigmoid", k_no_keys, "1 / (1 + exp(-x))"}, build_sigmoid, 1},
    {{"leaky_relu", k_leaky_keys, "x > 0 ? x : alpha x"}, build_leaky, 1},
    {{"lecun_tanh", k_no_keys, "1.7159 tanh(2x/3) (LeCun 1998)"}, build_lecun_tanh, 1},
    {{"dropout", k_dropout_keys, "zero with probability rate while training"}, build_dropout, 1},
    {{"flatten", k_no_keys, "(N, ...) -> (N, features)"}, build_flatten, 1},
    {{"reshape", k_reshape_keys, "(N, ...) -> (N, shape...)"}, build_reshape, 1},
    {{"add", k_no_keys, "sum of inputs (residual connections)"}, build_add, DLX_MAX_INPUTS},
    {{"concat", k_concat_keys, "join inputs along axis (1 = channels)"}, build_concat, DLX_MAX_INPUTS},
};
#define N_TYPES ((int)(sizeof k_types / sizeof k_types[0]))

const dlx_layer_type *dlx_layer_type_at(int i) { return i >= 0 && i < N_TYPES ? &k_types[i].info : NULL; }

static const type_row *find_type(const char *name)
{
    for (int i = 0; i < N_TYPES; i++)
        if (strcmp(k_types[i].info.type, name) == 0)
            return &k_types[i];
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

static int check_entry_keys(dlx_spec_node *e, const type_row *t, dlx_err *err)
{
    const char *allowed[40];
    int k = 0;
    for (size_t i = 0; i < sizeof k_common_keys / sizeof *k_common_keys; i++)
        allowed[k++] = k_common_keys[i];
    for (int i = 0; t->info.keys[i]; i++)
        allowed[k++] = t->info.keys[i];
    allowed[k] = NULL;
    return dlx_spec_check_keys(e, t->info.type, allowed, err);
}

static int resolve_inputs(build_ctx *b, dlx_spec_node *e, const type_row *t, layer_call *c, dlx_err *err)
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
                            t->info.type, t->n_in_max > 1 ? "1 to " : "", t->n_in_max,
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
    const type_row *t = find_type(type);
    if (!t) {
        const char *names[N_TYPES + 1];
        char list[512] = "";
        size_t used = 0;
        for (int i = 0; i < N_TYPES; i++) {
            names[i] = k_types[i].info.type;
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        }
        names[N_TYPES] = NULL;
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

    layer_call c;
    memset(&c, 0, sizeof c);
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
    rc = t->build(b, &c, &node, err);
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
