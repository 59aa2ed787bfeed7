"""MLP 784-1000-500-250-250-250-10 (ReLU), Adam, batch 100: training throughput (configs/mlp.yaml)."""
import sys

import numpy as np
import torch
import torch.nn as nn

from common import load_mnist, report, setup_threads, time_training

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
dt = time_training(net, opt, x_u8, y_all, batch, steps)
flops = 6 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) * batch * steps  # fwd + 2 bwd GEMMs
report(workload="mlp", images_per_s=steps * batch / dt, seconds=dt, gflops=flops / dt / 1e9)
