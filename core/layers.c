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
#define MAX_REPEAT 64
#define MAX_NESTING 8 /* repeat blocks inside repeat blocks */

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

/* Where an entry sits: in a repeat block's copy (suffix "_k", inner copies
 * first: "_j_k"), sharing the parameters of the copy share_suffix names
 * (NULL: its own), at position pos of the list `list`. */
typedef struct copy_ctx {
    const char *suffix, *share_suffix;
    const dlx_spec_node *list;
    int pos;
} copy_ctx;

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

/* A name inside a repeat block means this copy's layer first, then any. */
static dlx_node *find_in_copy(const build_ctx *b, const copy_ctx *cc, const char *name)
{
    if (cc->suffix[0]) {
        char full[DLX_NAME_MAX * 2];
        snprintf(full, sizeof full, "%s%s", name, cc->suffix);
        dlx_node *n = find_layer(b, full);
        if (n)
            return n;
    }
    return find_layer(b, name);
}

/* Everyone's keys; each type adds its own (dlx_layer_def.keys). */
static const dlx_key_doc k_common_keys[] = {
    {"type", "string", "required", "a layer type (dlx spec layer.<type>)", "what the layer computes"},
    {"name", "string", "the type and its count (conv1, conv2)", "unique; no '/', no control characters",
     "names the node and its parameters (<name>.weight)"},
    {"inputs", "string or list of strings", "the previous layer", "earlier layer names or input",
     "the layers it reads"},
    {"share", "string", "-", "an earlier layer with parameters of the same shapes",
     "use that layer's parameters (tied weights)"},
    {NULL},
};

static const dlx_key_doc k_repeat_keys[];

bool dlx_layer_section_at(int i, dlx_spec_section *out)
{
    if (i == 0) {
        *out = (dlx_spec_section){"layer", "an entry of a layers: list (model.layers, a network's layers): the keys "
                                           "of every type; dlx spec layer.<type> gives a type's own",
                                  k_common_keys, NULL};
        return true;
    }
    if (i == 1) {
        *out = (dlx_spec_section){"layer.repeat", "an entry {repeat: N, layers: [...]} of a layers: list: N copies "
                                                  "of the block, named <name>_k",
                                  k_repeat_keys, NULL};
        return true;
    }
    const dlx_layer_def *t = dlx_layer_type_at(i - 2);
    if (!t)
        return false;
    *out = (dlx_spec_section){t->type, t->help, t->keys, "layer."};
    return true;
}

static int check_entry_keys(dlx_spec_node *e, const dlx_layer_def *t, dlx_err *err)
{
    const dlx_key_doc *const tables[] = {k_common_keys, t->keys, NULL};
    return dlx_spec_check_docs(e, t->type, tables, err);
}

static int resolve_inputs(build_ctx *b, const copy_ctx *cc, dlx_spec_node *e, const dlx_layer_def *t,
                          dlx_layer_call *c, dlx_err *err)
{
    dlx_spec_node *ins = dlx_spec_get(e, "inputs");
    if (!ins) {
        c->in[0] = b->prev;
        c->n_in = 1;
        return 0;
    }
    if (ins->kind == DLX_SPEC_SCALAR) {
        c->n_in = 1;
        dlx_node *n = find_in_copy(b, cc, ins->scalar);
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
        c->in[i] = find_in_copy(b, cc, name);
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

static int build_one(build_ctx *b, dlx_spec_node *e, const copy_ctx *cc, dlx_err *err)
{
    int index = b->out->n;
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
    char base[DLX_NAME_MAX]; /* the name before a repeat block's suffix */
    if (name) {
        snprintf(base, sizeof base, "%s", name);
    } else {
        int k = 1; /* conv1, conv2, ... counted per type over the entries of this list (a block's: linear1_2) */
        for (int i = 0; i < cc->pos; i++) {
            dlx_spec_node *ty = dlx_spec_get(cc->list->items[i], "type");
            k += ty && ty->scalar && strcmp(ty->scalar, type) == 0;
        }
        snprintf(base, sizeof base, "%s%d", type, k);
        while (!cc->suffix[0] && find_layer(b, base)) /* a user name took it */
            snprintf(base, sizeof base, "%s%d", type, ++k);
    }
    if (strlen(base) + strlen(cc->suffix) > DLX_LAYER_NAME_MAX)
        return dlx_err_setf(err, DLX_EINVAL, e->loc, "%s: the layer name '%s%s' is longer than %d characters",
                            e->path, base, cc->suffix, DLX_LAYER_NAME_MAX);
    size_t nb = strlen(base); /* both fit: checked above */
    memcpy(c.name, base, nb);
    memcpy(c.name + nb, cc->suffix, strlen(cc->suffix) + 1);
    if (find_layer(b, c.name))
        return dlx_err_setf(err, DLX_EINVAL, (nv ? nv : e)->loc, "%s: a layer named '%s' already exists", e->path,
                            c.name);
    const char *share;
    rc = dlx_spec_str(e, "share", false, NULL, &share, err);
    if (rc)
        return rc;
    char shared[DLX_NAME_MAX * 2] = ""; /* a repeat block's share: true: the first copy's layer */
    if (!share && cc->share_suffix) {
        snprintf(shared, sizeof shared, "%s%s", base, cc->share_suffix);
        share = shared;
    }
    snprintf(c.param_name, sizeof c.param_name, "%s", share ? share : c.name);
    rc = resolve_inputs(b, cc, e, t, &c, err);
    if (rc)
        return rc;

    dlx_node *node = NULL;
    int before = b->params->n;
    rc = t->build(&c, &node, err);
    if (rc)
        return rc;
    if (share && b->params->n - before > c.n_own) {
        /* every parameter of a shared layer must already exist (but those it
         * declares under its own name: a transposed tied weight's bias) */
        dlx_spec_node *v = sv ? sv : e;
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

static const dlx_key_doc k_repeat_keys[] = {
    {"repeat", "integer", "required", "0 to 64", "copies of the block"},
    {"layers", "list of layers", "required", "not empty", "the layers to copy; inputs: resolve within a copy first"},
    {"share", "bool", "false", "", "copies 2..N use copy 1's parameters"},
    {NULL},
};

static bool is_repeat(const dlx_spec_node *e)
{
    return e->kind == DLX_SPEC_MAP && dlx_spec_get(e, "repeat");
}

/* {repeat: N, layers: [...], share: bool}: N copies of the block. */
static int read_repeat(dlx_spec_node *e, int64_t *n, bool *share, dlx_spec_node **body, dlx_err *err)
{
    int rc = dlx_spec_check_doc(e, "a repeat block", k_repeat_keys, err);
    if (!rc) rc = dlx_spec_int(e, "repeat", true, 1, 0, MAX_REPEAT, n, err);
    if (!rc) rc = dlx_spec_bool(e, "share", false, false, share, err);
    if (rc)
        return rc;
    *body = dlx_spec_get(e, "layers");
    if (!*body)
        return dlx_err_setf(err, DLX_EINVAL, e->loc,
                            "%s: a repeat block needs layers: [...], the layers to copy 'repeat' times", e->path);
    rc = dlx_spec_expect_seq(*body, "a repeat block's layers", err);
    if (!rc && (*body)->n == 0)
        rc = dlx_err_setf(err, DLX_EINVAL, (*body)->loc, "%s: the repeat block's layers list is empty",
                          (*body)->path);
    return rc;
}

/* The layers `list` stands for once its repeat blocks are expanded. */
static int count_layers(dlx_spec_node *list, int depth, int64_t *total, dlx_err *err)
{
    *total = 0;
    if (depth > MAX_NESTING)
        return dlx_err_setf(err, DLX_EINVAL, list->loc, "%s: repeat blocks nested more than %d deep", list->path,
                            MAX_NESTING);
    for (int i = 0; i < list->n; i++) {
        dlx_spec_node *e = list->items[i], *body;
        int64_t n = 1, inner = 1;
        bool share;
        int rc = is_repeat(e) ? read_repeat(e, &n, &share, &body, err) : 0;
        if (!rc && is_repeat(e)) rc = count_layers(body, depth + 1, &inner, err);
        if (rc)
            return rc;
        *total += n * inner;
        if (*total > MAX_LAYERS)
            return dlx_err_setf(err, DLX_EINVAL, e->loc, "%s: too many layers once repeat blocks are expanded (at "
                                "most %d)", list->path, MAX_LAYERS);
    }
    return 0;
}

/* Build `list` in the copy cc names (suffix "" at the top). */
static int build_list(build_ctx *b, dlx_spec_node *list, const char *suffix, const char *share_suffix,
                      dlx_err *err)
{
    int rc = 0;
    for (int i = 0; i < list->n && !rc; i++) {
        dlx_spec_node *e = list->items[i], *body;
        if (!is_repeat(e)) {
            copy_ctx cc = {.suffix = suffix, .share_suffix = share_suffix, .list = list, .pos = i};
            rc = build_one(b, e, &cc, err);
            continue;
        }
        int64_t n;
        bool share;
        rc = read_repeat(e, &n, &share, &body, err);
        for (int64_t k = 1; !rc && k <= n; k++) {
            char sfx[DLX_NAME_MAX], ssfx[DLX_NAME_MAX];
            snprintf(sfx, sizeof sfx, "_%lld%s", (long long)k, suffix);
            /* copy k shares copy 1's parameters; inside a shared outer copy, the same copy of the first */
            if (share && k > 1)
                snprintf(ssfx, sizeof ssfx, "_1%s", share_suffix ? share_suffix : suffix);
            else if (share_suffix)
                snprintf(ssfx, sizeof ssfx, "_%lld%s", (long long)k, share_suffix);
            rc = build_list(b, body, sfx, (share && k > 1) || share_suffix ? ssfx : NULL, err);
        }
    }
    return rc;
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
    int64_t total;
    rc = count_layers(layers, 0, &total, err);
    if (rc)
        return rc;
    if (total == 0)
        return dlx_err_setf(err, DLX_EINVAL, layers->loc,
                            "%s: no layers once repeat blocks are expanded (every block has repeat: 0)",
                            layers->path);
    out->info = calloc((size_t)total, sizeof *out->info);
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
    rc = build_list(b, layers, "", NULL, err);
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
