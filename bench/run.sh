#!/bin/bash
# Benchmarks dlx against PyTorch (Debian python3-torch, run with /usr/bin/python3) on
# the same workloads, alternating the two, REPS times each; prints a table of medians
# and writes it to bench/RESULTS.md. Never run in CI.
#
# usage: bench/run.sh [lenet5|mlp|small|all] [REPS]
set -eu
cd "$(dirname "$0")/.."
which=${1:-all}
reps=${2:-3}
dlx=${DLX_BIN:-build/dlx}
py=/usr/bin/python3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$dlx" ] || { echo "bench/run.sh: build dlx first (tests/build.sh)" >&2; exit 1; }
$py -c 'import torch' 2>/dev/null || { echo "bench/run.sh: needs python3-torch (apt-get install python3-torch)" >&2; exit 1; }
[ -f datasets/data/mnist/train-images-idx3-ubyte ] || datasets/fetch mnist

# peak RSS (MiB) of a command, its stdout kept in $out/last
rss_run() {
    /usr/bin/time -f "%M" -o "$out/rss" "$@" > "$out/last" 2> "$out/err" || { cat "$out/err" >&2; return 1; }
    echo $(( $(cat "$out/rss") / 1024 ))
}
json() { $py -c "import json,sys; print(json.loads(open('$out/last').read().strip().splitlines()[-1])['$1'])"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# sgemm peak of this machine at the MLP's first-layer shape and a large square
peak=$($py - <<'PY'
import time, numpy as np
best = 0
for (m, k, n) in [(2048, 2048, 2048)]:
    a = np.random.rand(m, k).astype(np.float32); b = np.random.rand(k, n).astype(np.float32)
    a @ b
    t = time.perf_counter(); r = 5
    for _ in range(r): a @ b
    best = max(best, 2 * m * k * n * r / (time.perf_counter() - t) / 1e9)
print(f"{best:.0f}")
PY
)

rows=()
add_row() { rows+=("$1"); }

bench_lenet5() {
    local d=() t=() rd=0 rt=0
    for i in $(seq "$reps"); do
        rd=$(rss_run "$dlx" train configs/lenet5.yaml --set train.epochs=1 --set data.train_limit=19200 \
             --set data.test_limit=1000 --set train.eval_every=0 --out "$out/run" --quiet --json)
        d+=("$(json images_per_second)")
        rt=$(OPENBLAS_NUM_THREADS=${TORCH_BLAS:-1} TORCH_THREADS=${TORCH_OMP:-2} rss_run $py bench/torch/lenet5.py 300)
        t+=("$(json images_per_s)")
    done
    local md mt
    md=$(median "${d[@]}"); mt=$(median "${t[@]}")
    add_row "| LeNet-5 training (batch 64, SGD momentum) | $(printf %.0f "$md") img/s | $(printf %.0f "$mt") img/s | $(awk "BEGIN{printf \"%.2f\", $md/$mt}") | – | $rd / $rt MiB |"
}

bench_mlp() {
    local d=() t=() rd=0 rt=0
    for i in $(seq "$reps"); do
        rd=$(rss_run "$dlx" train configs/mlp.yaml --set train.epochs=1 --set data.train_limit=30000 \
             --set data.test_limit=1000 --set train.eval_every=0 --out "$out/run" --quiet --json)
        d+=("$(json images_per_second)")
        rt=$(OPENBLAS_NUM_THREADS=${TORCH_BLAS:-2} TORCH_THREADS=${TORCH_OMP:-1} rss_run $py bench/torch/mlp.py 300)
        t+=("$(json images_per_s)")
    done
    local md mt gf
    md=$(median "${d[@]}"); mt=$(median "${t[@]}")
    gf=$(awk "BEGIN{printf \"%.0f\", $md * 6 * 1544500 / 1e9}")
    add_row "| MLP 784-1000-500-250-250-250-10 (batch 100, Adam) | $(printf %.0f "$md") img/s | $(printf %.0f "$mt") img/s | $(awk "BEGIN{printf \"%.2f\", $md/$mt}") | $gf GFLOP/s = $(awk "BEGIN{printf \"%.0f\", 100*$gf/$peak}") % of $peak | $rd / $rt MiB |"
}

bench_small() {
    local d=() t=() rd=0 rt=0
    for i in $(seq "$reps"); do
        rd=$(rss_run "$dlx" train bench/configs/small.yaml --out "$out/run" --quiet --json)
        d+=("$(json train_seconds)")
        rt=$(OPENBLAS_NUM_THREADS=1 TORCH_THREADS=1 rss_run $py bench/torch/small.py 10)
        t+=("$(json seconds_per_training)")
    done
    local md mt
    md=$(median "${d[@]}"); mt=$(median "${t[@]}")
    add_row "| one 10-epoch training of 100-25-10 on 10x10 MNIST (batch 100) | $(printf %.3f "$md") s | $(printf %.3f "$mt") s | $(awk "BEGIN{printf \"%.1f\", $mt/$md}") | – | $rd / $rt MiB |"
}

case "$which" in
    lenet5) bench_lenet5 ;;
    mlp) bench_mlp ;;
    small) bench_small ;;
    all) bench_lenet5; bench_mlp; bench_small ;;
    *) echo "usage: bench/run.sh [lenet5|mlp|small|all] [REPS]" >&2; exit 2 ;;
esac

{
    echo "## $(date -u +%Y-%m-%d) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo
    echo "Medians of $reps alternating runs. sgemm peak measured here: $peak GFLOP/s."
    echo
    echo "| workload | dlx | PyTorch 1.13 | dlx / PyTorch (speed-up) | GEMM rate | peak RSS dlx / torch |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
} | tee "$out/table.md"
if [ -z "${BENCH_NO_WRITE:-}" ]; then
    { [ -f bench/RESULTS.md ] && cat bench/RESULTS.md; cat "$out/table.md"; } > "$out/new" && cp "$out/new" bench/RESULTS.md
fi
