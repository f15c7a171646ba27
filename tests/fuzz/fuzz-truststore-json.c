/* libFuzzer target for lib/truststore.c: the same bytes as a
 * known_servers.json and as an authorized_clients/<store>.json document
 * (known_servers_parse(), authorized_clients_parse(); the latter is what
 * webttyd re-reads at every handshake).
 *
 * A refused document must come with a message. An accepted one is written
 * back; that text must parse to the same entries, and writing it again must
 * give the same bytes. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "macro.h"
#include "truststore.h"

#define FUZZ_MAX_INPUT (256u * 1024u)

/* Always evaluated, also under -DNDEBUG. */
#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

static void check_known_servers(const uint8_t *data, size_t size) {
        _cleanup_(known_servers_freep) known_servers *ks = NULL, *again = NULL;
        _cleanup_free_ char *err = NULL, *t1 = NULL, *t2 = NULL;
        size_t l1, l2;
        int r;

        r = known_servers_parse(data, size, "fuzz.json", &ks, &err);
        if (r < 0) {
                CHECK(!ks);
                CHECK(err || r == -ENOMEM);
                return;
        }
        for (size_t i = 0; i < ks->n; i++) {
                const known_server *e = &ks->entries[i];

                CHECK(e->name && e->client_identity && e->created_at);
                CHECK(e->key.enc_pub_len == 32 || e->key.enc_pub_len == 65);
        }
        CHECK(known_servers_format(ks, &t1, &l1) == 0);
        r = known_servers_parse(t1, l1, "fuzz.json", &again, &err);
        CHECK(r == 0);
        CHECK(again->n == ks->n);
        for (size_t i = 0; i < ks->n; i++) {
                CHECK(strcmp(again->entries[i].name, ks->entries[i].name) == 0);
                CHECK(memcmp(&again->entries[i].key, &ks->entries[i].key, sizeof(endpoint_public)) == 0);
        }
        CHECK(known_servers_format(again, &t2, &l2) == 0);
        CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);
}

static void check_authorized_clients(const uint8_t *data, size_t size) {
        _cleanup_(authorized_clients_freep) authorized_clients *ac = NULL, *again = NULL;
        _cleanup_free_ char *err = NULL, *t1 = NULL, *t2 = NULL;
        size_t l1, l2;
        int r;

        r = authorized_clients_parse(data, size, "fuzz.json", &ac, &err);
        if (r < 0) {
                CHECK(!ac);
                CHECK(err || r == -ENOMEM);
                return;
        }
        CHECK(authorized_clients_format(ac, &t1, &l1) == 0);
        r = authorized_clients_parse(t1, l1, "fuzz.json", &again, &err);
        CHECK(r == 0);
        CHECK(again->n == ac->n);
        for (size_t i = 0; i < ac->n; i++) {
                CHECK(strcmp(again->entries[i].name, ac->entries[i].name) == 0);
                CHECK(memcmp(again->entries[i].id, ac->entries[i].id, SIGKEY_ID_LEN) == 0);
                CHECK(memcmp(again->entries[i].spki, ac->entries[i].spki, SIGKEY_SPKI_LEN) == 0);
        }
        CHECK(authorized_clients_format(again, &t2, &l2) == 0);
        CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > FUZZ_MAX_INPUT)
                return 0;
        CHECK(sodium_init() >= 0);
        check_known_servers(data, size);
        check_authorized_clients(data, size);
        return 0;
}
