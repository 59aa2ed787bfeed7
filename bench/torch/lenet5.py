"""LeNet-5 training throughput, the same network, batch and optimizer as configs/lenet5.yaml."""
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


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.f5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2)
        x = x.flatten(1)
        return self.out(F.relu(self.f6(F.relu(self.f5(x)))))


net = LeNet5()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
batch = 64
order = np.random.default_rng(1).permutation(len(y_np))


def step(i):
    idx = order[(i * batch) % (len(order) - batch):][:batch]
    xb = normalize(x_u8[idx])
    yb = y_all[idx]
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(xb), yb)
    loss.backward()
    opt.step()
    return loss


for i in range(20):  # warm-up
    step(i)
t0 = now()
for i in range(steps):
    step(i)
dt = now() - t0
report(workload="lenet5", images_per_s=steps * batch / dt, seconds=dt, steps=steps)
