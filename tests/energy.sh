#!/usr/bin/env bash
# The energy family end to end (models/energy.c):
#   tests/energy.sh CASE   CASE: closed trained spec_errors repro
#   closed       pca, kmeans and gmm on the parabola: every AUC above a floor
#                that only a surface low on the data reaches, dlx eval of the
#                checkpoint gives the training's numbers, and energy.h5's grid
#                against numpy's energies from the checkpoint's parameters
#   trained      dae, nce, cd and psd through the trainer: AUC above chance, a run
#                stopped and resumed ends with the straight run's numbers, cd
#                on 1 and 2 threads gives the same parameters, psd's eval
#   spec_errors  a data set that is not a toy set, train: for a closed-form
#                strategy, more centres than points: exit 2, naming the key
#   images       pca and dae on a fake MNIST (random images): filters.png,
#                recon.png, auc_shuffled, dlx eval's numbers; data.versus of
#                the same images gives AUC 0.5; gmm refused
#   repro        a two-row table through dlx reproduce: the table, the
#                figure (PNG) and its gnuplot script
# Env: DLX_BIN, DLX_SRC_DIR. Exit 0 pass, 1 fail, 77 skip (no numpy/h5py).
set -uo pipefail

. "$(dirname "$0")/lib.sh" energy

CASE=${1:-}
CASES="closed trained spec_errors images repro"
[ -n "$CASE" ] || { echo "usage: tests/energy.sh CASE ($CASES)" >&2; exit 1; }

make_work

spec() { # spec FILE STRATEGY [TRAIN]
    { echo "version: 1"; echo "seed: 3"
      echo "model: {kind: energy, strategy: $2, hidden: 16, grid: 64}"
      echo "data: {dataset: toy_parabola, samples: 600, test_samples: 400}"
      [ -n "${3:-}" ] && echo "train: $3"; } > "$1"
}
json_get() { "$PY" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
above() { "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$1" "$2"; }

case "$CASE" in
closed)
    need_py
    for s in pca:0.6 kmeans:0.9 gmm:0.9; do
        name=${s%%:*} floor=${s##*:}
        spec $name.yaml $name
        out=$("$DLX" train $name.yaml --out run_$name --quiet --json) || fail "$name: dlx train failed"
        auc=$(json_get "$out" auc)
        above "$auc" "$floor" || fail "$name: AUC $auc not above $floor"
        ev=$("$DLX" eval run_$name/checkpoint.h5 --json) || fail "$name: dlx eval failed"
        [ "$(json_get "$ev" auc)" = "$auc" ] || fail "$name: dlx eval gives AUC $(json_get "$ev" auc), training $auc"
        [ -s run_$name/energy.png ] || fail "$name: no energy.png"
    done
    "$PY" - <<'PYEOF' || fail "the energy surface differs from numpy's"
import h5py, numpy as np
def grid(f):
    e = f["energy"][...]; b = f["box"][...]; G = e.shape[0]
    xs = b[0] + (b[1] - b[0]) * (np.arange(G) + 0.5) / G
    ys = b[3] - (b[3] - b[2]) * (np.arange(G) + 0.5) / G
    X, Y = np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))
    return e, np.stack([X, Y], -1).astype(np.float64)
with h5py.File("run_kmeans/checkpoint.h5") as c, h5py.File("run_kmeans/energy.h5") as f:
    C = c["params/kmeans.C"][...].astype(np.float64); e, P = grid(f)
    ref = ((P[:, :, None, :] - C[None, None]) ** 2).sum(-1).min(-1)
    assert np.abs(e - ref).max() < 1e-5, np.abs(e - ref).max()
with h5py.File("run_pca/checkpoint.h5") as c, h5py.File("run_pca/energy.h5") as f:
    mu = c["params/pca.mu"][...].astype(np.float64); W = c["params/pca.W"][...].astype(np.float64); e, P = grid(f)
    r = P - mu; ref = ((r - (r @ W.T) @ W) ** 2).sum(-1)
    assert np.abs(e - ref).max() < 1e-5, np.abs(e - ref).max()
with h5py.File("run_gmm/checkpoint.h5") as c, h5py.File("run_gmm/energy.h5") as f:
    pi = c["params/gmm.pi"][...].astype(np.float64); mu = c["params/gmm.mu"][...].astype(np.float64)
    cov = c["params/gmm.cov"][...].astype(np.float64); e, P = grid(f)
    p = 0
    for j in range(len(pi)):
        r = P - mu[j]; inv = np.linalg.inv(cov[j])
        q = np.einsum("...a,ab,...b->...", r, inv, r)
        p = p + pi[j] * np.exp(-0.5 * q) / (2 * np.pi * np.sqrt(np.linalg.det(cov[j])))
    assert np.abs(e - (-np.log(p))).max() < 1e-3, np.abs(e + np.log(p)).max()
PYEOF
    ;;
trained)
    for s in dae nce cd; do
        spec $s.yaml $s "{epochs: 60, batch: 50, optimizer: {type: adam, lr: 0.01}}"
        out=$("$DLX" train $s.yaml --out run_$s --quiet --json) || fail "$s: dlx train failed"
        auc=$(json_get "$out" auc)
        above "$auc" 0.75 || fail "$s: AUC $auc not above 0.75"
        [ -s run_$s/energy.h5 ] || fail "$s: no energy.h5"
    done
    spec psd.yaml psd "{epochs: 20, batch: 50, optimizer: {type: adam, lr: 0.003}}"
    sed -i 's/strategy: psd,/strategy: psd, components: 8, iters: 30, weight: 0.05,/' psd.yaml
    out=$("$DLX" train psd.yaml --out run_psd --quiet --json) || fail "psd: dlx train failed"
    above "$(json_get "$out" auc)" 0.75 || fail "psd: AUC $(json_get "$out" auc) not above 0.75"
    ev=$("$DLX" eval run_psd/checkpoint.h5 --json) || fail "psd: dlx eval failed"
    [ "$(json_get "$ev" auc)" = "$(json_get "$out" auc)" ] || fail "psd: dlx eval gives another AUC"
    # cd's Langevin samples read the parameters in the feed: 2 replicas on 1 or 2 threads, the same bits
    "$DLX" train cd.yaml --out cd_t1 --quiet --threads 1 --set train.shards=2 >/dev/null || fail "cd on 1 thread"
    "$DLX" train cd.yaml --out cd_t2 --quiet --threads 2 --set train.shards=2 >/dev/null || fail "cd on 2 threads"
    h5diff --exclude-attribute / cd_t1/checkpoint.h5 cd_t2/checkpoint.h5 /params /params >/dev/null ||
        fail "cd: 1 and 2 threads give different parameters"
    "$DLX" train dae.yaml --out part --quiet --stop-at 397 >/dev/null 2>&1
    [ -s part/checkpoint.h5 ] || fail "no checkpoint at the stop"
    res=$("$DLX" train dae.yaml --out part --resume --quiet --json) || fail "the resume failed"
    [ "$(json_get "$res" auc)" = "$(json_get "$("$DLX" eval run_dae/checkpoint.h5 --json)" auc)" ] ||
        fail "resumed AUC $(json_get "$res" auc) differs from the straight run's"
    h5diff --exclude-attribute / run_dae/checkpoint.h5 part/checkpoint.h5 /params /params >/dev/null ||
        fail "resumed parameters differ from the straight run's"
    ;;
spec_errors)
    spec a.yaml kmeans
    sed -i 's/toy_parabola/cifar10/' a.yaml
    msg=$("$DLX" train a.yaml --out r1 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -q "dataset" <<<"$msg" && grep -q "toy_parabola" <<<"$msg" || fail "cifar10 as data.dataset: rc $rc: $msg"
    spec b.yaml pca "{epochs: 1}"
    msg=$("$DLX" train b.yaml --out r2 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -q "train" <<<"$msg" || fail "train: for pca: rc $rc: $msg"
    spec c.yaml kmeans
    msg=$("$DLX" train c.yaml --out r3 --set model.components=700 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -q "components" <<<"$msg" || fail "700 centres for 600 points: rc $rc: $msg"
    ;;
images)
    . "$SRC/tests/fake_mnist.sh"
    make_fake "$WORK/mnist" 64
    img() { # FILE STRATEGY [TRAIN]
        { echo "version: 1"; echo "seed: 3"
          echo "model: {kind: energy, strategy: $2, hidden: 8, components: 4}"
          echo "data: {dataset: mnist, dir: $WORK/mnist, samples: 64, test_samples: 32}"
          [ -n "${3:-}" ] && echo "train: $3"; } > "$1"
    }
    img pca.yaml pca
    img dae.yaml dae "{epochs: 2, batch: 16}"
    for s in pca dae; do
        out=$("$DLX" train $s.yaml --out run_$s --quiet --json) || fail "$s on images: dlx train failed"
        json_get "$out" auc_shuffled >/dev/null || fail "$s: no auc_shuffled in $out"
        [ -s run_$s/filters.png ] && [ -s run_$s/recon.png ] || fail "$s: no filters.png or recon.png"
        ev=$("$DLX" eval run_$s/checkpoint.h5 --json) || fail "$s: dlx eval failed"
        [ "$(json_get "$ev" auc_shuffled)" = "$(json_get "$out" auc_shuffled)" ] || fail "$s: dlx eval differs"
    done
    # the test split itself as "another" set: every pair tied, AUC exactly 0.5
    out=$("$DLX" train pca.yaml --out run_vs --quiet --json --set data.versus=mnist --set "data.versus_dir=$WORK/mnist") ||
        fail "data.versus: dlx train failed"
    [ "$(json_get "$out" auc_versus)" = "0.5" ] || fail "auc_versus of the test images against themselves: $out"
    img gmm.yaml gmm
    msg=$("$DLX" train gmm.yaml --out r4 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -q "toy 2-D sets only" <<<"$msg" || fail "gmm on images: rc $rc: $msg"
    ;;
repro)
    spec km.yaml kmeans
    spec dae.yaml dae "{epochs: 2, batch: 50}"
    cat > table.yaml <<'YEOF'
paper: "energy strategies (test)"
family: energy
figure: surfaces.png
rows:
  - {name: km, spec: km.yaml, label: kmeans, panel: parabola, metrics: {auc: n/a}}
  - {name: dae, spec: dae.yaml, label: dae, panel: parabola, metrics: {auc: n/a}}
  - {name: km_ring, spec: km.yaml, set: [data.dataset=toy_ring], label: kmeans, panel: ring, metrics: {auc: n/a}}
YEOF
    out=$("$DLX" reproduce table.yaml --out rep 2>&1) || fail "dlx reproduce failed: $out"
    grep -q "km_ring" <<<"$out" || fail "the table lacks a row: $out"
    [ -s rep/surfaces.png ] && [ -s rep/figure.gp ] || fail "no figure or script: $(ls rep)"
    grep -q "surfaces_ring.png" rep/figure.gp || fail "the script draws no figure per panel"
    ;;
*) fail "unknown case (one of: $CASES)" ;;
esac
echo "PASS [$CASE]"
