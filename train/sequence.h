/* Generated sequence tasks: the long-memory benchmarks of recurrent nets
 * (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016, "Unitary
 * Evolution RNNs"; the orthogonal-RNN papers use the same two):
 *
 * copy (alphabet A = 8 symbols 1..8, blank 0, delimiter 9; memory length T):
 *   input  x = s_1 .. s_10, then T - 1 blanks, the delimiter, 10 blanks
 *   target y = T + 10 blanks, then s_1 .. s_10          (length T + 20)
 *   one-hot inputs of A + 2 = 10 classes per step; the target is a class
 *   index per step. A model that remembers nothing scores the baseline
 *   cross-entropy 10 log(8) / (T + 20).
 * copy_variable (the variable-delay copy): as copy, but each sequence has
 *   its own delay D drawn uniformly from 1..T: the delimiter at step D + 9
 *   (0-based), the symbols due at steps D + 10 .. D + 19, blanks before and
 *   after them (targets and inputs), the length T + 20 for every sequence.
 *   D = T is the copy task. The delimiter says when to recall, so the
 *   memoryless baseline is the copy task's, 10 log(8) / (T + 20).
 * adding (length T): two channels per step, a value u ~ U(0, 1) and a
 *   marker that is 1 at exactly two steps, one drawn in the first half and
 *   one in the second; the target is the sum of the two marked values.
 *   Predicting 1 always gives the baseline mean squared error 1/6.
 *
 * Every sample is a pure function of (seed, stream, draw, sample): a feed
 * keyed by (step, update, repeat, replica) gives a resumed run, and any
 * thread count, the same data.
 */
#ifndef DLX_SEQUENCE_H
#define DLX_SEQUENCE_H

#include <stdint.h>

#include "../core/err.h"

typedef enum dlx_seq_task { DLX_SEQ_COPY, DLX_SEQ_ADDING, DLX_SEQ_COPY_VARIABLE } dlx_seq_task;

#define DLX_COPY_SYMBOLS 10 /* symbols to remember */
#define DLX_COPY_ALPHABET 8 /* symbols 1..8 */
#define DLX_COPY_CLASSES (DLX_COPY_ALPHABET + 2)

typedef struct dlx_seq {
    dlx_seq_task task;
    int64_t T;      /* copy: the memory length; adding: the sequence length */
    int64_t steps;  /* time steps of a sample: T + 20 (copy), T (adding) */
    int in_dim;     /* inputs per step: 10 (copy, one-hot), 2 (adding) */
    int out_dim;    /* targets per step (copy: one class index) or per sample (adding: 1) */
} dlx_seq;

/* A task of memory or sequence length T (copy, copy_variable: 1..100000; adding: 2..100000). */
int dlx_seq_init(dlx_seq *s, dlx_seq_task task, int64_t T, dlx_err *err);

/* Samples [0, n) of draw `draw` on stream `stream`: inputs x time-major,
 * [steps][n][in_dim], and targets y: copy [steps][n] class indices (as
 * floats), adding [n] sums. */
void dlx_seq_fill(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t n, float *x, float *y);
/* The same for samples [first, first + n) of the draw, laid out as n samples:
 * a replica takes its own part of a batch, whatever the number of parts. */
void dlx_seq_fill_range(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t first, int64_t n,
                        float *x, float *y);

/* The loss of the trivial predictor (copy: the cross-entropy per step of
 * predicting blanks where blanks are due and a uniform symbol after the
 * delimiter; adding: the MSE of always predicting 1): what a model must beat. */
double dlx_seq_baseline(const dlx_seq *s);

#endif
