#!/usr/bin/env bash
# dlx gradcheck's finite differences in double (the default) and in float:
#   - the ring GAN's g_loss at the default step passes in double and fails in
#     float (its float32 differences cross ReLU kinks they cannot see), and
#     in double names the kink it skipped;
#   - a gradient that is wrong by construction (stop_gradient hides the
#     first layer's gradient from the loss) fails in both;
#   - --precision takes double or float only; a family without a gradient
#     check (energy) is an error, not a crash.
# Env: DLX_BIN, DLX_SRC_DIR. Exit 0 pass, 1 fail. Runs on the ring's
# synthetic points and a tiny fake MNIST written here.
set -uo pipefail

. "$(dirname "$0")/lib.sh" gradcheck
make_work
. "$SRC/tests/fake_mnist.sh"

# run WANT_RC WANT_LAST_LINE ARGS...: dlx gradcheck ARGS, its output in out.txt
run() {
    local want=$1 last=$2
    shift 2
    "$DLX" gradcheck "$@" >out.txt 2>&1
    local rc=$?
    [ "$rc" -eq "$want" ] || { cat out.txt >&2; fail "dlx gradcheck $* exited $rc, expected $want"; }
    [ -z "$last" ] || [ "$(tail -n 1 out.txt)" = "$last" ] || { cat out.txt >&2; fail "dlx gradcheck $*: last line not '$last'"; }
}
has() { grep -qF -- "$1" out.txt || { cat out.txt >&2; fail "$2: expected '$1' in the output"; }; }

ring=$SRC/configs/gan_ring.yaml
run 0 ok "$ring" --loss g_loss
has "checked (differences in double)" "the default is double"
has "kink (skipped): g_loss: '" "double names the coordinate it skipped on a kink"
run 1 FAILED "$ring" --loss g_loss --precision float
has "checked (differences in float)" "--precision float"
run 0 ok "$ring" --loss g_loss --precision double

make_fake fake 32
layers='[{type: flatten}, {type: linear, units: 8, activation: tanh}, {type: stop_gradient}, {type: linear, units: 10}]'
for p in double float; do
    run 1 FAILED "$SRC/tests/data/e2e/ok.yaml" --set data.dir=fake --set "model.layers=$layers" --precision $p
    has "worst: 'linear1." "a hidden gradient ($p) is named"
    has "analytic 0," "a hidden gradient ($p) is analytic 0"
done

run 2 "" "$ring" --precision half
has "--precision: expected double or float, got 'half'" "a bad --precision"
run 2 "" "$SRC/configs/energy/cae.yaml"
has "error: the energy family has no gradient check" "a family without a check"
echo "gradcheck.sh: all checks passed"
