"""Execution modes (webtty-host.md section 5.1): login mode with a fixed account, client
selected accounts only with --allow-client-user, identity variables forced. Switching to
another account needs root; those tests are skipped otherwise."""

import os
import pwd

import pytest

import wtproto as wp
from conftest import session

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching accounts needs root")


def _nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' account")


def test_login_mode_fixed_user_self(webttyd):
    me = pwd.getpwuid(os.getuid())
    d = webttyd.start(listen=["unix"], token=None,
                      args=["--execution-mode", "login", "--login-user", me.pw_name])
    res = session(d.connect("unix"), ["sh", "-c", 'id -un; echo "$USER $LOGNAME $HOME"'],
                  env=[("USER", "spoofed"), ("HOME", "/spoofed")])
    assert res.close_code == 0, res
    lines = bytes(res.stdout).decode().splitlines()
    assert lines[0] == me.pw_name
    # login mode: identity variables are set (overwritten), not just added
    assert lines[1] == "%s %s %s" % (me.pw_name, me.pw_name, me.pw_dir)


@needs_root
def test_login_mode_switches_to_login_user(webttyd):
    nb = _nobody()
    d = webttyd.start(listen=["unix"], token=None,
                      args=["--execution-mode", "login", "--login-user", nb.pw_name])
    res = session(d.connect("unix"), ["sh", "-c", "id -u; id -g"], workdir="/tmp")
    assert res.close_code == 0, res
    assert bytes(res.stdout).split() == [str(nb.pw_uid).encode(), str(nb.pw_gid).encode()]


def test_login_mode_client_user_refused(webttyd):
    me = pwd.getpwuid(os.getuid())
    d = webttyd.start(listen=["unix"], token=None,
                      args=["--execution-mode", "login", "--login-user", me.pw_name])
    c = d.connect("unix")
    c.send(wp.open_msg(["id"], username="nobody"))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error == "client-selected OS users are disabled in login execution mode"


@needs_root
def test_login_mode_allow_client_user(webttyd):
    nb = _nobody()
    d = webttyd.start(listen=["unix"], token=None, args=["--execution-mode", "login", "--allow-client-user"])
    for who in (nb.pw_name, nb.pw_uid):
        res = session(d.connect("unix"), ["id", "-u"], username=who, workdir="/tmp")
        assert res.close_code == 0, res
        assert bytes(res.stdout).strip() == str(nb.pw_uid).encode()


def test_login_mode_unknown_client_user(webttyd):
    d = webttyd.start(listen=["unix"], token=None, args=["--execution-mode", "login", "--allow-client-user"])
    c = d.connect("unix")
    c.send(wp.open_msg(["id"], username="no-such-user-wt"))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error.startswith("failed to get user info: "), res.error


def test_login_mode_without_any_user(webttyd):
    """Login mode without --login-user or --allow-client-user: either refused at start-up
    or every Open is rejected with the reference text."""
    rc_err = None
    try:
        d = webttyd.start(listen=["unix"], token=None, args=["--execution-mode", "login"])
    except AssertionError as e:
        rc_err = str(e)
    if rc_err is not None:
        assert "login" in rc_err
        webttyd.daemons[-1].stopped = True
        return
    c = d.connect("unix")
    c.send(wp.open_msg(["id"]))
    res = wp.collect(c, timeout=5)
    assert res.kinds() == ["error"], res
    assert res.error == ("login execution mode requires a configured default user or explicitly "
                         "allowed client user")
