/* Endpoint identities and public text forms (see identity.h). */
#include "identity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "b64u.h"
#include "errmsg.h"
#include "jsondoc.h"
#include "safefile.h"
#include "trimspace.h"

#define IDENTITY_VERSION 1
#define IDENTITY_DECODE_PREFIX "decode WebTTY endpoint identity"
#define IDENTITY_FILE_LABEL "E2E identity file"
#define SPKI_CAUSE                                                                                          \
        "parse WebTTY signing public key: not a P-256 SubjectPublicKeyInfo with an uncompressed point"

DEFINE_TRIVIAL_CLEANUP_FUNC(enckey, enckey_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(sigkey, sigkey_free);

static void sodium_freep(void *p) {
        void *q = *(void **) p;

        if (q)
                sodium_free(q);
}
#define _cleanup_sodium_ _cleanup_(sodium_freep)

static int oom(char **ret_error) {
        return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
}

/* ---- key material ------------------------------------------------------- */

static bool b64u_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_';
}

int keymat_decode(const char *value, size_t want, const char *field, bool secret, uint8_t **ret,
                  size_t *ret_len, char **ret_error) {
        size_t off, len, sig = 0, last = 0, dlen;
        const char *v;
        char *text = NULL;
        uint8_t *buf = NULL;
        int r;

        trim_space(value ? value : "", value ? strlen(value) : 0, &off, &len);
        v = (value ? value : "") + off;
        if (len == 0)
                return errmsg_set(ret_error, -EINVAL, "%s is empty", field);
        /* Go's decoder skips CR and LF; anything else outside the alphabet
         * is an illegal byte. */
        for (size_t i = 0; i < len; i++) {
                if (v[i] == '\r' || v[i] == '\n')
                        continue;
                if (!b64u_char(v[i]))
                        return errmsg_set(ret_error, -EINVAL,
                                          "decode %s: illegal base64 data at input byte %zu", field, i);
                sig++;
                last = i;
        }
        if (sig % 4 == 1)
                return errmsg_set(ret_error, -EINVAL, "decode %s: illegal base64 data at input byte %zu",
                                  field, last);
        dlen = sig / 4 * 3 + (sig % 4 == 2 ? 1 : sig % 4 == 3 ? 2 : 0);
        if (want > 0 && dlen != want)
                return errmsg_set(ret_error, -EBADMSG, "%s must decode to %zu bytes", field, want);

        /* sodium_malloc() needs sodium_init() (idempotent): a program or PAM
         * module may load an identity before anything else touched libsodium. */
        if (secret && sodium_init() < 0)
                return errmsg_set(ret_error, -EIO, "decode %s: libsodium could not be initialized", field);
        text = secret ? sodium_malloc(len + 1) : malloc(len + 1);
        buf = secret ? sodium_malloc(dlen ? dlen : 1) : malloc(dlen ? dlen : 1);
        if (!text || !buf) {
                r = oom(ret_error);
                goto out;
        }
        memcpy(text, v, len);
        text[len] = 0;
        r = b64u_decode_exact(text, buf, dlen);
        if (r < 0) {
                r = errmsg_set(ret_error, -EINVAL, "%s must be canonical base64url without padding", field);
                goto out;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = dlen;
        r = 0;
out:
        if (secret) {
                if (text)
                        sodium_free(text);
                if (buf)
                        sodium_free(buf);
        } else {
                free(text);
                free(buf);
        }
        return r;
}

int keymat_decode_exact(const char *value, uint8_t *out, size_t want, const char *field, char **ret_error) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = keymat_decode(value, want, field, false, &buf, &len, ret_error);
        if (r < 0)
                return r;
        memcpy(out, buf, want);
        return 0;
}

/* ---- public text forms -------------------------------------------------- */

static char *trimmed(const char *s) {
        size_t off, len;

        trim_space(s, strlen(s), &off, &len);
        return strndup(s + off, len);
}

static size_t count_char(const char *s, char c) {
        size_t n = 0;

        for (; *s; s++)
                n += *s == c;
        return n;
}

/* Splits s on ':' into at most max parts (malloc'd copies); returns the
 * number of parts, or -ENOMEM. parts beyond max are counted, not copied. */
static int split_colon(const char *s, char **parts, size_t max) {
        size_t n = 0;
        const char *p = s;

        for (;;) {
                const char *c = strchr(p, ':');
                size_t l = c ? (size_t) (c - p) : strlen(p);

                if (n < max) {
                        parts[n] = strndup(p, l);
                        if (!parts[n]) {
                                for (size_t i = 0; i < n; i++)
                                        free(parts[i]);
                                return -ENOMEM;
                        }
                }
                n++;
                if (!c)
                        break;
                p = c + 1;
        }
        return (int) MIN(n, (size_t) INT32_MAX);
}

static void free_parts(char **parts, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(parts[i]);
}

/* Go E2ERecipientFromPublicKey: the suite from the length. */
int endpoint_public_from_encryption_key(const uint8_t *pub, size_t len, endpoint_public *ret,
                                        char **ret_error) {
        _cleanup_(enckey_freep) enckey *k = NULL;
        int r;

        if (len != 32 && len != 65)
                return errmsg_set(ret_error, -EINVAL, "unsupported E2E public key length %zu", len);
        r = enckey_from_public(pub, len, &k);
        if (r == -ENOMEM)
                return oom(ret_error);
        if (r < 0)
                return errmsg_set(ret_error, -EINVAL, "invalid E2E P-256 public key");
        ret->suite = k->suite;
        memcpy(ret->enc_pub, pub, len);
        ret->enc_pub_len = len;
        enckey_id(pub, len, ret->enc_id);
        return 0;
}

/* Go ParseKnownServerKey: "public_key" or "key_id:public_key". */
static int parse_known_server_key(const char *text, endpoint_public *ret, char **ret_error) {
        _cleanup_free_ char *v = trimmed(text);
        _cleanup_free_ uint8_t *pub = NULL;
        char *parts[2] = {};
        uint8_t id[ENCKEY_ID_LEN], want[ENCKEY_ID_LEN];
        size_t pub_len;
        int n, r;

        if (!v)
                return oom(ret_error);
        if (!*v)
                return errmsg_set(ret_error, -EINVAL, "known WebTTY server key is empty");
        n = split_colon(v, parts, 2);
        if (n < 0)
                return oom(ret_error);
        if (n > 2) {
                free_parts(parts, 2);
                return errmsg_set(ret_error, -EINVAL,
                                  "known WebTTY server key must be public_key or key_id:public_key");
        }
        if (n == 1) {
                r = keymat_decode(parts[0], 0, "known WebTTY server public key", false, &pub, &pub_len,
                                  ret_error);
                if (r >= 0)
                        r = endpoint_public_from_encryption_key(pub, pub_len, ret, ret_error);
                free_parts(parts, 1);
                return r;
        }
        r = keymat_decode_exact(parts[0], id, ENCKEY_ID_LEN, "known WebTTY server key id", ret_error);
        if (r >= 0)
                r = keymat_decode(parts[1], 0, "known WebTTY server public key", false, &pub, &pub_len,
                                  ret_error);
        free_parts(parts, 2);
        if (r < 0)
                return r;
        enckey_id(pub, pub_len, want);
        if (memcmp(id, want, ENCKEY_ID_LEN) != 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "known WebTTY server key id does not match public key");
        return endpoint_public_from_encryption_key(pub, pub_len, ret, ret_error);
}

/* Parses SPKI DER bytes as a P-256 key and requires them to be the
 * canonical 91-byte encoding. 0, -ENOMEM or -EINVAL. */
static int spki_check(const uint8_t *der, size_t len, uint8_t out[SIGKEY_SPKI_LEN]) {
        _cleanup_(sigkey_freep) sigkey *k = NULL;
        uint8_t canon[SIGKEY_SPKI_LEN];
        int r;

        r = sigkey_from_spki(der, len, &k);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -EINVAL;
        r = sigkey_spki(k, canon);
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        if (len != SIGKEY_SPKI_LEN || memcmp(der, canon, SIGKEY_SPKI_LEN) != 0)
                return -EINVAL;
        memcpy(out, canon, SIGKEY_SPKI_LEN);
        return 0;
}

int endpoint_public_set_signing(endpoint_public *p, const char *id_text, const char *spki_text,
                                const char *what, char **ret_error) {
        _cleanup_free_ char *f_id = NULL, *f_pub = NULL;
        _cleanup_free_ uint8_t *spki = NULL;
        uint8_t id[SIGKEY_ID_LEN], want[SIGKEY_ID_LEN], canon[SIGKEY_SPKI_LEN];
        size_t spki_len;
        int r;

        if (asprintf(&f_id, "%s signing key id", what) < 0 ||
            asprintf(&f_pub, "%s signing public key", what) < 0)
                return oom(ret_error);
        r = keymat_decode_exact(id_text, id, SIGKEY_ID_LEN, f_id, ret_error);
        if (r < 0)
                return r;
        r = keymat_decode(spki_text, 0, f_pub, false, &spki, &spki_len, ret_error);
        if (r < 0)
                return r;
        r = spki_check(spki, spki_len, canon);
        if (r == -ENOMEM)
                return oom(ret_error);
        if (r < 0)
                return errmsg_set(ret_error, -EINVAL, "%s is invalid: %s", f_pub, SPKI_CAUSE);
        sigkey_id_from_spki(canon, SIGKEY_SPKI_LEN, want);
        if (memcmp(want, id, SIGKEY_ID_LEN) != 0)
                return errmsg_set(ret_error, -EINVAL, "%s signing key id does not match public key", what);
        memcpy(p->sig_id, id, SIGKEY_ID_LEN);
        memcpy(p->sig_spki, canon, SIGKEY_SPKI_LEN);
        p->has_signing = true;
        return 0;
}

int endpoint_public_parse_identity(const char *text, endpoint_public *ret, char **ret_error) {
        _cleanup_free_ char *v = trimmed(text), *enc = NULL;
        char *parts[4] = {};
        endpoint_public p = {};
        int n, r;

        if (!v)
                return oom(ret_error);
        if (!*v)
                return errmsg_set(ret_error, -EINVAL, "known WebTTY server endpoint identity is empty");
        n = split_colon(v, parts, 4);
        if (n < 0)
                return oom(ret_error);
        if (n != 4) {
                free_parts(parts, (size_t) MIN(n, 4));
                return errmsg_set(
                        ret_error, -EINVAL,
                        "known WebTTY server endpoint identity must be "
                        "encryption_key_id:encryption_public_key:signing_key_id:signing_public_key");
        }
        if (asprintf(&enc, "%s:%s", parts[0], parts[1]) < 0) {
                enc = NULL;
                free_parts(parts, 4);
                return oom(ret_error);
        }
        r = parse_known_server_key(enc, &p, ret_error);
        if (r >= 0)
                r = endpoint_public_set_signing(&p, parts[2], parts[3], "known WebTTY server", ret_error);
        free_parts(parts, 4);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int endpoint_public_parse(const char *text, endpoint_public *ret, char **ret_error) {
        _cleanup_free_ char *v = trimmed(text);
        endpoint_public p = {};
        int r;

        if (!v)
                return oom(ret_error);
        if (count_char(v, ':') == 3)
                return endpoint_public_parse_identity(v, ret, ret_error);
        r = parse_known_server_key(v, &p, ret_error);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int endpoint_public_format(const endpoint_public *p, char **ret) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        if (!p->has_signing)
                return -EINVAL;
        if (b64u_encode(p->enc_id, ENCKEY_ID_LEN, &a) < 0 ||
            b64u_encode(p->enc_pub, p->enc_pub_len, &b) < 0 ||
            b64u_encode(p->sig_id, SIGKEY_ID_LEN, &c) < 0 ||
            b64u_encode(p->sig_spki, SIGKEY_SPKI_LEN, &d) < 0)
                return -ENOMEM;
        if (asprintf(ret, "%s:%s:%s:%s", a, b, c, d) < 0)
                return -ENOMEM;
        return 0;
}

int authorized_client_key_parse(const char *text, uint8_t id[SIGKEY_ID_LEN], uint8_t spki[SIGKEY_SPKI_LEN],
                                char **ret_error) {
        _cleanup_free_ char *v = trimmed(text), *id_text = NULL, *pub_text = NULL;
        _cleanup_free_ uint8_t *pub = NULL;
        char *parts[2] = {};
        uint8_t derived[SIGKEY_ID_LEN], given[SIGKEY_ID_LEN], canon[SIGKEY_SPKI_LEN];
        size_t pub_len;
        int n, r;

        if (!v)
                return oom(ret_error);
        if (!*v)
                return errmsg_set(ret_error, -EINVAL, "authorized WebTTY client signing key is empty");
        if (count_char(v, ':') == 3) {
                endpoint_public p;

                r = endpoint_public_parse_identity(v, &p, ret_error);
                if (r < 0)
                        return r;
                memcpy(id, p.sig_id, SIGKEY_ID_LEN);
                memcpy(spki, p.sig_spki, SIGKEY_SPKI_LEN);
                return 0;
        }
        n = split_colon(v, parts, 2);
        if (n < 0)
                return oom(ret_error);
        if (n == 1)
                pub_text = trimmed(parts[0]);
        else if (n == 2) {
                id_text = trimmed(parts[0]);
                pub_text = trimmed(parts[1]);
        }
        free_parts(parts, (size_t) MIN(n, 2));
        if (n > 2)
                return errmsg_set(ret_error, -EINVAL,
                                  "authorized WebTTY client signing key must be signing_public_key, "
                                  "signing_key_id:signing_public_key, or a WebTTY endpoint identity");
        if (!pub_text || (n == 2 && !id_text))
                return oom(ret_error);
        r = keymat_decode(pub_text, 0, "authorized WebTTY client signing public key", false, &pub, &pub_len,
                          ret_error);
        if (r < 0)
                return r;
        r = spki_check(pub, pub_len, canon);
        if (r == -ENOMEM)
                return oom(ret_error);
        if (r < 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "authorized WebTTY client signing public key is invalid: %s", SPKI_CAUSE);
        sigkey_id_from_spki(canon, SIGKEY_SPKI_LEN, derived);
        if (id_text && *id_text) {
                r = keymat_decode_exact(id_text, given, SIGKEY_ID_LEN,
                                        "authorized WebTTY client signing key id", ret_error);
                if (r < 0)
                        return r;
                if (memcmp(given, derived, SIGKEY_ID_LEN) != 0)
                        return errmsg_set(
                                ret_error, -EINVAL,
                                "authorized WebTTY client signing key id does not match public key");
        }
        memcpy(id, derived, SIGKEY_ID_LEN);
        memcpy(spki, canon, SIGKEY_SPKI_LEN);
        return 0;
}

int authorized_client_key_format(const uint8_t id[SIGKEY_ID_LEN], const uint8_t spki[SIGKEY_SPKI_LEN],
                                 char **ret) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        if (b64u_encode(id, SIGKEY_ID_LEN, &a) < 0 || b64u_encode(spki, SIGKEY_SPKI_LEN, &b) < 0)
                return -ENOMEM;
        if (asprintf(ret, "%s:%s", a, b) < 0)
                return -ENOMEM;
        return 0;
}

int key_fingerprint(const uint8_t *key, size_t len, char **ret) {
        uint8_t digest[crypto_hash_sha256_BYTES];
        _cleanup_free_ char *b = NULL;

        crypto_hash_sha256(digest, key, len);
        if (b64u_encode(digest, sizeof(digest), &b) < 0)
                return -ENOMEM;
        if (asprintf(ret, "sha256:%s", b) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- identity ----------------------------------------------------------- */

endpoint_identity *endpoint_identity_free(endpoint_identity *id) {
        if (!id)
                return NULL;
        enckey_free(id->enc);
        sigkey_free(id->sig);
        free(id);
        return NULL;
}

const char *endpoint_identity_crypto_suite(enckey_suite suite) {
        switch (suite) {
        case ENCKEY_SUITE_X25519:
                return IDENTITY_SUITE_X25519;
        case ENCKEY_SUITE_P256:
                return IDENTITY_SUITE_P256;
        }
        return NULL;
}

/* Fills id->pub from the two private keys. */
static int derive_public(endpoint_identity *id) {
        int r;

        id->pub.suite = id->enc->suite;
        memcpy(id->pub.enc_id, id->enc->id, ENCKEY_ID_LEN);
        memcpy(id->pub.enc_pub, id->enc->pub, id->enc->pub_len);
        id->pub.enc_pub_len = id->enc->pub_len;
        r = sigkey_spki(id->sig, id->pub.sig_spki);
        if (r < 0)
                return r;
        sigkey_id_from_spki(id->pub.sig_spki, SIGKEY_SPKI_LEN, id->pub.sig_id);
        id->pub.has_signing = true;
        return 0;
}

int endpoint_identity_generate(enckey_suite suite, endpoint_identity **ret) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        int r;

        if (!endpoint_identity_crypto_suite(suite))
                return -EINVAL;
        id = calloc(1, sizeof(*id));
        if (!id)
                return -ENOMEM;
        r = enckey_generate(suite, &id->enc);
        if (r < 0)
                return r;
        r = sigkey_generate(&id->sig);
        if (r < 0)
                return r;
        r = derive_public(id);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(id);
        return 0;
}

static const jsondoc_field identity_fields[] = {
        {"version", JSONDOC_INT, "int"},
        {"crypto_suite", JSONDOC_STRING, "string"},
        {"encryption_key_id", JSONDOC_STRING, "string"},
        {"encryption_public_key", JSONDOC_STRING, "string"},
        {"encryption_private_key", JSONDOC_STRING, "string"},
        {"signing_key_id", JSONDOC_STRING, "string"},
        {"signing_public_key", JSONDOC_STRING, "string"},
        {"signing_private_key", JSONDOC_STRING, "string"},
        {"created_at", JSONDOC_TIME, "time.Time"},
};

/* The version and crypto suite of a checked document. */
static int identity_doc_suite(json_object *doc, enckey_suite *ret, char **ret_error) {
        _cleanup_free_ char *suite_trimmed = NULL;
        const char *suite_text;
        int64_t version;

        version = jsondoc_get_int(doc, "version");
        if (version != IDENTITY_VERSION)
                return errmsg_set(ret_error, -EINVAL, "unsupported WebTTY endpoint identity version %lld",
                                  (long long) version);
        suite_text = jsondoc_get_string(doc, "crypto_suite");
        suite_trimmed = trimmed(suite_text);
        if (!suite_trimmed)
                return oom(ret_error);
        if (strcmp(suite_trimmed, IDENTITY_SUITE_X25519) == 0)
                *ret = ENCKEY_SUITE_X25519;
        else if (strcmp(suite_trimmed, IDENTITY_SUITE_P256) == 0)
                *ret = ENCKEY_SUITE_P256;
        else {
                _cleanup_free_ char *q = jsondoc_quote(suite_text);

                return errmsg_set(ret_error, -EINVAL, "unsupported WebTTY endpoint identity crypto suite %s",
                                  q ? q : "\"\"");
        }
        return 0;
}

/* The document's encryption key id and public key (length by suite). */
static int decode_encryption_public(json_object *doc, enckey_suite suite, uint8_t enc_id[ENCKEY_ID_LEN],
                                    uint8_t **ret_pub, size_t *ret_pub_len, char **ret_error) {
        int r;

        r = keymat_decode_exact(jsondoc_get_string(doc, "encryption_key_id"), enc_id, ENCKEY_ID_LEN,
                                "WebTTY endpoint encryption key id", ret_error);
        if (r < 0)
                return r;
        return keymat_decode(jsondoc_get_string(doc, "encryption_public_key"),
                             suite == ENCKEY_SUITE_X25519 ? 32 : 65, "WebTTY endpoint encryption public key",
                             false, ret_pub, ret_pub_len, ret_error);
}

/* Decodes the checked document doc (see identity.h for the order). */
static int identity_from_doc(json_object *doc, endpoint_identity **ret, char **ret_error) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        _cleanup_sodium_ uint8_t *enc_priv = NULL, *sig_priv = NULL;
        _cleanup_free_ uint8_t *enc_pub = NULL, *sig_pub = NULL;
        uint8_t enc_id[ENCKEY_ID_LEN], sig_id[SIGKEY_ID_LEN];
        size_t len, enc_pub_len, sig_pub_len;
        enckey_suite suite;
        int r;

        r = identity_doc_suite(doc, &suite, ret_error);
        if (r < 0)
                return r;
        id = calloc(1, sizeof(*id));
        if (!id)
                return oom(ret_error);

        r = keymat_decode(jsondoc_get_string(doc, "encryption_private_key"), ENCKEY_PRIV_LEN,
                          "WebTTY endpoint encryption private key", true, &enc_priv, &len, ret_error);
        if (r < 0)
                return r;
        r = enckey_from_private(suite, enc_priv, len, &id->enc);
        if (r == -ENOMEM)
                return oom(ret_error);
        if (r < 0)
                return errmsg_set(ret_error, -EINVAL, "parse E2E identity private key: invalid private key");
        r = decode_encryption_public(doc, suite, enc_id, &enc_pub, &enc_pub_len, ret_error);
        if (r < 0)
                return r;
        if (memcmp(enc_id, id->enc->id, ENCKEY_ID_LEN) != 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "WebTTY endpoint encryption key id does not match private key");
        if (enc_pub_len != id->enc->pub_len || memcmp(enc_pub, id->enc->pub, enc_pub_len) != 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "WebTTY endpoint encryption public key does not match private key");

        r = keymat_decode(jsondoc_get_string(doc, "signing_private_key"), 0,
                          "WebTTY endpoint signing private key", true, &sig_priv, &len, ret_error);
        if (r < 0)
                return r;
        r = sigkey_from_pkcs8(sig_priv, len, &id->sig);
        if (r == -ENOMEM)
                return oom(ret_error);
        if (r < 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "parse WebTTY signing private key: not a P-256 PKCS#8 private key");
        r = derive_public(id);
        if (r < 0)
                return errmsg_set(ret_error, r, "derive WebTTY signing public key: %s", strerror(-r));
        r = keymat_decode_exact(jsondoc_get_string(doc, "signing_key_id"), sig_id, SIGKEY_ID_LEN,
                                "WebTTY endpoint signing key id", ret_error);
        if (r < 0)
                return r;
        r = keymat_decode(jsondoc_get_string(doc, "signing_public_key"), 0,
                          "WebTTY endpoint signing public key", false, &sig_pub, &sig_pub_len, ret_error);
        if (r < 0)
                return r;
        if (memcmp(sig_id, id->pub.sig_id, SIGKEY_ID_LEN) != 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "WebTTY endpoint signing key id does not match private key");
        if (sig_pub_len != SIGKEY_SPKI_LEN || memcmp(sig_pub, id->pub.sig_spki, SIGKEY_SPKI_LEN) != 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "WebTTY endpoint signing public key does not match private key");
        *ret = TAKE_PTR(id);
        return 0;
}

/* The public half of a checked document: the encryption key id must be the
 * public key's, and the signing key id the signing public key's; the
 * private fields are never decoded. */
static int public_from_doc(json_object *doc, endpoint_public *ret, char **ret_error) {
        _cleanup_free_ uint8_t *enc_pub = NULL;
        uint8_t enc_id[ENCKEY_ID_LEN];
        endpoint_public p = {};
        size_t enc_pub_len;
        enckey_suite suite;
        int r;

        r = identity_doc_suite(doc, &suite, ret_error);
        if (r < 0)
                return r;
        r = decode_encryption_public(doc, suite, enc_id, &enc_pub, &enc_pub_len, ret_error);
        if (r < 0)
                return r;
        r = endpoint_public_from_encryption_key(enc_pub, enc_pub_len, &p, ret_error);
        if (r < 0)
                return r;
        if (memcmp(enc_id, p.enc_id, ENCKEY_ID_LEN) != 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "WebTTY endpoint encryption key id does not match public key");
        r = endpoint_public_set_signing(&p, jsondoc_get_string(doc, "signing_key_id"),
                                        jsondoc_get_string(doc, "signing_public_key"), "WebTTY endpoint",
                                        ret_error);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

/* Parses and checks the document's shape, then decodes it with from_doc
 * (identity_from_doc or public_from_doc). The parsed tree is wiped. */
static int identity_parse_with(const void *data, size_t len, int (*from_doc)(json_object *, void *, char **),
                               void *ret, char **ret_error) {
        _cleanup_(json_object_putp) json_object *doc = NULL;
        int r;

        r = jsondoc_parse(data, len, IDENTITY_DECODE_PREFIX, &doc, ret_error);
        if (r < 0)
                return r;
        r = jsondoc_check_object(doc, "webtty.WebTTYEndpointIdentityFile", "WebTTYEndpointIdentityFile",
                                 identity_fields, ELEMENTSOF(identity_fields), IDENTITY_DECODE_PREFIX,
                                 ret_error);
        if (r >= 0)
                r = from_doc(doc, ret, ret_error);
        jsondoc_wipe(doc);
        return r;
}

static int identity_from_doc_cb(json_object *doc, void *ret, char **ret_error) {
        return identity_from_doc(doc, ret, ret_error);
}

static int public_from_doc_cb(json_object *doc, void *ret, char **ret_error) {
        return public_from_doc(doc, ret, ret_error);
}

int endpoint_identity_parse(const void *data, size_t len, endpoint_identity **ret, char **ret_error) {
        return identity_parse_with(data, len, identity_from_doc_cb, ret, ret_error);
}

int endpoint_public_parse_identity_document(const void *data, size_t len, endpoint_public *ret,
                                            char **ret_error) {
        return identity_parse_with(data, len, public_from_doc_cb, ret, ret_error);
}

int endpoint_identity_format(const endpoint_identity *id, time_t now, char **ret, size_t *ret_len) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_sodium_ uint8_t *pkcs8 = NULL;
        size_t pkcs8_len = 0;
        char created[64];
        struct tm tm;
        json_object *v;
        int r;

        if (!id->enc || !id->enc->priv || !id->sig || !endpoint_identity_crypto_suite(id->enc->suite))
                return -EINVAL;
        if (!gmtime_r(&now, &tm) || strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        r = sigkey_pkcs8(id->sig, &pkcs8, &pkcs8_len);
        if (r < 0)
                return r;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        v = json_object_new_int(IDENTITY_VERSION);
        if (!v || json_object_object_add(o, "version", v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        r = jsondoc_add_string(o, "crypto_suite", endpoint_identity_crypto_suite(id->enc->suite));
        if (r >= 0)
                r = jsondoc_add_b64(o, "encryption_key_id", id->pub.enc_id, ENCKEY_ID_LEN);
        if (r >= 0)
                r = jsondoc_add_b64(o, "encryption_public_key", id->pub.enc_pub, id->pub.enc_pub_len);
        if (r >= 0)
                r = jsondoc_add_b64(o, "encryption_private_key", id->enc->priv, ENCKEY_PRIV_LEN);
        if (r >= 0)
                r = jsondoc_add_b64(o, "signing_key_id", id->pub.sig_id, SIGKEY_ID_LEN);
        if (r >= 0)
                r = jsondoc_add_b64(o, "signing_public_key", id->pub.sig_spki, SIGKEY_SPKI_LEN);
        if (r >= 0)
                r = jsondoc_add_b64(o, "signing_private_key", pkcs8, pkcs8_len);
        if (r >= 0)
                r = jsondoc_add_string(o, "created_at", created);
        if (r >= 0)
                r = jsondoc_format(o, true, ret, ret_len);
        jsondoc_wipe(o);
        return r;
}

/* Reads path with the secret-file checks and decodes it with from_doc. */
static int identity_load_with(const char *path, int (*from_doc)(json_object *, void *, char **), void *ret,
                              char **ret_error) {
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        r = safefile_read(path, IDENTITY_FILE_LABEL, &data, &len, ret_error);
        if (r < 0)
                return r;
        r = identity_parse_with(data, len, from_doc, ret, ret_error);
        safefile_buffer_free(data, len);
        if (r < 0)
                return errmsg_prefix(ret_error, r, "load WebTTY endpoint identity %s", path);
        return 0;
}

int endpoint_identity_load(const char *path, endpoint_identity **ret, char **ret_error) {
        return identity_load_with(path, identity_from_doc_cb, ret, ret_error);
}

int endpoint_public_load_identity(const char *path, endpoint_public *ret, char **ret_error) {
        return identity_load_with(path, public_from_doc_cb, ret, ret_error);
}

int endpoint_identity_load_or_create(const char *path, enckey_suite suite, endpoint_identity **ret,
                                     bool *ret_created, char **ret_error) {
        _cleanup_(safefile_lock_releasep) safefile_lock *l = NULL;
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        _cleanup_sodium_ char *text = NULL;
        _cleanup_free_ char *first = NULL;
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        if (suite != 0 && !endpoint_identity_crypto_suite(suite))
                return errmsg_set(ret_error, -EINVAL,
                                  "unsupported WebTTY endpoint identity key envelope suite %d", (int) suite);
        /* An existing file is only read: no lock, no write access needed
         * (writers replace the file atomically). */
        r = endpoint_identity_load(path, &id, &first);
        if (r < 0 && r != -ENOENT) {
                if (ret_error) {
                        free(*ret_error);
                        *ret_error = TAKE_PTR(first);
                }
                return r;
        }
        if (r == -ENOENT) {
                /* Create under the lock, unless another process just did. */
                r = safefile_lock_acquire(path, &l, ret_error);
                if (r < 0)
                        return r;
                r = safefile_lock_read(l, IDENTITY_FILE_LABEL, &data, &len, ret_error);
                if (r >= 0) {
                        r = endpoint_identity_parse(data, len, &id, ret_error);
                        safefile_buffer_free(data, len);
                        if (r < 0)
                                return errmsg_prefix(ret_error, r, "load WebTTY endpoint identity %s", path);
                }
        }
        if (r >= 0) {
                if (suite != 0 && id->enc->suite != suite)
                        return errmsg_set(
                                ret_error, -EINVAL,
                                "WebTTY endpoint identity %s uses key envelope suite %d, requested %d", path,
                                (int) id->enc->suite, (int) suite);
                if (ret_created)
                        *ret_created = false;
                *ret = TAKE_PTR(id);
                return 0;
        }
        if (r != -ENOENT)
                return r;

        r = endpoint_identity_generate(suite ? suite : ENCKEY_SUITE_X25519, &id);
        if (r < 0)
                return errmsg_set(ret_error, r, "generate WebTTY endpoint identity: %s", strerror(-r));
        r = endpoint_identity_format(id, time(NULL), &text, &len);
        if (r < 0)
                return errmsg_set(ret_error, r, "encode WebTTY endpoint identity: %s", strerror(-r));
        r = safefile_lock_replace(l, IDENTITY_TMP_PREFIX, text, len, ret_error);
        if (r < 0)
                return r;
        if (ret_created)
                *ret_created = true;
        *ret = TAKE_PTR(id);
        return 0;
}

int endpoint_identity_parse_inline(const char *value, endpoint_identity **ret, char **ret_error) {
        int r;

        r = endpoint_identity_parse(value, strlen(value), ret, ret_error);
        if (r < 0)
                return errmsg_prefix(
                        ret_error, r,
                        "RSTREAM_WEBTTY_IDENTITY must contain a WebTTY endpoint identity JSON document");
        return 0;
}
