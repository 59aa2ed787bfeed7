#!/usr/bin/env bash
# dlx export --onnx, end to end:
#   tests/export.sh CASE   CASE: onnx_lenet onnx_mlp onnx_graph onnx_errors
#   onnx_lenet   a LeNet-like net (conv + relu, batch norm 2-d and 1-d, max and
#                padded average pooling, a strided conv with lecun_tanh, dropout,
#                linear + tanh) on padded, normalised data
#   onnx_mlp     an MLP straight on the image (Flatten + Gemm), fused
#                leaky_relu, sigmoid, dropout, a linear without bias, data.range
#   onnx_graph   the other ops that export: conv_transpose2d, upsample nearest and
#                bilinear, add of 2 and 3, sub, mul of 3, concat, affine, slice,
#                softmax, scale, abs, stop_gradient, reshape, a tied transposed
#                linear
#   onnx_errors  a layer without export, a GAN checkpoint, usage errors,
#                refused and unwritable output files
# The three nets train a few steps, are exported, and the ONNX model runs in
# onnxruntime-node on the test images (raw pixels / 255): its logits must be
# within 1e-4 of dlx eval --predictions' and its predictions identical;
# python3-onnx's checker (with shape inference) runs where it is installed.
# Env: DLX_BIN (the dlx binary; default build/dlx), DLX_SRC_DIR (source root),
# DLX_ORT_DIR (the runtime's cache, tests/onnx_runtime.sh). Exit 0 pass, 1
# fail, 77 skip (no runtime and none can be installed; no numpy and h5py).
set -uo pipefail

. "$(dirname "$0")/lib.sh" export

CASE=${1:-}
CASES="onnx_lenet onnx_mlp onnx_graph onnx_errors"
[ -n "$CASE" ] || { echo "usage: tests/export.sh CASE ($CASES)" >&2; exit 1; }

make_work

. "$SRC/tests/fake_mnist.sh"
make_fake "$WORK/fake" 256

# spec NAME DATA LAYERS...: a classifier on the fake data (16 steps an epoch)
spec() {
    local name=$1 data=$2 l
    shift 2
    printf 'version: 1\nname: %s\nseed: 3\nmodel:\n  kind: classifier\n  layers:\n' "$name"
    for l in "$@"; do printf '    - %s\n' "$l"; done
    printf 'data: {dataset: mnist, dir: %s, test_limit: 64, %s}\n' "$WORK/fake" "$data"
    printf 'train:\n  epochs: 1\n  batch: 16\n  optimizer: {type: sgd, lr: 0.01, momentum: 0.9}\n'
}

# expect_status WANT OUTFILE CMD...: CMD exits WANT (stdout+stderr to OUTFILE).
expect_status() {
    local want=$1 out=$2
    shift 2
    "$@" >"$out" 2>&1
    local rc=$?
    [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(head -c 600 "$out")"
}

# The runtime: installed by tests/test.sh (or here, with npm), else a skip.
runtime() {
    "$PY" -c 'import numpy, h5py' 2>/dev/null || skip "$PY with numpy and h5py is needed"
    NODE_MODULES=$("$SRC/tests/onnx_runtime.sh" --install 2>ort.err) ||
        skip "no ONNX runtime: $(cat ort.err)"
}

# check_export SPEC: train, export, dlx eval --predictions, the ONNX model in
# onnxruntime on the same 64 images (in a batch of 64, and image 0 alone),
# then compare (and the checker where python3-onnx is installed).
check_export() {
    runtime
    expect_status 0 train.out "$DLX" train "$1" --out run --quiet
    expect_status 0 export.out "$DLX" export run/checkpoint.h5 --onnx model.onnx
    grep -q "wrote model.onnx (.* bytes): ONNX opset 13" export.out || fail "export says what it wrote: $(cat export.out)"
    expect_status 0 eval.out "$DLX" eval run/checkpoint.h5 --predictions pred.h5
    "$PY" - "$WORK/fake" <<'EOF' || fail "cannot write the input images"
import sys, numpy as np
n = 64
imgs = np.fromfile(sys.argv[1] + '/t10k-images-idx3-ubyte', np.uint8, offset=16)[:n * 784]
x = imgs.reshape(n, 1, 28, 28).astype(np.float32) / 255
x.tofile('in.f32')
x[:1].tofile('in1.f32')
EOF
    NODE_PATH=$NODE_MODULES node "$SRC/tests/onnx_run.js" model.onnx in.f32 64,1,28,28 out.f32 >ort.out 2>&1 ||
        fail "onnxruntime cannot run the model: $(cat ort.out)"
    grep -q "^inputs input outputs logits$" ort.out && grep -q "^shape 64,10$" ort.out ||
        fail "the model's input is 'input', its output 'logits' (64, 10): $(cat ort.out)"
    NODE_PATH=$NODE_MODULES node "$SRC/tests/onnx_run.js" model.onnx in1.f32 1,1,28,28 out1.f32 >ort1.out 2>&1 ||
        fail "onnxruntime at a batch of 1: $(cat ort1.out)"
    "$PY" - >cmp.out 2>&1 <<'EOF' || fail "the ONNX model disagrees with dlx eval: $(cat cmp.out)"
import numpy as np, h5py
with h5py.File('pred.h5', 'r') as f:
    want, pred = f['logits'][()], f['prediction'][()]
got = np.fromfile('out.f32', np.float32).reshape(want.shape)
one = np.fromfile('out1.f32', np.float32)
d = float(np.abs(got.astype(np.float64) - want).max())
d1 = float(np.abs(one.astype(np.float64) - want[0]).max())
print('max |onnx - dlx eval| = %.3g over %d images (logits up to %.3g); batch of 1: %.3g' % (d, len(want), np.abs(want).max(), d1))
assert d < 1e-4 and d1 < 1e-4, 'logits differ'
assert (got.argmax(1) == pred).all(), 'predictions differ'
EOF
    note "$(cat cmp.out)"
    if "$PY" -c 'import onnx' 2>/dev/null; then
        "$PY" - >check.out 2>&1 <<'EOF' || fail "onnx.checker: $(cat check.out)"
import onnx
m = onnx.load('model.onnx')
onnx.checker.check_model(m, full_check=True)
assert m.producer_name == 'dlx' and m.opset_import[0].version == 13, (m.producer_name, m.opset_import)
inp, out = m.graph.input[0], m.graph.output[0]
assert inp.name == 'input' and inp.type.tensor_type.shape.dim[0].dim_param == 'N', inp
assert out.name == 'logits' and [d.dim_value for d in out.type.tensor_type.shape.dim][1:] == [10], out
print('onnx.checker (onnx %s, full_check): ok; ops: %s' % (onnx.__version__, ' '.join(sorted({n.op_type for n in m.graph.node}))))
EOF
        note "$(cat check.out)"
    else
        note "python3-onnx is not installed: the ONNX checker did not run"
    fi
}

case_onnx_lenet() {
    spec lenet 'mean: 0.1307, std: 0.3081, pad: 2' \
        '{type: conv, filters: 4, kernel: 5, pad: 2, activation: relu}' \
        '{type: batchnorm}' \
        '{type: maxpool, size: 2}' \
        '{type: conv, filters: 6, kernel: 3, stride: 2, activation: lecun_tanh}' \
        '{type: avgpool, size: 3, stride: 2, pad: 1}' \
        '{type: dropout, rate: 0.3}' \
        '{type: linear, units: 16, activation: tanh}' \
        '{type: batchnorm}' \
        '{type: relu}' \
        '{type: linear, units: 10}' >lenet.yaml
    check_export lenet.yaml
}

case_onnx_mlp() {
    spec mlp 'range: [-1, 1]' \
        '{type: linear, units: 32, activation: leaky_relu, alpha: 0.2}' \
        '{type: dropout, rate: 0.5}' \
        '{type: linear, units: 16, bias: false}' \
        '{type: sigmoid}' \
        '{type: leaky_relu, alpha: 0.05}' \
        '{type: linear, units: 10}' >mlp.yaml
    check_export mlp.yaml
}

case_onnx_graph() {
    spec graph 'mean: 0.5, std: 0.25' \
        '{type: conv, name: c1, filters: 4, kernel: 3, pad: 1, activation: leaky_relu, alpha: 0.1}' \
        '{type: maxpool, name: p1, size: 2}' \
        '{type: conv_transpose2d, name: t1, filters: 4, kernel: 3, stride: 2, pad: 1, output_padding: 1, activation: sigmoid}' \
        '{type: add, name: a1, inputs: [c1, t1]}' \
        '{type: avgpool, name: p2, size: 4, stride: 4}' \
        '{type: upsample, name: u1, scale: 2, mode: bilinear}' \
        '{type: upsample, name: u2, scale: 2, mode: nearest, inputs: [p2]}' \
        '{type: sub, name: s1, inputs: [u1, u2]}' \
        '{type: mul, name: m1, inputs: [u1, u2, s1]}' \
        '{type: concat, name: cat, inputs: [m1, p1, u1], axis: 1}' \
        '{type: affine, name: aff}' \
        '{type: slice, name: sl, axis: 1, start: 2, size: 8}' \
        '{type: softmax, name: sm}' \
        '{type: scale, name: sc, scale: -2.0, shift: 0.5}' \
        '{type: abs, name: ab}' \
        '{type: stop_gradient, name: sg}' \
        '{type: reshape, name: rs, shape: [56, 28]}' \
        '{type: flatten, name: fl}' \
        '{type: linear, name: enc, units: 12, activation: relu}' \
        '{type: linear, name: dec, units: 1568, share: enc, transpose: true}' \
        '{type: add, name: a3, inputs: [dec, fl, fl]}' \
        '{type: lecun_tanh}' \
        '{type: linear, units: 10, bias: false}' >graph.yaml
    check_export graph.yaml
}

case_onnx_errors() {
    spec mean 'mean: 0.5, std: 0.25' '{type: conv, filters: 2, kernel: 3}' '{type: mean}' '{type: linear, units: 10}' >mean.yaml
    expect_status 0 train.out "$DLX" train mean.yaml --out run --quiet
    expect_status 2 mean.out "$DLX" export run/checkpoint.h5 --onnx m.onnx
    grep -q "layer 'mean1' (op mean) has no ONNX export; the layer types that export are: linear, conv2d" mean.out ||
        fail "a layer without export is named with its op and what exports: $(cat mean.out)"
    grep -q "run/checkpoint.h5 to m.onnx" mean.out || fail "the message names the files: $(cat mean.out)"
    [ ! -e m.onnx ] && [ -z "$(ls | grep 'm.onnx.tmp')" ] || fail "a refused export leaves no file: $(ls)"
    expect_status 0 gan_train.out "$DLX" train "$SRC/tests/data/gan/ring.yaml" --set train.epochs=1 --out gan --quiet
    expect_status 2 gan.out "$DLX" export gan/checkpoint.h5 --onnx g.onnx
    grep -q "model kind 'gan' has no ONNX export; dlx export --onnx takes a checkpoint of the classifier family" gan.out ||
        fail "a GAN checkpoint is refused by its kind: $(cat gan.out)"
    grep -q "gan/checkpoint.h5" gan.out || fail "the refusal names the checkpoint: $(cat gan.out)"
    expect_status 2 noonnx.out "$DLX" export run/checkpoint.h5
    grep -q "missing --onnx OUT.onnx" noonnx.out || fail "--onnx is required: $(cat noonnx.out)"
    expect_status 2 noarg.out "$DLX" export run/checkpoint.h5 --onnx
    grep -q "unknown or incomplete option '--onnx'" noarg.out || fail "--onnx without a file: $(cat noarg.out)"
    expect_status 2 two.out "$DLX" export a.h5 b.h5 --onnx m.onnx
    expect_status 0 help.out "$DLX" export --help
    grep -q "example: dlx export runs/lenet5/checkpoint.h5 --onnx lenet5.onnx" help.out || fail "help has an example"
    expect_status 1 missing.out "$DLX" export nothere.h5 --onnx m.onnx
    grep -q "nothere.h5" missing.out || fail "a missing checkpoint is named: $(cat missing.out)"
    # a supported net: the output path's errors
    spec ok 'mean: 0.5, std: 0.25' '{type: linear, units: 10}' >ok.yaml
    expect_status 0 train2.out "$DLX" train ok.yaml --out ok --quiet
    local sum
    sum=$(sha1sum ok/checkpoint.h5)
    expect_status 2 over.out "$DLX" export ok/checkpoint.h5 --onnx ok/checkpoint.h5
    grep -q "it exists and is not an ONNX model" over.out || fail "a non-ONNX file is not overwritten: $(cat over.out)"
    [ "$(sha1sum ok/checkpoint.h5)" = "$sum" ] || fail "the checkpoint was changed"
    expect_status 1 nodir.out "$DLX" export ok/checkpoint.h5 --onnx nodir/m.onnx
    grep -q "nodir/m.onnx" nodir.out || fail "an unwritable --onnx is named: $(cat nodir.out)"
    expect_status 0 first.out "$DLX" export ok/checkpoint.h5 --onnx m.onnx
    expect_status 0 again.out "$DLX" export ok/checkpoint.h5 --onnx m.onnx
    [ "$(head -c 2 m.onnx | od -An -tx1 | tr -d ' ')" = 0807 ] || fail "the model opens with ir_version 7"
    [ -z "$(ls | grep '\.tmp')" ] || fail "no temporary file is left: $(ls)"
    return 0
}

case "$CASE" in
onnx_lenet | onnx_mlp | onnx_graph | onnx_errors) "case_$CASE" ;;
*) fail "unknown case '$CASE' (one of: $CASES)" ;;
esac
rc=$?
[ "$rc" = 0 ] && note "ok"
exit "$rc"
