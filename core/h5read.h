/* Bounded reading of HDF5 files that anyone may have written.
 *
 * Every HDF5 reader of dlx (checkpoints, metrics, sweep tables, sparse-coding
 * results and codes, `dlx inspect`) reads through this layer, so what a file
 * claims is checked against what the caller expects before any buffer is
 * sized or filled:
 *   - ranks up to H5S_MAX_RANK, element counts as overflow-checked products;
 *   - the element class (integer, float, string) and a size real numbers have;
 *   - attributes and scalar datasets hold exactly one element (an attribute
 *     that is an array of 1,000 ints is an error, not a stack overflow);
 *   - strings up to a length the caller gives;
 *   - an array read into a caller's buffer has exactly the caller's shape; one
 *     allocated here has at most the caller's element limit, and no more than
 *     the file holds: unfiltered data must be stored in the file (a 118 KB file
 *     cannot claim 2^26 rows), compressed data at most 1100 times its stored
 *     size (deflate's ratio is below 1032);
 *   - only data stored in the file itself is read: soft and external links,
 *     external raw-data files,
 *     virtual datasets and filters other than deflate, shuffle and Fletcher-32
 *     (which could load a plugin) are refused;
 *   - a Fletcher-32 checksum that does not match is reported as such.
 * Every error is DLX_EFORMAT (DLX_ENOMEM when an allocation fails) located at
 * the file and naming the object: "/params/fc1.weight has shape [500, 784] but
 * the model expects [1000, 784]".
 *
 * HDF5 itself (1.10) is not instrumented by our fuzzing and has known bugs on
 * corrupt metadata; this layer bounds what dlx does with what HDF5 returns.
 */
#ifndef DLX_H5READ_H
#define DLX_H5READ_H

#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* An open file: path is borrowed (for messages) and must outlive the reader.
 * broken is set by the first HDF5 call on the file that fails: HDF5 1.10 can
 * keep a half-read object header in its cache then, on which a later call
 * succeeds and crashes (tests/fuzz/regress/figure/), so from then on every
 * query answers "unreadable" and every read is refused without touching HDF5. */
typedef struct dlx_h5r {
    hid_t f;
    const char *path;
    bool broken;
    char why[160]; /* HDF5's reason for that first failure */
} dlx_h5r;

/* What a dataset or attribute declares, checked for sanity (rank, overflow). */
typedef struct dlx_h5r_info {
    int ndim;                     /* 0 for a scalar */
    int64_t dims[H5S_MAX_RANK];
    int64_t numel;                /* product of dims (1 for a scalar) */
    H5T_class_t cls;              /* H5T_INTEGER, H5T_FLOAT, H5T_STRING, ... */
    size_t type_size;             /* bytes per element in the file */
    bool is_signed;               /* integers */
    bool vlen_str;                /* a variable-length string */
} dlx_h5r_info;

/* Open a file for reading. Missing or unreadable: DLX_EIO; not a regular file
 * (a FIFO, a directory, a device): DLX_EINVAL, without blocking on it; not
 * HDF5, truncated, or a file HDF5 crashes on (dlx_h5r_probe): DLX_EFORMAT.
 * HDF5's advisory lock is not taken. */
int dlx_h5r_open(dlx_h5r *r, const char *path, dlx_err *err);
/* The same without the probe, for a file this process has just written
 * itself (the metrics copy a flush appends to). */
int dlx_h5r_open_own(dlx_h5r *r, const char *path, dlx_err *err);
/* HDF5 1.10 crashes or loops on some corrupt metadata (tests/fuzz/hdf5_bugs/),
 * which dlx cannot fix: a child process first reads everything a reader could
 * touch (links, object headers, attributes, layouts, data up to 256 MiB per
 * dataset), within 10 s plus 1 s per 64 MiB; if it dies, the file is refused
 * with DLX_EFORMAT ("HDF5 crashed (signal 11, ...) reading it: the file is
 * corrupt") instead of the crash reaching dlx. It first checks, as every
 * open does, that path is a regular file (dlx_infile_stat_regular). 0 when the
 * child ends well; DLX_EIO when no process can be started. */
int dlx_h5r_probe(const char *path, dlx_err *err);
/* On by default. Off only where a crash inside HDF5 is itself what is being
 * looked for: the fuzz harnesses, which fuzz dlx's readers at full speed
 * (no probe, variable-length strings read in-process) and sort their crash
 * inputs afterwards by replaying them with it on (tests/fuzz/probe.c). */
void dlx_h5r_set_probe(bool on);
/* One variable-length string of obj (an attribute when attr) in memory type
 * mtype, read in a forked child that sends it back through a pipe: such
 * strings live in HDF5's global heap, whose corrupt entries crash HDF5 1.10
 * in ways that depend on what the process read before (no probe can foresee
 * them), and the child inherits this process's very state. *out malloc'd,
 * at most max_len bytes; what names the object in messages. */
int dlx_h5r_read_vlen_str(const dlx_h5r *r, hid_t obj, bool attr, hid_t mtype, size_t max_len, const char *what,
                          char **out, dlx_err *err);
void dlx_h5r_close(dlx_h5r *r);

/* File access properties every dlx reader and writer uses: no HDF5 advisory
 * lock, strong close. -1 on failure. */
hid_t dlx_h5r_fapl(void);
/* HDF5's innermost error message, read right after a failing call (the next
 * API call clears it); empty when HDF5 recorded nothing. */
const char *dlx_h5r_reason(char buf[160]);

/* True if every link of the absolute path obj exists, whether or not the
 * object it names is readable: what optional objects are tested with, so that
 * a corrupt one is an error rather than "absent". Soft and external links are
 * never followed: a path through one exists, and reading it is an error. */
bool dlx_h5r_exists(const dlx_h5r *r, const char *obj);
/* True if obj (an absolute path) is a dataset / a group; false when any part
 * of the path is missing, unreadable or something else. */
bool dlx_h5r_is_dataset(const dlx_h5r *r, const char *obj);
bool dlx_h5r_is_group(const dlx_h5r *r, const char *obj);
/* True if the object obj ("/" for the root) has an attribute `name`, or if
 * obj or its attributes cannot be read (or the reader is already broken), so
 * that reading the attribute reports the corrupt file; false when obj does
 * not exist. */
bool dlx_h5r_has_attr(const dlx_h5r *r, const char *obj, const char *name);

/* The names of the members of group (hard links only, sorted by strcmp):
 * at most max, each shorter than DLX_H5R_NAME_MAX bytes, else DLX_EFORMAT.
 * Every reader lists a group through this. */
#define DLX_H5R_NAME_MAX 128
int dlx_h5r_list(const dlx_h5r *r, const char *group, int max, char (*names)[DLX_H5R_NAME_MAX], int *n,
                 dlx_err *err);

/* The declared shape and type of a dataset; a missing one is DLX_EFORMAT
 * ("no <obj> dataset"). */
int dlx_h5r_info_of(const dlx_h5r *r, const char *obj, dlx_h5r_info *info, dlx_err *err);

/* Read a numeric dataset of class cls (H5T_INTEGER or H5T_FLOAT) and exactly
 * the shape (ndim, dims) into buf, converted to mtype (e.g. H5T_NATIVE_FLOAT).
 * ndim 0 is a scalar; a one-element array of rank 1 also reads as a scalar. */
int dlx_h5r_read_exact(const dlx_h5r *r, const char *obj, H5T_class_t cls, hid_t mtype, int ndim,
                       const int64_t *dims, void *buf, dlx_err *err);

/* Read a numeric dataset of at most max_elems elements into a malloc'd buffer
 * of elements of mtype (*out NULL when it is empty); info gets its shape. */
int dlx_h5r_read_alloc(const dlx_h5r *r, const char *obj, H5T_class_t cls, hid_t mtype,
                       int64_t max_elems, void **out, dlx_h5r_info *info, dlx_err *err);

/* One integer / one number (a scalar or a one-element array). */
int dlx_h5r_read_i64(const dlx_h5r *r, const char *obj, int64_t *out, dlx_err *err);
int dlx_h5r_read_f64(const dlx_h5r *r, const char *obj, double *out, dlx_err *err);

/* A one-element string dataset, fixed or variable length, of at most max_len
 * bytes, as malloc'd NUL-terminated text (trailing space padding removed). */
int dlx_h5r_read_string(const dlx_h5r *r, const char *obj, size_t max_len, char **out, dlx_err *err);

/* Attributes of the object obj ("/" for the root): exactly one element each. */
int dlx_h5r_attr_i64(const dlx_h5r *r, const char *obj, const char *name, int64_t *out, dlx_err *err);
int dlx_h5r_attr_f64(const dlx_h5r *r, const char *obj, const char *name, double *out, dlx_err *err);
int dlx_h5r_attr_string(const dlx_h5r *r, const char *obj, const char *name, size_t max_len, char **out,
                        dlx_err *err);

/* The same readers on an already open object (a dataset or group id), for
 * walks that hold one; what names the object in messages. */
int dlx_h5r_read_dataset_alloc(const dlx_h5r *r, hid_t d, const char *what, H5T_class_t cls, hid_t mtype,
                               int64_t max_elems, void **out, dlx_h5r_info *info, dlx_err *err);
int dlx_h5r_dataset_info(const dlx_h5r *r, hid_t d, const char *what, dlx_h5r_info *info, dlx_err *err);

#endif
