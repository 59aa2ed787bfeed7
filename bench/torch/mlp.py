"""MLP 784-1000-500-250-250-250-10 (ReLU), Adam, batch 100: training throughput (configs/mlp.yaml)."""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import load_mnist, normalize, now, report, setup_threads

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
setup_threads()
torch.manual_seed(1)
x_u8, y_np = load_mnist("train")
y_all = torch.from_numpy(y_np.astype(np.int64))
sizes = [784, 1000, 500, 250, 250, 250, 10]
layers = []
for a, b in zip(sizes[:-1], sizes[1:]):
    layers += [nn.Linear(a, b), nn.ReLU()]
net = nn.Sequential(nn.Flatten(), *layers[:-1])
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
batch = 100
order = np.random.default_rng(1).permutation(len(y_np))


def step(i):
    idx = order[(i * batch) % (len(order) - batch):][:batch]
    xb = normalize(x_u8[idx])
    yb = y_all[idx]
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(net(xb), yb).backward()
    opt.step()


for i in range(20):
    step(i)
t0 = now()
for i in range(steps):
    step(i)
dt = now() - t0
flops = 6 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) * batch * steps  # fwd + 2 bwd GEMMs
report(workload="mlp", images_per_s=steps * batch / dt, seconds=dt, gflops=flops / dt / 1e9)
