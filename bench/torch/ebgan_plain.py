"""The plainest PyTorch EBGAN-PT step (configs/ebgan.yaml), a check on bench/torch/ebgan.py:
threads as the caller's OMP_NUM_THREADS / OPENBLAS_NUM_THREADS left them, written
without common.py, fake.detach(), D's weight gradients computed and discarded in the G
update, the data one float tensor in [-1, 1], a random index
gathered per batch. usage: /usr/bin/python3 bench/torch/ebgan_plain.py [STEPS]"""
import json, os, sys, time
import numpy as np
import torch
import torch.nn as nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../datasets/data/mnist/")
n = int(os.environ.get("BENCH_TRAIN_LIMIT", "0")) or 60000
X = torch.tensor(np.fromfile(d + "train-images-idx3-ubyte", np.uint8, 784 * n, offset=16), dtype=torch.float32).view(n, 784) / 127.5 - 1
G = nn.Sequential(nn.Linear(64, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(),
                  nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 784), nn.Tanh())
enc = nn.Sequential(nn.Linear(784, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU())
dec = nn.Linear(512, 784)
opt_d = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3, betas=(0.5, 0.999))
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))


def energy(x):
    code = enc(x)
    return 0.5 * ((dec(code) - x) ** 2).sum() / x.shape[0], code


def pt(s):
    u = s / s.norm(dim=1, keepdim=True)
    c = u @ u.t()
    n = s.shape[0]
    return ((c ** 2).sum() - n) / (n * (n - 1))


def step(i):
    x = X[torch.randint(0, n, (64,))]
    fake = G(torch.randn(64, 64))
    d_loss = energy(x)[0] + torch.relu(10 - energy(fake.detach())[0])
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    e, code = energy(G(torch.randn(64, 64)))
    g_loss = e + 0.1 * pt(code)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()


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
steps, dt = i + 1, time.perf_counter() - t
print(json.dumps({"workload": "ebgan_plain", "steps_per_s": steps / dt, "torch_threads": torch.get_num_threads(), "os_threads": len(os.listdir("/proc/self/task"))}))
