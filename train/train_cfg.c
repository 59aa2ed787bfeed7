/* The train: map of every family that trains through the one loop
 * (train/trainer.h): its keys, their reference, and the reader. */
#include "trainer.h"

#include <stdint.h>

/* train: of every family that trains through the loop (the reference and
 * the keys train: may hold; one row per key, beside its getter below) */
static const dlx_key_doc k_train_keys[] = {
    {"epochs", "integer", "required", "1 to 100000", "passes over the training data"},
    {"batch", "integer", "the family's: classifier 64, gan 256, sparse_coding 100, recurrent 20", "1 to 65536",
     "samples per step"},
    {"optimizer", "map", "sgd, lr 0.01", "an optimizer (dlx spec optimizer)", "the optimizer of a model with one"},
    {"schedule", "map", "constant", "a schedule (dlx spec schedule)", "the learning-rate schedule of train.optimizer"},
    {"optimizers", "map of name: optimizer", "-", "1 to 4 (dlx spec train.optimizers.NAME)",
     "several named optimizers, each over some networks (instead of optimizer and schedule)"},
    {"updates", "list of maps", "one update of the first loss", "1 to 4 (dlx spec train.updates[])",
     "the updates of a step, in order (needs optimizers)"},
    {"losses", "map of name: {term: weight}", "-", "1 to 4 losses of 1 to 8 terms, weights -1e6 to 1e6",
     "weighted sums of the family's losses, to name in updates (gan)"},
    {"checkpoint_every", "integer", "0", "at least 0", "steps between checkpoints (0: at epoch ends only, per save)"},
    {"log_every", "integer", "100", "at least 1", "steps between train_<loss> and lr metrics"},
    {"eval_every", "integer", "1", "0 to 100000", "epochs between evaluations (0: at the end only)"},
    {"save", "string", "epoch", "epoch, end", "write checkpoint.h5 after every epoch or only at the end"},
    {"shards", "integer", "2 for an even batch, else 1 (sparse_coding 1)", "1 to 16, divides batch",
     "micro-batches per batch, each a replica with its own graph"},
    {"threads", "integer", "0", "0 to 1024", "worker threads (0: as --threads gives)"},
    {"early_stopping", "map", "-", "dlx spec train.early_stopping",
     "stop once an evaluation metric has not improved for patience epochs; best.h5 keeps the best"},
    {NULL},
};

const dlx_spec_section dlx_train_spec_sections[] = {
    {"train", "train: of the classifier, gan, sparse_coding (LISTA, LCoD) and recurrent families: the training loop",
     k_train_keys, NULL},
    {"train.early_stopping", "train.early_stopping: end training when an evaluation metric stops improving",
     dlx_early_stop_keys, NULL},
    {NULL},
};
static const char *const k_save[] = {"epoch", "end", NULL};

int dlx_train_cfg_read(dlx_spec_node *root, const dlx_train_defaults *def, const char *const *losses,
                       dlx_train_cfg *cfg, dlx_plan *plan, dlx_err *err)
{
    dlx_spec_node *train = dlx_spec_get(root, "train");
    if (!train)
        return dlx_err_setf(err, DLX_EINVAL, root->loc, "missing required key 'train' (e.g. train: {epochs: 10, batch: %lld})",
                            (long long)def->batch);
    int save = 0;
    int64_t threads = 0, shards = 0;
    int rc = dlx_spec_expect_map(train, "train", err);
    if (!rc) rc = dlx_spec_check_doc(train, "train", k_train_keys, err);
    if (!rc) rc = dlx_spec_int(train, "epochs", true, 0, 1, 100000, &cfg->epochs, err);
    if (!rc) rc = dlx_spec_int(train, "batch", false, def->batch, 1, 65536, &cfg->batch, err);
    if (!rc) rc = dlx_spec_int(train, "checkpoint_every", false, 0, 0, INT64_MAX, &cfg->checkpoint_every, err);
    if (!rc) rc = dlx_spec_int(train, "log_every", false, 100, 1, INT64_MAX, &cfg->log_every, err);
    if (!rc) rc = dlx_spec_int(train, "eval_every", false, 1, 0, 100000, &cfg->eval_every, err);
    if (!rc) rc = dlx_early_stop_read(train, cfg->eval_every, &cfg->early, err);
    if (!rc) rc = dlx_spec_enum(train, "save", false, k_save, 0, &save, err);
    if (!rc) rc = dlx_spec_int(train, "threads", false, 0, 0, 1024, &threads, err);
    int dflt_shards = def->shards ? def->shards : cfg->batch % 2 == 0 ? 2 : 1;
    if (!rc) rc = dlx_spec_int(train, "shards", false, dflt_shards, 1, DLX_REPLICAS_MAX, &shards, err);
    if (!rc && cfg->batch % shards != 0)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(train, "shards")->loc,
                          "train.shards: %lld does not divide the batch size %lld", (long long)shards,
                          (long long)cfg->batch);
    if (!rc) rc = dlx_plan_read(train, losses, def->composes, plan, err);
    cfg->save_at_end = save == 1;
    cfg->threads = (int)threads;
    cfg->shards = (int)shards;
    return rc;
}
