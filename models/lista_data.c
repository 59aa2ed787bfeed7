/* The sparse_coding family's data: image patches or MNIST digits in, and the
 * codes file (<run>/codes.h5) out and back in (see models/lista.c). */
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/data.h"
#include "../core/h5read.h"
#include "../core/h5write.h"
#include "../core/tensor.h"
#include "../core/png.h"
#include "lista_internal.h"

/* ---- data ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct image { float *px; int w, h; } image;

/* Grey images (0..1) of every *.png in dir, in name order. */
static int load_images(const char *dir, image **out, int *n_out, dlx_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dir),
                            "cannot open the photograph folder (run `datasets/fetch natural-images`)");
    char *names[256];
    int n = 0, rc = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".png") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n == 0)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dir),
                            "no .png photographs in the folder (run `datasets/fetch natural-images`)");
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    image *im = calloc((size_t)n, sizeof *im);
    if (!im)
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        uint8_t *px;
        int w, h, ch;
        rc = dlx_png_read(path, &px, &w, &h, &ch, err);
        if (rc)
            break;
        im[i].px = malloc((size_t)w * h * sizeof(float));
        if (!im[i].px) {
            free(px);
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
            break;
        }
        for (int64_t p = 0; p < (int64_t)w * h; p++)
            im[i].px[p] = ch == 1 ? px[p] / 255.0f
                                  : (0.299f * px[3 * p] + 0.587f * px[3 * p + 1] + 0.114f * px[3 * p + 2]) / 255.0f;
        im[i].w = w;
        im[i].h = h;
        free(px);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    if (rc) {
        for (int i = 0; i < n && im; i++)
            free(im[i].px);
        free(im);
        return rc;
    }
    *out = im;
    *n_out = n;
    return 0;
}

/* count patches p x p at seeded random places: centred, divided by their std. */
static void cut_patches(const image *im, int n_im, int p, uint64_t seed, uint64_t stream, int64_t count, float *out)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, stream);
    const int n = p * p;
    for (int64_t k = 0; k < count;) {
        const image *img = &im[dlx_rng_below(&r, (uint32_t)n_im)];
        int x0 = (int)dlx_rng_below(&r, (uint32_t)(img->w - p + 1)), y0 = (int)dlx_rng_below(&r, (uint32_t)(img->h - p + 1));
        float *o = out + k * n;
        double mean = 0.0, var = 0.0;
        for (int y = 0; y < p; y++)
            for (int x = 0; x < p; x++)
                mean += o[y * p + x] = img->px[(size_t)(y0 + y) * img->w + x0 + x];
        mean /= n;
        for (int i = 0; i < n; i++)
            var += (o[i] - mean) * (o[i] - mean);
        double sd = sqrt(var / n);
        if (sd < 0.02) /* flat patch: its noise would be blown up; draw another */
            continue;
        for (int i = 0; i < n; i++)
            o[i] = (float)((o[i] - mean) / sd);
        k++;
    }
}

int dlx_sc_load_data(dlx_model *m, sc *c, dlx_err *err)
{
    c->ntr = c->n_train;
    c->nte = c->n_test;
    c->Xtr = malloc((size_t)(c->ntr ? c->ntr : 1) * c->n * sizeof(float));
    c->Xte = malloc((size_t)c->nte * c->n * sizeof(float));
    if (!c->Xtr || !c->Xte)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %lld samples", (long long)(c->ntr + c->nte));
    if (c->dataset == DS_PATCHES) {
        char dir[512];
        if (c->dir)
            snprintf(dir, sizeof dir, "%s", c->dir);
        else
            dlx_dataset_dir("natural-images", NULL, dir, sizeof dir);
        image *im = NULL;
        int n_im = 0;
        int rc = load_images(dir, &im, &n_im, err);
        if (rc)
            return rc;
        for (int i = 0; i < n_im && !rc; i++)
            if (im[i].w < c->patch || im[i].h < c->patch)
                rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(dir), "image %d is %dx%d, smaller than a %lldx%lld patch", i,
                                  im[i].w, im[i].h, (long long)c->patch, (long long)c->patch);
        if (!rc) {
            cut_patches(im, n_im, (int)c->patch, m->seed, STREAM_PATCH_TRAIN, c->ntr, c->Xtr);
            cut_patches(im, n_im, (int)c->patch, m->seed, STREAM_PATCH_TEST, c->nte, c->Xte);
        }
        for (int i = 0; i < n_im; i++)
            free(im[i].px);
        free(im);
        return rc;
    }
    dlx_transform tf = {.mean = 0.0f, .std = 1.0f};
    for (int split = 0; split < 2; split++) {
        int64_t want = split ? c->nte : c->ntr;
        if (!want)
            continue;
        dlx_dataset d;
        int rc = dlx_dataset_load("mnist", split ? "test" : "train", c->dir, &d, err);
        if (rc)
            return rc;
        if (d.n < want) {
            dlx_dataset_free(&d);
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "data.%s: mnist %s has %lld samples, asked for %lld",
                                split ? "test" : "train", split ? "test" : "train", (long long)d.n, (long long)want);
        }
        uint32_t *idx = malloc((size_t)want * sizeof *idx);
        if (!idx) {
            dlx_dataset_free(&d);
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        }
        for (int64_t i = 0; i < want; i++)
            idx[i] = (uint32_t)i;
        dlx_dataset_batch(&d, &tf, idx, (int)want, split ? c->Xte : c->Xtr, NULL);
        free(idx);
        dlx_dataset_free(&d);
    }
    return 0;
}

/* ---- codes.h5 ---- */

static int h5_write(hid_t f, const char *name, const float *data, int64_t rows, int64_t cols)
{
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    if (sp < 0)
        return -1;
    hid_t ds = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    return st < 0 ? -1 : 0;
}

int dlx_sc_write_codes(const dlx_model *m, const sc *c, dlx_err *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s/codes.h5", m->run_dir);
    /* the five float arrays and 16 KiB of headers */
    uint64_t floats = (uint64_t)c->n * (uint64_t)c->m + (uint64_t)(c->ntr + c->nte) * (uint64_t)(c->n + c->m);
    dlx_h5w w;
    int rc = dlx_h5w_create(&w, path, 16384 + 4 * floats, err);
    if (rc)
        return rc;
    const float *wd = m->params.items[c->wd].t.data;
    int bad = h5_write(w.f, "/Wd", wd, c->n, c->m);
    if (!bad && c->ntr) bad = h5_write(w.f, "/X_train", c->Xtr, c->ntr, c->n);
    if (!bad && c->ntr && c->Ztr) bad = h5_write(w.f, "/Z_train", c->Ztr, c->ntr, c->m);
    if (!bad) bad = h5_write(w.f, "/X_test", c->Xte, c->nte, c->n);
    if (!bad) bad = h5_write(w.f, "/Z_test", c->Zte, c->nte, c->m);
    if (bad) {
        char why[160];
        dlx_h5r_reason(why);
        dlx_h5w_abort(&w);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write the codes file%s%s", why[0] ? ": " : "",
                            why);
    }
    return dlx_h5w_commit(&w, err);
}

/* The most rows a codes file may hold per array (a sparse-coding run holds a
 * few hundred thousand samples at most; storage checks bound it too). */
#define CODES_MAX_ROWS ((int64_t)1 << 26)

/* Read a 2-d float array of `cols` columns into a malloc'd buffer; *rows out. */
static int h5_read(const dlx_h5r *r, const char *name, int64_t cols, float **out, int64_t *rows, dlx_err *err)
{
    dlx_h5r_info info;
    *out = NULL;
    int64_t max_elems;
    if (!dlx_mul_i64(CODES_MAX_ROWS, cols, &max_elems))
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(r->path), "%s: %lld columns is too many", name, (long long)cols);
    int rc = dlx_h5r_read_alloc(r, name, H5T_FLOAT, H5T_NATIVE_FLOAT, max_elems, (void **)out, &info, err);
    if (!rc && (info.ndim != 2 || info.dims[1] != cols))
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "%s is not a [rows, %lld] array: this model has %lld "
                          "columns", name, (long long)cols, (long long)cols);
    for (int64_t i = 0; !rc && i < info.numel; i++)
        if (!isfinite((*out)[i]))
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "%s holds NaN or an infinite value", name);
    if (!rc && !*out) /* an empty array: callers index row 0 */
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "%s has no rows", name);
    if (rc) {
        free(*out);
        *out = NULL;
        return rc;
    }
    *rows = info.dims[0];
    return 0;
}

/* Wd, samples and Z* from DIR/codes.h5 (train arrays only when want_train). */
int dlx_sc_read_codes(dlx_model *m, sc *c, const char *dir, bool want_train, dlx_err *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s/codes.h5", dir);
    struct stat st;
    if (stat(path, &st))
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path),
                            "no codes file: model.dictionary.from must name the run directory of a sparse_coding run "
                            "that learned its dictionary");
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, path, err);
    if (rc)
        return rc;
    float *wd = NULL;
    int64_t rows = 0, r2 = 0;
    rc = h5_read(&r, "/Wd", c->m, &wd, &rows, err);
    if (!rc && rows != c->n)
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "/Wd is %lldx%d, this model needs %dx%d", (long long)rows,
                          c->m, c->n, c->m);
    if (!rc)
        memcpy(m->params.items[c->wd].t.data, wd, (size_t)c->n * c->m * sizeof(float));
    free(wd);
    free(c->Xte);
    free(c->Zte);
    c->Xte = c->Zte = NULL;
    if (!rc) rc = h5_read(&r, "/X_test", c->n, &c->Xte, &c->nte, err);
    if (!rc) rc = h5_read(&r, "/Z_test", c->m, &c->Zte, &r2, err);
    if (want_train) {
        free(c->Xtr);
        free(c->Ztr);
        c->Xtr = c->Ztr = NULL;
        if (!rc) rc = h5_read(&r, "/X_train", c->n, &c->Xtr, &c->ntr, err);
        if (!rc) rc = h5_read(&r, "/Z_train", c->m, &c->Ztr, &rows, err);
        if (!rc && rows != c->ntr)
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "/Z_train has %lld rows, /X_train %lld",
                              (long long)rows, (long long)c->ntr);
    }
    if (!rc && r2 != c->nte)
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "/Z_test has %lld rows, /X_test %lld", (long long)r2,
                          (long long)c->nte);
    dlx_h5r_close(&r);
    if (!rc)
        c->codes_ready = true;
    return rc;
}
