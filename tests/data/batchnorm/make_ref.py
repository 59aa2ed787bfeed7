#!/usr/bin/python3
"""Writes ref.txt, PyTorch's batch norm on fixed inputs, for tests/test_batchnorm.c.

Run from anywhere with a Python that has torch (CI has none: the test reads
the committed ref.txt):  /usr/bin/python3 tests/data/batchnorm/make_ref.py

Per case: x, gamma, beta, the initial running statistics and an upstream
gradient g (all float32, exact in the file), then torch's results:
  y_train, dx_train, dgamma_train, dbeta_train  one training forward/backward
  rmean, rvar                                   running statistics after it
  y_eval, dx_eval, dgamma_eval, dbeta_eval      eval mode on those statistics
Format: "case NAME EPS MOMENTUM NDIM D0 D1 ..." then "TENSOR COUNT v1 v2 ..."
lines, values as %.9g (float32 round trip), and "end".
"""
import os

import torch

torch.manual_seed(20260105)


def run_case(out, name, shape, eps, momentum):
    C = shape[1]
    # channels of different means and scales, so normalising matters
    scale = torch.linspace(0.5, 3.0, C)
    shift = torch.linspace(-2.0, 4.0, C)
    view = [1, C] + [1] * (len(shape) - 2)
    x = torch.randn(shape) * scale.view(view) + shift.view(view)
    gamma = torch.rand(C) + 0.5
    beta = torch.randn(C) * 0.5
    rmean0 = torch.randn(C) * 0.3
    rvar0 = torch.rand(C) + 0.5
    g = torch.randn(shape)

    bn = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(C, eps=eps, momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
        bn.running_mean.copy_(rmean0)
        bn.running_var.copy_(rvar0)

    res = {}
    bn.train()
    xt = x.clone().requires_grad_(True)
    y = bn(xt)
    y.backward(g)
    res["y_train"], res["dx_train"] = y.detach(), xt.grad.clone()
    res["dgamma_train"], res["dbeta_train"] = bn.weight.grad.clone(), bn.bias.grad.clone()
    res["rmean"], res["rvar"] = bn.running_mean.clone(), bn.running_var.clone()

    bn.eval()
    bn.weight.grad = None
    bn.bias.grad = None
    xe = x.clone().requires_grad_(True)
    y = bn(xe)
    y.backward(g)
    res["y_eval"], res["dx_eval"] = y.detach(), xe.grad.clone()
    res["dgamma_eval"], res["dbeta_eval"] = bn.weight.grad.clone(), bn.bias.grad.clone()

    out.write("case %s %.9g %.9g %d %s\n" % (name, eps, momentum, len(shape), " ".join(str(d) for d in shape)))
    tensors = [("x", x), ("gamma", gamma), ("beta", beta), ("rmean0", rmean0), ("rvar0", rvar0), ("g", g)]
    tensors += sorted(res.items())
    for key, t in tensors:
        v = t.detach().reshape(-1).tolist()
        out.write("%s %d %s\n" % (key, len(v), " ".join("%.9g" % f for f in v)))
    out.write("end\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "ref.txt"), "w") as out:
        out.write("# PyTorch %s BatchNorm1d/2d reference: written by make_ref.py, read by tests/test_batchnorm.c\n"
                  % torch.__version__)
        run_case(out, "bn2d", (4, 3, 5, 2), 1e-5, 0.1)
        run_case(out, "bn1d", (6, 4), 1e-3, 0.3)
        run_case(out, "bn2d_single_pixel", (5, 2, 1, 1), 1e-5, 0.1)


if __name__ == "__main__":
    main()
