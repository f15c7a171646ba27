/* HPKE (RFC 9180), base mode only, KEM DHKEM(X25519, HKDF-SHA256) (0x0020),
 * KDF HKDF-SHA256 (0x0001), and the HKDF and AEAD primitives it is made of.
 *
 * WebTTY key envelope suite 1 (spec 7.5) is exactly HPKE base mode with AEAD
 * AES-256-GCM (0x0002), one Seal/Open at sequence number 0: hpke_seal_base()
 * and hpke_open_base(). AES-128-GCM (0x0001) and ChaCha20-Poly1305 (0x0003)
 * are accepted as well only because the published RFC 9180 test vectors for
 * the X25519 KEM use those two AEADs; the protocol code never asks for them.
 *
 * Secrets (shared secrets, contexts, private keys) live in sodium_malloc'd
 * memory or on the stack and are zeroed after use; OpenSSL holds transient
 * copies only inside calls. Nothing here logs. Every function returns 0 or a
 * negative errno: -EINVAL for bad arguments or a bad public key, -EBADMSG when
 * an AEAD tag does not verify, -ENOMEM, -EIO for an unexpected library failure. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "enckey.h"

/* ---- HKDF-SHA256 (RFC 5869) ---- */

#define HKDF_SHA256_LEN 32
#define HKDF_SHA256_MAX_OUT (255 * HKDF_SHA256_LEN)

/* prk = HMAC-SHA256(salt, ikm); an empty salt is HashLen zero bytes. */
int hkdf_sha256_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                        uint8_t prk[HKDF_SHA256_LEN]);
/* The first out_len bytes of T(1) || T(2) || ...; out_len at most
 * HKDF_SHA256_MAX_OUT (else -EINVAL); prk_len at least HKDF_SHA256_LEN. */
int hkdf_sha256_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len,
                       uint8_t *out, size_t out_len);
/* Extract then expand. */
int hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

/* ---- AEADs (12-byte nonce, 16-byte tag appended to the ciphertext) ---- */

typedef enum hpke_aead {
        HPKE_AEAD_AES_128_GCM = 0x0001,
        HPKE_AEAD_AES_256_GCM = 0x0002,
        HPKE_AEAD_CHACHA20_POLY1305 = 0x0003,
} hpke_aead;

#define HPKE_NONCE_LEN 12
#define HPKE_TAG_LEN 16
#define HPKE_KEY_MAX 32

/* Key length Nk of aead (16 or 32), or 0 if aead is not one of the above. */
size_t hpke_aead_key_len(hpke_aead aead);

/* ct = Encrypt(key, nonce, aad, pt) || tag; ct has room for pt_len + 16
 * bytes and may equal pt (in place). */
int hpke_aead_seal(hpke_aead aead, const uint8_t *key, const uint8_t nonce[HPKE_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct);
/* pt (ct_len - 16 bytes, may equal ct) on success; -EBADMSG if ct is shorter
 * than a tag or does not authenticate, and then pt is zeroed. */
int hpke_aead_open(hpke_aead aead, const uint8_t *key, const uint8_t nonce[HPKE_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* ---- HPKE ---- */

#define HPKE_KEM_X25519_HKDF_SHA256 0x0020
#define HPKE_KDF_HKDF_SHA256 0x0001
#define HPKE_ENC_LEN 32    /* Nenc: the ephemeral X25519 public key */
#define HPKE_SECRET_LEN 32 /* Nsecret = Nh */
#define HPKE_SUITE_ID_MAX 10

/* suite_id of the KEM ("KEM" || I2OSP(0x0020, 2)) or of the whole suite
 * ("HPKE" || kem || kdf || aead); returns its length (5 or 10). */
size_t hpke_kem_suite_id(uint8_t out[HPKE_SUITE_ID_MAX]);
size_t hpke_suite_id(hpke_aead aead, uint8_t out[HPKE_SUITE_ID_MAX]);

/* LabeledExtract(salt, label, ikm) and LabeledExpand(prk, label, info, L) of
 * RFC 9180 section 4 under the given suite_id. */
int hpke_labeled_extract(const uint8_t *suite_id, size_t suite_id_len, const uint8_t *salt, size_t salt_len,
                         const char *label, const uint8_t *ikm, size_t ikm_len,
                         uint8_t out[HKDF_SHA256_LEN]);
int hpke_labeled_expand(const uint8_t *suite_id, size_t suite_id_len, const uint8_t prk[HKDF_SHA256_LEN],
                        const char *label, const uint8_t *info, size_t info_len, uint8_t *out,
                        size_t out_len);

/* DeriveKeyPair(ikm) for X25519 (RFC 9180 7.1.3): sk into sk_out (the caller
 * keeps it secret), pk = X25519(sk, 9). Test vectors use it. */
int hpke_derive_keypair(const uint8_t *ikm, size_t ikm_len, uint8_t sk_out[32], uint8_t pk_out[32]);

/* Encap(pkR): a fresh ephemeral key, or the given fixed one (ske, a 32-byte
 * X25519 private key; test vectors only, NULL otherwise). Writes the shared
 * secret (secret; zero it after use) and enc. -EINVAL for a low-order pkR. */
int hpke_encap(const uint8_t pkR[32], const uint8_t *ske, uint8_t shared_secret[HPKE_SECRET_LEN],
               uint8_t enc[HPKE_ENC_LEN]);
/* Decap(enc, skR): skR must be an X25519 enckey with its private part.
 * -EINVAL if enc has the wrong length or is a low-order point. */
int hpke_decap(const uint8_t *enc, size_t enc_len, const enckey *skR,
               uint8_t shared_secret[HPKE_SECRET_LEN]);

/* An encryption context (key, base_nonce, exporter_secret, next sequence
 * number) in sodium_malloc'd memory. Not thread-safe. */
typedef struct hpke_ctx hpke_ctx;

hpke_ctx *hpke_ctx_free(hpke_ctx *c);

/* KeySchedule(mode_base, shared_secret, info, "", "") of RFC 9180 5.1. */
int hpke_key_schedule(hpke_aead aead, const uint8_t shared_secret[HPKE_SECRET_LEN], const uint8_t *info,
                      size_t info_len, hpke_ctx **ret);
/* SetupBaseS(pkR, info): enc and the sender context (ske as for hpke_encap). */
int hpke_setup_base_s(hpke_aead aead, const uint8_t pkR[32], const uint8_t *info, size_t info_len,
                      const uint8_t *ske, uint8_t enc[HPKE_ENC_LEN], hpke_ctx **ret);
/* SetupBaseR(enc, skR, info). */
int hpke_setup_base_r(hpke_aead aead, const uint8_t *enc, size_t enc_len, const enckey *skR,
                      const uint8_t *info, size_t info_len, hpke_ctx **ret);

/* Context Seal/Open at the context's sequence number, which then advances
 * (RFC 9180 5.2; nonce = base_nonce XOR I2OSP(seq, 12)). ct has room for
 * pt_len + HPKE_TAG_LEN bytes. A failed Open does not advance the sequence.
 * -EOVERFLOW once the sequence number is exhausted. */
int hpke_seal(hpke_ctx *c, const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
              uint8_t *ct);
int hpke_open(hpke_ctx *c, const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
              uint8_t *pt);
/* Sets the next sequence number (test vectors skip numbers). */
void hpke_ctx_set_seq(hpke_ctx *c, uint64_t seq);
/* Export(exporter_context, L) of RFC 9180 5.3; L at most 255 * 32. */
int hpke_export(const hpke_ctx *c, const uint8_t *exporter_context, size_t context_len, uint8_t *out,
                size_t out_len);
/* Copies key (Nk bytes), base_nonce and exporter_secret out, for comparing
 * with test vectors only. */
void hpke_ctx_secrets(const hpke_ctx *c, uint8_t key[HPKE_KEY_MAX], size_t *key_len,
                      uint8_t base_nonce[HPKE_NONCE_LEN], uint8_t exporter_secret[HPKE_SECRET_LEN]);

/* Single-shot base mode (RFC 9180 6.1), sequence number 0: what key
 * envelope suite 1 uses with aead = HPKE_AEAD_AES_256_GCM.
 * Seal writes enc and ct (pt_len + 16 bytes). Open writes pt (ct_len - 16
 * bytes) and returns -EBADMSG if ct does not authenticate. */
int hpke_seal_base(hpke_aead aead, const uint8_t pkR[32], const uint8_t *info, size_t info_len,
                   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, const uint8_t *ske,
                   uint8_t enc[HPKE_ENC_LEN], uint8_t *ct);
int hpke_open_base(hpke_aead aead, const uint8_t *enc, size_t enc_len, const enckey *skR,
                   const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
                   const uint8_t *ct, size_t ct_len, uint8_t *pt);
