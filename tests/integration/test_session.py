"""Successful sessions against a real webttyd, over every transport: Ack before output,
Data stdout/stderr, eos once per stream before Close, exit codes, PTY and pipe modes,
environment, working directory, heartbeats, large transfers, WebSocket details."""

import hashlib
import os
import pwd
import re
import threading
import time

import pytest

import wtproto as wp
from conftest import assert_ws_finished, session

SH = "/bin/sh"


# ---------------------------------------------------------------------------
# exit codes, streams, ordering
# ---------------------------------------------------------------------------


def test_exit_zero_stdout_stderr(daemon, kind):
    c = daemon.connect(kind)
    res = session(c, [SH, "-c", "echo out; echo err >&2"])
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 0
    assert bytes(res.stdout) == b"out\n"
    assert bytes(res.stderr) == b"err\n"
    assert_ws_finished(c, res)


def test_exit_code_7(daemon, kind):
    c = daemon.connect(kind)
    res = session(c, [SH, "-c", "echo seven; exit 7"])
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 7
    assert bytes(res.stdout) == b"seven\n"
    assert_ws_finished(c, res)


def test_exit_code_255(daemon):
    res = session(daemon.connect("unix"), [SH, "-c", "exit 255"])
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 255


def test_signal_death_is_minus_one(daemon, kind):
    c = daemon.connect(kind)
    res = session(c, [SH, "-c", "kill -9 $$"])
    wp.check_well_formed(res, tty=False)
    assert res.close_code == -1
    # on the wire: Close{return_code: -1} is a 10-byte varint
    close = [m for m in res.msgs if m.kind == "close"][0]
    assert close.raw.hex() == "08ffffffffffffffffff01"


def test_close_zero_encodes_empty(daemon):
    c = daemon.connect("unix")
    res = session(c, ["true"])
    close = [m for m in res.msgs if m.kind == "close"][0]
    assert close.raw == b"", "Close{0} must be an empty sub-message (22 00), got %r" % close.raw


def test_eos_before_close_with_late_output(daemon, kind):
    """stderr closes early, stdout late; the child exits before stdout ends (a
    background writer keeps it open): Close only after both eos."""
    c = daemon.connect(kind)
    res = session(c, [SH, "-c", "exec 2>&-; (sleep 0.3; echo late) & exit 3"])
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 3
    assert bytes(res.stdout) == b"late\n"


def test_no_output_still_two_eos(daemon):
    res = session(daemon.connect("unix"), ["true"])
    wp.check_well_formed(res, tty=False)
    assert res.stdout == b"" and res.stderr == b""
    assert res.eos == {wp.STDOUT: 1, wp.STDERR: 1}


def test_interleaved_streams_keep_order(daemon):
    script = "for i in 1 2 3 4 5; do echo o$i; sleep 0.02; echo e$i >&2; sleep 0.02; done"
    res = session(daemon.connect("ws"), [SH, "-c", script])
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout) == b"".join(b"o%d\n" % i for i in range(1, 6))
    assert bytes(res.stderr) == b"".join(b"e%d\n" % i for i in range(1, 6))


# ---------------------------------------------------------------------------
# pipe-mode stdin
# ---------------------------------------------------------------------------


def test_pipe_stdin_cat_and_eos(daemon, kind):
    c = daemon.connect(kind)
    res = session(c, ["cat"], stdin=b"hello\nworld\n")
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 0
    assert bytes(res.stdout) == b"hello\nworld\n"


def test_pipe_stdin_eos_without_data(daemon):
    res = session(daemon.connect("unix"), ["cat"], stdin=None, eos=True)
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 0 and res.stdout == b""


def test_pipe_stdin_after_child_closed_stdin_is_ignored(daemon, kind):
    """The child closes its stdin; later stdin data must be dropped silently."""
    c = daemon.connect(kind)
    c.send(wp.open_msg([SH, "-c", "exec 0<&-; echo closed; sleep 0.5; echo done"]))
    res = wp.Result()
    first = c.recv(5)
    assert first.kind == "ack", first
    res.msgs.append(first)
    time.sleep(0.2)
    for _ in range(5):
        c.send(wp.stdin(b"x" * 1000))
    c.send(wp.stdin_eos())
    c.send(wp.stdin(b"after eos is ignored too"))
    c.send(wp.stdin_eos())
    wp.collect(c, timeout=10, result=res)
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 0
    assert bytes(res.stdout) == b"closed\ndone\n"


def test_pipelined_open_and_stdin(daemon, kind):
    """Open, stdin and eos sent back to back without waiting for the Ack (the server
    processes messages in order, so this works with the reference server)."""
    c = daemon.connect(kind)
    c.send(wp.open_msg(["cat"]))
    c.send(wp.stdin(b"pipelined\n"))
    c.send(wp.stdin_eos())
    res = wp.collect(c, timeout=10)
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout) == b"pipelined\n"


def test_pipe_cat_echo_1mib_concurrent(daemon, kind):
    """Stdin and stdout flowing at the same time through cat (needs the server to read
    stdin while output is pending)."""
    blob = os.urandom(1 << 20)
    c = daemon.connect(kind)
    c.send(wp.open_msg(["cat"]))
    res = wp.Result()
    first = c.recv(5)
    assert first.kind == "ack", first
    res.msgs.append(first)
    err = []

    def sender():
        try:
            for i in range(0, len(blob), 32768):
                c.send(wp.stdin(blob[i : i + 32768]), fragment=1024 if kind == "ws" else None)
            c.send(wp.stdin_eos())
        except Exception as e:  # noqa: BLE001
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    wp.collect(c, timeout=30, result=res)
    t.join(10)
    assert not err, err
    wp.check_well_formed(res, tty=False)
    assert len(res.stdout) == len(blob)
    assert hashlib.sha256(res.stdout).hexdigest() == hashlib.sha256(blob).hexdigest()


# ---------------------------------------------------------------------------
# PTY mode
# ---------------------------------------------------------------------------


def test_pty_tty_prints_pts(daemon, kind):
    c = daemon.connect(kind)
    res = session(c, ["tty"], tty=True, eos=False)
    wp.check_well_formed(res, tty=True)
    assert res.close_code == 0
    assert re.fullmatch(rb"/dev/pts/\d+\r\n", bytes(res.stdout)), bytes(res.stdout)
    assert_ws_finished(c, res)


def test_pty_merges_stderr_single_stream(daemon):
    res = session(daemon.connect("unix"), [SH, "-c", "echo out; echo err >&2; exit 4"], tty=True, eos=False)
    wp.check_well_formed(res, tty=True)
    assert res.close_code == 4
    assert b"out\r\n" in res.stdout and b"err\r\n" in res.stdout
    assert res.eos.get(wp.STDERR, 0) == 0


def test_pty_resize_stty_size(daemon, kind):
    c = daemon.connect(kind)
    res = session(c, [SH, "-c", "read x; stty size"], tty=True, resize=(33, 111), stdin=b"go\r", eos=False)
    wp.check_well_formed(res, tty=True)
    assert res.close_code == 0
    assert b"33 111\r\n" in res.stdout, bytes(res.stdout)


def test_pty_resize_twice_and_pixels_ignored(daemon):
    c = daemon.connect("ws")
    c.send(wp.open_msg([SH, "-c", "read x; stty size; read y; stty size"], tty=True))
    res = wp.Result()
    m = c.recv(5)
    assert m.kind == "ack", m
    res.msgs.append(m)
    c.send(wp.resize(10, 20, 640, 480))
    c.send(wp.stdin(b"a\r"))
    deadline = time.monotonic() + 5
    while b"10 20\r\n" not in res.stdout and time.monotonic() < deadline:
        m = c.recv(5)
        res.msgs.append(m)
        if m.kind == "data" and m.payload:
            res.stdout += m.payload
    c.send(wp.resize(50, 200))
    c.send(wp.stdin(b"b\r"))
    wp.collect(c, timeout=10, result=res)
    wp.check_well_formed(res, tty=True)
    assert b"10 20\r\n" in res.stdout, bytes(res.stdout)
    assert b"50 200\r\n" in res.stdout, bytes(res.stdout)


def test_pty_stdin_cat_and_eos_ignored(daemon, kind):
    """stdin goes to the PTY; a stdin eos is ignored in PTY mode (the session continues);
    ^D ends cat."""
    c = daemon.connect(kind)
    c.send(wp.open_msg(["cat"], tty=True))
    res = wp.Result()
    m = c.recv(5)
    assert m.kind == "ack", m
    res.msgs.append(m)
    c.send(wp.stdin(b"hello\r"))
    c.send(wp.stdin_eos())
    time.sleep(0.2)
    c.send(wp.stdin(b"again\r"))
    c.send(wp.stdin(b"\x04"))
    wp.collect(c, timeout=10, result=res)
    wp.check_well_formed(res, tty=True)
    assert res.close_code == 0
    out = bytes(res.stdout)
    assert out.count(b"hello\r\n") == 2, out  # echo + cat
    assert out.count(b"again\r\n") == 2, out


def test_pty_signal_death(daemon):
    res = session(daemon.connect("unix"), [SH, "-c", "kill -9 $$"], tty=True, eos=False)
    wp.check_well_formed(res, tty=True)
    assert res.close_code == -1


def test_pty_has_controlling_terminal(daemon):
    res = session(daemon.connect("unix"), [SH, "-c", "exec </dev/null; echo x >/dev/tty && echo ctty-ok"],
                  tty=True, eos=False)
    wp.check_well_formed(res, tty=True)
    assert b"ctty-ok" in res.stdout, bytes(res.stdout)


def test_pty_ctrl_c_interrupts(daemon):
    c = daemon.connect("unix")
    c.send(wp.open_msg([SH, "-c", "echo start; sleep 30"], tty=True))
    m = c.recv(5)
    assert m.kind == "ack", m
    res = wp.Result()
    res.msgs.append(m)
    deadline = time.monotonic() + 5
    while b"start" not in res.stdout and time.monotonic() < deadline:
        m = c.recv(5)
        res.msgs.append(m)
        if m.kind == "data" and m.payload:
            res.stdout += m.payload
    c.send(wp.stdin(b"\x03"))
    t0 = time.monotonic()
    wp.collect(c, timeout=5, result=res)
    assert time.monotonic() - t0 < 2
    assert res.close_code in (-1, 130), res


# ---------------------------------------------------------------------------
# process placement, environment, working directory, executable resolution
# ---------------------------------------------------------------------------


def _stat_of_self_script():
    return [SH, "-c", "cat /proc/$$/stat"]


@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "pty"])
def test_child_in_own_process_group(daemon, tty):
    res = session(daemon.connect("unix"), _stat_of_self_script(), tty=tty, eos=False)
    assert res.close_code == 0, res
    line = bytes(res.stdout).decode().strip()
    rest = line[line.rindex(")") + 2 :].split()
    pid = int(line.split()[0])
    pgrp, sid = int(rest[2]), int(rest[3])
    assert pgrp == pid, "child is not a process group leader: %s" % line
    assert sid == pid, "child is not a session leader: %s" % line
    assert pgrp != daemon.pid


def _env_lines(out):
    return dict(ln.split("=", 1) for ln in bytes(out).decode().splitlines() if "=" in ln)


def test_env_built_from_scratch(webttyd):
    leaks = {
        "SSH_AUTH_SOCK": "/tmp/leak-agent.sock",
        "AWS_SECRET_ACCESS_KEY": "leak-aws",
        "RSTREAM_AUTHENTICATION_TOKEN": "leak-rstream",
        "RSTREAM_WEBTTY_AUTH_TOKEN_UNUSED": "leak2",
        "WT_DAEMON_ONLY": "leak3",
        "TZ": "UTC",
        "LC_TIME": "C.UTF-8",
    }
    d = webttyd.start(extra_env=leaks)
    res = session(d.connect("ws"), ["env"], env=[("WT_CLIENT", "client value"), "WT_EQ=a=b"])
    assert res.close_code == 0, res
    env = _env_lines(res.stdout)
    for k in ("SSH_AUTH_SOCK", "AWS_SECRET_ACCESS_KEY", "RSTREAM_AUTHENTICATION_TOKEN",
              "RSTREAM_WEBTTY_AUTH_TOKEN_UNUSED", "WT_DAEMON_ONLY", "RSTREAM_WEBTTY_AUTH_TOKEN"):
        assert k not in env, "%s leaked into the session environment" % k
    assert not [k for k in env if k.startswith("RSTREAM")], env
    assert env.get("WT_CLIENT") == "client value"
    assert env.get("WT_EQ") == "a=b"
    assert env.get("PATH") == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert env.get("LANG") == "C.UTF-8"
    assert env.get("TZ") == "UTC"
    assert env.get("LC_TIME") == "C.UTF-8"
    me = pwd.getpwuid(os.getuid())
    assert env.get("USER") == me.pw_name and env.get("LOGNAME") == me.pw_name
    assert env.get("HOME") == me.pw_dir
    assert env.get("SHELL") == me.pw_shell
    assert "TERM" not in env, "daemon invented TERM"
    assert "MAIL" not in env


def test_env_client_identity_vars_win_in_spawn_mode(daemon):
    res = session(daemon.connect("unix"), ["env"], env=[("HOME", "/custom-home"), ("USER", "someone")])
    env = _env_lines(res.stdout)
    assert env.get("HOME") == "/custom-home"
    assert env.get("USER") == "someone"


def test_env_term_passed_for_tty(daemon):
    res = session(daemon.connect("unix"), [SH, "-c", "echo T=$TERM"], tty=True, eos=False,
                  env=[("TERM", "xterm-256color")])
    assert b"T=xterm-256color" in res.stdout


def test_workdir_honoured(daemon, kind, tmp_path):
    wd = daemon.dir
    res = session(daemon.connect(kind), ["pwd"], workdir=wd)
    assert res.close_code == 0, res
    assert bytes(res.stdout).decode().strip() == os.path.realpath(wd)


def test_workdir_default_is_home(daemon):
    res = session(daemon.connect("unix"), ["pwd"])
    assert res.close_code == 0, res
    assert bytes(res.stdout).decode().strip() == os.path.realpath(pwd.getpwuid(os.getuid()).pw_dir)


def test_executable_resolved_in_workdir(daemon):
    script = os.path.join(daemon.dir, "wt-local-script")
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho \"local script $1 $0\"\n")
    os.chmod(script, 0o755)
    res = session(daemon.connect("unix"), ["wt-local-script", "arg1"], workdir=daemon.dir)
    assert res.close_code == 0, res
    assert bytes(res.stdout) == ("local script arg1 %s\n" % script).encode()


def test_argv0_resolved_path_from_PATH(daemon):
    res = session(daemon.connect("unix"), ["sh", "-c", "echo $0"])
    assert res.close_code == 0, res
    assert bytes(res.stdout).strip() in (b"/usr/bin/sh", b"/bin/sh")


def test_empty_cmd_runs_login_shell_without_args(daemon):
    res = session(daemon.connect("unix"), [], stdin=b"echo hi-$((1+2)); echo \"$0\"; exit 3\n")
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 3
    shell = pwd.getpwuid(os.getuid()).pw_shell
    assert bytes(res.stdout) == ("hi-3\n%s\n" % shell).encode()


def test_username_own_account_spawn_mode(daemon):
    """Naming the daemon's own account needs no credential switch."""
    me = pwd.getpwuid(os.getuid())
    res = session(daemon.connect("unix"), ["id", "-u"], username=me.pw_name)
    assert (res.close_code, res.error) == (0, None), res
    assert bytes(res.stdout).strip() == str(me.pw_uid).encode()


# ---------------------------------------------------------------------------
# heartbeats, ignored client messages, unknown fields
# ---------------------------------------------------------------------------


def test_server_heartbeats(webttyd):
    d = webttyd.start(heartbeat=200)
    for k in ("ws", "unix"):
        c = d.connect(k)
        res = session(c, ["sleep", "1"])
        wp.check_well_formed(res, tty=False)
        assert res.close_code == 0
        assert res.heartbeats >= 2, "only %d heartbeats in 1 s at 200 ms" % res.heartbeats
        assert res.heartbeats <= 8, "%d heartbeats in 1 s at 200 ms" % res.heartbeats
        for m in res.msgs:
            if m.kind == "heartbeat":
                assert m.raw == b""


def test_no_heartbeat_before_open(webttyd):
    d = webttyd.start(heartbeat=100, args=["--open-timeout", "5000"])
    c = d.connect("unix")
    with pytest.raises(wp.Timeout):
        m = c.recv(0.6)
        pytest.fail("server sent %r before Open" % (m,))
    res = session(c, ["sleep", "0.5"])
    wp.check_well_formed(res, tty=False)
    assert res.heartbeats >= 2


def test_client_heartbeat_and_hello_ignored(daemon, kind):
    c = daemon.connect(kind)
    c.send(wp.heartbeat())
    c.send(wp.client_hello(1))
    c.send(wp.open_msg(["cat"], heartbeat=True, interactive=True))
    m = c.recv(5)
    assert m.kind == "ack", m
    res = wp.Result()
    res.msgs.append(m)
    c.send(wp.heartbeat())
    c.send(wp.stdin(b"a"))
    c.send(wp.client_hello(1))
    c.send(wp.heartbeat())
    c.send(wp.stdin(b"b"))
    c.send(wp.stdin_eos())
    wp.collect(c, timeout=10, result=res)
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout) == b"ab"


def test_unknown_fields_tolerated(daemon, kind):
    junk = wp.f_varint(99, 5) + wp.f_bytes(100, b"junk") + wp.tag(101, wp.WT_I32) + b"abcd"
    c = daemon.connect(kind)
    c.send(wp.open_msg(["cat"], extra=junk, capabilities=[1, 2]) + junk)
    m = c.recv(5)
    assert m.kind == "ack", m
    res = wp.Result()
    res.msgs.append(m)
    c.send(junk + wp.f_msg(wp.F_DATA, wp.f_bytes(2, b"xyz") + junk))
    c.send(wp.f_msg(wp.F_DATA, junk + wp.f_msg(3, junk)))
    wp.collect(c, timeout=10, result=res)
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout) == b"xyz"


def test_capabilities_ignored_without_e2e(daemon):
    c = daemon.connect("unix")
    res = session(c, ["echo", "ok"], capabilities=[1, 2])
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout) == b"ok\n"


# ---------------------------------------------------------------------------
# large transfers
# ---------------------------------------------------------------------------

TEN_MIB = 10 * 1024 * 1024


@pytest.fixture
def big_file(daemon):
    path = os.path.join(daemon.dir, "big.bin")
    blob = os.urandom(TEN_MIB)
    with open(path, "wb") as f:
        f.write(blob)
    return path, hashlib.sha256(blob).hexdigest()


@pytest.mark.wt_timeout(90)
def test_10mib_output_intact(daemon, kind, big_file):
    path, digest = big_file
    c = daemon.connect(kind)
    t0 = time.monotonic()
    res = session(c, ["cat", path], timeout=60)
    dt = time.monotonic() - t0
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 0
    assert len(res.stdout) == TEN_MIB
    assert hashlib.sha256(res.stdout).hexdigest() == digest
    chunks = [len(m.payload) for m in res.msgs if m.kind == "data" and m.payload]
    assert max(chunks) <= 1048576
    print("10 MiB over %s in %.2fs, %d chunks, max %d" % (kind, dt, len(chunks), max(chunks)))


@pytest.mark.wt_timeout(90)
def test_10mib_output_intact_pty(daemon, big_file):
    path, digest = big_file
    res = session(daemon.connect("unix"), [SH, "-c", "stty raw -echo; cat " + path], tty=True, eos=False,
                  timeout=60)
    wp.check_well_formed(res, tty=True)
    assert res.close_code == 0
    assert len(res.stdout) == TEN_MIB
    assert hashlib.sha256(res.stdout).hexdigest() == digest


@pytest.mark.wt_timeout(90)
def test_10mib_stdin_upload(daemon, kind):
    blob = os.urandom(TEN_MIB)
    c = daemon.connect(kind)
    # WebSocket: each 32 KiB message split into 1 KiB frames, like the Go client does.
    res = session(c, ["sha256sum"], stdin=blob, timeout=60, fragment=1024 if kind == "ws" else None)
    wp.check_well_formed(res, tty=False)
    assert res.close_code == 0
    assert bytes(res.stdout).split()[0].decode() == hashlib.sha256(blob).hexdigest()


# ---------------------------------------------------------------------------
# WebSocket specifics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/webtty", "/some/deep/path?x=1"])
def test_websocket_any_path(daemon, path):
    c = daemon.connect("ws", path=path)
    res = session(c, ["echo", "path-ok"])
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout) == b"path-ok\n"
    assert_ws_finished(c, res)


def test_websocket_open_in_three_fragments_with_ping(daemon):
    c = daemon.connect("ws")
    msg = wp.open_msg([SH, "-c", "echo fragmented-open"], env=[("A", "x" * 50)])
    n = len(msg)
    chunks = [msg[: n // 3], msg[n // 3 : 2 * n // 3], msg[2 * n // 3 :]]
    c.send_fragments(chunks, between=lambda i: c.send_ping(b"p%d" % i) if i == 0 else None)
    res = wp.collect(c, timeout=10)
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout) == b"fragmented-open\n"
    assert b"p0" in c.pongs, "no pong for a ping sent between fragments: %r" % c.pongs


def test_websocket_ping_pong(daemon):
    c = daemon.connect("ws")
    c.send_ping(b"hello-ping")
    c.send(wp.open_msg(["sleep", "0.2"]))
    res = wp.collect(c, timeout=10)
    wp.check_well_formed(res, tty=False)
    assert c.pongs == [b"hello-ping"]


def test_websocket_large_stdin_many_fragments(daemon):
    blob = os.urandom(900 * 1024)
    c = daemon.connect("ws")
    c.send(wp.open_msg(["sha256sum"]))
    m = c.recv(5)
    assert m.kind == "ack", m
    res = wp.Result()
    res.msgs.append(m)
    c.send(wp.stdin(blob), fragment=1000)  # one message, ~920 frames
    c.send(wp.stdin_eos(), fragment=1)  # 4 one-byte frames
    wp.collect(c, timeout=20, result=res)
    wp.check_well_formed(res, tty=False)
    assert bytes(res.stdout).split()[0].decode() == hashlib.sha256(blob).hexdigest()


def test_websocket_server_frames_unfragmented(daemon):
    """The server writes each message as one binary frame (Go behaviour)."""
    c = daemon.connect("ws")
    c.record_frames = True
    res = session(c, ["head", "-c", "100000", "/dev/zero"])
    wp.check_well_formed(res, tty=False)
    data_frames = [f for f in c.frames_in if f[1] in (wp.OP_BINARY, wp.OP_CONT, wp.OP_TEXT)]
    assert all(fin and op == wp.OP_BINARY for fin, op, _ in data_frames), data_frames[:10]


def test_websocket_client_close_after_close_message(daemon):
    """Client answers the server close; the daemon must not log errors for the normal end."""
    c = daemon.connect("ws")
    res = session(c, ["true"])
    assert res.close_code == 0
    assert_ws_finished(c, res)
    c.close(wait=2)
    # a second connection still works afterwards
    res2 = session(daemon.connect("ws"), ["echo", "again"])
    assert bytes(res2.stdout) == b"again\n"


def test_many_concurrent_sessions(daemon):
    conns = []
    for i in range(24):
        k = ("ws", "unix", "tcp")[i % 3]
        c = daemon.connect(k)
        c.send(wp.open_msg([SH, "-c", "sleep 0.3; echo session-$0; exit $1", str(i), str(i % 5)]))
        conns.append(c)
    for i, c in enumerate(conns):
        res = wp.collect(c, timeout=20)
        wp.check_well_formed(res, tty=False)
        assert bytes(res.stdout) == b"session-%d\n" % i
        assert res.close_code == i % 5


def test_unix_socket_mode_0600(daemon):
    st = os.stat(daemon.unix_path())
    import stat
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)


def test_plain_server_waits_for_client_close(webttyd):
    """Plain transport: after Close the server keeps the connection open (no early close)
    until the peer closes or the close deadline expires."""
    d = webttyd.start(args=["--close-timeout", "700"])
    c = d.connect("unix")
    res = session(c, ["true"])
    assert res.close_code == 0
    t0 = time.monotonic()
    with pytest.raises(wp.Timeout):
        m = c.recv(0.3)
        pytest.fail("server sent %r / closed early after Close" % (m,))
    m = c.recv(5)
    assert isinstance(m, wp.Ended), m
    assert time.monotonic() - t0 < 3


def test_daemon_survives_abrupt_disconnects(daemon):
    for k in ("ws", "unix", "tcp"):
        c = daemon.connect(k)
        c.send(wp.open_msg(["yes"]))
        m = c.recv(5)
        assert m.kind == "ack", m
        for _ in range(20):
            c.recv(5)
        c.abort()
    res = session(daemon.connect("ws"), ["echo", "alive"])
    assert bytes(res.stdout) == b"alive\n"
