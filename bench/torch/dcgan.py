"""DCGAN on MNIST padded to 32x32 (configs/dcgan.yaml): generator + discriminator training steps per second.

One step = configs/dcgan.yaml's train.updates: a D update (d_loss = bce(D(x), 1) +
bce(D(G(z1)), 0)) then a G update on fresh noise (the non-saturating g_loss =
bce(D(G(z2)), 1)), each with its own Adam (lr 2e-4, betas (0.5, 0.999)). Batch 64, noise
N(0, I) of dim 64, images in [-1, 1] padded by 2 to 32x32 (with -1, the background).
Written for CPU speed: thread pools sized before torch is imported (TORCH_THREADS,
OPENBLAS_NUM_THREADS), the data one float tensor in memory, G run under no_grad for the
D update, D's parameters frozen (no weight gradients) during the G update, grads set to
None, the BCE on logits (binary_cross_entropy_with_logits).

usage: TORCH_THREADS=1|2 /usr/bin/python3 bench/torch/dcgan.py [STEPS]  -> one JSON line
"""
import os
import sys

_t = os.environ.get("TORCH_THREADS", "1")
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = _t
os.environ.setdefault("OPENBLAS_NUM_THREADS", _t)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import load_mnist, now, report, setup_threads  # noqa: E402

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
warmup = 10
setup_threads()
torch.manual_seed(1)
B, NZ = 64, 64

x_u8, _ = load_mnist("train")
X = torch.from_numpy(np.pad(x_u8, ((0, 0), (0, 0), (2, 2), (2, 2))).astype(np.float32)).mul_(2.0 / 255.0).sub_(1.0)

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

order = torch.from_numpy(np.random.default_rng(1).permutation(len(X)))
nb = len(X) // B


def step(i):
    x = X[order[(i % nb) * B:(i % nb + 1) * B]]
    with torch.no_grad():
        fake = G(torch.randn(B, NZ))
    d_loss = (F.binary_cross_entropy_with_logits(D(x), ones)
              + F.binary_cross_entropy_with_logits(D(fake), zeros))
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad_(False)
    g_loss = F.binary_cross_entropy_with_logits(D(G(torch.randn(B, NZ))), ones)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad_(True)
    return d_loss, g_loss


for i in range(warmup):
    step(i)
t0 = now()
for i in range(steps):
    d_loss, g_loss = step(warmup + i)
dt = now() - t0
report(workload="dcgan", steps_per_s=steps / dt, images_per_s=steps * B / dt, seconds=dt, steps=steps,
       d_loss=float(d_loss), g_loss=float(g_loss))
