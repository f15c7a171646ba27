/* Packets on the SOCK_SEQPACKET socket to webttyd (see login.h). */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "login.h"
#include "macro.h"

#define FDS_MAX 16

/* webttyd never sends fds: close whatever came along. */
static void close_passed_fds(struct msghdr *mh) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int fds[FDS_MAX];

                memcpy(fds, CMSG_DATA(c), MIN(n, (size_t) FDS_MAX) * sizeof(int));
                for (size_t i = 0; i < MIN(n, (size_t) FDS_MAX); i++)
                        safe_close(fds[i]);
        }
}

ssize_t login_recv(int sock, uint8_t *buf, size_t size, int timeout_ms) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = size};
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control};
        struct pollfd pfd = {.fd = sock, .events = POLLIN};
        ssize_t n;
        int r;

        if (timeout_ms >= 0) {
                do
                        r = poll(&pfd, 1, timeout_ms);
                while (r < 0 && errno == EINTR);
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
        }
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        close_passed_fds(&mh);
        /* A packet longer than the buffer (size = LOGINPROTO_MAX + 1) was cut:
         * refuse it rather than decode a prefix. */
        if ((mh.msg_flags & MSG_TRUNC) || (size_t) n >= size)
                return -EMSGSIZE;
        return n;
}

int login_send(int sock, const uint8_t *buf, size_t len, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 3)];
        } control = {};
        struct iovec iov = {.iov_base = (void *) buf, .iov_len = len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        if (n_fds > 3)
                return -EINVAL;
        if (n_fds > 0) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

int login_send_refused(int sock, const char *message) {
        loginproto_refused m = {.message = (char *) message};
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = loginproto_encode_refused(&m, &buf, &len);
        return r < 0 ? r : login_send(sock, buf, len, NULL, 0);
}

int login_send_exited(int sock, int32_t code) {
        loginproto_exited m = {.code = code};
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = loginproto_encode_exited(&m, &buf, &len);
        return r < 0 ? r : login_send(sock, buf, len, NULL, 0);
}

int login_send_started(int sock, pid_t pid, const char *user, const login_io *io) {
        loginproto_started m = {
                .pid = pid, .tty = io->tty, .user = (char *) user, .tty_name = (char *) io->line};
        _cleanup_free_ uint8_t *buf = NULL;
        int fds[3];
        size_t len, n;
        int r;

        r = loginproto_encode_started(&m, &buf, &len);
        if (r < 0)
                return r;
        n = login_io_peer_fds(io, fds);
        return login_send(sock, buf, len, fds, n);
}
