#!/usr/bin/env bash
# Compares webttyd + `webtty exec` with OpenSSH on loopback.
#
# Starts a private, throw-away sshd (own config, keys and pid file in a temp
# dir; /etc/ssh and any system sshd are never touched) and private webttyd
# instances (one of them with end-to-end encryption), measures bulk throughput
# (pipes and PTY, plain and E2E), session set-up latency and webttyd memory per
# idle session, and prints a summary table. Goals are
# reported as PASS/MISS and never fail the run: the exit status is non-zero
# only when something could not be measured. See tests/bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILDDIR=${BUILDDIR:-$(cd "$HERE/../.." && pwd)}
WEBTTYD=${WEBTTYD:-$BUILDDIR/webttyd/webttyd}
WEBTTY=${WEBTTY:-$BUILDDIR/helper/webtty}
PY=/usr/bin/python3
TOOL="$HERE/benchtool.py"

MiB=$((1024 * 1024))
BENCH_BULK_BYTES=${BENCH_BULK_BYTES:-$((1024 * MiB))}
BENCH_PTY_BYTES=${BENCH_PTY_BYTES:-$((256 * MiB))}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SETUP_RUNS=${BENCH_SETUP_RUNS:-50}
BENCH_SESSIONS=${BENCH_SESSIONS:-1000}
BENCH_USE_PAM=${BENCH_USE_PAM:-no}
BENCH_SSH_CIPHER=${BENCH_SSH_CIPHER:-aes256-gcm@openssh.com}
BENCH_ONLY=${BENCH_ONLY:-bulk,pty,setup,mem,e2e}
BENCH_TRANSPORTS=${BENCH_TRANSPORTS:-ws,tcp}
BENCH_WAIT_BINARIES=${BENCH_WAIT_BINARIES:-0}
BENCH_WEBTTYD_ARGS=${BENCH_WEBTTYD_ARGS:-}
KEEP_TMP=${BENCH_KEEP_TMP:-0}
BENCH_E2E_MICRO=${BENCH_E2E_MICRO:-$BUILDDIR/tests/bench/bench-e2e}
BENCH_E2E_BUILD=${BENCH_E2E_BUILD:-yes}
BENCH_OPENSSL=${BENCH_OPENSSL:-openssl}

usage() {
        cat <<EOF
usage: $0 [--quick] [--only bulk,pty,setup,mem,e2e] [--transports ws,tcp]
          [--use-pam] [--keep-tmp] [--wait-binaries SECONDS]

  --quick          smaller sizes (256 MiB bulk, 64 MiB pty, 20 set-up runs,
                   200 idle sessions)
  --only LIST      run only these measurements (default: $BENCH_ONLY);
                   e2e also measures the plain bulk figures it is compared with
  --transports L   webtty transports to measure (default: $BENCH_TRANSPORTS)
  --use-pam        private sshd with UsePAM yes (default: no)
  --keep-tmp       keep the temp dir (logs, sshd_config) for inspection
  --wait-binaries  wait up to SECONDS for the webttyd/webtty binaries

Environment: BUILDDIR (default: the source tree), WEBTTYD, WEBTTY,
BENCH_BULK_BYTES, BENCH_PTY_BYTES, BENCH_RUNS, BENCH_SETUP_RUNS,
BENCH_SESSIONS, BENCH_USE_PAM=yes|no, BENCH_SSH_CIPHER, BENCH_WEBTTYD_ARGS,
BENCH_E2E_MICRO (path of tests/bench/bench-e2e), BENCH_E2E_BUILD=yes|no,
BENCH_OPENSSL.
EOF
}

while [ $# -gt 0 ]; do
        case $1 in
        --quick)
                BENCH_BULK_BYTES=$((256 * MiB)) BENCH_PTY_BYTES=$((64 * MiB))
                BENCH_SETUP_RUNS=20 BENCH_SESSIONS=200
                ;;
        --only) BENCH_ONLY=$2; shift ;;
        --transports) BENCH_TRANSPORTS=$2; shift ;;
        --use-pam) BENCH_USE_PAM=yes ;;
        --keep-tmp) KEEP_TMP=1 ;;
        --wait-binaries) BENCH_WAIT_BINARIES=$2; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
        esac
        shift
done

want() { [[ ",$BENCH_ONLY," == *",$1,"* ]]; }
has_transport() { [[ ",$BENCH_TRANSPORTS," == *",$1,"* ]]; }
say() { printf '%s\n' "$*" >&2; }
# lastlines N FILE: the last N lines of FILE on one line.
lastlines() { tail -n "$1" "$2" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//'; }
die() { say "run.sh: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (private sshd with root login)"
[ -x "$PY" ] || die "$PY is required"

# --------------------------------------------------------------- binaries
waited=0
while [ ! -x "$WEBTTYD" ] || [ ! -x "$WEBTTY" ]; do
        [ "$waited" -lt "$BENCH_WAIT_BINARIES" ] || die "missing $WEBTTYD or $WEBTTY (build first, or set BUILDDIR)"
        sleep 5
        waited=$((waited + 5))
done

# Binaries older than the sources they are built from measure old code.
SRCDIR=$(cd "$HERE/../.." && pwd)
for b in "$WEBTTYD" "$WEBTTY"; do
        newer=$(find "$SRCDIR/lib" "$SRCDIR/webttyd" "$SRCDIR/helper" -name '*.[ch]' -newer "$b" 2>/dev/null | head -3 | tr '\n' ' ')
        [ -z "$newer" ] || say "WARNING: $b is older than $newer(run make)"
done

# --------------------------------------------------------------- packages
missing=
for p in openssh-server openssh-client; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
        say "installing:$missing"
        apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
fi
[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd not found"

# --------------------------------------------------------------- cleanup
TMP=$(mktemp -d /tmp/webtty-bench.XXXXXX)
export BENCH_TMP=$TMP
PIDS=()
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
        local rc=$? pid i
        trap - EXIT INT TERM
        for pid in "${PIDS[@]}"; do
                kill -TERM "$pid" 2>/dev/null || true
        done
        for pid in "${PIDS[@]}"; do
                for i in $(seq 50); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        if [ "$KEEP_TMP" = 1 ]; then
                say "temp dir kept: $TMP"
        else
                rm -rf "$TMP"
        fi
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run private copies of the binaries: a build running next to the benchmark
# (make relinks in place) must not swap or remove them half-way.
mkdir "$TMP/bin"
for v in WEBTTYD WEBTTY; do
        src=${!v}
        cp "$src" "$TMP/bin/$(basename "$src")" || die "cannot copy $src"
        "$TMP/bin/$(basename "$src")" --help >/dev/null 2>&1 || die "the copy of $src does not run (being relinked? try again)"
        say "$(basename "$src"): $src ($(date -r "$src" '+%F %T')), run from a copy in $TMP/bin"
        printf -v "$v" '%s' "$TMP/bin/$(basename "$src")"
done

# Many sessions need many descriptors, in webttyd and in the test client.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "RLIMIT_NOFILE: $(ulimit -n)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "load average: $LOAD_START ($(nproc) CPUs)"
if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
        say "WARNING: the machine is busy; figures will be noisy (best run on an idle machine)"
fi

# --------------------------------------------------------------- sshd
SSH_PORT=$("$PY" "$TOOL" freeport)
ssh-keygen -q -t ed25519 -N '' -C webtty-bench-host -f "$TMP/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -C webtty-bench-user -f "$TMP/id_ed25519"
cp "$TMP/id_ed25519.pub" "$TMP/authorized_keys"
cat >"$TMP/sshd_config" <<EOF
# Private sshd for tests/bench/run.sh; nothing here is read from /etc/ssh.
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $TMP/ssh_host_ed25519_key
PidFile $TMP/sshd.pid
AuthorizedKeysFile $TMP/authorized_keys
UsePAM $BENCH_USE_PAM
PermitRootLogin prohibit-password
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
X11Forwarding no
PrintMotd no
UseDNS no
MaxStartups 200
MaxSessions 100
LogLevel ERROR
EOF
mkdir -p /run/sshd
/usr/sbin/sshd -t -f "$TMP/sshd_config" || die "private sshd_config rejected"
/usr/sbin/sshd -D -e -f "$TMP/sshd_config" 2>"$TMP/sshd.log" &
PIDS+=("$!")
SSHD_PID=$!

SSH=(ssh -F /dev/null -p "$SSH_PORT" -c "$BENCH_SSH_CIPHER"
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
        -o IdentityFile="$TMP/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes
        -o LogLevel=ERROR -o ControlMaster=no -o ControlPath=none -o Compression=no)
SSH_HOST=root@127.0.0.1

for i in $(seq 100); do
        kill -0 "$SSHD_PID" 2>/dev/null || die "sshd exited: $(tail -5 "$TMP/sshd.log")"
        if timeout 10 "${SSH[@]}" "$SSH_HOST" true </dev/null 2>"$TMP/ssh-probe.err"; then
                break
        fi
        [ "$i" -lt 100 ] || die "cannot log in to private sshd: $(tail -3 "$TMP/ssh-probe.err")"
        sleep 0.1
done
say "private sshd: pid $SSHD_PID, 127.0.0.1:$SSH_PORT, UsePAM $BENCH_USE_PAM, cipher $BENCH_SSH_CIPHER"

# --------------------------------------------------------------- webttyd
# start_webttyd NAME ARGS... : starts webttyd, waits for "ready", sets
# WT_PID and WT_URLS (the "listening on" URLs, in order). WT_ENV (an array,
# e.g. (env VAR=value)) is put in front of the command; env execs webttyd, so
# the pid is webttyd's own.
WT_ENV=()
start_webttyd() {
        local name=$1 log i
        shift
        log=$TMP/$name.log
        # shellcheck disable=SC2086
        "${WT_ENV[@]}" "$WEBTTYD" "$@" $BENCH_WEBTTYD_ARGS </dev/null >"$TMP/$name.out" 2>"$log" &
        WT_PID=$!
        PIDS+=("$WT_PID")
        for i in $(seq 200); do
                if ! kill -0 "$WT_PID" 2>/dev/null; then
                        say "webttyd ($name) exited during start-up:"
                        sed 's/^/    /' "$log" >&2
                        return 1
                fi
                grep -qi 'ready' "$log" && break
                [ "$i" -lt 200 ] || { say "webttyd ($name) not ready after 20 s"; return 1; }
                sleep 0.1
        done
        mapfile -t WT_URLS < <(grep -oE 'listening on [a-z]+:[^ ,;]+' "$log" | awk '{print $3}')
}

# stop_pid PID: TERM, then KILL after 5 s.
stop_pid() {
        local i
        kill -TERM "$1" 2>/dev/null || return 0
        for i in $(seq 50); do
                kill -0 "$1" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
}

WS_URL='' TCP_URL='' WEBTTYD_PIDS='' WEBTTYD_LOGS='' WS_PID='' TCP_PID=''
if start_webttyd webttyd --listen ws://127.0.0.1:0 --listen tcp://127.0.0.1:0 --allow-unauthenticated; then
        for u in "${WT_URLS[@]}"; do
                case $u in ws://*) WS_URL=$u ;; tcp://*) TCP_URL=$u ;; esac
        done
        WEBTTYD_PIDS="$WT_PID" WS_PID=$WT_PID TCP_PID=$WT_PID
        WEBTTYD_LOGS="$TMP/webttyd.log"
fi
if [ -z "$WS_URL" ] || [ -z "$TCP_URL" ]; then
        [ -z "${WEBTTYD_PIDS:-}" ] || stop_pid "$WEBTTYD_PIDS"
        WS_URL='' TCP_URL=''
        say "(one webttyd with two --listen did not give both URLs; starting one per transport)"
        start_webttyd webttyd-ws --listen ws://127.0.0.1:0 --allow-unauthenticated || die "cannot start webttyd (ws)"
        WS_URL=${WT_URLS[0]:-} WS_PID=$WT_PID
        WEBTTYD_PIDS="$WT_PID"
        start_webttyd webttyd-tcp --listen tcp://127.0.0.1:0 --allow-unauthenticated || die "cannot start webttyd (tcp)"
        TCP_URL=${WT_URLS[0]:-} TCP_PID=$WT_PID
        WEBTTYD_PIDS="$WEBTTYD_PIDS $WT_PID"
        WEBTTYD_LOGS="$TMP/webttyd-ws.log $TMP/webttyd-tcp.log"
fi
if [ -z "$WS_URL" ] || [ -z "$TCP_URL" ]; then die "webttyd printed no 'listening on' URL"; fi
say "private webttyd: pid(s) $WEBTTYD_PIDS, $WS_URL $TCP_URL"

# --------------------------------------------------------------- E2E webttyd
# A second daemon with an endpoint identity (end-to-end encryption) and one
# authorized client identity, all in a private data root inside $TMP (removed
# with it). Its clients pin the server identity. A failure here only turns the
# E2E rows into ERROR.
E2E_WS_URL='' E2E_TCP_URL='' E2E_WS_PID='' E2E_TCP_PID='' E2E_ERR='' E2E_ENV=() E2E_CLIENT=()
# e2e_setup: identities, authorized client, daemon(s); sets E2E_ERR on failure.
e2e_setup() {
        local data=$TMP/e2e-data srv me u
        mkdir -m 700 "$data"
        E2E_ENV=(env RSTREAM_DATA_DIR="$data")
        if ! timeout 30 "${E2E_ENV[@]}" "$WEBTTY" identity create --name srv >/dev/null 2>"$TMP/e2e-setup.err" ||
                ! timeout 30 "${E2E_ENV[@]}" "$WEBTTY" identity create --name me >/dev/null 2>>"$TMP/e2e-setup.err" ||
                ! srv=$(timeout 30 "${E2E_ENV[@]}" "$WEBTTY" identity show --name srv --endpoint-identity 2>>"$TMP/e2e-setup.err") ||
                ! me=$(timeout 30 "${E2E_ENV[@]}" "$WEBTTY" identity show --name me --endpoint-identity 2>>"$TMP/e2e-setup.err") ||
                [ -z "$srv" ] || [ -z "$me" ] ||
                ! timeout 30 "${E2E_ENV[@]}" "$WEBTTY" authorized-client add bench --key "$me" --identity srv \
                        >/dev/null 2>>"$TMP/e2e-setup.err"; then
                E2E_ERR="identity set-up failed: $(lastlines 2 "$TMP/e2e-setup.err")"
                return 1
        fi
        # --e2e: the client refuses to run unless the session is end-to-end
        # encrypted, so a figure is never silently a plaintext one.
        E2E_CLIENT=("${E2E_ENV[@]}" "$WEBTTY" exec --e2e --known-server-key "$srv" --identity me)
        WT_ENV=("${E2E_ENV[@]}")
        if start_webttyd webttyd-e2e --listen ws://127.0.0.1:0 --listen tcp://127.0.0.1:0 \
                --allow-unauthenticated --identity srv; then
                for u in "${WT_URLS[@]}"; do
                        case $u in ws://*) E2E_WS_URL=$u ;; tcp://*) E2E_TCP_URL=$u ;; esac
                done
                if [ -n "$E2E_WS_URL" ] && [ -n "$E2E_TCP_URL" ]; then
                        E2E_WS_PID=$WT_PID E2E_TCP_PID=$WT_PID
                        WEBTTYD_PIDS="$WEBTTYD_PIDS $WT_PID"
                        WEBTTYD_LOGS="$WEBTTYD_LOGS $TMP/webttyd-e2e.log"
                else
                        stop_pid "$WT_PID"
                fi
        fi
        if [ -z "$E2E_WS_PID" ]; then
                E2E_WS_URL='' E2E_TCP_URL=''
                say "(E2E webttyd with two --listen did not give both URLs; starting one per transport)"
                if start_webttyd webttyd-e2e-ws --listen ws://127.0.0.1:0 --allow-unauthenticated --identity srv; then
                        E2E_WS_URL=${WT_URLS[0]:-} E2E_WS_PID=$WT_PID
                        WEBTTYD_PIDS="$WEBTTYD_PIDS $WT_PID" WEBTTYD_LOGS="$WEBTTYD_LOGS $TMP/webttyd-e2e-ws.log"
                fi
                if start_webttyd webttyd-e2e-tcp --listen tcp://127.0.0.1:0 --allow-unauthenticated --identity srv; then
                        E2E_TCP_URL=${WT_URLS[0]:-} E2E_TCP_PID=$WT_PID
                        WEBTTYD_PIDS="$WEBTTYD_PIDS $WT_PID" WEBTTYD_LOGS="$WEBTTYD_LOGS $TMP/webttyd-e2e-tcp.log"
                fi
        fi
        WT_ENV=()
        if [ -z "$E2E_WS_URL" ] && [ -z "$E2E_TCP_URL" ]; then
                E2E_ERR="the E2E webttyd did not start"
                return 1
        fi
        u=$E2E_WS_PID
        [ "$E2E_TCP_PID" = "$E2E_WS_PID" ] || u="$u $E2E_TCP_PID"
        say "private E2E webttyd: pid(s) $u, ${E2E_WS_URL:-(no ws)} ${E2E_TCP_URL:-(no tcp)}, data root $data"
}
if want e2e; then
        e2e_setup || say "E2E: $E2E_ERR (the E2E rows will show ERROR)"
fi

# --------------------------------------------------------------- sanity
# A transport that fails these is skipped (its figures show ERROR) instead of
# spending a timeout per measurement.
URLS=()
declare -A URL_OF=([ws]=$WS_URL [tcp]=$TCP_URL) PID_OF=([ws]=$WS_PID [tcp]=$TCP_PID)
sanity_errors=0
for t in ws tcp; do
        has_transport "$t" || continue
        u=${URL_OF[$t]}
        got=$(timeout 30 "$WEBTTY" exec --url "$u" -- head -c 1048576 /dev/zero </dev/null 2>"$TMP/sanity.err" | wc -c) || true
        if [ "$got" != 1048576 ]; then
                say "SANITY FAIL ($t): 'head -c 1048576 /dev/zero' gave $got bytes: $(tail -3 "$TMP/sanity.err")"
                sanity_errors=$((sanity_errors + 1))
                continue
        fi
        rc=0
        timeout 30 "$WEBTTY" exec --url "$u" -- sh -c 'exit 3' </dev/null 2>/dev/null || rc=$?
        [ "$rc" = 3 ] || say "warning ($t): exit status 3 came back as $rc"
        got=$(printf 'hello\n' | timeout 30 "$WEBTTY" exec --url "$u" -- cat 2>/dev/null) || true
        [ "$got" = hello ] || say "warning ($t): stdin round trip gave '$got'"
        # -t must give the remote command a terminal (else the PTY figures
        # would compare pipes with ssh's PTY).
        rc=0
        timeout 30 script -qfec "$(printf '%q ' "$WEBTTY" exec -t --url "$u" -- sh -c 'test -t 0 && test -t 1')" \
                /dev/null </dev/null >/dev/null 2>&1 || rc=$?
        [ "$rc" = 0 ] || say "warning ($t): 'webtty exec -t' did not give the command a terminal (status $rc)"
        URLS+=("$t")
done
# The same for the E2E daemon (client with --e2e and the pinned server key).
E2E_URLS=()
declare -A E2E_URL_OF=([ws]=$E2E_WS_URL [tcp]=$E2E_TCP_URL) E2E_PID_OF=([ws]=$E2E_WS_PID [tcp]=$E2E_TCP_PID)
declare -A E2E_FAIL=()
for t in ws tcp; do
        { want e2e && has_transport "$t"; } || continue
        u=${E2E_URL_OF[$t]}
        if [ -z "$u" ]; then
                E2E_FAIL[$t]=${E2E_ERR:-no E2E $t listener}
                continue
        fi
        got=$(timeout 30 "${E2E_CLIENT[@]}" --url "$u" -- head -c 1048576 /dev/zero </dev/null 2>"$TMP/sanity.err" | wc -c) || true
        if [ "$got" != 1048576 ]; then
                E2E_FAIL[$t]="E2E sanity check gave $got bytes: $(lastlines 2 "$TMP/sanity.err")"
                say "SANITY FAIL (E2E $t): 'head -c 1048576 /dev/zero' gave $got bytes: $(tail -3 "$TMP/sanity.err")"
                sanity_errors=$((sanity_errors + 1))
                continue
        fi
        rc=0
        timeout 30 "${E2E_CLIENT[@]}" --url "$u" -- sh -c 'exit 3' </dev/null 2>/dev/null || rc=$?
        [ "$rc" = 3 ] || say "warning (E2E $t): exit status 3 came back as $rc"
        got=$(printf 'hello\n' | timeout 30 "${E2E_CLIENT[@]}" --url "$u" -- cat 2>/dev/null) || true
        [ "$got" = hello ] || say "warning (E2E $t): stdin round trip gave '$got'"
        E2E_URLS+=("$t")
done
if [ ${#E2E_URLS[@]} -gt 0 ]; then
        # The daemon must have logged the sessions as end-to-end encrypted.
        n_e2e=$(cat "$TMP"/webttyd-e2e*.log | grep -c 'session accepted.*e2e=true' || true)
        [ "$n_e2e" -ge $((3 * ${#E2E_URLS[@]})) ] ||
                say "warning (E2E): the daemon logged only $n_e2e sessions with e2e=true (expected $((3 * ${#E2E_URLS[@]})))"
fi
got=$(timeout 30 "${SSH[@]}" "$SSH_HOST" 'head -c 1048576 /dev/zero' </dev/null | wc -c) || true
[ "$got" = 1048576 ] || die "ssh sanity check gave $got bytes"

# --------------------------------------------------------------- measure
RESULTS=$TMP/results.tsv
: >"$RESULTS"
# record METRIC UNIT WEBTTY_JSON SSH_JSON OP GOAL [BASE_JSON]
# With BASE_JSON the goal applies to WEBTTY/BASE (E2E vs plain webttyd) and
# WEBTTY/SSH is shown as a note.
record() {
        if [ $# -ge 7 ]; then
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
        else
                printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
        fi
}
failed_json() { printf '{"error": "%s"}' "$1"; }
# tool ARGS... : runs benchtool, prints its JSON (or an error JSON).
tool() {
        local out
        if out=$("$PY" "$TOOL" "$@"); then
                printf '%s' "$out"
        else
                failed_json "benchtool $1 failed"
        fi
}
transport_ok() { [[ " ${URLS[*]} " == *" $1 "* ]]; }
# Seconds allowed for one transfer of $1 bytes at no less than $2 MB/s.
tmo() { echo $(( $1 / ($2 * 1000000) + 30 )); }

mib() { echo "$(( $1 / MiB )) MiB"; }

e2e_transport_ok() { [[ " ${E2E_URLS[*]} " == *" $1 "* ]]; }
E2E_ROWS=()
# The E2E figure is compared with the plain one, so the plain bulk figures
# are measured whenever e2e is wanted; each transport's E2E runs follow its
# plain runs directly, so that both see the same machine load.
if want bulk || want e2e; then
        n=$BENCH_BULK_BYTES
        say ""
        say "== bulk stdout, no PTY: head -c $n /dev/zero ($(mib "$n")) > /dev/null, $BENCH_RUNS runs"
        want e2e && say "   (plain webttyd, then the E2E webttyd)"
        say "  ssh -c $BENCH_SSH_CIPHER:"
        ssh_json=$(tool bulk --runs "$BENCH_RUNS" --bytes "$n" --timeout "$(tmo "$n" 10)" \
                --server-pid "$SSHD_PID" -- "${SSH[@]}" "$SSH_HOST" "head -c $n /dev/zero")
        for t in ws tcp; do
                has_transport "$t" || continue
                if transport_ok "$t"; then
                        say "  webtty exec --url ${URL_OF[$t]}:"
                        wt_json=$(tool bulk --runs "$BENCH_RUNS" --bytes "$n" --timeout "$(tmo "$n" 10)" \
                                --server-pid "${PID_OF[$t]}" -- "$WEBTTY" exec --url "${URL_OF[$t]}" -- head -c "$n" /dev/zero)
                else
                        wt_json=$(failed_json "sanity check failed")
                fi
                record "bulk $t (no pty)" "MB/s" "$wt_json" "$ssh_json" ">=" 1.5
                want e2e || continue
                if e2e_transport_ok "$t"; then
                        say "  E2E: webtty exec --e2e --known-server-key SRV --identity me --url ${E2E_URL_OF[$t]}:"
                        e2e_json=$(tool bulk --runs "$BENCH_RUNS" --bytes "$n" --timeout "$(tmo "$n" 10)" \
                                --server-pid "${E2E_PID_OF[$t]}" -- "${E2E_CLIENT[@]}" --url "${E2E_URL_OF[$t]}" \
                                -- head -c "$n" /dev/zero)
                else
                        e2e_json=$(failed_json "${E2E_FAIL[$t]:-E2E sanity check failed}")
                fi
                E2E_ROWS+=("bulk $t e2e (no pty)"$'\t'"MB/s"$'\t'"$e2e_json"$'\t'"$ssh_json"$'\t'">="$'\t'"0.8"$'\t'"$wt_json")
        done
        # The E2E rows come after the plain ones in the table.
        for row in "${E2E_ROWS[@]}"; do printf '%s\n' "$row" >>"$RESULTS"; done
fi

# The cipher's own limit on this machine (one core, 16 KiB blocks, as
# webtty's E2E uses AES-256-GCM), and the in-process micro-benchmark of
# e2e_seal_data() when it can be had. Both are printed below the table.
CIPHER_MBPS='' MICRO_JSON=''
if want e2e; then
        say ""
        say "== cipher limit: $BENCH_OPENSSL speed -evp aes-256-gcm -bytes 16384 -seconds 3"
        if command -v "$BENCH_OPENSSL" >/dev/null 2>&1; then
                CIPHER_MBPS=$(timeout 60 "$BENCH_OPENSSL" speed -evp aes-256-gcm -bytes 16384 -seconds 3 2>"$TMP/openssl.err" |
                        awk '/^type/ { hdr = 1; next }
                             hdr && NF >= 2 { v = $NF; sub(/k$/, "", v); if (v + 0 > 0) printf "%.1f", v / 1000; exit }') || CIPHER_MBPS=''
                if [ -n "$CIPHER_MBPS" ]; then
                        say "    => $CIPHER_MBPS MB/s"
                else
                        say "    could not parse its output: $(lastlines 2 "$TMP/openssl.err")"
                fi
        else
                say "    $BENCH_OPENSSL not found; skipped"
        fi
        micro=$BENCH_E2E_MICRO
        src=$HERE/bench-e2e.c
        if [ "$BENCH_E2E_BUILD" = yes ] && [ -f "$src" ] && { [ ! -x "$micro" ] || [ "$src" -nt "$micro" ]; } &&
                [ "$micro" = "$BUILDDIR/tests/bench/bench-e2e" ] && [ -f "$BUILDDIR/Makefile" ]; then
                # An EXTRA_PROGRAMS target of the automake build (tests/unit/crypto.mk):
                # built on request only, with the unit tests' flags.
                say "  building tests/bench/bench-e2e (make tests/bench/bench-e2e, log in $TMP/bench-e2e-build.log)"
                timeout 600 make -C "$BUILDDIR" tests/bench/bench-e2e >"$TMP/bench-e2e-build.log" 2>&1 ||
                        say "    build failed: $(lastlines 3 "$TMP/bench-e2e-build.log")"
        fi
        if [ -x "$micro" ] && cp "$micro" "$TMP/bin/bench-e2e"; then
                say "== $micro (e2e_seal_data() micro-benchmark, one core)"
                MICRO_JSON=$(tool micro --timeout 180 -- "$TMP/bin/bench-e2e")
        else
                say "== $micro not built; skipped"
                MICRO_JSON=$(failed_json "not built")
        fi
fi

if want pty; then
        n=$BENCH_PTY_BYTES
        say ""
        say "== bulk stdout through a PTY: head -c $n /dev/zero ($(mib "$n")), read from a local pty, $BENCH_RUNS runs"
        say "  ssh -tt:"
        ssh_json=$(tool pty --runs "$BENCH_RUNS" --bytes "$n" --timeout "$(tmo "$n" 2)" \
                --server-pid "$SSHD_PID" -- "${SSH[@]}" -tt "$SSH_HOST" "head -c $n /dev/zero")
        for t in ws tcp; do
                has_transport "$t" || continue
                if transport_ok "$t"; then
                        say "  webtty exec -t --url ${URL_OF[$t]}:"
                        wt_json=$(tool pty --runs "$BENCH_RUNS" --bytes "$n" --timeout "$(tmo "$n" 2)" \
                                --server-pid "${PID_OF[$t]}" -- "$WEBTTY" exec --url "${URL_OF[$t]}" -t -- head -c "$n" /dev/zero)
                else
                        wt_json=$(failed_json "sanity check failed")
                fi
                record "bulk $t (pty)" "MB/s" "$wt_json" "$ssh_json" ">=" 1.0
        done
fi

if want setup; then
        say ""
        say "== session set-up: 'true', median of $BENCH_SETUP_RUNS runs (after 3 warm-up runs)"
        say "  baseline, spawning /bin/true itself:"
        base_json=$(tool setup --runs "$BENCH_SETUP_RUNS" -- /bin/true)
        SPAWN_BASE=$(printf '%s' "$base_json" | "$PY" -c 'import json,sys; print("%.2f ms" % json.load(sys.stdin).get("value", float("nan")))')
        say "  ssh:"
        ssh_json=$(tool setup --runs "$BENCH_SETUP_RUNS" -- "${SSH[@]}" "$SSH_HOST" true)
        for t in ws tcp; do
                has_transport "$t" || continue
                if transport_ok "$t"; then
                        say "  webtty exec --url ${URL_OF[$t]}:"
                        wt_json=$(tool setup --runs "$BENCH_SETUP_RUNS" -- \
                                "$WEBTTY" exec --url "${URL_OF[$t]}" -- true)
                else
                        wt_json=$(failed_json "sanity check failed")
                fi
                record "setup $t (true)" "ms" "$wt_json" "$ssh_json" "<=" 0.1
        done
fi

if want mem; then
        say ""
        say "== webttyd memory per idle session: $BENCH_SESSIONS concurrent 'sleep 600' sessions (plain tcp framing)"
        if start_webttyd webttyd-mem --listen tcp://127.0.0.1:0 --allow-unauthenticated && [ -n "${WT_URLS[0]:-}" ]; then
                mem_pid=$WT_PID
                say "  fresh webttyd pid $mem_pid at ${WT_URLS[0]}, limit $(awk '/Max open files/{print $4}' "/proc/$mem_pid/limits") fds"
                mem_json=$(tool idle --addr "${WT_URLS[0]}" --pid "$mem_pid" -n "$BENCH_SESSIONS")
                stop_pid "$mem_pid"
                WEBTTYD_LOGS="$WEBTTYD_LOGS $TMP/webttyd-mem.log"
        else
                mem_json=$(failed_json "could not start a webttyd for the memory test")
        fi
        record "idle session memory" "KiB" "$mem_json" "" "<=" 64
fi

# --------------------------------------------------------------- report
say ""
# Daemon log lines that look like trouble (clients closing idle sessions, as
# the memory test does, are expected).
for f in $WEBTTYD_LOGS; do
        extra=$(grep -iE 'error|warn|fail|abort|assert|sanitizer|leak' "$f" |
                grep -v 'reason_code=client_disconnected' || true)
        if [ -n "$extra" ]; then
                say "webttyd log $(basename "$f"): $(printf '%s\n' "$extra" | wc -l) error/warning lines, last ones:"
                printf '%s\n' "$extra" | tail -n 8 | sed 's/^/    /' >&2
        fi
done
for pid in $WEBTTYD_PIDS; do
        kill -0 "$pid" 2>/dev/null || say "WARNING: webttyd pid $pid is no longer running"
done
[ -s "$TMP/sshd.log" ] && { say "sshd log, last lines:"; tail -n 5 "$TMP/sshd.log" | sed 's/^/    /' >&2; }

echo
echo "webtty vs OpenSSH $(ssh -V 2>&1 | awk '{print $1}' | tr -d ,) on loopback ($(nproc) CPUs; ssh -c $BENCH_SSH_CIPHER, UsePAM $BENCH_USE_PAM)"
echo "load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)${SPAWN_BASE:+; spawning /bin/true: $SPAWN_BASE}"
what=()
{ want bulk || want e2e; } && what+=("bulk $(mib "$BENCH_BULK_BYTES") x $BENCH_RUNS")
want pty && what+=("pty $(mib "$BENCH_PTY_BYTES") x $BENCH_RUNS")
want setup && what+=("set-up x $BENCH_SETUP_RUNS")
want mem && what+=("memory: $BENCH_SESSIONS sessions")
(IFS=";"; echo "medians of: ${what[*]}" | sed "s/;/; /g")
echo
status=0
summary_args=()
if want e2e; then
        summary_args+=(--cipher-mbps "${CIPHER_MBPS:-0}" --micro-json "$MICRO_JSON")
fi
"$PY" "$TOOL" summary "${summary_args[@]}" "$RESULTS" || status=1
[ "$sanity_errors" -eq 0 ] || status=1
exit "$status"
