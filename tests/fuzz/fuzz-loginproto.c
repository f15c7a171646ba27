/* lib/loginproto.c: every decoder on arbitrary bytes. A decoded message is
 * encoded again and must decode to the same encoding (a fixed point), so the
 * encoder and decoder agree on everything the decoder accepts. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loginproto.h"
#include "macro.h"

#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x))                                                                                   \
                        abort();                                                                            \
        } while (0)

static void same_again(const uint8_t *enc, size_t len,
                       int (*again)(const uint8_t *, size_t, uint8_t **, size_t *)) {
        _cleanup_free_ uint8_t *enc2 = NULL;
        size_t len2 = 0;

        CHECK(again(enc, len, &enc2, &len2) == 0);
        CHECK(len2 == len && memcmp(enc, enc2, len) == 0);
}

static int request_again(const uint8_t *b, size_t n, uint8_t **out, size_t *out_len) {
        loginproto_request m = {};
        int r = loginproto_decode_request(b, n, &m, NULL);
        if (r == 0)
                r = loginproto_encode_request(&m, out, out_len);
        loginproto_request_done(&m);
        return r;
}

static int proof_again(const uint8_t *b, size_t n, uint8_t **out, size_t *out_len) {
        loginproto_proof m = {};
        int r = loginproto_decode_proof(b, n, &m, NULL);
        if (r == 0)
                r = loginproto_encode_proof(&m, out, out_len);
        loginproto_proof_done(&m);
        return r;
}

static int started_again(const uint8_t *b, size_t n, uint8_t **out, size_t *out_len) {
        loginproto_started m = {};
        int r = loginproto_decode_started(b, n, &m, NULL);
        if (r == 0)
                r = loginproto_encode_started(&m, out, out_len);
        loginproto_started_done(&m);
        return r;
}

static int refused_again(const uint8_t *b, size_t n, uint8_t **out, size_t *out_len) {
        loginproto_refused m = {};
        int r = loginproto_decode_refused(b, n, &m, NULL);
        if (r == 0)
                r = loginproto_encode_refused(&m, out, out_len);
        loginproto_refused_done(&m);
        return r;
}

static int signal_again(const uint8_t *b, size_t n, uint8_t **out, size_t *out_len) {
        loginproto_signal m = {};
        int r = loginproto_decode_signal(b, n, &m, NULL);
        return r == 0 ? loginproto_encode_signal(&m, out, out_len) : r;
}

static int exited_again(const uint8_t *b, size_t n, uint8_t **out, size_t *out_len) {
        loginproto_exited m = {};
        int r = loginproto_decode_exited(b, n, &m, NULL);
        return r == 0 ? loginproto_encode_exited(&m, out, out_len) : r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int (*const again[])(const uint8_t *, size_t, uint8_t **, size_t *) = {
                [LOGINPROTO_REQUEST] = request_again, [LOGINPROTO_STARTED] = started_again,
                [LOGINPROTO_REFUSED] = refused_again, [LOGINPROTO_SIGNAL] = signal_again,
                [LOGINPROTO_EXITED] = exited_again,   [LOGINPROTO_PROOF] = proof_again,
        };
        _cleanup_free_ uint8_t *enc = NULL;
        _cleanup_free_ char *err = NULL;
        loginproto_type type;
        size_t len = 0;

        if (loginproto_peek_type(data, size, &type) < 0)
                return 0;
        /* Every decoder must refuse other types cleanly; the right one may accept. */
        for (int t = LOGINPROTO_REQUEST; t <= LOGINPROTO_PROOF; t++) {
                int r = again[t](data, size, &enc, &len);
                CHECK(r == 0 || r == -EBADMSG || r == -E2BIG);
                CHECK(r != 0 || t == (int) type);
                if (r == 0) {
                        same_again(enc, len, again[t]);
                        free(enc);
                        enc = NULL;
                }
        }
        /* The error text path. */
        {
                loginproto_request m = {};
                if (loginproto_decode_request(data, size, &m, &err) == 0)
                        loginproto_request_done(&m);
        }
        return 0;
}
