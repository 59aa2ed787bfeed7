"""LeNet-5 training throughput, the same network, batch and optimizer as configs/lenet5.yaml.
usage: OMP_NUM_THREADS=1|2 OPENBLAS_NUM_THREADS=1|2 /usr/bin/python3 bench/torch/lenet5.py [STEPS]"""
import common  # noqa: F401  (first: sizes the thread pools before torch loads)
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import mnist_float, report, time_training

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 600
torch.manual_seed(1)
x, y = mnist_float("train")


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
n, dt = time_training(net, opt, x, y, batch, steps)
report(workload="lenet5", images_per_s=n * batch / dt, seconds=dt, steps=n)
