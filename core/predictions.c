/* Per-sample classifier outputs and their HDF5 file (core/predictions.h). */
#include "predictions.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "h5read.h"
#include "h5write.h"

int dlx_predictions_alloc(dlx_predictions *p, int64_t n, int k, dlx_err *err)
{
    memset(p, 0, sizeof *p);
    if (n < 1 || k < 1 || (uint64_t)n * (uint64_t)k > ((uint64_t)1 << 40))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "cannot hold predictions of %lld samples over %d classes",
                            (long long)n, k);
    p->n = n;
    p->k = k;
    p->logits = malloc((size_t)n * (size_t)k * sizeof *p->logits);
    p->pred = malloc((size_t)n * sizeof *p->pred);
    p->label = malloc((size_t)n * sizeof *p->label);
    if (!p->logits || !p->pred || !p->label) {
        dlx_predictions_free(p);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the predictions of %lld samples",
                            (long long)n);
    }
    return 0;
}

void dlx_predictions_free(dlx_predictions *p)
{
    free(p->logits);
    free(p->pred);
    free(p->label);
    memset(p, 0, sizeof *p);
}

int dlx_argmax(const float *z, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

/* One dataset of rank 1 or 2 with its description; nonzero on failure. */
static int write_ds(hid_t f, const char *name, hid_t file_type, hid_t mem_type, int rank, const hsize_t *dims,
                    const void *data, const char *description)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(f, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = d < 0 || H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0;
    if (!bad)
        bad = dlx_h5w_attr_text(d, "description", description);
    if (d >= 0)
        H5Dclose(d);
    if (sp >= 0)
        H5Sclose(sp);
    return bad;
}

int dlx_predictions_write(const char *path, const dlx_predictions *p, const char *checkpoint, const char *data,
                          int64_t step, dlx_err *err)
{
    dlx_h5w w;
    uint64_t bytes = 16384 + (uint64_t)p->n * ((uint64_t)p->k * 4 + 8) + strlen(checkpoint) + strlen(data);
    int rc = dlx_h5w_create(&w, path, bytes, err);
    if (rc)
        return rc;
    hsize_t nk[2] = {(hsize_t)p->n, (hsize_t)p->k}, n[1] = {(hsize_t)p->n};
    int bad = dlx_h5w_attr_text(w.f, "format", "dlx-predictions");
    if (!bad) bad = dlx_h5w_attr_text(w.f, "checkpoint", checkpoint);
    if (!bad) bad = dlx_h5w_attr_text(w.f, "data", data);
    if (!bad) bad = dlx_h5w_attr_i64(w.f, "step", step);
    if (!bad) bad = dlx_h5w_attr_i64(w.f, "classes", p->k);
    if (!bad)
        bad = write_ds(w.f, "logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, nk, p->logits,
                       "the model's output for each sample (row i: sample i of the split, in file order), "
                       "before any softmax: [samples, classes]");
    if (!bad)
        bad = write_ds(w.f, "prediction", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, p->pred,
                       "the predicted class of each sample: the index of its first largest logit");
    if (!bad)
        bad = write_ds(w.f, "label", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, p->label,
                       "the true class of each sample, from the dataset's labels");
    if (bad) {
        char why[160];
        dlx_h5r_reason(why);
        dlx_h5w_abort(&w);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write the predictions file%s%s",
                            why[0] ? ": " : "", why);
    }
    return dlx_h5w_commit(&w, err);
}
