"""EBGAN-PT on MNIST (configs/ebgan.yaml): generator + discriminator training steps per second.

One step = configs/ebgan.yaml's train.updates: a D update (d_loss = E(x) + [m - E(G(z1))]^+)
then a G update on fresh noise (g_loss = E(G(z2)) + 0.1 f_PT(codes of G(z2))), each with
its own Adam (lr 1e-3, betas (0.5, 0.999)); E = half the squared reconstruction error per
image, the mean over the batch. Batch 64, noise N(0, I) of dim 64, images in [-1, 1].
Written for CPU speed: thread pools sized before torch is imported (bench/torch/common.py:
OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), the data one float tensor in memory, G run under no_grad for the
D update, D's parameters frozen (no weight gradients) during the G update, grads set to None.

usage: OMP_NUM_THREADS=1|2 OPENBLAS_NUM_THREADS=1|2 /usr/bin/python3 bench/torch/ebgan.py [STEPS]  -> one JSON line
"""
import common  # noqa: F401  (first: sizes the thread pools before torch loads)
import os
import sys

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from common import mnist_float, report, shuffled, time_steps  # noqa: E402

SET_TO_NONE = common.set_to_none(True)  # zero_grad: see common.py

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
warmup = 20
torch.manual_seed(1)
B, NZ, MARGIN, PT_W = 64, 64, 40.0, 0.1

X, Y = mnist_float("train", scale="pm1")  # [-1, 1]
X = shuffled(X.view(len(X), 784), Y)[0]  # one fixed order: each batch a slice

G = nn.Sequential(
    nn.Linear(NZ, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(),
    nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(),
    nn.Linear(512, 784), nn.Tanh())
enc = nn.Sequential(nn.Linear(784, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU())  # code layer
dec = nn.Linear(512, 784)
D = nn.ModuleList([enc, dec])
opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))


def energy(x):
    code = enc(x)
    return 0.5 * (dec(code) - x).pow(2).sum() / x.shape[0], code


def pulling_away(s):
    u = s / s.norm(dim=1, keepdim=True).clamp_min(1e-12)
    c = u @ u.t()
    n = s.shape[0]
    return (c.pow(2).sum() - c.diagonal().pow(2).sum()) / (n * (n - 1))


nb = len(X) // B


def step(i):
    x = X[(i % nb) * B:(i % nb + 1) * B]
    # D update: G's samples without a graph
    with torch.no_grad():
        fake = G(torch.randn(B, NZ))
    e_real, _ = energy(x)
    e_fake, _ = energy(fake)
    d_loss = e_real + torch.relu(MARGIN - e_fake)
    opt_d.zero_grad(set_to_none=SET_TO_NONE)
    d_loss.backward()
    opt_d.step()
    # G update on fresh noise, D frozen: only the input gradient flows through D
    for p in D.parameters():
        p.requires_grad_(False)
    fake = G(torch.randn(B, NZ))
    e_fake, code = energy(fake)
    g_loss = e_fake + PT_W * pulling_away(code)
    opt_g.zero_grad(set_to_none=SET_TO_NONE)
    g_loss.backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad_(True)
    return d_loss, g_loss


steps, dt, (d_loss, g_loss) = time_steps(step, steps, warmup)
report(workload="ebgan", steps_per_s=steps / dt, images_per_s=steps * B / dt, seconds=dt, steps=steps,
       d_loss=float(d_loss), g_loss=float(g_loss))
