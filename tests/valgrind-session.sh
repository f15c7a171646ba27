#!/bin/sh
# One full session (pipe and PTY) with both webttyd and webtty under valgrind:
# any memory error or leak fails (valgrind's exit status 99).
# valgrind 3.19 warns about pidfd_open (syscall 434); sd-event falls back. Usage: tests/valgrind-session.sh BUILDDIR
set -eu
build=$(cd "${1:-.}" && pwd)
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT INT TERM
vg="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --track-fds=no"
# An endpoint identity and an authorized client, for one E2E session too.
export RSTREAM_DATA_DIR="$dir/data"
"$build/helper/webtty" identity create --name srv >/dev/null
"$build/helper/webtty" identity create --name me >/dev/null
srv_key=$("$build/helper/webtty" identity show --name srv --endpoint-identity)
me_key=$("$build/helper/webtty" identity show --name me --endpoint-identity)
"$build/helper/webtty" authorized-client add me --key "$me_key" --identity srv >/dev/null
$vg --log-file="$dir/daemon.vg" "$build/webttyd/webttyd" --listen "unix:$dir/s" --listen ws://127.0.0.1:0 \
        --allow-unauthenticated 2>"$dir/daemon.log" &
pid=$!
i=0
until grep -q ready "$dir/daemon.log" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -lt 300 ] || { cat "$dir/daemon.log"; exit 1; }; sleep 0.1
done
ws=$(grep -o 'ws://[^ ]*' "$dir/daemon.log")
out=$(echo hello | $vg --log-file="$dir/client1.vg" "$build/helper/webtty" exec --url "unix:$dir/s" -- sh -c 'cat; exit 7') && rc=0 || rc=$?
[ "$rc" -eq 7 ] && [ "$out" = hello ] || { echo "pipe session: rc=$rc out=$out"; cat "$dir"/client1.vg; exit 1; }
out=$($vg --log-file="$dir/client2.vg" "$build/helper/webtty" exec --url "$ws" -- sh -c 'echo over-websocket') && rc=0 || rc=$?
[ "$rc" -eq 0 ] && [ "$out" = over-websocket ] || { echo "ws session: rc=$rc out=$out"; cat "$dir"/client2.vg; exit 1; }
# A PTY session needs a terminal on the client side: script(1) gives it one.
script -qec "$vg --log-file=$dir/client3.vg $build/helper/webtty exec -t --url unix:$dir/s -- tty" /dev/null \
        >"$dir/pty.out" </dev/null || { echo "pty session failed"; cat "$dir/pty.out" "$dir"/client3.vg; exit 1; }
grep -q /dev/pts "$dir/pty.out" || { echo "pty session: no tty"; cat "$dir/pty.out"; exit 1; }
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || { echo "webttyd exited $rc"; cat "$dir/daemon.log" "$dir/daemon.vg"; exit 1; }
# The E2E daemon: ServerHello, proof, grant, encrypted payloads both ways.
$vg --log-file="$dir/e2e-daemon.vg" "$build/webttyd/webttyd" --listen "unix:$dir/e" --identity srv \
        2>"$dir/e2e-daemon.log" &
pid=$!
i=0
until grep -q ready "$dir/e2e-daemon.log" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -lt 300 ] || { cat "$dir/e2e-daemon.log"; exit 1; }; sleep 0.1
done
out=$(echo secret | $vg --log-file="$dir/client4.vg" "$build/helper/webtty" exec --url "unix:$dir/e" \
        --known-server-key "$srv_key" --identity me -- sh -c 'cat; exit 5') && rc=0 || rc=$?
[ "$rc" -eq 5 ] && [ "$out" = secret ] || { echo "e2e session: rc=$rc out=$out"; cat "$dir"/client4.vg; exit 1; }
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
# --error-exitcode makes any error or leak visible as exit status 99.
[ "$rc" -eq 0 ] || { echo "webttyd (E2E) exited $rc"; cat "$dir/e2e-daemon.log" "$dir/e2e-daemon.vg"; exit 1; }
echo "valgrind: webttyd and webtty clean for pipe, WebSocket, PTY and E2E sessions"
