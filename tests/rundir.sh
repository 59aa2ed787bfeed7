#!/usr/bin/env bash
# Run directories under hostile use: one writer at a time (the flock on
# DIR/.lock), paths and names that do not fit or would escape, --resume
# against a changed spec or a --stop-at already passed; a run never
# overwritten without --force (train, reproduce), --extend-epochs, the
# summary after --stop-at, --dry-run writing nothing, PNG modes, the
# provenance attributes of every HDF5 file written.
#   tests/rundir.sh CASE   CASE: lock lock_commands paths names resume_spec resume_stop_at replace
#                          reproduce_replace extend stop_summary dry_run umask provenance all
# Env: DLX_BIN (the dlx binary; default build/dlx), DLX_SRC_DIR (source root).
# Exit 0 pass, 1 fail (with a message), 77 skip (no h5dump/h5diff, no flock).
# Training runs on a tiny fake MNIST written here (random pixels), so no case
# needs the real data; everything is written under a temporary directory.
set -uo pipefail

. "$(dirname "$0")/lib.sh" rundir

CASE=${1:-}
CASES="lock lock_commands paths names resume_spec resume_stop_at replace reproduce_replace extend stop_summary
       dry_run umask provenance spec_paths"
[ -n "$CASE" ] || { echo "usage: tests/rundir.sh CASE ($CASES all)" >&2; exit 1; }
need_h5tools

make_work
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

. "$SRC/tests/fake_mnist.sh"
. "$SRC/tests/h5same.sh"
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
    local at2
    at2=$(ckpt_step L/checkpoint.h5)
    expect_status 0 after_kill.out "$DLX" train tiny.yaml --out L --resume "${LONG[@]}" --stop-at $((at2 + 1)) --quiet
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
    # the same value written another way is the same spec; cadence and threads may change, and
    # --extend-epochs raises the epochs (train.epochs itself is refused: see case extend)
    train tiny.yaml --out R --resume --set train.optimizer.lr=5e-2 --extend-epochs 1 --set train.log_every=4 \
        --set train.eval_every=1 --set train.checkpoint_every=3 --set train.threads=2 --threads 1 ||
        fail "--resume with lr 5e-2 (= 0.05), --extend-epochs 1 and other cadence/thread settings was refused"
    [ "$(ckpt_step R/checkpoint.h5)" = 32 ] || fail "--extend-epochs 1 ended at step $(ckpt_step R/checkpoint.h5), not 32"
    note "9 changed keys and an added layer refused (exit 2, key and both values, checkpoint untouched); cadence/threads resume"
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

# ---------------------------------------------------------------- replace
# A run directory that holds a run is never overwritten without --force: the
# rerun is refused (exit 2) naming the directory, its checkpoint's step and
# epoch and the three ways on, and touches nothing; --force replaces it.
case_replace() {
    train tiny.yaml --out R || fail "the first run failed"
    cp R/checkpoint.h5 ckpt.before
    cp R/metrics.h5 metrics.before
    local ways="continue it with --resume, replace it with --force, or train into another directory with --out DIR"
    expect_status 2 r.out "$DLX" train tiny.yaml --out R --quiet
    expect_text r.out "R already holds a run (checkpoint.h5 at step 16, epoch 1 of 1, and metrics.h5); $ways" \
        "the same spec again into R"
    expect_status 2 r.out "$DLX" train tiny.yaml --out R --set seed=7 --quiet
    expect_text r.out "R already holds a run" "another seed into R"
    expect_status 2 r.out "$DLX" train tiny.yaml --out R --stop-at 5 --quiet
    expect_text r.out "R already holds a run" "--stop-at into R"
    cmp -s ckpt.before R/checkpoint.h5 && cmp -s metrics.before R/metrics.h5 || fail "a refused rerun changed R"
    grep -q '^seed: 3$' R/spec.yaml || fail "a refused rerun changed R/spec.yaml"
    expect_status 2 r.out "$DLX" train tiny.yaml --out R --resume --force --quiet
    expect_text r.out "--force replaces the run that --resume would continue" "--resume with --force"
    # the default run directory runs/<name> is guarded the same way
    train tiny.yaml || fail "a run into runs/rundir_tiny failed"
    expect_status 2 r.out "$DLX" train tiny.yaml --quiet
    expect_text r.out "runs/rundir_tiny already holds a run (checkpoint.h5 at step 16" "a rerun into runs/<name>"
    # --force replaces: the new seed's run, its metrics from step 0 only
    train tiny.yaml --out R --set seed=7 --force || fail "--force was refused"
    grep -q '^seed: 7$' R/spec.yaml || fail "--force did not write the new run's spec"
    [ "$(metric_steps R/metrics.h5 train_loss | tr '\n' ' ')" = "$(metric_steps metrics.before train_loss | tr '\n' ' ')" ] ||
        fail "after --force R/metrics.h5 has rows $(metric_steps R/metrics.h5 train_loss | tr '\n' ' ')"
    cmp -s ckpt.before R/checkpoint.h5 && fail "--force with another seed left the old checkpoint"
    # a directory with metrics.h5 alone (stopped before its first checkpoint) holds a run too
    mkdir -p M && cp metrics.before M/metrics.h5
    expect_status 2 r.out "$DLX" train tiny.yaml --out M --quiet
    expect_text r.out "M already holds a run (metrics.h5, no checkpoint); $ways" "a directory with metrics.h5 only"
    # an empty or foreign directory is no run: training goes ahead
    mkdir -p E && echo notes >E/notes.txt
    train tiny.yaml --out E || fail "a directory without a run was refused"
    note "reruns into R and runs/<name> refused (exit 2; step, epoch, --resume/--force/--out named; R untouched); --force replaces"
}

# ---------------------------------------------------------------- reproduce_replace
# dlx reproduce follows the same rule for its --out (results.h5, the rows'
# runs) with --force; --set changes the table spec.
case_reproduce_replace() {
    cat >table.yaml <<EOF
paper: "rundir test"
rows:
  - {name: r1, spec: $WORK/tiny.yaml, metrics: {test_accuracy: n/a}}
EOF
    expect_status 0 p.out "$DLX" reproduce table.yaml --out P --quiet
    [ -e P/results.h5 ] && [ -e P/r1/checkpoint.h5 ] || fail "reproduce wrote no results.h5 or row run: $(ls P)"
    cp P/results.h5 results.before
    expect_status 2 p.out "$DLX" reproduce table.yaml --out P --quiet
    expect_text p.out "P already holds results.h5 of an earlier dlx reproduce; replace it with --force, or write elsewhere with --out DIR" \
        "a second reproduce into P"
    cmp -s results.before P/results.h5 || fail "a refused reproduce changed P/results.h5"
    # a row's directory that holds a run, without results.h5, is refused as train's
    rm P/results.h5
    expect_status 2 p.out "$DLX" reproduce table.yaml --out P --quiet
    expect_text p.out "P/r1 already holds a run (checkpoint.h5 at step 16, epoch 1 of 1" "a row's run in P"
    # --set applies to the table spec: the row's settings run seed 5
    expect_status 0 p.out "$DLX" reproduce table.yaml --out P --force --quiet --set 'rows.0.set=[seed=5]'
    "$DLX" inspect P/r1/checkpoint.h5 --spec | grep -q '^seed: 5$' || fail "--set rows.0.set=[seed=5] did not reach the row"
    expect_status 0 p.out "$DLX" reproduce table.yaml --out P --figure-only --quiet
    # --resume after a stop before results.h5: the finished row continues from
    # its checkpoint (nothing left to train), its results are the same
    cp P/results.h5 results.before
    cp P/r1/checkpoint.h5 ckpt.before
    rm P/results.h5
    expect_status 0 p.out "$DLX" reproduce table.yaml --out P --resume --set 'rows.0.set=[seed=5]'
    expect_text p.out "resuming row 'r1' at step 16" "reproduce --resume continues the row's run"
    h5diff --exclude-attribute / ckpt.before P/r1/checkpoint.h5 >/dev/null || fail "--resume retrained a finished row"
    h5diff results.before P/results.h5 /rows/r1/test_accuracy /rows/r1/test_accuracy >/dev/null ||
        fail "--resume of a finished row changed its test_accuracy"
    expect_status 2 p.out "$DLX" reproduce table.yaml --out P2 --quiet --set rows.0.nme=x
    expect_text p.out "'nme' is not a key" "a misspelt key set on the table spec"
    [ ! -e P2/results.h5 ] || fail "a refused table spec wrote results"
    note "reproduce into P refused (results.h5, a row's run; exit 2, untouched); --force replaces; --set reaches the table spec; --resume continues each row"
}

# ---------------------------------------------------------------- extend
# --resume with another train.epochs is refused (it would change the
# schedule quietly); --extend-epochs N trains N more epochs, says how the
# lr changes, records the new epochs in spec.yaml; with a constant lr 2 + 1
# epochs are the bits of 3.
case_extend() {
    local cos=(--set 'train.schedule={type: cosine}')
    train tiny.yaml --out X "${cos[@]}" || fail "the cosine run failed"
    cp X/checkpoint.h5 ckpt.before
    expect_status 2 x.out "$DLX" train tiny.yaml --out X "${cos[@]}" --resume --set train.epochs=2 --quiet
    expect_text x.out "--resume: train.epochs is 2 here but 1 in X/checkpoint.h5 (it sets the schedule's length: train more epochs with --extend-epochs N" \
        "--resume with train.epochs=2"
    cmp -s ckpt.before X/checkpoint.h5 || fail "a refused --resume changed X/checkpoint.h5"
    expect_status 0 x.out "$DLX" train tiny.yaml --out X "${cos[@]}" --extend-epochs 1
    expect_text x.out "train.epochs 1 -> 2: the cosine schedule now spans 2 epochs; lr at the resume step 16 changes from 0 to 0.025" \
        "the schedule line of --extend-epochs 1"
    [ "$(ckpt_step X/checkpoint.h5)" = 32 ] || fail "--extend-epochs 1 ended at step $(ckpt_step X/checkpoint.h5), not 32"
    local steps
    steps=$(metric_steps X/metrics.h5 train_loss | tr '\n' ' ')
    [ "$steps" = "$(seq -s ' ' 2 2 32) " ] || fail "the metrics do not continue once each to step 32: $steps"
    grep -q '^  epochs: 2$' X/spec.yaml || fail "X/spec.yaml does not record epochs 2: $(grep epochs X/spec.yaml)"
    # a later --resume from the run's own spec is accepted; the original spec (1 epoch) is not
    expect_status 0 x.out "$DLX" train X/spec.yaml --out X --resume
    expect_text x.out "already trained: step 32 of 32" "--resume from X/spec.yaml"
    expect_status 2 x.out "$DLX" train tiny.yaml --out X "${cos[@]}" --resume --quiet
    expect_text x.out "train.epochs is 1 here but 2 in X/checkpoint.h5" "--resume with the spec before the extension"
    expect_status 2 x.out "$DLX" train tiny.yaml --out nothing_here --extend-epochs 1 --quiet
    expect_text x.out "--extend-epochs: nothing_here has no checkpoint.h5 to continue" "--extend-epochs without a run"
    expect_status 2 x.out "$DLX" train tiny.yaml --out X --extend-epochs 0 --quiet
    expect_text x.out "--extend-epochs: expected a number of epochs from 1 to 100000, got '0'" "--extend-epochs 0"
    expect_status 2 x.out "$DLX" train tiny.yaml --out X "${cos[@]}" --extend-epochs 1 --set seed=4 --quiet
    expect_text x.out "--resume: seed is 4 here but 3 in X/checkpoint.h5" "--extend-epochs with another seed"
    # constant lr: 2 epochs extended by 1 == a straight 3-epoch run, bit for bit
    train tiny.yaml --out C3 --set train.epochs=3 || fail "the 3-epoch run failed"
    train tiny.yaml --out C21 --set train.epochs=2 || fail "the 2-epoch run failed"
    expect_status 0 x.out "$DLX" train tiny.yaml --out C21 --extend-epochs 1
    expect_text x.out "train.epochs 2 -> 3: the constant schedule does not depend on train.epochs; lr at the resume step 32 stays 0.05" \
        "the constant schedule's line"
    h5diff -q C3/checkpoint.h5 C21/checkpoint.h5 /params >/dev/null && h5diff -q C3/checkpoint.h5 C21/checkpoint.h5 /optim >/dev/null ||
        fail "2 + 1 epochs differ from 3 epochs in /params or /optim"
    h5same C3/metrics.h5 C21/metrics.h5 || fail "2 + 1 epochs' metrics.h5 differ from 3 epochs'"
    note "--resume with epochs 2 refused; --extend-epochs 1: the lr line, step 32, metrics 2..32, spec.yaml epochs 2; 2+1 == 3 bit for bit"
}

# ---------------------------------------------------------------- stop_summary
# After --stop-at K the summary reports step K (not the last epoch end) and
# the checkpoint is at step K.
case_stop_summary() {
    expect_status 0 s.out "$DLX" train tiny.yaml --out T --set train.epochs=2 --stop-at 21 --json --quiet
    grep -q '"step":21[,}]' s.out || fail "the --json summary after --stop-at 21 is not at step 21: $(tail -1 s.out)"
    [ "$(ckpt_step T/checkpoint.h5)" = 21 ] || fail "the checkpoint after --stop-at 21 is at step $(ckpt_step T/checkpoint.h5)"
    expect_status 0 s.out "$DLX" train tiny.yaml --out T2 --set train.epochs=2 --stop-at 21
    grep -q '^step  *21$' s.out || fail "the text summary after --stop-at 21 lacks 'step 21': $(grep '^step' s.out)"
    note "--stop-at 21 (epoch ends at 16, 32): summary step 21 in --json and text, checkpoint at step 21"
}

# ---------------------------------------------------------------- dry_run
# --dry-run checks the spec, builds the model, prints the layer table, the
# parameter count, the memory plan and the time per step, writes nothing.
case_dry_run() {
    mkdir -p dry && cd dry || fail "cannot cd"
    expect_status 0 ../d.out "$DLX" train ../tiny.yaml --dry-run
    cd .. || fail "cannot cd back"
    local t
    for t in "layer        type       output" "linear1      linear     [8, 16]                 12560" \
        "parameters: 12730 in 4 tensors" "memory planned: " "activations 0.1 MiB (2 graphs)" \
        "time per training step: " "(mean of 5 steps after 1 warm-up; batch 16, 16 steps an epoch, 16 in all)" \
        "dry run: nothing was written (runs/rundir_tiny untouched)"; do
        expect_text d.out "$t" "--dry-run's output"
    done
    [ -z "$(ls -A dry)" ] || fail "--dry-run wrote into the working directory: $(ls -A dry)"
    expect_status 0 d.out "$DLX" train tiny.yaml --dry-run --out D
    [ ! -e D ] || fail "--dry-run --out D created D: $(ls -A D)"
    # a run directory that holds a run is not touched either
    train tiny.yaml --out H || fail "a run for the dry run to leave alone failed"
    cp H/checkpoint.h5 ckpt.before
    expect_status 0 d.out "$DLX" train tiny.yaml --dry-run --out H --set seed=9
    cmp -s ckpt.before H/checkpoint.h5 && grep -q '^seed: 3$' H/spec.yaml || fail "--dry-run changed H"
    # bad specs still fail with exit 2, and write nothing
    expect_status 2 d.out "$DLX" train tiny.yaml --dry-run --out D --set model.layers.1.unit=3
    expect_text d.out "'unit' is not a key of linear" "--dry-run with a misspelt key"
    expect_status 2 d.out "$DLX" train tiny.yaml --dry-run --out D --set train.batch=512
    expect_text d.out "train.batch: 512 is larger than the training set: 256 samples" "--dry-run with a batch too large"
    [ ! -e D ] || fail "a refused --dry-run created D"
    expect_status 2 d.out "$DLX" train tiny.yaml --dry-run --resume
    expect_text d.out "--dry-run writes nothing and takes no --resume" "--dry-run --resume"
    # a GAN: both networks' tables, its memory (4 Adam slots) and step time
    expect_status 0 d.out "$DLX" train "$SRC/tests/data/gan/ring.yaml" --dry-run --out G
    for t in "network gen:" "network disc:" "optimizer state 0.5 MiB (4 slots)" "time per training step: "; do
        expect_text d.out "$t" "--dry-run of a GAN"
    done
    [ ! -e G ] || fail "--dry-run of a GAN created G"
    # a family that prepares its run before the first step has no dry run, and writes nothing
    expect_status 2 d.out "$DLX" train "$SRC/configs/landscape/spin3.yaml" --dry-run --out L3
    expect_text d.out "--dry-run: model.kind landscape prepares its run" "--dry-run of a landscape toy"
    [ ! -e L3 ] || fail "a refused --dry-run created L3"
    note "--dry-run: layers, 12730 parameters, memory plan, ms per step (5 after 1 warm-up); nothing written; bad specs exit 2"
}

# ---------------------------------------------------------------- umask
# The PNGs a run writes follow the umask like its other files.
case_umask() {
    (umask 022 && "$DLX" train tiny.yaml --out U --quiet >/dev/null 2>&1) || fail "the run under umask 022 failed"
    local f
    for f in U/misclassified.png U/checkpoint.h5 U/metrics.h5 U/spec.yaml; do
        [ -e "$f" ] || fail "$f was not written"
        [ "$(stat -c %a "$f")" = 644 ] || fail "under umask 022 $f is mode $(stat -c %a "$f"), not 644"
    done
    (umask 027 && "$DLX" train tiny.yaml --out U7 --quiet >/dev/null 2>&1) || fail "the run under umask 027 failed"
    [ "$(stat -c %a U7/misclassified.png)" = 640 ] || fail "under umask 027 a PNG is mode $(stat -c %a U7/misclassified.png)"
    note "under umask 022 the PNGs are 0644 like checkpoint.h5, metrics.h5 and spec.yaml; under 027, 0640"
}

# h5attr FILE NAME: a text attribute of the root group, as h5dump shows it
h5attr() { h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): "\(.*\)"$/\1/p'; }

# Every HDF5 file dlx writes says which dlx wrote it, when, where and how.
case_provenance() {
    "$DLX" train tiny.yaml --out 'P run' --set train.epochs=1 --quiet >/dev/null 2>&1 || fail "the training failed"
    "$DLX" eval 'P run/checkpoint.h5' --predictions pred.h5 >/dev/null 2>&1 || fail "dlx eval --predictions failed"
    printf 'paper: provenance\nrows:\n  - {name: r, spec: tiny.yaml, set: [train.epochs=1], metrics: {test_error: n/a}}\n' >t.yaml
    "$DLX" reproduce t.yaml --out R --quiet >/dev/null 2>&1 || fail "the reproduce failed"
    printf 'version: 1\nname: pv\nsweep:\n  base: tiny.yaml\n  axes:\n    - {name: seed, key: seed, values: [1, 2]}\n  measures: [test_loss]\n' >s.yaml
    "$DLX" landscape s.yaml --out s.h5 --quiet --no-figures >/dev/null 2>&1 || fail "the sweep failed"
    local want_commit="unknown" f now t
    # (-dirty: the tree had uncommitted changes when dlx was built; it may be
    # clean or dirty now, so only the commit is compared)
    git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 && want_commit=$(git -C "$SRC" describe --always --abbrev=12)
    now=$(date -u +%s)
    for f in 'P run/checkpoint.h5' 'P run/metrics.h5' pred.h5 R/results.h5 s.h5; do
        [ "$(h5attr "$f" dlx_version)" = "$("$DLX" --version | awk '{print $2}')" ] ||
            fail "$f: dlx_version '$(h5attr "$f" dlx_version)'"
        [ "$(h5attr "$f" dlx_commit | sed 's/-dirty$//')" = "$want_commit" ] ||
            fail "$f: dlx_commit '$(h5attr "$f" dlx_commit)', the source tree is at '$want_commit'"
        [ "$(h5attr "$f" host)" = "$(hostname)" ] || fail "$f: host '$(h5attr "$f" host)', not '$(hostname)'"
        t=$(date -u -d "$(h5attr "$f" created)" +%s 2>/dev/null) || fail "$f: created '$(h5attr "$f" created)' is no date"
        [ $((now - t)) -ge 0 ] && [ $((now - t)) -lt 600 ] || fail "$f: created $(h5attr "$f" created), now $(date -u)"
    done
    case "$(h5attr 'P run/checkpoint.h5' command)" in
    *"dlx train tiny.yaml --out 'P run' --set train.epochs=1 --quiet") ;;
    *) fail "the checkpoint's command: '$(h5attr 'P run/checkpoint.h5' command)'" ;;
    esac
    case "$(h5attr pred.h5 command)" in
    *"dlx eval 'P run/checkpoint.h5' --predictions pred.h5") ;;
    *) fail "the predictions' command: '$(h5attr pred.h5 command)'" ;;
    esac
    note "checkpoint, metrics, predictions, results and sweep table: version, commit $want_commit, date, host, command"
}

# The one path rule: a spec file named by another spec file is relative to the
# naming file; one named on the command line (--set) to the working directory.
case_spec_paths() {
    mkdir -p tables/sub elsewhere
    cp tiny.yaml tables/sub/model.yaml
    printf 'paper: paths\nrows:\n  - {name: r, spec: sub/model.yaml, set: [train.epochs=1], metrics: {test_error: n/a}}\n' \
        >tables/t.yaml
    printf 'version: 1\nname: sp\nsweep:\n  base: sub/model.yaml\n  axes:\n    - {name: seed, key: seed, values: [1]}\n  measures: [test_loss]\n' \
        >tables/s.yaml
    # from another directory: the row's spec and the sweep's base are found beside the table
    (cd elsewhere && "$DLX" reproduce ../tables/t.yaml --out R --quiet >r.out 2>&1) ||
        fail "a row's spec relative to its table: $(cat elsewhere/r.out)"
    [ "$(h5dump -a /rows/r/spec elsewhere/R/results.h5 2>/dev/null | sed -n 's/^ *(0): "\(.*\)"$/\1/p')" = \
        ../tables/sub/model.yaml ] || fail "results.h5 does not record the resolved row spec ../tables/sub/model.yaml"
    (cd elsewhere && "$DLX" landscape ../tables/s.yaml --out s.h5 --quiet --no-figures >s.out 2>&1) ||
        fail "a sweep's base relative to the sweep: $(cat elsewhere/s.out)"
    # the working directory is not searched: model.yaml sits beside the table's directory only
    cp tiny.yaml elsewhere/model.yaml
    printf 'paper: paths\nrows:\n  - {name: r, spec: model.yaml, metrics: {test_error: n/a}}\n' >tables/u.yaml
    (cd elsewhere && "$DLX" reproduce ../tables/u.yaml --out U --quiet >u.out 2>&1)
    local rc=$?
    [ $rc -ne 0 ] && grep -q "tables/model.yaml" elsewhere/u.out ||
        fail "a row spec missing beside its table: exit $rc, $(cat elsewhere/u.out)"
    # --set names a path on the command line: relative to the working directory
    (cd elsewhere && "$DLX" reproduce ../tables/u.yaml --set rows.0.spec=model.yaml --set 'rows.0.set=[train.epochs=1]' \
        --out V --quiet >v.out 2>&1) || fail "--set rows.0.spec relative to the working directory: $(cat elsewhere/v.out)"
    note "row specs and sweep bases resolve beside the file naming them, --set values in the working directory"
}

case "$CASE" in
lock | lock_commands | paths | names | resume_spec | resume_stop_at | replace | reproduce_replace | extend | \
    stop_summary | dry_run | umask | provenance | spec_paths) "case_$CASE" ;;
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
