/* dlx error reporting.
 *
 * Library code (core/, models/) never prints or exits: every function that can
 * fail returns 0 on success or a negative DLX_E* code and fills a dlx_err with a
 * located message. Only cli/ turns an error into text and an exit status:
 * DLX_EINVAL (bad usage or bad spec) exits 2, everything else exits 1.
 */
#ifndef DLX_ERR_H
#define DLX_ERR_H

#include <stddef.h>

enum {
    DLX_OK = 0,
    DLX_EINVAL = -1,  /* bad spec, bad argument, shapes that do not fit: exit 2 */
    DLX_EIO = -2,     /* file missing, unreadable, unwritable: exit 1 */
    DLX_EFORMAT = -3, /* file present but corrupt, truncated or foreign: exit 1 */
    DLX_ENOMEM = -4,  /* allocation failed or over the memory limit: exit 1 */
    DLX_ENUM = -5,    /* NaN/Inf in a loss or a parameter: exit 1 */
    DLX_EINTR = -6,   /* interrupted by a signal: exit 1 */
};

/* Where something is: file, 1-based line and column; 0 means unknown. */
typedef struct dlx_loc {
    const char *file;
    int line, col;
} dlx_loc;

#define DLX_NOLOC ((dlx_loc){NULL, 0, 0})
#define DLX_FILELOC(path) ((dlx_loc){(path), 0, 0})

/* The error itself owns copies of the strings, so it outlives the spec/file. */
typedef struct dlx_err {
    int code;
    char file[256];
    int line, col;
    char msg[768];
} dlx_err;

/* Fill err (may be NULL) and return code, so callers can `return dlx_err_setf(...)`. */
int dlx_err_setf(dlx_err *err, int code, dlx_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix the current message with "context: " (e.g. the layer being built). */
void dlx_err_prefix(dlx_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void dlx_err_clear(dlx_err *err);

/* "file:line:col: error: msg" (parts that are unknown are left out). */
void dlx_err_format(const dlx_err *err, char *buf, size_t n);

/* 2 for DLX_EINVAL, 1 for any other failure, 0 for DLX_OK. */
int dlx_err_exit_status(int code);

const char *dlx_err_code_name(int code);

/* Programmer invariants only: on in release builds, never used for user input. */
void dlx_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define DLX_ASSERT(c) ((c) ? (void)0 : dlx_assert_fail(#c, __FILE__, __LINE__))

#endif
