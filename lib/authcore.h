/* The protobuf-free half of the authenticated handshake (spec 6): SHA-256,
 * the canonical transcripts, RFC 3339 times and the proof time window, the
 * in-memory replay cache, and the ClientProof check itself on plain C
 * values. auth.h (protobuf) builds on it; pam_rstream.so links only this.
 *
 * Conventions as auth.h: 0 or a negative errno; texts in *ret_error are the
 * Go reference's exact words (malloc'd; NULL or malloc'd on entry). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "enckey.h"
#include "macro.h"
#include "sigkey.h"

#define AUTH_HASH_LEN 32
#define AUTH_NONCE_LEN 32
#define AUTH_PROTOCOL_VERSION 1
#define AUTH_PROOF_TTL_SEC 30 /* lifetime a client gives its proof, and the most a server accepts */
#define AUTH_CLOCK_SKEW_SEC 5 /* how far issued_at may lie in the server's future */
#define AUTH_REPLAY_CACHE_DEFAULT 4096

#define AUTH_CLIENT_DOMAIN "rstream-webtty-client-auth-v1"
#define AUTH_SERVER_DOMAIN "rstream-webtty-server-auth-v1"

/* Protocol enum values (webtty.proto). */
#define AUTH_REQUIREMENT_NONE 1
#define AUTH_REQUIREMENT_CLIENT_PROOF 2
#define AUTH_SIGNATURE_SUITE_ECDSA_P256_SHA256 1

/* What a ClientProof check tells the server to send. */
#define AUTH_CODE_PLAIN_ERROR 0 /* an Error{msg}, not a ProtocolError */
#define AUTH_CODE_CLIENT_PROOF_REQUIRED 4
#define AUTH_CODE_CLIENT_PROOF_INVALID 5
#define AUTH_CODE_CLIENT_UNAUTHORIZED 6
#define AUTH_PROOF_INVALID "WebTTY client proof is invalid" /* the prefix of code 5 texts */

/* E2E suite numbers (webtty.proto) and their pairing. */
#define E2E_PAYLOAD_SUITE_AES_256_GCM 1
#define E2E_PAYLOAD_SUITE_AES_256_GCM_RANDOM_NONCE 3
#define E2E_ENVELOPE_SUITE_HPKE_X25519 1
#define E2E_ENVELOPE_SUITE_P256 3

/* ---- Suites ---- */

/* The payload suite paired with an envelope suite (1 -> 1, 3 -> 3). Fails
 * with "unsupported E2E key envelope suite <k>" for anything else. */
int e2e_payload_suite_for_envelope(uint32_t envelope_suite, uint32_t *ret_payload_suite, char **ret_error);
/* A supported, correctly paired (payload, envelope) couple, else
 * "unsupported E2E key envelope suite <k>" or
 * "E2E payload suite <p> does not match key envelope suite <k>". */
int e2e_validate_suites(uint32_t payload_suite, uint32_t envelope_suite, char **ret_error);

void auth_sha256(const void *data, size_t len, uint8_t out[AUTH_HASH_LEN]);

/* *now when given (tests inject a time), else CLOCK_REALTIME; 0 or -errno. */
int auth_now(const struct timespec *now, struct timespec *ret);

/* Verifies the DER ECDSA signature sig of hash by the P-256 SPKI spki: 0, or
 * -EPERM with *ret_detail set to Go's text ("parse WebTTY signing public
 * key: ..." / "invalid WebTTY proof signature"), or -ENOMEM. */
int auth_verify_signature(const uint8_t *spki, size_t spki_len, const uint8_t hash[AUTH_HASH_LEN],
                          const uint8_t *sig, size_t sig_len, const char **ret_detail);

/* ---- Transcripts (spec 6.2, 6.5) ---- */

typedef struct auth_bytes {
        const uint8_t *data;
        size_t len;
} auth_bytes;

/* Strings may be NULL (= ""); they are trimmed as Go's strings.TrimSpace
 * when encoded (LPS). Byte strings are encoded as given (LP). */
typedef struct auth_server_transcript {
        uint32_t protocol_version; /* 1 */
        const char *transport;     /* "websocket" | "plain" | "webtransport" */
        const char *workspace_id, *project_id, *server_id, *session_id;
        auth_bytes server_signing_key_id, server_encryption_key_id, server_nonce;
        uint32_t auth_requirement; /* 1 or 2 */
        const uint32_t *payload_suites;
        size_t n_payload_suites;
        const uint32_t *key_envelope_suites;
        size_t n_key_envelope_suites;
        const uint32_t *signature_suites;
        size_t n_signature_suites;
} auth_server_transcript;

typedef struct auth_client_transcript {
        uint32_t protocol_version; /* 1 */
        const char *transport;
        const char *workspace_id, *project_id, *server_id, *session_id;
        auth_bytes server_signing_key_id, server_encryption_key_id, server_nonce;
        uint32_t auth_requirement; /* 2 */
        uint32_t payload_suite, key_envelope_suite;
        auth_bytes session_key_grant_hash, command_config_hash, attach_grant_hash;
        const char *requested_role, *client_principal_id;
        auth_bytes client_signing_key_id, client_credential_hash;
        const char *issued_at, *expires_at;
} auth_client_transcript;

/* The canonical bytes (malloc'd) and their SHA-256. */
int auth_server_transcript_bytes(const auth_server_transcript *t, uint8_t **ret, size_t *ret_len);
int auth_server_transcript_hash(const auth_server_transcript *t, uint8_t out[AUTH_HASH_LEN]);
int auth_client_transcript_bytes(const auth_client_transcript *t, uint8_t **ret, size_t *ret_len);
int auth_client_transcript_hash(const auth_client_transcript *t, uint8_t out[AUTH_HASH_LEN]);

/* ---- Time window (spec 6.6) ---- */

/* issued_at and expires_at parse as RFC 3339 (Go's time.Parse(time.RFC3339):
 * fractional seconds and numeric offsets accepted), expires_at >= now,
 * issued_at <= now + 5 s, and expires_at - issued_at <= 30 s. Texts (without
 * the "WebTTY client proof is invalid: " prefix):
 *   "WebTTY client proof issued_at is invalid: <parse error>"
 *   "WebTTY client proof expires_at is invalid: <parse error>"
 *   "WebTTY client proof has expired"
 *   "WebTTY client proof is not valid yet"
 *   "WebTTY client proof lifetime exceeds 30s"
 * now NULL: CLOCK_REALTIME. -EPERM when outside the window. */
int auth_check_time_window(const char *issued_at, const char *expires_at, const struct timespec *now,
                           char **ret_error);
/* RFC 3339 as Go parses it; -EINVAL if invalid. */
int auth_parse_rfc3339(const char *s, struct timespec *ret);
/* t (whole seconds, UTC) as YYYY-MM-DDTHH:MM:SSZ; -ERANGE outside years 0..9999. */
int auth_format_rfc3339(time_t t, char out[21]);

/* ---- Replay cache (in memory, one per server process) ---- */

/* A bounded cache of proofs already accepted, keyed by the transcript hash
 * (the signed bytes; not the signature, because ECDSA signatures are
 * malleable and high-S ones are accepted). An entry may be forgotten once
 * now > its expires_at + 5 s, i.e. when the time window would refuse the
 * proof anyway. When every slot holds an unexpired entry new proofs are
 * refused, never let through. */
typedef struct auth_replay_cache auth_replay_cache;

/* capacity 0 means AUTH_REPLAY_CACHE_DEFAULT. */
int auth_replay_cache_new(size_t capacity, auth_replay_cache **ret);
auth_replay_cache *auth_replay_cache_free(auth_replay_cache *c);
/* Records key (forget_after: Unix seconds after which the entry may go).
 * Expired entries are dropped first, oldest first. -EEXIST if key is
 * already there, -ENOSPC if the cache is full of unexpired entries. */
int auth_replay_cache_add(auth_replay_cache *c, const uint8_t key[AUTH_HASH_LEN], int64_t forget_after,
                          int64_t now);
size_t auth_replay_cache_count(const auth_replay_cache *c);

/* ---- The ClientProof check on plain values (spec 6.6, 6.7) ---- */

/* The authorization store: looks key_id up; on a hit copies the authorized
 * SPKI into spki_out and sets *found. Returns 0, or a negative errno when
 * the store could not be consulted (e.g. the file failed to load). */
typedef int (*auth_lookup_fn)(const uint8_t key_id[SIGKEY_ID_LEN], uint8_t spki_out[SIGKEY_SPKI_LEN],
                              bool *found, void *userdata);

/* The server side of the transcript: what the server sent in its
 * ServerHello (its own configured values, never the client's). */
typedef struct auth_proof_server {
        const char *transport; /* the server's own transport name */
        const char *session_id;
        const char *workspace_id, *project_id, *server_id; /* configured values (NULL = "") */
        const uint8_t *server_signing_key_id;              /* SIGKEY_ID_LEN bytes */
        const uint8_t *server_encryption_key_id;           /* ENCKEY_ID_LEN bytes */
        uint32_t key_envelope_suite;                       /* the server identity's: 1 or 3 */
        const uint8_t *nonce;                              /* the AUTH_NONCE_LEN bytes sent in ServerHello */
} auth_proof_server;

/* A ClientProof and the hashes of what it signs, protobuf decoded away. */
typedef struct auth_proof_claim {
        uint32_t signature_suite;
        auth_bytes signing_key_id, signing_public_key, transcript_hash, signature;
        const char *issued_at, *expires_at;
        const char *principal_id;       /* NULL when absent */
        const uint8_t *credential_hash; /* AUTH_HASH_LEN bytes: SHA256(credential), SHA256("") when absent */
        /* The suites the grant names (has_grant), else ignored. */
        bool has_grant;
        uint32_t grant_payload_suite, grant_key_envelope_suite;
        const uint8_t *grant_hash;  /* AUTH_HASH_LEN: auth_hash_grant() */
        const uint8_t *config_hash; /* AUTH_HASH_LEN: auth_hash_config() */
} auth_proof_claim;

/* Sets *ret_code and the text of a refusal; returns -EPERM. */
int auth_reject(int *ret_code, int code, char **ret_error, const char *fmt, ...) _printf_(4, 5);

/* Steps 2 and 4-11 of auth_client_proof_verify() (auth.h) with the same
 * codes and texts: suites, key id, time window, transcript, signature,
 * authorization (lookup required). On success fills transcript_out (the
 * replay key) and *forget_after (expires_at + 5 s, Unix seconds) when not
 * NULL. The replay step is the caller's (in-memory cache or a root-owned
 * directory). now NULL: CLOCK_REALTIME. */
int auth_proof_check(const auth_proof_claim *c, const auth_proof_server *s, auth_lookup_fn lookup,
                     void *userdata, const struct timespec *now, uint8_t transcript_out[AUTH_HASH_LEN],
                     int64_t *forget_after, int *ret_code, char **ret_error);
