/* Where the WebTTY files live (host spec §0.1, §1.1, §2.1, §2.2) and the
 * name rules for them. Pure path computation: nothing here touches the file
 * system except the passwd lookup for the home directory.
 *
 * All functions return 0 or a negative errno with the message in *ret_error
 * (errmsg.h); returned strings are malloc'd. "Trimmed" means Go's
 * strings.TrimSpace (trimspace.h). */
#pragma once

#include <stdbool.h>

/* The home directory: $HOME if set and non-empty, else the passwd entry of
 * the effective uid ("cannot determine the home directory" otherwise). */
int datadir_home(char **ret, char **ret_error);

/* The data root: RSTREAM_DATA_DIR trimmed, which must be absolute
 * ("RSTREAM_DATA_DIR must be an absolute path", -EINVAL) and is lexically
 * cleaned; else <home>/.rstream. */
int datadir_root(char **ret, char **ret_error);

/* Go's filepath.Clean: collapses "//", drops ".", resolves ".." lexically,
 * "" -> ".". Never fails except -ENOMEM. */
int path_clean(const char *path, char **ret);
/* Joins a and b with one '/' and cleans the result. */
int path_join(const char *a, const char *b, char **ret);
/* Go's filepath.Base: last element, trailing slashes dropped; "" -> ".". */
int path_base(const char *path, char **ret);

/* User-given paths (flags, env vars): trimmed; exactly "~" becomes the home
 * directory, "~/x" becomes <home>/x (cleaned); anything else is returned as
 * is (relative paths stay relative to the working directory). */
int datadir_expand_user_path(const char *value, char **ret, char **ret_error);

/* A local name for file names: ^[A-Za-z0-9._-]+$, not "." or "..". */
bool datadir_name_valid(const char *name);

/* DATA/webtty/identities */
int datadir_identities_dir(char **ret, char **ret_error);
/* DATA/webtty/identities/<name>.identity.json. The name is trimmed and must be
 * valid; the messages are the reference's server-id ones (a quirk, host spec
 * §1.7): "--server-id is required", "--server-id contains unsupported
 * characters" (-EINVAL). */
int datadir_identity_path(const char *name, char **ret, char **ret_error);
/* DATA/webtty/known_servers.json */
int datadir_known_servers_path(char **ret, char **ret_error);
/* DATA/webtty/authorized_clients/<store>.json. The store name is trimmed;
 * empty means "default"; ".", ".." or any '/' or '\' is refused with
 * "authorized WebTTY client store name contains unsupported path characters"
 * (-EINVAL). Other characters are allowed, as in the reference. */
int datadir_authorized_clients_path(const char *store, char **ret, char **ret_error);

/* The store name derived from an identity file path: the trimmed path's base
 * name without a ".identity.json" suffix, then without its last extension;
 * "default" when nothing is left. */
int datadir_identity_name_from_path(const char *path, char **ret);

/* Store-name selection (host spec §2.2): the first non-blank (trimmed) of
 * identity, server_id, enrollment_server_id, then the derived name of
 * identity_file, env_identity_file (RSTREAM_WEBTTY_IDENTITY_FILE),
 * enrollment_identity_file; else "default". Any field may be NULL. An inline
 * RSTREAM_WEBTTY_IDENTITY has no say. */
typedef struct store_name_sources {
        const char *identity;                 /* --identity */
        const char *server_id;                /* --server-id */
        const char *enrollment_server_id;     /* serverId of the enrollment */
        const char *identity_file;            /* --identity-file */
        const char *env_identity_file;        /* RSTREAM_WEBTTY_IDENTITY_FILE */
        const char *enrollment_identity_file; /* identityFile of the enrollment */
} store_name_sources;
int datadir_store_name(const store_name_sources *s, char **ret);

/* The authorized-clients file a server or `webtty authorized-client` uses
 * (host spec §2.2 "One file"): flag_file when flag_set (its trimmed value must
 * not be empty: "--authorized-clients-file is empty"), else
 * RSTREAM_WEBTTY_AUTHORIZED_CLIENTS_FILE when non-blank, both ~-expanded;
 * else the default store file for datadir_store_name(s). */
int datadir_authorized_clients_file(bool flag_set, const char *flag_file, const store_name_sources *s,
                                    char **ret, char **ret_error);
