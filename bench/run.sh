#!/bin/bash
# Benchmarks dlx against PyTorch (Debian python3-torch, run with /usr/bin/python3) on
# the same workloads, in REPS alternating rounds; prints a table of medians and
# writes it to bench/RESULTS.md. Never run in CI.
#
# usage: bench/run.sh [lenet5|mlp|small|fista|ebgan|dcgan|gan|disentangle|rnn|lstm|all|rest|every] [REPS]
#   REPS default 5 (this VM swings by 10-20 % between runs); all = the first four,
#   rest = the other five, every = all nine; gan = ebgan and dcgan; rnn = the copy task's linear RNN and LSTM.
# Each round runs, one after the other: dlx at its default threads and --threads 1;
# the twin (bench/torch/W.py) and the independent plain script (W_plain.py) at
# OMP_NUM_THREADS / OPENBLAS_NUM_THREADS 1/1, 1/2, 2/1, 2/2; the twin as it was at
# BENCH_OLD_REV (default f7bf4f3) at its old settings. Each side's best of the round
# counts; PyTorch's best is the fastest of the twin, the plain script and the old
# twin (a short window on a shared VM can favour any of them), and the targets are
# counted against it. Every round prints twin / plain and flags a twin slower than
# the plain script beyond NOISE (default 0.10), which would flatter dlx.
# BENCH_MAX_SECONDS (default 15): a PyTorch timing window ends after this long
# (two-thread settings can crawl on a shared VM); GAN_SLOW_DIV (default 5): the old
# twins' two-thread runs time 1/N of the steps; BENCH_OLD_SETTINGS (default "1/1 1/2 2/1"):
# the old twins' OpenBLAS/torch settings. BENCH_SGEMM / BENCH_FMA: skip measuring.
set -eu
cd "$(dirname "$0")/.."
which=${1:-all}
reps=${2:-5}
dlx=${DLX_BIN:-build/dlx}
py=/usr/bin/python3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$dlx" ] || { echo "bench/run.sh: build dlx first (tests/build.sh)" >&2; exit 1; }
$py -c 'import torch' 2>/dev/null || { echo "bench/run.sh: needs python3-torch (apt-get install python3-torch)" >&2; exit 1; }
case "$which" in rnn) ;; *) [ -f datasets/data/mnist/train-images-idx3-ubyte ] || datasets/fetch mnist ;; esac

# peak RSS (MiB) of a command, its stdout kept in $out/last
rss_run() {
    /usr/bin/time -f "%M" -o "$out/rss" "$@" > "$out/last" 2> "$out/err" || { cat "$out/err" >&2; return 1; }
    echo $(( $(cat "$out/rss") / 1024 ))
}
# (a measure that never happened is null in dlx's --json)
json() { $py -c "import json,re; print(json.loads(open('$out/last').read().strip().splitlines()[-1])['$1'])"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# sgemm rate of this machine: best of large squares (numpy's OpenBLAS, both
# cores); $1 = sizes to try
measure_peak() {
    $py - "$@" <<'PY'
import sys, time, numpy as np
best = 0
for n in map(int, sys.argv[1:]):
    a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
    a @ b
    for trial in range(3):
        t = time.perf_counter(); r = 4
        for _ in range(r): a @ b
        best = max(best, 2 * n ** 3 * r / (time.perf_counter() - t) / 1e9)
print(f"{best:.0f}")
PY
}
peak=${BENCH_SGEMM:-$(measure_peak 2048 3072 4096)}

# The FP32 peak of this machine: one register-only FMA loop per core
# (bench/fma_peak.c), the sum; the best of 300 short runs each
measure_fma_peak() {
    cc -O2 -march=native -std=c11 -ffp-contract=fast -o "$out/fma_peak" bench/fma_peak.c || { echo 0; return; }
    local i pids=() sum=0
    for i in $(seq "$(nproc)"); do "$out/fma_peak" > "$out/fma.$i" & pids+=($!); done
    wait "${pids[@]}"
    for i in $(seq "$(nproc)"); do sum=$((sum + $(cat "$out/fma.$i"))); done
    echo "$sum"
}
fma=${BENCH_FMA:-$(measure_fma_peak)}
# executed FLOPs per item of every workload, counted from the layer shapes
$py bench/torch/flops.py > "$out/flops.json"
flops() { $py -c "import json; print(json.load(open('$out/flops.json'))['$1'])"; }

# The twins as they were before bench/torch/common.py sized the thread pools
# first (OLD_REV), run as the older bench/run.sh ran them: OPENBLAS_NUM_THREADS
# and TORCH_THREADS at 1/1, 1/2, 2/1, OMP_NUM_THREADS unset
old_rev=${BENCH_OLD_REV:-f7bf4f3}
mkdir -p "$out/old"
for f in common lenet5 mlp small fista ebgan dcgan disentangle rnn; do
    git show "$old_rev:bench/torch/$f.py" > "$out/old/$f.py"
done
export DLX_DATA_DIR=$PWD/datasets/data BENCH_MAX_SECONDS=${BENCH_MAX_SECONDS:-15}
unset OMP_NUM_THREADS MKL_NUM_THREADS OPENBLAS_NUM_THREADS TORCH_THREADS

rows=()
add_row() { rows+=("$1"); }
notes=()
dlx_field() { $py -c "import json,re; j=json.loads(open('$out/last').read().strip().splitlines()[-1]); print($1)"; }

# Every workload W has four runners, each printing "RATE RSS_MIB" (RATE: higher
# is better; items/s, for the small net trainings/s):
#   W_dlx default|1          dlx at its default threads (every core) and --threads 1
#   W_twin OMP BLAS          bench/torch/W.py, OMP_NUM_THREADS / OPENBLAS_NUM_THREADS
#   W_plain OMP BLAS         bench/torch/W_plain.py, the same environment
#   W_old BLAS TORCH         the twin as of $old_rev
dlx_args() { if [ "$1" = default ]; then echo; else echo "--threads $1"; fi; }
twin() { # SCRIPT OMP BLAS FIELD ARGS... (env: extra variables in $twin_env)
    local script=$1 o=$2 b=$3 field=$4 r; shift 4
    r=$(rss_run env $twin_env OMP_NUM_THREADS=$o OPENBLAS_NUM_THREADS=$b $py "$script" "$@") || return 1
    echo "$(json "$field") $r"
}
old() { # SCRIPT BLAS TORCH FIELD ARGS...
    local script=$1 b=$2 t=$3 field=$4 r; shift 4
    r=$(rss_run env $twin_env OPENBLAS_NUM_THREADS=$b TORCH_THREADS=$t $py "$out/old/$script" "$@") || return 1
    echo "$(json "$field") $r"
}
slow_div() { [ "$1" = 2 ] && echo "${GAN_SLOW_DIV:-5}" || echo 1; }  # old twins: a torch-2-thread run times fewer steps

lenet5_dlx() { local r; r=$(rss_run "$dlx" train --force configs/lenet5.yaml --set train.epochs=1 --set data.train_limit=38400 \
    --set data.test_limit=1000 --set train.eval_every=0 $(dlx_args "$1") --out "$out/run" --quiet --json) && echo "$(json images_per_second) $r"; }
lenet5_twin() { twin_env=BENCH_TRAIN_LIMIT=38400 twin bench/torch/lenet5.py "$1" "$2" images_per_s 600; }
lenet5_plain() { twin_env=BENCH_TRAIN_LIMIT=38400 twin bench/torch/lenet5_plain.py "$1" "$2" images_per_s 600; }
lenet5_old() { twin_env=BENCH_TRAIN_LIMIT=19200 old lenet5.py "$1" "$2" images_per_s 300; }

mlp_dlx() { local r; r=$(rss_run "$dlx" train --force configs/mlp.yaml --set train.epochs=1 --set data.train_limit=60000 \
    --set data.test_limit=1000 --set train.eval_every=0 $(dlx_args "$1") --out "$out/run" --quiet --json) && echo "$(json images_per_second) $r"; }
mlp_twin() { twin_env=BENCH_TRAIN_LIMIT=60000 twin bench/torch/mlp.py "$1" "$2" images_per_s 600; }
mlp_plain() { twin_env=BENCH_TRAIN_LIMIT=60000 twin bench/torch/mlp_plain.py "$1" "$2" images_per_s 600; }
mlp_old() { twin_env=BENCH_TRAIN_LIMIT=30000 old mlp.py "$1" "$2" images_per_s 300; }

small_dlx() { local r; r=$(rss_run "$dlx" train --force bench/configs/small.yaml $(dlx_args "$1") --out "$out/run" --quiet --json) &&
    echo "$(dlx_field "1 / j['step_seconds']") $r"; }
small_twin() { twin_env= twin bench/torch/small.py "$1" "$2" trainings_per_s 10; }
small_plain() { twin_env= twin bench/torch/small_plain.py "$1" "$2" trainings_per_s 10; }
small_old() { twin_env= old small.py "$1" "$2" trainings_per_s 10; }

fista_dlx() { local r; r=$(rss_run "$dlx" train --force configs/sparse_coding/fista_mnist_bench.yaml $(dlx_args "$1") --out "$out/run" --quiet --json) &&
    echo "$(json infer_samples_per_s) $r"; }
fista_twin() { twin_env= twin bench/torch/fista.py "$1" "$2" samples_per_s; }
fista_plain() { twin_env= twin bench/torch/fista_plain.py "$1" "$2" samples_per_s; }
fista_old() { local r; r=$(OPENBLAS_NUM_THREADS=$1 rss_run $py "$out/old/fista.py" --threads "$2") || return 1
    echo "$(awk '$1 == "samples_per_s" { print $2 }' "$out/last") $r"; }

# GAN-style workloads: steps/s = step / step_seconds of dlx's --json (the steps
# alone: no start-up, no epoch-end sample grid); $steps steps of 64 images (32 triplets)
gan_dlx() { local spec=$1 n=$2 r; shift 2
    r=$(rss_run "$dlx" train --force "$spec" --set train.epochs=1 --set data.train_limit="$n" --set data.test_limit=100 \
        $(dlx_args "$1") --out "$out/run" --quiet --json) && echo "$(dlx_field "j['step'] / j['step_seconds']") $r"; }
ebgan_dlx() { gan_dlx configs/ebgan.yaml 6400 "$1"; }
ebgan_twin() { twin_env=BENCH_TRAIN_LIMIT=6400 twin bench/torch/ebgan.py "$1" "$2" steps_per_s 100; }
ebgan_plain() { twin_env=BENCH_TRAIN_LIMIT=6400 twin bench/torch/ebgan_plain.py "$1" "$2" steps_per_s 100; }
ebgan_old() { twin_env=BENCH_TRAIN_LIMIT=6400 old ebgan.py "$1" "$2" steps_per_s $((100 / $(slow_div "$2"))); }
dcgan_dlx() { gan_dlx configs/dcgan.yaml 3200 "$1"; }
dcgan_twin() { twin_env=BENCH_TRAIN_LIMIT=3200 twin bench/torch/dcgan.py "$1" "$2" steps_per_s 50; }
dcgan_plain() { twin_env=BENCH_TRAIN_LIMIT=3200 twin bench/torch/dcgan_plain.py "$1" "$2" steps_per_s 50; }
dcgan_old() { twin_env=BENCH_TRAIN_LIMIT=3200 old dcgan.py "$1" "$2" steps_per_s $((50 / $(slow_div "$2"))); }
disentangle_dlx() { gan_dlx configs/disentangle_mnist.yaml 1600 "$1"; }
disentangle_twin() { twin_env=BENCH_TRAIN_LIMIT=6400 twin bench/torch/disentangle.py "$1" "$2" steps_per_s 50; }
disentangle_plain() { twin_env=BENCH_TRAIN_LIMIT=6400 twin bench/torch/disentangle_plain.py "$1" "$2" steps_per_s 50; }
disentangle_old() { twin_env=BENCH_TRAIN_LIMIT=6400 old disentangle.py "$1" "$2" steps_per_s $((50 / $(slow_div "$2"))); }

# the copy task at T = 100 (batch 20): steps/s; dlx generates its sequences inside
# the timed steps, the twins before timing
copy_dlx() { local spec=$1 n=$2 r; shift 2
    r=$(rss_run "$dlx" train --force "$spec" --set train.epochs=1 --set model.task.samples=$((n * 20)) \
        --set model.task.test_samples=20 $(dlx_args "$1") --out "$out/run" --quiet --json) &&
        echo "$(dlx_field "j['step'] / j['step_seconds']") $r"; }
rnn_dlx() { copy_dlx configs/rnn/copy_orthogonal.yaml 300 "$1"; }
rnn_twin() { twin_env= twin bench/torch/rnn.py "$1" "$2" steps_per_s rnn 300; }
rnn_plain() { twin_env= twin bench/torch/rnn_plain.py "$1" "$2" steps_per_s rnn 300; }
rnn_old() { twin_env= old rnn.py "$1" "$2" steps_per_s rnn $((300 / $(slow_div "$2"))); }
lstm_dlx() { copy_dlx configs/rnn/copy_lstm.yaml 60 "$1"; }
lstm_twin() { twin_env= twin bench/torch/rnn.py "$1" "$2" steps_per_s lstm 60; }
lstm_plain() { twin_env= twin bench/torch/rnn_plain.py "$1" "$2" steps_per_s lstm 60; }
lstm_old() { twin_env= old rnn.py "$1" "$2" steps_per_s lstm $((60 / $(slow_div "$2"))); }

# best "RATE RSS SETTING" of a runner over settings ("a/b" pairs); $1 runner, rest settings
best_of() {
    local fn=$1 best="" line s v r; shift
    for s in "$@"; do
        line=$("$fn" ${s/\// }) || { echo "bench/run.sh: $fn $s failed" >&2; continue; }
        read -r v r <<< "$line"
        echo "    $fn $s: $v" >&2
        if [ -z "$best" ] || awk "BEGIN{exit !($v > ${best%% *})}"; then best="$v $r $s"; fi
    done
    echo "${best:-0 0 none}"
}
spread() { # min / median / max, 2 decimals
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.2f / ", a[1]}'
    printf '%.2f / ' "$(median "$@")"; printf '%s\n' "$@" | sort -g | tail -1 | xargs printf '%.2f'
}
count_ge() { local t=$1 n=0 x; shift; for x in "$@"; do awk "BEGIN{exit !($x >= $t)}" && n=$((n + 1)); done; echo "$n"; }
wins() { sort "$1" | uniq -c | awk '{printf "%s%s won %s", (NR>1?", ":""), $2, $1}'; }

# One workload, REPS rounds; in each round dlx at both settings, the corrected
# twin and the plain script at OMP/OpenBLAS 1/1, 1/2, 2/1, 2/2, the old twin at its
# three settings, one after the other, each side's best kept. Prints twin / plain
# every round and flags a twin slower than the plain script by more than NOISE
# (it would flatter dlx). $1 W, $2 label, $3 unit, $4 FLOPs per item, $5 target
# speed-up (0: none), $6 display scale for rates (1, or "inv" for seconds).
bench_workload() {
    local w=$1 label=$2 unit=$3 fl=$4 target=$5 shape=$6 i d t p o rd rt rest
    local -a D T P O rdx rbest rtp rto rss_ok
    local noise=${NOISE:-0.10}
    : > "$out/$w.dset"; : > "$out/$w.tset"; : > "$out/$w.pset"
    for i in $(seq "$reps"); do
        echo "$w round $i:" >&2
        read -r d rd rest < <(best_of "${w}_dlx" default 1); echo "$rest" >> "$out/$w.dset"
        read -r t rt rest < <(best_of "${w}_twin" 1/1 1/2 2/1 2/2); echo "$rest" >> "$out/$w.tset"
        read -r p _ rest < <(best_of "${w}_plain" 1/1 1/2 2/1 2/2); echo "$rest" >> "$out/$w.pset"
        read -r o _ rest < <(best_of "${w}_old" ${BENCH_OLD_SETTINGS:-1/1 1/2 2/1})
        D+=("$d"); T+=("$t"); P+=("$p"); O+=("$o")
        rdx+=("$(awk "BEGIN{print $d / $t}")")
        rbest+=("$(awk "BEGIN{b = $t > $p ? $t : $p; if ($o > b) b = $o; print $d / b}")")
        rtp+=("$(awk "BEGIN{print $t / $p}")")
        rto+=("$(awk "BEGIN{print $t / $o}")")
        rss_ok+=("$(awk "BEGIN{print ($rd <= $rt / 4) ? 1 : 0}")")
        echo "$w round $i: dlx $d, twin $t, plain $p, old twin $o; dlx/twin ${rdx[-1]}, dlx/best ${rbest[-1]}, peak RSS dlx $rd / twin $rt MiB, twin/plain ${rtp[-1]}$(awk "BEGIN{if (${rtp[-1]} < 1 - $noise) print \"  <-- TWIN SLOWER THAN PLAIN BEYOND NOISE\"; else if (${rtp[-1]} < 1) print \"  (twin slower, within noise)\"}")" |
            tee -a "$out/$w.rounds" >&2
    done
    fmt() { if [ "$shape" = inv ]; then printf '%.3f s' "$(awk "BEGIN{print 1 / $1}")"; else printf "%.${2:-0}f" "$1"; fi; }
    local md mt mp mo gf
    md=$(median "${D[@]}"); mt=$(median "${T[@]}"); mp=$(median "${P[@]}"); mo=$(median "${O[@]}")
    gf=$(awk "BEGIN{printf \"%.1f\", $md * $fl / 1e9}")
    local met="–"
    [ "$target" = 0 ] || met="$(count_ge "$target" "${rbest[@]}") of $reps (>= ${target}x)"
    add_row "| $label | $(fmt "$mo" 1) | $(fmt "$mt" 1) | $(fmt "$mp" 1) | $(fmt "$md" 1) $unit | $(spread "${rdx[@]}") | $(spread "${rbest[@]}") | $met | $(spread "${rtp[@]}") | $(printf "%'d" "$fl") | $gf = $(awk "BEGIN{printf \"%.0f\", 100 * $gf / $peak}") % / $(awk "BEGIN{printf \"%.0f\", 100 * $gf / $fma}") % | $rd / $rt MiB ($(count_ge 1 "${rss_ok[@]}") of $reps <= 1/4) |"
    notes+=("$label: settings won - dlx $(wins "$out/$w.dset"); twin (OMP/OpenBLAS) $(wins "$out/$w.tset"); plain $(wins "$out/$w.pset"); corrected / old twin per round $(spread "${rto[@]}")")
    notes+=("$label, every round: $(awk '{sub(/^[^:]*: /, ""); printf "%s%d: %s", (NR>1?"; ":""), NR, $0}' "$out/$w.rounds")")
    # each workload's row as soon as it is done, so that a stopped run keeps it
    printf '%s\n' "ROW ${rows[-1]}" "NOTE ${notes[-2]}" "NOTE ${notes[-1]}" >&2
}

run_one() {
    case "$1" in
    lenet5) bench_workload lenet5 "LeNet-5 training (batch 64, SGD momentum)" img/s "$(flops lenet5)" 2.5 1 ;;
    mlp) bench_workload mlp "MLP 784-1000-500-250-250-250-10 (batch 100, Adam)" img/s "$(flops mlp)" 1.8 1 ;;
    small) bench_workload small "one 10-epoch training of 100-25-10 on 10x10 MNIST (batch 100)" "per training" "$(flops small)" 10 inv ;;
    fista) bench_workload fista "100 FISTA iterations on 1,000 MNIST digits, 784x256 dictionary" samples/s "$(flops fista)" 1.5 1 ;;
    ebgan) bench_workload ebgan "EBGAN-PT training step (configs/ebgan.yaml, batch 64)" steps/s "$(flops ebgan)" 0 1 ;;
    dcgan) bench_workload dcgan "DCGAN training step (configs/dcgan.yaml, batch 64)" steps/s "$(flops dcgan)" 0 1 ;;
    disentangle) bench_workload disentangle "disentangling step (configs/disentangle_mnist.yaml, 32 triplets)" steps/s "$(flops disentangle)" 0 1 ;;
    rnn) bench_workload rnn "copy T = 100, linear RNN (configs/rnn/copy_orthogonal.yaml)" steps/s "$(flops rnn)" 0 1 ;;
    lstm) bench_workload lstm "copy T = 100, LSTM (configs/rnn/copy_lstm.yaml)" steps/s "$(flops lstm)" 0 1 ;;
    *) echo "usage: bench/run.sh [lenet5|mlp|small|fista|ebgan|dcgan|gan|disentangle|rnn|lstm|all|rest|every] [REPS]" >&2; exit 2 ;;
    esac
}
case "$which" in
    gan) run_one ebgan; run_one dcgan ;;
    rnn) run_one rnn; run_one lstm ;;
    all) for w in lenet5 mlp small fista; do run_one $w; done ;;
    every) for w in lenet5 mlp small fista ebgan dcgan disentangle rnn lstm; do run_one $w; done ;;
    rest) for w in ebgan dcgan disentangle rnn lstm; do run_one $w; done ;;
    *) run_one "$which" ;;
esac

{
    echo "## $(date -u +%Y-%m-%d) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo
    echo "Code: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes')."
    echo
    echo "Medians of $reps alternating rounds (ratios: min / median / max over rounds; PyTorch's best: the fastest of the old twin, the corrected twin and the plain script in each round). sgemm rate measured here: $peak GFLOP/s; FP32 peak (FMA loop, every core): $fma GFLOP/s."
    echo
    echo "| workload | old twin | corrected twin | plain PyTorch | dlx | dlx / twin | dlx / PyTorch's best | target met (rounds) | twin / plain | executed FLOPs per item | dlx GFLOP/s = % of sgemm / % of FP32 peak | peak RSS dlx / twin |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    printf -- '- %s\n' "${notes[@]}"
    echo
} | tee "$out/table.md"
if [ -z "${BENCH_NO_WRITE:-}" ]; then
    { [ -f bench/RESULTS.md ] && cat bench/RESULTS.md; cat "$out/table.md"; } > "$out/new" && cp "$out/new" bench/RESULTS.md
fi
