/* accounts.db (/var/lib/rstream/webtty/accounts.db, 0644 root): the accounts
 * nss_rstream resolves. An immutable file with hash indexes, mmapped by the
 * reader and replaced atomically (temp file, fsync, rename, fsync dir, under
 * an flock on "<path>.lock") by the writer; format in nss_rstream(8).
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
        uint32_t first_member; /* reader only: where the member list starts */
} accountsdb_group;

/* ---- reader ---- */

typedef struct accountsdb accountsdb; /* an open mapping */

/* -ENOENT; -EBADMSG (corrupt, truncated, not a regular file, or an entry
 * with uid/gid 0); -EPERM (owned by someone other than root or the
 * effective uid, or writable by group/others); other -errno. */
int accountsdb_open(const char *path, accountsdb **ret);
void accountsdb_close(accountsdb *db);

/* The same checks on bytes in memory (the fuzz target, tests). data must
 * stay valid and unchanged until accountsdb_close(); it is not copied. */
int accountsdb_open_memory(const void *data, size_t len, accountsdb **ret);

/* Lookups. The strings of *ret point into the mapping: valid until
 * accountsdb_close(). 0, or -ENOENT when there is no such entry. Never
 * allocate, never block; safe from any number of threads on one db. */
int accountsdb_user_by_name(const accountsdb *db, const char *name, accountsdb_user *ret);
int accountsdb_user_by_uid(const accountsdb *db, uid_t uid, accountsdb_user *ret);
int accountsdb_group_by_name(const accountsdb *db, const char *name, accountsdb_group *ret);
int accountsdb_group_by_gid(const accountsdb *db, gid_t gid, accountsdb_group *ret);

/* Enumeration in file order: index 0 .. n-1 (-ENOENT past the end). */
size_t accountsdb_n_users(const accountsdb *db);
size_t accountsdb_n_groups(const accountsdb *db);
int accountsdb_user_at(const accountsdb *db, size_t index, accountsdb_user *ret);
int accountsdb_group_at(const accountsdb *db, size_t index, accountsdb_group *ret);

/* The i-th member name of a group from one of the functions above (reader
 * groups have members == NULL), NULL when i >= g->n_members. */
const char *accountsdb_group_member(const accountsdb *db, const accountsdb_group *g, size_t i);

/* Supplementary groups of `member` (groups listing it as a member, through
 * the member index: no scan). *cursor starts at 0; returns 1 and *ret_gid for
 * each group, 0 at the end. */
int accountsdb_member_next(const accountsdb *db, const char *member, size_t *cursor, gid_t *ret_gid);

/* Copies into struct passwd / struct group with every string in buf (as
 * getpwnam_r/getgrnam_r do); -ERANGE when buf is too small (nothing
 * useful is left in *pw and *gr then). pw_passwd is "x", gr_passwd "x". */
struct passwd;
struct group;
int accountsdb_user_to_passwd(const accountsdb_user *u, struct passwd *pw, char *buf, size_t buflen);
int accountsdb_group_to_group(const accountsdb *db, const accountsdb_group *g, struct group *gr, char *buf,
                              size_t buflen);

/* Whether the writer has replaced this file since it was opened (it marks
 * the old file; seen through the shared mapping, no system call). */
bool accountsdb_is_stale(const accountsdb *db);
/* Whether st (a stat() of the path) still names the opened file: same
 * device, inode, size and mtime. */
struct stat;
bool accountsdb_same_file(const accountsdb *db, const struct stat *st);

/* ---- file format (version 1; documented in nss_rstream(8)) ----
 * All integers little-endian; every section 4-byte aligned; offsets are
 * from the start of the file and 32-bit (files are at most 1 GiB). */
#define ACCOUNTSDB_MAGIC "RSACCTDB"
#define ACCOUNTSDB_VERSION 1u
#define ACCOUNTSDB_HEADER_SIZE 128u
#define ACCOUNTSDB_MAX_SIZE (1024u * 1024u * 1024u)
#define ACCOUNTSDB_NAME_MAX 32u    /* user and group names, without the NUL */
#define ACCOUNTSDB_FIELD_MAX 1024u /* gecos, home, shell, without the NUL */
#define ACCOUNTSDB_STALE_OFFSET 24u
#define ACCOUNTSDB_CHECKSUM_START 32u /* the checksum covers [32, file size) */
enum {
        ACCOUNTSDB_IDX_USER_NAME,
        ACCOUNTSDB_IDX_USER_UID,
        ACCOUNTSDB_IDX_GROUP_NAME,
        ACCOUNTSDB_IDX_GROUP_GID,
        ACCOUNTSDB_IDX_MEMBER,
        _ACCOUNTSDB_IDX_MAX,
};

/* XXH64 (seed 0) of data, written from the public algorithm description:
 * the whole-file checksum. */
uint64_t accountsdb_checksum(const void *data, size_t len);
/* The index hashes (writer and reader must agree). */
uint32_t accountsdb_hash_name(const char *s);
uint32_t accountsdb_hash_id(uint32_t id);

/* Name syntax for users and groups: [a-z_][a-z0-9_-]*, 1..32 bytes. */
bool accountsdb_name_valid(const char *name);

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
/* Refusals of accountsdb_add() that --force lifts: a uid/gid below
 * ACCOUNTSDB_UID_MIN and a name/uid/gid the system's NSS already knows. uid
 * and gid 0 and (uid_t)-1, 65534 (nobody) are refused even then. */
#define ACCOUNTSDB_UID_MIN 1000u
#define ACCOUNTSDB_FORCE (1u << 0)
/* accountsdb_set_add_user(): skip the per-call duplicate scan (O(n)) when
 * building a large set in one go; accountsdb_serialize() still refuses
 * duplicates. */
#define ACCOUNTSDB_BULK (1u << 1)

/* An editable copy of a database (writer side; every string malloc'd). */
typedef struct accountsdb_set {
        accountsdb_user *users;
        size_t n_users;
        accountsdb_group *groups; /* members: malloc'd array of malloc'd names */
        size_t n_groups;
        size_t cap_users, cap_groups; /* allocated entries */
} accountsdb_set;

void accountsdb_set_done(accountsdb_set *s);
/* Copies an open database into *ret (empty when db is NULL). */
int accountsdb_set_load(const accountsdb *db, accountsdb_set *ret);
/* Adds an account after the checks described in webtty-accounts(1): valid
 * name, absolute home and shell, gecos/home/shell without ':' or newline,
 * name/uid not in the set, uid/gid limits (flags: ACCOUNTSDB_FORCE). With
 * per_user_group (gid == uid required) it also adds a group named like the
 * user. Errors name the field ("uid 500: below 1000 ..."). */
int accountsdb_set_add_user(accountsdb_set *s, const accountsdb_user *u, bool per_user_group, unsigned flags,
                            char **ret_error);
/* Adds a group (e.g. a shared supplementary group) with copies of its
 * member names; checks the names and that name and gid are new. */
int accountsdb_set_add_group(accountsdb_set *s, const char *name, gid_t gid, const char *const *members,
                             size_t n_members, char **ret_error);
/* Removes the account, its per-user group (same name and gid) and its
 * name from every member list; -ENOENT when absent. */
int accountsdb_set_remove_user(accountsdb_set *s, const char *name, char **ret_error);
/* Serializes a set (checking it again: names, duplicates); *ret malloc'd. */
int accountsdb_serialize(const accountsdb_set *s, void **ret, size_t *ret_len, char **ret_error);

/* Locked read-modify-write of path: takes the flock on "<path>.lock" (via
 * safefile_lock_acquire: directory checks, O_NOFOLLOW), loads the current
 * file (missing: empty; corrupt: refused with a message naming the path),
 * calls edit, writes the result to a temp file (mode 0644), fsync, renames
 * it over path, fsyncs the directory, and marks the old file stale for open
 * readers. Missing parent directories are created with mode 0755 (the
 * database is world-readable). edit returning < 0 aborts with nothing
 * written; edit returning 1 means "no change" (nothing written). */
typedef int (*accountsdb_edit_fn)(accountsdb_set *s, void *userdata, char **ret_error);
int accountsdb_edit(const char *path, accountsdb_edit_fn edit, void *userdata, char **ret_error);

/* accountsdb_edit() wrappers for `webtty accounts add|remove`. */
int accountsdb_add(const char *path, const accountsdb_user *u, bool per_user_group, unsigned flags,
                   char **ret_error);
int accountsdb_remove(const char *path, const char *name, char **ret_error);

int accountsdb_provision(const char *path, const char *name, const accountsdb_provision_params *params,
                         accountsdb_user *ret, char **ret_error);
void accountsdb_user_done(accountsdb_user *u);
