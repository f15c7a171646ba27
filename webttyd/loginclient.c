/* webttyd's half of the webttyd <-> webttyd-login conversation (see
 * loginclient.h). */
#include "loginclient.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "errmsg.h"
#include "log.h"
#include "macro.h"

/* Messages from webttyd-login are small (STARTED names a user and a tty,
 * REFUSED one line for the peer); a larger packet is a protocol error, so
 * one static buffer serves every session of the single-threaded daemon. */
#define RECV_MAX (16u * 1024u)
#define MAX_FDS 3

typedef enum login_state {
        LC_WAIT_START, /* REQUEST sent: STARTED or REFUSED allowed */
        LC_RUNNING,    /* STARTED received: EXITED allowed */
        LC_EXITED,     /* EXITED received: only the end of the connection */
        LC_DONE,       /* refused, failed or ended: nothing more is read */
} login_state;

struct login_client {
        int fd;
        sd_event_source *io;
        login_state state;
        bool want_tty;
        int pending_signo; /* a SIGNAL that did not fit into the socket yet, or 0 */
        const login_client_ops *ops;
        void *userdata;
};

static uint8_t recv_buffer[RECV_MAX];

static const char *type_name(loginproto_type t) {
        switch (t) {
        case LOGINPROTO_REQUEST:
                return "REQUEST";
        case LOGINPROTO_STARTED:
                return "STARTED";
        case LOGINPROTO_REFUSED:
                return "REFUSED";
        case LOGINPROTO_SIGNAL:
                return "SIGNAL";
        case LOGINPROTO_EXITED:
                return "EXITED";
        case LOGINPROTO_PROOF:
                return "PROOF";
        }
        return "unknown";
}

static int fd_nonblock(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

/* ---- pure helpers --------------------------------------------------------- */

/* A protobuf varint of at most 10 bytes; returns bytes used or 0. */
static size_t read_varint(const uint8_t *p, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        for (size_t i = 0; i < len && i < 10; i++) {
                v |= (uint64_t) (p[i] & 0x7f) << (7 * i);
                if (!(p[i] & 0x80)) {
                        *ret = v;
                        return i + 1;
                }
        }
        return 0;
}

int login_open_bytes(const uint8_t *msg, size_t len, const uint8_t **ret, size_t *ret_len) {
        uint64_t key, n;
        size_t k, l;

        *ret = NULL;
        *ret_len = 0;
        if (!msg)
                return 0;
        k = read_varint(msg, len, &key);
        if (k == 0 || key != ((1u << 3) | 2u)) /* Message.open, length-delimited */
                return 0;
        l = read_varint(msg + k, len - k, &n);
        /* Compared by subtraction: the rest of the buffer, exactly. */
        if (l == 0 || n != (uint64_t) (len - k - l))
                return 0;
        *ret = msg + k + l;
        *ret_len = (size_t) n;
        return 1;
}

const char *login_check_account(const Webtty__Config *config, const char *login_user, bool allow_client_user,
                                bool authenticated) {
        const Webtty__Username *u = config ? config->username : NULL;
        bool client = u && (u->payload_case == WEBTTY__USERNAME__PAYLOAD_NAME ||
                            u->payload_case == WEBTTY__USERNAME__PAYLOAD_ID);

        if (client && !allow_client_user)
                return "client-selected OS users are disabled in login execution mode";
        /* A verified caller is mapped by webttyd-login's policy; only an
         * unauthenticated session needs the configured default user. */
        if (!client && !authenticated && (!login_user || !*login_user))
                return "login execution mode requires a configured default user or explicitly allowed "
                       "client "
                       "user";
        return NULL;
}

static int check_pipe_end(int fd, const char *name, bool writable, char **ret_error) {
        struct stat st;
        int flags, mode;

        if (fstat(fd, &st) < 0)
                return errmsg_set(ret_error, -errno, "STARTED: %s fd: %s", name, strerror(errno));
        if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
                return errmsg_set(ret_error, -EBADF, "STARTED: %s fd is not a pipe or socket", name);
        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return errmsg_set(ret_error, -errno, "STARTED: %s fd: %s", name, strerror(errno));
        mode = flags & O_ACCMODE;
        if (writable ? mode == O_RDONLY : mode == O_WRONLY)
                return errmsg_set(ret_error, -EBADF, "STARTED: %s fd is not %s", name,
                                  writable ? "writable" : "readable");
        return 0;
}

int login_check_started_fds(bool tty, bool want_tty, const int *fds, size_t n_fds, char **ret_error) {
        static const char *const names[] = {"stdin", "stdout", "stderr"};
        size_t want = tty ? 1 : 3;
        int r;

        if (tty != want_tty)
                return errmsg_set(ret_error, -EPROTO, "STARTED: %s but the Open asked for %s",
                                  tty ? "a PTY" : "pipes", want_tty ? "a PTY" : "pipes");
        if (n_fds != want)
                return errmsg_set(ret_error, -EPROTO, "STARTED: %zu fds attached, %zu expected", n_fds,
                                  want);
        if (tty) {
                unsigned ptn;
                /* Only a PTY master answers TIOCGPTN; a slave or another tty does not. */
                if (ioctl(fds[0], TIOCGPTN, &ptn) < 0)
                        return errmsg_set(ret_error, -EBADF, "STARTED: the fd is not a PTY master");
        } else
                for (size_t i = 0; i < 3; i++) {
                        r = check_pipe_end(fds[i], names[i], i == 0, ret_error);
                        if (r < 0)
                                return r;
                }
        for (size_t i = 0; i < n_fds; i++) {
                r = fd_nonblock(fds[i]);
                if (r < 0)
                        return errmsg_set(ret_error, r, "STARTED: %s", strerror(-r));
        }
        return 0;
}

size_t login_helper_argv(const login_service *svc, int fd, char fd_buf[static 16],
                         char *argv[static LOGIN_HELPER_ARGV_MAX]) {
        size_t n = 0;

        snprintf(fd_buf, 16, "%d", fd);
        argv[n++] = (char *) svc->helper_path;
        argv[n++] = (char *) "--socket-fd";
        argv[n++] = fd_buf;
        if (svc->login_user && *svc->login_user) {
                argv[n++] = (char *) "--login-user";
                argv[n++] = (char *) svc->login_user;
        }
        if (svc->allow_client_user)
                argv[n++] = (char *) "--allow-client-user";
        argv[n] = NULL;
        return n;
}

/* ---- the connection ------------------------------------------------------- */

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                fds[i] = safe_close(fds[i]);
}

/* The connection is over for us: stop watching it (the fd stays open until
 * login_client_free(), so webttyd-login sees the hang-up only then). */
static void lc_stop(login_client *lc) {
        lc->state = LC_DONE;
        lc->io = sd_event_source_disable_unref(lc->io);
}

static void lc_fail(login_client *lc, const char *fmt, ...) _printf_(2, 3);
static void lc_fail(login_client *lc, const char *fmt, ...) {
        char cause[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cause, sizeof(cause), fmt, ap);
        va_end(ap);
        lc_stop(lc);
        lc->ops->on_failed(lc, cause, lc->userdata); /* may free lc */
}

static int send_packet(login_client *lc, const uint8_t *buf, size_t len) {
        ssize_t n;

        do
                n = send(lc->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        /* SOCK_SEQPACKET sends whole packets or fails. */
        return (size_t) n == len ? 0 : -EIO;
}

static int send_signal(login_client *lc, int signo) {
        _cleanup_free_ uint8_t *buf = NULL;
        loginproto_signal m = {.signo = signo};
        size_t len;
        int r;

        r = loginproto_encode_signal(&m, &buf, &len);
        if (r < 0)
                return r;
        return send_packet(lc, buf, len);
}

static int lc_update_events(login_client *lc) {
        if (!lc->io)
                return 0;
        return sd_event_source_set_io_events(lc->io, EPOLLIN | (lc->pending_signo ? EPOLLOUT : 0));
}

/* Receives one packet with at most MAX_FDS descriptors. Returns its length,
 * 0 at the end of the connection, -EAGAIN, or another negative errno; every
 * received fd is closed on failure. */
static ssize_t recv_packet(int fd, int fds[MAX_FDS], size_t *ret_n_fds, char **ret_error) {
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        } control;
        struct iovec iov = {.iov_base = recv_buffer, .iov_len = sizeof(recv_buffer)};
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        size_t n_fds = 0;
        bool extra = false;
        ssize_t n;

        *ret_n_fds = 0;
        do
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                if (errno == EAGAIN)
                        return -EAGAIN;
                return errmsg_set(ret_error, -errno, "receive: %s", strerror(errno));
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                size_t k;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
                        extra = true;
                        continue;
                }
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int f;
                        memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (n_fds < MAX_FDS)
                                fds[n_fds++] = f;
                        else {
                                safe_close(f);
                                extra = true;
                        }
                }
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || extra) {
                close_fds(fds, n_fds);
                if (mh.msg_flags & MSG_TRUNC)
                        return errmsg_set(ret_error, -EMSGSIZE, "a packet larger than %u bytes", RECV_MAX);
                return errmsg_set(ret_error, -EPROTO, "unexpected ancillary data or more than %d fds",
                                  MAX_FDS);
        }
        if (n == 0 && n_fds > 0) {
                close_fds(fds, n_fds);
                return errmsg_set(ret_error, -EPROTO, "fds without a message");
        }
        *ret_n_fds = n_fds;
        return n;
}

static void handle_started(login_client *lc, const uint8_t *buf, size_t len, int fds[MAX_FDS],
                           size_t n_fds) {
        _cleanup_free_ char *err = NULL;
        loginproto_started st = {};
        int r;

        r = loginproto_decode_started(buf, len, &st, &err);
        if (r >= 0)
                r = login_check_started_fds(st.tty, lc->want_tty, fds, n_fds, &err);
        if (r < 0) {
                close_fds(fds, n_fds);
                loginproto_started_done(&st);
                lc_fail(lc, "%s", err ? err : strerror(-r));
                return;
        }
        lc->state = LC_RUNNING;
        lc->ops->on_started(lc, &st, fds, lc->userdata); /* may free lc */
        loginproto_started_done(&st);
}

static void handle_refused(login_client *lc, const uint8_t *buf, size_t len) {
        _cleanup_free_ char *err = NULL;
        loginproto_refused m = {};
        char msg[512];
        int r;

        r = loginproto_decode_refused(buf, len, &m, &err);
        if (r < 0) {
                lc_fail(lc, "%s", err ? err : strerror(-r));
                return;
        }
        /* The peer gets one bounded line; an empty refusal still says something. */
        snprintf(msg, sizeof(msg), "%s", m.message && *m.message ? m.message : "login refused");
        loginproto_refused_done(&m);
        lc_stop(lc);
        lc->ops->on_refused(lc, msg, lc->userdata); /* may free lc */
}

static void handle_exited(login_client *lc, const uint8_t *buf, size_t len) {
        _cleanup_free_ char *err = NULL;
        loginproto_exited m = {};
        int r;

        r = loginproto_decode_exited(buf, len, &m, &err);
        if (r < 0) {
                lc_fail(lc, "%s", err ? err : strerror(-r));
                return;
        }
        if (m.code < -1 || m.code > 255) {
                lc_fail(lc, "EXITED with code %d outside -1..255", (int) m.code);
                return;
        }
        lc->state = LC_EXITED;
        lc->pending_signo = 0;
        (void) lc_update_events(lc);
        lc->ops->on_exited(lc, (int) m.code, lc->userdata); /* may free lc */
}

static void on_readable(login_client *lc) {
        _cleanup_free_ char *err = NULL;
        int fds[MAX_FDS] = {-1, -1, -1};
        size_t n_fds = 0;
        loginproto_type t;
        ssize_t n;

        n = recv_packet(lc->fd, fds, &n_fds, &err);
        if (n == -EAGAIN)
                return;
        if (n < 0) {
                lc_fail(lc, "%s", err ? err : strerror((int) -n));
                return;
        }
        if (n == 0) {
                /* The end of the connection is the expected last word after
                 * EXITED, and a failure at any other time. */
                if (lc->state == LC_EXITED) {
                        lc_stop(lc);
                        return;
                }
                lc_fail(lc, "webttyd-login closed the connection %s",
                        lc->state == LC_WAIT_START ? "before STARTED" : "before EXITED");
                return;
        }
        if (loginproto_peek_type(recv_buffer, (size_t) n, &t) < 0) {
                close_fds(fds, n_fds);
                lc_fail(lc, "undecodable message (%zd bytes)", n);
                return;
        }
        if (lc->state == LC_WAIT_START && t == LOGINPROTO_STARTED) {
                handle_started(lc, recv_buffer, (size_t) n, fds, n_fds);
                return;
        }
        /* Only STARTED carries fds. */
        if (n_fds > 0) {
                close_fds(fds, n_fds);
                lc_fail(lc, "%s with fds attached", type_name(t));
                return;
        }
        if (lc->state == LC_WAIT_START && t == LOGINPROTO_REFUSED)
                handle_refused(lc, recv_buffer, (size_t) n);
        else if (lc->state == LC_RUNNING && t == LOGINPROTO_EXITED)
                handle_exited(lc, recv_buffer, (size_t) n);
        else
                lc_fail(lc, "unexpected %s %s", type_name(t),
                        lc->state == LC_WAIT_START ? "before STARTED"
                        : lc->state == LC_RUNNING  ? "while running"
                                                   : "after EXITED");
}

/* Sends a waiting SIGNAL. Returns false when the client failed (and may be
 * freed). */
static bool on_writable(login_client *lc) {
        int signo = lc->pending_signo, r;

        if (!signo || lc->state != LC_RUNNING) {
                lc->pending_signo = 0;
                (void) lc_update_events(lc);
                return true;
        }
        r = send_signal(lc, signo);
        if (r == -EAGAIN)
                return true;
        lc->pending_signo = 0;
        (void) lc_update_events(lc);
        if (r < 0) {
                lc_fail(lc, "send SIGNAL: %s", strerror(-r));
                return false;
        }
        return true;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        login_client *lc = userdata;

        if ((revents & EPOLLOUT) && !on_writable(lc))
                return 0;
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(lc); /* may free lc */
        return 0;
}

int login_client_signal(login_client *lc, int signo) {
        int r;

        if (signo != SIGHUP && signo != SIGINT && signo != SIGTERM && signo != SIGKILL)
                return -EINVAL;
        if (!lc || lc->state != LC_RUNNING)
                return -ESRCH;
        if (lc->pending_signo) {
                /* One waits already: a kill overrides it, anything else is dropped. */
                if (signo == SIGKILL)
                        lc->pending_signo = SIGKILL;
                return 0;
        }
        r = send_signal(lc, signo);
        if (r == -EAGAIN) {
                lc->pending_signo = signo;
                return lc_update_events(lc);
        }
        return r;
}

bool login_client_running(const login_client *lc) {
        return lc && lc->state == LC_RUNNING;
}

login_client *login_client_free(login_client *lc) {
        if (!lc)
                return NULL;
        lc->io = sd_event_source_disable_unref(lc->io);
        safe_close(lc->fd);
        free(lc);
        return NULL;
}

static int encode_request(const loginproto_request *req, uint8_t **ret, size_t *ret_len, char **ret_error) {
        int r = loginproto_encode_request(req, ret, ret_len);

        if (r == -E2BIG)
                return errmsg_set(ret_error, r, "the REQUEST would exceed %d bytes", LOGINPROTO_MAX);
        if (r < 0)
                return errmsg_set(ret_error, r, "encode REQUEST: %s", strerror(-r));
        return 0;
}

/* Sends the encoded REQUEST over fd (taken over) and starts watching. */
static int start_with(sd_event *event, int fd, const uint8_t *buf, size_t len, bool want_tty,
                      const login_client_ops *ops, void *userdata, login_client **ret, char **ret_error) {
        login_client *lc = NULL;
        int sndbuf = LOGINPROTO_MAX + 4096, r;

        lc = calloc(1, sizeof(*lc));
        if (!lc) {
                safe_close(fd);
                return -ENOMEM;
        }
        *lc = (login_client){.fd = fd, .want_tty = want_tty, .ops = ops, .userdata = userdata};
        /* A request can be larger than the default socket buffer (a big Open
         * up to LOGINPROTO_MAX); the kernel caps the value at wmem_max. */
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        r = fd_nonblock(fd);
        if (r >= 0) {
                /* A fresh connection has an empty queue: the packet fits or never will. */
                r = send_packet(lc, buf, len);
                if (r < 0)
                        errmsg_set(ret_error, r, "send REQUEST (%zu bytes): %s", len, strerror(-r));
        }
        if (r >= 0) {
                r = sd_event_add_io(event, &lc->io, fd, EPOLLIN, on_io, lc);
                if (r >= 0)
                        /* After the session's output: EXITED never overtakes pending output. */
                        r = sd_event_source_set_priority(lc->io, SD_EVENT_PRIORITY_IDLE);
                if (r < 0)
                        errmsg_set(ret_error, r, "watch the login connection: %s", strerror(-r));
        }
        if (r < 0) {
                login_client_free(lc);
                return r;
        }
        *ret = lc;
        return 0;
}

int login_client_start_fd(sd_event *event, int fd, const loginproto_request *req, bool want_tty,
                          const login_client_ops *ops, void *userdata, login_client **ret,
                          char **ret_error) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = encode_request(req, &buf, &len, ret_error);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        return start_with(event, fd, buf, len, want_tty, ops, userdata, ret, ret_error);
}

/* ---- reaching webttyd-login ----------------------------------------------- */

static int connect_socket(const char *path, int *ret, char **ret_error) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct ucred cred;
        socklen_t cl = sizeof(cred);
        size_t l = strlen(path);

        if (l == 0 || l >= sizeof(sa.sun_path))
                return errmsg_set(ret_error, -EINVAL, "login socket path \"%s\" is empty or too long", path);
        memcpy(sa.sun_path, path, l + 1);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return errmsg_set(ret_error, -errno, "socket: %s", strerror(errno));
        /* A unix connect never waits: it succeeds, or fails at once (EAGAIN
         * when the listener's backlog is full). */
        if (connect(fd, (struct sockaddr *) &sa,
                    (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l + 1)) < 0)
                return errmsg_set(ret_error, -errno, "connect to %s: %s", path, strerror(errno));
        /* Whoever serves the socket gets every session's Open: only root
         * (webttyd-login) or ourselves (tests, a private helper). */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
                return errmsg_set(ret_error, -errno, "SO_PEERCRED on %s: %s", path, strerror(errno));
        if (cred.uid != 0 && cred.uid != geteuid())
                return errmsg_set(ret_error, -EPERM, "%s is served by uid %u, neither root nor uid %u", path,
                                  (unsigned) cred.uid, (unsigned) geteuid());
        *ret = TAKE_FD(fd);
        return 0;
}

static int on_helper_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        char pid[16], status[32];

        if (si->si_code != CLD_EXITED || si->si_status != 0) {
                snprintf(pid, sizeof(pid), "%d", (int) si->si_pid);
                if (si->si_code == CLD_EXITED)
                        snprintf(status, sizeof(status), "exit status %d", si->si_status);
                else
                        snprintf(status, sizeof(status), "signal %d", si->si_status);
                wlog_record(LOG_WARNING, "webttyd-login helper ended abnormally", "pid", pid, "status",
                            status, NULL);
        }
        /* The loop owns the floating source; giving up floating drops that
         * last reference, so the source is freed after this callback. */
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

/* Starts helper_path with one end of a socketpair as --socket-fd. The child
 * is reaped by a floating child source whatever happens to the session. */
static int spawn_helper(sd_event *event, const login_service *svc, int *ret, char **ret_error) {
        _cleanup_close_ int mine = -1, theirs = -1;
        char fd_buf[16], *argv[LOGIN_HELPER_ARGV_MAX];
        sd_event_source *child = NULL;
        struct rlimit rl;
        int sv[2], max_fd = 65536, r;
        pid_t pid;

        /* Ours is made non-blocking later; theirs stays blocking. */
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return errmsg_set(ret_error, -errno, "socketpair: %s", strerror(errno));
        mine = sv[0];
        theirs = sv[1];
        /* Everything the child needs is ready before fork: it only calls
         * async-signal-safe functions. The helper's socket is fd 3. */
        login_helper_argv(svc, 3, fd_buf, argv);
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
                max_fd = (int) rl.rlim_cur;
        pid = fork();
        if (pid < 0)
                return errmsg_set(ret_error, -errno, "fork: %s", strerror(errno));
        if (pid == 0) {
                sigset_t none;

                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) signal(SIGPIPE, SIG_DFL);
                /* Its own session: a terminal's ^C to webttyd's group must not
                 * reach it; it ends with the connection instead. */
                (void) setsid();
                if (theirs == 3) {
                        if (fcntl(3, F_SETFD, 0) < 0)
                                _exit(127);
                } else if (dup2(theirs, 3) < 0)
                        _exit(127);
                /* Nothing of the daemon's leaks into the root helper. */
                if (close_range(4, ~0u, 0) < 0)
                        for (int fd = 4; fd < max_fd; fd++)
                                (void) close(fd);
                execve(svc->helper_path, argv, svc->env);
                _exit(127);
        }
        r = sd_event_add_child(event, &child, pid, WEXITED, on_helper_exit, NULL);
        if (r >= 0)
                r = sd_event_source_set_floating(child, true);
        if (r < 0) {
                /* Without a reaper it would stay a zombie: kill it (it has
                 * not read the request, so nothing runs yet) and reap it. */
                sd_event_source_disable_unref(child);
                mine = safe_close(mine);
                theirs = safe_close(theirs);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return errmsg_set(ret_error, r, "watch the helper: %s", strerror(-r));
        }
        sd_event_source_unref(child); /* the loop holds it now */
        *ret = TAKE_FD(mine);
        return 0;
}

int login_client_start(sd_event *event, const login_service *svc, const loginproto_request *req,
                       bool want_tty, const login_client_ops *ops, void *userdata, login_client **ret,
                       char **ret_error) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int fd = -1, r;

        /* Encoded first: a request that cannot be sent costs no connection
         * and no helper process. */
        r = encode_request(req, &buf, &len, ret_error);
        if (r < 0)
                return r;
        if (svc->helper_path)
                r = spawn_helper(event, svc, &fd, ret_error);
        else
                r = connect_socket(svc->socket_path ? svc->socket_path : LOGIN_DEFAULT_SOCKET, &fd,
                                   ret_error);
        if (r < 0)
                return r;
        return start_with(event, fd, buf, len, want_tty, ops, userdata, ret, ret_error);
}
