/* A growable byte buffer for the canonical byte strings of the protocol
 * (transcripts, key-wrap info/AAD, payload AAD): U32 is 4 bytes big-endian,
 * LP(b) is U32(len(b)) || b and LPS(s) is LP(Go-TrimSpace(s)) (spec 0).
 *
 * Errors latch: after a failed allocation every append is a no-op and
 * wbuf_finish() reports -ENOMEM, so builders check once at the end. Contents
 * are not secret (no key material goes into a wbuf); wbuf_done() still zeroes
 * before freeing. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct wbuf {
        uint8_t *data;
        size_t len, cap;
        int error; /* 0 or a negative errno */
} wbuf;

#define WBUF_INIT                                                                                           \
        { NULL, 0, 0, 0 }

void wbuf_put(wbuf *b, const void *p, size_t n);
void wbuf_put_u32(wbuf *b, uint32_t v);
/* LP(p[0..n)); n above UINT32_MAX latches -E2BIG. */
void wbuf_put_lp(wbuf *b, const void *p, size_t n);
/* LP of a NUL-terminated string (NULL is ""), untrimmed. */
void wbuf_put_lp_str(wbuf *b, const char *s);
/* LPS: LP of the string with Go's TrimSpace applied (NULL is ""). */
void wbuf_put_lps(wbuf *b, const char *s);

/* Hands the bytes out (malloc'd, at least 1 byte allocated) or returns the
 * latched error; the buffer is reset either way. */
int wbuf_finish(wbuf *b, uint8_t **ret, size_t *ret_len);
/* Releases the buffer without handing it out. */
void wbuf_done(wbuf *b);

static inline void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}
