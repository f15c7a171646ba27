"""webttyd's side of login mode (DESIGN.md section 2, lib/loginproto.h): the real webttyd
in --execution-mode login hands every session to webttyd-login over a SOCK_SEQPACKET
socket and never starts a process itself.

The webttyd-login here is LoginPeer, a small driver of our own protocol written in this
file (the TLV encoding of lib/loginproto.h): it accepts on a unix socket (--login-socket)
or is started by webttyd per session (--login-helper, with this file as the program), reads
the REQUEST, starts the Open's command itself as a real process on a real PTY or real
pipes, passes the fds back with SCM_RIGHTS, forwards SIGNALs to the process group and
reports EXITED. It stands in for webttyd-login only to test webttyd; it runs no PAM.
"""

import array
import os
import pwd
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time

import pytest

import wtproto as wp
from conftest import KNOWN_CHILDREN, WEBTTY, _require, session, wait_until

# lib/loginproto.h
VERSION = 1
REQUEST, STARTED, REFUSED, SIGNAL, EXITED = 1, 2, 3, 4, 5
LOGINPROTO_MAX = 256 * 1024
UNAVAILABLE = "login service unavailable"
ME = pwd.getpwuid(os.getuid()).pw_name


# ---------------------------------------------------------------------------
# the protocol (u8 version | u8 type | (u8 tag | u32 BE length | bytes)*)
# ---------------------------------------------------------------------------


def lp_encode(mtype, records):
    out = bytes([VERSION, mtype])
    for tag, val in records:
        out += bytes([tag]) + struct.pack(">I", len(val)) + val
    return out


def lp_decode(buf):
    assert len(buf) >= 2 and buf[0] == VERSION, buf[:8]
    recs, pos, last = {}, 2, 0
    while pos < len(buf):
        assert len(buf) - pos >= 5, "truncated record"
        tag = buf[pos]
        (n,) = struct.unpack_from(">I", buf, pos + 1)
        pos += 5
        assert tag > last, "tags out of order"
        assert n <= len(buf) - pos, "record beyond the message"
        recs[tag] = bytes(buf[pos:pos + n])
        pos += n
        last = tag
    return buf[1], recs


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def msg_started(pid, tty, user=ME, tty_name=""):
    recs = [(1, u32(pid)), (2, u32(1 if tty else 0))]
    if user:
        recs.append((3, user.encode()))
    if tty_name:
        recs.append((4, tty_name.encode()))
    return lp_encode(STARTED, recs)


def msg_refused(text):
    return lp_encode(REFUSED, [(1, text.encode())])


def msg_exited(code):
    return lp_encode(EXITED, [(1, u32(code))])


def decode_request(buf):
    t, r = lp_decode(buf)
    assert t == REQUEST, "first message of type %d, not REQUEST" % t
    return {"transport": r.get(1, b"").decode(), "peer": r.get(2, b"").decode(),
            "session_id": r.get(3, b"").decode(), "nonce": r.get(4), "open": r[5]}


def open_config(open_bytes):
    """Open.config of the REQUEST's Open, decoded."""
    return wp.decode(wp.f_msg(wp.F_OPEN, open_bytes)).config


def open_fields(open_bytes):
    return [num for num, _, _ in wp.iter_fields(open_bytes)]


# ---------------------------------------------------------------------------
# LoginPeer: one thread per connection
# ---------------------------------------------------------------------------


class PeerSession:
    """One connection from webttyd: what arrived and what was done."""

    def __init__(self, peer, conn):
        self.peer = peer
        self.conn = conn
        self.request = None
        self.signals = []  # signal numbers received, in order
        self.eof = threading.Event()  # webttyd closed the connection
        self.exited_sent = threading.Event()
        self.child = None
        self.child_status = None
        self.error = None

    # -- I/O ---------------------------------------------------------------
    def send(self, data, fds=()):
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.conn.sendmsg([data], anc)

    def recv(self, timeout):
        """One packet (bytes), b"" at EOF, or None on timeout."""
        r, _, _ = select.select([self.conn], [], [], timeout)
        if not r:
            return None
        try:
            return self.conn.recv(LOGINPROTO_MAX + 1)
        except ConnectionResetError:
            return b""

    def service(self, timeout):
        """Reads SIGNALs for up to timeout seconds, forwarding them to the process group.
        Returns False at EOF."""
        pkt = self.recv(timeout)
        if pkt is None:
            return True
        if pkt == b"":
            self.eof.set()
            return False
        t, r = lp_decode(pkt)
        assert t == SIGNAL, "webttyd sent type %d while the session ran" % t
        signo = struct.unpack(">I", r[1])[0]
        self.signals.append(signo)
        if self.child is not None and self.child.poll() is None:
            try:
                os.killpg(self.child.pid, signo)
            except ProcessLookupError:
                pass
        return True

    def wait_eof(self, timeout=10.0):
        """Only from the connection's own thread; the test's thread waits on self.eof."""
        deadline = time.monotonic() + timeout
        while not self.eof.is_set() and time.monotonic() < deadline:
            self.service(0.05)
        return self.eof.is_set()

    # -- the session ----------------------------------------------------------
    def start_child(self, tty, argv=None):
        cfg = open_config(self.request["open"])
        argv = argv or cfg["cmd_args"] or ["/bin/sh"]
        if tty:
            master, slave = os.openpty()

            def pre():
                import fcntl
                import termios
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

            self.child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                          start_new_session=True, preexec_fn=pre)
            os.close(slave)
            fds = [master]
            name = os.ttyname(master)
        else:
            self.child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, start_new_session=True)
            fds = [self.child.stdin.fileno(), self.child.stdout.fileno(), self.child.stderr.fileno()]
            name = ""
        KNOWN_CHILDREN.add(self.child.pid)
        return fds, name

    def close_child_fds(self, fds):
        if self.child.stdin is not None:
            self.child.stdin.close()
            self.child.stdout.close()
            self.child.stderr.close()
        else:
            for fd in fds:
                os.close(fd)

    def run(self, hold_exit=None, tty=None):
        """Start the Open's command, hand the fds over, forward signals, report EXITED
        (after hold_exit is set, if given), then wait for webttyd to hang up."""
        cfg = open_config(self.request["open"])
        want_tty = bool(cfg["options"] and cfg["options"]["allocate_tty"])
        tty = want_tty if tty is None else tty
        fds, name = self.start_child(tty)
        self.send(msg_started(self.child.pid, tty, ME, "pts/x" if tty else ""), fds)
        self.close_child_fds(fds)
        while self.child.poll() is None:
            if not self.service(0.05):
                # webttyd hung up: end the session like webttyd-login does.
                self.hang_up()
                return
        code = self.child.returncode
        self.child_status = code
        while hold_exit is not None and not hold_exit.is_set():
            if not self.service(0.05):
                return
        self.exited_sent.set()  # before: webttyd may answer (Close) before this thread runs again
        self.send(msg_exited(code if code >= 0 else -1))
        self.wait_eof()

    def hang_up(self):
        try:
            os.killpg(self.child.pid, signal.SIGHUP)
        except ProcessLookupError:
            pass
        try:
            self.child.wait(2)
        except subprocess.TimeoutExpired:
            os.killpg(self.child.pid, signal.SIGKILL)
            self.child.wait(5)
        self.child_status = self.child.returncode


class LoginPeer:
    """A webttyd-login stand-in. behaviour(ps) runs per connection after the REQUEST was
    read into ps.request; the default runs the Open's command."""

    def __init__(self, path, behaviour=None):
        self.path = path
        self.behaviour = behaviour or (lambda ps: ps.run())
        self.sessions = []
        self.cond = threading.Condition()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(path)
        self.listener.listen(16)
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            r, _, _ = select.select([self.listener], [], [], 0.05)
            if not r:
                continue
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            ps = PeerSession(self, conn)
            threading.Thread(target=self._serve, args=(ps,), daemon=True).start()

    def _serve(self, ps):
        try:
            pkt = ps.recv(10)
            assert pkt, "no REQUEST from webttyd"
            ps.request = decode_request(pkt)
            with self.cond:
                self.sessions.append(ps)
                self.cond.notify_all()
            self.behaviour(ps)
        except Exception as e:  # reported by the test through check()
            ps.error = repr(e)
            with self.cond:
                if ps not in self.sessions:
                    self.sessions.append(ps)
                self.cond.notify_all()
        finally:
            if ps.child is not None and ps.child.poll() is None:
                ps.hang_up()
            ps.conn.close()

    def wait_sessions(self, n=1, timeout=10.0):
        with self.cond:
            self.cond.wait_for(lambda: len(self.sessions) >= n, timeout)
            assert len(self.sessions) >= n, "webttyd-login stand-in saw %d session(s), want %d" % (
                len(self.sessions), n)
            return self.sessions[n - 1]

    def check(self):
        for ps in self.sessions:
            assert ps.error is None, "login peer failed: %s" % ps.error

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.listener.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


@pytest.fixture
def login_peer(webttyd):
    peers = []

    def make(behaviour=None):
        d = webttyd.mkdir()
        p = LoginPeer(os.path.join(d, "login.sock"), behaviour)
        peers.append(p)
        return p

    yield make
    for p in peers:
        p.close()


def start_login(webttyd, peer, listen=("ws", "unix"), args=(), login_user=ME, **kw):
    # A short close timeout: a plain-transport session ends soon after a refusal.
    a = ["--execution-mode", "login", "--login-socket", peer.path, "--close-timeout", "500ms"]
    if login_user:
        a += ["--login-user", login_user]
    return webttyd.start(listen=listen, args=a + list(args), **kw)


# ---------------------------------------------------------------------------
# sessions that run
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["unix", "ws"])
def test_pipe_session_output_and_exit_code(webttyd, login_peer, kind):
    peer = login_peer()
    dm = start_login(webttyd, peer)
    sent = wp.open_msg(["sh", "-c", "cat; echo err >&2; exit 3"])
    conn = dm.connect(kind)
    conn.send(sent)
    assert conn.recv(10).kind == "ack"
    conn.send(wp.stdin(b"hi\n"))
    conn.send(wp.stdin_eos())
    res = wp.collect(conn, timeout=15)
    assert (bytes(res.stdout), bytes(res.stderr), res.close_code) == (b"hi\n", b"err\n", 3), res
    ps = peer.wait_sessions(1)
    assert ps.eof.wait(5), "webttyd did not close the login connection after the session"
    peer.check()
    req = ps.request
    assert req["transport"] == ("websocket" if kind == "ws" else "plain")
    assert len(req["session_id"]) == 24 and int(req["session_id"], 16) >= 0, req
    assert req["nonce"] is None, "a session without ServerHello has no nonce"
    # The Open exactly as the client sent it (Message{open: <these bytes>}).
    assert wp.f_msg(wp.F_OPEN, req["open"]) == sent
    assert ps.signals == [], "a session that ended by itself needs no signal"
    log = dm.wait_log("session closed")
    assert "starting child process" in log and "login_pid=%d" % ps.child.pid in log, log[-2000:]
    assert "execution_mode=login" in log
    assert req["session_id"] in log
    if kind == "ws":
        assert "127.0.0.1" in req["peer"], req


def test_pty_session_resize_and_exit(webttyd, login_peer):
    peer = login_peer()
    dm = start_login(webttyd, peer)
    res = session(dm.connect("unix"), ["sh", "-c", 'IFS= read -r l; stty size; echo "got:$l"; exit 4'],
                  tty=True, resize=(33, 99), stdin=b"line\r", eos=False)
    out = bytes(res.stdout)
    assert res.close_code == 4, res
    assert b"33 99\r\n" in out and b"got:line\r\n" in out, out
    assert res.eos[wp.STDERR] == 0 and res.eos[wp.STDOUT] == 1, res
    peer.check()
    dm.assert_log("backend=tty")


def test_webtty_exec_against_login_mode(webttyd, login_peer, webtty_bin):
    peer = login_peer()
    dm = start_login(webttyd, peer)
    p = subprocess.run([WEBTTY, "exec", "--url", dm.client_url("unix"), "--", "sh", "-c", "echo hi; exit 3"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (3, b"hi\n", b""), p
    peer.check()


def test_signal_death_is_close_minus_one(webttyd, login_peer):
    peer = login_peer()
    dm = start_login(webttyd, peer)
    res = session(dm.connect("unix"), ["sh", "-c", "kill -9 $$"])
    assert res.close_code == -1, res


def test_close_only_after_exited(webttyd, login_peer):
    """The process is gone and every stream ended, yet no Close until EXITED arrives:
    webttyd is not the parent, only webttyd-login knows the status."""
    release = threading.Event()
    peer = login_peer(lambda ps: ps.run(hold_exit=release))
    dm = start_login(webttyd, peer, heartbeat=0)
    conn = dm.connect("unix")
    conn.send(wp.open_msg(["sh", "-c", "echo out; exit 5"]))
    res = wp.Result()
    deadline = time.monotonic() + 10
    while res.eos[wp.STDOUT] == 0 or res.eos[wp.STDERR] == 0:
        m = conn.recv(max(0.01, deadline - time.monotonic()))
        assert not isinstance(m, wp.Ended), res
        res.msgs.append(m)
        if m.kind == "data" and m.eos:
            res.eos[m.dtype] += 1
        elif m.kind == "data" and m.dtype == wp.STDOUT:
            res.stdout += m.payload
        assert m.kind in ("ack", "data"), m
    ps = peer.wait_sessions(1)
    assert wait_until(lambda: ps.child_status is not None, 5), "child did not exit"
    with pytest.raises(wp.Timeout):
        conn.recv(0.7)  # nothing: no Close without EXITED
    release.set()
    res = wp.collect(conn, timeout=10, result=res)
    assert res.close_code == 5 and ps.exited_sent.is_set(), res
    assert bytes(res.stdout) == b"out\n", res
    peer.check()


def test_sessions_do_not_block_each_other(webttyd, login_peer):
    """While one REQUEST waits for webttyd-login, another session runs to the end."""
    release = threading.Event()

    def behaviour(ps):
        if open_config(ps.request["open"])["cmd_args"][0] == "slow":
            while not release.is_set() and ps.service(0.05):
                pass
            ps.send(msg_refused("slow refused"))
            ps.wait_eof()
        else:
            ps.run()

    peer = login_peer(behaviour)
    dm = start_login(webttyd, peer, args=["--open-timeout", "20s"])
    slow = dm.connect("unix")
    slow.send(wp.open_msg(["slow"]))
    peer.wait_sessions(1)
    res = session(dm.connect("unix"), ["sh", "-c", "echo fast"])
    assert (bytes(res.stdout), res.close_code) == (b"fast\n", 0), res
    release.set()
    res = wp.collect(slow, timeout=10)
    assert res.kinds() == ["error"] and res.error == "slow refused", res


def test_open_packed_again_when_message_has_more(webttyd, login_peer):
    """A Message with more than the Open field (here an unknown field) is not passed on
    as is: the Open is packed again, canonically."""
    peer = login_peer()
    dm = start_login(webttyd, peer)
    sent = wp.open_msg(["sh", "-c", "exit 0"])
    conn = dm.connect("unix")
    conn.send(sent + wp.f_varint(99, 1))
    res = wp.collect(conn, timeout=10)
    assert res.close_code == 0, res
    req = peer.wait_sessions(1).request
    assert wp.f_msg(wp.F_OPEN, req["open"]) == sent


def test_open_too_large_for_login(webttyd, login_peer):
    """An Open the daemon accepts (up to --max-message-size) but that cannot travel to
    webttyd-login (lib/loginproto.h caps a message at 256 KiB) is refused clearly."""
    peer = login_peer()
    dm = start_login(webttyd, peer)
    conn = dm.connect("unix")
    conn.send(wp.open_msg(["true"], env=[("BIG", "x" * (300 * 1024))]))
    res = wp.collect(conn, timeout=10)
    assert (res.kinds(), res.error) == (["error"], "Open message too large for login execution mode"), res
    time.sleep(0.2)
    assert peer.sessions == []


# ---------------------------------------------------------------------------
# refusals and failures
# ---------------------------------------------------------------------------


def _refused_session(dm, cmd=("true",), tty=False):
    conn = dm.connect("unix")
    conn.send(wp.open_msg(list(cmd), tty=tty))
    return wp.collect(conn, timeout=10)


def test_refused_text_reaches_client(webttyd, login_peer):
    def refuse(ps):
        ps.send(msg_refused("caller laptop may not log in as root"))
        ps.wait_eof()

    peer = login_peer(refuse)
    dm = start_login(webttyd, peer)
    res = _refused_session(dm)
    assert res.kinds() == ["error"], res
    assert res.error == "caller laptop may not log in as root"
    assert peer.wait_sessions(1).eof.wait(5)
    peer.check()
    dm.assert_log("session rejected")
    assert "starting child process" not in dm.stderr()


def _bad_peer(action):
    def behaviour(ps):
        action(ps)
        ps.wait_eof()
    return behaviour


def _pipes_wrong_way(ps):
    a, b = os.pipe(), os.pipe()
    try:
        ps.send(msg_started(1, False), [a[0], a[1], b[0]])  # stdin is a read end
    finally:
        for fd in a + b:
            os.close(fd)


def _send_closing(ps, data, fds):
    """Send with fds attached, then close our copies."""
    try:
        ps.send(data, fds[:1] if len(fds) == 2 and os.isatty(fds[0]) else fds)
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.parametrize("case,cause", [
    ("eof", "closed the connection before STARTED"),
    ("garbage", "undecodable message"),
    ("bad-version", "undecodable message"),
    ("bad-started", "malformed login started message"),
    ("exited-first", "unexpected EXITED before STARTED"),
    ("refused-with-fd", "REFUSED with fds attached"),
    ("started-no-fds", "0 fds attached, 3 expected"),
    ("tty-mismatch", "STARTED: a PTY but the Open asked for pipes"),
    ("pipes-wrong-way", "STARTED: stdin fd is not writable"),
    ("oversized", "a packet larger than"),
])
def test_broken_login_service_is_generic_error(webttyd, login_peer, case, cause):
    """Whatever goes wrong before STARTED, the client sees only the generic text; the
    log says why and names the peer."""
    actions = {
        "eof": lambda ps: None,
        "garbage": lambda ps: ps.send(b"\x07junk"),
        "bad-version": lambda ps: ps.send(b"\x02\x02"),
        "bad-started": lambda ps: ps.send(lp_encode(STARTED, [(2, u32(0))])),
        "exited-first": lambda ps: ps.send(msg_exited(0)),
        "refused-with-fd": lambda ps: ps.send(msg_refused("x"), [0]),
        "started-no-fds": lambda ps: ps.send(msg_started(1, False)),
        "tty-mismatch": lambda ps: _send_closing(ps, msg_started(1, True), os.openpty()),
        "pipes-wrong-way": _pipes_wrong_way,
        "oversized": lambda ps: ps.send(msg_refused("x" * 20000)),
    }
    if case == "eof":
        peer = login_peer(lambda ps: None)  # closes right after the REQUEST
    else:
        peer = login_peer(_bad_peer(actions[case]))
    dm = start_login(webttyd, peer)
    res = _refused_session(dm)
    assert res.kinds() == ["error"], res
    assert res.error == UNAVAILABLE
    ps = peer.wait_sessions(1)
    if case != "eof":
        assert ps.eof.wait(5), "webttyd kept the broken connection open"
    log = dm.wait_log(cause)
    assert cause in log, log[-3000:]
    failed = [ln for ln in log.splitlines() if "webttyd-login failed" in ln]
    assert failed and "peer=" in failed[0], log[-3000:]
    assert "session accepted" not in log


def test_login_service_gone_after_start(webttyd, login_peer):
    peer = login_peer()
    dm = start_login(webttyd, peer)
    peer.close()  # stops listening and removes the socket
    res = _refused_session(dm)
    assert (res.kinds(), res.error) == (["error"], UNAVAILABLE), res
    log = dm.wait_log("webttyd-login unreachable")
    assert "login_socket=%s" % peer.path in log, log[-2000:]


def test_connection_lost_while_running_ends_session(webttyd, login_peer):
    """webttyd-login dying mid-session: no Close (the status is unknown), the session
    ends and says so in the log."""
    def die(ps):
        fds, _ = ps.start_child(False, ["sleep", "30"])
        ps.send(msg_started(ps.child.pid, False), fds)
        ps.close_child_fds(fds)
        time.sleep(0.3)
        ps.hang_up()

    peer = login_peer(die)
    dm = start_login(webttyd, peer)
    conn = dm.connect("unix")
    conn.send(wp.open_msg(["sleep", "30"]))
    res = wp.collect(conn, timeout=10)
    assert res.acked and res.close_code is None, res
    dm.assert_log("webttyd-login closed the connection before EXITED")


def test_client_user_refused_before_handoff(webttyd, login_peer):
    """webttyd's own --allow-client-user rule is checked before anything is handed over."""
    peer = login_peer()
    dm = start_login(webttyd, peer)
    conn = dm.connect("unix")
    conn.send(wp.open_msg(["id"], username="nobody"))
    res = wp.collect(conn, timeout=5)
    assert (res.kinds(), res.error) == (["error"],
                                        "client-selected OS users are disabled in login execution mode"), res
    time.sleep(0.2)
    assert peer.sessions == [], "a refused Open reached webttyd-login"


def test_client_user_passed_on_when_allowed(webttyd, login_peer):
    peer = login_peer()
    dm = start_login(webttyd, peer, login_user=None, args=["--allow-client-user"])
    res = session(dm.connect("unix"), ["sh", "-c", "exit 0"], username="someone-only-login-knows")
    assert res.close_code == 0, res
    assert open_config(peer.wait_sessions(1).request["open"])["username"] == "someone-only-login-knows"


def test_open_timeout_while_waiting_hangs_up(webttyd, login_peer):
    def silent(ps):
        ps.wait_eof(20)

    peer = login_peer(silent)
    dm = start_login(webttyd, peer, args=["--open-timeout", "1s", "--close-timeout", "300ms"])
    conn = dm.connect("unix")
    conn.send(wp.open_msg(["true"]))
    t0 = time.monotonic()
    ps = peer.wait_sessions(1)
    assert ps.eof.wait(5), "webttyd did not hang up the pending login"
    assert time.monotonic() - t0 < 4
    dm.assert_log("operation timeout")


# ---------------------------------------------------------------------------
# signals: disconnect and drain
# ---------------------------------------------------------------------------


def test_client_disconnect_kills_and_hangs_up(webttyd, login_peer):
    peer = login_peer()
    dm = start_login(webttyd, peer)
    conn = dm.connect("unix")
    conn.send(wp.open_msg(["sleep", "30"]))
    assert conn.recv(10).kind == "ack"
    ps = peer.wait_sessions(1)
    conn.abort()
    assert ps.eof.wait(5), "webttyd did not close the login connection"
    assert ps.signals == [signal.SIGKILL], ps.signals
    assert wait_until(lambda: ps.child.poll() is not None, 5)
    assert ps.child.returncode == -signal.SIGKILL
    dm.assert_log("client_disconnected")


@pytest.mark.parametrize("tty,signo", [(True, signal.SIGHUP), (False, signal.SIGINT)], ids=["pty", "pipes"])
def test_drain_asks_for_signal(webttyd, login_peer, tty, signo):
    peer = login_peer()
    dm = start_login(webttyd, peer, args=["--shutdown-timeout", "5s"])
    conn = dm.connect("unix")
    # A shell that waits in the foreground: the signal to the group ends it.
    conn.send(wp.open_msg(["sleep", "30"], tty=tty))
    assert conn.recv(10).kind == "ack"
    ps = peer.wait_sessions(1)
    t0 = time.monotonic()
    dm.stopped = True
    dm.proc.send_signal(signal.SIGTERM)
    res = wp.collect(conn, timeout=5)
    assert res.close_code == -1, res
    conn.close()
    assert dm.proc.wait(5) == 0
    assert time.monotonic() - t0 < 4, "drain waited for the shutdown timeout"
    assert ps.signals[:1] == [signo], ps.signals


def test_shutdown_timeout_escalates_to_sigkill(webttyd, login_peer):
    peer = login_peer()
    dm = start_login(webttyd, peer, args=["--shutdown-timeout", "500ms", "--close-timeout", "500ms"])
    conn = dm.connect("unix")
    conn.send(wp.open_msg(["sh", "-c", "trap '' INT; echo ready; sleep 30"]))
    assert conn.recv(10).kind == "ack"
    m = conn.recv(10)  # the trap is set before SIGINT can come
    assert m.kind == "data" and m.payload == b"ready\n", m
    ps = peer.wait_sessions(1)
    assert dm.terminate() == 0
    # The stand-in reads its socket every 50 ms: let it catch up.
    wait_until(lambda: len(ps.signals) >= 2 or ps.eof.is_set() and len(ps.signals) >= 2, 3)
    assert ps.signals[:2] == [signal.SIGINT, signal.SIGKILL], ps.signals


# ---------------------------------------------------------------------------
# start-up
# ---------------------------------------------------------------------------


def test_startup_needs_login_socket(webttyd):
    d = webttyd.mkdir()
    missing = os.path.join(d, "no.sock")
    rc, err = webttyd.run_fail(["--listen", "unix:" + os.path.join(d, "x.sock"), "--execution-mode", "login",
                                "--login-user", ME, "--login-socket", missing])
    assert rc == 1, err
    assert "socket %s is not available: No such file or directory" % missing in err, err
    regular = os.path.join(d, "file")
    open(regular, "w").close()
    rc, err = webttyd.run_fail(["--listen", "unix:" + os.path.join(d, "x.sock"), "--execution-mode", "login",
                                "--login-user", ME, "--login-socket", regular])
    assert rc == 1 and "socket %s is not available: not a socket" % regular in err, err


def test_startup_default_login_socket_named(webttyd):
    if os.path.exists("/run/webttyd/login.sock"):
        pytest.skip("a webttyd-login socket exists on this machine")
    d = webttyd.mkdir()
    rc, err = webttyd.run_fail(["--listen", "unix:" + os.path.join(d, "x.sock"), "--execution-mode", "login",
                                "--login-user", ME])
    assert rc == 1 and "/run/webttyd/login.sock" in err, err


@pytest.mark.parametrize("args,msg", [
    (["--login-socket", "/x"], "--login-socket and --login-helper require --execution-mode=login"),
    (["--login-helper", "/bin/true"], "--login-socket and --login-helper require --execution-mode=login"),
    (["--execution-mode", "login", "--login-user", ME, "--login-socket", "/x", "--login-helper", "/bin/true"],
     "--login-socket and --login-helper cannot be combined"),
    (["--execution-mode", "login", "--login-user", ME, "--login-helper", "/nonexistent/webttyd-login"],
     "--login-helper /nonexistent/webttyd-login is not an executable file: No such file or directory"),
    (["--execution-mode", "login", "--login-user", ME, "--login-helper", "/etc/passwd"],
     "--login-helper /etc/passwd is not an executable file: Permission denied"),
    (["--execution-mode", "login", "--login-user", ME, "--login-helper", "/usr"],
     "--login-helper /usr is not an executable file: not a regular file"),
    (["--execution-mode", "login", "--login-user", ME, "--login-helper", "webttyd-login"],
     '--login-helper "webttyd-login" is not an absolute path'),
    (["--execution-mode", "login", "--login-user", ME, "--login-socket", ""], "--login-socket is empty"),
    (["--execution-mode", "login"], "existing local OS username"),
])
def test_startup_login_option_errors(webttyd, args, msg):
    if os.geteuid() == 0 and "Permission denied" in msg:
        pytest.skip("root may execute anything")
    d = webttyd.mkdir()
    rc, err = webttyd.run_fail(["--listen", "unix:" + os.path.join(d, "x.sock")] + args)
    assert rc == 1, err
    assert msg in err, err


# ---------------------------------------------------------------------------
# --login-helper: webttyd starts the stand-in itself over a socketpair
# ---------------------------------------------------------------------------


def helper_main(argv):
    """Entry point when webttyd runs this file as its --login-helper."""
    fd, record = None, os.environ.get("WT_LOGIN_HELPER_RECORD")
    it = iter(argv)
    for a in it:
        if a == "--socket-fd":
            fd = int(next(it))
    fds = sorted(int(x) for x in os.listdir("/proc/self/fd"))
    with open(record, "a") as f:
        f.write(repr({"argv": argv, "pid": os.getpid(), "sid": os.getsid(0), "fds": fds}) + "\n")
    conn = socket.socket(fileno=fd)
    assert conn.type == socket.SOCK_SEQPACKET
    ps = PeerSession(None, conn)
    ps.request = decode_request(ps.recv(10))
    ps.run()
    conn.close()


def test_login_helper_per_session(webttyd):
    d = webttyd.mkdir()
    record = os.path.join(d, "helper-runs")
    wrapper = os.path.join(d, "fake-webttyd-login")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec %s -B %s --as-login-helper \"$@\"\n" % (sys.executable, os.path.abspath(__file__)))
    os.chmod(wrapper, 0o755)
    dm = webttyd.start(listen=("unix",), args=["--execution-mode", "login", "--login-user", ME,
                                               "--allow-client-user", "--login-helper", wrapper],
                       extra_env={"WT_LOGIN_HELPER_RECORD": record,
                                  "PYTHONPATH": os.path.dirname(os.path.abspath(__file__))})
    for n in (1, 2):
        res = session(dm.connect("unix"), ["sh", "-c", "echo run %d; exit 3" % n])
        assert (bytes(res.stdout), res.close_code) == (b"run %d\n" % n, 3), res
    with open(record) as f:
        runs = [eval(ln) for ln in f]
    assert len(runs) == 2, runs
    for run in runs:
        assert run["argv"] == ["--socket-fd", "3", "--login-user", ME, "--allow-client-user"], run
        assert run["sid"] == run["pid"] or run["sid"] != dm.pid, run  # its own session
        # stdin, stdout, stderr, the socket; nothing else of the daemon's
        assert [x for x in run["fds"] if x > 3] in ([], [4]), run  # 4: listdir's own fd
    # Each helper exited with its session (the daemon teardown checks no descendant is left).
    assert wait_until(lambda: not [p for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == dm.pid], 5)


def test_login_helper_that_fails(webttyd):
    """A helper that cannot run: the client gets the generic error, the log the exit
    status, and the helper is reaped (no zombie under the daemon)."""
    d = webttyd.mkdir()
    broken = os.path.join(d, "broken-helper")
    with open(broken, "w") as f:
        f.write("#!/nonexistent/interpreter\n")
    os.chmod(broken, 0o755)
    dm = webttyd.start(listen=("unix",), args=["--execution-mode", "login", "--login-user", ME,
                                               "--login-helper", broken, "--close-timeout", "500ms"])
    conn = dm.connect("unix")
    conn.send(wp.open_msg(["true"]))
    res = wp.collect(conn, timeout=10)
    assert (res.kinds(), res.error) == (["error"], UNAVAILABLE), res
    log = dm.wait_log("helper ended abnormally")
    assert "webttyd-login helper ended abnormally" in log and "status=\"exit status 127\"" in log, log[-2000:]
    assert wait_until(lambda: not [p for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == dm.pid], 5)


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
        return int(s[s.rindex(")") + 2:].split()[1])
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------
# E2E: the REQUEST carries the nonce and the Open with proof and grant
# ---------------------------------------------------------------------------


def test_e2e_session_through_login(webttyd, login_peer, tmp_path, webtty_bin):
    from test_e2e import Trust, start_e2e, wexec
    trust = Trust(tmp_path)
    peer = login_peer()
    dm = start_e2e(webttyd, trust, listen=("unix", "ws"),
                   args=["--execution-mode", "login", "--login-user", ME, "--login-socket", peer.path])
    nonces = []
    for kind in ("unix", "ws"):
        p = wexec(dm, trust, kind, ["sh", "-c", "cat; echo err >&2; exit 3"], input=b"secret\n")
        assert (p.returncode, p.stdout, p.stderr) == (3, b"secret\n", b"err\n"), p
        req = peer.wait_sessions(len(nonces) + 1).request
        assert req["nonce"] is not None and len(req["nonce"]) == 32, req
        nonces.append(req["nonce"])
        fields = open_fields(req["open"])
        assert 4 in fields and 5 in fields, "the Open lacks its session key grant or client proof: %r" % fields
        assert open_config(req["open"])["cmd_args"] == ["sh", "-c", "cat; echo err >&2; exit 3"]
        assert req["transport"] == ("websocket" if kind == "ws" else "plain")
    assert nonces[0] != nonces[1]
    peer.check()
    log = dm.wait_log("execution_mode=login")
    assert "e2e=true" in log and "execution_mode=login" in log, log[-2000:]


def test_e2e_request_carries_server_hello_session(webttyd, login_peer, tmp_path, webtty_bin):
    """wt-forge (an independent E2E client) reports the ServerHello it verified: the
    REQUEST names the same session, and its output arrived encrypted and decrypted."""
    from test_e2e import WT_FORGE, Trust, forge_client, start_e2e
    _require(WT_FORGE, "WT_FORGE")
    trust = Trust(tmp_path)
    peer = login_peer()
    dm = start_e2e(webttyd, trust, listen=("unix",),
                   args=["--execution-mode", "login", "--login-user", ME, "--login-socket", peer.path])
    out = forge_client(dm, trust, "unix", "none", ["sh", "-c", "cat; exit 6"], stdin="sealed\n")
    res = out["result"]
    assert (res["ack"], res["stdout"], res["close_code"], res["fatal"]) == (True, "sealed\n", 6, None), res
    req = peer.wait_sessions(1).request
    assert req["session_id"] == out["hello"]["session_id"], (req, out["hello"])
    assert req["nonce"] is not None and len(req["nonce"]) == 32


def test_e2e_unauthorized_client_never_reaches_login(webttyd, login_peer, tmp_path, webtty_bin):
    """webttyd still verifies the proof first: an unauthorized client is refused before
    anything is handed to webttyd-login."""
    from test_e2e import NOT_AUTHORIZED, Trust, start_e2e, wexec
    trust = Trust(tmp_path)
    trust.wt("known-server", "add", "srv-other", "--key", trust.endpoint["srv"], "--client-identity", "other")
    peer = login_peer()
    dm = start_e2e(webttyd, trust, listen=("unix",),
                   args=["--execution-mode", "login", "--login-user", ME, "--login-socket", peer.path])
    p = wexec(dm, trust, "unix", ["true"], opts=("--known-server", "srv-other"))
    assert p.returncode != 0 and NOT_AUTHORIZED.encode() in p.stderr, p
    time.sleep(0.2)
    assert peer.sessions == []


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--as-login-helper":
    helper_main(sys.argv[2:])
