/* libFuzzer target for webttyd-login's request path (webttyd/login/request.c):
 * one packet as webttyd sends it. A REQUEST is decoded (lib/loginproto.c),
 * its Open unpacked and the PROOF bundle derived, with and without
 * --allow-client-user (the input's last byte chooses); an accepted request
 * must give a bundle whose text decodes back to the same hashes and user
 * fields, and a refused one must carry both a log reason and a peer text. */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64u.h"
#include "login.h"
#include "loginproto.h"
#include "macro.h"

#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x))                                                                                   \
                        abort();                                                                            \
        } while (0)

static void check_bundle(const login_derived *d) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        _cleanup_free_ uint8_t *bin = NULL;
        loginproto_proof back = {};
        size_t len = 0;

        CHECK(login_bundle_text(&d->proof, &text) == 0);
        CHECK(b64u_decode(text, &bin, &len) == 0);
        CHECK(loginproto_decode_proof(bin, len, &back, &err) == 0);
        CHECK(memcmp(back.config_hash, d->proof.config_hash, LOGINPROTO_HASH_LEN) == 0);
        CHECK(memcmp(back.grant_hash, d->proof.grant_hash, LOGINPROTO_HASH_LEN) == 0);
        CHECK(back.has_proof == d->proof.has_proof && back.has_grant == d->proof.has_grant);
        CHECK(strcmp(back.requested_user, d->proof.requested_user) == 0);
        CHECK(strcmp(back.default_user, "fuzz") == 0);
        CHECK(d->open && d->open->config);
        loginproto_proof_done(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        login_config cfg = {.login_user = "fuzz", .server_labels = "env=fuzz"};
        _cleanup_free_ char *error = NULL, *why = NULL, *peer = NULL;
        loginproto_request req = {};
        loginproto_type type;
        login_derived d = {};
        int r;

        if (size == 0 || size > LOGINPROTO_MAX)
                return 0;
        cfg.allow_client_user = data[size - 1] & 1;
        if (loginproto_peek_type(data, size, &type) < 0 || type != LOGINPROTO_REQUEST)
                return 0;
        if (loginproto_decode_request(data, size, &req, &error) < 0)
                return 0;
        r = login_request_derive(&req, &cfg, &d, &why, &peer);
        if (r == 0)
                check_bundle(&d);
        else
                CHECK(r == -ENOMEM || (why && peer));
        login_derived_done(&d);
        loginproto_request_done(&req);
        return 0;
}
