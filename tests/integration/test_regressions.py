"""Regressions found while building the daemon, each kept as a test."""
import time

import wtproto as wp

SH = "/bin/sh"


def test_pty_stdin_backpressure_buffers_instead_of_failing(daemon):
    """A PTY program that does not read: stdin fills the terminal's input queue, the
    daemon must buffer (and stop reading the peer), not fail. Once the program reads,
    everything arrives. (The stdin writer used to share the master fd with the output
    watcher and epoll refused the second registration.)"""
    c = daemon.connect("unix")
    # Whole lines: in canonical mode the terminal keeps at most 4095 bytes of an
    # unfinished line, so line-structured input is never dropped by the kernel.
    c.send(wp.open_msg([SH, "-c", "stty -echo; sleep 1; head -n 1000 | wc -c"], tty=True))
    assert c.recv(5).kind == "ack"
    blob = (b"x" * 199 + b"\n") * 1000
    for i in range(0, len(blob), 16384):
        c.send(wp.stdin(blob[i:i + 16384]))
    res = wp.collect(c, timeout=20)
    assert res.close_code == 0, res
    assert bytes(res.stdout).strip().endswith(b"200000"), bytes(res.stdout)[-200:]


def test_concurrent_spawns_do_not_confuse_the_loop(daemon):
    """Many sessions forked at once: a sibling's fork briefly holds the exec-report pipe,
    which must leave epoll before it is closed (sd-event aborted on the stale entry)."""
    conns = []
    for i in range(40):
        c = daemon.connect(("unix", "tcp", "ws")[i % 3])
        c.send(wp.open_msg([SH, "-c", "echo $0", str(i)]))
        conns.append(c)
    for i, c in enumerate(conns):
        res = wp.collect(c, timeout=20)
        assert res.close_code == 0, res
        assert bytes(res.stdout) == b"%d\n" % i
    assert daemon.proc.poll() is None


def test_exec_failure_reported_after_async_start(daemon):
    """The exec outcome arrives asynchronously: a chdir failure is still sent as Error
    and nothing runs."""
    c = daemon.connect("unix")
    c.send(wp.open_msg(["true"], workdir="/nonexistent-dir-xyz"))
    m = c.recv(5)
    assert m.kind == "error", m
    assert m.msg.startswith("chdir /nonexistent-dir-xyz: no such file or directory"), m.msg


def test_ws_close_frame_waits_for_queued_output(daemon):
    """The child finishes while output is still queued for a slow client: the rest of
    the output, eos and Close must arrive, and only then the close frame. (wslay sends
    control frames ahead of queued data; the close frame used to overtake the output.)"""
    c = daemon.connect("ws")
    c.send(wp.open_msg(["head", "-c", str(4 * 1024 * 1024), "/dev/zero"]))
    res = wp.Result()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = c.recv(10)
        if isinstance(m, wp.Ended):
            res.ended = m
            break
        res.msgs.append(m)
        if m.kind == "data" and m.payload:
            res.stdout += m.payload
        if m.kind == "close":
            res.close_code = m.code
            break
        time.sleep(0.02)  # a slow reader keeps the server's socket and queue full
    assert res.close_code == 0, res
    assert len(res.stdout) == 4 * 1024 * 1024
    assert [m.kind for m in res.msgs].count("close") == 1
