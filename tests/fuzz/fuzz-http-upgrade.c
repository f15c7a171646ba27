/* libFuzzer target for lib/http_upgrade.c.
 *
 * The input is fed to the request parser whole and split in two at a position
 * derived from its first byte; both runs must agree (result, consumed count,
 * parsed fields). A complete request then goes through validate, the bearer
 * and Origin checks and the 101 builder. The same input is fed to the client
 * response parser (whole and split, same agreement rule), and finally used
 * directly as an Authorization and an Origin value, as an error body (round
 * trip through the client parser) and as host/path/token for the client
 * request (round trip through the server parser). */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_upgrade.h"
#include "macro.h"

#define FUZZ_KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* Always evaluated, also under -DNDEBUG. */
#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

DEFINE_TRIVIAL_CLEANUP_FUNC(http_upgrade_parser, http_upgrade_parser_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(http_upgrade_response_parser, http_upgrade_response_parser_free);

static bool str_same(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* Feeds data in two parts split at pos; returns the result and the total
 * number of request bytes consumed. */
static int request_feed(http_upgrade_parser *p, const uint8_t *data, size_t size, size_t pos,
                        size_t *consumed) {
        size_t c = 0;
        int r;

        *consumed = 0;
        r = http_upgrade_parser_feed(p, data, pos, &c);
        CHECK(c <= pos);
        *consumed = c;
        if (r != 0)
                return r;
        CHECK(c == pos);
        r = http_upgrade_parser_feed(p, data + pos, size - pos, &c);
        CHECK(c <= size - pos);
        *consumed += c;
        return r;
}

static void exercise_request(const http_upgrade_request *req) {
        char *const allowed[] = {"https://example.com", "example.org:8443", req->host, NULL};
        const char *why = NULL;
        char accept[29];
        int r;

        r = http_upgrade_validate(req, &why);
        CHECK(r == 0 || (r == -EINVAL && why));
        (void) http_upgrade_bearer_ok(req->authorization, "token");
        (void) http_upgrade_bearer_ok(req->authorization, req->authorization);
        (void) http_upgrade_origin_ok(req->origin, req->host, allowed, false);
        (void) http_upgrade_origin_ok(req->origin, req->host, allowed, true);
        (void) http_upgrade_origin_ok(req->origin, req->host, NULL, false);
        if (req->ws_key) {
                CHECK(http_upgrade_accept_key(req->ws_key, accept) == 0);
                CHECK(strlen(accept) == 28);
        }
        if (r == 0) {
                _cleanup_free_ char *resp = NULL;
                _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;
                size_t c;

                /* A valid request must yield a 101 the client side accepts. */
                CHECK(http_upgrade_response_101(req->ws_key, &resp) == 0);
                CHECK(http_upgrade_response_parser_new(req->ws_key, &rp) == 0);
                CHECK(http_upgrade_response_parser_feed(rp, (const uint8_t *) resp, strlen(resp), &c) == 1);
                CHECK(c == strlen(resp));
        }
}

static void fuzz_request(const uint8_t *data, size_t size, size_t pos) {
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *whole = NULL, *split = NULL;
        const http_upgrade_request *a, *b;
        size_t ca = 0, cb = 0;
        int ra, rb;

        if (http_upgrade_parser_new(&whole) < 0 || http_upgrade_parser_new(&split) < 0)
                return;

        ra = http_upgrade_parser_feed(whole, data, size, &ca);
        rb = request_feed(split, data, size, pos, &cb);
        if (ra == -ENOMEM || rb == -ENOMEM)
                return;
        CHECK(ra == rb);
        CHECK(ra == 1 || ra == 0 || ra == -EBADMSG || ra == -E2BIG);
        if (ra != 1) {
                CHECK(http_upgrade_parser_request(whole) == NULL);
                return;
        }
        CHECK(ca == cb);
        CHECK(ca <= size && ca <= HTTP_UPGRADE_MAX_HEADER);

        a = http_upgrade_parser_request(whole);
        b = http_upgrade_parser_request(split);
        CHECK(a && b);
        CHECK(str_same(a->method, b->method) && str_same(a->path, b->path) && str_same(a->host, b->host) &&
              str_same(a->origin, b->origin) && str_same(a->authorization, b->authorization) &&
              str_same(a->ws_key, b->ws_key) && str_same(a->ws_version, b->ws_version) &&
              a->upgrade_websocket == b->upgrade_websocket &&
              a->connection_upgrade == b->connection_upgrade && a->http_major == b->http_major &&
              a->http_minor == b->http_minor);
        CHECK(a->method && a->path);

        exercise_request(a);
}

static int response_feed(http_upgrade_response_parser *p, const uint8_t *data, size_t size, size_t pos,
                         size_t *consumed) {
        size_t c = 0;
        int r;

        *consumed = 0;
        r = http_upgrade_response_parser_feed(p, data, pos, &c);
        CHECK(c <= pos);
        *consumed = c;
        if (r != 0)
                return r;
        r = http_upgrade_response_parser_feed(p, data + pos, size - pos, &c);
        CHECK(c <= size - pos);
        *consumed += c;
        return r;
}

static void fuzz_response(const uint8_t *data, size_t size, size_t pos) {
        _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *whole = NULL,
                                                                                   *split = NULL;
        size_t ca = 0, cb = 0;
        int ra, rb;

        if (http_upgrade_response_parser_new(FUZZ_KEY, &whole) < 0 ||
            http_upgrade_response_parser_new(FUZZ_KEY, &split) < 0)
                return;

        ra = http_upgrade_response_parser_feed(whole, data, size, &ca);
        rb = response_feed(split, data, size, pos, &cb);
        if (ra == 0)
                ra = http_upgrade_response_parser_eof(whole);
        if (rb == 0)
                rb = http_upgrade_response_parser_eof(split);
        if (ra == -ENOMEM || rb == -ENOMEM)
                return;
        CHECK(ra == rb);
        CHECK(ra == 1 || ra == -EPROTO || ra == -EBADMSG || ra == -E2BIG);
        CHECK(http_upgrade_response_status(whole) == http_upgrade_response_status(split));
        CHECK(str_same(http_upgrade_response_body(whole), http_upgrade_response_body(split)));
        if (ra == 1) {
                CHECK(ca == cb);
                CHECK(http_upgrade_response_status(whole) == 101);
        }
        if (ra == -EPROTO) {
                const char *body = http_upgrade_response_body(whole);

                CHECK(body && strlen(body) <= 512);
                CHECK(http_upgrade_response_status(whole) != 101);
        }
}

/* "host\npath\ntoken": whatever the client builder accepts must come back
 * unchanged through the server parser as a valid upgrade (no injection). */
static void fuzz_client_request(const char *input) {
        _cleanup_free_ char *copy = strdup(input), *req = NULL;
        _cleanup_(http_upgrade_parser_freep) http_upgrade_parser *p = NULL;
        const http_upgrade_request *r;
        char *host, *path = NULL, *token = NULL, *nl;
        char key[25];
        size_t c;

        if (!copy)
                return;
        host = copy;
        nl = strchr(host, '\n');
        if (nl) {
                *nl = '\0';
                path = nl + 1;
                nl = strchr(path, '\n');
                if (nl) {
                        *nl = '\0';
                        token = nl + 1;
                }
        }
        if (http_upgrade_client_request(host, path, token, key, &req) < 0)
                return;

        CHECK(http_upgrade_parser_new(&p) == 0);
        CHECK(http_upgrade_parser_feed(p, (const uint8_t *) req, strlen(req), &c) == 1);
        CHECK(c == strlen(req));
        r = http_upgrade_parser_request(p);
        CHECK(http_upgrade_validate(r, NULL) == 0);
        CHECK(strcmp(r->ws_key, key) == 0);
        CHECK(strcmp(r->host, host) == 0);
        CHECK(strcmp(r->path, path && *path ? path : "/") == 0);
        if (r->authorization)
                CHECK(token && http_upgrade_bearer_ok(r->authorization, token));
        CHECK(!r->origin);
}

/* The raw input (up to the first NUL) as header values. */
static void fuzz_values(const uint8_t *data, size_t size) {
        char *const allowed[] = {"*", NULL};
        char *const some[] = {"https://example.com", "localhost:8080", "[::1]", NULL};
        _cleanup_free_ char *s = NULL;
        char *nl;

        s = malloc(size + 1);
        if (!s)
                return;
        memcpy(s, data, size);
        s[size] = '\0';

        /* Any body survives an error response round trip (first 512 bytes). */
        {
                static const int statuses[] = {400, 401, 403, 404, 405, 426, 500, 501, 503};
                int status = statuses[size > 0 ? data[0] % ELEMENTSOF(statuses) : 0];
                _cleanup_(http_upgrade_response_parser_freep) http_upgrade_response_parser *rp = NULL;
                _cleanup_free_ char *resp = NULL;
                size_t blen = strlen(s), c;

                CHECK(http_upgrade_response_error(status, s, &resp) == 0);
                CHECK(http_upgrade_response_parser_new(FUZZ_KEY, &rp) == 0);
                CHECK(http_upgrade_response_parser_feed(rp, (const uint8_t *) resp, strlen(resp), &c) ==
                      -EPROTO);
                CHECK(http_upgrade_response_status(rp) == status);
                CHECK(strlen(http_upgrade_response_body(rp)) == MIN(blen, (size_t) 512));
                CHECK(memcmp(http_upgrade_response_body(rp), s, MIN(blen, (size_t) 512)) == 0);
        }

        fuzz_client_request(s);

        (void) http_upgrade_bearer_ok(s, "token");
        (void) http_upgrade_origin_ok(s, "localhost:8080", some, false);
        (void) http_upgrade_origin_ok(s, NULL, allowed, true);

        /* "origin\nhost-or-entry" */
        nl = strchr(s, '\n');
        if (nl) {
                char *const entry[] = {nl + 1, NULL};

                *nl = '\0';
                (void) http_upgrade_origin_ok(s, nl + 1, entry, false);
                (void) http_upgrade_bearer_ok(s, nl + 1);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t pos = size > 0 ? (size_t) data[0] * size / 256 : 0;

        if (size > 4 * HTTP_UPGRADE_MAX_HEADER)
                return 0;

        fuzz_request(data, size, pos);
        fuzz_response(data, size, pos);
        fuzz_values(data, size);
        return 0;
}
