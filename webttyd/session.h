/* One WebTTY session (spec 4.1): from the accepted transport through Open,
 * the child process and its streams, to Close and the close handshake.
 * Sessions link themselves into server->sessions and unlink when freed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

typedef struct server server;
typedef struct session session;

/* Takes ownership of fd (closed on failure too). initial holds bytes
 * already read past an HTTP upgrade. peer is a printable address.
 * accepted_usec (CLOCK_MONOTONIC) starts the open deadline. */
int session_start(server *srv, int fd, wt_framing framing, const uint8_t *initial, size_t initial_len,
                  const char *peer, uint64_t accepted_usec);

session *session_next(session *se);

/* The server is draining: signal the child, or end a session that has none. */
void session_drain(session *se);
/* The shutdown timeout expired: kill whatever is left of the child. */
void session_kill(session *se);
/* Frees every session at exit (children killed). */
void session_free_all(server *srv);
