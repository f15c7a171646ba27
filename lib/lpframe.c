/* Plain transport framing (see lpframe.h). */
#include "lpframe.h"

#include <errno.h>

int lpframe_parse(const uint8_t *buf, size_t len, size_t max, const uint8_t **msg, size_t *msg_len) {
        size_t n;

        *msg = NULL;
        *msg_len = 0;
        if (len < LPFRAME_HEADER)
                return 0;
        n = (size_t) buf[0] << 24 | (size_t) buf[1] << 16 | (size_t) buf[2] << 8 | buf[3];
        *msg_len = n;
        if (n > max)
                return -EMSGSIZE;
        if (len - LPFRAME_HEADER < n)
                return 0;
        *msg = buf + LPFRAME_HEADER;
        return 1;
}

void lpframe_header(uint8_t out[LPFRAME_HEADER], uint32_t len) {
        out[0] = (uint8_t) (len >> 24);
        out[1] = (uint8_t) (len >> 16);
        out[2] = (uint8_t) (len >> 8);
        out[3] = (uint8_t) len;
}
