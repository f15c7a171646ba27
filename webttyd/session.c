/* One WebTTY session (see session.h and spec section 4). */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "b64u.h"
#include "e2e.h"
#include "log.h"
#include "loginclient.h"
#include "macro.h"
#include "protect.h"
#include "server.h"
#include "sessid.h"
#include "spawn.h"
#include "wmsg.h"

/* Output read size: the child's output pipes are made 256 KiB large
 * (spawn.c), so one read can empty one. Larger chunks mean fewer messages,
 * system calls and AEAD setups per byte; the bound keeps every message
 * well below the 1 MiB limit peers accept. */
#define OUTPUT_CHUNK (256u * 1024u)
/* Stop reading the child when this much output waits for a slow peer, and
 * resume below the low mark: bounded memory whatever the child prints. */
#define OUTPUT_HIGH_WATER (256u * 1024u)
#define OUTPUT_LOW_WATER (64u * 1024u)

enum { OUT_STDOUT, OUT_STDERR, N_OUT };

typedef enum session_phase {
        PHASE_HANDSHAKE, /* waiting for Open */
        PHASE_STARTING,  /* child forked, waiting for its exec outcome */
        PHASE_OPEN,      /* child running or streams draining */
        PHASE_CLOSING,   /* Close/Error sent or fatal error; waiting for the peer */
} session_phase;

struct session {
        session *next, *prev;
        server *srv;
        char id[SESSID_LEN + 1];
        char peer[128];
        wt_conn *conn;
        session_phase phase;
        uint64_t started_usec;

        sd_event_source *open_timer, *close_timer, *heartbeat_timer;

        spawn_child child;   /* login mode: only the fds and the user; pid 0 (not our child) */
        login_client *login; /* login mode: the connection to webttyd-login */
        bool child_started, child_done, draining;
        int exit_code;
        sd_event_source *child_src, *exec_src;
        sd_event_source *out_src[N_OUT];
        bool out_eos_sent[N_OUT];
        bool output_paused;

        /* stdin bytes the child has not taken yet (pipe or PTY full) */
        sd_event_source *stdin_src;
        uint8_t *in_buf;
        size_t in_len, in_off;
        bool stdin_closed, stdin_eos_pending;
        int stdin_fd;

        const char *end_reason; /* reason_code for the closing record */
        char end_error[256];

        /* endpoint authentication and E2E (protect.h) */
        uint8_t nonce[AUTH_NONCE_LEN]; /* sent in ServerHello */
        bool authenticated;
        char client_key_id[48]; /* b64u of the verified client's signing key id */
        char *client_principal;
        e2e_session *e2e; /* after the grant was opened: every terminal byte is encrypted */
};

static uint8_t output_buffer[WMSG_DATA_HEADER_MAX + OUTPUT_CHUNK];
/* Encrypted output: the plaintext chunk plus the envelope (nonce, tag, key
 * id, key context), which stays well below this margin for any key context
 * a peer can send within the message limit... except a huge one, which is
 * refused at seal time with -ENOBUFS. */
#define SEALED_MARGIN (64u * 1024u)
#define SEAL_HEADROOM 64u /* >= e2e_seal_data_prefix() for any chunk */
static uint8_t sealed_buffer[SEAL_HEADROOM + OUTPUT_CHUNK + SEALED_MARGIN];

static void session_free(session *se);
static void session_fail(session *se, const char *reason_code, const char *fmt, ...) _printf_(3, 4);
static void session_maybe_finish(session *se);

session *session_next(session *se) {
        return se->next;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static bool login_mode(const session *se) {
        return se->srv->policy.mode == SPAWN_MODE_LOGIN;
}

static const char *exec_mode_name(const session *se) {
        return login_mode(se) ? "login" : "spawn";
}

/* ---- logging (host spec 7.1) -------------------------------------------- */

static const char *reason_code_for(const char *msg) {
        if (strcasestr(msg, "session key grant"))
                return "session_key_grant_invalid";
        if (strcasestr(msg, "e2e"))
                return "e2e_configuration_error";
        if (strcasestr(msg, "permission denied"))
                return "permission_denied";
        if (strcasestr(msg, "timeout"))
                return "operation_timeout";
        return "session_error";
}

static const char *protected_str(const session *se) {
        return protection_enabled(&se->srv->prot) ? "true" : "false";
}

/* The audit set (host spec 7.1): only what is known and non-empty. */
static const char *audit_key(const session *se) {
        return se->authenticated ? se->client_key_id : NULL;
}

static void log_session(session *se, int prio, const char *message, const char *k1, const char *v1,
                        const char *k2, const char *v2) {
        wlog_record(prio, message, "session_id", se->id, "transport", wt_conn_transport(se->conn), "peer",
                    se->peer, k1 ? k1 : "", k1 ? v1 : NULL, k2 ? k2 : "", k2 ? v2 : NULL,
                    "server_signing_key_id",
                    protection_enabled(&se->srv->prot) ? se->srv->prot.signing_key_id_b64 : NULL,
                    "client_signing_key_id", audit_key(se), "client_principal_id",
                    se->client_principal && *se->client_principal ? se->client_principal : NULL, "e2e",
                    protected_str(se), "client_proof_required", protected_str(se), "execution_mode",
                    exec_mode_name(se), NULL);
}

static void log_closed(session *se) {
        char dur[32], code[16];

        snprintf(dur, sizeof(dur), "%llu", (unsigned long long) ((now_usec() - se->started_usec) / 1000));
        snprintf(code, sizeof(code), "%d", se->exit_code);
        wlog_record(LOG_INFO, "session closed", "session_id", se->id, "transport",
                    wt_conn_transport(se->conn), "peer", se->peer, "duration_ms", dur, "opened",
                    se->child_started ? "true" : "false", "authenticated",
                    se->authenticated ? "true" : "false", "child_done", se->child_done ? "true" : "false",
                    "exit_code", se->child_done ? code : NULL, "client_signing_key_id", audit_key(se), "e2e",
                    protected_str(se), "client_proof_required", protected_str(se), "execution_mode",
                    exec_mode_name(se), "reason_code", se->end_reason, "error",
                    se->end_error[0] ? se->end_error : NULL, NULL);
}

/* ---- sending ---------------------------------------------------------- */

#define SEND(se, packer, ...) WT_SEND_PACKED((se)->conn, packer __VA_OPT__(, ) __VA_ARGS__)

/* ---- child process ------------------------------------------------------ */

static void child_signal(session *se, int sig) {
        int r;

        if (!se->child_started || se->child_done)
                return;
        if (se->login) {
                /* Not our child: webttyd-login signals the process group for us. */
                r = login_client_signal(se->login, sig);
                if (r < 0 && r != -ESRCH)
                        log_session(se, LOG_WARNING, "failed to ask webttyd-login for a signal", "signal",
                                    sigabbrev_np(sig), "error", strerror(-r));
                return;
        }
        if (se->child.pid <= 0)
                return;
        /* The child leads its own process group once it has run setsid(). */
        if (kill(-se->child.pid, sig) < 0 && errno == ESRCH)
                (void) kill(se->child.pid, sig);
}

static void output_stop(session *se) {
        for (int i = 0; i < N_OUT; i++)
                se->out_src[i] = sd_event_source_disable_unref(se->out_src[i]);
}

static void stdin_close(session *se) {
        se->stdin_src = sd_event_source_disable_unref(se->stdin_src);
        if (se->child.tty)
                safe_close(se->stdin_fd); /* our duplicate of the master */
        else
                se->child.stdin_fd = safe_close(se->child.stdin_fd);
        se->stdin_fd = -1;
        se->stdin_closed = true;
        free(se->in_buf);
        se->in_buf = NULL;
        se->in_len = se->in_off = 0;
}

/* Stops everything that belongs to the child; the process group is killed.
 * In login mode the kill is asked of webttyd-login, and closing the
 * connection hangs the session up there whatever else happened. */
static void child_teardown(session *se) {
        child_signal(se, SIGKILL);
        se->login = login_client_free(se->login);
        output_stop(se);
        stdin_close(se);
        se->child_src = sd_event_source_disable_unref(se->child_src);
        se->exec_src = sd_event_source_disable_unref(se->exec_src);
        if (se->child_started && !se->child_done && se->child.pid > 0) {
                /* Reap now so no zombie is left; SIGKILL makes this prompt. */
                (void) waitpid(se->child.pid, NULL, 0);
                se->child_done = true;
                se->exit_code = -1;
        }
        if (se->child_started)
                spawn_child_done(&se->child);
        se->child.pid = 0;
}

/* ---- ending ------------------------------------------------------------ */

static int on_close_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        session *se = userdata;

        if (!se->end_reason) {
                se->end_reason = "operation_timeout";
                snprintf(se->end_error, sizeof(se->end_error), "operation timeout");
        }
        session_free(se);
        return 0;
}

/* Starts the close handshake; the session ends when the peer closes or the
 * close deadline passes. */
static void session_begin_close(session *se) {
        if (se->phase == PHASE_CLOSING)
                return;
        se->phase = PHASE_CLOSING;
        /* Login mode: the process side is over (Close sent, or nothing runs):
         * let webttyd-login end the PAM session now, not after the peer's
         * close handshake. */
        se->login = login_client_free(se->login);
        se->open_timer = sd_event_source_disable_unref(se->open_timer);
        se->heartbeat_timer = sd_event_source_disable_unref(se->heartbeat_timer);
        (void) wt_conn_close(se->conn, 1000, "finished");
        if (sd_event_add_time_relative(se->srv->event, &se->close_timer, CLOCK_MONOTONIC,
                                       se->srv->cfg->close_timeout_usec, 0, on_close_timer, se) < 0)
                session_free(se);
}

static void session_fail(session *se, const char *reason_code, const char *fmt, ...) {
        va_list ap;

        if (se->phase == PHASE_CLOSING)
                return;
        va_start(ap, fmt);
        vsnprintf(se->end_error, sizeof(se->end_error), fmt, ap);
        va_end(ap);
        se->end_reason = reason_code ? reason_code : reason_code_for(se->end_error);
        log_session(se, LOG_WARNING, "session error", "reason_code", se->end_reason, "error", se->end_error);
        child_teardown(se);
        session_begin_close(se);
}

/* An Open that cannot be honoured: Error to the client, then close. */
static void session_reject(session *se, const char *msg) {
        snprintf(se->end_error, sizeof(se->end_error), "%s", msg);
        se->end_reason = reason_code_for(msg);
        log_session(se, LOG_WARNING, "session rejected", "reason_code", se->end_reason, "error", msg);
        (void) SEND(se, wmsg_pack_error, msg);
        session_begin_close(se);
}

/* A client proof that failed (auth_client_proof_verify): ProtocolError with
 * its code, or a plain Error for code 0; then close. Nothing was started. */
static void session_reject_proof(session *se, int code, const char *msg) {
        static const char *const reasons[] = {
                [AUTH_CODE_CLIENT_PROOF_REQUIRED] = "client_proof_required",
                [AUTH_CODE_CLIENT_PROOF_INVALID] = "client_proof_invalid",
                [AUTH_CODE_CLIENT_UNAUTHORIZED] = "client_unauthorized",
        };

        if (code <= 0 || (size_t) code >= ELEMENTSOF(reasons) || !reasons[code]) {
                session_reject(se, msg);
                return;
        }
        snprintf(se->end_error, sizeof(se->end_error), "%s", msg);
        se->end_reason = reasons[code];
        log_session(se, LOG_WARNING, "session rejected", "reason_code", se->end_reason, "error", msg);
        (void) SEND(se, wmsg_pack_protocol_error, code, msg);
        session_begin_close(se);
}

static void session_send_close_if_done(session *se) {
        if (se->phase != PHASE_OPEN || !se->child_done)
                return;
        for (int i = 0; i < N_OUT; i++)
                if (se->out_src[i] || (!se->out_eos_sent[i] && !(i == OUT_STDERR && se->child.tty)))
                        return;
        (void) SEND(se, wmsg_pack_close, se->exit_code);
        se->end_reason = NULL;
        session_begin_close(se);
}

static void session_maybe_finish(session *se) {
        session_send_close_if_done(se);
}

/* ---- output ------------------------------------------------------------ */

static int output_index(const session *se, sd_event_source *s) {
        return s == se->out_src[OUT_STDERR] ? OUT_STDERR : OUT_STDOUT;
}

static void output_eof(session *se, int idx) {
        Webtty__Data__Type type =
                idx == OUT_STDERR ? WEBTTY__DATA__TYPE__TYPE_STDERR : WEBTTY__DATA__TYPE__TYPE_STDOUT;

        se->out_src[idx] = sd_event_source_disable_unref(se->out_src[idx]);
        if (!se->out_eos_sent[idx]) {
                se->out_eos_sent[idx] = true;
                (void) SEND(se, wmsg_pack_eos, type);
        }
        session_maybe_finish(se);
}

static void output_set_paused(session *se, bool pause) {
        se->output_paused = pause;
        for (int i = 0; i < N_OUT; i++)
                if (se->out_src[i])
                        (void) sd_event_source_set_enabled(se->out_src[i],
                                                           pause ? SD_EVENT_OFF : SD_EVENT_ON);
        if (pause)
                wt_conn_want_writable(se->conn);
}

/* Reads what the child has written, up to one chunk. A PTY hands out at most
 * a few KiB per read, so keep reading while data is there: one message per
 * wake-up instead of one per read. Returns bytes read, 0 at end of stream, or
 * -EAGAIN when nothing was available. */
static ssize_t output_read(int fd, uint8_t *buf, size_t size) {
        size_t got = 0;

        while (got < size) {
                ssize_t n = read(fd, buf + got, size - got);
                if (n > 0) {
                        got += (size_t) n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (got > 0) /* deliver what we have; EOF or the error shows up on the next read */
                        break;
                if (n < 0 && errno == EAGAIN)
                        return -EAGAIN;
                /* EIO on a PTY master means the slave side is gone: end of stream. */
                return 0;
        }
        return (ssize_t) got;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        session *se = userdata;
        int idx = output_index(se, s);
        Webtty__Data__Type type =
                idx == OUT_STDERR ? WEBTTY__DATA__TYPE__TYPE_STDERR : WEBTTY__DATA__TYPE__TYPE_STDOUT;
        /* Under E2E the chunk is read where its ciphertext goes and sealed in place. */
        uint8_t *payload = se->e2e ? sealed_buffer + SEAL_HEADROOM : output_buffer + WMSG_DATA_HEADER_MAX;
        ssize_t n;
        size_t h;

        n = output_read(fd, payload, OUTPUT_CHUNK);
        if (n == -EAGAIN)
                return 0;
        if (n == 0) {
                output_eof(se, idx);
                return 0;
        }
        if (se->e2e) {
                size_t sealed;
                /* The cleartext stays in the reused read buffer until the next
                 * read overwrites it: the daemon saw it anyway. */
                size_t pre = e2e_seal_data_prefix(se->e2e, (e2e_stream) type, (size_t) n);
                uint8_t *out = payload - pre;
                int r = pre > 0 && pre <= SEAL_HEADROOM
                                ? e2e_seal_data(se->e2e, (e2e_stream) type, payload, (size_t) n, out,
                                                sizeof(sealed_buffer) - (size_t) (out - sealed_buffer),
                                                &sealed)
                                : -EINVAL;
                if (r < 0) {
                        session_fail(se, "e2e_configuration_error", "failed to encrypt %s payload: %s",
                                     e2e_stream_name((e2e_stream) type), strerror(-r));
                        return 0;
                }
                if (wt_conn_send(se->conn, out, sealed) < 0)
                        return 0;
        } else {
                h = wmsg_data_header(payload, type, (size_t) n);
                if (wt_conn_send(se->conn, payload - h, h + (size_t) n) < 0)
                        return 0; /* on_end follows */
        }
        if (wt_conn_queued(se->conn) > OUTPUT_HIGH_WATER)
                output_set_paused(se, true);
        return 0;
}

static void on_conn_writable(wt_conn *c, void *userdata) {
        session *se = userdata;
        if (se->output_paused)
                output_set_paused(se, false);
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        session *se = userdata;
        char code[16];

        se->child_done = true;
        se->exit_code = si->si_code == CLD_EXITED ? si->si_status : -1;
        se->child_src = sd_event_source_disable_unref(se->child_src);
        snprintf(code, sizeof(code), "%d", se->exit_code);
        log_session(se, LOG_INFO, "child process exited", "exit_code", code, NULL, NULL);
        session_maybe_finish(se);
        return 0;
}

/* ---- stdin -------------------------------------------------------------- */

static void stdin_flush(session *se);

static int on_stdin_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        stdin_flush(userdata);
        return 0;
}

/* Writes buffered stdin; pauses reading from the peer while the child is not
 * taking input, so a paste into a stuck program cannot grow memory. */
static void stdin_flush(session *se) {
        while (se->in_off < se->in_len) {
                ssize_t n = write(se->stdin_fd, se->in_buf + se->in_off, se->in_len - se->in_off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        if (!se->stdin_src && sd_event_add_io(se->srv->event, &se->stdin_src, se->stdin_fd,
                                                              EPOLLOUT, on_stdin_writable, se) < 0) {
                                session_fail(se, NULL, "failed to watch stdin: %s", strerror(ENOMEM));
                                return;
                        }
                        (void) wt_conn_pause_reading(se->conn, true);
                        return;
                }
                if (n < 0) {
                        /* The child closed its stdin (EPIPE) or the PTY is gone: not an error. */
                        stdin_close(se);
                        (void) wt_conn_pause_reading(se->conn, false);
                        return;
                }
                se->in_off += (size_t) n;
        }
        se->in_len = se->in_off = 0;
        se->stdin_src = sd_event_source_disable_unref(se->stdin_src);
        (void) wt_conn_pause_reading(se->conn, false);
        if (se->stdin_eos_pending)
                stdin_close(se);
}

static void stdin_write(session *se, const uint8_t *buf, size_t len) {
        uint8_t *n;

        if (se->stdin_closed || len == 0)
                return;
        n = realloc(se->in_buf, se->in_len + len);
        if (!n) {
                session_fail(se, NULL, "out of memory");
                return;
        }
        se->in_buf = n;
        memcpy(se->in_buf + se->in_len, buf, len);
        se->in_len += len;
        stdin_flush(se);
}

/* Decrypts an E2E stdin payload; a failure ends the session. The plaintext
 * (keystrokes, maybe a password) is wiped once the child has it. */
static void stdin_write_encrypted(session *se, const Webtty__Data *d) {
        _cleanup_free_ char *err = NULL;
        uint8_t *pt = NULL;
        size_t n = 0;
        int r;

        r = e2e_open_data_alloc(se->e2e, E2E_STREAM_STDIN, d, &pt, &n, &err);
        if (r < 0) {
                session_fail(se, "e2e_configuration_error", "failed to decrypt stdin payload: %s",
                             err ? err : strerror(-r));
                return;
        }
        stdin_write(se, pt, n);
        sodium_memzero(pt, n);
        free(pt);
}

/* ---- endpoint authentication (protocol spec 6) --------------------------- */

static int session_send_hello(session *se) {
        const server_protection *p = &se->srv->prot;
        auth_identity id = {
                .signing = p->identity->sig,
                .signing_key_id = p->identity->pub.sig_id,
                .signing_public_key = p->identity->pub.sig_spki,
                .encryption = p->identity->enc,
        };
        auth_server_config cfg = {
                .transport = wt_conn_transport(se->conn),
                .session_id = se->id,
                .require_client_proof = true,
        };
        Webtty__Message m = WEBTTY__MESSAGE__INIT;
        Webtty__ServerHello *hello = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = auth_server_hello_build(&id, &cfg, se->nonce, &hello);
        if (r < 0)
                return r;
        m.payload_case = WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO;
        m.server_hello = hello;
        r = wmsg_pack(&m, &buf, &len);
        auth_server_hello_free(hello);
        return r < 0 ? r : wt_conn_send(se->conn, buf, len);
}

/* Verifies the proof (protocol spec 6.6 + replay cache). Returns false after
 * rejecting the session. */
static bool session_verify_proof(session *se, const Webtty__Open *open) {
        server_protection *p = &se->srv->prot;
        auth_verifier v = {
                .server =
                        {
                                .transport = wt_conn_transport(se->conn),
                                .session_id = se->id,
                                .server_signing_key_id = p->identity->pub.sig_id,
                                .server_encryption_key_id = p->identity->pub.enc_id,
                                .key_envelope_suite = p->identity->pub.suite,
                                .nonce = se->nonce,
                        },
                .lookup = protection_lookup,
                .userdata = p,
                .replay = p->replay,
        };
        auth_verified_client who = {0};
        _cleanup_free_ char *err = NULL, *key_id = NULL;
        int code = 0, r;

        r = auth_client_proof_verify(&v, open, &code, &err, &who);
        if (r < 0) {
                session_reject_proof(se, code, err ? err : "WebTTY client proof is invalid");
                return false;
        }
        se->authenticated = true;
        if (b64u_encode(who.signing_key_id, SIGKEY_ID_LEN, &key_id) >= 0)
                snprintf(se->client_key_id, sizeof(se->client_key_id), "%s", key_id);
        se->client_principal = TAKE_PTR(who.principal_id);
        auth_verified_client_done(&who);
        return true;
}

/* Opens the session key grant with the server's encryption key. Returns
 * false after rejecting the session. */
static bool session_open_grant(session *se, const Webtty__Open *open) {
        const server_protection *p = &se->srv->prot;
        _cleanup_free_ char *err = NULL;
        char msg[512];
        int r;

        if (!protection_enabled(p)) {
                if (!open->session_key_grant)
                        return true;
                session_reject(se, "E2E session key grant was provided but no resolver is configured");
                return false;
        }
        if (!open->session_key_grant) {
                session_reject(se, "E2E session key grant is required");
                return false;
        }
        r = e2e_grant_open(open->session_key_grant, p->identity->enc, &se->e2e, &err);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "failed to resolve session key grant: %s",
                         err ? err : strerror(-r));
                session_reject(se, msg);
                return false;
        }
        return true;
}

/* ---- incoming messages ------------------------------------------------- */

static int on_heartbeat_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        session *se = userdata;

        (void) SEND(se, wmsg_pack_heartbeat);
        (void) sd_event_source_set_time_relative(s, se->srv->cfg->heartbeat_usec);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int watch_output(session *se, int idx, int fd) {
        int r = sd_event_add_io(se->srv->event, &se->out_src[idx], fd, EPOLLIN, on_output, se);
        if (r >= 0)
                (void) sd_event_source_set_priority(se->out_src[idx], SD_EVENT_PRIORITY_NORMAL);
        return r;
}

static int session_watch_child(session *se) {
        int r;

        /* On a PTY, stdin and output share the master. epoll takes one
         * registration per fd, so the stdin writer watches its own duplicate. */
        if (se->child.tty) {
                se->stdin_fd = fcntl(se->child.master_fd, F_DUPFD_CLOEXEC, 3);
                if (se->stdin_fd < 0)
                        return -errno;
        } else
                se->stdin_fd = se->child.stdin_fd;
        /* In login mode the exit status comes as EXITED from webttyd-login. */
        if (!login_mode(se)) {
                r = sd_event_add_child(se->srv->event, &se->child_src, se->child.pid, WEXITED, on_child_exit,
                                       se);
                if (r < 0)
                        return r;
                /* Exit handling after pending output so every byte is sent before Close. */
                (void) sd_event_source_set_priority(se->child_src, SD_EVENT_PRIORITY_IDLE);
        }
        r = watch_output(se, OUT_STDOUT, se->child.tty ? se->child.master_fd : se->child.stdout_fd);
        if (r >= 0 && !se->child.tty)
                r = watch_output(se, OUT_STDERR, se->child.stderr_fd);
        if (r >= 0 && se->srv->cfg->heartbeat_usec > 0)
                r = sd_event_add_time_relative(se->srv->event, &se->heartbeat_timer, CLOCK_MONOTONIC,
                                               se->srv->cfg->heartbeat_usec, 0, on_heartbeat_timer, se);
        return r;
}

static int on_exec_report(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static void handle_open_login(session *se, const Webtty__Open *open, const uint8_t *raw, size_t raw_len);

/* raw is the received Message that carried open (login mode hands it on). */
static void handle_open(session *se, const Webtty__Open *open, const uint8_t *raw, size_t raw_len) {
        _cleanup_(spawn_account_done) spawn_account acct = {0};
        _cleanup_free_ char *err = NULL;
        int r;

        if (se->phase != PHASE_HANDSHAKE) {
                session_fail(se, NULL, "process already started");
                return;
        }
        if (!open->config) {
                session_reject(se, "missing open config");
                return;
        }
        /* Order as the reference (protocol spec 4.4): client proof, account,
         * session key grant, process start. webttyd verifies the proof in
         * both modes; in login mode pam_rstream verifies it once more. */
        if (protection_enabled(&se->srv->prot) && !session_verify_proof(se, open))
                return;
        if (login_mode(se)) {
                handle_open_login(se, open, raw, raw_len);
                return;
        }
        r = spawn_resolve_account(open->config, &se->srv->policy, &acct, &err);
        if (r >= 0 && !session_open_grant(se, open))
                return;
        if (r >= 0)
                r = spawn_start_as(open->config, &se->srv->policy, &acct, &se->child, &err);
        if (r >= 0) {
                se->child_started = true;
                r = sd_event_add_io(se->srv->event, &se->exec_src, se->child.report_fd, EPOLLIN,
                                    on_exec_report, se);
        }
        if (r < 0) {
                session_reject(se, err ? err : strerror(-r));
                return;
        }
        /* Until the exec outcome is known nothing else from the peer is handled. */
        se->phase = PHASE_STARTING;
        (void) wt_conn_pause_reading(se->conn, true);
}

/* The process runs (spawn: exec'd; login: STARTED): Ack and start streaming.
 * started is webttyd-login's report, NULL in spawn mode. */
static void session_running(session *se, const loginproto_started *started) {
        char argc_s[16], pid_s[16];
        int r;

        se->phase = PHASE_OPEN;
        (void) wt_conn_pause_reading(se->conn, false);
        se->open_timer = sd_event_source_disable_unref(se->open_timer);
        log_session(se, LOG_INFO, "session accepted", NULL, NULL, NULL, NULL);
        if (started) {
                snprintf(pid_s, sizeof(pid_s), "%d", (int) started->pid);
                wlog_record(LOG_INFO, "starting child process", "session_id", se->id, "peer", se->peer,
                            "backend", se->child.tty ? "tty" : "pipe", "user", se->child.user, "tty",
                            started->tty_name && *started->tty_name ? started->tty_name : NULL, "login_pid",
                            pid_s, "execution_mode", exec_mode_name(se), NULL);
        } else {
                snprintf(argc_s, sizeof(argc_s), "%zu", se->child.argc);
                wlog_record(LOG_INFO, "starting child process", "session_id", se->id, "backend",
                            se->child.tty ? "tty" : "pipe", "exe", se->child.exe, "args_count", argc_s,
                            "workdir", se->child.workdir, "user", se->child.user, "execution_mode",
                            exec_mode_name(se), NULL);
        }
        /* Ack goes out before any output is read. */
        if (SEND(se, wmsg_pack_ack) < 0)
                return;
        r = session_watch_child(se);
        if (r < 0)
                session_fail(se, NULL, "failed to watch child: %s", strerror(-r));
        else if (se->draining)
                session_drain(se);
}

/* The child has exec'd its program (or failed to): Ack and start streaming,
 * or send the failure as Error. */
static int on_exec_report(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        session *se = userdata;
        _cleanup_free_ char *err = NULL;
        int r;

        r = spawn_check_started(&se->child, &err);
        if (r == 0)
                return 0;
        /* Out of epoll before the fd is closed (see spawn_check_started()). */
        se->exec_src = sd_event_source_disable_unref(se->exec_src);
        se->child.report_fd = safe_close(se->child.report_fd);
        if (r < 0) {
                se->child_started = false;
                spawn_child_done(&se->child);
                session_reject(se, err ? err : strerror(-r));
                return 0;
        }
        session_running(se, NULL);
        return 0;
}

/* ---- login mode: the session runs in webttyd-login (loginclient.h) ------- */

static void on_login_started(login_client *lc, const loginproto_started *st, int fds[3], void *userdata) {
        session *se = userdata;

        se->child_started = true;
        se->child.pid = 0; /* webttyd-login's child, signalled through it */
        se->child.tty = st->tty;
        if (st->tty)
                se->child.master_fd = fds[0];
        else {
                se->child.stdin_fd = fds[0];
                se->child.stdout_fd = fds[1];
                se->child.stderr_fd = fds[2];
        }
        se->child.user = strdup(st->user ? st->user : "");
        if (!se->child.user) {
                session_fail(se, NULL, "out of memory");
                return;
        }
        session_running(se, st);
}

static void on_login_refused(login_client *lc, const char *message, void *userdata) {
        session *se = userdata;

        se->login = login_client_free(se->login);
        session_reject(se, message);
}

static void on_login_exited(login_client *lc, int code, void *userdata) {
        session *se = userdata;
        char code_s[16];

        se->child_done = true;
        se->exit_code = code;
        snprintf(code_s, sizeof(code_s), "%d", code);
        log_session(se, LOG_INFO, "child process exited", "exit_code", code_s, NULL, NULL);
        session_maybe_finish(se);
}

static void on_login_failed(login_client *lc, const char *cause, void *userdata) {
        session *se = userdata;

        if (se->child_started) {
                session_fail(se, NULL, "webttyd-login failed: %s", cause);
                return;
        }
        /* The peer learns only that login is not available; the log has why. */
        log_session(se, LOG_WARNING, "webttyd-login failed", "error", cause, NULL, NULL);
        se->login = login_client_free(se->login);
        session_reject(se, LOGIN_UNAVAILABLE_MESSAGE);
}

static const login_client_ops session_login_ops = {
        .on_started = on_login_started,
        .on_refused = on_login_refused,
        .on_exited = on_login_exited,
        .on_failed = on_login_failed,
};

_Static_assert(AUTH_NONCE_LEN == LOGINPROTO_NONCE_LEN, "ServerHello nonce size");

/* Login mode after the proof: webttyd's own flags, the session key grant
 * (webttyd keeps the E2E keys: it encrypts the terminal), then the REQUEST
 * to webttyd-login, which decides the account with its policy and PAM. */
static void handle_open_login(session *se, const Webtty__Open *open, const uint8_t *raw, size_t raw_len) {
        server *srv = se->srv;
        _cleanup_free_ uint8_t *packed = NULL;
        _cleanup_free_ char *err = NULL;
        loginproto_request req = {0};
        const uint8_t *open_bytes;
        size_t open_len;
        const char *msg;
        bool want_tty;
        int r;

        msg = login_check_account(open->config, srv->cfg->login_user, srv->cfg->allow_client_user,
                                  se->authenticated);
        if (msg) {
                session_reject(se, msg);
                return;
        }
        if (!session_open_grant(se, open))
                return;
        /* The Open as the client sent it when the Message is nothing else;
         * otherwise packed again (webttyd-login hashes the config
         * canonically, so the client's signature checks out either way). */
        if (!login_open_bytes(raw, raw_len, &open_bytes, &open_len)) {
                open_len = webtty__open__get_packed_size(open);
                packed = malloc(open_len > 0 ? open_len : 1);
                if (!packed) {
                        session_fail(se, NULL, "out of memory");
                        return;
                }
                open_len = webtty__open__pack(open, packed);
                open_bytes = packed;
        }
        req = (loginproto_request){
                .transport = (char *) wt_conn_transport(se->conn),
                .peer = se->peer,
                .session_id = se->id,
                .has_nonce = protection_enabled(&srv->prot),
                .open = (uint8_t *) open_bytes,
                .open_len = open_len,
        };
        if (req.has_nonce)
                memcpy(req.nonce, se->nonce, sizeof(req.nonce));
        want_tty = open->config->options && open->config->options->allocate_tty;
        r = login_client_start(srv->event, &srv->login, &req, want_tty, &session_login_ops, se, &se->login,
                               &err);
        if (r == -E2BIG) {
                session_reject(se, "Open message too large for login execution mode");
                return;
        }
        if (r < 0) {
                log_session(se, LOG_WARNING, "webttyd-login unreachable", "error", err ? err : strerror(-r),
                            srv->login.helper_path ? "login_helper" : "login_socket",
                            srv->login.helper_path ? srv->login.helper_path : srv->login.socket_path);
                session_reject(se, LOGIN_UNAVAILABLE_MESSAGE);
                return;
        }
        /* Until STARTED or REFUSED nothing else from the peer is handled;
         * the open deadline still runs and bounds the wait. */
        se->phase = PHASE_STARTING;
        (void) wt_conn_pause_reading(se->conn, true);
}

static void handle_data(session *se, const Webtty__Data *d) {
        if (!se->child_started) {
                session_fail(se, NULL, "no PTY and no stdin pipe");
                return;
        }
        if (d->type != WEBTTY__DATA__TYPE__TYPE_STDIN) {
                session_fail(se, NULL, "unexpected data type: %s", wmsg_data_type_name(d->type));
                return;
        }
        switch (d->payload_case) {
        case WEBTTY__DATA__PAYLOAD_DATA:
                /* Deliberately stricter than the reference: once a session is
                 * encrypted, cleartext input is an attack or a bug. */
                if (se->e2e) {
                        session_fail(se, "e2e_configuration_error",
                                     "plaintext WebTTY stdin payload is not allowed in an E2E session");
                        return;
                }
                stdin_write(se, d->data.data, d->data.len);
                break;
        case WEBTTY__DATA__PAYLOAD_EOS:
                if (se->child.tty || se->stdin_closed)
                        break;
                se->stdin_eos_pending = true;
                if (se->in_off == se->in_len)
                        stdin_close(se);
                break;
        case WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA:
                if (!se->e2e)
                        session_fail(se, NULL, "encrypted WebTTY stdin payload requires a decrypt hook");
                else
                        stdin_write_encrypted(se, d);
                break;
        default:
                session_fail(se, NULL, "unexpected data payload type: <nil>");
        }
}

static void handle_parameter(session *se, const Webtty__Parameter *p) {
        struct winsize ws = {0};

        if (!se->child_started || !se->child.tty || se->child.master_fd < 0) {
                session_fail(se, NULL, "no PTY file descriptor");
                return;
        }
        if (p->parameter_case != WEBTTY__PARAMETER__PARAMETER_TERMINAL_SIZE) {
                session_fail(se, NULL, "unexpected parameter type: <nil>");
                return;
        }
        if (!p->terminal_size) {
                session_fail(se, NULL, "missing terminal size");
                return;
        }
        ws.ws_row = (unsigned short) p->terminal_size->row;
        ws.ws_col = (unsigned short) p->terminal_size->col;
        if (ioctl(se->child.master_fd, TIOCSWINSZ, &ws) < 0)
                session_fail(se, NULL, "failed to set terminal size: %s", strerror(errno));
}

static void dispatch(session *se, const Webtty__Message *m, const uint8_t *raw, size_t raw_len) {
        switch (m->payload_case) {
        case WEBTTY__MESSAGE__PAYLOAD_OPEN:
                handle_open(se, m->open, raw, raw_len);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_DATA:
                handle_data(se, m->data);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_PARAMETER:
                if (!m->parameter)
                        session_fail(se, NULL, "missing parameter");
                else
                        handle_parameter(se, m->parameter);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_HEARTBEAT:
        case WEBTTY__MESSAGE__PAYLOAD_CLIENT_HELLO:
                break;
        case WEBTTY__MESSAGE__PAYLOAD_ERROR:
                if (m->error && m->error->msg && m->error->msg[0])
                        session_fail(se, NULL, "client error (%.200s)", m->error->msg);
                else
                        session_fail(se, NULL, "client error");
                break;
        case WEBTTY__MESSAGE__PAYLOAD_ATTACH:
                session_reject(se, "managed WebTTY attach is handled by the rstream engine; direct WebTTY "
                                   "servers accept only new Open sessions");
                break;
        default:
                session_fail(se, NULL, "unexpected message payload type: %s", wmsg_payload_name(m));
        }
}

static void on_conn_message(wt_conn *c, const uint8_t *buf, size_t len, void *userdata) {
        session *se = userdata;
        char err[128];
        Webtty__Message *m;

        wmsg_data_view view;

        if (se->phase == PHASE_CLOSING)
                return;
        /* Stdin, the hot path, without protobuf-c's copy of the payload. */
        if (wmsg_data_view_parse(buf, len, &view) == 1) {
                handle_data(se, &view.data);
                return;
        }
        m = wmsg_unpack(buf, len, err, sizeof(err));
        if (!m) {
                session_fail(se, NULL, "%s", err);
                return;
        }
        dispatch(se, m, buf, len);
        wmsg_free(m);
}

static void on_conn_end(wt_conn *c, int r, const char *why, void *userdata) {
        session *se = userdata;

        if (se->phase != PHASE_CLOSING) {
                /* A reset is the client going away, not a fault of the session. */
                if (r == -ECONNRESET || r == -EPIPE)
                        r = 0;
                if (r < 0) {
                        session_fail(se, NULL, "%s", why ? why : strerror(-r));
                        return; /* wait for our close frame to go out, bounded by the close timer */
                }
                if (!se->end_reason) {
                        se->end_reason = se->child_done ? NULL : "client_disconnected";
                        snprintf(se->end_error, sizeof(se->end_error), "%s",
                                 se->child_done ? "" : "client closed the connection");
                }
        }
        session_free(se);
}

static const wt_conn_ops session_conn_ops = {
        .on_message = on_conn_message,
        .on_end = on_conn_end,
        .on_writable = on_conn_writable,
};

/* ---- life cycle --------------------------------------------------------- */

static int on_open_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        session *se = userdata;

        se->open_timer = sd_event_source_disable_unref(se->open_timer);
        session_fail(se, "operation_timeout", "operation timeout");
        return 0;
}

void session_drain(session *se) {
        se->draining = true;
        if (se->phase == PHASE_HANDSHAKE) {
                session_fail(se, NULL, "server is shutting down");
                return;
        }
        if (se->phase == PHASE_STARTING)
                return; /* signalled once running, see on_exec_report() */
        /* A PTY session gets a hang-up, like a closed terminal; a pipe session an interrupt. */
        child_signal(se, se->child.tty ? SIGHUP : SIGINT);
}

void session_kill(session *se) {
        /* A login still being set up by webttyd-login: hang it up. */
        if (se->login && se->phase == PHASE_STARTING) {
                session_fail(se, NULL, "server is shutting down");
                return;
        }
        child_signal(se, SIGKILL);
}

static void session_free(session *se) {
        server *srv = se->srv;

        child_teardown(se);
        log_closed(se);
        se->open_timer = sd_event_source_disable_unref(se->open_timer);
        se->close_timer = sd_event_source_disable_unref(se->close_timer);
        se->heartbeat_timer = sd_event_source_disable_unref(se->heartbeat_timer);
        se->conn = wt_conn_free(se->conn);
        se->e2e = e2e_session_free(se->e2e);
        free(se->client_principal);
        if (se->prev)
                se->prev->next = se->next;
        else
                srv->sessions = se->next;
        if (se->next)
                se->next->prev = se->prev;
        srv->n_sessions--;
        free(se);
        server_session_gone(srv);
}

void session_free_all(server *srv) {
        while (srv->sessions)
                session_free(srv->sessions);
}

int session_start(server *srv, int fd, wt_framing framing, const uint8_t *initial, size_t initial_len,
                  const char *peer, uint64_t accepted_usec) {
        session *se;
        int r;

        se = calloc(1, sizeof(*se));
        if (!se) {
                safe_close(fd);
                return -ENOMEM;
        }
        se->srv = srv;
        se->child.pid = 0;
        se->child.master_fd = se->child.stdin_fd = se->child.stdout_fd = se->child.stderr_fd = -1;
        se->child.report_fd = -1;
        se->stdin_fd = -1;
        se->started_usec = now_usec();
        sessid_next(se->id);
        snprintf(se->peer, sizeof(se->peer), "%s", peer);
        r = wt_conn_new(srv->event, fd, framing, srv->cfg->max_message, &session_conn_ops, se, initial,
                        initial_len, &se->conn);
        if (r < 0) {
                safe_close(fd);
                free(se);
                return r;
        }
        wt_conn_set_low_watermark(se->conn, OUTPUT_LOW_WATER);
        se->next = srv->sessions;
        if (srv->sessions)
                srv->sessions->prev = se;
        srv->sessions = se;
        srv->n_sessions++;
        /* The open deadline runs from accept, so it covers the WebSocket upgrade too. */
        r = sd_event_add_time(srv->event, &se->open_timer, CLOCK_MONOTONIC,
                              accepted_usec + srv->cfg->open_timeout_usec, 0, on_open_timer, se);
        if (r < 0) {
                session_free(se);
                return r;
        }
        wlog_record(LOG_DEBUG, "connection accepted", "session_id", se->id, "transport",
                    wt_conn_transport(se->conn), "peer", se->peer, NULL);
        /* With an identity the server speaks first (protocol spec 4.2). */
        if (protection_enabled(&srv->prot)) {
                r = session_send_hello(se);
                if (r < 0) {
                        session_fail(se, "e2e_configuration_error", "failed to send ServerHello: %s",
                                     strerror(-r));
                        return 0;
                }
        }
        return 0;
}
