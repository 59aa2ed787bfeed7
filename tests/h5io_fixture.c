/* The helpers test_h5io.c and test_h5io_metrics.c share: see h5io_fixture.h. */
#include "h5io_fixture.h"
#include "tmpdir.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256];

void h5io_setup(void)
{
    dlx_h5_quiet();
    tmpdir_make(g_dir, sizeof g_dir, "dlx_h5io");
}

void h5io_teardown(void)
{
    tmpdir_remove(g_dir);
}

const char *h5io_dir(void)
{
    return g_dir;
}

const char *h5io_path(const char *name)
{
    return tmpdir_path(g_dir, name);
}

int h5io_seen_cb(const dlx_h5_entry *e, void *user)
{
    h5io_seen *s = user;
    ck_assert_int_lt(s->n, 16);
    snprintf(s->path[s->n], sizeof s->path[s->n], "%s", e->path);
    s->ndim[s->n] = e->ndim;
    for (int i = 0; i < e->ndim && i < 4; i++)
        s->dims[s->n][i] = e->dims[i];
    snprintf(s->type[s->n], sizeof s->type[s->n], "%s", e->type);
    if (strcmp(e->path, "/params/fc.weight") == 0)
        s->fc = *e;
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 77 : 0;
}
