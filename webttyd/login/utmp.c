/* utmp, wtmp and lastlog for a PTY session, as login(1) and sshd write them
 * (no records for pipe sessions: they have no line). Failures are logged and
 * never stop a session: accounting is not access control. */

#include <errno.h>
#include <fcntl.h>
#include <lastlog.h>
#include <paths.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <utmp.h>
#include <utmpx.h>

#include "log.h"
#include "login.h"

#define LASTLOG_PATH "/var/log/lastlog"

/* utmp fields need no terminating NUL when full. */
static void copy_field(char *dst, size_t size, const char *src) {
        size_t n = strnlen(src, size);

        memset(dst, 0, size);
        memcpy(dst, src, n);
}

static void fill(struct utmpx *ut, const login_utmp *u, short type) {
        struct timeval tv;

        memset(ut, 0, sizeof *ut);
        ut->ut_type = type;
        ut->ut_pid = u->pid;
        copy_field(ut->ut_line, sizeof ut->ut_line, u->line);
        memcpy(ut->ut_id, u->id, sizeof ut->ut_id);
        if (type == USER_PROCESS) {
                copy_field(ut->ut_user, sizeof ut->ut_user, u->user);
                copy_field(ut->ut_host, sizeof ut->ut_host, u->host);
        }
        gettimeofday(&tv, NULL);
        ut->ut_tv.tv_sec = (int32_t) tv.tv_sec;
        ut->ut_tv.tv_usec = (int32_t) tv.tv_usec;
}

static void write_utmp(const struct utmpx *ut) {
        setutxent();
        if (!pututxline(ut))
                log_warning("cannot write %s: %m", _PATH_UTMP);
        endutxent();
        updwtmpx(_PATH_WTMP, ut);
}

/* The fixed-size record at uid * sizeof(struct lastlog), only when the
 * file exists (systems without lastlog, or with lastlog2, have none). */
static void write_lastlog(const login_utmp *u, uid_t uid) {
        struct lastlog ll = {};
        int fd = open(LASTLOG_PATH, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return;
        ll.ll_time = (int32_t) time(NULL);
        copy_field(ll.ll_line, sizeof ll.ll_line, u->line);
        copy_field(ll.ll_host, sizeof ll.ll_host, u->host);
        if (pwrite(fd, &ll, sizeof ll, (off_t) uid * (off_t) sizeof ll) != (ssize_t) sizeof ll)
                log_warning("cannot write %s: %m", LASTLOG_PATH);
        close(fd);
}

void login_utmp_open(login_utmp *u, const char *line, const char *user, uid_t uid, const char *host,
                     pid_t pid) {
        struct utmpx ut;
        size_t n;

        memset(u, 0, sizeof *u);
        snprintf(u->line, sizeof u->line, "%s", line);
        n = strlen(u->line);
        /* ut_id: the last 4 characters of the line ("s/12" for pts/12). */
        memcpy(u->id, u->line + (n > 4 ? n - 4 : 0), n > 4 ? 4 : n);
        snprintf(u->user, sizeof u->user, "%s", user);
        snprintf(u->host, sizeof u->host, "%s", host ? host : "");
        u->pid = pid;
        fill(&ut, u, USER_PROCESS);
        write_utmp(&ut);
        write_lastlog(u, uid);
        u->written = true;
}

void login_utmp_close(login_utmp *u) {
        struct utmpx ut;

        if (!u->written)
                return;
        /* The logout record: DEAD_PROCESS with the line and id, no user. */
        fill(&ut, u, DEAD_PROCESS);
        write_utmp(&ut);
        u->written = false;
}
