/* Unit tests for the crypto primitives: lib/trimspace.c, lib/b64u.c
 * (spec A.3), lib/sigkey.c (A.5 and Wycheproof ECDSA P-256/SHA-256),
 * lib/enckey.c (A.4 keys, Wycheproof X25519 and ECDH P-256), and the HKDF and
 * AEAD layer of lib/hpke.c (Wycheproof HKDF-SHA256 and AES-GCM). */

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <sodium.h>

#include "b64u.h"
#include "crypto-test-util.h"
#include "enckey.h"
#include "hpke.h"
#include "macro.h"
#include "sigkey.h"
#include "trimspace.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sigkey, sigkey_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(enckey, enckey_free);

/* Spec A.4 / A.5 values. */
#define A4_X25519_PRIV "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define A4_X25519_PUB "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
#define A4_X25519_ID "6f040bfbbaf259b3bf84372ae0419e0a"
#define A4_P256_PRIV A4_X25519_PRIV
#define A4_P256_PUB                                                                                         \
        "04515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f4536be3a50f318fbf9a5475902a2215" \
        "02"                                                                                                \
        "bef0d57e08c53b2cc0a56f17d9f9354"
#define A4_P256_ID "809ea8a56f16acc7682643c250330e68"
#define A4_EPH_PRIV "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40"
#define A4_P256_EPH_PUB                                                                                     \
        "041f140146bfb1b251f84f4ddbe0d4cdcfd77afd984a9520e35794021f8312bb9eec995a08b1fa7704df3dcc0b50a9665" \
        "263"                                                                                               \
        "fb7711f95f9f8a449c5096e47c892b"
#define A4_P256_SHARED "4fe243908f378aa1c2a69538822e6ed908c3225d8692575507c649901245150a"
#define A4_P256_WRAPPING_KEY "bde5230115a7ec178cdc65a5554c6a3ef55841fca49698e2db9f837af3ac2d54"
#define A4_P256_INFO                                                                                        \
        "000000197273747265616d2d7765627474792d6532652d6b65792f7631000000030000000300000010a0a1a2a3a4a5a6a" \
        "7a8"                                                                                               \
        "a9aaabacadaeaf00000010746573742f6b65792d636f6e74657874"

#define A5_PRIV "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
#define A5_SPKI                                                                                             \
        "3059301306072a8648ce3d020106082a8648ce3d0301070342000460fed4ba255a9d31c961eb74c6356d68c049b8923b6" \
        "1fa"                                                                                               \
        "6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
#define A5_ID "44332de7dd2256435da9f60ca051e85ce62d018c873519bd1b43a9661a03d936"
#define A1_CLIENT_HASH "2843556f21858fe77a53578f9e2cf46678178da7721192742162b620e3831bc6"
#define A1_SERVER_HASH "b83cbed58eeceda39ad5d0ab93d750d1cddb03a9995b23bbfea67272e38f813d"
#define A5_CLIENT_SIG                                                                                       \
        "304502205b41f5af9661ee336b503833d2bf8ced5333d6feba72f964dc43265381f44c64022100913bf73bdfced72c477" \
        "adf"                                                                                               \
        "580a9a32879deec01ee5527dab595b9d76c2b6fd57"
#define A5_SERVER_SIG                                                                                       \
        "304402202babb6e3e2d33b59fb2d0e3f74dd46d6fe9b6e658484fbe67d71b6c2e543da9602204b8729572c5b1366afebe" \
        "ec9"                                                                                               \
        "83cf46870e8c60b1136ed268f1521b7730663b5b"
#define A5_IDENTITY                                                                                         \
        "bwQL-7ryWbO_hDcq4EGeCg:B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw:"                               \
        "RDMt590iVkNdqfYMoFHoXOYtAYyHNRm9G0Op"                                                              \
        "ZhoD2TY:MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A_"        \
        "4QCLi8maQa6el"                                                                                     \
        "WKLxk8vGyDC1-n1F3o8KU1EYimQ"

/* PKCS#8 for a P-256 scalar, without the optional public key (Go and
 * OpenSSL both derive it). */
#define PKCS8_P256_PREFIX "3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420"

static sigkey *a5_key(void) {
        sigkey *k = NULL;
        size_t len = 0;
        char hex[256];
        uint8_t *der;

        snprintf(hex, sizeof(hex), "%s%s", PKCS8_P256_PREFIX, A5_PRIV);
        der = unhex(hex, &len);
        ck_assert_int_eq(sigkey_from_pkcs8(der, len, &k), 0);
        free(der);
        return k;
}

/* ---- trim_space ---- */

static void check_trim(const char *in, const char *want) {
        size_t off, len;

        trim_space(in, strlen(in), &off, &len);
        ck_assert_uint_eq(len, strlen(want));
        ck_assert_int_eq(memcmp(in + off, want, len), 0);
}

START_TEST(test_trim_space) {
        check_trim("", "");
        check_trim("  \t\n\v\f\r ", "");
        check_trim(" a b ", "a b");
        check_trim("\xc2\xa0x\xc2\x85", "x");         /* U+00A0, U+0085 */
        check_trim("\xe3\x80\x80x\xe2\x80\xa8", "x"); /* U+3000, U+2028 */
        check_trim("\xe2\x80\x8bx", "\xe2\x80\x8bx"); /* U+200B is not white space */
        check_trim("\xe1\xa0\x8ex", "\xe1\xa0\x8ex"); /* U+180E neither (Unicode >= 6.3) */
        check_trim("\xc2x", "\xc2x");                 /* invalid UTF-8 stops trimming */
        check_trim("x\xa0", "x\xa0");                 /* a lone continuation byte too */
        check_trim("\xe2\x80\x8a\xe2\x80\x80", "");   /* U+200A, U+2000 */
}
END_TEST

/* ---- b64u (spec 0, A.3) ---- */

START_TEST(test_b64u_canonical) {
        uint8_t *b = NULL, one;
        size_t len = 0;
        char *s = NULL;

        ck_assert_int_eq(b64u_decode("AA", &b, &len), 0);
        ck_assert_uint_eq(len, 1);
        ck_assert_uint_eq(b[0], 0);
        free(b);
        ck_assert_int_eq(b64u_decode("AB", &b, &len), -EINVAL);   /* non-zero trailing bits */
        ck_assert_int_eq(b64u_decode("AA==", &b, &len), -EINVAL); /* padding */
        ck_assert_int_eq(b64u_decode("AA+", &b, &len), -EINVAL);  /* standard alphabet */
        ck_assert_int_eq(b64u_decode("AA/", &b, &len), -EINVAL);
        ck_assert_int_eq(b64u_decode("A", &b, &len), -EINVAL);
        ck_assert_int_eq(b64u_decode("A A", &b, &len), -EINVAL);
        ck_assert_int_eq(b64u_decode("AA\n", &b, &len), 0); /* trimmed */
        free(b);
        ck_assert_int_eq(b64u_decode("\xc2\xa0 AA \t", &b, &len), 0);
        ck_assert_uint_eq(len, 1);
        free(b);
        ck_assert_int_eq(b64u_decode("", &b, &len), 0);
        ck_assert_uint_eq(len, 0);
        free(b);
        ck_assert_int_eq(b64u_decode("_-8", &b, &len), 0);
        ck_assert_hex_eq(b, len, "ffef");
        free(b);

        ck_assert_int_eq(b64u_decode_exact("AA", &one, 1), 0);
        ck_assert_int_eq(b64u_decode_exact("AAA", &one, 1), -EBADMSG);
        ck_assert_int_eq(b64u_decode_exact("AA==", &one, 1), -EINVAL);

        ck_assert_int_eq(b64u_encode((const uint8_t *) "", 0, &s), 0);
        ck_assert_str_eq(s, "");
        free(s);
        ck_assert_int_eq(b64u_encode((const uint8_t *) "\xfb\xff", 2, &s), 0);
        ck_assert_str_eq(s, "-_8");
        free(s);
}
END_TEST

START_TEST(test_b64u_round_trip) {
        uint8_t data[100];

        randombytes_buf(data, sizeof(data));
        for (size_t n = 0; n <= sizeof(data); n++) {
                _cleanup_free_ char *s = NULL;
                _cleanup_free_ uint8_t *b = NULL;
                size_t len = 0;

                ck_assert_int_eq(b64u_encode(data, n, &s), 0);
                ck_assert_ptr_null(strchr(s, '='));
                ck_assert_int_eq(b64u_decode(s, &b, &len), 0);
                ck_assert_uint_eq(len, n);
                ck_assert_int_eq(memcmp(b, data, n), 0);
        }
}
END_TEST

/* ---- sigkey (spec 5.1, A.5) ---- */

START_TEST(test_sigkey_a5) {
        _cleanup_(sigkey_freep) sigkey *k = a5_key(), *pub = NULL;
        uint8_t spki[SIGKEY_SPKI_LEN], id[SIGKEY_ID_LEN], hash[32];
        _cleanup_free_ uint8_t *sig = NULL;
        size_t sig_len = 0;

        ck_assert(sigkey_has_private(k));
        ck_assert_int_eq(sigkey_spki(k, spki), 0);
        ck_assert_hex_eq(spki, sizeof(spki), A5_SPKI);
        sigkey_id_from_spki(spki, sizeof(spki), id);
        ck_assert_hex_eq(id, sizeof(id), A5_ID);

        ck_assert_int_eq(sigkey_from_spki(spki, sizeof(spki), &pub), 0);
        ck_assert(!sigkey_has_private(pub));

        /* The A.5 signatures over the A.1 hashes verify. */
        unhex_into(A1_CLIENT_HASH, hash, 32);
        sig = unhex(A5_CLIENT_SIG, &sig_len);
        ck_assert_int_eq(sigkey_verify(pub, hash, sig, sig_len), 0);
        ck_assert_int_eq(sigkey_verify(k, hash, sig, sig_len), 0);
        sig[sig_len - 1] ^= 1;
        ck_assert_int_eq(sigkey_verify(pub, hash, sig, sig_len), -EBADMSG);
        free(sig);
        unhex_into(A1_SERVER_HASH, hash, 32);
        sig = unhex(A5_SERVER_SIG, &sig_len);
        ck_assert_int_eq(sigkey_verify(pub, hash, sig, sig_len), 0);
        hash[0] ^= 1;
        ck_assert_int_eq(sigkey_verify(pub, hash, sig, sig_len), -EBADMSG);
        ck_assert_int_eq(sigkey_verify(pub, hash, NULL, 0), -EBADMSG);
}
END_TEST

/* The 4-part endpoint identity string of A.5 splits into the A.4 suite-1
 * encryption key and the A.5 signing key, each part canonical b64u. */
START_TEST(test_identity_string_a5) {
        _cleanup_free_ char *copy = strdup(A5_IDENTITY);
        _cleanup_(sigkey_freep) sigkey *k = NULL;
        uint8_t enc_id[ENCKEY_ID_LEN], enc_pub[32], sig_id[SIGKEY_ID_LEN], spki[SIGKEY_SPKI_LEN];
        uint8_t derived_enc[ENCKEY_ID_LEN], derived_sig[SIGKEY_ID_LEN];
        char *parts[4], *save = NULL, *p;
        size_t n = 0;

        for (p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
                ck_assert_uint_lt(n, 4);
                parts[n++] = p;
        }
        ck_assert_uint_eq(n, 4);
        ck_assert_int_eq(b64u_decode_exact(parts[0], enc_id, sizeof(enc_id)), 0);
        ck_assert_int_eq(b64u_decode_exact(parts[1], enc_pub, sizeof(enc_pub)), 0);
        ck_assert_int_eq(b64u_decode_exact(parts[2], sig_id, sizeof(sig_id)), 0);
        ck_assert_int_eq(b64u_decode_exact(parts[3], spki, sizeof(spki)), 0);
        ck_assert_hex_eq(enc_id, sizeof(enc_id), A4_X25519_ID);
        ck_assert_hex_eq(enc_pub, sizeof(enc_pub), A4_X25519_PUB);
        ck_assert_hex_eq(sig_id, sizeof(sig_id), A5_ID);
        ck_assert_hex_eq(spki, sizeof(spki), A5_SPKI);
        enckey_id(enc_pub, sizeof(enc_pub), derived_enc);
        ck_assert_int_eq(memcmp(derived_enc, enc_id, sizeof(enc_id)), 0);
        sigkey_id_from_spki(spki, sizeof(spki), derived_sig);
        ck_assert_int_eq(memcmp(derived_sig, sig_id, sizeof(sig_id)), 0);
        ck_assert_int_eq(sigkey_from_spki(spki, sizeof(spki), &k), 0);
        /* The authorized-client form is the last two parts. */
        ck_assert_str_eq(parts[2], "RDMt590iVkNdqfYMoFHoXOYtAYyHNRm9G0OpZhoD2TY");
}
END_TEST

START_TEST(test_sigkey_generate_round_trip) {
        _cleanup_(sigkey_freep) sigkey *k = NULL, *again = NULL, *pub = NULL;
        uint8_t spki[SIGKEY_SPKI_LEN], spki2[SIGKEY_SPKI_LEN], hash[32];
        _cleanup_free_ uint8_t *sig = NULL;
        uint8_t *der = NULL;
        size_t der_len = 0, sig_len = 0;

        ck_assert_int_eq(sigkey_generate(&k), 0);
        ck_assert_int_eq(sigkey_spki(k, spki), 0);
        ck_assert_int_eq(sigkey_pkcs8(k, &der, &der_len), 0);
        ck_assert_int_eq(sigkey_from_pkcs8(der, der_len, &again), 0);
        ck_assert_int_eq(sigkey_spki(again, spki2), 0);
        ck_assert_int_eq(memcmp(spki, spki2, sizeof(spki)), 0);
        /* Trailing bytes after the DER are refused. */
        {
                uint8_t *longer = malloc(der_len + 1);
                sigkey *bad = NULL;

                memcpy(longer, der, der_len);
                longer[der_len] = 0;
                ck_assert_int_eq(sigkey_from_pkcs8(longer, der_len + 1, &bad), -EINVAL);
                ck_assert_int_eq(sigkey_from_pkcs8(der, der_len - 1, &bad), -EINVAL);
                free(longer);
        }
        sodium_free(der);

        randombytes_buf(hash, sizeof(hash));
        ck_assert_int_eq(sigkey_sign(again, hash, &sig, &sig_len), 0);
        ck_assert_int_eq(sigkey_from_spki(spki, sizeof(spki), &pub), 0);
        ck_assert_int_eq(sigkey_verify(pub, hash, sig, sig_len), 0);
        ck_assert_int_eq(sigkey_sign(pub, hash, &sig, &sig_len), -EINVAL); /* no private key */
        ck_assert_int_eq(sigkey_pkcs8(pub, &der, &der_len), -EINVAL);
}
END_TEST

/* Go accepts high-S signatures; so must we (no low-S normalisation). */
START_TEST(test_sigkey_high_s) {
        _cleanup_(sigkey_freep) sigkey *k = a5_key();
        uint8_t hash[32];
        _cleanup_free_ uint8_t *sig = NULL;
        unsigned char *der2 = NULL, *p;
        const unsigned char *cp;
        const BIGNUM *r, *s;
        BIGNUM *order, *s2, *r2;
        ECDSA_SIG *es;
        size_t sig_len = 0;
        int len2;

        unhex_into(A1_CLIENT_HASH, hash, 32);
        ck_assert_int_eq(sigkey_sign(k, hash, &sig, &sig_len), 0);
        cp = sig;
        es = d2i_ECDSA_SIG(NULL, &cp, (long) sig_len);
        ck_assert_ptr_nonnull(es);
        ECDSA_SIG_get0(es, &r, &s);
        order = BN_new();
        ck_assert(BN_hex2bn(&order, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551") > 0);
        s2 = BN_new();
        ck_assert(BN_sub(s2, order, s));
        r2 = BN_dup(r);
        ck_assert(ECDSA_SIG_set0(es, r2, s2));
        len2 = i2d_ECDSA_SIG(es, NULL);
        ck_assert_int_gt(len2, 0);
        der2 = malloc((size_t) len2);
        p = der2;
        ck_assert_int_eq(i2d_ECDSA_SIG(es, &p), len2);
        ck_assert_int_eq(sigkey_verify(k, hash, der2, (size_t) len2), 0);
        free(der2);
        ECDSA_SIG_free(es);
        BN_free(order);
}
END_TEST

START_TEST(test_sigkey_spki_strict) {
        size_t len = 0;
        uint8_t *spki = unhex(A5_SPKI, &len), longer[SIGKEY_SPKI_LEN + 1];
        sigkey *k = NULL;

        ck_assert_int_eq(sigkey_from_spki(spki, len - 1, &k), -EINVAL);
        memcpy(longer, spki, len);
        longer[len] = 0;
        ck_assert_int_eq(sigkey_from_spki(longer, len + 1, &k), -EINVAL);
        spki[len - 1] ^= 1; /* off the curve */
        ck_assert_int_eq(sigkey_from_spki(spki, len, &k), -EINVAL);
        spki[len - 1] ^= 1;
        spki[26] = 0x06; /* hybrid point form */
        ck_assert_int_eq(sigkey_from_spki(spki, len, &k), -EINVAL);
        spki[26] = 0x04;
        spki[14] ^= 1; /* another curve OID */
        ck_assert_int_eq(sigkey_from_spki(spki, len, &k), -EINVAL);
        free(spki);
        /* A compressed-point SPKI (59 bytes) is refused, as by Go. */
        spki = unhex(
                "3039301306072a8648ce3d020106082a8648ce3d0301070322000360fed4ba255a9d31c961eb74c6356d68c049"
                "b8923b61fa6ce669622e60f29fb6",
                &len);
        ck_assert_int_eq(sigkey_from_spki(spki, len, &k), -EINVAL);
        free(spki);
        /* An Ed25519 PKCS#8 key (RFC 8410) is not a P-256 key. */
        spki = unhex("302e020100300506032b657004220420d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a8"
                     "8f4475"
                     "5842",
                     &len);
        ck_assert_int_eq(sigkey_from_pkcs8(spki, len, &k), -EINVAL);
        free(spki);
}
END_TEST

/* Wycheproof ecdsa_secp256r1_sha256_test.json, every group: "valid" must
 * verify, "invalid" must not (this covers BER and other non-DER encodings,
 * r or s zero or out of range, and so on). The file has no "acceptable"
 * cases; if a later version adds some (they would be encodings Go's strict
 * VerifyASN1 refuses, such as BER), we require refusal, like Go. */
START_TEST(test_wycheproof_ecdsa) {
        _cleanup_(json_putp) json_object *root =
                load_json_vector("wycheproof/ecdsa_secp256r1_sha256_test.json");
        json_object *groups = jget(root, "testGroups");
        size_t valid = 0, invalid = 0;

        for (size_t g = 0; g < json_object_array_length(groups); g++) {
                json_object *grp = json_object_array_get_idx(groups, g), *tests = jget(grp, "tests");
                _cleanup_(sigkey_freep) sigkey *k = NULL;
                _cleanup_free_ uint8_t *der = NULL;
                size_t der_len = 0;

                ck_assert_str_eq(jstr(grp, "sha"), "SHA-256");
                der = unhex(jstr(grp, "publicKeyDer"), &der_len);
                ck_assert_int_eq(sigkey_from_spki(der, der_len, &k), 0);
                for (size_t i = 0; i < json_object_array_length(tests); i++) {
                        json_object *t = json_object_array_get_idx(tests, i);
                        _cleanup_free_ uint8_t *msg = NULL, *sig = NULL;
                        const char *result = jstr(t, "result");
                        size_t msg_len = 0, sig_len = 0;
                        uint8_t hash[32];
                        int r;

                        msg = unhex(jstr(t, "msg"), &msg_len);
                        sig = unhex(jstr(t, "sig"), &sig_len);
                        crypto_hash_sha256(hash, msg, msg_len);
                        r = sigkey_verify(k, hash, sig, sig_len);
                        if (strcmp(result, "valid") == 0) {
                                ck_assert_msg(r == 0, "tcId %d: valid signature refused", jint(t, "tcId"));
                                valid++;
                        } else {
                                ck_assert_msg(r == -EBADMSG, "tcId %d (%s): accepted", jint(t, "tcId"),
                                              result);
                                invalid++;
                        }
                }
        }
        ck_assert_uint_eq(valid + invalid, (size_t) jint(root, "numberOfTests"));
}
END_TEST

/* ---- enckey (spec 5.2) ---- */

START_TEST(test_enckey_a4) {
        _cleanup_(enckey_freep) enckey *x = NULL, *p = NULL, *eph = NULL, *pub = NULL;
        uint8_t priv[32], shared[32], wk[32], *info;
        size_t info_len = 0;

        unhex_into(A4_X25519_PRIV, priv, 32);
        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_X25519, priv, 32, &x), 0);
        ck_assert_int_eq(x->suite, ENCKEY_SUITE_X25519);
        ck_assert_hex_eq(x->pub, x->pub_len, A4_X25519_PUB);
        ck_assert_hex_eq(x->id, ENCKEY_ID_LEN, A4_X25519_ID);

        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_P256, priv, 32, &p), 0);
        ck_assert_hex_eq(p->pub, p->pub_len, A4_P256_PUB);
        ck_assert_hex_eq(p->id, ENCKEY_ID_LEN, A4_P256_ID);

        /* The suite-3 intermediates: ECDH x and the wrapping key. */
        unhex_into(A4_EPH_PRIV, priv, 32);
        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_P256, priv, 32, &eph), 0);
        ck_assert_hex_eq(eph->pub, eph->pub_len, A4_P256_EPH_PUB);
        ck_assert_int_eq(enckey_dh(eph, p->pub, p->pub_len, shared), 0);
        ck_assert_hex_eq(shared, 32, A4_P256_SHARED);
        ck_assert_int_eq(enckey_dh(p, eph->pub, eph->pub_len, shared), 0);
        ck_assert_hex_eq(shared, 32, A4_P256_SHARED);
        info = unhex(A4_P256_INFO, &info_len);
        ck_assert_int_eq(hkdf_sha256(NULL, 0, shared, 32, info, info_len, wk, 32), 0);
        ck_assert_hex_eq(wk, 32, A4_P256_WRAPPING_KEY);
        free(info);

        /* Public-only keys: suite by length, id derived; no DH without a private key. */
        ck_assert_int_eq(enckey_from_public(p->pub, p->pub_len, &pub), 0);
        ck_assert_int_eq(pub->suite, ENCKEY_SUITE_P256);
        ck_assert_ptr_null(pub->priv);
        ck_assert_hex_eq(pub->id, ENCKEY_ID_LEN, A4_P256_ID);
        ck_assert_int_eq(enckey_dh(pub, eph->pub, eph->pub_len, shared), -ENOKEY);
}
END_TEST

START_TEST(test_enckey_validation) {
        uint8_t buf[65], d[32];
        enckey *k = NULL;
        enckey_suite s;

        ck_assert_int_eq(enckey_suite_for_public_len(32, &s), 0);
        ck_assert_int_eq(s, ENCKEY_SUITE_X25519);
        ck_assert_int_eq(enckey_suite_for_public_len(65, &s), 0);
        ck_assert_int_eq(s, ENCKEY_SUITE_P256);
        ck_assert_int_eq(enckey_suite_for_public_len(33, &s), -EINVAL);

        unhex_into(A4_P256_PUB, buf, 65);
        buf[64] ^= 1;
        ck_assert_int_eq(enckey_from_public(buf, 65, &k), -EINVAL); /* not on the curve */
        buf[64] ^= 1;
        buf[0] = 0x06;
        ck_assert_int_eq(enckey_from_public(buf, 65, &k), -EINVAL); /* hybrid form */
        memset(buf, 0, sizeof(buf));
        ck_assert_int_eq(enckey_from_public(buf, 65, &k), -EINVAL);
        ck_assert_int_eq(enckey_from_public(buf, 33, &k), -EINVAL);
        ck_assert_int_eq(enckey_from_public(buf, 32, &k), 0); /* any X25519 string, refused at DH */
        enckey_free(k);

        /* P-256 scalars: 1 <= d < n. */
        memset(d, 0, 32);
        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_P256, d, 32, &k), -EINVAL);
        unhex_into("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", d, 32);
        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_P256, d, 32, &k), -EINVAL);
        memset(d, 0xff, 32);
        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_P256, d, 32, &k), -EINVAL);
        unhex_into("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550", d, 32);
        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_P256, d, 32, &k), 0);
        enckey_free(k);
        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_P256, d, 31, &k), -EINVAL);
        ck_assert_int_eq(enckey_from_private(2, d, 32, &k), -EINVAL);
}
END_TEST

START_TEST(test_enckey_generate_agree) {
        for (int suite = 1; suite <= 3; suite += 2) {
                _cleanup_(enckey_freep) enckey *a = NULL, *b = NULL;
                uint8_t s1[32], s2[32], id[ENCKEY_ID_LEN];

                ck_assert_int_eq(enckey_generate(suite, &a), 0);
                ck_assert_int_eq(enckey_generate(suite, &b), 0);
                ck_assert_ptr_nonnull(a->priv);
                ck_assert_uint_eq(a->pub_len, suite == 1 ? 32 : 65);
                enckey_id(a->pub, a->pub_len, id);
                ck_assert_int_eq(memcmp(id, a->id, sizeof(id)), 0);
                ck_assert_int_eq(enckey_dh(a, b->pub, b->pub_len, s1), 0);
                ck_assert_int_eq(enckey_dh(b, a->pub, a->pub_len, s2), 0);
                ck_assert_int_eq(memcmp(s1, s2, 32), 0);
                /* A peer key of the other suite's length is refused. */
                ck_assert_int_eq(enckey_dh(a, b->pub, suite == 1 ? 65 : 32, s1), -EINVAL);
        }
}
END_TEST

/* Wycheproof x25519_test.json: every case. Go's crypto/ecdh refuses an
 * all-zero shared secret (low-order public keys; "acceptable" with flag
 * ZeroSharedSecret), and so does enckey_dh(); every other case, including
 * the "acceptable" twist and non-canonical public keys that Go accepts,
 * must give the expected secret. */
START_TEST(test_wycheproof_x25519) {
        _cleanup_(json_putp) json_object *root = load_json_vector("wycheproof/x25519_test.json");
        json_object *groups = jget(root, "testGroups");
        size_t n = 0, zero = 0;

        for (size_t g = 0; g < json_object_array_length(groups); g++) {
                json_object *tests = jget(json_object_array_get_idx(groups, g), "tests");

                for (size_t i = 0; i < json_object_array_length(tests); i++) {
                        json_object *t = json_object_array_get_idx(tests, i);
                        _cleanup_(enckey_freep) enckey *k = NULL;
                        uint8_t priv[32], pub[32], want[32], got[32], ss[HPKE_SECRET_LEN];
                        bool zero_secret = jflag(t, "ZeroSharedSecret");
                        int r;

                        unhex_into(jstr(t, "private"), priv, 32);
                        unhex_into(jstr(t, "public"), pub, 32);
                        unhex_into(jstr(t, "shared"), want, 32);
                        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_X25519, priv, 32, &k), 0);
                        r = enckey_dh(k, pub, 32, got);
                        if (zero_secret) {
                                ck_assert(sodium_is_zero(want, 32));
                                ck_assert_msg(r == -EINVAL, "tcId %d: zero secret accepted",
                                              jint(t, "tcId"));
                                /* HPKE decapsulation refuses such an enc too. */
                                ck_assert_int_eq(hpke_decap(pub, 32, k, ss), -EINVAL);
                                zero++;
                        } else {
                                ck_assert_msg(r == 0, "tcId %d (%s) refused", jint(t, "tcId"),
                                              jstr(t, "result"));
                                ck_assert_msg(memcmp(got, want, 32) == 0, "tcId %d: wrong secret",
                                              jint(t, "tcId"));
                        }
                        n++;
                }
        }
        ck_assert_uint_eq(n, (size_t) jint(root, "numberOfTests"));
        ck_assert_uint_gt(zero, 0);
}
END_TEST

/* Wycheproof ecdh_secp256r1_ecpoint_test.json (public keys as bare points):
 * valid cases give the expected x-coordinate; invalid ones (off-curve
 * points, bad encodings) are refused; the one "acceptable" case is a
 * compressed point, which we refuse like Go (uncompressed only). */
START_TEST(test_wycheproof_ecdh_p256) {
        _cleanup_(json_putp) json_object *root =
                load_json_vector("wycheproof/ecdh_secp256r1_ecpoint_test.json");
        json_object *groups = jget(root, "testGroups");
        size_t n = 0;

        for (size_t g = 0; g < json_object_array_length(groups); g++) {
                json_object *tests = jget(json_object_array_get_idx(groups, g), "tests");

                for (size_t i = 0; i < json_object_array_length(tests); i++) {
                        json_object *t = json_object_array_get_idx(tests, i);
                        _cleanup_(enckey_freep) enckey *k = NULL;
                        _cleanup_free_ uint8_t *priv = NULL, *pub = NULL, *want = NULL;
                        size_t priv_len = 0, pub_len = 0, want_len = 0, skip = 0;
                        uint8_t d[32] = {}, got[32];
                        int r;

                        priv = unhex(jstr(t, "private"), &priv_len);
                        pub = unhex(jstr(t, "public"), &pub_len);
                        want = unhex(jstr(t, "shared"), &want_len);
                        while (priv_len - skip > 32 && priv[skip] == 0)
                                skip++;
                        ck_assert_uint_le(priv_len - skip, 32);
                        memcpy(d + 32 - (priv_len - skip), priv + skip, priv_len - skip);
                        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_P256, d, 32, &k), 0);
                        r = enckey_dh(k, pub, pub_len, got);
                        if (strcmp(jstr(t, "result"), "valid") == 0) {
                                ck_assert_msg(r == 0, "tcId %d refused", jint(t, "tcId"));
                                ck_assert_uint_eq(want_len, 32);
                                ck_assert_msg(memcmp(got, want, 32) == 0, "tcId %d: wrong secret",
                                              jint(t, "tcId"));
                        } else
                                ck_assert_msg(r == -EINVAL, "tcId %d (%s) accepted", jint(t, "tcId"),
                                              jstr(t, "result"));
                        n++;
                }
        }
        ck_assert_uint_eq(n, (size_t) jint(root, "numberOfTests"));
}
END_TEST

/* ---- HKDF and AEAD ---- */

START_TEST(test_wycheproof_hkdf) {
        _cleanup_(json_putp) json_object *root = load_json_vector("wycheproof/hkdf_sha256_test.json");
        json_object *groups = jget(root, "testGroups");
        size_t n = 0;

        for (size_t g = 0; g < json_object_array_length(groups); g++) {
                json_object *tests = jget(json_object_array_get_idx(groups, g), "tests");

                for (size_t i = 0; i < json_object_array_length(tests); i++) {
                        json_object *t = json_object_array_get_idx(tests, i);
                        _cleanup_free_ uint8_t *ikm = NULL, *salt = NULL, *info = NULL, *okm = NULL,
                                               *out = NULL;
                        size_t ikm_len = 0, salt_len = 0, info_len = 0, okm_len = 0,
                               size = (size_t) jint(t, "size");
                        int r;

                        ikm = unhex(jstr(t, "ikm"), &ikm_len);
                        salt = unhex(jstr(t, "salt"), &salt_len);
                        info = unhex(jstr(t, "info"), &info_len);
                        okm = unhex(jstr(t, "okm"), &okm_len);
                        out = malloc(size + 1);
                        r = hkdf_sha256(salt, salt_len, ikm, ikm_len, info, info_len, out, size);
                        if (strcmp(jstr(t, "result"), "valid") == 0) {
                                ck_assert_msg(r == 0, "tcId %d refused", jint(t, "tcId"));
                                ck_assert_uint_eq(okm_len, size);
                                ck_assert_msg(memcmp(out, okm, size) == 0, "tcId %d: wrong okm",
                                              jint(t, "tcId"));
                        } else
                                ck_assert_msg(r == -EINVAL, "tcId %d accepted", jint(t, "tcId"));
                        n++;
                }
        }
        ck_assert_uint_eq(n, (size_t) jint(root, "numberOfTests"));
}
END_TEST

/* Wycheproof aes_gcm_test.json, the groups with 96-bit IVs and 128-bit tags
 * for 128- and 256-bit keys (the only shapes HPKE and the payloads use):
 * valid cases seal to ct || tag and open back; invalid ones do not open. */
START_TEST(test_wycheproof_aes_gcm) {
        _cleanup_(json_putp) json_object *root = load_json_vector("wycheproof/aes_gcm_test.json");
        json_object *groups = jget(root, "testGroups");
        size_t n256 = 0, n128 = 0;

        for (size_t g = 0; g < json_object_array_length(groups); g++) {
                json_object *grp = json_object_array_get_idx(groups, g), *tests = jget(grp, "tests");
                int key_size = jint(grp, "keySize");
                hpke_aead aead;

                if (jint(grp, "ivSize") != 96 || jint(grp, "tagSize") != 128)
                        continue;
                if (key_size == 256)
                        aead = HPKE_AEAD_AES_256_GCM;
                else if (key_size == 128)
                        aead = HPKE_AEAD_AES_128_GCM;
                else
                        continue;
                for (size_t i = 0; i < json_object_array_length(tests); i++) {
                        json_object *t = json_object_array_get_idx(tests, i);
                        _cleanup_free_ uint8_t *key = NULL, *iv = NULL, *aad = NULL, *msg = NULL, *ct = NULL,
                                               *tag = NULL, *sealed = NULL, *opened = NULL;
                        size_t key_len = 0, iv_len = 0, aad_len = 0, msg_len = 0, ct_len = 0, tag_len = 0;
                        bool valid = strcmp(jstr(t, "result"), "valid") == 0;
                        int r;

                        key = unhex(jstr(t, "key"), &key_len);
                        iv = unhex(jstr(t, "iv"), &iv_len);
                        aad = unhex(jstr(t, "aad"), &aad_len);
                        msg = unhex(jstr(t, "msg"), &msg_len);
                        ct = unhex(jstr(t, "ct"), &ct_len);
                        tag = unhex(jstr(t, "tag"), &tag_len);
                        ck_assert_uint_eq(iv_len, 12);
                        ck_assert_uint_eq(tag_len, 16);
                        sealed = malloc(ct_len + 16);
                        memcpy(sealed, ct, ct_len);
                        memcpy(sealed + ct_len, tag, 16);
                        opened = malloc(ct_len + 1);
                        r = hpke_aead_open(aead, key, iv, aad, aad_len, sealed, ct_len + 16, opened);
                        if (valid) {
                                ck_assert_msg(r == 0, "tcId %d refused", jint(t, "tcId"));
                                ck_assert_uint_eq(msg_len, ct_len);
                                ck_assert_int_eq(memcmp(opened, msg, msg_len), 0);
                                free(opened);
                                opened = malloc(msg_len + 16);
                                r = hpke_aead_seal(aead, key, iv, aad, aad_len, msg, msg_len, opened);
                                ck_assert_int_eq(r, 0);
                                ck_assert_int_eq(memcmp(opened, sealed, ct_len + 16), 0);
                        } else {
                                ck_assert_msg(r == -EBADMSG, "tcId %d accepted", jint(t, "tcId"));
                                for (size_t k = 0; k < ct_len; k++)
                                        ck_assert_uint_eq(opened[k], 0); /* nothing leaks */
                        }
                        if (key_size == 256)
                                n256++;
                        else
                                n128++;
                }
        }
        ck_assert_uint_gt(n256, 60);
        ck_assert_uint_gt(n128, 60);
}
END_TEST

START_TEST(test_aead_edges) {
        uint8_t key[32] = {1}, nonce[12] = {2}, buf[64] = {0}, out[64];

        /* Shorter than a tag, unknown AEAD. */
        ck_assert_int_eq(hpke_aead_open(HPKE_AEAD_AES_256_GCM, key, nonce, NULL, 0, buf, 15, out), -EBADMSG);
        ck_assert_int_eq(hpke_aead_seal(7, key, nonce, NULL, 0, buf, 1, out), -EINVAL);
        /* Empty plaintext, in place. */
        ck_assert_int_eq(hpke_aead_seal(HPKE_AEAD_AES_256_GCM, key, nonce, NULL, 0, NULL, 0, buf), 0);
        ck_assert_int_eq(hpke_aead_open(HPKE_AEAD_AES_256_GCM, key, nonce, NULL, 0, buf, 16, NULL), 0);
        memcpy(buf, "in place", 8);
        ck_assert_int_eq(hpke_aead_seal(HPKE_AEAD_CHACHA20_POLY1305, key, nonce, NULL, 0, buf, 8, buf), 0);
        ck_assert_int_eq(hpke_aead_open(HPKE_AEAD_CHACHA20_POLY1305, key, nonce, NULL, 0, buf, 24, buf), 0);
        ck_assert_int_eq(memcmp(buf, "in place", 8), 0);
        ck_assert_int_eq(hkdf_sha256_expand(key, 32, NULL, 0, out, HKDF_SHA256_MAX_OUT + 1), -EINVAL);
}
END_TEST

static Suite *crypto_prims_suite(void) {
        Suite *s = suite_create("crypto-prims");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_trim_space);
        tcase_add_test(tc, test_b64u_canonical);
        tcase_add_test(tc, test_b64u_round_trip);
        tcase_add_test(tc, test_sigkey_a5);
        tcase_add_test(tc, test_identity_string_a5);
        tcase_add_test(tc, test_sigkey_generate_round_trip);
        tcase_add_test(tc, test_sigkey_high_s);
        tcase_add_test(tc, test_sigkey_spki_strict);
        tcase_add_test(tc, test_wycheproof_ecdsa);
        tcase_add_test(tc, test_enckey_a4);
        tcase_add_test(tc, test_enckey_validation);
        tcase_add_test(tc, test_enckey_generate_agree);
        tcase_add_test(tc, test_wycheproof_x25519);
        tcase_add_test(tc, test_wycheproof_ecdh_p256);
        tcase_add_test(tc, test_wycheproof_hkdf);
        tcase_add_test(tc, test_wycheproof_aes_gcm);
        tcase_add_test(tc, test_aead_edges);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(crypto_prims_suite());
        int failed;

        if (sodium_init() < 0)
                return EXIT_FAILURE;
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
