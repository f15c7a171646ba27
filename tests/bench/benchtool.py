#!/usr/bin/python3
"""Measurement helpers for tests/bench/run.sh (Python standard library only).

Subcommands (each prints human-readable lines on stderr and exactly one JSON
object on stdout, which run.sh stores and later feeds to `summary`):

  freeport                         print a free TCP port on 127.0.0.1
  bulk  --runs N --bytes B -- CMD  run CMD N times, stdout to /dev/null; MB/s
  pty   --runs N --bytes B -- CMD  run CMD N times under a fresh pseudo-terminal,
                                   read and count everything it prints; MB/s
  setup --runs N -- CMD            wall time of N runs of CMD (after warm-up)
  idle  --addr A --pid P -n N      open N idle plain-framed WebTTY sessions
                                   (`sleep 600`) and report the daemon's RSS
                                   growth per session
  micro --timeout S -- CMD         run a micro-benchmark once, log its output,
                                   collect the lines that give a rate (MB/s)
  summary [--cipher-mbps X] [--micro-json J] FILE
                                   print the final table from a results file

Every child runs with a timeout and is killed (whole process group) when it
expires, so a hung client never hangs the benchmark.
"""

import argparse
import asyncio
import atexit
import errno
import fcntl
import json
import os
import pty
import re
import resource
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import termios
import time


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def emit(obj):
    print(json.dumps(obj), flush=True)


def kill_group(pid):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            pass
        time.sleep(0.2)


def tail(path, n=400):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data[-n:].decode("utf-8", "replace").strip()
    except OSError:
        return ""


# ---------------------------------------------------------------- CPU time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """CPU seconds of pid including its reaped children (utime, stime,
    cutime, cstime), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def servers_cpu(pids):
    vals = [proc_cpu(p) for p in pids]
    return None if any(v is None for v in vals) else sum(vals)


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class CpuMeter:
    """Client CPU (this tool's reaped children) and server CPU (the daemons
    given with --server-pid, including the commands they reaped) over the
    measured runs, reported per GiB moved."""

    def __init__(self, server_pids):
        self.pids = server_pids or []
        self.c0 = children_cpu()
        self.s0 = servers_cpu(self.pids) if self.pids else None

    def finish(self, res, nbytes_total):
        if not nbytes_total:
            return
        time.sleep(0.3)  # let the daemons reap their per-session children
        gib = nbytes_total / (1 << 30)
        res["client_cpu_s_per_gib"] = (children_cpu() - self.c0) / gib
        line = "    CPU per GiB: client %.2f s" % res["client_cpu_s_per_gib"]
        if self.s0 is not None:
            s1 = servers_cpu(self.pids)
            if s1 is not None:
                res["server_cpu_s_per_gib"] = (s1 - self.s0) / gib
                line += ", server %.2f s (incl. the remote command)" % res["server_cpu_s_per_gib"]
        log(line)


# ---------------------------------------------------------------- freeport

def cmd_freeport(_args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)
    return 0


# ---------------------------------------------------------------- bulk

def run_to_devnull(cmd, timeout, errfile):
    """Runs cmd with stdin and stdout on /dev/null; returns (rc, seconds)."""
    with open(os.devnull, "rb") as dn_in, open(os.devnull, "wb") as dn_out, \
            open(errfile, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=dn_in, stdout=dn_out, stderr=err,
                             start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(p.pid)
            p.wait()
            return None, time.perf_counter() - t0
        return rc, time.perf_counter() - t0


def errfile_path():
    d = os.environ.get("BENCH_TMP") or "/tmp"
    path = os.path.join(d, "bench-child-%d.err" % os.getpid())
    atexit.register(lambda: os.path.exists(path) and os.unlink(path))
    return path


def cmd_bulk(args):
    nbytes = args.bytes
    res = {"kind": "bulk", "bytes": nbytes, "runs": [], "error": None}
    meter = CpuMeter(args.server_pid)
    ef = errfile_path()
    for i in range(args.runs):
        try:
            rc, dt = run_to_devnull(args.cmd, args.timeout, ef)
        except OSError as e:  # e.g. the binary being relinked right now
            res["error"] = "cannot run %s (run %d): %s" % (args.cmd[0], i + 1, e)
            log("    run %d: FAILED: %s" % (i + 1, res["error"]))
            break
        if rc is None:
            res["error"] = "timeout after %.0fs (run %d)" % (args.timeout, i + 1)
        elif rc != 0:
            res["error"] = "exit status %d (run %d): %s" % (rc, i + 1, tail(ef))
        if res["error"]:
            log("    run %d: FAILED: %s" % (i + 1, res["error"]))
            break
        mbps = nbytes / dt / 1e6
        res["runs"].append(dt)
        log("    run %d: %.3f s  %.1f MB/s" % (i + 1, dt, mbps))
    finish_throughput(res, nbytes)
    meter.finish(res, nbytes * len(res["runs"]))
    emit(res)
    return 0


def finish_throughput(res, nbytes):
    if res["runs"]:
        best = min(res["runs"])
        med = statistics.median(res["runs"])
        res["best_mbps"] = nbytes / best / 1e6
        res["median_mbps"] = nbytes / med / 1e6
        res["value"] = res["median_mbps"]
        log("    => median %.1f MB/s, best %.1f MB/s" % (res["median_mbps"], res["best_mbps"]))


# ---------------------------------------------------------------- pty

def pty_run(cmd, timeout, rows=24, cols=80):
    """Runs cmd on the slave side of a new pty (as session leader with it as
    controlling terminal), reads and discards all output from the master.
    Returns (rc or None on timeout, bytes read, seconds, first bytes)."""
    t0 = time.perf_counter()
    pid, master = pty.fork()
    if pid == 0:  # child
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvp(cmd[0], cmd)
        except BaseException as e:  # noqa: BLE001
            os.write(2, ("exec %s: %s\n" % (cmd[0], e)).encode())
        os._exit(127)
    total = 0
    head = bytearray()
    deadline = t0 + timeout
    status = None
    exited_at = None
    timed_out = False
    bufsize = 1 << 16
    try:
        while True:
            now = time.perf_counter()
            if now > deadline:
                timed_out = True
                break
            # After the child exited, give stragglers (a grandchild still
            # holding the slave) 2 s of silence before giving up on EIO.
            wait = 0.5
            r, _, _ = select.select([master], [], [], wait)
            if r:
                try:
                    chunk = os.read(master, bufsize)
                except OSError as e:
                    if e.errno == errno.EIO:
                        break
                    raise
                if not chunk:
                    break
                total += len(chunk)
                if len(head) < 200:
                    head += chunk[: 200 - len(head)]
                continue
            if status is None:
                wpid, st = os.waitpid(pid, os.WNOHANG)
                if wpid:
                    status = st
                    exited_at = time.perf_counter()
            elif time.perf_counter() - exited_at > 2.0:
                break
    finally:
        if status is None and not timed_out:
            # Output ended (EIO); the child should be exiting right now.
            limit = time.perf_counter() + 10
            while time.perf_counter() < limit:
                wpid, st = os.waitpid(pid, os.WNOHANG)
                if wpid:
                    status = st
                    break
                time.sleep(0.001)
            else:
                timed_out = True
        if status is None:
            kill_group(pid)
            _, status = os.waitpid(pid, 0)
        dt = time.perf_counter() - t0
        os.close(master)
    if timed_out:
        return None, total, dt, bytes(head)
    rc = os.waitstatus_to_exitcode(status)
    return rc, total, dt, bytes(head)


def cmd_pty(args):
    nbytes = args.bytes
    res = {"kind": "pty", "bytes": nbytes, "runs": [], "error": None}
    meter = CpuMeter(args.server_pid)
    for i in range(args.runs):
        rc, got, dt, head = pty_run(args.cmd, args.timeout)
        if rc is None:
            res["error"] = "timeout after %.0fs (run %d, %d bytes read)" % (args.timeout, i + 1, got)
        elif rc != 0:
            res["error"] = "exit status %d (run %d, %d bytes read): %r" % (rc, i + 1, got, head[:120])
        elif got != nbytes:
            res["error"] = "read %d bytes, expected %d (run %d); starts with %r" % (
                got, nbytes, i + 1, head[:80])
        if res["error"]:
            log("    run %d: FAILED: %s" % (i + 1, res["error"]))
            break
        res["runs"].append(dt)
        log("    run %d: %.3f s  %.1f MB/s (%d bytes)" % (i + 1, dt, nbytes / dt / 1e6, got))
    finish_throughput(res, nbytes)
    meter.finish(res, nbytes * len(res["runs"]))
    emit(res)
    return 0


# ---------------------------------------------------------------- setup

def cmd_setup(args):
    res = {"kind": "setup", "runs": [], "error": None}
    ef = errfile_path()
    total = args.warmup + args.runs
    for i in range(total):
        try:
            rc, dt = run_to_devnull(args.cmd, args.timeout, ef)
        except OSError as e:
            res["error"] = "cannot run %s (run %d): %s" % (args.cmd[0], i + 1, e)
            log("    FAILED: %s" % res["error"])
            break
        if rc is None:
            res["error"] = "timeout after %.0fs (run %d)" % (args.timeout, i + 1)
        elif rc != 0:
            res["error"] = "exit status %d (run %d): %s" % (rc, i + 1, tail(ef))
        if res["error"]:
            log("    FAILED: %s" % res["error"])
            break
        if i >= args.warmup:
            res["runs"].append(dt)
    if res["runs"]:
        ms = sorted(x * 1000 for x in res["runs"])
        res["median_ms"] = statistics.median(ms)
        res["min_ms"] = ms[0]
        res["p90_ms"] = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
        res["value"] = res["median_ms"]
        log("    => %d runs: median %.2f ms, min %.2f ms, p90 %.2f ms" % (
            len(ms), res["median_ms"], res["min_ms"], res["p90_ms"]))
    emit(res)
    return 0


# ---------------------------------------------------------------- idle

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def open_message(argv):
    # Message{open(1): Open{config(1): Config{cmd_args(2): argv...}}}
    config = b"".join(field_bytes(2, a.encode()) for a in argv)
    return field_bytes(1, field_bytes(1, config))


def parse_varint(buf, i):
    shift = 0
    val = 0
    while True:
        b = buf[i]
        i += 1
        val |= (b & 0x7F) << shift
        if not b & 0x80:
            return val, i
        shift += 7


def describe_message(body):
    """Short human description of a WebTTY Message (only what we need)."""
    if not body:
        return "empty message"
    try:
        key, i = parse_varint(body, 0)
        num = key >> 3
        names = {1: "Open", 2: "Ack", 3: "Error", 4: "Close", 5: "Data", 6: "Parameter",
                 7: "Heartbeat", 8: "Attach", 9: "ServerHello", 10: "ProtocolError",
                 11: "ClientHello"}
        name = names.get(num, "field %d" % num)
        if num in (3, 10):  # Error{msg=1} / ProtocolError{code=1,msg=2}
            ln, i = parse_varint(body, i)
            inner = body[i:i + ln]
            j = 0
            msg = ""
            while j < len(inner):
                k, j = parse_varint(inner, j)
                if k & 7 == 2:
                    l2, j = parse_varint(inner, j)
                    msg = inner[j:j + l2].decode("utf-8", "replace")
                    j += l2
                elif k & 7 == 0:
                    _, j = parse_varint(inner, j)
                else:
                    break
            return "%s %r" % (name, msg)
        return name
    except (IndexError, ValueError):
        return "undecodable %r" % bytes(body[:40])


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def rss_kib(pid):
    return int(proc_status(pid)["VmRSS"].split()[0])


def descendants(pid):
    """[(pid, comm, rss_kib)] of every descendant of pid."""
    children = {}
    info = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = proc_status(int(d))
        except (OSError, KeyError):
            continue
        ppid = int(st.get("PPid", "0"))
        children.setdefault(ppid, []).append(int(d))
        rss = st.get("VmRSS", "0 kB").split()[0]
        info[int(d)] = (st.get("Name", "?"), int(rss) if rss.isdigit() else 0)
    out = []
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append((p, info[p][0], info[p][1]))
        todo.extend(children.get(p, []))
    return out


class Session:
    def __init__(self):
        self.reader = None
        self.writer = None
        self.task = None
        self.ended = None  # text if the server ended the session early


async def connect(addr):
    if addr.startswith("unix:"):
        return await asyncio.open_unix_connection(addr[5:])
    if addr.startswith("tcp://"):
        addr = addr[6:]
    host, _, port = addr.rpartition(":")
    return await asyncio.open_connection(host, int(port))


async def read_msg(reader):
    hdr = await reader.readexactly(4)
    (n,) = struct.unpack(">I", hdr)
    return await reader.readexactly(n)


async def open_session(addr, frame, sem, timeout):
    s = Session()
    async with sem:
        s.reader, s.writer = await asyncio.wait_for(connect(addr), timeout)
        s.writer.write(frame)
        await s.writer.drain()
        while True:
            body = await asyncio.wait_for(read_msg(s.reader), timeout)
            if body == b"\x12\x00":
                break
            if body[:1] in (b"\x3a", b"\x5a"):  # Heartbeat / ClientHello: skip
                continue
            s.writer.close()
            raise RuntimeError("expected Ack, got " + describe_message(body))
    s.task = asyncio.ensure_future(drain(s))
    return s


async def drain(s):
    """Reads and discards what the server sends on an idle session
    (heartbeats); notes an early end."""
    try:
        while True:
            body = await read_msg(s.reader)
            if body[:1] == b"\x3a":
                continue
            if body[:1] in (b"\x22", b"\x1a", b"\x52"):
                s.ended = describe_message(body)
    except (asyncio.IncompleteReadError, ConnectionError):
        if s.ended is None:
            s.ended = "connection closed by server"
    except asyncio.CancelledError:
        pass


async def idle_main(args):
    res = {"kind": "idle", "sessions": args.sessions, "error": None}
    pid = args.pid
    frame_body = open_message(args.command)
    frame = struct.pack(">I", len(frame_body)) + frame_body
    sem = asyncio.Semaphore(args.concurrency)

    # Warm-up: one session, opened and closed, so that one-time lazy
    # initialisation is not charged to the measured sessions.
    try:
        w = await open_session(args.addr, frame, sem, args.timeout)
        w.task.cancel()
        w.writer.close()
    except Exception as e:  # noqa: BLE001
        res["error"] = "warm-up session failed: %s" % (e or type(e).__name__)
        emit(res)
        return
    await asyncio.sleep(1.0)
    before = rss_kib(pid)
    base_desc = descendants(pid)
    log("    daemon pid %d: VmRSS before %d KiB (%d descendants)" % (pid, before, len(base_desc)))

    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(open_session(args.addr, frame, sem, args.timeout) for _ in range(args.sessions)),
        return_exceptions=True)
    t_open = time.perf_counter() - t0
    sessions = [r for r in results if isinstance(r, Session)]
    errors = [r for r in results if not isinstance(r, Session)]
    res["opened"] = len(sessions)
    res["open_seconds"] = t_open
    log("    opened %d/%d sessions in %.2f s" % (len(sessions), args.sessions, t_open))
    if errors:
        kinds = {}
        for e in errors:
            k = "%s: %s" % (type(e).__name__, e)
            kinds[k] = kinds.get(k, 0) + 1
        for k, n in sorted(kinds.items(), key=lambda x: -x[1])[:5]:
            log("    %d failed: %s" % (n, k))
        res["error"] = "%d of %d sessions failed to open (%s)" % (
            len(errors), args.sessions, next(iter(kinds)))

    await asyncio.sleep(args.settle)
    after = rss_kib(pid)
    st = proc_status(pid)
    desc = descendants(pid)
    early = [s.ended for s in sessions if s.ended]
    if early:
        log("    %d sessions ended early, e.g. %s" % (len(early), early[0]))
        if not res["error"]:
            res["error"] = "%d sessions ended while idle (%s)" % (len(early), early[0])
    names = {}
    helper_rss = 0
    for _, name, rss in desc:
        names[name] = names.get(name, 0) + 1
        if name != args.command[0]:
            helper_rss += rss
    try:
        nfds = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        nfds = -1
    res.update({
        "rss_before_kib": before, "rss_after_kib": after,
        "vmhwm_kib": int(st.get("VmHWM", "0 kB").split()[0]),
        "daemon_fds": nfds, "descendants": names, "helper_rss_kib": helper_rss,
    })
    n = len(sessions)
    if n:
        res["value"] = (after - before) / n
        log("    VmRSS after %d KiB (HWM %s), delta %d KiB => %.1f KiB per session" % (
            after, st.get("VmHWM"), after - before, res["value"]))
        log("    daemon fds: %d (%.1f per session); descendants: %s" % (
            nfds, nfds / n, ", ".join("%d x %s" % (c, k) for k, c in sorted(names.items()))))
        if helper_rss:
            res["helper_kib_per_session"] = helper_rss / n
            log("    non-%s descendants use %d KiB RSS in total (%.1f KiB per session)" % (
                args.command[0], helper_rss, helper_rss / n))

    # Close everything and check that the daemon reaps the sessions. Each
    # client half-closes (EOF, the normal end on the plain transport) and
    # keeps reading until the daemon closes its side, so that no reset is
    # provoked by unread heartbeats.
    t0 = time.perf_counter()
    for s in sessions:
        try:
            s.writer.write_eof()
        except (OSError, RuntimeError):
            pass
    pending = [s.task for s in sessions]
    if pending:
        _, pending = await asyncio.wait(pending, timeout=args.reap_timeout)
    if pending:
        log("    WARNING: %d sessions still open %.0f s after the client's EOF" % (
            len(pending), args.reap_timeout))
        res["open_after_eof"] = len(pending)
    for s in sessions:
        s.task.cancel()
        s.writer.close()
    left = None
    while time.perf_counter() - t0 < args.reap_timeout:
        left = [d for d in descendants(pid) if d[1] == args.command[0]]
        if not left:
            break
        await asyncio.sleep(0.5)
    res["left_after_close"] = len(left or [])
    try:
        res["rss_after_close_kib"] = rss_kib(pid)
    except OSError:
        res["rss_after_close_kib"] = None
    if left:
        log("    WARNING: %d '%s' children still running %.0f s after all clients closed" % (
            len(left), args.command[0], args.reap_timeout))
    else:
        log("    all sessions reaped %.1f s after the clients closed; VmRSS now %s KiB" % (
            time.perf_counter() - t0, res["rss_after_close_kib"]))
    emit(res)


def cmd_idle(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.sessions * 2 + 256
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard), hard))
        except (ValueError, OSError) as e:
            log("    cannot raise RLIMIT_NOFILE: %s" % e)
    asyncio.run(idle_main(args))
    return 0


# ---------------------------------------------------------------- micro

RATE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(MB|MiB|GB|GiB)/s")


def parse_rates(text):
    """[(line, MB/s)] for each output line that states a rate (MB/s, MiB/s,
    GB/s or GiB/s; the last rate on a line counts)."""
    scale = {"MB": 1.0, "MiB": 1.048576, "GB": 1000.0, "GiB": 1073.741824}
    out = []
    for line in text.splitlines():
        m = RATE_RE.findall(line)
        if m:
            v, u = m[-1]
            out.append((line.strip(), float(v) * scale[u]))
    return out


def cmd_micro(args):
    res = {"kind": "micro", "cmd": " ".join(args.cmd), "error": None, "lines": []}
    try:
        p = subprocess.Popen(args.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as e:
        res["error"] = "cannot run: %s" % e
        log("    " + res["error"])
        emit(res)
        return 0
    try:
        out, _ = p.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        kill_group(p.pid)
        out, _ = p.communicate()
        res["error"] = "timeout after %.0fs" % args.timeout
    text = out.decode("utf-8", "replace")
    for line in text.splitlines()[-20:]:
        log("    | " + line)
    if not res["error"] and p.returncode != 0:
        res["error"] = "exit status %d" % p.returncode
    rates = parse_rates(text)
    res["lines"] = [[line, v] for line, v in rates]
    if rates:
        res["value"] = max(v for _, v in rates)
    elif not res["error"]:
        res["error"] = "printed no MB/s figure"
    if res["error"]:
        log("    " + res["error"])
    emit(res)
    return 0


# ---------------------------------------------------------------- summary

def cmd_summary(args):
    rows = []
    with open(args.file) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) == 6:
                fields.append("")
            rows.append(fields)
    # columns: metric, unit, webtty-json, ssh-json, goal-op, goal, and
    # optionally base-json: the goal is then webtty/base (E2E vs plain
    # webttyd) and webtty/ssh goes to the note column.
    header = ("metric", "webtty", "ssh", "ratio", "goal", "result", "note")
    table = []
    errors = 0
    e2e_rows = []
    for metric, unit, wj, sj, op, goal, bj in rows:
        w = json.loads(wj) if wj else None
        s = json.loads(sj) if sj else None
        b = json.loads(bj) if bj else None
        goal_v = float(goal)

        def fig(r):
            if r is None:
                return "-", None
            if r.get("value") is None or r.get("error"):
                return "ERROR", None
            return "%.1f %s" % (r["value"], unit), r["value"]

        wt, wv = fig(w)
        st, sv = fig(s)
        note = ""
        if (w and w.get("error")) or (s and s.get("error")):
            errors += 1
        if b is not None:  # goal relative to the plain webttyd figure
            _, bv = fig(b)
            ratio = (wv / bv) if (wv is not None and bv) else None
            rtxt = "%.3f" % ratio if ratio is not None else "-"
            gtxt = "e2e/plain %s %g" % (op, goal_v)
            vs_ssh = "%.3f" % (wv / sv) if (wv is not None and sv) else "-"
            note = "e2e/ssh %s; plain %s" % (vs_ssh, "%.1f %s" % (bv, unit) if bv is not None else "ERROR")
            e2e_rows.append((metric, wv))
        elif s is None:  # absolute goal on the webtty figure
            ratio = wv
            rtxt = "-"
            gtxt = "%s %g %s" % (op, goal_v, unit)
        else:
            ratio = (wv / sv) if (wv is not None and sv) else None
            rtxt = "%.3f" % ratio if ratio is not None else "-"
            gtxt = "ratio %s %g" % (op, goal_v)
        if ratio is None:
            verdict = "ERROR"
        elif (op == ">=" and ratio >= goal_v) or (op == "<=" and ratio <= goal_v):
            verdict = "PASS"
        else:
            verdict = "MISS"
        table.append((metric, wt, st, rtxt, gtxt, verdict, note))
    if not any(r[-1] for r in table):  # no note anywhere: no note column
        header = header[:-1]
        table = [r[:-1] for r in table]
    widths = [max(len(str(r[i])) for r in [header] + table) for i in range(len(header))]
    sep = "  "
    print(sep.join(h.ljust(widths[i]) for i, h in enumerate(header)).rstrip())
    print(sep.join("-" * w for w in widths))
    for r in table:
        print(sep.join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    # E2E against the cipher's own speed and the in-process micro-benchmark
    if args.cipher_mbps is not None or args.micro_json:
        print()
        cm = args.cipher_mbps if args.cipher_mbps else None
        if cm:
            print("AES-256-GCM limit, `openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3` (one core): %.1f MB/s" % cm)
        else:
            print("AES-256-GCM limit: openssl speed not available or not parsed")

        def frac(v):
            return " = %.3f of openssl" % (v / cm) if (cm and v is not None) else ""
        for metric, wv in e2e_rows:
            print("  %-34s %s%s" % (metric + ":", "%.1f MB/s" % wv if wv is not None else "ERROR", frac(wv)))
        if args.micro_json:
            m = json.loads(args.micro_json)
            name = "tests/bench/bench-e2e (in-process, one core)"
            if m.get("lines"):
                print("  %s:" % name)
                for line, v in m["lines"][:8]:
                    print("    %s%s" % (" ".join(line.split()), frac(v)))
                if m.get("error"):
                    print("    error: %s" % m["error"])
            elif m.get("error"):
                print("  %s: skipped (%s)" % (name, m["error"]))
    # CPU cost of the throughput rows, when measured
    cpu = []
    for metric, _, wj, sj, _, _, _ in rows:
        w = json.loads(wj) if wj else {}
        sv = json.loads(sj) if sj else {}
        if "client_cpu_s_per_gib" in w or "client_cpu_s_per_gib" in sv:
            def c(r, k):
                return "%.2f" % r[k] if k in r else "-"
            cpu.append((metric, c(w, "client_cpu_s_per_gib"), c(w, "server_cpu_s_per_gib"),
                        c(sv, "client_cpu_s_per_gib"), c(sv, "server_cpu_s_per_gib")))
    if cpu:
        print()
        print("CPU seconds per GiB moved (server side includes the remote `head`):")
        h2 = ("metric", "webtty client", "webttyd", "ssh client", "sshd")
        w2 = [max(len(r[i]) for r in [h2] + cpu) for i in range(len(h2))]
        print(sep.join(x.ljust(w2[i]) for i, x in enumerate(h2)))
        for r in cpu:
            print(sep.join(x.ljust(w2[i]) for i, x in enumerate(r)))
    # notes for errored cells (each distinct error once)
    seen = set()
    for metric, _, wj, sj, _, _, _ in rows:
        for who, j in (("webtty", wj), ("ssh", sj)):
            if j:
                r = json.loads(j)
                if r.get("error") and (who, j) not in seen:
                    seen.add((who, j))
                    print("  %s (%s): %s" % (metric, who, r["error"]))
    return 1 if errors else 0


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="sub", required=True)
    sub.add_parser("freeport")
    for name in ("bulk", "pty"):
        p = sub.add_parser(name)
        p.add_argument("--runs", type=int, default=3)
        p.add_argument("--bytes", type=int, required=True)
        p.add_argument("--timeout", type=float, default=300)
        p.add_argument("--server-pid", type=int, action="append",
                       help="daemon whose CPU time (with reaped children) to report")
        p.add_argument("cmd", nargs="+")
    p = sub.add_parser("setup")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("cmd", nargs="+")
    p = sub.add_parser("idle")
    p.add_argument("--addr", required=True, help="tcp://HOST:PORT or unix:/PATH")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("-n", "--sessions", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--reap-timeout", type=float, default=15.0)
    p.add_argument("--command", nargs="+", default=["sleep", "600"])
    p = sub.add_parser("micro")
    p.add_argument("--timeout", type=float, default=180)
    p.add_argument("cmd", nargs="+")
    p = sub.add_parser("summary")
    p.add_argument("--cipher-mbps", type=float, default=None,
                   help="openssl speed figure for AES-256-GCM (0: not available)")
    p.add_argument("--micro-json", default=None, help="JSON from `micro`")
    p.add_argument("file")
    args = ap.parse_args()
    return globals()["cmd_" + args.sub](args)


if __name__ == "__main__":
    sys.exit(main())
