/* The R-operators (core/hvp.h) of the rnn and lstm ops (core/ops/rnn.c),
 * in double: forward over time with every step's directional derivative,
 * then BPTT with the directional derivative of every adjoint beside it.
 * Their math is in core/ops/rnn_rop.c. */
#ifndef DLX_RNN_ROP_H
#define DLX_RNN_ROP_H

#include "../hvp.h"

extern const dlx_op_rop dlx_rnn_rop;
extern const dlx_op_rop dlx_lstm_rop;

#endif
