#!/usr/bin/env bash
# Error analysis and pictures, end to end:
#   tests/analysis.sh CASE   CASE: eval_confusion eval_errors pictures plot_runs
#   eval_confusion  dlx eval's confusion matrix, per-class accuracy, confused
#                   pairs (text and --json), the heat map and --predictions,
#                   checked against an independent numpy forward pass
#   eval_errors     --predictions/--confusion refused for a GAN, unwritable files
#   pictures        misclassified.png ("N of M shown", captions), filters.png
#                   of 3x3 kernels and of an MLP's first layer
#   plot_runs       dlx plot of several runs: legend, y labels, one-point series
# Env: DLX_BIN (the dlx binary; default build/dlx), DLX_SRC_DIR (source root).
# Exit 0 pass, 1 fail (with a message), 77 skip (no python3 with numpy and h5py
# where a case needs them). Training runs on a tiny fake MNIST written here.
set -uo pipefail

. "$(dirname "$0")/lib.sh" analysis

CASE=${1:-}
CASES="eval_confusion eval_errors pictures plot_runs"
[ -n "$CASE" ] || { echo "usage: tests/analysis.sh CASE ($CASES)" >&2; exit 1; }

make_work

. "$SRC/tests/fake_mnist.sh"
make_fake "$WORK/fake" 256

# tiny_spec LAYERS...: an MLP or CNN spec on the fake data (16 steps an epoch).
tiny_spec() {
    local l
    printf 'version: 1\nname: tiny\nseed: 3\nmodel:\n  kind: classifier\n  layers:\n'
    for l in "$@"; do printf '    - %s\n' "$l"; done
    printf 'data: {dataset: mnist, dir: %s, mean: 0.5, std: 0.3, test_limit: 64}\n' "$WORK/fake"
    printf 'train:\n  epochs: 1\n  batch: 16\n  log_every: 2\n  optimizer: {type: sgd, lr: 0.05, momentum: 0.9}\n'
}
MLP=('{type: flatten}' '{type: linear, units: 16, activation: relu}' '{type: linear, units: 10}')

# png_size FILE: "WIDTH HEIGHT COLOUR_TYPE" from the IHDR chunk.
png_size() {
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "not-a-png"; return; }
    od -An -tu1 -j16 -N10 "$1" | awk '{ printf "%d %d %d\n", (($1*256+$2)*256+$3)*256+$4, (($5*256+$6)*256+$7)*256+$8, $10 }'
}

# expect_status WANT OUTFILE CMD...: CMD exits WANT (stdout+stderr to OUTFILE).
expect_status() {
    local want=$1 out=$2
    shift 2
    "$@" >"$out" 2>&1
    local rc=$?
    [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(head -c 600 "$out")"
}

case_eval_confusion() {
    need_py
    tiny_spec "${MLP[@]}" >mlp.yaml
    expect_status 0 train.out "$DLX" train mlp.yaml --out run --quiet
    "$DLX" eval run/checkpoint.h5 --json --predictions pred.h5 >eval.json 2>eval.err ||
        fail "dlx eval --json --predictions: $(cat eval.err)"
    grep -q "wrote pred.h5 (logits, prediction and label of 64 samples)" eval.err ||
        fail "eval says it wrote pred.h5: $(cat eval.err)"
    # training drew the test split's matrix (dlx's picture: --quiet runs no gnuplot)
    [ "$(png_size run/confusion.png | cut -d' ' -f3)" = 2 ] || fail "run/confusion.png is an RGB PNG: $(png_size run/confusion.png)"
    grep -q "set xlabel 'predicted'" run/confusion.png.gp && grep -q "set ylabel 'true'" run/confusion.png.gp ||
        fail "the heat map's script labels the axes 'predicted' and 'true'"
    ls run | grep -v '^confusion.png' | grep -q confusion && fail "eval without --confusion draws nothing: $(ls run)"
    "$DLX" eval run/checkpoint.h5 >eval.txt 2>/dev/null || fail "dlx eval (text)"
    # the numbers, checked against the data and the weights, not against dlx
    "$PY" - "$WORK/fake" <<'EOF' || fail "eval's analysis disagrees with an independent computation (above)"
import json, sys, re
import numpy as np, h5py
fake = sys.argv[1]
js = json.load(open('eval.json'))
n, k = 64, 10
imgs = np.fromfile(fake + '/t10k-images-idx3-ubyte', np.uint8, offset=16)[:n * 784].reshape(n, 784)
labels = np.fromfile(fake + '/t10k-labels-idx1-ubyte', np.uint8, offset=8)[:n].astype(np.int64)
with h5py.File('run/checkpoint.h5', 'r') as f:
    w1, b1 = f['/params/linear1.weight'][()], f['/params/linear1.bias'][()]
    w2, b2 = f['/params/linear2.weight'][()], f['/params/linear2.bias'][()]
x = (imgs.astype(np.float64) / 255 - 0.5) / 0.3
z = np.maximum(x @ w1.T.astype(np.float64) + b1, 0) @ w2.T.astype(np.float64) + b2
with h5py.File('pred.h5', 'r') as f:
    lg, pr, lb = f['logits'], f['prediction'], f['label']
    assert lg.shape == (n, k) and lg.dtype == np.float32, (lg.shape, lg.dtype)
    assert pr.shape == (n,) and pr.dtype.kind == 'i' and lb.shape == (n,), (pr.shape, pr.dtype, lb.shape)
    for d in (lg, pr, lb):
        assert len(d.attrs['description']) > 20, d.name
    assert f.attrs['format'] in (b'dlx-predictions', 'dlx-predictions')
    lg, pr, lb = lg[()], pr[()], lb[()]
err = np.abs(lg - z).max()
assert err < 1e-4 * max(1, np.abs(z).max()), ('logits differ from numpy', err)
assert (pr == lg.argmax(1)).all(), 'prediction is not the argmax of the logits'
assert (lb == labels).all(), 'label is not the IDX label'
cm = np.zeros((k, k), np.int64)
np.add.at(cm, (labels, z.argmax(1)), 1)
assert js['confusion'] == cm.tolist(), (js['confusion'], cm.tolist())
assert np.loadtxt('run/confusion.png.dat', dtype=np.int64).tolist() == cm.tolist(), 'training drew another matrix'
assert js['samples'] == n and abs(js['accuracy'] - np.trace(cm) / n) < 1e-9, js
rows = cm.sum(1)
assert js['class_samples'] == rows.tolist()
for c in range(k):
    want = cm[c, c] / rows[c] if rows[c] else None
    got = js['class_accuracy'][c]
    assert (want is None and got is None) or abs(got - want) < 1e-9, (c, got, want)
p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
assert abs(js['loss'] - (-np.log(p[np.arange(n), labels]).mean())) < 1e-5, js['loss']
pairs = sorted(((-cm[t, q], t, q) for t in range(k) for q in range(k) if t != q and cm[t, q]))[:5]
want = [{'true': t, 'predicted': q, 'count': int(-c)} for c, t, q in pairs]
assert js['confused_pairs'] == want, (js['confused_pairs'], want)
# the text output: the same matrix, per-class lines and pairs
txt = open('eval.txt').read()
assert 'confusion matrix (rows: true class, columns: predicted class)' in txt, txt
m = [list(map(int, l.split()[1:])) for l in txt.split('\n') if re.match(r'^ {8}\d ', l)]
assert m == cm.tolist(), m
shown = re.findall(r'^  (\d+) -> (\d+): (\d+) times?$', txt, re.M)
assert [(int(a), int(b), int(c)) for a, b, c in shown] == [(w['true'], w['predicted'], w['count']) for w in want], shown
assert len(re.findall(r'^  class \d ', txt, re.M)) == 10, txt
print('analysis ok: accuracy %.4f, %d pairs, max |logit diff| %.2g' % (js['accuracy'], len(want), err))
EOF
    # the picture without gnuplot: drawn by dlx itself
    PATH=/nonexistent "$DLX" eval run/checkpoint.h5 --confusion lib.png >/dev/null 2>lib.err || fail "eval without gnuplot"
    grep -q "wrote lib.png (drawn by dlx" lib.err || fail "without gnuplot eval says dlx drew lib.png: $(cat lib.err)"
    read -r w h t <<<"$(png_size lib.png)"
    [ "$t" = 2 ] && [ "$w" -ge 440 ] && [ "$h" -ge 440 ] || fail "lib.png: an RGB heat map of 10x44 px cells: $w $h $t"
    if command -v gnuplot >/dev/null; then
        "$DLX" eval run/checkpoint.h5 --confusion gp.png >/dev/null 2>gp.err || fail "eval --confusion gp.png"
        grep -q "wrote gp.png" gp.err || fail "eval --confusion: gnuplot draws gp.png: $(cat gp.err)"
        [ "$(png_size gp.png)" != "$w $h $t" ] || fail "with gnuplot, gnuplot draws gp.png (not dlx's picture)"
    fi
    expect_status 0 train_split.out "$DLX" eval run/checkpoint.h5 --data mnist:train --confusion train.png
    [ "$(png_size train.png | cut -d' ' -f3)" = 2 ] || fail "--data mnist:train --confusion train.png draws it"
    grep -q "samples          256" train_split.out || fail "--data mnist:train counts 256 samples: $(head -5 train_split.out)"
    grep -q "256 samples" train.png.gp || fail "the picture's title counts the split's samples: $(grep title train.png.gp)"
    return 0
}

case_eval_errors() {
    tiny_spec "${MLP[@]}" >mlp.yaml
    expect_status 0 train.out "$DLX" train mlp.yaml --out run --quiet
    expect_status 1 nodir.out "$DLX" eval run/checkpoint.h5 --predictions nodir/pred.h5
    grep -q "nodir/pred.h5" nodir.out || fail "an unwritable --predictions file is named: $(cat nodir.out)"
    expect_status 2 noarg.out "$DLX" eval run/checkpoint.h5 --predictions
    grep -q "unknown or incomplete option '--predictions'" noarg.out || fail "--predictions without FILE: $(cat noarg.out)"
    expect_status 1 nopng.out "$DLX" eval run/checkpoint.h5 --confusion nodir/c.png
    grep -q "nodir/c.png" nopng.out || fail "an unwritable --confusion file is named: $(cat nopng.out)"
    expect_status 0 gan.out "$DLX" train "$SRC/tests/data/gan/ring.yaml" --set train.epochs=1 --out gan --quiet
    expect_status 2 gan_eval.out "$DLX" eval gan/checkpoint.h5 --predictions p.h5
    grep -q "is a 'gan' model, which does not classify" gan_eval.out || fail "GAN --predictions: $(cat gan_eval.out)"
    [ ! -e p.h5 ] || fail "a refused --predictions writes no file"
    expect_status 0 gan_plain.out "$DLX" eval gan/checkpoint.h5
    grep -q "confusion" gan_plain.out && fail "a GAN's eval prints no confusion matrix: $(cat gan_plain.out)"
    return 0
}

case_pictures() {
    tiny_spec "${MLP[@]}" >mlp.yaml
    "$DLX" train mlp.yaml --out run >train.out 2>train.err || fail "train: $(cat train.err)"
    "$DLX" eval run/checkpoint.h5 --json >eval.json 2>/dev/null || fail "eval"
    local acc wrong shown rows
    acc=$(grep -o '"accuracy":[^,]*' eval.json | cut -d: -f2)
    wrong=$(awk -v a="$acc" 'BEGIN { printf "%d", 64 - a * 64 + 0.5 }')
    shown=$((wrong < 100 ? wrong : 100))
    grep -q "wrote run/misclassified.png ($shown of $wrong misclassified test images shown, of 64)" train.err ||
        fail "train says how many of how many misclassified are shown ($shown of $wrong): $(grep misclass train.err)"
    grep -q "wrote run/confusion.png (confusion matrix of the test split)" train.err ||
        fail "train draws the test split's confusion matrix: $(grep confusion train.err)"
    rows=$(((shown + 9) / 10))
    [ "$(png_size run/misclassified.png)" = "571 $((13 + rows * 68 + 1)) 0" ] ||
        fail "misclassified.png: a title line and a caption under each of $rows rows: $(png_size run/misclassified.png)"
    grep -q "wrote run/filters.png (linear1.weight: 16 of 16 units as 28x28 images)" train.err ||
        fail "an MLP's filters.png shows its first layer's units: $(grep filters train.err)"
    [ "$(png_size run/filters.png)" = "234 234 2" ] || fail "16 units: a 4x4 grid of 56 px: $(png_size run/filters.png)"
    tiny_spec '{type: flatten}' '{type: linear, units: 120, activation: relu}' '{type: linear, units: 10}' >wide.yaml
    "$DLX" train wide.yaml --out wide >/dev/null 2>wide.err || fail "train wide: $(cat wide.err)"
    grep -q "100 of 120 units as 28x28" wide.err || fail "at most 100 units are drawn: $(grep filters wide.err)"
    [ "$(png_size wide/filters.png)" = "582 582 2" ] || fail "100 units: 10x10: $(png_size wide/filters.png)"
    tiny_spec '{type: conv, filters: 16, kernel: 3, pad: 1, activation: relu}' '{type: maxpool, size: 4}' \
        '{type: flatten}' '{type: linear, units: 10}' >k3.yaml
    "$DLX" train k3.yaml --out k3 >/dev/null 2>k3.err || fail "train k3: $(cat k3.err)"
    grep -q "wrote k3/filters.png (conv1.weight, 16 filters of 3x3)" k3.err || fail "k3 filters: $(grep filters k3.err)"
    [ "$(png_size k3/filters.png)" = "202 202 2" ] || fail "16 3x3 kernels: a 4x4 grid of 48 px + 2 px borders: $(png_size k3/filters.png)"
    return 0
}

case_plot_runs() {
    local s
    for s in 3 4; do
        tiny_spec "${MLP[@]}" | sed "s/^seed: 3/seed: $s/" >s$s.yaml
        expect_status 0 train$s.out "$DLX" train s$s.yaml --out "runs/seed$s" --quiet
    done
    expect_status 0 plot.out "$DLX" plot runs/seed3/metrics.h5 runs/seed4/metrics.h5 --series test_accuracy,train_loss --out cmp.png
    grep -q "set ylabel 'test_accuracy'" cmp.png.gp || fail "the accuracy panel's y axis names the metric: $(cat cmp.png.gp)"
    grep -q "set ylabel 'train_loss'" cmp.png.gp || fail "the loss panel's y axis names the metric"
    grep -q "with points .* title 'seed3'" cmp.png.gp && grep -q "with points .* title 'seed4'" cmp.png.gp ||
        fail "one-point series (1 epoch) are points, titled with the run names: $(cat cmp.png.gp)"
    grep -q "with linespoints .* title 'seed4'" cmp.png.gp || fail "train_loss is a line titled seed4"
    grep -q "^# seed4: test_accuracy" cmp.png.dat || fail "the data names run and series"
    grep -q "^set xrange \[[0-9.e+-]*:[0-9.e+-]*\]" cmp.png.gp || fail "a one-point panel gets an explicit x range"
    if command -v gnuplot >/dev/null; then
        grep -qi "warning" plot.out && fail "gnuplot warns on a 1-epoch run: $(cat plot.out)"
        [ "$(png_size cmp.png | cut -d' ' -f1)" = 880 ] || fail "two panels of 440 px: $(png_size cmp.png)"
        expect_status 0 plot1.out "$DLX" plot runs/seed3/metrics.h5 --out one.png
        grep -qi "warning" plot1.out && fail "gnuplot warns on one 1-epoch run: $(cat plot1.out)"
    else
        note "gnuplot not installed: the scripts are checked, not rendered"
    fi
    expect_status 0 default.out "$DLX" plot runs/seed3/metrics.h5 runs/seed4/metrics.h5
    [ -f compare.png.gp ] || fail "several runs without --out: compare.png"
    mkdir -p other/seed3 && cp runs/seed3/metrics.h5 other/seed3/
    expect_status 0 same.out "$DLX" plot runs/seed3/metrics.h5 other/seed3/metrics.h5 --series test_accuracy --out same.png
    grep -q "title 'other/seed3/metrics.h5'" same.png.gp || fail "runs of one name are told apart by path: $(cat same.png.gp)"
    expect_status 2 bad.out "$DLX" plot runs/seed3/metrics.h5 runs/seed4/metrics.h5 --series trian_loss
    grep -q "no series named 'trian_loss'" bad.out || fail "an unknown series: $(cat bad.out)"
    expect_status 1 missing.out "$DLX" plot runs/seed3/metrics.h5 nothere.h5
    grep -q "nothere.h5" missing.out || fail "a missing file is named: $(cat missing.out)"
    "$DLX" plot --help >help.out || fail "plot --help"
    grep -q "METRICS.h5 \[METRICS.h5...\]" help.out && grep -q "legend names each run" help.out ||
        fail "plot --help describes several runs: $(cat help.out)"
    return 0
}

case $CASE in
eval_confusion | eval_errors | pictures | plot_runs) "case_$CASE" && echo "analysis $CASE: passed" ;;
*) echo "usage: tests/analysis.sh CASE ($CASES)" >&2; exit 1 ;;
esac
