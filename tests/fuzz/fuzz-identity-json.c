/* libFuzzer target for lib/identity.c: an endpoint identity document as
 * read from disk or RSTREAM_WEBTTY_IDENTITY (endpoint_identity_parse()).
 *
 * A refused document must come with a message. An accepted one is written
 * back with endpoint_identity_format(); that text must parse to the same
 * keys, and writing it again must give the same bytes (a fixed point).
 * The public-half reader (endpoint_public_parse_identity_document(), what
 * pam_rstream uses) runs on every input too: it must accept whatever the
 * full reader accepts, with the same public half, and explain a refusal. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "macro.h"

#define FUZZ_MAX_INPUT (64u * 1024u)
#define FIXED_TIME ((time_t) 1780747200)

/* Always evaluated, also under -DNDEBUG. */
#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

static char *mfree_str(char *p) {
        free(p);
        return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL, *again = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL, *pub_text = NULL;
        char *t1 = NULL, *t2 = NULL;
        size_t l1 = 0, l2 = 0;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        CHECK(sodium_init() >= 0);

        endpoint_public pub;
        int rp = endpoint_public_parse_identity_document(data, size, &pub, &err);
        CHECK(rp == 0 || err || rp == -ENOMEM);
        err = mfree_str(err);

        r = endpoint_identity_parse(data, size, &id, &err);
        if (r < 0) {
                CHECK(!id);
                CHECK(err || r == -ENOMEM);
                return 0;
        }
        CHECK(id && id->enc && id->sig && id->pub.has_signing);
        CHECK(rp == 0 && pub.suite == id->pub.suite);
        CHECK(endpoint_public_format(&id->pub, &text) == 0);
        CHECK(endpoint_public_format(&pub, &pub_text) == 0 && strcmp(text, pub_text) == 0);

        CHECK(endpoint_identity_format(id, FIXED_TIME, &t1, &l1) == 0);
        CHECK(l1 > 0 && t1[l1 - 1] == '\n');
        r = endpoint_identity_parse(t1, l1, &again, &err);
        CHECK(r == 0);
        CHECK(memcmp(&id->pub, &again->pub, sizeof(id->pub)) == 0);
        CHECK(memcmp(id->enc->priv, again->enc->priv, ENCKEY_PRIV_LEN) == 0);
        CHECK(endpoint_identity_format(again, FIXED_TIME, &t2, &l2) == 0);
        CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);
        sodium_free(t1);
        sodium_free(t2);
        return 0;
}
