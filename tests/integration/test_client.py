"""`webtty exec` against a real webttyd (every URL form, pipes and -t under a
pseudo-terminal) and against a scripted fake server (exit-status mapping, error texts,
what the client puts on the wire)."""

import hashlib
import os
import re
import socket
import subprocess
import threading
import time

import pytest

import wtproto as wp
from conftest import PtyProcess, TOKEN, run_webtty

SH = "/bin/sh"
TEN_MIB = 10 * 1024 * 1024


@pytest.fixture
def d(webttyd, webtty_bin):
    return webttyd.start()


def url_args(dm, kind, token=True):
    a = ["exec", "--url", dm.client_url(kind)]
    if kind == "ws" and token:
        a += ["--auth-token-file", os.path.join(dm.dir, "token")]
    return a


def wexec(dm, kind, cmd, opts=(), **kw):
    return run_webtty(url_args(dm, kind) + list(opts) + ["--"] + list(cmd), **kw)


# ---------------------------------------------------------------------------
# real daemon, pipes
# ---------------------------------------------------------------------------


def test_exec_cat_echo(d, kind):
    p = wexec(d, kind, ["cat"], input=b"hello\nworld\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello\nworld\n"
    assert p.stderr == b""


def test_exec_empty_stdin(d):
    p = wexec(d, "ws", ["cat"], stdin=subprocess.DEVNULL)
    assert (p.returncode, p.stdout) == (0, b""), p.stderr


def test_exec_stdout_stderr_separate(d, kind):
    p = wexec(d, kind, [SH, "-c", "echo out; echo err >&2"], input=b"")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"out\n"
    assert p.stderr == b"err\n"


@pytest.mark.parametrize("script,status", [("exit 0", 0), ("exit 7", 7), ("exit 255", 255),
                                           ("kill -9 $$", 1), ("kill -15 $$", 1)])
def test_exec_exit_status(d, script, status):
    p = wexec(d, "ws", [SH, "-c", script], input=b"")
    assert p.returncode == status, (p.returncode, p.stderr)


@pytest.mark.wt_timeout(90)
@pytest.mark.parametrize("kind", ["ws", "unix"])
def test_exec_10mib_output(d, kind):
    blob = os.urandom(TEN_MIB)
    path = os.path.join(d.dir, "big.bin")
    with open(path, "wb") as f:
        f.write(blob)
    p = wexec(d, kind, ["cat", path], input=b"", timeout=60)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) == TEN_MIB
    assert hashlib.sha256(p.stdout).digest() == hashlib.sha256(blob).digest()


@pytest.mark.wt_timeout(90)
@pytest.mark.parametrize("kind", ["ws", "tcp"])
def test_exec_10mib_stdin(d, kind):
    blob = os.urandom(TEN_MIB)
    p = wexec(d, kind, ["sha256sum"], input=blob, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[0].decode() == hashlib.sha256(blob).hexdigest()


@pytest.mark.wt_timeout(90)
def test_exec_10mib_echo_through_cat(d):
    blob = os.urandom(TEN_MIB)
    p = wexec(d, "ws", ["cat"], input=blob, timeout=60)
    assert p.returncode == 0, p.stderr
    assert hashlib.sha256(p.stdout).digest() == hashlib.sha256(blob).digest()


def test_exec_env_and_workdir(d):
    wd = d.dir
    p = wexec(d, "ws", [SH, "-c", 'echo "A=$WT_A"; echo "B=${WT_B-unset}"; echo "C=$WT_COPY"; '
                                  'echo "D=${WT_NOTSET-unset}"; pwd'],
              opts=["-e", "WT_A=1 2=3", "-e", "WT_B=", "--env", "WT_COPY", "-e", "WT_NOTSET", "-w", wd],
              input=b"", env={"WT_COPY": "copied from client"})
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "A=1 2=3"
    assert lines[2] == "C=copied from client"
    assert lines[3] == "D=unset"
    assert lines[4] == os.path.realpath(wd)


def test_exec_no_term_without_tty(d):
    p = wexec(d, "unix", [SH, "-c", 'echo "T=${TERM-unset}"'], input=b"", env={"TERM": "xterm-wt"})
    assert p.stdout == b"T=unset\n", p.stdout


def test_exec_unknown_command(d, kind):
    url = d.client_url(kind)
    p = wexec(d, kind, ["nope-xyz"], input=b"")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert err.startswith('webtty: %s: server error: executable "nope-xyz" not found: ' % url), err
    assert p.stdout == b""


def test_exec_wrong_token_401(d, tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("wrong-token\n")
    url = d.client_url("ws")
    p = run_webtty(["exec", "--url", url, "--auth-token-file", str(bad), "--", "true"], input=b"")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert err.startswith("webtty: %s: " % url), err
    assert "401" in err, err


def test_exec_missing_token_401(d):
    url = d.client_url("ws")
    p = run_webtty(["exec", "--url", url, "--", "true"], input=b"",
                   env={"RSTREAM_WEBTTY_AUTH_TOKEN": ""})
    assert p.returncode == 1
    assert "401" in p.stderr.decode(), p.stderr


def test_exec_token_from_environment(d):
    p = run_webtty(["exec", "--url", d.client_url("ws"), "--", "echo", "env-token"], input=b"",
                   env={"RSTREAM_WEBTTY_AUTH_TOKEN": TOKEN})
    assert (p.returncode, p.stdout) == (0, b"env-token\n"), p.stderr


def test_exec_ws_url_with_path(d):
    host, port = d.addr("ws")
    for url in ("ws://%s:%d" % (host, port), "ws://%s:%d/webtty" % (host, port)):
        p = run_webtty(["exec", "--url", url, "--auth-token-file", os.path.join(d.dir, "token"), "--",
                        "echo", url], input=b"")
        assert (p.returncode, p.stdout) == (0, (url + "\n").encode()), p.stderr


def test_exec_connection_refused(webtty_bin):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    for url in ("ws://127.0.0.1:%d/" % port, "tcp://127.0.0.1:%d" % port, "unix:/nonexistent/wt.sock"):
        p = run_webtty(["exec", "--url", url, "--", "true"], input=b"", timeout=15)
        assert p.returncode == 1, (url, p.returncode)
        assert p.stderr.decode().startswith("webtty: %s: " % url), p.stderr


def test_exec_bad_usage(webtty_bin):
    for args in (["exec"], ["exec", "--url", "ftp://x", "--", "true"], ["exec", "--url", "unix:/x"]):
        p = run_webtty(args, input=b"")
        assert p.returncode != 0, args
        assert p.stderr.strip(), args


def test_exec_user_own_account(d):
    import pwd
    me = pwd.getpwuid(os.getuid())
    p = wexec(d, "unix", ["id", "-un"], opts=["--user", me.pw_name], input=b"")
    assert (p.returncode, p.stdout.strip()) == (0, me.pw_name.encode()), p.stderr


# ---------------------------------------------------------------------------
# real daemon, -t under a local pseudo-terminal
# ---------------------------------------------------------------------------


def pty_exec(dm, kind, cmd, opts=(), rows=24, cols=80, env=None):
    from conftest import WEBTTY
    argv = [WEBTTY] + url_args(dm, kind) + ["-t"] + list(opts) + ["--"] + list(cmd)
    return PtyProcess(argv, rows=rows, cols=cols, env=env)


@pytest.mark.parametrize("kind", ["ws", "unix"])
def test_exec_tty_basic(d, kind):
    p = pty_exec(d, kind, [SH, "-c", "tty; echo T=$TERM; exit 5"], env={"TERM": "xterm-wt-test"})
    try:
        rc = p.run_until_exit(15)
    finally:
        p.close()
    assert rc == 5, (rc, bytes(p.out), bytes(p.err))
    out = bytes(p.out)
    assert re.search(rb"/dev/pts/\d+\r\n", out), out
    assert b"T=xterm-wt-test\r\n" in out, out


def test_exec_tty_size_follows_local_terminal(d):
    p = pty_exec(d, "ws", [SH, "-c", "stty size; sleep 1.5; stty size"], rows=40, cols=120)
    try:
        p.run_until_exit(10, until=lambda pp: b"40 120" in pp.out)
        assert b"40 120\r\n" in p.out, (bytes(p.out), bytes(p.err))
        p.resize(50, 100)
        rc = p.run_until_exit(10)
    finally:
        p.close()
    assert rc == 0, (rc, bytes(p.err))
    assert b"50 100\r\n" in p.out, bytes(p.out)


def test_exec_tty_interactive_stdin(d):
    p = pty_exec(d, "unix", [SH, "-c", "read line; echo got:$line"], opts=["-i"])
    try:
        time.sleep(0.5)
        p.write(b"typed\r")
        rc = p.run_until_exit(10)
    finally:
        p.close()
    assert rc == 0, (rc, bytes(p.out), bytes(p.err))
    assert b"got:typed" in p.out, bytes(p.out)


@pytest.mark.wt_timeout(90)
def test_exec_tty_10mib_intact(d):
    blob = os.urandom(TEN_MIB)
    path = os.path.join(d.dir, "big-tty.bin")
    with open(path, "wb") as f:
        f.write(blob)
    p = pty_exec(d, "ws", [SH, "-c", "stty raw -echo; cat " + path])
    try:
        rc = p.run_until_exit(60)
    finally:
        p.close()
    assert rc == 0, (rc, bytes(p.err))
    assert len(p.out) == TEN_MIB, "got %d bytes (stderr %r)" % (len(p.out), bytes(p.err[-300:]))
    assert hashlib.sha256(p.out).digest() == hashlib.sha256(blob).digest()


def test_exec_tty_requires_terminal(d):
    p = wexec(d, "ws", ["true"], opts=["-t"], input=b"")
    assert p.returncode == 1
    assert p.stderr.strip()


# ---------------------------------------------------------------------------
# fake server: client-side behaviour
# ---------------------------------------------------------------------------


class FakeServer:
    """A plain-transport WebTTY server on a unix socket that runs `script(conn, self)`
    for the first connection and records what the client sent."""

    def __init__(self, script):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="wt-fake-", dir="/tmp")
        self.path = os.path.join(self.dir, "fake.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.script = script
        self.received = []
        self.error = None
        self.ended = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "unix:" + self.path

    def recv(self, conn, timeout=5.0):
        m = conn.recv(timeout)
        if not isinstance(m, wp.Ended):
            self.received.append(m)
        else:
            self.ended = m
        return m

    def drain(self, conn, timeout=5.0):
        """Record messages until the client closes."""
        while True:
            m = self.recv(conn, timeout)
            if isinstance(m, wp.Ended):
                return

    def _run(self):
        self.sock.settimeout(20)
        try:
            s, _ = self.sock.accept()
        except OSError as e:
            self.error = e
            return
        conn = wp.PlainClient.from_socket(s)
        try:
            self.script(conn, self)
        except Exception as e:  # noqa: BLE001
            self.error = e
        finally:
            conn.close()

    def close(self):
        self.sock.close()
        self.thread.join(5)
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)

    def open_config(self):
        opens = [m for m in self.received if m.kind == "open"]
        assert opens, "client sent no Open: %r" % self.received
        return opens[0].config


def ack_then(*msgs, drain=True):
    def script(conn, fs):
        m = fs.recv(conn)
        assert m.kind == "open", m
        conn.send(wp.ack())
        for x in msgs:
            conn.send(x)
        if drain:
            fs.drain(conn)
    return script


def fake_exec(script, cmd=("true",), opts=(), input=b"", timeout=15):
    fs = FakeServer(script)
    try:
        p = run_webtty(["exec", "--url", fs.url] + list(opts) + ["--"] + list(cmd), input=input,
                       timeout=timeout)
        fs.thread.join(5)
    finally:
        fs.close()
    return p, fs


@pytest.mark.parametrize("code,status", [(0, 0), (1, 1), (42, 42), (255, 255), (256, 255), (300, 255),
                                         (-1, 1), (-5, 1), (2**31 - 1, 255), (-(2**31), 1)])
def test_client_exit_status_mapping(webtty_bin, code, status):
    p, fs = fake_exec(ack_then(wp.close(code)))
    assert p.returncode == status, (code, p.returncode, p.stderr)
    assert fs.error is None, fs.error


def test_client_output_and_eos(webtty_bin):
    p, fs = fake_exec(ack_then(wp.data(wp.STDOUT, b"to-out"), wp.data(wp.STDERR, b"to-err"),
                               wp.heartbeat(), wp.data(wp.STDOUT, eos=True),
                               wp.data(wp.STDERR, eos=True), wp.close(3)))
    assert (p.returncode, p.stdout, p.stderr) == (3, b"to-out", b"to-err")


def test_client_server_error_text(webtty_bin):
    url_holder = {}

    def script(conn, fs):
        fs.recv(conn)
        conn.send(wp.error("boom happened"))
        fs.drain(conn)

    p, fs = fake_exec(script)
    assert p.returncode == 1
    assert p.stderr.decode().strip() == "webtty: %s: server error: boom happened" % fs.url, p.stderr


def test_client_server_error_after_ack(webtty_bin):
    p, fs = fake_exec(ack_then(wp.data(wp.STDOUT, b"partial"), wp.error("later failure")))
    assert p.returncode == 1
    assert p.stdout == b"partial"
    assert "server error: later failure" in p.stderr.decode()


def test_client_protocol_error(webtty_bin):
    def script(conn, fs):
        fs.recv(conn)
        conn.send(wp.protocol_error(6, "WebTTY client signing key is not authorized"))
        fs.drain(conn)

    p, fs = fake_exec(script)
    assert p.returncode == 1
    assert "server error: WebTTY client signing key is not authorized" in p.stderr.decode(), p.stderr


def test_client_server_hello_means_e2e_required(webtty_bin):
    def script(conn, fs):
        conn.send(wp.f_msg(wp.F_SERVER_HELLO, wp.f_varint(1, 1)))
        fs.drain(conn)

    p, fs = fake_exec(script)
    assert p.returncode == 1
    assert ("WebTTY server requires authenticated E2E; configure a known server endpoint identity "
            "before opening the session") in p.stderr.decode(), p.stderr


@pytest.mark.parametrize("msg,text", [
    (wp.data(wp.STDIN, b"x"), "unexpected data stream type: TYPE_STDIN"),
    (wp.data(wp.STDOUT), "unexpected data payload type: <nil>"),
    (wp.ack(), "unexpected message"),
])
def test_client_fatal_messages(webtty_bin, msg, text):
    p, fs = fake_exec(ack_then(msg))
    assert p.returncode == 1
    assert text in p.stderr.decode(), p.stderr


def test_client_open_contents(webtty_bin):
    p, fs = fake_exec(ack_then(wp.close(0)), cmd=["prog", "a b", ""],
                      opts=["-e", "K1=v1", "-e", "K2=", "-w", " /some/dir ", "--user", "1234"])
    assert p.returncode == 0, p.stderr
    cfg = fs.open_config()
    assert cfg["cmd_args"] == ["prog", "a b", ""]
    assert cfg["env_vars"] == [("K1", "v1"), ("K2", "")]
    assert cfg["workdir"] == "/some/dir"
    assert cfg["username"] == 1234
    assert cfg["options"]["allocate_tty"] is False
    # Open is the first message and carries nothing else
    assert fs.received[0].kind == "open"


def test_client_username_by_name(webtty_bin):
    p, fs = fake_exec(ack_then(wp.close(0)), opts=["--user", "alice"])
    assert fs.open_config()["username"] == "alice"


def test_client_stdin_then_eos(webtty_bin):
    def script(conn, fs):
        fs.recv(conn)
        conn.send(wp.ack())
        got = b""
        while True:
            m = fs.recv(conn)
            assert not isinstance(m, wp.Ended), "client closed before eos"
            if m.kind == "data":
                assert m.dtype == wp.STDIN
                if m.eos:
                    break
                assert m.payload, "empty stdin Data"
                got += m.payload
        conn.send(wp.data(wp.STDOUT, got))
        conn.send(wp.close(0))
        fs.drain(conn)

    blob = os.urandom(200000)
    p, fs = fake_exec(script, input=blob)
    assert p.returncode == 0, p.stderr
    assert p.stdout == blob
    sizes = [len(m.payload) for m in fs.received if m.kind == "data" and m.payload]
    assert max(sizes) <= 1048576
    eos = [m for m in fs.received if m.kind == "data" and m.eos]
    assert len(eos) == 1


def test_client_stdin_eos_does_not_end_session(webtty_bin):
    """After sending eos the client keeps running until Close."""
    def script(conn, fs):
        fs.recv(conn)
        conn.send(wp.ack())
        while True:
            m = fs.recv(conn)
            if isinstance(m, wp.Ended) or (m.kind == "data" and m.eos):
                break
        time.sleep(0.5)
        conn.send(wp.data(wp.STDOUT, b"late output"))
        conn.send(wp.close(9))
        fs.drain(conn)

    p, fs = fake_exec(script, input=b"")
    assert (p.returncode, p.stdout) == (9, b"late output"), p.stderr


def test_client_open_timeout(webtty_bin):
    def script(conn, fs):
        fs.recv(conn)
        fs.drain(conn, timeout=10)

    t0 = time.monotonic()
    p, fs = fake_exec(script, opts=["--open-timeout", "1s"])
    dt = time.monotonic() - t0
    assert p.returncode == 1
    assert p.stderr.decode().startswith("webtty: %s: " % fs.url), p.stderr
    assert "timeout" in p.stderr.decode(), p.stderr
    assert dt < 5


def test_client_server_disappears(webtty_bin):
    def script(conn, fs):
        fs.recv(conn)
        conn.send(wp.ack())
        conn.send(wp.data(wp.STDOUT, b"bye"))
        # close without Close

    p, fs = fake_exec(script)
    assert p.returncode == 1
    assert p.stdout == b"bye"
    assert p.stderr.decode().startswith("webtty: %s: " % fs.url), p.stderr


def test_client_closes_after_close(webtty_bin):
    """The client closes the connection as soon as it consumed Close (plain transport)."""
    def script(conn, fs):
        fs.recv(conn)
        conn.send(wp.ack())
        conn.send(wp.close(0))
        t0 = time.monotonic()
        fs.drain(conn, timeout=5)
        fs.close_delay = time.monotonic() - t0

    p, fs = fake_exec(script, input=b"")
    assert p.returncode == 0
    assert fs.error is None, fs.error
    assert fs.close_delay < 2
