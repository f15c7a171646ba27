"""End-to-end encryption and endpoint authentication, end to end: the real webttyd and
`webtty exec` with identities, authorized clients and known servers made by the real
`webtty` commands (protocol spec 4.2-4.4, 6, 7, 9; host spec 2, 11), and
tests/tools/wt-forge, a peer that does the same handshake with the library and then
breaks exactly one thing (a signature, a time, a transcript value, the grant, stdin, or,
as a server, the ServerHello).

Every refused session asks for a command that would leave a marker file, and the test
proves the file was never made: a refusal sent after the command ran is no refusal.
"""

import hashlib
import json
import os
import re
import select
import socket
import subprocess
import threading
import time

import pytest

from conftest import BUILDDIR, KNOWN_CHILDREN, PtyProcess, WEBTTY, _require

WT_FORGE = os.environ.get("WT_FORGE") or os.path.join(BUILDDIR, "tests", "tools", "wt-forge")
SH = "/bin/sh"
TEN_MIB = 10 * 1024 * 1024

PROOF_INVALID = "WebTTY client proof is invalid: "
TRANSCRIPT_MISMATCH = PROOF_INVALID + "transcript hash does not match"
NOT_AUTHORIZED = "WebTTY client signing key is not authorized"
UNWRAP_FAILED = ("failed to resolve session key grant: unwrap E2E payload key: "
                 "cipher: message authentication failed")
STDIN_AUTH_FAILED = "failed to decrypt stdin payload: decrypt E2E stdin payload: cipher: message authentication failed"
NEEDS_PIN = ("WebTTY server requires authenticated E2E; configure a known server endpoint identity "
             "before opening the session")


# ---------------------------------------------------------------------------
# identities and trust stores, made by the real `webtty` commands
# ---------------------------------------------------------------------------


def clean_env(extra):
    """The test's environment without any RSTREAM_* setting, plus extra."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("RSTREAM_")}
    e.update(extra)
    return e


class Trust:
    """A private RSTREAM_DATA_DIR:

    identities  srv (X25519, suite 1), srv3 (--suite fips-compatible, suite 3),
                me (X25519), me3 (P-256), other (never authorized anywhere);
    srv's and srv3's authorized_clients stores: laptop = me, laptop3 = me3;
    known_servers.json: srv (client identity me), srv3 (client identity me3).
    """

    def __init__(self, tmp_path):
        os.chmod(tmp_path, 0o700)
        self.tmp = str(tmp_path)
        self.root = os.path.join(self.tmp, "data")
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.env = {"RSTREAM_DATA_DIR": self.root, "HOME": self.home}
        self.endpoint = {}
        for name, fips in (("srv", False), ("srv3", True), ("me", False), ("me3", True), ("other", False)):
            self.create(name, fips)
        for store in ("srv", "srv3"):
            self.wt("authorized-client", "add", "laptop", "--key", self.endpoint["me"], "--identity", store)
            self.wt("authorized-client", "add", "laptop3", "--key", self.endpoint["me3"], "--identity", store)
        self.wt("known-server", "add", "srv", "--key", self.endpoint["srv"], "--client-identity", "me")
        self.wt("known-server", "add", "srv3", "--key", self.endpoint["srv3"], "--client-identity", "me3")

    def wt(self, *args, check=True):
        p = subprocess.run([WEBTTY] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=clean_env(self.env), timeout=30)
        if check:
            assert p.returncode == 0, "webtty %r failed: %r" % (args, p.stderr)
        return p

    def create(self, name, fips=False):
        args = ["identity", "create", "--name", name] + (["--suite", "fips-compatible"] if fips else [])
        self.wt(*args)
        ep = self.wt("identity", "show", "--name", name, "--endpoint-identity").stdout.decode().strip()
        assert ep.count(":") == 3, ep
        self.endpoint[name] = ep
        return ep

    def identity_file(self, name):
        return os.path.join(self.root, "webtty", "identities", name + ".identity.json")

    def store(self, name):
        return os.path.join(self.root, "webtty", "authorized_clients", name + ".json")

    def signing_key_id(self, name):
        return self.endpoint[name].split(":")[2]

    def private_keys(self, name):
        with open(self.identity_file(name)) as f:
            doc = json.load(f)
        return [doc["encryption_private_key"], doc["signing_private_key"]]

    def marker(self, name="ran"):
        return os.path.join(self.tmp, name)


@pytest.fixture
def trust(tmp_path, webtty_bin):
    return Trust(tmp_path)


@pytest.fixture
def forge_bin():
    return _require(WT_FORGE, "WT_FORGE")


def start_e2e(webttyd, trust, identity="srv", listen=("ws", "tcp", "unix"), args=(), extra_env=None,
              log_level="info"):
    """A webttyd with an endpoint identity from trust's data directory. A short close
    timeout makes a plain-transport server end the connection soon after a refusal."""
    env = {"RSTREAM_DATA_DIR": trust.root}
    env.update(extra_env or {})
    a = (["--identity", identity] if identity else []) + ["--close-timeout", "500ms"] + list(args)
    return webttyd.start(listen=listen, args=a, extra_env=env, log_level=log_level)


def url_args(dm, kind):
    a = ["--url", dm.client_url(kind)]
    if kind == "ws":
        a += ["--auth-token-file", os.path.join(dm.dir, "token")]
    return a


def wexec(dm, trust, kind, cmd, opts=("--known-server", "srv"), input=b"", timeout=60.0, env=None):
    """`webtty exec` against dm with trust's data directory."""
    e = dict(trust.env)
    e.update(env or {})
    argv = [WEBTTY, "exec"] + url_args(dm, kind) + list(opts) + ["--"] + list(cmd)
    try:
        return subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=clean_env(e), timeout=timeout)
    except subprocess.TimeoutExpired as ex:
        pytest.fail("webtty exec %r timed out; stderr=%r" % (cmd, ex.stderr))


def client_error(url, text):
    """What `webtty exec` prints for a failed session."""
    return ("webtty: %s: %s\n" % (url, text)).encode()


def touch(trust, name="ran"):
    """A command that leaves a marker file if it ever runs."""
    return [SH, "-c", "touch '%s'" % trust.marker(name)]


def assert_not_ran(trust, name="ran"):
    assert not os.path.exists(trust.marker(name)), "the command ran although the session was refused"


def assert_no_child(dm):
    """The daemon never started a process (each test has its own daemon)."""
    log = dm.stderr()
    assert "starting child process" not in log, log[-3000:]
    assert "session accepted" not in log, log[-3000:]


def forge_client(dm, trust, kind, defect, cmd, identity="me", server="srv", stdin=None, extra=()):
    argv = [WT_FORGE, "client", "--url", dm.client_url(kind), "--server-key", trust.endpoint[server],
            "--identity-file", trust.identity_file(identity), "--defect", defect]
    if kind == "ws":
        argv += ["--auth-token-file", os.path.join(dm.dir, "token")]
    if stdin is not None:
        argv += ["--stdin", stdin]
    argv += list(extra) + ["--"] + list(cmd)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=40)
    assert p.returncode == 0, "wt-forge %s failed (%d): %r" % (defect, p.returncode, p.stderr)
    return json.loads(p.stdout)


def assert_server_ended(res, kind):
    """After refusing, the server ends the transport: a WebSocket close 1000 "finished",
    or (plain) the end of the stream once its close timeout has passed."""
    assert res["ended"], res
    if kind == "ws":
        assert (res["end"], res["ws_close_code"], res["ws_close_reason"]) == ("wsclose", 1000, "finished"), res
    else:
        assert res["end"] == "eof", res


# ---------------------------------------------------------------------------
# working sessions
# ---------------------------------------------------------------------------


def test_e2e_pipe_session(webttyd, trust, kind):
    dm = start_e2e(webttyd, trust)
    p = wexec(dm, trust, kind, [SH, "-c", "cat; echo err >&2; exit 7"], input=b"hello\nworld\n")
    assert (p.returncode, p.stdout, p.stderr) == (7, b"hello\nworld\n", b"err\n")
    dm.assert_log("session accepted")
    accepted = [ln for ln in dm.stderr().splitlines() if "session accepted" in ln]
    assert len(accepted) == 1, accepted
    assert "client_signing_key_id=%s" % trust.signing_key_id("me") in accepted[0], accepted[0]
    assert "server_signing_key_id=%s" % trust.signing_key_id("srv") in accepted[0], accepted[0]
    assert "e2e=true" in accepted[0] and "client_proof_required=true" in accepted[0], accepted[0]


def test_e2e_stdin_echo_on_the_wire(webttyd, trust, forge_bin):
    """The correct forge client (defect none) is a second, independent E2E client: stdin it
    seals comes back from cat, sealed by the server, and decrypts."""
    dm = start_e2e(webttyd, trust)
    out = forge_client(dm, trust, "unix", "none", ["cat"], stdin="echo me\n")
    res = out["result"]
    assert (res["first"], res["ack"], res["close_code"], res["fatal"]) == ("ack", True, 0, None), res
    assert res["stdout"] == "echo me\n", res
    # Every output message was encrypted: the forge client flags cleartext output as fatal.
    assert out["hello"]["auth_requirement"] == 2


@pytest.mark.parametrize("script,status,close_code", [("exit 0", 0, 0), ("exit 7", 7, 7),
                                                      ("kill -9 $$", 1, -1), ("kill -15 $$", 1, -1)],
                         ids=["exit0", "exit7", "sigkill", "sigterm"])
def test_e2e_exit_status(webttyd, trust, forge_bin, script, status, close_code):
    dm = start_e2e(webttyd, trust)
    p = wexec(dm, trust, "unix", [SH, "-c", script])
    assert p.returncode == status, (p.returncode, p.stderr)
    assert p.stderr == b""
    # On the wire: a signal death travels as Close -1 (spec 4.8), which the client maps to 1.
    res = forge_client(dm, trust, "unix", "none", [SH, "-c", script])["result"]
    assert res["close_code"] == close_code, res


@pytest.mark.parametrize("kind", ["unix", "tcp", "ws"])
def test_e2e_pty_session(webttyd, trust, kind):
    dm = start_e2e(webttyd, trust)
    argv = [WEBTTY, "exec"] + url_args(dm, kind) + ["-t", "--known-server", "srv", "--", SH, "-c",
                                                    "tty; stty size; IFS= read -r l; echo \"got:$l\"; exit 3"]
    p = PtyProcess(argv, rows=33, cols=99, env=trust.env)
    try:
        p.run_until_exit(15, until=lambda pp: b"33 99" in pp.out)
        assert b"33 99\r\n" in p.out, (bytes(p.out), bytes(p.err))
        p.write(b"typed over e2e\r")
        rc = p.run_until_exit(15)
    finally:
        p.close()
    assert rc == 3, (rc, bytes(p.out), bytes(p.err))
    assert re.search(rb"/dev/pts/\d+\r\n", p.out), bytes(p.out)
    assert b"got:typed over e2e\r\n" in p.out, bytes(p.out)
    log = dm.wait_log("backend=tty")
    assert "backend=tty" in log and "e2e=true" in log, log[-2000:]


@pytest.mark.parametrize("server,client", [("srv", "me"), ("srv", "me3"), ("srv3", "me"), ("srv3", "me3")])
def test_e2e_suites(webttyd, trust, forge_bin, server, client):
    """Server identity X25519 (suite 1) or P-256 (--suite fips-compatible, suite 3); the
    client's identity (only its P-256 signing key matters) of either kind. The payload
    suite follows the server's key envelope suite (spec 7.1)."""
    suite = 3 if server == "srv3" else 1
    dm = start_e2e(webttyd, trust, identity=server)
    p = wexec(dm, trust, "unix", [SH, "-c", "cat; exit 4"], input=b"suite test\n",
              opts=["--known-server-key", trust.endpoint[server], "--identity", client])
    assert (p.returncode, p.stdout, p.stderr) == (4, b"suite test\n", b"")
    out = forge_client(dm, trust, "ws", "none", ["cat"], identity=client, server=server, stdin="x\n")
    assert out["hello"]["payload_suites"] == [suite], out["hello"]
    assert out["hello"]["key_envelope_suites"] == [suite], out["hello"]
    assert out["hello"]["identity_suite"] == suite, out["hello"]
    assert out["grant"] == {"payload_suite": suite, "key_envelope_suite": suite}, out["grant"]
    assert out["result"]["stdout"] == "x\n", out["result"]


def test_e2e_known_server_store_suite3(webttyd, trust):
    """--known-server srv3 takes both the pinned key and the client identity (me3) from
    known_servers.json."""
    dm = start_e2e(webttyd, trust, identity="srv3")
    p = wexec(dm, trust, "tcp", ["cat"], input=b"via store\n", opts=["--known-server", "srv3"])
    assert (p.returncode, p.stdout, p.stderr) == (0, b"via store\n", b"")
    dm.assert_log("client_signing_key_id=%s" % trust.signing_key_id("me3"))


@pytest.mark.wt_timeout(120)
@pytest.mark.parametrize("kind", ["ws", "tcp"])
def test_e2e_10mib_stdin(webttyd, trust, kind):
    dm = start_e2e(webttyd, trust)
    blob = os.urandom(TEN_MIB)
    p = wexec(dm, trust, kind, ["sha256sum"], input=blob, timeout=90)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[0].decode() == hashlib.sha256(blob).hexdigest()


@pytest.mark.wt_timeout(120)
@pytest.mark.parametrize("kind", ["ws", "unix"])
def test_e2e_10mib_output(webttyd, trust, kind):
    dm = start_e2e(webttyd, trust)
    blob = os.urandom(TEN_MIB)
    path = os.path.join(trust.tmp, "big.bin")
    with open(path, "wb") as f:
        f.write(blob)
    p = wexec(dm, trust, kind, ["cat", path], timeout=90)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) == TEN_MIB
    assert hashlib.sha256(p.stdout).digest() == hashlib.sha256(blob).digest()


@pytest.mark.wt_timeout(120)
def test_e2e_10mib_both_ways_suite3(webttyd, trust):
    """10 MiB in and the same 10 MiB out at once, with the P-256 suite (nonce inside the
    ciphertext, spec 7.8)."""
    dm = start_e2e(webttyd, trust, identity="srv3")
    blob = os.urandom(TEN_MIB)
    p = wexec(dm, trust, "unix", ["cat"], input=blob, opts=["--known-server", "srv3"], timeout=90)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) == TEN_MIB
    assert hashlib.sha256(p.stdout).digest() == hashlib.sha256(blob).digest()


# ---------------------------------------------------------------------------
# authorization sources (host spec 2.2)
# ---------------------------------------------------------------------------


def test_authorized_clients_file_reread_per_session(webttyd, trust):
    """`webtty authorized-client remove/add` take effect for the next session, without a
    restart."""
    dm = start_e2e(webttyd, trust, listen=["unix"])
    url = dm.client_url("unix")
    p = wexec(dm, trust, "unix", ["echo", "before"])
    assert (p.returncode, p.stdout) == (0, b"before\n"), p.stderr

    trust.wt("authorized-client", "remove", "laptop", "--identity", "srv")
    p = wexec(dm, trust, "unix", touch(trust))
    assert p.returncode == 1
    assert p.stderr == client_error(url, "server error: " + NOT_AUTHORIZED)
    assert_not_ran(trust)
    dm.assert_log("reason_code=client_unauthorized")
    # The other authorized key of the same store still works.
    p = wexec(dm, trust, "unix", ["echo", "me3"], opts=["--known-server-key", trust.endpoint["srv"],
                                                       "--identity", "me3"])
    assert (p.returncode, p.stdout) == (0, b"me3\n"), p.stderr

    trust.wt("authorized-client", "add", "laptop-again", "--key", trust.endpoint["me"], "--identity", "srv")
    p = wexec(dm, trust, "unix", ["echo", "after"])
    assert (p.returncode, p.stdout) == (0, b"after\n"), p.stderr

    # A brand-new identity: refused, then accepted once added, same daemon.
    opts = ["--known-server-key", trust.endpoint["srv"], "--identity", "other"]
    p = wexec(dm, trust, "unix", touch(trust, "other-ran"), opts=opts)
    assert p.stderr == client_error(url, "server error: " + NOT_AUTHORIZED)
    assert_not_ran(trust, "other-ran")
    trust.wt("authorized-client", "add", "--key", trust.endpoint["other"], "--identity", "srv")
    p = wexec(dm, trust, "unix", ["echo", "other"], opts=opts)
    assert (p.returncode, p.stdout) == (0, b"other\n"), p.stderr
    assert dm.proc.poll() is None


@pytest.mark.parametrize("via", ["flag", "env"])
def test_static_authorized_client_key(webttyd, trust, via):
    """--authorized-client-key (or RSTREAM_WEBTTY_AUTHORIZED_CLIENT_KEYS), with an empty
    authorized clients file: only the static key is accepted."""
    empty = os.path.join(trust.tmp, "no-such-store.json")
    args = ["--identity-file", trust.identity_file("srv3"), "--authorized-clients-file", empty]
    extra = {}
    if via == "flag":
        args += ["--authorized-client-key", trust.endpoint["other"]]
    else:
        extra["RSTREAM_WEBTTY_AUTHORIZED_CLIENT_KEYS"] = trust.endpoint["other"].split(":", 2)[2]
    dm = start_e2e(webttyd, trust, identity=None, listen=["unix"], args=args, extra_env=extra)
    key = trust.endpoint["srv3"]
    p = wexec(dm, trust, "unix", ["echo", "static"], opts=["--known-server-key", key, "--identity", "other"])
    assert (p.returncode, p.stdout) == (0, b"static\n"), p.stderr
    # me3 is authorized in srv3's store, but this daemon reads another (empty) file.
    p = wexec(dm, trust, "unix", touch(trust), opts=["--known-server-key", key, "--identity", "me3"])
    assert p.stderr == client_error(dm.client_url("unix"), "server error: " + NOT_AUTHORIZED)
    assert_not_ran(trust)


def test_authorized_clients_file_group_readable_fails_closed(webttyd, trust):
    """A store that cannot be trusted fails the handshake (plain Error), and the next
    session works once it is fixed."""
    dm = start_e2e(webttyd, trust, listen=["unix"])
    store = trust.store("srv")
    os.chmod(store, 0o640)
    p = wexec(dm, trust, "unix", touch(trust))
    assert p.returncode == 1
    assert p.stderr == client_error(dm.client_url("unix"),
                                    "server error: WebTTY authorized client keys could not be loaded")
    assert_not_ran(trust)
    dm.assert_log("authorized WebTTY client keys file %s must not be readable by group or others" % store)
    os.chmod(store, 0o600)
    p = wexec(dm, trust, "unix", ["echo", "fixed"])
    assert (p.returncode, p.stdout) == (0, b"fixed\n"), p.stderr


# ---------------------------------------------------------------------------
# forged Opens (wt-forge client)
# ---------------------------------------------------------------------------

# defect -> (first message, ProtocolError code, text, daemon reason_code)
CLIENT_DEFECTS = {
    "bad-signature": ("protocol_error", 5, PROOF_INVALID + "signature is invalid: invalid WebTTY proof signature",
                      "client_proof_invalid"),
    "unknown-key": ("protocol_error", 6, NOT_AUTHORIZED, "client_unauthorized"),
    "expired": ("protocol_error", 5, PROOF_INVALID + "WebTTY client proof has expired", "client_proof_invalid"),
    "future": ("protocol_error", 5, PROOF_INVALID + "WebTTY client proof is not valid yet", "client_proof_invalid"),
    "long-lifetime": ("protocol_error", 5, PROOF_INVALID + "WebTTY client proof lifetime exceeds 30s",
                      "client_proof_invalid"),
    "wrong-transport": ("protocol_error", 5, TRANSCRIPT_MISMATCH, "client_proof_invalid"),
    "wrong-nonce": ("protocol_error", 5, TRANSCRIPT_MISMATCH, "client_proof_invalid"),
    "wrong-session-id": ("protocol_error", 5, TRANSCRIPT_MISMATCH, "client_proof_invalid"),
    # the grant changed after signing: its hash is in the transcript
    "tampered-grant": ("protocol_error", 5, TRANSCRIPT_MISMATCH, "client_proof_invalid"),
    # changed before signing: the proof is good, the envelope does not open (spec 4.4 step 4)
    "tampered-grant-signed": ("error", None, UNWRAP_FAILED, "session_key_grant_invalid"),
    "missing-grant": ("error", None, "E2E session key grant is required", "session_key_grant_invalid"),
    "missing-proof": ("protocol_error", 4, "WebTTY client proof is required", "client_proof_required"),
}

# suite 1 over unix and ws, suite 3 over tcp
DEFECT_SETUPS = [("unix", "srv", "me"), ("ws", "srv", "me"), ("tcp", "srv3", "me3")]


@pytest.mark.parametrize("kind,server,client", DEFECT_SETUPS, ids=["unix", "ws", "tcp-suite3"])
@pytest.mark.parametrize("defect", sorted(CLIENT_DEFECTS))
def test_forged_open_refused(webttyd, trust, forge_bin, defect, kind, server, client):
    first, code, text, reason = CLIENT_DEFECTS[defect]
    dm = start_e2e(webttyd, trust, identity=server)
    out = forge_client(dm, trust, kind, defect, touch(trust), identity=client, server=server)
    res = out["result"]
    assert (res["first"], res["code"], res["message"]) == (first, code, text), res
    assert not res["ack"] and res["after"] == [], res
    assert_server_ended(res, kind)
    assert_not_ran(trust)
    dm.assert_log("reason_code=%s" % reason)
    assert_no_child(dm)


@pytest.mark.parametrize("kind", ["unix", "ws"])
def test_forged_open_control(webttyd, trust, forge_bin, kind):
    """The same tool with no defect is accepted: the refusals above are the defects'."""
    dm = start_e2e(webttyd, trust)
    res = forge_client(dm, trust, kind, "none", touch(trust))["result"]
    assert (res["first"], res["ack"], res["close_code"], res["fatal"]) == ("ack", True, 0, None), res
    assert os.path.exists(trust.marker())


@pytest.mark.parametrize("kind,name,accepted", [
    ("unix", "websocket", False),
    ("unix", "webtransport", False),
    ("ws", "plain", False),
    # spec 6.5: text fields are trimmed before they are hashed
    ("unix", " plain\t", True),
    ("ws", "\twebsocket ", True),
], ids=["plain-as-websocket", "plain-as-webtransport", "websocket-as-plain", "plain-padded", "websocket-padded"])
def test_forged_open_transport_name(webttyd, trust, forge_bin, kind, name, accepted):
    """The proof binds the transport the client believes it is on; the server checks it
    against its own."""
    dm = start_e2e(webttyd, trust)
    res = forge_client(dm, trust, kind, "wrong-transport", touch(trust), extra=["--transport-name", name])["result"]
    if accepted:
        assert (res["first"], res["close_code"]) == ("ack", 0), res
        assert os.path.exists(trust.marker())
        return
    assert (res["first"], res["code"], res["message"]) == ("protocol_error", 5, TRANSCRIPT_MISMATCH), res
    assert_not_ran(trust)
    assert_no_child(dm)


@pytest.mark.parametrize("kind", ["unix", "ws"])
def test_replayed_open_refused(webttyd, trust, forge_bin, kind):
    """An Open that was accepted on connection 1 is sent again, byte for byte, on
    connection 2. The replay cache never gets to see it: the transcript of connection 2
    has a fresh server nonce and session id (spec 6.7), so the proof already fails the
    transcript check, with that text, before the cache is consulted. (The cache's
    "WebTTY client proof is invalid: proof was already used" can only be reached with the
    very same nonce, i.e. the same connection, where "process already started" comes first;
    it is unit-tested in lib.)"""
    dm = start_e2e(webttyd, trust)
    marker = trust.marker("count")
    out = forge_client(dm, trust, kind, "replay", [SH, "-c", "echo once >> '%s'" % marker])
    first, res = out["replay_first"], out["result"]
    assert (first["first"], first["close_code"]) == ("ack", 0), first
    assert (res["first"], res["code"], res["message"]) == ("protocol_error", 5, TRANSCRIPT_MISMATCH), res
    assert_server_ended(res, kind)
    with open(marker) as f:
        assert f.read() == "once\n", "the replayed Open ran the command again"
    assert dm.stderr().count("starting child process") == 1


STDIN_DEFECTS = {
    "plaintext-stdin": "plaintext WebTTY stdin payload is not allowed in an E2E session",
    "bad-payload-tag": STDIN_AUTH_FAILED,
    # sealed under the "stdout" label: the server opens with its own "stdin" label (spec 7.8)
    "wrong-stream-label": STDIN_AUTH_FAILED,
}


@pytest.mark.parametrize("kind", ["unix", "ws"])
@pytest.mark.parametrize("defect", sorted(STDIN_DEFECTS))
def test_forged_stdin_refused(webttyd, trust, forge_bin, defect, kind):
    """A valid session, then stdin that is in clear or does not authenticate: the session
    ends (the daemon logs why; nothing is sent back) and the line never reaches the
    child, which would have written it to the marker file."""
    dm = start_e2e(webttyd, trust)
    secret = "stdin-secret-%s\n" % os.urandom(6).hex()
    cmd = [SH, "-c", "IFS= read -r l && printf '%%s' \"$l\" > '%s'" % trust.marker()]
    res = forge_client(dm, trust, kind, defect, cmd, stdin=secret)["result"]
    assert (res["first"], res["ack"]) == ("ack", True), res
    assert res["after"] == [] and res["close_code"] is None, res
    assert_server_ended(res, kind)
    assert_not_ran(trust)
    dm.assert_log('error="%s"' % STDIN_DEFECTS[defect])
    assert secret.strip() not in dm.stderr()
    assert "exit_code=-1" in dm.wait_log("session closed"), "the child was not killed"


# ---------------------------------------------------------------------------
# the client's side: pinned identity, forged ServerHellos (wt-forge server)
# ---------------------------------------------------------------------------


class ForgeServer:
    def __init__(self, trust, identity, defect):
        self.path = os.path.join(trust.tmp, "forge.sock")
        self.url = "unix:" + self.path
        self.proc = subprocess.Popen([WT_FORGE, "server", "--listen", self.url, "--identity-file",
                                      trust.identity_file(identity), "--defect", defect, "--timeout", "8000"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        KNOWN_CHILDREN.add(self.proc.pid)
        line = self.proc.stderr.readline().decode()
        assert line.startswith("wt-forge: listening on"), line

    def report(self):
        try:
            out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("wt-forge server did not finish")
        assert self.proc.returncode == 0, err
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


SERVER_DEFECTS = {
    "bad-proof": "WebTTY server proof signature is invalid: invalid WebTTY proof signature",
    "wrong-key": "WebTTY server identity does not match the expected identity",
    "wrong-signer": "WebTTY server proof signature is invalid: invalid WebTTY proof signature",
    "downgrade": "WebTTY server does not advertise the required AES-256-GCM payload suite",
    "downgrade-auth": "WebTTY server proof transcript hash does not match",
    "no-hello": "operation timeout",
}


@pytest.mark.parametrize("server,client", [("srv", "me"), ("srv3", "me3")], ids=["suite1", "suite3"])
@pytest.mark.parametrize("defect", sorted(SERVER_DEFECTS) + ["none"])
def test_forged_server_hello(trust, forge_bin, defect, server, client):
    """The client checks the ServerHello (spec 6.3) and, when it fails, closes without
    sending anything: no Open, so not even a grant or proof leaves the client."""
    fs = ForgeServer(trust, server, defect)
    try:
        t0 = time.monotonic()
        p = subprocess.run([WEBTTY, "exec", "--url", fs.url, "--known-server-key", trust.endpoint[server],
                            "--identity", client, "--open-timeout", "500ms", "--"] + touch(trust),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=clean_env(trust.env), timeout=20)
        elapsed = time.monotonic() - t0
        rep = fs.report()
    finally:
        fs.kill()
    assert_not_ran(trust)  # wt-forge never runs anything; the point is the client's verdict
    if defect == "none":
        assert (p.returncode, p.stdout, p.stderr) == (0, b"wt-forge-ok\n", b"")
        # after the Open, at most the stdin eos the client may send before it reads Close
        assert rep["received"][0] == "open" and set(rep["received"][1:]) <= {"data"}, rep
        assert rep["proof"] == "ok", rep
        return
    assert p.returncode == 1
    assert p.stderr == client_error(fs.url, SERVER_DEFECTS[defect])
    assert rep["received"] == [], "the client sent %r after a bad ServerHello" % rep["received"]
    assert rep["ended"], rep
    if defect == "no-hello":
        assert 0.4 < elapsed < 5, elapsed


def test_client_refuses_changed_server_key(webttyd, trust):
    """The known server entry names another identity than the one the daemon has."""
    dm = start_e2e(webttyd, trust)
    trust.wt("known-server", "add", "srv", "--key", trust.endpoint["other"])
    for kind in ("unix", "ws"):
        p = wexec(dm, trust, kind, touch(trust))
        assert p.returncode == 1
        assert p.stderr == client_error(dm.client_url(kind),
                                        "WebTTY server identity does not match the expected identity")
    assert_not_ran(trust)
    # The client hung up after the hello: the daemon saw no Open at all.
    dm.assert_log("reason_code=client_disconnected")
    assert "session rejected" not in dm.stderr()
    assert_no_child(dm)


@pytest.mark.parametrize("kind", ["unix", "ws"])
def test_client_pinned_against_server_without_identity(webttyd, trust, kind):
    """A plain webttyd sends no ServerHello; a client that pins an identity waits for one
    and gives up at its open deadline, having sent nothing."""
    dm = webttyd.start(listen=["ws", "unix"])
    t0 = time.monotonic()
    p = wexec(dm, trust, kind, touch(trust), opts=["--known-server-key", trust.endpoint["srv"],
                                                  "--identity", "me", "--open-timeout", "500ms"])
    elapsed = time.monotonic() - t0
    assert p.returncode == 1
    assert p.stderr == client_error(dm.client_url(kind), "operation timeout")
    assert 0.4 < elapsed < 4, elapsed
    assert_not_ran(trust)
    assert_no_child(dm)


def test_client_e2e_flag_needs_pinned_identity(webttyd, trust):
    dm = webttyd.start(listen=["unix"])
    p = wexec(dm, trust, "unix", touch(trust), opts=["--e2e"])
    assert p.returncode == 1
    assert p.stderr == client_error(dm.client_url("unix"), "WebTTY E2E requires a known server endpoint identity")
    assert_not_ran(trust)
    assert_no_child(dm)


def test_client_without_identity_against_proof_server(webttyd, trust):
    dm = start_e2e(webttyd, trust, listen=["unix"])
    p = wexec(dm, trust, "unix", touch(trust), opts=["--known-server-key", trust.endpoint["srv"]])
    assert p.returncode == 1
    assert p.stderr == client_error(dm.client_url("unix"), "WebTTY server requires a client proof, but no client "
                                                           "endpoint identity is configured")
    assert_not_ran(trust)
    assert_no_child(dm)


def test_client_without_pin_against_identity_server(webttyd, trust):
    """An unpinned client sends a plain Open at once; the daemon refuses it (no proof,
    code 4) and the client, seeing the ServerHello first, reports it needs a pin."""
    dm = start_e2e(webttyd, trust, listen=["unix"])
    p = wexec(dm, trust, "unix", touch(trust), opts=[])
    assert p.returncode == 1
    assert p.stderr == client_error(dm.client_url("unix"), NEEDS_PIN)
    assert_not_ran(trust)
    dm.assert_log('reason_code=client_proof_required error="WebTTY client proof is required"')
    assert_no_child(dm)


# ---------------------------------------------------------------------------
# daemon start, logs, the wire
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_daemon_refuses_group_readable_identity_file(webttyd, trust, mode):
    path = os.path.join(trust.tmp, "loose.identity.json")
    trust.wt("identity", "create", "--identity-file", path)
    os.chmod(path, mode)
    sock = os.path.join(trust.tmp, "never.sock")
    rc, err = webttyd.run_fail(["--listen", "unix:" + sock, "--identity-file", path])
    assert rc == 1, (rc, err)
    line = "webttyd: E2E identity file %s must not be readable by group or others" % path
    assert line in err.splitlines(), err
    assert "ready" not in err and not os.path.exists(sock), err


def test_daemon_log_never_contains_payload_or_keys(webttyd, trust):
    """At debug level, through a session whose stdin, stdout and stderr carry a secret, the
    daemon log names keys only by their public ids."""
    dm = start_e2e(webttyd, trust, log_level="debug")
    secret = "s3cret-payload-%s" % os.urandom(8).hex()
    p = wexec(dm, trust, "ws", ["tee", "/dev/stderr"], input=(secret + "\n").encode())
    assert (p.returncode, p.stdout, p.stderr) == (0, (secret + "\n").encode(), (secret + "\n").encode())
    forge_client(dm, trust, "unix", "plaintext-stdin", ["cat"], stdin=secret + "\n")
    forge_client(dm, trust, "unix", "bad-payload-tag", ["cat"], stdin=secret + "\n")
    dm.wait_log("session closed")
    log = dm.stderr()
    assert "session accepted" in log
    assert secret not in log
    for name in ("srv", "me"):
        for key in trust.private_keys(name):
            assert key not in log, "private key of %s in the daemon log" % name


class Recorder:
    """A TCP relay that keeps a copy of every byte in both directions."""

    def __init__(self, target):
        self.target = target
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.c2s = bytearray()
        self.s2c = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.lsock.settimeout(20)
        a, _ = self.lsock.accept()
        b = socket.create_connection(self.target)
        peers = {a: (b, self.c2s), b: (a, self.s2c)}
        open_ = {a, b}
        while open_:
            r, _, _ = select.select(list(open_), [], [], 20)
            if not r:
                break
            for s in r:
                data = s.recv(65536)
                dst, rec = peers[s]
                if not data:
                    open_.discard(s)
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                rec += data
                dst.sendall(data)
        a.close()
        b.close()
        self.lsock.close()


def test_e2e_payload_never_on_the_wire_in_clear(webttyd, trust):
    """Spec 7.10: the terminal bytes are encrypted in both directions; the command line
    (Open.config) is not, and is bound by the proof instead."""
    dm = start_e2e(webttyd, trust, listen=["tcp"])
    rec = Recorder(dm.addr("tcp"))
    secret = b"wire-secret-" + os.urandom(8).hex().encode()
    argv = [WEBTTY, "exec", "--url", "tcp://127.0.0.1:%d" % rec.port, "--known-server", "srv", "--",
            SH, "-c", "cat; cat >&2 <<EOF\nstderr-$(cat /dev/null)wire-secret-copy\nEOF\nexit 0"]
    p = subprocess.run(argv, input=secret * 100, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=clean_env(trust.env), timeout=30)
    rec.thread.join(10)
    assert p.returncode == 0, p.stderr
    assert p.stdout == secret * 100
    assert p.stderr == b"stderr-wire-secret-copy\n"
    assert len(rec.c2s) > len(secret) * 100 and len(rec.s2c) > len(secret) * 100
    assert secret not in rec.c2s and secret not in rec.s2c
    assert b"stderr-wire-secret-copy" not in rec.s2c
    assert b"wire-secret-copy" in rec.c2s  # in the command line, which travels in clear
