#!/usr/bin/python3
"""100 FISTA iterations on 1,000 MNIST test digits with a 784x256 unit-norm
dictionary, batched over samples, in PyTorch (CPU, float32). The same
algorithm as core/sparse.c: B = X Wd, G = Wd^T Wd, L = largest eigenvalue of
G * 1.0001; each iteration one (N x m) @ (m x m) product. Prints samples/s of
the iterations alone (data loading and G, L excluded, as in dlx).

usage: OMP_NUM_THREADS=1|2 OPENBLAS_NUM_THREADS=1|2 /usr/bin/python3 bench/torch/fista.py [--data DIR] [--iters 100]
(--threads N is the older interface: it overrides OMP_NUM_THREADS after the import)
"""
import common  # noqa: F401  (first: sizes the thread pools before torch loads)
import argparse
import os
import struct
import time

import torch

from common import report


def load_mnist_test(d, n):
    path = os.path.join(d, "t10k-images-idx3-ubyte")
    with open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: not an IDX image file"
        raw = f.read(n * rows * cols)
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).to(torch.float32) / 255.0
    return x.view(n, rows * cols)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--data", default="datasets/data/mnist")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--atoms", type=int, default=256)
    ap.add_argument("--alpha", type=float, default=0.1)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    X = load_mnist_test(a.data, a.samples)
    Wd = torch.randn(X.shape[1], a.atoms)
    Wd /= Wd.norm(dim=0, keepdim=True)
    G = Wd.T @ Wd
    L = float(torch.linalg.eigvalsh(G.double())[-1]) * 1.0001
    theta = a.alpha / L
    with torch.no_grad():
        t0 = time.perf_counter()
        B = X @ Wd
        Z = torch.zeros(X.shape[0], a.atoms)
        Y = Z.clone()
        t = 1.0
        for _ in range(a.iters):
            Zold = Z
            V = Y - (Y @ G - B) / L
            Z = torch.sign(V) * torch.clamp(V.abs() - theta, min=0.0)
            t1 = 0.5 * (1.0 + (1.0 + 4.0 * t * t) ** 0.5)
            Y = Z + ((t - 1.0) / t1) * (Z - Zold)
            t = t1
        dt = time.perf_counter() - t0
    E = 0.5 * ((X - Z @ Wd.T) ** 2).sum(1) + a.alpha * Z.abs().sum(1)
    print(f"torch {torch.__version__} threads {torch.get_num_threads()}: {a.iters} FISTA iterations on {a.samples} samples, "
          f"{a.atoms} atoms: {dt:.4f} s, {a.samples / dt:.1f} samples/s, mean energy {float(E.mean()):.4f}")
    print(f"samples_per_s {a.samples / dt:.3f}")
    report(workload="fista", samples_per_s=a.samples / dt, seconds=dt)


if __name__ == "__main__":
    main()
