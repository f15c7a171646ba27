"""webttyd-login driven directly over a socketpair, as root in a private mount namespace
(nsroot.py): a real PAM stack (pam_exec, a test module standing in for pam_rstream,
pam_unix account, pam_env, pam_limits), real utmp/wtmp, real users, real processes.

The client speaks the loginproto encoding (lib/loginproto.h) itself: version, type,
then records of u8 tag, u32 big-endian length, bytes. fds come back with recv_fds.
Every step asserts inside the namespace; its traceback fails the test."""

import ctypes
import os
import pwd
import select
import signal
import socket
import struct
import subprocess
import time

import pytest

import nsroot

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDDIR = os.environ.get("BUILDDIR") or os.path.dirname(os.path.dirname(HERE))
HELPER = os.environ.get("WEBTTYD_LOGIN") or os.path.join(BUILDDIR, "webttyd", "webttyd-login")
PAM_MODULE = os.path.join(BUILDDIR, "tests", "unit", "pam", ".libs", "pam_test_setuser.so")

ALICE = nsroot.User("wtalice", 4301)
BOB = nsroot.User("wtbob", 4302)
DAEMON = nsroot.User("wtdaemon", 4303, shell="/usr/sbin/nologin")
EXPIRED = nsroot.User("wtexpired", 4304, lastchg=0)

REQUEST, STARTED, REFUSED, SIGNAL, EXITED = 1, 2, 3, 4, 5


def pam_stack(tmp, module_args):
    return ("auth required pam_test_setuser.so %s\n"
            "auth required pam_exec.so quiet /usr/bin/touch %s/pam-called\n"
            "account required pam_unix.so\n"
            "session required pam_env.so readenv=1 user_readenv=0 envfile=%s/pam_environment\n"
            "session required pam_limits.so\n"
            "session required pam_test_setuser.so\n") % (module_args, tmp, tmp)


@pytest.fixture(scope="module")
def ns():
    why = nsroot.skip_reason()
    if why:
        pytest.skip(why)
    for path, what in ((HELPER, "webttyd-login"), (PAM_MODULE, "the test PAM module (make check builds it)")):
        if not os.access(path, os.R_OK):
            pytest.skip("%s not built (%s)" % (what, path))
    n = nsroot.NsRoot(users=[ALICE, BOB, DAEMON, EXPIRED], pam_modules=[PAM_MODULE])
    n.pam = {
        "webttyd": pam_stack(n.tmp, "user=wtalice"),
        "webttyd-bundle": pam_stack(n.tmp, "from_bundle"),
        "webttyd-deny": pam_stack(n.tmp, "user=wtalice deny"),
        "webttyd-expired": pam_stack(n.tmp, "user=wtexpired"),
        # succeeds without ever naming a user (no module that would ask for one)
        "webttyd-nouser": "auth required pam_test_setuser.so nouser\naccount required pam_permit.so\n"
                          "session required pam_permit.so\n",
        # pam_unix auth asks for a password: the conversation must refuse to answer.
        "webttyd-password": "auth required pam_unix.so\naccount required pam_permit.so\n"
                            "session required pam_permit.so\n",
    }
    with open(os.path.join(n.tmp, "pam_environment"), "w") as f:
        f.write("WT_PAM_ENV=from-pam-env\n")
    yield n
    n.cleanup()


def run(ns, func, **params):
    return ns.run(__file__, func, params, timeout=90)


# ---------------------------------------------------------------------------
# The protocol (client side), used inside the namespace
# ---------------------------------------------------------------------------


def rec(tag, data):
    if isinstance(data, str):
        data = data.encode()
    return bytes([tag]) + struct.pack(">I", len(data)) + data


def pb_bytes(num, value):
    if isinstance(value, str):
        value = value.encode()
    out, n = b"", len(value)
    key = (num << 3) | 2
    out += bytes([key])
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            out += bytes([b])
            break
    return out + value


def pb_varint(num, v):
    out = bytes([num << 3])
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def enc_open(cmd=(), tty=False, env=(), workdir=None, username=None):
    cfg = pb_bytes(1, pb_varint(2, 1) if tty else b"")
    for a in cmd:
        cfg += pb_bytes(2, a)
    for k, v in env:
        cfg += pb_bytes(3, pb_bytes(1, k) + (pb_bytes(2, v) if v else b""))
    if workdir is not None:
        cfg += pb_bytes(4, pb_bytes(1, workdir))
    if username is not None:
        cfg += pb_bytes(5, pb_varint(2, username) if isinstance(username, int) else pb_bytes(1, username))
    return pb_bytes(1, cfg)


def enc_request(open_bytes, transport="plain", peer="192.0.2.7", session_id="65f0a1b2c3d4e5f601020304"):
    return (bytes([1, REQUEST]) + rec(1, transport) + rec(2, peer) + rec(3, session_id) +
            rec(5, open_bytes))


def enc_signal(signo):
    return bytes([1, SIGNAL]) + rec(1, struct.pack(">I", signo))


def decode(buf):
    assert len(buf) >= 2 and buf[0] == 1, buf
    out, pos = {"type": buf[1]}, 2
    while pos < len(buf):
        tag, n = buf[pos], struct.unpack(">I", buf[pos + 1:pos + 5])[0]
        out[tag] = buf[pos + 5:pos + 5 + n]
        pos += 5 + n
    return out


def u32(b):
    return struct.unpack(">i", b)[0]


class Helper:
    """One webttyd-login process on a socketpair whose peer credentials are those of
    `peer` (the socketpair is created with that effective uid)."""

    count = 0

    def __init__(self, ctx, args=(), peer="wtdaemon", service="webttyd", mode="fd"):
        Helper.count += 1
        pw = pwd.getpwnam(peer)
        os.setegid(pw.pw_gid)
        os.seteuid(pw.pw_uid)
        try:
            self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        finally:
            os.seteuid(0)
            os.setegid(0)
        self.log_path = os.path.join(ctx["tmp"], "helper-%d-%d.log" % (os.getpid(), Helper.count))
        self.log = open(self.log_path, "w")
        cmd = [HELPER, "--webttyd-user", "wtdaemon", "--pam-service", service] + list(args)
        if mode == "fd":  # spawned by webttyd on a socketpair
            self.proc = subprocess.Popen(cmd + ["--socket-fd", str(child.fileno())], pass_fds=[child.fileno()],
                                         stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        elif mode == "stdin":  # systemd StandardInput=socket: stdin (and stdout) are the connection
            self.proc = subprocess.Popen(cmd, stdin=child, stdout=child, stderr=self.log)
        else:  # systemd socket activation: fd 3, LISTEN_FDS=1, LISTEN_PID=the helper
            self.proc = subprocess.Popen(["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@" 3<&%d' %
                                          child.fileno(), "sh"] + cmd, pass_fds=[child.fileno()],
                                         stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        child.close()
        self.fds = []

    def send(self, data):
        if len(data) > 200000:
            self.sock.setsockopt(socket.SOL_SOCKET, 32, len(data) * 2 + 65536)  # SO_SNDBUFFORCE
        self.sock.send(data)

    def recv(self, timeout=10):
        r, _, _ = select.select([self.sock], [], [], timeout)
        assert r, "no packet from webttyd-login within %ss; log:\n%s" % (timeout, self.logtext())
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 18, 3)
        except ConnectionResetError:  # closed with our packet unread
            data, fds = b"", []
        if not data:
            return None, fds
        return decode(data), fds

    def start(self, **kw):
        self.send(enc_request(enc_open(**kw)))
        m, fds = self.recv()
        assert m and m["type"] == STARTED, "expected STARTED, got %r; log:\n%s" % (m, self.logtext())
        self.fds = fds
        return m

    def wait(self, timeout=15):
        return self.proc.wait(timeout=timeout)

    def logtext(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def read_until(fd, needle, timeout=10):
    out = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in out:
        left = deadline - time.monotonic()
        assert left > 0, "timed out waiting for %r; got %r" % (needle, out)
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the slave side is gone
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def read_all(fd, timeout=10):
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def who():
    return subprocess.run(["who", "/run/utmp"], capture_output=True, text=True).stdout


def wtmp_types(line):
    """The ut_type of each wtmp record for line, oldest first (utmpdump)."""
    out = subprocess.run(["utmpdump", "/var/log/wtmp"], capture_output=True, text=True).stdout
    types = []
    for row in out.splitlines():
        fields = [f.strip().strip("[]") for f in row.split("] [")]
        if len(fields) > 4 and fields[4] == line:
            types.append(int(fields[0].strip("[")))
    return types


def user_procs(user, timeout=5):
    """pids of user's processes once none is left, or the survivors after timeout.
    Zombies re-parented to this (subreaper) process are reaped on the way."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        out = subprocess.run(["pgrep", "-u", user], capture_output=True, text=True).stdout.split()
        if not out or time.monotonic() > deadline:
            return out
        time.sleep(0.05)


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


# ---------------------------------------------------------------------------
# Steps (run inside the namespace)
# ---------------------------------------------------------------------------


def step_pty_session(params, ctx):
    h = Helper(ctx, args=["--server-label", "env=test", "--server-label", "zone=a b"])
    try:
        m = h.start(tty=True, env=[("WT_PAM_ENV", "client"), ("TERM", "xterm")],
                    cmd=['id -un; tty; stat -c "%U %G %a" "$(tty)"; '
                         'echo "E=$WT_PAM_ENV B=$WT_BUNDLE_SESSION P=$WT_BUNDLE_PROOF L=$WT_BUNDLE_LABELS"; '
                         'echo "U=$USER H=$HOME S=$SHELL D=$(pwd) M=$(umask)"; echo READY; read x; exit 7'])
        assert m[3] == b"wtalice", m
        line = m[4].decode()
        assert line.startswith("pts/"), m
        assert len(h.fds) == 1
        master = h.fds[0]
        out = read_until(master, "READY")
        lines = [l.strip() for l in out.splitlines()]
        assert lines[0] == "wtalice", out
        assert lines[1] == "/dev/" + line, out
        assert lines[2] == "wtalice tty 620", out
        # PAM's environment wins over the client's; the bundle went through the module.
        assert lines[3] == "E=from-pam-env B=65f0a1b2c3d4e5f601020304 P=0 L=env=test,zone=a b", out
        assert lines[4] == "U=wtalice H=/home/wtalice S=/bin/sh D=/home/wtalice M=0022", out
        w = who()
        assert "wtalice" in w and line in w and "192.0.2.7" in w, w
        assert os.path.exists(os.path.join(ctx["tmp"], "pam-called"))
        os.write(master, b"go\n")
        m, _ = h.recv()
        assert m["type"] == EXITED and u32(m[1]) == 7, m
        assert h.wait() == 0, h.logtext()
        assert "wtalice" not in who(), who()
        assert wtmp_types(line) == [7, 8], wtmp_types(line)  # USER_PROCESS, then DEAD_PROCESS
        ll = subprocess.run(["lastlog", "-u", "wtalice"], capture_output=True, text=True).stdout
        assert line in ll and "192.0.2.7" in ll, ll
        assert user_procs("wtalice") == []
        log = h.logtext()
        assert "session started" in log and "session ended" in log, log
    finally:
        h.close()
    return True


def step_pipes_session(params, ctx):
    h = Helper(ctx, mode=params["mode"])
    try:
        m = h.start(tty=False, cmd=["id -un; echo oops >&2; exit 3"])
        assert m[2] == struct.pack(">I", 0) and m.get(4, b"") == b"", m
        assert len(h.fds) == 3
        stdin, stdout, stderr = h.fds
        os.close(stdin)
        assert read_all(stdout) == "wtalice\n"
        assert read_all(stderr) == "oops\n"
        m, _ = h.recv()
        assert m["type"] == EXITED and u32(m[1]) == 3, m
        assert h.wait() == 0, h.logtext()
        # like sshd: no utmp record without a terminal
        assert "wtalice" not in who()
        out = subprocess.run(["utmpdump", "/var/log/wtmp"], capture_output=True, text=True).stdout
        assert "wtalice" not in out, out
    finally:
        h.close()
    return True


def step_signal(params, ctx):
    h = Helper(ctx)
    try:
        h.start(tty=True, cmd=["echo READY; sleep 100"])
        read_until(h.fds[0], "READY")
        h.send(enc_signal(signal.SIGUSR1))  # not in the allowed set: refused, session goes on
        r, _, _ = select.select([h.sock], [], [], 0.5)
        assert not r, "SIGUSR1 must not end the session"
        h.send(enc_signal(signal.SIGTERM))
        m, _ = h.recv()
        assert m["type"] == EXITED and u32(m[1]) == -1, m
        assert h.wait() == 0
        assert "SIGNAL refused" in h.logtext(), h.logtext()
        assert user_procs("wtalice") == []
    finally:
        h.close()
    return True


def step_eof_hangup(params, ctx):
    become_subreaper()
    h = Helper(ctx)
    try:
        m = h.start(tty=True, cmd=["(setsid sleep 200 &); trap '' HUP; echo READY; sleep 100"])
        line = m[4].decode()
        read_until(h.fds[0], "READY")
        assert len(user_procs("wtalice", timeout=0)) >= 2
        t0 = time.monotonic()
        for fd in h.fds:
            os.close(fd)
        h.fds = []
        h.sock.close()  # webttyd died or dropped the session
        assert h.wait(timeout=15) == 0, h.logtext()
        # SIGHUP is ignored by the shell: SIGKILL after the 2 s grace
        assert time.monotonic() - t0 >= 1.5
        assert user_procs("wtalice") == [], "processes left after EOF"
        assert line not in who(), who()
        assert "hanging up the session" in h.logtext()
    finally:
        h.close()
    return True


def step_kill9(params, ctx):
    become_subreaper()
    h = Helper(ctx)
    try:
        m = h.start(tty=True, cmd=["trap '' HUP; echo READY; sleep 100"])
        line = m[4].decode()
        read_until(h.fds[0], "READY")
        assert line in who()
        os.kill(h.proc.pid, signal.SIGKILL)
        h.proc.wait()
        assert user_procs("wtalice", timeout=10) == [], "processes left after kill -9 of webttyd-login"
        deadline = time.monotonic() + 5
        while line in who() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert line not in who(), who()
        assert wtmp_types(line) == [7, 8], wtmp_types(line)
        # webttyd sees EOF: nobody else holds the socket (the watchdog closed its copy)
        r, _, _ = select.select([h.sock], [], [], 5)
        assert r and h.sock.recv(100) == b""
    finally:
        h.close()
    return True


def step_wrong_peer(params, ctx):
    if os.path.exists(os.path.join(ctx["tmp"], "pam-called")):
        os.unlink(os.path.join(ctx["tmp"], "pam-called"))
    h = Helper(ctx, peer="root")
    try:
        try:
            h.send(enc_request(enc_open(cmd=["true"])))
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may already have hung up: it never reads from a wrong peer
        m, _ = h.recv()
        assert m is None, m  # EOF, no answer
        assert h.wait() == 1
        log = h.logtext()
        assert "refusing a connection from uid 0" in log and "wtdaemon" in log, log
        assert not os.path.exists(os.path.join(ctx["tmp"], "pam-called"))
    finally:
        h.close()
    return True


def step_refusals(params, ctx):
    results = {}
    pam_called = os.path.join(ctx["tmp"], "pam-called")

    def one(name, packet, args=(), service="webttyd"):
        if os.path.exists(pam_called):
            os.unlink(pam_called)
        h = Helper(ctx, args=args, service=service)
        try:
            h.send(packet)
            m, fds = h.recv()
            assert fds == [] and m["type"] == REFUSED, (name, m, h.logtext())
            assert h.wait() == 1, (name, h.logtext())
            results[name] = dict(message=m[1].decode(), log=h.logtext(),
                                 pam=os.path.exists(pam_called))
        finally:
            h.close()

    one("garbage", b"\x01\x01\x09\x00\x00\x00\x01x")
    one("not-a-request", enc_signal(1))
    one("bad-open", enc_request(b"\xff\xff\xff"))
    one("oversize", enc_request(enc_open(cmd=["x" * 300000])))
    one("client-user", enc_request(enc_open(cmd=["id"], username="wtbob")))
    one("deny", enc_request(enc_open(cmd=["id"])), service="webttyd-deny")
    one("expired", enc_request(enc_open(cmd=["id"])), service="webttyd-expired")
    one("nouser", enc_request(enc_open(cmd=["id"])), service="webttyd-nouser")
    one("password-prompt", enc_request(enc_open(cmd=["id"])), service="webttyd-password")
    one("bad-env", enc_request(enc_open(cmd=["id"], env=[("A=B", "x")])))
    return results


def step_client_user(params, ctx):
    out = []
    for who_ in ("wtbob", BOB.uid):
        h = Helper(ctx, args=["--allow-client-user", "--login-user", "wtalice"], service="webttyd-bundle")
        try:
            h.start(tty=False, cmd=['id -un; echo "R=$WT_BUNDLE_REQUESTED D=$WT_BUNDLE_DEFAULT"'],
                    username=who_)
            os.close(h.fds[0])
            out.append(read_all(h.fds[1]))
            m, _ = h.recv()
            assert m["type"] == EXITED and u32(m[1]) == 0, m
        finally:
            h.close()
    # no client user: the module falls back to the bundle's default user
    h = Helper(ctx, args=["--login-user", "wtalice"], service="webttyd-bundle")
    try:
        h.start(tty=False, cmd=["id -un"])
        out.append(read_all(h.fds[1]))
    finally:
        h.close()
    return out


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


def test_pty_session_user_tty_utmp_env_exit_code(ns):
    assert run(ns, "step_pty_session")


@pytest.mark.parametrize("mode", ["fd", "stdin", "listen-fds"])
def test_pipes_session_no_utmp(ns, mode):
    """Also the three ways to get the connection: --socket-fd, stdin, LISTEN_FDS."""
    assert run(ns, "step_pipes_session", mode=mode)


def test_signal_relayed_and_filtered(ns):
    assert run(ns, "step_signal")


def step_sigterm(params, ctx):
    h = Helper(ctx)
    try:
        m = h.start(tty=True, cmd=["echo READY; sleep 100"])
        line = m[4].decode()
        read_until(h.fds[0], "READY")
        h.proc.send_signal(signal.SIGTERM)  # systemctl stop: hang up, then close cleanly
        m, _ = h.recv()
        assert m["type"] == EXITED and u32(m[1]) == -1, m
        assert h.wait() == 0, h.logtext()
        assert line not in who()
        assert wtmp_types(line) == [7, 8]
        assert user_procs("wtalice") == []
    finally:
        h.close()
    return True


def step_login_shell(params, ctx):
    # webttyd running as root spawns the helper itself: --webttyd-user root
    h = Helper(ctx, peer="root", args=["--webttyd-user", "root"])
    try:
        h.start(tty=True, workdir="/nonexistent")
        master = h.fds[0]
        os.write(master, b'echo "A0=$0 D=$(pwd)"; exit 5\n')
        out = read_all(master, timeout=5)
        assert "Could not chdir to /nonexistent: starting in /" in out, out
        assert "A0=-sh D=/" in out, out  # a login shell, started in / after the message
        m, _ = h.recv()
        assert m["type"] == EXITED and u32(m[1]) == 5, m
        assert h.wait() == 0
    finally:
        h.close()
    return True


def test_login_shell_workdir_fallback_root_peer(ns):
    assert run(ns, "step_login_shell")


def test_sigterm_to_helper_ends_session_cleanly(ns):
    assert run(ns, "step_sigterm")


def test_socket_eof_hangs_up_and_kills_everything(ns):
    assert run(ns, "step_eof_hangup")


def test_kill9_of_helper_leaves_nothing(ns):
    assert run(ns, "step_kill9")


def test_wrong_peer_uid_refused_unread(ns):
    assert run(ns, "step_wrong_peer")


def test_refusals(ns):
    r = run(ns, "step_refusals")
    for name in ("garbage", "not-a-request", "bad-open", "oversize"):
        assert r[name]["message"] == "login refused: malformed login request", r[name]
        assert "login refused" in r[name]["log"] and "reason=" in r[name]["log"], r[name]
        assert not r[name]["pam"], "PAM must not run for a malformed request"
    assert "malformed request" in r["garbage"]["log"], r["garbage"]["log"]
    assert "expected a REQUEST" in r["not-a-request"]["log"], r["not-a-request"]["log"]
    assert "does not decode" in r["bad-open"]["log"]
    assert "request larger than 262144 bytes" in r["oversize"]["log"], r["oversize"]["log"]
    assert r["client-user"]["message"] == "client-selected OS users are disabled in login execution mode"
    assert not r["client-user"]["pam"]
    assert r["deny"]["message"] == "login refused"
    assert "pam_authenticate" in r["deny"]["log"], r["deny"]["log"]
    assert r["deny"]["pam"]
    assert r["expired"]["message"] == "login refused"
    assert "password must be changed" in r["expired"]["log"], r["expired"]["log"]
    assert r["nouser"]["message"] == "login refused"
    assert "set no user" in r["nouser"]["log"], r["nouser"]["log"]
    assert r["password-prompt"]["message"] == "login refused"
    assert "PAM module prompted" in r["password-prompt"]["log"], r["password-prompt"]["log"]
    assert r["bad-env"]["message"] == 'invalid environment variable name "A=B"', r["bad-env"]
    assert not r["bad-env"]["pam"], "the environment is checked before PAM runs"


def test_client_user_allowed(ns):
    out = run(ns, "step_client_user")
    assert out[0] == "wtbob\nR=wtbob D=wtalice\n", out
    assert out[1] == "wtbob\nR=wtbob D=wtalice\n", out  # a uid is resolved to its name
    assert out[2] == "wtalice\n", out


def test_not_root_refused():
    if os.geteuid() != 0:
        r = subprocess.run([HELPER, "--socket-fd", "0"], capture_output=True, text=True)
        assert r.returncode == 1 and "must run as root" in r.stderr
        return
    if not os.access(HELPER, os.X_OK):
        pytest.skip("webttyd-login not built")
    r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", HELPER],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "must run as root" in r.stderr, r
