/* webttyd/loginclient.c: login_open_bytes(), which picks the client's Open
 * bytes out of the received Message to forward them to webttyd-login. On any
 * Message protobuf-c accepts, a slice it returns must lie inside the input,
 * end at its end, and decode to the same Open as the Message's own. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loginclient.h"
#include "macro.h"
#include "webtty.pb-c.h"

#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x))                                                                                   \
                        abort();                                                                            \
        } while (0)

static uint8_t *packed_open(const Webtty__Open *o, size_t *len) {
        uint8_t *b;

        *len = webtty__open__get_packed_size(o);
        b = malloc(*len ? *len : 1);
        CHECK(b);
        CHECK(webtty__open__pack(o, b) == *len);
        return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *p = NULL;
        size_t n = 0;
        Webtty__Message *m;
        Webtty__Open *o;
        uint8_t *a, *b;
        size_t la, lb;

        if (!login_open_bytes(data, size, &p, &n))
                return 0;
        CHECK(p >= data && n <= size && p + n == data + size);
        m = webtty__message__unpack(NULL, size, data);
        if (!m)
                return 0; /* webttyd unpacks first: such bytes never get here */
        CHECK(m->payload_case == WEBTTY__MESSAGE__PAYLOAD_OPEN && m->open);
        o = webtty__open__unpack(NULL, n, p);
        CHECK(o);
        a = packed_open(m->open, &la);
        b = packed_open(o, &lb);
        CHECK(la == lb && memcmp(a, b, la) == 0);
        free(a);
        free(b);
        webtty__open__free_unpacked(o, NULL);
        webtty__message__free_unpacked(m, NULL);
        return 0;
}
