#!/usr/bin/env bash
# Runs every fuzz target of package core for a short time each, one after
# the other. Plain `go test ./core` already replays the committed seed corpus
# (core/testdata/fuzz); this script mutates it further.
#
# Usage: tests/go/fuzz_short.sh [FUZZTIME [PARALLEL]]
#   FUZZTIME  time per target, in go test -fuzztime syntax (default 20s)
#   PARALLEL  fuzzing workers per target (default 1, leaving the other
#             cores free)
# Environment: TIMEOUT, the go test -timeout per target (default 30m); it
# must exceed FUZZTIME, or go test stops the run as timed out.
# A failing input is written to core/testdata/fuzz/<target>/ and also
# printed, because a CI checkout is discarded. The script exits non-zero
# after the remaining targets have run.
set -uo pipefail
cd "$(dirname "$0")/../.."

FUZZTIME=${1:-20s}
PARALLEL=${2:-1}
GO=${GO:-go}
TIMEOUT=${TIMEOUT:-30m}
TARGETS=(
    FuzzSparseCrossEntropy
    FuzzSparseForward
    FuzzSparseBackward
    FuzzDenseCrossEntropy
    FuzzSoftmax
    FuzzSoftmaxBackward
)

# report_new_inputs prints the corpus files of target $1 that are not in the
# listing $2, or a note when there are none.
report_new_inputs() {
    local dir=core/testdata/fuzz/$1 name found=0
    for name in $(ls "$dir" 2>/dev/null); do
        if ! grep -qxF "$name" <<<"$2"; then
            found=1
            echo "fuzz_short.sh: failing input $dir/$name:" >&2
            cat "$dir/$name" >&2
        fi
    done
    if ((found == 0)); then
        echo "fuzz_short.sh: $1 failed without writing a new input; see go test's" \
            "message above (a failing seed, a worker killed by a signal, a timeout)" >&2
    fi
}

failed=()
for target in "${TARGETS[@]}"; do
    echo "fuzz_short.sh: $target for $FUZZTIME"
    before=$(ls "core/testdata/fuzz/$target" 2>/dev/null)
    if ! "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" \
        -timeout "$TIMEOUT" -parallel "$PARALLEL" ./core; then
        failed+=("$target")
        report_new_inputs "$target" "$before"
    fi
done
if ((${#failed[@]} > 0)); then
    echo "fuzz_short.sh: failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz_short.sh: all ${#TARGETS[@]} targets passed"
