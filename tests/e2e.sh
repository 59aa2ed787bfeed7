#!/bin/bash
# End-to-end tests of the dlx command line: tests/e2e.sh CASE
#
# CASE is one of: usage spec_errors data_errors h5_errors train_eval
# architectures determinism gradcheck inspect sparse_coding losses batchnorm.
# Exit status: 0 pass, 1 fail (each failed check says command, expected and
# actual), 77 skip (real MNIST missing, for the cases that train on it).
#
# The dlx binary: $DLX_BIN, else $MESON_BUILD_ROOT/dlx, else
# $DLX_SRC_DIR/build/dlx. Data: $DLX_DATA_DIR, else $DLX_SRC_DIR/datasets/data.
# Everything runs in a temporary directory that is removed on exit.
# The error cases, inspect, sparse_coding and batchnorm use a tiny fake MNIST written here, so only
# train_eval, architectures, determinism, gradcheck and losses need the real data.

set -u

CASE=${1:-}
SRC=${DLX_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
SRC=$(cd "$SRC" && pwd)
FIX=$SRC/tests/data/e2e
CONFIGS=$SRC/configs

if [ -n "${DLX_BIN:-}" ]; then
    DLX=$DLX_BIN
elif [ -n "${MESON_BUILD_ROOT:-}" ]; then
    DLX=$MESON_BUILD_ROOT/dlx
else
    DLX=$SRC/build/dlx
fi
case $DLX in /*) ;; *) DLX=$PWD/$DLX ;; esac
if [ ! -x "$DLX" ]; then
    echo "e2e: dlx binary not found or not executable: $DLX (set DLX_BIN)" >&2
    exit 1
fi

DATA=${DLX_DATA_DIR:-$SRC/datasets/data}
case $DATA in /*) ;; *) DATA=$PWD/$DATA ;; esac
export DLX_DATA_DIR=$DATA

T=$(mktemp -d "${TMPDIR:-/tmp}/dlx-e2e.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

FAILS=0
CHECKS=0
OUT=$T/last.out
ERR=$T/last.err
RC=0
LAST_CMD=

have() { command -v "$1" >/dev/null 2>&1; }
HAVE_H5PY=0
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import h5py' >/dev/null 2>&1; then
    HAVE_H5PY=1
fi

note() { echo "note: $*"; }

show_output() {
    echo "  --- stdout (first 30 lines):"
    head -n 30 "$OUT" | sed 's/^/  | /'
    echo "  --- stderr (first 30 lines):"
    head -n 30 "$ERR" | sed 's/^/  | /'
}

fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $1"
    [ -n "$LAST_CMD" ] && echo "  command: $LAST_CMD"
    shift
    for line in "$@"; do echo "  $line"; done
}

# run CMD...: run with stdout/stderr captured in $OUT/$ERR, exit status in $RC.
run() {
    LAST_CMD=$(printf '%q ' "$@")
    CHECKS=$((CHECKS + 1))
    "$@" >"$OUT" 2>"$ERR"
    RC=$?
    if [ "$RC" -ge 128 ]; then
        fail "crashed: exit status $RC (signal $((RC - 128)))"
        show_output
        return 1
    fi
    return 0
}

# check DESC RC SUBSTRING CMD...: CMD exits RC and SUBSTRING (fixed string,
# may be empty) is in its stdout or stderr.
check() {
    local desc=$1 want=$2 sub=$3
    shift 3
    run "$@" || { echo "  (while checking: $desc)"; return 1; }
    if [ "$RC" != "$want" ]; then
        fail "$desc" "expected exit status $want, got $RC"
        show_output
        return 1
    fi
    if [ -n "$sub" ] && ! grep -qF -- "$sub" "$OUT" "$ERR"; then
        fail "$desc" "expected output containing: $sub" "exit status was $RC as expected"
        show_output
        return 1
    fi
    return 0
}

# expect_in out|err SUBSTRING DESC: about the last command's output.
expect_in() {
    local f=$OUT
    [ "$1" = err ] && f=$ERR
    if ! grep -qF -- "$2" "$f"; then
        fail "$3" "expected std$1 containing: $2"
        show_output
        return 1
    fi
}

expect_not_in() {
    local f=$OUT
    [ "$1" = err ] && f=$ERR
    if grep -qF -- "$2" "$f"; then
        fail "$3" "expected std$1 NOT containing: $2"
        show_output
        return 1
    fi
}

# json_field NAME FILE: the raw text of "NAME":value from a one-line JSON object.
json_field() {
    grep -o "\"$1\":[^,}]*" "$2" | head -n 1 | cut -d: -f2
}

# strip_timing FILE: the JSON line without its wall-clock fields (train_seconds, images_per_second, ...).
strip_timing() { sed -E 's/,?"[a-z_]*(seconds|per_second)":[^,}]*//g' "$1"; }

# float_gt A B: A > B
float_gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

png_ok() {
    [ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
}

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

# IDX headers, big-endian.
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
idx_images_header() { printf '\x00\x00\x08\x03'; printf "$(be32 "$1")$(be32 28)$(be32 28)"; }
idx_labels_header() { printf '\x00\x00\x08\x01'; printf "$(be32 "$1")"; }
labels_body() { # N labels 0..9 repeating
    local i s=""
    for ((i = 0; i < $1; i++)); do s+="\\x0$((i % 10))"; done
    printf "$s"
}

# make_fake DIR N: a tiny MNIST-shaped dataset (train and test, N samples each).
make_fake() {
    mkdir -p "$1"
    { idx_images_header "$2"; head -c $(($2 * 784)) /dev/urandom; } >"$1/t10k-images-idx3-ubyte"
    { idx_labels_header "$2"; labels_body "$2"; } >"$1/t10k-labels-idx1-ubyte"
    cp "$1/t10k-images-idx3-ubyte" "$1/train-images-idx3-ubyte"
    cp "$1/t10k-labels-idx1-ubyte" "$1/train-labels-idx1-ubyte"
}

FAKE=$T/fake
FAKE_SET=(--set "data.dir=$FAKE" --set data.train_limit=0 --set data.test_limit=0 --set train.epochs=1 --set train.batch=16)

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

# h5_has FILE PATH: an HDF5 object exists (h5dump -H, else dlx inspect).
h5_has() {
    if have h5dump; then
        h5dump -H -d "$2" "$1" >/dev/null 2>&1
    else
        "$DLX" inspect "$1" 2>/dev/null | grep -qE "^  $2 "
    fi
}

# metric_steps FILE SERIES: the step column of a metrics series, one a line.
metric_steps() {
    h5dump -d "$2" "$1" | awk '/^ *\([0-9]+,0\):/ { v = $2; sub(/,$/, "", v); print v }'
}

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

case $CASE in
usage | spec_errors | data_errors | h5_errors | train_eval | architectures | determinism | gradcheck | inspect | sparse_coding | \
    losses | batchnorm) ;;
*)
    echo "usage: tests/e2e.sh CASE   (usage spec_errors data_errors h5_errors train_eval architectures" \
        "determinism gradcheck inspect sparse_coding losses batchnorm)" >&2
    exit 2
    ;;
esac

echo "e2e $CASE: dlx=$DLX data=$DATA"
START=$(date +%s.%N)
"case_$CASE"
ELAPSED=$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [ "$FAILS" -gt 0 ]; then
    echo "e2e $CASE: $FAILS check(s) FAILED ($CHECKS commands run, ${ELAPSED}s)"
    exit 1
fi
echo "e2e $CASE: all checks passed ($CHECKS commands run, ${ELAPSED}s)"
exit 0
