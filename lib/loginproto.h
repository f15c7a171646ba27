/* The login-mode wire formats (no protobuf, no event loop: also linked into
 * pam_rstream.so):
 *
 *   1. webttyd <-> webttyd-login, over a SOCK_SEQPACKET unix socket
 *      (/run/webttyd/login.sock, or a socketpair when webttyd spawns
 *      webttyd-login itself). One message per packet.
 *   2. webttyd-login -> pam_rstream: the proof bundle, handed over as the
 *      answer to the module's PAM_PROMPT_ECHO_OFF prompt LOGINPROTO_PAM_PROMPT
 *      (base64url, no padding), so no PAM item or environment carries it.
 *
 * Encoding of every message (strict; the decoder is fuzzed):
 *   u8 version (1) | u8 type | records...
 *   record = u8 tag | u32 length (big endian) | bytes
 * Tags strictly increasing (so each at most once), unknown tags refused,
 * required tags per type checked, strings without NUL bytes, the whole
 * message at most LOGINPROTO_MAX bytes. Decoded strings and byte strings are
 * malloc'd copies; free a decoded message with its _done() function.
 *
 * Every int function returns 0 or a negative errno; decoders put a one-line
 * reason in *ret_error (malloc'd, names the type and tag). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGINPROTO_VERSION 1
#define LOGINPROTO_MAX (256 * 1024)
#define LOGINPROTO_PAM_PROMPT "rstream-webtty-proof-v1:"
#define LOGINPROTO_NONCE_LEN 32
#define LOGINPROTO_HASH_LEN 32

typedef enum loginproto_type {
        LOGINPROTO_REQUEST = 1, /* webttyd -> login: start a session */
        LOGINPROTO_STARTED = 2, /* login -> webttyd: running; fds attached (SCM_RIGHTS) */
        LOGINPROTO_REFUSED = 3, /* login -> webttyd: not started; text for the peer */
        LOGINPROTO_SIGNAL = 4,  /* webttyd -> login: signal the session's process group */
        LOGINPROTO_EXITED = 5,  /* login -> webttyd: the session's process ended */
        LOGINPROTO_PROOF = 6,   /* login -> pam_rstream: what the ClientProof is checked against */
} loginproto_type;

/* REQUEST. webttyd's claims are only inputs: webttyd-login re-derives
 * everything it can (config and grant hashes from `open`) and pam_rstream
 * checks the proof against the server identity and authorized clients it
 * reads itself. */
typedef struct loginproto_request {
        char *transport;  /* "websocket" | "plain": the server transport name in the transcript */
        char *peer;       /* remote address for logs and utmp ut_host ("" when unknown) */
        char *session_id; /* the ServerHello session id */
        bool has_nonce;   /* false for a session without ServerHello (no E2E) */
        uint8_t nonce[LOGINPROTO_NONCE_LEN];
        uint8_t *open; /* the client's Open message, protobuf as received */
        size_t open_len;
} loginproto_request;

/* STARTED. The fds travel in the same packet: 1 (PTY master) when tty,
 * else 3 (stdin write end, stdout read end, stderr read end). */
typedef struct loginproto_started {
        int32_t pid; /* the session leader, for logs only: webttyd cannot signal it */
        bool tty;
        char *user;     /* the OS user the session runs as */
        char *tty_name; /* "pts/3", "" for pipes */
} loginproto_started;

typedef struct loginproto_refused {
        char *message; /* sent to the peer as Error{msg}; never policy internals */
} loginproto_refused;

typedef struct loginproto_signal {
        int32_t signo; /* SIGHUP, SIGINT, SIGTERM or SIGKILL only */
} loginproto_signal;

typedef struct loginproto_exited {
        int32_t code; /* 0..255, or -1 when the process died from a signal (spec 5.7) */
} loginproto_exited;

/* PROOF: the transcript inputs webttyd-login derived from the request plus
 * the ClientProof fields, protobuf decoded away. */
typedef struct loginproto_proof {
        char *transport, *session_id;
        uint8_t nonce[LOGINPROTO_NONCE_LEN];
        bool has_grant;                             /* Open carried a SessionKeyGrant */
        uint32_t payload_suite, key_envelope_suite; /* the grant's (0 without a grant: the module
                                                     * uses its server identity's suite) */
        uint8_t grant_hash[LOGINPROTO_HASH_LEN];    /* auth_hash_grant() of Open.session_key_grant */
        uint8_t config_hash[LOGINPROTO_HASH_LEN];   /* auth_hash_config() of Open.config */
        /* ClientProof */
        uint32_t signature_suite;
        uint8_t *signing_key_id, *signing_public_key, *transcript_hash, *signature;
        size_t signing_key_id_len, signing_public_key_len, transcript_hash_len, signature_len;
        char *issued_at, *expires_at;
        bool has_principal_id, has_device_id, has_browser_id, has_credential;
        char *principal_id, *device_id, *browser_id;
        uint8_t *credential;
        size_t credential_len;
        bool has_proof;       /* false: an unauthenticated (non-E2E) session; the ClientProof
                               * fields above are then empty */
        char *requested_user; /* Open.config.username resolved to a name ("" when none) */
        /* webttyd-login's own configuration, never webttyd's claims: */
        char *default_user;  /* --login-user ("" when none) */
        char *server_labels; /* "key=value" lines joined by '\n' ("" when none) */
} loginproto_proof;

/* Encoders: *ret malloc'd. */
int loginproto_encode_request(const loginproto_request *m, uint8_t **ret, size_t *ret_len);
int loginproto_encode_started(const loginproto_started *m, uint8_t **ret, size_t *ret_len);
int loginproto_encode_refused(const loginproto_refused *m, uint8_t **ret, size_t *ret_len);
int loginproto_encode_signal(const loginproto_signal *m, uint8_t **ret, size_t *ret_len);
int loginproto_encode_exited(const loginproto_exited *m, uint8_t **ret, size_t *ret_len);
int loginproto_encode_proof(const loginproto_proof *m, uint8_t **ret, size_t *ret_len);

/* The type of an encoded message (after checking the version byte), so the
 * receiver knows which decoder to call. -EBADMSG when short or another version. */
int loginproto_peek_type(const uint8_t *buf, size_t len, loginproto_type *ret);

int loginproto_decode_request(const uint8_t *buf, size_t len, loginproto_request *ret, char **ret_error);
int loginproto_decode_started(const uint8_t *buf, size_t len, loginproto_started *ret, char **ret_error);
int loginproto_decode_refused(const uint8_t *buf, size_t len, loginproto_refused *ret, char **ret_error);
int loginproto_decode_signal(const uint8_t *buf, size_t len, loginproto_signal *ret, char **ret_error);
int loginproto_decode_exited(const uint8_t *buf, size_t len, loginproto_exited *ret, char **ret_error);
int loginproto_decode_proof(const uint8_t *buf, size_t len, loginproto_proof *ret, char **ret_error);

void loginproto_request_done(loginproto_request *m);
void loginproto_started_done(loginproto_started *m);
void loginproto_refused_done(loginproto_refused *m);
void loginproto_proof_done(loginproto_proof *m); /* zeroes what it frees */
