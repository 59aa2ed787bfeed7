#!/usr/bin/env bash
# The disentangle family end to end (tests/disentangle.sh CASE), on a tiny
# model of 320 MNIST digits at 16x16 (tests/data/disentangle/tiny.yaml):
#   train     300 steps: g_loss, its reconstruction and swap terms and the
#             test split's rec_mse and swap_mse fall from the first epoch to
#             the last; the four terms are logged; dlx eval on the checkpoint
#             gives the last evaluation's numbers; dlx gradcheck of every loss
#             (tanh for a kink-free point)
#   resume    stopped at step 53 and resumed == uninterrupted, bit for bit;
#             1 and 2 threads give the same bits
#   sample    dlx sample --transfer: an 11x11 grid (a row and a column of
#             sources around 10x10 swaps), --interpolate a RxC grid; the same
#             seed the same file, another seed another; --transfer of a GAN
#             refused, both flags at once refused
#   measures  with model.eval.classifier (a tiny MLP judge at 16x16): the
#             transfer, style and reconstruction accuracies and the s and z
#             probes in every evaluation, each in [0, 1], the judge reading
#             reconstructions above chance; dlx eval --set model.eval.KEY
#             gives them for a checkpoint trained without; a judge of another
#             image size and a --set outside model.eval refused
#   latent    the latent adversary (tests/data/disentangle/tiny_zdisc.yaml):
#             z_cls and z_adv logged every epoch; the z probe at most 0.30
#             and 0.2 below the same model's without it; gradcheck of both
#             terms; stopped and resumed == straight; the MNIST config with
#             zdisc builds and steps (--dry-run); a model without zdisc but
#             with model.weights evaluates from its checkpoint; zadv without
#             zdisc, a zdisc of the wrong size, z_cls without zdisc, a zdisc
#             no update trains and one g_loss's optimizer trains refused
#   errors    an encoder of the wrong output size, a decoder that gives no
#             image, an adversary of two logits, a missing network, an
#             unknown weight, one update only: exit 2 at the spec's line
# Env: DLX_BIN, DLX_SRC_DIR, DLX_DATA_DIR. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

. "$(dirname "$0")/lib.sh" disentangle count
. "$SRC/tests/h5same.sh"
use_real_data
export OPENBLAS_NUM_THREADS=1
CASE=${1:-}
TINY=$SRC/tests/data/disentangle/tiny.yaml
[ -s "$DLX_DATA_DIR/mnist/train-images-idx3-ubyte" ] || { echo "SKIP: no MNIST under $DLX_DATA_DIR"; exit 77; }
need_h5tools
make_work

# series RUN NAME: "first last" values of a metrics series
series() {
    "$PY" -c "import h5py,sys; d=h5py.File(sys.argv[1],'r')['/metrics/'+sys.argv[2]][()]; print(d[0,1], d[-1,1], len(d))" \
        "$1/metrics.h5" "$2"
}

png_size() { "$PY" -c "import struct,sys; b=open(sys.argv[1],'rb').read(24); print('%dx%d' % struct.unpack('>II', b[16:24]))" "$1"; }

case_train() {
    "$PY" -c 'import h5py' 2>/dev/null || { echo "SKIP: no python3 h5py"; exit 77; }
    check "the tiny model trains 300 steps" 0 '"step":300' "$DLX" train "$TINY" --out run --json --quiet
    cp out.txt train.json
    local s first last n
    for s in train_g_loss train_rec train_swap rec_mse swap_mse; do
        read -r first last n <<<"$(series run $s)"
        [ "$n" = 15 ] || fail "$s: one row per epoch (15), got $n"
        "$PY" -c "import sys; sys.exit(0 if float(sys.argv[2]) < 0.8 * float(sys.argv[1]) else 1)" "$first" "$last" ||
            fail "$s falls by a fifth or more over training" "first epoch $first, last $last"
    done
    for s in train_adv train_kl train_d_loss; do
        read -r first last n <<<"$(series run $s)"
        [ "$n" = 15 ] || fail "$s is logged every epoch" "$n rows"
    done
    check "dlx eval of the checkpoint" 0 '"rec_mse"' "$DLX" eval run/checkpoint.h5 --json
    local a b
    a=$(sed -n 's/.*"rec_mse":\([^,}]*\).*/\1/p' train.json)
    b=$(sed -n 's/.*"rec_mse":\([^,}]*\).*/\1/p' out.txt)
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "dlx eval gives the last evaluation's rec_mse" "train $a, eval $b"
    sed 's/activation: relu/activation: tanh/; s/type: relu/type: tanh/; s/activation: leaky_relu, alpha: 0.2/activation: tanh/; s/{type: leaky_relu, alpha: 0.2}/{type: tanh}/' \
        "$TINY" >tanh.yaml
    check "gradcheck of d_loss and g_loss" 0 "ok" "$DLX" gradcheck tanh.yaml --eps 1e-2
    check "gradcheck of the kl term" 0 "ok" "$DLX" gradcheck tanh.yaml --eps 1e-2 --loss kl
    check "gradcheck --loss with a name the family lacks" 2 "a disentangle model has the losses" \
        "$DLX" gradcheck tanh.yaml --loss x_loss
}

case_resume() {
    local s=(--set train.epochs=6)
    check "straight (120 steps)" 0 '"step":120' "$DLX" train "$TINY" "${s[@]}" --out straight --json --quiet
    check "--stop-at 53" 0 "stopped at step 53 of 120" "$DLX" train "$TINY" "${s[@]}" --out split --stop-at 53
    check "--resume" 0 "resuming from split/checkpoint.h5 at step 53" "$DLX" train "$TINY" "${s[@]}" --out split --resume
    same "stopped at 53 + resumed == straight" straight split
    check "on 1 thread" 0 '"step":40' "$DLX" train "$TINY" --set train.epochs=2 --threads 1 --out t1 --json --quiet
    check "on 2 threads" 0 '"step":40' "$DLX" train "$TINY" --set train.epochs=2 --threads 2 --out t2 --json --quiet
    same "1 thread == 2 threads" t1 t2
}

case_sample() {
    check "train 2 epochs" 0 '"step":40' "$DLX" train "$TINY" --set train.epochs=2 --out run --json --quiet
    local ck=run/checkpoint.h5 s
    check "--transfer" 0 "wrote t.png: 11x11 tiles" "$DLX" sample "$ck" --transfer --out t.png
    # 16x16 tiles at zoom 2 are 32 pixels, plus a 1-pixel border each: 11 * 33 + 1
    s=$(png_size t.png)
    [ "$s" = 364x364 ] || fail "an 11x11 grid of 16x16 tiles at zoom 2 is 364x364 pixels, got $s"
    check "the default of a disentangle checkpoint is the swap grid" 0 "wrote d.png: 11x11 tiles" \
        "$DLX" sample "$ck" --out d.png
    cmp -s t.png d.png || fail "no flag draws --transfer's grid"
    check "--transfer 3x5" 0 "wrote t35.png: 4x6 tiles" "$DLX" sample "$ck" --transfer --grid 3x5 --out t35.png
    s=$(png_size t35.png)
    [ "$s" = 199x133 ] || fail "a 4x6 grid is 199x133 pixels, got $s"
    check "another seed" 0 "seed 9)" "$DLX" sample "$ck" --transfer --seed 9 --out t9.png
    cmp -s t.png t9.png && fail "another seed picks other images"
    check "--interpolate" 0 "wrote i.png: 6x8 decoded codes" "$DLX" sample "$ck" --interpolate --grid 6x8 --out i.png
    s=$(png_size i.png)
    [ "$s" = 265x199 ] || fail "a 6x8 interpolation grid is 265x199 pixels, got $s"
    "$DLX" sample "$ck" --interpolate --grid 6x8 --out i2.png >/dev/null 2>&1
    cmp -s i.png i2.png || fail "--interpolate with the same seed gives the same file"
    check "--transfer and --interpolate together" 2 "give one" "$DLX" sample "$ck" --transfer --interpolate --out x.png
    check "a ring GAN trains (2 steps)" 0 '"step":2' "$DLX" train "$SRC/tests/data/gan/ring.yaml" --set train.epochs=1 \
        --set data.samples=512 --out ring --json --quiet
    check "--transfer of a GAN" 2 "has no split code" "$DLX" sample ring/checkpoint.h5 --transfer --out x.png
}

# field NAME FILE: a number of a --json result
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2"; }

case_measures() {
    check "the judge trains" 0 '"test_accuracy"' "$DLX" train "$SRC/tests/data/disentangle/judge.yaml" --out judge --json --quiet
    local j=judge/checkpoint.h5 f v
    check "train with the judge" 0 '"transfer_accuracy"' "$DLX" train "$TINY" \
        --set model.eval.classifier=$j --set model.eval.probe_train=320 --out run --json --quiet
    cp out.txt train.json
    for f in transfer_accuracy transfer_style_accuracy recon_accuracy s_probe_accuracy z_probe_accuracy \
        z_sample_probe_accuracy; do
        v=$(field $f train.json)
        "$PY" -c "import sys; sys.exit(0 if 0 <= float(sys.argv[1]) <= 1 else 1)" "$v" || fail "$f in [0, 1]" "got '$v'"
    done
    # z drawn with its noise carries no more class than its mean (a probe
    # fit on noisier codes; 0.05 for the probes' own spread on 1,000 digits)
    "$PY" -c "import sys; s, m = map(float, sys.argv[1:]); sys.exit(0 if s <= m + 0.05 else 1)" \
        "$(field z_sample_probe_accuracy train.json)" "$(field z_probe_accuracy train.json)" ||
        fail "the probe of sampled z reads no more class than the probe of the means" \
        "sampled $(field z_sample_probe_accuracy train.json), means $(field z_probe_accuracy train.json)"
    v=$(field recon_accuracy train.json)
    "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.3 else 1)" "$v" ||
        fail "the judge reads the reconstructions well above chance" "recon_accuracy $v"
    check "the measures are logged every epoch" 0 "z_probe_accuracy" "$DLX" inspect run/metrics.h5
    check "a model trained without model.eval" 0 '"step":40' "$DLX" train "$TINY" --set train.epochs=2 --out plain --json --quiet
    grep -qF transfer_accuracy out.txt && fail "no transfer accuracy without a classifier"
    check "dlx eval --set model.eval.classifier" 0 '"transfer_accuracy"' "$DLX" eval run/checkpoint.h5 --json \
        --set model.eval.classifier=$j --set model.eval.probe_train=320
    for f in transfer_accuracy s_probe_accuracy z_probe_accuracy z_sample_probe_accuracy; do
        [ "$(field $f out.txt)" = "$(field $f train.json)" ] || fail "dlx eval gives training's last $f" \
            "train $(field $f train.json), eval $(field $f out.txt)"
    done
    check "--set outside model.eval" 2 "settings of its evaluation only" "$DLX" eval run/checkpoint.h5 --set model.code.s=3
    check "a judge of 28x28 digits" 2 "takes 1x28x28 images; this model decodes 1x16x16" "$DLX" eval run/checkpoint.h5 \
        --set model.eval.classifier="$SRC/tests/data/compat/resume_v1_step5/checkpoint.h5"
    check "a missing judge" 1 "nope.h5" "$DLX" eval run/checkpoint.h5 --set model.eval.classifier=nope.h5
}

case_latent() {
    "$PY" -c 'import h5py' 2>/dev/null || { echo "SKIP: no python3 h5py"; exit 77; }
    local Z=$SRC/tests/data/disentangle/tiny_zdisc.yaml s first last n with without
    check "the tiny model with zdisc trains 300 steps" 0 '"z_probe_accuracy"' "$DLX" train "$Z" --out run --json --quiet
    with=$(field z_probe_accuracy out.txt)
    for s in train_z_cls train_z_adv; do
        read -r first last n <<<"$(series run $s)"
        [ "$n" = 15 ] || fail "$s is logged every epoch" "$n rows"
    done
    check "the same model without zdisc" 0 '"z_probe_accuracy"' "$DLX" train "$TINY" --out base --json --quiet
    without=$(field z_probe_accuracy out.txt)
    "$PY" -c "import sys; w, wo = map(float, sys.argv[1:]); sys.exit(0 if w <= 0.30 and w <= wo - 0.2 else 1)" \
        "$with" "$without" || fail "the latent adversary takes the class out of z" "z probe $with with, $without without"
    note "z probe: $with with the latent adversary, $without without"
    sed 's/activation: relu/activation: tanh/; s/type: relu/type: tanh/; s/activation: leaky_relu, alpha: 0.2/activation: tanh/; s/{type: leaky_relu, alpha: 0.2}/{type: tanh}/' \
        "$Z" >tanh.yaml
    check "gradcheck of z_cls" 0 "ok" "$DLX" gradcheck tanh.yaml --eps 1e-2 --loss z_cls
    check "gradcheck of z_adv" 0 "ok" "$DLX" gradcheck tanh.yaml --eps 1e-2 --loss z_adv
    check "gradcheck of g_loss with z_adv in it" 0 "ok" "$DLX" gradcheck tanh.yaml --eps 1e-2 --loss g_loss
    local e=(--set train.epochs=4)
    check "straight (80 steps)" 0 '"step":80' "$DLX" train "$Z" "${e[@]}" --out straight --json --quiet
    check "--stop-at 37" 0 "stopped at step 37 of 80" "$DLX" train "$Z" "${e[@]}" --out split --stop-at 37
    check "--resume" 0 "resuming from split/checkpoint.h5 at step 37" "$DLX" train "$Z" "${e[@]}" --out split --resume
    same "with zdisc: stopped at 37 + resumed == straight" straight split
    check "configs/disentangle_mnist_latent.yaml builds and steps" 0 "time per training step" "$DLX" train \
        "$SRC/configs/disentangle_mnist_latent.yaml" --dry-run --set data.train_limit=256 --set data.test_limit=64
    check "a model without zdisc but with model.weights trains" 0 '"step":20' "$DLX" train "$TINY" --set train.epochs=1 \
        --set model.weights.adv=0.02 --out w --json --quiet
    check "... and its checkpoint evaluates (its spec holds no zadv)" 0 '"rec_mse"' "$DLX" eval w/checkpoint.h5 --json
    grep -q zadv w/spec.yaml && fail "zadv is not filled into a spec without zdisc"
    check "zdisc that no update trains" 2 "no update trains the latent adversary zdisc" "$DLX" train "$Z" \
        --set 'train.updates=[{loss: d_loss, optimizer: d}, {loss: g_loss, optimizer: g}]' --out e
    check "zdisc trained by g_loss's optimizer" 2 "also trains zdisc" "$DLX" train "$Z" \
        --set 'train.optimizers.g.params=[enc, dec, zdisc]' --out e
    check "zadv without zdisc" 2 "needs a latent adversary: give model.networks.zdisc" "$DLX" train "$TINY" \
        --set model.weights.zadv=1 --out e
    sed 's/- {type: linear, units: 10}/- {type: linear, units: 3}/' "$Z" >z3.yaml
    check "a zdisc of 3 logits" 2 "the latent adversary gives one logit per class, 10" "$DLX" train z3.yaml --out e
    check "z_cls without zdisc" 2 "z_cls" "$DLX" train "$TINY" \
        --set 'train.updates=[{loss: d_loss, optimizer: d}, {loss: z_cls, optimizer: d}, {loss: g_loss, optimizer: g}]' --out e
}

case_errors() {
    sed 's/- {type: linear, units: 12}/- {type: linear, units: 10}/' "$TINY" >enc10.yaml
    check "an encoder of 10 outputs" 2 "enc10.yaml:17:" "$DLX" train enc10.yaml --out e
    grep -qF "s + 2z = 4 + 2x4 = 12" out.txt || fail "the message names s + 2z" "$(head -n 2 out.txt)"
    check "a decoder of the wrong size" 2 "gives 256 outputs per sample; the decoder gives an image of the data, 1x20x20 = 400" \
        "$DLX" train "$TINY" --set data.resize=[20,20] --out e
    sed 's/- {type: linear, units: 1}/- {type: linear, units: 2}/' "$TINY" >disc2.yaml
    check "an adversary of two logits" 2 "the adversary gives one logit" "$DLX" train disc2.yaml --out e
    check "a missing network" 2 "missing required network 'disc'" "$DLX" train "$TINY" \
        --set 'model.networks={enc: {layers: [{type: linear, units: 12}]}, dec: {layers: [{type: linear, units: 256}]}}' --out e
    check "an unknown weight" 2 "model.weights" "$DLX" train "$TINY" --set model.weights.gan=1 --out e
    check "one update only" 2 "trains d_loss and g_loss" "$DLX" train "$TINY" \
        --set 'train.updates=[{loss: g_loss, optimizer: g}]' --out e
}

case "$CASE" in
train | resume | sample | measures | latent | errors) "case_$CASE" ;;
*)
    echo "usage: tests/disentangle.sh CASE   (train resume sample measures latent errors)" >&2
    exit 2
    ;;
esac
finish
