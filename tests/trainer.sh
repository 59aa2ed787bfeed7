#!/usr/bin/env bash
# The one trainer, end to end (tests/trainer.sh CASE):
#   compat_v1   a version-1 checkpoint (written by the landed dlx before the
#               named optimizers, stopped at step 5) resumes, and ends within
#               float rounding of an uninterrupted run of this dlx
#   gan_modes   a two-network model from YAML alone: a GAN on a ring of 8
#               Gaussians, two Adam optimizers alternating; its samples cover
#               at least 7 of the 8 modes (counted; 8 on AVX-512 machines),
#               samples.png and the v2 checkpoint layout
#   gan_resume  --stop-at 137 then --resume == an uninterrupted run, bit for
#               bit (checkpoint and metrics); --profile on the resumed part
#   gan_threads 1 and 2 threads give the same bits
#   gan_errors  a GAN spec without updates, an unknown network, loss or
#               optimizer, a loss updated twice: exit 2 at the line; share:
#               across networks only as NETWORK:LAYER; SIGTERM
#               checkpoints and stops with exit 1; the NaN guard names the loss
#   gan_losses  a loss of weighted named terms (train.losses): d_real + d_fake
#               with weights 1 trains to the bits of d_loss; bad terms refused
#   gradcheck   dlx gradcheck on each named loss of the GAN, and --loss
#   gan_images  an image GAN (conv disc, MNIST padded to 32) and an image
#               EBGAN-PT (auto-encoder disc) train with exit 0 and write
#               their sample grids every epoch; the EBGAN losses gradcheck
#   gan_images_resume  an EBGAN stopped and resumed == uninterrupted, bit for bit
#   gan_images_threads an EBGAN on 1 and 2 threads gives the same bits
#   gan_images_errors  generator and discriminator outputs of the wrong size,
#               an ebgan disc that is no auto-encoder, an unknown loss, the
#               ebgan keys misplaced, a missing code layer: exit 2 at the
#               line; a collapsed generator, or an EBGAN discriminator stuck
#               at the margin, stops with the step, the last good checkpoint
#               intact
#   gan_sample  dlx sample on a tiny image GAN's checkpoint: a PNG grid of the
#               size --grid and --zoom give, the same seed the same file, another
#               seed another; --interpolate; a classifier's and a ring GAN's
#               checkpoints refused; bad arguments exit 2, a missing file 1;
#               --out replaces a PNG but refuses a checkpoint; the PNG follows
#               the umask (0644 under umask 022)
#   gan_images_score  model.score with a tiny classifier: the scores in
#               --json and metrics.h5 every epoch, the final ones and dlx
#               eval's, resume and 1 or 2 threads bit-exact with scoring on;
#               a missing or wrong classifier, unknown keys, the ring and a
#               size mismatch refused
#   rnn_tasks   the recurrent family on tiny tasks: a linear orthogonal RNN on
#               copy and an identity ReLU RNN on adding go below the
#               memoryless baseline, logged as the series `baseline` in
#               metrics.h5 and printed; an lstm and the variable-delay copy
#               train; dlx eval on a checkpoint gives test_loss and baseline;
#               dlx plot draws the baseline in the loss panel
#   rnn_resume  an rnn (copy) and an lstm (adding) stopped mid-epoch and
#               resumed == uninterrupted, bit for bit
#   rnn_threads 1 and 2 threads give the same bits (rnn and lstm)
#   rnn_errors  an unknown cell, a bad init, T too small, a key of the other
#               cell, an unknown task, a sequence too long for --max-memory:
#               exit 2 at the spec's line
#   rnn_gradcheck  dlx gradcheck of an rnn (tanh) and an lstm on the tasks
#   rnn_configs every configs/rnn/*.yaml builds and takes a step
#   metrics_live  metrics.h5 is readable during a long epoch: its loss rows
#               appear before the epoch ends (flushed every 10 s), complete
#               files only; the series say what their columns are
#   rnn_reproduce  a reproduce table of recurrent rows: below_baseline_at in
#               the table (also after a stop and --resume), the figure with
#               one panel per task, one curve per cell whose mean and range
#               over the seeds are the runs' own test losses, the baseline
#               dashed; --only reruns a row and keeps the others' results;
#               --figure-only draws it again; a row that blows up is
#               recorded as diverged and the next runs; configs/repro/henaff2016.yaml
#               loads and names configs that exist
# Env: DLX_BIN, DLX_SRC_DIR, DLX_DATA_DIR. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

. "$(dirname "$0")/lib.sh" trainer count
. "$SRC/tests/h5same.sh"
use_real_data
export OPENBLAS_NUM_THREADS=1
CASE=${1:-}
GAN=$SRC/tests/data/gan/ring.yaml
EB=$SRC/tests/data/gan/mnist_ebgan.yaml
IG=$SRC/tests/data/gan/mnist_gan.yaml
RCOPY=$SRC/tests/data/rnn/copy.yaml
RADD=$SRC/tests/data/rnn/adding.yaml
need_h5tools
make_work

json_field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2"; }

case_compat_v1() {
    [ -e "$DLX_DATA_DIR/mnist/train-images-idx3-ubyte" ] || [ -e "$DLX_DATA_DIR/mnist/train-images-idx3-ubyte.gz" ] ||
        { echo "SKIP: MNIST not found under $DLX_DATA_DIR"; exit 77; }
    local spec=$SRC/tests/data/compat/resume_v1.yaml
    mkdir v1 && cp "$SRC"/tests/data/compat/resume_v1_step5/*.h5 v1/
    check "resume from a version-1 checkpoint" 0 "resuming from v1/checkpoint.h5 at step 5" \
        "$DLX" train "$spec" --out v1 --resume
    check "the uninterrupted run" 0 '"step":16' "$DLX" train "$spec" --out straight --json --quiet
    sed -E 's/,"(train_seconds|step_seconds|images_per_second)":[0-9.e+-]+//g' out.txt >straight.json
    # The fixture's first 5 steps ran on an AVX-512 build (-march=native) of
    # e509e44, whose weight gradients came from OpenBLAS; dlx computes small
    # layers' weight gradients with its own kernel since (core/ops/
    # linear_small.c), and a CPU without AVX-512 runs other GEMM and exp
    # kernels, which round those 5 steps differently. So the comparison allows
    # 1e-6 absolute on the parameters (the runs differ by under 1e-7), 1e-3
    # relative on Adam's moments (its second moments are as small as 1e-8),
    # 1e-6 relative on the metrics. Resumes of checkpoints that this dlx
    # wrote are bit for bit (gan_resume, and e2e resume cases).
    local tol_p=(-d 1e-6) tol_o=(-p 1e-3) rel=1e-6
    for g in /params /optim/optimizer; do
        local tol=("${tol_p[@]}")
        [ $g = /params ] || tol=("${tol_o[@]}")
        h5diff "${tol[@]}" v1/checkpoint.h5 straight/checkpoint.h5 $g $g >h5diff.out 2>&1 ||
            fail "resumed from v1 == uninterrupted in $g" "$(grep -v ' 0 differences' h5diff.out | head -n 6)"
    done
    # the v1 run's metrics.h5 has (step, value) rows: the kept ones have no epoch
    local s
    [ "$(metric_series v1/metrics.h5)" = "$(metric_series straight/metrics.h5)" ] ||
        fail "resumed from v1: the same metrics series"
    for s in $(metric_series straight/metrics.h5); do
        paste -d' ' <(metric_rows v1/metrics.h5 "$s") <(metric_rows straight/metrics.h5 "$s") |
            awk -v r="$rel" '{ n++; d = $2 - $5; if (d < 0) d = -d; m = ($5 < 0 ? -$5 : $5);
                               if ($1 != $4 || d > r * (m > 1 ? m : 1)) bad++ }
                             END { exit (n > 0 && !bad) ? 0 : 1 }' ||
            fail "resumed from v1: the same metrics rows within $rel (its /state was read in order)" "/metrics/$s"
    done
    [ "$(metric_rows v1/metrics.h5 train_loss | awk '$1 > 5 { print $3 }' | tr '\n' ' ')" = \
        "$(metric_rows straight/metrics.h5 train_loss | awk '$1 > 5 { print $3 }' | tr '\n' ' ')" ] ||
        fail "resumed from v1: rows after the resume carry the epoch"
    check "the resumed checkpoint is version 2" 0 "format version: 2" "$DLX" inspect v1/checkpoint.h5
    grep -qF "optimizer optimizer: 16 updates" out.txt || fail "inspect shows the optimizer's update count" "$(head -n 8 out.txt)"
    check "the committed fixture is version 1" 0 "format version: 1" "$DLX" inspect "$SRC/tests/data/compat/resume_v1_step5/checkpoint.h5"
}

case_gan_modes() {
    # a plain GAN is chaotic: which mode one seed drops, if any, moves with the
    # CPU's rounding (8 on AVX-512 machines, 7 without); a collapsed GAN
    # covers one or two (Metz et al. 2017)
    check "the GAN trains from YAML alone" 0 '"modes":' "$DLX" train "$GAN" --out gan --json --quiet
    local modes
    modes=$(json_field modes out.txt)
    [ -n "$modes" ] && [ "$modes" -ge 7 ] || fail "the samples cover at least 7 of the 8 modes" "modes $modes"
    note "modes covered: $modes of 8"
    [ -s gan/samples.png ] || fail "samples.png is written"
    [ "$(wc -l <gan/samples.dat)" = 2500 ] && [ "$(wc -l <gan/modes.dat)" = 8 ] && grep -qF "set xlabel 'x1'" gan/samples.gp ||
        fail "samples.dat (2500 points), modes.dat (8) and the labelled gnuplot script samples.gp are written"
    local hq
    hq=$(json_field high_quality out.txt)
    awk -v h="$hq" 'BEGIN { exit !(h > 0.5) }' || fail "most samples lie within 3 std of a mode" "high_quality $hq"
    check "inspect shows each optimizer's update count" 0 "/optim/d/t" "$DLX" inspect gan/checkpoint.h5
    for p in /optim/g/t /optim/d/gen. /params/gen.linear1.weight /params/disc.linear3.bias /state/d_loss.epoch_sum; do
        case $p in
        /optim/d/gen.) grep -qF "$p" out.txt && fail "optimizer d holds no slot of the generator's parameters" ;;
        *) grep -qF "$p" out.txt || fail "the checkpoint holds $p" ;;
        esac
    done
    for m in train_d_loss train_g_loss lr_d lr_g modes high_quality; do
        check "metrics.h5 has $m" 0 "$m" "$DLX" inspect gan/metrics.h5
    done
}

case_gan_resume() {
    local s=(--set train.epochs=3)
    check "GAN straight (300 steps)" 0 '"step":300' "$DLX" train "$GAN" "${s[@]}" --out straight --json --quiet
    check "GAN --stop-at 137" 0 "stopped at step 137 of 300" "$DLX" train "$GAN" "${s[@]}" --out split --stop-at 137
    check "GAN --resume --profile" 0 "resuming from split/checkpoint.h5 at step 137" \
        "$DLX" train "$GAN" "${s[@]}" --out split --resume --profile
    grep -qF "profile of shard 0, per step" out.txt || fail "--profile prints its table for a GAN run"
    grep -qF "g_loss" out.txt || fail "the profile names the GAN's nodes"
    same "GAN stopped at 137 + resumed == straight" straight split
}

case_gan_threads() {
    local s=(--set train.epochs=2)
    check "GAN on 1 thread" 0 '"step":200' "$DLX" train "$GAN" "${s[@]}" --threads 1 --out t1 --json --quiet
    check "GAN on 2 threads" 0 '"step":200' "$DLX" train "$GAN" "${s[@]}" --threads 2 --out t2 --json --quiet
    same "GAN: 1 thread == 2 threads" t1 t2
}

case_gan_errors() {
    sed '/^  updates:/d' "$GAN" >no_updates.yaml
    check "a GAN without train.updates" 2 "a gan trains d_loss and g_loss" "$DLX" train no_updates.yaml --out e
    check "an unknown network in params:" 2 "the model has no network 'discriminator' (it has: gen, disc)" \
        "$DLX" train "$GAN" --set train.optimizers.d.params=discriminator --out e
    check "an unknown loss in updates" 2 "unknown loss 'd_los'; did you mean 'd_loss'?" \
        "$DLX" train "$GAN" --set 'train.updates=[{loss: d_los, optimizer: d}, {loss: g_loss, optimizer: g}]' --out e
    check "an unknown optimizer in updates" 2 "unknown optimizer 'h'" \
        "$DLX" train "$GAN" --set 'train.updates=[{loss: d_loss, optimizer: h}, {loss: g_loss, optimizer: g}]' --out e
    check "a loss updated twice" 2 "use repeat: to update it again" \
        "$DLX" train "$GAN" --set 'train.updates=[{loss: d_loss, optimizer: d}, {loss: d_loss, optimizer: g}]' --out e
    check "train.optimizer beside train.optimizers" 2 "cannot both be given" \
        "$DLX" train "$GAN" --set 'train.optimizer={type: sgd}' --out e
    check "a huge learning rate stops at a non-finite loss, naming it" 1 "_loss is" \
        "$DLX" train "$GAN" --set train.epochs=1 --set 'train.optimizers.d={params: disc, type: sgd, lr: 10}' \
        --set 'train.optimizers.g={params: gen, type: sgd, lr: 10}' --set train.checkpoint_every=1 --out nan
    grep -qF "nan/checkpoint.h5" out.txt || fail "the NaN guard names the last good checkpoint" "$(tail -n 2 out.txt)"
    # share: NETWORK:LAYER ties two networks where the spec says so, and only there
    local sh=$SRC/tests/data/gan/share.yaml
    check "disc shares gen's first layer" 0 '"step":8' "$DLX" train "$sh" --out share --json --quiet
    check "the shared parameters exist once" 0 "/params/gen.linear1.weight" "$DLX" inspect share/checkpoint.h5
    grep -qF "/params/disc.linear1" out.txt && fail "no disc.linear1 parameters when it shares gen's"
    grep -qF "/optim/d/gen.linear1" out.txt && fail "the discriminator's optimizer does not update gen's shared layer"
    sed 's/gen:linear1/gen:linear9/' "$sh" >share_bad.yaml
    check "share: naming no layer of the other network" 2 "share: 'gen:linear9' names no earlier layer" \
        "$DLX" train share_bad.yaml --out e
    # SIGTERM: a checkpoint, exit 1, and --resume carries on to the same bits
    "$DLX" train "$GAN" --set train.epochs=20 --out sig >sig.out 2>&1 &
    local pid=$! rc
    sleep 1.5
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    if [ "$rc" = 0 ]; then
        echo "note: the run finished before SIGTERM arrived"
    elif [ "$rc" != 1 ] || ! grep -qF "interrupted at step" sig.out; then
        fail "SIGTERM stops a GAN run with exit 1 and 'interrupted at step'" "got exit $rc" "$(tail -n 3 sig.out)"
    else
        check "--resume after SIGTERM" 0 "resuming from sig/checkpoint.h5" \
            "$DLX" train "$GAN" --set train.epochs=20 --out sig --resume
    fi
}

case_gan_losses() {
    local s=(--set train.epochs=1)
    check "GAN with d_loss" 0 '"train_d_loss":' "$DLX" train "$GAN" "${s[@]}" --out plain --json --quiet
    check "GAN with d_sum = 1 d_real + 1 d_fake" 0 '"train_d_sum":' "$DLX" train "$GAN" "${s[@]}" --out sum --json --quiet \
        --set 'train.losses={d_sum: {d_real: 1, d_fake: 1}}' \
        --set 'train.updates=[{loss: d_sum, optimizer: d}, {loss: g_loss, optimizer: g}]'
    h5diff plain/checkpoint.h5 sum/checkpoint.h5 /params /params >h5diff.out 2>&1 ||
        fail "weights of 1 give d_loss's bits" "$(head -n 6 h5diff.out)"
    check "GAN with d_real + 0.5 d_fake" 0 '"train_d_half":' "$DLX" train "$GAN" "${s[@]}" --out half --json --quiet \
        --set 'train.losses={d_half: {d_real: 1, d_fake: 0.5}}' \
        --set 'train.updates=[{loss: d_half, optimizer: d}, {loss: g_loss, optimizer: g}]'
    h5diff plain/checkpoint.h5 half/checkpoint.h5 /params /params >/dev/null 2>&1 &&
        fail "another weight trains to other parameters"
    check "an unknown term" 2 "unknown loss term 'd_rea'; did you mean 'd_real'?" \
        "$DLX" train "$GAN" --set 'train.losses={d_half: {d_rea: 1}}' --out e
    check "a loss name taken by the family" 2 "'g_loss' is already a loss of the model" \
        "$DLX" train "$GAN" --set 'train.losses={g_loss: {d_real: 1}}' --out e
    check "a one-loss family refuses train.losses" 2 "weighted sums do not apply" \
        "$DLX" train "$SRC/tests/data/e2e/ok.yaml" --set 'train.losses={x: {loss: 1}}' --out e
}

case_gradcheck() {
    # tanh: a kink-free point; the float32 loss limits the step to about 1e-2
    sed 's/activation: relu/activation: tanh/' "$GAN" >tanh.yaml
    check "gradcheck of both GAN losses" 0 "ok" "$DLX" gradcheck tanh.yaml --eps 1e-2
    grep -qE "worst: (d|g)_loss" out.txt || fail "the report names the loss of the worst coordinate"
    check "gradcheck --loss g_loss" 0 "ok" "$DLX" gradcheck tanh.yaml --eps 1e-2 --loss g_loss
    check "gradcheck --loss with a name the family lacks" 2 "a gan has the losses d_loss, g_loss" \
        "$DLX" gradcheck tanh.yaml --loss x_loss
    check "gradcheck of a weighted loss of train.losses" 0 "ok" "$DLX" gradcheck tanh.yaml --eps 1e-2 \
        --set 'train.losses={d_half: {d_real: 1, d_fake: 0.5}}' --loss d_half
}

# have_mnist: the image cases skip without the MNIST files
have_mnist() {
    [ -s "$DLX_DATA_DIR/mnist/train-images-idx3-ubyte" ] || { echo "SKIP: no MNIST under $DLX_DATA_DIR"; exit 77; }
}

case_gan_images() {
    have_mnist
    local f
    check "an image GAN trains (conv disc, MNIST padded to 32)" 0 '"step":16' "$DLX" train "$IG" --out ig --json --quiet
    grep -qF '"sample_std":' out.txt || fail "the image GAN reports sample_std"
    check "an image EBGAN-PT trains (auto-encoder disc)" 0 '"step":16' "$DLX" train "$EB" --out eb --json --quiet
    for f in ig/samples_epoch1.png ig/samples_epoch2.png ig/samples.png eb/samples_epoch1.png eb/samples_epoch2.png \
        eb/samples.png; do
        [ -s "$f" ] || fail "$f is written"
    done
    cmp -s eb/samples_epoch2.png eb/samples.png || fail "samples.png is the last epoch's grid"
    check "metrics.h5 has the EBGAN's losses" 0 "train_g_loss" "$DLX" inspect eb/metrics.h5
    # tanh and no batch norm: kink-free; the energies (~100s in float32) need a step of 3e-2
    sed -e 's/activation: relu/activation: tanh/' -e '/batchnorm/d' "$EB" >eb_tanh.yaml
    for f in d_loss g_loss pt; do
        check "gradcheck --loss $f of the EBGAN" 0 "ok" "$DLX" gradcheck eb_tanh.yaml --eps 3e-2 --loss $f
    done
    check "gradcheck of every EBGAN loss" 0 "ok" "$DLX" gradcheck eb_tanh.yaml --eps 3e-2
    check "gradcheck --loss names pt among an EBGAN's losses" 2 "d_real, d_fake, pt" \
        "$DLX" gradcheck eb_tanh.yaml --loss x_loss
}

case_gan_images_resume() {
    have_mnist
    local s=(--set train.epochs=3)
    check "EBGAN straight (24 steps)" 0 '"step":24' "$DLX" train "$EB" "${s[@]}" --out straight --json --quiet
    check "EBGAN --stop-at 11" 0 "stopped at step 11 of 24" "$DLX" train "$EB" "${s[@]}" --out split --stop-at 11
    check "EBGAN --resume" 0 "resuming from split/checkpoint.h5 at step 11" \
        "$DLX" train "$EB" "${s[@]}" --out split --resume
    same "EBGAN stopped at 11 + resumed == straight" straight split
    cmp -s straight/samples.png split/samples.png || fail "the resumed run draws the straight run's last grid"
}

case_gan_images_threads() {
    have_mnist
    check "EBGAN on 1 thread" 0 '"step":16' "$DLX" train "$EB" --threads 1 --out t1 --json --quiet
    check "EBGAN on 2 threads" 0 '"step":16' "$DLX" train "$EB" --threads 2 --out t2 --json --quiet
    same "EBGAN: 1 thread == 2 threads" t1 t2
    check "image GAN on 1 thread" 0 '"step":16' "$DLX" train "$IG" --threads 1 --out g1 --json --quiet
    check "image GAN on 2 threads" 0 '"step":16' "$DLX" train "$IG" --threads 2 --out g2 --json --quiet
    same "image GAN: 1 thread == 2 threads" g1 g2
}

case_gan_images_errors() {
    have_mnist
    local gl='model.networks.gen.layers'
    sed 's/units: 784, activation: tanh/units: 700, activation: tanh/' "$EB" >gen700.yaml
    check "a generator of 700 outputs for 28x28 images" 2 "gen700.yaml:18:" "$DLX" train gen700.yaml --out e
    grep -qF "gives 700 outputs per sample; an image of the data is 1x28x28 = 784" out.txt ||
        fail "the message names the sizes" "$(head -n 2 out.txt)"
    check "an image-shaped generator for the unpadded images" 2 "an image of the data is 1x28x28 = 784" \
        "$DLX" train "$IG" --set data.pad=0 --out e
    sed 's/activation: leaky_relu, alpha: 0.2}/activation: leaky_relu, alpha: 0.2}/; s/- {type: linear, units: 1}/- {type: linear, units: 2}/' \
        "$IG" >disc2.yaml
    check "a gan disc of two outputs" 2 "disc2.yaml:23:" "$DLX" train disc2.yaml --out e
    grep -qF "the discriminator gives one logit" out.txt || fail "the message says one logit" "$(head -n 2 out.txt)"
    sed 's/- {type: linear, units: 784}/- {type: linear, units: 1}/' "$EB" >eb_logit.yaml
    check "an ebgan disc that is no auto-encoder" 2 "an ebgan's discriminator is an auto-encoder" \
        "$DLX" train eb_logit.yaml --out e
    grep -qF "eb_logit.yaml:22:" out.txt || fail "the auto-encoder message gives the line" "$(head -n 2 out.txt)"
    check "an unknown loss" 2 "model.loss" "$DLX" train "$EB" --set model.loss=wgan --out e
    check "margin with loss: gan" 2 "model.margin: applies to loss: ebgan only" \
        "$DLX" train "$IG" --set model.margin=5 --out e
    sed '/code_layer:/d' "$EB" >no_code.yaml
    check "pt_weight without a code layer" 2 "no_code.yaml:10:" "$DLX" train no_code.yaml --out e
    grep -qF "name the disc layer that gives them with model.code_layer" out.txt ||
        fail "the message asks for model.code_layer" "$(head -n 2 out.txt)"
    check "a code layer the disc lacks" 2 "model.code_layer: the disc network has no layer named 'cod'" \
        "$DLX" train "$EB" --set model.code_layer=cod --out e
    check "data.range beside data.mean" 2 "data.range: give either range or mean and std, not both" \
        "$DLX" train "$EB" --set data.mean=0.5 --out e
    check "a data.range of lo >= hi" 2 "data.range: give [lo, hi] with lo < hi" \
        "$DLX" train "$EB" --set 'data.range=[1, -1]' --out e
    check "an unknown dataset" 2 "a gan takes ring, mnist" "$DLX" train "$EB" --set data.dataset=cifar --out e
    # a generator whose last layer starts at zero gives one image: the collapse test stops at step 1
    sed 's/units: 784, activation: tanh}/units: 784, activation: tanh, init: normal, init_scale: 0, bias: false}/' \
        "$EB" >collapse.yaml
    check "a collapsed generator stops with the step" 1 "training diverged at step 1 (epoch 1): the generator collapsed" \
        "$DLX" train collapse.yaml --out col
    [ -e col/checkpoint.h5 ] && fail "no checkpoint is written after a collapse"
    grep -qF "before any checkpoint was written" out.txt || fail "the collapse message says no checkpoint was written"
    # a discriminator that reconstructs every input exactly (one affine layer,
    # identity at start) has both energies 0 and no gradient: stuck at the margin
    sed '/pt_weight:/d; /code_layer:/d; /units: 16, activation: relu, name: code/d; s/- {type: linear, units: 784}$/- {type: affine}/' \
        "$EB" >stuck.yaml
    check "an EBGAN discriminator stuck at the margin stops with the step" 1 \
        "training diverged at step 3 (epoch 1): the discriminator is stuck at the margin: d_loss within 1 % of model.margin 10 for 3 D updates" \
        "$DLX" train stuck.yaml --set model.stuck_steps=3 --out stuck
    check "stuck_steps with loss: gan" 2 "model.stuck_steps: applies to loss: ebgan only" \
        "$DLX" train "$IG" --set model.stuck_steps=5 --out e
}

# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk of a PNG (bytes 16..23, big-endian).
png_size() {
    [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || { echo "not-a-png"; return; }
    od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d\n", (($1 * 256 + $2) * 256 + $3) * 256 + $4, (($5 * 256 + $6) * 256 + $7) * 256 + $8 }'
}

case_gan_sample() {
    have_mnist
    local ck=ig/checkpoint.h5 s
    check "an image GAN trains (MNIST padded to 32)" 0 '"step":16' "$DLX" train "$IG" --out ig --json --quiet
    # a 32x32 tile drawn 2x2 is 64 pixels, plus a 1-pixel border each: C * 65 + 1 by R * 65 + 1
    check "sample a 3x5 grid" 0 "wrote a.png: 3x5 samples of the generator (step 16, seed 3)" \
        "$DLX" sample "$ck" --grid 3x5 --out a.png
    s=$(png_size a.png)
    [ "$s" = 326x196 ] || fail "a 3x5 grid of 32x32 tiles at zoom 2 is 326x196 pixels, got $s"
    check "sample the same grid again" 0 "wrote" "$DLX" sample "$ck" --grid 3x5 --out b.png --seed 3
    cmp -s a.png b.png || fail "the same seed (the run's, 3) gives the same file"
    check "sample with another seed" 0 "seed 4)" "$DLX" sample "$ck" --grid 3x5 --out c.png --seed 4
    cmp -s a.png c.png && fail "another seed gives another file"
    check "sample at zoom 1" 0 "wrote" "$DLX" sample "$ck" --grid 2x7 --zoom 1 --out z.png
    s=$(png_size z.png)
    [ "$s" = 232x67 ] || fail "a 2x7 grid of 32x32 tiles at zoom 1 is 232x67 pixels, got $s"
    check "sample --interpolate" 0 "each row along a line between two latent vectors" \
        "$DLX" sample "$ck" --grid 4x8 --interpolate --seed 5 --out i.png
    s=$(png_size i.png)
    [ "$s" = 521x261 ] || fail "a 4x8 interpolation grid is 521x261 pixels, got $s"
    "$DLX" sample "$ck" --grid 4x8 --interpolate --seed 5 --out i2.png >/dev/null 2>&1
    cmp -s i.png i2.png || fail "--interpolate with the same seed gives the same file"
    "$DLX" sample "$ck" --grid 4x8 --seed 5 --out g.png >/dev/null 2>&1
    cmp -s i.png g.png && fail "--interpolate draws another grid than independent samples"
    check "sample the 1x1 and 64x64 extremes" 0 "wrote" "$DLX" sample "$ck" --grid 1x1 --out one.png
    [ "$(png_size one.png)" = 66x66 ] || fail "a 1x1 grid is 66x66 pixels, got $(png_size one.png)"
    check "sample a 64x64 grid" 0 "64x64 samples" "$DLX" sample "$ck" --grid 64x64 --zoom 1 --out big.png
    # refused: what has no generator, bad arguments, missing files
    check "a classifier checkpoint has no generator" 2 "model kind 'classifier' has no generator" \
        "$DLX" sample "$SRC/tests/data/compat/resume_v1_step5/checkpoint.h5" --out x.png
    check "a ring GAN trains (2 steps)" 0 '"step":2' "$DLX" train "$GAN" --set train.epochs=1 \
        --set data.samples=512 --out ring --json --quiet
    check "a ring GAN's samples are no images" 2 "generates points of the plane" \
        "$DLX" sample ring/checkpoint.h5 --out x.png
    for s in 0x3 3x0 65x2 2x65 10 10x 10x10x2 x10 -1x2 ' 2x2'; do
        check "--grid '$s' is refused" 2 "--grid: expected ROWSxCOLS" "$DLX" sample "$ck" --grid "$s" --out x.png
    done
    check "--out is required" 2 "missing --out FILE.png" "$DLX" sample "$ck"
    check "a checkpoint is required" 2 "dlx sample: missing CHECKPOINT" "$DLX" sample --out x.png
    check "--seed must be a number" 2 "--seed: expected a number" "$DLX" sample "$ck" --out x.png --seed -1
    check "--zoom 9 is refused" 2 "--zoom: expected a number from 1 to 8" "$DLX" sample "$ck" --out x.png --zoom 9
    check "an unknown option" 2 "unknown or incomplete option '--bogus'" "$DLX" sample "$ck" --out x.png --bogus
    [ -e x.png ] && fail "no file is written when the arguments are refused"
    check "a missing checkpoint exits 1" 1 "no-such.h5" "$DLX" sample no-such.h5 --out x.png
    printf 'not hdf5' >corrupt.h5
    check "a corrupt checkpoint exits 1" 1 "corrupt.h5" "$DLX" sample corrupt.h5 --out x.png
    check "an unwritable --out exits 1" 1 "no-dir/x.png" "$DLX" sample "$ck" --out no-dir/x.png
    # --out replaces a PNG, never another kind of file (a checkpoint given by mistake)
    check "an existing PNG is replaced" 0 "wrote c.png" "$DLX" sample "$ck" --grid 3x5 --out c.png
    cmp -s a.png c.png || fail "sampling over c.png (seed 4) with the run's seed gives a.png's bits"
    cp "$ck" keep.h5
    check "--out onto a checkpoint is refused" 2 "--out $ck: it exists and is not a PNG" \
        "$DLX" sample "$ck" --out "$ck"
    cmp -s "$ck" keep.h5 || fail "a refused --out changed the checkpoint"
    # a PNG follows the umask like every other file dlx writes (mkstemp made it 0600)
    rm -f m.png
    (umask 022 && "$DLX" sample "$ck" --grid 1x1 --out m.png >/dev/null 2>&1)
    [ "$(stat -c %a m.png)" = 644 ] || fail "under umask 022 a fresh sample PNG is mode $(stat -c %a m.png), not 644"
    (umask 077 && "$DLX" sample "$ck" --grid 1x1 --out m7.png >/dev/null 2>&1)
    [ "$(stat -c %a m7.png)" = 600 ] || fail "under umask 077 a sample PNG is mode $(stat -c %a m7.png), not 600"
}

case_gan_images_score() {
    have_mnist
    check "a tiny MNIST classifier" 0 '"test_accuracy":' "$DLX" train "$SRC/tests/data/gan/mnist_clf.yaml" --out clf \
        --json --quiet
    local sc='model.score={classifier: clf/checkpoint.h5, samples: 100, final_samples: 300}' s=(--set train.epochs=3) f
    check "an EBGAN scored by the classifier" 0 '"final_frechet":' "$DLX" train "$EB" "${s[@]}" --set "$sc" \
        --out straight --json --quiet
    for f in inception_score iprime iprime_sq frechet final_inception_score final_iprime final_iprime_sq; do
        grep -qF "\"$f\":" out.txt || fail "--json reports $f"
    done
    grep -qF '"final_score_samples":300' out.txt || fail "--json reports final_score_samples 300"
    local is fin
    is=$(json_field final_inception_score out.txt)
    awk -v v="$is" 'BEGIN { exit !(v >= 1 && v <= 10) }' || fail "an inception score in [1, 10]" "got '$is'"
    "$DLX" inspect straight/metrics.h5 >inspect.txt 2>&1
    for f in inception_score iprime iprime_sq frechet; do
        grep -qE "(^|[ /])$f( |$)" inspect.txt || fail "metrics.h5 has the $f series" "$(head -n 20 inspect.txt)"
    done
    check "dlx eval scores the generator" 0 "final_inception_score" "$DLX" eval straight/checkpoint.h5
    fin=$(awk '$1 == "final_inception_score" { print $2 }' out.txt)
    awk -v a="$fin" -v b="$is" 'BEGIN { d = a - b; exit !(d < 1e-4 * b && -d < 1e-4 * b) }' ||
        fail "dlx eval's score is training's final one" "eval '$fin', train '$is'"
    check "scored EBGAN --stop-at 11" 0 "stopped at step 11 of 24" "$DLX" train "$EB" "${s[@]}" --set "$sc" \
        --out split --stop-at 11
    check "scored EBGAN --resume" 0 '"final_frechet":' "$DLX" train "$EB" "${s[@]}" --set "$sc" --out split \
        --resume --json --quiet
    same "scored EBGAN stopped at 11 + resumed == straight" straight split
    check "scored EBGAN on 1 thread" 0 '"final_frechet":' "$DLX" train "$EB" "${s[@]}" --set "$sc" --out t1 \
        --threads 1 --json --quiet
    check "scored EBGAN on 2 threads" 0 '"final_frechet":' "$DLX" train "$EB" "${s[@]}" --set "$sc" --out t2 \
        --threads 2 --json --quiet
    same "scored EBGAN: 1 thread == 2 threads" t1 t2
    [ "$(json_field final_inception_score out.txt)" = "$is" ] || fail "the resumed run's final score is the straight one's"
    check "a missing classifier checkpoint" 1 "nope/checkpoint.h5" "$DLX" train "$EB" \
        --set 'model.score={classifier: nope/checkpoint.h5}' --out e
    grep -qF "model.score.classifier" out.txt || fail "the message names model.score.classifier" "$(head -n 2 out.txt)"
    check "a checkpoint of no classifier" 1 "model.score.classifier" "$DLX" train "$EB" \
        --set 'model.score={classifier: straight/checkpoint.h5}' --out e
    check "an unknown key of model.score" 2 "did you mean 'samples'" "$DLX" train "$EB" \
        --set 'model.score={classifier: clf/checkpoint.h5, sample: 10}' --out e
    check "model.score without a classifier" 2 "model.score: missing required key 'classifier'" "$DLX" train "$EB" \
        --set 'model.score={samples: 10}' --out e
    check "model.score on the ring" 2 "model.score: scores images with a classifier" "$DLX" train "$GAN" \
        --set 'model.score={classifier: clf/checkpoint.h5}' --out e
    check "32x32 samples for a 28x28 classifier" 2 "takes 1x28x28 images" "$DLX" train "$IG" \
        --set 'model.score={classifier: clf/checkpoint.h5}' --out e
}

# below DESC JSON: the run's test_loss is under its baseline
below() {
    local l b
    l=$(json_field test_loss "$2")
    b=$(json_field baseline "$2")
    if [ -z "$l" ] || [ -z "$b" ] || ! awk -v l="$l" -v b="$b" 'BEGIN { exit !(l < b) }'; then
        fail "$1: test_loss below the memoryless baseline" "test_loss '$l', baseline '$b'"
    fi
}

case_rnn_tasks() {
    check "linear orthogonal rnn on copy T=5" 0 '"baseline":0.83177' "$DLX" train "$RCOPY" --out copy --json --quiet
    cp out.txt copy.json
    below "copy" copy.json
    check "identity relu rnn on adding T=20" 0 '"baseline":0.16666' "$DLX" train "$RADD" --out add --json --quiet
    cp out.txt add.json
    below "adding" add.json
    check "the baseline is printed at the end" 0 "baseline" "$DLX" train "$RCOPY" --set train.epochs=1 --out p
    check "metrics.h5 has the baseline series" 0 "baseline" "$DLX" inspect copy/metrics.h5
    check "metrics.h5 has recall_accuracy" 0 "recall_accuracy" "$DLX" inspect copy/metrics.h5
    check "dlx plot of a copy run" 0 "" "$DLX" plot copy/metrics.h5 --out curves.png
    { grep -q "title 'baseline'" curves.png.gp && grep -q "set ylabel 'baseline, test_loss" curves.png.gp; } ||
        fail "dlx plot draws the baseline in the loss panel, beside test_loss" "$(grep -n baseline curves.png.gp)"
    check "dlx eval of a copy checkpoint" 0 '"baseline":0.83177' "$DLX" eval copy/checkpoint.h5 --json
    [ "$(json_field test_loss out.txt)" = "$(json_field test_loss copy.json)" ] ||
        fail "dlx eval gives the test_loss training ended with" "$(cat out.txt)" "$(cat copy.json)"
    check "an lstm on copy trains" 0 '"recall_accuracy":' "$DLX" train "$RCOPY" --set 'model.cell={type: lstm, hidden: 16}' \
        --set train.epochs=1 --out lstm --json --quiet
    check "the variable-delay copy trains" 0 '"baseline":0.83177' "$DLX" train "$RCOPY" \
        --set model.task.name=copy_variable --set train.epochs=1 --out var --json --quiet
    check "the henaff and normal inits train" 0 '"step":100' "$DLX" train "$RCOPY" --set model.cell.init=henaff \
        --set train.epochs=1 --out hen --json --quiet
    check "the normal init trains" 0 '"step":100' "$DLX" train "$RCOPY" --set model.cell.init=normal \
        --set model.cell.init_scale=0.5 --set train.epochs=1 --out nor --json --quiet
    h5diff hen/checkpoint.h5 nor/checkpoint.h5 /params/cell.W /params/cell.W >/dev/null 2>&1 &&
        fail "henaff and normal inits give other transitions"
}

case_rnn_resume() {
    check "rnn copy straight" 0 '"step":300' "$DLX" train "$RCOPY" --out straight --json --quiet
    check "rnn copy --stop-at 137" 0 "stopped at step 137 of 300" "$DLX" train "$RCOPY" --out split --stop-at 137
    check "rnn copy --resume" 0 "resuming from split/checkpoint.h5 at step 137" "$DLX" train "$RCOPY" --out split --resume
    same "rnn copy stopped at 137 + resumed == straight" straight split
    local l=(--set 'model.cell={type: lstm, hidden: 8}' --set train.epochs=2)
    check "lstm adding straight" 0 '"step":200' "$DLX" train "$RADD" "${l[@]}" --out lstraight --json --quiet
    check "lstm adding --stop-at 61" 0 "stopped at step 61 of 200" "$DLX" train "$RADD" "${l[@]}" --out lsplit --stop-at 61
    check "lstm adding --resume" 0 "resuming from" "$DLX" train "$RADD" "${l[@]}" --out lsplit --resume
    same "lstm adding stopped at 61 + resumed == straight" lstraight lsplit
}

case_rnn_threads() {
    check "rnn copy on 1 thread" 0 '"step":300' "$DLX" train "$RCOPY" --threads 1 --out t1 --json --quiet
    check "rnn copy on 2 threads" 0 '"step":300' "$DLX" train "$RCOPY" --threads 2 --out t2 --json --quiet
    same "rnn: 1 thread == 2 threads" t1 t2
    local l=(--set 'model.cell={type: lstm, hidden: 8}' --set train.epochs=1)
    check "lstm on 1 thread" 0 '"step":100' "$DLX" train "$RADD" "${l[@]}" --threads 1 --out l1 --json --quiet
    check "lstm on 2 threads" 0 '"step":100' "$DLX" train "$RADD" "${l[@]}" --threads 2 --out l2 --json --quiet
    same "lstm: 1 thread == 2 threads" l1 l2
}

case_rnn_errors() {
    sed 's/type: rnn,/type: gru,/' "$RCOPY" >gru.yaml
    check "an unknown cell" 2 "gru.yaml:9:" "$DLX" train gru.yaml --out e
    grep -qF "model.cell.type: unknown value 'gru' (one of: rnn, lstm)" out.txt || fail "the cell message" "$(cat out.txt)"
    sed 's/init: orthogonal/init: unitary/' "$RCOPY" >init.yaml
    check "a bad init" 2 "model.cell.init: unknown value 'unitary' (one of: orthogonal, identity, henaff, normal)" \
        "$DLX" train init.yaml --out e
    grep -qF "init.yaml:9:" out.txt || fail "the init message names its line" "$(cat out.txt)"
    sed 's/T: 20,/T: 1,/' "$RADD" >short.yaml
    check "adding with T too small" 2 "model.task.T: must be between 2 and 100000, got 1" "$DLX" train short.yaml --out e
    grep -qF "short.yaml:8:" out.txt || fail "the T message names its line" "$(cat out.txt)"
    sed 's/T: 5,/T: 0,/' "$RCOPY" >short0.yaml
    check "copy with T = 0" 2 "model.task.T: must be between 1 and 100000, got 0" "$DLX" train short0.yaml --out e
    sed 's/name: copy,/name: copyy,/' "$RCOPY" >task.yaml
    check "an unknown task" 2 "model.task.name: unknown value 'copyy'" "$DLX" train task.yaml --out e
    sed 's/cell: {type: rnn, activation: none,/cell: {type: lstm, activation: none,/' "$RCOPY" >lstm_act.yaml
    check "an rnn key on an lstm" 2 "'activation' is not a key of model.cell (lstm)" "$DLX" train lstm_act.yaml --out e
    sed 's/T: 5,/T: 90000,/' "$RCOPY" >long.yaml
    check "a sequence too long for --max-memory" 2 "bytes (" "$DLX" train long.yaml --max-memory 100M --out e
    grep -qF "long.yaml:8:" out.txt && grep -qF "needs 691353600 bytes" out.txt &&
        grep -qF "for backpropagation through time" out.txt || fail "the memory message: line, bytes, why" "$(cat out.txt)"
    [ -e e/checkpoint.h5 ] && fail "a refused spec writes no checkpoint"
    check "the same sequence under a larger limit is not refused for BPTT" 0 '"step":1' "$DLX" train long.yaml \
        --max-memory 4G --set train.epochs=1 --set model.task.samples=20 --set model.task.test_samples=20 --out ok --json --quiet
}

case_rnn_gradcheck() {
    check "gradcheck of a tanh rnn on copy" 0 "ok" "$DLX" gradcheck "$RCOPY" --set model.cell.activation=tanh \
        --set model.cell.hidden=8
    check "gradcheck of an lstm on adding" 0 "ok" "$DLX" gradcheck "$RADD" --set 'model.cell={type: lstm, hidden: 6}'
    check "gradcheck of a linear rnn on the variable copy" 0 "ok" "$DLX" gradcheck "$RCOPY" \
        --set model.task.name=copy_variable --set model.cell.hidden=8
}

case_rnn_configs() {
    local f n=0
    for f in "$SRC"/configs/rnn/*.yaml; do
        n=$((n + 1))
        check "$(basename "$f") takes a step" 0 "stopped at step 1 of" "$DLX" train "$f" --stop-at 1 --out "c$n"
    done
    [ "$n" -ge 5 ] || fail "configs/rnn holds the five configs" "found $n"
}

# one float of an HDF5 scalar dataset, at full precision
h5scalar() { h5dump -m %.9g -d "$2" "$1" | sed -n 's/.*(0): *\([-0-9.eE+]*\).*/\1/p'; }

case_rnn_reproduce() {
    cat >table.yaml <<EOT
paper: "a tiny recurrent table"
family: recurrent
figure: fig.png
rows:
  - {name: copy_s1, spec: $RCOPY, set: [seed=1], label: "linear RNN", panel: "copy",
     metrics: {test_loss: n/a, below_baseline_at: n/a}}
  - {name: copy_s2, spec: $RCOPY, set: [seed=2], label: "linear RNN", panel: "copy",
     metrics: {test_loss: n/a, below_baseline_at: n/a}}
  - {name: add_s1, spec: $RADD, set: [train.epochs=1], label: "IRNN", panel: "adding", metrics: {test_loss: n/a}}
EOT
    check "reproduce a recurrent table" 0 "| copy_s1 | below_baseline_at | n/a | 100 |" "$DLX" reproduce table.yaml --out r
    [ -s r/fig.png ] || fail "the figure is drawn"
    grep -q '^seed: 2$' r/copy_s2/spec.yaml || fail "each row's run directory holds its resolved spec.yaml" \
        "$(head -5 r/copy_s2/spec.yaml 2>&1)"
    { grep -q "set title 'copy'" r/figure.gp && grep -q "set title 'adding'" r/figure.gp &&
      grep -q "title 'linear RNN (2 seeds)'" r/figure.gp && grep -q "title 'IRNN (1 seed)'" r/figure.gp &&
      grep -q "dt 2 lw 2 lc rgb 'black' title 'memoryless baseline'" r/figure.gp; } ||
        fail "the figure: a panel per task, a curve per cell with its seeds, the baseline" "$(cat r/figure.gp)"
    local a b last
    a=$(h5scalar r/results.h5 /rows/copy_s1/test_loss)
    b=$(h5scalar r/results.h5 /rows/copy_s2/test_loss)
    last=$(awk 'NF == 0 { exit } { l = $0 } END { print l }' r/figure.gp.dat)
    awk -v l="$last" -v a="$a" -v b="$b" 'BEGIN { split(l, f, " "); m = (a + b) / 2; lo = a < b ? a : b; hi = a < b ? b : a;
        d = f[2] - m; if (d < 0) d = -d; e1 = f[3] - lo; if (e1 < 0) e1 = -e1; e2 = f[4] - hi; if (e2 < 0) e2 = -e2
        exit !(f[1] == 300 && d < 1e-6 && e1 < 1e-6 && e2 < 1e-6) }' ||
        fail "the copy curve ends at step 300 with the mean, min and max of the two seeds' test losses" \
            "dat '$last', seeds $a $b"
    # --only runs one row again; the others keep their results in results.h5
    check "reproduce --only copy_s2 --force" 0 "| copy_s1 | test_loss | n/a | " "$DLX" reproduce table.yaml --out r \
        --only copy_s2 --force
    [ "$(h5scalar r/results.h5 /rows/copy_s1/test_loss)" = "$a" ] && [ "$(h5scalar r/results.h5 /rows/copy_s2/test_loss)" = "$b" ] &&
        h5scalar r/results.h5 /rows/add_s1/test_loss | grep -q . ||
        fail "after --only, results.h5 holds every row with its results" "$(h5dump -H r/results.h5 | grep GROUP)"
    grep -q "not run" out.txt && fail "after --only, the table shows every row" "$(cat out.txt)"
    rm r/fig.png
    check "reproduce --figure-only draws it again" 0 "" "$DLX" reproduce table.yaml --out r --figure-only
    [ -s r/fig.png ] || fail "--figure-only draws the figure"
    # a stopped and resumed run counts the evaluations before the stop
    check "copy straight" 0 '"below_baseline_at":100' "$DLX" train "$RCOPY" --out s --json --quiet
    # a measure that never happened is null in --json: JSON has no NaN
    check "a copy run that never beats the baseline" 0 '"below_baseline_at":null' "$DLX" train "$RCOPY" \
        --out never --json --quiet --set train.epochs=1 --set train.optimizer.lr=1e-7
    "$PY" -c 'import json, sys; json.loads(open("out.txt").read().splitlines()[-1], parse_constant=lambda c: sys.exit("not JSON: " + c))' ||
        fail "--json prints strict JSON" "$(tail -n 1 out.txt)"
    check "copy stopped at 150" 0 "stopped at step 150" "$DLX" train "$RCOPY" --out p --stop-at 150
    check "copy resumed" 0 '"below_baseline_at":100' "$DLX" train "$RCOPY" --out p --resume --json --quiet
    # a row whose loss blows up is recorded as diverged and the table goes on
    cat >blow.yaml <<EOT
paper: "a row that diverges"
rows:
  - {name: blow, spec: $RCOPY, set: [train.epochs=1, "train.optimizer={type: sgd, lr: 10}"], metrics: {test_loss: n/a}}
  - {name: after, spec: $RCOPY, set: [train.epochs=1], metrics: {test_loss: n/a}}
EOT
    check "a diverging row" 0 "| blow | test_loss | n/a | diverged |" "$DLX" reproduce blow.yaml --out b
    grep -qF "row 'blow' diverged: " out.txt && grep -q "| after | test_loss | n/a | 0\." out.txt ||
        fail "the diverged row says why and the next row runs" "$(cat out.txt)"
    [ "$(h5scalar b/results.h5 /rows/blow/diverged)" = 1 ] || fail "results.h5 marks the row diverged"
    check "--only the other row keeps the diverged one as it was" 0 "| blow | test_loss | n/a | diverged |" \
        "$DLX" reproduce blow.yaml --out b --only after --force
    # the table is parsed before --only is checked
    check "the henaff2016 table loads" 2 "--only: no row named 'none'" "$DLX" reproduce \
        "$SRC/configs/repro/henaff2016.yaml" --only none --out h
    local f
    for f in $(sed -n 's/^ *spec: //p' "$SRC/configs/repro/henaff2016.yaml" | sort -u); do
        [ -e "$SRC/configs/repro/$f" ] || fail "henaff2016.yaml names $f (relative to configs/repro/), which does not exist"
    done
}

case_metrics_live() {
    # one epoch of 200,000 steps of a 128-unit RNN over 70 steps (minutes
    # here), a loss row every 100; stopped (SIGTERM) once a flush was seen
    # (not a terminal: a progress line every DLX_PROGRESS_INTERVAL seconds inside the epoch)
    DLX_PROGRESS_INTERVAL=2 "$DLX" train "$RCOPY" --set train.epochs=1 --set model.task.samples=4000000 \
        --set model.task.T=50 --set model.cell.hidden=128 --out live >live.txt 2>&1 &
    local pid=$! rows=0 i
    for i in $(seq 1 40); do
        sleep 1
        kill -0 $pid 2>/dev/null || break
        if [ -e live/metrics.h5 ]; then
            rows=$(h5dump -d /metrics/train_loss -H live/metrics.h5 2>/dev/null | sed -n 's/.*DATASPACE  SIMPLE { ( \([0-9]*\), 4 ).*/\1/p')
            [ -n "$rows" ] && [ "$rows" -gt 0 ] && break
        fi
    done
    local test_rows
    test_rows=$(h5dump -d /metrics/test_loss -H live/metrics.h5 2>/dev/null | grep -c DATASPACE)
    kill -0 $pid 2>/dev/null || fail "the epoch ended before a flush could be seen" "$(cat live.txt)"
    [ -n "$rows" ] && [ "$rows" -gt 0 ] || fail "no train_loss rows in metrics.h5 during the epoch"
    [ "$test_rows" = 0 ] || fail "test_loss is there before the epoch's end"
    # what a researcher does: h5py opens the file while training runs (no SWMR needed:
    # each flush renames a finished copy over it)
    if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
        /usr/bin/python3 - live/metrics.h5 >h5py.txt 2>&1 <<'PYEOF' || fail "h5py reads metrics.h5 during training" "$(cat h5py.txt)"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    d = f["metrics/train_loss"]
    rows = d[()]
    cols = d.attrs["columns"]
    cols = cols.decode() if isinstance(cols, bytes) else cols
    assert cols == "step, value, epoch, wall_s", cols
    assert rows.shape[0] > 0 and rows.shape[1] == 4, rows.shape
    assert 0 < rows[-1, 2] < 1 and rows[-1, 3] > 0, rows[-1]
print("h5py read", rows.shape[0], "rows mid-epoch")
PYEOF
        kill -0 $pid 2>/dev/null || fail "training ended while h5py read its metrics"
        cat h5py.txt
    fi
    kill -TERM $pid
    wait $pid
    echo "metrics_live: train_loss had $rows rows after ${i} s, mid-epoch"
    grep -qE '^epoch 1/1  step [0-9]+/200000  loss [0-9.]+  [0-9]+ img/s  ETA [0-9hm]+' live.txt ||
        fail "a log (not a terminal) gets progress lines inside a long epoch" "$(head -c 600 live.txt)"
    h5dump -a /metrics/train_loss/columns live/metrics.h5 | grep -q '"step, value, epoch, wall_s"' ||
        fail "the series names its columns" "$(h5dump -A live/metrics.h5 | head -30)"
    # mid-epoch rows: a fractional epoch (step / steps per epoch) and a wall
    # clock that grows; 200,000 steps an epoch (4,000,000 samples, batch 20)
    h5dump -y -w 0 -A 0 -m '%.17g' -d /metrics/train_loss live/metrics.h5 | sed -n '/DATA {/,/}/p' | tr -d '{}' |
        sed 's/DATA//' | tr ',' '\n' | awk 'NF { v[n++] = $1 }
            END { for (i = 0; i + 4 <= n; i += 4) print v[i], v[i + 2], v[i + 3] }' >cols.txt
    awk -v spe="$(awk '/batch:/ { print 4000000 / $2; exit }' "$RCOPY")" '
        $2 != $1 / spe || $2 <= 0 || $2 >= 1 { print "row " NR ": epoch " $2 " at step " $1 " (" spe " steps an epoch)"; bad = 1 }
        NR > 1 && $3 < w { print "row " NR ": wall_s " $3 " after " w; bad = 1 }
        { w = $3 } END { exit bad }' cols.txt >cols.bad || fail "the epoch and wall_s columns" "$(head -5 cols.bad)"
}

case $CASE in
rnn_tasks | rnn_resume | rnn_threads | rnn_errors | rnn_gradcheck | rnn_configs | rnn_reproduce | metrics_live) "case_$CASE" ;;
compat_v1 | gan_modes | gan_resume | gan_threads | gan_errors | gan_losses | gradcheck | gan_images | gan_images_resume | \
    gan_images_threads | gan_images_errors | gan_sample | gan_images_score) "case_$CASE" ;;
*)
    echo "usage: tests/trainer.sh CASE   (compat_v1 gan_modes gan_resume gan_threads gan_errors gan_losses gradcheck" \
        "gan_images gan_images_resume gan_images_threads gan_images_errors gan_sample gan_images_score" \
        "rnn_tasks rnn_resume rnn_threads rnn_errors rnn_gradcheck rnn_configs)" >&2
    exit 2
    ;;
esac
finish
