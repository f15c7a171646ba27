#!/bin/sh
# Real sudo with `account required pam_rstream.so require_session sudo`,
# run by test-pam-rstream (root only). Everything happens in a private mount
# namespace: /etc/pam.d, /etc/sudoers, /run/sudo and /var/lib/sudo are
# replaced by bind mounts / tmpfs there, so the host's files never change.
#
#   sudo-require-session.sh MODULE
#
# Prints one line per case: "RESULT <case> <sudo exit code>":
#   inside-sudo     a process of a live rstream session whose rule grants sudo
#   inside-nosudo   the same session after the policy took sudo away
#   outside         a process of another audit session
set -eu
MOD=$1
if [ -z "${RSTREAM_SUDO_NS:-}" ]; then
        export RSTREAM_SUDO_NS=1
        exec unshare -m --propagation private "$0" "$@"
fi
# The test runs under pam_wrapper: sudo must use the real libpam.
unset LD_PRELOAD PAM_WRAPPER PAM_WRAPPER_SERVICE_DIR PAM_WRAPPER_DEBUGLEVEL
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
chmod 0755 "$T"

cp -a /etc/pam.d "$T/pamd"
ARGS="require_session sudo registry=$T/reg policy=$T/policy.yaml"
cat >"$T/pamd/sudo" <<EOT
#%PAM-1.0
account required $MOD $ARGS
@include common-account
@include common-session-noninteractive
EOT
mount --bind "$T/pamd" /etc/pam.d
# NOPASSWD: sudo skips pam_authenticate but always runs pam_acct_mgmt.
{ cat /etc/sudoers; echo 'nobody ALL=(ALL) NOPASSWD: ALL'; } >"$T/sudoers"
chmod 0440 "$T/sudoers"
mount --bind "$T/sudoers" /etc/sudoers
mount -t tmpfs tmpfs /run
[ -d /var/lib/sudo ] && mount -t tmpfs tmpfs /var/lib/sudo

policy() {
        printf 'version: 1\nrules:\n  - name: ops\n    match: {client: [alice]}\n    user: nobody\n    sudo: %s\n' \
                "$1" >"$T/policy.yaml"
}
policy true

# This shell plays webttyd-login: pam_loginuid's write gives it a fresh
# audit session, and the record names it as the live opener.
echo 65534 >/proc/self/loginuid
sid=$(cat /proc/self/sessionid)
start=$(sed 's/.*) //' "/proc/$$/stat" | cut -d' ' -f20)
mkdir -m 0700 "$T/reg"
cat >"$T/reg/$sid" <<EOT
{"version": 1, "audit_session": $sid, "loginuid": 65534, "caller": "alice",
 "key_id": "$(printf '%064d' 7)", "principal_id": "", "device_id": "", "user": "nobody",
 "uid": 65534, "sudo": 1, "rule": "ops", "session_id": "s", "server_id": "",
 "requested_user": "", "default_user": "", "server_labels": "", "opener_pid": $$,
 "opener_start_time": $start, "opened_at": "2026-01-01T00:00:00Z"}
EOT
chmod 0600 "$T/reg/$sid"

run() {
        rc=0
        setpriv --reuid 65534 --regid 65534 --clear-groups sudo -n true </dev/null >/dev/null 2>&1 || rc=$?
        echo "RESULT $1 $rc"
}
run inside-sudo
policy false
run inside-nosudo
policy true
sh -c 'echo 65534 >/proc/self/loginuid; rc=0; setpriv --reuid 65534 --regid 65534 --clear-groups sudo -n true </dev/null >/dev/null 2>&1 || rc=$?; echo "RESULT outside $rc"'
