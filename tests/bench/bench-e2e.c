/* Throughput of the E2E payload hot path (not a test; build with
 * `make tests/bench/bench-e2e`): e2e_seal_data() into a reused buffer and
 * e2e_open_data() of the parsed result, per payload suite, for a chunk size
 * (default 65536 bytes) over about a second each.
 *
 *   tests/bench/bench-e2e [CHUNK_BYTES] [SECONDS]
 *
 * Compare with `openssl speed -evp aes-256-gcm -bytes 16384`: the seal path
 * adds one random nonce, the AAD and the protobuf framing per message. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "e2e.h"
#include "wmsg.h"

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int bench(uint32_t suite, size_t chunk, double seconds) {
        static const char kc[] =
                "{\"v\":1,\"type\":\"rstream.webtty.session_key_grant\",\"recipients\":[{\"key_id\":"
                "\"bwQL-7ryWbO_hDcq4EGeCg\",\"kind\":\"server\",\"id\":\"srv-1\"}]}";
        uint8_t key[32], kid[16], *pt, *out, *back;
        size_t cap, n = 0, len = 0;
        e2e_session *s = NULL;
        Webtty__Message *m;
        double t0, t;
        uint64_t count = 0;
        char err[256];

        randombytes_buf(key, sizeof(key));
        randombytes_buf(kid, sizeof(kid));
        if (e2e_session_new(suite, suite, key, kid, (const uint8_t *) kc, strlen(kc), &s) < 0)
                return -1;
        cap = e2e_seal_data_size(s, E2E_STREAM_STDOUT, chunk);
        pt = malloc(chunk);
        out = malloc(cap);
        back = malloc(chunk ? chunk : 1);
        if (!pt || !out || !back)
                return -1;
        randombytes_buf(pt, chunk);

        t0 = now_sec();
        do {
                for (int i = 0; i < 64; i++)
                        if (e2e_seal_data(s, E2E_STREAM_STDOUT, pt, chunk, out, cap, &n) < 0)
                                return -1;
                count += 64;
                t = now_sec() - t0;
        } while (t < seconds);
        printf("suite %u seal  %7zu-byte chunks: %9.1f MB/s (%.0f msg/s, %zu bytes on the wire each)\n",
               suite, chunk, (double) count * (double) chunk / t / 1e6, (double) count / t, n);

        m = wmsg_unpack(out, n, err, sizeof(err));
        if (!m)
                return -1;
        count = 0;
        t0 = now_sec();
        do {
                for (int i = 0; i < 64; i++)
                        if (e2e_open_data(s, E2E_STREAM_STDOUT, m->data, back, chunk, &len, NULL) < 0)
                                return -1;
                count += 64;
                t = now_sec() - t0;
        } while (t < seconds);
        printf("suite %u open  %7zu-byte chunks: %9.1f MB/s (parsed Message, decrypt only)\n", suite, chunk,
               (double) count * (double) chunk / t / 1e6);
        wmsg_free(m);
        e2e_session_free(s);
        free(pt);
        free(out);
        free(back);
        return 0;
}

int main(int argc, char *argv[]) {
        size_t chunk = argc > 1 ? strtoul(argv[1], NULL, 10) : 65536;
        double seconds = argc > 2 ? strtod(argv[2], NULL) : 1.0;

        if (sodium_init() < 0)
                return EXIT_FAILURE;
        if (bench(1, chunk, seconds) < 0 || bench(3, chunk, seconds) < 0) {
                fprintf(stderr, "bench failed\n");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
