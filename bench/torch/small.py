"""One full training of a 100-25-10 net on MNIST resized to 10x10 (batch 100, 10 epochs, SGD):
the per-run cost of a loss-landscape sweep. Time includes building the net, not loading the data."""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import load_mnist, now, report, setup_threads

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
setup_threads()
x_u8, y_np = load_mnist("train")
x = torch.from_numpy(x_u8.astype(np.float32) / 255.0)
x = F.interpolate(x, size=(10, 10), mode="bilinear", align_corners=False).flatten(1)
x = (x - 0.1307) / 0.3081
y = torch.from_numpy(y_np.astype(np.int64))
batch = 100
t0 = now()
torch.manual_seed(1)
net = nn.Sequential(nn.Linear(100, 25), nn.ReLU(), nn.Linear(25, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
g = torch.Generator().manual_seed(1)
for e in range(epochs):
    perm = torch.randperm(len(y), generator=g)
    for s in range(len(y) // batch):
        idx = perm[s * batch:(s + 1) * batch]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
dt = now() - t0
report(workload="small", seconds_per_training=dt, trainings_per_s=1.0 / dt, epochs=epochs, us_per_step=dt / (epochs * (len(y) // batch)) * 1e6)
