/* One WebTTY connection over a non-blocking stream socket, driven by sd-event.
 *
 * Framing is either the plain 4-byte big-endian length prefix (spec 2.3) or
 * WebSocket binary messages (spec 2.2, via wslay; the HTTP upgrade happens
 * before the connection is handed to this module). Each callback delivers or
 * sends exactly one protobuf Message.
 *
 * Ownership: the caller owns the wt_conn and frees it with wt_conn_free(),
 * which is safe from inside any callback (the free is deferred until the
 * callback returns). After on_end no further callbacks are made. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <systemd/sd-event.h>

typedef struct wt_conn wt_conn;

typedef enum wt_framing {
        WT_FRAMING_PLAIN,     /* length prefix, transcript name "plain" */
        WT_FRAMING_WS_SERVER, /* WebSocket, server side, "websocket" */
        WT_FRAMING_WS_CLIENT, /* WebSocket, client side (masks frames) */
} wt_framing;

typedef struct wt_conn_ops {
        /* One complete Message; buf is valid only during the call. */
        void (*on_message)(wt_conn *c, const uint8_t *buf, size_t len, void *userdata);
        /* The transport ended. r == 0: orderly (EOF, or WebSocket close 1000,
         * 1001 or 1006); r < 0: failure, why is the reference's text (e.g.
         * "plain WebTTY message size 9 exceeds read limit 4"). */
        void (*on_end)(wt_conn *c, int r, const char *why, void *userdata);
        /* The send queue has drained to the low watermark or below (only
         * after wt_conn_want_writable() was called since the last time). */
        void (*on_writable)(wt_conn *c, void *userdata);
} wt_conn_ops;

/* Takes ownership of fd (made non-blocking; TCP_NODELAY set on TCP sockets).
 * initial/initial_len are bytes already read past the HTTP upgrade, if any. */
int wt_conn_new(sd_event *event, int fd, wt_framing framing, size_t max_message, const wt_conn_ops *ops,
                void *userdata, const uint8_t *initial, size_t initial_len, wt_conn **ret);
wt_conn *wt_conn_free(wt_conn *c);

/* Sends one Message made of the concatenated iovecs. The bytes are copied
 * or written before return. Returns 0, or -EPIPE once the conn has ended or a
 * close was started, -EMSGSIZE above the 4 GiB framing limit. */
int wt_conn_sendv(wt_conn *c, const struct iovec *iov, size_t n);
int wt_conn_send(wt_conn *c, const uint8_t *buf, size_t len);

/* Bytes accepted by send but not yet written to the socket. */
size_t wt_conn_queued(const wt_conn *c);
void wt_conn_set_low_watermark(wt_conn *c, size_t bytes);
void wt_conn_want_writable(wt_conn *c);

/* Stop/restart reading from the socket (backpressure towards the peer). */
int wt_conn_pause_reading(wt_conn *c, bool pause);

/* Starts the close handshake after flushing what is queued: WebSocket sends a
 * close frame (code, reason) and waits for the peer's; plain sends nothing.
 * Either way on_end(0) follows when the peer closes or hangs up. */
int wt_conn_close(wt_conn *c, uint16_t code, const char *reason);
/* Closes the socket at once; no further callbacks. */
void wt_conn_abort(wt_conn *c);

const char *wt_conn_transport(const wt_conn *c); /* "websocket" or "plain" */
int wt_conn_fd(const wt_conn *c);

/* Calls packer(args..., &buf, &len) (one of the wmsg_pack_* helpers), sends
 * the result on conn and frees it. Evaluates to 0 or a negative errno. */
#define WT_SEND_PACKED(conn, packer, ...)                                                                   \
        ({                                                                                                  \
                uint8_t *_wb = NULL;                                                                        \
                size_t _wl = 0;                                                                             \
                int _wr = packer(__VA_ARGS__ __VA_OPT__(, ) & _wb, &_wl);                                   \
                if (_wr >= 0)                                                                               \
                        _wr = wt_conn_send((conn), _wb, _wl);                                               \
                free(_wb);                                                                                  \
                _wr;                                                                                        \
        })
