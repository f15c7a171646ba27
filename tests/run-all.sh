#!/bin/sh
# The whole test suite, as CI runs it, from a clean checkout:
#   1. dependencies (setup.sh), -Werror build, make check (Check unit tests,
#      integration tests against the real daemon and client, fuzz corpus replay)
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. one full session of webttyd and webtty under valgrind
#   4. each libFuzzer target for FUZZ_SECONDS (default 20) with clang
#   5. make distcheck, clang-format check
# (socket activation and sd_notify are part of the integration tests.)
# Build trees go to build/ (VPATH), the source tree stays clean.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
./setup.sh
autoreconf -fi >/dev/null

step "build and make check (-Werror)"
mkdir -p build/ci && cd build/ci
[ -f Makefile ] || ../../configure --enable-werror >/dev/null
make -j"$jobs" >/dev/null
make -j"$jobs" check || { cat test-suite.log; exit 1; }
cd "$top"

step "make check under ASan+UBSan"
mkdir -p build/asan && cd build/asan
[ -f Makefile ] || ../../configure --enable-werror \
        CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
        LDFLAGS="-fsanitize=address,undefined" >/dev/null
make -j"$jobs" >/dev/null
# verify_asan_link_order=0: the PAM and NSS tests re-run themselves with
# pam_wrapper/nss_wrapper in LD_PRELOAD, ahead of the sanitizer runtime.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:verify_asan_link_order=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 make -j"$jobs" check || { cat test-suite.log; exit 1; }
cd "$top"

step "valgrind: one full session"
tests/valgrind-session.sh build/ci

step "libFuzzer targets"
mkdir -p build/fuzz && cd build/fuzz
[ -f Makefile ] || ../../configure CC=clang --enable-fuzzing >/dev/null
make -j"$jobs" >/dev/null
"$top/tests/fuzz/run-fuzzers.sh" "${FUZZ_SECONDS:-20}"
cd "$top"

step "make distcheck"
(cd build/ci && make -j"$jobs" distcheck >/dev/null)

step "clang-format"
tests/check-format.sh

printf '\n==== all tests passed\n'
