"""Disentangling factors of variation (configs/disentangle_mnist.yaml): training steps per second.

One step = the config's train.updates on one batch of 32 triplets (x1 the epoch's batch,
x2 of x1's class, x3 of any class; MNIST in [-1, 1] padded by 2 to 32x32):
  D update: d_loss = bce(D(x1|y1), .95) + bce(D(x3|y3), .95) + bce(D(f1|y1), 0) + bce(D(f2|y3), 0)
            with f1 = dec(s2, z3), f2 = dec(s3, z2) made under no_grad from the encoder's
            outputs on x2 and x3 (x1's code is not needed) and the D update's own noise;
            Adam 2e-4 (0.5, 0.999)
  G update: the encoder on x1 (x2's and x3's outputs are the D update's, kept with their
            graph: the D update does not change the encoder, and dlx reuses them the same
            way), z = mu + exp(lv/2) eps on the G update's own noise, the decoder seven
            times on cat(s, z): 0.5 rec + 1 swap + 0.1 adv + kl_w kl, D's parameters frozen;
            Adam 1e-3 (0.5, 0.999) over the encoder and decoder
So each step runs what dlx's runs: the encoder three times (x1, x2, x3: one set of weights),
the decoder twice without gradients and seven times with, the adversary six times.
The adversary sees the image beside 10 one-hot class planes, as dlx builds it. Written for CPU
speed like bench/torch/dcgan.py: thread pools sized before torch is imported, the data one float
tensor, grads set to None, BCE on logits.

usage: OMP_NUM_THREADS=1|2 OPENBLAS_NUM_THREADS=1|2 /usr/bin/python3 bench/torch/disentangle.py [STEPS]  -> one JSON line
"""
import common  # noqa: F401  (first: sizes the thread pools before torch loads)
import os
import sys

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import mnist_float, report, shuffled, time_steps  # noqa: E402

SET_TO_NONE = common.set_to_none(True)  # zero_grad: see common.py

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
warmup = 10
torch.manual_seed(1)
B, NS, NZ, K = 32, 16, 4, 10  # configs/disentangle_mnist.yaml: s 16, z 4
W_REC, W_SWAP, W_ADV, W_KL = 0.5, 1.0, 0.1, 0.005  # the config's weights

X, Y = mnist_float("train", scale="pm1", pad=2)  # [-1, 1], padded with -1 to 32x32
y_u8 = Y.numpy()  # x2 is drawn by class: the triplets are gathers, not slices
by_class = [np.flatnonzero(y_u8 == k) for k in range(K)]


def enc_net():
    return nn.Sequential(
        nn.Conv2d(1, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Flatten(), nn.Linear(1024, NS + 2 * NZ))


E = enc_net()
Dec = nn.Sequential(
    nn.Linear(NS + NZ, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(), nn.Unflatten(1, (64, 4, 4)),
    nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
    nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
    nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Tanh())
D = nn.Sequential(
    nn.Conv2d(1 + K, 16, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(16, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2, inplace=True),
    nn.Dropout(0.2), nn.Flatten(), nn.Linear(1024, 1))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_g = torch.optim.Adam(list(E.parameters()) + list(Dec.parameters()), lr=1e-3, betas=(0.5, 0.999))
real_t, zeros, ones = torch.full((B, 1), 0.95), torch.zeros(B, 1), torch.ones(B, 1)
rng = np.random.default_rng(1)
order = torch.from_numpy(rng.permutation(len(X)))
nb = len(X) // B


def triplet(i):
    i1 = order[(i % nb) * B:(i % nb + 1) * B].numpy()
    i2 = np.array([rng.choice(by_class[int(y_u8[j])]) for j in i1])
    i3 = rng.integers(0, len(X), B)
    return [X[i] for i in (i1, i2, i3)], Y[i1], Y[i3]


def planes(y):
    return F.one_hot(y, K).float()[:, :, None, None].expand(B, K, 32, 32)


def sample(e):
    """s, z drawn on fresh noise, and z's KL term, from the encoder's output e"""
    s, mu, lv = e[:, :NS], e[:, NS:NS + NZ], e[:, NS + NZ:]
    z = mu + torch.exp(0.5 * lv) * torch.randn(B, NZ)
    kl = 0.5 * (mu * mu + lv.exp() - 1 - lv).sum(1).mean()
    return s, z, kl


def dec(s, z):
    return Dec(torch.cat([s, z], 1))


def judge(img, c):
    return D(torch.cat([img, c], 1))


def step(i):
    (x1, x2, x3), y1, y3 = triplet(i)
    c1, c3 = planes(y1), planes(y3)
    e2, e3 = E(x2), E(x3)  # kept with their graph for the G update
    with torch.no_grad():
        (s2, z2, _), (s3, z3, _) = sample(e2), sample(e3)
        f1, f2 = dec(s2, z3), dec(s3, z2)
    bce = F.binary_cross_entropy_with_logits
    d_loss = (bce(judge(x1, c1), real_t) + bce(judge(x3, c3), real_t)
              + bce(judge(f1, c1), zeros) + bce(judge(f2, c3), zeros))
    opt_d.zero_grad(set_to_none=SET_TO_NONE)
    d_loss.backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad_(False)
    (s1, z1, k1), (s2, z2, k2), (s3, z3, k3) = sample(E(x1)), sample(e2), sample(e3)
    rec = F.mse_loss(dec(s1, z1), x1) + F.mse_loss(dec(s2, z2), x2) + F.mse_loss(dec(s3, z3), x3)
    swap = F.mse_loss(dec(s2, z1), x1) + F.mse_loss(dec(s1, z2), x2)
    adv = bce(judge(dec(s2, z3), c1), ones) + bce(judge(dec(s3, z2), c3), ones)
    g_loss = W_REC * rec + W_SWAP * swap + W_ADV * adv + W_KL * (k1 + k2 + k3)
    opt_g.zero_grad(set_to_none=SET_TO_NONE)
    g_loss.backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad_(True)
    return d_loss, g_loss


steps, dt, (d_loss, g_loss) = time_steps(step, steps, warmup)
report(workload="disentangle", steps_per_s=steps / dt, images_per_s=steps * 3 * B / dt, seconds=dt, steps=steps,
       d_loss=float(d_loss), g_loss=float(g_loss))
