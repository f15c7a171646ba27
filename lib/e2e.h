/* End-to-end payload encryption (spec 7): the session key grant that wraps a
 * random payload key for the server's encryption key, and the per-message
 * AES-256-GCM encryption of terminal bytes.
 *
 * Suites (standard profile; the FIPS profile, envelope suite 3 only, is not
 * implemented):
 *   envelope 1 (HPKE X25519/HKDF-SHA256/AES-256-GCM) <-> payload 1
 *   (AES-256-GCM, 12-byte nonce in PayloadCrypto.nonce);
 *   envelope 3 (P-256 ECDH + HKDF-SHA256 + AES-256-GCM, nonce-prefixed) <->
 *   payload 3 (AES-256-GCM, 12-byte nonce prefixed to the ciphertext).
 *
 * Error texts: functions that can fail because of peer input take
 * `char **ret_error`; on failure they return a negative errno and, if
 * ret_error is not NULL, set it to a malloc'd text in the Go reference's
 * words (it is NULL after -ENOMEM). *ret_error must be NULL or a malloc'd
 * string on entry (it is replaced). The texts never contain key material;
 * texts about peer input quote only numbers. On success *ret_error is left
 * as it was. Callers add their own prefix ("failed to resolve session key
 * grant: ", "failed to decrypt stdin payload: ", ...).
 *
 * Randomness: everything random comes from libsodium's randombytes_buf()
 * unless an e2e_rng is given. e2e_rng exists so tests can reproduce fixed
 * vectors (spec A.4); production code passes NULL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authcore.h"
#include "enckey.h"
#include "webtty.pb-c.h"

#define E2E_PAYLOAD_KEY_LEN 32
#define E2E_PAYLOAD_KEY_ID_LEN 16
#define E2E_NONCE_LEN 12
#define E2E_TAG_LEN 16

#define E2E_WRAP_INFO_DOMAIN "rstream-webtty-e2e-key/v1"
#define E2E_WRAP_AAD_DOMAIN "key-wrap"
#define E2E_PAYLOAD_AAD_DOMAIN "rstream-webtty-e2e-payload/v1"

/* Protocol enum values (webtty.proto). */

/* The three streams; the values are Data.Type's. */
typedef enum e2e_stream {
        E2E_STREAM_STDIN = 0,
        E2E_STREAM_STDOUT = 1,
        E2E_STREAM_STDERR = 2,
} e2e_stream;

/* "stdin", "stdout", "stderr" (the AAD labels), or NULL if out of range. */
const char *e2e_stream_name(e2e_stream stream);

/* ---- Injected randomness (tests only) ---- */

typedef enum e2e_rand_purpose {
        E2E_RAND_PAYLOAD_KEY,    /* 32 bytes */
        E2E_RAND_PAYLOAD_KEY_ID, /* 16 bytes */
        E2E_RAND_EPHEMERAL_KEY,  /* 32 bytes: X25519 private key, or P-256 scalar (1 <= d < n) */
        E2E_RAND_WRAP_NONCE,     /* 12 bytes: suite-3 key-wrap nonce */
        E2E_RAND_PAYLOAD_NONCE,  /* 12 bytes: payload nonce (both suites) */
} e2e_rand_purpose;

typedef struct e2e_rng {
        /* Fills buf[0..len) for purpose; returns 0 or a negative errno. */
        int (*fill)(void *userdata, e2e_rand_purpose purpose, uint8_t *buf, size_t len);
        void *userdata;
} e2e_rng;

/* Suites: e2e_payload_suite_for_envelope(), e2e_validate_suites() are in authcore.h. */

/* ---- Canonical context strings (spec 7.4, 7.8) ---- */

/* info = LP("rstream-webtty-e2e-key/v1") || U32(payload_suite) ||
 *        U32(envelope_suite) || LP(payload_key_id) || LP(key_context) */
int e2e_wrap_info(uint32_t payload_suite, uint32_t envelope_suite, const uint8_t *payload_key_id,
                  size_t kid_len, const uint8_t *key_context, size_t kc_len, uint8_t **ret, size_t *ret_len);
/* wrap_aad = LP("key-wrap") || U32(payload_suite) || U32(envelope_suite) ||
 *            LP(recipient_key_id) || LP(payload_key_id) || LP(key_context) */
int e2e_wrap_aad(uint32_t payload_suite, uint32_t envelope_suite, const uint8_t *recipient_key_id,
                 size_t rid_len, const uint8_t *payload_key_id, size_t kid_len, const uint8_t *key_context,
                 size_t kc_len, uint8_t **ret, size_t *ret_len);
/* payload_aad = LP("rstream-webtty-e2e-payload/v1") || LP(stream) ||
 *   U32(payload_suite) || LP(payload_key_id) || LP(aad_context) || LP(nonce)
 *   || U32(plaintext_length); nonce is empty for suite 3. */
int e2e_payload_aad(e2e_stream stream, uint32_t payload_suite, const uint8_t *payload_key_id, size_t kid_len,
                    const uint8_t *aad_context, size_t ac_len, const uint8_t *nonce, size_t nonce_len,
                    uint32_t plaintext_length, uint8_t **ret, size_t *ret_len);

/* ---- Key envelopes (spec 7.5, 7.6) ---- */

/* Wraps payload_key (32 bytes) for recipient (a public key of either suite;
 * its suite is the envelope suite) with the given info/aad. Writes the
 * encapsulated key (32 or 65 bytes) and the wrapped key (48 bytes for suite
 * 1: ciphertext || tag; 60 bytes for suite 3: nonce || ciphertext || tag);
 * both malloc'd. */
int e2e_envelope_wrap(const enckey *recipient, const uint8_t *info, size_t info_len, const uint8_t *aad,
                      size_t aad_len, const uint8_t payload_key[E2E_PAYLOAD_KEY_LEN], const e2e_rng *rng,
                      uint8_t **ret_encapsulated, size_t *ret_encapsulated_len, uint8_t **ret_wrapped,
                      size_t *ret_wrapped_len);
/* Unwraps with own's private key (own->suite is the envelope suite) into
 * payload_key_out (E2E_PAYLOAD_KEY_LEN bytes; the caller keeps it in locked
 * memory). Fails with the detail the Go reference puts after
 * "unwrap E2E payload key: " (-EBADMSG, ...), or with -EMSGSIZE and
 * "E2E unwrapped payload key must be 32 bytes" (which Go does not prefix). */
int e2e_envelope_unwrap(const enckey *own, const uint8_t *info, size_t info_len, const uint8_t *aad,
                        size_t aad_len, const uint8_t *encapsulated, size_t encapsulated_len,
                        const uint8_t *wrapped, size_t wrapped_len,
                        uint8_t payload_key_out[E2E_PAYLOAD_KEY_LEN], char **ret_error);

/* ---- The session ---- */

/* One E2E session: suites, the payload key (sodium_malloc'd, zeroed on
 * free), its 16-byte id, the key context bytes, and AES-GCM contexts keyed
 * once. Both ends hold the same session and use it for all three streams.
 * Not thread-safe: one session per connection, one thread. */
typedef struct e2e_session e2e_session;

/* A session from known values (tests, or a key kept elsewhere). Validates
 * the suite pair; copies everything. */
int e2e_session_new(uint32_t payload_suite, uint32_t envelope_suite, const uint8_t key[E2E_PAYLOAD_KEY_LEN],
                    const uint8_t key_id[E2E_PAYLOAD_KEY_ID_LEN], const uint8_t *key_context, size_t kc_len,
                    e2e_session **ret);
e2e_session *e2e_session_free(e2e_session *s);

uint32_t e2e_session_payload_suite(const e2e_session *s);
uint32_t e2e_session_envelope_suite(const e2e_session *s);
const uint8_t *e2e_session_key_id(const e2e_session *s); /* E2E_PAYLOAD_KEY_ID_LEN bytes */
void e2e_session_key_context(const e2e_session *s, const uint8_t **ret, size_t *ret_len);
/* Test hook: later payload nonces come from rng (copied; NULL restores
 * libsodium). */
void e2e_session_set_rng(e2e_session *s, const e2e_rng *rng);

/* ---- Client: building the grant (spec 7.2) ---- */

/* One recipient of the default key context (spec 7.3). kind is one of
 * "public_key", "user", "workspace_device", "workspace_keyset", "server";
 * kind and id are trimmed; both blank means kind "public_key" with id
 * b64u(key_id); one blank without the other is an error. */
typedef struct e2e_key_context_recipient {
        const uint8_t *key_id; /* E2E_PAYLOAD_KEY_ID_LEN bytes */
        const char *kind;
        const char *id;
} e2e_key_context_recipient;

/* The default key context JSON exactly as Go's encoding/json writes it:
 * {"v":1,"type":"rstream.webtty.session_key_grant","workspace_id":...,
 *  "project_id":...,"server_id":...,"recipients":[{"key_id":...,"kind":...,
 *  "id":...},...]} with blank (trimmed) ids omitted and Go's HTML-safe
 * string escaping. Errors: "E2E typed recipients require both kind and id",
 * "unsupported E2E recipient kind \"<kind>\"". *ret is malloc'd and
 * NUL-terminated; *ret_len excludes the NUL. */
int e2e_default_key_context(const char *workspace_id, const char *project_id, const char *server_id,
                            const e2e_key_context_recipient *recipients, size_t n_recipients, char **ret,
                            size_t *ret_len, char **ret_error);

/* Builds a SessionKeyGrant for n (>= 1) recipients, all of one envelope
 * suite (else "E2E recipients use multiple key envelope suites"; none:
 * "E2E client payload crypto requires at least one recipient"): a random
 * 32-byte payload key and 16-byte payload key id, one KeyEnvelope per
 * recipient in order (recipient_key_id = recipient->id). key_context is
 * copied as given; NULL/empty means the default context with every
 * recipient as kind "public_key" (Go's behaviour).
 *
 * *ret_grant is allocated piecewise with malloc (like protobuf-c's default
 * allocator), so free it with e2e_grant_free() or, once attached to an Open,
 * with the message's webtty__*__free_unpacked(..., NULL). It has no unknown
 * fields, so protobuf-c packs it canonically (spec 3.2). *ret_session holds
 * the same key for encrypting stdin and decrypting stdout/stderr. rng: NULL
 * in production. */
int e2e_grant_build(const enckey *const *recipients, size_t n, const uint8_t *key_context, size_t kc_len,
                    const e2e_rng *rng, Webtty__SessionKeyGrant **ret_grant, e2e_session **ret_session,
                    char **ret_error);
void e2e_grant_free(Webtty__SessionKeyGrant *grant);

/* ---- Server: opening the grant (spec 7.7) ---- */

/* Checks, in this order, with these texts (the caller prefixes
 * "failed to resolve session key grant: "):
 *   1. grant present:
 *      "missing E2E session key grant"
 *   2. suites supported and paired:
 *      "unsupported E2E key envelope suite <k>" /
 *      "E2E payload suite <p> does not match key envelope suite <k>"
 *   3. payload_key_id is 16 bytes:
 *      "E2E payload key id must be 16 bytes"
 *   4. own suite = the grant's envelope suite:
 *      "E2E identity suite <a> does not match key envelope suite <b>"
 *   5. own has its private key:
 *      "E2E identity private key must be 32 bytes"
 *   6. an envelope whose recipient_key_id is own->id (the first one):
 *      "E2E session key grant does not contain a key envelope for this identity"
 *   7. it unwraps:
 *      "unwrap E2E payload key: <detail>"
 *   8. to 32 bytes:
 *      "E2E unwrapped payload key must be 32 bytes"
 * then returns a session with the grant's suites, key id and key context. */
int e2e_grant_open(const Webtty__SessionKeyGrant *grant, const enckey *own, e2e_session **ret_session,
                   char **ret_error);

/* ---- Payloads (spec 7.8, 7.9) ---- */

/* Exact size of the serialized Message e2e_seal_data() writes for a len-byte
 * plaintext on stream (0 if len exceeds UINT32_MAX). */
size_t e2e_seal_data_size(const e2e_session *s, e2e_stream stream, size_t len);

/* Bytes e2e_seal_data() writes in front of the ciphertext body (0 on a bad
 * argument). A caller that puts the plaintext at out + this offset gets the
 * encryption done in place (pt == out + prefix is allowed), which saves a
 * pass over the data. */
size_t e2e_seal_data_prefix(const e2e_session *s, e2e_stream stream, size_t len);

/* Hot path: encrypts pt[0..len) with a fresh random nonce and writes the
 * complete serialized
 *   Message{data{type, encrypted_data{ciphertext, plaintext_length,
 *           payload_crypto{payload_suite, payload_key_id, nonce, aad_context}}}}
 * into out (out_size >= e2e_seal_data_size(), else -ENOBUFS), byte-identical
 * to protobuf-c/protobuf-go packing of the same fields. One AES-GCM pass
 * straight into out, no allocation. out must not overlap pt, except exactly
 * in place: pt == out + e2e_seal_data_prefix(). */
int e2e_seal_data(e2e_session *s, e2e_stream stream, const uint8_t *pt, size_t len, uint8_t *out,
                  size_t out_size, size_t *ret_len);
/* The same into a malloc'd buffer. */
int e2e_seal_data_alloc(e2e_session *s, e2e_stream stream, const uint8_t *pt, size_t len, uint8_t **ret,
                        size_t *ret_len);

/* Largest plaintext a Data's encrypted payload can yield (0 if none): the
 * buffer size e2e_open_data() needs. */
size_t e2e_open_data_max(const e2e_session *s, const Webtty__Data *d);

/* Decrypts d (as received) on the stream label the receiver expects:
 * the server passes E2E_STREAM_STDIN; the client passes the stream of
 * d->type (stdout/stderr) after checking the type. Checks, in order:
 *   encrypted_data present             "missing E2E encrypted payload"
 *   payload_crypto present             "missing E2E payload crypto metadata"
 *   payload_suite = session's          "unexpected E2E payload suite <n>"
 *   payload_key_id = session's         "unexpected E2E payload key id"
 *   aad_context = key context          "unexpected E2E key context"
 *   nonce 12 (suite 1) / 0 (suite 3)   "E2E AES-GCM nonce must be <12|0> bytes"
 *   AEAD opens (AAD from the received  "decrypt E2E <stream> payload: cipher: message authentication failed"
 *     metadata and the local stream)
 *   length = plaintext_length          "E2E <stream> payload length mismatch: got <a> want <b>"
 * Writes the plaintext to out (out_size >= e2e_open_data_max(), else
 * -ENOBUFS); on any failure nothing of it is left in out. */
int e2e_open_data(e2e_session *s, e2e_stream stream, const Webtty__Data *d, uint8_t *out, size_t out_size,
                  size_t *ret_len, char **ret_error);
/* The same into a malloc'd buffer (at least 1 byte allocated). */
int e2e_open_data_alloc(e2e_session *s, e2e_stream stream, const Webtty__Data *d, uint8_t **ret,
                        size_t *ret_len, char **ret_error);
