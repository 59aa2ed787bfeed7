/* Helpers the spec tests share (test_spec.c, test_spec_getters.c): a
 * loaded spec from text, the formatted message of an error, the path of a
 * fixture under tests/data/specs/ and the message expected at a place in
 * it, and dump's round trip through the parser. */
#ifndef DLX_TEST_SPEC_FIXTURE_H
#define DLX_TEST_SPEC_FIXTURE_H

#include "../core/spec.h"

/* e as dlx_err_format writes it (a static buffer, overwritten by the next call). */
const char *spec_msg(const dlx_err *e);

/* "tests/data/specs/<name>", under $DLX_SRC_DIR when that is set (a static buffer). */
const char *spec_fixture(const char *name);

/* Expected formatted message for a fixture: "<path>:<line>:<col>: error: <msg>" (a static buffer). */
const char *spec_at(const char *name, int line, int col, const char *msg);

/* text loaded as "t.yaml"; the test fails if it does not load. */
dlx_spec *spec_load(const char *text);

/* dump, re-load, compare the trees; returns the dump (caller frees). */
char *spec_round_trip(const dlx_spec *s);

#endif
