/* --resume: the checks that a resumed run is the run the checkpoint belongs
 * to (the same resolved spec, a --stop-at still ahead), then the load. */
#include "resume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/rundir.h"
#include "checkpoint.h"

/* Keys that may differ from the checkpoint's: how often to log, evaluate and
 * save, how many threads (the bits do not depend on them), and the free
 * text. Everything else makes a different run; train.epochs too, since it
 * sets the schedule's length: --extend-epochs raises it explicitly. */
static const char *const k_may_change[] = {"name", "description", "train.log_every",
                                           "train.eval_every", "train.checkpoint_every", "train.save",
                                           "train.threads", NULL};

static bool may_change(const char *path)
{
    for (int i = 0; k_may_change[i]; i++)
        if (strcmp(path, k_may_change[i]) == 0)
            return true;
    return false;
}

/* A value as the message shows it. */
static const char *shown(const dlx_spec_node *n, char *buf, size_t size)
{
    if (!n)
        return "absent";
    switch (n->kind) {
    case DLX_SPEC_SCALAR: snprintf(buf, size, "%.80s", n->scalar); break;
    case DLX_SPEC_MAP: snprintf(buf, size, "a mapping of %d key%s", n->n, n->n == 1 ? "" : "s"); break;
    case DLX_SPEC_SEQ: snprintf(buf, size, "a list of %d item%s", n->n, n->n == 1 ? "" : "s"); break;
    default: snprintf(buf, size, "null"); break;
    }
    return buf;
}

/* Scalars are equal as text, or as numbers ("0.05" and "5e-2"). */
static bool same_scalar(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return true;
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    return ea != a && eb != b && !*ea && !*eb && x == y;
}

typedef struct spec_diff {
    const char *path;      /* where they differ */
    const dlx_spec_node *here, *there;
    dlx_loc loc;           /* in the spec given now */
} spec_diff;

/* The first difference between `here` and `there` (both present), in the
 * order of the spec given now; false when they agree. */
static bool first_diff(const dlx_spec_node *here, const dlx_spec_node *there, spec_diff *d)
{
    if (may_change(here->path))
        return false;
    *d = (spec_diff){.path = here->path, .here = here, .there = there, .loc = here->loc};
    bool empty_here = here->kind == DLX_SPEC_NULL || (here->kind != DLX_SPEC_SCALAR && here->n == 0);
    bool empty_there = there->kind == DLX_SPEC_NULL || (there->kind != DLX_SPEC_SCALAR && there->n == 0);
    if (empty_here && empty_there)
        return false;
    if (here->kind != there->kind)
        return true;
    if (here->kind == DLX_SPEC_SCALAR)
        return !same_scalar(here->scalar, there->scalar);
    if (here->kind == DLX_SPEC_SEQ) {
        for (int i = 0; i < here->n && i < there->n; i++)
            if (first_diff(here->items[i], there->items[i], d))
                return true;
        *d = (spec_diff){.path = here->path, .here = here, .there = there, .loc = here->loc};
        return here->n != there->n;
    }
    for (int i = 0; i < here->n; i++) {
        const dlx_spec_node *b = dlx_spec_get(there, here->keys[i]);
        if (b && first_diff(here->items[i], b, d))
            return true;
        /* a key the checkpoint's spec lacks but that takes its default here was
         * added to dlx after the run started: a new key's default is the old
         * behaviour, so the run is the same */
        if (!b && !may_change(here->items[i]->path) && !here->items[i]->defaulted) {
            *d = (spec_diff){.path = here->items[i]->path, .here = here->items[i], .loc = here->key_locs[i]};
            return true;
        }
    }
    for (int i = 0; i < there->n; i++)
        if (!dlx_spec_get(here, there->keys[i]) && !may_change(there->items[i]->path)) {
            *d = (spec_diff){.path = there->items[i]->path, .there = there->items[i], .loc = here->loc};
            return true;
        }
    return false;
}

/* The model's spec against the checkpoint's /spec text. */
static int check_same_spec(const dlx_model *m, const char *path, const char *text, dlx_err *err)
{
    char name[64 + DLX_RUNDIR_MAX];
    snprintf(name, sizeof name, "%s:/spec", path);
    dlx_spec *stored;
    int rc = dlx_spec_load_string(text, name, &stored, err);
    if (rc) {
        dlx_err_prefix(err, "--resume: the checkpoint's spec does not parse");
        return err ? (err->code = DLX_EFORMAT) : DLX_EFORMAT; /* a bad file: exit 1 */
    }
    if (m->extend_from_epochs) { /* --extend-epochs: the stored run, that many epochs longer */
        char set[64];
        dlx_spec_node *e = dlx_spec_path(m->spec, "train.epochs");
        snprintf(set, sizeof set, "train.epochs=%.40s", e && e->kind == DLX_SPEC_SCALAR ? e->scalar : "0");
        dlx_spec_node *was = dlx_spec_path(stored, "train.epochs");
        char *end = "";
        long long v = was && was->kind == DLX_SPEC_SCALAR ? strtoll(was->scalar, &end, 10) : -1;
        if (v != m->extend_from_epochs || *end) /* changed since cmd_train read it */
            rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "--extend-epochs: the checkpoint changed while "
                              "it was read; run the command again");
        if (!rc) rc = dlx_spec_set(stored, set, err);
    }
    spec_diff d;
    if (!rc && first_diff(dlx_spec_root(m->spec), dlx_spec_root(stored), &d)) {
        char a[96], b[96];
        bool epochs = !strcmp(d.path, "train.epochs");
        rc = dlx_err_setf(err, DLX_EINVAL, d.loc,
                          "--resume: %s is %s here but %s in %s (%s)", d.path, shown(d.here, a, sizeof a),
                          shown(d.there, b, sizeof b), path,
                          epochs ? "it sets the schedule's length: train more epochs with --extend-epochs N, or "
                                   "continue the run as it is from its own spec.yaml"
                                 : "start a new run with another --out, or drop --resume");
    }
    dlx_spec_destroy(stored);
    return rc;
}

int dlx_run_resume(dlx_model *m, bool *found, dlx_err *err)
{
    *found = false;
    char path[DLX_RUNDIR_MAX + 32];
    int rc = dlx_path_join(path, sizeof path, m->run_dir, "checkpoint.h5", err);
    struct stat st;
    if (rc)
        return rc;
    if (stat(path, &st) != 0) /* only a checkpoint that is not there means "start at step 0" */
        return errno == ENOENT ? 0 : dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot open: %s", strerror(errno));
    dlx_ckpt_meta meta;
    char family[64];
    rc = dlx_ckpt_read_meta(path, &meta, family, sizeof family, err);
    if (rc)
        return rc;
    rc = check_same_spec(m, path, meta.spec_text, err);
    free((char *)meta.spec_text);
    if (!rc && m->stop_at && m->stop_at <= meta.step)
        rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                          "--stop-at %lld: %s is already at step %lld; give a later step, or drop --stop-at",
                          (long long)m->stop_at, path, (long long)meta.step);
    if (!rc) rc = dlx_run_load_checkpoint(m, path, true, err);
    *found = !rc;
    return rc;
}
