"""The plainest PyTorch disentangling step (configs/disentangle_mnist.yaml), a check on
bench/torch/disentangle.py: threads as the caller's OMP_NUM_THREADS / OPENBLAS_NUM_THREADS left them (written
without common.py), the D update's fakes from the graph with
.detach(), D's weight gradients computed and discarded in the G update, zero_grad(), the data one
float tensor in [-1, 1] padded to 32x32, indices gathered per batch. The same work as dlx's step
and the twin's: each image encoded once a step, each update its own noise for z, so the D
update's two fakes are decoded again on the G update's noise (seven decodes with gradients).
usage: /usr/bin/python3 bench/torch/disentangle_plain.py [STEPS]"""
import json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
B, NS, NZ, K = 32, 16, 4, 10  # configs/disentangle_mnist.yaml: s 16, z 4
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../datasets/data/mnist/")
n = int(os.environ.get("BENCH_TRAIN_LIMIT", "0")) or 60000
X = torch.tensor(np.fromfile(d + "train-images-idx3-ubyte", np.uint8, 784 * n, offset=16), dtype=torch.float32)
X = F.pad(X.view(n, 1, 28, 28) / 127.5 - 1, (2, 2, 2, 2), value=-1.0)
y_u8 = np.fromfile(d + "train-labels-idx1-ubyte", np.uint8, n, offset=8)
Y = torch.tensor(y_u8, dtype=torch.long)
by_class = [np.flatnonzero(y_u8 == k) for k in range(K)]
E = nn.Sequential(nn.Conv2d(1, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                  nn.Conv2d(16, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                  nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                  nn.Flatten(), nn.Linear(1024, NS + 2 * NZ))
Dec = nn.Sequential(nn.Linear(NS + NZ, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(), nn.Unflatten(1, (64, 4, 4)),
                    nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                    nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                    nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Tanh())
D = nn.Sequential(nn.Conv2d(1 + K, 16, 4, 2, 1), nn.LeakyReLU(0.2),
                  nn.Conv2d(16, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
                  nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
                  nn.Dropout(0.2), nn.Flatten(), nn.Linear(1024, 1), nn.Sigmoid())
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_g = torch.optim.Adam(list(E.parameters()) + list(Dec.parameters()), lr=1e-3, betas=(0.5, 0.999))
bce = nn.BCELoss()


def img(idx):
    return X[idx]


def planes(idx):
    return F.one_hot(Y[idx], K).float()[:, :, None, None].expand(B, K, 32, 32)


def encode(x):
    e = E(x)
    return e[:, :NS], e[:, NS:NS + NZ], e[:, NS + NZ:]


def draw(mu, lv):
    return mu + torch.exp(0.5 * lv) * torch.randn(B, NZ)


def step():
    i1 = np.random.randint(0, n, B)
    i2 = np.array([np.random.choice(by_class[y_u8[j]]) for j in i1])
    i3 = np.random.randint(0, n, B)
    x1, x2, x3, c1, c3 = img(i1), img(i2), img(i3), planes(i1), planes(i3)
    (s1, m1, l1), (s2, m2, l2), (s3, m3, l3) = encode(x1), encode(x2), encode(x3)
    f1, f2 = Dec(torch.cat([s2, draw(m3, l3)], 1)), Dec(torch.cat([s3, draw(m2, l2)], 1))
    d_loss = (bce(D(torch.cat([x1, c1], 1)), torch.full((B, 1), 0.95)) + bce(D(torch.cat([x3, c3], 1)), torch.full((B, 1), 0.95))
              + bce(D(torch.cat([f1.detach(), c1], 1)), torch.zeros(B, 1)) + bce(D(torch.cat([f2.detach(), c3], 1)), torch.zeros(B, 1)))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    z1, z2, z3 = draw(m1, l1), draw(m2, l2), draw(m3, l3)
    rec = sum(F.mse_loss(Dec(torch.cat([s, z], 1)), x) for s, z, x in ((s1, z1, x1), (s2, z2, x2), (s3, z3, x3)))
    swap = F.mse_loss(Dec(torch.cat([s2, z1], 1)), x1) + F.mse_loss(Dec(torch.cat([s1, z2], 1)), x2)
    adv = (bce(D(torch.cat([Dec(torch.cat([s2, z3], 1)), c1], 1)), torch.ones(B, 1))
           + bce(D(torch.cat([Dec(torch.cat([s3, z2], 1)), c3], 1)), torch.ones(B, 1)))
    kl = sum(0.5 * (m * m + lv.exp() - 1 - lv).sum(1).mean() for m, lv in ((m1, l1), (m2, l2), (m3, l3)))
    g_loss = 0.5 * rec + swap + 0.1 * adv + 0.005 * kl
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()


t = time.perf_counter()
for _ in range(10):
    step()
    if time.perf_counter() - t > float(os.environ.get("BENCH_MAX_SECONDS", "30")) / 3:
        break
t0 = time.perf_counter()
for i in range(steps):
    step()
    if time.perf_counter() - t0 > float(os.environ.get("BENCH_MAX_SECONDS", "30")):
        break
steps, dt = i + 1, time.perf_counter() - t0
print(json.dumps({"workload": "disentangle_plain", "steps_per_s": steps / dt, "seconds": dt, "steps": steps,
                  "torch_threads": torch.get_num_threads(), "os_threads": len(os.listdir("/proc/self/task"))}))
