/* libFuzzer target for lib/transport.c's WebSocket side (and the wslay
 * configuration behind it): the input is what a client sends after the HTTP
 * upgrade.
 *
 * A WT_FRAMING_WS_SERVER wt_conn (read limit 16 KiB) is made over one end of
 * a socketpair. The input reaches it either as the `initial` bytes (bytes read
 * past the upgrade) or through the socket; then the peer shuts down its
 * sending side, so EOF always ends the run. The loop is run with
 * sd_event_run(e, 0) until idle, draining what the server writes and checking
 * it is well-formed server framing that echoes what was delivered.
 *
 * Each delivered message is echoed, and its first byte may ask for more:
 * 'P' pause reading (resumed from a defer source), 'C' start the close
 * handshake, 'F' free the conn from inside on_message, 'A' abort it, 'W' ask
 * for on_writable. Invariants: no callback after on_end or abort, on_end at
 * most once, and the run ends (on_end, free or abort) in bounded steps. */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "transport.h"
#include "wmsg.h"

#define FUZZ_MAX_INPUT (256u * 1024u)
#define MAX_MESSAGE (16u * 1024u)
#define MAX_STEPS 200000
#define ECHO_MAX 4096 /* messages remembered for the echo check */

#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

typedef struct echo {
        uint8_t *data;
        size_t len;
} echo;

typedef struct run {
        sd_event *event;
        sd_event_source *resume;
        wt_conn *conn;
        bool ended, freed, aborted, closing;
        unsigned messages;

        /* messages echoed, in order, for checking the server's output */
        echo echoes[ECHO_MAX];
        size_t n_echoes, next_echo;
        bool echo_overflow;

        /* the peer's view of the server's output */
        uint8_t *out;
        size_t out_len, out_cap;
        bool close_seen;
} run;

static int on_resume(sd_event_source *s, void *userdata) {
        run *r = userdata;

        r->resume = sd_event_source_disable_unref(r->resume);
        if (r->conn && !r->ended && !r->aborted)
                (void) wt_conn_pause_reading(r->conn, false);
        return 0;
}

static void on_message(wt_conn *c, const uint8_t *buf, size_t len, void *userdata) {
        run *r = userdata;

        CHECK(c == r->conn);
        CHECK(!r->ended && !r->freed && !r->aborted);
        CHECK(len <= MAX_MESSAGE);
        CHECK(len == 0 || buf);
        r->messages++;

        /* What the daemon does with every message. */
        {
                Webtty__Message *m = wmsg_unpack(buf, len, NULL, 0);

                if (m)
                        (void) wmsg_payload_name(m);
                wmsg_free(m);
        }

        if (!r->closing && wt_conn_send(c, buf, len) == 0) {
                if (r->n_echoes < ECHO_MAX) {
                        echo *e = &r->echoes[r->n_echoes];

                        e->data = malloc(len ? len : 1);
                        CHECK(e->data);
                        if (len)
                                memcpy(e->data, buf, len);
                        e->len = len;
                        r->n_echoes++;
                } else
                        r->echo_overflow = true;
        }

        switch (len > 0 ? buf[0] : 0) {
        case 'P':
                (void) wt_conn_pause_reading(c, true);
                if (!r->resume)
                        CHECK(sd_event_add_defer(r->event, &r->resume, on_resume, r) >= 0);
                break;
        case 'C':
                r->closing = true;
                (void) wt_conn_close(c, 1000, "finished");
                CHECK(wt_conn_send(c, buf, len) == -EPIPE);
                break;
        case 'F':
                r->conn = wt_conn_free(c);
                r->freed = true;
                break;
        case 'A':
                wt_conn_abort(c);
                r->aborted = true;
                break;
        case 'W':
                wt_conn_want_writable(c);
                break;
        default:
                break;
        }
}

static void on_end(wt_conn *c, int res, const char *why, void *userdata) {
        run *r = userdata;

        CHECK(c == r->conn);
        CHECK(!r->ended && !r->freed && !r->aborted);
        CHECK(res <= 0);
        r->ended = true;
        CHECK(wt_conn_send(c, (const uint8_t *) "x", 1) == -EPIPE);
        if (why)
                CHECK(strlen(why) < 256);
}

static void on_writable(wt_conn *c, void *userdata) {
        run *r = userdata;

        CHECK(c == r->conn);
        CHECK(!r->freed && !r->aborted);
}

static const wt_conn_ops ops = {
        .on_message = on_message,
        .on_end = on_end,
        .on_writable = on_writable,
};

/* Consumes complete frames from r->out: server frames are unmasked, final,
 * binary (our echoes, in order), pong, or one close (then nothing more). */
static void check_output(run *r) {
        size_t off = 0;

        for (;;) {
                const uint8_t *p = r->out + off;
                size_t left = r->out_len - off, hl = 2;
                uint64_t len;
                uint8_t op;

                if (left < 2)
                        break;
                len = p[1] & 0x7f;
                if (len == 126)
                        hl = 4;
                else if (len == 127)
                        hl = 10;
                if (left < hl)
                        break;
                if (len == 126)
                        len = (uint64_t) p[2] << 8 | p[3];
                else if (len == 127) {
                        len = 0;
                        for (int i = 2; i < 10; i++)
                                len = len << 8 | p[i];
                }
                if (left - hl < len)
                        break;

                CHECK(!r->close_seen);
                CHECK(!(p[1] & 0x80));        /* not masked */
                CHECK((p[0] & 0xf0) == 0x80); /* FIN, no RSV */
                op = p[0] & 0x0f;
                switch (op) {
                case 0x2:
                        if (r->next_echo < r->n_echoes) {
                                echo *e = &r->echoes[r->next_echo++];

                                CHECK(e->len == len);
                                CHECK(len == 0 || memcmp(e->data, p + hl, len) == 0);
                        } else
                                CHECK(r->echo_overflow);
                        break;
                case 0x8:
                        CHECK(len != 1 && len <= 125);
                        r->close_seen = true;
                        break;
                case 0xa:
                        CHECK(len <= 125);
                        break;
                default:
                        CHECK(!"unexpected opcode from the server");
                }
                off += hl + (size_t) len;
        }
        memmove(r->out, r->out + off, r->out_len - off);
        r->out_len -= off;
}

/* Reads what the server wrote; returns true if anything came. */
static bool drain_peer(run *r, int peer) {
        bool any = false;

        for (;;) {
                ssize_t n;

                if (r->out_cap - r->out_len < 65536) {
                        uint8_t *o = realloc(r->out, r->out_cap + 262144);

                        CHECK(o);
                        r->out = o;
                        r->out_cap += 262144;
                }
                n = read(peer, r->out + r->out_len, r->out_cap - r->out_len);
                if (n <= 0)
                        break;
                r->out_len += (size_t) n;
                any = true;
                check_output(r);
        }
        return any;
}

static void one_run(const uint8_t *data, size_t size, size_t initial_len) {
        run r = {0};
        const uint8_t *rest = data + initial_len;
        size_t rest_len = size - initial_len;
        bool shut = false;
        int sv[2], fd, steps = 0;

        if (sd_event_new(&r.event) < 0)
                return;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
                sd_event_unref(r.event);
                return;
        }
        fd = sv[0];
        if (wt_conn_new(r.event, fd, WT_FRAMING_WS_SERVER, MAX_MESSAGE, &ops, &r, data, initial_len,
                        &r.conn) < 0) {
                close(sv[0]);
                close(sv[1]);
                sd_event_unref(r.event);
                return;
        }

        for (;;) {
                int k;

                /* The peer writes what the socket takes, then hangs up its side. */
                while (rest_len > 0) {
                        ssize_t n = send(sv[1], rest, rest_len, MSG_NOSIGNAL);

                        if (n <= 0)
                                break;
                        rest += n;
                        rest_len -= (size_t) n;
                }
                if (rest_len == 0 && !shut) {
                        (void) shutdown(sv[1], SHUT_WR);
                        shut = true;
                }
                k = sd_event_run(r.event, 0);
                CHECK(k >= 0);
                if (drain_peer(&r, sv[1]))
                        k = 1;
                if (k == 0 && shut)
                        break;
                if (k == 0 && rest_len > 0 && (r.ended || r.freed || r.aborted))
                        break; /* nobody reads any more */
                CHECK(++steps < MAX_STEPS);
        }

        /* EOF was delivered, so the conn must have come to an end. */
        CHECK(r.ended || r.freed || r.aborted);

        r.resume = sd_event_source_disable_unref(r.resume);
        if (!r.freed)
                r.conn = wt_conn_free(r.conn);
        close(sv[1]);
        for (size_t i = 0; i < r.n_echoes; i++)
                free(r.echoes[i].data);
        free(r.out);
        sd_event_unref(r.event);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > FUZZ_MAX_INPUT)
                return 0;
        /* The whole input read past the upgrade, then all of it on the socket. */
        one_run(data, size, size);
        one_run(data, size, 0);
        /* Part of it past the upgrade, the rest on the socket. */
        if (size > 1)
                one_run(data, size, size / 2);
        return 0;
}
