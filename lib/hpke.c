/* HPKE base mode with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256, plus HKDF
 * and the AEADs (see hpke.h). HMAC comes from EVP_MAC; HKDF is written out
 * here because OpenSSL 3.0's EVP_KDF HKDF caps info at 1024 bytes and the
 * suite-3 wrapping key's info carries the whole key context. */
#include "hpke.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "macro.h"
#include "wbuf.h"

#define HPKE_VERSION_LABEL "HPKE-v1"
#define MODE_BASE 0x00

struct hpke_ctx {
        hpke_aead aead;
        size_t key_len;
        uint8_t key[HPKE_KEY_MAX];
        uint8_t base_nonce[HPKE_NONCE_LEN];
        uint8_t exporter_secret[HPKE_SECRET_LEN];
        uint64_t seq;
        bool seq_exhausted;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MAC_CTX, EVP_MAC_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(hpke_ctx, hpke_ctx_free);

/* ---- HMAC / HKDF ---- */

static EVP_MAC *hmac_method;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void) {
        hmac_method = EVP_MAC_fetch(NULL, "HMAC", NULL);
        ERR_clear_error();
}

/* HMAC-SHA256 over the concatenation of up to three pieces. */
static int hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len, const uint8_t *b,
                       size_t b_len, const uint8_t *c, size_t c_len, uint8_t out[HKDF_SHA256_LEN]) {
        _cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = NULL;
        OSSL_PARAM params[2];
        static const uint8_t empty[1];
        size_t len = 0;
        int r = -EIO;

        (void) pthread_once(&hmac_once, hmac_fetch);
        if (!hmac_method)
                return -EIO;
        ctx = EVP_MAC_CTX_new(hmac_method);
        if (!ctx)
                return -ENOMEM;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        /* A zero-length HMAC key is the all-zero block key (RFC 2104). */
        if (EVP_MAC_init(ctx, key_len ? key : empty, key_len, params) != 1)
                goto out;
        if ((a_len && EVP_MAC_update(ctx, a, a_len) != 1) || (b_len && EVP_MAC_update(ctx, b, b_len) != 1) ||
            (c_len && EVP_MAC_update(ctx, c, c_len) != 1))
                goto out;
        if (EVP_MAC_final(ctx, out, &len, HKDF_SHA256_LEN) != 1 || len != HKDF_SHA256_LEN)
                goto out;
        r = 0;
out:
        ERR_clear_error();
        return r;
}

int hkdf_sha256_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                        uint8_t prk[HKDF_SHA256_LEN]) {
        if ((salt_len && !salt) || (ikm_len && !ikm))
                return -EINVAL;
        return hmac_sha256(salt, salt_len, ikm, ikm_len, NULL, 0, NULL, 0, prk);
}

int hkdf_sha256_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len,
                       uint8_t *out, size_t out_len) {
        uint8_t t[HKDF_SHA256_LEN];
        size_t t_len = 0, done = 0;
        int r = 0;

        if (!prk || prk_len < HKDF_SHA256_LEN || (info_len && !info) || (out_len && !out) ||
            out_len > HKDF_SHA256_MAX_OUT)
                return -EINVAL;
        for (uint8_t i = 1; done < out_len; i++) {
                size_t n;

                r = hmac_sha256(prk, prk_len, t, t_len, info, info_len, &i, 1, t);
                if (r < 0)
                        break;
                t_len = sizeof(t);
                n = MIN(out_len - done, sizeof(t));
                memcpy(out + done, t, n);
                done += n;
        }
        sodium_memzero(t, sizeof(t));
        if (r < 0 && out_len)
                sodium_memzero(out, out_len);
        return r;
}

int hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len) {
        uint8_t prk[HKDF_SHA256_LEN];
        int r;

        if (out_len > HKDF_SHA256_MAX_OUT)
                return -EINVAL;
        r = hkdf_sha256_extract(salt, salt_len, ikm, ikm_len, prk);
        if (r >= 0)
                r = hkdf_sha256_expand(prk, sizeof(prk), info, info_len, out, out_len);
        sodium_memzero(prk, sizeof(prk));
        return r;
}

/* ---- AEAD ---- */

size_t hpke_aead_key_len(hpke_aead aead) {
        switch (aead) {
        case HPKE_AEAD_AES_128_GCM:
                return 16;
        case HPKE_AEAD_AES_256_GCM:
        case HPKE_AEAD_CHACHA20_POLY1305:
                return 32;
        default:
                return 0;
        }
}

static const EVP_CIPHER *aead_cipher(hpke_aead aead) {
        switch (aead) {
        case HPKE_AEAD_AES_128_GCM:
                return EVP_aes_128_gcm();
        case HPKE_AEAD_AES_256_GCM:
                return EVP_aes_256_gcm();
        case HPKE_AEAD_CHACHA20_POLY1305:
                return EVP_chacha20_poly1305();
        default:
                return NULL;
        }
}

/* Feeds len bytes through EVP_CipherUpdate in int-sized pieces. */
static bool cipher_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t len) {
        while (len > 0) {
                int n = (int) MIN(len, (size_t) INT32_MAX - 64), outl = 0;

                if (EVP_CipherUpdate(ctx, out, &outl, in, n) != 1 || outl != n)
                        return false;
                if (out)
                        out += n;
                in += n;
                len -= (size_t) n;
        }
        return true;
}

static bool aad_update(EVP_CIPHER_CTX *ctx, const uint8_t *aad, size_t len) {
        while (len > 0) {
                int n = (int) MIN(len, (size_t) INT32_MAX - 64), outl = 0;

                if (EVP_CipherUpdate(ctx, NULL, &outl, aad, n) != 1)
                        return false;
                aad += n;
                len -= (size_t) n;
        }
        return true;
}

int hpke_aead_seal(hpke_aead aead, const uint8_t *key, const uint8_t nonce[HPKE_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct) {
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = NULL;
        const EVP_CIPHER *cipher = aead_cipher(aead);
        int outl = 0, r = -EIO;

        if (!cipher || !key || !nonce || (aad_len && !aad) || (pt_len && !pt) || !ct)
                return -EINVAL;
        if (pt_len > SIZE_MAX - HPKE_TAG_LEN)
                return -E2BIG;
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, 1) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, HPKE_NONCE_LEN, NULL) != 1 ||
            EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, 1) != 1)
                goto out;
        if (!aad_update(ctx, aad, aad_len) || !cipher_update(ctx, ct, pt, pt_len))
                goto out;
        if (EVP_CipherFinal_ex(ctx, ct + pt_len, &outl) != 1 || outl != 0)
                goto out;
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, HPKE_TAG_LEN, ct + pt_len) != 1)
                goto out;
        r = 0;
out:
        ERR_clear_error();
        return r;
}

int hpke_aead_open(hpke_aead aead, const uint8_t *key, const uint8_t nonce[HPKE_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt) {
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = NULL;
        const EVP_CIPHER *cipher = aead_cipher(aead);
        uint8_t tag[HPKE_TAG_LEN];
        size_t pt_len;
        int outl = 0, r = -EIO;

        if (!cipher || !key || !nonce || (aad_len && !aad) || (ct_len && !ct))
                return -EINVAL;
        if (ct_len < HPKE_TAG_LEN)
                return -EBADMSG;
        pt_len = ct_len - HPKE_TAG_LEN;
        if (pt_len && !pt)
                return -EINVAL;
        /* Copied first: pt may overlap ct. */
        memcpy(tag, ct + pt_len, HPKE_TAG_LEN);
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, 0) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, HPKE_NONCE_LEN, NULL) != 1 ||
            EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, 0) != 1)
                goto out;
        if (!aad_update(ctx, aad, aad_len) || !cipher_update(ctx, pt, ct, pt_len))
                goto out;
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, HPKE_TAG_LEN, tag) != 1)
                goto out;
        r = EVP_CipherFinal_ex(ctx, pt ? pt + pt_len : tag, &outl) == 1 && outl == 0 ? 0 : -EBADMSG;
out:
        /* Never hand out unauthenticated plaintext. */
        if (r < 0 && pt_len)
                sodium_memzero(pt, pt_len);
        ERR_clear_error();
        return r;
}

/* ---- Labeled KDF ---- */

size_t hpke_kem_suite_id(uint8_t out[HPKE_SUITE_ID_MAX]) {
        memcpy(out, "KEM", 3);
        out[3] = HPKE_KEM_X25519_HKDF_SHA256 >> 8;
        out[4] = HPKE_KEM_X25519_HKDF_SHA256 & 0xff;
        return 5;
}

size_t hpke_suite_id(hpke_aead aead, uint8_t out[HPKE_SUITE_ID_MAX]) {
        memcpy(out, "HPKE", 4);
        out[4] = HPKE_KEM_X25519_HKDF_SHA256 >> 8;
        out[5] = HPKE_KEM_X25519_HKDF_SHA256 & 0xff;
        out[6] = HPKE_KDF_HKDF_SHA256 >> 8;
        out[7] = HPKE_KDF_HKDF_SHA256 & 0xff;
        out[8] = (uint8_t) ((unsigned) aead >> 8);
        out[9] = (uint8_t) ((unsigned) aead & 0xff);
        return 10;
}

int hpke_labeled_extract(const uint8_t *suite_id, size_t suite_id_len, const uint8_t *salt, size_t salt_len,
                         const char *label, const uint8_t *ikm, size_t ikm_len,
                         uint8_t out[HKDF_SHA256_LEN]) {
        wbuf b = WBUF_INIT;
        uint8_t *labeled = NULL;
        size_t len = 0;
        int r;

        /* labeled_ikm = "HPKE-v1" || suite_id || label || ikm; ikm may be a
         * secret, so the buffer is zeroed (wbuf_done/finish do that). */
        wbuf_put(&b, HPKE_VERSION_LABEL, strlen(HPKE_VERSION_LABEL));
        wbuf_put(&b, suite_id, suite_id_len);
        wbuf_put(&b, label, strlen(label));
        wbuf_put(&b, ikm, ikm_len);
        r = wbuf_finish(&b, &labeled, &len);
        if (r < 0)
                return r;
        r = hkdf_sha256_extract(salt, salt_len, labeled, len, out);
        sodium_memzero(labeled, len);
        free(labeled);
        return r;
}

int hpke_labeled_expand(const uint8_t *suite_id, size_t suite_id_len, const uint8_t prk[HKDF_SHA256_LEN],
                        const char *label, const uint8_t *info, size_t info_len, uint8_t *out,
                        size_t out_len) {
        wbuf b = WBUF_INIT;
        uint8_t *labeled = NULL, l2[2];
        size_t len = 0;
        int r;

        if (out_len > 0xffff)
                return -EINVAL;
        /* labeled_info = I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info */
        l2[0] = (uint8_t) (out_len >> 8);
        l2[1] = (uint8_t) out_len;
        wbuf_put(&b, l2, 2);
        wbuf_put(&b, HPKE_VERSION_LABEL, strlen(HPKE_VERSION_LABEL));
        wbuf_put(&b, suite_id, suite_id_len);
        wbuf_put(&b, label, strlen(label));
        wbuf_put(&b, info, info_len);
        r = wbuf_finish(&b, &labeled, &len);
        if (r < 0)
                return r;
        r = hkdf_sha256_expand(prk, HKDF_SHA256_LEN, labeled, len, out, out_len);
        sodium_memzero(labeled, len);
        free(labeled);
        return r;
}

/* ---- DHKEM(X25519, HKDF-SHA256) ---- */

int hpke_derive_keypair(const uint8_t *ikm, size_t ikm_len, uint8_t sk_out[32], uint8_t pk_out[32]) {
        uint8_t sid[HPKE_SUITE_ID_MAX], prk[HKDF_SHA256_LEN];
        size_t sid_len = hpke_kem_suite_id(sid);
        enckey *k = NULL;
        int r;

        r = hpke_labeled_extract(sid, sid_len, NULL, 0, "dkp_prk", ikm, ikm_len, prk);
        if (r >= 0)
                r = hpke_labeled_expand(sid, sid_len, prk, "sk", NULL, 0, sk_out, 32);
        sodium_memzero(prk, sizeof(prk));
        if (r >= 0)
                r = enckey_from_private(ENCKEY_SUITE_X25519, sk_out, 32, &k);
        if (r >= 0)
                memcpy(pk_out, k->pub, 32);
        enckey_free(k);
        return r;
}

/* shared_secret = ExtractAndExpand(dh, enc || pkRm). */
static int extract_and_expand(const uint8_t dh[32], const uint8_t enc[HPKE_ENC_LEN], const uint8_t pkR[32],
                              uint8_t shared_secret[HPKE_SECRET_LEN]) {
        uint8_t sid[HPKE_SUITE_ID_MAX], prk[HKDF_SHA256_LEN], kem_context[HPKE_ENC_LEN + 32];
        size_t sid_len = hpke_kem_suite_id(sid);
        int r;

        memcpy(kem_context, enc, HPKE_ENC_LEN);
        memcpy(kem_context + HPKE_ENC_LEN, pkR, 32);
        r = hpke_labeled_extract(sid, sid_len, NULL, 0, "eae_prk", dh, 32, prk);
        if (r >= 0)
                r = hpke_labeled_expand(sid, sid_len, prk, "shared_secret", kem_context, sizeof(kem_context),
                                        shared_secret, HPKE_SECRET_LEN);
        sodium_memzero(prk, sizeof(prk));
        return r;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(enckey, enckey_free);

int hpke_encap(const uint8_t pkR[32], const uint8_t *ske, uint8_t shared_secret[HPKE_SECRET_LEN],
               uint8_t enc[HPKE_ENC_LEN]) {
        _cleanup_(enckey_freep) enckey *eph = NULL;
        uint8_t dh[32];
        int r;

        if (!pkR)
                return -EINVAL;
        r = ske ? enckey_from_private(ENCKEY_SUITE_X25519, ske, 32, &eph)
                : enckey_generate(ENCKEY_SUITE_X25519, &eph);
        if (r < 0)
                return r;
        r = enckey_dh(eph, pkR, 32, dh);
        if (r < 0)
                return r;
        memcpy(enc, eph->pub, HPKE_ENC_LEN);
        r = extract_and_expand(dh, enc, pkR, shared_secret);
        sodium_memzero(dh, sizeof(dh));
        return r;
}

int hpke_decap(const uint8_t *enc, size_t enc_len, const enckey *skR,
               uint8_t shared_secret[HPKE_SECRET_LEN]) {
        uint8_t dh[32];
        int r;

        if (!enc || enc_len != HPKE_ENC_LEN || !skR || skR->suite != ENCKEY_SUITE_X25519)
                return -EINVAL;
        r = enckey_dh(skR, enc, enc_len, dh);
        if (r < 0)
                return r;
        r = extract_and_expand(dh, enc, skR->pub, shared_secret);
        sodium_memzero(dh, sizeof(dh));
        return r;
}

/* ---- Key schedule and context ---- */

hpke_ctx *hpke_ctx_free(hpke_ctx *c) {
        if (c)
                sodium_free(c);
        return NULL;
}

int hpke_key_schedule(hpke_aead aead, const uint8_t shared_secret[HPKE_SECRET_LEN], const uint8_t *info,
                      size_t info_len, hpke_ctx **ret) {
        _cleanup_(hpke_ctx_freep) hpke_ctx *c = NULL;
        uint8_t sid[HPKE_SUITE_ID_MAX], secret[HKDF_SHA256_LEN];
        uint8_t ksc[1 + 2 * HKDF_SHA256_LEN];
        size_t sid_len = hpke_suite_id(aead, sid), nk = hpke_aead_key_len(aead);
        int r;

        if (nk == 0 || !shared_secret || (info_len && !info))
                return -EINVAL;
        if (sodium_init() < 0)
                return -EIO;
        c = sodium_malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        memset(c, 0, sizeof(*c));
        c->aead = aead;
        c->key_len = nk;

        /* key_schedule_context = mode || psk_id_hash || info_hash */
        ksc[0] = MODE_BASE;
        r = hpke_labeled_extract(sid, sid_len, NULL, 0, "psk_id_hash", NULL, 0, ksc + 1);
        if (r >= 0)
                r = hpke_labeled_extract(sid, sid_len, NULL, 0, "info_hash", info, info_len,
                                         ksc + 1 + HKDF_SHA256_LEN);
        /* secret = LabeledExtract(shared_secret, "secret", psk = "") */
        if (r >= 0)
                r = hpke_labeled_extract(sid, sid_len, shared_secret, HPKE_SECRET_LEN, "secret", NULL, 0,
                                         secret);
        if (r >= 0)
                r = hpke_labeled_expand(sid, sid_len, secret, "key", ksc, sizeof(ksc), c->key, nk);
        if (r >= 0)
                r = hpke_labeled_expand(sid, sid_len, secret, "base_nonce", ksc, sizeof(ksc), c->base_nonce,
                                        HPKE_NONCE_LEN);
        if (r >= 0)
                r = hpke_labeled_expand(sid, sid_len, secret, "exp", ksc, sizeof(ksc), c->exporter_secret,
                                        HPKE_SECRET_LEN);
        sodium_memzero(secret, sizeof(secret));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int hpke_setup_base_s(hpke_aead aead, const uint8_t pkR[32], const uint8_t *info, size_t info_len,
                      const uint8_t *ske, uint8_t enc[HPKE_ENC_LEN], hpke_ctx **ret) {
        uint8_t ss[HPKE_SECRET_LEN];
        int r;

        if (hpke_aead_key_len(aead) == 0)
                return -EINVAL;
        r = hpke_encap(pkR, ske, ss, enc);
        if (r >= 0)
                r = hpke_key_schedule(aead, ss, info, info_len, ret);
        sodium_memzero(ss, sizeof(ss));
        return r;
}

int hpke_setup_base_r(hpke_aead aead, const uint8_t *enc, size_t enc_len, const enckey *skR,
                      const uint8_t *info, size_t info_len, hpke_ctx **ret) {
        uint8_t ss[HPKE_SECRET_LEN];
        int r;

        if (hpke_aead_key_len(aead) == 0)
                return -EINVAL;
        r = hpke_decap(enc, enc_len, skR, ss);
        if (r >= 0)
                r = hpke_key_schedule(aead, ss, info, info_len, ret);
        sodium_memzero(ss, sizeof(ss));
        return r;
}

/* nonce = base_nonce XOR I2OSP(seq, Nn) */
static void compute_nonce(const hpke_ctx *c, uint8_t nonce[HPKE_NONCE_LEN]) {
        memcpy(nonce, c->base_nonce, HPKE_NONCE_LEN);
        for (size_t i = 0; i < 8; i++)
                nonce[HPKE_NONCE_LEN - 1 - i] ^= (uint8_t) (c->seq >> (8 * i));
}

static int advance(hpke_ctx *c) {
        if (c->seq == UINT64_MAX)
                c->seq_exhausted = true;
        else
                c->seq++;
        return 0;
}

int hpke_seal(hpke_ctx *c, const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
              uint8_t *ct) {
        uint8_t nonce[HPKE_NONCE_LEN];
        int r;

        if (!c)
                return -EINVAL;
        if (c->seq_exhausted)
                return -EOVERFLOW;
        compute_nonce(c, nonce);
        r = hpke_aead_seal(c->aead, c->key, nonce, aad, aad_len, pt, pt_len, ct);
        if (r < 0)
                return r;
        return advance(c);
}

int hpke_open(hpke_ctx *c, const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
              uint8_t *pt) {
        uint8_t nonce[HPKE_NONCE_LEN];
        int r;

        if (!c)
                return -EINVAL;
        if (c->seq_exhausted)
                return -EOVERFLOW;
        compute_nonce(c, nonce);
        r = hpke_aead_open(c->aead, c->key, nonce, aad, aad_len, ct, ct_len, pt);
        if (r < 0)
                return r;
        return advance(c);
}

void hpke_ctx_set_seq(hpke_ctx *c, uint64_t seq) {
        c->seq = seq;
        c->seq_exhausted = false;
}

int hpke_export(const hpke_ctx *c, const uint8_t *exporter_context, size_t context_len, uint8_t *out,
                size_t out_len) {
        uint8_t sid[HPKE_SUITE_ID_MAX];
        size_t sid_len;

        if (!c || out_len > HKDF_SHA256_MAX_OUT)
                return -EINVAL;
        sid_len = hpke_suite_id(c->aead, sid);
        return hpke_labeled_expand(sid, sid_len, c->exporter_secret, "sec", exporter_context, context_len,
                                   out, out_len);
}

void hpke_ctx_secrets(const hpke_ctx *c, uint8_t key[HPKE_KEY_MAX], size_t *key_len,
                      uint8_t base_nonce[HPKE_NONCE_LEN], uint8_t exporter_secret[HPKE_SECRET_LEN]) {
        memcpy(key, c->key, c->key_len);
        *key_len = c->key_len;
        memcpy(base_nonce, c->base_nonce, HPKE_NONCE_LEN);
        memcpy(exporter_secret, c->exporter_secret, HPKE_SECRET_LEN);
}

int hpke_seal_base(hpke_aead aead, const uint8_t pkR[32], const uint8_t *info, size_t info_len,
                   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, const uint8_t *ske,
                   uint8_t enc[HPKE_ENC_LEN], uint8_t *ct) {
        _cleanup_(hpke_ctx_freep) hpke_ctx *c = NULL;
        int r;

        r = hpke_setup_base_s(aead, pkR, info, info_len, ske, enc, &c);
        if (r < 0)
                return r;
        return hpke_seal(c, aad, aad_len, pt, pt_len, ct);
}

int hpke_open_base(hpke_aead aead, const uint8_t *enc, size_t enc_len, const enckey *skR,
                   const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
                   const uint8_t *ct, size_t ct_len, uint8_t *pt) {
        _cleanup_(hpke_ctx_freep) hpke_ctx *c = NULL;
        int r;

        r = hpke_setup_base_r(aead, enc, enc_len, skR, info, info_len, &c);
        if (r < 0)
                return r;
        return hpke_open(c, aad, aad_len, ct, ct_len, pt);
}
