/* webttyd-login: the root helper of login execution mode (one process per
 * session). The files split by job:
 *
 *   main.c    options, the socket (systemd Accept=yes or --socket-fd), the
 *             peer check and the order of the steps below
 *   request.c decoding the REQUEST's Open and deriving the PROOF bundle
 *             handed to pam_rstream (pure: unit tested and fuzzed)
 *   pamconv.c the PAM conversation (answers only the rstream prompt)
 *   pty.c     the PTY (slave chowned to the user) or the three pipes
 *   utmp.c    utmp/wtmp/lastlog records of a PTY session
 *   child.c   fork and exec of the shell as the user
 *   watch.c   the watchdog that cleans up after a kill -9 of this process
 *   wait.c    the loop while the session runs: SIGNAL requests, exit, EOF
 *   msg.c     sending and receiving loginproto packets (with fds)
 *
 * Nothing here is linked into webttyd: this code runs as root. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <security/pam_appl.h>

#include "loginproto.h"
#include "spawn.h"
#include "webtty.pb-c.h"

/* The refusal texts sent to webttyd (and from there to the client): generic,
 * the exact reason goes to the log only. */
#define LOGIN_REFUSED_TEXT "login refused"
#define LOGIN_MALFORMED_TEXT "login refused: malformed login request"
#define LOGIN_FAILED_TEXT "login failed: the session could not be started"
#define LOGIN_CLIENT_USER_TEXT "client-selected OS users are disabled in login execution mode"

/* PAM_TTY while no terminal exists (authentication, pipe sessions). */
#define LOGIN_PAM_TTY_NONE "webtty"

/* How long webttyd has to send its REQUEST after connecting. */
#define LOGIN_REQUEST_TIMEOUT_MS (30 * 1000)
/* Between SIGHUP and SIGKILL when the session is hung up. */
#define LOGIN_HANGUP_GRACE_MS 2000

/* ---- request.c ---------------------------------------------------------- */

typedef struct login_config {
        const char *login_user;    /* --login-user, NULL when none */
        bool allow_client_user;    /* --allow-client-user */
        const char *server_labels; /* "k=v" lines joined by '\n', "" when none */
} login_config;

typedef struct login_derived {
        Webtty__Open *open;     /* the client's Open, unpacked */
        loginproto_proof proof; /* the bundle for pam_rstream */
        char key_id[16];        /* base64url prefix of the caller's signing key id, "-" when none */
} login_derived;

/* Decodes req->open and derives the PROOF bundle: the request's transport,
 * session id and nonce; the grant suites and auth_hash_grant(); the
 * auth_hash_config() of Open.config; the ClientProof fields; the requested
 * user (Open.config.username by name, or by uid resolved to a name); and the
 * helper's own default user and server labels from cfg. On failure returns a
 * negative errno, *ret_log says why (for the log) and *ret_peer is the text
 * for REFUSED (both malloc'd; *ret_peer may be NULL after -ENOMEM). A
 * client-requested user without cfg->allow_client_user is refused with
 * LOGIN_CLIENT_USER_TEXT. */
int login_request_derive(const loginproto_request *req, const login_config *cfg, login_derived *ret,
                         char **ret_log, char **ret_peer);
void login_derived_done(login_derived *d);

/* base64url (no padding) of the encoded bundle: the answer to the module's
 * prompt. The intermediate encoding is zeroed. */
int login_bundle_text(const loginproto_proof *p, char **ret);

/* Checks and appends one --server-label k=v to *labels ("k=v" lines). */
int login_label_append(char **labels, const char *kv);

/* ---- pamconv.c ---------------------------------------------------------- */

typedef struct login_conv {
        const char *bundle; /* base64url bundle: the answer to LOGINPROTO_PAM_PROMPT */
        const char *peer;   /* for log lines */
        unsigned n_answered;
} login_conv;

/* A conversation function for pam_start(): answers exactly the rstream
 * prompt (PAM_PROMPT_ECHO_OFF, LOGINPROTO_PAM_PROMPT) with the bundle; any
 * other prompt fails the conversation (PAM_CONV_ERR), so no password prompt
 * ever reaches anyone; PAM_TEXT_INFO and PAM_ERROR_MSG are logged. */
int login_pam_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata);

/* Merges pam_getenvlist() into env (a NULL-terminated malloc'd strv):
 * a key PAM set replaces the same key, others are appended. */
int login_env_merge_pam(char ***env, char **pam_env);

/* ---- pty.c -------------------------------------------------------------- */

typedef struct login_io {
        bool tty;
        int master, slave;
        char line[40];     /* "pts/N" (tty) or "" */
        char tty_path[40]; /* "/dev/pts/N" or "" */
        int pipes[3][2];   /* stdin, stdout, stderr; [0] read end, [1] write end */
} login_io;

#define LOGIN_IO_INIT                                                                                       \
        {                                                                                                   \
                .master = -1, .slave = -1, .pipes = { {-1, -1}, {-1, -1}, {-1, -1} }                        \
        }

/* Opens a PTY whose slave belongs to uid, group tty (gid when there is no
 * such group, then mode 0600), mode 0620; or three pipes. Every fd is
 * close-on-exec. */
int login_io_open(login_io *io, bool tty, uid_t uid, gid_t gid);
/* The child's stdin, stdout and stderr. */
void login_io_child_fds(const login_io *io, int fds[3]);
/* The fds for webttyd: 1 (master) or 3 (stdin write, stdout read, stderr read). */
size_t login_io_peer_fds(const login_io *io, int fds[3]);
void login_io_close_child_side(login_io *io);
void login_io_close_peer_side(login_io *io);
void login_io_done(login_io *io);

/* ---- utmp.c ------------------------------------------------------------- */

typedef struct login_utmp {
        bool written;
        char line[40]; /* "pts/N" */
        char id[4];    /* last 4 characters of line */
        char user[32];
        char host[257];
        pid_t pid;
} login_utmp;

/* USER_PROCESS in utmp and wtmp (and lastlog where /var/log/lastlog exists)
 * for the shell pid on line. Failures are logged, never fatal. */
void login_utmp_open(login_utmp *u, const char *line, const char *user, uid_t uid, const char *host,
                     pid_t pid);
/* DEAD_PROCESS in utmp and the logout record in wtmp. Async-signal-safe
 * enough for the watchdog (no allocation beyond glibc's utmp calls). */
void login_utmp_close(login_utmp *u);

/* ---- child.c ------------------------------------------------------------ */

typedef struct login_exec {
        const spawn_account *acct;
        char **env;
        const Webtty__Config *config; /* cmd_args, workdir */
        const login_io *io;
} login_exec;

/* Forks the shell as acct in a new session (the PTY its controlling terminal)
 * and waits until it has exec'ed. 0 and *ret_pid, or a negative errno with
 * the failing step in *ret_error (the child is then reaped). */
int login_child_start(const login_exec *e, pid_t *ret_pid, char **ret_error);

/* The argv for the shell: ["-sh"] for a login shell, or
 * ["sh", "-c", "<cmd_args joined by spaces>"] (sshd semantics). */
int login_shell_argv(const char *shell, const Webtty__Config *config, char ***ret);

/* ---- watch.c ------------------------------------------------------------ */

typedef struct login_watch {
        pid_t pid; /* the watchdog, -1 when none */
        int fd;    /* write end of its pipe, -1 when none */
} login_watch;

/* Forks the watchdog for the session led by sid: on EOF of its pipe without
 * the clean byte it hangs the session up, kills it and closes the utmp
 * record u. It closes every fd but the pipe and stdio: above all the socket
 * to webttyd. */
int login_watch_start(login_watch *w, pid_t sid, const login_utmp *u);
/* The clean end: the watchdog exits at once; reaped here. */
void login_watch_finish(login_watch *w);

/* ---- wait.c ------------------------------------------------------------- */

/* Kills every process of the session sid (SIGKILL) found in /proc. */
void login_kill_session(pid_t sid, int sig);

/* Runs until the shell (pid, also its session id) has exited and no
 * descendant is left: SIGNAL packets from sock are relayed to the process
 * group; EOF or an error on sock (or SIGTERM/SIGHUP/SIGINT to this process)
 * hangs the session up (SIGHUP, SIGCONT, SIGKILL after LOGIN_HANGUP_GRACE_MS).
 * Sends EXITED once the shell is reaped and its descendants are gone (if
 * the socket is still there). skip_pid (the watchdog) is never killed. */
int login_wait(int sock, pid_t pid, pid_t skip_pid, const char *peer);

/* ---- msg.c -------------------------------------------------------------- */

/* One packet into buf (size LOGINPROTO_MAX + 1): its length, 0 on EOF,
 * -EMSGSIZE when truncated, or a negative errno. Any fd attached is closed.
 * timeout_ms < 0: wait forever. */
ssize_t login_recv(int sock, uint8_t *buf, size_t size, int timeout_ms);
/* Sends one packet with fds (n_fds may be 0). */
int login_send(int sock, const uint8_t *buf, size_t len, const int *fds, size_t n_fds);
int login_send_refused(int sock, const char *message);
int login_send_exited(int sock, int32_t code);
int login_send_started(int sock, pid_t pid, const char *user, const login_io *io);
