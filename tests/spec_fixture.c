/* The helpers test_spec.c and test_spec_getters.c share: see spec_fixture.h. */
#include "spec_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_msg[2048];

const char *spec_msg(const dlx_err *e)
{
    dlx_err_format(e, g_msg, sizeof g_msg);
    return g_msg;
}

/* "tests/data/specs/<name>", under $DLX_SRC_DIR when that is set. */
const char *spec_fixture(const char *name)
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
const char *spec_at(const char *name, int line, int col, const char *msg)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s:%d:%d: error: %s", spec_fixture(name), line, col, msg);
    return buf;
}

dlx_spec *spec_load(const char *text)
{
    dlx_spec *s = NULL;
    dlx_err e = {0};
    int rc = dlx_spec_load_string(text, "t.yaml", &s, &e);
    ck_assert_msg(rc == 0, "load failed: %s", spec_msg(&e));
    return s;
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
char *spec_round_trip(const dlx_spec *s)
{
    char *text = dlx_spec_dump(s);
    ck_assert_ptr_nonnull(text);
    dlx_spec *s2 = NULL;
    dlx_err e = {0};
    int rc = dlx_spec_load_string(text, "dump.yaml", &s2, &e);
    ck_assert_msg(rc == 0, "dump does not re-parse: %s\n%s", spec_msg(&e), text);
    ck_assert_msg(tree_equal(dlx_spec_root(s), dlx_spec_root(s2)), "round trip differs:\n%s",
                  text);
    dlx_spec_destroy(s2);
    return text;
}
