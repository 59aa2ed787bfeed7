/* Tests for core/rundir.c: the one-writer lock, path limits that refuse
 * rather than cut, and the names that become path components; and for
 * train/replace.c: what counts as a run that must not be overwritten. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/rundir.h"
#include "../core/spec.h"
#include "../train/replace.h"
#include "tmpdir.h"

static char g_dir[64];

static void tmp_setup(void) { tmpdir_make(g_dir, sizeof g_dir, "dlx_test_rundir"); }
static void tmp_teardown(void) { tmpdir_remove(g_dir); }

START_TEST(lock_is_exclusive_and_released)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/a/b", g_dir);
    dlx_err err;
    int fd1, fd2;
    ck_assert_int_eq(dlx_rundir_lock(dir, &fd1, &err), 0); /* creates a/b */
    ck_assert_int_ge(fd1, 0);
    /* a second open file description conflicts, even in this process */
    ck_assert_int_eq(dlx_rundir_lock(dir, &fd2, &err), DLX_EIO);
    ck_assert_int_eq(fd2, -1);
    char want[300];
    snprintf(want, sizeof want, "%s is in use by another dlx (pid %ld); wait for it or choose another --out", dir,
             (long)getpid());
    ck_assert_str_eq(err.msg, want);
    dlx_lock_release(&fd1);
    ck_assert_int_eq(fd1, -1);
    ck_assert_int_eq(dlx_rundir_lock(dir, &fd2, &err), 0);
    dlx_lock_release(&fd2);
    dlx_lock_release(&fd2); /* twice is harmless */
}
END_TEST

START_TEST(paths_refused_not_cut)
{
    dlx_err err;
    char longp[600];
    memset(longp, 'x', sizeof longp);
    longp[512] = '\0';
    ck_assert_int_eq(dlx_rundir_check(longp, "--out", DLX_RUNDIR_MAX, &err), DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "--out: the path is 512 characters long; the limit is 511"));
    for (int i = 100; i < 511; i += 101)
        longp[i] = '/';
    longp[511] = '\0';
    ck_assert_int_eq(dlx_rundir_check(longp, "--out", DLX_RUNDIR_MAX, &err), 0);
    memset(longp, 'y', 300);
    longp[256] = '/';
    longp[300] = '\0';
    ck_assert_int_eq(dlx_rundir_check(longp, "--out", DLX_RUNDIR_MAX, &err), DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "a part of the path is 256 characters long; the limit is 255"));
    ck_assert_int_eq(dlx_rundir_check("", "--out", DLX_RUNDIR_MAX, &err), DLX_EINVAL);
    char buf[17];
    ck_assert_int_eq(dlx_path_join(buf, sizeof buf, "runs/x", "spec.yaml", &err), 0);
    ck_assert_str_eq(buf, "runs/x/spec.yaml");
    ck_assert_int_eq(dlx_path_join(buf, sizeof buf, "runs/x", "checkpoint.h5", &err), DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "20 characters long; the limit is 16"));
}
END_TEST

/* The message for `name: <value>` of a one-key spec, "" when accepted. */
static const char *name_msg(const char *value, size_t max, dlx_err *err)
{
    char text[256];
    snprintf(text, sizeof text, "name: %s\n", value);
    dlx_spec *s;
    ck_assert_int_eq(dlx_spec_load_string(text, "t.yaml", &s, err), 0);
    int rc = dlx_name_check(dlx_spec_get(dlx_spec_root(s), "name"), "layer name", max, "why", err);
    dlx_spec_destroy(s);
    if (!rc)
        err->msg[0] = '\0';
    else
        ck_assert_int_eq(rc, DLX_EINVAL);
    return err->msg;
}

START_TEST(names_that_become_paths)
{
    dlx_err err;
    ck_assert_str_eq(name_msg("conv1", 88, &err), "");
    ck_assert_str_eq(name_msg("a.b-c_d e", 88, &err), ""); /* dots inside are fine */
    ck_assert_str_eq(name_msg("/h", 88, &err), "name: a layer name cannot contain '/' (why), got '/h'");
    ck_assert_int_eq(err.line, 1);
    ck_assert_int_eq(err.col, 7);
    ck_assert_str_eq(name_msg("a/b", 88, &err), "name: a layer name cannot contain '/' (why), got 'a/b'");
    ck_assert_str_eq(name_msg("..", 88, &err), "name: a layer name cannot be '.' or '..' (why), got '..'");
    ck_assert_str_eq(name_msg("'.'", 88, &err), "name: a layer name cannot be '.' or '..' (why), got '.'");
    ck_assert_str_eq(name_msg("''", 88, &err), "name: a layer name cannot be empty (why), got ''");
    ck_assert_str_eq(name_msg("\"a\\x01b\"", 88, &err),
                     "name: a layer name cannot contain control characters (why); character 2 is 0x01");
    ck_assert_str_eq(name_msg("abcd", 3, &err), "name: the layer name is 4 characters long; the limit is 3");
    ck_assert_str_eq(name_msg("abc", 3, &err), "");
}
END_TEST

static void touch(const char *dir, const char *name, const char *text)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A directory holds a run when it has checkpoint.h5 or metrics.h5; anything
 * else (notes, pictures) is no run. A checkpoint that does not load still
 * counts (it is described, not an error); --force's discard removes both. */
START_TEST(what_a_run_directory_holds)
{
    dlx_err err;
    bool holds = true;
    char what[256];
    touch(g_dir, "notes.txt", "mine");
    touch(g_dir, "samples.png", "x");
    ck_assert_int_eq(dlx_run_describe(g_dir, &holds, what, sizeof what, &err), 0);
    ck_assert(!holds);
    ck_assert_int_eq(dlx_run_refuse_replace(g_dir, "ways", &err), 0);
    touch(g_dir, "metrics.h5", "not really hdf5");
    ck_assert_int_eq(dlx_run_describe(g_dir, &holds, what, sizeof what, &err), 0);
    ck_assert(holds);
    ck_assert_str_eq(what, "metrics.h5, no checkpoint");
    touch(g_dir, "checkpoint.h5", "not hdf5 either");
    ck_assert_int_eq(dlx_run_refuse_replace(g_dir, "use --force", &err), DLX_EINVAL);
    char want[300];
    snprintf(want, sizeof want, "%s already holds a run (a checkpoint.h5 that does not load, and metrics.h5); use --force",
             g_dir);
    ck_assert_str_eq(err.msg, want);
    int64_t epochs, step;
    ck_assert_int_eq(dlx_run_checkpoint_epochs(g_dir, &epochs, &step, &err), DLX_EFORMAT);
    ck_assert_int_eq(dlx_run_discard(g_dir, &err), 0);
    ck_assert_int_eq(dlx_run_describe(g_dir, &holds, what, sizeof what, &err), 0);
    ck_assert(!holds);
    ck_assert_int_eq(dlx_run_discard(g_dir, &err), 0); /* nothing to remove is fine */
    char path[160];
    snprintf(path, sizeof path, "%s/notes.txt", g_dir);
    ck_assert_int_eq(access(path, F_OK), 0); /* the user's files stay */
    ck_assert_int_eq(dlx_run_checkpoint_epochs(g_dir, &epochs, &step, &err), DLX_EINVAL);
    snprintf(want, sizeof want, "%s has no checkpoint.h5 to continue", g_dir);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

Suite *rundir_suite(void)
{
    Suite *s = suite_create("rundir");
    TCase *tc = tcase_create("rundir");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, lock_is_exclusive_and_released);
    tcase_add_test(tc, paths_refused_not_cut);
    tcase_add_test(tc, names_that_become_paths);
    tcase_add_test(tc, what_a_run_directory_holds);
    suite_add_tcase(s, tc);
    return s;
}
