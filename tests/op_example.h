/* A graph of one registered op on an example its file declares
 * (core/ops/<op>.c), for the tests that walk the registry
 * (test_op_registry.c, test_rop.c): nothing there lists the ops. */
#ifndef DLX_TEST_OP_EXAMPLE_H
#define DLX_TEST_OP_EXAMPLE_H

#include <stdbool.h>

#include "../core/ops/ops.h"
#include "../core/rng.h"

typedef struct test_op {
    dlx_params P;
    dlx_graph *g;
    dlx_node *in[DLX_MAX_INPUTS];
    dlx_node *top;  /* the op's node */
    dlx_node *loss; /* what a test differentiates: top, or a probe on it */
    dlx_err err;
} test_op;

/* Declares ex's inputs and adds the op over them (not compiled): parameters
 * and buffers as the example's roles say; a GRAD input is a graph input that
 * needs a gradient, or a parameter with grad_as_param (for a test that
 * differentiates in parameter space). loss is the op's node. */
void test_op_add(test_op *b, const dlx_op_vtbl *v, const dlx_op_example *ex, bool grad_as_param);

/* Values of input i of a compiled b: magnitudes in its range, random signs
 * unless positive; spaced inputs 0.02 apart (no ties); labels below
 * classes. */
void test_op_fill(test_op *b, const dlx_op_example *ex, int i, dlx_rng *rng);

void test_op_free(test_op *b);

#endif
