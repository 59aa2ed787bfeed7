"""The plainest PyTorch EBGAN-PT step (configs/ebgan.yaml), a check on bench/torch/ebgan.py:
default threads, fake.detach(), D's weight gradients computed and discarded in the G
update, uint8 batches converted each step. usage: /usr/bin/python3 bench/torch/ebgan_plain.py [STEPS]"""
import json, sys, time
import numpy as np
import torch
import torch.nn as nn
from common import load_mnist

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
x_u8, _ = load_mnist("train")
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
    idx = np.random.randint(0, len(x_u8), 64)
    x = torch.tensor(x_u8[idx].reshape(64, 784), dtype=torch.float32) / 127.5 - 1
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


for i in range(20):
    step(i)
t = time.perf_counter()
for i in range(steps):
    step(i)
dt = time.perf_counter() - t
print(json.dumps({"workload": "ebgan_plain", "steps_per_s": steps / dt, "torch_threads": torch.get_num_threads()}))
