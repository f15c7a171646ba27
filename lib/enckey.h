/* E2E encryption keys (spec 5.2): X25519 (key envelope suite 1) or ECDH
 * P-256 (suite 3). Public keys are raw: 32 bytes (X25519) or a 65-byte
 * uncompressed SEC1 point (P-256); private keys are 32-byte scalars kept in
 * sodium_malloc'd (locked, guarded) memory and zeroed on free. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENCKEY_ID_LEN 16
#define ENCKEY_PUB_MAX 65
#define ENCKEY_PRIV_LEN 32
#define ENCKEY_ID_DOMAIN "rstream-webtty-e2e-key-id/v1"

typedef enum enckey_suite {
        ENCKEY_SUITE_X25519 = 1, /* KEY_ENVELOPE_SUITE_HPKE_X25519_HKDF_SHA256_AES_256_GCM */
        ENCKEY_SUITE_P256 = 3,   /* KEY_ENVELOPE_SUITE_P256_HKDF_SHA256_AES_256_GCM_RANDOM_NONCE */
} enckey_suite;

typedef struct enckey {
        enckey_suite suite;
        uint8_t pub[ENCKEY_PUB_MAX];
        size_t pub_len;
        uint8_t id[ENCKEY_ID_LEN];
        uint8_t *priv; /* ENCKEY_PRIV_LEN bytes in sodium_malloc'd memory, or NULL */
} enckey;

int enckey_generate(enckey_suite suite, enckey **ret);
/* Derives the public key and id from a private scalar (P-256: 1 <= d < n). */
int enckey_from_private(enckey_suite suite, const uint8_t *priv, size_t len, enckey **ret);
/* Public-only key; the suite follows from the length (32 -> 1, 65 -> 3) and
 * a P-256 point must be on the curve. */
int enckey_from_public(const uint8_t *pub, size_t len, enckey **ret);
enckey *enckey_free(enckey *k);

/* First 16 bytes of SHA256(ENCKEY_ID_DOMAIN || pub). */
void enckey_id(const uint8_t *pub, size_t len, uint8_t out[ENCKEY_ID_LEN]);

/* The suite a bare public key belongs to, from its length: 32 -> X25519,
 * 65 -> P-256; -EINVAL for any other length. */
int enckey_suite_for_public_len(size_t len, enckey_suite *ret);

/* Diffie-Hellman of k's private key with a peer public key of k's suite,
 * into out (32 bytes; the caller zeroes it after use):
 *   X25519: the 32-byte shared secret; a peer key that gives the all-zero
 *           secret (low-order point) is refused, as Go's crypto/ecdh does.
 *   P-256:  the x-coordinate of priv * peer; the peer must be a 65-byte
 *           uncompressed point on the curve.
 * -EINVAL for a bad peer key, -ENOKEY if k has no private key, -EIO on an
 * internal failure. */
int enckey_dh(const enckey *k, const uint8_t *peer, size_t peer_len, uint8_t out[32]);
