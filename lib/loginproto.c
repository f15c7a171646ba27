/* Login-mode messages: one strict TLV codec (see loginproto.h). */
#include "loginproto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "macro.h"
#include "wbuf.h"

/* ---- Tags ---- */

enum {
        /* REQUEST */
        RQ_TRANSPORT = 1,
        RQ_PEER = 2,
        RQ_SESSION_ID = 3,
        RQ_NONCE = 4,
        RQ_OPEN = 5,
        /* STARTED */
        ST_PID = 1,
        ST_TTY = 2,
        ST_USER = 3,
        ST_TTY_NAME = 4,
        /* REFUSED */
        RF_MESSAGE = 1,
        /* SIGNAL */
        SG_SIGNO = 1,
        /* EXITED */
        EX_CODE = 1,
        /* PROOF */
        PF_TRANSPORT = 1,
        PF_SESSION_ID = 2,
        PF_NONCE = 3,
        PF_GRANT = 4, /* u32 payload suite, u32 envelope suite */
        PF_GRANT_HASH = 5,
        PF_CONFIG_HASH = 6,
        PF_SIGNATURE_SUITE = 7,
        PF_SIGNING_KEY_ID = 8,
        PF_SIGNING_PUBLIC_KEY = 9,
        PF_TRANSCRIPT_HASH = 10,
        PF_SIGNATURE = 11,
        PF_ISSUED_AT = 12,
        PF_EXPIRES_AT = 13,
        PF_PRINCIPAL_ID = 14,
        PF_DEVICE_ID = 15,
        PF_BROWSER_ID = 16,
        PF_CREDENTIAL = 17,
        PF_REQUESTED_USER = 18,
        PF_DEFAULT_USER = 19,
        PF_SERVER_LABELS = 20,
};

static const char *const type_names[] = {
        [LOGINPROTO_REQUEST] = "request", [LOGINPROTO_STARTED] = "started", [LOGINPROTO_REFUSED] = "refused",
        [LOGINPROTO_SIGNAL] = "signal",   [LOGINPROTO_EXITED] = "exited",   [LOGINPROTO_PROOF] = "proof",
};

/* ---- Encoding ---- */

static void begin(wbuf *b, loginproto_type type) {
        uint8_t h[2] = {LOGINPROTO_VERSION, (uint8_t) type};
        wbuf_put(b, h, sizeof(h));
}

static void put_rec(wbuf *b, uint8_t tag, const void *p, size_t n) {
        if (n > LOGINPROTO_MAX) {
                b->error = b->error ? b->error : -E2BIG;
                return;
        }
        wbuf_put(b, &tag, 1);
        wbuf_put_u32(b, (uint32_t) n);
        if (n)
                wbuf_put(b, p, n);
}

/* Strings are written only when non-empty: absent and "" decode alike. */
static void put_str(wbuf *b, uint8_t tag, const char *s) {
        if (s && *s)
                put_rec(b, tag, s, strlen(s));
}

static void put_u32(wbuf *b, uint8_t tag, uint32_t v) {
        uint8_t be[4] = {(uint8_t) (v >> 24), (uint8_t) (v >> 16), (uint8_t) (v >> 8), (uint8_t) v};
        put_rec(b, tag, be, sizeof(be));
}

static int finish(wbuf *b, uint8_t **ret, size_t *ret_len) {
        int r = wbuf_finish(b, ret, ret_len);

        if (r < 0)
                return r;
        if (*ret_len > LOGINPROTO_MAX) {
                sodium_memzero(*ret, *ret_len);
                free(*ret);
                *ret = NULL;
                return -E2BIG;
        }
        return 0;
}

int loginproto_encode_request(const loginproto_request *m, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;

        if (!m || !m->open || m->open_len == 0)
                return -EINVAL;
        begin(&b, LOGINPROTO_REQUEST);
        put_str(&b, RQ_TRANSPORT, m->transport);
        put_str(&b, RQ_PEER, m->peer);
        put_str(&b, RQ_SESSION_ID, m->session_id);
        if (m->has_nonce)
                put_rec(&b, RQ_NONCE, m->nonce, LOGINPROTO_NONCE_LEN);
        put_rec(&b, RQ_OPEN, m->open, m->open_len);
        return finish(&b, ret, ret_len);
}

int loginproto_encode_started(const loginproto_started *m, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;

        if (!m || m->pid <= 0)
                return -EINVAL;
        begin(&b, LOGINPROTO_STARTED);
        put_u32(&b, ST_PID, (uint32_t) m->pid);
        put_u32(&b, ST_TTY, m->tty ? 1 : 0);
        put_str(&b, ST_USER, m->user);
        put_str(&b, ST_TTY_NAME, m->tty_name);
        return finish(&b, ret, ret_len);
}

int loginproto_encode_refused(const loginproto_refused *m, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;

        if (!m || !m->message || !*m->message)
                return -EINVAL;
        begin(&b, LOGINPROTO_REFUSED);
        put_str(&b, RF_MESSAGE, m->message);
        return finish(&b, ret, ret_len);
}

int loginproto_encode_signal(const loginproto_signal *m, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;

        if (!m || m->signo <= 0)
                return -EINVAL;
        begin(&b, LOGINPROTO_SIGNAL);
        put_u32(&b, SG_SIGNO, (uint32_t) m->signo);
        return finish(&b, ret, ret_len);
}

int loginproto_encode_exited(const loginproto_exited *m, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;

        if (!m || m->code < -1 || m->code > 255)
                return -EINVAL;
        begin(&b, LOGINPROTO_EXITED);
        put_u32(&b, EX_CODE, (uint32_t) m->code);
        return finish(&b, ret, ret_len);
}

static void put_opt_str(wbuf *b, uint8_t tag, bool has, const char *s) {
        if (has)
                put_rec(b, tag, s ? s : "", s ? strlen(s) : 0);
}

int loginproto_encode_proof(const loginproto_proof *m, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;
        uint8_t suites[8];

        if (!m)
                return -EINVAL;
        begin(&b, LOGINPROTO_PROOF);
        put_str(&b, PF_TRANSPORT, m->transport);
        put_str(&b, PF_SESSION_ID, m->session_id);
        put_rec(&b, PF_NONCE, m->nonce, LOGINPROTO_NONCE_LEN);
        if (m->has_grant) {
                for (int i = 0; i < 4; i++) {
                        suites[i] = (uint8_t) (m->payload_suite >> (24 - 8 * i));
                        suites[4 + i] = (uint8_t) (m->key_envelope_suite >> (24 - 8 * i));
                }
                put_rec(&b, PF_GRANT, suites, sizeof(suites));
        }
        put_rec(&b, PF_GRANT_HASH, m->grant_hash, LOGINPROTO_HASH_LEN);
        put_rec(&b, PF_CONFIG_HASH, m->config_hash, LOGINPROTO_HASH_LEN);
        if (m->has_proof) {
                put_u32(&b, PF_SIGNATURE_SUITE, m->signature_suite);
                put_rec(&b, PF_SIGNING_KEY_ID, m->signing_key_id, m->signing_key_id_len);
                put_rec(&b, PF_SIGNING_PUBLIC_KEY, m->signing_public_key, m->signing_public_key_len);
                put_rec(&b, PF_TRANSCRIPT_HASH, m->transcript_hash, m->transcript_hash_len);
                put_rec(&b, PF_SIGNATURE, m->signature, m->signature_len);
                put_rec(&b, PF_ISSUED_AT, m->issued_at, m->issued_at ? strlen(m->issued_at) : 0);
                put_rec(&b, PF_EXPIRES_AT, m->expires_at, m->expires_at ? strlen(m->expires_at) : 0);
                put_opt_str(&b, PF_PRINCIPAL_ID, m->has_principal_id, m->principal_id);
                put_opt_str(&b, PF_DEVICE_ID, m->has_device_id, m->device_id);
                put_opt_str(&b, PF_BROWSER_ID, m->has_browser_id, m->browser_id);
                if (m->has_credential)
                        put_rec(&b, PF_CREDENTIAL, m->credential, m->credential_len);
        }
        put_str(&b, PF_REQUESTED_USER, m->requested_user);
        put_str(&b, PF_DEFAULT_USER, m->default_user);
        put_str(&b, PF_SERVER_LABELS, m->server_labels);
        return finish(&b, ret, ret_len);
}

/* ---- Decoding ---- */

typedef struct rec {
        const uint8_t *p;
        size_t len;
        bool present;
} rec;

#define MAX_TAG 32

_printf_(3, 4) static int bad(char **ret_error, loginproto_type type, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;
        int n;

        if (!ret_error)
                return -EBADMSG;
        free(*ret_error);
        *ret_error = NULL;
        va_start(ap, fmt);
        n = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EBADMSG;
        if (asprintf(ret_error, "malformed login %s message: %s",
                     type > 0 && type <= LOGINPROTO_PROOF ? type_names[type] : "?", what) < 0)
                *ret_error = NULL;
        return -EBADMSG;
}

int loginproto_peek_type(const uint8_t *buf, size_t len, loginproto_type *ret) {
        if (!buf || len < 2 || len > LOGINPROTO_MAX || buf[0] != LOGINPROTO_VERSION ||
            buf[1] < LOGINPROTO_REQUEST || buf[1] > LOGINPROTO_PROOF)
                return -EBADMSG;
        *ret = (loginproto_type) buf[1];
        return 0;
}

/* Splits buf into records; tags must increase and be at most max_tag. */
static int split(const uint8_t *buf, size_t len, loginproto_type type, uint8_t max_tag,
                 rec recs[MAX_TAG + 1], char **ret_error) {
        loginproto_type got;
        size_t o = 2;
        unsigned last = 0;

        memset(recs, 0, sizeof(rec) * (MAX_TAG + 1));
        if (loginproto_peek_type(buf, len, &got) < 0)
                return bad(ret_error, type, "bad header or size %zu", len);
        if (got != type)
                return bad(ret_error, type, "got type %u", (unsigned) got);
        while (o < len) {
                uint8_t tag;
                uint32_t n;

                if (len - o < 5)
                        return bad(ret_error, type, "truncated record at offset %zu", o);
                tag = buf[o];
                n = (uint32_t) buf[o + 1] << 24 | (uint32_t) buf[o + 2] << 16 | (uint32_t) buf[o + 3] << 8 |
                    buf[o + 4];
                o += 5;
                if (tag == 0 || tag > max_tag)
                        return bad(ret_error, type, "unknown tag %u", tag);
                if (tag <= last)
                        return bad(ret_error, type, "tag %u out of order or repeated", tag);
                if (n > len - o)
                        return bad(ret_error, type, "tag %u: length %u beyond the message", tag, n);
                recs[tag] = (rec){buf + o, n, true};
                last = tag;
                o += n;
        }
        return 0;
}

static int get_str(const rec *r, loginproto_type type, unsigned tag, char **out, char **ret_error) {
        if (r->len && memchr(r->p, '\0', r->len))
                return bad(ret_error, type, "tag %u: NUL byte in a string", tag);
        *out = strndup(r->present ? (const char *) r->p : "", r->len);
        return *out ? 0 : -ENOMEM;
}

static int get_bytes(const rec *r, uint8_t **out, size_t *out_len) {
        *out_len = r->len;
        *out = malloc(r->len ? r->len : 1);
        if (!*out)
                return -ENOMEM;
        if (r->len)
                memcpy(*out, r->p, r->len);
        return 0;
}

static int get_fixed(const rec *r, loginproto_type type, unsigned tag, uint8_t *out, size_t n,
                     char **ret_error) {
        if (!r->present || r->len != n)
                return bad(ret_error, type, "tag %u: want %zu bytes, got %zu", tag, n,
                           r->present ? r->len : 0);
        memcpy(out, r->p, n);
        return 0;
}

static int get_u32(const rec *r, loginproto_type type, unsigned tag, uint32_t *out, char **ret_error) {
        if (!r->present || r->len != 4)
                return bad(ret_error, type, "tag %u: want a 32-bit number", tag);
        *out = (uint32_t) r->p[0] << 24 | (uint32_t) r->p[1] << 16 | (uint32_t) r->p[2] << 8 | r->p[3];
        return 0;
}

int loginproto_decode_request(const uint8_t *buf, size_t len, loginproto_request *ret, char **ret_error) {
        loginproto_request m = {};
        rec recs[MAX_TAG + 1];
        int r;

        r = split(buf, len, LOGINPROTO_REQUEST, RQ_OPEN, recs, ret_error);
        if (r < 0)
                return r;
        if (!recs[RQ_OPEN].present || recs[RQ_OPEN].len == 0)
                return bad(ret_error, LOGINPROTO_REQUEST, "the Open message is missing");
        if ((r = get_str(&recs[RQ_TRANSPORT], LOGINPROTO_REQUEST, RQ_TRANSPORT, &m.transport, ret_error)) <
                    0 ||
            (r = get_str(&recs[RQ_PEER], LOGINPROTO_REQUEST, RQ_PEER, &m.peer, ret_error)) < 0 ||
            (r = get_str(&recs[RQ_SESSION_ID], LOGINPROTO_REQUEST, RQ_SESSION_ID, &m.session_id,
                         ret_error)) < 0)
                goto fail;
        if (!*m.transport) {
                r = bad(ret_error, LOGINPROTO_REQUEST, "the transport is missing");
                goto fail;
        }
        if (recs[RQ_NONCE].present) {
                r = get_fixed(&recs[RQ_NONCE], LOGINPROTO_REQUEST, RQ_NONCE, m.nonce, LOGINPROTO_NONCE_LEN,
                              ret_error);
                if (r < 0)
                        goto fail;
                m.has_nonce = true;
        }
        r = get_bytes(&recs[RQ_OPEN], &m.open, &m.open_len);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;
fail:
        loginproto_request_done(&m);
        return r;
}

int loginproto_decode_started(const uint8_t *buf, size_t len, loginproto_started *ret, char **ret_error) {
        loginproto_started m = {};
        rec recs[MAX_TAG + 1];
        uint32_t pid = 0, tty = 0;
        int r;

        r = split(buf, len, LOGINPROTO_STARTED, ST_TTY_NAME, recs, ret_error);
        if (r < 0)
                return r;
        if ((r = get_u32(&recs[ST_PID], LOGINPROTO_STARTED, ST_PID, &pid, ret_error)) < 0 ||
            (r = get_u32(&recs[ST_TTY], LOGINPROTO_STARTED, ST_TTY, &tty, ret_error)) < 0)
                return r;
        if (pid == 0 || pid > INT32_MAX || tty > 1)
                return bad(ret_error, LOGINPROTO_STARTED, "pid %u or tty flag %u out of range", pid, tty);
        m.pid = (int32_t) pid;
        m.tty = tty == 1;
        if ((r = get_str(&recs[ST_USER], LOGINPROTO_STARTED, ST_USER, &m.user, ret_error)) < 0 ||
            (r = get_str(&recs[ST_TTY_NAME], LOGINPROTO_STARTED, ST_TTY_NAME, &m.tty_name, ret_error)) < 0) {
                loginproto_started_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int loginproto_decode_refused(const uint8_t *buf, size_t len, loginproto_refused *ret, char **ret_error) {
        rec recs[MAX_TAG + 1];
        char *msg = NULL;
        int r;

        r = split(buf, len, LOGINPROTO_REFUSED, RF_MESSAGE, recs, ret_error);
        if (r < 0)
                return r;
        if (!recs[RF_MESSAGE].present || recs[RF_MESSAGE].len == 0)
                return bad(ret_error, LOGINPROTO_REFUSED, "the message is missing");
        r = get_str(&recs[RF_MESSAGE], LOGINPROTO_REFUSED, RF_MESSAGE, &msg, ret_error);
        if (r < 0)
                return r;
        ret->message = msg;
        return 0;
}

int loginproto_decode_signal(const uint8_t *buf, size_t len, loginproto_signal *ret, char **ret_error) {
        rec recs[MAX_TAG + 1];
        uint32_t v = 0;
        int r;

        r = split(buf, len, LOGINPROTO_SIGNAL, SG_SIGNO, recs, ret_error);
        if (r < 0)
                return r;
        r = get_u32(&recs[SG_SIGNO], LOGINPROTO_SIGNAL, SG_SIGNO, &v, ret_error);
        if (r < 0)
                return r;
        if (v == 0 || v > 64)
                return bad(ret_error, LOGINPROTO_SIGNAL, "signal %u out of range", v);
        ret->signo = (int32_t) v;
        return 0;
}

int loginproto_decode_exited(const uint8_t *buf, size_t len, loginproto_exited *ret, char **ret_error) {
        rec recs[MAX_TAG + 1];
        uint32_t v = 0;
        int r;

        r = split(buf, len, LOGINPROTO_EXITED, EX_CODE, recs, ret_error);
        if (r < 0)
                return r;
        r = get_u32(&recs[EX_CODE], LOGINPROTO_EXITED, EX_CODE, &v, ret_error);
        if (r < 0)
                return r;
        if (v > 255 && v != UINT32_MAX)
                return bad(ret_error, LOGINPROTO_EXITED, "exit code %u out of range", v);
        ret->code = v == UINT32_MAX ? -1 : (int32_t) v;
        return 0;
}

static int get_opt_str(const rec *r, unsigned tag, bool *has, char **out, char **ret_error) {
        *has = r->present;
        return r->present ? get_str(r, LOGINPROTO_PROOF, tag, out, ret_error) : 0;
}

/* The ClientProof part of a PROOF message. */
static int decode_client_proof(const rec *recs, loginproto_proof *m, char **ret_error) {
        int r;

        if (!recs[PF_SIGNATURE_SUITE].present)
                return 0;
        m->has_proof = true;
        if ((r = get_u32(&recs[PF_SIGNATURE_SUITE], LOGINPROTO_PROOF, PF_SIGNATURE_SUITE,
                         &m->signature_suite, ret_error)) < 0 ||
            (r = get_bytes(&recs[PF_SIGNING_KEY_ID], &m->signing_key_id, &m->signing_key_id_len)) < 0 ||
            (r = get_bytes(&recs[PF_SIGNING_PUBLIC_KEY], &m->signing_public_key,
                           &m->signing_public_key_len)) < 0 ||
            (r = get_bytes(&recs[PF_TRANSCRIPT_HASH], &m->transcript_hash, &m->transcript_hash_len)) < 0 ||
            (r = get_bytes(&recs[PF_SIGNATURE], &m->signature, &m->signature_len)) < 0 ||
            (r = get_str(&recs[PF_ISSUED_AT], LOGINPROTO_PROOF, PF_ISSUED_AT, &m->issued_at, ret_error)) <
                    0 ||
            (r = get_str(&recs[PF_EXPIRES_AT], LOGINPROTO_PROOF, PF_EXPIRES_AT, &m->expires_at, ret_error)) <
                    0 ||
            (r = get_opt_str(&recs[PF_PRINCIPAL_ID], PF_PRINCIPAL_ID, &m->has_principal_id, &m->principal_id,
                             ret_error)) < 0 ||
            (r = get_opt_str(&recs[PF_DEVICE_ID], PF_DEVICE_ID, &m->has_device_id, &m->device_id,
                             ret_error)) < 0 ||
            (r = get_opt_str(&recs[PF_BROWSER_ID], PF_BROWSER_ID, &m->has_browser_id, &m->browser_id,
                             ret_error)) < 0)
                return r;
        if (recs[PF_CREDENTIAL].present) {
                m->has_credential = true;
                r = get_bytes(&recs[PF_CREDENTIAL], &m->credential, &m->credential_len);
        }
        return r;
}

int loginproto_decode_proof(const uint8_t *buf, size_t len, loginproto_proof *ret, char **ret_error) {
        loginproto_proof m = {};
        rec recs[MAX_TAG + 1];
        uint8_t suites[8];
        int r;

        r = split(buf, len, LOGINPROTO_PROOF, PF_SERVER_LABELS, recs, ret_error);
        if (r < 0)
                return r;
        if (!recs[PF_SIGNATURE_SUITE].present) {
                for (unsigned t = PF_SIGNING_KEY_ID; t <= PF_CREDENTIAL; t++)
                        if (recs[t].present)
                                return bad(ret_error, LOGINPROTO_PROOF, "tag %u without a signature suite",
                                           t);
        }
        if ((r = get_str(&recs[PF_TRANSPORT], LOGINPROTO_PROOF, PF_TRANSPORT, &m.transport, ret_error)) <
                    0 ||
            (r = get_str(&recs[PF_SESSION_ID], LOGINPROTO_PROOF, PF_SESSION_ID, &m.session_id, ret_error)) <
                    0 ||
            (r = get_fixed(&recs[PF_NONCE], LOGINPROTO_PROOF, PF_NONCE, m.nonce, LOGINPROTO_NONCE_LEN,
                           ret_error)) < 0 ||
            (r = get_fixed(&recs[PF_GRANT_HASH], LOGINPROTO_PROOF, PF_GRANT_HASH, m.grant_hash,
                           LOGINPROTO_HASH_LEN, ret_error)) < 0 ||
            (r = get_fixed(&recs[PF_CONFIG_HASH], LOGINPROTO_PROOF, PF_CONFIG_HASH, m.config_hash,
                           LOGINPROTO_HASH_LEN, ret_error)) < 0)
                goto fail;
        if (recs[PF_GRANT].present) {
                r = get_fixed(&recs[PF_GRANT], LOGINPROTO_PROOF, PF_GRANT, suites, sizeof(suites),
                              ret_error);
                if (r < 0)
                        goto fail;
                m.has_grant = true;
                m.payload_suite = (uint32_t) suites[0] << 24 | (uint32_t) suites[1] << 16 |
                                  (uint32_t) suites[2] << 8 | suites[3];
                m.key_envelope_suite = (uint32_t) suites[4] << 24 | (uint32_t) suites[5] << 16 |
                                       (uint32_t) suites[6] << 8 | suites[7];
        }
        r = decode_client_proof(recs, &m, ret_error);
        if (r < 0)
                goto fail;
        if ((r = get_str(&recs[PF_REQUESTED_USER], LOGINPROTO_PROOF, PF_REQUESTED_USER, &m.requested_user,
                         ret_error)) < 0 ||
            (r = get_str(&recs[PF_DEFAULT_USER], LOGINPROTO_PROOF, PF_DEFAULT_USER, &m.default_user,
                         ret_error)) < 0 ||
            (r = get_str(&recs[PF_SERVER_LABELS], LOGINPROTO_PROOF, PF_SERVER_LABELS, &m.server_labels,
                         ret_error)) < 0)
                goto fail;
        *ret = m;
        return 0;
fail:
        loginproto_proof_done(&m);
        return r;
}

/* ---- Freeing ---- */

void loginproto_request_done(loginproto_request *m) {
        if (!m)
                return;
        free(m->transport);
        free(m->peer);
        free(m->session_id);
        free(m->open);
        *m = (loginproto_request){};
}

void loginproto_started_done(loginproto_started *m) {
        if (!m)
                return;
        free(m->user);
        free(m->tty_name);
        *m = (loginproto_started){};
}

void loginproto_refused_done(loginproto_refused *m) {
        if (!m)
                return;
        free(m->message);
        m->message = NULL;
}

static void free_zeroed(void *p, size_t n) {
        if (p) {
                sodium_memzero(p, n);
                free(p);
        }
}

static void free_str_zeroed(char *s) {
        if (s)
                free_zeroed(s, strlen(s));
}

void loginproto_proof_done(loginproto_proof *m) {
        if (!m)
                return;
        free_str_zeroed(m->transport);
        free_str_zeroed(m->session_id);
        free_zeroed(m->signing_key_id, m->signing_key_id_len);
        free_zeroed(m->signing_public_key, m->signing_public_key_len);
        free_zeroed(m->transcript_hash, m->transcript_hash_len);
        free_zeroed(m->signature, m->signature_len);
        free_str_zeroed(m->issued_at);
        free_str_zeroed(m->expires_at);
        free_str_zeroed(m->principal_id);
        free_str_zeroed(m->device_id);
        free_str_zeroed(m->browser_id);
        free_zeroed(m->credential, m->credential_len);
        free_str_zeroed(m->requested_user);
        free_str_zeroed(m->default_user);
        free_str_zeroed(m->server_labels);
        sodium_memzero(m, sizeof(*m));
}
