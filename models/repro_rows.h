/* Reading the rows of a `dlx reproduce` results.h5 (layout in
 * experiments/reproduce.h) for a family's figure: the row names and their
 * text attributes, bounded by core/h5read.h. The file is untrusted: names
 * and labels are checked or cleaned before they reach a gnuplot script. */
#ifndef DLX_REPRO_ROWS_H
#define DLX_REPRO_ROWS_H

#include "../core/h5read.h"

#define DLX_REPRO_ROWS_MAX 64  /* rows a figure draws */
#define DLX_REPRO_ROWS_LINKS 1024 /* members of a group read */

typedef struct dlx_repro_names {
    char (*names)[DLX_H5R_NAME_MAX]; /* malloc'd */
    int n;
} dlx_repro_names;

/* The first DLX_REPRO_ROWS_MAX member names of group, each shorter than 64
 * characters, else DLX_EFORMAT. Free l->names whatever the result. */
int dlx_repro_rows_list(const dlx_h5r *r, const char *group, dlx_repro_names *l, dlx_err *err);

/* An optional string attribute of obj into out (n bytes; longer text is cut for
 * display); quotes, backslashes and control characters become '_'. "" when
 * absent. */
int dlx_repro_rows_label(const dlx_h5r *r, const char *obj, const char *name, char *out, size_t n, dlx_err *err);

#endif
