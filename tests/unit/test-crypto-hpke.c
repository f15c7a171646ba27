/* Unit tests for lib/hpke.c against the RFC 9180 Appendix A test vectors for
 * DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 (tests/vectors/
 * rfc9180-x25519-base.txt): in base mode, DeriveKeyPair, Encap/Decap, the
 * key schedule and its intermediates, every encryption (sealed and opened at
 * its sequence number) and every exported value. RFC 9180 publishes no
 * X25519 vector with AES-256-GCM, the AEAD WebTTY uses; spec A.4 (in
 * test-crypto-e2e.c) covers that combination. */

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto-test-util.h"
#include "enckey.h"
#include "hpke.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(hpke_ctx, hpke_ctx_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(enckey, enckey_free);

#define MAX_FIELDS 32

/* One "key: value" record of the vector file (hex values may wrap). */
typedef struct record {
        size_t n;
        char *key[MAX_FIELDS];
        char *value[MAX_FIELDS];
} record;

static void record_clear(record *r) {
        for (size_t i = 0; i < r->n; i++) {
                free(r->key[i]);
                free(r->value[i]);
        }
        r->n = 0;
}

static const char *field(const record *r, const char *key) {
        for (size_t i = 0; i < r->n; i++)
                if (strcmp(r->key[i], key) == 0)
                        return r->value[i];
        ck_abort_msg("vector field %s missing", key);
        return NULL;
}

static uint8_t *field_bytes(const record *r, const char *key, size_t *len) {
        return unhex(field(r, key), len);
}

static char *strip(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = '\0';
        return s;
}

static void record_add_line(record *r, char *line) {
        char *colon = strchr(line, ':');

        if (colon) {
                ck_assert_uint_lt(r->n, MAX_FIELDS);
                *colon = '\0';
                r->key[r->n] = strdup(strip(line));
                r->value[r->n] = strdup(strip(colon + 1));
                r->n++;
        } else {
                /* A continuation of the previous (hex) value. */
                char *v;

                ck_assert_uint_gt(r->n, 0);
                ck_assert_int_ge(asprintf(&v, "%s%s", r->value[r->n - 1], strip(line)), 0);
                free(r->value[r->n - 1]);
                r->value[r->n - 1] = v;
        }
}

/* State of one suite's base-mode vectors. */
typedef struct suite_state {
        hpke_aead aead;
        hpke_ctx *sender, *receiver;
        uint8_t base_nonce[HPKE_NONCE_LEN];
        size_t encryptions, exports;
} suite_state;

static void check_setup(const record *r, suite_state *st) {
        _cleanup_(enckey_freep) enckey *skR = NULL;
        _cleanup_free_ uint8_t *ikmE = NULL, *ikmR = NULL, *info = NULL;
        size_t ikmE_len = 0, ikmR_len = 0, info_len = 0, key_len = 0, sid_len;
        uint8_t skE[32], pkE[32], skRm[32], pkRm[32], ss[32], ss2[32], enc[32], enc2[32];
        uint8_t sid[HPKE_SUITE_ID_MAX], ksc[65], secret[32], key[HPKE_KEY_MAX], nonce[12], exp[32];

        ck_assert_str_eq(field(r, "kem_id"), "32");
        ck_assert_str_eq(field(r, "kdf_id"), "1");
        st->aead = (hpke_aead) atoi(field(r, "aead_id"));
        ck_assert_uint_gt(hpke_aead_key_len(st->aead), 0);

        /* DeriveKeyPair for both key pairs. */
        ikmE = field_bytes(r, "ikmE", &ikmE_len);
        ikmR = field_bytes(r, "ikmR", &ikmR_len);
        ck_assert_int_eq(hpke_derive_keypair(ikmE, ikmE_len, skE, pkE), 0);
        ck_assert_hex_eq(skE, 32, field(r, "skEm"));
        ck_assert_hex_eq(pkE, 32, field(r, "pkEm"));
        ck_assert_int_eq(hpke_derive_keypair(ikmR, ikmR_len, skRm, pkRm), 0);
        ck_assert_hex_eq(skRm, 32, field(r, "skRm"));
        ck_assert_hex_eq(pkRm, 32, field(r, "pkRm"));

        /* Encap with the fixed ephemeral key; Decap. */
        ck_assert_int_eq(hpke_encap(pkRm, skE, ss, enc), 0);
        ck_assert_hex_eq(enc, 32, field(r, "enc"));
        ck_assert_hex_eq(ss, 32, field(r, "shared_secret"));
        ck_assert_int_eq(enckey_from_private(ENCKEY_SUITE_X25519, skRm, 32, &skR), 0);
        ck_assert_int_eq(hpke_decap(enc, 32, skR, ss2), 0);
        ck_assert_int_eq(memcmp(ss, ss2, 32), 0);
        ck_assert_int_eq(hpke_decap(enc, 31, skR, ss2), -EINVAL);

        /* Key schedule intermediates through the labeled KDF. */
        info = field_bytes(r, "info", &info_len);
        sid_len = hpke_suite_id(st->aead, sid);
        ksc[0] = 0;
        ck_assert_int_eq(hpke_labeled_extract(sid, sid_len, NULL, 0, "psk_id_hash", NULL, 0, ksc + 1), 0);
        ck_assert_int_eq(hpke_labeled_extract(sid, sid_len, NULL, 0, "info_hash", info, info_len, ksc + 33),
                         0);
        ck_assert_hex_eq(ksc, sizeof(ksc), field(r, "key_schedule_context"));
        ck_assert_int_eq(hpke_labeled_extract(sid, sid_len, ss, 32, "secret", NULL, 0, secret), 0);
        ck_assert_hex_eq(secret, 32, field(r, "secret"));

        /* SetupBaseS / SetupBaseR give the vector's context. */
        ck_assert_int_eq(hpke_setup_base_s(st->aead, pkRm, info, info_len, skE, enc2, &st->sender), 0);
        ck_assert_int_eq(memcmp(enc, enc2, 32), 0);
        ck_assert_int_eq(hpke_setup_base_r(st->aead, enc, 32, skR, info, info_len, &st->receiver), 0);
        hpke_ctx_secrets(st->sender, key, &key_len, nonce, exp);
        ck_assert_uint_eq(key_len, hpke_aead_key_len(st->aead));
        ck_assert_hex_eq(key, key_len, field(r, "key"));
        ck_assert_hex_eq(nonce, 12, field(r, "base_nonce"));
        ck_assert_hex_eq(exp, 32, field(r, "exporter_secret"));
        memcpy(st->base_nonce, nonce, 12);
        hpke_ctx_secrets(st->receiver, key, &key_len, nonce, exp);
        ck_assert_hex_eq(key, key_len, field(r, "key"));
        ck_assert_hex_eq(nonce, 12, field(r, "base_nonce"));
        ck_assert_hex_eq(exp, 32, field(r, "exporter_secret"));
}

static void check_encryption(const record *r, suite_state *st) {
        _cleanup_free_ uint8_t *pt = NULL, *aad = NULL, *ct = NULL, *out = NULL;
        size_t pt_len = 0, aad_len = 0, ct_len = 0;
        uint64_t seq = strtoull(field(r, "sequence number"), NULL, 10);
        uint8_t nonce[12];

        pt = field_bytes(r, "pt", &pt_len);
        aad = field_bytes(r, "aad", &aad_len);
        ct = field_bytes(r, "ct", &ct_len);
        ck_assert_uint_eq(ct_len, pt_len + HPKE_TAG_LEN);

        /* nonce = base_nonce XOR I2OSP(seq, 12) */
        memcpy(nonce, st->base_nonce, 12);
        for (int i = 0; i < 8; i++)
                nonce[11 - i] ^= (uint8_t) (seq >> (8 * i));
        ck_assert_hex_eq(nonce, 12, field(r, "nonce"));

        out = malloc(ct_len);
        hpke_ctx_set_seq(st->sender, seq);
        ck_assert_int_eq(hpke_seal(st->sender, aad, aad_len, pt, pt_len, out), 0);
        ck_assert_int_eq(memcmp(out, ct, ct_len), 0);

        hpke_ctx_set_seq(st->receiver, seq);
        ck_assert_int_eq(hpke_open(st->receiver, aad, aad_len, ct, ct_len, out), 0);
        ck_assert_int_eq(memcmp(out, pt, pt_len), 0);
        /* At the wrong sequence number, or tampered, it does not open. */
        hpke_ctx_set_seq(st->receiver, seq + 1);
        ck_assert_int_eq(hpke_open(st->receiver, aad, aad_len, ct, ct_len, out), -EBADMSG);
        hpke_ctx_set_seq(st->receiver, seq);
        ct[0] ^= 0x80;
        ck_assert_int_eq(hpke_open(st->receiver, aad, aad_len, ct, ct_len, out), -EBADMSG);
        st->encryptions++;
}

static void check_export(const record *r, suite_state *st) {
        _cleanup_free_ uint8_t *ctx = NULL, *out = NULL;
        size_t ctx_len = 0, L = (size_t) atoi(field(r, "L"));

        ctx = field_bytes(r, "exporter_context", &ctx_len);
        out = malloc(L);
        ck_assert_int_eq(hpke_export(st->sender, ctx, ctx_len, out, L), 0);
        ck_assert_hex_eq(out, L, field(r, "exported_value"));
        ck_assert_int_eq(hpke_export(st->receiver, ctx, ctx_len, out, L), 0);
        ck_assert_hex_eq(out, L, field(r, "exported_value"));
        st->exports++;
}

enum section { SECTION_OTHER, SECTION_BASE_SETUP, SECTION_ENCRYPTIONS, SECTION_EXPORTS, SECTION_SKIP };

START_TEST(test_rfc9180_vectors) {
        _cleanup_free_ char *text = read_vector_text("rfc9180-x25519-base.txt");
        suite_state st = {};
        enum section section = SECTION_OTHER;
        bool in_block = false, have_base = false;
        size_t suites = 0, encryptions = 0, exports = 0;
        record rec = {};
        char *save = NULL;

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* strtok_r folds blank lines; records are also split on them below. */
                /* A heading always ends a block: the file's PSK sections are
                 * cut short, without their closing ~~~. */
                if (in_block && strncmp(line, "##", 2) == 0) {
                        record_clear(&rec);
                        in_block = false;
                }
                if (strncmp(line, "~~~", 3) == 0) {
                        if (in_block && rec.n > 0) {
                                if (section == SECTION_BASE_SETUP) {
                                        if (strcmp(field(&rec, "mode"), "0") == 0) {
                                                check_setup(&rec, &st);
                                                have_base = true;
                                                suites++;
                                        }
                                } else if (section == SECTION_ENCRYPTIONS && have_base)
                                        check_encryption(&rec, &st);
                                else if (section == SECTION_EXPORTS && have_base)
                                        check_export(&rec, &st);
                        }
                        record_clear(&rec);
                        in_block = !in_block;
                        continue;
                }
                if (!in_block) {
                        if (strncmp(line, "## ", 3) == 0) {
                                encryptions += st.encryptions;
                                exports += st.exports;
                                hpke_ctx_free(st.sender);
                                hpke_ctx_free(st.receiver);
                                st = (suite_state){};
                                have_base = false;
                                section = SECTION_OTHER;
                        } else if (strcmp(line, "### Base Setup Information") == 0)
                                section = SECTION_BASE_SETUP;
                        else if (strcmp(line, "#### Encryptions") == 0)
                                section = SECTION_ENCRYPTIONS;
                        else if (strcmp(line, "#### Exported Values") == 0)
                                section = SECTION_EXPORTS;
                        else if (strncmp(line, "### ", 3) == 0) {
                                section = SECTION_SKIP; /* PSK, Auth, AuthPSK modes */
                                have_base = false;
                        }
                        continue;
                }
                if (section == SECTION_SKIP || section == SECTION_OTHER)
                        continue;
                /* A new record starts where a key repeats (the file separates
                 * records with blank lines, which strtok_r swallows). */
                if ((section == SECTION_ENCRYPTIONS && strncmp(line, "sequence number:", 16) == 0) ||
                    (section == SECTION_EXPORTS && strncmp(line, "exporter_context:", 17) == 0)) {
                        if (rec.n > 0) {
                                if (section == SECTION_ENCRYPTIONS && have_base)
                                        check_encryption(&rec, &st);
                                else if (have_base)
                                        check_export(&rec, &st);
                        }
                        record_clear(&rec);
                }
                record_add_line(&rec, line);
        }
        encryptions += st.encryptions;
        exports += st.exports;
        hpke_ctx_free(st.sender);
        hpke_ctx_free(st.receiver);
        record_clear(&rec);

        /* Two base-mode suites (AES-128-GCM, ChaCha20-Poly1305), each with six
         * encryptions and three exports. */
        ck_assert_uint_eq(suites, 2);
        ck_assert_uint_eq(encryptions, 12);
        ck_assert_uint_eq(exports, 6);
}
END_TEST

/* Key envelope suite 1's shape: single-shot AES-256-GCM base mode. */
START_TEST(test_single_shot_aes256) {
        _cleanup_(enckey_freep) enckey *r = NULL, *other = NULL;
        uint8_t enc[HPKE_ENC_LEN], ct[32 + HPKE_TAG_LEN], pt[32], key[32];
        const uint8_t info[] = "info", aad[] = "aad";

        randombytes_buf(key, sizeof(key));
        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_X25519, &r), 0);
        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_X25519, &other), 0);
        ck_assert_int_eq(
                hpke_seal_base(HPKE_AEAD_AES_256_GCM, r->pub, info, 4, aad, 3, key, 32, NULL, enc, ct), 0);
        ck_assert_int_eq(
                hpke_open_base(HPKE_AEAD_AES_256_GCM, enc, 32, r, info, 4, aad, 3, ct, sizeof(ct), pt), 0);
        ck_assert_int_eq(memcmp(pt, key, 32), 0);
        /* Wrong info, AAD, recipient or enc: refused, and nothing of pt left. */
        ck_assert_int_eq(
                hpke_open_base(HPKE_AEAD_AES_256_GCM, enc, 32, r, info, 3, aad, 3, ct, sizeof(ct), pt),
                -EBADMSG);
        ck_assert(sodium_is_zero(pt, sizeof(pt)));
        ck_assert_int_eq(
                hpke_open_base(HPKE_AEAD_AES_256_GCM, enc, 32, r, info, 4, aad, 2, ct, sizeof(ct), pt),
                -EBADMSG);
        ck_assert_int_eq(
                hpke_open_base(HPKE_AEAD_AES_256_GCM, enc, 32, other, info, 4, aad, 3, ct, sizeof(ct), pt),
                -EBADMSG);
        enc[0] ^= 1;
        ck_assert_int_eq(
                hpke_open_base(HPKE_AEAD_AES_256_GCM, enc, 32, r, info, 4, aad, 3, ct, sizeof(ct), pt),
                -EBADMSG);
        /* A low-order enc (here: zero) is refused before any AEAD. */
        memset(enc, 0, sizeof(enc));
        ck_assert_int_eq(
                hpke_open_base(HPKE_AEAD_AES_256_GCM, enc, 32, r, info, 4, aad, 3, ct, sizeof(ct), pt),
                -EINVAL);
        /* Sealing to a low-order public key is refused too. */
        ck_assert_int_eq(hpke_seal_base(HPKE_AEAD_AES_256_GCM, enc, info, 4, aad, 3, key, 32, NULL, enc, ct),
                         -EINVAL);
        /* A P-256 key is not an HPKE X25519 recipient. */
        {
                _cleanup_(enckey_freep) enckey *p = NULL;

                ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_P256, &p), 0);
                ck_assert_int_eq(hpke_decap(enc, 32, p, key), -EINVAL);
        }
}
END_TEST

/* The context's own sequence counter matches explicit sequence numbers. */
START_TEST(test_sequence_counter) {
        _cleanup_(enckey_freep) enckey *r = NULL;
        _cleanup_(hpke_ctx_freep) hpke_ctx *s = NULL, *rc = NULL, *s2 = NULL;
        uint8_t enc[32], ske[32], c1[3 + 16], c2[3 + 16], c3[3 + 16], pt[3];

        randombytes_buf(ske, sizeof(ske));
        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_X25519, &r), 0);
        ck_assert_int_eq(hpke_setup_base_s(HPKE_AEAD_AES_256_GCM, r->pub, NULL, 0, ske, enc, &s), 0);
        ck_assert_int_eq(hpke_setup_base_s(HPKE_AEAD_AES_256_GCM, r->pub, NULL, 0, ske, enc, &s2), 0);
        ck_assert_int_eq(hpke_setup_base_r(HPKE_AEAD_AES_256_GCM, enc, 32, r, NULL, 0, &rc), 0);
        ck_assert_int_eq(hpke_seal(s, NULL, 0, (const uint8_t *) "abc", 3, c1), 0);
        ck_assert_int_eq(hpke_seal(s, NULL, 0, (const uint8_t *) "abc", 3, c2), 0);
        ck_assert_int_ne(memcmp(c1, c2, sizeof(c1)), 0);
        hpke_ctx_set_seq(s2, 1);
        ck_assert_int_eq(hpke_seal(s2, NULL, 0, (const uint8_t *) "abc", 3, c3), 0);
        ck_assert_int_eq(memcmp(c2, c3, sizeof(c2)), 0);
        /* Opening in order; a failed open does not advance. */
        ck_assert_int_eq(hpke_open(rc, NULL, 0, c2, sizeof(c2), pt), -EBADMSG);
        ck_assert_int_eq(hpke_open(rc, NULL, 0, c1, sizeof(c1), pt), 0);
        ck_assert_int_eq(hpke_open(rc, NULL, 0, c2, sizeof(c2), pt), 0);
        ck_assert_int_eq(memcmp(pt, "abc", 3), 0);
        /* The last sequence number is usable once, then the context is spent. */
        hpke_ctx_set_seq(s, UINT64_MAX);
        ck_assert_int_eq(hpke_seal(s, NULL, 0, (const uint8_t *) "abc", 3, c1), 0);
        ck_assert_int_eq(hpke_seal(s, NULL, 0, (const uint8_t *) "abc", 3, c1), -EOVERFLOW);
}
END_TEST

static Suite *hpke_suite(void) {
        Suite *s = suite_create("crypto-hpke");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_rfc9180_vectors);
        tcase_add_test(tc, test_single_shot_aes256);
        tcase_add_test(tc, test_sequence_counter);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(hpke_suite());
        int failed;

        if (sodium_init() < 0)
                return EXIT_FAILURE;
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
