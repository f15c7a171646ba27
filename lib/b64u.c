/* Canonical base64url without padding (see b64u.h), on libsodium. */
#include "b64u.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "trimspace.h"

#define VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

int b64u_encode(const uint8_t *in, size_t len, char **ret) {
        size_t n;
        char *s;

        if (len > (SIZE_MAX - 8) / 4 * 3)
                return -E2BIG;
        n = sodium_base64_ENCODED_LEN(len, VARIANT);
        s = malloc(n);
        if (!s)
                return -ENOMEM;
        sodium_bin2base64(s, n, len ? in : (const uint8_t *) "", len, VARIANT);
        *ret = s;
        return 0;
}

/* Zeroes and frees; decoded bytes may be key material. */
static void wipe_free(void *p, size_t n) {
        if (p) {
                sodium_memzero(p, n);
                free(p);
        }
}

/* Decodes text[0..len) canonically into a malloc'd buffer. The scratch copies
 * (decoded bytes, re-encoding) are zeroed before they are freed. */
static int decode_trimmed(const char *text, size_t len, uint8_t **ret, size_t *ret_len) {
        size_t max = len / 4 * 3 + 3, bin_len = 0;
        const char *end = NULL;
        char *again = NULL;
        uint8_t *bin;
        int r;

        bin = malloc(max);
        if (!bin)
                return -ENOMEM;
        r = -EINVAL;
        if (len > 0 && sodium_base642bin(bin, max, text, len, NULL, &bin_len, &end, VARIANT) != 0)
                goto out;
        if (len > 0 && end != text + len)
                goto out;

        /* Re-encode: refuses non-zero trailing bits and anything else that is
         * not the one canonical spelling. */
        r = b64u_encode(bin, bin_len, &again);
        if (r < 0)
                goto out;
        r = strlen(again) == len && memcmp(again, text, len) == 0 ? 0 : -EINVAL;
        wipe_free(again, strlen(again));
out:
        if (r < 0) {
                wipe_free(bin, max);
                return r;
        }
        *ret = bin;
        *ret_len = bin_len;
        return 0;
}

int b64u_decode(const char *in, uint8_t **ret, size_t *ret_len) {
        size_t off, len;

        if (!in)
                return -EINVAL;
        trim_space(in, strlen(in), &off, &len);
        return decode_trimmed(in + off, len, ret, ret_len);
}

int b64u_decode_exact(const char *in, uint8_t *out, size_t want) {
        uint8_t *bin = NULL;
        size_t len = 0;
        int r;

        r = b64u_decode(in, &bin, &len);
        if (r < 0)
                return r;
        r = len == want ? 0 : -EBADMSG;
        if (r == 0 && len > 0)
                memcpy(out, bin, len);
        wipe_free(bin, len);
        return r;
}
