/* dlx gradcheck SPEC [--set K=V]... [--eps E] [--coords N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gradcheck.h"
#include "../models/family.h"
#include "cli.h"

int cmd_gradcheck(int argc, char **argv)
{
    const char *spec_path = NULL;
    const char *sets[64];
    int n_sets = 0;
    dlx_gradcheck_opts o = dlx_gradcheck_defaults();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--set") == 0 && i + 1 < argc && n_sets < 64) {
            sets[n_sets++] = argv[++i];
        } else if (strcmp(a, "--eps") == 0 && i + 1 < argc) {
            char *end;
            o.eps = strtod(argv[++i], &end);
            if (*end || !(o.eps > 0 && o.eps < 1))
                return cli_usage_error("gradcheck", "--eps: expected a number in (0, 1), got '%s'", argv[i]);
        } else if (strcmp(a, "--coords") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000000)
                return cli_usage_error("gradcheck", "--coords: expected a positive number, got '%s'", argv[i]);
            o.max_coords = (int)v;
        } else if (a[0] == '-') {
            return cli_usage_error("gradcheck", "unknown or incomplete option '%s'", a);
        } else if (!spec_path) {
            spec_path = a;
        } else {
            return cli_usage_error("gradcheck", "more than one spec given");
        }
    }
    if (!spec_path)
        return cli_usage_error("gradcheck", "missing SPEC");
    dlx_err err;
    dlx_err_clear(&err);
    dlx_spec *spec;
    if (dlx_spec_load_file(spec_path, &spec, &err))
        return cli_fail(&err);
    for (int i = 0; i < n_sets; i++)
        if (dlx_spec_set(spec, sets[i], &err)) {
            dlx_spec_destroy(spec);
            return cli_fail(&err);
        }
    dlx_model *m;
    if (dlx_model_create(spec, "", NULL, &m, &err))
        return cli_fail(&err);
    dlx_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = m->family->gradcheck(m, &o, &rep, &err);
    if (rc) {
        rc = cli_fail(&err);
    } else {
        printf("gradcheck %s: %d coordinates checked, %d failed, max relative error %.3g%s%s\n", spec_path,
               rep.checked, rep.failed, rep.max_rel_err, rep.worst[0] ? " at " : "", rep.worst);
        rc = rep.failed ? 1 : 0;
        printf("%s\n", rc ? "FAILED" : "ok");
    }
    dlx_model_destroy(m);
    return rc;
}
