/* The command-line front end: argument parsing, printing, exit codes.
 * Exit status: 0 done, 1 runtime failure, 2 bad usage or bad spec. */
#ifndef DLX_CLI_H
#define DLX_CLI_H

#include <stdbool.h>

#include "../core/err.h"
#include "../experiments/model.h"
#include "../train/run.h"

typedef struct dlx_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *usage; /* full help text for `dlx CMD --help` */
} dlx_command;

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_plot(int argc, char **argv);

/* Load a spec file and apply --set assignments, in order. */
int cli_load_spec(const char *path, const char *const *sets, int n_sets, dlx_spec **out, dlx_err *err);

/* Run gnuplot on script (which draws png); when gnuplot is missing, say how
 * to render it and return 0; 1 when gnuplot fails. */
int cli_run_gnuplot(const char *cmd, const char *script, const char *png);
/* gnuplot is on the PATH. */
bool cli_have_gnuplot(void);
int cmd_reproduce(int argc, char **argv);
int cmd_landscape(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_spec(int argc, char **argv);

/* Print "dlx: <formatted error>" to stderr and return the exit status for it. */
int cli_fail(const dlx_err *err);

/* A command that needs a capability of the checkpoint's family (a generator,
 * an ONNX export) asks before the model, and its data, is loaded: the family
 * named in ckpt's metadata into family, and the families that can, comma
 * separated, into with. 1 when it can (or the kind is unknown: creating the
 * model says so), 0 when it cannot, a negative DLX_E* on a bad checkpoint. */
struct dlx_family;
/* Whether an output path may be written over: it does not exist, or it is a
 * regular file whose first n bytes are sig (the kind of file the command
 * writes), so that a mistyped --out never costs a checkpoint. */
bool cli_may_replace(const char *path, const unsigned char *sig, size_t n);
int cli_checkpoint_family_can(const char *ckpt, bool (*can)(const struct dlx_family *f), char *family, size_t fn,
                              char *with, size_t wn, dlx_err *err);
/* Print "dlx CMD: msg" and a usage hint to stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An integer option's value: s is a whole decimal number in [lo, hi] (no
 * trailing characters, no overflow) into *v; false otherwise. */
bool cli_int_arg(const char *s, long long lo, long long hi, long long *v);
/* argv[*i] as `--set KEY=VALUE` or `--set=KEY=VALUE`: 0 when it is neither;
 * 1 when its setting is taken into sets[*n] (*i then at its last word);
 * 2 (a usage error, printed for cmd) when the value is missing or max are
 * taken already. */
int cli_set_arg(const char *cmd, int argc, char **argv, int *i, const char **sets, int *n, int max);
/* true if argv has -h or --help. */
bool cli_wants_help(int argc, char **argv);
/* Print the usage text of a command to stdout; returns 0. */
int cli_print_help(const char *cmd);

/* Progress printer: a live line on a terminal, plain lines otherwise. */
typedef struct cli_progress {
    bool tty;
    bool quiet;
    bool line_open; /* a \r line is on screen */
    double t_line;  /* not a terminal: when the last mid-epoch line was written */
    double interval; /* not a terminal: seconds between mid-epoch lines */
} cli_progress;
/* Not a terminal (a log file, a batch job): a training line at most every
 * this many seconds inside an epoch, besides the one at each epoch's end
 * ($DLX_PROGRESS_INTERVAL seconds when set). */
#define CLI_PROGRESS_LOG_S 30.0
void cli_progress_init(cli_progress *p, bool quiet);
void cli_progress_hook(void *user, const dlx_progress *p);
void cli_progress_end(cli_progress *p);

/* Results as text ("test_accuracy 0.9912") or one JSON object on stdout. */
void cli_print_results(const dlx_results *r, bool json);
/* The results as JSON fields ("a":1,"b":2), without the braces, for a
 * command that adds fields of its own. */
void cli_print_result_fields(const dlx_results *r);

#endif
