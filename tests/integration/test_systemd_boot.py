"""The shipped systemd units under a real systemd as PID 1.

`make install DESTDIR=...` of the build under test is laid over this machine's /usr in
a container (systemd-nspawn, Debian: systemd-container) whose root is a throwaway tree:
a copy of /etc, empty /var, /home and /root, /usr read-only with the install as an
overlay, a private network. systemd boots in it straight into wt-boot-test.service,
which runs systemd_boot_inside.sh (the checks are listed there) and powers off. Where
this machine has dbus, systemd-logind and pam_systemd, they run too, so login sessions
get logind sessions and scopes as on a full system. Nothing
on the host changes; the container's tree is removed afterwards (kept, and its path
printed, with WT_KEEP_BOOT_TREE=1).

Skipped when not root, without systemd-nspawn, for sanitizer builds (their modules cannot
load into the container's programs), for an install outside /usr (distcheck's prefix), or
when this machine cannot boot systemd in a container at all: that is probed first with the
same tree and a unit of the test's own that only writes a file, before anything of ours
is installed, so a failure of our units is never taken for a machine that cannot boot."""

import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from conftest import sanitized

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("BUILDDIR") or SRCDIR
NSPAWN = shutil.which("systemd-nspawn")
BOOT_TIMEOUT = 240  # the driver's own TimeoutStartSec is 180

DRIVER_UNIT = """\
[Unit]
Description=webtty systemd boot test driver
# As after a full boot: systemd-user-sessions removes /run/nologin, which pam_nologin
# in the shipped PAM service honours.
Wants=systemd-user-sessions.service %(wants)s
After=basic.target systemd-user-sessions.service %(wants)s

[Service]
Type=oneshot
ExecStart=/src/systemd_boot_inside.sh
ExecStopPost=/bin/systemctl --no-block poweroff
TimeoutStartSec=180
"""

# The number of checks systemd_boot_inside.sh makes: each reports "ok", or "skip" for the
# logind checks when this machine has no logind to run.
EXPECTED_CHECKS = 36


def _logind_available():
    """Whether this machine has what the shipped PAM stack's pam_systemd line needs:
    then the container runs dbus and systemd-logind, and login sessions get logind
    sessions and scopes as on a full system."""
    units = "/usr/lib/systemd/system"
    return (os.path.exists(os.path.join(units, "dbus.service")) and
            os.path.exists(os.path.join(units, "systemd-logind.service")) and
            any(os.path.exists(os.path.join(d, "pam_systemd.so"))
                for d in ("/usr/lib/x86_64-linux-gnu/security", "/lib/x86_64-linux-gnu/security",
                          "/usr/lib/security")))


def _make_root(top, with_logind):
    """A root tree: merged-/usr symlinks, a copy of /etc, empty state directories."""
    root = os.path.join(top, "root")
    for d in ("usr", "dev", "proc", "sys", "run", "tmp", "var/lib", "var/log", "var/tmp", "var/cache", "home",
              "root", "src", "out"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink("/" + link):
            os.symlink(os.readlink("/" + link), os.path.join(root, link))
    subprocess.run(["cp", "-a", "/etc", os.path.join(root, "etc")], check=True)
    # nspawn looks for os-release before /usr is mounted; a fixed machine id keeps
    # systemd-firstboot out of the way.
    osr = os.path.join(root, "etc", "os-release")
    if os.path.islink(osr) or not os.path.exists(osr):
        if os.path.lexists(osr):
            os.unlink(osr)
        shutil.copy("/usr/lib/os-release", osr)
    with open(os.path.join(root, "etc", "machine-id"), "w") as f:
        f.write(uuid.uuid4().hex + "\n")
    unit_dir = os.path.join(root, "etc", "systemd", "system")
    os.makedirs(unit_dir, exist_ok=True)
    with open(os.path.join(unit_dir, "wt-boot-test.service"), "w") as f:
        f.write(DRIVER_UNIT % {"wants": "dbus.service systemd-logind.service" if with_logind else ""})
    if with_logind:
        # The per-user manager logind starts for each user cannot be stopped inside this
        # container (its processes outlive SIGKILL and hold the poweroff for minutes);
        # sessions and their scopes, what the test is about, do not need it.
        os.symlink("/dev/null", os.path.join(unit_dir, "user@.service"))
    return root


def _install(top):
    """`make install` of the build under test, with its units moved under usr/ so one
    overlay over /usr carries all of it."""
    stage = os.path.join(top, "stage")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-C", BUILDDIR, "install", "DESTDIR=" + stage], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    assert r.returncode == 0, r.stdout.decode(errors="replace")[-4000:]
    usr = os.path.join(stage, "usr")
    outside = os.path.join(stage, "lib")  # the unit directory, /lib/systemd/system
    if os.path.isdir(outside):
        subprocess.run(["cp", "-a", outside + "/.", os.path.join(usr, "lib")], check=True)
        shutil.rmtree(outside)
    for path in ("lib/systemd/system/webttyd.socket", "lib/systemd/system/webttyd-login@.service",
                 "local/sbin/webttyd", "local/sbin/webttyd-login", "local/bin/webtty",
                 "local/lib/security/pam_rstream.so", "local/lib/libnss_rstream.so.2"):
        assert os.path.exists(os.path.join(usr, path)), "make install did not install /usr/" + path
    return usr


def _driver_dir(top, with_logind):
    d = os.path.join(top, "driver")
    os.makedirs(d)
    with open(os.path.join(d, "logind"), "w") as f:
        f.write("yes\n" if with_logind else "no\n")
    shutil.copy(os.path.join(HERE, "systemd_boot_inside.sh"), d)
    shutil.copy(os.path.join(SRCDIR, "policy", "pam.d", "webttyd"), os.path.join(d, "pam.d-webttyd"))
    shutil.copy(os.path.join(SRCDIR, "policy", "policy.yaml.example"), d)
    return d


def _run_container(cmd, timeout):
    """Runs systemd-nspawn to its end and returns (exit status, console output). On a
    time-out or any error it is stopped: SIGTERM first (nspawn powers the container off),
    SIGKILL after 30 s; the container's init dies with it."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace")
    except BaseException:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        raise


def _nspawn(root, *extra):
    return [NSPAWN, "-D", root, "--bind-ro=/usr", "--private-network", "--register=no", "--keep-unit",
            "--console=pipe", "-q"] + list(extra)


PROBE_UNIT = """\
[Service]
Type=oneshot
ExecStart=/bin/touch /out/booted
ExecStopPost=/bin/systemctl --no-block poweroff
"""


def _cannot_boot(root):
    """Why systemd cannot boot in a container here (None when it can)."""
    unit = os.path.join(root, "etc", "systemd", "system", "wt-boot-probe.service")
    with open(unit, "w") as f:
        f.write(PROBE_UNIT)
    out = os.path.join(root, "out")
    try:
        status, console = _run_container(
            _nspawn(root, "--bind=%s:/out" % out, "-b", "--", "--unit=wt-boot-probe.service"), 60)
        if os.path.exists(os.path.join(out, "booted")):
            return None
        return "exit %d: %s" % (status, console.strip()[-500:])
    except subprocess.TimeoutExpired:
        return "no poweroff within 60 s"
    finally:
        os.unlink(unit)


def _prefix():
    """The build's configured prefix, from its Makefile."""
    with open(os.path.join(BUILDDIR, "Makefile")) as f:
        for ln in f:
            if ln.startswith("prefix = "):
                return ln.split("=", 1)[1].strip()
    return ""


@pytest.mark.wt_timeout(420)
def test_shipped_units_under_systemd():
    if os.geteuid() != 0:
        pytest.skip("needs root (systemd-nspawn)")
    if not NSPAWN:
        pytest.skip("systemd-nspawn is not installed (Debian: systemd-container)")
    webttyd = os.path.join(BUILDDIR, "webttyd", "webttyd")
    if sanitized(webttyd) or sanitized(os.path.join(BUILDDIR, "pam_rstream", ".libs", "pam_rstream.so")):
        pytest.skip("sanitizer build: its modules cannot load into the container's programs")
    if _prefix() != "/usr/local":
        pytest.skip("the build installs under %r, not /usr/local (distcheck)" % _prefix())
    top = tempfile.mkdtemp(prefix="wt-boot-")
    try:
        with_logind = _logind_available()
        root = _make_root(top, with_logind)
        why = _cannot_boot(root)
        if why:
            pytest.skip("this machine cannot boot systemd in a container: " + why)
        usr = _install(top)
        drv = _driver_dir(top, with_logind)
        out = os.path.join(root, "out")
        cmd = _nspawn(root, "--overlay=/usr:%s:/usr" % usr, "--bind-ro=%s:/src" % drv,
                      "--bind=%s:/out" % out, "-b", "--", "--unit=wt-boot-test.service")
        _, console = _run_container(cmd, BOOT_TIMEOUT)

        def read(name):
            try:
                with open(os.path.join(out, name), errors="replace") as f:
                    return f.read()
            except OSError:
                return ""

        result, log, journal = read("result"), read("log"), read("journal.txt")
        context = "\n--- result\n%s\n--- log (end)\n%s\n--- journal (end)\n%s\n--- console (end)\n%s" % (
            result, log[-6000:], journal[-8000:], console[-2000:])
        lines = result.splitlines()
        assert lines and lines[-1] == "done", "the driver did not finish" + context
        failed = [ln for ln in lines if ln.startswith("not ok")]
        assert not failed, "\n".join(failed) + context
        skipped = [ln for ln in lines if ln.startswith("skip ")]
        assert not (with_logind and skipped), "\n".join(skipped) + context
        assert sum(ln.startswith("ok ") for ln in lines) + len(skipped) == EXPECTED_CHECKS, context
    finally:
        subprocess.run(["umount", "-R", os.path.join(top, "root", "usr")], stderr=subprocess.DEVNULL)
        if os.environ.get("WT_KEEP_BOOT_TREE"):
            print("kept", top)
        else:
            shutil.rmtree(top, ignore_errors=True)
