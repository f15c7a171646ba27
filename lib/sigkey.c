/* ECDSA P-256 endpoint signing keys on OpenSSL 3 EVP (see sigkey.h). */
#include "sigkey.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "macro.h"

struct sigkey {
        EVP_PKEY *pkey;
        bool has_private;
};

/* SubjectPublicKeyInfo for id-ecPublicKey / prime256v1 up to and including
 * the BIT STRING's unused-bits octet; the 65-byte uncompressed point follows.
 * DER is unique, so a P-256 SPKI is exactly these bytes plus the point. */
static const uint8_t spki_prefix[] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};
#define POINT_LEN 65

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_ENCODER_CTX, OSSL_ENCODER_CTX_free);

static int wrap(EVP_PKEY *pkey, bool has_private, sigkey **ret) {
        sigkey *k = calloc(1, sizeof(*k));

        if (!k) {
                EVP_PKEY_free(pkey);
                return -ENOMEM;
        }
        k->pkey = pkey;
        k->has_private = has_private;
        *ret = k;
        return 0;
}

/* True if pkey is an EC key on P-256. */
static bool is_p256(EVP_PKEY *pkey) {
        char group[64];
        size_t len = 0;

        if (!EVP_PKEY_is_a(pkey, "EC"))
                return false;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) !=
            1)
                return false;
        return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

int sigkey_generate(sigkey **ret) {
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

        if (!pkey) {
                ERR_clear_error();
                return -EIO;
        }
        return wrap(pkey, true, ret);
}

int sigkey_from_pkcs8(const uint8_t *der, size_t len, sigkey **ret) {
        _cleanup_(PKCS8_PRIV_KEY_INFO_freep) PKCS8_PRIV_KEY_INFO *p8 = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        const unsigned char *p = der;
        int r = -EINVAL;

        if (!der || len == 0 || len > LONG_MAX)
                return -EINVAL;
        p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long) len);
        if (!p8 || p != der + len) /* no trailing bytes */
                goto out;
        pkey = EVP_PKCS82PKEY(p8);
        if (!pkey || !is_p256(pkey))
                goto out;
        /* The scalar must be in range and any embedded public key must be
         * the one it derives. */
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!ctx) {
                r = -ENOMEM;
                goto out;
        }
        if (EVP_PKEY_pairwise_check(ctx) != 1)
                goto out;
        r = wrap(TAKE_PTR(pkey), true, ret);
out:
        ERR_clear_error();
        return r;
}

/* An EVP_PKEY for a 65-byte uncompressed P-256 point (on the curve). */
static int pkey_from_point(const uint8_t *point, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        EVP_PKEY *pkey = NULL;
        OSSL_PARAM params[3];
        int r = -EINVAL;

        if (point[0] != 0x04)
                return -EINVAL;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "prime256v1", 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *) point, POINT_LEN);
        params[2] = OSSL_PARAM_construct_end();

        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (!ctx) {
                r = -ENOMEM;
                goto out;
        }
        if (EVP_PKEY_fromdata_init(ctx) != 1 ||
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
                goto out;
        EVP_PKEY_CTX_free(ctx);
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!ctx) {
                r = -ENOMEM;
                goto out;
        }
        if (EVP_PKEY_public_check(ctx) != 1)
                goto out;
        *ret = TAKE_PTR(pkey);
        r = 0;
out:
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return r;
}

int sigkey_from_spki(const uint8_t *der, size_t len, sigkey **ret) {
        EVP_PKEY *pkey = NULL;
        int r;

        if (!der || len != SIGKEY_SPKI_LEN || memcmp(der, spki_prefix, sizeof(spki_prefix)) != 0)
                return -EINVAL;
        r = pkey_from_point(der + sizeof(spki_prefix), &pkey);
        if (r < 0)
                return r;
        return wrap(pkey, false, ret);
}

sigkey *sigkey_free(sigkey *k) {
        if (k) {
                EVP_PKEY_free(k->pkey);
                free(k);
        }
        return NULL;
}

bool sigkey_has_private(const sigkey *k) {
        return k && k->has_private;
}

int sigkey_spki(const sigkey *k, uint8_t out[SIGKEY_SPKI_LEN]) {
        BIGNUM *x = NULL, *y = NULL;
        uint8_t *point = out + sizeof(spki_prefix);
        int r = -EIO;

        if (!k)
                return -EINVAL;
        /* The coordinates, not OSSL_PKEY_PARAM_PUB_KEY: a key read from PKCS#8
         * keeps the point format it was stored with, which may be compressed. */
        if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
            EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
                goto out;
        memcpy(out, spki_prefix, sizeof(spki_prefix));
        point[0] = 0x04;
        if (BN_bn2binpad(x, point + 1, 32) != 32 || BN_bn2binpad(y, point + 33, 32) != 32)
                goto out;
        r = 0;
out:
        BN_free(x);
        BN_free(y);
        ERR_clear_error();
        return r;
}

int sigkey_pkcs8(const sigkey *k, uint8_t **ret, size_t *ret_len) {
        _cleanup_(OSSL_ENCODER_CTX_freep) OSSL_ENCODER_CTX *ctx = NULL;
        unsigned char *data = NULL;
        size_t len = 0;
        uint8_t *buf;
        int r = -EIO;

        if (!k || !k->has_private)
                return -EINVAL;
        ctx = OSSL_ENCODER_CTX_new_for_pkey(k->pkey, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
        if (!ctx || OSSL_ENCODER_CTX_get_num_encoders(ctx) == 0)
                goto out;
        if (OSSL_ENCODER_to_data(ctx, &data, &len) != 1 || len == 0)
                goto out;
        buf = sodium_init() < 0 ? NULL : sodium_malloc(len);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        memcpy(buf, data, len);
        *ret = buf;
        *ret_len = len;
        r = 0;
out:
        if (data)
                OPENSSL_clear_free(data, len);
        ERR_clear_error();
        return r;
}

void sigkey_id_from_spki(const uint8_t *spki, size_t len, uint8_t out[SIGKEY_ID_LEN]) {
        crypto_hash_sha256_state st;

        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, (const uint8_t *) SIGKEY_ID_DOMAIN, strlen(SIGKEY_ID_DOMAIN));
        crypto_hash_sha256_update(&st, spki, len);
        crypto_hash_sha256_final(&st, out);
}

int sigkey_sign(const sigkey *k, const uint8_t hash[32], uint8_t **ret, size_t *ret_len) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        size_t len = 0;
        int r = -EIO;

        if (!k || !k->has_private)
                return -EINVAL;
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        if (!ctx) {
                r = -ENOMEM;
                goto out;
        }
        if (EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_sign(ctx, NULL, &len, hash, 32) != 1 || len == 0)
                goto out;
        sig = malloc(len);
        if (!sig) {
                r = -ENOMEM;
                goto out;
        }
        if (EVP_PKEY_sign(ctx, sig, &len, hash, 32) != 1)
                goto out;
        *ret = TAKE_PTR(sig);
        *ret_len = len;
        r = 0;
out:
        ERR_clear_error();
        return r;
}

int sigkey_verify(const sigkey *k, const uint8_t hash[32], const uint8_t *sig, size_t sig_len) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        int r;

        if (!k)
                return -EINVAL;
        if (!sig || sig_len == 0)
                return -EBADMSG;
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        if (!ctx)
                return -ENOMEM;
        if (EVP_PKEY_verify_init(ctx) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        /* OpenSSL's ECDSA_verify() re-encodes the parsed signature and
         * refuses it unless the bytes are identical: strict DER, no
         * trailing data. 1 is the only success. */
        r = EVP_PKEY_verify(ctx, sig, sig_len, hash, 32) == 1 ? 0 : -EBADMSG;
        ERR_clear_error();
        return r;
}
