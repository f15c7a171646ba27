"""The real `webtty identity`, `webtty authorized-client` and `webtty known-server`
commands (host spec §1.7, §2.1, §2.2) in a private RSTREAM_DATA_DIR: outputs (text and
JSON), file formats and modes, the permission refusals of §11, add/replace/remove."""

import json
import os
import re
import stat

import pytest

from conftest import run_webtty

B64U = re.compile(r"^[A-Za-z0-9_-]+$")

# Protocol spec Appendix A.5: a 4-part endpoint identity and its signing half.
A5_IDENTITY = ("bwQL-7ryWbO_hDcq4EGeCg:B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw:"
               "RDMt590iVkNdqfYMoFHoXOYtAYyHNRm9G0OpZhoD2TY:"
               "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A_4QCLi8m"
               "aQa6elWKLxk8vGyDC1-n1F3o8KU1EYimQ")
A5_SIG_ID = "RDMt590iVkNdqfYMoFHoXOYtAYyHNRm9G0OpZhoD2TY"
A5_AUTHORIZED = A5_IDENTITY.split(":", 2)[2]


@pytest.fixture
def data(tmp_path, webtty_bin):
    root = tmp_path / "data"
    os.chmod(tmp_path, 0o700)
    return root


def wt(data, *args, env=None, check=True):
    e = {"RSTREAM_DATA_DIR": str(data), "HOME": str(data.parent)}
    e.update(env or {})
    res = run_webtty(list(args), env=e)
    if check:
        assert res.returncode == 0, "webtty %r failed: %r" % (args, res.stderr)
    return res


def out(res):
    return res.stdout.decode()


def err(res):
    return res.stderr.decode()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_identity_create_show_list(data):
    res = wt(data, "identity", "create", "--name", "srv")
    text = out(res)
    path = data / "webtty" / "identities" / "srv.identity.json"
    lines = text.splitlines()
    assert [l.split(": ", 1)[0] for l in lines] == [
        "Name", "Identity", "Encryption key ID", "Encryption public key", "Encryption fingerprint",
        "Signing key ID", "Signing public key", "Signing fingerprint", "Endpoint identity"]
    assert lines[0] == "Name: srv"
    assert lines[1] == "Identity: %s" % path
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert not [n for n in os.listdir(path.parent) if n.endswith((".tmp", ".lock"))]

    doc = json.loads(path.read_text())
    assert list(doc) == ["version", "crypto_suite", "encryption_key_id", "encryption_public_key",
                         "encryption_private_key", "signing_key_id", "signing_public_key",
                         "signing_private_key", "created_at"]
    assert doc["version"] == 1
    assert doc["crypto_suite"] == "webtty-endpoint-x25519-ecdsa-p256-v1"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc["created_at"])
    raw = path.read_text()
    assert raw.endswith("}\n") and not raw.endswith("\n\n")
    assert raw.startswith('{\n  "version": 1,\n  "crypto_suite": ')

    shown = json.loads(out(wt(data, "identity", "show", "--name", "srv", "-o", "json")))
    assert sorted(shown) == list(shown)  # the reference prints a Go map: sorted keys
    assert shown["status"] == "loaded"
    assert shown["name"] == "srv"
    assert shown["identity"] == str(path)
    assert shown["encryption_key_id"] == doc["encryption_key_id"]
    assert shown["signing_public_key"] == doc["signing_public_key"]
    assert shown["encryption_fingerprint"].startswith("sha256:")
    assert shown["endpoint_identity"] == ":".join([doc["encryption_key_id"], doc["encryption_public_key"],
                                                   doc["signing_key_id"], doc["signing_public_key"]])
    assert "Encryption key ID: %s" % doc["encryption_key_id"] in text

    # create again: the file is returned unchanged, still reported as "created"
    again = json.loads(out(wt(data, "identity", "create", "--name", "srv", "--json")))
    assert again["status"] == "created"
    assert again["endpoint_identity"] == shown["endpoint_identity"]
    assert json.loads(path.read_text()) == doc

    endpoint = out(wt(data, "identity", "show", "--name", "srv", "--endpoint-identity"))
    assert endpoint == shown["endpoint_identity"] + "\n"

    wt(data, "identity", "create", "--name", "alpha", "--suite", "fips-compatible")
    adoc = json.loads((data / "webtty" / "identities" / "alpha.identity.json").read_text())
    assert adoc["crypto_suite"] == "webtty-endpoint-p256-hkdf-sha256-aes-256-gcm-random-nonce-ecdsa-p256-v1"
    listing = out(wt(data, "identity", "list")).splitlines()
    assert listing == [
        "alpha encryption=%s signing=%s" % (adoc["encryption_key_id"], adoc["signing_key_id"]),
        "srv encryption=%s signing=%s" % (doc["encryption_key_id"], doc["signing_key_id"]),
    ]
    lj = json.loads(out(wt(data, "identity", "list", "-o", "json")))
    assert [i["name"] for i in lj["identities"]] == ["alpha", "srv"]
    assert "status" not in lj["identities"][0]


def test_identity_file_and_errors(data, tmp_path):
    f = tmp_path / "keys" / "my.identity.json"
    res = wt(data, "identity", "create", "--identity-file", str(f))
    assert out(res).splitlines()[0] == "Name: my.identity"
    assert mode(f) == 0o600

    res = wt(data, "identity", "show", check=False)
    assert res.returncode == 1 and err(res) == "webtty: --name or --identity-file is required\n"
    res = wt(data, "identity", "show", "--name", "a", "--identity-file", str(f), check=False)
    assert err(res) == "webtty: --name cannot be combined with --identity-file\n"
    res = wt(data, "identity", "create", "--name", "bad/name", check=False)
    assert err(res) == "webtty: --server-id contains unsupported characters\n"
    res = wt(data, "identity", "show", "--name", "srv", "--endpoint-identity", "-o", "json", check=False)
    assert err(res) == "webtty: --endpoint-identity cannot be combined with --output json\n"
    res = wt(data, "identity", "list", "-o", "xml", check=False)
    assert err(res) == 'webtty: invalid --output "xml" (valid: [text json])\n'
    res = wt(data, "identity", "show", "--name", "missing", check=False)
    p = data / "webtty" / "identities" / "missing.identity.json"
    assert err(res) == "webtty: failed to load WebTTY identity: open %s: No such file or directory\n" % p

    # an identity file readable by the group is refused, with the exact message
    os.chmod(f, 0o640)
    res = wt(data, "identity", "show", "--identity-file", str(f), check=False)
    assert res.returncode == 1
    assert err(res) == ("webtty: failed to load WebTTY identity: E2E identity file %s must not be readable "
                        "by group or others\n" % f)
    res = wt(data, "identity", "create", "--identity-file", str(f), check=False)
    assert err(res) == ("webtty: failed to create WebTTY identity: E2E identity file %s must not be readable "
                        "by group or others\n" % f)
    os.chmod(f, 0o600)

    # a corrupt file is reported with the load prefix and never overwritten
    f.write_text('{"version": 2}\n')
    res = wt(data, "identity", "create", "--identity-file", str(f), check=False)
    assert err(res) == ("webtty: failed to create WebTTY identity: load WebTTY endpoint identity %s: "
                        "unsupported WebTTY endpoint identity version 2\n" % f)
    assert f.read_text() == '{"version": 2}\n'


def test_identity_list_empty_and_remove(data):
    res = wt(data, "identity", "list")
    assert out(res) == "No WebTTY identities.\n"
    assert json.loads(out(wt(data, "identity", "list", "--json"))) == {"identities": None}
    wt(data, "identity", "create", "--name", "gone")
    res = wt(data, "identity", "remove", "gone")
    assert out(res) == "Removed WebTTY identity: gone\n"
    assert json.loads(out(wt(data, "identity", "list", "--json"))) == {"identities": []}
    res = wt(data, "identity", "remove", "gone", check=False)
    assert err(res) == 'webtty: WebTTY identity "gone" was not found\n'
    res = wt(data, "identity", "remove", "../x", check=False)
    assert err(res) == "webtty: identity name contains unsupported characters\n"
    (data / "webtty" / "identities" / "bad name.identity.json").write_text("{}")
    res = wt(data, "identity", "list", check=False)
    assert err(res) == 'webtty: identity file "bad name.identity.json" has an unsupported name\n'


def test_data_dir_must_be_absolute(data):
    res = wt(data, "identity", "list", env={"RSTREAM_DATA_DIR": "relative"}, check=False)
    assert res.returncode == 1
    assert err(res) == "webtty: RSTREAM_DATA_DIR must be an absolute path\n"


def test_authorized_clients(data):
    client = json.loads(out(wt(data, "identity", "create", "--name", "cli", "-o", "json")))
    store = data / "webtty" / "authorized_clients" / "srv.json"

    res = wt(data, "authorized-client", "add", "--identity", "srv", "--key", client["endpoint_identity"])
    name = "client-" + client["signing_key_id"][:12]
    assert out(res) == ("Authorized WebTTY client: %s\nSigning key ID: %s\nSigning public key: %s\n"
                        "Authorized clients: %s\n" % (name, client["signing_key_id"],
                                                      client["signing_public_key"], store))
    assert mode(store) == 0o600
    assert mode(store.parent) == 0o700

    added = json.loads(out(wt(data, "authorized-client", "add", "a5", "--identity", "srv",
                              "--key", A5_AUTHORIZED, "-o", "json")))
    assert list(added) == ["authorized_clients", "created_at", "name", "signing_key_id", "signing_public_key"]
    assert added["signing_key_id"] == A5_SIG_ID

    doc = json.loads(store.read_text())
    assert list(doc) == ["version", "crypto_suite", "authorized_clients"]
    assert doc["crypto_suite"] == "webtty-e2e-x25519-hpke-aes-256-gcm-v1"
    assert [e["name"] for e in doc["authorized_clients"]] == sorted([name, "a5"])
    assert list(doc["authorized_clients"][0]) == ["name", "signing_key_id", "signing_public_key", "created_at"]

    listing = out(wt(data, "authorized-client", "list", "--identity", "srv"))
    assert listing == "a5 signing=%s\n%s signing=%s\n" % (A5_SIG_ID, name, client["signing_key_id"])
    # --server-id and --authorized-clients-file pick the same store
    assert out(wt(data, "authorized-client", "list", "--server-id", "srv")) == listing
    assert out(wt(data, "authorized-client", "list", "--authorized-clients-file", str(store))) == listing
    assert out(wt(data, "authorized-client", "list")) == "No authorized WebTTY clients.\n"

    res = wt(data, "authorized-client", "add", "x", "--identity", "srv", "--key", "nope:nope:nope", check=False)
    assert err(res) == ("webtty: authorized WebTTY client signing key must be signing_public_key, "
                        "signing_key_id:signing_public_key, or a WebTTY endpoint identity\n")
    res = wt(data, "authorized-client", "add", "bad name", "--key", A5_AUTHORIZED, check=False)
    assert err(res) == "webtty: authorized client name contains unsupported characters\n"
    res = wt(data, "authorized-client", "list", "--authorized-clients-file", "", check=False)
    assert err(res) == "webtty: --authorized-clients-file is empty\n"

    res = wt(data, "authorized-client", "remove", "a5", "--identity", "srv")
    assert out(res) == "Removed authorized client: a5\n"
    res = wt(data, "authorized-client", "remove", "a5", "--identity", "srv", check=False)
    assert err(res) == 'webtty: authorized WebTTY client "a5" was not found\n'
    removed = json.loads(out(wt(data, "authorized-client", "remove", name, "--identity", "srv", "--json")))
    assert removed == {"authorized_clients": str(store), "removed": name}
    assert json.loads(store.read_text())["authorized_clients"] == []
    assert json.loads(out(wt(data, "authorized-client", "list", "--identity", "srv", "--json"))) == \
        {"authorized_clients": []}

    os.chmod(store, 0o604)
    res = wt(data, "authorized-client", "list", "--identity", "srv", check=False)
    assert err(res) == ("webtty: authorized WebTTY client keys file %s must not be readable by group or others\n"
                        % store)


def test_known_servers(data, tmp_path):
    server = json.loads(out(wt(data, "identity", "create", "--name", "srv", "-o", "json")))
    ks = data / "webtty" / "known_servers.json"

    res = wt(data, "known-server", "add", "srv", "--key", server["endpoint_identity"], "--client-identity", "cli")
    assert out(res) == ("Known WebTTY server: srv\nEncryption key ID: %s\nEncryption public key: %s\n"
                        "Signing key ID: %s\nSigning public key: %s\nClient identity: cli\n"
                        "Known WebTTY servers: %s\n" % (server["encryption_key_id"],
                                                        server["encryption_public_key"],
                                                        server["signing_key_id"],
                                                        server["signing_public_key"], ks))
    assert mode(ks) == 0o600

    # encryption-only forms
    enc = A5_IDENTITY.split(":")
    wt(data, "known-server", "add", "alpha", "--key", enc[1])
    wt(data, "known-server", "add", "beta", "--key", enc[0] + ":" + enc[1])
    listing = out(wt(data, "known-server", "list")).splitlines()
    assert listing == [
        "alpha encryption=%s" % enc[0],
        "beta encryption=%s" % enc[0],
        "srv encryption=%s signing=%s client_identity=cli" % (server["encryption_key_id"],
                                                              server["signing_key_id"]),
    ]
    doc = json.loads(ks.read_text())
    assert list(doc) == ["version", "crypto_suite", "known_servers"]
    assert doc["crypto_suite"] == "webtty-e2e-x25519-hpke-aes-256-gcm-v1"
    assert list(doc["known_servers"][0]) == ["name", "key_id", "public_key", "created_at"]
    assert list(doc["known_servers"][2]) == ["name", "key_id", "public_key", "signing_key_id",
                                             "signing_public_key", "client_identity", "created_at"]

    lj = json.loads(out(wt(data, "known-server", "list", "-o", "json")))
    assert list(lj["known_servers"][0]) == ["client_identity", "created_at", "encryption_key_id",
                                            "encryption_public_key", "known_servers", "name",
                                            "signing_key_id", "signing_public_key"]
    assert lj["known_servers"][0]["signing_key_id"] == ""
    assert lj["known_servers"][2]["known_servers"] == str(ks)

    # replacing keeps the client identity; set-identity changes it
    wt(data, "known-server", "add", "srv", "--key", server["endpoint_identity"])
    assert json.loads(ks.read_text())["known_servers"][2]["client_identity"] == "cli"
    res = wt(data, "known-server", "set-identity", "alpha", "--identity", "laptop")
    assert out(res) == "Known WebTTY server: alpha\nClient identity: laptop\nKnown WebTTY servers: %s\n" % ks
    res = wt(data, "known-server", "set-identity", "nope", "--identity", "laptop", check=False)
    assert err(res) == 'webtty: known WebTTY server "nope" was not found\n'
    res = wt(data, "known-server", "set-identity", "alpha", check=False)
    assert err(res) == "webtty: --identity is required\n"

    # a P-256 (fips-compatible) server makes the store mixed
    fips = json.loads(out(wt(data, "identity", "create", "--name", "fips", "--suite", "fips-compatible",
                             "--json")))
    wt(data, "known-server", "add", "fips", "--key", fips["endpoint_identity"])
    assert json.loads(ks.read_text())["crypto_suite"] == "webtty-e2e-mixed-v1"

    res = wt(data, "known-server", "add", "x", "--key", "a:b:c", check=False)
    assert err(res) == "webtty: known WebTTY server key must be public_key or key_id:public_key\n"
    res = wt(data, "known-server", "add", "x", "--key", "", check=False)
    assert err(res) == "webtty: known WebTTY server key is empty\n"
    res = wt(data, "known-server", "add", "bad/name", "--key", enc[1], check=False)
    assert err(res) == "webtty: known server name contains unsupported characters\n"

    for name in ("alpha", "beta", "fips"):
        assert out(wt(data, "known-server", "remove", name)) == "Removed known server: %s\n" % name
    res = wt(data, "known-server", "remove", "alpha", check=False)
    assert err(res) == 'webtty: known WebTTY server "alpha" was not found\n'
    res = wt(data, "known-server", "remove", "../x", check=False)
    assert err(res) == "webtty: known server name contains unsupported characters\n"
    wt(data, "known-server", "add", "gamma", "--key", enc[1])
    removed = json.loads(out(wt(data, "known-server", "remove", "gamma", "--json")))
    assert removed == {"known_servers": str(ks), "removed": "gamma"}
    assert [e["name"] for e in json.loads(ks.read_text())["known_servers"]] == ["srv"]

    # another file with --known-servers-file
    other = tmp_path / "other" / "ks.json"
    res = wt(data, "known-server", "add", "srv", "--key", A5_IDENTITY, "--known-servers-file", str(other),
             "--json")
    assert json.loads(out(res))["known_servers"] == str(other)
    assert mode(other) == 0o600

    os.chmod(ks, 0o640)
    res = wt(data, "known-server", "list", check=False)
    assert err(res) == "webtty: known WebTTY server keys file %s must not be readable by group or others\n" % ks
    res = wt(data, "known-server", "add", "y", "--key", enc[1], check=False)
    assert err(res) == "webtty: known WebTTY server keys file %s must not be readable by group or others\n" % ks


def test_writer_refuses_symlinked_store(data, tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text("keep")
    os.chmod(victim, 0o600)
    wt(data, "known-server", "add", "a", "--key", A5_IDENTITY)
    ks = data / "webtty" / "known_servers.json"
    ks.unlink()
    ks.symlink_to(victim)
    res = wt(data, "known-server", "add", "b", "--key", A5_IDENTITY, check=False)
    assert res.returncode == 1
    assert err(res) == "webtty: %s is a symbolic link; refusing to follow it\n" % ks
    assert victim.read_text() == "keep"


def test_help(data):
    for verb in ("identity", "authorized-client", "known-server"):
        res = wt(data, verb, "--help")
        assert out(res).startswith("Usage: webtty %s" % verb)
        res = wt(data, verb, "bogus", check=False)
        assert res.returncode == 2


@pytest.mark.parametrize("verb,expected", [
    ("identity", "create, show, list or remove"),
    ("authorized-client", "add, list or remove"),
    ("known-server", "add, list, set-identity or remove"),
])
def test_unknown_subcommand(data, verb, expected):
    res = wt(data, verb, "frob", check=False)
    assert res.returncode == 2
    assert err(res) == 'webtty %s: unknown command "frob" (expected %s)\n' % (verb, expected)
    res = wt(data, verb, check=False)
    assert res.returncode == 2 and err(res).startswith("Usage: webtty %s" % verb), err(res)
    for h in ("-h", "--help", "help"):
        res = wt(data, verb, h)
        assert out(res).startswith("Usage: webtty %s" % verb), out(res)
