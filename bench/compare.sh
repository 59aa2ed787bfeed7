#!/bin/bash
# Two dlx binaries side by side (a landed release against a change), alternating
# in each round on bench/run.sh's dlx workloads: LeNet-5 and MLP training
# throughput (--threads 2), the small net (--threads 1) and FISTA inference.
# Prints each workload's medians, the ratio new/old and its spread over rounds.
#
#   bench/compare.sh OLD_DLX NEW_DLX [ROUNDS]     (ROUNDS default 5; never in CI)
set -eu
cd "$(dirname "$0")/.."
old=$1 new=$2 rounds=${3:-5}
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
    esac
}
printf '%-8s %14s %14s %8s %18s\n' workload old new new/old "ratio range"
for w in lenet5 mlp small fista; do
    o=() n=() r=()
    for i in $(seq "$rounds"); do
        a=$(run "$old" $w); b=$(run "$new" $w)
        o+=("$a"); n+=("$b"); r+=("$(awk "BEGIN{print $b/$a}")")
    done
    med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
    lo=$(printf '%s\n' "${r[@]}" | sort -g | head -1); hi=$(printf '%s\n' "${r[@]}" | sort -g | tail -1)
    printf '%-8s %14.0f %14.0f %8.3f %8.3f - %6.3f\n' $w "$(med "${o[@]}")" "$(med "${n[@]}")" "$(med "${r[@]}")" "$lo" "$hi"
done
