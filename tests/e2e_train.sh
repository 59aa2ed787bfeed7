#!/bin/bash
# End-to-end tests of dlx that train on the real MNIST: tests/e2e_train.sh CASE
#
# CASE is one of: train_eval architectures determinism gradcheck losses:
# lenet5 trained and evaluated (accuracy, checkpoint and metrics files read
# by h5dump and h5py, the run's spec.yaml, its pictures, --resume of a
# finished run, the default run directory); the other configs; bit-for-bit
# determinism (two runs, SIGTERM and --resume, --stop-at and --resume, BLAS
# and dlx thread counts); the losses and their weighted sums; gradcheck of
# every config. Meson runs them in suite 'slow' too.
# Exit status: 0 pass, 1 fail (each failed check says command, expected and
# actual), 77 skip (real MNIST missing: run datasets/fetch mnist).
#
# The fast cases on a fake MNIST are in tests/e2e.sh; the harness both share
# (the dlx binary, data and work directory, check and the other helpers, the
# fake dataset) is tests/e2e_lib.sh.

set -u

. "$(dirname "$0")/e2e_lib.sh" "$@" || exit 1

# strip_timing FILE: the JSON line without its wall-clock fields (train_seconds, images_per_second, ...).
strip_timing() { sed -E 's/,?"[a-z_]*(seconds|per_second)":[^,}]*//g' "$1"; }

# float_gt A B: A > B
float_gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

need_mnist() {
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        if [ ! -f "$DATA/mnist/$f" ] && [ ! -f "$DATA/mnist/$f.gz" ]; then
            echo "SKIP: real MNIST missing ($DATA/mnist/$f); run datasets/fetch mnist"
            exit 77
        fi
    done
}

have_fashion() {
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [ -f "$DATA/fashion-mnist/$f" ] || [ -f "$DATA/fashion-mnist/$f.gz" ] || return 1
    done
}

# dump_tensors CKPT DIR: every dataset under /params and /optim, raw little-endian, one file each.
dump_tensors() {
    local ck=$1 dir=$2 ds
    mkdir -p "$dir"
    h5ls -r "$ck" | awk '$2 == "Dataset" && ($1 ~ /^\/params\// || $1 ~ /^\/optim\//) { print $1 }' >"$dir.list"
    [ -s "$dir.list" ] || return 1
    while read -r ds; do
        h5dump -d "$ds" -b LE -o "$dir/$(echo "$ds" | tr / _)" "$ck" >/dev/null 2>&1 || return 1
    done <"$dir.list"
}

# same_tensors DESC CKPT_A CKPT_B [report-only]: all /params and /optim bit for bit.
same_tensors() {
    local desc=$1 a=$2 b=$3 soft=${4:-} da db diff
    da=$(mktemp -d "$T/dumpA.XXXX")
    db=$(mktemp -d "$T/dumpB.XXXX")
    if ! dump_tensors "$a" "$da/t" || ! dump_tensors "$b" "$db/t"; then
        LAST_CMD="h5ls -r / h5dump -b LE of $a and $b"
        fail "$desc" "could not dump the tensors of $a and $b"
        return 1
    fi
    if ! cmp -s "$da/t.list" "$db/t.list"; then
        LAST_CMD="h5ls -r $a; h5ls -r $b"
        fail "$desc" "the two checkpoints hold different tensors:" "$(diff "$da/t.list" "$db/t.list" | head)"
        return 1
    fi
    diff=$(cd "$da/t" && for f in *; do cmp -s "$f" "$db/t/$f" || echo "$f"; done)
    if [ -n "$diff" ]; then
        if [ -n "$soft" ]; then
            note "$desc: tensors differ (reported, not a failure): $(echo "$diff" | tr '\n' ' ')"
            return 2
        fi
        LAST_CMD="cmp of h5dump -b LE output for $a vs $b"
        fail "$desc" "expected identical tensors; these differ: $(echo "$diff" | tr '\n' ' ')"
        return 1
    fi
    return 0
}

# --------------------------------------------------------------------- cases

# train_json DESC OUTDIR SPEC [args]: train quietly with --json; prints nothing, sets JSON file.
TRAIN_LENET=(--set train.epochs=1 --set data.train_limit=2000 --set data.test_limit=1000
    --set train.batch=16 --set train.optimizer.lr=0.01)

case_train_eval() {
    need_mnist
    local run=$T/lenet acc acc2 t0 t1
    check "train lenet5 1 epoch (2000/1000) --json" 0 '"test_accuracy":' \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${TRAIN_LENET[@]}" --out "$run" --json --quiet
    cp "$OUT" train.json
    acc=$(json_field test_accuracy train.json)
    float_gt "$acc" 0.8 || fail "lenet5 test_accuracy > 0.8" "got test_accuracy '$acc' from: $(cat train.json)"
    [ "$(json_field step train.json)" = 125 ] || fail "lenet5: 2000/16 = 125 steps" "got: $(cat train.json)"

    check "eval of the checkpoint --json" 0 '"accuracy":' "$DLX" eval "$run/checkpoint.h5" --json
    acc2=$(json_field accuracy "$OUT")
    [ "$acc2" = "$acc" ] || fail "eval prints the training's final test accuracy exactly" \
        "train: test_accuracy '$acc'; eval: accuracy '$acc2'"
    [ "$(json_field samples "$OUT")" = 1000 ] || fail "eval uses the spec's test_limit (1000 samples)" "got: $(cat "$OUT")"
    check "eval plain output" 0 "accuracy" "$DLX" eval "$run/checkpoint.h5"
    if have_fashion; then
        check "eval --data fashion-mnist:test" 0 "samples          10000" \
            "$DLX" eval "$run/checkpoint.h5" --data fashion-mnist:test
    else
        note "Fashion-MNIST missing: eval --data fashion-mnist:test not run"
    fi
    check "eval --data with an unknown dataset exits 2" 2 "--data: unknown dataset 'cifar'" \
        "$DLX" eval "$run/checkpoint.h5" --data cifar:test
    check "eval --data with an unknown split exits 2" 2 "--data: unknown split 'val'" \
        "$DLX" eval "$run/checkpoint.h5" --data mnist:val

    local p
    for p in /spec /step /epoch /rng /params/conv1.weight /params/linear3.bias /optim/optimizer/conv1.weight/momentum; do
        h5_has "$run/checkpoint.h5" "$p" || { LAST_CMD="h5dump -H -d $p $run/checkpoint.h5";
            fail "checkpoint.h5 holds $p" "not found"; }
    done
    for p in /metrics/train_loss /metrics/test_accuracy /metrics/test_loss /metrics/lr; do
        check "metrics.h5 $p readable by h5dump" 0 "DATA {" h5dump -d "$p" "$run/metrics.h5"
    done
    local steps
    steps=$(metric_steps "$run/metrics.h5" /metrics/train_loss | tr '\n' ' ')
    LAST_CMD="h5dump -d /metrics/train_loss $run/metrics.h5"
    echo "$steps" | awk '{ for (i = 2; i <= NF; i++) if ($i + 0 <= $(i - 1) + 0) exit 1 }' ||
        fail "metrics /metrics/train_loss steps strictly increase (no duplicated points)" "steps: $steps"
    [ "$(metric_steps "$run/metrics.h5" /metrics/test_accuracy | tr '\n' ' ')" = "125 " ] ||
        fail "metrics /metrics/test_accuracy has one point at step 125" \
        "steps: $(metric_steps "$run/metrics.h5" /metrics/test_accuracy | tr '\n' ' ')"

    if [ "$HAVE_H5PY" = 1 ]; then
        LAST_CMD="/usr/bin/python3 (h5py) reading $run/checkpoint.h5 and metrics.h5"
        /usr/bin/python3 - "$run" "$acc" >py.out 2>&1 <<'EOF'
import sys, h5py
run, acc = sys.argv[1], float(sys.argv[2])
with h5py.File(run + '/checkpoint.h5', 'r') as f:
    assert f.attrs['format'] in (b'dlx-checkpoint', 'dlx-checkpoint'), f.attrs['format']
    assert f['/params/conv1.weight'].shape == (6, 1, 5, 5), f['/params/conv1.weight'].shape
    assert f['/optim/optimizer/conv1.weight/momentum'].shape == (6, 1, 5, 5)
    assert int(f['/step'][()]) == 125, f['/step'][()]
    spec = f['/spec'][()]
    spec = spec.decode() if isinstance(spec, bytes) else spec
    assert 'kind: classifier' in spec, spec[:200]
with h5py.File(run + '/metrics.h5', 'r') as f:
    tl = f['/metrics/train_loss'][()]
    ta = f['/metrics/test_accuracy'][()]
    assert tl.ndim == 2 and tl.shape[1] == 4, tl.shape
    cols = f['/metrics/train_loss'].attrs['columns']
    assert (cols.decode() if isinstance(cols, bytes) else cols) == 'step, value, epoch, wall_s', cols
    assert ta[-1][0] == 125 and abs(ta[-1][1] - acc) < 1e-9, (ta, acc)
    assert ta[-1][2] == 1.0 and ta[-1][3] > 0, ta  # one epoch of 125 steps; seconds of training
    assert all(tl[1:, 3] >= tl[:-1, 3]), tl[:, 3]  # the wall clock never goes back
print('h5py ok')
EOF
        grep -q "h5py ok" py.out || fail "h5py reads checkpoint.h5 and metrics.h5" "$(cat py.out)"
    else
        note "h5py not importable by /usr/bin/python3: h5py reads skipped"
    fi

    [ -f "$run/spec.yaml" ] || fail "run dir has spec.yaml" "missing $run/spec.yaml"
    check "re-training from the run's spec.yaml works" 0 '"test_accuracy":' \
        "$DLX" train "$run/spec.yaml" --out "$T/lenet_again" --json --quiet
    [ "$(json_field test_accuracy "$OUT")" = "$acc" ] || fail "spec.yaml reproduces the run's accuracy" \
        "first: $acc; from spec.yaml: $(json_field test_accuracy "$OUT")"
    same_tensors "spec.yaml reproduces the run's parameters bit for bit" "$run/checkpoint.h5" "$T/lenet_again/checkpoint.h5"

    png_ok "$run/filters.png" || fail "filters.png exists and is a PNG" "$(ls -l "$run" 2>&1)"
    png_ok "$run/misclassified.png" || fail "misclassified.png exists and is a PNG" "$(ls -l "$run" 2>&1)"

    t0=$(date +%s.%N)
    check "--resume of a finished run exits 0" 0 "already trained: step 125 of 125" \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${TRAIN_LENET[@]}" --out "$run" --resume --json
    t1=$(date +%s.%N)
    expect_in err "resuming from $run/checkpoint.h5 at step 125" "--resume says where it resumes"
    [ "$(json_field test_accuracy "$OUT")" = "$acc" ] || fail "--resume of a finished run reports the same accuracy" \
        "first: $acc; resumed: $(json_field test_accuracy "$OUT")"
    local dt
    dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    float_gt 10 "$dt" || fail "--resume of a finished run is quick (< 10 s)" "took $dt s"
    note "--resume of a finished run took $dt s"
    check "step unchanged after --resume" 0 "step: 125" "$DLX" inspect "$run/checkpoint.h5"

    # default run dir: runs/<spec name> under the working directory
    check "train without --out writes runs/lenet5" 0 "" \
        "$DLX" train "$CONFIGS/lenet5.yaml" --set train.epochs=1 --set data.train_limit=256 --set data.test_limit=64 --quiet
    [ -f "$T/runs/lenet5/checkpoint.h5" ] || fail "default run dir runs/lenet5/checkpoint.h5" "$(ls -R "$T/runs" 2>&1 | head)"
    return 0
}

case_architectures() {
    need_mnist
    local c acc
    for c in mlp residual tied tied_transpose; do
        check "$c trains 1 short epoch" 0 '"test_accuracy":' "$DLX" train "$CONFIGS/$c.yaml" --set train.epochs=1 \
            --set data.train_limit=2000 --set data.test_limit=1000 --set train.batch=16 --out "$T/$c" --json --quiet
        acc=$(json_field test_accuracy "$OUT")
        float_gt "$acc" 0.2 || fail "$c: test accuracy above chance (> 0.2)" "got: $(cat "$OUT")"
        note "$c: $(cat "$OUT")"
    done
    h5_has "$T/tied/checkpoint.h5" /params/block.weight || fail "tied: the shared weight is stored once as block.weight"
    h5_has "$T/tied/checkpoint.h5" /params/block_again.weight &&
        fail "tied: block_again shares block's weight, so no block_again.weight may be stored"
    h5_has "$T/tied_transpose/checkpoint.h5" /params/enc.weight && h5_has "$T/tied_transpose/checkpoint.h5" /params/dec.bias ||
        fail "tied_transpose: enc's weight and dec's own bias are stored"
    h5_has "$T/tied_transpose/checkpoint.h5" /params/dec.weight &&
        fail "tied_transpose: dec uses enc's weight transposed, so no dec.weight may be stored"
    if have_fashion; then
        check "lenet5 trains on fashion-mnist" 0 '"test_accuracy":' "$DLX" train "$CONFIGS/lenet5.yaml" \
            "${TRAIN_LENET[@]}" --set data.dataset=fashion-mnist --out "$T/fashion" --json --quiet
        acc=$(json_field test_accuracy "$OUT")
        float_gt "$acc" 0.2 || fail "lenet5 on fashion-mnist: above chance (> 0.2)" "got: $(cat "$OUT")"
        note "lenet5 fashion-mnist: $(cat "$OUT")"
    else
        note "Fashion-MNIST missing: lenet5 on fashion-mnist not run"
    fi
    return 0
}

case_determinism() {
    need_mnist
    # residual has dropout, so masks must be a function of (seed, step) too
    local spec=$CONFIGS/residual.yaml
    local args=(--set train.epochs=2 --set data.train_limit=1200 --set data.test_limit=200 --set train.batch=16
        --set train.optimizer.lr=0.01)
    check "run A" 0 '"test_accuracy":' "$DLX" train "$spec" "${args[@]}" --out "$T/A" --json --quiet
    strip_timing "$OUT" >A.json
    check "run B (same spec)" 0 '"test_accuracy":' "$DLX" train "$spec" "${args[@]}" --out "$T/B" --json --quiet
    strip_timing "$OUT" >B.json
    cmp -s A.json B.json || fail "two identical runs print identical results" "A: $(cat A.json)" "B: $(cat B.json)"
    same_tensors "two identical runs: /params and /optim bit for bit" "$T/A/checkpoint.h5" "$T/B/checkpoint.h5"

    # interrupted (SIGTERM) and resumed == uninterrupted
    LAST_CMD="$DLX train $spec ${args[*]} --out $T/C   (then SIGTERM)"
    "$DLX" train "$spec" "${args[@]}" --out "$T/C" >C.out 2>C.err &
    local pid=$! i rc
    for ((i = 0; i < 300; i++)); do
        grep -q "parameters," C.err 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.5
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    if [ "$rc" = 0 ]; then
        note "run C finished before SIGTERM arrived; the resume comparison below is trivial"
    elif [ "$rc" != 1 ] || ! grep -qF "interrupted at step" C.err; then
        fail "SIGTERM stops training with exit 1 and 'interrupted at step'" "got exit $rc" "stderr: $(tail -n 5 C.err)"
    else
        grep -qF -- "--resume" C.err || fail "the interrupt message says to continue with --resume" "$(tail -n 3 C.err)"
        note "$(grep -o 'interrupted at step [0-9]* of [0-9]*' C.err)"
        check "--resume after SIGTERM" 0 "resuming from $T/C/checkpoint.h5" \
            "$DLX" train "$spec" "${args[@]}" --out "$T/C" --resume --json
        strip_timing "$OUT" >C.json
    fi
    same_tensors "interrupted + resumed run equals the uninterrupted one bit for bit" \
        "$T/A/checkpoint.h5" "$T/C/checkpoint.h5"

    # BLAS thread count: reported, not a failure
    local largs=(--set train.epochs=1 --set data.train_limit=1000 --set data.test_limit=200 --set train.batch=16)
    OPENBLAS_NUM_THREADS=1 check "lenet5 with OPENBLAS_NUM_THREADS=1" 0 "" \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${largs[@]}" --out "$T/t1" --json --quiet
    OPENBLAS_NUM_THREADS=2 check "lenet5 with OPENBLAS_NUM_THREADS=2" 0 "" \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${largs[@]}" --out "$T/t2" --json --quiet
    OPENBLAS_NUM_THREADS=2 check "lenet5 with OPENBLAS_NUM_THREADS=2, again" 0 "" \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${largs[@]}" --out "$T/t2b" --json --quiet
    same_tensors "two runs with OPENBLAS_NUM_THREADS=2 are identical" "$T/t2/checkpoint.h5" "$T/t2b/checkpoint.h5"
    same_tensors "OPENBLAS_NUM_THREADS=1 vs 2" "$T/t1/checkpoint.h5" "$T/t2/checkpoint.h5" report-only
    [ $? = 0 ] && note "OPENBLAS_NUM_THREADS=1 vs 2: identical parameters"
    # --stop-at then --resume == uninterrupted (same thread count as t1)
    OPENBLAS_NUM_THREADS=1 check "--stop-at 20 stops with a checkpoint" 0 "stopped at step 20 of 62" \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${largs[@]}" --out "$T/s1" --stop-at 20
    check "the --stop-at checkpoint is at step 20" 0 "step: 20" "$DLX" inspect "$T/s1/checkpoint.h5"
    OPENBLAS_NUM_THREADS=1 check "--resume after --stop-at" 0 "resuming from $T/s1/checkpoint.h5 at step 20" \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${largs[@]}" --out "$T/s1" --resume --json
    same_tensors "--stop-at + --resume equals the uninterrupted run bit for bit" "$T/t1/checkpoint.h5" "$T/s1/checkpoint.h5"

    check "lenet5 with --threads 2" 0 "" \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${largs[@]}" --threads 2 --out "$T/t3" --json --quiet
    same_tensors "OPENBLAS_NUM_THREADS=1 vs --threads 2" "$T/t1/checkpoint.h5" "$T/t3/checkpoint.h5" report-only
    [ $? = 0 ] && note "--threads 2 vs 1 thread: identical parameters"
    return 0
}

# finite_loss DESC: the last command's JSON has a finite test_loss
finite_loss() {
    local v
    v=$(json_field test_loss "$OUT")
    awk -v v="$v" 'BEGIN { exit !(v ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) }' ||
        fail "$1: finite test_loss" "got: $(cat "$OUT")"
}

case_losses() {
    need_mnist
    local args=(--set data.train_limit=2000 --set data.test_limit=500 --json --quiet) l
    for l in mse l1 bce_logits; do
        check "model.loss: $l trains (ok.yaml, 2000/500)" 0 '"test_loss":' \
            "$DLX" train "$FIX/ok.yaml" "${args[@]}" --set "model.loss=$l" --out "$T/loss_$l"
        finite_loss "model.loss: $l"
        note "$l: $(strip_timing "$OUT")"
    done
    check "a weighted sum of losses trains (loss_weighted.yaml)" 0 '"test_loss":' \
        "$DLX" train "$FIX/loss_weighted.yaml" "${args[@]}" --out "$T/loss_sum"
    finite_loss "weighted sum of softmax_xent and l1"
    note "softmax_xent + 0.1 l1: $(strip_timing "$OUT")"
    local tl
    tl=$(json_field test_loss "$OUT")
    check "eval of the weighted-sum checkpoint" 0 '"loss":' "$DLX" eval "$T/loss_sum/checkpoint.h5" --json
    [ "$(json_field loss "$OUT")" = "$tl" ] || fail "eval reports the configured loss, as training's test_loss" \
        "train: test_loss '$tl'; eval: $(cat "$OUT")"
    # softmax_xent as a one-term weighted sum is the default loss bit for bit
    check "default loss" 0 '"test_loss":' "$DLX" train "$FIX/ok.yaml" "${args[@]}" --out "$T/loss_default"
    strip_timing "$OUT" >default.json
    check "softmax_xent as a list of one term" 0 '"test_loss":' "$DLX" train "$FIX/ok.yaml" "${args[@]}" \
        --set "model.loss=[{type: softmax_xent, weight: 1}]" --out "$T/loss_one"
    strip_timing "$OUT" >one.json
    cmp -s default.json one.json || fail "[{type: softmax_xent, weight: 1}] gives the default's results" \
        "default: $(cat default.json)" "list of one: $(cat one.json)"
    if have h5dump; then
        same_tensors "[{type: softmax_xent, weight: 1}] gives the default's parameters" \
            "$T/loss_default/checkpoint.h5" "$T/loss_one/checkpoint.h5"
    fi
    check "gradcheck with every loss term" 0 "gradcheck $FIX/ok.yaml:" "$DLX" gradcheck "$FIX/ok.yaml" \
        --set "model.loss=[{type: softmax_xent}, {type: l1, weight: 0.1}, {type: mse, weight: 0.5}, {type: bce_logits}]"
    [ "$(tail -n 1 "$OUT")" = ok ] || fail "gradcheck with every loss term prints ok" "last line: $(tail -n 1 "$OUT")"
    return 0
}

case_gradcheck() {
    need_mnist
    local c
    for c in lenet5 mlp residual tied tied_transpose; do
        check "gradcheck configs/$c.yaml exits 0" 0 "gradcheck $CONFIGS/$c.yaml:" "$DLX" gradcheck "$CONFIGS/$c.yaml"
        [ "$(tail -n 1 "$OUT")" = ok ] || fail "gradcheck configs/$c.yaml prints ok" "last line: $(tail -n 1 "$OUT")"
    done
    make_fake "$FAKE" 32
    check "gradcheck of a spec with a bad key exits 2" 2 "'kernal' is not a key of conv; did you mean 'kernel'?" \
        "$DLX" gradcheck "$FIX/key_typo.yaml" --set "data.dir=$FAKE"
    check "gradcheck --set without '=' exits 2" 2 "expected key=value" \
        "$DLX" gradcheck "$CONFIGS/tied.yaml" --set train.epochs
    return 0
}

# ---------------------------------------------------------------------- main

e2e_main train_eval architectures determinism gradcheck losses
