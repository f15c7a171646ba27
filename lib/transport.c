/* One WebTTY connection: plain length-prefix or WebSocket framing over a
 * non-blocking socket (see transport.h). */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>
#include <wslay/wslay.h>

#include "lpframe.h"
#include "macro.h"

#define READ_CHUNK (256u * 1024u)   /* bytes per read(2) for plain framing */
#define READ_BUDGET (1024u * 1024u) /* bytes per wake-up, so one peer cannot starve others */

typedef struct txbuf {
        struct txbuf *next;
        size_t len, off;
        uint8_t data[];
} txbuf;

typedef struct held_msg {
        struct held_msg *next;
        size_t len;
        uint8_t data[];
} held_msg;

struct wt_conn {
        sd_event *event;
        sd_event_source *io;
        sd_event_source *defer;
        int fd;
        wt_framing framing;
        size_t max_message;
        const wt_conn_ops *ops;
        void *userdata;

        /* plain receive buffer: rbuf[roff .. rlen) not yet parsed */
        uint8_t *rbuf;
        size_t rcap, rlen, roff;

        /* WebSocket */
        wslay_event_context_ptr ws;
        uint8_t *initial; /* staging: bytes past the HTTP upgrade, then socket reads */
        size_t initial_len, initial_off;
        size_t ws_read_bytes;            /* read in the current wake-up */
        held_msg *held_head, *held_tail; /* received while reading is paused */

        /* plain send queue */
        txbuf *tx_head, *tx_tail;
        size_t tx_bytes;

        size_t low_watermark;
        bool want_writable;
        bool read_paused;
        bool closing;       /* close handshake started by us */
        bool close_pending; /* WebSocket close frame waiting for the data queue to drain */
        uint16_t close_code;
        char close_reason[123]; /* a close frame has room for 123 bytes of reason */
        bool ended;             /* reading is over; on_end pending or delivered */
        bool end_notified;
        bool read_eof; /* WebSocket recv callback saw EOF/error */
        int read_errno;
        int end_r;
        char end_why[256];
        unsigned dispatch_depth;
        bool free_pending;
};

static void conn_update_events(wt_conn *c);
static void conn_schedule_defer(wt_conn *c);
static void conn_end(wt_conn *c, int r, const char *fmt, ...) _printf_(3, 4);
static void conn_really_free(wt_conn *c);

const char *wt_conn_transport(const wt_conn *c) {
        return c->framing == WT_FRAMING_PLAIN ? "plain" : "websocket";
}

int wt_conn_fd(const wt_conn *c) {
        return c->fd;
}

static bool is_ws(const wt_conn *c) {
        return c->framing != WT_FRAMING_PLAIN;
}

size_t wt_conn_queued(const wt_conn *c) {
        if (is_ws(c) && c->ws)
                return wslay_event_get_queued_msg_length(c->ws);
        return c->tx_bytes;
}

void wt_conn_set_low_watermark(wt_conn *c, size_t bytes) {
        c->low_watermark = bytes;
}

void wt_conn_want_writable(wt_conn *c) {
        c->want_writable = true;
        conn_update_events(c);
}

/* ---- ending ------------------------------------------------------------ */

static int on_defer(sd_event_source *s, void *userdata);

static void conn_schedule_defer(wt_conn *c) {
        if (!c->defer) {
                if (sd_event_add_defer(c->event, &c->defer, on_defer, c) < 0)
                        return;
        }
        (void) sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

static void conn_end(wt_conn *c, int r, const char *fmt, ...) {
        va_list ap;

        if (c->ended)
                return;
        c->ended = true;
        c->end_r = r;
        c->end_why[0] = '\0';
        if (fmt) {
                va_start(ap, fmt);
                vsnprintf(c->end_why, sizeof(c->end_why), fmt, ap);
                va_end(ap);
        }
        conn_update_events(c);
        conn_schedule_defer(c);
}

/* ---- sending ----------------------------------------------------------- */

static int plain_flush(wt_conn *c) {
        while (c->tx_head) {
                txbuf *b = c->tx_head;
                ssize_t n = send(c->fd, b->data + b->off, b->len - b->off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                b->off += (size_t) n;
                c->tx_bytes -= (size_t) n;
                if (b->off < b->len)
                        return 0;
                c->tx_head = b->next;
                if (!c->tx_head)
                        c->tx_tail = NULL;
                free(b);
        }
        return 0;
}

static int plain_enqueue(wt_conn *c, const struct iovec *iov, size_t n, size_t skip) {
        size_t total = 0, o = 0;
        txbuf *b;

        for (size_t i = 0; i < n; i++)
                total += iov[i].iov_len;
        total -= skip;
        b = malloc(sizeof(*b) + total);
        if (!b)
                return -ENOMEM;
        b->next = NULL;
        b->len = total;
        b->off = 0;
        for (size_t i = 0; i < n; i++) {
                const uint8_t *p = iov[i].iov_base;
                size_t l = iov[i].iov_len;
                if (skip >= l) {
                        skip -= l;
                        continue;
                }
                memcpy(b->data + o, p + skip, l - skip);
                o += l - skip;
                skip = 0;
        }
        if (c->tx_tail)
                c->tx_tail->next = b;
        else
                c->tx_head = b;
        c->tx_tail = b;
        c->tx_bytes += total;
        return 0;
}

static int plain_sendv(wt_conn *c, const struct iovec *iov, size_t n) {
        struct iovec v[9];
        uint8_t hdr[LPFRAME_HEADER];
        size_t total = 0, len = 0;
        ssize_t w = 0;

        if (n > ELEMENTSOF(v) - 1)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                len += iov[i].iov_len;
        if (len > UINT32_MAX)
                return -EMSGSIZE;
        lpframe_header(hdr, (uint32_t) len);
        v[0] = (struct iovec){.iov_base = hdr, .iov_len = sizeof(hdr)};
        memcpy(v + 1, iov, n * sizeof(*iov));
        total = len + sizeof(hdr);
        if (!c->tx_head) {
                struct msghdr mh = {.msg_iov = v, .msg_iovlen = n + 1};
                w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                return -errno;
                        w = 0;
                }
        }
        if ((size_t) w == total)
                return 0;
        return plain_enqueue(c, v, n + 1, (size_t) w);
}

static int ws_flush(wt_conn *c) {
        if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) < 0)
                return c->read_errno ? -c->read_errno : -EPIPE;
        /* Our close frame goes out only after every message queued before it:
         * wslay sends control frames ahead of data and stops writing after a
         * close, which would drop the end of the output, eos and Close. */
        if (c->close_pending && !wslay_event_want_write(c->ws)) {
                c->close_pending = false;
                (void) wslay_event_queue_close(c->ws, c->close_code, (const uint8_t *) c->close_reason,
                                               strlen(c->close_reason));
                if (wslay_event_send(c->ws) < 0)
                        return c->read_errno ? -c->read_errno : -EPIPE;
        }
        return 0;
}

static int conn_flush(wt_conn *c) {
        return is_ws(c) ? ws_flush(c) : plain_flush(c);
}

static void conn_after_flush(wt_conn *c) {
        if (c->want_writable && wt_conn_queued(c) <= c->low_watermark && c->ops->on_writable) {
                c->want_writable = false;
                c->ops->on_writable(c, c->userdata);
        }
}

int wt_conn_sendv(wt_conn *c, const struct iovec *iov, size_t n) {
        int r;

        if (c->closing || c->end_notified || c->fd < 0)
                return -EPIPE;
        if (is_ws(c)) {
                _cleanup_free_ uint8_t *flat = NULL;
                struct wslay_event_msg m = {.opcode = WSLAY_BINARY_FRAME};
                size_t len = 0, o = 0;
                if (n == 1) {
                        m.msg = iov[0].iov_base;
                        m.msg_length = iov[0].iov_len;
                } else {
                        for (size_t i = 0; i < n; i++)
                                len += iov[i].iov_len;
                        flat = malloc(len ? len : 1);
                        if (!flat)
                                return -ENOMEM;
                        for (size_t i = 0; i < n; i++) {
                                memcpy(flat + o, iov[i].iov_base, iov[i].iov_len);
                                o += iov[i].iov_len;
                        }
                        m.msg = flat;
                        m.msg_length = len;
                }
                if (wslay_event_queue_msg(c->ws, &m) < 0)
                        return -EPIPE;
                r = ws_flush(c);
        } else
                r = plain_sendv(c, iov, n);
        if (r < 0) {
                conn_end(c, r, "write: %s", strerror(-r));
                return r;
        }
        conn_update_events(c);
        return 0;
}

int wt_conn_send(wt_conn *c, const uint8_t *buf, size_t len) {
        struct iovec v = {.iov_base = (void *) buf, .iov_len = len};
        return wt_conn_sendv(c, &v, 1);
}

/* ---- receiving: plain -------------------------------------------------- */

static bool conn_stop_dispatch(const wt_conn *c) {
        return c->ended || c->free_pending || c->read_paused;
}

/* Delivers complete frames from rbuf. Returns <0 on a framing error. */
static int plain_parse(wt_conn *c) {
        while (!conn_stop_dispatch(c)) {
                const uint8_t *msg;
                size_t n;
                int r = lpframe_parse(c->rbuf + c->roff, c->rlen - c->roff, c->max_message, &msg, &n);
                if (r < 0) {
                        conn_end(c, r, "plain WebTTY message size %zu exceeds read limit %zu", n,
                                 c->max_message);
                        return r;
                }
                if (r == 0)
                        break;
                c->roff += LPFRAME_HEADER + n;
                c->ops->on_message(c, msg, n, c->userdata);
        }
        if (c->roff == c->rlen)
                c->rlen = c->roff = 0;
        return 0;
}

/* Makes room for at least `want` more bytes, compacting first. */
static int plain_reserve(wt_conn *c, size_t want) {
        size_t need;
        uint8_t *n;

        if (c->roff > 0) {
                memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
                c->rlen -= c->roff;
                c->roff = 0;
        }
        need = c->rlen + want;
        if (need <= c->rcap)
                return 0;
        n = realloc(c->rbuf, need);
        if (!n)
                return -ENOMEM;
        c->rbuf = n;
        c->rcap = need;
        return 0;
}

/* Free the receive buffer of an idle connection so idle sessions stay small. */
static void plain_shrink(wt_conn *c) {
        if (c->rlen == 0 && c->rcap > 0) {
                free(c->rbuf);
                c->rbuf = NULL;
                c->rcap = 0;
        }
}

static void plain_read(wt_conn *c) {
        size_t budget = READ_BUDGET;

        while (budget > 0 && !conn_stop_dispatch(c)) {
                size_t want = READ_CHUNK;
                ssize_t n;

                const uint8_t *msg;
                size_t fl;

                /* Read a whole large frame at once when its header says so. */
                if (lpframe_parse(c->rbuf + c->roff, c->rlen - c->roff, c->max_message, &msg, &fl) == 0 &&
                    fl > 0)
                        want = MAX(want, fl + LPFRAME_HEADER - (c->rlen - c->roff));
                if (plain_reserve(c, want) < 0) {
                        conn_end(c, -ENOMEM, "out of memory");
                        return;
                }
                n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        conn_end(c, -errno, "read: %s", strerror(errno));
                        return;
                }
                if (n == 0) {
                        conn_end(c, 0, NULL);
                        return;
                }
                c->rlen += (size_t) n;
                budget -= MIN(budget, (size_t) n);
                if (plain_parse(c) < 0)
                        return;
        }
        if (!c->ended)
                plain_shrink(c);
}

/* ---- receiving: WebSocket ---------------------------------------------- */

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *userdata) {
        wt_conn *c = userdata;
        ssize_t n;

        if (c->read_paused || c->free_pending) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (c->initial_off == c->initial_len) {
                /* wslay asks for at most 4 KiB at a time; read big chunks into a
                 * staging buffer so a bulk stream costs few system calls. */
                if (c->ws_read_bytes >= READ_BUDGET) {
                        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                        return -1;
                }
                if (!c->initial && !(c->initial = malloc(READ_CHUNK)))
                        n = -1, errno = ENOMEM;
                else
                        n = read(c->fd, c->initial, READ_CHUNK);
                if (n > 0) {
                        c->initial_len = (size_t) n;
                        c->initial_off = 0;
                        c->ws_read_bytes += (size_t) n;
                }
        } else
                n = 1;
        if (n > 0) {
                size_t k = MIN(len, c->initial_len - c->initial_off);
                memcpy(buf, c->initial + c->initial_off, k);
                c->initial_off += k;
                return (ssize_t) k;
        }
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                        return -1;
                }
                c->read_errno = errno;
        }
        if (n <= 0) {
                c->read_eof = true;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *userdata) {
        wt_conn *c = userdata;
        ssize_t n = send(c->fd, data, len,
                         MSG_NOSIGNAL | MSG_DONTWAIT | (flags & WSLAY_MSG_MORE ? MSG_MORE : 0));

        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                else {
                        c->read_errno = errno;
                        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                }
                return -1;
        }
        return n;
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *userdata) {
        randombytes_buf(buf, len);
        return 0;
}

static void ws_hold(wt_conn *c, const uint8_t *msg, size_t len) {
        held_msg *h = malloc(sizeof(*h) + len);

        if (!h) {
                conn_end(c, -ENOMEM, "out of memory");
                return;
        }
        h->next = NULL;
        h->len = len;
        if (len > 0) /* an empty message may come with msg == NULL */
                memcpy(h->data, msg, len);
        if (c->held_tail)
                c->held_tail->next = h;
        else
                c->held_head = h;
        c->held_tail = h;
}

static void ws_on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                         void *userdata) {
        wt_conn *c = userdata;

        if (c->ended || c->free_pending)
                return;
        switch (arg->opcode) {
        case WSLAY_BINARY_FRAME:
                if (c->read_paused || c->held_head)
                        ws_hold(c, arg->msg, arg->msg_length);
                else
                        c->ops->on_message(c, arg->msg, arg->msg_length, c->userdata);
                break;
        case WSLAY_TEXT_FRAME:
                wslay_event_shutdown_read(ctx);
                conn_end(c, -EPROTO, "unexpected message type: %d", arg->opcode);
                break;
        case WSLAY_CONNECTION_CLOSE: {
                uint16_t code = arg->status_code;
                /* wslay queues the reply close frame itself. */
                if (code == WSLAY_CODE_NORMAL_CLOSURE || code == WSLAY_CODE_GOING_AWAY ||
                    code == WSLAY_CODE_ABNORMAL_CLOSURE || code == 0 || code == WSLAY_CODE_NO_STATUS_RCVD)
                        conn_end(c, 0, "websocket: close %u", code);
                else
                        conn_end(c, -ECONNRESET, "websocket: close %u", code);
                break;
        }
        default:
                break; /* ping/pong are answered by wslay */
        }
}

static void ws_deliver_held(wt_conn *c) {
        while (c->held_head && !conn_stop_dispatch(c)) {
                held_msg *h = c->held_head;
                c->held_head = h->next;
                if (!c->held_head)
                        c->held_tail = NULL;
                c->ops->on_message(c, h->data, h->len, c->userdata);
                free(h);
        }
}

static void ws_read(wt_conn *c) {
        int r;

        ws_deliver_held(c);
        if (conn_stop_dispatch(c))
                return;
        c->ws_read_bytes = 0;
        r = wslay_event_recv(c->ws);
        if (c->initial && c->initial_off == c->initial_len) {
                /* Idle connections keep no staging buffer. */
                free(c->initial);
                c->initial = NULL;
                c->initial_len = c->initial_off = 0;
        }
        if (c->ended || c->free_pending)
                return;
        if (c->read_eof) {
                if (c->read_errno)
                        conn_end(c, -c->read_errno, "read: %s", strerror(c->read_errno));
                else
                        conn_end(c, 0, NULL); /* EOF: expected end */
                return;
        }
        if (r < 0) {
                /* wslay's frame layer refused the input (e.g. a fragmented or
                 * oversized control frame): not a clean end. */
                conn_end(c, -EPROTO, "websocket: protocol error");
                return;
        }
        if (!wslay_event_get_read_enabled(c->ws)) {
                /* wslay queued a close frame for a protocol error: send it now,
                 * the peer may stay silent. */
                (void) ws_flush(c);
                if (wslay_event_get_status_code_sent(c->ws) == WSLAY_CODE_MESSAGE_TOO_BIG)
                        conn_end(c, -EMSGSIZE, "websocket: read limit exceeded (limit %zu)", c->max_message);
                else if (wslay_event_get_close_sent(c->ws))
                        conn_end(c, -EPROTO, "websocket: protocol error (close %u)",
                                 wslay_event_get_status_code_sent(c->ws));
        }
}

/* ---- event plumbing ---------------------------------------------------- */

static bool conn_wants_write(const wt_conn *c) {
        if (c->fd < 0)
                return false;
        if (is_ws(c))
                return c->ws && (wslay_event_want_write(c->ws) || c->close_pending) &&
                       wslay_event_get_write_enabled(c->ws);
        return c->tx_head != NULL;
}

static void conn_update_events(wt_conn *c) {
        uint32_t ev = 0;

        /* The queue may drain inside a send or a read; tell the owner from
         * the loop rather than from inside its own call. */
        if (c->want_writable && wt_conn_queued(c) <= c->low_watermark && !c->end_notified)
                conn_schedule_defer(c);
        if (!c->io)
                return;
        if (!c->ended && !c->read_paused)
                ev |= EPOLLIN;
        if (conn_wants_write(c))
                ev |= EPOLLOUT;
        if (ev == 0) {
                (void) sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_io_events(c->io, ev);
        (void) sd_event_source_set_enabled(c->io, SD_EVENT_ON);
}

/* After the close handshake is over on our side, release the socket. */
static void conn_maybe_finish_close(wt_conn *c) {
        if (c->fd < 0 || !c->ended || conn_wants_write(c))
                return;
        if (!c->closing && !(is_ws(c) && wslay_event_get_close_sent(c->ws)))
                return;
        c->io = sd_event_source_disable_unref(c->io);
        c->fd = safe_close(c->fd);
}

static void conn_enter(wt_conn *c) {
        c->dispatch_depth++;
}

/* Returns true if the conn was freed. */
static bool conn_leave(wt_conn *c) {
        if (--c->dispatch_depth == 0 && c->free_pending) {
                conn_really_free(c);
                return true;
        }
        return false;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        wt_conn *c = userdata;
        int r;

        conn_enter(c);
        if (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                r = conn_flush(c);
                if (r < 0)
                        conn_end(c, r, "write: %s", strerror(-r));
                else if (!c->free_pending)
                        conn_after_flush(c);
        }
        if (!c->free_pending && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->ended &&
            !c->read_paused) {
                if (is_ws(c))
                        ws_read(c);
                else
                        plain_read(c);
                /* Replies queued by wslay (pong, close) go out now. */
                if (!c->free_pending && is_ws(c) && (r = ws_flush(c)) < 0 && !c->ended)
                        conn_end(c, r, "write: %s", strerror(-r));
        }
        if (!c->free_pending) {
                conn_update_events(c);
                conn_maybe_finish_close(c);
        }
        conn_leave(c);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        wt_conn *c = userdata;

        conn_enter(c);
        conn_after_flush(c);
        if (c->free_pending) {
                conn_leave(c);
                return 0;
        }
        if (c->ended && !c->end_notified) {
                c->end_notified = true;
                conn_maybe_finish_close(c);
                if (c->ops->on_end)
                        c->ops->on_end(c, c->end_r, c->end_why[0] ? c->end_why : NULL, c->userdata);
        } else if (!c->ended && !c->read_paused) {
                /* Resumed: deliver what was buffered while paused. */
                if (is_ws(c))
                        ws_read(c); /* held messages, bytes past the upgrade, then the socket */
                else
                        (void) plain_parse(c);
                if (!c->free_pending) {
                        if (is_ws(c) && ws_flush(c) < 0 && !c->ended)
                                conn_end(c, -EPIPE, "write: %s", strerror(EPIPE));
                        conn_update_events(c);
                }
        }
        conn_leave(c);
        return 0;
}

int wt_conn_pause_reading(wt_conn *c, bool pause) {
        if (c->read_paused == pause)
                return 0;
        c->read_paused = pause;
        if (!pause)
                conn_schedule_defer(c);
        conn_update_events(c);
        return 0;
}

int wt_conn_close(wt_conn *c, uint16_t code, const char *reason) {
        int r = 0;

        if (c->closing || c->fd < 0)
                return 0;
        c->closing = true;
        if (is_ws(c) && !wslay_event_get_close_sent(c->ws)) {
                c->close_pending = true;
                c->close_code = code;
                snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
                r = ws_flush(c);
        } else if (!is_ws(c))
                r = plain_flush(c);
        if (r < 0 && !c->ended)
                conn_end(c, r, "write: %s", strerror(-r));
        conn_update_events(c);
        conn_maybe_finish_close(c);
        return 0;
}

void wt_conn_abort(wt_conn *c) {
        c->ended = c->end_notified = c->closing = true;
        c->io = sd_event_source_disable_unref(c->io);
        c->defer = sd_event_source_disable_unref(c->defer);
        c->fd = safe_close(c->fd);
}

/* ---- life cycle -------------------------------------------------------- */

static void socket_tune(int fd) {
        int one = 1;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);

        if (getsockname(fd, (struct sockaddr *) &ss, &sl) == 0 &&
            (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
                (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static const struct wslay_event_callbacks ws_callbacks = {
        .recv_callback = ws_recv_cb,
        .send_callback = ws_send_cb,
        .genmask_callback = ws_genmask_cb,
        .on_msg_recv_callback = ws_on_msg_cb,
};

int wt_conn_new(sd_event *event, int fd, wt_framing framing, size_t max_message, const wt_conn_ops *ops,
                void *userdata, const uint8_t *initial, size_t initial_len, wt_conn **ret) {
        wt_conn *c;
        int r, fl;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->fd = fd;
        c->framing = framing;
        c->max_message = max_message;
        c->ops = ops;
        c->userdata = userdata;
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                r = -errno;
                goto fail;
        }
        socket_tune(fd);
        if (is_ws(c)) {
                r = framing == WT_FRAMING_WS_SERVER
                            ? wslay_event_context_server_init(&c->ws, &ws_callbacks, c)
                            : wslay_event_context_client_init(&c->ws, &ws_callbacks, c);
                if (r < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                wslay_event_config_set_max_recv_msg_length(c->ws, max_message);
                if (initial_len > 0) {
                        /* Also the staging buffer ws_recv_cb() reads into later. */
                        c->initial = malloc(MAX(initial_len, (size_t) READ_CHUNK));
                        if (!c->initial) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        memcpy(c->initial, initial, initial_len);
                        c->initial_len = initial_len;
                }
        } else if (initial_len > 0) {
                if (plain_reserve(c, initial_len) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                memcpy(c->rbuf, initial, initial_len);
                c->rlen = initial_len;
        }
        r = sd_event_add_io(event, &c->io, fd, EPOLLIN, on_io, c);
        if (r < 0)
                goto fail;
        if (initial_len > 0)
                conn_schedule_defer(c);
        *ret = c;
        return 0;
fail:
        c->fd = -1; /* on failure the caller keeps the fd */
        conn_really_free(c);
        return r;
}

static void conn_really_free(wt_conn *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->defer = sd_event_source_disable_unref(c->defer);
        c->fd = safe_close(c->fd);
        if (c->ws)
                wslay_event_context_free(c->ws);
        while (c->tx_head) {
                txbuf *b = c->tx_head;
                c->tx_head = b->next;
                free(b);
        }
        while (c->held_head) {
                held_msg *h = c->held_head;
                c->held_head = h->next;
                free(h);
        }
        free(c->initial);
        free(c->rbuf);
        sd_event_unref(c->event);
        free(c);
}

wt_conn *wt_conn_free(wt_conn *c) {
        if (!c)
                return NULL;
        if (c->dispatch_depth > 0) {
                /* Inside one of our callbacks: stop everything now, free on return. */
                c->free_pending = true;
                c->io = sd_event_source_disable_unref(c->io);
                c->defer = sd_event_source_disable_unref(c->defer);
                return NULL;
        }
        conn_really_free(c);
        return NULL;
}
