/* libFuzzer target for lib/lpframe.c: the input is a plain-transport byte
 * stream. It is walked frame by frame with lpframe_parse() (under the default
 * read limit and under a small one) and every complete frame is decoded with
 * wmsg_unpack(), as the daemon does. lpframe_parse()'s contract is checked on
 * every step, including each truncation of the current frame. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpframe.h"
#include "macro.h"
#include "wmsg.h"

#define FUZZ_MAX_INPUT (4u * 1024u * 1024u)
#define SMALL_LIMIT 64

#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* One call, with lpframe_parse()'s documented contract checked. */
static int parse(const uint8_t *buf, size_t len, size_t max, const uint8_t **msg, size_t *msg_len) {
        int r = lpframe_parse(buf, len, max, msg, msg_len);

        if (len < LPFRAME_HEADER) {
                CHECK(r == 0 && !*msg && *msg_len == 0);
                return r;
        }
        CHECK(*msg_len == be32(buf));
        switch (r) {
        case 1:
                CHECK(*msg == buf + LPFRAME_HEADER);
                CHECK(*msg_len <= max && *msg_len <= len - LPFRAME_HEADER);
                break;
        case 0:
                CHECK(!*msg && *msg_len <= max && *msg_len > len - LPFRAME_HEADER);
                break;
        case -EMSGSIZE:
                CHECK(!*msg && *msg_len > max);
                break;
        default:
                CHECK(!"unexpected return value");
        }
        return r;
}

/* Walks the stream; returns the number of complete frames. */
static size_t walk(const uint8_t *data, size_t size, size_t max) {
        size_t off = 0, frames = 0;

        for (;;) {
                const uint8_t *msg;
                size_t n;
                int r = parse(data + off, size - off, max, &msg, &n);

                if (r <= 0) {
                        /* Whatever is left is a truncated frame or a refusal. */
                        break;
                }

                /* Every truncation of this frame asks for more (or, once the
                 * header is in, still agrees on the size). */
                for (size_t cut = 0; cut < LPFRAME_HEADER + n; cut += cut < 8 ? 1 : 1 + cut / 2) {
                        const uint8_t *m2;
                        size_t n2;

                        CHECK(parse(data + off, cut, max, &m2, &n2) == 0);
                        CHECK(cut < LPFRAME_HEADER || n2 == n);
                }

                {
                        char err[256];
                        Webtty__Message *m = wmsg_unpack(msg, n, err, sizeof(err));

                        if (m) {
                                (void) wmsg_payload_name(m);
                                wmsg_free(m);
                        } else
                                CHECK(strncmp(err, "failed to unmarshal protobuf: ", 30) == 0);
                }
                off += LPFRAME_HEADER + n;
                CHECK(off <= size);
                frames++;
        }
        return frames;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t big, small;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        big = walk(data, size, WMSG_DEFAULT_MAX_SIZE);
        small = walk(data, size, SMALL_LIMIT);
        /* A smaller limit can only stop the walk earlier. */
        CHECK(small <= big);

        /* The header writer inverts the reader. */
        if (size >= LPFRAME_HEADER) {
                uint8_t h[LPFRAME_HEADER];

                lpframe_header(h, be32(data));
                CHECK(memcmp(h, data, LPFRAME_HEADER) == 0);
        }
        return 0;
}
