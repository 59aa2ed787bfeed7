#!/bin/bash
# Installs the ONNX runtime the export tests run models in: onnxruntime-node
# (its CPU build, bundled in the npm package) into a cache directory, with
# npm, and checks that node loads it. Prints the node_modules directory to
# use as NODE_PATH; exits 1 with a message when it cannot be had.
#   tests/onnx_runtime.sh [--install]
# Without --install it only looks. Cache: $DLX_ORT_DIR, default
# ${XDG_CACHE_HOME:-~/.cache}/dlx-onnxruntime; version $DLX_ORT_VERSION.
# The package's install script, which fetches GPU builds from elsewhere, is
# not run (--ignore-scripts): the CPU runtime needs nothing else at run time.
set -u
dir=${DLX_ORT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dlx-onnxruntime}
version=${DLX_ORT_VERSION:-1.31.1}

loads() {
    command -v node >/dev/null 2>&1 &&
        NODE_PATH="$dir/node_modules" timeout 60 node -e "require('onnxruntime-node')" >/dev/null 2>&1
}

if ! loads; then
    [ "${1:-}" = --install ] || { echo "onnxruntime-node is not installed in $dir (tests/onnx_runtime.sh --install)" >&2; exit 1; }
    command -v npm >/dev/null 2>&1 || { echo "npm is not installed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
    mkdir -p "$dir" || exit 1
    log="$dir/npm-install.log"
    (cd "$dir" && timeout 600 npm install --no-audit --no-fund --no-save --ignore-scripts "onnxruntime-node@$version") >"$log" 2>&1 ||
        { echo "npm install onnxruntime-node@$version failed (log: $log): $(tail -3 "$log")" >&2; exit 1; }
    loads || { echo "node cannot load onnxruntime-node from $dir/node_modules" >&2; exit 1; }
fi
echo "$dir/node_modules"
