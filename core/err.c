#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dlx_err_setf(dlx_err *err, int code, dlx_loc loc, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    snprintf(err->file, sizeof err->file, "%s", loc.file ? loc.file : "");
    err->line = loc.line;
    err->col = loc.col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void dlx_err_prefix(dlx_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* pre + ": " + old, cut to fit */
    size_t lp = strlen(pre), cap = sizeof err->msg - 1;
    if (lp > cap)
        lp = cap;
    memcpy(err->msg, pre, lp);
    size_t at = lp;
    for (const char *s = ": "; *s && at < cap; s++)
        err->msg[at++] = *s;
    size_t lo = strlen(old);
    if (lo > cap - at)
        lo = cap - at;
    memcpy(err->msg + at, old, lo);
    err->msg[at + lo] = '\0';
}

void dlx_err_clear(dlx_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

void dlx_err_format(const dlx_err *err, char *buf, size_t n)
{
    if (err->file[0] && err->line > 0 && err->col > 0)
        snprintf(buf, n, "%s:%d:%d: error: %s", err->file, err->line, err->col, err->msg);
    else if (err->file[0] && err->line > 0)
        snprintf(buf, n, "%s:%d: error: %s", err->file, err->line, err->msg);
    else if (err->file[0])
        snprintf(buf, n, "%s: error: %s", err->file, err->msg);
    else
        snprintf(buf, n, "error: %s", err->msg);
}

int dlx_err_exit_status(int code)
{
    if (code == DLX_OK)
        return 0;
    return code == DLX_EINVAL ? 2 : 1;
}

const char *dlx_err_code_name(int code)
{
    switch (code) {
    case DLX_OK: return "ok";
    case DLX_EINVAL: return "invalid";
    case DLX_EIO: return "i/o";
    case DLX_EFORMAT: return "format";
    case DLX_ENOMEM: return "memory";
    case DLX_ENUM: return "numeric";
    case DLX_EINTR: return "interrupted";
    default: return "unknown";
    }
}

void dlx_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "dlx: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
