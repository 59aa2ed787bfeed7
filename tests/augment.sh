#!/usr/bin/env bash
# Training-data features of the classifier family, end to end
# (tests/augment.sh CASE), on a tiny fake MNIST written here:
#   augment_resume   data.augment (affine and elastic) stopped mid-epoch and
#                    resumed == an uninterrupted run, bit for bit
#   augment_threads  1 and 2 threads give the same bits with data.augment
#   augment_changes  augmentation changes training (other parameters than
#                    without it), each part alone too; augmented.png is
#                    written with it and not without it
#   augment_errors   unknown or misplaced keys, values out of range, elastic
#                    without sigma, data.augment in a GAN: exit 2 at the line
# Env: DLX_BIN, DLX_SRC_DIR. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

. "$(dirname "$0")/lib.sh" augment count
. "$SRC/tests/h5same.sh"
export OPENBLAS_NUM_THREADS=1
CASE=${1:-}
need_h5tools
make_work

. "$SRC/tests/fake_mnist.sh"
make_fake "$WORK/fake" 200

# differ DESC A B: the two runs' parameters are not the same.
differ() {
    h5diff "$2/checkpoint.h5" "$3/checkpoint.h5" /params /params >h5diff.out 2>&1 &&
        fail "$1: the parameters are identical"
}

# A small CNN on the fake data: 200 images, batch 20 (two shards of 10),
# 10 steps an epoch, every kind of distortion on.
cat >aug.yaml <<EOF
version: 1
name: aug
seed: 3
model:
  kind: classifier
  layers:
    - {type: conv, filters: 4, kernel: 5, activation: relu}
    - {type: maxpool, size: 2}
    - {type: flatten}
    - {type: linear, units: 10}
data:
  dataset: mnist
  dir: $WORK/fake
  mean: 0.5
  std: 0.3
  augment: {shift: 2, rotate: 12, scale: 0.1, elastic: {alpha: 8, sigma: 3}}
train:
  epochs: 3
  batch: 20
  optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
EOF

case_augment_resume() {
    check "augmented straight run" 0 '"step":30' "$DLX" train aug.yaml --out straight --json --quiet
    check "augmented run stopped at step 15 (mid-epoch)" 0 "stopped at step 15 of 30" \
        "$DLX" train aug.yaml --out split --stop-at 15
    check "... and resumed" 0 "resuming from split/checkpoint.h5 at step 15" "$DLX" train aug.yaml --out split --resume
    same "augmented: stopped at 15 + resumed == straight" straight split
}

case_augment_threads() {
    check "augmented, 1 thread" 0 '"step":30' "$DLX" train aug.yaml --threads 1 --out t1 --json --quiet
    check "augmented, 2 threads" 0 '"step":30' "$DLX" train aug.yaml --threads 2 --out t2 --json --quiet
    same "augmented: 1 thread == 2 threads" t1 t2
}

case_augment_changes() {
    check "augmented run" 0 "augmented.png" "$DLX" train aug.yaml --out on --set train.epochs=1
    [ -s on/augmented.png ] || fail "augmented.png is written when data.augment is on"
    check "the same run without data.augment" 0 '"step":10' "$DLX" train aug.yaml --out off --set train.epochs=1 \
        --set 'data.augment={}' --json
    [ -e off/augmented.png ] && fail "no augmented.png without augmentation"
    differ "augmentation changes training" on off
    local part
    for part in '{shift: 1}' '{rotate: 5}' '{scale: 0.05}' '{elastic: {alpha: 4, sigma: 2}}'; do
        check "data.augment=$part trains" 0 '"step":10' "$DLX" train aug.yaml --out "p$FAILS$RANDOM" \
            --set train.epochs=1 --set "data.augment=$part" --json --quiet
        local dir
        dir=$(ls -td p*/ | head -n 1)
        differ "data.augment=$part alone changes training" "$dir" off
    done
}

case_augment_errors() {
    check "an unknown augment key" 2 "'rotation' is not a key of data.augment" \
        "$DLX" train aug.yaml --out e --set 'data.augment={rotation: 5}'
    grep -qE "aug\.yaml:[0-9]+:[0-9]+|<--set>" out.txt || fail "the unknown key's location is named" "$(head -n 2 out.txt)"
    check "a rotation over 180 degrees" 2 "data.augment.rotate" "$DLX" train aug.yaml --out e --set 'data.augment={rotate: 200}'
    check "a scale of 1 or more" 2 "data.augment.scale" "$DLX" train aug.yaml --out e --set 'data.augment={scale: 1.5}'
    check "a negative shift" 2 "data.augment.shift" "$DLX" train aug.yaml --out e --set 'data.augment={shift: -1}'
    check "elastic without sigma" 2 "sigma" "$DLX" train aug.yaml --out e --set 'data.augment={elastic: {alpha: 3}}'
    check "augment as a list" 2 "data.augment" "$DLX" train aug.yaml --out e --set 'data.augment=[1, 2]'
    sed 's/^  augment:/augment:/' aug.yaml >top.yaml
    check "augment at the top level" 2 "'augment' is not a" "$DLX" train top.yaml --out e
    [ -e e ] && fail "no run directory for a refused spec"
    check "data.augment is the classifier's: a GAN refuses it" 2 "'augment' is not a key of data" \
        "$DLX" train "$SRC/tests/data/gan/mnist_gan.yaml" --out e --set "data.dir=$WORK/fake" --set 'data.augment={shift: 1}'
}

case "$CASE" in
augment_resume | augment_threads | augment_changes | augment_errors) "case_$CASE" ;;
*)
    echo "usage: tests/augment.sh CASE (augment_resume augment_threads augment_changes augment_errors)" >&2
    exit 1
    ;;
esac
finish
