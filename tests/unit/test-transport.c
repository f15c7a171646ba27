/* Unit tests for lib/transport.c with a real sd-event loop over
 * socketpair(AF_UNIX, SOCK_STREAM): plain framing and WebSocket (a server
 * conn against a client conn, or against hand-built frames), read limits,
 * EOF, bytes past the upgrade, pause/resume, backpressure, close, and
 * freeing the conn from inside its own callbacks (run under ASan to see the
 * last one prove anything). */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "lpframe.h"
#include "macro.h"
#include "transport.h"
#include "wmsg.h"

#define MIB (1024u * 1024u)
#define DEADLINE_SEC 20

#define EXPECT(cond, ...)                                                                                   \
        do {                                                                                                \
                if (!(cond))                                                                                \
                        ck_abort_msg(__VA_ARGS__);                                                          \
        } while (0)

/* ---- a recording endpoint ------------------------------------------------ */

typedef struct rmsg {
        size_t len;
        uint8_t *data;
} rmsg;

typedef struct endpoint {
        wt_conn *conn;
        rmsg *msgs;
        size_t n_msgs, cap;
        unsigned ends;
        int end_r;
        char end_why[256];
        bool end_why_null;
        unsigned writable;
        size_t msgs_at_end; /* messages seen when on_end came */

        /* behaviour */
        size_t pause_at; /* pause reading when n_msgs reaches this (0: never) */
        size_t free_at;  /* free the conn when n_msgs reaches this (0: never) */
        bool free_on_end;
        bool free_on_writable;
        bool send_in_on_message; /* reply with the same bytes */
} endpoint;

static void ep_on_message(wt_conn *c, const uint8_t *buf, size_t len, void *userdata) {
        endpoint *ep = userdata;
        rmsg *m;

        ck_assert_ptr_eq(c, ep->conn);
        ck_assert_uint_eq(ep->ends, 0);
        if (ep->n_msgs == ep->cap) {
                ep->cap = ep->cap ? 2 * ep->cap : 64;
                ep->msgs = realloc(ep->msgs, ep->cap * sizeof(*ep->msgs));
                ck_assert_ptr_nonnull(ep->msgs);
        }
        m = &ep->msgs[ep->n_msgs++];
        m->len = len;
        m->data = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(m->data);
        if (len)
                memcpy(m->data, buf, len);

        if (ep->send_in_on_message)
                ck_assert_int_eq(wt_conn_send(c, buf, len), 0);
        if (ep->pause_at && ep->n_msgs == ep->pause_at)
                ck_assert_int_eq(wt_conn_pause_reading(c, true), 0);
        if (ep->free_at && ep->n_msgs == ep->free_at) {
                /* buf must stay readable until we return. */
                ep->conn = wt_conn_free(c);
                ck_assert_uint_eq(m->len, len);
                if (len)
                        ck_assert_int_eq(memcmp(m->data, buf, len), 0);
        }
}

static void ep_on_end(wt_conn *c, int r, const char *why, void *userdata) {
        endpoint *ep = userdata;

        ck_assert_ptr_eq(c, ep->conn);
        ep->ends++;
        ep->end_r = r;
        ep->end_why_null = !why;
        snprintf(ep->end_why, sizeof(ep->end_why), "%s", why ? why : "");
        ep->msgs_at_end = ep->n_msgs;
        if (ep->free_on_end)
                ep->conn = wt_conn_free(c);
}

static void ep_on_writable(wt_conn *c, void *userdata) {
        endpoint *ep = userdata;

        ck_assert_ptr_eq(c, ep->conn);
        ep->writable++;
        if (ep->free_on_writable)
                ep->conn = wt_conn_free(c);
}

static const wt_conn_ops ep_ops = {
        .on_message = ep_on_message,
        .on_end = ep_on_end,
        .on_writable = ep_on_writable,
};

static void ep_done(endpoint *ep) {
        ep->conn = wt_conn_free(ep->conn);
        for (size_t i = 0; i < ep->n_msgs; i++)
                free(ep->msgs[i].data);
        free(ep->msgs);
        ep->msgs = NULL;
        ep->n_msgs = ep->cap = 0;
}

static void ep_open(endpoint *ep, sd_event *e, int fd, wt_framing framing, size_t max,
                    const uint8_t *initial, size_t initial_len) {
        ck_assert_int_eq(wt_conn_new(e, fd, framing, max, &ep_ops, ep, initial, initial_len, &ep->conn), 0);
        ck_assert_ptr_nonnull(ep->conn);
}

/* ---- loop and socket helpers -------------------------------------------- */

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Runs the loop until cond holds; fails the test after DEADLINE_SEC. */
#define RUN_UNTIL(e, cond)                                                                                  \
        do {                                                                                                \
                double _deadline = now_sec() + DEADLINE_SEC;                                                \
                while (!(cond) && now_sec() < _deadline)                                                    \
                        ck_assert_int_ge(sd_event_run((e), 10 * 1000), 0);                                  \
                ck_assert_msg((cond), "timed out waiting for %s", #cond);                                   \
        } while (0)

/* Runs the loop for about `ms` milliseconds. */
static void run_for(sd_event *e, unsigned ms) {
        double end = now_sec() + ms / 1000.0;

        while (now_sec() < end)
                ck_assert_int_ge(sd_event_run(e, 5 * 1000), 0);
}

static void new_pair(int sv[2]) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void set_nonblock(int fd) {
        int fl = fcntl(fd, F_GETFL);

        ck_assert_int_ge(fl, 0);
        ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* Writes all of buf to a raw fd, running the loop whenever the socket is
 * full. Returns false if the other end has gone (EPIPE/ECONNRESET). */
static bool raw_write_try(sd_event *e, int fd, const void *buf, size_t len) {
        const uint8_t *p = buf;
        double deadline = now_sec() + DEADLINE_SEC;

        set_nonblock(fd);
        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

                if (n < 0) {
                        if (errno == EPIPE || errno == ECONNRESET)
                                return false;
                        ck_assert_msg(errno == EAGAIN, "write: %s", strerror(errno));
                        ck_assert_msg(now_sec() < deadline, "raw write stuck");
                        ck_assert_int_ge(sd_event_run(e, 5 * 1000), 0);
                        continue;
                }
                p += n;
                len -= (size_t) n;
        }
        return true;
}

static void raw_write(sd_event *e, int fd, const void *buf, size_t len) {
        ck_assert_msg(raw_write_try(e, fd, buf, len), "write: %s", strerror(errno));
}

/* Reads exactly len bytes from a raw fd, running the loop while waiting. */
static void raw_read(sd_event *e, int fd, void *buf, size_t len) {
        uint8_t *p = buf;
        double deadline = now_sec() + DEADLINE_SEC;

        set_nonblock(fd);
        while (len > 0) {
                ssize_t n = read(fd, p, len);

                if (n < 0) {
                        ck_assert_msg(errno == EAGAIN, "read: %s", strerror(errno));
                        ck_assert_msg(now_sec() < deadline, "raw read stuck");
                        ck_assert_int_ge(sd_event_run(e, 5 * 1000), 0);
                        continue;
                }
                ck_assert_msg(n > 0, "unexpected EOF");
                p += n;
                len -= (size_t) n;
        }
}

static size_t raw_available(int fd) {
        uint8_t buf[4096];
        ssize_t n;

        set_nonblock(fd);
        n = recv(fd, buf, sizeof(buf), MSG_PEEK);
        return n > 0 ? (size_t) n : 0;
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed) {
        uint32_t x = seed * 2654435761u + 1;

        for (size_t i = 0; i < len; i++) {
                x = x * 1103515245u + 12345u;
                p[i] = (uint8_t) (x >> 16);
        }
}

static uint8_t *pattern(size_t len, unsigned seed) {
        uint8_t *p = malloc(len ? len : 1);

        ck_assert_ptr_nonnull(p);
        fill_pattern(p, len, seed);
        return p;
}

static void expect_msg(const endpoint *ep, size_t i, const void *data, size_t len) {
        ck_assert_msg(i < ep->n_msgs, "message %zu missing (have %zu)", i, ep->n_msgs);
        ck_assert_msg(ep->msgs[i].len == len, "message %zu: len %zu != %zu", i, ep->msgs[i].len, len);
        if (len)
                ck_assert_msg(memcmp(ep->msgs[i].data, data, len) == 0, "message %zu differs", i);
}

/* Sizes used for bulk exchanges: small, varint boundaries, chunk sizes, 1 MiB. */
static size_t bulk_size(size_t i) {
        static const size_t sizes[] = {0,    1,     2,     127,   128,    4095,   4096,
                                       4097, 16383, 16384, 65536, 262143, 262144, 262149};

        if (i % 20 == 19)
                return MIB;
        return sizes[i % ELEMENTSOF(sizes)] + i / ELEMENTSOF(sizes);
}

/* ---- plain ---------------------------------------------------------------- */

static void frame(uint8_t *out, const void *msg, uint32_t len) {
        lpframe_header(out, len);
        memcpy(out + LPFRAME_HEADER, msg, len);
}

/* Both directions, many messages, several of 1 MiB, while the loop runs. */
static void exchange(wt_framing fa, wt_framing fb) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint a = {0}, b = {0};
        const size_t n = 100;
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&a, e, sv[0], fa, 2 * MIB, NULL, 0);
        ep_open(&b, e, sv[1], fb, 2 * MIB, NULL, 0);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ uint8_t *p = pattern(bulk_size(i), (unsigned) i);
                _cleanup_free_ uint8_t *q = pattern(bulk_size(n - 1 - i), (unsigned) (1000 + i));

                ck_assert_int_eq(wt_conn_send(a.conn, p, bulk_size(i)), 0);
                ck_assert_int_eq(wt_conn_send(b.conn, q, bulk_size(n - 1 - i)), 0);
                /* Let some go out while more are queued. */
                if (i % 7 == 0)
                        (void) sd_event_run(e, 0);
        }
        RUN_UNTIL(e, a.n_msgs == n && b.n_msgs == n);
        RUN_UNTIL(e, wt_conn_queued(a.conn) == 0 && wt_conn_queued(b.conn) == 0);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ uint8_t *p = pattern(bulk_size(i), (unsigned) i);
                _cleanup_free_ uint8_t *q = pattern(bulk_size(n - 1 - i), (unsigned) (1000 + i));

                expect_msg(&b, i, p, bulk_size(i));
                expect_msg(&a, i, q, bulk_size(n - 1 - i));
        }
        ck_assert_uint_eq(a.ends, 0);
        ck_assert_uint_eq(b.ends, 0);

        /* One side goes away: the other sees an orderly end. */
        a.conn = wt_conn_free(a.conn);
        RUN_UNTIL(e, b.ends == 1);
        ck_assert_int_eq(b.end_r, 0);
        ck_assert_uint_eq(b.n_msgs, n);
        ep_done(&a);
        ep_done(&b);
}

START_TEST(test_plain_exchange) {
        exchange(WT_FRAMING_PLAIN, WT_FRAMING_PLAIN);
}
END_TEST

START_TEST(test_plain_wire_format) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint a = {0};
        uint8_t hdr[WMSG_DATA_HEADER_MAX], got[64];
        struct iovec iov[2];
        size_t h;
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&a, e, sv[0], WT_FRAMING_PLAIN, MIB, NULL, 0);
        ck_assert_str_eq(wt_conn_transport(a.conn), "plain");
        ck_assert_int_eq(wt_conn_fd(a.conn), sv[0]);

        /* Appendix B: Ack is 00 00 00 02 12 00 on the wire. */
        ck_assert_int_eq(WT_SEND_PACKED(a.conn, wmsg_pack_ack), 0);
        raw_read(e, sv[1], got, 6);
        ck_assert_mem_eq(got, "\x00\x00\x00\x02\x12\x00", 6);

        ck_assert_int_eq(WT_SEND_PACKED(a.conn, wmsg_pack_close, 7), 0);
        raw_read(e, sv[1], got, 8);
        ck_assert_mem_eq(got, "\x00\x00\x00\x04\x22\x02\x08\x07", 8);

        /* Gathered send: Data header + payload as two iovecs. */
        h = wmsg_data_header(hdr + sizeof(hdr), WEBTTY__DATA__TYPE__TYPE_STDOUT, 2);
        iov[0] = (struct iovec){.iov_base = hdr + sizeof(hdr) - h, .iov_len = h};
        iov[1] = (struct iovec){.iov_base = (void *) "hi", .iov_len = 2};
        ck_assert_int_eq(wt_conn_sendv(a.conn, iov, 2), 0);
        raw_read(e, sv[1], got, 12);
        ck_assert_mem_eq(got, "\x00\x00\x00\x08\x2a\x06\x08\x01\x12\x02\x68\x69", 12);

        /* An empty message is a bare zero header. */
        ck_assert_int_eq(wt_conn_send(a.conn, NULL, 0), 0);
        raw_read(e, sv[1], got, 4);
        ck_assert_mem_eq(got, "\x00\x00\x00\x00", 4);

        ck_assert_uint_eq(raw_available(sv[1]), 0);
        ep_done(&a);
        close(sv[1]);
}
END_TEST

static void expect_oversize(size_t max, uint32_t announced, const char *want) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint b = {0};
        uint8_t buf[6 + LPFRAME_HEADER + 8];
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&b, e, sv[1], WT_FRAMING_PLAIN, max, NULL, 0);

        /* One good frame (an empty message) first; then only the bad header
         * and a few bytes: the limit must trip without waiting for the body. */
        memset(buf, 0, LPFRAME_HEADER);
        lpframe_header(buf + LPFRAME_HEADER, announced);
        memset(buf + 2 * LPFRAME_HEADER, 0x41, 8);
        raw_write(e, sv[0], buf, 2 * LPFRAME_HEADER + 8);

        RUN_UNTIL(e, b.ends == 1);
        ck_assert_int_lt(b.end_r, 0);
        ck_assert_str_eq(b.end_why, want);
        ck_assert_uint_eq(b.msgs_at_end, 1);
        expect_msg(&b, 0, NULL, 0);
        run_for(e, 20);
        ck_assert_uint_eq(b.ends, 1);
        ck_assert_int_eq(wt_conn_send(b.conn, (const uint8_t *) "x", 1), -EPIPE);
        ep_done(&b);
        close(sv[0]);
}

START_TEST(test_plain_oversize) {
        expect_oversize(4, 9, "plain WebTTY message size 9 exceeds read limit 4");
        expect_oversize(MIB, MIB + 1, "plain WebTTY message size 1048577 exceeds read limit 1048576");
        expect_oversize(MIB, 0xffffffffu, "plain WebTTY message size 4294967295 exceeds read limit 1048576");
        expect_oversize(0, 1, "plain WebTTY message size 1 exceeds read limit 0");
}
END_TEST

START_TEST(test_plain_at_limit) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ uint8_t *p = pattern(MIB, 5);
        endpoint a = {0}, b = {0};
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&a, e, sv[0], WT_FRAMING_PLAIN, MIB, NULL, 0);
        ep_open(&b, e, sv[1], WT_FRAMING_PLAIN, MIB, NULL, 0);
        ck_assert_int_eq(wt_conn_send(a.conn, p, MIB), 0);
        ck_assert_int_eq(wt_conn_send(a.conn, p, MIB), 0);
        RUN_UNTIL(e, b.n_msgs == 2);
        expect_msg(&b, 0, p, MIB);
        expect_msg(&b, 1, p, MIB);
        ck_assert_uint_eq(b.ends, 0);
        ep_done(&a);
        ep_done(&b);
}
END_TEST

START_TEST(test_plain_eof) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint b = {0};
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&b, e, sv[1], WT_FRAMING_PLAIN, MIB, NULL, 0);
        raw_write(e, sv[0], "\x00\x00\x00\x02\x3a\x00\x00\x00\x00\x02\x12\x00", 12);
        close(sv[0]);
        RUN_UNTIL(e, b.ends == 1);
        ck_assert_int_eq(b.end_r, 0);
        ck_assert(b.end_why_null);
        ck_assert_uint_eq(b.msgs_at_end, 2);
        expect_msg(&b, 0, "\x3a\x00", 2);
        expect_msg(&b, 1, "\x12\x00", 2);
        run_for(e, 20);
        ck_assert_uint_eq(b.ends, 1);
        ep_done(&b);
}
END_TEST

START_TEST(test_plain_initial) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        uint8_t bytes[6 + 4 + 300];
        _cleanup_free_ uint8_t *big = pattern(300, 9);
        endpoint b = {0}, c = {0};
        int sv[2], sv2[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        frame(bytes, "\x12\x00", 2);
        frame(bytes + 6, big, 300);

        /* An Ack and the first half of a 300-byte frame were read past the
         * upgrade; the rest arrives on the socket. */
        new_pair(sv);
        ep_open(&b, e, sv[1], WT_FRAMING_PLAIN, MIB, bytes, 6 + 150);
        RUN_UNTIL(e, b.n_msgs == 1);
        expect_msg(&b, 0, "\x12\x00", 2);
        run_for(e, 20);
        ck_assert_uint_eq(b.n_msgs, 1);
        raw_write(e, sv[0], bytes + 6 + 150, sizeof(bytes) - 6 - 150);
        RUN_UNTIL(e, b.n_msgs == 2);
        expect_msg(&b, 1, big, 300);

        /* Only complete frames in initial, nothing ever on the socket. */
        new_pair(sv2);
        ep_open(&c, e, sv2[1], WT_FRAMING_PLAIN, MIB, bytes, sizeof(bytes));
        RUN_UNTIL(e, c.n_msgs == 2);
        expect_msg(&c, 0, "\x12\x00", 2);
        expect_msg(&c, 1, big, 300);
        ck_assert_uint_eq(c.ends, 0);

        /* An oversize frame in initial ends the conn. */
        {
                endpoint d = {0};
                int sv3[2];
                uint8_t badhdr[LPFRAME_HEADER];

                new_pair(sv3);
                lpframe_header(badhdr, 5);
                ep_open(&d, e, sv3[1], WT_FRAMING_PLAIN, 4, badhdr, sizeof(badhdr));
                RUN_UNTIL(e, d.ends == 1);
                ck_assert_int_lt(d.end_r, 0);
                ck_assert_str_eq(d.end_why, "plain WebTTY message size 5 exceeds read limit 4");
                ep_done(&d);
                close(sv3[0]);
        }

        ep_done(&b);
        ep_done(&c);
        close(sv[0]);
        close(sv2[0]);
}
END_TEST

/* Paused before anything arrives; the peer writes and then hangs up. */
static void pause_resume(wt_framing fb) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint a = {0}, b = {0};
        const size_t n = 50;
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&a, e, sv[0], fb == WT_FRAMING_PLAIN ? WT_FRAMING_PLAIN : WT_FRAMING_WS_CLIENT, MIB, NULL,
                0);
        ep_open(&b, e, sv[1], fb, MIB, NULL, 0);
        ck_assert_int_eq(wt_conn_pause_reading(b.conn, true), 0);
        ck_assert_int_eq(wt_conn_pause_reading(b.conn, true), 0);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ uint8_t *p = pattern(i * 37, (unsigned) i);

                ck_assert_int_eq(wt_conn_send(a.conn, p, i * 37), 0);
        }
        RUN_UNTIL(e, wt_conn_queued(a.conn) == 0);
        run_for(e, 50);
        ck_assert_uint_eq(b.n_msgs, 0);

        /* Resume; pause again from inside on_message after 10. */
        b.pause_at = 10;
        ck_assert_int_eq(wt_conn_pause_reading(b.conn, false), 0);
        ck_assert_uint_eq(b.n_msgs, 0); /* delivery happens from the loop */
        RUN_UNTIL(e, b.n_msgs == 10);
        run_for(e, 50);
        ck_assert_uint_eq(b.n_msgs, 10);

        /* The peer hangs up while we are paused: the end must come after all
         * the messages. */
        a.conn = wt_conn_free(a.conn);
        run_for(e, 20);
        ck_assert_uint_eq(b.ends, 0);
        ck_assert_int_eq(wt_conn_pause_reading(b.conn, false), 0);
        RUN_UNTIL(e, b.ends == 1);
        ck_assert_int_eq(b.end_r, 0);
        ck_assert_uint_eq(b.msgs_at_end, n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ uint8_t *p = pattern(i * 37, (unsigned) i);

                expect_msg(&b, i, p, i * 37);
        }
        ep_done(&a);
        ep_done(&b);
}

START_TEST(test_plain_pause_resume) {
        pause_resume(WT_FRAMING_PLAIN);
}
END_TEST

/* The peer stops reading: the queue grows, and on_writable comes once it
 * has drained to the low watermark. */
static void backpressure(wt_framing fa) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ uint8_t *p = pattern(MIB, 3), *sink = malloc(MIB);
        endpoint a = {0};
        size_t sent = 0, got = 0, count = 0;
        int sv[2];

        ck_assert_ptr_nonnull(sink);
        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&a, e, sv[0], fa, 2 * MIB, NULL, 0);
        set_nonblock(sv[1]);

        /* Nothing queued: on_writable is still reported, from the loop. */
        wt_conn_set_low_watermark(a.conn, 0);
        wt_conn_want_writable(a.conn);
        ck_assert_uint_eq(a.writable, 0);
        RUN_UNTIL(e, a.writable == 1);
        run_for(e, 20);
        ck_assert_uint_eq(a.writable, 1);

        while (wt_conn_queued(a.conn) < 4 * MIB) {
                ck_assert_int_eq(wt_conn_send(a.conn, p, MIB), 0);
                sent += MIB;
                count++;
                (void) sd_event_run(e, 0);
        }
        ck_assert_uint_gt(wt_conn_queued(a.conn), 0);
        wt_conn_set_low_watermark(a.conn, 64 * 1024);
        wt_conn_want_writable(a.conn);
        run_for(e, 50);
        ck_assert_uint_eq(a.writable, 1);
        ck_assert_uint_ge(wt_conn_queued(a.conn), 3 * MIB);

        /* Drain the peer. */
        {
                double deadline = now_sec() + DEADLINE_SEC;

                while (a.writable < 2 || wt_conn_queued(a.conn) > 0 || raw_available(sv[1]) > 0) {
                        ssize_t n = read(sv[1], sink, MIB);

                        if (n > 0)
                                got += (size_t) n;
                        else
                                ck_assert_int_ge(sd_event_run(e, 1000), 0);
                        ck_assert_msg(now_sec() < deadline, "drain stuck");
                }
        }
        ck_assert_uint_eq(a.writable, 2);
        /* WebSocket adds at most 10 bytes of header per message, plain 4. */
        if (fa == WT_FRAMING_PLAIN)
                ck_assert_uint_eq(got, sent + count * LPFRAME_HEADER);
        else
                ck_assert_uint_eq(got, sent + count * 10);
        ck_assert_uint_eq(a.ends, 0);

        /* on_writable is one-shot. */
        run_for(e, 20);
        ck_assert_uint_eq(a.writable, 2);

        /* Free from inside on_writable. */
        a.free_on_writable = true;
        wt_conn_want_writable(a.conn);
        RUN_UNTIL(e, a.writable == 3);
        ck_assert_ptr_null(a.conn);
        run_for(e, 20);
        ep_done(&a);
        close(sv[1]);
}

START_TEST(test_plain_backpressure) {
        backpressure(WT_FRAMING_PLAIN);
}
END_TEST

/* Many messages arrive in one read; the owner frees the conn from inside
 * on_message: no further callbacks, no use after free. */
static void free_in_on_message(wt_framing fb, const uint8_t *bytes, size_t len, size_t free_at,
                               bool initial) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint b = {.free_at = free_at};
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        if (initial)
                ep_open(&b, e, sv[1], fb, MIB, bytes, len);
        else {
                ep_open(&b, e, sv[1], fb, MIB, NULL, 0);
                raw_write(e, sv[0], bytes, len);
        }
        close(sv[0]);
        RUN_UNTIL(e, b.n_msgs == free_at);
        run_for(e, 30);
        ck_assert_ptr_null(b.conn);
        ck_assert_uint_eq(b.n_msgs, free_at);
        ck_assert_uint_eq(b.ends, 0);
        ep_done(&b);
}

static uint8_t *plain_frames(size_t n, size_t *ret_len) {
        uint8_t *buf = malloc(n * (LPFRAME_HEADER + 40));
        size_t o = 0;

        ck_assert_ptr_nonnull(buf);
        for (size_t i = 0; i < n; i++) {
                uint8_t m[40];

                fill_pattern(m, i % 40, (unsigned) i);
                frame(buf + o, m, (uint32_t) (i % 40));
                o += LPFRAME_HEADER + i % 40;
        }
        *ret_len = o;
        return buf;
}

START_TEST(test_plain_free_in_callbacks) {
        size_t len;
        _cleanup_free_ uint8_t *bytes = plain_frames(20, &len);

        free_in_on_message(WT_FRAMING_PLAIN, bytes, len, 1, false);
        free_in_on_message(WT_FRAMING_PLAIN, bytes, len, 2, false);
        free_in_on_message(WT_FRAMING_PLAIN, bytes, len, 20, false);
        free_in_on_message(WT_FRAMING_PLAIN, bytes, len, 3, true);

        /* Free from inside on_end. */
        {
                _cleanup_(sd_event_unrefp) sd_event *e = NULL;
                endpoint b = {.free_on_end = true};
                int sv[2];

                ck_assert_int_ge(sd_event_new(&e), 0);
                new_pair(sv);
                ep_open(&b, e, sv[1], WT_FRAMING_PLAIN, MIB, NULL, 0);
                close(sv[0]);
                RUN_UNTIL(e, b.ends == 1);
                ck_assert_ptr_null(b.conn);
                run_for(e, 20);
                ep_done(&b);
        }
}
END_TEST

/* A message sent from inside on_message goes out (echo). */
START_TEST(test_plain_send_from_callback) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint a = {0}, b = {.send_in_on_message = true};
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&a, e, sv[0], WT_FRAMING_PLAIN, MIB, NULL, 0);
        ep_open(&b, e, sv[1], WT_FRAMING_PLAIN, MIB, NULL, 0);
        for (unsigned i = 0; i < 30; i++) {
                _cleanup_free_ uint8_t *p = pattern(i * 1000, i);

                ck_assert_int_eq(wt_conn_send(a.conn, p, i * 1000), 0);
        }
        RUN_UNTIL(e, a.n_msgs == 30);
        for (unsigned i = 0; i < 30; i++) {
                _cleanup_free_ uint8_t *p = pattern(i * 1000, i);

                expect_msg(&a, i, p, i * 1000);
        }
        ep_done(&a);
        ep_done(&b);
}
END_TEST

START_TEST(test_plain_close_and_abort) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint a = {0}, b = {0};
        int sv[2];
        uint8_t got[6];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&a, e, sv[0], WT_FRAMING_PLAIN, MIB, NULL, 0);
        ck_assert_int_eq(WT_SEND_PACKED(a.conn, wmsg_pack_ack), 0);
        /* Plain close sends nothing and waits for the peer. */
        ck_assert_int_eq(wt_conn_close(a.conn, 1000, "finished"), 0);
        ck_assert_int_eq(wt_conn_send(a.conn, (const uint8_t *) "x", 1), -EPIPE);
        raw_read(e, sv[1], got, 6);
        ck_assert_mem_eq(got, "\x00\x00\x00\x02\x12\x00", 6);
        run_for(e, 20);
        ck_assert_uint_eq(raw_available(sv[1]), 0);
        ck_assert_uint_eq(a.ends, 0);
        close(sv[1]);
        RUN_UNTIL(e, a.ends == 1);
        ck_assert_int_eq(a.end_r, 0);
        ep_done(&a);

        /* Abort: no further callbacks, the peer sees EOF. */
        new_pair(sv);
        ep_open(&b, e, sv[0], WT_FRAMING_PLAIN, MIB, NULL, 0);
        wt_conn_abort(b.conn);
        ck_assert_int_eq(wt_conn_send(b.conn, (const uint8_t *) "x", 1), -EPIPE);
        ck_assert_int_eq(read(sv[1], got, 1), 0);
        run_for(e, 20);
        ck_assert_uint_eq(b.ends, 0);
        ep_done(&b);
        close(sv[1]);
}
END_TEST

/* ---- WebSocket ------------------------------------------------------------ */

static const uint8_t test_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Builds one frame: b0 is FIN|RSV|opcode; masked as a client must. */
static size_t ws_frame(uint8_t *out, uint8_t b0, bool masked, const void *payload, size_t len) {
        const uint8_t *p = payload;
        size_t o = 0;

        out[o++] = b0;
        if (len < 126)
                out[o++] = (uint8_t) ((masked ? 0x80 : 0) | len);
        else if (len < 65536) {
                out[o++] = (uint8_t) ((masked ? 0x80 : 0) | 126);
                out[o++] = (uint8_t) (len >> 8);
                out[o++] = (uint8_t) len;
        } else {
                out[o++] = (uint8_t) ((masked ? 0x80 : 0) | 127);
                for (int s = 56; s >= 0; s -= 8)
                        out[o++] = (uint8_t) ((uint64_t) len >> s);
        }
        if (masked) {
                memcpy(out + o, test_mask, 4);
                o += 4;
        }
        for (size_t i = 0; i < len; i++)
                out[o + i] = masked ? (uint8_t) (p[i] ^ test_mask[i % 4]) : p[i];
        return o + len;
}

/* Reads one unmasked frame from a raw fd. */
static size_t ws_read_frame(sd_event *e, int fd, uint8_t *b0, uint8_t *payload, size_t cap) {
        uint8_t h[2], ext[8];
        size_t len;

        raw_read(e, fd, h, 2);
        *b0 = h[0];
        ck_assert_msg(!(h[1] & 0x80), "server frames must not be masked");
        len = h[1] & 0x7f;
        if (len == 126) {
                raw_read(e, fd, ext, 2);
                len = (size_t) ext[0] << 8 | ext[1];
        } else if (len == 127) {
                raw_read(e, fd, ext, 8);
                len = 0;
                for (int i = 0; i < 8; i++)
                        len = len << 8 | ext[i];
        }
        ck_assert_uint_le(len, cap);
        raw_read(e, fd, payload, len);
        return len;
}

START_TEST(test_ws_exchange) {
        exchange(WT_FRAMING_WS_SERVER, WT_FRAMING_WS_CLIENT);
}
END_TEST

START_TEST(test_ws_wire_format) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint s = {0};
        uint8_t b0, buf[64], f[64];
        size_t n;
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, NULL, 0);
        ck_assert_str_eq(wt_conn_transport(s.conn), "websocket");

        /* One binary frame per message, unmasked from the server. */
        ck_assert_int_eq(WT_SEND_PACKED(s.conn, wmsg_pack_ack), 0);
        n = ws_read_frame(e, sv[1], &b0, buf, sizeof(buf));
        ck_assert_uint_eq(b0, 0x82);
        ck_assert_uint_eq(n, 2);
        ck_assert_mem_eq(buf, "\x12\x00", 2);

        /* A masked binary frame from the client is one message. */
        n = ws_frame(f, 0x82, true, "\x3a\x00", 2);
        raw_write(e, sv[1], f, n);
        RUN_UNTIL(e, s.n_msgs == 1);
        expect_msg(&s, 0, "\x3a\x00", 2);

        /* Ping is answered with a pong carrying the same data. */
        n = ws_frame(f, 0x89, true, "ping!", 5);
        raw_write(e, sv[1], f, n);
        n = ws_read_frame(e, sv[1], &b0, buf, sizeof(buf));
        ck_assert_uint_eq(b0, 0x8a);
        ck_assert_uint_eq(n, 5);
        ck_assert_mem_eq(buf, "ping!", 5);
        ck_assert_uint_eq(s.n_msgs, 1);
        ck_assert_uint_eq(s.ends, 0);

        /* An empty binary message. */
        n = ws_frame(f, 0x82, true, NULL, 0);
        raw_write(e, sv[1], f, n);
        RUN_UNTIL(e, s.n_msgs == 2);
        expect_msg(&s, 1, NULL, 0);

        ep_done(&s);
        close(sv[1]);
}
END_TEST

typedef struct ws_outcome {
        int close_code;   /* status of the server's close frame; 0: none sent, 1005: empty */
        bool ended_early; /* on_end came before the peer answered the close */
} ws_outcome;

/* Sends raw bytes to a fresh server conn, then behaves like a well-behaved
 * client: if the server sends a close frame, it answers with one. Waits for
 * on_end. */
static ws_outcome ws_expect_end(const uint8_t *bytes, size_t len, size_t max, bool initial, endpoint *s) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        ws_outcome o = {0};
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        if (initial)
                ep_open(s, e, sv[0], WT_FRAMING_WS_SERVER, max, bytes, len);
        else {
                ep_open(s, e, sv[0], WT_FRAMING_WS_SERVER, max, NULL, 0);
                raw_write(e, sv[1], bytes, len);
        }
        RUN_UNTIL(e, s->ends > 0 || raw_available(sv[1]) > 0);
        run_for(e, 30);
        o.ended_early = s->ends > 0;
        while (raw_available(sv[1]) > 0) {
                uint8_t b0, payload[256], f[256];
                size_t n = ws_read_frame(e, sv[1], &b0, payload, sizeof(payload));

                if (b0 != 0x88)
                        continue;
                o.close_code = n >= 2 ? payload[0] << 8 | payload[1] : 1005;
                n = ws_frame(f, 0x88, true, payload, MIN(n, (size_t) 2));
                (void) raw_write_try(e, sv[1], f, n); /* it may have hung up already */
                break;
        }
        RUN_UNTIL(e, s->ends == 1);
        run_for(e, 20);
        ck_assert_uint_eq(s->ends, 1);
        ck_assert_int_eq(wt_conn_send(s->conn, (const uint8_t *) "x", 1), -EPIPE);
        ep_done(s);
        close(sv[1]);
        return o;
}

/* A protocol violation: on_end(r < 0) with a close frame carrying `code`,
 * reported without waiting for the peer's answer. */
static void ws_expect_violation(const char *what, const uint8_t *bytes, size_t len, size_t max, int code) {
        endpoint s = {0};
        ws_outcome o = ws_expect_end(bytes, len, max, false, &s);

        ck_assert_msg(s.msgs_at_end == 0, "%s: a message was delivered", what);
        EXPECT(s.end_r < 0, "%s: reported as an orderly end (r=%d why=\"%s\")", what, s.end_r, s.end_why);
        ck_assert_msg(o.close_code == code, "%s: close code %d, expected %d", what, o.close_code, code);
        EXPECT(o.ended_early,
               "%s: on_end only came after the peer answered the close frame (r=%d why=\"%s\")", what,
               s.end_r, s.end_why);
}

START_TEST(test_ws_text_frame) {
        uint8_t f[64];
        size_t n;

        /* A binary message first, then text: the binary one is delivered. */
        n = ws_frame(f, 0x82, true, "\x12\x00", 2);
        n += ws_frame(f + n, 0x81, true, "hi", 2);
        for (int initial = 0; initial <= 1; initial++) {
                endpoint s = {0};

                (void) ws_expect_end(f, n, MIB, initial, &s);
                ck_assert_int_lt(s.end_r, 0);
                ck_assert_str_eq(s.end_why, "unexpected message type: 1");
                ck_assert_uint_eq(s.msgs_at_end, 1);
        }
        /* A fragmented text message too. */
        {
                endpoint s = {0};

                n = ws_frame(f, 0x01, true, "h", 1);
                n += ws_frame(f + n, 0x80, true, "i", 1);
                (void) ws_expect_end(f, n, MIB, false, &s);
                ck_assert_int_lt(s.end_r, 0);
                ck_assert_str_eq(s.end_why, "unexpected message type: 1");
        }
}
END_TEST

START_TEST(test_ws_unmasked_frame) {
        uint8_t f[64];
        size_t n;

        n = ws_frame(f, 0x82, false, "\x12\x00", 2);
        ws_expect_violation("unmasked binary frame", f, n, MIB, 1002);
}
END_TEST

START_TEST(test_ws_bad_frames) {
        /* Reserved bits, reserved opcodes, a continuation without a start, a
         * new message inside a fragmented one (close 1002); a fragmented or
         * oversized control frame (wslay's frame layer: close without status);
         * never a message. */
        static const uint8_t rsv[] = {0xc2, 0x80, 1, 2, 3, 4};
        static const uint8_t op3[] = {0x83, 0x80, 1, 2, 3, 4};
        static const uint8_t opb[] = {0x8b, 0x80, 1, 2, 3, 4};
        static const uint8_t cont_first[] = {0x80, 0x80, 1, 2, 3, 4};
        static const uint8_t nested[] = {0x02, 0x80, 1, 2, 3, 4, 0x82, 0x80, 1, 2, 3, 4};
        static const uint8_t frag_ping[] = {0x09, 0x80, 1, 2, 3, 4};
        static const struct {
                const char *what;
                const uint8_t *b;
                size_t n;
                int code;
        } v[] = {
                {"RSV1 set", rsv, sizeof(rsv), 1002},
                {"opcode 3", op3, sizeof(op3), 1002},
                {"opcode 0xb", opb, sizeof(opb), 1002},
                {"continuation first", cont_first, sizeof(cont_first), 1002},
                {"binary inside a fragmented message", nested, sizeof(nested), 1002},
                {"fragmented ping", frag_ping, sizeof(frag_ping), 1005},
        };
        uint8_t big_ping[2 + 2 + 4 + 126];
        uint8_t payload[126] = {0};
        size_t n;

        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                ws_expect_violation(v[i].what, v[i].b, v[i].n, MIB, v[i].code);

        n = ws_frame(big_ping, 0x89, true, payload, sizeof(payload));
        ck_assert_uint_le(n, sizeof(big_ping));
        ws_expect_violation("126-byte ping", big_ping, n, MIB, 1005);
}
END_TEST

START_TEST(test_ws_fragmented) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ uint8_t *big = pattern(5000, 11), *f = malloc(8000);
        endpoint s = {0};
        uint8_t b0, pong[16];
        size_t n = 0;
        int sv[2];

        ck_assert_ptr_nonnull(f);
        /* "hello world" in three frames with a ping in the middle. */
        n += ws_frame(f + n, 0x02, true, "hel", 3);
        n += ws_frame(f + n, 0x00, true, "lo ", 3);
        n += ws_frame(f + n, 0x89, true, "p", 1);
        n += ws_frame(f + n, 0x80, true, "world", 5);
        /* The way the Go client sends: 1024-byte pieces, the last one final;
         * empty continuation frames are legal too. */
        for (size_t o = 0; o < 5000; o += 1024) {
                size_t k = MIN((size_t) 1024, 5000 - o);
                bool last = o + k == 5000;

                n += ws_frame(f + n, (uint8_t) ((last ? 0x80 : 0x00) | (o == 0 ? 0x02 : 0x00)), true,
                              big + o, k);
                if (o == 2048)
                        n += ws_frame(f + n, 0x00, true, NULL, 0);
        }
        ck_assert_uint_le(n, 8000);

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, NULL, 0);
        /* Byte by byte, to cross every header boundary. */
        for (size_t i = 0; i < n; i++) {
                raw_write(e, sv[1], f + i, 1);
                if (i % 64 == 0)
                        (void) sd_event_run(e, 0);
        }
        RUN_UNTIL(e, s.n_msgs == 2);
        expect_msg(&s, 0, "hello world", 11);
        expect_msg(&s, 1, big, 5000);
        ck_assert_uint_le(ws_read_frame(e, sv[1], &b0, pong, sizeof(pong)), 1);
        ck_assert_uint_eq(b0, 0x8a);
        ck_assert_uint_eq(s.ends, 0);
        ep_done(&s);
        close(sv[1]);
}
END_TEST

START_TEST(test_ws_too_big) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ uint8_t *p = pattern(1001, 1), *f = malloc(4000);
        size_t n;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(sd_event_new(&e), 0);

        /* Exactly at the limit: fine; one above, from a client conn: fails. */
        {
                endpoint c = {0}, s = {0};
                int sv[2];

                new_pair(sv);
                ep_open(&c, e, sv[1], WT_FRAMING_WS_CLIENT, MIB, NULL, 0);
                ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, 1000, NULL, 0);
                ck_assert_int_eq(wt_conn_send(c.conn, p, 1000), 0);
                RUN_UNTIL(e, s.n_msgs == 1);
                expect_msg(&s, 0, p, 1000);
                ck_assert_int_eq(wt_conn_send(c.conn, p, 1001), 0);
                RUN_UNTIL(e, s.ends == 1);
                ck_assert_int_lt(s.end_r, 0);
                ck_assert_str_eq(s.end_why, "websocket: read limit exceeded (limit 1000)");
                ck_assert_uint_eq(s.n_msgs, 1);
                /* The client is told (close 1009) and ends with a failure. */
                RUN_UNTIL(e, c.ends == 1);
                ck_assert_int_lt(c.end_r, 0);
                ck_assert_msg(strstr(c.end_why, "1009"), "%s", c.end_why);
                ep_done(&c);
                ep_done(&s);
        }

        /* Fragments each below the limit that add up to more than it. */
        n = ws_frame(f, 0x02, true, p, 600);
        n += ws_frame(f + n, 0x80, true, p + 600, 401);
        ws_expect_violation("fragments above the limit", f, n, 1000, 1009);

        /* One frame announcing more than the limit (refused on its header). */
        n = ws_frame(f, 0x82, true, p, 1001);
        ws_expect_violation("frame above the limit", f, n, 1000, 1009);

        /* A 64-bit length far beyond everything, some payload following. */
        {
                uint8_t huge[14 + 16] = {0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 1,    2,    3,    4};

                ws_expect_violation("2^63-1 byte frame", huge, sizeof(huge), MIB, 1009);
        }
}
END_TEST

START_TEST(test_ws_eof) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint s = {0};
        uint8_t f[64];
        size_t n;
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, NULL, 0);
        n = ws_frame(f, 0x82, true, "\x12\x00", 2);
        raw_write(e, sv[1], f, n);
        close(sv[1]);
        RUN_UNTIL(e, s.ends == 1);
        ck_assert_int_eq(s.end_r, 0);
        ck_assert_uint_eq(s.msgs_at_end, 1);
        ep_done(&s);
}
END_TEST

START_TEST(test_ws_initial) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint s = {0};
        uint8_t f[128];
        size_t n, cut;
        int sv[2];

        n = ws_frame(f, 0x82, true, "\x12\x00", 2);
        n += ws_frame(f + n, 0x82, true, "\x3a\x00", 2);
        cut = n + 3;
        n += ws_frame(f + n, 0x82, true, "\x22\x02\x08\x07", 4);

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        /* Two whole frames and part of a third came with the upgrade. */
        ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, f, cut);
        RUN_UNTIL(e, s.n_msgs == 2);
        run_for(e, 20);
        ck_assert_uint_eq(s.n_msgs, 2);
        raw_write(e, sv[1], f + cut, n - cut);
        RUN_UNTIL(e, s.n_msgs == 3);
        expect_msg(&s, 0, "\x12\x00", 2);
        expect_msg(&s, 1, "\x3a\x00", 2);
        expect_msg(&s, 2, "\x22\x02\x08\x07", 4);
        ep_done(&s);
        close(sv[1]);

        /* The socket already holds more (a 3000-byte message) when the bytes
         * past the upgrade are consumed: both arrive, in order. (Regression:
         * the socket used to be read into a staging buffer allocated with the
         * size of the initial bytes, a heap overflow.) */
        {
                _cleanup_free_ uint8_t *big = pattern(3000, 4), *bf = malloc(3100);
                size_t bn;

                ck_assert_ptr_nonnull(bf);
                bn = ws_frame(bf, 0x82, true, big, 3000);
                s = (endpoint){0};
                new_pair(sv);
                raw_write(e, sv[1], f + cut, n - cut);
                raw_write(e, sv[1], bf, bn);
                ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, f, cut);
                RUN_UNTIL(e, s.n_msgs == 4);
                expect_msg(&s, 0, "\x12\x00", 2);
                expect_msg(&s, 1, "\x3a\x00", 2);
                expect_msg(&s, 2, "\x22\x02\x08\x07", 4);
                expect_msg(&s, 3, big, 3000);
                ck_assert_uint_eq(s.ends, 0);
                ep_done(&s);
                close(sv[1]);
        }
}
END_TEST

START_TEST(test_ws_pause_resume) {
        pause_resume(WT_FRAMING_WS_SERVER);
}
END_TEST

START_TEST(test_ws_backpressure) {
        backpressure(WT_FRAMING_WS_SERVER);
}
END_TEST

START_TEST(test_ws_free_in_callbacks) {
        uint8_t f[20 * 64];
        size_t n = 0;

        for (size_t i = 0; i < 20; i++) {
                uint8_t m[40];

                fill_pattern(m, i % 40, (unsigned) i);
                n += ws_frame(f + n, 0x82, true, m, i % 40);
        }
        free_in_on_message(WT_FRAMING_WS_SERVER, f, n, 1, false);
        free_in_on_message(WT_FRAMING_WS_SERVER, f, n, 2, false);
        free_in_on_message(WT_FRAMING_WS_SERVER, f, n, 20, false);
        free_in_on_message(WT_FRAMING_WS_SERVER, f, n, 1, true);
        free_in_on_message(WT_FRAMING_WS_SERVER, f, n, 7, true);

        /* Paused with messages held, then freed. */
        {
                _cleanup_(sd_event_unrefp) sd_event *e = NULL;
                endpoint s = {.pause_at = 3};
                int sv[2];

                ck_assert_int_ge(sd_event_new(&e), 0);
                new_pair(sv);
                ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, f, n);
                RUN_UNTIL(e, s.n_msgs == 3);
                run_for(e, 20);
                ck_assert_uint_eq(s.n_msgs, 3);
                ep_done(&s);
                close(sv[1]);
        }
}
END_TEST

START_TEST(test_ws_close_raw) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint s = {0};
        uint8_t b0, buf[256], f[64];
        size_t n;
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, NULL, 0);
        ck_assert_int_eq(WT_SEND_PACKED(s.conn, wmsg_pack_close, 0), 0);
        ck_assert_int_eq(wt_conn_close(s.conn, 1000, "finished"), 0);
        ck_assert_int_eq(wt_conn_send(s.conn, (const uint8_t *) "x", 1), -EPIPE);

        /* The queued message goes first, then the close frame. */
        n = ws_read_frame(e, sv[1], &b0, buf, sizeof(buf));
        ck_assert_uint_eq(b0, 0x82);
        ck_assert_uint_eq(n, 2);
        n = ws_read_frame(e, sv[1], &b0, buf, sizeof(buf));
        ck_assert_uint_eq(b0, 0x88);
        ck_assert_uint_eq(n, 10);
        ck_assert_mem_eq(buf, "\003\350finished", 10);
        run_for(e, 20);
        ck_assert_uint_eq(s.ends, 0);

        /* The peer answers with its close frame: an orderly end. */
        n = ws_frame(f, 0x88, true, "\003\350done", 6);
        raw_write(e, sv[1], f, n);
        RUN_UNTIL(e, s.ends == 1);
        ck_assert_int_eq(s.end_r, 0);
        /* And the socket is closed. */
        RUN_UNTIL(e, raw_available(sv[1]) == 0 && read(sv[1], buf, 1) == 0);
        ep_done(&s);
        close(sv[1]);
}
END_TEST

START_TEST(test_ws_close_codes) {
        /* The peer starts the close: 1000, 1001 and no status are orderly,
         * anything else is a failure. Either way our reply echoes the close. */
        static const struct {
                const char *payload;
                size_t len;
                bool ok;
        } v[] = {
                {"\x03\xe8", 2, true},  {"\003\351bye", 5, true},  {"", 0, true},
                {"\x03\xea", 2, false}, {"\017\240app", 5, false},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_(sd_event_unrefp) sd_event *e = NULL;
                endpoint s = {0};
                uint8_t f[64], b0, buf[256];
                size_t n;
                int sv[2];

                ck_assert_int_ge(sd_event_new(&e), 0);
                new_pair(sv);
                ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, NULL, 0);
                n = ws_frame(f, 0x88, true, v[i].payload, v[i].len);
                raw_write(e, sv[1], f, n);
                RUN_UNTIL(e, s.ends == 1);
                if (v[i].ok)
                        ck_assert_msg(s.end_r == 0, "case %zu: %d %s", i, s.end_r, s.end_why);
                else
                        ck_assert_msg(s.end_r < 0, "case %zu: %d %s", i, s.end_r, s.end_why);
                n = ws_read_frame(e, sv[1], &b0, buf, sizeof(buf));
                ck_assert_uint_eq(b0, 0x88);
                ep_done(&s);
                close(sv[1]);
        }
}
END_TEST

START_TEST(test_ws_close_pair) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        endpoint s = {0}, c = {0};
        int sv[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        new_pair(sv);
        ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, NULL, 0);
        ep_open(&c, e, sv[1], WT_FRAMING_WS_CLIENT, MIB, NULL, 0);
        ck_assert_int_eq(WT_SEND_PACKED(s.conn, wmsg_pack_close, 3), 0);
        ck_assert_int_eq(wt_conn_close(s.conn, 1000, "finished"), 0);
        /* Closing twice is harmless. */
        ck_assert_int_eq(wt_conn_close(s.conn, 1000, "finished"), 0);
        RUN_UNTIL(e, c.ends == 1 && s.ends == 1);
        ck_assert_int_eq(c.end_r, 0);
        ck_assert_int_eq(s.end_r, 0);
        ck_assert_uint_eq(c.msgs_at_end, 1);
        expect_msg(&c, 0, "\x22\x02\x08\x03", 4);
        run_for(e, 20);
        ck_assert_uint_eq(c.ends, 1);
        ck_assert_uint_eq(s.ends, 1);
        ep_done(&s);
        ep_done(&c);

        /* And the client side closing first. */
        new_pair(sv);
        ep_open(&s, e, sv[0], WT_FRAMING_WS_SERVER, MIB, NULL, 0);
        ep_open(&c, e, sv[1], WT_FRAMING_WS_CLIENT, MIB, NULL, 0);
        ck_assert_int_eq(wt_conn_close(c.conn, 1000, "done"), 0);
        RUN_UNTIL(e, c.ends == 1 && s.ends == 1);
        ck_assert_int_eq(c.end_r, 0);
        ck_assert_int_eq(s.end_r, 0);
        ep_done(&s);
        ep_done(&c);
}
END_TEST

static Suite *transport_suite(void) {
        Suite *s = suite_create("transport");
        TCase *tc = tcase_create("plain");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_plain_exchange);
        tcase_add_test(tc, test_plain_wire_format);
        tcase_add_test(tc, test_plain_oversize);
        tcase_add_test(tc, test_plain_at_limit);
        tcase_add_test(tc, test_plain_eof);
        tcase_add_test(tc, test_plain_initial);
        tcase_add_test(tc, test_plain_pause_resume);
        tcase_add_test(tc, test_plain_backpressure);
        tcase_add_test(tc, test_plain_free_in_callbacks);
        tcase_add_test(tc, test_plain_send_from_callback);
        tcase_add_test(tc, test_plain_close_and_abort);
        suite_add_tcase(s, tc);

        tc = tcase_create("websocket");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_ws_exchange);
        tcase_add_test(tc, test_ws_wire_format);
        tcase_add_test(tc, test_ws_text_frame);
        tcase_add_test(tc, test_ws_unmasked_frame);
        tcase_add_test(tc, test_ws_bad_frames);
        tcase_add_test(tc, test_ws_fragmented);
        tcase_add_test(tc, test_ws_too_big);
        tcase_add_test(tc, test_ws_eof);
        tcase_add_test(tc, test_ws_initial);
        tcase_add_test(tc, test_ws_pause_resume);
        tcase_add_test(tc, test_ws_backpressure);
        tcase_add_test(tc, test_ws_free_in_callbacks);
        tcase_add_test(tc, test_ws_close_raw);
        tcase_add_test(tc, test_ws_close_codes);
        tcase_add_test(tc, test_ws_close_pair);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(transport_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
