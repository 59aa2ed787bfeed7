#!/usr/bin/env bash
# A long fuzz run of one target that goes on past HDF5's own crashes, for the
# execution counts the README and the issues quote:
#   [DLX_FUZZ_FORK=N] tests/fuzz/long.sh TARGET RUNS [MAX_SECONDS]
# Builds with run.sh, then runs libFuzzer in fork mode (-fork=N, default 1
# -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1) until RUNS executions
# or MAX_SECONDS (default 6 h). Every crash, leak, timeout or oom input is then
# replayed the way dlx reads it (probe of tests/fuzz/probe.c, as ci.sh does):
# HDF5's own (the probe refuses it, or dlx then reads it without a crash) are
# counted and dropped; any other is dlx's and is kept in $DLX_FUZZ_DIR/TARGET/ours/.
# Prints "fuzz_TARGET: N executions, H HDF5-own, D dlx's" and exits 1 if D > 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
t=${1:?usage: long.sh TARGET RUNS [MAX_SECONDS]}
runs=${2:?usage: long.sh TARGET RUNS [MAX_SECONDS]}
secs=${3:-21600}
export DLX_FUZZ_DIR=${DLX_FUZZ_DIR:-/tmp/dlx-fuzz-long}
work=$DLX_FUZZ_DIR/$t
# build only (a one-second run), then the long run in fork mode
DLX_FUZZ_ARGS="-runs=0" "$here/run.sh" 1 "$t" >/dev/null 2>&1
[ -x "$DLX_FUZZ_DIR/fuzz_$t" ] || { echo "long.sh: building fuzz_$t failed" >&2; exit 2; }
mkdir -p "$work/corpus" "$work/art"
cp -n "$here/corpus/$t/"* "$work/corpus/" 2>/dev/null || true
extra=()
[ "$t" = spec ] && extra=(-dict="$here/spec.dict")
start=$(date +%s)
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:suppressions="$here/asan.supp" \
LSAN_OPTIONS=suppressions="$here/lsan.supp":print_suppressions=0 \
    "$DLX_FUZZ_DIR/fuzz_$t" "$work/corpus" -fork="${DLX_FUZZ_FORK:-1}" -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
        -runs="$runs" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
        -malloc_limit_mb=16384 -artifact_prefix="$work/art/" "${extra[@]}" > "$work/long.log" 2>&1
# fork mode's status lines: "#N: cov: ... exec/s: E ..." with N the total executions
n=$(grep -oE '^#[0-9]+' "$work/long.log" | tail -1 | tr -d '#')
hdf5=0
ours=0
mkdir -p "$work/ours"
for a in "$work"/art/*; do
    [ -e "$a" ] || continue
    if [ "$t" != spec ] && [ "$t" != idx ]; then
        ASAN_OPTIONS=allocator_may_return_null=1:suppressions="$here/asan.supp" \
        LSAN_OPTIONS=suppressions="$here/lsan.supp":print_suppressions=0 \
            timeout 120 "$DLX_FUZZ_DIR/probe" "$a" "$t" >/dev/null 2>&1
        st=$?
        if [ $st = 3 ] || [ $st = 4 ]; then
            hdf5=$((hdf5 + 1))
            rm -f "$a"
            continue
        fi
    fi
    ours=$((ours + 1))
    mv "$a" "$work/ours/"
done
echo "fuzz_$t: ${n:-0} executions in $(( $(date +%s) - start )) s, $hdf5 HDF5-own crash inputs, $ours dlx's (in $work/ours/)"
[ $ours = 0 ]
