/* The authenticated handshake (spec 6): canonical protobuf hashing (3.2), the
 * server and client transcripts, ServerHello building (server) and checking
 * (client), ClientProof building (client) and checking (server), the proof
 * time window, and a bounded replay cache.
 *
 * Conventions: every function returns 0 or a negative errno. Functions whose
 * failures are reported to a person or a peer take `char **ret_error` and set
 * it (when not NULL) to a malloc'd text in the Go reference's exact words;
 * after -ENOMEM it may stay NULL, and the caller then uses a generic text.
 * *ret_error must be NULL or a malloc'd string on entry (it is replaced).
 * Texts quote peer strings only capped (64 bytes) and escaped. Nothing here
 * logs, and no text contains key material. Not thread-safe where state is
 * involved (the replay cache): one event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "authcore.h"
#include "enckey.h"
#include "sigkey.h"
#include "webtty.pb-c.h"

/* The deterministic encoding protobuf-go produces for m: protobuf-c's packing
 * of a copy of m with the unknown fields of m and of every sub-message
 * dropped (fields in number order, proto3 defaults omitted, set sub-messages
 * and oneof members always written). *ret is malloc'd (at least 1 byte). */
int auth_canonical_pack(const ProtobufCMessage *m, uint8_t **ret, size_t *ret_len);
/* SHA256 of the canonical encoding; SHA256("") for NULL (an absent message). */
int auth_hash_config(const Webtty__Config *config, uint8_t out[AUTH_HASH_LEN]);
int auth_hash_grant(const Webtty__SessionKeyGrant *grant, uint8_t out[AUTH_HASH_LEN]);

/* ---- Identities ---- */

/* A local endpoint identity: the server's (ServerHello) or the client's
 * (ClientProof). Borrowed; the caller keeps it alive for the call. */
typedef struct auth_identity {
        const sigkey *signing;             /* with its private key */
        const uint8_t *signing_key_id;     /* SIGKEY_ID_LEN bytes */
        const uint8_t *signing_public_key; /* SIGKEY_SPKI_LEN bytes of SPKI DER */
        const enckey *encryption;          /* suite, pub, id (no private part needed) */
} auth_identity;

/* The pinned ("known server") identity a client expects. */
typedef struct auth_pinned_identity {
        uint32_t key_envelope_suite; /* 1 or 3; 0 = infer from the public key length */
        uint8_t encryption_key_id[ENCKEY_ID_LEN];
        uint8_t encryption_public_key[ENCKEY_PUB_MAX];
        size_t encryption_public_key_len; /* 32 or 65 */
        uint8_t signing_key_id[SIGKEY_ID_LEN];
        uint8_t signing_public_key[SIGKEY_SPKI_LEN];
} auth_pinned_identity;

/* ---- Server: ServerHello (spec 6.1) ---- */

typedef struct auth_server_config {
        const char *transport;                             /* the server's own transport name */
        const char *session_id;                            /* spec 4.11 */
        const char *workspace_id, *project_id, *server_id; /* NULL/blank: absent */
        bool require_client_proof;                         /* auth_requirement 2, else 1 */
} auth_server_config;

/* Builds the signed ServerHello: a fresh 32-byte nonce (also copied to
 * nonce_out: keep it for auth_client_proof_verify), the identity, the suite
 * lists [P], [K], [1] for the identity's envelope suite K and its paired
 * payload suite P, the trimmed ids as StringValues when non-blank, the
 * session id, and ServerProof{1, signing key id, SHA256(server transcript),
 * DER signature}. *ret is malloc'd piecewise: free it with
 * auth_server_hello_free() or as part of a Message with
 * webtty__message__free_unpacked(..., NULL). */
int auth_server_hello_build(const auth_identity *id, const auth_server_config *cfg,
                            uint8_t nonce_out[AUTH_NONCE_LEN], Webtty__ServerHello **ret);
void auth_server_hello_free(Webtty__ServerHello *hello);

/* ---- Client: checking the ServerHello (spec 6.3) ---- */

/* Checks hello against the pinned identity, with the client's own transport
 * name, in this order (the first failure wins; the client then closes):
 *   1. hello present:
 *      "WebTTY server hello is required"
 *   2. server_identity present:
 *      "WebTTY server hello is missing server identity"
 *   3. protocol_version = 1:
 *      "unsupported WebTTY protocol version <n>"
 *   4. the identity's key_envelope_suite is 1 or 3:
 *      "WebTTY server identity does not use the required key envelope suite"
 *   5. payload_suites = [the paired suite]:
 *      "WebTTY server does not advertise the required AES-256-GCM payload suite"
 *   6. key_envelope_suites = [the identity's suite]:
 *      "WebTTY server does not advertise the required key envelope suite"
 *   7. signature_suites = [1]:
 *      "WebTTY server does not advertise the required ECDSA P-256 signature suite"
 *   8. server_proof present with signature_suite 1:
 *      "WebTTY server proof does not use ECDSA P-256"
 *   9. the pinned suite (given, or inferred from the key length) is 1 or 3
 *      (a local configuration error, -EINVAL):
 *      "unsupported E2E key envelope suite <k>" / "unsupported E2E public key length <n>"
 *  10. the four identity byte strings equal the pinned ones:
 *      "WebTTY server identity does not match the expected identity"
 *  11. the identity's suite = the pinned suite:
 *      "WebTTY server key envelope suite does not match the expected identity"
 *  12. transcript_hash = the server transcript recomputed from the hello:
 *      "WebTTY server proof transcript hash does not match"
 *  13. the signature verifies with the hello's signing key:
 *      "WebTTY server proof signature is invalid: <detail>"
 * Returns 0 when the hello is authentic, else -EPERM (-EINVAL for a bad
 * pinned identity, -ENOMEM). */
int auth_server_hello_verify(const Webtty__ServerHello *hello, const auth_pinned_identity *pinned,
                             const char *transport, char **ret_error);

/* ---- Client: ClientProof (spec 6.4) ---- */

typedef struct auth_client_config {
        const char *transport;                             /* the client's own transport name */
        const char *principal_id, *device_id, *browser_id; /* NULL/blank: absent */
        const uint8_t *credential;                         /* optional workspace credential */
        size_t credential_len;
        const struct timespec *now; /* NULL: CLOCK_REALTIME (tests inject a time) */
} auth_client_config;

/* Builds the proof for open (whose config and session_key_grant are final
 * and are sent exactly as they are: they are hashed canonically) after
 * hello passed auth_server_hello_verify(). If hello does not require a
 * proof (auth_requirement != 2), returns 0 with *ret = NULL. Errors:
 *   client == NULL:
 *      "WebTTY server requires a client proof, but no client endpoint identity is configured"
 *   pinned == NULL:
 *      "WebTTY server requires a client proof, but no expected server endpoint identity is configured"
 *   hello without server_identity:
 *      "WebTTY server requires a client proof, but the server hello is missing server identity"
 *   unsupported or mismatched suites (grant's, else the hello identity's):
 *      the e2e texts ("unsupported E2E key envelope suite <k>", ...)
 * issued_at = now truncated to seconds as YYYY-MM-DDTHH:MM:SSZ, expires_at =
 * issued_at + 30 s. Free *ret with auth_client_proof_free() or as part of
 * the Open/Message. */
int auth_client_proof_build(const auth_identity *client, const auth_pinned_identity *pinned,
                            const Webtty__ServerHello *hello, const Webtty__Open *open,
                            const auth_client_config *cfg, Webtty__ClientProof **ret, char **ret_error);
void auth_client_proof_free(Webtty__ClientProof *proof);

/* ---- Server: checking Open.client_proof (spec 6.6, 6.7) ---- */

/* What the server sent in its ServerHello, and how to authorize. */
typedef struct auth_verifier {
        auth_proof_server server; /* the server side of the transcript */
        auth_lookup_fn lookup;    /* required */
        void *userdata;
        auth_replay_cache *replay;  /* NULL: no replay cache */
        const struct timespec *now; /* NULL: CLOCK_REALTIME */
} auth_verifier;

/* Who the verified client is (for the audit log). Strings are malloc'd,
 * trimmed, "" when absent; free with auth_verified_client_done(). */
typedef struct auth_verified_client {
        uint8_t signing_key_id[SIGKEY_ID_LEN];
        char *principal_id, *device_id, *browser_id;
} auth_verified_client;

void auth_verified_client_done(auth_verified_client *c);

/* Verifies open->client_proof. Returns 0 if the client is authenticated and
 * authorized (and fills *ret_client if not NULL); otherwise a negative errno
 * (always: reject the Open, start no process) with *ret_code and *ret_error
 * telling what to send. Order, codes and texts ("..." stands for
 * "WebTTY client proof is invalid"):
 *   1. proof present:                       4 "WebTTY client proof is required"
 *   2. signature_suite = 1:                 5 "...: unsupported signature suite"
 *   3. the grant's (payload, envelope) pair 5 "...: <e2e suite text>"
 *      if there is a grant, else the pair
 *      of the identity's suite, supported:
 *   4. signing_key_id is 32 bytes:          5 "...: invalid signing key id"
 *   5. = SHA256(domain || public key):      5 "...: signing key id does not match signing public key"
 *   6. time window (auth_check_time_window) 5 "...: <window text>"
 *   7. transcript hash recomputed with the  5 "...: transcript hash does not match"
 *      server's own values:
 *   8. signature:                           5 "...: signature is invalid: <detail>"
 *   9. lookup(signing_key_id) fails:        0 "WebTTY authorized client keys could not be loaded"
 *      (fail closed, as a plain Error: Go returns a resolver's error as-is)
 *  10. not found:                           6 "WebTTY client signing key is not authorized"
 *  11. authorized SPKI = the proof's key:   5 "...: signing key does not match the authorized key"
 *  12. replay cache (if any): not seen:     5 "...: proof was already used"
 *  13. replay cache not full:               5 "...: replay cache is full"
 * On -ENOMEM *ret_code is 0 and *ret_error may be NULL. */
int auth_client_proof_verify(const auth_verifier *v, const Webtty__Open *open, int *ret_code,
                             char **ret_error, auth_verified_client *ret_client);
