/* A multiscale clustering of points, for the locally connected networks of
 * Bruna, Zaremba, Szlam & LeCun 2014 (section 2.2): layers over level 0 (the
 * points), pooling into the clusters of the next levels.
 *
 * Level l + 1 pairs the points of level l by a greedy matching on distance:
 * every pair (i, j) in order of increasing distance (ties by i, then j) is
 * matched when neither end is, so all but at most one point are paired and
 * level l + 1 has ceil(n / 2) clusters, each at the mean of its members.
 * Clusters are numbered by their smallest member. A level is known by its
 * point count, which falls strictly from level to level.
 */
#ifndef DLX_GRAPH_LEVELS_H
#define DLX_GRAPH_LEVELS_H

#include "err.h"
#include "graph.h"

#define DLX_LEVELS_MAX 12

typedef struct dlx_levels {
    int n_levels;
    int dim;                      /* of the coordinates: 2 or 3 */
    int n[DLX_LEVELS_MAX];        /* points of each level */
    double *xy[DLX_LEVELS_MAX];   /* their coordinates, dim n each */
    int *parent[DLX_LEVELS_MAX];  /* l >= 1: the level-l cluster of each point of level l - 1 */
} dlx_levels;

/* Levels 0 .. levels - 1 of the points (levels in 1 .. DLX_LEVELS_MAX; a
 * level of one point ends the hierarchy early). */
int dlx_levels_build(const dlx_points *p, int levels, dlx_levels *out, dlx_err *err);
void dlx_levels_free(dlx_levels *lv);
/* The level with n points, or -1. */
int dlx_levels_find(const dlx_levels *lv, int n);
/* The k nearest points of level l to each of its points (itself first,
 * then by distance, ties by index) as floats into nb (n x k); k in 1 .. n. */
int dlx_levels_neighbors(const dlx_levels *lv, int l, int k, float *nb, dlx_err *err);
/* The members at level l of each cluster of level l + up (up >= 1): row j of
 * mem (n[l + up] x *width) lists cluster j's members in increasing order, -1
 * after the last; *width is the largest cluster. mem may be NULL to learn
 * the width. */
int dlx_levels_members(const dlx_levels *lv, int l, int up, float *mem, int *width, dlx_err *err);

#endif
