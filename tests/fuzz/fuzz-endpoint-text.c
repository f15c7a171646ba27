/* libFuzzer target for the public text forms of lib/identity.c and
 * lib/truststore.c: `known-server add --key` / --known-server-key values
 * (endpoint_public_parse(), endpoint_public_parse_identity()),
 * authorized-client keys (authorized_client_key_parse()) and the
 * RSTREAM_WEBTTY_AUTHORIZED_CLIENT_KEYS list (authorized_keys_add_env()).
 *
 * The input is one C string (cut at the first NUL). Refusals must come with
 * a message; accepted keys must format back to text that parses to the same
 * key. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "macro.h"
#include "truststore.h"

#define FUZZ_MAX_INPUT (16u * 1024u)

/* Always evaluated, also under -DNDEBUG. */
#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

static void check_endpoint(const char *text, bool four_only) {
        _cleanup_free_ char *err = NULL, *s = NULL;
        endpoint_public p, q;
        int r;

        r = four_only ? endpoint_public_parse_identity(text, &p, &err)
                      : endpoint_public_parse(text, &p, &err);
        if (r < 0) {
                CHECK(err || r == -ENOMEM);
                return;
        }
        CHECK(p.enc_pub_len == 32 || p.enc_pub_len == 65);
        CHECK(!four_only || p.has_signing);
        if (!p.has_signing) {
                CHECK(endpoint_public_format(&p, &s) == -EINVAL);
                return;
        }
        CHECK(endpoint_public_format(&p, &s) == 0);
        CHECK(endpoint_public_parse_identity(s, &q, &err) == 0);
        CHECK(memcmp(&p, &q, sizeof(p)) == 0);
}

static void check_authorized(const char *text) {
        _cleanup_free_ char *err = NULL, *s = NULL;
        uint8_t id[SIGKEY_ID_LEN], spki[SIGKEY_SPKI_LEN], id2[SIGKEY_ID_LEN], spki2[SIGKEY_SPKI_LEN];
        int r;

        r = authorized_client_key_parse(text, id, spki, &err);
        if (r < 0) {
                CHECK(err || r == -ENOMEM);
                return;
        }
        CHECK(authorized_client_key_format(id, spki, &s) == 0);
        CHECK(authorized_client_key_parse(s, id2, spki2, &err) == 0);
        CHECK(memcmp(id, id2, sizeof(id)) == 0 && memcmp(spki, spki2, sizeof(spki)) == 0);
}

static void check_env(const char *text) {
        _cleanup_free_ char *err = NULL;
        authorized_keys list = {};
        uint8_t spki[SIGKEY_SPKI_LEN];
        int r;

        r = authorized_keys_add_env(&list, text, &err);
        if (r < 0)
                CHECK(err || r == -ENOMEM);
        for (size_t i = 0; i < list.n; i++)
                CHECK(authorized_keys_find(&list, list.keys[i].id, spki));
        authorized_keys_clear(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        CHECK(sodium_init() >= 0);
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;

        check_endpoint(text, false);
        check_endpoint(text, true);
        check_authorized(text);
        check_env(text);
        return 0;
}
