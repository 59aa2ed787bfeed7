"""The plainest PyTorch LeNet-5 training (configs/lenet5.yaml), written without common.py, a check
on bench/torch/lenet5.py: threads as the caller's OMP_NUM_THREADS / OPENBLAS_NUM_THREADS left them,
MNIST read into one normalised float tensor, a shuffled index gathered per batch, SGD momentum.
usage: /usr/bin/python3 bench/torch/lenet5_plain.py [STEPS]"""
import json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 600
n = int(os.environ.get("BENCH_TRAIN_LIMIT", "0")) or 60000
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../datasets/data/mnist/")
x = torch.tensor(np.fromfile(d + "train-images-idx3-ubyte", np.uint8, 784 * n, offset=16), dtype=torch.float32)
x = ((x / 255 - 0.1307) / 0.3081).view(n, 1, 28, 28)
y = torch.tensor(np.fromfile(d + "train-labels-idx1-ubyte", np.uint8, n, offset=8), dtype=torch.long)
net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                    nn.Linear(84, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
perm = torch.randperm(n)


def step(i):
    idx = perm[(i * 64) % (n - 63):][:64]
    loss = F.cross_entropy(net(x[idx]), y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()


t = time.perf_counter()
for i in range(20):
    step(i)
    if time.perf_counter() - t > float(os.environ.get("BENCH_MAX_SECONDS", "30")) / 3:
        break
t = time.perf_counter()
for i in range(steps):
    step(i)
    if time.perf_counter() - t > float(os.environ.get("BENCH_MAX_SECONDS", "30")):
        break
dt = time.perf_counter() - t
print(json.dumps({"workload": "lenet5_plain", "images_per_s": (i + 1) * 64 / dt, "steps": i + 1,
                  "torch_threads": torch.get_num_threads(), "os_threads": len(os.listdir("/proc/self/task"))}))
