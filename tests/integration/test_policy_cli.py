"""The real `webtty policy check` and `webtty policy explain` (policy.yaml(5),
webtty-policy(1)): exit codes, the exact ok/error lines with FILE:LINE:COLUMN,
the file checks, every decision kind as explain prints it, and usage errors."""

import os
import re

import pytest

from conftest import run_webtty

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "policy", "policy.yaml.example")
KEY_A = "3f2a" + "0" * 60
KEY_B = "AB" * 32

POLICY = """\
version: 1
accounts:
  uid_range: 70000-79999
  home: /home/{user}
rules:
  - name: blocked
    match: {client: [mallory]}
    deny: true
  - name: ops-admins
    match:
      client: [alice, bob]
      server_labels: {env: prod}
    user: root
    sudo: true
  - name: by-key
    match:
      key_id: [%s]
    user: keyed
  - name: developers
    match: {client: ["dev-*"]}
    user_template: "rs-{name}"
  - name: deploy
    match: {client: [ci]}
    client_user: {users: [deploy, www-data], groups: [root]}
  - name: laptop
    match: {principal: prn_1, device: dev_1}
    user: default
  - name: anonymous-kiosk
    match: {unauthenticated: true}
    user: default
""" % KEY_B


@pytest.fixture
def pol(tmp_path, webtty_bin):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    os.chmod(path, 0o644)
    return path


def write(tmp_path, name, text, mode=0o644):
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


def wt(*args):
    return run_webtty(list(args))


def lines(res):
    return res.stdout.decode().splitlines()


def err(res):
    return res.stderr.decode()


def explain(pol, *args):
    return wt("policy", "explain", "--policy", str(pol), *args)


# ---------------------------------------------------------------- check


def test_check_ok(pol):
    res = wt("policy", "check", str(pol))
    assert res.returncode == 0, err(res)
    assert res.stdout.decode() == "%s: ok, 7 rules\n" % pol
    assert err(res) == ""


def test_check_one_rule_and_shipped_example(tmp_path, webtty_bin):
    one = write(tmp_path, "one.yaml", "version: 1\nrules:\n  - name: a\n    deny: true\n")
    res = wt("policy", "check", str(one))
    assert res.returncode == 0 and res.stdout.decode() == "%s: ok, 1 rule\n" % one
    if os.path.exists(EXAMPLE) and not (os.stat(EXAMPLE).st_mode & 0o022):
        res = wt("policy", "check", EXAMPLE)
        assert res.returncode == 0, err(res)
        assert res.stdout.decode() == "%s: ok, 0 rules\n" % EXAMPLE


@pytest.mark.parametrize("text,message", [
    ("version: 1\nrules:\n  - name: a\n    usr: root\n",
     "4:5: unknown key \"usr\" in a rule (valid: name, match, user, user_template, client_user, deny, sudo)"),
    ("version: 1\nrules:\n  - name: a\n    user: root\n  - name: a\n    deny: true\n",
     "5:11: duplicate rule name \"a\" (first at line 3)"),
    ("version: 1\nrules:\n  - name: a\n    user: root\n    deny: true\n",
     "5:5: rule \"a\" has both user and deny (exactly one of user, user_template, client_user, deny)"),
    ("version: 1\naccounts: {uid_range: 80000-70000}\nrules: []\n",
     "2:23: uid_range 80000-70000: MIN is greater than MAX"),
    ("version: 1\nrules:\n  - &r {name: a, user: root}\n  - *r\n",
     "3:5: YAML anchors are not allowed in a policy"),
    ("version: 1\nrules:\n  - name: a\n    user: root\n   bad: [\n",
     "5:4: while parsing a block collection: did not find expected '-' indicator"),
    ("", "1:1: empty policy (expected a mapping with version and rules)"),
])
def test_check_errors_with_position(tmp_path, webtty_bin, text, message):
    path = write(tmp_path, "bad.yaml", text)
    res = wt("policy", "check", str(path))
    assert res.returncode == 1
    assert res.stdout.decode() == ""
    assert err(res) == "%s:%s\n" % (path, message)


def test_check_file_refusals(tmp_path, webtty_bin):
    gw = write(tmp_path, "gw.yaml", "version: 1\nrules: []\n", 0o664)
    res = wt("policy", "check", str(gw))
    assert res.returncode == 1
    assert err(res) == "%s: must not be writable by group or others\n" % gw

    missing = tmp_path / "missing.yaml"
    res = wt("policy", "check", str(missing))
    assert res.returncode == 1
    assert err(res) == "%s: No such file or directory\n" % missing

    big = write(tmp_path, "big.yaml", "#" * (1024 * 1024 + 1))
    res = wt("policy", "check", str(big))
    assert res.returncode == 1
    assert err(res) == "%s: larger than 1048576 bytes\n" % big

    res = wt("policy", "check", str(tmp_path))
    assert res.returncode == 1
    assert err(res) == "%s: not a regular file\n" % tmp_path


def test_check_default_path_and_usage(tmp_path, webtty_bin):
    res = wt("policy", "check")
    if os.path.exists("/etc/rstream/webtty/policy.yaml"):
        pytest.skip("this host has a policy at the default path")
    assert res.returncode == 1
    assert err(res) == "/etc/rstream/webtty/policy.yaml: No such file or directory\n"
    res = wt("policy", "check", "a", "b")
    assert res.returncode == 2
    assert "too many arguments" in err(res)
    res = wt("policy", "check", "--frob")
    assert res.returncode == 2
    assert err(res) == 'webtty policy check: unknown option "--frob"\n'


# ---------------------------------------------------------------- explain


def test_explain_fixed_with_sudo(pol):
    res = explain(pol, "--caller", "alice", "--key-id", KEY_A, "--label", "env=prod", "--label", "x=y")
    assert res.returncode == 0, err(res)
    assert lines(res) == [
        "rule: ops-admins (line 9)",
        "decision: allow",
        "user: root (fixed)",
        "sudo: yes",
        'reason: caller "alice" (key 3f2a000000000000) matched rule "ops-admins" (line 9): user root, sudo',
    ]


def test_explain_label_mismatch_falls_through_to_default_deny(pol):
    res = explain(pol, "--caller", "alice", "--key-id", KEY_A, "--label", "env=dev")
    assert res.returncode == 1
    assert lines(res) == [
        "rule: none (default deny)",
        "decision: deny",
        'reason: caller "alice" (key 3f2a000000000000) matched no rule',
    ]


def test_explain_deny_rule_and_requested_mismatch(pol):
    res = explain(pol, "--caller", "mallory", "--key-id", KEY_A, "--login-user", "www")
    assert res.returncode == 1
    assert lines(res)[:2] == ["rule: blocked (line 6)", "decision: deny"]
    assert lines(res)[2] == ('reason: caller "mallory" (key 3f2a000000000000) matched rule "blocked" '
                             '(line 6): denied')

    res = explain(pol, "--caller", "bob", "--key-id", KEY_A, "--label", "env=prod", "--user", "bin")
    assert res.returncode == 1
    assert lines(res)[-1] == ('reason: caller "bob" (key 3f2a000000000000) matched rule "ops-admins" (line 9): '
                              'requested user "bin" but rule "ops-admins" maps to root')


def test_explain_by_key_id_only(pol):
    res = explain(pol, "--caller", KEY_B.lower())
    assert res.returncode == 0, err(res)
    assert lines(res)[0] == "rule: by-key (line 15)"
    assert lines(res)[2] == "user: keyed (fixed)"
    assert lines(res)[-1] == 'reason: caller "" (key abababababababab) matched rule "by-key" (line 15): user keyed'


def test_explain_template_shows_account(pol):
    res = explain(pol, "--caller", "dev-joe", "--key-id", KEY_A)
    assert res.returncode == 0, err(res)
    assert lines(res) == [
        "rule: developers (line 19)",
        "decision: allow",
        "user: rs-dev-joe (template, provisioned into accounts.db)",
        "sudo: no",
        'account: uid from 70000-79999, per-user group, home /home/rs-dev-joe, shell /bin/bash, '
        'gecos "rstream dev-joe"',
        'reason: caller "dev-joe" (key 3f2a000000000000) matched rule "developers" (line 19): '
        'user rs-dev-joe (template rs-{name})',
    ]
    res = explain(pol, "--caller", "dev-Joe", "--key-id", KEY_A)
    assert res.returncode == 1
    assert "not a valid user name" in lines(res)[-1]


def test_explain_client_user(pol):
    res = explain(pol, "--caller", "ci", "--key-id", KEY_A, "--user", "www-data")
    assert res.returncode == 0, err(res)
    assert lines(res)[2] == "user: www-data (requested by the client)"
    assert lines(res)[-1].endswith("user www-data (requested, listed in users)")
    # group membership through this host's NSS: root's primary group is root
    res = explain(pol, "--caller", "ci", "--key-id", KEY_A, "--user", "root")
    assert res.returncode == 0, err(res)
    assert lines(res)[-1].endswith("user root (requested, member of group root)")
    res = explain(pol, "--caller", "ci", "--key-id", KEY_A, "--user", "nobody")
    assert res.returncode == 1
    assert lines(res)[-1].endswith(
        "requested user nobody is not allowed (not listed in users and not a member of an allowed group)")
    res = explain(pol, "--caller", "ci", "--key-id", KEY_A)
    assert res.returncode == 1
    assert lines(res)[-1].endswith("no user requested, and no default login user is configured (--login-user)")


def test_explain_principal_device_default(pol):
    res = explain(pol, "--caller", "someone", "--key-id", KEY_A, "--principal", "prn_1", "--device", "dev_1",
                  "--login-user", "www")
    assert res.returncode == 0, err(res)
    assert lines(res)[0] == "rule: laptop (line 25)"
    assert lines(res)[2] == "user: www (default login user)"
    res = explain(pol, "--caller", "someone", "--key-id", KEY_A, "--principal", "prn_1", "--login-user", "www")
    assert res.returncode == 1
    assert lines(res)[0] == "rule: none (default deny)"


def test_explain_unauthenticated(pol):
    res = explain(pol, "--unauthenticated", "--login-user", "kiosk")
    assert res.returncode == 0, err(res)
    assert lines(res) == [
        "rule: anonymous-kiosk (line 28)",
        "decision: allow",
        "user: kiosk (default login user)",
        "sudo: no",
        'reason: unauthenticated caller matched rule "anonymous-kiosk" (line 28): user kiosk (default login user)',
    ]
    res = explain(pol, "--unauthenticated")
    assert res.returncode == 1
    assert lines(res)[-1] == ('reason: unauthenticated caller matched rule "anonymous-kiosk" (line 28): maps to '
                              'the default login user, and none is configured (--login-user)')


def test_explain_verbose_lists_skipped_rules(pol):
    res = explain(pol, "--caller", "ci", "--key-id", KEY_A, "--user", "deploy", "-v", "--label", "env=dev")
    assert res.returncode == 0, err(res)
    assert lines(res)[:5] == [
        'skipped: blocked (line 6): client "ci" does not match client',
        'skipped: ops-admins (line 9): client "ci" does not match client',
        "skipped: by-key (line 15): key id is not in key_id",
        'skipped: developers (line 19): client "ci" does not match client',
        "rule: deploy (line 22)",
    ]
    res = explain(pol, "--caller", "alice", "--key-id", KEY_A, "--verbose", "--label", "env=dev")
    assert res.returncode == 1
    assert lines(res)[1] == "skipped: ops-admins (line 9): server label env is not prod"
    assert lines(res)[-3] == "rule: none (default deny)"
    res = explain(pol, "--unauthenticated", "-v")
    assert lines(res)[0] == "skipped: blocked (line 6): does not match unauthenticated sessions"


def test_explain_name_without_key_notes_it(pol):
    res = explain(pol, "--caller", "ci", "--user", "deploy")
    assert res.returncode == 0, err(res)
    assert lines(res)[0] == "note: no key id given; key_id rules cannot match and {key_id} is all zeros"


def test_explain_load_error_is_2(tmp_path, webtty_bin):
    bad = write(tmp_path, "bad.yaml", "version: 1\nrules:\n  - name: a\n")
    res = wt("policy", "explain", "--policy", str(bad), "--caller", "x")
    assert res.returncode == 2
    assert res.stdout.decode() == ""
    assert err(res) == "%s:3:5: rule \"a\" needs one of user, user_template, client_user, deny\n" % bad


@pytest.mark.parametrize("args,message", [
    ([], "--caller NAME|KEYID or --unauthenticated is required"),
    (["--unauthenticated", "--caller", "x"], "--unauthenticated cannot be combined with"),
    (["--caller", "x", "--key-id", "zz"], "--key-id \"zz\" must be 64 hex digits"),
    (["--caller", KEY_B, "--key-id", KEY_A], "--key-id needs --caller NAME, not a key id"),
    (["--caller", "x", "--label", "novalue"], "--label \"novalue\" must be KEY=VALUE"),
    (["--caller", "x", "extra"], "unexpected argument \"extra\""),
    (["--caller", "x", "--bogus"], "unrecognized option"),
])
def test_explain_usage_errors(pol, args, message):
    res = explain(pol, *args)
    assert res.returncode == 2
    assert message in err(res)
    assert res.stdout.decode() == ""


def test_help_and_unknown(webtty_bin):
    for args in (["policy", "--help"], ["policy", "check", "--help"], ["policy", "explain", "--help"]):
        res = wt(*args)
        assert res.returncode == 0
        out = res.stdout.decode()
        assert out.startswith("Usage: webtty policy check [FILE]\n")
        assert "--unauthenticated" in out and "/etc/rstream/webtty/policy.yaml" in out
    res = wt("policy")
    assert res.returncode == 2 and err(res).startswith("Usage: webtty policy check")
    res = wt("policy", "frob")
    assert res.returncode == 2
    assert err(res) == 'webtty policy: unknown command "frob" (expected check or explain)\n'
    assert re.search(r"^  policy +check the login policy", wt("--help").stdout.decode(), re.M)
