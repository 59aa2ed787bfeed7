#!/bin/bash
# End-to-end tests of the dlx command line on a tiny fake MNIST written here:
# tests/e2e.sh CASE
#
# CASE is one of: usage spec_errors data_errors h5_errors inspect
# sparse_coding batchnorm: the commands' usage and option errors; a bad spec,
# bad data files and bad HDF5 files, each with its exit status and message;
# dlx inspect and dlx plot; sparse_coding's trained encoders (--stop-at and
# --resume, the NaN guard, a reproduce curve); batchnorm's running statistics
# in the checkpoint and through eval, threads and --resume.
# Exit status: 0 pass, 1 fail (each failed check says command, expected and
# actual), 77 skip (hdf5-tools missing, for sparse_coding and batchnorm).
#
# The cases that train on the real MNIST are in tests/e2e_train.sh; the
# harness both share (the dlx binary, data and work directory, check and the
# other helpers, the fake dataset) is tests/e2e_lib.sh.

set -u

. "$(dirname "$0")/e2e_lib.sh" "$@" || exit 1

FAKE_SET=(--set "data.dir=$FAKE" --set data.train_limit=0 --set data.test_limit=0 --set train.epochs=1 --set train.batch=16)

# --------------------------------------------------------------------- cases

case_usage() {
    check "dlx with no command exits 2 and prints usage" 2 "usage: dlx COMMAND" "$DLX"
    check "dlx --help exits 0" 0 "commands:" "$DLX" --help
    local c
    for c in train eval inspect gradcheck sample export; do
        expect_in out "  $c " "dlx --help lists '$c'"
    done
    check "dlx help train exits 0" 0 "usage: dlx train SPEC" "$DLX" help train
    check "dlx --version exits 0" 0 "dlx " "$DLX" --version
    check "a misspelt command suggests the right one" 2 "did you mean 'train'" "$DLX" trian
    check "an unknown command exits 2" 2 "unknown command 'frobnicate'" "$DLX" frobnicate
    for c in train eval inspect gradcheck sample export; do
        check "dlx $c --help exits 0 with its usage" 0 "usage: dlx $c" "$DLX" "$c" --help
        check "dlx $c without arguments exits 2" 2 "dlx $c: missing" "$DLX" "$c"
    done
    check "dlx train: unknown option exits 2" 2 "unknown or incomplete option '--bogus'" \
        "$DLX" train "$FIX/ok.yaml" --bogus
    check "dlx eval: unknown option exits 2" 2 "unknown or incomplete option '--bogus'" "$DLX" eval x.h5 --bogus
    check "dlx inspect: unknown option exits 2" 2 "unknown option '--bogus'" "$DLX" inspect x.h5 --bogus
    check "dlx export: unknown option exits 2" 2 "unknown or incomplete option '--bogus'" "$DLX" export x.h5 --bogus
    check "dlx gradcheck: unknown option exits 2" 2 "unknown or incomplete option '--bogus'" \
        "$DLX" gradcheck "$FIX/ok.yaml" --bogus
    check "dlx train --threads 0 exits 2" 2 "--threads: expected a number from 1 to 1024, got '0'" \
        "$DLX" train "$FIX/ok.yaml" --threads 0
    check "dlx train --max-memory junk exits 2" 2 "--max-memory: expected a size" \
        "$DLX" train "$FIX/ok.yaml" --max-memory lots
    check "dlx train --stop-at 0 exits 2" 2 "--stop-at: expected a step number >= 1, got '0'" \
        "$DLX" train "$FIX/ok.yaml" --stop-at 0
    check "dlx train --stop-at past 2^63 exits 2" 2 "--stop-at: expected a step number >= 1, got '99999999999999999999'" \
        "$DLX" train "$FIX/ok.yaml" --stop-at 99999999999999999999
    check "dlx train --threads 2x exits 2" 2 "--threads: expected a number from 1 to 1024, got '2x'" \
        "$DLX" train "$FIX/ok.yaml" --threads 2x
    check "dlx reproduce --threads '' exits 2" 2 "--threads: expected a number from 1 to 1024, got ''" \
        "$DLX" reproduce x.yaml --threads ''
    check "dlx landscape --jobs 257 exits 2" 2 "--jobs: expected an integer from 1 to 256, got '257'" \
        "$DLX" landscape x.yaml --jobs 257
    check "dlx gradcheck --coords 0 exits 2" 2 "--coords: expected a number from 1 to 1000000, got '0'" \
        "$DLX" gradcheck "$FIX/ok.yaml" --coords 0
    check "dlx sample --zoom 9 exits 2" 2 "--zoom: expected a number from 1 to 8, got '9'" \
        "$DLX" sample x.h5 --zoom 9
    check "dlx train --set without a value exits 2" 2 "--set: expected KEY=VALUE after it" \
        "$DLX" train "$FIX/ok.yaml" --set
    local many=()
    for k in $(seq 65); do many+=(--set "train.epochs=1"); done
    check "dlx gradcheck with 65 --set exits 2" 2 "too many --set options (at most 64)" \
        "$DLX" gradcheck "$FIX/ok.yaml" "${many[@]}"
    check "dlx eval with 17 --set exits 2" 2 "too many --set options (at most 16)" \
        "$DLX" eval x.h5 "${many[@]:0:34}"
    check "dlx train with two specs exits 2" 2 "more than one spec" "$DLX" train "$FIX/ok.yaml" "$FIX/ok.yaml"
    check "dlx gradcheck --eps 2 exits 2" 2 "--eps: expected a number in (0, 1)" \
        "$DLX" gradcheck "$FIX/ok.yaml" --eps 2
}

# spec_error NAME DESC SUBSTRING [extra dlx args]: train FIX/NAME.yaml on the fake
# data, expect exit 2 and the message.
spec_error() {
    local name=$1 desc=$2 sub=$3
    shift 3
    check "spec error, $desc" 2 "$sub" "$DLX" train "$FIX/$name.yaml" --set "data.dir=$FAKE" --out "$T/run_$name" "$@"
}

case_spec_errors() {
    make_fake "$FAKE" 32
    check "the fixture ok.yaml trains on the fake data (sanity)" 0 "test_accuracy" \
        "$DLX" train "$FIX/ok.yaml" --set "data.dir=$FAKE" --out "$T/run_ok" --quiet
    spec_error malformed "malformed YAML names file:line:col" "$FIX/malformed.yaml:8:7: error: invalid YAML"
    spec_error key_typo "layer key typo suggests 'kernel'" \
        "$FIX/key_typo.yaml:7:32: error: model.layers[0]: 'kernal' is not a key of conv; did you mean 'kernel'?"
    spec_error top_key_typo "top-level key typo is located" "$FIX/top_key_typo.yaml:12:1: error: 'trian' is not a key"
    expect_in err "did you mean 'train'" "top-level key typo 'trian' suggests 'train'"
    spec_error wrong_type "wrong type (epochs: ten)" \
        "$FIX/wrong_type.yaml:13:11: error: train.epochs: expected an integer, got 'ten'"
    spec_error negative_lr "out of range (lr: -1)" "$FIX/negative_lr.yaml:15:30: error: train.optimizer.lr: must be greater than 0"
    spec_error ok "out of range via --set (batch: 0)" "train.batch: must be between 1 and 65536, got 0" \
        --set train.batch=0
    spec_error layer_type "unknown layer type with a suggestion" \
        "$FIX/layer_type.yaml:8:14: error: model.layers[1]: unknown layer type 'linaer'; did you mean 'linear'?"
    spec_error conv_after_flatten "conv after flatten" \
        "$FIX/conv_after_flatten.yaml:8:7: error: model.layers[1]: conv needs an image input"
    spec_error kernel_too_big "kernel larger than the input" "$FIX/kernel_too_big.yaml:7:7:"
    expect_in err "kernel 40x40 is larger than the padded input 28x28" "kernel too big: says which sizes clash"
    spec_error reshape_wraps "a reshape whose size product wraps around int64 to the input's" \
        "$FIX/reshape_wraps.yaml:9:7: error: reshape 'reshape1': target shape ["
    expect_in err "7798162, 6302372, 6756098] has more than 2^48 elements" "wrapping reshape: names the shape and the limit"
    spec_error wrong_classes "last layer units 7 for 10 classes" \
        "$FIX/wrong_classes.yaml:8:7: error: model.layers: the last layer gives 7 outputs per sample"
    expect_in err "mnist has 10 classes" "wrong class count: names the class count"
    spec_error dataset "unknown dataset" "$FIX/dataset.yaml:10:12: error: data.dataset: unknown dataset 'mnits'"
    expect_in err "mnist, fashion-mnist" "unknown dataset: lists the known ones"
    spec_error activation "unknown activation" \
        "$FIX/activation.yaml:8:45: error: model.layers[1].activation: unknown activation 'rleu'"
    expect_in err "relu" "unknown activation: lists the known ones"
    spec_error inputs_unknown "inputs: naming an unknown layer" \
        "$FIX/inputs_unknown.yaml:9:31: error: model.layers[2].inputs[1]: no earlier layer is named 'nope'"
    spec_error share_shape "share: with a mismatched shape" \
        "$FIX/share_shape.yaml:9:7: error: model.layers[2]: parameter 'a.weight' is shared with shape [32, 784]"
    expect_in err "[16, 32]" "share mismatch: names the shape used here"
    spec_error transpose_no_share "transpose: true without share:" \
        "$FIX/transpose_no_share.yaml:8:45: error: model.layers[2]: transpose: true uses another layer's weight, transposed: name it with share: LAYER"
    spec_error transpose_shape "transpose: true with a layer of another shape" \
        "$FIX/transpose_shape.yaml:8:7: error: model.layers[2]: parameter 'enc.weight' is shared with shape [32, 784] but used here with shape [32, 100]"
    spec_error loss_name "unknown model.loss with a suggestion" \
        "$FIX/loss_name.yaml:9:9: error: model.loss: unknown value 'msee'; did you mean 'mse'?"
    expect_in err "softmax_xent, mse, l1, bce_logits" "unknown loss: lists the known ones"
    spec_error ok "a loss term with a negative weight" \
        "<--set>: error: model.loss[1].weight: must be between 0 and 1e+06, got -1" \
        --set "model.loss=[{type: softmax_xent}, {type: l1, weight: -1}]"
    spec_error ok "a loss term's key typo" "model.loss[0]: 'wieght' is not a key of a loss term; did you mean 'weight'?" \
        --set "model.loss=[{type: l1, wieght: 1}]"
    spec_error ok "--set without '='" "--set 'train.epochs': expected key=value" --set train.epochs
    spec_error ok "--set with a bad value" "<--set>: error: train.epochs: expected an integer, got 'ten'" \
        --set train.epochs=ten
    spec_error ok "--set with an unknown key" "<--set>: error: 'trian' is not a key of a spec" --set trian.epochs=1
    spec_error ok "--set with an unknown activation" "unknown activation 'rleu'" \
        --set "model.layers=[{type: flatten}, {type: linear, units: 10, activation: rleu}]"
    # a missing spec file is an I/O error (DLX_EIO): exit 1, naming the file
    check "missing spec file exits 1 and names it" 1 "$T/no_such_spec.yaml: error: cannot open spec" \
        "$DLX" train "$T/no_such_spec.yaml"
    check "gradcheck: missing spec file exits 1" 1 "$T/no_such_spec.yaml: error: cannot open spec" \
        "$DLX" gradcheck "$T/no_such_spec.yaml"
    [ -e "$T/run_malformed" ] && fail "a spec error must not create the run directory" "found $T/run_malformed"
    return 0
}

case_data_errors() {
    make_fake "$FAKE" 32
    local S=$FIX/ok.yaml
    check "sanity: the fake dataset trains" 0 "test_accuracy" "$DLX" train "$S" --set "data.dir=$FAKE" --out r --quiet

    check "missing dataset dir exits 1" 1 "$T/nope/t10k-images-idx3-ubyte: error: cannot open" \
        "$DLX" train "$S" --set "data.dir=$T/nope" --out r --quiet
    expect_in err "datasets/fetch mnist" "missing dataset says to run datasets/fetch"

    mkdir -p trunc
    head -c 10000 "$FAKE/t10k-images-idx3-ubyte" >trunc/t10k-images-idx3-ubyte
    cp "$FAKE/t10k-labels-idx1-ubyte" trunc/
    check "truncated IDX image file exits 1" 1 "$T/trunc/t10k-images-idx3-ubyte: error: truncated IDX file" \
        "$DLX" train "$S" --set "data.dir=$T/trunc" --out r --quiet

    mkdir -p hdr
    head -c 9 "$FAKE/t10k-images-idx3-ubyte" >hdr/t10k-images-idx3-ubyte
    cp "$FAKE/t10k-labels-idx1-ubyte" hdr/
    check "IDX image file cut inside its header exits 1" 1 "truncated IDX file: the 16-byte header ends" \
        "$DLX" train "$S" --set "data.dir=$T/hdr" --out r --quiet

    mkdir -p badmagic
    { printf '\x00\x00\x08\x04'; tail -c +5 "$FAKE/t10k-images-idx3-ubyte"; } >badmagic/t10k-images-idx3-ubyte
    cp "$FAKE/t10k-labels-idx1-ubyte" badmagic/
    check "IDX with a bad magic exits 1" 1 "not an IDX image file (magic 0x00000804, expected 0x00000803)" \
        "$DLX" train "$S" --set "data.dir=$T/badmagic" --out r --quiet

    mkdir -p mismatch
    cp "$FAKE/t10k-images-idx3-ubyte" mismatch/
    { idx_labels_header 20; labels_body 20; } >mismatch/t10k-labels-idx1-ubyte
    check "label count mismatch exits 1" 1 "$T/mismatch/t10k-labels-idx1-ubyte: error: holds 20 labels" \
        "$DLX" train "$S" --set "data.dir=$T/mismatch" --out r --quiet
    expect_in err "holds 32 images" "label mismatch: names the image count"

    mkdir -p badlabel
    cp "$FAKE/t10k-images-idx3-ubyte" badlabel/
    { idx_labels_header 32; labels_body 31; printf '\x0c'; } >badlabel/t10k-labels-idx1-ubyte
    check "label out of range exits 1" 1 "label 12 at index 31 is out of range" \
        "$DLX" train "$S" --set "data.dir=$T/badlabel" --out r --quiet

    # gzip cut short (the .gz name is tried when the plain file is absent)
    mkdir -p gz
    gzip -c "$FAKE/t10k-images-idx3-ubyte" | head -c 2000 >gz/t10k-images-idx3-ubyte.gz
    cp "$FAKE/t10k-labels-idx1-ubyte" gz/
    check "truncated gzip IDX exits 1" 1 "truncated" "$DLX" train "$S" --set "data.dir=$T/gz" --out r --quiet
    expect_in err "gz/t10k-images-idx3-ubyte.gz" "truncated gzip names the .gz file"

    # the training split is read after the test split: break only that one
    mkdir -p badtrain
    cp "$FAKE"/t10k-* badtrain/
    head -c 5000 "$FAKE/train-images-idx3-ubyte" >badtrain/train-images-idx3-ubyte
    cp "$FAKE/train-labels-idx1-ubyte" badtrain/
    check "truncated training images exit 1" 1 "$T/badtrain/train-images-idx3-ubyte: error: truncated IDX file" \
        "$DLX" train "$S" --set "data.dir=$T/badtrain" --out r2 --quiet
    [ -e r2/checkpoint.h5 ] && fail "no checkpoint may be written when the data is bad" "found r2/checkpoint.h5"

    check "batch larger than the training set exits 2" 2 "is larger than the training set" \
        "$DLX" train "$S" --set "data.dir=$FAKE" --set train.batch=64 --out r3 --quiet
    return 0
}

case_h5_errors() {
    make_fake "$FAKE" 32
    check "a checkpoint to break" 0 "" "$DLX" train "$FIX/ok.yaml" --set "data.dir=$FAKE" --out run --quiet
    [ -f run/checkpoint.h5 ] || { fail "no run/checkpoint.h5 after training"; return; }
    echo "this is not HDF5" >text.h5
    : >empty.h5
    local size
    size=$(wc -c <run/checkpoint.h5)
    head -c $((size / 2)) run/checkpoint.h5 >half.h5
    cp run/metrics.h5 foreign.h5

    local cmd
    for cmd in eval inspect; do
        check "$cmd of a missing file exits 1 and names it" 1 "$T/missing.h5: error: cannot open" \
            "$DLX" "$cmd" "$T/missing.h5"
        check "$cmd of a text file exits 1" 1 "text.h5: error: not an HDF5 file" "$DLX" "$cmd" text.h5
        check "$cmd of an empty file exits 1" 1 "empty.h5: error: not an HDF5 file" "$DLX" "$cmd" empty.h5
        check "$cmd of a truncated checkpoint exits 1" 1 "half.h5: error:" "$DLX" "$cmd" half.h5
        expect_in err "truncated" "$cmd of a truncated checkpoint says truncated"
    done
    check "eval of a foreign HDF5 file (metrics.h5) exits 1" 1 "foreign.h5: error: not a dlx checkpoint" \
        "$DLX" eval foreign.h5
    # inspect lists any HDF5 file by design (dlx inspect --help: metrics files too)
    check "inspect of a foreign HDF5 file lists it" 0 "/metrics/train_loss" "$DLX" inspect foreign.h5
    expect_not_in out "dlx checkpoint" "inspect of a foreign file must not call it a checkpoint"

    if [ "$HAVE_H5PY" = 1 ]; then
        /usr/bin/python3 - <<'EOF'
import h5py
with h5py.File('py_foreign.h5', 'w') as f:
    f['a'] = [1, 2, 3]
with h5py.File('py_nospec.h5', 'w') as f:
    f.attrs['format'] = b'dlx-checkpoint'
    f.attrs['family'] = b'classifier'
    f.attrs['version'] = 1
EOF
        check "eval of an h5py-made foreign file exits 1" 1 "py_foreign.h5: error: not a dlx checkpoint" \
            "$DLX" eval py_foreign.h5
        check "inspect of an h5py-made foreign file lists it" 0 "/a " "$DLX" inspect py_foreign.h5
        check "eval of a 'checkpoint' without /spec exits 1" 1 "py_nospec.h5: error: no /spec" "$DLX" eval py_nospec.h5
    else
        note "h5py not importable by /usr/bin/python3: h5py-made foreign files not tested"
    fi
    # the spec differs from the checkpoint's /spec: refused before any parameter is read
    check "--resume from a checkpoint of another model exits 2" 2 "--resume: model.layers[1].units is 1000 here but 10 in" \
        "$DLX" train "$CONFIGS/mlp.yaml" "${FAKE_SET[@]}" --out run --resume --quiet
    expect_in err "run/checkpoint.h5" "wrong-model resume names the checkpoint"
    return 0
}

case_inspect() {
    make_fake "$FAKE" 32
    check "train lenet5 briefly on the fake data" 0 "" \
        "$DLX" train "$CONFIGS/lenet5.yaml" "${FAKE_SET[@]}" --out run --quiet
    check "inspect a checkpoint" 0 "run/checkpoint.h5: dlx checkpoint" "$DLX" inspect run/checkpoint.h5
    expect_in out "model kind: classifier" "inspect shows the model kind"
    expect_in out "step: 2" "inspect shows the step (32 samples / batch 16 = 2)"
    expect_in out "epoch: 1" "inspect shows the epoch"
    if ! grep -E '^ +/params/conv1\.weight +float32 +\[6, 1, 5, 5\]' "$OUT" >/dev/null; then
        fail "inspect lists /params/conv1.weight with shape [6, 1, 5, 5]"
        show_output
    fi
    expect_in out "/optim/optimizer/conv1.weight/momentum" "inspect lists the optimizer slots"
    expect_not_in out "spec:" "inspect without --spec does not print the spec"
    check "inspect --spec" 0 "kind: classifier" "$DLX" inspect run/checkpoint.h5 --spec
    expect_in out "spec:" "inspect --spec prints a spec section"
    expect_in out "test_limit: 0" "inspect --spec prints the resolved spec, --set overrides included"
    check "inspect metrics.h5" 0 "/metrics/train_loss" "$DLX" inspect run/metrics.h5
    expect_in out "/metrics/test_accuracy" "inspect metrics.h5 lists test_accuracy"
    expect_not_in out "dlx checkpoint" "inspect metrics.h5 does not call it a checkpoint"
    check "inspect with two files exits 2" 2 "more than one file" "$DLX" inspect run/checkpoint.h5 run/metrics.h5

    # dlx plot: data, script and (with gnuplot) the picture
    check "plot metrics.h5" 0 "" "$DLX" plot run/metrics.h5 --out curves.png
    [ -s curves.png.dat ] && grep -q "^# train_loss" curves.png.dat ||
        fail "plot writes the series data" "curves.png.dat: $(head -c 300 curves.png.dat 2>&1)"
    grep -q "set output 'curves.png'" curves.png.gp || fail "plot writes a gnuplot script for curves.png"
    if have gnuplot; then
        png_ok curves.png || fail "plot draws curves.png with gnuplot"
    else
        expect_in err "gnuplot is not installed" "plot says how to render without gnuplot"
    fi
    check "plot --series picks series" 0 "" "$DLX" plot run/metrics.h5 --series train_loss --out one.png
    grep -q "^# test_accuracy" one.png.dat && fail "plot --series train_loss writes only that series"
    check "plot of an unknown series exits 2" 2 "no series named 'trian_loss'" \
        "$DLX" plot run/metrics.h5 --series trian_loss
    check "plot of a missing file exits 1" 1 "nothere.h5" "$DLX" plot nothere.h5
    return 0
}

# sparse_coding's trained encoders go through the shared trainer: LISTA on a
# tiny fake MNIST (random dictionary, Z* by FISTA), straight vs --stop-at and
# --resume (--profile on the resumed part), the NaN guard, and the exact
# algorithms, which train nothing, refusing --resume.
case_sparse_coding() {
    command -v h5diff >/dev/null || { echo "SKIP: h5diff not installed (hdf5-tools)"; exit 77; }
    make_fake "$FAKE" 64
    cat >sc.yaml <<EOF
version: 1
seed: 3
model: {kind: sparse_coding, algorithm: lista, atoms: 16, alpha: 0.5, T: [0, 2]}
data: {dataset: mnist, dir: $FAKE, train: 64, test: 16}
train: {epochs: 3, batch: 16, optimizer: {type: sgd, lr: 0.002, momentum: 0.9}, log_every: 2}
EOF
    check "lista straight run (12 steps)" 0 '"err_T2":' "$DLX" train sc.yaml --out full --json --quiet
    [ "$(json_field step "$OUT")" = 12 ] || fail "lista: 3 epochs of 64/16 = 12 steps" "got: $(cat "$OUT")"
    check "lista --stop-at 5" 0 "stopped at step 5 of 12" "$DLX" train sc.yaml --out split --stop-at 5
    check "the --stop-at checkpoint is at step 5" 0 "step: 5" "$DLX" inspect split/checkpoint.h5
    check "lista --resume --profile" 0 "resuming from split/checkpoint.h5 at step 5" \
        "$DLX" train sc.yaml --out split --resume --profile
    expect_in err "profile of shard 0, per step" "--profile prints its table for a lista run"
    expect_in err "T2.Z2" "the profile table names the unrolled steps' nodes"
    expect_in err "ms per step in ops" "the profile table ends with the total"
    local g
    for g in /params /optim; do
        LAST_CMD="h5diff -r full/checkpoint.h5 split/checkpoint.h5 $g $g"
        h5diff -r full/checkpoint.h5 split/checkpoint.h5 "$g" "$g" >h5diff.out 2>&1 ||
            fail "lista: stopped at 5 + resumed == straight run in $g" "$(grep -v ' 0 differences' h5diff.out | head)"
    done
    local a b
    a=$(metric_steps full/metrics.h5 /metrics/train_loss | tr '\n' ' ')
    b=$(metric_steps split/metrics.h5 /metrics/train_loss | tr '\n' ' ')
    [ "$a" = "2 4 6 8 10 12 " ] && [ "$a" = "$b" ] ||
        fail "lista: train_loss every log_every (2) steps, the same rows after resume" "straight: $a" "resumed: $b"
    check "lista with a huge learning rate stops at a non-finite loss" 1 "training stopped" \
        "$DLX" train sc.yaml --out nan --set train.optimizer.lr=10 --set train.checkpoint_every=1
    expect_in err "nan/checkpoint.h5" "the NaN guard names the last good checkpoint"
    sed -e 's/algorithm: lista/algorithm: fista/' -e 's/T: \[0, 2\]/T: [1, 5]/' -e '/^train:/d' sc.yaml >fista.yaml
    check "fista run" 0 '"err_T5":' "$DLX" train fista.yaml --out fista --json --quiet
    check "--resume of a fista run is refused" 2 "fista trains nothing" "$DLX" train fista.yaml --out fista --resume
    # a reproduce row's err_T1, err_T5 are also one curve: /curves/<row>/err_T, rows of (T, err)
    printf 'paper: curves\nrows:\n  - {name: f, spec: fista.yaml, metrics: {err_T5: n/a}}\n' >curves.yaml
    check "reproduce of the fista row" 0 "err_T5" "$DLX" reproduce curves.yaml --out rep --quiet
    local want got
    want=$(for t in 1 5; do h5dump -y -w 0 -A 0 -m '%.17g' -d "/rows/f/err_T$t" rep/results.h5 | sed -n '/DATA {/,/}/p' |
        tr -d '{}' | sed 's/DATA//' | tr -d ' \n' | sed "s/^/$t /"; echo; done)
    got=$(h5dump -y -w 0 -A 0 -m '%.17g' -d /curves/f/err_T rep/results.h5 | sed -n '/DATA {/,/}/p' | tr -d '{}' |
        sed 's/DATA//' | tr ',' '\n' | awk 'NF { v[n++] = $1 } END { for (i = 0; i + 1 < n; i += 2) print v[i], v[i + 1] }')
    [ -n "$want" ] && [ "$got" = "$want" ] || fail "results.h5 /curves/f/err_T is (T, err_T<T>)" "want: $want" "got: $got"
    h5dump -a /curves/f/err_T/columns rep/results.h5 | grep -q '"T, err"' || fail "the curve names its columns"
    return 0
}

# h5_values FILE PATH: the values of a dataset, one a line (h5dump's text form).
h5_values() {
    h5dump -d "$2" "$1" 2>/dev/null | awk '/DATA \{/ { on = 1; next } on && /^ *\}/ { on = 0 }
        on { sub(/^ *\([0-9,]+\): */, ""); n = split($0, v, /, */); for (i = 1; i <= n; i++) if (v[i] != "") print v[i] }'
}

# h5_raw FILE PATH: a dataset's bytes, little-endian, on stdout.
h5_raw() {
    local f
    f=$(mktemp "$T/raw.XXXX")
    h5dump -d "$2" -b LE -o "$f" "$1" >/dev/null 2>&1 && cat "$f"
}

# batchnorm's running statistics reach the checkpoint (/buffers/<layer>.running_mean,
# .running_var), moved from their initial 0 and 1; they do not depend on the
# thread count (replica 0 alone updates them); --stop-at and --resume give the
# same bits as a straight run (buffers are loaded back); dlx eval of the
# checkpoint normalises with them and reproduces the run's test accuracy.
case_batchnorm() {
    have h5dump || { echo "SKIP: h5dump missing (hdf5-tools)"; exit 77; }
    make_fake "$FAKE" 64
    local spec=$FIX/batchnorm.yaml set=(--set "data.dir=$FAKE") ck=bn1/checkpoint.h5 l p acc
    check "train a batchnorm classifier (8 steps, 2 shards)" 0 '"test_accuracy":' \
        "$DLX" train "$spec" "${set[@]}" --out bn1 --threads 1 --json --quiet
    acc=$(json_field test_accuracy "$OUT")
    [ "$(json_field step "$OUT")" = 8 ] || fail "64 samples / batch 16 x 2 epochs = 8 steps" "got: $(cat "$OUT")"
    for l in bn1 bn2; do
        for p in /params/$l.weight /params/$l.bias /buffers/$l.running_mean /buffers/$l.running_var; do
            h5_has "$ck" "$p" || { LAST_CMD="h5dump -H -d $p $ck"; fail "checkpoint.h5 holds $p" "not found"; }
        done
        LAST_CMD="h5dump -d /buffers/$l.running_mean $ck"
        h5_values "$ck" /buffers/$l.running_mean | awk '$1 + 0 != 0 { nz = 1 } END { exit !nz }' ||
            fail "$l.running_mean has moved from 0" "values: $(h5_values "$ck" /buffers/$l.running_mean | tr '\n' ' ')"
        LAST_CMD="h5dump -d /buffers/$l.running_var $ck"
        h5_values "$ck" /buffers/$l.running_var | awk '$1 + 0 != 1 && $1 + 0 > 0 { ok++ } $1 + 0 <= 0 { bad = 1 }
            END { exit !(ok && !bad) }' ||
            fail "$l.running_var has moved from 1 and stays positive" \
            "values: $(h5_values "$ck" /buffers/$l.running_var | tr '\n' ' ')"
    done
    [ "$(h5_values "$ck" /buffers/bn1.running_mean | wc -l)" = 4 ] || fail "bn1 has 4 channels" \
        "$(h5_values "$ck" /buffers/bn1.running_mean | tr '\n' ' ')"
    [ "$(h5_values "$ck" /buffers/bn2.running_var | wc -l)" = 16 ] || fail "bn2 has 16 features" \
        "$(h5_values "$ck" /buffers/bn2.running_var | tr '\n' ' ')"
    check "inspect lists the buffers" 0 "/buffers/bn1.running_mean" "$DLX" inspect "$ck"

    check "eval of the batchnorm checkpoint" 0 '"accuracy":' "$DLX" eval "$ck" --json
    [ "$(json_field accuracy "$OUT")" = "$acc" ] || fail "eval (running statistics) reproduces the run's test accuracy" \
        "train: '$acc'; eval: $(cat "$OUT")"

    check "the same run on 2 threads" 0 '"test_accuracy":' \
        "$DLX" train "$spec" "${set[@]}" --out bn2 --threads 2 --json --quiet
    check "the same run stopped at step 3" 0 "" "$DLX" train "$spec" "${set[@]}" --out bn3 --threads 1 --stop-at 3 --quiet
    check "and resumed" 0 '"test_accuracy":' "$DLX" train "$spec" "${set[@]}" --out bn3 --threads 1 --resume --json --quiet
    for p in /buffers/bn1.running_mean /buffers/bn1.running_var /buffers/bn2.running_mean /buffers/bn2.running_var \
        /params/bn1.weight /params/fc.weight; do
        LAST_CMD="h5dump -b LE -d $p of bn1, bn2 and bn3/checkpoint.h5"
        cmp -s <(h5_raw "$ck" "$p") <(h5_raw bn2/checkpoint.h5 "$p") ||
            fail "$p: the same bits on 1 and 2 threads"
        cmp -s <(h5_raw "$ck" "$p") <(h5_raw bn3/checkpoint.h5 "$p") ||
            fail "$p: the same bits after --stop-at 3 and --resume"
    done
    [ -n "$(h5_raw "$ck" /buffers/bn1.running_mean)" ] || fail "h5_raw reads /buffers/bn1.running_mean"
    return 0
}

# ---------------------------------------------------------------------- main

e2e_main usage spec_errors data_errors h5_errors inspect sparse_coding batchnorm
