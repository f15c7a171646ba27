"""Login execution mode, webttyd's own part (webtty-host.md section 5.1): webttyd never
switches users itself, it hands each session to webttyd-login. What webttyd checks before
that hand-over, and its start-up rules, are tested here; the hand-over itself in
test_login_client.py, webttyd-login in test_login_helper.py and the whole chain (PAM,
NSS, policy, utmp, sudo) as root in test_login_e2e.py."""

import os
import stat

import pytest

import wtproto as wp


@pytest.fixture
def recorder(tmp_path):
    """A stand-in for --login-helper that only records that it was started (webttyd
    must refuse these sessions before starting any helper)."""
    mark = tmp_path / "helper-ran"
    path = tmp_path / "login-helper"
    path.write_text("#!/bin/sh\ntouch '%s'\nexit 1\n" % mark)
    path.chmod(stat.S_IRWXU)
    return str(path), mark


def start_login(webttyd, args):
    return webttyd.start(listen=["unix"], token=None, args=["--execution-mode", "login"] + args)


def refused(d, text, **open_args):
    c = d.connect("unix")
    c.send(wp.open_msg(["id"], **open_args))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error == text, res.error


def test_login_mode_client_user_refused(webttyd, recorder):
    helper, mark = recorder
    d = start_login(webttyd, ["--login-user", "root", "--login-helper", helper])
    for who in ("nobody", 0):
        refused(d, "client-selected OS users are disabled in login execution mode", username=who)
    assert not mark.exists(), "webttyd-login was started for a refused session"


def test_login_mode_unauthenticated_needs_a_default_user(webttyd, recorder):
    """Without E2E there is no verified caller for a policy to map: only --login-user."""
    helper, mark = recorder
    d = start_login(webttyd, ["--allow-client-user", "--login-helper", helper])
    refused(d, "login execution mode requires a configured default user or explicitly allowed client user")
    assert not mark.exists()


def test_login_mode_helper_that_fails(webttyd, recorder):
    """A helper that exits without answering: a generic error for the peer."""
    helper, mark = recorder
    d = start_login(webttyd, ["--login-user", "root", "--login-helper", helper])
    refused(d, "login service unavailable")
    assert mark.exists()


def test_login_mode_without_any_user(webttyd, recorder):
    helper, _ = recorder
    with pytest.raises(AssertionError) as e:
        start_login(webttyd, ["--login-helper", helper])
    webttyd.daemons[-1].stopped = True
    assert ("login execution mode requires an existing local OS username (--login-user) or "
            "--allow-client-user") in str(e.value)


def test_login_mode_unknown_login_user(webttyd, recorder):
    helper, _ = recorder
    with pytest.raises(AssertionError) as e:
        start_login(webttyd, ["--login-user", "no-such-user-wt", "--login-helper", helper])
    webttyd.daemons[-1].stopped = True
    assert 'webttyd: --login-user "no-such-user-wt" is not a usable local OS account' in str(e.value)


def test_login_mode_needs_the_login_service(webttyd, tmp_path):
    sock = str(tmp_path / "no-login.sock")
    with pytest.raises(AssertionError) as e:
        start_login(webttyd, ["--login-user", "root", "--login-socket", sock])
    webttyd.daemons[-1].stopped = True
    assert "login execution mode needs webttyd-login" in str(e.value) and sock in str(e.value), str(e.value)


def test_login_mode_with_identity_needs_no_default_user(webttyd, recorder, tmp_path):
    """With an endpoint identity every caller is verified and webttyd-login's policy maps
    it: no --login-user or --allow-client-user needed. A session without a proof is still
    refused before any helper starts."""
    helper, mark = recorder
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    d = webttyd.start(listen=["unix"], token=None, extra_env={"RSTREAM_DATA_DIR": str(data)},
                      args=["--execution-mode", "login", "--identity", "srv", "--login-helper", helper])
    c = d.connect("unix")
    c.send(wp.open_msg(["id"]))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["server_hello", "protocol_error"], res
    assert not mark.exists()
