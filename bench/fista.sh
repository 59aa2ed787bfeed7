#!/usr/bin/env bash
# FISTA inference throughput, dlx vs PyTorch: 100 FISTA iterations on 1,000
# MNIST test digits with a random 784x256 unit-norm dictionary (alpha 0.1),
# batched (one (N x m) x (m x m) GEMM per iteration). Runs dlx and torch
# alternately 3 times each at the same thread count and prints both medians
# and the ratio. Only the iterations are timed in both.
#
#   bench/fista.sh [THREADS]      (default 1; run from the repository root)
set -eu
threads=${1:-1}
dlx=${DLX_BIN:-build/dlx}
py=/usr/bin/python3
[ -x "$dlx" ] || { echo "bench/fista.sh: $dlx not found; build first (ninja -C build)" >&2; exit 1; }
[ -f datasets/data/mnist/t10k-images-idx3-ubyte ] || { echo "bench/fista.sh: run datasets/fetch mnist first" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/dlx-bench-fista.XXXXXX")
trap 'rm -rf "$out"' EXIT
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
d=() t=()
for i in 1 2 3; do
    v=$("$dlx" train configs/sparse_coding/fista_mnist_bench.yaml --out "$out/run$i" --threads "$threads" --quiet |
        awk '$1 == "infer_samples_per_s" { print $2 }')
    [ -n "$v" ] || { echo "bench/fista.sh: dlx printed no infer_samples_per_s" >&2; exit 1; }
    d+=("$v")
    w=$("$py" bench/torch/fista.py --threads "$threads" | awk '$1 == "samples_per_s" { print $2 }')
    [ -n "$w" ] || { echo "bench/fista.sh: the torch script printed no samples_per_s" >&2; exit 1; }
    t+=("$w")
    echo "run $i: dlx ${v} samples/s, torch ${w} samples/s"
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
md=$(median "${d[@]}")
mt=$(median "${t[@]}")
echo "threads $threads: median dlx $md samples/s, median torch $mt samples/s, dlx/torch $(awk -v a="$md" -v b="$mt" 'BEGIN { printf "%.2f", a / b }')"
