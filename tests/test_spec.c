/* The spec's text form (core/spec.h): parsing YAML into the located tree
 * (file:line:col on every node and key; the one-document, no-alias, no-tag,
 * depth and size limits; the message of every parse error), --set
 * assignments on a loaded tree (paths, flow values, and the errors, which
 * leave the tree as it was), dump and its round trip back through the
 * parser, and the "did you mean" suggestions (edit distance, closest key).
 * The typed getters are tested in test_spec_getters.c; the helpers both
 * files share are in spec_fixture.h. Fixture files live in
 * tests/data/specs/, found from $DLX_SRC_DIR (default: the current
 * directory). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/spec.h"
#include "spec_fixture.h"

static const char *load_fail(const char *text, int want_rc)
{
    dlx_spec *s = (dlx_spec *)1;
    dlx_err e = {0};
    int rc = dlx_spec_load_string(text, "t.yaml", &s, &e);
    ck_assert_int_eq(rc, want_rc);
    ck_assert_ptr_null(s);
    return spec_msg(&e);
}

static const char *load_file_fail(const char *name, int want_rc)
{
    dlx_spec *s = (dlx_spec *)1;
    dlx_err e = {0};
    int rc = dlx_spec_load_file(spec_fixture(name), &s, &e);
    ck_assert_int_eq(rc, want_rc);
    ck_assert_ptr_null(s);
    return spec_msg(&e);
}

/* ------------------------------------------------------------- parsing */

START_TEST(test_locations)
{
    dlx_spec *s = spec_load("model:\n"
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
                     spec_at("malformed.yaml", 4, 17,
                             "invalid YAML: mapping values are not allowed in this context"));
    ck_assert_str_eq(load_file_fail("duplicate_key.yaml", DLX_EINVAL),
                     spec_at("duplicate_key.yaml", 6, 3, "train: duplicate key 'lr' (first at line 4)"));
    ck_assert_str_eq(load_file_fail("alias.yaml", DLX_EINVAL),
                     spec_at("alias.yaml", 1, 11, "YAML anchors and aliases are not supported"));
    char want[1200];
    snprintf(want, sizeof want,
             "%s: error: spec is empty: expected a mapping with model:, data: and train:",
             spec_fixture("empty.yaml"));
    ck_assert_str_eq(load_file_fail("empty.yaml", DLX_EINVAL), want);
    ck_assert_str_eq(load_file_fail("not_a_map.yaml", DLX_EINVAL),
                     spec_at("not_a_map.yaml", 1, 1,
                             "the top level must be a mapping with model:, data: and train:, got a "
                             "sequence"));
    snprintf(want, sizeof want, "%s: error: cannot open spec: No such file or directory",
             spec_fixture("no_such_file.yaml"));
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
    dlx_spec *s = spec_load(text); /* 64 levels below the root map: fine */
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
    dlx_spec *s = spec_load(big);
    dlx_spec_node *k = dlx_spec_path(s, "k");
    ck_assert_uint_eq(strlen(k->scalar), n);
    /* Messages shorten long values instead of being cut off mid-way. */
    int64_t v;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_spec_int(dlx_spec_root(s), "k", true, 0, 0, 1, &v, &e), DLX_EINVAL);
    char want[256];
    snprintf(want, sizeof want, "t.yaml:1:4: error: k: expected an integer, got '%.*s...'", 68,
             big + 3);
    ck_assert_str_eq(spec_msg(&e), want);
    dlx_spec_destroy(s);
    free(big);
}
END_TEST

/* ---------------------------------------------------------------- --set */

START_TEST(test_set)
{
    dlx_spec *s = spec_load("model:\n  layers:\n    - {type: dense, units: 10}\n    - type: relu\n"
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
    ck_assert_str_eq(spec_msg(&e), "<--set>: error: train.name: expected an integer, got the string '3'");

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
        ck_assert_str_eq(spec_msg(&e), bad[t].msg);
    }
    /* A failed --set leaves the tree as it was. */
    ck_assert_int_eq(dlx_spec_set(s, "new.deeper.layers.0=1", &e), 0);
    ck_assert_str_eq(dlx_spec_path(s, "new.deeper.layers.0")->scalar, "1");
    char *after = dlx_spec_dump(s);
    ck_assert_ptr_nonnull(strstr(after, before) == after ? after : NULL);
    ck_assert_str_eq(after + strlen(before), "new:\n  deeper:\n    layers:\n      0: 1\n");
    free(before);
    free(after);

    char *text = spec_round_trip(s);
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
    dlx_spec *s = spec_load("version: 1\n"
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
    char *text = spec_round_trip(s);
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
    s = spec_load(big);
    text = spec_round_trip(s);
    ck_assert_ptr_nonnull(strstr(text, "\n: 1\nsmall: [\"-\", \"?x\", a]\n"));
    ck_assert_int_eq(strncmp(text, "? kkk", 5), 0);
    free(text);
    free(big);
    dlx_spec_destroy(s);

    s = spec_load("{}\n");
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
    tc = tcase_create("set_dump");
    tcase_add_test(tc, test_set);
    tcase_add_test(tc, test_dump_round_trip);
    tcase_add_test(tc, test_closest);
    suite_add_tcase(s, tc);
    return s;
}
