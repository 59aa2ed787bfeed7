/* A fresh temporary directory for a unit test (make it in a checked
 * fixture's setup, remove it in its teardown), shared by the test files that
 * write files (test_data.c, test_png.c, test_rundir.c, test_sample_score.c,
 * h5io_fixture.c). */
#ifndef DLX_TEST_TMPDIR_H
#define DLX_TEST_TMPDIR_H

#include <stddef.h>

/* dir (size bytes) = a new /tmp/PREFIX.XXXXXX; fails the test if it cannot be made. */
void tmpdir_make(char *dir, size_t size, const char *prefix);
/* Removes dir and everything below it (files, directories, links; links are not followed). */
void tmpdir_remove(const char *dir);
/* "dir/name" in one of 8 static buffers, used in turn. */
const char *tmpdir_path(const char *dir, const char *name);

#endif
