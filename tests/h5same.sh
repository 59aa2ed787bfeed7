# Comparing the HDF5 files dlx writes, for the test scripts (sourced; needs
# h5diff, h5dump and h5ls from hdf5-tools).
#
#   metric_steps FILE SERIES   the step column, one per line
#   metric_rows FILE SERIES    "step value epoch" per line, full precision
#   metrics_same A B [N]       the same series with the same rows, wall_s aside
#                              (N = 2: step and value only, for a file resumed
#                              from an older one, whose kept rows have no epoch)
#   h5same A B                 two files hold the same data (provenance
#                              attributes on / aside; a metrics.h5 by
#                              metrics_same); what differs goes to h5diff.out
#   same DESC A B [FILE...]    two run directories hold the same FILEs
#                              (default checkpoint.h5 metrics.h5); else calls
#                              the sourcing script's fail with DESC
#
# A series row is (step, value, epoch, wall_s) (an older file's: (step,
# value)); wall_s is wall-clock time, which no two runs share, so runs that
# must be bit-identical are compared on the other columns.

metric_cols() { # FILE SERIES
    h5dump -H -d "/metrics/$2" "$1" 2>/dev/null | sed -n 's/.*DATASPACE  SIMPLE { ( [0-9]*, \([0-9]*\) ).*/\1/p'
}
metric_rows() { # FILE SERIES
    local cols
    cols=$(metric_cols "$1" "$2")
    h5dump -y -w 0 -A 0 -m '%.17g' -d "/metrics/$2" "$1" 2>/dev/null |
        sed -n '/DATA {/,/}/p' | tr -d '{}' | sed 's/DATA//' | tr ',' '\n' |
        awk -v c="${cols:-2}" 'NF { v[n++] = $1 }
            END { for (i = 0; i + c <= n; i += c) print v[i], v[i + 1], (c > 2 ? v[i + 2] : "") }'
}
metric_steps() { metric_rows "$1" "$2" | awk '{ print $1 }'; }
metric_series() { h5ls "$1/metrics" 2>/dev/null | awk '{ print $1 }'; }

metrics_same() { # A B [N]
    local sa sb s n=${3:-3}
    sa=$(metric_series "$1")
    sb=$(metric_series "$2")
    if [ "$sa" != "$sb" ]; then
        echo "the series differ: $(echo $sa) vs $(echo $sb)"
        return 1
    fi
    for s in $sa; do
        if [ "$(metric_rows "$1" "$s" | cut -d' ' -f1-"$n")" != "$(metric_rows "$2" "$s" | cut -d' ' -f1-"$n")" ]; then
            echo "/metrics/$s differs (the first $n of step value epoch):"
            diff <(metric_rows "$1" "$s" | cut -d' ' -f1-"$n") <(metric_rows "$2" "$s" | cut -d' ' -f1-"$n") | head -n 6
            return 1
        fi
    done
}

h5same() { # A B
    case "$1" in
    metrics.h5 | */metrics.h5) metrics_same "$1" "$2" >h5diff.out 2>&1 ;;
    *) h5diff --exclude-attribute / "$1" "$2" >h5diff.out 2>&1 ;;
    esac
}

same() { # DESC A B [FILE...]
    local desc=$1 a=$2 b=$3 f
    shift 3
    [ $# -gt 0 ] || set -- checkpoint.h5 metrics.h5
    for f in "$@"; do
        h5same "$a/$f" "$b/$f" || fail "$desc: $f differs" "$(grep -v ' 0 differences' h5diff.out | head -n 6)"
    done
}
