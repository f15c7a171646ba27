/* Safe reading and atomic, locked writing of secret files (see safefile.h). */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

#define TMP_ATTEMPTS 64
#define TMP_RANDOM 6

int (*safefile_fault_hook)(const char *stage) = NULL;

struct safefile_lock {
        char *path;     /* as given */
        char *dir;      /* parent, "." when the path has no slash */
        char *base;     /* last component */
        char *lockname; /* base + ".lock" */
        int dfd;
        int lockfd;
};

static int fault(const char *stage) {
        return safefile_fault_hook ? safefile_fault_hook(stage) : 0;
}

void safefile_buffer_free(uint8_t *buf, size_t len) {
        if (!buf)
                return;
        explicit_bzero(buf, len + 1); /* the NUL terminator included */
        free(buf);
}

/* ---- reading ------------------------------------------------------------ */

static int open_error(const char *path, int err, char **ret_error) {
        struct stat st;

        if (err == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
                return errmsg_set(ret_error, -ELOOP, "%s is a symbolic link; refusing to follow it", path);
        return errmsg_set(ret_error, -err, "open %s: %s", path, strerror(err));
}

/* Reads the open fd (checks as in safefile.h). path and label for messages. */
static int read_checked(int fd, const char *path, const char *label, uint8_t **ret, size_t *ret_len,
                        char **ret_error) {
        uint8_t *buf = NULL;
        size_t len = 0, cap;
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return errmsg_set(ret_error, negative_errno(), "stat %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return errmsg_set(ret_error, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
                                  "%s is not a regular file", path);
        if ((st.st_mode & 0077) != 0)
                return errmsg_set(ret_error, -EACCES, "%s %s must not be readable by group or others", label,
                                  path);
        if (st.st_size < 0 || (uint64_t) st.st_size > SAFEFILE_READ_MAX)
                return errmsg_set(ret_error, -EFBIG, "%s is larger than %u bytes", path, SAFEFILE_READ_MAX);

        cap = (size_t) st.st_size + 1;
        buf = malloc(cap);
        if (!buf)
                return errmsg_set(ret_error, -ENOMEM, "read %s: %s", path, strerror(ENOMEM));
        for (;;) {
                ssize_t n;

                if (len + 1 == cap) {
                        /* The file grew since fstat(): grow without leaving copies behind. */
                        size_t ncap = cap * 2;
                        uint8_t *nbuf;

                        if (cap > SAFEFILE_READ_MAX + 1) {
                                r = errmsg_set(ret_error, -EFBIG, "%s is larger than %u bytes", path,
                                               SAFEFILE_READ_MAX);
                                goto fail;
                        }
                        if (ncap > SAFEFILE_READ_MAX + 2)
                                ncap = SAFEFILE_READ_MAX + 2;
                        nbuf = malloc(ncap);
                        if (!nbuf) {
                                r = errmsg_set(ret_error, -ENOMEM, "read %s: %s", path, strerror(ENOMEM));
                                goto fail;
                        }
                        memcpy(nbuf, buf, len);
                        explicit_bzero(buf, cap);
                        free(buf);
                        buf = nbuf;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = errmsg_set(ret_error, negative_errno(), "read %s: %m", path);
                        goto fail;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > SAFEFILE_READ_MAX) {
                r = errmsg_set(ret_error, -EFBIG, "%s is larger than %u bytes", path, SAFEFILE_READ_MAX);
                goto fail;
        }
        buf[len] = 0;
        *ret = buf;
        *ret_len = len;
        return 0;
fail:
        explicit_bzero(buf, cap);
        free(buf);
        return r;
}

#define READ_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

int safefile_read(const char *path, const char *label, uint8_t **ret, size_t *ret_len, char **ret_error) {
        _cleanup_close_ int fd = -1;

        fd = open(path, READ_FLAGS);
        if (fd < 0)
                return open_error(path, errno, ret_error);
        return read_checked(fd, path, label, ret, ret_len, ret_error);
}

/* ---- locking ------------------------------------------------------------ */

static int split_path(const char *path, char **ret_dir, char **ret_base, char **ret_error) {
        const char *slash;
        char *dir, *base;

        if (!path || !*path)
                return errmsg_set(ret_error, -EINVAL, "file path is empty");
        slash = strrchr(path, '/');
        if (slash && slash[1] == 0)
                return errmsg_set(ret_error, -EISDIR, "%s is a directory", path);
        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t) (slash - path));
        base = strdup(slash ? slash + 1 : path);
        if (!dir || !base) {
                free(dir);
                free(base);
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        }
        if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
                free(dir);
                free(base);
                return errmsg_set(ret_error, -EISDIR, "%s is a directory", path);
        }
        *ret_dir = dir;
        *ret_base = base;
        return 0;
}

static int mkdir_one(const char *p, mode_t mode, char **ret_error) {
        struct stat st;

        if (mkdir(p, mode) == 0 || errno == EEXIST)
                return 0;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                return 0;
        return errmsg_set(ret_error, negative_errno(), "create directory %s: %m", p);
}

int safefile_mkdir_parents(const char *dir, mode_t mode, char **ret_error) {
        _cleanup_free_ char *p = strdup(dir);
        int r;

        if (!p)
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        for (char *s = p + 1; *s; s++) {
                if (*s != '/' || s[-1] == '/')
                        continue;
                *s = 0;
                r = mkdir_one(p, mode, ret_error);
                *s = '/';
                if (r < 0)
                        return r;
        }
        return mkdir_one(p, mode, ret_error);
}

static int open_checked_dir(const char *dir, int *ret_fd, char **ret_error) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        uid_t euid = geteuid();

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                int err = errno;

                if ((err == ELOOP || err == ENOTDIR) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
                        return errmsg_set(ret_error, -ELOOP, "directory %s is a symbolic link", dir);
                return errmsg_set(ret_error, -err, "open directory %s: %s", dir, strerror(err));
        }
        if (fstat(fd, &st) < 0)
                return errmsg_set(ret_error, negative_errno(), "stat directory %s: %m", dir);
        if ((st.st_mode & 0022) != 0)
                return errmsg_set(ret_error, -EPERM, "directory %s must not be writable by group or others",
                                  dir);
        if (st.st_uid != euid && st.st_uid != 0) {
                if (euid == 0)
                        return errmsg_set(ret_error, -EPERM, "directory %s is owned by uid %u, not by root",
                                          dir, (unsigned) st.st_uid);
                return errmsg_set(ret_error, -EPERM,
                                  "directory %s is owned by uid %u, not by uid %u or root", dir,
                                  (unsigned) st.st_uid, (unsigned) euid);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Opens and flocks dir/lockname; retries while the path no longer names the
 * inode we locked (a previous holder deleted it on release). Every retry
 * means another process got the lock, so this blocks like flock() itself. */
static int take_lock(int dfd, const char *dir, const char *lockname, int *ret_fd, char **ret_error) {
        for (;;) {
                _cleanup_close_ int fd = -1;
                struct stat st, now;

                fd = openat(dfd, lockname, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
                if (fd < 0) {
                        if (errno == ELOOP)
                                return errmsg_set(ret_error, -ELOOP, "lock file %s/%s is a symbolic link",
                                                  dir, lockname);
                        return errmsg_set(ret_error, negative_errno(), "open lock file %s/%s: %m", dir,
                                          lockname);
                }
                if (fstat(fd, &st) < 0)
                        return errmsg_set(ret_error, negative_errno(), "stat lock file %s/%s: %m", dir,
                                          lockname);
                if (!S_ISREG(st.st_mode))
                        return errmsg_set(ret_error, -EINVAL, "lock file %s/%s is not a regular file", dir,
                                          lockname);
                while (flock(fd, LOCK_EX) < 0)
                        if (errno != EINTR)
                                return errmsg_set(ret_error, negative_errno(), "lock %s/%s: %m", dir,
                                                  lockname);
                if (fstatat(dfd, lockname, &now, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return errmsg_set(ret_error, negative_errno(), "stat lock file %s/%s: %m", dir,
                                          lockname);
                }
                if (now.st_dev != st.st_dev || now.st_ino != st.st_ino)
                        continue;
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
}

safefile_lock *safefile_lock_release(safefile_lock *l) {
        if (!l)
                return NULL;
        if (l->lockfd >= 0) {
                /* Unlink while still holding the lock, so the next holder notices. */
                (void) unlinkat(l->dfd, l->lockname, 0);
                safe_close(l->lockfd);
        }
        safe_close(l->dfd);
        free(l->path);
        free(l->dir);
        free(l->base);
        free(l->lockname);
        free(l);
        return NULL;
}

int safefile_lock_acquire(const char *path, safefile_lock **ret, char **ret_error) {
        _cleanup_(safefile_lock_releasep) safefile_lock *l = NULL;
        int r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        l->dfd = l->lockfd = -1;
        r = split_path(path, &l->dir, &l->base, ret_error);
        if (r < 0)
                return r;
        l->path = strdup(path);
        if (!l->path || asprintf(&l->lockname, "%s.lock", l->base) < 0) {
                l->lockname = NULL;
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        }
        r = safefile_mkdir_parents(l->dir, 0700, ret_error);
        if (r < 0)
                return r;
        r = open_checked_dir(l->dir, &l->dfd, ret_error);
        if (r < 0)
                return r;
        r = take_lock(l->dfd, l->dir, l->lockname, &l->lockfd, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

const char *safefile_lock_path(const safefile_lock *l) {
        return l->path;
}

int safefile_lock_read(safefile_lock *l, const char *label, uint8_t **ret, size_t *ret_len,
                       char **ret_error) {
        _cleanup_close_ int fd = -1;

        fd = openat(l->dfd, l->base, READ_FLAGS);
        if (fd < 0) {
                int err = errno;
                struct stat st;

                if (err == ELOOP && fstatat(l->dfd, l->base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISLNK(st.st_mode))
                        return errmsg_set(ret_error, -ELOOP, "%s is a symbolic link; refusing to follow it",
                                          l->path);
                return errmsg_set(ret_error, -err, "open %s: %s", l->path, strerror(err));
        }
        return read_checked(fd, l->path, label, ret, ret_len, ret_error);
}

/* ---- writing ------------------------------------------------------------ */

/* The existing target may be replaced (see safefile.h, step 5). */
static int check_target(safefile_lock *l, char **ret_error) {
        struct stat st;

        if (fstatat(l->dfd, l->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return errmsg_set(ret_error, negative_errno(), "stat %s: %m", l->path);
        }
        if (S_ISLNK(st.st_mode))
                return errmsg_set(ret_error, -ELOOP, "refusing to replace %s: it is a symbolic link",
                                  l->path);
        if (!S_ISREG(st.st_mode))
                return errmsg_set(ret_error, -EINVAL, "refusing to replace %s: it is not a regular file",
                                  l->path);
        if (st.st_nlink > 1)
                return errmsg_set(ret_error, -EMLINK, "refusing to replace %s: it has %lu hard links",
                                  l->path, (unsigned long) st.st_nlink);
        if (st.st_uid != geteuid())
                return errmsg_set(ret_error, -EPERM, "refusing to replace %s: it is owned by uid %u",
                                  l->path, (unsigned) st.st_uid);
        return 0;
}

static int random_name(const char *prefix, char *buf, size_t size) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t rnd[TMP_RANDOM];
        char suffix[TMP_RANDOM + 1];
        ssize_t n;

        do
                n = getrandom(rnd, sizeof(rnd), 0);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t) sizeof(rnd))
                return n < 0 ? negative_errno() : -EIO;
        for (size_t i = 0; i < TMP_RANDOM; i++)
                suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
        suffix[TMP_RANDOM] = 0;
        if ((size_t) snprintf(buf, size, "%s%s.tmp", prefix, suffix) >= size)
                return -ENAMETOOLONG;
        return 0;
}

int safefile_write_all(int fd, const void *data, size_t len) {
        const uint8_t *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Gives the O_TMPFILE inode fd a name in the directory. */
static int link_tmpfile(int fd, int dfd, const char *name) {
        char proc[64];

        if (linkat(fd, "", dfd, name, AT_EMPTY_PATH) == 0)
                return 0;
        if (errno == EEXIST)
                return -EEXIST;
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) == 0)
                return 0;
        return negative_errno();
}

int safefile_lock_replace(safefile_lock *l, const char *tmp_prefix, const void *data, size_t len,
                          char **ret_error) {
        _cleanup_close_ int fd = -1;
        char tmpname[NAME_MAX + 1] = "";
        bool named = false, unnamed = false;
        int r;

        r = check_target(l, ret_error);
        if (r < 0)
                return r;

        r = fault("tmpfile");
        if (r < 0 && r != -EOPNOTSUPP)
                return errmsg_set(ret_error, r, "create temporary file in %s: %s", l->dir, strerror(-r));
        if (r == 0) {
                fd = openat(l->dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
                if (fd >= 0)
                        unnamed = true;
                else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
                        return errmsg_set(ret_error, negative_errno(), "create temporary file in %s: %m",
                                          l->dir);
        }
        if (!unnamed) {
                for (int i = 0; i < TMP_ATTEMPTS && fd < 0; i++) {
                        r = random_name(tmp_prefix, tmpname, sizeof(tmpname));
                        if (r < 0)
                                return errmsg_set(ret_error, r, "create temporary file in %s: %s", l->dir,
                                                  strerror(-r));
                        fd = openat(l->dfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                    0600);
                        if (fd < 0 && errno != EEXIST)
                                return errmsg_set(ret_error, negative_errno(),
                                                  "create temporary file in %s: %m", l->dir);
                }
                if (fd < 0)
                        return errmsg_set(ret_error, -EEXIST, "create temporary file in %s: %s", l->dir,
                                          strerror(EEXIST));
                named = true;
        }

        r = safefile_write_all(fd, data, len);
        if (r < 0) {
                errmsg_set(ret_error, r, "write temporary file in %s: %s", l->dir, strerror(-r));
                goto fail;
        }
        if (fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
                r = errmsg_set(ret_error, negative_errno(), "write temporary file in %s: %m", l->dir);
                goto fail;
        }
        r = fault("written");
        if (r < 0) {
                errmsg_set(ret_error, r, "write temporary file in %s: %s", l->dir, strerror(-r));
                goto fail;
        }
        if (unnamed) {
                r = -EEXIST;
                for (int i = 0; i < TMP_ATTEMPTS && r == -EEXIST; i++) {
                        r = random_name(tmp_prefix, tmpname, sizeof(tmpname));
                        if (r < 0)
                                break;
                        r = link_tmpfile(fd, l->dfd, tmpname);
                }
                if (r < 0) {
                        errmsg_set(ret_error, r, "link temporary file in %s: %s", l->dir, strerror(-r));
                        goto fail;
                }
                named = true;
        }
        fd = safe_close(fd);

        r = check_target(l, ret_error);
        if (r < 0)
                goto fail;
        r = fault("rename");
        if (r == 0 && renameat(l->dfd, tmpname, l->dfd, l->base) < 0)
                r = negative_errno();
        if (r < 0) {
                errmsg_set(ret_error, r, "rename %s/%s to %s: %s", l->dir, tmpname, l->path, strerror(-r));
                goto fail;
        }
        named = false;
        if (fsync(l->dfd) < 0)
                return errmsg_set(ret_error, negative_errno(), "sync directory %s: %m", l->dir);
        return 0;

fail:
        if (named)
                (void) unlinkat(l->dfd, tmpname, 0);
        return r;
}

int safefile_lock_remove(safefile_lock *l, char **ret_error) {
        if (unlinkat(l->dfd, l->base, 0) < 0)
                return errmsg_set(ret_error, negative_errno(), "remove %s: %m", l->path);
        if (fsync(l->dfd) < 0)
                return errmsg_set(ret_error, negative_errno(), "sync directory %s: %m", l->dir);
        return 0;
}

int safefile_write(const char *path, const char *tmp_prefix, const void *data, size_t len,
                   char **ret_error) {
        _cleanup_(safefile_lock_releasep) safefile_lock *l = NULL;
        int r;

        r = safefile_lock_acquire(path, &l, ret_error);
        if (r < 0)
                return r;
        return safefile_lock_replace(l, tmp_prefix, data, len, ret_error);
}
