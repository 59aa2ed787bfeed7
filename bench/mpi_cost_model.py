#!/usr/bin/python3
"""Cost model of `mpirun -np N dlx train` (docs/mpi.md): communication per
step from the parameter count and an interconnect's bandwidth and latency,
against the compute per step measured on this machine (CPU seconds per
image of a one-thread run, given on the command line).

One update moves, per rank, the gradient S = 4 * params bytes:
  chain    the ordered reduce (train/dist.c): cut into k chunks of
           c = max(S / N, 4 KiB) bytes (dlx_dist_chunk); every chunk passes
           N - 1 links, one after the other, so the last chunk arrives after
           (k + N - 2) hops of c / B + alpha each: about 2 S / B + 2 N alpha
  bcast    the last rank's sum to every rank (MPI_Bcast): a binomial tree
           for short messages, log2(N) * (S / B + alpha); scatter +
           allgather for long ones, about 2 * S / B + 2 * log2(N) * alpha;
           the model takes the smaller
  gather   one MPI_Allgatherv of 48 bytes a replica: log2(N) * alpha
In all about 4 S / B + 2 N alpha; a ring allreduce (whose order of sums is
not the one process's) would move about 2 S / B.
The adds are not counted (one pass over S per rank, ~1 GB/s or faster).
Weak scaling: every rank keeps its micro-batch b (one shard, one core), so
compute per step stays b * t_image and the global batch is N * b. Without
overlap the step takes compute + communication.

usage: bench/mpi_cost_model.py NAME PARAMS BATCH_PER_RANK SECONDS_PER_IMAGE [...]
"""
import math
import sys

LINKS = [("10 Gbit/s Ethernet (TCP, alpha 20 us)", 10e9 / 8, 20e-6),
         ("100 Gbit/s (RDMA, alpha 3 us)", 100e9 / 8, 3e-6)]
RANKS = [8, 64, 512]


def comm_seconds(params, n, bw, alpha):
    s = 4.0 * params
    c = max(s / n, 4096.0)
    k = math.ceil(s / c)
    chain = (k + n - 2) * (c / bw + alpha)
    lg = math.ceil(math.log2(n))
    bcast = min(lg * (s / bw + alpha), 2 * s / bw + 2 * lg * alpha)
    gather = lg * alpha
    return chain + bcast + gather


def main(argv):
    if len(argv) < 5 or (len(argv) - 1) % 4:
        sys.exit(__doc__)
    print("| model | params | per rank | compute/step | link | ranks | comm/step | step efficiency |")
    print("|---|---|---|---|---|---|---|---|")
    for i in range(1, len(argv), 4):
        name, params, b, t_img = argv[i], int(argv[i + 1]), int(argv[i + 2]), float(argv[i + 3])
        compute = b * t_img
        for link, bw, alpha in LINKS:
            for n in RANKS:
                comm = comm_seconds(params, n, bw, alpha)
                print(f"| {name} | {params:,} | {b} images | {compute * 1e3:.2f} ms | {link} | {n} | "
                      f"{comm * 1e3:.2f} ms | {100 * compute / (compute + comm):.0f} % |")


if __name__ == "__main__":
    main(sys.argv)
