"""The copy task at T = 100 (configs/rnn/copy_orthogonal.yaml, configs/rnn/copy_lstm.yaml):
training steps per second of the recurrent family's models.

Copy: 10 symbols from 1..8, T - 1 blanks, the delimiter 9, 10 blanks (T + 20 = 120
steps), one-hot inputs of 10 classes; targets blanks, then the 10 symbols over the last
10 steps. Batch 20, hidden 128, readout y_t = V h_t + c at every step, softmax
cross-entropy averaged over all steps and sequences, Adam lr 1e-3, gradient-norm
clipping at 1.0 (clip_grad_norm_, as dlx's grad_clip).

  rnn   the linear RNN h_t = W h_{t-1} + U x_t + b, W orthogonal at the start. nn.RNN has
        no linear activation, so the loop is written out the fast way: U x_t + b of every
        step is one addmm over the (L B) rows before the recurrence, the readout one addmm
        over the stacked (L B, H) states, and the recurrence is (IMPL=)
          function  (the default) a torch.autograd.Function with BPTT by hand: the
                    forward's addmm into one preallocated (L, B, H) tensor, the backward's
                    per-step addmm_ of dA_{t+1} W, then dW as one matmul over all steps;
          eager     a Python loop of addmm, autograd through 120 nodes;
          script    the same loop as a TorchScript function.
        function ran 2.7x eager's steps/s and 3.5x script's here (1 thread, 2026-12-05).
  lstm  nn.LSTM (PyTorch's fused CPU LSTM); biases zero but the forget gate's 1, as
        dlx's lstm (b = 0, forget_bias 1).

Written for CPU speed: thread pools sized before torch is imported (bench/torch/common.py:
OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), every batch of the run generated before timing and held as one
tensor, grads set to None, the warm-up steps excluded.

usage: OMP_NUM_THREADS=1|2 OPENBLAS_NUM_THREADS=1|2 /usr/bin/python3 bench/torch/rnn.py rnn|lstm [STEPS]  -> one JSON line
"""
import common  # noqa: F401  (first: sizes the thread pools before torch loads)
import os
import sys

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import report, time_steps  # noqa: E402

SET_TO_NONE = common.set_to_none(True)  # zero_grad: see common.py

cell = sys.argv[1] if len(sys.argv) > 1 else "rnn"
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 100
impl = os.environ.get("IMPL", "function")
warmup = 10
torch.manual_seed(1)
T, B, H, C, K = 100, 20, 128, 10, 10
L = T + 2 * K


def copy_batches(n, rng):
    """n batches of the copy task: one-hot x (n, L, B, C), targets y (n, L B)."""
    sym = np.zeros((n, L, B), dtype=np.int64)
    sym[:, :K] = rng.integers(1, 9, size=(n, K, B))
    sym[:, T + K - 1] = C - 1
    y = np.zeros((n, L, B), dtype=np.int64)
    y[:, T + K:] = sym[:, :K]
    x = np.zeros((n, L, B, C), dtype=np.float32)
    np.put_along_axis(x, sym[..., None], 1.0, axis=3)
    return torch.from_numpy(x), torch.from_numpy(y.reshape(n, L * B))


X, Y = copy_batches(warmup + steps, np.random.default_rng(1))


@torch.jit.script
def recur(xu: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """h_t = W h_{t-1} + xu_t over xu (L, B, H), h_{-1} = 0."""
    Wt = W.t()
    h = xu[0]
    hs = [h]
    for t in range(1, xu.size(0)):
        h = torch.addmm(xu[t], h, Wt)
        hs.append(h)
    return torch.stack(hs)


def recur_eager(xu, W):
    Wt = W.t()
    h = xu[0]
    hs = [h]
    for t in range(1, xu.size(0)):
        h = torch.addmm(xu[t], h, Wt)
        hs.append(h)
    return torch.stack(hs)


class Recur(torch.autograd.Function):
    """The recurrence with BPTT written by hand: the forward's addmm into one
    preallocated (L, B, H) buffer, the backward's dA_t = dh_t + dA_{t+1} W per step,
    then dW = dA[1:]^T h[:-1] as one matmul over all (L - 1) B rows."""

    @staticmethod
    def forward(ctx, xu, W):
        h = torch.empty_like(xu)
        h[0] = xu[0]
        Wt = W.t()
        for t in range(1, xu.size(0)):
            torch.addmm(xu[t], h[t - 1], Wt, out=h[t])
        ctx.save_for_backward(h, W)
        return h

    @staticmethod
    def backward(ctx, dh):
        h, W = ctx.saved_tensors
        dA = dh.clone()
        for t in range(dA.size(0) - 2, -1, -1):
            dA[t].addmm_(dA[t + 1], W)
        dW = dA[1:].reshape(-1, h.size(2)).t().mm(h[:-1].reshape(-1, h.size(2)))
        return dA, dW


class LinearRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.U = nn.Parameter(nn.init.xavier_uniform_(torch.empty(H, C)))
        self.W = nn.Parameter(nn.init.orthogonal_(torch.empty(H, H)))
        self.b = nn.Parameter(torch.zeros(H))
        self.out = nn.Linear(H, C)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):  # x (L, B, C) -> logits (L B, C)
        xu = torch.addmm(self.b, x.reshape(L * B, C), self.U.t()).view(L, B, H)
        if impl == "function":
            h = Recur.apply(xu, self.W)
        else:
            h = (recur if impl == "script" else recur_eager)(xu, self.W)
        return self.out(h.view(L * B, H))


class LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(C, H)
        with torch.no_grad():  # dlx's b = 0 and forget_bias 1
            self.lstm.bias_ih_l0.zero_()
            self.lstm.bias_hh_l0.zero_()
            self.lstm.bias_ih_l0[H:2 * H] = 1.0
        self.out = nn.Linear(H, C)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        return self.out(self.lstm(x)[0].reshape(L * B, H))


net = LinearRNN() if cell == "rnn" else LSTM()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
params = list(net.parameters())


def step(i):
    loss = F.cross_entropy(net(X[i]), Y[i])
    opt.zero_grad(set_to_none=SET_TO_NONE)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return loss


steps, dt, loss = time_steps(step, steps, warmup)
report(workload="rnn_copy_" + cell, impl=impl if cell == "rnn" else "nn.LSTM", steps_per_s=steps / dt,
       seconds=dt, steps=steps, loss=float(loss))
