#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, -fsanitize=fuzzer,address,undefined)
# against the core sources and run each for SECONDS (default 60).
#   tests/fuzz/run.sh [SECONDS] [spec|idx|h5]...
# Work files (binaries, the growing corpus, crash artifacts) go to
# $DLX_FUZZ_DIR (default /tmp/dlx-fuzz); the seed corpus in tests/fuzz/corpus/
# is only read. A crash input is left as $DLX_FUZZ_DIR/<target>/crash-*; copy
# it to tests/fuzz/regress/<target>/ once fixed (tests/test_fuzz_regress.c
# replays that directory in the normal build), or to tests/fuzz/hdf5_bugs/ when
# every frame below dlx is libhdf5 (see its README). Exit status 1 if a target
# crashed. HDF5, libyaml and zlib themselves are not instrumented; asan.supp and
# lsan.supp silence HDF5's own over-read and leaks on corrupt files, and
# -malloc_limit_mb lets HDF5 ask for the gigabytes a corrupt size field names
# (it fails cleanly; -rss_limit_mb still bounds what is really used).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec idx h5)
work=${DLX_FUZZ_DIR:-/tmp/dlx-fuzz}
cc=${CC_FUZZ:-clang}
command -v "$cc" >/dev/null || { echo "run.sh: $cc not found (install clang)" >&2; exit 77; }

core="$src/core/err.c $src/core/tensor.c $src/core/arena.c $src/core/rng.c $src/core/params.c \
      $src/core/spec.c $src/core/spec_dump.c $src/core/spec_get.c $src/core/data.c $src/core/h5io.c $src/core/h5io_walk.c $src/core/h5io_metrics.c"
# word splitting of pkg-config's output is intended
# shellcheck disable=SC2207,SC2054
flags=(-std=c11 -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       $(pkg-config --cflags yaml-0.1 hdf5 zlib))
# shellcheck disable=SC2207
libs=($(pkg-config --libs yaml-0.1 hdf5 zlib) -lm)

status=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t/corpus"
    bin="$work/fuzz_$t"
    # shellcheck disable=SC2086
    "$cc" "${flags[@]}" -o "$bin" "$here/fuzz_$t.c" $core "${libs[@]}"
    cp -n "$here/corpus/$t/"* "$work/$t/corpus/" 2>/dev/null || true
    echo "== fuzz_$t: ${secs}s, corpus $work/$t/corpus, artifacts $work/$t/"
    extra=()
    [ "$t" = spec ] && extra=(-dict="$here/spec.dict")
    if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:suppressions="$here/asan.supp" \
         LSAN_OPTIONS=suppressions="$here/lsan.supp":print_suppressions=0 \
         "$bin" "$work/$t/corpus" -max_total_time="$secs" \
            -max_len=65536 -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=16384 -print_final_stats=1 \
            -artifact_prefix="$work/$t/" "${extra[@]}" 2>&1 | tee "$work/$t/log" | \
            grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|crash-|Test unit written|DONE'; then
        :
    fi
    for f in "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* "$work/$t"/oom-*; do
        if [ -e "$f" ]; then
            echo "fuzz_$t: FOUND $f"
            status=1
        fi
    done
done
exit $status
