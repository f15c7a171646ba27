#!/usr/bin/python3
"""Login-mode session set-up: `webtty exec -- true` through webttyd + webttyd-login + the
PAM service `webttyd` (pam_rstream re-verifying the E2E proof, pam_unix account,
pam_loginuid, pam_limits, pam_env, pam_mkhomedir) compared, in the same run and the same
private mount namespace, with `ssh 127.0.0.1 true` against a private sshd with UsePAM yes
(its stock Debian PAM service) logging in the same local user with a key.

Needs root (a private mount namespace, as tests/integration/test_login_e2e.py) and a
build tree; prints the medians and the ratio (goal: webtty <= 0.2 x ssh). Not a test:
it never fails on a figure.

    sudo tests/bench/login-bench.py [--runs N]      (BUILDDIR=... for a VPATH build)
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import nsroot  # noqa: E402
import test_login_e2e as e2e  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sshd(tmp, user):
    """A private sshd (own config and keys; /etc/ssh is not read) on loopback."""
    port = free_port()
    for key in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, key)], check=True)
    pw = __import__("pwd").getpwnam(user)
    ssh_dir = os.path.join(pw.pw_dir, ".ssh")
    os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
    shutil.copy(os.path.join(tmp, "user.pub"), os.path.join(ssh_dir, "authorized_keys"))
    for p in (ssh_dir, os.path.join(ssh_dir, "authorized_keys")):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    cfg = os.path.join(tmp, "sshd_config")
    with open(cfg, "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nUsePAM yes\n"
                "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "X11Forwarding no\nPrintMotd no\nPrintLastLog no\nUseDNS no\nLogLevel ERROR\n"
                % (port, os.path.join(tmp, "host"), os.path.join(tmp, "sshd.pid")))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    pr = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", cfg], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "sshd.log"), "wb"))
    argv = ["ssh", "-F", "/dev/null", "-p", str(port), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentityFile=" + os.path.join(tmp, "user"),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            "-o", "ControlMaster=no", "-o", "ControlPath=none", "%s@127.0.0.1" % user, "true"]
    for _ in range(100):
        if subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            return pr, argv
        time.sleep(0.1)
    pr.kill()
    raise RuntimeError("cannot log in to the private sshd: %s" % open(os.path.join(tmp, "sshd.log")).read())


def timed(argv, env, runs):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        out.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (argv[0], r.stderr.decode(errors="replace")))
    return out


def step_bench(p, ctx):
    h = e2e.Host(p, ctx)
    sshd = None
    try:
        sshd, ssh_argv = start_sshd(ctx["tmp"], e2e.FIXED.name)
        wt_argv = h.exec_argv("alice", ["true"])
        env = h.env()
        # Warm-up, then interleaved rounds so that drift hits both alike.
        timed(wt_argv, env, 3)
        timed(ssh_argv, env, 3)
        wt, ssh = [], []
        for _ in range(p["rounds"]):
            wt += timed(wt_argv, env, p["per_round"])
            ssh += timed(ssh_argv, env, p["per_round"])
        return dict(webtty=wt, ssh=ssh)
    finally:
        if sshd:
            sshd.terminate()
            sshd.wait(10)
        h.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=40, help="sessions per side (default 40)")
    a = ap.parse_args()
    why = nsroot.skip_reason()
    if why:
        sys.exit("login-bench: " + why)
    for what, path in e2e.BIN.items():
        if not os.access(path, os.R_OK):
            sys.exit("login-bench: %s not built (%s)" % (what, path))
    if not shutil.which("sshd") and not os.access("/usr/sbin/sshd", os.X_OK):
        sys.exit("login-bench: sshd missing (setup.sh --bench installs openssh-server)")
    per_round = 5
    params = dict(e2e.BIN, rounds=max(1, a.runs // per_round), per_round=per_round)
    ns = nsroot.NsRoot(users=[e2e.DAEMON, e2e.FIXED, e2e.DEPLOY, e2e.OTHER],
                       pam={"webttyd": e2e.PAM_WEBTTYD}, pam_modules=[e2e.BIN["pam"]],
                       nss_modules=[e2e.BIN["nss"]], nsswitch=e2e.NSSWITCH, overlay_etc=True,
                       overlay_var_lib=True)
    try:
        res = ns.run(__file__, "step_bench", params, timeout=900)
    finally:
        ns.cleanup()
    wt, ssh = statistics.median(res["webtty"]), statistics.median(res["ssh"])
    ratio = wt / ssh
    print("login-mode session set-up for `true` (%d runs each, %d CPUs, load %s)"
          % (len(res["webtty"]), os.cpu_count(), open("/proc/loadavg").read().split()[0]))
    print("  webtty exec (E2E, webttyd-login, PAM)  median %7.1f ms  p90 %7.1f ms"
          % (wt * 1e3, sorted(res["webtty"])[int(0.9 * len(res["webtty"]))] * 1e3))
    print("  ssh (UsePAM yes, publickey)            median %7.1f ms  p90 %7.1f ms"
          % (ssh * 1e3, sorted(res["ssh"])[int(0.9 * len(res["ssh"]))] * 1e3))
    print("  ratio webtty/ssh %.3f  (goal <= 0.2: %s)" % (ratio, "PASS" if ratio <= 0.2 else "MISS"))


if __name__ == "__main__":
    main()
