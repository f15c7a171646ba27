/* While the session runs (see login.h): one poll loop over the socket to
 * webttyd and a signalfd (SIGCHLD, and the stop signals systemd or an
 * operator sends this process). This process is a child subreaper, so
 * whatever the shell daemonizes comes back here and is killed when the
 * shell is gone: no process outlives its session. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "login.h"
#include "macro.h"

#define KILL_ROUNDS 1000

/* session id and parent of /proc/<pid>/stat; -1 when it is gone. */
static int proc_stat(pid_t pid, pid_t *ret_ppid, pid_t *ret_sid) {
        char path[64], buf[1024];
        const char *p;
        ssize_t n;
        int fd, ppid, pgrp, sid;
        char state;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = 0;
        /* comm may hold anything, ')' included: the fields follow the last ')'. */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %c %d %d %d", &state, &ppid, &pgrp, &sid) != 4)
                return -1;
        *ret_ppid = ppid;
        *ret_sid = sid;
        return 0;
}

/* Sends sig to every process in session sid, or whose parent is ppid
 * (each criterion skipped when <= 0), except skip. The number signalled. */
static size_t signal_matching(pid_t sid, pid_t ppid, pid_t skip, int sig) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                char *end;
                long v = strtol(de->d_name, &end, 10);
                pid_t p_ppid, p_sid;

                if (*end || v <= 0 || (pid_t) v == skip || (pid_t) v == getpid())
                        continue;
                if (proc_stat((pid_t) v, &p_ppid, &p_sid) < 0)
                        continue;
                if ((sid > 0 && p_sid == sid) || (ppid > 0 && p_ppid == ppid)) {
                        if (kill((pid_t) v, sig) == 0)
                                n++;
                }
        }
        closedir(d);
        return n;
}

void login_kill_session(pid_t sid, int sig) {
        (void) kill(-sid, sig);
        (void) signal_matching(sid, 0, 0, sig);
}

/* Kills and reaps every child (the shell's orphans come back to this
 * subreaper) but skip, in rounds, since killing one re-parents its
 * children here. */
static void kill_descendants(pid_t sid, pid_t skip) {
        for (int round = 0; round < KILL_ROUNDS; round++) {
                size_t n = signal_matching(sid, getpid(), skip, SIGKILL);
                pid_t p;

                while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
                        if (p == skip)
                                log_warning("the watchdog %d exited early", (int) skip);
                if (n == 0)
                        break;
                /* Give the killed ones a moment to die and re-parent. */
                (void) poll(NULL, 0, 5);
        }
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool signal_allowed(int sig) {
        return sig == SIGHUP || sig == SIGINT || sig == SIGTERM || sig == SIGKILL;
}

typedef struct waiter {
        int sock;
        pid_t pid, skip;
        const char *peer;
        bool sock_dead, exited, hung;
        int status;
        int64_t kill_at; /* SIGKILL deadline after a hangup, 0 when none */
} waiter;

static void hang_up(waiter *w, const char *why) {
        if (w->hung || w->exited)
                return;
        wlog_record(LOG_INFO, "hanging up the session", "peer", w->peer, "reason", why, NULL);
        login_kill_session(w->pid, SIGHUP);
        login_kill_session(w->pid, SIGCONT);
        w->hung = true;
        w->kill_at = now_ms() + LOGIN_HANGUP_GRACE_MS;
}

static void on_packet(waiter *w, const uint8_t *buf, size_t len) {
        loginproto_type type;
        loginproto_signal sig = {};
        _cleanup_free_ char *error = NULL;
        char signo[16];

        if (loginproto_peek_type(buf, len, &type) < 0 || type != LOGINPROTO_SIGNAL) {
                wlog_record(LOG_WARNING, "unexpected packet from webttyd ignored", "peer", w->peer, NULL);
                return;
        }
        if (loginproto_decode_signal(buf, len, &sig, &error) < 0) {
                wlog_record(LOG_WARNING, "malformed SIGNAL ignored", "peer", w->peer, "error", error, NULL);
                return;
        }
        snprintf(signo, sizeof signo, "%d", (int) sig.signo);
        if (!signal_allowed(sig.signo)) {
                wlog_record(LOG_WARNING, "SIGNAL refused: not an allowed signal", "peer", w->peer, "signal",
                            signo, NULL);
                return;
        }
        if (!w->exited && kill(-w->pid, sig.signo) < 0)
                wlog_record(LOG_WARNING, "SIGNAL failed", "peer", w->peer, "signal", signo, NULL);
}

static void on_socket(waiter *w, short revents) {
        static uint8_t buf[LOGINPROTO_MAX + 1];
        ssize_t n;

        if (!(revents & POLLIN)) {
                w->sock_dead = true;
                hang_up(w, "webttyd closed the connection");
                return;
        }
        n = login_recv(w->sock, buf, sizeof buf, -1);
        if (n == -EAGAIN)
                return;
        if (n == -EMSGSIZE) {
                wlog_record(LOG_WARNING, "oversized packet from webttyd ignored", "peer", w->peer, NULL);
                return;
        }
        if (n <= 0) {
                w->sock_dead = true;
                hang_up(w, n == 0 ? "webttyd closed the connection" : "error on the connection to webttyd");
                return;
        }
        on_packet(w, buf, (size_t) n);
}

static void on_signal(waiter *w, int sigfd) {
        struct signalfd_siginfo si;
        pid_t p;
        int status;

        while (read(sigfd, &si, sizeof si) == (ssize_t) sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                        continue;
                hang_up(w, si.ssi_signo == SIGTERM  ? "SIGTERM"
                           : si.ssi_signo == SIGINT ? "SIGINT"
                                                    : "SIGHUP");
        }
        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                if (p == w->pid) {
                        w->exited = true;
                        w->status = status;
                } else if (p == w->skip)
                        log_warning("the watchdog %d exited early", (int) p);
        }
}

int login_wait(int sock, pid_t pid, pid_t skip_pid, const char *peer) {
        waiter w = {.sock = sock, .pid = pid, .skip = skip_pid, .peer = peer};
        _cleanup_close_ int sigfd = -1;
        sigset_t mask;
        int code;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (sigfd < 0)
                return -errno;
        /* A SIGCHLD may have come before the signalfd existed. */
        on_signal(&w, sigfd);
        while (!w.exited) {
                struct pollfd pfd[2] = {{.fd = sigfd, .events = POLLIN},
                                        {.fd = w.sock_dead ? -1 : sock, .events = POLLIN}};
                int timeout = -1;

                if (w.kill_at > 0) {
                        int64_t left = w.kill_at - now_ms();

                        if (left <= 0) {
                                login_kill_session(pid, SIGKILL);
                                w.kill_at = 0;
                                continue;
                        }
                        timeout = (int) left;
                }
                if (poll(pfd, 2, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pfd[0].revents)
                        on_signal(&w, sigfd);
                if (!w.exited && pfd[1].revents)
                        on_socket(&w, pfd[1].revents);
        }
        kill_descendants(pid, skip_pid);
        code = WIFEXITED(w.status) ? WEXITSTATUS(w.status) : -1;
        if (!w.sock_dead)
                (void) login_send_exited(sock, code);
        return code;
}
