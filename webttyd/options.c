/* webttyd command line (see config.h). */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "loginclient.h"
#include "macro.h"

#define DEFAULT_TIMEOUT_USEC (5u * 1000000u)
#define TOKEN_FILE_MAX 4096

static void help(void) {
        printf("Usage: webttyd [OPTIONS]\n"
               "Serve WebTTY terminal sessions.\n\n"
               "  --listen ADDR             ws://HOST:PORT[/path], tcp://HOST:PORT, unix:/PATH or "
               "HOST:PORT\n"
               "                            (repeatable; default " WEBTTYD_DEFAULT_LISTEN ")\n"
               "  --transport KIND          framing for HOST:PORT and inherited sockets: websocket|plain\n"
               "  --auth-token-file FILE    bearer token for WebSocket clients (or "
               "RSTREAM_WEBTTY_AUTH_TOKEN)\n"
               "  --allow-unauthenticated   serve without a token (isolated development only)\n"
               "  --allowed-origin ORIGIN   allow browser Origin (repeatable; * allows any)\n"
               "  --execution-mode MODE     spawn|login (default spawn)\n"
               "  --login-user USER         account for login-mode sessions\n"
               "  --allow-client-user       honour the user requested by the client\n"
               "  --login-socket PATH       webttyd-login's socket (default " LOGIN_DEFAULT_SOCKET ")\n"
               "  --login-helper PATH       start webttyd-login per session instead of connecting\n"
               "  --shutdown-timeout DUR    grace period on SIGTERM (default 5s; ms without a unit)\n"
               "  --open-timeout DUR        time allowed from accept to Open (default 5s)\n"
               "  --close-timeout DUR       wait for the peer after Close (default: shutdown timeout)\n"
               "  --heartbeat-interval DUR  heartbeat period after Ack, 0 disables (default 5s)\n"
               "  --max-message-size BYTES  largest accepted message (default 1048576)\n"
               "  --log-level LEVEL         debug|info|warning|error (default info)\n"
               "  --e2e                     require end-to-end encryption (default identity if none given)\n"
               "  --identity NAME           endpoint identity from the data directory\n"
               "  --identity-file FILE      endpoint identity file (or RSTREAM_WEBTTY_IDENTITY_FILE)\n"
               "  --authorized-client-key K allow this client signing key (repeatable)\n"
               "  --authorized-clients-file FILE  authorized clients store (re-read per session)\n"
               "  --help, --version\n");
}

/* "250" (ms), "250ms", "5s", "2m" -> microseconds. */
static int parse_duration(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;
        uint64_t mult = 1000;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -EINVAL;
        if (strcmp(end, "ms") == 0 || *end == '\0')
                mult = 1000;
        else if (strcmp(end, "s") == 0)
                mult = 1000000;
        else if (strcmp(end, "m") == 0)
                mult = 60000000;
        else
                return -EINVAL;
        if (v > UINT64_MAX / mult / 2)
                return -ERANGE;
        *ret = v * mult;
        return 0;
}

static int strv_push(char ***l, const char *v) {
        size_t n = 0;
        char **nl;

        while (*l && (*l)[n])
                n++;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[n] = strdup(v);
        nl[n + 1] = NULL;
        return nl[n] ? 0 : -ENOMEM;
}

/* The token lives in guarded memory and is trimmed like the reference. */
static int set_token(webttyd_config *cfg, const char *v, size_t len) {
        while (len > 0 && isspace((unsigned char) *v))
                v++, len--;
        while (len > 0 && isspace((unsigned char) v[len - 1]))
                len--;
        if (len == 0)
                return -ENODATA;
        if (cfg->auth_token)
                sodium_free(cfg->auth_token);
        cfg->auth_token = sodium_malloc(len + 1);
        if (!cfg->auth_token)
                return -ENOMEM;
        memcpy(cfg->auth_token, v, len);
        cfg->auth_token[len] = '\0';
        return 0;
}

static int read_token_file(webttyd_config *cfg, const char *path) {
        char *buf;
        size_t n;
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "webttyd: failed to read --auth-token-file %s: %s\n", path, strerror(errno));
                return -errno;
        }
        buf = sodium_malloc(TOKEN_FILE_MAX + 1);
        if (!buf) {
                fclose(f);
                return -ENOMEM;
        }
        n = fread(buf, 1, TOKEN_FILE_MAX + 1, f);
        fclose(f);
        if (n > TOKEN_FILE_MAX) {
                sodium_free(buf);
                fprintf(stderr, "webttyd: --auth-token-file %s: larger than %d bytes\n", path,
                        TOKEN_FILE_MAX);
                return -EFBIG;
        }
        r = set_token(cfg, buf, n);
        sodium_free(buf);
        if (r == -ENODATA)
                fprintf(stderr, "webttyd: --auth-token-file is empty\n");
        return r;
}

static int parse_log_level(const char *s) {
        if (strcmp(s, "debug") == 0)
                return LOG_DEBUG;
        if (strcmp(s, "info") == 0)
                return LOG_INFO;
        if (strcmp(s, "warning") == 0 || strcmp(s, "warn") == 0)
                return LOG_WARNING;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        return -EINVAL;
}

static int parse_mode(const char *v, spawn_mode *ret) {
        char buf[16];
        size_t i, n;

        while (isspace((unsigned char) *v))
                v++;
        n = strlen(v);
        while (n > 0 && isspace((unsigned char) v[n - 1]))
                n--;
        if (n >= sizeof(buf))
                return -EINVAL;
        for (i = 0; i < n; i++)
                buf[i] = (char) tolower((unsigned char) v[i]);
        buf[n] = '\0';
        if (strcmp(buf, "spawn") == 0)
                *ret = SPAWN_MODE_SPAWN;
        else if (strcmp(buf, "login") == 0)
                *ret = SPAWN_MODE_LOGIN;
        else
                return -EINVAL;
        return 0;
}

enum {
        OPT_LISTEN = 256,
        OPT_TRANSPORT,
        OPT_TOKEN_FILE,
        OPT_ALLOW_UNAUTH,
        OPT_ORIGIN,
        OPT_MODE,
        OPT_LOGIN_USER,
        OPT_ALLOW_CLIENT_USER,
        OPT_LOGIN_SOCKET,
        OPT_LOGIN_HELPER,
        OPT_SHUTDOWN_TIMEOUT,
        OPT_OPEN_TIMEOUT,
        OPT_CLOSE_TIMEOUT,
        OPT_HEARTBEAT,
        OPT_MAX_MESSAGE,
        OPT_LOG_LEVEL,
        OPT_E2E,
        OPT_IDENTITY,
        OPT_IDENTITY_FILE,
        OPT_AUTHORIZED_CLIENT_KEY,
        OPT_AUTHORIZED_CLIENTS_FILE,
        OPT_HELP,
        OPT_VERSION,
};

static const struct option options[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"transport", required_argument, NULL, OPT_TRANSPORT},
        {"auth-token-file", required_argument, NULL, OPT_TOKEN_FILE},
        {"allow-unauthenticated", no_argument, NULL, OPT_ALLOW_UNAUTH},
        {"allowed-origin", required_argument, NULL, OPT_ORIGIN},
        {"execution-mode", required_argument, NULL, OPT_MODE},
        {"login-user", required_argument, NULL, OPT_LOGIN_USER},
        {"allow-client-user", no_argument, NULL, OPT_ALLOW_CLIENT_USER},
        {"login-socket", required_argument, NULL, OPT_LOGIN_SOCKET},
        {"login-helper", required_argument, NULL, OPT_LOGIN_HELPER},
        {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
        {"open-timeout", required_argument, NULL, OPT_OPEN_TIMEOUT},
        {"close-timeout", required_argument, NULL, OPT_CLOSE_TIMEOUT},
        {"heartbeat-interval", required_argument, NULL, OPT_HEARTBEAT},
        {"max-message-size", required_argument, NULL, OPT_MAX_MESSAGE},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"e2e", no_argument, NULL, OPT_E2E},
        {"identity", required_argument, NULL, OPT_IDENTITY},
        {"identity-file", required_argument, NULL, OPT_IDENTITY_FILE},
        {"authorized-client-key", required_argument, NULL, OPT_AUTHORIZED_CLIENT_KEY},
        {"authorized-clients-file", required_argument, NULL, OPT_AUTHORIZED_CLIENTS_FILE},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {},
};

/* A non-empty string option; "--flag is empty" as the reference says it. */
static int set_string(char **dst, const char *flag, const char *v) {
        if (!*v) {
                fprintf(stderr, "webttyd: %s is empty\n", flag);
                return -EINVAL;
        }
        free(*dst);
        *dst = strdup(v);
        return *dst ? 0 : -ENOMEM;
}

static int bad_value(const char *flag, const char *v) {
        fprintf(stderr, "webttyd: invalid value \"%s\" for %s\n", v, flag);
        return -EINVAL;
}

static int parse_one(webttyd_config *cfg, int c, const char *arg, bool *close_set) {
        char *end;
        unsigned long long v;

        switch (c) {
        case OPT_LISTEN:
                return strv_push(&cfg->listen, arg);
        case OPT_TRANSPORT:
                if (strcmp(arg, "websocket") == 0)
                        cfg->bare_kind = WT_URL_WS;
                else if (strcmp(arg, "plain") == 0)
                        cfg->bare_kind = WT_URL_TCP;
                else if (strcmp(arg, "webtransport") == 0) {
                        fprintf(stderr,
                                "webttyd: --transport webtransport is not supported by this server\n");
                        return -EOPNOTSUPP;
                } else
                        return bad_value("--transport", arg);
                return 0;
        case OPT_TOKEN_FILE:
                if (!*arg) {
                        fprintf(stderr, "webttyd: --auth-token-file is empty\n");
                        return -EINVAL;
                }
                return read_token_file(cfg, arg);
        case OPT_ALLOW_UNAUTH:
                cfg->allow_unauthenticated = true;
                return 0;
        case OPT_ORIGIN:
                return strv_push(&cfg->allowed_origins, arg);
        case OPT_MODE:
                if (parse_mode(arg, &cfg->mode) < 0) {
                        fprintf(stderr,
                                "webttyd: invalid WebTTY execution mode \"%s\" (valid: spawn, login)\n",
                                arg);
                        return -EINVAL;
                }
                return 0;
        case OPT_LOGIN_USER:
                free(cfg->login_user);
                cfg->login_user = strdup(arg);
                return cfg->login_user ? 0 : -ENOMEM;
        case OPT_ALLOW_CLIENT_USER:
                cfg->allow_client_user = true;
                return 0;
        case OPT_LOGIN_SOCKET:
                return set_string(&cfg->login_socket, "--login-socket", arg);
        case OPT_LOGIN_HELPER:
                return set_string(&cfg->login_helper, "--login-helper", arg);
        case OPT_SHUTDOWN_TIMEOUT:
                return parse_duration(arg, &cfg->shutdown_timeout_usec) < 0
                               ? bad_value("--shutdown-timeout", arg)
                               : 0;
        case OPT_OPEN_TIMEOUT:
                if (parse_duration(arg, &cfg->open_timeout_usec) < 0 || cfg->open_timeout_usec == 0)
                        return bad_value("--open-timeout", arg);
                return 0;
        case OPT_CLOSE_TIMEOUT:
                *close_set = true;
                return parse_duration(arg, &cfg->close_timeout_usec) < 0 ? bad_value("--close-timeout", arg)
                                                                         : 0;
        case OPT_HEARTBEAT:
                return parse_duration(arg, &cfg->heartbeat_usec) < 0 ? bad_value("--heartbeat-interval", arg)
                                                                     : 0;
        case OPT_MAX_MESSAGE:
                errno = 0;
                v = strtoull(arg, &end, 10);
                if (errno || *end || v < 64 || v > UINT32_MAX)
                        return bad_value("--max-message-size", arg);
                cfg->max_message = (size_t) v;
                return 0;
        case OPT_E2E:
                cfg->e2e = true;
                return 0;
        case OPT_IDENTITY:
                return set_string(&cfg->identity_name, "--identity", arg);
        case OPT_IDENTITY_FILE:
                return set_string(&cfg->identity_file, "--identity-file", arg);
        case OPT_AUTHORIZED_CLIENT_KEY:
                return strv_push(&cfg->authorized_client_keys, arg);
        case OPT_AUTHORIZED_CLIENTS_FILE:
                return set_string(&cfg->authorized_clients_file, "--authorized-clients-file", arg);
        case OPT_LOG_LEVEL:
                if ((cfg->log_level = parse_log_level(arg)) < 0)
                        return bad_value("--log-level", arg);
                return 0;
        default:
                return -EINVAL;
        }
}

/* Fills *dst from the environment variable when the flag was not given. */
static int env_default(char **dst, const char *var) {
        const char *v = var ? getenv(var) : NULL;

        if (*dst || !v || !*v)
                return 0;
        *dst = strdup(v);
        return *dst ? 0 : -ENOMEM;
}

int config_parse_argv(int argc, char **argv, webttyd_config *cfg) {
        bool close_set = false;
        const char *env_token;
        int c, r;

        *cfg = (webttyd_config){
                .bare_kind = WT_URL_WS,
                .mode = SPAWN_MODE_SPAWN,
                .shutdown_timeout_usec = DEFAULT_TIMEOUT_USEC,
                .open_timeout_usec = DEFAULT_TIMEOUT_USEC,
                .heartbeat_usec = DEFAULT_TIMEOUT_USEC,
                .max_message = 1024 * 1024,
                .log_level = LOG_INFO,
        };
        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == OPT_HELP) {
                        help();
                        return 1;
                }
                if (c == OPT_VERSION) {
                        printf("webttyd %s\n", PACKAGE_VERSION);
                        return 1;
                }
                if (c == '?')
                        return -EINVAL;
                r = parse_one(cfg, c, optarg, &close_set);
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, "webttyd: unexpected argument \"%s\"\n", argv[optind]);
                return -EINVAL;
        }
        if (!close_set)
                cfg->close_timeout_usec =
                        cfg->shutdown_timeout_usec ? cfg->shutdown_timeout_usec : DEFAULT_TIMEOUT_USEC;
        if (cfg->identity_name && cfg->identity_file) {
                fprintf(stderr, "webttyd: --identity cannot be combined with --identity-file\n");
                return -EINVAL;
        }
        r = env_default(&cfg->identity_file, cfg->identity_name ? NULL : "RSTREAM_WEBTTY_IDENTITY_FILE");
        if (r >= 0)
                r = env_default(&cfg->authorized_clients_file, "RSTREAM_WEBTTY_AUTHORIZED_CLIENTS_FILE");
        if (r < 0)
                return r;
        env_token = getenv("RSTREAM_WEBTTY_AUTH_TOKEN");
        if (!cfg->auth_token && env_token && set_token(cfg, env_token, strlen(env_token)) == -ENOMEM)
                return -ENOMEM;
        return 0;
}

static int config_fail(const char *msg) {
        fprintf(stderr, "webttyd: %s\n", msg);
        return -EINVAL;
}

/* Login mode hands every session to webttyd-login: refuse to start when it
 * cannot be reached at all, naming the path, rather than refuse every
 * session later. (The socket may still go away; a session then gets
 * "login service unavailable".) */
static int config_validate_login(const webttyd_config *cfg) {
        const char *sock = cfg->login_socket ? cfg->login_socket : LOGIN_DEFAULT_SOCKET, *why = NULL;
        struct stat st;

        if ((cfg->login_socket || cfg->login_helper) && cfg->mode != SPAWN_MODE_LOGIN)
                return config_fail("--login-socket and --login-helper require --execution-mode=login");
        if (cfg->mode != SPAWN_MODE_LOGIN)
                return 0;
        if (cfg->login_socket && cfg->login_helper)
                return config_fail("--login-socket and --login-helper cannot be combined");
        if (cfg->login_helper) {
                if (cfg->login_helper[0] != '/') {
                        fprintf(stderr, "webttyd: --login-helper \"%s\" is not an absolute path\n",
                                cfg->login_helper);
                        return -EINVAL;
                }
                if (stat(cfg->login_helper, &st) < 0)
                        why = strerror(errno);
                else if (!S_ISREG(st.st_mode))
                        why = "not a regular file";
                else if (access(cfg->login_helper, X_OK) < 0)
                        why = strerror(errno);
                if (why) {
                        fprintf(stderr, "webttyd: --login-helper %s is not an executable file: %s\n",
                                cfg->login_helper, why);
                        return -EINVAL;
                }
                return 0;
        }
        if (strlen(sock) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                why = "path too long for a unix socket address";
        else if (stat(sock, &st) < 0)
                why = strerror(errno);
        else if (!S_ISSOCK(st.st_mode))
                why = "not a socket";
        if (why) {
                fprintf(stderr,
                        "webttyd: login execution mode needs webttyd-login, but its socket %s is not "
                        "available: %s (start webttyd-login.socket, or use --login-helper)\n",
                        sock, why);
                return -EINVAL;
        }
        return 0;
}

int config_validate(const webttyd_config *cfg, const wt_url *urls, size_t n_urls, size_t n_inherited) {
        bool any_ws = n_inherited > 0 && cfg->bare_kind == WT_URL_WS, any_tcp = false;

        for (size_t i = 0; i < n_urls; i++) {
                any_ws |= urls[i].kind == WT_URL_WS;
                any_tcp |= urls[i].kind == WT_URL_TCP;
        }
        if (any_ws && !cfg->auth_token && !cfg->allow_unauthenticated)
                return config_fail(
                        "local webtty server requires --auth-token-file or RSTREAM_WEBTTY_AUTH_TOKEN; use "
                        "--allow-unauthenticated only for isolated development");
        if (any_tcp && !cfg->allow_unauthenticated)
                return config_fail(
                        "local plain WebTTY transport has no HTTP auth layer; use --allow-unauthenticated "
                        "only for isolated development");
        /* --allow-client-user is also accepted in spawn mode, where (unlike the
         * reference) a client-selected account is refused without it. */
        if (cfg->login_user && cfg->mode != SPAWN_MODE_LOGIN)
                return config_fail("--login-user and --allow-client-user require --execution-mode=login");
        /* With an endpoint identity every caller is verified and the policy of
         * webttyd-login maps it: no default account is needed then. */
        if (cfg->mode == SPAWN_MODE_LOGIN && !cfg->login_user && !cfg->allow_client_user &&
            !cfg->identity_name && !cfg->identity_file)
                return config_fail(
                        "login execution mode requires an existing local OS username (--login-user) or "
                        "--allow-client-user");
        if (cfg->login_user && !getpwnam(cfg->login_user)) {
                fprintf(stderr, "webttyd: --login-user \"%s\" is not a usable local OS account\n",
                        cfg->login_user);
                return -EINVAL;
        }
        return config_validate_login(cfg);
}

static void strv_free_local(char **l) {
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
}

void config_done(webttyd_config *cfg) {
        strv_free_local(cfg->listen);
        strv_free_local(cfg->allowed_origins);
        strv_free_local(cfg->authorized_client_keys);
        free(cfg->identity_name);
        free(cfg->identity_file);
        free(cfg->authorized_clients_file);
        free(cfg->login_user);
        free(cfg->login_socket);
        free(cfg->login_helper);
        if (cfg->auth_token)
                sodium_free(cfg->auth_token);
        *cfg = (webttyd_config){0};
}
