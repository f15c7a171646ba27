"""Login mode end to end, as root in a private mount namespace (nsroot.py): webttyd as an
unprivileged user hands each session to webttyd-login (socket-activated per connection
by systemd-socket-activate, as systemd's Accept=yes does), which runs the real PAM
service `webttyd` (pam_rstream, pam_unix account, pam_loginuid, pam_limits, pam_env),
with nsswitch `passwd: files rstream` (libnss_rstream.so.2 from the build in the
library directory) and the caller-to-user policy in /etc/rstream/webtty/policy.yaml.
Clients are the real `webtty exec` with E2E identities.

Nothing on the host changes: /etc, /var/lib, /var/log, /home, the library and PAM
module directories are overlays, /run is a tmpfs, passwd/group/shadow are copies."""

import json
import os
import pwd
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

import nsroot
from conftest import sanitized

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDDIR = os.environ.get("BUILDDIR") or os.path.dirname(os.path.dirname(HERE))
BIN = dict(
    webttyd=os.environ.get("WEBTTYD") or os.path.join(BUILDDIR, "webttyd", "webttyd"),
    login=os.environ.get("WEBTTYD_LOGIN") or os.path.join(BUILDDIR, "webttyd", "webttyd-login"),
    webtty=os.environ.get("WEBTTY") or os.path.join(BUILDDIR, "helper", "webtty"),
    pam=os.path.join(BUILDDIR, "pam_rstream", ".libs", "pam_rstream.so"),
    nss=os.path.join(BUILDDIR, "nss_rstream", ".libs", "libnss_rstream.so.2"),
)

DAEMON = nsroot.User("wtdaemon", 4400, shell="/usr/sbin/nologin")
FIXED = nsroot.User("wtfixed", 4401)
DEPLOY = nsroot.User("wtdeploy", 4402)
OTHER = nsroot.User("wtother", 4403)

IDENTITY = "/var/lib/rstream/webtty/identities/srv.identity.json"
CLIENTS = "/etc/rstream/webtty/authorized_clients/srv.json"
POLICY = "/etc/rstream/webtty/policy.yaml"
ACCOUNTS = "/var/lib/rstream/webtty/accounts.db"
LOGIN_SOCK = "/run/webttyd/login.sock"
WEBTTYD_SOCK = "/run/wt/webttyd.sock"

POLICY_TEXT = """\
version: 1
accounts:
  uid_range: 70000-70999
  home: /home/{user}
  shell: /bin/sh
rules:
  - name: ops
    match: {client: [alice]}
    user: wtfixed
    sudo: true
  - name: developers
    match: {client: ["dev-*"]}
    user_template: "rs-{name}"
  - name: deployers
    match: {client: [ci]}
    client_user: {users: [wtdeploy]}
  - name: blocked
    match: {client: [mallory]}
    deny: true
"""

PAM_WEBTTYD = """\
auth     required  pam_rstream.so identity=%s authorized_clients=%s policy=%s accounts_db=%s
account  required  pam_rstream.so policy=%s
account  required  pam_unix.so
session  required  pam_loginuid.so
session  required  pam_rstream.so
session  optional  pam_mkhomedir.so umask=0077
session  required  pam_limits.so
session  required  pam_env.so readenv=1
""" % (IDENTITY, CLIENTS, POLICY, ACCOUNTS, POLICY)

# sudo succeeds only inside a live rstream session whose rule granted sudo: sudoers lets
# everyone in without a password, the account phase decides (like pam_oslogin_admin).
PAM_SUDO = """\
auth     required   pam_permit.so
account  required   pam_rstream.so require_session sudo policy=%s
session  required   pam_limits.so
""" % POLICY

NSSWITCH = """\
passwd:  files rstream
group:   files rstream
shadow:  files
hosts:   files
"""


def needs():
    why = nsroot.skip_reason()
    if why:
        pytest.skip(why)
    for what, path in BIN.items():
        if not os.access(path, os.R_OK):
            pytest.skip("%s not built (%s)" % (what, path))
    if sanitized(BIN["pam"]) or sanitized(BIN["nss"]):
        pytest.skip("sanitizer build: its PAM and NSS modules cannot be loaded into the system's own "
                    "programs (sudo, id, sh); the plain build runs this test")
    for tool in ("systemd-socket-activate", "setpriv", "sudo", "who"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in os.environ["PATH"].split(":")):
            pytest.skip("%s is missing" % tool)


def run_step(func, params=None, timeout=180):
    needs()
    ns = nsroot.NsRoot(users=[DAEMON, FIXED, DEPLOY, OTHER], pam={"webttyd": PAM_WEBTTYD, "sudo": PAM_SUDO},
                       pam_modules=[BIN["pam"]], nss_modules=[BIN["nss"]], nsswitch=NSSWITCH,
                       overlay_etc=True, overlay_var_lib=True)
    try:
        p = dict(BIN)
        p.update(params or {})
        return ns.run(__file__, func, p, timeout=timeout)
    finally:
        ns.cleanup()


# ---------------------------------------------------------------------------
# Inside the namespace
# ---------------------------------------------------------------------------


class Host:
    """The server side of one namespace: files, webttyd-login's socket activator and
    webttyd as wtdaemon; the client side: identities alice, dev-bob, ci, mallory."""

    def __init__(self, p, ctx):
        self.p = p
        self.tmp = ctx["tmp"]
        self.procs = []
        self.client_root = os.path.join(self.tmp, "client")
        self.server_root = os.path.join(self.tmp, "server")
        os.makedirs(self.client_root, mode=0o700)
        os.makedirs(self.server_root, mode=0o700)
        self.key = {}
        self._files()
        self._start()

    def wt(self, root, *args):
        env = {"PATH": os.environ["PATH"], "HOME": self.tmp, "RSTREAM_DATA_DIR": root}
        r = subprocess.run([self.p["webtty"]] + list(args), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout.decode().strip()

    def _files(self):
        daemon = pwd.getpwnam(DAEMON.name)
        self.wt(self.server_root, "identity", "create", "--name", "srv")
        srv = self.wt(self.server_root, "identity", "show", "--name", "srv", "--endpoint-identity")
        for name in ("alice", "dev-bob", "ci", "mallory"):
            self.wt(self.client_root, "identity", "create", "--name", name)
            self.key[name] = self.wt(self.client_root, "identity", "show", "--name", name, "--endpoint-identity")
            self.wt(self.server_root, "authorized-client", "add", name, "--key", self.key[name], "--identity", "srv")
        self.wt(self.client_root, "known-server", "add", "srv", "--key", srv)
        for d in ("/etc/rstream/webtty/authorized_clients", "/var/lib/rstream/webtty/identities", "/run/webttyd",
                  "/run/wt"):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.chown("/run/wt", daemon.pw_uid, daemon.pw_gid)
        for src, dst in ((os.path.join(self.server_root, "webtty", "identities", "srv.identity.json"), IDENTITY),
                         (os.path.join(self.server_root, "webtty", "authorized_clients", "srv.json"), CLIENTS)):
            with open(src, "rb") as f, open(dst, "wb") as g:
                g.write(f.read())
            os.chown(dst, daemon.pw_uid, daemon.pw_gid)
            os.chmod(dst, 0o600)
        with open(POLICY, "w") as f:
            f.write(POLICY_TEXT)
        os.chmod(POLICY, 0o644)
        # sudo: anyone may ask; PAM (pam_rstream require_session sudo) decides.
        with open("/etc/sudoers.d/rstream-test", "w") as f:
            f.write("Defaults !lecture\nALL ALL=(ALL:ALL) NOPASSWD: ALL\n")
        os.chmod("/etc/sudoers.d/rstream-test", 0o440)

    def _spawn(self, argv, log):
        f = open(os.path.join(self.tmp, log), "wb")
        pr = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                              start_new_session=True)
        self.procs.append(pr)
        return pr

    def _start(self):
        # One webttyd-login per connection, like webttyd-login.socket (Accept=yes).
        self.activator = self._spawn(["systemd-socket-activate", "--seqpacket", "--accept", "-l", LOGIN_SOCK,
                                      self.p["login"], "--webttyd-user", DAEMON.name, "--allow-client-user"],
                                     "login.log")
        wait_for(lambda: os.path.exists(LOGIN_SOCK), 10, "the login socket")
        daemon = pwd.getpwnam(DAEMON.name)
        os.chown(LOGIN_SOCK, 0, daemon.pw_gid)
        os.chmod(LOGIN_SOCK, 0o660)
        self.webttyd = self._spawn(
            ["setpriv", "--reuid", DAEMON.name, "--regid", DAEMON.name, "--clear-groups", "--",
             self.p["webttyd"], "--listen", "unix:" + WEBTTYD_SOCK, "--execution-mode", "login",
             "--allow-client-user", "--login-socket", LOGIN_SOCK, "--identity-file", IDENTITY,
             "--authorized-clients-file", CLIENTS, "--log-level", "debug"], "webttyd.log")
        wait_for(lambda: os.path.exists(WEBTTYD_SOCK), 10, "webttyd's socket", self.logs)

    def logs(self):
        out = ""
        for name in ("webttyd.log", "login.log"):
            try:
                with open(os.path.join(self.tmp, name), errors="replace") as f:
                    out += "--- %s\n%s" % (name, f.read()[-4000:])
            except OSError:
                pass
        return out

    def exec_argv(self, caller, cmd, tty=False, user=None):
        a = [self.p["webtty"], "exec", "--url", "unix:" + WEBTTYD_SOCK, "--known-server", "srv",
             "--identity", caller, "--e2e"]
        if tty:
            a.append("-t")
        if user:
            a += ["--user", user]
        return a + ["--"] + list(cmd)

    def env(self):
        return {"PATH": os.environ["PATH"], "HOME": self.tmp, "RSTREAM_DATA_DIR": self.client_root,
                "TERM": "xterm"}

    def run(self, caller, cmd, user=None, timeout=30):
        r = subprocess.run(self.exec_argv(caller, cmd, user=user), env=self.env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def run_tty(self, caller, script, timeout=30):
        """A PTY session (the client needs a terminal: util-linux script gives it one)."""
        cmd = " ".join(shlex.quote(a) for a in self.exec_argv(caller, ["sh", "-c", script], tty=True))
        r = subprocess.run(["script", "-qefc", cmd, "/dev/null"], env=self.env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def start_tty(self, caller, script):
        cmd = " ".join(shlex.quote(a) for a in self.exec_argv(caller, ["sh", "-c", script], tty=True))
        pr = subprocess.Popen(["script", "-qefc", cmd, "/dev/null"], env=self.env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(pr)
        return pr

    def stop(self):
        for pr in reversed(self.procs):
            if pr.poll() is None:
                try:
                    os.killpg(pr.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    pr.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(pr.pid, signal.SIGKILL)
                    pr.wait(5)


def wait_for(pred, timeout, what, diag=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s\n%s" % (what, diag() if diag else ""))


def who():
    return subprocess.run(["who", "/run/utmp"], stdout=subprocess.PIPE, check=True).stdout.decode()


def user_procs(user):
    """Live processes of user (zombies have ended: only their reaping is pending)."""
    r = subprocess.run(["ps", "-u", user, "-o", "pid=,stat="], stdout=subprocess.PIPE)
    return [ln.split()[0] for ln in r.stdout.decode().splitlines() if ln.split() and "Z" not in ln.split()[1]]


def ps_user(user):
    return subprocess.run(["ps", "-u", user, "-o", "pid,ppid,pgid,sid,stat,args"], stdout=subprocess.PIPE).stdout.decode()


def with_host(fn):
    def step(p, ctx):
        h = Host(p, ctx)
        try:
            return fn(h, p)
        except BaseException:
            sys.stderr.write(h.logs())
            raise
        finally:
            h.stop()
    step.__name__ = fn.__name__
    return step


@with_host
def step_mappings(h, p):
    # Fixed user.
    rc, out, err = h.run("alice", ["id", "-un"])
    assert (rc, out) == (0, "wtfixed\n"), (rc, out, err)
    # Template user, provisioned into accounts.db and resolved by nss_rstream.
    rc, out, err = h.run("dev-bob", ["sh", "-c", "id -un; id -u; echo $HOME"])
    lines = out.split()
    assert rc == 0 and lines[0] == "rs-dev-bob", (rc, out, err)
    assert 70000 <= int(lines[1]) <= 70999, out
    assert pwd.getpwnam("rs-dev-bob").pw_uid == int(lines[1])  # NSS in this namespace too
    # The same caller gets the same account next time.
    rc, out2, err = h.run("dev-bob", ["id", "-u"])
    assert out2.strip() == lines[1], (out2, err)
    # Client-requested user that the rule allows, and one it does not.
    rc, out, err = h.run("ci", ["id", "-un"], user="wtdeploy")
    assert (rc, out) == (0, "wtdeploy\n"), (rc, out, err)
    rc, out, err = h.run("ci", ["id", "-un"], user="wtother")
    assert rc != 0 and out == "" and "refused" in err, (rc, out, err)
    # Refused caller: no process runs as anyone.
    rc, out, err = h.run("mallory", ["touch", os.path.join(h.tmp, "mallory-ran")])
    assert rc != 0 and "refused" in err, (rc, out, err)
    assert not os.path.exists(os.path.join(h.tmp, "mallory-ran"))
    # The environment pam_rstream exported.
    rc, out, err = h.run("alice", ["sh", "-c", "echo $RSTREAM_CALLER $USER $LOGNAME"])
    assert out == "alice wtfixed wtfixed\n", (out, err)
    return "ok"


def test_login_mappings():
    """Fixed, template-provisioned, client-requested (allowed and refused) and refused
    callers map as the policy says; `id -un` runs as the mapped user."""
    assert run_step("step_mappings") == "ok"


@with_host
def step_tty_and_utmp(h, p):
    rc, out, err = h.run_tty("alice", "stat -c '%U %G %a' $(tty); tty")
    assert rc == 0, (rc, out, err)
    assert re.search(r"wtfixed tty 620\r?\n/dev/pts/\d+", out), out
    # While a session runs, who shows it; afterwards not.
    pr = h.start_tty("alice", "echo started; sleep 30")
    wait_for(lambda: "wtfixed" in who(), 15, "the utmp entry", h.logs)
    line = [ln for ln in who().splitlines() if ln.startswith("wtfixed")][0]
    assert re.search(r"pts/\d+", line), line
    pr.stdin.close()
    os.killpg(pr.pid, signal.SIGTERM)  # the client goes away: webttyd drops the session
    pr.wait(10)
    wait_for(lambda: "wtfixed" not in who(), 15, "the utmp entry to go", h.logs)
    wait_for(lambda: not user_procs("wtfixed"), 15, "the session's processes to end")
    return "ok"


def test_login_tty_owner_and_utmp():
    """The PTY belongs to the mapped user (mode 0620, group tty); `who` shows the session
    while it runs and not after the client went away."""
    assert run_step("step_tty_and_utmp") == "ok"


@with_host
def step_sudo(h, p):
    rc, out, err = h.run_tty("alice", "sudo -n true && echo SUDO-OK")
    assert "SUDO-OK" in out, (rc, out, err, h.logs())
    rc, out, err = h.run_tty("dev-bob", "sudo -n true && echo SUDO-OK; echo done")
    assert "SUDO-OK" not in out and "done" in out, (rc, out, err)
    # Outside any rstream session (root here, but a plain user has no session): refused.
    r = subprocess.run(["setpriv", "--reuid", FIXED.name, "--regid", FIXED.name, "--clear-groups", "--",
                        "sudo", "-n", "true"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode != 0, r
    return "ok"


def test_login_sudo_only_when_policy_grants():
    """sudo's PAM stack requires a live rstream session whose rule granted sudo."""
    assert run_step("step_sudo") == "ok"


def kill_mid_session(h, victim):
    pr = h.start_tty("alice", "echo started; sleep 1000 & sleep 1000")
    wait_for(lambda: "wtfixed" in who() and len(user_procs("wtfixed")) >= 3, 15, "the session", h.logs)
    if victim == "webttyd":
        os.kill(h.webttyd.pid, signal.SIGKILL)
    else:
        pids = subprocess.run(["pgrep", "-P", str(h.activator.pid)], stdout=subprocess.PIPE).stdout.split()
        assert len(pids) == 1, pids
        os.kill(int(pids[0]), signal.SIGKILL)
    wait_for(lambda: not user_procs("wtfixed"), 15, "no process of the user left",
             lambda: ps_user("wtfixed") + h.logs())
    wait_for(lambda: "wtfixed" not in who(), 15, "no stale utmp entry", h.logs)
    pr.wait(15)
    return "ok"


@with_host
def step_kill_webttyd(h, p):
    return kill_mid_session(h, "webttyd")


@with_host
def step_kill_login(h, p):
    return kill_mid_session(h, "login")


def test_login_kill_webttyd_leaves_nothing():
    assert run_step("step_kill_webttyd") == "ok"


def test_login_kill_webttyd_login_leaves_nothing():
    assert run_step("step_kill_login") == "ok"


def rec(tag, b):
    return struct.pack(">BI", tag, len(b)) + b


def pb_bytes(field, b):
    out, n = bytes([field << 3 | 2]), len(b)
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n]) + b


@with_host
def step_forged_request(h, p):
    """A request sent straight to the login socket by the daemon user (as a compromised
    webttyd would): without a proof, and with a made-up one. Both refused by PAM."""
    config = pb_bytes(2, b"id")  # Config{cmd_args: ["id"]}
    proof = pb_bytes(2, b"\x01" * 32) + pb_bytes(3, b"\x02" * 91) + bytes([4 << 3, 1]) + pb_bytes(5, b"\x03" * 32)
    proof += pb_bytes(6, b"\x04" * 70) + pb_bytes(7, b"2030-01-01T00:00:00Z") + pb_bytes(8, b"2030-01-01T00:00:30Z")
    results = []
    for open_msg in (pb_bytes(1, config), pb_bytes(1, config) + pb_bytes(5, proof)):
        req = bytes([1, 1]) + rec(1, b"plain") + rec(3, b"forged") + rec(4, b"\x00" * 32) + rec(5, open_msg)
        out = subprocess.run(
            ["setpriv", "--reuid", DAEMON.name, "--regid", DAEMON.name, "--clear-groups", "--", sys.executable,
             "-c", "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n"
             "s.connect(sys.argv[1]); s.send(bytes.fromhex(sys.argv[2])); s.settimeout(20)\n"
             "print(s.recv(65536).hex())", LOGIN_SOCK, req.hex()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert out.returncode == 0, out
        reply = bytes.fromhex(out.stdout.decode().strip())
        results.append(reply[:2].hex())
        assert reply[:2] == bytes([1, 3]), reply  # REFUSED
    assert not user_procs("wtfixed")
    return results


def test_login_forged_request_refused():
    assert run_step("step_forged_request") == ["0103", "0103"]
