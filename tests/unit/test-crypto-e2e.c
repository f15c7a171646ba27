/* Unit tests for lib/e2e.c: the spec A.4 vectors for both key envelope
 * suites byte for byte (fixed randomness injected through e2e_rng), grant
 * build/open round trips, every check of spec 7.7 and 7.9 with its exact
 * text, the default key context JSON, and the hand-written Message encoding
 * of e2e_seal_data() against protobuf-c. */

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto-test-util.h"
#include "e2e.h"
#include "enckey.h"
#include "hpke.h"
#include "macro.h"
#include "wmsg.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(enckey, enckey_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(e2e_session, e2e_session_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__SessionKeyGrant, e2e_grant_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__Message, wmsg_free);

#define A4_SERVER_PRIV "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define A4_KEY_CONTEXT "test/key-context"
#define A4_KID "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
#define A4_EPH "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40"

#define A4_1_ID "6f040bfbbaf259b3bf84372ae0419e0a"
#define A4_1_INFO                                                                                           \
        "000000197273747265616d2d7765627474792d6532652d6b65792f7631000000010000000100000010a0a1a2a3a4a5a6a" \
        "7a8"                                                                                               \
        "a9aaabacadaeaf00000010746573742f6b65792d636f6e74657874"
#define A4_1_WRAP_AAD                                                                                       \
        "000000086b65792d777261700000000100000001000000106f040bfbbaf259b3bf84372ae0419e0a00000010a0a1a2a3a" \
        "4a5"                                                                                               \
        "a6a7a8a9aaabacadaeaf00000010746573742f6b65792d636f6e74657874"
#define A4_1_ENC "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b"
#define A4_1_WRAPPED                                                                                        \
        "a949c74902a853af655e19b7e2c207396586283ea8f1586791e4d12b79f326483bcc78e751a277afb43f3cc4ae13e804"
#define A4_1_NONCE "000102030405060708090a0b"
#define A4_1_PAYLOAD_AAD                                                                                    \
        "0000001d7273747265616d2d7765627474792d6532652d7061796c6f61642f763100000005737464696e0000000100000" \
        "010"                                                                                               \
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00000010746573742f6b65792d636f6e746578740000000c00010203040506070" \
        "8"                                                                                                 \
        "090a0b00000006"
#define A4_1_CT_STDIN "52600014188690bf04aa0847ea42b3871db158d11d9b"
#define A4_1_CT_STDOUT "52600014188654e500c84b12f1b7b52ca6dd37477192"

#define A4_3_ID "809ea8a56f16acc7682643c250330e68"
#define A4_3_INFO                                                                                           \
        "000000197273747265616d2d7765627474792d6532652d6b65792f7631000000030000000300000010a0a1a2a3a4a5a6a" \
        "7a8"                                                                                               \
        "a9aaabacadaeaf00000010746573742f6b65792d636f6e74657874"
#define A4_3_WRAP_AAD                                                                                       \
        "000000086b65792d77726170000000030000000300000010809ea8a56f16acc7682643c250330e6800000010a0a1a2a3a" \
        "4a5"                                                                                               \
        "a6a7a8a9aaabacadaeaf00000010746573742f6b65792d636f6e74657874"
#define A4_3_ENC                                                                                            \
        "041f140146bfb1b251f84f4ddbe0d4cdcfd77afd984a9520e35794021f8312bb9eec995a08b1fa7704df3dcc0b50a9665" \
        "263"                                                                                               \
        "fb7711f95f9f8a449c5096e47c892b"
#define A4_3_WRAPPED                                                                                        \
        "505152535455565758595a5b277c25266d90ee238053674e2ab693dea31a76b86c2a7cc09646fb9b37a07d68babe58b4e" \
        "5be"                                                                                               \
        "ee89d81c66ca6f5e78c8"
#define A4_3_PAYLOAD_AAD                                                                                    \
        "0000001d7273747265616d2d7765627474792d6532652d7061796c6f61642f763100000005737464696e0000000300000" \
        "010"                                                                                               \
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00000010746573742f6b65792d636f6e746578740000000000000006"
#define A4_3_CT_STDIN "606162636465666768696a6bc44d6569689e5191b4d5205af01ed3dee64bd6f18f6f"

#define AUTH_FAILED "cipher: message authentication failed"

/* Fixed randomness of spec A.4. */
typedef struct fixed_rng {
        uint8_t payload_nonce[12];
        uint8_t wrap_nonce[12];
        unsigned calls;
} fixed_rng;

static void fill_seq(uint8_t *buf, size_t len, uint8_t start) {
        for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t) (start + i);
}

static int fixed_fill(void *userdata, e2e_rand_purpose purpose, uint8_t *buf, size_t len) {
        fixed_rng *f = userdata;

        f->calls++;
        switch (purpose) {
        case E2E_RAND_PAYLOAD_KEY:
                ck_assert_uint_eq(len, 32);
                fill_seq(buf, len, 0x40);
                return 0;
        case E2E_RAND_PAYLOAD_KEY_ID:
                ck_assert_uint_eq(len, 16);
                fill_seq(buf, len, 0xa0);
                return 0;
        case E2E_RAND_EPHEMERAL_KEY:
                ck_assert_uint_eq(len, 32);
                fill_seq(buf, len, 0x21);
                return 0;
        case E2E_RAND_WRAP_NONCE:
                ck_assert_uint_eq(len, 12);
                memcpy(buf, f->wrap_nonce, 12);
                return 0;
        case E2E_RAND_PAYLOAD_NONCE:
                ck_assert_uint_eq(len, 12);
                memcpy(buf, f->payload_nonce, 12);
                return 0;
        }
        return -EINVAL;
}

static enckey *a4_server_key(enckey_suite suite) {
        uint8_t priv[32];
        enckey *k = NULL;

        unhex_into(A4_SERVER_PRIV, priv, 32);
        ck_assert_int_eq(enckey_from_private(suite, priv, 32, &k), 0);
        return k;
}

static enckey *public_half(const enckey *k) {
        enckey *p = NULL;

        ck_assert_int_eq(enckey_from_public(k->pub, k->pub_len, &p), 0);
        return p;
}

static Webtty__Message *unpack(const uint8_t *buf, size_t len) {
        char err[256];
        Webtty__Message *m = wmsg_unpack(buf, len, err, sizeof(err));

        ck_assert_msg(m != NULL, "%s", err);
        ck_assert_int_eq(m->payload_case, WEBTTY__MESSAGE__PAYLOAD_DATA);
        ck_assert_int_eq(m->data->payload_case, WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA);
        return m;
}

/* Seals pt on stream and returns the parsed Message. */
static Webtty__Message *seal_parse(e2e_session *s, e2e_stream stream, const void *pt, size_t len) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n = 0;

        ck_assert_int_eq(e2e_seal_data_alloc(s, stream, pt, len, &buf, &n), 0);
        ck_assert_uint_eq(n, e2e_seal_data_size(s, stream, len));
        return unpack(buf, n);
}

/* Opens d on stream; returns the error text (malloc'd) or NULL on success,
 * in which case the plaintext must equal want. */
static char *open_text(e2e_session *s, e2e_stream stream, const Webtty__Data *d, const void *want,
                       size_t want_len) {
        _cleanup_free_ uint8_t *pt = NULL;
        char *err = NULL;
        size_t n = 0;
        int r;

        r = e2e_open_data_alloc(s, stream, d, &pt, &n, &err);
        if (r < 0) {
                ck_assert_ptr_nonnull(err);
                return err;
        }
        ck_assert_ptr_null(err);
        ck_assert_uint_eq(n, want_len);
        ck_assert_int_eq(memcmp(pt, want, n), 0);
        return NULL;
}

static void expect_open_error(e2e_session *s, e2e_stream stream, const Webtty__Data *d, const char *text) {
        _cleanup_free_ char *err = open_text(s, stream, d, NULL, 0);

        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, text);
}

static void expect_grant_error(const Webtty__SessionKeyGrant *g, const enckey *own, const char *text) {
        _cleanup_(e2e_session_freep) e2e_session *s = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_int_lt(e2e_grant_open(g, own, &s, &err), 0);
        ck_assert_ptr_null(s);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, text);
}

/* ---- Spec A.4 ---- */

START_TEST(test_a4_context_strings) {
        uint8_t kid[16], *b = NULL;
        size_t len = 0;

        unhex_into(A4_KID, kid, 16);
        ck_assert_int_eq(e2e_wrap_info(1, 1, kid, 16, (const uint8_t *) A4_KEY_CONTEXT, 16, &b, &len), 0);
        ck_assert_hex_eq(b, len, A4_1_INFO);
        free(b);
        ck_assert_int_eq(e2e_wrap_info(3, 3, kid, 16, (const uint8_t *) A4_KEY_CONTEXT, 16, &b, &len), 0);
        ck_assert_hex_eq(b, len, A4_3_INFO);
        free(b);
        {
                uint8_t rid1[16], rid3[16], nonce[12];

                unhex_into(A4_1_ID, rid1, 16);
                unhex_into(A4_3_ID, rid3, 16);
                ck_assert_int_eq(e2e_wrap_aad(1, 1, rid1, 16, kid, 16, (const uint8_t *) A4_KEY_CONTEXT, 16,
                                              &b, &len),
                                 0);
                ck_assert_hex_eq(b, len, A4_1_WRAP_AAD);
                free(b);
                ck_assert_int_eq(e2e_wrap_aad(3, 3, rid3, 16, kid, 16, (const uint8_t *) A4_KEY_CONTEXT, 16,
                                              &b, &len),
                                 0);
                ck_assert_hex_eq(b, len, A4_3_WRAP_AAD);
                free(b);
                unhex_into(A4_1_NONCE, nonce, 12);
                ck_assert_int_eq(e2e_payload_aad(E2E_STREAM_STDIN, 1, kid, 16,
                                                 (const uint8_t *) A4_KEY_CONTEXT, 16, nonce, 12, 6, &b,
                                                 &len),
                                 0);
                ck_assert_hex_eq(b, len, A4_1_PAYLOAD_AAD);
                free(b);
                ck_assert_int_eq(e2e_payload_aad(E2E_STREAM_STDIN, 3, kid, 16,
                                                 (const uint8_t *) A4_KEY_CONTEXT, 16, NULL, 0, 6, &b, &len),
                                 0);
                ck_assert_hex_eq(b, len, A4_3_PAYLOAD_AAD);
                free(b);
        }
}
END_TEST

static void check_a4(enckey_suite suite) {
        _cleanup_(enckey_freep) enckey *server = a4_server_key(suite), *pub = public_half(server);
        _cleanup_(e2e_grant_freep) Webtty__SessionKeyGrant *g = NULL;
        _cleanup_(e2e_session_freep) e2e_session *client = NULL, *srv = NULL;
        _cleanup_(wmsg_freep) Webtty__Message *m = NULL, *m2 = NULL;
        fixed_rng f = {};
        e2e_rng rng = {fixed_fill, &f};
        const enckey *recipients[] = {pub};
        const Webtty__EncryptedPayload *ep;
        _cleanup_free_ char *err = NULL;
        bool s1 = suite == ENCKEY_SUITE_X25519;

        fill_seq(f.payload_nonce, 12, s1 ? 0x00 : 0x60);
        fill_seq(f.wrap_nonce, 12, 0x50);
        ck_assert_int_eq(e2e_grant_build(recipients, 1, (const uint8_t *) A4_KEY_CONTEXT, 16, &rng, &g,
                                         &client, &err),
                         0);
        ck_assert_ptr_null(err);
        ck_assert_int_eq(g->payload_suite, s1 ? 1 : 3);
        ck_assert_int_eq(g->key_envelope_suite, s1 ? 1 : 3);
        ck_assert_hex_eq(g->payload_key_id.data, g->payload_key_id.len, A4_KID);
        ck_assert_uint_eq(g->key_context.len, 16);
        ck_assert_int_eq(memcmp(g->key_context.data, A4_KEY_CONTEXT, 16), 0);
        ck_assert_uint_eq(g->n_key_envelopes, 1);
        ck_assert_hex_eq(g->key_envelopes[0]->recipient_key_id.data,
                         g->key_envelopes[0]->recipient_key_id.len, s1 ? A4_1_ID : A4_3_ID);
        ck_assert_hex_eq(g->key_envelopes[0]->encapsulated_key.data,
                         g->key_envelopes[0]->encapsulated_key.len, s1 ? A4_1_ENC : A4_3_ENC);
        ck_assert_hex_eq(g->key_envelopes[0]->wrapped_key.data, g->key_envelopes[0]->wrapped_key.len,
                         s1 ? A4_1_WRAPPED : A4_3_WRAPPED);

        /* The client's stdin, byte-exact. */
        m = seal_parse(client, E2E_STREAM_STDIN, "hello\n", 6);
        ck_assert_int_eq(m->data->type, WEBTTY__DATA__TYPE__TYPE_STDIN);
        ep = m->data->encrypted_data;
        ck_assert_hex_eq(ep->ciphertext.data, ep->ciphertext.len, s1 ? A4_1_CT_STDIN : A4_3_CT_STDIN);
        ck_assert_uint_eq(ep->plaintext_length, 6);
        ck_assert_ptr_nonnull(ep->payload_crypto);
        ck_assert_int_eq(ep->payload_crypto->payload_suite, s1 ? 1 : 3);
        ck_assert_hex_eq(ep->payload_crypto->payload_key_id.data, ep->payload_crypto->payload_key_id.len,
                         A4_KID);
        if (s1)
                ck_assert_hex_eq(ep->payload_crypto->nonce.data, ep->payload_crypto->nonce.len, A4_1_NONCE);
        else
                ck_assert_uint_eq(ep->payload_crypto->nonce.len, 0); /* inside the ciphertext */
        ck_assert_uint_eq(ep->payload_crypto->aad_context.len, 16);

        if (s1) {
                m2 = seal_parse(client, E2E_STREAM_STDOUT, "hello\n", 6);
                ck_assert_hex_eq(m2->data->encrypted_data->ciphertext.data,
                                 m2->data->encrypted_data->ciphertext.len, A4_1_CT_STDOUT);
        }

        /* The server opens the grant and reads stdin. */
        ck_assert_int_eq(e2e_grant_open(g, server, &srv, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_int_eq(memcmp(e2e_session_key_id(srv), e2e_session_key_id(client), 16), 0);
        ck_assert_ptr_null(open_text(srv, E2E_STREAM_STDIN, m->data, "hello\n", 6));
        expect_open_error(srv, E2E_STREAM_STDOUT, m->data, "decrypt E2E stdout payload: " AUTH_FAILED);
        ck_assert_uint_gt(f.calls, 0);
}

START_TEST(test_a4_suite1) {
        check_a4(ENCKEY_SUITE_X25519);
}
END_TEST

START_TEST(test_a4_suite3) {
        check_a4(ENCKEY_SUITE_P256);
}
END_TEST

/* ---- Round trips ---- */

static void round_trip(enckey_suite suite) {
        _cleanup_(enckey_freep) enckey *server = NULL, *pub = NULL, *mine = NULL;
        _cleanup_(e2e_grant_freep) Webtty__SessionKeyGrant *g = NULL;
        _cleanup_(e2e_session_freep) e2e_session *client = NULL, *srv = NULL, *me = NULL;
        const enckey *recipients[2];
        _cleanup_free_ char *err = NULL;
        uint8_t big[70000];

        ck_assert_int_eq(enckey_generate(suite, &server), 0);
        ck_assert_int_eq(enckey_generate(suite, &mine), 0);
        pub = public_half(server);
        recipients[0] = mine; /* the client's own key first: the server must find its own */
        recipients[1] = pub;
        ck_assert_int_eq(e2e_grant_build(recipients, 2, NULL, 0, NULL, &g, &client, &err), 0);
        ck_assert_uint_eq(g->n_key_envelopes, 2);
        ck_assert_uint_eq(g->payload_key_id.len, 16);
        ck_assert_uint_eq(g->key_envelopes[0]->encapsulated_key.len, suite == 1 ? 32 : 65);
        ck_assert_uint_eq(g->key_envelopes[0]->wrapped_key.len, suite == 1 ? 48 : 60);
        ck_assert_int_eq(e2e_grant_open(g, server, &srv, &err), 0);
        ck_assert_int_eq(e2e_grant_open(g, mine, &me, &err), 0);

        randombytes_buf(big, sizeof(big));
        for (int st = E2E_STREAM_STDIN; st <= E2E_STREAM_STDERR; st++) {
                static const size_t lens[] = {0, 1, 127, 128, 4096, 16384, 65536, 70000};

                for (size_t i = 0; i < ELEMENTSOF(lens); i++) {
                        _cleanup_(wmsg_freep) Webtty__Message *a = NULL, *b = NULL;
                        e2e_stream other = (e2e_stream) ((st + 1) % 3);
                        _cleanup_free_ char *e = NULL;

                        /* client -> server and server -> client */
                        a = seal_parse(client, (e2e_stream) st, big, lens[i]);
                        ck_assert_int_eq((int) a->data->type, st);
                        ck_assert_ptr_null(open_text(srv, (e2e_stream) st, a->data, big, lens[i]));
                        ck_assert_ptr_null(open_text(me, (e2e_stream) st, a->data, big, lens[i]));
                        b = seal_parse(srv, (e2e_stream) st, big, lens[i]);
                        ck_assert_ptr_null(open_text(client, (e2e_stream) st, b->data, big, lens[i]));
                        /* The stream label is bound. */
                        if (asprintf(&e, "decrypt E2E %s payload: " AUTH_FAILED, e2e_stream_name(other)) < 0)
                                ck_abort();
                        expect_open_error(client, other, b->data, e);
                }
        }
}

START_TEST(test_round_trip_suite1) {
        round_trip(ENCKEY_SUITE_X25519);
}
END_TEST

START_TEST(test_round_trip_suite3) {
        round_trip(ENCKEY_SUITE_P256);
}
END_TEST

/* ---- Spec 7.9: every receiver check with its text ---- */

static void tamper_cases(enckey_suite suite) {
        _cleanup_(e2e_session_freep) e2e_session *s = NULL;
        _cleanup_(wmsg_freep) Webtty__Message *m = NULL;
        uint8_t key[32], kid[16], saved_byte;
        Webtty__EncryptedPayload *ep;
        Webtty__PayloadCrypto *pc, *saved_pc;
        Webtty__Data plain = WEBTTY__DATA__INIT;
        bool s1 = suite == ENCKEY_SUITE_X25519;
        uint32_t ps = s1 ? 1 : 3;
        ProtobufCBinaryData saved;
        uint8_t nonce11[11], nonce12[12] = {};

        randombytes_buf(key, sizeof(key));
        randombytes_buf(kid, sizeof(kid));
        ck_assert_int_eq(e2e_session_new(ps, ps, key, kid, (const uint8_t *) "ctx", 3, &s), 0);
        m = seal_parse(s, E2E_STREAM_STDIN, "secret", 6);
        ep = m->data->encrypted_data;
        pc = ep->payload_crypto;
        ck_assert_ptr_null(open_text(s, E2E_STREAM_STDIN, m->data, "secret", 6));

        /* Not encrypted at all. */
        plain.payload_case = WEBTTY__DATA__PAYLOAD_DATA;
        plain.data.data = (uint8_t *) "secret";
        plain.data.len = 6;
        expect_open_error(s, E2E_STREAM_STDIN, &plain, "missing E2E encrypted payload");
        plain.payload_case = WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA;
        plain.encrypted_data = NULL;
        expect_open_error(s, E2E_STREAM_STDIN, &plain, "missing E2E encrypted payload");

        saved_pc = ep->payload_crypto;
        ep->payload_crypto = NULL;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "missing E2E payload crypto metadata");
        ep->payload_crypto = saved_pc;

        pc->payload_suite = s1 ? 3 : 1;
        expect_open_error(s, E2E_STREAM_STDIN, m->data,
                          s1 ? "unexpected E2E payload suite 3" : "unexpected E2E payload suite 1");
        pc->payload_suite = 2;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "unexpected E2E payload suite 2");
        pc->payload_suite = (Webtty__PayloadCipherSuite) ps;

        pc->payload_key_id.data[0] ^= 1;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "unexpected E2E payload key id");
        pc->payload_key_id.data[0] ^= 1;
        pc->payload_key_id.len = 15;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "unexpected E2E payload key id");
        pc->payload_key_id.len = 16;

        pc->aad_context.data[0] ^= 1;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "unexpected E2E key context");
        pc->aad_context.data[0] ^= 1;
        pc->aad_context.len = 2;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "unexpected E2E key context");
        pc->aad_context.len = 3;

        saved = pc->nonce;
        if (s1) {
                pc->nonce.data = nonce11;
                pc->nonce.len = 11;
                expect_open_error(s, E2E_STREAM_STDIN, m->data, "E2E AES-GCM nonce must be 12 bytes");
                pc->nonce.len = 0;
                expect_open_error(s, E2E_STREAM_STDIN, m->data, "E2E AES-GCM nonce must be 12 bytes");
        } else {
                pc->nonce.data = nonce12;
                pc->nonce.len = 12;
                expect_open_error(s, E2E_STREAM_STDIN, m->data, "E2E AES-GCM nonce must be 0 bytes");
        }
        pc->nonce = saved;

        /* Anything bound by the AEAD: ciphertext, tag, nonce, length. */
        saved_byte = ep->ciphertext.data[0];
        ep->ciphertext.data[0] ^= 1;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "decrypt E2E stdin payload: " AUTH_FAILED);
        ep->ciphertext.data[0] = saved_byte;
        ep->ciphertext.data[ep->ciphertext.len - 1] ^= 1;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "decrypt E2E stdin payload: " AUTH_FAILED);
        ep->ciphertext.data[ep->ciphertext.len - 1] ^= 1;
        if (s1) {
                pc->nonce.data[0] ^= 1;
                expect_open_error(s, E2E_STREAM_STDIN, m->data, "decrypt E2E stdin payload: " AUTH_FAILED);
                pc->nonce.data[0] ^= 1;
        }
        ep->plaintext_length = 5;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "decrypt E2E stdin payload: " AUTH_FAILED);
        ep->plaintext_length = 6;
        saved = ep->ciphertext;
        ep->ciphertext.len = s1 ? 15 : 27;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "decrypt E2E stdin payload: " AUTH_FAILED);
        ep->ciphertext.len = 0;
        expect_open_error(s, E2E_STREAM_STDIN, m->data, "decrypt E2E stdin payload: " AUTH_FAILED);
        ep->ciphertext = saved;
        ck_assert_ptr_null(open_text(s, E2E_STREAM_STDIN, m->data, "secret", 6));

        /* A sender that authenticates a wrong plaintext_length. */
        {
                uint8_t *aad = NULL, ct[12 + 6 + 16], nonce[12];
                size_t aad_len = 0, off = s1 ? 0 : 12;

                randombytes_buf(nonce, sizeof(nonce));
                ck_assert_int_eq(e2e_payload_aad(E2E_STREAM_STDIN, ps, kid, 16, (const uint8_t *) "ctx", 3,
                                                 s1 ? nonce : NULL, s1 ? 12 : 0, 5, &aad, &aad_len),
                                 0);
                memcpy(ct, nonce, 12);
                ck_assert_int_eq(hpke_aead_seal(HPKE_AEAD_AES_256_GCM, key, nonce, aad, aad_len,
                                                (const uint8_t *) "secret", 6, ct + off),
                                 0);
                free(aad);
                saved = ep->ciphertext;
                ep->ciphertext.data = ct;
                ep->ciphertext.len = off + 6 + 16;
                ep->plaintext_length = 5;
                if (s1)
                        memcpy(pc->nonce.data, nonce, 12);
                expect_open_error(s, E2E_STREAM_STDIN, m->data,
                                  "E2E stdin payload length mismatch: got 6 want 5");
                ep->ciphertext = saved;
        }

        /* Buffers. */
        {
                uint8_t small[5];
                size_t n = 0;

                ck_assert_uint_eq(e2e_open_data_max(s, m->data), 6);
                ck_assert_int_eq(e2e_open_data(s, E2E_STREAM_STDIN, m->data, small, sizeof(small), &n, NULL),
                                 -ENOBUFS);
                ck_assert_int_eq(e2e_seal_data(s, E2E_STREAM_STDIN, (const uint8_t *) "x", 1, small,
                                               sizeof(small), &n),
                                 -ENOBUFS);
                ck_assert_int_eq(e2e_seal_data(s, 3, (const uint8_t *) "x", 1, small, sizeof(small), &n),
                                 -EINVAL);
        }
}

START_TEST(test_tamper_suite1) {
        tamper_cases(ENCKEY_SUITE_X25519);
}
END_TEST

START_TEST(test_tamper_suite3) {
        tamper_cases(ENCKEY_SUITE_P256);
}
END_TEST

/* ---- Spec 7.7: grant checks with their texts ---- */

START_TEST(test_grant_open_errors) {
        _cleanup_(enckey_freep) enckey *server = NULL, *pub = NULL, *other = NULL, *p256 = NULL;
        _cleanup_(e2e_grant_freep) Webtty__SessionKeyGrant *g = NULL;
        _cleanup_(e2e_session_freep) e2e_session *client = NULL, *srv = NULL;
        _cleanup_free_ char *err = NULL;
        const enckey *recipients[1];
        ProtobufCBinaryData saved;
        uint8_t b;

        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_X25519, &server), 0);
        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_X25519, &other), 0);
        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_P256, &p256), 0);
        pub = public_half(server);
        recipients[0] = pub;
        ck_assert_int_eq(e2e_grant_build(recipients, 1, (const uint8_t *) "kc", 2, NULL, &g, &client, &err),
                         0);

        expect_grant_error(NULL, server, "missing E2E session key grant");
        g->key_envelope_suite = 2;
        g->payload_suite = 2;
        expect_grant_error(g, server, "unsupported E2E key envelope suite 2");
        g->key_envelope_suite = 0;
        expect_grant_error(g, server, "unsupported E2E key envelope suite 0");
        g->key_envelope_suite = 1;
        g->payload_suite = 3;
        expect_grant_error(g, server, "E2E payload suite 3 does not match key envelope suite 1");
        g->payload_suite = 1;
        g->payload_key_id.len = 15;
        expect_grant_error(g, server, "E2E payload key id must be 16 bytes");
        g->payload_key_id.len = 16;
        expect_grant_error(g, p256, "E2E identity suite 3 does not match key envelope suite 1");
        expect_grant_error(g, pub, "E2E identity private key must be 32 bytes");
        expect_grant_error(g, other,
                           "E2E session key grant does not contain a key envelope for this identity");

        b = g->key_envelopes[0]->wrapped_key.data[0];
        g->key_envelopes[0]->wrapped_key.data[0] ^= 1;
        expect_grant_error(g, server, "unwrap E2E payload key: " AUTH_FAILED);
        g->key_envelopes[0]->wrapped_key.data[0] = b;
        g->key_envelopes[0]->wrapped_key.len = 10;
        expect_grant_error(g, server, "unwrap E2E payload key: " AUTH_FAILED);
        g->key_envelopes[0]->wrapped_key.len = 48;
        g->key_context.data[0] ^= 1; /* info and AAD both bind it */
        expect_grant_error(g, server, "unwrap E2E payload key: " AUTH_FAILED);
        g->key_context.data[0] ^= 1;
        g->key_envelopes[0]->encapsulated_key.data[0] ^= 1;
        expect_grant_error(g, server, "unwrap E2E payload key: " AUTH_FAILED);
        g->key_envelopes[0]->encapsulated_key.data[0] ^= 1;
        saved = g->key_envelopes[0]->encapsulated_key;
        g->key_envelopes[0]->encapsulated_key.len = 31;
        expect_grant_error(
                g, server,
                "unwrap E2E payload key: create E2E HPKE recipient: crypto/ecdh: invalid public key");
        {
                uint8_t zero[32] = {0};

                g->key_envelopes[0]->encapsulated_key.data = zero;
                g->key_envelopes[0]->encapsulated_key.len = 32;
                expect_grant_error(
                        g, server,
                        "unwrap E2E payload key: create E2E HPKE recipient: crypto/ecdh: bad X25519 remote "
                        "ECDH input: low order point");
        }
        g->key_envelopes[0]->encapsulated_key = saved;

        /* Untouched, it opens. */
        ck_assert_int_eq(e2e_grant_open(g, server, &srv, &err), 0);
}
END_TEST

START_TEST(test_grant_open_errors_suite3) {
        _cleanup_(enckey_freep) enckey *server = NULL, *pub = NULL;
        _cleanup_(e2e_grant_freep) Webtty__SessionKeyGrant *g = NULL;
        _cleanup_(e2e_session_freep) e2e_session *client = NULL;
        _cleanup_free_ char *err = NULL;
        const enckey *recipients[1];

        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_P256, &server), 0);
        pub = public_half(server);
        recipients[0] = pub;
        ck_assert_int_eq(e2e_grant_build(recipients, 1, NULL, 0, NULL, &g, &client, &err), 0);
        g->key_envelopes[0]->encapsulated_key.data[0] = 0x02; /* not uncompressed */
        expect_grant_error(
                g, server,
                "unwrap E2E payload key: parse E2E P-256 ephemeral key: crypto/ecdh: invalid public key");
        g->key_envelopes[0]->encapsulated_key.data[0] = 0x04;
        g->key_envelopes[0]->encapsulated_key.data[64] ^= 1; /* off the curve */
        expect_grant_error(
                g, server,
                "unwrap E2E payload key: parse E2E P-256 ephemeral key: crypto/ecdh: invalid public key");
        g->key_envelopes[0]->encapsulated_key.data[64] ^= 1;
        g->key_envelopes[0]->wrapped_key.data[0] ^= 1; /* the nonce */
        expect_grant_error(g, server, "unwrap E2E payload key: " AUTH_FAILED);
        g->key_envelopes[0]->wrapped_key.data[0] ^= 1;
        g->key_envelopes[0]->wrapped_key.len = 27;
        expect_grant_error(g, server, "unwrap E2E payload key: " AUTH_FAILED);
}
END_TEST

/* A grant whose envelope authenticates but carries a 31-byte key. */
START_TEST(test_grant_wrong_key_length) {
        _cleanup_(enckey_freep) enckey *server = NULL;
        _cleanup_(e2e_session_freep) e2e_session *s = NULL;
        _cleanup_free_ uint8_t *info = NULL, *aad = NULL;
        _cleanup_free_ char *err = NULL;
        uint8_t kid[16] = {1}, enc[32], wrapped[31 + 16], key[31] = {2};
        size_t info_len = 0, aad_len = 0;
        Webtty__SessionKeyGrant g = WEBTTY__SESSION_KEY_GRANT__INIT;
        Webtty__KeyEnvelope e = WEBTTY__KEY_ENVELOPE__INIT, *ev[] = {&e};

        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_X25519, &server), 0);
        ck_assert_int_eq(e2e_wrap_info(1, 1, kid, 16, NULL, 0, &info, &info_len), 0);
        ck_assert_int_eq(e2e_wrap_aad(1, 1, server->id, 16, kid, 16, NULL, 0, &aad, &aad_len), 0);
        ck_assert_int_eq(hpke_seal_base(HPKE_AEAD_AES_256_GCM, server->pub, info, info_len, aad, aad_len,
                                        key, 31, NULL, enc, wrapped),
                         0);
        g.payload_suite = 1;
        g.key_envelope_suite = 1;
        g.payload_key_id.data = kid;
        g.payload_key_id.len = 16;
        g.n_key_envelopes = 1;
        g.key_envelopes = ev;
        e.recipient_key_id.data = server->id;
        e.recipient_key_id.len = 16;
        e.encapsulated_key.data = enc;
        e.encapsulated_key.len = 32;
        e.wrapped_key.data = wrapped;
        e.wrapped_key.len = sizeof(wrapped);
        ck_assert_int_lt(e2e_grant_open(&g, server, &s, &err), 0);
        ck_assert_str_eq(err, "E2E unwrapped payload key must be 32 bytes");
}
END_TEST

START_TEST(test_grant_build_errors) {
        _cleanup_(enckey_freep) enckey *x = NULL, *p = NULL;
        Webtty__SessionKeyGrant *g = NULL;
        e2e_session *s = NULL;
        const enckey *mixed[2];
        char *err = NULL;

        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_X25519, &x), 0);
        ck_assert_int_eq(enckey_generate(ENCKEY_SUITE_P256, &p), 0);
        mixed[0] = x;
        mixed[1] = p;
        ck_assert_int_lt(e2e_grant_build(mixed, 2, NULL, 0, NULL, &g, &s, &err), 0);
        ck_assert_str_eq(err, "E2E recipients use multiple key envelope suites");
        free(err);
        err = NULL;
        ck_assert_int_lt(e2e_grant_build(mixed, 0, NULL, 0, NULL, &g, &s, &err), 0);
        ck_assert_str_eq(err, "E2E client payload crypto requires at least one recipient");
        free(err);
        ck_assert_ptr_null(g);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_suites) {
        uint32_t p = 0;
        char *err = NULL;

        ck_assert_int_eq(e2e_payload_suite_for_envelope(1, &p, NULL), 0);
        ck_assert_uint_eq(p, 1);
        ck_assert_int_eq(e2e_payload_suite_for_envelope(3, &p, NULL), 0);
        ck_assert_uint_eq(p, 3);
        ck_assert_int_lt(e2e_payload_suite_for_envelope(2, &p, &err), 0);
        ck_assert_str_eq(err, "unsupported E2E key envelope suite 2");
        free(err);
        err = NULL;
        ck_assert_int_lt(e2e_validate_suites(2, 1, &err), 0);
        ck_assert_str_eq(err, "E2E payload suite 2 does not match key envelope suite 1");
        free(err);
        ck_assert_int_eq(e2e_validate_suites(3, 3, NULL), 0);
        ck_assert_str_eq(e2e_stream_name(E2E_STREAM_STDERR), "stderr");
        ck_assert_ptr_null(e2e_stream_name(3));
}
END_TEST

/* ---- Default key context (spec 7.3) ---- */

START_TEST(test_default_key_context) {
        uint8_t kid[16];
        e2e_key_context_recipient r[2] = {};
        char *json = NULL, *err = NULL;
        size_t len = 0;

        unhex_into(A4_1_ID, kid, 16);
        r[0].key_id = kid;
        r[0].kind = " server ";
        r[0].id = "srv-1";
        ck_assert_int_eq(e2e_default_key_context(" ws ", "", NULL, r, 1, &json, &len, &err), 0);
        ck_assert_str_eq(json,
                         "{\"v\":1,\"type\":\"rstream.webtty.session_key_grant\",\"workspace_id\":\"ws\","
                         "\"recipients\":[{\"key_id\":\"bwQL-7ryWbO_hDcq4EGeCg\",\"kind\":\"server\","
                         "\"id\":\"srv-1\"}]}");
        ck_assert_uint_eq(len, strlen(json));
        free(json);

        r[0].kind = NULL;
        r[0].id = "  ";
        r[1].key_id = kid;
        r[1].kind = "user";
        r[1].id = "<a&b>\"\\\n\x01\xe2\x80\xa8\xff";
        ck_assert_int_eq(e2e_default_key_context("w", "p", "s", r, 2, &json, &len, &err), 0);
        ck_assert_str_eq(
                json,
                "{\"v\":1,\"type\":\"rstream.webtty.session_key_grant\",\"workspace_id\":\"w\","
                "\"project_id\":\"p\",\"server_id\":\"s\",\"recipients\":[{\"key_id\":"
                "\"bwQL-7ryWbO_hDcq4EGeCg\",\"kind\":\"public_key\",\"id\":\"bwQL-7ryWbO_hDcq4EGeCg\"},"
                "{\"key_id\":\"bwQL-7ryWbO_hDcq4EGeCg\",\"kind\":\"user\",\"id\":"
                "\"\\u003ca\\u0026b\\u003e\\\"\\\\\\n\\u0001\\u2028\\ufffd\"}]}");
        free(json);

        ck_assert_int_eq(e2e_default_key_context(NULL, NULL, NULL, NULL, 0, &json, &len, &err), 0);
        ck_assert_str_eq(json, "{\"v\":1,\"type\":\"rstream.webtty.session_key_grant\",\"recipients\":[]}");
        free(json);

        r[0].kind = "server";
        r[0].id = "";
        ck_assert_int_lt(e2e_default_key_context(NULL, NULL, NULL, r, 1, &json, &len, &err), 0);
        ck_assert_str_eq(err, "E2E typed recipients require both kind and id");
        free(err);
        err = NULL;
        r[0].kind = "robot";
        r[0].id = "x";
        ck_assert_int_lt(e2e_default_key_context(NULL, NULL, NULL, r, 1, &json, &len, &err), 0);
        ck_assert_str_eq(err, "unsupported E2E recipient kind \"robot\"");
        free(err);
}
END_TEST

/* The grant built without a key context carries Go's default. */
START_TEST(test_grant_default_context) {
        _cleanup_(enckey_freep) enckey *server = a4_server_key(ENCKEY_SUITE_X25519),
                                       *pub = public_half(server);
        _cleanup_(e2e_grant_freep) Webtty__SessionKeyGrant *g = NULL;
        _cleanup_(e2e_session_freep) e2e_session *c = NULL;
        const enckey *recipients[] = {pub};
        const char *want =
                "{\"v\":1,\"type\":\"rstream.webtty.session_key_grant\",\"recipients\":[{\"key_id\":"
                "\"bwQL-7ryWbO_hDcq4EGeCg\",\"kind\":\"public_key\",\"id\":\"bwQL-7ryWbO_hDcq4EGeCg\"}]}";
        const uint8_t *kc;
        size_t kc_len;

        ck_assert_int_eq(e2e_grant_build(recipients, 1, NULL, 0, NULL, &g, &c, NULL), 0);
        ck_assert_uint_eq(g->key_context.len, strlen(want));
        ck_assert_int_eq(memcmp(g->key_context.data, want, strlen(want)), 0);
        e2e_session_key_context(c, &kc, &kc_len);
        ck_assert_uint_eq(kc_len, strlen(want));
        ck_assert_int_eq(memcmp(kc, want, kc_len), 0);
}
END_TEST

/* ---- The hot-path encoder against protobuf-c ---- */

static int nonce_fill(void *userdata, e2e_rand_purpose purpose, uint8_t *buf, size_t len) {
        memcpy(buf, userdata, len);
        return 0;
}

static void check_encoding(uint32_t suite, size_t kc_len, e2e_stream stream, size_t len) {
        _cleanup_(e2e_session_freep) e2e_session *s = NULL;
        _cleanup_(wmsg_freep) Webtty__Message *m = NULL;
        _cleanup_free_ uint8_t *pt = malloc(len + 1), *kc = malloc(kc_len + 1), *buf = NULL,
                               *repacked = NULL, *aad = NULL, *ct = NULL;
        uint8_t key[32], kid[16], nonce[12];
        e2e_rng rng = {nonce_fill, nonce};
        size_t n = 0, rlen = 0, aad_len = 0, off = suite == 1 ? 0 : 12;

        randombytes_buf(key, sizeof(key));
        randombytes_buf(kid, sizeof(kid));
        randombytes_buf(nonce, sizeof(nonce));
        randombytes_buf(pt, len);
        randombytes_buf(kc, kc_len);
        ck_assert_int_eq(e2e_session_new(suite, suite, key, kid, kc, kc_len, &s), 0);
        e2e_session_set_rng(s, &rng);
        ck_assert_int_eq(e2e_seal_data_alloc(s, stream, pt, len, &buf, &n), 0);
        /* Sealing in place (plaintext already at out + prefix) gives the same bytes. */
        {
                size_t pre = e2e_seal_data_prefix(s, stream, len), n2 = 0;
                _cleanup_free_ uint8_t *inplace = malloc(n);

                ck_assert_uint_gt(pre, 0);
                ck_assert_ptr_nonnull(inplace);
                memcpy(inplace + pre, pt, len);
                ck_assert_int_eq(e2e_seal_data(s, stream, inplace + pre, len, inplace, n, &n2), 0);
                ck_assert_uint_eq(n2, n);
                ck_assert_int_eq(memcmp(inplace, buf, n), 0);
        }
        m = unpack(buf, n);
        /* protobuf-c writes the same Message to the same bytes. */
        ck_assert_int_eq(wmsg_pack(m, &repacked, &rlen), 0);
        ck_assert_uint_eq(rlen, n);
        ck_assert_int_eq(memcmp(repacked, buf, n), 0);
        /* The ciphertext is AES-256-GCM under the spec 7.8 AAD. */
        ck_assert_int_eq(e2e_payload_aad(stream, suite, kid, 16, kc, kc_len, suite == 1 ? nonce : NULL,
                                         suite == 1 ? 12 : 0, (uint32_t) len, &aad, &aad_len),
                         0);
        ct = malloc(off + len + 16);
        memcpy(ct, nonce, 12 < off + len + 16 ? 12 : 0);
        ck_assert_int_eq(hpke_aead_seal(HPKE_AEAD_AES_256_GCM, key, nonce, aad, aad_len, pt, len, ct + off),
                         0);
        ck_assert_uint_eq(m->data->encrypted_data->ciphertext.len, off + len + 16);
        ck_assert_int_eq(memcmp(m->data->encrypted_data->ciphertext.data, ct, off + len + 16), 0);
        ck_assert_ptr_null(open_text(s, stream, m->data, pt, len));
}

START_TEST(test_seal_encoding) {
        static const size_t lens[] = {0,   1,   2,    95,    96,    100,   111,   112,
                                      127, 128, 4096, 16351, 16352, 16383, 16384, 65536};
        static const size_t kcs[] = {0, 1, 100, 127, 128, 300};

        for (uint32_t suite = 1; suite <= 3; suite += 2)
                for (int st = 0; st < 3; st++)
                        for (size_t i = 0; i < ELEMENTSOF(lens); i++)
                                for (size_t k = 0; k < ELEMENTSOF(kcs); k++)
                                        check_encoding(suite, kcs[k], (e2e_stream) st, lens[i]);
}
END_TEST

static Suite *e2e_suite(void) {
        Suite *s = suite_create("crypto-e2e");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_a4_context_strings);
        tcase_add_test(tc, test_a4_suite1);
        tcase_add_test(tc, test_a4_suite3);
        tcase_add_test(tc, test_round_trip_suite1);
        tcase_add_test(tc, test_round_trip_suite3);
        tcase_add_test(tc, test_tamper_suite1);
        tcase_add_test(tc, test_tamper_suite3);
        tcase_add_test(tc, test_grant_open_errors);
        tcase_add_test(tc, test_grant_open_errors_suite3);
        tcase_add_test(tc, test_grant_wrong_key_length);
        tcase_add_test(tc, test_grant_build_errors);
        tcase_add_test(tc, test_suites);
        tcase_add_test(tc, test_default_key_context);
        tcase_add_test(tc, test_grant_default_context);
        tcase_add_test(tc, test_seal_encoding);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(e2e_suite());
        int failed;

        if (sodium_init() < 0)
                return EXIT_FAILURE;
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
