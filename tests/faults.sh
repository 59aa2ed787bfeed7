#!/usr/bin/env bash
# Hostile files and faults: a full disk, a file-size limit, an address-space
# limit, a stuck step after a signal, FIFOs and devices as input, runs too big
# for memory, hyperparameters that vanish in float32, and data problems that
# must name their files.
#   tests/faults.sh CASE   CASE: disk_full disk_full_sweep fsize address_space
#                                deadline fifo memory float32 data_messages all
# Env: DLX_BIN (default build/dlx), DLX_SRC_DIR, DLX_DATA_DIR.
# Exit 0 pass, 1 fail (with a message), 77 skip (no MNIST; no root or no
# tmpfs mount for disk_full and disk_full_sweep).
set -uo pipefail

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$0")/lib.sh" faults
export DLX_BIN=$DLX DLX_SRC_DIR=$SRC # for the cases of `all`, run from the work directory
TINY=$SRC/tests/data/trust/tiny.yaml
use_real_data

CASE=${1:-}
[ -n "$CASE" ] || { echo "usage: tests/faults.sh CASE (disk_full disk_full_sweep fsize address_space deadline fifo memory float32 data_messages all)" >&2; exit 1; }

make_work
MNT=
BGPID=
cleanup() {
    [ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# status of a command run with a time limit; 124/137 mean it hung
run_limited() { # SECONDS CMD...
    local s=$1
    shift
    timeout -s KILL "$s" "$@"
}
# a crash (SIGSEGV, SIGXFSZ, SIGKILL) is never an acceptable way to fail
not_killed() { # RC WHAT
    [ "$1" -lt 128 ] || fail "$2: killed by signal $(($1 - 128)) (exit $1): $(tail -3 "$CASE.err" 2>/dev/null)"
}

# A checkpoint of ~1.6 MiB (256 hidden units, SGD momentum) and a metrics file
# of ~0.1 MiB: the checkpoint is what no longer fits.
BIG=(--set model.layers.1.units=256 --set train.epochs=1)

# ---------------------------------------------------------------- disk_full
# 8 MiB tmpfs: the first run writes its checkpoint; the disk is then filled
# to 1 MiB free and the run resumed for a second epoch, whose checkpoint does
# not fit. Before: SIGSEGV in HDF5's exit handler after a failed flush.
case_disk_full() {
    need_mnist
    [ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
    mkdir -p mnt
    mount -t tmpfs -o size=8m tmpfs "$WORK/mnt" 2>/dev/null || skip "cannot mount a tmpfs here"
    MNT=$WORK/mnt
    "$DLX" train "$TINY" --out mnt/r "${BIG[@]}" --quiet >/dev/null 2>"$CASE.err" || fail "first run failed: $(cat "$CASE.err")"
    local before avail
    before=$(sha1sum <mnt/r/checkpoint.h5)
    avail=$(df -k --output=avail "$MNT" | tail -1)
    dd if=/dev/zero of=mnt/fill bs=1k count=$((avail - 1024)) 2>/dev/null
    run_limited 60 "$DLX" train "$TINY" --out mnt/r "${BIG[@]}" --extend-epochs 1 --quiet >/dev/null 2>"$CASE.err"
    local rc=$?
    not_killed $rc "disk full"
    [ $rc -eq 1 ] || fail "disk full: exit $rc, expected 1: $(cat "$CASE.err")"
    grep -q 'No space left on device' "$CASE.err" || fail "disk full: message lacks 'No space left on device': $(cat "$CASE.err")"
    grep -q 'mnt/r/checkpoint.h5' "$CASE.err" || fail "disk full: message does not name the checkpoint: $(cat "$CASE.err")"
    [ "$(sha1sum <mnt/r/checkpoint.h5)" = "$before" ] || fail "disk full: the previous checkpoint.h5 changed"
    ! compgen -G 'mnt/r/*.tmp' >/dev/null || fail "disk full: a .tmp file was left: $(ls mnt/r)"
    "$DLX" eval mnt/r/checkpoint.h5 >/dev/null 2>"$CASE.err2" || fail "disk full: the previous checkpoint does not load: $(cat "$CASE.err2")"
    # metrics.h5 full as well: no space at all
    rm -f mnt/fill
    avail=$(df -k --output=avail "$MNT" | tail -1)
    dd if=/dev/zero of=mnt/fill bs=1k count="$avail" 2>/dev/null
    run_limited 60 "$DLX" train "$TINY" --out mnt/r "${BIG[@]}" --extend-epochs 1 --quiet >/dev/null 2>"$CASE.err"
    rc=$?
    not_killed $rc "disk with no space"
    [ $rc -eq 1 ] && grep -q 'No space left on device' "$CASE.err" ||
        fail "disk with no space: exit $rc: $(cat "$CASE.err")"
    [ "$(sha1sum <mnt/r/checkpoint.h5)" = "$before" ] || fail "disk with no space: checkpoint.h5 changed"
    note "exit 1, '$(cat "$CASE.err")'; previous checkpoint unchanged and loadable, no .tmp"
}

# ---------------------------------------------------------------- disk_full_sweep
# A sweep table written onto a full tmpfs (`dlx landscape --merge`), as every
# HDF5 file dlx writes: exit 1 naming the table and the errno, no .tmp, the
# existing table untouched. Before: "cannot write the sweep table (is the
# directory writable?)" without the cause. Needs no MNIST.
case_disk_full_sweep() {
    [ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
    mkdir -p mnt
    mount -t tmpfs -o size=1m tmpfs "$WORK/mnt" 2>/dev/null || skip "cannot mount a tmpfs here"
    MNT=$WORK/mnt
    local in=$SRC/tests/data/hostile/sweep_ok.h5 before avail rc
    "$DLX" landscape --merge mnt/t.h5 "$in" --quiet >/dev/null 2>"$CASE.err" || fail "first merge failed: $(cat "$CASE.err")"
    before=$(sha1sum <mnt/t.h5)
    # 8 KiB left: HDF5 creates the file, the space reserved for the table
    # does not fit; then no space at all: HDF5 cannot even create it
    local left msgs=
    for left in 8 0; do
        rm -f mnt/fill
        avail=$(df -k --output=avail "$MNT" | tail -1)
        dd if=/dev/zero of=mnt/fill bs=1k count=$((avail - left)) 2>/dev/null
        run_limited 60 "$DLX" landscape --merge mnt/t.h5 "$in" --quiet >/dev/null 2>"$CASE.err"
        rc=$?
        not_killed $rc "sweep table, $left KiB free"
        [ $rc -eq 1 ] || fail "sweep table, $left KiB free: exit $rc, expected 1: $(cat "$CASE.err")"
        grep -q 'mnt/t.h5' "$CASE.err" && grep -q 'No space left on device' "$CASE.err" ||
            fail "sweep table, $left KiB free: message should name mnt/t.h5 and 'No space left on device': $(cat "$CASE.err")"
        ! compgen -G 'mnt/*.tmp' >/dev/null || fail "sweep table, $left KiB free: a .tmp file was left: $(ls mnt)"
        [ "$(sha1sum <mnt/t.h5)" = "$before" ] || fail "sweep table, $left KiB free: the existing mnt/t.h5 changed"
        msgs="$msgs '$(cat "$CASE.err")'"
    done
    "$DLX" landscape --merge out.h5 mnt/t.h5 --quiet >/dev/null 2>"$CASE.err2" ||
        fail "sweep table on a full disk: the existing table no longer reads: $(cat "$CASE.err2")"
    note "exit 1,$msgs; existing table unchanged and readable, no .tmp"
}

# ---------------------------------------------------------------- fsize
# ulimit -f 1000 (KiB): metrics.h5 fits, the 1.6 MiB checkpoint does not.
# Before: killed by SIGXFSZ (exit 153) without a word, checkpoint.h5.tmp left.
case_fsize() {
    need_mnist
    "$DLX" train "$TINY" --out f "${BIG[@]}" --quiet >/dev/null 2>"$CASE.err" || fail "first run failed: $(cat "$CASE.err")"
    local before rc
    before=$(sha1sum <f/checkpoint.h5)
    (ulimit -f 1000; run_limited 60 "$DLX" train "$TINY" --out f "${BIG[@]}" --extend-epochs 1 --quiet) \
        >/dev/null 2>"$CASE.err"
    rc=$?
    not_killed $rc "ulimit -f"
    [ $rc -eq 1 ] || fail "ulimit -f: exit $rc, expected 1: $(cat "$CASE.err")"
    grep -q 'File too large' "$CASE.err" && grep -q 'f/checkpoint.h5' "$CASE.err" ||
        fail "ulimit -f: message should name the checkpoint and 'File too large': $(cat "$CASE.err")"
    ! compgen -G 'f/*.tmp' >/dev/null || fail "ulimit -f: a .tmp file was left: $(ls f)"
    [ "$(sha1sum <f/checkpoint.h5)" = "$before" ] || fail "ulimit -f: the previous checkpoint.h5 changed"
    # a limit below even metrics.h5: refused naming that file
    rm -rf f2
    (ulimit -f 16; run_limited 60 "$DLX" train "$TINY" --out f2 --quiet) >/dev/null 2>"$CASE.err2"
    rc=$?
    not_killed $rc "ulimit -f 16"
    [ $rc -eq 1 ] && grep -q 'f2/metrics.h5' "$CASE.err2" ||
        fail "ulimit -f 16: exit $rc: $(cat "$CASE.err2")"
    ! compgen -G 'f2/*.tmp' >/dev/null || fail "ulimit -f 16: a .tmp file was left: $(ls f2)"
    note "exit 1, '$(cat "$CASE.err")'; no .tmp; '$(cat "$CASE.err2")'"
}

# ---------------------------------------------------------------- address_space
# ulimit -v 100-300 MB: OpenBLAS (0.3.21) retried its 128 MiB buffer allocation
# forever at 100 % CPU. Now refused up front with the figures, within seconds.
# AddressSanitizer reserves terabytes of shadow address space at start, so a
# sanitized dlx cannot run under ulimit -v at all
sanitized() { grep -qa 'libasan\.so' "$DLX"; }

case_address_space() {
    need_mnist
    sanitized && skip "an AddressSanitizer build cannot run under ulimit -v"
    local v rc
    for v in 100000 200000 300000; do
        (ulimit -v $v; run_limited 20 "$DLX" train "$TINY" --out as --quiet) >/dev/null 2>"$CASE.err"
        rc=$?
        not_killed $rc "ulimit -v $v (a hang is killed after 20 s)"
        [ $rc -eq 1 ] || fail "ulimit -v $v: exit $rc, expected 1: $(cat "$CASE.err")"
        grep -Eq 'needs [0-9.]+ MiB of address space' "$CASE.err" && grep -q "OpenBLAS" "$CASE.err" &&
            grep -q 'ulimit -v' "$CASE.err" || fail "ulimit -v $v: message lacks the figures: $(cat "$CASE.err")"
        grep -q "limit of $(awk -v v=$v 'BEGIN { printf "%.1f", v / 1024 }') MiB" "$CASE.err" ||
            fail "ulimit -v $v: message does not state the limit: $(cat "$CASE.err")"
    done
    [ ! -e as/checkpoint.h5 ] || fail "a checkpoint was written"
    note "$(cat "$CASE.err")"
}

# ---------------------------------------------------------------- deadline
# The first SIGTERM asks for a checkpoint after the step; a step that does
# not end within DLX_STOP_DEADLINE seconds (here: the process is stopped for
# 2 s right after the signal, as a stuck library call would be) exits 143
# with a message, leaving the last checkpoint as it was. A second SIGTERM in
# the middle of a ~1 s step (inside sgemm) exits 143 at once.
case_deadline() {
    need_mnist
    local sets=(--set model.layers.1.units=8192 --set train.batch=512 --set data.train_limit=8192
                --set train.epochs=50 --set train.checkpoint_every=2 --threads 1)
    local try rc before t0 dt ok=0
    for try in 1 2 3; do
        rm -rf dl
        DLX_STOP_DEADLINE=1 "$DLX" train "$TINY" --out dl "${sets[@]}" --quiet >/dev/null 2>"$CASE.err" &
        BGPID=$!
        local i
        for ((i = 0; i < 400; i++)); do [ -e dl/checkpoint.h5 ] && break; sleep 0.05; done
        [ -e dl/checkpoint.h5 ] || fail "no checkpoint within 20 s: $(cat "$CASE.err")"
        sleep 0.2
        before=$(sha1sum <dl/checkpoint.h5)
        kill -TERM "$BGPID"
        sleep 0.02 # the handler runs and arms the deadline
        kill -STOP "$BGPID"
        sleep 2
        t0=$(date +%s%N)
        kill -CONT "$BGPID"
        wait "$BGPID"
        rc=$?
        BGPID=
        dt=$((($(date +%s%N) - t0) / 1000000))
        # the step may rarely end in the 20 ms before the stop: then it is a
        # normal interruption, and the case is tried again
        [ $rc -eq 1 ] && grep -q 'interrupted at step' "$CASE.err" && continue
        [ $rc -eq 143 ] || fail "deadline: exit $rc, expected 143: $(cat "$CASE.err")"
        grep -q 'did not end within 1 s' "$CASE.err" || fail "deadline: message: $(cat "$CASE.err")"
        [ $dt -lt 1000 ] || fail "deadline: exited $dt ms after SIGCONT, expected at once"
        [ "$(sha1sum <dl/checkpoint.h5)" = "$before" ] || fail "deadline: checkpoint.h5 changed"
        "$DLX" inspect dl/checkpoint.h5 >/dev/null 2>&1 || fail "deadline: checkpoint.h5 does not open"
        ok=1
        break
    done
    [ $ok = 1 ] || fail "deadline: three tries, the step always ended before the stop"
    note "stuck step: exit 143 ${dt} ms after it could run again: $(cat "$CASE.err")"
    # two signals while a ~1.4 s step is inside sgemm
    rm -rf dl2
    "$DLX" train "$TINY" --out dl2 --set model.layers.1.units=16384 --set train.batch=1024 \
        --set data.train_limit=8192 --set train.epochs=50 --threads 1 --quiet >/dev/null 2>"$CASE.err" &
    BGPID=$!
    for ((i = 0; i < 400; i++)); do [ -e dl2/spec.yaml ] && break; sleep 0.05; done
    sleep 1
    kill -TERM "$BGPID"
    sleep 0.1
    t0=$(date +%s%N)
    kill -TERM "$BGPID"
    wait "$BGPID"
    rc=$?
    BGPID=
    dt=$((($(date +%s%N) - t0) / 1000000))
    [ $rc -eq 143 ] || [ $rc -eq 1 ] || fail "two SIGTERMs mid-step: exit $rc: $(cat "$CASE.err")"
    [ $rc -eq 1 ] && note "two SIGTERMs: the step and checkpoint ended between them (exit 1)"
    [ $dt -lt 500 ] || fail "two SIGTERMs mid-step: exited $dt ms after the second"
    note "two SIGTERMs mid-step: exit $rc $dt ms after the second"
}

# ---------------------------------------------------------------- fifo
# A FIFO without a writer (or a device) as any input must not block: refused
# at once, exit 2, naming the file. Before: blocked forever in open().
case_fifo() {
    mkfifo pipe.yaml pipe.h5 || fail "mkfifo failed"
    local rc what
    for what in "train pipe.yaml" "eval pipe.h5" "plot pipe.h5" "gradcheck pipe.yaml"; do
        # shellcheck disable=SC2086
        run_limited 10 "$DLX" $what >/dev/null 2>"$CASE.err"
        rc=$?
        [ $rc -ne 137 ] || fail "dlx $what: blocked (killed after 10 s)"
        [ $rc -eq 2 ] || fail "dlx $what: exit $rc, expected 2: $(cat "$CASE.err")"
        grep -q 'pipe\.\(yaml\|h5\): .*not a regular file (a FIFO)' "$CASE.err" ||
            fail "dlx $what: message should name the file and say it is a FIFO: $(cat "$CASE.err")"
    done
    # /dev/zero as the spec, under a memory limit (except for a sanitized build)
    if sanitized; then
        run_limited 10 "$DLX" train /dev/zero >/dev/null 2>"$CASE.err"
    else
        (ulimit -v 200000; run_limited 10 "$DLX" train /dev/zero) >/dev/null 2>"$CASE.err"
    fi
    rc=$?
    [ $rc -eq 2 ] && grep -q '^dlx: /dev/zero: .*a device' "$CASE.err" ||
        fail "/dev/zero as spec: exit $rc: $(cat "$CASE.err")"
    head -c $((17 << 20)) /dev/zero | tr '\0' '#' >huge.yaml
    run_limited 10 "$DLX" train huge.yaml >/dev/null 2>"$CASE.err"
    rc=$?
    [ $rc -eq 2 ] && grep -q 'huge.yaml: .*17.0 MiB, over the 16 MiB' "$CASE.err" ||
        fail "17 MiB spec: exit $rc: $(cat "$CASE.err")"
    mkdir -p dir.yaml
    run_limited 10 "$DLX" train dir.yaml >/dev/null 2>"$CASE.err"
    [ $? -eq 2 ] && grep -q 'a directory' "$CASE.err" || fail "directory as spec: $(cat "$CASE.err")"
    if have_mnist; then # --resume finds a FIFO where the checkpoint should be
        mkdir -p rs && mkfifo rs/checkpoint.h5
        run_limited 20 "$DLX" train "$TINY" --out rs --resume --quiet >/dev/null 2>"$CASE.err"
        rc=$?
        [ $rc -eq 2 ] && grep -q 'rs/checkpoint.h5: .*a FIFO' "$CASE.err" ||
            fail "--resume onto a FIFO: exit $rc: $(cat "$CASE.err")"
        mkdir -p dd && mkfifo dd/t10k-images-idx3-ubyte
        run_limited 20 "$DLX" train "$TINY" --set data.dir="$WORK/dd" --quiet >/dev/null 2>"$CASE.err"
        rc=$?
        [ $rc -ne 137 ] && grep -q 'not a regular file' "$CASE.err" || fail "FIFO as an IDX file: exit $rc: $(cat "$CASE.err")"
    fi
    note "FIFO spec, checkpoint, metrics, --resume, IDX; /dev/zero; 17 MiB spec; a directory: all refused at once"
}

# ---------------------------------------------------------------- memory
# --max-memory counts parameters, gradients, optimizer state, activations and
# data, and refuses before allocating. Before: a 64k-unit layer passed
# --max-memory 50M and reached 822 MiB; 2^22 units passed and was OOM-killed.
case_memory() {
    need_mnist
    local rc
    "$DLX" train "$TINY" --out m1 --set model.layers.1.units=65536 --max-memory 50M --quiet >/dev/null 2>"$CASE.err"
    rc=$?
    [ $rc -eq 1 ] || fail "64k units, --max-memory 50M: exit $rc, expected 1: $(cat "$CASE.err")"
    grep -Eq 'needs 8[0-9][0-9]\.[0-9] MiB: parameters 198\.8 MiB, gradients 397\.5 MiB \(2 blocks\), optimizer state 198\.8 MiB \(1 slot\), activations [0-9.]+ MiB \(2 graphs\), data [0-9.]+ MiB; over the limit of 50\.0 MiB' "$CASE.err" ||
        fail "64k units: message lacks the breakdown: $(cat "$CASE.err")"
    [ ! -e m1/checkpoint.h5 ] || fail "64k units: a checkpoint was written"
    local t0=$SECONDS
    "$DLX" train "$TINY" --out m2 --set model.layers.1.units=4194304 --max-memory 16G --quiet >/dev/null 2>"$CASE.err"
    rc=$?
    [ $rc -eq 1 ] && grep -Eq 'needs 5[0-9]\.[0-9] GiB: parameters 12\.[0-9] GiB' "$CASE.err" ||
        fail "2^22 units, --max-memory 16G: exit $rc: $(cat "$CASE.err")"
    [ $((SECONDS - t0)) -le 5 ] || fail "2^22 units: refused only after $((SECONDS - t0)) s"
    # the default limit (80 % of RAM) applies without --max-memory
    local ram_kb
    ram_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)
    if [ "$ram_kb" -lt $((60 * 1024 * 1024)) ]; then
        "$DLX" train "$TINY" --out m3 --set model.layers.1.units=4194304 --quiet >/dev/null 2>"$CASE.err"
        rc=$?
        [ $rc -eq 1 ] && grep -q 'default is 80 % of physical memory' "$CASE.err" ||
            fail "2^22 units without --max-memory: exit $rc: $(cat "$CASE.err")"
    fi
    # Adam: two slots; four shards: four gradient blocks and four graphs
    "$DLX" train "$TINY" --out m4 --set 'train.optimizer={type: adam, lr: 0.001}' --set train.shards=4 \
        --set model.layers.1.units=65536 --max-memory 50M --quiet >/dev/null 2>"$CASE.err"
    grep -q 'gradients 795.0 MiB (4 blocks), optimizer state 397.5 MiB (2 slots)' "$CASE.err" && grep -q '(4 graphs)' "$CASE.err" ||
        fail "Adam, 4 shards: $(cat "$CASE.err")"
    # the sparse-coding family too
    "$DLX" train "$SRC/configs/sparse_coding/dictionary_mnist.yaml" --out m5 --max-memory 1M --quiet >/dev/null 2>"$CASE.err"
    rc=$?
    [ $rc -eq 1 ] && grep -Eq 'needs [0-9.]+ MiB: parameters' "$CASE.err" || fail "sparse coding: exit $rc: $(cat "$CASE.err")"
    # --max-memory values no machine has: usage errors
    local v
    for v in nan inf 1e30 -5 0 2000000000G; do
        "$DLX" train "$TINY" --out m6 --max-memory "$v" --quiet >/dev/null 2>"$CASE.err"
        rc=$?
        [ $rc -eq 2 ] && grep -q -- '--max-memory' "$CASE.err" || fail "--max-memory $v: exit $rc, expected 2: $(cat "$CASE.err")"
    done
    # a run that fits still trains
    "$DLX" train "$TINY" --out m7 --max-memory 200M --quiet >/dev/null 2>"$CASE.err" || fail "tiny run under 200M failed: $(cat "$CASE.err")"
    note "64k units and 2^22 units refused before allocating, with the breakdown; nan/inf/1e30 exit 2"
}

# ---------------------------------------------------------------- float32
# Hyperparameters computed in float32 that vanish there: refused at their line.
case_float32() {
    local rc key val line
    for kv in "sgd lr 1e-320" "sgd lr 1e-39" "sgd momentum 1e-40" "sgd momentum 0.9999999999" "sgd weight_decay 1e-45" \
              "adam beta2 0.99999999999" "adam eps 1e-50" "adam beta1 1e-42"; do
        set -- $kv
        cat >f32.yaml <<EOF
version: 1
seed: 1
model:
  kind: classifier
  layers:
    - {type: flatten}
    - {type: linear, units: 10}
data: {dataset: mnist}
train:
  epochs: 1
  optimizer:
    type: $1
    lr: 0.01
    $2: $3
EOF
        [ "$2" = lr ] && sed -i '/^    lr: 0.01$/d' f32.yaml
        line=$(grep -n "^    $2: " f32.yaml | cut -d: -f1)
        "$DLX" train f32.yaml --out f32 >/dev/null 2>"$CASE.err"
        rc=$?
        [ $rc -eq 2 ] || fail "$1 $2: $3: exit $rc, expected 2: $(cat "$CASE.err")"
        grep -q "f32.yaml:$line:[0-9]*: error: train.optimizer.$2: $3 " "$CASE.err" ||
            fail "$1 $2: $3: message lacks file:line or the key: $(cat "$CASE.err")"
        grep -q 'float32' "$CASE.err" || fail "$1 $2: $3: message does not say why: $(cat "$CASE.err")"
    done
    note "$(cat "$CASE.err")"
}

# ---------------------------------------------------------------- data_messages
# A batch larger than the training set is a spec error at train.batch, before
# any work (before: after 9.5 s and 4.8 GB for LeNet-5 at 65536, without a file
# name); train and test images of different sizes name both files, exit 1.
case_data_messages() {
    python3 - <<'EOF' || fail "cannot write the IDX fixtures (python3)"
import struct
def idx(path, magic, dims, n_bytes):
    with open(path, 'wb') as f:
        f.write(struct.pack('>I', magic) + b''.join(struct.pack('>I', d) for d in dims))
        f.write(bytes(i % 10 for i in range(n_bytes)))
import os
os.makedirs('mix', exist_ok=True)
idx('mix/train-images-idx3-ubyte', 0x803, [64, 8, 8], 64 * 64)
idx('mix/train-labels-idx1-ubyte', 0x801, [64], 64)
idx('mix/t10k-images-idx3-ubyte', 0x803, [32, 10, 10], 32 * 100)
idx('mix/t10k-labels-idx1-ubyte', 0x801, [32], 32)
EOF
    local rc
    run_limited 20 "$DLX" train "$TINY" --set data.dir="$WORK/mix" --set train.batch=16 --out dm --quiet >/dev/null 2>"$CASE.err"
    rc=$?
    [ $rc -eq 1 ] || fail "image sizes: exit $rc, expected 1: $(cat "$CASE.err")"
    grep -q 'mix/train-images-idx3-ubyte: error: the training images are 8x8, but the test images in .*mix/t10k-images-idx3-ubyte are 10x10' "$CASE.err" ||
        fail "image sizes: message should name both files and sizes: $(cat "$CASE.err")"
    # batch 100 > 64 samples: the spec's line:col of train.batch, the file, both numbers
    sed -e 's/batch: 32/batch: 100/' -e "s|dataset: mnist,|dataset: mnist, dir: $WORK/mix, resize: [10, 10],|" "$TINY" >batch.yaml
    local line
    line=$(grep -n 'batch: 100' batch.yaml | cut -d: -f1)
    local t0=$SECONDS
    run_limited 20 "$DLX" train batch.yaml --out db --quiet >/dev/null 2>"$CASE.err"
    rc=$?
    [ $rc -eq 2 ] || fail "batch 100 > 64: exit $rc, expected 2: $(cat "$CASE.err")"
    grep -q "batch.yaml:$line:[0-9]*: error: train.batch: 100 is larger than the training set: 64 samples (.*mix/train-images-idx3-ubyte)" "$CASE.err" ||
        fail "batch 100 > 64: message: $(cat "$CASE.err")"
    [ ! -e db/spec.yaml ] || fail "batch 100 > 64: the run started"
    if have_mnist; then
        t0=$SECONDS
        run_limited 60 "$DLX" train "$SRC/configs/lenet5.yaml" --set train.batch=65536 --out db2 --quiet >/dev/null 2>"$CASE.err"
        rc=$?
        [ $rc -eq 2 ] && grep -q 'train.batch: 65536 is larger than the training set: 60000 samples (.*mnist/train-images' "$CASE.err" ||
            fail "LeNet-5 batch 65536: exit $rc: $(cat "$CASE.err")"
        [ $((SECONDS - t0)) -le 2 ] || fail "LeNet-5 batch 65536: refused only after $((SECONDS - t0)) s"
    fi
    note "$(cat "$CASE.err")"
}

case "$CASE" in
disk_full | disk_full_sweep | fsize | address_space | deadline | fifo | memory | float32 | data_messages) "case_$CASE" ;;
all)
    for c in disk_full disk_full_sweep fsize address_space deadline fifo memory float32 data_messages; do
        "$SELF" "$c"
        rc=$?
        [ $rc -eq 0 ] || [ $rc -eq 77 ] || exit $rc
    done
    ;;
*) echo "tests/faults.sh: unknown case '$CASE'" >&2; exit 1 ;;
esac
echo "PASS [$CASE]"
exit 0
