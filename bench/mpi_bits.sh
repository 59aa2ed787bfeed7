#!/bin/bash
# LeNet-5 trained 200 steps on real MNIST (12,800 images, batch 64, 4 shards)
# by 1 process x 4 threads, 2 ranks x 2 threads, 4 ranks x 1 thread
# (oversubscribed on this 2-core machine), and by 2 ranks stopped at step 77
# and resumed on 4 ranks: every checkpoint and metrics file must equal the
# one process's, bit for bit (h5diff, provenance attributes excluded). Run by
# hand (a few minutes on a busy machine); tests/mpi_train.sh is the CI test.
#
# usage: bench/mpi_bits.sh
set -u
cd "$(dirname "$0")/.."
. tests/h5same.sh   # h5same: metrics.h5 compared without its wall-clock column
dlx=$(pwd)/${DLX_BIN:-build/dlx}
export OPENBLAS_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpi=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
c=(configs/lenet5.yaml --set train.epochs=1 --set data.train_limit=12800 --set data.test_limit=2000 --set train.batch=64
   --set train.shards=4 --quiet)
run() { # NAME WHAT: the command's exit status
    local name=$1
    shift
    "$@" > "$out/$name.txt" 2>&1 || { echo "$name failed: $(tail -5 "$out/$name.txt")"; exit 1; }
}
run p1 "$dlx" train "${c[@]}" --out "$out/p1" --threads 4
run p2 "${mpi[@]}" -np 2 "$dlx" train "${c[@]}" --out "$out/p2" --threads 2
run p4 "${mpi[@]}" -np 4 "$dlx" train "${c[@]}" --out "$out/p4" --threads 1
run p2r "${mpi[@]}" -np 2 "$dlx" train "${c[@]}" --out "$out/p2r" --threads 2 --stop-at 77
run p2r4 "${mpi[@]}" -np 4 "$dlx" train "${c[@]}" --out "$out/p2r" --threads 1 --resume
echo "steps: $(h5dump -d /step "$out/p1/checkpoint.h5" | sed -n 's/.*(0): //p')"
bad=0
for x in p2:"2 ranks x 2 threads" p4:"4 ranks x 1 thread" p2r:"2 ranks to step 77, resumed on 4 ranks"; do
    d=${x%%:*}
    for f in checkpoint.h5 metrics.h5; do
        if h5same "$out/p1/$f" "$out/$d/$f"; then
            echo "${x#*:}: $f identical to 1 process x 4 threads"
        else
            echo "${x#*:}: $f DIFFERS"
            bad=1
        fi
    done
done
exit $bad
