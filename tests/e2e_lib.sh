# The harness tests/e2e.sh and tests/e2e_train.sh share, sourced first thing
# (before any cd) with the script's arguments:
#   . "$(dirname "$0")/e2e_lib.sh" "$@" || exit 1
# and ended with the script's list of cases:
#   e2e_main CASE...
# e2e_main runs case_$CASE (CASE is the first argument) when CASE is in the
# list, else prints the usage and exits 2. Exit status: 0 pass, 1 fail (each
# failed check says command, expected and actual), 77 skip.
#
# The dlx binary: $DLX_BIN, else $MESON_BUILD_ROOT/dlx, else
# $DLX_SRC_DIR/build/dlx. Data: $DLX_DATA_DIR, else $DLX_SRC_DIR/datasets/data.
# Everything runs in a temporary directory ($T) that is removed on exit.
# Sets SRC, FIX (tests/data/e2e), CONFIGS, DLX, DATA, T, FAKE (where make_fake
# writes) and HAVE_H5PY; defines run, check, expect_in, expect_not_in, fail,
# note, have, json_field, png_ok, make_fake (and the IDX writers it uses),
# h5_has and metric_steps. (tests/lib.sh is the other scripts' harness: its
# check and fail work differently, so these cases keep their own.)

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

png_ok() {
    [ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
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

# e2e_main CASE...: the script's main, its last line: run case_$CASE if CASE
# is one of the names given (else print the usage and exit 2), then exit 0 if
# every check passed, 1 if one failed.
e2e_main() {
    local e2e_name e2e_known=
    for e2e_name in "$@"; do
        [ "$e2e_name" = "$CASE" ] && e2e_known=1
    done
    if [ -z "$e2e_known" ]; then
        echo "usage: tests/$(basename "$0") CASE   ($*)" >&2
        exit 2
    fi

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
}
