"""One full training of a 100-25-10 net on MNIST resized to 10x10 (batch 100, 10 epochs, SGD):
the per-run cost of a loss-landscape sweep. Time includes building the net, not loading the data.
Each epoch shuffles the float tensor once and takes its batches as slices.
usage: OMP_NUM_THREADS=1|2 OPENBLAS_NUM_THREADS=1|2 /usr/bin/python3 bench/torch/small.py [EPOCHS]"""
import common  # noqa: F401  (first: sizes the thread pools before torch loads)
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import load_mnist, now, report

SET_TO_NONE = common.set_to_none(True)  # zero_grad: see common.py

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
x_u8, y_np = load_mnist("train")
x = torch.from_numpy(x_u8.astype(np.float32)).div_(255.0)
x = F.interpolate(x, size=(10, 10), mode="bilinear", align_corners=False).flatten(1)
x = ((x - 0.1307) / 0.3081).contiguous()
y = torch.from_numpy(y_np).long()
batch = 100
t0 = now()
torch.manual_seed(1)
net = nn.Sequential(nn.Linear(100, 25), nn.ReLU(), nn.Linear(25, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
g = torch.Generator().manual_seed(1)
for e in range(epochs):
    perm = torch.randperm(len(y), generator=g)
    xs, ys = x[perm], y[perm]
    for k in range(0, len(y) - batch + 1, batch):
        opt.zero_grad(set_to_none=SET_TO_NONE)
        F.cross_entropy(net(xs[k:k + batch]), ys[k:k + batch]).backward()
        opt.step()
dt = now() - t0
report(workload="small", seconds_per_training=dt, trainings_per_s=1.0 / dt, epochs=epochs,
       us_per_step=dt / (epochs * (len(y) // batch)) * 1e6)
