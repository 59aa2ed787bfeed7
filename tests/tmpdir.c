/* A fresh temporary directory per unit test: tmpdir.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tmpdir.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void tmpdir_make(char *dir, size_t size, const char *prefix)
{
    int n = snprintf(dir, size, "/tmp/%s.XXXXXX", prefix);
    ck_assert_msg(n > 0 && (size_t)n < size, "tmpdir_make: prefix '%s' too long", prefix);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "tmpdir_remove: could not remove %s\n", path);
    return 0; /* go on with the rest */
}

void tmpdir_remove(const char *dir)
{
    if (dir[0])
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); /* children first, links not followed */
}

const char *tmpdir_path(const char *dir, const char *name)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}
