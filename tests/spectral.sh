#!/usr/bin/env bash
# Spectral networks on graphs (Bruna et al. 2014), end to end:
#   tests/spectral.sh CASE   CASE: subsample spectral spec_errors repro
#   subsample    data.subsample: the locations saved and checked on load, the
#                same for every split; logits against a numpy forward pass
#                over the checkpoint's locations and weights
#   spectral     a spectral layer: its basis against a numpy Laplacian of the
#                locations' kNN graph (eigen-equation, eigenvalues, orthonormal),
#                its kernel, logits against numpy; dlx gradcheck of the net
#   lrf          graph_local and graph_maxpool: neighbour lists and clusters
#                against a numpy re-implementation, logits against numpy
#   nearest      the nearest-neighbour family against numpy's 1-NN on the
#                subsampled pixels (a test split unlike the training split)
#   sphere       data.sphere: the projection (no rotation) against numpy
#                through a linear classifier's logits; 9 classes; a spectral
#                net on the sphere's points trains; rotations change the inputs
#   spec_errors  bad subsample and spectral values: exit 2 with line:col
#   repro        configs/repro/bruna2014.yaml's rows on fake data (1 epoch):
#                the table with parameter counts
# Env: DLX_BIN, DLX_SRC_DIR. Exit 0 pass, 1 fail, 77 skip (no numpy/h5py).
# Runs on a tiny fake MNIST written here.
set -uo pipefail

. "$(dirname "$0")/lib.sh" spectral

CASE=${1:-}
CASES="subsample spectral lrf nearest sphere spec_errors repro"
[ -n "$CASE" ] || { echo "usage: tests/spectral.sh CASE ($CASES)" >&2; exit 1; }

make_work

. "$SRC/tests/fake_mnist.sh"
make_fake "$WORK/fake" 200

# tiny_spec SUBSAMPLE LAYERS...: a classifier on the fake data (batch 20, 1 epoch)
tiny_spec() {
    local l sub=$1
    shift
    printf 'version: 1\nname: tiny\nseed: 3\nmodel:\n  kind: classifier\n  layers:\n'
    for l in "$@"; do printf '    - %s\n' "$l"; done
    printf 'data: {dataset: mnist, dir: %s, mean: 0.5, std: 0.3, test_limit: 64, subsample: %s}\n' "$WORK/fake" "$sub"
    printf 'train:\n  epochs: 1\n  batch: 20\n  optimizer: {type: adam, lr: 0.01}\n'
}

# expect_status WANT OUTFILE CMD...: CMD exits WANT (stdout+stderr to OUTFILE).
expect_status() {
    local want=$1 out=$2
    shift 2
    "$@" >"$out" 2>&1
    local rc=$?
    [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(head -c 600 "$out")"
}

case_subsample() {
    need_py
    tiny_spec '{points: 50, seed: 11}' '{type: flatten}' '{type: linear, units: 16, activation: relu}' \
        '{type: linear, units: 10}' >mlp.yaml
    expect_status 0 train.out "$DLX" train mlp.yaml --out run
    grep -q "wrote run/filters.png (linear1.weight: 16 of 16 units on the 50 points)" train.out ||
        fail "filters.png draws the units back on the points: $(grep filters train.out)"
    expect_status 0 dry.out "$DLX" train mlp.yaml --dry-run
    grep -q "^input  *\[10, 1, 1, 50\]" dry.out || fail "the input is 1 x 1 x 50: $(grep input dry.out)"
    expect_status 0 eval.out "$DLX" eval run/checkpoint.h5 --predictions pred.h5
    # another seed draws other locations; the same seed the same
    sed 's/seed: 11/seed: 12/' mlp.yaml >other.yaml
    expect_status 0 other.out "$DLX" train other.yaml --out other --quiet
    expect_status 0 same.out "$DLX" train mlp.yaml --out same --quiet
    "$PY" - "$WORK/fake" <<'PYEOF' || fail "subsampled inputs disagree with numpy (above)"
import sys, h5py, numpy as np
fake = sys.argv[1]
loc = h5py.File("run/checkpoint.h5")["buffers/data.subsample.locations"][()]
other = h5py.File("other/checkpoint.h5")["buffers/data.subsample.locations"][()]
same = h5py.File("same/checkpoint.h5")["buffers/data.subsample.locations"][()]
assert loc.shape == (50,), loc.shape
li = loc.astype(np.int64)
assert np.all(li == loc) and np.all(np.diff(li) > 0) and li[0] >= 0 and li[-1] < 784, "sorted distinct pixels"
assert np.array_equal(loc, same), "the same seed gives the same locations"
assert not np.array_equal(loc, other), "another seed other locations"
img = np.frombuffer(open(fake + "/t10k-images-idx3-ubyte", "rb").read()[16:], np.uint8).reshape(-1, 784)[:64]
x = (img[:, li] / 255.0 - 0.5) / 0.3
f = h5py.File("run/checkpoint.h5")
w1, b1 = f["params/linear1.weight"][()], f["params/linear1.bias"][()]
w2, b2 = f["params/linear2.weight"][()], f["params/linear2.bias"][()]
assert w1.shape == (16, 50), w1.shape
logits = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
got = h5py.File("pred.h5")["logits"][()]
err = np.abs(logits - got).max()
assert err < 1e-4, "logits differ by %g" % err
print("subsample: locations and logits agree (max diff %.2g)" % err)
PYEOF
    # a checkpoint whose locations were changed is refused, naming the buffer
    cp run/checkpoint.h5 bad.h5
    "$PY" -c "
import h5py
with h5py.File('bad.h5', 'r+') as f:
    d = f['buffers/data.subsample.locations']; v = d[()]; v[0] = v[1] - 1 if v[1] - 1 != v[0] else v[0] + 0.5; d[...] = v"
    expect_status 1 bad.out "$DLX" eval bad.h5
    grep -q "bad.h5: error: /buffers/data.subsample.locations\[0\] is .*, but the spec gives" bad.out ||
        fail "the changed locations are named: $(cat bad.out)"
    return 0
}

case_spectral() {
    need_py
    tiny_spec '{points: 60, seed: 5}' \
        '{type: spectral, features: 3, eigenvectors: 20, q: 6, neighbors: 6, activation: relu}' \
        '{type: spectral, features: 2, eigenvectors: 20, smooth: linear, q: 4, neighbors: 6, name: sp2}' \
        '{type: flatten}' '{type: linear, units: 10}' >sp.yaml
    expect_status 0 train.out "$DLX" train sp.yaml --out run
    grep -q "spectral1 *spectral *\[10, 3, 60\] *21" train.out ||
        fail "spectral1: 3 maps of 60 points, 3 x 6 + 3 parameters: $(grep spectral1 train.out)"
    grep -q "sp2 *spectral *\[10, 2, 60\] *26" train.out ||
        fail "sp2: 2 maps from 3, 2 x 3 x 4 + 2 parameters: $(grep sp2 train.out)"
    grep -q "wrote run/filters.png (spectral1.weight: 3 of 3 filters as impulse responses on the 60 points)" train.out ||
        fail "filters.png draws the first spectral layer's filters: $(grep filters train.out)"
    expect_status 0 eval.out "$DLX" eval run/checkpoint.h5 --predictions pred.h5
    "$PY" - <<'PYEOF' || fail "the spectral layers disagree with numpy (above)"
import h5py, numpy as np
f = h5py.File("run/checkpoint.h5")
loc = f["buffers/data.subsample.locations"][()].astype(np.int64)
xy = np.stack([loc % 28, loc // 28], 1).astype(np.float64)
d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
n, k = len(xy), 6
order = np.argsort(d2 + np.diag(np.full(n, np.inf)), axis=1, kind="stable")[:, :k]
sigma = np.sqrt(d2[np.arange(n)[:, None], order][:, -1]).mean()
W = np.zeros((n, n))
for i in range(n):
    for j in order[i]:
        W[i, j] = W[j, i] = np.exp(-d2[i, j] / sigma ** 2)
deg = W.sum(1)
L = np.eye(n) - W / np.sqrt(np.outer(deg, deg))
lam = np.linalg.eigvalsh(L)[:20]
for name in ("spectral1", "sp2"):
    V = f["buffers/%s.basis" % name][()].astype(np.float64)
    assert V.shape == (60, 20), V.shape
    assert np.abs(V.T @ V - np.eye(20)).max() < 1e-5, "orthonormal"
    LV = L @ V
    r = (LV * V).sum(0)
    assert np.abs(r - lam).max() < 1e-5, "Rayleigh quotients are the 20 smallest eigenvalues: %s vs %s" % (r, lam)
    assert np.abs(LV - V * r).max() < 1e-4, "eigenvectors"
def bspline(u):
    u = np.abs(u)
    return np.where(u < 1, 2 / 3 - u ** 2 + u ** 3 / 2, np.where(u < 2, (2 - u) ** 3 / 6, 0))
def kernel(d, q, cubic):
    h = (d - 1) / (q - 1)
    u = (np.arange(d)[:, None] - np.arange(q)[None, :] * h) / h
    return bspline(u) if cubic else np.maximum(1 - np.abs(u), 0)
K1, K2 = f["buffers/spectral1.kernel"][()], f["buffers/sp2.kernel"][()]
assert np.abs(K1 - kernel(20, 6, True)).max() < 1e-6, "cubic kernel"
assert np.abs(K2 - kernel(20, 4, False)).max() < 1e-6, "linear kernel"
img = np.frombuffer(open("fake/t10k-images-idx3-ubyte", "rb").read()[16:], np.uint8).reshape(-1, 784)[:64]
x = ((img[:, loc] / 255.0 - 0.5) / 0.3)[:, None, :]
def spectral(x, V, K, Wt, b):
    m = np.einsum("kq,oiq->oik", K, Wt)
    xh = np.einsum("nip,pk->nik", x, V)
    zh = np.einsum("oik,nik->nok", m, xh)
    return np.einsum("nok,pk->nop", zh, V) + b[None, :, None]
V1 = f["buffers/spectral1.basis"][()]
h = np.maximum(spectral(x, V1, K1, f["params/spectral1.weight"][()], f["params/spectral1.bias"][()]), 0)
h = spectral(h, f["buffers/sp2.basis"][()], K2, f["params/sp2.weight"][()], f["params/sp2.bias"][()])
logits = h.reshape(64, -1) @ f["params/linear1.weight"][()].T + f["params/linear1.bias"][()]
got = h5py.File("pred.h5")["logits"][()]
err = np.abs(logits - got).max()
assert err < 1e-3, "logits differ by %g" % err
print("spectral: basis, kernels and logits agree with numpy (max logit diff %.2g)" % err)
# filters.png: 3 tiles of 28x28 whose non-white pixels are points only
import zlib, struct
png = open("run/filters.png", "rb").read()
w, hgt = struct.unpack(">II", png[16:24])
assert w > 28 and hgt >= 28, (w, hgt)
PYEOF
    expect_status 0 gc.out "$DLX" gradcheck sp.yaml
    grep -q "^ok$" gc.out || fail "dlx gradcheck of the spectral net passes: $(cat gc.out)"
    return 0
}

case_lrf() {
    need_py
    tiny_spec '{points: 60, seed: 5}' '{type: graph_local, features: 3, neighbors: 5, activation: relu}' \
        '{type: graph_maxpool, levels: 2}' '{type: graph_local, features: 2, neighbors: 3, activation: tanh}' \
        '{type: graph_maxpool}' '{type: flatten}' '{type: linear, units: 10}' >lrf.yaml
    expect_status 0 train.out "$DLX" train lrf.yaml --out run
    grep -q "graph_local1 *graph_local *\[10, 3, 60\] *1080" train.out ||
        fail "graph_local1: 3 maps of 60 points, 3 x 60 x 5 weights + 180 biases: $(grep graph_local1 train.out)"
    grep -q "graph_maxpool1 *graph_maxpool *\[10, 3, 15\] *0" train.out ||
        fail "graph_maxpool1: 60 points into level 2's 15 clusters: $(grep graph_maxpool1 train.out)"
    grep -q "graph_local2 *graph_local *\[10, 2, 15\] *300" train.out ||
        fail "graph_local2: 2 maps x 15 points x 3 maps x 3 neighbours + 30: $(grep graph_local2 train.out)"
    grep -q "graph_maxpool2 *graph_maxpool *\[10, 2, 8\]" train.out || fail "graph_maxpool2: $(grep graph_maxpool2 train.out)"
    expect_status 0 eval.out "$DLX" eval run/checkpoint.h5 --predictions pred.h5
    "$PY" - <<'PYEOF' || fail "the graph layers disagree with numpy (above)"
import h5py, numpy as np
f = h5py.File("run/checkpoint.h5")
loc = f["buffers/data.subsample.locations"][()].astype(np.int64)
xy0 = np.stack([loc % 28, loc // 28], 1).astype(np.float64)
def coarsen(xy):
    n = len(xy)
    e = sorted((((xy[i] - xy[j]) ** 2).sum(), i, j) for i in range(n) for j in range(i + 1, n))
    mate = [-1] * n
    for _, i, j in e:
        if mate[i] < 0 and mate[j] < 0:
            mate[i], mate[j] = j, i
    parent, cxy = [0] * n, []
    for i in range(n):
        if 0 <= mate[i] < i:
            parent[i] = parent[mate[i]]
            continue
        parent[i] = len(cxy)
        cxy.append(xy[[i, mate[i]]].mean(0) if mate[i] >= 0 else xy[i])
    return np.array(parent), np.array(cxy)
p1, xy1 = coarsen(xy0)
p2, xy2 = coarsen(xy1)
p3, xy3 = coarsen(xy2)
assert (len(xy1), len(xy2), len(xy3)) == (30, 15, 8)
def neighbors(xy, k):
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(d, -1)
    return np.argsort(d, axis=1, kind="stable")[:, :k]
def members(parent, m):
    return [sorted(np.flatnonzero(parent == j)) for j in range(m)]
nb1, nb2 = f["buffers/graph_local1.neighbors"][()], f["buffers/graph_local2.neighbors"][()]
assert np.array_equal(nb1, neighbors(xy0, 5)), "level-0 neighbour lists"
assert np.array_equal(nb2, neighbors(xy2, 3)), "level-2 neighbour lists"
top = p2[p1]
for name, par, m in (("graph_maxpool1", top, 15), ("graph_maxpool2", p3, 8)):
    mem = f["buffers/%s.members" % name][()]
    for j, want in enumerate(members(par, m)):
        row = [int(v) for v in mem[j] if v >= 0]
        assert row == want, "%s cluster %d: %s, numpy %s" % (name, j, row, want)
img = np.frombuffer(open("fake/t10k-images-idx3-ubyte", "rb").read()[16:], np.uint8).reshape(-1, 784)[:64]
x = ((img[:, loc] / 255.0 - 0.5) / 0.3)[:, None, :]
def local(x, nb, W, b):
    g = x[:, :, nb.astype(int)]                   # (N, C, Q, k)
    return np.einsum("ojit,nijt->noj", W, g) + b[None]
def pool(x, mem):
    out = np.zeros(x.shape[:2] + (len(mem),))
    for j, row in enumerate(mem):
        r = [int(v) for v in row if v >= 0]
        out[:, :, j] = x[:, :, r].max(-1)
    return out
h = np.maximum(local(x, nb1, f["params/graph_local1.weight"][()], f["params/graph_local1.bias"][()]), 0)
h = pool(h, f["buffers/graph_maxpool1.members"][()])
h = np.tanh(local(h, nb2, f["params/graph_local2.weight"][()], f["params/graph_local2.bias"][()]))
h = pool(h, f["buffers/graph_maxpool2.members"][()])
logits = h.reshape(64, -1) @ f["params/linear1.weight"][()].T + f["params/linear1.bias"][()]
got = h5py.File("pred.h5")["logits"][()]
err = np.abs(logits - got).max()
assert err < 1e-4, "logits differ by %g" % err
print("lrf: neighbours, clusters and logits agree with numpy (max logit diff %.2g)" % err)
PYEOF
    expect_status 0 gc.out "$DLX" gradcheck lrf.yaml
    grep -q "^ok$" gc.out || fail "dlx gradcheck of the LRF net passes: $(cat gc.out)"
    # a checkpoint whose clusters were changed is refused
    cp run/checkpoint.h5 bad.h5
    "$PY" -c "
import h5py
with h5py.File('bad.h5', 'r+') as f:
    d = f['buffers/graph_maxpool1.members']; v = d[()]; v[0, 0] = v[0, 1]; d[...] = v"
    expect_status 1 bad.out "$DLX" eval bad.h5
    grep -q "/buffers/graph_maxpool1.members\[0\] is .*, but the spec gives" bad.out || fail "changed clusters: $(cat bad.out)"
    return 0
}

case_nearest() {
    need_py
    # a test split of its own: each image the mean of a training image (whose
    # label it keeps) and another one, so the nearest is often the other
    mkdir -p nnfake
    cp fake/train-* nnfake/
    "$PY" - <<'PYEOF' || fail "cannot write the test split"
import numpy as np
raw = open("fake/train-images-idx3-ubyte", "rb").read()
img = np.frombuffer(raw[16:], np.uint8).reshape(-1, 784).astype(np.int64)
rng = np.random.default_rng(3)
test = ((img[:100] + img[rng.permutation(200)[:100]]) // 2).astype(np.uint8)
open("nnfake/t10k-images-idx3-ubyte", "wb").write(raw[:4] + (100).to_bytes(4, "big") + raw[8:16] + test.tobytes())
lab = open("fake/train-labels-idx1-ubyte", "rb").read()
open("nnfake/t10k-labels-idx1-ubyte", "wb").write(lab[:4] + (100).to_bytes(4, "big") + lab[8:108])
PYEOF
    printf 'version: 1\nname: nn\nseed: 3\nmodel: {kind: nearest}\ndata: {dataset: mnist, dir: %s, subsample: {points: 30, seed: 2}}\n' \
        "$WORK/nnfake" >nn.yaml
    expect_status 0 nn.out "$DLX" train nn.yaml --out run --json
    expect_status 0 eval.out "$DLX" eval run/checkpoint.h5 --json
    "$PY" - <<'PYEOF' || fail "1-NN disagrees with numpy (above)"
import json, h5py, numpy as np
out = json.loads([l for l in open("nn.out") if l.startswith("{")][-1])
ev = json.loads([l for l in open("eval.out") if l.startswith("{")][-1])
loc = h5py.File("run/checkpoint.h5")["buffers/data.subsample.locations"][()].astype(np.int64)
tr = np.frombuffer(open("nnfake/train-images-idx3-ubyte", "rb").read()[16:], np.uint8).reshape(-1, 784)[:, loc] / 255.0
te = np.frombuffer(open("nnfake/t10k-images-idx3-ubyte", "rb").read()[16:], np.uint8).reshape(-1, 784)[:, loc] / 255.0
ltr = np.frombuffer(open("nnfake/train-labels-idx1-ubyte", "rb").read()[8:], np.uint8)
lte = np.frombuffer(open("nnfake/t10k-labels-idx1-ubyte", "rb").read()[8:], np.uint8)
d = ((te[:, None, :] - tr[None, :, :]) ** 2).sum(-1)
err = float((ltr[d.argmin(1)] != lte).mean())
assert 0.05 < err < 0.95, "the mixing makes some test samples wrong, not all: %g" % err
assert abs(out["test_error"] - err) < 1e-9, "dlx %s, numpy %s" % (out["test_error"], err)
assert abs(ev["error"] - err) < 1e-9, "eval %s, numpy %s" % (ev["error"], err)
print("nearest: test error %.2f as numpy's" % err)
PYEOF
    return 0
}

# sphere_spec ROTATION LAYERS...: a classifier on the fake digits projected onto 200 sphere points
sphere_spec() {
    local l rot=$1
    shift
    printf 'version: 1\nname: sph\nseed: 3\nmodel:\n  kind: classifier\n  layers:\n'
    for l in "$@"; do printf '    - %s\n' "$l"; done
    printf 'data: {dataset: mnist, dir: %s, mean: 0.5, std: 0.3, test_limit: 64, ' "$WORK/fake"
    printf 'sphere: {points: 200, rotation: %s, angle: 30, field: 100, seed: 7}}\n' "$rot"
    printf 'train:\n  epochs: 1\n  batch: 20\n  optimizer: {type: adam, lr: 0.01}\n'
}

case_sphere() {
    need_py
    sphere_spec none '{type: flatten}' '{type: linear, units: 9}' >lin.yaml
    expect_status 0 train.out "$DLX" train lin.yaml --out run
    grep -q "^input  *\[10, 1, 1, 200\]" train.out || fail "the input is 1 x 1 x 200: $(grep '^input' train.out)"
    expect_status 0 eval.out "$DLX" eval run/checkpoint.h5 --predictions pred.h5
    "$PY" - <<'PYEOF' || fail "the sphere's inputs disagree with numpy (above)"
import h5py, numpy as np
f = h5py.File("run/checkpoint.h5")
P = 200
i = np.arange(P)
z = 1 - (2 * i + 1) / P
r = np.sqrt(1 - z * z)
phi = np.pi * (3 - np.sqrt(5)) * i
xyz = np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)
assert np.abs(f["buffers/data.sphere.points"][()] - xyz).max() < 1e-6, "the Fibonacci points"
raw = np.frombuffer(open("fake/t10k-images-idx3-ubyte", "rb").read()[16:], np.uint8).reshape(-1, 28, 28)[:64]
lab = np.frombuffer(open("fake/t10k-labels-idx1-ubyte", "rb").read()[8:], np.uint8)[:64]
keep = lab != 9
t = np.tan(np.radians(50))
def project(img):
    out = np.zeros(P)
    for j, (x, y, zz) in enumerate(xyz):
        if zz <= 1e-9:
            continue
        col = 0.5 * (x / zz / t + 1) * 28 - 0.5
        row = 0.5 * (y / zz / t + 1) * 28 - 0.5
        c0, r0 = np.floor(col), np.floor(row)
        v = 0.0
        for dr in (0, 1):
            for dc in (0, 1):
                rr, cc = int(r0) + dr, int(c0) + dc
                if 0 <= rr < 28 and 0 <= cc < 28:
                    v += (row - r0 if dr else 1 - (row - r0)) * (col - c0 if dc else 1 - (col - c0)) * img[rr, cc]
        out[j] = np.floor(v + 0.5)
    return out
x = (np.stack([project(im) for im in raw[keep]]) / 255.0 - 0.5) / 0.3
logits = x @ f["params/linear1.weight"][()].T + f["params/linear1.bias"][()]
p = h5py.File("pred.h5")
got, glab = p["logits"][()], p["label"][()]
assert got.shape == (keep.sum(), 9), "the 9s are left out: %s" % (got.shape,)
assert np.array_equal(glab, lab[keep]), "labels"
err = np.abs(logits - got).max()
assert err < 1e-3, "logits differ by %g" % err
print("sphere: points, projection and logits agree with numpy (max diff %.2g)" % err)
PYEOF
    # rotated digits are other inputs: the same weights give other logits
    for rot in partial full; do
        sphere_spec $rot '{type: flatten}' '{type: linear, units: 9}' >$rot.yaml
        expect_status 0 $rot.out "$DLX" train $rot.yaml --out $rot --quiet
        "$PY" - $rot <<'PYEOF' || fail "$rot rotations (above)"
import sys, h5py, numpy as np
a, b = h5py.File("run/checkpoint.h5"), h5py.File(sys.argv[1] + "/checkpoint.h5")
assert not np.array_equal(a["params/linear1.weight"][()], b["params/linear1.weight"][()]), "other inputs, other training"
PYEOF
    done
    sphere_spec full '{type: spectral, features: 2, eigenvectors: 30, q: 5, activation: relu}' \
        '{type: graph_maxpool, levels: 2}' '{type: flatten}' '{type: linear, units: 9}' >sp.yaml
    expect_status 0 sp.out "$DLX" train sp.yaml --out sp
    grep -q "graph_maxpool1 *graph_maxpool *\[10, 2, 50\]" sp.out || fail "the sphere's 200 points pool into 50: $(cat sp.out)"
    expect_status 0 gc.out "$DLX" gradcheck sp.yaml
    grep -q "^ok$" gc.out || fail "gradcheck on the sphere: $(cat gc.out)"
    return 0
}

# spec_error WANT_TEXT SUBSAMPLE LAYER: exit 2 and WANT_TEXT (a regex with line:col) in the message
spec_error() {
    tiny_spec "$2" '{type: flatten}' "$3" '{type: linear, units: 10}' >bad.yaml
    expect_status 2 bad.out "$DLX" train bad.yaml --out bad --dry-run
    grep -Eq "$1" bad.out || fail "expected /$1/ in: $(cat bad.out)"
}

case_spec_errors() {
    spec_error 'bad.yaml:10:[0-9]+: error: data.subsample.points: .*0' '{points: 0}' '{type: relu}'
    spec_error 'bad.yaml:10:[0-9]+: error: data.subsample.points: 900, but mnist has 784 pixels' '{points: 900}' '{type: relu}'
    spec_error "bad.yaml:10:[0-9]+: error: .*'pointz' is not a key" '{pointz: 10}' '{type: relu}'
    spec_error 'bad.yaml:10:[0-9]+: error: data.subsample: data.subsample must be a mapping' '10' '{type: relu}'
    tiny_spec '{points: 40}' '{type: relu}' '{type: flatten}' '{type: linear, units: 10}' |
        sed 's/test_limit: 64/test_limit: 64, pad: 2/' >pad.yaml
    expect_status 2 pad.out "$DLX" train pad.yaml --dry-run
    grep -q "pad.yaml:10:[0-9]*: error: data.pad: subsampled or projected images have no grid" pad.out || fail "pad: $(cat pad.out)"
    spec_error 'bad.yaml:8:[0-9]+: error: .*eigenvectors.*40' '{points: 40}' '{type: spectral, features: 2, eigenvectors: 41}'
    spec_error 'bad.yaml:8:[0-9]+: error: .*q.*' '{points: 40}' '{type: spectral, features: 2, eigenvectors: 10, q: 11}'
    spec_error 'bad.yaml:8:[0-9]+: error: .*neighbors.*' '{points: 40}' '{type: spectral, features: 2, neighbors: 40}'
    spec_error "bad.yaml:8:[0-9]+: error: .*smooth.*" '{points: 40}' '{type: spectral, features: 2, smooth: spline}'
    spec_error 'bad.yaml:8:[0-9]+: error: .*neighbors.*between 1 and 40' '{points: 40}' '{type: graph_local, features: 2, neighbors: 41}'
    spec_error 'bad.yaml:8:[0-9]+: error: .*levels: must be between 1 and 6' '{points: 40}' '{type: graph_maxpool, levels: 7}'
    # after flatten the last dimension is no level of the clustering
    tiny_spec '{points: 40}' '{type: flatten}' '{type: graph_local, features: 2}' '{type: flatten}' \
        '{type: linear, units: 10}' | sed 's/    - {type: flatten}/    - {type: linear, units: 30}/' >lvl.yaml
    expect_status 2 lvl.out "$DLX" train lvl.yaml --dry-run
    grep -q "lvl.yaml:8:[0-9]*: error: .*last dimension (30) is no level of the points' clustering (40, 20, 10, 5, 3, 2, 1 points)" lvl.out ||
        fail "no level: $(cat lvl.out)"
    spec_error "bad.yaml:10:[0-9]+: error: data.sphere.rotation: .*'twist'" '{points: 40}, sphere: {points: 50, rotation: twist}' '{type: relu}'
    spec_error 'bad.yaml:10:[0-9]+: error: data.sphere: give either sphere or subsample, not both' '{points: 40}, sphere: {points: 50}' '{type: relu}'
    spec_error 'bad.yaml:10:[0-9]+: error: data.sphere.field: must be between 1 and 179, got 180' '{points: 40}, sphere: {points: 50, field: 180}' '{type: relu}'
    # a spectral layer after pooling or flatten: the points are no longer the last dimension
    tiny_spec '{points: 40}' '{type: graph_maxpool}' '{type: spectral, features: 2}' '{type: flatten}' \
        '{type: linear, units: 10}' >after.yaml
    expect_status 2 after.out "$DLX" train after.yaml --dry-run
    grep -q "after.yaml:8:[0-9]*: error: .*last dimension (20) is not the 40 points" after.out || fail "after pooling: $(cat after.out)"
    # without subsample there are no points to build a graph on
    tiny_spec '{points: 40}' '{type: spectral, features: 2}' '{type: flatten}' '{type: linear, units: 10}' |
        sed 's/, subsample: {points: 40}//' >nopts.yaml
    expect_status 2 nopts.out "$DLX" train nopts.yaml --dry-run
    grep -q "nopts.yaml:7:[0-9]*: error: .*give data.subsample" nopts.out || fail "no points: $(cat nopts.out)"
    return 0
}

case_repro() {
    local sets="data.dir=$WORK/fake, train.epochs=1, data.test_limit=100" out=repro.out
    local nn_sets="data.dir=$WORK/fake, data.test_limit=100"
    # the rows name their specs relative to the source root
    (cd "$SRC" && "$DLX" reproduce configs/repro/bruna2014.yaml --out "$WORK/tbl" --quiet \
        --set "rows.0.set=[$nn_sets]" --set "rows.1.set=[$sets]" --set "rows.2.set=[$sets]" \
        --set "rows.3.set=[$sets]" --set "rows.4.set=[$sets]" --set "rows.5.set=[$sets]" \
        --set "rows.6.set=[$sets]" --set "rows.7.set=[$sets]" --set "rows.8.set=[$sets]" \
        --set "rows.9.set=[$sets, data.sphere.rotation=full]" --set "rows.10.set=[$sets, data.sphere.rotation=full]") \
        >"$out" 2>&1 || fail "dlx reproduce: $(tail -20 "$out")"
    local row want
    for want in "nearest | parameters | n/a | 0" "fc_400_800_50_10 | parameters | 3.6e5 (recalled) | 3.614e+05" \
        "lrf1600 | parameters | 7.2e4 (recalled) | 7.361e+04" "lrf3200 | parameters | 1.6e5 (recalled) | 1.616e+05" \
        "sp1600_q300 | parameters | 1.6e4 (recalled) | 1.721e+04" \
        "sp1600_q32 | parameters | 1.6e3 (recalled) | 1.614e+04" \
        "sp4800_q20 | parameters | 5e3 (recalled) | 4.826e+04"; do
        grep -qF "| $want |" "$out" || fail "the table has '$want': $(grep '|' "$out")"
    done
    # the fake test split is the training split: its nearest neighbour is itself
    grep -qF "| nearest | test_error | 0.0411 (recalled) | 0 |" "$out" || fail "1-NN on its own training set: $(grep nearest "$out")"
    for row in nearest fc_400_800_50_10 lrf1600 lrf3200 sp1600_q300 sp1600_q32 sp4800_q20; do
        grep -Eq "^\| $row \| test_error \| 0\.0[0-9]+ \(recalled\) \| (0|0?\.[0-9]+) \|" "$out" ||
            fail "$row has a test error beside the paper's: $(grep "$row" "$out")"
        grep -Eq "^\| $row \| train_seconds \| n/a \| [0-9.e+-]+" "$out" || fail "$row: its time: $(grep "$row" "$out")"
        [ -f "tbl/$row/checkpoint.h5" ] || fail "$row's run directory holds its checkpoint"
    done
    for row in sphere_partial_fc sphere_partial_sp sphere_full_fc sphere_full_sp; do
        grep -Eq "^\| $row \| test_error \| n/a \| 0?\.[0-9]+" "$out" || fail "$row has a test error: $(grep "$row" "$out")"
    done
    grep -qF "| sphere_partial_sp | parameters | n/a | 7.218e+04 |" "$out" ||
        fail "1000-SP8000-9: 8 x 20 + 8 spectral, 8000 x 9 + 9 linear: $(grep "sphere_partial_sp | param" "$out")"
    "$PY" -c "import h5py, sys; sys.exit(h5py.File('tbl/sphere_full_sp/checkpoint.h5')['spec'][()].decode().count('rotation: full') != 1)" ||
        fail "the full-rotation row ran with rotation: full"
    return 0
}

case $CASE in
subsample | spectral | lrf | nearest | sphere | spec_errors | repro) "case_$CASE" ;;
*) echo "usage: tests/spectral.sh CASE ($CASES)" >&2; exit 1 ;;
esac
echo "spectral $CASE: all checks passed"
