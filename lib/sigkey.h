/* Endpoint signing keys: ECDSA P-256 with SHA-256 (spec 5.1), on OpenSSL 3
 * EVP. Public keys travel as 91-byte SubjectPublicKeyInfo DER with an
 * uncompressed point; private keys are stored as PKCS#8 DER; signatures are
 * strict DER SEQUENCE{r, s} over a 32-byte transcript hash.
 *
 * Private key material is only ever handed out in sodium_malloc'd buffers
 * (free them with sodium_free); OpenSSL's own copy is freed with the key. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGKEY_ID_LEN 32
#define SIGKEY_SPKI_LEN 91
#define SIGKEY_ID_DOMAIN "rstream-webtty-signing-key-id-v1"

typedef struct sigkey sigkey;

int sigkey_generate(sigkey **ret);
/* Private key from PKCS#8 DER (P-256 only): -EINVAL otherwise. */
int sigkey_from_pkcs8(const uint8_t *der, size_t len, sigkey **ret);
/* Public key from SPKI DER: P-256, uncompressed point, no trailing bytes. */
int sigkey_from_spki(const uint8_t *der, size_t len, sigkey **ret);
sigkey *sigkey_free(sigkey *k);
bool sigkey_has_private(const sigkey *k);

/* The public key as SPKI DER (SIGKEY_SPKI_LEN bytes). */
int sigkey_spki(const sigkey *k, uint8_t out[SIGKEY_SPKI_LEN]);
/* The private key as PKCS#8 DER in a sodium_malloc'd buffer. */
int sigkey_pkcs8(const sigkey *k, uint8_t **ret, size_t *ret_len);

/* SHA256(SIGKEY_ID_DOMAIN || spki). */
void sigkey_id_from_spki(const uint8_t *spki, size_t len, uint8_t out[SIGKEY_ID_LEN]);

/* DER signature over hash (used as the ECDSA digest). malloc'd. */
int sigkey_sign(const sigkey *k, const uint8_t hash[32], uint8_t **ret, size_t *ret_len);
/* 0 if sig is a valid strict-DER signature of hash (high S accepted, as Go),
 * -EBADMSG if not, other negative errno on internal failure. */
int sigkey_verify(const sigkey *k, const uint8_t hash[32], const uint8_t *sig, size_t sig_len);
