/* The watchdog (see login.h): a root child that outlives a kill -9 of
 * webttyd-login. It holds only the read end of a pipe whose write end only
 * the main process has; EOF without the clean byte means the main process
 * died without closing the session, so the watchdog hangs the session up,
 * kills what is left of it and writes the logout records. It ignores the
 * usual stop signals so that a service stop (SIGTERM to the whole unit)
 * leaves it the moment it needs. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "login.h"
#include "macro.h"

#define CLEAN_BYTE 'c'

__attribute__((noreturn)) static void watchdog_run(int rd, pid_t sid, login_utmp u) {
        struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL};
        sigset_t none;
        char b = 0;
        ssize_t n;

        (void) sigaction(SIGHUP, &ign, NULL);
        (void) sigaction(SIGINT, &ign, NULL);
        (void) sigaction(SIGTERM, &ign, NULL);
        (void) sigaction(SIGCHLD, &dfl, NULL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        /* Nothing but the pipe (and stdio for the log): above all not the
         * socket, whose EOF tells webttyd that the helper is gone. */
        if (rd != 3) {
                if (dup3(rd, 3, O_CLOEXEC) < 0)
                        _exit(1);
                rd = 3;
        }
        (void) close_range(4, ~0U, 0);
        do
                n = read(rd, &b, 1);
        while (n < 0 && errno == EINTR);
        if (n == 1 && b == CLEAN_BYTE)
                _exit(0);
        log_warning("webttyd-login died during the session: hanging up session %d", (int) sid);
        login_kill_session(sid, SIGHUP);
        login_kill_session(sid, SIGCONT);
        (void) poll(NULL, 0, 500);
        login_kill_session(sid, SIGKILL);
        login_utmp_close(&u);
        _exit(0);
}

int login_watch_start(login_watch *w, pid_t sid, const login_utmp *u) {
        int fds[2];
        pid_t pid;

        w->pid = -1;
        w->fd = -1;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;

                safe_close(fds[0]);
                safe_close(fds[1]);
                return r;
        }
        if (pid == 0) {
                safe_close(fds[1]);
                watchdog_run(fds[0], sid, *u);
        }
        safe_close(fds[0]);
        w->pid = pid;
        w->fd = fds[1];
        return 0;
}

void login_watch_finish(login_watch *w) {
        char b = CLEAN_BYTE;

        if (w->fd >= 0) {
                if (write(w->fd, &b, 1) != 1)
                        log_warning("cannot tell the watchdog that the session ended cleanly: %m");
                w->fd = safe_close(w->fd);
        }
        if (w->pid > 0)
                while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        w->pid = -1;
}
