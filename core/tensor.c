#include "tensor.h"

#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool dlx_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

bool dlx_add_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

bool dlx_bytes(int64_t count, size_t elem_size, size_t *out)
{
    size_t r;
    if (count < 0 || (uint64_t)count > SIZE_MAX || __builtin_mul_overflow((size_t)count, elem_size, &r))
        return false;
    *out = r;
    return true;
}

void dlx_fault_in(float *p, int64_t n)
{
    /* a volatile store: GCC would drop a plain one to memory known zero;
     * one every 4 KiB from p, and the last float, whose page the stride
     * misses when p does not start a page */
    for (int64_t i = 0; i < n; i += 1024)
        ((volatile float *)p)[i] = 0.0f;
    if (n > 0)
        ((volatile float *)p)[n - 1] = 0.0f;
}

float *dlx_zeroed_floats(int64_t n)
{
    size_t bytes;
    if (!dlx_bytes(n > 0 ? n : 1, sizeof(float), &bytes))
        return NULL;
    float *p = calloc(1, bytes);
    if (p)
        dlx_fault_in(p, n);
    return p;
}

size_t dlx_add_size_sat(size_t a, size_t b)
{
    size_t r;
    return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

dlx_shape dlx_shape_make(int ndim, const int64_t *dims)
{
    dlx_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = ndim;
    for (int i = 0; i < ndim && i < DLX_MAX_DIM; i++)
        s.d[i] = dims[i];
    return s;
}

dlx_shape dlx_shape_1d(int64_t a) { return dlx_shape_make(1, (int64_t[]){a}); }
dlx_shape dlx_shape_2d(int64_t a, int64_t b) { return dlx_shape_make(2, (int64_t[]){a, b}); }
dlx_shape dlx_shape_4d(int64_t n, int64_t c, int64_t h, int64_t w)
{
    return dlx_shape_make(4, (int64_t[]){n, c, h, w});
}

int64_t dlx_shape_numel(const dlx_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->d[i];
    return n;
}

int64_t dlx_shape_numel_checked(const dlx_shape *s)
{
    if (s->ndim < 0 || s->ndim > DLX_MAX_DIM)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        if (s->d[i] < 0 || !dlx_mul_i64(n, s->d[i], &n) || n > DLX_NUMEL_MAX)
            return -1;
    return n;
}

bool dlx_shape_eq(const dlx_shape *a, const dlx_shape *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i])
            return false;
    return true;
}

char *dlx_shape_str(const dlx_shape *s, char *buf, size_t n)
{
    size_t used = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, n - used, "[");
    for (int i = 0; i < s->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

dlx_tensor dlx_tensor_view(dlx_shape s, float *data, float *grad)
{
    dlx_tensor t = {.shape = s, .numel = dlx_shape_numel(&s), .data = data, .grad = grad};
    return t;
}
