"""The plainest PyTorch FISTA (the algorithm of core/sparse.c and bench/torch/fista.py), written
without common.py, a check on bench/torch/fista.py: threads as the caller's OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS left them, 100 iterations on 1,000 MNIST test digits with a 784x256
unit-norm dictionary, the iterations timed (with B = X Wd, as fista.py).
usage: /usr/bin/python3 bench/torch/fista_plain.py"""
import json, os, time
import numpy as np
import torch

d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../datasets/data/mnist/")
X = torch.tensor(np.fromfile(d + "t10k-images-idx3-ubyte", np.uint8, 1000 * 784, offset=16), dtype=torch.float32)
X = X.view(1000, 784) / 255
W = torch.randn(784, 256)
W = W / W.norm(dim=0)
G = W.T @ W
L = torch.linalg.eigvalsh(G.double())[-1].item() * 1.0001
with torch.no_grad():
    t0 = time.perf_counter()
    B = X @ W
    Z = torch.zeros(1000, 256)
    Y = Z
    t = 1.0
    for _ in range(100):
        V = Y - (Y @ G - B) / L
        Znew = torch.sign(V) * torch.relu(V.abs() - 0.1 / L)
        t1 = (1 + (1 + 4 * t * t) ** 0.5) / 2
        Y = Znew + (t - 1) / t1 * (Znew - Z)
        Z, t = Znew, t1
    dt = time.perf_counter() - t0
print(json.dumps({"workload": "fista_plain", "samples_per_s": 1000 / dt, "energy": float((0.5 * ((X - Z @ W.T) ** 2).sum(1) + 0.1 * Z.abs().sum(1)).mean()),
                  "torch_threads": torch.get_num_threads(), "os_threads": len(os.listdir("/proc/self/task"))}))
