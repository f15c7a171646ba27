/* The session's shell, started as the user (see login.h).
 *
 * The parent has already set the supplementary groups (initgroups() before
 * pam_setcred(), so modules such as pam_group can add theirs, as login(1)
 * does). The child only runs async-signal-safe calls: signals reset, new
 * session, controlling terminal, stdio, every other fd closed, setgid,
 * setuid (verified: regaining root must fail), parent-death signal, working
 * directory, umask, exec. A failure before the exec is written as {step,
 * errno} to a close-on-exec pipe; EOF on that pipe means the exec happened. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "login.h"
#include "macro.h"

enum {
        STEP_SIGNALS = 1,
        STEP_SETSID,
        STEP_CTTY,
        STEP_STDIO,
        STEP_SETGID,
        STEP_SETUID,
        STEP_VERIFY,
        STEP_PDEATHSIG,
        STEP_EXEC,
        STEP_MAX,
};

static const char *const step_names[STEP_MAX] = {
        [STEP_SIGNALS] = "reset signals",
        [STEP_SETSID] = "setsid",
        [STEP_CTTY] = "set controlling terminal",
        [STEP_STDIO] = "set up stdio",
        [STEP_SETGID] = "setgid",
        [STEP_SETUID] = "setuid",
        [STEP_VERIFY] = "verify credentials",
        [STEP_PDEATHSIG] = "parent death signal",
        [STEP_EXEC] = "exec",
};

typedef struct child_report {
        int32_t step;
        int32_t err;
} child_report;

static void strv_freep_local(char ***l) {
        strv_free(*l);
}

/* The length of a as one single-quoted shell word: ' becomes '\'' . */
static size_t quoted_len(const char *a) {
        size_t k = 2;

        for (; *a; a++)
                k += *a == '\'' ? 4 : 1;
        return k;
}

static char *put_quoted(char *w, const char *a) {
        *w++ = '\'';
        for (; *a; a++) {
                if (*a == '\'') {
                        memcpy(w, "'\\''", 4);
                        w += 4;
                } else
                        *w++ = *a;
        }
        *w++ = '\'';
        return w;
}

int login_shell_argv(const char *shell, const Webtty__Config *config, char ***ret) {
        __attribute__((cleanup(strv_freep_local))) char **argv = NULL;
        const char *slash = strrchr(shell, '/');
        const char *base = slash ? slash + 1 : shell;
        size_t n = config ? config->n_cmd_args : 0, len = 0;
        char *w;

        *ret = NULL;
        argv = calloc(n > 0 ? 4 : 2, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        if (n == 0) {
                /* A login shell: argv[0] "-sh" makes it read the profile. */
                if (asprintf(&argv[0], "-%s", base) < 0) {
                        argv[0] = NULL;
                        return -ENOMEM;
                }
                *ret = TAKE_PTR(argv);
                return 0;
        }
        /* Run by the user's shell as `$SHELL -c STRING`, as sshd does. One
         * argument is the command line itself (`webtty exec -- 'ls | wc'`);
         * several are single-quoted each, so the argv boundaries the client
         * sent survive (sshd joins them with spaces and loses them). */
        for (size_t i = 0; i < n; i++) {
                const char *a = config->cmd_args[i] ? config->cmd_args[i] : "";
                size_t k = n == 1 ? strlen(a) : quoted_len(a);

                if (k > SIZE_MAX / 2 - len - 1)
                        return -E2BIG;
                len += k + 1;
        }
        argv[0] = strdup(base);
        argv[1] = strdup("-c");
        argv[2] = malloc(len);
        if (!argv[0] || !argv[1] || !argv[2])
                return -ENOMEM;
        w = argv[2];
        for (size_t i = 0; i < n; i++) {
                const char *a = config->cmd_args[i] ? config->cmd_args[i] : "";

                if (i > 0)
                        *w++ = ' ';
                if (n == 1) {
                        memcpy(w, a, strlen(a));
                        w += strlen(a);
                } else
                        w = put_quoted(w, a);
        }
        *w = 0;
        *ret = TAKE_PTR(argv);
        return 0;
}

__attribute__((noreturn)) static void child_fail(int fd, int step, int err) {
        child_report rep = {.step = step, .err = err > 0 ? err : EIO};
        ssize_t k = write(fd, &rep, sizeof rep);

        (void) k;
        _exit(127);
}

static int reset_signals(void) {
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigset_t none;

        for (int sig = 1; sig < _NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                /* glibc refuses its internal signals (EINVAL); they are
                 * never ignored by this program, so nothing survives. */
                if (sigaction(sig, &sa, NULL) < 0 && errno != EINVAL)
                        return errno;
        }
        if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                return errno;
        return 0;
}

/* dup2() the child's stdio and put the report pipe on fd 3, then close
 * everything above it. The parent keeps 0..2 on /dev/null, so every source
 * fd is above 2 and no dup2() clobbers another source. */
static int setup_stdio(const login_io *io, int *report_fd) {
        int fds[3];

        login_io_child_fds(io, fds);
        for (int i = 0; i < 3; i++)
                if (fds[i] <= 2 || dup2(fds[i], i) < 0)
                        return fds[i] <= 2 ? EBADF : errno;
        if (*report_fd != 3) {
                if (dup3(*report_fd, 3, O_CLOEXEC) < 0)
                        return errno;
                *report_fd = 3;
        }
        if (close_range(4, ~0U, 0) < 0)
                for (int fd = 4; fd < 65536; fd++)
                        (void) close(fd);
        return 0;
}

static int drop_privileges(const spawn_account *a, int *step) {
        uid_t ru, eu, su;
        gid_t rg, eg, sg;

        *step = STEP_SETGID;
        if (setresgid(a->gid, a->gid, a->gid) < 0)
                return errno;
        *step = STEP_SETUID;
        if (setresuid(a->uid, a->uid, a->uid) < 0)
                return errno;
        *step = STEP_VERIFY;
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
                return errno;
        if (ru != a->uid || eu != a->uid || su != a->uid || rg != a->gid || eg != a->gid || sg != a->gid)
                return EPERM;
        if (a->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
                return EPERM;
        return 0;
}

static void say(const char *a, const char *b, const char *c) {
        ssize_t k;

        k = write(STDERR_FILENO, a, strlen(a));
        k = write(STDERR_FILENO, b, strlen(b));
        k = write(STDERR_FILENO, c, strlen(c));
        (void) k;
}

__attribute__((noreturn)) static void child_run(const login_exec *e, char **argv, int report_fd,
                                                pid_t parent) {
        const spawn_account *a = e->acct;
        const char *dir =
                e->config && e->config->workdir && e->config->workdir->value && e->config->workdir->value[0]
                        ? e->config->workdir->value
                        : a->home;
        int step = 0, err;

        err = reset_signals();
        if (err)
                child_fail(report_fd, STEP_SIGNALS, err);
        if (setsid() < 0)
                child_fail(report_fd, STEP_SETSID, errno);
        if (e->io->tty && ioctl(e->io->slave, TIOCSCTTY, 0) < 0)
                child_fail(report_fd, STEP_CTTY, errno);
        err = setup_stdio(e->io, &report_fd);
        if (err)
                child_fail(report_fd, STEP_STDIO, err);
        err = drop_privileges(a, &step);
        if (err)
                child_fail(report_fd, step, err);
        /* After setuid, which clears it. If the parent is already gone the
         * signal will never come: give up rather than run unsupervised. */
        if (prctl(PR_SET_PDEATHSIG, SIGHUP) < 0)
                child_fail(report_fd, STEP_PDEATHSIG, errno);
        if (getppid() != parent)
                child_fail(report_fd, STEP_PDEATHSIG, ESRCH);
        if (!dir || !dir[0] || chdir(dir) < 0) {
                /* As login(1): say so on the terminal and start in "/". */
                say("Could not chdir to ", dir ? dir : "", ": starting in /\r\n");
                if (chdir("/") < 0)
                        _exit(1);
        }
        umask(022);
        execve(a->shell, argv, e->env);
        child_fail(report_fd, STEP_EXEC, errno);
}

static void reap(pid_t pid) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

int login_child_start(const login_exec *e, pid_t *ret_pid, char **ret_error) {
        __attribute__((cleanup(strv_freep_local))) char **argv = NULL;
        _cleanup_close_ int rd = -1, wr = -1;
        pid_t parent = getpid(), pid;
        child_report rep = {};
        int fds[2], r;
        ssize_t n;

        *ret_pid = -1;
        r = login_shell_argv(e->acct->shell, e->config, &argv);
        if (r < 0)
                return r;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        rd = fds[0];
        wr = fds[1];
        pid = fork();
        if (pid < 0) {
                r = -errno;
                if (asprintf(ret_error, "fork: %s", strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        if (pid == 0)
                child_run(e, argv, wr, parent);
        wr = safe_close(wr);
        do
                n = read(rd, &rep, sizeof rep);
        while (n < 0 && errno == EINTR);
        if (n == 0) {
                *ret_pid = pid;
                return 0;
        }
        if (n != (ssize_t) sizeof rep) {
                rep = (child_report){.step = STEP_MAX, .err = n < 0 ? errno : EIO};
                (void) kill(pid, SIGKILL);
        }
        reap(pid);
        if (asprintf(ret_error, "%s %s: %s",
                     rep.step > 0 && rep.step < STEP_MAX ? step_names[rep.step] : "read child status",
                     rep.step == STEP_EXEC ? e->acct->shell : "as the user", strerror(rep.err)) < 0)
                *ret_error = NULL;
        return -(rep.err > 0 ? rep.err : EIO);
}
