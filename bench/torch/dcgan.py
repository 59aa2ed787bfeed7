"""DCGAN on MNIST padded to 32x32 (configs/dcgan.yaml): generator + discriminator training steps per second.

One step = configs/dcgan.yaml's train.updates: a D update (d_loss = bce(D(x), 1) +
bce(D(G(z1)), 0)) then a G update on fresh noise (the non-saturating g_loss =
bce(D(G(z2)), 1)), each with its own Adam (lr 2e-4, betas (0.5, 0.999)). Batch 64, noise
N(0, I) of dim 64, images in [-1, 1] padded by 2 to 32x32 (with -1, the background).
Written for CPU speed: thread pools sized before torch is imported (bench/torch/common.py:
OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), the data one float tensor in memory, G run under no_grad for the
D update, D's parameters frozen (no weight gradients) during the G update, grads set to
None, the BCE on logits (binary_cross_entropy_with_logits).

usage: OMP_NUM_THREADS=1|2 OPENBLAS_NUM_THREADS=1|2 /usr/bin/python3 bench/torch/dcgan.py [STEPS]  -> one JSON line
"""
import common  # noqa: F401  (first: sizes the thread pools before torch loads)
import os
import sys

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import mnist_float, report, shuffled, time_steps  # noqa: E402

SET_TO_NONE = common.set_to_none(False)  # zero_grad in place: see common.py

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
warmup = 10
torch.manual_seed(1)
B, NZ = 64, 64

X, Y = mnist_float("train", scale="pm1", pad=2)  # [-1, 1], padded with -1 to 32x32
X = shuffled(X, Y)[0]  # one fixed order: each batch a slice

G = nn.Sequential(
    nn.Linear(NZ, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(), nn.Unflatten(1, (64, 4, 4)),
    nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
    nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
    nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Tanh())
D = nn.Sequential(
    nn.Conv2d(1, 16, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(16, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2, inplace=True),
    nn.Flatten(), nn.Linear(64 * 4 * 4, 1))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)

nb = len(X) // B


def step(i):
    x = X[(i % nb) * B:(i % nb + 1) * B]
    with torch.no_grad():
        fake = G(torch.randn(B, NZ))
    d_loss = (F.binary_cross_entropy_with_logits(D(x), ones)
              + F.binary_cross_entropy_with_logits(D(fake), zeros))
    opt_d.zero_grad(set_to_none=SET_TO_NONE)
    d_loss.backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad_(False)
    g_loss = F.binary_cross_entropy_with_logits(D(G(torch.randn(B, NZ))), ones)
    opt_g.zero_grad(set_to_none=SET_TO_NONE)
    g_loss.backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad_(True)
    return d_loss, g_loss


steps, dt, (d_loss, g_loss) = time_steps(step, steps, warmup)
report(workload="dcgan", steps_per_s=steps / dt, images_per_s=steps * B / dt, seconds=dt, steps=steps,
       d_loss=float(d_loss), g_loss=float(g_loss))
