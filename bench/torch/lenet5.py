"""LeNet-5 training throughput, the same network, batch and optimizer as configs/lenet5.yaml."""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import load_mnist, report, setup_threads, time_training

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
dt = time_training(net, opt, x_u8, y_all, batch, steps)
report(workload="lenet5", images_per_s=steps * batch / dt, seconds=dt, steps=steps)
