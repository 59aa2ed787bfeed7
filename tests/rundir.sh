#!/usr/bin/env bash
# Run directories under hostile use: one writer at a time (the flock on
# DIR/.lock), paths and names that do not fit or would escape, and --resume
# against a changed spec or a --stop-at already passed.
#   tests/rundir.sh CASE   CASE: lock lock_commands paths names resume_spec resume_stop_at all
# Env: DLX_BIN (the dlx binary; default build/dlx), DLX_SRC_DIR (source root).
# Exit 0 pass, 1 fail (with a message), 77 skip (no h5dump/h5diff, no flock).
# Training runs on a tiny fake MNIST written here (random pixels), so no case
# needs the real data; everything is written under a temporary directory.
set -uo pipefail

SRC=${DLX_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
DLX=${DLX_BIN:-$SRC/build/dlx}
case "$DLX" in /*) ;; *) DLX=$PWD/$DLX ;; esac
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export HDF5_USE_FILE_LOCKING=FALSE

fail() { echo "FAIL [$CASE]: $*" >&2; exit 1; }
skip() { echo "SKIP [$CASE]: $*" >&2; exit 77; }
note() { echo "[$CASE] $*"; }

CASE=${1:-}
CASES="lock lock_commands paths names resume_spec resume_stop_at"
[ -n "$CASE" ] || { echo "usage: tests/rundir.sh CASE ($CASES all)" >&2; exit 1; }
[ -x "$DLX" ] || fail "dlx binary '$DLX' not found (set DLX_BIN)"
command -v h5diff >/dev/null || skip "h5diff not installed (hdf5-tools)"
command -v h5dump >/dev/null || skip "h5dump not installed (hdf5-tools)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dlx-rundir.XXXXXX") || fail "mktemp failed"
BGPID=
HOLDPID=
# flock(1) holds the lock in its child (the command) too: stop both
unhold() { [ -n "$1" ] && kill -9 $(pgrep -P "$1") "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
cleanup() {
    [ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null
    [ -n "$HOLDPID" ] && unhold "$HOLDPID"
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || fail "cannot cd to $WORK"

# A tiny MNIST-shaped dataset: N random images, labels 0..9 repeating.
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
make_fake() { # DIR N
    local i labels=""
    mkdir -p "$1"
    for ((i = 0; i < $2; i++)); do labels+="\\x0$((i % 10))"; done
    { printf '\x00\x00\x08\x03'; printf "$(be32 "$2")$(be32 28)$(be32 28)"; head -c $(($2 * 784)) /dev/urandom; } \
        >"$1/train-images-idx3-ubyte"
    { printf '\x00\x00\x08\x01'; printf "$(be32 "$2")"; printf "$labels"; } >"$1/train-labels-idx1-ubyte"
    cp "$1/train-images-idx3-ubyte" "$1/t10k-images-idx3-ubyte"
    cp "$1/train-labels-idx1-ubyte" "$1/t10k-labels-idx1-ubyte"
}
make_fake "$WORK/fake" 256

# The tiny MLP: 16 steps an epoch on the fake data.
cat >tiny.yaml <<EOF
version: 1
name: rundir_tiny
seed: 3
model:
  kind: classifier
  layers:
    - {type: flatten}
    - {type: linear, units: 16, activation: relu}
    - {type: linear, units: 10}
data: {dataset: mnist, dir: $WORK/fake, mean: 0.5, std: 0.3, test_limit: 64}
train:
  epochs: 1
  batch: 16
  log_every: 2
  optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
EOF

train() { "$DLX" train "$@" --quiet >/dev/null; }

# run WANT_STATUS OUTFILE CMD...: CMD exits WANT_STATUS (stdout+stderr to OUTFILE).
expect_status() {
    local want=$1 out=$2
    shift 2
    "$@" >"$out" 2>&1
    local rc=$?
    [ $rc -eq "$want" ] || fail "$(printf '%q ' "$@"): exit status $rc, expected $want: $(head -5 "$out")"
}
expect_text() { # FILE TEXT WHAT
    grep -qF -- "$2" "$1" || fail "$3: the message lacks '$2': $(head -5 "$1")"
}

# The step column of a metrics series, one step per line.
metric_steps() { # FILE SERIES
    h5dump -y -w 0 -d "/metrics/$2" "$1" 2>/dev/null |
        sed -n '/DATA {/,/}/p' | tr -d '{}' | sed 's/DATA//' | tr ',' '\n' |
        awk 'NF { n++; if (n % 2 == 1) print $1 }'
}
ckpt_step() { "$DLX" inspect "$1" | awk '$1 == "step:" { print $2 }'; }

# Start a long training in DIR (in the background, BGPID); return once it holds the lock.
LONG=(--set train.epochs=100000 --set model.layers.1.units=64)
start_long() { # DIR [dlx args...]
    local dir=$1
    shift
    "$DLX" train tiny.yaml --out "$dir" "${LONG[@]}" --quiet "$@" >"$dir.out" 2>"$dir.err" &
    BGPID=$!
    local i
    for ((i = 0; i < 200; i++)); do # spec.yaml is written after the lock is taken
        [ -e "$dir/spec.yaml" ] && [ "$(cat "$dir/.lock" 2>/dev/null)" = "$BGPID" ] && break
        sleep 0.05
    done
    [ "$(cat "$dir/.lock" 2>/dev/null)" = "$BGPID" ] || fail "training in $dir did not start within 10 s: $(cat "$dir.err")"
    sleep 0.2
}
finish() { wait "$BGPID"; local rc=$?; BGPID=; return $rc; }

# ---------------------------------------------------------------- lock
# A second writer into a run directory in use is refused at once (exit 1,
# naming the holder's pid), fresh or --resume, and touches nothing; the
# holder's files stay its own. A kill -9 leaves no stale lock.
case_lock() {
    start_long L
    local t0=$SECONDS
    expect_status 1 second.out "$DLX" train tiny.yaml --out L "${LONG[@]}" --set seed=9 --quiet
    expect_text second.out "L is in use by another dlx (pid $BGPID); wait for it or choose another --out" \
        "a second training into the same --out"
    expect_status 1 second.out "$DLX" train tiny.yaml --out L "${LONG[@]}" --resume --quiet
    expect_text second.out "is in use by another dlx (pid $BGPID)" "a --resume into a directory in use"
    [ $((SECONDS - t0)) -le 5 ] || fail "the refusals took $((SECONDS - t0)) s; expected at once"
    grep -q '^seed: 3$' L/spec.yaml || fail "L/spec.yaml is not the first run's (seed 3): $(grep seed L/spec.yaml)"
    # the holder stops itself cleanly: its metrics hold its own rows only
    kill -TERM "$BGPID"
    finish
    local rc=$? at
    [ $rc -eq 1 ] || fail "SIGTERM of the holder: exit status $rc, expected 1: $(tail -2 L.err)"
    at=$(ckpt_step L/checkpoint.h5)
    local steps dup max
    steps=$(metric_steps L/metrics.h5 train_loss)
    [ -n "$steps" ] || fail "L/metrics.h5 has no train_loss rows"
    dup=$(echo "$steps" | sort -n | uniq -d | tr '\n' ' ')
    [ -z "$dup" ] || fail "L/metrics.h5 repeats steps $dup"
    max=$(echo "$steps" | sort -n | tail -1)
    [ "$max" -le "$at" ] || fail "L/metrics.h5 has a row at step $max, after the checkpoint's step $at"
    note "second writer refused at once (fresh and --resume), naming pid; the holder's rows are its own (steps 2..$max)"

    # kill -9 while holding the lock: the next run is not refused
    start_long L --resume
    local victim=$BGPID
    kill -9 "$BGPID"
    finish
    expect_status 0 after_kill.out "$DLX" train tiny.yaml --out L --resume --set model.layers.1.units=64 --quiet
    grep -q "$victim" after_kill.out && fail "after kill -9 of pid $victim the lock is still held: $(cat after_kill.out)"
    note "kill -9 of the holder (pid $victim) leaves no stale lock: the next --resume ran"
}

# ---------------------------------------------------------------- lock_commands
hold_wait() { # LOCKFILE: until flock(1) in the background holds it
    local i
    for ((i = 0; i < 200; i++)); do
        flock -n "$1" true 2>/dev/null || return 0
        sleep 0.05
    done
    fail "flock(1) did not take $1 within 10 s"
}
# The lock is an ordinary flock(2) on DIR/.lock, so any holder counts; dlx
# train, dlx reproduce (its --out) and dlx landscape (<table>.lock, also for
# --merge) refuse.
case_lock_commands() {
    command -v flock >/dev/null && command -v pgrep >/dev/null || skip "flock(1) or pgrep not installed"
    mkdir -p held
    flock held/.lock sleep 60 & # blocking: a probe below may hold it for a moment
    HOLDPID=$!
    hold_wait held/.lock
    echo 4242 >held/.lock # what the holder says about itself
    expect_status 1 t.out "$DLX" train tiny.yaml --out held --quiet
    expect_text t.out "held is in use by another dlx (pid 4242)" "dlx train into a locked directory"
    [ ! -e held/spec.yaml ] && [ ! -e held/metrics.h5 ] || fail "dlx train wrote into a locked directory: $(ls held)"
    cat >table.yaml <<EOF
paper: "rundir test"
rows:
  - {name: r1, spec: $WORK/tiny.yaml}
EOF
    expect_status 1 r.out "$DLX" reproduce table.yaml --out held --quiet
    expect_text r.out "held is in use by another dlx" "dlx reproduce into a locked --out"
    [ ! -e held/r1 ] && [ ! -e held/results.h5 ] || fail "dlx reproduce wrote into a locked directory: $(ls held)"
    mkdir -p ls
    cp "$SRC/tests/data/landscape/sweep.yaml" "$SRC/tests/data/landscape/base.yaml" ls/
    flock ls/t.h5.lock sleep 60 &
    local hold2=$!
    hold_wait ls/t.h5.lock
    expect_status 1 l.out "$DLX" landscape ls/sweep.yaml --out ls/t.h5 --quiet --no-figures
    expect_text l.out "ls/t.h5 is in use by another dlx" "dlx landscape into a locked table"
    expect_status 1 l.out "$DLX" landscape --merge ls/t.h5 ls/shard0.h5 ls/shard1.h5 --quiet
    expect_text l.out "ls/t.h5 is in use by another dlx" "dlx landscape --merge into a locked table"
    unhold $hold2
    [ ! -e ls/t.h5 ] || fail "dlx landscape wrote a locked table"
    unhold "$HOLDPID"
    HOLDPID=
    expect_status 0 t.out "$DLX" train tiny.yaml --out held --quiet
    note "train, reproduce and landscape refuse a locked directory/table (exit 1) and write nothing; freed, train runs"
}

# ---------------------------------------------------------------- paths
# Paths are refused when they do not fit, never cut: two run directories that
# differ only at the end stay two directories.
case_paths() {
    local c200 c120 long
    c200=$(printf 'd%.0s' $(seq 200))
    c120=$(printf 'e%.0s' $(seq 120))
    long=$c200/$c200/$c120 # 522 characters
    expect_status 2 p.out "$DLX" train tiny.yaml --out "${long}1" --quiet
    expect_text p.out "--out: the path is 523 characters long; the limit is 511" "an --out over 511 characters"
    [ ! -e "$c200" ] || fail "a refused --out created directories"
    expect_status 2 p.out "$DLX" train tiny.yaml --out "a/$(printf 'f%.0s' $(seq 256))" --quiet
    expect_text p.out "a part of the path is 256 characters long; the limit is 255" "a path component over 255"
    # 511 characters, differing in the last one: two runs, two directories
    local base=$c200/$c200/${c120:0:108}
    train tiny.yaml --out "${base}1" || fail "training into a 511-character --out failed"
    train tiny.yaml --out "${base}2" --set seed=4 || fail "training into a second 511-character --out failed"
    [ -e "${base}1/checkpoint.h5" ] && [ -e "${base}2/checkpoint.h5" ] || fail "the two long run directories were not both written"
    grep -q '^seed: 4$' "${base}2/spec.yaml" && grep -q '^seed: 3$' "${base}1/spec.yaml" ||
        fail "the two long run directories hold the wrong specs"
    expect_status 2 p.out "$DLX" reproduce /dev/null --out "${long}1"
    expect_text p.out "the limit is 509" "dlx reproduce --out over the limit"
    expect_status 2 p.out "$DLX" landscape "$SRC/tests/data/landscape/sweep.yaml" --out "${long}1.h5"
    expect_text p.out "the limit is 447" "dlx landscape --out over the limit"
    # a layer name of the longest length that fits, named by inputs:
    local n88 n89
    n88=$(printf 'n%.0s' $(seq 88))
    n89=${n88}n
    train tiny.yaml --out names88 --set "model.layers.1.name=$n88" \
        --set "model.layers.2={type: linear, units: 10, inputs: [$n88]}" || fail "an 88-character layer name failed"
    "$DLX" inspect names88/checkpoint.h5 | grep -q "/params/$n88.weight" || fail "/params/$n88.weight missing"
    expect_status 2 p.out "$DLX" train tiny.yaml --out names89 --set "model.layers.1.name=$n89"
    expect_text p.out "model.layers[1].name: the layer name is 89 characters long; the limit is 88" "an 89-character layer name"
    note "--out over 511 / a component over 255 refused (exit 2); two 511-character runs stay apart; layer names up to 88"
}

# ---------------------------------------------------------------- names
# Names that become paths: layer names (HDF5 /params/<name>.*) and the spec's
# name (runs/<name>) are refused at spec time, at their line:col.
case_names() {
    cat >slash.yaml <<EOF
version: 1
seed: 1
model:
  layers:
    - {type: flatten}
    - {type: linear, units: 16, activation: relu, name: h}
    - {type: linear, units: 10, name: /h}
data: {dataset: mnist, dir: $WORK/fake, test_limit: 64}
train: {epochs: 1, batch: 16, optimizer: {type: sgd, lr: 0.05}}
EOF
    expect_status 2 n.out "$DLX" train slash.yaml --out slash --quiet
    expect_text n.out "slash.yaml:7:39: error: model.layers[2].name: a layer name cannot contain '/'" "layer name /h"
    [ ! -e slash ] || fail "a spec error created the run directory"
    local v
    for v in . .. "''"; do
        expect_status 2 n.out "$DLX" train tiny.yaml --out bad --set "model.layers.1.name=$v"
        expect_text n.out "model.layers[1].name: a layer name cannot" "layer name $v"
    done
    expect_status 2 n.out "$DLX" train tiny.yaml --out bad --set 'model.layers.1.name="a\tb"'
    expect_text n.out "cannot contain control characters" "a layer name with a tab"
    expect_status 2 n.out "$DLX" train tiny.yaml --out bad --set 'model.layers.2={type: linear, units: 10, share: "../x"}'
    expect_text n.out "model.layers[2].share: a layer name cannot contain '/'" "share: ../x"
    # the spec's name picks runs/<name>: '..' would make it the working directory
    mkdir -p cwd && cd cwd || fail "cannot cd"
    for v in .. . a/b "''"; do
        expect_status 2 ../n.out "$DLX" train ../tiny.yaml --set "name=$v" --quiet
        expect_text ../n.out "name: a spec name cannot" "spec name $v"
    done
    sed 's/^name: rundir_tiny$/name: ../' ../tiny.yaml >dotdot.yaml
    expect_status 2 ../n.out "$DLX" train dotdot.yaml --quiet
    expect_text ../n.out "dotdot.yaml:2:7: error: name: a spec name cannot be '.' or '..'" "name: .. in a spec file"
    local left
    left=$(find . -mindepth 1 ! -name dotdot.yaml)
    [ -z "$left" ] || fail "a refused spec name wrote files: $left"
    cd .. || fail "cannot cd back"
    [ ! -e runs ] && [ ! -e checkpoint.h5 ] || fail "a refused spec name wrote files: $(ls)"
    cat >table.yaml <<EOF
paper: "rundir test"
rows:
  - {name: .., spec: $WORK/tiny.yaml}
EOF
    expect_status 2 n.out "$DLX" reproduce table.yaml --out rp --quiet
    expect_text n.out "table.yaml:3:12: error: rows[0].name:" "reproduce row named .."
    mkdir -p ls && cp "$SRC/tests/data/landscape/base.yaml" ls/
    sed 's/^name: ls-test$/name: ../' "$SRC/tests/data/landscape/sweep.yaml" >ls/sweep.yaml
    expect_status 2 n.out "$DLX" landscape ls/sweep.yaml --quiet --no-figures
    expect_text n.out "sweep.yaml:2:7: error: name: a sweep name cannot be '.' or '..'" "sweep named .."
    note "layer names /h . .. '' tab, share ../x, spec names .. . a/b '', a reproduce row and a sweep named .. refused at line:col"
}

# ---------------------------------------------------------------- resume_spec
# --resume refuses a spec that makes a different run (exit 2, naming the key
# and both values) and leaves the checkpoint alone; the keys that may change
# (epochs, cadence, threads) resume.
case_resume_spec() {
    train tiny.yaml --out R --stop-at 5 || fail "--stop-at 5 failed"
    cp R/checkpoint.h5 ckpt.before
    # each: --set, then the message expected
    while IFS='|' read -r set want; do
        expect_status 2 r.out "$DLX" train tiny.yaml --out R --resume --set "$set" --quiet
        expect_text r.out "--resume: $want in R/checkpoint.h5 (start a new run with another --out, or drop --resume)" \
            "--resume with --set $set"
    done <<'EOF'
train.batch=32|train.batch is 32 here but 16
seed=4|seed is 4 here but 3
train.optimizer.lr=0.1|train.optimizer.lr is 0.1 here but 0.05
train.optimizer.momentum=0.5|train.optimizer.momentum is 0.5 here but 0.9
model.layers.1.activation=tanh|model.layers[1].activation is tanh here but relu
model.layers.1.units=32|model.layers[1].units is 32 here but 16
model.layers=[{type: flatten}, {type: linear, units: 10}]|model.layers[1].units is 10 here but 16
data.dataset=fashion-mnist|data.dataset is fashion-mnist here but mnist
data.test_limit=32|data.test_limit is 32 here but 64
EOF
    # a layer added at the end: the lists differ in length
    expect_status 2 r.out "$DLX" train tiny.yaml --out R --resume --quiet \
        --set 'model.layers=[{type: flatten}, {type: linear, units: 16, activation: relu}, {type: linear, units: 10}, {type: relu}]'
    expect_text r.out "--resume: model.layers is a list of 4 items here but a list of 3 items in R/checkpoint.h5" "a layer added"
    cmp -s ckpt.before R/checkpoint.h5 || fail "a refused --resume changed R/checkpoint.h5"
    [ "$(metric_steps R/metrics.h5 train_loss | tail -1)" = 4 ] || fail "a refused --resume changed R/metrics.h5"
    # the same value written another way is the same spec; epochs, cadence and threads may change
    train tiny.yaml --out R --resume --set train.optimizer.lr=5e-2 --set train.epochs=2 --set train.log_every=4 \
        --set train.eval_every=1 --set train.checkpoint_every=3 --set train.threads=2 --threads 1 ||
        fail "--resume with lr 5e-2 (= 0.05), epochs 2 and other cadence/thread settings was refused"
    [ "$(ckpt_step R/checkpoint.h5)" = 32 ] || fail "--resume with train.epochs=2 ended at step $(ckpt_step R/checkpoint.h5), not 32"
    note "9 changed keys and an added layer refused (exit 2, key and both values, checkpoint untouched); epochs/cadence/threads resume"
}

# ---------------------------------------------------------------- resume_stop_at
# --resume --stop-at K with K at or before the checkpoint's step is refused
# (it used to train one more step and call that step K); a later K works.
case_resume_stop_at() {
    train tiny.yaml --out S --stop-at 6 || fail "--stop-at 6 failed"
    cp S/checkpoint.h5 ckpt.before
    local k
    for k in 3 6; do
        expect_status 2 s.out "$DLX" train tiny.yaml --out S --resume --stop-at $k --quiet
        expect_text s.out "--stop-at $k: S/checkpoint.h5 is already at step 6; give a later step, or drop --stop-at" \
            "--resume --stop-at $k"
    done
    cmp -s ckpt.before S/checkpoint.h5 || fail "a refused --stop-at changed S/checkpoint.h5"
    train tiny.yaml --out S --resume --stop-at 9 || fail "--resume --stop-at 9 failed"
    [ "$(ckpt_step S/checkpoint.h5)" = 9 ] || fail "--resume --stop-at 9 left step $(ckpt_step S/checkpoint.h5)"
    note "--resume --stop-at 3 and 6 refused at step 6 (exit 2, checkpoint untouched); --stop-at 9 stops at 9"
}

case "$CASE" in
lock | lock_commands | paths | names | resume_spec | resume_stop_at) "case_$CASE" ;;
all)
    for c in $CASES; do
        CASE=$c
        "case_$c"
    done
    ;;
*) echo "tests/rundir.sh: unknown case '$CASE' ($CASES all)" >&2; exit 1 ;;
esac
echo "PASS [$CASE]"
exit 0
