/* Listening sockets: --listen addresses and sockets inherited from systemd
 * (LISTEN_FDS), the accept loop, and the HTTP upgrade phase of WebSocket
 * connections (bearer token, Origin, 503 while draining). */
#pragma once

#include <stddef.h>

#include "url.h"

typedef struct server server;
typedef struct listener listener;

/* Adopts the n_inherited sockets passed by systemd (framing from their
 * FileDescriptorName "plain"/"websocket", else --transport), binds every url,
 * and starts accepting. Logs "listening on <url>" for each. */
int listeners_open(server *srv, const wt_url *urls, size_t n_urls, int n_inherited, char **fd_names);
void listeners_free(server *srv);
