#!/bin/sh
# Installs into a scratch DESTDIR and checks the systemd units with
# systemd-analyze verify (offline: no systemd as PID 1 needed). The service's
# ExecStart is pointed at the staged binary, since nothing is installed here.
set -eu
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing"; exit 77; }
build=${BUILDDIR:-$(pwd)}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make -s -C "$build" install DESTDIR="$stage/root" >/dev/null
unitdir=$(find "$stage/root" -name webttyd.service -printf '%h\n' | head -n 1)
[ -n "$unitdir" ] || { echo "webttyd.service was not installed"; exit 1; }
sbin=$(find "$stage/root" -name webttyd -type f -perm -u+x | head -n 1)
mkdir "$stage/units"
cp "$unitdir/webttyd.socket" "$stage/units/"
sed "s|^ExecStart=[^ ]*|ExecStart=$sbin|" "$unitdir/webttyd.service" >"$stage/units/webttyd.service"
grep -q '^Type=notify' "$stage/units/webttyd.service"
# The login helper: a socket with Accept=yes and its template service.
cp "$unitdir/webttyd-login.socket" "$stage/units/"
sbin_login=$(find "$stage/root" -name webttyd-login -type f -perm -u+x | head -n 1)
[ -n "$sbin_login" ] || { echo "webttyd-login was not installed"; exit 1; }
sed "s|^ExecStart=[^ ]*|ExecStart=$sbin_login|" "$unitdir/webttyd-login@.service" >"$stage/units/webttyd-login@.service"
grep -q '^Accept=yes' "$stage/units/webttyd-login.socket"
out=$(systemd-analyze verify --man=no "$stage/units/webttyd.socket" "$stage/units/webttyd.service" \
        "$stage/units/webttyd-login.socket" "$stage/units/webttyd-login@.service" 2>&1) || {
        echo "$out"; exit 1; }
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "units verified: $unitdir"
