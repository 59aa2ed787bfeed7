# The set-up every end-to-end test script shares (sourced first thing, before
# any cd):
#   . "$(dirname "$0")/lib.sh" NAME [count]
# NAME names the script in messages and its work directory. Sets
#   SRC   the source tree (DLX_SRC_DIR, else this file's parent directory)
#   DLX   the dlx binary, absolute (DLX_BIN, else $SRC/build/dlx); missing: exit 1
#   PY    the Python with numpy and h5py (need_py skips without it)
# and exports OPENBLAS_NUM_THREADS (default 1) and HDF5_USE_FILE_LOCKING=FALSE;
# DLX_DATA_DIR only where a script asks with use_real_data (the others must
# see dlx's own default).
# Two ways to fail, chosen by the second argument:
#   (default)  fail MSG exits 1 at once: for scripts of one check after another
#   count      fail DESC [LINE...] counts and goes on; check DESC EXIT TEXT CMD...
#              runs CMD and wants that exit status and TEXT in its output;
#              finish ends the script with the count
# Either way: skip MSG (exit 77), note MSG, need_py, need_h5tools, use_real_data,
# have_mnist, need_mnist,
# make_work (a fresh $WORK, removed at exit, and cd into it).
LIB_NAME=${1:?usage: . lib.sh NAME [count]}
LIB_MODE=${2:-exit}
SRC=${DLX_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SRC=$(cd "$SRC" && pwd)
DLX=${DLX_BIN:-$SRC/build/dlx}
case "$DLX" in /*) ;; *) DLX=$PWD/$DLX ;; esac
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export HDF5_USE_FILE_LOCKING=FALSE
CASE=
FAILS=0
CHECK_TIMEOUT=${CHECK_TIMEOUT:-300}

lib_label() { echo "$LIB_NAME${CASE:+ $CASE}"; }
skip() { echo "SKIP [$(lib_label)]: $*" >&2; exit 77; }
note() { echo "[$(lib_label)] $*"; }

if [ "$LIB_MODE" = count ]; then
    fail() {
        FAILS=$((FAILS + 1))
        echo "FAIL [$(lib_label)]: $1"
        shift
        local l
        for l in "$@"; do echo "  $l"; done
    }
else
    fail() { echo "FAIL [$(lib_label)]: $*" >&2; exit 1; }
fi

# check DESC EXIT TEXT CMD...: CMD (under a timeout) must exit with EXIT and
# print TEXT; its output stays in out.txt for further greps
check() {
    local desc=$1 want=$2 sub=$3 rc why=
    shift 3
    timeout "$CHECK_TIMEOUT" "$@" >out.txt 2>&1
    rc=$?
    if [ "$rc" != "$want" ] || ! grep -qF -- "$sub" out.txt; then
        [ "$rc" = 124 ] && why=' (timed out: a hang)'
        [ "$rc" -gt 128 ] && why=" (signal $((rc - 128)))"
        fail "$desc" "command: $*" "expected exit $want and output containing: $sub" "got exit $rc$why:"
        head -n 12 out.txt | sed 's/^/  | /'
    fi
}

# finish: the script's exit, after its checks
finish() {
    if [ "$FAILS" -gt 0 ]; then
        echo "$(lib_label): $FAILS check(s) failed"
        exit 1
    fi
    echo "$(lib_label): all checks passed"
    exit 0
}

need_py() { "$PY" -c 'import numpy, h5py' 2>/dev/null || skip "$PY with numpy and h5py is needed"; }
need_h5tools() {
    command -v h5diff >/dev/null || skip "h5diff not installed (hdf5-tools)"
    command -v h5dump >/dev/null || skip "h5dump not installed (hdf5-tools)"
}
have_mnist() {
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [ -e "$DLX_DATA_DIR/mnist/$f" ] || [ -e "$DLX_DATA_DIR/mnist/$f.gz" ] || return 1
    done
}
use_real_data() { export DLX_DATA_DIR=${DLX_DATA_DIR:-$SRC/datasets/data}; }
need_mnist() { have_mnist || skip "MNIST not found under $DLX_DATA_DIR/mnist (run datasets/fetch mnist)"; }

# make_work: a fresh work directory, removed at exit (a script with more to
# clean at exit sets its own trap after this and removes $WORK there)
make_work() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/dlx-$LIB_NAME.XXXXXX") || fail "mktemp failed"
    trap 'rm -rf "$WORK"' EXIT
    cd "$WORK" || fail "cannot cd to $WORK"
}

[ -x "$DLX" ] || { echo "$LIB_NAME: dlx binary '$DLX' not found (set DLX_BIN)" >&2; exit 1; }
