"""Fixtures for the webttyd / webtty integration tests.

Binaries: $WEBTTYD and $WEBTTY, default $BUILDDIR/webttyd/webttyd and
$BUILDDIR/helper/webtty with BUILDDIR defaulting to the top of this source tree.
When a binary is missing and was not named explicitly in the environment, the tests
that need it are skipped; when it was named explicitly, they fail.

The test process makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
every process the daemon leaves behind is re-parented to it and the daemon fixture can
prove that no session process survived its session.
"""

import ctypes
import errno
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import time

import pytest

import wtproto as wp

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDDIR = os.environ.get("BUILDDIR") or os.path.dirname(os.path.dirname(HERE))
WEBTTYD = os.environ.get("WEBTTYD") or os.path.join(BUILDDIR, "webttyd", "webttyd")
WEBTTY = os.environ.get("WEBTTY") or os.path.join(BUILDDIR, "helper", "webtty")

DEFAULT_TEST_TIMEOUT = float(os.environ.get("WT_TEST_TIMEOUT", "60"))
TOKEN = "s3cret-Token_for-tests"

# pids started directly by the tests (client processes) that the orphan check must ignore
KNOWN_CHILDREN = set()


def _require(path, envname):
    if os.access(path, os.X_OK):
        return path
    if os.environ.get(envname):
        pytest.fail("%s=%s is not an executable file" % (envname, path))
    pytest.skip("%s not built (%s)" % (envname, path))


# ---------------------------------------------------------------------------
# pytest hooks: subreaper, per-test timeout
# ---------------------------------------------------------------------------


def pytest_configure(config):
    config.addinivalue_line("markers", "wt_timeout(seconds): per-test time limit (SIGALRM)")
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except OSError:
        pass


class TestTimeout(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    mark = item.get_closest_marker("wt_timeout")
    limit = float(mark.args[0]) if mark else DEFAULT_TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise TestTimeout("test exceeded its %.0f s time limit" % limit)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------
# /proc helpers
# ---------------------------------------------------------------------------


def proc_stat(pid):
    """(state, ppid, pgrp, session) of a process, or None if it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = s[s.rindex(")") + 2 :].split()
    return rest[0], int(rest[1]), int(rest[2]), int(rest[3])


def all_pids():
    out = []
    for n in os.listdir("/proc"):
        if n.isdigit():
            out.append(int(n))
    return out


def children_map():
    m = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st:
            m.setdefault(st[1], []).append(pid)
    return m


def descendants(pid):
    m = children_map()
    out = []
    todo = list(m.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(m.get(p, []))
    return out


def reap_if_ours(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def pid_alive(pid):
    """True if pid exists and is not a zombie (a zombie re-parented to us is reaped)."""
    st = proc_stat(pid)
    if st is None:
        return False
    if st[0] == "Z":
        if st[1] == os.getpid():
            reap_if_ours(pid)
        return False
    return True


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def sanitized(path):
    """Whether a binary or module was built with AddressSanitizer (the ASan pass of
    tests/run-all.sh); False when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise RuntimeError("no VmRSS")


def orphans(exclude=()):
    """Processes re-parented to the test process that we did not start ourselves."""
    me = os.getpid()
    out = []
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[1] == me and pid not in KNOWN_CHILDREN and pid not in exclude:
            if st[0] == "Z":
                reap_if_ours(pid)
                continue
            out.append(pid)
    return out


def wait_until(pred, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------------

LISTEN_RE = re.compile(r"listening on (\S+)")


class Daemon:
    def __init__(self, argv, env, workdir, token):
        self.argv = argv
        self.env = env
        self.dir = workdir
        self.token = token
        self.errpath = os.path.join(workdir, "stderr.log")
        self.outpath = os.path.join(workdir, "stdout.log")
        self.clients = []
        self.urls = []
        self.stopped = False
        self.exit_code = None
        with open(self.errpath, "wb") as err, open(self.outpath, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=env, cwd=workdir, start_new_session=True)
        self.pid = self.proc.pid

    # -- logs ------------------------------------------------------------
    def stderr(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_log(self, text, timeout=3.0, regex=False):
        """Wait until the daemon's stderr contains text (or matches regex); returns the log."""
        def found():
            s = self.stderr()
            if regex:
                return re.search(text, s) is not None
            return text in s
        wait_until(found, timeout)
        return self.stderr()

    def assert_log(self, text, timeout=3.0):
        log = self.wait_log(text, timeout)
        assert text in log, "daemon stderr lacks %r; it was:\n%s" % (text, log[-4000:])

    def wait_ready(self, n_listeners, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            log = self.stderr()
            urls = LISTEN_RE.findall(log)
            if len(urls) >= n_listeners and re.search(r"\bready\b", log):
                self.urls = urls
                return
            if self.proc.poll() is not None:
                raise AssertionError("webttyd exited with %r before ready; stderr:\n%s" % (self.proc.returncode, log))
            if time.monotonic() >= deadline:
                raise AssertionError("webttyd not ready after %.0fs (want %d listening lines + ready); stderr:\n%s"
                                     % (timeout, n_listeners, log))
            time.sleep(0.01)

    # -- endpoints --------------------------------------------------------
    def url(self, scheme):
        for u in self.urls:
            if u.startswith(scheme + ":"):
                return u
        raise AssertionError("no %s listener in %r" % (scheme, self.urls))

    def addr(self, scheme):
        u = self.url(scheme)
        m = re.match(r"^[a-z]+://([^/:]+|\[[^\]]+\]):(\d+)", u)
        assert m, "cannot parse listener URL %r" % u
        return m.group(1).strip("[]"), int(m.group(2))

    def unix_path(self):
        return self.url("unix")[len("unix:"):]

    def client_url(self, kind):
        """URL for `webtty exec --url`."""
        if kind == "ws":
            return self.url("ws")
        if kind == "tcp":
            return self.url("tcp")
        if kind == "unix":
            return self.url("unix")
        raise ValueError(kind)

    def connect(self, kind="ws", path="/", token="default", **kw):
        if kind == "ws":
            host, port = self.addr("ws")
            if token == "default":
                token = self.token
            c = wp.WSClient(host, port, path=path, token=token, **kw)
        elif kind == "tcp":
            host, port = self.addr("tcp")
            c = wp.PlainClient(host, port, **kw)
        elif kind == "unix":
            c = wp.PlainClient(unix=self.unix_path(), **kw)
        else:
            raise ValueError(kind)
        self.clients.append(c)
        return c

    # -- lifecycle --------------------------------------------------------
    def terminate(self, timeout=10.0):
        """SIGTERM and wait; returns the exit status."""
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_group()
            raise AssertionError("webttyd did not exit within %.0fs of SIGTERM; stderr:\n%s"
                                 % (timeout, self.stderr()[-4000:]))
        return self.exit_code

    def _kill_group(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def teardown(self):
        problems = []
        for c in self.clients:
            c.abort()
        if self.proc.poll() is not None and not self.stopped:
            problems.append("webttyd died during the test with status %r" % self.proc.returncode)
        live = []
        if self.proc.poll() is None:
            # Give the daemon time to kill and reap sessions of the closed connections.
            wait_until(lambda: not descendants(self.pid), 3.0)
            live = descendants(self.pid)
            if live:
                problems.append("session processes still present 3 s after every client disconnected: %s"
                                % ["%d(%s,%s)" % (p, (proc_stat(p) or "?")[0], cmdline(p)) for p in live])
            self.stopped = True
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(8)
                if rc != 0:
                    problems.append("webttyd exited with status %r after SIGTERM" % rc)
            except subprocess.TimeoutExpired:
                problems.append("webttyd ignored SIGTERM for 8 s")
                self._kill_group()
        # Anything re-parented to us (we are a subreaper) outlived the daemon.
        wait_until(lambda: not orphans(), 2.0)
        left = orphans()
        if left:
            problems.append("processes left behind: %s" % ["%d(%s)" % (p, cmdline(p)) for p in left])
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            wait_until(lambda: not orphans(), 2.0)
        for p in live:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if problems:
            log = self.stderr()
            raise AssertionError("; ".join(problems) + "\n--- webttyd stderr (tail) ---\n" + log[-3000:])


class DaemonFactory:
    """start(...) runs a webttyd with unique listeners and waits for it to be ready."""

    def __init__(self):
        self.daemons = []
        self.dirs = []

    def mkdir(self):
        d = tempfile.mkdtemp(prefix="wt-", dir="/tmp")
        os.chmod(d, 0o755)
        self.dirs.append(d)
        return d

    def start(self, listen=("ws", "tcp", "unix"), token=TOKEN, allow_unauth=None, args=(),
              env=None, extra_env=None, log_level="info", heartbeat=None, ready=True,
              token_via="file"):
        """listen: listener specs; 'ws', 'tcp', 'unix' expand to unique loopback/unix
        addresses, anything else is passed verbatim. allow_unauth defaults to True when
        a tcp listener is requested."""
        exe = _require(WEBTTYD, "WEBTTYD")
        d = self.mkdir()
        argv = [exe]
        n = 0
        for spec in listen:
            if spec == "ws":
                spec = "ws://127.0.0.1:0/"
            elif spec == "tcp":
                spec = "tcp://127.0.0.1:0"
            elif spec == "unix":
                spec = "unix:" + os.path.join(d, "wt.sock")
            argv += ["--listen", spec]
            n += 1
        if allow_unauth is None:
            allow_unauth = any(s == "tcp" or str(s).startswith("tcp://") for s in listen)
        if allow_unauth:
            argv.append("--allow-unauthenticated")
        base_env = dict(env if env is not None else _daemon_env())
        if extra_env:
            base_env.update(extra_env)
        if token is not None:
            if token_via == "file":
                tf = os.path.join(d, "token")
                with open(tf, "w") as f:
                    f.write(token + "\n")
                os.chmod(tf, 0o600)
                argv += ["--auth-token-file", tf]
            else:
                base_env["RSTREAM_WEBTTY_AUTH_TOKEN"] = token
        if heartbeat is not None:
            argv += ["--heartbeat-interval", str(heartbeat)]
        if log_level:
            argv += ["--log-level", log_level]
        argv += list(args)
        dm = Daemon(argv, base_env, d, token)
        self.daemons.append(dm)
        if ready:
            dm.wait_ready(n or 1)
        return dm

    def run_fail(self, argv_tail, env=None, timeout=10.0):
        """Run webttyd expecting it to exit by itself; returns (status, stderr)."""
        exe = _require(WEBTTYD, "WEBTTYD")
        d = self.mkdir()
        try:
            p = subprocess.run([exe] + list(argv_tail), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env if env is not None else _daemon_env(),
                               cwd=d, timeout=timeout, start_new_session=True)
        except subprocess.TimeoutExpired:
            pytest.fail("webttyd %r did not exit within %.0fs" % (argv_tail, timeout))
        return p.returncode, p.stderr.decode(errors="replace")

    def teardown(self):
        errors = []
        for dm in self.daemons:
            try:
                dm.teardown()
            except AssertionError as e:
                errors.append(str(e))
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


def _daemon_env():
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "wt_rep_" + rep.when, rep)


@pytest.fixture
def webttyd(request):
    f = DaemonFactory()
    try:
        yield f
    finally:
        rep = getattr(request.node, "wt_rep_call", None)
        if rep is not None and rep.failed:
            for dm in f.daemons:
                print("--- webttyd %d stderr (tail) ---\n%s" % (dm.pid, dm.stderr()[-6000:]))
        f.teardown()


@pytest.fixture
def daemon(webttyd):
    """A daemon with a token-protected WebSocket listener, an unauthenticated tcp://
    plain listener and a unix: plain listener."""
    return webttyd.start()


@pytest.fixture(params=["ws", "unix", "tcp"])
def kind(request):
    return request.param


@pytest.fixture
def webtty_bin():
    return _require(WEBTTY, "WEBTTY")


# ---------------------------------------------------------------------------
# Session helpers
# ---------------------------------------------------------------------------


def run_session(conn, open_bytes, stdin_msgs=(), timeout=15.0, fragment=None):
    """Open a session, send the given client messages, and collect until it ends."""
    conn.send(open_bytes, fragment=fragment)
    for m in stdin_msgs:
        conn.send(m, fragment=fragment)
    return wp.collect(conn, timeout=timeout)


def expect_ack(conn, timeout=5.0):
    m = conn.recv(timeout)
    assert getattr(m, "kind", None) == "ack", "expected Ack, got %r" % (m,)
    return m


def expect_silent_end(conn, timeout=5.0):
    """The server must end the transport without sending any WebTTY message. Returns
    the Ended and the list of messages seen (which must be empty)."""
    msgs = []
    deadline = time.monotonic() + timeout
    while True:
        m = conn.recv(max(0.01, deadline - time.monotonic()))
        if isinstance(m, wp.Ended):
            return m, msgs
        msgs.append(m)
        assert m.kind in ("heartbeat",), "server sent %r while it should close silently" % (m,)


def read_until_end(conn, timeout=5.0):
    """Read and return (messages, Ended) until the transport ends."""
    msgs = []
    deadline = time.monotonic() + timeout
    while True:
        m = conn.recv(max(0.01, deadline - time.monotonic()))
        if isinstance(m, wp.Ended):
            return msgs, m
        msgs.append(m)


def run_webtty(args, input=None, timeout=30.0, env=None, stdin=None):
    exe = _require(WEBTTY, "WEBTTY")
    e = dict(os.environ)
    if env:
        e.update(env)
    try:
        return subprocess.run([exe] + list(args), input=input,
                              stdin=stdin if input is None else None,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=timeout)
    except subprocess.TimeoutExpired as ex:
        pytest.fail("webtty %r timed out after %.0fs; stderr=%r" % (args, timeout, ex.stderr))


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyProcess:
    """Run a program with a fresh pseudo-terminal as its controlling terminal
    (stdin/stdout on the terminal, stderr to a pipe)."""

    def __init__(self, argv, rows=24, cols=80, env=None, raw=True):
        import tty
        self.master, slave = os.openpty()
        set_winsize(slave, rows, cols)
        if raw:
            tty.setraw(slave)
        e = dict(os.environ)
        e.setdefault("TERM", "xterm")
        if env:
            e.update(env)

        def pre():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                     env=e, start_new_session=True, preexec_fn=pre)
        KNOWN_CHILDREN.add(self.proc.pid)
        os.close(slave)
        self.out = bytearray()
        self.err = bytearray()
        os.set_blocking(self.master, False)
        os.set_blocking(self.proc.stderr.fileno(), False)

    def resize(self, rows, cols):
        set_winsize(self.master, rows, cols)

    def write(self, b):
        os.write(self.master, b)

    def pump(self, timeout):
        """Read available output for up to timeout seconds; returns False once both the
        terminal and stderr reached EOF."""
        fds = []
        if self.master is not None:
            fds.append(self.master)
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            fds.append(self.proc.stderr.fileno())
        if not fds:
            return False
        r, _, _ = select.select(fds, [], [], timeout)
        for fd in r:
            try:
                b = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                b = b""
            if fd == self.master:
                if b:
                    self.out += b
                else:
                    os.close(self.master)
                    self.master = None
            else:
                if b:
                    self.err += b
                else:
                    self.proc.stderr.close()
        return True

    def done(self):
        return self.master is None and (self.proc.stderr is None or self.proc.stderr.closed)

    def run_until_exit(self, timeout, until=None):
        """Pump until the terminal and stderr reached EOF (the program exited) and return
        its exit status; or return None as soon as until(self) is true."""
        deadline = time.monotonic() + timeout
        while not self.done():
            if until is not None and until(self):
                return None
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError("program under pty did not finish in %.0fs; out=%r err=%r"
                                     % (timeout, bytes(self.out[-500:]), bytes(self.err[-500:])))
            self.pump(0.05)
        try:
            return self.proc.wait(max(0.5, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("program closed its terminal but did not exit")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self):
        self.kill()
        if self.master is not None:
            os.close(self.master)
            self.master = None
        if self.proc.stderr and not self.proc.stderr.closed:
            self.proc.stderr.close()


def session(conn, cmd, stdin=None, eos=True, tty=False, resize=None, timeout=15.0, fragment=None,
            **open_kw):
    """Run one session the way the reference client does: send Open, wait for the first
    reply; after an Ack send the optional resize, stdin bytes (in 32 KiB messages) and a
    stdin eos, then collect everything until the session ends."""
    res = wp.Result()
    conn.send(wp.open_msg(cmd, tty=tty, **open_kw), fragment=fragment)
    first = conn.recv(timeout)
    if isinstance(first, wp.Ended):
        res.ended = first
        return res
    res.msgs.append(first)
    if first.kind != "ack":
        if first.kind == "error":
            res.error = first.msg
        elif first.kind == "close":
            res.close_code = first.code
        return wp.collect(conn, timeout=timeout, result=res)
    res.acked = True
    if resize is not None:
        conn.send(wp.resize(*resize))
    if stdin:
        for i in range(0, len(stdin), 32768):
            conn.send(wp.stdin(stdin[i : i + 32768]), fragment=fragment)
    if eos:
        conn.send(wp.stdin_eos(), fragment=fragment)
    return wp.collect(conn, timeout=timeout, result=res)


def assert_ws_finished(conn, res):
    """After a terminal message the WebSocket server sends close 1000 'finished'."""
    if isinstance(conn, wp.WSClient):
        assert res.ended is not None and res.ended.how == "wsclose", \
            "no WebSocket close frame after the terminal message: %r" % (res.ended,)
        assert (res.ended.code, res.ended.reason) == (1000, "finished"), res.ended
