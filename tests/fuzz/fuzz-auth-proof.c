/* libFuzzer target for lib/auth.c: one serialized Message, as a peer sends it.
 *
 * An Open goes through auth_client_proof_verify() with a fixed server
 * context (identity key ids, nonce, session id, transport, a fixed clock)
 * and one authorized client key (the spec A.5 key); a ServerHello goes
 * through auth_server_hello_verify() against a fixed pinned identity. Every
 * refusal must carry the right ProtocolError code with one of the
 * reference's texts; an accepted proof must be refused the second time by
 * the replay cache. The canonical encoding of Open.config and the grant
 * must be a fixed point. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "macro.h"
#include "sigkey.h"
#include "wmsg.h"

#define FUZZ_MAX_INPUT (1024u * 1024u)
/* 2026-06-20T10:00:00Z, the time the seed proofs were made for. */
#define FUZZ_NOW 1781949600

#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__Message, wmsg_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(auth_replay_cache, auth_replay_cache_free);

/* The fixed server: signing key id = 0x11..., encryption key id = the A.4
 * suite-1 key's, nonce = 0x22..., and the A.5 client key authorized. */
static const uint8_t a5_spki[SIGKEY_SPKI_LEN] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
        0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x60, 0xfe, 0xd4, 0xba, 0x25,
        0x5a, 0x9d, 0x31, 0xc9, 0x61, 0xeb, 0x74, 0xc6, 0x35, 0x6d, 0x68, 0xc0, 0x49, 0xb8, 0x92, 0x3b,
        0x61, 0xfa, 0x6c, 0xe6, 0x69, 0x62, 0x2e, 0x60, 0xf2, 0x9f, 0xb6, 0x79, 0x03, 0xfe, 0x10, 0x08,
        0xb8, 0xbc, 0x99, 0xa4, 0x1a, 0xe9, 0xe9, 0x56, 0x28, 0xbc, 0x64, 0xf2, 0xf1, 0xb2, 0x0c, 0x2d,
        0x7e, 0x9f, 0x51, 0x77, 0xa3, 0xc2, 0x94, 0xd4, 0x46, 0x22, 0x99,
};
static const uint8_t server_enc_id[ENCKEY_ID_LEN] = {
        0x6f, 0x04, 0x0b, 0xfb, 0xba, 0xf2, 0x59, 0xb3, 0xbf, 0x84, 0x37, 0x2a, 0xe0, 0x41, 0x9e, 0x0a,
};
static uint8_t server_sig_id[SIGKEY_ID_LEN], nonce[AUTH_NONCE_LEN], a5_id[SIGKEY_ID_LEN];

static int lookup(const uint8_t key_id[SIGKEY_ID_LEN], uint8_t spki_out[SIGKEY_SPKI_LEN], bool *found,
                  void *userdata) {
        *found = memcmp(key_id, a5_id, SIGKEY_ID_LEN) == 0;
        if (*found)
                memcpy(spki_out, a5_spki, SIGKEY_SPKI_LEN);
        return 0;
}

static void init_once(void) {
        static bool done;

        if (done)
                return;
        memset(server_sig_id, 0x11, sizeof(server_sig_id));
        memset(nonce, 0x22, sizeof(nonce));
        sigkey_id_from_spki(a5_spki, sizeof(a5_spki), a5_id);
        done = true;
}

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void check_canonical(const ProtobufCMessage *m) {
        _cleanup_free_ uint8_t *a = NULL, *b = NULL;
        ProtobufCMessage *again;
        size_t alen = 0, blen = 0;

        if (!m || auth_canonical_pack(m, &a, &alen) < 0)
                return;
        again = protobuf_c_message_unpack(m->descriptor, NULL, alen, a);
        CHECK(again);
        CHECK(again->n_unknown_fields == 0);
        CHECK(auth_canonical_pack(again, &b, &blen) == 0);
        CHECK(alen == blen && memcmp(a, b, alen) == 0);
        protobuf_c_message_free_unpacked(again, NULL);
}

static void fuzz_open(const Webtty__Open *open) {
        _cleanup_(auth_replay_cache_freep) auth_replay_cache *cache = NULL;
        struct timespec now = {FUZZ_NOW, 0};
        auth_verifier v = {
                .server =
                        {
                                .transport = "websocket",
                                .session_id = "0123456789abcdef01234567",
                                .workspace_id = "ws-1",
                                .server_id = "srv-1",
                                .server_signing_key_id = server_sig_id,
                                .server_encryption_key_id = server_enc_id,
                                .key_envelope_suite = 1,
                                .nonce = nonce,
                        },
                .lookup = lookup,
                .now = &now,
        };
        auth_verified_client vc = {};
        _cleanup_free_ char *err = NULL;
        int code = -1, r;

        check_canonical(open->config ? &open->config->base : NULL);
        check_canonical(open->session_key_grant ? &open->session_key_grant->base : NULL);

        CHECK(auth_replay_cache_new(4, &cache) == 0);
        v.replay = cache;
        r = auth_client_proof_verify(&v, open, &code, &err, &vc);
        if (r < 0) {
                CHECK(err);
                switch (code) {
                case AUTH_CODE_CLIENT_PROOF_REQUIRED:
                        CHECK(!open->client_proof);
                        CHECK(strcmp(err, "WebTTY client proof is required") == 0);
                        break;
                case AUTH_CODE_CLIENT_PROOF_INVALID:
                        CHECK(starts_with(err, "WebTTY client proof is invalid: "));
                        break;
                case AUTH_CODE_CLIENT_UNAUTHORIZED:
                        CHECK(strcmp(err, "WebTTY client signing key is not authorized") == 0);
                        break;
                default:
                        CHECK(false);
                }
                return;
        }
        CHECK(open->client_proof);
        CHECK(memcmp(vc.signing_key_id, a5_id, SIGKEY_ID_LEN) == 0);
        CHECK(vc.principal_id && vc.device_id && vc.browser_id);
        auth_verified_client_done(&vc);
        free(err);
        err = NULL;
        r = auth_client_proof_verify(&v, open, &code, &err, NULL);
        CHECK(r < 0 && code == AUTH_CODE_CLIENT_PROOF_INVALID);
        CHECK(strcmp(err, "WebTTY client proof is invalid: proof was already used") == 0);
}

static void fuzz_hello(const Webtty__ServerHello *hello) {
        auth_pinned_identity pin = {};
        _cleanup_free_ char *err = NULL;
        int r;

        /* The A.4 suite-1 encryption key and the A.5 signing key. */
        static const uint8_t enc_pub[32] = {
                0x07, 0xa3, 0x7c, 0xbc, 0x14, 0x20, 0x93, 0xc8, 0xb7, 0x55, 0xdc,
                0x1b, 0x10, 0xe8, 0x6c, 0xb4, 0x26, 0x37, 0x4a, 0xd1, 0x6a, 0xa8,
                0x53, 0xed, 0x0b, 0xdf, 0xc0, 0xb2, 0xb8, 0x6d, 0x1c, 0x7c,
        };
        memcpy(pin.encryption_key_id, server_enc_id, ENCKEY_ID_LEN);
        memcpy(pin.encryption_public_key, enc_pub, sizeof(enc_pub));
        pin.encryption_public_key_len = sizeof(enc_pub);
        memcpy(pin.signing_key_id, a5_id, SIGKEY_ID_LEN);
        memcpy(pin.signing_public_key, a5_spki, SIGKEY_SPKI_LEN);
        r = auth_server_hello_verify(hello, &pin, "websocket", &err);
        if (r < 0)
                CHECK(err && (starts_with(err, "WebTTY server ") || starts_with(err, "unsupported WebTTY")));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(wmsg_freep) Webtty__Message *m = NULL;
        char err[256];

        if (size > FUZZ_MAX_INPUT)
                return 0;
        init_once();
        m = wmsg_unpack(data, size, err, sizeof(err));
        if (!m)
                return 0;
        if (m->payload_case == WEBTTY__MESSAGE__PAYLOAD_OPEN && m->open)
                fuzz_open(m->open);
        else if (m->payload_case == WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO && m->server_hello)
                fuzz_hello(m->server_hello);
        return 0;
}
