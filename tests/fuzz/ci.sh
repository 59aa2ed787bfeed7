#!/usr/bin/env bash
# The bounded fuzz run of CI (meson test suite 'fuzz'; tests/test.sh runs it):
# builds the harnesses (tests/fuzz/run.sh) and runs every target with a fixed
# seed for a fixed number of runs (at most DLX_FUZZ_CI_SECONDS, default 60, on
# a slow machine) on a fresh copy of its seed corpus. Fails if a target leaves
# a crash, leak, timeout or oom artifact that is not HDF5's own (see below),
# unless that target has known-bad inputs in tests/fuzz/pending/; the run's logs and
# artifacts stay in $DLX_FUZZ_DIR/<target>/. Skips (exit 77) without clang or
# libFuzzer.
# The objects are kept in $DLX_FUZZ_DIR/obj, so a second run only relinks.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC_FUZZ:-clang}
command -v "$cc" >/dev/null || { echo "ci.sh: $cc not found; skipping the fuzz run"; exit 77; }
probe=$(mktemp -d)
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' > "$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" 2>/dev/null; then
    rm -rf "$probe"
    echo "ci.sh: $cc cannot link -fsanitize=fuzzer (install libclang-rt-dev); skipping the fuzz run"
    exit 77
fi
rm -rf "$probe"
export DLX_FUZZ_DIR=${DLX_FUZZ_DIR:-/tmp/dlx-fuzz-ci}
targets=(spec idx h5 metrics inspect sweep figure codes)
for t in "${targets[@]}"; do
    rm -rf "${DLX_FUZZ_DIR:?}/$t" # last run's corpus and artifacts
done
start=$(date +%s)
# a fixed seed and a fixed number of runs per target, so that CI is
# repeatable (the time limit only bounds a slow machine)
declare -A runs=([spec]=100000 [idx]=20000 [h5]=3000 [metrics]=2000 [inspect]=3000 [sweep]=3000 [figure]=3000 [codes]=3000)
for t in "${targets[@]}"; do
    DLX_FUZZ_ARGS="-seed=1 -runs=${runs[$t]}" "$here/run.sh" "${DLX_FUZZ_CI_SECONDS:-60}" "$t"
    built=$?
    [ "$built" -le 1 ] || { echo "ci.sh: run.sh failed with status $built"; exit 1; }
done
echo "ci.sh: ${#targets[@]} targets in $(( $(date +%s) - start )) s"
# A target with inputs in tests/fuzz/pending/<target>/ is known to break until
# its reader is fixed: its artifacts are listed, not counted. Moving the last
# pending input out makes the target count again.
rc=0
for t in "${targets[@]}"; do
    found=$(ls "$DLX_FUZZ_DIR/$t"/crash-* "$DLX_FUZZ_DIR/$t"/leak-* "$DLX_FUZZ_DIR/$t"/timeout-* \
               "$DLX_FUZZ_DIR/$t"/oom-* 2>/dev/null)
    [ -n "$found" ] || continue
    # HDF5 1.10 crashes on some corrupt metadata by itself. dlx refuses such a
    # file before HDF5 parses it (the probe of core/h5probe.c) or reads its
    # variable-length strings in a child; the harnesses turn both off for
    # speed. So an input is replayed the way dlx reads it: one the probe
    # refuses (3), or that then ends without a crash (4), is HDF5's, not a
    # reader's (keep one in tests/fuzz/hdf5_bugs/ if it is new)
    if [ "$t" != spec ] && [ "$t" != idx ]; then
        ours=""
        for a in $found; do
            msg=$(ASAN_OPTIONS=allocator_may_return_null=1:suppressions="$here/asan.supp" \
                  LSAN_OPTIONS=suppressions="$here/lsan.supp":print_suppressions=0 \
                  timeout 120 "$DLX_FUZZ_DIR/probe" "$a" "$t" 2>/dev/null)
            st=$?
            if [ $st = 3 ]; then
                echo "fuzz_$t: $(basename "$a") crashes HDF5 itself; dlx refuses it: $msg"
            elif [ $st = 4 ]; then
                echo "fuzz_$t: $(basename "$a") crashes HDF5 itself; dlx reads it without a crash"
            else
                ours="$ours $a"
            fi
        done
        found=$ours
        [ -n "$found" ] || continue
    fi
    if [ -n "$(ls -A "$here/pending/$t" 2>/dev/null)" ]; then
        echo "fuzz_$t: known to break (tests/fuzz/pending/$t/ is not empty), not counted:" $found
        continue
    fi
    rc=1
    echo "== fuzz_$t FAILED: $found; the end of $DLX_FUZZ_DIR/$t/log:"
    tail -60 "$DLX_FUZZ_DIR/$t/log"
done
exit $rc
