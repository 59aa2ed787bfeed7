/* dlx export CHECKPOINT --onnx OUT.onnx
 *
 * The family's export_onnx callback (models/family.h) writes the model;
 * this file parses the arguments, refuses a checkpoint of a family without
 * one before building the model, and refuses to overwrite a file that is
 * not an ONNX model. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/h5io.h"
#include "../core/onnx.h"
#include "../experiments/registry.h"
#include "cli.h"

typedef struct export_args {
    const char *ckpt, *onnx;
} export_args;

static int parse_args(int argc, char **argv, export_args *a)
{
    *a = (export_args){0};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--onnx") == 0 && i + 1 < argc)
            a->onnx = argv[++i];
        else if (strncmp(s, "--onnx=", 7) == 0)
            a->onnx = s + 7;
        else if (s[0] == '-')
            return cli_usage_error("export", "unknown or incomplete option '%s'", s);
        else if (!a->ckpt)
            a->ckpt = s;
        else
            return cli_usage_error("export", "more than one checkpoint given ('%s' and '%s')", a->ckpt, s);
    }
    if (!a->ckpt)
        return cli_usage_error("export", "missing CHECKPOINT (e.g. runs/lenet5/checkpoint.h5)");
    if (!a->onnx || !*a->onnx)
        return cli_usage_error("export", "missing --onnx OUT.onnx (the format to write; ONNX is the one there is)");
    return 0;
}

/* A family without an ONNX export is refused from the checkpoint's kind,
 * before its model (and data) is loaded. */
static bool has_export(const dlx_family *f) { return f->export_onnx != NULL; }

static int check_family(const char *ckpt, dlx_err *err)
{
    char family[64], with[256];
    int rc = cli_checkpoint_family_can(ckpt, has_export, family, sizeof family, with, sizeof with, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(ckpt),
                        "model kind '%s' has no ONNX export; dlx export --onnx takes a checkpoint of the %s family",
                        family, with);
}

/* --onnx replaces an ONNX model (a ModelProto opens with its ir_version
 * field, byte 0x08) but no other file: `--onnx runs/x/checkpoint.h5` must
 * not cost a run. */
static int check_out(const char *out, dlx_err *err)
{
    static const unsigned char sig[1] = {0x08};
    if (cli_may_replace(out, sig, sizeof sig))
        return 0;
    return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--onnx %s: it exists and is not an ONNX model; dlx export "
                        "replaces only an ONNX model: remove it or choose another file", out);
}

int cmd_export(int argc, char **argv)
{
    export_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    dlx_err err;
    dlx_err_clear(&err);
    dlx_model *m;
    if (check_out(a.onnx, &err) || check_family(a.ckpt, &err) || dlx_model_from_checkpoint(a.ckpt, NULL, &m, &err))
        return cli_fail(&err);
    rc = m->family->export_onnx(m, a.onnx, a.ckpt, &err);
    if (rc) {
        dlx_err_prefix(&err, "export of %s to %s", a.ckpt, a.onnx);
        rc = cli_fail(&err);
    } else {
        struct stat st;
        long long bytes = stat(a.onnx, &st) == 0 ? (long long)st.st_size : -1;
        printf("wrote %s (%lld bytes): ONNX opset 13, input 'input' (raw pixels in [0, 1]), output 'logits' "
               "(step %" PRId64 ")\n", a.onnx, bytes, m->step);
    }
    dlx_model_destroy(m);
    return rc;
}
