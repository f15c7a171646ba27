/* E2E encryption keys: X25519 and ECDH P-256 on OpenSSL 3 EVP (see enckey.h). */
#include "enckey.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "macro.h"

#define X25519_LEN 32
#define P256_POINT_LEN 65

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EC_GROUP, EC_GROUP_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EC_POINT, EC_POINT_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(BN_CTX, BN_CTX_free);

/* The order n of P-256, big-endian. */
static const uint8_t p256_order[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static void sodium_freep(uint8_t **p) {
        if (*p)
                sodium_free(*p);
}

static int ensure_sodium(void) {
        return sodium_init() < 0 ? -EIO : 0;
}

/* Constant time: 1 <= d < n. */
static bool p256_scalar_valid(const uint8_t d[32]) {
        unsigned borrow = 0;

        for (size_t i = 32; i-- > 0;)
                borrow = ((unsigned) d[i] - p256_order[i] - borrow) >> 8 & 1;
        return borrow == 1 && !sodium_is_zero(d, 32);
}

int enckey_suite_for_public_len(size_t len, enckey_suite *ret) {
        if (len == X25519_LEN)
                *ret = ENCKEY_SUITE_X25519;
        else if (len == P256_POINT_LEN)
                *ret = ENCKEY_SUITE_P256;
        else
                return -EINVAL;
        return 0;
}

void enckey_id(const uint8_t *pub, size_t len, uint8_t out[ENCKEY_ID_LEN]) {
        crypto_hash_sha256_state st;
        uint8_t h[crypto_hash_sha256_BYTES];

        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, (const uint8_t *) ENCKEY_ID_DOMAIN, strlen(ENCKEY_ID_DOMAIN));
        crypto_hash_sha256_update(&st, pub, len);
        crypto_hash_sha256_final(&st, h);
        memcpy(out, h, ENCKEY_ID_LEN);
}

/* A validated public-key EVP_PKEY for a 65-byte uncompressed P-256 point. */
static int p256_public_pkey(const uint8_t *point, size_t len, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        OSSL_PARAM params[3];
        int r = -EINVAL;

        /* Uncompressed only: refuses compressed (33 bytes) and the 65-byte
         * hybrid forms 06/07 that OpenSSL would otherwise accept. */
        if (len != P256_POINT_LEN || point[0] != 0x04)
                return -EINVAL;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "prime256v1", 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *) point, len);
        params[2] = OSSL_PARAM_construct_end();

        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (!ctx) {
                r = -ENOMEM;
                goto out;
        }
        /* The import decodes the point and refuses it if it is not on the
         * curve; the public check confirms that and excludes infinity. */
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
        ERR_clear_error();
        return r;
}

/* pub = d * G for a valid P-256 scalar. */
static int p256_public_from_private(const uint8_t d[32], uint8_t pub[P256_POINT_LEN]) {
        _cleanup_(EC_GROUP_freep) EC_GROUP *group = NULL;
        _cleanup_(EC_POINT_freep) EC_POINT *point = NULL;
        _cleanup_(BN_CTX_freep) BN_CTX *bnctx = NULL;
        BIGNUM *bn = NULL;
        int r = -EIO;

        group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        point = group ? EC_POINT_new(group) : NULL;
        bnctx = BN_CTX_secure_new();
        bn = BN_secure_new();
        if (!group || !point || !bnctx || !bn) {
                r = -ENOMEM;
                goto out;
        }
        BN_set_flags(bn, BN_FLG_CONSTTIME);
        if (!BN_bin2bn(d, 32, bn))
                goto out;
        if (EC_POINT_mul(group, point, bn, NULL, NULL, bnctx) != 1)
                goto out;
        if (EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, P256_POINT_LEN, bnctx) !=
            P256_POINT_LEN)
                goto out;
        r = 0;
out:
        BN_clear_free(bn);
        ERR_clear_error();
        return r;
}

static int x25519_public_from_private(const uint8_t priv[32], uint8_t pub[X25519_LEN]) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        size_t len = X25519_LEN;
        int r = -EIO;

        pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
        if (pkey && EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 && len == X25519_LEN)
                r = 0;
        ERR_clear_error();
        return r;
}

int enckey_from_private(enckey_suite suite, const uint8_t *priv, size_t len, enckey **ret) {
        enckey *k;
        int r;

        if (!priv || len != ENCKEY_PRIV_LEN)
                return -EINVAL;
        if (suite != ENCKEY_SUITE_X25519 && suite != ENCKEY_SUITE_P256)
                return -EINVAL;
        if (suite == ENCKEY_SUITE_P256 && !p256_scalar_valid(priv))
                return -EINVAL;
        r = ensure_sodium();
        if (r < 0)
                return r;

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->suite = suite;
        k->priv = sodium_malloc(ENCKEY_PRIV_LEN);
        if (!k->priv) {
                free(k);
                return -ENOMEM;
        }
        memcpy(k->priv, priv, ENCKEY_PRIV_LEN);
        if (suite == ENCKEY_SUITE_X25519) {
                k->pub_len = X25519_LEN;
                r = x25519_public_from_private(k->priv, k->pub);
        } else {
                k->pub_len = P256_POINT_LEN;
                r = p256_public_from_private(k->priv, k->pub);
        }
        if (r < 0) {
                enckey_free(k);
                return r;
        }
        enckey_id(k->pub, k->pub_len, k->id);
        *ret = k;
        return 0;
}

int enckey_generate(enckey_suite suite, enckey **ret) {
        _cleanup_(sodium_freep) uint8_t *priv = NULL;
        int r;

        if (suite != ENCKEY_SUITE_X25519 && suite != ENCKEY_SUITE_P256)
                return -EINVAL;
        r = ensure_sodium();
        if (r < 0)
                return r;
        priv = sodium_malloc(ENCKEY_PRIV_LEN);
        if (!priv)
                return -ENOMEM;
        /* P-256: rejection sampling, as Go does; a retry happens with
         * probability about 2^-32. */
        do
                randombytes_buf(priv, ENCKEY_PRIV_LEN);
        while (suite == ENCKEY_SUITE_P256 && !p256_scalar_valid(priv));
        return enckey_from_private(suite, priv, ENCKEY_PRIV_LEN, ret);
}

int enckey_from_public(const uint8_t *pub, size_t len, enckey **ret) {
        enckey_suite suite;
        enckey *k;
        int r;

        if (!pub)
                return -EINVAL;
        r = enckey_suite_for_public_len(len, &suite);
        if (r < 0)
                return r;
        if (suite == ENCKEY_SUITE_P256) {
                EVP_PKEY *pkey = NULL;

                r = p256_public_pkey(pub, len, &pkey);
                if (r < 0)
                        return r;
                EVP_PKEY_free(pkey);
        }
        /* X25519: every 32-byte string is a public key (Go accepts them all;
         * low-order points are refused when they are used, by enckey_dh). */
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->suite = suite;
        memcpy(k->pub, pub, len);
        k->pub_len = len;
        enckey_id(k->pub, k->pub_len, k->id);
        *ret = k;
        return 0;
}

enckey *enckey_free(enckey *k) {
        if (k) {
                if (k->priv)
                        sodium_free(k->priv);
                free(k);
        }
        return NULL;
}

/* A private-key EVP_PKEY for k (transient; OpenSSL clears its copy when it
 * is freed). */
static int private_pkey(const enckey *k, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(sodium_freep) uint8_t *native = NULL;
        EVP_PKEY *pkey = NULL;
        OSSL_PARAM params[4];
        int r = -EIO;

        if (k->suite == ENCKEY_SUITE_X25519) {
                pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k->priv, ENCKEY_PRIV_LEN);
                ERR_clear_error();
                if (!pkey)
                        return -EIO;
                *ret = pkey;
                return 0;
        }

        /* OSSL_PARAM integers are in native byte order. */
        native = sodium_malloc(ENCKEY_PRIV_LEN);
        if (!native)
                return -ENOMEM;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        for (size_t i = 0; i < ENCKEY_PRIV_LEN; i++)
                native[i] = k->priv[ENCKEY_PRIV_LEN - 1 - i];
#else
        memcpy(native, k->priv, ENCKEY_PRIV_LEN);
#endif
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "prime256v1", 0);
        params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, native, ENCKEY_PRIV_LEN);
        params[2] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *) k->pub, k->pub_len);
        params[3] = OSSL_PARAM_construct_end();
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (!ctx) {
                r = -ENOMEM;
                goto out;
        }
        if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
                goto out;
        *ret = pkey;
        r = 0;
out:
        ERR_clear_error();
        return r;
}

int enckey_dh(const enckey *k, const uint8_t *peer, size_t peer_len, uint8_t out[32]) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *mine = NULL, *theirs = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        uint8_t secret[32];
        size_t len = sizeof(secret);
        int r;

        if (!k || !peer)
                return -EINVAL;
        if (!k->priv)
                return -ENOKEY;
        if (k->suite == ENCKEY_SUITE_X25519) {
                if (peer_len != X25519_LEN)
                        return -EINVAL;
                theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, peer_len);
                if (!theirs) {
                        ERR_clear_error();
                        return -EINVAL;
                }
        } else {
                r = p256_public_pkey(peer, peer_len, &theirs);
                if (r < 0)
                        return r;
        }
        r = private_pkey(k, &mine);
        if (r < 0)
                return r;

        r = -EIO;
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
        if (!ctx) {
                r = -ENOMEM;
                goto out;
        }
        if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, theirs) != 1) {
                r = -EINVAL;
                goto out;
        }
        /* X25519: OpenSSL fails the derivation when the result is all
         * zeroes (a low-order peer point), like Go's crypto/ecdh. */
        if (EVP_PKEY_derive(ctx, secret, &len) != 1) {
                r = k->suite == ENCKEY_SUITE_X25519 ? -EINVAL : -EIO;
                goto out;
        }
        if (len != sizeof(secret) ||
            (k->suite == ENCKEY_SUITE_X25519 && sodium_is_zero(secret, sizeof(secret)))) {
                r = -EINVAL;
                goto out;
        }
        memcpy(out, secret, sizeof(secret));
        r = 0;
out:
        sodium_memzero(secret, sizeof(secret));
        ERR_clear_error();
        return r;
}
