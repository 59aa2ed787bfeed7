/* dlx eval CHECKPOINT [--data NAME:SPLIT] [--json] */
#include <stdio.h>
#include <string.h>

#include "../models/family.h"
#include "cli.h"

int cmd_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *data = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strncmp(argv[i], "--data=", 7) == 0)
            data = argv[i] + 7;
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-')
            return cli_usage_error("eval", "unknown or incomplete option '%s'", argv[i]);
        else if (!ckpt)
            ckpt = argv[i];
        else
            return cli_usage_error("eval", "more than one checkpoint given");
    }
    if (!ckpt)
        return cli_usage_error("eval", "missing CHECKPOINT (e.g. runs/lenet5/checkpoint.h5)");
    dlx_err err;
    dlx_err_clear(&err);
    dlx_model *m;
    if (cli_input_file_ok(ckpt, "checkpoint", &err) || dlx_model_from_checkpoint(ckpt, NULL, &m, &err))
        return cli_fail(&err);
    dlx_results res;
    int rc = m->family->evaluate(m, data, &res, &err);
    if (rc)
        rc = cli_fail(&err);
    else
        cli_print_results(&res, json);
    dlx_model_destroy(m);
    return rc;
}
