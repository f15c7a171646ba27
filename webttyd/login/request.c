/* Decoding a REQUEST's Open and deriving the PROOF bundle (see login.h).
 *
 * webttyd's claims are inputs only: the config and grant hashes are computed
 * here from the Open it forwarded, so a forged hash cannot be slipped to
 * pam_rstream; the module then checks the ClientProof against the server
 * identity and authorized clients it reads itself. This file allocates and
 * looks up accounts but has no other side effects (fuzzed). */

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "b64u.h"
#include "login.h"
#include "macro.h"

#define PASSWD_BUF_MAX (1024 * 1024)
#define LABEL_MAX 256          /* bytes of one "k=v" server label */
#define LABELS_MAX (16 * 1024) /* bytes of all of them */

static bool isempty(const char *s) {
        return !s || !*s;
}

/* strdup of s, "" for NULL. */
static int dup_str(const char *s, char **ret) {
        *ret = strdup(s ? s : "");
        return *ret ? 0 : -ENOMEM;
}

static int dup_bytes(const ProtobufCBinaryData *b, uint8_t **ret, size_t *ret_len) {
        *ret = NULL;
        *ret_len = 0;
        if (!b || b->len == 0)
                return 0;
        *ret = malloc(b->len);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, b->data, b->len);
        *ret_len = b->len;
        return 0;
}

static int dup_string_value(const Webtty__StringValue *v, bool *has, char **ret) {
        *has = v != NULL;
        return dup_str(v ? v->value : "", ret);
}

/* Both texts; returns r. */
_printf_(5, 6) static int refuse(char **ret_peer, const char *peer_text, int r, char **ret_log,
                                 const char *fmt, ...);
static int refuse(char **ret_peer, const char *peer_text, int r, char **ret_log, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*ret_log);
        *ret_log = s;
        free(*ret_peer);
        *ret_peer = strdup(peer_text);
        return r;
}

/* Open.config.username: "" when absent; a uid is resolved to its name so the
 * module and the policy only ever see names (spec 5.1). */
static int requested_user(const Webtty__Config *config, const login_config *cfg, char **ret, char **ret_log,
                          char **ret_peer) {
        const Webtty__Username *u = config->username;
        _cleanup_free_ char *buf = NULL;
        struct passwd pw, *res = NULL;
        char text[128];
        int r;

        if (!u || (u->payload_case != WEBTTY__USERNAME__PAYLOAD_NAME &&
                   u->payload_case != WEBTTY__USERNAME__PAYLOAD_ID))
                return dup_str("", ret);
        if (!cfg->allow_client_user)
                return refuse(ret_peer, LOGIN_CLIENT_USER_TEXT, -EPERM, ret_log,
                              "client requested an OS user but --allow-client-user is not set");
        if (u->payload_case == WEBTTY__USERNAME__PAYLOAD_NAME) {
                if (isempty(u->name))
                        return refuse(ret_peer, "failed to get user info: user lookup: user: unknown user ",
                                      -ESRCH, ret_log, "client requested an empty OS user name");
                return dup_str(u->name, ret);
        }
        for (size_t size = 1024;; size *= 2) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getpwuid_r((uid_t) u->id, &pw, buf, size, &res);
                if (r != ERANGE || size >= PASSWD_BUF_MAX)
                        break;
        }
        if (r == 0 && res)
                return dup_str(pw.pw_name, ret);
        snprintf(text, sizeof text, "failed to get user info: user lookup: user: unknown userid %u",
                 (unsigned) u->id);
        return refuse(ret_peer, text, -ESRCH, ret_log, "client requested uid %u: %s", (unsigned) u->id,
                      r == 0 ? "no such user" : strerror(r));
}

static int proof_fields(const Webtty__ClientProof *cp, loginproto_proof *p) {
        int r;

        p->has_proof = cp != NULL;
        if (!cp) {
                /* Present but empty, so the encoder never meets a NULL string. */
                p->issued_at = strdup("");
                p->expires_at = strdup("");
                p->principal_id = strdup("");
                p->device_id = strdup("");
                p->browser_id = strdup("");
                return p->issued_at && p->expires_at && p->principal_id && p->device_id && p->browser_id
                               ? 0
                               : -ENOMEM;
        }
        p->signature_suite = (uint32_t) cp->signature_suite;
        r = dup_bytes(&cp->signing_key_id, &p->signing_key_id, &p->signing_key_id_len);
        if (r >= 0)
                r = dup_bytes(&cp->signing_public_key, &p->signing_public_key, &p->signing_public_key_len);
        if (r >= 0)
                r = dup_bytes(&cp->transcript_hash, &p->transcript_hash, &p->transcript_hash_len);
        if (r >= 0)
                r = dup_bytes(&cp->signature, &p->signature, &p->signature_len);
        if (r >= 0)
                r = dup_str(cp->issued_at, &p->issued_at);
        if (r >= 0)
                r = dup_str(cp->expires_at, &p->expires_at);
        if (r >= 0)
                r = dup_string_value(cp->principal_id, &p->has_principal_id, &p->principal_id);
        if (r >= 0)
                r = dup_string_value(cp->device_id, &p->has_device_id, &p->device_id);
        if (r >= 0)
                r = dup_string_value(cp->browser_id, &p->has_browser_id, &p->browser_id);
        if (r >= 0) {
                p->has_credential = cp->credential != NULL;
                r = dup_bytes(cp->credential ? &cp->credential->value : NULL, &p->credential,
                              &p->credential_len);
        }
        return r;
}

static bool transport_known(const char *t) {
        return t &&
               (strcmp(t, "websocket") == 0 || strcmp(t, "plain") == 0 || strcmp(t, "webtransport") == 0);
}

void login_derived_done(login_derived *d) {
        if (!d)
                return;
        if (d->open)
                webtty__open__free_unpacked(d->open, NULL);
        loginproto_proof_done(&d->proof);
        *d = (login_derived){};
}

static void key_id_prefix(const loginproto_proof *p, char out[16]) {
        _cleanup_free_ char *s = NULL;

        snprintf(out, 16, "-");
        if (p->signing_key_id_len == 0 || b64u_encode(p->signing_key_id, p->signing_key_id_len, &s) < 0)
                return;
        snprintf(out, 16, "%.12s", s);
}

int login_request_derive(const loginproto_request *req, const login_config *cfg, login_derived *ret,
                         char **ret_log, char **ret_peer) {
        _cleanup_(login_derived_done) login_derived d = {};
        const Webtty__SessionKeyGrant *grant;
        loginproto_proof *p = &d.proof;
        int r;

        *ret = (login_derived){};
        if (!transport_known(req->transport))
                return refuse(ret_peer, LOGIN_MALFORMED_TEXT, -EBADMSG, ret_log,
                              "request: unknown transport");
        if (req->open_len == 0 || !req->open)
                return refuse(ret_peer, "missing open config", -EBADMSG, ret_log, "request: no Open");
        d.open = webtty__open__unpack(NULL, req->open_len, req->open);
        if (!d.open)
                return refuse(ret_peer, LOGIN_MALFORMED_TEXT, -EBADMSG, ret_log,
                              "request: the Open does not decode");
        if (!d.open->config)
                return refuse(ret_peer, "missing open config", -EBADMSG, ret_log,
                              "request: Open without config");
        /* A proof is bound to the ServerHello nonce: without one it cannot
         * verify, and webttyd sent something inconsistent. */
        if (d.open->client_proof && !req->has_nonce)
                return refuse(ret_peer, LOGIN_MALFORMED_TEXT, -EBADMSG, ret_log,
                              "request: client proof without a server nonce");

        r = dup_str(req->transport, &p->transport);
        if (r >= 0)
                r = dup_str(req->session_id, &p->session_id);
        if (r < 0)
                return r;
        if (req->has_nonce)
                memcpy(p->nonce, req->nonce, sizeof p->nonce);

        grant = d.open->session_key_grant;
        p->has_grant = grant != NULL;
        if (grant) {
                p->payload_suite = (uint32_t) grant->payload_suite;
                p->key_envelope_suite = (uint32_t) grant->key_envelope_suite;
        }
        r = auth_hash_grant(grant, p->grant_hash);
        if (r >= 0)
                r = auth_hash_config(d.open->config, p->config_hash);
        if (r < 0)
                return refuse(ret_peer, LOGIN_FAILED_TEXT, r, ret_log,
                              "request: hashing the Open failed: %s", strerror(-r));

        r = proof_fields(d.open->client_proof, p);
        if (r < 0)
                return r;
        key_id_prefix(p, d.key_id);

        r = requested_user(d.open->config, cfg, &p->requested_user, ret_log, ret_peer);
        if (r < 0)
                return r;
        r = dup_str(cfg->login_user, &p->default_user);
        if (r >= 0)
                r = dup_str(cfg->server_labels, &p->server_labels);
        if (r < 0)
                return r;
        *ret = d;
        d = (login_derived){};
        return 0;
}

int login_bundle_text(const loginproto_proof *p, char **ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        int r;

        *ret = NULL;
        r = loginproto_encode_proof(p, &buf, &len);
        if (r < 0)
                return r;
        r = b64u_encode(buf, len, ret);
        explicit_bzero(buf, len);
        return r;
}

/* k non-empty and made of [A-Za-z0-9._/-], v without control bytes: the
 * labels are joined by '\n' and matched by the policy. */
static bool label_valid(const char *kv) {
        const char *eq = strchr(kv, '=');

        if (!eq || eq == kv || strlen(kv) > LABEL_MAX)
                return false;
        for (const char *c = kv; c < eq; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("._/-", *c)))
                        return false;
        for (const unsigned char *c = (const unsigned char *) eq + 1; *c; c++)
                if (*c < 0x20 || *c == 0x7f)
                        return false;
        return true;
}

int login_label_append(char **labels, const char *kv) {
        size_t old = *labels ? strlen(*labels) : 0, add = strlen(kv);
        char *n;

        if (!label_valid(kv))
                return -EINVAL;
        if (old + add + 2 > LABELS_MAX)
                return -E2BIG;
        n = realloc(*labels, old + add + 2);
        if (!n)
                return -ENOMEM;
        if (old > 0)
                n[old++] = '\n';
        memcpy(n + old, kv, add + 1);
        *labels = n;
        return 0;
}
