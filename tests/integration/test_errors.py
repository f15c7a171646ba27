"""Protocol error paths (webtty-protocol.md sections 4.1, 4.4-4.6, 4.8, 4.9): which
ones answer with an Error message and which ones close silently, with the exact texts
(sent, or logged on the daemon's stderr)."""

import struct
import time

import pytest

import wtproto as wp
from conftest import assert_ws_finished, expect_silent_end, pid_alive, read_until_end, wait_until

SH = "/bin/sh"


@pytest.fixture(params=["ws", "unix"])
def wkind(request):
    return request.param


# After a fatal error the plain transport has no close frame: the daemon waits up to
# the close deadline for the peer to close (section 2.3/4.8), so keep it short here.
CLOSE_TIMEOUT = ["--close-timeout", "500"]


@pytest.fixture
def daemon(webttyd):
    return webttyd.start(args=CLOSE_TIMEOUT)


def assert_silent_close(conn, timeout=5.0):
    """The server closes the transport without any WebTTY message; WebSocket: with a
    close frame (1000 'finished')."""
    ended, msgs = expect_silent_end(conn, timeout)
    if isinstance(conn, wp.WSClient):
        assert ended.how == "wsclose", "expected a WebSocket close frame, got %r" % (ended,)
        assert (ended.code, ended.reason) == (1000, "finished"), ended
    else:
        assert ended.how in ("eof", "reset"), ended
    return ended


def open_running(conn, cmd, tty=False):
    conn.send(wp.open_msg(cmd, tty=tty))
    m = conn.recv(5)
    assert m.kind == "ack", m
    return m


# ---------------------------------------------------------------------------
# Open failures answered with Error
# ---------------------------------------------------------------------------


def test_open_without_config(daemon, wkind):
    c = daemon.connect(wkind)
    c.send(wp.open_msg(with_config=False))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error == "missing open config"
    assert_ws_finished(c, res)
    if wkind == "unix":
        c.close()


def test_attach_refused(daemon, wkind):
    c = daemon.connect(wkind)
    c.send(wp.attach("0123456789abcdef01234567", "p1", role=1, transport=2))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error == ("managed WebTTY attach is handled by the rstream engine; "
                         "direct WebTTY servers accept only new Open sessions")
    assert_ws_finished(c, res)


def test_unknown_executable(daemon, wkind):
    c = daemon.connect(wkind)
    c.send(wp.open_msg(["nope-xyz", "arg"]))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error.startswith('executable "nope-xyz" not found: '), res.error
    assert_ws_finished(c, res)


def test_unknown_executable_absolute(daemon):
    c = daemon.connect("unix")
    c.send(wp.open_msg(["/nonexistent/bin/nope-xyz"]))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error.startswith('executable "/nonexistent/bin/nope-xyz" not found: '), res.error


def test_bad_workdir_is_error(daemon):
    c = daemon.connect("unix")
    c.send(wp.open_msg(["pwd"], workdir="/nonexistent-wt-dir"))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error


# ---------------------------------------------------------------------------
# fatal conditions: transport closed without a WebTTY message
# ---------------------------------------------------------------------------


def test_text_frame_before_open(daemon):
    c = daemon.connect("ws")
    c.send_text("hello")
    assert_silent_close(c)
    daemon.assert_log("unexpected message type: 1")


def test_text_frame_during_session_kills_child(daemon):
    c = daemon.connect("ws")
    c.send(wp.open_msg([SH, "-c", "echo $$; exec sleep 60"]))
    msgs = []
    pid = None
    while pid is None:
        m = c.recv(5)
        msgs.append(m)
        if m.kind == "data" and m.payload:
            pid = int(m.payload.strip())
    c.send_text("oops")
    ended, rest = expect_silent_end(c)
    assert ended.how == "wsclose" and ended.code == 1000, ended
    assert wait_until(lambda: not pid_alive(pid), 3), "child %d still alive" % pid
    daemon.assert_log("unexpected message type: 1")


@pytest.mark.parametrize("garbage", [b"\x0a\x05\x01", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                                     b"\x0b\x00", b"\x2a\x03\x12\x05a"], ids=["trunc-len", "bad-varint",
                                                                             "group", "nested-trunc"])
def test_garbage_protobuf(daemon, wkind, garbage):
    c = daemon.connect(wkind)
    c.send(garbage)
    assert_silent_close(c)
    daemon.assert_log("failed to unmarshal protobuf")


def test_empty_message(daemon, wkind):
    c = daemon.connect(wkind)
    c.send(b"")
    assert_silent_close(c)
    daemon.assert_log("unexpected message payload type: <nil>")


def test_only_unknown_fields_message(daemon, wkind):
    c = daemon.connect(wkind)
    c.send(wp.f_varint(99, 1))
    assert_silent_close(c)
    daemon.assert_log("unexpected message payload type: <nil>")


@pytest.mark.parametrize("msg", [wp.ack(), wp.close(0), wp.f_msg(9, b"")],
                         ids=["ack", "close", "server_hello"])
def test_server_only_messages_from_client(daemon, msg):
    c = daemon.connect("unix")
    c.send(msg)
    assert_silent_close(c)


def test_stdin_before_open(daemon, wkind):
    c = daemon.connect(wkind)
    c.send(wp.stdin(b"too early"))
    assert_silent_close(c)
    daemon.assert_log("no PTY and no stdin pipe")


def test_stdin_eos_before_open(daemon):
    c = daemon.connect("unix")
    c.send(wp.stdin_eos())
    assert_silent_close(c)
    daemon.assert_log("no PTY and no stdin pipe")


def test_resize_before_open(daemon):
    c = daemon.connect("unix")
    c.send(wp.resize(24, 80))
    assert_silent_close(c)
    daemon.assert_log("no PTY file descriptor")


def test_second_open(daemon, wkind):
    c = daemon.connect(wkind)
    c.send(wp.open_msg([SH, "-c", "echo $$; exec cat"]))
    m = c.recv(5)
    assert m.kind == "ack", m
    pid = None
    while pid is None:
        m = c.recv(5)
        assert m.kind in ("data", "heartbeat"), m
        if m.kind == "data" and m.payload:
            pid = int(m.payload.strip())
    c.send(wp.open_msg(["echo", "second"]))
    ended, msgs = expect_silent_end(c)
    assert not msgs
    assert wait_until(lambda: not pid_alive(pid), 3), "first session's child %d still alive" % pid
    daemon.assert_log("process already started")


def test_back_to_back_opens(daemon):
    c = daemon.connect("unix")
    c.send(wp.open_msg(["sleep", "5"]))
    c.send(wp.open_msg(["sleep", "5"]))
    msgs, ended = read_until_end(c, timeout=5)
    assert [m.kind for m in msgs if m.kind != "heartbeat"] in (["ack"], []), msgs
    daemon.assert_log("process already started")


def test_resize_on_pipe_session(daemon, wkind):
    c = daemon.connect(wkind)
    open_running(c, ["sleep", "30"])
    c.send(wp.resize(24, 80))
    assert_silent_close(c)
    daemon.assert_log("no PTY file descriptor")


@pytest.mark.parametrize("dtype,name", [(wp.STDOUT, "TYPE_STDOUT"), (wp.STDERR, "TYPE_STDERR")])
def test_client_sends_output_type(daemon, wkind, dtype, name):
    c = daemon.connect(wkind)
    open_running(c, ["cat"])
    c.send(wp.data(dtype, b"not allowed"))
    assert_silent_close(c)
    daemon.assert_log("unexpected data type: " + name)


def test_data_without_payload(daemon, wkind):
    c = daemon.connect(wkind)
    open_running(c, ["cat"])
    c.send(wp.data(wp.STDIN))
    assert_silent_close(c)
    daemon.assert_log("unexpected data payload type: <nil>")


def test_encrypted_stdin_without_e2e(daemon):
    c = daemon.connect("unix")
    open_running(c, ["cat"])
    c.send(wp.data(wp.STDIN, raw_payload=wp.f_msg(4, wp.f_bytes(1, b"\x00" * 32) + wp.f_varint(2, 16))))
    assert_silent_close(c)
    daemon.assert_log("encrypted WebTTY stdin payload requires a decrypt hook")


def test_empty_parameter_on_pty(daemon):
    c = daemon.connect("unix")
    open_running(c, ["sleep", "30"], tty=True)
    c.send(wp.parameter_empty())
    assert_silent_close(c)
    log = daemon.wait_log("parameter", timeout=3)
    assert any(t in log for t in ("unexpected parameter type: <nil>", "missing terminal size",
                                  "missing parameter")), log[-2000:]


def test_client_error_message(daemon, wkind):
    c = daemon.connect(wkind)
    open_running(c, ["sleep", "30"])
    c.send(wp.error("bye from client"))
    assert_silent_close(c)
    daemon.assert_log("client error (bye from client)")


def test_client_error_before_open(daemon):
    c = daemon.connect("unix")
    c.send(wp.error(""))
    assert_silent_close(c)
    daemon.assert_log("client error")


# ---------------------------------------------------------------------------
# message size limit
# ---------------------------------------------------------------------------

LIMIT = 4096


def _open_of_size(n):
    """An Open of exactly n serialized bytes (padding in an unknown Open field)."""
    base = wp.open_msg(["echo", "sized"])
    for pad in range(n):
        m = wp.open_msg(["echo", "sized"], extra=wp.f_bytes(15, b"p" * pad))
        if len(m) == n:
            return m
        if len(m) > n:
            break
    raise AssertionError("cannot build an Open of %d bytes (base %d)" % (n, len(base)))


@pytest.fixture
def small_limit(webttyd):
    return webttyd.start(args=["--max-message-size", str(LIMIT)] + CLOSE_TIMEOUT)


def test_message_at_limit_accepted(small_limit, wkind):
    c = small_limit.connect(wkind)
    msg = _open_of_size(LIMIT)
    assert len(msg) == LIMIT
    c.send(msg, fragment=1000 if wkind == "ws" else None)
    res = wp.collect(c, timeout=5)
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout) == b"sized\n"


def test_websocket_message_above_limit_1009(small_limit):
    c = small_limit.connect("ws")
    c.send(_open_of_size(LIMIT + 1))
    ended, msgs = expect_silent_end(c)
    assert ended.how == "wsclose" and ended.code == 1009, ended


def test_websocket_fragmented_message_above_limit_1009(small_limit):
    c = small_limit.connect("ws")
    msg = wp.open_msg(["echo"], extra=wp.f_bytes(15, b"p" * (3 * LIMIT)))
    try:
        c.send(msg, fragment=1024)
    except OSError:
        pass
    ended, msgs = expect_silent_end(c)
    assert ended.how in ("wsclose", "eof", "reset"), ended
    if ended.how == "wsclose":
        assert ended.code == 1009, ended


def test_plain_message_above_limit_closed_after_header(small_limit):
    c = small_limit.connect("unix")
    c.send_raw(struct.pack(">I", 5000))  # header only; the body is never sent
    t0 = time.monotonic()
    # the failure is immediate (logged before any body byte arrives) ...
    small_limit.assert_log("plain WebTTY message size 5000 exceeds read limit %d" % LIMIT, timeout=1)
    # ... and the connection ends without a message (after the 500 ms close deadline)
    ended, msgs = expect_silent_end(c, timeout=5)
    assert ended.how in ("eof", "reset"), ended
    assert time.monotonic() - t0 < 2, "server waited for the body of an oversized frame"


def test_plain_huge_length_closed(daemon):
    c = daemon.connect("tcp")
    c.send_raw(b"\xff\xff\xff\xff")
    ended, msgs = expect_silent_end(c, timeout=5)
    assert ended.how in ("eof", "reset"), ended
    daemon.assert_log("plain WebTTY message size 4294967295 exceeds read limit 1048576")


def test_default_limit_1mib(daemon, wkind):
    c = daemon.connect(wkind)
    open_running(c, ["cat"])
    try:
        c.send(wp.stdin(b"x" * (1048576 + 10)))
    except OSError:
        pass
    ended, msgs = expect_silent_end(c, timeout=5)
    if wkind == "ws":
        assert ended.how == "wsclose" and ended.code == 1009, ended


# ---------------------------------------------------------------------------
# open deadline
# ---------------------------------------------------------------------------


def test_open_deadline(webttyd, wkind):
    d = webttyd.start(args=["--open-timeout", "300"] + CLOSE_TIMEOUT)
    c = d.connect(wkind)
    t0 = time.monotonic()
    # heartbeats before Open do not extend the deadline
    c.send(wp.heartbeat())
    time.sleep(0.1)
    c.send(wp.heartbeat())
    ended = assert_silent_close(c, timeout=5)
    dt = time.monotonic() - t0
    assert 0.25 <= dt <= 2.5, "open deadline of 300 ms fired after %.3fs" % dt
    d.assert_log("operation timeout")
    if wkind == "ws":
        assert (ended.code, ended.reason) == (1000, "finished")


def test_open_deadline_not_applied_after_ack(webttyd):
    d = webttyd.start(args=["--open-timeout", "300"])
    c = d.connect("unix")
    c.send(wp.open_msg(["sleep", "0.8"]))
    res = wp.collect(c, timeout=5)
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 0
