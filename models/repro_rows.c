/* Row names and labels of a reproduce results.h5 for the families' figures. */
#include "repro_rows.h"

#include <stdlib.h>
#include <string.h>

int dlx_repro_rows_list(const dlx_h5r *r, const char *group, dlx_repro_names *l, dlx_err *err)
{
    l->n = 0;
    l->names = malloc(DLX_REPRO_ROWS_LINKS * sizeof *l->names);
    if (!l->names)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    int rc = dlx_h5r_list(r, group, DLX_REPRO_ROWS_LINKS, l->names, &l->n, err);
    for (int i = 0; i < l->n && !rc; i++)
        if (strlen(l->names[i]) >= 64)
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "%s holds a name of 64 or more characters",
                              group);
    if (l->n > DLX_REPRO_ROWS_MAX)
        l->n = DLX_REPRO_ROWS_MAX;
    return rc;
}

int dlx_repro_rows_label(const dlx_h5r *r, const char *obj, const char *name, char *out, size_t n, dlx_err *err)
{
    out[0] = '\0';
    if (!dlx_h5r_has_attr(r, obj, name))
        return 0;
    char *s;
    int rc = dlx_h5r_attr_string(r, obj, name, 4096, &s, err); /* shown cut to n - 1 */
    if (rc)
        return rc;
    for (char *c = s; *c; c++)
        if (*c == '\'' || *c == '"' || *c == '\\' || (unsigned char)*c < 32)
            *c = '_';
    snprintf(out, n, "%s", s);
    free(s);
    return 0;
}
