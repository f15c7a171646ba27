/* webttyd-login: starts one login-mode session for webttyd (see login.h and
 * webttyd-login(8)).
 *
 *   connection from the webttyd user (SO_PEERCRED) -> one REQUEST packet ->
 *   PROOF bundle -> PAM authenticate (pam_rstream checks the bundle),
 *   acct_mgmt, PAM_USER -> initgroups, setcred -> PTY or pipes ->
 *   open_session -> environment -> shell as the user -> utmp -> watchdog ->
 *   STARTED with the fds -> wait (SIGNAL, exit, EOF) -> EXITED ->
 *   close_session, delete creds, utmp logout.
 *
 * Every refusal sends REFUSED with a generic text (the client sees it) and
 * logs the reason with the peer and the caller's key id. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "login.h"
#include "macro.h"

extern char **environ;

typedef struct options {
        const char *pam_service;
        const char *login_user;
        bool allow_client_user;
        const char *webttyd_user;
        char *labels;
        int socket_fd;
} options;

static void usage(FILE *f) {
        fputs("Usage: webttyd-login [--pam-service NAME] [--login-user USER] [--allow-client-user]\n"
              "                     [--webttyd-user USER] [--server-label KEY=VALUE]... [--socket-fd N]\n"
              "Starts one login-mode WebTTY session for webttyd over a SOCK_SEQPACKET socket\n"
              "(systemd Accept=yes, or --socket-fd). Runs as root. See webttyd-login(8).\n",
              f);
}

static int parse_fd(const char *s) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || end == s || v < 0 || v > 65535)
                return -EINVAL;
        return (int) v;
}

static int parse_options(int argc, char **argv, options *o) {
        static const struct option longopts[] = {
                {"pam-service", required_argument, NULL, 'p'},
                {"login-user", required_argument, NULL, 'u'},
                {"allow-client-user", no_argument, NULL, 'a'},
                {"webttyd-user", required_argument, NULL, 'w'},
                {"server-label", required_argument, NULL, 'l'},
                {"socket-fd", required_argument, NULL, 's'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c, r;

        *o = (options){.pam_service = "webttyd", .webttyd_user = "webttyd", .socket_fd = -1};
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        if (!*optarg || strchr(optarg, '/')) {
                                fprintf(stderr, "webttyd-login: --pam-service: invalid service name\n");
                                return -EINVAL;
                        }
                        o->pam_service = optarg;
                        break;
                case 'u':
                        if (!*optarg) {
                                fprintf(stderr, "webttyd-login: --login-user: empty user name\n");
                                return -EINVAL;
                        }
                        o->login_user = optarg;
                        break;
                case 'a':
                        o->allow_client_user = true;
                        break;
                case 'w':
                        o->webttyd_user = optarg;
                        break;
                case 'l':
                        r = login_label_append(&o->labels, optarg);
                        if (r < 0) {
                                fprintf(stderr,
                                        "webttyd-login: --server-label %s: expected KEY=VALUE with KEY of "
                                        "[A-Za-z0-9._/-] and no control characters%s\n",
                                        optarg, r == -E2BIG ? " (too many labels)" : "");
                                return r;
                        }
                        break;
                case 's':
                        o->socket_fd = parse_fd(optarg);
                        if (o->socket_fd < 0) {
                                fprintf(stderr,
                                        "webttyd-login: --socket-fd %s: not a file descriptor number\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "webttyd-login: unexpected argument %s\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static bool same_file(int a, int b) {
        struct stat sa, sb;

        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The connection: --socket-fd, else the one systemd passes (Accept=yes: fd 3
 * with LISTEN_FDS, or stdin with StandardInput=socket). It is moved above
 * stdio and stdio is pointed at /dev/null wherever it was the socket, so no
 * forked process inherits a stray copy that would hide our death from
 * webttyd. */
static int take_socket(const options *o) {
        int fd = o->socket_fd, n, r, nfd;

        if (fd < 0) {
                n = sd_listen_fds(1);
                if (n > 1) {
                        log_error("expected one socket from systemd, got %d", n);
                        return -EINVAL;
                }
                fd = n == 1 ? SD_LISTEN_FDS_START : STDIN_FILENO;
        }
        r = sd_is_socket_unix(fd, SOCK_SEQPACKET, 0, NULL, 0);
        if (r <= 0) {
                log_error(
                        "fd %d is not a connected AF_UNIX SOCK_SEQPACKET socket (use --socket-fd or systemd "
                        "socket activation)",
                        fd);
                return -EBADF;
        }
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return -errno;
        for (int i = 0; i <= 2; i++) {
                int null;

                if (!same_file(i, nfd))
                        continue;
                null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, i) < 0)
                        return -errno;
                if (null > 2)
                        close(null);
        }
        if (fd > 2)
                close(fd);
        return nfd;
}

/* Every forked process expects 0..2 open. */
static int stdio_ensure(void) {
        for (int i = 0; i <= 2; i++) {
                if (fcntl(i, F_GETFD) >= 0)
                        continue;
                int fd = open("/dev/null", O_RDWR);
                if (fd < 0)
                        return -errno;
                if (fd != i) {
                        close(fd);
                        return -EBADF;
                }
        }
        return 0;
}

static int lookup_uid(const char *name, uid_t *ret) {
        char buf[16384];
        struct passwd pw, *res = NULL;
        int r = getpwnam_r(name, &pw, buf, sizeof buf, &res);

        if (r != 0)
                return -r;
        if (!res)
                return -ESRCH;
        *ret = pw.pw_uid;
        return 0;
}

/* Only the configured webttyd account may ask for sessions; root only when
 * that account is root. Nothing is read from anyone else. */
static int check_peer(int sock, const options *o, struct ucred *ret) {
        socklen_t len = sizeof *ret;
        uid_t want;
        int r;

        if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, ret, &len) < 0 || len != sizeof *ret)
                return wlog_errno(LOG_ERR, negative_errno(), "cannot read the peer's credentials: %m");
        r = lookup_uid(o->webttyd_user, &want);
        if (r < 0) {
                log_error("--webttyd-user %s: %s", o->webttyd_user,
                          r == -ESRCH ? "no such user" : strerror(-r));
                return r;
        }
        if (ret->uid != want) {
                log_error(
                        "refusing a connection from uid %u (pid %d): only %s (uid %u) may request sessions",
                        (unsigned) ret->uid, (int) ret->pid, o->webttyd_user, (unsigned) want);
                return -EPERM;
        }
        return 0;
}

/* ---- the session ---------------------------------------------------------- */

typedef struct session {
        int sock;
        const options *opts;
        char peer[64]; /* webttyd's pid, for logs */
        loginproto_request req;
        login_derived d;
        char *bundle;
        login_conv conv;
        pam_handle_t *pamh;
        int pam_status;
        bool cred, opened;
        spawn_account acct;
        login_io io;
        char **env;
        pid_t pid;
        login_utmp utmp;
        login_watch watch;
} session;

static const char *peer_of(const session *s) {
        return s->req.peer && s->req.peer[0] ? s->req.peer : "-";
}

/* REFUSED with peer_text and one log line with the reason. Returns r. */
_printf_(4, 5) static int refuse(session *s, const char *peer_text, int r, const char *fmt, ...) {
        char reason[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        wlog_record(LOG_WARNING, "login refused", "peer", peer_of(s), "webttyd", s->peer, "caller",
                    s->d.key_id[0] ? s->d.key_id : "-", "user", s->acct.name, "reason", reason, NULL);
        if (login_send_refused(s->sock, peer_text ? peer_text : LOGIN_REFUSED_TEXT) < 0)
                log_warning("cannot send REFUSED to webttyd: %m");
        return r;
}

static void session_close_pam(session *s) {
        if (!s->pamh)
                return;
        if (s->opened) {
                int r = pam_close_session(s->pamh, 0);
                if (r != PAM_SUCCESS)
                        log_warning("pam_close_session: %s", pam_strerror(s->pamh, r));
        }
        if (s->cred) {
                int r = pam_setcred(s->pamh, PAM_DELETE_CRED);
                if (r != PAM_SUCCESS)
                        log_warning("pam_setcred(PAM_DELETE_CRED): %s", pam_strerror(s->pamh, r));
        }
        pam_end(s->pamh, s->pam_status);
        s->pamh = NULL;
        s->opened = s->cred = false;
}

static void session_done(session *s) {
        session_close_pam(s);
        login_utmp_close(&s->utmp);
        login_watch_finish(&s->watch);
        login_io_done(&s->io);
        strv_free(s->env);
        spawn_account_done(&s->acct);
        if (s->bundle) {
                explicit_bzero(s->bundle, strlen(s->bundle));
                free(s->bundle);
        }
        login_derived_done(&s->d);
        loginproto_request_done(&s->req);
}

static int read_request(session *s) {
        static uint8_t buf[LOGINPROTO_MAX + 1];
        _cleanup_free_ char *error = NULL;
        loginproto_type type;
        ssize_t n;
        int r;

        n = login_recv(s->sock, buf, sizeof buf, LOGIN_REQUEST_TIMEOUT_MS);
        if (n == 0) {
                log_info("webttyd (%s) closed the connection without a request", s->peer);
                return -ECONNRESET;
        }
        if (n == -EMSGSIZE)
                return refuse(s, LOGIN_MALFORMED_TEXT, -EMSGSIZE, "request larger than %d bytes",
                              LOGINPROTO_MAX);
        if (n < 0) {
                log_error("reading the request from webttyd (%s): %s", s->peer, strerror((int) -n));
                return (int) n;
        }
        r = loginproto_peek_type(buf, (size_t) n, &type);
        if (r < 0 || type != LOGINPROTO_REQUEST)
                return refuse(s, LOGIN_MALFORMED_TEXT, -EBADMSG, "expected a REQUEST packet");
        r = loginproto_decode_request(buf, (size_t) n, &s->req, &error);
        if (r < 0)
                return refuse(s, LOGIN_MALFORMED_TEXT, r, "malformed request: %s",
                              error ? error : strerror(-r));
        return 0;
}

static int derive(session *s) {
        login_config cfg = {.login_user = s->opts->login_user,
                            .allow_client_user = s->opts->allow_client_user,
                            .server_labels = s->opts->labels ? s->opts->labels : ""};
        _cleanup_free_ char *why = NULL, *peer_text = NULL;
        int r;

        r = login_request_derive(&s->req, &cfg, &s->d, &why, &peer_text);
        if (r < 0)
                return refuse(s, peer_text ? peer_text : LOGIN_FAILED_TEXT, r, "%s",
                              why ? why : strerror(-r));
        /* The client's environment keys, before any PAM module runs. */
        free(why);
        why = NULL;
        r = spawn_validate_env(s->d.open->config, &why);
        if (r < 0)
                return refuse(s, why ? why : LOGIN_FAILED_TEXT, r, "%s", why ? why : strerror(-r));
        r = login_bundle_text(&s->d.proof, &s->bundle);
        if (r < 0)
                return refuse(s, LOGIN_FAILED_TEXT, r, "encoding the proof bundle: %s", strerror(-r));
        return 0;
}

static int pam_fail(session *s, int pam_r, const char *step) {
        s->pam_status = pam_r;
        return refuse(s, LOGIN_REFUSED_TEXT, -EPERM, "%s: %s", step, pam_strerror(s->pamh, pam_r));
}

/* authenticate, acct_mgmt and the user PAM settled on. */
static int pam_login(session *s) {
        struct pam_conv conv = {.conv = login_pam_conv, .appdata_ptr = &s->conv};
        spawn_policy pol = {.mode = SPAWN_MODE_LOGIN};
        _cleanup_free_ char *error = NULL;
        const void *item = NULL;
        int r;

        s->conv = (login_conv){.bundle = s->bundle, .peer = peer_of(s)};
        r = pam_start(s->opts->pam_service, NULL, &conv, &s->pamh);
        if (r != PAM_SUCCESS) {
                s->pamh = NULL;
                return refuse(s, LOGIN_FAILED_TEXT, -EIO, "pam_start(%s) failed", s->opts->pam_service);
        }
        if (s->req.peer && s->req.peer[0] &&
            (r = pam_set_item(s->pamh, PAM_RHOST, s->req.peer)) != PAM_SUCCESS)
                return pam_fail(s, r, "pam_set_item(PAM_RHOST)");
        r = pam_set_item(s->pamh, PAM_TTY, LOGIN_PAM_TTY_NONE);
        if (r != PAM_SUCCESS)
                return pam_fail(s, r, "pam_set_item(PAM_TTY)");
        r = pam_authenticate(s->pamh, PAM_DISALLOW_NULL_AUTHTOK);
        if (r != PAM_SUCCESS)
                return pam_fail(s, r, "pam_authenticate");
        r = pam_acct_mgmt(s->pamh, PAM_DISALLOW_NULL_AUTHTOK);
        if (r == PAM_NEW_AUTHTOK_REQD) {
                s->pam_status = r;
                return refuse(s, LOGIN_REFUSED_TEXT, -EPERM,
                              "pam_acct_mgmt: the account's password must be changed (not possible here)");
        }
        if (r != PAM_SUCCESS)
                return pam_fail(s, r, "pam_acct_mgmt");
        r = pam_get_item(s->pamh, PAM_USER, &item);
        if (r != PAM_SUCCESS || !item || !*(const char *) item)
                return refuse(s, LOGIN_REFUSED_TEXT, -EPERM,
                              "the PAM stack authenticated but set no user (PAM_USER)");
        pol.login_user = item;
        r = spawn_resolve_account(NULL, &pol, &s->acct, &error);
        if (r < 0)
                return refuse(s, LOGIN_REFUSED_TEXT, r, "PAM user %.64s: %s", (const char *) item,
                              error ? error : strerror(-r));
        return 0;
}

/* Groups, credentials, terminal, session, environment. */
static int pam_session(session *s) {
        const Webtty__Config *config = s->d.open->config;
        bool tty = config->options && config->options->allocate_tty;
        spawn_policy pol = {.mode = SPAWN_MODE_LOGIN, .daemon_env = environ};
        char **pam_env;
        int r;

        /* Before pam_setcred(), so pam_group can add to the list (as login(1)). */
        if (initgroups(s->acct.name, s->acct.gid) < 0)
                return refuse(s, LOGIN_FAILED_TEXT, negative_errno(), "initgroups: %m");
        r = pam_setcred(s->pamh, PAM_ESTABLISH_CRED);
        if (r != PAM_SUCCESS)
                return pam_fail(s, r, "pam_setcred");
        s->cred = true;
        r = login_io_open(&s->io, tty, s->acct.uid, s->acct.gid);
        if (r < 0)
                return refuse(s, LOGIN_FAILED_TEXT, r, "%s: %s", tty ? "PTY" : "pipes", strerror(-r));
        r = pam_set_item(s->pamh, PAM_TTY, tty ? s->io.tty_path : LOGIN_PAM_TTY_NONE);
        if (r != PAM_SUCCESS)
                return pam_fail(s, r, "pam_set_item(PAM_TTY)");
        r = pam_open_session(s->pamh, 0);
        if (r != PAM_SUCCESS)
                return pam_fail(s, r, "pam_open_session");
        s->opened = true;

        r = spawn_build_env(config, &s->acct, &pol, &s->env);
        if (r < 0)
                return refuse(s, LOGIN_FAILED_TEXT, r, "building the environment: %s", strerror(-r));
        /* PAM's variables last: for the keys PAM set, PAM wins. */
        pam_env = pam_getenvlist(s->pamh);
        r = login_env_merge_pam(&s->env, pam_env);
        strv_free(pam_env);
        if (r < 0)
                return refuse(s, LOGIN_FAILED_TEXT, r, "merging the PAM environment: %s", strerror(-r));
        return 0;
}

static int start(session *s) {
        login_exec e = {.acct = &s->acct, .env = s->env, .config = s->d.open->config, .io = &s->io};
        _cleanup_free_ char *error = NULL;
        int r;

        r = login_child_start(&e, &s->pid, &error);
        if (r < 0)
                return refuse(s, LOGIN_FAILED_TEXT, r, "starting the shell %s: %s", s->acct.shell,
                              error ? error : strerror(-r));
        login_io_close_child_side(&s->io);
        if (s->io.tty)
                login_utmp_open(&s->utmp, s->io.line, s->acct.name, s->acct.uid, s->req.peer, s->pid);
        r = login_watch_start(&s->watch, s->pid, &s->utmp);
        if (r < 0) {
                login_kill_session(s->pid, SIGKILL);
                return refuse(s, LOGIN_FAILED_TEXT, r, "starting the watchdog: %s", strerror(-r));
        }
        r = login_send_started(s->sock, s->pid, s->acct.name, &s->io);
        /* webttyd must be the only holder, so the session hangs up when it dies. */
        login_io_close_peer_side(&s->io);
        if (r < 0) {
                login_kill_session(s->pid, SIGKILL);
                return wlog_errno(LOG_ERR, r, "sending STARTED to webttyd failed: %s", strerror(-r));
        }
        wlog_record(LOG_INFO, "session started", "peer", peer_of(s), "webttyd", s->peer, "caller",
                    s->d.key_id, "user", s->acct.name, "tty", s->io.tty ? s->io.line : "-", NULL);
        return 0;
}

static int run(int sock, const options *o, const struct ucred *cred) {
        session s = {
                .sock = sock, .opts = o, .pid = -1, .io = LOGIN_IO_INIT, .watch = {.pid = -1, .fd = -1}};
        int r, code;

        snprintf(s.peer, sizeof s.peer, "pid %d", (int) cred->pid);
        r = read_request(&s);
        if (r >= 0)
                r = derive(&s);
        if (r >= 0)
                r = pam_login(&s);
        if (r >= 0)
                r = pam_session(&s);
        if (r >= 0)
                r = start(&s);
        if (r >= 0) {
                char text[16];

                code = login_wait(sock, s.pid, s.watch.pid, peer_of(&s));
                snprintf(text, sizeof text, "%d", code);
                wlog_record(LOG_INFO, "session ended", "peer", peer_of(&s), "user", s.acct.name, "code",
                            text, NULL);
                if (code < -1)
                        r = code;
        } else if (s.pid > 0) {
                /* Started but not handed over: nothing may stay behind. */
                (void) login_wait(-1, s.pid, s.watch.pid, peer_of(&s));
        }
        session_done(&s);
        return r;
}

int main(int argc, char **argv) {
        options o;
        struct ucred cred;
        sigset_t mask;
        int sock, r;

        wlog_init("webttyd-login", LOG_INFO);
        r = parse_options(argc, argv, &o);
        if (r < 0)
                return 2;
        if (geteuid() != 0) {
                fprintf(stderr, "webttyd-login: must run as root (it runs PAM, writes utmp and starts the "
                                "session as its user); it is started by systemd (webttyd-login.socket) or "
                                "by webttyd running as root\n");
                return 1;
        }
        if (stdio_ensure() < 0)
                return 1;
        sock = take_socket(&o);
        if (sock < 0)
                return 1;
        /* Blocked before any fork so the signalfd in login_wait() sees them;
         * the shell and the watchdog reset their masks. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* Whatever the session daemonizes is re-parented here and killed at its end. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                log_error("PR_SET_CHILD_SUBREAPER: %m");
                return 1;
        }
        if (check_peer(sock, &o, &cred) < 0)
                return 1;
        r = run(sock, &o, &cred);
        safe_close(sock);
        free(o.labels);
        return r < 0 ? 1 : 0;
}
