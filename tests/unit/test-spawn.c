/* Unit tests for webttyd/spawn.c: environment builder, executable and
 * account resolution, and real child processes on pipes and on a PTY. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "macro.h"
#include "spawn.h"

/* ---- fixtures ------------------------------------------------------------ */

#define MAX_ITEMS 32

typedef struct test_cfg {
        Webtty__Config config;
        Webtty__Options options;
        Webtty__Workdir workdir;
        Webtty__Username username;
        Webtty__Environment envs[MAX_ITEMS];
        Webtty__Environment *envp[MAX_ITEMS];
        char *args[MAX_ITEMS];
} test_cfg;

static void cfg_init(test_cfg *t) {
        memset(t, 0, sizeof *t);
        t->config = (Webtty__Config) WEBTTY__CONFIG__INIT;
        t->options = (Webtty__Options) WEBTTY__OPTIONS__INIT;
        t->workdir = (Webtty__Workdir) WEBTTY__WORKDIR__INIT;
        t->username = (Webtty__Username) WEBTTY__USERNAME__INIT;
        t->config.options = &t->options;
        t->config.env_vars = t->envp;
        t->config.cmd_args = t->args;
        /* "/" unless a test says otherwise, so no test depends on $HOME */
        t->workdir.value = "/";
        t->config.workdir = &t->workdir;
}

static void cfg_env(test_cfg *t, const char *key, const char *value) {
        size_t i = t->config.n_env_vars++;

        ck_assert_uint_lt(i, MAX_ITEMS);
        t->envs[i] = (Webtty__Environment) WEBTTY__ENVIRONMENT__INIT;
        t->envs[i].key = (char *) key;
        t->envs[i].value = (char *) value;
        t->envp[i] = &t->envs[i];
}

_sentinel_ static void cfg_args(test_cfg *t, ...) {
        va_list ap;
        const char *a;

        va_start(ap, t);
        while ((a = va_arg(ap, const char *))) {
                ck_assert_uint_lt(t->config.n_cmd_args, MAX_ITEMS);
                t->args[t->config.n_cmd_args++] = (char *) a;
        }
        va_end(ap);
}

static void cfg_workdir(test_cfg *t, const char *dir) {
        t->workdir.value = (char *) dir;
        t->config.workdir = &t->workdir;
}

static void cfg_user_name(test_cfg *t, const char *name) {
        t->username.payload_case = WEBTTY__USERNAME__PAYLOAD_NAME;
        t->username.name = (char *) name;
        t->config.username = &t->username;
}

static void cfg_user_id(test_cfg *t, uint32_t id) {
        t->username.payload_case = WEBTTY__USERNAME__PAYLOAD_ID;
        t->username.id = id;
        t->config.username = &t->username;
}

static char *daemon_env[] = {
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        "LC_ALL=",
        "TZ=UTC",
        "SSH_AUTH_SOCK=/secret/agent.sock",
        "AWS_SECRET_ACCESS_KEY=secret",
        "RSTREAM_AUTHENTICATION_TOKEN=secret",
        "HOME=/daemon/home",
        "USER=daemon",
        "EDITOR=vi",
        NULL,
};

static spawn_policy policy_spawn(void) {
        return (spawn_policy){.mode = SPAWN_MODE_SPAWN, .daemon_env = daemon_env};
}

static spawn_account fake_account(uid_t uid) {
        return (spawn_account){.name = "operator",
                               .uid = uid,
                               .gid = getgid(),
                               .home = "/home/operator",
                               .shell = "/bin/sh"};
}

static void assert_env(char **got, const char *const *want) {
        size_t i = 0;

        for (; want[i]; i++) {
                ck_assert_msg(got[i], "missing %s at %zu", want[i], i);
                ck_assert_str_eq(got[i], want[i]);
        }
        ck_assert_msg(!got[i], "unexpected %s at %zu", got[i], i);
}

static const char *env_value(char **env, const char *key) {
        size_t k = strlen(key);

        for (; *env; env++)
                if (strncmp(*env, key, k) == 0 && (*env)[k] == '=')
                        return *env + k + 1;
        return NULL;
}

static size_t env_count(char **env, const char *key) {
        size_t k = strlen(key), n = 0;

        for (; *env; env++)
                n += strncmp(*env, key, k) == 0 && (*env)[k] == '=';
        return n;
}

/* A private scratch directory, removed with rm -r at the end of the test. */
static char *scratch_dir(void) {
        char *d = strdup("/tmp/test-spawn-XXXXXX");

        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_nonnull(mkdtemp(d));
        return d;
}

static void scratch_remove(char *d) {
        char *cmd;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", d), 0);
        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
        free(d);
}

static void write_file(const char *dir, const char *name, const char *content, mode_t mode) {
        char *p;
        FILE *f;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        f = fopen(p, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(content, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(chmod(p, mode), 0);
        free(p);
}

static char *path2(const char *a, const char *b) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", a, b), 0);
        return p;
}

/* ---- environment --------------------------------------------------------- */

START_TEST(test_env_order_spawn) {
        spawn_policy pol = policy_spawn();
        spawn_account acct = fake_account(getuid());
        test_cfg t;
        char **env = NULL;

        cfg_init(&t);
        cfg_env(&t, "FOO", "1");
        cfg_env(&t, "TERM", "xterm-256color");
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        assert_env(env,
                   (const char *const[]){"FOO=1", "TERM=xterm-256color", "PATH=/usr/local/bin:/usr/bin:/bin",
                                         "LANG=C.UTF-8", "TZ=UTC", "USER=operator", "LOGNAME=operator",
                                         "SHELL=/bin/sh", "HOME=/home/operator", NULL});
        strv_free(env);
}
END_TEST

START_TEST(test_env_spawn_adds) {
        spawn_policy pol = policy_spawn();
        spawn_account acct = fake_account(getuid());
        test_cfg t;
        char **env = NULL;

        cfg_init(&t);
        cfg_env(&t, "USER", "alice");
        cfg_env(&t, "HOME", "/client/home");
        cfg_env(&t, "PATH", "/client/bin");
        cfg_env(&t, "LANG", "fr_FR.UTF-8");
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        assert_env(env, (const char *const[]){"USER=alice", "HOME=/client/home", "PATH=/client/bin",
                                              "LANG=fr_FR.UTF-8", "TZ=UTC", "LOGNAME=operator",
                                              "SHELL=/bin/sh", NULL});
        strv_free(env);
}
END_TEST

START_TEST(test_env_login_sets) {
        spawn_policy pol = policy_spawn();
        /* A uid with neither the daemon's XDG_RUNTIME_DIR nor /run/user/<uid>. */
        spawn_account acct = fake_account(4000000000u);
        test_cfg t;
        char **env = NULL;

        pol.mode = SPAWN_MODE_LOGIN;
        cfg_init(&t);
        cfg_env(&t, "USER", "alice");
        cfg_env(&t, "SHELL", "/bin/evil");
        cfg_env(&t, "XDG_RUNTIME_DIR", "/client/runtime");
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        assert_env(env,
                   (const char *const[]){"USER=operator", "SHELL=/bin/sh", "XDG_RUNTIME_DIR=/client/runtime",
                                         "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TZ=UTC",
                                         "LOGNAME=operator", "HOME=/home/operator", NULL});
        strv_free(env);
}
END_TEST

START_TEST(test_env_empty_value) {
        spawn_policy pol = policy_spawn();
        spawn_account acct = fake_account(getuid());
        test_cfg t;
        char **env = NULL;

        cfg_init(&t);
        cfg_env(&t, "EDITOR", "");
        cfg_env(&t, "MISSING", "");
        cfg_env(&t, "LC_ALL", "");
        cfg_env(&t, "RSTREAM_AUTHENTICATION_TOKEN", "");
        cfg_env(&t, "AWS_SECRET_ACCESS_KEY", "");
        cfg_env(&t, "TZ", "");
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        /* Only passthrough keys (PATH, locale, TZ) take the daemon's value; EDITOR
         * and the secrets set in the daemon's environment are dropped. */
        assert_env(env, (const char *const[]){"TZ=UTC", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
                                              "USER=operator", "LOGNAME=operator", "SHELL=/bin/sh",
                                              "HOME=/home/operator", NULL});
        strv_free(env);
}
END_TEST

START_TEST(test_env_no_leak) {
        static const char *const secrets[] = {"SSH_AUTH_SOCK", "AWS_SECRET_ACCESS_KEY",
                                              "RSTREAM_AUTHENTICATION_TOKEN", "EDITOR"};
        spawn_policy pol = policy_spawn();
        spawn_account acct = fake_account(getuid());
        char **env = NULL;

        for (int login = 0; login <= 1; login++) {
                pol.mode = login ? SPAWN_MODE_LOGIN : SPAWN_MODE_SPAWN;
                ck_assert_int_eq(spawn_build_env(NULL, &acct, &pol, &env), 0);
                for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
                        ck_assert_msg(!env_value(env, secrets[i]), "%s leaked", secrets[i]);
                ck_assert_str_eq(env_value(env, "USER"), "operator");
                ck_assert_str_eq(env_value(env, "HOME"), "/home/operator");
                ck_assert_str_eq(env_value(env, "PATH"), "/usr/local/bin:/usr/bin:/bin");
                ck_assert_ptr_null(env_value(env, "LC_ALL"));
                strv_free(env);
        }
}
END_TEST

START_TEST(test_env_locale_passthrough) {
        char *denv[] = {"LANGUAGE=fr:en", "LC_CTYPE=C.UTF-8", "LC_TIME=en_GB.UTF-8", "LC_PAPER=a4",
                        "LC_FOO=bar",     "TZ=Europe/Paris",  "TERM=dumb",           NULL};
        spawn_policy pol = {.mode = SPAWN_MODE_SPAWN, .daemon_env = denv};
        spawn_account acct = fake_account(getuid());
        char **env = NULL;

        ck_assert_int_eq(spawn_build_env(NULL, &acct, &pol, &env), 0);
        assert_env(env,
                   (const char *const[]){"LANGUAGE=fr:en", "LC_CTYPE=C.UTF-8", "LC_PAPER=a4",
                                         "LC_TIME=en_GB.UTF-8", "TZ=Europe/Paris", "USER=operator",
                                         "LOGNAME=operator", "SHELL=/bin/sh", "HOME=/home/operator", NULL});
        strv_free(env);
}
END_TEST

START_TEST(test_env_duplicates) {
        spawn_policy pol = policy_spawn();
        spawn_account acct = fake_account(getuid());
        test_cfg t;
        char **env = NULL;

        cfg_init(&t);
        cfg_env(&t, "A", "1");
        cfg_env(&t, "B", "2");
        cfg_env(&t, "A", "3");
        cfg_env(&t, "PATH", "/p1");
        cfg_env(&t, "PATH", "/p2");
        cfg_env(&t, "AB", "x");
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        ck_assert_str_eq(env[0], "A=3");
        ck_assert_str_eq(env[1], "B=2");
        ck_assert_str_eq(env[2], "PATH=/p2");
        ck_assert_str_eq(env[3], "AB=x");
        ck_assert_uint_eq(env_count(env, "A"), 1);
        ck_assert_uint_eq(env_count(env, "PATH"), 1);
        strv_free(env);

        /* login mode: the identity "set" wins over any client duplicate */
        pol.mode = SPAWN_MODE_LOGIN;
        acct.uid = 4000000000u;
        cfg_env(&t, "HOME", "/a");
        cfg_env(&t, "HOME", "/b");
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        ck_assert_uint_eq(env_count(env, "HOME"), 1);
        ck_assert_str_eq(env_value(env, "HOME"), "/home/operator");
        strv_free(env);
}
END_TEST

START_TEST(test_env_invalid_key) {
        static const char *const bad[] = {"", "A=B", "=X"};
        static const char *const msgs[] = {"invalid environment variable name \"\"",
                                           "invalid environment variable name \"A=B\"",
                                           "invalid environment variable name \"=X\""};
        spawn_policy pol = policy_spawn();
        spawn_account acct = fake_account(getuid());
        char **env = NULL, *err = NULL;
        test_cfg t;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cfg_init(&t);
                cfg_env(&t, "OK", "1");
                cfg_env(&t, bad[i], "v");
                ck_assert_int_eq(spawn_validate_env(&t.config, &err), -EINVAL);
                ck_assert_str_eq(err, msgs[i]);
                free(err);
                ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), -EINVAL);
                ck_assert_ptr_null(env);
        }
        cfg_init(&t);
        cfg_env(&t, "A\nB", "v");
        cfg_env(&t, "C=", "v");
        ck_assert_int_eq(spawn_validate_env(&t.config, &err), -EINVAL);
        ck_assert_str_eq(err, "invalid environment variable name \"C=\"");
        free(err);
}
END_TEST

START_TEST(test_env_too_many) {
        spawn_policy pol = policy_spawn();
        spawn_account acct = fake_account(getuid());
        size_t n = SPAWN_ENV_MAX + 1;
        Webtty__Environment *vars = calloc(n, sizeof *vars);
        Webtty__Environment **ptrs = calloc(n, sizeof *ptrs);
        char **env = NULL, *err = NULL;
        test_cfg t;

        ck_assert_ptr_nonnull(vars);
        ck_assert_ptr_nonnull(ptrs);
        for (size_t i = 0; i < n; i++) {
                vars[i] = (Webtty__Environment) WEBTTY__ENVIRONMENT__INIT;
                vars[i].key = "K";
                vars[i].value = "v";
                ptrs[i] = &vars[i];
        }
        cfg_init(&t);
        t.config.env_vars = ptrs;
        t.config.n_env_vars = n;
        ck_assert_int_eq(spawn_validate_env(&t.config, &err), -E2BIG);
        ck_assert_str_eq(err, "too many environment variables (4097 > 4096)");
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), -E2BIG);
        free(err);
        t.config.n_env_vars = SPAWN_ENV_MAX;
        ck_assert_int_eq(spawn_validate_env(&t.config, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        ck_assert_uint_eq(env_count(env, "K"), 1);
        strv_free(env);
        free(vars);
        free(ptrs);
}
END_TEST

static void make_bus_socket(const char *dir) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_lt(snprintf(sa.sun_path, sizeof sa.sun_path, "%s/bus", dir), (int) sizeof sa.sun_path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        close(fd);
}

START_TEST(test_env_runtime_dir) {
        char *dir = scratch_dir(), *xdg, *want_bus, **env = NULL;
        char *denv[] = {"PATH=/bin", NULL, NULL};
        spawn_policy pol = {.mode = SPAWN_MODE_LOGIN, .daemon_env = denv};
        spawn_account acct = fake_account(getuid());
        test_cfg t;

        ck_assert_int_ge(asprintf(&xdg, "XDG_RUNTIME_DIR=%s", dir), 0);
        ck_assert_int_ge(asprintf(&want_bus, "unix:path=%s/bus", dir), 0);
        denv[1] = xdg;
        make_bus_socket(dir);
        cfg_init(&t);
        cfg_env(&t, "XDG_RUNTIME_DIR", "/client/runtime");
        cfg_env(&t, "DBUS_SESSION_BUS_ADDRESS", "unix:path=/client/bus");
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        ck_assert_str_eq(env_value(env, "XDG_RUNTIME_DIR"), dir);
        ck_assert_str_eq(env_value(env, "DBUS_SESSION_BUS_ADDRESS"), want_bus);
        ck_assert_uint_eq(env_count(env, "XDG_RUNTIME_DIR"), 1);
        strv_free(env);

        /* spawn mode never adds them */
        pol.mode = SPAWN_MODE_SPAWN;
        ck_assert_int_eq(spawn_build_env(NULL, &acct, &pol, &env), 0);
        ck_assert_ptr_null(env_value(env, "XDG_RUNTIME_DIR"));
        ck_assert_ptr_null(env_value(env, "DBUS_SESSION_BUS_ADDRESS"));
        strv_free(env);

        /* a public directory does not qualify: client values survive */
        pol.mode = SPAWN_MODE_LOGIN;
        ck_assert_int_eq(chmod(dir, 0755), 0);
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        if (!env_value(env, "XDG_RUNTIME_DIR") ||
            strncmp(env_value(env, "XDG_RUNTIME_DIR"), "/run/user/", 10) != 0) {
                ck_assert_str_eq(env_value(env, "XDG_RUNTIME_DIR"), "/client/runtime");
                ck_assert_str_eq(env_value(env, "DBUS_SESSION_BUS_ADDRESS"), "unix:path=/client/bus");
        }
        strv_free(env);

        /* another account never inherits the daemon's directory */
        ck_assert_int_eq(chmod(dir, 0700), 0);
        acct.uid = 4000000000u;
        ck_assert_int_eq(spawn_build_env(NULL, &acct, &pol, &env), 0);
        ck_assert_ptr_null(env_value(env, "XDG_RUNTIME_DIR"));
        ck_assert_ptr_null(env_value(env, "DBUS_SESSION_BUS_ADDRESS"));
        strv_free(env);
        free(want_bus);
        free(xdg);
        scratch_remove(dir);
}
END_TEST

/* ---- executable resolution ----------------------------------------------- */

static void assert_resolves(const char *argv0, const char *wd, const char *path_env, const char *want) {
        char *got = NULL, *err = NULL;
        int r = spawn_resolve_executable(argv0, wd, path_env, &got, &err);

        ck_assert_msg(r == 0, "%s: %d %s", argv0, r, err ? err : "");
        ck_assert_ptr_null(err);
        ck_assert_str_eq(got, want);
        free(got);
}

static void assert_resolve_fails(const char *argv0, const char *wd, const char *path_env, const char *want) {
        char *got = NULL, *err = NULL;
        int r = spawn_resolve_executable(argv0, wd, path_env, &got, &err);

        ck_assert_int_lt(r, 0);
        ck_assert_ptr_null(got);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, want);
        free(err);
}

START_TEST(test_exe_workdir) {
        char *dir = scratch_dir(), *prog = path2(dir, "prog"), *data = path2(dir, "data");
        char *sub = path2(dir, "sub"), *bin = path2(dir, "bin"), *sh = path2(bin, "sh");

        write_file(dir, "prog", "#!/bin/sh\necho prog\n", 0755);
        write_file(dir, "data", "data\n", 0644);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        ck_assert_int_eq(mkdir(bin, 0755), 0);
        write_file(bin, "sh", "#!/bin/false\n", 0755);

        assert_resolves("prog", dir, "/nonexistent", prog);
        assert_resolves("./prog", dir, NULL, prog);
        assert_resolves("sub/../prog", dir, NULL, prog);
        /* existence is enough for the workdir candidate (reference) */
        assert_resolves("data", dir, NULL, data);
        /* a directory is not a candidate */
        assert_resolve_fails(
                "sub", dir, "/nonexistent",
                "executable \"sub\" not found: exec: \"sub\": executable file not found in $PATH");
        /* an absolute argv0 is never joined onto the workdir */
        assert_resolves("/bin/sh", dir, NULL, "/bin/sh");
        assert_resolves("bin/sh", dir, NULL, sh);
        free(prog);
        free(data);
        free(sub);
        free(sh);
        free(bin);
        scratch_remove(dir);
}
END_TEST

START_TEST(test_exe_relative_workdir) {
        char *dir = scratch_dir(), *prog = path2(dir, "wd/prog"), *wd = path2(dir, "wd");
        int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        ck_assert_int_ge(cwd, 0);
        ck_assert_int_eq(mkdir(wd, 0755), 0);
        write_file(wd, "prog", "#!/bin/sh\n", 0755);
        ck_assert_int_eq(chdir(dir), 0);
        /* the result is absolute even for a relative workdir */
        assert_resolves("prog", "wd", NULL, prog);
        /* a PATH hit in a relative directory is refused like Go's ErrDot */
        assert_resolve_fails("prog", "/nonexistent", "/nonexistent:wd",
                             "executable \"prog\" not found: exec: \"prog\": cannot run executable found "
                             "relative to current directory");
        ck_assert_int_eq(fchdir(cwd), 0);
        close(cwd);
        free(prog);
        free(wd);
        scratch_remove(dir);
}
END_TEST

START_TEST(test_exe_path_search) {
        char *dir = scratch_dir();

        write_file(dir, "noexec", "x\n", 0644);
        assert_resolves("sh", dir, "/nonexistent:/bin", "/bin/sh");
        assert_resolves("sh", "", "/usr/bin/:/bin", "/usr/bin/sh");
        assert_resolves("sh", NULL, "/nonexistent::/bin", "/bin/sh");
        assert_resolve_fails(
                "noexec", "/nonexistent", dir,
                "executable \"noexec\" not found: exec: \"noexec\": executable file not found in $PATH");
        assert_resolve_fails("nosuch-webtty-prog", dir, "/usr/bin:/bin",
                             "executable \"nosuch-webtty-prog\" not found: exec: \"nosuch-webtty-prog\": "
                             "executable file not found in $PATH");
        assert_resolve_fails(
                "sh", dir, "",
                "executable \"sh\" not found: exec: \"sh\": executable file not found in $PATH");
        assert_resolve_fails(
                "sh", dir, NULL,
                "executable \"sh\" not found: exec: \"sh\": executable file not found in $PATH");
        assert_resolve_fails(
                "no\"such", dir, "/bin",
                "executable \"no\\\"such\" not found: exec: \"no\\\"such\": executable file not "
                "found in $PATH");
        scratch_remove(dir);
}
END_TEST

START_TEST(test_exe_errors) {
        char *dir = scratch_dir(), *noexec = path2(dir, "noexec"), *want;

        write_file(dir, "noexec", "x\n", 0644);
        assert_resolve_fails("", dir, "/bin", "executable path is empty");
        assert_resolve_fails(NULL, dir, "/bin", "executable path is empty");
        assert_resolve_fails("/nonexistent/x", dir, "/bin",
                             "executable \"/nonexistent/x\" not found: exec: \"/nonexistent/x\": stat "
                             "/nonexistent/x: no such file or directory");
        assert_resolve_fails("/tmp", dir, "/bin",
                             "executable \"/tmp\" not found: exec: \"/tmp\": is a directory");
        if (geteuid() != 0) {
                ck_assert_int_ge(asprintf(&want,
                                          "executable \"%s\" not found: exec: \"%s\": permission denied",
                                          noexec, noexec),
                                 0);
                assert_resolve_fails(noexec, NULL, "/bin", want);
                free(want);
        }
        free(noexec);
        scratch_remove(dir);
}
END_TEST

/* ---- account resolution -------------------------------------------------- */

static void assert_account_fails(const test_cfg *t, const spawn_policy *pol, int want_r, const char *want) {
        spawn_account a = {};
        char *err = NULL;

        ck_assert_int_eq(spawn_resolve_account(&t->config, pol, &a, &err), want_r);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, want);
        ck_assert_ptr_null(a.name);
        free(err);
}

static const char *other_user(void) {
        return getuid() == 0 ? "nobody" : "root";
}

START_TEST(test_account_login_errors) {
        spawn_policy pol = policy_spawn();
        struct passwd *pw = getpwuid(getuid());
        test_cfg t;

        ck_assert_ptr_nonnull(pw);
        pol.mode = SPAWN_MODE_LOGIN;
        cfg_init(&t);
        assert_account_fails(&t, &pol, -EPERM,
                             "login execution mode requires a configured default user or explicitly allowed "
                             "client user");
        pol.allow_client_user = true;
        assert_account_fails(&t, &pol, -EPERM,
                             "login execution mode requires a configured default user or explicitly allowed "
                             "client user");
        pol.allow_client_user = false;
        pol.login_user = "";
        assert_account_fails(&t, &pol, -EPERM,
                             "login execution mode requires a configured default user or explicitly allowed "
                             "client user");
        pol.login_user = pw->pw_name;
        cfg_user_name(&t, pw->pw_name);
        assert_account_fails(&t, &pol, -EPERM,
                             "client-selected OS users are disabled in login execution mode");
        cfg_user_id(&t, getuid());
        assert_account_fails(&t, &pol, -EPERM,
                             "client-selected OS users are disabled in login execution mode");
        pol.login_user = "no-such-user-webtty";
        cfg_init(&t);
        assert_account_fails(&t, &pol, -ESRCH,
                             "failed to get user info: user lookup: user: unknown user no-such-user-webtty");
}
END_TEST

START_TEST(test_account_login_ok) {
        spawn_policy pol = policy_spawn();
        struct passwd *pw = getpwuid(getuid());
        spawn_account a;
        char *err = NULL;
        test_cfg t;

        ck_assert_ptr_nonnull(pw);
        pol.mode = SPAWN_MODE_LOGIN;
        pol.login_user = pw->pw_name;
        cfg_init(&t);
        ck_assert_int_eq(spawn_resolve_account(&t.config, &pol, &a, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_str_eq(a.name, pw->pw_name);
        ck_assert_uint_eq(a.uid, getuid());
        ck_assert_int_eq(a.switch_credentials, pw->pw_gid != getgid());
        spawn_account_done(&a);

        /* an allowed client user overrides the default one */
        pol.allow_client_user = true;
        pol.login_user = "no-such-user-webtty";
        cfg_user_id(&t, getuid());
        ck_assert_int_eq(spawn_resolve_account(&t.config, &pol, &a, &err), 0);
        ck_assert_str_eq(a.name, pw->pw_name);
        spawn_account_done(&a);
}
END_TEST

START_TEST(test_account_unknown) {
        spawn_policy pol = policy_spawn();
        test_cfg t;

        cfg_init(&t);
        cfg_user_name(&t, "no-such-user-webtty");
        assert_account_fails(&t, &pol, -ESRCH,
                             "failed to get user info: user lookup: user: unknown user no-such-user-webtty");
        cfg_user_id(&t, 3999999999u);
        assert_account_fails(&t, &pol, -ESRCH,
                             "failed to get user info: user lookup: user: unknown userid 3999999999");
        cfg_user_name(&t, "");
        assert_account_fails(&t, &pol, -ESRCH, "failed to get user info: user lookup: user: unknown user ");
}
END_TEST

START_TEST(test_account_numeric_self) {
        spawn_policy pol = policy_spawn();
        struct passwd *pw = getpwuid(getuid());
        spawn_account a;
        char *err = NULL;
        test_cfg t;

        ck_assert_ptr_nonnull(pw);
        cfg_init(&t);
        cfg_user_id(&t, getuid());
        ck_assert_int_eq(spawn_resolve_account(&t.config, &pol, &a, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_str_eq(a.name, pw->pw_name);
        ck_assert_str_eq(a.home, pw->pw_dir);
        ck_assert_str_eq(a.shell, *pw->pw_shell ? pw->pw_shell : "/bin/sh");
        ck_assert_uint_eq(a.gid, pw->pw_gid);
        ck_assert(!a.switch_credentials);
        ck_assert_uint_ge(a.n_groups, 1);
        for (size_t i = 0; i < a.n_groups; i++)
                for (size_t j = i + 1; j < a.n_groups; j++)
                        ck_assert_uint_ne(a.groups[i], a.groups[j]);
        bool has_primary = false;
        for (size_t i = 0; i < a.n_groups; i++)
                has_primary = has_primary || a.groups[i] == a.gid;
        ck_assert(has_primary);
        spawn_account_done(&a);

        /* no client request: the daemon's own account */
        cfg_init(&t);
        ck_assert_int_eq(spawn_resolve_account(&t.config, &pol, &a, &err), 0);
        ck_assert_uint_eq(a.uid, getuid());
        ck_assert(!a.switch_credentials);
        spawn_account_done(&a);
}
END_TEST

START_TEST(test_account_spawn_other_user) {
        spawn_policy pol = policy_spawn();
        struct passwd *pw = getpwnam(other_user());
        uid_t other_uid;
        spawn_account a;
        char *err = NULL;
        test_cfg t;

        ck_assert_ptr_nonnull(pw);
        other_uid = pw->pw_uid;
        cfg_init(&t);
        cfg_user_name(&t, other_user());
        assert_account_fails(
                &t, &pol, -EPERM,
                "client-selected OS users are disabled; start webttyd with --allow-client-user");
        cfg_user_id(&t, other_uid);
        assert_account_fails(
                &t, &pol, -EPERM,
                "client-selected OS users are disabled; start webttyd with --allow-client-user");
        pol.allow_client_user = true;
        ck_assert_int_eq(spawn_resolve_account(&t.config, &pol, &a, &err), 0);
        ck_assert_str_eq(a.name, other_user());
        ck_assert_uint_eq(a.uid, other_uid);
        ck_assert(a.switch_credentials);
        spawn_account_done(&a);
}
END_TEST

/* ---- real children ------------------------------------------------------- */

typedef struct outbuf {
        char data[65536];
        size_t n;
        bool eof;
} outbuf;

/* Reads the given non-blocking fds until each reports EOF (or EIO for a PTY
 * master), for at most 10 s. */
static void drain(int *fds, outbuf *outs, size_t n) {
        for (int rounds = 0; rounds < 1000; rounds++) {
                struct pollfd p[2];
                size_t open = 0;

                for (size_t i = 0; i < n; i++)
                        if (!outs[i].eof)
                                p[open++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
                if (open == 0)
                        return;
                ck_assert_int_ge(poll(p, open, 10), 0);
                for (size_t i = 0; i < n; i++) {
                        ssize_t k;

                        if (outs[i].eof)
                                continue;
                        k = read(fds[i], outs[i].data + outs[i].n, sizeof outs[i].data - 1 - outs[i].n);
                        if (k > 0)
                                outs[i].n += (size_t) k;
                        else if (k == 0 || errno == EIO)
                                outs[i].eof = true;
                        else
                                ck_assert_int_eq(errno, EAGAIN);
                        outs[i].data[outs[i].n] = 0;
                }
        }
        ck_abort_msg("child output did not end");
}

static int wait_exit(pid_t pid) {
        int status;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void assert_no_children(void) {
        errno = 0;
        ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
        ck_assert_int_eq(errno, ECHILD);
}

static void assert_parent_fd(int fd) {
        ck_assert_int_ge(fd, 0);
        ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
        ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static void run_pipes(test_cfg *t, const spawn_policy *pol, outbuf out[2], int *exit_code) {
        spawn_child c;
        char *err = NULL;
        int fds[2];

        ck_assert_msg(spawn_start(&t->config, pol, &c, &err) == 0, "%s", err ? err : "?");
        ck_assert_ptr_null(err);
        fds[0] = c.stdout_fd;
        fds[1] = c.stderr_fd;
        memset(out, 0, 2 * sizeof *out);
        drain(fds, out, 2);
        *exit_code = wait_exit(c.pid);
        spawn_child_done(&c);
}

START_TEST(test_start_pipes) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(2, sizeof *out);
        spawn_child c;
        char *err = NULL;
        int fds[2];
        test_cfg t;

        cfg_init(&t);
        cfg_args(&t, "sh", "-c", "echo out; echo err >&2; exit 7", NULL);
        cfg_workdir(&t, "/");
        ck_assert_int_eq(spawn_start(&t.config, &pol, &c, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert(!c.tty);
        ck_assert_int_eq(c.master_fd, -1);
        assert_parent_fd(c.stdin_fd);
        assert_parent_fd(c.stdout_fd);
        assert_parent_fd(c.stderr_fd);
        ck_assert_str_eq(c.exe, "/usr/bin/sh");
        ck_assert_str_eq(c.workdir, "/");
        ck_assert_uint_eq(c.argc, 3);
        ck_assert_str_eq(c.user, getpwuid(getuid())->pw_name);
        fds[0] = c.stdout_fd;
        fds[1] = c.stderr_fd;
        drain(fds, out, 2);
        ck_assert_str_eq(out[0].data, "out\n");
        ck_assert_str_eq(out[1].data, "err\n");
        ck_assert_int_eq(wait_exit(c.pid), 7);
        spawn_child_done(&c);
        ck_assert_int_eq(c.pid, -1);
        ck_assert_int_eq(c.stdout_fd, -1);
        assert_no_children();
        free(out);
}
END_TEST

START_TEST(test_start_stdin_pipe) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(2, sizeof *out);
        spawn_child c;
        char *err = NULL;
        int fds[2];
        test_cfg t;

        cfg_init(&t);
        cfg_args(&t, "cat", NULL);
        ck_assert_int_eq(spawn_start(&t.config, &pol, &c, &err), 0);
        ck_assert_int_eq(write(c.stdin_fd, "hello\n", 6), 6);
        c.stdin_fd = safe_close(c.stdin_fd);
        fds[0] = c.stdout_fd;
        fds[1] = c.stderr_fd;
        drain(fds, out, 2);
        ck_assert_str_eq(out[0].data, "hello\n");
        ck_assert_str_eq(out[1].data, "");
        ck_assert_int_eq(wait_exit(c.pid), 0);
        spawn_child_done(&c);
        free(out);
}
END_TEST

START_TEST(test_start_session) {
        spawn_policy pol = policy_spawn();
        spawn_child c;
        char *err = NULL;
        test_cfg t;

        for (int tty = 0; tty <= 1; tty++) {
                cfg_init(&t);
                cfg_args(&t, "cat", NULL);
                t.options.allocate_tty = tty;
                ck_assert_int_eq(spawn_start(&t.config, &pol, &c, &err), 0);
                /* setsid() ran before exec, so this holds as soon as we return */
                ck_assert_int_eq(getpgid(c.pid), c.pid);
                ck_assert_int_eq(getsid(c.pid), c.pid);
                ck_assert_int_ne(getsid(c.pid), getsid(0));
                if (tty)
                        ck_assert_int_eq(tcgetpgrp(c.master_fd), c.pid);
                ck_assert_int_eq(kill(-c.pid, SIGKILL), 0);
                ck_assert_int_eq(waitpid(c.pid, NULL, 0), c.pid);
                spawn_child_done(&c);
        }
        assert_no_children();
}
END_TEST

START_TEST(test_start_pty_tty) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(1, sizeof *out);
        spawn_child c;
        char *err = NULL;
        test_cfg t;

        cfg_init(&t);
        cfg_args(&t, "tty", NULL);
        t.options.allocate_tty = true;
        ck_assert_int_eq(spawn_start(&t.config, &pol, &c, &err), 0);
        ck_assert(c.tty);
        assert_parent_fd(c.master_fd);
        ck_assert_int_eq(c.stdin_fd, -1);
        ck_assert_int_eq(c.stdout_fd, -1);
        ck_assert_int_eq(c.stderr_fd, -1);
        drain(&c.master_fd, out, 1);
        ck_assert_msg(strncmp(out->data, "/dev/pts/", 9) == 0, "tty printed %s", out->data);
        ck_assert_int_eq(wait_exit(c.pid), 0);
        spawn_child_done(&c);
        free(out);
}
END_TEST

static size_t count_substr(const char *s, const char *needle) {
        size_t n = 0;

        for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

START_TEST(test_start_pty_stdin) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(1, sizeof *out);
        spawn_child c;
        char *err = NULL;
        test_cfg t;

        cfg_init(&t);
        cfg_args(&t, "cat", NULL);
        t.options.allocate_tty = true;
        ck_assert_int_eq(spawn_start(&t.config, &pol, &c, &err), 0);
        ck_assert_int_eq(write(c.master_fd, "ping\n", 5), 5);
        /* the terminal echo plus cat's copy */
        for (int i = 0; i < 1000 && count_substr(out->data, "ping\r\n") < 2; i++) {
                struct pollfd p = {.fd = c.master_fd, .events = POLLIN};
                ssize_t k;

                ck_assert_int_ge(poll(&p, 1, 10), 0);
                k = read(c.master_fd, out->data + out->n, sizeof out->data - 1 - out->n);
                if (k > 0)
                        out->n += (size_t) k;
                out->data[out->n] = 0;
        }
        ck_assert_uint_eq(count_substr(out->data, "ping\r\n"), 2);
        ck_assert_int_eq(write(c.master_fd, "\x04", 1), 1);
        drain(&c.master_fd, out, 1);
        ck_assert_int_eq(wait_exit(c.pid), 0);
        spawn_child_done(&c);
        free(out);
}
END_TEST

START_TEST(test_start_env_and_argv0) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(2, sizeof *out);
        spawn_account acct = {};
        char **env = NULL, *err = NULL, *want = NULL;
        size_t len = 0;
        FILE *f;
        int code;
        test_cfg t;

        cfg_init(&t);
        cfg_env(&t, "FOO", "bar baz");
        cfg_args(&t, "env", NULL);
        run_pipes(&t, &pol, out, &code);
        ck_assert_int_eq(code, 0);
        ck_assert_int_eq(spawn_resolve_account(&t.config, &pol, &acct, &err), 0);
        ck_assert_int_eq(spawn_build_env(&t.config, &acct, &pol, &env), 0);
        f = open_memstream(&want, &len);
        ck_assert_ptr_nonnull(f);
        for (char **e = env; *e; e++)
                fprintf(f, "%s\n", *e);
        fclose(f);
        ck_assert_str_eq(out[0].data, want);
        free(want);
        strv_free(env);
        spawn_account_done(&acct);

        /* argv[0] is the resolved path */
        cfg_init(&t);
        cfg_args(&t, "cat", "/proc/self/cmdline", NULL);
        run_pipes(&t, &pol, out, &code);
        ck_assert_uint_eq(out[0].n, sizeof "/usr/bin/cat\0/proc/self/cmdline");
        ck_assert_mem_eq(out[0].data, "/usr/bin/cat\0/proc/self/cmdline", out[0].n);
        free(out);
}
END_TEST

START_TEST(test_start_default_shell_and_workdir) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(2, sizeof *out);
        char *dir = scratch_dir(), *real = realpath(dir, NULL), *want;
        struct passwd *pw = getpwuid(getuid());
        spawn_child c;
        char *err = NULL;
        int fds[2];
        test_cfg t;

        const char *shell = *pw->pw_shell ? pw->pw_shell : "/bin/sh", *script = "pwd; exit 3\n";

        cfg_init(&t);
        cfg_workdir(&t, dir);
        ck_assert_int_eq(spawn_start(&t.config, &pol, &c, &err), 0);
        ck_assert_uint_eq(c.argc, 1);
        ck_assert_str_eq(c.workdir, dir);
        ck_assert_ptr_nonnull(strrchr(c.exe, '/'));
        ck_assert_str_eq(strrchr(c.exe, '/'), strrchr(shell, '/'));
        if (strcmp(shell + strlen(shell) - 2, "sh") != 0) {
                /* e.g. nologin: nothing to script */
                ck_assert_int_eq(kill(c.pid, SIGKILL), 0);
                ck_assert_int_eq(waitpid(c.pid, NULL, 0), c.pid);
                spawn_child_done(&c);
                goto out;
        }
        ck_assert_int_eq(write(c.stdin_fd, script, strlen(script)), (ssize_t) strlen(script));
        fds[0] = c.stdout_fd;
        fds[1] = c.stderr_fd;
        drain(fds, out, 2);
        ck_assert_int_ge(asprintf(&want, "%s\n", real), 0);
        ck_assert_str_eq(out[0].data, want);
        ck_assert_int_eq(wait_exit(c.pid), 3);
        spawn_child_done(&c);
        free(want);
out:
        free(real);
        free(out);
        scratch_remove(dir);
}
END_TEST

START_TEST(test_start_home_workdir) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(2, sizeof *out);
        struct passwd *pw = getpwuid(getuid());
        char *real, *want;
        spawn_child c;
        char *err = NULL;
        int fds[2];
        test_cfg t;

        ck_assert_ptr_nonnull(pw);
        real = realpath(pw->pw_dir, NULL);
        if (!real || access(real, X_OK) < 0) {
                free(real);
                free(out);
                return; /* no usable home directory to test with */
        }
        cfg_init(&t);
        t.config.workdir = NULL;
        cfg_args(&t, "pwd", NULL);
        ck_assert_int_eq(spawn_start(&t.config, &pol, &c, &err), 0);
        ck_assert_str_eq(c.workdir, pw->pw_dir);
        fds[0] = c.stdout_fd;
        fds[1] = c.stderr_fd;
        drain(fds, out, 2);
        ck_assert_int_eq(wait_exit(c.pid), 0);
        ck_assert_int_ge(asprintf(&want, "%s\n", real), 0);
        ck_assert_str_eq(out[0].data, want);
        spawn_child_done(&c);
        free(want);
        free(real);
        free(out);
}
END_TEST

START_TEST(test_start_signals_reset) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(2, sizeof *out);
        sigset_t block, old;
        struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe, old_int;
        int code;
        test_cfg t;

        ck_assert_int_eq(sigemptyset(&block), 0);
        ck_assert_int_eq(sigaddset(&block, SIGCHLD), 0);
        ck_assert_int_eq(sigaddset(&block, SIGTERM), 0);
        ck_assert_int_eq(sigaddset(&block, SIGINT), 0);
        ck_assert_int_eq(sigprocmask(SIG_BLOCK, &block, &old), 0);
        ck_assert_int_eq(sigaction(SIGPIPE, &ign, &old_pipe), 0);
        ck_assert_int_eq(sigaction(SIGINT, &ign, &old_int), 0);
        cfg_init(&t);
        cfg_args(&t, "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL);
        run_pipes(&t, &pol, out, &code);
        ck_assert_int_eq(code, 0);
        ck_assert_str_eq(out[0].data, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
        ck_assert_int_eq(sigaction(SIGPIPE, &old_pipe, NULL), 0);
        ck_assert_int_eq(sigaction(SIGINT, &old_int, NULL), 0);
        ck_assert_int_eq(sigprocmask(SIG_SETMASK, &old, NULL), 0);
        free(out);
}
END_TEST

START_TEST(test_start_no_fd_leak) {
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(2, sizeof *out);
        int code, leak = open("/dev/null", O_RDONLY);
        test_cfg t;

        ck_assert_int_ge(leak, 0);
        ck_assert_int_eq(dup2(leak, 100), 100);
        cfg_init(&t);
        /* ls holds fd 3 for the directory it lists */
        cfg_args(&t, "ls", "/proc/self/fd", NULL);
        run_pipes(&t, &pol, out, &code);
        ck_assert_int_eq(code, 0);
        ck_assert_str_eq(out[0].data, "0\n1\n2\n3\n");
        close(100);
        close(leak);
        free(out);
}
END_TEST

START_TEST(test_start_stdio_closed_in_parent) {
        /* A daemon with fds 0-2 closed: the child-side fds land on them. */
        spawn_policy pol = policy_spawn();
        outbuf *out = calloc(2, sizeof *out);
        int saved[3], code;
        test_cfg t;

        for (int i = 0; i < 3; i++) {
                saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
                ck_assert_int_ge(saved[i], 0);
                close(i);
        }
        cfg_init(&t);
        cfg_args(&t, "sh", "-c", "echo out; echo err >&2; ls /proc/self/fd", NULL);
        run_pipes(&t, &pol, out, &code);
        for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(dup2(saved[i], i), i);
                close(saved[i]);
        }
        ck_assert_int_eq(code, 0);
        ck_assert_str_eq(out[0].data, "out\n0\n1\n2\n3\n");
        ck_assert_str_eq(out[1].data, "err\n");
        free(out);
}
END_TEST

static void assert_start_fails(test_cfg *t, const spawn_policy *pol, int want_r, const char *want) {
        spawn_child c;
        char *err = NULL;

        ck_assert_int_eq(spawn_start(&t->config, pol, &c, &err), want_r);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, want);
        ck_assert_int_eq(c.pid, -1);
        ck_assert_int_eq(c.master_fd, -1);
        ck_assert_int_eq(c.stdin_fd, -1);
        ck_assert_int_eq(c.stdout_fd, -1);
        ck_assert_int_eq(c.stderr_fd, -1);
        ck_assert_ptr_null(c.exe);
        free(err);
        assert_no_children();
}

START_TEST(test_start_chdir_fails) {
        spawn_policy pol = policy_spawn();
        test_cfg t;

        for (int tty = 0; tty <= 1; tty++) {
                cfg_init(&t);
                t.options.allocate_tty = tty;
                cfg_args(&t, "true", NULL);
                cfg_workdir(&t, "/nonexistent-webtty-dir");
                assert_start_fails(&t, &pol, -ENOENT,
                                   "chdir /nonexistent-webtty-dir: no such file or directory");
        }
        cfg_workdir(&t, "/etc/passwd");
        assert_start_fails(&t, &pol, -ENOTDIR, "chdir /etc/passwd: not a directory");
}
END_TEST

START_TEST(test_start_exec_fails) {
        spawn_policy pol = policy_spawn();
        char *dir = scratch_dir(), *want;
        test_cfg t;

        write_file(dir, "garbage", "this is not a program\n", 0755);
        write_file(dir, "data", "data\n", 0644);
        cfg_init(&t);
        cfg_workdir(&t, dir);
        cfg_args(&t, "garbage", NULL);
        ck_assert_int_ge(asprintf(&want, "fork/exec %s/garbage: exec format error", dir), 0);
        assert_start_fails(&t, &pol, -ENOEXEC, want);
        free(want);

        cfg_init(&t);
        cfg_workdir(&t, dir);
        t.options.allocate_tty = true;
        cfg_args(&t, "data", NULL);
        ck_assert_int_ge(asprintf(&want, "fork/exec %s/data: permission denied", dir), 0);
        assert_start_fails(&t, &pol, -EACCES, want);
        free(want);

        cfg_init(&t);
        cfg_args(&t, "nosuch-webtty-prog", NULL);
        assert_start_fails(&t, &pol, -ENOENT,
                           "executable \"nosuch-webtty-prog\" not found: exec: \"nosuch-webtty-prog\": "
                           "executable file not found in $PATH");
        scratch_remove(dir);
}
END_TEST

START_TEST(test_start_errors_before_fork) {
        spawn_policy pol = policy_spawn();
        test_cfg t;

        cfg_init(&t);
        cfg_args(&t, "true", NULL);
        cfg_env(&t, "A=B", "c");
        assert_start_fails(&t, &pol, -EINVAL, "invalid environment variable name \"A=B\"");
        cfg_init(&t);
        cfg_user_name(&t, "no-such-user-webtty");
        assert_start_fails(&t, &pol, -ESRCH,
                           "failed to get user info: user lookup: user: unknown user no-such-user-webtty");
        pol.mode = SPAWN_MODE_LOGIN;
        cfg_init(&t);
        assert_start_fails(&t, &pol, -EPERM,
                           "login execution mode requires a configured default user or explicitly allowed "
                           "client user");
}
END_TEST

/* Needs root: run as another account, chdir after the switch. */
START_TEST(test_start_switch_user) {
        spawn_policy pol = policy_spawn();
        outbuf *out;
        struct passwd *pw;
        char *dir, *want;
        int code;
        test_cfg t;

        if (getuid() != 0)
                return;
        out = calloc(2, sizeof *out);
        pw = getpwnam("nobody");
        ck_assert_ptr_nonnull(pw);
        uid_t uid = pw->pw_uid;
        gid_t gid = pw->pw_gid;
        pol.allow_client_user = true;
        cfg_init(&t);
        cfg_user_name(&t, "nobody");
        cfg_workdir(&t, "/");
        cfg_args(&t, "sh", "-c", "id -u; id -g; id -G; echo $USER $HOME", NULL);
        run_pipes(&t, &pol, out, &code);
        ck_assert_int_eq(code, 0);
        ck_assert_int_ge(asprintf(&want, "%u\n%u\n%u\nnobody %s\n", uid, gid, gid, pw->pw_dir), 0);
        ck_assert_str_eq(out[0].data, want);
        free(want);

        /* the workdir must be reachable by the target account */
        dir = scratch_dir();
        cfg_workdir(&t, dir);
        ck_assert_int_ge(asprintf(&want, "chdir %s: permission denied", dir), 0);
        assert_start_fails(&t, &pol, -EACCES, want);
        free(want);
        scratch_remove(dir);

        /* login mode with a fixed login user */
        pol = policy_spawn();
        pol.mode = SPAWN_MODE_LOGIN;
        pol.login_user = "nobody";
        cfg_init(&t);
        cfg_env(&t, "USER", "root");
        cfg_workdir(&t, "/");
        cfg_args(&t, "sh", "-c", "id -u; echo $USER $LOGNAME", NULL);
        run_pipes(&t, &pol, out, &code);
        ck_assert_int_eq(code, 0);
        ck_assert_int_ge(asprintf(&want, "%u\nnobody nobody\n", uid), 0);
        ck_assert_str_eq(out[0].data, want);
        free(want);
        free(out);
}
END_TEST

/* Needs a non-root daemon: the switch itself fails and is reported. */
START_TEST(test_start_switch_denied) {
        spawn_policy pol = policy_spawn();
        test_cfg t;

        if (getuid() == 0)
                return;
        pol.allow_client_user = true;
        cfg_init(&t);
        cfg_user_name(&t, "root");
        cfg_workdir(&t, "/");
        cfg_args(&t, "true", NULL);
        assert_start_fails(&t, &pol, -EPERM, "failed to switch user: setgroups: operation not permitted");
}
END_TEST

static Suite *spawn_suite(void) {
        Suite *s = suite_create("spawn");
        TCase *env = tcase_create("env"), *exe = tcase_create("exe"), *acct = tcase_create("account");
        TCase *start = tcase_create("start");

        tcase_add_test(env, test_env_order_spawn);
        tcase_add_test(env, test_env_spawn_adds);
        tcase_add_test(env, test_env_login_sets);
        tcase_add_test(env, test_env_empty_value);
        tcase_add_test(env, test_env_no_leak);
        tcase_add_test(env, test_env_locale_passthrough);
        tcase_add_test(env, test_env_duplicates);
        tcase_add_test(env, test_env_invalid_key);
        tcase_add_test(env, test_env_too_many);
        tcase_add_test(env, test_env_runtime_dir);
        tcase_add_test(exe, test_exe_workdir);
        tcase_add_test(exe, test_exe_relative_workdir);
        tcase_add_test(exe, test_exe_path_search);
        tcase_add_test(exe, test_exe_errors);
        tcase_add_test(acct, test_account_login_errors);
        tcase_add_test(acct, test_account_login_ok);
        tcase_add_test(acct, test_account_unknown);
        tcase_add_test(acct, test_account_numeric_self);
        tcase_add_test(acct, test_account_spawn_other_user);
        tcase_add_test(start, test_start_pipes);
        tcase_add_test(start, test_start_stdin_pipe);
        tcase_add_test(start, test_start_session);
        tcase_add_test(start, test_start_pty_tty);
        tcase_add_test(start, test_start_pty_stdin);
        tcase_add_test(start, test_start_env_and_argv0);
        tcase_add_test(start, test_start_default_shell_and_workdir);
        tcase_add_test(start, test_start_home_workdir);
        tcase_add_test(start, test_start_signals_reset);
        tcase_add_test(start, test_start_no_fd_leak);
        tcase_add_test(start, test_start_stdio_closed_in_parent);
        tcase_add_test(start, test_start_chdir_fails);
        tcase_add_test(start, test_start_exec_fails);
        tcase_add_test(start, test_start_errors_before_fork);
        tcase_add_test(start, test_start_switch_user);
        tcase_add_test(start, test_start_switch_denied);
        tcase_set_timeout(start, 60);
        suite_add_tcase(s, env);
        suite_add_tcase(s, exe);
        suite_add_tcase(s, acct);
        suite_add_tcase(s, start);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(spawn_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
