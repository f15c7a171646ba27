/* `webtty exec` (see exec.h): a WebTTY client on sd-event and the shared
 * transport, speaking plain or WebSocket framing. */
#include "exec.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>

#include <sodium.h>
#include <systemd/sd-event.h>

#include "auth.h"
#include "e2e.h"
#include "exec_trust.h"
#include "http_upgrade.h"
#include "macro.h"
#include "transport.h"
#include "url.h"
#include "wmsg.h"

#define STDIN_CHUNK (32u * 1024u) /* as the reference client */
#define SEND_HIGH_WATER (1024u * 1024u)
#define SEND_LOW_WATER (256u * 1024u)
#define DEFAULT_TIMEOUT_USEC (5u * 1000000u)
#define HANDSHAKE_TIMEOUT_MS 10000

extern char **environ;

typedef struct exec_opts {
        char *url_text;
        char *token;
        bool tty, interactive, heartbeat;
        char **env; /* KEY=VALUE specs as given */
        size_t n_env;
        char *workdir;
        char *user;
        char **argv;
        size_t argc;
        uint64_t open_timeout_usec;
        exec_trust_opts trust;
} exec_opts;

typedef struct client {
        exec_opts *o;
        char *url_name; /* canonical URL for messages */
        sd_event *event;
        wt_conn *conn;
        sd_event_source *stdin_src, *open_timer, *heartbeat_timer, *winch_src, *term_src[3];
        bool opened, forward_stdin, stdin_eof, raw;
        bool awaiting_hello; /* a pinned server identity: ServerHello comes first */
        exec_trust trust;
        e2e_session *e2e; /* set once the grant is sent: every terminal byte is encrypted */
        struct termios saved_termios;
        int exit_code;
        char error[1024];
        uint8_t stdin_buf[WMSG_DATA_HEADER_MAX + STDIN_CHUNK];
        uint8_t sealed_buf[STDIN_CHUNK + 64 * 1024];
        uint8_t plain_buf[WMSG_DEFAULT_MAX_SIZE]; /* decrypted output; untouched pages cost nothing */
} client;

static int client_fail(client *cl, const char *fmt, ...) _printf_(2, 3);

static int client_fail(client *cl, const char *fmt, ...) {
        va_list ap;

        if (!cl->error[0]) {
                va_start(ap, fmt);
                vsnprintf(cl->error, sizeof(cl->error), fmt, ap);
                va_end(ap);
        }
        cl->exit_code = 1;
        (void) sd_event_exit(cl->event, 1);
        return -EIO;
}

/* ---- local terminal ----------------------------------------------------- */

static void terminal_restore(client *cl) {
        if (cl->raw) {
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &cl->saved_termios);
                cl->raw = false;
        }
}

static void terminal_raw(client *cl) {
        struct termios t;

        if (tcgetattr(STDIN_FILENO, &cl->saved_termios) < 0)
                return;
        t = cl->saved_termios;
        cfmakeraw(&t);
        if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
                cl->raw = true;
}

static bool local_size(uint16_t *rows, uint16_t *cols) {
        struct winsize ws;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
                return false;
        if (ws.ws_row == 0 || ws.ws_col == 0)
                return false; /* never send a zero dimension */
        *rows = ws.ws_row;
        *cols = ws.ws_col;
        return true;
}

/* ---- sending ------------------------------------------------------------ */

static void send_resize(client *cl) {
        uint16_t rows, cols;

        if (local_size(&rows, &cols))
                (void) WT_SEND_PACKED(cl->conn, wmsg_pack_resize, rows, cols);
}

static void send_error_to_server(client *cl, const char *msg) {
        if (cl->conn && cl->opened)
                (void) WT_SEND_PACKED(cl->conn, wmsg_pack_error, msg);
}

/* ---- stdin forwarding --------------------------------------------------- */

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        client *cl = userdata;
        uint8_t *payload = cl->stdin_buf + WMSG_DATA_HEADER_MAX;
        ssize_t n = read(fd, payload, STDIN_CHUNK);
        size_t h;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n < 0 && errno != EIO) {
                char msg[256];
                snprintf(msg, sizeof(msg), "failed to read stdin: %s", strerror(errno));
                send_error_to_server(cl, msg);
                return client_fail(cl, "%s", msg);
        }
        if (n <= 0) {
                cl->stdin_eof = true;
                cl->stdin_src = sd_event_source_disable_unref(cl->stdin_src);
                (void) WT_SEND_PACKED(cl->conn, wmsg_pack_eos, WEBTTY__DATA__TYPE__TYPE_STDIN);
                return 0;
        }
        if (cl->e2e) {
                size_t sealed;
                int r = e2e_seal_data(cl->e2e, E2E_STREAM_STDIN, payload, (size_t) n, cl->sealed_buf,
                                      sizeof(cl->sealed_buf), &sealed);
                sodium_memzero(payload, (size_t) n);
                if (r < 0)
                        return client_fail(cl, "failed to encrypt stdin: %s", strerror(-r));
                if (wt_conn_send(cl->conn, cl->sealed_buf, sealed) < 0)
                        return 0;
        } else {
                h = wmsg_data_header(payload, WEBTTY__DATA__TYPE__TYPE_STDIN, (size_t) n);
                if (wt_conn_send(cl->conn, payload - h, h + (size_t) n) < 0)
                        return 0;
        }
        if (wt_conn_queued(cl->conn) > SEND_HIGH_WATER) {
                (void) sd_event_source_set_enabled(cl->stdin_src, SD_EVENT_OFF);
                wt_conn_want_writable(cl->conn);
        }
        return 0;
}

static void on_conn_writable(wt_conn *c, void *userdata) {
        client *cl = userdata;
        if (cl->stdin_src)
                (void) sd_event_source_set_enabled(cl->stdin_src, SD_EVENT_ON);
}

static int on_stdin_file(sd_event_source *s, void *userdata) {
        return on_stdin(s, STDIN_FILENO, EPOLLIN, userdata);
}

static int start_stdin(client *cl) {
        int r = sd_event_add_io(cl->event, &cl->stdin_src, STDIN_FILENO, EPOLLIN, on_stdin, cl);

        if (r == -EPERM) {
                /* A regular file (or /dev/null) cannot be polled and is always
                 * readable: read a chunk per loop iteration instead. */
                r = sd_event_add_defer(cl->event, &cl->stdin_src, on_stdin_file, cl);
                if (r >= 0)
                        r = sd_event_source_set_enabled(cl->stdin_src, SD_EVENT_ON);
        }
        return r;
}

/* ---- incoming messages ------------------------------------------------- */

static void write_all_fd(client *cl, int fd, const uint8_t *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                        (void) poll(&pfd, 1, -1);
                        continue;
                }
                if (n < 0) {
                        (void) client_fail(cl, "failed to write output: %s", strerror(errno));
                        return;
                }
                p += n;
                len -= (size_t) n;
        }
}

static const char *protocol_error_default(int code) {
        switch (code) {
        case 1:
                return "known WebTTY server endpoint identity is required";
        case 2:
                return "WebTTY server endpoint identity does not match the configured known server";
        case 3:
                return "WebTTY server proof is invalid";
        case 4:
                return "WebTTY client proof is required";
        case 5:
                return "WebTTY client proof is invalid";
        case 6:
                return "WebTTY client signing key is not authorized";
        case 12:
                return "workspace trust is required";
        case 13:
                return "workspace device is not trusted";
        case 14:
                return "registered WebTTY server identity does not match";
        default:
                return "WebTTY protocol error";
        }
}

static bool is_blank(const char *s) {
        for (; s && *s; s++)
                if (!isspace((unsigned char) *s))
                        return false;
        return true;
}

static void fail_server_error(client *cl, const Webtty__Message *m) {
        if (m->payload_case == WEBTTY__MESSAGE__PAYLOAD_ERROR) {
                const char *msg = m->error ? m->error->msg : NULL;
                if (is_blank(msg))
                        (void) client_fail(cl, "server error");
                else
                        (void) client_fail(cl, "server error: %s", msg);
                return;
        }
        const Webtty__ProtocolError *pe = m->protocol_error;
        (void) client_fail(cl, "server error: %s",
                           pe && !is_blank(pe->msg) ? pe->msg
                                                    : protocol_error_default(pe ? (int) pe->code : 0));
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata) {
        client *cl = userdata;

        (void) WT_SEND_PACKED(cl->conn, wmsg_pack_heartbeat);
        (void) sd_event_source_set_time_relative(s, DEFAULT_TIMEOUT_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int on_winch(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        send_resize(userdata);
        return 0;
}

static void handle_ack(client *cl) {
        int r = 0;

        cl->opened = true;
        cl->open_timer = sd_event_source_disable_unref(cl->open_timer);
        if (cl->o->tty) {
                send_resize(cl);
                r = sd_event_add_signal(cl->event, &cl->winch_src, SIGWINCH, on_winch, cl);
        }
        if (r >= 0 && cl->forward_stdin)
                r = start_stdin(cl);
        if (r >= 0 && cl->o->heartbeat)
                r = sd_event_add_time_relative(cl->event, &cl->heartbeat_timer, CLOCK_MONOTONIC,
                                               DEFAULT_TIMEOUT_USEC, 0, on_heartbeat, cl);
        if (r < 0)
                (void) client_fail(cl, "failed to start the session: %s", strerror(-r));
}

static int send_open(client *cl, const Webtty__ServerHello *hello);

/* The pinned server's ServerHello: verify it, then send the E2E Open. */
static void handle_hello(client *cl, const Webtty__Message *m) {
        _cleanup_free_ char *err = NULL;
        const char *transport = wt_conn_transport(cl->conn);
        int r;

        if (m->payload_case == WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR ||
            m->payload_case == WEBTTY__MESSAGE__PAYLOAD_ERROR) {
                fail_server_error(cl, m);
                return;
        }
        if (m->payload_case != WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO) {
                (void) client_fail(cl, "unexpected message: expected WebTTY server hello");
                return;
        }
        r = auth_server_hello_verify(m->server_hello, &cl->trust.pin, transport, &err);
        if (r < 0) {
                (void) client_fail(cl, "%s", err ? err : "WebTTY server proof is invalid");
                return;
        }
        cl->awaiting_hello = false;
        if (send_open(cl, m->server_hello) < 0 && !cl->error[0])
                (void) client_fail(cl, "failed to send Open");
}

static void handle_handshake_message(client *cl, const Webtty__Message *m) {
        if (cl->awaiting_hello) {
                handle_hello(cl, m);
                return;
        }
        switch (m->payload_case) {
        case WEBTTY__MESSAGE__PAYLOAD_ACK:
                handle_ack(cl);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_ERROR:
        case WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR:
                fail_server_error(cl, m);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO:
                (void) client_fail(cl, "WebTTY server requires authenticated E2E; configure a known server "
                                       "endpoint identity before opening the session");
                break;
        default:
                (void) client_fail(cl, "unexpected message: %s", wmsg_payload_name(m));
        }
}

/* Output is decrypted into one reused buffer as large as any message can be
 * (the transport refuses larger ones), so it never has to grow. */
static void write_decrypted(client *cl, int fd, const Webtty__Data *d) {
        _cleanup_free_ char *err = NULL;
        size_t n = 0;
        int r;

        r = e2e_open_data(cl->e2e, (e2e_stream) d->type, d, cl->plain_buf, sizeof(cl->plain_buf), &n, &err);
        if (r < 0) {
                (void) client_fail(cl, "failed to decrypt WebTTY %s payload: %s",
                                   wmsg_data_type_name(d->type), err ? err : strerror(-r));
                return;
        }
        write_all_fd(cl, fd, cl->plain_buf, n);
}

static void handle_data(client *cl, const Webtty__Data *d) {
        if (d->type == WEBTTY__DATA__TYPE__TYPE_STDIN) {
                (void) client_fail(cl, "unexpected data stream type: TYPE_STDIN");
                return;
        }
        int fd = d->type == WEBTTY__DATA__TYPE__TYPE_STDERR ? STDERR_FILENO : STDOUT_FILENO;

        switch (d->payload_case) {
        case WEBTTY__DATA__PAYLOAD_DATA:
                /* Stricter than the reference: cleartext output in an E2E session
                 * did not come from the program the grant was made for. */
                if (cl->e2e) {
                        (void) client_fail(cl, "unexpected cleartext WebTTY %s payload in an E2E session",
                                           wmsg_data_type_name(d->type));
                        break;
                }
                write_all_fd(cl, fd, d->data.data, d->data.len);
                break;
        case WEBTTY__DATA__PAYLOAD_EOS:
                break;
        case WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA:
                if (!cl->e2e)
                        (void) client_fail(cl, "encrypted WebTTY output requires E2E configuration");
                else
                        write_decrypted(cl, fd, d);
                break;
        default:
                (void) client_fail(cl, "unexpected data payload type: <nil>");
        }
}

static void handle_open_message(client *cl, const Webtty__Message *m) {
        switch (m->payload_case) {
        case WEBTTY__MESSAGE__PAYLOAD_DATA:
                handle_data(cl, m->data);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_HEARTBEAT:
                break;
        case WEBTTY__MESSAGE__PAYLOAD_CLOSE:
                if (!m->close) {
                        (void) client_fail(cl, "protocol error");
                        break;
                }
                cl->exit_code = m->close->return_code;
                (void) wt_conn_close(cl->conn, 1000, "done");
                (void) sd_event_exit(cl->event, 0);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_ERROR:
        case WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR:
                fail_server_error(cl, m);
                break;
        default:
                (void) client_fail(cl, "unexpected message: %s", wmsg_payload_name(m));
        }
}

static void on_conn_message(wt_conn *c, const uint8_t *buf, size_t len, void *userdata) {
        client *cl = userdata;
        char err[160];
        wmsg_data_view view;
        Webtty__Message *m;

        /* Output, the hot path, without protobuf-c's copy of the payload. */
        if (cl->opened && wmsg_data_view_parse(buf, len, &view) == 1) {
                handle_data(cl, &view.data);
                return;
        }
        m = wmsg_unpack(buf, len, err, sizeof(err));
        if (!m) {
                (void) client_fail(cl, "%s", err);
                return;
        }
        if (cl->opened)
                handle_open_message(cl, m);
        else
                handle_handshake_message(cl, m);
        wmsg_free(m);
}

static void on_conn_end(wt_conn *c, int r, const char *why, void *userdata) {
        client *cl = userdata;

        if (r < 0)
                (void) client_fail(cl, "%s", why ? why : strerror(-r));
        else
                (void) client_fail(cl, "connection closed by server before the session ended");
}

static const wt_conn_ops client_conn_ops = {
        .on_message = on_conn_message,
        .on_end = on_conn_end,
        .on_writable = on_conn_writable,
};

/* ---- Open --------------------------------------------------------------- */

static bool env_has_key_ci(const exec_opts *o, const char *key) {
        size_t kl = strlen(key);

        for (size_t i = 0; i < o->n_env; i++)
                if (strncasecmp(o->env[i], key, kl) == 0 && (o->env[i][kl] == '=' || o->env[i][kl] == '\0'))
                        return true;
        return false;
}

static char *trim(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}

/* Builds and sends Open from the options, as the reference client does. */
/* E2E: a session key grant for the pinned server's encryption key and, when
 * the hello asks for one, a client proof over the final Open. */
static int open_add_e2e(client *cl, const Webtty__ServerHello *hello, Webtty__Open *open,
                        Webtty__SessionKeyGrant **grant, Webtty__ClientProof **proof) {
        static Webtty__OpenCapability caps[] = {WEBTTY__OPEN_CAPABILITY__OPEN_CAPABILITY_ENCRYPTED_PAYLOAD,
                                                WEBTTY__OPEN_CAPABILITY__OPEN_CAPABILITY_SESSION_CRYPTO};
        _cleanup_free_ char *err = NULL;
        enckey *recipient = NULL;
        int r;

        r = enckey_from_public(cl->trust.server.enc_pub, cl->trust.server.enc_pub_len, &recipient);
        if (r >= 0) {
                const enckey *rs[1] = {recipient};
                r = e2e_grant_build(rs, 1, NULL, 0, NULL, grant, &cl->e2e, &err);
        }
        enckey_free(recipient);
        if (r < 0)
                return client_fail(cl, "%s", err ? err : strerror(-r));
        open->session_key_grant = *grant;
        open->n_capabilities = ELEMENTSOF(caps);
        open->capabilities = caps;
        if (hello->auth_requirement == WEBTTY__AUTH_REQUIREMENT__AUTH_REQUIREMENT_CLIENT_PROOF) {
                const endpoint_identity *me = cl->trust.client;
                auth_identity id = {0};
                auth_client_config cc = {.transport = wt_conn_transport(cl->conn)};
                if (me)
                        id = (auth_identity){.signing = me->sig,
                                             .signing_key_id = me->pub.sig_id,
                                             .signing_public_key = me->pub.sig_spki,
                                             .encryption = me->enc};
                r = auth_client_proof_build(me ? &id : NULL, &cl->trust.pin, hello, open, &cc, proof, &err);
                if (r < 0)
                        return client_fail(cl, "%s", err ? err : strerror(-r));
                open->client_proof = *proof;
        }
        return 0;
}

static int send_open(client *cl, const Webtty__ServerHello *hello) {
        exec_opts *o = cl->o;
        Webtty__Options opts = WEBTTY__OPTIONS__INIT;
        Webtty__Config cfg = WEBTTY__CONFIG__INIT;
        Webtty__Workdir wd = WEBTTY__WORKDIR__INIT;
        Webtty__Username un = WEBTTY__USERNAME__INIT;
        Webtty__Open open = WEBTTY__OPEN__INIT;
        Webtty__Message m = WEBTTY__MESSAGE__INIT;
        Webtty__SessionKeyGrant *grant = NULL;
        Webtty__ClientProof *proof = NULL;
        _cleanup_free_ Webtty__Environment *envs = calloc(o->n_env + 1, sizeof(Webtty__Environment));
        _cleanup_free_ Webtty__Environment **envp = calloc(o->n_env + 1, sizeof(Webtty__Environment *));
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n = 0, len;
        char *term = getenv("TERM"), *user;
        int r = 0;

        if (!envs || !envp)
                return -ENOMEM;
        opts.interactive = o->interactive;
        opts.allocate_tty = o->tty;
        opts.send_heartbeat = o->heartbeat;
        cfg.options = &opts;
        cfg.n_cmd_args = o->argc;
        cfg.cmd_args = o->argv;
        for (size_t i = 0; i < o->n_env; i++) {
                char *eq = strchr(o->env[i], '=');
                Webtty__Environment *e = &envs[n];
                webtty__environment__init(e);
                if (eq) {
                        *eq = '\0';
                        e->key = o->env[i];
                        e->value = eq + 1;
                } else {
                        e->key = o->env[i];
                        e->value = getenv(o->env[i]);
                        if (!e->value)
                                continue; /* KEY alone: taken from our environment, skipped if unset */
                }
                envp[n] = e;
                n++;
        }
        if (o->tty && term && !env_has_key_ci(o, "TERM")) {
                webtty__environment__init(&envs[n]);
                envs[n].key = (char *) "TERM";
                envs[n].value = term;
                envp[n] = &envs[n];
                n++;
        }
        cfg.n_env_vars = n;
        cfg.env_vars = envp;
        if (o->workdir && !is_blank(o->workdir)) {
                wd.value = trim(o->workdir);
                cfg.workdir = &wd;
        }
        user = o->user ? trim(o->user) : NULL;
        if (user && *user) {
                if (strspn(user, "0123456789") == strlen(user)) {
                        errno = 0;
                        unsigned long long v = strtoull(user, NULL, 10);
                        if (errno || v > UINT32_MAX)
                                return client_fail(cl, "invalid user id \"%s\": value out of range", user);
                        un.payload_case = WEBTTY__USERNAME__PAYLOAD_ID;
                        un.id = (uint32_t) v;
                } else {
                        un.payload_case = WEBTTY__USERNAME__PAYLOAD_NAME;
                        un.name = user;
                }
                cfg.username = &un;
        }
        open.config = &cfg;
        if (hello)
                r = open_add_e2e(cl, hello, &open, &grant, &proof);
        m.payload_case = WEBTTY__MESSAGE__PAYLOAD_OPEN;
        m.open = &open;
        if (r >= 0)
                r = wmsg_pack(&m, &buf, &len);
        if (r >= 0)
                r = wt_conn_send(cl->conn, buf, len);
        e2e_grant_free(grant);
        auth_client_proof_free(proof);
        return r;
}

static int on_open_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        return client_fail(userdata, "operation timeout");
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        client *cl = userdata;

        send_error_to_server(cl, "context canceled");
        return client_fail(cl, "interrupted by signal %u", si->ssi_signo);
}

/* ---- connecting --------------------------------------------------------- */

static int connect_socket(client *cl, const wt_url *u) {
        struct sockaddr_storage ss;
        socklen_t sl;
        _cleanup_free_ char *err = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = wt_url_sockaddr(u, &ss, &sl, &err);
        if (r < 0)
                return client_fail(cl, "%s", err ? err : strerror(-r));
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return client_fail(cl, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *) &ss, sl) < 0)
                return client_fail(cl, "dial: %s", strerror(errno));
        return TAKE_FD(fd);
}

/* Synchronous HTTP upgrade; bytes past the response go to *rest. */
static int websocket_handshake(client *cl, int fd, const wt_url *u, uint8_t *rest, size_t *rest_len) {
        _cleanup_free_ char *req = NULL, *host = wt_url_host_header(u);
        http_upgrade_response_parser *p = NULL;
        char key[25];
        uint8_t buf[4096];
        size_t off = 0, consumed = 0;
        int r;

        if (!host || http_upgrade_client_request(host, u->path, cl->o->token, key, &req) < 0)
                return client_fail(cl, "out of memory");
        while (off < strlen(req)) {
                ssize_t n = send(fd, req + off, strlen(req) - off, MSG_NOSIGNAL);
                if (n < 0)
                        return client_fail(cl, "websocket handshake: write: %s", strerror(errno));
                off += (size_t) n;
        }
        if (http_upgrade_response_parser_new(key, &p) < 0)
                return client_fail(cl, "out of memory");
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                ssize_t n;
                r = poll(&pfd, 1, HANDSHAKE_TIMEOUT_MS);
                if (r == 0) {
                        r = client_fail(cl, "websocket handshake: operation timeout");
                        break;
                }
                n = recv(fd, buf, sizeof(buf), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = client_fail(cl, "websocket handshake: read: %s", strerror(errno));
                        break;
                }
                r = n == 0 ? http_upgrade_response_parser_eof(p)
                           : http_upgrade_response_parser_feed(p, buf, (size_t) n, &consumed);
                if (r == 1) {
                        *rest_len = (size_t) n - consumed;
                        memcpy(rest, buf + consumed, *rest_len);
                        r = 0;
                        break;
                }
                if (r == -EPROTO) {
                        const char *body = http_upgrade_response_body(p);
                        r = client_fail(cl, "server refused the WebSocket upgrade: HTTP %d%s%s",
                                        http_upgrade_response_status(p), body && *body ? ": " : "",
                                        body ? body : "");
                        break;
                }
                if (r < 0 || n == 0) {
                        r = client_fail(cl, "websocket handshake: malformed response from server");
                        break;
                }
        }
        http_upgrade_response_parser_free(p);
        return r;
}

static int client_connect(client *cl, const wt_url *u) {
        uint8_t rest[4096];
        size_t rest_len = 0;
        int fd, r;

        fd = connect_socket(cl, u);
        if (fd < 0)
                return fd;
        if (u->kind == WT_URL_WS) {
                r = websocket_handshake(cl, fd, u, rest, &rest_len);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
        }
        r = wt_conn_new(cl->event, fd, u->kind == WT_URL_WS ? WT_FRAMING_WS_CLIENT : WT_FRAMING_PLAIN,
                        WMSG_DEFAULT_MAX_SIZE, &client_conn_ops, cl, rest, rest_len, &cl->conn);
        if (r < 0) {
                safe_close(fd);
                return client_fail(cl, "%s", strerror(-r));
        }
        wt_conn_set_low_watermark(cl->conn, SEND_LOW_WATER);
        return 0;
}

/* ---- options ------------------------------------------------------------ */

static void exec_help(void) {
        printf("Usage: webtty exec --url URL [OPTIONS] -- COMMAND [ARGS...]\n"
               "Run a command on a WebTTY server.\n\n"
               "  --url URL               ws://HOST:PORT[/path], tcp://HOST:PORT or unix:/PATH\n"
               "  --auth-token-file FILE  bearer token for WebSocket servers (or "
               "RSTREAM_WEBTTY_AUTH_TOKEN)\n"
               "  -t, --tty               allocate a remote PTY (local terminal in raw mode)\n"
               "  -i, --interactive       forward stdin even when it is a terminal\n"
               "  -e, --env KEY[=VALUE]   set a variable (KEY alone copies it from here)\n"
               "  -w, --workdir DIR       working directory on the server\n"
               "  --user USER             account to run as (name or uid; the server must allow it)\n"
               "  --heartbeat             send heartbeats every 5s\n"
               "  --open-timeout DUR      time allowed for the server to accept (default 5s)\n"
               "  --e2e                   refuse to run without end-to-end encryption\n"
               "  --known-server NAME     pin the server identity stored under NAME\n"
               "  --known-server-key K    pin this server endpoint identity (repeatable)\n"
               "  --known-servers-file F  known servers store (default "
               "~/.rstream/webtty/known_servers.json)\n"
               "  --identity NAME         client endpoint identity that signs the proof\n"
               "  --identity-file FILE    the same, by path\n");
}

static int read_token(exec_opts *o, const char *path) {
        char buf[4097];
        size_t n;
        FILE *f = fopen(path, "re");

        if (!f) {
                fprintf(stderr, "webtty: failed to read --auth-token-file %s: %s\n", path, strerror(errno));
                return -errno;
        }
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        o->token = strdup(trim(buf));
        sodium_memzero(buf, sizeof(buf));
        if (o->token && !*o->token) {
                fprintf(stderr, "webtty: --auth-token-file is empty\n");
                return -EINVAL;
        }
        return o->token ? 0 : -ENOMEM;
}

static int parse_exec_args(int argc, char **argv, exec_opts *o) {
        static const struct option longopts[] = {
                {"url", required_argument, NULL, 'u'},
                {"auth-token-file", required_argument, NULL, 'T'},
                {"tty", no_argument, NULL, 't'},
                {"interactive", no_argument, NULL, 'i'},
                {"env", required_argument, NULL, 'e'},
                {"workdir", required_argument, NULL, 'w'},
                {"user", required_argument, NULL, 'U'},
                {"heartbeat", no_argument, NULL, 'H'},
                {"open-timeout", required_argument, NULL, 'O'},
                {"e2e", no_argument, NULL, 'E'},
                {"known-server", required_argument, NULL, 'K'},
                {"known-server-key", required_argument, NULL, 'k'},
                {"known-servers-file", required_argument, NULL, 'F'},
                {"identity", required_argument, NULL, 'I'},
                {"identity-file", required_argument, NULL, 'J'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;

        o->open_timeout_usec = DEFAULT_TIMEOUT_USEC;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+tie:w:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'u':
                        o->url_text = optarg;
                        break;
                case 'T':
                        if (read_token(o, optarg) < 0)
                                return -EINVAL;
                        break;
                case 't':
                        o->tty = true;
                        break;
                case 'i':
                        o->interactive = true;
                        break;
                case 'e': {
                        char **n = realloc(o->env, (o->n_env + 1) * sizeof(char *));
                        if (!n)
                                return -ENOMEM;
                        o->env = n;
                        o->env[o->n_env++] = optarg;
                        break;
                }
                case 'w':
                        o->workdir = optarg;
                        break;
                case 'U':
                        o->user = optarg;
                        break;
                case 'H':
                        o->heartbeat = true;
                        break;
                case 'O': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (end == optarg || (*end && strcmp(end, "ms") && strcmp(end, "s")))
                                goto bad;
                        o->open_timeout_usec = (uint64_t) v * (strcmp(end, "s") == 0 ? 1000000u : 1000u);
                        break;
                }
                case 'E':
                        o->trust.e2e = true;
                        break;
                case 'K':
                        o->trust.known_server = optarg;
                        break;
                case 'k': {
                        char **n = realloc(o->trust.known_server_keys,
                                           (o->trust.n_known_server_keys + 1) * sizeof(char *));
                        if (!n)
                                return -ENOMEM;
                        o->trust.known_server_keys = n;
                        n[o->trust.n_known_server_keys++] = optarg;
                        break;
                }
                case 'F':
                        o->trust.known_servers_file = optarg;
                        break;
                case 'I':
                        o->trust.identity = optarg;
                        break;
                case 'J':
                        o->trust.identity_file = optarg;
                        break;
                case 'h':
                        exec_help();
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (!o->url_text) {
                fprintf(stderr, "webtty exec: --url is required\n");
                return -EINVAL;
        }
        if (!o->token && getenv("RSTREAM_WEBTTY_AUTH_TOKEN") && *trim(getenv("RSTREAM_WEBTTY_AUTH_TOKEN")))
                o->token = strdup(trim(getenv("RSTREAM_WEBTTY_AUTH_TOKEN")));
        o->argv = argv + optind;
        o->argc = (size_t) (argc - optind);
        return 0;
bad:
        fprintf(stderr, "webtty exec: invalid value \"%s\" for --open-timeout\n", optarg);
        return -EINVAL;
}

/* Exit status as the reference CLI maps a Close code. */
static int exit_status_for(int code) {
        if (code == 0)
                return 0;
        if (code < 0)
                return 1;
        return code > 255 ? 255 : code;
}

static int client_setup(client *cl, const wt_url *u) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
        r = sd_event_new(&cl->event);
        if (r < 0)
                return r;
        (void) sd_event_add_signal(cl->event, &cl->term_src[0], SIGTERM, on_term, cl);
        (void) sd_event_add_signal(cl->event, &cl->term_src[1], SIGHUP, on_term, cl);
        (void) sd_event_add_signal(cl->event, &cl->term_src[2], SIGINT, on_term, cl);
        /* As the reference client: a remote PTY needs a local terminal to drive it. */
        if (cl->o->tty && !isatty(STDIN_FILENO))
                return client_fail(cl, "-t/--tty requires a terminal on stdin");
        if (u->kind != WT_URL_WS && cl->o->token)
                return client_fail(cl, "plain WebTTY transport does not support HTTP bearer tokens");
        r = client_connect(cl, u);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(cl->event, &cl->open_timer, CLOCK_MONOTONIC, cl->o->open_timeout_usec,
                                       0, on_open_timeout, cl);
        if (r < 0)
                return client_fail(cl, "%s", strerror(-r));
        {
                _cleanup_free_ char *err = NULL;
                r = exec_trust_resolve(&cl->o->trust, &cl->trust, &err);
                if (r < 0)
                        return client_fail(cl, "%s", err ? err : strerror(-r));
        }
        /* stdin is forwarded when it is not a terminal, or with -t/-i. */
        cl->forward_stdin = cl->o->tty || cl->o->interactive || !isatty(STDIN_FILENO);
        if (cl->o->tty && isatty(STDIN_FILENO))
                terminal_raw(cl);
        /* With a pinned identity the server speaks first (protocol spec 4.3). */
        if (cl->trust.pinned) {
                cl->awaiting_hello = true;
                return 0;
        }
        return send_open(cl, NULL);
}

static void client_done(client *cl) {
        terminal_restore(cl);
        cl->stdin_src = sd_event_source_disable_unref(cl->stdin_src);
        cl->open_timer = sd_event_source_disable_unref(cl->open_timer);
        cl->heartbeat_timer = sd_event_source_disable_unref(cl->heartbeat_timer);
        cl->winch_src = sd_event_source_disable_unref(cl->winch_src);
        for (size_t i = 0; i < ELEMENTSOF(cl->term_src); i++)
                cl->term_src[i] = sd_event_source_disable_unref(cl->term_src[i]);
        cl->conn = wt_conn_free(cl->conn);
        cl->event = sd_event_unref(cl->event);
        cl->e2e = e2e_session_free(cl->e2e);
        exec_trust_done(&cl->trust);
        free(cl->url_name);
}

int verb_exec(int argc, char **argv) {
        exec_opts o = {0};
        wt_url u = {0};
        _cleanup_free_ char *err = NULL;
        client *cl;
        int r, status;

        r = parse_exec_args(argc, argv, &o);
        if (r != 0) {
                free(o.env);
                free(o.token);
                free(o.trust.known_server_keys);
                return r > 0 ? 0 : 2;
        }
        if (wt_url_parse(o.url_text, WT_URL_WS, &u, &err) < 0) {
                fprintf(stderr, "webtty: --url: %s\n", err ? err : "invalid URL");
                free(o.env);
                free(o.token);
                return 2;
        }
        /* Every message allocates and frees up to 1 MiB (protobuf-c copies,
         * decrypted output): keep that memory instead of returning it to the
         * kernel after each message, which costs page faults per byte. */
        (void) mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        (void) mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
        cl = calloc(1, sizeof(*cl));
        if (!cl)
                return 1;
        cl->o = &o;
        cl->url_name = wt_url_format(&u);
        r = client_setup(cl, &u);
        if (r >= 0 && !cl->error[0])
                r = sd_event_loop(cl->event);
        status = cl->error[0] ? 1 : exit_status_for(cl->exit_code);
        terminal_restore(cl);
        if (cl->error[0])
                fprintf(stderr, "webtty: %s: %s\n", cl->url_name ? cl->url_name : o.url_text, cl->error);
        client_done(cl);
        free(cl);
        wt_url_done(&u);
        free(o.env);
        free(o.trust.known_server_keys);
        if (o.token) {
                sodium_memzero(o.token, strlen(o.token));
                free(o.token);
        }
        return status;
}
