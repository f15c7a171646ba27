/* webttyd's side of login mode (DESIGN.md section 2). webttyd never runs
 * PAM, setuid or utmp: each login session is handed to webttyd-login, the
 * root helper that checks the caller again, opens the PAM session, creates
 * the PTY or pipes and starts the shell as the mapped user. One
 * SOCK_SEQPACKET connection per session, messages of lib/loginproto.h:
 *
 *   webttyd                              webttyd-login
 *   REQUEST              ---->
 *                        <----           STARTED + fds (SCM_RIGHTS) | REFUSED
 *   SIGNAL (0 or more)   ---->
 *                        <----           EXITED
 *                        <----           end of connection
 *
 * A message the current state does not allow is fatal to the session (the
 * OpenSSH monitor's rule). Closing the connection is the hang-up:
 * webttyd-login then ends the session's processes and the PAM session, so
 * the session cannot outlive webttyd either.
 *
 * The connection comes from connecting to webttyd-login's socket
 * (/run/webttyd/login.sock, systemd Accept=yes) or from a socketpair with a
 * webttyd-login that webttyd starts itself (--login-helper). Nothing here
 * blocks: the socket is non-blocking and watched by the daemon's sd-event
 * loop. Functions return 0 or a negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "loginproto.h"
#include "webtty.pb-c.h"

#define LOGIN_DEFAULT_SOCKET "/run/webttyd/login.sock"

/* What the peer of a failed login hand-over sees; the cause goes to the log
 * only (it may name paths and uids). */
#define LOGIN_UNAVAILABLE_MESSAGE "login service unavailable"

/* Where sessions go; strings borrowed from the daemon's configuration. */
typedef struct login_service {
        const char *socket_path; /* connect here when helper_path is NULL */
        const char *helper_path; /* else start this webttyd-login per session */
        const char *login_user;  /* forwarded to the helper (--login-user) */
        bool allow_client_user;  /* forwarded to the helper (--allow-client-user) */
        char *const *env;        /* the helper's environment (the daemon's own) */
} login_service;

typedef struct login_client login_client;

/* Callbacks, each called at most once, from the event loop. A callback may
 * free the login_client (login_client_free()); nothing touches it after. */
typedef struct login_client_ops {
        /* The session runs. fds: [0] the PTY master when st->tty, else
         * stdin (write end), stdout, stderr (read ends); ownership passes to
         * the callee; all non-blocking and close-on-exec, already checked. */
        void (*on_started)(login_client *lc, const loginproto_started *st, int fds[3], void *userdata);
        /* webttyd-login refused the session; message is for the peer. */
        void (*on_refused)(login_client *lc, const char *message, void *userdata);
        /* The session's process ended: 0..255, or -1 after a signal. */
        void (*on_exited)(login_client *lc, int code, void *userdata);
        /* The connection ended before EXITED, or broke the protocol. cause
         * is for the log (never sent to the peer). */
        void (*on_failed)(login_client *lc, const char *cause, void *userdata);
} login_client_ops;

/* Connects (or starts the helper), sends the REQUEST and starts watching.
 * want_tty is what the Open asked for; a STARTED that disagrees is a
 * protocol error. On failure *ret_error (malloc'd, may be NULL on -ENOMEM)
 * says why, for the log; -E2BIG: the request (the Open) is larger than
 * LOGINPROTO_MAX, checked before connecting. */
int login_client_start(sd_event *event, const login_service *svc, const loginproto_request *req,
                       bool want_tty, const login_client_ops *ops, void *userdata, login_client **ret,
                       char **ret_error);

/* The same over an already connected socket (taken over, closed on failure
 * too): what login_client_start() uses once it has one; the unit tests too. */
int login_client_start_fd(sd_event *event, int fd, const loginproto_request *req, bool want_tty,
                          const login_client_ops *ops, void *userdata, login_client **ret, char **ret_error);

/* Asks webttyd-login to signal the session's process group (SIGHUP, SIGINT,
 * SIGTERM or SIGKILL). Only while the session runs (after STARTED, before
 * EXITED): -ESRCH otherwise. Never blocks: when the socket is full the
 * signal waits for it; while one waits, a SIGKILL replaces it and any other
 * signal is dropped (one stop request is as good as two). */
int login_client_signal(login_client *lc, int signo);

/* True between STARTED and EXITED. */
bool login_client_running(const login_client *lc);

/* Closes the connection (the hang-up) and frees. A helper started by
 * login_client_start() is reaped by the event loop when it exits. */
login_client *login_client_free(login_client *lc);

/* ---- pure helpers (unit-tested) ----------------------------------------- */

/* The Open inside a received webtty Message, as received: returns 1 and
 * points *ret into msg when msg is exactly one field, Message.open (1), with
 * a length that ends at the end of msg; 0 for any other encoding, after
 * which the caller packs the decoded Open again (webttyd-login hashes the
 * config canonically, so both give the same hashes). */
int login_open_bytes(const uint8_t *msg, size_t len, const uint8_t **ret, size_t *ret_len);

/* webttyd's own flags checked before anything is handed over (no account
 * lookup: webttyd-login and its policy decide the account). An authenticated
 * session (verified ClientProof) needs no --login-user: the policy maps the
 * caller. Returns NULL, or the reference's text for the peer (host spec 5.1). */
const char *login_check_account(const Webtty__Config *config, const char *login_user, bool allow_client_user,
                                bool authenticated);

/* Checks the fds of a STARTED: one PTY master when tty, else a writable
 * stdin and readable stdout/stderr (pipes or sockets); tty must equal
 * want_tty. Makes them non-blocking. On failure *ret_error says what. */
int login_check_started_fds(bool tty, bool want_tty, const int *fds, size_t n_fds, char **ret_error);

/* argv for --login-helper: helper --socket-fd N [--login-user U]
 * [--allow-client-user], NULL-terminated, in argv; the strings are borrowed
 * from svc and fd_buf (no allocation: also usable after fork). Returns the
 * number of arguments. */
#define LOGIN_HELPER_ARGV_MAX 7
size_t login_helper_argv(const login_service *svc, int fd, char fd_buf[static 16],
                         char *argv[static LOGIN_HELPER_ARGV_MAX]);
