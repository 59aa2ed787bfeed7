#include "params.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

void dlx_params_init(dlx_params *p) { memset(p, 0, sizeof *p); }

void dlx_params_free(dlx_params *p)
{
    free(p->items);
    free(p->values);
    free(p->grads);
    free(p->buffer_values);
    for (int i = 0; i < p->n_buffers; i++)
        free(p->buffers[i].init_data);
    memset(p, 0, sizeof *p);
}

int dlx_params_find(const dlx_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return i;
    return -1;
}

int dlx_params_group_find(const dlx_params *p, const char *name)
{
    if (!name[0])
        return 0;
    for (int i = 1; i < p->n_groups; i++)
        if (strcmp(p->group_name[i], name) == 0)
            return i;
    return -1;
}

int dlx_params_begin_group(dlx_params *p, const char *name, dlx_err *err)
{
    DLX_ASSERT(!p->final);
    if (p->n_groups == 0)
        p->n_groups = 1; /* group 0, "" */
    int g = dlx_params_group_find(p, name);
    if (g < 0) {
        if (strlen(name) >= DLX_GROUP_NAME_MAX)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "network name '%s' is longer than %d characters", name,
                                DLX_GROUP_NAME_MAX - 1);
        if (p->n_groups == DLX_GROUPS_MAX)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "more than %d networks", DLX_GROUPS_MAX - 1);
        g = p->n_groups++;
        snprintf(p->group_name[g], sizeof p->group_name[g], "%s", name);
    }
    p->group = g;
    return 0;
}

int dlx_params_declare_buffer(dlx_params *p, const char *name, dlx_shape shape, float init, dlx_err *err)
{
    for (int i = 0; i < p->n_buffers; i++)
        if (strcmp(p->buffers[i].name, name) == 0) {
            char a[64], b[64];
            if (!dlx_shape_eq(&p->buffers[i].t.shape, &shape))
                return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "buffer '%s' has shape %s but is used with shape %s",
                                    name, dlx_shape_str(&p->buffers[i].t.shape, a, sizeof a),
                                    dlx_shape_str(&shape, b, sizeof b));
            return i;
        }
    if (strlen(name) >= DLX_NAME_MAX)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "buffer name '%s' is too long", name);
    if (dlx_shape_numel_checked(&shape) < 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "buffer '%s' has a negative size or more than %s elements",
                            name, DLX_NUMEL_MAX_STR);
    if (p->final)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "buffer '%s' is new, but the parameter store is already finalized", name);
    if (p->n_buffers == DLX_BUFFERS_MAX)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "more than %d buffers", DLX_BUFFERS_MAX);
    dlx_buffer *b = &p->buffers[p->n_buffers];
    snprintf(b->name, sizeof b->name, "%s", name);
    b->t = dlx_tensor_view(shape, NULL, NULL);
    b->init = init;
    return p->n_buffers++;
}

int dlx_params_declare_buffer_data(dlx_params *p, const char *name, dlx_shape shape, const float *data,
                                   bool must_match, dlx_err *err)
{
    int had = p->n_buffers;
    int i = dlx_params_declare_buffer(p, name, shape, 0.0f, err);
    if (i < had) /* an error, or the existing buffer */
        return i;
    dlx_buffer *b = &p->buffers[i];
    size_t bytes = (size_t)b->t.numel * sizeof(float);
    if (!(b->init_data = malloc(bytes ? bytes : 1))) {
        p->n_buffers--;
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for buffer '%s'", name);
    }
    memcpy(b->init_data, data, bytes);
    b->must_match = must_match;
    return i;
}

int dlx_params_check_buffers(const dlx_params *p, const char *where, dlx_err *err)
{
    for (int i = 0; i < p->n_buffers; i++) {
        const dlx_buffer *b = &p->buffers[i];
        if (!b->must_match || !b->init_data || !b->t.data)
            continue;
        for (int64_t j = 0; j < b->t.numel; j++)
            if (b->t.data[j] != b->init_data[j])
                return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(where),
                                    "/buffers/%s[%lld] is %g, but the spec gives %g: the checkpoint was not made "
                                    "with this spec's data", b->name, (long long)j, (double)b->t.data[j],
                                    (double)b->init_data[j]);
    }
    return 0;
}

int dlx_params_declare(dlx_params *p, const char *name, dlx_shape shape, dlx_init init, bool decay,
                       dlx_err *err)
{
    if (strlen(name) >= DLX_NAME_MAX)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "parameter name '%s' is too long", name);
    int found = dlx_params_find(p, name);
    if (found >= 0) {
        dlx_param *q = &p->items[found];
        if (!dlx_shape_eq(&q->t.shape, &shape)) {
            char a[64], b[64];
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                                "parameter '%s' is shared with shape %s but used here with shape %s",
                                name, dlx_shape_str(&q->t.shape, a, sizeof a),
                                dlx_shape_str(&shape, b, sizeof b));
        }
        q->n_uses++;
        return found;
    }
    if (dlx_shape_numel_checked(&shape) < 0) {
        char a[96];
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "parameter '%s': shape %s has a negative size or more than %s elements",
                            name, dlx_shape_str(&shape, a, sizeof a), DLX_NUMEL_MAX_STR);
    }
    if (p->final) /* a second graph over the same store may only reuse parameters */
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "parameter '%s' is new, but the parameter store is already finalized", name);
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        dlx_param *items = realloc(p->items, (size_t)cap * sizeof *items);
        if (!items)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory declaring parameters");
        p->items = items;
        p->cap = cap;
    }
    dlx_param *q = &p->items[p->n];
    memset(q, 0, sizeof *q);
    snprintf(q->name, sizeof q->name, "%s", name);
    q->t = dlx_tensor_view(shape, NULL, NULL);
    q->init = init;
    q->decay = decay;
    q->n_uses = 1;
    q->group = p->group;
    for (int i = 0; i < p->n; i++)
        q->index_in_group += p->items[i].group == p->group;
    return p->n++;
}

int dlx_params_finalize(dlx_params *p, dlx_err *err)
{
    DLX_ASSERT(!p->final);
    int64_t total = 0;
    size_t bytes = 0;
    for (int i = 0; i < p->n; i++)
        if (!dlx_add_i64(total, p->items[i].t.numel, &total) || total > DLX_NUMEL_MAX)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "the parameters have more than %s floats in all",
                                DLX_NUMEL_MAX_STR);
    p->total = total;
    if (!dlx_bytes(total ? total : 1, sizeof(float), &bytes))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "the parameters do not fit in memory");
    p->values = calloc(1, bytes);
    p->grads = dlx_zeroed_floats(total);
    if (!p->values || !p->grads)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "cannot allocate %.1f MiB for parameters",
                            2.0 * (double)bytes / (1024.0 * 1024.0));
    int64_t off = 0;
    for (int i = 0; i < p->n; i++) {
        p->items[i].t.data = p->values + off;
        p->items[i].t.grad = p->grads + off;
        off += p->items[i].t.numel;
    }
    int64_t nb = 0;
    for (int i = 0; i < p->n_buffers; i++)
        nb += p->buffers[i].t.numel; /* each at most DLX_NUMEL_MAX, at most 64 of them */
    if (p->n_buffers && !(p->buffer_values = calloc((size_t)nb, sizeof(float))))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "cannot allocate %.1f MiB for buffers",
                            (double)nb * 4.0 / (1024.0 * 1024.0));
    int64_t o = 0;
    for (int i = 0; i < p->n_buffers; o += p->buffers[i].t.numel, i++)
        p->buffers[i].t.data = p->buffer_values + o;
    p->final = true;
    return 0;
}

/* LAPACK (Fortran) as exported by OpenBLAS. */
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work, const int *lwork,
                    int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau,
                    double *work, const int *lwork, int *info);

/* PyTorch's orthogonal_ over the (rows = dim 0, cols = the rest) view: the
 * QR of a Gaussian matrix (the taller way round), Q's columns signed by R's
 * diagonal, times the gain a; in double, then rounded. */
static int init_orthogonal(dlx_param *q, dlx_rng *r, dlx_err *err)
{
    const int64_t rows = q->t.shape.ndim ? q->t.shape.d[0] : 1, cols = rows ? q->t.numel / rows : 0;
    const int64_t M = rows > cols ? rows : cols, N = rows > cols ? cols : rows;
    if (M > INT_MAX || N > INT_MAX)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "parameter '%s': too large for an orthogonal initialisation", q->name);
    if (N == 0)
        return 0;
    int m = (int)M, n = (int)N, info = 0, lwork = -1;
    double *a = malloc((size_t)M * (size_t)N * sizeof *a), *tau = malloc((size_t)N * sizeof *tau), *sign = malloc((size_t)N * sizeof *sign), wq;
    double *work = NULL;
    int rc = 0;
    if (!a || !tau || !sign) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory initialising '%s'", q->name);
        goto out;
    }
    for (int64_t i = 0; i < M * N; i++) /* column-major M x N */
        a[i] = dlx_rng_normal(r);
    dgeqrf_(&m, &n, a, &m, tau, &wq, &lwork, &info);
    lwork = (int)wq > n ? (int)wq : n;
    if (!(work = malloc((size_t)lwork * sizeof *work))) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory initialising '%s'", q->name);
        goto out;
    }
    dgeqrf_(&m, &n, a, &m, tau, work, &lwork, &info);
    for (int j = 0; j < n; j++)
        sign[j] = a[(size_t)j * M + j] < 0 ? -1.0 : 1.0;
    if (!info) dorgqr_(&m, &n, &n, a, &m, tau, work, &lwork, &info);
    if (info) {
        rc = dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "parameter '%s': the QR of its orthogonal initialisation failed (info %d)",
                          q->name, info);
        goto out;
    }
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) { /* Q is rows x cols, or its transpose is */
            int64_t qi = rows >= cols ? i : j, qj = rows >= cols ? j : i;
            q->t.data[i * cols + j] = (float)((double)q->init.a * a[qj * M + qi] * sign[qj]);
        }
out:
    free(a);
    free(tau);
    free(sign);
    free(work);
    return rc;
}

static void init_identity(dlx_param *q)
{
    const int64_t rows = q->t.shape.ndim ? q->t.shape.d[0] : 1, cols = rows ? q->t.numel / rows : 0;
    memset(q->t.data, 0, (size_t)q->t.numel * sizeof(float));
    for (int64_t i = 0; i < rows && i < cols; i++)
        q->t.data[i * cols + i] = q->init.a;
}

/* Henaff et al. 2016's transition: rotations of the planes (2k, 2k + 1). */
static void init_rotation(dlx_param *q, dlx_rng *r)
{
    const int64_t rows = q->t.shape.ndim ? q->t.shape.d[0] : 1, cols = rows ? q->t.numel / rows : 0;
    float *x = q->t.data;
    memset(x, 0, (size_t)q->t.numel * sizeof(float));
    int64_t k = 0;
    for (; k + 1 < rows && k + 1 < cols; k += 2) {
        double th = M_PI * (2.0 * dlx_rng_uniform(r) - 1.0), c = q->init.a * cos(th), s = q->init.a * sin(th);
        x[k * cols + k] = (float)c, x[k * cols + k + 1] = (float)-s;
        x[(k + 1) * cols + k] = (float)s, x[(k + 1) * cols + k + 1] = (float)c;
    }
    if (k < rows && k < cols)
        x[k * cols + k] = q->init.a;
}

static void init_one(dlx_param *q, dlx_rng *r)
{
    const dlx_init *in = &q->init;
    float *x = q->t.data;
    int64_t n = q->t.numel;
    double fan_in = in->fan_in > 0 ? (double)in->fan_in : 1.0;
    double fan_out = in->fan_out > 0 ? (double)in->fan_out : 1.0;
    double s = 0.0;
    switch (in->kind) {
    case DLX_INIT_ZERO:
        memset(x, 0, (size_t)n * sizeof *x);
        return;
    case DLX_INIT_CONST:
        for (int64_t i = 0; i < n; i++)
            x[i] = in->a;
        return;
    case DLX_INIT_NORMAL:
        for (int64_t i = 0; i < n; i++)
            x[i] = in->a * dlx_rng_normal(r);
        return;
    case DLX_INIT_KAIMING:
        s = sqrt(2.0 / fan_in);
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)s * dlx_rng_normal(r);
        return;
    case DLX_INIT_UNIFORM: s = in->a; break;
    case DLX_INIT_XAVIER: s = sqrt(6.0 / (fan_in + fan_out)); break;
    case DLX_INIT_LECUN: s = sqrt(3.0 / fan_in); break;
    case DLX_INIT_TORCH: s = 1.0 / sqrt(fan_in); break;
    case DLX_INIT_ORTHOGONAL: /* (dlx_params_init_values) */
    case DLX_INIT_IDENTITY:
    case DLX_INIT_ROTATION: return;
    }
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(s * (2.0 * dlx_rng_uniform(r) - 1.0));
}

int dlx_params_init_values(dlx_params *p, uint64_t seed, dlx_err *err)
{
    DLX_ASSERT(p->final);
    for (int i = 0; i < p->n; i++) {
        const dlx_param *q = &p->items[i];
        uint64_t stream = DLX_STREAM_INIT + ((uint64_t)(i + 1) << 8);
        if (q->group > 0) { /* bit 63 and the name's hash: never a group-0 stream */
            uint64_t h = 1469598103934665603ull; /* FNV-1a */
            for (const char *c = p->group_name[q->group]; *c; c++)
                h = (h ^ (unsigned char)*c) * 1099511628211ull;
            stream = DLX_STREAM_INIT + ((uint64_t)(q->index_in_group + 1) << 8) + ((h & 0x7fffffffull) << 32) +
                     (1ull << 63);
        }
        dlx_rng r;
        dlx_rng_init(&r, seed, stream);
        dlx_param *pi = &p->items[i];
        if (pi->init.kind == DLX_INIT_ORTHOGONAL) {
            int rc = init_orthogonal(pi, &r, err);
            if (rc)
                return rc;
        } else if (pi->init.kind == DLX_INIT_IDENTITY) {
            init_identity(pi);
        } else if (pi->init.kind == DLX_INIT_ROTATION) {
            init_rotation(pi, &r);
        } else {
            init_one(pi, &r);
        }
    }
    for (int i = 0; i < p->n_buffers; i++) {
        dlx_buffer *b = &p->buffers[i];
        for (int64_t j = 0; j < b->t.numel; j++)
            b->t.data[j] = b->init_data ? b->init_data[j] : b->init;
    }
    return 0;
}

void dlx_params_zero_grad(dlx_params *p)
{
    if (p->grads)
        memset(p->grads, 0, (size_t)p->total * sizeof(float));
}

bool dlx_params_all_finite(const dlx_params *p, int *bad)
{
    for (int i = 0; i < p->n; i++) {
        const float *x = p->items[i].t.data;
        for (int64_t j = 0; j < p->items[i].t.numel; j++)
            if (!isfinite(x[j])) {
                if (bad)
                    *bad = i;
                return false;
            }
    }
    return true;
}
