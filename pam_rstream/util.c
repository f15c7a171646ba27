/* Small helpers of pam_rstream: log-safe text, hex, the checked private
 * directories of the registry and the replay cache, /proc readers. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "rstream.h"

const char *rstream_clean(const char *s, char *out, size_t out_size) {
        size_t i = 0;

        if (out_size == 0)
                return "";
        if (!s)
                s = "-";
        for (; s[i] && i + 1 < out_size; i++)
                out[i] = ((unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7f) ? s[i] : '?';
        out[i] = '\0';
        return out;
}

void rstream_hex(const uint8_t *b, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 15];
        }
        out[2 * n] = '\0';
}

/* mkdir -p with mode 0700 for what is missing; existing directories are
 * left as they are (the final one is checked by the caller). */
static int mkdir_parents(const char *dir) {
        _cleanup_free_ char *p = strdup(dir);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char saved = *s;

                *s = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return -errno;
                *s = saved;
                if (saved == '\0')
                        return 0;
        }
}

int rstream_open_private_dir(const char *dir, const char *what, bool create, int *ret_fd, char **ret_error) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (!dir || dir[0] != '/')
                return errmsg_set(ret_error, -EINVAL, "%s %s is not an absolute path", what, dir ? dir : "");
        if (create) {
                r = mkdir_parents(dir);
                if (r < 0)
                        return errmsg_set(ret_error, r, "create %s %s: %s", what, dir, strerror(-r));
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                if (r == -ELOOP || r == -ENOTDIR)
                        return errmsg_set(ret_error, -ENOTDIR,
                                          "%s %s is not a directory (or is a symbolic link)", what, dir);
                return errmsg_set(ret_error, r, "open %s %s: %s", what, dir, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return errmsg_set(ret_error, -errno, "stat %s %s: %s", what, dir, strerror(errno));
        /* The root-run module only trusts root's directories; a test run as
         * another user may use its own (the same rule as safefile.h). */
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return errmsg_set(ret_error, -EPERM, "%s %s is owned by uid %u, not by root", what, dir,
                                  (unsigned) st.st_uid);
        if (st.st_mode & 0022)
                return errmsg_set(ret_error, -EPERM, "%s %s must not be writable by group or others", what,
                                  dir);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Reads a small /proc file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        size_t len = 0;

        if (fd < 0)
                return -errno;
        while (len + 1 < size) {
                ssize_t n = read(fd, buf + len, size - 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return 0;
}

int rstream_read_u32_file(const char *path, uint32_t *ret) {
        char buf[32], *end = NULL;
        unsigned long long v;
        int r;

        r = read_small(path, buf, sizeof(buf));
        if (r < 0)
                return r;
        if (buf[0] < '0' || buf[0] > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (errno != 0 || (*end != '\0' && *end != '\n') || v > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t) v;
        return 0;
}

int rstream_proc_start_time(pid_t pid, uint64_t *ret) {
        char path[64], buf[1024], *p, *end = NULL;
        unsigned long long v;
        int r;

        if (pid <= 0)
                return -ESRCH;
        snprintf(path, sizeof(path), "/proc/%" PRIi64 "/stat", (int64_t) pid);
        r = read_small(path, buf, sizeof(buf));
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        /* comm (field 2) may hold spaces and parentheses: fields 3.. start
         * after the last ')'. Field 22 is then the 20th field after it. */
        p = strrchr(buf, ')');
        if (!p)
                return -EBADMSG;
        p++;
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        p++;
        if (*p < '0' || *p > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
                return -EBADMSG;
        *ret = v;
        return 0;
}
