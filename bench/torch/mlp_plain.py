"""The plainest PyTorch MLP training (configs/mlp.yaml), written without common.py, a check on
bench/torch/mlp.py: threads as the caller's OMP_NUM_THREADS / OPENBLAS_NUM_THREADS left them,
MNIST read into one normalised float tensor, a shuffled index gathered per batch, Adam.
usage: /usr/bin/python3 bench/torch/mlp_plain.py [STEPS]"""
import json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 600
n = int(os.environ.get("BENCH_TRAIN_LIMIT", "0")) or 60000
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../datasets/data/mnist/")
x = torch.tensor(np.fromfile(d + "train-images-idx3-ubyte", np.uint8, 784 * n, offset=16), dtype=torch.float32)
x = ((x / 255 - 0.1307) / 0.3081).view(n, 784)
y = torch.tensor(np.fromfile(d + "train-labels-idx1-ubyte", np.uint8, n, offset=8), dtype=torch.long)
net = nn.Sequential(nn.Linear(784, 1000), nn.ReLU(), nn.Linear(1000, 500), nn.ReLU(), nn.Linear(500, 250), nn.ReLU(),
                    nn.Linear(250, 250), nn.ReLU(), nn.Linear(250, 250), nn.ReLU(), nn.Linear(250, 10))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
perm = torch.randperm(n)


def step(i):
    idx = perm[(i * 100) % (n - 99):][:100]
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
print(json.dumps({"workload": "mlp_plain", "images_per_s": (i + 1) * 100 / dt, "steps": i + 1,
                  "torch_threads": torch.get_num_threads(), "os_threads": len(os.listdir("/proc/self/task"))}))
