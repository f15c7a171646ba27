"""WebSocket upgrade authorisation (webtty-protocol.md section 2.2): bearer token,
Origin checks, refusal before the upgrade."""

import pytest

import wtproto as wp
from conftest import TOKEN, session


def _status(daemon, **kw):
    host, port = daemon.addr("ws")
    try:
        c = wp.WSClient(host, port, **kw)
    except wp.HTTPStatusError as e:
        return e.status
    daemon.clients.append(c)
    c.send(wp.open_msg(["echo", "authorised"]))
    res = wp.collect(c, timeout=5)
    assert bytes(res.stdout) == b"authorised\n", res
    return 101


@pytest.fixture
def wsd(webttyd):
    return webttyd.start(listen=["ws"])


def test_missing_token_401(wsd):
    assert _status(wsd) == 401


def test_wrong_token_401(wsd):
    assert _status(wsd, token="not-the-token") == 401
    assert _status(wsd, token=TOKEN + "x") == 401
    assert _status(wsd, token=TOKEN[:-1]) == 401


@pytest.mark.parametrize("header", [
    "Basic " + TOKEN,
    "Bearer",
    "Bearer " + TOKEN + " extra",
    TOKEN,
    "Bearer: " + TOKEN,
    "",
])
def test_malformed_authorization_401(wsd, header):
    assert _status(wsd, auth_header=header) == 401


@pytest.mark.parametrize("header", [
    "Bearer " + TOKEN,
    "bearer " + TOKEN,
    "BEARER " + TOKEN,
    "Bearer   " + TOKEN,
    "Bearer\t" + TOKEN,
])
def test_accepted_authorization_forms(wsd, header):
    assert _status(wsd, auth_header=header) == 101


def test_401_before_upgrade_has_no_websocket(wsd):
    host, port = wsd.addr("ws")
    with pytest.raises(wp.HTTPStatusError) as ei:
        wp.WSClient(host, port)
    assert ei.value.status == 401
    assert "sec-websocket-accept" not in ei.value.headers


def test_token_file_is_trimmed(webttyd):
    d = webttyd.start(listen=["ws"], token="  spaced-token \t")
    assert _status(d, token="spaced-token") == 101
    assert _status(d, auth_header="Bearer   spaced-token") == 101


def test_token_from_environment(webttyd):
    d = webttyd.start(listen=["ws"], token="env-token-123", token_via="env")
    assert _status(d, token="env-token-123") == 101
    assert _status(d) == 401


def test_unauthenticated_mode(webttyd):
    d = webttyd.start(listen=["ws"], token=None, allow_unauth=True)
    assert _status(d) == 101


def test_token_not_forwarded_to_child(webttyd):
    d = webttyd.start(listen=["ws"], token="env-token-xyz", token_via="env")
    host, port = d.addr("ws")
    c = wp.WSClient(host, port, token="env-token-xyz")
    d.clients.append(c)
    res = session(c, ["env"])
    assert b"env-token-xyz" not in res.stdout
    assert b"RSTREAM_WEBTTY_AUTH_TOKEN" not in res.stdout


# ---------------------------------------------------------------------------
# Origin
# ---------------------------------------------------------------------------


@pytest.fixture
def origin_d(webttyd):
    return webttyd.start(listen=["ws"], args=["--allowed-origin", "https://good.example",
                                              "--allowed-origin", "http://other.example:8081"])


def test_origin_absent_passes(origin_d):
    assert _status(origin_d, token=TOKEN) == 101


def test_origin_allowed_exact(origin_d):
    assert _status(origin_d, token=TOKEN, origin="https://good.example") == 101
    assert _status(origin_d, token=TOKEN, origin="http://other.example:8081") == 101


def test_origin_default_port_normalised(origin_d):
    assert _status(origin_d, token=TOKEN, origin="https://good.example:443") == 101


def test_bad_origin_403(origin_d):
    assert _status(origin_d, token=TOKEN, origin="https://evil.example") == 403
    assert _status(origin_d, token=TOKEN, origin="http://other.example:8082") == 403
    assert _status(origin_d, token=TOKEN, origin="https://good.example.evil.example") == 403


def test_bad_origin_without_allowed_list_403(webttyd):
    d = webttyd.start(listen=["ws"])
    assert _status(d, token=TOKEN, origin="https://evil.example") == 403


def test_origin_same_host_allowed(webttyd):
    d = webttyd.start(listen=["ws"])
    host, port = d.addr("ws")
    assert _status(d, token=TOKEN, origin="http://%s:%d" % (host, port)) == 101


def test_origin_wildcard(webttyd):
    d = webttyd.start(listen=["ws"], args=["--allowed-origin", "*"])
    assert _status(d, token=TOKEN, origin="https://anything.example") == 101


def test_origin_checked_after_token(origin_d):
    """A bad token is refused whatever the Origin."""
    assert _status(origin_d, token="bad", origin="https://good.example") in (401, 403)


def test_plain_http_get_refused(webttyd):
    d = webttyd.start(listen=["ws"])
    host, port = d.addr("ws")
    status, reason, hdrs = wp.http_request(host, port, "/", headers={"Authorization": "Bearer " + TOKEN})
    assert status >= 400, (status, reason)
