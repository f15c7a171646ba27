/* The session's terminal or pipes (see login.h). As login(1) and sshd do it:
 * the slave belongs to the user, group tty, mode 0620 (write(1) and wall(1)
 * work, nobody else reads it). */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "login.h"
#include "macro.h"

#define TTY_GROUP "tty"

static int tty_group(gid_t *ret) {
        char buf[4096];
        struct group gr, *res = NULL;

        if (getgrnam_r(TTY_GROUP, &gr, buf, sizeof buf, &res) != 0 || !res)
                return -ENOENT;
        *ret = gr.gr_gid;
        return 0;
}

static int open_pty(login_io *io, uid_t uid, gid_t gid) {
        char name[32];
        gid_t group;
        mode_t mode = 0620;

        io->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (io->master < 0)
                return -errno;
        if (grantpt(io->master) < 0 || unlockpt(io->master) < 0)
                return -errno;
        if (ptsname_r(io->master, name, sizeof name) != 0)
                return -errno;
        if (strncmp(name, "/dev/", 5) != 0)
                return -ENAMETOOLONG;
        /* TIOCGPTPEER opens the slave of this very master, no path lookup. */
        io->slave = ioctl(io->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (io->slave < 0 && (errno == EINVAL || errno == ENOTTY))
                io->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (io->slave < 0)
                return -errno;
        if (tty_group(&group) < 0) {
                group = gid;
                mode = 0600;
        }
        if (fchown(io->slave, uid, group) < 0 || fchmod(io->slave, mode) < 0)
                return -errno;
        snprintf(io->tty_path, sizeof io->tty_path, "%s", name);
        snprintf(io->line, sizeof io->line, "%s", name + 5);
        return 0;
}

static int open_pipes(login_io *io) {
        for (size_t i = 0; i < 3; i++)
                if (pipe2(io->pipes[i], O_CLOEXEC) < 0)
                        return -errno;
        return 0;
}

int login_io_open(login_io *io, bool tty, uid_t uid, gid_t gid) {
        int r;

        io->tty = tty;
        r = tty ? open_pty(io, uid, gid) : open_pipes(io);
        if (r < 0)
                login_io_done(io);
        io->tty = tty;
        return r;
}

void login_io_child_fds(const login_io *io, int fds[3]) {
        for (size_t i = 0; i < 3; i++)
                fds[i] = io->tty ? io->slave : io->pipes[i][i == 0 ? 0 : 1];
}

size_t login_io_peer_fds(const login_io *io, int fds[3]) {
        if (io->tty) {
                fds[0] = io->master;
                return 1;
        }
        fds[0] = io->pipes[0][1];
        fds[1] = io->pipes[1][0];
        fds[2] = io->pipes[2][0];
        return 3;
}

void login_io_close_child_side(login_io *io) {
        io->slave = safe_close(io->slave);
        io->pipes[0][0] = safe_close(io->pipes[0][0]);
        io->pipes[1][1] = safe_close(io->pipes[1][1]);
        io->pipes[2][1] = safe_close(io->pipes[2][1]);
}

void login_io_close_peer_side(login_io *io) {
        io->master = safe_close(io->master);
        io->pipes[0][1] = safe_close(io->pipes[0][1]);
        io->pipes[1][0] = safe_close(io->pipes[1][0]);
        io->pipes[2][0] = safe_close(io->pipes[2][0]);
}

void login_io_done(login_io *io) {
        login_io_close_child_side(io);
        login_io_close_peer_side(io);
}
