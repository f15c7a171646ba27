/* Starting a session's child process: see spawn.h and host spec section 5.
 *
 * Everything that can fail with a message for the client (account, workdir,
 * executable, environment) is resolved in the parent before fork(). The child
 * only runs async-signal-safe calls: it resets signals, starts a session,
 * takes the PTY as controlling terminal, installs stdio, closes every other
 * fd, drops privileges, chdirs and execs. A failure there is written as
 * {stage, errno} to a close-on-exec pipe; EOF on that pipe means the exec
 * succeeded. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "macro.h"
#include "spawn.h"

#define PASSWD_BUF_MAX (1024 * 1024)
#define GROUPS_MAX 65536

static const char *const locale_keys[] = {
        "LANG",        "LANGUAGE",     "LC_ADDRESS",        "LC_ALL",
        "LC_COLLATE",  "LC_CTYPE",     "LC_IDENTIFICATION", "LC_MEASUREMENT",
        "LC_MESSAGES", "LC_MONETARY",  "LC_NAME",           "LC_NUMERIC",
        "LC_PAPER",    "LC_TELEPHONE", "LC_TIME",           "TZ",
};

/* ---- small helpers ------------------------------------------------------ */

static bool isempty(const char *s) {
        return !s || !*s;
}

void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, strv_free);

_printf_(3, 4) static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = s;
        return r;
}

/* Go prints an errno as glibc's description with a lowercase first letter. */
static const char *errno_text(int err, char buf[static 128]) {
        const char *d = strerrordesc_np(err < 0 ? -err : err);

        if (d)
                snprintf(buf, 128, "%s", d);
        else
                snprintf(buf, 128, "errno %d", err < 0 ? -err : err);
        if (buf[0] >= 'A' && buf[0] <= 'Z')
                buf[0] = (char) (buf[0] - 'A' + 'a');
        return buf;
}
#define ERRNO_TEXT(e) errno_text((e), (char[128]){})

/* A double-quoted rendering of a peer-supplied string in the manner of Go's
 * %q: quotes, backslashes and control bytes are escaped. */
static char *quote(const char *s) {
        size_t n = strlen(s);
        char *out = malloc(n * 4 + 3), *w = out;

        if (!out)
                return NULL;
        *w++ = '"';
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\') {
                        *w++ = '\\';
                        *w++ = (char) *p;
                } else if (*p == '\n' || *p == '\t' || *p == '\r') {
                        *w++ = '\\';
                        *w++ = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
                } else if (*p < 0x20 || *p == 0x7f)
                        w += sprintf(w, "\\x%02x", *p);
                else
                        *w++ = (char) *p;
        }
        *w++ = '"';
        *w = 0;
        return out;
}

/* The first KEY=value of a NULL-terminated environment, like getenv(). */
static const char *env_get(char *const *env, const char *key) {
        size_t k = strlen(key);

        for (char *const *e = env; e && *e; e++)
                if (strncmp(*e, key, k) == 0 && (*e)[k] == '=')
                        return *e + k + 1;
        return NULL;
}

/* ---- paths --------------------------------------------------------------- */

/* Lexical clean as Go's filepath.Clean: no empty, "." or resolvable ".."
 * elements, no trailing slash; "" becomes ".". */
static char *path_clean(const char *path) {
        size_t n = strlen(path), w = 0, r = 0, dotdot = 0;
        bool rooted = path[0] == '/';
        char *out = malloc(n + 2);

        if (!out)
                return NULL;
        if (rooted) {
                out[w++] = '/';
                r = dotdot = 1;
        }
        while (r < n) {
                if (path[r] == '/')
                        r++;
                else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
                        r++;
                else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
                        r += 2;
                        if (w > dotdot) {
                                for (w--; w > dotdot && out[w] != '/'; w--)
                                        ;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                out[w++] = '.';
                                out[w++] = '.';
                                dotdot = w;
                        }
                } else {
                        if (w != (rooted ? 1u : 0u))
                                out[w++] = '/';
                        while (r < n && path[r] != '/')
                                out[w++] = path[r++];
                }
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = 0;
        return out;
}

/* Go's filepath.Join of two elements (empty ones are ignored). */
static char *path_join(const char *a, const char *b) {
        _cleanup_free_ char *j = NULL;

        if (isempty(a))
                return path_clean(b);
        if (isempty(b))
                return path_clean(a);
        if (asprintf(&j, "%s/%s", a, b) < 0)
                return NULL;
        return path_clean(j);
}

/* Go's filepath.Abs: join onto the current directory when relative. */
static int path_absolute(const char *path, char **ret) {
        _cleanup_free_ char *cwd = NULL;

        if (path[0] == '/') {
                *ret = path_clean(path);
                return *ret ? 0 : -ENOMEM;
        }
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return negative_errno();
        *ret = path_join(cwd, path);
        return *ret ? 0 : -ENOMEM;
}

/* ---- account resolution (host spec 5.1) ---------------------------------- */

typedef struct account_request {
        bool client; /* requested by the client (Open.config.username) */
        bool by_id;
        const char *name;
        uid_t uid;
} account_request;

static int pick_request(const Webtty__Config *config, const spawn_policy *policy, account_request *ret,
                        char **ret_error) {
        const Webtty__Username *u = config ? config->username : NULL;
        bool client = u && (u->payload_case == WEBTTY__USERNAME__PAYLOAD_NAME ||
                            u->payload_case == WEBTTY__USERNAME__PAYLOAD_ID);

        if (policy->mode == SPAWN_MODE_LOGIN) {
                if (client && !policy->allow_client_user)
                        return set_error(ret_error, -EPERM,
                                         "client-selected OS users are disabled in login execution mode");
                if (!client && isempty(policy->login_user))
                        return set_error(ret_error, -EPERM,
                                         "login execution mode requires a configured default user or "
                                         "explicitly allowed client user");
        }
        *ret = (account_request){.client = client};
        if (client && u->payload_case == WEBTTY__USERNAME__PAYLOAD_ID) {
                ret->by_id = true;
                ret->uid = (uid_t) u->id;
        } else if (client)
                ret->name = u->name ? u->name : "";
        else if (policy->mode == SPAWN_MODE_LOGIN)
                ret->name = policy->login_user;
        else {
                ret->by_id = true;
                ret->uid = getuid();
        }
        return 0;
}

static int lookup_error(const account_request *req, int err, char **ret_error) {
        static const char prefix[] = "failed to get user info: user lookup: user:";

        /* getpwnam_r(3) lists these as possible "not found" answers. */
        if (err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM) {
                if (req->by_id)
                        return set_error(ret_error, -ESRCH, "%s unknown userid %u", prefix,
                                         (unsigned) req->uid);
                return set_error(ret_error, -ESRCH, "%s unknown user %s", prefix, req->name);
        }
        if (req->by_id)
                return set_error(ret_error, -err, "%s lookup userid %u: %s", prefix, (unsigned) req->uid,
                                 ERRNO_TEXT(err));
        return set_error(ret_error, -err, "%s lookup username %s: %s", prefix, req->name, ERRNO_TEXT(err));
}

/* On success *ret_buf owns the strings pw points to. */
static int lookup_passwd(const account_request *req, struct passwd *pw, char **ret_buf, char **ret_error) {
        for (size_t size = 1024;; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd *res = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                if (req->by_id)
                        r = getpwuid_r(req->uid, pw, buf, size, &res);
                else
                        r = getpwnam_r(req->name, pw, buf, size, &res);
                if (r == 0 && res) {
                        *ret_buf = TAKE_PTR(buf);
                        return 0;
                }
                if (r != ERANGE || size >= PASSWD_BUF_MAX)
                        return lookup_error(req, r, ret_error);
        }
}

/* Removes repeated ids, keeping the first occurrence; returns the new count. */
static size_t gids_dedup(gid_t *g, size_t n) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                bool seen = false;

                for (size_t j = 0; j < k && !seen; j++)
                        seen = g[j] == g[i];
                if (!seen)
                        g[k++] = g[i];
        }
        return k;
}

static int account_groups(const char *name, gid_t gid, gid_t **ret, size_t *ret_n, char **ret_error) {
        int n = 32;

        while (n <= GROUPS_MAX) {
                _cleanup_free_ gid_t *g = calloc((size_t) n, sizeof(gid_t));
                int want = n;

                if (!g)
                        return -ENOMEM;
                if (getgrouplist(name, gid, g, &want) >= 0) {
                        *ret_n = gids_dedup(g, (size_t) want);
                        *ret = TAKE_PTR(g);
                        return 0;
                }
                n = want > n ? want : n * 2;
        }
        return set_error(ret_error, -E2BIG, "failed to get user info: user group lookup: too many groups");
}

static int account_from_passwd(const struct passwd *pw, spawn_account *a, char **ret_error) {
        a->uid = pw->pw_uid;
        a->gid = pw->pw_gid;
        a->name = strdup(pw->pw_name);
        a->home = strdup(pw->pw_dir ? pw->pw_dir : "");
        a->shell = strdup(isempty(pw->pw_shell) ? "/bin/sh" : pw->pw_shell);
        if (!a->name || !a->home || !a->shell)
                return -ENOMEM;
        return account_groups(a->name, a->gid, &a->groups, &a->n_groups, ret_error);
}

/* Spawn mode runs as the daemon's own account unless the operator allowed
 * client-selected accounts (a deliberate tightening of the reference). */
static int account_check_policy(const account_request *req, const spawn_policy *policy, spawn_account *a,
                                char **ret_error) {
        if (policy->mode == SPAWN_MODE_LOGIN) {
                a->switch_credentials = a->uid != getuid() || a->gid != getgid();
                return 0;
        }
        a->switch_credentials = req->client && a->uid != getuid();
        if (a->switch_credentials && !policy->allow_client_user)
                return set_error(
                        ret_error, -EPERM,
                        "client-selected OS users are disabled; start webttyd with --allow-client-user");
        return 0;
}

void spawn_account_done(spawn_account *a) {
        if (!a)
                return;
        free(a->name);
        free(a->home);
        free(a->shell);
        free(a->groups);
        *a = (spawn_account){};
}

int spawn_resolve_account(const Webtty__Config *config, const spawn_policy *policy, spawn_account *ret,
                          char **ret_error) {
        _cleanup_(spawn_account_done) spawn_account a = {};
        _cleanup_free_ char *buf = NULL;
        account_request req = {};
        struct passwd pw;
        int r;

        *ret = (spawn_account){};
        *ret_error = NULL;
        r = pick_request(config, policy, &req, ret_error);
        if (r < 0)
                return r;
        r = lookup_passwd(&req, &pw, &buf, ret_error);
        if (r < 0)
                return r;
        r = account_from_passwd(&pw, &a, ret_error);
        if (r < 0)
                return r;
        r = account_check_policy(&req, policy, &a, ret_error);
        if (r < 0)
                return r;
        *ret = a;
        a = (spawn_account){};
        return 0;
}

/* ---- environment (host spec 5.5) ----------------------------------------- */

typedef struct envlist {
        char **l; /* NULL-terminated once non-empty */
        size_t n, cap;
} envlist;

static void envlist_done(envlist *e) {
        strv_free(e->l);
        *e = (envlist){};
}

static int envlist_append(envlist *e, char *kv) {
        if (e->n + 2 > e->cap) {
                size_t cap = e->cap ? e->cap * 2 : 32;
                char **l = reallocarray(e->l, cap, sizeof(char *));

                if (!l)
                        return -ENOMEM;
                e->l = l;
                e->cap = cap;
        }
        e->l[e->n++] = kv;
        e->l[e->n] = NULL;
        return 0;
}

/* "set" (overwrite) replaces the first KEY=, "add" only appends a new key. */
static int envlist_put(envlist *e, const char *key, const char *value, bool overwrite) {
        size_t k = strlen(key);
        char *kv;
        int r;

        for (size_t i = 0; i < e->n; i++) {
                if (strncmp(e->l[i], key, k) != 0 || e->l[i][k] != '=')
                        continue;
                if (!overwrite)
                        return 0;
                if (asprintf(&kv, "%s=%s", key, value) < 0)
                        return -ENOMEM;
                free(e->l[i]);
                e->l[i] = kv;
                return 0;
        }
        if (asprintf(&kv, "%s=%s", key, value) < 0)
                return -ENOMEM;
        r = envlist_append(e, kv);
        if (r < 0)
                free(kv);
        return r;
}

static bool env_key_valid(const char *key) {
        return !isempty(key) && !strchr(key, '=');
}

int spawn_validate_env(const Webtty__Config *config, char **ret_error) {
        _cleanup_free_ char *q = NULL;

        *ret_error = NULL;
        if (!config)
                return 0;
        if (config->n_env_vars > SPAWN_ENV_MAX)
                return set_error(ret_error, -E2BIG, "too many environment variables (%zu > %d)",
                                 config->n_env_vars, SPAWN_ENV_MAX);
        for (size_t i = 0; i < config->n_env_vars; i++) {
                const Webtty__Environment *v = config->env_vars[i];

                if (v && env_key_valid(v->key))
                        continue;
                q = quote(v && v->key ? v->key : "");
                if (!q)
                        return -ENOMEM;
                return set_error(ret_error, -EINVAL, "invalid environment variable name %s", q);
        }
        return 0;
}

/* An empty client value asks for the daemon's value of the key. Deliberate
 * divergence from the reference, which imports any daemon variable that way:
 * only the keys the daemon passes through anyway (PATH, locale, TZ) qualify, so
 * a client cannot read the daemon's secrets (tokens, cloud credentials). */
static bool env_key_passthrough(const char *key) {
        if (strcmp(key, "PATH") == 0)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(locale_keys); i++)
                if (strcmp(key, locale_keys[i]) == 0)
                        return true;
        return false;
}

/* Step 1: the client's variables in order; an empty value takes the daemon's
 * value of a passthrough key if it has a non-empty one, else drops the entry. */
static int env_add_client(envlist *e, const Webtty__Config *config, const spawn_policy *policy) {
        if (config->n_env_vars > SPAWN_ENV_MAX)
                return -E2BIG;
        for (size_t i = 0; i < config->n_env_vars; i++) {
                const Webtty__Environment *v = config->env_vars[i];
                const char *value;
                int r;

                if (!v || !env_key_valid(v->key))
                        return -EINVAL;
                value = v->value ? v->value : "";
                if (!*value && env_key_passthrough(v->key))
                        value = env_get(policy->daemon_env, v->key);
                if (isempty(value))
                        continue;
                r = envlist_put(e, v->key, value, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Steps 2 and 3: PATH and the locale/timezone list, added when non-empty. */
static int env_add_daemon(envlist *e, const spawn_policy *policy) {
        const char *path = env_get(policy->daemon_env, "PATH");
        int r;

        if (!isempty(path)) {
                r = envlist_put(e, "PATH", path, false);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(locale_keys); i++) {
                const char *value = env_get(policy->daemon_env, locale_keys[i]);

                if (isempty(value))
                        continue;
                r = envlist_put(e, locale_keys[i], value, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Step 4: identity, "set" in login mode, "add" in spawn mode. */
static int env_add_identity(envlist *e, const spawn_account *a, bool force) {
        const char *const kv[][2] = {
                {"USER", a->name}, {"LOGNAME", a->name}, {"SHELL", a->shell}, {"HOME", a->home}};

        for (size_t i = 0; i < ELEMENTSOF(kv); i++) {
                int r = envlist_put(e, kv[i][0], kv[i][1] ? kv[i][1] : "", force);

                if (r < 0)
                        return r;
        }
        return 0;
}

static bool owned_private_dir(const char *path, uid_t uid) {
        struct stat st;

        return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0077) == 0 && st.st_uid == uid;
}

static bool owned_socket(const char *path, uid_t uid) {
        struct stat st;

        return stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == uid;
}

static int env_set_bus(envlist *e, const char *runtime_dir, uid_t uid) {
        _cleanup_free_ char *bus = path_join(runtime_dir, "bus"), *addr = NULL;

        if (!bus)
                return -ENOMEM;
        if (!owned_socket(bus, uid))
                return 0;
        if (asprintf(&addr, "unix:path=%s", bus) < 0)
                return -ENOMEM;
        return envlist_put(e, "DBUS_SESSION_BUS_ADDRESS", addr, true);
}

/* Step 5 (login mode): a validated runtime directory and session bus. */
static int env_add_runtime(envlist *e, const spawn_account *a, const spawn_policy *policy) {
        const char *inherited = env_get(policy->daemon_env, "XDG_RUNTIME_DIR");
        const char *candidates[2];
        char run_user[64];
        size_t n = 0;
        int r;

        if (a->uid == getuid() && !isempty(inherited))
                candidates[n++] = inherited;
        snprintf(run_user, sizeof run_user, "/run/user/%u", (unsigned) a->uid);
        candidates[n++] = run_user;
        for (size_t i = 0; i < n; i++) {
                if (!owned_private_dir(candidates[i], a->uid))
                        continue;
                r = envlist_put(e, "XDG_RUNTIME_DIR", candidates[i], true);
                if (r < 0)
                        return r;
                return env_set_bus(e, candidates[i], a->uid);
        }
        return 0;
}

int spawn_build_env(const Webtty__Config *config, const spawn_account *acct, const spawn_policy *policy,
                    char ***ret) {
        _cleanup_(envlist_done) envlist e = {};
        bool login = policy->mode == SPAWN_MODE_LOGIN;
        int r;

        *ret = NULL;
        r = config ? env_add_client(&e, config, policy) : 0;
        if (r < 0)
                return r;
        r = env_add_daemon(&e, policy);
        if (r < 0)
                return r;
        r = env_add_identity(&e, acct, login);
        if (r < 0)
                return r;
        r = login ? env_add_runtime(&e, acct, policy) : 0;
        if (r < 0)
                return r;
        if (!e.l) {
                e.l = calloc(1, sizeof(char *));
                if (!e.l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(e.l);
        return 0;
}

/* ---- executable resolution (host spec 5.4) ------------------------------- */

/* Go's exec findExecutable(): 0, or a negative errno with an optional Go-style
 * detail ("stat <p>: ...", "is a directory", "permission denied"). */
static int check_executable(const char *path, char **ret_detail) {
        struct stat st;
        int r;

        if (stat(path, &st) < 0) {
                r = negative_errno();
                if (ret_detail && asprintf(ret_detail, "stat %s: %s", path, ERRNO_TEXT(r)) < 0)
                        *ret_detail = NULL;
                return r;
        }
        r = S_ISDIR(st.st_mode) ? -EISDIR : 0;
        if (r == 0 && faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0) {
                r = negative_errno();
                if (r == -ENOSYS || r == -EPERM)
                        r = (st.st_mode & 0111) ? 0 : -EACCES;
        }
        if (r < 0 && ret_detail)
                *ret_detail = strdup(ERRNO_TEXT(r));
        return r;
}

static int look_path_error(char **ret_detail, int r, const char *quoted, const char *what) {
        if (asprintf(ret_detail, "exec: %s: %s", quoted, what) < 0)
                return -ENOMEM;
        return r;
}

/* Go's exec.LookPath(): on failure *ret_detail is its error text. */
static int look_path(const char *file, const char *path_env, char **ret, char **ret_detail) {
        _cleanup_free_ char *q = quote(file), *detail = NULL;
        const char *p = path_env;

        if (!q)
                return -ENOMEM;
        if (strchr(file, '/')) {
                int r = check_executable(file, &detail);

                if (r < 0)
                        return look_path_error(ret_detail, r, q, detail ? detail : "");
                *ret = strdup(file);
                return *ret ? 0 : -ENOMEM;
        }
        while (!isempty(path_env) && p) {
                const char *colon = strchr(p, ':');
                _cleanup_free_ char *dir = colon ? strndup(p, (size_t) (colon - p)) : strdup(p);
                _cleanup_free_ char *cand = NULL;

                p = colon ? colon + 1 : NULL;
                if (!dir)
                        return -ENOMEM;
                cand = path_join(isempty(dir) ? "." : dir, file);
                if (!cand)
                        return -ENOMEM;
                if (check_executable(cand, NULL) < 0)
                        continue;
                if (cand[0] != '/')
                        return look_path_error(ret_detail, -ENOENT, q,
                                               "cannot run executable found relative to current directory");
                *ret = TAKE_PTR(cand);
                return 0;
        }
        return look_path_error(ret_detail, -ENOENT, q, "executable file not found in $PATH");
}

/* <workdir>/<argv0> if that is an existing non-directory: 1 and its
 * absolute path, 0 if not. */
static int try_workdir(const char *argv0, const char *workdir, char **ret) {
        _cleanup_free_ char *joined = path_join(workdir, argv0);
        struct stat st;
        int r;

        if (!joined)
                return -ENOMEM;
        if (stat(joined, &st) < 0 || S_ISDIR(st.st_mode))
                return 0;
        r = path_absolute(joined, ret);
        return r < 0 ? r : 1;
}

int spawn_resolve_executable(const char *argv0, const char *workdir, const char *path_env, char **ret,
                             char **ret_error) {
        _cleanup_free_ char *detail = NULL, *q = NULL;
        int r;

        *ret = NULL;
        *ret_error = NULL;
        if (isempty(argv0))
                return set_error(ret_error, -EINVAL, "executable path is empty");
        /* An absolute argv[0] is never joined onto the workdir (deliberate). */
        if (argv0[0] != '/' && !isempty(workdir)) {
                r = try_workdir(argv0, workdir, ret);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        r = look_path(argv0, path_env, ret, &detail);
        if (r >= 0 || r == -ENOMEM)
                return r;
        q = quote(argv0);
        if (!q)
                return -ENOMEM;
        return set_error(ret_error, r, "executable %s not found: %s", q, detail ? detail : "");
}

/* ---- the child ----------------------------------------------------------- */

enum {
        STAGE_SIGNALS = 1,
        STAGE_SETSID,
        STAGE_CTTY,
        STAGE_STDIO,
        STAGE_CLOSE,
        STAGE_SETGROUPS,
        STAGE_SETGID,
        STAGE_SETUID,
        STAGE_VERIFY,
        STAGE_CHDIR,
        STAGE_EXEC,
        STAGE_REPORT, /* parent side: the report itself was unreadable */
};

static const char *const stage_names[] = {
        [STAGE_SIGNALS] = "reset signals",
        [STAGE_SETSID] = "setsid",
        [STAGE_CTTY] = "set controlling terminal",
        [STAGE_STDIO] = "set up stdio",
        [STAGE_CLOSE] = "close file descriptors",
        [STAGE_SETGROUPS] = "setgroups",
        [STAGE_SETGID] = "setgid",
        [STAGE_SETUID] = "setuid",
        [STAGE_VERIFY] = "verify credentials",
        [STAGE_CHDIR] = "chdir",
        [STAGE_EXEC] = "exec",
        [STAGE_REPORT] = "read child status",
};

typedef struct child_report {
        int32_t stage;
        int32_t err; /* positive errno */
} child_report;

typedef struct exec_plan {
        const char *exe;
        char **argv;
        char **envp;
        const char *workdir; /* empty: stay in the daemon's directory */
        const spawn_account *acct;
        bool tty;
        int stdio[3]; /* child-side fds (the PTY slave thrice) */
} exec_plan;

__attribute__((noreturn)) static void child_fail(int fd, int stage, int r) {
        child_report rep = {.stage = stage, .err = r < 0 ? -r : EIO};
        ssize_t k = write(fd, &rep, sizeof rep);

        (void) k;
        _exit(127);
}

static int child_reset_signals(void) {
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigset_t none;

        for (int sig = 1; sig < _NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                if (sigaction(sig, &sa, NULL) == 0)
                        continue;
                if (errno != EINVAL)
                        return -errno;
                /* glibc refuses its internal signals (32, 33); an ignored
                 * disposition would still survive exec, so reset them with the
                 * raw system call (the kernel's struct: handler, flags,
                 * restorer, 64-bit mask). */
                struct {
                        void *handler;
                        unsigned long flags;
                        void *restorer;
                        uint64_t mask;
                } ksa = {.handler = SIG_DFL};
                if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask)) < 0 && errno != EINVAL)
                        return -errno;
        }
        if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                return -errno;
        return 0;
}

/* Moves fd to 3 or above (close-on-exec) so it survives the dup2 to 0..2. */
static int child_fd_above_stdio(int *fd) {
        int nfd;

        if (*fd > 2)
                return 0;
        nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return -errno;
        *fd = nfd;
        return 0;
}

/* Installs stdio and leaves the report pipe on fd 3. */
static int child_stdio(const exec_plan *p, int *report_fd) {
        int src[3] = {p->stdio[0], p->stdio[1], p->stdio[2]};
        int r = child_fd_above_stdio(report_fd);

        for (int i = 0; r >= 0 && i < 3; i++) {
                int old = src[i];

                r = child_fd_above_stdio(&src[i]);
                for (int j = i + 1; r >= 0 && j < 3; j++)
                        if (src[j] == old)
                                src[j] = src[i];
        }
        for (int i = 0; r >= 0 && i < 3; i++)
                if (dup2(src[i], i) < 0)
                        r = -errno;
        if (r >= 0 && *report_fd != 3) {
                if (dup3(*report_fd, 3, O_CLOEXEC) < 0)
                        return -errno;
                *report_fd = 3;
        }
        return r;
}

static int child_close_fds(void) {
        struct rlimit rl;
        int max = 65536;

        if (close_range(4, ~0U, 0) == 0)
                return 0;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t) max)
                max = (int) rl.rlim_cur;
        for (int fd = 4; fd < max; fd++)
                (void) close(fd);
        return 0;
}

static int child_drop_privileges(const spawn_account *a, int *ret_stage) {
        uid_t ru, eu, su;
        gid_t rg, eg, sg;

        if (!a->switch_credentials)
                return 0;
        *ret_stage = STAGE_SETGROUPS;
        if (setgroups(a->n_groups, a->groups) < 0)
                return -errno;
        *ret_stage = STAGE_SETGID;
        if (setresgid(a->gid, a->gid, a->gid) < 0)
                return -errno;
        *ret_stage = STAGE_SETUID;
        if (setresuid(a->uid, a->uid, a->uid) < 0)
                return -errno;
        *ret_stage = STAGE_VERIFY;
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
                return -errno;
        if (ru != a->uid || eu != a->uid || su != a->uid || rg != a->gid || eg != a->gid || sg != a->gid)
                return -EPERM;
        if (a->uid != 0 && setuid(0) == 0)
                return -EPERM;
        return 0;
}

__attribute__((noreturn)) static void child_run(const exec_plan *p, int report_fd) {
        int stage = 0, r;

        r = child_reset_signals();
        if (r < 0)
                child_fail(report_fd, STAGE_SIGNALS, r);
        if (setsid() < 0)
                child_fail(report_fd, STAGE_SETSID, -errno);
        if (p->tty && ioctl(p->stdio[0], TIOCSCTTY, 0) < 0)
                child_fail(report_fd, STAGE_CTTY, -errno);
        r = child_stdio(p, &report_fd);
        if (r < 0)
                child_fail(report_fd, STAGE_STDIO, r);
        r = child_close_fds();
        if (r < 0)
                child_fail(report_fd, STAGE_CLOSE, r);
        r = child_drop_privileges(p->acct, &stage);
        if (r < 0)
                child_fail(report_fd, stage, r);
        if (!isempty(p->workdir) && chdir(p->workdir) < 0)
                child_fail(report_fd, STAGE_CHDIR, -errno);
        execve(p->exe, p->argv, p->envp);
        child_fail(report_fd, STAGE_EXEC, -errno);
}

/* ---- the parent ---------------------------------------------------------- */

typedef struct spawn_io {
        bool tty;
        int master, slave;
        int pipes[3][2]; /* stdin, stdout, stderr; [0] read end, [1] write end */
} spawn_io;

static const spawn_io spawn_io_init = {.master = -1, .slave = -1, .pipes = {{-1, -1}, {-1, -1}, {-1, -1}}};

static void spawn_io_close_child_side(spawn_io *io) {
        io->slave = safe_close(io->slave);
        io->pipes[0][0] = safe_close(io->pipes[0][0]);
        io->pipes[1][1] = safe_close(io->pipes[1][1]);
        io->pipes[2][1] = safe_close(io->pipes[2][1]);
}

static void spawn_io_done(spawn_io *io) {
        io->master = safe_close(io->master);
        io->slave = safe_close(io->slave);
        for (size_t i = 0; i < 3; i++) {
                io->pipes[i][0] = safe_close(io->pipes[i][0]);
                io->pipes[i][1] = safe_close(io->pipes[i][1]);
        }
}

static int fd_nonblock(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

/* The slave comes from TIOCGPTPEER where available, so both ends are
 * close-on-exec from the start and no path lookup races. */
static int open_pty(spawn_io *io) {
        char name[64];

        io->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (io->master < 0)
                return -errno;
        if (grantpt(io->master) < 0 || unlockpt(io->master) < 0)
                return -errno;
        io->slave = ioctl(io->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (io->slave < 0 && (errno == EINVAL || errno == ENOTTY)) {
                if (ptsname_r(io->master, name, sizeof name) != 0)
                        return -errno;
                io->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        }
        if (io->slave < 0)
                return -errno;
        return fd_nonblock(io->master);
}

/* Output pipes hold this much, so a busy child fills fewer, larger reads on
 * the daemon's side (fewer messages and system calls per byte). A failure is
 * harmless: the pipe keeps the default 64 KiB (pipe-max-size may be lower). */
#define SPAWN_OUTPUT_PIPE_SIZE (256 * 1024)

/* Only the parent's ends are non-blocking; the child's stdio blocks. */
static int open_pipes(spawn_io *io) {
        for (size_t i = 0; i < 3; i++) {
                if (pipe2(io->pipes[i], O_CLOEXEC) < 0)
                        return -errno;
                if (i > 0)
                        (void) fcntl(io->pipes[i][0], F_SETPIPE_SZ, SPAWN_OUTPUT_PIPE_SIZE);
        }
        for (size_t i = 0; i < 3; i++) {
                int r = fd_nonblock(i == 0 ? io->pipes[i][1] : io->pipes[i][0]);

                if (r < 0)
                        return r;
        }
        return 0;
}

static int open_io(spawn_io *io, bool tty, int child_fds[3]) {
        int r;

        io->tty = tty;
        r = tty ? open_pty(io) : open_pipes(io);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 3; i++)
                child_fds[i] = tty ? io->slave : io->pipes[i][i == 0 ? 0 : 1];
        return 0;
}

static void reap(pid_t pid) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

static int report_error(const child_report *rep, const exec_plan *p, char **ret_error) {
        int stage = rep->stage > 0 && rep->stage <= STAGE_REPORT ? rep->stage : STAGE_REPORT;
        int err = rep->err > 0 ? rep->err : EIO;

        switch (stage) {
        case STAGE_CHDIR:
                return set_error(ret_error, -err, "chdir %s: %s", p->workdir, ERRNO_TEXT(err));
        case STAGE_EXEC:
                return set_error(ret_error, -err, "fork/exec %s: %s", p->exe, ERRNO_TEXT(err));
        case STAGE_SETGROUPS:
        case STAGE_SETGID:
        case STAGE_SETUID:
        case STAGE_VERIFY:
                return set_error(ret_error, -err, "failed to switch user: %s: %s", stage_names[stage],
                                 ERRNO_TEXT(err));
        default:
                return set_error(ret_error, -err, "failed to start process: %s: %s", stage_names[stage],
                                 ERRNO_TEXT(err));
        }
}

/* EOF on the report pipe: exec succeeded. A report: the child failed and is
 * reaped here, so nothing is left behind. */
int spawn_check_started(spawn_child *c, char **ret_error) {
        exec_plan p = {.exe = c->exe, .workdir = c->workdir};
        child_report rep;
        ssize_t n;

        *ret_error = NULL;
        if (c->report_fd < 0)
                return 1;
        do
                n = read(c->report_fd, &rep, sizeof rep);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n == 0)
                return 1;
        /* The report is written in one piece, so a short read is a failure too. */
        if (n != (ssize_t) sizeof rep) {
                rep = (child_report){.stage = STAGE_REPORT, .err = n < 0 ? errno : EIO};
                (void) kill(c->pid, SIGKILL);
        }
        reap(c->pid);
        c->pid = -1;
        return report_error(&rep, &p, ret_error);
}

static int start_process(exec_plan *p, spawn_child *c, char **ret_error) {
        _cleanup_(spawn_io_done) spawn_io io = spawn_io_init;
        _cleanup_close_ int report_r = -1, report_w = -1;
        int fds[2], r;
        pid_t pid;

        r = open_io(&io, p->tty, p->stdio);
        if (r < 0)
                return set_error(ret_error, r, "failed to start process: %s: %s",
                                 p->tty ? "openpty" : "pipe", ERRNO_TEXT(r));
        if (pipe2(fds, O_CLOEXEC) < 0) {
                r = negative_errno();
                return set_error(ret_error, r, "failed to start process: pipe: %s", ERRNO_TEXT(r));
        }
        report_r = fds[0];
        report_w = fds[1];
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                return set_error(ret_error, r, "fork/exec %s: %s", p->exe, ERRNO_TEXT(r));
        }
        if (pid == 0)
                child_run(p, report_w);
        report_w = safe_close(report_w);
        spawn_io_close_child_side(&io);
        if (fcntl(report_r, F_SETFL, O_NONBLOCK) < 0) {
                r = negative_errno();
                (void) kill(pid, SIGKILL);
                reap(pid);
                return set_error(ret_error, r, "failed to start process: fcntl: %s", ERRNO_TEXT(r));
        }
        c->report_fd = TAKE_FD(report_r);
        c->pid = pid;
        c->tty = p->tty;
        c->master_fd = TAKE_FD(io.master);
        c->stdin_fd = TAKE_FD(io.pipes[0][1]);
        c->stdout_fd = TAKE_FD(io.pipes[1][0]);
        c->stderr_fd = TAKE_FD(io.pipes[2][0]);
        return 0;
}

/* ---- putting it together ------------------------------------------------- */

static const spawn_child child_init = {
        .pid = -1, .master_fd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .report_fd = -1};

void spawn_child_done(spawn_child *c) {
        if (!c)
                return;
        safe_close(c->master_fd);
        safe_close(c->stdin_fd);
        safe_close(c->stdout_fd);
        safe_close(c->stderr_fd);
        safe_close(c->report_fd);
        free(c->exe);
        free(c->workdir);
        free(c->user);
        *c = child_init;
}

/* argv = [exe, cmd_args[1..]] or [exe] for the shell; the strings are
 * borrowed from exe and config. */
static int build_argv(const Webtty__Config *config, char *exe, char ***ret, size_t *ret_argc) {
        size_t argc = config->n_cmd_args > 0 ? config->n_cmd_args : 1;
        char **argv = calloc(argc + 1, sizeof(char *));

        if (!argv)
                return -ENOMEM;
        argv[0] = exe;
        for (size_t i = 1; i < argc; i++)
                argv[i] = config->cmd_args[i];
        *ret = argv;
        *ret_argc = argc;
        return 0;
}

static int resolve_workdir(const Webtty__Config *config, const spawn_account *acct, char **ret) {
        const char *wd =
                config->workdir && !isempty(config->workdir->value) ? config->workdir->value : acct->home;

        *ret = strdup(wd ? wd : "");
        return *ret ? 0 : -ENOMEM;
}

int spawn_start_as(const Webtty__Config *config, const spawn_policy *policy, const spawn_account *acct,
                   spawn_child *ret, char **ret_error) {
        _cleanup_free_ char *exe = NULL, *workdir = NULL, *user = NULL;
        _cleanup_(strv_freep) char **env = NULL;
        _cleanup_free_ char **argv = NULL;
        spawn_child c = child_init;
        exec_plan plan;
        size_t argc;
        int r;

        *ret = child_init;
        *ret_error = NULL;
        if (!config || !policy || !acct)
                return set_error(ret_error, -EINVAL, "missing open config");
        r = resolve_workdir(config, acct, &workdir);
        if (r < 0)
                return r;
        r = spawn_resolve_executable(config->n_cmd_args > 0 ? config->cmd_args[0] : acct->shell, workdir,
                                     env_get(policy->daemon_env, "PATH"), &exe, ret_error);
        if (r < 0)
                return r;
        r = spawn_validate_env(config, ret_error);
        if (r < 0)
                return r;
        r = spawn_build_env(config, acct, policy, &env);
        if (r < 0)
                return r;
        r = build_argv(config, exe, &argv, &argc);
        if (r < 0)
                return r;
        user = strdup(acct->name ? acct->name : "");
        if (!user)
                return -ENOMEM;
        plan = (exec_plan){.exe = exe,
                           .argv = argv,
                           .envp = env,
                           .workdir = workdir,
                           .acct = acct,
                           .tty = config->options && config->options->allocate_tty};
        r = start_process(&plan, &c, ret_error);
        if (r < 0)
                return r;
        c.exe = TAKE_PTR(exe);
        c.workdir = TAKE_PTR(workdir);
        c.user = TAKE_PTR(user);
        c.argc = argc;
        *ret = c;
        return 0;
}

int spawn_start(const Webtty__Config *config, const spawn_policy *policy, spawn_child *ret,
                char **ret_error) {
        _cleanup_(spawn_account_done) spawn_account acct = {};
        int r;

        *ret = child_init;
        *ret_error = NULL;
        if (!config || !policy)
                return set_error(ret_error, -EINVAL, "missing open config");
        r = spawn_resolve_account(config, policy, &acct, ret_error);
        if (r < 0)
                return r;
        r = spawn_start_as(config, policy, &acct, ret, ret_error);
        while (r >= 0) {
                struct pollfd pfd = {.fd = ret->report_fd, .events = POLLIN};
                r = spawn_check_started(ret, ret_error);
                if (r != 0)
                        break;
                if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                        r = negative_errno();
        }
        ret->report_fd = safe_close(ret->report_fd);
        if (r < 0) {
                spawn_child_done(ret);
                return r;
        }
        return 0;
}
