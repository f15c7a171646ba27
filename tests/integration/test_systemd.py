"""systemd integration: socket activation (LISTEN_FDS through systemd-socket-activate)
and sd_notify READY/STOPPING/STATUS on NOTIFY_SOCKET."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import WEBTTY, WEBTTYD

ACTIVATE = shutil.which("systemd-socket-activate")


def _run_client(url, cmd, timeout=10):
    return subprocess.run([WEBTTY, "exec", "--url", url, "--"] + cmd, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


def _wait_for(path, timeout=5.0):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < end, "%s did not appear" % path
        time.sleep(0.02)


def _wait_for_text(path, needle, timeout=5.0):
    """The log as soon as it holds needle (re-read from the file each time: a write by
    another process need not be visible through an already open reader at once)."""
    end = time.monotonic() + timeout
    while True:
        with open(path) as f:
            text = f.read()
        if needle in text or time.monotonic() >= end:
            assert needle in text, "%s: %r not found in %r" % (path, needle, text)
            return text
        time.sleep(0.05)


def _stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


@pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate not installed")
@pytest.mark.parametrize("fdname", ["plain", "websocket"])
def test_socket_activation(fdname):
    d = tempfile.mkdtemp(prefix="wt-sa-")
    sock = os.path.join(d, "activated.sock")
    log = open(os.path.join(d, "log"), "w+")
    # No --listen: webttyd must serve only the inherited socket; its framing comes
    # from FileDescriptorName (--fdname) rather than --transport.
    p = subprocess.Popen([ACTIVATE, "-l", sock, "--fdname=" + fdname, WEBTTYD, "--allow-unauthenticated"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        _wait_for(sock)
        if fdname == "plain":
            r = _run_client("unix:" + sock, ["sh", "-c", "echo activated; exit 5"])
            assert r.returncode == 5, r.stderr
            assert r.stdout == b"activated\n"
        else:
            # A WebSocket listener on a unix socket: speak HTTP and check for the 101.
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(sock)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            resp = s.recv(4096)
            s.close()
            assert resp.startswith(b"HTTP/1.1 101"), resp
            assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in resp
        text = _wait_for_text(log.name, "listening on fd:3(%s,%s)" % (fdname, fdname))
        assert "listening on unix:" not in text and "127.0.0.1:8080" not in text, text
    finally:
        _stop(p)
        shutil.rmtree(d, ignore_errors=True)


def test_sd_notify_ready_and_stopping():
    d = tempfile.mkdtemp(prefix="wt-notify-")
    nsock = os.path.join(d, "notify")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(nsock)
    rx.settimeout(5)
    env = dict(os.environ, NOTIFY_SOCKET=nsock)
    p = subprocess.Popen([WEBTTYD, "--listen", "unix:" + os.path.join(d, "s")], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        msgs = []
        while not any("READY=1" in m for m in msgs):
            msgs.append(rx.recv(4096).decode())
        os.kill(p.pid, signal.SIGTERM)
        while not any("STOPPING=1" in m for m in msgs):
            msgs.append(rx.recv(4096).decode())
        assert p.wait(10) == 0
        assert any("STATUS=" in m for m in msgs), msgs
    finally:
        _stop(p)
        rx.close()
        shutil.rmtree(d, ignore_errors=True)


def test_watchdog_pings_when_asked():
    d = tempfile.mkdtemp(prefix="wt-wd-")
    nsock = os.path.join(d, "notify")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(nsock)
    rx.settimeout(5)
    # WATCHDOG_PID must name the daemon itself; exec through sh so the pid is known.
    p = subprocess.Popen(["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" --listen "$1"', WEBTTYD,
                          "unix:" + os.path.join(d, "s")],
                         env=dict(os.environ, NOTIFY_SOCKET=nsock, WATCHDOG_USEC="200000"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        seen = 0
        end = time.monotonic() + 5
        while seen < 2 and time.monotonic() < end:
            if "WATCHDOG=1" in rx.recv(4096).decode():
                seen += 1
        assert seen >= 2, "no watchdog keep-alives"
    finally:
        _stop(p)
        rx.close()
        shutil.rmtree(d, ignore_errors=True)
