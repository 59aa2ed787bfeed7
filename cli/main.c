/* dlx: one binary, one subcommand per research task. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/h5io.h"
#include "../core/provenance.h"
#include "../core/spec.h"
#include "../experiments/registry.h"
#include "cli.h"

static const dlx_command k_commands[] = {
    {"train", cmd_train, "train a model from a YAML spec",
     "usage: dlx train SPEC [--set KEY=VALUE]... [--out DIR] [--resume | --force | --extend-epochs N]\n"
     "                 [--dry-run] [--stop-at STEP] [--json] [--quiet] [--profile] [--threads N]\n"
     "                 [--max-memory SIZE]\n"
     "\n"
     "Trains the model that SPEC describes and writes DIR/checkpoint.h5 (parameters,\n"
     "optimizer state, step, the resolved spec) at each epoch end and every\n"
     "train.checkpoint_every steps, DIR/metrics.h5 (train_loss, test_accuracy, ...)\n"
     "and pictures (filters.png, misclassified.png).\n"
     "\n"
     "  --set KEY=VALUE   override a spec key before validation, e.g. --set train.epochs=2\n"
     "                    or --set data.dataset=fashion-mnist (repeatable)\n"
     "  --out DIR         run directory (default runs/<spec name>)\n"
     "  --resume          continue from DIR/checkpoint.h5; same result as an uninterrupted run\n"
     "  --force           replace the run DIR holds (its checkpoint.h5 and metrics.h5 are removed\n"
     "                    first); without --resume or --force a DIR that holds a run is refused\n"
     "  --extend-epochs N continue the run in DIR (implies --resume) for N more epochs than its\n"
     "                    checkpoint's train.epochs; prints how the lr schedule changes\n"
     "  --dry-run         check the spec, build the model, print its layers, parameters, planned\n"
     "                    memory and the time of a training step (5 steps after 1 warm-up); write nothing\n"
     "  --stop-at STEP    checkpoint and stop after global step STEP (resume later)\n"
     "  --json            print one JSON object of final metrics on stdout\n"
     "  --quiet           no progress output\n"
     "  --profile         time every op and print where a training step goes\n"
     "  --threads N       worker threads (default: train.threads, else every core);\n"
     "                    the results do not depend on it\n"
     "  --max-memory SIZE refuse, before allocating, a run needing more memory: parameters,\n"
     "                    gradients, optimizer state, activations and data (e.g. 2G, 512M;\n"
     "                    default 80% of physical memory; a `ulimit -v` is checked too)\n"
     "\n"
     "SIGINT/SIGTERM: checkpoint after the current step and exit 1; a second signal exits\n"
     "at once (128 + signal); a step that has not ended 30 s after the first signal\n"
     "(DLX_STOP_DEADLINE=SECONDS) exits 128 + signal, keeping the last checkpoint.\n"
     "\n"
     "example: dlx train configs/lenet5.yaml --set train.epochs=2 --out runs/quick\n"},
    {"eval", cmd_eval, "evaluate a checkpoint on a dataset split",
     "usage: dlx eval CHECKPOINT [--data NAME:SPLIT] [--json] [--predictions FILE.h5]\n"
     "                [--confusion FILE.png] [--set model.eval.KEY=VALUE]...\n"
     "\n"
     "Rebuilds the model from the spec stored in CHECKPOINT, loads its parameters and\n"
     "reports accuracy and loss on the spec's test split, or on NAME:SPLIT\n"
     "(e.g. mnist:test, fashion-mnist:train). For a classifier also the confusion\n"
     "matrix (rows: true class, columns: predicted), each class's accuracy and the\n"
     "5 most confused pairs (\"4 -> 9: 12 times\"); --json puts them in the JSON as\n"
     "confusion, class_accuracy, class_samples and confused_pairs.\n"
     "--confusion FILE.png draws the matrix as a heat map (true class down, predicted\n"
     "across, the counts in the cells), with FILE.png.dat and FILE.png.gp beside it;\n"
     "gnuplot redraws it when installed (dlx train writes the test split's into the\n"
     "run directory as confusion.png).\n"
     "--predictions FILE.h5 writes every sample's /logits (float32 [n, classes]),\n"
     "/prediction and /label (int32 [n]), each with a description attribute.\n"
     "--set model.eval.KEY=VALUE changes a setting of the evaluation in the stored spec\n"
     "(a disentangle model's model.eval.classifier: the judge of its transferred images).\n"
     "\n"
     "example: dlx eval runs/lenet5/checkpoint.h5 --data mnist:test --predictions pred.h5 --confusion cm.png\n"},
    {"export", cmd_export, "write a classifier checkpoint as an ONNX model",
     "usage: dlx export CHECKPOINT --onnx OUT.onnx\n"
     "\n"
     "Rebuilds the model from the spec stored in CHECKPOINT, loads its parameters and\n"
     "writes its network at inference as an ONNX model (IR 7, opset 13; written by dlx\n"
     "itself, no protobuf library): the parameters and batch-norm statistics as\n"
     "initializers, dropout as the identity, a fused activation as a node of its own.\n"
     "The model takes 'input', float32 (N, C, H, W) raw pixels in [0, 1] (a byte / 255,\n"
     "after data.resize), and pads and normalises them with data.pad, data.mean and\n"
     "data.std as dlx's data feed does; its output 'logits' (N, classes) is what\n"
     "dlx eval --predictions writes as /logits. N is symbolic.\n"
     "Layer types that export: linear, conv2d, conv_transpose2d, maxpool2d, avgpool2d,\n"
     "upsample, batchnorm, relu, tanh, sigmoid, leaky_relu, lecun_tanh, softmax, abs,\n"
     "dropout, stop_gradient, flatten, reshape, slice, concat, add, sub, mul, scale,\n"
     "affine; another layer (embedding, rnn, ...) is an error naming it (exit 2).\n"
     "Only the classifier family exports; other kinds are refused (exit 2).\n"
     "\n"
     "  --onnx OUT.onnx  the model file; an existing ONNX model is replaced, any other\n"
     "                   existing file is refused (exit 2)\n"
     "\n"
     "example: dlx export runs/lenet5/checkpoint.h5 --onnx lenet5.onnx\n"},
    {"inspect", cmd_inspect, "show what an HDF5 file from dlx holds",
     "usage: dlx inspect FILE.h5 [--spec]\n"
     "\n"
     "For a checkpoint: model kind, step, epoch, parameter shapes and statistics,\n"
     "optimizer slots and, with --spec, the full resolved spec. For a metrics file:\n"
     "every series with its length and last value.\n"
     "\n"
     "example: dlx inspect runs/lenet5/checkpoint.h5\n"},
    {"sample", cmd_sample, "draw a grid of samples from a generative model's checkpoint",
     "usage: dlx sample CHECKPOINT --out FILE.png [--grid RxC] [--seed S] [--interpolate | --transfer]\n"
     "                  [--zoom Z]\n"
     "\n"
     "Rebuilds the model from the spec stored in CHECKPOINT, loads its parameters and\n"
     "writes a PNG grid of its generator's samples (a gan on images): R rows of C\n"
     "images, pixels mapped back to [0, 1] through the data's range. The latent vectors\n"
     "are drawn from the counter-based random stream of the seed: the same seed gives\n"
     "the same file. Other model kinds (a classifier) have no generator and are refused.\n"
     "\n"
     "  --out FILE.png  where the grid goes (required); an existing PNG is replaced, any other\n"
     "                  existing file is refused (exit 2)\n"
     "  --grid RxC      rows x columns, each from 1 to 64 (default 10x10)\n"
     "  --seed S        seed of the latent vectors (default: the run's seed)\n"
     "  --interpolate   each row walks the latent space: a straight line from one random\n"
     "                  latent vector to another in C evenly spaced steps, both ends included\n"
     "  --zoom Z        each pixel drawn as ZxZ (1 to 8, default 2)\n"
     "\n"
     "A disentangle checkpoint (a code split into s, the class, and z, the style) draws\n"
     "from test images that the seed picks:\n"
     "  --transfer      (its default) the top row gives C identities (class j mod K in\n"
     "                  column j), the left column R styles; each cell decodes (s of its\n"
     "                  column, z of its row): with 10x10, the 11x11 swap grid\n"
     "  --interpolate   between two test images of different classes: s moves from the\n"
     "                  first's to the second's along each row, z down each column\n"
     "\n"
     "example: dlx sample runs/dcgan/checkpoint.h5 --grid 10x10 --out samples.png\n"
     "         dlx sample runs/dcgan/checkpoint.h5 --grid 8x10 --interpolate --seed 7 --out walk.png\n"
     "         dlx sample runs/disentangle_mnist/checkpoint.h5 --transfer --out grid.png\n"},
    {"plot", cmd_plot, "draw metric curves of one or more runs with gnuplot",
     "usage: dlx plot METRICS.h5 [METRICS.h5...] [--out PNG] [--series NAME,NAME...]\n"
     "\n"
     "Draws the /metrics series of one or more metrics files (train_loss, test_accuracy,\n"
     "lr, ...) as curves over training steps, one panel per kind: losses, errors,\n"
     "accuracies, learning rates and any other series (losses, errors and learning\n"
     "rates on a log scale where every value is positive). Each panel's y axis names\n"
     "the metrics it shows. Several files are overlaid, a colour per run, and the\n"
     "legend names each run by its directory (runs/a/metrics.h5: a). A series of one\n"
     "point (a run of one epoch) is drawn as a point. Writes PNG (default: METRICS\n"
     "with .png for one file, compare.png for several) and, beside it, PNG.dat and\n"
     "PNG.gp (the data and the gnuplot script, to restyle by hand). Without gnuplot\n"
     "(Debian: gnuplot-nox) it writes those two and says how to render.\n"
     "\n"
     "example: dlx plot runs/lenet5/metrics.h5 runs/mlp/metrics.h5 --series test_accuracy --out cmp.png\n"},
    {"gradcheck", cmd_gradcheck, "finite-difference check of a spec's built graph",
     "usage: dlx gradcheck SPEC [--set KEY=VALUE]... [--loss NAME] [--eps E] [--coords N] [--tol T]\n"
     "                      [--precision double|float]\n"
     "\n"
     "Builds the graph SPEC describes at a small batch on real samples (plus a little\n"
     "noise, so that max pooling sees no exact ties), and compares the gradient of each\n"
     "of the family's named losses (only NAME with --loss: a gan has d_loss and g_loss,\n"
     "the other families one, loss) with respect to every parameter with central\n"
     "finite differences: N sampled\n"
     "coordinates per tensor (default 64) and one random direction, step E relative\n"
     "(default 1e-3). The gradient is the float32 engine's; the differences are taken\n"
     "of the loss computed in double precision (the graph's double dual, the one the\n"
     "exact Hessian uses) by default, or of the float32 loss with --precision float.\n"
     "Where a coordinate's two one-sided differences disagree (a ReLU/max-pool kink\n"
     "within the step), double takes them again at E/8; a coordinate still on a kink\n"
     "is skipped, counted, and the worst one named. Exits 1 if the norm-wise relative\n"
     "error of any tensor reaches T (default 1e-2).\n"
     "\n"
     "example: dlx gradcheck configs/lenet5.yaml\n"
     "         dlx gradcheck configs/gan_ring.yaml --loss g_loss\n"
     "         dlx gradcheck configs/gan_ring.yaml --loss g_loss --precision float --eps 3e-4\n"},
    {"reproduce", cmd_reproduce, "run a paper's table and print ours beside the paper's",
     "usage: dlx reproduce TABLE [--set KEY=VALUE]... [--out DIR] [--force | --resume] [--only ROW[,ROW...]]\n"
     "                     [--threads N] [--quiet] [--figure-only]\n"
     "\n"
     "Runs each row of the table spec TABLE (each row a model spec, relative to\n"
     "TABLE, plus settings; `dlx spec table` lists the keys, docs/spec.md too)\n"
     "through its model family, writes every row's\n"
     "results to DIR/results.h5, prints a Markdown table (row, metric, paper,\n"
     "ours) and, when the table names a figure, has the family write a gnuplot\n"
     "script and draws it. A row whose loss turns NaN or infinite is recorded as\n"
     "diverged (diverged = 1, diverged_at = its step) and the next row runs.\n"
     "\n"
     "  --set KEY=VALUE override a key of the table spec TABLE (not of the rows' specs: a\n"
     "                  row's own settings are its set: list), e.g. --set rows.0.set.0=model.atoms=50\n"
     "  --out DIR       where the runs and results go (default runs/repro/<table name>)\n"
     "  --force         replace an earlier reproduce in DIR (its results.h5, the rows' runs);\n"
     "                  without it such a DIR is refused\n"
     "  --resume        continue a reproduce that was stopped in DIR: each row continues from its\n"
     "                  checkpoint there (a finished row is only evaluated again; its time counts\n"
     "                  this run only), a sweep row goes on from its table\n"
     "  --only ROWS     run only these rows (comma-separated); later rows may need earlier ones;\n"
     "                  the others keep their results from DIR/results.h5\n"
     "  --threads N     worker threads for every row\n"
     "  --quiet         no progress output\n"
     "  --figure-only   run nothing: redraw the figure from DIR/results.h5\n"
     "\n"
     "example: dlx reproduce configs/repro/lista.yaml --out /tmp/lista\n"},
    {"landscape", cmd_landscape, "loss-surface sweeps over random initializations",
     "usage: dlx landscape SWEEP.yaml [--set KEY=VALUE]... [--jobs N] [--shard I/N] [--out FILE.h5]\n"
     "                     [--no-figures] [--summary [--by AXES]] [--quiet]\n"
     "       dlx landscape --merge OUT.h5 SHARD.h5...\n"
     "       dlx landscape --compare FIG.png TABLE.h5... [--by COLUMN] [--no-figures]\n"
     "       mpirun -np N dlx landscape SWEEP.yaml      (when dlx is built with MPI)\n"
     "\n"
     "Trains the sweep's base spec once per point of its axes (e.g. hidden units x\n"
     "seeds), each run single-threaded and a pure function of its axis values, and\n"
     "appends one row per finished run (axes, final train/test loss, test error,\n"
     "steps, seconds, optionally the Hessian's index and extreme eigenvalues) to an\n"
     "HDF5 table. Run the same command again to resume: finished runs are skipped.\n"
     "When the table is complete, prints per-group mean/std and the train/test\n"
     "Pearson correlation (a group: one value of every axis but the seed) and\n"
     "draws the spec's figures (gnuplot) next to it.\n"
     "\n"
     "  --set KEY=VALUE override a key of the sweep spec SWEEP.yaml (not of its base spec),\n"
     "                 e.g. --set sweep.axes.1.range=[1,2]; the table records the sweep as changed,\n"
     "                 so a changed sweep cannot resume into the unchanged one's table (use --out)\n"
     "  --jobs N       N worker processes side by side (default 1)\n"
     "  --shard I/N    run only runs r with r mod N = I (default file OUT.shardIofN.h5)\n"
     "  --out FILE     the table (default: sweep.out, else runs/<name>/sweep.h5)\n"
     "  --merge OUT F.. join shard tables of one sweep into OUT\n"
     "  --compare FIG T.. tables side by side (two training protocols of one sweep): per\n"
     "                 table and value of --by (default hidden) the runs, test-loss mean and\n"
     "                 std, Pearson(test, train) with its 95% bootstrap interval (2000\n"
     "                 resamples); FIG plots both against the --by column, a line per table\n"
     "  --summary      print the summary and draw figures from the table; run nothing\n"
     "  --by AXES      group the summary by these columns (a,b; up to 4); default: every\n"
     "                 axis except those that set the seed, which are pooled as replicates\n"
     "  --no-figures   skip the figures\n"
     "Under mpirun, rank r runs shard r/N into OUT.shards/ and rank 0 merges them.\n"
     "Exit status 2 for a bad sweep spec (empty axis, unknown measure, missing base).\n"
     "\n"
     "example: dlx landscape configs/landscape/choromanska2015.yaml --jobs 2\n"},
    {"spec", cmd_spec, "the reference of spec keys: type, default, range and meaning",
     "usage: dlx spec [SECTION | --markdown]\n"
     "\n"
     "Prints the keys a spec may hold, each with its type, default, accepted values\n"
     "and meaning, from the tables the parser itself checks keys against.\n"
     "  (none)          list the sections (spec, model.<kind>..., data, train,\n"
     "                  optimizer.<type>, schedule.<type>, layer.<type>, sweep..., table...)\n"
     "  SECTION         that section and every section under it: train, optimizer,\n"
     "                  model.gan, layer.conv; layers: the keys of every layer and the\n"
     "                  list of layer types\n"
     "  --markdown      the whole reference as Markdown (docs/spec.md is its output)\n"
     "Exit status 2 for an unknown SECTION (the message lists the sections).\n"
     "\n"
     "example: dlx spec optimizer.adam\n"},
};
#define N_COMMANDS ((int)(sizeof k_commands / sizeof k_commands[0]))

static void print_main_help(FILE *f)
{
    fprintf(f, "dlx: train and inspect the experiments of LeCun-lab papers from YAML specs\n\n"
               "usage: dlx COMMAND [ARGS]   (dlx COMMAND --help for details)\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(f, "\nexit status: 0 done, 1 runtime failure (I/O, NaN loss, memory), 2 bad usage or spec\n");
}

int cli_print_help(const char *cmd)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(k_commands[i].name, cmd) == 0) {
            fputs(k_commands[i].usage, stdout);
            return 0;
        }
    return 2;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dlx %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see dlx %s --help)\n", cmd);
    return 2;
}

bool cli_int_arg(const char *s, long long lo, long long hi, long long *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno || x < lo || x > hi)
        return false;
    *v = x;
    return true;
}

int cli_set_arg(const char *cmd, int argc, char **argv, int *i, const char **sets, int *n, int max)
{
    const char *a = argv[*i];
    bool joined = strncmp(a, "--set=", 6) == 0;
    if (!joined && strcmp(a, "--set") != 0)
        return 0;
    if (!joined && *i + 1 >= argc)
        return cli_usage_error(cmd, "--set: expected KEY=VALUE after it");
    if (*n == max)
        return cli_usage_error(cmd, "too many --set options (at most %d)", max);
    sets[(*n)++] = joined ? a + 6 : argv[++*i];
    return 1;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

int cli_fail(const dlx_err *err)
{
    char buf[1400];
    dlx_err_format(err, buf, sizeof buf);
    fprintf(stderr, "dlx: %s\n", buf);
    return dlx_err_exit_status(err->code ? err->code : DLX_EIO);
}

int cli_load_spec(const char *path, const char *const *sets, int n_sets, dlx_spec **out, dlx_err *err)
{
    int rc = dlx_spec_load_file(path, out, err);
    for (int i = 0; i < n_sets && !rc; i++)
        rc = dlx_spec_set(*out, sets[i], err);
    if (rc && *out) {
        dlx_spec_destroy(*out);
        *out = NULL;
    }
    return rc;
}

/* OpenBLAS starts its thread pool when it is loaded, before main, and those
 * threads spin on the other cores even after openblas_set_num_threads(1).
 * dlx parallelises by itself (and a sweep runs one process per core), so it
 * wants a pool of one: when the user has not chosen, restart once with
 * OPENBLAS_NUM_THREADS=1 in the environment. */
static void single_threaded_blas(char **argv)
{
    if (getenv("OPENBLAS_NUM_THREADS") || getenv("DLX_NO_REEXEC"))
        return;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("DLX_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with the pool as it is */
}

bool cli_may_replace(const char *path, const unsigned char *sig, size_t n)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return true;
    unsigned char head[16] = {0};
    FILE *f = S_ISREG(st.st_mode) && n <= sizeof head ? fopen(path, "rb") : NULL;
    bool same = f && fread(head, 1, n, f) == n && !memcmp(head, sig, n);
    if (f)
        fclose(f);
    return same;
}

int cli_checkpoint_family_can(const char *ckpt, bool (*can)(const struct dlx_family *f), char *family, size_t fn,
                              char *with, size_t wn, dlx_err *err)
{
    dlx_ckpt_meta meta;
    int rc = dlx_ckpt_read_meta(ckpt, &meta, family, fn, err);
    if (rc)
        return rc;
    free((char *)meta.spec_text);
    const dlx_family *f = dlx_family_find(family);
    if (!f || can(f))
        return 1;
    size_t used = 0;
    with[0] = '\0';
    for (int i = 0; (f = dlx_family_at(i)) && used < wn; i++)
        if (can(f))
            used += (size_t)snprintf(with + used, wn - used, "%s%s", used ? ", " : "", f->name);
    return 0;
}

int main(int argc, char **argv)
{
    single_threaded_blas(argv);
    /* over `ulimit -f`, a write fails with EFBIG and is reported, naming the
     * file, instead of the process dying without a word */
    signal(SIGXFSZ, SIG_IGN);
    dlx_h5_quiet();
    dlx_provenance_set_command(argc, argv); /* into every HDF5 file written */
    if (argc < 2) {
        print_main_help(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        if (argc > 2 && strcmp(argv[1], "help") == 0)
            return cli_print_help(argv[2]) ? cli_usage_error("help", "unknown command '%s'", argv[2]) : 0;
        print_main_help(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("dlx %s (commit %s)\n", DLX_VERSION, dlx_provenance_commit());
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(k_commands[i].name, argv[1]) == 0) {
            if (cli_wants_help(argc - 1, argv + 1))
                return cli_print_help(argv[1]);
            int rc = k_commands[i].run(argc - 1, argv + 1);
            if (dlx_h5_close_failed()) { /* HDF5's exit handler would crash on that file id */
                fflush(NULL);
                _exit(rc);
            }
            return rc;
        }
    const char *names[N_COMMANDS + 1];
    for (int i = 0; i < N_COMMANDS; i++)
        names[i] = k_commands[i].name;
    names[N_COMMANDS] = NULL;
    const char *near = dlx_closest(argv[1], names);
    if (near)
        fprintf(stderr, "dlx: unknown command '%s'; did you mean '%s'?\n", argv[1], near);
    else
        fprintf(stderr, "dlx: unknown command '%s' (run dlx --help for the list)\n", argv[1]);
    return 2;
}
