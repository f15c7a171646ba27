/* Endpoint addresses shared by the daemon's --listen and the client's --url:
 *   ws://HOST[:PORT][/path]   WebSocket (port 80 by default)
 *   tcp://HOST[:PORT]         plain length-prefixed stream (port 80 by default)
 *   unix:/PATH                plain length-prefixed stream over AF_UNIX
 *   HOST:PORT                 framing chosen by the caller (--transport)
 * IPv6 literals go in brackets: ws://[::1]:8080/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum wt_url_kind {
        WT_URL_WS,
        WT_URL_TCP,
        WT_URL_UNIX,
} wt_url_kind;

typedef struct wt_url {
        wt_url_kind kind;
        char *host; /* without brackets; NULL for unix */
        uint16_t port;
        char *path; /* WebSocket request path ("/" default) or unix socket path */
} wt_url;

/* Parses s. bare_kind is used for the HOST:PORT form. On error returns
 * -EINVAL and a malloc'd message naming the value in *ret_error. */
int wt_url_parse(const char *s, wt_url_kind bare_kind, wt_url *ret, char **ret_error);
void wt_url_done(wt_url *u);

/* Canonical text, e.g. "ws://127.0.0.1:8080/", "unix:/run/x.sock". */
char *wt_url_format(const wt_url *u);

/* The host[:port] for an HTTP Host header (brackets for IPv6, port omitted
 * when 80). malloc'd. */
char *wt_url_host_header(const wt_url *u);

/* Resolves to one socket address (numeric hosts and names via getaddrinfo).
 * Returns 0 or a negative errno with the resolver's text in *ret_error. */
int wt_url_sockaddr(const wt_url *u, struct sockaddr_storage *ret, socklen_t *ret_len, char **ret_error);
