/* The spec reference against the parsers: every section's rows are complete,
 * and every documented key of every section is accepted where that section
 * sits in a real spec, read (a value of the wrong type is refused naming the
 * key), while an undocumented key is refused there with the unknown-key
 * message. A section without a host spec below fails: a new section needs
 * one row in k_hosts. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/data.h"

#include "../core/layers.h"
#include "../experiments/model.h"
#include "../experiments/reproduce.h"
#include "../experiments/spec_ref.h"
#include "../experiments/sweep.h"

enum { MODEL, SWEEP, TABLE, LAYER };

/* Where a section's map sits: a spec of that kind and the map's dotted path
 * ("" for the top level). {dir} becomes the test's temporary directory. */
typedef struct host {
    const char *section, *text, *map;
    int kind;
} host;

#define CLF_WITH(train) "model: {kind: classifier, layers: [{type: linear, units: 2}]}\n" \
                        "data: {dataset: mnist, dir: {dir}/mnist}\ntrain: {epochs: 1, batch: 2" train "}\n"
#define CLF CLF_WITH("")
#define CLF_AUG "model: {kind: classifier, layers: [{type: linear, units: 2}]}\n" \
                "data: {dataset: mnist, dir: {dir}/mnist, augment: {shift: 1, elastic: {alpha: 1, sigma: 1}}}\n" \
                "train: {epochs: 1, batch: 2}\n"
#define CLF_OPT(type) CLF_WITH(", optimizer: {type: " type "}")
#define CLF_SCHED(type) CLF_WITH(", schedule: {type: " type "}")
#define GAN_NETS "networks: {gen: {layers: [{type: linear, units: 2}]}, disc: {layers: [{type: linear, units: 1}]}}"
#define GAN_TRAIN "train: {epochs: 1, batch: 2, optimizers: {d: {params: disc}, g: {params: gen}}, " \
                  "updates: [{loss: d_loss, optimizer: d}, {loss: g_loss, optimizer: g}]}\n"
#define GAN "model: {kind: gan, loss: ebgan, noise: {dim: 2}, " GAN_NETS "}\ndata: {dataset: ring}\n" GAN_TRAIN
#define GAN_IMG "model: {kind: gan, score: {classifier: x.h5}, " GAN_NETS "}\n" \
                "data: {dataset: mnist, dir: {dir}/mnist}\n" GAN_TRAIN
#define DIS "model: {kind: disentangle, code: {s: 1, z: 1}, weights: {rec: 1}, eval: {probe_train: 1}, networks: {enc: {layers: " \
            "[{type: linear, units: 3}]}, dec: {layers: [{type: linear, units: 784}]}, disc: {layers: [{type: " \
            "linear, units: 1}]}}}\ndata: {dataset: mnist, dir: {dir}/mnist}\ntrain: {epochs: 1, batch: 2, " \
            "optimizers: {d: {params: disc}, g: {params: [enc, dec]}}, updates: [{loss: d_loss, optimizer: d}, " \
            "{loss: g_loss, optimizer: g}]}\n"
#define LIN "model: {kind: landscape, problem: linear111}\ntrain: {steps: 10}\n"
#define REC(cell) "model: {kind: recurrent, task: {name: copy, T: 2}, cell: {type: " cell ", hidden: 4}}\n" \
                  "train: {epochs: 1}\n"
#define SC(alg, train) "model: {kind: sparse_coding, algorithm: " alg ", atoms: 4, T: [1]}\n" \
                       "data: {dataset: patches, dir: {dir}/none, train: 2, test: 2}\ntrain: " train "\n"
#define SWEEP_MODEL "model: {kind: sweep, sweep: {dir}/sweep.yaml, x: steps, collapsed: {column: steps, below: 1}}\n"
#define SWEEP_SPEC "sweep: {base: base.yaml, axes: [{key: seed, range: [1, 2]}], measures: [steps], " \
                   "figures: [{type: histogram, out: a.png, x: steps}]}\n"
#define ENERGY "model: {kind: energy, strategy: dae}\ndata: {dataset: toy_parabola, samples: 100}\ntrain: {epochs: 1}\n"
#define TABLE_SPEC "paper: P\nrows: [{name: a, spec: x.yaml}]\n"

static const host k_hosts[] = {
    {"spec", CLF, "", MODEL},
    {"model.classifier", CLF, "model", MODEL},
    {"model.classifier.loss[]",
     "model: {kind: classifier, layers: [{type: linear, units: 2}], loss: [{type: mse}]}\n"
     "data: {dataset: mnist, dir: {dir}/mnist}\ntrain: {epochs: 1, batch: 2}\n",
     "model.loss.0", MODEL},
    {"model.gan", GAN, "model", MODEL},
    {"model.gan.noise", GAN, "model.noise", MODEL},
    {"model.gan.networks", GAN, "model.networks", MODEL},
    {"model.gan.networks.NAME", GAN, "model.networks.gen", MODEL},
    {"model.gan.score", GAN_IMG, "model.score", MODEL},
    {"data.ring", GAN, "data", MODEL},
    {"model.disentangle", DIS, "model", MODEL},
    {"model.disentangle.code", DIS, "model.code", MODEL},
    {"model.disentangle.weights", DIS, "model.weights", MODEL},
    {"model.disentangle.eval", DIS, "model.eval", MODEL},
    {"model.disentangle.networks", DIS, "model.networks", MODEL},
    {"model.disentangle.networks.NAME", DIS, "model.networks.enc", MODEL},
    {"model.landscape.linear111", LIN, "model", MODEL},
    {"model.landscape.spin3", "model: {kind: landscape, problem: spin3, lambda: 3}\ntrain: {steps: 10}\n", "model",
     MODEL},
    {"train.landscape", LIN, "train", MODEL},
    {"model.recurrent", REC("rnn"), "model", MODEL},
    {"model.recurrent.task", REC("rnn"), "model.task", MODEL},
    {"model.recurrent.cell.rnn", REC("rnn"), "model.cell", MODEL},
    {"model.recurrent.cell.lstm", REC("lstm"), "model.cell", MODEL},
    {"model.sparse_coding", SC("lista", "{epochs: 1}"), "model", MODEL},
    {"model.sparse_coding.dictionary", SC("lista", "{epochs: 1}"), "model.dictionary", MODEL},
    {"model.sparse_coding.optimal", SC("lista", "{epochs: 1}"), "model.optimal", MODEL},
    {"model.sparse_coding.converge", SC("lista", "{epochs: 1}"), "model.converge", MODEL},
    {"data.sparse_coding", SC("lista", "{epochs: 1}"), "data", MODEL},
    {"train.sparse_coding", SC("fista", "{threads: 0}"), "train", MODEL},
    {"model.sweep", SWEEP_MODEL, "model", MODEL},
    {"model.sweep.collapsed", SWEEP_MODEL, "model.collapsed", MODEL},
    {"data", CLF, "data", MODEL},
    {"train", CLF, "train", MODEL},
    {"model.energy", ENERGY, "model", MODEL},
    {"data.energy", ENERGY, "data", MODEL},
    {"model.nearest", "model: {kind: nearest}\ndata: {dataset: mnist, dir: {dir}/mnist}\n", "model", MODEL},
    {"data.subsample", "model: {kind: classifier, layers: [{type: linear, units: 2}]}\n"
                       "data: {dataset: mnist, dir: {dir}/mnist, subsample: {points: 8}}\ntrain: {epochs: 1, batch: 2}\n",
     "data.subsample", MODEL},
    {"data.sphere", "model: {kind: classifier, layers: [{type: linear, units: 2}]}\n"
                    "data: {dataset: mnist, dir: {dir}/mnist, sphere: {points: 8}}\ntrain: {epochs: 1, batch: 2}\n",
     "data.sphere", MODEL},
    {"data.classifier", CLF, "data", MODEL},
    {"data.augment", CLF_AUG, "data.augment", MODEL},
    {"data.augment.elastic", CLF_AUG, "data.augment.elastic", MODEL},
    {"train.early_stopping", CLF_WITH(", early_stopping: {metric: test_loss}"), "train.early_stopping", MODEL},
    {"train.optimizers.NAME", GAN, "train.optimizers.d", MODEL},
    {"train.updates[]", GAN, "train.updates.0", MODEL},
    {"optimizer.sgd", CLF_OPT("sgd"), "train.optimizer", MODEL},
    {"optimizer.adam", CLF_OPT("adam"), "train.optimizer", MODEL},
    {"optimizer.rmsprop", CLF_OPT("rmsprop"), "train.optimizer", MODEL},
    {"schedule.constant", CLF_SCHED("constant"), "train.schedule", MODEL},
    {"schedule.step", CLF_SCHED("step"), "train.schedule", MODEL},
    {"schedule.cosine", CLF_SCHED("cosine"), "train.schedule", MODEL},
    {"schedule.inverse_time", CLF_SCHED("inverse_time, decay_steps: 60000"), "train.schedule", MODEL},
    {"sweep_spec", SWEEP_SPEC, "", SWEEP},
    {"sweep", SWEEP_SPEC, "sweep", SWEEP},
    {"sweep.axes[]", SWEEP_SPEC, "sweep.axes.0", SWEEP},
    {"sweep.hessian", SWEEP_SPEC, "sweep.hessian", SWEEP},
    {"sweep.figures[]", SWEEP_SPEC, "sweep.figures.0", SWEEP},
    {"table", TABLE_SPEC, "", TABLE},
    {"table.rows[]", TABLE_SPEC, "rows.0", TABLE},
};
#define N_HOSTS ((int)(sizeof k_hosts / sizeof k_hosts[0]))

static char g_dir[64];

/* text with {dir} replaced. */
static char *expand(const char *text)
{
    size_t n = strlen(text) + 16 * strlen(g_dir) + 1;
    char *out = malloc(n), *o = out;
    ck_assert_ptr_nonnull(out);
    for (const char *p = text; *p;) {
        if (!strncmp(p, "{dir}", 5)) {
            o += sprintf(o, "%s", g_dir);
            p += 5;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A dataset named mnist of 10 blank 28x28 images per split, in {dir}/mnist,
 * so that a classifier host gets past loading its data. */
static const char *mnist_file(int f)
{
    const dlx_dataset_info *inf = dlx_dataset_find("mnist");
    const char *names[4] = {inf->train_images, inf->train_labels, inf->test_images, inf->test_labels};
    return names[f];
}

static void fake_mnist(void)
{
    char path[160];
    snprintf(path, sizeof path, "%s/mnist", g_dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    static const uint8_t zeros[28 * 28 * 10];
    for (int f = 0; f < 4; f++) {
        bool labels = f % 2 == 1;
        const uint32_t head[4] = {labels ? 0x801u : 0x803u, 10, 28, 28};
        snprintf(path, sizeof path, "%s/mnist/%s", g_dir, mnist_file(f));
        FILE *out = fopen(path, "wb");
        ck_assert_ptr_nonnull(out);
        for (int i = 0; i < (labels ? 2 : 4); i++) { /* big-endian magic and dims */
            uint8_t be[4] = {(uint8_t)(head[i] >> 24), (uint8_t)(head[i] >> 16), (uint8_t)(head[i] >> 8),
                             (uint8_t)head[i]};
            ck_assert_uint_eq(fwrite(be, 1, 4, out), 4);
        }
        size_t n = labels ? 10 : sizeof zeros;
        ck_assert_uint_eq(fwrite(zeros, 1, n, out), n);
        ck_assert_int_eq(fclose(out), 0);
    }
}

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/dlx-specdoc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    write_file("base.yaml", LIN);
    write_file("sweep.yaml", SWEEP_SPEC);
    fake_mnist();
}

static void teardown(void)
{
    char path[160];
    const char *names[] = {"base.yaml", "sweep.yaml", "host.yaml"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, names[i]);
        unlink(path);
    }
    for (int f = 0; f < 4; f++) {
        snprintf(path, sizeof path, "%s/mnist/%s", g_dir, mnist_file(f));
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/mnist", g_dir);
    rmdir(path);
    rmdir(g_dir);
}

/* The layer entry of a type with its required keys at usable values. */
static void layer_entry(const dlx_layer_def *t, char *buf, size_t n)
{
    static const char *const usable[][2] = {{"filters", "2"}, {"kernel", "1"}, {"units", "2"}, {"shape", "[16]"},
                                            {"size", "1"},    {"vocab", "4"},  {"dim", "2"},   {"features", "2"}};
    int len = snprintf(buf, n, "layers:\n  - {type: %s", t->type);
    if (t->n_in_max > 1)
        len += snprintf(buf + len, n - (size_t)len, ", inputs: [input, input]");
    for (int k = 0; t->keys[k].key; k++) {
        if (strcmp(t->keys[k].def, "required"))
            continue;
        const char *v = NULL;
        for (size_t u = 0; u < sizeof usable / sizeof *usable; u++)
            if (!strcmp(usable[u][0], t->keys[k].key))
                v = usable[u][1];
        ck_assert_msg(v != NULL, "layer.%s: give the required key '%s' a usable value in layer_entry", t->type,
                      t->keys[k].key);
        len += snprintf(buf + len, n - (size_t)len, ", %s: %s", t->keys[k].key, v);
    }
    snprintf(buf + len, n - (size_t)len, "}\n");
}

/* Parse `text` of `kind` with `set` (KEY=VALUE on the spec) applied; the
 * error message, or "" when it parsed. */
static void parse_with(int kind, const char *text, const char *set, char *msg, size_t n)
{
    dlx_err err = {0};
    int rc;
    char *t = expand(text);
    if (kind == MODEL || kind == LAYER) {
        dlx_spec *s;
        ck_assert_int_eq(dlx_spec_load_string(t, "host.yaml", &s, &err), 0);
        ck_assert_msg(dlx_spec_set(s, set, &err) == 0, "--set %s: %s", set, err.msg);
        if (kind == MODEL) {
            dlx_model *m = NULL;
            rc = dlx_model_create(s, "", NULL, &m, &err);
            dlx_model_destroy(m);
        } else {
            dlx_params p;
            dlx_params_init(&p);
            dlx_graph *g = dlx_graph_create(&p);
            /* the 16 pixels as points too, for the layers over the points' graph
             * (spectral, graph_local, graph_maxpool: their input is (N, C, P)) */
            static double xy[32];
            for (int i = 0; i < 16; i++)
                xy[2 * i] = i % 4, xy[2 * i + 1] = i / 4;
            static const dlx_points pts = {.n = 16, .dim = 2, .xy = xy};
            g->points = &pts;
            const char *ty = strstr(t, "type: ");
            bool on_points = ty && (!strncmp(ty + 6, "spectral", 8) || !strncmp(ty + 6, "graph_", 6));
            dlx_node *x = dlx_graph_input(g, "input", on_points ? (dlx_shape){.ndim = 3, .d = {2, 1, 16}} : dlx_shape_4d(2, 1, 4, 4),
                                          false, NULL);
            dlx_layers_out out = {0};
            rc = dlx_layers_build(g, &p, dlx_spec_get(dlx_spec_root(s), "layers"), "", x, &out, &err);
            free(out.info);
            dlx_graph_destroy(g);
            dlx_params_free(&p);
            dlx_spec_destroy(s);
        }
    } else {
        write_file("host.yaml", t);
        char path[128];
        snprintf(path, sizeof path, "%s/host.yaml", g_dir);
        const char *const sets[] = {set};
        if (kind == SWEEP) {
            dlx_sweep *sw = NULL;
            rc = dlx_sweep_load_set(path, NULL, sets, 1, &sw, &err);
            dlx_sweep_destroy(sw);
        } else {
            dlx_repro *r = NULL;
            rc = dlx_repro_load_set(path, g_dir, sets, 1, &r, &err);
            dlx_repro_destroy(r);
        }
    }
    free(t);
    snprintf(msg, n, "%s", rc ? err.msg : "");
}

/* key appears in msg as a word (a path part: "train.optimizer.lr:"). */
static bool names_key(const char *msg, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = strstr(msg, key); p; p = strstr(p + 1, key)) {
        bool before = p == msg || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z'));
        char c = p[n];
        bool after = !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
        if (before && after)
            return true;
    }
    return false;
}

/* The section's keys where it sits: an undocumented one refused as unknown,
 * each documented one accepted and read (a nested list is refused naming it). */
static void check_section(const dlx_spec_section *s, int kind, const char *text, const char *map)
{
    char full[96], set[256], msg[1024];
    dlx_spec_section_name(s, full, sizeof full);
    const char *dot = map[0] ? "." : "";
    snprintf(set, sizeof set, "%s%szz_undocumented=1", map, dot);
    parse_with(kind, text, set, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "'zz_undocumented' is not a key of") != NULL,
                  "%s: an undocumented key at %s was not refused as unknown: '%s'", full, map[0] ? map : "the top",
                  msg);
    for (int k = 0; s->keys[k].key; k++) {
        const dlx_key_doc *d = &s->keys[k];
        snprintf(set, sizeof set, "%s%s%s=[[0]]", map, dot, d->key);
        parse_with(kind, text, set, msg, sizeof msg);
        ck_assert_msg(strstr(msg, "is not a key of") == NULL, "%s: documented key '%s' refused: %s", full, d->key,
                      msg);
        if (!strstr(d->range, "not read"))
            ck_assert_msg(names_key(msg, d->key), "%s: '%s: [[0]]' did not fail on that key (is it read?): '%s'",
                          full, d->key, msg);
    }
}

START_TEST(rows_complete)
{
    dlx_spec_section s, t;
    int n = 0;
    for (; dlx_spec_ref_at(n, &s); n++) {
        char a[96], b[96];
        dlx_spec_section_name(&s, a, sizeof a);
        ck_assert_msg(s.where && s.where[0] && s.keys, "%s: no description or table", a);
        for (int j = 0; j < n; j++) {
            ck_assert(dlx_spec_ref_at(j, &t));
            ck_assert_msg(strcmp(a, dlx_spec_section_name(&t, b, sizeof b)) != 0, "section %s twice", a);
        }
        for (int k = 0; s.keys[k].key; k++) {
            const dlx_key_doc *d = &s.keys[k];
            ck_assert_msg(d->key[0] && d->type && d->type[0] && d->def && d->def[0] && d->range && d->meaning &&
                              d->meaning[0],
                          "%s.%s: a field is empty", a, d->key);
            for (int j = 0; j < k; j++)
                ck_assert_msg(strcmp(s.keys[j].key, d->key) != 0, "%s: key %s twice", a, d->key);
        }
    }
    ck_assert_int_ge(n, 40);
    ck_assert(!dlx_spec_ref_at(n, &s) && !dlx_spec_ref_at(-1, &s));
    /* every layer type of the op registry has its section */
    for (int i = 0; dlx_layer_type_at(i); i++) {
        char name[64];
        snprintf(name, sizeof name, "layer.%s", dlx_layer_type_at(i)->type);
        ck_assert_msg(dlx_spec_ref_matches(name), "no section %s", name);
    }
}
END_TEST

/* Sections other than layers, each where its host spec puts it. */
START_TEST(keys_accepted_and_read)
{
    dlx_spec_section s;
    int checked = 0;
    for (int i = 0; dlx_spec_ref_at(i, &s); i++) {
        char full[96];
        dlx_spec_section_name(&s, full, sizeof full);
        if (!strncmp(full, "layer", 5))
            continue;
        const host *h = NULL;
        for (int j = 0; j < N_HOSTS && !h; j++)
            if (!strcmp(k_hosts[j].section, full))
                h = &k_hosts[j];
        ck_assert_msg(h != NULL, "section %s has no host spec in tests/test_spec_doc.c", full);
        check_section(&s, h->kind, h->text, h->map);
        checked++;
    }
    ck_assert_int_ge(checked, N_HOSTS);
}
END_TEST

/* Every layer section: the common keys, the repeat block and each type. */
START_TEST(layer_keys_accepted_and_read)
{
    dlx_spec_section s;
    char text[512];
    for (int i = 0; dlx_layer_section_at(i, &s); i++) {
        if (i == 0)
            snprintf(text, sizeof text, "layers:\n  - {type: linear, units: 2}\n");
        else if (i == 1)
            snprintf(text, sizeof text, "layers:\n  - {repeat: 2, layers: [{type: relu}]}\n");
        else
            layer_entry(dlx_layer_type_at(i - 2), text, sizeof text);
        check_section(&s, LAYER, text, "layers.0");
    }
}
END_TEST

Suite *spec_doc_suite(void)
{
    Suite *s = suite_create("spec_doc");
    TCase *tc = tcase_create("reference");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rows_complete);
    tcase_add_test(tc, keys_accepted_and_read);
    tcase_add_test(tc, layer_keys_accepted_and_read);
    suite_add_tcase(s, tc);
    return s;
}
