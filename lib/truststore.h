/* WebTTY trust stores (host spec §2): the client's known_servers.json and
 * the server's authorized_clients/<store>.json, plus the server's static
 * list of authorized client keys.
 *
 * Reading goes through safefile_read() (no symlink as the last component,
 * regular file, at most 1 MiB, and the permission refusals of host spec §11:
 *   "known WebTTY server keys file <path> must not be readable by group or others"
 *   "authorized WebTTY client keys file <path> must not be readable by group or others"
 * with -EACCES; a missing file is -ENOENT). Writing is read-modify-write
 * under "<path>.lock" through safefile (parent created 0700, checked; file
 * 0600; temp prefixes ".webtty-known-servers-" / ".webtty-authorized-clients-"),
 * entries sorted by name (byte order) on every write; JSON written as the
 * reference writes it (two-space indentation, field order of the spec
 * tables, one trailing newline).
 *
 * Decoding is strict (unknown fields, a second JSON value: errors) and,
 * unlike the reference which validates some entries only when it uses them,
 * every entry is validated at load, so a store that loads is fully usable.
 *
 * Every int function returns 0 or a negative errno with the exact message in
 * *ret_error (errmsg.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "identity.h"
#include "macro.h"

#define TRUST_SUITE_X25519 "webtty-e2e-x25519-hpke-aes-256-gcm-v1"
#define TRUST_SUITE_P256 "webtty-e2e-p256-hkdf-sha256-aes-256-gcm-random-nonce-v1"
#define TRUST_SUITE_MIXED "webtty-e2e-mixed-v1"

/* ---- known_servers.json (client side, host spec §2.1) ------------------- */

typedef struct known_server {
        char *name;            /* as stored (validated non-blank) */
        endpoint_public key;   /* encryption key; signing half when has_signing */
        char *client_identity; /* "" when none */
        char *created_at;      /* "" when none; kept verbatim */
} known_server;

typedef struct known_servers {
        char *crypto_suite; /* the marker as read (kept for an empty store) */
        known_server *entries;
        size_t n;
} known_servers;

known_servers *known_servers_free(known_servers *ks);
DEFINE_TRIVIAL_CLEANUP_FUNC(known_servers, known_servers_free);
void known_server_clear(known_server *e);

/* Decodes a document from memory; path is only used in messages. Order:
 *   "decode known WebTTY server keys <path>: <json error>" (also
 *     "...: multiple JSON values")
 *   "unsupported known WebTTY server keys version <n>"
 *   "unsupported known WebTTY server keys crypto suite \"<s>\": <cause>",
 *     cause one of "known WebTTY server name is required", the keymat
 *     messages of "known WebTTY server public key" / "known WebTTY server key
 *     id", "known WebTTY server key id is required", "known WebTTY server key
 *     id does not match public key", "unsupported E2E public key length <n>",
 *     "unsupported WebTTY E2E identity crypto suite \"<s>\"",
 *     "mixed known WebTTY server key suites require the mixed crypto suite marker",
 *     "known WebTTY server key suite does not match the file crypto suite"
 *   "decode known WebTTY server identity <i>: <cause>" for the signing half:
 *     "known WebTTY server signing key id and public key must be set together"
 *     and the signing messages of endpoint_public_parse_identity(). */
int known_servers_parse(const void *data, size_t len, const char *path, known_servers **ret,
                        char **ret_error);
/* The document (crypto_suite recomputed from the entries: mixed, per-suite,
 * or the kept/default X25519 marker for an empty store). malloc'd. */
int known_servers_format(const known_servers *ks, char **ret, size_t *ret_len);
/* Reads path (-ENOENT when missing). */
int known_servers_load(const char *path, known_servers **ret, char **ret_error);

/* `known-server add`: name trimmed (non-blank: "known WebTTY server name is
 * required"); replaces the entry with exactly that name (keeping its
 * client_identity when client_identity is NULL/empty), else appends;
 * created_at = now. *ret_entry (may be NULL) receives a copy of the stored
 * entry (known_server_clear() it). */
int known_servers_add(const char *path, const char *name, const endpoint_public *key,
                      const char *client_identity, time_t now, known_server *ret_entry, char **ret_error);
/* Removes every entry with that name: "known WebTTY server \"<name>\" was not found". */
int known_servers_remove(const char *path, const char *name, char **ret_error);
/* Sets client_identity of the first entry with that name (same not-found
 * message); *ret_entry as for add. */
int known_servers_set_identity(const char *path, const char *name, const char *client_identity,
                               known_server *ret_entry, char **ret_error);

/* ---- authorized_clients/<store>.json (server side, host spec §2.2) ------ */

typedef struct authorized_client {
        char *name; /* as stored (validated non-blank) */
        uint8_t id[SIGKEY_ID_LEN];
        uint8_t spki[SIGKEY_SPKI_LEN];
        char *created_at; /* "" when none; kept verbatim */
} authorized_client;

typedef struct authorized_clients {
        authorized_client *entries;
        size_t n;
} authorized_clients;

authorized_clients *authorized_clients_free(authorized_clients *ac);
DEFINE_TRIVIAL_CLEANUP_FUNC(authorized_clients, authorized_clients_free);
void authorized_client_clear(authorized_client *e);

/* Decodes a document from memory; path only for messages. Order:
 *   "decode authorized WebTTY client keys <path>: <json error>"
 *   "unsupported authorized WebTTY client keys version <n>"
 *   "unsupported authorized WebTTY client keys crypto suite \"<s>\"" (must be
 *     exactly TRUST_SUITE_X25519, also for P-256 identities)
 *   "decode authorized WebTTY client <i>: <cause>", cause
 *     "authorized WebTTY client name is required" or a message of
 *     authorized_client_key_parse() of "<signing_key_id>:<signing_public_key>". */
int authorized_clients_parse(const void *data, size_t len, const char *path, authorized_clients **ret,
                             char **ret_error);
int authorized_clients_format(const authorized_clients *ac, char **ret, size_t *ret_len);
/* Reads path (-ENOENT when missing). */
int authorized_clients_load(const char *path, authorized_clients **ret, char **ret_error);

/* `authorized-client add`: name trimmed ("authorized WebTTY client name is
 * required"), key in any authorized_client_key_parse() syntax; replaces the
 * entry with that name, else appends; created_at = now. */
int authorized_clients_add(const char *path, const char *name, const char *key, time_t now,
                           authorized_client *ret_entry, char **ret_error);
/* "authorized WebTTY client \"<name>\" was not found". */
int authorized_clients_remove(const char *path, const char *name, char **ret_error);
/* The default name for `add` without one: "client-" + the first 12
 * characters of b64u(key id). malloc'd. */
int authorized_client_default_name(const uint8_t id[SIGKEY_ID_LEN], char **ret);

/* THE PER-HANDSHAKE LOOKUP. webttyd calls this at client-proof time for every
 * session whose key id is not in its static list (authorized_keys_find()
 * first), so `webtty authorized-client add/remove` take effect for the next
 * session without a restart. It re-reads and fully re-validates path on
 * every call (no caching, no lock; writers replace the file atomically):
 *   - missing file: returns 0 with *found = false (no keys);
 *   - unreadable, symlinked, non-regular, group/other-readable, too large or
 *     malformed: returns the negative errno and message; the handshake must
 *     then fail with that message;
 *   - otherwise *found tells whether key_id is listed; when it is, spki_out
 *     receives the 91-byte SPKI DER of the signing key (its SHA-256 id equals
 *     key_id by construction).
 * Blocking file I/O of at most 1 MiB; safe to call from any thread. */
int authorized_clients_lookup(const char *path, const uint8_t key_id[SIGKEY_ID_LEN],
                              uint8_t spki_out[SIGKEY_SPKI_LEN], bool *found, char **ret_error);

/* ---- the static list (read once at server start) ------------------------ */

typedef struct authorized_key {
        uint8_t id[SIGKEY_ID_LEN];
        uint8_t spki[SIGKEY_SPKI_LEN];
} authorized_key;

typedef struct authorized_keys {
        authorized_key *keys;
        size_t n;
} authorized_keys;

/* One --authorized-client-key value (any authorized_client_key_parse()
 * syntax; an empty value is "authorized WebTTY client signing key is
 * empty"). A key already listed is not added twice. */
int authorized_keys_add(authorized_keys *list, const char *text, char **ret_error);
/* RSTREAM_WEBTTY_AUTHORIZED_CLIENT_KEYS: the whole value trimmed; if not
 * empty, split on ',' and each element added as above (so "a,,b" fails with
 * "authorized WebTTY client signing key is empty"). NULL or blank adds
 * nothing. */
int authorized_keys_add_env(authorized_keys *list, const char *value, char **ret_error);
/* Static-list lookup (webttyd's first step at client-proof time). */
bool authorized_keys_find(const authorized_keys *list, const uint8_t key_id[SIGKEY_ID_LEN],
                          uint8_t spki_out[SIGKEY_SPKI_LEN]);
void authorized_keys_clear(authorized_keys *list);
