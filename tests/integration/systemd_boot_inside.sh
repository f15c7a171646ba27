#!/bin/sh
# The driver of test_systemd_boot.py: runs inside a container booted with systemd as
# PID 1 (systemd-nspawn -b), as the oneshot unit wt-boot-test.service, against the
# tree `make install` produced (units in /usr/lib/systemd/system, programs and modules
# under /usr/local). It configures the host as an operator would and checks that the
# shipped units work under the real service manager:
#   - webttyd.socket activates webttyd.service (Type=notify, User=webttyd) on the
#     first connection; a session runs as webttyd; records reach the journal with
#     their fields; the watchdog is fed; `systemctl stop` drains and exits cleanly;
#   - login mode: webttyd-login.socket (Accept=yes) starts one webttyd-login@
#     instance per session, the shipped PAM service maps the caller through the
#     policy to a template user resolved by nss_rstream, and the instance is gone
#     after the session; webttyd killed -9 mid-session takes the session with it and
#     the next session works.
# With dbus and systemd-logind running (/src/logind says yes), the shipped stack's
# pam_systemd line gives each login session a logind session and scope, as on a full
# system, and the kill -9 check covers them too.
# One line per check goes to /out/result ("ok NAME", "not ok NAME: detail", or "skip
# NAME: why" for the logind checks without logind); the commands' output goes to
# /out/log. The container powers off when this ends.
set -u

OUT=/out
RESULT=$OUT/result
LOG=$OUT/log
TOKEN=/etc/rstream/webtty/token
CLIENT_TOKEN=/root/token
IDENTITY=/var/lib/rstream/webtty/identities/srv.identity.json
CLIENTS=/etc/rstream/webtty/authorized_clients/srv.json
POLICY=/etc/rstream/webtty/policy.yaml
URL=ws://127.0.0.1:8080
LOGIND=$(cat /src/logind)
export RSTREAM_DATA_DIR=/root/client
: >"$RESULT"
: >"$LOG"

ok() { echo "ok $1" >>"$RESULT"; }
not_ok() { echo "not ok $1: $2" >>"$RESULT"; }

# check NAME CMD...: CMD must succeed.
check() {
        name=$1
        shift
        echo "== $name: $*" >>"$LOG"
        if "$@" >>"$LOG" 2>&1; then ok "$name"; else not_ok "$name" "$* failed"; fi
}

# expect NAME WANT GOT: two values must be equal.
expect() {
        if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "want '$2', got '$3'"; fi
}

# eventually NAME SECONDS CMD...: CMD must succeed within SECONDS.
eventually() {
        name=$1
        n=$(($2 * 10))
        shift 2
        while ! "$@" >/dev/null 2>&1; do
                n=$((n - 1))
                if [ "$n" -le 0 ]; then
                        not_ok "$name" "$* did not succeed in time"
                        return
                fi
                sleep 0.1
        done
        ok "$name"
}

prop() { systemctl show -p "$2" --value "$1"; }

# ---- the operator's set-up ------------------------------------------------

setup() {
        ldconfig
        # Spawn-mode sessions run as this user and start in its home (as the reference).
        useradd --system --user-group --home-dir /var/lib/webttyd --create-home --shell /usr/sbin/nologin webttyd
        install -d -m 0755 /etc/rstream/webtty /etc/rstream/webtty/authorized_clients \
                /var/lib/rstream/webtty/identities
        head -c 24 /dev/urandom | base64 >"$TOKEN"
        chown webttyd:webttyd "$TOKEN"
        chmod 0600 "$TOKEN"
        install -m 0600 "$TOKEN" "$CLIENT_TOKEN"
}

# ---- spawn mode: the units as shipped ---------------------------------------

spawn_mode() {
        check "webttyd.socket starts" systemctl start webttyd.socket
        expect "webttyd.service waits for the first connection" inactive \
                "$(systemctl is-active webttyd.service)"
        got=$(webtty exec --url "$URL" --auth-token-file "$CLIENT_TOKEN" -- sh -c 'id -un; exit 7' 2>>"$LOG")
        expect "a session through the activated socket exits 7" 7 $?
        expect "the session runs as the service user" webttyd "$got"
        expect "webttyd.service is active after activation" active "$(systemctl is-active webttyd.service)"
        expect "webttyd runs as User=webttyd" webttyd "$(ps -o user= -p "$(prop webttyd.service MainPID)")"
        expect "Type=notify: READY reached" running "$(prop webttyd.service SubState)"
        eventually "session records reach the journal with their fields" 5 \
                sh -c 'journalctl -u webttyd.service -o verbose --no-pager | grep -q "EXIT_CODE=7"'

        # The watchdog: WatchdogSec=3 for this test (pings every 1.5 s); webttyd must keep
        # feeding it through 7 s.
        mkdir -p /run/systemd/system/webttyd.service.d
        printf '[Service]\nWatchdogSec=3\n' >/run/systemd/system/webttyd.service.d/watchdog.conf
        systemctl daemon-reload
        check "restart with WatchdogSec=3" systemctl restart webttyd.service
        sleep 7
        expect "the watchdog is fed (no restart after 7 s)" "active 0" \
                "$(systemctl is-active webttyd.service) $(prop webttyd.service NRestarts)"
        # The watchdog timestamp is set at start and moved by every WATCHDOG=1.
        ts=$(prop webttyd.service WatchdogTimestampMonotonic)
        start=$(prop webttyd.service ExecMainStartTimestampMonotonic)
        if [ "${ts:-0}" -gt $((${start:-0} + 3000000)) ]; then
                ok "WATCHDOG=1 keeps arriving"
        else
                not_ok "WATCHDOG=1 keeps arriving" "last ping at $ts, started at $start"
        fi
        rm -f /run/systemd/system/webttyd.service.d/watchdog.conf
        systemctl daemon-reload

        # Stop with a session open: webttyd drains (--shutdown-timeout), exits by itself.
        webtty exec --url "$URL" --auth-token-file "$CLIENT_TOKEN" -- sleep 60 >>"$LOG" 2>&1 &
        client=$!
        eventually "a long session is running" 5 pgrep -u webttyd -x sleep
        check "systemctl stop webttyd.service" systemctl stop webttyd.service
        expect "webttyd exits by itself on stop (Result)" success "$(prop webttyd.service Result)"
        eventually "the session's processes are gone" 5 sh -c '! pgrep -u webttyd -x sleep'
        wait "$client"
        expect "the client of the drained session fails" 1 $(($? != 0))
}

# ---- login mode ----------------------------------------------------------------

login_files() {
        webtty identity create --identity-file "$IDENTITY" >>"$LOG" 2>&1
        chown webttyd:webttyd "$IDENTITY"
        SERVER_KEY=$(webtty identity show --identity-file "$IDENTITY" --endpoint-identity)
        webtty identity create --name dev-bob >>"$LOG" 2>&1
        webtty identity create --name mallory >>"$LOG" 2>&1
        key=$(webtty identity show --name dev-bob --endpoint-identity)
        webtty authorized-client add dev-bob --key "$key" --authorized-clients-file "$CLIENTS" >>"$LOG" 2>&1
        chown webttyd:webttyd "$CLIENTS"
        # The shipped example's accounts section, with one rule.
        sed '/^rules: \[\]/d' /src/policy.yaml.example >"$POLICY"
        cat >>"$POLICY" <<'EOF'
rules:
  - name: developers
    match: {client: ["dev-*"]}
    user_template: "rs-{name}"
EOF
        # The shipped PAM service, with this host's server id and the module's path
        # (a /usr/local install).
        sed -e 's/SERVER-ID/srv/g' -e 's| pam_rstream\.so| /usr/local/lib/security/pam_rstream.so|' \
                /src/pam.d-webttyd >/etc/pam.d/webttyd
        sed -i -e 's/^passwd:.*/passwd: files rstream/' -e 's/^group:.*/group: files rstream/' \
                /etc/nsswitch.conf
        mkdir -p /run/systemd/system/webttyd.service.d
        cat >/run/systemd/system/webttyd.service.d/login.conf <<EOF
[Service]
ExecStart=
ExecStart=/usr/local/sbin/webttyd --auth-token-file $TOKEN --execution-mode login --identity-file $IDENTITY --authorized-clients-file $CLIENTS
EOF
        systemctl daemon-reload
}

login_exec() {
        webtty exec --url "$URL" --auth-token-file "$CLIENT_TOKEN" --e2e --known-server-key "$SERVER_KEY" \
                --identity dev-bob "$@"
}

login_mode() {
        login_files
        check "webtty policy check accepts the policy" webtty policy check "$POLICY"
        check "webttyd-login.socket starts" systemctl start webttyd-login.socket
        expect "the login socket is root:webttyd 0660" "root webttyd 660" \
                "$(stat -c '%U %G %a' /run/webttyd/login.sock)"
        check "webttyd.socket starts (login mode)" systemctl start webttyd.socket
        got=$(login_exec -- sh -c 'id -un; echo "$RSTREAM_CALLER"; exit 5' 2>>"$LOG")
        expect "a login session exits 5" 5 $?
        expect "the caller is mapped to its template user by PAM and the policy" "rs-dev-bob dev-bob" \
                "$(echo $got)"
        expect "nss_rstream resolves the provisioned user" "/home/rs-dev-bob" \
                "$(getent passwd rs-dev-bob | cut -d: -f6)"
        expect "pam_mkhomedir created the home, owned by the user" "rs-dev-bob 700" \
                "$(stat -c '%U %a' /home/rs-dev-bob 2>&1)"
        eventually "the webttyd-login@ instance is gone after the session" 5 \
                sh -c '[ -z "$(systemctl list-units --no-legend --state=active "webttyd-login@*")" ]'
        check "an instance of webttyd-login@ ran" \
                sh -c "journalctl --no-pager -o cat -u 'webttyd-login@*' | grep -q ."
        webtty exec --url "$URL" --auth-token-file "$CLIENT_TOKEN" --e2e --known-server-key "$SERVER_KEY" \
                --identity mallory -- sh -c 'echo ran' >>"$LOG" 2>&1
        expect "an unauthorized caller is refused" 1 $(($? != 0))
        kill_webttyd_mid_session
        check "webttyd stops cleanly (login mode)" systemctl stop webttyd.service
        expect "webttyd exits by itself on stop (login mode)" success "$(prop webttyd.service Result)"
}

# webttyd killed -9 during a login session: the session is hung up and its processes
# reaped by webttyd-login, the instance goes away, and the next session works.
kill_webttyd_mid_session() {
        login_exec -- sleep 60 >>"$LOG" 2>&1 &
        client=$!
        eventually "a login session is running" 5 pgrep -u rs-dev-bob -x sleep
        if [ "$LOGIND" = yes ]; then
                # pam_systemd moved the session into a logind scope, outside the
                # webttyd-login@ instance's cgroup: its end must not rely on the instance.
                eventually "pam_systemd registered a logind session for the user" 5 \
                        sh -c 'loginctl list-sessions --no-legend | grep -q rs-dev-bob'
        else
                echo "skip pam_systemd registered a logind session for the user: no logind" >>"$RESULT"
        fi
        pid=$(prop webttyd.service MainPID)
        if [ "${pid:-0}" -le 1 ]; then
                not_ok "webttyd has a main process to kill" "MainPID=$pid"
                return
        fi
        kill -9 "$pid"
        eventually "the session dies with webttyd (kill -9)" 10 sh -c '! pgrep -u rs-dev-bob -x sleep'
        eventually "its webttyd-login@ instance goes away" 10 \
                sh -c '[ -z "$(systemctl list-units --no-legend --state=active "webttyd-login@*")" ]'
        if [ "$LOGIND" = yes ]; then
                eventually "its logind session goes away" 10 \
                        sh -c '! loginctl list-sessions --no-legend | grep -q rs-dev-bob'
        else
                echo "skip its logind session goes away: no logind" >>"$RESULT"
        fi
        wait "$client"
        expect "the client of the killed daemon fails" 1 $(($? != 0))
        expect "a session works after the kill" rs-dev-bob "$(login_exec -- id -un 2>>"$LOG")"
}

setup >>"$LOG" 2>&1
spawn_mode
login_mode
journalctl -b --no-pager -o short-monotonic >"$OUT/journal.txt" 2>&1
journalctl -b --no-pager -o verbose >"$OUT/journal-verbose.txt" 2>&1
echo done >>"$RESULT"
