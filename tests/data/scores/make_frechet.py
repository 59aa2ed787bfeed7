#!/usr/bin/python3
"""Writes frechet.txt: two sets of float32 features and their Fréchet
distance computed by numpy in float64, for tests/test_scores.c.

Features: set A is N(0, I) mixed through a random matrix (correlated, d=6,
n=40); set B another mixing plus a shift (n=55). The reference takes the
trace of (S1 S2)^(1/2) as the sum of the square roots of the eigenvalues of
the (non-symmetric) product S1 S2, which are real and non-negative: a route
independent of the symmetric form dlx uses. scipy.linalg.sqrtm (the FID
reference code's) gives the same trace when scipy is importable; this script
checks that too and prints the difference.
Usage: /usr/bin/python3 make_frechet.py > frechet.txt
"""
import numpy as np

rng = np.random.default_rng(20261205)
d, na, nb = 6, 40, 55
a = (rng.standard_normal((na, d)) @ rng.standard_normal((d, d))).astype(np.float32)
b = (rng.standard_normal((nb, d)) @ rng.standard_normal((d, d)) * 0.7 + 0.5).astype(np.float32)
A, B = a.astype(np.float64), b.astype(np.float64)
mu1, mu2 = A.mean(0), B.mean(0)
s1, s2 = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
ev = np.linalg.eigvals(s1 @ s2)
tr_sqrt = np.sum(np.sqrt(np.maximum(ev.real, 0.0)))
fd = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
try:
    import scipy.linalg
    cs = scipy.linalg.sqrtm(s1 @ s2).real
    fd_scipy = float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2.0 * cs))
    import sys
    print("# scipy.linalg.sqrtm: %.17g (differs by %.3g)" % (fd_scipy, fd_scipy - fd), file=sys.stderr)
except ImportError:
    pass
print("# n_a n_b d, then n_a rows of A, n_b rows of B, then FD(A, B)")
print(na, nb, d)
for r in a:
    print(" ".join("%.9g" % v for v in r))
for r in b:
    print(" ".join("%.9g" % v for v in r))
print("%.17g" % fd)
