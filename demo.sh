#!/bin/sh
# Installs what is needed, builds, starts a private webttyd on a unix socket
# under a temporary directory, runs one session through it with
# `webtty exec`, prints its output and exit code, and stops the daemon.
set -eu
cd "$(dirname "$0")"
./setup.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror
make -j"$(nproc)" >/dev/null

dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT INT TERM
./webttyd/webttyd --listen "unix:$dir/webttyd.sock" 2>"$dir/webttyd.log" &
pid=$!
i=0
until grep -q ready "$dir/webttyd.log" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || { cat "$dir/webttyd.log"; exit 1; }
        sleep 0.05
done
echo "== webttyd listening on unix:$dir/webttyd.sock"
echo "== webtty exec -- sh -c 'uname -sr; echo hello from \$USER; exit 3'"
status=0
echo "stdin reaches the command" | ./helper/webtty exec --url "unix:$dir/webttyd.sock" -- \
        sh -c 'uname -sr; echo "hello from $USER"; cat; exit 3' || status=$?
echo "== exit code: $status (expected 3)"
kill "$pid"
wait "$pid" || true
echo "== daemon log:"
cat "$dir/webttyd.log"
[ "$status" -eq 3 ]
