#!/bin/sh
# Runs every libFuzzer target (built with ./configure --enable-fuzzing CC=clang)
# for SECONDS each (default 30) over a scratch copy of its committed corpus;
# the corpus in the source tree is never written. Exits non-zero if any target
# crashed, leaked, timed out or ran out of memory; the reproducer is kept in
# $ARTIFACTS (default: BUILDDIR/tests/fuzz/artifacts).
#
#   tests/fuzz/run-fuzzers.sh [SECONDS]
#
# Environment: BUILDDIR (where tests/fuzz/fuzz-* were built; default: the
# current directory if it holds them, else the source tree), FUZZ_TARGETS
# (names to run, default all), FUZZ_ARGS (extra libFuzzer options),
# FUZZ_KEEP=1 (keep the scratch corpora, e.g. to pick new seeds from).
set -u

seconds=${1:-30}
case $seconds in
'' | *[!0-9]*)
        echo "usage: $0 [SECONDS]" >&2
        exit 2
        ;;
esac

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${BUILDDIR:-}" ]; then
        if [ -x "tests/fuzz/fuzz-lpframe" ]; then
                BUILDDIR=$(pwd)
        else
                BUILDDIR=$srcdir
        fi
fi
# Default: every libFuzzer binary built (tests/fuzz/fuzz-<name>, not the -replay tests).
if [ -z "${FUZZ_TARGETS:-}" ]; then
        FUZZ_TARGETS=$(for f in "$BUILDDIR"/tests/fuzz/fuzz-*; do
                case $f in *-replay | *.o | *.c) continue ;; esac
                [ -x "$f" ] && [ -f "$f" ] && basename "$f" | sed 's/^fuzz-//'
        done)
fi
targets=$FUZZ_TARGETS
if [ -z "$targets" ]; then
        echo "no libFuzzer targets built in $BUILDDIR/tests/fuzz (configure --enable-fuzzing CC=clang)" >&2
        exit 2
fi
artifacts=${ARTIFACTS:-$BUILDDIR/tests/fuzz/artifacts}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/webtty-fuzz.XXXXXX") || exit 1
[ "${FUZZ_KEEP:-0}" = 1 ] || trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts" || exit 1

failed=""
for t in $targets; do
        bin=$BUILDDIR/tests/fuzz/fuzz-$t
        if [ ! -x "$bin" ]; then
                echo "$bin: not built (configure --enable-fuzzing CC=clang)" >&2
                exit 2
        fi
        mkdir -p "$scratch/$t"
        if [ -d "$srcdir/tests/fuzz/corpus/$t" ]; then
                cp -R "$srcdir/tests/fuzz/corpus/$t/." "$scratch/$t/"
                chmod -R u+w "$scratch/$t"
        fi
        echo "== fuzz-$t: ${seconds}s, corpus copy in $scratch/$t"
        # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
        if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
                "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
                -artifact_prefix="$artifacts/$t-" ${FUZZ_ARGS:-} "$scratch/$t" >"$scratch/$t.log" 2>&1; then
                grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
                        "$scratch/$t.log"
                echo "   $(find "$scratch/$t" -type f | wc -l) inputs in the corpus copy"
        else
                echo "fuzz-$t FAILED; last lines of its log:" >&2
                tail -n 60 "$scratch/$t.log" >&2
                failed="$failed $t"
        fi
done

if [ -n "$failed" ]; then
        echo "crashing targets:$failed (reproducers in $artifacts)" >&2
        [ "${FUZZ_KEEP:-0}" = 1 ] || trap - EXIT
        echo "logs kept in $scratch" >&2
        exit 1
fi
echo "all fuzz targets ran ${seconds}s without a crash"
