#!/usr/bin/env bash
# Write the seed corpus of the HDF5 reader targets from real files dlx writes:
#   tests/fuzz/make_seeds.sh [DLX_BIN]     (default build/dlx; needs MNIST in
#   datasets/data for the landscape sweep)
# metrics/, inspect/  the checkpoint and metrics.h5 of corpus/h5 (a tiny run)
# sweep/              a 4-run landscape table and its two shards
# figure/, codes/     results.h5 of a two-row sparse-coding `dlx reproduce`
#                     table and the codes.h5 of its dictionary row (3x3
#                     patches, 8 atoms: the 9x8 model of the codes target);
#                     figure/results_recurrent.h5 of a one-row recurrent table
# The hand-made hostile files come from make_hostile.py. Commit both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
dlx=${1:-$src/build/dlx}
c=$here/corpus
t=$(mktemp -d /tmp/dlx_seeds.XXXXXX)
trap 'rm -rf "$t"' EXIT
mkdir -p "$c/metrics" "$c/inspect" "$c/sweep" "$c/figure" "$c/codes"

cp "$c/h5/metrics.h5" "$c/metrics/metrics.h5"
cp "$c/h5/metrics.h5" "$c/inspect/metrics.h5"
cp "$c/h5/checkpoint.h5" "$c/inspect/checkpoint.h5"

# a landscape table: 2 hidden sizes x 2 seeds of the e2e base classifier
cp "$src/tests/data/landscape/base.yaml" "$t/base.yaml"
sed 's/range: \[1, 4\]/range: [1, 2]/' "$src/tests/data/landscape/sweep.yaml" > "$t/sweep.yaml"
(cd "$src" && "$dlx" landscape "$t/sweep.yaml" --out "$t/table.h5" --quiet --no-figures)
(cd "$src" && "$dlx" landscape "$t/sweep.yaml" --out "$t/shard0.h5" --shard 0/2 --quiet --no-figures)
cp "$t/table.h5" "$c/sweep/table.h5"
cp "$t/shard0.h5" "$c/sweep/shard0.h5"

# two grey 40x30 photographs for the patches
/usr/bin/python3 - "$t/img" <<'PY'
import os, struct, sys, zlib
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
for k in range(2):
    w, h = 40, 30
    rows = b"".join(b"\0" + bytes(((x * 5 + (x * 7 + y * 13 + k * 31) % 40 + k * 20) & 255) for x in range(w))
                    for y in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + \
          chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    open(os.path.join(d, "im%d.png" % k), "wb").write(png)
PY
cat > "$t/dict.yaml" <<YAML
version: 1
seed: 2
model:
  kind: sparse_coding
  algorithm: fista
  atoms: 8
  alpha: 0.5
  T: [1, 5]
  dictionary: {steps: 3, batch: 16, infer_iters: 10}
  optimal: {max_iters: 300, tol: 1.0e-6}
data: {dataset: patches, dir: $t/img, patch: 3, train: 16, test: 8}
YAML
cat > "$t/lista.yaml" <<YAML
version: 1
seed: 2
model: {kind: sparse_coding, algorithm: lista, atoms: 8, alpha: 0.5, T: [1]}
data: {dataset: patches, patch: 3}
train: {epochs: 1, batch: 8, optimizer: {type: sgd, lr: 0.01}}
YAML
cat > "$t/table.yaml" <<YAML
paper: Fuzz seed table
family: sparse_coding
figure: fig.png
rows:
  - {name: dict, spec: $t/dict.yaml, panel: small, label: FISTA, metrics: {err_T1: n/a, err_T5: n/a}}
  - {name: lista, spec: $t/lista.yaml, set: ["model.dictionary.from={out}/dict"], panel: small, metrics: {err_T1: n/a}}
YAML
"$dlx" reproduce "$t/table.yaml" --out "$t/out" --quiet > /dev/null
cp "$t/out/results.h5" "$c/figure/results.h5"
cp "$t/out/dict/codes.h5" "$c/codes/codes.h5"
# a recurrent table (its figure reads the baseline and label attributes)
cat > "$t/rnn.yaml" <<YAML
paper: Fuzz seed table
family: recurrent
figure: fig.png
rows:
  - {name: copy, spec: $src/tests/data/rnn/copy.yaml, set: [train.epochs=1, model.task.samples=40], label: RNN, panel: copy,
     metrics: {test_loss: n/a, below_baseline_at: n/a}}
YAML
"$dlx" reproduce "$t/rnn.yaml" --out "$t/rnn" --quiet > /dev/null
cp "$t/rnn/results.h5" "$c/figure/results_recurrent.h5"
ls -l "$c"/{metrics,inspect,sweep,figure,codes}
