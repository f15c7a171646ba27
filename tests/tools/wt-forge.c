/* wt-forge: a test-only WebTTY peer for the E2E integration tests
 * (tests/integration/test_e2e.py). It speaks the authenticated handshake
 * (protocol spec 6) and E2E payloads (spec 7) with the library's own
 * functions, exactly as `webtty exec` and webttyd do, and then breaks one
 * thing on purpose so the tests can prove that the real peer refuses it.
 *
 *   wt-forge client --url unix:PATH|tcp://H:P|ws://H:P/ --server-key 4PART
 *                   --identity-file F --defect D [--auth-token-file F]
 *                   [--stdin TEXT] [--timeout MS] [--end-wait MS] -- CMD ARGS...
 *     Receives the ServerHello, checks it against --server-key, builds the
 *     Open (grant for the server's encryption key, proof signed by F), applies
 *     defect D, sends it, and prints one JSON line describing what the server
 *     answered. Exit 0 when the exchange itself worked (whatever the answer),
 *     1 when it could not take place (connect, bad hello, ...), 2 on usage.
 *
 *   wt-forge server --listen unix:PATH --identity-file F --defect D [--timeout MS]
 *     Serves one plain connection with a ServerHello broken by D and prints
 *     one JSON line with what the client sent back.
 *
 * Client defects (the Open, or what follows the Ack):
 *   none                   a correct session (sends --stdin, then eos; decrypts output)
 *   bad-signature          last byte of the proof signature flipped
 *   unknown-key            proof signed by a fresh, unauthorized key
 *   expired / future       issued -60 s (expires -30 s) / issued +60 s, signed so
 *   long-lifetime          expires_at = issued_at + 60 s, re-signed
 *   wrong-transport        transcript over the other transport name (or --transport-name)
 *   wrong-nonce            transcript over a nonce with one flipped bit
 *   wrong-session-id       transcript over another session id
 *   tampered-grant         wrapped key changed after signing (transcript mismatch)
 *   tampered-grant-signed  wrapped key changed before signing (proof fine, unwrap fails)
 *   missing-grant          no grant, proof over that Open
 *   missing-proof          grant, no proof
 *   replay                 the Open of a completed connection 1 sent again on connection 2
 *   plaintext-stdin        valid session, then cleartext stdin
 *   bad-payload-tag        valid session, then stdin with a flipped GCM tag byte
 *   wrong-stream-label     valid session, then stdin sealed under the "stdout" label
 * Server defects (the ServerHello):
 *   none                   correct hello; verifies the proof and grant, then Ack, one
 *                          sealed stdout line "wt-forge-ok", Close 0
 *   bad-proof              last byte of the server signature flipped
 *   wrong-key              hello of another identity (correctly signed by it)
 *   wrong-signer           the right identity, transcript signed by another key
 *   no-hello               sends nothing
 *   downgrade              an extra payload suite (2) in the list, correctly re-signed
 *   downgrade-auth         auth requirement lowered to NONE after signing
 *
 * Plain blocking sockets: the length-prefixed plain framing (lpframe.h) and
 * a minimal RFC 6455 client framing are enough for a single scripted
 * exchange. Nothing here is meant for production use. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "e2e.h"
#include "http_upgrade.h"
#include "identity.h"
#include "lpframe.h"
#include "macro.h"
#include "url.h"
#include "wmsg.h"

#define MAX_MESSAGE (16u * 1024u * 1024u)
#define STDIN_CHUNK (32u * 1024u)
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_END_WAIT_MS 3000
#define MAX_AFTER 16

/* ---- options ------------------------------------------------------------- */

typedef struct forge_opts {
        const char *mode; /* "client" or "server" */
        const char *url, *listen, *server_key, *identity_file, *defect, *token_file, *transport_name;
        const char *stdin_text;
        int timeout_ms, end_wait_ms;
        char **argv;
        size_t argc;
} forge_opts;

static const char *const client_defects[] = {
        "none",
        "bad-signature",
        "unknown-key",
        "expired",
        "future",
        "long-lifetime",
        "wrong-transport",
        "wrong-nonce",
        "wrong-session-id",
        "tampered-grant",
        "tampered-grant-signed",
        "missing-grant",
        "missing-proof",
        "replay",
        "plaintext-stdin",
        "bad-payload-tag",
        "wrong-stream-label",
};

static const char *const server_defects[] = {
        "none", "bad-proof", "wrong-key", "wrong-signer", "no-hello", "downgrade", "downgrade-auth",
};

static bool defect_is(const forge_opts *o, const char *d) {
        return strcmp(o->defect, d) == 0;
}

static bool in_list(const char *s, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

static void usage(void) {
        fprintf(stderr,
                "usage: wt-forge client --url URL --server-key 4PART --identity-file F --defect D\n"
                "                       [--auth-token-file F] [--transport-name X] [--stdin TEXT]\n"
                "                       [--timeout MS] [--end-wait MS] -- CMD ARGS...\n"
                "       wt-forge server --listen unix:PATH --identity-file F --defect D [--timeout MS]\n");
}

/* ---- JSON output --------------------------------------------------------- */

static void json_bytes(FILE *f, const uint8_t *s, size_t n) {
        fputc('"', f);
        for (size_t i = 0; i < n; i++) {
                uint8_t c = s[i];
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\r')
                        fputs("\\r", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < 0x20 || c >= 0x7f)
                        fprintf(f, "\\u%04x", c); /* bytes as Latin-1: enough for tests */
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

static void json_str(FILE *f, const char *s) {
        if (!s)
                fputs("null", f);
        else
                json_bytes(f, (const uint8_t *) s, strlen(s));
}

static void json_int_or_null(FILE *f, bool present, long v) {
        if (present)
                fprintf(f, "%ld", v);
        else
                fputs("null", f);
}

/* ---- connection ---------------------------------------------------------- */

typedef struct fconn {
        int fd;
        bool ws;      /* WebSocket client framing (masked frames out) */
        uint8_t *buf; /* received bytes not yet parsed */
        size_t len, cap;
        uint8_t *frag; /* WebSocket message being reassembled */
        size_t frag_len;
        bool ended;
        const char *end_how; /* "eof", "wsclose", "reset" */
        int ws_code;
        char ws_reason[128];
} fconn;

static void fconn_done(fconn *c) {
        c->fd = safe_close(c->fd);
        free(c->buf);
        free(c->frag);
        c->buf = c->frag = NULL;
        c->len = c->cap = c->frag_len = 0;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

/* Reads more bytes into c->buf: 1 when some arrived, 0 at end of stream,
 * -ETIMEDOUT at the deadline. */
static int fconn_fill(fconn *c, uint64_t deadline) {
        for (;;) {
                uint64_t now = now_ms();
                struct pollfd p = {.fd = c->fd, .events = POLLIN};
                ssize_t n;
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) MIN(deadline - now, (uint64_t) INT32_MAX));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
                if (c->cap - c->len < 65536) {
                        size_t ncap = c->cap ? c->cap * 2 : 131072;
                        uint8_t *nb = realloc(c->buf, ncap);
                        if (!nb)
                                return -ENOMEM;
                        c->buf = nb;
                        c->cap = ncap;
                }
                n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) {
                        c->end_how = "reset";
                        return 0;
                }
                if (n < 0)
                        return -errno;
                if (n == 0) {
                        c->end_how = "eof";
                        return 0;
                }
                c->len += (size_t) n;
                return 1;
        }
}

static void fconn_consume(fconn *c, size_t n) {
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
}

static int ws_send_frame(fconn *c, uint8_t opcode, const uint8_t *p, size_t n) {
        _cleanup_free_ uint8_t *f = malloc(n + 14);
        uint8_t mask[4];
        size_t h = 0;

        if (!f)
                return -ENOMEM;
        f[h++] = 0x80 | opcode;
        if (n < 126)
                f[h++] = 0x80 | (uint8_t) n;
        else if (n <= 0xffff) {
                f[h++] = 0x80 | 126;
                f[h++] = (uint8_t) (n >> 8);
                f[h++] = (uint8_t) n;
        } else {
                f[h++] = 0x80 | 127;
                for (int i = 7; i >= 0; i--)
                        f[h++] = (uint8_t) ((uint64_t) n >> (8 * i));
        }
        randombytes_buf(mask, sizeof(mask));
        memcpy(f + h, mask, 4);
        h += 4;
        for (size_t i = 0; i < n; i++)
                f[h + i] = p[i] ^ mask[i % 4];
        return write_all(c->fd, f, h + n);
}

static int fconn_send(fconn *c, const uint8_t *p, size_t n) {
        uint8_t hdr[LPFRAME_HEADER];
        int r;

        if (c->ws)
                return ws_send_frame(c, 0x2, p, n);
        lpframe_header(hdr, (uint32_t) n);
        r = write_all(c->fd, hdr, sizeof(hdr));
        return r < 0 ? r : write_all(c->fd, p, n);
}

/* One WebSocket frame from c->buf: 1 with a complete message in *ret, 0
 * when more bytes are needed or a control frame was handled, -EPIPE after a
 * close frame, -EBADMSG on nonsense. */
static int ws_parse(fconn *c, uint8_t **ret, size_t *ret_len) {
        size_t h = 2, plen;
        uint8_t op, *payload;
        bool fin, masked;

        if (c->len < 2)
                return 0;
        fin = c->buf[0] & 0x80;
        op = c->buf[0] & 0x0f;
        masked = c->buf[1] & 0x80;
        plen = c->buf[1] & 0x7f;
        if (plen == 126) {
                if (c->len < 4)
                        return 0;
                plen = ((size_t) c->buf[2] << 8) | c->buf[3];
                h = 4;
        } else if (plen == 127) {
                if (c->len < 10)
                        return 0;
                plen = 0;
                for (int i = 0; i < 8; i++)
                        plen = (plen << 8) | c->buf[2 + i];
                h = 10;
        }
        if (plen > MAX_MESSAGE)
                return -EBADMSG;
        if (masked)
                h += 4;
        if (c->len < h || c->len - h < plen)
                return 0;
        payload = c->buf + h;
        if (masked)
                for (size_t i = 0; i < plen; i++)
                        payload[i] ^= c->buf[h - 4 + i % 4];
        switch (op) {
        case 0x0:
        case 0x1:
        case 0x2: {
                uint8_t *nf = realloc(c->frag, c->frag_len + plen + 1);
                if (!nf)
                        return -ENOMEM;
                c->frag = nf;
                memcpy(c->frag + c->frag_len, payload, plen);
                c->frag_len += plen;
                fconn_consume(c, h + plen);
                if (!fin)
                        return 0;
                *ret = TAKE_PTR(c->frag);
                *ret_len = c->frag_len;
                c->frag_len = 0;
                return 1;
        }
        case 0x8:
                c->ws_code = plen >= 2 ? (payload[0] << 8) | payload[1] : 1005;
                if (plen > 2)
                        snprintf(c->ws_reason, sizeof(c->ws_reason), "%.*s",
                                 (int) MIN(plen - 2, (size_t) 120), (const char *) payload + 2);
                (void) ws_send_frame(c, 0x8, payload, MIN(plen, (size_t) 2));
                fconn_consume(c, h + plen);
                c->end_how = "wsclose";
                return -EPIPE;
        case 0x9: {
                int r = ws_send_frame(c, 0xa, payload, plen);
                fconn_consume(c, h + plen);
                return r < 0 ? r : 0;
        }
        default:
                fconn_consume(c, h + plen);
                return 0;
        }
}

/* The next Message: 1 with *ret (malloc'd), 0 when the transport ended,
 * -ETIMEDOUT after timeout_ms, other negative errno on failure. */
static int fconn_recv(fconn *c, int timeout_ms, uint8_t **ret, size_t *ret_len) {
        uint64_t deadline = now_ms() + (uint64_t) timeout_ms;

        if (c->ended)
                return 0;
        for (;;) {
                int r;

                if (c->ws) {
                        size_t before;
                        /* Parse while frames are consumed (control frames, fragments). */
                        do {
                                before = c->len;
                                r = ws_parse(c, ret, ret_len);
                                if (r == 1)
                                        return 1;
                                if (r == -EPIPE) {
                                        c->ended = true;
                                        return 0;
                                }
                                if (r < 0)
                                        return r;
                        } while (c->len > 0 && c->len != before);
                } else {
                        const uint8_t *m;
                        size_t mlen;
                        r = lpframe_parse(c->buf, c->len, MAX_MESSAGE, &m, &mlen);
                        if (r < 0)
                                return r;
                        if (r == 1) {
                                *ret = malloc(mlen + 1);
                                if (!*ret)
                                        return -ENOMEM;
                                memcpy(*ret, m, mlen);
                                *ret_len = mlen;
                                fconn_consume(c, LPFRAME_HEADER + mlen);
                                return 1;
                        }
                }
                r = fconn_fill(c, deadline);
                if (r == 0) {
                        c->ended = true;
                        return 0;
                }
                if (r < 0)
                        return r;
        }
}

static int fconn_recv_msg(fconn *c, int timeout_ms, Webtty__Message **ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        char err[160];
        size_t len = 0;
        int r;

        *ret = NULL;
        r = fconn_recv(c, timeout_ms, &buf, &len);
        if (r <= 0)
                return r;
        *ret = wmsg_unpack(buf, len, err, sizeof(err));
        if (!*ret) {
                fprintf(stderr, "wt-forge: %s\n", err);
                return -EBADMSG;
        }
        return 1;
}

static int fconn_send_msg(fconn *c, const Webtty__Message *m) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = wmsg_pack(m, &buf, &len);
        return r < 0 ? r : fconn_send(c, buf, len);
}

/* Waits (up to wait_ms) for the peer to end the transport, skipping
 * messages; returns whether it did. */
static bool fconn_wait_end(fconn *c, int wait_ms) {
        uint64_t deadline = now_ms() + (uint64_t) wait_ms;

        while (!c->ended) {
                uint64_t now = now_ms();
                _cleanup_free_ uint8_t *buf = NULL;
                size_t len;

                if (now >= deadline)
                        break;
                if (fconn_recv(c, (int) (deadline - now), &buf, &len) < 0)
                        break;
        }
        return c->ended;
}

static void fconn_close(fconn *c) {
        if (c->fd >= 0 && c->ws && !c->ended) {
                const uint8_t code[2] = {0x03, 0xe8}; /* 1000 */
                (void) ws_send_frame(c, 0x8, code, sizeof(code));
        }
        fconn_done(c);
}

static int read_token(const char *path, char **ret) {
        char buf[4097];
        size_t n, s = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        while (n > 0 &&
               (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r'))
                n--;
        while (s < n && (buf[s] == ' ' || buf[s] == '\t'))
                s++;
        *ret = strndup(buf + s, n - s);
        return *ret ? 0 : -ENOMEM;
}

static int ws_upgrade(fconn *c, const wt_url *u, const char *token) {
        _cleanup_free_ char *host = wt_url_host_header(u), *req = NULL;
        http_upgrade_response_parser *p = NULL;
        uint64_t deadline = now_ms() + 10000;
        char key[25];
        int r;

        if (!host)
                return -ENOMEM;
        r = http_upgrade_client_request(host, u->path, token, key, &req);
        if (r < 0)
                return r;
        r = write_all(c->fd, (const uint8_t *) req, strlen(req));
        if (r < 0)
                return r;
        r = http_upgrade_response_parser_new(key, &p);
        if (r < 0)
                return r;
        for (;;) {
                size_t consumed = 0;
                r = http_upgrade_response_parser_feed(p, c->buf, c->len, &consumed);
                if (r == 1) {
                        fconn_consume(c, consumed);
                        r = 0;
                        break;
                }
                if (r < 0) {
                        fprintf(stderr, "wt-forge: WebSocket upgrade refused: HTTP %d\n",
                                http_upgrade_response_status(p));
                        break;
                }
                /* The parser keeps what it was fed: feed only new bytes next time. */
                c->len = 0;
                r = fconn_fill(c, deadline);
                if (r <= 0) {
                        r = r == 0 ? -ECONNRESET : r;
                        break;
                }
        }
        http_upgrade_response_parser_free(p);
        return r;
}

static int fconn_connect(fconn *c, const char *url, const char *token_file) {
        _cleanup_free_ char *err = NULL, *token = NULL;
        struct sockaddr_storage ss;
        socklen_t sl;
        wt_url u = {0};
        int r;

        *c = (fconn){.fd = -1};
        r = wt_url_parse(url, WT_URL_WS, &u, &err);
        if (r < 0) {
                fprintf(stderr, "wt-forge: --url: %s\n", err ? err : "invalid");
                return r;
        }
        r = wt_url_sockaddr(&u, &ss, &sl, &err);
        if (r >= 0) {
                c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (c->fd < 0 || connect(c->fd, (struct sockaddr *) &ss, sl) < 0)
                        r = -errno;
        }
        if (r >= 0 && u.kind == WT_URL_WS) {
                c->ws = true;
                if (token_file)
                        r = read_token(token_file, &token);
                if (r >= 0)
                        r = ws_upgrade(c, &u, token);
        }
        if (r < 0)
                fprintf(stderr, "wt-forge: connect %s: %s\n", url, err ? err : strerror(-r));
        wt_url_done(&u);
        return r;
}

/* ---- what a peer answered ------------------------------------------------ */

static const char *kind_name(const Webtty__Message *m) {
        switch (m->payload_case) {
        case WEBTTY__MESSAGE__PAYLOAD_OPEN:
                return "open";
        case WEBTTY__MESSAGE__PAYLOAD_ACK:
                return "ack";
        case WEBTTY__MESSAGE__PAYLOAD_ERROR:
                return "error";
        case WEBTTY__MESSAGE__PAYLOAD_CLOSE:
                return "close";
        case WEBTTY__MESSAGE__PAYLOAD_DATA:
                return "data";
        case WEBTTY__MESSAGE__PAYLOAD_PARAMETER:
                return "parameter";
        case WEBTTY__MESSAGE__PAYLOAD_HEARTBEAT:
                return "heartbeat";
        case WEBTTY__MESSAGE__PAYLOAD_ATTACH:
                return "attach";
        case WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO:
                return "server_hello";
        case WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR:
                return "protocol_error";
        case WEBTTY__MESSAGE__PAYLOAD_CLIENT_HELLO:
                return "client_hello";
        default:
                return "none";
        }
}

typedef struct buf {
        uint8_t *p;
        size_t n;
} buf;

static int buf_append(buf *b, const uint8_t *p, size_t n) {
        uint8_t *nb = realloc(b->p, b->n + n + 1);
        if (!nb)
                return -ENOMEM;
        memcpy(nb + b->n, p, n);
        b->p = nb;
        b->n += n;
        return 0;
}

typedef struct result {
        const char *first; /* kind of the server's first answer to Open; NULL if none */
        bool has_code;
        int code;
        char *message; /* Error / ProtocolError text */
        bool ack;
        const char *after[MAX_AFTER]; /* what came after the Ack (heartbeats skipped) */
        size_t n_after;
        bool has_close;
        int close_code;
        char *fatal; /* the client's own decrypt failure, if any */
        buf out, err;
        bool ended;
        const char *end_how;
        int ws_code;
        char ws_reason[128];
} result;

static void result_done(result *r) {
        free(r->message);
        free(r->fatal);
        free(r->out.p);
        free(r->err.p);
        *r = (result){};
}

static void result_note_end(result *res, const fconn *c) {
        res->ended = c->ended;
        res->end_how = c->ended ? c->end_how : NULL;
        res->ws_code = c->ws_code;
        snprintf(res->ws_reason, sizeof(res->ws_reason), "%s", c->ws_reason);
}

/* Records an Error / ProtocolError. */
static void result_note_error(result *res, const Webtty__Message *m) {
        const char *msg = NULL;

        if (m->payload_case == WEBTTY__MESSAGE__PAYLOAD_ERROR && m->error)
                msg = m->error->msg;
        if (m->payload_case == WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR && m->protocol_error) {
                res->has_code = true;
                res->code = (int) m->protocol_error->code;
                msg = m->protocol_error->msg;
        }
        if (msg && !res->message)
                res->message = strdup(msg);
}

static void result_print(FILE *f, const result *r) {
        fputs("{\"first\":", f);
        json_str(f, r->first);
        fputs(",\"code\":", f);
        json_int_or_null(f, r->has_code, r->code);
        fputs(",\"message\":", f);
        json_str(f, r->message);
        fprintf(f, ",\"ack\":%s,\"after\":[", r->ack ? "true" : "false");
        for (size_t i = 0; i < r->n_after; i++) {
                if (i)
                        fputc(',', f);
                json_str(f, r->after[i]);
        }
        fputs("],\"close_code\":", f);
        json_int_or_null(f, r->has_close, r->close_code);
        fputs(",\"fatal\":", f);
        json_str(f, r->fatal);
        fputs(",\"stdout\":", f);
        json_bytes(f, r->out.p, r->out.n);
        fputs(",\"stderr\":", f);
        json_bytes(f, r->err.p, r->err.n);
        fprintf(f, ",\"ended\":%s,\"end\":", r->ended ? "true" : "false");
        json_str(f, r->end_how);
        fputs(",\"ws_close_code\":", f);
        json_int_or_null(f, r->ws_code != 0, r->ws_code);
        fputs(",\"ws_close_reason\":", f);
        json_str(f, r->ws_code ? r->ws_reason : NULL);
        fputc('}', f);
}

/* ---- client: building the Open -------------------------------------------- */

typedef struct client_ctx {
        const forge_opts *o;
        endpoint_identity *me;
        endpoint_public server; /* the pinned identity, as text-parsed */
        auth_pinned_identity pin;
        const char *transport; /* the real transport name */
} client_ctx;

typedef struct forged_open {
        Webtty__Options opts;
        Webtty__Config cfg;
        Webtty__Open open;
        Webtty__OpenCapability caps[2];
        Webtty__SessionKeyGrant *grant;
        Webtty__ClientProof *proof;
        e2e_session *e2e;
        uint8_t *packed;
        size_t packed_len;
        uint32_t grant_payload_suite, grant_envelope_suite;
} forged_open;

static void forged_open_done(forged_open *f) {
        e2e_grant_free(f->grant);
        auth_client_proof_free(f->proof);
        e2e_session_free(f->e2e);
        free(f->packed);
        *f = (forged_open){};
}

static const char *string_value(const Webtty__StringValue *v) {
        return v ? v->value : NULL;
}

static int replace_bytes(ProtobufCBinaryData *b, const uint8_t *p, size_t n) {
        uint8_t *nb = malloc(n ? n : 1);
        if (!nb)
                return -ENOMEM;
        memcpy(nb, p, n);
        free(b->data);
        b->data = nb;
        b->len = n;
        return 0;
}

static int replace_string(char **s, const char *v) {
        char *n = strdup(v);
        if (!n)
                return -ENOMEM;
        if (*s && *s != protobuf_c_empty_string)
                free(*s);
        *s = n;
        return 0;
}

/* Recomputes the proof's transcript hash (protocol spec 6.5) for the given
 * hello values and transport, and signs it again with signer: the tool's
 * way of producing a proof that is correctly signed but binds something
 * else than what the server will check. */
static int proof_resign(const endpoint_identity *signer, const Webtty__ServerHello *hello,
                        const Webtty__Open *open, const char *transport, Webtty__ClientProof *p) {
        const Webtty__EndpointIdentity *sid = hello->server_identity;
        uint8_t grant_hash[AUTH_HASH_LEN], config_hash[AUTH_HASH_LEN], cred_hash[AUTH_HASH_LEN];
        uint8_t hash[AUTH_HASH_LEN];
        _cleanup_free_ uint8_t *sig = NULL;
        uint32_t payload_suite, envelope_suite;
        size_t sig_len;
        int r;

        if (open->session_key_grant) {
                payload_suite = (uint32_t) open->session_key_grant->payload_suite;
                envelope_suite = (uint32_t) open->session_key_grant->key_envelope_suite;
        } else {
                envelope_suite = (uint32_t) sid->key_envelope_suite;
                r = e2e_payload_suite_for_envelope(envelope_suite, &payload_suite, NULL);
                if (r < 0)
                        return r;
        }
        r = auth_hash_grant(open->session_key_grant, grant_hash);
        if (r >= 0)
                r = auth_hash_config(open->config, config_hash);
        if (r < 0)
                return r;
        auth_sha256(NULL, 0, cred_hash);
        auth_client_transcript t = {
                .protocol_version = AUTH_PROTOCOL_VERSION,
                .transport = transport,
                .workspace_id = string_value(hello->workspace_id),
                .project_id = string_value(hello->project_id),
                .server_id = string_value(hello->server_id),
                .session_id = hello->session_id,
                .server_signing_key_id = {sid->signing_key_id.data, sid->signing_key_id.len},
                .server_encryption_key_id = {sid->encryption_key_id.data, sid->encryption_key_id.len},
                .server_nonce = {hello->session_nonce.data, hello->session_nonce.len},
                .auth_requirement = AUTH_REQUIREMENT_CLIENT_PROOF,
                .payload_suite = payload_suite,
                .key_envelope_suite = envelope_suite,
                .session_key_grant_hash = {grant_hash, sizeof(grant_hash)},
                .command_config_hash = {config_hash, sizeof(config_hash)},
                .requested_role = "",
                .client_principal_id = string_value(p->principal_id),
                .client_signing_key_id = {p->signing_key_id.data, p->signing_key_id.len},
                .client_credential_hash = {cred_hash, sizeof(cred_hash)},
                .issued_at = p->issued_at,
                .expires_at = p->expires_at,
        };
        r = auth_client_transcript_hash(&t, hash);
        if (r >= 0)
                r = sigkey_sign(signer->sig, hash, &sig, &sig_len);
        if (r >= 0)
                r = replace_bytes(&p->transcript_hash, hash, sizeof(hash));
        if (r >= 0)
                r = replace_bytes(&p->signature, sig, sig_len);
        return r;
}

static const char *other_transport(const char *t) {
        return strcmp(t, "plain") == 0 ? "websocket" : "plain";
}

static int tamper_grant(Webtty__SessionKeyGrant *g) {
        if (!g || g->n_key_envelopes == 0 || g->key_envelopes[0]->wrapped_key.len == 0)
                return -EINVAL;
        /* The last byte is in the AEAD tag for both envelope suites. */
        g->key_envelopes[0]->wrapped_key.data[g->key_envelopes[0]->wrapped_key.len - 1] ^= 0x01;
        return 0;
}

/* Builds the Open exactly as `webtty exec` does (helper/exec.c send_open,
 * open_add_e2e), then applies the defect. */
static int forge_open(client_ctx *cx, const Webtty__ServerHello *hello, forged_open *f) {
        const forge_opts *o = cx->o;
        _cleanup_(endpoint_identity_freep) endpoint_identity *fresh = NULL;
        _cleanup_free_ char *err = NULL;
        const endpoint_identity *signer = cx->me;
        Webtty__Message m = WEBTTY__MESSAGE__INIT;
        struct timespec now;
        int r;

        webtty__options__init(&f->opts);
        webtty__config__init(&f->cfg);
        webtty__open__init(&f->open);
        f->cfg.options = &f->opts;
        f->cfg.n_cmd_args = o->argc;
        f->cfg.cmd_args = o->argv;
        f->open.config = &f->cfg;

        if (!defect_is(o, "missing-grant")) {
                enckey *recipient = NULL;
                r = enckey_from_public(cx->server.enc_pub, cx->server.enc_pub_len, &recipient);
                if (r >= 0) {
                        const enckey *rs[1] = {recipient};
                        r = e2e_grant_build(rs, 1, NULL, 0, NULL, &f->grant, &f->e2e, &err);
                }
                enckey_free(recipient);
                if (r < 0) {
                        fprintf(stderr, "wt-forge: grant: %s\n", err ? err : strerror(-r));
                        return r;
                }
                f->caps[0] = WEBTTY__OPEN_CAPABILITY__OPEN_CAPABILITY_ENCRYPTED_PAYLOAD;
                f->caps[1] = WEBTTY__OPEN_CAPABILITY__OPEN_CAPABILITY_SESSION_CRYPTO;
                f->open.n_capabilities = 2;
                f->open.capabilities = f->caps;
                f->open.session_key_grant = f->grant;
                f->grant_payload_suite = (uint32_t) f->grant->payload_suite;
                f->grant_envelope_suite = (uint32_t) f->grant->key_envelope_suite;
        }
        if (defect_is(o, "tampered-grant-signed")) {
                r = tamper_grant(f->grant);
                if (r < 0)
                        return r;
        }

        if (defect_is(o, "unknown-key")) {
                r = endpoint_identity_generate(ENCKEY_SUITE_X25519, &fresh);
                if (r < 0)
                        return r;
                signer = fresh;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        if (defect_is(o, "expired"))
                now.tv_sec -= 60; /* issued -60 s, expires -30 s */
        else if (defect_is(o, "future"))
                now.tv_sec += 60; /* issued +60 s */
        if (!defect_is(o, "missing-proof")) {
                auth_identity id = {
                        .signing = signer->sig,
                        .signing_key_id = signer->pub.sig_id,
                        .signing_public_key = signer->pub.sig_spki,
                        .encryption = signer->enc,
                };
                auth_client_config cc = {.transport = cx->transport, .now = &now};

                r = auth_client_proof_build(&id, &cx->pin, hello, &f->open, &cc, &f->proof, &err);
                if (r < 0) {
                        fprintf(stderr, "wt-forge: proof: %s\n", err ? err : strerror(-r));
                        return r;
                }
                f->open.client_proof = f->proof;
        }
        if (f->proof) {
                Webtty__ServerHello h = *hello;
                uint8_t nonce[AUTH_NONCE_LEN];
                char when[21];

                r = 0;
                if (defect_is(o, "long-lifetime")) {
                        struct timespec issued;
                        r = auth_parse_rfc3339(f->proof->issued_at, &issued);
                        if (r >= 0)
                                r = auth_format_rfc3339(issued.tv_sec + 60, when);
                        if (r >= 0)
                                r = replace_string(&f->proof->expires_at, when);
                        if (r >= 0)
                                r = proof_resign(signer, hello, &f->open, cx->transport, f->proof);
                } else if (defect_is(o, "wrong-transport"))
                        r = proof_resign(signer, hello, &f->open,
                                         o->transport_name ? o->transport_name
                                                           : other_transport(cx->transport),
                                         f->proof);
                else if (defect_is(o, "wrong-nonce")) {
                        memcpy(nonce, hello->session_nonce.data,
                               MIN(sizeof(nonce), hello->session_nonce.len));
                        nonce[0] ^= 0x01;
                        h.session_nonce.data = nonce;
                        r = proof_resign(signer, &h, &f->open, cx->transport, f->proof);
                } else if (defect_is(o, "wrong-session-id")) {
                        h.session_id = (char *) "wt-forge-not-this-session";
                        r = proof_resign(signer, &h, &f->open, cx->transport, f->proof);
                }
                if (r < 0)
                        return r;
        }
        /* After signing: the bytes that travel no longer match what was signed. */
        if (defect_is(o, "bad-signature")) {
                if (!f->proof || f->proof->signature.len == 0)
                        return -EINVAL;
                f->proof->signature.data[f->proof->signature.len - 1] ^= 0x01;
        }
        if (defect_is(o, "tampered-grant")) {
                r = tamper_grant(f->grant);
                if (r < 0)
                        return r;
        }
        m.payload_case = WEBTTY__MESSAGE__PAYLOAD_OPEN;
        m.open = &f->open;
        return wmsg_pack(&m, &f->packed, &f->packed_len);
}

/* ---- client: after the Ack ------------------------------------------------ */

/* stdin sealed for the session, then modified by the defect. */
static int forge_stdin(const forge_opts *o, e2e_session *s, const uint8_t *pt, size_t n, uint8_t **ret,
                       size_t *ret_len) {
        _cleanup_free_ uint8_t *sealed = NULL;
        Webtty__Message *m;
        size_t len;
        char err[160];
        int r;

        if (defect_is(o, "plaintext-stdin") || !s) {
                Webtty__Data d = WEBTTY__DATA__INIT;
                Webtty__Message pm = WEBTTY__MESSAGE__INIT;
                d.type = WEBTTY__DATA__TYPE__TYPE_STDIN;
                d.payload_case = WEBTTY__DATA__PAYLOAD_DATA;
                d.data.data = (uint8_t *) pt;
                d.data.len = n;
                pm.payload_case = WEBTTY__MESSAGE__PAYLOAD_DATA;
                pm.data = &d;
                return wmsg_pack(&pm, ret, ret_len);
        }
        r = e2e_seal_data_alloc(s, defect_is(o, "wrong-stream-label") ? E2E_STREAM_STDOUT : E2E_STREAM_STDIN,
                                pt, n, &sealed, &len);
        if (r < 0)
                return r;
        if (!defect_is(o, "wrong-stream-label") && !defect_is(o, "bad-payload-tag")) {
                *ret = TAKE_PTR(sealed);
                *ret_len = len;
                return 0;
        }
        m = wmsg_unpack(sealed, len, err, sizeof(err));
        if (!m || !m->data || !m->data->encrypted_data)
                return -EBADMSG;
        if (defect_is(o, "wrong-stream-label"))
                m->data->type = WEBTTY__DATA__TYPE__TYPE_STDIN; /* sealed under "stdout", sent as stdin */
        else {
                ProtobufCBinaryData *ct = &m->data->encrypted_data->ciphertext;
                ct->data[ct->len - 1] ^= 0x01; /* in the GCM tag */
        }
        r = wmsg_pack(m, ret, ret_len);
        wmsg_free(m);
        return r;
}

static int send_stdin(client_ctx *cx, fconn *c, e2e_session *s, const uint8_t *p, size_t n) {
        for (size_t off = 0; off < n;) {
                size_t chunk = MIN(n - off, (size_t) STDIN_CHUNK), len;
                _cleanup_free_ uint8_t *msg = NULL;
                int r = forge_stdin(cx->o, s, p + off, chunk, &msg, &len);
                if (r < 0)
                        return r;
                r = fconn_send(c, msg, len);
                if (r < 0)
                        return r;
                off += chunk;
        }
        return 0;
}

static void deliver(result *res, e2e_session *s, const Webtty__Data *d) {
        buf *b = d->type == WEBTTY__DATA__TYPE__TYPE_STDERR ? &res->err : &res->out;

        if (d->payload_case == WEBTTY__DATA__PAYLOAD_DATA) {
                if (s && !res->fatal)
                        res->fatal = strdup("cleartext output in an E2E session");
                (void) buf_append(b, d->data.data, d->data.len);
        } else if (d->payload_case == WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA && s) {
                _cleanup_free_ char *err = NULL;
                uint8_t *pt = NULL;
                size_t n = 0;
                if (e2e_open_data_alloc(s, (e2e_stream) d->type, d, &pt, &n, &err) < 0) {
                        if (!res->fatal)
                                res->fatal = err ? TAKE_PTR(err) : strdup("decrypt failed");
                        return;
                }
                (void) buf_append(b, pt, n);
                sodium_memzero(pt, n);
                free(pt);
        }
}

/* Reads until Close, Error, or the end of the transport. */
static void read_session(client_ctx *cx, fconn *c, e2e_session *s, result *res) {
        for (;;) {
                Webtty__Message *m = NULL;
                int r = fconn_recv_msg(c, cx->o->timeout_ms, &m);

                if (r <= 0)
                        break;
                if (m->payload_case != WEBTTY__MESSAGE__PAYLOAD_HEARTBEAT && res->n_after < MAX_AFTER)
                        res->after[res->n_after++] = kind_name(m);
                switch (m->payload_case) {
                case WEBTTY__MESSAGE__PAYLOAD_DATA:
                        if (m->data)
                                deliver(res, s, m->data);
                        break;
                case WEBTTY__MESSAGE__PAYLOAD_CLOSE:
                        res->has_close = true;
                        res->close_code = m->close ? m->close->return_code : 0;
                        break;
                case WEBTTY__MESSAGE__PAYLOAD_ERROR:
                case WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR:
                        result_note_error(res, m);
                        break;
                default:
                        break;
                }
                bool done = res->has_close || m->payload_case == WEBTTY__MESSAGE__PAYLOAD_ERROR ||
                            m->payload_case == WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR;
                wmsg_free(m);
                if (done)
                        break;
        }
}

/* ---- client: one connection ---------------------------------------------- */

/* Connects and reads the ServerHello; verifies it against the pin. */
static int client_hello(client_ctx *cx, fconn *c, Webtty__Message **ret_hello, result *res) {
        _cleanup_free_ char *err = NULL;
        Webtty__Message *m = NULL;
        int r;

        r = fconn_connect(c, cx->o->url, cx->o->token_file);
        if (r < 0)
                return r;
        cx->transport = c->ws ? "websocket" : "plain";
        r = fconn_recv_msg(c, cx->o->timeout_ms, &m);
        if (r <= 0) {
                fprintf(stderr, "wt-forge: no ServerHello: %s\n",
                        r == 0 ? "connection ended" : strerror(-r));
                return r == 0 ? -ECONNRESET : r;
        }
        if (m->payload_case != WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO) {
                res->first = kind_name(m);
                result_note_error(res, m);
                wmsg_free(m);
                fprintf(stderr, "wt-forge: expected a ServerHello, got %s\n", res->first);
                return -EPROTO;
        }
        r = auth_server_hello_verify(m->server_hello, &cx->pin, cx->transport, &err);
        if (r < 0) {
                fprintf(stderr, "wt-forge: %s\n", err ? err : "ServerHello verification failed");
                wmsg_free(m);
                return r;
        }
        *ret_hello = m;
        return 0;
}

/* Sends open_bytes on a connection whose hello was read and collects the
 * answer into res; after an Ack plays the stdin part of the defect. */
static void client_exchange(client_ctx *cx, fconn *c, const uint8_t *open_bytes, size_t open_len,
                            e2e_session *s, result *res) {
        const forge_opts *o = cx->o;
        Webtty__Message *m = NULL;
        int r;

        r = fconn_send(c, open_bytes, open_len);
        if (r < 0) {
                result_note_end(res, c);
                return;
        }
        r = fconn_recv_msg(c, o->timeout_ms, &m);
        if (r <= 0) {
                (void) fconn_wait_end(c, o->end_wait_ms);
                result_note_end(res, c);
                return;
        }
        res->first = kind_name(m);
        if (m->payload_case != WEBTTY__MESSAGE__PAYLOAD_ACK) {
                result_note_error(res, m);
                wmsg_free(m);
                (void) fconn_wait_end(c, o->end_wait_ms);
                result_note_end(res, c);
                return;
        }
        wmsg_free(m);
        res->ack = true;

        if (defect_is(o, "plaintext-stdin") || defect_is(o, "bad-payload-tag") ||
            defect_is(o, "wrong-stream-label")) {
                const char *text = o->stdin_text ? o->stdin_text : "wt-forge stdin\n";
                r = send_stdin(cx, c, s, (const uint8_t *) text, strlen(text));
                /* No eos: a child waiting for input must not get it from anywhere. */
        } else {
                if (o->stdin_text)
                        r = send_stdin(cx, c, s, (const uint8_t *) o->stdin_text, strlen(o->stdin_text));
                if (r >= 0) {
                        _cleanup_free_ uint8_t *eos = NULL;
                        size_t len;
                        r = wmsg_pack_eos(WEBTTY__DATA__TYPE__TYPE_STDIN, &eos, &len);
                        if (r >= 0)
                                r = fconn_send(c, eos, len);
                }
        }
        read_session(cx, c, s, res);
        (void) fconn_wait_end(c, res->has_close ? 200 : o->end_wait_ms);
        result_note_end(res, c);
}

static void print_hello(FILE *f, const Webtty__ServerHello *h) {
        fputs("{\"payload_suites\":[", f);
        for (size_t i = 0; i < h->n_payload_suites; i++)
                fprintf(f, "%s%d", i ? "," : "", (int) h->payload_suites[i]);
        fputs("],\"key_envelope_suites\":[", f);
        for (size_t i = 0; i < h->n_key_envelope_suites; i++)
                fprintf(f, "%s%d", i ? "," : "", (int) h->key_envelope_suites[i]);
        fprintf(f, "],\"identity_suite\":%d,\"auth_requirement\":%d,\"session_id\":",
                h->server_identity ? (int) h->server_identity->key_envelope_suite : 0,
                (int) h->auth_requirement);
        json_str(f, h->session_id);
        fputc('}', f);
}

static int client_main(const forge_opts *o) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *me = NULL;
        _cleanup_free_ char *err = NULL;
        client_ctx cx = {.o = o};
        Webtty__Message *hello = NULL;
        forged_open f = {};
        result res = {}, first = {};
        fconn c = {.fd = -1};
        int r;

        r = endpoint_identity_load(o->identity_file, &me, &err);
        if (r < 0) {
                fprintf(stderr, "wt-forge: %s\n", err ? err : strerror(-r));
                return 1;
        }
        cx.me = me;
        r = endpoint_public_parse_identity(o->server_key, &cx.server, &err);
        if (r < 0) {
                fprintf(stderr, "wt-forge: --server-key: %s\n", err ? err : strerror(-r));
                return 1;
        }
        cx.pin.key_envelope_suite = cx.server.suite;
        memcpy(cx.pin.encryption_key_id, cx.server.enc_id, ENCKEY_ID_LEN);
        memcpy(cx.pin.encryption_public_key, cx.server.enc_pub, cx.server.enc_pub_len);
        cx.pin.encryption_public_key_len = cx.server.enc_pub_len;
        memcpy(cx.pin.signing_key_id, cx.server.sig_id, SIGKEY_ID_LEN);
        memcpy(cx.pin.signing_public_key, cx.server.sig_spki, SIGKEY_SPKI_LEN);

        r = client_hello(&cx, &c, &hello, &res);
        if (r >= 0)
                r = forge_open(&cx, hello->server_hello, &f);
        if (r >= 0 && defect_is(o, "replay")) {
                /* Connection 1 uses the Open for real; connection 2 replays the
                 * very same bytes after a fresh ServerHello. */
                client_exchange(&cx, &c, f.packed, f.packed_len, f.e2e, &first);
                fconn_close(&c);
                wmsg_free(hello);
                hello = NULL;
                r = client_hello(&cx, &c, &hello, &res);
                if (r >= 0)
                        client_exchange(&cx, &c, f.packed, f.packed_len, NULL, &res);
        } else if (r >= 0)
                client_exchange(&cx, &c, f.packed, f.packed_len, f.e2e, &res);
        fconn_close(&c);

        if (r >= 0) {
                printf("{\"mode\":\"client\",\"defect\":");
                json_str(stdout, o->defect);
                printf(",\"transport\":");
                json_str(stdout, cx.transport);
                printf(",\"hello\":");
                print_hello(stdout, hello->server_hello);
                printf(",\"grant\":");
                if (f.grant)
                        printf("{\"payload_suite\":%u,\"key_envelope_suite\":%u}", f.grant_payload_suite,
                               f.grant_envelope_suite);
                else
                        printf("null");
                if (defect_is(o, "replay")) {
                        printf(",\"replay_first\":");
                        result_print(stdout, &first);
                }
                printf(",\"result\":");
                result_print(stdout, &res);
                printf("}\n");
                fflush(stdout);
        }
        wmsg_free(hello);
        forged_open_done(&f);
        result_done(&res);
        result_done(&first);
        return r < 0 ? 1 : 0;
}

/* ---- server --------------------------------------------------------------- */

typedef struct server_report {
        const char *received[MAX_AFTER]; /* what the client sent */
        size_t n_received;
        char *proof; /* "ok" or the verification text (defect none) */
        bool ended;
        const char *end_how;
} server_report;

static int accept_lookup(const uint8_t key_id[SIGKEY_ID_LEN], uint8_t spki_out[SIGKEY_SPKI_LEN], bool *found,
                         void *userdata) {
        const Webtty__ClientProof *p = userdata;

        /* The forge server authorizes whoever signed: it tests the client. */
        *found = p->signing_public_key.len == SIGKEY_SPKI_LEN &&
                 memcmp(p->signing_key_id.data, key_id, SIGKEY_ID_LEN) == 0;
        if (*found)
                memcpy(spki_out, p->signing_public_key.data, SIGKEY_SPKI_LEN);
        return 0;
}

/* Re-signs a (modified) hello properly with id: a downgrade an attacker
 * holding the key could produce, which the client must still refuse. */
static int hello_resign(const endpoint_identity *id, Webtty__ServerHello *h, const char *transport) {
        _cleanup_free_ uint32_t *ps = calloc(h->n_payload_suites + 1, sizeof(uint32_t));
        _cleanup_free_ uint32_t *ks = calloc(h->n_key_envelope_suites + 1, sizeof(uint32_t));
        _cleanup_free_ uint32_t *ss = calloc(h->n_signature_suites + 1, sizeof(uint32_t));
        _cleanup_free_ uint8_t *sig = NULL;
        uint8_t hash[AUTH_HASH_LEN];
        size_t sig_len;
        int r;

        if (!ps || !ks || !ss)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_payload_suites; i++)
                ps[i] = (uint32_t) h->payload_suites[i];
        for (size_t i = 0; i < h->n_key_envelope_suites; i++)
                ks[i] = (uint32_t) h->key_envelope_suites[i];
        for (size_t i = 0; i < h->n_signature_suites; i++)
                ss[i] = (uint32_t) h->signature_suites[i];
        auth_server_transcript t = {
                .protocol_version = (uint32_t) h->protocol_version,
                .transport = transport,
                .workspace_id = string_value(h->workspace_id),
                .project_id = string_value(h->project_id),
                .server_id = string_value(h->server_id),
                .session_id = h->session_id,
                .server_signing_key_id = {h->server_identity->signing_key_id.data,
                                          h->server_identity->signing_key_id.len},
                .server_encryption_key_id = {h->server_identity->encryption_key_id.data,
                                             h->server_identity->encryption_key_id.len},
                .server_nonce = {h->session_nonce.data, h->session_nonce.len},
                .auth_requirement = (uint32_t) h->auth_requirement,
                .payload_suites = ps,
                .n_payload_suites = h->n_payload_suites,
                .key_envelope_suites = ks,
                .n_key_envelope_suites = h->n_key_envelope_suites,
                .signature_suites = ss,
                .n_signature_suites = h->n_signature_suites,
        };
        r = auth_server_transcript_hash(&t, hash);
        if (r >= 0)
                r = sigkey_sign(id->sig, hash, &sig, &sig_len);
        if (r >= 0)
                r = replace_bytes(&h->server_proof->transcript_hash, hash, sizeof(hash));
        if (r >= 0)
                r = replace_bytes(&h->server_proof->signature, sig, sig_len);
        return r;
}

static int listen_unix(const char *spec) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const char *path;
        _cleanup_close_ int fd = -1;

        if (strncmp(spec, "unix:", 5) != 0)
                return -EINVAL;
        path = spec + 5;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        (void) unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/* defect none: verify the proof, open the grant, Ack, one encrypted stdout
 * line, Close 0: the positive control for the broken hellos. */
static void serve_session(const endpoint_identity *id, fconn *c, const uint8_t nonce[AUTH_NONCE_LEN],
                          const char *session_id, const Webtty__Open *open, server_report *rep) {
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ uint8_t *sealed = NULL, *close_msg = NULL, *ack = NULL;
        e2e_session *s = NULL;
        auth_verifier v = {
                .server =
                        {
                                .transport = "plain",
                                .session_id = session_id,
                                .server_signing_key_id = id->pub.sig_id,
                                .server_encryption_key_id = id->pub.enc_id,
                                .key_envelope_suite = id->pub.suite,
                                .nonce = nonce,
                        },
                .lookup = accept_lookup,
                .userdata = open->client_proof,
        };
        static const char line[] = "wt-forge-ok\n";
        size_t len;
        int code = 0, r;

        if (!open->client_proof) {
                rep->proof = strdup("no proof");
                return;
        }
        r = auth_client_proof_verify(&v, open, &code, &err, NULL);
        if (r < 0) {
                rep->proof = err ? TAKE_PTR(err) : strdup("proof rejected");
                return;
        }
        r = e2e_grant_open(open->session_key_grant, id->enc, &s, &err);
        if (r < 0) {
                rep->proof = err ? TAKE_PTR(err) : strdup("grant rejected");
                return;
        }
        rep->proof = strdup("ok");
        if (wmsg_pack_ack(&ack, &len) >= 0)
                (void) fconn_send(c, ack, len);
        if (e2e_seal_data_alloc(s, E2E_STREAM_STDOUT, (const uint8_t *) line, sizeof(line) - 1, &sealed,
                                &len) >= 0)
                (void) fconn_send(c, sealed, len);
        if (wmsg_pack_close(0, &close_msg, &len) >= 0)
                (void) fconn_send(c, close_msg, len);
        e2e_session_free(s);
}

static int server_main(const forge_opts *o) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL, *other = NULL;
        _cleanup_free_ char *err = NULL;
        _cleanup_close_ int lfd = -1;
        static const char session_id[] = "wtforge0000000000000001";
        uint8_t nonce[AUTH_NONCE_LEN];
        Webtty__ServerHello *hello = NULL;
        server_report rep = {};
        fconn c = {.fd = -1};
        struct pollfd p;
        int r;

        r = endpoint_identity_load(o->identity_file, &id, &err);
        if (r < 0) {
                fprintf(stderr, "wt-forge: %s\n", err ? err : strerror(-r));
                return 1;
        }
        if (defect_is(o, "wrong-key") || defect_is(o, "wrong-signer")) {
                r = endpoint_identity_generate(id->pub.suite, &other);
                if (r < 0)
                        return 1;
        }
        lfd = listen_unix(o->listen);
        if (lfd < 0) {
                fprintf(stderr, "wt-forge: --listen %s: %s\n", o->listen, strerror(-lfd));
                return 1;
        }
        fprintf(stderr, "wt-forge: listening on %s\n", o->listen);
        fflush(stderr);
        p = (struct pollfd){.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, o->timeout_ms) <= 0) {
                fprintf(stderr, "wt-forge: no connection\n");
                return 1;
        }
        c.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c.fd < 0)
                return 1;

        if (!defect_is(o, "no-hello")) {
                const endpoint_identity *as = defect_is(o, "wrong-key") ? other : id;
                auth_identity ai = {
                        .signing = as->sig,
                        .signing_key_id = as->pub.sig_id,
                        .signing_public_key = as->pub.sig_spki,
                        .encryption = as->enc,
                };
                auth_server_config cfg = {
                        .transport = "plain",
                        .session_id = session_id,
                        .require_client_proof = true,
                };
                Webtty__Message m = WEBTTY__MESSAGE__INIT;

                r = auth_server_hello_build(&ai, &cfg, nonce, &hello);
                if (r < 0)
                        return 1;
                if (defect_is(o, "bad-proof"))
                        hello->server_proof->signature.data[hello->server_proof->signature.len - 1] ^= 0x01;
                else if (defect_is(o, "wrong-signer"))
                        r = hello_resign(other, hello,
                                         "plain"); /* right identity, someone else's signature */
                else if (defect_is(o, "downgrade")) {
                        /* One extra (weaker) payload suite, correctly signed. */
                        Webtty__PayloadCipherSuite *ps =
                                realloc(hello->payload_suites, (hello->n_payload_suites + 1) * sizeof(*ps));
                        if (!ps)
                                return 1;
                        ps[hello->n_payload_suites++] =
                                WEBTTY__PAYLOAD_CIPHER_SUITE__PAYLOAD_CIPHER_SUITE_CHACHA20_POLY1305;
                        hello->payload_suites = ps;
                        r = hello_resign(id, hello, "plain");
                } else if (defect_is(o, "downgrade-auth"))
                        /* Client proof no longer required, changed after signing. */
                        hello->auth_requirement = WEBTTY__AUTH_REQUIREMENT__AUTH_REQUIREMENT_NONE;
                if (r < 0)
                        return 1;
                m.payload_case = WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO;
                m.server_hello = hello;
                r = fconn_send_msg(&c, &m);
                if (r < 0)
                        fprintf(stderr, "wt-forge: send ServerHello: %s\n", strerror(-r));
        }

        for (;;) {
                Webtty__Message *m = NULL;
                r = fconn_recv_msg(&c, o->timeout_ms, &m);
                if (r <= 0)
                        break;
                if (rep.n_received < MAX_AFTER)
                        rep.received[rep.n_received++] = kind_name(m);
                if (m->payload_case == WEBTTY__MESSAGE__PAYLOAD_OPEN && m->open && defect_is(o, "none"))
                        serve_session(id, &c, nonce, session_id, m->open, &rep);
                wmsg_free(m);
        }
        rep.ended = c.ended;
        rep.end_how = c.ended ? c.end_how : NULL;
        fconn_close(&c);
        auth_server_hello_free(hello);

        printf("{\"mode\":\"server\",\"defect\":");
        json_str(stdout, o->defect);
        printf(",\"received\":[");
        for (size_t i = 0; i < rep.n_received; i++) {
                if (i)
                        putchar(',');
                json_str(stdout, rep.received[i]);
        }
        printf("],\"proof\":");
        json_str(stdout, rep.proof);
        printf(",\"ended\":%s,\"end\":", rep.ended ? "true" : "false");
        json_str(stdout, rep.end_how);
        printf("}\n");
        fflush(stdout);
        free(rep.proof);
        return 0;
}

/* ---- main ----------------------------------------------------------------- */

static int parse_ms(const char *s, int *ret) {
        char *end;
        long v = strtol(s, &end, 10);

        if (end == s || *end || v <= 0 || v > 600000)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

static int parse_args(int argc, char **argv, forge_opts *o) {
        static const struct option longopts[] = {
                {"url", required_argument, NULL, 'u'},
                {"listen", required_argument, NULL, 'l'},
                {"server-key", required_argument, NULL, 'k'},
                {"identity-file", required_argument, NULL, 'i'},
                {"defect", required_argument, NULL, 'd'},
                {"auth-token-file", required_argument, NULL, 'T'},
                {"transport-name", required_argument, NULL, 'n'},
                {"stdin", required_argument, NULL, 's'},
                {"timeout", required_argument, NULL, 't'},
                {"end-wait", required_argument, NULL, 'e'},
                {},
        };
        int c;

        if (argc < 2)
                return -EINVAL;
        *o = (forge_opts){.mode = argv[1],
                          .timeout_ms = DEFAULT_TIMEOUT_MS,
                          .end_wait_ms = DEFAULT_END_WAIT_MS,
                          .defect = "none"};
        optind = 2;
        while ((c = getopt_long(argc, argv, "+", longopts, NULL)) >= 0) {
                switch (c) {
                case 'u':
                        o->url = optarg;
                        break;
                case 'l':
                        o->listen = optarg;
                        break;
                case 'k':
                        o->server_key = optarg;
                        break;
                case 'i':
                        o->identity_file = optarg;
                        break;
                case 'd':
                        o->defect = optarg;
                        break;
                case 'T':
                        o->token_file = optarg;
                        break;
                case 'n':
                        o->transport_name = optarg;
                        break;
                case 's':
                        o->stdin_text = optarg;
                        break;
                case 't':
                        if (parse_ms(optarg, &o->timeout_ms) < 0)
                                return -EINVAL;
                        break;
                case 'e':
                        if (parse_ms(optarg, &o->end_wait_ms) < 0)
                                return -EINVAL;
                        break;
                default:
                        return -EINVAL;
                }
        }
        o->argv = argv + optind;
        o->argc = (size_t) (argc - optind);
        if (!o->identity_file)
                return -EINVAL;
        if (strcmp(o->mode, "client") == 0)
                return o->url && o->server_key && o->argc > 0 &&
                                       in_list(o->defect, client_defects, ELEMENTSOF(client_defects))
                               ? 0
                               : -EINVAL;
        if (strcmp(o->mode, "server") == 0)
                return o->listen && in_list(o->defect, server_defects, ELEMENTSOF(server_defects)) ? 0
                                                                                                   : -EINVAL;
        return -EINVAL;
}

int main(int argc, char **argv) {
        forge_opts o;

        if (parse_args(argc, argv, &o) < 0) {
                usage();
                return 2;
        }
        if (sodium_init() < 0)
                return 1;
        (void) signal(SIGPIPE, SIG_IGN);
        return strcmp(o.mode, "client") == 0 ? client_main(&o) : server_main(&o);
}
