#!/bin/bash
# End-to-end tests of `dlx landscape`: tests/landscape.sh CASE
#   bad_specs   bad sweep specs exit 2 with a located, plain message
#   resume      a sweep killed with SIGKILL resumes and runs only what is missing
#   jobs        --jobs 2 gives the same table as --jobs 1
#   shard_merge --shard 0/2 + --shard 1/2 + --merge equals the single run
#   mpi         mpirun -np 2 equals the single run (skipped without mpirun or MPI)
#   linear111   the 1-1-1 surface heat map PNG is drawn (skipped without gnuplot)
#   hessian     the hessian measure gives params, index and eigenvalues; method
#               fd agrees with the exact products, also on a base with dropout
#               and batch norm
#   compare     --compare: two tables side by side, Pearson with its bootstrap
#               interval as the summary's, the same on a rerun, the figure
#   official    the official protocol's base spec (batch 1, lr 0.01/(1 + t/60000))
#               trains with that rate at every logged step
#   set         --set shrinks a sweep (an axis) without copying its YAML; the
#               table records the changed sweep; bad keys exit 2
#   gan_grid    a tiny EBGAN-vs-GAN grid through dlx reproduce (tests/data/gan/grid):
#               a scorer row, two sweep rows scoring with it (model.set), text axis
#               labels, gan measures, distribution results, the histogram figure
# Env: DLX_BIN (the dlx binary), DLX_SRC_DIR (the source tree). Exit 77 = skipped.
set -u
. "$(dirname "$0")/lib.sh" landscape
. "$SRC/tests/h5same.sh"   # metric_rows: a series' (step, value, epoch) rows
DATA=$SRC/tests/data/landscape
export OPENBLAS_NUM_THREADS=1
export DLX_DATA_DIR=${DLX_DATA_DIR:-$SRC/datasets/data}
T=$(mktemp -d /tmp/dlx-landscape-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$SRC" || exit 1


# deterministic columns of a table, one value per line with full precision
dump_cols() {
    local f=$1; shift
    for c in run "$@"; do
        h5dump -m '%.17g' -d "/table/$c" -y -w 1 "$f" | sed -n '/DATA {/,/}/p' || return 1
    done
}
same_table() { # file1 file2 columns...
    local a=$1 b=$2; shift 2
    diff <(dump_cols "$a" "$@") <(dump_cols "$b" "$@") > "$T/diff.txt" || { cat "$T/diff.txt" >&2; return 1; }
}
COLS="hidden seed train_loss test_loss test_error steps"
col_vals() { # the values of column $2 of table $1, one per line (not its attributes)
    h5dump -m '%.17g' -d "/table/$2" -y -w 1 "$1" | awk '/DATA \{/ {n++; next} n == 1 && /}/ {exit} n == 1 && NF {print}' | tr -d ,
}
n_rows() { # rows in a table; 0 when unreadable
    local n
    n=$(h5dump -d /table/run -y -w 1 "$1" 2> /dev/null | sed -n '/DATA {/,/}/p' | grep -c '^ *[0-9]')
    echo "${n:-0}"
}

rop_matches_fd() { # SWEEP NAME: the Hessian columns of the exact (rop) and fd sweeps agree to 1e-6
    local sweep=$1 name=$2 col
    [ -s "$T/$name.h5" ] || "$DLX" landscape "$sweep" --out "$T/$name.h5" --no-figures > "$T/$name.txt" 2>&1 ||
        fail "$name hessian sweep: $(cat "$T/$name.txt")"
    "$DLX" landscape "$sweep" --set sweep.hessian.method=fd --out "$T/${name}fd.h5" --no-figures \
        > "$T/${name}fd.txt" 2>&1 || fail "$name fd hessian sweep: $(cat "$T/${name}fd.txt")"
    for col in hessian_index eig_min eig_max; do
        paste <(col_vals "$T/$name.h5" $col) <(col_vals "$T/${name}fd.h5" $col) |
            awk '{d = $1 - $2; if (d < 0) d = -d; m = $1 < 0 ? -$1 : $1; if (d > 1e-6 * (1 + m)) bad++; n++}
                 END {exit !(n == 2 && bad == 0)}' ||
            fail "$name $col: rop and fd differ: $(paste <(col_vals "$T/$name.h5" $col) <(col_vals "$T/${name}fd.h5" $col))"
    done
}
case ${1:-} in
resume|jobs|shard_merge|mpi|hessian|set|gan_grid|compare|official)
    ls "$DLX_DATA_DIR"/mnist/t10k-images-idx3-ubyte* > /dev/null 2>&1 ||
        { echo "MNIST not in $DLX_DATA_DIR/mnist (datasets/fetch mnist): skipped"; exit 77; } ;;
esac

case ${1:-} in
bad_specs)
    check() { # spec expected-substring
        "$DLX" landscape "$DATA/$1" --out "$T/x.h5" > "$T/out.txt" 2> "$T/err.txt"
        local rc=$?
        [ $rc -eq 2 ] || fail "$1: exit $rc, expected 2: $(cat "$T/err.txt")"
        grep -qF -- "$2" "$T/err.txt" || fail "$1: message '$(cat "$T/err.txt")' lacks '$2'"
        [ ! -e "$T/x.h5" ] || fail "$1: a table was written for a bad spec"
    }
    check bad_empty_axis.yaml "bad_empty_axis.yaml:5:57: error: sweep.axes[0] (hidden): the axis is empty; give at least one value"
    check bad_range.yaml "sweep.axes[0] (seed): the axis is empty"
    check bad_measure.yaml "bad_measure.yaml:6:25: error: sweep.measures[1]: unknown measure 'tset_error' for model kind classifier; did you mean 'test_error'?"
    check bad_base.yaml "sweep.base: the base spec '$DATA/no_such_base.yaml' cannot be read"
    check bad_key.yaml "sweep.axes[0].key: 'model.layer.1.units' is not a key of the base spec"
    "$DLX" landscape "$DATA/sweep.yaml" --jobs 0 2> "$T/err.txt"; [ $? -eq 2 ] || fail "--jobs 0 not exit 2"
    "$DLX" landscape "$DATA/sweep.yaml" --shard 2/2 2> "$T/err.txt"; [ $? -eq 2 ] || fail "--shard 2/2 not exit 2"
    grep -qF "expected I/N with 0 <= I < N" "$T/err.txt" || fail "shard message: $(cat "$T/err.txt")"
    "$DLX" landscape --merge "$T/m.h5" "$T/none.h5" 2> "$T/err.txt"; [ $? -eq 1 ] || fail "merge of a missing file not exit 1"
    ;;
resume)
    "$DLX" landscape "$DATA/resume.yaml" --out "$T/s.h5" --no-figures > "$T/log1.txt" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do # kill once at least 2 of the 8 runs are in the table
        if [ -e "$T/s.h5" ] && [ "$(n_rows "$T/s.h5")" -ge 2 ]; then break; fi
        sleep 0.1
    done
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    before=$(n_rows "$T/s.h5")
    echo "killed with $before of 8 runs in the table"
    [ "$before" -ge 2 ] && [ "$before" -lt 8 ] || fail "killed too late or too early: $before rows"
    dump_cols "$T/s.h5" $COLS > "$T/before.txt"
    "$DLX" landscape "$DATA/resume.yaml" --out "$T/s.h5" --no-figures > "$T/log2.txt" 2>&1 || fail "resume failed: $(cat "$T/log2.txt")"
    ran=$(grep -c '^run ' "$T/log2.txt")
    [ "$ran" -eq $((8 - before)) ] || fail "resume ran $ran runs, expected $((8 - before)) (had $before)"
    [ "$(n_rows "$T/s.h5")" -eq 8 ] || fail "resumed table has $(n_rows "$T/s.h5") rows"
    "$DLX" landscape "$DATA/resume.yaml" --out "$T/full.h5" --no-figures --quiet || fail "uninterrupted sweep failed"
    same_table "$T/s.h5" "$T/full.h5" $COLS || fail "resumed table differs from an uninterrupted one"
    "$DLX" landscape "$DATA/resume.yaml" --out "$T/s.h5" --no-figures > "$T/log3.txt" 2>&1 || fail "rerun failed"
    [ "$(grep -c '^run ' "$T/log3.txt")" -eq 0 ] || fail "a complete sweep re-ran runs"
    ;;
set)
    # sweep.yaml: hidden [5, 8] x seed 1..4 = 8 runs; seeds 1..2 make it 4
    "$DLX" landscape "$DATA/sweep.yaml" --set 'sweep.axes.1.range=[1, 2]' --out "$T/set.h5" --no-figures \
        > "$T/set.txt" 2>&1 || fail "--set sweep.axes.1.range=[1, 2]: $(tail -3 "$T/set.txt")"
    grep -qF "sweep $DATA/sweep.yaml: 4 runs (2 axes)" "$T/set.txt" || fail "the shrunk sweep is not 4 runs: $(head -1 "$T/set.txt")"
    [ "$(n_rows "$T/set.h5")" -eq 4 ] || fail "the shrunk sweep's table has $(n_rows "$T/set.h5") rows"
    seeds=$(h5dump -d /table/seed -y -w 1 "$T/set.h5" | sed -n '/DATA {/,/}/p' | grep -o '[0-9.]\+' | sort -u | tr '\n' ' ')
    [ "$seeds" = "1 2 " ] || fail "the shrunk sweep ran seeds $seeds"
    # the table holds the sweep as changed: the unchanged sweep does not resume into it
    "$DLX" landscape "$DATA/sweep.yaml" --out "$T/set.h5" --no-figures --quiet 2> "$T/err.txt"
    [ $? -eq 2 ] || fail "the unchanged sweep into the shrunk one's table: not exit 2"
    grep -qF "holds results of a different sweep" "$T/err.txt" || fail "message: $(cat "$T/err.txt")"
    [ "$(n_rows "$T/set.h5")" -eq 4 ] || fail "the refused sweep changed the table"
    "$DLX" landscape "$DATA/sweep.yaml" --set 'sweep.axes.1.range=[1, 2]' --out "$T/set.h5" --no-figures > "$T/set2.txt" 2>&1 ||
        fail "the same --set again did not resume: $(cat "$T/set2.txt")"
    [ "$(grep -c '^run ' "$T/set2.txt")" -eq 0 ] || fail "the same --set again re-ran runs"
    "$DLX" landscape "$DATA/sweep.yaml" --set sweep.axes.0.nme=x --out "$T/bad.h5" 2> "$T/err.txt"
    [ $? -eq 2 ] || fail "--set of an unknown key: not exit 2"
    grep -qF "'nme' is not a key" "$T/err.txt" || fail "message: $(cat "$T/err.txt")"
    "$DLX" landscape "$DATA/sweep.yaml" --set sweep.axes.1.range 2> "$T/err.txt"
    [ $? -eq 2 ] || fail "--set without '=': not exit 2"
    [ ! -e "$T/bad.h5" ] || fail "a refused --set wrote a table"
    "$DLX" landscape --merge "$T/m.h5" "$T/set.h5" --set seed=2 2> "$T/err.txt"
    [ $? -eq 2 ] || fail "--merge with --set: not exit 2"
    # a line figure: mean and std of test_loss over the seeds at each hidden size
    "$DLX" landscape "$DATA/sweep.yaml" --set 'sweep.axes.1.range=[1, 2]' --out "$T/line/set.h5" --quiet \
        --set 'sweep.figures=[{type: line, x: hidden, y: test_loss, out: line.png}]' > "$T/line.txt" 2>&1 ||
        fail "a sweep with a line figure: $(cat "$T/line.txt")"
    grep -q "yerrorlines" "$T/line/line.gp" || fail "line.gp: $(cat "$T/line/line.gp")"
    # each point: the mean and sample std of the two seeds' test_loss in the table
    for h in 5 8; do
        exp=$(paste <(col_vals "$T/line/set.h5" hidden) <(col_vals "$T/line/set.h5" test_loss) | tr -d ',' |
              awk -v h=$h '$1 == h { s += $2; q += $2 * $2; n++ } END { m = s / n; printf "%.6g %.6g %d", m, sqrt((q - n * m * m) / (n - 1)), n }')
        got=$(awk -v h=$h '$1 == h { printf "%.6g %.6g %d", $2, $3, $4 }' "$T/line/line.dat")
        [ "$exp" = "$got" ] || fail "line.dat at hidden $h: '$got', the table gives '$exp'"
    done
    ;;
jobs)
    "$DLX" landscape "$DATA/sweep.yaml" --out "$T/j1.h5" --jobs 1 --quiet --no-figures || fail "--jobs 1"
    "$DLX" landscape "$DATA/sweep.yaml" --out "$T/j2.h5" --jobs 2 --quiet --no-figures || fail "--jobs 2"
    same_table "$T/j1.h5" "$T/j2.h5" $COLS || fail "--jobs 2 differs from --jobs 1"
    ;;
shard_merge)
    "$DLX" landscape "$DATA/sweep.yaml" --out "$T/one.h5" --quiet --no-figures || fail "single"
    "$DLX" landscape "$DATA/sweep.yaml" --out "$T/s0.h5" --shard 0/2 --quiet || fail "shard 0/2"
    "$DLX" landscape "$DATA/sweep.yaml" --out "$T/s1.h5" --shard 1/2 --quiet || fail "shard 1/2"
    [ "$(n_rows "$T/s0.h5")" -eq 4 ] || fail "shard 0/2 has $(n_rows "$T/s0.h5") rows"
    "$DLX" landscape --merge "$T/m.h5" "$T/s1.h5" "$T/s0.h5" --quiet || fail "merge"
    same_table "$T/one.h5" "$T/m.h5" $COLS || fail "merged shards differ from the single run"
    "$DLX" landscape "$DATA/hessian.yaml" --out "$T/other.h5" --quiet --no-figures || fail "other sweep"
    "$DLX" landscape --merge "$T/bad.h5" "$T/s0.h5" "$T/other.h5" 2> "$T/err.txt"
    [ $? -eq 2 ] || fail "merging different sweeps not exit 2"
    grep -qF "is from a different sweep" "$T/err.txt" || fail "merge message: $(cat "$T/err.txt")"
    ;;
mpi)
    command -v mpirun > /dev/null || { echo "no mpirun: skipped"; exit 77; }
    "$DLX" landscape "$DATA/sweep.yaml" --out "$T/one.h5" --quiet --no-figures || fail "single"
    root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
    mpirun "${root[@]}" --oversubscribe -np 2 "$DLX" landscape "$DATA/sweep.yaml" --out "$T/mpi.h5" --no-figures \
        > "$T/mpi.txt" 2>&1
    rc=$?
    if grep -q "built without MPI" "$T/mpi.txt"; then echo "dlx built without MPI: skipped"; exit 77; fi
    [ $rc -eq 0 ] || fail "mpirun exit $rc: $(tail -20 "$T/mpi.txt")"
    grep -q '^\[rank 1\] run' "$T/mpi.txt" || fail "rank 1 ran nothing: $(cat "$T/mpi.txt")"
    same_table "$T/one.h5" "$T/mpi.h5" $COLS || fail "mpirun table differs from the single run"
    ;;
linear111)
    command -v gnuplot > /dev/null || { echo "no gnuplot: skipped"; exit 77; }
    "$DLX" landscape configs/landscape/linear111_sweep.yaml --out "$T/lin/sweep.h5" --quiet || fail "linear111 sweep"
    png=$T/lin/linear111_surface.png
    [ -s "$png" ] || fail "no $png"
    [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$png is not a PNG"
    # every gradient-descent end point is in a valley: w1*w2 = 1 (target 1, no noise)
    paste <(h5dump -m '%.17g' -d /table/w1 -y -w 1 "$T/lin/sweep.h5" | sed -n '/DATA {/,/}/p' | grep '[0-9]' | tr -d ,) \
          <(h5dump -m '%.17g' -d /table/w2 -y -w 1 "$T/lin/sweep.h5" | sed -n '/DATA {/,/}/p' | grep '[0-9]' | tr -d ,) |
        awk '{p = $1 * $2; if (p < 0.999 || p > 1.001) bad++; n++} END {exit !(n == 40 && bad == 0)}' ||
        fail "end points not all on w1*w2 = 1"
    ;;
hessian)
    "$DLX" landscape "$DATA/hessian.yaml" --out "$T/h.h5" --no-figures > "$T/h.txt" 2>&1 || fail "hessian sweep: $(cat "$T/h.txt")"
    grep -q 'params=565 hessian_index=[0-9]* eig_min=-*[0-9.e-]* eig_max=[0-9]' "$T/h.txt" || fail "expected 565 params and a positive top eigenvalue: $(cat "$T/h.txt")"
    # the exact products against central differences of double gradients:
    # the same index and extreme eigenvalues to 1e-6
    rop_matches_fd "$DATA/hessian.yaml" h
    # ops that had no R-operator before (dropout, batchnorm) in the base: the
    # measure is taken (evaluation mode), and rop and fd agree on it as well
    # (an op without one is refused by name: tests/test_rop.c)
    sed 's/- {type: flatten}/- {type: flatten}\n    - {type: dropout, rate: 0.2}/;
         s/- {type: linear, units: 5, activation: relu, init: torch}/- {type: linear, units: 5, init: torch}\n    - {type: batchnorm}\n    - {type: relu}/' \
        "$DATA/base.yaml" > "$T/drop_base.yaml"
    grep -q batchnorm "$T/drop_base.yaml" || fail "the dropout/batchnorm base was not written"
    sed "s|base: base.yaml|base: $T/drop_base.yaml|" "$DATA/hessian.yaml" > "$T/drop.yaml"
    rop_matches_fd "$T/drop.yaml" drop
    ;;
gan_grid)
    G=$T/g
    "$DLX" reproduce tests/data/gan/grid/repro.yaml --out "$G" --quiet > "$T/out.txt" 2> "$T/err.txt" ||
        fail "reproduce: $(cat "$T/err.txt")"
    for side in ebgan gan; do
        [ "$(n_rows "$G/$side/sweep.h5")" = 4 ] || fail "$side: expected 4 runs in the table"
        # every run scored with the scorer row's classifier (the base names no/such/scorer.h5)
        [ "$(col_vals "$G/$side/sweep.h5" final_iprime | grep -c '^ *[0-9]')" = 4 ] || fail "$side: a run has no score"
        [ "$(col_vals "$G/$side/sweep.h5" steps | grep -c '^ *8$')" = 4 ] || fail "$side: steps are not 8"
    done
    # the text axis: value indexes, the labels attribute, the axis marks
    [ "$(col_vals "$G/gan/sweep.h5" optim_d | tr -d ' \n')" = 0011 ] || fail "optim_d does not hold indexes"
    h5dump -a /table/optim_d/labels "$G/gan/sweep.h5" | tr -d '\n ' | grep -q '"adamsgd"' ||
        fail "no labels adam, sgd on /table/optim_d: $(h5dump -a /table/optim_d/labels "$G/gan/sweep.h5")"
    h5dump -a /table/lr/axis "$G/gan/sweep.h5" | grep -q '(0): 1' || fail "/table/lr is not marked as an axis"
    h5dump -a /table/final_iprime/axis "$G/gan/sweep.h5" > /dev/null 2>&1 && fail "a measure is marked as an axis"
    col_vals "$G/gan/sweep.h5" lr | grep -q '^ *0.01$' || fail "lr column lacks 0.01"
    # the distribution results in results.h5 and the printed table
    for r in final_iprime_median final_iprime_sq_q25 final_inception_score_max final_iprime_pct_above0.1 \
             collapsed_runs collapsed_pct runs; do
        h5dump -d "/rows/gan/$r" "$G/results.h5" > /dev/null 2>&1 || fail "results.h5 lacks /rows/gan/$r"
    done
    grep -q '^| gan | collapsed_runs | more | [0-9]' "$T/out.txt" || fail "collapsed_runs not printed: $(cat "$T/out.txt")"
    grep -q '^| ebgan | runs | n/a | 4 |' "$T/out.txt" || fail "ebgan runs not 4: $(cat "$T/out.txt")"
    # the figure: its data (20 bins, EBGAN and GAN), and the PNG when gnuplot is there
    [ "$(grep -c '^[-0-9.e]* [0-9.e]* [0-9.e]*$' "$G/grid.dat")" = 20 ] || fail "grid.dat: $(cat "$G/grid.dat")"
    grep -q "title 'EBGAN (4 runs)'" "$G/figure.gp" && grep -q "title 'GAN (4 runs)'" "$G/figure.gp" ||
        fail "legend: $(cat "$G/figure.gp")"
    if command -v gnuplot > /dev/null; then
        head -c 8 "$G/grid.png" | od -An -c | grep -q 'P   N   G' || fail "grid.png is not a PNG"
    fi
    # the summary prints the labels; it groups by both axes (one run each),
    # or by the axis --by names (two runs each)
    "$DLX" landscape tests/data/gan/grid/gan_sweep.yaml --summary --out "$G/gan/sweep.h5" > "$T/sum.txt" 2>&1 ||
        fail "summary: $(cat "$T/sum.txt")"
    grep -q 'grouped by optim_d,lr$' "$T/sum.txt" && grep -q '^ *adam  *0.01  *1 ' "$T/sum.txt" &&
        grep -q '^ *sgd  *0.001  *1 ' "$T/sum.txt" || fail "summary by every axis, with labels: $(cat "$T/sum.txt")"
    [ "$(grep -c '^ *\(adam\|sgd\)  *0.0*1  *1 ' "$T/sum.txt")" -ge 4 ] || fail "four groups per measure: $(cat "$T/sum.txt")"
    "$DLX" landscape tests/data/gan/grid/gan_sweep.yaml --summary --by optim_d --out "$G/gan/sweep.h5" > "$T/sum.txt" 2>&1 ||
        fail "summary --by optim_d: $(cat "$T/sum.txt")"
    grep -q '^ *adam  *2 ' "$T/sum.txt" && grep -q '^ *sgd  *2 ' "$T/sum.txt" || fail "summary --by optim_d: $(cat "$T/sum.txt")"
    "$DLX" landscape tests/data/gan/grid/gan_sweep.yaml --summary --by nope --out "$G/gan/sweep.h5" > "$T/sum.txt" 2>&1
    [ $? = 2 ] && grep -q "summary: no column 'nope'" "$T/sum.txt" || fail "--by an unknown column: $(cat "$T/sum.txt")"
    # a reproduce stopped before its results.h5: run again, both sweeps resume
    # with nothing to do, the same rows
    cp "$G/gan/sweep.h5" "$T/gan_before.h5"
    rm "$G/results.h5"
    "$DLX" reproduce tests/data/gan/grid/repro.yaml --out "$G" --quiet > "$T/out2.txt" 2> "$T/err2.txt"
    [ $? -eq 2 ] && grep -q "continue a stopped reproduce with --resume" "$T/err2.txt" ||
        fail "a rerun without --resume is refused: $(cat "$T/err2.txt")"
    "$DLX" reproduce tests/data/gan/grid/repro.yaml --out "$G" --resume --quiet > "$T/out2.txt" 2> "$T/err2.txt" ||
        fail "second reproduce: $(cat "$T/err2.txt")"
    same_table "$T/gan_before.h5" "$G/gan/sweep.h5" optim_d lr final_iprime steps || fail "the rerun changed the table"
    # bad distribution keys are spec errors (exit 2) naming the key
    "$DLX" train tests/data/gan/grid/as_model.yaml --out "$T/bad" --set 'model.stats=[final_iprme]' > /dev/null 2> "$T/e.txt"
    [ $? -eq 2 ] && grep -q "model.stats\[0\]: 'final_iprme' is not a column of the sweep" "$T/e.txt" ||
        fail "bad stats column: $(cat "$T/e.txt")"
    "$DLX" train tests/data/gan/grid/as_model.yaml --out "$T/bad" --set 'model.set=[model.noize.dim=3]' > /dev/null 2> "$T/e.txt"
    [ $? -eq 2 ] && grep -q "'noize' is not a key of model (gan); did you mean 'noise'?" "$T/e.txt" ||
        fail "bad model.set: $(cat "$T/e.txt")"
    "$DLX" train tests/data/gan/grid/as_model.yaml --out "$T/bad" --set 'model.set=[model.networks.gen.layers.7.units=3]' \
        > /dev/null 2> "$T/e.txt"
    [ $? -eq 2 ] && grep -q "setting 'model.networks.gen.layers.7.units=3' in the base spec" "$T/e.txt" ||
        fail "bad model.set index: $(cat "$T/e.txt")"
    ;;
compare)
    # two sweeps side by side: per table and hidden size the runs, test-loss
    # mean and std, Pearson(test, train) with a bootstrap interval; the same
    # Pearson as the table's own summary, the same interval on a rerun
    "$DLX" landscape "$DATA/sweep.yaml" --out "$T/a.h5" --no-figures > "$T/a.txt" 2>&1 || fail "sweep a: $(cat "$T/a.txt")"
    "$DLX" landscape "$DATA/sweep.yaml" --set name=ls-test-b --set 'sweep.axes.1.range=[2, 4]' --out "$T/b.h5" \
        --no-figures > "$T/b.txt" 2>&1 || fail "sweep b: $(cat "$T/b.txt")"
    "$DLX" landscape --compare "$T/cmp.png" "$T/a.h5" "$T/b.h5" > "$T/cmp.txt" 2> "$T/cmp_err.txt" ||
        fail "compare: $(cat "$T/cmp_err.txt")"
    [ "$(grep -c '^ls-test ' "$T/cmp.txt")" = 2 ] && [ "$(grep -c '^ls-test-b ' "$T/cmp.txt")" = 2 ] ||
        fail "expected two groups of each table: $(cat "$T/cmp.txt")"
    awk '$1 == "ls-test" && $2 == 5 {print $3}' "$T/cmp.txt" | grep -qx 4 || fail "a, hidden 5: 4 runs: $(cat "$T/cmp.txt")"
    awk '$1 == "ls-test-b" && $2 == 8 {print $3}' "$T/cmp.txt" | grep -qx 3 || fail "b, hidden 8: 3 runs: $(cat "$T/cmp.txt")"
    rho_a5=$(awk '$1 == "ls-test" && $2 == 5 {print $6}' "$T/cmp.txt")
    sum_a5=$(awk '/^test_loss/ {t = 1; next} t && $1 == 5 {print $7; exit}' "$T/a.txt")
    [ -n "$rho_a5" ] && [ "$rho_a5" = "$sum_a5" ] || fail "Pearson $rho_a5 differs from the summary's $sum_a5: $(cat "$T/a.txt")"
    sed 's/.*\[\(.*\), \(.*\)\]$/\1 \2/' "$T/cmp.txt" | tail -n +2 |
        awk '{if (!($1 <= $2 && $1 >= -1 && $2 <= 1)) bad++} END {exit bad > 0}' || fail "intervals: $(cat "$T/cmp.txt")"
    "$DLX" landscape --compare "$T/cmp2.png" "$T/a.h5" "$T/b.h5" --no-figures > "$T/cmp2.txt" 2>&1
    cmp -s "$T/cmp.txt" "$T/cmp2.txt" || fail "a rerun gave other numbers: $(diff "$T/cmp.txt" "$T/cmp2.txt")"
    if command -v gnuplot > /dev/null; then
        [ -s "$T/cmp.png" ] || fail "no figure: $(cat "$T/cmp_err.txt")"
    fi
    # a table without a needed column cannot be compared (exit 2, naming both)
    "$DLX" landscape "$DATA/hessian.yaml" --out "$T/h.h5" --no-figures > /dev/null 2>&1 || fail "hessian sweep"
    "$DLX" landscape --compare "$T/bad.png" "$T/a.h5" "$T/h.h5" > /dev/null 2> "$T/bad.txt"
    [ $? = 2 ] && grep -q "h.h5.*has no column 'hidden'" "$T/bad.txt" || fail "no hidden column: $(cat "$T/bad.txt")"
    ;;
official)
    # 2 epochs of 1,500 samples at batch 1: 3,000 updates, the rate logged every 500
    "$DLX" train configs/landscape/mnist10_mlp_official.yaml --set train.epochs=2 --set data.train_limit=1500 \
        --set data.test_limit=200 --set train.log_every=500 --set model.layers.1.units=5 --out "$T/off" --quiet \
        --json > "$T/off.json" 2> "$T/off_err.txt" || fail "official: $(cat "$T/off_err.txt")"
    grep -q '"step":3000' "$T/off.json" || fail "expected 3000 batch-1 steps: $(cat "$T/off.json")"
    metric_rows "$T/off/metrics.h5" lr | awk '{want = 0.01 / (1 + ($1 - 1) / 60000); d = $2 - want; if (d < 0) d = -d;
                          if (d > 1e-12) bad++; n++} END {exit !(n == 6 && bad == 0)}' ||
        fail "lr is not 0.01 / (1 + t / 60000) at the logged steps: $(h5dump -d /metrics/lr "$T/off/metrics.h5")"
    ;;
*)
    echo "usage: $0 bad_specs|resume|jobs|shard_merge|mpi|linear111|hessian|gan_grid|compare|official" >&2
    exit 2
    ;;
esac
echo "ok: $1"
