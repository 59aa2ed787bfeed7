/* dlx eval CHECKPOINT [--data NAME:SPLIT] [--json] [--predictions FILE.h5]
 *                     [--confusion FILE.png] [--set model.eval.KEY=VALUE]...
 * For a family that classifies, the error analysis too: the confusion
 * matrix (printed, and a heat map), per-class accuracy and the most
 * confused pairs; the library computes them, this file prints them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/confusion.h"
#include "../core/predictions.h"
#include "../models/family.h"
#include "cli.h"

#define TOP_PAIRS 5
#define SETS_MAX 16

typedef struct eval_args {
    const char *ckpt, *data, *predictions, *confusion;
    bool json;
    const char *sets[SETS_MAX];
    int n_sets;
} eval_args;

/* The confusion matrix, per-class accuracy and the most confused pairs as
 * text, or as more fields of the JSON object that `cli_print_result_fields`
 * opened. */
static void print_analysis(const dlx_confusion *c, bool json)
{
    dlx_confused_pair top[TOP_PAIRS];
    int n_top = dlx_confusion_top_pairs(c, top, TOP_PAIRS);
    if (json) {
        printf(",\"confusion\":[");
        for (int t = 0; t < c->k; t++) {
            printf("%s[", t ? "," : "");
            for (int p = 0; p < c->k; p++)
                printf("%s%lld", p ? "," : "", (long long)c->count[(int64_t)t * c->k + p]);
            printf("]");
        }
        printf("],\"class_accuracy\":[");
        for (int t = 0; t < c->k; t++) {
            double a = dlx_confusion_class_accuracy(c, t);
            isnan(a) ? printf("%snull", t ? "," : "") : printf("%s%.10g", t ? "," : "", a);
        }
        printf("],\"class_samples\":[");
        for (int t = 0; t < c->k; t++)
            printf("%s%lld", t ? "," : "", (long long)dlx_confusion_class_total(c, t));
        printf("],\"confused_pairs\":[");
        for (int i = 0; i < n_top; i++)
            printf("%s{\"true\":%d,\"predicted\":%d,\"count\":%lld}", i ? "," : "", top[i].truth, top[i].predicted,
                   (long long)top[i].count);
        printf("]");
        return;
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted class)\n%9s", "true\\pred");
    for (int p = 0; p < c->k; p++)
        printf(" %5d", p);
    printf("\n");
    for (int t = 0; t < c->k; t++) {
        printf("%9d", t);
        for (int p = 0; p < c->k; p++)
            printf(" %5lld", (long long)c->count[(int64_t)t * c->k + p]);
        printf("\n");
    }
    printf("\nper-class accuracy\n");
    for (int t = 0; t < c->k; t++) {
        int64_t total = dlx_confusion_class_total(c, t);
        if (total)
            printf("  class %-3d %.4f  (%lld of %lld)\n", t, dlx_confusion_class_accuracy(c, t),
                   (long long)c->count[(int64_t)t * c->k + t], (long long)total);
        else
            printf("  class %-3d -       (no samples)\n", t);
    }
    printf("\nmost confused pairs (true -> predicted)\n");
    for (int i = 0; i < n_top; i++)
        printf("  %d -> %d: %lld time%s\n", top[i].truth, top[i].predicted, (long long)top[i].count,
               top[i].count == 1 ? "" : "s");
    if (n_top == 0)
        printf("  none: every sample is classified right\n");
}

/* --confusion: the heat map, drawn by dlx (libpng), then by gnuplot from
 * the same matrix over it when gnuplot is installed. */
static int write_confusion(const eval_args *a, const dlx_confusion *c, int64_t step, dlx_err *err)
{
    char dat[1200], gp[1200], title[400];
    if (strlen(a->confusion) + 4 >= sizeof dat) /* never a cut path */
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--confusion: a path over %zu characters",
                            sizeof dat - 5);
    snprintf(dat, sizeof dat, "%s.dat", a->confusion);
    snprintf(gp, sizeof gp, "%s.gp", a->confusion);
    snprintf(title, sizeof title, "confusion matrix: %.200s, %lld samples, step %lld",
             a->data ? a->data : "test split", (long long)c->n, (long long)step);
    int rc = dlx_confusion_write_png(c, title, a->confusion, err);
    if (!rc) rc = dlx_confusion_write_script(c, title, a->confusion, dat, gp, err);
    if (rc)
        return rc;
    if (cli_have_gnuplot())
        cli_run_gnuplot("eval", gp, a->confusion); /* a failed drawing keeps the libpng picture */
    else
        fprintf(stderr, "wrote %s (drawn by dlx; with gnuplot installed, gnuplot draws it from %s)\n",
                a->confusion, gp);
    return 0;
}

static int analyse(const eval_args *a, dlx_model *m, const dlx_results *res, dlx_predictions *p, dlx_err *err)
{
    dlx_confusion c;
    int rc = dlx_confusion_build(p->label, p->pred, p->n, p->k, &c, err);
    if (!rc && a->predictions)
        rc = dlx_predictions_write(a->predictions, p, a->ckpt, a->data ? a->data : "test", m->step, err);
    if (!rc && a->confusion)
        rc = write_confusion(a, &c, m->step, err);
    if (rc) {
        dlx_confusion_free(&c);
        return rc;
    }
    if (a->json) {
        printf("{");
        cli_print_result_fields(res);
    } else
        cli_print_results(res, false);
    print_analysis(&c, a->json);
    if (a->json)
        printf("}\n");
    if (a->predictions)
        fprintf(stderr, "wrote %s (logits, prediction and label of %lld samples)\n", a->predictions,
                (long long)p->n);
    dlx_confusion_free(&c);
    return 0;
}

static int parse(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        int set = cli_set_arg("eval", argc, argv, &i, a->sets, &a->n_sets, SETS_MAX);
        if (set == 2)
            return set;
        if (set == 1)
            continue;
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            a->data = argv[++i];
        else if (strncmp(argv[i], "--data=", 7) == 0)
            a->data = argv[i] + 7;
        else if (strcmp(argv[i], "--predictions") == 0 && i + 1 < argc)
            a->predictions = argv[++i];
        else if (strcmp(argv[i], "--confusion") == 0 && i + 1 < argc)
            a->confusion = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            a->json = true;
        else if (argv[i][0] == '-')
            return cli_usage_error("eval", "unknown or incomplete option '%s'", argv[i]);
        else if (!a->ckpt)
            a->ckpt = argv[i];
        else
            return cli_usage_error("eval", "more than one checkpoint given");
    }
    if (!a->ckpt)
        return cli_usage_error("eval", "missing CHECKPOINT (e.g. runs/lenet5/checkpoint.h5)");
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    dlx_err err;
    dlx_err_clear(&err);
    dlx_model *m;
    if (dlx_model_from_checkpoint_set(a.ckpt, a.sets, a.n_sets, NULL, &m, &err))
        return cli_fail(&err);
    if (!m->family->classify && (a.predictions || a.confusion)) {
        rc = cli_usage_error("eval", "%s is a '%s' model, which does not classify: --predictions and --confusion "
                             "need a classifier", a.ckpt, m->family->name);
        dlx_model_destroy(m);
        return rc;
    }
    dlx_results res;
    dlx_predictions p = {0};
    if (m->family->classify)
        rc = m->family->classify(m, a.data, &res, &p, &err);
    else
        rc = m->family->evaluate(m, a.data, &res, &err);
    if (!rc && m->family->classify)
        rc = analyse(&a, m, &res, &p, &err);
    else if (!rc)
        cli_print_results(&res, a.json);
    if (rc)
        rc = cli_fail(&err);
    dlx_predictions_free(&p);
    dlx_model_destroy(m);
    return rc;
}
