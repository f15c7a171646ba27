/* Listeners, accept, and the WebSocket upgrade phase (see listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <systemd/sd-daemon.h>

#include "http_upgrade.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "session.h"
#include "transport.h"

#define ACCEPT_BATCH 64
#define UPGRADE_READ 4096

typedef struct upgrade upgrade;

struct listener {
        listener *next;
        server *srv;
        int fd;
        wt_framing framing;
        char *name;
        char *unix_path; /* a socket file we created, removed at exit */
        dev_t unix_dev;
        ino_t unix_ino;
        sd_event_source *src;
        upgrade *upgrades; /* connections in the HTTP upgrade phase */
};

struct upgrade {
        upgrade *next, *prev;
        listener *l;
        int fd;
        http_upgrade_parser *parser;
        sd_event_source *io, *timer;
        uint64_t accepted_usec;
        char peer[128];
};

/* ---- peer names ---------------------------------------------------------- */

static void format_peer(int fd, char *out, size_t outlen) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char host[INET6_ADDRSTRLEN];

        snprintf(out, outlen, "unknown");
        if (getpeername(fd, (struct sockaddr *) &ss, &sl) < 0)
                return;
        if (ss.ss_family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
                snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
        } else if (ss.ss_family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
                snprintf(out, outlen, "[%s]:%u", host, ntohs(in6->sin6_port));
        } else if (ss.ss_family == AF_UNIX) {
                struct ucred cred;
                socklen_t cl = sizeof(cred);
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
                        snprintf(out, outlen, "unix:pid=%d,uid=%u", (int) cred.pid, (unsigned) cred.uid);
                else
                        snprintf(out, outlen, "unix");
        }
}

/* ---- HTTP upgrade phase ------------------------------------------------- */

static void upgrade_free(upgrade *u) {
        if (u->prev)
                u->prev->next = u->next;
        else
                u->l->upgrades = u->next;
        if (u->next)
                u->next->prev = u->prev;
        u->io = sd_event_source_disable_unref(u->io);
        u->timer = sd_event_source_disable_unref(u->timer);
        http_upgrade_parser_free(u->parser);
        safe_close(u->fd);
        free(u);
}

/* Responses are a few hundred bytes: a fresh socket's buffer takes them whole. */
static int write_all(int fd, const char *s) {
        size_t len = strlen(s), off = 0;

        while (off < len) {
                ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                off += (size_t) n;
        }
        return 0;
}

static void upgrade_refuse(upgrade *u, int status, const char *body, const char *why) {
        _cleanup_free_ char *resp = NULL;
        char st[8];

        snprintf(st, sizeof(st), "%d", status);
        wlog_record(LOG_WARNING, "websocket upgrade refused", "peer", u->peer, "status", st, "error", why,
                    NULL);
        if (http_upgrade_response_error(status, body, &resp) >= 0)
                (void) write_all(u->fd, resp);
        (void) shutdown(u->fd, SHUT_WR);
        upgrade_free(u);
}

static bool upgrade_authorized(const upgrade *u, const http_upgrade_request *req) {
        const webttyd_config *cfg = u->l->srv->cfg;

        if (cfg->auth_token)
                return http_upgrade_bearer_ok(req->authorization, cfg->auth_token);
        return cfg->allow_unauthenticated; /* fail closed when neither is configured */
}

static void upgrade_complete(upgrade *u, const uint8_t *rest, size_t rest_len) {
        const http_upgrade_request *req = http_upgrade_parser_request(u->parser);
        server *srv = u->l->srv;
        _cleanup_free_ char *resp = NULL;
        const char *why = NULL;
        int fd, r;

        if (http_upgrade_validate(req, &why) < 0)
                return upgrade_refuse(u, 400, why, why);
        if (srv->draining)
                return upgrade_refuse(u, 503, "server is shutting down", "server is draining");
        if (!upgrade_authorized(u, req))
                return upgrade_refuse(u, 401, "unauthorized",
                                      req->authorization ? "invalid bearer token" : "missing bearer token");
        if (!http_upgrade_origin_ok(req->origin, req->host, srv->cfg->allowed_origins,
                                    srv->cfg->allow_unauthenticated))
                return upgrade_refuse(u, 403, "origin not allowed", "origin not allowed");
        if (http_upgrade_response_101(req->ws_key, &resp) < 0 || write_all(u->fd, resp) < 0) {
                upgrade_free(u);
                return;
        }
        /* epoll holds one registration per fd: drop ours before the session adds its own. */
        u->io = sd_event_source_disable_unref(u->io);
        fd = TAKE_FD(u->fd);
        r = session_start(srv, fd, WT_FRAMING_WS_SERVER, rest, rest_len, u->peer, u->accepted_usec);
        if (r < 0)
                wlog_errno(LOG_ERR, r, "failed to start a session for %s: %m", u->peer);
        upgrade_free(u);
}

static int on_upgrade_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        upgrade *u = userdata;
        uint8_t buf[UPGRADE_READ];
        size_t consumed = 0;
        ssize_t n;
        int r;

        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                upgrade_free(u);
                return 0;
        }
        r = http_upgrade_parser_feed(u->parser, buf, (size_t) n, &consumed);
        if (r == -E2BIG)
                upgrade_refuse(u, 400, "request header too large", "request header too large");
        else if (r < 0)
                upgrade_refuse(u, 400, "bad request", "malformed HTTP request");
        else if (r > 0)
                upgrade_complete(u, buf + consumed, (size_t) n - consumed);
        return 0;
}

static int on_upgrade_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        upgrade *u = userdata;

        wlog_record(LOG_INFO, "websocket upgrade timed out", "peer", u->peer, "error", "operation timeout",
                    NULL);
        upgrade_free(u);
        return 0;
}

static int upgrade_start(listener *l, int fd, uint64_t accepted_usec) {
        upgrade *u = calloc(1, sizeof(*u));
        int r;

        if (!u) {
                safe_close(fd);
                return -ENOMEM;
        }
        u->l = l;
        u->fd = fd;
        u->accepted_usec = accepted_usec;
        format_peer(fd, u->peer, sizeof(u->peer));
        u->next = l->upgrades;
        if (l->upgrades)
                l->upgrades->prev = u;
        l->upgrades = u;
        r = http_upgrade_parser_new(&u->parser);
        if (r >= 0)
                r = sd_event_add_io(l->srv->event, &u->io, fd, EPOLLIN, on_upgrade_io, u);
        /* The open deadline covers the upgrade too. */
        if (r >= 0)
                r = sd_event_add_time(l->srv->event, &u->timer, CLOCK_MONOTONIC,
                                      accepted_usec + l->srv->cfg->open_timeout_usec, 0, on_upgrade_timeout,
                                      u);
        if (r < 0)
                upgrade_free(u);
        return r;
}

/* ---- accept ------------------------------------------------------------- */

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        listener *l = userdata;
        uint64_t accepted_usec = 0;
        int r;

        (void) sd_event_now(l->srv->event, CLOCK_MONOTONIC, &accepted_usec);
        for (int i = 0; i < ACCEPT_BATCH; i++) {
                char peer[128];
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                wlog_errno(LOG_WARNING, -errno, "accept on %s failed: %m", l->name);
                        break;
                }
                if (l->framing == WT_FRAMING_WS_SERVER) {
                        (void) upgrade_start(l, cfd, accepted_usec);
                        continue;
                }
                if (l->srv->draining) {
                        safe_close(cfd); /* plain has no way to say 503 */
                        continue;
                }
                format_peer(cfd, peer, sizeof(peer));
                r = session_start(l->srv, cfd, WT_FRAMING_PLAIN, NULL, 0, peer, accepted_usec);
                if (r < 0)
                        wlog_errno(LOG_ERR, r, "failed to start a session for %s: %m", peer);
        }
        return 0;
}

/* ---- opening ------------------------------------------------------------ */

static int bind_url(const wt_url *url, int *ret_fd, char **ret_error) {
        struct sockaddr_storage ss;
        socklen_t sl;
        _cleanup_close_ int fd = -1;
        int one = 1, r;

        r = wt_url_sockaddr(url, &ss, &sl, ret_error);
        if (r < 0)
                return r;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (ss.ss_family == AF_UNIX) {
                /* Replace a stale socket, never another kind of file. */
                struct stat st;
                if (lstat(url->path, &st) == 0 && S_ISSOCK(st.st_mode))
                        (void) unlink(url->path);
        } else
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ss.ss_family == AF_UNIX) {
                mode_t old = umask(0177); /* socket created 0600 */
                r = bind(fd, (struct sockaddr *) &ss, sl);
                umask(old);
        } else
                r = bind(fd, (struct sockaddr *) &ss, sl);
        if (r < 0 || listen(fd, SOMAXCONN) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Name of a bound socket as a URL (with the real port when 0 was asked). */
static char *listener_name(int fd, const wt_url *url) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        wt_url u = *url;

        if (url->kind != WT_URL_UNIX && getsockname(fd, (struct sockaddr *) &ss, &sl) == 0)
                u.port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port
                                                       : ((struct sockaddr_in6 *) &ss)->sin6_port);
        return wt_url_format(&u);
}

static int listener_add(server *srv, int fd, wt_framing framing, char *name) {
        listener *l = calloc(1, sizeof(*l));
        int r;

        if (!l) {
                free(name);
                safe_close(fd);
                return -ENOMEM;
        }
        l->srv = srv;
        l->fd = fd;
        l->framing = framing;
        l->name = name;
        l->next = srv->listeners;
        srv->listeners = l;
        r = sd_event_add_io(srv->event, &l->src, fd, EPOLLIN, on_accept, l);
        if (r < 0)
                return wlog_errno(LOG_ERR, r, "failed to watch %s: %m", name);
        wlog_printf(LOG_INFO, "listening on %s", name);
        return 0;
}

static int adopt_inherited(server *srv, int n, char **names) {
        int r = 0;

        for (int i = 0; i < n && r >= 0; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *nm = names && names[i] ? names[i] : "";
                wt_framing fr = srv->cfg->bare_kind == WT_URL_WS ? WT_FRAMING_WS_SERVER : WT_FRAMING_PLAIN;
                char *name = NULL;

                /* FileDescriptorName=plain|websocket in the .socket unit overrides --transport. */
                if (strcmp(nm, "plain") == 0)
                        fr = WT_FRAMING_PLAIN;
                else if (strcmp(nm, "websocket") == 0 || strcmp(nm, "ws") == 0)
                        fr = WT_FRAMING_WS_SERVER;
                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        r = wlog_errno(LOG_ERR, -EBADF, "inherited fd %d is not a listening stream socket",
                                       fd);
                        break;
                }
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                if (asprintf(&name, "fd:%d(%s,%s)", fd, nm[0] ? nm : "socket",
                             fr == WT_FRAMING_PLAIN ? "plain" : "websocket") < 0)
                        name = NULL;
                r = listener_add(srv, fd, fr, name ? name : strdup("inherited"));
        }
        return r;
}

/* Remembers which file we bound so that exit removes it, unless it has been
 * replaced by someone else meanwhile. */
static void listener_own_socket_file(listener *l, const char *path) {
        struct stat st;

        if (stat(path, &st) < 0 || !(l->unix_path = strdup(path)))
                return;
        l->unix_dev = st.st_dev;
        l->unix_ino = st.st_ino;
}

static void listener_remove_socket_file(listener *l) {
        struct stat st;

        if (l->unix_path && lstat(l->unix_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
            st.st_dev == l->unix_dev && st.st_ino == l->unix_ino)
                (void) unlink(l->unix_path);
        free(l->unix_path);
        l->unix_path = NULL;
}

int listeners_open(server *srv, const wt_url *urls, size_t n_urls, int n_inherited, char **fd_names) {
        int r;

        if (n_inherited > 0) {
                r = adopt_inherited(srv, n_inherited, fd_names);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_urls; i++) {
                _cleanup_free_ char *err = NULL, *shown = wt_url_format(&urls[i]);
                int fd = -1;
                r = bind_url(&urls[i], &fd, &err);
                if (r < 0) {
                        fprintf(stderr, "webttyd: failed to listen on %s: %s\n", shown ? shown : "?",
                                err ? err : strerror(-r));
                        return r;
                }
                r = listener_add(srv, fd,
                                 urls[i].kind == WT_URL_WS ? WT_FRAMING_WS_SERVER : WT_FRAMING_PLAIN,
                                 listener_name(fd, &urls[i]));
                if (r < 0)
                        return r;
                if (urls[i].kind == WT_URL_UNIX)
                        listener_own_socket_file(srv->listeners, urls[i].path);
        }
        return 0;
}

void listeners_free(server *srv) {
        while (srv->listeners) {
                listener *l = srv->listeners;
                srv->listeners = l->next;
                while (l->upgrades)
                        upgrade_free(l->upgrades);
                l->src = sd_event_source_disable_unref(l->src);
                safe_close(l->fd);
                listener_remove_socket_file(l);
                free(l->name);
                free(l);
        }
}
