/* Helpers the h5io tests share (test_h5io.c, test_h5io_metrics.c): a fresh
 * temporary directory per test (a checked fixture) with the paths of files
 * in it, and a dlx_h5_walk callback that records what it visits. */
#ifndef DLX_TEST_H5IO_FIXTURE_H
#define DLX_TEST_H5IO_FIXTURE_H

#include "../core/h5io.h"

/* The checked fixture: quiets HDF5's error stack and makes a fresh
 * /tmp/dlx_h5io_XXXXXX; teardown removes it and the files in it. */
void h5io_setup(void);
void h5io_teardown(void);

/* The test's directory, and "<that directory>/<name>" (one of 4 static
 * buffers, used in turn). */
const char *h5io_dir(void);
const char *h5io_path(const char *name);

/* What h5io_seen_cb records of a walk (16 entries at most). */
typedef struct h5io_seen {
    int n;
    char path[16][64];
    int ndim[16];
    int64_t dims[16][4];
    char type[16][16];
    dlx_h5_entry fc; /* /params/fc.weight */
    int stop_after;
} h5io_seen;

/* dlx_h5_walk's callback: records e in user (an h5io_seen); returns 77 (which
 * stops the walk) once stop_after entries are seen, when stop_after is set. */
int h5io_seen_cb(const dlx_h5_entry *e, void *user);

#endif
