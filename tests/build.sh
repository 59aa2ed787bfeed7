#!/bin/bash
# Install what dlx needs (Debian, as root), then configure and build it in build/.
# Safe to run twice. Usage: tests/build.sh [BUILD_DIR] [extra meson options]
set -eu
cd "$(dirname "$0")/.."
builddir=${1:-build}
shift || true

pkgs="meson ninja-build pkg-config gcc libyaml-dev libhdf5-dev hdf5-tools libopenblas-dev libpng-dev zlib1g-dev check gnuplot-nox openmpi-bin libopenmpi-dev clang libclang-rt-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "tests/build.sh: missing Debian packages:$missing" >&2
        echo "install them with: sudo apt-get install -y$missing" >&2
        exit 1
    fi
    echo "installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

if [ -f "$builddir/build.ninja" ]; then
    meson setup --reconfigure "$builddir" "$@" >/dev/null
else
    meson setup "$builddir" "$@" >/dev/null
fi
ninja -C "$builddir"
