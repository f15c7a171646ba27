/* Authenticated handshake: transcripts, ServerHello, ClientProof (see auth.h). */
#include "auth.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "e2e.h"
#include "errmsg.h"
#include "macro.h"
#include "trimspace.h"
#include "wbuf.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sigkey, sigkey_free);

/* ---- Hashing ---- */

/* Frees a copy made by clone_known(): the structs and pointer arrays it
 * allocated, never the strings and bytes it shares with the original. */
static void free_clone(ProtobufCMessage *m) {
        const ProtobufCMessageDescriptor *d;
        uint8_t *base = (uint8_t *) m;

        if (!m)
                return;
        d = m->descriptor;
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];

                if (f->type != PROTOBUF_C_TYPE_MESSAGE)
                        continue;
                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(size_t *) (base + f->quantifier_offset);
                        ProtobufCMessage **v = *(ProtobufCMessage ***) (base + f->offset);

                        for (size_t k = 0; v && k < n; k++)
                                free_clone(v[k]);
                        free(v);
                        continue;
                }
                if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    *(uint32_t *) (base + f->quantifier_offset) != f->id)
                        continue;
                free_clone(*(ProtobufCMessage **) (base + f->offset));
        }
        free(m);
}

/* A shallow copy of m with no unknown fields, recursively for every
 * sub-message (so that protobuf-c packs only known fields). */
static ProtobufCMessage *clone_known(const ProtobufCMessage *m) {
        const ProtobufCMessageDescriptor *d = m->descriptor;
        ProtobufCMessage *c;
        uint8_t *base;

        c = malloc(d->sizeof_message);
        if (!c)
                return NULL;
        memcpy(c, m, d->sizeof_message);
        c->n_unknown_fields = 0;
        c->unknown_fields = NULL;
        base = (uint8_t *) c;

        /* First detach every sub-message pointer so that free_clone() on a
         * partial copy never frees the original's. */
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];

                if (f->type != PROTOBUF_C_TYPE_MESSAGE)
                        continue;
                if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    *(uint32_t *) (base + f->quantifier_offset) != f->id)
                        continue;
                *(void **) (base + f->offset) = NULL;
        }
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                const uint8_t *src = (const uint8_t *) m;

                if (f->type != PROTOBUF_C_TYPE_MESSAGE)
                        continue;
                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(const size_t *) (src + f->quantifier_offset);
                        ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *) (src + f->offset);
                        ProtobufCMessage **nv;

                        if (n == 0)
                                continue;
                        nv = calloc(n, sizeof(*nv));
                        if (!nv)
                                goto fail;
                        *(ProtobufCMessage ***) (base + f->offset) = nv;
                        for (size_t k = 0; k < n; k++) {
                                if (!v[k]) {
                                        /* protobuf-c never yields NULL elements */
                                        *(size_t *) (base + f->quantifier_offset) = k;
                                        goto fail;
                                }
                                nv[k] = clone_known(v[k]);
                                if (!nv[k])
                                        goto fail;
                        }
                        continue;
                }
                if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    *(const uint32_t *) (src + f->quantifier_offset) != f->id)
                        continue;
                if (*(ProtobufCMessage *const *) (src + f->offset)) {
                        ProtobufCMessage *sub = clone_known(*(ProtobufCMessage *const *) (src + f->offset));

                        if (!sub)
                                goto fail;
                        *(ProtobufCMessage **) (base + f->offset) = sub;
                }
        }
        return c;
fail:
        free_clone(c);
        return NULL;
}

int auth_canonical_pack(const ProtobufCMessage *m, uint8_t **ret, size_t *ret_len) {
        ProtobufCMessage *c;
        uint8_t *buf;
        size_t n;

        if (!m)
                return -EINVAL;
        c = clone_known(m);
        if (!c)
                return -ENOMEM;
        n = protobuf_c_message_get_packed_size(c);
        buf = malloc(n ? n : 1);
        if (!buf) {
                free_clone(c);
                return -ENOMEM;
        }
        if (protobuf_c_message_pack(c, buf) != n) {
                free_clone(c);
                free(buf);
                return -EIO;
        }
        free_clone(c);
        *ret = buf;
        *ret_len = n;
        return 0;
}

static int hash_message(const ProtobufCMessage *m, uint8_t out[AUTH_HASH_LEN]) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        int r;

        if (!m) {
                auth_sha256(NULL, 0, out);
                return 0;
        }
        r = auth_canonical_pack(m, &buf, &len);
        if (r < 0)
                return r;
        auth_sha256(buf, len, out);
        return 0;
}

int auth_hash_config(const Webtty__Config *config, uint8_t out[AUTH_HASH_LEN]) {
        return hash_message(config ? &config->base : NULL, out);
}

int auth_hash_grant(const Webtty__SessionKeyGrant *grant, uint8_t out[AUTH_HASH_LEN]) {
        return hash_message(grant ? &grant->base : NULL, out);
}

/* ---- Message building helpers (malloc'd like protobuf-c's allocator) ---- */

static int set_bytes(ProtobufCBinaryData *b, const uint8_t *p, size_t n) {
        if (n == 0) {
                b->data = NULL;
                b->len = 0;
                return 0;
        }
        b->data = malloc(n);
        if (!b->data)
                return -ENOMEM;
        memcpy(b->data, p, n);
        b->len = n;
        return 0;
}

/* The trimmed copy of s, or NULL (with 0) when it is blank. */
static int trimmed_dup(const char *s, char **ret) {
        size_t off, len;

        *ret = NULL;
        if (!s)
                return 0;
        trim_space(s, strlen(s), &off, &len);
        if (len == 0)
                return 0;
        *ret = strndup(s + off, len);
        return *ret ? 0 : -ENOMEM;
}

/* A StringValue with the trimmed s, or NULL when s is blank. */
static int string_value(const char *s, Webtty__StringValue **ret) {
        Webtty__StringValue *v;
        char *t = NULL;
        int r;

        *ret = NULL;
        r = trimmed_dup(s, &t);
        if (r < 0 || !t)
                return r;
        v = malloc(sizeof(*v));
        if (!v) {
                free(t);
                return -ENOMEM;
        }
        webtty__string_value__init(v);
        v->value = t;
        *ret = v;
        return 0;
}

static const char *string_value_text(const Webtty__StringValue *v) {
        return v && v->value ? v->value : "";
}

/* ---- ServerHello ---- */

void auth_server_hello_free(Webtty__ServerHello *hello) {
        if (hello)
                webtty__server_hello__free_unpacked(hello, NULL);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__ServerHello, auth_server_hello_free);

static int identity_valid(const auth_identity *id) {
        if (!id || !id->signing || !sigkey_has_private(id->signing) || !id->signing_key_id ||
            !id->signing_public_key || !id->encryption)
                return -EINVAL;
        return 0;
}

int auth_server_hello_build(const auth_identity *id, const auth_server_config *cfg,
                            uint8_t nonce_out[AUTH_NONCE_LEN], Webtty__ServerHello **ret) {
        _cleanup_(auth_server_hello_freep) Webtty__ServerHello *h = NULL;
        _cleanup_free_ char *ws = NULL, *proj = NULL, *srv = NULL;
        uint32_t envelope_suite = 0, payload_suite = 0,
                 signature_suite = AUTH_SIGNATURE_SUITE_ECDSA_P256_SHA256;
        uint8_t nonce[AUTH_NONCE_LEN], hash[AUTH_HASH_LEN];
        Webtty__EndpointIdentity *ei;
        Webtty__ServerProof *sp;
        auth_server_transcript t;
        int r;

        r = identity_valid(id);
        if (r < 0 || !cfg || !nonce_out)
                return -EINVAL;
        envelope_suite = (uint32_t) id->encryption->suite;
        r = e2e_payload_suite_for_envelope(envelope_suite, &payload_suite, NULL);
        if (r < 0)
                return r;
        if (sodium_init() < 0)
                return -EIO;
        randombytes_buf(nonce, sizeof(nonce));

        if (trimmed_dup(cfg->workspace_id, &ws) < 0 || trimmed_dup(cfg->project_id, &proj) < 0 ||
            trimmed_dup(cfg->server_id, &srv) < 0)
                return -ENOMEM;

        t = (auth_server_transcript){
                .protocol_version = AUTH_PROTOCOL_VERSION,
                .transport = cfg->transport,
                .workspace_id = ws,
                .project_id = proj,
                .server_id = srv,
                .session_id = cfg->session_id,
                .server_signing_key_id = {id->signing_key_id, SIGKEY_ID_LEN},
                .server_encryption_key_id = {id->encryption->id, ENCKEY_ID_LEN},
                .server_nonce = {nonce, sizeof(nonce)},
                .auth_requirement =
                        cfg->require_client_proof ? AUTH_REQUIREMENT_CLIENT_PROOF : AUTH_REQUIREMENT_NONE,
                .payload_suites = &payload_suite,
                .n_payload_suites = 1,
                .key_envelope_suites = &envelope_suite,
                .n_key_envelope_suites = 1,
                .signature_suites = &signature_suite,
                .n_signature_suites = 1,
        };
        r = auth_server_transcript_hash(&t, hash);
        if (r < 0)
                return r;

        h = malloc(sizeof(*h));
        if (!h)
                return -ENOMEM;
        webtty__server_hello__init(h);
        h->protocol_version = AUTH_PROTOCOL_VERSION;
        if (set_bytes(&h->session_nonce, nonce, sizeof(nonce)) < 0)
                return -ENOMEM;

        ei = h->server_identity = malloc(sizeof(*ei));
        if (!ei)
                return -ENOMEM;
        webtty__endpoint_identity__init(ei);
        ei->signature_suite = AUTH_SIGNATURE_SUITE_ECDSA_P256_SHA256;
        ei->key_envelope_suite = (Webtty__KeyEnvelopeSuite) envelope_suite;
        if (set_bytes(&ei->signing_key_id, id->signing_key_id, SIGKEY_ID_LEN) < 0 ||
            set_bytes(&ei->signing_public_key, id->signing_public_key, SIGKEY_SPKI_LEN) < 0 ||
            set_bytes(&ei->encryption_key_id, id->encryption->id, ENCKEY_ID_LEN) < 0 ||
            set_bytes(&ei->encryption_public_key, id->encryption->pub, id->encryption->pub_len) < 0)
                return -ENOMEM;

        h->payload_suites = malloc(sizeof(*h->payload_suites));
        h->key_envelope_suites = malloc(sizeof(*h->key_envelope_suites));
        h->signature_suites = malloc(sizeof(*h->signature_suites));
        if (!h->payload_suites || !h->key_envelope_suites || !h->signature_suites)
                return -ENOMEM;
        h->n_payload_suites = h->n_key_envelope_suites = h->n_signature_suites = 1;
        h->payload_suites[0] = (Webtty__PayloadCipherSuite) payload_suite;
        h->key_envelope_suites[0] = (Webtty__KeyEnvelopeSuite) envelope_suite;
        h->signature_suites[0] = WEBTTY__SIGNATURE_SUITE__SIGNATURE_SUITE_ECDSA_P256_SHA256;
        h->auth_requirement = (Webtty__AuthRequirement) t.auth_requirement;
        if (string_value(ws, &h->workspace_id) < 0 || string_value(proj, &h->project_id) < 0 ||
            string_value(srv, &h->server_id) < 0)
                return -ENOMEM;
        if (cfg->session_id && cfg->session_id[0]) {
                h->session_id = strdup(cfg->session_id);
                if (!h->session_id)
                        return -ENOMEM;
        }

        sp = h->server_proof = malloc(sizeof(*sp));
        if (!sp)
                return -ENOMEM;
        webtty__server_proof__init(sp);
        sp->signature_suite = AUTH_SIGNATURE_SUITE_ECDSA_P256_SHA256;
        if (set_bytes(&sp->signing_key_id, id->signing_key_id, SIGKEY_ID_LEN) < 0 ||
            set_bytes(&sp->transcript_hash, hash, sizeof(hash)) < 0)
                return -ENOMEM;
        r = sigkey_sign(id->signing, hash, &sp->signature.data, &sp->signature.len);
        if (r < 0)
                return r;

        memcpy(nonce_out, nonce, sizeof(nonce));
        *ret = TAKE_PTR(h);
        return 0;
}

/* ---- Client: ServerHello verification ---- */

static bool bytes_eq(const ProtobufCBinaryData *b, const uint8_t *p, size_t n) {
        return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

static int verify_signature(const ProtobufCBinaryData *spki, const uint8_t hash[AUTH_HASH_LEN],
                            const ProtobufCBinaryData *sig, const char **ret_detail) {
        return auth_verify_signature(spki->data, spki->len, hash, sig->data, sig->len, ret_detail);
}

int auth_server_hello_verify(const Webtty__ServerHello *hello, const auth_pinned_identity *pinned,
                             const char *transport, char **ret_error) {
        const Webtty__EndpointIdentity *id;
        uint32_t envelope_suite = 0, payload_suite = 0, pinned_suite = 0;
        _cleanup_free_ uint32_t *ps = NULL, *ks = NULL, *ss = NULL;
        uint8_t hash[AUTH_HASH_LEN];
        const char *detail = NULL;
        auth_server_transcript t;
        int r;

        if (!pinned)
                return -EINVAL;
        if (!hello)
                return errmsg_set(ret_error, -EPERM, "WebTTY server hello is required");
        id = hello->server_identity;
        if (!id)
                return errmsg_set(ret_error, -EPERM, "WebTTY server hello is missing server identity");
        if (hello->protocol_version != AUTH_PROTOCOL_VERSION)
                return errmsg_set(ret_error, -EPERM, "unsupported WebTTY protocol version %d",
                                  (int) hello->protocol_version);
        envelope_suite = (uint32_t) id->key_envelope_suite;
        if (e2e_payload_suite_for_envelope(envelope_suite, &payload_suite, NULL) < 0)
                return errmsg_set(ret_error, -EPERM,
                                  "WebTTY server identity does not use the required key envelope suite");
        if (hello->n_payload_suites != 1 || (uint32_t) hello->payload_suites[0] != payload_suite)
                return errmsg_set(ret_error, -EPERM,
                                  "WebTTY server does not advertise the required AES-256-GCM payload suite");
        if (hello->n_key_envelope_suites != 1 || (uint32_t) hello->key_envelope_suites[0] != envelope_suite)
                return errmsg_set(ret_error, -EPERM,
                                  "WebTTY server does not advertise the required key envelope suite");
        if (hello->n_signature_suites != 1 ||
            hello->signature_suites[0] != WEBTTY__SIGNATURE_SUITE__SIGNATURE_SUITE_ECDSA_P256_SHA256)
                return errmsg_set(
                        ret_error, -EPERM,
                        "WebTTY server does not advertise the required ECDSA P-256 signature suite");
        if (!hello->server_proof || hello->server_proof->signature_suite !=
                                            WEBTTY__SIGNATURE_SUITE__SIGNATURE_SUITE_ECDSA_P256_SHA256)
                return errmsg_set(ret_error, -EPERM, "WebTTY server proof does not use ECDSA P-256");

        pinned_suite = pinned->key_envelope_suite;
        if (pinned_suite == 0) {
                enckey_suite s;

                if (enckey_suite_for_public_len(pinned->encryption_public_key_len, &s) < 0)
                        return errmsg_set(ret_error, -EINVAL, "unsupported E2E public key length %zu",
                                          pinned->encryption_public_key_len);
                pinned_suite = (uint32_t) s;
        }
        if (pinned_suite != E2E_ENVELOPE_SUITE_HPKE_X25519 && pinned_suite != E2E_ENVELOPE_SUITE_P256)
                return errmsg_set(ret_error, -EINVAL, "unsupported E2E key envelope suite %" PRIu32,
                                  pinned_suite);
        if (pinned->encryption_public_key_len > ENCKEY_PUB_MAX)
                return -EINVAL;
        if (!bytes_eq(&id->signing_key_id, pinned->signing_key_id, SIGKEY_ID_LEN) ||
            !bytes_eq(&id->signing_public_key, pinned->signing_public_key, SIGKEY_SPKI_LEN) ||
            !bytes_eq(&id->encryption_key_id, pinned->encryption_key_id, ENCKEY_ID_LEN) ||
            !bytes_eq(&id->encryption_public_key, pinned->encryption_public_key,
                      pinned->encryption_public_key_len))
                return errmsg_set(ret_error, -EPERM,
                                  "WebTTY server identity does not match the expected identity");
        if (envelope_suite != pinned_suite)
                return errmsg_set(ret_error, -EPERM,
                                  "WebTTY server key envelope suite does not match the expected identity");

        /* The lists are exactly one entry each by now. */
        ps = malloc(sizeof(*ps));
        ks = malloc(sizeof(*ks));
        ss = malloc(sizeof(*ss));
        if (!ps || !ks || !ss)
                return -ENOMEM;
        ps[0] = (uint32_t) hello->payload_suites[0];
        ks[0] = (uint32_t) hello->key_envelope_suites[0];
        ss[0] = (uint32_t) hello->signature_suites[0];
        t = (auth_server_transcript){
                .protocol_version = AUTH_PROTOCOL_VERSION,
                .transport = transport,
                .workspace_id = string_value_text(hello->workspace_id),
                .project_id = string_value_text(hello->project_id),
                .server_id = string_value_text(hello->server_id),
                .session_id = hello->session_id,
                .server_signing_key_id = {id->signing_key_id.data, id->signing_key_id.len},
                .server_encryption_key_id = {id->encryption_key_id.data, id->encryption_key_id.len},
                .server_nonce = {hello->session_nonce.data, hello->session_nonce.len},
                /* Go maps anything but CLIENT_PROOF to NONE here. */
                .auth_requirement = hello->auth_requirement == AUTH_REQUIREMENT_CLIENT_PROOF
                                            ? AUTH_REQUIREMENT_CLIENT_PROOF
                                            : AUTH_REQUIREMENT_NONE,
                .payload_suites = ps,
                .n_payload_suites = 1,
                .key_envelope_suites = ks,
                .n_key_envelope_suites = 1,
                .signature_suites = ss,
                .n_signature_suites = 1,
        };
        r = auth_server_transcript_hash(&t, hash);
        if (r < 0)
                return r;
        if (!bytes_eq(&hello->server_proof->transcript_hash, hash, sizeof(hash)))
                return errmsg_set(ret_error, -EPERM, "WebTTY server proof transcript hash does not match");
        r = verify_signature(&id->signing_public_key, hash, &hello->server_proof->signature, &detail);
        if (r == -EPERM)
                return errmsg_set(ret_error, r, "WebTTY server proof signature is invalid: %s", detail);
        return r;
}

/* ---- Client: ClientProof ---- */

void auth_client_proof_free(Webtty__ClientProof *proof) {
        if (proof)
                webtty__client_proof__free_unpacked(proof, NULL);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__ClientProof, auth_client_proof_free);

/* The (payload, envelope) suites the proof transcript binds: the grant's
 * pair when there is a grant, else the pair of the server identity's suite. */
static int proof_suites(const Webtty__SessionKeyGrant *grant, uint32_t fallback_envelope,
                        uint32_t *ret_payload, uint32_t *ret_envelope, char **ret_error) {
        uint32_t payload;
        int r;

        r = e2e_payload_suite_for_envelope(fallback_envelope, &payload, ret_error);
        if (r < 0)
                return r;
        if (grant) {
                r = e2e_validate_suites((uint32_t) grant->payload_suite,
                                        (uint32_t) grant->key_envelope_suite, ret_error);
                if (r < 0)
                        return r;
                *ret_payload = (uint32_t) grant->payload_suite;
                *ret_envelope = (uint32_t) grant->key_envelope_suite;
                return 0;
        }
        *ret_payload = payload;
        *ret_envelope = fallback_envelope;
        return 0;
}

int auth_client_proof_build(const auth_identity *client, const auth_pinned_identity *pinned,
                            const Webtty__ServerHello *hello, const Webtty__Open *open,
                            const auth_client_config *cfg, Webtty__ClientProof **ret, char **ret_error) {
        _cleanup_(auth_client_proof_freep) Webtty__ClientProof *p = NULL;
        _cleanup_free_ char *principal = NULL;
        uint8_t grant_hash[AUTH_HASH_LEN], config_hash[AUTH_HASH_LEN], cred_hash[AUTH_HASH_LEN];
        uint8_t hash[AUTH_HASH_LEN];
        char issued[21], expires[21];
        uint32_t payload_suite = 0, envelope_suite = 0;
        const Webtty__EndpointIdentity *sid;
        auth_client_transcript t;
        struct timespec now;
        int r;

        if (!hello || !open || !cfg || !ret)
                return -EINVAL;
        *ret = NULL;
        if (hello->auth_requirement != AUTH_REQUIREMENT_CLIENT_PROOF)
                return 0;
        if (!client)
                return errmsg_set(
                        ret_error, -EINVAL,
                        "WebTTY server requires a client proof, but no client endpoint identity is "
                        "configured");
        if (identity_valid(client) < 0)
                return -EINVAL;
        if (!pinned)
                return errmsg_set(
                        ret_error, -EINVAL,
                        "WebTTY server requires a client proof, but no expected server endpoint identity is "
                        "configured");
        sid = hello->server_identity;
        if (!sid)
                return errmsg_set(
                        ret_error, -EINVAL,
                        "WebTTY server requires a client proof, but the server hello is missing server "
                        "identity");
        r = proof_suites(open->session_key_grant, (uint32_t) sid->key_envelope_suite, &payload_suite,
                         &envelope_suite, ret_error);
        if (r < 0)
                return r;
        r = auth_hash_grant(open->session_key_grant, grant_hash);
        if (r >= 0)
                r = auth_hash_config(open->config, config_hash);
        if (r < 0)
                return r;
        auth_sha256(cfg->credential, cfg->credential ? cfg->credential_len : 0, cred_hash);

        r = auth_now(cfg->now, &now);
        if (r < 0)
                return r;
        r = auth_format_rfc3339(now.tv_sec, issued);
        if (r >= 0)
                r = auth_format_rfc3339(now.tv_sec + AUTH_PROOF_TTL_SEC, expires);
        if (r < 0)
                return r;
        r = trimmed_dup(cfg->principal_id, &principal);
        if (r < 0)
                return r;

        t = (auth_client_transcript){
                .protocol_version = AUTH_PROTOCOL_VERSION,
                .transport = cfg->transport,
                .workspace_id = string_value_text(hello->workspace_id),
                .project_id = string_value_text(hello->project_id),
                .server_id = string_value_text(hello->server_id),
                .session_id = hello->session_id,
                .server_signing_key_id = {sid->signing_key_id.data, sid->signing_key_id.len},
                .server_encryption_key_id = {sid->encryption_key_id.data, sid->encryption_key_id.len},
                .server_nonce = {hello->session_nonce.data, hello->session_nonce.len},
                .auth_requirement = AUTH_REQUIREMENT_CLIENT_PROOF,
                .payload_suite = payload_suite,
                .key_envelope_suite = envelope_suite,
                .session_key_grant_hash = {grant_hash, sizeof(grant_hash)},
                .command_config_hash = {config_hash, sizeof(config_hash)},
                .attach_grant_hash = {NULL, 0},
                .requested_role = "",
                .client_principal_id = principal,
                .client_signing_key_id = {client->signing_key_id, SIGKEY_ID_LEN},
                .client_credential_hash = {cred_hash, sizeof(cred_hash)},
                .issued_at = issued,
                .expires_at = expires,
        };
        r = auth_client_transcript_hash(&t, hash);
        if (r < 0)
                return r;

        p = malloc(sizeof(*p));
        if (!p)
                return -ENOMEM;
        webtty__client_proof__init(p);
        if (string_value(principal, &p->principal_id) < 0 ||
            string_value(cfg->device_id, &p->device_id) < 0 ||
            string_value(cfg->browser_id, &p->browser_id) < 0)
                return -ENOMEM;
        p->signature_suite = AUTH_SIGNATURE_SUITE_ECDSA_P256_SHA256;
        if (set_bytes(&p->signing_key_id, client->signing_key_id, SIGKEY_ID_LEN) < 0 ||
            set_bytes(&p->signing_public_key, client->signing_public_key, SIGKEY_SPKI_LEN) < 0 ||
            set_bytes(&p->transcript_hash, hash, sizeof(hash)) < 0)
                return -ENOMEM;
        p->issued_at = strdup(issued);
        p->expires_at = strdup(expires);
        if (!p->issued_at || !p->expires_at)
                return -ENOMEM;
        if (cfg->credential && cfg->credential_len > 0) {
                p->credential = malloc(sizeof(*p->credential));
                if (!p->credential)
                        return -ENOMEM;
                webtty__bytes_value__init(p->credential);
                if (set_bytes(&p->credential->value, cfg->credential, cfg->credential_len) < 0)
                        return -ENOMEM;
        }
        r = sigkey_sign(client->signing, hash, &p->signature.data, &p->signature.len);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/* ---- Server: ClientProof verification ---- */

void auth_verified_client_done(auth_verified_client *c) {
        if (!c)
                return;
        free(c->principal_id);
        free(c->device_id);
        free(c->browser_id);
        c->principal_id = c->device_id = c->browser_id = NULL;
}

static int trimmed_or_empty(const char *s, char **ret) {
        int r = trimmed_dup(s, ret);

        if (r >= 0 && !*ret)
                *ret = strdup("");
        return *ret ? 0 : -ENOMEM;
}

int auth_client_proof_verify(const auth_verifier *v, const Webtty__Open *open, int *ret_code,
                             char **ret_error, auth_verified_client *ret_client) {
        const Webtty__ClientProof *p;
        const Webtty__SessionKeyGrant *g;
        uint8_t grant_hash[AUTH_HASH_LEN], config_hash[AUTH_HASH_LEN], cred_hash[AUTH_HASH_LEN];
        uint8_t hash[AUTH_HASH_LEN];
        struct timespec now;
        int64_t forget_after = 0;
        auth_proof_claim claim;
        int code_dummy, r;

        if (!ret_code)
                ret_code = &code_dummy;
        *ret_code = AUTH_CODE_PLAIN_ERROR;
        if (!v || !open || !v->lookup || !v->server.server_signing_key_id ||
            !v->server.server_encryption_key_id || !v->server.nonce)
                return -EINVAL;

        p = open->client_proof;
        if (!p)
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_REQUIRED, ret_error,
                                   "WebTTY client proof is required");
        r = auth_now(v->now, &now);
        if (r < 0)
                return r;
        g = open->session_key_grant;
        r = auth_hash_grant(g, grant_hash);
        if (r >= 0)
                r = auth_hash_config(open->config, config_hash);
        if (r < 0)
                return r;
        if (p->credential)
                auth_sha256(p->credential->value.data, p->credential->value.len, cred_hash);
        else
                auth_sha256(NULL, 0, cred_hash);
        claim = (auth_proof_claim){
                .signature_suite = (uint32_t) p->signature_suite,
                .signing_key_id = {p->signing_key_id.data, p->signing_key_id.len},
                .signing_public_key = {p->signing_public_key.data, p->signing_public_key.len},
                .transcript_hash = {p->transcript_hash.data, p->transcript_hash.len},
                .signature = {p->signature.data, p->signature.len},
                .issued_at = p->issued_at,
                .expires_at = p->expires_at,
                .principal_id = string_value_text(p->principal_id),
                .credential_hash = cred_hash,
                .has_grant = g != NULL,
                .grant_payload_suite = g ? (uint32_t) g->payload_suite : 0,
                .grant_key_envelope_suite = g ? (uint32_t) g->key_envelope_suite : 0,
                .grant_hash = grant_hash,
                .config_hash = config_hash,
        };

        r = auth_proof_check(&claim, &v->server, v->lookup, v->userdata, &now, hash, &forget_after, ret_code,
                             ret_error);
        if (r < 0)
                return r;

        if (v->replay) {
                r = auth_replay_cache_add(v->replay, hash, forget_after, (int64_t) now.tv_sec);
                if (r == -EEXIST)
                        return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                           AUTH_PROOF_INVALID ": proof was already used");
                if (r == -ENOSPC)
                        return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                           AUTH_PROOF_INVALID ": replay cache is full");
                if (r < 0)
                        return r;
        }

        if (ret_client) {
                auth_verified_client c = {};

                memcpy(c.signing_key_id, p->signing_key_id.data, SIGKEY_ID_LEN);
                if (trimmed_or_empty(string_value_text(p->principal_id), &c.principal_id) < 0 ||
                    trimmed_or_empty(string_value_text(p->device_id), &c.device_id) < 0 ||
                    trimmed_or_empty(string_value_text(p->browser_id), &c.browser_id) < 0) {
                        auth_verified_client_done(&c);
                        return -ENOMEM;
                }
                *ret_client = c;
        }
        return 0;
}
