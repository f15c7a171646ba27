"""Run a test step as root in a private mount namespace, where PAM, NSS files and
utmp can be changed without touching the host (../shared/TESTING-PRIVILEGED.md).

    from nsroot import NsRoot, User, skip_unless_root

    ns = NsRoot(users=[User("wtalice", 4301)], pam={"webttyd": "auth required pam_permit.so\\n..."},
                pam_modules=["/path/to/pam_x.so"])
    result = ns.run(__file__, "step_function", {"any": "json"}, timeout=60)

The step is a function `step_function(params, ctx)` in a Python file (the test module
itself works: it is imported again inside the namespace). It runs in a fresh
`unshare -m --propagation private` process that has already:

  * mounted a tmpfs on /run with an empty /run/utmp (0664 root:utmp);
  * overlaid /var/log (wtmp emptied, lastlog kept) and /home;
  * bind-mounted copies of /etc/passwd, /etc/group, /etc/shadow with the test users
    and groups appended, and of /etc/pam.d with the given services added;
  * overlaid /usr/lib/x86_64-linux-gnu/security (the PAM module directory; the
    multiarch one of this machine) with the given modules in the upper directory;
  * created each user's home under /home (owned by the user, mode 0700);
  * with overlay_etc: overlaid /etc first, so a step may create /etc/rstream,
    /etc/sudoers.d files and the like (they land in the scratch directory);
  * with overlay_var_lib: overlaid /var/lib (for /var/lib/rstream);
  * with nss_modules: overlaid /usr/lib/x86_64-linux-gnu (before the PAM module
    directory inside it) with the given NSS modules in the upper directory, where
    glibc finds them also for setuid programs such as sudo;
  * with nsswitch: bind-mounted a copy of /etc/nsswitch.conf with that text.

`ctx` is a dict: tmp (a scratch directory, also visible outside as ns.tmp), users.
Whatever the step returns (JSON-serializable) is returned by run(). An exception in
the step fails run() with the step's traceback. Everything mounted disappears when
the step's process exits; the scratch directory is removed by NsRoot.cleanup().
"""

import grp
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

PAM_MODULE_DIRS = ["/usr/lib/x86_64-linux-gnu/security", "/lib/x86_64-linux-gnu/security",
                   "/usr/lib64/security", "/lib/security"]


def skip_reason():
    """None when steps can run here, else why not (for pytest.skip)."""
    if os.geteuid() != 0:
        return "needs root (private mount namespace, PAM, utmp): run the suite as root"
    if not shutil.which("unshare"):
        return "unshare(1) is missing (util-linux)"
    if not pam_module_dir():
        return "no PAM module directory found"
    return None


def pam_module_dir():
    for d in PAM_MODULE_DIRS:
        if os.path.isfile(os.path.join(d, "pam_permit.so")):
            return os.path.realpath(d)
    return None


class User:
    def __init__(self, name, uid, gid=None, shell="/bin/sh", groups=(), home=None, lastchg=19000):
        self.name = name
        self.uid = uid
        self.gid = uid if gid is None else gid
        self.shell = shell
        self.groups = list(groups)
        self.home = home or "/home/" + name
        self.lastchg = lastchg  # /etc/shadow field 3: 0 = the password must be changed

    def as_dict(self):
        return dict(name=self.name, uid=self.uid, gid=self.gid, shell=self.shell, groups=self.groups,
                    home=self.home, lastchg=self.lastchg)


class NsRoot:
    def __init__(self, users=(), pam=None, pam_modules=(), tmp=None, nss_modules=(), nsswitch=None,
                 overlay_etc=False, overlay_var_lib=False):
        self.users = list(users)
        self.pam = dict(pam or {})
        self.pam_modules = list(pam_modules)
        self.nss_modules = list(nss_modules)
        self.nsswitch = nsswitch
        self.overlay_etc = overlay_etc
        self.overlay_var_lib = overlay_var_lib
        self.tmp = tmp or tempfile.mkdtemp(prefix="wt-nsroot-")

    def cleanup(self):
        # Upper directories may hold files owned by test users: plain rmtree does.
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, module_file, func, params=None, timeout=120):
        cfg = dict(module=os.path.abspath(module_file), func=func, params=params or {}, tmp=self.tmp,
                   users=[u.as_dict() for u in self.users], pam=self.pam,
                   pam_modules=[os.path.abspath(m) for m in self.pam_modules],
                   nss_modules=[os.path.abspath(m) for m in self.nss_modules], nsswitch=self.nsswitch,
                   overlay_etc=self.overlay_etc, overlay_var_lib=self.overlay_var_lib,
                   sys_path=[p for p in sys.path if p])
        step_id = "%s-%d" % (func, len(os.listdir(self.tmp)))
        cfg_path = os.path.join(self.tmp, step_id + ".json")
        res_path = os.path.join(self.tmp, step_id + ".result.json")
        cfg["result"] = res_path
        cfg["state"] = os.path.join(self.tmp, step_id + ".ns")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        cmd = ["unshare", "-m", "--propagation", "private", "--", sys.executable,
               os.path.abspath(__file__), cfg_path]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
        if p.returncode != 0:
            raise AssertionError("namespace step %s failed (exit %d):\n%s" % (func, p.returncode, out))
        with open(res_path) as f:
            return json.load(f)["result"]


# ---------------------------------------------------------------------------
# Inside the namespace
# ---------------------------------------------------------------------------


def _sh(*cmd):
    subprocess.run(list(cmd), check=True)


def _overlay(target, base):
    upper, work = os.path.join(base, "upper"), os.path.join(base, "work")
    os.makedirs(upper, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    _sh("mount", "-t", "overlay", "overlay", "-o",
        "lowerdir=%s,upperdir=%s,workdir=%s" % (target, upper, work), target)
    return upper


def _bind_copy(path, tmp, append=""):
    copy = os.path.join(tmp, "etc", os.path.basename(path))
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    shutil.copy2(path, copy)
    if append:
        with open(copy, "a") as f:
            f.write(append)
    _sh("mount", "--bind", copy, path)


def _setup(cfg):
    users = cfg["users"]
    ns = cfg["state"]  # this step's copies and upper directories
    os.makedirs(ns)

    # Whole directories first: later bind mounts and overlays go on top of them.
    if cfg.get("overlay_etc"):
        _overlay("/etc", os.path.join(ns, "etc-overlay"))
    if cfg.get("overlay_var_lib"):
        _overlay("/var/lib", os.path.join(ns, "varlib"))
    if cfg.get("nss_modules"):
        libdir = os.path.dirname(pam_module_dir())
        upper = _overlay(libdir, os.path.join(ns, "libdir"))
        for m in cfg["nss_modules"]:
            shutil.copy(m, os.path.join(upper, os.path.basename(m)))
            os.chmod(os.path.join(upper, os.path.basename(m)), 0o644)
    if cfg.get("nsswitch") is not None:
        copy = os.path.join(ns, "nsswitch.conf")
        with open(copy, "w") as f:
            f.write(cfg["nsswitch"])
        _sh("mount", "--bind", copy, "/etc/nsswitch.conf")

    # /run: a fresh tmpfs with an empty utmp (there is none on this machine).
    _sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run")
    try:
        utmp_gid = grp.getgrnam("utmp").gr_gid
    except KeyError:
        utmp_gid = 0
    with open("/run/utmp", "w"):
        pass
    os.chown("/run/utmp", 0, utmp_gid)
    os.chmod("/run/utmp", 0o664)

    # /var/log: overlaid; wtmp starts empty so a test can count its records.
    _overlay("/var/log", os.path.join(ns, "varlog"))
    with open("/var/log/wtmp", "w"):
        pass
    os.chown("/var/log/wtmp", 0, utmp_gid)
    os.chmod("/var/log/wtmp", 0o664)

    # Accounts.
    pw = "".join("%s:x:%d:%d:test user:%s:%s\n" % (u["name"], u["uid"], u["gid"], u["home"], u["shell"])
                 for u in users)
    sh = "".join("%s:*:%d:0:99999:7:::\n" % (u["name"], u["lastchg"]) for u in users)
    gr = ""
    extra = {}
    for u in users:
        gr += "%s:x:%d:\n" % (u["name"], u["gid"])
        for g in u["groups"]:
            extra.setdefault(g, []).append(u["name"])
    for i, (g, members) in enumerate(sorted(extra.items())):
        try:
            grp.getgrnam(g)
            raise RuntimeError("group %s exists on the host; pick another name" % g)
        except KeyError:
            pass
        gr += "%s:x:%d:%s\n" % (g, 45000 + i, ",".join(members))
    _bind_copy("/etc/passwd", ns, pw)
    _bind_copy("/etc/group", ns, gr)
    _bind_copy("/etc/shadow", ns, sh)

    # PAM services.
    pamd = os.path.join(ns, "pamd")
    shutil.copytree("/etc/pam.d", pamd, symlinks=True)
    for name, text in cfg["pam"].items():
        with open(os.path.join(pamd, name), "w") as f:
            f.write(text)
    _sh("mount", "--bind", pamd, "/etc/pam.d")

    # PAM modules: an overlay over the module directory.
    sec = pam_module_dir()
    upper = _overlay(sec, os.path.join(ns, "sec"))
    for m in cfg["pam_modules"]:
        shutil.copy(m, os.path.join(upper, os.path.basename(m)))
        os.chmod(os.path.join(upper, os.path.basename(m)), 0o644)

    # Homes.
    _overlay("/home", os.path.join(ns, "home"))
    for u in users:
        os.makedirs(u["home"], exist_ok=True)
        os.chown(u["home"], u["uid"], u["gid"])
        os.chmod(u["home"], 0o700)


def _main(cfg_path):
    with open(cfg_path) as f:
        cfg = json.load(f)
    for p in cfg["sys_path"]:
        if p not in sys.path:
            sys.path.append(p)
    sys.path.insert(0, os.path.dirname(cfg["module"]))
    _setup(cfg)
    # Like systemd for its services: orphans of the step's processes come back
    # here (not to the machine's init) and are reaped when the step ends.
    _subreaper()
    spec = importlib.util.spec_from_file_location("nsroot_step", cfg["module"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ctx = dict(tmp=cfg["tmp"], users=cfg["users"])
    try:
        result = getattr(mod, cfg["func"])(cfg["params"], ctx)
    finally:
        _reap_all()
    with open(cfg["result"], "w") as f:
        json.dump({"result": result}, f)


def _subreaper():
    import ctypes
    PR_SET_CHILD_SUBREAPER = 36
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_CHILD_SUBREAPER")


def _reap_all():
    """Reaps every child that has ended; a step must have stopped what it started."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    try:
        _main(sys.argv[1])
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
    sys.exit(0)
