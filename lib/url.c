/* Endpoint address parsing (see url.h). */
#include "url.h"

#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "macro.h"

static int fail(char **ret_error, const char *s, const char *why) {
        if (ret_error && asprintf(ret_error, "invalid address \"%s\": %s", s, why) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

static int parse_port(const char *p, uint16_t *ret) {
        char *end;
        unsigned long v;

        if (!*p || strspn(p, "0123456789") != strlen(p))
                return -EINVAL;
        errno = 0;
        v = strtoul(p, &end, 10);
        if (errno || *end || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

/* host[:port] with optional [v6] brackets; authority has no path. */
static int parse_authority(const char *s, const char *auth, uint16_t default_port, bool need_port, wt_url *u,
                           char **ret_error) {
        const char *colon;
        size_t hostlen;

        if (auth[0] == '[') {
                const char *close = strchr(auth, ']');
                if (!close)
                        return fail(ret_error, s, "missing ']'");
                u->host = strndup(auth + 1, (size_t) (close - auth - 1));
                colon = close[1] == ':' ? close + 1 : NULL;
                if (close[1] && !colon)
                        return fail(ret_error, s, "garbage after ']'");
        } else {
                colon = strrchr(auth, ':');
                hostlen = colon ? (size_t) (colon - auth) : strlen(auth);
                u->host = strndup(auth, hostlen);
        }
        if (!u->host)
                return -ENOMEM;
        if (!u->host[0])
                return fail(ret_error, s, "missing host");
        if (colon) {
                if (parse_port(colon + 1, &u->port) < 0)
                        return fail(ret_error, s, "invalid port");
        } else if (need_port)
                return fail(ret_error, s, "missing port");
        else
                u->port = default_port;
        return 0;
}

int wt_url_parse(const char *s, wt_url_kind bare_kind, wt_url *ret, char **ret_error) {
        wt_url u = {0};
        _cleanup_free_ char *auth = NULL;
        const char *rest, *slash;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!s || !*s)
                return fail(ret_error, "", "empty");
        if (strncmp(s, "unix:", 5) == 0) {
                const char *p = s + 5;
                if (strncmp(p, "//", 2) == 0)
                        p += 2;
                if (p[0] != '/')
                        return fail(ret_error, s, "unix socket path must be absolute");
                if (strlen(p) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                        return fail(ret_error, s, "unix socket path too long");
                u.kind = WT_URL_UNIX;
                u.path = strdup(p);
                if (!u.path)
                        return -ENOMEM;
                *ret = u;
                return 0;
        }
        if (strncmp(s, "ws://", 5) == 0) {
                u.kind = WT_URL_WS;
                rest = s + 5;
        } else if (strncmp(s, "tcp://", 6) == 0) {
                u.kind = WT_URL_TCP;
                rest = s + 6;
        } else if (strstr(s, "://"))
                return fail(ret_error, s, "unsupported scheme (use ws://, tcp:// or unix:)");
        else {
                u.kind = bare_kind;
                if (strchr(s, '/'))
                        return fail(ret_error, s, "expected HOST:PORT");
                r = parse_authority(s, s, 0, true, &u, ret_error);
                if (r < 0)
                        goto fail;
                if (u.kind == WT_URL_WS && !(u.path = strdup("/"))) {
                        r = -ENOMEM;
                        goto fail;
                }
                *ret = u;
                return 0;
        }
        slash = strchr(rest, '/');
        auth = slash ? strndup(rest, (size_t) (slash - rest)) : strdup(rest);
        if (!auth)
                return -ENOMEM;
        r = parse_authority(s, auth, 80, false, &u, ret_error);
        if (r < 0)
                goto fail;
        if (u.kind == WT_URL_TCP && slash && slash[1])
                return (wt_url_done(&u), fail(ret_error, s, "tcp:// takes no path"));
        u.path = strdup(u.kind == WT_URL_WS && slash ? slash : "/");
        if (!u.path) {
                r = -ENOMEM;
                goto fail;
        }
        *ret = u;
        return 0;
fail:
        wt_url_done(&u);
        return r;
}

void wt_url_done(wt_url *u) {
        free(u->host);
        free(u->path);
        u->host = u->path = NULL;
}

char *wt_url_host_header(const wt_url *u) {
        char *s = NULL;
        bool v6 = u->host && strchr(u->host, ':');

        if (u->port == 80)
                return asprintf(&s, v6 ? "[%s]" : "%s", u->host) < 0 ? NULL : s;
        return asprintf(&s, v6 ? "[%s]:%u" : "%s:%u", u->host, u->port) < 0 ? NULL : s;
}

char *wt_url_format(const wt_url *u) {
        char *s = NULL;
        bool v6 = u->host && strchr(u->host, ':');
        const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";

        switch (u->kind) {
        case WT_URL_UNIX:
                return asprintf(&s, "unix:%s", u->path) < 0 ? NULL : s;
        case WT_URL_WS:
                return asprintf(&s, "ws://%s%s%s:%u%s", lb, u->host, rb, u->port, u->path) < 0 ? NULL : s;
        case WT_URL_TCP:
                return asprintf(&s, "tcp://%s%s%s:%u", lb, u->host, rb, u->port) < 0 ? NULL : s;
        }
        return NULL;
}

int wt_url_sockaddr(const wt_url *u, struct sockaddr_storage *ret, socklen_t *ret_len, char **ret_error) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *res = NULL;
        char port[8];
        int r;

        if (ret_error)
                *ret_error = NULL;
        memset(ret, 0, sizeof(*ret));
        if (u->kind == WT_URL_UNIX) {
                struct sockaddr_un *sun = (struct sockaddr_un *) ret;
                sun->sun_family = AF_UNIX;
                memcpy(sun->sun_path, u->path, strlen(u->path) + 1);
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(u->path) + 1);
                return 0;
        }
        snprintf(port, sizeof(port), "%u", u->port);
        r = getaddrinfo(u->host, port, &hints, &res);
        if (r != 0) {
                if (ret_error && asprintf(ret_error, "lookup %s: %s", u->host, gai_strerror(r)) < 0)
                        *ret_error = NULL;
                return -EHOSTUNREACH;
        }
        memcpy(ret, res->ai_addr, res->ai_addrlen);
        *ret_len = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
}
