#!/usr/bin/env bash
# getpwnam_r latency through glibc: `passwd: rstream` (libnss_rstream.so.2,
# accounts.db) against `passwd: files` with the same accounts in a private
# /etc/passwd, at 10k and 100k accounts (BENCH_NSS_SIZES).
#
# Must run as root: each measurement runs inside `unshare -m --propagation
# private` with bind mounts over /etc/nsswitch.conf and /etc/passwd, /etc/group
# (copies in a temp dir) and an overlay on /usr/lib/x86_64-linux-gnu holding
# the built libnss_rstream.so.2 (tests/../TESTING-PRIVILEGED recipes); the
# host's files are never changed. A measuring tool, not a test: a missed
# goal prints MISS and the script still exits 0; it exits non-zero only when
# something could not be measured.
#
# Goals (issue 5): rstream median <= 0.5 us at 100k; rstream >= 20x faster
# than files at 10k. Also printed: the module called directly through dlopen
# (its own cost, without glibc's per-call dispatch).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILDDIR=${BUILDDIR:-$(cd "$HERE/../.." && pwd)}
BENCH=${BENCH_NSS_BIN:-$BUILDDIR/tests/bench/nss-bench}
MODULE=${BENCH_NSS_MODULE:-$BUILDDIR/nss_rstream/.libs/libnss_rstream.so.2}
SIZES=${BENCH_NSS_SIZES:-10000 100000}
SECS=${BENCH_NSS_SECONDS:-3}
LIBDIR=/usr/lib/x86_64-linux-gnu

die() {
        echo "nss-bench: $*" >&2
        exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (private mount namespace, bind mounts, overlay)"
[ -x "$BENCH" ] || die "$BENCH missing: make tests/bench/nss-bench"
[ -f "$MODULE" ] || die "$MODULE missing: make nss_rstream/libnss_rstream.la"
[ -d "$LIBDIR" ] || die "$LIBDIR missing (the overlay recipe is for Debian x86_64)"

T=$(mktemp -d /tmp/nss-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp "$BENCH" "$T/nss-bench"
cp "$MODULE" "$T/libnss_rstream.so.2"

# One measurement in a private namespace. $1: files|rstream|direct, $2: N,
# $3: data dir (accounts.db, passwd, group).
run_one() {
        local mode=$1 n=$2 d=$3 src=rstream
        [ "$mode" = files ] && src=files
        printf 'passwd: %s\ngroup: %s\nshadow: files\nhosts: files\n' "$src" "$src" >"$d/nsswitch.$mode"
        unshare -m --propagation private bash -euc '
                T=$1 d=$2 mode=$3 n=$4 secs=$5 libdir=$6
                mkdir -p "$d/ovl"
                mount -t tmpfs tmpfs "$d/ovl"
                mkdir "$d/ovl/upper" "$d/ovl/work"
                cp "$T/libnss_rstream.so.2" "$d/ovl/upper/"
                mount -t overlay overlay -o "lowerdir=$libdir,upperdir=$d/ovl/upper,workdir=$d/ovl/work" "$libdir"
                mount --bind "$d/nsswitch.$mode" /etc/nsswitch.conf
                if [ "$mode" = files ]; then
                        mount --bind "$d/passwd" /etc/passwd
                        mount --bind "$d/group" /etc/group
                fi
                export NSS_RSTREAM_ACCOUNTSDB="$d/accounts.db"
                # The module must be the one from the overlay, found by glibc.
                if [ "$mode" = direct ]; then
                        exec "$T/nss-bench" direct "$n" "$secs" "$libdir/libnss_rstream.so.2"
                fi
                getent passwd bu0 >/dev/null || { echo "bu0 not resolved with passwd: $mode" >&2; exit 1; }
                exec "$T/nss-bench" glibc "$n" "$secs"
        ' run "$T" "$d" "$mode" "$n" "$SECS" "$LIBDIR"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
goal() { if awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { exit !((op == "<=") ? a <= b : a >= b) }'; then echo PASS; else echo MISS; fi; }

declare -A R
echo "NSS getpwnam_r, median per call over ~1 ms rounds of random names, ${SECS}s per figure"
printf '%-8s %14s %14s %14s %10s\n' accounts files_ns rstream_ns direct_ns files/rstr
for n in $SIZES; do
        d="$T/n$n"
        mkdir -p "$d"
        "$T/nss-bench" gen "$n" "$d" || die "gen $n failed"
        f=$(run_one files "$n" "$d") || die "files, $n accounts: not measured"
        r=$(run_one rstream "$n" "$d") || die "rstream, $n accounts: not measured"
        x=$(run_one direct "$n" "$d") || die "direct, $n accounts: not measured"
        f=${f%% *} r=${r%% *} x=${x%% *}
        R[$n.files]=$f R[$n.rstream]=$r
        printf '%-8s %14s %14s %14s %10s\n' "$n" "$f" "$r" "$x" "$(ratio "$f" "$r")x"
done

st=$("$T/nss-bench" statcost) || die "statcost: not measured"
echo
echo "glibc's own floor: one stat() of /etc/nsswitch.conf per getpwnam_r call (glibc >= 2.33) = $st ns here"
echo "(direct_ns: the module alone, called through dlopen without glibc's dispatch)"
if [ -n "${R[100000.rstream]:-}" ]; then
        echo "goal: rstream <= 500 ns at 100k: ${R[100000.rstream]} ns $(goal "${R[100000.rstream]}" '<=' 500)"
fi
if [ -n "${R[10000.rstream]:-}" ]; then
        q=$(ratio "${R[10000.files]}" "${R[10000.rstream]}")
        echo "goal: rstream >= 20x files at 10k: ${q}x $(goal "$q" '>=' 20)"
fi
