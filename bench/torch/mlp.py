"""MLP 784-1000-500-250-250-250-10 (ReLU), Adam, batch 100: training throughput (configs/mlp.yaml).
usage: OMP_NUM_THREADS=1|2 OPENBLAS_NUM_THREADS=1|2 /usr/bin/python3 bench/torch/mlp.py [STEPS]"""
import common  # noqa: F401  (first: sizes the thread pools before torch loads)
import sys

import torch
import torch.nn as nn

from common import mnist_float, report, time_training

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 600
torch.manual_seed(1)
x, y = mnist_float("train")
sizes = [784, 1000, 500, 250, 250, 250, 10]
layers = []
for a, b in zip(sizes[:-1], sizes[1:]):
    layers += [nn.Linear(a, b), nn.ReLU()]
net = nn.Sequential(nn.Flatten(), *layers[:-1])
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
batch = 100
n, dt = time_training(net, opt, x, y, batch, steps)
report(workload="mlp", images_per_s=n * batch / dt, seconds=dt, steps=n)
