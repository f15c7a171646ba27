"""webttyd command line: listeners, readiness lines, start-up errors (exit status 1 and
the exact messages of webtty-host.md section 4.2)."""

import os
import re
import socket
import stat

import pytest

import wtproto as wp
from conftest import session

MSG_NO_TOKEN = ("local webtty server requires --auth-token-file or RSTREAM_WEBTTY_AUTH_TOKEN; "
                "use --allow-unauthenticated only for isolated development")
MSG_PLAIN = ("local plain WebTTY transport has no HTTP auth layer; "
             "use --allow-unauthenticated only for isolated development")


def test_listening_lines_and_ready(webttyd):
    d = webttyd.start(listen=["ws", "tcp", "unix"])
    log = d.stderr()
    urls = re.findall(r"listening on (\S+)", log)
    assert len(urls) == 3, log
    assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/", urls[0]), urls
    assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", urls[1]), urls
    assert urls[2] == "unix:" + os.path.join(d.dir, "wt.sock"), urls
    for u in urls[:2]:
        port = int(re.search(r":(\d+)", u.split("//")[1]).group(1))
        assert port != 0
    # "ready" comes after every listening line
    assert log.rindex("listening on") < log.index("ready")


def test_host_port_form_defaults_to_websocket(webttyd):
    d = webttyd.start(listen=["127.0.0.1:0"])
    assert d.url("ws").startswith("ws://127.0.0.1:")
    res = session(d.connect("ws"), ["echo", "hp"])
    assert bytes(res.stdout) == b"hp\n"


def test_host_port_form_with_transport_plain(webttyd):
    d = webttyd.start(listen=["127.0.0.1:0"], token=None, allow_unauth=True, args=["--transport", "plain"])
    assert d.url("tcp").startswith("tcp://127.0.0.1:")
    res = session(d.connect("tcp"), ["echo", "plain"])
    assert bytes(res.stdout) == b"plain\n"


def test_ws_url_with_path(webttyd):
    d = webttyd.start(listen=["ws://127.0.0.1:0/webtty"])
    res = session(d.connect("ws", path="/webtty"), ["echo", "p"])
    assert bytes(res.stdout) == b"p\n"


def test_unix_listener_needs_no_flag_and_is_0600(webttyd):
    d = webttyd.start(listen=["unix"], token=None, allow_unauth=False)
    st = os.stat(d.unix_path())
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    res = session(d.connect("unix"), ["echo", "unix-ok"])
    assert bytes(res.stdout) == b"unix-ok\n"


def test_stale_unix_socket_replaced(webttyd):
    """A leftover socket file from a dead daemon (killed with SIGKILL, so it could not
    remove it) must not prevent a restart."""
    dirpath = webttyd.mkdir()
    path = os.path.join(dirpath, "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()
    d = webttyd.start(listen=["unix:" + path], token=None)
    c = wp.PlainClient(unix=path)
    d.clients.append(c)
    res = session(c, ["echo", "ok"])
    assert bytes(res.stdout) == b"ok\n"


def test_several_websocket_listeners(webttyd):
    d = webttyd.start(listen=["ws", "ws://127.0.0.1:0/two"])
    urls = [u for u in d.urls if u.startswith("ws://")]
    assert len(urls) == 2 and urls[0] != urls[1]
    for u in urls:
        m = re.match(r"ws://([\d.]+):(\d+)(/.*)", u)
        c = wp.WSClient(m.group(1), int(m.group(2)), path=m.group(3), token=d.token)
        d.clients.append(c)
        res = session(c, ["echo", u])
        assert bytes(res.stdout) == (u + "\n").encode()


def test_default_listen(webttyd):
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", 8080))
    except OSError:
        pytest.skip("127.0.0.1:8080 is in use")
    finally:
        probe.close()
    d = webttyd.start(listen=[], allow_unauth=True, token=None)
    assert d.urls == ["ws://127.0.0.1:8080/"], d.urls


# ---------------------------------------------------------------------------
# start-up errors
# ---------------------------------------------------------------------------


def _fails(webttyd, args, text, env=None):
    rc, err = webttyd.run_fail(args, env=env)
    assert rc == 1, "exit status %r, stderr %r" % (rc, err)
    assert text in err, err
    assert "ready" not in err


def test_ws_without_token_refused(webttyd):
    _fails(webttyd, ["--listen", "ws://127.0.0.1:0/"], MSG_NO_TOKEN)


def test_default_listener_without_token_refused(webttyd):
    _fails(webttyd, [], MSG_NO_TOKEN)


def test_tcp_plain_without_flag_refused(webttyd):
    _fails(webttyd, ["--listen", "tcp://127.0.0.1:0"], MSG_PLAIN)


def test_tcp_plain_with_token_still_needs_flag(webttyd):
    d = webttyd.mkdir()
    tf = os.path.join(d, "tok")
    with open(tf, "w") as f:
        f.write("tok")
    _fails(webttyd, ["--listen", "tcp://127.0.0.1:0", "--auth-token-file", tf], MSG_PLAIN)


def test_empty_token_file(webttyd):
    d = webttyd.mkdir()
    tf = os.path.join(d, "empty")
    with open(tf, "w") as f:
        f.write(" \n\t\n")
    _fails(webttyd, ["--listen", "ws://127.0.0.1:0/", "--auth-token-file", tf], "--auth-token-file is empty")


def test_missing_token_file(webttyd):
    rc, err = webttyd.run_fail(["--listen", "ws://127.0.0.1:0/", "--auth-token-file", "/nonexistent/tok"])
    assert rc == 1 and err.strip(), err


def _never(webttyd):
    return "unix:" + os.path.join(webttyd.mkdir(), "never.sock")


@pytest.mark.parametrize("flags", [["--login-user", "root"],
                                   ["--execution-mode", "spawn", "--login-user", "root"]],
                         ids=["login-user", "spawn+login-user"])
def test_login_flags_need_login_mode(webttyd, flags):
    _fails(webttyd, ["--listen", _never(webttyd)] + flags,
           "--login-user and --allow-client-user require --execution-mode=login")


def test_allow_client_user_accepted_in_spawn_mode(webttyd):
    # Deliberate divergence: spawn mode refuses client-selected accounts unless
    # --allow-client-user is given, so the flag must be accepted there.
    d = webttyd.start(listen=("unix",), args=["--allow-client-user"])
    assert d.proc.poll() is None


def test_invalid_execution_mode(webttyd):
    _fails(webttyd, ["--listen", _never(webttyd), "--execution-mode", "sudo"],
           'invalid WebTTY execution mode "sudo" (valid: spawn, login)')


@pytest.mark.parametrize("args", [
    ["--no-such-option"],
    ["--listen", "ftp://127.0.0.1:0"],
    ["--transport", "carrier-pigeon", "--allow-unauthenticated"],
    ["--log-level", "loud", "--allow-unauthenticated"],
    ["--max-message-size", "lots", "--allow-unauthenticated"],
])
def test_bad_arguments_exit_1(webttyd, args):
    rc, err = webttyd.run_fail(args)
    assert rc == 1, (rc, err)
    assert err.strip()


def test_port_in_use(webttyd):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        rc, err = webttyd.run_fail(["--allow-unauthenticated", "--listen", "ws://127.0.0.1:%d/" % port])
        assert rc == 1 and err.strip(), (rc, err)
    finally:
        s.close()


def test_unix_socket_removed_on_exit(webttyd):
    d = webttyd.start(listen=("unix",), token=None)
    path = d.unix_path()
    assert os.path.exists(path)
    assert d.terminate() == 0
    assert not os.path.exists(path), "webttyd left its socket file behind"


# ---------------------------------------------------------------------------
# E2E start-up errors
# ---------------------------------------------------------------------------


def _env_with(webttyd, **extra):
    from conftest import _daemon_env
    env = _daemon_env()
    env["RSTREAM_DATA_DIR"] = os.path.join(webttyd.mkdir(), "data")
    env.update(extra)
    return env


def test_authorized_keys_need_an_identity(webttyd):
    key = ("RDMt590iVkNdqfYMoFHoXOYtAYyHNRm9G0OpZhoD2TY:MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVt"
           "aMBJuJI7Yfps5mliLmDyn7Z5A_4QCLi8maQa6elWKLxk8vGyDC1-n1F3o8KU1EYimQ")
    _fails(webttyd, ["--listen", _never(webttyd), "--authorized-client-key", key],
           "--authorized-client-key and --authorized-clients-file need an endpoint identity", env=_env_with(webttyd))


def test_identity_and_identity_file_exclusive(webttyd):
    _fails(webttyd, ["--listen", _never(webttyd), "--identity", "a", "--identity-file", "/nonexistent/b"],
           "--identity cannot be combined with --identity-file", env=_env_with(webttyd))


def test_inline_identity_exclusive_with_identity_flags(webttyd):
    _fails(webttyd, ["--listen", _never(webttyd), "--identity", "a"],
           "RSTREAM_WEBTTY_IDENTITY cannot be combined with --identity, --identity-file, or "
           "RSTREAM_WEBTTY_IDENTITY_FILE", env=_env_with(webttyd, RSTREAM_WEBTTY_IDENTITY="{}"))


def test_inline_identity_must_be_a_document(webttyd):
    _fails(webttyd, ["--listen", _never(webttyd)],
           "RSTREAM_WEBTTY_IDENTITY must contain a WebTTY endpoint identity JSON document: ",
           env=_env_with(webttyd, RSTREAM_WEBTTY_IDENTITY="not json"))


def test_bad_authorized_key_names_the_flag(webttyd):
    env = _env_with(webttyd)
    _fails(webttyd, ["--listen", _never(webttyd), "--e2e", "--authorized-client-key", "nope"],
           "--authorized-client-key: ", env=env)
    # Refused before anything is written: no default identity was created.
    assert not os.path.exists(os.path.join(env["RSTREAM_DATA_DIR"], "webtty", "identities"))
