/* Safe reading and writing of the WebTTY secret/trust files (host spec §0.2,
 * §0.3, hardened).
 *
 * WRITING (safefile_lock_acquire + safefile_lock_replace, or safefile_write):
 *  1. The parent directory is created with mode 0700 if missing (recursively;
 *     existing directories are never re-moded).
 *  2. The parent is opened with O_DIRECTORY|O_NOFOLLOW (a symlink as the last
 *     path component is refused; symlinks higher up are followed as usual) and
 *     refused when group/other-writable or owned by anyone but the effective
 *     uid or root:
 *       "directory <dir> is a symbolic link"
 *       "directory <dir> must not be writable by group or others"
 *       "directory <dir> is owned by uid <n>, not by uid <euid> or root"
 *       ("..., not by root" when the effective uid is 0)
 *  3. An exclusive flock is taken on "<target>.lock" (opened relative to the
 *     directory fd with O_CREAT|O_NOFOLLOW, mode 0600). After locking, the
 *     lock path is re-checked to still name the locked inode (another holder
 *     may have deleted it on release); if not, locking starts over. Release
 *     deletes the lock file, then unlocks (as the reference does).
 *  4. The new content goes to an unnamed O_TMPFILE in the directory (mode
 *     0600), is fsync'ed, linked under a random name "<prefix>XXXXXX.tmp"
 *     (prefix e.g. ".webtty-endpoint-identity-"), renamed over the target, and
 *     the directory is fsync'ed. If the filesystem has no O_TMPFILE, the temp
 *     file is created by name with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, from
 *     the start. A process killed before the rename leaves no temp file behind
 *     on the O_TMPFILE path (and at worst a stale "<prefix>*.tmp" otherwise).
 *  5. An existing target is only replaced when it is a regular file, not a
 *     symlink, has exactly one link and is owned by the effective uid:
 *       "refusing to replace <path>: it is a symbolic link"
 *       "refusing to replace <path>: it is not a regular file"
 *       "refusing to replace <path>: it has <n> hard links"
 *       "refusing to replace <path>: it is owned by uid <n>"
 *     On any failure the temp file is removed and the old file is untouched.
 *
 * READING (safefile_read, safefile_lock_read):
 *  The file is opened with O_NOFOLLOW|O_NONBLOCK (a symlink as the last
 *  component is refused: "<path> is a symbolic link; refusing to follow it";
 *  the reference follows symlinks here, this is the deliberate safer choice),
 *  then fstat'ed on the open fd (no stat/open race): a non-regular file is
 *  refused ("<path> is not a regular file"), and any group/other permission
 *  bit (mode & 0077) refuses it with the exact §11 message
 *  "<label> <path> must not be readable by group or others", label being the
 *  caller's, e.g. "E2E identity file" (-EACCES). At most SAFEFILE_READ_MAX bytes are read
 *  ("<path> is larger than 1048576 bytes"). A missing file is -ENOENT
 *  ("open <path>: No such file or directory"). No ownership check on read
 *  (as the reference).
 *
 * Every function returns 0 or a negative errno, with the message in
 * *ret_error (see errmsg.h). Not thread-safe against the fault hook only. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define SAFEFILE_READ_MAX (1024u * 1024u)

/* Whole-file read with the checks above. *ret is malloc'd, NUL-terminated
 * (*ret_len excludes the NUL); free it with safefile_buffer_free(), which
 * zeroes it first (the content may be a private key). */
int safefile_read(const char *path, const char *label, uint8_t **ret, size_t *ret_len, char **ret_error);
void safefile_buffer_free(uint8_t *buf, size_t len);

typedef struct safefile_lock safefile_lock;

/* Steps 1-3 for the target path: creates the parent, checks it, locks. */
int safefile_lock_acquire(const char *path, safefile_lock **ret, char **ret_error);
/* Deletes the lock file, unlocks, closes. NULL-safe; returns NULL. */
safefile_lock *safefile_lock_release(safefile_lock *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(safefile_lock, safefile_lock_release);

/* The target path as given to safefile_lock_acquire. */
const char *safefile_lock_path(const safefile_lock *l);

/* safefile_read() of the locked target, relative to the checked directory. */
int safefile_lock_read(safefile_lock *l, const char *label, uint8_t **ret, size_t *ret_len,
                       char **ret_error);
/* Steps 4-5: atomically replaces (or creates) the locked target. */
int safefile_lock_replace(safefile_lock *l, const char *tmp_prefix, const void *data, size_t len,
                          char **ret_error);
/* Unlinks the locked target; -ENOENT (message "remove <path>: No such file or
 * directory") when it does not exist. The directory is fsync'ed. */
int safefile_lock_remove(safefile_lock *l, char **ret_error);

/* Lock, replace, release. */
int safefile_write(const char *path, const char *tmp_prefix, const void *data, size_t len, char **ret_error);

/* Test-only fault injection: when set, called at the named stages of
 * safefile_lock_replace(); a negative return fails that stage with it.
 *   "tmpfile"  before O_TMPFILE is tried (-EOPNOTSUPP forces the named path)
 *   "written"  after the temp file is written and fsync'ed
 *   "rename"   instead of the final renameat() when it returns < 0 */
extern int (*safefile_fault_hook)(const char *stage);

/* mkdir -p: creates the missing directories of dir with mode (existing ones
 * are left alone); the error names the directory. */
int safefile_mkdir_parents(const char *dir, mode_t mode, char **ret_error);
/* write(2) until all of data is written (EINTR retried); 0 or -errno. */
int safefile_write_all(int fd, const void *data, size_t len);
