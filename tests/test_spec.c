/* Spec parsing, getters, --set and dump. Fixture files live in
 * tests/data/specs/, found from $DLX_SRC_DIR (default: the current directory). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/spec.h"

static char g_msg[2048];

static const char *fmt(const dlx_err *e)
{
    dlx_err_format(e, g_msg, sizeof g_msg);
    return g_msg;
}

/* "tests/data/specs/<name>", under $DLX_SRC_DIR when that is set. */
static const char *fixture(const char *name)
{
    static char path[1024];
    const char *dir = getenv("DLX_SRC_DIR");
    if (!dir || !*dir || !strcmp(dir, "."))
        snprintf(path, sizeof path, "tests/data/specs/%s", name);
    else
        snprintf(path, sizeof path, "%s/tests/data/specs/%s", dir, name);
    return path;
}

/* Expected formatted message for a fixture: "<path>:<line>:<col>: error: <msg>". */
static const char *at(const char *name, int line, int col, const char *msg)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s:%d:%d: error: %s", fixture(name), line, col, msg);
    return buf;
}

static dlx_spec *load(const char *text)
{
    dlx_spec *s = NULL;
    dlx_err e = {0};
    int rc = dlx_spec_load_string(text, "t.yaml", &s, &e);
    ck_assert_msg(rc == 0, "load failed: %s", fmt(&e));
    return s;
}

static const char *load_fail(const char *text, int want_rc)
{
    dlx_spec *s = (dlx_spec *)1;
    dlx_err e = {0};
    int rc = dlx_spec_load_string(text, "t.yaml", &s, &e);
    ck_assert_int_eq(rc, want_rc);
    ck_assert_ptr_null(s);
    return fmt(&e);
}

static const char *load_file_fail(const char *name, int want_rc)
{
    dlx_spec *s = (dlx_spec *)1;
    dlx_err e = {0};
    int rc = dlx_spec_load_file(fixture(name), &s, &e);
    ck_assert_int_eq(rc, want_rc);
    ck_assert_ptr_null(s);
    return fmt(&e);
}

static bool tree_equal(const dlx_spec_node *a, const dlx_spec_node *b)
{
    if (a->kind != b->kind || a->n != b->n || strcmp(a->path, b->path))
        return false;
    if (a->kind == DLX_SPEC_SCALAR)
        return a->quoted == b->quoted && !strcmp(a->scalar, b->scalar);
    for (int i = 0; i < a->n; i++) {
        if (a->kind == DLX_SPEC_MAP && strcmp(a->keys[i], b->keys[i]))
            return false;
        if (!tree_equal(a->items[i], b->items[i]))
            return false;
    }
    return true;
}

/* dump, re-load, compare; returns the dump (caller frees). */
static char *round_trip(const dlx_spec *s)
{
    char *text = dlx_spec_dump(s);
    ck_assert_ptr_nonnull(text);
    dlx_spec *s2 = NULL;
    dlx_err e = {0};
    int rc = dlx_spec_load_string(text, "dump.yaml", &s2, &e);
    ck_assert_msg(rc == 0, "dump does not re-parse: %s\n%s", fmt(&e), text);
    ck_assert_msg(tree_equal(dlx_spec_root(s), dlx_spec_root(s2)), "round trip differs:\n%s",
                  text);
    dlx_spec_destroy(s2);
    return text;
}

/* ------------------------------------------------------------- parsing */

START_TEST(test_locations)
{
    dlx_spec *s = load("model:\n"
                       "  kind: mlp\n"
                       "  layers:\n"
                       "    - {type: dense, units: 10}\n"
                       "    - type: conv\n"
                       "      kernel: [3, 3]\n"
                       "train:\n"
                       "  name: 'x'\n"
                       "  empty:\n"
                       "  tilde: ~\n");
    ck_assert_str_eq(dlx_spec_file(s), "t.yaml");
    dlx_spec_node *r = dlx_spec_root(s);
    ck_assert_int_eq(r->kind, DLX_SPEC_MAP);
    ck_assert_str_eq(r->path, "");
    ck_assert_int_eq(r->loc.line, 1);
    ck_assert_int_eq(r->loc.col, 1);
    ck_assert_str_eq(r->loc.file, "t.yaml");
    ck_assert_int_eq(r->n, 2);
    ck_assert_str_eq(r->keys[1], "train");
    ck_assert_int_eq(r->key_locs[1].line, 7);
    ck_assert_int_eq(r->key_locs[1].col, 1);

    dlx_spec_node *kind = dlx_spec_path(s, "model.kind");
    ck_assert_ptr_nonnull(kind);
    ck_assert_str_eq(kind->scalar, "mlp");
    ck_assert_str_eq(kind->path, "model.kind");
    ck_assert_int_eq(kind->loc.line, 2);
    ck_assert_int_eq(kind->loc.col, 9);
    ck_assert(!kind->quoted);

    dlx_spec_node *model = dlx_spec_get(r, "model");
    ck_assert_int_eq(model->key_locs[1].line, 3);
    ck_assert_int_eq(model->key_locs[1].col, 3);

    dlx_spec_node *l0 = dlx_spec_path(s, "model.layers.0");
    ck_assert_int_eq(l0->kind, DLX_SPEC_MAP);
    ck_assert_str_eq(l0->path, "model.layers[0]");
    ck_assert_int_eq(l0->loc.line, 4);
    ck_assert_int_eq(l0->loc.col, 7);
    ck_assert_int_eq(l0->key_locs[1].col, 21);
    dlx_spec_node *units = dlx_spec_get(l0, "units");
    ck_assert_str_eq(units->path, "model.layers[0].units");
    ck_assert_int_eq(units->loc.col, 28);

    dlx_spec_node *k1 = dlx_spec_path(s, "model.layers.1.kernel.1");
    ck_assert_ptr_nonnull(k1);
    ck_assert_str_eq(k1->path, "model.layers[1].kernel[1]");
    ck_assert_str_eq(k1->scalar, "3");
    ck_assert_int_eq(k1->loc.line, 6);
    ck_assert_int_eq(k1->loc.col, 19);
    ck_assert_int_eq(dlx_spec_path(s, "model.layers.1")->loc.col, 7);

    dlx_spec_node *name = dlx_spec_path(s, "train.name");
    ck_assert(name->quoted);
    ck_assert_str_eq(name->scalar, "x");
    ck_assert_int_eq(dlx_spec_path(s, "train.empty")->kind, DLX_SPEC_NULL);
    ck_assert_int_eq(dlx_spec_path(s, "train.tilde")->kind, DLX_SPEC_NULL);

    ck_assert_ptr_eq(dlx_spec_path(s, ""), r);
    ck_assert_ptr_null(dlx_spec_path(s, "model.layers.2"));
    ck_assert_ptr_null(dlx_spec_path(s, "model.layers.x"));
    ck_assert_ptr_null(dlx_spec_path(s, "model.kind.x"));
    ck_assert_ptr_null(dlx_spec_path(s, "nope"));
    ck_assert_ptr_null(dlx_spec_get(kind, "x"));
    ck_assert_ptr_null(dlx_spec_get(NULL, "x"));
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_fixture_errors)
{
    ck_assert_str_eq(load_file_fail("malformed.yaml", DLX_EINVAL),
                     at("malformed.yaml", 4, 17,
                        "invalid YAML: mapping values are not allowed in this context"));
    ck_assert_str_eq(load_file_fail("duplicate_key.yaml", DLX_EINVAL),
                     at("duplicate_key.yaml", 6, 3, "train: duplicate key 'lr' (first at line 4)"));
    ck_assert_str_eq(load_file_fail("alias.yaml", DLX_EINVAL),
                     at("alias.yaml", 1, 11, "YAML anchors and aliases are not supported"));
    char want[1200];
    snprintf(want, sizeof want,
             "%s: error: spec is empty: expected a mapping with model:, data: and train:",
             fixture("empty.yaml"));
    ck_assert_str_eq(load_file_fail("empty.yaml", DLX_EINVAL), want);
    ck_assert_str_eq(load_file_fail("not_a_map.yaml", DLX_EINVAL),
                     at("not_a_map.yaml", 1, 1,
                        "the top level must be a mapping with model:, data: and train:, got a "
                        "sequence"));
    snprintf(want, sizeof want, "%s: error: cannot open spec: No such file or directory",
             fixture("no_such_file.yaml"));
    ck_assert_str_eq(load_file_fail("no_such_file.yaml", DLX_EIO), want);
}
END_TEST

START_TEST(test_parse_errors)
{
    ck_assert_str_eq(load_fail("a: 1\nb: *x\n", DLX_EINVAL),
                     "t.yaml:2:4: error: YAML aliases are not supported");
    ck_assert_str_eq(load_fail("a: 1\n---\nb: 2\n", DLX_EINVAL),
                     "t.yaml:2:1: error: a spec is one YAML document; found a second one here");
    ck_assert_str_eq(load_fail("a: !!str 3\n", DLX_EINVAL),
                     "t.yaml:1:4: error: YAML tags are not supported ('tag:yaml.org,2002:str')");
    ck_assert_str_eq(load_fail("a:\n  [1, 2]: x\n", DLX_EINVAL),
                     "t.yaml:2:3: error: a: mapping keys must be plain strings, got a sequence");
    ck_assert_str_eq(load_fail("", DLX_EINVAL),
                     "t.yaml: error: spec is empty: expected a mapping with model:, data: and "
                     "train:");
    ck_assert_str_eq(load_fail("---\n", DLX_EINVAL),
                     "t.yaml: error: spec is empty: expected a mapping with model:, data: and "
                     "train:");
    ck_assert_str_eq(load_fail("\"just a string\"\n", DLX_EINVAL),
                     "t.yaml:1:1: error: the top level must be a mapping with model:, data: and "
                     "train:, got the string 'just a string'");
    /* The reader reports a byte offset; we turn it into line:col. */
    ck_assert_str_eq(load_fail("a: 1\nb: x\xff\n", DLX_EINVAL),
                     "t.yaml:2:5: error: invalid YAML: invalid leading UTF-8 octet");
    ck_assert_str_eq(load_fail("a: [1, 2\n", DLX_EINVAL),
                     "t.yaml:2:1: error: invalid YAML: did not find expected ',' or ']' "
                     "(while parsing a flow sequence at line 1)");
    ck_assert_str_eq(load_fail("a: \"x\\0y\"\n", DLX_EINVAL),
                     "t.yaml:1:4: error: a: NUL characters are not allowed");
}
END_TEST

/* Depth is limited so that no input can exhaust the stack. */
START_TEST(test_deep_nesting)
{
    char text[600];
    char *p = text;
    p += sprintf(p, "a: ");
    for (int i = 0; i < 64; i++)
        *p++ = '[';
    for (int i = 0; i < 64; i++)
        *p++ = ']';
    strcpy(p, "\n");
    dlx_spec *s = load(text); /* 64 levels below the root map: fine */
    dlx_spec_destroy(s);

    p = text + 3;
    for (int i = 0; i < 65; i++)
        *p++ = '[';
    for (int i = 0; i < 65; i++)
        *p++ = ']';
    strcpy(p, "\n");
    ck_assert_str_eq(load_fail(text, DLX_EINVAL),
                     "t.yaml:1:68: error: nesting is deeper than 64 levels");

    /* Very deep input is stopped early, not parsed to the end. */
    size_t n = 200000;
    char *big = malloc(2 * n + 8);
    memcpy(big, "a: ", 3);
    memset(big + 3, '[', n);
    big[3 + n] = '\0';
    ck_assert_str_eq(load_fail(big, DLX_EINVAL),
                     "t.yaml:1:68: error: nesting is deeper than 64 levels");
    free(big);
}
END_TEST

START_TEST(test_huge_scalar)
{
    size_t n = 1 << 20;
    char *big = malloc(n + 16);
    memcpy(big, "k: ", 3);
    memset(big + 3, 'x', n);
    strcpy(big + 3 + n, "\n");
    dlx_spec *s = load(big);
    dlx_spec_node *k = dlx_spec_path(s, "k");
    ck_assert_uint_eq(strlen(k->scalar), n);
    /* Messages shorten long values instead of being cut off mid-way. */
    int64_t v;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_int(dlx_spec_root(s), "k", true, 0, 0, 1, &v, &e), DLX_EINVAL);
    char want[256];
    snprintf(want, sizeof want, "t.yaml:1:4: error: k: expected an integer, got '%.*s...'", 68,
             big + 3);
    ck_assert_str_eq(fmt(&e), want);
    dlx_spec_destroy(s);
    free(big);
}
END_TEST

/* ------------------------------------------------------------- getters */

START_TEST(test_unknown_key)
{
    dlx_spec *s = NULL;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_load_file(fixture("unknown_key.yaml"), &s, &e), 0);
    dlx_spec_node *conv = dlx_spec_path(s, "model.layers.1");
    static const char *const conv_keys[] = {"type",    "filters", "kernel", "stride",
                                            "pad",     "activation", NULL};
    ck_assert_int_eq(dlx_spec_check_keys(conv, "conv", conv_keys, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), at("unknown_key.yaml", 5, 7,
                                 "model.layers[1]: 'kernal' is not a key of conv; did you mean "
                                 "'kernel'?"));
    static const char *const far[] = {"filters", "stride", "pad", NULL};
    ck_assert_int_eq(dlx_spec_check_keys(conv, "conv", far, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), at("unknown_key.yaml", 4, 7,
                                 "model.layers[1]: 'type' is not a key of conv (allowed: "
                                 "filters, stride, pad)"));
    static const char *const top[] = {"model", "data", "train", NULL};
    ck_assert_int_eq(dlx_spec_check_keys(dlx_spec_root(s), "the spec", top, &e), 0);
    static const char *const none[] = {NULL};
    ck_assert_int_eq(dlx_spec_check_keys(dlx_spec_root(s), "the spec", none, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), at("unknown_key.yaml", 1, 1,
                                 "'model' is not a key of the spec (allowed: none)"));
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_wrong_type)
{
    dlx_spec *s = NULL;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_load_file(fixture("wrong_type.yaml"), &s, &e), 0);
    dlx_spec_node *train = dlx_spec_path(s, "train");
    int64_t i = 42;
    double d = 42;
    bool b = true;
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 1, 1, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e),
                     at("wrong_type.yaml", 4, 11, "train.epochs: expected an integer, got 'ten'"));
    ck_assert_int_eq(i, 42);
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, 0, 1, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), at("wrong_type.yaml", 5, 7,
                                 "train.lr: expected a number, got the string '0.1'"));
    ck_assert_int_eq(dlx_spec_bool(train, "shuffle", false, true, &b, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), at("wrong_type.yaml", 6, 12,
                                 "train.shuffle: expected true or false, got 'maybe'"));
    /* A mapping where a scalar belongs. */
    ck_assert_int_eq(dlx_spec_int(dlx_spec_root(s), "model", true, 1, 1, 100, &i, &e),
                     DLX_EINVAL);
    ck_assert_str_eq(fmt(&e),
                     at("wrong_type.yaml", 2, 3, "model: expected an integer, got a mapping"));
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_out_of_range)
{
    dlx_spec *s = NULL;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_load_file(fixture("out_of_range.yaml"), &s, &e), 0);
    dlx_spec_node *train = dlx_spec_path(s, "train");
    int64_t i;
    double d;
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 1, 1, 100000, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), at("out_of_range.yaml", 2, 11,
                                 "train.epochs: must be between 1 and 100000, got 0"));
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 1, 1, INT64_MAX, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e),
                     at("out_of_range.yaml", 2, 11, "train.epochs: must be at least 1, got 0"));
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 1, INT64_MIN, -1, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e),
                     at("out_of_range.yaml", 2, 11, "train.epochs: must be at most -1, got 0"));
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, 0, 1, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e),
                     at("out_of_range.yaml", 3, 7, "train.lr: must be between 0 and 1, got 1.5"));
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, 2, HUGE_VAL, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e),
                     at("out_of_range.yaml", 3, 7, "train.lr: must be at least 2, got 1.5"));
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, -HUGE_VAL, 0.5, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e),
                     at("out_of_range.yaml", 3, 7, "train.lr: must be at most 0.5, got 1.5"));
    ck_assert_int_eq(dlx_spec_float(train, "lr", true, 0.1, 0, 2, &d, &e), 0);
    ck_assert(d == 1.5);
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_int_parsing)
{
    dlx_spec *s = load("a: 12\nb: -7\nc: +3\nd: 1e3\ne: 1_000\nf: 0x10\ng: 3.0\nh: '3'\n"
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
        ck_assert_str_eq(fmt(&e), bad[t].msg);
        ck_assert_int_eq(v, 1234);
    }
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_float_parsing)
{
    dlx_spec *s = load("a: 1e-3\nb: .5\nc: -2\nd: 5.\ne: inf\nf: nan\ng: .inf\nh: 1e999\n"
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
        ck_assert_str_eq(fmt(&e), bad[t].msg);
    }
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_bool_str_enum)
{
    dlx_spec *s = load("a: yes\nb: Off\nc: TRUE\nd: 'true'\nname: run 1\nq: \"007\"\n"
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
    ck_assert_str_eq(fmt(&e),
                     "t.yaml:4:4: error: d: expected true or false, got the string 'true'");

    const char *str = NULL;
    ck_assert_int_eq(dlx_spec_str(r, "name", true, NULL, &str, &e), 0);
    ck_assert_str_eq(str, "run 1");
    ck_assert_int_eq(dlx_spec_str(r, "q", true, NULL, &str, &e), 0);
    ck_assert_str_eq(str, "007");
    ck_assert_int_eq(dlx_spec_str(r, "a", true, NULL, &str, &e), 0);
    ck_assert_str_eq(str, "yes");
    ck_assert_int_eq(dlx_spec_str(r, "m", true, NULL, &str, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:7:4: error: m: expected a string, got a mapping");
    str = "unchanged";
    ck_assert_int_eq(dlx_spec_str(r, "absent", false, NULL, &str, &e), 0);
    ck_assert_ptr_null(str);
    ck_assert_ptr_null(dlx_spec_get(r, "absent")); /* NULL default: nothing inserted */
    ck_assert_int_eq(dlx_spec_node_str(dlx_spec_get(r, "name"), &str, &e), 0);
    ck_assert_str_eq(str, "run 1");

    static const char *const opts[] = {"sgd", "adam", "rmsprop", NULL};
    int k = -5;
    ck_assert_int_eq(dlx_spec_enum(r, "opt", true, opts, 0, &k, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:8:6: error: opt: unknown value 'sgdd'; did you mean 'sgd'? "
                              "(one of: sgd, adam, rmsprop)");
    ck_assert_int_eq(dlx_spec_enum(r, "opt2", true, opts, 0, &k, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:9:7: error: opt2: unknown value 'SGD'; did you mean 'sgd'? "
                              "(one of: sgd, adam, rmsprop)");
    ck_assert_int_eq(dlx_spec_enum(r, "opt3", true, opts, 0, &k, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e),
                     "t.yaml:10:7: error: opt3: unknown value 'lbfgs' (one of: sgd, adam, rmsprop)");
    ck_assert_int_eq(dlx_spec_enum(r, "opt4", true, opts, 0, &k, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:11:7: error: opt4: expected one of: sgd, adam, rmsprop, "
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
    dlx_spec *s = load("a: [10, 20]\nb:\n  - 1\n  - 2\n  - 3\nc: 7\nd: []\ne: [1, x]\n"
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
    ck_assert_str_eq(fmt(&e), "t.yaml:3:3: error: b: at most 2 values, got 3");
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(dlx_spec_int_list(r, "e", true, 1, 100, v, 4, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:8:8: error: e[1]: expected an integer, got 'x'");
    ck_assert_int_eq(dlx_spec_int_list(r, "f", true, 1, 100, v, 4, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:9:4: error: f: expected a list of integers, got a mapping");
    ck_assert_int_eq(dlx_spec_int_list(r, "g", true, 1, 100, v, 4, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:10:8: error: g[1]: must be between 1 and 100, got 0");
    n = 9;
    ck_assert_int_eq(dlx_spec_int_list(r, "absent", false, 1, 100, v, 4, &n, &e), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(dlx_spec_get(r, "absent"));
    ck_assert_int_eq(dlx_spec_int_list(r, "absent", true, 1, 100, v, 4, &n, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:1:1: error: missing required key 'absent'");

    int64_t x;
    ck_assert_int_eq(dlx_spec_node_int(dlx_spec_path(s, "b.1"), 0, 10, &x, &e), 0);
    ck_assert_int_eq(x, 2);
    ck_assert_int_eq(dlx_spec_node_int(dlx_spec_path(s, "b.1"), 5, 10, &x, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:4:5: error: b[1]: must be between 5 and 10, got 2");
    dlx_spec_destroy(s);
}
END_TEST

START_TEST(test_required_and_defaults)
{
    dlx_spec *s = load("model:\n  kind: mlp\ntrain:\n  lr: 0.5\nempty:\ndata: 3\n");
    dlx_spec_node *r = dlx_spec_root(s);
    dlx_spec_node *train = dlx_spec_get(r, "train");
    dlx_err e = {0};
    int64_t i = 0;
    double d = 0;
    bool b = false;
    const char *str = NULL;
    int k = -1;
    ck_assert_int_eq(dlx_spec_int(train, "epochs", true, 5, 1, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:4:3: error: train: missing required key 'epochs'");
    ck_assert_int_eq(dlx_spec_int(r, "seed", true, 5, 1, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:1:1: error: missing required key 'seed'");
    /* Parent absent: required keys have nowhere to point at. */
    ck_assert_int_eq(dlx_spec_int(NULL, "epochs", true, 5, 1, 100, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "error: missing required key 'epochs'");
    ck_assert_int_eq(dlx_spec_int(NULL, "epochs", false, 5, 1, 100, &i, &e), 0);
    ck_assert_int_eq(i, 5);
    ck_assert_int_eq(dlx_spec_float(NULL, "lr", false, 0.25, 0, 1, &d, &e), 0);
    ck_assert(d == 0.25);
    /* A parent that is not a mapping. */
    ck_assert_int_eq(dlx_spec_int(dlx_spec_get(r, "data"), "n", false, 5, 1, 100, &i, &e),
                     DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:6:7: error: data: expected a mapping, got '3'");

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
    ck_assert_str_eq(fmt(&e), "t.yaml:4:3: error: train.tag: expected an integer, got the "
                              "string '10'");

    /* `empty:` (null) counts as an empty mapping and takes defaults. */
    dlx_spec_node *empty = dlx_spec_get(r, "empty");
    ck_assert_int_eq(dlx_spec_check_keys(empty, "empty", opts, &e), 0);
    ck_assert_int_eq(dlx_spec_int(empty, "n", true, 1, 1, 9, &i, &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:5:7: error: empty: missing required key 'n'");
    ck_assert_int_eq(dlx_spec_int(empty, "n", false, 3, 1, 9, &i, &e), 0);
    ck_assert_int_eq(empty->kind, DLX_SPEC_MAP);

    char *text = round_trip(s);
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
    dlx_spec *s = load("model:\n  layers: 3\n  kind: [a]\nx:\n");
    dlx_err e = {0};
    dlx_spec_node *layers = dlx_spec_path(s, "model.layers");
    ck_assert_int_eq(dlx_spec_expect_seq(layers, "layers", &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:2:11: error: model.layers: layers must be a sequence, got '3'");
    ck_assert_int_eq(dlx_spec_expect_map(layers, "layers", &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "t.yaml:2:11: error: model.layers: layers must be a mapping, got '3'");
    ck_assert_int_eq(dlx_spec_expect_seq(dlx_spec_path(s, "model.kind"), "kind", &e), 0);
    ck_assert_int_eq(dlx_spec_expect_map(dlx_spec_path(s, "model"), "model", &e), 0);
    ck_assert_int_eq(dlx_spec_expect_map(dlx_spec_path(s, "x"), "x", &e), 0);
    ck_assert_int_eq(dlx_spec_expect_map(dlx_spec_path(s, "data"), "data", &e), DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "error: data is missing");
    dlx_spec_destroy(s);
}
END_TEST

/* ---------------------------------------------------------------- --set */

START_TEST(test_set)
{
    dlx_spec *s = load("model:\n  layers:\n    - {type: dense, units: 10}\n    - type: relu\n"
                       "train:\n  lr: 0.1\n  opt:\n");
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_set(s, "train.lr=0.01", &e), 0);
    dlx_spec_node *lr = dlx_spec_path(s, "train.lr");
    ck_assert_str_eq(lr->scalar, "0.01");
    ck_assert_str_eq(lr->path, "train.lr");
    ck_assert_str_eq(lr->loc.file, "<--set>");
    ck_assert_int_eq(lr->loc.line, 0);
    ck_assert_int_eq(dlx_spec_path(s, "train")->key_locs[0].line, 6); /* key keeps its place */

    ck_assert_int_eq(dlx_spec_set(s, "model.layers.0.units=50", &e), 0);
    ck_assert_str_eq(dlx_spec_path(s, "model.layers.0.units")->scalar, "50");
    ck_assert_str_eq(dlx_spec_path(s, "model.layers.0.units")->path, "model.layers[0].units");

    ck_assert_int_eq(dlx_spec_set(s, "data.synthetic.shape=[10, 10]", &e), 0);
    dlx_spec_node *shape = dlx_spec_path(s, "data.synthetic.shape");
    ck_assert_int_eq(shape->kind, DLX_SPEC_SEQ);
    ck_assert_int_eq(shape->n, 2);
    ck_assert_str_eq(shape->items[1]->path, "data.synthetic.shape[1]");
    ck_assert_str_eq(dlx_spec_path(s, "data")->loc.file, "<--set>");

    ck_assert_int_eq(dlx_spec_set(s, "train.opt={type: sgd, lr: 0.5}", &e), 0);
    dlx_spec_node *opt = dlx_spec_path(s, "train.opt");
    ck_assert_int_eq(opt->kind, DLX_SPEC_MAP);
    ck_assert_str_eq(dlx_spec_get(opt, "lr")->path, "train.opt.lr");
    ck_assert_int_eq(dlx_spec_get(opt, "lr")->loc.line, 0);
    ck_assert_str_eq(opt->key_locs[1].file, "<--set>");

    ck_assert_int_eq(dlx_spec_set(s, "train.name='3'", &e), 0);
    ck_assert(dlx_spec_path(s, "train.name")->quoted);
    ck_assert_int_eq(dlx_spec_set(s, "train.note=a=b", &e), 0);
    ck_assert_str_eq(dlx_spec_path(s, "train.note")->scalar, "a=b");
    ck_assert_int_eq(dlx_spec_set(s, "train.none=", &e), 0);
    ck_assert_int_eq(dlx_spec_path(s, "train.none")->kind, DLX_SPEC_NULL);
    ck_assert_int_eq(dlx_spec_set(s, "model.layers.1=x", &e), 0);
    ck_assert_str_eq(dlx_spec_path(s, "model.layers.1")->path, "model.layers[1]");
    /* A null value becomes a map when a key is set inside it. */
    ck_assert_int_eq(dlx_spec_set(s, "train.none.deep=1", &e), 0);
    ck_assert_str_eq(dlx_spec_path(s, "train.none.deep")->scalar, "1");

    /* Typed getters see the new values. */
    int64_t u;
    ck_assert_int_eq(dlx_spec_int(dlx_spec_path(s, "model.layers.0"), "units", true, 0, 1,
                                  1000, &u, &e), 0);
    ck_assert_int_eq(u, 50);
    ck_assert_int_eq(dlx_spec_int(dlx_spec_path(s, "train"), "name", true, 0, 1, 1000, &u, &e),
                     DLX_EINVAL);
    ck_assert_str_eq(fmt(&e), "<--set>: error: train.name: expected an integer, got the string '3'");

    static const struct {
        const char *assign, *msg;
    } bad[] = {
        {"train.lr", "error: --set 'train.lr': expected key=value, e.g. train.lr=0.01"},
        {"=3", "error: --set '=3': the key is empty"},
        {"train..lr=3", "error: --set 'train..lr=3': the key has an empty part"},
        {".lr=3", "error: --set '.lr=3': the key has an empty part"},
        {"lr.=3", "error: --set 'lr.=3': the key has an empty part"},
        {"model.layers.5.units=3",
         "error: --set 'model.layers.5.units=3': index 5 is out of range (model.layers has 2 "
         "items)"},
        {"model.layers.first=3",
         "error: --set 'model.layers.first=3': model.layers is a sequence; address its items by "
         "index, not 'first'"},
        {"train.lr.x.y=3", "error: --set 'train.lr.x.y=3': train.lr is a scalar, it has no key 'x'"},
        {"train.lr=[1, 2", "error: --set 'train.lr=[1, 2': invalid YAML: did not find expected ',' "
                           "or ']' (while parsing a flow sequence at line 1)"},
        {"train.lr=*a", "error: --set 'train.lr=*a': YAML aliases are not supported"},
        {"a\xff.b=1", "error: --set 'a\xff.b=1': the key must be UTF-8 text without control "
                       "characters"},
    };
    char *before = dlx_spec_dump(s);
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        ck_assert_int_eq(dlx_spec_set(s, bad[t].assign, &e), DLX_EINVAL);
        ck_assert_str_eq(fmt(&e), bad[t].msg);
    }
    /* A failed --set leaves the tree as it was. */
    ck_assert_int_eq(dlx_spec_set(s, "new.deeper.layers.0=1", &e), 0);
    ck_assert_str_eq(dlx_spec_path(s, "new.deeper.layers.0")->scalar, "1");
    char *after = dlx_spec_dump(s);
    ck_assert_ptr_nonnull(strstr(after, before) == after ? after : NULL);
    ck_assert_str_eq(after + strlen(before), "new:\n  deeper:\n    layers:\n      0: 1\n");
    free(before);
    free(after);

    char *text = round_trip(s);
    ck_assert_str_eq(text, "model:\n"
                           "  layers:\n"
                           "    - type: dense\n"
                           "      units: 50\n"
                           "    - x\n"
                           "train:\n"
                           "  lr: 0.01\n"
                           "  opt:\n"
                           "    type: sgd\n"
                           "    lr: 0.5\n"
                           "  name: \"3\"\n"
                           "  note: a=b\n"
                           "  none:\n"
                           "    deep: 1\n"
                           "data:\n"
                           "  synthetic:\n"
                           "    shape: [10, 10]\n"
                           "new:\n"
                           "  deeper:\n"
                           "    layers:\n"
                           "      0: 1\n");
    free(text);
    dlx_spec_destroy(s);
}
END_TEST

/* ----------------------------------------------------------------- dump */

START_TEST(test_dump_round_trip)
{
    dlx_spec *s = load("version: 1\n"
                       "model:\n"
                       "  kind: convnet\n"
                       "  input: [1, 28, 28]\n"
                       "  layers:\n"
                       "    - name: c1\n"
                       "      type: conv\n"
                       "      kernel: [5, 5]\n"
                       "      filters: 8\n"
                       "      init: {type: normal, std: 0.01}\n"
                       "    - {type: pool, size: [2, 2]}\n"
                       "    - type: dense\n"
                       "      units: 10\n"
                       "      in: [c1, 'pool 1']\n"
                       "    - []\n"
                       "    - - [1, 2]\n"
                       "      - {}\n"
                       "      - - a\n"
                       "        - {k: v}\n"
                       "data:\n"
                       "  name: mnist\n"
                       "  path: \"data/mnist: train #1\"\n"
                       "  note: >\n"
                       "    folded text\n"
                       "    over lines\n"
                       "  lit: |\n"
                       "    line 1\n"
                       "      line 2\n"
                       "  quoted_num: '0.5'\n"
                       "  quoted_bool: \"yes\"\n"
                       "  quoted_null: '~'\n"
                       "  empty_str: ''\n"
                       "  nothing:\n"
                       "  dash: -x\n"
                       "  neg: -1.5\n"
                       "  url: http://example.com/a?b=c\n"
                       "  lead: '- item'\n"
                       "  star: '*x'\n"
                       "  spaces: '  padded  '\n"
                       "  tab: \"a\\tb\"\n"
                       "  esc: \"q\\\"b\\\\s\\x01\\u00e9\\u2028\\uFEFF\"\n"
                       "  utf8: café ∑\n"
                       "  list_special: ['a,b', 'x: y', plain, '', ~, '[z]']\n"
                       "  list_block:\n"
                       "    - a:b\n"
                       "    - c#d\n"
                       "\"key: with colon\": 1\n"
                       "'': empty key\n"
                       "'-': dash key\n"
                       "train:\n"
                       "  epochs: 3\n"
                       "  optimizer: {type: sgd, lr: 1e-3, momentum: .9}\n");
    char *text = round_trip(s);
    ck_assert_str_eq(text,
                     "version: 1\n"
                     "model:\n"
                     "  kind: convnet\n"
                     "  input: [1, 28, 28]\n"
                     "  layers:\n"
                     "    - name: c1\n"
                     "      type: conv\n"
                     "      kernel: [5, 5]\n"
                     "      filters: 8\n"
                     "      init:\n"
                     "        type: normal\n"
                     "        std: 0.01\n"
                     "    - type: pool\n"
                     "      size: [2, 2]\n"
                     "    - type: dense\n"
                     "      units: 10\n"
                     "      in: [c1, \"pool 1\"]\n"
                     "    - []\n"
                     "    -\n"
                     "      - [1, 2]\n"
                     "      - {}\n"
                     "      -\n"
                     "        - a\n"
                     "        - k: v\n"
                     "data:\n"
                     "  name: mnist\n"
                     "  path: \"data/mnist: train #1\"\n"
                     "  note: \"folded text over lines\\n\"\n"
                     "  lit: \"line 1\\n  line 2\\n\"\n"
                     "  quoted_num: \"0.5\"\n"
                     "  quoted_bool: \"yes\"\n"
                     "  quoted_null: \"~\"\n"
                     "  empty_str: \"\"\n"
                     "  nothing: null\n"
                     "  dash: -x\n"
                     "  neg: -1.5\n"
                     "  url: http://example.com/a?b=c\n"
                     "  lead: \"- item\"\n"
                     "  star: \"*x\"\n"
                     "  spaces: \"  padded  \"\n"
                     "  tab: \"a\\tb\"\n"
                     "  esc: \"q\\\"b\\\\s\\x01é\\u2028\\uFEFF\"\n"
                     "  utf8: café ∑\n"
                     "  list_special: [\"a,b\", \"x: y\", plain, \"\", null, \"[z]\"]\n"
                     "  list_block:\n"
                     "    - a:b\n"
                     "    - c#d\n"
                     "\"key: with colon\": 1\n"
                     "\"\": empty key\n"
                     "\"-\": dash key\n"
                     "train:\n"
                     "  epochs: 3\n"
                     "  optimizer:\n"
                     "    type: sgd\n"
                     "    lr: 1e-3\n"
                     "    momentum: .9\n");
    free(text);

    /* The dump is a fixed point. */
    dlx_spec *s2 = NULL;
    dlx_err e = {0};
    char *t1 = dlx_spec_dump(s);
    ck_assert_int_eq(dlx_spec_load_string(t1, "d", &s2, &e), 0);
    char *t2 = dlx_spec_dump(s2);
    ck_assert_str_eq(t1, t2);
    free(t1);
    free(t2);
    dlx_spec_destroy(s2);
    dlx_spec_destroy(s);

    /* Keys over YAML's 1024-character limit for implicit keys. */
    char *big = malloc(3000);
    memcpy(big, "? ", 2);
    memset(big + 2, 'k', 1500);
    strcpy(big + 1502, "\n: 1\nsmall:\n  - '-'\n  - '?x'\n  - a\n");
    s = load(big);
    text = round_trip(s);
    ck_assert_ptr_nonnull(strstr(text, "\n: 1\nsmall: [\"-\", \"?x\", a]\n"));
    ck_assert_int_eq(strncmp(text, "? kkk", 5), 0);
    free(text);
    free(big);
    dlx_spec_destroy(s);

    s = load("{}\n");
    text = dlx_spec_dump(s);
    ck_assert_str_eq(text, "{}\n");
    free(text);
    dlx_spec_destroy(s);
}
END_TEST

/* ---------------------------------------------------------- suggestions */

START_TEST(test_closest)
{
    ck_assert_int_eq(dlx_edit_distance("kitten", "sitting"), 3);
    ck_assert_int_eq(dlx_edit_distance("", "abc"), 3);
    ck_assert_int_eq(dlx_edit_distance("abc", ""), 3);
    ck_assert_int_eq(dlx_edit_distance("same", "same"), 0);
    ck_assert_int_eq(dlx_edit_distance("kernal", "kernel"), 1);
    static const char *const c[] = {"filters", "kernel", "stride", "pad", "activation", NULL};
    ck_assert_str_eq(dlx_closest("kernal", c), "kernel");
    ck_assert_str_eq(dlx_closest("KERNEL", c), "kernel");
    ck_assert_str_eq(dlx_closest("pda", c), "pad"); /* a swap of adjacent letters costs 1 */
    ck_assert_int_eq(dlx_edit_distance("trian", "train"), 1);
    ck_assert_ptr_null(dlx_closest("dpa", c)); /* 2 edits, but len 3 allows only 1 */
    ck_assert_ptr_null(dlx_closest("foo", c));
    ck_assert_str_eq(dlx_closest("activaton", c), "activation");
    ck_assert_str_eq(dlx_closest("actvaton", c), "activation"); /* 2 <= 8/3 */
    ck_assert_ptr_null(dlx_closest("acton", c));
    ck_assert_ptr_null(dlx_closest("x", NULL));
    static const char *const t[] = {"ab", "ac", NULL};
    ck_assert_str_eq(dlx_closest("ax", t), "ab"); /* ties: first wins */
}
END_TEST

Suite *spec_suite(void)
{
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_locations);
    tcase_add_test(tc, test_fixture_errors);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_huge_scalar);
    suite_add_tcase(s, tc);
    tc = tcase_create("getters");
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
    tc = tcase_create("set_dump");
    tcase_add_test(tc, test_set);
    tcase_add_test(tc, test_dump_round_trip);
    tcase_add_test(tc, test_closest);
    suite_add_tcase(s, tc);
    return s;
}
