/* Go strings.TrimSpace (see trimspace.h). */
#include "trimspace.h"

#include <stdbool.h>
#include <stdint.h>

static bool unicode_space(uint32_t c) {
        switch (c) {
        case '\t':
        case '\n':
        case '\v':
        case '\f':
        case '\r':
        case ' ':
        case 0x85:
        case 0xA0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202F:
        case 0x205F:
        case 0x3000:
                return true;
        default:
                return c >= 0x2000 && c <= 0x200A;
        }
}

/* Length of the white-space character starting at s (at most n bytes), or 0. */
static size_t space_at(const uint8_t *s, size_t n) {
        uint32_t c;

        if (n == 0)
                return 0;
        if (s[0] < 0x80)
                return unicode_space(s[0]) ? 1 : 0;
        if ((s[0] & 0xE0) == 0xC0 && n >= 2 && (s[1] & 0xC0) == 0x80) {
                c = ((uint32_t) (s[0] & 0x1F) << 6) | (s[1] & 0x3F);
                return c >= 0x80 && unicode_space(c) ? 2 : 0;
        }
        if ((s[0] & 0xF0) == 0xE0 && n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
                c = ((uint32_t) (s[0] & 0x0F) << 12) | ((uint32_t) (s[1] & 0x3F) << 6) | (s[2] & 0x3F);
                return c >= 0x800 && unicode_space(c) ? 3 : 0;
        }
        return 0;
}

/* Length of the white-space character ending at s[n-1], or 0. */
static size_t space_before(const uint8_t *s, size_t n) {
        if (n >= 1 && s[n - 1] < 0x80)
                return unicode_space(s[n - 1]) ? 1 : 0;
        /* Every non-ASCII white space is a 2- or 3-byte sequence. */
        if (n >= 2 && space_at(s + n - 2, 2) == 2)
                return 2;
        if (n >= 3 && space_at(s + n - 3, 3) == 3)
                return 3;
        return 0;
}

void trim_space(const char *s, size_t len, size_t *ret_off, size_t *ret_len) {
        const uint8_t *b = (const uint8_t *) s;
        size_t start = 0, end = len, k;

        while (start < end && (k = space_at(b + start, end - start)) > 0)
                start += k;
        while (end > start && (k = space_before(b + start, end - start)) > 0)
                end -= k;
        *ret_off = start;
        *ret_len = end - start;
}
