/* The HTTP/1.1 upgrade handshake of a WebSocket connection (RFC 6455 section
 * 4), server and client side. HTTP syntax is left to http-parser; this file
 * only collects the few header fields the handshake needs, under hard caps,
 * and implements the WebTTY bearer and Origin rules (protocol spec 2.2). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, memmem, memrchr; the build also gets it from config.h */
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "http_upgrade.h"
#include "macro.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24 /* base64 of 16 bytes */
#define WS_KEY_RAW 16
#define SHA1_LEN 20
#define RESPONSE_BODY_MAX 512 /* bytes of a non-101 body kept by the client */
#define ERROR_BODY_MAX 65536  /* largest body http_upgrade_response_error builds */
#define FIELD_NAME_MAX 32     /* longer header names are none of ours */
#define HOST_NORM_MAX 300     /* normalised host[:port], brackets included */

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free);

/* ---- small byte helpers (ASCII only, no locale) ---- */

static bool ascii_isalpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ascii_isdigit(char c) {
        return c >= '0' && c <= '9';
}

static char ascii_tolower(char c) {
        return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* Visible US-ASCII, no space: what may appear in a request target, a Host
 * value or a bearer token that we put on the wire ourselves. */
static bool ascii_isvisible(char c) {
        return c > 0x20 && c < 0x7f;
}

static bool ascii_caseeq(const char *a, const char *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (ascii_tolower(a[i]) != ascii_tolower(b[i]))
                        return false;
        return true;
}

/* Length of the white-space character starting at s (n bytes available), or
 * 0. This is Go's unicode.IsSpace over UTF-8 (strings.Fields and
 * strings.TrimSpace, which the reference uses for the bearer header and the
 * Origin): ASCII \t \n \v \f \r and space, U+0085, U+00A0, U+1680,
 * U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. Matching the byte
 * sequences one position at a time gives the same result as Go's decoding,
 * invalid UTF-8 included, because no listed sequence starts with a
 * continuation byte. */
static size_t space_len(const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *) s;

        if (n == 0)
                return 0;
        if (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r'))
                return 1;
        if (n >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0))
                return 2;
        if (n < 3)
                return 0;
        if (u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80)
                return 3;
        if (u[0] == 0xe2 && u[1] == 0x80 &&
            ((u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf))
                return 3;
        if (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f)
                return 3;
        if (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)
                return 3;
        return 0;
}

/* Length of the white-space character that ends s (n bytes), or 0. */
static size_t space_len_back(const char *s, size_t n) {
        if (n >= 1 && space_len(s + n - 1, 1) == 1)
                return 1;
        if (n >= 2 && space_len(s + n - 2, 2) == 2)
                return 2;
        if (n >= 3 && space_len(s + n - 3, 3) == 3)
                return 3;
        return 0;
}

/* Go strings.TrimSpace on (s, n), in place. */
static void trim_space(const char **s, size_t *n) {
        size_t w;

        while ((w = space_len(*s, *n)) > 0) {
                *s += w;
                *n -= w;
        }
        while ((w = space_len_back(*s, *n)) > 0)
                *n -= w;
}

/* HTTP optional white space (SP / HTAB) trim, in place. */
static void trim_ows(const char **s, size_t *n) {
        while (*n > 0 && (**s == ' ' || **s == '\t')) {
                (*s)++;
                (*n)--;
        }
        while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
                (*n)--;
}

/* True if the comma-separated list (s, n) has an element equal to token,
 * ignoring case and surrounding white space: "keep-alive, Upgrade". */
static bool token_list_contains(const char *s, size_t n, const char *token) {
        size_t tlen = strlen(token);

        while (n > 0) {
                const char *comma = memchr(s, ',', n);
                size_t elen = comma ? (size_t) (comma - s) : n;
                const char *e = s;
                size_t el = elen;

                trim_ows(&e, &el);
                if (el == tlen && ascii_caseeq(e, token, tlen))
                        return true;
                if (!comma)
                        break;
                s += elen + 1;
                n -= elen + 1;
        }
        return false;
}

/* ---- a growable string with a hard cap ---- */

typedef struct strbuf {
        char *data; /* NUL-terminated when not NULL */
        size_t len;
        size_t alloc;
} strbuf;

static void strbuf_done(strbuf *b) {
        free(b->data);
        *b = (strbuf){};
}

/* Appends n bytes; the content never exceeds max bytes (-E2BIG). */
static int strbuf_append(strbuf *b, const char *at, size_t n, size_t max) {
        size_t need;

        if (b->len > max || n > max - b->len)
                return -E2BIG;
        need = b->len + n + 1;
        if (need > b->alloc) {
                size_t a = MAX(need, MIN(MAX(b->alloc * 2, (size_t) 64), max + 1));
                char *d = realloc(b->data, a);

                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->alloc = a;
        }
        if (n > 0)
                memcpy(b->data + b->len, at, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

/* ---- header field collection shared by both parsers ---- */

typedef enum header_id {
        HDR_OTHER,
        HDR_HOST,
        HDR_ORIGIN,
        HDR_AUTHORIZATION,
        HDR_UPGRADE,
        HDR_CONNECTION,
        HDR_WS_KEY,
        HDR_WS_VERSION,
        HDR_WS_ACCEPT,
        HDR_WS_EXTENSIONS,
        HDR_WS_PROTOCOL,
} header_id;

static const struct {
        const char *name;
        header_id id;
} header_table[] = {
        {"host", HDR_HOST},
        {"origin", HDR_ORIGIN},
        {"authorization", HDR_AUTHORIZATION},
        {"upgrade", HDR_UPGRADE},
        {"connection", HDR_CONNECTION},
        {"sec-websocket-key", HDR_WS_KEY},
        {"sec-websocket-version", HDR_WS_VERSION},
        {"sec-websocket-accept", HDR_WS_ACCEPT},
        {"sec-websocket-extensions", HDR_WS_EXTENSIONS},
        {"sec-websocket-protocol", HDR_WS_PROTOCOL},
};

typedef struct header_acc {
        char name[FIELD_NAME_MAX];
        size_t name_len; /* FIELD_NAME_MAX + 1 once the name overflowed */
        bool have_field; /* a field name has started */
        bool in_value;   /* the value of that field has started */
        header_id id;    /* valid once in_value */
        strbuf value;    /* collected only for id != HDR_OTHER */
} header_acc;

static header_id header_lookup(const char *name, size_t len) {
        if (len > FIELD_NAME_MAX)
                return HDR_OTHER;
        for (size_t i = 0; i < ELEMENTSOF(header_table); i++)
                if (strlen(header_table[i].name) == len && ascii_caseeq(header_table[i].name, name, len))
                        return header_table[i].id;
        return HDR_OTHER;
}

static void header_acc_reset(header_acc *a) {
        a->name_len = 0;
        a->have_field = false;
        a->in_value = false;
        a->id = HDR_OTHER;
        a->value.len = 0;
        if (a->value.data)
                a->value.data[0] = '\0';
}

static int header_acc_name(header_acc *a, const char *at, size_t len) {
        /* http-parser lets "Name : value" through with the space in the name;
         * RFC 9112 5.1 says to reject it (and it would dodge the repeat check). */
        if (memchr(at, ' ', len) || memchr(at, '\t', len))
                return -EBADMSG;
        a->have_field = true;
        if (a->name_len > FIELD_NAME_MAX)
                return 0;
        if (len > FIELD_NAME_MAX - a->name_len) {
                a->name_len = FIELD_NAME_MAX + 1;
                return 0;
        }
        memcpy(a->name + a->name_len, at, len);
        a->name_len += len;
        return 0;
}

static int header_acc_value(header_acc *a, const char *at, size_t len) {
        if (!a->in_value) {
                a->in_value = true;
                a->id = header_lookup(a->name, a->name_len);
        }
        if (a->id == HDR_OTHER)
                return 0;
        return strbuf_append(&a->value, at, len, HTTP_UPGRADE_MAX_HEADER);
}

/* The completed field, value trimmed of OWS. Returns false if there is none. */
static bool header_acc_take(header_acc *a, header_id *id, const char **v, size_t *vlen) {
        if (!a->have_field)
                return false;
        *id = a->in_value ? a->id : header_lookup(a->name, a->name_len);
        *v = a->value.data ? a->value.data : "";
        *vlen = a->value.len;
        trim_ows(v, vlen);
        return true;
}

/* A header value copied into a C string; an embedded NUL is malformed. */
static int value_dup(const char *v, size_t n, char **ret) {
        char *s;

        if (memchr(v, '\0', n))
                return -EBADMSG;
        s = strndup(v, n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ---- server side: the request ---- */

struct http_upgrade_parser {
        http_parser hp;
        header_acc acc;
        strbuf url;
        http_upgrade_request req;
        size_t fed; /* header bytes given to http-parser so far */
        int error;  /* set by a callback, sticky */
        int state;  /* 0 parsing, 1 complete, < 0 failed (sticky) */
};

static int request_fail(http_upgrade_parser *p, int r) {
        if (p->error == 0)
                p->error = r;
        return -1; /* makes http-parser stop with an HPE_CB_ error */
}

static int request_finish_header(http_upgrade_parser *p) {
        http_upgrade_request *r = &p->req;
        const char *v;
        size_t n;
        header_id id;
        char **slot = NULL;
        int k = 0;

        if (!header_acc_take(&p->acc, &id, &v, &n))
                return 0;

        switch (id) {
        case HDR_HOST:
                slot = &r->host;
                break;
        case HDR_ORIGIN:
                slot = &r->origin;
                break;
        case HDR_AUTHORIZATION:
                slot = &r->authorization;
                break;
        case HDR_WS_KEY:
                slot = &r->ws_key;
                break;
        case HDR_UPGRADE:
                if (token_list_contains(v, n, "websocket"))
                        r->upgrade_websocket = true;
                break;
        case HDR_CONNECTION:
                if (token_list_contains(v, n, "upgrade"))
                        r->connection_upgrade = true;
                break;
        case HDR_WS_VERSION: {
                /* Repeats are joined into one list, as HTTP allows. */
                _cleanup_free_ char *s = NULL;
                size_t old = r->ws_version ? strlen(r->ws_version) : 0;

                if (memchr(v, '\0', n))
                        return -EBADMSG;
                if (n > HTTP_UPGRADE_MAX_HEADER || old > HTTP_UPGRADE_MAX_HEADER - n)
                        return -E2BIG;
                s = malloc(old + 2 + n + 1);
                if (!s)
                        return -ENOMEM;
                if (old > 0) {
                        memcpy(s, r->ws_version, old);
                        memcpy(s + old, ", ", 2);
                        old += 2;
                }
                memcpy(s + old, v, n);
                s[old + n] = '\0';
                free(r->ws_version);
                r->ws_version = TAKE_PTR(s);
                break;
        }
        default:
                break;
        }

        if (slot) {
                if (*slot)
                        k = -EBADMSG; /* a repeated single-valued field */
                else
                        k = value_dup(v, n, slot);
        }
        header_acc_reset(&p->acc);
        return k;
}

static int request_on_url(http_parser *hp, const char *at, size_t len) {
        http_upgrade_parser *p = hp->data;
        int r = strbuf_append(&p->url, at, len, HTTP_UPGRADE_MAX_HEADER);

        return r < 0 ? request_fail(p, r) : 0;
}

static int request_on_header_field(http_parser *hp, const char *at, size_t len) {
        http_upgrade_parser *p = hp->data;
        int r;

        if (p->acc.in_value) {
                r = request_finish_header(p);
                if (r < 0)
                        return request_fail(p, r);
        }
        r = header_acc_name(&p->acc, at, len);
        return r < 0 ? request_fail(p, r) : 0;
}

static int request_on_header_value(http_parser *hp, const char *at, size_t len) {
        http_upgrade_parser *p = hp->data;
        int r = header_acc_value(&p->acc, at, len);

        return r < 0 ? request_fail(p, r) : 0;
}

static int request_on_headers_complete(http_parser *hp) {
        http_upgrade_parser *p = hp->data;
        int r = request_finish_header(p);

        if (r < 0)
                return request_fail(p, r);
        if (!p->url.data)
                return request_fail(p, -EBADMSG);

        p->req.method = strdup(http_method_str((enum http_method) hp->method));
        if (!p->req.method)
                return request_fail(p, -ENOMEM);
        p->req.path = TAKE_PTR(p->url.data);
        strbuf_done(&p->url);
        p->req.http_major = hp->http_major;
        p->req.http_minor = hp->http_minor;
        p->state = 1;

        /* 2: no body, everything after the header block belongs to the new
         * protocol; http-parser returns right after the final CRLF. */
        return 2;
}

static const http_parser_settings request_settings = {
        .on_url = request_on_url,
        .on_header_field = request_on_header_field,
        .on_header_value = request_on_header_value,
        .on_headers_complete = request_on_headers_complete,
};

int http_upgrade_parser_new(http_upgrade_parser **ret) {
        http_upgrade_parser *p;

        if (!ret)
                return -EINVAL;
        *ret = NULL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        http_parser_init(&p->hp, HTTP_REQUEST);
        p->hp.data = p;
        *ret = p;
        return 0;
}

http_upgrade_parser *http_upgrade_parser_free(http_upgrade_parser *p) {
        if (!p)
                return NULL;
        strbuf_done(&p->acc.value);
        strbuf_done(&p->url);
        free(p->req.method);
        free(p->req.path);
        free(p->req.host);
        free(p->req.origin);
        if (p->req.authorization)
                sodium_memzero(p->req.authorization, strlen(p->req.authorization));
        free(p->req.authorization);
        free(p->req.ws_key);
        free(p->req.ws_version);
        free(p);
        return NULL;
}

int http_upgrade_parser_feed(http_upgrade_parser *p, const uint8_t *buf, size_t len, size_t *consumed) {
        size_t n, k;

        if (!p || !consumed || (!buf && len > 0))
                return -EINVAL;
        *consumed = 0;
        if (p->state != 0)
                return p->state;
        if (len == 0)
                return 0; /* never hand http-parser a 0-length buffer: that means EOF */

        /* Never give http-parser more than the header cap: a block that has
         * not ended within HTTP_UPGRADE_MAX_HEADER bytes is refused. */
        if (p->fed >= HTTP_UPGRADE_MAX_HEADER)
                return (p->state = -E2BIG);
        n = MIN(len, HTTP_UPGRADE_MAX_HEADER - p->fed);

        k = http_parser_execute(&p->hp, &request_settings, (const char *) buf, n);
        if (p->error < 0)
                return (p->state = p->error);
        if (p->state == 1) {
                *consumed = k;
                return 1;
        }
        if (HTTP_PARSER_ERRNO(&p->hp) != HPE_OK || k != n)
                return (p->state = -EBADMSG);

        p->fed += n;
        if (n < len)
                return (p->state = -E2BIG);
        *consumed = n;
        return 0;
}

const http_upgrade_request *http_upgrade_parser_request(const http_upgrade_parser *p) {
        if (!p || p->state != 1)
                return NULL;
        return &p->req;
}

/* ---- handshake values ---- */

/* A Sec-WebSocket-Key: base64 (padded, canonical) of exactly 16 bytes. */
static bool ws_key_valid(const char *key) {
        uint8_t raw[WS_KEY_RAW];
        size_t raw_len = 0;
        const char *end = NULL;

        if (!key || strnlen(key, WS_KEY_LEN + 1) != WS_KEY_LEN)
                return false;
        if (sodium_base642bin(raw, sizeof(raw), key, WS_KEY_LEN, NULL, &raw_len, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
                return false;
        return raw_len == WS_KEY_RAW && end == key + WS_KEY_LEN;
}

int http_upgrade_validate(const http_upgrade_request *r, const char **why) {
        const char *reason = NULL;

        if (!r)
                reason = "no request";
        else if (!r->method || strcmp(r->method, "GET") != 0)
                reason = "request method is not GET";
        else if (r->http_major < 1 || (r->http_major == 1 && r->http_minor < 1))
                reason = "HTTP/1.1 or later is required";
        else if (!r->connection_upgrade)
                reason = "Connection header lacks the 'upgrade' token";
        else if (!r->upgrade_websocket)
                reason = "Upgrade header lacks the 'websocket' token";
        else if (!r->ws_version || !token_list_contains(r->ws_version, strlen(r->ws_version), "13"))
                reason = "Sec-WebSocket-Version must be 13";
        else if (!ws_key_valid(r->ws_key))
                reason = "Sec-WebSocket-Key must be the base64 of 16 bytes";

        if (why)
                *why = reason;
        return reason ? -EINVAL : 0;
}

int http_upgrade_accept_key(const char *key, char out[29]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;

        if (!key || !out)
                return -EINVAL;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 || EVP_DigestUpdate(ctx, key, strlen(key)) != 1 ||
            EVP_DigestUpdate(ctx, WS_GUID, strlen(WS_GUID)) != 1 ||
            EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != SHA1_LEN)
                return -EIO;

        sodium_bin2base64(out, 29, md, SHA1_LEN, sodium_base64_VARIANT_ORIGINAL);
        return 0;
}

int http_upgrade_response_101(const char *key, char **ret) {
        char accept[29];
        char *s = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        *ret = NULL;
        if (!ws_key_valid(key))
                return -EINVAL;
        r = http_upgrade_accept_key(key, accept);
        if (r < 0)
                return r;
        if (asprintf(&s,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "\r\n",
                     accept) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static const char *reason_phrase(int status) {
        switch (status) {
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 426:
                return "Upgrade Required";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 503:
                return "Service Unavailable";
        default:
                return NULL;
        }
}

int http_upgrade_response_error(int status, const char *body, char **ret) {
        const char *phrase = reason_phrase(status);
        const char *extra = "";
        size_t body_len;
        char *s = NULL;

        if (!ret)
                return -EINVAL;
        *ret = NULL;
        if (!phrase)
                return -EINVAL;
        if (!body)
                body = "";
        body_len = strnlen(body, ERROR_BODY_MAX + 1);
        if (body_len > ERROR_BODY_MAX)
                return -E2BIG;

        /* Fields the status code obliges us to send (RFC 9110 15.5.6 and
         * 15.5.22, RFC 6455 4.4). */
        if (status == 405)
                extra = "Allow: GET\r\n";
        else if (status == 426)
                extra = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";

        if (asprintf(&s,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Connection: close\r\n"
                     "\r\n"
                     "%s",
                     status, phrase, body_len, extra, body) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ---- bearer check ---- */

/* Equal contents and length, in time independent of both: the two strings
 * are compared through their BLAKE2b digests. */
static bool secret_equal(const char *a, size_t alen, const char *b, size_t blen) {
        unsigned char ha[crypto_generichash_BYTES], hb[crypto_generichash_BYTES];
        bool eq;

        crypto_generichash(ha, sizeof(ha), (const unsigned char *) a, alen, NULL, 0);
        crypto_generichash(hb, sizeof(hb), (const unsigned char *) b, blen, NULL, 0);
        eq = sodium_memcmp(ha, hb, sizeof(ha)) == 0;
        sodium_memzero(ha, sizeof(ha));
        sodium_memzero(hb, sizeof(hb));
        return eq && alen == blen;
}

bool http_upgrade_bearer_ok(const char *authorization, const char *token) {
        const char *field[2] = {};
        size_t field_len[2] = {};
        unsigned nfields = 0;
        const char *t;
        size_t n, tlen, i = 0;

        if (!authorization || !token)
                return false;
        if (sodium_init() < 0)
                return false;

        t = token;
        tlen = strlen(token);
        trim_space(&t, &tlen);
        if (tlen == 0)
                return false; /* no token configured: nothing can match */

        /* Go strings.Fields: runs of non-space separated by runs of space. */
        n = strlen(authorization);
        while (i < n) {
                size_t w = space_len(authorization + i, n - i);
                size_t start;

                if (w > 0) {
                        i += w;
                        continue;
                }
                start = i;
                while (i < n && space_len(authorization + i, n - i) == 0)
                        i++;
                if (nfields == 2)
                        return false; /* a third field */
                field[nfields] = authorization + start;
                field_len[nfields] = i - start;
                nfields++;
        }
        if (nfields != 2)
                return false;
        if (field_len[0] != strlen("bearer") || !ascii_caseeq(field[0], "bearer", field_len[0]))
                return false;

        return secret_equal(field[1], field_len[1], t, tlen);
}

/* ---- Origin check ---- */

typedef struct origin_parts {
        const char *scheme;
        size_t scheme_len;
        const char *host; /* authority: host[:port] */
        size_t host_len;
} origin_parts;

/* "scheme://host[:port]" optionally followed by a path, query or fragment,
 * which are ignored. User information ("user@") is refused. */
static int origin_parse(const char *s, size_t n, origin_parts *ret) {
        size_t i = 0, h;

        if (n == 0 || !ascii_isalpha(s[0]))
                return -EINVAL;
        while (i < n &&
               (ascii_isalpha(s[i]) || ascii_isdigit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
                i++;
        if (n - i < 3 || memcmp(s + i, "://", 3) != 0)
                return -EINVAL;

        ret->scheme = s;
        ret->scheme_len = i;
        ret->host = s + i + 3;
        n -= i + 3;
        for (h = 0; h < n; h++)
                if (ret->host[h] == '/' || ret->host[h] == '?' || ret->host[h] == '#')
                        break;
        if (h == 0 || memchr(ret->host, '@', h))
                return -EINVAL;
        ret->host_len = h;
        return 0;
}

static const char *default_port(const char *scheme, size_t len) {
        if ((len == 4 && ascii_caseeq(scheme, "http", 4)) || (len == 2 && ascii_caseeq(scheme, "ws", 2)))
                return "80";
        if ((len == 5 && ascii_caseeq(scheme, "https", 5)) || (len == 3 && ascii_caseeq(scheme, "wss", 3)))
                return "443";
        return NULL;
}

static bool host_char_ok(char c) {
        return ascii_isvisible(c) && c != '/' && c != '@' && c != '[' && c != ']' && c != '?' && c != '#' &&
               c != ',';
}

/* Normalises "host", "host:port", "[v6]" or "[v6]:port" for a scheme:
 * lower-case host name, port dropped when empty or the scheme's default,
 * IPv6 literal bracketed only when a port remains. Writes a C string to out;
 * returns 0 or -EINVAL. */
static int host_normalize(const char *s, size_t n, const char *scheme, size_t scheme_len, char *out,
                          size_t out_size) {
        const char *name, *port = NULL, *def;
        size_t name_len, port_len = 0, o = 0;
        bool v6 = false;

        trim_space(&s, &n);
        if (n == 0)
                return -EINVAL;

        if (s[0] == '[') {
                const char *close = memchr(s, ']', n);
                size_t rest;

                if (!close)
                        return -EINVAL;
                name = s + 1;
                name_len = (size_t) (close - name);
                rest = n - (size_t) (close - s) - 1;
                if (rest > 0) {
                        if (close[1] != ':')
                                return -EINVAL;
                        port = close + 2;
                        port_len = rest - 1;
                }
                v6 = true;
        } else {
                const char *colon = memrchr(s, ':', n);

                name = s;
                name_len = colon ? (size_t) (colon - s) : n;
                if (colon) {
                        port = colon + 1;
                        port_len = n - name_len - 1;
                }
                if (memchr(name, ':', name_len))
                        return -EINVAL; /* unbracketed IPv6 or junk */
        }

        if (name_len == 0)
                return -EINVAL;
        for (size_t i = 0; i < name_len; i++)
                if (!host_char_ok(name[i]) || (!v6 && name[i] == ':'))
                        return -EINVAL;
        if (port_len > 5)
                return -EINVAL;
        for (size_t i = 0; i < port_len; i++)
                if (!ascii_isdigit(port[i]))
                        return -EINVAL;

        def = default_port(scheme, scheme_len);
        if (def && port_len == strlen(def) && memcmp(port, def, port_len) == 0)
                port_len = 0;

        /* name, brackets, colon, port, NUL */
        if (name_len > out_size - 9)
                return -EINVAL;
        if (v6 && port_len > 0)
                out[o++] = '[';
        for (size_t i = 0; i < name_len; i++)
                out[o++] = ascii_tolower(name[i]);
        if (v6 && port_len > 0)
                out[o++] = ']';
        if (port_len > 0) {
                out[o++] = ':';
                memcpy(out + o, port, port_len);
                o += port_len;
        }
        out[o] = '\0';
        return 0;
}

static bool allowed_entry_matches(const char *e, size_t elen, const origin_parts *op,
                                  const char *origin_host) {
        char h[HOST_NORM_MAX];

        if (elen >= 3 && memmem(e, elen, "://", 3)) {
                origin_parts ap;

                if (origin_parse(e, elen, &ap) < 0)
                        return false;
                if (ap.scheme_len != op->scheme_len || !ascii_caseeq(ap.scheme, op->scheme, ap.scheme_len))
                        return false;
                if (host_normalize(ap.host, ap.host_len, ap.scheme, ap.scheme_len, h, sizeof(h)) < 0)
                        return false;
        } else if (host_normalize(e, elen, op->scheme, op->scheme_len, h, sizeof(h)) < 0)
                return false;

        return strcmp(h, origin_host) == 0;
}

bool http_upgrade_origin_ok(const char *origin, const char *request_host, char *const *allowed,
                            bool unauthenticated_mode) {
        char origin_host[HOST_NORM_MAX], h[HOST_NORM_MAX];
        origin_parts op;
        const char *o;
        size_t olen;

        if (!origin)
                return true;
        o = origin;
        olen = strlen(origin);
        trim_space(&o, &olen);
        if (olen == 0)
                return true;

        if (origin_parse(o, olen, &op) < 0)
                return false;
        if (host_normalize(op.host, op.host_len, op.scheme, op.scheme_len, origin_host,
                           sizeof(origin_host)) < 0)
                return false;

        for (char *const *a = allowed; a && *a; a++) {
                const char *e = *a;
                size_t elen = strlen(e);

                trim_space(&e, &elen);
                if (elen == 0)
                        continue;
                if (elen == 1 && e[0] == '*')
                        return true;
                if (elen == olen && ascii_caseeq(e, o, olen))
                        return true;
                if (allowed_entry_matches(e, elen, &op, origin_host))
                        return true;
        }

        if (unauthenticated_mode || !request_host)
                return false;
        if (host_normalize(request_host, strlen(request_host), op.scheme, op.scheme_len, h, sizeof(h)) < 0)
                return false;
        return strcmp(h, origin_host) == 0;
}

/* ---- client side: the request ---- */

static bool visible_string(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!ascii_isvisible(s[i]))
                        return false;
        return true;
}

int http_upgrade_client_request(const char *host, const char *path, const char *bearer_token,
                                char key_out[25], char **ret) {
        uint8_t nonce[WS_KEY_RAW];
        const char *t = "";
        size_t host_len, path_len, tlen = 0;
        char *s = NULL;
        int n;

        if (!host || !key_out || !ret)
                return -EINVAL;
        *ret = NULL;

        host_len = strnlen(host, HTTP_UPGRADE_MAX_HEADER + 1);
        if (host_len == 0 || host_len > HTTP_UPGRADE_MAX_HEADER || !visible_string(host, host_len) ||
            strpbrk(host, "/?#@,"))
                return -EINVAL;
        if (path && *path) {
                path_len = strnlen(path, HTTP_UPGRADE_MAX_HEADER + 1);
                if (path_len > HTTP_UPGRADE_MAX_HEADER || path[0] != '/' || !visible_string(path, path_len))
                        return -EINVAL;
        } else
                path = "/";
        if (bearer_token) {
                t = bearer_token;
                tlen = strnlen(bearer_token, HTTP_UPGRADE_MAX_HEADER + 1);
                trim_space(&t, &tlen);
                if (tlen > HTTP_UPGRADE_MAX_HEADER)
                        return -E2BIG;
                if (!visible_string(t, tlen))
                        return -EINVAL; /* would not survive the server's field split */
        }

        if (sodium_init() < 0)
                return -EIO;
        randombytes_buf(nonce, sizeof(nonce));
        sodium_bin2base64(key_out, 25, nonce, sizeof(nonce), sodium_base64_VARIANT_ORIGINAL);

        n = asprintf(&s,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s%.*s%s"
                     "\r\n",
                     path, host, key_out, tlen > 0 ? "Authorization: Bearer " : "", (int) tlen, t,
                     tlen > 0 ? "\r\n" : "");
        if (n < 0)
                return -ENOMEM;
        if ((size_t) n > HTTP_UPGRADE_MAX_HEADER) {
                sodium_memzero(s, (size_t) n);
                free(s);
                return -E2BIG;
        }
        *ret = s;
        return 0;
}

/* ---- client side: the response ---- */

struct http_upgrade_response_parser {
        http_parser hp;
        header_acc acc;
        char expected_accept[29];
        char *accept;
        bool upgrade_websocket;
        bool connection_upgrade;
        bool unexpected_extension; /* Sec-WebSocket-Extensions/-Protocol we never offered */
        bool headers_done;
        int status;
        char body[RESPONSE_BODY_MAX + 1];
        size_t body_len;
        size_t fed; /* header bytes given to http-parser so far */
        int error;  /* set by a callback */
        bool finished;
        int result; /* valid once finished: 1, -EPROTO, -EBADMSG, -E2BIG, ... */
};

static int response_fail(http_upgrade_response_parser *p, int r) {
        if (p->error == 0)
                p->error = r;
        return -1;
}

static void response_finish(http_upgrade_response_parser *p, int result) {
        p->finished = true;
        p->result = result;
}

static int response_finish_header(http_upgrade_response_parser *p) {
        const char *v;
        size_t n;
        header_id id;
        int k = 0;

        if (!header_acc_take(&p->acc, &id, &v, &n))
                return 0;

        switch (id) {
        case HDR_UPGRADE:
                if (token_list_contains(v, n, "websocket"))
                        p->upgrade_websocket = true;
                break;
        case HDR_CONNECTION:
                if (token_list_contains(v, n, "upgrade"))
                        p->connection_upgrade = true;
                break;
        case HDR_WS_ACCEPT:
                if (p->accept)
                        k = -EBADMSG;
                else
                        k = value_dup(v, n, &p->accept);
                break;
        case HDR_WS_EXTENSIONS:
        case HDR_WS_PROTOCOL:
                if (n > 0)
                        p->unexpected_extension = true;
                break;
        default:
                break;
        }
        header_acc_reset(&p->acc);
        return k;
}

static int response_on_status(http_parser *hp, _unused_ const char *at, _unused_ size_t len) {
        http_upgrade_response_parser *p = hp->data;

        p->status = (int) hp->status_code;
        return 0;
}

static int response_on_header_field(http_parser *hp, const char *at, size_t len) {
        http_upgrade_response_parser *p = hp->data;
        int r;

        if (p->acc.in_value) {
                r = response_finish_header(p);
                if (r < 0)
                        return response_fail(p, r);
        }
        r = header_acc_name(&p->acc, at, len);
        return r < 0 ? response_fail(p, r) : 0;
}

static int response_on_header_value(http_parser *hp, const char *at, size_t len) {
        http_upgrade_response_parser *p = hp->data;
        int r = header_acc_value(&p->acc, at, len);

        return r < 0 ? response_fail(p, r) : 0;
}

static int response_on_headers_complete(http_parser *hp) {
        http_upgrade_response_parser *p = hp->data;
        int r = response_finish_header(p);

        if (r < 0)
                return response_fail(p, r);
        p->status = (int) hp->status_code;
        p->headers_done = true;
        if (p->status == 101)
                return 2; /* no body; the rest is WebSocket */
        return 0;         /* read the error body */
}

static int response_on_body(http_parser *hp, const char *at, size_t len) {
        http_upgrade_response_parser *p = hp->data;
        size_t take = MIN(len, RESPONSE_BODY_MAX - p->body_len);

        memcpy(p->body + p->body_len, at, take);
        p->body_len += take;
        p->body[p->body_len] = '\0';
        if (p->body_len >= RESPONSE_BODY_MAX) {
                /* We keep no more than this: stop reading. */
                response_finish(p, -EPROTO);
                return -1;
        }
        return 0;
}

static int response_on_message_complete(http_parser *hp) {
        http_upgrade_response_parser *p = hp->data;

        if (p->status != 101) {
                response_finish(p, -EPROTO);
                return -1; /* do not go on into a next response */
        }

        if (!p->upgrade_websocket || !p->connection_upgrade || p->unexpected_extension || !p->accept ||
            strlen(p->accept) != 28 || sodium_memcmp(p->accept, p->expected_accept, 28) != 0)
                response_finish(p, -EBADMSG);
        else
                response_finish(p, 1);
        return 0;
}

static const http_parser_settings response_settings = {
        .on_status = response_on_status,
        .on_header_field = response_on_header_field,
        .on_header_value = response_on_header_value,
        .on_headers_complete = response_on_headers_complete,
        .on_body = response_on_body,
        .on_message_complete = response_on_message_complete,
};

int http_upgrade_response_parser_new(const char *key, http_upgrade_response_parser **ret) {
        http_upgrade_response_parser *p;
        int r;

        if (!ret)
                return -EINVAL;
        *ret = NULL;
        if (!ws_key_valid(key))
                return -EINVAL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        r = http_upgrade_accept_key(key, p->expected_accept);
        if (r < 0) {
                free(p);
                return r;
        }
        http_parser_init(&p->hp, HTTP_RESPONSE);
        p->hp.data = p;
        *ret = p;
        return 0;
}

http_upgrade_response_parser *http_upgrade_response_parser_free(http_upgrade_response_parser *p) {
        if (!p)
                return NULL;
        strbuf_done(&p->acc.value);
        free(p->accept);
        free(p);
        return NULL;
}

int http_upgrade_response_parser_feed(http_upgrade_response_parser *p, const uint8_t *buf, size_t len,
                                      size_t *consumed) {
        size_t off = 0;

        if (!p || !consumed || (!buf && len > 0))
                return -EINVAL;
        *consumed = 0;
        if (p->finished)
                return p->result;

        while (off < len) {
                size_t n = len - off, k;

                if (!p->headers_done) {
                        if (p->fed >= HTTP_UPGRADE_MAX_HEADER) {
                                response_finish(p, -E2BIG);
                                return p->result;
                        }
                        n = MIN(n, HTTP_UPGRADE_MAX_HEADER - p->fed);
                }

                k = http_parser_execute(&p->hp, &response_settings, (const char *) buf + off, n);
                if (p->finished) {
                        *consumed = off + MIN(k, n);
                        return p->result;
                }
                if (p->error < 0) {
                        response_finish(p, p->error);
                        return p->result;
                }
                if (HTTP_PARSER_ERRNO(&p->hp) != HPE_OK || k != n) {
                        response_finish(p, -EBADMSG);
                        return p->result;
                }
                if (!p->headers_done)
                        p->fed += n;
                off += n;
        }

        *consumed = len;
        return 0;
}

int http_upgrade_response_status(const http_upgrade_response_parser *p) {
        return p ? p->status : 0;
}

const char *http_upgrade_response_body(const http_upgrade_response_parser *p) {
        if (!p || !p->finished || p->result != -EPROTO)
                return NULL;
        return p->body;
}

int http_upgrade_response_parser_eof(http_upgrade_response_parser *p) {
        if (!p)
                return -EINVAL;
        if (p->finished)
                return p->result;
        if (p->headers_done && p->status != 101)
                response_finish(p, -EPROTO); /* the body ran to EOF (or was cut short) */
        else
                response_finish(p, -EBADMSG); /* closed inside the status line or header */
        return p->result;
}
