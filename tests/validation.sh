#!/usr/bin/env bash
# A validation split and early stopping, end to end (tests/validation.sh CASE):
#   validation_split  data.validation: N holds the training split's last N
#                     samples out: an epoch has fewer steps, training gives
#                     the very parameters of data.train_limit: n - N (the
#                     held-out samples are never read), val_loss,
#                     val_accuracy and val_error in metrics.h5, --json and the
#                     epoch lines
#   validation_errors a split that leaves nothing or less than a batch, a
#                     val_ metric without a split, an unknown metric, eval_every
#                     0, a bad early_stopping key, data.validation in a GAN:
#                     exit 2 at the line; a metric another family's evaluation
#                     does not give: exit 2 at its first evaluation, listing
#                     the ones it gives
#   early_stop        on noisy labels val_loss turns up: training stops at the
#                     epoch `patience` past the best one of metrics.h5's series
#                     (computed here); best.h5 holds that epoch (its step, its
#                     /state/early_stopping.best, and the parameters of a run
#                     stopped at that step); dlx eval reads best.h5; mode max
#                     on val_accuracy; --force removes an old best.h5
#   early_resume      stopped mid-way and resumed == uninterrupted (checkpoint,
#                     metrics and best.h5 bit for bit, the same stopping epoch);
#                     --resume after the stop trains no further; a run that
#                     ends at its last epoch can be extended
# Env: DLX_BIN, DLX_SRC_DIR. Exit 0 pass, 1 fail, 77 skip (no python3 with
# numpy and h5py, or no h5diff).
set -uo pipefail

. "$(dirname "$0")/lib.sh" validation count
. "$SRC/tests/h5same.sh"
export OPENBLAS_NUM_THREADS=1
CASE=${1:-}
need_py
need_h5tools
make_work

# MNIST-shaped data that can be learned, with noisy training labels: class k
# is a brighter 6x4 block at its own place on uniform noise; 40 % of the
# training labels are random (the test split has the true ones), so a small
# MLP first learns, then memorises the noise and its val_loss turns up.
"$PY" - "$WORK/data" 300 <<'EOF' || { echo "FAIL: cannot write the data"; exit 1; }
import numpy as np, os, struct, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(5)
lab = np.arange(n) % 10
img = rng.integers(0, 160, size=(n, 28, 28)).astype(np.uint8)
for i in range(n):
    r, c = 4 + (lab[i] // 5) * 12, 2 + (lab[i] % 5) * 5
    img[i, r:r + 6, c:c + 4] = np.minimum(255, img[i, r:r + 6, c:c + 4].astype(int) + 60)
noisy = lab.copy()
flip = rng.random(n) < 0.4
noisy[flip] = rng.integers(0, 10, flip.sum())
def write(prefix, labels):
    with open(prefix + '-images-idx3-ubyte', 'wb') as f:
        f.write(struct.pack('>IIII', 0x803, n, 28, 28) + img.tobytes())
    with open(prefix + '-labels-idx1-ubyte', 'wb') as f:
        f.write(struct.pack('>II', 0x801, n) + labels.astype(np.uint8).tobytes())
write(d + '/train', noisy)
write(d + '/t10k', lab)
EOF

# 300 samples, 100 held out: 200 / batch 20 = 10 steps an epoch.
cat >es.yaml <<EOF
version: 1
name: es
seed: 3
model:
  kind: classifier
  layers:
    - {type: flatten}
    - {type: linear, units: 64, activation: relu}
    - {type: linear, units: 10}
data:
  dataset: mnist
  dir: $WORK/data
  mean: 0.5
  std: 0.3
  validation: 100
train:
  epochs: 30
  batch: 20
  optimizer: {type: sgd, lr: 0.02, momentum: 0.9}
  early_stopping: {metric: val_loss, patience: 3}
EOF

sed '/early_stopping/d' es.yaml >plain.yaml # the same run without early stopping

case_validation_split() {
    check "100 held out: 10 steps an epoch" 0 '"step":20,' "$DLX" train plain.yaml --set train.epochs=2 --out val --json
    grep -qE 'epoch 1/2 +step 10 .* val loss [0-9.]+ acc [0-9.]+ +test loss' out.txt ||
        fail "the epoch line shows val loss and acc before test" "$(grep '^epoch' out.txt | head -n 1)"
    for k in val_loss val_accuracy val_error; do
        grep -qF "\"$k\":" out.txt || fail "--json has $k"
    done
    check "metrics.h5 has the validation series" 0 "/metrics/val_accuracy" "$DLX" inspect val/metrics.h5
    grep -qE '/metrics/val_loss +2 rows' out.txt || fail "val_loss: one row per epoch" "$(grep val_loss out.txt)"
    check "none held out: 15 steps an epoch" 0 '"step":30,' "$DLX" train plain.yaml --set train.epochs=2 \
        --set data.validation=0 --out all --json --quiet
    sed 's/validation: 100/train_limit: 200/' plain.yaml >limit.yaml
    check "data.train_limit: 200 instead" 0 '"step":20,' "$DLX" train limit.yaml --set train.epochs=2 --out limit --json --quiet
    h5diff val/checkpoint.h5 limit/checkpoint.h5 /params /params >h5diff.out 2>&1 ||
        fail "validation: 100 trains on exactly the first 200 samples (the parameters of train_limit: 200)" \
            "$(grep -v ' 0 differences' h5diff.out | head -n 4)"
    h5diff val/checkpoint.h5 all/checkpoint.h5 /params /params >/dev/null 2>&1 &&
        fail "holding samples out changes training"
    "$PY" - val/metrics.h5 limit/metrics.h5 <<'EOF' || fail "the held-out samples' metrics"
import h5py, sys
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
assert 'val_loss' not in b['metrics'], 'a run without a validation split logs no val_loss'
va = a['metrics/val_accuracy'][()][:, 1]
assert all(0 <= v <= 1 for v in va) and all(abs(x * 100 - round(x * 100)) < 1e-9 for x in va), va  # k of 100
EOF
}

case_validation_errors() {
    check "every sample held out" 2 "holding out 300 of the 300 training samples leaves none" \
        "$DLX" train es.yaml --out e --set data.validation=300
    grep -qE 'es\.yaml:1[0-9]:|<--set>' out.txt || fail "the message names the key's place" "$(head -n 1 out.txt)"
    check "less than a batch left" 2 "train.batch: 20 is larger than the 10 training samples left" \
        "$DLX" train es.yaml --out e --set data.validation=290
    check "val_loss without a validation split" 2 "val_loss needs a validation split: set data.validation" \
        "$DLX" train es.yaml --out e --set data.validation=0
    check "an unknown metric" 2 "the classifier's evaluation has no 'val_los'" \
        "$DLX" train es.yaml --out e --set train.early_stopping.metric=val_los
    check "early stopping with eval_every 0" 2 "train.eval_every is 0" \
        "$DLX" train es.yaml --out e --set train.eval_every=0
    check "a bad early_stopping key" 2 "'patients' is not a key of train.early_stopping" \
        "$DLX" train es.yaml --out e --set train.early_stopping.patients=2
    check "patience 0" 2 "patience" "$DLX" train es.yaml --out e --set train.early_stopping.patience=0
    check "an unknown mode" 2 "mode" "$DLX" train es.yaml --out e --set train.early_stopping.mode=lowest
    check "data.validation is the classifier's: a GAN refuses it" 2 "'validation' is not a key of data" \
        "$DLX" train "$SRC/tests/data/gan/mnist_gan.yaml" --out e --set "data.dir=$WORK/data" --set data.validation=10
    [ -e e ] && fail "no run directory for a refused spec"
    # the loop's own check, for any family: the metric must be one the evaluation gives
    check "a metric the recurrent family's evaluation does not give" 2 \
        "train.early_stopping.metric: the evaluation gives no 'recall_acc' (it gives: train_loss, test_loss, baseline, recall_accuracy)" \
        "$DLX" train "$SRC/tests/data/rnn/copy.yaml" --out rnn --set 'train.early_stopping={metric: recall_acc}'
}

# expect_stop DIR METRIC PATIENCE MODE: the run in DIR stopped at the epoch
# PATIENCE past the best of its METRIC series (first best; MODE min or
# max), and best.h5 holds that epoch and value.
expect_stop() {
    "$PY" - "$@" <<'EOF'
import h5py, sys
d, metric, patience, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = h5py.File(d + '/metrics.h5', 'r')['metrics/' + metric][()]
vals = list(rows[:, 1])
best = 0
for e, v in enumerate(vals):
    if (v < vals[best]) if mode == 'min' else (v > vals[best]):
        best = e
stop = best + patience  # 0-based index of the stopping epoch
assert len(vals) == stop + 1, f'{len(vals)} evaluations, expected the stop at epoch {stop + 1} (best {best + 1}: {vals})'
ck = h5py.File(d + '/checkpoint.h5', 'r')
assert int(ck['epoch'][()]) == stop + 1, int(ck['epoch'][()])
b = h5py.File(d + '/best.h5', 'r')
assert int(b['epoch'][()]) == best + 1 and int(b['step'][()]) == int(rows[best, 0]), (int(b['epoch'][()]), best)
assert b['state/early_stopping.best'][()] == vals[best]
assert b['state/early_stopping.best_epoch'][()] == best + 1
print(best + 1, stop + 1, int(rows[best, 0]))
EOF
}

case_early_stop() {
    check "early stopping on val_loss" 0 "early stopping after epoch" "$DLX" train es.yaml --out es
    local got best stop step
    got=$(expect_stop es val_loss 3 min) || fail "stopped 3 epochs after the best val_loss" "$got"
    read -r best stop step <<<"$got"
    [ "$best" -ge 2 ] || fail "the tiny case improves at least once after epoch 1 (best epoch $best)"
    [ "$stop" -lt 30 ] || fail "the run stopped before its 30 epochs"
    grep -qF "early stopping after epoch $stop: val_loss has not improved" out.txt &&
        grep -qF "best.h5 holds epoch $best" out.txt || fail "the stop is reported" "$(grep early out.txt)"
    grep -qE "^best_epoch +$best\$" out.txt && grep -qE "^best_val_loss " out.txt ||
        fail "the summary names the best epoch and value" "$(grep best out.txt)"
    check "dlx eval reads best.h5" 0 "step             $step" "$DLX" eval es/best.h5
    check "a run stopped at the best step" 0 "stopped at step $step" "$DLX" train es.yaml --out at --stop-at "$step"
    h5diff es/best.h5 at/checkpoint.h5 /params /params >h5diff.out 2>&1 ||
        fail "best.h5 holds the best epoch's parameters" "$(grep -v ' 0 differences' h5diff.out | head -n 4)"
    check "early stopping on val_accuracy (mode max by its name)" 0 "" "$DLX" train es.yaml --out acc \
        --set train.early_stopping.metric=val_accuracy --set train.early_stopping.patience=2
    got=$(expect_stop acc val_accuracy 2 max) || fail "stopped 2 epochs after the best val_accuracy" "$got"
    [ -e acc/best.h5 ] || fail "best.h5 with val_accuracy"
    check "--force replaces the run and its best.h5" 0 "" "$DLX" train plain.yaml --out acc --force --set train.epochs=1
    [ -e acc/best.h5 ] && fail "--force removed the old run's best.h5"
}

case_early_resume() {
    check "straight" 0 "early stopping after epoch" "$DLX" train es.yaml --out straight
    local line
    line=$(grep "early stopping after" out.txt)
    check "stopped at step 25, mid-epoch 3" 0 "stopped at step 25" "$DLX" train es.yaml --out split --stop-at 25
    check "... resumed" 0 "resuming from split/checkpoint.h5 at step 25" "$DLX" train es.yaml --out split --resume
    grep -qF "$line" out.txt || fail "the resumed run stops at the same epoch" "$line" "$(grep early out.txt)"
    same "early stopping: stopped at 25 + resumed == straight" straight split checkpoint.h5 metrics.h5 best.h5
    local sum
    sum=$(sha1sum straight/checkpoint.h5)
    check "--resume after the stop trains no further" 0 "already stopped early after epoch" \
        "$DLX" train es.yaml --out straight --resume
    [ "$(sha1sum straight/checkpoint.h5)" = "$sum" ] || fail "the stopped run's checkpoint stays as it was"
    # a run that reaches its last epoch has not stopped early: it can be extended
    check "2 epochs, no stop" 0 '"best_epoch":2' "$DLX" train es.yaml --set train.epochs=2 --out two --json --quiet
    check "... extended by 1" 0 "train.epochs 2 -> 3" "$DLX" train es.yaml --set train.epochs=2 --out two --extend-epochs 1
    grep -qF "already stopped" out.txt && fail "a run that ended at its last epoch is not stopped early"
    check "the extended run went on" 0 "step: 30" "$DLX" inspect two/checkpoint.h5
}

case "$CASE" in
validation_split | validation_errors | early_stop | early_resume) "case_$CASE" ;;
*)
    echo "usage: tests/validation.sh CASE (validation_split validation_errors early_stop early_resume)" >&2
    exit 1
    ;;
esac
finish
