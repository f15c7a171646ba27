/* The HTTP/1.1 part of a WebSocket connection (RFC 6455 section 4): parsing
 * the one upgrade request a server reads (with http-parser), building the 101
 * or error response, and the client's request and response check.
 *
 * Everything here is I/O-free: callers feed bytes and write the strings that
 * come back. Limits: a request or response header block larger than
 * HTTP_UPGRADE_MAX_HEADER bytes is refused (-E2BIG), and so is every header
 * value, name and request target within it. HTTP syntax is checked by
 * http-parser (strict mode); header names are matched case-insensitively. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_UPGRADE_MAX_HEADER 8192

typedef struct http_upgrade_request {
        char *method;              /* "GET" */
        char *path;                /* request target, e.g. "/" */
        char *host;                /* Host header or NULL */
        char *origin;              /* Origin header or NULL */
        char *authorization;       /* Authorization header or NULL */
        char *ws_key;              /* Sec-WebSocket-Key or NULL */
        char *ws_version;          /* Sec-WebSocket-Version or NULL */
        bool upgrade_websocket;    /* Upgrade: websocket (token, case-insensitive) */
        bool connection_upgrade;   /* Connection contains the token "upgrade" */
        unsigned short http_major; /* from the request line, e.g. 1 */
        unsigned short http_minor; /* e.g. 1 */
} http_upgrade_request;
/* Header values are stored trimmed of SP/HTAB. Host, Origin, Authorization and
 * Sec-WebSocket-Key may appear once: a repeat makes the request malformed
 * (-EBADMSG). Repeated Sec-WebSocket-Version fields are joined with ", ";
 * repeated Upgrade/Connection fields are each searched for their token. Other
 * fields (including Sec-WebSocket-Protocol/-Extensions) are ignored. */

typedef struct http_upgrade_parser http_upgrade_parser;

int http_upgrade_parser_new(http_upgrade_parser **ret);
http_upgrade_parser *http_upgrade_parser_free(http_upgrade_parser *p);

/* Feeds bytes. Returns 1 when the header block is complete (then *consumed is
 * the number of bytes of buf that belong to the request; the rest are the
 * first WebSocket bytes), 0 when more bytes are needed (all consumed), or a
 * negative errno: -EBADMSG malformed, -E2BIG header block too large, -ENOMEM.
 * A request body is never read: whatever follows the header block is left to
 * the caller. Results are sticky: after 1 or an error, further calls return
 * the same value and consume nothing. */
int http_upgrade_parser_feed(http_upgrade_parser *p, const uint8_t *buf, size_t len, size_t *consumed);
/* The parsed request, valid after feed returned 1 (NULL before), owned by the parser. */
const http_upgrade_request *http_upgrade_parser_request(const http_upgrade_parser *p);

/* Checks that the request is a valid WebSocket upgrade (GET, HTTP/1.1 or
 * later, Upgrade and Connection tokens, Sec-WebSocket-Version list containing
 * 13, key = canonical padded base64 of 16 bytes). Returns 0 (*why = NULL) or
 * -EINVAL with a short reason for the 400 body in *why (static string). The
 * reference (gorilla) answers 405 rather than 400 for a method other than GET;
 * callers who want that can test r->method themselves. */
int http_upgrade_validate(const http_upgrade_request *r, const char **why);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), 28 chars + NUL. */
int http_upgrade_accept_key(const char *key, char out[29]);

/* "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection and
 * Sec-WebSocket-Accept; no subprotocol, no extensions. malloc'd string.
 * -EINVAL if key is not a valid Sec-WebSocket-Key. */
int http_upgrade_response_101(const char *key, char **ret);
/* A complete non-101 response with a text/plain body and Connection: close:
 * "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain; charset=utf-8\r\n
 * Content-Length: N\r\nConnection: close\r\n\r\nbody". Known statuses: 400,
 * 401, 403, 404, 405 (adds "Allow: GET"), 426 (adds "Upgrade: websocket" and
 * "Sec-WebSocket-Version: 13"), 500, 501, 503; others give -EINVAL. body may
 * be NULL (empty); more than 64 KiB gives -E2BIG. */
int http_upgrade_response_error(int status, const char *body, char **ret);

/* Bearer check (spec 2.2): the header splits on white space into exactly two
 * fields, the first "bearer" case-insensitively, the second equal to token
 * (constant-time compare). NULL header -> false. "White space" is Go's
 * (strings.Fields: ASCII \t\n\v\f\r and space plus the Unicode spaces such as
 * U+00A0), as in the reference. token is trimmed the same way (like the
 * reference's TrimSpace); a NULL or empty token never matches. The compare
 * goes through BLAKE2b digests, so neither the content nor the length of the
 * token leaks through timing. */
bool http_upgrade_bearer_ok(const char *authorization, const char *token);

/* Origin check (spec 2.2): true if origin is NULL; or an allowed entry is "*",
 * equals origin exactly, or has the same host with default ports 80/443
 * normalised; or, when !unauthenticated_mode, origin's host:port equals the
 * request Host. allowed is NULL-terminated (may be NULL).
 *
 * Interpretation (follows the reference server's webTTYOriginAllowed):
 *  - origin and entries are trimmed of white space; an empty origin is treated
 *    like a missing one (true); empty entries are skipped.
 *  - origin must be "scheme://host[:port]" (a trailing path/query is ignored);
 *    anything else ("null", no scheme, "user@host") is refused, even when
 *    "*" is allowed (the reference parses the origin before the list).
 *  - a host is normalised as: lower case; port dropped when empty or the
 *    scheme's default (http and ws: 80, https and wss: 443); an IPv6 literal
 *    keeps its brackets only when a port remains; ports must be digits.
 *  - "exactly" is compared case-insensitively.
 *  - an entry containing "://" is a full origin: it matches when the schemes
 *    are equal (case-insensitive) and the normalised hosts are equal, so
 *    "https://example.com:443" allows "https://example.com" but not
 *    "http://example.com".
 *  - any other entry is a bare host ("example.com", "example.com:8443",
 *    "[::1]:8080"), normalised with the origin's scheme: "example.com" allows
 *    http://example.com and https://example.com (default ports), but not
 *    https://example.com:8443; "example.com:443" allows https://example.com.
 *  - the request Host is normalised with the origin's scheme as well: Host
 *    "example.com" matches Origin "https://example.com:443". */
bool http_upgrade_origin_ok(const char *origin, const char *request_host, char *const *allowed,
                            bool unauthenticated_mode);

/* Client side: builds the GET request for host (host[:port] as it goes in the
 * Host header) and path, with a fresh random key (returned in key_out) and an
 * optional bearer token. path NULL or "" means "/"; it must start with '/'.
 * host, path and the (white-space trimmed) token must be visible ASCII without
 * spaces (-EINVAL); an empty token sends no Authorization header. The result
 * is at most HTTP_UPGRADE_MAX_HEADER bytes (-E2BIG). The string holds the
 * token: callers may want to wipe it after sending. */
int http_upgrade_client_request(const char *host, const char *path, const char *bearer_token,
                                char key_out[25], char **ret);

/* Client side: parses the server's response. Returns 1 when complete and
 * valid 101 with the right accept value (*consumed as for the request
 * parser), 0 if more bytes are needed, -EPROTO for a non-101 status (status
 * and a copy of the body, up to 512 bytes, returned via *status and *body
 * once the body is complete or the header says Connection: close),
 * -EBADMSG malformed, -E2BIG too large.
 *
 * Details: a 101 without the "websocket" Upgrade token, the "upgrade"
 * Connection token, or the exact Sec-WebSocket-Accept (exactly one), or with a
 * non-empty Sec-WebSocket-Extensions/-Protocol (we offer none), is -EBADMSG;
 * http_upgrade_response_status() still says 101. For a non-101 status, feed
 * returns -EPROTO as soon as the body is complete (Content-Length, chunked, or
 * none allowed) or 512 bytes of it have arrived; a body that is delimited by
 * the connection closing (no length) completes with
 * http_upgrade_response_parser_eof(). Results are sticky. */
typedef struct http_upgrade_response_parser http_upgrade_response_parser;
int http_upgrade_response_parser_new(const char *key, http_upgrade_response_parser **ret);
http_upgrade_response_parser *http_upgrade_response_parser_free(http_upgrade_response_parser *p);
int http_upgrade_response_parser_feed(http_upgrade_response_parser *p, const uint8_t *buf, size_t len,
                                      size_t *consumed);
/* The status code once known (at the latest when the header block is complete), else 0. */
int http_upgrade_response_status(const http_upgrade_response_parser *p);
/* The NUL-terminated body copy (peer bytes, unescaped: cap and escape before
 * logging) after -EPROTO, else NULL. */
const char *http_upgrade_response_body(const http_upgrade_response_parser *p);
/* Called when the peer closed: completes a non-101 response whose body ran to
 * EOF (-EPROTO, also for a body cut short); before the header block ended it
 * is -EBADMSG; after a result it returns that result. */
int http_upgrade_response_parser_eof(http_upgrade_response_parser *p);
