/* One allocation per graph for activations, their gradients and op scratch.
 *
 * Sizes are planned at build time (dlx_arena_plan), then one block is
 * allocated (dlx_arena_commit), so a training step never calls malloc.
 */
#ifndef DLX_ARENA_H
#define DLX_ARENA_H

#include <stddef.h>

#include "err.h"

typedef struct dlx_arena {
    unsigned char *base;
    size_t cap, used;
} dlx_arena;

/* Bytes a request of `bytes` takes once rounded to the arena's 64-byte alignment. */
size_t dlx_arena_round(size_t bytes);

/* Allocate the block, zeroed; returns DLX_ENOMEM with the figure on failure. */
int dlx_arena_init(dlx_arena *a, size_t cap, dlx_err *err);
void dlx_arena_free(dlx_arena *a);

/* 64-byte aligned slice; NULL when full (a planning bug, callers assert). */
void *dlx_arena_alloc(dlx_arena *a, size_t bytes);

#endif
