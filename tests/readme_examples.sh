#!/usr/bin/env bash
# The README's command examples, run as written and in the order written
# (the block under "## Commands"), in a fresh working directory, on small
# fake datasets so that CI can afford them: every `dlx ...` line must exit 0.
# The few that cannot run here are listed in SKIP with the reason; a README
# line that is neither run nor listed fails the test, so the list cannot go
# stale. `dlx gradcheck` lines read the real MNIST (datasets/fetch mnist).
# Exit 0 pass, 1 fail, 77 skip (no h5dump).
#
# Env: DLX_BIN (the dlx binary; default build/dlx), DLX_SRC_DIR (source root).
set -u
. "$(dirname "$0")/lib.sh" readme_examples
command -v h5dump >/dev/null || { echo "SKIP: h5dump not installed (hdf5-tools)"; exit 77; }

# Lines that are not run here, by their text up to the comment, and why.
declare -A SKIP=(
    ["dlx reproduce configs/repro/lista.yaml"]="natural photographs and 10 rows of training (minutes); tests/e2e.sh sparse_coding and tests/trainer.sh rnn_reproduce run dlx reproduce"
    ["dlx landscape configs/landscape/choromanska2015.yaml --jobs 2"]="the full sweep (hundreds of runs); the next line runs the same sweep shrunk with --set"
    ["datasets/fetch mnist"]="downloads; tests/test.sh runs it"
)

W=$(mktemp -d "${TMPDIR:-/tmp}/dlx-readme.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$W"' EXIT
cd "$W" || fail "cannot cd to $W"
ln -s "$SRC/configs" configs
. "$SRC/tests/fake_mnist.sh"
# 6,000 images: LeNet-5's 10 epochs are 940 steps, and data.validation=5000 fits
make_fake data/mnist 6000 1
make_fake data/fashion-mnist 6000 2
export DLX_DATA_DIR=$W/data OPENBLAS_NUM_THREADS=1

# the block's lines, comments cut (a '#' after two spaces starts one)
sed -n '/^## Commands$/,/^## /p' "$SRC/README.md" | sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' |
    sed 's/  *#.*$//' | sed 's/ *$//' | grep -v '^$' >commands.txt
[ "$(wc -l <commands.txt)" -ge 20 ] || fail "found only $(wc -l <commands.txt) commands in README.md's Commands block"

n=0 ran=0 skipped=0
while IFS= read -r line; do
    n=$((n + 1))
    if [ -n "${SKIP[$line]+x}" ]; then
        echo "skip: $line  (${SKIP[$line]})"
        skipped=$((skipped + 1))
        continue
    fi
    case "$line" in
    dlx\ *) ;;
    *) fail "line $n is neither a dlx command nor in SKIP: $line" ;;
    esac
    # a finite-difference check on uniformly random pixels crosses ReLU kinks
    # far more often than on digits: dlx gradcheck lines read the real MNIST
    data=$W/data
    case "$line" in
    "dlx gradcheck "*)
        if [ -e "$SRC/datasets/data/mnist/train-images-idx3-ubyte" ] ||
            [ -e "$SRC/datasets/data/mnist/train-images-idx3-ubyte.gz" ]; then
            data=$SRC/datasets/data
        else
            echo "skip: $line  (needs the real MNIST: datasets/fetch mnist)"
            skipped=$((skipped + 1))
            continue
        fi
        ;;
    esac
    t0=$(date +%s.%N)
    DLX_DATA_DIR=$data eval "\"\$DLX\" ${line#dlx }" </dev/null >out.$n.txt 2>&1
    rc=$?
    [ $rc -eq 0 ] || fail "README command $n exited $rc: $line
$(tail -n 8 out.$n.txt)"
    printf 'ok %5.1f s: %s\n' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" "$line"
    ran=$((ran + 1))
done <commands.txt
echo "readme_examples: $ran README commands ran as written, $skipped skipped (listed above)"
