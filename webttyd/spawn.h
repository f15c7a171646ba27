/* Starting a session's child process (host spec section 5): account
 * resolution, executable and working directory resolution, the environment
 * built from scratch, PTY or pipes, privilege change when needed.
 *
 * The child always starts a new session (setsid), in pipe mode too, so that
 * the daemon can signal its whole process group; on a PTY the slave becomes
 * its controlling terminal. Errors come back as the exact text the reference
 * sends in Error.msg.
 *
 * Deliberate differences from the reference (host spec section 12):
 *  - spawn mode refuses a client-requested account other than the daemon's
 *    own unless allow_client_user is set;
 *  - the shell is the account's pw_shell from NSS ("/bin/sh" when empty), not
 *    a scan of /etc/passwd;
 *  - an absolute argv[0] is used as is, never joined onto the workdir;
 *  - client environment keys are validated; later "set" values replace earlier
 *    ones so no key appears twice;
 *  - an empty client value never imports a daemon RSTREAM_* variable. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "webtty.pb-c.h"

/* More client environment entries than this are refused (bounds the
 * quadratic de-duplication of the builder). */
#define SPAWN_ENV_MAX 4096

typedef enum spawn_mode {
        SPAWN_MODE_SPAWN,
        SPAWN_MODE_LOGIN,
} spawn_mode;

typedef struct spawn_policy {
        spawn_mode mode;
        const char *login_user;  /* --login-user or NULL */
        bool allow_client_user;  /* --allow-client-user */
        char *const *daemon_env; /* the daemon's environ, source of PATH/LANG/... */
} spawn_policy;

typedef struct spawn_account {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;
        char *shell;   /* pw_shell, "/bin/sh" when the entry has none */
        gid_t *groups; /* supplementary groups (deduplicated), incl. primary */
        size_t n_groups;
        bool switch_credentials; /* the child must setgroups/setgid/setuid */
} spawn_account;

typedef struct spawn_child {
        pid_t pid; /* also the process group and session id */
        bool tty;
        int master_fd; /* PTY master (tty) or -1 */
        int stdin_fd;  /* write end of the child's stdin (pipes) or -1 */
        int stdout_fd; /* read end (pipes) or -1 */
        int stderr_fd; /* read end (pipes) or -1 */
        char *exe;     /* resolved executable path */
        char *workdir; /* resolved working directory */
        size_t argc;
        char *user;    /* account name the child runs as */
        int report_fd; /* exec outcome pipe until spawn_check_started() returns != 0, else -1 */
} spawn_child;

/* Resolves the account for a session (host spec 5.1). On failure returns a
 * negative errno and *ret_error (malloc'd) holds the reference's message:
 * "client-selected OS users are disabled in login execution mode",
 * "login execution mode requires a configured default user or explicitly
 * allowed client user", "client-selected OS users are disabled; start webttyd
 * with --allow-client-user" (spawn mode, another account) or
 * "failed to get user info: user lookup: user: unknown user <name>" (resp.
 * "unknown userid <uid>"). *ret_error may be NULL only on -ENOMEM. */
int spawn_resolve_account(const Webtty__Config *config, const spawn_policy *policy, spawn_account *ret,
                          char **ret_error);
void spawn_account_done(spawn_account *a);

/* Checks the client's environment keys (non-empty, no '=') and their count.
 * On failure *ret_error holds e.g. "invalid environment variable name \"A=B\"". */
int spawn_validate_env(const Webtty__Config *config, char **ret_error);

/* Builds the child environment (host spec 5.5) as a NULL-terminated
 * malloc'd array of malloc'd "KEY=VALUE" strings; later "set" entries
 * replace earlier ones so no key appears twice. Returns -EINVAL for keys
 * spawn_validate_env() refuses. */
int spawn_build_env(const Webtty__Config *config, const spawn_account *acct, const spawn_policy *policy,
                    char ***ret);

/* Resolves argv[0] as host spec 5.4 (workdir first, then the daemon's PATH).
 * On failure *ret_error holds "executable path is empty" or
 * "executable \"x\" not found: exec: \"x\": executable file not found in $PATH"
 * (Go's exec.LookPath wording for the detail). */
int spawn_resolve_executable(const char *argv0, const char *workdir, const char *path_env, char **ret,
                             char **ret_error);

/* Resolves everything above, starts the child and waits (blocking) for the
 * exec outcome; the daemon uses spawn_start_as() instead. All returned fds
 * are non-blocking and close-on-exec. Child-side failures (chdir, credentials,
 * exec) are reported from the child over a close-on-exec pipe and the child is
 * reaped, so a returned error means nothing runs; the texts are
 * "chdir <dir>: <error>", "failed to switch user: <step>: <error>" and
 * "fork/exec <exe>: <error>". *ret is reset (pid -1, fds -1) on failure. */
int spawn_start(const Webtty__Config *config, const spawn_policy *policy, spawn_child *ret,
                char **ret_error);

/* Forks the child for an account already resolved by spawn_resolve_account()
 * (so callers can check other things, the session key grant, in between, as
 * protocol spec 4.4 orders them) and returns without waiting for the exec:
 * the outcome arrives on ret->report_fd, non-blocking, for the event loop. */
int spawn_start_as(const Webtty__Config *config, const spawn_policy *policy, const spawn_account *acct,
                   spawn_child *ret, char **ret_error);
/* Call when report_fd is readable: 1 if the program is running, 0 if nothing
 * is there yet, or a negative errno with the reason in *ret_error
 * ("chdir ...", "fork/exec ...") after the failed child was reaped. The caller
 * closes report_fd once the answer is not 0, after removing it from its event
 * loop: a forked sibling may briefly hold a copy, and an fd closed while still
 * registered would stay in epoll. */
int spawn_check_started(spawn_child *c, char **ret_error);
/* Call when report_fd is readable: 1 if the program is running, 0 if nothing
 * is there yet, or a negative errno with the reason in *ret_error
 * ("chdir ...", "fork/exec ...") after the failed child was reaped. The caller
 * closes report_fd once the answer is not 0, after removing it from its event
 * loop: a forked sibling may briefly hold a copy, and an fd closed while still
 * registered would stay in epoll. */
int spawn_check_started(spawn_child *c, char **ret_error);
void spawn_child_done(spawn_child *c); /* closes fds, frees strings; does not signal */

void strv_free(char **l);
