/* The helpers test_h5io.c and test_h5io_metrics.c share: see h5io_fixture.h. */
#include "h5io_fixture.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256];

void h5io_setup(void)
{
    dlx_h5_quiet();
    snprintf(g_dir, sizeof g_dir, "/tmp/dlx_h5io_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

void h5io_teardown(void)
{
    DIR *d = opendir(g_dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(g_dir);
}

const char *h5io_dir(void)
{
    return g_dir;
}

const char *h5io_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
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
