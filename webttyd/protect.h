/* Endpoint authentication and E2E on the server (protocol spec 6-7, host
 * spec 1.5, 2.2, 10.6): the server's endpoint identity, the authorized
 * client keys (a static list read at start plus a file re-read at every
 * handshake), and the replay cache. With an identity every session starts
 * with a signed ServerHello, requires a verified ClientProof and a session
 * key grant before any process starts, and carries terminal bytes encrypted
 * only. Without one the server is a plain WebTTY server. */
#pragma once

#include <stdbool.h>

#include "auth.h"
#include "identity.h"
#include "options.h"
#include "truststore.h"

typedef struct server_protection {
        endpoint_identity *identity; /* NULL: no E2E, no ServerHello */
        char *identity_source;       /* path or "RSTREAM_WEBTTY_IDENTITY", for logs */
        authorized_keys static_keys; /* --authorized-client-key, RSTREAM_WEBTTY_AUTHORIZED_CLIENT_KEYS */
        char *clients_file;          /* re-read per handshake */
        auth_replay_cache *replay;
        char signing_key_id_b64[48]; /* for the audit log */
} server_protection;

/* Resolves the identity (host spec 1.5; path sources are load-or-create),
 * the authorized client sources and the replay cache. Prints the reason to
 * stderr and returns a negative errno on failure. */
int protection_setup(const webttyd_config *cfg, server_protection *ret);
void protection_done(server_protection *p);

static inline bool protection_enabled(const server_protection *p) {
        return p->identity != NULL;
}

/* auth_lookup_fn over the static list, then the file. A file that cannot be
 * read fails the handshake (fail closed). */
int protection_lookup(const uint8_t key_id[SIGKEY_ID_LEN], uint8_t spki_out[SIGKEY_SPKI_LEN], bool *found,
                      void *userdata);
