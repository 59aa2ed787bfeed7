"""The plainest PyTorch DCGAN step (configs/dcgan.yaml), a check on bench/torch/dcgan.py:
threads as the caller's OMP_NUM_THREADS / OPENBLAS_NUM_THREADS left them, written
without common.py, fake.detach(), nn.BCELoss after a sigmoid, D's weight gradients computed
and discarded in the G update, the data one float tensor in [-1, 1] padded to 32x32, a random
index gathered per batch.
usage: /usr/bin/python3 bench/torch/dcgan_plain.py [STEPS]"""
import json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../datasets/data/mnist/")
n = int(os.environ.get("BENCH_TRAIN_LIMIT", "0")) or 60000
X = torch.tensor(np.fromfile(d + "train-images-idx3-ubyte", np.uint8, 784 * n, offset=16), dtype=torch.float32)
X = F.pad(X.view(n, 1, 28, 28) / 127.5 - 1, (2, 2, 2, 2), value=-1.0)
G = nn.Sequential(nn.Linear(64, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(), nn.Unflatten(1, (64, 4, 4)),
                  nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                  nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                  nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Tanh())
D = nn.Sequential(nn.Conv2d(1, 16, 4, 2, 1), nn.LeakyReLU(0.2),
                  nn.Conv2d(16, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
                  nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
                  nn.Flatten(), nn.Linear(1024, 1), nn.Sigmoid())
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
bce = nn.BCELoss()


def step(i):
    x = X[torch.randint(0, n, (64,))]
    fake = G(torch.randn(64, 64))
    d_loss = bce(D(x), torch.ones(64, 1)) + bce(D(fake.detach()), torch.zeros(64, 1))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = bce(D(G(torch.randn(64, 64))), torch.ones(64, 1))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()


t = time.perf_counter()
for i in range(10):
    step(i)
    if time.perf_counter() - t > float(os.environ.get("BENCH_MAX_SECONDS", "30")) / 3:
        break
t = time.perf_counter()
for i in range(steps):
    step(i)
    if time.perf_counter() - t > float(os.environ.get("BENCH_MAX_SECONDS", "30")):
        break
steps, dt = i + 1, time.perf_counter() - t
print(json.dumps({"workload": "dcgan_plain", "steps_per_s": steps / dt, "torch_threads": torch.get_num_threads(), "os_threads": len(os.listdir("/proc/self/task"))}))
