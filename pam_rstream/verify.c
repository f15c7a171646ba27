/* The independent re-check of the caller's ClientProof: pam_rstream trusts
 * nothing webttyd says about the caller. The server side of the transcript
 * comes from the module's own configuration (server identity file, the
 * server_id/workspace_id/project_id arguments); only the per-session values
 * (transport name, session id, nonce, the Open's grant and config hashes)
 * come from the bundle, and those are covered by the client's signature, so
 * a forged bundle cannot match a signature the client never made. A bundle
 * replaying a real proof is stopped by the replay directory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authcore.h"
#include "errmsg.h"
#include "identity.h"
#include "rstream.h"
#include "truststore.h"

typedef struct lookup_state {
        const char *path;
        authorized_clients *clients; /* loaded on the first lookup */
        const authorized_client *match;
        bool failed;
        int error;
        char *message;
} lookup_state;

/* auth_lookup_fn: the authorized clients file, read (as root) only once the
 * signature is known to be good. */
static int lookup(const uint8_t key_id[SIGKEY_ID_LEN], uint8_t spki_out[SIGKEY_SPKI_LEN], bool *found,
                  void *userdata) {
        lookup_state *st = userdata;
        int r;

        *found = false;
        if (!st->clients) {
                r = authorized_clients_load(st->path, &st->clients, &st->message);
                if (r < 0) {
                        st->failed = true;
                        st->error = r;
                        return r;
                }
        }
        for (size_t i = 0; i < st->clients->n; i++)
                if (memcmp(st->clients->entries[i].id, key_id, SIGKEY_ID_LEN) == 0) {
                        st->match = &st->clients->entries[i];
                        memcpy(spki_out, st->match->spki, SIGKEY_SPKI_LEN);
                        *found = true;
                        return 0;
                }
        return 0;
}

static char *dup_or_empty(bool has, const char *s) {
        return strdup(has && s ? s : "");
}

int rstream_verify(const rstream_args *a, const loginproto_proof *p, rstream_caller *c,
                   rstream_verify_fail *ret_fail, char **ret_error) {
        endpoint_public server_key;
        lookup_state st = {.path = a->authorized_clients};
        uint8_t cred_hash[AUTH_HASH_LEN], transcript[AUTH_HASH_LEN];
        _cleanup_free_ char *detail = NULL;
        int64_t forget_after = 0;
        int code = 0, r;

        *ret_fail = RSTREAM_VERIFY_UNAVAIL;
        /* Only the public half: the server's private keys have no business here. */
        r = endpoint_public_load_identity(a->identity, &server_key, ret_error);
        if (r < 0) {
                if (r == -ENOMEM)
                        *ret_fail = RSTREAM_VERIFY_NOMEM;
                return r;
        }

        auth_sha256(p->has_credential ? p->credential : NULL, p->has_credential ? p->credential_len : 0,
                    cred_hash);
        const auth_proof_claim claim = {
                .signature_suite = p->signature_suite,
                .signing_key_id = {p->signing_key_id, p->signing_key_id_len},
                .signing_public_key = {p->signing_public_key, p->signing_public_key_len},
                .transcript_hash = {p->transcript_hash, p->transcript_hash_len},
                .signature = {p->signature, p->signature_len},
                .issued_at = p->issued_at,
                .expires_at = p->expires_at,
                .principal_id = p->has_principal_id ? p->principal_id : NULL,
                .credential_hash = cred_hash,
                .has_grant = p->has_grant,
                .grant_payload_suite = p->payload_suite,
                .grant_key_envelope_suite = p->key_envelope_suite,
                .grant_hash = p->grant_hash,
                .config_hash = p->config_hash,
        };
        const auth_proof_server server = {
                .transport = p->transport,
                .session_id = p->session_id,
                .workspace_id = a->workspace_id,
                .project_id = a->project_id,
                .server_id = a->server_id,
                .server_signing_key_id = server_key.sig_id,
                .server_encryption_key_id = server_key.enc_id,
                .key_envelope_suite = (uint32_t) server_key.suite,
                .nonce = p->nonce,
        };

        r = auth_proof_check(&claim, &server, lookup, &st, NULL, transcript, &forget_after, &code, &detail);
        if (r < 0) {
                if (st.failed) {
                        /* The store's own message names the file and the cause. */
                        r = st.message ? errmsg_set(ret_error, st.error, "%s", st.message)
                                       : errmsg_set(ret_error, st.error, "authorized clients %s: %s",
                                                    st.path, strerror(-st.error));
                        *ret_fail = RSTREAM_VERIFY_UNAVAIL;
                } else if (r == -ENOMEM) {
                        *ret_fail = RSTREAM_VERIFY_NOMEM;
                } else {
                        r = errmsg_set(ret_error, r, "%s",
                                       detail ? detail : "WebTTY client proof is invalid");
                        *ret_fail = RSTREAM_VERIFY_REFUSED;
                }
                goto out;
        }
        if (!st.match) { /* auth_proof_check succeeds only after a hit */
                r = errmsg_set(ret_error, -EPERM, "WebTTY client signing key is not authorized");
                *ret_fail = RSTREAM_VERIFY_REFUSED;
                goto out;
        }

        r = rstream_replay_record(a->replay, transcript, forget_after, (int64_t) time(NULL), ret_error);
        if (r == -EEXIST) {
                errmsg_prefix(ret_error, r, "WebTTY client proof is invalid");
                *ret_fail = RSTREAM_VERIFY_REFUSED;
                goto out;
        }
        if (r < 0) {
                *ret_fail = r == -ENOMEM ? RSTREAM_VERIFY_NOMEM : RSTREAM_VERIFY_UNAVAIL;
                goto out;
        }

        free(c->client_name);
        free(c->principal_id);
        free(c->device_id);
        c->client_name = strdup(st.match->name);
        c->principal_id = dup_or_empty(p->has_principal_id, p->principal_id);
        c->device_id = dup_or_empty(p->has_device_id, p->device_id);
        if (!c->client_name || !c->principal_id || !c->device_id) {
                r = -ENOMEM;
                *ret_fail = RSTREAM_VERIFY_NOMEM;
                goto out;
        }
        memcpy(c->key_id, p->signing_key_id, SIGKEY_ID_LEN);
        rstream_hex(c->key_id, SIGKEY_ID_LEN, c->key_id_hex);
        c->authenticated = true;
        *ret_fail = RSTREAM_VERIFY_OK;
        r = 0;
out:
        authorized_clients_free(st.clients);
        free(st.message);
        return r;
}
