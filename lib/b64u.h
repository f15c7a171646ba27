/* Canonical base64url without padding (spec section 0): every key, key id,
 * nonce and signature in WebTTY files and text forms. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* malloc'd NUL-terminated string. 0 or -ENOMEM. */
int b64u_encode(const uint8_t *in, size_t len, char **ret);

/* Trims leading/trailing white space, decodes, and refuses anything whose
 * re-encoding differs from the input (padding, '+', '/', non-zero trailing
 * bits): -EINVAL. *ret is malloc'd (at least 1 byte even for empty input). */
int b64u_decode(const char *in, uint8_t **ret, size_t *ret_len);

/* Same, into a caller buffer that must receive exactly want bytes; -EINVAL
 * for bad text, -EBADMSG when the length differs. */
int b64u_decode_exact(const char *in, uint8_t *out, size_t want);
