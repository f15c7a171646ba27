"""Process lifecycle: the whole process group is killed when the client goes away,
graceful SIGTERM drain (SIGINT/SIGHUP to sessions, refusal of new connections,
SIGKILL after --shutdown-timeout, exit 0)."""

import os
import signal
import time

import pytest

import wtproto as wp
from conftest import pid_alive, proc_stat, session, wait_until

SH = "/bin/sh"


def _read_line(conn, timeout=5.0, res=None):
    """Read messages until a full output line arrived (recorded in res if given)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        m = conn.recv(max(0.01, deadline - time.monotonic()))
        assert not isinstance(m, wp.Ended), "ended before a line arrived: %r (got %r)" % (m, buf)
        if res is not None:
            res.msgs.append(m)
        if m.kind == "data" and m.payload:
            buf += m.payload
            if res is not None:
                (res.stdout if m.dtype == wp.STDOUT else res.stderr).extend(m.payload)
    return buf


def _start_with_grandchild(conn, tty):
    """Start `sh -c 'sleep 100 & echo $!; wait'`; returns (sh pid, sleep pid)."""
    conn.send(wp.open_msg([SH, "-c", "echo $$; sleep 100 & echo $!; wait"], tty=tty))
    m = conn.recv(5)
    assert m.kind == "ack", m
    buf = b""
    deadline = time.monotonic() + 5
    while buf.count(b"\n") < 2:
        m = conn.recv(max(0.01, deadline - time.monotonic()))
        assert not isinstance(m, wp.Ended), m
        if m.kind == "data" and m.payload:
            buf += m.payload
    lines = buf.replace(b"\r", b"").split(b"\n")
    sh_pid = int(lines[0])
    sleep_pid = int(lines[1])
    assert pid_alive(sh_pid) and pid_alive(sleep_pid)
    return sh_pid, sleep_pid


@pytest.mark.parametrize("how", ["abort", "close"])
@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "pty"])
@pytest.mark.parametrize("kind", ["ws", "unix"])
def test_disconnect_kills_process_group(daemon, kind, tty, how):
    c = daemon.connect(kind)
    sh_pid, sleep_pid = _start_with_grandchild(c, tty)
    if how == "abort":
        c.abort()
    else:
        c.close(1000, "done")
    gone = wait_until(lambda: not pid_alive(sh_pid) and not pid_alive(sleep_pid), 3.0)
    assert gone, "after disconnect: sh %d alive=%s, background sleep %d alive=%s" % (
        sh_pid, pid_alive(sh_pid), sleep_pid, pid_alive(sleep_pid))


def test_disconnect_kills_stopped_and_sigterm_ignoring_children(daemon):
    c = daemon.connect("unix")
    c.send(wp.open_msg([SH, "-c", "trap '' TERM INT HUP; sleep 100 & echo $!; wait; wait"]))
    assert c.recv(5).kind == "ack"
    pid = int(_read_line(c))
    os.kill(pid, signal.SIGSTOP)
    c.abort()
    assert wait_until(lambda: not pid_alive(pid), 3.0), "stopped grandchild %d survived" % pid


# ---------------------------------------------------------------------------
# graceful shutdown
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ws", "unix"])
def test_sigterm_pipe_session_gets_sigint(webttyd, kind):
    d = webttyd.start(args=["--shutdown-timeout", "5000"])
    c = d.connect(kind)
    c.send(wp.open_msg([SH, "-c", "trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 0.05; done"]))
    res = wp.Result()
    m = c.recv(5)
    assert m.kind == "ack", m
    res.msgs.append(m)
    assert _read_line(c, res=res).strip() == b"ready"
    t0 = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    d.stopped = True
    wp.collect(c, timeout=8, result=res)
    c.close()  # like the Go client: close as soon as the terminal record arrived
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 42, res
    assert b"got-int" in res.stdout
    assert d.proc.wait(8) == 0
    assert time.monotonic() - t0 < 4, "daemon waited for the shutdown timeout although the session ended"


def test_sigterm_pty_session_gets_sighup(webttyd):
    d = webttyd.start(args=["--shutdown-timeout", "5000"])
    c = d.connect("unix")
    c.send(wp.open_msg([SH, "-c", "trap 'exit 43' HUP; echo ready; while :; do sleep 0.05; done"], tty=True))
    res = wp.Result()
    m = c.recv(5)
    assert m.kind == "ack", m
    res.msgs.append(m)
    assert b"ready" in _read_line(c, res=res)
    d.proc.send_signal(signal.SIGTERM)
    d.stopped = True
    wp.collect(c, timeout=8, result=res)
    c.close()
    assert res.close_code == 43, res
    assert [k for k in res.kinds() if k != "heartbeat"][-1] == "close"
    assert d.proc.wait(8) == 0


def test_sigterm_drain_refuses_new_connections_then_kills(webttyd):
    d = webttyd.start(args=["--shutdown-timeout", "1500"])
    stubborn = d.connect("unix")
    stubborn.send(wp.open_msg([SH, "-c", "trap '' INT; echo $$; while :; do sleep 0.05; done"]))
    assert stubborn.recv(5).kind == "ack"
    pid = int(_read_line(stubborn))
    t0 = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    d.stopped = True
    time.sleep(0.3)
    assert pid_alive(pid), "SIGINT-ignoring child died before the shutdown timeout"
    # new WebSocket upgrade: 503
    host, port = d.addr("ws")
    try:
        c = wp.WSClient(host, port, token=d.token)
        c.abort()
        pytest.fail("WebSocket upgrade accepted while draining")
    except wp.HTTPStatusError as e:
        assert e.status == 503, e.status
    except (ConnectionRefusedError, ConnectionResetError, wp.HandshakeError):
        pytest.fail("while draining the WebSocket listener must answer 503, not drop the connection")
    # new plain connection: closed (or refused) without a session
    try:
        p = wp.PlainClient(unix=d.unix_path())
    except (ConnectionRefusedError, FileNotFoundError):
        p = None
    if p is not None:
        try:
            p.send(wp.open_msg(["echo", "should-not-run"]))
        except OSError:
            pass
        m = p.recv(3)
        assert isinstance(m, wp.Ended), "plain connection during drain got %r" % (m,)
        p.abort()
    # after the shutdown timeout the child is killed and the daemon exits 0
    msgs = []
    while True:
        m = stubborn.recv(5)
        if isinstance(m, wp.Ended):
            break
        msgs.append(m)
        if m.kind == "close":
            break
    closes = [m for m in msgs if m.kind == "close"]
    if closes:
        assert closes[0].code == -1, closes
    dt = time.monotonic() - t0
    assert d.proc.wait(5) == 0
    assert 1.3 <= dt <= 4.0, "session ended %.2fs after SIGTERM with a 1500 ms shutdown timeout" % dt
    assert not pid_alive(pid)


def test_sigterm_idle_daemon_exits_quickly(webttyd):
    d = webttyd.start()
    t0 = time.monotonic()
    assert d.terminate(5) == 0
    assert time.monotonic() - t0 < 1.5


def test_sigint_also_stops(webttyd):
    d = webttyd.start()
    d.proc.send_signal(signal.SIGINT)
    d.stopped = True
    assert d.proc.wait(5) == 0


def test_daemon_reaps_children(daemon):
    """After many short sessions, the daemon has no zombie children."""
    for i in range(10):
        res = session(daemon.connect("unix"), ["true"])
        assert res.close_code == 0
    time.sleep(0.2)
    kids = [p for p in os.listdir("/proc") if p.isdigit() and (proc_stat(int(p)) or (0, 0))[1] == daemon.pid]
    assert not kids, "daemon still has children: %r" % [(k, proc_stat(int(k))) for k in kids]
