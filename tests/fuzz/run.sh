#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, -fsanitize=fuzzer,address,undefined)
# against every core/, train/, models/ and experiments/ source and run each target for SECONDS
# (default 60).
#   tests/fuzz/run.sh [SECONDS] [TARGET]...
# Targets (tests/fuzz/targets.h, targets_h5.h): spec idx h5 metrics inspect
# sweep figure codes; none named = all. One harness, tests/fuzz/fuzz.c, is
# built once per target with -DFUZZ_TARGET. Work files (objects, binaries, the
# growing corpus, crash artifacts) go to $DLX_FUZZ_DIR (default /tmp/dlx-fuzz);
# the seed corpus in tests/fuzz/corpus/ is only read. A crash input is left as
# $DLX_FUZZ_DIR/<target>/crash-*; copy it to tests/fuzz/regress/<target>/ once
# fixed (tests/test_fuzz_regress.c replays that directory in the normal build),
# to tests/fuzz/pending/<target>/ while it still crashes dlx, or to
# tests/fuzz/hdf5_bugs/ when every frame below dlx is libhdf5 (see its README).
# Exit status 1 if a target crashed, leaked or hung, 2 if the build failed. HDF5, libyaml and zlib
# themselves are not instrumented; asan.supp and lsan.supp silence HDF5's own
# over-read and leaks on corrupt files, and -malloc_limit_mb lets HDF5 ask for
# the gigabytes a corrupt size field names (it fails cleanly; -rss_limit_mb
# still bounds what is really used).
# Environment: DLX_FUZZ_JOBS compiler processes (default 2); DLX_FUZZ_ARGS
# extra libFuzzer flags (e.g. -runs=1000000 instead of a time limit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec idx h5 metrics inspect sweep figure codes)
work=${DLX_FUZZ_DIR:-/tmp/dlx-fuzz}
cc=${CC_FUZZ:-clang}
command -v "$cc" >/dev/null || { echo "run.sh: $cc not found (install clang)" >&2; exit 77; }

# word splitting of pkg-config's output is intended
# shellcheck disable=SC2207,SC2054
flags=(-std=c11 -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer -Wno-unknown-pragmas -Wno-psabi
       -fsanitize=address,undefined -fno-sanitize-recover=undefined
       $(pkg-config --cflags yaml-0.1 hdf5 zlib openblas libpng))
# shellcheck disable=SC2207
libs=($(pkg-config --libs yaml-0.1 hdf5 zlib openblas libpng) -lm)
# the real build uses OpenMP where the compiler has it (clang needs libomp)
if echo 'int main(void){return 0;}' | "$cc" -fopenmp -x c - -o /dev/null 2>/dev/null; then
    flags+=(-fopenmp)
    libs+=(-fopenmp)
fi

# the library objects, built once for all targets (again when a source or any
# header is newer than the object)
mkdir -p "$work/obj"
newest_h=$(find "$src/core" "$src/train" "$src/models" "$src/experiments" -name '*.h' -printf '%T@\n' | sort -n | tail -1)
sources=$(find "$src/core" "$src/train" "$src/models" "$src/experiments" -name '*.c' | sort)
todo=()
objs=()
for s in $sources; do
    o="$work/obj/$(echo "${s#"$src"/}" | tr / _ | sed 's/\.c$/.o/')"
    objs+=("$o")
    if [ ! -e "$o" ] || [ "$s" -nt "$o" ] || \
       awk -v a="$newest_h" -v b="$(stat -c %Y "$o")" 'BEGIN { exit !(a > b) }'; then
        todo+=("$s $o")
    fi
done
if [ ${#todo[@]} -gt 0 ]; then
    echo "== compiling ${#todo[@]} sources into $work/obj"
    # each line "SOURCE OBJECT"; the flags have no spaces inside one flag
    printf '%s\n' "${todo[@]}" | FUZZ_CC="$cc" FUZZ_FLAGS="${flags[*]} -fsanitize=fuzzer-no-link" \
        xargs -P "${DLX_FUZZ_JOBS:-2}" -n 2 sh -c '$FUZZ_CC $FUZZ_FLAGS -c "$0" -o "$1" || { rm -f "$1"; exit 255; }' ||
        { echo "run.sh: compiling the sources failed" >&2; exit 2; }
fi

# the sorter of crash inputs for ci.sh: dlx's probe with the same sanitizers
"$cc" "${flags[@]}" -fsanitize=fuzzer-no-link -o "$work/probe" "$here/probe.c" "${objs[@]}" "${libs[@]}" ||
    { echo "run.sh: building the probe failed" >&2; exit 2; }

status=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t/corpus"
    bin="$work/fuzz_$t"
    "$cc" "${flags[@]}" -fsanitize=fuzzer -DFUZZ_TARGET="\"$t\"" -o "$bin" "$here/fuzz.c" "${objs[@]}" "${libs[@]}" ||
        { echo "run.sh: building fuzz_$t failed" >&2; exit 2; }
    cp -n "$here/corpus/$t/"* "$work/$t/corpus/" 2>/dev/null || true
    echo "== fuzz_$t: ${secs}s, corpus $work/$t/corpus, artifacts $work/$t/"
    extra=()
    [ "$t" = spec ] && extra=(-dict="$here/spec.dict")
    # shellcheck disable=SC2206
    extra+=(${DLX_FUZZ_ARGS:-})
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:suppressions="$here/asan.supp" \
    LSAN_OPTIONS=suppressions="$here/lsan.supp":print_suppressions=0 \
        "$bin" "$work/$t/corpus" -max_total_time="$secs" \
            -max_len=65536 -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=16384 -print_final_stats=1 \
            -artifact_prefix="$work/$t/" "${extra[@]}" > "$work/$t/log" 2>&1 || true
    grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|SUMMARY|crash-|Test unit written|DONE' \
        "$work/$t/log" || true
    for f in "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* "$work/$t"/oom-*; do
        if [ -e "$f" ]; then
            echo "fuzz_$t: FOUND $f"
            status=1
        fi
    done
done
exit $status
