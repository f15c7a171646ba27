/* Canonical byte-string builder (see wbuf.h). */
#include "wbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "trimspace.h"

static size_t max_size(size_t a, size_t b) {
        return a > b ? a : b;
}

static int reserve(wbuf *b, size_t n) {
        size_t cap;
        uint8_t *p;

        if (b->error < 0)
                return b->error;
        if (n <= b->cap - b->len)
                return 0;
        if (n > SIZE_MAX / 2 - b->len)
                return (b->error = -E2BIG);
        cap = max_size(b->cap ? b->cap * 2 : 128, b->len + n);
        p = malloc(cap);
        if (!p)
                return (b->error = -ENOMEM);
        if (b->len)
                memcpy(p, b->data, b->len);
        if (b->data) {
                sodium_memzero(b->data, b->cap);
                free(b->data);
        }
        b->data = p;
        b->cap = cap;
        return 0;
}

void wbuf_put(wbuf *b, const void *p, size_t n) {
        if (n == 0 || reserve(b, n) < 0)
                return;
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

void wbuf_put_u32(wbuf *b, uint32_t v) {
        uint8_t be[4];

        put_be32(be, v);
        wbuf_put(b, be, sizeof(be));
}

void wbuf_put_lp(wbuf *b, const void *p, size_t n) {
        if (n > UINT32_MAX) {
                if (b->error == 0)
                        b->error = -E2BIG;
                return;
        }
        wbuf_put_u32(b, (uint32_t) n);
        wbuf_put(b, p, n);
}

void wbuf_put_lp_str(wbuf *b, const char *s) {
        wbuf_put_lp(b, s ? s : "", s ? strlen(s) : 0);
}

void wbuf_put_lps(wbuf *b, const char *s) {
        size_t off, len;

        if (!s)
                s = "";
        trim_space(s, strlen(s), &off, &len);
        wbuf_put_lp(b, s + off, len);
}

int wbuf_finish(wbuf *b, uint8_t **ret, size_t *ret_len) {
        int r = b->error;

        if (r == 0 && !b->data)
                r = reserve(b, 1);
        if (r < 0) {
                wbuf_done(b);
                return r;
        }
        *ret = b->data;
        *ret_len = b->len;
        *b = (wbuf) WBUF_INIT;
        return 0;
}

void wbuf_done(wbuf *b) {
        if (b->data) {
                sodium_memzero(b->data, b->cap);
                free(b->data);
        }
        *b = (wbuf) WBUF_INIT;
}
