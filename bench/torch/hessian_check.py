#!/usr/bin/python3
"""Independent check of dlx's exact Hessian index (models/landscape_hessian.c).

For a dlx checkpoint of configs/landscape/mnist10_mlp.yaml (flatten, linear
+ ReLU, linear, softmax cross-entropy on MNIST resized to 10x10), this script
rebuilds the training inputs the way dlx's reader does (bilinear resize with
half-pixel centres, float32, rounded to grey levels, then /255), loads the
checkpoint's parameters, and takes the Hessian of the mean cross-entropy over
the first SAMPLES training samples with PyTorch autograd in float64
(torch.autograd.functional.hessian), then numpy's eigvalsh.

It prints the loss over the whole training split (compare with dlx's
train_loss of the same run, which shows that inputs and weights are dlx's),
and the index (eigenvalues below -NEG_TOL) and the extreme eigenvalues
(compare with the sweep's hessian columns).

  bench/torch/hessian_check.py CHECKPOINT.h5 [--data datasets/data/mnist]
                               [--samples 5000] [--neg-tol 1e-3]
"""
import argparse
import json

import h5py
import numpy as np
import torch


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fma32(a, b, c):
    """a * b + c rounded once to float32, as the compiler's fused
    multiply-add in core/data.c (the product of two floats is exact in
    double)."""
    return (a.astype(np.float64) * np.float64(b) + np.float64(c)).astype(np.float32) \
        if np.isscalar(b) else (a.astype(np.float64) * b.astype(np.float64) + c).astype(np.float32)


def resize_like_dlx(images, oh, ow):
    """core/data.c resize_plane + dlx_dataset_resize, in float32 with its
    fused multiply-adds (without them 57 of 6 million pixels differ by a
    grey level)."""
    n, ih, iw = images.shape
    f32 = np.float32
    rx, ry = f32(iw) / f32(ow), f32(ih) / f32(oh)

    def axis(o, r, size):
        s = fma32(f32(o) + f32(0.5), r, -0.5)
        s = np.maximum(s, f32(0))
        i0 = np.minimum(s.astype(np.int64), size - 1)
        i1 = np.where(i0 + 1 < size, i0 + 1, size - 1)
        w = np.minimum(s - i0.astype(f32), f32(1))
        return i0, i1, w.astype(f32)

    x0, x1, wx = axis(np.arange(ow, dtype=f32), rx, iw)
    y0, y1, wy = axis(np.arange(oh, dtype=f32), ry, ih)
    img = images.astype(f32)
    a = img[:, y0][:, :, x0]
    b = img[:, y0][:, :, x1]
    c = img[:, y1][:, :, x0]
    e = img[:, y1][:, :, x1]
    top = fma32(np.broadcast_to(wx[None, None, :], a.shape), b - a, a)
    bot = fma32(np.broadcast_to(wx[None, None, :], c.shape), e - c, c)
    out = fma32(np.broadcast_to(wy[None, :, None], top.shape), bot - top, top)
    return (out + f32(0.5)).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--data", default="datasets/data/mnist")
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--neg-tol", type=float, default=1e-3)
    args = ap.parse_args()

    imgs = read_idx(f"{args.data}/train-images-idx3-ubyte")
    labels = torch.tensor(read_idx(f"{args.data}/train-labels-idx1-ubyte").astype(np.int64))
    small = resize_like_dlx(imgs, 10, 10)
    x32 = small.reshape(len(small), -1).astype(np.float32) * np.float32(1.0 / 255.0)
    x = torch.tensor(x32.astype(np.float64))

    with h5py.File(args.checkpoint, "r") as f:
        p = {k: np.array(f["params"][k], dtype=np.float64) for k in f["params"].keys()}
    names = ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"]
    shapes = [p[k].shape for k in names]
    flat = torch.tensor(np.concatenate([p[k].ravel() for k in names]))

    def unpack(w):
        out, at = [], 0
        for s in shapes:
            k = int(np.prod(s))
            out.append(w[at: at + k].reshape(s))
            at += k
        return out

    def loss(w, xs, ys):
        w1, b1, w2, b2 = unpack(w)
        h = torch.relu(xs @ w1.T + b1)
        return torch.nn.functional.cross_entropy(h @ w2.T + b2, ys)

    with torch.no_grad():
        full = loss(flat, x, labels).item()
    xs, ys = x[: args.samples], labels[: args.samples]
    H = torch.autograd.functional.hessian(lambda w: loss(w, xs, ys), flat).numpy()
    ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    print(json.dumps({
        "params": int(flat.numel()),
        "train_loss_all": full,
        "loss_samples": loss(flat, xs, ys).item(),
        "hessian_index": int((ev < -args.neg_tol).sum()),
        "eig_min": float(ev[0]),
        "eig_max": float(ev[-1]),
        "asymmetry": float(np.abs(H - H.T).max()),
    }))


if __name__ == "__main__":
    main()
