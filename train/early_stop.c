#include "early_stop.h"

#include <math.h>
#include <string.h>

const dlx_key_doc dlx_early_stop_keys[] = {
    {"metric", "string", "required", "a result of the family's evaluation (val_loss, val_accuracy, test_loss, ...)",
     "what is watched"},
    {"patience", "integer", "5", "1 to 100000", "epochs after the best one that end the run"},
    {"mode", "one of min, max", "max for a metric ending in accuracy, else min", "min, max", "which way is better"},
    {NULL},
};
static const char *const k_modes[] = {"min", "max", NULL};

const char *const dlx_early_stop_state_names[DLX_ES_N] = {"early_stopping.best", "early_stopping.best_epoch",
                                                          "early_stopping.best_step", "early_stopping.stopped"};

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

int dlx_early_stop_read(dlx_spec_node *train, int64_t eval_every, dlx_early_stop *es, dlx_err *err)
{
    memset(es, 0, sizeof *es);
    dlx_spec_node *n = dlx_spec_get(train, "early_stopping");
    if (!n)
        return 0;
    int mode = 0;
    int rc = dlx_spec_expect_map(n, "train.early_stopping", err);
    if (!rc) rc = dlx_spec_check_doc(n, "train.early_stopping", dlx_early_stop_keys, err);
    if (!rc) rc = dlx_spec_str(n, "metric", true, NULL, &es->metric, err);
    if (!rc) rc = dlx_spec_int(n, "patience", false, 5, 1, 100000, &es->patience, err);
    /* accuracies grow, losses and errors shrink */
    if (!rc) rc = dlx_spec_enum(n, "mode", false, k_modes, ends_with(es->metric, "accuracy") ? 1 : 0, &mode, err);
    if (!rc && eval_every == 0)
        rc = dlx_err_setf(err, DLX_EINVAL, n->loc,
                          "train.early_stopping needs an evaluation during training, but train.eval_every is 0 "
                          "(only after the last epoch)");
    if (rc) {
        es->metric = NULL;
        return rc;
    }
    es->maximize = mode == 1;
    es->loc = dlx_spec_get(n, "metric")->loc;
    return 0;
}

bool dlx_early_stop_update(const dlx_early_stop *es, double *state, double v, int64_t epoch, int64_t step,
                           bool *improved)
{
    bool first = state[DLX_ES_BEST_EPOCH] == 0.0;
    double best = state[DLX_ES_BEST];
    *improved = isfinite(v) && (first || (es->maximize ? v > best : v < best));
    if (*improved) {
        state[DLX_ES_BEST] = v;
        state[DLX_ES_BEST_EPOCH] = (double)epoch;
        state[DLX_ES_BEST_STEP] = (double)step;
        return false;
    }
    /* a run whose metric was never finite counts from its start */
    if ((double)epoch - state[DLX_ES_BEST_EPOCH] >= (double)es->patience)
        state[DLX_ES_STOPPED] = 1.0;
    return state[DLX_ES_STOPPED] != 0.0;
}
