#!/bin/bash
# Two dlx binaries side by side (a landed release against a change), alternating
# in each round on bench/run.sh's dlx workloads: LeNet-5 and MLP training
# throughput (--threads 2), the small net (--threads 1) and FISTA inference;
# on request the multi-network workloads of bench/run.sh's GAN table, training
# steps/s (the steps alone, as bench/run.sh times them): ebgan, dcgan and
# disentangle at their default threads, ebgan1, dcgan1 and disentangle1 at
# --threads 1, and ebgan_cpu, dcgan_cpu and disentangle_cpu: steps per CPU
# second at --threads 1 (user + system time of a run of 3 N steps less that
# of N steps, so start-up, data loading and the epoch's end cancel out): on a
# machine shared with other jobs the CPU time a step takes moves far less
# than its wall-clock time. Prints each workload's medians, the ratio new/old
# and its spread over rounds.
#
#   bench/compare.sh OLD_DLX NEW_DLX [ROUNDS [WORKLOAD...]]
#   (ROUNDS default 5, workloads default lenet5 mlp small fista; never in CI)
set -eu
cd "$(dirname "$0")/.."
old=$1 new=$2 rounds=${3:-5}
shift $(($# < 3 ? $# : 3))
[ $# -gt 0 ] || set -- lenet5 mlp small fista
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -f datasets/data/mnist/train-images-idx3-ubyte ] || datasets/fetch mnist
field() { tr ',{}' '\n\n\n' < "$out/last" | sed -n "s/^\"$1\":\(.*\)/\1/p"; }
run() { # BIN WORKLOAD -> its figure
    case $2 in
    lenet5) "$1" train configs/lenet5.yaml --set train.epochs=1 --set data.train_limit=60000 --set data.test_limit=1000 \
                --set train.eval_every=0 --threads 2 --out "$out/r" --quiet --json > "$out/last"; field images_per_second ;;
    mlp) "$1" train configs/mlp.yaml --set train.epochs=1 --set data.train_limit=60000 --set data.test_limit=1000 \
             --set train.eval_every=0 --threads 2 --out "$out/r" --quiet --json > "$out/last"; field images_per_second ;;
    small) "$1" train bench/configs/small.yaml --threads 1 --out "$out/r" --quiet --json > "$out/last"; field images_per_second ;;
    fista) "$1" train configs/sparse_coding/fista_mnist_bench.yaml --threads 2 --out "$out/r" --quiet --json > "$out/last"
           field infer_samples_per_s ;;
    *_cpu)
        local w=${2%_cpu} spec c1 c3 n=40
        spec=configs/$w.yaml
        [ "$w" = disentangle ] && spec=configs/disentangle_mnist.yaml n=20
        [ "$w" = dcgan ] && n=30
        cpu_run() { # STEPS -> user + system seconds
            /usr/bin/time -f "%U %S" -o "$out/time" "$1" train --force "$spec" --set train.epochs=1 \
                --set data.train_limit=$(($2 * $(batch_of "$spec"))) --set data.test_limit=100 --threads 1 \
                --out "$out/r" --quiet > /dev/null
            awk '{print $1 + $2}' "$out/time"
        }
        batch_of() { sed -n 's/^  batch: *\([0-9]*\).*/\1/p' "$1"; }
        c1=$(cpu_run "$1" $n); c3=$(cpu_run "$1" $((3 * n)))
        awk "BEGIN{print $((2 * n)) / ($c3 - $c1)}" ;;
    ebgan | dcgan | disentangle | ebgan1 | dcgan1 | disentangle1)
        local spec=configs/${2%1}.yaml limit=3200 th=() # (bench/run.sh's sizes: 100, 50 and 100 steps)
        [ "${2%1}" = ebgan ] && limit=6400
        [ "${2%1}" = disentangle ] && spec=configs/disentangle_mnist.yaml
        [ "${2%1}" != "$2" ] && th=(--threads 1)
        "$1" train --force "$spec" --set train.epochs=1 --set data.train_limit=$limit \
            --set data.test_limit=100 "${th[@]}" --out "$out/r" --quiet --json > "$out/last"
        awk "BEGIN{print $(field step) / $(field step_seconds)}" ;;
    esac
}
printf '%-12s %14s %14s %8s %18s\n' workload old new new/old "ratio range"
for w in "$@"; do
    o=() n=() r=()
    for i in $(seq "$rounds"); do
        a=$(run "$old" $w); b=$(run "$new" $w)
        o+=("$a"); n+=("$b"); r+=("$(awk "BEGIN{print $b/$a}")")
    done
    med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
    lo=$(printf '%s\n' "${r[@]}" | sort -g | head -1); hi=$(printf '%s\n' "${r[@]}" | sort -g | tail -1)
    printf '%-12s %14.1f %14.1f %8.3f %8.3f - %6.3f\n' $w "$(med "${o[@]}")" "$(med "${n[@]}")" "$(med "${r[@]}")" "$lo" "$hi"
done
