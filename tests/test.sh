#!/bin/bash
# The whole test suite: installs dependencies, fetches the real datasets, builds
# dlx twice (release, and AddressSanitizer + UBSan), runs the unit and
# end-to-end tests in both, and prints the totals as "N passed, N failed".
set -u
cd "$(dirname "$0")/.."

tests/build.sh build || exit 1
tests/build.sh build-asan -Db_sanitize=address,undefined -Dbuildtype=debugoptimized -Db_lundef=false || exit 1
# valgrind cannot run AVX-512 code: a portable build of the binary for the valgrind case
if command -v valgrind >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && apt-get install -y -qq valgrind >/dev/null; }; then
    tests/build.sh build-portable -Dnative=false -Dbuildtype=debugoptimized >/dev/null || exit 1
    export DLX_VALGRIND_BIN=$PWD/build-portable/dlx
fi
# the ONNX export tests: onnxruntime-node (npm) runs the models, python3-onnx
# checks them; python3-h5py (with numpy) reads the HDF5 files of the
# end-to-end tests; without them those cases skip
if [ "$(id -u)" = 0 ]; then
    for p in nodejs npm python3-onnx python3-h5py; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
    done
fi
tests/onnx_runtime.sh --install >/dev/null || echo "tests/test.sh: no ONNX runtime; the export tests will skip" >&2
datasets/fetch mnist || exit 1
datasets/fetch fashion-mnist || exit 1

passed=0
failed=0
count() { # add meson's "Ok:" and "Fail:"/"Timeout:" lines from a log
    local ok fail
    ok=$(grep -E '^Ok:' "$1" | awk '{s+=$2} END {print s+0}')
    fail=$(grep -E '^(Fail|Timeout|Unexpected Pass):' "$1" | awk '{s+=$NF} END {print s+0}')
    passed=$((passed + ok))
    failed=$((failed + fail))
}

log=$(mktemp)
meson test -C build --print-errorlogs 2>&1 | tee "$log"
count "$log"
# leaks and memory errors: unit suites and the fast e2e cases under sanitizers
# (HDF5 1.10 leaks what it was loading when a corrupt file makes a call fail:
# tests/fuzz/lsan.supp suppresses blocks malloc'd by libhdf5 itself)
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0 meson test -C build-asan --print-errorlogs --suite unit \
    --suite e2e --no-suite slow --no-suite mpi 2>&1 | tee "$log"
count "$log"
# training over MPI ranks under the sanitizers, memory errors only: OpenMPI keeps
# about 120 KB of its plugins' strings at exit (allocated in plugins it has
# unloaded, so no suppression can name them)
ASAN_OPTIONS=detect_leaks=0 meson test -C build-asan --print-errorlogs --suite mpi 2>&1 | tee "$log"
count "$log"
rm -f "$log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
