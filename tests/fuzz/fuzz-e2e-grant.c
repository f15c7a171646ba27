/* libFuzzer target for lib/e2e.c: one serialized Message, as a peer sends it.
 *
 * An Open with a session key grant goes through e2e_grant_open() with fixed
 * server keys of both envelope suites (the spec A.4 keys); a grant that
 * opens must give a working session. A Data with an encrypted payload is
 * decrypted, on each stream label, with fixed sessions of both payload
 * suites (the A.4 payload key, key id and key context, which is what the
 * A.4 grants carry). Every refusal must come with one of the reference's
 * texts; every success must round-trip through e2e_seal_data(). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "enckey.h"
#include "macro.h"
#include "wmsg.h"

#define FUZZ_MAX_INPUT (1024u * 1024u)

#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__Message, wmsg_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(e2e_session, e2e_session_free);

static enckey *server_keys[2];
static e2e_session *sessions[2];

static void init_once(void) {
        static bool done;
        uint8_t priv[32], key[32], kid[16];

        if (done)
                return;
        for (size_t i = 0; i < 32; i++) {
                priv[i] = (uint8_t) (1 + i);
                key[i] = (uint8_t) (0x40 + i);
        }
        for (size_t i = 0; i < 16; i++)
                kid[i] = (uint8_t) (0xa0 + i);
        CHECK(enckey_from_private(ENCKEY_SUITE_X25519, priv, 32, &server_keys[0]) == 0);
        CHECK(enckey_from_private(ENCKEY_SUITE_P256, priv, 32, &server_keys[1]) == 0);
        CHECK(e2e_session_new(1, 1, key, kid, (const uint8_t *) "test/key-context", 16, &sessions[0]) == 0);
        CHECK(e2e_session_new(3, 3, key, kid, (const uint8_t *) "test/key-context", 16, &sessions[1]) == 0);
        done = true;
}

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void check_grant_error(const char *err) {
        static const char *const known[] = {
                "missing E2E session key grant",
                "unsupported E2E key envelope suite ",
                "E2E payload suite ",
                "E2E payload key id must be 16 bytes",
                "E2E identity suite ",
                "E2E identity private key must be 32 bytes",
                "E2E session key grant does not contain a key envelope for this identity",
                "unwrap E2E payload key: ",
                "E2E unwrapped payload key must be 32 bytes",
        };

        CHECK(err);
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (starts_with(err, known[i]))
                        return;
        fprintf(stderr, "unexpected grant error: %s\n", err);
        abort();
}

static void check_data_error(const char *err) {
        static const char *const known[] = {
                "missing E2E encrypted payload",
                "missing E2E payload crypto metadata",
                "unexpected E2E payload suite ",
                "unexpected E2E payload key id",
                "unexpected E2E key context",
                "E2E AES-GCM nonce must be ",
                "decrypt E2E ",
                "E2E ",
        };

        CHECK(err);
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (starts_with(err, known[i]))
                        return;
        fprintf(stderr, "unexpected data error: %s\n", err);
        abort();
}

/* The session works both ways on every stream. */
static void check_session(e2e_session *s) {
        for (int st = 0; st < 3; st++) {
                _cleanup_(wmsg_freep) Webtty__Message *m = NULL;
                _cleanup_free_ uint8_t *buf = NULL, *pt = NULL;
                size_t n = 0, len = 0;
                char err[128];

                CHECK(e2e_seal_data_alloc(s, (e2e_stream) st, (const uint8_t *) "probe", 5, &buf, &n) == 0);
                m = wmsg_unpack(buf, n, err, sizeof(err));
                CHECK(m && m->payload_case == WEBTTY__MESSAGE__PAYLOAD_DATA);
                CHECK(e2e_open_data_alloc(s, (e2e_stream) st, m->data, &pt, &len, NULL) == 0);
                CHECK(len == 5 && memcmp(pt, "probe", 5) == 0);
        }
}

static void fuzz_grant(const Webtty__SessionKeyGrant *g) {
        for (size_t k = 0; k < ELEMENTSOF(server_keys); k++) {
                _cleanup_(e2e_session_freep) e2e_session *s = NULL;
                _cleanup_free_ char *err = NULL;
                int r;

                r = e2e_grant_open(g, server_keys[k], &s, &err);
                if (r < 0) {
                        CHECK(!s);
                        check_grant_error(err);
                        continue;
                }
                CHECK(s && !err);
                CHECK(g->payload_key_id.len == E2E_PAYLOAD_KEY_ID_LEN);
                CHECK(memcmp(e2e_session_key_id(s), g->payload_key_id.data, E2E_PAYLOAD_KEY_ID_LEN) == 0);
                CHECK(e2e_session_envelope_suite(s) == (uint32_t) server_keys[k]->suite);
                check_session(s);
        }
}

static void fuzz_data(const Webtty__Data *d) {
        for (size_t k = 0; k < ELEMENTSOF(sessions); k++)
                for (int st = 0; st < 3; st++) {
                        _cleanup_free_ uint8_t *pt = NULL, *again = NULL;
                        _cleanup_free_ char *err = NULL;
                        size_t len = 0, n = 0;
                        int r;

                        r = e2e_open_data_alloc(sessions[k], (e2e_stream) st, d, &pt, &len, &err);
                        if (r < 0) {
                                check_data_error(err);
                                continue;
                        }
                        CHECK(!err);
                        CHECK(d->encrypted_data && len == d->encrypted_data->plaintext_length);
                        CHECK(len <= e2e_open_data_max(sessions[k], d));
                        CHECK(e2e_seal_data_alloc(sessions[k], (e2e_stream) st, pt, len, &again, &n) == 0);
                }
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
                fuzz_grant(m->open->session_key_grant);
        else if (m->payload_case == WEBTTY__MESSAGE__PAYLOAD_DATA && m->data)
                fuzz_data(m->data);
        return 0;
}
