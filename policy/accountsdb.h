/* accounts.db (/var/lib/rstream/webtty/accounts.db, 0644 root): the accounts
 * nss_rstream resolves. An immutable file with hash indexes, mmapped by the
 * reader and replaced atomically (temp file, fsync, rename, fsync dir, under
 * an flock on "<path>.lock") by the writer; see webtty-files(5).
 *
 * Two halves with different rules:
 *   - the reader (accountsdb_open/lookup/iterate) is linked into
 *     libnss_rstream.so.2: libc only, no allocation after open, no OpenSSL,
 *     protobuf or YAML, every offset and length bounds-checked, a corrupt or
 *     truncated file is -EBADMSG (never a crash), thread-safe lookups;
 *   - the writer (accountsdb_write, accountsdb_provision, ...) is used by
 *     `webtty accounts` and webttyd-login (root).
 * Every int function returns 0 or a negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ACCOUNTSDB_DEFAULT_PATH "/var/lib/rstream/webtty/accounts.db"

/* One account; strings point into the mapping (reader) or the caller's
 * memory (writer input). */
typedef struct accountsdb_user {
        const char *name;
        uid_t uid;
        gid_t gid;
        const char *gecos, *home, *shell;
} accountsdb_user;

typedef struct accountsdb_group {
        const char *name;
        gid_t gid;
        const char *const *members; /* reader: use accountsdb_group_member() instead */
        size_t n_members;
} accountsdb_group;

/* ---- reader ---- */

typedef struct accountsdb accountsdb; /* an open mapping */

int accountsdb_open(const char *path, accountsdb **ret); /* -ENOENT, -EBADMSG, ... */
void accountsdb_close(accountsdb *db);
/* (The helper finishing this module adds the lookup/iteration functions the
 * NSS module needs here: by name, by uid, by gid, group membership, and
 * iteration for enumeration; each copies into caller buffers and reports
 * -ERANGE when a buffer is too small.) */

/* ---- writer ---- */

/* Provisioning parameters (from policy.yaml's `accounts:` section). */
typedef struct accountsdb_provision_params {
        uid_t uid_min, uid_max; /* inclusive */
        gid_t gid;              /* 0: a per-user group with gid = uid, named like the user */
        const char *home;       /* already expanded */
        const char *shell;
        const char *gecos;
        const void *seed; /* stable uid seed, e.g. the caller's key id */
        size_t seed_len;
} accountsdb_provision_params;

/* Makes sure `name` exists (locked read-modify-write of path, atomic
 * replace). An existing entry is kept as it is (its uid never changes). A
 * new one gets a stable uid: the first free uid in [uid_min, uid_max]
 * starting at uid_min + hash(seed) mod size, skipping uids and names used in
 * the database or known to the system's NSS (getpwuid_r/getpwnam_r), so the
 * same caller gets the same uid on every host with the same policy.
 * -ENOSPC when the range is full, -EEXIST when the name belongs to a non-
 * rstream account. *ret (optional) gets the resulting account (strings
 * malloc'd: free with accountsdb_user_done()). */
int accountsdb_provision(const char *path, const char *name, const accountsdb_provision_params *params,
                         accountsdb_user *ret, char **ret_error);
void accountsdb_user_done(accountsdb_user *u);
