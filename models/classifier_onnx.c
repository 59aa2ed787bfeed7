/* The classifier's ONNX export (dlx_family.export_onnx, `dlx export
 * --onnx`): replica 0's graph from the input to the logits, with the data
 * feed's padding and normalisation in front (core/onnx.h), so the model
 * takes raw pixels in [0, 1] as `dlx eval` reads them from the dataset. */
#include <stdio.h>

#include "../core/onnx.h"
#include "../core/spec.h"
#include "classifier_internal.h"

int clf_export_onnx(dlx_model *m, const char *path, const char *checkpoint, dlx_err *err)
{
    clf *c = m->impl;
    const shard *sh = &c->sh[0];
    const dlx_onnx_input prep = {.mean = c->im.tf.mean, .std = c->im.tf.std, .pad = c->im.tf.pad};
    const char *name = "classifier";
    dlx_spec_node *root = dlx_spec_root(m->spec), *nm = dlx_spec_get(root, "name");
    if (nm && nm->kind == DLX_SPEC_SCALAR && nm->scalar)
        name = nm->scalar;
    int h = c->im.h - 2 * c->im.tf.pad, w = c->im.w - 2 * c->im.tf.pad;
    char doc[1024];
    snprintf(doc, sizeof doc,
             "dlx classifier '%.100s' from %.400s at step %lld. input: float32 (N, %d, %d, %d), %.40s pixels in "
             "[0, 1] (byte / 255)%s; the model pads by %d and normalises with mean %g, std %g as dlx's data "
             "feed does. output: logits (N, %d), before any softmax.",
             name, checkpoint, (long long)m->step, c->im.c, h, w, c->im.dataset,
             c->im.resize_h ? " after data.resize" : "", c->im.tf.pad, (double)c->im.tf.mean,
             (double)c->im.tf.std, c->im.num_classes);
    const dlx_onnx_meta meta = {.graph_name = name, .doc = doc};
    return dlx_onnx_write(path, c->reps.r[0].g, sh->x, sh->logits, &prep, &meta, err);
}
