#!/bin/bash
# `mpirun -np N dlx train` end to end: tests/mpi_train.sh CASE
#   lenet     LeNet-5 on fake MNIST, 6 shards: mpirun -np 2 (3 shards a rank)
#             and -np 3 (2 each, 2 threads) give the checkpoint and metrics of
#             one process, bit for bit; 3 shards in one process differ (the
#             comparison sees a change of the sum's order), and equal -np 3
#             with one shard a rank, the chain inside backward or after it
#   resume    -np 3 stopped at step 4, resumed with -np 2: the uninterrupted
#             single process's bits; only rank 0 wrote the run directory
#   families  the two-network GAN (batch norm in the generator), the ring GAN,
#             LeNet-5 with batch norm, the clipped RNN and LISTA (sparse
#             coding): -np 2 and -np 3 equal one process
#   killed    rank 1 killed with SIGKILL mid-run: the job ends within 15 s,
#             mpirun's message names rank 1, checkpoint.h5 loads and resumes
#   signal    SIGTERM to mpirun: every rank stops at the same step, rank 0
#             checkpoints it and says so once; exit 1 without MPI_Abort
#   errors    fewer shards than ranks: exit 2 naming both, before training
# Skips (77) without mpirun or an MPI build of dlx.
# Env: DLX_BIN (the dlx binary), DLX_SRC_DIR (the source tree).
set -u
. "$(dirname "$0")/lib.sh" mpi_train
export OPENBLAS_NUM_THREADS=1
CASE=${1:-}
T=$(mktemp -d /tmp/dlx-mpi-train-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

command -v mpirun > /dev/null || { echo "no mpirun: skipped"; exit 77; }
command -v h5diff > /dev/null || { echo "no h5diff: skipped"; exit 77; }
MPI=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)

# does this dlx train under MPI at all? (a build without MPI says so)
"${MPI[@]}" -np 2 "$DLX" train /nonexistent.yaml > probe.txt 2>&1
if grep -q "built without MPI" probe.txt; then echo "dlx built without MPI: skipped"; exit 77; fi

. "$SRC/tests/fake_mnist.sh"
. "$SRC/tests/h5same.sh"
make_fake "$T/fake" 240
LENET=(configs/lenet5.yaml --set "data.dir=$T/fake" --set train.epochs=1 --set train.batch=24 --set train.shards=6
       --set data.test_limit=48 --set train.log_every=2 --quiet)

# train NAME NP THREADS ARGS...: dlx train into NAME (NP 1: no mpirun)
train() {
    local name=$1 np=$2 th=$3
    shift 3
    if [ "$np" = 1 ]; then
        (cd "$SRC" && "$DLX" train "$@" --out "$T/$name" --threads "$th") > "$name.txt" 2>&1
    else
        (cd "$SRC" && timeout 300 "${MPI[@]}" -np "$np" "$DLX" train "$@" --out "$T/$name" --threads "$th") \
            > "$name.txt" 2>&1
    fi || fail "$name ($np process(es)) exit $?: $(tail -20 "$name.txt")"
}
# same_run A B: the checkpoints (every parameter, optimizer slot, step, state) and metrics (but for
# their wall-clock column) are identical
same_run() {
    h5diff --exclude-attribute / "$1/checkpoint.h5" "$2/checkpoint.h5" > diff.txt 2>&1 ||
        fail "$2/checkpoint.h5 differs from $1's: $(head -5 diff.txt)"
    h5same "$1/metrics.h5" "$2/metrics.h5" ||
        fail "$2/metrics.h5 differs from $1's (wall_s aside): $(head -5 h5diff.out)"
}

case "$CASE" in
lenet)
    train one 1 1 "${LENET[@]}"
    train np2 2 1 "${LENET[@]}"
    train np3 3 2 "${LENET[@]}"
    same_run one np2
    same_run one np3
    [ "$(h5dump -d /step one/checkpoint.h5 | grep -c '(0): 10$')" = 1 ] || fail "one process did not take 10 steps"
    train three 1 1 "${LENET[@]}" --set train.shards=3
    h5diff --exclude-attribute / -d 0 one/checkpoint.h5 three/checkpoint.h5 /params > /dev/null &&
        fail "3 shards gave the bits of 6: the comparison cannot see the sum's order"
    # one shard a rank: the chain after backward, and inside it (DLX_MPI_OVERLAP=1)
    train np3x1 3 1 "${LENET[@]}" --set train.shards=3
    same_run three np3x1
    DLX_MPI_OVERLAP=1 train np3x1_overlap 3 1 "${LENET[@]}" --set train.shards=3
    same_run three np3x1_overlap
    [ "$(grep -c '^test_accuracy' np2.txt)" = 1 ] || fail "results printed by more than rank 0: $(cat np2.txt)"
    ;;
resume)
    train one 1 1 "${LENET[@]}"
    train part 3 1 "${LENET[@]}" --stop-at 4
    [ "$(h5dump -d /step part/checkpoint.h5 | grep -c '(0): 4$')" = 1 ] || fail "not stopped at step 4"
    ls part/*.tmp > /dev/null 2>&1 && fail "temporary files left: $(ls part)"
    train part 2 1 "${LENET[@]}" --resume
    same_run one part
    ;;
families)
    G=(tests/data/gan/mnist_gan.yaml --set "data.dir=$T/fake" --set train.shards=4 --set train.epochs=1 --quiet)
    R=(tests/data/gan/ring.yaml --set train.shards=4 --set train.epochs=1 --quiet)
    B=(configs/lenet5_bn.yaml --set "data.dir=$T/fake" --set train.shards=4 --set train.epochs=2 --set train.batch=32
       --set data.test_limit=48 --quiet)
    N=(tests/data/rnn/copy.yaml --set train.shards=4 --set train.epochs=1 --quiet)
    cat > "$T/sc.yaml" << EOF
version: 1
seed: 3
model: {kind: sparse_coding, algorithm: lista, atoms: 16, alpha: 0.5, T: [0, 2]}
data: {dataset: mnist, dir: $T/fake, train: 64, test: 16}
train: {epochs: 2, batch: 16, shards: 4, optimizer: {type: sgd, lr: 0.002, momentum: 0.9}, log_every: 2}
EOF
    S=("$T/sc.yaml" --quiet)
    for f in G R B N S; do
        declare -n spec=$f
        train "$f.1" 1 1 "${spec[@]}"
        train "$f.2" 2 1 "${spec[@]}"
        train "$f.3" 3 1 "${spec[@]}"
        same_run "$f.1" "$f.2"
        same_run "$f.1" "$f.3"
    done
    ;;
killed)
    (cd "$SRC" && exec "${MPI[@]}" -np 2 "$DLX" train "${LENET[@]}" --set train.epochs=1000 --set train.checkpoint_every=3 \
        --out "$T/k" --threads 1) > k.txt 2>&1 &
    job=$!
    for _ in $(seq 200); do [ -s k/checkpoint.h5 ] && break; sleep 0.1; done
    [ -s k/checkpoint.h5 ] || fail "no checkpoint after 20 s: $(cat k.txt)"
    victim=
    for p in $(pgrep -P "$job" 2> /dev/null) $(pgrep -f "dlx train.*--out $T/k"); do
        grep -qz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2> /dev/null && victim=$p
    done
    [ -n "$victim" ] || fail "rank 1's process not found"
    kill -KILL "$victim"
    t0=$SECONDS
    while kill -0 "$job" 2> /dev/null && [ $((SECONDS - t0)) -lt 15 ]; do sleep 0.2; done
    if kill -0 "$job" 2> /dev/null; then
        pkill -KILL -P "$job"
        fail "the job still runs 15 s after rank 1 was killed"
    fi
    wait "$job" && fail "the job ended with exit 0 after rank 1 was killed"
    grep -q "rank 1" k.txt || fail "no message names rank 1: $(cat k.txt)"
    "$DLX" inspect k/checkpoint.h5 > inspect.txt 2>&1 || fail "checkpoint.h5 does not load: $(cat inspect.txt)"
    step=$(h5dump -d /step k/checkpoint.h5 | sed -n 's/.*(0): //p')
    (cd "$SRC" && "$DLX" train "${LENET[@]}" --set train.epochs=1000 --set train.checkpoint_every=3 --out "$T/k" \
        --resume --stop-at $((step + 1))) > res.txt 2>&1 || fail "the checkpoint (step $step) does not resume: $(cat res.txt)"
    ;;
signal)
    (cd "$SRC" && exec "${MPI[@]}" -np 2 "$DLX" train "${LENET[@]}" --set train.epochs=1000 --out "$T/s" \
        --threads 1) > s.txt 2>&1 &
    job=$!
    for _ in $(seq 200); do [ -s s/metrics.h5 ] && break; sleep 0.1; done
    kill -TERM "$job"
    wait "$job"
    rc=$?
    [ $rc -eq 1 ] || fail "exit $rc after SIGTERM (expected 1): $(cat s.txt)"
    [ "$(grep -c 'interrupted at step' s.txt)" = 1 ] || fail "not one 'interrupted' line: $(cat s.txt)"
    grep -q MPI_ABORT s.txt && fail "the job was aborted: $(cat s.txt)"
    step=$(sed -n 's/.*interrupted at step \([0-9]*\) .*/\1/p' s.txt)
    [ "$(h5dump -d /step s/checkpoint.h5 | sed -n 's/.*(0): //p')" = "$step" ] || fail "checkpoint not at step $step"
    ;;
errors)
    (cd "$SRC" && "${MPI[@]}" -np 3 "$DLX" train "${LENET[@]}" --set train.shards=2 --out "$T/e") > e.txt 2>&1
    grep -q "train.shards (2) is smaller than the number of MPI ranks (3)" e.txt || fail "no message: $(cat e.txt)"
    [ -e e/checkpoint.h5 ] && fail "a checkpoint was written"
    ;;
*)
    echo "usage: mpi_train.sh lenet|resume|families|killed|signal|errors" >&2
    exit 2
    ;;
esac
echo "PASS: $CASE"
