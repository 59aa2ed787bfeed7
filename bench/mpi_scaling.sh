#!/bin/bash
# Data parallelism over MPI ranks against threads in one process, on this
# machine: LeNet-5 and the MLP, each run configuration once per round, the
# configurations alternating within a round (the VM is shared and noisy), and
# the images/s of each (training steps only; dlx's images_per_second) as
# median, min and max over the rounds. Also checks that the runs of one model
# end with the same parameters; for the runs over ranks, the median share of
# rank 0's training time spent in the exchanges (comm_seconds / step_seconds,
# waits for the other rank included). Never run in CI.
#
# usage: bench/mpi_scaling.sh [ROUNDS]   (default 5)
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-5}
dlx=$(pwd)/${DLX_BIN:-build/dlx}
export OPENBLAS_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpi=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)

lenet=(configs/lenet5.yaml --set train.epochs=1 --set data.train_limit=25600 --set data.test_limit=100 --quiet)
mlp=(configs/mlp.yaml --set train.epochs=1 --set data.train_limit=20000 --set data.test_limit=100 --quiet)
# name | processes | threads | model | extra --set
configs=(
    "lenet5 1x2threads|1|2|lenet|"
    "lenet5 2ranksx1|2|1|lenet|"
    "mlp 1x2threads shards=1|1|2|mlp|train.shards=1"
    "mlp 1x2threads shards=2|1|2|mlp|train.shards=2"
    "mlp 2ranksx1 shards=2|2|1|mlp|train.shards=2"
)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A ips comm
for ((r = 1; r <= rounds; r++)); do
    for i in "${!configs[@]}"; do
        IFS='|' read -r name np th model set <<< "${configs[$i]}"
        declare -n spec=$model
        args=("${spec[@]}" --threads "$th" --out "$out/run$i")
        [ -n "$set" ] && args+=(--set "$set")
        rm -rf "$out/run$i"
        if [ "$np" = 1 ]; then
            "$dlx" train "${args[@]}" > "$out/last" 2>&1
        else
            "${mpi[@]}" -np "$np" "$dlx" train "${args[@]}" > "$out/last" 2>&1
        fi
        v=$(awk '/^images_per_second/ {print $2}' "$out/last")
        ips[$i]="${ips[$i]:-} $v"
        # ranks: rank 0's share of the training steps' time in the exchanges
        c=$(awk '/^comm_seconds/ {c = $2} /^step_seconds/ {s = $2} END {if (c != "") printf "%.3f", c / s}' "$out/last")
        [ -n "$c" ] && comm[$i]="${comm[$i]:-} $c"
        echo "round $r: $name: $v images/s${c:+, comm share $c}" >&2
    done
done
printf '%-26s %10s %10s %10s %12s\n' "configuration" "median" "min" "max" "comm share"
for i in "${!configs[@]}"; do
    IFS='|' read -r name _ <<< "${configs[$i]}"
    share=-
    # shellcheck disable=SC2086
    [ -n "${comm[$i]:-}" ] && share=$(median ${comm[$i]})
    # shellcheck disable=SC2086
    printf '%-26s %10.0f %10.0f %10.0f %12s\n' "$name" "$(median ${ips[$i]})" \
        "$(printf '%s\n' ${ips[$i]} | sort -g | head -1)" "$(printf '%s\n' ${ips[$i]} | sort -g | tail -1)" "$share"
done
# the same parameters, threads or ranks (the MLP's shards=1 run is another sum)
h5diff --exclude-attribute / -d 0 "$out/run0/checkpoint.h5" "$out/run1/checkpoint.h5" /params > /dev/null &&
    echo "lenet5: same parameters on 1x2 threads and 2 ranks x 1" || echo "lenet5: PARAMETERS DIFFER"
h5diff --exclude-attribute / -d 0 "$out/run3/checkpoint.h5" "$out/run4/checkpoint.h5" /params > /dev/null &&
    echo "mlp (2 shards): same parameters on 1x2 threads and 2 ranks x 1" || echo "mlp: PARAMETERS DIFFER"
