#!/usr/bin/python3
"""Writes ref.txt next to this file: inputs and PyTorch's outputs of
upsampling (nearest, bilinear with align_corners=False) and of one
conv_transpose2d, for tests/test_conv_transpose.c (CI has no torch).

    /usr/bin/python3 tests/data/upsample/make_ref.py   (torch: Debian's python3-torch)

Format, one tensor a line: NAME NDIM D0 .. D(NDIM-1) then the values in
row-major order, each printed with %.9g (float32 values read back exactly).
"""
import os

import torch
import torch.nn.functional as F


def line(name, t):
    t = t.detach().to(torch.float32).contiguous()
    dims = " ".join(str(d) for d in t.shape)
    vals = " ".join("%.9g" % v for v in t.flatten().tolist())
    return "%s %d %s %s\n" % (name, t.dim(), dims, vals)


def main():
    torch.manual_seed(20261205)
    out = ["# made by make_ref.py with torch %s; do not edit\n" % torch.__version__]
    x = torch.randn(2, 2, 3, 4)
    out.append(line("up_x", x))
    for mode in ("nearest", "bilinear"):
        for sh, sw in ((2, 2), (3, 2), (1, 3)):
            kw = {"align_corners": False} if mode == "bilinear" else {}
            y = F.interpolate(x, scale_factor=(sh, sw), mode=mode, **kw)
            out.append(line("%s_%dx%d" % (mode, sh, sw), y))
    # conv_transpose2d: stride 2x3, padding 1x0, output_padding 1x2, bias
    cx = torch.randn(2, 3, 4, 5)
    cw = torch.randn(3, 2, 3, 3) * 0.5
    cb = torch.randn(2)
    cy = F.conv_transpose2d(cx, cw, cb, stride=(2, 3), padding=(1, 0), output_padding=(1, 2))
    out += [line("ct_x", cx), line("ct_w", cw), line("ct_b", cb), line("ct_y", cy)]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref.txt")
    with open(path, "w") as f:
        f.writelines(out)


if __name__ == "__main__":
    main()
