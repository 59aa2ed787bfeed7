/* The spec's typed getters (core/spec.h): keys that are not allowed (with
 * the "did you mean" hint or the allowed list), values of the wrong type or
 * out of range, integer and float parsing, bools, strings and enums, integer
 * lists, required keys against defaults, and dlx_spec_expect_seq/map; each
 * error's message with its file:line:col. Parsing, --set, dump and the
 * suggestions are tested in test_spec.c; the helpers both files share are in
 * spec_fixture.h. Fixture files live in tests/data/specs/, found from
 * $DLX_SRC_DIR (default: the current directory). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/spec.h"
#include "spec_fixture.h"

/* ------------------------------------------------------------- getters */

START_TEST(test_unknown_key)
{
    dlx_spec *s = NULL;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_load_file(spec_fixture("unknown_key.yaml"), &s, &e), 0);
    dlx_spec_node *conv = dlx_spec_path(s, "model.layers.1");
    static const char *const conv_keys[] = {"type",    "filters", "kernel", "stride",
                                            "pad",     "activation", NULL};
    ck_assert_int_eq(dlx_spec_check_keys(conv, "conv", conv_keys, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), spec_at("unknown_key.yaml", 5, 7,
                                           "model.layers[1]: 'kernal' is not a key of conv; did you mean "
                                           "'kernel'?"));
    static const char *const far[] = {"filters", "stride", "pad", NULL};
    ck_assert_int_eq(dlx_spec_check_keys(conv, "conv", far, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), spec_at("unknown_key.yaml", 4, 7,
                                           "model.layers[1]: 'type' is not a key of conv (allowed: "
                                           "filters, stride, pad)"));
    static const char *const top[] = {"model", "data", "train", NULL};
    ck_assert_int_eq(dlx_spec_check_keys(dlx_spec_root(s), "the spec", top, &e), 0);
    static const char *const none[] = {NULL};
    ck_assert_int_eq(dlx_spec_check_keys(dlx_spec_root(s), "the spec", none, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), spec_at("unknown_key.yaml", 1, 1,
                                           "'model' is not a key of the spec (allowed: none)"));
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_wrong_type)
{
    dlx_spec *s = NULL;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_load_file(spec_fixture("wrong_type.yaml"), &s, &e), 0);
    dlx_spec_node *train = dlx_spec_path(s, "train");
    int64_t i = 42;
    double d = 42;
    bool b = true;
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 1, 1, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     spec_at("wrong_type.yaml", 4, 11, "train.epochs: expected an integer, got 'ten'"));
    ck_assert_int_eq(i, 42);
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, 0, 1, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), spec_at("wrong_type.yaml", 5, 7,
                                           "train.lr: expected a number, got the string '0.1'"));
    ck_assert_int_eq(dlx_spec_bool(train, "shuffle", false, true, &b, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), spec_at("wrong_type.yaml", 6, 12,
                                           "train.shuffle: expected true or false, got 'maybe'"));
    /* A mapping where a scalar belongs. */
    ck_assert_int_eq(dlx_spec_int(dlx_spec_root(s), "model", true, 1, 1, 100, &i, &e),
                     DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     spec_at("wrong_type.yaml", 2, 3, "model: expected an integer, got a mapping"));
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_out_of_range)
{
    dlx_spec *s = NULL;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_load_file(spec_fixture("out_of_range.yaml"), &s, &e), 0);
    dlx_spec_node *train = dlx_spec_path(s, "train");
    int64_t i;
    double d;
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 1, 1, 100000, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), spec_at("out_of_range.yaml", 2, 11,
                                           "train.epochs: must be between 1 and 100000, got 0"));
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 1, 1, INT64_MAX, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     spec_at("out_of_range.yaml", 2, 11, "train.epochs: must be at least 1, got 0"));
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 1, INT64_MIN, -1, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     spec_at("out_of_range.yaml", 2, 11, "train.epochs: must be at most -1, got 0"));
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, 0, 1, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     spec_at("out_of_range.yaml", 3, 7, "train.lr: must be between 0 and 1, got 1.5"));
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, 2, HUGE_VAL, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     spec_at("out_of_range.yaml", 3, 7, "train.lr: must be at least 2, got 1.5"));
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, -HUGE_VAL, 0.5, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     spec_at("out_of_range.yaml", 3, 7, "train.lr: must be at most 0.5, got 1.5"));
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, 0, 2, &d, &e), 0);
    ck_assert(d == 1.5);
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_int_parsing)
{
    dlx_spec *s = spec_load("a: 12\nb: -7\nc: +3\nd: 1e3\ne: 1_000\nf: 0x10\ng: 3.0\nh: '3'\n"
                            "i: 99999999999999999999\nj: \nk: [1]\nl: 9223372036854775807\nm: 007\n");
    dlx_spec_node *r = dlx_spec_root(s);
    dlx_err e = {0};
    int64_t v;
    ck_assert_int_eq(dlx_spec_int(r, "a", true, 0, INT64_MIN, INT64_MAX, &v, &e), 0);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(dlx_spec_int(r, "b", true, 0, INT64_MIN, INT64_MAX, &v, &e), 0);
    ck_assert_int_eq(v, -7);
    ck_assert_int_eq(dlx_spec_int(r, "c", true, 0, INT64_MIN, INT64_MAX, &v, &e), 0);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(dlx_spec_int(r, "l", true, 0, INT64_MIN, INT64_MAX, &v, &e), 0);
    ck_assert(v == INT64_MAX);
    ck_assert_int_eq(dlx_spec_int(r, "m", true, 0, INT64_MIN, INT64_MAX, &v, &e), 0);
    ck_assert_int_eq(v, 7);
    static const struct {
        const char *key, *msg;
    } bad[] = {
        {"d", "t.yaml:4:4: error: d: expected an integer, got '1e3'"},
        {"e", "t.yaml:5:4: error: e: expected an integer, got '1_000'"},
        {"f", "t.yaml:6:4: error: f: expected an integer, got '0x10'"},
        {"g", "t.yaml:7:4: error: g: expected an integer, got '3.0'"},
        {"h", "t.yaml:8:4: error: h: expected an integer, got the string '3'"},
        {"i", "t.yaml:9:4: error: i: '99999999999999999999' is too large for an integer"},
        {"j", "t.yaml:10:3: error: j: expected an integer, got null"},
        {"k", "t.yaml:11:4: error: k: expected an integer, got a sequence"},
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        v = 1234;
        ck_assert_int_eq(dlx_spec_int(r, bad[t].key, true, 0, INT64_MIN, INT64_MAX, &v, &e),
                         DLX_EINVAL);
        ck_assert_str_eq(spec_msg(&e), bad[t].msg);
        ck_assert_int_eq(v, 1234);
    }
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_float_parsing)
{
    dlx_spec *s = spec_load("a: 1e-3\nb: .5\nc: -2\nd: 5.\ne: inf\nf: nan\ng: .inf\nh: 1e999\n"
                            "i: 0x1p3\nj: abc\nk: \"2\"\nl: -1.5E+2\n");
    dlx_spec_node *r = dlx_spec_root(s);
    dlx_err e = {0};
    double v;
    static const struct {
        const char *key;
        double want;
    } good[] = {{"a", 1e-3}, {"b", 0.5}, {"c", -2}, {"d", 5}, {"l", -150}};
    for (size_t t = 0; t < sizeof good / sizeof good[0]; t++) {
        ck_assert_int_eq(dlx_spec_float(r, good[t].key, true, 0, -1e9, 1e9, &v, &e), 0);
        ck_assert(v == good[t].want);
    }
    static const struct {
        const char *key, *msg;
    } bad[] = {
        {"e", "t.yaml:5:4: error: e: expected a number, got 'inf'"},
        {"f", "t.yaml:6:4: error: f: expected a number, got 'nan'"},
        {"g", "t.yaml:7:4: error: g: expected a number, got '.inf'"},
        {"h", "t.yaml:8:4: error: h: expected a number, got '1e999'"},
        {"i", "t.yaml:9:4: error: i: expected a number, got '0x1p3'"},
        {"j", "t.yaml:10:4: error: j: expected a number, got 'abc'"},
        {"k", "t.yaml:11:4: error: k: expected a number, got the string '2'"},
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        ck_assert_int_eq(dlx_spec_float(r, bad[t].key, true, 0, -1e9, 1e9, &v, &e), DLX_EINVAL);
        ck_assert_str_eq(spec_msg(&e), bad[t].msg);
    }
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_bool_str_enum)
{
    dlx_spec *s = spec_load("a: yes\nb: Off\nc: TRUE\nd: 'true'\nname: run 1\nq: \"007\"\n"
                            "m: {x: 1}\nopt: sgdd\nopt2: SGD\nopt3: lbfgs\nopt4: [sgd]\n");
    dlx_spec_node *r = dlx_spec_root(s);
    dlx_err e = {0};
    bool b;
    ck_assert_int_eq(dlx_spec_bool(r, "a", true, false, &b, &e), 0);
    ck_assert(b);
    ck_assert_int_eq(dlx_spec_bool(r, "b", true, true, &b, &e), 0);
    ck_assert(!b);
    ck_assert_int_eq(dlx_spec_bool(r, "c", true, false, &b, &e), 0);
    ck_assert(b);
    ck_assert_int_eq(dlx_spec_bool(r, "d", true, false, &b, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     "t.yaml:4:4: error: d: expected true or false, got the string 'true'");

    const char *str = NULL;
    ck_assert_int_eq(dlx_spec_str(r, "name", true, NULL, &str, &e), 0);
    ck_assert_str_eq(str, "run 1");
    ck_assert_int_eq(dlx_spec_str(r, "q", true, NULL, &str, &e), 0);
    ck_assert_str_eq(str, "007");
    ck_assert_int_eq(dlx_spec_str(r, "a", true, NULL, &str, &e), 0);
    ck_assert_str_eq(str, "yes");
    ck_assert_int_eq(dlx_spec_str(r, "m", true, NULL, &str, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:7:4: error: m: expected a string, got a mapping");
    str = "unchanged";
    ck_assert_int_eq(dlx_spec_str(r, "absent", false, NULL, &str, &e), 0);
    ck_assert_ptr_null(str);
    ck_assert_ptr_null(dlx_spec_get(r, "absent")); /* NULL default: nothing inserted */
    ck_assert_int_eq(dlx_spec_node_str(dlx_spec_get(r, "name"), &str, &e), 0);
    ck_assert_str_eq(str, "run 1");

    static const char *const opts[] = {"sgd", "adam", "rmsprop", NULL};
    int k = -5;
    ck_assert_int_eq(dlx_spec_enum(r, "opt", true, opts, 0, &k, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:8:6: error: opt: unknown value 'sgdd'; did you mean 'sgd'? "
                              "(one of: sgd, adam, rmsprop)");
    ck_assert_int_eq(dlx_spec_enum(r, "opt2", true, opts, 0, &k, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:9:7: error: opt2: unknown value 'SGD'; did you mean 'sgd'? "
                              "(one of: sgd, adam, rmsprop)");
    ck_assert_int_eq(dlx_spec_enum(r, "opt3", true, opts, 0, &k, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e),
                     "t.yaml:10:7: error: opt3: unknown value 'lbfgs' (one of: sgd, adam, rmsprop)");
    ck_assert_int_eq(dlx_spec_enum(r, "opt4", true, opts, 0, &k, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:11:7: error: opt4: expected one of: sgd, adam, rmsprop, "
                              "got a sequence");
    ck_assert_int_eq(k, -5);
    ck_assert_int_eq(dlx_spec_enum(r, "absent", false, opts, -1, &k, &e), 0);
    ck_assert_int_eq(k, -1);
    ck_assert_ptr_null(dlx_spec_get(r, "absent"));
    ck_assert_int_eq(dlx_spec_enum(r, "absent", false, opts, 2, &k, &e), 0);
    ck_assert_int_eq(k, 2);
    ck_assert_str_eq(dlx_spec_get(r, "absent")->scalar, "rmsprop");
    ck_assert_int_eq(dlx_spec_enum(r, "absent", true, opts, 0, &k, &e), 0);
    ck_assert_int_eq(k, 2);
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_int_list)
{
    dlx_spec *s = spec_load("a: [10, 20]\nb:\n  - 1\n  - 2\n  - 3\nc: 7\nd: []\ne: [1, x]\n"
                            "f: {x: 1}\ng: [1, 0]\n");
    dlx_spec_node *r = dlx_spec_root(s);
    dlx_err e = {0};
    int64_t v[4] = {0};
    int n = -1;
    ck_assert_int_eq(dlx_spec_int_list(r, "a", true, 1, 100, v, 4, &n, &e), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(v[0], 10);
    ck_assert_int_eq(v[1], 20);
    ck_assert_int_eq(dlx_spec_int_list(r, "b", true, 1, 100, v, 4, &n, &e), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(v[2], 3);
    ck_assert_int_eq(dlx_spec_int_list(r, "c", true, 1, 100, v, 4, &n, &e), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(v[0], 7);
    ck_assert_int_eq(dlx_spec_int_list(r, "d", true, 1, 100, v, 4, &n, &e), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(dlx_spec_int_list(r, "b", true, 1, 100, v, 2, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:3:3: error: b: at most 2 values, got 3");
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(dlx_spec_int_list(r, "e", true, 1, 100, v, 4, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:8:8: error: e[1]: expected an integer, got 'x'");
    ck_assert_int_eq(dlx_spec_int_list(r, "f", true, 1, 100, v, 4, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:9:4: error: f: expected a list of integers, got a mapping");
    ck_assert_int_eq(dlx_spec_int_list(r, "g", true, 1, 100, v, 4, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:10:8: error: g[1]: must be between 1 and 100, got 0");
    n = 9;
    ck_assert_int_eq(dlx_spec_int_list(r, "absent", false, 1, 100, v, 4, &n, &e), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(dlx_spec_get(r, "absent"));
    ck_assert_int_eq(dlx_spec_int_list(r, "absent", true, 1, 100, v, 4, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:1:1: error: missing required key 'absent'");

    int64_t x;
    ck_assert_int_eq(dlx_spec_node_int(dlx_spec_path(s, "b.1"), 0, 10, &x, &e), 0);
    ck_assert_int_eq(x, 2);
    ck_assert_int_eq(dlx_spec_node_int(dlx_spec_path(s, "b.1"), 5, 10, &x, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:4:5: error: b[1]: must be between 5 and 10, got 2");
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_required_and_defaults)
{
    dlx_spec *s = spec_load("model:\n  kind: mlp\ntrain:\n  lr: 0.5\nempty:\ndata: 3\n");
    dlx_spec_node *r = dlx_spec_root(s);
    dlx_spec_node *train = dlx_spec_get(r, "train");
    dlx_err e = {0};
    int64_t i = 0;
    double d = 0;
    bool b = false;
    const char *str = NULL;
    int k = -1;
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 5, 1, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:4:3: error: train: missing required key 'epochs'");
    ck_assert_int_eq(dlx_spec_int(r, "seed", true, 5, 1, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:1:1: error: missing required key 'seed'");
    /* Parent absent: required keys have nowhere to point at. */
    ck_assert_int_eq(dlx_spec_int(NULL, "epochs", true, 5, 1, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "error: missing required key 'epochs'");
    ck_assert_int_eq(dlx_spec_int(NULL, "epochs", false, 5, 1, 100, &i, &e), 0);
    ck_assert_int_eq(i, 5);
    ck_assert_int_eq(dlx_spec_float(NULL, "lr", false, 0.25, 0, 1, &d, &e), 0);
    ck_assert(d == 0.25);
    /* A parent that is not a mapping. */
    ck_assert_int_eq(dlx_spec_int(dlx_spec_get(r, "data"), "n", false, 5, 1, 100, &i, &e),
                     DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:6:7: error: data: expected a mapping, got '3'");

    /* Defaults go into the tree, at the map's location. */
    ck_assert_int_eq(dlx_spec_int(train, "epochs", false, 10, 1, 100, &i, &e), 0);
    ck_assert_int_eq(i, 10);
    ck_assert_int_eq(dlx_spec_float(train, "momentum", false, 0.9, 0, 1, &d, &e), 0);
    ck_assert(d == 0.9);
    ck_assert_int_eq(dlx_spec_float(train, "lr", false, 0.1, 0, 1, &d, &e), 0);
    ck_assert(d == 0.5);
    ck_assert_int_eq(dlx_spec_bool(train, "shuffle", false, true, &b, &e), 0);
    ck_assert(b);
    ck_assert_int_eq(dlx_spec_str(train, "name", false, "baseline run", &str, &e), 0);
    ck_assert_str_eq(str, "baseline run");
    ck_assert_int_eq(dlx_spec_str(train, "tag", false, "10", &str, &e), 0);
    ck_assert_str_eq(str, "10");
    static const char *const opts[] = {"sgd", "adam", NULL};
    ck_assert_int_eq(dlx_spec_enum(train, "optimizer", false, opts, 1, &k, &e), 0);
    ck_assert_int_eq(k, 1);
    dlx_spec_node *ep = dlx_spec_get(train, "epochs");
    ck_assert_str_eq(ep->path, "train.epochs");
    ck_assert_int_eq(ep->loc.line, 4);
    ck_assert_int_eq(ep->loc.col, 3);
    /* Reading it again finds the inserted value. */
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 99, 1, 100, &i, &e), 0);
    ck_assert_int_eq(i, 10);
    ck_assert_int_eq(dlx_spec_str(train, "tag", true, NULL, &str, &e), 0);
    ck_assert_str_eq(str, "10");
    ck_assert_int_eq(dlx_spec_int(train, "tag", true, 0, 0, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:4:3: error: train.tag: expected an integer, got the "
                              "string '10'");

    /* `empty:` (null) counts as an empty mapping and takes defaults. */
    dlx_spec_node *empty = dlx_spec_get(r, "empty");
    ck_assert_int_eq(dlx_spec_check_keys(empty, "empty", opts, &e), 0);
    ck_assert_int_eq(dlx_spec_int(empty, "n", true, 1, 1, 9, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:5:7: error: empty: missing required key 'n'");
    ck_assert_int_eq(dlx_spec_int(empty, "n", false, 3, 1, 9, &i, &e), 0);
    ck_assert_int_eq(empty->kind, DLX_SPEC_MAP);

    char *text = spec_round_trip(s);
    ck_assert_str_eq(text, "model:\n"
                           "  kind: mlp\n"
                           "train:\n"
                           "  lr: 0.5\n"
                           "  epochs: 10\n"
                           "  momentum: 0.9\n"
                           "  shuffle: true\n"
                           "  name: baseline run\n"
                           "  tag: \"10\"\n"
                           "  optimizer: adam\n"
                           "empty:\n"
                           "  n: 3\n"
                           "data: 3\n");
    free(text);
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_expect)
{
    dlx_spec *s = spec_load("model:\n  layers: 3\n  kind: [a]\nx:\n");
    dlx_err e = {0};
    dlx_spec_node *layers = dlx_spec_path(s, "model.layers");
    ck_assert_int_eq(dlx_spec_expect_seq(layers, "layers", &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:2:11: error: model.layers: layers must be a sequence, got '3'");
    ck_assert_int_eq(dlx_spec_expect_map(layers, "layers", &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "t.yaml:2:11: error: model.layers: layers must be a mapping, got '3'");
    ck_assert_int_eq(dlx_spec_expect_seq(dlx_spec_path(s, "model.kind"), "kind", &e), 0);
    ck_assert_int_eq(dlx_spec_expect_map(dlx_spec_path(s, "model"), "model", &e), 0);
    ck_assert_int_eq(dlx_spec_expect_map(dlx_spec_path(s, "x"), "x", &e), 0);
    ck_assert_int_eq(dlx_spec_expect_map(dlx_spec_path(s, "data"), "data", &e), DLX_EINVAL);
    ck_assert_str_eq(spec_msg(&e), "error: data is missing");
    dlx_spec_destroy(s);
}
END_TEST

Suite *spec_getters_suite(void)
{
    Suite *s = suite_create("spec_getters");
    TCase *tc = tcase_create("getters");
    tcase_add_test(tc, test_unknown_key);
    tcase_add_test(tc, test_wrong_type);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_int_parsing);
    tcase_add_test(tc, test_float_parsing);
    tcase_add_test(tc, test_bool_str_enum);
    tcase_add_test(tc, test_int_list);
    tcase_add_test(tc, test_required_and_defaults);
    tcase_add_test(tc, test_expect);
    suite_add_tcase(s, tc);
    return s;
}
