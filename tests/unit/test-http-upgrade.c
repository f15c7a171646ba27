/* Unit tests for lib/http_upgrade.c: request parser, validation, accept key,
 * responses, bearer and Origin rules, and the client side. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf; the build also gets it from config.h */
#endif

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_upgrade.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(http_upgrade_parser, http_upgrade_parser_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(http_upgrade_response_parser, http_upgrade_response_parser_free);

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define GOOD_REQUEST                                                                                        \
        "GET /chat?x=1 HTTP/1.1\r\n"                                                                        \
        "Host: server.example.com:8080\r\n"                                                                 \
        "upgrade: WebSocket\r\n"                                                                            \
        "Connection: keep-alive, Upgrade\r\n"                                                               \
        "Sec-WebSocket-Key: " RFC_KEY "\r\n"                                                                \
        "Origin: http://example.com\r\n"                                                                    \
        "Authorization: Bearer s3cret  \r\n"                                                                \
        "Sec-WebSocket-Version: 13\r\n"                                                                     \
        "User-Agent: test\r\n"                                                                              \
        "\r\n"

static const uint8_t *u8(const char *s) {
        return (const uint8_t *) s;
}

/* Feeds s in one go; returns feed's result. */
static int parse_request(const char *s, http_upgrade_parser **ret, size_t *consumed) {
        size_t c = 0;
        int r;

        ck_assert_int_eq(http_upgrade_parser_new(ret), 0);
        r = http_upgrade_parser_feed(*ret, u8(s), strlen(s), &c);
        if (consumed)
                *consumed = c;
        return r;
}

static int parse_request_result(const char *s) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;

        return parse_request(s, &p, NULL);
}

/* Validation of a request built from the good one with one line replaced. */
static int validate_text(const char *s, const char **why) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;

        ck_assert_int_eq(parse_request(s, &p, NULL), 1);
        return http_upgrade_validate(http_upgrade_parser_request(p), why);
}

static char *request_with(const char *extra_headers, const char *key, const char *version) {
        char *s = NULL;
        char vline[128] = "", kline[128] = "";

        if (key)
                snprintf(kline, sizeof(kline), "Sec-WebSocket-Key: %s\r\n", key);
        if (version)
                snprintf(vline, sizeof(vline), "Sec-WebSocket-Version: %s\r\n", version);
        ck_assert_int_ge(
                asprintf(&s,
                         "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "%s%s%s\r\n",
                         kline, vline, extra_headers ? extra_headers : ""),
                0);
        return s;
}

/* ---- request parser ---- */

START_TEST(test_request_one_feed) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
        const http_upgrade_request *r;
        const char *why = "x";
        size_t consumed = 0;

        ck_assert_int_eq(parse_request(GOOD_REQUEST, &p, &consumed), 1);
        ck_assert_uint_eq(consumed, strlen(GOOD_REQUEST));
        r = http_upgrade_parser_request(p);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->path, "/chat?x=1");
        ck_assert_str_eq(r->host, "server.example.com:8080");
        ck_assert_str_eq(r->origin, "http://example.com");
        ck_assert_str_eq(r->authorization, "Bearer s3cret");
        ck_assert_str_eq(r->ws_key, RFC_KEY);
        ck_assert_str_eq(r->ws_version, "13");
        ck_assert(r->upgrade_websocket);
        ck_assert(r->connection_upgrade);
        ck_assert_uint_eq(r->http_major, 1);
        ck_assert_uint_eq(r->http_minor, 1);
        ck_assert_int_eq(http_upgrade_validate(r, &why), 0);
        ck_assert_ptr_null(why);

        /* Sticky: more bytes are not consumed. */
        ck_assert_int_eq(http_upgrade_parser_feed(p, u8("xx"), 2, &consumed), 1);
        ck_assert_uint_eq(consumed, 0);
}
END_TEST

START_TEST(test_request_byte_by_byte) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
        const char *s = GOOD_REQUEST;
        size_t n = strlen(s), consumed;
        const http_upgrade_request *r;

        ck_assert_int_eq(http_upgrade_parser_new(&p), 0);
        for (size_t i = 0; i < n; i++) {
                int k = http_upgrade_parser_feed(p, u8(s + i), 1, &consumed);

                ck_assert_uint_eq(consumed, 1);
                if (i + 1 < n) {
                        ck_assert_int_eq(k, 0);
                        ck_assert_ptr_null(http_upgrade_parser_request(p));
                } else
                        ck_assert_int_eq(k, 1);
        }
        r = http_upgrade_parser_request(p);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->host, "server.example.com:8080");
        ck_assert_str_eq(r->authorization, "Bearer s3cret");
        ck_assert_str_eq(r->ws_key, RFC_KEY);
        ck_assert_int_eq(http_upgrade_validate(r, NULL), 0);
}
END_TEST

START_TEST(test_request_zero_length_feed) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
        size_t consumed = 1;

        ck_assert_int_eq(http_upgrade_parser_new(&p), 0);
        ck_assert_int_eq(http_upgrade_parser_feed(p, NULL, 0, &consumed), 0);
        ck_assert_uint_eq(consumed, 0);
        ck_assert_int_eq(http_upgrade_parser_feed(p, NULL, 5, &consumed), -EINVAL);
}
END_TEST

START_TEST(test_request_with_trailing_websocket_bytes) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
        static const char frame[] = "\x82\x85\x01\x02\x03\x04hello";
        size_t hlen = strlen(GOOD_REQUEST), consumed = 0;
        uint8_t buf[1024];

        memcpy(buf, GOOD_REQUEST, hlen);
        memcpy(buf + hlen, frame, sizeof(frame) - 1);

        ck_assert_int_eq(http_upgrade_parser_new(&p), 0);
        ck_assert_int_eq(http_upgrade_parser_feed(p, buf, hlen + sizeof(frame) - 1, &consumed), 1);
        ck_assert_uint_eq(consumed, hlen);
        p = http_upgrade_parser_free(p);

        /* The end of the header block arrives together with frame bytes. */
        ck_assert_int_eq(http_upgrade_parser_new(&p), 0);
        ck_assert_int_eq(http_upgrade_parser_feed(p, buf, hlen - 3, &consumed), 0);
        ck_assert_uint_eq(consumed, hlen - 3);
        ck_assert_int_eq(http_upgrade_parser_feed(p, buf + hlen - 3, 3 + sizeof(frame) - 1, &consumed), 1);
        ck_assert_uint_eq(consumed, 3);
        ck_assert_int_eq(http_upgrade_validate(http_upgrade_parser_request(p), NULL), 0);
}
END_TEST

START_TEST(test_request_body_not_read) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
        static const char s[] = "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
        size_t consumed;

        ck_assert_int_eq(parse_request(s, &p, &consumed), 1);
        ck_assert_uint_eq(consumed, strlen(s) - 4);
}
END_TEST

START_TEST(test_request_malformed) {
        static const char *const bad[] = {
                "HELLO\r\n\r\n",
                "GET\r\n\r\n",
                "GET / HTTP/1.1 extra\r\n\r\n",
                "GET / HTTP/x.1\r\nHost: h\r\n\r\n",
                "HTTP/1.1 200 OK\r\n\r\n",
                "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: a\r\nHost : b\r\n\r\n",
                "GET / HTTP/1.1\r\nX-Other : b\r\n\r\n",
                "GET / HTTP/1.1\r\nBad Name: h\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: a\x01z\r\n\r\n",
                "GET /a b HTTP/1.1\r\n\r\n",
                "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
                /* single-valued fields repeated, in any case */
                "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
                "GET / HTTP/1.1\r\nOrigin: http://a\r\nORIGIN: http://a\r\n\r\n",
                "GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
                "GET / HTTP/1.1\r\nSec-WebSocket-Key: " RFC_KEY "\r\nsec-websocket-key: " RFC_KEY "\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: a\r\nHost:\r\n\r\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
                size_t consumed;
                int r = parse_request(bad[i], &p, &consumed);

                ck_assert_msg(r == -EBADMSG, "case %zu: got %d", i, r);
                ck_assert_ptr_null(http_upgrade_parser_request(p));
                /* Sticky. */
                ck_assert_int_eq(http_upgrade_parser_feed(p, u8("\r\n"), 2, &consumed), -EBADMSG);
                ck_assert_uint_eq(consumed, 0);
        }

        /* An embedded NUL, fed with its length. */
        {
                _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
                static const char s[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
                size_t consumed;

                ck_assert_int_eq(http_upgrade_parser_new(&p), 0);
                ck_assert_int_eq(http_upgrade_parser_feed(p, u8(s), sizeof(s) - 1, &consumed), -EBADMSG);
        }
}
END_TEST

START_TEST(test_request_repeats_allowed) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
        static const char s[] = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: foo\r\nUpgrade: websocket\r\n"
                                "Connection: keep-alive\r\nConnection: upgrade\r\n"
                                "Sec-WebSocket-Key: " RFC_KEY "\r\n"
                                "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Version: 13\r\n\r\n";
        const http_upgrade_request *r;

        ck_assert_int_eq(parse_request(s, &p, NULL), 1);
        r = http_upgrade_parser_request(p);
        ck_assert(r->upgrade_websocket);
        ck_assert(r->connection_upgrade);
        ck_assert_str_eq(r->ws_version, "8, 13");
        ck_assert_int_eq(http_upgrade_validate(r, NULL), 0);
}
END_TEST

START_TEST(test_request_too_large) {
        char *big;
        size_t len;

        /* A header block of exactly HTTP_UPGRADE_MAX_HEADER bytes passes ... */
        static const char head[] = "GET / HTTP/1.1\r\nX-Pad: ";
        static const char tail[] = "\r\n\r\n";
        len = HTTP_UPGRADE_MAX_HEADER;
        big = malloc(len + 64);
        ck_assert_ptr_nonnull(big);
        memcpy(big, head, strlen(head));
        memset(big + strlen(head), 'a', len - strlen(head) - strlen(tail));
        memcpy(big + len - strlen(tail), tail, strlen(tail) + 1);
        ck_assert_uint_eq(strlen(big), HTTP_UPGRADE_MAX_HEADER);
        {
                _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
                size_t consumed;

                ck_assert_int_eq(parse_request(big, &p, &consumed), 1);
                ck_assert_uint_eq(consumed, HTTP_UPGRADE_MAX_HEADER);
        }

        /* ... followed by WebSocket bytes too ... */
        memcpy(big + len, "\x82\x00", 3);
        {
                _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
                size_t consumed;

                ck_assert_int_eq(parse_request(big, &p, &consumed), 1);
                ck_assert_uint_eq(consumed, HTTP_UPGRADE_MAX_HEADER);
        }

        /* ... one byte more does not, whether fed at once or in pieces. */
        memcpy(big + strlen(head), "b", 1);
        memmove(big + strlen(head) + 1, big + strlen(head), len - strlen(head) + 1);
        big[len + 1] = '\0';
        ck_assert_uint_eq(strlen(big), HTTP_UPGRADE_MAX_HEADER + 1);
        ck_assert_int_eq(parse_request_result(big), -E2BIG);
        {
                _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
                size_t consumed, off = 0;
                int r = 0;

                ck_assert_int_eq(http_upgrade_parser_new(&p), 0);
                while (off < len + 1) {
                        size_t n = MIN((size_t) 1000, len + 1 - off);

                        r = http_upgrade_parser_feed(p, u8(big) + off, n, &consumed);
                        if (r != 0)
                                break;
                        ck_assert_uint_eq(consumed, n);
                        off += n;
                }
                ck_assert_int_eq(r, -E2BIG);
                ck_assert_int_eq(http_upgrade_parser_feed(p, u8("\r\n"), 2, &consumed), -E2BIG);
        }

        /* A single huge value. */
        free(big);
        big = malloc(3 * HTTP_UPGRADE_MAX_HEADER);
        ck_assert_ptr_nonnull(big);
        strcpy(big, "GET / HTTP/1.1\r\nAuthorization: Bearer ");
        memset(big + strlen(big), 'x', 2 * HTTP_UPGRADE_MAX_HEADER);
        strcpy(big + strlen("GET / HTTP/1.1\r\nAuthorization: Bearer ") + 2 * HTTP_UPGRADE_MAX_HEADER,
               "\r\n\r\n");
        ck_assert_int_eq(parse_request_result(big), -E2BIG);

        /* A huge request target. */
        strcpy(big, "GET /");
        memset(big + 5, 'p', 2 * HTTP_UPGRADE_MAX_HEADER);
        strcpy(big + 5 + 2 * HTTP_UPGRADE_MAX_HEADER, " HTTP/1.1\r\n\r\n");
        ck_assert_int_eq(parse_request_result(big), -E2BIG);
        free(big);
}
END_TEST

/* ---- validation ---- */

START_TEST(test_validate_key) {
        static const char *const bad_keys[] = {
                "",
                "abc",
                "dGhlIHNhbXBsZSBub25jZQ",     /* no padding */
                "dGhlIHNhbXBsZSBub25jZQ=",    /* short padding */
                "dGhlIHNhbXBsZSBub25jZR==",   /* non-zero trailing bits */
                "dGhlIHNhbXBsZSBub25j",       /* 15 bytes */
                "dGhlIHNhbXBsZSBub25jZQ==AA", /* too long */
                "dGhlIHNhbXBsZSBub25jZQ-_",   /* url alphabet */
                "dGhlIHNhbXBs ZSBub25jZQ==",
                "dGhlIHNhbXBsZSBub25jZXg=", /* 17 bytes */
        };
        const char *why = NULL;

        {
                _cleanup_free_ char *s = request_with(NULL, NULL, "13");

                ck_assert_int_eq(validate_text(s, &why), -EINVAL);
                ck_assert_ptr_nonnull(why);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_keys); i++) {
                _cleanup_free_ char *s = request_with(NULL, bad_keys[i], "13");

                why = NULL;
                ck_assert_msg(validate_text(s, &why) == -EINVAL, "key %zu", i);
                ck_assert_ptr_nonnull(why);
        }
        {
                _cleanup_free_ char *s = request_with(NULL, "AAAAAAAAAAAAAAAAAAAAAA==", "13");

                ck_assert_int_eq(validate_text(s, &why), 0);
        }
}
END_TEST

START_TEST(test_validate_version) {
        static const char *const bad[] = {"8", "12", "130", "1 3", "", "13a", "8, 7"};
        const char *why = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *s = request_with(NULL, RFC_KEY, bad[i]);

                why = NULL;
                ck_assert_msg(validate_text(s, &why) == -EINVAL, "version %zu", i);
                ck_assert_ptr_nonnull(why);
        }
        {
                _cleanup_free_ char *s = request_with(NULL, RFC_KEY, NULL);

                ck_assert_int_eq(validate_text(s, &why), -EINVAL);
        }
        {
                _cleanup_free_ char *s = request_with(NULL, RFC_KEY, " 8 , 13 ");

                ck_assert_int_eq(validate_text(s, &why), 0);
        }
}
END_TEST

START_TEST(test_validate_other) {
        const char *why;

        ck_assert_int_eq(http_upgrade_validate(NULL, &why), -EINVAL);

        why = NULL;
        ck_assert_int_eq(validate_text("POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                       "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                       &why),
                         -EINVAL);
        ck_assert_ptr_nonnull(why);
        ck_assert_int_eq(validate_text("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                       "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                       &why),
                         -EINVAL);
        ck_assert_int_eq(validate_text("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
                                       "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                       &why),
                         -EINVAL);
        ck_assert_int_eq(validate_text("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgraded\r\n"
                                       "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                       &why),
                         -EINVAL);
        ck_assert_int_eq(validate_text("GET / HTTP/1.1\r\nConnection: Upgrade\r\n"
                                       "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                       &why),
                         -EINVAL);
        ck_assert_int_eq(validate_text("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                                       "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                       &why),
                         -EINVAL);
        /* Token lists, case, white space. */
        ck_assert_int_eq(validate_text("GET / HTTP/1.1\r\nUpgrade: h2c, WEBSOCKET\r\n"
                                       "Connection: keep-alive,\tUPGRADE , close\r\n"
                                       "Sec-WebSocket-Key:   " RFC_KEY
                                       "  \r\nSec-WebSocket-Version: 13\r\n\r\n",
                                       &why),
                         0);
}
END_TEST

/* ---- accept key and responses ---- */

START_TEST(test_accept_key) {
        char out[29];

        ck_assert_int_eq(http_upgrade_accept_key(RFC_KEY, out), 0);
        ck_assert_str_eq(out, RFC_ACCEPT);
        ck_assert_int_eq(http_upgrade_accept_key(NULL, out), -EINVAL);
}
END_TEST

START_TEST(test_response_101) {
        _cleanup_free_ char *s = NULL;

        ck_assert_int_eq(http_upgrade_response_101(RFC_KEY, &s), 0);
        ck_assert_str_eq(s, "HTTP/1.1 101 Switching Protocols\r\n"
                            "Upgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
                            "\r\n");
        free(s);
        s = (char *) 1;
        ck_assert_int_eq(http_upgrade_response_101("bogus", &s), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_response_error) {
        _cleanup_free_ char *s = NULL;
        static const int known[] = {400, 401, 403, 404, 405, 426, 500, 501, 503};

        ck_assert_int_eq(http_upgrade_response_error(401, "unauthorized", &s), 0);
        ck_assert_str_eq(s, "HTTP/1.1 401 Unauthorized\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n"
                            "Content-Length: 12\r\n"
                            "Connection: close\r\n"
                            "\r\n"
                            "unauthorized");
        free(s);
        s = NULL;

        ck_assert_int_eq(http_upgrade_response_error(503, NULL, &s), 0);
        ck_assert_str_eq(s, "HTTP/1.1 503 Service Unavailable\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n"
                            "Content-Length: 0\r\n"
                            "Connection: close\r\n"
                            "\r\n");
        free(s);
        s = NULL;

        ck_assert_int_eq(http_upgrade_response_error(405, "no", &s), 0);
        ck_assert_ptr_nonnull(strstr(s, "HTTP/1.1 405 Method Not Allowed\r\n"));
        ck_assert_ptr_nonnull(strstr(s, "\r\nAllow: GET\r\n"));
        free(s);
        s = NULL;

        ck_assert_int_eq(http_upgrade_response_error(426, "v", &s), 0);
        ck_assert_ptr_nonnull(strstr(s, "HTTP/1.1 426 Upgrade Required\r\n"));
        ck_assert_ptr_nonnull(strstr(s, "\r\nSec-WebSocket-Version: 13\r\n"));
        free(s);
        s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                ck_assert_int_eq(http_upgrade_response_error(known[i], "x", &s), 0);
                ck_assert_int_eq(atoi(s + strlen("HTTP/1.1 ")), known[i]);
                free(s);
                s = NULL;
        }

        ck_assert_int_eq(http_upgrade_response_error(200, "x", &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_response_error(999, "x", &s), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

/* ---- bearer ---- */

START_TEST(test_bearer) {
        ck_assert(http_upgrade_bearer_ok("Bearer tok", "tok"));
        ck_assert(http_upgrade_bearer_ok("bearer tok", "tok"));
        ck_assert(http_upgrade_bearer_ok("BEARER tok", "tok"));
        ck_assert(http_upgrade_bearer_ok("BeArEr tok", "tok"));
        ck_assert(http_upgrade_bearer_ok("  Bearer \t  tok  ", "tok"));
        ck_assert(http_upgrade_bearer_ok("Bearer tok", " tok\n"));     /* configured token is trimmed */
        ck_assert(http_upgrade_bearer_ok("Bearer\xc2\xa0tok", "tok")); /* Go splits on U+00A0 too */
        ck_assert(http_upgrade_bearer_ok("Bearer\xe3\x80\x80tok\xe2\x80\x8a", "tok"));

        ck_assert(!http_upgrade_bearer_ok(NULL, "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearer tok", NULL));
        ck_assert(!http_upgrade_bearer_ok("Bearer tok", ""));
        ck_assert(!http_upgrade_bearer_ok("Bearer ", ""));
        ck_assert(!http_upgrade_bearer_ok("Bearer tok", "  "));
        ck_assert(!http_upgrade_bearer_ok("Bearer wrong", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearer TOK", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Basic tok", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearerx tok", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bear tok", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearer tok extra", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearer tok tok", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearer to k", "to k"));
        ck_assert(!http_upgrade_bearer_ok("Bearer", "tok"));
        ck_assert(!http_upgrade_bearer_ok("tok", "tok"));
        ck_assert(!http_upgrade_bearer_ok("", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearer to", "tok"));   /* prefix */
        ck_assert(!http_upgrade_bearer_ok("Bearer ok", "tok"));   /* suffix */
        ck_assert(!http_upgrade_bearer_ok("Bearer tokX", "tok")); /* extended */
        ck_assert(!http_upgrade_bearer_ok("Bearer Xtok", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearer tok\xc2\xa0x", "tok")); /* three fields */
        ck_assert(!http_upgrade_bearer_ok("Bearer tok\xc2\xa1", "tok"));  /* not a space */
        ck_assert(!http_upgrade_bearer_ok("Bearer tok,", "tok"));
        ck_assert(!http_upgrade_bearer_ok("Bearer tok", "tokk"));
}
END_TEST

/* ---- origin ---- */

START_TEST(test_origin) {
        char *none[] = {NULL};
        char *star[] = {"*", NULL};
        char *exact[] = {"  ", "https://app.example.com", NULL};
        char *with_port[] = {"https://app.example.com:443", "http://plain.example.com:80", NULL};
        char *bare[] = {"example.com", "dev.example.com:8443", "[::1]:9000", NULL};
        char *ws[] = {"wss://ws.example.com", NULL};

        /* No Origin at all: non-browser clients pass. */
        ck_assert(http_upgrade_origin_ok(NULL, "h", NULL, false));
        ck_assert(http_upgrade_origin_ok(NULL, NULL, none, true));
        ck_assert(http_upgrade_origin_ok("   ", NULL, none, true));

        /* "*" */
        ck_assert(http_upgrade_origin_ok("https://evil.example", "h", star, true));
        ck_assert(http_upgrade_origin_ok("http://localhost:1", "h", star, false));
        /* like the reference: an origin that does not parse fails even "*" */
        ck_assert(!http_upgrade_origin_ok("null", "h", star, true));

        /* exact, case-insensitive */
        ck_assert(http_upgrade_origin_ok("https://app.example.com", NULL, exact, true));
        ck_assert(http_upgrade_origin_ok("HTTPS://App.Example.COM", NULL, exact, true));
        ck_assert(http_upgrade_origin_ok("https://app.example.com:443", NULL, exact, true));
        ck_assert(!http_upgrade_origin_ok("http://app.example.com", NULL, exact, true));
        ck_assert(!http_upgrade_origin_ok("https://app.example.com:8443", NULL, exact, true));
        ck_assert(!http_upgrade_origin_ok("https://example.com", NULL, exact, true));
        ck_assert(!http_upgrade_origin_ok("https://xapp.example.com", NULL, exact, true));
        ck_assert(!http_upgrade_origin_ok("https://app.example.com.evil.net", NULL, exact, true));

        /* default port normalisation, both ways */
        ck_assert(http_upgrade_origin_ok("https://app.example.com", NULL, with_port, true));
        ck_assert(http_upgrade_origin_ok("http://plain.example.com", NULL, with_port, true));
        ck_assert(http_upgrade_origin_ok("http://plain.example.com:80", NULL, with_port, true));
        ck_assert(!http_upgrade_origin_ok("https://plain.example.com", NULL, with_port, true));
        ck_assert(!http_upgrade_origin_ok("http://app.example.com:443", NULL, with_port, true));

        /* bare host entries take the origin's scheme */
        ck_assert(http_upgrade_origin_ok("https://example.com", NULL, bare, true));
        ck_assert(http_upgrade_origin_ok("http://example.com", NULL, bare, true));
        ck_assert(http_upgrade_origin_ok("https://EXAMPLE.com:443", NULL, bare, true));
        ck_assert(!http_upgrade_origin_ok("https://example.com:8443", NULL, bare, true));
        ck_assert(http_upgrade_origin_ok("https://dev.example.com:8443", NULL, bare, true));
        ck_assert(!http_upgrade_origin_ok("https://dev.example.com", NULL, bare, true));
        ck_assert(http_upgrade_origin_ok("http://[::1]:9000", NULL, bare, true));
        ck_assert(!http_upgrade_origin_ok("http://[::1]", NULL, bare, true));
        ck_assert(!http_upgrade_origin_ok("https://sub.example.com", NULL, bare, true));

        /* ws/wss defaults */
        ck_assert(http_upgrade_origin_ok("wss://ws.example.com:443", NULL, ws, true));
        ck_assert(!http_upgrade_origin_ok("https://ws.example.com", NULL, ws, true));

        /* same host as the request, only when not in unauthenticated mode */
        ck_assert(http_upgrade_origin_ok("http://localhost:8080", "localhost:8080", none, false));
        ck_assert(http_upgrade_origin_ok("http://LOCALHOST:8080", "localhost:8080", NULL, false));
        ck_assert(!http_upgrade_origin_ok("http://localhost:8080", "localhost:8080", none, true));
        ck_assert(!http_upgrade_origin_ok("http://localhost:8080", "localhost:8081", none, false));
        ck_assert(!http_upgrade_origin_ok("http://localhost:8080", "localhost", none, false));
        ck_assert(!http_upgrade_origin_ok("http://localhost:8080", NULL, none, false));
        ck_assert(http_upgrade_origin_ok("https://example.com:443", "example.com", none, false));
        ck_assert(http_upgrade_origin_ok("https://example.com", "example.com:443", none, false));
        ck_assert(!http_upgrade_origin_ok("http://example.com", "example.com:443", none, false));
        ck_assert(http_upgrade_origin_ok("http://[::1]:8080", "[::1]:8080", none, false));
        ck_assert(http_upgrade_origin_ok("http://[::1]", "[::1]:80", none, false));
        ck_assert(!http_upgrade_origin_ok("http://evil.com", "good.com", none, false));
        ck_assert(!http_upgrade_origin_ok("http://good.com.evil.com", "good.com", none, false));
        ck_assert(!http_upgrade_origin_ok("http://good.com", "good.com:80:80", none, false));
        ck_assert(!http_upgrade_origin_ok("http://good.com", "good.com/x", none, false));

        /* malformed origins never match, even the request host */
        ck_assert(!http_upgrade_origin_ok("null", "null", none, false));
        ck_assert(!http_upgrade_origin_ok("good.com", "good.com", none, false));
        ck_assert(!http_upgrade_origin_ok("//good.com", "good.com", none, false));
        ck_assert(!http_upgrade_origin_ok("http://", "good.com", none, false));
        ck_assert(!http_upgrade_origin_ok("http://evil.com@good.com", "good.com", none, false));
        ck_assert(!http_upgrade_origin_ok("http://good.com:8x", "good.com:8x", none, false));
        ck_assert(!http_upgrade_origin_ok("http://a:b:c", "a:b:c", none, false));
        ck_assert(!http_upgrade_origin_ok("http://::1", "::1", none, false));
        ck_assert(!http_upgrade_origin_ok("http://[::1", "[::1", none, false));
        ck_assert(!http_upgrade_origin_ok("http://good .com", "good .com", none, false));
        ck_assert(!http_upgrade_origin_ok("https://evil.com", "h", exact, false));

        /* a path on the origin is ignored, like the reference */
        ck_assert(http_upgrade_origin_ok("https://app.example.com/x", NULL, with_port, true));
}
END_TEST

/* ---- client side ---- */

START_TEST(test_client_round_trip) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
        _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;
        _cleanup_free_ char *req = NULL, *resp = NULL;
        const http_upgrade_request *r;
        char key[25];
        size_t consumed;
        uint8_t buf[512];
        size_t rlen;

        ck_assert_int_eq(http_upgrade_client_request("127.0.0.1:8080", NULL, "  tok  ", key, &req), 0);
        ck_assert_uint_eq(strlen(key), 24);
        ck_assert_ptr_nonnull(strstr(req, "GET / HTTP/1.1\r\n"));
        ck_assert_ptr_nonnull(strstr(req, "\r\nAuthorization: Bearer tok\r\n"));

        ck_assert_int_eq(parse_request(req, &p, &consumed), 1);
        ck_assert_uint_eq(consumed, strlen(req));
        r = http_upgrade_parser_request(p);
        ck_assert_int_eq(http_upgrade_validate(r, NULL), 0);
        ck_assert_str_eq(r->host, "127.0.0.1:8080");
        ck_assert_str_eq(r->path, "/");
        ck_assert_str_eq(r->ws_key, key);
        ck_assert(http_upgrade_bearer_ok(r->authorization, "tok"));
        ck_assert(http_upgrade_origin_ok(r->origin, r->host, NULL, false));

        ck_assert_int_eq(http_upgrade_response_101(r->ws_key, &resp), 0);
        rlen = strlen(resp);
        memcpy(buf, resp, rlen);
        memcpy(buf + rlen, "\x82\x02hi", 4);

        ck_assert_int_eq(http_upgrade_response_parser_new(key, &rp), 0);
        ck_assert_int_eq(http_upgrade_response_parser_feed(rp, buf, rlen + 4, &consumed), 1);
        ck_assert_uint_eq(consumed, rlen);
        ck_assert_int_eq(http_upgrade_response_status(rp), 101);
        ck_assert_ptr_null(http_upgrade_response_body(rp));
        /* sticky */
        ck_assert_int_eq(http_upgrade_response_parser_feed(rp, buf, 1, &consumed), 1);
        ck_assert_uint_eq(consumed, 0);
        ck_assert_int_eq(http_upgrade_response_parser_eof(rp), 1);

        /* Keys are fresh. */
        {
                _cleanup_free_ char *req2 = NULL;
                char key2[25];

                ck_assert_int_eq(http_upgrade_client_request("h", "/x", NULL, key2, &req2), 0);
                ck_assert_str_ne(key, key2);
                ck_assert_ptr_null(strstr(req2, "Authorization"));
                ck_assert_ptr_nonnull(strstr(req2, "GET /x HTTP/1.1\r\nHost: h\r\n"));
        }
}
END_TEST

START_TEST(test_client_request_invalid) {
        char key[25];
        char *s = (char *) 1;

        ck_assert_int_eq(http_upgrade_client_request("", "/", NULL, key, &s), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(http_upgrade_client_request(NULL, "/", NULL, key, &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_client_request("h\r\nX: y", "/", NULL, key, &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_client_request("h h", "/", NULL, key, &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_client_request("h/x", "/", NULL, key, &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_client_request("h", "x", NULL, key, &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_client_request("h", "/a b", NULL, key, &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_client_request("h", "/\r\n", NULL, key, &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_client_request("h", "/", "a b", key, &s), -EINVAL);
        ck_assert_int_eq(http_upgrade_client_request("h", "/", "a\r\nX: y", key, &s), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(http_upgrade_client_request("h", "/", "   ", key, &s), 0);
        ck_assert_ptr_null(strstr(s, "Authorization"));
        free(s);
}
END_TEST

static int response_result(const char *key, const char *text, http_upgrade_response_parser **ret) {
        size_t consumed;

        ck_assert_int_eq(http_upgrade_response_parser_new(key, ret), 0);
        return http_upgrade_response_parser_feed(*ret, u8(text), strlen(text), &consumed);
}

START_TEST(test_response_bad_101) {
        static const char *const bad[] = {
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: " RFC_ACCEPT "x\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: " RFC_ACCEPT
                "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept : " RFC_ACCEPT "\r\n\r\n",
                "HTTP/1.1 abc\r\n\r\n",
                "GET / HTTP/1.1\r\n\r\n",
                "garbage\r\n\r\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;
                int r = response_result(RFC_KEY, bad[i], &rp);

                ck_assert_msg(r == -EBADMSG, "case %zu: %d", i, r);
                ck_assert_ptr_null(http_upgrade_response_body(rp));
        }

        /* The good one, with header names in odd case, for contrast. */
        {
                _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;

                ck_assert_int_eq(response_result(RFC_KEY,
                                                 "HTTP/1.1 101 Switching Protocols\r\nUPGRADE: WebSocket\r\n"
                                                 "connection: keep-alive, upgrade\r\n"
                                                 "sec-websocket-accept:  " RFC_ACCEPT " \r\n"
                                                 "Sec-WebSocket-Extensions:\r\n\r\n",
                                                 &rp),
                                 1);
        }
        {
                http_upgrade_response_parser *rp = (http_upgrade_response_parser *) 1;

                ck_assert_int_eq(http_upgrade_response_parser_new("short", &rp), -EINVAL);
                ck_assert_ptr_null(rp);
        }
}
END_TEST

START_TEST(test_response_401) {
        _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;
        _cleanup_free_ char *s = NULL;

        ck_assert_int_eq(http_upgrade_response_error(401, "unauthorized", &s), 0);
        ck_assert_int_eq(response_result(RFC_KEY, s, &rp), -EPROTO);
        ck_assert_int_eq(http_upgrade_response_status(rp), 401);
        ck_assert_str_eq(http_upgrade_response_body(rp), "unauthorized");
        ck_assert_int_eq(http_upgrade_response_parser_eof(rp), -EPROTO);
}
END_TEST

START_TEST(test_response_split) {
        static const char *const texts[] = {
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
                "HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforbidden",
                ("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nnot\r\n6\r\n found\r\n0\r\n\r\n"),
        };
        static const int want[] = {1, -EPROTO, -EPROTO};
        static const char *const want_body[] = {NULL, "forbidden", "not found"};

        for (size_t t = 0; t < ELEMENTSOF(texts); t++)
                for (size_t step = 1; step <= 7; step++) {
                        _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp =
                                NULL;
                        const char *s = texts[t];
                        size_t n = strlen(s), off = 0, consumed;
                        int r = 0;

                        ck_assert_int_eq(http_upgrade_response_parser_new(RFC_KEY, &rp), 0);
                        while (off < n) {
                                size_t k = MIN(step, n - off);

                                r = http_upgrade_response_parser_feed(rp, u8(s + off), k, &consumed);
                                if (r != 0) {
                                        off += consumed;
                                        break;
                                }
                                ck_assert_uint_eq(consumed, k);
                                off += k;
                        }
                        ck_assert_msg(r == want[t], "text %zu step %zu: %d", t, step, r);
                        ck_assert_uint_eq(off, n);
                        if (want_body[t])
                                ck_assert_str_eq(http_upgrade_response_body(rp), want_body[t]);
                }
}
END_TEST

START_TEST(test_response_body_to_eof) {
        _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;
        size_t consumed;

        ck_assert_int_eq(
                response_result(RFC_KEY,
                                "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\ndrain", &rp),
                0);
        ck_assert_int_eq(http_upgrade_response_status(rp), 503);
        ck_assert_ptr_null(http_upgrade_response_body(rp));
        ck_assert_int_eq(http_upgrade_response_parser_feed(rp, u8("ing"), 3, &consumed), 0);
        ck_assert_int_eq(http_upgrade_response_parser_eof(rp), -EPROTO);
        ck_assert_str_eq(http_upgrade_response_body(rp), "draining");
        ck_assert_int_eq(http_upgrade_response_parser_feed(rp, u8("x"), 1, &consumed), -EPROTO);
}
END_TEST

START_TEST(test_response_long_body_and_eof) {
        char text[2048];
        int n;

        /* A long body stops at 512 bytes. */
        n = snprintf(text, sizeof(text), "HTTP/1.1 400 Bad Request\r\nContent-Length: 1000\r\n\r\n");
        memset(text + n, 'b', 1000);
        text[n + 1000] = '\0';
        {
                _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;

                ck_assert_int_eq(response_result(RFC_KEY, text, &rp), -EPROTO);
                ck_assert_uint_eq(strlen(http_upgrade_response_body(rp)), 512);
        }

        /* A truncated header block at EOF is malformed; a truncated body is not. */
        {
                _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;

                ck_assert_int_eq(response_result(RFC_KEY, "HTTP/1.1 101 Switching", &rp), 0);
                ck_assert_int_eq(http_upgrade_response_parser_eof(rp), -EBADMSG);
                ck_assert_int_eq(http_upgrade_response_parser_eof(rp), -EBADMSG);
        }
        {
                _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;

                ck_assert_int_eq(response_result(RFC_KEY,
                                                 "HTTP/1.1 401 Unauthorized\r\nContent-Length: 10\r\n\r\nab",
                                                 &rp),
                                 0);
                ck_assert_int_eq(http_upgrade_response_parser_eof(rp), -EPROTO);
                ck_assert_str_eq(http_upgrade_response_body(rp), "ab");
        }
        {
                _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;

                ck_assert_int_eq(http_upgrade_response_parser_new(RFC_KEY, &rp), 0);
                ck_assert_int_eq(http_upgrade_response_parser_eof(rp), -EBADMSG);
        }
}
END_TEST

START_TEST(test_response_too_large) {
        _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;
        char *big = malloc(2 * HTTP_UPGRADE_MAX_HEADER);
        size_t consumed, off = 0, len;
        int r = 0;

        ck_assert_ptr_nonnull(big);
        strcpy(big, "HTTP/1.1 101 Switching Protocols\r\nX-Pad: ");
        len = strlen(big);
        memset(big + len, 'p', HTTP_UPGRADE_MAX_HEADER);
        strcpy(big + len + HTTP_UPGRADE_MAX_HEADER, "\r\n\r\n");
        len = strlen(big);

        ck_assert_int_eq(http_upgrade_response_parser_new(RFC_KEY, &rp), 0);
        while (off < len) {
                size_t k = MIN((size_t) 777, len - off);

                r = http_upgrade_response_parser_feed(rp, u8(big) + off, k, &consumed);
                if (r != 0)
                        break;
                off += k;
        }
        ck_assert_int_eq(r, -E2BIG);
        rp = http_upgrade_response_parser_free(rp);
        ck_assert_int_eq(response_result(RFC_KEY, big, &rp), -E2BIG);
        free(big);
}
END_TEST

static Suite *http_upgrade_suite(void) {
        Suite *s = suite_create("http_upgrade");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_request_one_feed);
        tcase_add_test(tc, test_request_byte_by_byte);
        tcase_add_test(tc, test_request_zero_length_feed);
        tcase_add_test(tc, test_request_with_trailing_websocket_bytes);
        tcase_add_test(tc, test_request_body_not_read);
        tcase_add_test(tc, test_request_malformed);
        tcase_add_test(tc, test_request_repeats_allowed);
        tcase_add_test(tc, test_request_too_large);
        tcase_add_test(tc, test_validate_key);
        tcase_add_test(tc, test_validate_version);
        tcase_add_test(tc, test_validate_other);
        tcase_add_test(tc, test_accept_key);
        tcase_add_test(tc, test_response_101);
        tcase_add_test(tc, test_response_error);
        tcase_add_test(tc, test_bearer);
        tcase_add_test(tc, test_origin);
        tcase_add_test(tc, test_client_round_trip);
        tcase_add_test(tc, test_client_request_invalid);
        tcase_add_test(tc, test_response_bad_101);
        tcase_add_test(tc, test_response_401);
        tcase_add_test(tc, test_response_split);
        tcase_add_test(tc, test_response_body_to_eof);
        tcase_add_test(tc, test_response_long_body_and_eof);
        tcase_add_test(tc, test_response_too_large);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(http_upgrade_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
