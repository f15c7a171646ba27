/* Unit tests for lib/auth.c: canonical protobuf hashing (spec A.2), the
 * transcript vectors of the Go tests (A.1), ServerHello build -> client
 * verification and every downgrade rule of 6.3 with its text, ClientProof
 * build -> server verification and every failure of 6.6 with its code and
 * text, the time window (6.7, A.3), and the replay cache. */

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "crypto-test-util.h"
#include "e2e.h"
#include "enckey.h"
#include "macro.h"
#include "sigkey.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sigkey, sigkey_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(enckey, enckey_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(e2e_session, e2e_session_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__SessionKeyGrant, e2e_grant_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__ServerHello, auth_server_hello_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__ClientProof, auth_client_proof_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(auth_replay_cache, auth_replay_cache_free);

#define A2_CONFIG "0a0218011202736812032d6c63120677686f616d69"
#define A2_CONFIG_HASH "f3dd970cccd7f519f091d7b3fc5a0823a9d104945e52492ff5e3c282ad2af89d"
#define A2_GRANT "0801120e7061796c6f61642d6b65792d69642801"
#define A2_GRANT_HASH "821b17e3653044b1dfbea3091d40eea28b2fdcb8bf492508a083820d8d08782a"
#define EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define A1_CLIENT_HASH "2843556f21858fe77a53578f9e2cf46678178da7721192742162b620e3831bc6"
#define A1_SERVER_HASH "b83cbed58eeceda39ad5d0ab93d750d1cddb03a9995b23bbfea67272e38f813d"
#define A2_CLIENT_TRANSCRIPT                                                                                \
        "0000001d7273747265616d2d7765627474792d636c69656e742d617574682d76310000000100000009776562736f636b6" \
        "5"                                                                                                 \
        "740000000b776f726b73706163652d310000000970726f6a6563742d31000000087365727665722d31000000097365737" \
        "3"                                                                                                 \
        "696f6e2d31000000157365727665722d7369676e696e672d6b65792d6964000000187365727665722d656e63727970746" \
        "9"                                                                                                 \
        "6f6e2d6b65792d6964000000076e6f6e63652d3100000002000000010000000100000020821b17e3653044b1dfbea3091" \
        "d"                                                                                                 \
        "40eea28b2fdcb8bf492508a083820d8d08782a00000020f3dd970cccd7f519f091d7b3fc5a0823a9d104945e52492ff5e" \
        "3"                                                                                                 \
        "c282ad2af89d000000000000000000000006757365722d3100000015636c69656e742d7369676e696e672d6b65792d696" \
        "4"                                                                                                 \
        "0000000000000014323032362d30362d31325431303a30303a30305a00000014323032362d30362d31325431303a30313" \
        "a"                                                                                                 \
        "30305a"
#define A2_SERVER_TRANSCRIPT                                                                                \
        "0000001d7273747265616d2d7765627474792d7365727665722d617574682d76310000000100000009776562736f636b6" \
        "5"                                                                                                 \
        "740000000b776f726b73706163652d310000000970726f6a6563742d31000000087365727665722d31000000097365737" \
        "3"                                                                                                 \
        "696f6e2d31000000157365727665722d7369676e696e672d6b65792d6964000000187365727665722d656e63727970746" \
        "9"                                                                                                 \
        "6f6e2d6b65792d6964000000076e6f6e63652d3100000002000000010000000100000001000000010000000100000001"

#define B(s)                                                                                                \
        { (const uint8_t *) (s), sizeof(s) - 1 }

/* ---- A.2: canonical encoding ---- */

static Webtty__Config *a2_config(void) {
        static Webtty__Config c = WEBTTY__CONFIG__INIT;
        static Webtty__Options o = WEBTTY__OPTIONS__INIT;
        static char *args[] = {"sh", "-lc", "whoami"};

        o.send_heartbeat = true;
        c.options = &o;
        c.n_cmd_args = 3;
        c.cmd_args = args;
        return &c;
}

static Webtty__SessionKeyGrant *a2_grant(void) {
        static Webtty__SessionKeyGrant g = WEBTTY__SESSION_KEY_GRANT__INIT;

        g.payload_suite = 1;
        g.payload_key_id.data = (uint8_t *) "payload-key-id";
        g.payload_key_id.len = 14;
        g.key_envelope_suite = 1;
        return &g;
}

static void expect_canonical(const ProtobufCMessage *m, const char *hex) {
        _cleanup_free_ uint8_t *b = NULL;
        size_t len = 0;

        ck_assert_int_eq(auth_canonical_pack(m, &b, &len), 0);
        ck_assert_hex_eq(b, len, hex);
}

START_TEST(test_a2_canonical) {
        uint8_t h[32];

        expect_canonical(&a2_config()->base, A2_CONFIG);
        ck_assert_int_eq(auth_hash_config(a2_config(), h), 0);
        ck_assert_hex_eq(h, 32, A2_CONFIG_HASH);
        expect_canonical(&a2_grant()->base, A2_GRANT);
        ck_assert_int_eq(auth_hash_grant(a2_grant(), h), 0);
        ck_assert_hex_eq(h, 32, A2_GRANT_HASH);
        ck_assert_int_eq(auth_hash_config(NULL, h), 0);
        ck_assert_hex_eq(h, 32, EMPTY_HASH);
        ck_assert_int_eq(auth_hash_grant(NULL, h), 0);
        ck_assert_hex_eq(h, 32, EMPTY_HASH);
}
END_TEST

/* Decoded from bytes with unknown fields (at the top and inside
 * sub-messages) and fields out of order, the canonical re-encoding is the
 * Go one: known fields only, in field-number order. */
START_TEST(test_canonical_drops_unknown) {
        _cleanup_free_ uint8_t *wire = NULL;
        Webtty__Config *c;
        Webtty__SessionKeyGrant *g;
        size_t len = 0;
        uint8_t h[32];

        /* cmd_args "sh"; unknown 31 = 1; options{send_heartbeat, unknown 20 =
         * "x"}; cmd_args "-lc", "whoami". */
        wire = unhex("12027368"
                     "f80101"
                     "0a061801a2010178"
                     "12032d6c63"
                     "120677686f616d69",
                     &len);
        c = webtty__config__unpack(NULL, len, wire);
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_gt(c->base.n_unknown_fields + c->options->base.n_unknown_fields, 0);
        expect_canonical(&c->base, A2_CONFIG);
        ck_assert_int_eq(auth_hash_config(c, h), 0);
        ck_assert_hex_eq(h, 32, A2_CONFIG_HASH);
        /* The original keeps its unknown fields. */
        ck_assert_uint_eq(c->base.n_unknown_fields, 1);
        ck_assert_uint_eq(c->options->base.n_unknown_fields, 1);
        webtty__config__free_unpacked(c, NULL);
        free(wire);

        /* A grant whose KeyEnvelope has an unknown field, fields shuffled. */
        wire = unhex("1a050a01614805"
                     "0801"
                     "2801"
                     "120e7061796c6f61642d6b65792d6964",
                     &len);
        g = webtty__session_key_grant__unpack(NULL, len, wire);
        ck_assert_ptr_nonnull(g);
        expect_canonical(&g->base, "0801120e7061796c6f61642d6b65792d69641a030a01612801");
        webtty__session_key_grant__free_unpacked(g, NULL);
}
END_TEST

/* Spec 3.2: set sub-messages and oneof members are written even when empty
 * or zero. */
START_TEST(test_canonical_presence) {
        Webtty__Config c = WEBTTY__CONFIG__INIT;
        Webtty__Options o = WEBTTY__OPTIONS__INIT;
        Webtty__Username u = WEBTTY__USERNAME__INIT;
        Webtty__Workdir w = WEBTTY__WORKDIR__INIT;
        Webtty__Environment e = WEBTTY__ENVIRONMENT__INIT, *ev[] = {&e};

        c.options = &o;
        expect_canonical(&c.base, "0a00");
        c.username = &u;
        u.payload_case = WEBTTY__USERNAME__PAYLOAD_ID;
        u.id = 0;
        expect_canonical(&c.base, "0a002a021000");
        u.payload_case = WEBTTY__USERNAME__PAYLOAD_NAME;
        u.name = "";
        expect_canonical(&c.base, "0a002a020a00");
        c.workdir = &w;
        c.n_env_vars = 1;
        c.env_vars = ev;
        expect_canonical(&c.base, "0a001a0022002a020a00");
}
END_TEST

/* ---- A.1: transcripts ---- */

static auth_client_transcript a1_client(uint8_t grant_hash[32], uint8_t config_hash[32]) {
        ck_assert_int_eq(auth_hash_grant(a2_grant(), grant_hash), 0);
        ck_assert_int_eq(auth_hash_config(a2_config(), config_hash), 0);
        return (auth_client_transcript){
                .protocol_version = 1,
                .transport = "websocket",
                .workspace_id = "workspace-1",
                .project_id = "project-1",
                .server_id = "server-1",
                .session_id = "session-1",
                .server_signing_key_id = B("server-signing-key-id"),
                .server_encryption_key_id = B("server-encryption-key-id"),
                .server_nonce = B("nonce-1"),
                .auth_requirement = 2,
                .payload_suite = 1,
                .key_envelope_suite = 1,
                .session_key_grant_hash = {grant_hash, 32},
                .command_config_hash = {config_hash, 32},
                .requested_role = "",
                .client_principal_id = "user-1",
                .client_signing_key_id = B("client-signing-key-id"),
                .issued_at = "2026-06-12T10:00:00Z",
                .expires_at = "2026-06-12T10:01:00Z",
        };
}

static const uint32_t one[] = {1};

static auth_server_transcript a1_server(void) {
        return (auth_server_transcript){
                .protocol_version = 1,
                .transport = "websocket",
                .workspace_id = "workspace-1",
                .project_id = "project-1",
                .server_id = "server-1",
                .session_id = "session-1",
                .server_signing_key_id = B("server-signing-key-id"),
                .server_encryption_key_id = B("server-encryption-key-id"),
                .server_nonce = B("nonce-1"),
                .auth_requirement = 2,
                .payload_suites = one,
                .n_payload_suites = 1,
                .key_envelope_suites = one,
                .n_key_envelope_suites = 1,
                .signature_suites = one,
                .n_signature_suites = 1,
        };
}

START_TEST(test_a1_client_transcript) {
        uint8_t gh[32], ch[32], h[32], h2[32];
        auth_client_transcript t = a1_client(gh, ch), t2;
        _cleanup_free_ uint8_t *bytes = NULL;
        size_t len = 0;

        ck_assert_int_eq(auth_client_transcript_bytes(&t, &bytes, &len), 0);
        ck_assert_hex_eq(bytes, len, A2_CLIENT_TRANSCRIPT);
        ck_assert_int_eq(auth_client_transcript_hash(&t, h), 0);
        ck_assert_hex_eq(h, 32, A1_CLIENT_HASH);

        /* Strings are trimmed (LPS). */
        t2 = t;
        t2.transport = " websocket\t";
        t2.client_principal_id = "\xc2\xa0user-1 ";
        ck_assert_int_eq(auth_client_transcript_hash(&t2, h2), 0);
        ck_assert_int_eq(memcmp(h, h2, 32), 0);

        /* Every bound field changes the hash. */
        for (int field = 0; field < 21; field++) {
                t2 = t;
                switch (field) {
                case 0:
                        t2.protocol_version = 2;
                        break;
                case 1:
                        t2.transport = "plain";
                        break;
                case 2:
                        t2.workspace_id = "workspace-2";
                        break;
                case 3:
                        t2.project_id = "project-2";
                        break;
                case 4:
                        t2.server_id = "server-2";
                        break;
                case 5:
                        t2.session_id = "session-2";
                        break;
                case 6:
                        t2.server_signing_key_id = (auth_bytes) B("other");
                        break;
                case 7:
                        t2.server_encryption_key_id = (auth_bytes) B("other");
                        break;
                case 8:
                        t2.server_nonce = (auth_bytes) B("nonce-2");
                        break;
                case 9:
                        t2.auth_requirement = 1;
                        break;
                case 10:
                        t2.payload_suite = 3;
                        break;
                case 11:
                        t2.key_envelope_suite = 3;
                        break;
                case 12:
                        t2.session_key_grant_hash = (auth_bytes){ch, 32};
                        break;
                case 13:
                        t2.command_config_hash = (auth_bytes){gh, 32};
                        break;
                case 14:
                        t2.attach_grant_hash = (auth_bytes){gh, 32};
                        break;
                case 15:
                        t2.requested_role = "spectator";
                        break;
                case 16:
                        t2.client_principal_id = "user-2";
                        break;
                case 17:
                        t2.client_signing_key_id = (auth_bytes) B("other");
                        break;
                case 18:
                        t2.client_credential_hash = (auth_bytes){gh, 32};
                        break;
                case 19:
                        t2.issued_at = "2026-06-12T10:00:01Z";
                        break;
                case 20:
                        t2.expires_at = "2026-06-12T10:00:30Z";
                        break;
                }
                ck_assert_int_eq(auth_client_transcript_hash(&t2, h2), 0);
                ck_assert_msg(memcmp(h, h2, 32) != 0, "field %d is not bound", field);
        }
}
END_TEST

START_TEST(test_a1_server_transcript) {
        auth_server_transcript t = a1_server(), t2;
        static const uint32_t three[] = {3}, two_ones[] = {1, 1};
        _cleanup_free_ uint8_t *bytes = NULL;
        uint8_t h[32], h2[32];
        size_t len = 0;

        ck_assert_int_eq(auth_server_transcript_bytes(&t, &bytes, &len), 0);
        ck_assert_hex_eq(bytes, len, A2_SERVER_TRANSCRIPT);
        ck_assert_int_eq(auth_server_transcript_hash(&t, h), 0);
        ck_assert_hex_eq(h, 32, A1_SERVER_HASH);
        for (int field = 0; field < 14; field++) {
                t2 = t;
                switch (field) {
                case 0:
                        t2.protocol_version = 2;
                        break;
                case 1:
                        t2.transport = "webtransport";
                        break;
                case 2:
                        t2.workspace_id = NULL;
                        break;
                case 3:
                        t2.project_id = "";
                        break;
                case 4:
                        t2.server_id = "s";
                        break;
                case 5:
                        t2.session_id = "x";
                        break;
                case 6:
                        t2.server_signing_key_id = (auth_bytes) B("x");
                        break;
                case 7:
                        t2.server_encryption_key_id = (auth_bytes) B("x");
                        break;
                case 8:
                        t2.server_nonce = (auth_bytes) B("x");
                        break;
                case 9:
                        t2.auth_requirement = 1;
                        break;
                case 10:
                        t2.payload_suites = three;
                        break;
                case 11:
                        t2.key_envelope_suites = three;
                        break;
                case 12:
                        t2.signature_suites = two_ones;
                        t2.n_signature_suites = 2;
                        break;
                case 13:
                        t2.n_payload_suites = 0;
                        break;
                }
                ck_assert_int_eq(auth_server_transcript_hash(&t2, h2), 0);
                ck_assert_msg(memcmp(h, h2, 32) != 0, "field %d is not bound", field);
        }
}
END_TEST

/* ---- Endpoints used by the handshake tests ---- */

typedef struct endpoint {
        sigkey *sig;
        enckey *enc;
        uint8_t spki[SIGKEY_SPKI_LEN];
        uint8_t sig_id[SIGKEY_ID_LEN];
        auth_identity id;
} endpoint;

static void endpoint_init(endpoint *e, enckey_suite suite) {
        ck_assert_int_eq(sigkey_generate(&e->sig), 0);
        ck_assert_int_eq(enckey_generate(suite, &e->enc), 0);
        ck_assert_int_eq(sigkey_spki(e->sig, e->spki), 0);
        sigkey_id_from_spki(e->spki, sizeof(e->spki), e->sig_id);
        e->id = (auth_identity){e->sig, e->sig_id, e->spki, e->enc};
}

static void endpoint_done(endpoint *e) {
        sigkey_free(e->sig);
        enckey_free(e->enc);
}

static auth_pinned_identity pinned_for(const endpoint *e) {
        auth_pinned_identity p = {};

        p.key_envelope_suite = 0; /* inferred */
        memcpy(p.encryption_key_id, e->enc->id, ENCKEY_ID_LEN);
        memcpy(p.encryption_public_key, e->enc->pub, e->enc->pub_len);
        p.encryption_public_key_len = e->enc->pub_len;
        memcpy(p.signing_key_id, e->sig_id, SIGKEY_ID_LEN);
        memcpy(p.signing_public_key, e->spki, SIGKEY_SPKI_LEN);
        return p;
}

static const auth_server_config server_cfg = {
        .transport = "websocket",
        .session_id = "0123456789abcdef01234567",
        .workspace_id = " ws-1 ",
        .project_id = "",
        .server_id = "srv-1",
        .require_client_proof = true,
};

/* ---- ServerHello ---- */

START_TEST(test_server_hello_build_verify) {
        for (int suite = 1; suite <= 3; suite += 2) {
                _cleanup_(auth_server_hello_freep) Webtty__ServerHello *h = NULL;
                endpoint srv;
                auth_pinned_identity pin;
                uint8_t nonce[32];
                char *err = NULL;

                endpoint_init(&srv, suite);
                pin = pinned_for(&srv);
                ck_assert_int_eq(auth_server_hello_build(&srv.id, &server_cfg, nonce, &h), 0);
                ck_assert_int_eq(h->protocol_version, 1);
                ck_assert_uint_eq(h->session_nonce.len, 32);
                ck_assert_int_eq(memcmp(h->session_nonce.data, nonce, 32), 0);
                ck_assert_int_eq(h->server_identity->key_envelope_suite, suite);
                ck_assert_int_eq(h->server_identity->signature_suite, 1);
                ck_assert_uint_eq(h->n_payload_suites, 1);
                ck_assert_int_eq(h->payload_suites[0], suite);
                ck_assert_int_eq(h->key_envelope_suites[0], suite);
                ck_assert_int_eq(h->signature_suites[0], 1);
                ck_assert_int_eq(h->auth_requirement, 2);
                ck_assert_str_eq(h->workspace_id->value, "ws-1");
                ck_assert_ptr_null(h->project_id);
                ck_assert_str_eq(h->server_id->value, "srv-1");
                ck_assert_str_eq(h->session_id, server_cfg.session_id);
                ck_assert_ptr_nonnull(h->server_proof);
                ck_assert_int_eq(auth_server_hello_verify(h, &pin, "websocket", &err), 0);
                ck_assert_ptr_null(err);
                /* It survives a trip through the wire format. */
                {
                        Webtty__Message m = WEBTTY__MESSAGE__INIT, *back;
                        uint8_t *buf;
                        size_t n;

                        m.payload_case = WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO;
                        m.server_hello = h;
                        n = webtty__message__get_packed_size(&m);
                        buf = malloc(n);
                        ck_assert_uint_eq(webtty__message__pack(&m, buf), n);
                        back = webtty__message__unpack(NULL, n, buf);
                        ck_assert_ptr_nonnull(back);
                        ck_assert_int_eq(
                                auth_server_hello_verify(back->server_hello, &pin, "websocket", &err), 0);
                        webtty__message__free_unpacked(back, NULL);
                        free(buf);
                }
                endpoint_done(&srv);
        }
}
END_TEST

/* Builds a fresh hello, applies a mutation, and checks the client's verdict. */
typedef void (*hello_mutation)(Webtty__ServerHello *h, auth_pinned_identity *pin, const char **transport);

static void expect_hello(hello_mutation mutate, const char *text) {
        _cleanup_(auth_server_hello_freep) Webtty__ServerHello *h = NULL;
        const char *transport = "websocket";
        auth_pinned_identity pin;
        _cleanup_free_ char *err = NULL;
        uint8_t nonce[32];
        endpoint srv;
        int r;

        endpoint_init(&srv, ENCKEY_SUITE_X25519);
        pin = pinned_for(&srv);
        ck_assert_int_eq(auth_server_hello_build(&srv.id, &server_cfg, nonce, &h), 0);
        mutate(h, &pin, &transport);
        r = auth_server_hello_verify(h, &pin, transport, &err);
        ck_assert_int_eq(r, -EPERM);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, text);
        endpoint_done(&srv);
}

static void m_version(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->protocol_version = 0;
}
static void m_identity_suite(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->server_identity->key_envelope_suite = 2;
}
static void m_payload_two(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->payload_suites = realloc(h->payload_suites, 2 * sizeof(*h->payload_suites));
        h->payload_suites[1] = 1;
        h->n_payload_suites = 2;
}
static void m_payload_wrong(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->payload_suites[0] = 3;
}
static void m_payload_none(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->n_payload_suites = 0;
}
static void m_envelope_list(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->key_envelope_suites[0] = 3;
}
static void m_signature_list(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->signature_suites[0] = 0;
}
static void m_no_proof(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        webtty__server_proof__free_unpacked(h->server_proof, NULL);
        h->server_proof = NULL;
}
static void m_proof_suite(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->server_proof->signature_suite = 0;
}
static void m_pinned_other_enc(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        p->encryption_public_key[0] ^= 1;
}
static void m_other_signing_id(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->server_identity->signing_key_id.data[0] ^= 1;
}
static void m_pinned_suite(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        p->key_envelope_suite = 3;
}
static void m_session(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->session_id[0] ^= 1;
}
static void m_transport(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        *t = "plain";
}
static void m_nonce(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->session_nonce.data[31] ^= 1;
}
static void m_workspace(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->workspace_id->value[0] = 'x';
}
static void m_auth_requirement(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->auth_requirement = 1; /* a downgrade to "no client proof" */
}
static void m_signature(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        h->server_proof->signature.data[h->server_proof->signature.len - 1] ^= 1;
}
static void m_signature_other_key(Webtty__ServerHello *h, auth_pinned_identity *p, const char **t) {
        _cleanup_(sigkey_freep) sigkey *k = NULL;

        ck_assert_int_eq(sigkey_generate(&k), 0);
        free(h->server_proof->signature.data);
        ck_assert_int_eq(sigkey_sign(k, h->server_proof->transcript_hash.data,
                                     &h->server_proof->signature.data, &h->server_proof->signature.len),
                         0);
}

START_TEST(test_server_hello_downgrades) {
        endpoint srv;
        auth_pinned_identity pin;
        char *err = NULL;

        endpoint_init(&srv, ENCKEY_SUITE_X25519);
        pin = pinned_for(&srv);
        ck_assert_int_eq(auth_server_hello_verify(NULL, &pin, "websocket", &err), -EPERM);
        ck_assert_str_eq(err, "WebTTY server hello is required");
        free(err);
        {
                Webtty__ServerHello h = WEBTTY__SERVER_HELLO__INIT;

                err = NULL;
                ck_assert_int_eq(auth_server_hello_verify(&h, &pin, "websocket", &err), -EPERM);
                ck_assert_str_eq(err, "WebTTY server hello is missing server identity");
                free(err);
        }
        endpoint_done(&srv);

        /* A pinned identity with an unusable suite is a local error. */
        {
                _cleanup_(auth_server_hello_freep) Webtty__ServerHello *h = NULL;
                uint8_t nonce[32];

                endpoint_init(&srv, ENCKEY_SUITE_X25519);
                pin = pinned_for(&srv);
                ck_assert_int_eq(auth_server_hello_build(&srv.id, &server_cfg, nonce, &h), 0);
                pin.key_envelope_suite = 2;
                err = NULL;
                ck_assert_int_eq(auth_server_hello_verify(h, &pin, "websocket", &err), -EINVAL);
                ck_assert_str_eq(err, "unsupported E2E key envelope suite 2");
                free(err);
                pin.key_envelope_suite = 0;
                pin.encryption_public_key_len = 33;
                err = NULL;
                ck_assert_int_eq(auth_server_hello_verify(h, &pin, "websocket", &err), -EINVAL);
                ck_assert_str_eq(err, "unsupported E2E public key length 33");
                free(err);
                endpoint_done(&srv);
        }

        expect_hello(m_version, "unsupported WebTTY protocol version 0");
        expect_hello(m_identity_suite,
                     "WebTTY server identity does not use the required key envelope suite");
        expect_hello(m_payload_two,
                     "WebTTY server does not advertise the required AES-256-GCM payload suite");
        expect_hello(m_payload_wrong,
                     "WebTTY server does not advertise the required AES-256-GCM payload suite");
        expect_hello(m_payload_none,
                     "WebTTY server does not advertise the required AES-256-GCM payload suite");
        expect_hello(m_envelope_list, "WebTTY server does not advertise the required key envelope suite");
        expect_hello(m_signature_list,
                     "WebTTY server does not advertise the required ECDSA P-256 signature suite");
        expect_hello(m_no_proof, "WebTTY server proof does not use ECDSA P-256");
        expect_hello(m_proof_suite, "WebTTY server proof does not use ECDSA P-256");
        expect_hello(m_pinned_other_enc, "WebTTY server identity does not match the expected identity");
        expect_hello(m_other_signing_id, "WebTTY server identity does not match the expected identity");
        expect_hello(m_pinned_suite,
                     "WebTTY server key envelope suite does not match the expected identity");
        expect_hello(m_session, "WebTTY server proof transcript hash does not match");
        expect_hello(m_transport, "WebTTY server proof transcript hash does not match");
        expect_hello(m_nonce, "WebTTY server proof transcript hash does not match");
        expect_hello(m_workspace, "WebTTY server proof transcript hash does not match");
        expect_hello(m_auth_requirement, "WebTTY server proof transcript hash does not match");
        expect_hello(m_signature,
                     "WebTTY server proof signature is invalid: invalid WebTTY proof signature");
        expect_hello(m_signature_other_key,
                     "WebTTY server proof signature is invalid: invalid WebTTY proof signature");
}
END_TEST

/* ---- ClientProof ---- */

/* 2026-06-20T10:00:00Z */
#define T0 1781949600

typedef struct authz {
        const endpoint *client;
        int mode; /* 0 found, 1 not found, 2 store error, 3 other key */
        unsigned calls;
} authz;

static int lookup(const uint8_t key_id[SIGKEY_ID_LEN], uint8_t spki_out[SIGKEY_SPKI_LEN], bool *found,
                  void *userdata) {
        authz *a = userdata;

        a->calls++;
        *found = false;
        if (a->mode == 2)
                return -EIO;
        if (a->mode == 1 || memcmp(key_id, a->client->sig_id, SIGKEY_ID_LEN) != 0)
                return 0;
        memcpy(spki_out, a->client->spki, SIGKEY_SPKI_LEN);
        if (a->mode == 3)
                spki_out[SIGKEY_SPKI_LEN - 1] ^= 1;
        *found = true;
        return 0;
}

/* One handshake: server hello, client grant + proof, server context. */
typedef struct handshake {
        endpoint srv, cli;
        Webtty__ServerHello *hello;
        uint8_t nonce[32];
        Webtty__Config config;
        Webtty__Options options;
        char *args[2];
        Webtty__Open open;
        Webtty__SessionKeyGrant *grant;
        e2e_session *session;
        authz az;
        auth_verifier v;
        struct timespec now;
} handshake;

static void handshake_init(handshake *hs, enckey_suite suite, bool with_grant) {
        auth_client_config cc = {
                .transport = "websocket",
                .principal_id = "  alice ",
                .device_id = "dev-1",
                .credential = (const uint8_t *) "cred",
                .credential_len = 4,
        };
        auth_pinned_identity pin;
        char *err = NULL;

        memset(hs, 0, sizeof(*hs));
        endpoint_init(&hs->srv, suite);
        endpoint_init(&hs->cli, suite);
        ck_assert_int_eq(auth_server_hello_build(&hs->srv.id, &server_cfg, hs->nonce, &hs->hello), 0);
        pin = pinned_for(&hs->srv);
        ck_assert_int_eq(auth_server_hello_verify(hs->hello, &pin, "websocket", &err), 0);

        webtty__config__init(&hs->config);
        webtty__options__init(&hs->options);
        hs->options.interactive = true;
        hs->config.options = &hs->options;
        hs->args[0] = "sh";
        hs->args[1] = "-l";
        hs->config.cmd_args = hs->args;
        hs->config.n_cmd_args = 2;
        webtty__open__init(&hs->open);
        hs->open.config = &hs->config;
        if (with_grant) {
                _cleanup_(enckey_freep) enckey *pub = NULL;
                const enckey *r[1];

                ck_assert_int_eq(enckey_from_public(hs->srv.enc->pub, hs->srv.enc->pub_len, &pub), 0);
                r[0] = pub;
                ck_assert_int_eq(e2e_grant_build(r, 1, NULL, 0, NULL, &hs->grant, &hs->session, &err), 0);
                hs->open.session_key_grant = hs->grant;
        }
        hs->now = (struct timespec){T0, 700000000};
        cc.now = &hs->now;
        ck_assert_int_eq(auth_client_proof_build(&hs->cli.id, &pin, hs->hello, &hs->open, &cc,
                                                 &hs->open.client_proof, &err),
                         0);
        ck_assert_ptr_nonnull(hs->open.client_proof);

        hs->az = (authz){&hs->cli, 0, 0};
        hs->v = (auth_verifier){
                .server =
                        {
                                .transport = "websocket",
                                .session_id = server_cfg.session_id,
                                .workspace_id = server_cfg.workspace_id,
                                .project_id = server_cfg.project_id,
                                .server_id = server_cfg.server_id,
                                .server_signing_key_id = hs->srv.sig_id,
                                .server_encryption_key_id = hs->srv.enc->id,
                                .key_envelope_suite = (uint32_t) suite,
                                .nonce = hs->nonce,
                        },
                .lookup = lookup,
                .userdata = &hs->az,
                .now = &hs->now,
        };
}

static void handshake_done(handshake *hs) {
        auth_client_proof_free(hs->open.client_proof);
        auth_server_hello_free(hs->hello);
        e2e_grant_free(hs->grant);
        e2e_session_free(hs->session);
        endpoint_done(&hs->srv);
        endpoint_done(&hs->cli);
}

static void expect_verify(handshake *hs, int code, const char *text) {
        _cleanup_free_ char *err = NULL;
        int got = -1, r;

        r = auth_client_proof_verify(&hs->v, &hs->open, &got, &err, NULL);
        ck_assert_int_lt(r, 0);
        ck_assert_int_eq(got, code);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, text);
}

START_TEST(test_client_proof_ok) {
        for (int suite = 1; suite <= 3; suite += 2)
                for (int grant = 0; grant <= 1; grant++) {
                        handshake hs;
                        auth_verified_client vc = {};
                        Webtty__ClientProof *p;
                        int code = -1;
                        char *err = NULL;

                        handshake_init(&hs, suite, grant);
                        p = hs.open.client_proof;
                        ck_assert_str_eq(p->issued_at, "2026-06-20T10:00:00Z");
                        ck_assert_str_eq(p->expires_at, "2026-06-20T10:00:30Z");
                        ck_assert_str_eq(p->principal_id->value, "alice");
                        ck_assert_str_eq(p->device_id->value, "dev-1");
                        ck_assert_ptr_null(p->browser_id);
                        ck_assert_uint_eq(p->credential->value.len, 4);
                        ck_assert_int_eq(p->signature_suite, 1);
                        ck_assert_int_eq(auth_client_proof_verify(&hs.v, &hs.open, &code, &err, &vc), 0);
                        ck_assert_ptr_null(err);
                        ck_assert_str_eq(vc.principal_id, "alice");
                        ck_assert_str_eq(vc.device_id, "dev-1");
                        ck_assert_str_eq(vc.browser_id, "");
                        ck_assert_int_eq(memcmp(vc.signing_key_id, hs.cli.sig_id, 32), 0);
                        auth_verified_client_done(&vc);
                        ck_assert_uint_eq(hs.az.calls, 1);
                        handshake_done(&hs);
                }
}
END_TEST

START_TEST(test_client_proof_build_preconditions) {
        handshake hs;
        auth_pinned_identity pin;
        auth_client_config cc = {.transport = "websocket"};
        Webtty__ClientProof *p = (Webtty__ClientProof *) 1;
        char *err = NULL;

        handshake_init(&hs, ENCKEY_SUITE_X25519, false);
        pin = pinned_for(&hs.srv);
        hs.hello->auth_requirement = 1;
        ck_assert_int_eq(auth_client_proof_build(&hs.cli.id, &pin, hs.hello, &hs.open, &cc, &p, &err), 0);
        ck_assert_ptr_null(p);
        hs.hello->auth_requirement = 2;
        ck_assert_int_lt(auth_client_proof_build(NULL, &pin, hs.hello, &hs.open, &cc, &p, &err), 0);
        ck_assert_str_eq(
                err, "WebTTY server requires a client proof, but no client endpoint identity is configured");
        free(err);
        err = NULL;
        ck_assert_int_lt(auth_client_proof_build(&hs.cli.id, NULL, hs.hello, &hs.open, &cc, &p, &err), 0);
        ck_assert_str_eq(
                err, "WebTTY server requires a client proof, but no expected server endpoint identity is "
                     "configured");
        free(err);
        err = NULL;
        {
                Webtty__EndpointIdentity *saved = hs.hello->server_identity;

                hs.hello->server_identity = NULL;
                ck_assert_int_lt(
                        auth_client_proof_build(&hs.cli.id, &pin, hs.hello, &hs.open, &cc, &p, &err), 0);
                ck_assert_str_eq(
                        err, "WebTTY server requires a client proof, but the server hello is missing server "
                             "identity");
                hs.hello->server_identity = saved;
                free(err);
        }
        handshake_done(&hs);
}
END_TEST

START_TEST(test_client_proof_failures) {
        handshake hs;
        Webtty__ClientProof *p;
        uint8_t b;

        handshake_init(&hs, ENCKEY_SUITE_X25519, true);
        p = hs.open.client_proof;

        hs.open.client_proof = NULL;
        expect_verify(&hs, 4, "WebTTY client proof is required");
        hs.open.client_proof = p;

        p->signature_suite = 0;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: unsupported signature suite");
        p->signature_suite = 1;

        hs.grant->key_envelope_suite = 2;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: unsupported E2E key envelope suite 2");
        hs.grant->key_envelope_suite = 3;
        expect_verify(
                &hs, 5,
                "WebTTY client proof is invalid: E2E payload suite 1 does not match key envelope suite 3");
        hs.grant->key_envelope_suite = 1;

        p->signing_key_id.len = 31;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: invalid signing key id");
        p->signing_key_id.len = 32;
        p->signing_key_id.data[0] ^= 1;
        expect_verify(&hs, 5,
                      "WebTTY client proof is invalid: signing key id does not match signing public key");
        p->signing_key_id.data[0] ^= 1;

        /* Time window. */
        hs.now.tv_sec = T0 + 31;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: WebTTY client proof has expired");
        hs.now.tv_sec = T0 - 6;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: WebTTY client proof is not valid yet");
        hs.now.tv_sec = T0;
        {
                char *saved = p->expires_at;

                p->expires_at = "2026-06-20T10:00:31Z";
                expect_verify(&hs, 5,
                              "WebTTY client proof is invalid: WebTTY client proof lifetime exceeds 30s");
                p->expires_at = "2026-13-20T10:00:30Z";
                expect_verify(&hs, 5,
                              "WebTTY client proof is invalid: WebTTY client proof expires_at is invalid: "
                              "parsing time \"2026-13-20T10:00:30Z\" as \"2006-01-02T15:04:05Z07:00\": "
                              "invalid RFC 3339 time");
                p->expires_at = saved;
                saved = p->issued_at;
                p->issued_at = "yesterday\n";
                expect_verify(&hs, 5,
                              "WebTTY client proof is invalid: WebTTY client proof issued_at is invalid: "
                              "parsing time \"yesterday\\x0a\" as \"2006-01-02T15:04:05Z07:00\": "
                              "invalid RFC 3339 time");
                /* Same instant, other spelling: the window passes, the transcript does not. */
                p->issued_at = "2026-06-20T12:00:00+02:00";
                expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
                p->issued_at = saved;
        }

        /* The server's own values. */
        hs.v.server.transport = "plain";
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        hs.v.server.transport = "websocket";
        hs.nonce[0] ^= 1;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        hs.nonce[0] ^= 1;
        hs.v.server.session_id = "0123456789abcdef01234568";
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        hs.v.server.session_id = server_cfg.session_id;
        hs.v.server.project_id = "p";
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        hs.v.server.project_id = NULL;
        hs.v.server.key_envelope_suite = 3; /* with a grant, the grant's suites count */
        ck_assert_int_eq(auth_client_proof_verify(&hs.v, &hs.open, NULL, NULL, NULL), 0);
        hs.v.server.key_envelope_suite = 1;

        /* What the proof binds: config, grant, credential, principal. */
        hs.args[1] = "-c";
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        hs.args[1] = "-l";
        hs.grant->key_context.data[0] ^= 1;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        hs.grant->key_context.data[0] ^= 1;
        hs.open.session_key_grant = NULL;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        hs.open.session_key_grant = hs.grant;
        p->credential->value.data[0] ^= 1;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        p->credential->value.data[0] ^= 1;
        p->principal_id->value[0] = 'b';
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        p->principal_id->value[0] = 'a';
        p->transcript_hash.data[0] ^= 1;
        expect_verify(&hs, 5, "WebTTY client proof is invalid: transcript hash does not match");
        p->transcript_hash.data[0] ^= 1;

        /* Signature. */
        b = p->signature.data[10];
        p->signature.data[10] ^= 1;
        expect_verify(
                &hs, 5,
                "WebTTY client proof is invalid: signature is invalid: invalid WebTTY proof signature");
        p->signature.data[10] = b;

        /* Authorization. */
        hs.az.mode = 1;
        expect_verify(&hs, 6, "WebTTY client signing key is not authorized");
        hs.az.mode = 2;
        expect_verify(&hs, 0, "WebTTY authorized client keys could not be loaded");
        hs.az.mode = 3;
        expect_verify(&hs, 5,
                      "WebTTY client proof is invalid: signing key does not match the authorized key");
        hs.az.mode = 0;
        ck_assert_int_eq(auth_client_proof_verify(&hs.v, &hs.open, NULL, NULL, NULL), 0);
        handshake_done(&hs);
}
END_TEST

/* A signing public key that does not parse, with a consistent key id and
 * transcript, fails at the signature step with the parse detail. */
START_TEST(test_client_proof_bad_spki) {
        handshake hs;
        Webtty__ClientProof *p;
        uint8_t id[32], gh[32], ch[32], cred[32];
        auth_client_transcript t;

        handshake_init(&hs, ENCKEY_SUITE_X25519, false);
        p = hs.open.client_proof;
        p->signing_public_key.data[0] = 0x31;
        sigkey_id_from_spki(p->signing_public_key.data, p->signing_public_key.len, id);
        memcpy(p->signing_key_id.data, id, 32);
        ck_assert_int_eq(auth_hash_grant(NULL, gh), 0);
        ck_assert_int_eq(auth_hash_config(&hs.config, ch), 0);
        auth_sha256("cred", 4, cred);
        t = (auth_client_transcript){
                .protocol_version = 1,
                .transport = "websocket",
                .workspace_id = "ws-1",
                .server_id = "srv-1",
                .session_id = server_cfg.session_id,
                .server_signing_key_id = {hs.srv.sig_id, 32},
                .server_encryption_key_id = {hs.srv.enc->id, 16},
                .server_nonce = {hs.nonce, 32},
                .auth_requirement = 2,
                .payload_suite = 1,
                .key_envelope_suite = 1,
                .session_key_grant_hash = {gh, 32},
                .command_config_hash = {ch, 32},
                .client_principal_id = "alice",
                .client_signing_key_id = {id, 32},
                .client_credential_hash = {cred, 32},
                .issued_at = p->issued_at,
                .expires_at = p->expires_at,
        };
        ck_assert_int_eq(auth_client_transcript_hash(&t, p->transcript_hash.data), 0);
        expect_verify(
                &hs, 5,
                "WebTTY client proof is invalid: signature is invalid: parse WebTTY signing public key: "
                "not a P-256 SubjectPublicKeyInfo with an uncompressed point");
        handshake_done(&hs);
}
END_TEST

START_TEST(test_client_proof_replay) {
        _cleanup_(auth_replay_cache_freep) auth_replay_cache *cache = NULL, *tiny = NULL;
        handshake hs, hs2, hs3;

        ck_assert_int_eq(auth_replay_cache_new(0, &cache), 0);
        handshake_init(&hs, ENCKEY_SUITE_X25519, true);
        hs.v.replay = cache;
        ck_assert_int_eq(auth_client_proof_verify(&hs.v, &hs.open, NULL, NULL, NULL), 0);
        expect_verify(&hs, 5, "WebTTY client proof is invalid: proof was already used");
        ck_assert_uint_eq(auth_replay_cache_count(cache), 1);
        /* A refused proof (here: not authorized) is not recorded. */
        handshake_init(&hs2, ENCKEY_SUITE_X25519, true);
        hs2.v.replay = cache;
        hs2.az.mode = 1;
        expect_verify(&hs2, 6, "WebTTY client signing key is not authorized");
        ck_assert_uint_eq(auth_replay_cache_count(cache), 1);

        /* A full cache refuses rather than forgets. */
        ck_assert_int_eq(auth_replay_cache_new(1, &tiny), 0);
        hs.v.replay = tiny;
        hs2.v.replay = tiny;
        hs2.az.mode = 0;
        ck_assert_int_eq(auth_client_proof_verify(&hs.v, &hs.open, NULL, NULL, NULL), 0);
        expect_verify(&hs2, 5, "WebTTY client proof is invalid: replay cache is full");
        /* Once the first entry is past expires_at + 5 s, there is room. */
        handshake_init(&hs3, ENCKEY_SUITE_X25519, false);
        hs3.v.replay = tiny;
        hs3.now = (struct timespec){T0 + 30, 0}; /* hs3's own proof is still valid */
        expect_verify(&hs3, 5, "WebTTY client proof is invalid: replay cache is full");
        handshake_done(&hs3);
        handshake_init(&hs3, ENCKEY_SUITE_X25519, false);
        hs3.v.replay = tiny;
        /* A proof issued later, checked after the first one's entry expired. */
        {
                auth_pinned_identity pin = pinned_for(&hs3.srv);
                auth_client_config cc = {.transport = "websocket",
                                         .principal_id = "alice",
                                         .credential = (const uint8_t *) "cred",
                                         .credential_len = 4};
                struct timespec later = {T0 + 40, 0};

                auth_client_proof_free(hs3.open.client_proof);
                cc.now = &later;
                ck_assert_int_eq(auth_client_proof_build(&hs3.cli.id, &pin, hs3.hello, &hs3.open, &cc,
                                                         &hs3.open.client_proof, NULL),
                                 0);
                hs3.now = later;
                ck_assert_int_eq(auth_client_proof_verify(&hs3.v, &hs3.open, NULL, NULL, NULL), 0);
        }
        handshake_done(&hs3);
        handshake_done(&hs2);
        handshake_done(&hs);
}
END_TEST

START_TEST(test_replay_cache_unit) {
        _cleanup_(auth_replay_cache_freep) auth_replay_cache *c = NULL;
        uint8_t k[4][32];

        for (int i = 0; i < 4; i++)
                memset(k[i], i + 1, 32);
        ck_assert_int_eq(auth_replay_cache_new(3, &c), 0);
        ck_assert_int_eq(auth_replay_cache_add(c, k[0], 100, 0), 0);
        ck_assert_int_eq(auth_replay_cache_add(c, k[0], 100, 0), -EEXIST);
        ck_assert_int_eq(auth_replay_cache_add(c, k[1], 50, 1), 0);
        ck_assert_int_eq(auth_replay_cache_add(c, k[2], 200, 2), 0);
        ck_assert_int_eq(auth_replay_cache_add(c, k[3], 200, 3), -ENOSPC);
        /* At 60, k[1] (not the oldest) has expired and its slot is reused. */
        ck_assert_int_eq(auth_replay_cache_add(c, k[3], 200, 60), 0);
        ck_assert_uint_eq(auth_replay_cache_count(c), 3);
        ck_assert_int_eq(auth_replay_cache_add(c, k[0], 300, 60), -EEXIST);
        /* At 100 exactly, k[0] is still kept (forget after, not at). */
        ck_assert_int_eq(auth_replay_cache_add(c, k[1], 300, 100), -ENOSPC);
        ck_assert_int_eq(auth_replay_cache_add(c, k[1], 300, 101), 0);
        ck_assert_int_eq(auth_replay_cache_add(c, k[0], 300, 101), -ENOSPC);
        ck_assert_int_eq(auth_replay_cache_add(c, k[0], 300, 201), 0);
        ck_assert_uint_eq(auth_replay_cache_count(c), 2);
}
END_TEST

/* ---- Time (6.7, A.3) ---- */

static void expect_window(const char *issued, const char *expires, const char *text) {
        struct timespec now = {T0, 0};
        _cleanup_free_ char *err = NULL;
        int r = auth_check_time_window(issued, expires, &now, &err);

        if (!text) {
                ck_assert_msg(r == 0, "%s .. %s refused: %s", issued, expires, err);
                return;
        }
        ck_assert_int_lt(r, 0);
        ck_assert_msg(strncmp(err, text, strlen(text)) == 0, "got %s", err);
}

START_TEST(test_time_window) {
        expect_window("2026-06-20T09:59:59Z", "2026-06-20T10:00:10Z", NULL);
        expect_window("2026-06-20T09:59:30Z", "2026-06-20T09:59:59Z", "WebTTY client proof has expired");
        expect_window("2026-06-20T10:00:06Z", "2026-06-20T10:00:20Z",
                      "WebTTY client proof is not valid yet");
        expect_window("2026-06-20T09:59:50Z", "2026-06-20T10:00:21Z",
                      "WebTTY client proof lifetime exceeds 30s");
        expect_window("nope", "2026-06-20T10:00:10Z", "WebTTY client proof issued_at is invalid: ");
        expect_window("2026-06-20T10:00:00Z", "", "WebTTY client proof expires_at is invalid: ");
        /* Boundaries: expires == now, issued == now + 5 s, lifetime == 30 s. */
        expect_window("2026-06-20T09:59:30Z", "2026-06-20T10:00:00Z", NULL);
        expect_window("2026-06-20T10:00:05Z", "2026-06-20T10:00:35Z", NULL);
        expect_window("2026-06-20T10:00:05.000000001Z", "2026-06-20T10:00:35Z",
                      "WebTTY client proof is not valid yet");
        expect_window("2026-06-20T09:59:59.999Z", "2026-06-20T10:00:00Z", NULL);
        expect_window("2026-06-20T09:59:30Z", "2026-06-20T09:59:59.999999999Z",
                      "WebTTY client proof has expired");
        expect_window("2026-06-20T09:59:45Z", "2026-06-20T10:00:15.5Z",
                      "WebTTY client proof lifetime exceeds 30s");
        /* Numeric offsets and fractional seconds, as Go parses them. */
        expect_window("2026-06-20T12:00:00+02:00", "2026-06-20T05:00:20-05:00", NULL);
        expect_window("2026-06-20T09:59:59,5Z", "2026-06-20T10:00:10.123456789123Z", NULL);
}
END_TEST

START_TEST(test_rfc3339) {
        static const char *bad[] = {
                "2026-02-29T00:00:00Z",
                "2026-06-20T10:00:00",
                "2026-06-20t10:00:00Z",
                "2026-06-20T10:00:00z",
                "2026-06-20T24:00:00Z",
                "2026-06-20T10:60:00Z",
                "2026-06-20T10:00:60Z",
                "2026-06-20T10:00:00+24:00",
                "2026-06-20T10:00:00+02",
                "2026-06-20T10:00:00.Z",
                "2026-06-20 10:00:00Z",
                "2026-6-20T10:00:00Z",
                "2026-06-20T10:00:00Z ",
                " 2026-06-20T10:00:00Z",
                "2026-00-20T10:00:00Z",
                "2026-06-31T10:00:00Z",
                "+026-06-20T10:00:00Z",
                "2026-06-20T10:00:00+0200",
                "",
        };
        struct timespec t;
        char out[21];

        ck_assert_int_eq(auth_parse_rfc3339("2026-06-20T10:00:00Z", &t), 0);
        ck_assert_int_eq(t.tv_sec, T0);
        ck_assert_int_eq(t.tv_nsec, 0);
        ck_assert_int_eq(auth_parse_rfc3339("2024-02-29T23:59:59.25-00:30", &t), 0);
        ck_assert_int_eq(t.tv_sec, 1709251199 + 1800);
        ck_assert_int_eq(t.tv_nsec, 250000000);
        ck_assert_int_eq(auth_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
        ck_assert_int_eq(t.tv_sec, 0);
        ck_assert_int_eq(auth_parse_rfc3339("0001-01-01T00:00:00Z", &t), 0);
        ck_assert_int_eq(t.tv_sec, -62135596800LL);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(auth_parse_rfc3339(bad[i], &t) == -EINVAL, "accepted %s", bad[i]);
        ck_assert_int_eq(auth_format_rfc3339(0, out), 0);
        ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
        ck_assert_int_eq(auth_format_rfc3339(T0 + 30, out), 0);
        ck_assert_str_eq(out, "2026-06-20T10:00:30Z");
}
END_TEST

static Suite *auth_suite(void) {
        Suite *s = suite_create("crypto-auth");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_a2_canonical);
        tcase_add_test(tc, test_canonical_drops_unknown);
        tcase_add_test(tc, test_canonical_presence);
        tcase_add_test(tc, test_a1_client_transcript);
        tcase_add_test(tc, test_a1_server_transcript);
        tcase_add_test(tc, test_server_hello_build_verify);
        tcase_add_test(tc, test_server_hello_downgrades);
        tcase_add_test(tc, test_client_proof_ok);
        tcase_add_test(tc, test_client_proof_build_preconditions);
        tcase_add_test(tc, test_client_proof_failures);
        tcase_add_test(tc, test_client_proof_bad_spki);
        tcase_add_test(tc, test_client_proof_replay);
        tcase_add_test(tc, test_replay_cache_unit);
        tcase_add_test(tc, test_time_window);
        tcase_add_test(tc, test_rfc3339);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(auth_suite());
        int failed;

        if (sodium_init() < 0)
                return EXIT_FAILURE;
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
