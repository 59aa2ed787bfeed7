#!/usr/bin/python3
"""Executed FLOPs per item of every bench/run.sh workload, counted from the layer shapes.

A layer's multiply-adds (MACs) come from a forward pass of the same layers (hooks on
Linear, Conv2d, ConvTranspose2d; ConvTranspose2d's are its input elements x out_ch x k x k).
A training step executes, per layer, 2 FLOPs per MAC in each of: the forward; the weight
gradient (layers being updated); the input gradient (wherever a gradient must flow on:
not into a network's data input). Element-wise work (activations, batch norm, Adam) is
left out, so the rate is that of the products alone, and it is the minimum work: a
program that also computes gradients nobody needs (D's weights in the G update, say)
executes more than is counted here.

  classifier (LeNet-5, MLP, small net): per image 3F - F1 MACs (F the forward's, F1 the
      first layer's)
  GAN step (EBGAN, DCGAN; D update then G update, D frozen in the G update):
      D update  G (no grad) + D fwd x2 + D weights x2 + D inputs x2 but layer 1
      G update  G fwd + D fwd + D inputs (all layers) + G weights + G inputs but layer 1
  disentangle step (3 encodes and 2 decodes under no_grad, 4 adversary calls; then 3
      encodes, 7 decodes and 2 adversary calls with gradients, adversary frozen)
  FISTA per sample: B = x Wd once (784 x 256), then 100 x (256 x 256) for Y G
  copy task per step: the input projection (forward, weights), 119 transition products
      forward, 119 backward and dW over all steps, the readout's three products

usage: /usr/bin/python3 bench/torch/flops.py   -> one JSON line {workload: FLOPs per item}
"""
import json

import torch
import torch.nn as nn


def layer_macs(net, x):
    """MACs of each Linear / Conv2d / ConvTranspose2d in call order, for input x."""
    macs = []

    def hook(m, inp, out):
        if isinstance(m, nn.Linear):
            macs.append(out.numel() * m.in_features)
        elif isinstance(m, nn.Conv2d):
            macs.append(out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.ConvTranspose2d):
            macs.append(inp[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1])

    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        net.eval()(x)
    for h in hs:
        h.remove()
    return macs


def classifier(net, x):
    m = layer_macs(net, x)
    return 2 * (3 * sum(m) - m[0]) / x.shape[0]


def gan_step(G, D, z, b):
    g, d = layer_macs(G, z), layer_macs(D, G(z))
    G_, D_ = sum(g), sum(d)
    d_update = G_ + 2 * D_ + 2 * D_ + 2 * (D_ - d[0])
    g_update = G_ + D_ + D_ + G_ + (G_ - g[0])
    return 2 * (d_update + g_update)


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def mlp():
    s = [784, 1000, 500, 250, 250, 250, 10]
    return nn.Sequential(*[nn.Linear(a, b) for a, b in zip(s[:-1], s[1:])])


def dcgan_nets(nz=64, cond=0):
    G = nn.Sequential(nn.Linear(nz, 1024), nn.Unflatten(1, (64, 4, 4)), nn.ConvTranspose2d(64, 32, 4, 2, 1),
                      nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ConvTranspose2d(16, 1, 4, 2, 1))
    D = nn.Sequential(nn.Conv2d(1 + cond, 16, 4, 2, 1), nn.Conv2d(16, 32, 4, 2, 1), nn.Conv2d(32, 64, 4, 2, 1),
                      nn.Flatten(), nn.Linear(1024, 1))
    return G, D


def disentangle_step(B=32, ns=16, nz=16, k=10):
    E = nn.Sequential(nn.Conv2d(1, 16, 4, 2, 1), nn.Conv2d(16, 32, 4, 2, 1), nn.Conv2d(32, 64, 4, 2, 1),
                      nn.Flatten(), nn.Linear(1024, ns + 2 * nz))
    Dec, Adv = dcgan_nets(ns + nz, cond=k)
    e = layer_macs(E, torch.zeros(B, 1, 32, 32))
    dec = sum(layer_macs(Dec, torch.zeros(B, ns + nz)))
    a = layer_macs(Adv, torch.zeros(B, 1 + k, 32, 32))
    E_, A_ = sum(e), sum(a)
    d_update = 3 * E_ + 2 * dec + 4 * A_ + 4 * A_ + 4 * (A_ - a[0])
    g_update = 3 * E_ + 7 * dec + 2 * A_ + 2 * A_ + 7 * dec + 7 * dec + 3 * E_ + 3 * (E_ - e[0])
    return 2 * (d_update + g_update)


def copy_step(gates, T=100, B=20, H=128, C=10):
    L = T + 20
    proj = L * B * gates * H * C          # forward and dU
    rec = (L - 1) * B * gates * H * H     # forward, backward, dW
    readout = L * B * H * C               # forward, dV, input gradient
    return 2 * (2 * proj + 3 * rec + 3 * readout)


def main():
    G, D = dcgan_nets()
    ebG = nn.Sequential(nn.Linear(64, 512), nn.Linear(512, 512), nn.Linear(512, 784))
    ebD = nn.Sequential(nn.Linear(784, 512), nn.Linear(512, 784))
    out = {
        "lenet5": classifier(lenet5(), torch.zeros(64, 1, 28, 28)),
        "mlp": classifier(mlp(), torch.zeros(100, 784)),
        # one training: 10 epochs of 60,000 images
        "small": classifier(nn.Sequential(nn.Linear(100, 25), nn.Linear(25, 10)), torch.zeros(100, 100)) * 600000,
        "fista": 2 * (784 * 256 + 100 * 256 * 256),
        "ebgan": gan_step(ebG, ebD, torch.zeros(64, 64), 64),
        "dcgan": gan_step(G, D, torch.zeros(64, 64), 64),
        "disentangle": disentangle_step(),
        "rnn": copy_step(1),
        "lstm": copy_step(4),
    }
    print(json.dumps({k: int(round(v)) for k, v in out.items()}))


if __name__ == "__main__":
    main()
