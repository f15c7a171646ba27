/* E2E session key grant and payload encryption (see e2e.h). */
#include "e2e.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "b64u.h"
#include "hpke.h"
#include "errmsg.h"
#include "macro.h"
#include "trimspace.h"
#include "wbuf.h"

#define AUTH_FAILED "cipher: message authentication failed"
#define SUITE1_WRAPPED_LEN (E2E_PAYLOAD_KEY_LEN + E2E_TAG_LEN)
#define SUITE3_WRAPPED_LEN (E2E_NONCE_LEN + E2E_PAYLOAD_KEY_LEN + E2E_TAG_LEN)

struct e2e_session {
        uint32_t payload_suite, envelope_suite;
        uint8_t *key; /* sodium_malloc'd */
        uint8_t key_id[E2E_PAYLOAD_KEY_ID_LEN];
        uint8_t *key_context; /* malloc'd, at least 1 byte */
        size_t kc_len;
        /* U32(payload_suite) || LP(payload_key_id) || LP(key_context): the
         * part of every payload AAD that is fixed for the session. */
        uint8_t *aad_mid;
        size_t aad_mid_len;
        EVP_CIPHER_CTX *enc, *dec; /* keyed once, a new IV per message */
        e2e_rng rng;
        bool has_rng;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(e2e_session, e2e_session_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(enckey, enckey_free);

static void sodium_freep(uint8_t **p) {
        if (*p)
                sodium_free(*p);
}

/* Sets *ret_error (if wanted) to a formatted text; returns r. */
/* Prefixes an existing error text (keeps it if there is none). */
static int fail_prefix(char **ret_error, int r, const char *prefix) {
        char *inner;

        if (!ret_error)
                return r;
        inner = *ret_error;
        *ret_error = NULL;
        if (inner) {
                errmsg_set(ret_error, r, "%s%s", prefix, inner);
                free(inner);
        }
        return r;
}

static int get_random(const e2e_rng *rng, e2e_rand_purpose purpose, uint8_t *buf, size_t len) {
        if (rng && rng->fill)
                return rng->fill(rng->userdata, purpose, buf, len);
        randombytes_buf(buf, len);
        return 0;
}

const char *e2e_stream_name(e2e_stream stream) {
        switch (stream) {
        case E2E_STREAM_STDIN:
                return "stdin";
        case E2E_STREAM_STDOUT:
                return "stdout";
        case E2E_STREAM_STDERR:
                return "stderr";
        default:
                return NULL;
        }
}

/* ---- Context strings ---- */

int e2e_wrap_info(uint32_t payload_suite, uint32_t envelope_suite, const uint8_t *payload_key_id,
                  size_t kid_len, const uint8_t *key_context, size_t kc_len, uint8_t **ret,
                  size_t *ret_len) {
        wbuf b = WBUF_INIT;

        wbuf_put_lp_str(&b, E2E_WRAP_INFO_DOMAIN);
        wbuf_put_u32(&b, payload_suite);
        wbuf_put_u32(&b, envelope_suite);
        wbuf_put_lp(&b, payload_key_id, kid_len);
        wbuf_put_lp(&b, key_context, kc_len);
        return wbuf_finish(&b, ret, ret_len);
}

int e2e_wrap_aad(uint32_t payload_suite, uint32_t envelope_suite, const uint8_t *recipient_key_id,
                 size_t rid_len, const uint8_t *payload_key_id, size_t kid_len, const uint8_t *key_context,
                 size_t kc_len, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;

        wbuf_put_lp_str(&b, E2E_WRAP_AAD_DOMAIN);
        wbuf_put_u32(&b, payload_suite);
        wbuf_put_u32(&b, envelope_suite);
        wbuf_put_lp(&b, recipient_key_id, rid_len);
        wbuf_put_lp(&b, payload_key_id, kid_len);
        wbuf_put_lp(&b, key_context, kc_len);
        return wbuf_finish(&b, ret, ret_len);
}

int e2e_payload_aad(e2e_stream stream, uint32_t payload_suite, const uint8_t *payload_key_id, size_t kid_len,
                    const uint8_t *aad_context, size_t ac_len, const uint8_t *nonce, size_t nonce_len,
                    uint32_t plaintext_length, uint8_t **ret, size_t *ret_len) {
        const char *name = e2e_stream_name(stream);
        wbuf b = WBUF_INIT;

        if (!name)
                return -EINVAL;
        wbuf_put_lp_str(&b, E2E_PAYLOAD_AAD_DOMAIN);
        wbuf_put_lp_str(&b, name);
        wbuf_put_u32(&b, payload_suite);
        wbuf_put_lp(&b, payload_key_id, kid_len);
        wbuf_put_lp(&b, aad_context, ac_len);
        wbuf_put_lp(&b, nonce, nonce_len);
        wbuf_put_u32(&b, plaintext_length);
        return wbuf_finish(&b, ret, ret_len);
}

/* ---- Key envelopes ---- */

static int dup_bytes(const uint8_t *p, size_t n, uint8_t **ret) {
        uint8_t *d = malloc(n ? n : 1);

        if (!d)
                return -ENOMEM;
        if (n)
                memcpy(d, p, n);
        *ret = d;
        return 0;
}

int e2e_envelope_wrap(const enckey *recipient, const uint8_t *info, size_t info_len, const uint8_t *aad,
                      size_t aad_len, const uint8_t payload_key[E2E_PAYLOAD_KEY_LEN], const e2e_rng *rng,
                      uint8_t **ret_encapsulated, size_t *ret_encapsulated_len, uint8_t **ret_wrapped,
                      size_t *ret_wrapped_len) {
        _cleanup_(sodium_freep) uint8_t *eph_priv = NULL, *secret = NULL;
        _cleanup_(enckey_freep) enckey *eph = NULL;
        _cleanup_free_ uint8_t *encapsulated = NULL, *wrapped = NULL;
        size_t encapsulated_len, wrapped_len;
        int r;

        if (!recipient || !payload_key)
                return -EINVAL;
        if (sodium_init() < 0)
                return -EIO;
        eph_priv = sodium_malloc(ENCKEY_PRIV_LEN);
        /* secret: the suite-3 ECDH x-coordinate, then the wrapping key */
        secret = sodium_malloc(2 * 32);
        if (!eph_priv || !secret)
                return -ENOMEM;

        switch (recipient->suite) {
        case ENCKEY_SUITE_X25519: {
                encapsulated_len = HPKE_ENC_LEN;
                wrapped_len = SUITE1_WRAPPED_LEN;
                encapsulated = malloc(encapsulated_len);
                wrapped = malloc(wrapped_len);
                if (!encapsulated || !wrapped)
                        return -ENOMEM;
                if (rng && rng->fill) {
                        r = get_random(rng, E2E_RAND_EPHEMERAL_KEY, eph_priv, ENCKEY_PRIV_LEN);
                        if (r < 0)
                                return r;
                }
                r = hpke_seal_base(HPKE_AEAD_AES_256_GCM, recipient->pub, info, info_len, aad, aad_len,
                                   payload_key, E2E_PAYLOAD_KEY_LEN, rng && rng->fill ? eph_priv : NULL,
                                   encapsulated, wrapped);
                if (r < 0)
                        return r;
                break;
        }
        case ENCKEY_SUITE_P256: {
                encapsulated_len = ENCKEY_PUB_MAX;
                wrapped_len = SUITE3_WRAPPED_LEN;
                encapsulated = malloc(encapsulated_len);
                wrapped = malloc(wrapped_len);
                if (!encapsulated || !wrapped)
                        return -ENOMEM;
                if (rng && rng->fill) {
                        r = get_random(rng, E2E_RAND_EPHEMERAL_KEY, eph_priv, ENCKEY_PRIV_LEN);
                        if (r >= 0)
                                r = enckey_from_private(ENCKEY_SUITE_P256, eph_priv, ENCKEY_PRIV_LEN, &eph);
                } else
                        r = enckey_generate(ENCKEY_SUITE_P256, &eph);
                if (r < 0)
                        return r;
                r = enckey_dh(eph, recipient->pub, recipient->pub_len, secret);
                if (r < 0)
                        return r;
                /* wrapping_key = HKDF-SHA256(ikm = shared x, salt = "", info, 32) */
                r = hkdf_sha256(NULL, 0, secret, 32, info, info_len, secret + 32, 32);
                if (r < 0)
                        return r;
                r = get_random(rng, E2E_RAND_WRAP_NONCE, wrapped, E2E_NONCE_LEN);
                if (r < 0)
                        return r;
                r = hpke_aead_seal(HPKE_AEAD_AES_256_GCM, secret + 32, wrapped, aad, aad_len, payload_key,
                                   E2E_PAYLOAD_KEY_LEN, wrapped + E2E_NONCE_LEN);
                if (r < 0)
                        return r;
                memcpy(encapsulated, eph->pub, eph->pub_len);
                break;
        }
        default:
                return -EPROTONOSUPPORT;
        }

        *ret_encapsulated = TAKE_PTR(encapsulated);
        *ret_encapsulated_len = encapsulated_len;
        *ret_wrapped = TAKE_PTR(wrapped);
        *ret_wrapped_len = wrapped_len;
        return 0;
}

int e2e_envelope_unwrap(const enckey *own, const uint8_t *info, size_t info_len, const uint8_t *aad,
                        size_t aad_len, const uint8_t *encapsulated, size_t encapsulated_len,
                        const uint8_t *wrapped, size_t wrapped_len,
                        uint8_t payload_key_out[E2E_PAYLOAD_KEY_LEN], char **ret_error) {
        _cleanup_(sodium_freep) uint8_t *secret = NULL, *pt = NULL;
        size_t pt_len;
        int r;

        if (!own || !own->priv)
                return errmsg_set(ret_error, -ENOKEY, "E2E identity private key must be %d bytes",
                                  ENCKEY_PRIV_LEN);
        if (sodium_init() < 0)
                return -EIO;
        secret = sodium_malloc(2 * 32);
        /* Room for whatever the peer wrapped; only 32 bytes is accepted. */
        pt = sodium_malloc(wrapped_len ? wrapped_len : 1);
        if (!secret || !pt)
                return -ENOMEM;

        switch (own->suite) {
        case ENCKEY_SUITE_X25519:
                if (wrapped_len < E2E_TAG_LEN)
                        return errmsg_set(ret_error, -EBADMSG, AUTH_FAILED);
                pt_len = wrapped_len - E2E_TAG_LEN;
                if (!encapsulated || encapsulated_len != HPKE_ENC_LEN)
                        return errmsg_set(ret_error, -EBADMSG,
                                          "create E2E HPKE recipient: crypto/ecdh: invalid public key");
                r = hpke_open_base(HPKE_AEAD_AES_256_GCM, encapsulated, encapsulated_len, own, info,
                                   info_len, aad, aad_len, wrapped, wrapped_len, pt);
                if (r == -EINVAL) /* a low-order point: the shared secret would be zero */
                        return errmsg_set(
                                ret_error, -EBADMSG,
                                "create E2E HPKE recipient: crypto/ecdh: bad X25519 remote ECDH input: "
                                "low order "
                                "point");
                if (r == -EBADMSG)
                        return errmsg_set(ret_error, r, AUTH_FAILED);
                if (r < 0)
                        return errmsg_set(ret_error, r, "open E2E HPKE envelope: internal error");
                break;
        case ENCKEY_SUITE_P256:
                r = enckey_dh(own, encapsulated, encapsulated_len, secret);
                if (r == -EINVAL)
                        return errmsg_set(ret_error, -EBADMSG,
                                          "parse E2E P-256 ephemeral key: crypto/ecdh: invalid public key");
                if (r < 0)
                        return errmsg_set(ret_error, r, "derive E2E P-256 shared secret: internal error");
                r = hkdf_sha256(NULL, 0, secret, 32, info, info_len, secret + 32, 32);
                if (r < 0)
                        return errmsg_set(ret_error, r, "derive E2E wrapping key: internal error");
                if (wrapped_len < E2E_NONCE_LEN + E2E_TAG_LEN)
                        return errmsg_set(ret_error, -EBADMSG, AUTH_FAILED);
                pt_len = wrapped_len - E2E_NONCE_LEN - E2E_TAG_LEN;
                r = hpke_aead_open(HPKE_AEAD_AES_256_GCM, secret + 32, wrapped, aad, aad_len,
                                   wrapped + E2E_NONCE_LEN, wrapped_len - E2E_NONCE_LEN, pt);
                if (r == -EBADMSG)
                        return errmsg_set(ret_error, r, AUTH_FAILED);
                if (r < 0)
                        return errmsg_set(ret_error, r, "open E2E key envelope: internal error");
                break;
        default:
                return errmsg_set(ret_error, -EPROTONOSUPPORT, "unsupported E2E key envelope suite %d",
                                  own->suite);
        }
        if (pt_len != E2E_PAYLOAD_KEY_LEN)
                return errmsg_set(ret_error, -EMSGSIZE, "E2E unwrapped payload key must be %d bytes",
                                  E2E_PAYLOAD_KEY_LEN);
        memcpy(payload_key_out, pt, E2E_PAYLOAD_KEY_LEN);
        return 0;
}

/* ---- Session ---- */

e2e_session *e2e_session_free(e2e_session *s) {
        if (!s)
                return NULL;
        if (s->key)
                sodium_free(s->key);
        EVP_CIPHER_CTX_free(s->enc); /* clears the expanded key */
        EVP_CIPHER_CTX_free(s->dec);
        free(s->key_context);
        free(s->aad_mid);
        free(s);
        return NULL;
}

static EVP_CIPHER_CTX *keyed_gcm(const uint8_t *key, int enc) {
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

        if (!ctx)
                return NULL;
        if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, E2E_NONCE_LEN, NULL) != 1 ||
            EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc) != 1) {
                EVP_CIPHER_CTX_free(ctx);
                ctx = NULL;
        }
        ERR_clear_error();
        return ctx;
}

int e2e_session_new(uint32_t payload_suite, uint32_t envelope_suite, const uint8_t key[E2E_PAYLOAD_KEY_LEN],
                    const uint8_t key_id[E2E_PAYLOAD_KEY_ID_LEN], const uint8_t *key_context, size_t kc_len,
                    e2e_session **ret) {
        _cleanup_(e2e_session_freep) e2e_session *s = NULL;
        wbuf b = WBUF_INIT;
        int r;

        if (!key || !key_id || (kc_len && !key_context))
                return -EINVAL;
        r = e2e_validate_suites(payload_suite, envelope_suite, NULL);
        if (r < 0)
                return r;
        if (sodium_init() < 0)
                return -EIO;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->payload_suite = payload_suite;
        s->envelope_suite = envelope_suite;
        s->key = sodium_malloc(E2E_PAYLOAD_KEY_LEN);
        if (!s->key)
                return -ENOMEM;
        memcpy(s->key, key, E2E_PAYLOAD_KEY_LEN);
        memcpy(s->key_id, key_id, E2E_PAYLOAD_KEY_ID_LEN);
        r = dup_bytes(key_context, kc_len, &s->key_context);
        if (r < 0)
                return r;
        s->kc_len = kc_len;

        wbuf_put_u32(&b, payload_suite);
        wbuf_put_lp(&b, key_id, E2E_PAYLOAD_KEY_ID_LEN);
        wbuf_put_lp(&b, key_context, kc_len);
        r = wbuf_finish(&b, &s->aad_mid, &s->aad_mid_len);
        if (r < 0)
                return r;

        s->enc = keyed_gcm(s->key, 1);
        s->dec = keyed_gcm(s->key, 0);
        if (!s->enc || !s->dec)
                return -EIO;
        *ret = TAKE_PTR(s);
        return 0;
}

uint32_t e2e_session_payload_suite(const e2e_session *s) {
        return s->payload_suite;
}

uint32_t e2e_session_envelope_suite(const e2e_session *s) {
        return s->envelope_suite;
}

const uint8_t *e2e_session_key_id(const e2e_session *s) {
        return s->key_id;
}

void e2e_session_key_context(const e2e_session *s, const uint8_t **ret, size_t *ret_len) {
        *ret = s->key_context;
        *ret_len = s->kc_len;
}

void e2e_session_set_rng(e2e_session *s, const e2e_rng *rng) {
        s->has_rng = rng && rng->fill;
        if (s->has_rng)
                s->rng = *rng;
}

/* ---- Default key context (Go encoding/json) ---- */

static const char *const recipient_kinds[] = {
        "public_key", "user", "workspace_device", "workspace_keyset", "server",
};

/* Appends s[0..len) as a JSON string the way Go's encoding/json does:
 * HTML-safe (<, >, & as \u003c...), U+2028/U+2029 escaped, invalid UTF-8
 * replaced by \ufffd. */
static void put_json_string(wbuf *b, const char *s, size_t len) {
        static const char hex[] = "0123456789abcdef";
        const uint8_t *p = (const uint8_t *) s;
        size_t i = 0;

        wbuf_put(b, "\"", 1);
        while (i < len) {
                uint8_t c = p[i];

                if (c < 0x80) {
                        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};

                        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&')
                                wbuf_put(b, &c, 1);
                        else if (c == '"' || c == '\\') {
                                wbuf_put(b, "\\", 1);
                                wbuf_put(b, &c, 1);
                        } else if (c == '\b')
                                wbuf_put(b, "\\b", 2);
                        else if (c == '\f')
                                wbuf_put(b, "\\f", 2);
                        else if (c == '\n')
                                wbuf_put(b, "\\n", 2);
                        else if (c == '\r')
                                wbuf_put(b, "\\r", 2);
                        else if (c == '\t')
                                wbuf_put(b, "\\t", 2);
                        else
                                wbuf_put(b, esc, sizeof(esc));
                        i++;
                        continue;
                }

                /* Decode one UTF-8 sequence strictly (as Go's utf8.DecodeRune). */
                uint32_t cp = 0;
                size_t n = 0;
                if (c >= 0xC2 && c <= 0xDF)
                        n = 2, cp = c & 0x1F;
                else if (c >= 0xE0 && c <= 0xEF)
                        n = 3, cp = c & 0x0F;
                else if (c >= 0xF0 && c <= 0xF4)
                        n = 4, cp = c & 0x07;
                bool ok = n > 0 && len - i >= n;
                for (size_t k = 1; ok && k < n; k++) {
                        if ((p[i + k] & 0xC0) != 0x80)
                                ok = false;
                        else
                                cp = cp << 6 | (p[i + k] & 0x3F);
                }
                if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
                           (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
                        ok = false;
                if (!ok) {
                        wbuf_put(b, "\\ufffd", 6);
                        i++;
                        continue;
                }
                if (cp == 0x2028 || cp == 0x2029)
                        wbuf_put(b, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
                else
                        wbuf_put(b, p + i, n);
                i += n;
        }
        wbuf_put(b, "\"", 1);
}

/* Trimmed view of a possibly NULL string. */
static void trimmed(const char *s, const char **ret, size_t *ret_len) {
        size_t off;

        if (!s)
                s = "";
        trim_space(s, strlen(s), &off, ret_len);
        *ret = s + off;
}

static void wbuf_put_str(wbuf *b, const char *s) {
        wbuf_put(b, s, strlen(s));
}

static void put_json_field(wbuf *b, const char *name, const char *value, size_t len, bool comma) {
        if (comma)
                wbuf_put(b, ",", 1);
        put_json_string(b, name, strlen(name));
        wbuf_put(b, ":", 1);
        put_json_string(b, value, len);
}

int e2e_default_key_context(const char *workspace_id, const char *project_id, const char *server_id,
                            const e2e_key_context_recipient *recipients, size_t n_recipients, char **ret,
                            size_t *ret_len, char **ret_error) {
        static const char *const names[] = {"workspace_id", "project_id", "server_id"};
        const char *ids[] = {workspace_id, project_id, server_id};
        wbuf b = WBUF_INIT;
        uint8_t *out = NULL;
        size_t out_len = 0;
        int r;

        if (n_recipients > 0 && !recipients)
                return -EINVAL;
        wbuf_put_str(&b, "{\"v\":1,\"type\":\"rstream.webtty.session_key_grant\"");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const char *v;
                size_t vlen;

                trimmed(ids[i], &v, &vlen);
                if (vlen > 0)
                        put_json_field(&b, names[i], v, vlen, true);
        }
        wbuf_put_str(&b, ",\"recipients\":[");
        for (size_t i = 0; i < n_recipients; i++) {
                _cleanup_free_ char *kid = NULL;
                const char *kind, *id;
                size_t kind_len, id_len;
                bool known = false;

                if (!recipients[i].key_id) {
                        wbuf_done(&b);
                        return -EINVAL;
                }
                r = b64u_encode(recipients[i].key_id, E2E_PAYLOAD_KEY_ID_LEN, &kid);
                if (r < 0) {
                        wbuf_done(&b);
                        return r;
                }
                trimmed(recipients[i].kind, &kind, &kind_len);
                trimmed(recipients[i].id, &id, &id_len);
                if (kind_len == 0 && id_len == 0) {
                        kind = "public_key";
                        kind_len = strlen(kind);
                        id = kid;
                        id_len = strlen(kid);
                }
                if (kind_len == 0 || id_len == 0) {
                        wbuf_done(&b);
                        return errmsg_set(ret_error, -EINVAL,
                                          "E2E typed recipients require both kind and id");
                }
                for (size_t k = 0; k < ELEMENTSOF(recipient_kinds); k++)
                        if (strlen(recipient_kinds[k]) == kind_len &&
                            memcmp(recipient_kinds[k], kind, kind_len) == 0)
                                known = true;
                if (!known) {
                        wbuf_done(&b);
                        return errmsg_set(ret_error, -EINVAL, "unsupported E2E recipient kind \"%.*s\"",
                                          (int) MIN(kind_len, 64u), kind);
                }
                wbuf_put(&b, i ? ",{" : "{", i ? 2 : 1);
                put_json_field(&b, "key_id", kid, strlen(kid), false);
                put_json_field(&b, "kind", kind, kind_len, true);
                put_json_field(&b, "id", id, id_len, true);
                wbuf_put(&b, "}", 1);
        }
        wbuf_put(&b, "]}", 3); /* with the NUL, for *ret */
        r = wbuf_finish(&b, &out, &out_len);
        if (r < 0)
                return r;
        *ret = (char *) out;
        *ret_len = out_len - 1;
        return 0;
}

/* ---- Grant ---- */

void e2e_grant_free(Webtty__SessionKeyGrant *grant) {
        if (grant)
                webtty__session_key_grant__free_unpacked(grant, NULL);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__SessionKeyGrant, e2e_grant_free);

int e2e_grant_build(const enckey *const *recipients, size_t n, const uint8_t *key_context, size_t kc_len,
                    const e2e_rng *rng, Webtty__SessionKeyGrant **ret_grant, e2e_session **ret_session,
                    char **ret_error) {
        _cleanup_(e2e_grant_freep) Webtty__SessionKeyGrant *g = NULL;
        _cleanup_(sodium_freep) uint8_t *key = NULL;
        _cleanup_free_ uint8_t *info = NULL, *default_kc = NULL;
        e2e_session *session = NULL;
        uint8_t kid[E2E_PAYLOAD_KEY_ID_LEN];
        uint32_t envelope_suite = 0, payload_suite = 0;
        size_t info_len = 0;
        int r;

        if (n > 0 && !recipients)
                return -EINVAL;
        if (kc_len && !key_context)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!recipients[i])
                        return -EINVAL;
                if (envelope_suite != 0 && envelope_suite != (uint32_t) recipients[i]->suite)
                        return errmsg_set(ret_error, -EINVAL,
                                          "E2E recipients use multiple key envelope suites");
                envelope_suite = (uint32_t) recipients[i]->suite;
        }
        if (n == 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "E2E client payload crypto requires at least one recipient");
        r = e2e_payload_suite_for_envelope(envelope_suite, &payload_suite, ret_error);
        if (r < 0)
                return r;
        if (sodium_init() < 0)
                return -EIO;

        key = sodium_malloc(E2E_PAYLOAD_KEY_LEN);
        if (!key)
                return -ENOMEM;
        r = get_random(rng, E2E_RAND_PAYLOAD_KEY, key, E2E_PAYLOAD_KEY_LEN);
        if (r < 0)
                return r;
        r = get_random(rng, E2E_RAND_PAYLOAD_KEY_ID, kid, sizeof(kid));
        if (r < 0)
                return r;

        if (kc_len == 0) {
                _cleanup_free_ e2e_key_context_recipient *kcr = calloc(n, sizeof(*kcr));
                char *json = NULL;
                size_t json_len = 0;

                if (!kcr)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        kcr[i].key_id = recipients[i]->id;
                r = e2e_default_key_context(NULL, NULL, NULL, kcr, n, &json, &json_len, ret_error);
                if (r < 0)
                        return r;
                default_kc = (uint8_t *) json;
                key_context = default_kc;
                kc_len = json_len;
        }

        r = e2e_wrap_info(payload_suite, envelope_suite, kid, sizeof(kid), key_context, kc_len, &info,
                          &info_len);
        if (r < 0)
                return r;

        g = malloc(sizeof(*g));
        if (!g)
                return -ENOMEM;
        webtty__session_key_grant__init(g);
        g->payload_suite = (Webtty__PayloadCipherSuite) payload_suite;
        g->key_envelope_suite = (Webtty__KeyEnvelopeSuite) envelope_suite;
        r = dup_bytes(kid, sizeof(kid), &g->payload_key_id.data);
        if (r < 0)
                return r;
        g->payload_key_id.len = sizeof(kid);
        r = dup_bytes(key_context, kc_len, &g->key_context.data);
        if (r < 0)
                return r;
        g->key_context.len = kc_len;
        g->key_envelopes = calloc(n, sizeof(*g->key_envelopes));
        if (!g->key_envelopes)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ uint8_t *aad = NULL;
                Webtty__KeyEnvelope *e;
                size_t aad_len = 0;

                e = malloc(sizeof(*e));
                if (!e)
                        return -ENOMEM;
                webtty__key_envelope__init(e);
                g->key_envelopes[g->n_key_envelopes++] = e;

                r = dup_bytes(recipients[i]->id, ENCKEY_ID_LEN, &e->recipient_key_id.data);
                if (r < 0)
                        return r;
                e->recipient_key_id.len = ENCKEY_ID_LEN;
                r = e2e_wrap_aad(payload_suite, envelope_suite, recipients[i]->id, ENCKEY_ID_LEN, kid,
                                 sizeof(kid), key_context, kc_len, &aad, &aad_len);
                if (r < 0)
                        return r;
                r = e2e_envelope_wrap(recipients[i], info, info_len, aad, aad_len, key, rng,
                                      &e->encapsulated_key.data, &e->encapsulated_key.len,
                                      &e->wrapped_key.data, &e->wrapped_key.len);
                if (r < 0)
                        return errmsg_set(ret_error, r, "wrap E2E payload key: %s",
                                          r == -EINVAL ? "invalid recipient public key" : "internal error");
        }

        r = e2e_session_new(payload_suite, envelope_suite, key, kid, key_context, kc_len, &session);
        if (r < 0)
                return r;
        if (rng && rng->fill)
                e2e_session_set_rng(session, rng);
        *ret_grant = TAKE_PTR(g);
        *ret_session = session;
        return 0;
}

int e2e_grant_open(const Webtty__SessionKeyGrant *grant, const enckey *own, e2e_session **ret_session,
                   char **ret_error) {
        _cleanup_(sodium_freep) uint8_t *key = NULL;
        _cleanup_free_ uint8_t *info = NULL, *aad = NULL;
        const Webtty__KeyEnvelope *match = NULL;
        uint32_t payload_suite = 0, envelope_suite = 0;
        size_t info_len = 0, aad_len = 0;
        int r;

        if (!grant)
                return errmsg_set(ret_error, -EINVAL, "missing E2E session key grant");
        if (!own)
                return -EINVAL;
        payload_suite = (uint32_t) grant->payload_suite;
        envelope_suite = (uint32_t) grant->key_envelope_suite;
        r = e2e_validate_suites(payload_suite, envelope_suite, ret_error);
        if (r < 0)
                return r;
        if (grant->payload_key_id.len != E2E_PAYLOAD_KEY_ID_LEN)
                return errmsg_set(ret_error, -EINVAL, "E2E payload key id must be %d bytes",
                                  E2E_PAYLOAD_KEY_ID_LEN);
        if ((uint32_t) own->suite != envelope_suite)
                return errmsg_set(ret_error, -EINVAL,
                                  "E2E identity suite %d does not match key envelope suite %" PRIu32,
                                  (int) own->suite, envelope_suite);
        if (!own->priv)
                return errmsg_set(ret_error, -ENOKEY, "E2E identity private key must be %d bytes",
                                  ENCKEY_PRIV_LEN);
        for (size_t i = 0; i < grant->n_key_envelopes; i++) {
                const Webtty__KeyEnvelope *e = grant->key_envelopes[i];

                if (e && e->recipient_key_id.len == ENCKEY_ID_LEN &&
                    memcmp(e->recipient_key_id.data, own->id, ENCKEY_ID_LEN) == 0) {
                        match = e;
                        break;
                }
        }
        if (!match)
                return errmsg_set(ret_error, -ENOENT,
                                  "E2E session key grant does not contain a key envelope for this identity");

        r = e2e_wrap_info(payload_suite, envelope_suite, grant->payload_key_id.data,
                          grant->payload_key_id.len, grant->key_context.data, grant->key_context.len, &info,
                          &info_len);
        if (r >= 0)
                r = e2e_wrap_aad(payload_suite, envelope_suite, match->recipient_key_id.data,
                                 match->recipient_key_id.len, grant->payload_key_id.data,
                                 grant->payload_key_id.len, grant->key_context.data, grant->key_context.len,
                                 &aad, &aad_len);
        if (r < 0)
                return r;
        if (sodium_init() < 0)
                return -EIO;
        key = sodium_malloc(E2E_PAYLOAD_KEY_LEN);
        if (!key)
                return -ENOMEM;
        r = e2e_envelope_unwrap(own, info, info_len, aad, aad_len, match->encapsulated_key.data,
                                match->encapsulated_key.len, match->wrapped_key.data, match->wrapped_key.len,
                                key, ret_error);
        /* Go prefixes the envelope's own failures, not the length check. */
        if (r == -EMSGSIZE)
                return r;
        if (r < 0)
                return fail_prefix(ret_error, r, "unwrap E2E payload key: ");
        return e2e_session_new(payload_suite, envelope_suite, key, grant->payload_key_id.data,
                               grant->key_context.data, grant->key_context.len, ret_session);
}

/* ---- Payloads ---- */

static size_t varint_len(uint64_t v) {
        size_t n = 1;

        while (v >= 0x80) {
                v >>= 7;
                n++;
        }
        return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
        while (v >= 0x80) {
                *p++ = (uint8_t) (v | 0x80);
                v >>= 7;
        }
        *p++ = (uint8_t) v;
        return p;
}

/* The layout of one sealed Data Message (all fields in field-number order,
 * proto3 defaults omitted, exactly as protobuf-c and protobuf-go write it):
 *
 * Message.data(5) {
 *   Data.type(1)                         omitted for TYPE_STDIN
 *   Data.encrypted_data(4) {
 *     EncryptedPayload.ciphertext(1)     [suite 3: nonce ||] AES-GCM ct || tag
 *     EncryptedPayload.plaintext_length(2)   omitted when 0
 *     EncryptedPayload.payload_crypto(4) {
 *       payload_suite(1), payload_key_id(2), nonce(3) (suite 1 only),
 *       aad_context(4) (omitted when empty) } } } */
typedef struct seal_layout {
        size_t ct_len, pc_len, ep_len, data_len, total;
} seal_layout;

static bool seal_layout_for(const e2e_session *s, e2e_stream stream, size_t len, seal_layout *l) {
        bool suite1 = s->payload_suite == E2E_PAYLOAD_SUITE_AES_256_GCM;

        if (!e2e_stream_name(stream) || len > UINT32_MAX)
                return false;
        l->ct_len = len + E2E_TAG_LEN + (suite1 ? 0 : E2E_NONCE_LEN);
        l->pc_len = 1 + varint_len(s->payload_suite) + 1 + 1 + E2E_PAYLOAD_KEY_ID_LEN +
                    (suite1 ? 1 + 1 + E2E_NONCE_LEN : 0) +
                    (s->kc_len ? 1 + varint_len(s->kc_len) + s->kc_len : 0);
        l->ep_len = 1 + varint_len(l->ct_len) + l->ct_len + (len ? 1 + varint_len(len) : 0) + 1 +
                    varint_len(l->pc_len) + l->pc_len;
        l->data_len = (stream != E2E_STREAM_STDIN ? 2 : 0) + 1 + varint_len(l->ep_len) + l->ep_len;
        l->total = 1 + varint_len(l->data_len) + l->data_len;
        return true;
}

size_t e2e_seal_data_size(const e2e_session *s, e2e_stream stream, size_t len) {
        seal_layout l;

        return s && seal_layout_for(s, stream, len, &l) ? l.total : 0;
}

size_t e2e_seal_data_prefix(const e2e_session *s, e2e_stream stream, size_t len) {
        bool suite1;
        seal_layout l;

        if (!s || !seal_layout_for(s, stream, len, &l))
                return 0;
        suite1 = s->payload_suite == E2E_PAYLOAD_SUITE_AES_256_GCM;
        return 1 + varint_len(l.data_len) + (stream != E2E_STREAM_STDIN ? 2 : 0) + 1 + varint_len(l.ep_len) +
               1 + varint_len(l.ct_len) + (suite1 ? 0 : E2E_NONCE_LEN);
}

static bool gcm_aad(EVP_CIPHER_CTX *ctx, const uint8_t *p, size_t n) {
        int outl = 0;

        return n == 0 || (n <= INT32_MAX && EVP_CipherUpdate(ctx, NULL, &outl, p, (int) n) == 1);
}

/* Feeds the payload AAD to ctx in pieces (no allocation): LP(domain) ||
 * LP(stream) || aad_mid || LP(nonce) || U32(plaintext_length). */
static bool feed_payload_aad(const e2e_session *s, EVP_CIPHER_CTX *ctx, e2e_stream stream,
                             const uint8_t *nonce, size_t nonce_len, uint32_t plaintext_length) {
        const char *name = e2e_stream_name(stream);
        uint8_t head[4 + sizeof(E2E_PAYLOAD_AAD_DOMAIN) - 1 + 4 + 6];
        uint8_t tail[4 + E2E_NONCE_LEN + 4];
        size_t dlen = strlen(E2E_PAYLOAD_AAD_DOMAIN), nlen = strlen(name), h = 0, t = 0;

        put_be32(head, (uint32_t) dlen);
        memcpy(head + 4, E2E_PAYLOAD_AAD_DOMAIN, dlen);
        put_be32(head + 4 + dlen, (uint32_t) nlen);
        memcpy(head + 8 + dlen, name, nlen);
        h = 8 + dlen + nlen;
        put_be32(tail, (uint32_t) nonce_len);
        if (nonce_len)
                memcpy(tail + 4, nonce, nonce_len);
        put_be32(tail + 4 + nonce_len, plaintext_length);
        t = 8 + nonce_len;
        return gcm_aad(ctx, head, h) && gcm_aad(ctx, s->aad_mid, s->aad_mid_len) && gcm_aad(ctx, tail, t);
}

int e2e_seal_data(e2e_session *s, e2e_stream stream, const uint8_t *pt, size_t len, uint8_t *out,
                  size_t out_size, size_t *ret_len) {
        bool suite1;
        uint8_t nonce[E2E_NONCE_LEN], *p, *ct;
        seal_layout l;
        int outl = 0, r = -EIO;

        if (!s || !out || (len && !pt) || !seal_layout_for(s, stream, len, &l))
                return -EINVAL;
        if (len > INT32_MAX)
                return -E2BIG;
        if (out_size < l.total)
                return -ENOBUFS;
        suite1 = s->payload_suite == E2E_PAYLOAD_SUITE_AES_256_GCM;
        r = get_random(s->has_rng ? &s->rng : NULL, E2E_RAND_PAYLOAD_NONCE, nonce, sizeof(nonce));
        if (r < 0)
                return r;

        p = out;
        *p++ = 0x2a; /* Message.data */
        p = put_varint(p, l.data_len);
        if (stream != E2E_STREAM_STDIN) {
                *p++ = 0x08; /* Data.type */
                *p++ = (uint8_t) stream;
        }
        *p++ = 0x22; /* Data.encrypted_data */
        p = put_varint(p, l.ep_len);
        *p++ = 0x0a; /* EncryptedPayload.ciphertext */
        p = put_varint(p, l.ct_len);
        if (!suite1) {
                memcpy(p, nonce, E2E_NONCE_LEN);
                p += E2E_NONCE_LEN;
        }
        ct = p;
        p += len + E2E_TAG_LEN;

        r = -EIO;
        if (EVP_CipherInit_ex(s->enc, NULL, NULL, NULL, nonce, 1) != 1)
                goto out;
        if (!feed_payload_aad(s, s->enc, stream, nonce, suite1 ? E2E_NONCE_LEN : 0, (uint32_t) len))
                goto out;
        if (len && (EVP_CipherUpdate(s->enc, ct, &outl, pt, (int) len) != 1 || (size_t) outl != len))
                goto out;
        if (EVP_CipherFinal_ex(s->enc, ct + len, &outl) != 1 || outl != 0)
                goto out;
        if (EVP_CIPHER_CTX_ctrl(s->enc, EVP_CTRL_AEAD_GET_TAG, E2E_TAG_LEN, ct + len) != 1)
                goto out;

        if (len) {
                *p++ = 0x10; /* EncryptedPayload.plaintext_length */
                p = put_varint(p, len);
        }
        *p++ = 0x22; /* EncryptedPayload.payload_crypto */
        p = put_varint(p, l.pc_len);
        *p++ = 0x08; /* PayloadCrypto.payload_suite */
        p = put_varint(p, s->payload_suite);
        *p++ = 0x12; /* PayloadCrypto.payload_key_id */
        *p++ = E2E_PAYLOAD_KEY_ID_LEN;
        memcpy(p, s->key_id, E2E_PAYLOAD_KEY_ID_LEN);
        p += E2E_PAYLOAD_KEY_ID_LEN;
        if (suite1) {
                *p++ = 0x1a; /* PayloadCrypto.nonce */
                *p++ = E2E_NONCE_LEN;
                memcpy(p, nonce, E2E_NONCE_LEN);
                p += E2E_NONCE_LEN;
        }
        if (s->kc_len) {
                *p++ = 0x22; /* PayloadCrypto.aad_context */
                p = put_varint(p, s->kc_len);
                memcpy(p, s->key_context, s->kc_len);
                p += s->kc_len;
        }
        if ((size_t) (p - out) != l.total)
                goto out;
        *ret_len = l.total;
        r = 0;
out:
        if (r < 0)
                sodium_memzero(out, l.total); /* no partial ciphertext left behind */
        ERR_clear_error();
        return r;
}

int e2e_seal_data_alloc(e2e_session *s, e2e_stream stream, const uint8_t *pt, size_t len, uint8_t **ret,
                        size_t *ret_len) {
        size_t n = e2e_seal_data_size(s, stream, len);
        uint8_t *buf;
        int r;

        if (n == 0)
                return -EINVAL;
        buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        r = e2e_seal_data(s, stream, pt, len, buf, n, ret_len);
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

size_t e2e_open_data_max(const e2e_session *s, const Webtty__Data *d) {
        size_t overhead, n;

        if (!s || !d || d->payload_case != WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA || !d->encrypted_data)
                return 0;
        overhead = E2E_TAG_LEN + (s->payload_suite == E2E_PAYLOAD_SUITE_AES_256_GCM ? 0 : E2E_NONCE_LEN);
        n = d->encrypted_data->ciphertext.len;
        return n > overhead ? n - overhead : 0;
}

int e2e_open_data(e2e_session *s, e2e_stream stream, const Webtty__Data *d, uint8_t *out, size_t out_size,
                  size_t *ret_len, char **ret_error) {
        const Webtty__EncryptedPayload *ep;
        const Webtty__PayloadCrypto *pc;
        const char *name = e2e_stream_name(stream);
        const uint8_t *nonce, *ct;
        uint8_t tag[E2E_TAG_LEN];
        size_t want_nonce, ct_len, pt_len;
        bool suite1;
        int outl = 0, r;

        if (!s || !d || !name || !ret_len)
                return -EINVAL;
        if (d->payload_case != WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA || !d->encrypted_data)
                return errmsg_set(ret_error, -EBADMSG, "missing E2E encrypted payload");
        ep = d->encrypted_data;
        pc = ep->payload_crypto;
        if (!pc)
                return errmsg_set(ret_error, -EBADMSG, "missing E2E payload crypto metadata");
        if ((uint32_t) pc->payload_suite != s->payload_suite)
                return errmsg_set(ret_error, -EBADMSG, "unexpected E2E payload suite %d",
                                  (int) pc->payload_suite);
        if (pc->payload_key_id.len != E2E_PAYLOAD_KEY_ID_LEN ||
            memcmp(pc->payload_key_id.data, s->key_id, E2E_PAYLOAD_KEY_ID_LEN) != 0)
                return errmsg_set(ret_error, -EBADMSG, "unexpected E2E payload key id");
        if (pc->aad_context.len != s->kc_len ||
            (s->kc_len && memcmp(pc->aad_context.data, s->key_context, s->kc_len) != 0))
                return errmsg_set(ret_error, -EBADMSG, "unexpected E2E key context");
        suite1 = s->payload_suite == E2E_PAYLOAD_SUITE_AES_256_GCM;
        want_nonce = suite1 ? E2E_NONCE_LEN : 0;
        if (pc->nonce.len != want_nonce)
                return errmsg_set(ret_error, -EBADMSG, "E2E AES-GCM nonce must be %zu bytes", want_nonce);

        ct = ep->ciphertext.data;
        ct_len = ep->ciphertext.len;
        if (suite1)
                nonce = pc->nonce.data;
        else {
                if (ct_len < E2E_NONCE_LEN + E2E_TAG_LEN)
                        return errmsg_set(ret_error, -EBADMSG, "decrypt E2E %s payload: " AUTH_FAILED, name);
                nonce = ct;
                ct += E2E_NONCE_LEN;
                ct_len -= E2E_NONCE_LEN;
        }
        if (ct_len < E2E_TAG_LEN)
                return errmsg_set(ret_error, -EBADMSG, "decrypt E2E %s payload: " AUTH_FAILED, name);
        pt_len = ct_len - E2E_TAG_LEN;
        if (pt_len > INT32_MAX)
                return -E2BIG;
        if (out_size < pt_len || (pt_len && !out))
                return -ENOBUFS;
        memcpy(tag, ct + pt_len, E2E_TAG_LEN);

        r = -EIO;
        if (EVP_CipherInit_ex(s->dec, NULL, NULL, NULL, nonce, 0) != 1)
                goto out;
        if (!feed_payload_aad(s, s->dec, stream, suite1 ? nonce : NULL, want_nonce, ep->plaintext_length))
                goto out;
        if (pt_len &&
            (EVP_CipherUpdate(s->dec, out, &outl, ct, (int) pt_len) != 1 || (size_t) outl != pt_len))
                goto out;
        if (EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_AEAD_SET_TAG, E2E_TAG_LEN, tag) != 1)
                goto out;
        if (EVP_CipherFinal_ex(s->dec, tag, &outl) != 1) {
                r = errmsg_set(ret_error, -EBADMSG, "decrypt E2E %s payload: " AUTH_FAILED, name);
                goto out;
        }
        if (pt_len != ep->plaintext_length) {
                r = errmsg_set(ret_error, -EBADMSG, "E2E %s payload length mismatch: got %zu want %" PRIu32,
                               name, pt_len, ep->plaintext_length);
                goto out;
        }
        *ret_len = pt_len;
        r = 0;
out:
        if (r < 0 && pt_len && out)
                sodium_memzero(out, pt_len); /* unauthenticated bytes never leave */
        ERR_clear_error();
        return r;
}

int e2e_open_data_alloc(e2e_session *s, e2e_stream stream, const Webtty__Data *d, uint8_t **ret,
                        size_t *ret_len, char **ret_error) {
        size_t n = e2e_open_data_max(s, d);
        uint8_t *buf;
        int r;

        buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        r = e2e_open_data(s, stream, d, buf, n, ret_len, ret_error);
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}
