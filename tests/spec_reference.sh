#!/bin/bash
# The spec reference (dlx spec, docs/spec.md) against the binary and the
# sources: docs/spec.md is `dlx spec --markdown` byte for byte (a key changed
# without regenerating it fails here), sections print, an unknown one exits 2
# listing them, and no parser checks keys against a list of its own instead of
# a documented table (core/spec_doc.h).
# Binary: $DLX_BIN, else $DLX_SRC_DIR/build/dlx. Exit 0 pass, 1 fail.
set -u
SRC=$(cd "${DLX_SRC_DIR:-$(dirname "$0")/..}" && pwd)
DLX=${DLX_BIN:-$SRC/build/dlx}
T=$(mktemp -d "${TMPDIR:-/tmp}/dlx-specref.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
FAILS=0
fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $1"
    shift
    for line in "$@"; do echo "  $line"; done
}
# check DESC RC SUBSTRING ARGS...: dlx ARGS exits RC with SUBSTRING in its stdout or stderr.
check() {
    local desc=$1 want=$2 sub=$3
    shift 3
    "$DLX" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    [ "$rc" = "$want" ] || { fail "$desc" "dlx $* exited $rc, not $want" "$(head -n 5 "$T/err")"; return 1; }
    grep -qF -- "$sub" "$T/out" "$T/err" || fail "$desc" "dlx $* printed no '$sub'" "$(head -n 5 "$T/out" "$T/err")"
}
# has out|err SUBSTRING DESC: about the last command's output.
has() { grep -qF -- "$2" "$T/$1" || fail "$3" "std$1 holds no '$2'"; }

check "dlx spec --markdown exits 0" 0 "# Spec reference" spec --markdown
cmp -s "$T/out" "$SRC/docs/spec.md" ||
    fail "docs/spec.md is not the output of dlx spec --markdown" \
        "regenerate it: build/dlx spec --markdown > docs/spec.md" "$(diff "$SRC/docs/spec.md" "$T/out" | head -n 20)"
check "dlx spec lists the sections" 0 "optimizer.adam" spec
has out "  layer.conv " "dlx spec lists layer.conv"
check "dlx spec schedule.step documents its keys" 0 "warmup_steps  integer; default 0" spec schedule.step
has out "gamma" "dlx spec schedule.step shows gamma"
check "dlx spec optimizer gives every optimizer type" 0 "optimizer.rmsprop:" spec optimizer
has out "nesterov" "dlx spec optimizer shows nesterov"
has out "grad_clip" "dlx spec optimizer shows grad_clip"
check "dlx spec model.gan gives its parts" 0 "model.gan.score:" spec model.gan
check "dlx spec layer.linear documents init" 0 "init_scale" spec layer.linear
check "dlx spec layers lists the layer types" 0 "layer types" spec layers
has out "  conv_transpose2d " "dlx spec layers lists conv_transpose2d"
check "dlx spec --help exits 0 with an example" 0 "example: dlx spec" spec --help
check "dlx --help lists dlx spec" 0 "  spec " --help
check "an unknown section exits 2" 2 "dlx spec: no section 'NOPE'" spec NOPE
has err "model.classifier, model.classifier.loss[]" "the message lists the sections"
has err "table.rows[]" "the message lists the last section"
check "a misspelt section suggests the right one" 2 "did you mean 'train'?" spec trian
check "dlx spec with two sections exits 2" 2 "give one SECTION" spec train data
check "dlx spec --markdown with a section exits 2" 2 "give no SECTION" spec --markdown train
stray=$(grep -rln "dlx_spec_check_keys(" "$SRC/core" "$SRC/train" "$SRC/models" "$SRC/experiments" "$SRC/cli" |
    grep -vE "/core/spec(_get|_doc)?\.[ch]$")
[ -z "$stray" ] || fail "keys checked against a list that is not a dlx_key_doc table (use dlx_spec_check_doc)" "$stray"

if [ "$FAILS" -gt 0 ]; then
    echo "spec_reference: $FAILS check(s) FAILED"
    exit 1
fi
echo "spec_reference: all checks passed"
