#include "arena.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64

size_t dlx_arena_round(size_t bytes) { return (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN; }

int dlx_arena_init(dlx_arena *a, size_t cap, dlx_err *err)
{
    a->cap = dlx_arena_round(cap ? cap : ARENA_ALIGN);
    a->used = 0;
    a->base = aligned_alloc(ARENA_ALIGN, a->cap);
    if (!a->base)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "cannot allocate %.1f MiB for activations",
                            (double)a->cap / (1024.0 * 1024.0));
    memset(a->base, 0, a->cap);
    return 0;
}

void dlx_arena_free(dlx_arena *a)
{
    free(a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

void *dlx_arena_alloc(dlx_arena *a, size_t bytes)
{
    size_t need = dlx_arena_round(bytes);
    if (a->used + need > a->cap)
        return NULL;
    void *p = a->base + a->used;
    a->used += need;
    return p;
}
