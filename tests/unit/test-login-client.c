/* Unit tests for webttyd/loginclient.c: the pure helpers (the Open inside a
 * received Message, webttyd's own account flags, the checks on STARTED's
 * fds, the helper's argv) and the client's state machine over a real
 * SOCK_SEQPACKET socketpair and a real sd-event loop, the test playing
 * webttyd-login with lib/loginproto.c's encoders and real pipes/PTYs. */

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loginclient.h"
#include "loginproto.h"
#include "macro.h"

/* ---- login_open_bytes ------------------------------------------------------ */

START_TEST(test_open_bytes_single_field) {
        /* Message{open: Open{config: {cmd_args: "id"}}} */
        static const uint8_t msg[] = {0x0a, 0x06, 0x0a, 0x04, 0x12, 0x02, 'i', 'd'};
        const uint8_t *p;
        size_t n;

        ck_assert_int_eq(login_open_bytes(msg, sizeof(msg), &p, &n), 1);
        ck_assert_ptr_eq(p, msg + 2);
        ck_assert_uint_eq(n, 6);
}
END_TEST

START_TEST(test_open_bytes_other_encodings) {
        static const uint8_t trailing[] = {0x0a, 0x02, 0x0a, 0x00, 0x98, 0x06, 0x01}; /* + field 99 */
        static const uint8_t data_msg[] = {0x2a, 0x02, 0x08, 0x01};                   /* Message.data */
        static const uint8_t short_len[] = {0x0a, 0x05, 0x0a, 0x00};                  /* length beyond */
        static const uint8_t long_len[] = {0x0a, 0x01, 0x0a, 0x00};                   /* length short of */
        static const uint8_t bad_varint[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t varint_open[] = {0x08, 0x01}; /* field 1 as a varint */
        const uint8_t *p = (const uint8_t *) "x";
        size_t n = 7;

        ck_assert_int_eq(login_open_bytes(trailing, sizeof(trailing), &p, &n), 0);
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(login_open_bytes(data_msg, sizeof(data_msg), &p, &n), 0);
        ck_assert_int_eq(login_open_bytes(short_len, sizeof(short_len), &p, &n), 0);
        ck_assert_int_eq(login_open_bytes(long_len, sizeof(long_len), &p, &n), 0);
        ck_assert_int_eq(login_open_bytes(bad_varint, sizeof(bad_varint), &p, &n), 0);
        ck_assert_int_eq(login_open_bytes(varint_open, sizeof(varint_open), &p, &n), 0);
        ck_assert_int_eq(login_open_bytes(NULL, 0, &p, &n), 0);
        ck_assert_int_eq(login_open_bytes(data_msg, 0, &p, &n), 0);
        /* Every truncation of a good message is refused. */
        {
                static const uint8_t msg[] = {0x0a, 0x06, 0x0a, 0x04, 0x12, 0x02, 'i', 'd'};
                for (size_t l = 0; l < sizeof(msg); l++)
                        ck_assert_int_eq(login_open_bytes(msg, l, &p, &n), 0);
        }
}
END_TEST

/* ---- login_check_account ------------------------------------------------- */

START_TEST(test_check_account) {
        Webtty__Config cfg = WEBTTY__CONFIG__INIT;
        Webtty__Username u = WEBTTY__USERNAME__INIT;
        static const char disabled[] = "client-selected OS users are disabled in login execution mode";
        static const char no_user[] =
                "login execution mode requires a configured default user or explicitly allowed client user";

        ck_assert_ptr_null(login_check_account(&cfg, "alice", false, false));
        ck_assert_str_eq(login_check_account(&cfg, NULL, true, false), no_user);
        ck_assert_str_eq(login_check_account(&cfg, "", false, false), no_user);
        ck_assert_str_eq(login_check_account(NULL, NULL, false, false), no_user);
        /* A verified caller: the policy of webttyd-login maps it, no default needed. */
        ck_assert_ptr_null(login_check_account(&cfg, NULL, false, true));
        ck_assert_ptr_null(login_check_account(NULL, NULL, false, true));
        cfg.username = &u; /* present but empty: not a request */
        ck_assert_ptr_null(login_check_account(&cfg, "alice", false, false));
        u.payload_case = WEBTTY__USERNAME__PAYLOAD_NAME;
        u.name = (char *) "bob";
        ck_assert_str_eq(login_check_account(&cfg, "alice", false, false), disabled);
        ck_assert_ptr_null(login_check_account(&cfg, "alice", true, false));
        ck_assert_ptr_null(login_check_account(&cfg, NULL, true, false));
        u.payload_case = WEBTTY__USERNAME__PAYLOAD_ID;
        u.id = 0;
        ck_assert_str_eq(login_check_account(&cfg, NULL, false, false), disabled);
}
END_TEST

/* ---- login_check_started_fds ---------------------------------------------- */

static bool nonblocking(int fd) {
        return fcntl(fd, F_GETFL) & O_NONBLOCK;
}

static void close3(int fds[3]) {
        for (int i = 0; i < 3; i++)
                fds[i] = safe_close(fds[i]);
}

START_TEST(test_started_fds_pipes) {
        int in[2], out[2], err[2], fds[3];
        _cleanup_free_ char *e = NULL;

        ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
        fds[0] = in[1], fds[1] = out[0], fds[2] = err[0];
        ck_assert_int_eq(login_check_started_fds(false, false, fds, 3, &e), 0);
        ck_assert_ptr_null(e);
        for (int i = 0; i < 3; i++)
                ck_assert(nonblocking(fds[i]));
        /* Wrong direction: stdin must be writable, stdout readable. */
        fds[0] = in[0];
        ck_assert_int_lt(login_check_started_fds(false, false, fds, 3, &e), 0);
        ck_assert_str_eq(e, "STARTED: stdin fd is not writable");
        fds[0] = in[1], fds[1] = out[1];
        ck_assert_int_lt(login_check_started_fds(false, false, fds, 3, &e), 0);
        ck_assert_str_eq(e, "STARTED: stdout fd is not readable");
        fds[1] = out[0];
        /* Count and mode. */
        ck_assert_int_eq(login_check_started_fds(false, false, fds, 2, &e), -EPROTO);
        ck_assert_str_eq(e, "STARTED: 2 fds attached, 3 expected");
        ck_assert_int_eq(login_check_started_fds(false, true, fds, 3, &e), -EPROTO);
        ck_assert_str_eq(e, "STARTED: pipes but the Open asked for a PTY");
        int p[3] = {in[0], out[1], err[1]};
        close3(p);
        close3(fds);
}
END_TEST

START_TEST(test_started_fds_not_pipes) {
        int fds[3], sp[2];
        _cleanup_free_ char *e = NULL;

        fds[0] = open("/dev/null", O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fds[0], 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        fds[1] = sp[0], fds[2] = sp[1];
        ck_assert_int_eq(login_check_started_fds(false, false, fds, 3, &e), -EBADF);
        ck_assert_str_eq(e, "STARTED: stdin fd is not a pipe or socket");
        /* Sockets are fine (a socketpair is what some helpers use). */
        safe_close(fds[0]);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        fds[0] = sp[0];
        safe_close(sp[1]);
        ck_assert_int_eq(login_check_started_fds(false, false, fds, 3, &e), 0);
        close3(fds);
}
END_TEST

START_TEST(test_started_fds_pty) {
        _cleanup_free_ char *e = NULL;
        int master, slave;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        ck_assert_int_ge(master, 0);
        ck_assert_int_eq(grantpt(master), 0);
        ck_assert_int_eq(unlockpt(master), 0);
        slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        ck_assert_int_ge(slave, 0);
        ck_assert_int_eq(login_check_started_fds(true, true, &master, 1, &e), 0);
        ck_assert(nonblocking(master));
        /* The slave is a tty but not a master. */
        ck_assert_int_eq(login_check_started_fds(true, true, &slave, 1, &e), -EBADF);
        ck_assert_str_eq(e, "STARTED: the fd is not a PTY master");
        ck_assert_int_eq(login_check_started_fds(true, false, &master, 1, &e), -EPROTO);
        ck_assert_str_eq(e, "STARTED: a PTY but the Open asked for pipes");
        int three[3] = {master, master, master};
        ck_assert_int_eq(login_check_started_fds(true, true, three, 3, &e), -EPROTO);
        safe_close(slave);
        safe_close(master);
}
END_TEST

/* ---- login_helper_argv ---------------------------------------------------- */

START_TEST(test_helper_argv) {
        login_service svc = {.helper_path = "/usr/libexec/webttyd-login"};
        char fd_buf[16], *argv[LOGIN_HELPER_ARGV_MAX];

        ck_assert_uint_eq(login_helper_argv(&svc, 3, fd_buf, argv), 3);
        ck_assert_str_eq(argv[0], "/usr/libexec/webttyd-login");
        ck_assert_str_eq(argv[1], "--socket-fd");
        ck_assert_str_eq(argv[2], "3");
        ck_assert_ptr_null(argv[3]);
        svc.login_user = "alice";
        svc.allow_client_user = true;
        ck_assert_uint_eq(login_helper_argv(&svc, 12, fd_buf, argv), 6);
        ck_assert_str_eq(argv[2], "12");
        ck_assert_str_eq(argv[3], "--login-user");
        ck_assert_str_eq(argv[4], "alice");
        ck_assert_str_eq(argv[5], "--allow-client-user");
        ck_assert_ptr_null(argv[6]);
        svc.login_user = ""; /* empty is not forwarded */
        ck_assert_uint_eq(login_helper_argv(&svc, 3, fd_buf, argv), 4);
        ck_assert_str_eq(argv[3], "--allow-client-user");
}
END_TEST

/* ---- the state machine over a socketpair ------------------------------------ */

typedef struct recorder {
        int started, refused, exited, failed;
        bool tty;
        char user[64];
        int fds[3];
        char text[512];
        int code;
        login_client *lc;
        bool free_in_callback;
} recorder;

static void rec_started(login_client *lc, const loginproto_started *st, int fds[3], void *userdata) {
        recorder *r = userdata;
        r->started++;
        r->tty = st->tty;
        snprintf(r->user, sizeof(r->user), "%s", st->user);
        memcpy(r->fds, fds, sizeof(r->fds));
}

static void rec_refused(login_client *lc, const char *message, void *userdata) {
        recorder *r = userdata;
        r->refused++;
        snprintf(r->text, sizeof(r->text), "%s", message);
        if (r->free_in_callback)
                r->lc = login_client_free(r->lc);
}

static void rec_exited(login_client *lc, int code, void *userdata) {
        recorder *r = userdata;
        r->exited++;
        r->code = code;
}

static void rec_failed(login_client *lc, const char *cause, void *userdata) {
        recorder *r = userdata;
        r->failed++;
        snprintf(r->text, sizeof(r->text), "%s", cause);
        if (r->free_in_callback)
                r->lc = login_client_free(r->lc);
}

static const login_client_ops rec_ops = {rec_started, rec_refused, rec_exited, rec_failed};

typedef struct fixture {
        sd_event *event;
        int peer; /* the test's end: plays webttyd-login */
        recorder rec;
        loginproto_request got; /* the REQUEST as decoded on the peer side */
} fixture;

static const uint8_t open_bytes[] = {0x0a, 0x04, 0x12, 0x02, 'i', 'd'};

static void fixture_start(fixture *f, bool want_tty) {
        loginproto_request req = {
                .transport = (char *) "plain",
                .peer = (char *) "unix:pid=1,uid=0",
                .session_id = (char *) "0123456789abcdef01234567",
                .has_nonce = true,
                .open = (uint8_t *) open_bytes,
                .open_len = sizeof(open_bytes),
        };
        _cleanup_free_ char *err = NULL;
        uint8_t buf[4096];
        int sv[2];
        ssize_t n;

        memset(f, 0, sizeof(*f));
        memset(req.nonce, 0xab, sizeof(req.nonce));
        f->rec.fds[0] = f->rec.fds[1] = f->rec.fds[2] = -1;
        ck_assert_int_ge(sd_event_new(&f->event), 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        f->peer = sv[1];
        ck_assert_int_eq(
                login_client_start_fd(f->event, sv[0], &req, want_tty, &rec_ops, &f->rec, &f->rec.lc, &err),
                0);
        n = recv(f->peer, buf, sizeof(buf), 0);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(loginproto_decode_request(buf, (size_t) n, &f->got, &err), 0);
}

static void fixture_done(fixture *f) {
        f->rec.lc = login_client_free(f->rec.lc);
        for (int i = 0; i < 3; i++)
                safe_close(f->rec.fds[i]);
        safe_close(f->peer);
        loginproto_request_done(&f->got);
        sd_event_unref(f->event);
}

/* Runs the loop until nothing is pending. */
static void pump(fixture *f) {
        while (sd_event_run(f->event, 50 * 1000) > 0)
                ;
}

static void peer_send(fixture *f, const uint8_t *buf, size_t len, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr align;
                uint8_t b[CMSG_SPACE(sizeof(int) * 4)];
        } control = {};
        struct iovec iov = {.iov_base = (void *) buf, .iov_len = len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

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
        ck_assert_int_eq(sendmsg(f->peer, &mh, MSG_NOSIGNAL), (ssize_t) len);
}

static void send_started(fixture *f, bool tty, const int *fds, size_t n_fds) {
        loginproto_started st = {.pid = 4242, .tty = tty, .user = (char *) "alice", .tty_name = (char *) ""};
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;

        ck_assert_int_eq(loginproto_encode_started(&st, &buf, &len), 0);
        peer_send(f, buf, len, fds, n_fds);
}

static void send_exited(fixture *f, int code) {
        loginproto_exited m = {.code = code};
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;

        ck_assert_int_eq(loginproto_encode_exited(&m, &buf, &len), 0);
        peer_send(f, buf, len, NULL, 0);
}

static int peer_recv_signal(fixture *f) {
        _cleanup_free_ char *err = NULL;
        loginproto_signal m = {};
        uint8_t buf[64];
        ssize_t n = recv(f->peer, buf, sizeof(buf), MSG_DONTWAIT);

        if (n <= 0)
                return (int) n;
        ck_assert_int_eq(loginproto_decode_signal(buf, (size_t) n, &m, &err), 0);
        return m.signo;
}

/* Real pipes: the test keeps the child's ends. */
static void make_pipes(int theirs[3], int child[3]) {
        int p[2];

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        child[0] = p[0], theirs[0] = p[1];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        theirs[1] = p[0], child[1] = p[1];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        theirs[2] = p[0], child[2] = p[1];
}

START_TEST(test_client_request_fields) {
        fixture f;

        fixture_start(&f, false);
        ck_assert_str_eq(f.got.transport, "plain");
        ck_assert_str_eq(f.got.peer, "unix:pid=1,uid=0");
        ck_assert_str_eq(f.got.session_id, "0123456789abcdef01234567");
        ck_assert(f.got.has_nonce);
        ck_assert_uint_eq(f.got.nonce[31], 0xab);
        ck_assert_uint_eq(f.got.open_len, sizeof(open_bytes));
        ck_assert_mem_eq(f.got.open, open_bytes, sizeof(open_bytes));
        /* Nothing happens until webttyd-login answers; no signal is sent before STARTED. */
        pump(&f);
        ck_assert_int_eq(f.rec.started + f.rec.failed + f.rec.refused, 0);
        ck_assert_int_eq(login_client_signal(f.rec.lc, SIGHUP), -ESRCH);
        ck_assert(!login_client_running(f.rec.lc));
        fixture_done(&f);
}
END_TEST

START_TEST(test_client_full_session) {
        int theirs[3], child[3];
        fixture f;
        uint8_t b;

        fixture_start(&f, false);
        make_pipes(theirs, child);
        send_started(&f, false, theirs, 3);
        for (int i = 0; i < 3; i++)
                safe_close(theirs[i]);
        pump(&f);
        ck_assert_int_eq(f.rec.started, 1);
        ck_assert_str_eq(f.rec.user, "alice");
        ck_assert(login_client_running(f.rec.lc));
        /* The fds are the real pipes: stdin reaches the child's end, output comes back. */
        ck_assert_int_eq(write(f.rec.fds[0], "x", 1), 1);
        ck_assert_int_eq(read(child[0], &b, 1), 1);
        ck_assert_int_eq(write(child[1], "y", 1), 1);
        ck_assert_int_eq(read(f.rec.fds[1], &b, 1), 1);
        ck_assert_int_eq(b, 'y');
        ck_assert(nonblocking(f.rec.fds[1]));
        /* Signals, only the allowed ones. */
        ck_assert_int_eq(login_client_signal(f.rec.lc, SIGINT), 0);
        ck_assert_int_eq(peer_recv_signal(&f), SIGINT);
        ck_assert_int_eq(login_client_signal(f.rec.lc, SIGUSR1), -EINVAL);
        ck_assert_int_eq(login_client_signal(f.rec.lc, SIGKILL), 0);
        ck_assert_int_eq(peer_recv_signal(&f), SIGKILL);
        send_exited(&f, -1);
        pump(&f);
        ck_assert_int_eq(f.rec.exited, 1);
        ck_assert_int_eq(f.rec.code, -1);
        ck_assert(!login_client_running(f.rec.lc));
        ck_assert_int_eq(login_client_signal(f.rec.lc, SIGKILL), -ESRCH);
        /* The end of the connection after EXITED is no failure. */
        f.peer = safe_close(f.peer);
        pump(&f);
        ck_assert_int_eq(f.rec.failed, 0);
        close3(child);
        fixture_done(&f);
}
END_TEST

START_TEST(test_client_refused) {
        loginproto_refused m = {.message = (char *) "not for you"};
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        fixture f;

        fixture_start(&f, true);
        f.rec.free_in_callback = true;
        ck_assert_int_eq(loginproto_encode_refused(&m, &buf, &len), 0);
        peer_send(&f, buf, len, NULL, 0);
        pump(&f);
        ck_assert_int_eq(f.rec.refused, 1);
        ck_assert_str_eq(f.rec.text, "not for you");
        ck_assert_ptr_null(f.rec.lc); /* freed inside its callback, safely */
        /* The hang-up reached the peer. */
        ck_assert_int_eq(recv(f.peer, buf, 1, MSG_DONTWAIT), 0);
        fixture_done(&f);
}
END_TEST

/* Each case: what the peer sends instead of a proper answer, and the cause. */
START_TEST(test_client_protocol_errors) {
        static const uint8_t junk[] = {0x09, 0x02, 0x00};
        static const uint8_t exited0[] = {1, LOGINPROTO_EXITED, 1, 0, 0, 0, 4, 0, 0, 0, 0};
        static const uint8_t exited300[] = {1, LOGINPROTO_EXITED, 1, 0, 0, 0, 4, 0, 0, 1, 44};
        static const uint8_t request[] = {1, LOGINPROTO_REQUEST};
        static const struct {
                int when; /* 0: before STARTED, 1: after, 2: after EXITED */
                const uint8_t *buf;
                size_t len;
                const char *cause;
        } cases[] = {
                {0, junk, sizeof(junk), "undecodable message (3 bytes)"},
                {0, exited0, sizeof(exited0), "unexpected EXITED before STARTED"},
                {0, request, sizeof(request), "unexpected REQUEST before STARTED"},
                {1, exited300, sizeof(exited300), "malformed login exited message"},
                {1, request, sizeof(request), "unexpected REQUEST while running"},
                {2, exited0, sizeof(exited0), "unexpected EXITED after EXITED"},
                {0, NULL, 0, "webttyd-login closed the connection before STARTED"},
                {1, NULL, 0, "webttyd-login closed the connection before EXITED"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int theirs[3], child[3];
                fixture f;

                fixture_start(&f, false);
                f.rec.free_in_callback = true;
                if (cases[i].when >= 1) {
                        make_pipes(theirs, child);
                        send_started(&f, false, theirs, 3);
                        close3(theirs);
                        close3(child);
                }
                if (cases[i].when >= 2)
                        send_exited(&f, 0);
                if (cases[i].buf)
                        peer_send(&f, cases[i].buf, cases[i].len, NULL, 0);
                else
                        f.peer = safe_close(f.peer);
                pump(&f);
                ck_assert_msg(f.rec.failed == 1, "case %zu: no failure", i);
                ck_assert_msg(strstr(f.rec.text, cases[i].cause), "case %zu: cause \"%s\"", i, f.rec.text);
                ck_assert_ptr_null(f.rec.lc);
                fixture_done(&f);
        }
}
END_TEST

START_TEST(test_client_fds_checked) {
        int theirs[3], child[3], many[4];
        fixture f;

        /* Pipes when the Open asked for a PTY. */
        fixture_start(&f, true);
        f.rec.free_in_callback = true;
        make_pipes(theirs, child);
        send_started(&f, false, theirs, 3);
        pump(&f);
        ck_assert_int_eq(f.rec.failed, 1);
        ck_assert_str_eq(f.rec.text, "STARTED: pipes but the Open asked for a PTY");
        fixture_done(&f);

        /* More fds than any message may carry: all closed, session refused. */
        fixture_start(&f, false);
        f.rec.free_in_callback = true;
        memcpy(many, theirs, sizeof(theirs));
        many[3] = theirs[0];
        send_started(&f, false, many, 4);
        pump(&f);
        ck_assert_int_eq(f.rec.failed, 1);
        ck_assert_msg(strstr(f.rec.text, "more than 3 fds"), "%s", f.rec.text);
        fixture_done(&f);

        /* fds on a REFUSED. */
        fixture_start(&f, false);
        f.rec.free_in_callback = true;
        {
                loginproto_refused m = {.message = (char *) "no"};
                _cleanup_free_ uint8_t *buf = NULL;
                size_t len;
                ck_assert_int_eq(loginproto_encode_refused(&m, &buf, &len), 0);
                peer_send(&f, buf, len, theirs, 1);
        }
        pump(&f);
        ck_assert_int_eq(f.rec.failed, 1);
        ck_assert_str_eq(f.rec.text, "REFUSED with fds attached");
        fixture_done(&f);

        close3(theirs);
        /* Every copy webttyd received was closed: the child's stdin sees EOF... */
        {
                uint8_t b;
                ck_assert_int_eq(read(child[0], &b, 1), 0);
        }
        close3(child);
}
END_TEST

START_TEST(test_client_signal_waits_when_full) {
        int theirs[3], child[3], got = 0, last = 0, s;
        fixture f;

        fixture_start(&f, false);
        make_pipes(theirs, child);
        send_started(&f, false, theirs, 3);
        close3(theirs);
        pump(&f);
        ck_assert_int_eq(f.rec.started, 1);
        /* webttyd-login does not read: the socket buffer fills, the client never blocks. */
        for (int i = 0; i < 20000; i++)
                ck_assert_int_eq(login_client_signal(f.rec.lc, SIGINT), 0);
        /* A kill replaces the one waiting. */
        ck_assert_int_eq(login_client_signal(f.rec.lc, SIGKILL), 0);
        ck_assert_int_eq(login_client_signal(f.rec.lc, SIGHUP), 0);
        while ((s = peer_recv_signal(&f)) > 0)
                got++, last = s;
        ck_assert_int_gt(got, 10);
        ck_assert_int_lt(got, 20000); /* some had to wait */
        ck_assert_int_eq(last, SIGINT);
        pump(&f);
        ck_assert_int_eq(peer_recv_signal(&f), SIGKILL);
        ck_assert_int_eq(peer_recv_signal(&f), -1); /* nothing more: the waiting one went once */
        ck_assert_int_eq(f.rec.failed, 0);
        close3(child);
        fixture_done(&f);
}
END_TEST

START_TEST(test_client_unreachable) {
        login_service svc = {.socket_path = "/nonexistent/login.sock"};
        loginproto_request req = {
                .transport = (char *) "plain", .open = (uint8_t *) open_bytes, .open_len = 6};
        _cleanup_free_ char *err = NULL;
        login_client *lc = NULL;
        sd_event *e = NULL;

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(login_client_start(e, &svc, &req, false, &rec_ops, NULL, &lc, &err), -ENOENT);
        ck_assert_str_eq(err, "connect to /nonexistent/login.sock: No such file or directory");
        ck_assert_ptr_null(lc);
        /* Too large to send: refused before connecting (not ENOENT). */
        {
                _cleanup_free_ uint8_t *big = calloc(1, LOGINPROTO_MAX + 1);
                loginproto_request r2 = req;
                ck_assert_ptr_nonnull(big);
                r2.open = big;
                r2.open_len = LOGINPROTO_MAX + 1;
                ck_assert_int_eq(login_client_start(e, &svc, &r2, false, &rec_ops, NULL, &lc, &err), -E2BIG);
                ck_assert_str_eq(err, "the REQUEST would exceed 262144 bytes");
                ck_assert_ptr_null(lc);
        }
        /* A request that cannot be encoded (no Open). */
        {
                int sv[2];
                uint8_t b;
                loginproto_request empty = {.transport = (char *) "plain"};
                ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
                ck_assert_int_lt(login_client_start_fd(e, sv[0], &empty, false, &rec_ops, NULL, &lc, &err),
                                 0);
                ck_assert_msg(strstr(err, "encode REQUEST"), "%s", err);
                /* The fd was taken over and closed. */
                ck_assert_int_eq(recv(sv[1], &b, 1, MSG_DONTWAIT), 0);
                safe_close(sv[1]);
        }
        sd_event_unref(e);
}
END_TEST

static Suite *login_client_suite(void) {
        Suite *s = suite_create("login-client");
        TCase *pure = tcase_create("pure"), *conn = tcase_create("connection");

        tcase_add_test(pure, test_open_bytes_single_field);
        tcase_add_test(pure, test_open_bytes_other_encodings);
        tcase_add_test(pure, test_check_account);
        tcase_add_test(pure, test_started_fds_pipes);
        tcase_add_test(pure, test_started_fds_not_pipes);
        tcase_add_test(pure, test_started_fds_pty);
        tcase_add_test(pure, test_helper_argv);
        tcase_add_test(conn, test_client_request_fields);
        tcase_add_test(conn, test_client_full_session);
        tcase_add_test(conn, test_client_refused);
        tcase_add_test(conn, test_client_protocol_errors);
        tcase_add_test(conn, test_client_fds_checked);
        tcase_add_test(conn, test_client_signal_waits_when_full);
        tcase_add_test(conn, test_client_unreachable);
        suite_add_tcase(s, pure);
        suite_add_tcase(s, conn);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(login_client_suite());
        int failed;

        /* The daemon ignores SIGPIPE; so does the client code under test. */
        (void) signal(SIGPIPE, SIG_IGN);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
