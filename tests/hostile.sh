#!/usr/bin/env bash
# Hostile HDF5 files against every command that reads one: checkpoints (eval,
# inspect, --resume), metrics (inspect, plot, --resume), sweep tables
# (landscape --merge), sparse-coding results (reproduce --figure-only) and
# codes (a sparse_coding run's dictionary.from). Each file in
# tests/data/hostile/ (made by make.py there) is small and well formed as HDF5
# but claims something hostile; each must end in exit 1 with a message naming
# the file and what was wrong: never a crash, a hang, a huge allocation or a
# silent success.
#   tests/hostile.sh CASE     CASE: h5 fifo hdf5_bugs
# Env: DLX_BIN, DLX_SRC_DIR, DLX_DATA_DIR. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

CHECK_TIMEOUT=60
. "$(dirname "$0")/lib.sh" hostile count
H=$SRC/tests/data/hostile
use_real_data
export OPENBLAS_NUM_THREADS=1
CASE=${1:-}
make_work

# check DESC RC SUBSTRING CMD...: CMD ends within 60 s with exit RC and

have_mnist() { [ -e "$DLX_DATA_DIR/mnist/t10k-images-idx3-ubyte" ] || [ -e "$DLX_DATA_DIR/mnist/t10k-images-idx3-ubyte.gz" ]; }

# A run directory whose checkpoint or metrics file is replaced by a hostile one.
resume_with() { # CKPT METRICS
    rm -rf run && mkdir run && cp "$1" run/checkpoint.h5 && cp "$2" run/metrics.h5
}

case_h5() {
    have_mnist || { echo "SKIP: MNIST not found under $DLX_DATA_DIR (datasets/fetch mnist)"; exit 77; }
    local spec=$SRC/tests/data/e2e/ok.yaml set=(--set data.train_limit=64 --quiet)
    check "the fixtures' base checkpoint evaluates" 0 "accuracy" "$DLX" eval "$H/ckpt_ok.h5"
    # written by dlx e509e44 (before checksums): still loads, to the same numbers
    # (the loss to 6 digits: its last ones depend on which kernel the linear
    # layers take on this CPU, 2.0798892 with OpenBLAS, 2.07988918 with AVX2's)
    check "a checkpoint of the release before checksums evaluates" 0 '"accuracy":0.3125,"error":0.6875,"loss":2.079889' \
        "$DLX" eval "$SRC/tests/data/compat/ckpt_v1_e509e44.h5" --json

    # checkpoints: eval, inspect (a checkpoint it cannot read as one is still listed), --resume
    local f msg
    while IFS='|' read -r f msg; do
        check "eval $f" 1 "$H/$f: error: $msg" "$DLX" eval "$H/$f"
        resume_with "$H/$f" "$H/metrics_ok.h5"
        check "--resume from $f" 1 "run/checkpoint.h5: error: $msg" "$DLX" train "$spec" "${set[@]}" --out run --resume
        cmp -s "$H/$f" run/checkpoint.h5 || fail "--resume from $f changed the checkpoint"
    done <<'EOF'
ckpt_version_array.h5|attribute 'version' of / holds 1000 values, not one
ckpt_step_negative.h5|/step is -5; a count of steps is never negative
ckpt_nan.h5|/params/linear1.weight holds NaN at element 3
ckpt_bitflip.h5|/params/linear1.weight fails its checksum
ckpt_external.h5|/params/linear1.weight keeps its data in external files
EOF
    check "inspect says why a dlx checkpoint is not read as one" 0 "not read as a dlx checkpoint: /step is -5" \
        "$DLX" inspect "$H/ckpt_step_negative.h5"
    check "inspect of a corrupt checkpoint" 1 "ckpt_bitflip.h5: error: /params/linear1.weight fails its checksum" \
        "$DLX" inspect "$H/ckpt_bitflip.h5"
    check "inspect never reads another file's data" 1 "keeps its data in external files" \
        "$DLX" inspect "$H/ckpt_external.h5"
    # an external link to a FIFO: refused without opening the other file
    cp "$H/ckpt_elink.h5" elink.h5 && mkfifo elink_target.h5
    check "eval of a checkpoint with an external link" 1 \
        "elink.h5: error: /params/linear1.bias goes through a soft or external link" "$DLX" eval elink.h5
    check "inspect lists a checkpoint with an external link, without following it" 0 "model kind: classifier" \
        "$DLX" inspect elink.h5
    grep -q "linear1.bias" out.txt && fail "inspect listed the external link's target"
    check "inspect of a 12-dimensional dataset" 0 "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]" "$DLX" inspect "$H/rank12.h5"

    # metrics: inspect, plot, --resume (which cuts every series back to the checkpoint's step)
    for f in metrics_rows_2e60.h5 metrics_rows_2e26.h5; do
        msg="/metrics/train_loss claims"
        check "inspect $f" 1 "$H/$f: error: $msg" "$DLX" inspect "$H/$f"
        check "plot $f" 1 "$H/$f: error: $msg" "$DLX" plot "$H/$f" --out plot.png
        resume_with "$H/ckpt_ok.h5" "$H/$f"
        check "--resume with $f" 1 "run/metrics.h5: error: $msg" "$DLX" train "$spec" "${set[@]}" --out run --resume
        cmp -s "$H/ckpt_ok.h5" run/checkpoint.h5 || fail "--resume with $f changed the checkpoint"
    done

    # sweep tables: --merge (the same reader serves --summary and resuming a sweep)
    check "merge of a good table" 0 "2 of 2 runs" "$DLX" landscape --merge merged.h5 "$H/sweep_ok.h5"
    while IFS='|' read -r f msg; do
        check "landscape --merge $f" 1 "$H/$f: error: $msg" "$DLX" landscape --merge merged.h5 "$H/sweep_ok.h5" "$H/$f"
    done <<'EOF'
sweep_runs_array.h5|attribute 'runs' of / holds 1000 values, not one
sweep_columns_array.h5|attribute 'columns' of / is not one string
sweep_runs_wrap.h5|attribute 'runs' is 4611686018427387904, not 0 to 100000000
sweep_run_out_of_range.h5|/table/run is not strictly increasing in [0, 2)
sweep_columns_long.h5|attribute 'columns': at most 32 names of at most 47 characters
EOF

    # sparse-coding results for `reproduce --figure-only`
    local table=$SRC/configs/repro/lista.yaml
    mkdir -p fig && cp "$H/results_err_array.h5" fig/results.h5
    check "reproduce --figure-only, an array where one error is expected" 1 \
        "fig/results.h5: error: /rows/ista100/err_T2 has shape [1000] but one value is expected" \
        "$DLX" reproduce "$table" --figure-only --out fig
    if command -v gnuplot >/dev/null; then
        cp "$H/results_inject.h5" fig/results.h5
        check "reproduce --figure-only, a label that tries to run a command" 0 "wrote fig/lista.png" \
            "$DLX" reproduce "$table" --figure-only --out fig
        [ ! -e PWNED ] && [ ! -e fig/PWNED ] || fail "a label from results.h5 ran a command"
    fi

    # sparse-coding codes: a dictionary.from run directory whose codes.h5 claims 2^52 rows
    mkdir -p codes && cp "$H/codes_huge.h5" codes/codes.h5
    cat >sc.yaml <<'EOF'
version: 1
name: sc
seed: 1
model: {kind: sparse_coding, algorithm: ista, atoms: 100, alpha: 0.5, T: [1, 2], dictionary: {from: codes}}
data: {dataset: patches, dir: nowhere}
EOF
    check "a codes file claiming 2^52 rows" 1 "codes/codes.h5: error: /X_test has 450359962737049600 elements" \
        "$DLX" train sc.yaml --out scrun --quiet
}

# A FIFO with no writer where an HDF5 file is read: exit 2 at once, never a hang.
case_fifo() {
    mkfifo fifo.h5 || { echo "SKIP: mkfifo failed"; exit 77; }
    check "eval of a FIFO" 2 "fifo.h5: error: cannot read HDF5 file: not a regular file (a FIFO)" "$DLX" eval fifo.h5
    check "inspect of a FIFO" 2 "fifo.h5: error: cannot read HDF5 file: not a regular file (a FIFO)" "$DLX" inspect fifo.h5
    check "plot of a FIFO" 2 "fifo.h5: error: cannot read HDF5 file: not a regular file (a FIFO)" "$DLX" plot fifo.h5 --out p.png
    check "merge of a FIFO" 2 "fifo.h5: error: cannot read HDF5 file: not a regular file (a FIFO)" "$DLX" landscape --merge m.h5 fifo.h5
    if have_mnist; then
        mkdir -p run && mkfifo run/checkpoint.h5
        check "--resume from a FIFO" 2 "run/checkpoint.h5: error: cannot read HDF5 file: not a regular file (a FIFO)" \
            "$DLX" train "$SRC/tests/data/e2e/ok.yaml" --set data.train_limit=64 --out run --resume --quiet
        rm -f run/checkpoint.h5 && cp "$H/ckpt_ok.h5" run/checkpoint.h5 && mkfifo run/metrics.h5
        check "--resume with a FIFO as metrics.h5" 2 "run/metrics.h5: error: cannot read HDF5 file: not a regular file (a FIFO)" \
            "$DLX" train "$SRC/tests/data/e2e/ok.yaml" --set data.train_limit=64 --out run --resume --quiet
    fi
}

# Files on which HDF5 1.10 itself crashes, over-reads or leaks
# (tests/fuzz/hdf5_bugs/): dlx refuses each with exit 1, never a crash.
case_hdf5_bugs() {
    local f n=0
    for f in "$SRC"/tests/fuzz/hdf5_bugs/*; do
        [ "${f##*/}" = README.md ] && continue
        cp "$f" bug.h5
        check "inspect of ${f##*/}" 1 "bug.h5: error:" "$DLX" inspect bug.h5
        check "eval of ${f##*/}" 1 "bug.h5: error:" "$DLX" eval bug.h5
        n=$((n + 1))
    done
    [ "$n" -ge 9 ] || fail "only $n files in tests/fuzz/hdf5_bugs/"
}

case "$CASE" in
h5) case_h5 ;;
fifo) case_fifo ;;
hdf5_bugs) case_hdf5_bugs ;;
*) echo "usage: tests/hostile.sh h5|fifo|hdf5_bugs" >&2; exit 1 ;;
esac
finish
