/* Listening sockets: --listen addresses and sockets inherited from systemd
 * (LISTEN_FDS), the accept loop, and the HTTP upgrade phase of WebSocket
 * connections (bearer token, Origin, 503 while draining). */
#pragma once

#include <stddef.h>

#include "url.h"

typedef struct server server;
typedef struct listener listener;

/* Binds every url (or adopts inherited fds, whose framing follows
 * --transport) and starts accepting. Logs "listening on <url>". */
int listeners_open(server *srv, const wt_url *urls, size_t n_urls, int n_inherited);
void listeners_free(server *srv);
