/* WebTTY endpoint identities (host spec §1) and their public text forms
 * (protocol spec §5.3, host spec §1.6, §2.2).
 *
 * An endpoint identity is an encryption key pair (enckey.h: X25519 or P-256)
 * plus an ECDSA P-256 signing key pair (sigkey.h). Private keys live only in
 * enckey/sigkey objects (sodium_malloc'd) and, transiently, in buffers this
 * module zeroes: decoded private bytes go to sodium_malloc'd buffers; the
 * JSON text of a document is read into a buffer zeroed on free, json-c's
 * tokener buffer and the parsed document's string values are zeroed before
 * they are freed; a serialised document is built in sodium_malloc'd memory
 * and json-c's printbuf copy is zeroed. Remaining exposure: json-c may
 * realloc its tokener/printbuf buffers while growing them, and the freed
 * older blocks are not zeroed; libc stdio is never used for key material.
 *
 * Every function returns 0 or a negative errno; where a message exists it is
 * the reference's exact text, in *ret_error (errmsg.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "enckey.h"
#include "macro.h"
#include "sigkey.h"

/* crypto_suite values of the identity document (§1.2). */
#define IDENTITY_SUITE_X25519 "webtty-endpoint-x25519-ecdsa-p256-v1"
#define IDENTITY_SUITE_P256 "webtty-endpoint-p256-hkdf-sha256-aes-256-gcm-random-nonce-ecdsa-p256-v1"
#define IDENTITY_TMP_PREFIX ".webtty-endpoint-identity-"

/* ---- key material (Go DecodeE2EKeyMaterial) ----------------------------- */

/* Decodes one b64u field of a file or text form, checking in the reference's
 * order (value trimmed first):
 *   "<field> is empty"                                   -EINVAL
 *   "decode <field>: illegal base64 data at input byte <n>"  -EINVAL
 *   "<field> must decode to <want> bytes"  (only when want > 0)  -EBADMSG
 *   "<field> must be canonical base64url without padding"    -EINVAL
 * *ret is malloc'd, or sodium_malloc'd when secret (free with sodium_free). */
int keymat_decode(const char *value, size_t want, const char *field, bool secret, uint8_t **ret,
                  size_t *ret_len, char **ret_error);
/* The same into a caller buffer of exactly want bytes. */
int keymat_decode_exact(const char *value, uint8_t *out, size_t want, const char *field, char **ret_error);

/* ---- public half and text forms ----------------------------------------- */

typedef struct endpoint_public {
        enckey_suite suite; /* from the encryption key length: 32 -> X25519, 65 -> P-256 */
        uint8_t enc_id[ENCKEY_ID_LEN];
        uint8_t enc_pub[ENCKEY_PUB_MAX];
        size_t enc_pub_len;
        bool has_signing; /* false for an encryption-only known server */
        uint8_t sig_id[SIGKEY_ID_LEN];
        uint8_t sig_spki[SIGKEY_SPKI_LEN];
} endpoint_public;

/* The 4-part endpoint identity "enc_id:enc_pub:sig_id:sig_spki" only (Go
 * ParseKnownServerEndpointIdentity). Trimmed; messages:
 *   "known WebTTY server endpoint identity is empty"
 *   "known WebTTY server endpoint identity must be
 * encryption_key_id:encryption_public_key:signing_key_id:signing_public_key" the known-server key messages
 * below for the first two parts, keymat messages for "known WebTTY server signing key id" (32 bytes) and
 *   "known WebTTY server signing public key",
 *   "known WebTTY server signing public key is invalid: parse WebTTY signing public key: <cause>"
 *   "known WebTTY server signing key id does not match public key" */
int endpoint_public_parse_identity(const char *text, endpoint_public *ret, char **ret_error);

/* What `known-server add --key` and --known-server-key accept: the 4-part
 * form when the value has exactly three ':', else "public_key" or
 * "key_id:public_key" (has_signing false). Messages for the short forms:
 *   "known WebTTY server key is empty"
 *   "known WebTTY server key must be public_key or key_id:public_key"
 *   keymat messages for "known WebTTY server key id" (16 bytes) and
 *   "known WebTTY server public key",
 *   "known WebTTY server key id does not match public key"
 *   "unsupported E2E public key length <n>"
 *   "invalid E2E P-256 public key" (a 65-byte value not on the curve; the
 *   reference only checks this later, when it encrypts to the key) */
int endpoint_public_parse(const char *text, endpoint_public *ret, char **ret_error);

/* The encryption half from a raw public key (Go E2ERecipientFromPublicKey):
 * suite from the length, id derived; has_signing false. Messages:
 * "unsupported E2E public key length <n>", "invalid E2E P-256 public key". */
int endpoint_public_from_encryption_key(const uint8_t *pub, size_t len, endpoint_public *ret,
                                        char **ret_error);

/* Adds the signing half from its two b64u texts, "<what>" naming the source
 * (e.g. "known WebTTY server"): keymat messages of "<what> signing key id"
 * (32 bytes) and "<what> signing public key", then
 * "<what> signing public key is invalid: parse WebTTY signing public key: <cause>",
 * "<what> signing key id does not match public key". */
int endpoint_public_set_signing(endpoint_public *p, const char *id_text, const char *spki_text,
                                const char *what, char **ret_error);

/* The 4-part string (malloc'd); -EINVAL without a signing half. */
int endpoint_public_format(const endpoint_public *p, char **ret);

/* Authorized-client key syntaxes (host spec §2.2): exactly three ':' -> the
 * 4-part identity (its signing half); else "signing_public_key" or
 * "signing_key_id:signing_public_key" (each part trimmed). Messages:
 *   "authorized WebTTY client signing key is empty"
 *   "authorized WebTTY client signing key must be signing_public_key, signing_key_id:signing_public_key, or
 * a WebTTY endpoint identity" keymat messages for "authorized WebTTY client signing public key" and
 *   "authorized WebTTY client signing key id" (32 bytes),
 *   "authorized WebTTY client signing public key is invalid: parse WebTTY signing public key: <cause>"
 *   "authorized WebTTY client signing key id does not match public key"
 *   and the 4-part messages above. As the reference, an empty key id part
 *   (":spki") is accepted and the id derived. */
int authorized_client_key_parse(const char *text, uint8_t id[SIGKEY_ID_LEN], uint8_t spki[SIGKEY_SPKI_LEN],
                                char **ret_error);
/* "signing_key_id:signing_public_key" (malloc'd). */
int authorized_client_key_format(const uint8_t id[SIGKEY_ID_LEN], const uint8_t spki[SIGKEY_SPKI_LEN],
                                 char **ret);

/* "sha256:" + b64u(SHA-256(key)) (host spec §1.6), malloc'd. */
int key_fingerprint(const uint8_t *key, size_t len, char **ret);

/* ---- the identity ------------------------------------------------------- */

typedef struct endpoint_identity {
        enckey *enc;         /* with its private scalar */
        sigkey *sig;         /* with its private key */
        endpoint_public pub; /* derived from the private keys; has_signing is true */
} endpoint_identity;

/* Fresh keys for suite (ENCKEY_SUITE_X25519 standard, ENCKEY_SUITE_P256
 * "fips-compatible"). */
int endpoint_identity_generate(enckey_suite suite, endpoint_identity **ret);
endpoint_identity *endpoint_identity_free(endpoint_identity *id);
DEFINE_TRIVIAL_CLEANUP_FUNC(endpoint_identity, endpoint_identity_free);

const char *endpoint_identity_crypto_suite(enckey_suite suite);

/* Decodes an identity document from memory (Go
 * DecodeWebTTYEndpointIdentityJSON), without the load prefix. Order:
 *   decode ("decode WebTTY endpoint identity: json: unknown field ..." etc.,
 *     "decode WebTTY endpoint identity: multiple JSON values")
 *   "unsupported WebTTY endpoint identity version <n>"
 *   "unsupported WebTTY endpoint identity crypto suite \"<s>\""
 *   keymat messages for "WebTTY endpoint encryption private key" (32 bytes),
 *     then "WebTTY endpoint encryption key id" (16) and
 *     "WebTTY endpoint encryption public key" (32 or 65 by suite),
 *   "WebTTY endpoint encryption key id does not match private key"
 *   "WebTTY endpoint encryption public key does not match private key"
 *   keymat messages for "WebTTY endpoint signing private key",
 *   "parse WebTTY signing private key: <cause>",
 *   keymat messages for "WebTTY endpoint signing key id" (32) and
 *     "WebTTY endpoint signing public key",
 *   "WebTTY endpoint signing key id does not match private key"
 *   "WebTTY endpoint signing public key does not match private key"
 * Errors are -EBADMSG/-EINVAL. Used by the loader and the fuzzer. */
int endpoint_identity_parse(const void *data, size_t len, endpoint_identity **ret, char **ret_error);

/* The document text (§1.2 field order, two-space indentation, one trailing
 * newline) with created_at = now (UTC, whole seconds). *ret is sodium_malloc'd
 * (it holds the private keys): free with sodium_free(). */
int endpoint_identity_format(const endpoint_identity *id, time_t now, char **ret, size_t *ret_len);

/* Reads and decodes path. The permission check (safefile.h) comes first:
 *   "E2E identity file <path> must not be readable by group or others"
 * (-EACCES; a missing file is -ENOENT "open <path>: No such file or
 * directory"); decode errors become
 *   "load WebTTY endpoint identity <path>: <endpoint_identity_parse message>"
 * (the reference prefixes only decode errors, not the permission refusal). */
int endpoint_identity_load(const char *path, endpoint_identity **ret, char **ret_error);

/* The public half of an identity document, for a verifier that needs the
 * key ids and public keys only (pam_rstream): the same document checks and
 * file checks as above, the same messages for the public fields, plus
 *   "WebTTY endpoint encryption key id does not match public key"
 *   "WebTTY endpoint signing key id does not match public key"
 * The private fields are never decoded (the document text is wiped). */
int endpoint_public_parse_identity_document(const void *data, size_t len, endpoint_public *ret,
                                            char **ret_error);
int endpoint_public_load_identity(const char *path, endpoint_public *ret, char **ret_error);

/* Load-or-create (host spec §1.2): an existing valid file is returned
 * unchanged (read without the lock, so read access suffices); an existing
 * invalid one is an error (never overwritten); a missing one is re-checked
 * under "<path>.lock" and gets a fresh identity for suite written through
 * safefile (parent created 0700 and checked, file 0600, temp prefix
 * ".webtty-endpoint-identity-"). suite 0 means
 * "whatever an existing file has, X25519 when creating"; an explicit suite
 * must match an existing file's: "WebTTY endpoint identity <path> uses key
 * envelope suite <n>, requested <m>". *ret_created (may be NULL) tells which
 * happened. */
int endpoint_identity_load_or_create(const char *path, enckey_suite suite, endpoint_identity **ret,
                                     bool *ret_created, char **ret_error);

/* RSTREAM_WEBTTY_IDENTITY (host spec §1.4): the whole document inline.
 * "RSTREAM_WEBTTY_IDENTITY must contain a WebTTY endpoint identity JSON
 * document: <cause>". Never written to disk. */
int endpoint_identity_parse_inline(const char *value, endpoint_identity **ret, char **ret_error);
