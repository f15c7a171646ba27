/* The replay cache of pam_rstream: one file per accepted proof in a root
 * 0700 directory, named by the hex transcript hash and created with
 * O_CREAT|O_EXCL, so a second login with the same proof fails atomically,
 * across every process that runs the module (webttyd-login is one process
 * per session: an in-memory cache would not see the other sessions).
 *
 * An entry may go once its forget_after (the proof's expires_at + 5 s) has
 * passed: the time window refuses the proof by then anyway. Each call
 * prunes a bounded number of expired entries, so the directory stays near
 * the number of logins of the last ~35 seconds. /run is a tmpfs, so the
 * entries are not fsync'ed: after a reboot every recorded proof has
 * expired. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"
#include "rstream.h"

#define HASH_HEX_LEN 64

static bool hash_name(const char *s) {
        size_t i;

        for (i = 0; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return i == HASH_HEX_LEN;
}

/* The forget_after of an entry, or -1 when it cannot be read: such an entry
 * (e.g. one being written right now) is never removed. */
static int64_t entry_forget_after(int dfd, const char *name) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        char buf[32], *end = NULL;
        long long v;
        ssize_t n;

        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || v < 0)
                return -1;
        return (int64_t) v;
}

static void prune(int dfd, int64_t now) {
        _cleanup_close_ int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        unsigned scanned = 0, removed = 0;
        struct dirent *de;
        DIR *d;

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d)
                return;
        fd = -1; /* owned by d now */
        while (scanned < RSTREAM_REPLAY_SCAN_MAX && removed < RSTREAM_REPLAY_PRUNE_MAX &&
               (de = readdir(d))) {
                int64_t fa;

                if (!hash_name(de->d_name))
                        continue;
                scanned++;
                fa = entry_forget_after(dfd, de->d_name);
                if (fa >= 0 && fa < now && unlinkat(dfd, de->d_name, 0) == 0)
                        removed++;
        }
        closedir(d);
}

int rstream_replay_record(const char *dir, const uint8_t hash[32], int64_t forget_after, int64_t now,
                          char **ret_error) {
        _cleanup_close_ int dfd = -1, fd = -1;
        char name[HASH_HEX_LEN + 1], text[32];
        int r, len;

        r = rstream_open_private_dir(dir, "replay directory", true, &dfd, ret_error);
        if (r < 0)
                return r;
        prune(dfd, now);

        rstream_hex(hash, 32, name);
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                r = -errno;
                if (r == -EEXIST)
                        return errmsg_set(ret_error, r, "proof was already used");
                return errmsg_set(ret_error, r, "create replay entry in %s: %s", dir, strerror(-r));
        }
        len = snprintf(text, sizeof(text), "%" PRIi64 "\n", forget_after);
        if (write(fd, text, (size_t) len) != len) {
                r = errno > 0 ? -errno : -EIO;
                /* Keep the (empty) entry: removing it would reopen the window
                 * for this proof; an unreadable entry is simply never pruned. */
                return errmsg_set(ret_error, r, "write replay entry in %s: %s", dir, strerror(-r));
        }
        return 0;
}
